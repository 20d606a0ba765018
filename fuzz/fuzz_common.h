/* fuzz/fuzz_common.h - helpers shared by the libFuzzer harnesses (fuzz/fuzz_*.c).

   The parsers take paths, so each harness writes its input to files in a private directory
   (/dev/shm or /tmp, with the pid in the name, removed at exit) and calls the loader. A -1
   return is a correct answer to bad input; only sanitizer reports and FZ_CHECK failures are
   bugs. Include after inheritune.h (with its implementation). */
#ifndef INH_FUZZ_COMMON_H
#define INH_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>

#if defined(__GNUC__) || defined(__clang__)
#define FZ_FN static __attribute__((unused))
#else
#define FZ_FN static
#endif

/* a property the code under test must keep: report and abort, so libFuzzer saves the input.
   The message goes to stderr and, since fuzz/run.sh closes stderr (-close_fd_mask=3), also
   through the sanitizers' report channel, which libFuzzer keeps open. */
#if defined(__GNUC__) || defined(__clang__)
extern void __sanitizer_report_error_summary(const char *summary) __attribute__((weak));
#define FZ_REPORT(msg) do { if (__sanitizer_report_error_summary) __sanitizer_report_error_summary(msg); } while (0)
#else
#define FZ_REPORT(msg) ((void)(msg))
#endif
#define FZ_CHECK(cond, ...) do { \
    if (!(cond)) { \
        char fz_msg_[1600]; \
        int fz_k_ = snprintf(fz_msg_, sizeof fz_msg_, "FZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
        if (fz_k_ > 0 && (size_t)fz_k_ < sizeof fz_msg_) fz_k_ += snprintf(fz_msg_ + fz_k_, sizeof fz_msg_ - (size_t)fz_k_, __VA_ARGS__); \
        if (fz_k_ > 0 && (size_t)fz_k_ < sizeof fz_msg_) snprintf(fz_msg_ + fz_k_, sizeof fz_msg_ - (size_t)fz_k_, " (inh_error: %s)", inh_error()); \
        fprintf(stderr, "\n%s\n", fz_msg_); \
        FZ_REPORT(fz_msg_); \
        fz_cleanup(); \
        abort(); \
    } \
} while (0)

static char fz_dir[256];

FZ_FN void fz_cleanup(void) {
    char cmd[400];
    if (!fz_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* the harness's private directory, created on first use: under $FUZZ_TMPDIR (fuzz/run.sh sets
   it and removes it afterwards, also after a crash), else /dev/shm, else /tmp */
FZ_FN const char *fz_tmpdir(const char *name) {
    if (fz_dir[0]) return fz_dir;
    struct stat st;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base || !*base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/inh_fuzz_%s_%ld", base, name, (long)getpid());
    if (mkdir(fz_dir, 0700) != 0 && !(stat(fz_dir, &st) == 0 && S_ISDIR(st.st_mode))) {
        fprintf(stderr, "fuzz: cannot create %s\n", fz_dir);
        abort();
    }
    atexit(fz_cleanup);   /* not a sanitizer death callback: libFuzzer's own saves the crashing input */
    return fz_dir;
}

/* path of file `file` in the private directory */
FZ_FN const char *fz_path(const char *name, const char *file, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", fz_tmpdir(name), file);
    return out;
}

/* write n bytes to path (harness infrastructure: failure here is not a finding, so abort loudly) */
FZ_FN void fz_write(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* split data at the first (last = 0) or last (last = 1) byte equal to sep: a = before, b = after.
   No separator: everything goes to a, b is empty. */
FZ_FN void fz_split(const uint8_t *data, size_t n, uint8_t sep, int last,
                     const uint8_t **a, size_t *na, const uint8_t **b, size_t *nb) {
    size_t k = n;
    if (last) { for (size_t i = n; i-- > 0;) if (data[i] == sep) { k = i; break; } }
    else { for (size_t i = 0; i < n; i++) if (data[i] == sep) { k = i; break; } }
    *a = data; *na = k;
    *b = k < n ? data + k + 1 : data + n;
    *nb = k < n ? n - k - 1 : 0;
}

/* Exercise a model that loaded: forward on a few tokens, greedy and sampled generation. Cheap
   models only (a fuzzed header can describe a big one and the loader is right to accept it).
   Weights are arbitrary bits (NaN, Inf): nothing may crash, results need not be finite. */
FZ_FN void fz_exercise_model(inh_model *m) {
    const inh_config *c = &m->cfg;
    if (m->num_params > 200000 || (size_t)c->Vp * c->C > 100000 || c->L > 4 || c->C > 256) return;
    int T = c->maxT < 4 ? c->maxT : 4, in[4], tg[4], out[8];
    for (int i = 0; i < T; i++) { in[i] = i % c->V; tg[i] = (i + 1) % c->V; }
    FZ_CHECK(inh_model_forward(m, in, tg, 1, T) == 0, "forward of a loaded model (T=%d)", T);
    FZ_CHECK(inh_model_backward(m, 1.0f) == 0, "backward of a loaded model");
    int bad = c->V;   /* token ids are checked: an id of V must be refused, not read */
    FZ_CHECK(inh_model_forward(m, &bad, NULL, 1, 1) == -1, "forward accepted token id V=%d", c->V);
    inh_rng rng;
    inh_rng_seed(&rng, 1);
    FZ_CHECK(inh_model_generate(m, in, 1, 2, 0.0f, 0, &rng, out) == 0, "greedy generation");
    FZ_CHECK(inh_model_generate(m, in, 1, 2, 1.0f, 2, &rng, out) == 0, "sampled generation");
    for (int i = 0; i < 3; i++) FZ_CHECK(out[i] >= 0 && out[i] < c->V, "generated id %d outside [0, %d)", out[i], c->V);
}

/* 1 if every parameter is finite: the savers refuse a diverged model ("never replaces a good file") */
FZ_FN int fz_finite(const inh_model *m) {
    for (size_t i = 0; i < m->num_params; i++) if (!isfinite(m->params_mem[i])) return 0;
    return 1;
}

/* bitwise equality of two models' configs and parameters */
FZ_FN int fz_same_model(const inh_model *a, const inh_model *b) {
    return a->cfg.maxT == b->cfg.maxT && a->cfg.V == b->cfg.V && a->cfg.Vp == b->cfg.Vp && a->cfg.L == b->cfg.L &&
           a->cfg.NH == b->cfg.NH && a->cfg.C == b->cfg.C && a->cfg.bias == b->cfg.bias &&
           a->cfg.layer_scale == b->cfg.layer_scale && a->num_params == b->num_params &&
           memcmp(a->params_mem, b->params_mem, a->num_params * sizeof(float)) == 0;
}

/* GPT-2's byte -> printable code point map (the one encoder.json and vocab.bpe are written in) */
FZ_FN void fz_gpt2_alphabet(int byte_cp[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        byte_cp[b] = printable ? b : 256 + n++;
    }
}
/* append the UTF-8 of code point cp (< 0x800 here) */
FZ_FN size_t fz_utf8(unsigned char *o, int cp) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    o[0] = (unsigned char)(0xC0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 63));
    return 2;
}
/* bytes s[0..n) in GPT-2's alphabet, JSON-escaped where needed ('"' and '\\' only: the alphabet
   has no control characters), into o; returns the length */
FZ_FN size_t fz_gpt2_text(const int byte_cp[256], const unsigned char *s, size_t n, unsigned char *o, int json) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int cp = byte_cp[s[i]];
        if (json && (cp == '"' || cp == '\\')) o[k++] = '\\';
        k += fz_utf8(o + k, cp);
    }
    return k;
}

/* The 256 single-byte tokens as the start of an encoder.json: '{' and "<byte>": byte, ... with
   no closing brace. Returns the length (at most 256 * 12 bytes). */
FZ_FN size_t fz_base_vocab(unsigned char *o) {
    int cp[256];
    size_t k = 0;
    fz_gpt2_alphabet(cp);
    o[k++] = '{';
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        if (b) o[k++] = ',';
        o[k++] = '"';
        k += fz_gpt2_text(cp, &c, 1, o + k, 1);
        k += (size_t)sprintf((char *)o + k, "\":%d", b);
    }
    return k;
}

/* A small hand-made BPE in the order BPE training would have made it (a merged symbol only
   appears in later merges): enough to exercise both BPE code paths without ../shared. */
static const char *const fz_merges[][2] = {
    {" ", "t"}, {"h", "e"}, {" t", "he"}, {"i", "n"}, {" ", "a"}, {"e", "r"}, {"o", "n"}, {" ", "s"},
    {"e", "s"}, {" ", "w"}, {"r", "e"}, {"a", "n"}, {" a", "n"}, {" an", "d"}, {"in", "g"}, {" ", " "},
    {"  ", "  "}, {"0", "0"}, {"00", "00"}, {"\xC3", "\xA9"}, {"\n", "\n"}, {"'", "s"}, {"a", "a"},
    {"aa", "aa"}, {"aaaa", "aaaa"}, {"1", "2"}, {"12", "3"}, {"\xE2\x80", "\x99"}, {"\xE2", "\x80"},
};
#define FZ_NMERGES ((int)(sizeof fz_merges / sizeof fz_merges[0]))

/* encoder.json of the small BPE into v (up to 8 KB) and its vocab.bpe into mg (up to 1 KB) */
FZ_FN void fz_small_bpe(unsigned char *v, size_t *nv, unsigned char *mg, size_t *nm) {
    int cp[256];
    unsigned char tok[64];
    size_t k = fz_base_vocab(v), j = 0;
    fz_gpt2_alphabet(cp);
    j += (size_t)sprintf((char *)mg, "#version: 0.2\n");
    for (int i = 0; i < FZ_NMERGES; i++) {
        const char *a = fz_merges[i][0], *b = fz_merges[i][1];
        size_t na = strlen(a), nb = strlen(b);
        memcpy(tok, a, na); memcpy(tok + na, b, nb);
        v[k++] = ','; v[k++] = '"';
        k += fz_gpt2_text(cp, tok, na + nb, v + k, 1);
        k += (size_t)sprintf((char *)v + k, "\":%d", 256 + i);
        j += fz_gpt2_text(cp, (const unsigned char *)a, na, mg + j, 0);
        mg[j++] = ' ';
        j += fz_gpt2_text(cp, (const unsigned char *)b, nb, mg + j, 0);
        mg[j++] = '\n';
    }
    k += (size_t)sprintf((char *)v + k, ",\"<|endoftext|>\":%d}", 256 + FZ_NMERGES);
    *nv = k; *nm = j;
}

#endif
