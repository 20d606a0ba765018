#!/bin/sh
# bench/threads_loaded.sh - the default thread count against --threads 1, with one core held by a
# busy loop (issue 25 #15: a laptop always has something else running), and the 2-thread
# speed-up of `bench` on an idle machine. Two binaries run in the same turns, interleaved, so a
# noisy machine moves both alike; every figure is the median of REPEATS runs.
#   sh bench/threads_loaded.sh build/inheritune                        (one binary)
#   sh bench/threads_loaded.sh OLD_BIN NEW_BIN                          (old and new, with new/old ratios)
#   REPEATS=5 STEPS=100 TOKENS=1000 SHAPES="tiny small 124m 124m_t1024" sh bench/threads_loaded.sh OLD NEW
#   SHAPES=none: skip the idle-machine bench (the loaded part takes a few minutes on 2 cores);
#   LOADED=no: skip the loaded part
# Loaded: `train` (--layers 4 --heads 4 --dim 64 --seq-max 128 -B 8 -T 128, STEPS steps on a
# synthetic corpus of 256 symbols) and `sample --tokens TOKENS` from the model it wrote. Goal:
# default threads at most 1.2x --threads 1. Idle: `bench` on the shapes of bench/vs_pytorch.sh at
# --threads 1 and 2; goal: the 2-thread speed-up within 5% of the old binary's.
# Needs GNU date (date +%s.%N; on macOS `brew install coreutils` and DATE=gdate).
set -u
[ $# -ge 1 ] || { echo "usage: sh bench/threads_loaded.sh [OLD_BIN] NEW_BIN" >&2; exit 2; }
if [ $# -ge 2 ]; then OLD=$1; NEW=$2; BINS="old new"; else OLD=""; NEW=$1; BINS="new"; fi
for b in $OLD $NEW; do [ -x "$b" ] || { echo "error: $b is not an executable" >&2; exit 2; }; done
REPEATS=${REPEATS:-5}; STEPS=${STEPS:-100}; TOKENS=${TOKENS:-1000}; DATE=${DATE:-date}
SHAPES=${SHAPES:-"tiny small 124m 124m_t1024"}
W=${WORK:-build/threads_loaded}
mkdir -p "$W" || exit 2
HOG=""
cleanup() { [ -n "$HOG" ] && kill "$HOG" 2>/dev/null; HOG=""; }
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

bin() { if [ "$1" = old ]; then echo "$OLD"; else echo "$NEW"; fi; }
now() { $DATE +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# timed NAME COMMAND...: seconds appended to $W/NAME.t (the command's output to $W/NAME.log)
timed() {
    name=$1; shift
    t0=$(now); "$@" > "$W/$name.log" 2>&1; rc=$?; t1=$(now)
    [ $rc -eq 0 ] || { echo "error: $* exited $rc (see $W/$name.log)" >&2; tail -3 "$W/$name.log" >&2; exit 1; }
    echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }' >> "$W/$name.t"
}

cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
echo "threads_loaded: $cores cores; binaries: ${OLD:+old=$OLD }new=$NEW; $REPEATS repeats, medians"
echo "load before starting: $(cat /proc/loadavg 2>/dev/null || uptime)"
rm -f "$W"/*.t
"$NEW" synth --out "$W/data" --vocab 256 --tokens 200000 --val-tokens 20000 > "$W/synth.log" 2>&1 || { echo "error: synth failed" >&2; exit 1; }
MODEL="--layers 4 --heads 4 --dim 64 --seq-max 128 --batch 8 --seq 128"
"$NEW" train --data "$W/data/train.bin" $MODEL --steps 20 --threads 1 --out "$W/sample.bin" > "$W/model.log" 2>&1 || { echo "error: training the sample model failed" >&2; exit 1; }

if [ "${LOADED:-yes}" != no ]; then
sh -c 'while :; do :; done' &
HOG=$!
echo "loaded: a busy loop (pid $HOG) holds one core"
r=0
while [ $r -lt "$REPEATS" ]; do
    r=$((r + 1))
    for b in $BINS; do
        for t in 1 0; do
            timed "train_${b}_$t" "$(bin $b)" train --data "$W/data/train.bin" $MODEL --steps "$STEPS" --threads $t --out "$W/out_$b.bin"
            timed "sample_${b}_$t" "$(bin $b)" sample --model "$W/sample.bin" --tokens "$TOKENS" --threads $t
        done
    done
done
cleanup
echo "load after: $(cat /proc/loadavg 2>/dev/null || uptime)"

printf '\n%-28s %10s %10s %12s\n' "loaded (1 core busy)" "threads 1" "default" "default/1"
for what in train sample; do
    for b in $BINS; do
        one=$(median < "$W/${what}_${b}_1.t"); def=$(median < "$W/${what}_${b}_0.t")
        printf '%-28s %9.3fs %9.3fs %11.2fx\n' "$what ($b)" "$one" "$def" "$(echo "$def $one" | awk '{ print $1 / $2 }')"
    done
done
if [ -n "$OLD" ]; then
    for what in train sample; do
        o=$(median < "$W/${what}_old_0.t"); n=$(median < "$W/${what}_new_0.t")
        printf '%-28s new/old %.3f (default threads)\n' "$what" "$(echo "$n $o" | awk '{ print $1 / $2 }')"
    done
fi
echo "goal: default/1 at most 1.2x"
fi

[ "$SHAPES" = none ] && exit 0
shape_flags() {   # the shapes of bench/vs_pytorch.sh
    case $1 in
        tiny) echo "--layers 4 --heads 4 --dim 128 --seq-max 128 --vocab 257 --batch 16 --seq 128 --steps 9" ;;
        small) echo "--layers 6 --heads 6 --dim 384 --seq-max 256 --vocab 50257 --batch 8 --seq 256 --steps 5" ;;
        124m) echo "--layers 12 --heads 12 --dim 768 --seq-max 1024 --vocab 50257 --batch 4 --seq 64 --steps 5" ;;
        124m_t1024) echo "--layers 12 --heads 12 --dim 768 --seq-max 1024 --vocab 50257 --batch 1 --seq 1024 --steps 3" ;;
        *) echo "error: unknown shape $1" >&2; exit 2 ;;
    esac
}
echo
echo "idle machine: bench ms/step (median of its steps), median of $REPEATS runs; load now: $(cat /proc/loadavg 2>/dev/null || uptime)"
for s in $SHAPES; do
    f=$(shape_flags "$s") || exit 2
    r=0
    while [ $r -lt "$REPEATS" ]; do
        r=$((r + 1))
        for b in $BINS; do
            for t in 1 2; do
                "$(bin $b)" bench $f --threads $t > "$W/bench.log" 2>&1 || { echo "error: bench $s failed" >&2; tail -3 "$W/bench.log" >&2; exit 1; }
                awk '/ms\/step/ { print $1 }' "$W/bench.log" | tail -1 >> "$W/bench_${s}_${b}_$t.t"
            done
        done
    done
    for b in $BINS; do
        one=$(median < "$W/bench_${s}_${b}_1.t"); two=$(median < "$W/bench_${s}_${b}_2.t")
        printf '%-12s %-4s 1 thread %9.1f ms  2 threads %9.1f ms  speed-up %.3fx\n' "$s" "$b" "$one" "$two" "$(echo "$one $two" | awk '{ print $1 / $2 }')"
    done
    if [ -n "$OLD" ]; then
        echo "$(median < "$W/bench_${s}_old_1.t") $(median < "$W/bench_${s}_old_2.t") $(median < "$W/bench_${s}_new_1.t") $(median < "$W/bench_${s}_new_2.t")" |
            awk -v s="$s" '{ printf "%-12s speed-up new/old %.3f (goal: at least 0.95)\n", s, ($3 / $4) / ($1 / $2) }'
    fi
done
