#!/bin/bash
# tests/cuda/gpu_check.sh - the one script a session with a lent GPU runs (issue 22): the build, the
# op tests on the device, compute-sanitizer, the tool with --device cuda, then the speed table
# against PyTorch; in one call of under 8 minutes on an H200, needing nothing outside the working
# tree (no network, no ../shared).
#
# What comes back: exactly 3 files in $OUT (or --out DIR; with neither, build/gpu_check_out):
#   summary.txt            one row per step: step, status, seconds, estimate, one-line detail, then
#                          the speed table; rewritten after every step (the step in progress shows
#                          as `run`, the ones not reached as `todo`)
#   gpu_check.log          everything: the environment, then each step's command and whole output,
#                          appended while it runs
#   gpu_check_logs.tar.gz  the per-step files (build/gpu_check/: one log a step, tool_check's files),
#                          rewritten after every step
# so a call killed at its time limit still brings back what ran so far.
#
# Statuses: ok; FAIL (non-zero exit, timed out, or killed); skip (cannot run here: no nvcc, no
# compute-sanitizer or it answers "Device not supported" (gVisor), no build, no torch that sees the
# GPU, not selected); budget (its estimate did not fit in what --budget had left); dry (--dry-run).
# Exit status 1 if a step FAILed, else 0.
#
#   tests/cuda/gpu_check.sh                 on the GPU machine (the `run` tool: $OUT is set)
#   tests/cuda/gpu_check.sh --dry-run       anywhere: runs no nvcc, nvidia-smi, compute-sanitizer,
#                                           make or Python; the same steps in the same order, each
#                                           `dry` (or `budget`, on a clock advanced by the
#                                           estimates), the same 3 files (tests/cuda/test_gpu_check.sh)
#   --budget S       seconds for the whole run (default 540: the 600 s call less a margin); a step
#                    whose estimate is more than what is left is skipped as `budget` and the next
#                    one tried; each step runs under `timeout` min(its limit, what is left)
#   --only A,B       only these steps (the rest `skip`; env always runs); --skip A,B: all but these
#   --out DIR        where the 3 files go
# Environment: NVCC, SANITIZER, NVIDIA_SMI, PYTHON name the tools (set but empty: none); CUDA_ARCH
# (default sm_90); GPU_CHECK_REV names the commit where the tree came without .git.
# Only the steps that run our CUDA binaries get the Toolkit's lib64 in LD_LIBRARY_PATH (a prefix on
# their command): the PyTorch peers load their own CUDA libraries.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # (run as sh gpu_check.sh: bash it is)
set -u

# The budget table: step, estimated seconds on an H200 machine (16 cores), time limit (s), basis.
# The estimates add up to 465 s, under 8 minutes; the order is the order the steps run in.
PLAN='
env                  10   60  nvidia-smi, nvcc --version, the CUDA runtime, import torch (~5 s)
build                45  240  make -j cuda: nvcc of inheritune_cuda.cu ~12 s; the C/C++ mains ~30 s (measured on 2 cores)
build_sync           15   90  only when compute-sanitizer exists: the -DINH_CUDA_SYNC_EACH object (~12 s), linked with build/test_cuda_device.o
op_tests             45  180  build/test_cuda_device: ragged + GPT-2 shapes against the CPU oracle, the model tests
memcheck             40  120  compute-sanitizer on build/sync/test_cuda_device --quick (small shapes)
racecheck            60  150  the same, racecheck (shared-memory kernels run slowest there)
synccheck            25   90  the same, synccheck
tool                 20   90  tests/cuda/tool_check.sh: a tiny model, 10 steps on the CPU, 5 + 5 resumed on the GPU, eval, sample
step_bench           30  120  bench --device cuda 124M B=16 T=1024 bf16: 10 timed steps of ~0.3 s, each followed by a profiled one, + init
step_torch           30  120  tests/cuda/bench_torch_step.py eager: import, 12 steps of ~0.1 s
bench                25   90  build/bench_cuda: the matmuls and attention at GPT-2 shapes
bench_torch          30  120  tests/cuda/bench_torch.py: the same ops in PyTorch
step_torch_compiled  90  150  bench_torch_step.py --compiled, its own process: torch.compile ~60 s, then 12 steps
'
RESERVE=5   # seconds kept for the last summary and tarball

ORIG=$PWD
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
declare -A EST LIM
ORDER=()
EST_TOTAL=0
while read -r n e l _; do
    [ -z "$n" ] && continue
    ORDER+=("$n"); EST[$n]=$e; LIM[$n]=$l; EST_TOTAL=$((EST_TOTAL + e))
done <<< "$PLAN"

usage() { sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
DRY=0 BUDGET=540 ONLY='' SKIPS='' RES=${OUT:-}
while [ $# -gt 0 ]; do
    case $1 in
        --dry-run) DRY=1 ;;
        --budget) BUDGET=${2:-}; shift ;;
        --budget=*) BUDGET=${1#*=} ;;
        --only) ONLY=${2:-}; shift ;;
        --skip) SKIPS=${2:-}; shift ;;
        --out) RES=${2:-}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
    [ $# -gt 0 ] && shift
done
case $BUDGET in ''|*[!0-9]*) echo "gpu_check.sh: --budget takes whole seconds" >&2; exit 2 ;; esac
for n in ${ONLY//,/ } ${SKIPS//,/ }; do
    [ -n "${EST[$n]:-}" ] || { echo "gpu_check.sh: no step '$n' (steps: ${ORDER[*]})" >&2; exit 2; }
done
case $RES in
    '') RES=$ROOT/build/gpu_check_out ;;
    /*) ;;
    *) RES=$ORIG/$RES ;;
esac
W=$ROOT/build/gpu_check   # the per-step files; packed into the tarball
case "$RES/" in "$W/"*) echo "gpu_check.sh: --out must not be inside $W" >&2; exit 2 ;; esac
rm -rf "$W"
mkdir -p "$W" "$RES" || exit 1
LOG=$RES/gpu_check.log SUM=$RES/summary.txt TAR=$RES/gpu_check_logs.tar.gz
rm -f "$LOG" "$SUM" "$TAR"

# the tools (found, never run, by --dry-run)
JOBS=$(nproc 2>/dev/null || echo 4)
ARCH=${CUDA_ARCH:-sm_90}
[ "${NVCC+set}" = set ] || NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
CUDA_LIB=''
[ -n "$NVCC" ] && CUDA_LIB=$(cd "$(dirname "$NVCC")/../lib64" 2>/dev/null && pwd)
if [ "${SANITIZER+set}" != set ]; then
    SANITIZER=$(command -v compute-sanitizer || true)
    for f in "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")/compute-sanitizer" /usr/local/cuda/bin/compute-sanitizer; do
        [ -z "$SANITIZER" ] && [ -x "$f" ] && SANITIZER=$f
    done
fi
[ "${NVIDIA_SMI+set}" = set ] || NVIDIA_SMI=$(command -v nvidia-smi || true)
if [ "${PYTHON+set}" = set ]; then PYS=$PYTHON; else PYS="python3 /usr/bin/python3"; fi
# our binaries get the Toolkit's libraries (cuBLAS) through this prefix; nothing else does
CUDA_ENV=(env)
[ -n "$CUDA_LIB" ] && CUDA_ENV=(env "LD_LIBRARY_PATH=$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
export NVCC NVIDIA_SMI CUDA_LIB PYS

T0=$(date +%s)
VCLK=0   # --dry-run's clock: the estimates of the steps it passed
elapsed() { if [ $DRY = 1 ]; then echo "$VCLK"; else echo $(($(date +%s) - T0)); fi; }
NAMES=() STATES=() SECS=() NOTES=()
CUR='' CUR_START=0 TPID='' STEP_OFF=0 NEXT=0 GPU_LINE=''
MODE=$([ $DRY = 1 ] && echo "DRY RUN (nothing ran)" || echo "run")

pack() { tar -czf "$TAR.part" -C "$ROOT/build" gpu_check 2>/dev/null && mv -f "$TAR.part" "$TAR"; }

speed_table() {
    local name ms tf t tms ttf sp
    if grep -qs 'ms/step' "$W/step_bench.log" || grep -qs '^torch_step ' "$W/step_torch.log" "$W/step_torch_compiled.log"; then
        echo
        echo "whole training step, GPT-2 124M B=16 T=1024 bf16 (bench --device cuda; PyTorch on the same card):"
        grep -E 'ms/step|^device|^median: ' "$W/step_bench.log" 2>/dev/null | sed 's/^/  ours:  /'
        cat "$W/step_torch.log" "$W/step_torch_compiled.log" 2>/dev/null | grep '^torch_step ' |
            awk '{printf "  torch %-8s: %s ms/step, %s tokens/s, peak %s MB\n", $2, $3, $4, $5}'
        grep -h '^warm-up' "$W/step_torch_compiled.log" 2>/dev/null | sed 's/^/  torch compiled /'
    fi
    if grep -qs '^bench [a-z]' "$W/bench.log"; then
        echo
        printf '%-28s %10s %8s %10s %8s %8s\n' op "ours ms" TFLOP/s "torch ms" TFLOP/s speedup
        grep '^bench [a-z]' "$W/bench.log" | grep -v '^bench shapes' | while read -r _ name ms tf; do
            t=$(grep "^bench torch_$name " "$W/bench_torch.log" 2>/dev/null | awk '{print $3, $4}')
            tms=${t% *}; ttf=${t#* }
            if [ -n "$t" ]; then sp=$(awk -v a="$ms" -v b="$tms" 'BEGIN { if (a > 0) printf "%.2fx", b / a }'); else tms=-; ttf=-; sp=-; fi
            printf '%-28s %10s %8s %10s %8s %8s\n' "$name" "$ms" "$tf" "$tms" "$ttf" "$sp"
        done
        echo "(speedup: torch ms / ours ms, above 1 = ours faster)"
    fi
}

write_summary() {
    local i n seen c_ok=0 c_fail=0 c_skip=0 c_budget=0 c_dry=0 over=''
    {
        echo "gpu_check.sh $MODE, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname 2>/dev/null || echo '?'); ${GPU_LINE:-no GPU line}"
        echo "budget ${BUDGET} s; plan: ${#ORDER[@]} steps estimated at ${EST_TOTAL} s on an H200 (the table atop tests/cuda/gpu_check.sh); $([ $DRY = 1 ] && echo "dry clock (the estimates)" || echo elapsed) $(elapsed) s"
        printf '%-20s %-6s %5s %5s  %s\n' step status secs est detail
        for i in "${!NAMES[@]}"; do
            printf '%-20s %-6s %5s %5s  %s\n' "${NAMES[$i]}" "${STATES[$i]}" "${SECS[$i]}" "${EST[${NAMES[$i]}]}" "${NOTES[$i]}"
            case ${STATES[$i]} in
                ok) c_ok=$((c_ok + 1)) ;; FAIL) c_fail=$((c_fail + 1)) ;; skip) c_skip=$((c_skip + 1)) ;;
                budget) c_budget=$((c_budget + 1)); over="$over ${NAMES[$i]}" ;; dry) c_dry=$((c_dry + 1)) ;;
            esac
        done
        [ -n "$CUR" ] && printf '%-20s %-6s %5s %5s  %s\n' "$CUR" run $(($(date +%s) - CUR_START)) "${EST[$CUR]}" \
            "in progress when this was written: a row left so means the call was killed here"
        for n in "${ORDER[@]}"; do
            seen=0
            for i in "${NAMES[@]}" "$CUR"; do [ "$i" = "$n" ] && seen=1; done
            [ $seen = 0 ] && printf '%-20s %-6s %5s %5s  %s\n' "$n" todo - "${EST[$n]}" "not reached yet"
        done
        echo "result: $c_ok ok, $c_fail FAIL, $c_skip skip, $c_budget budget$([ $DRY = 1 ] && echo ", $c_dry dry")"
        [ -n "$over" ] && echo "budget: skipped, their estimates not fitting in what was left of ${BUDGET} s:$over"
        speed_table
        echo
        echo "files: summary.txt (this), gpu_check.log (everything), gpu_check_logs.tar.gz (one log a step)"
    } > "$SUM.part" && mv -f "$SUM.part" "$SUM"
}

oneline() { printf '%s' "$*" | tr -s '\t\n ' '   ' | cut -c1-110; }

# the detail column: the line that says most about a step's result
detail() {
    local f=$W/$1.log l=''
    case $1 in
        env) l=$(sed -n 's/^env: //p' "$f" | tail -1) ;;
        build|build_sync)
            l=$(grep -ciE 'warning' "$f")
            if grep -qiE 'error' "$f"; then l="$l warnings; $(grep -iE -m1 'error' "$f")"
            elif [ "$l" = 0 ]; then l="no warnings"; else l="$l warnings; $(grep -iE -m1 'warning' "$f")"; fi ;;
        bench|bench_torch)
            l=$(grep '^bench ' "$f" | grep -vc '^bench shapes')
            if [ "$l" = 0 ]; then l=''; else l="$l ops timed; $(grep -m1 -E 'failed|rror' "$f")"; fi ;;
        *) l=$(grep -E '[0-9]+ passed, [0-9]+ failed|ERROR SUMMARY|RACECHECK SUMMARY|tokens/s|^tool:|rror' "$f" | tail -1) ;;
    esac
    [ -z "$l" ] && l=$(grep -v '^[[:space:]]*$' "$f" | tail -1)
    oneline "$l"
}

record() {   # NAME STATUS SECONDS DETAIL
    NAMES+=("$1"); STATES+=("$2"); SECS+=("$3"); NOTES+=("$(oneline "$4")")
    printf '== %-20s %-6s %4ss  %s\n' "$1" "$2" "$3" "${NOTES[${#NOTES[@]} - 1]}" | tee -a "$LOG"
    [ "$2" = ok ] || [ "$2" = FAIL ] && [ -s "$W/$1.log" ] && tail -n 3 "$W/$1.log" | cut -c1-150 | sed 's/^/     /'
    write_summary
    pack
}

selected() {
    [ "$1" = env ] && return 0
    [ -n "$ONLY" ] && case ",$ONLY," in *",$1,"*) ;; *) return 1 ;; esac
    case ",$SKIPS," in *",$1,"*) return 1 ;; esac
    return 0
}

SKIP_IF=''   # a pattern that turns a failed step into a skip (compute-sanitizer's "Device not supported")
# step NAME WHY COMMAND...: WHY is empty when the step can run here, else why it cannot (--dry-run
# ignores it); returns 0 when the step ran and passed (or is dry)
step() {
    local name=$1 why=$2 est lim left rc dt st note
    shift 2
    [ "$name" = "${ORDER[$NEXT]:-}" ] || echo "gpu_check.sh: internal: step $name is not next in the plan table (${ORDER[$NEXT]:-end})" | tee -a "$LOG" >&2
    NEXT=$((NEXT + 1))
    est=${EST[$name]} lim=${LIM[$name]}
    left=$((BUDGET - $(elapsed) - RESERVE))
    [ $left -lt 0 ] && left=0
    if ! selected "$name"; then record "$name" skip 0 "not selected (--only/--skip)"; return 1; fi
    if [ $DRY = 0 ] && [ -n "$why" ]; then record "$name" skip 0 "$why"; return 1; fi
    if [ "$est" -gt "$left" ]; then record "$name" budget 0 "skipped: estimate ${est} s > ${left} s left of --budget ${BUDGET}"; return 1; fi
    if [ $DRY = 1 ]; then
        printf 'dry run of %s; would run (limit %s s): %s\n' "$name" "$lim" "$*" | tee "$W/$name.log" >> "$LOG"
        VCLK=$((VCLK + est))
        record "$name" dry 0 "$*"
        return 0
    fi
    [ "$lim" -gt "$left" ] && lim=$left
    CUR=$name CUR_START=$(date +%s)
    write_summary
    printf '\n=== %s %s (estimate %s s, limit %s s)\n$ %s\n' "$(date '+%H:%M:%S')" "$name" "$est" "$lim" "$*" >> "$LOG"
    echo "== $name (estimate ${est} s, limit ${lim} s)"
    STEP_OFF=$(wc -c < "$LOG")
    # in the background, so that a TERM reaches the trap at once; the output goes straight into the log
    timeout -k 10 "$lim" "$@" < /dev/null >> "$LOG" 2>&1 &
    TPID=$!
    wait "$TPID"; rc=$?
    TPID=''
    dt=$(($(date +%s) - CUR_START))
    tail -c +$((STEP_OFF + 1)) "$LOG" > "$W/$name.log"
    CUR=''
    note=$(detail "$name")
    st=ok
    if [ $rc -ne 0 ]; then
        st=FAIL
        if [ -n "$SKIP_IF" ] && grep -qiE "$SKIP_IF" "$W/$name.log"; then
            st=skip note=$(oneline "$(grep -iE -m1 "$SKIP_IF" "$W/$name.log" | sed 's/^=* *//')")
        elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note="timed out after ${lim} s; $note"
        else note="exit $rc; $note"; fi
    fi
    record "$name" "$st" "$dt" "$note"
    [ "$st" = ok ]
}

# shellcheck disable=SC2317   # reached through the trap
on_signal() {
    trap - TERM INT HUP
    [ -n "$TPID" ] && kill -TERM "$TPID" 2>/dev/null
    echo "gpu_check.sh: stopped by a signal after $(elapsed) s" >> "$LOG"
    if [ -n "$CUR" ]; then
        local n=$CUR
        tail -c +$((STEP_OFF + 1)) "$LOG" > "$W/$n.log"
        CUR=''
        record "$n" FAIL $(($(date +%s) - CUR_START)) "killed by a signal (the call's time limit?)"
    else
        write_summary; pack
    fi
    exit 143
}
trap on_signal TERM INT HUP

# what the machine is (the env step): GPU, driver, clocks, nvcc, CUDA runtime, torch
# shellcheck disable=SC2317   # reached through bash -c
env_info() {
    local gpu='no nvidia-smi' nv='no nvcc' rt='' tv='no torch that sees a GPU' py
    echo "uname: $(uname -srm); $(nproc) cores; $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}')"
    if [ -n "$NVIDIA_SMI" ]; then
        timeout 30 "$NVIDIA_SMI" --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,temperature.gpu,power.draw,power.limit --format=csv
        gpu=$(timeout 30 "$NVIDIA_SMI" --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | head -1 |
            awk -F', ' '{printf "%s, driver %s, SM clock %s (max %s)", $1, $2, $3, $4}')
        timeout 30 "$NVIDIA_SMI"
    fi
    if [ -n "$NVCC" ]; then
        timeout 30 "$NVCC" --version
        nv="nvcc $(timeout 30 "$NVCC" --version | grep -o 'release [0-9.]*' | cut -d' ' -f2)"
    fi
    for py in $PYS; do
        [ -n "$CUDA_LIB" ] && [ -z "$rt" ] && rt=$(timeout 30 "$py" -c 'import ctypes, sys
l = ctypes.CDLL(sys.argv[1] + "/libcudart.so")
r, d = ctypes.c_int(), ctypes.c_int()
l.cudaRuntimeGetVersion(ctypes.byref(r)); l.cudaDriverGetVersion(ctypes.byref(d))
print("CUDA runtime %d.%d, driver API %d.%d" % (r.value // 1000, r.value % 1000 // 10, d.value // 1000, d.value % 1000 // 10))' "$CUDA_LIB" 2>&1) &&
            echo "$rt" || rt=''
        if out=$(timeout 90 "$py" -c 'import torch
ok = torch.cuda.is_available()
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", ok,
      torch.cuda.get_device_name() if ok else "", torch.cuda.get_device_capability() if ok else "")
print("torch_ok", int(ok))' 2>&1); then
            echo "$py: $out"
            if echo "$out" | grep -q '^torch_ok 1'; then
                echo "torch_python: $(command -v "$py")"
                tv=$(echo "$out" | grep '^torch ' | head -1 | awk '{print "torch " $2 " (cuda " $4 ")"}')
                break
            fi
        else
            echo "$py: no torch: $(echo "$out" | tail -1)"
        fi
    done
    if [ -z "$rt" ] && [ -n "$CUDA_LIB" ]; then   # no Python: the library's file name
        for f in "$CUDA_LIB"/libcudart.so.[0-9]*; do [ -e "$f" ] && rt="CUDA runtime ${f##*/libcudart.so.}"; done
    fi
    echo "git HEAD: $(git rev-parse HEAD 2>/dev/null || echo "${GPU_CHECK_REV:-unknown (no .git; GPU_CHECK_REV=...)}")"
    echo "env: $gpu; $nv; ${rt:-no CUDA runtime version}; $tv"
}
export -f env_info

{
    echo "gpu_check.sh $MODE: $(date '+%Y-%m-%d %H:%M:%S %Z') on $(hostname 2>/dev/null || echo '?'), budget ${BUDGET} s"
    echo "git HEAD: $(git rev-parse HEAD 2>/dev/null || echo "${GPU_CHECK_REV:-unknown (no .git; GPU_CHECK_REV=...)}")$(
        [ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (with local changes)')"
    echo "sha256: $(sha256sum inheritune_cuda.cu inheritune.h 2>/dev/null | awk '{printf "%s %.16s  ", $2, $1}')"
    echo "tools: nvcc=${NVCC:-none} compute-sanitizer=${SANITIZER:-none} nvidia-smi=${NVIDIA_SMI:-none} python: $PYS; CUDA lib64: ${CUDA_LIB:-none}"
    echo "plan (step, estimate s, limit s, basis):"
    printf '%s\n' "$PLAN" | sed -e '/^$/d' -e 's/^/  /'
} >> "$LOG"
write_summary
pack

# 0. the machine
step env "" bash -c env_info
GPU_LINE=$(sed -n 's/^env: //p' "$W/env.log" 2>/dev/null | tail -1)
[ $DRY = 1 ] && GPU_LINE="no GPU tool was run"
PYT=$(sed -n 's/^torch_python: //p' "$W/env.log" 2>/dev/null | tail -1)
[ $DRY = 1 ] && PYT=python3
TORCH_WHY=''; [ -z "$PYT" ] && TORCH_WHY="no python3 whose torch sees a GPU (see env)"

# 1. build: the tool, the device tests and bench_cuda; the synchronising object only for the sanitizers
BUILT=0 SYNCED=0
step build "$([ -n "$NVCC" ] || echo 'no nvcc (the CUDA Toolkit)')" \
    make -j"$JOBS" cuda NVCC="${NVCC:-nvcc}" CUDA_ARCH="$ARCH" && BUILT=1
NOBUILD=''; [ $BUILT = 1 ] || NOBUILD="no build"
SYNC_WHY=$NOBUILD; [ -z "$SANITIZER" ] && SYNC_WHY="no compute-sanitizer"
F="-O3 -std=c++17 -arch=$ARCH -lineinfo -DINH_CUDA_SYNC_EACH"
SYNC="mkdir -p build/sync && '${NVCC:-nvcc}' $F -c inheritune_cuda.cu -o build/sync/inheritune_cuda.o"
SYNC="$SYNC && '${NVCC:-nvcc}' $F build/test_cuda_device.o build/sync/inheritune_cuda.o -o build/sync/test_cuda_device"
SYNC="$SYNC -lcublasLt -lcublas -lpthread -Xlinker -rpath -Xlinker '${CUDA_LIB:-/usr/local/cuda/lib64}'"
step build_sync "$SYNC_WHY" bash -c "$SYNC" && SYNCED=1

# 2. the op tests on the device: every op against the CPU at ragged and GPT-2 shapes, the whole model
step op_tests "$NOBUILD" "${CUDA_ENV[@]}" build/test_cuda_device

# 3. compute-sanitizer on the short run; "Device not supported" (gVisor) is a skip
SAN_WHY=$SYNC_WHY; [ $SYNCED = 1 ] || [ -n "$SAN_WHY" ] || SAN_WHY="no sanitizer build (build_sync failed)"
SAN=${SANITIZER:-compute-sanitizer}
SKIP_IF='Device not supported|device is not supported'
step memcheck "$SAN_WHY" "${CUDA_ENV[@]}" "$SAN" --tool memcheck --error-exitcode 3 build/sync/test_cuda_device --quick
[ $DRY = 0 ] && [ -z "$SAN_WHY" ] && grep -qiE "$SKIP_IF" "$W/memcheck.log" 2>/dev/null &&
    SAN_WHY="compute-sanitizer: Device not supported (see memcheck)"
step racecheck "$SAN_WHY" "${CUDA_ENV[@]}" "$SAN" --tool racecheck --racecheck-report all --error-exitcode 3 build/sync/test_cuda_device --quick
step synccheck "$SAN_WHY" "${CUDA_ENV[@]}" "$SAN" --tool synccheck --error-exitcode 3 build/sync/test_cuda_device --quick
SKIP_IF=''

# 4. the tool with --device cuda against the CPU: train, resume, eval, sample
step tool "$NOBUILD" "${CUDA_ENV[@]}" sh tests/cuda/tool_check.sh build/inheritune_cuda "$W"

# 5. speed: the whole step against PyTorch eager, the ops against PyTorch's, then torch.compile
#    (its own process under its own timeout: compiling may take long, and is what goes first)
step step_bench "$NOBUILD" "${CUDA_ENV[@]}" build/inheritune_cuda bench --device cuda --batch 16 --seq 1024 --bf16 --steps 10 --threads 4
step step_torch "$TORCH_WHY" env PYTHONUNBUFFERED=1 "$PYT" tests/cuda/bench_torch_step.py --batch 16 --seq 1024 --bf16 --steps 10
step bench "$NOBUILD" "${CUDA_ENV[@]}" build/bench_cuda
step bench_torch "$TORCH_WHY" env PYTHONUNBUFFERED=1 "$PYT" tests/cuda/bench_torch.py
step step_torch_compiled "$TORCH_WHY" env PYTHONUNBUFFERED=1 "$PYT" tests/cuda/bench_torch_step.py --batch 16 --seq 1024 --bf16 --steps 10 --compiled

if [ $DRY = 0 ] && [ -n "$NVIDIA_SMI" ]; then
    { echo; echo "after the steps:"; timeout 20 "$NVIDIA_SMI" --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv; } >> "$LOG" 2>&1
fi
echo "gpu_check.sh: done in $(($(date +%s) - T0)) s" >> "$LOG"
write_summary
pack
echo
cat "$SUM"
for s in "${STATES[@]}"; do [ "$s" = FAIL ] && exit 1; done
exit 0
