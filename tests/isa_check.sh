#!/bin/sh
# tests/isa_check.sh SET "TOOL COMMAND": the tool built for one instruction set says it runs that
# set's kernels (bench's "isa:" line names the entry of the vector mapping the build compiled), so a
# platform's tests cannot pass on the plain-C fallback by mistake. Closing line: "N passed, N failed".
want=$1; tool=$2
out=$(sh -c "$tool bench --layers 1 --heads 2 --dim 32 --seq-max 16 --vocab 64 --batch 2 --seq 16 --steps 1 --threads 1" 2>&1); rc=$?
got=$(printf '%s\n' "$out" | sed -n 's/^isa: \([a-z0-9]*\).*/\1/p' | head -1)
pass=0; fail=0
if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
    pass=1; echo "ok - isa_check: the tool runs the $want kernels ($(printf '%s\n' "$out" | grep '^isa:'))"
else
    fail=1; echo "FAIL isa_check: want the $want kernels, bench says '$got' (exit $rc)"; printf '%s\n' "$out" | tail -5
fi
echo "isa_check ($want): $pass passed, $fail failed"
[ $fail -eq 0 ]
