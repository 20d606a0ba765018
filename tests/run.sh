#!/bin/sh
# Run each test binary from the repository root and add up their "N passed, N failed" lines.
# An argument may be a whole command ("qemu-aarch64 -L /usr/aarch64-linux-gnu build/arm64/test_core").
p=0; f=0; s=0; bad=0
for t in "$@"; do
    out=$(sh -c "$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$line" ]; then echo "$t: crashed or printed no summary (exit $rc)"; bad=$((bad + 1)); continue; fi
    p=$((p + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
    f=$((f + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
    case "$line" in *skipped*) s=$((s + $(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/'))) ;; esac
    [ $rc -ne 0 ] && [ "$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')" = 0 ] && bad=$((bad + 1))
done
f=$((f + bad))
if [ $s -gt 0 ]; then echo "total: $p passed, $f failed, $s skipped"; else echo "total: $p passed, $f failed"; fi
[ $f -eq 0 ]
