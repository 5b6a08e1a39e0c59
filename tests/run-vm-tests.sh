#!/bin/sh
# Guest side of `make test-vm`: runs every in-VM test program in /zk/vm-tests,
# then checks the kernel log and that the driver unloads cleanly.
# usage: run-vm-tests.sh EXPECTED_HBM_SIZE   (e.g. 2G)
export ZK_EXPECT_HBM="$1"
T=/zk/vm-tests
cd /tmp || exit 1
tests=""
for t in "$T"/test_*; do [ -x "$t" ] && tests="$tests $t"; done
for s in "$T"/run-*.sh; do [ -f "$s" ] && tests="$tests sh:$s"; done
for t in $tests; do
    case "$t" in sh:*) sh /zk/share/run-tap.sh "sh ${t#sh:}";; *) sh /zk/share/run-tap.sh "$t";; esac
done

bad='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|kmemleak|circular locking|possible recursive locking|Call Trace'
if dmesg | grep -qE "$bad"; then
    echo "not ok - kernel log has WARN/BUG/Oops"; dmesg | grep -E -A5 "$bad" | head -60
else
    echo "ok - kernel log has no WARN/BUG/Oops"
fi
if grep -q '^zhikai ' /proc/modules; then
    if rmmod zhikai; then echo "ok - zhikai.ko unloads"; else echo "not ok - rmmod zhikai failed"; fi
    if [ -e /dev/dri/renderD128 ] || [ -e /dev/accel/accel0 ]; then
        echo "not ok - device node still present after rmmod"
    else
        echo "ok - device nodes gone after rmmod"
    fi
    if dmesg | grep -qE "$bad"; then echo "not ok - kernel log clean after unload"; else echo "ok - kernel log clean after unload"; fi
else
    echo "not ok - zhikai.ko was not loaded"
fi

# Debug kernel (CONFIG_DEBUG_KMEMLEAK, see tools/build-debug-kernel.sh): with the
# driver unloaded, scan for leaks. Two scans, > 5 s apart (kmemleak's minimum
# object age), so only objects unreferenced in both count.
KML=/sys/kernel/debug/kmemleak
if [ -e "$KML" ]; then
    echo scan > "$KML"; sleep 6; echo scan > "$KML"
    leaks=$(cat "$KML")
    if [ -n "$leaks" ]; then
        echo "not ok - kmemleak: $(echo "$leaks" | grep -c '^unreferenced object') unreferenced object(s)"
        echo "$leaks" | head -80 | sed 's/^/# /'
    else
        echo "ok - kmemleak: no leaks"
    fi
fi
