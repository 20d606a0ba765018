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

/* ---- parity with PyTorch (tests/ref/make_ref.py, float64 from the same float32 weights) ---------- */
/* Tolerances as in test_core.c's parity tests: logits 1e-5 abs + 1e-5 rel, loss 1e-5 rel, gradients
   2e-6 abs + 1e-4 rel, 10 AdamW steps: losses 1e-5 abs, parameters 1e-6 abs + 1e-5 rel. */
static double parity_max_abs, parity_max_rel;
static void parity(const char *name, int variant, int nsel) {
    char path[256];
    bundle b;
    inh_model m;
    snprintf(path, sizeof path, "tests/ref/%s_ref.bin", name);
    if (bundle_load(&b, path)) { CHECK(0, "cannot read %s", path); return; }
    snprintf(path, sizeof path, "tests/ref/%s.bin", name);
    if (inh_model_load(&m, path)) { CHECK(0, "load %s: %s", path, inh_error()); bundle_free(&b); return; }
    CHECK(m.cfg.shortcuts == variant && inh_sc_layers(&m.cfg, NULL) == nsel, "%s: header gives variant %d with %d layers", name, m.cfg.shortcuts, inh_sc_layers(&m.cfg, NULL));
    int B = 2, T = 8, x[16], y[16];
    const rec *t = bundle_get(&b, "tokens");
    for (int i = 0; t && i < B * T; i++) { x[i] = (int)t->data[i]; y[i] = (int)t->data[i + 1]; }
    inh_model_forward(&m, x, NULL, B, T);
    const rec *lg = bundle_get(&b, "logits"), *loss = bundle_get(&b, "loss");
    double w = 0, mx, mr;
    for (int i = 0; i < B * T && lg; i++)
        for (int v = 0; v < m.cfg.V; v++) {
            double ref = lg->data[i * m.cfg.V + v], d = fabs(m.acts.logits[(size_t)i * m.cfg.Vp + v] - ref);
            double q = d / (1e-5 + 1e-5 * fabs(ref));
            if (q > w) w = q;
            if (d > parity_max_abs) parity_max_abs = d;
        }
    CHECK(lg && w <= 1.0, "%s: logits differ from PyTorch (worst ratio to tolerance %.3g)", name, w);
    inh_model_forward(&m, x, y, B, T);
    if (loss) CHECK_CLOSE(m.mean_loss, loss->data[0], 0, 1e-5, "loss vs PyTorch (rel 1e-5)");
    inh_model_zero_grad(&m);
    inh_model_backward(&m, 1.0f);
    float *g = m.grads_mem;
    for (int i = 0; i < INH_MAX_PARAMS; i++) {
        char gn[64];
        snprintf(gn, sizeof gn, "grad.%s", inh_param_name(i));
        const rec *r = bundle_get(&b, gn);
        if (!r || r->n != m.param_sizes[i]) { CHECK(0, "%s: %s shape", name, gn); g += m.param_sizes[i]; continue; }
        w = worst(g, r->data, r->n, 2e-6, 1e-4, &mx, &mr);
        if (mx > parity_max_abs) parity_max_abs = mx;
        if (mr > parity_max_rel) parity_max_rel = mr;
        CHECK(w <= 1.0, "%s %s: gradient differs from PyTorch (max abs %.3g; atol 2e-6 rtol 1e-4)", name, gn, mx);
        g += m.param_sizes[i];
    }
    const rec *ld = bundle_get(&b, "loss_drop_shortcut");
    m.drop_shortcut = 1;
    inh_model_forward(&m, x, y, B, T);
    if (ld) CHECK_CLOSE(m.mean_loss, ld->data[0], 0, 1e-5, "loss with the shortcut dropped vs PyTorch");
    m.drop_shortcut = 0;
    inh_model_free(&m);
    /* 10 AdamW steps, 2-D decay grouping (the shortcut matrices decay, their vectors do not) */
    inh_model_load(&m, path);
    inh_adamw o = {0.9f, 0.999f, 1e-8f, 0.01f, 0, 0.0f};
    const rec *ref = bundle_get(&b, "losses_adamw");
    double worst_d = 0;
    for (int s = 0; s < 10 && ref; s++) {
        inh_model_zero_grad(&m);
        inh_model_forward(&m, x, y, B, T);
        double d = fabs(m.mean_loss - ref->data[s]);
        if (d > worst_d) worst_d = d;
        inh_model_backward(&m, 1.0f);
        inh_model_update(&m, &o, 1e-4f, s + 1, inh_model_grad_norm(&m));
    }
    CHECK(ref && worst_d <= 1e-5, "%s: AdamW losses differ from PyTorch by %.3g", name, worst_d);
    float *p = m.params_mem;
    for (int i = 0; i < INH_MAX_PARAMS; i++) {
        char pn[96];
        snprintf(pn, sizeof pn, "params_after_10.%s", inh_param_name(i));
        const rec *r = bundle_get(&b, pn);
        if (r && i == 5) {   /* the key bias: exactly zero gradient (see test_core.c's parity_adamw) */
            int C = m.cfg.C;
            for (int l = 0; l < m.cfg.L; l++) memcpy(p + l * 3 * C + C, r->data + l * 3 * C + C, C * sizeof(float));
        }
        if (r && i == 27) memcpy(p, r->data, m.cfg.C * sizeof(float));   /* sc_kvb's key half: the same shift invariance */
        if (r && r->n == m.param_sizes[i]) {
            w = worst(p, r->data, r->n, 1e-6, 1e-5, &mx, NULL);
            CHECK(w <= 1.0, "%s %s after 10 steps: max abs diff %.3g (atol 1e-6 rtol 1e-5)", name, pn, mx);
        } else CHECK(0, "%s: missing %s", name, pn);
        p += m.param_sizes[i];
    }
    inh_model_free(&m);
    bundle_free(&b);
}

int main(void) {
    parity("tiny_sc_causal", INH_SC_CAUSAL, 2);
    parity("tiny_sc_depth", INH_SC_DEPTH, 2);
    parity("tiny_sc_subset", INH_SC_CAUSAL, 1);
    printf("  PyTorch parity (logits and gradients of 3 shortcut models): max abs diff %.3g, max rel diff %.3g (|ref| > 1e-3)\n",
           parity_max_abs, parity_max_rel);
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
