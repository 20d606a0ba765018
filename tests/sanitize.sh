#!/bin/sh
# tests/sanitize.sh - every tests/test_*.c and the tool built with AddressSanitizer (+ LeakSanitizer)
# and UndefinedBehaviorSanitizer, then run like `make test`, ending with the same
# "total: N passed, N failed" line. CC picks the compiler (gcc or clang; default cc); ARCH the
# target (default -march=native, as `make`, so the vector kernels are the ones checked; the
# portable paths are checked by `make test`'s portable builds and tests/valgrind.sh).
#
# The tests call the tool as build/inheritune and write scratch files under build/, relative to
# the repository root. So that the sanitized tool never replaces the normal build/inheritune,
# they run from build/sanitize/root: a mirror of the repository root (a symbolic link to every
# top-level entry except build/, and ../shared beside it) whose build/ holds the sanitized tool.
# Sanitizer reports go to build/sanitize/logs/ (also those of tool runs whose output a test
# swallows); each report is printed at the end and counts as a failure.
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
CC=${CC:-cc}
ARCH=${ARCH--march=native}
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g $ARCH"
CFLAGS="-std=c99 -Wall -Wextra $SAN"
dir=$root/build/sanitize
mirror=$dir/root

rm -rf "$dir/logs" "$mirror"
mkdir -p "$dir/logs" "$mirror/build" || exit 1
for e in "$root"/* "$root"/.[!.]*; do
    [ -e "$e" ] || continue
    case "$(basename "$e")" in build|.git) continue ;; esac
    ln -s "$e" "$mirror/$(basename "$e")"
done
rm -f "$dir/shared"
[ -d "$root/../shared" ] && ln -s "$(cd "$root/../shared" && pwd)" "$dir/shared"

echo "sanitize: building with $CC $SAN"
bins=""
$CC $CFLAGS examples/inheritune.c -o "$mirror/build/inheritune" -lm -lpthread || { echo "sanitize: the tool does not build"; exit 1; }
for t in tests/test_*.c; do
    n=$(basename "$t" .c)
    $CC $CFLAGS -Itests "$t" -o "$mirror/build/$n" -lm -lpthread || { echo "sanitize: $t does not build"; exit 1; }
    bins="$bins build/$n"
done
# the CUDA ops on the SIMT emulator (C++): out-of-bounds accesses inside kernels show up here
CXX=${CXX:-c++}
$CXX -std=c++17 -Wall -Wextra $SAN -DINH_CUDA_EMULATE -I. -Itests -Itests/cuda tests/test_cuda.cpp -x c++ inheritune_cuda.cu \
    -o "$mirror/build/test_cuda_emu" -lm -lpthread || { echo "sanitize: tests/test_cuda.cpp does not build"; exit 1; }
bins="$bins build/test_cuda_emu"

# detect_leaks is on by default for ASan on Linux x86-64, said here so it stays on everywhere
ASAN_OPTIONS="detect_leaks=1:log_path=$dir/logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:log_path=$dir/logs/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
out=$(cd "$mirror" && sh tests/run.sh $bins)
rc=$?
printf '%s\n' "$out" | sed '$d'
total=$(printf '%s\n' "$out" | tail -1)

reports=0
for f in "$dir"/logs/*; do
    [ -e "$f" ] || continue
    # the emulator's fibers (swapcontext): ASan warns once that it cannot follow them fully
    grep -v "ASan doesn't fully support makecontext/swapcontext" "$f" | grep -q . || continue
    reports=$((reports + 1))
    echo "== sanitizer report $f"
    cat "$f"
done
if [ $reports -gt 0 ]; then
    f=$(echo "$total" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    total=$(echo "$total" | sed -E "s/[0-9]+ failed/$((f + reports)) failed/")
    echo "sanitize: $reports sanitizer report(s) (above)"
    rc=1
fi
echo "$total"
exit $rc
