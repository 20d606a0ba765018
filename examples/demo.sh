#!/bin/sh
# make demo: train a small GPT-2 on a corpus the program makes itself, evaluate it, sample from it.
set -e
T=build/inheritune
D=build/demo
mkdir -p $D
$T synth --out $D --tokens 400000 --val-tokens 40000 --vocab 64
$T train --data $D/train.bin --val $D/val.bin --layers 4 --heads 4 --dim 64 --seq-max 64 --vocab 64 \
    --batch 16 --seq 64 --steps 400 --lr 3e-3 --min-lr 3e-4 --warmup 20 --eval-every 100 --out $D/model.bin
$T eval --model $D/model.bin --data $D/val.bin --batch 16 --seq 64 --batches 20
echo "sample (63 = end-of-text, 62 = separator: after a separator the model should copy the tokens before it):"
$T sample --model $D/model.bin --prompt-ids 63,5,17,42,9,33,62 --tokens 24 --temperature 0
