#!/bin/bash
# Host side of the 32 GiB HBM check (issue 14): a VM with 2 GiB of RAM and a
# 32 GiB card; an unprivileged guest user allocates 31 GiB of HBM
# (tests/vm/zk_bighbm.c).  QEMU's peak RSS (VmHWM) must stay under
# RSS_LIMIT_MIB (4096): the driver scrubs new buffers with the card's HBM
# discard, so HBM costs the host only what the guest writes.  TAP.
set -uo pipefail
REPO=$(realpath "$(dirname "$0")/..")
LIMIT=${RSS_LIMIT_MIB:-4096}
pidf=$(mktemp -u /tmp/zk-qemu-pid.XXXXXX)
log=$(mktemp)
"$REPO/tools/vm-run.sh" --hbm 32G --mem 2G --timeout 300 --qemu-opt -pidfile --qemu-opt "$pidf" \
    -- 'runas /zk/vm-tests/zk_bighbm 31' >"$log" 2>&1 &
vm=$!
peak=0 pid=""
while kill -0 "$vm" 2>/dev/null; do
    [ -z "$pid" ] && [ -s "$pidf" ] && pid=$(cat "$pidf")
    if [ -n "$pid" ]; then
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
    fi
    sleep 0.2
done
wait "$vm"; rc=$?
grep -E '^(ok|not ok|#)' "$log"
peak_mib=$((peak / 1024))
if ! grep -q '^ZK-BIGHBM-ALLOCATED 31 GiB' "$log"; then
    echo "not ok - bighbm: the guest did not allocate 31 GiB (vm-run rc=$rc)"
    tail -20 "$log" | sed 's/^/# /'
elif [ "$peak" -eq 0 ]; then
    echo "not ok - bighbm: could not read QEMU's RSS"
elif [ "$peak_mib" -lt "$LIMIT" ]; then
    echo "ok - bighbm: QEMU peak RSS $peak_mib MiB < $LIMIT MiB with 31 GiB of HBM allocated (2 GiB guest RAM)"
else
    echo "not ok - bighbm: QEMU peak RSS $peak_mib MiB >= $LIMIT MiB with 31 GiB of HBM allocated"
fi
rm -f "$pidf" "$log"
