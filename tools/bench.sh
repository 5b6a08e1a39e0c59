#!/bin/bash
# `make bench`: runs every benchmark (host and in-VM), prints one table of
# ratios and writes it all to build/bench.json.
#
# Convention: a benchmark writes build/bench-NAME.json (host) or prints lines
# "BENCH {json}" (in the VM); each record is one object
#   {"bench": "...", "metric": "...", "value": N, "unit": "...",
#    "baseline": N, "baseline_name": "...", "ratio": N, "target": "..."}
set -uo pipefail
REPO=$(realpath "$(dirname "$0")/..")
B=$REPO/build
cd "$REPO"
rm -f "$B"/bench-*.json

for d in qemu-device runtime tools; do
    if [ -f $d/Makefile ] && grep -q '^bench:' $d/Makefile; then
        nice make -s -C $d bench || echo "bench: $d failed" >&2
    fi
done

# In-VM benchmarks: one boot.  Host-only benchmarks that live in build/bench/
# (qemu-device's bench_engine: the engine vs OpenBLAS, already run above on
# the host) are skipped in the guest.
vmlog=$(mktemp)
tools/vm-run.sh --timeout 1800 -- '
for b in /zk/bench/*; do
    case "${b##*/}" in bench_engine) continue;; esac
    [ -x "$b" ] && "$b"
done' | tee "$vmlog" || echo "bench: VM run failed" >&2
sed -n 's/^BENCH //p' "$vmlog" | tr -d '\r' | jq -s . > "$B/bench-vm.json" 2>/dev/null || echo '[]' > "$B/bench-vm.json"
# zk-serve (tests/serve/bench_serve.sh): load test and batch x power-cap sweep
# as CSV, drawn as SVG charts under build/bench/ (linked from the README).
mkdir -p "$B/bench"
sed -n 's/^LOAD //p' "$vmlog" | tr -d '\r' > "$B/bench/serve_load.csv"
sed -n 's/^SWEEP //p' "$vmlog" | tr -d '\r' > "$B/bench/serve_sweep.csv"
tools/plot-serve.sh "$B/bench" || echo "bench: zk-serve charts failed" >&2
rm -f "$vmlog"

# Records that are not in the convention ({"name": {"metric": value, ...}},
# e.g. bench-engine.json) become one record per metric.
for f in "$B"/bench-*.json; do
    jq -e 'type == "object" and (has("bench") | not)' "$f" >/dev/null 2>&1 || continue
    jq '[to_entries[] | .key as $b | .value | to_entries[] |
         {bench: $b, metric: .key, value: .value}]' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
done

# Joins of in-VM results with native host baselines (bench_llm_host):
# card decode tokens/s vs the CPU reference natively on the host, vs the
# memory roofline at host memcpy speed, and the runtime's DMA vs host memcpy.
if [ -s "$B/bench-llm-host.json" ]; then
    jq -s '(.[0]) as $vm | (.[1]) as $h |
      ($h[] | select(.metric == "CPU ref decode tok/s (native)")) as $ref |
      ($h[] | select(.metric == "host memcpy (64 MiB)")) as $mc |
      ($vm | map(select(.bench == "llm")) | INDEX(.metric)) as $l |
      ($vm | map(select(.bench == "runtime")) | INDEX(.metric)) as $r |
      [ (if $l["decode tok/s b1 (card)"] then $l["decode tok/s b1 (card)"].value as $v |
          {bench: "llm", metric: "decode tok/s b1 vs native CPU ref", value: $v, unit: "tok/s",
           baseline: $ref.value, baseline_name: "CPU ref native 1T", ratio: ($v / $ref.value),
           target: ">= 1.0"},
          ($mc.bytes_per_s / $l["decode tok/s b1 (card)"].weight_bytes * 1000 | round / 1000) as $roof |
          {bench: "llm", metric: "decode tok/s b1 vs host roofline", value: $v, unit: "tok/s",
           baseline: $roof, baseline_name: "host memcpy roofline", ratio: ($v / $roof),
           target: ">= 0.5"}
        else empty end),
        (if $l["decode tok/s b8 (card)"] then $l["decode tok/s b8 (card)"].value as $v |
          {bench: "llm", metric: "decode tok/s b8 vs native CPU ref", value: $v, unit: "tok/s",
           baseline: $ref.value, baseline_name: "CPU ref native 1T", ratio: ($v / $ref.value)}
        else empty end),
        ($r | to_entries[] | select(.key | test("^(H2D|D2H) pinned")) | .value |
          {bench: "runtime", metric: (.metric + " vs host"), value: .value, unit: "GB/s",
           baseline: $mc.value, baseline_name: "host memcpy", ratio: (.value / $mc.value),
           target: ">= 0.5"})
      ]' "$B/bench-vm.json" "$B/bench-llm-host.json" > "$B/bench-join.json" 2>/dev/null ||
        { echo "bench: joining host baselines failed" >&2; rm -f "$B/bench-join.json"; }
fi

jq -s '{date: (now | todate), machine: $m, results: (map(if type == "array" then .[] else . end))}' \
   --arg m "$(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
   "$B"/bench-*.json > "$B/bench.json"
echo
printf '%-14s %-34s %14s %-8s %14s %-22s %8s %s\n' bench metric value unit baseline "baseline name" ratio target
jq -r '.results[] | [.bench, .metric, (.value|tostring), (.unit // ""), ((.baseline // "")|tostring),
       (.baseline_name // ""), (if .ratio then (.ratio*100|round/100|tostring) else "" end), (.target // "")] | @tsv' \
   "$B/bench.json" | while IFS=$'\t' read -r a b c d e f g h; do
    printf '%-14s %-34s %14.14s %-8s %14.14s %-22s %8s %s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
done
echo "written: build/bench.json"
