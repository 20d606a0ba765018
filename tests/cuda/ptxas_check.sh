#!/bin/sh
# tests/cuda/ptxas_check.sh - what ptxas says of each kernel of inheritune_cuda.cu, checked against
# the block size the backend launches it with: no spills (a spill is local memory traffic in the
# inner loop) and no stack frame (an accumulator array indexed at run time, or one ptxas gave up
# keeping in registers, lives in local memory too), at most 255 registers a thread, the block's
# registers within the 64K of an SM (registers allocated per warp in units of 256, i.e. a thread's
# rounded up to a multiple of 8),
# static shared memory within 48 KiB. Prints one row per kernel, then "N passed, N failed".
# Needs nvcc (no GPU): NVCC=/path/to/nvcc, NVCCFLAGS as make cuda's; without it one line and a skip.
#   sh tests/cuda/ptxas_check.sh          (make ptxas-check; part of make test where nvcc exists)
NVCC=${NVCC:-$(command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)}
NVCCFLAGS=${NVCCFLAGS:--O3 -std=c++17 -arch=sm_90 -lineinfo}
BUILD=${BUILD:-build}
if [ -z "$NVCC" ] || ! [ -x "$NVCC" ]; then
    echo "ptxas_check: no nvcc (set NVCC=/path/to/nvcc): the register and spill checks are skipped"
    echo "ptxas_check: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
# The threads per block each kernel is launched with (the INH_CUDA_LAUNCH lines of
# inheritune_cuda.cu). Every kernel ptxas compiles must be listed, and every listed one must
# exist, so a new kernel fails here until its block size is written down.
BLOCKS='
inh_cuda__encoder_fwd_k      256
inh_cuda__encoder_bwd_wpe_k  256
inh_cuda__encoder_bwd_wte_k  128
inh_cuda__ln_fwd_k           256
inh_cuda__ln_bwd_rows_k      256
inh_cuda__ln_bwd_cols_k      256
inh_cuda__bias_fill_k        256
inh_cuda__to_bf16_k          256
inh_cuda__colsum_k           256
inh_cuda__att_fwd_k          256
inh_cuda__att_bwd_q_k        256
inh_cuda__att_bwd_kv_k       256
inh_cuda__att_d_k            256
inh_cuda__fa_fwd_k<32>       128
inh_cuda__fa_fwd_k<64>       128
inh_cuda__fa_fwd_k<128>      128
inh_cuda__fa_bwd_q_k<32>     128
inh_cuda__fa_bwd_q_k<64>     128
inh_cuda__fa_bwd_q_k<128>    128
inh_cuda__fa_bwd_kv_k<32>    128
inh_cuda__fa_bwd_kv_k<64>    128
inh_cuda__fa_bwd_kv_k<128>   128
inh_cuda__colsums_add_k      256
inh_cuda__gelu_fwd_k         256
inh_cuda__gelu_bwd_k         256
inh_cuda__residual_k         256
inh_cuda__ce_fwd_k           256
inh_cuda__ce_bwd_k           256
inh_cuda__sumsq_k            256
inh_cuda__sum_parts_k        256
inh_cuda__gate_k             256
inh_cuda__adamw_k            256
'
mkdir -p "$BUILD" || exit 1
log="$BUILD/ptxas_check.txt"
# shellcheck disable=SC2086
if ! "$NVCC" $NVCCFLAGS -Xptxas -v -c inheritune_cuda.cu -o "$BUILD/ptxas_check.o" >"$log" 2>&1; then
    cat "$log"
    echo "ptxas_check: nvcc failed"
    echo "ptxas_check: 0 passed, 1 failed"
    exit 1
fi
printf '%s\n' "$BLOCKS" | awk -v txt="$log" '
    NF == 2 { want[$1] = $2 }
    END {
        # the kernels in ptxas order: registers, spill bytes, static shared bytes
        while ((getline line < txt) > 0) {
            if (line ~ /Compiling entry function/) {
                m = line; sub(/.*function '\''_Z/, "", m); sub(/'\''.*/, "", m)
                len = m + 0; sub(/^[0-9]+/, "", m); k = substr(m, 1, len)
                rest = substr(m, len + 1)   # a template kernel: its integer argument, as name<N>
                if (match(rest, /^ILi[0-9]+E/)) k = k "<" substr(rest, 4, RLENGTH - 4) ">"
                order[++n] = k; regs[k] = 0; spill[k] = 0; smem[k] = 0; cur = k
            } else if (cur != "" && line ~ /spill stores/) {
                f = line; sub(/^[^0-9]*/, "", f); stack[cur] = f + 0
                s = line; sub(/.*frame, /, "", s); split(s, a, " ")
                spill[cur] = a[1] + 0; t = s; sub(/.*stores, /, "", t); spill[cur] += t + 0
            } else if (cur != "" && line ~ /Used [0-9]+ registers/) {
                r = line; sub(/.*Used /, "", r); regs[cur] = r + 0
                if (line ~ /bytes smem/) { b = line; sub(/ bytes smem.*/, "", b); sub(/.*, /, "", b); smem[cur] = b + 0 }
                cur = ""
            }
        }
        printf "%-30s %7s %5s %10s %7s %6s  %s\n", "kernel", "threads", "regs", "regs/block", "spills", "smem", "check"
        pass = 0; fail = 0
        for (i = 1; i <= n; i++) {
            k = order[i]; seen[k] = 1
            listed = k in want   # (before want[k] is read: reading it would create it)
            th = listed ? want[k] + 0 : 0; r8 = int((regs[k] + 7) / 8) * 8; blk = int((th + 31) / 32) * 32 * r8
            why = ""
            if (!listed) why = "not in the table of block sizes (tests/cuda/ptxas_check.sh)"
            else if (spill[k] > 0) why = "spills"
            else if (stack[k] > 0) why = stack[k] " bytes of stack frame (an array ptxas keeps in local memory)"
            else if (regs[k] > 255) why = "over 255 registers"
            else if (blk > 65536) why = "over 65536 registers a block"
            else if (smem[k] > 49152) why = "over 48 KiB of static shared memory"
            printf "%-30s %7s %5d %10s %7d %6d  %s\n", k, th ? th : "?", regs[k], th ? blk : "?", spill[k], smem[k], why == "" ? "ok" : "FAIL: " why
            if (why == "") pass++; else fail++
        }
        for (k in want) if (!(k in seen)) { printf "%-30s FAIL: in the table, but ptxas compiled no such kernel\n", k; fail++ }
        if (n == 0) { print "ptxas_check: no kernel found in " txt; fail++ }
        printf "ptxas_check: %d passed, %d failed\n", pass, fail
        exit fail > 0
    }'
