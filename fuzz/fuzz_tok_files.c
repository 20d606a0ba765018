/* fuzz/fuzz_tok_files.c - encoder.json/vocab.json + merges (inh_tokenizer_load_files).
   Input: one mode byte, the vocabulary, a NUL, the merges. Mode bit 0 set: the harness writes
   the 256 single-byte tokens first ('{' "Ā": 0, ...) and the input continues that JSON, so the
   fuzzer spends its time on merges and extra tokens rather than on rebuilding the byte alphabet.
   Properties: a tokenizer that loads encodes any bytes (this input, fixed texts) to ids in
   [0, V) that decode back to the same bytes, with and without special tokens. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

static unsigned char vbuf[1 << 20];

static void roundtrip(const inh_tokenizer *tok, const unsigned char *s, size_t n) {
    int V = inh_tokenizer_vocab_size(tok);
    for (int special = 0; special < 2; special++) {
        int *ids = NULL;
        size_t nids = 0, len = 0;
        unsigned char *back = NULL;
        FZ_CHECK(inh_tokenizer_encode(tok, s, n, special, &ids, &nids) == 0, "encode of %zu bytes", n);
        FZ_CHECK(nids <= n, "%zu ids for %zu bytes", nids, n);
        for (size_t i = 0; i < nids; i++) FZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d outside [0, %d)", ids[i], V);
        FZ_CHECK(inh_tokenizer_decode(tok, ids, nids, &back, &len) == 0, "decode");
        FZ_CHECK(len == n && (n == 0 || memcmp(back, s, n) == 0), "decode(encode(x)) != x (%zu bytes -> %zu ids -> %zu bytes, special %d)", n, nids, len, special);
        inh_tokenizer_free_ids(ids);
        inh_tokenizer_free_bytes(back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char vp[512], mp[512];
    const uint8_t *v, *mg;
    size_t nv, nm, k = 0;
    inh_tokenizer *tok = NULL;
    if (size < 1 || size > (1 << 19)) return 0;
    fz_split(data + 1, size - 1, 0, 0, &v, &nv, &mg, &nm);
    if (data[0] & 1) k = fz_base_vocab(vbuf);
    memcpy(vbuf + k, v, nv);
    fz_write(fz_path("tok_files", "encoder.json", vp, sizeof vp), vbuf, k + nv);
    fz_write(fz_path("tok_files", "vocab.bpe", mp, sizeof mp), mg, nm);
    if (inh_tokenizer_load_files(&tok, vp, mp) != 0) return 0;
    FZ_CHECK(inh_tokenizer_can_encode(tok) && inh_tokenizer_vocab_size(tok) >= 256, "V=%d", inh_tokenizer_vocab_size(tok));
    static const char *const texts[] = {
        "Hello world, the cat's 123 dogs!\n\n<|endoftext|>The end.",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabababababab",
        "ab ab abab  ababab\xC3\xA9\xE2\x80\x99 \xF0\x9F\x98\x80 \xFF\xFE 0000000012312",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) roundtrip(tok, (const unsigned char *)texts[i], strlen(texts[i]));
    roundtrip(tok, data, size);
    roundtrip(tok, v, nv);   /* the vocabulary's own text: made of the tokens it defines */
    inh_tokenizer_free(tok);
    return 0;
}
