#!/bin/bash
# `make bench`: runs every benchmark (host and in-VM), prints one table of
# ratios and writes it all to build/bench.json (tools/zk-benchjson.c, json-c).
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

for d in qemu-device runtime runtime/cublas tools; do
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
make -s -C tools "$B/bin/zk-benchjson" >/dev/null || { echo "bench: zk-benchjson failed to build" >&2; exit 1; }
J="$B/bin/zk-benchjson"
"$J" collect "$vmlog" "$B/bench-vm.json" || echo "bench: some BENCH lines were not JSON" >&2
# zk-serve (tests/serve/bench_serve.sh): load test and batch x power-cap sweep
# as CSV, drawn as SVG charts under build/bench/ (linked from the README).
mkdir -p "$B/bench"
sed -n 's/^LOAD //p' "$vmlog" | tr -d '\r' > "$B/bench/serve_load.csv"
sed -n 's/^SWEEP //p' "$vmlog" | tr -d '\r' > "$B/bench/serve_sweep.csv"
tools/plot-serve.sh "$B/bench" || echo "bench: zk-serve charts failed" >&2
rm -f "$vmlog"

# zk-llm vs llama.cpp on the same weights (issue 19): needs a llama.cpp build
# in LLAMA_CPP_DIR (default /var/cache/llamacpp/src/build/bin), else a skip.
tools/bench-llamacpp.sh || echo "bench: llama.cpp side-by-side failed" >&2

# Records that are not in the convention ({"name": {"metric": value, ...}},
# e.g. bench-engine.json) become one record per metric.
for f in "$B"/bench-*.json; do
    "$J" normalize "$f" || echo "bench: $f is not JSON" >&2
done

# Joins of in-VM results with native host baselines (bench_llm_host):
# card decode tokens/s vs the CPU reference natively on the host, vs the
# memory roofline at host memcpy speed, and the runtime's DMA vs host memcpy.
if [ -s "$B/bench-llm-host.json" ]; then
    "$J" join "$B/bench-vm.json" "$B/bench-llm-host.json" "$B/bench-join.json" ||
        { echo "bench: joining host baselines failed" >&2; rm -f "$B/bench-join.json"; }
fi

"$J" merge "$B/bench.json" \
    "$(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
    "$B"/bench-*.json
echo
"$J" table "$B/bench.json"
echo "written: build/bench.json"
