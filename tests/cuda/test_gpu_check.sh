#!/bin/bash
# tests/cuda/test_gpu_check.sh - tests/cuda/gpu_check.sh without a GPU (part of `make test`): its
# --dry-run runs none of the GPU tools and still writes exactly the 3 files, in the order build, op
# tests, sanitizers, tool check, speed; --budget skips what does not fit; the plan fits 8 minutes;
# a run on a machine without the tools skips each step with its reason; a run killed in a step
# leaves the 3 files, the step marked `run` (KILL) or FAIL (TERM). About 10 s.
set -u
cd "$(dirname "$0")/../.." || exit 1
G=tests/cuda/gpu_check.sh
pass=0 fail=0
ok() { if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"; else fail=$((fail + 1)); echo "not ok - $2"; fi; }
check() { local d=$1; shift; "$@" >/dev/null 2>&1; ok $? "$d"; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset NVCC SANITIZER NVIDIA_SMI PYTHON GPU_CHECK_REV CUDA_ARCH

# stand-ins for the GPU tools, first in PATH: each call is recorded (a dry run must make none)
mkdir -p "$T/cuda/bin" "$T/cuda/lib64"
for t in nvcc nvidia-smi compute-sanitizer python3 make; do
    printf '#!/bin/sh\necho "%s $*" >> %s/calls\nexit 1\n' "$t" "$T" > "$T/cuda/bin/$t"
    chmod +x "$T/cuda/bin/$t"
done
FAKE=$T/cuda/bin:$PATH

three_files() {   # DIR: exactly summary.txt, gpu_check.log, gpu_check_logs.tar.gz
    [ "$(cd "$1" && find . -mindepth 1 | sort | tr '\n' ' ')" = "./gpu_check.log ./gpu_check_logs.tar.gz ./summary.txt " ]
}
rows() { awk '/^step +status/ { on = 1; next } /^result:/ { on = 0 } on { print $1, $2 }' "$1"; }
group() {
    case $1 in
        env) echo 0 ;; build|build_sync) echo 1 ;; op_tests) echo 2 ;; memcheck|racecheck|synccheck) echo 3 ;;
        tool) echo 4 ;; step_bench|step_torch|bench|bench_torch|step_torch_compiled) echo 5 ;; *) echo 9 ;;
    esac
}

# 1. the plain dry run
check "gpu_check.sh parses (bash -n)" bash -n $G
mkdir "$T/o1"
PATH=$FAKE OUT=$T/o1 bash $G --dry-run > "$T/o1.stdout" 2>&1
ok $? "--dry-run exits 0"
check "--dry-run writes exactly summary.txt, gpu_check.log, gpu_check_logs.tar.gz" three_files "$T/o1"
check "--dry-run calls no nvcc, nvidia-smi, compute-sanitizer, python3 or make" test ! -e "$T/calls"
rows "$T/o1/summary.txt" > "$T/rows1"
check "13 steps, each dry" test "$(grep -c ' dry$' "$T/rows1")" = 13 -a "$(wc -l < "$T/rows1")" = 13
order=$(while read -r n _; do group "$n"; done < "$T/rows1" | uniq | tr '\n' ' ')
ok "$([ "$order" = "0 1 2 3 4 5 " ]; echo $?)" "step order: env, build, op tests, sanitizers, tool check, speed (groups: $order)"
check "build_sync right after build, the compiled torch peer last" \
    test "$(sed -n '2p;$p' "$T/rows1" | awk '{print $1}' | tr '\n' ' ')" = "build step_torch_compiled "
est=$(sed -n 's/.*estimated at \([0-9]*\) s.*/\1/p' "$T/o1/summary.txt")
ok "$([ -n "$est" ] && [ "$est" -le 480 ]; echo $?)" "the estimates add up to at most 8 minutes (${est:-?} s)"
check "the tarball holds one log a step" test "$(tar tzf "$T/o1/gpu_check_logs.tar.gz" | grep -c '^gpu_check/.*\.log$')" = 13
check "the log starts with date, host, git HEAD and the tools" \
    grep -q "^git HEAD: " "$T/o1/gpu_check.log" -a "$(head -1 "$T/o1/gpu_check.log" | grep -c ' on ')" = 1
check "our CUDA binaries get the Toolkit's lib64 by a prefix" \
    test "$(grep -cE "^dry run of (op_tests|memcheck|tool|step_bench|bench);.* env LD_LIBRARY_PATH=$T/cuda/lib64 " "$T/o1/gpu_check.log")" = 5
check "the PyTorch peers do not get LD_LIBRARY_PATH" \
    test "$(grep -E '^dry run of (step_torch|bench_torch|step_torch_compiled);' "$T/o1/gpu_check.log" | grep -vc LD_LIBRARY_PATH)" = 3
check "no global export of LD_LIBRARY_PATH" test "$(grep -c 'export LD_LIBRARY_PATH' $G)" = 0
check "the compiled peer is its own invocation (--compiled), no thread in bench_torch_step.py" \
    test "$(grep -c -- '--compiled' "$T/o1/gpu_check.log")" -ge 1 -a "$(grep -c threading tests/cuda/bench_torch_step.py)" = 0

# 2. --budget: a step whose estimate does not fit is skipped as `budget`, and the run says so
mkdir "$T/o2"
PATH=$FAKE OUT=$T/o2 bash $G --dry-run --budget 1 > /dev/null 2>&1
ok $? "--dry-run --budget 1 exits 0"
check "--budget 1: exactly the 3 files" three_files "$T/o2"
rows "$T/o2/summary.txt" > "$T/rows2"
check "--budget 1: every step marked budget" test "$(grep -c ' budget$' "$T/rows2")" = 13
check "--budget 1: the summary names what the budget skipped" grep -q '^budget: skipped.*step_torch_compiled' "$T/o2/summary.txt"
mkdir "$T/o3"
PATH=$FAKE OUT=$T/o3 bash $G --dry-run --budget 200 > /dev/null 2>&1
rows "$T/o3/summary.txt" | awk '{print $2}' | uniq | tr '\n' ' ' > "$T/st3"
check "--budget 200: the first steps dry, the speed steps budget" \
    test "$(head -c 4 "$T/st3")" = "dry " -a "$(rows "$T/o3/summary.txt" | tail -5 | grep -c ' budget$')" = 5
PATH=$FAKE OUT=$T/o3 bash $G --dry-run --budget x > /dev/null 2>&1
ok "$([ $? = 2 ]; echo $?)" "--budget x is refused (exit 2)"
PATH=$FAKE OUT=$T/o3 bash $G --dry-run --only nosuchstep > /dev/null 2>&1
ok "$([ $? = 2 ]; echo $?)" "--only with an unknown step is refused (exit 2)"

# 3. a real run where nothing is installed: each step skipped with its reason, exit 0, the 3 files
mkdir "$T/o4"
NVCC='' SANITIZER='' NVIDIA_SMI='' PYTHON='' OUT=$T/o4 bash $G --budget 60 > /dev/null 2>&1
ok $? "a run without nvcc, compute-sanitizer, nvidia-smi, torch exits 0"
check "... with exactly the 3 files" three_files "$T/o4"
rows "$T/o4/summary.txt" > "$T/rows4"
check "... env ok, the 12 others skip" test "$(head -1 "$T/rows4")" = "env ok" -a "$(grep -c ' skip$' "$T/rows4")" = 12
check "... the build says why (no nvcc), the op tests too (no build)" \
    grep -q '^build  *skip .*no nvcc' "$T/o4/summary.txt" -a "$(grep -c '^op_tests  *skip .*no build' "$T/o4/summary.txt")" = 1

# 4. killed in a step (the call's time limit): a stand-in nvidia-smi hangs the env step
for sig in KILL TERM; do
    # its first call hangs 4 s (one stand-in and marker a case: the KILL case's orphan calls its own again)
    printf '#!/bin/sh\n[ -e %s/hung%s ] || { echo $$ > %s/hung%s; exec sleep 4; }\n' "$T" $sig "$T" $sig > "$T/smi$sig"
    chmod +x "$T/smi$sig"
    mkdir "$T/k$sig"
    NVCC='' SANITIZER='' NVIDIA_SMI=$T/smi$sig PYTHON='' OUT=$T/k$sig bash $G > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -s "$T/hung$sig" ] && break; sleep 0.1; done
    kill -$sig $pid
    wait $pid 2>/dev/null
    rc=$?
    kill "$(cat "$T/hung$sig")" 2>/dev/null   # the stand-in, left running by KILL
    check "killed ($sig) in a step: the 3 files are there" three_files "$T/k$sig"
    if [ $sig = KILL ]; then
        check "... the summary shows that step as run, the rest todo" \
            test "$(rows "$T/k$sig/summary.txt" | head -2 | tr '\n' ' ')" = "env run build todo "
    else
        ok "$([ $rc = 143 ]; echo $?)" "... exit 143 (it was $rc)"
        check "... the summary shows that step as FAIL, killed" grep -q '^env  *FAIL .*killed' "$T/k$sig/summary.txt"
    fi
done

echo "test_gpu_check: $pass passed, $fail failed"
[ $fail = 0 ]
