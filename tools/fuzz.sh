#!/bin/bash
# `make fuzz`: the long fuzz and reliability runs, one "N passed, N failed" line.
#   1. libFuzzer: the ISA decoder/engine (build/fuzz/fuzz_isa) and the object
#      loader (build/fuzz/fuzz_obj), FUZZ_SECS each (default 300)
#   2. in the VM: tests/vm/run-reliability.sh long: 50 hang recoveries, the
#      ioctl fuzzer to >= 1,000,000 calls (4 unprivileged processes) plus a
#      run with hangs allowed, 20 unbind/rebind cycles with a busy client
#   3. a VM whose card never reaches READY (inject-boot-hang=on)
#   ZK_FUZZ_DEBUG=1: also run 2. on the KASAN/lockdep/kmemleak kernel
#   (tools/vm-run.sh --debug-kernel), if it is built or can be.
#   FUZZ_ONLY="isa obj vm boothang debug": pick parts.
set -o pipefail
REPO=$(realpath "$(dirname "$0")/..")
cd "$REPO" || exit 1
SECS=${FUZZ_SECS:-300}
ONLY=${FUZZ_ONLY:-"isa obj vm boothang"}
[ "${ZK_FUZZ_DEBUG:-0}" = 1 ] && ONLY="$ONLY debug"
VM="$REPO/tools/vm-run.sh"
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

libfuzz() {  # name binary corpus-dir
    local name=$1 bin=$2 corpus=$3 log
    if [ ! -x "$bin" ]; then echo "not ok - $name: $bin not built (clang with libFuzzer?)"; return; fi
    mkdir -p "$corpus"
    log=$(mktemp)
    if "$bin" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=2048 \
            -artifact_prefix="$REPO/build/fuzz/$name-" "$corpus" >"$log" 2>&1; then
        echo "ok - $name: ${SECS}s libFuzzer run, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions, no crash"
    else
        echo "not ok - $name: libFuzzer found a crash (artifacts in build/fuzz/$name-*)"
        tail -40 "$log" | sed 's/^/# /'
    fi
    rm -f "$log"
}

{
    if want isa || want obj; then
        make -s -C qemu-device fuzz >/dev/null 2>&1 || echo "# qemu-device fuzz build failed"
        make -s -C tools fuzz >/dev/null 2>&1 || echo "# tools fuzz build failed"
    fi
    want isa && libfuzz fuzz_isa build/fuzz/fuzz_isa build/fuzz/corpus-isa
    want obj && libfuzz fuzz_obj build/fuzz/fuzz_obj build/fuzz/corpus-obj

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
