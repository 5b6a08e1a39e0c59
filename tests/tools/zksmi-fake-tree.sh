#!/bin/sh
# Builds a fake sysfs/proc/dev tree for zksmi's host tests (ZKSMI_SYSFS_ROOT).
# usage: zksmi-fake-tree.sh DIR [--no-driver] [--empty]
#   default: 3 zhikai cards (00:03.0 and 00:04.0 bound to zhikai, 00:05.0 with
#   no driver), one non-zhikai device (00:02.0), processes 100 (zk-llm,
#   renderD128), 300 (python3, renderD129) and 200 (holds /dev/null only).
#   --no-driver: no card is bound (zhikai.ko not loaded).
#   --empty:     a PCI bus without any zhikai card.
set -e
D=$1; shift
nodrv=0 empty=0
for a in "$@"; do
    case "$a" in --no-driver) nodrv=1;; --empty) empty=1;; *) echo "bad option $a" >&2; exit 2;; esac
done
rm -rf "$D"; mkdir -p "$D/sys/bus/pci/devices" "$D/sys/bus/pci/drivers/zhikai" "$D/proc" "$D/dev/dri"
W() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" > "$1"; }
pcidev() { # BDF VENDOR DEVICE CLASS
    p=$D/sys/bus/pci/devices/$1; mkdir -p "$p"
    W "$p/vendor" "$2"; W "$p/device" "$3"; W "$p/class" "$4"; W "$p/revision" 0x01
    W "$p/irq" 11; W "$p/subsystem_vendor" 0x1af4; W "$p/subsystem_device" 0x1100
    : > "$p/resource"
    for i in 0 1 2 3 4 5 6; do
        echo "0x0000000000000000 0x0000000000000000 0x0000000000000000" >> "$p/resource"
    done
}
card() { # BDF HBM_USED CARDN RENDERN POWER_UW TEMP_MC UTIL
    p=$D/sys/bus/pci/devices/$1
    pcidev "$1" 0x1234 0x5a4b 0x120000
    [ "$nodrv" = 1 ] && return 0
    ln -s ../../../bus/pci/drivers/zhikai "$p/driver"
    W "$p/fw_version" 1.2.3; W "$p/hbm_total_bytes" 2147483648; W "$p/hbm_used_bytes" "$2"
    W "$p/busy_ns" 987654321; W "$p/utilization" "$7"; W "$p/num_queues" 16
    W "$p/reset_count" 1; W "$p/ras_ce_count" 2; W "$p/ras_ue_count" 0; W "$p/heartbeat" 4242
    h=$p/hwmon/hwmon$3; mkdir -p "$h"
    W "$h/name" zhikai; W "$h/power1_input" "$5"; W "$h/power1_average" 24000000
    W "$h/power1_cap" 150000000; W "$h/power1_cap_min" 50000000; W "$h/power1_cap_max" 300000000
    W "$h/energy1_input" 123456789; W "$h/temp1_input" "$6"
    mkdir -p "$p/perf"; W "$p/perf/clock_mhz" 1000
    W "$h/power1_label" board
    mkdir -p "$p/drm/card$3" "$p/drm/renderD$4"
    : > "$D/dev/dri/card$3"; : > "$D/dev/dri/renderD$4"
    W "$D/sys/kernel/debug/dri/$3/reset" ""
}
pcidev 0000:00:02.0 0x1234 0x1111 0x030000       # bochs-display: not ours
if [ "$empty" = 0 ]; then
    card 0000:00:04.0 1048576000 1 129 30000000 51000 99.50
    card 0000:00:03.0 12582912 0 128 25300000 45500 12.34
    pcidev 0000:00:05.0 0x1234 0x5a4b 0x120000   # no driver
    [ "$nodrv" = 1 ] || W "$D/sys/module/zhikai/version" 1.0.0
fi
proc() { # PID COMM TARGET...
    pd=$D/proc/$1; mkdir -p "$pd/fd"; W "$pd/comm" "$2"; shift 2; n=3
    for t in "$@"; do ln -s "$t" "$pd/fd/$n"; n=$((n + 1)); done
}
proc 100 zk-llm /dev/dri/renderD128 /dev/null
proc 200 bash /dev/null
proc 300 python3 /dev/dri/renderD129
proc 301 python3 /dev/dri/renderD129 /dev/dri/card1
