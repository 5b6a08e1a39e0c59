#!/bin/sh
# Guest side: reliability, isolation and ioctl-fuzz tests of zhikai.ko (issue 8).
# TAP on stdout.  Run by tests/run-vm-tests.sh (`make test`, short mode) and by
# tools/fuzz.sh (`make fuzz`, long mode).  Root; some parts run as uid 1000.
# usage: run-reliability.sh [short|long]
#   short: 5 hang rounds, 25 s of fuzzing, 3 unbind cycles  (~60 s)
#   long:  50 hang rounds, >= 1,000,000 fuzz calls (+ a run with hangs),
#          20 unbind cycles
mode=${1:-${ZK_RELIAB_MODE:-short}}
dir=$(dirname "$0")
R=$dir/zk_reliab
F=$dir/zk_ioctl_fuzz
n=0 fails=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
bad='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|kmemleak|circular locking|possible recursive locking|Call Trace|refcount_t|list_add corruption|list_del corruption'

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
if [ ! -d /sys/bus/pci/drivers/zhikai ] || [ -z "$(ls /sys/bus/pci/drivers/zhikai | grep :)" ]; then
    echo "1..0 # SKIP no zhikai device bound"; exit 0
fi
case "$mode" in
long) hangs=50 unbinds=20 fuzz="-p 4 -t 1800 -n 1000000" fuzzh="-p 3 -t 90 -H";;
*)    hangs=5  unbinds=3  fuzz="-p 4 -t 25" fuzzh="";;
esac

# Each sub-run's TAP is renumbered into this script's stream.
sub() {
    what=$1; shift
    out=$("$@" 2>&1); st=$?
    echo "$out" | grep -v '^1\.\.' | grep -v -E '^(not )?ok ' 
    echo "$out" | grep -E "^(not )?ok " > /tmp/zk-rel.$$
    while IFS= read -r l; do
        case "$l" in
        "not ok "*) t 1 "${l#not ok * - }";;
        "ok "*) t 0 "${l#ok * - }";;
        esac
    done < /tmp/zk-rel.$$
    rm -f /tmp/zk-rel.$$
    if [ "$st" != 0 ] && ! echo "$out" | grep -q '^not ok'; then t 1 "$what: exited $st"; fi
}
dmesg_mark() { dmesg | wc -l; }
dmesg_clean() {  # $1 = mark, $2 = what
    new=$(dmesg | tail -n +$(($1 + 1)))
    if echo "$new" | grep -qE "$bad"; then
        t 1 "no WARN/BUG/Oops in dmesg after $2"; echo "$new" | grep -E -B2 -A12 "$bad" | head -60 | sed 's/^/# /'
    else
        t 0 "no WARN/BUG/Oops in dmesg after $2"
    fi
}

echo "# reliability tests, $mode mode"
m=$(dmesg_mark)
sub smoke $R smoke
sub fault $R fault
sub ras $R ras
sub isolation $R isolation
dmesg_clean "$m" "fault/RAS/isolation tests"

m=$(dmesg_mark)
start=$(date +%s)
sub hang $R hang $hangs
sub reset $R reset
sub escalate $R escalate
sub flr $R flr
sub suspend $R suspend
sub ban $R ban
echo "# hang + ban: $(( $(date +%s) - start )) s"
dmesg_clean "$m" "hang recovery, device reset and ban"

m=$(dmesg_mark)
start=$(date +%s)
# shellcheck disable=SC2086
sub fuzz runas "$F $fuzz"
if [ -n "$fuzzh" ]; then
    # shellcheck disable=SC2086
    sub fuzz-hangs runas "$F $fuzzh"
fi
echo "# fuzz: $(( $(date +%s) - start )) s"
dmesg_clean "$m" "the ioctl fuzzer"
sub smoke-after-fuzz $R smoke

m=$(dmesg_mark)
start=$(date +%s)
sub unbind $R unbind $unbinds
sub unbind-queued $R unbind-queued
echo "# unbind: $(( $(date +%s) - start )) s"
dmesg_clean "$m" "unbind/rebind"
sub smoke-after-rebind $R smoke
echo "1..$n"
[ "$fails" = 0 ]
