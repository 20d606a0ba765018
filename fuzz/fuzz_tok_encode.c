/* fuzz/fuzz_tok_encode.c - tokenizer encode/decode of arbitrary bytes.
   Tokenizers, loaded once: GPT-2's (../shared/data/gpt2, when present), the byte tokenizer, and a
   small hand-made BPE that the harness writes itself (fuzz_common.h), so the BPE paths are
   fuzzed without ../shared too. Properties, for each and with and without special tokens:
   decode(encode(x)) == x, ids in [0, V), at most one id per byte; the multi-threaded encoder
   gives the same ids, and so does encoding apart the two sides of a cut from inh__next_cut;
   the byte tokenizer's ids are the bytes. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

static inh_tokenizer *toks[3];
static int ntoks;

static void load_all(void) {
    char vp[512], mp[512];
    static unsigned char v[8192], mg[1024];
    size_t nv, nm;
    inh_tokenizer *t;
    if (access("../shared/data/gpt2/encoder.json", R_OK) == 0) {
        if (inh_tokenizer_load(&t, "../shared/data/gpt2") != 0) { fprintf(stderr, "fuzz: %s\n", inh_error()); abort(); }
        toks[ntoks++] = t;
    } else {
        fprintf(stderr, "fuzz_tok_encode: ../shared/data/gpt2 absent: byte and hand-made tokenizers only\n");
    }
    if (inh_tokenizer_load(&t, "bytes") != 0) abort();
    toks[ntoks++] = t;
    fz_small_bpe(v, &nv, mg, &nm);
    fz_write(fz_path("tok_encode", "encoder.json", vp, sizeof vp), v, nv);
    fz_write(fz_path("tok_encode", "vocab.bpe", mp, sizeof mp), mg, nm);
    if (inh_tokenizer_load_files(&t, vp, mp) != 0) { fprintf(stderr, "fuzz: hand-made BPE: %s\n", inh_error()); abort(); }
    toks[ntoks++] = t;
}

static void free_all(void) { for (int i = 0; i < ntoks; i++) inh_tokenizer_free(toks[i]); ntoks = 0; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    load_all();
    atexit(free_all);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int k = 0; k < ntoks; k++) {
        const inh_tokenizer *tok = toks[k];
        int V = inh_tokenizer_vocab_size(tok), eot = inh_tokenizer_eot(tok);
        for (int special = 0; special < 2; special++) {
            int *ids = NULL, *ids2 = NULL;
            size_t n = 0, n2 = 0, len = 0;
            unsigned char *back = NULL;
            FZ_CHECK(inh_tokenizer_encode(tok, data, size, special, &ids, &n) == 0, "tokenizer %d: encode of %zu bytes", k, size);
            FZ_CHECK(n <= size, "tokenizer %d: %zu ids for %zu bytes", k, n, size);
            for (size_t i = 0; i < n; i++) {
                FZ_CHECK(ids[i] >= 0 && ids[i] < V, "tokenizer %d: id %d outside [0, %d)", k, ids[i], V);
                FZ_CHECK(special || ids[i] != eot || eot < 0, "tokenizer %d: end-of-text id without allow_special", k);
            }
            if (k == ntoks - 2 && !special)   /* the byte tokenizer */
                for (size_t i = 0; i < n; i++) FZ_CHECK(n == size && ids[i] == data[i], "byte tokenizer: id %d for byte %d", ids[i], data[i]);
            FZ_CHECK(inh_tokenizer_decode(tok, ids, n, &back, &len) == 0, "tokenizer %d: decode", k);
            FZ_CHECK(len == size && (size == 0 || memcmp(back, data, size) == 0),
                     "tokenizer %d: decode(encode(x)) != x (%zu bytes -> %zu ids -> %zu bytes, special %d)", k, size, n, len, special);
            FZ_CHECK(inh_tokenizer_encode_mt(tok, data, size, special, 4, &ids2, &n2) == 0, "tokenizer %d: encode_mt", k);
            FZ_CHECK(n2 == n && (n == 0 || memcmp(ids, ids2, n * sizeof *ids) == 0), "tokenizer %d: encode_mt differs from encode", k);
            /* the multi-threaded encoder and `prepare` cut the text where inh__next_cut says no
               pre-token spans: encoding the two sides apart must give the same ids */
            size_t cut = inh__next_cut(data, size, size / 2);
            FZ_CHECK(cut <= size, "cut %zu beyond %zu", cut, size);
            if (cut > 0 && cut < size) {
                int *a = NULL, *b = NULL;
                size_t na = 0, nb = 0;
                FZ_CHECK(inh_tokenizer_encode(tok, data, cut, special, &a, &na) == 0 &&
                         inh_tokenizer_encode(tok, data + cut, size - cut, special, &b, &nb) == 0, "encode of the two sides");
                FZ_CHECK(na + nb == n && (na == 0 || memcmp(a, ids, na * sizeof *a) == 0) && (nb == 0 || memcmp(b, ids + na, nb * sizeof *b) == 0),
                         "tokenizer %d: cutting at %zu of %zu bytes changes the ids (%zu + %zu vs %zu)", k, cut, size, na, nb, n);
                inh_tokenizer_free_ids(a);
                inh_tokenizer_free_ids(b);
            }
            inh_tokenizer_free_ids(ids);
            inh_tokenizer_free_ids(ids2);
            inh_tokenizer_free_bytes(back);
        }
    }
    return 0;
}
