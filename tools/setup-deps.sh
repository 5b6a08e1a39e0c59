#!/bin/bash
# Installs every Debian package the build, the VM and the tests need (idempotent).
# What it changes system-wide, and nothing more: the apt packages listed below,
# and (if no bookworm-backports line exists) /etc/apt/sources.list.d/zhikai-backports.sources.
# It never installs a kernel image: kernels and 6.12 headers are unpacked into
# the cache (tools/guest-kernel.sh, tools/kheaders-612.sh).
#   setup-deps.sh          install (skipped once the stamp exists)
#   setup-deps.sh --list   print the packages, one line per apt-get call:
#                          "main: ..." and "backports: ..." (tests check them)
set -euo pipefail
STAMP=${ZK_CACHE:-/var/cache/zhikai}/deps-v5.stamp

# Build, VM and test tools; linux-headers-amd64 = the 6.1 headers the driver is
# built against (tools/kernel-release.sh picks the newest installed), and
# linux-source-6.1 for scripts/checkpatch.pl (tools/check-kernel.sh); clang and
# its libFuzzer runtime (make test runs the fuzzers briefly); clang-14 compiles
# the CUDA test corpus to PTX; zstd/LZ4 for compressed fat binary entries;
# libmicrohttpd + json-c for zk-serve (and curl, its client in make run).
MAIN=(build-essential pkg-config git xz-utils bzip2 cpio gzip ca-certificates
      ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev flex bison
      python3 python3-venv python3-setuptools seabios busybox-static
      linux-headers-amd64 kmod linux-source-6.1 perl
      libdrm-dev libpci-dev pciutils libelf-dev libcmocka-dev libopenblas-dev
      sparse dwarves jq file man-db groff-base
      clang libclang-rt-14-dev clang-14 libzstd-dev liblz4-dev
      libmicrohttpd-dev libjson-c-dev curl)
# QEMU 10's build needs a newer meson; its firmware blobs come from qemu-system-data.
BACKPORTS=(meson python3-pycotap qemu-system-data)

if [ "${1:-}" = --list ]; then
    echo "main: ${MAIN[*]}"
    echo "backports: ${BACKPORTS[*]}"
    exit 0
fi
[ -f "$STAMP" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then echo "setup-deps: run as root (apt-get)" >&2; exit 1; fi

if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/zhikai-backports.sources <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
# Wait for another apt (e.g. unattended-upgrades) instead of failing.
APT="apt-get -o DPkg::Lock::Timeout=600"
$APT update -q
$APT install -y -q --no-install-recommends "${MAIN[@]}"
$APT install -y -q --no-install-recommends -t bookworm-backports "${BACKPORTS[@]}"
mkdir -p "$(dirname "$STAMP")"
touch "$STAMP"
