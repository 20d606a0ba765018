/* tests/test.h - the few macros every tests/test_*.c uses. Each CHECK is one counted assertion;
   the runner prints "N passed, N failed" (", N skipped") as its closing line. */
#ifndef INH_TEST_H
#define INH_TEST_H
#include <stdio.h>
#include <math.h>
#include <string.h>

static int test_passed, test_failed, test_skipped;

#define CHECK(cond, ...) do { \
    if (cond) test_passed++; \
    else { test_failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol, what) do { \
    double a_ = (double)(a), b_ = (double)(b); \
    CHECK(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_), "%s: got %.9g want %.9g (atol %g rtol %g)", what, a_, b_, (double)(atol), (double)(rtol)); \
} while (0)

#define SKIP(...) do { test_skipped++; printf("skip: "); printf(__VA_ARGS__); printf("\n"); } while (0)

/* The command-line tool the CLI tests run: TOOL is the command, TOOL_FILE the file behind it (the
   Windows build's tests run "wine build/win/inheritune.exe" from Linux: make test-windows). */
#ifndef TOOL
#define TOOL "build/inheritune"
#endif
#ifndef TOOL_FILE
#define TOOL_FILE TOOL
#endif
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static int test_file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* ../shared/data, or NULL (with one clear line) when the folder is absent */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static const char *test_shared_dir(void) {
    static const char *d = "../shared/data";
    FILE *f = fopen("../shared/data/README.md", "rb");   /* (plain C: the tests build for every platform) */
    if (f) fclose(f);
    return f ? d : NULL;
}

#ifndef TEST_BUILD
#define TEST_BUILD ""   /* the Makefile names other builds of a test, e.g. " (portable build)" */
#endif
static int test_summary(const char *name) {
    printf("%s%s: %d passed, %d failed", name, TEST_BUILD, test_passed, test_failed);
    if (test_skipped) printf(", %d skipped", test_skipped);
    printf("\n");
    return test_failed ? 1 : 0;
}
/* ---- helpers for tests that include the implementation -------------------------------------- */
#ifdef INHERITUNE_IMPLEMENTATION
#include <stdlib.h>
#if !defined(_WIN32) && !defined(__wasi__)
#include <sys/wait.h>
#endif

/* The tensor bundles the reference scripts in tests/ref write: magic "INHREF1\0", then records of
   uint32 name length, name, uint32 ndim, int32 dims, float32 data. */
typedef struct { char name[96]; int ndim, dims[4]; size_t n; float *data; } rec;
typedef struct { rec r[128]; int n; } bundle;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static int bundle_load(bundle *b, const char *path) {
    unsigned char *buf;
    size_t len, off = 8;
    memset(b, 0, sizeof *b);
    if (inh__read_file(path, &buf, &len, 0) || len < 8 || memcmp(buf, "INHREF1", 8)) return -1;
    while (off + 8 <= len && b->n < 128) {
        rec *r = &b->r[b->n];
        uint32_t nl = inh__rd32(buf + off); off += 4;
        if (nl >= sizeof r->name || off + nl + 4 > len) break;
        memcpy(r->name, buf + off, nl); off += nl;
        r->ndim = (int)inh__rd32(buf + off); off += 4;
        r->n = 1;
        for (int i = 0; i < r->ndim && i < 4; i++) { r->dims[i] = (int)inh__rd32(buf + off); off += 4; r->n *= (size_t)r->dims[i]; }
        if (off + r->n * 4 > len) break;
        r->data = (float *)malloc(r->n * 4 + 4);
        memcpy(r->data, buf + off, r->n * 4); off += r->n * 4;
        if (!inh__host_is_le()) inh__swap32(r->data, r->n);   /* the bundles are little-endian, as every format here */
        b->n++;
    }
    free(buf);
    return off == len ? 0 : -1;
}
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static const rec *bundle_find(const bundle *b, const char *name) {   /* NULL if absent, quietly */
    for (int i = 0; i < b->n; i++) if (!strcmp(b->r[i].name, name)) return &b->r[i];
    return NULL;
}
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static const rec *bundle_get(const bundle *b, const char *name) {
    const rec *r = bundle_find(b, name);
    if (!r) printf("reference record %s missing\n", name);
    return r;
}
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static void bundle_free(bundle *b) { for (int i = 0; i < b->n; i++) free(b->r[i].data); }

/* Delete a directory and everything in it (0, or -1 if something stayed); absent is fine. Through
   the library's platform section, so that it runs on every platform the tests build for. */
typedef struct { const char *dir; int rc; } test_rm_ctx;
static int test_rmtree(const char *path);
static int test_rm_one(void *u, const char *name) {
    test_rm_ctx *c = (test_rm_ctx *)u;
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", c->dir, name);
    c->rc |= test_rmtree(p);
    return 0;
}
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static int test_rmtree(const char *path) {
    int kind = inh__os_kind(path);
    if (kind == 0) return 0;
    if (kind == 1) return inh__os_remove(path) == 0 ? 0 : -1;
    test_rm_ctx c = {path, 0};
    inh__os_dir_each(path, test_rm_one, &c);
    return c.rc | (inh__os_rmdir(path) == 0 ? 0 : -1);
}

/* Run a shell command, stdout and stderr into out; the exit status, or 128 + signal. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static int run(const char *cmd, char *out, size_t cap) {
    char full[4096];
    size_t n = 0;
    out[0] = 0;
#if defined(__wasi__) || defined(INH_NO_STDIO)
    (void)full; (void)n; (void)cmd; (void)cap;
    return -1;   /* no processes here */
#else
    snprintf(full, sizeof full, "%s 2>&1", cmd);
#if defined(_WIN32)
    FILE *p = _popen(full, "r");
#else
    FILE *p = popen(full, "r");
#endif
    if (!p) return -1;
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);
        if (!got) break;
        n += got;
    }
    out[n] = 0;
#if defined(_WIN32)
    return _pclose(p);   /* the exit status itself */
#else
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
#endif
#endif
}
#endif

#endif
