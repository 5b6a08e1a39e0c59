#!/bin/sh
# test_zksmi.sh - zksmi in the test VM against the real card and driver.  TAP.
# Run by tests/run-vm-tests.sh (copied to build/vm-tests/ by tools/Makefile).
# Also meaningful with `tools/vm-run.sh --no-load`: then it checks what zksmi
# shows without the driver.  JSON is checked with zk-jsoncheck (no jq here).
PATH=/zk/bin:/zk/vm-tests:$PATH
JC=$(command -v zk-jsoncheck || echo /zk/vm-tests/zk-jsoncheck)
T=$(mktemp -d /tmp/zksmi.XXXXXX)
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else nok "$name"; return 1; fi; }
run() { zksmi "$@" >"$T/out" 2>"$T/err"; rc=$?; }
show() { sed 's/^/# /' "$T/out" "$T/err" | head -${1:-20}; }

cards=$(ls -d /sys/bus/pci/devices/* | while read -r d; do
    [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x5a4b ] && basename "$d"; done | sort)
ncards=$(echo "$cards" | grep -c .)
B=$(echo "$cards" | head -1)
S=/sys/bus/pci/devices/$B
echo "# cards: $(echo $cards)"

run -L
check "zksmi -L lists every zhikai card ($ncards)" sh -c "[ $rc = 0 ] && [ \$(grep -c '^Device [0-9]*: Zhikai ZK100 (PCI ' $T/out) = $ncards ] && grep -q '$B' $T/out"

if [ ! -e "$S/driver" ]; then
    # --- driver not loaded ---------------------------------------------------------
    run; check "no driver: table says driver not loaded, exit 0" sh -c "[ $rc = 0 ] && grep -q '$B.*driver not loaded' $T/out"
    run --query-gpu=pci.bus_id,driver.loaded,memory.used --format=csv,noheader -i 0
    check "no driver: CSV has the bus id, N/A elsewhere" grep -qx "$B, No, N/A" "$T/out" || show
    run --json; check "no driver: JSON valid" "$JC" "$T/out"
    run cdi generate; check "no driver: cdi generate exits 9" [ "$rc" = 9 ]
    echo "1..$n"; rm -rf "$T"; [ "$fails" = 0 ]; exit
fi

# --- table, -q -------------------------------------------------------------------
run; check "table: exit 0, card $B listed with its firmware" sh -c "[ $rc = 0 ] && grep -q '$B | $(cat $S/fw_version)' $T/out" || show 30
run -q; check "-q: detailed view" sh -c "[ $rc = 0 ] && grep -q 'Attached Devices *: $ncards' $T/out && grep -q 'Driver *: zhikai (loaded)' $T/out"
check "-q: max engine clock from the driver" sh -c "grep 'Max Engine' $T/out | grep -q 'MHz'"

# --- CSV fields match sysfs ---------------------------------------------------------
H=$(ls -d $S/hwmon/hwmon* | head -1)
run -i 0 --query-gpu=pci.bus_id,firmware_version,memory.total,reset_count,ras.ce,ras.ue,power.limit,power.max_limit,queues --format=csv,noheader,nounits
want=$(awk -v b="$B" -v fw="$(cat $S/fw_version)" -v tot="$(cat $S/hbm_total_bytes)" -v rs="$(cat $S/reset_count)" \
    -v ce="$(cat $S/ras_ce_count)" -v ue="$(cat $S/ras_ue_count)" -v cap="$(cat $H/power1_cap)" \
    -v mx="$(cat $H/power1_cap_max)" -v q="$(cat $S/num_queues)" \
    'BEGIN { printf "%s, %s, %d, %s, %s, %s, %.2f, %.2f, %s\n", b, fw, tot / 1048576, rs, ce, ue, cap / 1e6, mx / 1e6, q }')
if [ "$rc" = 0 ] && [ "$(cat $T/out)" = "$want" ]; then ok "CSV fields match sysfs/hwmon"; else nok "CSV fields match sysfs/hwmon"; echo "# want: $want"; show; fi
run -i 0 --query-gpu=memory.used,memory.total,memory.free,utilization.gpu,temperature.gpu,power.draw,clocks.sm,clocks.max.sm,energy --format=csv,noheader,nounits
check "CSV telemetry: numbers, used + free = total, clock <= max" awk -F', ' '
    { for (i = 1; i <= NF; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/) exit 1
      if ($1 + $3 != $2 || $4 > 100 || $7 > $8 || $8 == 0) exit 1; ok = 1 } END { exit !ok }' "$T/out" || show
run --query-gpu=index,pci.bus_id --format=csv
check "CSV: header + one row per card" sh -c "[ \"\$(head -1 $T/out)\" = 'index, pci.bus_id' ] && [ \$(wc -l < $T/out) = $((ncards + 1)) ]"

# --- JSON --------------------------------------------------------------------------
run --json
check "--json: valid JSON (zk-jsoncheck)" sh -c "[ $rc = 0 ] && $JC $T/out" || show
check "--json: count and bus id" sh -c "grep -q '\"count\": $ncards,' $T/out && grep -q '\"pci.bus_id\": \"$B\"' $T/out"
run --json --query-gpu=index,memory.used -l 0.1 -c 2
check "--json loop: valid documents" sh -c "[ $rc = 0 ] && [ \$(grep -c zksmi_version $T/out) = 2 ]"
run -l 0.1 -c 3 --query-gpu=index --format=csv,noheader
check "-l 0.1 -c 3: three reports" [ "$(grep -c . "$T/out")" = $((3 * ncards)) ]

# --- processes -----------------------------------------------------------------------
node=$(zksmi -i 0 --query-gpu=device_node --format=csv,noheader)
sh -c 'exec sleep 30' 3<"$node" &
holder=$!
sleep 1
run -i 0 --json
# JSON layout (pretty-printed, spacing) is json-c's: compare without white space.
tr -d ' \n' < "$T/out" > "$T/out.min"
check "a process holding $node is listed (pid $holder)" grep -q "\"pid\":$holder,\"name\":\"sleep\",\"node\":\"$node\"" "$T/out.min" || show 40
run; check "table shows the process" grep -q " $holder .*sleep" "$T/out"
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# --- -i ---------------------------------------------------------------------------------
run -i 99; check "-i 99 (no such card): exit 2 + message" sh -c "[ $rc = 2 ] && grep -q 'no device with id' $T/err"
run -i "$B" --query-gpu=index --format=csv,noheader; check "-i by bus id" [ "$(cat "$T/out")" = 0 ]
run --bogus; check "bad option: usage, exit 2" sh -c "[ $rc = 2 ] && grep -q '^usage: zksmi' $T/err"

# --- --power-limit ----------------------------------------------------------------------
old=$(cat $H/power1_cap)
new=$(awk -v a="$(cat $H/power1_cap_min)" -v b="$(cat $H/power1_cap_max)" 'BEGIN { printf "%d", (a + b) / 2 / 1e6 }')
[ "$((new * 1000000))" = "$old" ] && new=$((new + 1))
runas "zksmi -i 0 --power-limit=$new" >"$T/out" 2>"$T/err"; rc=$?
check "--power-limit as uid 1000: exit 4, power1_cap unchanged" sh -c "[ $rc = 4 ] && [ \$(cat $H/power1_cap) = $old ]" || show
runas "zksmi -L" >"$T/out" 2>&1; check "uid 1000 can list the cards" grep -q "$B" "$T/out"
run -i 0 --power-limit=$new
check "--power-limit $new as root: power1_cap = $((new * 1000000))" sh -c "[ $rc = 0 ] && [ \$(cat $H/power1_cap) = $((new * 1000000)) ]" || show
run -i 0 --query-gpu=power.limit --format=csv,noheader; check "power.limit reads back $new.00 W" [ "$(cat "$T/out")" = "$new.00 W" ]
run -i 0 --power-limit=100000; check "--power-limit above max: exit 2, unchanged" sh -c "[ $rc = 2 ] && [ \$(cat $H/power1_cap) = $((new * 1000000)) ]"
echo "$old" > $H/power1_cap

# --- CDI --------------------------------------------------------------------------------
run cdi generate
check "cdi generate: valid JSON" sh -c "[ $rc = 0 ] && $JC $T/out" || show
check "cdi names the device node $node" grep -q "\"path\": \"$node\"" "$T/out"
check "cdi: kind zhikai.io/card, devices 0 and all" sh -c "grep -q '\"kind\": \"zhikai.io/card\"' $T/out && grep -q '\"name\": \"0\"' $T/out && grep -q '\"name\": \"all\"' $T/out"
tr -d ' \n' < "$T/out" > "$T/out.min"
check "cdi: char device major/minor" grep -q "\"path\":\"$node\",\"type\":\"c\",\"major\":[0-9]*,\"minor\":[0-9]*" "$T/out.min"

# --- --reset (last: it disturbs the card) ---------------------------------------------------
runas "zksmi -i 0 --reset=engine" >/dev/null 2>&1; check "--reset as uid 1000: exit 4" [ "$?" = 4 ]
before=$(cat $S/reset_count)
run -i 0 --reset=engine
check "--reset=engine: exit 0, reset_count $before -> $((before + 1))" sh -c "[ $rc = 0 ] && [ \$(cat $S/reset_count) = $((before + 1)) ]" || show
run -i 0 --query-gpu=reset_count --format=csv,noheader; check "reset_count field follows" [ "$(cat "$T/out")" = $((before + 1)) ]

rm -rf "$T"
echo "1..$n"
[ "$fails" = 0 ]
