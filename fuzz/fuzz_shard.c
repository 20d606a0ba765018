/* fuzz/fuzz_shard.c - llm.c token shard (inh_data_open, inh_data_check, inh_data_next).
   Properties: a shard that opens holds exactly its header's count; batches come from its tokens
   in both modes; inh_data_write of the tokens reopens to the same tokens. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], again[512];
    inh_data d, d2;
    fz_write(fz_path("shard", "in.bin", path, sizeof path), data, size);
    /* V from the input (unused header slot 3): 0 skips the id check */
    int V = size >= 16 ? (int)(inh__rd32(data + 12) & 0x1FFFF) : 0;
    if (inh_data_open(&d, path, V) != 0) return 0;
    FZ_CHECK(size == 1024 + 2 * d.n, "%zu tokens from a %zu-byte file", d.n, size);
    int maxid = -1;
    for (size_t i = 0; i < d.n; i++) if (d.tokens[i] > maxid) maxid = d.tokens[i];
    FZ_CHECK(V <= 0 || maxid < V, "token %d accepted with V=%d", maxid, V);
    FZ_CHECK(inh_data_check(&d, maxid + 1) == 0, "check with V = max id + 1");
    FZ_CHECK(maxid < 0 || inh_data_check(&d, maxid) == -1, "check with V = max id accepted id %d", maxid);
    int in[24], tg[24];
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        d.shuffle = shuffle; d.pos = 0;
        inh_rng_seed(&d.rng, (uint64_t)size);
        int B = 1 + (int)(size % 3), T = 1 + (int)(size % 8);
        for (int k = 0; k < 3; k++) {
            if (inh_data_next(&d, B, T, in, tg) != 0) {
                FZ_CHECK(d.n < (size_t)T + 1 || (!shuffle && d.n < (size_t)B * T + 1), "next refused B=%d T=%d with %zu tokens", B, T, d.n);
                break;
            }
            for (int i = 0; i < B * T; i++) FZ_CHECK(in[i] <= maxid && tg[i] <= maxid && in[i] >= 0 && tg[i] >= 0, "batch id outside the shard's ids");
            FZ_CHECK(d.pos <= d.n, "position %zu beyond %zu tokens", d.pos, d.n);
        }
    }
    if (d.n <= 100000) {
        int *ids = (int *)malloc(sizeof(int) * (d.n + 1));
        for (size_t i = 0; i < d.n; i++) ids[i] = d.tokens[i];
        FZ_CHECK(inh_data_write(fz_path("shard", "again.bin", again, sizeof again), ids, d.n) == 0, "write of %zu tokens", d.n);
        FZ_CHECK(inh_data_open(&d2, again, 0) == 0, "reopen of a written shard");
        FZ_CHECK(d2.n == d.n && (d.n == 0 || memcmp(d.tokens, d2.tokens, 2 * d.n) == 0), "write -> open changed the tokens");
        inh_data_close(&d2);
        free(ids);
    }
    inh_data_close(&d);
    return 0;
}
