#!/bin/sh
# tests/platform_tool.sh PLATFORM: the command-line tool built for another platform (make windows,
# test-arm64, test-32, test-bigendian, test-wasm) through a user's first session, checked against
# the native Linux tool: synth, train with a state, a second train over the same --out, resume
# (stopped at step 10 of 20, then --resume: bit-identical to the straight run), Ctrl-C and resume
# (not on WASI: no signals), eval, sample,
# analyze --html, recipe, convert both ways; a model written there evaluates here to the same loss
# (1e-5) and the other way. Closing line: "N passed, N failed".
plat=$1
case $plat in
    windows) X="${WINE:-wine} build/win/inheritune.exe" ;;
    arm64)   X="qemu-aarch64 -L /usr/aarch64-linux-gnu build/arm64/inheritune" ;;
    arm32)   X="qemu-arm -L /usr/arm-linux-gnueabihf build/arm32/inheritune" ;;
    i686)    X="${QEMU_I686:-qemu-i386} build/i686/inheritune" ;;
    s390x)   X="qemu-s390x -L /usr/s390x-linux-gnu build/s390x/inheritune" ;;
    wasm)    X="node --no-warnings tools/wasi_run.mjs build/inheritune.wasm" ;;
    *) echo "usage: sh tests/platform_tool.sh windows|arm64|arm32|i686|s390x|wasm"; exit 2 ;;
esac
N=build/inheritune
[ -x "$N" ] || make -s "$N" >/dev/null
D=build/pt_$plat
rm -rf "$D"; mkdir -p "$D"
pass=0; fail=0; skipped=0
check() {   # check STATUS WHAT: STATUS 0 passes
    if [ "$1" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL platform_tool ($plat): $2"; tail -5 "$D/log" 2>/dev/null; fi
}
has() { grep -q "$1" "$D/log"; }
loss_of() { sed -n 's/^loss \([0-9.]*\) over.*/\1/p' "$1" | head -1; }
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 1e-5) }'; }

$X synth --out "$D/d" --vocab 64 --tokens 20000 --val-tokens 4000 > "$D/log" 2>&1
check $? "synth"
$N synth --out "$D/dn" --vocab 64 --tokens 20000 --val-tokens 4000 > /dev/null 2>&1
cmp -s "$D/d/train.bin" "$D/dn/train.bin" && cmp -s "$D/d/val.bin" "$D/dn/val.bin"
check $? "synth writes the same shards as on Linux"

TR="train --data $D/d/train.bin --val $D/d/val.bin --layers 2 --heads 2 --dim 32 --seq-max 64 --seq 32 --batch 4 --schedule constant"
$X $TR --threads 2 --steps 20 --out "$D/m.bin" --state "$D/s.bin" > "$D/log" 2>&1
check $? "train 20 steps with --out and --state"
has "step 20 loss"; check $? "train prints its steps"
$X $TR --threads 2 --steps 20 --out "$D/m.bin" > "$D/log" 2>&1
check $? "a second train --out over the existing model (atomic replace)"
$X $TR --threads 2 --steps 10 --out "$D/r.bin" --state "$D/r.state" > "$D/log" 2>&1 && $X train --resume "$D/r.state" --steps 20 --out "$D/r.bin" > "$D/log" 2>&1
check $? "stop at step 10 with a state, then --resume to 20"
cmp -s "$D/r.bin" "$D/m.bin"
check $? "10 steps + resume 10 = the straight 20-step model, bit for bit"

# Ctrl-C (SIGINT; wine turns it into the console's Ctrl-C event): the run saves and stops, then resumes
if [ "$plat" = wasm ]; then
    echo "skip: platform_tool (wasm): no signals in WASI (a WASI program cannot be interrupted and resumed this way)"
    skipped=$((skipped + 1))
else
    # (qemu-i386 sometimes crashes a static threaded program after SIGINT, once it has saved and
    # printed its message: one thread there; native and qemu-aarch64/arm runs take 2 threads)
    ct=2; [ "$plat" = i686 ] && ct=1
    $X $TR --threads $ct --steps 100000 --out "$D/ci.bin" --state "$D/ci.state" > "$D/ci.log" 2>&1 &
    bg=$!
    i=0; while [ $i -lt 600 ] && ! grep -q "^step 5 loss" "$D/ci.log"; do sleep 0.1; i=$((i + 1)); done
    for p in $(pgrep -f "inheritune.* --state $D/ci.state"); do kill -INT "$p"; done
    wait $bg; st=$?
    cp "$D/ci.log" "$D/log"
    [ $st -eq 130 ] && has "interrupted: stopped after step" && [ -s "$D/ci.state" ]
    check $? "Ctrl-C stops the run, saves model and state, exits 130 (exit $st)"
    n=$(sed -n 's/^interrupted: stopped after step \([0-9]*\).*/\1/p' "$D/ci.log")
    $X train --resume "$D/ci.state" --steps $((${n:-0} + 3)) > "$D/log" 2>&1 && has "step $((${n:-0} + 3)) loss"
    check $? "--resume goes on from the interrupted step $n"
fi

$X eval --model "$D/m.bin" --data "$D/d/val.bin" > "$D/eval_x" 2>&1
check $? "eval"
$N eval --model "$D/m.bin" --data "$D/d/val.bin" --threads 1 > "$D/eval_n" 2>&1
close "$(loss_of "$D/eval_x")" "$(loss_of "$D/eval_n")"
check $? "its model evaluates on Linux to its own loss within 1e-5 ($(loss_of "$D/eval_x") there, $(loss_of "$D/eval_n") here)"
$N $TR --threads 2 --steps 20 --out "$D/lin.bin" > /dev/null 2>&1
$X eval --model "$D/lin.bin" --data "$D/d/val.bin" > "$D/eval_x" 2>&1
$N eval --model "$D/lin.bin" --data "$D/d/val.bin" --threads 1 > "$D/eval_n" 2>&1
close "$(loss_of "$D/eval_x")" "$(loss_of "$D/eval_n")"
check $? "a Linux model evaluates there to the same loss within 1e-5 ($(loss_of "$D/eval_x") there, $(loss_of "$D/eval_n") here)"

$X sample --model "$D/m.bin" --prompt-ids 1,2,3 --tokens 8 --temperature 0 > "$D/log" 2>&1
check $? "sample"
$N sample --model "$D/m.bin" --prompt-ids 1,2,3 --tokens 8 --temperature 0 --threads 1 > "$D/sample_n" 2>&1
x=$(tr -d '\r' < "$D/log"); n=$(cat "$D/sample_n")
[ "$x" = "$n" ]
check $? "greedy sample equals Linux's ($x | $n)"

$X analyze --model "$D/m.bin" --data "$D/d/val.bin" --seqs 4 --seq-len 32 --html "$D/a.html" --json "$D/a.json" > "$D/log" 2>&1
check $? "analyze --html --json"
[ -s "$D/a.html" ] && grep -q '<svg' "$D/a.html" && grep -q '"layers"' "$D/a.json"
check $? "analyze writes its report and metrics"

$X recipe --ref "$D/m.bin" --data "$D/d/train.bin" --val "$D/d/val.bin" --out "$D/rc" --steps 4 --batch 2 --seq 16 --eval-batches 2 --baselines none --threads 1 > "$D/log" 2>&1
check $? "recipe"
[ -s "$D/rc/recipe.json" ] && [ -s "$D/rc/report.html" ]
check $? "recipe writes recipe.json and report.html"

$X convert "$D/m.bin" "$D/hf/" > "$D/log" 2>&1 && $X convert "$D/hf" "$D/back.bin" >> "$D/log" 2>&1
check $? "convert to safetensors and back"
cmp -s "$D/m.bin" "$D/back.bin"
check $? "the round trip through safetensors gives the same file"
$N convert "$D/m.bin" "$D/hfn/" > /dev/null 2>&1
cmp -s "$D/hf/model.safetensors" "$D/hfn/model.safetensors"
check $? "its safetensors file is byte-identical to Linux's"

# a UTF-8 path (a user called Zoë; Windows: converted to UTF-16 for every call)
mkdir -p "$D/Zoë 模型"
$X convert "$D/m.bin" "$D/Zoë 模型/m.bin" > "$D/log" 2>&1 && $X eval --model "$D/Zoë 模型/m.bin" --data "$D/d/val.bin" > "$D/eval_x" 2>&1 &&
    cmp -s "$D/m.bin" "$D/Zoë 模型/m.bin"
check $? "a model saved to and loaded from a directory named 'Zoë 模型'"

$X eval --model "$D/d" --data "$D/d/val.bin" > "$D/log" 2>&1
[ $? -ne 0 ] && has "error:" && has "no model.safetensors"
check $? "a bad input fails with a message naming the problem"

if [ $skipped -gt 0 ]; then echo "platform_tool ($plat): $pass passed, $fail failed, $skipped skipped"
else echo "platform_tool ($plat): $pass passed, $fail failed"; fi
[ $fail -eq 0 ]
