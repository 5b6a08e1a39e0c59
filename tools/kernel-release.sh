#!/bin/bash
# The one place that works out which kernel the driver is built for, so no
# Makefile, script or test ever writes a kernel version down (a Debian point
# release then never breaks the build).
#   kernel-release.sh            release of the guest kernel: the newest
#                                linux-headers-<x.y.z-N>-amd64 installed (Debian's
#                                6.1 line, what linux-headers-amd64 pulls in)
#   kernel-release.sh --kdir     its headers directory (KDIR for kbuild)
#   kernel-release.sh --kdir-612 the 6.12 headers unpacked into the cache by
#                                tools/kheaders-612.sh (empty if not there yet)
# ZK_KREL overrides the release; ZK_USR_SRC (default /usr/src) is where headers
# are looked for (tests point it at a fake tree).
set -euo pipefail
SRC=${ZK_USR_SRC:-/usr/src}
CACHE=${ZK_CACHE:-/var/cache/zhikai}

release() {
    if [ -n "${ZK_KREL:-}" ]; then echo "$ZK_KREL"; return; fi
    ls "$SRC" 2>/dev/null | sed -n 's/^linux-headers-\([0-9.]*-[0-9]*-amd64\)$/\1/p' | sort -V | tail -1
}

case "${1:-}" in
    "") release ;;
    --kdir)
        r=$(release)
        [ -n "$r" ] && echo "$SRC/linux-headers-$r" ;;
    --kdir-612)
        ls -d "$CACHE"/kheaders-6.12/root/usr/src/linux-headers-6.12.* 2>/dev/null |
            grep -E '/linux-headers-6\.12\.[0-9]+(\+[a-z0-9]+)?-amd64$' | sort -V | tail -1 || true ;;
    *) echo "usage: kernel-release.sh [--kdir|--kdir-612]" >&2; exit 2 ;;
esac
