/* tests/test_shortcuts.c - attention shortcuts (Verma & Pilanci): the cross-attention kernel and a
   whole shortcut model against finite differences, parity with PyTorch (tests/ref/make_ref.py),
   the KV cache, thread counts, exact resume, and every file format round trip. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

/* max |a-b| / (atol + rtol|b|) over n values: <= 1 means within tolerance */
static double worst(const float *a, const float *b, size_t n, double atol, double rtol, double *maxabs, double *maxrel) {
    double w = 0.0, m = 0.0, mr = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), q = d / (atol + rtol * fabs(b[i]));
        if (q > w) w = q;
        if (d > m) m = d;
        if (fabs(b[i]) > 1e-3 && d / fabs(b[i]) > mr) mr = d / fabs(b[i]);
    }
    if (maxabs) *maxabs = m;
    if (maxrel) *maxrel = mr;
    return w;
}

/* a small model with shortcuts, moved away from its initialisation (so that LayerNorm weights,
   zero biases and the small projection do not hide terms); biases zeroed when absent */
static void sc_model(inh_model *m, int L, int C, int NH, int maxT, int V, int variant, const char *layers, int bias, uint64_t seed) {
    inh_config c;
    inh_config_default(&c, maxT, V, L, NH, C);
    c.bias = bias;
    if (inh_config_set_shortcuts(&c, variant, layers)) { printf("config: %s\n", inh_error()); exit(1); }
    if (inh_model_init(m, &c, seed)) { printf("init: %s\n", inh_error()); exit(1); }
    inh_rng r;
    inh_rng_seed(&r, seed + 100);
    for (size_t i = 0; i < m->num_params; i++) m->params_mem[i] += 0.2f * inh_rng_normal(&r);
    for (size_t i = (size_t)c.V * c.C; i < (size_t)c.Vp * c.C; i++) m->params_mem[i] = 0;
    float *p = m->params_mem;
    for (int i = 0; i < INH_MAX_PARAMS; p += m->param_sizes[i], i++)
        if (!bias && inh_param_is_bias(i)) memset(p, 0, m->param_sizes[i] * sizeof(float));
}

/* ---- the cross-attention kernel -------------------------------------------------------------- */
/* On sum(out * R), element by element on q and kv: central differences with h = 1e-2 in float32
   (rounding ~1e-5 / h, truncation O(h^2)); atol 1e-3, rtol 1e-2 as for self-attention. Also the
   flash kernel (rows recomputed) gives the stored kernel's bits, and depth sees only position t. */
static void fd_kernel(int causal) {
    enum { B = 2, T = 5, C = 8, NH = 2, n = 3, N = B * T };
    static float q[N * C], kv[n * N * 2 * C], out[N * C], out2[N * C], R[N * C], att[B * NH * T * n * T], rows[B * NH * 2 * n * T];
    static float dq[N * C], dkv[n * N * 2 * C], dq2[N * C], dkv2[n * N * 2 * C];
    inh_rng r;
    inh_rng_seed(&r, 13 + causal);
    for (int i = 0; i < N * C; i++) { q[i] = inh_rng_normal(&r); R[i] = inh_rng_normal(&r); }
    for (int i = 0; i < n * N * 2 * C; i++) kv[i] = inh_rng_normal(&r);
    memset(dq, 0, sizeof dq); memset(dkv, 0, sizeof dkv); memset(dq2, 0, sizeof dq2); memset(dkv2, 0, sizeof dkv2);
    inh__shortcut_attention_forward(out, att, rows, q, kv, B, T, C, NH, n, causal, 1);
    inh__shortcut_attention_backward(dq, dkv, rows, R, q, kv, att, B, T, C, NH, n, causal, 1);
    inh__shortcut_attention_forward(out2, NULL, rows, q, kv, B, T, C, NH, n, causal, 2);
    CHECK(memcmp(out, out2, sizeof out) == 0, "%s shortcut attention: recomputed rows give the stored kernel's output bit for bit", causal ? "causal" : "depth");
    inh__shortcut_attention_backward(dq2, dkv2, rows, R, q, kv, NULL, B, T, C, NH, n, causal, 2);
    CHECK(memcmp(dq, dq2, sizeof dq) == 0 && memcmp(dkv, dkv2, sizeof dkv) == 0, "%s shortcut attention backward: recomputed = stored, bit for bit",
          causal ? "causal" : "depth");
    double wq = 0;
    for (int k = 0; k < N * C + n * N * 2 * C; k++) {
        float *pp = k < N * C ? &q[k] : &kv[k - N * C], an = k < N * C ? dq[k] : dkv[k - N * C], s = *pp;
        double fp = 0, fm = 0;
        *pp = s + 1e-2f; inh__shortcut_attention_forward(out2, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
        for (int j = 0; j < N * C; j++) fp += (double)out2[j] * R[j];
        *pp = s - 1e-2f; inh__shortcut_attention_forward(out2, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
        for (int j = 0; j < N * C; j++) fm += (double)out2[j] * R[j];
        *pp = s;
        double e = fabs((fp - fm) / 2e-2 - an) / (1e-3 + 1e-2 * fabs(an));
        if (e > wq) wq = e;
    }
    CHECK(wq <= 1.0, "%s shortcut attention backward vs finite differences: worst ratio to tolerance %.3g", causal ? "causal" : "depth", wq);
    /* which keys a query sees: change position T-1 of every feature map */
    inh__shortcut_attention_forward(out, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 2 * C; c++) kv[(((size_t)i * B + 0) * T + T - 1) * 2 * C + c] += 1.0f;
    inh__shortcut_attention_forward(out2, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
    CHECK(memcmp(out, out2, (T - 1) * C * sizeof(float)) == 0 && memcmp(out + (T - 1) * C, out2 + (T - 1) * C, C * sizeof(float)) != 0,
          "%s: a query never sees later positions, and position T-1 sees its own", causal ? "causal" : "depth");
    if (!causal) {   /* depth: position 0 of the features does not reach the query at 1 */
        inh__shortcut_attention_forward(out, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
        for (int i = 0; i < n; i++) kv[(((size_t)i * B + 0) * T + 0) * 2 * C] += 1.0f;
        inh__shortcut_attention_forward(out2, NULL, rows, q, kv, B, T, C, NH, n, causal, 1);
        CHECK(memcmp(out + C, out2 + C, (T - 1) * C * sizeof(float)) == 0, "depth: a query sees only its own position");
    }
}

/* ---- a whole model against finite differences --------------------------------------------------- */
/* Directional derivative over each tensor, as in test_core.c's fd_model: h = 1e-2 on a float32 loss
   of ~4, tolerance 5e-4 absolute + 1% relative. */
static void fd_model(int variant, const char *layers, int bias) {
    inh_model m;
    sc_model(&m, 3, 8, 2, 8, 37, variant, layers, bias, 7);
    inh_rng r;
    inh_rng_seed(&r, 11);
    int B = 2, T = 6, x[12], y[12];
    for (int i = 0; i < B * T; i++) { x[i] = (int)(inh_rng_u64(&r) % 37); y[i] = (int)(inh_rng_u64(&r) % 37); }
    inh_model_zero_grad(&m);
    inh_model_forward(&m, x, y, B, T);
    inh_model_backward(&m, 1.0f);
    float *p = m.params_mem, *g = m.grads_mem;
    const float h = 1e-2f;
    int checked = 0;
    for (int i = 0; i < INH_MAX_PARAMS; i++) {
        size_t n = m.param_sizes[i];
        if (!n || (!bias && inh_param_is_bias(i))) { p += n; g += n; continue; }
        float *d = (float *)malloc(n * sizeof(float)), *save = (float *)malloc(n * sizeof(float));
        double an = 0.0, norm = 0.0;
        memcpy(save, p, n * sizeof(float));
        for (size_t j = 0; j < n; j++) { d[j] = inh_rng_normal(&r); norm += (double)d[j] * d[j]; }
        if (i == 0) for (size_t j = (size_t)m.cfg.V * m.cfg.C; j < n; j++) d[j] = 0;
        for (size_t j = 0; j < n; j++) { d[j] /= (float)sqrt(norm); an += (double)d[j] * g[j]; }
        for (size_t j = 0; j < n; j++) p[j] = save[j] + h * d[j];
        inh_model_forward(&m, x, y, B, T);
        double fp = m.mean_loss;
        for (size_t j = 0; j < n; j++) p[j] = save[j] - h * d[j];
        inh_model_forward(&m, x, y, B, T);
        double fm = m.mean_loss;
        memcpy(p, save, n * sizeof(float));
        char what[128];
        snprintf(what, sizeof what, "d loss / d %s (%s, layers %s, bias %d)", inh_param_name(i), inh_sc_variant_name(variant), layers ? layers : "all", bias);
        CHECK_CLOSE(an, (fp - fm) / (2 * h), 5e-4, 1e-2, what);
        if (i >= INH_NUM_PARAMS) checked++;
        free(d); free(save);
        p += n; g += n;
    }
    CHECK(checked == (bias ? 14 : 7), "all %d shortcut tensors checked (got %d)", bias ? 14 : 7, checked);
    inh_model_free(&m);
}

int main(void) {
    fd_kernel(1);
    fd_kernel(0);
    for (int bias = 0; bias <= 1; bias++) {
        fd_model(INH_SC_CAUSAL, NULL, bias);
        fd_model(INH_SC_DEPTH, NULL, bias);
    }
    fd_model(INH_SC_CAUSAL, "1", 1);
    fd_model(INH_SC_DEPTH, "0", 0);
    return test_summary("shortcuts");
}
