#!/bin/bash
# Kernel hygiene of zhikai.ko, on both kernels it is built for (Debian's 6.1
# guest kernel: render node; Debian's 6.12: DRM accel node):
#   1. the module builds with W=1 and without a single warning (full rebuild);
#   2. sparse (every file, endian checks) reports nothing;
#   3. checkpatch.pl --strict over kmod/*.[ch] and the uapi header (once:
#      checkpatch reads sources, not the kernel);
#   4. tools/check-uapi-layout.sh: no hole or padding in struct drm_zhikai_*.
# Prints TAP lines (tools/tap-summary counts them); exits 1 on any failure.
#
# usage: tools/check-kernel.sh            all checks
#        tools/check-kernel.sh --kdirs    print the header dirs it checks against
#        tools/check-kernel.sh --checkpatch   only checkpatch (make -C kmod checkpatch)
# env:   ZK_KDIR_61, ZK_KDIR_612  override the header dirs (newest installed
#        linux-headers-<6.x.y-N>-amd64 resp. linux-headers-6.12.*-amd64)
#        CHECKPATCH               a checkpatch.pl to use instead of the one
#                                 unpacked from Debian's linux-source-6.1
#
# Builds happen in build/kcheck/<release>/src, a fresh copy of the sources, so
# they never touch the kbuild objects of `make kmod` (repo root) or
# build/kmod-6.12 and always recompile every file.
set -uo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
OUT=$REPO/build/kcheck
JOBS=${ZK_JOBS:--j2}

# The guest kernel's headers (tools/kernel-release.sh decides, as for every
# build) and Debian's 6.12 headers unpacked into the cache.
KDIR61=${ZK_KDIR_61:-$("$REPO/tools/kernel-release.sh" --kdir)}
KDIR612=${ZK_KDIR_612:-$("$REPO/tools/kheaders-612.sh" 2>/dev/null || true)}
if [ "${1:-}" = --kdirs ]; then
    for k in "$KDIR61" "$KDIR612"; do [ -n "$k" ] && echo "$k"; done
    exit 0
fi

only_checkpatch=0
[ "${1:-}" = --checkpatch ] && only_checkpatch=1
n=0 fail=0
tap() { # tap OK|FAIL description [diagnostics]
    n=$((n + 1))
    if [ "$1" = OK ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
    [ -z "${3:-}" ] || printf '%s\n' "$3" | head -40 | sed 's/^/# /'
}

SRCS=(Kbuild kmod/*.c kmod/*.h include/*.h include/uapi/drm/*.h)
# sparse, with every line it prints tagged (kbuild runs $(CHECK) per file).
SPARSE=$OUT/sparse-tagged
mkdir -p "$OUT"
printf '#!/bin/sh\nsparse "$@" 2>&1 | sed "s/^/sparse: /" >&2\n' > "$SPARSE"
chmod +x "$SPARSE"
# check_kernel LABEL KDIR
check_kernel() {
    local label=$1 kdir=$2 krel src log rc warn
    if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
        tap FAIL "kernel $label: headers installed (tools/setup-deps.sh)"
        return
    fi
    krel=$(basename "$kdir" | sed 's/^linux-headers-//')
    src=$OUT/$krel/src
    rm -rf "$src"; mkdir -p "$src"
    (cd "$REPO" && cp --parents -p "${SRCS[@]}" "$src/")

    # One pass: every file compiled with W=1 and checked by sparse (C=1 on a
    # fresh tree = all files), sparse's output tagged by the CHECK wrapper.
    # (Without the caller's MAKEFLAGS: "make -s" would hide kbuild's CHECK lines.)
    log=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL nice make $JOBS -C "$kdir" M="$src" W=1 C=1 CHECK="$SPARSE" \
        CF="-D__CHECK_ENDIAN__" modules 2>&1); rc=$?
    warn=$(printf '%s\n' "$log" | grep -v '^sparse: ' | grep -iE 'warning|error' | sed "s|$src/||")
    if [ $rc = 0 ] && [ -z "$warn" ] && [ -f "$src/zhikai.ko" ]; then
        tap OK "kmod $krel: W=1 build, no warnings"
    else
        tap FAIL "kmod $krel: W=1 build, no warnings (make rc=$rc)" "${warn:-$(printf '%s\n' "$log" | tail -20)}"
    fi
    warn=$(printf '%s\n' "$log" | sed -n 's/^sparse: //p' | sed "s|$src/||")
    if [ $rc = 0 ] && [ -z "$warn" ] && [ "$(printf '%s\n' "$log" | grep -c ' CHECK ')" -ge 10 ]; then
        tap OK "kmod $krel: sparse (C=1 over every file, endian checks), no warnings"
    else
        tap FAIL "kmod $krel: sparse (C=1 over every file, endian checks), no warnings" \
            "${warn:-$(printf '%s\n' "$log" | grep ' CHECK ' | wc -l) files checked}"
    fi
    # build/ goes into every test VM's initramfs (tools/vm-run.sh): drop the tree.
    rm -rf "$OUT/$krel"
}

# checkpatch.pl: $CHECKPATCH, else the one of Debian's linux-source-6.1 (the
# guest kernel's own tree; tools/setup-deps.sh installs it), unpacked once with
# its data files into $CACHE/checkpatch/<version> (or build/ if not writable).
find_checkpatch() {
    local tarball=/usr/src/linux-source-6.1.tar.xz ver dir tmp
    if [ -n "${CHECKPATCH:-}" ]; then echo "$CHECKPATCH"; return; fi
    [ -f "$tarball" ] || return 1
    ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || ver=unknown
    dir=$CACHE/checkpatch/$ver
    { mkdir -p "$dir" && [ -w "$dir" ]; } 2>/dev/null || dir=$REPO/build/checkpatch/$ver
    if [ ! -x "$dir/checkpatch.pl" ]; then
        mkdir -p "$dir"; tmp=$(mktemp -d "$dir/.x.XXXXXX")
        tar -C "$tmp" -xJf "$tarball" --wildcards --strip-components=2 \
            'linux-source-6.1/scripts/checkpatch.pl' 'linux-source-6.1/scripts/spelling.txt' \
            'linux-source-6.1/scripts/const_structs.checkpatch' >&2 || { rm -rf "$tmp"; return 1; }
        mv "$tmp"/* "$dir/" && rmdir "$tmp"
    fi
    echo "$dir/checkpatch.pl"
}

if [ $only_checkpatch = 0 ]; then
    check_kernel 6.1 "$KDIR61"
    check_kernel 6.12 "$KDIR612"
fi

if cp=$(find_checkpatch) && [ -f "$cp" ]; then
    # zk_compat.h is where out-of-tree version checks live: there (only),
    # LINUX_VERSION_CODE and "LINUX_VERSION_CODE >= KERNEL_VERSION()" are fine.
    files=$(cd "$REPO" && ls kmod/*.c kmod/*.h include/uapi/drm/zhikai_accel.h | grep -v '^kmod/zk_compat.h$')
    checkpatch() { (cd "$REPO" && perl "$cp" --no-tree --strict --terse --show-types --no-summary "$@" 2>&1); }
    # zk_drv.c's file_operations is filled in once at module init from DRM's
    # fops macro (to wrap the ioctl entry points; overriding the macro's
    # entries in a const initializer trips -Woverride-init under W=1) and is
    # __ro_after_init afterwards: the one accepted CONST_STRUCT.
    log=$(checkpatch --ignore FILE_PATH_CHANGES -f $files |
          grep -v '^kmod/zk_drv.c:[0-9]*: WARNING:CONST_STRUCT: struct file_operations should normally be const$')
    log2=$(checkpatch --ignore FILE_PATH_CHANGES,LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/zk_compat.h)
    log=$(printf '%s\n%s\n' "$log" "$log2" | grep .)
    if [ -z "$log" ]; then
        tap OK "checkpatch --strict: kmod/*.[ch] and zhikai_accel.h clean ($(($(echo $files | wc -w) + 1)) files)"
    else
        tap FAIL "checkpatch --strict: kmod/*.[ch] and zhikai_accel.h clean" "$log"
    fi
else
    tap FAIL "checkpatch.pl found (install linux-source-6.1 or set CHECKPATCH=)"
fi

[ $only_checkpatch = 0 ] || exit $fail
kdirs=()
for k in "$KDIR61" "$KDIR612"; do [ -n "$k" ] && kdirs+=("$k"); done
out=$("$REPO/tools/check-uapi-layout.sh" -n $((n + 1)) "${kdirs[@]}"); rc=$?
printf '%s\n' "$out"
n=$((n + $(printf '%s\n' "$out" | grep -cE '^(not )?ok ')))
[ $rc = 0 ] || fail=1
exit $fail
