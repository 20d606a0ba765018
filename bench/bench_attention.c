/* bench/bench_attention.c - the attention kernels alone: forward and backward of one layer, flash
   (the default) and plain (--keep-attention's), against the machine's fp32 FMA peak.
     make bench-attention && build/bench_attention [--threads N] [--reps N]
   FLOPs are the model count of causal attention: scores and the weighted sum, 2 * hs per pair
   (t, t2 <= t) each, forward; twice that backward (the flash kernel recomputes the scores on top). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *name; int B, T, C, NH; } shape;

static double best_of(int reps, double *t) {
    double b = t[0];
    for (int i = 1; i < reps; i++) b = t[i] < b ? t[i] : b;
    return b;
}

int main(int argc, char **argv) {
    int threads = 1, reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [--threads N] [--reps N]\n", argv[0]); return 2; }
    }
    if (threads < 1 || reps < 1 || reps > 100) { fprintf(stderr, "bench_attention: --threads >= 1, --reps 1..100\n"); return 2; }
    static const shape shapes[] = {
        {"tiny (hs 32)", 16, 128, 128, 4}, {"small (hs 64)", 8, 256, 384, 6},
        {"124m T=64", 4, 64, 768, 12}, {"124m T=1024", 1, 1024, 768, 12}};
    double peak = inh_fma_peak_gflops(threads);
    printf("attention of one layer, %d thread%s, best of %d; fp32 FMA peak (probe) %.1f GFLOP/s\n", threads,
           threads == 1 ? "" : "s", reps, peak);
    printf("%-14s %8s %8s %9s %9s %7s %7s %9s %9s\n", "shape", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd %", "bwd %",
           "plain fwd", "plain bwd");
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const shape *s = &shapes[k];
        size_t n3 = (size_t)s->B * s->T * 3 * s->C, n1 = (size_t)s->B * s->T * s->C, nn = (size_t)s->B * s->NH * s->T * s->T;
        float *qkv = (float *)malloc(n3 * 4), *dqkv = (float *)malloc(n3 * 4), *out = (float *)malloc(n1 * 4);
        float *dout = (float *)malloc(n1 * 4), *rows = (float *)malloc((size_t)s->B * s->NH * 2 * s->T * 4);
        float *att = (float *)malloc(nn * 4), *datt = (float *)malloc(nn * 4);
        double tf[100], tb[100], pf[100], pb[100];
        if (!qkv || !dqkv || !out || !dout || !rows || !att || !datt) { fprintf(stderr, "bench_attention: out of memory\n"); return 1; }
        inh_rng r;
        inh_rng_seed(&r, 1 + k);
        for (size_t i = 0; i < n3; i++) qkv[i] = inh_rng_normal(&r);
        for (size_t i = 0; i < n1; i++) dout[i] = inh_rng_normal(&r);
        float scale = 1.0f / sqrtf((float)(s->C / s->NH));
        for (int i = 0; i < reps; i++) {   /* flash and plain take turns */
            double t0 = inh_now();
            inh__attention_forward_flash(out, rows, qkv, s->B, s->T, s->C, s->NH, scale, threads);
            double t1 = inh_now();
            memset(dqkv, 0, n3 * 4);
            double t2 = inh_now();
            inh__attention_backward_flash(dqkv, rows, dout, qkv, s->B, s->T, s->C, s->NH, scale, threads);
            double t3 = inh_now();
            inh__attention_forward_cpu(out, att, qkv, s->B, s->T, s->C, s->NH, scale, threads);
            double t4 = inh_now();
            memset(dqkv, 0, n3 * 4);
            double t5 = inh_now();
            inh__attention_backward_cpu(dqkv, datt, dout, qkv, att, s->B, s->T, s->C, s->NH, scale, threads);
            double t6 = inh_now();
            tf[i] = t1 - t0; tb[i] = t3 - t2; pf[i] = t4 - t3; pb[i] = t6 - t5;
        }
        double f = best_of(reps, tf), b = best_of(reps, tb);
        double flops = 4.0 * s->B * s->NH * (s->T * (s->T + 1) / 2.0) * (s->C / s->NH);   /* forward */
        printf("%-14s %8.2f %8.2f %9.1f %9.1f %6.1f%% %6.1f%% %8.2fms %8.2fms\n", s->name, 1e3 * f, 1e3 * b, flops / f * 1e-9,
               2 * flops / b * 1e-9, 100.0 * flops / f * 1e-9 / peak, 100.0 * 2 * flops / b * 1e-9 / peak, 1e3 * best_of(reps, pf),
               1e3 * best_of(reps, pb));
        free(qkv); free(dqkv); free(out); free(dout); free(rows); free(att); free(datt);
    }
    return 0;
}
