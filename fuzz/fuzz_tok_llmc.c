/* fuzz/fuzz_tok_llmc.c - llm.c tokenizer file (inh_tokenizer_load_llmc).
   Properties: every token's bytes lie inside the file; decode of all ids gives their
   concatenation; encode is refused (no merges); save -> load keeps every token. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], again[512];
    inh_tokenizer *tok = NULL, *tok2 = NULL;
    fz_write(fz_path("tok_llmc", "in.bin", path, sizeof path), data, size);
    if (inh_tokenizer_load_llmc(&tok, path) != 0) { FZ_CHECK(tok == NULL, "failed load set *out"); return 0; }
    int V = inh_tokenizer_vocab_size(tok), eot = inh_tokenizer_eot(tok);
    FZ_CHECK(V >= 1 && (size_t)V <= size - 1024, "V=%d from a %zu-byte file", V, size);
    FZ_CHECK(eot >= -1 && eot < V, "eot %d with V=%d", eot, V);
    FZ_CHECK(!inh_tokenizer_can_encode(tok), "an llm.c tokenizer claims it can encode");
    size_t total = 0, len;
    int valid_llmc = eot >= 0;
    for (int i = 0; i < V; i++) {
        const unsigned char *p = inh_tokenizer_token(tok, i, &len);
        FZ_CHECK(p != NULL && len <= 255, "token %d: %zu bytes", i, len);
        if (len == 0) valid_llmc = 0;
        total += len;
    }
    FZ_CHECK(total + V + 1024 == size, "token bytes %zu + lengths %d + header != %zu", total, V, size);
    FZ_CHECK(inh_tokenizer_token(tok, V, &len) == NULL && inh_tokenizer_token(tok, -1, &len) == NULL, "token out of range returned bytes");
    int *ids = (int *)malloc(sizeof(int) * (size_t)V), *enc = NULL;
    for (int i = 0; i < V; i++) ids[i] = i;
    unsigned char *text = NULL;
    size_t n = 0, nenc = 0;
    FZ_CHECK(inh_tokenizer_decode(tok, ids, (size_t)V, &text, &n) == 0 && n == total, "decode of every id");
    for (size_t i = 0, o = 0; i < (size_t)V; i++) {
        const unsigned char *p = inh_tokenizer_token(tok, (int)i, &len);
        FZ_CHECK(len == 0 || memcmp(text + o, p, len) == 0, "decode of id %zu differs from its bytes", i);
        o += len;
    }
    inh_tokenizer_free_bytes(text);
    ids[0] = V;
    FZ_CHECK(inh_tokenizer_decode(tok, ids, 1, &text, &n) == -1, "decode accepted id V");
    FZ_CHECK(inh_tokenizer_encode(tok, data, size < 64 ? size : 64, 0, &enc, &nenc) == -1 && enc == NULL, "encode without merges");
    free(ids);
    if (valid_llmc) {   /* save needs an end-of-text token and 1..255 bytes per token */
        FZ_CHECK(inh_tokenizer_save_llmc(tok, fz_path("tok_llmc", "again.bin", again, sizeof again)) == 0, "save of a loaded tokenizer");
        FZ_CHECK(inh_tokenizer_load_llmc(&tok2, again) == 0, "reload of a saved tokenizer");
        FZ_CHECK(inh_tokenizer_vocab_size(tok2) == V && inh_tokenizer_eot(tok2) == eot, "save -> load changed V or eot");
        for (int i = 0; i < V; i++) {
            size_t l1, l2;
            const unsigned char *a = inh_tokenizer_token(tok, i, &l1), *b = inh_tokenizer_token(tok2, i, &l2);
            FZ_CHECK(l1 == l2 && memcmp(a, b, l1) == 0, "save -> load changed token %d", i);
        }
        inh_tokenizer_free(tok2);
    }
    inh_tokenizer_free(tok);
    return 0;
}
