#!/bin/sh
# tests/cuda/tool_check.sh TOOL LOGDIR - the command-line tool with --device cuda (gpu_check.sh step
# 2b): 10 training steps on the CPU, then 5 on the device + 5 resumed from its state file, whose
# losses must follow the CPU's (1e-3 relative: fp32 sums in another order); eval and sample of the
# device's model on the device. Synthetic data, made here.
set -u
T=$1 LOGS=$2 D=build/gpu_check_data
mkdir -p "$LOGS" "$D"
"$T" synth --out "$D" --vocab 64 --tokens 60000 --val-tokens 4000 >/dev/null || exit 1
C="--data $D/train.bin --layers 2 --heads 4 --dim 64 --seq-max 64 --batch 8 --seq 64 --lr 3e-3 --schedule constant --threads 4"
"$T" train $C --steps 10 --out build/gpu_check_cpu.bin > "$LOGS/tool_cpu.log" 2>&1 || { cat "$LOGS/tool_cpu.log"; exit 1; }
"$T" train $C --steps 5 --device cuda --state build/gpu_check.state > "$LOGS/tool_dev.log" 2>&1 || { cat "$LOGS/tool_dev.log"; exit 1; }
"$T" train --resume build/gpu_check.state --steps 10 --device cuda --threads 4 --out build/gpu_check_dev.bin >> "$LOGS/tool_dev.log" 2>&1 ||
    { cat "$LOGS/tool_dev.log"; exit 1; }
grep '^step [0-9]* loss' "$LOGS/tool_cpu.log" | awk '{print $4}' > "$LOGS/tool_cpu.txt"
grep '^step [0-9]* loss' "$LOGS/tool_dev.log" | awk '{print $4}' > "$LOGS/tool_dev.txt"
paste "$LOGS/tool_cpu.txt" "$LOGS/tool_dev.txt" | awk '
    { d = $1 - $2; if (d < 0) d = -d; if (d / $1 > w) w = d / $1; n++ }
    END { printf "10 steps (5 + 5 resumed) on the device against the CPU: worst loss difference %.2g relative\n", w; exit !(n == 10 && w <= 1e-3) }' || exit 1
"$T" eval --model build/gpu_check_dev.bin --data "$D/val.bin" --device cuda --threads 4 || exit 1
"$T" sample --model build/gpu_check_dev.bin --tokens 20 --temperature 0 --device cuda --threads 4 > /dev/null || exit 1
echo "tool: train, resume, eval and sample with --device cuda: ok"
