#!/bin/sh
# Guest side: unload and reload zhikai.ko many times in a row.  Each cycle:
# rmmod (module, device nodes and driver binding gone), insmod (device bound,
# render/accel node back, sysfs fw_version readable, one DMA job round trip
# with `zk_reliab smoke`).  After WARMUP cycles, /proc/meminfo is sampled; after
# CYCLES more, MemAvailable must not have dropped and Slab/SUnreclaim must not
# have grown by LEAK_KB or more (skipped on the KASAN/kmemleak debug kernel).
# No WARN/BUG/Oops in dmesg meanwhile.  The module is always loaded again at
# the end (later tests need it), with the harness's module arguments, and the
# nodes opened up (chmod 666) as tools/guest-init.sh does.  POSIX sh (busybox); root; TAP on stdout.
# usage: run-reload.sh [CYCLES [WARMUP]]   (default 20 and 2)
cycles=${1:-20}
warmup=${2:-2}
LEAK_KB=2048
ko=/zk/kmod/zhikai.ko
smoke=$(dirname "$0")/zk_reliab
drv=/sys/bus/pci/drivers/zhikai
bad='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|kmemleak|circular locking|possible recursive locking|Call Trace|refcount_t|list_add corruption|list_del corruption'
n=0 fails=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
node() { ls /dev/accel/accel* /dev/dri/renderD* 2>/dev/null | head -1; }
bound() { ls "$drv" 2>/dev/null | grep : | head -1; }
loaded() { grep -q '^zhikai ' /proc/modules; }
mem() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }   # kB
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; sleep 1; }
# The module arguments the harness loaded the driver with (tools/vm-run.sh --mod-args).
modargs=$(sed -n "s/^ZK_MODARGS='\(.*\)'\$/\1/p" /zk-env 2>/dev/null)
load() {
    # shellcheck disable=SC2086
    insmod "$ko" $modargs
}
open_nodes() { for f in /dev/dri/renderD* /dev/accel/accel*; do [ -e "$f" ] && chmod 666 "$f"; done; }

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
if [ ! -f "$ko" ]; then echo "1..0 # SKIP no $ko"; exit 0; fi
loaded || load 2>/dev/null

# Last kernel log line before the test: what follows it is ours.
mark=$(dmesg | tail -1)
since_mark() {
    dmesg | awk -v m="$mark" 'f { print } $0 == m { f = 1 }' > /tmp/zk-reload.log
    # Log wrapped past the mark (or empty at start): look at all of it.
    if [ -z "$mark" ] || ! dmesg | grep -qxF -- "$mark"; then dmesg > /tmp/zk-reload.log; fi
}

# One cycle; prints what failed (empty: all good).
cycle() {
    err=""
    if ! rmmod zhikai 2>/tmp/zk-rmmod.err; then
        echo "rmmod failed: $(cat /tmp/zk-rmmod.err)"; return
    fi
    loaded && err="$err module still listed;"
    [ -n "$(node)" ] && err="$err device node $(node) still present;"
    [ -d "$drv" ] && err="$err $drv still present;"
    if ! load 2>/tmp/zk-insmod.err; then
        echo "$err insmod failed: $(cat /tmp/zk-insmod.err)"; return
    fi
    # Probe is synchronous, but give devtmpfs a moment anyway.
    i=0
    while [ -z "$(node)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    dev=$(bound)
    [ -n "$dev" ] || err="$err no device bound;"
    [ -n "$(node)" ] || err="$err no render/accel node;"
    fw=$(cat "$drv/$dev/fw_version" 2>/dev/null)
    [ -n "$dev" ] && [ -n "$fw" ] || err="$err fw_version unreadable;"
    if [ -x "$smoke" ]; then
        out=$("$smoke" smoke 2>&1)
        echo "$out" | grep -q '^ok .*smoke' && ! echo "$out" | grep -q '^not ok' ||
            err="$err smoke job failed ($(echo "$out" | grep -v '^ok' | tr '\n' ' '));"
    fi
    echo "$err"
}

start=$(date +%s)
c=0
total=$((warmup + cycles))
while [ $c -lt "$total" ]; do
    c=$((c + 1))
    if [ $c = $((warmup + 1)) ]; then
        settle
        avail0=$(mem MemAvailable) slab0=$(mem Slab) sunr0=$(mem SUnreclaim)
        echo "# baseline after $warmup warm-up cycles: MemAvailable $avail0 kB, Slab $slab0 kB, SUnreclaim $sunr0 kB"
    fi
    err=$(cycle)
    [ $c -le "$warmup" ] && what="warm-up cycle $c" || what="cycle $((c - warmup))/$cycles"
    fw=$(cat "$drv"/*:*/fw_version 2>/dev/null | head -1)
    t "$([ -z "$err" ] && echo 0 || echo 1)" "$what: rmmod + insmod, device bound (fw ${fw:-?}), node back, smoke job OK${err:+ -$err}"
    if [ $c -gt "$warmup" ]; then
        echo "# after $what: MemAvailable $(mem MemAvailable) kB, Slab $(mem Slab) kB, SUnreclaim $(mem SUnreclaim) kB"
    fi
    # Give up early if the driver no longer loads at all.
    loaded || { load 2>/dev/null; loaded || break; }
done
echo "# $c reload cycles: $(( $(date +%s) - start )) s"

settle
avail1=$(mem MemAvailable) slab1=$(mem Slab) sunr1=$(mem SUnreclaim)
davail=$((avail0 - avail1)) dslab=$((slab1 - slab0)) dsunr=$((sunr1 - sunr0))
# KASAN keeps freed objects in its quarantine (up to 1/32 of RAM) and kmemleak
# adds per-object metadata: meminfo drifts by MiBs on the debug kernel, where
# tests/run-vm-tests.sh's kmemleak scan is the leak check instead.
memcheck() {  # $1 = delta kB, $2 = description
    if [ "$kasan" = 1 ]; then
        n=$((n + 1)); echo "ok $n - $2 # SKIP debug kernel (KASAN quarantine): kmemleak checks leaks"
    else
        t "$([ $c = "$total" ] && [ "$1" -lt $LEAK_KB ] && echo 0 || echo 1)" "$2"
    fi
}
kasan=0
{ grep -q ' __asan_load8$' /proc/kallsyms || [ -e /sys/kernel/debug/kmemleak ]; } 2>/dev/null && kasan=1
memcheck $davail "MemAvailable after $cycles cycles: $avail1 kB, dropped $davail kB (< $LEAK_KB)"
memcheck $dslab "Slab after $cycles cycles: $slab1 kB, grew $dslab kB (< $LEAK_KB)"
memcheck $dsunr "SUnreclaim after $cycles cycles: $sunr1 kB, grew $dsunr kB (< $LEAK_KB)"

since_mark
if grep -qE "$bad" /tmp/zk-reload.log; then
    t 1 "no WARN/BUG/Oops in dmesg during the reloads"
    grep -E -B2 -A12 "$bad" /tmp/zk-reload.log | head -60 | sed 's/^/# /'
else
    t 0 "no WARN/BUG/Oops in dmesg during the reloads"
fi

# Leave the driver loaded and the nodes reachable for the tests that follow.
loaded || load
open_nodes
loaded && [ -n "$(bound)" ] && [ -n "$(node)" ]
t $? "zhikai.ko loaded and the device bound at the end"
rm -f /tmp/zk-reload.log /tmp/zk-rmmod.err /tmp/zk-insmod.err
echo "1..$n"
[ "$fails" = 0 ]
