#!/bin/bash
# Unpacks Debian's newest 6.12 kernel headers (+ their -common part and
# linux-kbuild) into $ZK_CACHE/kheaders-6.12 for the DRM-accel build of the
# driver, without installing anything on the host: the linux-headers-6.12
# packages depend on a linux-image, which would change what the host boots.
# Prints the headers directory (KDIR).
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
dir=$CACHE/kheaders-6.12
meta=linux-headers-6.12-amd64
pkg=$(apt-cache depends "$meta" 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-headers-6\.12\.[^ ]*-amd64\)$/\1/p' | head -1)
[ -n "$pkg" ] || { echo "kheaders-612: apt knows no $meta (apt-get update?)" >&2; exit 1; }
rel=${pkg#linux-headers-}
if [ ! -f "$dir/.done-$rel" ]; then
    mkdir -p "$CACHE"; exec 9>"$CACHE/kheaders-6.12.lock"; flock 9
    if [ ! -f "$dir/.done-$rel" ]; then
        rm -rf "$dir"; mkdir -p "$dir/dl"
        common=linux-headers-${rel%-amd64}-common
        kbuild=linux-kbuild-${rel%-amd64}
        (cd "$dir/dl" && apt-get download "$pkg" "$common" "$kbuild" >/dev/null 2>&1) ||
            { echo "kheaders-612: apt-get download $pkg $common $kbuild failed" >&2; exit 1; }
        for d in "$dir"/dl/*.deb; do dpkg-deb -x "$d" "$dir/root"; done
        rm -rf "$dir/dl"
        # The arch Makefile includes the -common one by its absolute /usr/src path.
        sed -i "s|/usr/src/|$dir/root/usr/src/|g" "$dir/root/usr/src/$pkg/Makefile"
        touch "$dir/.done-$rel"
    fi
fi
ZK_CACHE=$CACHE "$REPO/tools/kernel-release.sh" --kdir-612
