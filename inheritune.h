/* inheritune.h - train, analyse and shrink small GPT-2 models. Single header, C99, libc + libm.

   Do this in exactly one C or C++ file:
       #define INHERITUNE_IMPLEMENTATION
       #include "inheritune.h"
   Everywhere else just #include "inheritune.h".

   Options (define before the implementation):
       INHERITUNE_STATIC        all functions static to that translation unit
       INH_NO_THREADS           no POSIX threads: every kernel runs on the calling thread
       INH_MALLOC(n) INH_REALLOC(p,n) INH_FREE(p)   allocator (define all three or none)

   Errors: functions that can fail return 0 on success and -1 on failure; inh_error() then says
   what went wrong, naming the file and the problem. Nothing here calls exit() or abort().

   The file reads top to bottom like the pipeline it implements:
       utilities -> kernels (forward/backward pairs) -> model -> checkpoint formats ->
       tokenizer -> data -> training -> analysis -> Inheritune recipe -> reports.

   Dimension names used everywhere: B batch, T time, C channels, NH heads, hs = C/NH head size,
   L layers, V vocabulary, Vp vocabulary padded to a multiple of 128, maxT context length.
*/
#if defined(INHERITUNE_IMPLEMENTATION) && !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, fsync, sysconf under -std=c99/c11 */
#endif
#ifndef INHERITUNE_H
#define INHERITUNE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef INHDEF
#ifdef INHERITUNE_STATIC
#define INHDEF static
#else
#define INHDEF extern
#endif
#endif

/* ---------------------------------------------------------------------------------------------
   Utilities */

/* The last error message ("" if none). Not thread safe: one message for the whole library. */
INHDEF const char *inh_error(void);
/* Number of online cores (at least 1). */
INHDEF int inh_num_cores(void);
/* Monotonic wall-clock seconds. */
INHDEF double inh_now(void);

/* Small deterministic RNG (splitmix64 seeded xorshift*), saved in training state for exact resume. */
typedef struct { uint64_t s; } inh_rng;
INHDEF void     inh_rng_seed(inh_rng *r, uint64_t seed);
INHDEF uint64_t inh_rng_u64(inh_rng *r);
INHDEF float    inh_rng_uniform(inh_rng *r);          /* [0, 1) */
INHDEF float    inh_rng_normal(inh_rng *r);           /* N(0, 1) */

/* ---------------------------------------------------------------------------------------------
   Model */

typedef struct {
    int maxT;        /* context length */
    int V;           /* vocabulary size */
    int Vp;          /* V padded up to a multiple of 128 (llm.c) */
    int L, NH, C;    /* layers, heads, channels */
    int bias;        /* 1: biases everywhere (GPT-2, llm.c); 0: none (nanoGPT bias=False) */
    int layer_scale; /* 1: attention logits also scaled by 1/(layer+1) (HF scale_attn_by_inverse_layer_idx) */
} inh_config;

/* The 16 parameter tensors in llm.c's order; all live in one allocation. */
#define INH_NUM_PARAMS 16
typedef struct {
    float *wte;      /* (Vp, C)  token embedding, tied LM head; rows V..Vp-1 stay zero */
    float *wpe;      /* (maxT, C) */
    float *ln1w, *ln1b;          /* (L, C) */
    float *qkvw, *qkvb;          /* (L, 3C, C), (L, 3C) */
    float *attprojw, *attprojb;  /* (L, C, C), (L, C) */
    float *ln2w, *ln2b;          /* (L, C) */
    float *fcw, *fcb;            /* (L, 4C, C), (L, 4C) */
    float *fcprojw, *fcprojb;    /* (L, C, 4C), (L, C) */
    float *lnfw, *lnfb;          /* (C) */
} inh_params;

/* Activations of one forward pass, kept for backward; one allocation, sized for B*T. */
typedef struct {
    float *encoded;                       /* (B, T, C) */
    float *ln1, *ln1_mean, *ln1_rstd;     /* (L, B, T, C), (L, B, T) x2 */
    float *qkv;                           /* (L, B, T, 3C) */
    float *atty;                          /* (L, B, T, C) attention output before projection */
    float *att;                           /* (L, B, NH, T, T) post-softmax attention */
    float *res2;                          /* (L, B, T, C) residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd;     /* (L, B, T, C), (L, B, T) x2 */
    float *fch, *fch_gelu;                /* (L, B, T, 4C) */
    float *res3;                          /* (L, B, T, C) residual after the MLP = block output */
    float *lnf, *lnf_mean, *lnf_rstd;     /* (B, T, C), (B, T) x2 */
    float *logits;                        /* (B, T, Vp); with targets, overwritten by probabilities */
    float *losses;                        /* (B, T) */
} inh_acts;

typedef struct {
    inh_config cfg;
    inh_params params, grads;             /* grads has the same layout as params */
    float *params_mem, *grads_mem, *m_mem, *v_mem;  /* one block each; AdamW moments lazily */
    size_t param_sizes[INH_NUM_PARAMS];
    size_t num_params;
    inh_acts acts;
    float *acts_mem, *scratch_mem;        /* activations; per-layer backward scratch */
    int B, T;                             /* shape the activations were last used with */
    size_t acts_capacity;                 /* B*T the activation block was sized for */
    const int *inputs, *targets;          /* of the last forward */
    float mean_loss;                      /* of the last forward with targets, else -1 */
    unsigned char *drop_attn;             /* (L) 1 = skip this layer's attention sub-layer */
    int threads;                          /* worker threads for every kernel (>= 1) */
} inh_model;

/* Fill *c from the sizes (Vp derived) with GPT-2 defaults (bias on, no layer scale). */
INHDEF void inh_config_default(inh_config *c, int maxT, int V, int L, int NH, int C);
/* Check a config: positive sizes, NH divides C, no overflow. */
INHDEF int  inh_config_check(const inh_config *c, const char *what);
/* New model with GPT-2 initialisation, deterministic for a seed. */
INHDEF int  inh_model_init(inh_model *m, const inh_config *c, uint64_t seed);
INHDEF void inh_model_free(inh_model *m);
/* Forward pass on inputs (B, T); with targets (B, T) it also computes losses and m->mean_loss.
   Token ids are checked against V. Returns 0, or -1 on bad shapes or ids. */
INHDEF int  inh_model_forward(inh_model *m, const int *inputs, const int *targets, int B, int T);
/* Gradients of mean_loss * loss_scale, ADDED into m->grads (call inh_model_zero_grad first;
   loss_scale 1/accum for gradient accumulation). Needs a forward with targets. */
INHDEF int  inh_model_backward(inh_model *m, float loss_scale);
INHDEF void inh_model_zero_grad(inh_model *m);
/* Index of the tensor and its name ("wte", "qkvw", ...). */
INHDEF const char *inh_param_name(int i);
/* 1 if AdamW decays tensor i by default (2-D weights and embeddings, nanoGPT's grouping) */
INHDEF int  inh_param_is_2d(int i);
/* Whether tensor i is a bias (absent, kept at zero, when cfg.bias == 0) */
INHDEF int  inh_param_is_bias(int i);

typedef struct {
    float beta1, beta2, eps, weight_decay;
    int decay_all;   /* 0: decay only 2-D tensors (nanoGPT); 1: all parameters (llm.c) */
    float grad_clip; /* clip the global gradient norm to this; 0 = off */
} inh_adamw;
INHDEF void  inh_adamw_default(inh_adamw *o);
/* Global L2 norm of the gradients (deterministic for any thread count). */
INHDEF float inh_model_grad_norm(inh_model *m);
/* One AdamW step at learning rate lr; t is the 1-based step for bias correction. The gradient is
   clipped first when o->grad_clip > 0 (grad_norm: inh_model_grad_norm, passed in to avoid
   recomputing). Returns -1 if moments cannot be allocated. */
INHDEF int   inh_model_update(inh_model *m, const inh_adamw *o, float lr, int t, float grad_norm);

/* Sample n_new tokens after the prompt (batch 1). temperature 0 = greedy; top_k 0 = all. */
INHDEF int inh_model_generate(inh_model *m, const int *prompt, int n_prompt, int n_new,
                              float temperature, int top_k, inh_rng *rng, int *out);

/* ---------------------------------------------------------------------------------------------
   Checkpoint formats */

/* llm.c model file: 256 int32 header [20240326, 3, maxT, V, L, NH, C, Vp, flags, 0...], then fp32
   tensors in llm.c's order. flags (slot 8, zero in llm.c's own files, ignored by llm.c):
   bit 0 = no biases, bit 1 = layer scale. A bias-free model is written with zero biases. */
INHDEF int inh_model_load(inh_model *m, const char *path);
INHDEF int inh_model_save(const inh_model *m, const char *path);

/* ---------------------------------------------------------------------------------------------
   Data: llm.c token shards (256 int32 header [20240520, 1, ntokens, 0...], then uint16 ids) */

typedef struct {
    char path[1024];
    uint16_t *tokens;
    size_t n;          /* number of tokens */
    size_t pos;        /* next sequential window */
    int shuffle;       /* 0: consecutive windows from token 0; 1: random windows from rng */
    inh_rng rng;
} inh_data;

/* Load a shard; every id must be < V (V <= 0 skips the check). */
INHDEF int  inh_data_open(inh_data *d, const char *path, int V);
INHDEF void inh_data_close(inh_data *d);
/* Check every id is < V. */
INHDEF int  inh_data_check(const inh_data *d, int V);
/* Next batch: inputs and targets (B, T). Sequential mode reads the B*T+1 tokens after the previous
   window and wraps to token 0 when fewer remain; shuffled mode picks B random windows of T+1. */
INHDEF int  inh_data_next(inh_data *d, int B, int T, int *inputs, int *targets);
INHDEF void inh_data_reset(inh_data *d);
/* Write ids as a shard (atomic). */
INHDEF int  inh_data_write(const char *path, const int *ids, size_t n);
/* A corpus the program makes itself (deterministic for a seed, V >= 16): documents that start with
   end-of-text (V-1), then alternate copy segments (random tokens, separator V-2, the same tokens
   again: predicting the copy needs attention) and bigram segments (each token follows the previous
   one through a fixed random table 90% of the time: predictable without attention). */
INHDEF int  inh_synth_corpus(int *ids, size_t n, int V, uint64_t seed);
/* Mean loss over nbatches consecutive windows from token 0 (the data position is restored). */
INHDEF int  inh_eval_loss(inh_model *m, inh_data *d, int B, int T, int nbatches, float *loss);

/* ---------------------------------------------------------------------------------------------
   Training */

typedef enum { INH_SCHEDULE_CONSTANT = 0, INH_SCHEDULE_COSINE = 1 } inh_schedule_kind;
typedef struct {
    int B, T, steps, accum;
    float lr, min_lr;
    int warmup;
    int schedule;        /* inh_schedule_kind */
    inh_adamw opt;
    uint64_t seed;
    int shuffle;
} inh_train_opts;
INHDEF void  inh_train_opts_default(inh_train_opts *o);
/* Learning rate at 0-based step: linear warm-up over `warmup` steps, then constant or cosine decay
   from lr to min_lr at the last step. */
INHDEF float inh_lr_at(const inh_train_opts *o, int step);

typedef struct {
    inh_model *model;
    inh_data *train;
    inh_train_opts o;
    int step;            /* optimizer steps done */
    int *inputs, *targets;
} inh_trainer;
typedef struct { int step; float loss, lr, grad_norm; double seconds; int skipped; } inh_step_info;

INHDEF int  inh_trainer_init(inh_trainer *t, inh_model *m, inh_data *train, const inh_train_opts *o);
INHDEF void inh_trainer_free(inh_trainer *t);
/* One optimizer step over `accum` micro-batches. info->loss is the mean loss of the forward passes
   before the update. */
INHDEF int  inh_trainer_step(inh_trainer *t, inh_step_info *info);
/* Training state (ours): options, model, AdamW moments, step, RNG and data position (atomic). */
INHDEF int  inh_trainer_save_state(const inh_trainer *t, const char *path);
/* Load a state file into a fresh model and the trainer's options/position. *m must be zeroed. */
INHDEF int  inh_trainer_load_state(inh_trainer *t, inh_model *m, inh_data *train, const char *path);

#include "parts/tokenizer_decl.h"   /* TEMPORARY: inlined before commit of issue 3 */

#ifdef __cplusplus
}
#endif
#endif /* INHERITUNE_H */

/* =============================================================================================
   Implementation
   ============================================================================================= */
#ifdef INHERITUNE_IMPLEMENTATION
#ifndef INHERITUNE_IMPLEMENTATION_DONE
#define INHERITUNE_IMPLEMENTATION_DONE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <math.h>
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#ifndef INH_NO_THREADS
#include <pthread.h>
#endif

#if defined(INH_MALLOC) && defined(INH_FREE) && defined(INH_REALLOC)
#elif !defined(INH_MALLOC) && !defined(INH_FREE) && !defined(INH_REALLOC)
#define INH_MALLOC(n) malloc(n)
#define INH_REALLOC(p, n) realloc(p, n)
#define INH_FREE(p) free(p)
#else
#error "define all of INH_MALLOC, INH_REALLOC and INH_FREE, or none"
#endif

/* private functions: static, and quiet when a translation unit does not use them */
#if defined(__GNUC__) || defined(__clang__)
#define INH__FN static __attribute__((unused))
#else
#define INH__FN static
#endif

#ifdef __cplusplus
#define INH__CAST(T, x) ((T)(x))
#else
#define INH__CAST(T, x) (x)
#endif
/* typed allocation: n elements of type T, NULL on overflow or failure (C++-safe) */
#define INH__ALLOC(T, n) ((T *)inh__alloc((size_t)(n), sizeof(T)))
#define INH__CALLOC(T, n) ((T *)inh__calloc((size_t)(n), sizeof(T)))

/* ---------------------------------------------------------------------------------------------
   Utilities */

static char inh__errbuf[1024];

INHDEF const char *inh_error(void) { return inh__errbuf; }

/* Set the error message (printf-style) and return -1, so failures read `return inh__fail(...)`. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
INH__FN int inh__fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inh__errbuf, sizeof inh__errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

INH__FN void *inh__alloc(size_t n, size_t size) {
    if (size && n > (size_t)-1 / size) { inh__fail("allocation of %zu x %zu bytes overflows", n, size); return NULL; }
    size_t bytes = n * size;
    void *p = INH_MALLOC(bytes > 0 ? bytes : 1);
    if (!p) inh__fail("out of memory allocating %zu bytes", n * size);
    return p;
}
INH__FN void *inh__calloc(size_t n, size_t size) {
    void *p = inh__alloc(n, size);
    if (p) memset(p, 0, n * size);
    return p;
}

INHDEF int inh_num_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

INHDEF double inh_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

INHDEF void inh_rng_seed(inh_rng *r, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;       /* splitmix64: never leaves state 0 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}
INHDEF uint64_t inh_rng_u64(inh_rng *r) {            /* xorshift64* */
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
INHDEF float inh_rng_uniform(inh_rng *r) { return (float)(inh_rng_u64(r) >> 40) / 16777216.0f; }
INHDEF float inh_rng_normal(inh_rng *r) {            /* Box-Muller, one value per call */
    float u1 = inh_rng_uniform(r), u2 = inh_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

/* Parallel-for over [0, n) in nthreads contiguous chunks. Chunk boundaries depend only on
   (n, nthreads), so results are deterministic for a fixed thread count; kernels that must be
   bit-identical across thread counts split work so each output has one owner. */
typedef void (*inh__range_fn)(void *ctx, int lo, int hi);
typedef struct { inh__range_fn fn; void *ctx; int lo, hi; } inh__job;
#ifndef INH_NO_THREADS
INH__FN void *inh__job_run(void *p) { inh__job *j = (inh__job *)p; j->fn(j->ctx, j->lo, j->hi); return NULL; }
#endif
INH__FN void inh__parallel(int nthreads, int n, inh__range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (nthreads > n) nthreads = n;
#ifndef INH_NO_THREADS
    if (nthreads > 1) {
        enum { MAXT = 256 };
        pthread_t th[MAXT];
        inh__job jobs[MAXT];
        int started[MAXT];
        if (nthreads > MAXT) nthreads = MAXT;
        for (int t = 0; t < nthreads; t++) {
            jobs[t].fn = fn; jobs[t].ctx = ctx;
            jobs[t].lo = (int)((long long)n * t / nthreads);
            jobs[t].hi = (int)((long long)n * (t + 1) / nthreads);
        }
        for (int t = 1; t < nthreads; t++) started[t] = pthread_create(&th[t], NULL, inh__job_run, &jobs[t]) == 0;
        fn(ctx, jobs[0].lo, jobs[0].hi);
        for (int t = 1; t < nthreads; t++) {
            if (started[t]) pthread_join(th[t], NULL);
            else fn(ctx, jobs[t].lo, jobs[t].hi);  /* could not start a thread: do its share here */
        }
        return;
    }
#endif
    fn(ctx, 0, n);
}

/* Whole-file helpers. inh__read_file reads at most max_bytes (0 = no limit). */
INH__FN int inh__read_file(const char *path, unsigned char **out, size_t *len, size_t max_bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = INH__ALLOC(unsigned char, cap);
    if (!buf) { fclose(f); return -1; }
    for (;;) {
        if (n == cap) {
            if (max_bytes && cap >= max_bytes) { INH_FREE(buf); fclose(f); return inh__fail("%s: larger than %zu bytes", path, max_bytes); }
            unsigned char *nb = INH__CAST(unsigned char *, INH_REALLOC(buf, cap * 2));
            if (!nb) { INH_FREE(buf); fclose(f); return inh__fail("%s: out of memory reading file", path); }
            buf = nb; cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { INH_FREE(buf); return inh__fail("%s: read error", path); }
    *out = buf; *len = n;
    return 0;
}

/* Atomic save: write to "<path>.tmp.<pid>", flush, fsync, rename over path. A crash or a write
   error never leaves a half-written file under the final name. */
typedef struct { FILE *f; char tmp[4096]; const char *path; int bad; } inh__wfile;
INH__FN int inh__wopen(inh__wfile *w, const char *path) {
    memset(w, 0, sizeof *w);
    w->path = path;
    if (snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof w->tmp)
        return inh__fail("%s: path too long", path);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) return inh__fail("%s: cannot create %s: %s", path, w->tmp, strerror(errno));
    return 0;
}
INH__FN void inh__wwrite(inh__wfile *w, const void *p, size_t n) {
    if (!w->bad && n && fwrite(p, 1, n, w->f) != n) w->bad = errno ? errno : EIO;
}
INH__FN int inh__wclose(inh__wfile *w) {
    int e = w->bad;
    if (!e && fflush(w->f) != 0) e = errno ? errno : EIO;
    if (!e && fsync(fileno(w->f)) != 0) e = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !e) e = errno ? errno : EIO;
    if (!e && rename(w->tmp, w->path) != 0) e = errno ? errno : EIO;
    if (e) { remove(w->tmp); return inh__fail("%s: write failed: %s (previous file left intact)", w->path, strerror(e)); }
    return 0;
}
INH__FN void inh__wabort(inh__wfile *w) { if (w->f) fclose(w->f); remove(w->tmp); }

/* little-endian 32-bit read/write (the formats here are little-endian on every host) */
INH__FN uint32_t inh__rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
INH__FN void inh__wr32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* ---------------------------------------------------------------------------------------------
   Kernels: forward/backward pairs. Backward functions ACCUMULATE (+=) into gradients; zeroing is
   explicit. `nt` is the number of worker threads. Every kernel splits work so that each output
   element has a single owner and a fixed summation order: results do not depend on nt. */

/* encoder: out (B,T,C) = wte[inp] + wpe[t] */
INH__FN void inh__encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *we = wte + (size_t)inp[b * T + t] * C, *pe = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
        }
}
INH__FN void inh__encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *dwe = dwte + (size_t)inp[b * T + t] * C, *dpe = dwpe + (size_t)t * C;
            for (int i = 0; i < C; i++) { dwe[i] += d[i]; dpe[i] += d[i]; }
        }
}

/* layernorm over C, eps 1e-5: out (N,C), mean and rstd (N) kept for backward; bias may be NULL */
INH__FN void inh__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                   const float *w, const float *bias, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float m = 0.0f, v = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= (float)C;
        for (int i = 0; i < C; i++) { float d = x[i] - m; v += d * d; }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * w[i] + (bias ? bias[i] : 0.0f);
        mean[n] = m; rstd[n] = s;
    }
}
INH__FN void inh__layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                    const float *w, const float *mean, const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *d = dout + (size_t)n * C, *x = inp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s, dnorm = w[i] * d[i];
            dnorm_mean += dnorm; dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= (float)C; dnorm_norm_mean /= (float)C;
        float *di = dinp + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float norm = (x[i] - m) * s, dnorm = w[i] * d[i];
            if (db) db[i] += d[i];
            dw[i] += norm * d[i];
            di[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
}

/* --- matmul: the CPU reference of the first seam operation ---------------------------------- */
/* forward: out (N,OC) = inp (N,C) @ w^T + bias, w (OC,C), bias (OC) or NULL */
typedef struct { float *out; const float *inp, *w, *bias; int N, C, OC; } inh__mm_args;
static inline float inh__dot(const float *a, const float *b, int n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};   /* 8 partial sums: vectorizable, fixed order */
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}
static void inh__mm_fwd_rows(void *p, int lo, int hi) {
    inh__mm_args *a = (inh__mm_args *)p;
    for (int n = lo; n < hi; n++) {
        const float *x = a->inp + (size_t)n * a->C;
        float *o = a->out + (size_t)n * a->OC;
        for (int oc = 0; oc < a->OC; oc++)
            o[oc] = inh__dot(x, a->w + (size_t)oc * a->C, a->C) + (a->bias ? a->bias[oc] : 0.0f);
    }
}
INH__FN void inh__matmul_forward_cpu(float *out, const float *inp, const float *w, const float *bias,
                                    int N, int C, int OC, int nt) {
    inh__mm_args a = {out, inp, w, bias, N, C, OC};
    inh__parallel(nt, N, inh__mm_fwd_rows, &a);
}
/* backward: dinp (N,C) += dout (N,OC) @ w; dw (OC,C) += dout^T @ inp; dbias (OC) += sum_n dout.
   dinp is split by rows n, dw and dbias by rows oc. */
typedef struct { float *dinp, *dw, *dbias; const float *dout, *inp, *w; int N, C, OC; } inh__mmb_args;
static void inh__mm_bwd_dinp(void *p, int lo, int hi) {
    inh__mmb_args *a = (inh__mmb_args *)p;
    for (int n = lo; n < hi; n++) {
        float *di = a->dinp + (size_t)n * a->C;
        const float *d = a->dout + (size_t)n * a->OC;
        for (int oc = 0; oc < a->OC; oc++) {
            float g = d[oc];
            const float *wr = a->w + (size_t)oc * a->C;
            for (int i = 0; i < a->C; i++) di[i] += g * wr[i];
        }
    }
}
static void inh__mm_bwd_dw(void *p, int lo, int hi) {
    inh__mmb_args *a = (inh__mmb_args *)p;
    for (int oc = lo; oc < hi; oc++) {
        float *dwr = a->dw + (size_t)oc * a->C;
        float db = 0.0f;
        for (int n = 0; n < a->N; n++) {
            float g = a->dout[(size_t)n * a->OC + oc];
            const float *x = a->inp + (size_t)n * a->C;
            for (int i = 0; i < a->C; i++) dwr[i] += g * x[i];
            db += g;
        }
        if (a->dbias) a->dbias[oc] += db;
    }
}
INH__FN void inh__matmul_backward_cpu(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                     const float *w, int N, int C, int OC, int nt) {
    inh__mmb_args a = {dinp, dw, dbias, dout, inp, w, N, C, OC};
    if (dinp) inh__parallel(nt, N, inh__mm_bwd_dinp, &a);
    if (dw) inh__parallel(nt, OC, inh__mm_bwd_dw, &a);
}

/* --- attention: the second seam operation ---------------------------------------------------- */
/* forward: qkv (B,T,3C) -> out (B,T,C), att (B,NH,T,T) post-softmax (causal; upper part zero).
   scale = 1/sqrt(hs), divided by (layer+1) with layer scaling. Split by (b, h). */
typedef struct { float *out, *att, *datt; const float *qkv, *dout; float *dqkv; int B, T, C, NH; float scale; } inh__att_args;
static void inh__att_fwd_bh(void *p, int lo, int hi) {
    inh__att_args *a = (inh__att_args *)p;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C;
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *base = a->qkv + (size_t)b * T * C3;
        for (int t = 0; t < T; t++) {
            const float *q = base + (size_t)t * C3 + h * hs;
            float *row = a->att + (((size_t)b * NH + h) * T + t) * T;
            float mx = -INFINITY;
            for (int t2 = 0; t2 <= t; t2++) {
                float s = inh__dot(q, base + (size_t)t2 * C3 + C + h * hs, hs) * a->scale;
                row[t2] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) { row[t2] = expf(row[t2] - mx); sum += row[t2]; }
            float inv = 1.0f / sum;
            for (int t2 = 0; t2 <= t; t2++) row[t2] *= inv;
            for (int t2 = t + 1; t2 < T; t2++) row[t2] = 0.0f;
            float *o = a->out + ((size_t)b * T + t) * C + h * hs;
            for (int i = 0; i < hs; i++) o[i] = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) {
                const float *v = base + (size_t)t2 * C3 + 2 * C + h * hs;
                float w = row[t2];
                for (int i = 0; i < hs; i++) o[i] += w * v[i];
            }
        }
    }
}
INH__FN void inh__attention_forward_cpu(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                                       float scale, int nt) {
    inh__att_args a = {out, att, NULL, qkv, NULL, NULL, B, T, C, NH, scale};
    inh__parallel(nt, B * NH, inh__att_fwd_bh, &a);
}
/* backward: dqkv (B,T,3C) += from dout (B,T,C); datt is (B,NH,T,T) scratch */
static void inh__att_bwd_bh(void *p, int lo, int hi) {
    inh__att_args *a = (inh__att_args *)p;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C;
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *base = a->qkv + (size_t)b * T * C3;
        float *dbase = a->dqkv + (size_t)b * T * C3;
        for (int t = 0; t < T; t++) {
            const float *row = a->att + (((size_t)b * NH + h) * T + t) * T;
            float *drow = a->datt + (((size_t)b * NH + h) * T + t) * T;
            const float *d = a->dout + ((size_t)b * T + t) * C + h * hs;
            /* out = att @ v: datt = d . v, dv += att * d */
            for (int t2 = 0; t2 <= t; t2++) {
                const float *v = base + (size_t)t2 * C3 + 2 * C + h * hs;
                float *dv = dbase + (size_t)t2 * C3 + 2 * C + h * hs;
                drow[t2] = inh__dot(d, v, hs);
                for (int i = 0; i < hs; i++) dv[i] += row[t2] * d[i];
            }
            /* softmax backward: dpre = att * (datt - sum(att * datt)) */
            float s = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) s += row[t2] * drow[t2];
            const float *q = base + (size_t)t * C3 + h * hs;
            float *dq = dbase + (size_t)t * C3 + h * hs;
            for (int t2 = 0; t2 <= t; t2++) {
                float dpre = row[t2] * (drow[t2] - s) * a->scale;
                const float *k = base + (size_t)t2 * C3 + C + h * hs;
                float *dk = dbase + (size_t)t2 * C3 + C + h * hs;
                for (int i = 0; i < hs; i++) { dq[i] += dpre * k[i]; dk[i] += dpre * q[i]; }
            }
        }
    }
}
INH__FN void inh__attention_backward_cpu(float *dqkv, float *datt, const float *dout, const float *qkv,
                                        const float *att, int B, int T, int C, int NH, float scale, int nt) {
    inh__att_args a = {NULL, (float *)att, datt, qkv, dout, dqkv, B, T, C, NH, scale};
    inh__parallel(nt, B * NH, inh__att_bwd_bh, &a);
}

/* The seam: every matmul and attention call of the model goes through these four functions.
   A faster CPU kernel or the CUDA companion (INHERITUNE_CUDA) replaces them here and nowhere
   else; the *_cpu versions above stay the tested oracle. */
#define inh__matmul_forward inh__matmul_forward_cpu
#define inh__matmul_backward inh__matmul_backward_cpu
#define inh__attention_forward inh__attention_forward_cpu
#define inh__attention_backward inh__attention_backward_cpu

/* tanh-approximation GELU */
#define INH__GELU_S 0.7978845608028654f   /* sqrt(2/pi) */
INH__FN void inh__gelu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(INH__GELU_S * (x + 0.044715f * x * x * x)));
    }
}
INH__FN void inh__gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], u = INH__GELU_S * (x + 0.044715f * x * x * x);
        float th = tanhf(u), sech2 = 1.0f - th * th;
        float g = 0.5f * (1.0f + th) + 0.5f * x * sech2 * INH__GELU_S * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += g * dout[i];
    }
}

INH__FN void inh__residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* softmax + cross-entropy over the real V of (N, Vp) logits, in place: logits become
   probabilities (padding columns 0), losses (N) = -log p[target]. */
INH__FN void inh__crossentropy_forward(float *logits, float *losses, const int *targets, int N, int V, int Vp) {
    for (int n = 0; n < N; n++) {
        float *l = logits + (size_t)n * Vp;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++) if (l[i] > mx) mx = l[i];
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += (double)expf(l[i] - mx);
        float logz = mx + (float)log(sum);
        losses[n] = logz - l[targets[n]];
        for (int i = 0; i < V; i++) l[i] = expf(l[i] - logz);
        for (int i = V; i < Vp; i++) l[i] = 0.0f;
    }
}
/* backward, in place: probabilities become dlogits = (p - onehot) * dloss */
INH__FN void inh__crossentropy_backward(float *probs, const int *targets, float dloss, int N, int Vp) {
    for (int n = 0; n < N; n++) {
        float *p = probs + (size_t)n * Vp;
        p[targets[n]] -= 1.0f;
        for (int i = 0; i < Vp; i++) p[i] *= dloss;
    }
}

/* ---------------------------------------------------------------------------------------------
   Model */

static const char *const inh__param_names[INH_NUM_PARAMS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};
INHDEF const char *inh_param_name(int i) { return i >= 0 && i < INH_NUM_PARAMS ? inh__param_names[i] : "?"; }
INHDEF int inh_param_is_2d(int i) { return i == 0 || i == 1 || i == 4 || i == 6 || i == 10 || i == 12; }
INHDEF int inh_param_is_bias(int i) { return i == 3 || i == 5 || i == 7 || i == 9 || i == 11 || i == 13 || i == 15; }

INHDEF void inh_config_default(inh_config *c, int maxT, int V, int L, int NH, int C) {
    memset(c, 0, sizeof *c);
    c->maxT = maxT; c->V = V; c->Vp = V > 0 ? (V + 127) / 128 * 128 : 0;
    c->L = L; c->NH = NH; c->C = C; c->bias = 1; c->layer_scale = 0;
}

/* sizes of the 16 tensors; 0 on overflow (every size is < 2^62 when each dimension < 2^24) */
INH__FN size_t inh__param_sizes(const inh_config *c, size_t *s) {
    size_t Vp = (size_t)c->Vp, C = (size_t)c->C, L = (size_t)c->L, T = (size_t)c->maxT, total = 0;
    s[0] = Vp * C; s[1] = T * C; s[2] = L * C; s[3] = L * C; s[4] = L * 3 * C * C; s[5] = L * 3 * C;
    s[6] = L * C * C; s[7] = L * C; s[8] = L * C; s[9] = L * C; s[10] = L * 4 * C * C; s[11] = L * 4 * C;
    s[12] = L * C * 4 * C; s[13] = L * C; s[14] = C; s[15] = C;
    for (int i = 0; i < INH_NUM_PARAMS; i++) total += s[i];
    return total;
}

INHDEF int inh_config_check(const inh_config *c, const char *what) {
    const int lim = 1 << 24;  /* no dimension anywhere near this: catches garbage headers */
    if (c->maxT <= 0 || c->V <= 0 || c->L <= 0 || c->NH <= 0 || c->C <= 0 || c->Vp <= 0 ||
        c->maxT >= lim || c->V >= lim || c->L >= 4096 || c->NH >= lim || c->C >= 65536 || c->Vp >= lim)
        return inh__fail("%s: bad model sizes maxT=%d V=%d Vp=%d L=%d NH=%d C=%d", what, c->maxT, c->V, c->Vp, c->L, c->NH, c->C);
    if (c->C % c->NH) return inh__fail("%s: %d heads do not divide the width C=%d", what, c->NH, c->C);
    if (c->Vp < c->V) return inh__fail("%s: padded vocabulary Vp=%d is smaller than V=%d", what, c->Vp, c->V);
    size_t s[INH_NUM_PARAMS];
    if (inh__param_sizes(c, s) > ((size_t)1 << 40)) return inh__fail("%s: model too large", what);
    return 0;
}

INH__FN void inh__point_params(inh_params *p, float *mem, const size_t *s) {
    float **t[INH_NUM_PARAMS] = {&p->wte, &p->wpe, &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb, &p->attprojw, &p->attprojb,
                                 &p->ln2w, &p->ln2b, &p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb, &p->lnfw, &p->lnfb};
    for (int i = 0; i < INH_NUM_PARAMS; i++) { *t[i] = mem; mem += s[i]; }
}

/* allocate parameters and gradients (zeroed) for a checked config */
INH__FN int inh__model_alloc(inh_model *m, const inh_config *c, const char *what) {
    memset(m, 0, sizeof *m);
    if (inh_config_check(c, what)) return -1;
    m->cfg = *c;
    m->num_params = inh__param_sizes(c, m->param_sizes);
    m->params_mem = INH__CALLOC(float, m->num_params);
    m->grads_mem = INH__CALLOC(float, m->num_params);
    m->drop_attn = INH__CALLOC(unsigned char, c->L);
    if (!m->params_mem || !m->grads_mem || !m->drop_attn) { inh_model_free(m); return -1; }
    inh__point_params(&m->params, m->params_mem, m->param_sizes);
    inh__point_params(&m->grads, m->grads_mem, m->param_sizes);
    m->mean_loss = -1.0f;
    m->threads = 1;
    return 0;
}

INHDEF int inh_model_init(inh_model *m, const inh_config *c, uint64_t seed) {
    if (inh__model_alloc(m, c, "model config")) return -1;
    inh_rng r;
    inh_rng_seed(&r, seed);
    float resid_std = 0.02f / sqrtf(2.0f * (float)c->L);  /* GPT-2: residual projections scaled */
    float *mem = m->params_mem;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {
        size_t n = m->param_sizes[i];
        if (inh_param_is_bias(i)) { mem += n; continue; }                      /* zeros */
        if (i == 2 || i == 8 || i == 14) { for (size_t j = 0; j < n; j++) mem[j] = 1.0f; mem += n; continue; }
        float std = (i == 6 || i == 12) ? resid_std : 0.02f;
        size_t real = (i == 0) ? (size_t)c->V * c->C : n;                    /* wte padding stays 0 */
        for (size_t j = 0; j < real; j++) mem[j] = std * inh_rng_normal(&r);
        mem += n;
    }
    return 0;
}

INHDEF void inh_model_free(inh_model *m) {
    INH_FREE(m->params_mem); INH_FREE(m->grads_mem); INH_FREE(m->m_mem); INH_FREE(m->v_mem);
    INH_FREE(m->acts_mem); INH_FREE(m->scratch_mem); INH_FREE(m->drop_attn);
    memset(m, 0, sizeof *m);
}

/* activation block for N = B*T positions at sequence length T (attention is (B,NH,T,T)) */
INH__FN int inh__acts_alloc(inh_model *m, int B, int T) {
    const inh_config *c = &m->cfg;
    size_t N = (size_t)B * T, L = (size_t)c->L, C = (size_t)c->C, NH = (size_t)c->NH;
    size_t att = (size_t)B * NH * T * T;
    size_t need = N * C + L * N * (C + 2) + L * N * 3 * C + L * N * C + L * att + L * N * C + L * N * (C + 2)
                + 2 * L * N * 4 * C + L * N * C + N * (C + 2) + N * (size_t)c->Vp + N;
    size_t scratch = 3 * N * C + N * 3 * C + att + 2 * N * 4 * C;   /* per-layer backward scratch */
    if (m->acts_mem && m->acts_capacity == N && m->T == T) return 0;
    INH_FREE(m->acts_mem); INH_FREE(m->scratch_mem);
    m->acts_mem = INH__ALLOC(float, need);
    m->scratch_mem = INH__ALLOC(float, scratch);
    if (!m->acts_mem || !m->scratch_mem) {
        INH_FREE(m->acts_mem); INH_FREE(m->scratch_mem); m->acts_mem = m->scratch_mem = NULL; m->acts_capacity = 0;
        return inh__fail("out of memory for activations (B=%d, T=%d)", B, T);
    }
    float *p = m->acts_mem;
    inh_acts *a = &m->acts;
#define INH__TAKE(ptr, n) do { a->ptr = p; p += (n); } while (0)
    INH__TAKE(encoded, N * C);
    INH__TAKE(ln1, L * N * C); INH__TAKE(ln1_mean, L * N); INH__TAKE(ln1_rstd, L * N);
    INH__TAKE(qkv, L * N * 3 * C); INH__TAKE(atty, L * N * C); INH__TAKE(att, L * att); INH__TAKE(res2, L * N * C);
    INH__TAKE(ln2, L * N * C); INH__TAKE(ln2_mean, L * N); INH__TAKE(ln2_rstd, L * N);
    INH__TAKE(fch, L * N * 4 * C); INH__TAKE(fch_gelu, L * N * 4 * C); INH__TAKE(res3, L * N * C);
    INH__TAKE(lnf, N * C); INH__TAKE(lnf_mean, N); INH__TAKE(lnf_rstd, N);
    INH__TAKE(logits, N * c->Vp); INH__TAKE(losses, N);
#undef INH__TAKE
    m->acts_capacity = N;
    m->T = T;
    return 0;
}

INH__FN float inh__attn_scale(const inh_config *c, int l) {
    float s = 1.0f / sqrtf((float)(c->C / c->NH));
    return c->layer_scale ? s / (float)(l + 1) : s;
}

INHDEF int inh_model_forward(inh_model *m, const int *inputs, const int *targets, int B, int T) {
    const inh_config *c = &m->cfg;
    if (B <= 0 || T <= 0) return inh__fail("batch B=%d and sequence T=%d must be positive", B, T);
    if (T > c->maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", T, c->maxT);
    for (int i = 0; i < B * T; i++) {
        if (inputs[i] < 0 || inputs[i] >= c->V) return inh__fail("input token %d at position %d is outside the vocabulary (V=%d)", inputs[i], i, c->V);
        if (targets && (targets[i] < 0 || targets[i] >= c->V)) return inh__fail("target token %d at position %d is outside the vocabulary (V=%d)", targets[i], i, c->V);
    }
    if (inh__acts_alloc(m, B, T)) return -1;
    m->B = B; m->T = T; m->inputs = inputs; m->targets = targets;
    int N = B * T, C = c->C, NH = c->NH, nt = m->threads;
    size_t NC = (size_t)N * C, att_n = (size_t)B * NH * T * T;
    inh_params *p = &m->params;
    inh_acts *a = &m->acts;
    int bias = c->bias;
    inh__encoder_forward(a->encoded, inputs, p->wte, p->wpe, B, T, C);
    for (int l = 0; l < c->L; l++) {
        const float *res = l == 0 ? a->encoded : a->res3 + (l - 1) * NC;
        float *ln1 = a->ln1 + l * NC, *qkv = a->qkv + l * 3 * NC, *atty = a->atty + l * NC;
        float *att = a->att + l * att_n, *res2 = a->res2 + l * NC, *ln2 = a->ln2 + l * NC;
        float *fch = a->fch + l * 4 * NC, *fch_gelu = a->fch_gelu + l * 4 * NC, *res3 = a->res3 + l * NC;
        size_t lc = (size_t)l * C;
        if (m->drop_attn[l]) {
            memcpy(res2, res, NC * sizeof(float));   /* attention sub-layer skipped: residual passes */
        } else {
            inh__layernorm_forward(ln1, a->ln1_mean + l * N, a->ln1_rstd + l * N, res, p->ln1w + lc, bias ? p->ln1b + lc : NULL, N, C);
            inh__matmul_forward(qkv, ln1, p->qkvw + lc * 3 * C, bias ? p->qkvb + lc * 3 : NULL, N, C, 3 * C, nt);
            inh__attention_forward(atty, att, qkv, B, T, C, NH, inh__attn_scale(c, l), nt);
            inh__matmul_forward(res2, atty, p->attprojw + lc * C, bias ? p->attprojb + lc : NULL, N, C, C, nt);
            inh__residual_forward(res2, res2, res, NC);
        }
        inh__layernorm_forward(ln2, a->ln2_mean + l * N, a->ln2_rstd + l * N, res2, p->ln2w + lc, bias ? p->ln2b + lc : NULL, N, C);
        inh__matmul_forward(fch, ln2, p->fcw + lc * 4 * C, bias ? p->fcb + lc * 4 : NULL, N, C, 4 * C, nt);
        inh__gelu_forward(fch_gelu, fch, 4 * NC);
        inh__matmul_forward(res3, fch_gelu, p->fcprojw + lc * 4 * C, bias ? p->fcprojb + lc : NULL, N, 4 * C, C, nt);
        inh__residual_forward(res3, res3, res2, NC);
    }
    const float *last = a->res3 + (size_t)(c->L - 1) * NC;
    inh__layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, last, p->lnfw, bias ? p->lnfb : NULL, N, C);
    inh__matmul_forward(a->logits, a->lnf, p->wte, NULL, N, C, c->Vp, nt);
    if (targets) {
        inh__crossentropy_forward(a->logits, a->losses, targets, N, c->V, c->Vp);
        double s = 0.0;
        for (int i = 0; i < N; i++) s += a->losses[i];
        m->mean_loss = (float)(s / N);
    } else {
        m->mean_loss = -1.0f;
    }
    return 0;
}

INHDEF void inh_model_zero_grad(inh_model *m) { memset(m->grads_mem, 0, m->num_params * sizeof(float)); }

INHDEF int inh_model_backward(inh_model *m, float loss_scale) {
    const inh_config *c = &m->cfg;
    if (!m->targets || m->mean_loss < 0) return inh__fail("backward needs a forward pass with targets first");
    int B = m->B, T = m->T, N = B * T, C = c->C, NH = c->NH, nt = m->threads, bias = c->bias;
    size_t NC = (size_t)N * C, att_n = (size_t)B * NH * T * T;
    inh_params *p = &m->params, *g = &m->grads;
    inh_acts *a = &m->acts;
    /* scratch: dres (running residual gradient), dln, datty, dqkv, datt, dfch, dfch_gelu */
    float *dres = m->scratch_mem, *dln = dres + NC, *datty = dln + NC, *dqkv = datty + NC;
    float *datt = dqkv + 3 * NC, *dfch = datt + att_n, *dfch_gelu = dfch + 4 * NC;
    inh__crossentropy_backward(a->logits, m->targets, loss_scale / (float)N, N, c->Vp);  /* logits := dlogits */
    memset(dln, 0, NC * sizeof(float));
    inh__matmul_backward(dln, g->wte, NULL, a->logits, a->lnf, p->wte, N, C, c->Vp, nt);
    memset(dres, 0, NC * sizeof(float));
    const float *last = a->res3 + (size_t)(c->L - 1) * NC;
    inh__layernorm_backward(dres, g->lnfw, bias ? g->lnfb : NULL, dln, last, p->lnfw, a->lnf_mean, a->lnf_rstd, N, C);
    for (int l = c->L - 1; l >= 0; l--) {
        const float *res = l == 0 ? a->encoded : a->res3 + (l - 1) * NC;
        size_t lc = (size_t)l * C;
        /* dres is the gradient of res3 (block output); MLP branch: res3 = res2 + fcproj(gelu(fc(ln2(res2)))) */
        memset(dfch_gelu, 0, 4 * NC * sizeof(float));
        inh__matmul_backward(dfch_gelu, g->fcprojw + lc * 4 * C, bias ? g->fcprojb + lc : NULL, dres,
                             a->fch_gelu + l * 4 * NC, p->fcprojw + lc * 4 * C, N, 4 * C, C, nt);
        memset(dfch, 0, 4 * NC * sizeof(float));
        inh__gelu_backward(dfch, a->fch + l * 4 * NC, dfch_gelu, 4 * NC);
        memset(dln, 0, NC * sizeof(float));
        inh__matmul_backward(dln, g->fcw + lc * 4 * C, bias ? g->fcb + lc * 4 : NULL, dfch, a->ln2 + l * NC,
                             p->fcw + lc * 4 * C, N, C, 4 * C, nt);
        inh__layernorm_backward(dres, g->ln2w + lc, bias ? g->ln2b + lc : NULL, dln, a->res2 + l * NC, p->ln2w + lc,
                                a->ln2_mean + l * N, a->ln2_rstd + l * N, N, C);
        if (m->drop_attn[l]) continue;   /* res2 = res: the gradient passes through unchanged */
        /* attention branch: res2 = res + attproj(attention(qkv(ln1(res)))) */
        memset(datty, 0, NC * sizeof(float));
        inh__matmul_backward(datty, g->attprojw + lc * C, bias ? g->attprojb + lc : NULL, dres, a->atty + l * NC,
                             p->attprojw + lc * C, N, C, C, nt);
        memset(dqkv, 0, 3 * NC * sizeof(float));
        inh__attention_backward(dqkv, datt, datty, a->qkv + l * 3 * NC, a->att + l * att_n, B, T, C, NH, inh__attn_scale(c, l), nt);
        memset(dln, 0, NC * sizeof(float));
        inh__matmul_backward(dln, g->qkvw + lc * 3 * C, bias ? g->qkvb + lc * 3 : NULL, dqkv, a->ln1 + l * NC,
                             p->qkvw + lc * 3 * C, N, C, 3 * C, nt);
        inh__layernorm_backward(dres, g->ln1w + lc, bias ? g->ln1b + lc : NULL, dln, res, p->ln1w + lc,
                                a->ln1_mean + l * N, a->ln1_rstd + l * N, N, C);
    }
    inh__encoder_backward(g->wte, g->wpe, dres, m->inputs, B, T, C);
    m->mean_loss = -1.0f;   /* the logits buffer now holds gradients: a second backward needs a new forward */
    return 0;
}

/* --- AdamW -------------------------------------------------------------------------------- */
INHDEF void inh_adamw_default(inh_adamw *o) {
    o->beta1 = 0.9f; o->beta2 = 0.95f; o->eps = 1e-8f; o->weight_decay = 0.1f; o->decay_all = 0; o->grad_clip = 1.0f;
}

/* sum of squares in 64 fixed chunks (chunking independent of thread count) */
typedef struct { const float *x; size_t n; double part[64]; } inh__sq_args;
static void inh__sumsq_chunks(void *p, int lo, int hi) {
    inh__sq_args *a = (inh__sq_args *)p;
    for (int k = lo; k < hi; k++) {
        size_t s = a->n * (size_t)k / 64, e = a->n * (size_t)(k + 1) / 64;
        double acc = 0.0;
        for (size_t i = s; i < e; i++) acc += (double)a->x[i] * a->x[i];
        a->part[k] = acc;
    }
}
INHDEF float inh_model_grad_norm(inh_model *m) {
    inh__sq_args a;
    a.x = m->grads_mem; a.n = m->num_params;
    inh__parallel(m->threads, 64, inh__sumsq_chunks, &a);
    double s = 0.0;
    for (int k = 0; k < 64; k++) s += a.part[k];
    return (float)sqrt(s);
}

typedef struct { float *w, *g, *m, *v; size_t n; const inh_adamw *o; float lr, wd, scale, bc1, bc2; } inh__adam_args;
static void inh__adam_chunks(void *p, int lo, int hi) {   /* element-wise: any split gives the same bits */
    inh__adam_args *a = (inh__adam_args *)p;
    const inh_adamw *o = a->o;
    size_t s = a->n * (size_t)lo / 64, e = a->n * (size_t)hi / 64;
    for (size_t j = s; j < e; j++) {
        float gj = a->g[j] * a->scale;
        a->m[j] = o->beta1 * a->m[j] + (1.0f - o->beta1) * gj;
        a->v[j] = o->beta2 * a->v[j] + (1.0f - o->beta2) * gj * gj;
        float mhat = a->m[j] / a->bc1, vhat = a->v[j] / a->bc2;
        a->w[j] -= a->lr * (mhat / (sqrtf(vhat) + o->eps) + a->wd * a->w[j]);
    }
}
INHDEF int inh_model_update(inh_model *m, const inh_adamw *o, float lr, int t, float grad_norm) {
    if (!m->m_mem) {
        m->m_mem = INH__CALLOC(float, m->num_params);
        m->v_mem = INH__CALLOC(float, m->num_params);
        if (!m->m_mem || !m->v_mem) { INH_FREE(m->m_mem); INH_FREE(m->v_mem); m->m_mem = m->v_mem = NULL; return -1; }
    }
    inh__adam_args a;
    a.o = o; a.lr = lr;
    a.scale = (o->grad_clip > 0.0f && grad_norm > o->grad_clip) ? o->grad_clip / (grad_norm + 1e-6f) : 1.0f;
    a.bc1 = 1.0f - powf(o->beta1, (float)t);
    a.bc2 = 1.0f - powf(o->beta2, (float)t);
    size_t off = 0;
    for (int i = 0; i < INH_NUM_PARAMS; off += m->param_sizes[i], i++) {
        if (!m->cfg.bias && inh_param_is_bias(i)) continue;   /* absent tensors stay zero */
        a.w = m->params_mem + off; a.g = m->grads_mem + off; a.m = m->m_mem + off; a.v = m->v_mem + off;
        a.n = m->param_sizes[i];
        a.wd = (o->decay_all || inh_param_is_2d(i)) ? o->weight_decay : 0.0f;
        inh__parallel(m->threads, 64, inh__adam_chunks, &a);
    }
    return 0;
}

/* --- sampling ------------------------------------------------------------------------------ */
INH__FN int inh__sample_logits(const float *logits, int V, float temperature, int top_k, inh_rng *rng) {
    int best = 0;
    for (int i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    if (temperature <= 0.0f) return best;
    float cut = -INFINITY;
    if (top_k > 0 && top_k < V) {   /* k-th largest by repeated selection over a small copy */
        float *top = INH__ALLOC(float, top_k);
        if (!top) return best;
        int n = 0;
        for (int i = 0; i < V; i++) {
            if (n < top_k) { top[n++] = logits[i]; continue; }
            int mi = 0;
            for (int j = 1; j < n; j++) if (top[j] < top[mi]) mi = j;
            if (logits[i] > top[mi]) top[mi] = logits[i];
        }
        cut = top[0];
        for (int j = 1; j < n; j++) if (top[j] < cut) cut = top[j];
        INH_FREE(top);
    }
    double sum = 0.0, mx = logits[best];
    for (int i = 0; i < V; i++) if (logits[i] >= cut) sum += exp((logits[i] - mx) / temperature);
    double u = inh_rng_uniform(rng) * sum, acc = 0.0;
    for (int i = 0; i < V; i++) {
        if (logits[i] < cut) continue;
        acc += exp((logits[i] - mx) / temperature);
        if (acc >= u) return i;
    }
    return best;
}

INHDEF int inh_model_generate(inh_model *m, const int *prompt, int n_prompt, int n_new,
                              float temperature, int top_k, inh_rng *rng, int *out) {
    const inh_config *c = &m->cfg;
    if (n_prompt < 1) return inh__fail("generation needs at least one prompt token");
    for (int i = 0; i < n_prompt; i++) {
        if (prompt[i] < 0 || prompt[i] >= c->V) return inh__fail("prompt token %d is outside the vocabulary (V=%d)", prompt[i], c->V);
        out[i] = prompt[i];
    }
    int n = n_prompt;
    for (int k = 0; k < n_new; k++) {
        int start = n > c->maxT ? n - c->maxT : 0, T = n - start;   /* slide the window past maxT */
        if (inh_model_forward(m, out + start, NULL, 1, T)) return -1;
        out[n++] = inh__sample_logits(m->acts.logits + (size_t)(T - 1) * c->Vp, c->V, temperature, top_k, rng);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   Checkpoint formats */

#define INH__MODEL_MAGIC 20240326
#define INH__MODEL_VERSION 3
#define INH__FLAG_NO_BIAS 1
#define INH__FLAG_LAYER_SCALE 2

/* parse and check a 256-int32 llm.c model header; nothing is allocated from unchecked sizes */
INH__FN int inh__model_header(const unsigned char *h, size_t file_len, const char *path, inh_config *c, size_t *expect_len) {
    int32_t v[16];
    for (int i = 0; i < 16; i++) v[i] = (int32_t)inh__rd32(h + 4 * i);
    if (v[0] != INH__MODEL_MAGIC) return inh__fail("%s: not an llm.c model file (magic %d, want %d)", path, v[0], INH__MODEL_MAGIC);
    if (v[1] != INH__MODEL_VERSION)
        return inh__fail("%s: model file version %d is not supported (want %d, fp32)", path, v[1], INH__MODEL_VERSION);
    memset(c, 0, sizeof *c);
    c->maxT = v[2]; c->V = v[3]; c->L = v[4]; c->NH = v[5]; c->C = v[6]; c->Vp = v[7];
    c->bias = !(v[8] & INH__FLAG_NO_BIAS);
    c->layer_scale = !!(v[8] & INH__FLAG_LAYER_SCALE);
    if (v[8] & ~(INH__FLAG_NO_BIAS | INH__FLAG_LAYER_SCALE)) return inh__fail("%s: unknown flags 0x%x in header slot 8", path, (unsigned)v[8]);
    if (inh_config_check(c, path)) return -1;
    size_t s[INH_NUM_PARAMS];
    *expect_len = 1024 + inh__param_sizes(c, s) * sizeof(float);
    if (file_len != *expect_len)
        return inh__fail("%s: file is %zu bytes but its header (maxT=%d V=%d L=%d NH=%d C=%d Vp=%d) needs %zu%s", path,
                         file_len, c->maxT, c->V, c->L, c->NH, c->C, c->Vp, *expect_len, file_len < *expect_len ? " (truncated)" : "");
    return 0;
}

INH__FN int inh__file_size(FILE *f, const char *path, size_t *len) {
    if (fseek(f, 0, SEEK_END) != 0) return inh__fail("%s: cannot seek", path);
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) return inh__fail("%s: cannot seek", path);
    *len = (size_t)n;
    return 0;
}

/* little-endian float arrays: the bytes are the values on every little-endian host */
INH__FN int inh__host_is_le(void) { const uint16_t one = 1; return *(const unsigned char *)&one == 1; }
INH__FN void inh__swap32(void *p, size_t n) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i++, b += 4) { unsigned char t = b[0]; b[0] = b[3]; b[3] = t; t = b[1]; b[1] = b[2]; b[2] = t; }
}

INHDEF int inh_model_load(inh_model *m, const char *path) {
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[1024];
    size_t len, expect;
    inh_config c;
    if (inh__file_size(f, path, &len)) { fclose(f); return -1; }
    if (len < sizeof h) { fclose(f); return inh__fail("%s: %zu bytes is too short for a model header (1024 bytes; truncated?)", path, len); }
    if (fread(h, 1, sizeof h, f) != sizeof h) { fclose(f); return inh__fail("%s: read error in header", path); }
    if (inh__model_header(h, len, path, &c, &expect) || inh__model_alloc(m, &c, path)) { fclose(f); return -1; }
    size_t got = fread(m->params_mem, sizeof(float), m->num_params, f);
    fclose(f);
    if (got != m->num_params) { inh_model_free(m); return inh__fail("%s: read error after %zu of %zu parameters", path, got, expect); }
    if (!inh__host_is_le()) inh__swap32(m->params_mem, m->num_params);
    return 0;
}

INH__FN void inh__model_header_write(const inh_config *c, unsigned char *h) {
    memset(h, 0, 1024);
    int32_t v[9] = {INH__MODEL_MAGIC, INH__MODEL_VERSION, c->maxT, c->V, c->L, c->NH, c->C, c->Vp,
                    (c->bias ? 0 : INH__FLAG_NO_BIAS) | (c->layer_scale ? INH__FLAG_LAYER_SCALE : 0)};
    for (int i = 0; i < 9; i++) inh__wr32(h + 4 * i, (uint32_t)v[i]);
}

/* write n floats little-endian */
INH__FN void inh__wfloats(inh__wfile *w, const float *x, size_t n) {
    if (inh__host_is_le()) { inh__wwrite(w, x, n * sizeof(float)); return; }
    float buf[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(buf, x + i, k * sizeof(float));
        inh__swap32(buf, k);
        inh__wwrite(w, buf, k * sizeof(float));
    }
}

INHDEF int inh_model_save(const inh_model *m, const char *path) {
    unsigned char h[1024];
    inh__wfile w;
    inh__model_header_write(&m->cfg, h);
    if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    inh__wfloats(&w, m->params_mem, m->num_params);  /* bias-free models hold zero biases already */
    return inh__wclose(&w);
}

/* ---------------------------------------------------------------------------------------------
   Data */

#define INH__SHARD_MAGIC 20240520

INHDEF int inh_data_open(inh_data *d, const char *path, int V) {
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[1024];
    size_t len;
    if (inh__file_size(f, path, &len)) { fclose(f); return -1; }
    if (len < sizeof h || fread(h, 1, sizeof h, f) != sizeof h) { fclose(f); return inh__fail("%s: too short for a token shard header (1024 bytes)", path); }
    uint32_t magic = inh__rd32(h), version = inh__rd32(h + 4), ntok = inh__rd32(h + 8);
    if (magic != INH__SHARD_MAGIC) { fclose(f); return inh__fail("%s: not an llm.c token shard (magic %u, want %d)", path, magic, INH__SHARD_MAGIC); }
    if (version != 1) { fclose(f); return inh__fail("%s: token shard version %u is not supported (want 1)", path, version); }
    if (len != 1024 + (size_t)ntok * 2) {
        fclose(f);
        return inh__fail("%s: header says %u tokens (%zu bytes) but the file has %zu bytes", path, ntok, 1024 + (size_t)ntok * 2, len);
    }
    d->tokens = INH__ALLOC(uint16_t, ntok);
    if (!d->tokens) { fclose(f); return -1; }
    size_t got = fread(d->tokens, 2, ntok, f);
    fclose(f);
    if (got != ntok) { inh_data_close(d); return inh__fail("%s: read error after %zu of %u tokens", path, got, ntok); }
    if (!inh__host_is_le())
        for (size_t i = 0; i < got; i++) d->tokens[i] = (uint16_t)(d->tokens[i] >> 8 | d->tokens[i] << 8);
    d->n = ntok;
    if (V > 0 && inh_data_check(d, V)) { inh_data_close(d); return -1; }
    return 0;
}

INHDEF int inh_data_check(const inh_data *d, int V) {
    for (size_t i = 0; i < d->n; i++)
        if (d->tokens[i] >= V) return inh__fail("%s: token %d at index %zu is outside the model's vocabulary (V=%d)", d->path, d->tokens[i], i, V);
    return 0;
}

INHDEF void inh_data_close(inh_data *d) { INH_FREE(d->tokens); d->tokens = NULL; d->n = 0; }
INHDEF void inh_data_reset(inh_data *d) { d->pos = 0; }

INHDEF int inh_data_next(inh_data *d, int B, int T, int *inputs, int *targets) {
    size_t need = (size_t)B * T + 1;
    if (B <= 0 || T <= 0) return inh__fail("%s: batch B=%d and sequence T=%d must be positive", d->path, B, T);
    if (d->n < (d->shuffle ? (size_t)T + 1 : need))
        return inh__fail("%s: %zu tokens cannot fill a batch of B=%d x T=%d (+1) tokens", d->path, d->n, B, T);
    if (d->shuffle) {
        size_t range = d->n - (size_t)T;   /* window start in [0, n-T-1] */
        for (int b = 0; b < B; b++) {
            size_t s = (size_t)(inh_rng_u64(&d->rng) % range);
            for (int t = 0; t < T; t++) { inputs[b * T + t] = d->tokens[s + t]; targets[b * T + t] = d->tokens[s + t + 1]; }
        }
        return 0;
    }
    if (d->pos + need > d->n) d->pos = 0;
    const uint16_t *p = d->tokens + d->pos;
    for (size_t i = 0; i + 1 < need; i++) { inputs[i] = p[i]; targets[i] = p[i + 1]; }
    d->pos += need - 1;
    return 0;
}

INHDEF int inh_data_write(const char *path, const int *ids, size_t n) {
    unsigned char h[1024];
    inh__wfile w;
    if (n > 0xFFFFFFFFu) return inh__fail("%s: %zu tokens do not fit a shard header", path, n);
    memset(h, 0, sizeof h);
    inh__wr32(h, INH__SHARD_MAGIC); inh__wr32(h + 4, 1); inh__wr32(h + 8, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] > 65535) return inh__fail("%s: token %d at index %zu does not fit uint16", path, ids[i], i);
    if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    for (size_t i = 0; i < n; i++) {
        unsigned char b[2] = {(unsigned char)ids[i], (unsigned char)(ids[i] >> 8)};
        inh__wwrite(&w, b, 2);
    }
    return inh__wclose(&w);
}

INHDEF int inh_synth_corpus(int *ids, size_t n, int V, uint64_t seed) {
    if (V < 16 || V > 65536) return inh__fail("synthetic corpus: vocabulary %d must be in 16..65536", V);
    inh_rng r;
    int content = V - 2, eot = V - 1, sep = V - 2;
    int *next = INH__ALLOC(int, content);
    if (!next) return -1;
    inh_rng_seed(&r, seed);
    for (int i = 0; i < content; i++) next[i] = (int)(inh_rng_u64(&r) % (uint64_t)content);
    size_t i = 0;
    while (i < n) {
        ids[i++] = eot;
        for (int seg = 0; seg < 6 && i < n; seg++) {
            if (seg % 2 == 0) {          /* copy segment: k tokens, separator, the same k tokens */
                int k = 4 + (int)(inh_rng_u64(&r) % 9);
                size_t start = i;
                for (int j = 0; j < k && i < n; j++) ids[i++] = (int)(inh_rng_u64(&r) % (uint64_t)content);
                if (i < n) ids[i++] = sep;
                for (int j = 0; j < k && i < n; j++, i++) ids[i] = ids[start + j];
            } else {                     /* bigram segment */
                int len = 8 + (int)(inh_rng_u64(&r) % 17), t = (int)(inh_rng_u64(&r) % (uint64_t)content);
                for (int j = 0; j < len && i < n; j++) {
                    ids[i++] = t;
                    t = inh_rng_uniform(&r) < 0.9f ? next[t] : (int)(inh_rng_u64(&r) % (uint64_t)content);
                }
            }
        }
    }
    INH_FREE(next);
    return 0;
}

INHDEF int inh_eval_loss(inh_model *m, inh_data *d, int B, int T, int nbatches, float *loss) {
    size_t saved = d->pos;
    int shuffle = d->shuffle, rc = 0;
    int *x = INH__ALLOC(int, (size_t)B * T), *y = INH__ALLOC(int, (size_t)B * T);
    double sum = 0.0;
    if (!x || !y || nbatches <= 0) { rc = x && y ? inh__fail("%s: number of eval batches must be positive", d->path) : -1; goto done; }
    d->pos = 0; d->shuffle = 0;
    for (int i = 0; i < nbatches && !rc; i++) {
        rc = inh_data_next(d, B, T, x, y);
        if (!rc) rc = inh_model_forward(m, x, y, B, T);
        sum += m->mean_loss;
    }
    *loss = (float)(sum / nbatches);
done:
    d->pos = saved; d->shuffle = shuffle;
    INH_FREE(x); INH_FREE(y);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   Training */

INHDEF void inh_train_opts_default(inh_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->B = 4; o->T = 64; o->steps = 100; o->accum = 1;
    o->lr = 3e-4f; o->min_lr = 0.0f; o->warmup = 0; o->schedule = INH_SCHEDULE_COSINE;
    inh_adamw_default(&o->opt);
    o->seed = 1337; o->shuffle = 1;
}

INHDEF float inh_lr_at(const inh_train_opts *o, int step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    if (o->schedule == INH_SCHEDULE_CONSTANT) return o->lr;
    int span = o->steps - o->warmup;
    if (span <= 1) return o->lr;
    double frac = (double)(step - o->warmup) / (double)(span - 1);
    if (frac > 1.0) frac = 1.0;
    double coeff = 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
    return (float)(o->min_lr + coeff * (o->lr - o->min_lr));
}

INHDEF int inh_trainer_init(inh_trainer *t, inh_model *m, inh_data *train, const inh_train_opts *o) {
    memset(t, 0, sizeof *t);
    t->model = m; t->train = train; t->o = *o;
    if (o->B <= 0 || o->T <= 0 || o->accum <= 0 || o->steps < 0)
        return inh__fail("batch %d, sequence %d, accumulation %d and steps %d must be positive", o->B, o->T, o->accum, o->steps);
    if (o->T > m->cfg.maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", o->T, m->cfg.maxT);
    if (train->n < (size_t)o->T + 1 || (!o->shuffle && train->n < (size_t)o->B * o->T + 1))
        return inh__fail("%s: %zu tokens cannot fill a batch of B=%d x T=%d (+1) tokens", train->path, train->n, o->B, o->T);
    t->inputs = INH__ALLOC(int, (size_t)o->B * o->T);
    t->targets = INH__ALLOC(int, (size_t)o->B * o->T);
    if (!t->inputs || !t->targets) { inh_trainer_free(t); return -1; }
    train->shuffle = o->shuffle;
    inh_rng_seed(&train->rng, o->seed);
    train->pos = 0;
    return 0;
}

INHDEF void inh_trainer_free(inh_trainer *t) { INH_FREE(t->inputs); INH_FREE(t->targets); t->inputs = t->targets = NULL; }

INHDEF int inh_trainer_step(inh_trainer *t, inh_step_info *info) {
    double t0 = inh_now(), loss = 0.0;
    inh_model *m = t->model;
    const inh_train_opts *o = &t->o;
    inh_model_zero_grad(m);
    for (int k = 0; k < o->accum; k++) {
        if (inh_data_next(t->train, o->B, o->T, t->inputs, t->targets)) return -1;
        if (inh_model_forward(m, t->inputs, t->targets, o->B, o->T)) return -1;
        loss += m->mean_loss;
        if (inh_model_backward(m, 1.0f / (float)o->accum)) return -1;
    }
    memset(info, 0, sizeof *info);
    info->step = t->step;
    info->loss = (float)(loss / o->accum);
    info->lr = inh_lr_at(o, t->step);
    info->grad_norm = inh_model_grad_norm(m);
    if (!isfinite(info->loss) || !isfinite(info->grad_norm)) {
        info->skipped = 1;   /* never let a NaN or Inf reach the weights */
    } else if (inh_model_update(m, &o->opt, info->lr, t->step + 1, info->grad_norm)) {
        return -1;
    }
    t->step++;
    info->seconds = inh_now() - t0;
    return 0;
}

/* Training state: 256 int32 header, then params, AdamW m, v (fp32, little-endian).
   [0] magic 20241123, [1] version 1, [2..8] maxT V L NH C Vp flags (as the model header),
   [9] step, [10] B, [11] T, [12] steps, [13] accum, [14] warmup, [15] schedule, [16] shuffle,
   [17] decay_all, [18..25] lr min_lr beta1 beta2 eps weight_decay grad_clip (float bits),
   [26,27] seed, [28,29] data rng state, [30,31] data position (uint64 as lo, hi), [32] has moments */
#define INH__STATE_MAGIC 20241123
INH__FN uint32_t inh__fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
INH__FN float inh__bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

INHDEF int inh_trainer_save_state(const inh_trainer *t, const char *path) {
    const inh_model *m = t->model;
    const inh_train_opts *o = &t->o;
    unsigned char h[1024];
    inh__model_header_write(&m->cfg, h);   /* slots 2..8 as in the model file */
    uint32_t v[33];
    v[0] = INH__STATE_MAGIC; v[1] = 1;
    for (int i = 2; i <= 8; i++) v[i] = inh__rd32(h + 4 * i);
    v[9] = (uint32_t)t->step; v[10] = (uint32_t)o->B; v[11] = (uint32_t)o->T; v[12] = (uint32_t)o->steps;
    v[13] = (uint32_t)o->accum; v[14] = (uint32_t)o->warmup; v[15] = (uint32_t)o->schedule; v[16] = (uint32_t)o->shuffle;
    v[17] = (uint32_t)o->opt.decay_all;
    v[18] = inh__fbits(o->lr); v[19] = inh__fbits(o->min_lr); v[20] = inh__fbits(o->opt.beta1); v[21] = inh__fbits(o->opt.beta2);
    v[22] = inh__fbits(o->opt.eps); v[23] = inh__fbits(o->opt.weight_decay); v[24] = inh__fbits(o->opt.grad_clip); v[25] = 0;
    v[26] = (uint32_t)o->seed; v[27] = (uint32_t)(o->seed >> 32);
    v[28] = (uint32_t)t->train->rng.s; v[29] = (uint32_t)(t->train->rng.s >> 32);
    v[30] = (uint32_t)t->train->pos; v[31] = (uint32_t)((uint64_t)t->train->pos >> 32);
    v[32] = m->m_mem != NULL;
    memset(h, 0, sizeof h);
    for (int i = 0; i < 33; i++) inh__wr32(h + 4 * i, v[i]);
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    inh__wfloats(&w, m->params_mem, m->num_params);
    if (m->m_mem) { inh__wfloats(&w, m->m_mem, m->num_params); inh__wfloats(&w, m->v_mem, m->num_params); }
    return inh__wclose(&w);
}

INHDEF int inh_trainer_load_state(inh_trainer *t, inh_model *m, inh_data *train, const char *path) {
    unsigned char *buf = NULL, mh[1024];
    size_t len = 0, expect;
    uint32_t v[33];
    inh_config c;
    inh_train_opts o;
    if (inh__read_file(path, &buf, &len, 0)) return -1;
    if (len < 1024) { INH_FREE(buf); return inh__fail("%s: too short for a training-state header (truncated?)", path); }
    for (int i = 0; i < 33; i++) v[i] = inh__rd32(buf + 4 * i);
    if (v[0] != INH__STATE_MAGIC || v[1] != 1) { INH_FREE(buf); return inh__fail("%s: not an inheritune training-state file (magic %u version %u)", path, v[0], v[1]); }
    memcpy(mh, buf, 1024);               /* reuse the model-header checks on slots 2..8 */
    inh__wr32(mh, INH__MODEL_MAGIC); inh__wr32(mh + 4, INH__MODEL_VERSION);
    size_t nmat = v[32] ? 3 : 1;
    if (inh__model_header(mh, 1024 + (len - 1024) / nmat, path, &c, &expect) || (len - 1024) % nmat) {
        INH_FREE(buf);
        return inh__fail("%s: training-state file size %zu does not match its header (truncated?)", path, len);
    }
    inh_train_opts_default(&o);
    o.B = (int)v[10]; o.T = (int)v[11]; o.steps = (int)v[12]; o.accum = (int)v[13]; o.warmup = (int)v[14];
    o.schedule = (int)v[15]; o.shuffle = (int)v[16]; o.opt.decay_all = (int)v[17];
    o.lr = inh__bitsf(v[18]); o.min_lr = inh__bitsf(v[19]); o.opt.beta1 = inh__bitsf(v[20]); o.opt.beta2 = inh__bitsf(v[21]);
    o.opt.eps = inh__bitsf(v[22]); o.opt.weight_decay = inh__bitsf(v[23]); o.opt.grad_clip = inh__bitsf(v[24]);
    o.seed = (uint64_t)v[26] | (uint64_t)v[27] << 32;
    if (inh__model_alloc(m, &c, path)) { INH_FREE(buf); return -1; }
    size_t np = m->num_params;
    memcpy(m->params_mem, buf + 1024, np * sizeof(float));
    if (v[32]) {
        m->m_mem = INH__ALLOC(float, np); m->v_mem = INH__ALLOC(float, np);
        if (!m->m_mem || !m->v_mem) { INH_FREE(buf); inh_model_free(m); return -1; }
        memcpy(m->m_mem, buf + 1024 + np * 4, np * sizeof(float));
        memcpy(m->v_mem, buf + 1024 + 2 * np * 4, np * sizeof(float));
    }
    INH_FREE(buf);
    if (!inh__host_is_le()) {
        inh__swap32(m->params_mem, np);
        if (m->m_mem) { inh__swap32(m->m_mem, np); inh__swap32(m->v_mem, np); }
    }
    if (inh_trainer_init(t, m, train, &o)) { inh_model_free(m); return -1; }
    t->step = (int)v[9];
    train->rng.s = (uint64_t)v[28] | (uint64_t)v[29] << 32;
    train->pos = (size_t)((uint64_t)v[30] | (uint64_t)v[31] << 32);
    if (train->pos > train->n) train->pos = 0;
    return 0;
}

#include "parts/tokenizer_impl.h"   /* TEMPORARY: inlined before commit of issue 3 */

#endif /* INHERITUNE_IMPLEMENTATION_DONE */
#endif /* INHERITUNE_IMPLEMENTATION */
