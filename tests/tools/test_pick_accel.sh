#!/bin/sh
# test_pick_accel.sh - tools/pick-accel.sh over fake /proc/cpuinfo, /sys/module
# and /dev/kvm trees (no machine here can boot the KVM path).  TAP.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PICK=$REPO/tools/pick-accel.sh
T=$(mktemp -d /tmp/zk-accel.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0 fails=0
# fake NAME FLAGS MODULES DEVKVM(file|none|ro): builds $T/NAME
fake() {
    d=$T/$1; mkdir -p "$d/proc" "$d/sys/module"
    printf 'processor\t: 0\nflags\t\t: fpu sse2 %s avx512f\n' "$2" > "$d/proc/cpuinfo"
    for m in $3; do mkdir -p "$d/sys/module/$m"; done
    case $4 in
        file) : > "$d/kvm" ;;
        ro) : > "$d/kvm"; chmod 0444 "$d/kvm" ;;
    esac
}
# expect NAME WANT [ENV]
expect() {
    name=$1 want=$2 env=${3:-}
    got=$(env $env ZK_PROC="$T/$name/proc" ZK_SYS="$T/$name/sys" ZK_DEV_KVM="$T/$name/kvm" "$PICK" 2>"$T/why")
    n=$((n + 1))
    if [ "$got" = "$want" ]; then echo "ok $n - $name -> $want ($(cat "$T/why"))"
    else fails=$((fails + 1)); echo "not ok $n - $name -> $want, got '$got' ($(cat "$T/why"))"; fi
}
fake intel-kvm "vmx ept" "kvm kvm_intel" file
fake amd-kvm "svm npt" "kvm kvm_amd" file
fake pvm-host "" "kvm kvm_pvm" file        # these build machines: kvm_pvm, no vmx/svm
fake vmx-no-module "vmx" "kvm" file
fake vmx-wrong-module "vmx" "kvm kvm_amd" file
fake no-dev "svm" "kvm kvm_amd" none
fake no-virt "" "" none
expect intel-kvm kvm
expect amd-kvm kvm
expect pvm-host tcg
expect vmx-no-module tcg
expect vmx-wrong-module tcg
expect no-dev tcg
expect no-virt tcg
if [ "$(id -u)" != 0 ]; then
    fake ro-dev "vmx" "kvm kvm_intel" ro
    expect ro-dev tcg
fi
expect pvm-host kvm ZK_ACCEL=kvm
expect intel-kvm tcg ZK_ACCEL=tcg
n=$((n + 1))
if ZK_ACCEL=hvf "$PICK" >/dev/null 2>&1; then fails=$((fails + 1)); echo "not ok $n - ZK_ACCEL=hvf refused"
else echo "ok $n - ZK_ACCEL=hvf refused"; fi
# This machine: whatever it picks must be one of the two, with a reason.
n=$((n + 1))
got=$("$PICK" 2>"$T/why")
case $got in kvm|tcg) echo "ok $n - this machine: $got ($(cat "$T/why"))";;
    *) fails=$((fails + 1)); echo "not ok $n - this machine: '$got'";; esac
echo "1..$n"
[ "$fails" = 0 ]
