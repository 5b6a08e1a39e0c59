#!/bin/sh
# Guest side of the "firmware never reaches READY" test: the VM is booted with
# the card property inject-boot-hang=on (tools/fuzz.sh, or by hand:
#   tools/vm-run.sh --dev-opt ,inject-boot-hang=on -- 'sh /zk/vm-tests/zk_reliab_boothang.sh')
# guest-init's insmod has already tried to probe.  Probe must fail cleanly
# (clear dmesg line, nothing bound, no node, no WARN) and rmmod must work.
n=0 fails=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
bad='WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|Call Trace'
node() { ls /dev/accel/accel* /dev/dri/renderD* 2>/dev/null | head -1; }
for round in 1 2; do
    if [ "$round" = 2 ]; then
        s=$(date +%s)
        insmod /zk/kmod/zhikai.ko fw_boot_timeout_ms=1000
        t $? "boot hang: insmod again (probe fails, module loads)"
        echo "# probe took $(( $(date +%s) - s )) s"
    fi
    grep -q '^zhikai ' /proc/modules; t $? "boot hang ($round): zhikai.ko loaded"
    [ -z "$(ls /sys/bus/pci/drivers/zhikai 2>/dev/null | grep :)" ] && [ -z "$(node)" ]
    t $? "boot hang ($round): nothing bound, no device node"
    line=$(dmesg | grep 'not READY after' | tail -1)
    [ -n "$line" ]; t $? "boot hang ($round): clear dmesg line: ${line#*] }"
    ! dmesg | grep -qE "$bad"; t $? "boot hang ($round): no WARN/BUG/Oops"
    rmmod zhikai; t $? "boot hang ($round): rmmod zhikai"
done
! dmesg | grep -qE "$bad"; t $? "boot hang: kernel log clean after unload"
echo "1..$n"
[ "$fails" = 0 ]
