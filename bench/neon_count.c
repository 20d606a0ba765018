/* bench/neon_count.c - one attention forward (B=1, NH=1, T=128, hs=64) or one matmul (64x128 @
   (128x128)^T) for bench/neon_count.sh, which counts the instructions qemu-aarch64 executes in each. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
int main(int argc, char **argv) {
    int which = argc > 1 ? atoi(argv[1]) : 0;
    int T = 128, C = 64, N = 64, K = 128, OC = 128;
    float *qkv = (float *)calloc((size_t)T * 3 * C, 4), *out = (float *)calloc((size_t)T * C, 4), *rows = (float *)calloc(2 * T, 4);
    float *a = (float *)calloc((size_t)N * K, 4), *w = (float *)calloc((size_t)OC * K, 4), *o = (float *)calloc((size_t)N * OC, 4);
    for (int i = 0; i < T * 3 * C; i++) qkv[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (int i = 0; i < N * K; i++) a[i] = (float)(i % 13) / 13.0f;
    for (int i = 0; i < OC * K; i++) w[i] = (float)(i % 7) / 7.0f;
    if (which == 0) inh__attention_forward_flash(out, rows, qkv, 1, T, C, 1, 0.125f, 1);
    else inh__matmul_forward_fast(o, a, w, NULL, N, K, OC, 1);
    printf("%g %g\n", out[5], o[7]);
    return 0;
}
