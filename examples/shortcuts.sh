#!/bin/sh
# make shortcuts: attention shortcuts (Verma & Pilanci) against plain GPT-2s on real text, in about
# 1-2 minutes on 2 free cores. A text corpus in bytes (tiny shakespeare by default); the same seed,
# data, schedule and steps for:
#   plain     L layers
#   causal    L layers + shortcuts (causal: the last layer reads every layer 0..L-2 at every s <= t)
#   depth     L layers + shortcuts (depth: every layer 0..L-2 at position t only)
#   plain+1   L+1 layers: about the parameters of the shortcut models (one more layer, since the MLP
#             width is fixed at 4C here)
# It prints a markdown table (validation loss, parameters, median ms/step of training), named with
# the corpus it used, and writes the shortcut-attention report of the causal model to
# DIR/analysis.html (and .png with headless Chromium).
#   CORPUS  text file (default ../shared/data/corpus/tinyshakespeare.txt; tiny shakespeare is
#           https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt)
#   STEPS   training steps of every model (default 600); L layers (default 4); THREADS (default 2)
#   DIM, HEADS (128, 4), VAL_TOKENS (100000), EVAL_BATCHES (40): smaller ones make a quick test
#   SHORTCUTS_DIR  where the outputs go (default build/shortcuts)
# DIR/settings.txt records what defines the models (corpus, sizes, steps, threads); a run with the
# same settings reuses the models (FRESH=1 retrains them), a run with others retrains them.
set -e
T=${TOOL:-build/inheritune}
DEFAULT_CORPUS=../shared/data/corpus/tinyshakespeare.txt
CORPUS=${CORPUS:-$DEFAULT_CORPUS}
STEPS=${STEPS:-600}
L=${L:-4}
THREADS=${THREADS:-2}
DIM=${DIM:-128}
HEADS=${HEADS:-4}
VAL_TOKENS=${VAL_TOKENS:-100000}
EVAL_BATCHES=${EVAL_BATCHES:-40}
D=${SHORTCUTS_DIR:-build/shortcuts}
if [ ! -f "$CORPUS" ]; then
    if [ "$CORPUS" = "$DEFAULT_CORPUS" ]; then
        echo "shortcuts: needs a text corpus: tiny shakespeare at $CORPUS (not found). Get it with" >&2
        echo "  mkdir -p ../shared/data/corpus && curl -o $CORPUS https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt" >&2
        echo "or give another text of at least 200 KB: make shortcuts CORPUS=path/to/text.txt" >&2
    else
        echo "shortcuts: CORPUS=$CORPUS: no such file (give a text file of at least 200 KB)" >&2
    fi
    exit 1
fi
if [ "$CORPUS" = "$DEFAULT_CORPUS" ]; then CNAME="tiny shakespeare"; else CNAME=$(basename "$CORPUS"); fi
L1=$((L + 1))
echo "shortcuts: corpus $CNAME ($CORPUS), bytes; 4 models (plain $L layers, causal and depth shortcuts, plain $L1 layers)" \
     "of $STEPS steps each, $THREADS threads, into $D (about 1-2 minutes at the defaults on 2 free cores; longer on a busy machine)"
mkdir -p $D
$T prepare --tokenizer bytes --val-tokens $VAL_TOKENS "$CORPUS" $D >/dev/null
MODEL="--heads $HEADS --dim $DIM --seq-max 64 --vocab 257"
TRAIN="--batch 8 --seq 64 --lr 1e-3 --min-lr 1e-4 --warmup 50 --steps $STEPS --seed 1337 --threads $THREADS"
EVAL="--data $D/val.bin --batch 8 --seq 64 --batches $EVAL_BATCHES --threads $THREADS"
# what defines the models: the same -> reuse them; other -> retrain (the models of other settings go)
SETTINGS="corpus=$CORPUS
corpus_id=$(cksum < "$CORPUS" | awk '{print $1, $2}')
tokenizer=bytes
val_tokens=$VAL_TOKENS
layers=$L
model=$MODEL
train=$TRAIN"
MODELS="plain causal depth plain1"
if [ -f $D/settings.txt ] && [ "$(cat $D/settings.txt)" = "$SETTINGS" ] && [ "$FRESH" != 1 ]; then
    echo "shortcuts: reusing the models in $D trained with these settings ($D/settings.txt; FRESH=1 retrains them)"
else
    if [ -f $D/settings.txt ] && [ "$FRESH" != 1 ]; then
        echo "shortcuts: the settings differ from the models' in $D; retraining them:"
        printf '%s\n' "$SETTINGS" | diff $D/settings.txt - | sed -n 's/^< /  was: /p; s/^> /  now: /p' || true
    elif [ "$FRESH" = 1 ]; then
        echo "shortcuts: FRESH=1: retraining the models in $D"
    elif ls $D/plain.bin $D/causal.bin $D/depth.bin $D/plain1.bin 2>/dev/null | grep -q .; then
        echo "shortcuts: the models in $D have no settings.txt (made before settings were recorded); retraining them"
    fi
    for m in $MODELS; do rm -f $D/$m.bin $D/$m.log; done
    printf '%s\n' "$SETTINGS" > $D/settings.txt
fi
# median of the "ms X" fields of a training log
median_ms() { grep -E '^step [0-9]+ loss' "$1" | sed 's/.* ms \([0-9.]*\) .*/\1/' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
params() { grep -m1 '^model:' "$1" | sed 's/.*, \([0-9]*\) parameters;.*/\1/'; }
EVERY=$(( STEPS / 10 > 0 ? STEPS / 10 : 1 ))
K=0
run() {   # name, model flags
    name=$1; shift
    K=$((K + 1))
    if [ ! -f $D/$name.bin ]; then
        echo "[$K/4] $name: training $STEPS steps ($*)"
        rm -f $D/.rc
        # the whole log to NAME.log; every tenth step (and the first) on the terminal
        { $T train --data $D/train.bin "$@" $TRAIN --out $D/$name.bin 2>&1; echo $? > $D/.rc; } | tee $D/$name.log |
            awk -v e=$EVERY -v n="[$K/4] $name:" '/^step / && ($2 == 1 || $2 % e == 0) && / loss / { print n, $1, $2, $3, $4, "ms", $10, "left", $14; fflush() }'
        [ -f $D/.rc ] && [ "$(cat $D/.rc)" = 0 ] || { tail -3 $D/$name.log; rm -f $D/$name.bin; exit 1; }
    else
        echo "[$K/4] $name: reusing $D/$name.bin"
    fi
    printf '| %s | %s | %s | %s |\n' "$2" "$($T eval --model $D/$name.bin $EVAL | awk '{print $2}')" "$(params $D/$name.log)" "$(median_ms $D/$name.log)" >> $D/table.md
}
DESC="$CNAME (bytes), $STEPS steps of B=8 x T=64, C=$DIM, $HEADS heads, seed 1337, $THREADS threads; validation: $EVAL_BATCHES batches of $D/val.bin"
printf 'corpus: %s\n\n| model | val loss | parameters | ms/step |\n|---|---|---|---|\n' "$DESC" > $D/table.md
run plain --layers $L $MODEL
sed -i "\$s/^| [^|]*|/| plain, $L layers |/" $D/table.md
run causal --layers $L $MODEL --shortcuts causal
sed -i "\$s/^| [^|]*|/| $L layers + causal shortcuts |/" $D/table.md
run depth --layers $L $MODEL --shortcuts depth
sed -i "\$s/^| [^|]*|/| $L layers + depth shortcuts |/" $D/table.md
run plain1 --layers $L1 $MODEL
sed -i "\$s/^| [^|]*|/| plain, $L1 layers (about the same parameters) |/" $D/table.md
# the trained causal model evaluated the other way, and without its shortcut sub-layer
printf '| causal model, evaluated as depth | %s | | |\n' "$($T eval --model $D/causal.bin $EVAL --shortcuts depth 2>/dev/null | awk '{print $2}')" >> $D/table.md
printf '| causal model, shortcut dropped | %s | | |\n' "$($T eval --model $D/causal.bin $EVAL --drop-shortcut 2>/dev/null | awk '{print $2}')" >> $D/table.md
printf '| depth model, shortcut dropped | %s | | |\n' "$($T eval --model $D/depth.bin $EVAL --drop-shortcut 2>/dev/null | awk '{print $2}')" >> $D/table.md
echo "analysing the shortcut attention of the causal and depth models"
$T analyze --model $D/causal.bin --data $D/val.bin --seqs 64 --seq-len 64 --threads $THREADS --json $D/analysis.json --html $D/analysis.html | sed -n '/^shortcut attention/,$p'
$T analyze --model $D/depth.bin --data $D/val.bin --seqs 64 --seq-len 64 --threads $THREADS --json $D/analysis_depth.json --html $D/analysis_depth.html | sed -n '/^shortcut attention/,$p'
# the shortcut section alone (the last <svg> of each report), and its screenshot
for r in analysis analysis_depth; do
    { echo '<!DOCTYPE html><html><body style="margin:0;overflow:hidden">'; awk '/^<svg/{buf=""; keep=1} keep{buf=buf $0 "\n"} /^<\/svg>/{keep=0; last=buf} END{printf "%s", last}' $D/$r.html; echo '</body></html>'; } > $D/${r}_shortcuts.html
    if command -v chromium >/dev/null; then
        chromium --headless --no-sandbox --disable-gpu --screenshot="$D/${r}_shortcuts.png" --window-size=900,380 "file://$(cd $D && pwd)/${r}_shortcuts.html" 2>/dev/null || true
    fi
done
echo
cat $D/table.md
echo "reports: $D/analysis.html $D/analysis_depth.html (shortcut maps alone: $D/analysis_shortcuts.html, .png with chromium)"
