#!/bin/sh
# Guest side of the multi-card VM of `make test-vm` (tools/vm-run.sh --cards N):
# the runtime test, zksmi against every card, a clean kernel log, and the
# driver unloading with every card's node gone; before the log check, an
# unbind while a killed client's job waits on the other card (zk_xdev).  TAP.
# usage: multicard.sh [CARDS]   (default 2)
cards=${1:-2}
D=/zk/vm-tests/multicard
cd /tmp || exit 1
sh /zk/share/run-tap.sh "$D/test_multicard $cards" "sh /zk/vm-tests/test_zksmi.sh" "$D/zk_xdev"
bad='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|circular locking|possible recursive locking|Call Trace'
if dmesg | grep -qE "$bad"; then
    echo "not ok - multi-card: kernel log has WARN/BUG/Oops"; dmesg | grep -E -A5 "$bad" | head -40 | sed 's/^/# /'
else
    echo "ok - multi-card: kernel log has no WARN/BUG/Oops"
fi
nodes=$(ls /dev/accel/accel* /dev/dri/renderD* 2>/dev/null | wc -l)
if rmmod zhikai; then echo "ok - multi-card: zhikai.ko unloads"; else echo "not ok - multi-card: rmmod zhikai failed"; fi
left=$(ls /dev/accel/accel* /dev/dri/renderD* 2>/dev/null | wc -l)
if [ "$nodes" -ge "$cards" ] && [ "$left" = 0 ]; then
    echo "ok - multi-card: all $nodes device nodes gone after rmmod"
else
    echo "not ok - multi-card: device nodes before/after rmmod: $nodes/$left (want >= $cards/0)"
fi
