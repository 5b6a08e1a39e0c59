#!/bin/sh
# zk-serve benchmarks (make bench runs this in the VM; POSIX sh, root):
#   1. load test: 1, 4 and 16 concurrent streaming clients (server batch 16):
#      throughput, p50/p99 TTFT and TPOT ("BENCH {json}" lines, and
#      "LOAD clients,tok_s,req_s,ttft_p50,ttft_p99,tpot_p50,tpot_p99" CSV)
#   2. batch size x power cap sweep: for caps of 100/70/40 % of TDP and
#      batches 1..16, the modelled card's tokens/s and J/token
#      ("SWEEP batch,cap_w,host_tok_s,card_tok_s,j_per_token,card_w" lines;
#      tools/bench.sh turns them into build/bench/serve_sweep.csv + SVG charts)
B=/zk/bin
M=/zk/models
PORT=8012
MAXTOK=${SERVE_BENCH_TOKENS:-32}
start() {
    "$B/zk-serve" "$M/tiny.bin" -t "$M/tokenizer.bin" --port $PORT --max-queue 256 "$@" \
        > /tmp/zks-bench.log 2>&1 &
    PID=$!
    i=0
    while [ $i -lt 600 ]; do
        "$B/zk-serve-client" -p $PORT get /health > /dev/null 2>&1 && return 0
        kill -0 $PID 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    cat /tmp/zks-bench.log
    return 1
}
stop() { kill -TERM $PID; wait $PID; }

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
[ -x "$B/zk-serve" ] && [ -f "$M/tiny.bin" ] || { echo "bench_serve: zk-serve or model missing"; exit 0; }

start --max-batch 16 || exit 1
echo "LOAD clients,tokens_per_s,requests_per_s,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms"
for c in 1 4 16; do
    "$B/zk-serve-client" -p $PORT load $c $((2 * c)) "$MAXTOK"
done
stop

cap=$(ls /sys/bus/pci/drivers/zhikai/*/hwmon/hwmon*/power1_cap 2>/dev/null | head -1)
[ -n "$cap" ] || { echo "bench_serve: no hwmon power1_cap, no sweep"; exit 0; }
tdp=$(cat "$cap")       # microwatts; the cap starts at TDP
echo "SWEEP batch,cap_w,host_tokens_per_s,card_tokens_per_s,card_j_per_token,card_w"
for pct in 100 70 40; do
    uw=$((tdp / 100 * pct))
    echo "$uw" > "$cap"
    for b in 1 2 4 8 16; do
        start --max-batch $b || continue
        "$B/zk-serve-client" -p $PORT sweep-point $b "$((uw / 1000000))" "$MAXTOK" | grep '^SWEEP'
        stop
    done
done
echo "$tdp" > "$cap"
