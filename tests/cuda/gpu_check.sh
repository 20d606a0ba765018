#!/bin/bash
# tests/cuda/gpu_check.sh - everything a session with a lent GPU should run, in one call of under
# 8 minutes, needing nothing outside the working tree (no network, no ../shared):
#   1. build with nvcc (make cuda), and a second build that synchronises after every kernel
#      (-DINH_CUDA_SYNC_EACH) for the sanitizers
#   2. the tests on the device (build/test_cuda_device: the emulated tests at larger shapes: every
#      op, and the whole model against the CPU backend: a step, 10 AdamW steps, bf16, resume, the
#      sampler), then the tool itself with --device cuda (train, resume, eval, sample)
#   3. the speed of a whole training step, GPT-2 124M at B=16 T=1024 bf16: `bench --device cuda`
#      (ms/step, tokens/s, model FLOP utilisation, device memory) against PyTorch on the same card
#      (bf16 autocast, scaled_dot_product_attention, fused AdamW; torch.compile if it compiles in a
#      minute); then the matmul and attention ops alone (build/bench_cuda) against PyTorch's
#   4. compute-sanitizer memcheck, racecheck, synccheck on a short run (--quick: the small shapes)
#   5. a short table last.
# Logs go to $OUT/gpu_check (when OUT is set) or build/gpu_check. A failing step is reported and the
# others still run; the exit status is 1 if any step failed. Steps that would not fit the time left
# (GPU_CHECK_BUDGET seconds, default 450) are skipped and say so.
#   tests/cuda/gpu_check.sh             on the GPU machine
#   tests/cuda/gpu_check.sh --dry-run   anywhere: the nvcc build if nvcc exists, the emulated op
#                                       tests and benchmark (tiny shapes), PyTorch on the CPU (tiny
#                                       shapes), the table; no GPU step runs
set -u
cd "$(dirname "$0")/../.." || exit 1
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
LOGS="${OUT:+$OUT/gpu_check}"
LOGS="${LOGS:-build/gpu_check}"
mkdir -p "$LOGS" build
BUDGET=${GPU_CHECK_BUDGET:-450}
T0=$(date +%s)
JOBS=$(nproc 2>/dev/null || echo 4)
NVCC=${NVCC:-$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)}
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
[ -n "$NVCC" ] && export LD_LIBRARY_PATH="$(dirname "$NVCC")/../lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"   # libcublas
PY=${PYTHON:-python3}
"$PY" -c 'import torch' >/dev/null 2>&1 || { [ -x /usr/bin/python3 ] && PY=/usr/bin/python3; }
NAMES=(); STATES=(); SECS=(); NOTES=()
FAILED=0

# step NAME LIMIT_S COMMAND...: runs it with a time limit, logs to $LOGS/NAME.log, records the result
step() {
    local name=$1 limit=$2; shift 2
    local left=$((BUDGET - ($(date +%s) - T0)))
    if [ "$left" -lt 20 ]; then
        NAMES+=("$name"); STATES+=("skipped"); SECS+=(0); NOTES+=("no time left in the ${BUDGET}s budget")
        echo "== $name: skipped (time)"; return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (limit ${limit}s): $*"
    local s=$(date +%s)
    timeout "$limit" "$@" > "$LOGS/$name.log" 2>&1
    local rc=$?
    local dt=$(($(date +%s) - s))
    local note
    note=$(grep -E '[0-9]+ passed, [0-9]+ failed|ERROR SUMMARY|RACECHECK SUMMARY|error' "$LOGS/$name.log" | tail -1 | cut -c1-70)
    tail -n 4 "$LOGS/$name.log" | sed 's/^/   /'
    NAMES+=("$name"); SECS+=("$dt")
    if [ $rc -eq 0 ]; then STATES+=("ok"); else
        [ $rc -eq 124 ] && note="timed out after ${limit}s; $note"
        STATES+=("FAILED($rc)"); FAILED=1
    fi
    NOTES+=("$note")
    return $rc
}
skip() { NAMES+=("$1"); STATES+=("skipped"); SECS+=(0); NOTES+=("$2"); echo "== $1: skipped ($2)"; }

{ nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; "${NVCC:-nvcc}" --version 2>/dev/null | tail -2; echo "python: $PY"; } > "$LOGS/info.log" 2>&1
cat "$LOGS/info.log"

# 1. build
if [ -n "$NVCC" ]; then
    step build 240 make -j"$JOBS" cuda NVCC="$NVCC" && BUILT=1 || BUILT=0
    if [ $DRY -eq 0 ] && [ $BUILT -eq 1 ]; then
        step build_sync 180 make -j"$JOBS" cuda NVCC="$NVCC" BUILD=build/sync \
            NVCCFLAGS="-O3 -std=c++17 -arch=${CUDA_ARCH:-sm_90} -lineinfo -DINH_CUDA_SYNC_EACH"
    fi
else
    BUILT=0; skip build "no nvcc (the CUDA Toolkit is needed)"
fi

# 2. op tests
if [ $DRY -eq 1 ]; then
    step op_tests_emulated 240 make cuda-emu-test
elif [ $BUILT -eq 1 ]; then
    step op_tests 200 build/test_cuda_device
else
    skip op_tests "no build"
fi

# 2b. the tool on the device: a small run from synthetic data, the CPU beside it
if [ $DRY -eq 1 ]; then
    make build/inheritune_cuda_emu >/dev/null 2>&1 && step tool_emulated 240 sh tests/cuda/tool_check.sh build/inheritune_cuda_emu "$LOGS"
elif [ $BUILT -eq 1 ]; then
    step tool 120 sh tests/cuda/tool_check.sh build/inheritune_cuda "$LOGS"
fi

# 3. speed: the whole step, then the ops
if [ $DRY -eq 1 ]; then
    step step_bench 120 build/inheritune_cuda_emu bench --device cuda --layers 2 --heads 2 --dim 32 --seq-max 32 --vocab 300 --batch 2 --seq 16 --steps 2 --bf16 --threads 2
    step step_torch 120 "$PY" tests/cuda/bench_torch_step.py --tiny --bf16
    make build/bench_cuda_emu >/dev/null 2>&1
    step bench 120 build/bench_cuda_emu --tiny --iters 1
    step bench_torch 120 "$PY" tests/cuda/bench_torch.py --tiny
elif [ $BUILT -eq 1 ]; then
    step step_bench 150 build/inheritune_cuda bench --device cuda --batch 16 --seq 1024 --bf16 --steps 10 --threads 4
    step step_torch 200 "$PY" tests/cuda/bench_torch_step.py --batch 16 --seq 1024 --bf16 --steps 10 --compile
    step bench 120 build/bench_cuda
    step bench_torch 150 "$PY" tests/cuda/bench_torch.py
fi

# 4. sanitizers on the short run
if [ $DRY -eq 1 ]; then
    skip memcheck "dry run"; skip racecheck "dry run"; skip synccheck "dry run"
elif [ -z "$SAN" ]; then
    skip memcheck "no compute-sanitizer"
elif [ -x build/sync/test_cuda_device ]; then
    step memcheck 120 "$SAN" --tool memcheck --error-exitcode 3 build/sync/test_cuda_device --quick
    step racecheck 120 "$SAN" --tool racecheck --racecheck-report all --error-exitcode 3 build/sync/test_cuda_device --quick
    step synccheck 90 "$SAN" --tool synccheck --error-exitcode 3 build/sync/test_cuda_device --quick
else
    skip memcheck "no sanitizer build"
fi

# 5. the table
{
    echo
    echo "gpu_check: $( [ $DRY -eq 1 ] && echo 'DRY RUN (no GPU step ran)' || head -1 "$LOGS/info.log")"
    printf '%-20s %-12s %6s  %s\n' step result secs note
    for i in "${!NAMES[@]}"; do printf '%-20s %-12s %6s  %s\n' "${NAMES[$i]}" "${STATES[$i]}" "${SECS[$i]}" "${NOTES[$i]}"; done
    if [ -f "$LOGS/step_bench.log" ]; then
        echo
        echo "whole training step (bench --device cuda against PyTorch on the same card):"
        grep -E 'ms/step|^device|^median: ' "$LOGS/step_bench.log" | sed 's/^/  ours:  /'
        grep '^torch_step ' "$LOGS/step_torch.log" 2>/dev/null | awk '{printf "  torch %-8s: %s ms/step, %s tokens/s, peak %s MB\n", $2, $3, $4, $5}'
        grep 'torch.compile' "$LOGS/step_torch.log" 2>/dev/null | sed 's/^/  /'
    fi
    if [ -f "$LOGS/bench.log" ]; then
        echo
        printf '%-28s %10s %8s %10s %8s %8s\n' op "ours ms" TFLOP/s "torch ms" TFLOP/s speedup
        grep '^bench [a-z]' "$LOGS/bench.log" | grep -v '^bench shapes' | while read -r _ name ms tf; do
            t=$(grep "^bench torch_$name " "$LOGS/bench_torch.log" 2>/dev/null | awk '{print $3, $4}')
            tms=${t% *}; ttf=${t#* }
            if [ -n "$t" ]; then sp=$(awk -v a="$ms" -v b="$tms" 'BEGIN { if (a > 0) printf "%.2fx", b / a }'); else tms=-; ttf=-; sp=-; fi
            printf '%-28s %10s %8s %10s %8s %8s\n' "$name" "$ms" "$tf" "$tms" "$ttf" "$sp"
        done
        grep '^bench torch_attention_.*bf16' "$LOGS/bench_torch.log" 2>/dev/null | awk '{printf "%-28s %10s %8s %10s %8s %8s\n", substr($2, 7) " (torch only)", "-", "-", $3, $4, "-"}'
        echo "(speedup: torch ms / ours ms, above 1 = ours faster; shapes in $LOGS/bench.log)"
    fi
    echo "logs: $LOGS; total $(($(date +%s) - T0)) s"
} | tee "$LOGS/summary.txt"
exit $FAILED
