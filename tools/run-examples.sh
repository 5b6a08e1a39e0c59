#!/bin/sh
# Guest side of `make run`: the examples a new user sees, each checks its result.
set -e
cd /tmp
for ex in zk-info vector-add gemm two-stream; do
    if [ -x "/zk/bin/$ex" ]; then echo "== $ex"; "/zk/bin/$ex"; fi
done
if [ -x /zk/bin/zk-llm ] && [ -f /zk/models/tiny.bin ]; then
    echo "== zk-llm"
    /zk/bin/zk-llm /zk/models/tiny.bin -t /zk/models/tokenizer.bin -n 32 -i "Once upon a time"
fi
# zk-serve (issue 20): the OpenAI-compatible server on the card, a client
# streaming a completion with curl (the VM has it with vm-run.sh --curl), and
# what /metrics reports afterwards.
if [ -x /zk/bin/zk-serve ] && [ -f /zk/models/tiny.bin ]; then
    echo "== zk-serve"
    ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
    /zk/bin/zk-serve /zk/models/tiny.bin -t /zk/models/tokenizer.bin --port 8000 \
        --model-name tiny --price-kwh 0.30 > /tmp/zk-serve.log 2>&1 &
    srv=$!
    i=0
    until /zk/bin/zk-serve-client get /health > /dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { cat /tmp/zk-serve.log; exit 1; }; sleep 0.1
    done
    head -1 /tmp/zk-serve.log
    body='{"model":"tiny","prompt":"Once upon a time","max_tokens":24,"temperature":0,"stream":true}'
    if command -v curl > /dev/null; then
        echo "\$ curl -sN http://127.0.0.1:8000/v1/completions -d '$body'"
        curl -sN http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' -d "$body"
    else
        /zk/bin/zk-serve-client stream "Once upon a time" 24
    fi
    echo "\$ curl -s http://127.0.0.1:8000/metrics | grep -v '^#' (excerpt)"
    /zk/bin/zk-serve-client get /metrics | grep -E '^zkserve_(http_requests_total\{code="200"\}|prompt_tokens|generation_tokens|time_to_first_token_seconds_(sum|count)|num_requests|kv_blocks|card_(joules_per_token|power_watts|energy))'
    kill -TERM $srv
    wait $srv
fi
