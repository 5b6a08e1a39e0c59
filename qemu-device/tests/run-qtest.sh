#!/bin/bash
# Builds QEMU with the zhikai device and its qtest, then runs the qtest (TAP).
#   qemu-device/tests/run-qtest.sh [extra zhikai-test args, e.g. -p PATH]
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/../..")
QBUILD=${ZK_CACHE:-/var/cache/zhikai}/qemu-10.0.2/build
if [ -z "${ZK_NO_BUILD:-}" ]; then
    "$REPO/tools/build-qemu.sh" -j2 tests/qtest/zhikai-test >&2
fi
export QTEST_QEMU_BINARY="$QBUILD/qemu-system-x86_64 -L /usr/share/qemu -L /usr/share/seabios -nic none"
exec "$QBUILD/tests/qtest/zhikai-test" --tap "$@"
