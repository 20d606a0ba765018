/* tests/test_fastmm.c - the packed matmul kernels (inheritune.h, inh__matmul_*_fast) against the reference
   kernels inh__matmul_forward_cpu / inh__matmul_backward_cpu, in all three layouts of a training
   step, on ragged random shapes and on GPT-2 shapes; plus bit-identical results for any thread
   count and the fallback when pack space cannot be allocated.

   Tolerance. Both kernels sum the same K products (plus the bias or the old value of an
   accumulated output) in float32, in different orders. Any order of summing n terms in float32,
   with or without FMA, is within gamma_n * S of the exact sum, where S = sum of |term|,
   gamma_n = n*u / (1 - n*u) and u = 2^-24 (Higham, Accuracy and Stability, 3.1). So the two
   results differ by at most 2 * gamma_(K+2) * S per element, with S computed in double from the
   same inputs. This bound cannot fail on a correct kernel, and any dropped, doubled or misplaced
   term (size ~S/K, far above K*u*S) breaks it. The worst observed error in units of u*S is
   printed too; it is typically a few units, far inside the bound. */
#include <stddef.h>
/* an allocator that can refuse large blocks, to exercise the fallback to the reference kernels */
static void *test_malloc(size_t n);
#define INH_MALLOC(n) test_malloc(n)
#define INH_REALLOC(p, n) realloc(p, n)
#define INH_FREE(p) free(p)

#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#include <float.h>
#if !defined(_WIN32) && !defined(__wasi__)
#include <sys/wait.h>
#endif

static int test_refuse_big;
static void *test_malloc(size_t n) { return test_refuse_big && n >= 4096 ? NULL : malloc(n); }

static inh_rng rng;
static double worst_ratio;         /* max |fast - ref| / (u * S) over every checked element */

static int rnd(int lo, int hi) { return lo + (int)(inh_rng_u64(&rng) % (uint64_t)(hi - lo + 1)); }
static float *vec(size_t n) {
    float *v = (float *)malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = 2.0f * inh_rng_uniform(&rng) - 1.0f;
    return v;
}
static float *copyv(const float *x, size_t n) {
    float *v = (float *)malloc((n ? n : 1) * sizeof(float));
    memcpy(v, x, n * sizeof(float));
    return v;
}
static double gamma_n(int n) { double u = ldexp(1.0, -24); return n * u / (1.0 - n * u); }

/* one element: |got - want| against 2 gamma_(K+2) S; returns 1 when inside */
static int close_enough(float got, float want, double S, int K) {
    double d = fabs((double)got - (double)want), u = ldexp(1.0, -24);
    if (S > 0 && d / (u * S) > worst_ratio) worst_ratio = d / (u * S);
    return d <= 2.0 * gamma_n(K + 2) * S;
}

static void check_forward(int N, int C, int OC, int bias, int nt) {
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *b = bias ? vec(OC) : NULL;
    float *ref = vec((size_t)N * OC), *got = vec((size_t)N * OC);   /* garbage: must be overwritten */
    inh__matmul_forward_cpu(ref, inp, w, b, N, C, OC, 1);
    inh__matmul_forward_fast(got, inp, w, b, N, C, OC, nt);
    long bad = 0;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double S = b ? fabs(b[o]) : 0.0;
            for (int c = 0; c < C; c++) S += fabs((double)inp[(size_t)n * C + c] * w[(size_t)o * C + c]);
            bad += !close_enough(got[(size_t)n * OC + o], ref[(size_t)n * OC + o], S, C);
        }
    CHECK(bad == 0, "forward N=%d C=%d OC=%d bias=%d nt=%d: %ld elements outside 2*gamma(K+2)*S", N, C, OC, bias, nt, bad);
    free(inp); free(w); free(b); free(ref); free(got);
}

/* flags: 1 dinp, 2 dw, 4 dbias */
static void check_backward(int N, int C, int OC, int flags, int nt) {
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *dout = vec((size_t)N * OC);
    float *dinp0 = vec((size_t)N * C), *dw0 = vec((size_t)OC * C), *db0 = vec(OC);   /* accumulate onto these */
    float *di_r = copyv(dinp0, (size_t)N * C), *dw_r = copyv(dw0, (size_t)OC * C), *db_r = copyv(db0, OC);
    float *di_f = copyv(dinp0, (size_t)N * C), *dw_f = copyv(dw0, (size_t)OC * C), *db_f = copyv(db0, OC);
    inh__matmul_backward_cpu(flags & 1 ? di_r : NULL, flags & 2 ? dw_r : NULL, flags & 4 ? db_r : NULL, dout, inp, w, N, C, OC, 1);
    inh__matmul_backward_fast(flags & 1 ? di_f : NULL, flags & 2 ? dw_f : NULL, flags & 4 ? db_f : NULL, dout, inp, w, N, C, OC, nt);
    long bad = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)n * C + c;
            if (!(flags & 1)) { bad += di_f[i] != dinp0[i]; continue; }   /* NULL: untouched */
            double S = fabs(dinp0[i]);
            for (int o = 0; o < OC; o++) S += fabs((double)dout[(size_t)n * OC + o] * w[(size_t)o * C + c]);
            bad += !close_enough(di_f[i], di_r[i], S, OC);
        }
    CHECK(bad == 0, "dinp N=%d C=%d OC=%d flags=%d nt=%d: %ld elements wrong", N, C, OC, flags, nt, bad);
    bad = 0;
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)o * C + c;
            if (!(flags & 2)) { bad += dw_f[i] != dw0[i]; continue; }
            double S = fabs(dw0[i]);
            for (int n = 0; n < N; n++) S += fabs((double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c]);
            bad += !close_enough(dw_f[i], dw_r[i], S, N);
        }
    CHECK(bad == 0, "dw N=%d C=%d OC=%d flags=%d nt=%d: %ld elements wrong", N, C, OC, flags, nt, bad);
    bad = 0;
    for (int o = 0; o < OC; o++) {
        if (!(flags & 4)) { bad += db_f[o] != db0[o]; continue; }
        /* the reference kernel sums dbias only beside dw, so the wanted value is summed here */
        double S = fabs(db0[o]);
        float want = 0.0f;
        for (int n = 0; n < N; n++) { S += fabs(dout[(size_t)n * OC + o]); want += dout[(size_t)n * OC + o]; }
        want += db0[o];
        bad += !close_enough(db_f[o], want, S, N);
    }
    CHECK(bad == 0, "dbias N=%d C=%d OC=%d flags=%d nt=%d: %ld elements wrong", N, C, OC, flags, nt, bad);
    free(inp); free(w); free(dout); free(dinp0); free(dw0); free(db0);
    free(di_r); free(dw_r); free(db_r); free(di_f); free(dw_f); free(db_f);
}

/* bf16 (inh__matmul_*_bf16): the operands are rounded to bf16 and the products summed in fp32,
   so the result must equal the reference kernel run on rounded copies within the same
   2 gamma_(K+2) S bound (S over the rounded operands: a product of two bf16 is exact in fp32).
   Against the unrounded fp32 product the error may reach 2^-7 S (bf16 keeps 8 significant
   bits, so each operand moves by at most 2^-8 of itself), and that is checked too; values are kept away from subnormals, which
   vdpbf16ps reads as zero. */
static float *rounded(const float *x, size_t n) {
    float *v = copyv(x, n);
    inh__bf16_round_n(v, n);
    return v;
}
/* S[i*M2 + j] = |init| + sum over k of |A(i,k) B(k,j)|, element (i,k) of A at a[i*ars + k*acs] */
static void abs_sums(double *S, const float *init, const float *a, size_t ars, size_t acs, const float *b, size_t brs,
                     size_t bcs, int M1, int M2, int K) {
    for (int i = 0; i < M1; i++)
        for (int j = 0; j < M2; j++) {
            double t = init ? fabs(init[(size_t)i * M2 + j]) : 0.0;
            for (int k = 0; k < K; k++) t += fabs((double)a[i * ars + k * acs] * b[k * brs + j * bcs]);
            S[(size_t)i * M2 + j] = t;
        }
}
/* got against the reference on rounded operands (S) and against the fp32 product (S32) */
static long bf16_cmp(const float *got, const float *want_r, const float *want_32, size_t n, const double *S, const double *S32, int K) {
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += !close_enough(got[i], want_r[i], S[i], K);
        bad += fabs((double)got[i] - want_32[i]) > (ldexp(1.0, -7) + ldexp(1.0, -16) + 2.0 * gamma_n(K + 2)) * S32[i];
    }
    return bad;
}
/* the vector rounding to bf16 (inh__bf16_round_n) gives the scalar one's bits: on every
   exponent and both signs with random mantissas, ties (even and odd), the largest values that
   round up to inf, subnormals, zeros, infinities and NaNs (quieted, payload kept), and lengths
   that leave a tail of 1..15 */
static void check_bf16_round(void) {
    enum { N = 70000 };
    static uint32_t u[N];
    static float x[N], y[N];
    static const uint32_t special[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x807fffffu, 0x00008000u, 0x00018000u,
                                       0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x7f7f8000u, 0x7f7fffffu, 0xff7fffffu,
                                       0x7f800000u, 0xff800000u, 0x7f800001u, 0x7fc00000u, 0xffbfffffu, 0x7f808000u};
    int n = 0, bad = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) u[n++] = special[i];
    for (; n < N; n++) u[n] = (uint32_t)inh_rng_u64(&rng) & (n % 7 == 0 ? 0xffff8000u : 0xffffffffu);   /* some ties */
    memcpy(x, u, sizeof x);
    for (int len = N - 15; len <= N; len++) {   /* every tail length */
        memcpy(y, x, sizeof y);
        inh__bf16_round_n(y, (size_t)len);
        for (int i = 0; i < N; i++) {
            float want = i < len ? inh__bf16_round(x[i]) : x[i];
            bad += memcmp(&want, &y[i], 4) != 0;
        }
    }
    CHECK(bad == 0, "vector bf16 rounding: %d values differ from the scalar rounding", bad);
}

/* kind: the bf16 kernels (inh__bmm_mode): 1 this machine's choice (what inh__matmul_*_bf16 run),
   2 the fp32 kernels on rounded operands, 3 the vdpbf16ps kernels where compiled */
static void check_bf16(int N, int C, int OC, int nt, int kind) {
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *b = vec(OC), *dout = vec((size_t)N * OC);
    float *inp_r = rounded(inp, (size_t)N * C), *w_r = rounded(w, (size_t)OC * C), *dout_r = rounded(dout, (size_t)N * OC);
    float *o_r = vec((size_t)N * OC), *o_32 = vec((size_t)N * OC), *o = vec((size_t)N * OC);
    float *di0 = vec((size_t)N * C), *dw0 = vec((size_t)OC * C), *bb = (float *)malloc(sizeof(float) * N * OC);
    float *di_r = copyv(di0, (size_t)N * C), *di_32 = copyv(di0, (size_t)N * C), *di = copyv(di0, (size_t)N * C);
    float *dw_r = copyv(dw0, (size_t)OC * C), *dw_32 = copyv(dw0, (size_t)OC * C), *dw = copyv(dw0, (size_t)OC * C);
    size_t big = (size_t)N * OC > (size_t)OC * C ? (size_t)N * OC : (size_t)OC * C;
    if ((size_t)N * C > big) big = (size_t)N * C;
    double *S = (double *)calloc(big, sizeof(double)), *S32 = (double *)calloc(big, sizeof(double));
    for (int n = 0; n < N; n++) memcpy(bb + (size_t)n * OC, b, sizeof(float) * OC);   /* the bias as an (N,OC) start */
    inh__matmul_forward_cpu(o_r, inp_r, w_r, b, N, C, OC, 1);
    inh__matmul_forward_cpu(o_32, inp, w, b, N, C, OC, 1);
    inh__mm_forward_packed(o, inp, w, b, N, C, OC, nt, kind);
    abs_sums(S, bb, inp_r, C, 1, w_r, 1, C, N, OC, C);
    abs_sums(S32, bb, inp, C, 1, w, 1, C, N, OC, C);
    long bad = bf16_cmp(o, o_r, o_32, (size_t)N * OC, S, S32, C);
    CHECK(bad == 0, "bf16 (kind %d) forward N=%d C=%d OC=%d nt=%d: %ld elements outside the bounds", kind, N, C, OC, nt, bad);
    inh__matmul_backward_cpu(di_r, dw_r, NULL, dout_r, inp_r, w_r, N, C, OC, 1);
    inh__matmul_backward_cpu(di_32, dw_32, NULL, dout, inp, w, N, C, OC, 1);
    inh__mm_backward_packed(di, dw, NULL, dout, inp, w, N, C, OC, nt, kind);
    abs_sums(S, di0, dout_r, OC, 1, w_r, C, 1, N, C, OC);          /* dinp = dout @ w */
    abs_sums(S32, di0, dout, OC, 1, w, C, 1, N, C, OC);
    bad = bf16_cmp(di, di_r, di_32, (size_t)N * C, S, S32, OC);
    CHECK(bad == 0, "bf16 (kind %d) dinp N=%d C=%d OC=%d nt=%d: %ld elements outside the bounds", kind, N, C, OC, nt, bad);
    abs_sums(S, dw0, dout_r, 1, OC, inp_r, C, 1, OC, C, N);        /* dw = dout^T @ inp */
    abs_sums(S32, dw0, dout, 1, OC, inp, C, 1, OC, C, N);
    bad = bf16_cmp(dw, dw_r, dw_32, (size_t)OC * C, S, S32, N);
    CHECK(bad == 0, "bf16 (kind %d) dw N=%d C=%d OC=%d nt=%d: %ld elements outside the bounds", kind, N, C, OC, nt, bad);
    /* the same bits on one thread */
    float *o1 = vec((size_t)N * OC), *di1 = copyv(di0, (size_t)N * C), *dw1 = copyv(dw0, (size_t)OC * C);
    inh__mm_forward_packed(o1, inp, w, b, N, C, OC, 1, kind);
    inh__mm_backward_packed(di1, dw1, NULL, dout, inp, w, N, C, OC, 1, kind);
    CHECK(!memcmp(o1, o, sizeof(float) * N * OC) && !memcmp(di1, di, sizeof(float) * N * C) && !memcmp(dw1, dw, sizeof(float) * OC * C),
          "bf16 (kind %d) N=%d C=%d OC=%d: bits differ between %d threads and one", kind, N, C, OC, nt);
    if (kind == 1) {   /* the public entry points run the same kernels */
        float *o2 = vec((size_t)N * OC), *di2 = copyv(di0, (size_t)N * C), *dw2 = copyv(dw0, (size_t)OC * C);
        inh__matmul_forward_bf16(o2, inp, w, b, N, C, OC, nt);
        inh__matmul_backward_bf16(di2, dw2, NULL, dout, inp, w, N, C, OC, nt);
        CHECK(!memcmp(o2, o, sizeof(float) * N * OC) && !memcmp(di2, di, sizeof(float) * N * C) && !memcmp(dw2, dw, sizeof(float) * OC * C),
              "bf16 N=%d C=%d OC=%d: inh__matmul_*_bf16 differ from kind 1", N, C, OC);
        free(o2); free(di2); free(dw2);
    }
    free(inp); free(w); free(b); free(dout); free(inp_r); free(w_r); free(dout_r); free(o_r); free(o_32); free(o);
    free(di0); free(dw0); free(di_r); free(di_32); free(di); free(dw_r); free(dw_32); free(dw); free(S); free(S32); free(bb);
    free(o1); free(di1); free(dw1);
}

/* the vector e^x behind softmax, attention and GELU (inh__exp_sum) against libm's expf:
   within 4 ulp where the result is normal, within 2^-126 below that, inf past overflow, NaN
   kept; the returned sum within 1e-6 relative of the double sum of expf */
static void check_exp(void) {
    enum { N = 20000 };
    static float x[N + 8];
    double want = 0.0;
    int n = 0, bad = 0;
    for (int i = 0; i < N - 7; i++) x[n++] = -110.0f + 200.0f * (float)i / (N - 8);   /* past both ends */
    x[n++] = 0.0f; x[n++] = -0.0f; x[n++] = 1e-30f; x[n++] = -1e-30f;
    x[n++] = 88.72f; x[n++] = 89.5f; x[n++] = -INFINITY;
    float y[N + 8];
    memcpy(y, x, sizeof(float) * n);
    for (int i = 0; i < n; i++) want += expf(x[i]);
    double got_sum = inh__exp_sum(y, n, 0.0f);
    for (int i = 0; i < n; i++) {
        float e = expf(x[i]);
        int ok = isinf(e) ? isinf(y[i]) && y[i] > 0
                          : e >= FLT_MIN ? fabsf(y[i] - e) <= 4.0f * ldexpf(1.0f, -23) * e : fabsf(y[i] - e) <= FLT_MIN;
        if (!ok && bad++ < 3) printf("  exp(%.9g) = %.9g, expf says %.9g\n", x[i], y[i], e);
    }
    CHECK(bad == 0, "vector exp: %d of %d values off", bad, n);
    CHECK(isinf(got_sum) && isinf(want), "vector exp: the sum past overflow is not inf");
    memcpy(y, x, sizeof(float) * (n - 3));
    want = 0.0;
    for (int i = 0; i < n - 3; i++) want += expf(x[i] - 88.0f);
    got_sum = inh__exp_sum(y, n - 3, 88.0f);
    CHECK(fabs(got_sum - want) <= 1e-6 * want, "vector exp: sum %.9g, expf's %.9g", got_sum, want);
    for (int i = 0; i < 40; i++) y[i] = (float)i;
    y[21] = NAN;
    inh__exp_sum(y, 40, 0.0f);
    CHECK(isnan(y[21]) && !isnan(y[20]) && !isnan(y[22]), "vector exp: NaN not kept in its lane");
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    CHECK(inh__max(x, n) == mx && inh__max(x, 5) == x[4] && inh__max(x + n - 1, 1) == -INFINITY, "inh__max wrong");
}

/* attention: the transposed-K/V scratch refused, the kernels fall back to plain dot products;
   the same sums in another order, so within 1e-5 of the default on values of order 1 */
static void check_attention_fallback(void) {
    int B = 2, T = 37, C = 32, NH = 4;
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *qkv = vec(nq), *dout = vec(no), *rows = vec((size_t)B * NH * 2 * T);
    float *o1 = vec(no), *o2 = vec(no), *d1 = (float *)calloc(nq, 4), *d2 = (float *)calloc(nq, 4);
    inh__attention_forward_flash(o1, rows, qkv, B, T, C, NH, 0.35f, 2);
    inh__attention_backward_flash(d1, rows, dout, qkv, B, T, C, NH, 0.35f, 2);
    test_refuse_big = 1;
    inh__attention_forward_flash(o2, rows, qkv, B, T, C, NH, 0.35f, 2);
    inh__attention_backward_flash(d2, rows, dout, qkv, B, T, C, NH, 0.35f, 2);
    test_refuse_big = 0;
    double worst = 0;
    for (size_t i = 0; i < no; i++) worst = fabs(o1[i] - o2[i]) > worst ? fabs(o1[i] - o2[i]) : worst;
    for (size_t i = 0; i < nq; i++) worst = fabs(d1[i] - d2[i]) > worst ? fabs(d1[i] - d2[i]) : worst;
    /* (the other path ran: some bits differ, forward or backward; with 4-wide vectors and hs = 8 the
       forward's sums can come out the same) */
    CHECK(worst <= 1e-5 && (memcmp(o1, o2, no * 4) || memcmp(d1, d2, nq * 4)),
          "attention without its scratch: max difference %.3g (1e-5), and the other path ran", worst);
    free(qkv); free(dout); free(rows); free(o1); free(o2); free(d1); free(d2);
}

/* the worker pool: the same bits after inh_threads_release() (workers started again), from a
   region begun while another application thread holds the pool (threads of its own), and in a
   child process after fork() (the workers stayed with the parent: the child starts its own) */
#ifndef INH_NO_THREADS
typedef struct { const float *inp, *w; float *out; int N, C, OC; } pool_args;
INH__THREAD_FN(pool_other) {   /* (the library's thread shim: pthreads, or Win32 threads) */
    pool_args *a = (pool_args *)arg;
    inh__matmul_forward_fast(a->out, a->inp, a->w, NULL, a->N, a->C, a->OC, 2);
    return 0;
}
static void check_pool(void) {
    int N = 64, C = 96, OC = 80;
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *o1 = vec((size_t)N * OC), *o2 = vec((size_t)N * OC), *o3 = vec((size_t)N * OC);
    inh__matmul_forward_fast(o1, inp, w, NULL, N, C, OC, 3);
    inh_threads_release();
    inh__matmul_forward_fast(o2, inp, w, NULL, N, C, OC, 3);
    CHECK(!memcmp(o1, o2, sizeof(float) * N * OC), "the pool after inh_threads_release gives other bits");
    pool_args a = {inp, w, o3, N, C, OC};
    inh__thread th;
    int same = 1;
    for (int r = 0; r < 50; r++) {   /* two application threads at once: one gets the pool */
        memset(o3, 0, sizeof(float) * N * OC);
        int started = inh__thread_start(&th, pool_other, &a) == 0;
        inh__matmul_forward_fast(o2, inp, w, NULL, N, C, OC, 2);
        if (started) inh__thread_join(th);
        same &= started;
        same &= !memcmp(o1, o2, sizeof(float) * N * OC) && !memcmp(o1, o3, sizeof(float) * N * OC);
    }
    CHECK(same, "two application threads using the kernels at once get other bits");
#if !defined(_WIN32)   /* (no fork() on Windows) */
    if (getenv("INH_TEST_UNDER_QEMU")) {   /* make test-arm64, test-32 */
        SKIP("fork() of a threaded program: under qemu-user the child cannot start threads (it exits 127); checked natively");
    } else {
        pid_t pid = fork();
        if (pid == 0) {
            inh__matmul_forward_fast(o2, inp, w, NULL, N, C, OC, 3);
            _exit(memcmp(o1, o2, sizeof(float) * N * OC) ? 1 : 0);
        }
        int st = -1;
        waitpid(pid, &st, 0);
        CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "after fork the child's parallel kernels do not finish or differ (pid %ld, status %#x)",
              (long)pid, st);
    }
#else
    SKIP("fork(): none on Windows");
#endif
    free(inp); free(w); free(o1); free(o2); free(o3);
}
#endif

/* every layout with nt = 1, 1 again, 2, 3, 5: the bits must not change */
static void check_threads(int N, int C, int OC) {
    static const int nts[] = {1, 1, 2, 3, 5};
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *b = vec(OC), *dout = vec((size_t)N * OC);
    float *di0 = vec((size_t)N * C), *dw0 = vec((size_t)OC * C), *db0 = vec(OC);
    float *out[5], *di[5], *dw[5], *db[5];
    int same = 1;
    for (int t = 0; t < 5; t++) {
        out[t] = vec((size_t)N * OC);
        di[t] = copyv(di0, (size_t)N * C); dw[t] = copyv(dw0, (size_t)OC * C); db[t] = copyv(db0, OC);
        inh__matmul_forward_fast(out[t], inp, w, b, N, C, OC, nts[t]);
        inh__matmul_backward_fast(di[t], dw[t], db[t], dout, inp, w, N, C, OC, nts[t]);
        if (t && (memcmp(out[t], out[0], sizeof(float) * N * OC) || memcmp(di[t], di[0], sizeof(float) * N * C) ||
                  memcmp(dw[t], dw[0], sizeof(float) * OC * C) || memcmp(db[t], db[0], sizeof(float) * OC))) {
            same = 0;
            printf("  N=%d C=%d OC=%d: nt=%d differs from nt=1\n", N, C, OC, nts[t]);
        }
    }
    CHECK(same, "bits depend on the thread count (N=%d C=%d OC=%d)", N, C, OC);
    for (int t = 0; t < 5; t++) { free(out[t]); free(di[t]); free(dw[t]); free(db[t]); }
    free(inp); free(w); free(b); free(dout); free(di0); free(dw0); free(db0);
}

/* no pack space: the fast entry points must hand the work to the reference kernels */
static void check_fallback(void) {
    int N = 40, C = 70, OC = 90;
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *b = vec(OC), *dout = vec((size_t)N * OC);
    float *o1 = vec((size_t)N * OC), *o2 = vec((size_t)N * OC);
    float *di1 = vec((size_t)N * C), *di2 = copyv(di1, (size_t)N * C), *dw1 = vec((size_t)OC * C), *dw2 = copyv(dw1, (size_t)OC * C);
    inh__matmul_forward_cpu(o1, inp, w, b, N, C, OC, 2);
    inh__matmul_backward_cpu(di1, dw1, NULL, dout, inp, w, N, C, OC, 2);
    test_refuse_big = 1;
    inh__matmul_forward_fast(o2, inp, w, b, N, C, OC, 2);
    inh__matmul_backward_fast(di2, dw2, NULL, dout, inp, w, N, C, OC, 2);
    test_refuse_big = 0;
    CHECK(!memcmp(o1, o2, sizeof(float) * N * OC) && !memcmp(di1, di2, sizeof(float) * N * C) &&
          !memcmp(dw1, dw2, sizeof(float) * OC * C), "without pack space the result is not the reference kernel's");
    free(inp); free(w); free(b); free(dout); free(o1); free(o2); free(di1); free(di2); free(dw1); free(dw2);
}

/* the CPU backend's matmul_backward with fresh = 1 on a dinp of NaN bytes gives the bits of
   fresh = 0 on a zeroed dinp (what the model did before: zero, then add); dw, dbias still add */
static void check_fresh(int N, int C, int OC, int bf16, int nt) {
    const inh_backend *be = inh_backend_cpu();
    inh_model m;
    memset(&m, 0, sizeof m);
    m.threads = nt; m.bf16 = bf16;
    float *inp = vec((size_t)N * C), *w = vec((size_t)OC * C), *dout = vec((size_t)N * OC);
    float *di1 = vec((size_t)N * C), *di2 = vec((size_t)N * C), *dw1 = vec((size_t)OC * C), *dw2 = copyv(dw1, (size_t)OC * C);
    float *db1 = vec(OC), *db2 = copyv(db1, OC);
    memset(di1, 0xFF, sizeof(float) * N * C);
    memset(di2, 0, sizeof(float) * N * C);
    be->matmul_backward(&m, di1, dw1, db1, dout, inp, w, N, C, OC, 1, NULL, NULL);
    be->matmul_backward(&m, di2, dw2, db2, dout, inp, w, N, C, OC, 0, NULL, NULL);
    CHECK(!memcmp(di1, di2, sizeof(float) * N * C) && !memcmp(dw1, dw2, sizeof(float) * OC * C) && !memcmp(db1, db2, sizeof(float) * OC),
          "fresh dinp (N=%d C=%d OC=%d%s nt=%d): not the bits of zero, then add", N, C, OC, bf16 ? " bf16" : "", nt);
    free(inp); free(w); free(dout); free(di1); free(di2); free(dw1); free(dw2); free(db1); free(db2);
}

int main(void) {
    inh_rng_seed(&rng, 20240606);
    /* INH_TEST_QUICK (the slowest emulated platforms: x87 and s390x under qemu): 8 random shapes of
       each kind instead of 40 and 30, and no full-size GPT-2 product; every kernel path still runs */
    int quick = getenv("INH_TEST_QUICK") != NULL;
    if (quick) printf("fastmm: quick mode (INH_TEST_QUICK): fewer random shapes\n");
    /* ragged shapes: nothing divisible by any tile size, K across block edges (KC = 192) */
    for (int i = 0; i < (quick ? 8 : 40); i++) {
        int N = rnd(1, 300), C = rnd(1, 300), OC = rnd(1, 300), nt = rnd(1, 5);
        check_forward(N, C, OC, i & 1, nt);
        check_backward(N, C, OC, 1 + (i % 7), nt);    /* every non-empty subset of dinp, dw, dbias */
    }
    check_forward(37, 700, 101, 1, 3);                 /* four K blocks */
    check_backward(700, 37, 101, 7, 3);
    check_backward(37, 101, 700, 7, 2);
    check_forward(1, 1, 1, 1, 1);
    check_backward(1, 1, 1, 7, 1);
    /* batch 1 (generation): four weight rows at a time, each with exactly inh__dot's bits */
    for (int k = 0; k < 3; k++) {
        int C = k == 0 ? 37 : k == 1 ? 64 : 768, OC = k == 2 ? 2304 : 11, bad = 0;
        float *inp = vec(C), *w = vec((size_t)OC * C), *b = vec(OC), *got = vec(OC);
        check_forward(1, C, OC, 1, 1 + k);
        inh__matmul_forward_fast(got, inp, w, b, 1, C, OC, 1 + k);
        for (int o = 0; o < OC; o++) {
            float want = inh__dot(inp, w + (size_t)o * C, C) + b[o];
            bad += memcmp(&want, &got[o], 4) != 0;
        }
        CHECK(bad == 0, "batch-1 product C=%d OC=%d: %d outputs are not inh__dot's bits", C, OC, bad);
        free(inp); free(w); free(b); free(got);
    }
    /* GPT-2 124M shapes, C and OC scaled down by 4 (the LM head's 50304 by 4 too), N = B*T = 64 */
    static const int gpt[5][2] = {{192, 576}, {192, 192}, {192, 768}, {768, 192}, {192, 12576}};
    for (int s = 0; s < 5; s++) {
        check_forward(64, gpt[s][0], gpt[s][1], 1, 2);
        check_backward(64, gpt[s][0], gpt[s][1], 7, 2);
    }
    if (!quick) {
        check_forward(256, 768, 768, 1, 2);            /* one at full size: attproj, N = 4*64 */
        check_backward(256, 768, 768, 7, 2);
    }
    printf("worst error: %.2f u*S (the bound allows 2*(K+2) u*S)\n", worst_ratio);
    for (int bf16 = 0; bf16 < 2; bf16++) {
        check_fresh(37, 101, 70, bf16, 3);
        check_fresh(1, 1, 1, bf16, 1);
        check_fresh(2048, 2048, 3, bf16, 2);   /* a dinp of 16 MiB: the threads' memset */
    }

    /* bf16: ragged shapes (odd K included), K across the 384-long bf16 blocks, GPT-2 shapes / 4;
       each kind of kernel this build has, and the machine's choice */
    check_bf16_round();
    for (int kind = 1; kind <= 3; kind++) {
#ifndef INH__BMM
        if (kind == 3) break;   /* (3 would run kind 2 again) */
#endif
        for (int i = 0; i < (quick ? 8 : 30); i++) {
            int N = rnd(1, 300), C = rnd(1, 300), OC = rnd(1, 300), nt = rnd(1, 5);   /* in this order, whatever the compiler */
            check_bf16(N, C, OC, nt, kind);
        }
        check_bf16(37, 801, 101, 3, kind);
        check_bf16(801, 37, 101, 2, kind);
        check_bf16(1, 1, 1, 1, kind);
        for (int s = 0; s < 5; s++) check_bf16(64, gpt[s][0], gpt[s][1], 2, kind);
    }
#ifdef INH__BMM
    printf("bf16: AVX-512 BF16 kernels compiled; this machine runs %s\n",
           inh__bmm_mode(1) == 2 ? "them" : "the fp32 kernels on rounded operands (faster here)");
#else
    printf("bf16: emulated (operands rounded, fp32 kernels)\n");
#endif

    /* thread counts: column split, row split (one panel of columns), several K blocks */
    check_threads(64, 192, 576);
    check_threads(256, 96, 40);
    check_threads(129, 300, 257);
    check_threads(33, 517, 47);
    check_fallback();
    check_exp();
    check_attention_fallback();
#ifndef INH_NO_THREADS
    check_pool();
#endif
    return test_summary("fastmm");
}
