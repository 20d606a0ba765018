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

/* ---- the KV cache ----------------------------------------------------------------------------- */
/* The cache gives the logits of a full forward over the same window at every position, past maxT
   too (a full cache slides to its last maxT/2 tokens, re-encoded in one batched forward); only the summation order of the softmaxes differs: 1e-5 absolute on
   logits of order 1 (as test_core.c's kv_cache). causal keeps n (maxT, 2C) feature slots, depth none. */
static void kv_cache(int variant, int bias, int drop) {
    inh_model m;
    inh_kv kv;
    int toks[40];
    sc_model(&m, 4, 16, 2, 16, 45, variant, variant == INH_SC_DEPTH ? "0,2" : NULL, bias, 21);
    m.drop_shortcut = drop;
    inh_rng r;
    inh_rng_seed(&r, 5);
    for (int i = 0; i < 40; i++) toks[i] = (int)(inh_rng_u64(&r) % 45);
    CHECK(inh_kv_init(&kv, &m) == 0, "kv init");
    size_t want = 4 * 2 * 16 * 16 + (!drop && variant == INH_SC_CAUSAL ? 3 * 16 * 2 * 16 : 0);
    CHECK(kv.cache_floats == want, "%s cache: %zu floats, want %zu", inh_sc_variant_name(variant), kv.cache_floats, want);
    double w = 0;
    int start = 0, n = 0;   /* the window: a full cache keeps its last maxT/2 tokens, then takes the next */
    for (int k = 0; k < 40; k++) {
        inh_kv_push(&kv, toks[k]);
        if (n == 16) { start = k - 8; n = 8; }
        int T = ++n;
        inh_model_forward(&m, toks + start, NULL, 1, T);
        for (int v = 0; v < 45; v++) {
            double d = fabs(kv.logits[v] - m.acts.logits[(size_t)(T - 1) * m.cfg.Vp + v]);
            if (d > w) w = d;
        }
    }
    CHECK(w <= 1e-5, "KV-cache logits equal the full forward's (%s, bias %d, shortcut dropped %d): max diff %.3g", inh_sc_variant_name(variant), bias, drop, w);
    inh_kv_free(&kv);
    inh_model_free(&m);
}

/* ---- threads, files, resume ------------------------------------------------------------------- */
static void threads(int variant) {
    inh_model a, b;
    sc_model(&a, 3, 16, 2, 16, 50, variant, NULL, 1, 5);
    sc_model(&b, 3, 16, 2, 16, 50, variant, NULL, 1, 5);
    b.threads = 3;
    int x[32], y[32];
    for (int i = 0; i < 32; i++) { x[i] = (i * 7) % 50; y[i] = (i * 11 + 3) % 50; }
    inh_model_zero_grad(&a); inh_model_zero_grad(&b);
    inh_model_forward(&a, x, y, 2, 16); inh_model_forward(&b, x, y, 2, 16);
    CHECK(a.mean_loss == b.mean_loss, "%s: loss differs between 1 and 3 threads", inh_sc_variant_name(variant));
    float loss = a.mean_loss;
    inh_model_backward(&a, 1); inh_model_backward(&b, 1);
    CHECK(memcmp(a.grads_mem, b.grads_mem, a.num_params * 4) == 0, "%s: gradients differ between 1 and 3 threads", inh_sc_variant_name(variant));
    inh_adamw o;
    inh_adamw_default(&o);
    inh_model_update(&a, &o, 1e-3f, 1, inh_model_grad_norm(&a));
    inh_model_update(&b, &o, 1e-3f, 1, inh_model_grad_norm(&b));
    CHECK(memcmp(a.params_mem, b.params_mem, a.num_params * 4) == 0, "%s: AdamW step differs between 1 and 3 threads", inh_sc_variant_name(variant));
    memcpy(b.params_mem, a.params_mem, a.num_params * 4);
    inh_model_zero_grad(&a);
    inh_model_forward(&a, x, y, 2, 16);
    loss = a.mean_loss;
    inh_model_backward(&a, 1);
    /* stored weights (keep_attention, for the analysis) give the same bits as recomputed rows */
    inh_model_zero_grad(&b);
    b.keep_attention = 1;
    inh_model_forward(&b, x, y, 2, 16);
    CHECK(loss == b.mean_loss && b.acts.sc_att && !a.acts.sc_att, "%s: stored shortcut weights give the same loss", inh_sc_variant_name(variant));
    inh_model_backward(&b, 1);
    CHECK(memcmp(a.grads_mem, b.grads_mem, a.num_params * 4) == 0, "%s: and the same gradients", inh_sc_variant_name(variant));
    inh_model_free(&a); inh_model_free(&b);
}

static int has(const unsigned char *b, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++) if (!memcmp(b + i, s, k)) return 1;
    return 0;
}
/* bf16 matmuls with shortcuts: the loss moves, by bf16 rounding only (1%) */
static void bf16(void) {
    inh_model m;
    sc_model(&m, 3, 32, 2, 16, 50, INH_SC_CAUSAL, NULL, 1, 8);
    int x[32], y[32];
    for (int i = 0; i < 32; i++) { x[i] = (i * 7) % 50; y[i] = (i * 11 + 3) % 50; }
    inh_model_forward(&m, x, y, 2, 16);
    float f32 = m.mean_loss;
    m.bf16 = 1;
    inh_model_forward(&m, x, y, 2, 16);
    CHECK(fabsf(m.mean_loss - f32) <= 0.01f * f32 && m.mean_loss != f32, "bf16 with shortcuts: %.6f vs fp32 %.6f (within 1%%, not equal)", m.mean_loss, f32);
    inh_model_free(&m);
}

static void files(void) {
    inh_model m, m2;
    sc_model(&m, 3, 8, 2, 16, 61, INH_SC_DEPTH, "1", 0, 9);
    CHECK(inh_model_save(&m, "build/sc_rt.bin") == 0, "save: %s", inh_error());
    CHECK(inh_model_load(&m2, "build/sc_rt.bin") == 0, "load: %s", inh_error());
    CHECK(m2.num_params == m.num_params && memcmp(m.params_mem, m2.params_mem, m.num_params * 4) == 0, "llm.c file: parameters round trip");
    CHECK(m2.cfg.shortcuts == INH_SC_DEPTH && m2.cfg.sc_layers[0] == 2u && m2.cfg.bias == 0, "llm.c file: variant, layers and no-bias round trip");
    unsigned char *buf; size_t len;
    inh__read_file("build/sc_rt.bin", &buf, &len, 0);
    CHECK(inh__rd32(buf + 32) == 4u + 1u && inh__rd32(buf + 36) == 2u && inh__rd32(buf + 64) == 2u && len == 1024 + m.num_params * 4,
          "header: slot 8 = no-bias | shortcuts, slot 9 = 2 (depth), slot 16 = bit of layer 1; size = header + all tensors");
    /* llm.c reads the first 16 tensors: the prefix is a plain model's file */
    size_t plain = 0;
    for (int i = 0; i < INH_NUM_PARAMS; i++) plain += m.param_sizes[i];
    CHECK(memcmp(buf + 1024, m.params_mem, plain * 4) == 0 && m.params.sc_lnw == m.params_mem + plain, "the 16 llm.c tensors come first");
    inh__wr32(buf + 64, 4u);   /* layer 2 of a 3-layer model is the last: not intermediate */
    FILE *f = fopen("build/sc_bad.bin", "wb"); fwrite(buf, 1, len, f); fclose(f);
    inh_model m3;
    CHECK(inh_model_load(&m3, "build/sc_bad.bin") != 0 && strstr(inh_error(), "outside 0..1"), "a selected layer outside 0..L-2 is refused: %s", inh_error());
    inh__wr32(buf + 64, 2u); inh__wr32(buf + 36, 7u);
    f = fopen("build/sc_bad.bin", "wb"); fwrite(buf, 1, len, f); fclose(f);
    CHECK(inh_model_load(&m3, "build/sc_bad.bin") != 0 && strstr(inh_error(), "variant"), "an unknown variant is refused: %s", inh_error());
    free(buf);
    /* a plain model's file is unchanged by all this: tiny.bin (written by PyTorch) round trips byte for byte */
    unsigned char *ref;
    size_t rlen;
    CHECK(inh_model_load(&m3, "tests/ref/tiny.bin") == 0 && inh_model_save(&m3, "build/sc_plain.bin") == 0, "plain model load/save");
    inh_model_free(&m3);
    inh__read_file("tests/ref/tiny.bin", &ref, &rlen, 0);
    inh__read_file("build/sc_plain.bin", &buf, &len, 0);
    CHECK(len == rlen && !memcmp(buf, ref, len), "a plain model's llm.c file is byte-identical (no shortcut slots or tensors)");
    free(buf); free(ref);
    inh_config c;
    inh_config_default(&c, 8, 10, 1, 1, 8);
    CHECK(inh_config_set_shortcuts(&c, INH_SC_CAUSAL, NULL) != 0 && strstr(inh_error(), "at least 2 layers"), "shortcuts on a 1-layer model: %s", inh_error());
    inh_config_default(&c, 8, 10, 4, 1, 8);
    CHECK(inh_config_set_shortcuts(&c, INH_SC_CAUSAL, "1,3") != 0 && strstr(inh_error(), "outside 0..2"), "--shortcut-layers 1,3 on 4 layers: %s", inh_error());
    CHECK(inh_config_set_shortcuts(&c, INH_SC_CAUSAL, "1,x") != 0, "--shortcut-layers with garbage refused");
    CHECK(inh_config_set_shortcuts(&c, INH_SC_CAUSAL, "2,0") == 0 && inh_sc_layers(&c, NULL) == 2 && c.sc_layers[0] == 5u, "--shortcut-layers 2,0");
    /* safetensors: shortcut.* tensors and the option in config.json, back bit for bit */
    inh_model_free(&m2);
    CHECK(inh_model_save_safetensors(&m, "build/sc_st") == 0, "safetensors export: %s", inh_error());
    CHECK(inh_model_load_any(&m2, "build/sc_st") == 0, "safetensors import: %s", inh_error());
    CHECK(m2.num_params == m.num_params && memcmp(m.params_mem, m2.params_mem, m.num_params * 4) == 0 && m2.cfg.shortcuts == INH_SC_DEPTH &&
          m2.cfg.sc_layers[0] == 2u && m2.cfg.bias == 0, "safetensors: parameters, variant, layers and no-bias round trip");
    inh_model_free(&m2);
    inh__read_file("build/sc_st/config.json", &buf, &len, 0);
    CHECK(strstr((char *)buf, "\"shortcuts\": \"depth\"") && strstr((char *)buf, "\"shortcut_layers\": [1]"), "config.json names the shortcuts: %s", (char *)buf);
    free(buf);
    inh__read_file("build/sc_st/model.safetensors", &buf, &len, 0);
    CHECK(len > 400 && has(buf, len, "\"shortcut.maps.1.fc1.weight\"") && has(buf, len, "\"shortcut.kv.weight\":{\"dtype\":\"F32\",\"shape\":[16,8]"),
          "safetensors names: shortcut.maps.{layer}.*, shortcut.kv.weight (2C, C)");
    free(buf);
    inh_model_free(&m);
    sc_model(&m, 4, 16, 4, 16, 50, INH_SC_CAUSAL, "0,2", 1, 3);
    CHECK(inh_model_save_safetensors(&m, "build/sc_st2.safetensors") == 0 && inh_model_load_any(&m2, "build/sc_st2.safetensors") == 0 &&
          memcmp(m.params_mem, m2.params_mem, m.num_params * 4) == 0 && m2.cfg.shortcuts == INH_SC_CAUSAL && m2.cfg.sc_layers[0] == 5u && m2.cfg.bias,
          "safetensors round trip, causal on layers 0,2 with biases: %s", inh_error());
    inh_model_free(&m); inh_model_free(&m2);
}

static void make_pattern(const char *path, int n) {
    int *ids = (int *)malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) ids[i] = ((i / 40) * 3 + (i % 5)) % 32;
    inh_data_write(path, ids, n);
    free(ids);
}
static void run_steps(inh_trainer *t, int k, float *losses) {
    for (int i = 0; i < k; i++) { inh_step_info info; inh_trainer_step(t, &info); losses[i] = info.loss; }
}
/* 20 steps straight = 10 + state file + 10, bit for bit; the state keeps variant and layers */
static void resume(int variant) {
    inh_config c;
    inh_train_opts o;
    inh_model m, m2;
    inh_data d, d2;
    inh_trainer t, t2;
    float straight[20], parts[20];
    make_pattern("build/sc_pattern.bin", 4000);
    inh_config_default(&c, 16, 32, 3, 2, 16);
    inh_config_set_shortcuts(&c, variant, "1");
    inh_train_opts_default(&o);
    o.B = 4; o.T = 16; o.steps = 20; o.lr = 1e-2f; o.warmup = 3; o.min_lr = 1e-3f; o.accum = 2;
    inh_model_init(&m, &c, 1);
    inh_data_open(&d, "build/sc_pattern.bin", 32);
    inh_trainer_init(&t, &m, &d, &o);
    run_steps(&t, 20, straight);
    inh_trainer_free(&t); inh_model_free(&m);
    inh_model_init(&m, &c, 1);
    inh_trainer_init(&t, &m, &d, &o);
    run_steps(&t, 10, parts);
    CHECK(inh_trainer_save_state(&t, "build/sc_state.bin") == 0, "save state: %s", inh_error());
    inh_trainer_free(&t); inh_model_free(&m);
    unsigned char *buf; size_t len;
    inh__read_file("build/sc_state.bin", &buf, &len, 0);
    CHECK(inh__rd32(buf + 4 * 33) == (uint32_t)variant && inh__rd32(buf + 4 * 40) == 2u && inh__rd32(buf + 4 * 8) == 4u,
          "state header: slot 33 variant, slot 40 layer bits, slot 8 flag");
    free(buf);
    inh_data_open(&d2, "build/sc_pattern.bin", 32);
    CHECK(inh_trainer_load_state(&t2, &m2, &d2, "build/sc_state.bin") == 0, "load state: %s", inh_error());
    CHECK(m2.cfg.shortcuts == variant && m2.cfg.sc_layers[0] == 2u, "state keeps the shortcuts");
    run_steps(&t2, 10, parts + 10);
    CHECK(memcmp(straight, parts, sizeof straight) == 0, "%s: 20 steps straight equal 10 + save + resume 10, bit for bit", inh_sc_variant_name(variant));
    CHECK(straight[19] < straight[0] - 0.5f, "%s: the model learns (%.3f -> %.3f)", inh_sc_variant_name(variant), straight[0], straight[19]);
    inh_trainer_free(&t2); inh_model_free(&m2);
    inh_data_close(&d); inh_data_close(&d2);
}

/* ---- inherit, stack, adding shortcuts --------------------------------------------------------- */
static void inherit(void) {
    inh_model ref, a, b, c;
    sc_model(&ref, 4, 8, 2, 16, 40, INH_SC_CAUSAL, "0,2", 1, 31);
    CHECK(inh_inherit(&a, &ref, 3, INH_INHERIT_PAPER, 1) == 0, "inherit 3 of 4: %s", inh_error());
    /* layer 2 becomes the last: its feature map goes, layer 0's stays with the sub-layer */
    CHECK(a.cfg.shortcuts == INH_SC_CAUSAL && a.cfg.sc_layers[0] == 1u && inh_sc_layers(&a.cfg, NULL) == 1, "inherit keeps layer 0's feature map only");
    CHECK(!memcmp(a.params.sc_lnw, ref.params.sc_lnw, 8 * 4) && !memcmp(a.params.sc_fc2w, ref.params.sc_fc2w, 64 * 4) &&
          !memcmp(a.params.sc_fc2b, ref.params.sc_fc2b, 8 * 4) && !memcmp(a.params.sc_kvw, ref.params.sc_kvw, 128 * 4) &&
          !memcmp(a.params.sc_projb, ref.params.sc_projb, 8 * 4), "inherited feature map and sub-layer are the reference's");
    CHECK(!memcmp(a.params.qkvw, ref.params.qkvw, 3 * 3 * 64 * 4), "inherited blocks are the reference's");
    CHECK(inh_inherit(&b, &ref, 1, INH_INHERIT_PAPER, 1) == 0 && b.cfg.shortcuts == 0 && b.num_params < a.num_params, "inherit 1 layer: no shortcuts left");
    inh_model_free(&b);
    /* a plain model gains fresh shortcuts; its GPT-2 stays as it was */
    CHECK(inh_inherit(&b, &ref, 4, INH_INHERIT_PAPER, 1) == 0, "inherit all");
    CHECK(inh_model_with_shortcuts(&c, &b, 0, NULL, 3) == 0 && c.cfg.shortcuts == 0, "drop shortcuts: %s", inh_error());
    inh_model_free(&b);
    CHECK(inh_model_with_shortcuts(&b, &c, INH_SC_DEPTH, NULL, 3) == 0 && b.cfg.shortcuts == INH_SC_DEPTH && b.cfg.sc_layers[0] == 7u,
          "add depth shortcuts to a plain model on every intermediate layer: %s", inh_error());
    CHECK(!memcmp(b.params_mem, c.params_mem, c.num_params * 4), "the plain model inside is unchanged");
    CHECK(b.params.sc_lnw[0] == 1.0f && b.params.sc_projb[0] == 0.0f && b.params.sc_qw[0] != 0.0f, "fresh shortcut tensors: LayerNorm 1, biases 0, matrices random");
    int x[16], y[16];
    for (int i = 0; i < 16; i++) { x[i] = i * 3 % 40; y[i] = i * 7 % 40; }
    inh_rng r;   /* fresh shortcuts barely move the loss: make them count */
    inh_rng_seed(&r, 4);
    for (float *q = b.params.sc_lnw; q < b.params_mem + b.num_params; q++) *q += 0.2f * inh_rng_normal(&r);
    inh_model_forward(&b, x, y, 1, 16);
    float l1 = b.mean_loss;
    b.drop_shortcut = 1;
    inh_model_forward(&b, x, y, 1, 16);
    inh_model_forward(&c, x, y, 1, 16);
    CHECK(b.mean_loss == c.mean_loss && l1 != c.mean_loss, "--drop-shortcut gives the plain model's loss exactly (%.6f vs %.6f with)", c.mean_loss, l1);
    inh_model_free(&b); inh_model_free(&c);
    /* stacking keeps the shortcuts on the first copy's layers */
    CHECK(inh_stack(&b, &a) == 0 && b.cfg.L == 6 && b.cfg.sc_layers[0] == 1u && !memcmp(b.params.sc_lnw, a.params.sc_lnw, 8 * 4) &&
          !memcmp(b.params.sc_projw, a.params.sc_projw, 64 * 4), "stack keeps the shortcuts: %s", inh_error());
    inh_model_free(&a); inh_model_free(&b); inh_model_free(&ref);
}

/* ---- the command-line contract ---------------------------------------------------------------- */
static char out[1 << 16];
static float cli_loss(const char *cmd) {
    float l = NAN;
    const char *p;
    if (run(cmd, out, sizeof out) == 0 && (p = strstr(out, "\nloss ")) && sscanf(p, "\nloss %f", &l) == 1) return l;
    if (!strncmp(out, "loss ", 5)) sscanf(out, "loss %f", &l);
    return l;
}
static void cli(void) {
    bundle b;
    if (!test_file_exists(TOOL_FILE)) { SKIP("%s not built (make build/inheritune)", TOOL); return; }
    if (bundle_load(&b, "tests/ref/tiny_sc_causal_ref.bin")) { CHECK(0, "reference bundle"); return; }
    const char *ev = TOOL " eval --model tests/ref/tiny_sc_causal.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --threads 1";
    char cmd[1024];
    CHECK_CLOSE(cli_loss(ev), bundle_get(&b, "loss")->data[0], 1e-4, 0, "eval of a causal shortcut model vs PyTorch (abs 1e-4, printed to 6 digits)");
    snprintf(cmd, sizeof cmd, "%s --drop-shortcut", ev);
    CHECK_CLOSE(cli_loss(cmd), bundle_get(&b, "loss_drop_shortcut")->data[0], 1e-4, 0, "eval --drop-shortcut = the plain model inside, vs PyTorch");
    bundle_free(&b);
    bundle_load(&b, "tests/ref/tiny_sc_depth_ref.bin");
    snprintf(cmd, sizeof cmd, "%s --shortcuts depth", ev);   /* the causal file's plain tensors equal the depth file's... */
    float ld = cli_loss(cmd);
    CHECK(isfinite(ld) && strstr(out, "shortcuts: depth"), "eval --shortcuts depth runs and says so: %s", out);
    ld = cli_loss(TOOL " eval --model tests/ref/tiny_sc_depth.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --threads 1");
    CHECK_CLOSE(ld, bundle_get(&b, "loss")->data[0], 1e-4, 0, "eval of a depth shortcut model vs PyTorch");
    /* 10 AdamW steps through the tool against torch.optim.AdamW (2-D decay grouping) */
    run(TOOL " train --init tests/ref/tiny_sc_depth.bin --data tests/ref/tiny_tokens.bin --no-shuffle --batch 2 --seq 8 --steps 10 --lr 1e-4"
        " --beta1 0.9 --beta2 0.999 --eps 1e-8 --weight-decay 0.01 --grad-clip 0 --schedule constant --threads 2", out, sizeof out);
    double w = 0;
    int n = 0;
    for (const char *q = out; (q = strstr(q, "step ")); q++) {
        int k; float l;
        if ((q == out || q[-1] == '\n') && sscanf(q, "step %d loss %f", &k, &l) == 2 && k >= 1 && k <= 10) {
            double d = fabs(l - bundle_get(&b, "losses_adamw")->data[k - 1]);
            if (d > w) w = d;
            n++;
        }
    }
    CHECK(n == 10 && w <= 1e-5 && strstr(out, "shortcuts=depth:0,1"), "train --init keeps the shortcuts, 10 steps match PyTorch (%d lines, worst %.3g)", n, w);
    bundle_free(&b);
    /* errors name the problem */
    int rc = run(TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --shortcuts causal", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "has no attention shortcuts"), "--shortcuts on a plain model: %s", out);
    rc = run(TOOL " eval --model tests/ref/tiny_sc_causal.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --shortcuts sideways", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "causal or depth"), "--shortcuts sideways: %s", out);
    rc = run(TOOL " train --data tests/ref/tiny_tokens.bin --layers 1 --heads 2 --dim 16 --seq-max 8 --vocab 100 --shortcuts causal --steps 1 --batch 2 --seq 8", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "at least 2 layers"), "shortcuts on a 1-layer model: %s", out);
    rc = run(TOOL " train --data tests/ref/tiny_tokens.bin --layers 3 --heads 2 --dim 16 --seq-max 8 --vocab 100 --shortcuts depth --shortcut-layers 0,2 --steps 1 --batch 2 --seq 8", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "layer 2 is outside 0..1"), "--shortcut-layers naming the last layer: %s", out);
    rc = run(TOOL " train --data tests/ref/tiny_tokens.bin --layers 3 --heads 2 --dim 16 --seq-max 8 --vocab 100 --shortcut-layers 0 --steps 1 --batch 2 --seq 8", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "needs --shortcuts"), "--shortcut-layers alone: %s", out);
    /* inherit: a plain reference gains fresh shortcuts; a shortcut reference passes them on */
    rc = run(TOOL " inherit --ref tests/ref/tiny.bin --layers 3 --out build/sc_inh.bin --shortcuts causal --shortcut-layers 1", out, sizeof out);
    inh_model m;
    CHECK(rc == 0 && inh_model_load(&m, "build/sc_inh.bin") == 0 && m.cfg.shortcuts == INH_SC_CAUSAL && m.cfg.sc_layers[0] == 2u,
          "inherit --shortcuts causal --shortcut-layers 1: %s", out);
    if (!rc) inh_model_free(&m);
    rc = run(TOOL " inherit --ref tests/ref/tiny_sc_depth.bin --layers 2 --out build/sc_inh.bin", out, sizeof out);
    CHECK(rc == 0 && inh_model_load(&m, "build/sc_inh.bin") == 0 && m.cfg.shortcuts == INH_SC_DEPTH && m.cfg.sc_layers[0] == 1u,
          "inherit 2 of a depth model keeps layer 0's map: %s", out);
    if (!rc) inh_model_free(&m);
    /* sample: the KV cache with shortcuts, greedy, same tokens for 1 and 2 threads */
    char o1[4096];
    run(TOOL " sample --model tests/ref/tiny_sc_causal.bin --tokens 20 --temperature 0 --threads 1", o1, sizeof o1);
    run(TOOL " sample --model tests/ref/tiny_sc_causal.bin --tokens 20 --temperature 0 --threads 2", out, sizeof out);
    CHECK(!strcmp(o1, out) && strlen(out) > 20, "sample with shortcuts: the same tokens for 1 and 2 threads: %s", out);
}

/* ---- analysis ---------------------------------------------------------------------------------- */
/* Shares per head sum to 1 (every row of weights does; 1e-5 for float sums of ~100 terms), match
   a direct recomputation from the stored weights, the entropy is that of the shares, depth and
   causal both work, and the JSON carries them. */
static void analysis(int variant) {
    inh_model m;
    inh_data d;
    inh_analysis a;
    inh_analysis_opts o;
    sc_model(&m, 4, 16, 2, 16, 32, variant, "0,2", 1, 17);
    make_pattern("build/sc_pattern.bin", 4000);
    inh_data_open(&d, "build/sc_pattern.bin", 32);
    inh_analysis_opts_default(&o);
    o.seqs = 6; o.T = 12; o.batch = 4; o.shuffle = 0;
    CHECK(inh_analyze(&m, &d, &o, &a) == 0, "analyze: %s", inh_error());
    CHECK(a.sc_n == 2 && a.sc_layer[0] == 0 && a.sc_layer[1] == 2 && a.sc_variant == variant, "analysis knows the shortcut layers");
    double worst_sum = 0, worst_e = 0;
    for (int h = 0; h < 2; h++) {
        double sum = a.sc_share[h * 2] + a.sc_share[h * 2 + 1], e = 0;
        for (int i = 0; i < 2; i++) e -= a.sc_share[h * 2 + i] * log(a.sc_share[h * 2 + i]);
        if (fabs(sum - 1) > worst_sum) worst_sum = fabs(sum - 1);
        if (fabs(e - a.sc_entropy[h]) > worst_e) worst_e = fabs(e - a.sc_entropy[h]);
    }
    CHECK(worst_sum < 1e-5 && worst_e < 1e-5, "%s: shares sum to 1 per head (%.2g) and the entropy is theirs (%.2g)", inh_sc_variant_name(variant), worst_sum, worst_e);
    /* recompute head 1's share of layer 2 from the first 4 sequences' stored weights */
    int x[48], y[48];
    d.pos = 0; d.shuffle = 0;
    inh_data_next(&d, 4, 12, x, y);
    m.keep_attention = 1;
    inh_model_forward(&m, x, y, 4, 12);
    double mass = 0, tok = 0;
    for (int b = 0; b < 4; b++)
        for (int t = 0; t < 12; t++)
            for (int s2 = 0; s2 < 12; s2++) {
                mass += m.acts.sc_att[(((size_t)b * 2 + 1) * 12 + t) * 24 + 12 + s2];
                if (b == 0) for (int h = 0; h < 2; h++) tok += m.acts.sc_att[(((size_t)h) * 12 + t) * 24 + 12 + s2] / 2;
            }
    double got_tok = 0;
    for (int t = 0; t < 12; t++) got_tok += a.sc_tokens[t * 2 + 1];
    CHECK(fabs(got_tok - tok) < 1e-4, "tokens x layers of sequence 0: %.6f vs %.6f", got_tok, tok);
    CHECK(a.sc_share[1 * 2 + 1] > 0.02 && a.sc_share[1 * 2 + 1] < 0.98 && mass / 48 > 0.0, "a share strictly between 0 and 1 (%.4f)", a.sc_share[3]);
    CHECK(inh_analysis_write_json(&a, "build/sc_an.json") == 0 && inh_analysis_write_html(&a, NULL, 0, "build/sc_an.html") == 0, "json/html written");
    unsigned char *buf; size_t len;
    inh__read_file("build/sc_an.json", &buf, &len, 0);
    CHECK(has(buf, len, "\"shortcuts\": {\"variant\": ") && has(buf, len, "\"layers\": [0, 2]"), "JSON has the shortcut section");
    free(buf);
    inh__read_file("build/sc_an.html", &buf, &len, 0);
    CHECK(has(buf, len, "Shortcut attention") && has(buf, len, "the depth each token reaches for"), "HTML has both shortcut maps");
    free(buf);
    inh_analysis_free(&a);
    m.drop_shortcut = 1;
    CHECK(inh_analyze(&m, &d, &o, &a) == 0 && a.sc_n == 0, "with the shortcut dropped, no shortcut section");
    inh_analysis_free(&a);
    inh_data_close(&d);
    inh_model_free(&m);
}

/* ---- recipe --shortcuts: every run trains with shortcuts (here 2 then 4 layers, plus baselines) ---- */
static int quiet(void *user, const inh_recipe_progress *p) { (void)user; (void)p; return 0; }
static void recipe(void) {
    inh_config c;
    inh_model ref, m;
    inh_config_default(&c, 16, 32, 4, 2, 16);
    inh_model_init(&ref, &c, 1);
    inh_model_save(&ref, "build/sc_rc_ref.bin");
    inh_model_free(&ref);
    make_pattern("build/sc_pattern.bin", 4000);
    inh_recipe_opts o;
    inh_recipe_result r;
    inh_recipe_opts_default(&o);
    o.ref_path = "build/sc_rc_ref.bin"; o.train_path = o.val_path = "build/sc_pattern.bin"; o.out_dir = "build/sc_rc";
    o.train.B = 2; o.train.T = 16; o.train.steps = 3; o.eval_every = 3; o.eval_batches = 2; o.save_every = 0;
    o.baselines = INH_BASELINE_RANDOM | INH_BASELINE_FULL | INH_BASELINE_STACK;
    o.shortcuts = INH_SC_CAUSAL;
    test_rmtree("build/sc_rc");
    CHECK(inh_recipe_run(&o, quiet, NULL, &r) == 0, "recipe --shortcuts causal runs: %s", inh_error());
    int all = r.n_runs >= 4;
    for (int i = 0; i < r.n_runs; i++) {
        char path[256];
        snprintf(path, sizeof path, "build/sc_rc/%s.bin", r.runs[i].name);
        if (inh_model_load(&m, path)) { all = 0; continue; }
        all &= m.cfg.shortcuts == INH_SC_CAUSAL && inh_sc_layers(&m.cfg, NULL) == m.cfg.L - 1;
        inh_model_free(&m);
    }
    CHECK(all, "every recipe run (%d) trained with causal shortcuts on layers 0..l-2", r.n_runs);
}

int main(void) {
    bf16();
    recipe();
    analysis(INH_SC_CAUSAL);
    analysis(INH_SC_DEPTH);
    cli();
    inherit();
    kv_cache(INH_SC_CAUSAL, 1, 0);
    kv_cache(INH_SC_DEPTH, 0, 0);
    kv_cache(INH_SC_CAUSAL, 0, 1);
    threads(INH_SC_CAUSAL);
    threads(INH_SC_DEPTH);
    files();
    resume(INH_SC_CAUSAL);
    resume(INH_SC_DEPTH);
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
