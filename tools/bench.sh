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

# In-VM benchmarks: one boot.
vmlog=$(mktemp)
tools/vm-run.sh --timeout 1800 -- '
for b in /zk/bench/*; do [ -x "$b" ] && "$b"; done' | tee "$vmlog" || echo "bench: VM run failed" >&2
sed -n 's/^BENCH //p' "$vmlog" | jq -s . > "$B/bench-vm.json" 2>/dev/null || echo '[]' > "$B/bench-vm.json"
rm -f "$vmlog"

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
