#!/bin/sh
# In-VM tests of zk-serve (issue 20), TAP on stdout.  POSIX sh (busybox); root.
#   1. zk-serve on the tiny model: routes, malformed requests and broken HTTP,
#      chat streaming, stop strings, 32 concurrent streaming clients whose
#      greedy answers equal each prompt run alone, /metrics counts equal to what
#      the clients saw, clients hanging up mid-stream (cancelled, KV blocks
#      freed); SIGTERM -> clean exit with all card memory returned and, with
#      the ASan build (zk-serve-asan), no leak or memory error on the host.
#   2. A restart with a 2+2 queue: concurrent requests beyond it get 429.
#   3. With several cards (run in the multi-card VM): requests spread over all.
# usage: run-serve.sh [multicard]
B=/zk/bin
M=/zk/models
PORT=8011
n=0 fails=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
# The client's TAP, renumbered into ours; its exit status must be 0 too.
client() {
    "$B/zk-serve-client" -p $PORT "$@" > /tmp/zks-client.out 2>&1
    st=$?
    while IFS= read -r l; do
        case "$l" in
        "ok "*) n=$((n + 1)); echo "ok $n ${l#ok [0-9]* }";;
        "not ok "*) n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n ${l#not ok [0-9]* }";;
        1..*) ;;
        *) echo "# $l";;
        esac
    done < /tmp/zks-client.out
    t $st "zk-serve-client $1 exited $st"
}
# The ASan/UBSan build when there is one: leaks and memory errors fail the run.
SERVE=/zk/vm-tests/zk-serve-asan
[ -x "$SERVE" ] || SERVE=$B/zk-serve
export ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
start() {
    "$SERVE" "$M/tiny.bin" -t "$M/tokenizer.bin" --port $PORT --price-kwh 0.30 "$@" \
        > /tmp/zks-server.log 2>&1 &
    PID=$!
    i=0
    while [ $i -lt 600 ]; do
        "$B/zk-serve-client" -p $PORT get /health > /dev/null 2>&1 && return 0
        kill -0 $PID 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
stop() {
    kill -TERM $PID
    wait $PID
    st=$?
    sed 's/^/# server: /' /tmp/zks-server.log
    [ $st = 0 ] && grep -q 'card memory all returned' /tmp/zks-server.log
}

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
[ -x "$B/zk-serve" ] && [ -f "$M/tiny.bin" ] || { echo "not ok 1 - zk-serve or the tiny model missing"; exit 1; }

if [ "$1" = multicard ]; then
    cards=$(ls -d /sys/bus/pci/drivers/zhikai/0000:* 2>/dev/null | wc -l)
    start --max-batch 4; t $? "zk-serve starts on $cards cards"
    client multicard "$cards"
    stop; t $? "SIGTERM: zk-serve exits 0, every card's memory returned"
    [ $fails = 0 ]; exit $?
fi

start --max-batch 8 --max-queue 64; t $? "zk-serve starts (batch 8, queue 64)"
client test
stop; t $? "SIGTERM: zk-serve exits 0, card memory all returned"

# The same model as GGUF (f32, tokenizer inside, no -t) next to the llama2.c
# one: the same greedy answers.
start --max-batch 8; t $? "zk-serve (llama2.c tiny model) starts again"
if [ -f "$M/serve/tiny.gguf" ]; then
    "$SERVE" "$M/serve/tiny.gguf" --port 8013 --model-name tiny-gguf > /tmp/zks-gguf.log 2>&1 &
    GPID=$!
    i=0
    until "$B/zk-serve-client" -p 8013 get /health > /dev/null 2>&1; do
        i=$((i + 1)); { [ $i -lt 600 ] && kill -0 $GPID 2>/dev/null; } || break; sleep 0.1
    done
    client same-answer 8013 "Once upon a time there was a little" 16
    "$B/zk-serve-client" -p 8013 get /v1/models | grep -q '"tiny-gguf"'; t $? "GGUF model listed as tiny-gguf"
    kill -TERM $GPID; wait $GPID; st=$?
    sed 's/^/# gguf server: /' /tmp/zks-gguf.log
    [ $st = 0 ] && grep -q 'card memory all returned' /tmp/zks-gguf.log; t $? "GGUF server: SIGTERM, exit 0, memory returned"
else
    t 1 "GGUF test model missing ($M/serve/tiny.gguf)"
fi
stop; t $? "llama2.c server: SIGTERM, exit 0, memory returned"

# Restart (the card's memory must have come back for it to start again):
# 2 running + 2 waiting, the rest 429.
start --max-batch 2 --max-queue 2; t $? "zk-serve restarts (batch 2, queue 2)"
client overflow 12
stop; t $? "SIGTERM again: exits 0, card memory all returned"
[ $fails = 0 ]
