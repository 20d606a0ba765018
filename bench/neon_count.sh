#!/bin/sh
# bench/neon_count.sh - NEON without an ARM machine: FLOPs per executed instruction of the attention
# and matmul kernels, counted under qemu-aarch64 (one instruction per translation block, every
# executed block logged; Debian's qemu-user has no TCG plugins). The ceiling is 8 (one 4-lane fmla
# per instruction). About 30 s; writes ~220 MB of logs under build/neon_count (removed after).
#   sh bench/neon_count.sh
set -e
CC=${ARM64_CC:-aarch64-linux-gnu-gcc}
D=build/neon_count
mkdir -p $D
$CC -O2 -std=c99 -Wall -Wextra bench/neon_count.c -o $D/count -lm -lpthread
${ARM64_NM:-aarch64-linux-gnu-nm} -S --defined-only $D/count | awk 'NF == 4 && ($3 == "t" || $3 == "T")' > $D/syms.txt
for w in 0 1; do
    qemu-aarch64 -L /usr/aarch64-linux-gnu -singlestep -d exec,nochain -D $D/log$w $D/count $w > /dev/null
    awk -F/ '/^Trace/ {print $2}' $D/log$w | sort | uniq -c > $D/hist$w.txt
    rm -f $D/log$w
done
python3 - "$D" <<'PY'
import bisect, sys
d = sys.argv[1]
syms = sorted((int(a, 16), int(s, 16), n) for a, s, t, n in (l.split() for l in open(f"{d}/syms.txt")))
starts = [s[0] for s in syms]
base = 0x5500000000   # where qemu-user loads a PIE executable
def per_fn(w):
    tot = {}
    for line in open(f"{d}/hist{w}.txt"):
        c, pc = line.split()
        off = int(pc, 16) - base
        i = bisect.bisect_right(starts, off) - 1
        name = syms[i][2] if i >= 0 and off < syms[i][0] + syms[i][1] else "?"
        tot[name] = tot.get(name, 0) + int(c)
    return tot
T, hs = 128, 64
att = per_fn(0)
flops = 2 * 2 * hs * T * (T + 1) // 2   # scores and weighted sum, 2 hs per causal pair
n = sum(v for k, v in att.items() if k.startswith("inh__att") or k == "inh__exp_sum")
print(f"attention forward (T={T}, hs={hs}): {flops} FLOPs, {n} instructions in the attention functions: {flops / n:.2f} FLOP/instruction")
for k in ("inh__att_acc2", "inh__att_wsum_blk"):
    if k in att: print(f"  {k}: {att[k]} instructions ({flops / 2 / att[k]:.2f} FLOP/instruction for its half)")
mm = per_fn(1)
flops = 2 * 64 * 128 * 128
n = sum(v for k, v in mm.items() if k.startswith("inh__fmm") or k.startswith("inh__mm"))
print(f"matmul 64x128 @ (128x128)^T: {flops} FLOPs, {n} instructions (packing included): {flops / n:.2f} FLOP/instruction")
if "inh__fmm_kernel" in mm:
    print(f"  the micro-kernel alone: {mm['inh__fmm_kernel']} instructions, {flops / mm['inh__fmm_kernel']:.2f} FLOP/instruction")
print("(the ceiling: 8 FLOP/instruction, a 4-lane fmla each)")
PY
rm -rf $D
