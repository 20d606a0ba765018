#!/bin/sh
# bench/speed_table.sh - every CPU speed figure of bench/README.md in one run (about 5 minutes):
# matmul against OpenBLAS per shape and layout (needs libopenblas-dev), whole 124M training steps
# (fp32 and bf16, 1 and 2 threads) against the OpenBLAS matmul floor, memory at T=64 and T=1024,
# and batch-1 generation against the memory-bandwidth bound. Prints a markdown table at the end.
#   sh bench/speed_table.sh            (run `make` first; writes build/speed_*.txt)
set -e
B=build
[ -x $B/inheritune ] || { echo "run make first" >&2; exit 1; }
make -s bench-blas > $B/speed_blas.txt 2>&1 || { echo "make bench-blas failed (apt-get install libopenblas-dev)" >&2; cat $B/speed_blas.txt >&2; exit 1; }
cat $B/speed_blas.txt
bench() { out=$B/speed_$1.txt; shift; $B/inheritune bench "$@" > "$out" 2>&1; tail -3 "$out" | sed "s|^|  $* : |"; }
# 1 and 2 threads take turns, 3 times each (the machine is shared: medians of runs that alternate)
for r in 1 2 3; do
    bench f1_$r --threads 1 --steps 9
    bench f2_$r --threads 2 --steps 9
    bench b1_$r --threads 1 --steps 9 --bf16
    bench b2_$r --threads 2 --steps 9 --bf16
done
bench long --threads 2 --batch 4 --seq 1024 --steps 2
bench longkeep --threads 2 --batch 4 --seq 1024 --steps 2 --keep-attention
$B/inheritune bench --generate 40 --threads 1 > $B/speed_gen.txt 2>&1; tail -1 $B/speed_gen.txt

ms() { awk '/ms\/step/ {print $1}' $B/speed_$1.txt; }
med3() { for r in 1 2 3; do ms $1_$r; done | sort -n | sed -n 2p; }   # the median of the 3 runs
mem() { sed -n 's/.*peak memory \([0-9]*\) MB = \([0-9.]*x\) .* \([0-9]*\) MB)$/\1 MB = \2 (16 B per parameter + \3 MB activations and scratch)/p' $B/speed_$1.txt; }
floor=$(awk '/^  openblas/ {print $2}' $B/speed_blas.txt)
ours=$(awk '/^  fast / {print $2}' $B/speed_blas.txt)
bf=$(awk '/^  bf16 / {print $2}' $B/speed_blas.txt)
f1=$(med3 f1); b1=$(med3 b1); f2=$(med3 f2); b2=$(med3 b2)
echo
echo "| what | figure |"
echo "| --- | --- |"
echo "| matmul / OpenBLAS sgemm, 15 shape x layout cases | $(awk '$NF ~ /^[0-9.]+$/ && NF == 10 {print $(NF-1)}' $B/speed_blas.txt | sort -n | sed -n '1p;$p' | tr '\n' ' ' | awk '{printf "%.2fx - %.2fx", $1, $2}') |"
echo "| matmul-only floor of a step | OpenBLAS $floor s, ours $ours s, ours in bf16 $bf s |"
echo "| (step times: medians of 3 runs, 1 and 2 threads taking turns) | |"
echo "| whole step, fp32, 1 thread | $f1 ms = $(awk "BEGIN{printf \"%.2f\", $f1/1000/$floor}")x the OpenBLAS floor |"
echo "| whole step, fp32, 2 threads | $f2 ms = $(awk "BEGIN{printf \"%.2f\", $f1/$f2}")x one thread |"
echo "| whole step, bf16, 1 thread | $b1 ms = $(awk "BEGIN{printf \"%.2f\", $f1/$b1}")x the fp32 step |"
echo "| whole step, bf16, 2 threads | $b2 ms = $(awk "BEGIN{printf \"%.2f\", $f2/$b2}")x the fp32 step, $(awk "BEGIN{printf \"%.2f\", $b1/$b2}")x one thread |"
echo "| peak memory, B=4 T=64 | fp32 $(mem f1_1), bf16 $(mem b1_1) |"
echo "| B=4 T=1024, flash attention | $(mem long), $(ms long) ms a step (2 threads) |"
echo "| B=4 T=1024, stored attention (--keep-attention) | $(mem longkeep), $(ms longkeep) ms a step (2 threads) |"
echo "| batch-1 generation | $(sed -n 's/.*= \([0-9.]*\) tokens\/s.*bound \/ measured = \([0-9.]*x\).*/\1 tokens\/s, \2 the bandwidth bound/p' $B/speed_gen.txt) |"
