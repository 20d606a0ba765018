#!/bin/sh
# bench/vs_pytorch.sh - our training step against PyTorch's on the same shapes, in one run.
# Our `build/inheritune bench` and bench/torch_step.py (a nanoGPT-style model of the same shape,
# AdamW foreach, clipping) take turns, REPEATS times each (default 3); the table gives medians.
# PyTorch runs tuned, as a careful user would run it on this machine: OpenBLAS as the system BLAS
# (Debian's torch calls libblas.so.3; the reference BLAS behind it is 25x slower: apt-get install
# libopenblas0-pthread), its kernels chosen by the CPU's flags: SkylakeX with AVX-512, Haswell with
# AVX2+FMA (0.3.21 picks AVX2 ones on Zen 5, and SSE3 "Prescott" ones on an Emerald Rapids Xeon VM,
# 6x slower; CORETYPE= overrides, CORETYPE="" leaves OpenBLAS its own choice), jemalloc that keeps freed memory (glibc
# returns big tensors to the OS at every free, so each step page-faults them back in), and a
# passive OpenMP wait at 2 threads. Without torch (apt-get install python3-torch) only our figures
# are printed.
#   sh bench/vs_pytorch.sh                     (run `make` first; about 20 minutes on 2 cores)
#   SHAPES="tiny small" PRECS=fp32 THREADS=1 REPEATS=1 sh bench/vs_pytorch.sh   (a subset)
#   BEFORE=/path/to/older/inheritune sh bench/vs_pytorch.sh   (an older build too, in the same turns:
#                                                             a before/after table from one run)
#   ISA=avx2 sh bench/vs_pytorch.sh            (an AVX2 laptop's build: ours with -march=haswell,
#                                               build/avx2/inheritune, PyTorch on OpenBLAS's Haswell kernels)
set -u
B=build
PY=${PY:-/usr/bin/python3}
REPEATS=${REPEATS:-3}
SHAPES=${SHAPES:-"tiny small 124m 124m_t1024"}
PRECS=${PRECS:-"fp32 bf16"}
THREADS=${THREADS:-"1 2"}
BEFORE=${BEFORE:-}
ISA=${ISA:-native}
case $ISA in
    native) OURS=$B/inheritune ;;
    avx2) make -s $B/avx2/inheritune >/dev/null || exit 1; OURS=$B/avx2/inheritune; CORETYPE=${CORETYPE-Haswell} ;;
    *) echo "ISA=$ISA: native or avx2" >&2; exit 1 ;;
esac
[ -x $OURS ] || { echo "run make first" >&2; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "BEFORE=$BEFORE is not an executable" >&2; exit 1; }
out=$B/vs_pytorch
rm -rf $out; mkdir -p $out   # (no figures of an earlier run in the medians)

shape_flags() {   # model and batch flags of each shape, the same for both programs
    case $1 in
        tiny) echo "--layers 4 --heads 4 --dim 128 --seq-max 128 --vocab 257 --batch 16 --seq 128 --steps 9" ;;
        small) echo "--layers 6 --heads 6 --dim 384 --seq-max 256 --vocab 50257 --batch 8 --seq 256 --steps 5" ;;
        124m) echo "--layers 12 --heads 12 --dim 768 --seq-max 1024 --vocab 50257 --batch 4 --seq 64 --steps 5" ;;
        124m_t1024) echo "--layers 12 --heads 12 --dim 768 --seq-max 1024 --vocab 50257 --batch 1 --seq 1024 --steps 3" ;;
        *) echo "unknown shape $1" >&2; exit 1 ;;
    esac
}

torch_ok=0
if $PY -c "import torch" 2>/dev/null; then torch_ok=1; else echo "skip PyTorch: $PY cannot import torch (apt-get install python3-torch)"; fi
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -e $JEMALLOC ] || { echo "note: $JEMALLOC missing (apt-get install libjemalloc2): PyTorch runs with glibc malloc"; JEMALLOC=; }
if [ -z "${CORETYPE+x}" ]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
    has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1;; esac; done; }
    CORETYPE=""
    if has avx512f avx512bw avx512dq avx512vl avx512cd; then CORETYPE=SkylakeX
    elif has avx2 fma; then CORETYPE=Haswell; fi
fi
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null)
case "$blas" in *openblas*) ;; *) echo "warning: libblas.so.3 is $blas, not OpenBLAS: PyTorch's matmuls run on the reference BLAS (apt-get install libopenblas0-pthread)";; esac
if [ $torch_ok = 1 ]; then
    tv=$($PY -c "import torch; print(torch.__version__)")
    echo "PyTorch $tv; BLAS $blas, OPENBLAS_CORETYPE=${CORETYPE:-(OpenBLAS's own choice)}; allocator: ${JEMALLOC:-glibc malloc}${JEMALLOC:+ (dirty/muzzy decay off)}; OMP_WAIT_POLICY=PASSIVE at 2 threads"
    $PY -c "import torch; c=torch.__config__.show(); print([l.strip() for l in c.splitlines() if 'CPU capability' in l or 'BLAS_INFO' in l][:1])" 2>/dev/null
fi
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; ours: $OURS, $($OURS bench --layers 1 --heads 1 --dim 16 --seq-max 8 --vocab 16 --batch 1 --seq 8 --steps 1 --threads 1 | grep '^isa:')"

ours() {   # shape prec threads rep [binary name]
    f=$(shape_flags $1); extra=""; [ $2 = bf16 ] && extra="--bf16"
    ${5:-$OURS} bench $f --threads $3 $extra > $out/${6:-ours}_$1_$2_$3_$4.txt 2>&1
}
theirs() {
    f=$(shape_flags $1); extra=""; [ $2 = bf16 ] && extra="--bf16"
    omp=""; [ $3 -gt 1 ] && omp=PASSIVE
    env ${CORETYPE:+OPENBLAS_CORETYPE=$CORETYPE} OMP_NUM_THREADS=$3 ${omp:+OMP_WAIT_POLICY=$omp} \
        ${JEMALLOC:+LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1} \
        $PY bench/torch_step.py $f --threads $3 $extra > $out/torch_$1_$2_$3_$4.txt 2>&1
}
ms() { awk '/ms\/step/ {print $1}' "$1" 2>/dev/null | tail -1; }
pk() { sed -n 's/^fp32 FMA peak.*: step \([0-9.]*\)%.*/\1/p' "$1" 2>/dev/null | tail -1; }   # our step's share of the FMA peak
median() {   # median of the numbers on stdin ("-" if none)
    sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "-"; else print v[int((NR+1)/2)]}'
}

r=1
while [ $r -le $REPEATS ]; do   # the whole table once per repeat: each pair runs minutes apart, alternately
    for s in $SHAPES; do for p in $PRECS; do for t in $THREADS; do
        [ -n "$BEFORE" ] && ours $s $p $t $r "$BEFORE" before
        ours $s $p $t $r
        [ $torch_ok = 1 ] && theirs $s $p $t $r
        printf '  repeat %d %-10s %s %s thread(s): ours %s ms, torch %s ms%s\n' $r $s $p $t \
            "$(ms $out/ours_${s}_${p}_${t}_$r.txt)" "$(ms $out/torch_${s}_${p}_${t}_$r.txt)" \
            "${BEFORE:+, before $(ms $out/before_${s}_${p}_${t}_$r.txt) ms}"
    done; done; done
    r=$((r + 1))
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2fx", b / a }'; }
echo
if [ -n "$BEFORE" ]; then
    echo "before: $BEFORE; after: $B/inheritune"
    echo "| shape | precision | threads | before ms/step | after ms/step | PyTorch ms/step | PyTorch / before | PyTorch / after |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
else
    echo "| shape | precision | threads | inheritune ms/step | its share of the FMA peak | PyTorch ms/step | PyTorch / inheritune |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
fi
for s in $SHAPES; do for p in $PRECS; do for t in $THREADS; do
    a=$(for f in $out/ours_${s}_${p}_${t}_*.txt; do ms $f; done | median)
    b=$(for f in $out/torch_${s}_${p}_${t}_*.txt; do [ -e $f ] && ms $f; done | median)
    if [ -n "$BEFORE" ]; then
        z=$(for f in $out/before_${s}_${p}_${t}_*.txt; do ms $f; done | median)
        echo "| $s | $p | $t | $z | $a | $b | $(ratio "$z" "$b") | $(ratio "$a" "$b") |"
    else
        c=$(for f in $out/ours_${s}_${p}_${t}_*.txt; do pk $f; done | median)
        echo "| $s | $p | $t | $a | $c% | $b | $(ratio "$a" "$b") |"
    fi
done; done; done
echo "(medians of $REPEATS alternating runs; shapes: tiny = 4 layers, 4 heads, C=128, byte vocabulary, B=16 T=128;"
echo " small = 6 layers, 6 heads, C=384, V=50257, B=8 T=256; 124m = GPT-2 124M B=4 T=64; 124m_t1024 = B=1 T=1024)"
