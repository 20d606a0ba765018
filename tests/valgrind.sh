#!/bin/sh
# tests/valgrind.sh - short runs of the tool under valgrind memcheck: synth, train a tiny model
# (saving state and model), resume it on two threads, eval, sample. Any memcheck error or leak
# fails the script. Skips (exit 0) when valgrind is not installed.
#
# The tool is built here into build/valgrind/ with portable flags (CC, default cc; VG_OPT, default
# "-O2 -g"): `make`'s -march=native emits AVX-512 on machines that have it, which valgrind 3.x
# cannot decode (SIGILL), and build/inheritune is left alone.
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v valgrind >/dev/null 2>&1; then echo "valgrind: not installed, skipped"; exit 0; fi
out=build/valgrind
tool=$out/inheritune
d=$out/run
mkdir -p "$out" || exit 1
${CC:-cc} ${VG_OPT:--O2 -g} -std=c99 -Wall -Wextra examples/inheritune.c -o "$tool" -lm -lpthread || { echo "valgrind: the tool does not build"; exit 1; }
rm -rf "$d" && mkdir -p "$d" || exit 1

VG="valgrind -q --error-exitcode=99 --leak-check=full"
fail=0
run() {
    echo "+ $*"
    $VG "$@"
    rc=$?
    if [ $rc -ne 0 ]; then echo "valgrind: FAILED (exit $rc): $*"; fail=$((fail + 1)); fi
}
run $tool synth --out $d --tokens 20000 --val-tokens 2000
run $tool train --data $d/train.bin --val $d/val.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 64 \
    --batch 2 --seq 16 --steps 3 --threads 1 --eval-batches 2 --state $d/state.bin --out $d/model.bin
run $tool train --data $d/train.bin --resume $d/state.bin --steps 5 --threads 2 --out $d/model2.bin
run $tool eval --model $d/model2.bin --data $d/val.bin --batch 2 --seq 16 --threads 2
run $tool sample --model $d/model2.bin --prompt-ids 1,2,3 --tokens 4 --threads 1
run $tool convert $d/model2.bin $d/hf/
run $tool sample --model $d/hf --prompt-ids 5 --tokens 2 --temperature 0 --threads 1
if [ $fail -ne 0 ]; then echo "valgrind: $fail run(s) failed"; exit 1; fi
echo "valgrind: 7 runs, no errors, no leaks"
