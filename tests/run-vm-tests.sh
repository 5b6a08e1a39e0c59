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
# Debug kernel: keep the driver's symbols for the kmemleak report below (after
# rmmod, kmemleak can only print the driver's frames as raw addresses).
[ -e /sys/kernel/debug/kmemleak ] && grep '\[zhikai\]' /proc/kallsyms > /tmp/zk-kallsyms 2>/dev/null
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
# object age), so only objects unreferenced in both count. The report groups the
# objects by allocation backtrace (driver frames named from /tmp/zk-kallsyms).
kmemleak_summary() {
    awk -v syms=/tmp/zk-kallsyms 'function hex(s,  i, v) { v = 0; s = tolower(s)
             for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
             return v }
         BEGIN { n = 0; g = 0
                 while ((getline l < syms) > 0) { split(l, w, " ")
                     if (w[2] ~ /^[tT]$/) { sa[n] = w[1]; sn[n] = w[3]; n++ } } }
         function flush() { if (bt == "") return
             if (!(bt in cnt)) { order[g++] = bt; first[bt] = obj }
             cnt[bt]++; bytes[bt] += size; bt = "" }
         /^unreferenced object/ { flush(); obj = $0; size = $5; gsub(/[^0-9]/, "", size); inbt = 0; next }
         /backtrace:/ { inbt = 1; next }
         inbt && /\[</ { f = $2
             if (f ~ /^0xffffffff/) {          # a frame of the unloaded driver
                 a = substr(f, 3); best = -1
                 for (i = 0; i < n; i++) if (sa[i] <= a && (best < 0 || sa[i] > sa[best])) best = i
                 if (best >= 0) f = sprintf("%s+0x%x [zhikai]", sn[best], hex(substr(a, 9)) - hex(substr(sa[best], 9)))
             }
             bt = bt "#     " f "\n"; next }
         END { flush()
             printf "# %d distinct allocation backtraces:\n", g
             for (i = 0; i < g && i < 15; i++) {
                 k = order[i]; printf "# %d object(s), %d bytes, e.g. %s\n%s", cnt[k], bytes[k], first[k], k }
         }'
}
KML=/sys/kernel/debug/kmemleak
if [ -e "$KML" ]; then
    [ -f /tmp/zk-kallsyms ] || : > /tmp/zk-kallsyms
    echo scan > "$KML"; sleep 6; echo scan > "$KML"
    cat "$KML" > /tmp/kmemleak.txt
    if [ -s /tmp/kmemleak.txt ]; then
        echo "not ok - kmemleak: $(grep -c '^unreferenced object' /tmp/kmemleak.txt) unreferenced object(s)"
        kmemleak_summary < /tmp/kmemleak.txt
    else
        echo "ok - kmemleak: no leaks"
    fi
fi
