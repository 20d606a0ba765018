/* tests/test_core.c - the engine: gradients against finite differences, parity with PyTorch
   (tests/ref/make_ref.py, float64), checkpoint round trip, exact resume, learning, bad input. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

/* ---- the reference bundle written by tests/ref/make_ref.py ------------------------------------ */

/* max |a-b| / (atol + rtol|b|) over n values: <= 1 means within tolerance */
static double worst(const float *a, const float *b, size_t n, double atol, double rtol, double *maxabs) {
    double w = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), q = d / (atol + rtol * fabs(b[i]));
        if (q > w) w = q;
        if (d > m) m = d;
    }
    if (maxabs) *maxabs = m;
    return w;
}

static int tokens_xy(const bundle *b, int *x, int *y, int BT) {
    const rec *t = bundle_get(b, "tokens");
    if (!t || (int)t->n != BT + 1) return -1;
    for (int i = 0; i < BT; i++) { x[i] = (int)t->data[i]; y[i] = (int)t->data[i + 1]; }
    return 0;
}

/* Forward + backward against PyTorch for one variant. Tolerances: the reference is float64 from the
   same float32 weights, so the only error is our float32 rounding (~1e-7 relative per op); logits and
   the loss agree to ~1e-6, gradients to ~1e-6 absolute for values of order 0.01-1. */
static void parity_variant(const char *name, int bias, int layer_scale) {
    char path[256];
    bundle b;
    inh_model m;
    snprintf(path, sizeof path, "tests/ref/%s_ref.bin", name);
    if (bundle_load(&b, path)) { CHECK(0, "cannot read %s", path); return; }
    snprintf(path, sizeof path, "tests/ref/%s.bin", name);
    if (inh_model_load(&m, path)) { CHECK(0, "load %s: %s", path, inh_error()); bundle_free(&b); return; }
    m.cfg.bias = bias; m.cfg.layer_scale = layer_scale;
    int B = 2, T = 8, x[16], y[16];
    CHECK(tokens_xy(&b, x, y, B * T) == 0, "%s: tokens record", name);
    inh_model_forward(&m, x, NULL, B, T);
    const rec *lg = bundle_get(&b, "logits"), *loss = bundle_get(&b, "loss");
    double w = 0, mx;
    for (int i = 0; i < B * T && lg; i++)   /* ours is (B,T,Vp); reference (B,T,V) */
        for (int v = 0; v < m.cfg.V; v++) {
            double q = fabs(m.acts.logits[(size_t)i * m.cfg.Vp + v] - lg->data[i * m.cfg.V + v]) / (1e-5 + 1e-5 * fabs(lg->data[i * m.cfg.V + v]));
            if (q > w) w = q;
        }
    CHECK(lg && w <= 1.0, "%s: logits differ from PyTorch (worst ratio to tolerance %.3g)", name, w);
    inh_model_forward(&m, x, y, B, T);
    if (loss) CHECK_CLOSE(m.mean_loss, loss->data[0], 0, 1e-5, "loss vs PyTorch (rel 1e-5)");
    inh_model_zero_grad(&m);
    inh_model_backward(&m, 1.0f);
    float *g = m.grads_mem;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {
        char gn[64];
        snprintf(gn, sizeof gn, "grad.%s", inh_param_name(i));
        const rec *r = bundle_get(&b, gn);
        if (!r || r->n != m.param_sizes[i]) { CHECK(0, "%s: %s shape", name, gn); g += m.param_sizes[i]; continue; }
        w = worst(g, r->data, r->n, 2e-6, 1e-4, &mx);
        CHECK(w <= 1.0, "%s %s: gradient differs from PyTorch (max abs %.3g; atol 2e-6 rtol 1e-4)", name, gn, mx);
        g += m.param_sizes[i];
    }
    if (!strcmp(name, "tiny")) {
        /* attention dropped at inference: layer 2, then layers 0 and 2 */
        const rec *ld = bundle_get(&b, "loss_drop_attn_2"), *ld2 = bundle_get(&b, "loss_drop_attn_0_2");
        m.drop_attn[2] = 1;
        inh_model_forward(&m, x, y, B, T);
        if (ld) CHECK_CLOSE(m.mean_loss, ld->data[0], 0, 1e-5, "loss with layer 2's attention dropped vs PyTorch");
        m.drop_attn[0] = 1;
        inh_model_forward(&m, x, y, B, T);
        if (ld2) CHECK_CLOSE(m.mean_loss, ld2->data[0], 0, 1e-5, "loss with layers 0,2 attention dropped vs PyTorch");
    }
    inh_model_free(&m);
    bundle_free(&b);
}

/* 10 AdamW steps on one batch (lr 1e-4, betas 0.9/0.999, eps 1e-8, wd 0.01) against torch.optim.AdamW.
   The issue asks 2e-3 per step; float32 reaches ~1e-6, so 1e-5 absolute is stated and checked. */
static void parity_adamw(int decay_all) {
    bundle b;
    inh_model m;
    if (bundle_load(&b, "tests/ref/tiny_ref.bin") || inh_model_load(&m, "tests/ref/tiny.bin")) { CHECK(0, "reference files"); return; }
    int x[16], y[16];
    tokens_xy(&b, x, y, 16);
    inh_adamw o = {0.9f, 0.999f, 1e-8f, 0.01f, decay_all, 0.0f};
    const rec *ref = bundle_get(&b, decay_all ? "losses_decay_all" : "losses_decay_2d");
    double worst_d = 0;
    for (int s = 0; s < 10 && ref; s++) {
        inh_model_zero_grad(&m);
        inh_model_forward(&m, x, y, 2, 8);
        double d = fabs(m.mean_loss - ref->data[s]);
        if (d > worst_d) worst_d = d;
        inh_model_backward(&m, 1.0f);
        inh_model_update(&m, &o, 1e-4f, s + 1, inh_model_grad_norm(&m));
    }
    CHECK(ref && worst_d <= 1e-5, "AdamW (%s) losses differ from PyTorch by %.3g", decay_all ? "decay all" : "2-D decay", worst_d);
    {   /* a norm that is not finite: refused, and nothing moves */
        float *w0 = (float *)malloc(m.num_params * sizeof(float));
        memcpy(w0, m.params_mem, m.num_params * sizeof(float));
        int rc = inh_model_update(&m, &o, 1e-4f, 11, NAN);
        CHECK(rc == -1 && strstr(inh_error(), "gradient norm") && memcmp(w0, m.params_mem, m.num_params * sizeof(float)) == 0,
              "an update with a NaN gradient norm is refused and leaves the weights: %s", inh_error());
        free(w0);
    }
    /* parameters after the 10 steps: the decay grouping shows in LayerNorm weights */
    float *p = m.params_mem;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {
        char pn[96];
        snprintf(pn, sizeof pn, "params_after_10_%s.%s", decay_all ? "decay_all" : "decay_2d", inh_param_name(i));
        const rec *r = bundle_get(&b, pn);
        if (r && i == 5) {
            /* the key bias has an exactly zero gradient (softmax ignores a shift); float32 leaves
               ~1e-9 noise there that Adam's normalisation turns into real steps, so skip that slice */
            int C = m.cfg.C;
            for (int l = 0; l < m.cfg.L; l++) memcpy(p + l * 3 * C + C, r->data + l * 3 * C + C, C * sizeof(float));
        }
        if (r) {
            double mx, w = worst(p, r->data, r->n, 1e-6, 1e-5, &mx);
            CHECK(w <= 1.0, "%s after 10 steps: max abs diff %.3g (atol 1e-6 rtol 1e-5)", pn, mx);
        } else CHECK(0, "missing %s", pn);
        p += m.param_sizes[i];
    }
    inh_model_free(&m);
    bundle_free(&b);
}

/* ---- finite differences ---------------------------------------------------------------------- */
/* Directional derivative check: (f(p + h d) - f(p - h d)) / 2h against <grad, d> for a random unit
   direction d over one whole tensor. h = 1e-2 on a float32 loss of ~4 keeps the rounding error near
   ulp(4)/h = 5e-5 and the truncation error O(h^2) near 1e-4; tolerance 5e-4 absolute + 1% relative. */
static double fd_loss(inh_model *m, const int *x, const int *y, int B, int T) { inh_model_forward(m, x, y, B, T); return m->mean_loss; }

static void fd_model(int bias, int layer_scale, int drop) {
    inh_config c;
    inh_model m;
    inh_config_default(&c, 8, 37, 2, 2, 8);
    c.bias = bias; c.layer_scale = layer_scale;
    inh_model_init(&m, &c, 7);
    inh_rng r;
    inh_rng_seed(&r, 11);
    for (size_t i = 0; i < m.num_params; i++) m.params_mem[i] += 0.2f * inh_rng_normal(&r);  /* away from init symmetry */
    for (size_t i = (size_t)c.V * c.C; i < (size_t)c.Vp * c.C; i++) m.params_mem[i] = 0;
    if (!bias) {
        float *p = m.params_mem;
        for (int i = 0; i < INH_NUM_PARAMS; p += m.param_sizes[i], i++)
            if (inh_param_is_bias(i)) memset(p, 0, m.param_sizes[i] * sizeof(float));
    }
    if (drop) m.drop_attn[1] = 1;
    int B = 2, T = 6, x[12], y[12];
    for (int i = 0; i < B * T; i++) { x[i] = (int)(inh_rng_u64(&r) % c.V); y[i] = (int)(inh_rng_u64(&r) % c.V); }
    inh_model_zero_grad(&m);
    inh_model_forward(&m, x, y, B, T);
    inh_model_backward(&m, 1.0f);
    float *p = m.params_mem, *g = m.grads_mem;
    const float h = 1e-2f;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {
        size_t n = m.param_sizes[i];
        if (!bias && inh_param_is_bias(i)) { p += n; g += n; continue; }
        float *d = (float *)malloc(n * sizeof(float)), *save = (float *)malloc(n * sizeof(float));
        double an = 0.0;
        memcpy(save, p, n * sizeof(float));
        double norm = 0.0;
        for (size_t j = 0; j < n; j++) { d[j] = inh_rng_normal(&r); norm += (double)d[j] * d[j]; }
        if (i == 0) for (size_t j = (size_t)c.V * c.C; j < n; j++) d[j] = 0;   /* padding rows */
        for (size_t j = 0; j < n; j++) { d[j] /= (float)sqrt(norm); an += (double)d[j] * g[j]; }
        for (size_t j = 0; j < n; j++) p[j] = save[j] + h * d[j];
        double fp = fd_loss(&m, x, y, B, T);
        for (size_t j = 0; j < n; j++) p[j] = save[j] - h * d[j];
        double fm = fd_loss(&m, x, y, B, T);
        memcpy(p, save, n * sizeof(float));
        double fd = (fp - fm) / (2 * h);
        char what[96];
        snprintf(what, sizeof what, "d loss / d %s (bias %d, layer scale %d, drop %d)", inh_param_name(i), bias, layer_scale, drop);
        CHECK_CLOSE(an, fd, 5e-4, 1e-2, what);
        free(d); free(save);
        p += n; g += n;
    }
    inh_model_free(&m);
}

/* Per-op checks of attention and layernorm (the two hand-derived backward passes) on a linear
   functional sum(out * R), element by element on the inputs. */
static void fd_ops(void) {
    enum { B = 2, T = 5, C = 8, NH = 2, N = B * T };
    inh_rng r;
    inh_rng_seed(&r, 3);
    float qkv[N * 3 * C], out[N * C], att[B * NH * T * T], R[N * C], dqkv[N * 3 * C], datt[B * NH * T * T];
    for (int i = 0; i < N * 3 * C; i++) qkv[i] = inh_rng_normal(&r);
    for (int i = 0; i < N * C; i++) R[i] = inh_rng_normal(&r);
    memset(dqkv, 0, sizeof dqkv);
    float scale = 0.35f;
    inh__attention_forward_cpu(out, att, qkv, B, T, C, NH, scale, 1);
    inh__attention_backward_cpu(dqkv, datt, R, qkv, att, B, T, C, NH, scale, 1);
    double worst_q = 0;
    for (int i = 0; i < N * 3 * C; i++) {
        float s = qkv[i];
        double fp = 0, fm = 0;
        qkv[i] = s + 1e-2f; inh__attention_forward_cpu(out, att, qkv, B, T, C, NH, scale, 1);
        for (int j = 0; j < N * C; j++) fp += (double)out[j] * R[j];
        qkv[i] = s - 1e-2f; inh__attention_forward_cpu(out, att, qkv, B, T, C, NH, scale, 1);
        for (int j = 0; j < N * C; j++) fm += (double)out[j] * R[j];
        qkv[i] = s;
        double q = fabs((fp - fm) / 2e-2 - dqkv[i]) / (1e-3 + 1e-2 * fabs(dqkv[i]));
        if (q > worst_q) worst_q = q;
    }
    CHECK(worst_q <= 1.0, "attention backward vs finite differences: worst ratio to tolerance %.3g (atol 1e-3, rtol 1e-2)", worst_q);
    /* causality: changing the last position's k and v leaves earlier outputs unchanged */
    float out2[N * C];
    inh__attention_forward_cpu(out, att, qkv, B, T, C, NH, scale, 1);
    for (int i = 0; i < 3 * C; i++) if (i >= C) qkv[(T - 1) * 3 * C + i] += 1.0f;
    inh__attention_forward_cpu(out2, att, qkv, B, T, C, NH, scale, 1);
    CHECK(memcmp(out, out2, (T - 1) * C * sizeof(float)) == 0, "attention is causal");

    float x[N * C], w[C], bb[C], y[N * C], mean[N], rstd[N], dx[N * C], dw[C], db[C];
    for (int i = 0; i < N * C; i++) x[i] = 2.0f * inh_rng_normal(&r) + 0.5f;
    for (int i = 0; i < C; i++) { w[i] = 1 + 0.3f * inh_rng_normal(&r); bb[i] = inh_rng_normal(&r); }
    memset(dx, 0, sizeof dx); memset(dw, 0, sizeof dw); memset(db, 0, sizeof db);
    inh__layernorm_forward(y, mean, rstd, x, w, bb, N, C, 2);
    inh__layernorm_backward(dx, dw, db, R, x, w, mean, rstd, N, C, 2);
    double wl = 0;
    for (int i = 0; i < N * C + C; i++) {
        float *pp = i < N * C ? &x[i] : &w[i - N * C];
        float an = i < N * C ? dx[i] : dw[i - N * C], s = *pp;
        double fp = 0, fm = 0;
        *pp = s + 1e-2f; inh__layernorm_forward(y, mean, rstd, x, w, bb, N, C, 2);
        for (int j = 0; j < N * C; j++) fp += (double)y[j] * R[j];
        *pp = s - 1e-2f; inh__layernorm_forward(y, mean, rstd, x, w, bb, N, C, 2);
        for (int j = 0; j < N * C; j++) fm += (double)y[j] * R[j];
        *pp = s;
        double q = fabs((fp - fm) / 2e-2 - an) / (1e-3 + 1e-2 * fabs(an));
        if (q > wl) wl = q;
    }
    CHECK(wl <= 1.0, "layernorm backward vs finite differences: worst ratio %.3g", wl);
}

/* The key-blocked flash kernels (AVX-512) sum exactly as the row-at-a-time plain ones: bit for bit
   at head sizes 64, 128, 32, 96 (64 + a part of 32) and 24, with T crossing the blocks of 64 rows
   and keys unevenly, on 1 and 2 threads. */
static void flash_blocked_equals_plain(void) {
    static const int shapes[][4] = {{2, 130, 128, 2}, {1, 77, 256, 2}, {1, 64, 64, 1}, {2, 129, 128, 4}, {1, 150, 96, 1}, {1, 70, 72, 3}};
    for (int k = 0; k < 6; k++) {
        int B = shapes[k][0], T = shapes[k][1], C = shapes[k][2], NH = shapes[k][3], N = B * T;
        float *qkv = (float *)malloc((size_t)N * 3 * C * 4), *d = (float *)malloc((size_t)N * C * 4);
        float *o1 = (float *)malloc((size_t)N * C * 4), *o2 = (float *)malloc((size_t)N * C * 4);
        float *att = (float *)malloc((size_t)B * NH * T * T * 4), *datt = (float *)malloc((size_t)B * NH * T * T * 4);
        float *rows = (float *)malloc((size_t)B * NH * 2 * T * 4);
        float *g1 = (float *)calloc((size_t)N * 3 * C, 4), *g2 = (float *)calloc((size_t)N * 3 * C, 4);
        inh_rng r;
        inh_rng_seed(&r, 11 + k);
        for (int i = 0; i < N * 3 * C; i++) qkv[i] = inh_rng_normal(&r);
        for (int i = 0; i < N * C; i++) d[i] = inh_rng_normal(&r);
        inh__attention_forward_cpu(o1, att, qkv, B, T, C, NH, 0.125f, 1);
        inh__attention_backward_cpu(g1, datt, d, qkv, att, B, T, C, NH, 0.125f, 1);
        for (int nt = 1; nt <= 2; nt++) {
            memset(g2, 0, (size_t)N * 3 * C * 4);
            inh__attention_forward_flash(o2, rows, qkv, B, T, C, NH, 0.125f, nt);
            inh__attention_backward_flash(g2, rows, d, qkv, B, T, C, NH, 0.125f, nt);
            CHECK(memcmp(o1, o2, (size_t)N * C * 4) == 0 && memcmp(g1, g2, (size_t)N * 3 * C * 4) == 0,
                  "flash attention = plain, bit for bit, at T=%d hs=%d on %d thread(s)", T, C / NH, nt);
        }
        free(qkv); free(d); free(o1); free(o2); free(att); free(datt); free(rows); free(g1); free(g2);
    }
}

/* Flash attention (rows recomputed, never stored) gives the same bits as the plain kernels, for the
   kernels alone (T = 13, not a multiple of anything) and for a whole model's loss and gradients. */
static void flash_equals_plain(void) {
    enum { B = 2, T = 13, C = 12, NH = 3, N = B * T };
    static float qkv[N * 3 * C], o1[N * C], o2[N * C], att[B * NH * T * T], datt[B * NH * T * T], rows[B * NH * 2 * T];
    static float d[N * C], g1[N * 3 * C], g2[N * 3 * C];
    inh_rng r;
    inh_rng_seed(&r, 8);
    for (int i = 0; i < N * 3 * C; i++) qkv[i] = inh_rng_normal(&r);
    for (int i = 0; i < N * C; i++) d[i] = inh_rng_normal(&r);
    inh__attention_forward_cpu(o1, att, qkv, B, T, C, NH, 0.4f, 1);
    inh__attention_forward_flash(o2, rows, qkv, B, T, C, NH, 0.4f, 2);
    CHECK(memcmp(o1, o2, sizeof o1) == 0, "flash attention forward = plain, bit for bit");
    memset(g1, 0, sizeof g1); memset(g2, 0, sizeof g2);
    inh__attention_backward_cpu(g1, datt, d, qkv, att, B, T, C, NH, 0.4f, 1);
    inh__attention_backward_flash(g2, rows, d, qkv, B, T, C, NH, 0.4f, 2);
    CHECK(memcmp(g1, g2, sizeof g1) == 0, "flash attention backward = plain, bit for bit");

    inh_config c;
    inh_model a, b;
    int x[32], y[32];
    inh_config_default(&c, 16, 50, 2, 2, 16);
    inh_model_init(&a, &c, 6); inh_model_init(&b, &c, 6);
    b.keep_attention = 1;
    for (int i = 0; i < 32; i++) { x[i] = (i * 5) % 50; y[i] = (i * 3 + 1) % 50; }
    inh_model_zero_grad(&a); inh_model_zero_grad(&b);
    inh_model_forward(&a, x, y, 2, 16); inh_model_forward(&b, x, y, 2, 16);
    CHECK(a.acts.att == NULL && b.acts.att != NULL, "flash mode stores no (B,NH,T,T) matrices; keep_attention does");
    CHECK(a.mean_loss == b.mean_loss, "same loss with and without stored attention");
    inh_model_backward(&a, 1); inh_model_backward(&b, 1);
    CHECK(memcmp(a.grads_mem, b.grads_mem, a.num_params * 4) == 0, "same gradients with and without stored attention");
    inh_model_free(&a); inh_model_free(&b);
}

/* Kernels give the same bits for 1 and 3 threads (each output has one owner). */
static void thread_determinism(void) {
    inh_config c;
    inh_model a, b;
    inh_config_default(&c, 16, 50, 2, 2, 16);
    inh_model_init(&a, &c, 5); inh_model_init(&b, &c, 5);
    b.threads = 3;
    int x[32], y[32];
    for (int i = 0; i < 32; i++) { x[i] = (i * 7) % 50; y[i] = (i * 11 + 3) % 50; }
    inh_model_zero_grad(&a); inh_model_zero_grad(&b);
    inh_model_forward(&a, x, y, 2, 16); inh_model_forward(&b, x, y, 2, 16);
    CHECK(a.mean_loss == b.mean_loss, "loss differs between 1 and 3 threads");
    inh_model_backward(&a, 1); inh_model_backward(&b, 1);
    CHECK(memcmp(a.grads_mem, b.grads_mem, a.num_params * 4) == 0, "gradients differ between 1 and 3 threads");
    inh_model_free(&a); inh_model_free(&b);
}

/* ---- files ----------------------------------------------------------------------------------- */
static void write_bytes(const char *path, const void *p, size_t n) { FILE *f = fopen(path, "wb"); fwrite(p, 1, n, f); fclose(f); }

static void checkpoint_roundtrip(void) {
    inh_config c;
    inh_model m, m2;
    inh_config_default(&c, 16, 61, 2, 2, 8);
    c.bias = 0; c.layer_scale = 1;
    inh_model_init(&m, &c, 9);
    CHECK(inh_model_save(&m, "build/rt.bin") == 0, "save: %s", inh_error());
    CHECK(inh_model_load(&m2, "build/rt.bin") == 0, "load: %s", inh_error());
    CHECK(m2.num_params == m.num_params && memcmp(m.params_mem, m2.params_mem, m.num_params * 4) == 0, "parameters round trip bit for bit");
    CHECK(m2.cfg.bias == 0 && m2.cfg.layer_scale == 1 && m2.cfg.Vp == 128 && m2.cfg.V == 61, "options and sizes round trip");
    FILE *f = fopen("build/rt.bin", "rb");
    CHECK(f && fseek(f, 0, SEEK_END) == 0 && ftell(f) == 1024 + (long)m.num_params * 4, "file size is header + 4 bytes per parameter");
    if (f) fclose(f);
    /* a model with a NaN is never written over a good file */
    m2.params_mem[5] = NAN;
    CHECK(inh_model_save(&m2, "build/rt.bin") != 0 && strstr(inh_error(), "diverged"), "NaN model refused: %s", inh_error());
    inh_model m3;
    CHECK(inh_model_load(&m3, "build/rt.bin") == 0 && memcmp(m3.params_mem, m.params_mem, m.num_params * 4) == 0, "the good file is intact");
    inh_model_free(&m3);
    inh_model_free(&m); inh_model_free(&m2);
}

static void expect_fail(int rc, const char *needle, const char *what) {
    CHECK(rc != 0 && strstr(inh_error(), needle) != NULL, "%s: rc %d, message '%s' should mention '%s'", what, rc, inh_error(), needle);
}

/* Sizes past what the build can address are refused with a message, never wrapped: a model whose
   parameters do not fit, a shard over 2 GiB and activations (B*T*Vp) past SIZE_MAX on 32-bit
   builds (make test-32); on 64-bit a model past 2^40 parameters. */
static void sizes_past_the_address_space(void) {
    inh_config c;
    inh_model m;
    if (sizeof(size_t) >= 8) {
        inh_config_default(&c, 1024, 50257, 4000, 4, 60000);   /* 1.7e14 parameters */
        expect_fail(inh_config_check(&c, "huge"), "model too large", "a model past 2^40 parameters");
        return;
    }
    inh_config_default(&c, 1024, 50257, 48, 25, 6400);          /* 2.4e10 parameters: fine on 64-bit */
    expect_fail(inh_config_check(&c, "big"), "too large for this 32-bit build", "a model past the 32-bit address space");
    FILE *f = inh__os_fopen("build/sparse3g.bin", "wb");    /* a 3 GiB shard, sparse: one byte written */
    int made = f && inh__os_seek(f, (uint64_t)3 << 30) == 0 && fputc(0, f) != EOF;
    if (f) fclose(f);
    CHECK(made, "a sparse 3 GiB file for the test");
    inh_data d;
    if (made) expect_fail(inh_data_open(&d, "build/sparse3g.bin", 0), "too large for this 32-bit build", "a shard over 2 GiB");
    inh__os_remove("build/sparse3g.bin");
    inh_config_default(&c, 1024, 50257, 1, 1, 16);
    CHECK(inh_model_init(&m, &c, 1) == 0, "a small model with GPT-2's vocabulary: %s", inh_error());
    int *ids = (int *)calloc((size_t)64 * 1024, sizeof(int));
    if (ids && m.params_mem)
        expect_fail(inh_model_forward(&m, ids, ids, 64, 1024), "too large for this 32-bit build", "activations of B*T*Vp past SIZE_MAX");
    free(ids);
    inh_model_free(&m);
}

static void bad_inputs(void) {
    inh_model m;
    inh_data d;
    unsigned char *good; size_t len;
    inh__read_file("tests/ref/tiny.bin", &good, &len, 0);
    expect_fail(inh_model_load(&m, "build/does-not-exist.bin"), "does-not-exist.bin: cannot open", "missing file");
    write_bytes("build/bad.bin", good, len - 5);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "truncated", "truncated checkpoint");
    write_bytes("build/bad.bin", good, 100);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "too short", "header cut short");
    unsigned char *b = (unsigned char *)malloc(len);
    memcpy(b, good, len); inh__wr32(b, 12345); write_bytes("build/bad.bin", b, len);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "magic", "wrong magic");
    memcpy(b, good, len); inh__wr32(b + 4, 5); write_bytes("build/bad.bin", b, len);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "version 5", "wrong version");
    memcpy(b, good, len); inh__wr32(b + 20, 3); write_bytes("build/bad.bin", b, len);   /* NH = 3, C = 16 */
    expect_fail(inh_model_load(&m, "build/bad.bin"), "do not divide", "heads that do not divide C");
    memcpy(b, good, len); inh__wr32(b + 8, 0x7fffffff); write_bytes("build/bad.bin", b, len);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "bad model sizes", "huge maxT");
    memcpy(b, good, len); inh__wr32(b + 16, 4); write_bytes("build/bad.bin", b, len);
    expect_fail(inh_model_load(&m, "build/bad.bin"), "needs", "sizes that do not match the file (no allocation from them)");
    memcpy(b, good, len); inh__wr32(b + 28, 64); write_bytes("build/bad.bin", b, len);   /* Vp < V */
    expect_fail(inh_model_load(&m, "build/bad.bin"), "smaller than V", "Vp below V");
    free(b); free(good);

    inh__read_file("tests/ref/tiny_tokens.bin", &good, &len, 0);
    write_bytes("build/bad_tok.bin", good, len - 1);
    expect_fail(inh_data_open(&d, "build/bad_tok.bin", 100), "header says 17 tokens", "shard whose count does not match its size");
    expect_fail(inh_data_open(&d, "tests/ref/tiny_tokens.bin", 10), "outside the model's vocabulary", "token id at or above V");
    inh__wr32(good, 20240326); write_bytes("build/bad_tok.bin", good, len);
    expect_fail(inh_data_open(&d, "build/bad_tok.bin", 100), "not an llm.c token shard", "model file given as data");
    free(good);
    CHECK(inh_data_open(&d, "tests/ref/tiny_tokens.bin", 100) == 0, "good shard opens");
    int x[64], y[64];
    expect_fail(inh_data_next(&d, 4, 8, x, y), "cannot fill a batch", "batch that does not fit the shard");
    inh_model_load(&m, "tests/ref/tiny.bin");
    x[0] = 0;
    expect_fail(inh_model_forward(&m, x, NULL, 1, 17), "above the model's maxT", "T over maxT");
    x[0] = 100;
    expect_fail(inh_model_forward(&m, x, NULL, 1, 1), "outside the vocabulary", "input id out of range");
    inh_model_free(&m);
    inh_data_close(&d);
}

/* ---- training -------------------------------------------------------------------------------- */
/* A sequence the model can learn: period-5 counting with a per-block offset, V = 32. */
static void make_pattern(const char *path, int n) {
    int *ids = (int *)malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) ids[i] = ((i / 40) * 3 + (i % 5)) % 32;
    inh_data_write(path, ids, n);
    free(ids);
}

static int run_steps(inh_trainer *t, int k, float *losses) {
    for (int i = 0; i < k; i++) {
        inh_step_info info;
        if (inh_trainer_step(t, &info)) return -1;
        losses[i] = info.loss;
    }
    return 0;
}

static void resume_exact(void) {
    inh_config c;
    inh_train_opts o;
    inh_model m, m2;
    inh_data d, d2;
    inh_trainer t, t2;
    float straight[20], parts[20];
    make_pattern("build/pattern.bin", 4000);
    inh_config_default(&c, 16, 32, 2, 2, 16);
    inh_train_opts_default(&o);
    o.B = 4; o.T = 16; o.steps = 20; o.lr = 1e-2f; o.warmup = 3; o.min_lr = 1e-3f; o.accum = 2;  /* cosine, shuffled */
    inh_model_init(&m, &c, 1);
    CHECK(inh_data_open(&d, "build/pattern.bin", 32) == 0, "open the pattern shard: %s", inh_error());
    if (!d.tokens) { inh_model_free(&m); return; }
    inh_trainer_init(&t, &m, &d, &o);
    run_steps(&t, 20, straight);
    inh_trainer_free(&t); inh_model_free(&m);

    inh_model_init(&m, &c, 1);
    inh_trainer_init(&t, &m, &d, &o);
    run_steps(&t, 10, parts);
    CHECK(inh_trainer_save_state(&t, "build/state.bin") == 0, "save state: %s", inh_error());
    inh_trainer_free(&t); inh_model_free(&m);
    CHECK(inh_data_open(&d2, "build/pattern.bin", 32) == 0, "open the pattern shard again: %s", inh_error());
    CHECK(inh_trainer_load_state(&t2, &m2, &d2, "build/state.bin") == 0, "load state: %s", inh_error());
    CHECK(t2.step == 10, "resumed at step %d", t2.step);
    run_steps(&t2, 10, parts + 10);
    CHECK(memcmp(straight, parts, sizeof straight) == 0, "20 steps straight equal 10 + save + resume 10, bit for bit");
    inh_trainer_free(&t2); inh_model_free(&m2);
    inh_data_close(&d); inh_data_close(&d2);
}

/* KV-cache inference gives the logits of a full forward over the same window, at every position
   and past maxT (sliding window); dropped layers keep no cache. Different summation order in the
   softmax normalisation: 1e-5 absolute on logits of order 1. */
static void kv_cache(int bias, int layer_scale, int drop) {
    inh_config c;
    inh_model m;
    inh_kv kv;
    int toks[40];
    inh_config_default(&c, 16, 45, 3, 2, 16);
    c.bias = bias; c.layer_scale = layer_scale;
    inh_model_init(&m, &c, 21);
    inh_rng r;
    inh_rng_seed(&r, 5);
    for (size_t i = 0; i < m.num_params; i++) m.params_mem[i] += 0.1f * inh_rng_normal(&r);
    if (drop) m.drop_attn[1] = 1;
    for (int i = 0; i < 40; i++) toks[i] = (int)(inh_rng_u64(&r) % 45);
    CHECK(inh_kv_init(&kv, &m) == 0, "kv init");
    CHECK(kv.cache_floats == (size_t)(drop ? 2 : 3) * 2 * 16 * 16, "cache holds K and V of the %d attending layers only", drop ? 2 : 3);
    double worst = 0;
    int window_ok = 1;
    for (int k = 0; k < 40; k++) {
        inh_kv_push(&kv, toks[k]);
        /* the cache holds the last kv.n tokens: all of them until maxT = 16, then the window
           restarts from the last 8 and grows again (9..16 tokens) */
        int want_n = k < 16 ? k + 1 : 9 + (k - 16) % 8;
        window_ok &= kv.n == want_n && !memcmp(kv.tokens, toks + k + 1 - kv.n, sizeof(int) * (size_t)kv.n);
        int start = k + 1 - kv.n, T = kv.n;
        inh_model_forward(&m, toks + start, NULL, 1, T);
        for (int v = 0; v < 45; v++) {
            double d = fabs(kv.logits[v] - m.acts.logits[(size_t)(T - 1) * c.Vp + v]);
            if (d > worst) worst = d;
        }
    }
    CHECK(worst <= 1e-5, "KV-cache logits equal the full forward's (bias %d, layer scale %d, drop %d): max diff %.3g", bias, layer_scale, drop, worst);
    CHECK(window_ok, "past maxT the window slides to the last maxT/2 tokens and grows back to maxT");
    inh_kv_free(&kv);
    inh_model_free(&m);
}

/* a step whose loss or gradient is not finite is skipped: the weights and moments do not move */
static void nan_guard(void) {
    inh_config c;
    inh_train_opts o;
    inh_model m;
    inh_data d;
    inh_trainer t;
    inh_step_info info;
    make_pattern("build/pattern.bin", 4000);
    inh_config_default(&c, 16, 32, 1, 1, 8);
    inh_train_opts_default(&o);
    o.B = 2; o.T = 16;
    inh_model_init(&m, &c, 4);
    inh_data_open(&d, "build/pattern.bin", 32);
    inh_trainer_init(&t, &m, &d, &o);
    inh_trainer_step(&t, &info);
    m.params.lnfw[0] = INFINITY;
    float *before = (float *)malloc(m.num_params * 4);
    memcpy(before, m.params_mem, m.num_params * 4);
    CHECK(inh_trainer_step(&t, &info) == 0 && info.skipped, "non-finite loss: step skipped (loss %g)", info.loss);
    CHECK(memcmp(before, m.params_mem, m.num_params * 4) == 0, "skipped step leaves the weights untouched");
    free(before);
    inh_trainer_free(&t); inh_model_free(&m); inh_data_close(&d);
}

static void learns(void) {
    inh_config c;
    inh_train_opts o;
    inh_model m;
    inh_data d;
    inh_trainer t;
    float losses[150], first, last = 0;
    make_pattern("build/pattern.bin", 4000);
    inh_config_default(&c, 32, 32, 2, 2, 32);
    inh_train_opts_default(&o);
    o.B = 8; o.T = 32; o.steps = 150; o.lr = 3e-3f; o.warmup = 10;
    inh_model_init(&m, &c, 2);
    m.threads = 2;
    inh_data_open(&d, "build/pattern.bin", 32);
    inh_trainer_init(&t, &m, &d, &o);
    run_steps(&t, 150, losses);
    first = losses[0];
    for (int i = 140; i < 150; i++) last += losses[i] / 10;
    /* the start is ~ln 32 = 3.47; the pattern is deterministic except where a window starts or a
       40-token block changes its offset, so the loss must fall well below 1 */
    CHECK(first > 3.0f && last < 1.0f, "2-layer model learns the pattern: loss %.3f -> %.3f (want < 1.0)", first, last);
    inh_trainer_free(&t); inh_model_free(&m); inh_data_close(&d);
}

/* bf16 mixed precision tracks fp32: the same model and batches, 150 steps each way. The bf16
   run must differ (the flag reaches the kernels) yet follow fp32: first loss within 1%, the mean
   of the last 10 within 0.02 nats (and both below 1.0, as in learns()), mean |difference| over
   all steps within 0.01 (observed: 0.0001). A state file keeps the flag. */
static void bf16_tracks_fp32(void) {
    inh_config c;
    inh_train_opts o;
    inh_model m[2];
    inh_data d[2];
    inh_trainer t[2];
    float losses[2][150], last[2] = {0, 0};
    make_pattern("build/pattern.bin", 4000);
    inh_config_default(&c, 32, 32, 2, 2, 32);
    inh_train_opts_default(&o);
    o.B = 8; o.T = 32; o.steps = 150; o.lr = 3e-3f; o.warmup = 10;
    for (int k = 0; k < 2; k++) {
        o.bf16 = k;
        inh_model_init(&m[k], &c, 2);
        inh_data_open(&d[k], "build/pattern.bin", 32);
        inh_trainer_init(&t[k], &m[k], &d[k], &o);
        run_steps(&t[k], 150, losses[k]);
        for (int i = 140; i < 150; i++) last[k] += losses[k][i] / 10;
    }
    double mean = 0;
    int differ = 0;
    for (int i = 0; i < 150; i++) { mean += fabs(losses[1][i] - losses[0][i]) / 150; differ += losses[1][i] != losses[0][i]; }
    printf("  bf16 vs fp32: first loss %.5f vs %.5f, last-10 mean %.4f vs %.4f, mean |diff| %.4f, %d of 150 steps differ\n",
           losses[1][0], losses[0][0], last[1], last[0], mean, differ);
    CHECK(differ > 0 && m[1].bf16 == 1 && m[0].bf16 == 0, "bf16 training is bit-identical to fp32: the flag did not reach the matmuls");
    CHECK(fabs(losses[1][0] - losses[0][0]) <= 0.01 * losses[0][0], "bf16 first loss %.5f vs fp32 %.5f (1%%)", losses[1][0], losses[0][0]);
    CHECK(fabs(last[1] - last[0]) <= 0.02 && last[0] < 1.0f && last[1] < 1.0f, "bf16 final loss %.4f vs fp32 %.4f (0.02, both < 1)", last[1], last[0]);
    CHECK(mean <= 0.01, "bf16 mean |loss difference| %.4f over 150 steps (0.01)", mean);
    CHECK(inh_trainer_save_state(&t[1], "build/state_bf16.bin") == 0, "save bf16 state: %s", inh_error());
    inh_model m2;
    inh_trainer t2;
    CHECK(inh_trainer_load_state(&t2, &m2, &d[1], "build/state_bf16.bin") == 0 && t2.o.bf16 == 1 && m2.bf16 == 1,
          "a state file keeps bf16");
    inh_trainer_free(&t2); inh_model_free(&m2);
    for (int k = 0; k < 2; k++) { inh_trainer_free(&t[k]); inh_model_free(&m[k]); inh_data_close(&d[k]); }
}

static void schedule(void) {
    inh_train_opts o;
    inh_train_opts_default(&o);
    o.lr = 1.0f; o.min_lr = 0.1f; o.warmup = 4; o.steps = 14;
    CHECK_CLOSE(inh_lr_at(&o, 0), 0.25, 1e-7, 0, "warm-up step 0 = lr/4");
    CHECK_CLOSE(inh_lr_at(&o, 3), 1.0, 1e-7, 0, "end of warm-up = lr");
    CHECK_CLOSE(inh_lr_at(&o, 4), 1.0, 1e-7, 0, "cosine starts at lr");
    CHECK_CLOSE(inh_lr_at(&o, 13), 0.1, 1e-6, 0, "cosine ends at min_lr");
    CHECK_CLOSE(inh_lr_at(&o, 8.5 > 0 ? 8 : 0), 0.1 + 0.9 * 0.5 * (1 + cos(3.14159265358979 * 4 / 9)), 1e-6, 0, "cosine midway");
    o.schedule = INH_SCHEDULE_CONSTANT;
    CHECK_CLOSE(inh_lr_at(&o, 10), 1.0, 0, 0, "constant schedule");
}

int main(void) {
    CHECK(inh_make_dir("build") == 0, "the build directory: %s", inh_error());   /* a fresh checkout on any platform */
    parity_variant("tiny", 1, 0);
    parity_variant("tiny_nobias", 0, 0);
    parity_variant("tiny_layerscale", 1, 1);
    parity_adamw(1);
    parity_adamw(0);
    fd_ops();
    for (int bias = 0; bias <= 1; bias++)
        for (int ls = 0; ls <= 1; ls++) fd_model(bias, ls, 0);
    fd_model(1, 0, 1);
    thread_determinism();
    flash_equals_plain();
    flash_blocked_equals_plain();
    checkpoint_roundtrip();
    bad_inputs();
    sizes_past_the_address_space();
    schedule();
    resume_exact();
    nan_guard();
    kv_cache(1, 0, 0);
    kv_cache(0, 1, 0);
    kv_cache(1, 1, 1);
    if (getenv("INH_TEST_QUICK")) {   /* the slowest emulated platforms: 90% of this program's time */
        SKIP("learns, bf16_tracks_fp32: two training runs of 1.8 s natively (INH_TEST_QUICK: x87/s390x under qemu); they run natively and on ARM");
    } else {
        learns();
        bf16_tracks_fp32();
    }
    return test_summary("core");
}
