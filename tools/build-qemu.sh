#!/bin/bash
# Builds qemu-system-x86_64 with the zhikai device, in a build tree kept outside
# the work tree ($ZK_CACHE). Cold: unpack + configure + ~6 min build; warm: only
# the device files are relinked and rebuilt by ninja (~30 s).
# Extra arguments go to ninja: e.g. `tools/build-qemu.sh -j2 tests/qtest/zhikai-test`
# also builds the device's qtest (run it with qemu-device/tests/run-qtest.sh).
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
QVER=10.0.2
TARBALL=$CACHE/dl/qemu_${QVER}+ds.orig.tar.xz
QSRC=$CACHE/qemu-$QVER
QBUILD=$QSRC/build
CONFIG="--python=/usr/bin/python3 --target-list=x86_64-softmmu --disable-docs \
--disable-werror --without-default-features --enable-kvm --disable-download --enable-fdt=system \
--disable-install-blobs --enable-trace-backends=log"

mkdir -p "$CACHE/dl"
# One build at a time in the shared tree.
exec 9>"$CACHE/qemu-build.lock"
flock 9
if [ ! -f "$TARBALL" ]; then
    # apt-get source exits 100 because the backports .dsc is gone; the tarball still arrives.
    (cd "$CACHE/dl" && apt-get source --download-only -t bookworm-backports qemu || true)
    [ -f "$TARBALL" ] || { echo "build-qemu: could not download $TARBALL" >&2; exit 1; }
fi
if [ ! -f "$QSRC/.unpacked" ]; then
    rm -rf "$QSRC"; mkdir -p "$QSRC"
    tar -C "$QSRC" -xf "$TARBALL" --strip-components=1
    # The +ds tarball has no edk2 blobs; don't try to unpack them.
    sed -i 's/^    unpack_edk2_blobs = bzip2.found()$/    unpack_edk2_blobs = false/' "$QSRC/meson.build"
    touch "$QSRC/.unpacked"
fi
"$REPO/qemu-device/install-into-qemu.sh" "$QSRC"
if [ ! -f "$QBUILD/build.ninja" ] || [ "$(cat "$QBUILD/.zk-config" 2>/dev/null)" != "$CONFIG" ]; then
    rm -rf "$QBUILD"; mkdir -p "$QBUILD"
    (cd "$QBUILD" && ../configure $CONFIG)
    echo "$CONFIG" > "$QBUILD/.zk-config"
fi
ninja -C "$QBUILD" qemu-system-x86_64 "$@"
