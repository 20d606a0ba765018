/* ---------------------------------------------------------------------------------------------
   Tokenizer */
#include <limits.h>
#include <sys/stat.h>
#include "unicode_tables.h"

/* A growable byte buffer. */
typedef struct { unsigned char *p; size_t n, cap; } inh__buf;
INH__FN int inh__buf_reserve(inh__buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra) cap *= 2;
    unsigned char *np = INH__CAST(unsigned char *, INH_REALLOC(b->p, cap));
    if (!np) return inh__fail("out of memory (%zu bytes)", cap);
    b->p = np; b->cap = cap;
    return 0;
}
INH__FN int inh__buf_put(inh__buf *b, const void *p, size_t n) {
    if (inh__buf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

/* Append code point cp as UTF-8 (surrogates too, as the 3-byte form: a lone "\udXXX" in JSON). */
INH__FN int inh__utf8_put(inh__buf *b, uint32_t cp) {
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 63)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        u[2] = (unsigned char)(0x80 | (cp & 63)); n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 63)); u[3] = (unsigned char)(0x80 | (cp & 63)); n = 4;
    }
    return inh__buf_put(b, u, n);
}

/* Decode one UTF-8 character from s[0..n), n >= 1. Returns its length and sets *cp; returns 0
   when s does not start with a valid (shortest-form, non-surrogate, <= U+10FFFF) sequence. */
INH__FN int inh__utf8_get(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = (c & 31) << 6 | (s[1] & 63);
        return 2;
    }
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; else if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F;
    if (n < 2 || s[1] < lo || s[1] > hi) return 0;
    if (c < 0xF0) {
        if (n < 3 || (s[2] & 0xC0) != 0x80) return 0;
        *cp = (c & 15) << 12 | (uint32_t)(s[1] & 63) << 6 | (s[2] & 63);
        return 3;
    }
    if (n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    *cp = (c & 7) << 18 | (uint32_t)(s[1] & 63) << 12 | (uint32_t)(s[2] & 63) << 6 | (s[3] & 63);
    return 4;
}

/* ---- a small JSON reader (enough for vocabularies, configs and test vectors) ---------------- */

typedef struct { const unsigned char *s, *p, *end; const char *path; } inh__json;

INH__FN void inh__json_init(inh__json *j, const unsigned char *s, size_t n, const char *path) {
    j->s = j->p = s; j->end = s + n; j->path = path;
}
INH__FN int inh__json_fail(const inh__json *j, const char *what) {
    size_t line = 1;
    for (const unsigned char *q = j->s; q < j->p; q++) line += *q == '\n';
    return inh__fail("%s: %s (line %zu, byte offset %zu)", j->path, what, line, (size_t)(j->p - j->s));
}
INH__FN void inh__json_ws(inh__json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
/* next non-space character, or -1 at the end */
INH__FN int inh__json_peek(inh__json *j) { inh__json_ws(j); return j->p < j->end ? *j->p : -1; }
INH__FN int inh__json_expect(inh__json *j, char c) {
    if (inh__json_peek(j) != (unsigned char)c) {
        char msg[48];
        if (j->p >= j->end) snprintf(msg, sizeof msg, "expected '%c' but the file ends", c);
        else snprintf(msg, sizeof msg, "expected '%c'", c);
        return inh__json_fail(j, msg);
    }
    j->p++;
    return 0;
}
INH__FN int inh__json_hex4(inh__json *j, uint32_t *v) {
    *v = 0;
    if (j->end - j->p < 4) return inh__json_fail(j, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        int c = *j->p, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return inh__json_fail(j, "bad hex digit in \\u escape");
        *v = *v << 4 | (uint32_t)d;
        j->p++;
    }
    return 0;
}
/* a string value into out (replacing its contents; raw UTF-8 bytes, not NUL-terminated) */
INH__FN int inh__json_str(inh__json *j, inh__buf *out) {
    out->n = 0;
    if (inh__json_expect(j, '"')) return -1;
    for (;;) {
        const unsigned char *q = j->p;
        while (q < j->end && *q != '"' && *q != '\\' && *q >= 0x20) q++;
        if (inh__buf_put(out, j->p, (size_t)(q - j->p))) return -1;
        j->p = q;
        if (q >= j->end) return inh__json_fail(j, "unterminated string");
        if (*q == '"') { j->p++; return 0; }
        if (*q < 0x20) return inh__json_fail(j, "control character in string");
        if (j->end - q < 2) { j->p = j->end; return inh__json_fail(j, "unterminated string"); }
        unsigned char e = q[1], c;
        j->p += 2;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            uint32_t u, u2;
            if (inh__json_hex4(j, &u)) return -1;
            if (u >= 0xD800 && u < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                const unsigned char *save = j->p;
                j->p += 2;
                if (inh__json_hex4(j, &u2)) return -1;
                if (u2 >= 0xDC00 && u2 < 0xE000) u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
                else j->p = save;
            }
            if (inh__utf8_put(out, u)) return -1;
            continue;
        }
        default: j->p -= 2; return inh__json_fail(j, "bad escape in string");
        }
        if (inh__buf_put(out, &c, 1)) return -1;
    }
}
/* an integer value (no fraction or exponent) */
INH__FN int inh__json_int(inh__json *j, long long *v) {
    inh__json_ws(j);
    const unsigned char *q = j->p;
    int neg = q < j->end && *q == '-';
    q += neg;
    if (q >= j->end || *q < '0' || *q > '9') return inh__json_fail(j, q >= j->end ? "expected an integer but the file ends" : "expected an integer");
    long long x = 0;
    while (q < j->end && *q >= '0' && *q <= '9') {
        if (x > (LLONG_MAX - 9) / 10) return inh__json_fail(j, "integer too large");
        x = x * 10 + (*q++ - '0');
    }
    if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E')) { j->p = q; return inh__json_fail(j, "expected an integer, found a fraction"); }
    j->p = q;
    *v = neg ? -x : x;
    return 0;
}
/* any number */
INH__FN int inh__json_num(inh__json *j, double *v) {
    inh__json_ws(j);
    char tmp[64];
    size_t k = 0;
    while (j->p + k < j->end && k < sizeof tmp - 1 && j->p[k] && strchr("+-0123456789.eE", j->p[k])) { tmp[k] = (char)j->p[k]; k++; }
    tmp[k] = 0;
    char *e;
    *v = strtod(tmp, &e);
    if (k == 0 || e != tmp + k) return inh__json_fail(j, "expected a number");
    j->p += k;
    return 0;
}
INH__FN int inh__json_word(inh__json *j, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return 0;
    j->p += n;
    return 1;
}
INH__FN int inh__json_bool(inh__json *j, int *v) {
    inh__json_ws(j);
    if (inh__json_word(j, "true")) *v = 1;
    else if (inh__json_word(j, "false")) *v = 0;
    else return inh__json_fail(j, "expected true or false");
    return 0;
}
/* skip one value of any kind */
INH__FN int inh__json_skip_depth(inh__json *j, inh__buf *tmp, int depth) {
    if (depth > 200) return inh__json_fail(j, "nested too deeply");
    int c = inh__json_peek(j);
    double d;
    if (c == '"') return inh__json_str(j, tmp);
    if (c == '{' || c == '[') {
        int close = c == '{' ? '}' : ']';
        j->p++;
        if (inh__json_peek(j) == close) { j->p++; return 0; }
        for (;;) {
            if (c == '{') { if (inh__json_str(j, tmp) || inh__json_expect(j, ':')) return -1; }
            if (inh__json_skip_depth(j, tmp, depth + 1)) return -1;
            if (inh__json_peek(j) == ',') { j->p++; continue; }
            return inh__json_expect(j, (char)close);
        }
    }
    if (inh__json_word(j, "true") || inh__json_word(j, "false") || inh__json_word(j, "null")) return 0;
    return inh__json_num(j, &d);
}
INH__FN int inh__json_skip(inh__json *j) {
    inh__buf tmp = {NULL, 0, 0};
    int r = inh__json_skip_depth(j, &tmp, 0);
    INH_FREE(tmp.p);
    return r;
}
INH__FN int inh__json_end(inh__json *j) {
    return inh__json_peek(j) == -1 ? 0 : inh__json_fail(j, "unexpected data after the JSON value");
}

/* ---- GPT-2's pre-tokenizer ------------------------------------------------------------------

   The pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ matched by
   hand. Character classes come from parts/unicode_tables.h (tools/gen_unicode.py). */

enum { INH__OTHER = 0, INH__LETTER = 1, INH__NUMBER = 2, INH__SPACE = 3 };

INH__FN int inh__uni_class(uint32_t cp) {
    if (cp < 128) return inh__uni_ascii[cp];
    int lo = 0, hi = INH__UNI_NBOUNDS - 1;     /* largest k with start(k) <= cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if ((inh__uni_bounds[mid] >> 2) <= cp) lo = mid; else hi = mid - 1;
    }
    return (int)(inh__uni_bounds[lo] & 3);
}
/* class and byte length of the character at s[0..n), n >= 1; a byte that does not start a valid
   UTF-8 sequence is one character of class "other" */
static inline int inh__char_class(const unsigned char *s, size_t n, int *len) {
    if (s[0] < 0x80) { *len = 1; return inh__uni_ascii[s[0]]; }
    uint32_t cp;
    int l = inh__utf8_get(s, n, &cp);
    if (!l) { *len = 1; return INH__OTHER; }
    *len = l;
    return inh__uni_class(cp);
}
/* end of the pre-token that starts at s[i], i < n */
INH__FN size_t inh__pretok_end(const unsigned char *s, size_t n, size_t i) {
    unsigned char c = s[i];
    int len, k;
    if (c == '\'' && i + 1 < n) {
        unsigned char d = s[i + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
        if (i + 2 < n && ((d == 'r' && s[i + 2] == 'e') || (d == 'v' && s[i + 2] == 'e') || (d == 'l' && s[i + 2] == 'l'))) return i + 3;
    }
    size_t j = i;
    if (c == ' ' && i + 1 < n && (k = inh__char_class(s + i + 1, n - i - 1, &len)) != INH__SPACE) {
        j = i + 1;                                  /* " ?X+" with the space */
    } else if ((k = inh__char_class(s + i, n - i, &len)) == INH__SPACE) {
        size_t last = i;                            /* \s+(?!\S) or else \s+ */
        j = i + (size_t)len;
        while (j < n && inh__char_class(s + j, n - j, &len) == INH__SPACE) { last = j; j += (size_t)len; }
        if (j == n) return n;
        return last > i ? last : j;                 /* leave the last space for the next word */
    }
    j += (size_t)len;
    while (j < n) {                                 /* X+ for X the class of the first character */
        if (s[j] < 0x80) { if (inh__uni_ascii[s[j]] != k) break; j++; continue; }
        if (inh__char_class(s + j, n - j, &len) != k) break;
        j += (size_t)len;
    }
    return j;
}
/* A cut before s[p] that changes no pre-token: a lone '\n' between two ASCII non-spaces. Every
   pre-token holding the '\n' is made of spaces, so it ends at p; and a longer run of spaces would
   split differently at the end of a piece (\s+(?!\S) takes the whole run there). */
INH__FN int inh__safe_cut(const unsigned char *s, size_t p) {
    return p >= 2 && s[p - 1] == '\n' && s[p] < 0x80 && inh__uni_ascii[s[p]] != INH__SPACE &&
           s[p - 2] < 0x80 && inh__uni_ascii[s[p - 2]] != INH__SPACE;
}
/* first safe cut in [from, n), or n */
INH__FN size_t inh__next_cut(const unsigned char *s, size_t n, size_t from) {
    size_t p = from ? from : 1;
    while (p < n) {
        const unsigned char *q = (const unsigned char *)memchr(s + p - 1, '\n', n - p);   /* a newline in [p-1, n-2] */
        if (!q) return n;
        p = (size_t)(q - s) + 1;
        if (inh__safe_cut(s, p)) return p;
        p++;
    }
    return n;
}

/* ---- the tokenizer -------------------------------------------------------------------------- */

enum { INH__TOK_BYTES = 0, INH__TOK_BPE = 1, INH__TOK_DECODE_ONLY = 2 };

/* merge table entry: pair (a, b) -> (rank, merged id); key = (a << 32 | b) + 1, 0 = empty */
typedef struct { uint64_t key; int32_t rank, id; } inh__merge;

struct inh_tokenizer {
    int kind, V, eot;
    unsigned char *bytes;       /* token i is bytes[off[i] .. off[i+1]) */
    uint32_t *off;              /* V + 1 */
    int byte_id[256];           /* id of the token for each single byte */
    inh__merge *merges;         /* open addressing, 1 << mbits slots */
    int mbits, nmerges;
};

static const char inh__eot_text[] = "<|endoftext|>";

INH__FN uint64_t inh__mix64(uint64_t x) { return x * 0x9E3779B97F4A7C15ull; }
INH__FN uint32_t inh__hash_bytes(const unsigned char *p, size_t n) {    /* FNV-1a */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* rank of merging (a, b), or -1; *mid receives the merged id */
static inline int inh__merge_find(const inh_tokenizer *t, int a, int b, int *mid) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    size_t mask = ((size_t)1 << t->mbits) - 1, h = (size_t)(inh__mix64(key) >> (64 - t->mbits));
    for (;;) {
        const inh__merge *m = &t->merges[h];
        if (m->key == key) { *mid = m->id; return m->rank; }
        if (m->key == 0) return -1;
        h = (h + 1) & mask;
    }
}

INHDEF void inh_tokenizer_free(inh_tokenizer *t) {
    if (!t) return;
    INH_FREE(t->bytes); INH_FREE(t->off); INH_FREE(t->merges); INH_FREE(t);
}
INHDEF int inh_tokenizer_vocab_size(const inh_tokenizer *t) { return t->V; }
INHDEF int inh_tokenizer_eot(const inh_tokenizer *t) { return t->eot; }
INHDEF int inh_tokenizer_can_encode(const inh_tokenizer *t) { return t->kind != INH__TOK_DECODE_ONLY; }
INHDEF const unsigned char *inh_tokenizer_token(const inh_tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->V) { *len = 0; return NULL; }
    *len = t->off[id + 1] - t->off[id];
    return t->bytes + t->off[id];
}
INHDEF void inh_tokenizer_free_ids(int *ids) { INH_FREE(ids); }
INHDEF void inh_tokenizer_free_bytes(unsigned char *b) { INH_FREE(b); }

INH__FN int inh__tok_bytes_new(inh_tokenizer **out) {
    inh_tokenizer *t = INH__CALLOC(inh_tokenizer, 1);
    if (!t) return -1;
    t->kind = INH__TOK_BYTES; t->V = 257; t->eot = 256;
    t->off = INH__ALLOC(uint32_t, 258);
    t->bytes = INH__ALLOC(unsigned char, 256 + sizeof inh__eot_text - 1);
    if (!t->off || !t->bytes) { inh_tokenizer_free(t); return -1; }
    for (int b = 0; b < 256; b++) { t->bytes[b] = (unsigned char)b; t->off[b] = (uint32_t)b; t->byte_id[b] = b; }
    memcpy(t->bytes + 256, inh__eot_text, sizeof inh__eot_text - 1);
    t->off[256] = 256; t->off[257] = (uint32_t)(256 + sizeof inh__eot_text - 1);
    *out = t;
    return 0;
}

/* GPT-2 writes each byte as one printable character: bytes 33..126, 161..172, 174..255 as
   themselves, the other 68 as U+0100 + their order among them. cp_byte inverts it (-1 if none). */
INH__FN void inh__gpt2_alphabet(int cp_byte[324]) {
    int n = 0;
    for (int c = 0; c < 324; c++) cp_byte[c] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        cp_byte[printable ? b : 256 + n++] = b;
    }
}
/* token text s[0..n) (UTF-8 over GPT-2's alphabet) -> bytes in dst (which may be s; it gets at
   most n bytes). Returns the number of bytes, or -1 (dst untouched) if a character is not in it. */
INH__FN long inh__from_alphabet(const int cp_byte[324], const unsigned char *s, size_t n, unsigned char *dst) {
    size_t i = 0, o = 0;
    uint32_t cp;
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0, o = 0; i < n; o++) {
            int l = inh__utf8_get(s + i, n - i, &cp);
            if (!l || cp >= 324 || cp_byte[cp] < 0) return -1;
            if (pass) dst[o] = (unsigned char)cp_byte[cp];
            i += (size_t)l;
        }
    }
    return (long)o;
}

/* bytes -> id map used while loading */
typedef struct { const inh_tokenizer *t; int *slot; size_t mask; } inh__idmap;
INH__FN int inh__idmap_build(inh__idmap *m, const inh_tokenizer *t) {
    size_t cap = 1024;
    while (cap < (size_t)t->V * 2) cap *= 2;
    m->t = t; m->mask = cap - 1;
    m->slot = INH__ALLOC(int, cap);
    if (!m->slot) return -1;
    for (size_t i = 0; i < cap; i++) m->slot[i] = -1;
    for (int id = 0; id < t->V; id++) {
        const unsigned char *p = t->bytes + t->off[id];
        size_t n = t->off[id + 1] - t->off[id], h = inh__hash_bytes(p, n) & m->mask;
        for (;; h = (h + 1) & m->mask) {
            int o = m->slot[h];
            if (o < 0) { m->slot[h] = id; break; }
            if (t->off[o + 1] - t->off[o] == n && memcmp(t->bytes + t->off[o], p, n) == 0) break;  /* first id wins */
        }
    }
    return 0;
}
INH__FN int inh__idmap_get(const inh__idmap *m, const unsigned char *p, size_t n) {
    const inh_tokenizer *t = m->t;
    for (size_t h = inh__hash_bytes(p, n) & m->mask;; h = (h + 1) & m->mask) {
        int o = m->slot[h];
        if (o < 0) return -1;
        if (t->off[o + 1] - t->off[o] == n && memcmp(t->bytes + t->off[o], p, n) == 0) return o;
    }
}

/* encoder.json / vocab.json: {"token": id, ...} with ids exactly 0..V-1 */
INH__FN int inh__load_vocab(inh_tokenizer *t, const char *path, const int cp_byte[324]) {
    unsigned char *data;
    size_t len;
    if (inh__read_file(path, &data, &len, 0)) return -1;
    inh__json j;
    inh__json_init(&j, data, len, path);
    inh__buf key = {NULL, 0, 0}, all = {NULL, 0, 0};
    size_t n = 0, cap = 0;
    uint32_t *koff = NULL;   /* per entry: offset in all, length, id */
    uint32_t *klen = NULL;
    int *kid = NULL, *pos = NULL, rc = -1, maxid = -1;
    if (inh__json_expect(&j, '{')) goto done;
    if (inh__json_peek(&j) == '}') j.p++;
    else for (;;) {
        long long id = 0;
        const unsigned char *at = j.p;
        if (inh__json_str(&j, &key) || inh__json_expect(&j, ':') || inh__json_int(&j, &id)) goto done;
        if (id < 0 || id >= (1 << 24)) { j.p = at; inh__json_fail(&j, "token id out of range [0, 2^24)"); goto done; }
        long kn = inh__from_alphabet(cp_byte, key.p, key.n, key.p);
        if (kn >= 0) key.n = (size_t)kn;                        /* else an added token: keep its UTF-8 */
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            uint32_t *a = INH__CAST(uint32_t *, INH_REALLOC(koff, cap * sizeof *koff));
            if (a) koff = a;
            uint32_t *b = INH__CAST(uint32_t *, INH_REALLOC(klen, cap * sizeof *klen));
            if (b) klen = b;
            int *c = INH__CAST(int *, INH_REALLOC(kid, cap * sizeof *kid));
            if (c) kid = c;
            if (!a || !b || !c) { inh__fail("%s: out of memory", path); goto done; }
        }
        if (all.n + key.n > 0xFFFFFFFFu) { inh__fail("%s: too large", path); goto done; }
        koff[n] = (uint32_t)all.n; klen[n] = (uint32_t)key.n; kid[n] = (int)id;
        n++;
        if (inh__buf_put(&all, key.p, key.n)) goto done;
        if ((int)id > maxid) maxid = (int)id;
        int c = inh__json_peek(&j);
        if (c == ',') { j.p++; continue; }
        if (c == '}') { j.p++; break; }
        inh__json_fail(&j, c < 0 ? "expected ',' or '}' but the file ends" : "expected ',' or '}'");
        goto done;
    }
    if (inh__json_end(&j)) goto done;
    if (maxid < 0) { inh__fail("%s: empty vocabulary", path); goto done; }
    t->V = maxid + 1;
    pos = INH__ALLOC(int, t->V);
    t->off = INH__ALLOC(uint32_t, (size_t)t->V + 1);
    t->bytes = INH__ALLOC(unsigned char, all.n);
    if (!pos || !t->off || !t->bytes) goto done;
    for (int i = 0; i < t->V; i++) pos[i] = -1;
    for (size_t e = 0; e < n; e++) {
        int id = kid[e];
        if (pos[id] >= 0) {
            inh__fail("%s: duplicate id %d (tokens \"%.*s\" and \"%.*s\")", path, id,
                      (int)klen[pos[id]], all.p + koff[pos[id]], (int)klen[e], all.p + koff[e]);
            goto done;
        }
        pos[id] = (int)e;
    }
    {
        uint32_t o = 0;
        for (int id = 0; id < t->V; id++) {
            if (pos[id] < 0) { inh__fail("%s: no token has id %d (ids must be 0..%d)", path, id, t->V - 1); goto done; }
            t->off[id] = o;
            memcpy(t->bytes + o, all.p + koff[pos[id]], klen[pos[id]]);
            o += klen[pos[id]];
        }
        t->off[t->V] = o;
    }
    rc = 0;
done:
    INH_FREE(data); INH_FREE(key.p); INH_FREE(all.p); INH_FREE(koff); INH_FREE(klen); INH_FREE(kid); INH_FREE(pos);
    return rc;
}

/* vocab.bpe / merges.txt: an optional "#version" line, then one "A B" pair per line by rank */
INH__FN int inh__load_merges(inh_tokenizer *t, const char *path, const int cp_byte[324], const inh__idmap *m) {
    unsigned char *data;
    size_t len;
    if (inh__read_file(path, &data, &len, 0)) return -1;
    int rc = -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    t->mbits = 10;
    while (((size_t)1 << t->mbits) < 2 * lines) t->mbits++;
    t->merges = INH__CALLOC(inh__merge, (size_t)1 << t->mbits);
    if (!t->merges) goto done;
    {
        size_t p = 0, lineno = 0, mask = ((size_t)1 << t->mbits) - 1;
        while (p < len) {
            size_t e = p;
            while (e < len && data[e] != '\n') e++;
            size_t le = e;
            if (le > p && data[le - 1] == '\r') le--;
            lineno++;
            unsigned char *s = data + p;
            size_t n = le - p;
            p = e + 1;
            if (n == 0 || (lineno == 1 && n >= 8 && memcmp(s, "#version", 8) == 0)) continue;
            unsigned char *sp = (unsigned char *)memchr(s, ' ', n);
            if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) {
                inh__fail("%s:%zu: expected two symbols separated by one space", path, lineno);
                goto done;
            }
            const unsigned char *part[2] = {s, sp + 1};
            size_t plen[2] = {(size_t)(sp - s), (size_t)(s + n - sp - 1)};
            int id[2];
            unsigned char cat[512];
            long cn[2] = {0, 0};
            if (n > sizeof cat) { inh__fail("%s:%zu: line too long", path, lineno); goto done; }
            for (int k = 0; k < 2; k++) {
                cn[k] = inh__from_alphabet(cp_byte, part[k], plen[k], cat + (k ? cn[0] : 0));
                if (cn[k] < 0 || (id[k] = inh__idmap_get(m, cat + (k ? cn[0] : 0), (size_t)cn[k])) < 0) {
                    inh__fail("%s:%zu: unknown symbol \"%.*s\"", path, lineno, (int)plen[k], part[k]);
                    goto done;
                }
            }
            int mid = inh__idmap_get(m, cat, (size_t)(cn[0] + cn[1]));
            if (mid < 0) {
                inh__fail("%s:%zu: \"%.*s\" merges into a symbol that is not in the vocabulary", path, lineno, (int)n, s);
                goto done;
            }
            uint64_t key = ((uint64_t)(uint32_t)id[0] << 32 | (uint32_t)id[1]) + 1;
            size_t h = (size_t)(inh__mix64(key) >> (64 - t->mbits));
            while (t->merges[h].key && t->merges[h].key != key) h = (h + 1) & mask;
            if (t->merges[h].key) continue;               /* a repeated pair keeps its first rank */
            t->merges[h].key = key; t->merges[h].rank = t->nmerges++; t->merges[h].id = mid;
        }
    }
    rc = 0;
done:
    INH_FREE(data);
    return rc;
}

INHDEF int inh_tokenizer_load_files(inh_tokenizer **out, const char *vocab_json, const char *merges) {
    int cp_byte[324];
    inh__gpt2_alphabet(cp_byte);
    inh_tokenizer *t = INH__CALLOC(inh_tokenizer, 1);
    if (!t) return -1;
    t->kind = INH__TOK_BPE;
    inh__idmap m = {NULL, NULL, 0};
    if (inh__load_vocab(t, vocab_json, cp_byte) || inh__idmap_build(&m, t)) goto fail;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        if ((t->byte_id[b] = inh__idmap_get(&m, &c, 1)) < 0) { inh__fail("%s: no token for byte 0x%02x", vocab_json, b); goto fail; }
    }
    t->eot = inh__idmap_get(&m, (const unsigned char *)inh__eot_text, sizeof inh__eot_text - 1);
    if (inh__load_merges(t, merges, cp_byte, &m)) goto fail;
    INH_FREE(m.slot);
    *out = t;
    return 0;
fail:
    INH_FREE(m.slot);
    inh_tokenizer_free(t);
    return -1;
}

INH__FN int inh__is_file(const char *path, int want_dir) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

INHDEF int inh_tokenizer_load(inh_tokenizer **out, const char *name) {
    if (strcmp(name, "bytes") == 0) return inh__tok_bytes_new(out);
    if (inh__is_file(name, 0)) return inh_tokenizer_load_llmc(out, name);
    if (!inh__is_file(name, 1)) return inh__fail("%s: no such tokenizer (want \"bytes\", a directory or an llm.c tokenizer file)", name);
    static const char *const layouts[2][2] = {{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}};
    char v[4096], mg[4096];
    for (int k = 0; k < 2; k++) {
        if (snprintf(v, sizeof v, "%s/%s", name, layouts[k][0]) >= (int)sizeof v ||
            snprintf(mg, sizeof mg, "%s/%s", name, layouts[k][1]) >= (int)sizeof mg) return inh__fail("%s: path too long", name);
        if (!inh__is_file(v, 0)) continue;
        if (!inh__is_file(mg, 0)) return inh__fail("%s: missing (a vocabulary %s without its merges)", mg, layouts[k][0]);
        return inh_tokenizer_load_files(out, v, mg);
    }
    return inh__fail("%s: no encoder.json + vocab.bpe or vocab.json + merges.txt", name);
}

/* ---- llm.c's tokenizer file ----------------------------------------------------------------- */

INHDEF int inh_tokenizer_load_llmc(inh_tokenizer **out, const char *path) {
    unsigned char *d;
    size_t len;
    if (inh__read_file(path, &d, &len, (size_t)1 << 30)) return -1;
    inh_tokenizer *t = NULL;
    if (len < 1024) { inh__fail("%s: truncated header (%zu of 1024 bytes)", path, len); goto fail; }
    if (inh__rd32(d) != 20240328) { inh__fail("%s: not an llm.c tokenizer file (magic %u, want 20240328)", path, inh__rd32(d)); goto fail; }
    {
        uint32_t version = inh__rd32(d + 4), V = inh__rd32(d + 8);
        if (version != 1 && version != 2) { inh__fail("%s: unsupported version %u", path, version); goto fail; }
        if (V == 0 || V > (1u << 24)) { inh__fail("%s: bad vocabulary size %u", path, V); goto fail; }
        uint32_t eot = version == 1 ? 50256 : inh__rd32(d + 12);
        t = INH__CALLOC(inh_tokenizer, 1);
        if (!t) goto fail;
        t->kind = INH__TOK_DECODE_ONLY; t->V = (int)V; t->eot = eot < V ? (int)eot : -1;
        t->off = INH__ALLOC(uint32_t, (size_t)V + 1);
        t->bytes = INH__ALLOC(unsigned char, len - 1024);
        if (!t->off || !t->bytes) goto fail;
        size_t p = 1024;
        uint32_t o = 0;
        for (uint32_t i = 0; i < V; i++) {
            if (p >= len || len - p - 1 < d[p]) { inh__fail("%s: truncated at token %u of %u (byte offset %zu)", path, i, V, p); goto fail; }
            t->off[i] = o;
            memcpy(t->bytes + o, d + p + 1, d[p]);
            o += d[p];
            p += 1 + (size_t)d[p];
        }
        t->off[V] = o;
        if (p != len) { inh__fail("%s: %zu unexpected bytes after the last token (byte offset %zu)", path, len - p, p); goto fail; }
        for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    }
    INH_FREE(d);
    *out = t;
    return 0;
fail:
    INH_FREE(d);
    inh_tokenizer_free(t);
    return -1;
}

INHDEF int inh_tokenizer_save_llmc(const inh_tokenizer *t, const char *path) {
    if (t->eot < 0) return inh__fail("%s: the tokenizer has no end-of-text token, which the llm.c format needs", path);
    for (int i = 0; i < t->V; i++) {
        uint32_t n = t->off[i + 1] - t->off[i];
        if (n == 0 || n > 255) return inh__fail("%s: token %d has %u bytes; the llm.c format needs 1..255", path, i, n);
    }
    unsigned char h[1024];
    memset(h, 0, sizeof h);
    inh__wr32(h, 20240328); inh__wr32(h + 4, 2); inh__wr32(h + 8, (uint32_t)t->V); inh__wr32(h + 12, (uint32_t)t->eot);
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    for (int i = 0; i < t->V; i++) {
        unsigned char n = (unsigned char)(t->off[i + 1] - t->off[i]);
        inh__wwrite(&w, &n, 1);
        inh__wwrite(&w, t->bytes + t->off[i], n);
    }
    return inh__wclose(&w);
}

/* ---- encoding ------------------------------------------------------------------------------

   Each pre-token of a few bytes goes through a cache (pre-token bytes -> ids). The BPE of a
   pre-token merges, again and again, the leftmost adjacent pair of lowest rank. Short pre-tokens
   keep the pair ranks in an array (quadratic but tiny); long ones (runs of one letter, digits,
   spaces) use a heap of candidate pairs over a linked list of symbols, O(m log m). For a merges
   list made by BPE training (a merged symbol only appears in later merges), merging the leftmost
   lowest pair first gives the same ids as GPT-2's "merge every occurrence of the lowest pair". */

enum { INH__BPE_SMALL = 64, INH__CACHE_KEY = 48, INH__CACHE_BITS_MAX = 17 };

typedef struct { uint32_t hash, koff, ioff; uint16_t klen, nids; } inh__centry;
typedef struct { int rank, left, right, lid, rid, mid; } inh__hent;

typedef struct {
    const inh_tokenizer *t;
    int *out; size_t n, cap;                    /* the ids produced so far */
    inh__centry *ctab; int cbits; size_t ccount; /* cache: 1 << cbits slots, empty when klen == 0 */
    inh__buf ckeys;                             /* cached key bytes */
    int *cids; size_t cids_n, cids_cap;         /* cached ids */
    int *sym, *rank, *mid, *prv, *nxt;          /* BPE scratch, scap each */
    size_t scap;
    inh__hent *heap; size_t hcap;
} inh__enc;

INH__FN void inh__enc_init(inh__enc *e, const inh_tokenizer *t) { memset(e, 0, sizeof *e); e->t = t; }
INH__FN void inh__enc_free(inh__enc *e) {
    INH_FREE(e->out); INH_FREE(e->ctab); INH_FREE(e->ckeys.p); INH_FREE(e->cids);
    INH_FREE(e->sym); INH_FREE(e->rank); INH_FREE(e->mid); INH_FREE(e->prv); INH_FREE(e->nxt); INH_FREE(e->heap);
    memset(e, 0, sizeof *e);
}
INH__FN int inh__ints_reserve(int **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    int *np = INH__CAST(int *, INH_REALLOC(*p, c * sizeof **p));
    if (!np) return inh__fail("out of memory (%zu ids)", c);
    *p = np; *cap = c;
    return 0;
}
INH__FN int inh__enc_push(inh__enc *e, const int *ids, size_t n) {
    if (e->n + n > e->cap && inh__ints_reserve(&e->out, &e->cap, e->n + n)) return -1;
    memcpy(e->out + e->n, ids, n * sizeof *ids);
    e->n += n;
    return 0;
}
INH__FN int inh__enc_scratch(inh__enc *e, size_t m) {
    if (m <= e->scap) return 0;
    size_t c = e->scap ? e->scap : 256;
    while (c < m) c *= 2;
    int **arrs[5] = {&e->sym, &e->rank, &e->mid, &e->prv, &e->nxt};
    for (int k = 0; k < 5; k++) {
        int *np = INH__CAST(int *, INH_REALLOC(*arrs[k], c * sizeof(int)));
        if (!np) return inh__fail("out of memory (BPE of a %zu-byte word)", m);
        *arrs[k] = np;
    }
    e->scap = c;
    return 0;
}

static inline int inh__hent_less(const inh__hent *a, const inh__hent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}
INH__FN void inh__heap_push(inh__hent *h, size_t *n, inh__hent x) {
    size_t i = (*n)++;
    while (i > 0 && inh__hent_less(&x, &h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = x;
}
INH__FN inh__hent inh__heap_pop(inh__hent *h, size_t *n) {
    inh__hent top = h[0], x = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && inh__hent_less(&h[c + 1], &h[c])) c++;
        if (!inh__hent_less(&h[c], &x)) break;
        h[i] = h[c]; i = c;
    }
    if (m) h[i] = x;
    return top;
}

/* BPE of the m symbols in e->sym; the result replaces them, *m updated */
INH__FN int inh__bpe(inh__enc *e, size_t *mp) {
    const inh_tokenizer *t = e->t;
    size_t m = *mp;
    int *s = e->sym, *r = e->rank, *mid = e->mid;
    if (m < 2) return 0;
    if (m <= INH__BPE_SMALL) {
        for (size_t i = 0; i + 1 < m; i++) r[i] = inh__merge_find(t, s[i], s[i + 1], &mid[i]);
        for (;;) {
            size_t best = m;
            int br = INT_MAX;
            for (size_t i = 0; i + 1 < m; i++) if (r[i] >= 0 && r[i] < br) { br = r[i]; best = i; }
            if (best == m) break;
            s[best] = mid[best];
            m--;
            for (size_t i = best + 1; i < m; i++) s[i] = s[i + 1];
            for (size_t i = best + 1; i + 1 < m; i++) { r[i] = r[i + 1]; mid[i] = mid[i + 1]; }
            if (best + 1 < m) r[best] = inh__merge_find(t, s[best], s[best + 1], &mid[best]);
            if (best > 0) r[best - 1] = inh__merge_find(t, s[best - 1], s[best], &mid[best - 1]);
        }
        *mp = m;
        return 0;
    }
    int *prv = e->prv, *nxt = e->nxt;
    if (3 * m > e->hcap) {
        inh__hent *nh = INH__CAST(inh__hent *, INH_REALLOC(e->heap, 3 * m * sizeof *nh));
        if (!nh) return inh__fail("out of memory (BPE of a %zu-byte word)", m);
        e->heap = nh; e->hcap = 3 * m;
    }
    inh__hent *h = e->heap;
    size_t hn = 0;
    for (size_t i = 0; i < m; i++) { prv[i] = (int)i - 1; nxt[i] = i + 1 < m ? (int)i + 1 : -1; }
    for (size_t i = 0; i + 1 < m; i++) {
        inh__hent x;
        x.rank = inh__merge_find(t, s[i], s[i + 1], &x.mid);
        if (x.rank < 0) continue;
        x.left = (int)i; x.right = (int)i + 1; x.lid = s[i]; x.rid = s[i + 1];
        inh__heap_push(h, &hn, x);
    }
    while (hn) {
        inh__hent x = inh__heap_pop(h, &hn);
        if (s[x.left] != x.lid || s[x.right] != x.rid || nxt[x.left] != x.right) continue;   /* stale */
        int L = x.left, R = x.right;
        s[L] = x.mid; s[R] = -1;
        nxt[L] = nxt[R];
        if (nxt[R] >= 0) prv[nxt[R]] = L;
        int nb[2][2] = {{prv[L], L}, {L, nxt[L]}};
        for (int k = 0; k < 2; k++) {
            if (nb[k][0] < 0 || nb[k][1] < 0) continue;
            inh__hent y;
            y.rank = inh__merge_find(t, s[nb[k][0]], s[nb[k][1]], &y.mid);
            if (y.rank < 0) continue;
            y.left = nb[k][0]; y.right = nb[k][1]; y.lid = s[y.left]; y.rid = s[y.right];
            inh__heap_push(h, &hn, y);   /* at most 2 per merge: fits in 3m */
        }
    }
    size_t o = 0;
    for (int i = 0; i >= 0; i = nxt[i]) s[o++] = s[i];
    *mp = o;
    return 0;
}

INH__FN void inh__cache_clear(inh__enc *e) {
    if (e->ctab) memset(e->ctab, 0, ((size_t)1 << e->cbits) * sizeof *e->ctab);
    e->ccount = 0; e->ckeys.n = 0; e->cids_n = 0;
}
INH__FN const inh__centry *inh__cache_get(const inh__enc *e, const unsigned char *p, size_t n, uint32_t hash) {
    if (!e->ctab) return NULL;
    size_t mask = ((size_t)1 << e->cbits) - 1;
    for (size_t h = hash & mask;; h = (h + 1) & mask) {
        const inh__centry *c = &e->ctab[h];
        if (!c->klen) return NULL;
        if (c->hash == hash && c->klen == n && memcmp(e->ckeys.p + c->koff, p, n) == 0) return c;
    }
}
/* best effort: a cache that cannot grow just stops caching */
INH__FN void inh__cache_put(inh__enc *e, const unsigned char *p, size_t n, uint32_t hash, const int *ids, size_t nids) {
    if (!e->ctab || 2 * (e->ccount + 1) > ((size_t)1 << e->cbits)) {
        int bits = e->ctab ? e->cbits + 1 : 12;
        if (bits > INH__CACHE_BITS_MAX) { inh__cache_clear(e); bits = e->cbits; }
        else {
            inh__centry *nt = INH__CALLOC(inh__centry, (size_t)1 << bits);
            if (!nt) return;
            size_t mask = ((size_t)1 << bits) - 1;
            for (size_t i = 0; e->ctab && i < ((size_t)1 << e->cbits); i++) {
                if (!e->ctab[i].klen) continue;
                size_t h = e->ctab[i].hash & mask;
                while (nt[h].klen) h = (h + 1) & mask;
                nt[h] = e->ctab[i];
            }
            INH_FREE(e->ctab);
            e->ctab = nt; e->cbits = bits;
        }
    }
    size_t need = e->cids_n + nids;
    if (need > e->cids_cap && inh__ints_reserve(&e->cids, &e->cids_cap, need)) return;
    if (e->ckeys.n + n > 0xFFFFFFFFu || need > 0xFFFFFFFFu || inh__buf_put(&e->ckeys, p, n)) return;
    size_t mask = ((size_t)1 << e->cbits) - 1, h = hash & mask;
    while (e->ctab[h].klen) h = (h + 1) & mask;
    inh__centry *c = &e->ctab[h];
    c->hash = hash; c->klen = (uint16_t)n; c->koff = (uint32_t)(e->ckeys.n - n);
    c->nids = (uint16_t)nids; c->ioff = (uint32_t)e->cids_n;
    memcpy(e->cids + e->cids_n, ids, nids * sizeof *ids);
    e->cids_n += nids;
    e->ccount++;
}

/* ids of one pre-token */
INH__FN int inh__enc_word(inh__enc *e, const unsigned char *p, size_t n) {
    const inh_tokenizer *t = e->t;
    if (n == 1) return inh__enc_push(e, &t->byte_id[p[0]], 1);
    uint32_t hash = 0;
    if (n <= INH__CACHE_KEY) {
        hash = inh__hash_bytes(p, n);
        const inh__centry *c = inh__cache_get(e, p, n, hash);
        if (c) return inh__enc_push(e, e->cids + c->ioff, c->nids);
    }
    if (inh__enc_scratch(e, n)) return -1;
    for (size_t i = 0; i < n; i++) e->sym[i] = t->byte_id[p[i]];
    size_t m = n;
    if (inh__bpe(e, &m)) return -1;
    if (n <= INH__CACHE_KEY) inh__cache_put(e, p, n, hash, e->sym, m);
    return inh__enc_push(e, e->sym, m);
}

/* ids of ordinary text (no special tokens), appended to e->out */
INH__FN int inh__enc_ordinary(inh__enc *e, const unsigned char *s, size_t n) {
    if (e->t->kind == INH__TOK_BYTES) {
        if (e->n + n > e->cap && inh__ints_reserve(&e->out, &e->cap, e->n + n)) return -1;
        for (size_t i = 0; i < n; i++) e->out[e->n + i] = s[i];
        e->n += n;
        return 0;
    }
    for (size_t i = 0; i < n;) {
        size_t j = inh__pretok_end(s, n, i);
        if (inh__enc_word(e, s + i, j - i)) return -1;
        i = j;
    }
    return 0;
}

/* ids of text, appended to e->out; "<|endoftext|>" is the end-of-text id when allow_special */
INH__FN int inh__enc_text(inh__enc *e, const unsigned char *s, size_t n, int allow_special) {
    const size_t L = sizeof inh__eot_text - 1;
    if (!allow_special || e->t->eot < 0) return inh__enc_ordinary(e, s, n);
    size_t i = 0, from = 0;
    while (i + L <= n) {
        const unsigned char *q = (const unsigned char *)memchr(s + i, '<', n - i - L + 1);
        if (!q) break;
        i = (size_t)(q - s);
        if (memcmp(q, inh__eot_text, L) != 0) { i++; continue; }
        if (inh__enc_ordinary(e, s + from, i - from) || inh__enc_push(e, &e->t->eot, 1)) return -1;
        i += L;
        from = i;
    }
    return inh__enc_ordinary(e, s + from, n - from);
}

INHDEF int inh_tokenizer_encode(const inh_tokenizer *t, const unsigned char *text, size_t len,
                                int allow_special, int **ids, size_t *n) {
    return inh_tokenizer_encode_mt(t, text, len, allow_special, 1, ids, n);
}

typedef struct {
    const unsigned char *s;
    const size_t *cut;          /* piece k is s[cut[k] .. cut[k+1]) */
    inh__enc *enc;
    int allow_special, *status;
} inh__encmt;
INH__FN void inh__encmt_run(void *ctx, int lo, int hi) {
    inh__encmt *c = (inh__encmt *)ctx;
    for (int k = lo; k < hi; k++)
        c->status[k] = inh__enc_text(&c->enc[k], c->s + c->cut[k], c->cut[k + 1] - c->cut[k], c->allow_special);
}

INHDEF int inh_tokenizer_encode_mt(const inh_tokenizer *t, const unsigned char *text, size_t len,
                                   int allow_special, int nthreads, int **ids, size_t *n) {
    *ids = NULL; *n = 0;
    if (t->kind == INH__TOK_DECODE_ONLY) return inh__fail("this tokenizer came from an llm.c tokenizer file, which has no merges: it can decode but not encode");
    if (nthreads < 1) nthreads = 1;
    if ((size_t)nthreads > len / 65536 + 1) nthreads = (int)(len / 65536 + 1);   /* >= 64 KB each */
    size_t *cut = INH__ALLOC(size_t, (size_t)nthreads + 1);
    inh__enc *enc = INH__ALLOC(inh__enc, nthreads);
    int *status = INH__ALLOC(int, nthreads), rc = -1;
    if (!cut || !enc || !status) goto done;
    cut[0] = 0;
    for (int k = 1; k < nthreads; k++) {
        size_t want = len / (size_t)nthreads * (size_t)k;
        cut[k] = inh__next_cut(text, len, want > cut[k - 1] ? want : cut[k - 1]);
    }
    cut[nthreads] = len;
    for (int k = 0; k < nthreads; k++) inh__enc_init(&enc[k], t);
    {
        inh__encmt c = {text, cut, enc, allow_special, status};
        inh__parallel(nthreads, nthreads, inh__encmt_run, &c);
    }
    {
        size_t total = 0;
        for (int k = 0; k < nthreads; k++) { if (status[k]) goto freeenc; total += enc[k].n; }
        int *out = INH__ALLOC(int, total);
        if (!out) goto freeenc;
        size_t o = 0;
        for (int k = 0; k < nthreads; k++) { if (enc[k].n) memcpy(out + o, enc[k].out, enc[k].n * sizeof *out); o += enc[k].n; }
        *ids = out; *n = total;
        rc = 0;
    }
freeenc:
    for (int k = 0; k < nthreads; k++) inh__enc_free(&enc[k]);
done:
    INH_FREE(cut); INH_FREE(enc); INH_FREE(status);
    return rc;
}

INHDEF int inh_tokenizer_decode(const inh_tokenizer *t, const int *ids, size_t n, unsigned char **out, size_t *len) {
    size_t total = 0;
    *out = NULL; *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->V) return inh__fail("decode: id %d at position %zu is out of range [0, %d)", ids[i], i, t->V);
        total += t->off[ids[i] + 1] - t->off[ids[i]];
    }
    unsigned char *b = INH__ALLOC(unsigned char, total);
    if (!b) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = t->off[ids[i] + 1] - t->off[ids[i]];
        memcpy(b + o, t->bytes + t->off[ids[i]], k);
        o += k;
    }
    *out = b; *len = total;
    return 0;
}

/* ---- llm.c token shards --------------------------------------------------------------------- */

typedef struct { size_t lo, hi; int eot; } inh__piece;   /* text [lo, hi), end-of-text before it */

typedef struct {
    const unsigned char *s;
    const inh__piece *pc;
    const size_t *first;        /* thread k encodes pieces first[k] .. first[k+1] */
    inh__enc *enc;
    int *status;
} inh__prepctx;
INH__FN void inh__prep_run(void *ctx, int lo, int hi) {
    inh__prepctx *c = (inh__prepctx *)ctx;
    for (int k = lo; k < hi; k++) {
        inh__enc *e = &c->enc[k];
        e->n = 0;
        c->status[k] = 0;
        for (size_t i = c->first[k]; i < c->first[k + 1] && !c->status[k]; i++) {
            const inh__piece *p = &c->pc[i];
            if (p->eot && inh__enc_push(e, &e->t->eot, 1)) c->status[k] = -1;
            else c->status[k] = inh__enc_ordinary(e, c->s + p->lo, p->hi - p->lo);
        }
    }
}

typedef struct { inh__wfile w; long long n; int open; } inh__shard;

INH__FN void inh__shard_put(inh__shard *sh, const int *ids, size_t n) {
    unsigned char buf[8192];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        buf[k++] = (unsigned char)ids[i]; buf[k++] = (unsigned char)(ids[i] >> 8);
        if (k == sizeof buf) { inh__wwrite(&sh->w, buf, k); k = 0; }
    }
    inh__wwrite(&sh->w, buf, k);
    sh->n += (long long)n;
}
INH__FN int inh__shard_close(inh__shard *sh) {
    unsigned char h[1024];
    memset(h, 0, sizeof h);
    if (sh->n > 0x7FFFFFFF) { inh__wabort(&sh->w); sh->open = 0; return inh__fail("%s: %lld tokens do not fit the int32 header", sh->w.path, sh->n); }
    inh__wr32(h, 20240520); inh__wr32(h + 4, 1); inh__wr32(h + 8, (uint32_t)sh->n);
    if (!sh->w.bad && fseek(sh->w.f, 0, SEEK_SET) != 0) sh->w.bad = errno ? errno : EIO;
    inh__wwrite(&sh->w, h, sizeof h);
    sh->open = 0;
    return inh__wclose(&sh->w);
}

/* add the pieces of text [lo, hi) to the list, cut at safe points every ~max bytes */
INH__FN int inh__add_pieces(inh__piece **pc, size_t *n, size_t *cap, const unsigned char *s, size_t lo, size_t hi, int eot, size_t max) {
    do {
        size_t end = hi - lo > max ? inh__next_cut(s, hi, lo + max) : hi;
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 1024;
            inh__piece *np = INH__CAST(inh__piece *, INH_REALLOC(*pc, c * sizeof *np));
            if (!np) return inh__fail("out of memory");
            *pc = np; *cap = c;
        }
        (*pc)[*n].lo = lo; (*pc)[*n].hi = end; (*pc)[*n].eot = eot;
        ++*n;
        eot = 0;
        lo = end;
    } while (lo < hi);
    return 0;
}

/* chunk: bytes read per batch (the tests make it tiny to exercise the streaming) */
INH__FN int inh__prepare(const inh_tokenizer *t, const char *input, const char *outdir, long long val_tokens,
                         int nthreads, int progress, size_t chunk, long long *nval, long long *ntrain) {
    if (t->kind == INH__TOK_DECODE_ONLY) return inh__fail("prepare: this tokenizer came from an llm.c tokenizer file and cannot encode");
    if (t->V > 65536) return inh__fail("prepare: vocabulary of %d tokens does not fit uint16 ids", t->V);
    if (t->eot < 0) return inh__fail("prepare: the tokenizer has no end-of-text token");
    if (val_tokens < 0) return inh__fail("prepare: negative number of validation tokens");
    if (nthreads < 1) nthreads = 1;
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) return inh__fail("%s: cannot create directory: %s", outdir, strerror(errno));
    char vpath[4096], tpath[4096];
    if (snprintf(vpath, sizeof vpath, "%s/val.bin", outdir) >= (int)sizeof vpath ||
        snprintf(tpath, sizeof tpath, "%s/train.bin", outdir) >= (int)sizeof tpath) return inh__fail("%s: path too long", outdir);
    FILE *in = fopen(input, "rb");
    if (!in) return inh__fail("%s: cannot open: %s", input, strerror(errno));
    inh__shard sh[2];   /* val, train */
    memset(sh, 0, sizeof sh);
    unsigned char *buf = NULL;
    inh__piece *pc = NULL;
    size_t npc = 0, pccap = 0, *first = NULL;
    inh__enc *enc = INH__CALLOC(inh__enc, nthreads);
    int *status = INH__ALLOC(int, nthreads), rc = -1;
    size_t cap = chunk, have = 0, piece_max = chunk / (size_t)nthreads / 4 + 1;
    long long done_bytes = 0;
    double t0 = inh_now(), tlast = t0;
    int eot_next = 1, eof = 0;
    buf = INH__ALLOC(unsigned char, cap);
    first = INH__ALLOC(size_t, (size_t)nthreads + 1);
    if (!enc || !status || !buf || !first) goto done;
    for (int k = 0; k < nthreads; k++) inh__enc_init(&enc[k], t);
    for (int k = 0; k < 2; k++) {
        unsigned char zero[1024];
        memset(zero, 0, sizeof zero);
        if (inh__wopen(&sh[k].w, k ? tpath : vpath)) goto done;
        sh[k].open = 1;
        inh__wwrite(&sh[k].w, zero, sizeof zero);
    }
    while (!eof) {
        while (have < cap && !eof) {
            size_t got = fread(buf + have, 1, cap - have, in);
            have += got;
            if (got == 0) { if (ferror(in)) { inh__fail("%s: read error", input); goto done; } eof = 1; }
        }
        /* sections end after each "\n\n", found left to right as Python's str.split does */
        size_t p = 0;
        npc = 0;
        for (;;) {
            size_t q = p;
            int found = 0;
            while (q + 1 < have) {
                const unsigned char *nl = (const unsigned char *)memchr(buf + q, '\n', have - q - 1);
                if (!nl) break;
                q = (size_t)(nl - buf);
                if (buf[q + 1] == '\n') { found = 1; break; }
                q++;
            }
            if (found) {
                size_t end = q + 2;
                if (inh__add_pieces(&pc, &npc, &pccap, buf, p, end, eot_next, piece_max)) goto done;
                p = end; eot_next = 1;
                continue;
            }
            if (eof) {            /* the last section, without "\n\n" (maybe empty) */
                if (inh__add_pieces(&pc, &npc, &pccap, buf, p, have, eot_next, piece_max)) goto done;
                p = have;
            } else if (p == 0) {  /* one section fills the buffer: cut it where no pre-token spans */
                size_t c = have - 1;
                while (c > 0 && !inh__safe_cut(buf, c)) c--;
                if (c > 0) {
                    if (inh__add_pieces(&pc, &npc, &pccap, buf, 0, c, eot_next, piece_max)) goto done;
                    p = c; eot_next = 0;
                } else {          /* no cut at all: read more */
                    unsigned char *nb = INH__CAST(unsigned char *, INH_REALLOC(buf, cap * 2));
                    if (!nb) { inh__fail("%s: out of memory (a section with no line breaks is larger than %zu bytes)", input, cap); goto done; }
                    buf = nb; cap *= 2;
                }
            }
            break;
        }
        if (npc) {
            /* thread k takes the pieces that start in its share of the bytes */
            size_t i = 0, total = pc[npc - 1].hi;
            first[0] = 0;
            for (int k = 1; k < nthreads; k++) {
                size_t lim = total / (size_t)nthreads * (size_t)k;
                while (i < npc && pc[i].lo < lim) i++;
                first[k] = i;
            }
            first[nthreads] = npc;
            inh__prepctx c = {buf, pc, first, enc, status};
            inh__parallel(nthreads, nthreads, inh__prep_run, &c);
            for (int k = 0; k < nthreads; k++) {
                if (status[k]) goto done;
                size_t n = enc[k].n, nv = 0;
                if (sh[0].n < val_tokens) nv = (size_t)(val_tokens - sh[0].n) < n ? (size_t)(val_tokens - sh[0].n) : n;
                inh__shard_put(&sh[0], enc[k].out, nv);
                inh__shard_put(&sh[1], enc[k].out + nv, n - nv);
            }
        }
        done_bytes += (long long)p;
        memmove(buf, buf + p, have - p);
        have -= p;
        if (progress && (inh_now() - tlast > 1.0 || eof)) {
            tlast = inh_now();
            fprintf(stderr, "\rprepare: %.1f MB read, %lld tokens (%.1f MB/s)%s", (double)done_bytes / 1e6,
                    sh[0].n + sh[1].n, (double)done_bytes / 1e6 / (tlast - t0 + 1e-9), eof ? "\n" : "");
        }
    }
    if (inh__shard_close(&sh[0])) goto done;
    if (inh__shard_close(&sh[1])) goto done;
    if (nval) *nval = sh[0].n;
    if (ntrain) *ntrain = sh[1].n;
    rc = 0;
done:
    for (int k = 0; k < 2; k++) if (sh[k].open) inh__wabort(&sh[k].w);
    fclose(in);
    for (int k = 0; enc && k < nthreads; k++) inh__enc_free(&enc[k]);
    INH_FREE(enc); INH_FREE(status); INH_FREE(buf); INH_FREE(pc); INH_FREE(first);
    return rc;
}

INHDEF int inh_prepare_shards(const inh_tokenizer *t, const char *input, const char *outdir, long long val_tokens,
                              int nthreads, int progress, long long *nval, long long *ntrain) {
    size_t chunk = (size_t)(nthreads > 0 ? nthreads : 1) << 20;
    if (chunk < ((size_t)4 << 20)) chunk = (size_t)4 << 20;
    return inh__prepare(t, input, outdir, val_tokens, nthreads, progress, chunk, nval, ntrain);
}
