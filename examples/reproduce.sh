#!/bin/sh
# make reproduce: a small-scale Inheritune reproduction on real text (about 5 minutes on 2 free cores).
#   CORPUS     text file (default ../shared/data/corpus/tinyshakespeare.txt)
#   TOKENIZER  bytes (default) or a GPT-2 tokenizer directory
#   REF_STEPS, STEPS  training steps of the reference and of every recipe run
# It trains a 12-layer reference, analyses its attention for lazy layers, runs the recipe from L/2
# with the random-init baseline at the final depth, and trains a random-init model at L/2 for the
# same steps as the first Inheritune round, so that round can be compared with it directly.
set -e
T=${TOOL:-build/inheritune}
CORPUS=${CORPUS:-../shared/data/corpus/tinyshakespeare.txt}
TOKENIZER=${TOKENIZER:-bytes}
REF_STEPS=${REF_STEPS:-1500}
STEPS=${STEPS:-400}
D=build/reproduce
[ -f "$CORPUS" ] || { echo "error: $CORPUS not found (set CORPUS=path/to/text.txt)"; exit 1; }
mkdir -p $D
# run a command whose output goes through a filter, and stop if the command (not the filter) failed
filtered() { filter=$1; shift; { "$@"; echo $? > $D/.rc; } | eval "$filter"; [ "$(cat $D/.rc)" = 0 ] || exit 1; }
$T prepare --tokenizer "$TOKENIZER" --val-tokens 100000 "$CORPUS" $D
V=$($T tokenize --tokenizer "$TOKENIZER" --vocab-size)
MODEL="--heads 4 --dim 128 --seq-max 128 --vocab $V"
TRAIN="--batch 8 --seq 128 --lr 1e-3 --min-lr 1e-4 --warmup 50 --eval-batches 20"
# the reference (resumed from its state file if an earlier run was interrupted)
if [ ! -f $D/ref.done ]; then
    if [ -f $D/ref.state ]; then FROM="--resume $D/ref.state"; else FROM="--layers 12 $MODEL"; fi
    filtered 'grep --line-buffered -E "val_loss|^step [0-9]*00 loss|resumed"' $T train --data $D/train.bin --val $D/val.bin \
        $FROM $TRAIN --steps $REF_STEPS --eval-every 250 --out $D/ref.bin --state $D/ref.state --save-every 50
    touch $D/ref.done
fi
$T analyze --model $D/ref.bin --data $D/val.bin --seqs 100 --seq-len 100 --json $D/analysis.json --html $D/analysis.html
filtered 'grep -vE "^\[.*\] step [0-9]*/"' $T recipe --ref $D/ref.bin --data $D/train.bin --val $D/val.bin --out $D/recipe \
    --steps $STEPS $TRAIN --eval-every 100 --baselines random
[ -f $D/random_half.bin ] || filtered 'grep val_loss' $T train --data $D/train.bin --val $D/val.bin --layers 6 $MODEL \
    $TRAIN --steps $STEPS --eval-every $STEPS --out $D/random_half.bin
echo "random init, 6 layers, $STEPS steps: $($T eval --model $D/random_half.bin --data $D/val.bin --batch 8 --seq 128 --batches 20)"
echo "reports: $D/analysis.html $D/recipe/report.html"
