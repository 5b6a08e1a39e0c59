#!/bin/bash
# Checks that every register and command name of the hardware contract
# (ZK_REG_*, ZK_Q_*, ZK_CMD_* in include/zhikai_hw.h) is documented in
# qemu-device/README.md, so the two cannot drift.  Prints TAP.
set -euo pipefail
REPO=$(realpath "$(dirname "$0")/..")
HDR=${1:-$REPO/include/zhikai_hw.h}
DOC=${2:-$REPO/qemu-device/README.md}

mapfile -t names < <(grep -oE '^#define[[:space:]]+ZK_(REG|Q|CMD)_[A-Z0-9_]+' "$HDR" |
                     awk '{print $2}' | sort -u)
[ ${#names[@]} -gt 0 ] || { echo "check-hw-doc: no names found in $HDR" >&2; exit 2; }
echo "1..${#names[@]}"
n=0 fail=0
for name in "${names[@]}"; do
    n=$((n + 1))
    if grep -qw -- "$name" "$DOC"; then
        echo "ok $n - $name documented"
    else
        echo "not ok $n - $name missing from $(basename "$DOC")"
        fail=$((fail + 1))
    fi
done
[ $fail -eq 0 ]
