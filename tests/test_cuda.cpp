/* tests/test_cuda.cpp - every op of inheritune_cuda.cu against the CPU op of inheritune.h.
   Built twice from this one source: linked with the emulation build of inheritune_cuda.cu
   (make cuda-emu-test, part of make test: the SIMT emulator, small shapes) and with the nvcc build
   (make cuda: build/test_cuda_device, larger shapes, for a machine with a GPU).

   Method: inputs random, the same on both sides. Outputs that an op overwrites are poisoned with
   NaN bytes first, so an element the GPU never wrote fails the comparison; outputs that an op adds
   into start from the same random values. Every device buffer carries a guard of 64 floats behind
   it that must come back unchanged (an overrun fails); on the emulator a load or store past a
   buffer faults instead (cudaMalloc's guard pages). Tolerances, u = 2^-24 (fp32 unit roundoff):
   - bit-exact where both sides do the same additions in the same order (encoder, residual);
   - a sum of K products in any order differs from the exact one by at most K u sum|a_k b_k|
     (Higham, ch. 3), so two orders differ by at most 2 K u sum|a_k b_k|; matmul checks every
     element against that, with sum|a_k b_k| <= |a_row| |b_col| (Cauchy-Schwarz) and K+1 terms
     counting the bias. bf16: both sides round the operands to bf16 the same way (to nearest
     even), products of two bf16 are exact in fp32, so the same bound holds with the rounded
     operands; checked separately, plus that the bf16 result is not the fp32 one.
   - the other ops: the same argument over their sums (C for layernorm, hs and T for attention, V
     for cross-entropy), scaled by the outputs' magnitude, each stated at its check, plus a few u
     for expf (both libraries' expf are within 2 ulp). */
#define INHERITUNE_IMPLEMENTATION
#include "inheritune.h"
#include "test.h"
#define INH_CUDA_DECLARE_ONLY
#include "../inheritune_cuda.cu"
#ifdef INH_CUDA_EMULATE
#include "cuda_emu.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif
#include <functional>
#include <string>
#include <vector>

static const double U = 1.0 / 16777216.0;   /* 2^-24 */
enum { GUARD = 64 };
static const float SENTINEL = 12345.678f;
static inh_cuda_ctx *G;
static inh_rng R;
static int big;                              /* device build: larger shapes */
static int NT = 1;                           /* CPU threads of the oracle (all cores for the larger shapes) */

/* ---- device buffers with a guard ----------------------------------------------------------
   The device build: 64 sentinel floats behind every buffer, which must come back unchanged. The
   emulator: the buffer is the allocation, so a load or store past its end reaches cudaMalloc's
   guard page and faults; only the slack before that page (up to 15 bytes, to the next multiple of
   16) holds sentinel bytes. */
struct dbuf { void *p; size_t bytes, guard; };
static std::vector<dbuf> live;
static void sentinel_bytes(unsigned char *g, size_t n) {
    for (size_t i = 0; i < n; i += sizeof SENTINEL) memcpy(g + i, &SENTINEL, n - i < sizeof SENTINEL ? n - i : sizeof SENTINEL);
}
static void *dalloc(size_t bytes) {
    void *p = NULL;
#ifdef INH_CUDA_EMULATE
    size_t guard = inh_simt::span16(bytes) - bytes;
#else
    size_t guard = GUARD * sizeof(float);
#endif
    if (inh_cuda_malloc(&p, bytes + guard)) { printf("%s\n", inh_cuda_error()); exit(1); }
    unsigned char g[GUARD * sizeof(float)];
    sentinel_bytes(g, guard);
    if (guard) inh_cuda_to_device((char *)p + bytes, g, guard);
    live.push_back(dbuf{p, bytes, guard});
    return p;
}
template <class T> static T *dput(const T *h, size_t n) {   /* a device copy of h */
    T *d = (T *)dalloc(n * sizeof(T));
    if (n && inh_cuda_to_device(d, h, n * sizeof(T))) { printf("%s\n", inh_cuda_error()); exit(1); }
    return d;
}
static float *dpoison(size_t n) {                           /* NaN bytes, as never written */
    float *d = (float *)dalloc(n * sizeof(float));
    inh_cuda_memset(d, 0xFF, n * sizeof(float));
    return d;
}
static std::vector<float> dget(const float *d, size_t n) {
    std::vector<float> h(n + 1);
    if (n && inh_cuda_to_host(h.data(), d, n * sizeof(float))) printf("%s\n", inh_cuda_error());
    return h;
}
/* the bf16 bits of x rounded as the CPU --bf16 rounds (to nearest even) */
static unsigned short bf16_bits(float x) {
    inh__bf16_round_n(&x, 1);
    uint32_t u;
    memcpy(&u, &x, 4);
    return (unsigned short)(u >> 16);
}
/* an op's out16 (a bf16 model's activation): g16 holds the bf16 rounding of each float the op
   wrote to gf (or of want16, where the op writes the bf16 values only), and gf's floats are the
   bits `got` (what the op wrote there without out16) */
static void check16(const char *what, const unsigned short *g16, const float *gf, const std::vector<float> &got, size_t n,
                    const std::vector<float> *want16 = NULL) {
    std::vector<unsigned short> h(n);
    if (inh_cuda_to_host(h.data(), g16, n * sizeof(unsigned short))) printf("%s\n", inh_cuda_error());
    auto f = dget(gf, n);
    size_t off = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
        off += h[i] != bf16_bits(want16 ? (*want16)[i] : f[i]);
        diff += memcmp(&f[i], &got[i], sizeof(float)) != 0;
    }
    CHECK(off == 0 && diff == 0, "%s with out16: %zu of %zu bf16 values not the rounding of the float output, %zu floats not the "
          "bits expected", what, off, n, diff);
}
static unsigned short *dalloc16(size_t n) { return (unsigned short *)dalloc(n * sizeof(unsigned short)); }
/* every guard intact; frees everything */
static void dfree_all(const char *what) {
    int bad = 0;
    for (auto &b : live) {
        unsigned char g[GUARD * sizeof(float)], want[GUARD * sizeof(float)];
        sentinel_bytes(want, b.guard);
        if (b.guard) inh_cuda_to_host(g, (char *)b.p + b.bytes, b.guard);
        bad += b.guard && memcmp(g, want, b.guard) != 0;
        inh_cuda_free(b.p);
    }
    live.clear();
    CHECK(bad == 0, "%s: the guard behind %d device buffers was overwritten", what, bad);
}

static std::vector<float> rnd(size_t n, float lo, float hi) {
    std::vector<float> v(n + 1);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * inh_rng_uniform(&R);
    return v;
}
static float maxabs(const float *x, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}
/* one counted check for a whole array: |got - want| <= atol + rtol |want| everywhere, NaN fails */
static void check_arr(const char *what, const float *got, const float *want, size_t n, double atol, double rtol) {
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= atol + rtol * fabs((double)want[i]))) { if (!bad) first = i; bad++; }
        if (e > worst || e != e) worst = e;
    }
    if (getenv("TEST_CUDA_VERBOSE")) printf("  %-50s worst %.3g, tolerance %.3g\n", what, worst, atol + rtol);
    CHECK(bad == 0, "%s: %zu of %zu elements off (first [%zu] got %.9g want %.9g; atol %.3g rtol %.3g; worst %.3g)", what, bad, n,
          first, bad ? got[first] : 0.0, bad ? want[first] : 0.0, atol, rtol, worst);
}
static void check_exact(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], 4)) { if (!bad) first = i; bad++; }
    CHECK(bad == 0, "%s: %zu of %zu elements differ (first [%zu] got %.9g want %.9g)", what, bad, n, first,
          bad ? got[first] : 0.0, bad ? want[first] : 0.0);
}
#define OK(call) CHECK((call) == 0, "%s: %s", #call, inh_cuda_error())

/* determinism: the op run once more from the same inputs gives the same bits. On the emulator the
   threads of each block run in another order than the first time; on a GPU the schedule varies
   by itself. run() returns the device result. */
static void check_again(const char *what, const std::vector<float> &first, size_t n, const std::function<float *()> &run) {
    float *d = run();
    auto again = dget(d, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(&again[i], &first[i], 4) != 0;
    CHECK(bad == 0, "%s: a second run differs in %zu of %zu elements (not deterministic)", what, bad, n);
}

/* ---- encoder, residual: bit-exact -------------------------------------------------------- */
static void test_encoder(int B, int T, int C, int V) {
    char what[96];
    snprintf(what, sizeof what, "encoder B=%d T=%d C=%d V=%d", B, T, C, V);
    size_t N = (size_t)B * T;
    std::vector<int> inp(N);
    for (size_t i = 0; i < N; i++) inp[i] = (int)(inh_rng_u64(&R) % (uint64_t)(i % 3 ? V : 2));   /* repeats */
    auto wte = rnd((size_t)V * C, -1, 1), wpe = rnd((size_t)T * C, -1, 1), dout = rnd(N * C, -1, 1);
    auto dwte = rnd((size_t)V * C, -1, 1), dwpe = rnd((size_t)T * C, -1, 1);
    std::vector<float> out(N * C), cdwte = dwte, cdwpe = dwpe;
    inh__encoder_forward(out.data(), inp.data(), wte.data(), wpe.data(), B, T, C);
    inh__encoder_backward(cdwte.data(), cdwpe.data(), dout.data(), inp.data(), B, T, C);
    int *di = dput(inp.data(), N);
    float *dwte_ = dput(wte.data(), wte.size() - 1), *dwpe_ = dput(wpe.data(), wpe.size() - 1), *dout_ = dput(dout.data(), N * C);
    float *gout = dpoison(N * C), *gdwte = dput(dwte.data(), dwte.size() - 1), *gdwpe = dput(dwpe.data(), dwpe.size() - 1);
    OK(inh_cuda_encoder_forward(G, gout, di, dwte_, dwpe_, B, T, C));
    OK(inh_cuda_encoder_backward(G, gdwte, gdwpe, dout_, di, inp.data(), B, T, C));
    check_exact(what, dget(gout, N * C).data(), out.data(), N * C);
    check_exact("encoder backward dwte (positions of a token added in order, as the CPU)", dget(gdwte, (size_t)V * C).data(), cdwte.data(), (size_t)V * C);
    check_exact("encoder backward dwpe", dget(gdwpe, (size_t)T * C).data(), cdwpe.data(), (size_t)T * C);
    /* without host ids: read back from the device, the same bits; twice in a row (the pinned block
       is rewritten only after the first upload from it) */
    float *gdwte2 = dput(dwte.data(), dwte.size() - 1), *gdwpe2 = dput(dwpe.data(), dwpe.size() - 1);
    OK(inh_cuda_encoder_backward(G, gdwte2, gdwpe2, dout_, di, NULL, B, T, C));
    check_exact("encoder backward dwte, ids read back from the device", dget(gdwte2, (size_t)V * C).data(), cdwte.data(), (size_t)V * C);
    OK(inh_cuda_encoder_backward(G, gdwte, gdwpe, dout_, di, inp.data(), B, T, C));
    OK(inh_cuda_encoder_backward(G, gdwte2, gdwpe2, dout_, di, NULL, B, T, C));
    check_exact("encoder backward twice, host ids and device ids alike", dget(gdwte, (size_t)V * C).data(), dget(gdwte2, (size_t)V * C).data(),
                (size_t)V * C);
    dfree_all(what);
}
static void test_residual(size_t n) {
    auto a = rnd(n, -2, 2), b = rnd(n, -2, 2);
    std::vector<float> want(n + 1);
    inh__residual_forward(want.data(), a.data(), b.data(), n);
    float *ga = dput(a.data(), n), *gb = dput(b.data(), n), *go = dpoison(n);
    OK(inh_cuda_residual_forward(G, go, ga, gb, n));
    check_exact("residual", dget(go, n).data(), want.data(), n);
    /* in place, as the model calls it: out == a */
    OK(inh_cuda_residual_forward(G, ga, ga, gb, n));
    check_exact("residual in place", dget(ga, n).data(), want.data(), n);
    dfree_all("residual");
}

/* ---- layernorm ---------------------------------------------------------------------------- */
/* forward: mean and variance are sums of C terms in another order (each side within C u of the
   exact sum, relative to the sum of magnitudes), so mean, rstd and out = (x - m) r w + b differ by
   at most a few C u of their scale: atol 8 C u (max|out| + 1), mean 8 C u max|x|, rstd rtol 8 C u.
   backward: dinp's two means are sums of C terms of size <= 1.5 r (|w| <= 1.5, |dout| <= 1); dw, db
   sums of N terms. */
static void test_layernorm(int N, int C, int with_bias) {
    char what[96];
    snprintf(what, sizeof what, "layernorm N=%d C=%d%s", N, C, with_bias ? "" : " (no bias)");
    auto x = rnd((size_t)N * C, -3, 1), w = rnd(C, 0.5f, 1.5f), b = rnd(C, -1, 1), dout = rnd((size_t)N * C, -1, 1);
    auto dinp = rnd((size_t)N * C, -1, 1), dw = rnd(C, -1, 1), db = rnd(C, -1, 1);
    size_t NC = (size_t)N * C;
    std::vector<float> out(NC + 1), mean(N + 1), rstd(N + 1), cdinp = dinp, cdw = dw, cdb = db;
    inh__layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), with_bias ? b.data() : NULL, N, C, NT);
    inh__layernorm_backward(cdinp.data(), cdw.data(), with_bias ? cdb.data() : NULL, dout.data(), x.data(), w.data(), mean.data(),
                            rstd.data(), N, C, NT);
    float *gx = dput(x.data(), NC), *gw = dput(w.data(), C), *gb = dput(b.data(), C), *gd = dput(dout.data(), NC);
    float *go = dpoison(NC), *gm = dpoison(N), *gr = dpoison(N);
    float *gdi = dput(dinp.data(), NC), *gdw = dput(dw.data(), C), *gdb = dput(db.data(), C);
    OK(inh_cuda_layernorm_forward(G, go, gm, gr, gx, gw, with_bias ? gb : NULL, N, C, NULL));
    double t = 8.0 * C * U;
    auto glo = dget(go, NC);
    check_arr(what, glo.data(), out.data(), NC, t * (maxabs(out.data(), NC) + 1), 0);
    {
        float *go2 = dpoison(NC);
        unsigned short *g16 = dalloc16(NC);
        OK(inh_cuda_layernorm_forward(G, go2, gm, gr, gx, gw, with_bias ? gb : NULL, N, C, g16));
        check16(what, g16, go2, glo, NC);
    }
    check_arr("layernorm mean", dget(gm, N).data(), mean.data(), N, t * maxabs(x.data(), NC), 0);
    check_arr("layernorm rstd", dget(gr, N).data(), rstd.data(), N, 0, t);
    /* backward from the CPU's mean and rstd, so that only the backward is compared */
    OK(inh_cuda_to_device(gm, mean.data(), N * sizeof(float)));
    OK(inh_cuda_to_device(gr, rstd.data(), N * sizeof(float)));
    OK(inh_cuda_layernorm_backward(G, gdi, gdw, with_bias ? gdb : NULL, gd, gx, gw, gm, gr, N, C));
    float scale = maxabs(rstd.data(), N) * 1.5f * 3.0f;   /* |w d| r <= 1.5 r, three terms */
    auto gdinp = dget(gdi, NC);
    check_arr("layernorm backward dinp", gdinp.data(), cdinp.data(), NC, t * scale, 0);
    /* dw, db: N terms of |norm d| <= max|norm| (|d| <= 1), added to a start value <= 1 */
    double tn = 4.0 * (N + 1) * U * (maxabs(out.data(), NC) + 2);
    check_arr("layernorm backward dw", dget(gdw, C).data(), cdw.data(), C, tn, 0);
    if (with_bias) check_arr("layernorm backward db", dget(gdb, C).data(), cdb.data(), C, 4.0 * (N + 1) * U * 2, 0);
    else check_exact("layernorm backward without bias: db untouched", dget(gdb, C).data(), db.data(), C);
    auto gdw1 = dget(gdw, C);
    float *gdw2 = dput(dw.data(), C);
    check_again("layernorm backward dinp and dw, again", gdinp, NC, [&] {
        float *d = dput(dinp.data(), NC);
        OK(inh_cuda_layernorm_backward(G, d, gdw2, NULL, gd, gx, gw, gm, gr, N, C));
        return d;
    });
    check_again("layernorm backward dw, again", gdw1, C, [&] { return gdw2; });
    dfree_all(what);
}

/* ---- matmul ------------------------------------------------------------------------------- */
static std::vector<float> rounded(const std::vector<float> &x, int bf16) {
    std::vector<float> r = x;
    if (bf16) inh__bf16_round_n(r.data(), r.size());
    return r;
}
static std::vector<double> row_norms(const float *x, int rows, int cols, int stride_r, int stride_c) {
    std::vector<double> n(rows);
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int k = 0; k < cols; k++) { double v = x[(size_t)i * stride_r + (size_t)k * stride_c]; s += v * v; }
        n[i] = sqrt(s);
    }
    return n;
}
/* got vs want for C (M,Nc) = A (M,K) B (K,Nc) + bias: element bound 2 (K+1) u (|a_i| |b_j| + |bias_j| + |c0|) */
static void check_mm(const char *what, const float *got, const float *want, int M, int Nc, int K, const std::vector<double> &an,
                     const std::vector<double> &bn, const float *bias, const float *c0) {
    size_t bad = 0, first = 0;
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < Nc; j++) {
            size_t e = (size_t)i * Nc + j;
            double bound = 2.0 * (K + 2) * U * (an[i] * bn[j] + (bias ? fabs(bias[j]) : 0) + (c0 ? fabs(c0[e]) : 0)) + 1e-30;
            double d = fabs((double)got[e] - want[e]);
            if (!(d <= bound)) { if (!bad) first = e; bad++; }
            if (d / bound > worst || d != d) worst = d / bound;
        }
    if (getenv("TEST_CUDA_VERBOSE")) printf("  %-50s worst %.3g of the bound\n", what, worst);
    CHECK(bad == 0, "%s: %zu of %zu elements beyond 2(K+1)u|a||b| (first [%zu] got %.9g want %.9g; worst %.3g of the bound)", what, bad,
          (size_t)M * Nc, first, bad ? got[first] : 0.0, bad ? want[first] : 0.0, worst);
}
static void test_matmul(int N, int C, int OC, int with_bias, int bf16) {
    char what[128];
    snprintf(what, sizeof what, "matmul%s N=%d C=%d OC=%d%s%s", bf16 ? " bf16" : "", N, C, OC, with_bias ? " +bias" : "",
#ifdef INH_CUDA_EMULATE
             inh_simt::lt_algos() < 1 ? " (no cuBLASLt algorithm: the fallback)" : "");
#else
             "");
#endif
    auto inp = rnd((size_t)N * C, -1, 1), w = rnd((size_t)OC * C, -1, 1), b = rnd(OC, -1, 1), dout = rnd((size_t)N * OC, -1, 1);
    auto dinp = rnd((size_t)N * C, -1, 1), dw = rnd((size_t)OC * C, -1, 1), db = rnd(OC, -1, 1);
    std::vector<float> out((size_t)N * OC + 1), cdinp = dinp, cdw = dw, cdb = db;
    const float *bias = with_bias ? b.data() : NULL;
    if (bf16) {
        inh__matmul_forward_bf16(out.data(), inp.data(), w.data(), bias, N, C, OC, NT);
        inh__matmul_backward_bf16(cdinp.data(), cdw.data(), cdb.data(), dout.data(), inp.data(), w.data(), N, C, OC, NT);
    } else {
        inh__matmul_forward(out.data(), inp.data(), w.data(), bias, N, C, OC, NT);
        inh__matmul_backward(cdinp.data(), cdw.data(), cdb.data(), dout.data(), inp.data(), w.data(), N, C, OC, NT);
    }
    float *gi = dput(inp.data(), (size_t)N * C), *gw = dput(w.data(), (size_t)OC * C), *gb = dput(b.data(), OC);
    float *gd = dput(dout.data(), (size_t)N * OC), *go = dpoison((size_t)N * OC);
    float *gdi = dput(dinp.data(), (size_t)N * C), *gdw = dput(dw.data(), (size_t)OC * C), *gdb = dput(db.data(), OC);
    OK(inh_cuda_matmul_forward(G, go, gi, gw, with_bias ? gb : NULL, N, C, OC, bf16, NULL));
    OK(inh_cuda_matmul_backward(G, gdi, gdw, gdb, gd, gi, gw, N, C, OC, bf16, 0, NULL, NULL));
    auto ri = rounded(inp, bf16), rw = rounded(w, bf16), rd = rounded(dout, bf16);
    auto got = dget(go, (size_t)N * OC);
    check_mm(what, got.data(), out.data(), N, OC, C, row_norms(ri.data(), N, C, C, 1), row_norms(rw.data(), OC, C, C, 1), bias, NULL);
    char w2[160];
    snprintf(w2, sizeof w2, "%s backward dinp", what);
    check_mm(w2, dget(gdi, (size_t)N * C).data(), cdinp.data(), N, C, OC, row_norms(rd.data(), N, OC, OC, 1),
             row_norms(rw.data(), C, OC, 1, C), NULL, dinp.data());
    snprintf(w2, sizeof w2, "%s backward dw", what);
    check_mm(w2, dget(gdw, (size_t)OC * C).data(), cdw.data(), OC, C, N, row_norms(rd.data(), OC, N, 1, OC),
             row_norms(ri.data(), C, N, 1, C), NULL, dw.data());
    /* dbias: N terms of |dout| <= 1 in fp32 (never rounded) on both sides */
    snprintf(w2, sizeof w2, "%s backward dbias", what);
    auto gdbias = dget(gdb, OC);
    check_arr(w2, gdbias.data(), cdb.data(), OC, 2.0 * (N + 1) * U * (N + 1), 0);
    check_again("matmul backward dbias, again", gdbias, OC, [&] {
        float *d = dput(db.data(), OC);
        OK(inh_cuda_matmul_backward(G, NULL, NULL, d, gd, gi, gw, N, C, OC, bf16, 0, NULL, NULL));
        return d;
    });
    if (bf16 && C >= 8) {   /* the bf16 path really rounds: its result is not the fp32 one */
        float *go32 = dpoison((size_t)N * OC);
        OK(inh_cuda_matmul_forward(G, go32, gi, gw, with_bias ? gb : NULL, N, C, OC, 0, NULL));
        auto g32 = dget(go32, (size_t)N * OC);
        double md = 0;
        for (size_t i = 0; i < (size_t)N * OC; i++) md = fmax(md, fabs((double)g32[i] - got[i]));
        CHECK(md > 1e-4, "%s: bf16 and fp32 results differ by only %.3g: operands not rounded?", what, md);
    }
    /* fresh: dinp = dout @ w into NaN bytes (beta 1 would read them back), as the CPU's zero, then
       add; dw still adds (into the dw just checked) */
    {
        std::vector<float> fdinp((size_t)N * C, 0.0f), fdw = dget(gdw, (size_t)OC * C);
        fdw.resize((size_t)OC * C);
        auto fdw0 = fdw;
        (bf16 ? inh__matmul_backward_bf16 : inh__matmul_backward)(fdinp.data(), fdw.data(), NULL, dout.data(), inp.data(), w.data(),
                                                                  N, C, OC, NT);
        float *fdi = dpoison((size_t)N * C);
        OK(inh_cuda_matmul_backward(G, fdi, gdw, NULL, gd, gi, gw, N, C, OC, bf16, 1, NULL, NULL));
        snprintf(w2, sizeof w2, "%s backward fresh dinp", what);
        check_mm(w2, dget(fdi, (size_t)N * C).data(), fdinp.data(), N, C, OC, row_norms(rd.data(), N, OC, OC, 1),
                 row_norms(rw.data(), C, OC, 1, C), NULL, NULL);
        snprintf(w2, sizeof w2, "%s backward fresh dinp, dw", what);
        check_mm(w2, dget(gdw, (size_t)OC * C).data(), fdw.data(), OC, C, N, row_norms(rd.data(), OC, N, 1, OC),
                 row_norms(ri.data(), C, N, 1, C), NULL, fdw0.data());
    }
    /* NULL gradients are skipped (the model passes NULL dbias without bias) */
    OK(inh_cuda_matmul_backward(G, NULL, NULL, NULL, gd, gi, gw, N, C, OC, bf16, 0, NULL, NULL));
    if (bf16) {   /* a bf16 model's activations: inp and dout also as bf16 (their producers' out16), which the forward and
                     backward read instead of rounding inp and dout; the same bits as rounding them. The bf16 copies are
                     made here on the host, so that a matmul that still rounded the floats would not match */
        size_t nI = (size_t)N * C, nO = (size_t)N * OC;
        std::vector<unsigned short> i16(nI), d16(nO);
        for (size_t i = 0; i < nI; i++) i16[i] = bf16_bits(inp[i]);
        for (size_t i = 0; i < nO; i++) d16[i] = bf16_bits(dout[i]);
        unsigned short *gi16 = dput(i16.data(), nI), *gd16 = dput(d16.data(), nO);
        float *go16 = dpoison(nO), *gz = dput(std::vector<float>(nI, 0.0f).data(), nI), *gzd = dput(std::vector<float>(nO, 0.0f).data(), nO);
        OK(inh_cuda_matmul_forward(G, go16, gz, gw, with_bias ? gb : NULL, N, C, OC, 1, gi16));   /* inp's floats zeros: not read */
        auto got16 = dget(go16, nO);
        size_t diff = 0;
        for (size_t i = 0; i < nO; i++) diff += memcmp(&got16[i], &got[i], sizeof(float)) != 0;
        CHECK(diff == 0, "%s: forward from inp16: %zu of %zu outputs not the bits of rounding inp", what, diff, nO);
        float *a_di = dpoison(nI), *b_di = dpoison(nI), *a_dw = dput(dw.data(), (size_t)OC * C), *b_dw = dput(dw.data(), (size_t)OC * C);
        float *a_db = dput(db.data(), OC), *b_db = dput(db.data(), OC);
        OK(inh_cuda_matmul_backward(G, a_di, a_dw, a_db, gd, gi, gw, N, C, OC, 1, 1, NULL, NULL));
        OK(inh_cuda_matmul_backward(G, b_di, b_dw, NULL, gzd, gz, gw, N, C, OC, 1, 1, gi16, gd16));
        OK(inh_cuda_matmul_backward(G, NULL, NULL, b_db, gd, gz, gw, N, C, OC, 1, 0, gi16, gd16));   /* dbias from dout's floats */
        auto adi = dget(a_di, nI), bdi = dget(b_di, nI), adw = dget(a_dw, (size_t)OC * C), bdw = dget(b_dw, (size_t)OC * C);
        auto adb = dget(a_db, OC), bdb = dget(b_db, OC);
        for (size_t i = 0; i < nI; i++) diff += memcmp(&adi[i], &bdi[i], sizeof(float)) != 0;
        for (size_t i = 0; i < (size_t)OC * C; i++) diff += memcmp(&adw[i], &bdw[i], sizeof(float)) != 0;
        for (int i = 0; i < OC; i++) diff += memcmp(&adb[i], &bdb[i], sizeof(float)) != 0;
        CHECK(diff == 0, "%s: backward from inp16 and dout16: %zu values not the bits of rounding inp and dout", what, diff);
    }
    dfree_all(what);
}

/* ---- the forward's bias in cuBLASLt's epilogue -------------------------------------------------
   With a bias the forward is one cuBLASLt GEMM that adds the bias in its epilogue: no bias-fill
   kernel, out written once. Everywhere: within test_matmul's bound of the CPU and deterministic,
   with out, inp, w and the bias one float past the start of their buffers (4-byte aligned, as
   offsets into the model's activations can be: the heuristic is told the real alignment). On the
   emulator, whose arithmetic is known: bit for bit the GEMM without the bias plus the bias in fp32
   (alpha s + bias, the stand-in's order), the same bits as the fallback (the bias filled first, then
   alpha s + 1 * bias), and one launch fewer than the fallback: the fill is gone. */
static void test_matmul_lt(int N, int C, int OC, int bf16) {
    char what[128];
    snprintf(what, sizeof what, "matmul%s bias epilogue N=%d C=%d OC=%d", bf16 ? " bf16" : "", N, C, OC);
    size_t NC = (size_t)N * C, WC = (size_t)OC * C, NO = (size_t)N * OC;
    auto inp = rnd(NC + 1, -1, 1), w = rnd(WC + 1, -1, 1), b = rnd((size_t)OC + 1, -1, 1);
    std::vector<float> out(NO + 1);
    (bf16 ? inh__matmul_forward_bf16 : inh__matmul_forward)(out.data(), inp.data() + 1, w.data() + 1, b.data() + 1, N, C, OC, NT);
    float *gi = dput(inp.data(), NC + 1) + 1, *gw = dput(w.data(), WC + 1) + 1, *gb = dput(b.data(), (size_t)OC + 1) + 1;
    float *go = dpoison(NO + 1) + 1;
    OK(inh_cuda_matmul_forward(G, go, gi, gw, gb, N, C, OC, bf16, NULL));
    auto got = dget(go, NO);
    auto ri = rounded(std::vector<float>(inp.begin() + 1, inp.end()), bf16), rw = rounded(std::vector<float>(w.begin() + 1, w.end()), bf16);
    check_mm(what, got.data(), out.data(), N, OC, C, row_norms(ri.data(), N, C, C, 1), row_norms(rw.data(), OC, C, C, 1), b.data() + 1, NULL);
    char w2[192];
    snprintf(w2, sizeof w2, "%s, again", what);
    check_again(w2, got, NO, [&] {
        float *d = dpoison(NO);
        OK(inh_cuda_matmul_forward(G, d, gi, gw, gb, N, C, OC, bf16, NULL));
        return d;
    });
#ifdef INH_CUDA_EMULATE
    float *gn = dpoison(NO), *gb2 = dpoison(NO), *gf = dpoison(NO);
    unsigned long long l0 = inh_simt::S().launches;
    OK(inh_cuda_matmul_forward(G, gn, gi, gw, NULL, N, C, OC, bf16, NULL));
    unsigned long long l1 = inh_simt::S().launches;
    OK(inh_cuda_matmul_forward(G, gb2, gi, gw, gb, N, C, OC, bf16, NULL));
    unsigned long long l2 = inh_simt::S().launches;
    inh_simt::lt_algos() = 0;
    OK(inh_cuda_matmul_forward(G, gf, gi, gw, gb, N, C, OC, bf16, NULL));
    inh_simt::lt_algos() = 1;
    unsigned long long l3 = inh_simt::S().launches;
    CHECK(l2 - l1 == l1 - l0, "%s: %llu kernels with the bias, %llu without: the bias is not in the GEMM's epilogue", what, l2 - l1, l1 - l0);
    CHECK(l3 - l2 == l2 - l1 + 1, "%s: the fallback launches %llu kernels, not the %llu of the epilogue's path plus the fill", what,
          l3 - l2, l2 - l1);
    auto vn = dget(gn, NO), vf = dget(gf, NO);
    std::vector<float> want(NO + 1);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) want[(size_t)n * OC + o] = vn[(size_t)n * OC + o] + b[1 + o];
    snprintf(w2, sizeof w2, "%s: the GEMM without the bias, plus the bias", what);
    check_exact(w2, got.data(), want.data(), NO);
    snprintf(w2, sizeof w2, "%s: the fallback's bits", what);
    check_exact(w2, vf.data(), got.data(), NO);
#endif
    dfree_all(what);
}

/* ---- attention ---------------------------------------------------------------------------- */
/* Each output is a sum over at most hs (dot products) and T (the softmax and the weighted sums)
   terms, no larger than the output's scale here (|q|,|k|,|v| <= 1, scale 1/sqrt(hs): |scores| <= 1
   on average, the weights a convex combination): both sides are within (hs + T) u of that scale of
   the exact result, plus 2 ulp for each expf: e = 2 (hs + T + 4) u relative to the scale (1 for the
   forward, max|dqkv change| for the backward, whose terms are products of two such sums: 2e). */
static void test_attention(int B, int T, int C, int NH) {
    char what[96];
    snprintf(what, sizeof what, "attention B=%d T=%d C=%d NH=%d", B, T, C, NH);
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    size_t N3 = (size_t)B * T * 3 * C, NC = (size_t)B * T * C, nrows = (size_t)B * NH * 2 * T;
    auto qkv = rnd(N3, -1, 1), dout = rnd(NC, -1, 1), dqkv = rnd(N3, -1, 1);
    std::vector<float> out(NC + 1), rows(nrows + 1), cdqkv = dqkv;
    inh__attention_forward_flash(out.data(), rows.data(), qkv.data(), B, T, C, NH, scale, NT);
    inh__attention_backward_flash(cdqkv.data(), rows.data(), dout.data(), qkv.data(), B, T, C, NH, scale, NT);
    float *gq = dput(qkv.data(), N3), *gd = dput(dout.data(), NC), *go = dpoison(NC), *grows = dpoison(nrows);
    float *gdq = dput(dqkv.data(), N3);
    OK(inh_cuda_attention_forward(G, go, grows, gq, B, T, C, NH, scale, 0, NULL));
    double e = 2.0 * (hs + T + 4) * U;
    auto gout = dget(go, NC);
    check_arr(what, gout.data(), out.data(), NC, e, 0);
    {
        float *go2 = dpoison(NC), *r2 = dpoison(nrows);
        unsigned short *g16 = dalloc16(NC);
        OK(inh_cuda_attention_forward(G, go2, r2, gq, B, T, C, NH, scale, 0, g16));
        check16(what, g16, go2, gout, NC);
    }
    check_again("attention forward, again", gout, NC, [&] {
        float *d = dpoison(NC), *r = dpoison(nrows);
        OK(inh_cuda_attention_forward(G, d, r, gq, B, T, C, NH, scale, 0, NULL));
        return d;
    });
    /* the log-sum-exp rows: row 0 has one key, so its lse is q0.k0 * scale */
    auto gr = dget(grows, nrows);
    {
        double s = 0;
        for (int i = 0; i < hs; i++) s += (double)qkv[i] * qkv[C + i];
        CHECK_CLOSE(gr[0], s * scale, e, 0, "attention forward: log-sum-exp of row 0");
    }
    OK(inh_cuda_attention_backward(G, gdq, grows, gd, go, gq, B, T, C, NH, scale, 0));
    std::vector<float> delta(N3);
    for (size_t i = 0; i < N3; i++) delta[i] = cdqkv[i] - dqkv[i];
    double gmax = maxabs(delta.data(), N3) + 1e-3;
    char w2[128];
    snprintf(w2, sizeof w2, "%s backward dqkv", what);
    auto gdqkv = dget(gdq, N3);
    check_arr(w2, gdqkv.data(), cdqkv.data(), N3, 2 * e * gmax + 4 * U, 0);
    check_again("attention backward, again", gdqkv, N3, [&] {
        float *d = dput(dqkv.data(), N3);
        OK(inh_cuda_attention_backward(G, d, grows, gd, go, gq, B, T, C, NH, scale, 0));
        return d;
    });
    {   /* without the forward's output (out NULL) the forward runs again for the log-sum-exp and D:
           the same tolerance (D's sum may contract to FMAs in another place, so not the same bits) */
        float *d = dput(dqkv.data(), N3), *r = dpoison(nrows);
        OK(inh_cuda_attention_backward(G, d, r, gd, NULL, gq, B, T, C, NH, scale, 0));
        snprintf(w2, sizeof w2, "%s backward dqkv, forward again", what);
        check_arr(w2, dget(d, N3).data(), cdqkv.data(), N3, 2 * e * gmax + 4 * U, 0);
    }
    dfree_all(what);
}
/* bf16 attention on the tensor cores against a double-precision reference on the same bf16-rounded
   q, k, v and dout. What the kernels do beyond that reference: they round P (before P V) and dS
   (before dS K, dS^T Q) to bf16, a relative error of at most 2^-8 an element, so an output that
   sums terms x_j y_j, one of them so rounded, differs by at most 2^-8 sum |x_j y_j|; D comes from
   the fp32 dout and the kernels' own out, so dS also carries P |dD| scale. Each element is checked
   against twice those sums (the fp32 sums and expf add a few hundred u, far below) plus 1e-6. A
   fragment in the wrong register or a missing mask gives errors of the outputs' own size. */
static void test_attention_bf16(int B, int T, int C, int NH) {
    char what[96];
    snprintf(what, sizeof what, "attention bf16 B=%d T=%d C=%d NH=%d", B, T, C, NH);
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    size_t N3 = (size_t)B * T * C3, NC = (size_t)B * T * C, nrows = (size_t)B * NH * 2 * T;
    auto qkv = rnd(N3, -2, 2), dout = rnd(NC, -1, 1), dqkv = rnd(N3, -1, 1);
    std::vector<float> rq = rounded(qkv, 1), rd = rounded(dout, 1);
    std::vector<double> out(NC), bout(NC), dq(N3, 0.0), bdq(N3, 0.0), P((size_t)T * T), dS((size_t)T * T), bD(T);
    const double ub = 1.0 / 256;   /* bf16's unit roundoff: 8 significant bits */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *Q = rq.data() + (size_t)b * T * C3 + h * hs, *K = Q + C, *V = Q + 2 * C;
            for (int t = 0; t < T; t++) {
                double mx = -1e300, l = 0;
                for (int j = 0; j <= t; j++) {
                    double d = 0;
                    for (int i = 0; i < hs; i++) d += (double)Q[(size_t)t * C3 + i] * K[(size_t)j * C3 + i];
                    P[(size_t)t * T + j] = d * scale;
                    mx = d * scale > mx ? d * scale : mx;
                }
                for (int j = 0; j <= t; j++) l += P[(size_t)t * T + j] = exp(P[(size_t)t * T + j] - mx);
                for (int j = 0; j <= t; j++) P[(size_t)t * T + j] /= l;
                for (int i = 0; i < hs; i++) {
                    double o = 0, ob = 0;
                    for (int j = 0; j <= t; j++) { o += P[(size_t)t * T + j] * V[(size_t)j * C3 + i]; ob += P[(size_t)t * T + j] * fabs(V[(size_t)j * C3 + i]); }
                    out[((size_t)b * T + t) * C + h * hs + i] = o;
                    bout[((size_t)b * T + t) * C + h * hs + i] = 2 * ub * ob + 1e-6;
                }
            }
            for (int t = 0; t < T; t++) {
                const float *dO = rd.data() + ((size_t)b * T + t) * C + h * hs, *dO32 = dout.data() + ((size_t)b * T + t) * C + h * hs;
                double Dt = 0, bDt = 0;
                for (int i = 0; i < hs; i++) {
                    size_t at = ((size_t)b * T + t) * C + h * hs + i;
                    Dt += (double)dO32[i] * out[at];
                    bDt += fabs(dO32[i]) * bout[at];
                }
                bD[t] = bDt;
                for (int j = 0; j <= t; j++) {
                    double dp = 0;
                    for (int i = 0; i < hs; i++) dp += (double)dO[i] * V[(size_t)j * C3 + i];
                    dS[(size_t)t * T + j] = P[(size_t)t * T + j] * (dp - Dt) * scale;
                }
            }
            double *dQ = dq.data() + (size_t)b * T * C3 + h * hs, *bQ = bdq.data() + (size_t)b * T * C3 + h * hs;
            for (int t = 0; t < T; t++)
                for (int j = 0; j <= t; j++) {
                    double p = P[(size_t)t * T + j], ds = dS[(size_t)t * T + j], e_ds = ub * fabs(ds) + p * bD[t] * scale;
                    const float *dO = rd.data() + ((size_t)b * T + t) * C + h * hs;
                    for (int i = 0; i < hs; i++) {
                        dQ[(size_t)t * C3 + i] += ds * K[(size_t)j * C3 + i];
                        bQ[(size_t)t * C3 + i] += 2 * e_ds * fabs(K[(size_t)j * C3 + i]);
                        dQ[(size_t)j * C3 + C + i] += ds * Q[(size_t)t * C3 + i];
                        bQ[(size_t)j * C3 + C + i] += 2 * e_ds * fabs(Q[(size_t)t * C3 + i]);
                        dQ[(size_t)j * C3 + 2 * C + i] += p * dO[i];
                        bQ[(size_t)j * C3 + 2 * C + i] += 2 * ub * p * fabs(dO[i]);
                    }
                }
        }
    float *gq = dput(qkv.data(), N3), *gd = dput(dout.data(), NC), *go = dpoison(NC), *grows = dpoison(nrows);
    float *gdq = dput(dqkv.data(), N3);
    OK(inh_cuda_attention_forward(G, go, grows, gq, B, T, C, NH, scale, 1, NULL));
    OK(inh_cuda_attention_backward(G, gdq, grows, gd, go, gq, B, T, C, NH, scale, 1));
    auto gout = dget(go, NC), gdqkv = dget(gdq, N3);
    {
        float *go2 = dpoison(NC), *r2 = dpoison(nrows);
        unsigned short *g16 = dalloc16(NC);
        OK(inh_cuda_attention_forward(G, go2, r2, gq, B, T, C, NH, scale, 1, g16));
        check16(what, g16, go2, gout, NC);
    }
    double worst = 0, worst_b = 0;
    size_t bad = 0;
    for (size_t i = 0; i < NC; i++) {
        double err = fabs(gout[i] - out[i]);
        if (!(err <= bout[i] + 1e-6)) bad++;
        worst = err / (bout[i] + 1e-6) > worst ? err / (bout[i] + 1e-6) : worst;
    }
    for (size_t i = 0; i < N3; i++) {
        double want = dqkv[i] + dq[i], tol = bdq[i] + 1e-6 + 4 * U * fabs(dqkv[i]), err = fabs(gdqkv[i] - want);
        if (!(err <= tol)) bad++;
        worst_b = err / tol > worst_b ? err / tol : worst_b;
    }
    CHECK(bad == 0, "%s: %zu elements outside the bound (worst: forward %.3g, backward %.3g of it)", what, bad, worst, worst_b);
    if (getenv("TEST_CUDA_VERBOSE")) printf("  %-50s worst %.3g (forward), %.3g (backward) of the bound\n", what, worst, worst_b);
    /* the log-sum-exp: row 0 sees key 0 only */
    auto gr = dget(grows, nrows);
    double s0 = 0;
    for (int i = 0; i < hs; i++) s0 += (double)rq[i] * rq[C + i];
    CHECK_CLOSE(gr[0], s0 * scale, 1e-5 * (1 + fabs(s0 * scale)), 0, "attention bf16: log-sum-exp of row 0");
    /* bf16 is not fp32: the same inputs through the fp32 kernel give another output */
    {
        float *o32 = dpoison(NC), *r32 = dpoison(nrows);
        OK(inh_cuda_attention_forward(G, o32, r32, gq, B, T, C, NH, scale, 0, NULL));
        auto f = dget(o32, NC);
        size_t same = 0;
        for (size_t i = 0; i < NC; i++) same += f[i] == gout[i];
        CHECK(same < NC, "%s: the bf16 forward differs from the fp32 one (%zu of %zu equal)", what, same, NC);
    }
    check_again("attention bf16 forward, again", gout, NC, [&] {
        float *d = dpoison(NC), *r = dpoison(nrows);
        OK(inh_cuda_attention_forward(G, d, r, gq, B, T, C, NH, scale, 1, NULL));
        return d;
    });
    check_again("attention bf16 backward, again", gdqkv, N3, [&] {
        float *d = dput(dqkv.data(), N3);
        OK(inh_cuda_attention_backward(G, d, grows, gd, go, gq, B, T, C, NH, scale, 1));
        return d;
    });
    CHECK(inh_cuda_attention_backward(G, gdq, grows, gd, NULL, gq, B, T, C, NH, scale, 1) == -1 && strstr(inh_cuda_error(), "output"),
          "attention bf16 backward without the forward's output is refused: %s", inh_cuda_error());
    dfree_all(what);
}
static void test_attention_errors(void) {
    float *p = dpoison(16);
    CHECK(inh_cuda_attention_forward(G, p, p, p, 1, 1, 12, 5, 1.0f, 0, NULL) == -1 && strstr(inh_cuda_error(), "multiple"),
          "attention with C %% NH != 0 is refused: %s", inh_cuda_error());
    CHECK(inh_cuda_attention_forward(G, p, p, p, 1, 1, 160, 1, 1.0f, 1, NULL) == -1 && strstr(inh_cuda_error(), "head size"),
          "attention with hs > 128 is refused: %s", inh_cuda_error());
    dfree_all("attention errors");
}

/* ---- GELU ----------------------------------------------------------------------------------- */
/* the same formula on both sides; expf within 2 ulp on each: the forward's relative error is a
   few u (the tanh term is 1 - 2/(e+1), error <= 4u absolute; times 0.5 x): atol 8u|x|. The
   backward divides g by x; the CPU's vector path uses FMAs: atol 64u (|d| <= 1.2, |dout| <= 1). */
static void test_gelu(size_t n) {
    auto x = rnd(n, -6, 6), dout = rnd(n, -1, 1), dinp = rnd(n, -1, 1);
    for (size_t i = 0; i < n && i < 16; i++) x[i] = (float)i * 1e-4f - 8e-4f;   /* the |x| <= 1e-3 branch */
    std::vector<float> out(n + 1), cdinp = dinp;
    inh__gelu_forward(out.data(), x.data(), n, NT);
    inh__gelu_backward(cdinp.data(), x.data(), out.data(), dout.data(), n, NT);
    float *gx = dput(x.data(), n), *go = dpoison(n), *gdo = dput(dout.data(), n), *gdi = dput(dinp.data(), n);
    float *gg = dput(out.data(), n);
    OK(inh_cuda_gelu_forward(G, go, gx, n, NULL));
    auto gfo = dget(go, n);
    check_arr("gelu forward", gfo.data(), out.data(), n, 8 * U * 6 + 1e-37, 8 * U);
    OK(inh_cuda_gelu_backward(G, gdi, gx, gg, gdo, n, NULL));   /* from the CPU's forward output */
    auto gbo = dget(gdi, n);
    check_arr("gelu backward", gbo.data(), cdinp.data(), n, 64 * U, 0);
    float *go2 = dpoison(n), *gdi2 = dput(dinp.data(), n);
    unsigned short *f16 = dalloc16(n), *b16 = dalloc16(n);
    OK(inh_cuda_gelu_forward(G, go2, gx, n, f16));
    check16("gelu forward", f16, go2, gfo, n);
    OK(inh_cuda_gelu_backward(G, gdi2, gx, gg, gdo, n, b16));   /* out16: the sum after the add */
    check16("gelu backward", b16, gdi2, gbo, n);
    dfree_all("gelu");
}

/* ---- cross-entropy -------------------------------------------------------------------------- */
/* probabilities: exp within 2 ulp on each side, the sum over V in another order (V u relative):
   rtol 2 (V + 8) u. loss = max + log(sum) - logit: atol 2 (V + 8) u (1 + |loss|). Backward from the
   same probabilities: the same arithmetic, up to a fused multiply-add: rtol 4u of |dloss| terms. */
static void test_crossentropy(int N, int V, int Vp, int distill) {
    char what[96];
    snprintf(what, sizeof what, "crossentropy N=%d V=%d Vp=%d%s", N, V, Vp, distill ? " distill" : "");
    size_t n = (size_t)N * Vp;
    auto logits = rnd(n, -8, 8), q = rnd(n, 0, 1);
    std::vector<int> tg(N);
    for (int i = 0; i < N; i++) tg[i] = (int)(inh_rng_u64(&R) % (uint64_t)V);
    for (int i = 0; i < N; i++) {
        for (int k = V; k < Vp; k++) logits[(size_t)i * Vp + k] = 1e30f;   /* padding must not count */
        for (int k = V; k < Vp; k++) q[(size_t)i * Vp + k] = 0.0f;
    }
    std::vector<float> probs = logits, losses(N + 1);
    inh__crossentropy_forward(probs.data(), losses.data(), tg.data(), N, V, Vp, NT);
    std::vector<float> dl = probs;
    float w = 0.4f, dloss = 1.0f / N;
    inh__crossentropy_backward(dl.data(), tg.data(), distill ? q.data() : NULL, w, dloss, N, Vp, NT);
    float *gl = dput(logits.data(), n), *gloss = dpoison(N), *gq = dput(q.data(), n);
    int *gt = dput(tg.data(), N);
    OK(inh_cuda_crossentropy_forward(G, gl, gloss, gt, N, V, Vp));
    double t = 2.0 * (V + 8) * U;
    auto gprobs = dget(gl, n);
    check_arr(what, gprobs.data(), probs.data(), n, 1e-37, t);
    check_again("crossentropy forward, again", gprobs, n, [&] {
        float *d = dput(logits.data(), n), *l = dpoison(N);
        OK(inh_cuda_crossentropy_forward(G, d, l, gt, N, V, Vp));
        return d;
    });
    check_arr("crossentropy losses", dget(gloss, N).data(), losses.data(), N, t * (1 + maxabs(losses.data(), N)), 0);
    OK(inh_cuda_to_device(gl, probs.data(), n * sizeof(float)));
    OK(inh_cuda_crossentropy_backward(G, gl, gt, distill ? gq : NULL, w, dloss, N, Vp, NULL));
    auto gdl = dget(gl, n);
    check_arr("crossentropy backward", gdl.data(), dl.data(), n, 4 * U * dloss, 4 * U);
    /* into bf16 (a bf16 model's lm head): each value the bf16 rounding of the fp32 one; probs untouched */
    OK(inh_cuda_to_device(gl, probs.data(), n * sizeof(float)));
    unsigned short *g16 = dalloc16(n);
    OK(inh_cuda_crossentropy_backward(G, gl, gt, distill ? gq : NULL, w, dloss, N, Vp, g16));
    check16("crossentropy backward (probabilities unchanged)", g16, gl, probs, n, &gdl);
    dfree_all(what);
}

/* ---- grad norm, AdamW ----------------------------------------------------------------------- */
/* both sides add squares in double and round the square root once to float: at most 1 ulp apart */
static void test_grad_norm(size_t n) {
    auto x = rnd(n, -1, 1);
    inh__sq_args a;
    a.x = x.data(); a.n = n;
    inh__parallel(1, 64, inh__sumsq_chunks, &a);
    double s = 0;
    for (int k = 0; k < 64; k++) s += a.part[k];
    float want = (float)sqrt(s);
    float *gx = dput(x.data(), n), *gn = dpoison(1);
    OK(inh_cuda_grad_norm(G, gx, n, gn));   /* the norm stays on the device */
    float got = dget(gn, 1)[0];
    OK(inh_cuda_grad_norm(G, gx, n, gn));
    float got2 = dget(gn, 1)[0];
    char what[64];
    snprintf(what, sizeof what, "grad norm n=%zu", n);
    CHECK_CLOSE(got, want, 0, 2.0 * 2 * U, what);
    CHECK(memcmp(&got, &got2, 4) == 0, "grad norm n=%zu: two runs differ (%.9g, %.9g)", n, got, got2);
    dfree_all(what);
}
/* the gate: 0 over finite values (none at all too), NaN where one is Inf, -Inf or NaN, wherever it is
   (the block's threads stride the values: first, last, past a block's width) */
static void test_finite_gate(size_t n) {
    auto x = rnd(n ? n : 1, -80, 80);
    float *gx = dput(x.data(), n ? n : 1), *gg = dpoison(1);
    OK(inh_cuda_finite_gate(G, gx, n, gg));
    float g0 = dget(gg, 1)[0];
    CHECK(g0 == 0.0f, "finite gate n=%zu over finite values: %g, not 0", n, g0);
    const float bad[3] = {INFINITY, -INFINITY, NAN};
    size_t at[3] = {0, n / 2, n ? n - 1 : 0};
    int wrong = 0;
    for (int k = 0; k < 3 && n; k++)
        for (int j = 0; j < 3; j++) {
            OK(inh_cuda_to_device(gx + at[j], &bad[k], sizeof(float)));
            OK(inh_cuda_finite_gate(G, gx, n, gg));
            wrong += !isnan(dget(gg, 1)[0]);
            OK(inh_cuda_to_device(gx + at[j], &x[at[j]], sizeof(float)));
        }
    CHECK(wrong == 0, "finite gate n=%zu: %d of 9 non-finite values left it open", n, wrong);
    dfree_all("finite gate");
}
/* 10 AdamW steps over 3 tensors (decayed, not decayed, decayed) and a gap that belongs to no
   segment (an absent tensor: must stay as it is); gradients new each step, clipped with the CPU's
   rule from the norm. Per step each element sees a few roundings, fused or not (FMAs): w within
   10 steps x lr x 1e-5 (the update m/(sqrt(v)+eps) is O(1), its relative error a few u). */
static void test_adamw(void) {
    size_t sizes[4] = {big ? 100000u : 1000u, big ? 777u : 77u, big ? 5000u : 333u, 50u};
    size_t n = sizes[0] + sizes[1] + sizes[2] + sizes[3];
    auto w = rnd(n, -1, 1);
    std::vector<float> m(n + 1, 0.0f), v(n + 1, 0.0f), cw = w;
    inh_adamw o;
    inh_adamw_default(&o);
    o.grad_clip = 5.5f * 0.05f * sqrtf((float)n / 3.0f);   /* the norm of step t's gradients is about t/5.5 of it: steps 6.. clip */
    inh_cuda_segment segs[3] = {{0, sizes[0], o.weight_decay}, {sizes[0], sizes[1], 0.0f}, {sizes[0] + sizes[1] + sizes[3], sizes[2], o.weight_decay}};
    float *gw = dput(w.data(), n), *gm = dpoison(n), *gv = dpoison(n), *gg = dpoison(n), *gn = dpoison(1);
    OK(inh_cuda_memset(gm, 0, n * 4));
    OK(inh_cuda_memset(gv, 0, n * 4));
    float lr = 1e-2f;
    int norm_bad = 0, clipped = 0;
    for (int t = 1; t <= 10; t++) {
        auto g = rnd(n, -0.05f * t, 0.05f * t);
        OK(inh_cuda_to_device(gg, g.data(), n * 4));
        inh__sq_args sq;
        sq.x = g.data(); sq.n = n;
        inh__parallel(1, 64, inh__sumsq_chunks, &sq);
        double s = 0;
        for (int k = 0; k < 64; k++) s += sq.part[k];
        float norm = (float)sqrt(s);
        OK(inh_cuda_grad_norm(G, gg, n, gn));   /* adamw clips by it on the device */
        float gnorm = dget(gn, 1)[0];
        norm_bad += fabs(gnorm - norm) > 4 * U * norm;
        clipped += norm > o.grad_clip;
        float scale = (o.grad_clip > 0.0f && norm > o.grad_clip) ? o.grad_clip / (norm + 1e-6f) : 1.0f;
        inh__adam_args a;
        a.o = &o; a.lr = lr; a.scale = scale;
        a.ibc1 = 1.0f / (1.0f - powf(o.beta1, (float)t));
        a.ibc2 = 1.0f / (1.0f - powf(o.beta2, (float)t));
        for (int k = 0; k < 3; k++) {
            a.w = cw.data() + segs[k].off; a.g = g.data() + segs[k].off; a.m = m.data() + segs[k].off; a.v = v.data() + segs[k].off;
            a.n = segs[k].n; a.wd = segs[k].wd;
            inh__parallel(1, 64, inh__adam_chunks, &a);
        }
        OK(inh_cuda_adamw(G, gw, gg, gm, gv, segs, 3, lr, o.beta1, o.beta2, o.eps, gn, NULL, o.grad_clip, t));
    }
    CHECK(norm_bad == 0, "adamw: the GPU gradient norm was off in %d of 10 steps", norm_bad);
    CHECK(clipped >= 3 && clipped <= 9, "adamw: the test clips in some steps and not in others (%d of 10)", clipped);
    check_arr("adamw 10 steps: weights", dget(gw, n).data(), cw.data(), n, 10 * lr * 1e-5, 0);
    /* m and v: a few roundings per step, fused or not; m can cancel to near 0, so the absolute
       part is relative to the largest moment */
    check_arr("adamw 10 steps: first moments", dget(gm, n).data(), m.data(), n, 32 * U * maxabs(m.data(), n), 1e-5);
    check_arr("adamw 10 steps: second moments", dget(gv, n).data(), v.data(), n, 32 * U * maxabs(v.data(), n), 1e-5);
    auto gap = dget(gw + sizes[0] + sizes[1], sizes[3]);
    check_exact("adamw: the tensor in no segment is untouched", gap.data(), w.data() + sizes[0] + sizes[1], sizes[3]);
    CHECK(inh_cuda_adamw(G, gw, gg, gm, gv, segs, 3, lr, o.beta1, o.beta2, o.eps, NULL, NULL, 0.0f, 0) == -1, "adamw refuses step 0");
    /* a norm that is not finite skips the update: weights and moments keep their bits */
    auto w0 = dget(gw, n), m0 = dget(gm, n);
    const float bad[2] = {NAN, INFINITY};
    for (int k = 0; k < 2; k++) {
        OK(inh_cuda_to_device(gn, &bad[k], sizeof(float)));
        OK(inh_cuda_adamw(G, gw, gg, gm, gv, segs, 3, lr, o.beta1, o.beta2, o.eps, gn, NULL, o.grad_clip, 11));
    }
    check_exact("adamw with a NaN or Inf norm: the weights untouched", dget(gw, n).data(), w0.data(), n);
    check_exact("adamw with a NaN or Inf norm: the moments untouched", dget(gm, n).data(), m0.data(), n);
    /* a finite norm and a closed gate (a loss that is Inf or NaN) skip it too; an open gate runs it */
    const float one = 1.0f, fine[3] = {2.0f, 0.5f, 7.0f}, inf_loss[3] = {2.0f, INFINITY, 7.0f}, nan_loss[3] = {NAN, 0.5f, 7.0f};
    float *gl = dpoison(3), *ggt = dpoison(1);
    OK(inh_cuda_to_device(gn, &one, sizeof(float)));
    const float *closed[2] = {inf_loss, nan_loss};
    for (int k = 0; k < 2; k++) {
        OK(inh_cuda_to_device(gl, closed[k], sizeof fine));
        OK(inh_cuda_finite_gate(G, gl, 3, ggt));
        OK(inh_cuda_adamw(G, gw, gg, gm, gv, segs, 3, lr, o.beta1, o.beta2, o.eps, gn, ggt, o.grad_clip, 11));
    }
    check_exact("adamw with a finite norm and an Inf or NaN loss's gate: the weights untouched", dget(gw, n).data(), w0.data(), n);
    check_exact("adamw with a finite norm and an Inf or NaN loss's gate: the moments untouched", dget(gm, n).data(), m0.data(), n);
    OK(inh_cuda_to_device(gl, fine, sizeof fine));
    OK(inh_cuda_finite_gate(G, gl, 3, ggt));
    CHECK(dget(ggt, 1)[0] == 0.0f, "the gate of finite losses is 0");
    OK(inh_cuda_adamw(G, gw, gg, gm, gv, segs, 3, lr, o.beta1, o.beta2, o.eps, gn, ggt, o.grad_clip, 11));
    auto w1 = dget(gw, n);
    CHECK(memcmp(w1.data(), w0.data(), n * 4) != 0, "adamw with an open gate updates the weights");
    dfree_all("adamw");
}

/* ---- scratch: grown by a direct caller's op (counted), never after a reserve large enough ---- */
static void test_scratch(void) {
    inh_cuda_ctx *g;
    OK(inh_cuda_init(&g, 0));
    int N = 300, C = 40;
    auto d = rnd((size_t)N * C, -1, 1), b = rnd(C, -1, 1);
    float *gd = dput(d.data(), (size_t)N * C), *gb = dput(b.data(), C);
    OK(inh_cuda_matmul_backward(g, NULL, NULL, gb, gd, NULL, NULL, N, 1, C, 0, 0, NULL, NULL));
    CHECK(inh_cuda_scratch_grows(g) == 1, "an op on an empty scratch grows it, and that is counted (%zu)", inh_cuda_scratch_grows(g));
    inh_cuda_release(g);
    OK(inh_cuda_init(&g, 0));
    OK(inh_cuda_reserve(g, (size_t)3 * C * sizeof(float), 0));   /* the 3 row chunks' partials of dbias */
    OK(inh_cuda_matmul_backward(g, NULL, NULL, gb, gd, NULL, NULL, N, 1, C, 0, 0, NULL, NULL));
    CHECK(inh_cuda_scratch_grows(g) == 0, "after reserve, the op does not grow the scratch (%zu)", inh_cuda_scratch_grows(g));
    inh_cuda_release(g);
    dfree_all("scratch");
}

/* ---- the emulator itself (emulation build only): it must catch what it promises to --------- */
#ifdef INH_CUDA_EMULATE
static char emu_err[1024];
/* launch and synchronise: -1 with emu_err set if the launch was refused or the kernel failed */
#define EMU_LAUNCH(kernel, grid, block, shmem, ...) do { \
    emu_err[0] = 0; \
    inh_simt::at(#kernel, __FILE__, __LINE__); \
    if (inh_simt::launch(grid, block, shmem, kernel, __VA_ARGS__) || inh_simt::sync()) { \
        snprintf(emu_err, sizeof emu_err, "%s", inh_simt::error()); \
        return -1; \
    } \
} while (0)
__global__ void emu_bad_barrier(int *x) {
    if (threadIdx.x == 5) return;
    __syncthreads();
    x[threadIdx.x] = 1;
}
__global__ void emu_shuffles(int *out) {
    int lane = threadIdx.x % 32, v = (int)threadIdx.x;
    int s = v;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    int d = __shfl_down_sync(0xffffffffu, v, 3), b = __shfl_sync(0xffffffffu, v, 7);
    out[threadIdx.x * 3] = s; out[threadIdx.x * 3 + 1] = d; out[threadIdx.x * 3 + 2] = b;
    (void)lane;
}
__global__ void emu_race(int *out) {   /* reads a neighbour's shared value without a barrier */
    __shared__ int sh[64];
    sh[threadIdx.x] = (int)(blockIdx.x * 1000 + threadIdx.x);
    out[blockIdx.x * 64 + threadIdx.x] = sh[(threadIdx.x + 1) % 64];
}
__global__ void emu_bad_shuffle(int *out) {   /* lane 0 leaves before the others shuffle */
    if (threadIdx.x % 32 == 0) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}
__global__ void emu_geometry(int *out) {   /* 2-D blocks in a 2-D grid; shuffles in segments of 16 */
    int t = threadIdx.y * blockDim.x + threadIdx.x, b = blockIdx.y * gridDim.x + blockIdx.x;
    int v = __shfl_xor_sync(0xffffffffu, t, 1, 16) + 1000 * __shfl_sync(0xffffffffu, t, 3, 16);
    if (t < 16) __syncwarp(0x0000ffffu);   /* half a warp may meet on its own */
    out[b * blockDim.x * blockDim.y + t] = v;
}
/* mma.sync m16n8k16 (bf16 in, fp32 out): each lane packs its fragments as the PTX ISA's tables
   give them, written here as "register r of lane l holds": A (l/4 + 8 (r%2), k pair l%4 + 4 (r/2)),
   B (k pair l%4 + 4r, column l/4), C and D (row l/4 + 8 (r/2), column 2 (l%4) + r%2); small
   integers, so every product and sum is exact */
__global__ void emu_mma(float *d, const float *a, const float *b, const float *c, int skip_lane) {
    int l = threadIdx.x;
    if (l == skip_lane) return;
    uint32_t fa[4], fb[2];
    float fc[4], fd[4];
    for (int r = 0; r < 4; r++) {
        int row = l / 4 + 8 * (r % 2), k = 2 * (l % 4 + 4 * (r / 2));
        fa[r] = inh__bf16_pair(a[row * 16 + k], a[row * 16 + k + 1]);
        fc[r] = c[(l / 4 + 8 * (r / 2)) * 8 + 2 * (l % 4) + r % 2];
    }
    for (int r = 0; r < 2; r++) {
        int k = 2 * (l % 4 + 4 * r);
        fb[r] = inh__bf16_pair(b[k * 8 + l / 4], b[(k + 1) * 8 + l / 4]);
    }
    inh_simt_mma_bf16_16816(fd, fa, fb, fc);
    for (int r = 0; r < 4; r++) d[(l / 4 + 8 * (r / 2)) * 8 + 2 * (l % 4) + r % 2] = fd[r];
}
static int emu_launch_mma(float *d, const float *a, const float *b, const float *c, int skip) {
    EMU_LAUNCH(emu_mma, dim3(1), dim3(32), 0, d, a, b, c, skip);
    return 0;
}
static void test_emulator_mma(void) {
    std::vector<float> a(256), b(128), c(128), want(128);
    for (int i = 0; i < 256; i++) a[i] = (float)((i * 7) % 11 - 5);
    for (int i = 0; i < 128; i++) { b[i] = (float)((i * 5) % 9 - 4); c[i] = (float)(i % 13 - 6); }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++) {
            float s = c[i * 8 + j];
            for (int k = 0; k < 16; k++) s += a[i * 16 + k] * b[k * 8 + j];
            want[i * 8 + j] = s;
        }
    float *ga = dput(a.data(), 256), *gb = dput(b.data(), 128), *gc = dput(c.data(), 128), *gd = dpoison(128);
    CHECK(emu_launch_mma(gd, ga, gb, gc, -1) == 0, "emulator: mma.sync: %s", emu_err);
    auto got = dget(gd, 128);
    check_exact("emulator: mma.sync m16n8k16 with the PTX fragment layouts", got.data(), want.data(), 128);
    CHECK(emu_launch_mma(gd, ga, gb, gc, 31) == -1 && strstr(emu_err, "mma.sync"), "emulator: mma.sync with a lane missing is an error: %s",
          emu_err);
    dfree_all("emulator mma");
}
static int emu_launch_geometry(int *x) { EMU_LAUNCH(emu_geometry, dim3(2, 3), dim3(8, 6), 0, x); return 0; }
static int emu_launch_bad_barrier(int *x) { EMU_LAUNCH(emu_bad_barrier, dim3(1), dim3(64), 0, x); return 0; }
static int emu_launch_shuffles(int *x) { EMU_LAUNCH(emu_shuffles, dim3(1), dim3(64), 0, x); return 0; }
static int emu_launch_race(int *x) { EMU_LAUNCH(emu_race, dim3(3), dim3(64), 0, x); return 0; }
static int emu_launch_bad_shuffle(int *x) { EMU_LAUNCH(emu_bad_shuffle, dim3(1), dim3(32), 0, x); return 0; }
static int emu_launch_too_big(int *x) { EMU_LAUNCH(emu_shuffles, dim3(1), dim3(2048), 0, x); return 0; }
__global__ void emu_load(float *out, const float *x, int i) { if (threadIdx.x == 0) out[0] = x[i]; }
__global__ void emu_store(float *x, int i) { if (threadIdx.x == 0) x[i] = 1.0f; }
static int emu_launch_load(float *out, const float *x, int i) { EMU_LAUNCH(emu_load, dim3(1), dim3(32), 0, out, x, i); return 0; }
static int emu_launch_store(float *x, int i) { EMU_LAUNCH(emu_store, dim3(1), dim3(32), 0, x, i); return 0; }
__global__ void emu_big_shared(float *out) {   /* 32 KiB of static shared memory, and some dynamic */
    __shared__ float big[8192];
    INH_SIMT_DYN_SHARED(float, dyn);
    big[threadIdx.x] = (float)threadIdx.x;
    dyn[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = big[(threadIdx.x + 1) % 32] + dyn[(threadIdx.x + 1) % 32];
}
static int emu_launch_big_shared(float *out, size_t dyn) { EMU_LAUNCH(emu_big_shared, dim3(1), dim3(32), dyn, out); return 0; }
/* the race detector: a second thread's write to a shared word in the same barrier epoch fails
   the launch, unless a warp operation orders the two lanes of one warp; kernels whose words
   change hands only across barriers (or within a warp, across __syncwarp) run */
__global__ void emu_ww_race(int *out) {   /* every thread writes word 3 (values differ, so the writes show) */
    INH_SIMT_DYN_SHARED(int, sh);
    sh[3] = (int)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = sh[3];
}
__global__ void emu_warp_handoff(int *out, int sync) {   /* lane l writes word l, then word l+1 */
    INH_SIMT_DYN_SHARED(int, sh);
    int lane = threadIdx.x % 32, w = threadIdx.x / 32 * 32;
    sh[w + lane] = lane;
    if (sync) __syncwarp();
    sh[w + (lane + 1) % 32] = 100 + lane;
    __syncthreads();
    out[threadIdx.x] = sh[threadIdx.x];
}
__global__ void emu_cross_warp(int *out) {   /* lanes of two warps take turns at one word: __syncwarp does not order them */
    INH_SIMT_DYN_SHARED(int, sh);
    if (threadIdx.x == 0) sh[0] = 1;
    __syncwarp();
    if (threadIdx.x == 32) sh[0] = 2;
    __syncthreads();
    out[threadIdx.x] = sh[0];
}
__global__ void emu_barrier_handoff(int *out) {   /* the same word written by two threads, a barrier between */
    __shared__ int st[64];
    INH_SIMT_DYN_SHARED(int, sh);
    st[threadIdx.x] = sh[threadIdx.x] = (int)threadIdx.x;
    __syncthreads();
    st[(threadIdx.x + 1) % 64] = sh[(threadIdx.x + 1) % 64] = 1000 + (int)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = st[threadIdx.x] + sh[threadIdx.x];
}
__global__ void emu_warp_read(int *out, int sync) {   /* lane l reads lane l+1's word, after __syncwarp or not */
    INH_SIMT_DYN_SHARED(int, sh);
    int lane = threadIdx.x % 32, w = threadIdx.x / 32 * 32;
    sh[w + lane] = 10 * lane;
    if (sync) __syncwarp();
    out[threadIdx.x] = sh[w + (lane + 1) % 32];
}
__global__ void emu_static_race(int *out) {   /* static __shared__: two threads write one word */
    __shared__ int st[4];
    if (threadIdx.x < 2) st[(threadIdx.x & 4) + 1] = 7 + (int)threadIdx.x;   /* word 1, by an index clang keeps */
    __syncthreads();
    out[threadIdx.x] = st[1];
}
static int emu_launch_ww_race(int *x) { EMU_LAUNCH(emu_ww_race, dim3(1), dim3(64), 64, x); return 0; }
static int emu_launch_warp_handoff(int *x, int sync) { EMU_LAUNCH(emu_warp_handoff, dim3(2), dim3(64), 256, x, sync); return 0; }
static int emu_launch_cross_warp(int *x) { EMU_LAUNCH(emu_cross_warp, dim3(1), dim3(64), 16, x); return 0; }
static int emu_launch_barrier_handoff(int *x) { EMU_LAUNCH(emu_barrier_handoff, dim3(2), dim3(64), 256, x); return 0; }
static int emu_launch_warp_read(int *x, int sync) { EMU_LAUNCH(emu_warp_read, dim3(1), dim3(64), 256, x, sync); return 0; }
static int emu_launch_static_race(int *x) { EMU_LAUNCH(emu_static_race, dim3(1), dim3(32), 0, x); return 0; }
static void test_emulator_races(void) {
    int *x = NULL;
    cudaMalloc(&x, 128 * sizeof(int));
    CHECK(emu_launch_ww_race(x) == -1 && strstr(emu_err, "shared-memory race: dynamic shared memory, word 3") &&
          strstr(emu_err, "kernel emu_ww_race") && strstr(emu_err, "INH_SIMT_SEED="),
          "emulator: two threads writing one shared word between barriers is a race: %s", emu_err);
    CHECK(emu_launch_warp_handoff(x, 0) == -1 && strstr(emu_err, "shared-memory race"),
          "emulator: lanes writing each other's word with no __syncwarp between is a race: %s", emu_err);
    CHECK(emu_launch_warp_handoff(x, 1) == 0, "emulator: __syncwarp orders the lanes of a warp: %s", emu_err);
    std::vector<int> h(128);
    cudaMemcpy(h.data(), x, h.size() * sizeof(int), cudaMemcpyDeviceToHost);
    int bad = 0;
    for (int t = 0; t < 64; t++) bad += h[t] != 100 + (t % 32 + 31) % 32;
    CHECK(bad == 0, "emulator: the warp hand-off computes (%d wrong)", bad);
    CHECK(emu_launch_cross_warp(x) == -1 && strstr(emu_err, "by thread (0,0,0) and by thread (32,0,0)") ,
          "emulator: __syncwarp does not order lanes of different warps: %s", emu_err);
    CHECK(emu_launch_barrier_handoff(x) == 0, "emulator: writes that change hands across a barrier are no race: %s", emu_err);
    CHECK(emu_launch_warp_read(x, 1) == 0, "emulator: a lane reads another's word after __syncwarp: no race: %s", emu_err);
    if (inh_simt::trace_built)
        CHECK(emu_launch_warp_read(x, 0) == -1 && strstr(emu_err, "and read by thread"),
              "emulator: a lane reading another's word with no __syncwarp between is a race: %s", emu_err);
    cudaFree(x);   /* static __shared__: in test_emulator_limits, which says when it cannot be seen */
}
/* launches are queued and run at a synchronising call: host code reading device memory without
   one sees the old bytes; a kernel's failure shows at that call, naming it */
static void test_emulator_queue(void) {
    float *x = NULL, one = 1.0f, zero = 0.0f, h = -1.0f;
    cudaMalloc(&x, 4 * sizeof(float));
    cudaMemcpy(x, &zero, sizeof zero, cudaMemcpyHostToDevice);
    (void)cudaGetLastError();   /* the failures of test_emulator_races, not read yet */
    CHECK(inh_simt::launch(dim3(1), dim3(32), 0, emu_store, x, 0) == 0, "emulator: a launch is queued: %s", inh_simt::error());
    CHECK(x[0] == 0.0f, "emulator: the host reads the old value before a synchronising call (got %g)", x[0]);
    CHECK(cudaGetLastError() == cudaSuccess && x[0] == 0.0f, "emulator: cudaGetLastError() does not run the queue");
    CHECK(cudaDeviceSynchronize() == cudaSuccess && x[0] == 1.0f, "emulator: cudaDeviceSynchronize() runs it (got %g)", x[0]);
    /* stream order: a memset and an async copy queued behind a kernel run after it */
    inh_simt::launch(dim3(1), dim3(32), 0, emu_store, x, 1);
    cudaMemset(x + 1, 0, sizeof(float));
    CHECK(cudaMemcpyAsync(x + 2, &one, sizeof one, cudaMemcpyHostToDevice, 0) == cudaSuccess && x[2] != 1.0f,
          "emulator: cudaMemcpyAsync is queued");
    CHECK(cudaMemcpy(&h, x + 1, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess && h == 0.0f && x[2] == 1.0f,
          "emulator: cudaMemcpy runs the queue in order: kernel, memset, copy (got %g, %g)", h, x[2]);
    CHECK(cudaMemcpyAsync(x, &one, sizeof one, cudaMemcpyHostToDevice, (cudaStream_t)x) == cudaErrorInvalidValue,
          "emulator: cudaMemcpyAsync on a stream other than the default is refused");
    CHECK(inh_simt::launch(dim3(1), dim3(64), 0, emu_bad_barrier, (int *)x) == 0, "emulator: a failing kernel launches");
    cudaError_t e = cudaStreamSynchronize(0);
    CHECK(e == cudaErrorLaunchFailure && strstr(cudaGetErrorString(e), "emu_bad_barrier") == NULL &&
          strstr(cudaGetErrorString(e), "__syncthreads"),
          "emulator: its failure shows at the next synchronising call: %s", cudaGetErrorString(e));
    inh_simt::at("emu_bad_barrier", "here", 1);
    inh_simt::launch(dim3(1), dim3(64), 0, emu_bad_barrier, (int *)x);
    e = cudaMemcpy(&h, x, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(e == cudaErrorLaunchFailure && strstr(cudaGetErrorString(e), "kernel emu_bad_barrier (launch #") &&
          strstr(cudaGetErrorString(e), " at here:1"), "emulator: the failure names the kernel and its launch site: %s",
          cudaGetErrorString(e));
    CHECK(cudaGetLastError() == cudaErrorLaunchFailure && cudaDeviceSynchronize() == cudaSuccess,
          "emulator: cudaGetLastError() reports it once; later calls succeed (not sticky, unlike a GPU)");
    cudaFree(x);
}
/* what the runtime refuses at launch: shared memory over the limit (with and without the opt-in),
   too many threads; cudaGetLastError() gives the runtime's code once, then success */
static void test_emulator_limits(void) {
    float *out = NULL;
    cudaMalloc(&out, 32 * sizeof(float));
    (void)cudaGetLastError();   /* the refusals of test_emulator, not read yet */
    uintptr_t k = inh_simt::kernel_id(emu_big_shared);
    if (!INH_SIMT_POISON_STATIC) {   /* __shared__ is plain static there: no section to size it by */
        SKIP("emulator: static shared bytes are not known in this build (AddressSanitizer or not ELF): the limits on static + dynamic, "
             "and races on static __shared__, are not checked");
    } else {
        CHECK(emu_launch_static_race((int *)out) == -1 && strstr(emu_err, "__shared__ st, word 1"),
              "emulator: a race on a static __shared__ array: %s", emu_err);
        (void)cudaGetLastError();
        CHECK(inh_simt::static_shared(inh_simt::kernel_id(emu_race)) == 64 * sizeof(int) && inh_simt::static_shared(k) == 32768,
              "emulator: static shared bytes from the symbol table: %zu (want 256), %zu (want 32768)",
              inh_simt::static_shared(inh_simt::kernel_id(emu_race)), inh_simt::static_shared(k));
        CHECK(emu_launch_big_shared(out, 16384) == 0 && cudaGetLastError() == cudaSuccess,
              "emulator: 32 KiB static + 16 KiB dynamic (48 KiB) launches: %s", emu_err);
        CHECK(emu_launch_big_shared(out, 16384 + 4) == -1 && strstr(emu_err, "shared memory"),
              "emulator: 48 KiB + 4 bytes of shared memory without the opt-in is refused: %s", emu_err);
        CHECK(cudaGetLastError() == cudaErrorInvalidValue && cudaGetLastError() == cudaSuccess,
              "emulator: cudaGetLastError() reports the refused launch (invalid argument) once");
        CHECK(cudaFuncSetAttribute(emu_big_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024 - 32768 + 1) ==
              cudaErrorInvalidValue && cudaGetLastError() == cudaErrorInvalidValue,
              "emulator: an opt-in past 227 KiB of static + dynamic shared memory is refused");
    }
    CHECK(cudaFuncSetAttribute(emu_big_shared, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024 - 32768) == cudaSuccess,
          "emulator: the opt-in to 227 KiB of shared memory");
    CHECK(emu_launch_big_shared(out, 227 * 1024 - 32768) == 0 && cudaGetLastError() == cudaSuccess,
          "emulator: 227 KiB of shared memory with the opt-in launches: %s", emu_err);
    std::vector<float> h(32);
    inh_cuda_to_host(h.data(), out, sizeof(float) * 32);
    int bad = 0;
    for (int t = 0; t < 32; t++) bad += h[t] != (float)((t + 1) % 32) + 1.0f;
    CHECK(bad == 0, "emulator: the kernel with 227 KiB of shared memory computes (%d wrong)", bad);
    CHECK(emu_launch_big_shared(out, 227 * 1024 - 32768 + 4) == -1 && cudaGetLastError() == cudaErrorInvalidValue,
          "emulator: past the opt-in is refused: %s", emu_err);
    CHECK(emu_launch_too_big((int *)out) == -1 && cudaGetLastError() == cudaErrorInvalidConfiguration,
          "emulator: 2048 threads per block: invalid configuration");
    CHECK(emu_launch_bad_barrier((int *)out) == -1 && cudaGetLastError() == cudaErrorLaunchFailure,
          "emulator: a kernel that fails as it runs: launch failure");
    cudaFree(out);
}
/* a kernel touching x[i] (a load into out, or a store), run in a child process: 0 when it ran
   to the end, the signal that killed the child, or -1 (fork failed, the launch failed) */
static int emu_access_in_child(float *out, float *x, int i, int store) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);   /* no core file for the expected fault */
        signal(SIGSEGV, SIG_DFL);        /* the fault kills the child (AddressSanitizer would report it) */
        signal(SIGBUS, SIG_DFL);
        _exit(store ? emu_launch_store(x, i) ? 2 : 0 : emu_launch_load(out, x, i) ? 2 : 0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st) ? -1 : 0;
}
/* cudaMalloc's guard pages: an access just past a buffer (or, for a buffer of whole pages, just
   before it) faults; the last element and the slack up to 16 bytes do not */
static void test_emulator_guards(void) {
    float *out = NULL, *x8 = NULL, *x5 = NULL, *xp = NULL;
    int np = (int)(inh_simt::page_bytes() / sizeof(float));
    CHECK(cudaMalloc(&out, sizeof(float)) == cudaSuccess && cudaMalloc(&x8, 8 * sizeof(float)) == cudaSuccess &&
          cudaMalloc(&x5, 5 * sizeof(float)) == cudaSuccess && cudaMalloc(&xp, (size_t)np * sizeof(float)) == cudaSuccess,
          "emulator: cudaMalloc");
    CHECK(((uintptr_t)x8 | (uintptr_t)x5 | (uintptr_t)xp) % 16 == 0, "emulator: device buffers are 16-byte aligned");
    CHECK(emu_access_in_child(out, x8, 7, 0) == 0, "emulator: a kernel loading the last element runs");
    CHECK(emu_access_in_child(out, x8, 8, 0) == SIGSEGV, "emulator: a kernel loading one element past the end faults");
    CHECK(emu_access_in_child(out, x8, 8, 1) == SIGSEGV, "emulator: a kernel storing one element past the end faults");
    CHECK(emu_access_in_child(out, x5, 7, 0) == 0, "emulator: 20 bytes: the slack up to 32 bytes is not guarded");
    CHECK(emu_access_in_child(out, x5, 8, 0) == SIGSEGV, "emulator: 20 bytes: a load at byte 32 faults");
    CHECK(emu_access_in_child(out, xp, np - 1, 0) == 0 && emu_access_in_child(out, xp, 0, 1) == 0,
          "emulator: a page-sized buffer: its first and last elements");
    CHECK(emu_access_in_child(out, xp, -1, 0) == SIGSEGV, "emulator: a page-sized buffer: a load before its start faults");
    CHECK(emu_launch_load(out, x8, 7) == 0, "emulator: the parent still launches: %s", emu_err);
    CHECK(cudaFree(out) == cudaSuccess && cudaFree(x8) == cudaSuccess && cudaFree(x5) == cudaSuccess && cudaFree(xp) == cudaSuccess,
          "emulator: cudaFree");
    CHECK(cudaFree(x8) == cudaErrorInvalidDevicePointer, "emulator: a second cudaFree is refused");
}
/* the cuBLASLt stand-in: D = op(A) op(B) + bias exactly as summed in order in fp32, and what it
   refuses: an attribute or epilogue it does not have, a value of the wrong size, an operand, bias
   or workspace outside its allocation, an operand less aligned than the heuristic was told */
static void test_emulator_lt(void) {
    const int m = 3, n = 2, k = 4;
    auto ha = rnd(m * k, -1, 1), hb = rnd(k * n, -1, 1), hbias = rnd(m, -1, 1);
    float *A = dput(ha.data(), m * k), *B = dput(hb.data(), k * n), *bias = dput(hbias.data(), m), *D = dpoison(m * n);
    float *ws = NULL, *Dx = NULL, *shortbias = NULL;   /* exact sizes (dalloc rounds up to 16 bytes) */
    CHECK(cudaMalloc(&Dx, m * n * sizeof(float)) == cudaSuccess && cudaMalloc(&shortbias, (m - 1) * sizeof(float)) == cudaSuccess &&
          cudaMalloc(&ws, ((size_t)4 << 20) - 4) == cudaSuccess, "emulator: cudaMalloc");
    cublasLtHandle_t h = NULL;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL, ld4 = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t r;
    int found = 0;
    int32_t tn = CUBLAS_OP_N;
    uint32_t epi = CUBLASLT_EPILOGUE_BIAS, bgrad = CUBLASLT_EPILOGUE_BGRADB, al4 = 4, al16 = 16;
    uint64_t wsb = (uint64_t)1 << 22, epi64 = CUBLASLT_EPILOGUE_BIAS;
    const float one = 1.0f, zero = 0.0f;
    CHECK(cublasLtCreate(&h) == CUBLAS_STATUS_SUCCESS && cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt handle and descriptor");
    CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tn, sizeof tn) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt attributes");
    CHECK(cublasLtMatmulDescSetAttribute(op, (cublasLtMatmulDescAttributes_t)5, &tn, sizeof tn) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses a descriptor attribute it does not have (TRANSC)");
    CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &bgrad, sizeof bgrad) == CUBLAS_STATUS_NOT_SUPPORTED,
          "emulator: cuBLASLt refuses an epilogue it does not have (BGRADB)");
    CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi64, sizeof epi64) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses an attribute value of the wrong size");
    CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, m) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, n, k) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, m) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatrixLayoutCreate(&ld4, CUDA_R_32F, m, n, m + 1) == CUBLAS_STATUS_SUCCESS && cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt layouts and preference");
    CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt workspace preference");
    CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_SEARCH_MODE, &al4, sizeof al4) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses a preference attribute it does not have (SEARCH_MODE)");
    for (int i = 0; i < 4; i++)
        CHECK(cublasLtMatmulPreferenceSetAttribute(pref, (cublasLtMatmulPreferenceAttributes_t)(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + i),
                                                   i ? &al4 : &al16, sizeof al4) == CUBLAS_STATUS_SUCCESS,
              "emulator: cuBLASLt alignment preference");
    inh_simt::lt_algos() = 0;
    CHECK(cublasLtMatmulAlgoGetHeuristic(h, op, la, lb, ld, ld, pref, 1, &r, &found) == CUBLAS_STATUS_SUCCESS && found == 0,
          "emulator: cuBLASLt heuristic with no algorithm (a test's setting)");
    inh_simt::lt_algos() = 1;
    CHECK(cublasLtMatmulAlgoGetHeuristic(h, op, la, lb, ld, ld, pref, 1, &r, &found) == CUBLAS_STATUS_SUCCESS && found == 1 &&
          r.workspaceSize == (size_t)1 << 22, "emulator: cuBLASLt heuristic: one algorithm, 4 MiB of workspace (found %d)", found);
    CHECK(cublasLtMatmulAlgoGetHeuristic(h, op, lb, la, ld, ld, pref, 1, &r, &found) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt heuristic refuses shapes that disagree");
    CHECK(cublasLtMatmul(h, op, &one, A, la, B, lb, &zero, D, ld, D, ld, &r.algo, ws, 1 << 22, 0) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses a workspace outside its allocation (4 MiB asked of a buffer 4 bytes shorter)");
    float *ws4 = dpoison(1 << 20);
    CHECK(cublasLtMatmul(h, op, &one, A, la, B, lb, &zero, D, ld, D, ld, &r.algo, ws4, (size_t)1 << 22, 0) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt matmul with a bias: %s", cublasLtGetStatusString(CUBLAS_STATUS_INVALID_VALUE));
    CHECK(cublasLtMatmul(h, op, &one, A, la, B, lb, &zero, Dx, ld, Dx, ld, &r.algo, ws4, (size_t)1 << 22, 0) == CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt matmul into a D of exactly m x n: %s", cublasLtGetStatusString(CUBLAS_STATUS_INVALID_VALUE));
    auto got = dget(D, m * n);
    int bad = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float s = 0.0f;
            for (int l = 0; l < k; l++) s += ha[i + l * m] * hb[l + j * k];
            float want = 1.0f * s + hbias[i];
            bad += memcmp(&got[i + j * m], &want, 4) != 0;
        }
    CHECK(bad == 0, "emulator: cuBLASLt D = op(A) op(B) + bias[row], column-major (%d of %d wrong)", bad, m * n);
    CHECK(cublasLtMatmul(h, op, &one, A, la, B, lb, &zero, Dx, ld4, Dx, ld4, &r.algo, ws4, (size_t)1 << 22, 0) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses a D that, as its layout (ld %d) describes it, lies outside its allocation", m + 1);
    CHECK(cublasLtMatmul(h, op, &one, A, lb, B, lb, &zero, D, ld, D, ld, &r.algo, ws4, (size_t)1 << 22, 0) != CUBLAS_STATUS_SUCCESS,
          "emulator: cuBLASLt refuses an A of the wrong layout");
    CHECK(cublasLtMatmul(h, op, &one, A + 1, la, B, lb, &zero, D, ld, D, ld, &r.algo, ws4, (size_t)1 << 22, 0) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses an A less aligned than the heuristic was told (16 bytes), or past its allocation");
    CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &shortbias, sizeof shortbias) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatmul(h, op, &one, A, la, B, lb, &zero, D, ld, D, ld, &r.algo, ws4, (size_t)1 << 22, 0) == CUBLAS_STATUS_INVALID_VALUE,
          "emulator: cuBLASLt refuses a bias shorter than D's rows");
    CHECK(cublasLtMatrixLayoutDestroy(la) == CUBLAS_STATUS_SUCCESS && cublasLtMatrixLayoutDestroy(lb) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatrixLayoutDestroy(ld) == CUBLAS_STATUS_SUCCESS && cublasLtMatrixLayoutDestroy(ld4) == CUBLAS_STATUS_SUCCESS &&
          cublasLtMatmulPreferenceDestroy(pref) == CUBLAS_STATUS_SUCCESS && cublasLtMatmulDescDestroy(op) == CUBLAS_STATUS_SUCCESS &&
          cublasLtDestroy(h) == CUBLAS_STATUS_SUCCESS, "emulator: cuBLASLt destroy calls");
    CHECK(cudaFree(Dx) == cudaSuccess && cudaFree(shortbias) == cudaSuccess && cudaFree(ws) == cudaSuccess, "emulator: cudaFree");
    dfree_all("emulator: cuBLASLt");
}
static void test_emulator(void) {
    int *x = (int *)dalloc(3 * 64 * 3 * sizeof(int));
    CHECK(emu_launch_bad_barrier(x) == -1 && strstr(emu_err, "__syncthreads"), "emulator: a barrier some threads skip is an error: %s",
          emu_err);
    CHECK(emu_launch_shuffles(x) == 0, "emulator: shuffles: %s", emu_err);
    std::vector<int> h(64 * 3);
    inh_cuda_to_host(h.data(), x, h.size() * sizeof(int));
    int bad = 0;
    for (int t = 0; t < 64; t++) {
        int w0 = t / 32 * 32, lane = t % 32;
        bad += h[t * 3] != 32 * w0 + 496;                          /* sum over the warp */
        bad += h[t * 3 + 1] != (lane + 3 < 32 ? t + 3 : t);        /* down: own value past the end */
        bad += h[t * 3 + 2] != w0 + 7;
    }
    CHECK(bad == 0, "emulator: shuffle results (%d wrong)", bad);
    if (inh_simt::trace_built) {   /* clang's build: every shared-memory read is watched */
        CHECK(emu_launch_race(x) == -1 && strstr(emu_err, "shared-memory race: __shared__ sh, word ") &&
              strstr(emu_err, " and read by thread "),
              "emulator: a read of another thread's unsynchronised shared write is a race: %s", emu_err);
        (void)cudaGetLastError();
    } else {
        CHECK(emu_launch_race(x) == 0, "emulator: race kernel runs: %s", emu_err);
        inh_cuda_to_host(h.data(), x, h.size() * sizeof(int));
        int wrong = 0;   /* with a barrier, block b would read b*1000 + (t+1)%64 */
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 64; t++) wrong += h[b * 64 + t] != b * 1000 + (t + 1) % 64;
        CHECK(wrong > 0, "emulator: a missing barrier shows as wrong values (a random thread order; this build does not watch "
                         "reads: not built by clang)");
    }
    CHECK(emu_launch_bad_shuffle(x) == -1 && strstr(emu_err, "exited"), "emulator: a shuffle with an exited lane is an error: %s",
          emu_err);
    CHECK(emu_launch_too_big(x) == -1, "emulator: 2048 threads per block is refused");
    int *xg = (int *)dalloc(6 * 48 * sizeof(int));
    CHECK(emu_launch_geometry(xg) == 0, "emulator: 2-D geometry: %s", emu_err);
    std::vector<int> hg(6 * 48);
    inh_cuda_to_host(hg.data(), xg, hg.size() * sizeof(int));
    bad = 0;
    for (int b = 0; b < 6; b++)
        for (int t = 0; t < 48; t++) {   /* lane t: partner t^1 within its 16, lane 3 of its 16 */
            int seg = t / 16 * 16;
            bad += hg[b * 48 + t] != (seg + ((t - seg) ^ 1)) + 1000 * (seg + 3);
        }
    CHECK(bad == 0, "emulator: 2-D blocks and width-16 shuffles (%d wrong)", bad);
    /* cuBLAS stand-in: column-major op/ld semantics on a 2x3 by 3x2 product */
    cublasHandle_t h2;
    cublasCreate(&h2);
    float *A = (float *)dalloc(6 * 4), *B = (float *)dalloc(6 * 4), *Cm = (float *)dalloc(4 * 4);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 2, 1, 0, 3}, one = 1, zero = 0, c[4];
    inh_cuda_to_device(A, a, sizeof a); inh_cuda_to_device(B, b, sizeof b);
    /* A col-major 2x3 (ld 2) = [[1,3,5],[2,4,6]], B col-major 3x2 (ld 3) = [[1,1],[0,0],[2,3]] */
    CHECK(cublasSgemm(h2, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, A, 2, B, 3, &zero, Cm, 2) == CUBLAS_STATUS_SUCCESS, "stand-in sgemm NN");
    inh_cuda_to_host(c, Cm, sizeof c);
    CHECK(c[0] == 11 && c[1] == 14 && c[2] == 16 && c[3] == 20, "stand-in NN: got %g %g %g %g want 11 14 16 20", c[0], c[1], c[2], c[3]);
    /* op T on A: A stored 3x2 (ld 3) = [[1,4],[2,5],[3,6]], A^T 2x3 = [[1,2,3],[4,5,6]] */
    CHECK(cublasSgemm(h2, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, 3, &one, A, 3, B, 3, &zero, Cm, 2) == CUBLAS_STATUS_SUCCESS, "stand-in sgemm TN");
    inh_cuda_to_host(c, Cm, sizeof c);
    CHECK(c[0] == 7 && c[1] == 16 && c[2] == 10 && c[3] == 22, "stand-in TN: got %g %g %g %g want 7 16 10 22", c[0], c[1], c[2], c[3]);
    CHECK(cublasSgemm(h2, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, 3, &one, A, 2, B, 3, &zero, Cm, 2) == CUBLAS_STATUS_INVALID_VALUE,
          "stand-in: lda below the stored rows (op T, lda < k) is invalid");
    CHECK(cublasSgemm(h2, CUBLAS_OP_N, CUBLAS_OP_N, 2, 40, 3, &one, A, 2, B, 3, &zero, Cm, 2) == CUBLAS_STATUS_INVALID_VALUE &&
          strstr(cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE), "outside its device allocation"),
          "stand-in: an operand past its allocation is refused: %s", cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE));
    cublasDestroy(h2);
    dfree_all("emulator");
    test_emulator_guards();
    test_emulator_limits();
    test_emulator_races();
    test_emulator_queue();
}
#endif


/* ---- the whole model on the CUDA backend, against the CPU backend ------------------------------
   Two copies of one model, one moved to the GPU (inh_model_set_backend), fed the same batches.
   Every op is within the bounds checked above, so the differences that reach a loss or gradient
   are sums of many such bounds through a few layers; the tolerances below (stated at each check)
   are far above what fp32 reorderings give at these sizes and far below what any wrong index,
   missing term or stale buffer gives (those change losses in the first or second digit). */
static inh_config small_cfg(int bias) {
    inh_config c;
    inh_config_default(&c, big ? 128 : 16, big ? 1000 : 67, 2, 2, big ? 128 : 32);   /* V ragged: Vp pads it */
    c.bias = bias;
    return c;
}
static void fill_batch(int *x, int *y, int n, int V) {
    for (int i = 0; i < n; i++) { x[i] = (int)(inh_rng_u64(&R) % V); y[i] = (int)(inh_rng_u64(&R) % V); }
}
/* host copies of a GPU model's blocks */
static void pull(inh_model *m) { CHECK(inh_model_sync_host(m) == 0, "sync_host: %s", inh_error()); }
/* per tensor: |got - want| <= rel * max|want of that tensor| + tiny, over the whole block */
static void check_tensors(const char *what, const inh_model *m, const float *got, const float *want, double rel) {
    size_t off = 0;
    for (int i = 0; i < INH_MAX_PARAMS; off += m->param_sizes[i], i++) {
        if (!m->param_sizes[i]) continue;
        char name[160];
        snprintf(name, sizeof name, "%s %s", what, inh_param_name(i));
        double scale = maxabs(want + off, m->param_sizes[i]);
        check_arr(name, got + off, want + off, m->param_sizes[i], rel * scale + 1e-30, 0.0);
    }
}
static void test_model_step(int bias, int bf16) {
    char what[96];
    snprintf(what, sizeof what, "model step (bias %d, %s)", bias, bf16 ? "bf16" : "fp32");
    inh_config c = small_cfg(bias);
    inh_model a, b;
    OK(inh_model_init(&a, &c, 5) || inh_model_init(&b, &c, 5));
    a.threads = NT; b.threads = NT; a.bf16 = b.bf16 = bf16;
    inh_cuda_ctx *g;   /* a context of its own, its scratch empty: the backend must size it before the first op */
    OK(inh_cuda_init(&g, 0));
    CHECK(inh_model_set_backend(&b, inh_cuda_backend(), g) == 0, "%s: set_backend: %s", what, inh_error());
    CHECK(b.be != NULL && b.dparams_mem != b.params_mem, "%s: the parameters live on the device", what);
    int B = 2, T = big ? 100 : 11, N = B * T;
    std::vector<int> x(N), y(N);
    fill_batch(x.data(), y.data(), N, c.V);
    /* forward: the losses of every position (fp32: 1e-5 relative; bf16: both sides round the same
       operands, but an operand 1 ulp apart on the two sides can round to neighbouring bf16 values:
       2^-8 relative on that product, so 1e-3) */
    double tol = bf16 ? 1e-3 : 1e-5;
    OK(inh_model_forward(&a, x.data(), y.data(), B, T));
    CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0, "%s: forward: %s", what, inh_error());
    std::vector<float> lb = dget(b.acts.losses, N);
    check_arr((std::string(what) + ": losses").c_str(), lb.data(), a.acts.losses, N, tol * 5, tol);
    CHECK(fabs(a.mean_loss - b.mean_loss) <= tol * fabs(a.mean_loss), "%s: mean loss %.9g vs CPU %.9g", what, b.mean_loss, a.mean_loss);
    if (bf16) {   /* and the device did round to bf16: its loss is not the fp32 one */
        inh_model f32 = a;   /* the same weights (a shallow copy: a's buffers), fp32 */
        f32.bf16 = 0;
        float lb16 = b.mean_loss;
        OK(inh_model_forward(&f32, x.data(), y.data(), B, T));
        CHECK(f32.mean_loss != lb16, "%s: the device's bf16 loss %.9g is not the fp32 one %.9g", what, lb16, f32.mean_loss);
        OK(inh_model_forward(&a, x.data(), y.data(), B, T));   /* a's activations again (f32 shared them) */
    }
    /* backward: every gradient tensor, relative to its largest element (fp32 1e-4, bf16 2e-2) */
    inh_model_zero_grad(&a); inh_model_zero_grad(&b);
    OK(inh_model_forward(&a, x.data(), y.data(), B, T) || inh_model_backward(&a, 1.0f));
    CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0 && inh_model_backward(&b, 1.0f) == 0, "%s: backward: %s", what, inh_error());
    pull(&b);
    check_tensors((std::string(what) + ": gradient").c_str(), &a, b.grads_mem, a.grads_mem, bf16 ? 2e-2 : 1e-4);
    float na = inh_model_grad_norm(&a), nb = inh_model_grad_norm(&b);
    CHECK(fabsf(na - nb) <= (bf16 ? 1e-2 : 1e-5) * na, "%s: gradient norm %.9g vs CPU %.9g", what, nb, na);
    /* determinism: the same step again gives the same bits on the device */
    std::vector<float> g1(b.grads_mem, b.grads_mem + b.num_params);
    inh_model_zero_grad(&b);
    OK(inh_model_forward(&b, x.data(), y.data(), B, T) || inh_model_backward(&b, 1.0f));
    pull(&b);
    CHECK(memcmp(g1.data(), b.grads_mem, b.num_params * 4) == 0, "%s: a second identical step gives other gradient bits", what);
    /* 10 AdamW steps on fresh batches: the loss of every step, then every weight. lr 1e-3; Adam
       divides by sqrt(v), so a gradient element near 0 can move its weight by up to lr per step
       whatever its size: the weights are compared at 2 lr absolute, the losses at tol * 10 */
    inh_adamw o;
    inh_adamw_default(&o);
    double worst = 0.0;
    for (int t = 1; t <= 10; t++) {
        fill_batch(x.data(), y.data(), N, c.V);
        inh_model_zero_grad(&a); inh_model_zero_grad(&b);
        OK(inh_model_forward(&a, x.data(), y.data(), B, T) || inh_model_backward(&a, 1.0f) ||
           inh_model_update(&a, &o, 1e-3f, t, inh_model_grad_norm(&a)));
        int rc = inh_model_forward(&b, x.data(), y.data(), B, T) || inh_model_backward(&b, 1.0f) ||
                 inh_model_update(&b, &o, 1e-3f, t, inh_model_grad_norm(&b));
        CHECK(rc == 0, "%s: step %d: %s", what, t, inh_error());
        double d = fabs(a.mean_loss - b.mean_loss) / fabs(a.mean_loss);
        worst = d > worst ? d : worst;
    }
    CHECK(worst <= tol * 10, "%s: 10 AdamW steps: a loss differs by %.3g relative (tolerance %.3g)", what, worst, tol * 10);
    CHECK(inh_cuda_scratch_grows(g) == 0, "%s: the scratch grew %zu times inside the steps (reserve sizes it before)", what,
          inh_cuda_scratch_grows(g));
    pull(&b);
    CHECK(b.m_mem && b.v_mem, "%s: the moments came back to the host", what);
    if (!bf16) check_arr((std::string(what) + ": weights after 10 AdamW steps").c_str(), b.params_mem, a.params_mem, a.num_params, 2e-3, 0.0);
    else {   /* bf16: the device's attention runs on the tensor cores with bf16 operands, the CPU's
                in fp32 (its --bf16 rounds the matmuls' operands only), so gradients differ by up
                to 2e-2 relative, and where an element's gradient is near 0 its Adam steps (about
                lr each, whatever the gradient's size) can go either way: every weight within
                10 steps x 2 lr, and no more than 0.5% of them beyond 2 lr */
        size_t far = 0;
        double w = 0;
        for (size_t i = 0; i < a.num_params; i++) {
            double d = fabs((double)b.params_mem[i] - a.params_mem[i]);
            far += !(d <= 2e-3);
            w = d > w ? d : w;
        }
        CHECK(w <= 2e-2 && far <= a.num_params / 200, "%s: weights after 10 AdamW steps: %zu of %zu beyond 2e-3, worst %.3g (bounds: %zu, 2e-2)",
              what, far, (size_t)a.num_params, w, (size_t)a.num_params / 200);
    }
    check_arr((std::string(what) + ": first moments").c_str(), b.m_mem, a.m_mem, a.num_params, bf16 ? 2e-3 : 2e-5, bf16 ? 2e-2 : 1e-3);
    /* back to the CPU: the model is the device's, and trains on there */
    std::vector<float> dev(b.params_mem, b.params_mem + b.num_params);
    CHECK(inh_model_set_backend(&b, NULL, NULL) == 0 && b.be == NULL && b.dparams_mem == b.params_mem, "%s: back to the CPU", what);
    CHECK(memcmp(dev.data(), b.params_mem, b.num_params * 4) == 0 && b.dm_mem == b.m_mem, "%s: back on the CPU with the device's weights", what);
    OK(inh_model_forward(&b, x.data(), y.data(), B, T));
    /* new weights, then to the device again: its forward reads them (the bf16 mirror of the
       weights is converted again after the upload, not left as it was) */
    double old_loss = b.mean_loss;
    for (size_t i = 0; i < b.num_params; i++) b.params_mem[i] = b.params_mem[i] * 4.0f + 0.05f * (float)inh_rng_uniform(&R) - 0.025f;
    OK(inh_model_forward(&b, x.data(), y.data(), B, T));
    double cpu_loss = b.mean_loss;
    CHECK(fabs(cpu_loss - old_loss) > 100 * tol * fabs(old_loss), "%s: the new weights change the loss (%.6g to %.6g)", what, old_loss, cpu_loss);
    CHECK(inh_model_set_backend(&b, inh_cuda_backend(), G) == 0, "%s: to the device again: %s", what, inh_error());
    CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0 && fabs(b.mean_loss - cpu_loss) <= tol * fabs(cpu_loss),
          "%s: the device's loss on new weights %.9g vs the CPU's %.9g", what, b.mean_loss, cpu_loss);
    /* and in place: host weights changed, sent with sync_device into the same device buffer */
    pull(&b);
    for (size_t i = 0; i < b.num_params; i++) b.params_mem[i] *= 0.5f;
    OK(inh_model_sync_device(&b));
    CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0, "%s: forward: %s", what, inh_error());
    double dev_loss = b.mean_loss;
    CHECK(fabs(dev_loss - cpu_loss) > 100 * tol * fabs(cpu_loss), "%s: the halved weights change the device's loss (%.6g to %.6g)", what,
          cpu_loss, dev_loss);
    CHECK(inh_model_set_backend(&b, NULL, NULL) == 0 && inh_model_forward(&b, x.data(), y.data(), B, T) == 0 &&
          fabs(dev_loss - b.mean_loss) <= tol * fabs(b.mean_loss),
          "%s: after sync_device, the device's loss %.9g vs the CPU's %.9g", what, dev_loss, b.mean_loss);
    inh_model_free(&a); inh_model_free(&b);
    inh_cuda_release(g);
}
/* drop_attn: a layer without attention, on both backends */
static void test_model_drop(void) {
    inh_config c = small_cfg(1);
    inh_model a, b;
    OK(inh_model_init(&a, &c, 9) || inh_model_init(&b, &c, 9));
    a.drop_attn[1] = b.drop_attn[1] = 1;
    CHECK(inh_model_set_backend(&b, inh_cuda_backend(), G) == 0, "drop: set_backend: %s", inh_error());
    int B = 1, T = big ? 64 : 9;
    std::vector<int> x(B * T), y(B * T);
    fill_batch(x.data(), y.data(), B * T, c.V);
    OK(inh_model_forward(&a, x.data(), y.data(), B, T));
    CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0, "drop: %s", inh_error());
    CHECK(fabs(a.mean_loss - b.mean_loss) <= 1e-5 * a.mean_loss, "--drop-attn on the device: loss %.9g vs CPU %.9g", b.mean_loss, a.mean_loss);
    CHECK(inh_model_backward(&b, 1.0f) == 0, "drop: backward: %s", inh_error());
    pull(&b);
    size_t qkv = (size_t)(b.dgrads.qkvw - b.dgrads.wte) + (size_t)3 * c.C * c.C;   /* layer 1's qkv weight gradient */
    CHECK(maxabs(b.grads_mem + qkv, (size_t)3 * c.C * c.C) == 0.0f, "--drop-attn on the device: the dropped layer's qkv gets no gradient");
    inh_model_free(&a); inh_model_free(&b);
}
/* what the device does not run yet fails with a message, never a wrong answer */
static void test_model_refusals(void) {
    inh_config c = small_cfg(1);
    inh_model m;
    OK(inh_config_set_shortcuts(&c, INH_SC_CAUSAL, NULL) || inh_model_init(&m, &c, 1));
    CHECK(inh_model_set_backend(&m, inh_cuda_backend(), G) != 0 && strstr(inh_error(), "shortcuts") && m.be == NULL,
          "a shortcut model is refused, and stays on the CPU: %s", inh_error());
    inh_model_free(&m);
    c = small_cfg(1);
    OK(inh_model_init(&m, &c, 1));
    OK(inh_model_set_backend(&m, inh_cuda_backend(), G));
    std::vector<int> x(8), y(8);
    fill_batch(x.data(), y.data(), 8, c.V);
    m.keep_attention = 1;
    CHECK(inh_model_forward(&m, x.data(), y.data(), 1, 8) != 0 && strstr(inh_error(), "keep_attention"), "keep_attention refused: %s", inh_error());
    m.keep_attention = 0;
    std::vector<float> q((size_t)8 * c.Vp, 1.0f / c.V);
    inh_model_set_distill(&m, q.data(), 0.4f);
    CHECK(inh_model_forward(&m, x.data(), y.data(), 1, 8) == 0 && inh_model_backward(&m, 1.0f) != 0 && strstr(inh_error(), "distill"),
          "distillation refused: %s", inh_error());
    inh_model_free(&m);
}
/* a training run on the device: its state file resumes bit-exactly (on the device), saving
   goes through the host copies, and the sampler (on the host copy) matches the device's forward */
static void test_model_resume_and_sample(void) {
    inh_config c = small_cfg(1);
    int T = big ? 64 : 8, V = c.V;
    std::vector<int> ids(4000);
    for (size_t i = 0; i < ids.size(); i++) ids[i] = (int)(inh_rng_u64(&R) % V);
    CHECK(inh_data_write("build/cuda_train.bin", ids.data(), ids.size()) == 0, "data: %s", inh_error());
    inh_model m;
    inh_data d;
    inh_trainer t;
    inh_train_opts o;
    inh_step_info info;
    inh_train_opts_default(&o);
    o.B = 2; o.T = T; o.steps = 6; o.lr = 1e-3f;
    OK(inh_model_init(&m, &c, 3) || inh_data_open(&d, "build/cuda_train.bin", V));
    OK(inh_model_set_backend(&m, inh_cuda_backend(), G) || inh_trainer_init(&t, &m, &d, &o));
    for (int s = 0; s < 3; s++) CHECK(inh_trainer_step(&t, &info) == 0, "device training step %d: %s", s, inh_error());
    CHECK(inh_trainer_save_state(&t, "build/cuda_state.bin") == 0, "device state saved: %s", inh_error());
    while (t.step < o.steps) CHECK(inh_trainer_step(&t, &info) == 0, "device training: %s", inh_error());
    CHECK(inh_model_save(&m, "build/cuda_model.bin") == 0, "device model saved: %s", inh_error());
    std::vector<float> straight(m.params_mem, m.params_mem + m.num_params);   /* save synced them */
    inh_model m2;
    inh_trainer t2;
    inh_data d2;
    OK(inh_data_open(&d2, "build/cuda_train.bin", V));
    CHECK(inh_trainer_load_state(&t2, &m2, &d2, "build/cuda_state.bin") == 0 && t2.step == 3, "state loaded: %s", inh_error());
    OK(inh_model_set_backend(&m2, inh_cuda_backend(), G));
    while (t2.step < o.steps) CHECK(inh_trainer_step(&t2, &info) == 0, "resumed device training: %s", inh_error());
    pull(&m2);
    CHECK(memcmp(straight.data(), m2.params_mem, m2.num_params * 4) == 0, "resume on the device is bit-exact (6 steps = 3 + 3 after a state file)");
    inh_model m3;
    CHECK(inh_model_load(&m3, "build/cuda_model.bin") == 0 && memcmp(m3.params_mem, straight.data(), m3.num_params * 4) == 0,
          "the saved device model is its weights");
    /* the sampler against the device's full forward: each position's next-token logits */
    int n = T;
    std::vector<int> seq(n);
    for (int i = 0; i < n; i++) seq[i] = (int)(inh_rng_u64(&R) % V);
    OK(inh_model_forward(&m2, seq.data(), NULL, 1, n));
    std::vector<float> full = dget(m2.acts.logits, (size_t)n * c.Vp);
    inh_kv kv;
    CHECK(inh_kv_init(&kv, &m2) == 0 && kv.twin != NULL, "the sampler of a device model runs on a host copy: %s", inh_error());
    double worst = 0.0, scale = maxabs(full.data(), (size_t)n * c.Vp);
    for (int i = 0; i < n; i++) {
        OK(inh_kv_push(&kv, seq[i]));
        for (int v = 0; v < V; v++) {
            double e = fabs(kv.logits[v] - full[(size_t)i * c.Vp + v]);
            worst = e > worst ? e : worst;
        }
    }
    inh_kv_free(&kv);
    CHECK(worst <= 1e-5 * scale + 1e-6, "sampler logits against the device's forward: worst %.3g (scale %.3g)", worst, scale);
    int out[64], prompt[2] = {1, 2};
    inh_rng g;
    inh_rng_seed(&g, 1);
    CHECK(inh_model_generate(&m2, prompt, 2, 5, 0.0f, 0, &g, out) == 0 && m2.be != NULL, "generate from a device model: %s", inh_error());
    inh_trainer_free(&t); inh_trainer_free(&t2);
    inh_data_close(&d); inh_data_close(&d2);
    inh_model_free(&m); inh_model_free(&m2); inh_model_free(&m3);
}

/* inh_trainer_step on the device, against the CPU backend's trainer on the same batches:
   - the host waits for the device once per step (the download of the norm, the gate and the
     losses at its end), counted by the emulator (every synchronising call; steady-state steps,
     after the first has allocated the moments and the step's buffer);
   - its loss is exactly the one inh_model_forward reports for the same batches on the same device
     weights (the same double sums in the same order: bits compared), and the CPU trainer's loss
     is exactly the CPU forward's; device against CPU within 1e-4 relative (the fp32 reorderings
     of the forward, as the model test's 10 steps allow: tol 1e-5 x 10), the norm too */
static void test_model_train(int accum) {
    char what[64];
    snprintf(what, sizeof what, "trainer step (accum %d)", accum);
    inh_config c = small_cfg(1);
    int B = 2, T = big ? 64 : 8, V = c.V, N = B * T;
    std::vector<int> ids(3000);
    for (size_t i = 0; i < ids.size(); i++) ids[i] = (int)(inh_rng_u64(&R) % V);
    CHECK(inh_data_write("build/cuda_train_step.bin", ids.data(), ids.size()) == 0, "data: %s", inh_error());
    inh_model a, b;
    inh_data da, db, dp;
    inh_trainer ta, tb;
    inh_train_opts o;
    inh_step_info ia, ib;
    inh_train_opts_default(&o);
    o.B = B; o.T = T; o.steps = 5; o.lr = 1e-3f; o.accum = accum;
    OK(inh_model_init(&a, &c, 4) || inh_model_init(&b, &c, 4) || inh_data_open(&da, "build/cuda_train_step.bin", V) ||
       inh_data_open(&db, "build/cuda_train_step.bin", V) || inh_data_open(&dp, "build/cuda_train_step.bin", V));
    a.threads = NT;
    OK(inh_model_set_backend(&b, inh_cuda_backend(), G) || inh_trainer_init(&ta, &a, &da, &o) || inh_trainer_init(&tb, &b, &db, &o));
    dp.shuffle = o.shuffle; inh_rng_seed(&dp.rng, o.seed); dp.pos = 0; dp.cur = 0;   /* as inh_trainer_init: the same batches, read ahead */
    std::vector<int> x(N), y(N);
    int loss_bits = 0, cpu_bits = 0, far = 0, skipped = 0;
#ifdef INH_CUDA_EMULATE
    unsigned long long waits[5] = {0};
#endif
    for (int s = 0; s < o.steps; s++) {
        double want = 0.0, want_cpu = 0.0;
        for (int k = 0; k < accum; k++) {   /* each forward's mean loss, on the weights of this step */
            OK(inh_data_next(&dp, B, T, x.data(), y.data()));
            CHECK(inh_model_forward(&b, x.data(), y.data(), B, T) == 0, "%s: forward: %s", what, inh_error());
            OK(inh_model_forward(&a, x.data(), y.data(), B, T));
            want += b.mean_loss; want_cpu += a.mean_loss;
        }
        float wb = (float)(want / accum), wa = (float)(want_cpu / accum);
#ifdef INH_CUDA_EMULATE
        unsigned long long w0 = inh_simt::waits();
#endif
        CHECK(inh_trainer_step(&tb, &ib) == 0, "%s: device step %d: %s", what, s, inh_error());
#ifdef INH_CUDA_EMULATE
        waits[s] = inh_simt::waits() - w0;
#endif
        OK(inh_trainer_step(&ta, &ia));
        loss_bits += memcmp(&ib.loss, &wb, 4) != 0;
        cpu_bits += memcmp(&ia.loss, &wa, 4) != 0;
        far += !(fabs(ia.loss - ib.loss) <= 1e-4 * fabs(ia.loss)) || !(fabs(ia.grad_norm - ib.grad_norm) <= 1e-4 * ia.grad_norm);
        skipped += ia.skipped + ib.skipped;
    }
    CHECK(loss_bits == 0, "%s: the device step's loss is not its forwards' mean loss, bit for bit, in %d of %d steps", what, loss_bits, o.steps);
    CHECK(cpu_bits == 0, "%s: the CPU step's loss is not its forwards' mean loss, bit for bit, in %d of %d steps", what, cpu_bits, o.steps);
    CHECK(far == 0, "%s: loss or gradient norm beyond 1e-4 relative of the CPU's in %d of %d steps", what, far, o.steps);
    CHECK(skipped == 0, "%s: %d steps skipped (every loss and norm is finite)", what, skipped);
#ifdef INH_CUDA_EMULATE
    int extra = 0;
    for (int s = 1; s < o.steps; s++) extra += waits[s] != 1;
    CHECK(extra == 0, "%s: the host waits for the device once per step (steps 2..5: %llu %llu %llu %llu; the first %llu)", what,
          waits[1], waits[2], waits[3], waits[4], waits[0]);
    if (getenv("TEST_VERBOSE")) printf("  %s: waits per step %llu %llu %llu %llu %llu\n", what, waits[0], waits[1], waits[2], waits[3], waits[4]);
#endif
    pull(&b);
    check_arr((std::string(what) + ": weights after 5 steps").c_str(), b.params_mem, a.params_mem, a.num_params, 1e-3, 0.0);
    inh_trainer_free(&ta); inh_trainer_free(&tb);
    inh_data_close(&da); inh_data_close(&db); inh_data_close(&dp);
    inh_model_free(&a); inh_model_free(&b);
}
/* An infinite loss with finite gradients, honestly reached: lnf's bias puts 1.05e37 in column 0 of
   every position's features, and that column of wte is 0 but for token A (1: the largest logit,
   1.05e37, probability 1) and the target T (-32: logit -3.36e38, finite, probability exp(-3.4e38) =
   0). The loss max + log(sum) - logit[T] = 3.47e38 overflows to Inf on both backends, while every
   gradient is finite (dlogits = p - onehot is 0 or +-1/N; dwte's rows A and T about 1e37, norm
   about 1.4e37 in float). The host learns the loss only after the update is queued, so the
   device's gate must skip it: weights and moments keep their bits, info.skipped is set and
   info.grad_norm is the finite norm. The CPU backend's trainer does the same. */
static void test_model_inf_loss(void) {
    inh_config c = small_cfg(1);
    int B = 2, T = big ? 64 : 8, V = c.V, C = c.C, tokA = 3, tokT = 5;
    std::vector<int> ids(400);
    for (size_t i = 0; i < ids.size(); i++) ids[i] = tokT;   /* every target is T: every loss is Inf */
    CHECK(inh_data_write("build/cuda_train_inf.bin", ids.data(), ids.size()) == 0, "data: %s", inh_error());
    for (int dev = 0; dev < 2; dev++) {
        const char *what = dev ? "an Inf loss with finite gradients (device)" : "an Inf loss with finite gradients (CPU)";
        inh_model m;
        inh_data d;
        inh_trainer t;
        inh_train_opts o;
        inh_step_info info;
        inh_train_opts_default(&o);
        o.B = B; o.T = T; o.steps = 2; o.lr = 1e-3f;
        OK(inh_model_init(&m, &c, 6) || inh_data_open(&d, "build/cuda_train_inf.bin", V));
        for (int v = 0; v < c.Vp; v++) m.params.wte[(size_t)v * C] = v == tokA ? 1.0f : v == tokT ? -32.0f : 0.0f;
        m.params.lnfb[0] = 1.05e37f;
        std::vector<float> w0(m.params_mem, m.params_mem + m.num_params);
        if (dev) OK(inh_model_set_backend(&m, inh_cuda_backend(), G));
        OK(inh_trainer_init(&t, &m, &d, &o));
        int bad = 0;
        for (int s = 0; s < o.steps; s++) {
            CHECK(inh_trainer_step(&t, &info) == 0, "%s: step %d: %s", what, s, inh_error());
            bad += !(isinf(info.loss) && info.loss > 0 && isfinite(info.grad_norm) && info.grad_norm > 1e36f && info.skipped);
        }
        CHECK(bad == 0, "%s: loss %g, gradient norm %g, skipped %d (want Inf, finite above 1e36, 1)", what, info.loss, info.grad_norm,
              info.skipped);
        pull(&m);
        CHECK(memcmp(w0.data(), m.params_mem, m.num_params * 4) == 0, "%s: the weights keep their bits", what);
        CHECK(!m.m_mem || maxabs(m.m_mem, m.num_params) == 0.0f, "%s: the moments stay 0", what);
        inh_trainer_free(&t);
        inh_data_close(&d);
        inh_model_free(&m);
    }
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");   /* a short run (compute-sanitizer) */
    if (inh_cuda_init(&G, 0)) {
        printf("no CUDA device: %s\n", inh_cuda_error());
        test_failed++;
        return test_summary("test_cuda");
    }
    big = !inh_cuda_emulated() && !quick;
    if (big) NT = inh_num_cores();
    inh_rng_seed(&R, 12);
    double t0 = inh_now();
#ifdef INH_CUDA_EMULATE
    test_emulator();
#endif
    /* shapes: ragged everywhere (not multiples of 32, 8 or the tile sizes); the device build adds
       GPT-2-like ones */
    test_encoder(2, 7, 24, 11);
    test_encoder(1, 33, 40, 5);
    test_encoder(2, 3, 300, 7);      /* a row wider than a block: the threads stride the columns */
    test_residual(1);
    test_residual(1237);
    test_layernorm(1, 8, 1);
    test_layernorm(13, 67, 1);
    test_layernorm(9, 160, 0);
    test_layernorm(40, 33, 1);
    test_layernorm(300, 67, 1);   /* the column sums in 3 row chunks of 128, the last ragged */
    test_layernorm(257, 40, 0);
    test_gelu(3001);
    test_crossentropy(3, 50, 128, 0);
    test_crossentropy(5, 300, 384, 1);
    test_grad_norm(1);
    test_grad_norm(4097);
    test_grad_norm(300001);
    test_finite_gate(0);
    test_finite_gate(1);
    test_finite_gate(1000);
    test_matmul(1, 1, 1, 1, 0);
    test_matmul(5, 7, 3, 0, 0);
    test_matmul(33, 17, 65, 1, 0);
    test_matmul(20, 48, 40, 1, 1);
    test_matmul(7, 130, 9, 0, 1);
    test_matmul(300, 9, 70, 1, 0);   /* dbias over 3 row chunks */
    test_matmul(129, 8, 33, 1, 1);
    test_matmul(3, 4, 300, 1, 0);    /* the bias row wider than a block */
    test_matmul_lt(33, 17, 65, 0);
    test_matmul_lt(20, 48, 40, 1);
    test_matmul_lt(3, 4, 300, 0);
#ifdef INH_CUDA_EMULATE
    test_emulator_lt();
    inh_simt::lt_algos() = 0;            /* no cuBLASLt algorithm: the bias fill and beta 1 */
    test_matmul(33, 17, 65, 1, 0);
    test_matmul(20, 48, 40, 1, 1);
    inh_simt::lt_algos() = 1;
#endif
    test_attention(1, 1, 8, 1);
    test_attention(2, 7, 24, 3);
    test_attention(1, 45, 64, 2);
    test_attention(1, 13, 96, 2);
    test_attention(1, 9, 128, 1);
#ifdef INH_CUDA_EMULATE
    test_emulator_mma();   /* the emulator's mma.sync (the device has the real one) */
#endif
    test_attention_bf16(1, 1, 16, 1);      /* hs 16 in the 32-column kernel */
    test_attention_bf16(2, 70, 128, 2);    /* hs 64, a partial second block */
    test_attention_bf16(1, 130, 96, 3);    /* hs 32, three blocks */
    test_attention_bf16(1, 65, 256, 2);    /* hs 128 */
    test_attention_bf16(1, 40, 80, 1);     /* hs 80 padded to 128 */
    test_attention_errors();
    test_adamw();
    test_scratch();
    double tm = inh_now();
    test_model_step(1, 0);
    test_model_step(0, 0);
    test_model_step(1, 1);
    test_model_drop();
    test_model_refusals();
    test_model_resume_and_sample();
    test_model_train(1);
    test_model_train(4);   /* every pinned slot of the encoder backward in one step */
    test_model_inf_loss();
    if (!quick) printf("test_cuda: the whole model on the device: %.1f s\n", inh_now() - tm);
    if (big) {
        test_encoder(8, 1024, 768, 50257);
        test_layernorm(4096, 768, 1);
        test_gelu((size_t)4096 * 3072 + 5);
        test_crossentropy(256, 50257, 50304, 1);
        test_grad_norm((size_t)124439808);
        test_matmul(1024, 768, 2304, 1, 0);
        test_matmul(1000, 768, 3072, 1, 1);
        test_matmul(512, 3072, 768, 0, 0);
        test_matmul(300, 768, 50304, 0, 1);
        test_matmul_lt(1024, 768, 3072, 1);
        test_matmul_lt(1000, 768, 2304, 0);
        test_attention(4, 256, 768, 12);
        test_attention(2, 1024, 768, 12);
        test_attention(1, 333, 1024, 8);
        test_attention_bf16(2, 1024, 768, 12);
        test_attention_bf16(1, 333, 1024, 8);
    }
    if (!quick) printf("test_cuda: %.1f s\n", inh_now() - t0);
    inh_cuda_release(G);
    return test_summary(inh_cuda_emulated() ? "test_cuda (emulated)" : "test_cuda (device)");
}
