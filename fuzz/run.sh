#!/bin/sh
# fuzz/run.sh [SECONDS] [HARNESS...] - build every libFuzzer harness (fuzz/fuzz_*.c) into build/fuzz/
# and run each for SECONDS (default 60), one after the other, on one core. Prints the number of
# executions per harness; exits non-zero if any harness crashes, leaks, times out or runs out of
# memory (the input that did it is saved as build/fuzz/<harness>-crash-*, -leak-*, -timeout-*,
# -oom-*; reproduce with `build/fuzz/fuzz_<harness> FILE`).
#
# The committed seeds (fuzz/corpus/<harness>/) and regression inputs (fuzz/regressions/<harness>/)
# are read, never written: what the fuzzer finds goes to build/fuzz/corpus/<harness>/, which later
# runs start from. Needs clang with libFuzzer (Debian: clang + libclang-rt-<version>-dev).
# FUZZ_CC overrides the compiler, FUZZ_CFLAGS adds compiler flags (e.g. -fno-sanitize=nonnull-attribute
# to look past a known finding), FUZZ_FLAGS adds libFuzzer flags (e.g. -jobs=2 -workers=2).
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
CC=${FUZZ_CC:-clang}
OUT=$root/build/fuzz   # absolute: the cli harness changes directory
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined ${FUZZ_CFLAGS:-}"
mkdir -p "$OUT" || exit 1

if [ $# -gt 0 ]; then names="$*"; else names=$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||'); fi

# build all first: a harness that does not compile is a failure, not a skipped run
for n in $names; do
    src=fuzz/fuzz_$n.c
    [ -f "$src" ] || { echo "fuzz: no $src"; exit 1; }
    "$CC" $CFLAGS "$src" -o "$OUT/fuzz_$n" -lm -lpthread || { echo "fuzz: $src does not build with $CC"; exit 1; }
done

# the harnesses' scratch files (inputs written out for the path-taking loaders) live here
FUZZ_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/inh_fuzz.XXXXXX") || exit 1
[ -d /dev/shm ] && [ -w /dev/shm ] && { rmdir "$FUZZ_TMPDIR"; FUZZ_TMPDIR=$(mktemp -d /dev/shm/inh_fuzz.XXXXXX) || exit 1; }
export FUZZ_TMPDIR
trap 'rm -rf "$FUZZ_TMPDIR"' EXIT
trap 'exit 130' INT TERM

failed=""
total=0
summary=""
for n in $names; do
    work=$OUT/corpus/$n
    mkdir -p "$work"
    dirs="$work"
    [ -d fuzz/corpus/$n ] && dirs="$dirs $root/fuzz/corpus/$n"
    [ -d fuzz/regressions/$n ] && dirs="$dirs $root/fuzz/regressions/$n"
    log=$OUT/$n.log
    echo "== fuzz_$n: $secs s"
    # ASan/UBSan/LSan defaults of a libFuzzer build; -rss_limit_mb also limits single mallocs.
    # -close_fd_mask=3 silences the code's own stdout/stderr; libFuzzer's and the sanitizers'
    # reports still reach the log.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$OUT/fuzz_$n" $dirs -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        -close_fd_mask=3 -artifact_prefix="$OUT/$n-" ${FUZZ_FLAGS:-} > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    # a sanitizer abort skips the final stats: take the last status line's count
    [ -n "$execs" ] || execs=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+).*/\1/')
    [ -n "$execs" ] || execs=0
    total=$((total + execs))
    if [ $rc -ne 0 ]; then
        failed="$failed $n"
        echo "fuzz_$n: FAILED (exit $rc) after $execs executions; log $log"
        grep -E 'ERROR|FZ_CHECK|runtime error|SUMMARY|Test unit written|deadly signal' "$log" | head -20
    else
        echo "fuzz_$n: $execs executions, coverage $cov edges, no crash"
    fi
    summary="$summary
  fuzz_$n: $execs executions$( [ $rc -ne 0 ] && echo ' FAILED')"
done
echo "== fuzz summary ($secs s each):$summary"
echo "  total: $total executions"
if [ -n "$failed" ]; then echo "fuzz: FAILED:$failed"; exit 1; fi
echo "fuzz: no crashes"
