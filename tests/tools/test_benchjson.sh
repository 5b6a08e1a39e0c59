#!/bin/sh
# Host test of tools/zk-benchjson (build/bench.json on json-c): each
# subcommand on small fixtures, results checked with jq.  TAP.
# usage: BENCHJSON=build/host-tests/zk-benchjson sh test_benchjson.sh
J=${BENCHJSON:?set BENCHJSON}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fails=0
check() {
    d=$1; shift
    n=$((n + 1))
    if "$@" > /dev/null 2>&1; then echo "ok $n - benchjson: $d"; else echo "not ok $n - benchjson: $d"; fails=$((fails + 1)); fi
}
cat > "$T/vm.log" <<'LOG'
boot noise
BENCH {"bench":"llm","metric":"decode tok/s b1 (card)","value":200,"unit":"tok/s","weight_bytes":1000000}
BENCH {"bench":"llm","metric":"decode tok/s b8 (card)","value":800,"unit":"tok/s"}
BENCH {"bench":"runtime","metric":"H2D pinned 64 MiB","value":12.5,"unit":"GB/s"}
BENCH {"bench":"runtime","metric":"null job","value":110,"unit":"us"}
BENCH {"bench":"serve_load_c4","metric":"ttft_p50","value":60.7,"unit":"ms"}
LOG
printf 'BENCH {"bench": broken\r\n' > "$T/bad.log"
check "collect: 5 records from BENCH lines" sh -c "'$J' collect '$T/vm.log' '$T/bench-vm.json' && jq -e 'length == 5 and .[4].bench == \"serve_load_c4\"' '$T/bench-vm.json'"
check "collect: a broken BENCH line fails" sh -c "! '$J' collect '$T/bad.log' '$T/x.json'"
echo '{"engine": {"matmul ms": 20.2, "int8 ms": 51.5}}' > "$T/bench-engine.json"
check "normalize: {name: {metric: v}} -> records" sh -c "'$J' normalize '$T/bench-engine.json' && jq -e 'length == 2 and .[0] == {\"bench\":\"engine\",\"metric\":\"matmul ms\",\"value\":20.2}' '$T/bench-engine.json'"
cp "$T/bench-vm.json" "$T/before.json"
check "normalize: records stay as they are" sh -c "'$J' normalize '$T/bench-vm.json' && jq -e --slurpfile b '$T/before.json' '. == \$b[0]' '$T/bench-vm.json'"
echo '[{"bench":"host","metric":"CPU ref decode tok/s (native)","value":50},{"bench":"host","metric":"host memcpy (64 MiB)","value":20,"bytes_per_s":250000000}]' > "$T/bench-llm-host.json"
check "join: b1/b8 vs CPU ref, b1 vs roofline, H2D vs memcpy" sh -c "'$J' join '$T/bench-vm.json' '$T/bench-llm-host.json' '$T/bench-join.json' && jq -e 'length == 4 and .[0].ratio == 4 and .[1].baseline == 250 and .[1].ratio == 0.8 and .[2].ratio == 16 and .[3].metric == \"H2D pinned 64 MiB vs host\" and .[3].ratio == 0.625' '$T/bench-join.json'"
check "merge: date, machine, every record once" sh -c "'$J' merge '$T/bench.json' 'x86_64, 2 cores' '$T'/bench-*.json && jq -e '(.date | test(\"^20[0-9-]+T\")) and .machine == \"x86_64, 2 cores\" and (.results | length) == 13' '$T/bench.json'"
check "table: a header and one line per record" sh -c "[ \$('$J' table '$T/bench.json' | wc -l) = 14 ]"
check "table: ratios to 2 decimals" sh -c "'$J' table '$T/bench.json' | grep -q 'decode tok/s b1 vs host roofline.* 0.80 >= 0.5'"
[ $fails = 0 ]
