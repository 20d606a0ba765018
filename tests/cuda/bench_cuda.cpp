/* tests/cuda/bench_cuda.cpp - speed of the matmul and attention ops of inheritune_cuda.cu at
   GPT-2 124M training shapes (B=16, T=1024, C=768, NH=12), for tests/cuda/gpu_check.sh.
   A benchmark, never a test. Each op runs 2 times to warm up, then --iters times with a device
   synchronisation around each run; the median is printed as
       bench <name> <ms> <TFLOP/s>
   FLOPs counted: matmul 2 N C OC forward, 4 N C OC backward (dinp and dw); causal attention
   2 B NH T^2 hs forward (q.k and p.v over half the square) and 2.5 times that backward (the
   usual convention for flash-style kernels). --tiny: small shapes (the emulation build, a dry run). */
#define INH_CUDA_DECLARE_ONLY
#include "../../inheritune_cuda.cu"
#include <algorithm>
#include <chrono>
#include <functional>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static int iters = 10;
static int fail(const char *what) { fprintf(stderr, "bench_cuda: %s: %s\n", what, inh_cuda_error()); return 1; }

/* median ms of fn over iters runs; -1 on error */
static double timed(inh_cuda_ctx *g, const std::function<int()> &fn) {
    std::vector<double> t;
    for (int i = 0; i < iters + 2; i++) {
        if (inh_cuda_sync(g)) return -1;
        double t0 = now_ms();
        if (fn() || inh_cuda_sync(g)) return -1;
        if (i >= 2) t.push_back(now_ms() - t0);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}
static float *buf(size_t n) {   /* n floats of 0x3C3C3C3C (about 0.0115): finite, non-zero */
    void *p = NULL;
    if (inh_cuda_malloc(&p, n * sizeof(float)) || inh_cuda_memset(p, 0x3C, n * sizeof(float))) return NULL;
    return (float *)p;
}
static void line(const char *name, double ms, double flop) {
    if (ms < 0) printf("bench %s failed: %s\n", name, inh_cuda_error());
    else printf("bench %s %.3f %.1f\n", name, ms, flop / (ms * 1e-3) / 1e12);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int tiny = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tiny")) tiny = 1;
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else { fprintf(stderr, "usage: bench_cuda [--tiny] [--iters N]\n"); return 2; }
    }
    if (iters < 1) iters = 1;
    inh_cuda_ctx *g;
    if (inh_cuda_init(&g, 0)) return fail("init");
    int B = tiny ? 2 : 16, T = tiny ? 40 : 1024, C = tiny ? 64 : 768, NH = tiny ? 2 : 12, Vp = tiny ? 256 : 50304;
    int N = B * T, hs = C / NH;
    printf("bench shapes B=%d T=%d C=%d NH=%d Vp=%d%s\n", B, T, C, NH, Vp, inh_cuda_emulated() ? " (emulated)" : "");
    struct { const char *name; int C, OC; } mm[] = {{"qkv", C, 3 * C}, {"fc", C, 4 * C}, {"fcproj", 4 * C, C}, {"lmhead", C, Vp}};
    size_t maxin = (size_t)N * 4 * C, maxout = (size_t)N * Vp, maxw = (size_t)Vp * C;
    float *in = buf(maxin), *out = buf(maxout), *w = buf(maxw), *dw = buf(maxw), *din = buf(maxin), *bias = buf(Vp);
    if (!in || !out || !w || !dw || !din || !bias) return fail("allocation");
    for (int bf = 0; bf < 2; bf++)
        for (auto &s : mm) {
            char name[64];
            double f = 2.0 * N * s.C * s.OC;
            snprintf(name, sizeof name, "matmul_fwd_%s_%s", s.name, bf ? "bf16" : "fp32");
            line(name, timed(g, [&] { return inh_cuda_matmul_forward(g, out, in, w, bias, N, s.C, s.OC, bf, NULL); }), f);
            snprintf(name, sizeof name, "matmul_bwd_%s_%s", s.name, bf ? "bf16" : "fp32");
            line(name, timed(g, [&] { return inh_cuda_matmul_backward(g, din, dw, NULL, out, in, w, N, s.C, s.OC, bf, 1, NULL, NULL); }), 2 * f);
        }
    float *qkv = in, *y = din, *rows = buf((size_t)B * NH * 2 * T), *dqkv = out;
    if (!rows) return fail("allocation");
    float scale = 1.0f / sqrtf((float)hs);
    double fa = 2.0 * B * NH * (double)T * T * hs;
    for (int bf = 0; bf < 2; bf++) {   /* bf16: the tensor-core kernels; the backward takes the forward's rows and output */
        char name[64];
        snprintf(name, sizeof name, "attention_fwd_%s", bf ? "bf16" : "fp32");
        line(name, timed(g, [&] { return inh_cuda_attention_forward(g, y, rows, qkv, B, T, C, NH, scale, bf, NULL); }), fa);
        snprintf(name, sizeof name, "attention_bwd_%s", bf ? "bf16" : "fp32");
        line(name, timed(g, [&] { return inh_cuda_attention_backward(g, dqkv, rows, y, y, qkv, B, T, C, NH, scale, bf); }), 2.5 * fa);
    }
    inh_cuda_free(in); inh_cuda_free(out); inh_cuda_free(w); inh_cuda_free(dw); inh_cuda_free(din); inh_cuda_free(bias);
    inh_cuda_free(rows);
    inh_cuda_release(g);
    return 0;
}
