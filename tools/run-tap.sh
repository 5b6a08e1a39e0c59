#!/bin/sh
# Runs test programs one after another (POSIX sh: host and guest). Their TAP
# lines pass through; a program that exits non-zero without reporting a
# failure adds "not ok - PROG exited N" so a crash is never a silent pass.
# usage: run-tap.sh PROG [PROG...]   (a PROG may carry arguments if quoted)
rc=0
for t in "$@"; do
    out=$(mktemp)
    sh -c "$t" > "$out" 2>&1
    st=$?
    cat "$out"
    if [ "$st" != 0 ] && ! grep -q '^not ok' "$out"; then
        echo "not ok - $t exited $st"
    fi
    if ! grep -qE '^(not )?ok' "$out"; then
        echo "not ok - $t reported no results"
    fi
    rm -f "$out"
    [ "$st" = 0 ] || rc=1
done
exit $rc
