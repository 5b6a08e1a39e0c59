#!/bin/bash
# Fetches the Debian kernel image matching the installed linux-headers-amd64 and
# unpacks it into the cache; prints the kernel release (tools/kernel-release.sh decides which).
set -euo pipefail
CACHE=${ZK_CACHE:-/var/cache/zhikai}
KREL=$("$(dirname "$0")/kernel-release.sh")
[ -n "$KREL" ] || { echo "guest-kernel: no linux-headers-*-amd64 installed" >&2; exit 1; }
dir=$CACHE/guest/$KREL
if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && apt-get download "linux-image-$KREL" >/dev/null 2>&1 || true)
    deb=$(ls "$dir"/linux-image-"$KREL"_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || { echo "guest-kernel: could not download linux-image-$KREL" >&2; exit 1; }
    dpkg-deb -x "$deb" "$dir/root"
    rm -f "$deb"
    # Pre-decompress the kernel: QEMU boots the ELF through PVH, which saves the
    # guest's own decompression (~3 s per boot under TCG).
    bz=$dir/root/boot/vmlinuz-$KREL
    off=$(grep -abo $'\xfd\x37\x7a\x58\x5a\x00' "$bz" | head -1 | cut -d: -f1 || true)
    if [ -n "$off" ] && tail -c +$((off + 1)) "$bz" | xz -dc > "$dir/vmlinux" 2>/dev/null ||
       file "$dir/vmlinux" | grep -q ELF; then :; else rm -f "$dir/vmlinux"; fi
    touch "$dir/.done"
fi
echo "$KREL"
