#!/bin/sh
# test_zksmi_cli.sh - zksmi's command line against fake sysfs trees
# (tests/tools/zksmi-fake-tree.sh), output parsed back with jq/awk.  TAP.
# usage: ZKSMI=build/bin/zksmi JSONCHECK=build/host-tests/zk-jsoncheck sh test_zksmi_cli.sh
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ZKSMI=${ZKSMI:-$REPO/build/bin/zksmi}
JSONCHECK=${JSONCHECK:-$REPO/build/host-tests/zk-jsoncheck}
T=$(mktemp -d /tmp/zksmi-cli.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
F=$T/fake
export ZKSMI_SYSFS_ROOT=$F
unset ZKSMI_ASSUME_ROOT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # NAME CMD...: ok when CMD succeeds
    name=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else nok "$name"; fi
}
# run ARGS...: stdout in $T/out, stderr in $T/err, status in $rc
run() { "$ZKSMI" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
tree() { sh "$HERE/zksmi-fake-tree.sh" "$F" "$@" && chmod -R a+rX "$F"; }
sysv() { cat "$F/sys/bus/pci/devices/$1/$2"; }
hw() { cat "$F/sys/bus/pci/devices/$1/hwmon/hwmon$2/$3"; }

tree
# --- default table, -L, -q -------------------------------------------------
run; check "default table exits 0" [ "$rc" = 0 ]
check "table lists every card by bus id" sh -c "grep -q '0000:00:03.0' $T/out && grep -q '0000:00:04.0' $T/out && grep -q '0000:00:05.0' $T/out"
check "table: unbound card says driver not loaded" grep -q '0000:00:05.0.*driver not loaded' "$T/out"
check "table: firmware, power, HBM of card 0" grep -q '| 1.2.3 .*25W / 150W.*12 / 2048 MiB' "$T/out"
check "table: process zk-llm on card 0" grep -qE '^\| +0 +100 +zk-llm +/dev/dri/renderD128' "$T/out"
check "table: non-zhikai device 00:02.0 not listed" sh -c "! grep -q '00:02.0' $T/out"
run -L; check "-L: one line per card" [ "$(grep -c '^Device [0-9]: Zhikai ZK100 (PCI ' "$T/out")" = 3 ]
run -q; check "-q: detailed view" sh -c "[ $rc = 0 ] && grep -q 'Attached Devices *: 3' $T/out && grep -q 'Power Limit *: 150.00 W' $T/out && grep -q 'Uncorrected Errors *: 0' $T/out"

# --- CSV fields match the sysfs values ----------------------------------------
FIELDS=index,name,pci.bus_id,driver_version,firmware_version,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.max.sm,reset_count,ras.ce,ras.ue,energy
run --query-gpu=$FIELDS --format=csv,noheader,nounits
check "--query-gpu csv exits 0 with 3 rows" sh -c "[ $rc = 0 ] && [ \$(wc -l < $T/out) = 3 ]"
B=0000:00:03.0
want=$(awk -v tot="$(sysv $B hbm_total_bytes)" -v used="$(sysv $B hbm_used_bytes)" \
    -v util="$(sysv $B utilization)" -v t="$(hw $B 0 temp1_input)" -v p="$(hw $B 0 power1_input)" \
    -v cap="$(hw $B 0 power1_cap)" -v clk="$(( $(sysv $B perf/clock_mhz) * 1000000 ))" -v e="$(hw $B 0 energy1_input)" \
    -v fw="$(sysv $B fw_version)" -v rs="$(sysv $B reset_count)" -v ce="$(sysv $B ras_ce_count)" \
    -v ue="$(sysv $B ras_ue_count)" 'BEGIN {
    printf "0, Zhikai ZK100, %s, 1.0.0, %s, %d, %d, %d, %s, %.0f, %.2f, %.2f, %.0f, N/A, %s, %s, %s, %.3f\n",
        "0000:00:03.0", fw, tot / 1048576, used / 1048576, (tot - used) / 1048576, util, t / 1000,
        p / 1e6, cap / 1e6, clk / 1e6, rs, ce, ue, e / 1e6 }')
got=$(head -1 "$T/out")
if [ "$got" = "$want" ]; then ok "CSV row of card 0 matches sysfs/hwmon"; else nok "CSV row of card 0 matches sysfs/hwmon"; echo "# got:  $got"; echo "# want: $want"; fi
check "CSV row of the unbound card: bus id, rest N/A" grep -qx '2, Zhikai ZK100, 0000:00:05.0, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A, N/A' "$T/out"
# field by field through awk -F', '
run --query-gpu=pci.bus_id,memory.used,power.draw,temperature.gpu --format=csv
check "CSV header with units" grep -qx 'pci.bus_id, memory.used \[MiB\], power.draw \[W\], temperature.gpu \[C\]' "$T/out"
check "CSV values with units (card 1)" sh -c "awk -F', ' 'NR==3 && \$1==\"0000:00:04.0\" && \$2==\"1000 MiB\" && \$3==\"30.00 W\" && \$4==\"51 C\" {ok=1} END {exit !ok}' $T/out"
run --query-gpu=index --format=csv,noheader; check "noheader: no header line" [ "$(cat "$T/out" | tr '\n' ' ')" = "0 1 2 " ]
run --query-gpu=gpu_name,gpu_bus_id,count --format=csv,noheader; check "nvidia-smi field aliases, count" grep -qx 'Zhikai ZK100, 0000:00:03.0, 3' "$T/out"
run --query-gpu=memory.used; check "--query-gpu without --format defaults to csv" grep -qx 'memory.used \[MiB\]' "$T/out"

# --- JSON ------------------------------------------------------------------
run --json
check "--json exits 0" [ "$rc" = 0 ]
check "--json parses with jq" jq -e . "$T/out"
check "--json passes zk-jsoncheck" "$JSONCHECK" "$T/out"
check "--json: count 3, values match sysfs" jq -e '.count == 3 and .devices[0]["memory.used"] == 12 and .devices[0]["power.draw"] == 25.3 and .devices[1]["utilization.gpu"] == 99.5 and .devices[0].firmware_version == "1.2.3" and .devices[2]["memory.used"] == null and .devices[2]["pci.bus_id"] == "0000:00:05.0"' "$T/out"
check "--json: processes as objects" jq -e '.devices[0].processes == [{"pid":100,"name":"zk-llm","node":"/dev/dri/renderD128"}] and (.devices[1].processes | map(.pid)) == [300,301] and .devices[2].processes == null' "$T/out"
run --json --query-gpu=index,memory.used
check "--json --query-gpu: only those keys" jq -e '[.devices[] | keys] == [["index","memory.used"],["index","memory.used"],["index","memory.used"]]' "$T/out"
run --json -i 1 -l 0.01 -c 2
check "--json loop: 2 documents, each valid" sh -c "[ \$(jq -s length $T/out) = 2 ]"

# --- -i -------------------------------------------------------------------
run -i 1 --query-gpu=pci.bus_id --format=csv,noheader; check "-i 1 selects 0000:00:04.0" sh -c "[ $rc = 0 ] && [ \"\$(cat $T/out)\" = 0000:00:04.0 ]"
run -i 0000:00:04.0 --query-gpu=index --format=csv,noheader; check "-i by full bus id" [ "$(cat "$T/out")" = 1 ]
run -i 00:05.0 --query-gpu=index --format=csv,noheader; check "-i by short bus id" [ "$(cat "$T/out")" = 2 ]
run -i 2,0 --query-gpu=index --format=csv,noheader; check "-i list keeps the order" [ "$(cat "$T/out" | tr '\n' ' ')" = "2 0 " ]
for bad in 3 99 0000:00:09.0; do
    run -i $bad; check "-i $bad (no such device): exit 2 + message" sh -c "[ $rc = 2 ] && grep -q 'no device with id' $T/err && [ ! -s $T/out ]"
done

# --- -l / -c ----------------------------------------------------------------
run -l 0.02 -c 3 --query-gpu=index --format=csv
check "-l 0.02 -c 3: header once, 3x3 rows" sh -c "[ $rc = 0 ] && [ \$(grep -c '^index' $T/out) = 1 ] && [ \$(grep -c '^[0-9]' $T/out) = 9 ]"
run -l 0.02 -c 2; check "-l -c 2 with the table: 2 tables" [ "$(grep -c 'ZKSMI 1.0.0' "$T/out")" = 2 ]
run -L -f "$T/list.txt"; check "-f FILE writes the report there" sh -c "[ $rc = 0 ] && [ ! -s $T/out ] && grep -q 'Device 0' $T/list.txt"

# --- bad arguments: usage on stderr, exit 2, nothing on stdout ------------------
badargs() {
    run "$@"
    if [ "$rc" = 2 ] && grep -q '^usage: zksmi' "$T/err" && [ ! -s "$T/out" ]; then ok "bad arguments: $*"; else nok "bad arguments: $* (rc=$rc)"; fi
}
badargs -x
badargs --bogus
badargs extra
badargs --query-gpu=bogus
badargs --query-gpu=index,
badargs --query-gpu=index --format=xml
badargs --query-gpu=index --format=noheader
badargs --format=csv
badargs --json --query-gpu=index --format=csv
badargs -q -L
badargs -q --json
badargs -i
badargs -i abc
badargs -i -1
badargs -i ''
badargs -l 0
badargs -l abc
badargs -l
badargs -c 3
badargs -l 1 -c 0
badargs --power-limit
badargs --power-limit=abc
badargs -pl -5
badargs --power-limit=100 --reset
badargs --reset=bogus
badargs --power-limit=100 -l 1
badargs cdi
badargs cdi frobnicate
badargs --cdi-version=9.9.9 --cdi
run --help; check "--help: usage on stdout, exit 0" sh -c "[ $rc = 0 ] && grep -q '^usage: zksmi' $T/out"
run --version; check "--version" grep -qx 'zksmi 1.0.0' "$T/out"
run --help-query-gpu; check "--help-query-gpu lists every field" sh -c "for f in $(echo $FIELDS | tr , ' ') power.min_limit processes; do grep -q \"^  \$f\" $T/out || exit 1; done"

# --- --power-limit ------------------------------------------------------------
CAP0=$F/sys/bus/pci/devices/0000:00:03.0/hwmon/hwmon0/power1_cap
CAP1=$F/sys/bus/pci/devices/0000:00:04.0/hwmon/hwmon1/power1_cap
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$ZKSMI" --power-limit=120 >"$T/out" 2>"$T/err"; rc=$?
        check "--power-limit as non-root: exit 4, cap unchanged" sh -c "[ $rc = 4 ] && grep -q 'insufficient permissions' $T/err && [ \$(cat $CAP0) = 150000000 ]"
        setpriv --reuid=65534 --regid=65534 --clear-groups "$ZKSMI" --reset >"$T/out" 2>"$T/err"; rc=$?
        check "--reset as non-root: exit 4" [ "$rc" = 4 ]
    else
        ok "# SKIP non-root checks (no setpriv)"
    fi
else
    run --power-limit=120; check "--power-limit as non-root: exit 4, cap unchanged" sh -c "[ $rc = 4 ] && [ \$(cat $CAP0) = 150000000 ]"
    run --reset; check "--reset as non-root: exit 4" [ "$rc" = 4 ]
fi
export ZKSMI_ASSUME_ROOT=1
run -i 0 --power-limit=120
check "--power-limit 120 (root): writes power1_cap in uW" sh -c "[ $rc = 0 ] && [ \$(cat $CAP0) = 120000000 ] && [ \$(cat $CAP1) = 150000000 ] && grep -q 'set to 120.00 W from 150.00 W' $T/out"
run -i 1 -pl 99.5; check "-pl 99.5 (nvidia-smi spelling)" sh -c "[ $rc = 0 ] && [ \$(cat $CAP1) = 99500000 ]"
run -i 0 --power-limit=500; check "--power-limit above power1_cap_max: exit 2, unchanged" sh -c "[ $rc = 2 ] && grep -q outside $T/err && [ \$(cat $CAP0) = 120000000 ]"
run -i 0 --power-limit=10; check "--power-limit below power1_cap_min: exit 2" [ "$rc" = 2 ]
run -i 2 --power-limit=100; check "--power-limit on a card without driver: exit 9" [ "$rc" = 9 ]
run --power-limit=200; check "--power-limit without -i: cards in order, stops at the unbound one (exit 9)" sh -c "[ $rc = 9 ] && [ \$(cat $CAP0) = 200000000 ] && [ \$(cat $CAP1) = 200000000 ]"

# --- --reset --------------------------------------------------------------------
K0=$F/sys/kernel/debug/dri/0/reset
run -i 0 --reset; check "--reset writes 'device' to the debugfs knob" sh -c "[ $rc = 0 ] && [ \"\$(cat $K0)\" = device ] && grep -q 'reset_count 1 -> 1' $T/out"
run -i 0 --reset=engine; check "--reset=engine" [ "$(cat "$K0")" = engine ]
run -i 0 -r; check "-r" [ "$rc" = 0 ]
run -i 2 --reset; check "--reset on a card without driver: exit 9" [ "$rc" = 9 ]
rm -rf "$F/sys/kernel/debug"
run -i 0 --reset; check "--reset without debugfs: exit 3 + explanation" sh -c "[ $rc = 3 ] && grep -q 'no reset interface' $T/err"
unset ZKSMI_ASSUME_ROOT

# --- CDI ----------------------------------------------------------------------
tree
run cdi generate
check "cdi generate: exit 0, valid JSON" sh -c "[ $rc = 0 ] && jq -e . $T/out && $JSONCHECK $T/out"
check "cdi: kind, version, devices 0 1 all" jq -e '.cdiVersion == "0.6.0" and .kind == "zhikai.io/card" and ([.devices[].name] == ["0","1","all"])' "$T/out"
check "cdi: device 0 has its render and card nodes" jq -e '[.devices[0].containerEdits.deviceNodes[].path] == ["/dev/dri/renderD128","/dev/dri/card0"]' "$T/out"
check "cdi: all = every node" jq -e '[.devices[2].containerEdits.deviceNodes[].path] == ["/dev/dri/renderD128","/dev/dri/card0","/dev/dri/renderD129","/dev/dri/card1"]' "$T/out"
check "cdi: card without driver left out, with a warning" grep -q '0000:00:05.0.*left out' "$T/err"
run --cdi --cdi-version=0.5.0 -o "$T/zhikai.json"
check "--cdi -o FILE --cdi-version=0.5.0" sh -c "[ $rc = 0 ] && [ ! -s $T/out ] && jq -e '.cdiVersion == \"0.5.0\" and ([.devices[] | has(\"annotations\")] | any | not)' $T/zhikai.json"
run cdi generate -i 1; check "cdi generate -i 1: only device 1 (+all)" jq -e '[.devices[].name] == ["1","all"]' "$T/out"

# --- driver not loaded, no devices --------------------------------------------------
tree --no-driver
run; check "driver unloaded: table exits 0, says driver not loaded" sh -c "[ $rc = 0 ] && [ \$(grep -c 'driver not loaded' $T/out) = 3 ]"
run --query-gpu=pci.bus_id,driver.loaded,memory.used --format=csv,noheader
check "driver unloaded: CSV bus id from libpci, rest N/A" grep -qx '0000:00:04.0, No, N/A' "$T/out"
run --json; check "driver unloaded: JSON valid, nulls" jq -e '.driver_version == null and .devices[0]["power.draw"] == null' "$T/out"
run cdi generate; check "driver unloaded: cdi generate exits 9" [ "$rc" = 9 ]
ZKSMI_ASSUME_ROOT=1 "$ZKSMI" --power-limit=100 >/dev/null 2>&1; check "driver unloaded: --power-limit exits 9" [ "$?" = 9 ]
tree --empty
run; check "no device: exit 6, 'No devices were found'" sh -c "[ $rc = 6 ] && grep -qx 'No devices were found' $T/err && [ ! -s $T/out ]"
run --query-gpu=index --format=csv; check "no device: --query-gpu exits 6" [ "$rc" = 6 ]
run --json; check "no device: --json exits 6" [ "$rc" = 6 ]
ZKSMI_SYSFS_ROOT=$T/nowhere "$ZKSMI" >/dev/null 2>&1; check "no PCI sysfs at all: exit 6" [ "$?" = 6 ]

echo "1..$n"
[ "$fails" = 0 ]
