#!/bin/sh
# test_install.sh - `make install DESTDIR=tmp PREFIX=/usr` (the install
# targets the top Makefile runs: runtime, tools, firmware-stub, kmod), then
# build runtime/examples/zk-info.c out of tree with pkg-config against the
# installed files only, and stage + build the DKMS source tree.  TAP.
#   ZK_TEST_DKMS=0   skip building zhikai.ko from the staged DKMS tree (~30 s)
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/zk-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/root
PREFIX=/usr
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else nok "$name"; fi; }

# --- make install ------------------------------------------------------------------
for d in runtime tools firmware-stub kmod; do
    if ! grep -q '^install:' "$REPO/$d/Makefile" 2>/dev/null; then
        nok "$d/Makefile has an install target"; continue
    fi
    if [ "$d" = kmod ] && ! make -s -q -C "$REPO/kmod" all >/dev/null 2>&1; then
        # Never start a kbuild in the shared tree from a test: the module owner may be building.
        skip "make -C kmod install" "build/kmod/zhikai.ko is not up to date (make kmod first)"
        continue
    fi
    if make -s -C "$REPO/$d" install DESTDIR="$D" PREFIX=$PREFIX >"$T/$d.log" 2>&1; then
        ok "make -C $d install DESTDIR=... PREFIX=$PREFIX"
        [ "$d" = kmod ] && kmod_installed=1
    else
        nok "make -C $d install DESTDIR=... PREFIX=$PREFIX"; sed 's/^/# /' "$T/$d.log" | tail -15
    fi
done

L=$D$PREFIX/lib
for f in "$L/libzhikai.so.1" "$L/libzhikai.a" "$D$PREFIX/include/zhikai/zhikai.h" "$L/pkgconfig/zhikai.pc" \
         "$D$PREFIX/bin/zksmi" "$D$PREFIX/bin/zkas" "$D$PREFIX/bin/zkdis" \
         "$D$PREFIX/share/man/man1/zksmi.1" "$D$PREFIX/share/man/man3/libzhikai.3" \
         "$D/lib/firmware/zhikai/zk100.bin" "$D$PREFIX/share/zhikai/kernels/gemm.zko" \
         "$D$PREFIX/share/zhikai/kernels/elementwise.zko"; do
    check "installed ${f#$D}" test -s "$f"
done
check "libzhikai.so -> libzhikai.so.1" test "$(readlink "$L/libzhikai.so")" = libzhikai.so.1
check "libzhikai.so.1 has SONAME libzhikai.so.1" sh -c "objdump -p '$L/libzhikai.so.1' | grep -q 'SONAME *libzhikai.so.1'"
check "installed firmware = build/firmware/zhikai/zk100.bin" cmp "$D/lib/firmware/zhikai/zk100.bin" "$REPO/build/firmware/zhikai/zk100.bin"
if [ "${kmod_installed:-0}" = 1 ]; then
    ko=$(find "$D/lib/modules" -name zhikai.ko 2>/dev/null | head -1)
    check "installed /lib/modules/<release>/{updates,extra}/zhikai.ko (${ko#$D})" sh -c "echo '$ko' | grep -qE '/lib/modules/[^/]+/(updates|extra)(/dkms)?/zhikai.ko$'"
fi
# Every header the installed headers include is installed too.
missing=""
for h in $(grep -ho '#include <zhikai/[^>]*>' "$REPO"/runtime/include/zhikai/*.h 2>/dev/null | sed 's/.*<\(.*\)>/\1/' | sort -u) \
         $(cd "$REPO/runtime/include" && ls zhikai/*.h); do
    [ -f "$D$PREFIX/include/$h" ] || missing="$missing $h"
done
if [ -z "$missing" ]; then ok "every public header installed"; else nok "every public header installed (missing:$missing)"; fi
check "zhikai.pc: prefix=$PREFIX" grep -qx "prefix=$PREFIX" "$L/pkgconfig/zhikai.pc"
# The .pc must follow the PREFIX of *this* install, not of an earlier build.
make -s -C "$REPO/runtime" install DESTDIR="$T/alt" PREFIX=/opt/zk >/dev/null 2>&1
check "zhikai.pc follows PREFIX of the install (PREFIX=/opt/zk after PREFIX=$PREFIX)" grep -qx "prefix=/opt/zk" "$T/alt/opt/zk/lib/pkgconfig/zhikai.pc"

# --- out-of-tree build with pkg-config against DESTDIR --------------------------------------------
export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$L/pkgconfig"
flags=$(pkg-config --cflags --libs zhikai 2>"$T/pc.err")
if [ $? = 0 ]; then ok "pkg-config --cflags --libs zhikai: $flags"; else nok "pkg-config --cflags --libs zhikai"; sed 's/^/# /' "$T/pc.err"; fi
check "pkg-config flags point into DESTDIR" sh -c "echo '$flags' | grep -q -- '-I$D' && echo '$flags' | grep -q -- '-L$D'"
mkdir -p "$T/oot"
cp "$REPO/runtime/examples/zk-info.c" "$T/oot/"
# shellcheck disable=SC2086
if (cd "$T/oot" && cc -std=gnu11 -Wall -Wextra -Werror -O2 zk-info.c -o zk-info $flags) >"$T/cc.log" 2>&1; then
    ok "zk-info.c compiles and links out of tree against the installed files"
else
    nok "zk-info.c compiles and links out of tree against the installed files"; sed 's/^/# /' "$T/cc.log" | head -20
fi
if [ -x "$T/oot/zk-info" ]; then
    check "zk-info needs libzhikai.so.1" sh -c "objdump -p '$T/oot/zk-info' | grep -q 'NEEDED *libzhikai.so.1'"
    check "ld.so resolves libzhikai.so.1 to the installed copy" sh -c "LD_LIBRARY_PATH='$L' ldd '$T/oot/zk-info' | grep -q '$L/libzhikai.so.1'"
    LD_LIBRARY_PATH="$L" "$T/oot/zk-info" >"$T/run.log" 2>&1
    check "zk-info runs with the installed library (no card on the host)" grep -q '^libzhikai [0-9]' "$T/run.log"
fi
# The kernel search path: an installed program finds the installed kernel library by
# name (no card needed), ZK_KERNEL_PATH comes first, and a missing name says where it looked.
cat > "$T/oot/kf.c" <<'EOF'
#include <stdio.h>
#include <zhikai/zhikai.h>
int main(int argc, char **argv)
{
    char p[4096];
    zk_status st = zk_kernel_find(argc > 1 ? argv[1] : "gemm.zko", p, sizeof(p));
    if (st != ZK_SUCCESS) { printf("%s: %s\n", zk_error_name(st), zk_last_error_detail()); return 1; }
    printf("%s\n", p);
    return 0;
}
EOF
# shellcheck disable=SC2086
if (cd "$T/oot" && cc -std=gnu11 -Wall -Werror kf.c -o kf $flags) >"$T/kf.log" 2>&1; then
    got=$(env -u ZK_KERNEL_PATH LD_LIBRARY_PATH="$L" "$T/oot/kf" gemm.zko)
    check "installed libzhikai finds gemm.zko in \$PREFIX/share/zhikai/kernels ($got)" \
        test "$got" = "$(realpath "$D$PREFIX/share/zhikai/kernels")/gemm.zko"
    mkdir -p "$T/kp"; cp "$D$PREFIX/share/zhikai/kernels/gemm.zko" "$T/kp/"
    got=$(ZK_KERNEL_PATH="$T/nowhere:$T/kp" LD_LIBRARY_PATH="$L" "$T/oot/kf" gemm.zko)
    check "ZK_KERNEL_PATH comes first ($got)" test "$got" = "$T/kp/gemm.zko"
    got=$(LD_LIBRARY_PATH="$L" "$T/oot/kf" no-such.zko)
    check "a missing kernel: ZK_ERROR_NOT_FOUND naming the search path" sh -c \
        "echo '$got' | grep -q '^ZK_ERROR_NOT_FOUND: .*share/zhikai/kernels'"
else
    nok "kf.c (zk_kernel_find) builds out of tree"; sed 's/^/# /' "$T/kf.log" | head -10
fi

# A tiny program linking the static library.
cat > "$T/oot/st.c" <<'EOF'
#include <zhikai/zhikai.h>
int main(void) { int v = 0; return zk_runtime_get_version(&v) == ZK_SUCCESS && v == ZK_RUNTIME_VERSION ? 0 : 1; }
EOF
# shellcheck disable=SC2086
if (cd "$T/oot" && cc -std=gnu11 -Wall -Werror st.c -o st -static-libgcc $(pkg-config --cflags zhikai) \
        "$L/libzhikai.a" $(PKG_CONFIG_SYSROOT_DIR= pkg-config --libs libdrm libelf) -pthread -lm) >"$T/st.log" 2>&1 && "$T/oot/st"; then
    ok "a program links libzhikai.a and runs"
else
    nok "a program links libzhikai.a and runs"; sed 's/^/# /' "$T/st.log" | head -10
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH

# --- installed tools and man pages -------------------------------------------------------------
check "installed zksmi runs" "$D$PREFIX/bin/zksmi" --version
for m in man1/zksmi.1 man3/libzhikai.3; do
    check "man page $m renders without warnings" sh -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$D$PREFIX/share/man/$m' 2>&1 >/dev/null | (! grep .)"
done

# --- DKMS ------------------------------------------------------------------------------------
check "dkms.conf: PACKAGE_NAME=zhikai, BUILT_MODULE_NAME[0]=zhikai, DEST_MODULE_LOCATION" sh -c \
    "grep -qx 'PACKAGE_NAME=\"zhikai\"' '$REPO/dkms.conf' && grep -qx 'BUILT_MODULE_NAME\[0\]=\"zhikai\"' '$REPO/dkms.conf' && grep -qE '^DEST_MODULE_LOCATION\[0\]=\"/(updates/dkms|kernel/drivers/accel)\"' '$REPO/dkms.conf'"
if make -s -C "$REPO/packaging" dkms-src DESTDIR="$T/dkms" >"$T/dkms.log" 2>&1; then
    ok "make -C packaging dkms-src"
else
    nok "make -C packaging dkms-src"; sed 's/^/# /' "$T/dkms.log" | tail
fi
check "DKMS tree has dkms.conf, Kbuild, kmod/, include/" sh -c "cd '$T/dkms/usr/src/'zhikai-* && test -f dkms.conf && test -f Kbuild && test -f kmod/zk_drv.c && test -f include/zhikai_hw.h && test -f include/uapi/drm/zhikai_accel.h"
# every object Kbuild names has its source in the tree
srcs_ok=1
for o in $(sed -n 's/^[[:space:]]*\(kmod\/[a-z_]*\)\.o.*/\1/p' "$REPO/Kbuild"); do
    ls "$T/dkms/usr/src/"zhikai-*/"$o.c" >/dev/null 2>&1 || srcs_ok=0
done
check "DKMS tree has the source of every object in Kbuild" test "$srcs_ok" = 1
if [ "${ZK_TEST_DKMS:-1}" = 0 ]; then
    skip "zhikai.ko builds from the DKMS tree with dkms.conf's MAKE line" "ZK_TEST_DKMS=0"
elif make -s -C "$REPO/packaging" dkms-check >"$T/dkmsb.log" 2>&1; then
    ok "zhikai.ko builds from the DKMS tree with dkms.conf's MAKE line"
else
    nok "zhikai.ko builds from the DKMS tree with dkms.conf's MAKE line"; sed 's/^/# /' "$T/dkmsb.log" | tail -20
fi

echo "1..$n"
[ "$fails" = 0 ]
