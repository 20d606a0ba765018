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

/* @@DECLARATIONS@@ */
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

/* @@IMPLEMENTATION@@ */
#include "parts/tokenizer_impl.h"   /* TEMPORARY: inlined before commit of issue 3 */

#endif /* INHERITUNE_IMPLEMENTATION_DONE */
#endif /* INHERITUNE_IMPLEMENTATION */
