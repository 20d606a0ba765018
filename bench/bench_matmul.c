/* bench/bench_matmul.c - the matmuls of a GPT-2 124M training step: the reference kernels, the
   packed kernels (inh__matmul_*_fast in inheritune.h), their bf16 form (inh__matmul_*_bf16) and, built with -DWITH_BLAS, OpenBLAS sgemm measured in the
   same run. One thread by default; every number is the median of 5 timed calls after a warm-up.

     cc -O3 -march=native -std=c99 bench/bench_matmul.c -o build/bench_matmul -lm -lpthread
     cc -O3 -march=native -std=c99 -DWITH_BLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread \
        bench/bench_matmul.c -o build/bench_matmul_blas -lopenblas -lm -lpthread
     OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 build/bench_matmul_blas

   (OpenBLAS 0.3.21 does not recognise Zen 5 and falls back to its AVX2 kernels unless told
   OPENBLAS_CORETYPE=SkylakeX.) Flags: --rows N (default 256 = B*T, 4*64), --threads N,
   --no-ref (skip the slow reference kernel), --reps N, --model tiny|small|124m: the matmuls of
   another shape of bench/vs_pytorch.sh (tiny: 4 layers, C=128, vocabulary 257 padded to 384,
   rows 2048 = 16*128; small: 6 layers, C=384, vocabulary 50304 padded, rows 2048 = 8*256;
   --rows still overrides the rows).
   Layouts: fwd  out (N,OC) = inp (N,C) @ w^T (+ bias; OpenBLAS is timed without the bias pass)
            dinp dinp (N,C) += dout (N,OC) @ w
            dw   dw (OC,C) += dout^T @ inp        (dbias is not a matmul and is left out) */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef WITH_BLAS
#include <cblas.h>
#endif

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

enum { REF, FAST, BLAS, BF16, NIMPL };
enum { FWD, DINP, DW, NLAYOUT };
static const char *impl_name[NIMPL] = {"reference", "fast", "openblas", "bf16"};
static const char *layout_name[NLAYOUT] = {"fwd", "dinp", "dw"};

typedef struct { float *inp, *w, *bias, *out, *dout, *dinp, *dw; int N, C, OC, nt; } bufs;

static void run_once(int impl, int layout, bufs *b) {
    int N = b->N, C = b->C, OC = b->OC, nt = b->nt;
    if (impl == REF) {
        if (layout == FWD) inh__matmul_forward_cpu(b->out, b->inp, b->w, b->bias, N, C, OC, nt);
        else if (layout == DINP) inh__matmul_backward_cpu(b->dinp, NULL, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
        else inh__matmul_backward_cpu(NULL, b->dw, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
    } else if (impl == FAST) {
        if (layout == FWD) inh__matmul_forward_fast(b->out, b->inp, b->w, b->bias, N, C, OC, nt);
        else if (layout == DINP) inh__matmul_backward_fast(b->dinp, NULL, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
        else inh__matmul_backward_fast(NULL, b->dw, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
    } else if (impl == BF16) {
        if (layout == FWD) inh__matmul_forward_bf16(b->out, b->inp, b->w, b->bias, N, C, OC, nt);
        else if (layout == DINP) inh__matmul_backward_bf16(b->dinp, NULL, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
        else inh__matmul_backward_bf16(NULL, b->dw, NULL, b->dout, b->inp, b->w, N, C, OC, nt);
    } else {
#ifdef WITH_BLAS
        if (layout == FWD)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, b->inp, C, b->w, C, 0.0f, b->out, OC);
        else if (layout == DINP)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, b->dout, OC, b->w, C, 1.0f, b->dinp, C);
        else
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, b->dout, OC, b->inp, C, 1.0f, b->dw, C);
#endif
    }
}

/* median seconds of reps timed calls of each implementation in use[], after one warm-up call each;
   the implementations take turns, so a shift in the machine's load hits them alike */
static void time_all(const int *use, int layout, bufs *b, int reps, double *med) {
    double t[NIMPL][64];
    for (int im = 0; im < NIMPL; im++) if (use[im]) run_once(im, layout, b);
    for (int r = 0; r < reps; r++)
        for (int im = 0; im < NIMPL; im++)
            if (use[im]) {
                double t0 = inh_now();
                run_once(im, layout, b);
                t[im][r] = inh_now() - t0;
            }
    for (int im = 0; im < NIMPL; im++) {
        med[im] = 0;
        if (!use[im]) continue;
        qsort(t[im], (size_t)reps, sizeof(double), cmp_double);
        med[im] = t[im][reps / 2];
    }
}

static float *randv(inh_rng *r, size_t n) {
    float *v = (float *)malloc(n * sizeof(float));
    if (!v) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) v[i] = 0.1f * inh_rng_normal(r);
    return v;
}

int main(int argc, char **argv) {
    int N = 0, nt = 1, reps = 5, no_ref = 0, have_blas = 0, C0 = 768, L = 12, Vp = 50304;
    const char *model = "124m";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) N = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) nt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-ref")) no_ref = 1;
        else { fprintf(stderr, "usage: %s [--rows N] [--threads N] [--reps N] [--no-ref] [--model tiny|small|124m]\n", argv[0]); return 1; }
    }
    if (!strcmp(model, "tiny")) { C0 = 128; L = 4; Vp = 384; if (!N) N = 2048; }
    else if (!strcmp(model, "small")) { C0 = 384; L = 6; if (!N) N = 2048; }
    else if (strcmp(model, "124m")) { fprintf(stderr, "--model: tiny, small or 124m, not %s\n", model); return 1; }
    if (!N) N = 256;
    if (N < 1 || nt < 1 || reps < 1 || reps > 64) { fprintf(stderr, "bad flag value\n"); return 1; }
#ifdef WITH_BLAS
    have_blas = 1;
    openblas_set_num_threads(nt);
#endif
    /* per layer qkv, attproj, fc, fcproj; then the LM head (GPT-2 124M: C = 768, V padded to 50304) */
    const struct { const char *name; int C, OC, per_step; } shp[] = {
        {"qkv", C0, 3 * C0, L}, {"attproj", C0, C0, L}, {"fc", C0, 4 * C0, L}, {"fcproj", 4 * C0, C0, L}, {"lm_head", C0, Vp, 1}};
    enum { NS = sizeof shp / sizeof shp[0] };
    size_t mx_in = 0, mx_w = 0, mx_out = 0;
    for (int s = 0; s < NS; s++) {
        size_t in = (size_t)N * shp[s].C, w = (size_t)shp[s].OC * shp[s].C, out = (size_t)N * shp[s].OC;
        if (in > mx_in) mx_in = in;
        if (w > mx_w) mx_w = w;
        if (out > mx_out) mx_out = out;
    }
    inh_rng rng;
    inh_rng_seed(&rng, 1);
    bufs b;
    b.inp = randv(&rng, mx_in); b.dinp = randv(&rng, mx_in);
    b.w = randv(&rng, mx_w); b.dw = randv(&rng, mx_w);
    b.out = randv(&rng, mx_out); b.dout = randv(&rng, mx_out);
    float *bias = randv(&rng, (size_t)(Vp > 4 * C0 ? Vp : 4 * C0));
    b.N = N; b.nt = nt;

    printf("matmul, %s shapes, N = %d rows, %d thread%s, median of %d; GFLOP/s (2*N*C*OC per call)\n", model, N, nt,
           nt == 1 ? "" : "s", reps);
    printf("%-8s %5s %6s %-5s %10s %10s %10s %10s %10s %10s\n", "shape", "C", "OC", "", "reference", "fast", "openblas", "bf16", "fast/blas", "bf16/fast");
    double step[NIMPL] = {0, 0, 0, 0};
    for (int s = 0; s < NS; s++) {
        b.C = shp[s].C; b.OC = shp[s].OC;
        double flop = 2.0 * N * b.C * b.OC;
        for (int l = 0; l < NLAYOUT; l++) {
            double sec[NIMPL];
            int use[NIMPL] = {!no_ref, 1, have_blas, 1};
            b.bias = s == NS - 1 ? NULL : bias;     /* the LM head (tied wte) has no bias */
            time_all(use, l, &b, reps, sec);
            for (int im = 0; im < NIMPL; im++) step[im] += shp[s].per_step * sec[im];
            printf("%-8s %5d %6d %-5s", shp[s].name, b.C, b.OC, layout_name[l]);
            for (int im = 0; im < NIMPL; im++)
                if (sec[im] > 0) printf(" %10.1f", flop / sec[im] * 1e-9);
                else printf(" %10s", "-");
            if (sec[BLAS] > 0) printf(" %10.3f", sec[BLAS] / sec[FAST]);
            else printf(" %10s", "-");
            printf(" %10.3f\n", sec[FAST] / sec[BF16]);
        }
    }
    printf("whole step matmul floor (%d layers x 4 matmuls x fwd+dinp+dw, plus the LM head):\n", L);
    for (int im = 0; im < NIMPL; im++)
        if (step[im] > 0) printf("  %-10s %8.3f s\n", impl_name[im], step[im]);
    if (step[BLAS] > 0) printf("  fast/openblas speed ratio %.3f\n", step[BLAS] / step[FAST]);
    printf("  bf16/fast speed ratio %.3f\n", step[FAST] / step[BF16]);
    return 0;
}
