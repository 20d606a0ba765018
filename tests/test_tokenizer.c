/* tests/test_tokenizer.c - the GPT-2 tokenizer, the byte tokenizer, llm.c's formats, prepare.

   Everywhere: Unicode classes, the pre-splitter against the Python `regex` module's splits of the
   GPT-2 pattern (pasted below), BPE on a tiny hand-made vocabulary against a direct transcription
   of GPT-2's bpe() (random words, short and long), byte round trips, bad files, shard streaming.
   With ../shared/data: the 73 GPT-2 vectors from both file layouts, random byte round trips,
   llm.c tokenizer files, and tiny shakespeare's llm.c shards byte for byte (sha256). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

/* tmpdir/name, in one of 64 rotating buffers */
static const char *tmp_path(const char *name) {
    static char buf[64][512];
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}
static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) { printf("cannot write %s\n", path); return; }
    fwrite(p, 1, n, f);
    fclose(f);
}
static void write_str(const char *path, const char *s) { write_file(path, s, strlen(s)); }

/* small SHA-256 (FIPS 180-4) for comparing shards with llm.c's */
static void sha256_hex(const unsigned char *msg, size_t len, char hex[65]) {
    static const uint32_t K[64] = {
        0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
        0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
        0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
        0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
        0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
        0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
        0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
        0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};
    uint32_t h[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
    size_t nblocks = (len + 9 + 63) / 64;
    for (size_t b = 0; b < nblocks; b++) {
        unsigned char blk[64];
        for (int i = 0; i < 64; i++) {
            size_t at = b * 64 + (size_t)i;
            blk[i] = at < len ? msg[at] : at == len ? 0x80 : 0;
        }
        if (b == nblocks - 1) for (int i = 0; i < 8; i++) blk[56 + i] = (unsigned char)((uint64_t)len * 8 >> (56 - 8 * i));
        uint32_t w[64], v[8];
        for (int i = 0; i < 16; i++) w[i] = (uint32_t)blk[4*i] << 24 | (uint32_t)blk[4*i+1] << 16 | (uint32_t)blk[4*i+2] << 8 | blk[4*i+3];
#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3), s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
            w[i] = w[i-16] + s0 + w[i-7] + s1;
        }
        memcpy(v, h, sizeof v);
        for (int i = 0; i < 64; i++) {
            uint32_t S1 = ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25), ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
            uint32_t t1 = v[7] + S1 + ch + K[i] + w[i];
            uint32_t S0 = ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22), mj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            memmove(v + 1, v, 7 * sizeof *v);
            v[4] += t1; v[0] = t1 + S0 + mj;
        }
#undef ROR
        for (int i = 0; i < 8; i++) h[i] += v[i];
    }
    for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", h[i]);
}
static int file_sha(const char *path, char hex[65], size_t *len) {
    unsigned char *d = NULL;
    if (inh__read_file(path, &d, len, 0)) { strcpy(hex, "(unreadable)"); return -1; }
    sha256_hex(d, *len, hex);
    free(d);
    return 0;
}

/* the byte b written in GPT-2's alphabet, as JSON string content */
static void gpt2_char(inh__buf *b, unsigned char byte) {
    int cp_byte[324], cp = -1;
    inh__gpt2_alphabet(cp_byte);
    for (int c = 0; c < 324; c++) if (cp_byte[c] == byte) cp = c;
    if (cp == '"' || cp == '\\') inh__buf_put(b, "\\", 1);
    inh__utf8_put(b, (uint32_t)cp);
}
/* a tiny vocabulary in OpenAI's layout: id b is byte b, then the merges' results in order */
static void write_tiny_vocab(const char *dir, const char *const *merges, int nmerges, int with_eot) {
    inh__buf v = {NULL, 0, 0}, m = {NULL, 0, 0};
    char num[32], path[600];
    inh__buf_put(&v, "{", 1);
    for (int b = 0; b < 256; b++) {
        inh__buf_put(&v, b ? ", \"" : "\"", b ? 3 : 1);
        gpt2_char(&v, (unsigned char)b);
        snprintf(num, sizeof num, "\": %d", b);
        inh__buf_put(&v, num, strlen(num));
    }
    inh__buf_put(&m, "#version: 0.2\n", 14);
    for (int k = 0; k < nmerges; k++) {          /* merges[k] is "X Y" in plain bytes, '_' for a space */
        inh__buf_put(&v, ", \"", 3);
        for (const char *c = merges[k]; *c; c++) {
            unsigned char ch = *c == '_' ? ' ' : (unsigned char)*c;
            if (*c != ' ') gpt2_char(&v, ch);
            if (*c == ' ') inh__buf_put(&m, " ", 1); else gpt2_char(&m, ch);
        }
        inh__buf_put(&m, "\n", 1);
        snprintf(num, sizeof num, "\": %d", 256 + k);
        inh__buf_put(&v, num, strlen(num));
    }
    if (with_eot) { snprintf(num, sizeof num, ", \"<|endoftext|>\": %d", 256 + nmerges); inh__buf_put(&v, num, strlen(num)); }
    inh__buf_put(&v, "}\n", 2);
    inh_make_dir(dir);
    snprintf(path, sizeof path, "%s/encoder.json", dir); write_file(path, v.p, v.n);
    snprintf(path, sizeof path, "%s/vocab.bpe", dir); write_file(path, m.p, m.n);
    free(v.p); free(m.p);
}

static int ids_equal(const int *a, size_t na, const int *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}
static int enc(const inh_tokenizer *t, const char *s, int allow, int **ids, size_t *n) {
    return inh_tokenizer_encode(t, (const unsigned char *)s, strlen(s), allow, ids, n);
}
static int roundtrip(const inh_tokenizer *t, const unsigned char *s, size_t n) {
    int *ids; size_t nid, nb; unsigned char *back;
    if (inh_tokenizer_encode(t, s, n, 0, &ids, &nid)) return 0;
    int ok = inh_tokenizer_decode(t, ids, nid, &back, &nb) == 0 && nb == n && (n == 0 || memcmp(back, s, n) == 0);
    inh_tokenizer_free_ids(ids);
    if (ok) inh_tokenizer_free_bytes(back);
    return ok;
}
static int error_names(const char *what) { return strstr(inh_error(), what) != NULL; }

/* ---- everywhere ---------------------------------------------------------------------------- */

static void test_unicode_classes(void) {
    static const struct { uint32_t cp; int cls; } c[] = {
        {'a', 1}, {'Z', 1}, {'0', 2}, {' ', 3}, {'\t', 3}, {'\n', 3}, {0x0B, 3}, {0x1C, 0}, {'\'', 0}, {'_', 0},
        {0xAA, 1}, {0xB2, 2}, {0xBD, 2}, {0xA0, 3}, {0x85, 3}, {0xE9, 1}, {0x301, 0}, {0x661, 2}, {0x216B, 2},
        {0x1680, 3}, {0x2000, 3}, {0x200A, 3}, {0x200B, 0}, {0x2028, 3}, {0x202F, 3}, {0x3000, 3}, {0x65E5, 1},
        {0x9FFF, 1}, {0xAC00, 1}, {0xD7A3, 1}, {0xD800, 0}, {0xE000, 0}, {0x1F600, 0}, {0x20000, 1}, {0x1D7CE, 2},
        {0x10FFFF, 0}, {0xE01EF, 0}};
    int ok = 1;
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        int got = inh__uni_class(c[i].cp);
        if (got != c[i].cls) { ok = 0; printf("  U+%04X: class %d, want %d\n", c[i].cp, got, c[i].cls); }
    }
    CHECK(ok, "Unicode classes of %d sample code points", (int)(sizeof c / sizeof *c));
    int sorted = 1;
    for (int k = 1; k < INH__UNI_NBOUNDS; k++) sorted &= (inh__uni_bounds[k] >> 2) > (inh__uni_bounds[k - 1] >> 2);
    CHECK(sorted && inh__uni_bounds[0] >> 2 == 0, "class table sorted from U+0000");
}

/* splits of the GPT-2 pattern by Python's `regex` module (pieces joined with '|') */
static void test_pretokenizer(void) {
    static const char *const cases[][2] = {
        {"Hello world's  \n\n 123 x", "Hello| world|'s|  \n\n| 123| x"},
        {"a   b", "a|  | b"},
        {"  \n", "  \n"},
        {"'s'S 'll'lll 're'v", "'s|'|S| '|ll|'ll|l| '|re|'|v"},
        {"x\xc2\xa0\xc2\xa0y", "x|\xc2\xa0|\xc2\xa0|y"},
        {"ab12cd", "ab|12|cd"},
        {" ?!... ", " ?!...| "},
        {"\t\tfoo  ", "\t|\t|foo|  "},
        {"don't", "don|'t"},
        {"\xe3\x80\x80\xe3\x80\x80\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe3\x80\x80|\xe3\x80\x80|\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
        {"\xd9\xa1\xd9\xa2\xd9\xa3 x", "\xd9\xa1\xd9\xa2\xd9\xa3| x"},
        {"\xe2\x85\xabx \xc2\xbd", "\xe2\x85\xab|x| \xc2\xbd"},
        {"  ''s\n\n\nz", " | ''|s|\n\n|\n|z"},
        {"e\xcc\x81t\xc3\xa9", "e|\xcc\x81|t\xc3\xa9"},
        {"a\xe2\x80\xa8" "b \xe2\x80\xa9 c", "a|\xe2\x80\xa8|b| \xe2\x80\xa9| c"},
        {"\xf0\x9f\x98\x80\xf0\x9f\x98\x80 x\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80| x|\xf0\x9f\x98\x80"},
        /* not UTF-8 (our rule, not Python's): each invalid byte is one "other" character */
        {"a\xff\xfe b", "a|\xff\xfe| b"},
        {"x \xc3(\xed\xa0\x80 \xe2\x82", "x| \xc3(\xed\xa0\x80| \xe2\x82"},
        {"ab\xc3", "ab|\xc3"},
        {" \xf0\x9f\x98", " \xf0\x9f\x98"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const unsigned char *s = (const unsigned char *)cases[c][0];
        size_t n = strlen(cases[c][0]);
        char got[256];
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            size_t j = inh__pretok_end(s, n, i);
            if (i) got[o++] = '|';
            memcpy(got + o, s + i, j - i);
            o += j - i;
            i = j;
        }
        got[o] = 0;
        CHECK(strcmp(got, cases[c][1]) == 0, "pre-split case %d: got \"%s\" want \"%s\"", (int)c, got, cases[c][1]);
    }
}

static void test_bytes_tokenizer(void) {
    inh_tokenizer *t;
    CHECK(inh_tokenizer_load(&t, "bytes") == 0, "load bytes: %s", inh_error());
    CHECK(inh_tokenizer_vocab_size(t) == 257 && inh_tokenizer_eot(t) == 256, "bytes: V 257, eot 256");
    int *ids; size_t n;
    CHECK(enc(t, "a<|endoftext|>b", 1, &ids, &n) == 0 && n == 3 && ids[0] == 'a' && ids[1] == 256 && ids[2] == 'b', "bytes: special allowed");
    inh_tokenizer_free_ids(ids);
    CHECK(enc(t, "a<|endoftext|>b", 0, &ids, &n) == 0 && n == 15 && ids[1] == '<', "bytes: special as text by default");
    inh_tokenizer_free_ids(ids);
    inh_rng r;
    inh_rng_seed(&r, 1);
    int ok = 1;
    unsigned char s[3000];
    for (int k = 0; k < 50; k++) {
        size_t len = inh_rng_u64(&r) % sizeof s;
        for (size_t i = 0; i < len; i++) s[i] = (unsigned char)inh_rng_u64(&r);
        ok &= roundtrip(t, s, len);
    }
    CHECK(ok, "bytes: 50 random byte strings round-trip");
    int bad[2] = {5, 257};
    unsigned char *out; size_t nb;
    CHECK(inh_tokenizer_decode(t, bad, 2, &out, &nb) == -1 && error_names("257") && error_names("position 1"), "bytes: decode rejects id 257: %s", inh_error());
    /* llm.c tokenizer file round trip */
    const char *p = tmp_path("bytes_tok.bin");
    inh_tokenizer *u;
    CHECK(inh_tokenizer_save_llmc(t, p) == 0, "save llm.c bytes tokenizer: %s", inh_error());
    int lrc = inh_tokenizer_load(&u, p);
    CHECK(lrc == 0, "load llm.c bytes tokenizer: %s", inh_error());
    if (lrc == 0) {
        int all[257];
        for (int i = 0; i < 257; i++) all[i] = i;
        unsigned char *a = NULL, *b = NULL; size_t na, nb2;
        CHECK(inh_tokenizer_vocab_size(u) == 257 && inh_tokenizer_eot(u) == 256 && !inh_tokenizer_can_encode(u), "llm.c bytes: V, eot, decode only");
        CHECK(inh_tokenizer_decode(t, all, 257, &a, &na) == 0 && inh_tokenizer_decode(u, all, 257, &b, &nb2) == 0 &&
              na == nb2 && memcmp(a, b, na) == 0, "llm.c bytes: same bytes for every id");
        free(a); free(b);
        CHECK(inh_tokenizer_encode(u, (const unsigned char *)"x", 1, 0, &ids, &n) == -1 && error_names("llm.c"), "llm.c tokenizer cannot encode: %s", inh_error());
        inh_tokenizer_free(u);
    }
    inh_tokenizer_free(t);
}

/* GPT-2's bpe(): merge every occurrence of the lowest-ranked pair, repeat */
static size_t ref_bpe(char word[][400], size_t m, char merges[][2][400], int nm) {
    for (;;) {
        int best = nm;
        for (size_t i = 0; i + 1 < m; i++)
            for (int k = 0; k < best; k++)
                if (!strcmp(word[i], merges[k][0]) && !strcmp(word[i + 1], merges[k][1])) { best = k; break; }
        if (best == nm) return m;
        size_t o = 0;
        for (size_t i = 0; i < m; o++) {
            if (i + 1 < m && !strcmp(word[i], merges[best][0]) && !strcmp(word[i + 1], merges[best][1])) {
                snprintf(word[o], 400, "%.199s%.199s", merges[best][0], merges[best][1]);
                i += 2;
            } else {
                if (o != i) strcpy(word[o], word[i]);
                i++;
            }
        }
        m = o;
    }
}

static void test_tiny_vocab(void) {
    static const char *const merges[] = {"a b", "ab c", "_ a", "a a", "aa aa", "1 2"};
    const char *dir = tmp_path("tiny");
    write_tiny_vocab(dir, merges, 6, 1);
    inh_tokenizer *t;
    if (inh_tokenizer_load(&t, dir)) { CHECK(0, "load tiny vocabulary: %s", inh_error()); return; }
    CHECK(inh_tokenizer_vocab_size(t) == 263 && inh_tokenizer_eot(t) == 262, "tiny: V 263, eot 262");
    static const struct { const char *s; int allow; int n; int ids[8]; } c[] = {
        {"abc", 0, 1, {257}},
        {"abcab", 0, 2, {257, 256}},
        {" aaaaa", 0, 2, {258, 260}},
        {"aaa", 0, 2, {259, 'a'}},
        {"a  ab", 0, 4, {'a', ' ', ' ', 256}},      /* " ab": (a,b) ranks before (" ",a) */
        {"12312", 0, 3, {261, '3', 261}},
        {"x<|endoftext|>y", 1, 3, {'x', 262, 'y'}},
        {"<|endoftext|><|endoftext|>", 1, 2, {262, 262}},
        {"", 0, 0, {0}},
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        int *ids; size_t n;
        int rc = enc(t, c[k].s, c[k].allow, &ids, &n);
        int ok = rc == 0 && ids_equal(ids, n, c[k].ids, (size_t)c[k].n);
        CHECK(ok, "tiny: encode \"%s\" (allow_special %d)", c[k].s, c[k].allow);
        if (!rc) inh_tokenizer_free_ids(ids);
    }
    int *ids; size_t n;
    CHECK(enc(t, "x<|endoftext|>y", 0, &ids, &n) == 0 && n == 15 && ids[1] == '<', "tiny: <|endoftext|> is text unless allowed");
    inh_tokenizer_free_ids(ids);
    inh_tokenizer_free(t);

    /* random merges over {a,b,c} made the way BPE training makes them, random words up to 300
       letters (the heap path above 64): same ids as GPT-2's bpe() */
    static char mg[48][2][400], tokstr[48][400], word[300][400];
    static const char *mline[48];
    static char mbuf[48][800];
    inh_rng r;
    inh_rng_seed(&r, 7);
    int nm = 0;
    while (nm < 40) {
        int na = 3 + nm;
        int x = (int)(inh_rng_u64(&r) % (uint64_t)na), y = (int)(inh_rng_u64(&r) % (uint64_t)na);
        const char *sx = x < 3 ? (x == 0 ? "a" : x == 1 ? "b" : "c") : tokstr[x - 3];
        const char *sy = y < 3 ? (y == 0 ? "a" : y == 1 ? "b" : "c") : tokstr[y - 3];
        char cat[800];
        snprintf(cat, sizeof cat, "%s%s", sx, sy);
        if (strlen(cat) > 12) continue;
        int dup = 0;
        for (int k = 0; k < nm; k++) dup |= !strcmp(tokstr[k], cat);
        if (dup || strlen(cat) < 2) continue;
        snprintf(tokstr[nm], 400, "%.12s", cat);
        snprintf(mg[nm][0], 400, "%s", sx); snprintf(mg[nm][1], 400, "%s", sy);
        snprintf(mbuf[nm], 800, "%s %s", sx, sy);
        mline[nm] = mbuf[nm];
        nm++;
    }
    const char *dir2 = tmp_path("tiny_abc");
    write_tiny_vocab(dir2, mline, nm, 0);
    if (inh_tokenizer_load(&t, dir2)) { CHECK(0, "load random vocabulary: %s", inh_error()); return; }
    CHECK(inh_tokenizer_eot(t) == -1, "tiny_abc: no end-of-text token");
    int agree = 0, tried = 0;
    for (int w = 0; w < 400; w++) {
        size_t m = 1 + (size_t)(inh_rng_u64(&r) % (w < 300 ? 64 : 300));
        char text[301];
        for (size_t i = 0; i < m; i++) {
            text[i] = "abc"[inh_rng_u64(&r) % 3];
            word[i][0] = text[i]; word[i][1] = 0;
        }
        text[m] = 0;
        size_t rm = ref_bpe(word, m, mg, nm);
        int want[300];
        for (size_t i = 0; i < rm; i++) {
            want[i] = word[i][1] ? -1 : (unsigned char)word[i][0];
            for (int k = 0; k < nm && want[i] < 0; k++) if (!strcmp(word[i], tokstr[k])) want[i] = 256 + k;
        }
        tried++;
        if (enc(t, text, 0, &ids, &n) == 0) {
            agree += ids_equal(ids, n, want, rm);
            inh_tokenizer_free_ids(ids);
        }
    }
    CHECK(agree == tried, "tiny_abc: %d of %d random words match GPT-2's bpe()", agree, tried);
    inh_tokenizer_free(t);
}

static void test_bad_files(void) {
    static const char *const merges[] = {"a b"};
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp_path("bad"));
    write_tiny_vocab(dir, merges, 1, 1);
    inh_tokenizer *t = NULL;
    char ej[600], vb[600];
    snprintf(ej, sizeof ej, "%s/encoder.json", dir);
    snprintf(vb, sizeof vb, "%s/vocab.bpe", dir);
    unsigned char *good; size_t glen;
    if (inh__read_file(ej, &good, &glen, 0)) { CHECK(0, "read back %s", ej); return; }

    const char *p = tmp_path("bad_malformed.json");
    write_str(p, "{\"a\": 0,\n \"b\" 1}");
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("line 2"), "malformed JSON: %s", inh_error());
    p = tmp_path("bad_truncated.json");
    write_file(p, good, glen / 2);
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("ends"), "truncated JSON: %s", inh_error());
    p = tmp_path("bad_string.json");
    write_str(p, "{\"a\\q\": 0}");
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("escape"), "bad escape: %s", inh_error());
    p = tmp_path("bad_dup.json");
    {
        inh__buf b = {NULL, 0, 0};
        inh__buf_put(&b, good, glen - 2);                 /* drop "}\n" */
        inh__buf_put(&b, ", \"zz\": 5}", 10);
        write_file(p, b.p, b.n);
        free(b.p);
    }
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("duplicate id 5"), "duplicate ids: %s", inh_error());
    p = tmp_path("bad_gap.json");
    {
        inh__buf b = {NULL, 0, 0};
        inh__buf_put(&b, good, glen - 2);
        inh__buf_put(&b, ", \"zz\": 300}", 12);
        write_file(p, b.p, b.n);
        free(b.p);
    }
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("id 258"), "missing ids: %s", inh_error());
    p = tmp_path("bad_id.json");
    write_str(p, "{\"a\": -3}");
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p), "negative id: %s", inh_error());
    p = tmp_path("bad_frac.json");
    write_str(p, "{\"a\": 1.5}");
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p), "fractional id: %s", inh_error());
    p = tmp_path("bad_trailing.json");
    {
        inh__buf b = {NULL, 0, 0};
        inh__buf_put(&b, good, glen);
        inh__buf_put(&b, "{}", 2);
        write_file(p, b.p, b.n);
        free(b.p);
    }
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("after"), "data after the JSON: %s", inh_error());
    p = tmp_path("bad_bytes.json");
    write_str(p, "{\"a\": 0, \"b\": 1, \"ab\": 2}");
    CHECK(inh_tokenizer_load_files(&t, p, vb) == -1 && error_names(p) && error_names("byte"), "vocabulary without byte tokens: %s", inh_error());

    p = tmp_path("bad_unknown.bpe");
    write_str(p, "#version: 0.2\na b\nzz q\n");
    CHECK(inh_tokenizer_load_files(&t, ej, p) == -1 && error_names(p) && error_names(":3") && error_names("zz"), "merges with an unknown symbol: %s", inh_error());
    p = tmp_path("bad_form.bpe");
    write_str(p, "#version: 0.2\na b\nab\n");
    CHECK(inh_tokenizer_load_files(&t, ej, p) == -1 && error_names(p) && error_names(":3"), "merge line without a pair: %s", inh_error());
    p = tmp_path("bad_result.bpe");
    write_str(p, "#version: 0.2\na b\nb a\n");
    CHECK(inh_tokenizer_load_files(&t, ej, p) == -1 && error_names(p) && error_names(":3"), "merge whose result is not a token: %s", inh_error());
    CHECK(inh_tokenizer_load_files(&t, ej, tmp_path("no_such.bpe")) == -1 && error_names("no_such.bpe"), "missing merges file: %s", inh_error());

    const char *d2 = tmp_path("bad_nomerges");
    char path[600];
    inh_make_dir(d2);
    snprintf(path, sizeof path, "%s/encoder.json", d2);
    write_file(path, good, glen);
    CHECK(inh_tokenizer_load(&t, d2) == -1 && error_names("vocab.bpe") && error_names("without its merges"), "vocabulary without its merges: %s", inh_error());
    const char *d3 = tmp_path("bad_empty");
    inh_make_dir(d3);
    CHECK(inh_tokenizer_load(&t, d3) == -1 && error_names(d3), "directory without a tokenizer: %s", inh_error());
    CHECK(inh_tokenizer_load(&t, tmp_path("nothing_here")) == -1 && error_names("nothing_here"), "no such path: %s", inh_error());
    free(good);

    /* llm.c tokenizer files */
    if (inh_tokenizer_load(&t, dir)) { CHECK(0, "load %s: %s", dir, inh_error()); return; }
    const char *lp = tmp_path("tiny_tok.bin");
    CHECK(inh_tokenizer_save_llmc(t, lp) == 0, "save llm.c tokenizer: %s", inh_error());
    int hi[2] = {1, 258};
    unsigned char *out; size_t nb;
    CHECK(inh_tokenizer_decode(t, hi, 2, &out, &nb) == -1 && error_names("258"), "decode rejects id V: %s", inh_error());
    hi[1] = -1;
    CHECK(inh_tokenizer_decode(t, hi, 2, &out, &nb) == -1 && error_names("-1"), "decode rejects id -1: %s", inh_error());
    inh_tokenizer_free(t);
    unsigned char *l; size_t ll;
    if (inh__read_file(lp, &l, &ll, 0)) { CHECK(0, "read back %s", lp); return; }
    p = tmp_path("bad_trunc_tok.bin");
    write_file(p, l, ll - 1);
    CHECK(inh_tokenizer_load_llmc(&t, p) == -1 && error_names(p) && error_names("truncated at token 257"), "truncated llm.c tokenizer: %s", inh_error());
    write_file(p, l, 600);
    CHECK(inh_tokenizer_load(&t, p) == -1 && error_names(p) && error_names("header"), "truncated llm.c header: %s", inh_error());
    l[0] ^= 1;
    write_file(p, l, ll);
    CHECK(inh_tokenizer_load_llmc(&t, p) == -1 && error_names(p) && error_names("magic"), "llm.c tokenizer with a bad magic: %s", inh_error());
    l[0] ^= 1;
    write_file(p, l, ll);
    {
        FILE *f = fopen(p, "ab");
        if (f) { fputc('x', f); fclose(f); }
    }
    CHECK(inh_tokenizer_load_llmc(&t, p) == -1 && error_names(p) && error_names("after the last token"), "llm.c tokenizer with extra bytes: %s", inh_error());
    free(l);
}

/* llm.c's split: sections at "\n\n" left to right; EOT, then each section with its "\n\n" */
static size_t ref_sections(const inh_tokenizer *t, const unsigned char *s, size_t n, int *out) {
    size_t o = 0, a = 0;
    int *ids; size_t k;
    for (;;) {
        size_t e = a;
        while (e + 1 < n && !(s[e] == '\n' && s[e + 1] == '\n')) e++;
        int last = e + 1 >= n;
        size_t end = last ? n : e + 2;
        out[o++] = inh_tokenizer_eot(t);
        if (inh_tokenizer_encode(t, s + a, end - a, 0, &ids, &k) == 0) { memcpy(out + o, ids, k * sizeof *ids); o += k; inh_tokenizer_free_ids(ids); }
        if (last) return o;
        a = end;
    }
}
/* read a shard: its ids into out, returns count or -1 if the header is wrong */
static long read_shard(const char *path, int *out, size_t max) {
    unsigned char *d = NULL; size_t n = 0;
    if (inh__read_file(path, &d, &n, 0)) return -1;
    long cnt = -1;
    if (n >= 1024 && inh__rd32(d) == 20240520 && inh__rd32(d + 4) == 1 && (n - 1024) == 2 * (size_t)inh__rd32(d + 8) && inh__rd32(d + 8) <= max) {
        cnt = (long)inh__rd32(d + 8);
        for (long i = 0; i < cnt; i++) out[i] = d[1024 + 2 * i] | d[1024 + 2 * i + 1] << 8;
    }
    free(d);
    return cnt;
}

static void test_prepare_streaming(void) {
    inh_tokenizer *t;
    if (inh_tokenizer_load(&t, "bytes")) return;
    static const char *const texts[] = {"a", "\n\n", "a\n\nb", "a\n\n\nb\n\n\n\nc\n\n", "\n\n\n\n\n", "x\ny\nz\n\nw"};
    static unsigned char big[20000];
    static int want[40000], got[40000];
    inh_rng r;
    inh_rng_seed(&r, 3);
    for (size_t i = 0; i < sizeof big; i++) big[i] = "ab \n\n\nX"[inh_rng_u64(&r) % 7];
    char in[512], outdir[512], vp[600], tp[600];
    snprintf(in, sizeof in, "%s", tmp_path("prep_in.txt"));
    snprintf(outdir, sizeof outdir, "%s", tmp_path("prep_out"));
    snprintf(vp, sizeof vp, "%s/val.bin", outdir);
    snprintf(tp, sizeof tp, "%s/train.bin", outdir);
    int ok = 1, tried = 0;
    for (size_t c = 0; c <= sizeof texts / sizeof *texts; c++) {
        const unsigned char *s = c < sizeof texts / sizeof *texts ? (const unsigned char *)texts[c] : big;
        size_t n = c < sizeof texts / sizeof *texts ? strlen(texts[c]) : sizeof big;
        write_file(in, s, n);
        size_t nw = ref_sections(t, s, n, want);
        static const size_t chunks[] = {1, 2, 3, 7, 64, 1 << 20};
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
            for (int th = 1; th <= 3; th += 2) {
                long long nv, nt;
                long val = (long)(n % 5);
                tried++;
                if (inh__prepare(t, in, outdir, val, th, 0, chunks[k], &nv, &nt)) { ok = 0; printf("  prepare: %s\n", inh_error()); continue; }
                long a = read_shard(vp, got, 40000);
                long b = a < 0 ? -1 : read_shard(tp, got + a, 40000 - (size_t)a);
                int same = a >= 0 && b >= 0 && (size_t)(a + b) == nw && a == (val < (long)nw ? val : (long)nw) &&
                           nv == a && nt == b && memcmp(got, want, nw * sizeof *want) == 0;
                if (!same) { ok = 0; printf("  text %d chunk %d threads %d: shards differ\n", (int)c, (int)chunks[k], th); }
            }
        }
    }
    CHECK(ok, "prepare (bytes tokenizer): %d runs over texts x chunk sizes x threads match llm.c's split", tried);
    CHECK(inh_prepare_shards(t, tmp_path("no_such_input.txt"), outdir, 10, 1, 0, NULL, NULL) == -1 && error_names("no_such_input"), "prepare: missing input: %s", inh_error());
    write_file(in, (const unsigned char *)"", 0);   /* (issue 25 #11: an empty file is refused, not one end-of-text token) */
    CHECK(inh_prepare_shards(t, in, outdir, 0, 1, 0, NULL, NULL) == -1 && error_names("is empty"), "prepare: empty input: %s", inh_error());
    inh_tokenizer_free(t);
}

/* ---- with ../shared/data ------------------------------------------------------------------- */

static void test_vectors(const char *data, const char *layout) {
    char dir[512], path[512];
    snprintf(dir, sizeof dir, "%s/%s", data, layout);
    snprintf(path, sizeof path, "%s/tokenizer_tests/gpt2_token_vectors.json", data);
    inh_tokenizer *t;
    if (inh_tokenizer_load(&t, dir)) { CHECK(0, "load %s: %s", dir, inh_error()); return; }
    CHECK(inh_tokenizer_vocab_size(t) == 50257 && inh_tokenizer_eot(t) == 50256, "%s: V 50257, eot 50256", layout);
    unsigned char *d = NULL; size_t n = 0;
    if (inh__read_file(path, &d, &n, 0)) { CHECK(0, "%s", inh_error()); inh_tokenizer_free(t); return; }
    inh__json j;
    inh__json_init(&j, d, n, path);
    inh__buf text = {NULL, 0, 0}, key = {NULL, 0, 0};
    int cases = 0, pass = 0, want[4096], rc = inh__json_expect(&j, '[');
    while (!rc && inh__json_peek(&j) == '{') {
        j.p++;
        int nw = 0, special = 0;
        text.n = 0;
        while (!rc) {
            if ((rc = inh__json_str(&j, &key)) || (rc = inh__json_expect(&j, ':'))) break;
            if (key.n == 4 && !memcmp(key.p, "text", 4)) rc = inh__json_str(&j, &text);
            else if (key.n == 7 && !memcmp(key.p, "special", 7)) rc = inh__json_bool(&j, &special);
            else if (key.n == 3 && !memcmp(key.p, "ids", 3)) {
                if ((rc = inh__json_expect(&j, '['))) break;
                while (!rc && inh__json_peek(&j) != ']' && nw < 4096) {
                    long long v;
                    if ((rc = inh__json_int(&j, &v))) break;
                    want[nw++] = (int)v;
                    if (inh__json_peek(&j) == ',') j.p++;
                }
                if (!rc) rc = inh__json_expect(&j, ']');
            } else rc = inh__json_skip(&j);
            if (rc || inh__json_peek(&j) != ',') break;
            j.p++;
        }
        if (rc || (rc = inh__json_expect(&j, '}'))) break;
        int *ids; size_t k;
        cases++;
        if (inh_tokenizer_encode(t, text.p, text.n, special, &ids, &k) == 0) {
            int ok = ids_equal(ids, k, want, (size_t)nw);
            pass += ok;
            if (!ok) printf("  %s: mismatch on \"%.*s\"\n", layout, (int)text.n, text.p);
            inh_tokenizer_free_ids(ids);
        }
        if (inh__json_peek(&j) == ',') j.p++;
    }
    CHECK(rc == 0, "read %s: %s", path, inh_error());
    CHECK(cases == 73 && pass == cases, "%s: %d of %d GPT-2 vectors encode exactly", layout, pass, cases);
    free(text.p); free(key.p); free(d);
    inh_tokenizer_free(t);
}

static void test_gpt2(const char *data) {
    char dir[512], path[512];
    snprintf(dir, sizeof dir, "%s/gpt2", data);
    inh_tokenizer *t;
    if (inh_tokenizer_load(&t, dir)) { CHECK(0, "load %s: %s", dir, inh_error()); return; }
    /* random bytes, random UTF-8-ish text, long runs */
    inh_rng r;
    inh_rng_seed(&r, 11);
    static unsigned char s[70000];
    int ok = 1;
    static const char *const pieces[] = {" ", "a", "1", "\n", "'s", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xff", "\xe2\x82", "\xc2\xa0", "!", "<|endoftext|>"};
    for (int k = 0; k < 200; k++) {
        size_t len = 0, want = inh_rng_u64(&r) % 3000;
        int mode = k % 3;
        while (len < want) {
            if (mode == 0) s[len++] = (unsigned char)inh_rng_u64(&r);
            else {
                const char *pc = pieces[inh_rng_u64(&r) % (sizeof pieces / sizeof *pieces)];
                size_t rep = mode == 2 ? 1 + inh_rng_u64(&r) % 200 : 1;
                for (size_t q = 0; q < rep && len + strlen(pc) <= sizeof s; q++) { memcpy(s + len, pc, strlen(pc)); len += strlen(pc); }
            }
        }
        ok &= roundtrip(t, s, len);
    }
    CHECK(ok, "gpt2: 200 random byte strings round-trip");
    memset(s, '7', sizeof s);
    ok = roundtrip(t, s, sizeof s);
    memset(s, ' ', sizeof s);
    ok &= roundtrip(t, s, sizeof s);
    CHECK(ok, "gpt2: 70 kB of one digit / of spaces round-trip");

    /* llm.c tokenizer file written from it decodes the same */
    const char *lp = tmp_path("gpt2_tok.bin");
    inh_tokenizer *u;
    CHECK(inh_tokenizer_save_llmc(t, lp) == 0, "save gpt2 llm.c tokenizer: %s", inh_error());
    if (inh_tokenizer_load_llmc(&u, lp) == 0) {
        static int all[50257];
        for (int i = 0; i < 50257; i++) all[i] = i;
        unsigned char *a = NULL, *b = NULL; size_t na, nb;
        CHECK(inh_tokenizer_vocab_size(u) == 50257 && inh_tokenizer_eot(u) == 50256, "llm.c gpt2: V, eot");
        CHECK(inh_tokenizer_decode(t, all, 50257, &a, &na) == 0 && inh_tokenizer_decode(u, all, 50257, &b, &nb) == 0 &&
              na == nb && memcmp(a, b, na) == 0, "llm.c gpt2: same bytes for all 50257 ids");
        free(a); free(b);
        inh_tokenizer_free(u);
    } else CHECK(0, "load gpt2 llm.c tokenizer: %s", inh_error());

    /* tiny shakespeare: count, threads, shards */
    snprintf(path, sizeof path, "%s/corpus/tinyshakespeare.txt", data);
    unsigned char *txt; size_t n;
    if (inh__read_file(path, &txt, &n, 0)) { CHECK(0, "%s", inh_error()); inh_tokenizer_free(t); return; }
    int *ids, *ids4; size_t k, k4;
    double t0 = inh_now();
    CHECK(inh_tokenizer_encode(t, txt, n, 0, &ids, &k) == 0 && k == 338025, "tiny shakespeare: 338,025 GPT-2 tokens (got %zu)", k);
    double t1 = inh_now();
    CHECK(inh_tokenizer_encode_mt(t, txt, n, 0, 4, &ids4, &k4) == 0 && ids_equal(ids, k, ids4, k4), "tiny shakespeare: 4 threads give the same ids");
    printf("  (encode tiny shakespeare, one thread: %.1f MB/s)\n", (double)n / 1e6 / (t1 - t0));
    inh_tokenizer_free_ids(ids4);
    unsigned char *back; size_t nb;
    CHECK(inh_tokenizer_decode(t, ids, k, &back, &nb) == 0 && nb == n && memcmp(back, txt, n) == 0, "tiny shakespeare round-trips");
    free(back);
    inh_tokenizer_free_ids(ids);

    static const char vsha[] = "fe99db720dc7c83e694806d4e047a952909411da1daccde4ccc2e55f40882a62";
    static const char tsha[] = "8a70606be574040c26d225694f5f9759973b419852d22f7fe5c118e1b359dcc8";
    for (int run = 0; run < 2; run++) {
        const char *out = tmp_path(run ? "shards_small_chunks" : "shards");
        long long nv = 0, nt = 0;
        int rc = run ? inh__prepare(t, path, out, 32768, 3, 0, 4096, &nv, &nt) : inh_prepare_shards(t, path, out, 32768, 2, 0, &nv, &nt);
        CHECK(rc == 0, "prepare: %s", inh_error());
        char hv[65], ht[65], vp[600], tp[600];
        size_t lv = 0, lt = 0;
        snprintf(vp, sizeof vp, "%s/val.bin", out);
        snprintf(tp, sizeof tp, "%s/train.bin", out);
        file_sha(vp, hv, &lv);
        file_sha(tp, ht, &lt);
        CHECK(nv == 32768 && lt == 1024 + 2 * (size_t)nt, "prepare: token counts reported (%lld, %lld)", nv, nt);
        CHECK(!strcmp(hv, vsha) && lv == 66560, "%s: val.bin is llm.c's (sha256 %s, %zu bytes)", run ? "4 KB chunks, 3 threads" : "2 threads", hv, lv);
        CHECK(!strcmp(ht, tsha) && lt == 611544, "%s: train.bin is llm.c's (sha256 %s, %zu bytes)", run ? "4 KB chunks, 3 threads" : "2 threads", ht, lt);
    }

    /* one long section (no "\n\n"), read in 4 KB chunks: cut only where no pre-token spans */
    int flip = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (txt[i] == '\n' && txt[i + 1] == '\n') { if (flip ^= 1) txt[i + 1] = '\t'; else txt[i] = ' '; }
    const char *in = tmp_path("one_section.txt");
    write_file(in, txt, n);
    int *whole; size_t nwhole;
    if (inh_tokenizer_encode(t, txt, n, 0, &whole, &nwhole) == 0) {
        long long nv, nt;
        int *got = (int *)malloc((nwhole + 2) * sizeof *got);
        CHECK(inh__prepare(t, in, tmp_path("one_section"), 1000, 2, 0, 4096, &nv, &nt) == 0, "prepare one section: %s", inh_error());
        long a = read_shard(tmp_path("one_section/val.bin"), got, nwhole + 1);
        long b = a < 0 ? -1 : read_shard(tmp_path("one_section/train.bin"), got + a, nwhole + 1 - (size_t)a);
        CHECK(a == 1000 && b >= 0 && (size_t)(a + b) == nwhole + 1 && got[0] == 50256 && !memcmp(got + 1, whole, nwhole * sizeof *whole),
              "prepare: a 1 MB section cut into 4 KB chunks gives the ids of the whole");
        free(got);
        inh_tokenizer_free_ids(whole);
    }
    free(txt);
    inh_tokenizer_free(t);
}

int main(void) {
    inh_make_dir("build");
    snprintf(tmpdir, sizeof tmpdir, "build/tok_tmp.%ld", inh__os_pid());
    inh_make_dir(tmpdir);
    test_unicode_classes();
    test_pretokenizer();
    test_bytes_tokenizer();
    test_tiny_vocab();
    test_bad_files();
    test_prepare_streaming();
    const char *data = test_shared_dir();
    if (!data) SKIP("../shared/data is absent: GPT-2 vectors, round trips and tiny shakespeare shards not checked");
    else {
        test_vectors(data, "gpt2");
        test_vectors(data, "hf_tiny_gpt2");
        test_gpt2(data);
    }
    if (test_rmtree(tmpdir) != 0) printf("could not remove %s\n", tmpdir);
    return test_summary("tokenizer");
}
