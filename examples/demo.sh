#!/bin/sh
# make demo: the whole Inheritune workflow on a corpus the program makes itself, in a few minutes.
#   make demo                          synthetic corpus (copy + bigram segments, vocabulary 64), in build/demo
#   make demo DATA=text.txt            your text, byte-level tokenizer, in build/demo-text
#   make demo DATA=text.txt TOKENIZER=dir    ... with a GPT-2 tokenizer directory
# Steps: corpus -> 8-layer reference (2500 steps) -> lazy-layer analysis -> recipe from L/2 with
# 600 steps a round (+ the random-init baseline at the final depth) -> report.
#
# Its settings (data, tokenizer, sizes, steps, seed) are recorded in DIR/settings.txt. Run again with
# the same settings, a finished demo is kept (its reports are named again) and an unfinished one is
# redone; with other settings the demo in DIR is redone. The input is checked before anything is
# deleted, and files in DIR that no demo recorded (no settings.txt) are never deleted: such a run is
# refused.
#   DEMO_DIR=dir     where the outputs go (default build/demo, or build/demo-NAME for DATA=NAME.txt)
#   FRESH=1          redo even when DIR holds a finished demo with these settings (or unrecorded files)
#   REF_STEPS, STEPS steps of the reference (2500) and of every recipe run (600); SEED (1337)
#   DEMO_SIZE=tiny   a 2-layer, 16-wide model on 20,000 tokens: seconds, for the tests
#   THREADS=n        worker threads of every command (default: the tool's, all cores)
set -e
T=${TOOL:-build/inheritune}
REF_STEPS=${REF_STEPS:-2500}
STEPS=${STEPS:-600}
SEED=${SEED:-1337}
TOK=${TOKENIZER:-bytes}
if [ "$DEMO_SIZE" = tiny ]; then
    LAYERS=2; HEADS=2; DIM=16; BATCH=4; SEQ=16; SYN_TOKENS=20000; SYN_VAL=2000; MIN_TOKENS=2000; EVAL_EVERY=10
elif [ -z "$DEMO_SIZE" ] || [ "$DEMO_SIZE" = full ]; then
    LAYERS=8; HEADS=4; DIM=64; BATCH=16; SEQ=64; SYN_TOKENS=400000; SYN_VAL=20000; MIN_TOKENS=20000; EVAL_EVERY=500
else
    echo "demo: DEMO_SIZE=$DEMO_SIZE: unknown (tiny, or full, the default)" >&2; exit 1
fi
if [ -n "$DATA" ]; then
    name=$(basename "$DATA" | sed 's/\.[^.]*$//; s/[^A-Za-z0-9._-]/_/g')
    D=${DEMO_DIR:-build/demo-$name}
else
    D=${DEMO_DIR:-build/demo}
fi

# 1. the input, before anything in $D is touched
if [ -n "$DATA" ]; then
    [ -f "$DATA" ] || { echo "demo: DATA=$DATA: no such file" >&2; exit 1; }
    N=$($T tokenize --tokenizer "$TOK" "$DATA" | wc -w)
    if [ "$N" -lt $MIN_TOKENS ]; then   # the runs below read batches of 16 x 64 tokens and validate on 10% of the text
        echo "demo: DATA=$DATA is $N tokens; the demo needs at least $MIN_TOKENS (it trains on batches of $BATCH x $SEQ tokens" \
             "and validates on a tenth of the text). Give a longer text (nothing was changed or deleted)." >&2
        exit 1
    fi
    DATA_ID="$(cksum < "$DATA" | awk '{print $1, $2}')"
else
    N=$SYN_TOKENS
    DATA_ID=synthetic
fi

# 2. the settings: the same as the finished demo in $D -> keep it; others -> redo; files no demo recorded -> refuse
SETTINGS="data=${DATA:-synthetic}
data_id=$DATA_ID
tokens=$N
tokenizer=$TOK
size=${DEMO_SIZE:-full}
reference=layers $LAYERS, heads $HEADS, dim $DIM, seq-max $SEQ
batch=$BATCH x $SEQ
ref_steps=$REF_STEPS
steps=$STEPS
seed=$SEED"
OURS="ref.bin ref.loss.svg recipe train.bin val.bin analysis.json analysis.html .rc settings.txt"
if [ -f "$D/settings.txt" ]; then
    old=$(grep -v '^finished=' "$D/settings.txt" || true)
    if [ "$old" = "$SETTINGS" ] && grep -q '^finished=yes' "$D/settings.txt" && [ "$FRESH" != 1 ]; then
        echo "demo: $D already holds a finished demo with these settings ($D/settings.txt); keeping it (FRESH=1 redoes it)"
        echo "== reports: $D/analysis.html and $D/recipe/report.html"
        exit 0
    fi
    if [ "$old" != "$SETTINGS" ]; then
        echo "demo: the settings differ from the demo in $D; redoing it:"
        printf '%s\n' "$old" > "$D/.old_settings"
        printf '%s\n' "$SETTINGS" | diff "$D/.old_settings" - | sed -n 's/^< /  was: /p; s/^> /  now: /p' || true
        rm -f "$D/.old_settings"
    fi
elif [ -d "$D" ] && [ -n "$(ls -A "$D" 2>/dev/null)" ] && [ "$FRESH" != 1 ]; then
    echo "demo: $D holds files that no demo recorded (no $D/settings.txt): $(ls -A "$D" | head -8 | tr '\n' ' ')" >&2
    echo "demo: refusing to replace them; give another DEMO_DIR=dir, or FRESH=1 to replace the demo's files there" >&2
    exit 1
fi
mkdir -p "$D"
# nothing from an earlier run may stand in for this one's files (only the demo's own names go)
for f in $OURS; do rm -rf "$D/$f"; done
printf '%s\n' "$SETTINGS" > "$D/settings.txt"

# run a command whose output goes through a filter, and stop if the command (not the filter) failed;
# the status file is removed first, so a missing one (the command never finished) is a failure too
filtered() {
    filter=$1; shift
    rm -f $D/.rc
    { "$@"; echo $? > $D/.rc; } | eval "$filter"
    [ -f $D/.rc ] && [ "$(cat $D/.rc)" = 0 ] || { echo "demo: '$1 $2' failed" >&2; exit 1; }
}
if [ -n "$DATA" ]; then
    VAL=$((N / 10 < 20000 ? N / 10 : 20000))
    $T prepare --tokenizer "$TOK" --val-tokens $VAL "$DATA" $D
    V=$($T tokenize --tokenizer "$TOK" --vocab-size)
else
    V=64
    $T synth --out $D --tokens $SYN_TOKENS --val-tokens $SYN_VAL --vocab $V
fi
echo "== 1. reference: $LAYERS layers, $REF_STEPS steps"
filtered "awk '/val_loss/ || /^model:/ || (/^step / && (\$2 == 1 || \$2 % 250 == 0)) { print; fflush() }'" $T train --data $D/train.bin --val $D/val.bin --layers $LAYERS --heads $HEADS \
    --dim $DIM --seq-max $SEQ --vocab $V --batch $BATCH --seq $SEQ --steps $REF_STEPS --lr 3e-3 --min-lr 3e-4 --warmup 50 \
    --eval-every $EVAL_EVERY --eval-batches 10 --seed $SEED ${THREADS:+--threads $THREADS} --out $D/ref.bin
echo "== 2. lazy-layer analysis of the reference"
$T analyze --model $D/ref.bin --data $D/val.bin --seqs 100 --seq-len $SEQ ${THREADS:+--threads $THREADS} --json $D/analysis.json --html $D/analysis.html
echo "== 3. Inheritune recipe from L/2 = $((LAYERS / 2)) layers, $STEPS steps a round, and the random-init baseline"
filtered "awk '!/^\\[.*\\] step [0-9]*\\/[0-9]* loss/ || / step 1\\// { print; fflush() }'" $T recipe --ref $D/ref.bin --data $D/train.bin --val $D/val.bin \
    --out $D/recipe --steps $STEPS --batch $BATCH --seq $SEQ --lr 3e-3 --min-lr 3e-4 --warmup 30 --eval-every 50 \
    --eval-batches 10 --seed $SEED ${THREADS:+--threads $THREADS} --baselines random
echo "finished=yes" >> "$D/settings.txt"
echo "== reports: $D/analysis.html and $D/recipe/report.html (settings: $D/settings.txt)"
