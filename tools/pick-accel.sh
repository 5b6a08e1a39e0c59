#!/bin/bash
# Chooses QEMU's accelerator for the test VMs and prints it ("kvm" or "tcg")
# on stdout, with the reason on stderr.  KVM only where it can boot a stock
# guest kernel: the CPU has vmx or svm, kvm_intel or kvm_amd is loaded, and
# /dev/kvm opens read-write.  Anything else is TCG -- e.g. a kvm_pvm host,
# whose /dev/kvm runs trivial guests but not Debian's kernel.
#   ZK_ACCEL=tcg|kvm   force the choice
#   ZK_PROC, ZK_SYS, ZK_DEV_KVM   other roots for /proc, /sys, /dev/kvm (tests)
set -uo pipefail
PROC=${ZK_PROC:-/proc}
SYS=${ZK_SYS:-/sys}
DEV_KVM=${ZK_DEV_KVM:-/dev/kvm}

say() { echo "$1"; echo "accel: $1 ($2)" >&2; exit 0; }

case "${ZK_ACCEL:-}" in
    kvm|tcg) say "$ZK_ACCEL" "ZK_ACCEL=$ZK_ACCEL" ;;
    "") ;;
    *) echo "pick-accel: ZK_ACCEL must be kvm or tcg, not '$ZK_ACCEL'" >&2; exit 2 ;;
esac

flags=$(grep -m1 '^flags' "$PROC/cpuinfo" 2>/dev/null)
if echo "$flags" | grep -qw vmx; then ext=vmx mod=kvm_intel
elif echo "$flags" | grep -qw svm; then ext=svm mod=kvm_amd
else say tcg "no vmx/svm in $PROC/cpuinfo"
fi
[ -d "$SYS/module/$mod" ] || say tcg "$ext in the CPU but $mod is not loaded"
# Open it for real: permissions alone do not tell (e.g. a device node left
# behind with no driver).
[ -e "$DEV_KVM" ] || say tcg "no $DEV_KVM"
if ! { exec 3<>"$DEV_KVM"; } 2>/dev/null; then say tcg "$DEV_KVM does not open read-write"; fi
exec 3>&-
say kvm "$ext, $mod, $DEV_KVM"
