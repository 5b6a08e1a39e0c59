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
