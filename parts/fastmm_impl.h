/* --- matmul, fast: packed and register-blocked, behind the matmul seam ------------------------
   One driver computes C (M,Nc) = A (M,K) @ B (K,Nc) [+ C | + bias] for operands given by strides,
   so the three layouts of a training step are three calls of it:
     forward  out (N,OC)  = inp (N,C) @ w^T + bias    A = inp rows,  B = w^T (packed by transposing)
     dinp     dinp (N,C) += dout (N,OC) @ w            A = dout rows, B = w
     dw       dw (OC,C)  += dout^T @ inp               A = dout^T,    B = inp
   B is packed, KC rows at a time, into panels NR columns wide (k-major, zero-padded); a block of
   NCP panels stays in L2 while every MR-row strip of A meets it. A strip is read where it lies
   when its rows are contiguous in k (the micro-kernel only broadcasts A), else packed first.
   The micro-kernel holds an MR x NR tile of C in registers: AVX-512 8x48, AVX2+FMA 6x16, else 6x8
   in GCC/clang vector types (SSE2, NEON) or plain C (chosen by the compiler, -march=native).
   Determinism: K is cut into blocks that depend on K alone; threads own whole tiles of C (a grid
   of row strips x column panels), never a share of K. Each C element is therefore summed in the
   same order for any thread count, and bits never depend on it. The order differs from the
   reference kernels above, so results match them within float32 rounding, not bit for bit. */
#ifndef INH_HAVE_FASTMM
#define INH_HAVE_FASTMM

#if defined(__AVX512F__)
#include <immintrin.h>
#define INH__FMM_AVX512 1
enum { INH__FMM_MR = 8, INH__FMM_NR = 48 };
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define INH__FMM_AVX2 1
enum { INH__FMM_MR = 6, INH__FMM_NR = 16 };
#else
enum { INH__FMM_MR = 6, INH__FMM_NR = 8 };
#endif
/* KC: B rows per packed block (a 48-wide panel of 192 rows is 36 KB, streamed from L2);
   NCP: panels per block (16 x 36 KB = 576 KB of the 1 MB L2 of a Zen 4/5 core; all 768 columns
   of GPT-2 124M's dinp and dw in one block, so A is packed once);
   MC: rows of A packed together when A must be packed (~128 x 192 floats = 96 KB), whole strips.
   Measured on Zen 5 against KC 128..512 and NCP 8..32: these were best or within noise of it. */
enum { INH__FMM_KC = 192, INH__FMM_NCP = 16, INH__FMM_MC = 128 / INH__FMM_MR * INH__FMM_MR };

/* where a tile of C goes: rows of C are crs apart; C = acc + bias (add 0) or C += acc (add 1);
   bias: per column of the tile, or NULL */
typedef struct {
    float *c;
    ptrdiff_t crs;
    const float *bias;
    int add, mr, nr;
} inh__fmm_tile;

/* the store of an edge tile (same arithmetic as the kernels' own): t is the MR x NR accumulator */
INH__FN void inh__fmm_store(const float *t, const inh__fmm_tile *o) {
    for (int i = 0; i < o->mr; i++)
        for (int j = 0; j < o->nr; j++) {
            float *d = o->c + i * o->crs + j, v = t[i * INH__FMM_NR + j];
            if (o->add) *d = *d + v;
            else *d = o->bias ? v + o->bias[j] : v;
        }
}

#if defined(INH__FMM_AVX512)
/* acc (8 x 48) = A (8 rows, element (i,k) at a[i*ars + k*acs]) @ bp (kc x 48, packed); rows i >= mr
   read row 0 and are dropped */
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    int mr = o->mr;
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * ars, *a2 = a + (mr > 2 ? 2 : 0) * ars,
                *a3 = a + (mr > 3 ? 3 : 0) * ars, *a4 = a + (mr > 4 ? 4 : 0) * ars,
                *a5 = a + (mr > 5 ? 5 : 0) * ars, *a6 = a + (mr > 6 ? 6 : 0) * ars,
                *a7 = a + (mr > 7 ? 7 : 0) * ars;
    for (int i = 0; i < mr; i++) {   /* the C tile is needed at the end: fetch it while we compute */
        const char *r = (const char *)(o->c + i * o->crs);
        _mm_prefetch(r, _MM_HINT_T0); _mm_prefetch(r + 64, _MM_HINT_T0);
        _mm_prefetch(r + 128, _MM_HINT_T0); _mm_prefetch(r + 188, _MM_HINT_T0);   /* 188: the last float */
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00,
           c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00,
           c42 = c00, c50 = c00, c51 = c00, c52 = c00, c60 = c00, c61 = c00, c62 = c00, c70 = c00,
           c71 = c00, c72 = c00;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 48) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16), b2 = _mm512_load_ps(bp + 32), t;
#define INH__FMM_ROW(i)                                                                   \
        t = _mm512_set1_ps(a##i[off]);                                                    \
        c##i##0 = _mm512_fmadd_ps(t, b0, c##i##0); c##i##1 = _mm512_fmadd_ps(t, b1, c##i##1); \
        c##i##2 = _mm512_fmadd_ps(t, b2, c##i##2);
        INH__FMM_ROW(0) INH__FMM_ROW(1) INH__FMM_ROW(2) INH__FMM_ROW(3)
        INH__FMM_ROW(4) INH__FMM_ROW(5) INH__FMM_ROW(6) INH__FMM_ROW(7)
#undef INH__FMM_ROW
    }
    if (mr == 8 && o->nr == 48) {   /* a whole tile: straight from the registers */
        float *c = o->c;
        const float *bc = o->bias;
#define INH__FMM_PUT(i)                                                                              \
        if (o->add) {                                                                                \
            float *r = c + i * o->crs;                                                               \
            _mm512_storeu_ps(r, _mm512_add_ps(_mm512_loadu_ps(r), c##i##0));                          \
            _mm512_storeu_ps(r + 16, _mm512_add_ps(_mm512_loadu_ps(r + 16), c##i##1));                \
            _mm512_storeu_ps(r + 32, _mm512_add_ps(_mm512_loadu_ps(r + 32), c##i##2));                \
        } else if (bc) {                                                                             \
            float *r = c + i * o->crs;                                                               \
            _mm512_storeu_ps(r, _mm512_add_ps(c##i##0, _mm512_loadu_ps(bc)));                         \
            _mm512_storeu_ps(r + 16, _mm512_add_ps(c##i##1, _mm512_loadu_ps(bc + 16)));               \
            _mm512_storeu_ps(r + 32, _mm512_add_ps(c##i##2, _mm512_loadu_ps(bc + 32)));               \
        } else {                                                                                     \
            float *r = c + i * o->crs;                                                               \
            _mm512_storeu_ps(r, c##i##0); _mm512_storeu_ps(r + 16, c##i##1); _mm512_storeu_ps(r + 32, c##i##2); \
        }
        INH__FMM_PUT(0) INH__FMM_PUT(1) INH__FMM_PUT(2) INH__FMM_PUT(3)
        INH__FMM_PUT(4) INH__FMM_PUT(5) INH__FMM_PUT(6) INH__FMM_PUT(7)
#undef INH__FMM_PUT
        return;
    }
#define INH__FMM_TMP(i)                                                                   \
    _mm512_store_ps(tmp + i * 48, c##i##0); _mm512_store_ps(tmp + i * 48 + 16, c##i##1); \
    _mm512_store_ps(tmp + i * 48 + 32, c##i##2);
    INH__FMM_TMP(0) INH__FMM_TMP(1) INH__FMM_TMP(2) INH__FMM_TMP(3)
    INH__FMM_TMP(4) INH__FMM_TMP(5) INH__FMM_TMP(6) INH__FMM_TMP(7)
#undef INH__FMM_TMP
    inh__fmm_store(tmp, o);
}

#elif defined(INH__FMM_AVX2)
/* acc (6 x 16) = A (6 rows) @ bp (kc x 16, packed); see the AVX-512 kernel */
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    int mr = o->mr;
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * ars, *a2 = a + (mr > 2 ? 2 : 0) * ars,
                *a3 = a + (mr > 3 ? 3 : 0) * ars, *a4 = a + (mr > 4 ? 4 : 0) * ars,
                *a5 = a + (mr > 5 ? 5 : 0) * ars;
    for (int i = 0; i < mr; i++) {
        const char *r = (const char *)(o->c + i * o->crs);
        _mm_prefetch(r, _MM_HINT_T0); _mm_prefetch(r + 60, _MM_HINT_T0);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 16) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8), t;
#define INH__FMM_ROW(i)                                                                 \
        t = _mm256_broadcast_ss(a##i + off);                                            \
        c##i##0 = _mm256_fmadd_ps(t, b0, c##i##0); c##i##1 = _mm256_fmadd_ps(t, b1, c##i##1);
        INH__FMM_ROW(0) INH__FMM_ROW(1) INH__FMM_ROW(2) INH__FMM_ROW(3) INH__FMM_ROW(4) INH__FMM_ROW(5)
#undef INH__FMM_ROW
    }
    if (mr == 6 && o->nr == 16) {
        float *c = o->c;
        const float *bc = o->bias;
#define INH__FMM_PUT(i)                                                                              \
        if (o->add) {                                                                                \
            float *r = c + i * o->crs;                                                               \
            _mm256_storeu_ps(r, _mm256_add_ps(_mm256_loadu_ps(r), c##i##0));                          \
            _mm256_storeu_ps(r + 8, _mm256_add_ps(_mm256_loadu_ps(r + 8), c##i##1));                  \
        } else if (bc) {                                                                             \
            float *r = c + i * o->crs;                                                               \
            _mm256_storeu_ps(r, _mm256_add_ps(c##i##0, _mm256_loadu_ps(bc)));                         \
            _mm256_storeu_ps(r + 8, _mm256_add_ps(c##i##1, _mm256_loadu_ps(bc + 8)));                 \
        } else {                                                                                     \
            float *r = c + i * o->crs;                                                               \
            _mm256_storeu_ps(r, c##i##0); _mm256_storeu_ps(r + 8, c##i##1);                           \
        }
        INH__FMM_PUT(0) INH__FMM_PUT(1) INH__FMM_PUT(2) INH__FMM_PUT(3) INH__FMM_PUT(4) INH__FMM_PUT(5)
#undef INH__FMM_PUT
        return;
    }
#define INH__FMM_TMP(i) _mm256_store_ps(tmp + i * 16, c##i##0); _mm256_store_ps(tmp + i * 16 + 8, c##i##1);
    INH__FMM_TMP(0) INH__FMM_TMP(1) INH__FMM_TMP(2) INH__FMM_TMP(3) INH__FMM_TMP(4) INH__FMM_TMP(5)
#undef INH__FMM_TMP
    inh__fmm_store(tmp, o);
}

#elif defined(__GNUC__) || defined(__clang__)
/* acc (6 x 8) = A (6 rows) @ bp (kc x 8, packed), in 4-wide GCC/clang vector types: SSE2 or NEON
   registers (12 of 16 XMM for the tile), where plain loops (or 8-wide types on SSE2) would keep the
   tile in memory */
typedef float inh__fmm_v4 __attribute__((vector_size(16)));
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    int mr = o->mr;
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * ars, *a2 = a + (mr > 2 ? 2 : 0) * ars,
                *a3 = a + (mr > 3 ? 3 : 0) * ars, *a4 = a + (mr > 4 ? 4 : 0) * ars,
                *a5 = a + (mr > 5 ? 5 : 0) * ars;
    inh__fmm_v4 c00 = {0, 0, 0, 0}, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, b0, b1;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 8) {
        memcpy(&b0, bp, sizeof b0); memcpy(&b1, bp + 4, sizeof b1);
#define INH__FMM_ROW(i) c##i##0 += a##i[off] * b0; c##i##1 += a##i[off] * b1;
        INH__FMM_ROW(0) INH__FMM_ROW(1) INH__FMM_ROW(2) INH__FMM_ROW(3) INH__FMM_ROW(4) INH__FMM_ROW(5)
#undef INH__FMM_ROW
    }
#define INH__FMM_TMP(i) memcpy(tmp + i * 8, &c##i##0, 16); memcpy(tmp + i * 8 + 4, &c##i##1, 16);
    INH__FMM_TMP(0) INH__FMM_TMP(1) INH__FMM_TMP(2) INH__FMM_TMP(3) INH__FMM_TMP(4) INH__FMM_TMP(5)
#undef INH__FMM_TMP
    inh__fmm_store(tmp, o);
}

#else
/* acc (6 x 8) = A (6 rows) @ bp (kc x 8, packed), plain C */
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    const float *ar[6];
    for (int i = 0; i < 6; i++) ar[i] = a + (o->mr > i ? i : 0) * ars;
    for (int i = 0; i < 6 * 8; i++) tmp[i] = 0.0f;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 8)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) tmp[i * 8 + j] += ar[i][off] * bp[j];
    inh__fmm_store(tmp, o);
}
#endif

/* Pack B rows [0,kc) x columns [0,nb) (element (k,j) at b[k*brs + j*bcs]) into panels of NR
   columns, each kc x NR, k-major, columns past nb zero */
INH__FN void inh__fmm_pack_b(float *INH__RESTRICT bp, const float *b, ptrdiff_t brs, ptrdiff_t bcs, int kc, int nb) {
    enum { NR = INH__FMM_NR };
    for (int j0 = 0; j0 < nb; j0 += NR, bp += (size_t)kc * NR) {
        int nr = nb - j0 < NR ? nb - j0 : NR;
        const float *bj = b + j0 * bcs;
        if (bcs == 1) {                 /* rows of B contiguous: copy */
            for (int k = 0; k < kc; k++) {
                const float *s = bj + k * brs;
                float *d = bp + (size_t)k * NR;
                if (nr == NR) memcpy(d, s, NR * sizeof(float));
                else {
                    memcpy(d, s, (size_t)nr * sizeof(float));
                    memset(d + nr, 0, (size_t)(NR - nr) * sizeof(float));
                }
            }
            continue;
        }
        int k = 0;
#if defined(INH__FMM_AVX512)
        if (brs == 1 && nr == NR)       /* columns of B contiguous (B = w^T): 16 x 16 transposes */
            for (; k + 16 <= kc; k += 16)
                for (int g = 0; g < NR; g += 16) {
                    const float *s = bj + g * bcs + k;
                    __m512 r[16], u[16];
                    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * bcs);
                    /* (the all-ones maskz forms: the plain ones trip g++ 12's -Wmaybe-uninitialized) */
                    for (int i = 0; i < 16; i += 2) {
                        u[i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[i], r[i + 1]);
                        u[i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[i], r[i + 1]);
                    }
                    for (int i = 0; i < 16; i += 4)
                        for (int h = 0; h < 2; h++) {
                            __m512d x = _mm512_castps_pd(u[i + h]), y = _mm512_castps_pd(u[i + h + 2]);
                            r[i + 2 * h] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, x, y));
                            r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, x, y));
                        }
                    /* r[4q + e] holds, in 128-bit lane l, column 4l + e of rows 4q..4q+3 */
                    for (int e = 0; e < 4; e++) {
                        __m512 p0 = _mm512_maskz_shuffle_f32x4(0xFFFF, r[e], r[4 + e], 0x88);
                        __m512 p1 = _mm512_maskz_shuffle_f32x4(0xFFFF, r[e], r[4 + e], 0xdd);
                        __m512 p2 = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 + e], r[12 + e], 0x88);
                        __m512 p3 = _mm512_maskz_shuffle_f32x4(0xFFFF, r[8 + e], r[12 + e], 0xdd);
                        float *d = bp + (size_t)k * NR + g;
                        _mm512_store_ps(d + (size_t)e * NR, _mm512_maskz_shuffle_f32x4(0xFFFF, p0, p2, 0x88));
                        _mm512_store_ps(d + (size_t)(e + 8) * NR, _mm512_maskz_shuffle_f32x4(0xFFFF, p0, p2, 0xdd));
                        _mm512_store_ps(d + (size_t)(e + 4) * NR, _mm512_maskz_shuffle_f32x4(0xFFFF, p1, p3, 0x88));
                        _mm512_store_ps(d + (size_t)(e + 12) * NR, _mm512_maskz_shuffle_f32x4(0xFFFF, p1, p3, 0xdd));
                    }
                }
#endif
        for (; k < kc; k++) {
            float *d = bp + (size_t)k * NR;
            for (int j = 0; j < nr; j++) d[j] = bj[k * brs + j * bcs];
            for (int j = nr; j < NR; j++) d[j] = 0.0f;
        }
    }
}

/* Pack rows [0,mb) x [0,kc) of A into strips of MR rows, each kc x MR, k-major, rows past mb
   zero. Used when rows of A are not contiguous (dw: A = dout^T); reading a whole block per k
   touches each row of dout once per block, not once per strip. */
INH__FN void inh__fmm_pack_a(float *INH__RESTRICT ap, const float *a, ptrdiff_t ars, ptrdiff_t acs, int kc, int mb) {
    enum { MR = INH__FMM_MR };
    for (int k = 0; k < kc; k++) {
        const float *s = a + k * acs;
        for (int i0 = 0; i0 < mb; i0 += MR) {
            float *d = ap + (size_t)(i0 / MR) * kc * MR + (size_t)k * MR;
            if (ars == 1 && mb - i0 >= MR) memcpy(d, s + i0, MR * sizeof(float));
            else
                for (int i = 0; i < MR; i++) d[i] = i0 + i < mb ? s[(i0 + i) * ars] : 0.0f;
        }
    }
}

typedef struct {
    int M, Nc, K;
    const float *a, *b;             /* A (M,K): (i,k) at a[i*ars + k*acs]; B (K,Nc): (k,j) at b[k*brs + j*bcs] */
    ptrdiff_t ars, acs, brs, bcs;
    float *c;                       /* C (M,Nc): (i,j) at c[i*crs + j] */
    ptrdiff_t crs;
    const float *bias;              /* (Nc), added once, or NULL */
    int add;                        /* 1: C += A@B; 0: C = A@B + bias */
    int tr, tc;                     /* thread grid: tr row strips x tc column ranges */
    float *buf;                     /* pack space, per slot INH__FMM_SLOT floats */
} inh__fmm_args;
enum { INH__FMM_SLOT = INH__FMM_KC * INH__FMM_NCP * INH__FMM_NR + INH__FMM_KC * INH__FMM_MC + INH__FMM_MR * INH__FMM_NR + 16 };

/* K blocks: nkb equal blocks of at most KC; the cut depends on K alone (see determinism above) */
INH__FN int inh__fmm_kblocks(int K) { return (K + INH__FMM_KC - 1) / INH__FMM_KC; }

static void inh__fmm_slot(void *p, int lo, int hi) {
    enum { MR = INH__FMM_MR, NR = INH__FMM_NR, NCP = INH__FMM_NCP };
    const inh__fmm_args *g = (const inh__fmm_args *)p;
    int mt = (g->M + MR - 1) / MR, np = (g->Nc + NR - 1) / NR, nkb = inh__fmm_kblocks(g->K);
    for (int t = lo; t < hi; t++) {
        if (t >= g->tr * g->tc) continue;
        int r = t / g->tc, q = t % g->tc;
        int i_lo = (int)((long long)mt * r / g->tr) * MR, i_hi = (int)((long long)mt * (r + 1) / g->tr) * MR;
        int p_lo = (int)((long long)np * q / g->tc), p_hi = (int)((long long)np * (q + 1) / g->tc);
        if (i_hi > g->M) i_hi = g->M;
        float *bp = (float *)(((uintptr_t)(g->buf + (size_t)t * INH__FMM_SLOT) + 63) & ~(uintptr_t)63);
        float *ap = bp + INH__FMM_KC * NCP * NR, *tmp = ap + INH__FMM_KC * INH__FMM_MC;
        for (int pj = p_lo; pj < p_hi; pj += NCP) {
            int pn = p_hi - pj < NCP ? p_hi - pj : NCP, j0 = pj * NR;
            int nb = g->Nc - j0 < pn * NR ? g->Nc - j0 : pn * NR;
            for (int kb = 0; kb < nkb; kb++) {
                int k0 = (int)((long long)g->K * kb / nkb), kc = (int)((long long)g->K * (kb + 1) / nkb) - k0;
                inh__fmm_pack_b(bp, g->b + k0 * g->brs + j0 * g->bcs, g->brs, g->bcs, kc, nb);
                for (int ib = i_lo; ib < i_hi; ib += INH__FMM_MC) {
                    int mb = i_hi - ib < INH__FMM_MC ? i_hi - ib : INH__FMM_MC;
                    int packed = g->acs != 1;    /* rows of A not contiguous: pack the block */
                    if (packed) inh__fmm_pack_a(ap, g->a + ib * g->ars + k0 * g->acs, g->ars, g->acs, kc, mb);
                    for (int i0 = ib; i0 < ib + mb; i0 += MR) {
                        inh__fmm_tile o;
                        const float *a = packed ? ap + (size_t)(i0 - ib) * kc : g->a + i0 * g->ars + k0 * g->acs;
                        ptrdiff_t ars = packed ? 1 : g->ars, acs = packed ? (ptrdiff_t)MR : g->acs;
                        o.mr = ib + mb - i0 < MR ? ib + mb - i0 : MR;
                        o.add = g->add || kb > 0;
                        o.crs = g->crs;
                        for (int jp = 0; jp < pn; jp++) {
                            int j = j0 + jp * NR;
                            o.c = g->c + i0 * g->crs + j;
                            o.nr = g->Nc - j < NR ? g->Nc - j : NR;
                            o.bias = !o.add && g->bias ? g->bias + j : NULL;
                            inh__fmm_kernel(kc, a, ars, acs, bp + (size_t)jp * kc * NR, &o, tmp);
                        }
                    }
                }
            }
        }
    }
}

/* Run one product on nt threads; 0 when the pack space cannot be allocated (nothing written) */
INH__FN int inh__fmm_run(inh__fmm_args *g, int nt) {
    int mt = (g->M + INH__FMM_MR - 1) / INH__FMM_MR, np = (g->Nc + INH__FMM_NR - 1) / INH__FMM_NR;
    if (nt < 1) nt = 1;
#ifdef INH_NO_THREADS
    nt = 1;                              /* the slots would run one after another anyway */
#endif
    g->tc = nt < np ? nt : np;           /* columns first: each thread packs only its part of B */
    g->tr = nt / g->tc < mt ? nt / g->tc : mt;
    nt = g->tr * g->tc;
    g->buf = INH__ALLOC(float, (size_t)nt * INH__FMM_SLOT);
    if (!g->buf) return 0;
    inh__parallel(nt, nt, inh__fmm_slot, g);
    INH_FREE(g->buf);
    return 1;
}

/* forward: out (N,OC) = inp (N,C) @ w^T + bias; w (OC,C), bias (OC) or NULL */
INH__FN void inh__matmul_forward_fast(float *out, const float *inp, const float *w, const float *bias,
                                      int N, int C, int OC, int nt) {
    inh__fmm_args g;
    if (N <= 0 || OC <= 0) return;
    if (C <= 0) { inh__matmul_forward_cpu(out, inp, w, bias, N, C, OC, nt); return; }
    memset(&g, 0, sizeof g);
    g.M = N; g.Nc = OC; g.K = C;
    g.a = inp; g.ars = C; g.acs = 1;
    g.b = w; g.brs = 1; g.bcs = C;
    g.c = out; g.crs = OC;
    g.bias = bias;
    if (!inh__fmm_run(&g, nt)) inh__matmul_forward_cpu(out, inp, w, bias, N, C, OC, nt);
}

/* dbias (OC) += column sums of dout (N,OC), 64 columns per job, rows summed in order */
typedef struct { float *dbias; const float *dout; int N, OC; } inh__fmm_db_args;
static void inh__fmm_dbias(void *p, int lo, int hi) {
    const inh__fmm_db_args *g = (const inh__fmm_db_args *)p;
    for (int blk = lo; blk < hi; blk++) {
        int o0 = blk * 64, m = g->OC - o0 < 64 ? g->OC - o0 : 64;
        float s[64];
        for (int j = 0; j < m; j++) s[j] = 0.0f;
        for (int n = 0; n < g->N; n++) {
            const float *d = g->dout + (size_t)n * g->OC + o0;
            for (int j = 0; j < m; j++) s[j] += d[j];
        }
        for (int j = 0; j < m; j++) g->dbias[o0 + j] += s[j];
    }
}

/* backward: dinp (N,C) += dout (N,OC) @ w; dw (OC,C) += dout^T @ inp; dbias (OC) += sum_n dout.
   dinp, dw, dbias may each be NULL. */
INH__FN void inh__matmul_backward_fast(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                       const float *w, int N, int C, int OC, int nt) {
    inh__fmm_args g;
    if (N <= 0 || C <= 0 || OC <= 0) {
        inh__matmul_backward_cpu(dinp, dw, dbias, dout, inp, w, N, C, OC, nt);
        return;
    }
    if (dinp) {
        memset(&g, 0, sizeof g);
        g.M = N; g.Nc = C; g.K = OC;
        g.a = dout; g.ars = OC; g.acs = 1;
        g.b = w; g.brs = C; g.bcs = 1;
        g.c = dinp; g.crs = C;
        g.add = 1;
        if (!inh__fmm_run(&g, nt)) inh__matmul_backward_cpu(dinp, NULL, NULL, dout, inp, w, N, C, OC, nt);
    }
    if (dw) {
        memset(&g, 0, sizeof g);
        g.M = OC; g.Nc = C; g.K = N;
        g.a = dout; g.ars = 1; g.acs = OC;
        g.b = inp; g.brs = C; g.bcs = 1;
        g.c = dw; g.crs = C;
        g.add = 1;
        if (!inh__fmm_run(&g, nt)) inh__matmul_backward_cpu(NULL, dw, NULL, dout, inp, w, N, C, OC, nt);
    }
    if (dbias) {
        inh__fmm_db_args d = {dbias, dout, N, OC};
        inh__parallel(nt, (OC + 63) / 64, inh__fmm_dbias, &d);
    }
}

#endif /* INH_HAVE_FASTMM */
