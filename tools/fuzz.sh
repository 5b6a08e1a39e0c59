#!/bin/bash
# `make fuzz`: the long fuzz and reliability runs, one "N passed, N failed" line.
#   1. libFuzzer: the ISA decoder/engine (build/fuzz/fuzz_isa), the engine's
#      tensor/memory operands at full width (build/fuzz/fuzz_engine, issue 14),
#      the object loader (build/fuzz/fuzz_obj), the GGUF reader + tokenizer
#      (build/fuzz/fuzz_gguf) and zk-serve's request parser
#      (build/fuzz/fuzz_serve_req), FUZZ_SECS each (default 300; the engine
#      fuzzer FUZZ_ENGINE_SECS, default 900)
#   2. in the VM: tests/vm/run-reliability.sh long: 50 hang recoveries, the
#      ioctl fuzzer to >= 1,000,000 calls (4 unprivileged processes) plus a
#      run with hangs allowed, 20 unbind/rebind cycles with a busy client
#   3. a VM whose card never reaches READY (inject-boot-hang=on)
#   4. QEMU device_del (PCIe hot-unplug) of the card while a client is busy
#   ZK_FUZZ_DEBUG=1: also run 2. on the KASAN/lockdep/kmemleak kernel
#   (tools/vm-run.sh --debug-kernel), if it is built or can be.
#   FUZZ_ONLY="isa engine obj gguf serve vm boothang unplug debug": pick parts.
set -o pipefail
REPO=$(realpath "$(dirname "$0")/..")
cd "$REPO" || exit 1
SECS=${FUZZ_SECS:-300}
ONLY=${FUZZ_ONLY:-"isa engine obj gguf serve vm boothang unplug"}
[ "${ZK_FUZZ_DEBUG:-0}" = 1 ] && ONLY="$ONLY debug"
VM="$REPO/tools/vm-run.sh"
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

libfuzz() {  # name binary corpus-dir [seed-dir...]
    local name=$1 bin=$2 corpus=$3 log
    shift 3
    if [ ! -x "$bin" ]; then echo "not ok - $name: $bin not built (clang with libFuzzer?)"; return; fi
    mkdir -p "$corpus"
    log=$(mktemp)
    if "$bin" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=2048 \
            -artifact_prefix="$REPO/build/fuzz/$name-" "$corpus" "$@" >"$log" 2>&1; then
        echo "ok - $name: ${SECS}s libFuzzer run, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions, no crash"
    else
        echo "not ok - $name: libFuzzer found a crash (artifacts in build/fuzz/$name-*)"
        tail -40 "$log" | sed 's/^/# /'
    fi
    rm -f "$log"
}

# QEMU device_del of a card with a busy client: the card sits behind a
# pcie-root-port, QMP on a unix socket; the guest prints ZK-UNPLUG-NOW when
# its client is busy, then we unplug (the guest's pciehp takes ~5 s).
unplug_test() {
    local sock log pid i
    sock=$(mktemp -u /tmp/zk-qmp.XXXXXX)
    log=$(mktemp)
    "$VM" --cards 0 --timeout 240 --qemu-opt -qmp --qemu-opt "unix:$sock,server=on,wait=off" \
        --qemu-opt -device --qemu-opt "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1" \
        --qemu-opt -device --qemu-opt "zhikai,id=zk0,bus=rp0,hbm-size=1G" \
        -- 'cd /zk/vm-tests && ./zk_reliab unplug; r=$?; sleep 1
            if dmesg | grep -qE "WARNING:|BUG:|Oops|general protection|KASAN|Call Trace"; then
                echo "not ok - unplug: kernel log has WARN/BUG/Oops"; dmesg | tail -40 | sed "s/^/# /"
            else echo "ok - unplug: kernel log clean"; fi
            if rmmod zhikai; then echo "ok - unplug: rmmod zhikai afterwards"; else echo "not ok - unplug: rmmod"; fi
            exit $r' >"$log" 2>&1 &
    pid=$!
    for i in $(seq 1 240); do
        grep -q '^ZK-UNPLUG-NOW' "$log" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if grep -q '^ZK-UNPLUG-NOW' "$log"; then
        python3 - "$sock" <<'PY' || echo "not ok - unplug: QMP device_del failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline()
for cmd in ({"execute": "qmp_capabilities"}, {"execute": "device_del", "arguments": {"id": "zk0"}}):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r:
        print("# QMP:", r); sys.exit(1)
PY
    fi
    wait "$pid" || echo "not ok - unplug VM exited $?"
    grep -v '^ZK-UNPLUG-NOW' "$log"
    rm -f "$log" "$sock"
}

{
    if want unplug; then
        echo "# QEMU device_del with a busy client"
        unplug_test
    fi
    if want isa || want engine || want obj || want gguf || want serve; then
        # libFuzzer needs clang and its runtime; only `make fuzz` wants them.
        if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
            apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends clang libclang-rt-14-dev >/dev/null ||
                echo "# could not install clang/libclang-rt-14-dev"
        fi
        # The files, not the 'fuzz' goals: tools/Makefile's recipe-less 'fuzz'
        # would let make's built-in %: %.sh rule copy this script to tools/fuzz.
        make -s -C qemu-device "$REPO/build/fuzz/fuzz_isa" >/dev/null 2>&1 || echo "# fuzz_isa build failed"
        make -s -C qemu-device "$REPO/build/fuzz/fuzz_engine" >/dev/null 2>&1 || echo "# fuzz_engine build failed"
        make -s -C tools "$REPO/build/fuzz/fuzz_obj" >/dev/null 2>&1 || echo "# fuzz_obj build failed"
        make -s -C runtime "$REPO/build/fuzz/fuzz_gguf" >/dev/null 2>&1 || echo "# fuzz_gguf build failed"
        make -s -C runtime/serve "$REPO/build/fuzz/fuzz_serve_req" >/dev/null 2>&1 || echo "# fuzz_serve_req build failed"
    fi
    want isa && libfuzz fuzz_isa build/fuzz/fuzz_isa build/fuzz/corpus-isa
    # The engine fuzzer runs longer (~2,300 exec/s): millions of executions.
    want engine && SECS=${FUZZ_ENGINE_SECS:-900} libfuzz fuzz_engine build/fuzz/fuzz_engine \
        build/fuzz/corpus-engine tests/fuzz/corpus/engine
    want obj && libfuzz fuzz_obj build/fuzz/fuzz_obj build/fuzz/corpus-obj tests/fuzz/corpus/obj
    want gguf && libfuzz fuzz_gguf build/fuzz/fuzz_gguf build/fuzz/corpus-gguf tests/fuzz/corpus/gguf
    want serve && libfuzz fuzz_serve_req build/fuzz/fuzz_serve_req build/fuzz/corpus-serve tests/fuzz/corpus/serve_req

    if want vm; then
        echo "# in-VM reliability suite, long mode"
        "$VM" --hbm 2G --timeout 3600 -- 'sh /zk/vm-tests/run-reliability.sh long' ||
            echo "not ok - in-VM reliability suite (long) exited $?"
    fi
    if want boothang; then
        echo "# card with a firmware that never reaches READY"
        "$VM" --dev-opt ,inject-boot-hang=on --timeout 300 -- 'sh /zk/vm-tests/zk_reliab_boothang.sh' ||
            echo "not ok - boot-hang VM exited $?"
    fi
    if want debug; then
        echo "# in-VM reliability suite on the debug kernel (KASAN, lockdep, kmemleak)"
        if make -s kmod-debug >/dev/null 2>&1; then
            "$VM" --debug-kernel --hbm 2G --timeout 5400 -- \
                'sh /zk/vm-tests/run-reliability.sh long; r=$?; sh /zk/share/run-vm-tests.sh 2G >/dev/null 2>&1; \
                 if dmesg | grep -qE "KASAN|UBSAN|circular locking|possible recursive|BUG:|WARNING:"; then \
                   echo "not ok - debug kernel: sanitizer/lockdep report"; dmesg | grep -E -A20 "KASAN|UBSAN|circular locking|possible recursive|BUG:|WARNING:" | head -80 | sed "s/^/# /"; \
                 else echo "ok - debug kernel: no KASAN/lockdep/BUG reports"; fi; exit $r' ||
                echo "not ok - in-VM reliability suite (debug kernel) exited $?"
        else
            echo "not ok - debug kernel / kmod-debug not available (make kmod-debug)"
        fi
    fi
} 2>&1 | tools/tap-summary
