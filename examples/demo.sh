#!/bin/sh
# make demo: the whole Inheritune workflow on a corpus the program makes itself, in a few minutes.
#   make demo                          synthetic corpus (copy + bigram segments, vocabulary 64)
#   make demo DATA=text.txt            your text, byte-level tokenizer
#   make demo DATA=text.txt TOKENIZER=dir    ... with a GPT-2 tokenizer directory
# Steps: corpus -> 8-layer reference (2500 steps) -> lazy-layer analysis -> recipe from L/2 with
# 600 steps a round (+ the random-init baseline at the final depth) -> report.
set -e
T=${TOOL:-build/inheritune}
D=${DEMO_DIR:-build/demo}
REF_STEPS=${REF_STEPS:-2500}
STEPS=${STEPS:-600}
mkdir -p $D
# nothing from an earlier run may stand in for this one's files
rm -rf $D/ref.bin $D/recipe $D/train.bin $D/val.bin $D/.rc
# run a command whose output goes through a filter, and stop if the command (not the filter) failed;
# the status file is removed first, so a missing one (the command never finished) is a failure too
filtered() {
    filter=$1; shift
    rm -f $D/.rc
    { "$@"; echo $? > $D/.rc; } | eval "$filter"
    [ -f $D/.rc ] && [ "$(cat $D/.rc)" = 0 ] || { echo "demo: '$1 $2' failed" >&2; exit 1; }
}
if [ -n "$DATA" ]; then
    [ -f "$DATA" ] || { echo "demo: DATA=$DATA: no such file" >&2; exit 1; }
    N=$($T tokenize --tokenizer "${TOKENIZER:-bytes}" "$DATA" | wc -w)
    if [ "$N" -lt 20000 ]; then   # the runs below read batches of 16 x 64 tokens and validate on 10% of the text
        echo "demo: DATA=$DATA is $N tokens; the demo needs at least 20000 (it trains on batches of 16 x 64 tokens" \
             "and validates on a tenth of the text). Give a longer text." >&2
        exit 1
    fi
    VAL=$((N / 10 < 20000 ? N / 10 : 20000))
    $T prepare --tokenizer "${TOKENIZER:-bytes}" --val-tokens $VAL "$DATA" $D
    V=$($T tokenize --tokenizer "${TOKENIZER:-bytes}" --vocab-size)
else
    V=64
    $T synth --out $D --tokens 400000 --val-tokens 20000 --vocab $V
fi
echo "== 1. reference: 8 layers, $REF_STEPS steps"
filtered "awk '/val_loss/ || /^model:/ || (/^step / && (\$2 == 1 || \$2 % 250 == 0)) { print; fflush() }'" $T train --data $D/train.bin --val $D/val.bin --layers 8 --heads 4 \
    --dim 64 --seq-max 64 --vocab $V --batch 16 --seq 64 --steps $REF_STEPS --lr 3e-3 --min-lr 3e-4 --warmup 50 \
    --eval-every 500 --eval-batches 10 --out $D/ref.bin
echo "== 2. lazy-layer analysis of the reference"
$T analyze --model $D/ref.bin --data $D/val.bin --seqs 100 --seq-len 64 --json $D/analysis.json --html $D/analysis.html
echo "== 3. Inheritune recipe from L/2 = 4 layers, $STEPS steps a round, and the random-init baseline"
filtered "awk '!/^\\[.*\\] step [0-9]*\\/[0-9]* loss/ || / step 1\\// { print; fflush() }'" $T recipe --ref $D/ref.bin --data $D/train.bin --val $D/val.bin \
    --out $D/recipe --steps $STEPS --batch 16 --seq 64 --lr 3e-3 --min-lr 3e-4 --warmup 30 --eval-every 50 \
    --eval-batches 10 --baselines random
echo "== reports: $D/analysis.html and $D/recipe/report.html"
