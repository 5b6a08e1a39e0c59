#!/bin/bash
# Installs every Debian package the build, the VM and the tests need (idempotent).
set -euo pipefail
STAMP=${ZK_CACHE:-/var/cache/zhikai}/deps-v4.stamp
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
$APT install -y -q --no-install-recommends \
    build-essential pkg-config git xz-utils bzip2 cpio gzip ca-certificates \
    ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev flex bison \
    python3 python3-venv python3-setuptools seabios busybox-static \
    linux-headers-amd64 kmod \
    libdrm-dev libpci-dev pciutils libelf-dev libcmocka-dev libopenblas-dev \
    sparse dwarves jq file man-db groff-base \
    libmicrohttpd-dev libjson-c-dev curl
# Kernel checks (tools/check-kernel.sh): the 6.1 source tarball for
# scripts/checkpatch.pl. Debian's 6.12 headers for the accel-node build are not
# installed (their meta-package pulls a linux-image into the host's boot):
# tools/kheaders-612.sh unpacks them into the cache.
$APT install -y -q --no-install-recommends linux-source-6.1 perl
$APT install -y -q --no-install-recommends -t bookworm-backports \
    meson python3-pycotap qemu-system-data
mkdir -p "$(dirname "$STAMP")"
touch "$STAMP"
