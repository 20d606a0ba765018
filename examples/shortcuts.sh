#!/bin/sh
# make shortcuts: attention shortcuts (Verma & Pilanci) against plain GPT-2s on real text, in about
# 1-2 minutes on 2 free cores. Tiny shakespeare in bytes; the same seed, data, schedule and steps for:
#   plain     L layers
#   causal    L layers + shortcuts (causal: the last layer reads every layer 0..L-2 at every s <= t)
#   depth     L layers + shortcuts (depth: every layer 0..L-2 at position t only)
#   plain+1   L+1 layers: about the parameters of the shortcut models (one more layer, since the MLP
#             width is fixed at 4C here)
# It prints a markdown table (validation loss, parameters, median ms/step of training) and writes
# the shortcut-attention report of the causal model to build/shortcuts/analysis.html (and .png with
# headless Chromium).
#   CORPUS  text file (default ../shared/data/corpus/tinyshakespeare.txt)
#   STEPS   training steps of every model (default 600); L layers (default 4)
set -e
T=${TOOL:-build/inheritune}
CORPUS=${CORPUS:-../shared/data/corpus/tinyshakespeare.txt}
STEPS=${STEPS:-600}
L=${L:-4}
THREADS=${THREADS:-2}
D=build/shortcuts
[ -f "$CORPUS" ] || { echo "error: $CORPUS not found (set CORPUS=path/to/text.txt)"; exit 1; }
mkdir -p $D
$T prepare --tokenizer bytes --val-tokens 100000 "$CORPUS" $D >/dev/null
MODEL="--heads 4 --dim 128 --seq-max 64 --vocab 257"
TRAIN="--batch 8 --seq 64 --lr 1e-3 --min-lr 1e-4 --warmup 50 --steps $STEPS --seed 1337 --threads $THREADS"
EVAL="--data $D/val.bin --batch 8 --seq 64 --batches 40 --threads $THREADS"
# median of the "ms X" fields of a training log
median_ms() { grep -E '^step [0-9]+ loss' "$1" | sed 's/.* ms \([0-9.]*\) .*/\1/' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
params() { grep -m1 '^model:' "$1" | sed 's/.*, \([0-9]*\) parameters;.*/\1/'; }
run() {   # name, model flags
    name=$1; shift
    if [ ! -f $D/$name.bin ]; then
        $T train --data $D/train.bin "$@" $TRAIN --out $D/$name.bin > $D/$name.log || { tail -3 $D/$name.log; exit 1; }
    fi
    printf '| %s | %s | %s | %s |\n' "$2" "$($T eval --model $D/$name.bin $EVAL | awk '{print $2}')" "$(params $D/$name.log)" "$(median_ms $D/$name.log)" >> $D/table.md
}
L1=$((L + 1))
printf '| model | val loss | parameters | ms/step |\n|---|---|---|---|\n' > $D/table.md
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
echo "tiny shakespeare (bytes), $STEPS steps of B=8 x T=64, C=128, 4 heads, seed 1337, $THREADS threads; validation: 40 batches"
cat $D/table.md
echo "reports: $D/analysis.html $D/analysis_depth.html (shortcut maps alone: $D/analysis_shortcuts.html, .png with chromium)"
