#!/bin/sh
# Guest side: runs every in-VM driver test, TAP on stdout.
# usage (in the VM): sh /zk/vm-tests/run-driver-tests.sh [EXPECTED_HBM]
#   from the host:   tools/vm-run.sh --hbm 2G -- 'sh /zk/vm-tests/run-driver-tests.sh 2G'
# Exit status: 0 when every test program passed.
dir=$(dirname "$0")
hbm=${1:-${ZK_EXPECT_HBM:-}}
rc=0
for t in zk_basic zk_mem zk_jobs zk_isol zk_abi zk_power zk_reset zk_rpm zk_ptpool zk_memcg; do
    echo "# --- $t"
    if [ "$t" = zk_basic ]; then
        "$dir/$t" $hbm || rc=1
    else
        "$dir/$t" || rc=1
    fi
done
# The unprivileged user reaches the node too (udev-like chmod in the VM).
if command -v runas >/dev/null 2>&1; then
    echo "# --- zk_mem as uid 1000"
    runas "$dir/zk_mem" || rc=1
fi
# Last: reloads the module (corrupt firmware, unbind/rebind).
echo "# --- zk_fw_probe"
sh "$dir/zk_fw_probe.sh" || rc=1
exit $rc
