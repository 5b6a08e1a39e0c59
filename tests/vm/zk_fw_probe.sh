#!/bin/sh
# Probe with corrupt firmware must fail cleanly (clear dmesg line, no device
# node, nothing left bound) and the good image must work again afterwards;
# also unbind/rebind.  Root only; reloads zhikai.ko.  TAP on stdout.
# usage: zk_fw_probe.sh [DIR_WITH_BAD_IMAGES]   (default /zk/firmware/bad)
bad=${1:-/zk/firmware/bad}
ko=/zk/kmod/zhikai.ko
n=0 fails=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
node() { ls /dev/accel/accel* /dev/dri/renderD* 2>/dev/null | head -1; }

if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi

rmmod zhikai 2>/dev/null
[ -d /sys/module/zhikai ]; t $((! $?)) "rmmod zhikai while idle"
[ -z "$(node)" ]; t $? "device node gone after rmmod"

for img in "$bad"/*.bin; do
    [ -f "$img" ] || continue
    name=$(basename "$img" .bin)
    mkdir -p /lib/firmware/zhikai
    cp "$img" /lib/firmware/zhikai/test-bad.bin
    dmesg -c >/dev/null
    insmod $ko fw_name=zhikai/test-bad.bin 2>/dev/null
    line=$(dmesg | grep -m1 'firmware zhikai/test-bad.bin')
    [ -z "$(ls /sys/bus/pci/drivers/zhikai 2>/dev/null | grep :)" ] && [ -z "$(node)" ]
    t $? "corrupt image '$name' refused, nothing bound"
    [ -n "$line" ]; t $? "clear dmesg line for '$name': ${line#*] }"
    rmmod zhikai 2>/dev/null
done

insmod $ko; t $? "insmod with the good firmware"
[ -n "$(node)" ]; t $? "device node back"
dev=$(ls /sys/bus/pci/drivers/zhikai | grep : | head -1)
echo "$dev" > /sys/bus/pci/drivers/zhikai/unbind; t $? "unbind $dev"
echo "$dev" > /sys/bus/pci/drivers/zhikai/bind; t $? "bind $dev again"
[ -n "$(node)" ] && [ -e "/sys/bus/pci/drivers/zhikai/$dev/fw_version" ]
t $? "device usable after rebind"
for f in /dev/dri/renderD* /dev/accel/accel*; do [ -e "$f" ] && chmod 666 "$f"; done
echo "1..$n"
[ "$fails" = 0 ]
