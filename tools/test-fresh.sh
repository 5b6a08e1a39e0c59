#!/bin/bash
# Proves the README's two commands from nothing: a brand-new Debian 12 root
# (debootstrap, inside the cache), a clone of this repo's committed HEAD, then
# `make run` and `make test` in it with an empty build cache, ending in the
# same closing line as here.  Not part of `make test` (it builds QEMU and
# everything else from scratch: ~30-45 min on 2 cores).
#   ZK_FRESH_KEEP=1   keep the root afterwards ($ZK_CACHE/fresh/root)
# The chroot shares the host's kernel, /proc, /sys and /dev; it installs its
# packages into itself only.  Needs root and Debian's mirror.
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/..")
CACHE=${ZK_CACHE:-/var/cache/zhikai}
FRESH=$CACHE/fresh
ROOT=$FRESH/root
LOG=$FRESH/log
MIRROR=${ZK_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "test-fresh: run as root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null ||
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap

umount_all() {
    for m in dev/pts dev proc sys; do
        mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
    done
    return 0
}
trap umount_all EXIT
umount_all
rm -rf "$ROOT"; mkdir -p "$FRESH" "$LOG"
echo "test-fresh: debootstrap bookworm into $ROOT"
# What the README asks a user to have first: git and make (and certificates for apt).
debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$ROOT" "$MIRROR" \
    > "$LOG/debootstrap.log" 2>&1 || { tail -20 "$LOG/debootstrap.log"; exit 1; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# A Debian 12 install's usual sources (debootstrap writes only the main suite).
cat > "$ROOT/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"
git clone -q "$REPO" "$ROOT/root/zhikai"
echo "test-fresh: make run, then make test, in the fresh root (logs in $LOG)"
t0=$(date +%s)
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    bash -c 'cd /root/zhikai && make run' > "$LOG/make-run.log" 2>&1 && run_rc=0 || run_rc=$?
t1=$(date +%s)
echo "test-fresh: make run exited $run_rc after $((t1 - t0)) s"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    bash -c 'cd /root/zhikai && make test' > "$LOG/make-test.log" 2>&1 && test_rc=0 || test_rc=$?
t2=$(date +%s)
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/make-test.log" | tail -1 || true)
echo "test-fresh: make test exited $test_rc after $((t2 - t1)) s: ${last:-no closing line}"
# Nothing kernel-shaped was installed into the fresh system's boot.
if ls "$ROOT"/boot/vmlinuz-* >/dev/null 2>&1 || chroot "$ROOT" dpkg -l 'linux-image-*' 2>/dev/null | grep -q '^ii'; then
    echo "test-fresh: FAIL: a linux-image was installed in the fresh root"; test_rc=1
fi
umount_all
[ "${ZK_FRESH_KEEP:-0}" = 1 ] || rm -rf "$ROOT"
echo "${last:-0 passed, 1 failed}"
[ "$run_rc" = 0 ] && [ "$test_rc" = 0 ]
