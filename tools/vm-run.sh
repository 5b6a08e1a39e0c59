#!/bin/bash
# Boots a q35 VM (KVM where it works, else TCG: tools/pick-accel.sh) with the zhikai card, loads drm's modules and zhikai.ko,
# runs one guest shell command and returns its output and exit status.
#
# usage: tools/vm-run.sh [options] -- 'guest command'
#        tools/vm-run.sh [options] --shell        (interactive serial console)
#   --hbm SIZE        HBM size of the card (default 1G)
#   --cards N         number of zhikai cards (default 1)
#   --dev-opt OPTS    extra ",key=val" properties for every zhikai device
#   --qemu-opt ARG    extra QEMU argument (repeatable)
#   --mem SIZE        guest RAM (default 2G)
#   --no-load         don't insmod zhikai.ko
#   --mod-args ARGS   zhikai.ko module parameters
#   --timeout SEC     kill the VM after SEC seconds (default 600)
#   ZK_ACCEL=kvm|tcg  force the accelerator (default: tools/pick-accel.sh)
#   --debug-kernel    boot the KASAN/lockdep/kmemleak kernel (tools/build-debug-kernel.sh,
#                     built if needed) with build/kmod-debug/zhikai.ko instead
#   --curl            put the host's curl (and its libraries) in the guest (make run)
#
# The guest sees the repo's build/ at /zk (PATH, LD_LIBRARY_PATH set), the
# firmware in /lib/firmware/zhikai, and an unprivileged user 'zkuser' (uid 1000;
# run commands as it with `runas CMD`).  Exit status: the guest command's, or
# 124 on timeout, 125 when the VM ended without reporting one.
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
QEMU=${ZK_QEMU:-$CACHE/qemu-10.0.2/build/qemu-system-x86_64}
BUILD=$REPO/build

hbm=1G cards=1 devopt="" mem=2G load=1 modargs="" timeout=600 shell=0 cmd="" debug=0 curl=0
qopts=()
usage() { sed -n '5,18p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --hbm) hbm=$2; shift 2;;
    --cards) cards=$2; shift 2;;
    --dev-opt) devopt=$2; shift 2;;
    --qemu-opt) qopts+=("$2"); shift 2;;
    --mem) mem=$2; shift 2;;
    --no-load) load=0; shift;;
    --mod-args) modargs=$2; shift 2;;
    --timeout) timeout=$2; shift 2;;
    --shell) shell=1; shift;;
    --debug-kernel) debug=1; shift;;
    --curl) curl=1; shift;;
    --) shift; cmd="$*"; break;;
    *) usage;;
    esac
done
[ "$shell" = 1 ] || [ -n "$cmd" ] || usage
[ -x "$QEMU" ] || { echo "vm-run: no QEMU at $QEMU (run: make qemu)" >&2; exit 1; }
KREL=$("$REPO/tools/guest-kernel.sh")
KROOT=$CACHE/guest/$KREL/root
KERNEL=$KROOT/boot/vmlinuz-$KREL
[ -f "$CACHE/guest/$KREL/vmlinux" ] && KERNEL=$CACHE/guest/$KREL/vmlinux
ZKO=$BUILD/kmod/zhikai.ko
# --- debug kernel (--debug-kernel): its own vmlinux, modules and zhikai.ko ---
if [ "$debug" = 1 ]; then
    DKDIR=$("$REPO/tools/build-debug-kernel.sh")
    KREL=$(cat "$DKDIR/../krel")
    KERNEL=$DKDIR/vmlinux
    ZKO=$BUILD/kmod-debug/zhikai.ko
fi

# --- initramfs: busybox, shared libraries of our binaries, modules, build/ ---
stage=$(mktemp -d /tmp/zk-vm.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,home/zkuser,lib/firmware,lib/modules,lib64,zk}
cp /bin/busybox "$root/bin/busybox"
cp "$REPO/tools/guest-init.sh" "$root/init"; chmod +x "$root/init"
printf 'root:x:0:0:root:/root:/bin/sh\nzkuser:x:1000:1000:zkuser:/home/zkuser:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nvideo:x:44:zkuser\nrender:x:105:zkuser\nzkuser:x:1000:\n' > "$root/etc/group"
chown 1000:1000 "$root/home/zkuser"

# build/ minus what the guest never needs
if [ -d "$BUILD" ]; then
    tar -C "$BUILD" --exclude=./host-tests --exclude=./vm --exclude='*.o' \
        --exclude=./kmod-debug/src --exclude=./kmod-6.12/src -cf - . | tar -C "$root/zk" -xf -
fi
[ -d "$BUILD/firmware/zhikai" ] && cp -r "$BUILD/firmware/zhikai" "$root/lib/firmware/"
if [ "$debug" = 1 ]; then
    # guest-init loads /zk/kmod/zhikai.ko: there, the module built for the debug
    # kernel (the Debian one would not load; without a debug build, none).
    rm -f "$root/zk/kmod/zhikai.ko"
    if [ -f "$ZKO" ]; then mkdir -p "$root/zk/kmod"; cp "$ZKO" "$root/zk/kmod/zhikai.ko"; fi
fi

if [ "$curl" = 1 ]; then
    command -v curl >/dev/null || { echo "vm-run: --curl: no curl on the host (tools/setup-deps.sh)" >&2; exit 1; }
    cp "$(command -v curl)" "$root/bin/curl"
fi
# Shared libraries: everything our ELF binaries (and busybox tools) link against.
{ find "$root/zk" -type f -perm -u+x 2>/dev/null; find "$root/zk" -name '*.so*' -type f 2>/dev/null
  if [ -f "$root/bin/curl" ]; then echo "$root/bin/curl"; fi; } |
    while read -r f; do
        file -b "$f" 2>/dev/null | grep -q 'ELF.*dynamic' || continue
        LD_LIBRARY_PATH=$BUILD/lib ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib64/{print $1}'
    done | sort -u | while read -r lib; do
        case "$lib" in "$BUILD"/*|"$root"/*) continue;; esac
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu"
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

# Kernel modules zhikai.ko needs, in load order (dependencies first).
modtree=$KROOT/lib/modules/$KREL/kernel
[ "$debug" = 1 ] && modtree=$DKDIR
# Newer Debian kernels ship modules xz-compressed; busybox insmod wants them plain.
find_mod() {
    local alt; alt=$(echo "$1" | tr _ -)
    find "$modtree" \( -name "$1.ko" -o -name "$alt.ko" -o -name "$1.ko.xz" -o -name "$alt.ko.xz" \) | head -1
}
# Built into the kernel (the debug kernel has drm & co. built in): nothing to load.
builtin_mod() {
    [ -f "$modtree/modules.builtin" ] &&
        sed 's|.*/||; s|\.ko$||; s|-|_|g' "$modtree/modules.builtin" | grep -qx "$(echo "$1" | tr - _)"
}
order=()
add_mod() {
    local name=$1 path dep
    for m in "${order[@]:-}"; do [ "$m" = "$name" ] && return 0; done
    builtin_mod "$name" && return 0
    path=$(find_mod "$name"); [ -n "$path" ] || { echo "vm-run: module $name not found" >&2; exit 1; }
    for dep in $(modinfo -F depends "$path" | tr , ' '); do add_mod "$dep"; done
    order+=("$name")
    case "$path" in
    *.xz) xz -dc "$path" > "$root/lib/modules/$name.ko";;
    *) cp "$path" "$root/lib/modules/$name.ko";;
    esac
}
base_mods="drm"
[ -f "$ZKO" ] && base_mods=$(modinfo -F depends "$ZKO" | tr , ' ')
for m in $base_mods; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$root/lib/modules/load-order"

# The command, and how to run it.
printf '%s\n' "$cmd" > "$root/zk-cmd"
{
    echo "ZK_LOAD=$load"
    echo "ZK_MODARGS='$modargs'"
    echo "ZK_SHELL=$shell"
} > "$root/zk-env"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$stage/initrd.gz"

# --- the VM ---
devs=()
for i in $(seq 0 $((cards - 1))); do devs+=(-device "zhikai,id=zk$i,hbm-size=$hbm$devopt"); done
accel=$("$REPO/tools/pick-accel.sh" 2> >(sed 's/^/vm-run: /' >&2)) || exit 2
accel_args=(-accel tcg)
[ "$accel" = kvm ] && accel_args=(-accel kvm -cpu host)
# -nodefaults: without it SeaBIOS waits ~30 s on the default AHCI CD-ROM.
args=(-M q35 "${accel_args[@]}" -nodefaults -m "$mem" -smp 1 -no-reboot -L /usr/share/qemu -L /usr/share/seabios
      -kernel "${ZK_KERNEL:-$KERNEL}" -initrd "$stage/initrd.gz" -nic none
      "${devs[@]}" "${qopts[@]}")
# no_timer_check: a guest starved of host CPU (TCG on a loaded machine) can
# otherwise panic at boot with "IO-APIC + timer doesn't work".
append="console=ttyS0 panic=-1 ${ZK_APPEND:-quiet loglevel=4 no_timer_check}"
# Debug kernel: real pointers in KASAN/kmemleak reports.
[ "$debug" = 1 ] && append="$append no_hash_pointers"
if [ "$shell" = 1 ]; then
    exec "$QEMU" "${args[@]}" -display none -serial mon:stdio -append "$append"
fi
log=$stage/console.log
set +e
timeout --foreground -k 5 "$timeout" "$QEMU" "${args[@]}" -display none -monitor none \
    -serial stdio -append "$append" < /dev/null | tee "$log" | sed -u '/^ZK-EXIT=/d'
rc=${PIPESTATUS[0]}
set -e
status=$(sed -n 's/^ZK-EXIT=\([0-9]*\).*/\1/p' "$log" | tail -1)
if [ "$rc" = 124 ]; then echo "vm-run: timeout after ${timeout}s" >&2; exit 124; fi
[ -n "$status" ] || { echo "vm-run: VM ended without an exit status (qemu rc=$rc)" >&2; exit 125; }
exit "$status"
