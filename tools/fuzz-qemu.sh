#!/bin/bash
# `make fuzz-qemu`: QEMU's own fuzzer against the zhikai device (issue 14).
# Builds qemu-fuzz-x86_64 (clang, --enable-fuzzing --enable-asan --enable-ubsan)
# in a separate build tree, $ZK_CACHE/qemu-10.0.2/build-fuzz (the device
# sources are linked in by tools/build-qemu.sh's install step), then runs the
# generic-fuzz target on a q35 machine with one card: the fuzzer writes and
# reads its BARs (registers, MSI-X, HBM), answers its DMA from fuzzer data
# and steps the clock.  FUZZ_SECS (default 300); crashers land in
# build/fuzz/qemu-fuzz-* and are meant to become qtest regression cases.
# One "N passed, N failed"-style TAP line.
set -uo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
QSRC=$CACHE/qemu-10.0.2
FBUILD=$QSRC/build-fuzz
SECS=${FUZZ_SECS:-300}
CONFIG="--cc=clang --cxx=clang++ --python=/usr/bin/python3 --target-list=x86_64-softmmu \
--disable-docs --disable-werror --without-default-features --disable-download \
--enable-fdt=system --disable-install-blobs --enable-fuzzing --enable-asan --enable-ubsan"

# The source tree (and the device links) come from the normal build.
"$REPO/tools/build-qemu.sh" >/dev/null || { echo "not ok - fuzz-qemu: tools/build-qemu.sh failed"; exit 0; }
if [ ! -f "$FBUILD/build.ninja" ] || [ "$(cat "$FBUILD/.zk-config" 2>/dev/null)" != "$CONFIG" ]; then
    rm -rf "$FBUILD"; mkdir -p "$FBUILD"
    (cd "$FBUILD" && ../configure $CONFIG) >"$FBUILD.log" 2>&1 ||
        { echo "not ok - fuzz-qemu: configure failed (see $FBUILD.log)"; exit 0; }
    echo "$CONFIG" > "$FBUILD/.zk-config"
fi
nice -n 10 ninja -C "$FBUILD" -j"${FUZZ_JOBS:-2}" qemu-fuzz-x86_64 >>"$FBUILD.log" 2>&1 ||
    { echo "not ok - fuzz-qemu: build failed (see $FBUILD.log)"; exit 0; }

mkdir -p "$REPO/build/fuzz/corpus-qemu"
log=$(mktemp)
export QEMU_FUZZ_ARGS="-M q35 -nic none -nodefaults -L /usr/share/qemu -L /usr/share/seabios -device zhikai,hbm-size=64M,queues=4"
export QEMU_FUZZ_OBJECTS="zhikai*"
# -detect_leaks=0: LeakSanitizer stops at glib's own start-up allocations on
# the first inputs (as in QEMU's oss-fuzz setup); -rss_limit_mb still catches
# a device model that grows without bound.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export QEMU_FUZZ_TIMEOUT=${QEMU_FUZZ_TIMEOUT:-2000000}    # us per input
if "$FBUILD/qemu-fuzz-x86_64" --fuzz-target=generic-fuzz -max_total_time="$SECS" \
        -rss_limit_mb=4096 -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix="$REPO/build/fuzz/qemu-fuzz-" "$REPO/build/fuzz/corpus-qemu" >"$log" 2>&1; then
    echo "ok - fuzz-qemu: ${SECS}s generic-fuzz on the zhikai device, $(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions, no crash"
else
    echo "not ok - fuzz-qemu: generic-fuzz found a crash (build/fuzz/qemu-fuzz-*)"
    tail -40 "$log" | sed 's/^/# /'
fi
rm -f "$log"
