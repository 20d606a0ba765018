/* tests/test_safetensors.c - Hugging Face checkpoints: a real GPT2LMHeadModel file against PyTorch
   (tests/ref/make_hf_ref.py, float64), round trips through both formats bit for bit, F16/BF16
   decoding, and every kind of bad file failing with a message that names the file and the tensor. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#include <sys/stat.h>

#define DIR "build/st_test"

/* ---- the reference bundle (format of tests/ref/make_ref.py) -------------------------------------- */

static int same_model(const inh_model *a, const inh_model *b) {
    return a->num_params == b->num_params && !memcmp(&a->cfg, &b->cfg, sizeof a->cfg) &&
           !memcmp(a->params_mem, b->params_mem, a->num_params * sizeof(float));
}

/* the error names the file and, when given, the tensor */
static int err_names(const char *file, const char *tensor) {
    const char *e = inh_error();
    return strstr(e, file) != NULL && (!tensor || strstr(e, tensor) != NULL);
}

/* ---- a hand-made safetensors writer, independent of the one under test ---------------------------- */
typedef struct {
    char name[64], dtype[16];
    int ndim;
    long long shape[4];
    unsigned char *data;       /* owned */
    size_t nbytes;
    long long off[2];          /* used when fixed */
    int fixed;
} ent;
typedef struct { ent e[64]; int n; const char *meta; } stf;

static ent *st_add(stf *s, const char *name, const char *dtype, int ndim, long long d0, long long d1, const void *data, size_t nbytes) {
    ent *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->dtype, sizeof e->dtype, "%s", dtype);
    e->ndim = ndim; e->shape[0] = d0; e->shape[1] = d1;
    e->data = (unsigned char *)malloc(nbytes ? nbytes : 1);
    if (data) memcpy(e->data, data, nbytes);
    e->nbytes = nbytes;
    return e;
}
static ent *st_find(stf *s, const char *name) {
    for (int i = 0; i < s->n; i++) if (!strcmp(s->e[i].name, name)) return &s->e[i];
    printf("test tensor %s not found\n", name);
    exit(2);
}
static void st_drop(stf *s, const char *name) {
    ent *e = st_find(s, name);
    free(e->data);
    *e = s->e[--s->n];
}
static void st_free(stf *s) { for (int i = 0; i < s->n; i++) free(s->e[i].data); s->n = 0; }

/* GPT-2's HF tensors of model m, F32, Conv1D layout, with an optional name prefix */
static void st_from_model(stf *s, const inh_model *m, const char *prefix) {
    const inh_config *c = &m->cfg;
    static const char *names[16] = {"wte.weight", "wpe.weight", "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                    "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",
                                    "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias", "ln_f.weight", "ln_f.bias"};
    long long C = c->C, rows[16] = {c->V, c->maxT, C, C, C, 3 * C, C, C, C, C, C, 4 * C, 4 * C, C, C, C};
    long long cols[16] = {C, C, 0, 0, 3 * C, 0, C, 0, 0, 0, 4 * C, 0, C, 0, 0, 0};
    memset(s, 0, sizeof *s);
    const float *base = m->params_mem;
    for (int p = 0; p < 16; p++) {
        int per_layer = p >= 2 && p <= 13, tr = p == 4 || p == 6 || p == 10 || p == 12;
        size_t per = m->param_sizes[p] / (per_layer ? (size_t)c->L : 1);
        for (int l = 0; l < (per_layer ? c->L : 1); l++) {
            char nm[64];
            if (per_layer) snprintf(nm, sizeof nm, "%sh.%d.%s", prefix, l, names[p]);
            else snprintf(nm, sizeof nm, "%s%s", prefix, names[p]);
            size_t n = (size_t)rows[p] * (size_t)(cols[p] ? cols[p] : 1);
            ent *e = st_add(s, nm, "F32", cols[p] ? 2 : 1, rows[p], cols[p], NULL, n * 4);
            const float *src = base + (size_t)l * per;
            float *dst = (float *)e->data;
            for (size_t i = 0; i < n; i++) {
                size_t r = i / (size_t)(cols[p] ? cols[p] : 1), k = i % (size_t)(cols[p] ? cols[p] : 1);
                dst[i] = tr ? src[k * (size_t)rows[p] + r] : src[i];   /* HF [in, out] = ours (out, in) transposed */
            }
            if (!inh__host_is_le()) inh__swap32(dst, n);   /* safetensors data is little-endian on every host */
        }
        base += m->param_sizes[p];
    }
}

static void put_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) { printf("cannot write %s\n", path); exit(2); }
    fclose(f);
}

/* write s as path (header in insertion order, automatic contiguous offsets unless fixed) */
static void st_write(const stf *s, const char *path) {
    char *h = (char *)malloc(65536);
    size_t n = 0, off = 0, total = 0;
    n += (size_t)sprintf(h + n, "{\"__metadata__\":{\"format\":\"pt\"%s}", s->meta ? s->meta : "");
    for (int i = 0; i < s->n; i++) {
        const ent *e = &s->e[i];
        long long b = e->fixed ? e->off[0] : (long long)off, en = e->fixed ? e->off[1] : (long long)(off + e->nbytes);
        n += (size_t)sprintf(h + n, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [", e->name, e->dtype);
        for (int d = 0; d < e->ndim; d++) n += (size_t)sprintf(h + n, d ? ", %lld" : "%lld", e->shape[d]);
        n += (size_t)sprintf(h + n, "], \"data_offsets\": [%lld, %lld]}", b, en);
        if (!e->fixed) off += e->nbytes;
        total += e->nbytes;
    }
    n += (size_t)sprintf(h + n, "}");
    while (n % 8) h[n++] = ' ';
    unsigned char *buf = (unsigned char *)malloc(8 + n + total + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, h, n);
    size_t p = 8 + n;
    for (int i = 0; i < s->n; i++) { memcpy(buf + p, s->e[i].data, s->e[i].nbytes); p += s->e[i].nbytes; }
    put_file(path, buf, p);
    free(buf); free(h);
}

static void write_config(const char *dir, int maxT, int V, int L, int NH, int C, const char *extra) {
    char path[512], txt[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int k = snprintf(txt, sizeof txt, "{\"model_type\": \"gpt2\", \"n_positions\": %d, \"n_ctx\": %d, \"vocab_size\": %d, \"n_layer\": %d, "
                     "\"n_head\": %d, \"n_embd\": %d, \"n_inner\": null, \"layer_norm_epsilon\": 1e-05, \"activation_function\": \"gelu_new\", "
                     "\"task_specific_params\": {\"text-generation\": {\"do_sample\": true, \"max_length\": [50, 1.5e3]}}%s}",
                     maxT, maxT, V, L, NH, C, extra ? extra : "");
    put_file(path, txt, (size_t)k);
}

static const char *case_dir(const char *name) {
    static char d[256];
    snprintf(d, sizeof d, DIR "/%s", name);
    inh_make_dir(d);
    return d;
}

/* a small model with every parameter random (biases too); wte padding rows stay zero */
static void random_model(inh_model *m, int bias, int layer_scale, uint64_t seed) {
    inh_config c;
    inh_config_default(&c, 4, 5, 2, 2, 4);
    c.bias = bias; c.layer_scale = layer_scale;
    if (inh_model_init(m, &c, seed)) { printf("init: %s\n", inh_error()); exit(2); }
    inh_rng r;
    inh_rng_seed(&r, seed + 1);
    float *mem = m->params_mem;
    for (int p = 0; p < INH_NUM_PARAMS; p++) {
        size_t n = p == 0 ? (size_t)c.V * c.C : m->param_sizes[p];
        if (bias || !inh_param_is_bias(p))
            for (size_t i = 0; i < n; i++) mem[i] = inh_rng_normal(&r);
        mem += m->param_sizes[p];
    }
}

/* ---- the real Hugging Face file ---------------------------------------------------------------- */

static void test_hf_tiny(void) {
    const char *shared = test_shared_dir();
    if (!shared) { SKIP("../shared/data absent: the Hugging Face tiny-gpt2 checks need ../shared/data/hf_tiny_gpt2"); return; }
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s/hf_tiny_gpt2", shared);
    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    inh_model m, m2;
    bundle ref;
    int rc = inh_model_load_safetensors(&m, dir);
    CHECK(rc == 0, "load %s: %s", dir, inh_error());
    if (rc) return;
    const inh_config *c = &m.cfg;
    CHECK(c->L == 2 && c->NH == 2 && c->C == 2 && c->V == 50257 && c->Vp == 50304 && c->maxT == 1024 && c->bias == 1 && c->layer_scale == 0,
          "config L=%d NH=%d C=%d V=%d Vp=%d maxT=%d bias=%d ls=%d", c->L, c->NH, c->C, c->V, c->Vp, c->maxT, c->bias, c->layer_scale);
    int padzero = 1;
    for (size_t i = (size_t)c->V * c->C; i < (size_t)c->Vp * c->C; i++) padzero &= m.params.wte[i] == 0.0f;
    CHECK(padzero, "wte rows V..Vp-1 are zero");

    CHECK(inh_model_load_safetensors(&m2, file) == 0 && same_model(&m, &m2), "loading the file or its directory gives the same model");
    inh_model_free(&m2);
    CHECK(inh_model_load_any(&m2, dir) == 0 && same_model(&m, &m2), "load_any on the directory");
    inh_model_free(&m2);
    CHECK(inh_model_load_any(&m2, file) == 0 && same_model(&m, &m2), "load_any on the file");
    inh_model_free(&m2);

    /* forward against PyTorch float64. Tolerance: our float32 forward vs float64 from the same
       float32 weights; with C=2 every sum is 2-8 terms, so the error is a few float32 roundings of
       values ~1 (logits ~0.1): observed ~1e-8 absolute, checked at 1e-6 abs + 1e-5 rel. The loss
       (~10.8, a log-sum-exp over 50257 logits) differs by ~1e-6 relative from summation order. */
    if (bundle_load(&ref, "tests/ref/hf_tiny_ref.bin")) { CHECK(0, "cannot read tests/ref/hf_tiny_ref.bin (run tests/ref/make_hf_ref.py)"); inh_model_free(&m); return; }
    const rec *tok = bundle_get(&ref, "tokens"), *loss = bundle_get(&ref, "loss"), *lse = bundle_get(&ref, "lse"),
              *ids = bundle_get(&ref, "ids"), *lg = bundle_get(&ref, "logits"), *am = bundle_get(&ref, "argmax");
    if (tok && loss && lse && ids && lg && am) {
        int T = (int)tok->n - 1, K = (int)ids->n, x[64], y[64];
        for (int t = 0; t < T; t++) { x[t] = (int)tok->data[t]; y[t] = (int)tok->data[t + 1]; }
        CHECK(inh_model_forward(&m, x, NULL, 1, T) == 0, "forward: %s", inh_error());
        double wl = 0, wlse = 0, wam = 0;
        for (int t = 0; t < T; t++) {
            const float *row = m.acts.logits + (size_t)t * c->Vp;
            double mx = row[0], s = 0;
            for (int v = 1; v < c->V; v++) if (row[v] > mx) mx = row[v];
            for (int v = 0; v < c->V; v++) s += exp((double)row[v] - mx);
            double d = fabs(mx + log(s) - lse->data[t]) / (1e-6 + 1e-5 * fabs(lse->data[t]));
            if (d > wlse) wlse = d;
            for (int k = 0; k < K; k++) {
                double r = lg->data[t * K + k], e = fabs(row[(int)ids->data[k]] - r) / (1e-6 + 1e-5 * fabs(r));
                if (e > wl) wl = e;
            }
            /* PyTorch's argmax must be our maximum too, up to the tolerance (near-ties are possible) */
            double e = (mx - row[(int)am->data[t]]) / 1e-6;
            if (e > wam) wam = e;
        }
        if (getenv("TEST_VERBOSE")) printf("  worst ratios: logits %.3g lse %.3g argmax gap %.3g\n", wl, wlse, wam);
        CHECK(wl <= 1.0, "logits at %d ids x %d positions within 1e-6 + 1e-5 rel (worst ratio %.3g)", K, T, wl);
        CHECK(wlse <= 1.0, "log-sum-exp of all 50257 logits at each position (worst ratio %.3g)", wlse);
        CHECK(wam <= 1.0, "PyTorch's argmax is our maximum at every position (worst gap ratio %.3g)", wam);
        CHECK(inh_model_forward(&m, x, y, 1, T) == 0, "forward with targets: %s", inh_error());
        CHECK_CLOSE(m.mean_loss, loss->data[0], 1e-6, 1e-5, "loss");
        if (getenv("TEST_VERBOSE")) printf("  loss %.9f vs %.9f\n", m.mean_loss, loss->data[0]);
    }
    bundle_free(&ref);

    /* safetensors -> llm.c .bin -> safetensors -> load: every parameter bit for bit */
    CHECK(inh_model_save(&m, DIR "/hf_tiny.bin") == 0, "save .bin: %s", inh_error());
    rc = inh_model_load_any(&m2, DIR "/hf_tiny.bin");
    CHECK(rc == 0 && same_model(&m, &m2), "the .bin holds the same model: %s", inh_error());
    CHECK(rc == 0 && inh_model_save_safetensors(&m2, DIR "/hf_tiny_rt") == 0, "export: %s", inh_error());
    if (!rc) inh_model_free(&m2);
    rc = inh_model_load_any(&m2, DIR "/hf_tiny_rt");
    CHECK(rc == 0 && same_model(&m, &m2), "safetensors -> .bin -> safetensors round trip is bit for bit: %s", inh_error());
    if (!rc) inh_model_free(&m2);
    inh_model_free(&m);
}

/* ---- round trips of our own models ----------------------------------------------------------- */

static void test_roundtrip(void) {
    for (int variant = 0; variant < 3; variant++) {
        int bias = variant != 1, ls = variant == 2;
        inh_model m, m2;
        random_model(&m, bias, ls, 42 + (uint64_t)variant);
        char dir[128];
        snprintf(dir, sizeof dir, DIR "/rt%d", variant);
        CHECK(inh_model_save_safetensors(&m, dir) == 0, "export variant %d: %s", variant, inh_error());
        int rc = inh_model_load_any(&m2, dir);
        CHECK(rc == 0 && same_model(&m, &m2), "variant %d (bias %d, layer scale %d) reads back bit for bit (config too): %s", variant, bias, ls,
              rc ? inh_error() : "params or config differ");
        if (!rc) inh_model_free(&m2);
        /* the file is what HF expects: 8-aligned data, format pt, names without prefix, only V rows */
        char file[160];
        unsigned char *buf = NULL;
        size_t len = 0;
        snprintf(file, sizeof file, "%s/model.safetensors", dir);
        if (inh__read_file(file, &buf, &len, 0) == 0 && len > 8) {
            uint64_t hl = inh__rd32(buf) | (uint64_t)inh__rd32(buf + 4) << 32;
            size_t expect = 8 + hl + 4 * (m.num_params - (size_t)(m.cfg.Vp - m.cfg.V) * m.cfg.C);
            CHECK(hl % 8 == 0 && len == expect, "header length %llu is 8-aligned and the data is exactly the real tensors (%zu vs %zu bytes)",
                  (unsigned long long)hl, len, expect);
            CHECK(!memcmp(buf + 8, "{\"__metadata__\":{\"format\":\"pt\"", 30), "metadata format pt first");
            CHECK(strstr((char *)buf + 8, "\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[5,4]") != NULL, "wte has V=5 rows, no prefix");
            CHECK(buf[8 + hl - 1] == ' ' || buf[8 + hl - 1] == '}', "header padded with spaces");
        } else {
            CHECK(0, "cannot read %s", file);
        }
        free(buf);
        inh_model_free(&m);
    }
    /* a path ending in .safetensors: config.json lands beside it; load_any finds both */
    inh_model m, m2;
    random_model(&m, 1, 0, 7);
    inh_make_dir(DIR "/named");
    CHECK(inh_model_save_safetensors(&m, DIR "/named/mine.safetensors") == 0, "export to a named file: %s", inh_error());
    CHECK(test_file_exists(DIR "/named/config.json"), "config.json written beside the named file");
    int rc = inh_model_load_any(&m2, DIR "/named/mine.safetensors");
    CHECK(rc == 0 && same_model(&m, &m2), "named file reads back: %s", inh_error());
    if (!rc) inh_model_free(&m2);
    /* the hand-made writer's file (transformer. prefix, F32) gives the same model */
    stf s;
    const char *d = case_dir("prefix");
    st_from_model(&s, &m, "transformer.");
    st_add(&s, "transformer.h.0.attn.bias", "F32", 2, 4, 4, NULL, 64);          /* mask buffers: ignored */
    st_add(&s, "transformer.h.1.attn.masked_bias", "F32", 0, 0, 0, NULL, 4);
    memcpy(st_add(&s, "lm_head.weight", "F32", 2, 5, 4, NULL, 80)->data, st_find(&s, "transformer.wte.weight")->data, 80);   /* tied: wte's bytes */
    st_write(&s, DIR "/prefix/model.safetensors");
    write_config(d, 4, 5, 2, 2, 4, NULL);
    rc = inh_model_load_safetensors(&m2, d);
    CHECK(rc == 0 && same_model(&m, &m2), "transformer. prefix, mask buffers and a tied lm_head: %s", inh_error());
    if (!rc) inh_model_free(&m2);
    st_free(&s);
    inh_model_free(&m);
}

/* ---- F16, BF16 (and F64) ------------------------------------------------------------------------- */

static void test_dtypes(void) {
    /* bit patterns and the values they stand for, exactly */
    static const uint16_t h16[20] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x3555, 0x03FF, 0x0400, 0xFBFF,
                                     0x4248, 0x0000, 0x8001, 0x5640, 0x2E66, 0xBC00, 0x3C01, 0x7C00, 0xFC00, 0x4000};
    static const float f16[20] = {1.0f, -2.0f, 0.5f, 65504.0f, 5.9604644775390625e-8f, -0.0f, 0.333251953125f,
                                  6.097555160522461e-5f, 6.103515625e-5f, -65504.0f, 3.140625f, 0.0f, -5.9604644775390625e-8f,
                                  100.0f, 0.0999755859375f, -1.0f, 1.0009765625f, INFINITY, -INFINITY, 2.0f};
    static const uint16_t hb[16] = {0x3F80, 0xC040, 0x4049, 0x0001, 0x7F7F, 0x8000, 0x3DCD, 0xBF00,
                                    0x4780, 0x0080, 0x3F81, 0xC2C8, 0x7F80, 0x0000, 0x3E80, 0x4000};
    static const float fb[16] = {1.0f, -3.0f, 3.140625f, 9.183549615799121e-41f, 3.3895313892515355e38f, -0.0f, 0.10009765625f, -0.5f,
                                 65536.0f, 1.1754943508222875e-38f, 1.0078125f, -100.0f, INFINITY, 0.0f, 0.25f, 2.0f};
    inh_model m, m2;
    random_model(&m, 1, 0, 11);
    stf s;
    st_from_model(&s, &m, "");
    unsigned char b16[40], bb[32], b64[32];
    for (int i = 0; i < 20; i++) { b16[2 * i] = (unsigned char)h16[i]; b16[2 * i + 1] = (unsigned char)(h16[i] >> 8); }
    for (int i = 0; i < 16; i++) { bb[2 * i] = (unsigned char)hb[i]; bb[2 * i + 1] = (unsigned char)(hb[i] >> 8); }
    const double d64[4] = {1.5, -0.1, 1e-3, 3.0};   /* F64 is rounded to the nearest float */
    for (int i = 0; i < 4; i++) { uint64_t u; memcpy(&u, &d64[i], 8); for (int k = 0; k < 8; k++) b64[8 * i + k] = (unsigned char)(u >> (8 * k)); }
    st_drop(&s, "wte.weight"); st_drop(&s, "wpe.weight"); st_drop(&s, "ln_f.weight");
    st_add(&s, "wte.weight", "F16", 2, 5, 4, b16, 40);
    st_add(&s, "wpe.weight", "BF16", 2, 4, 4, bb, 32);
    st_add(&s, "ln_f.weight", "F64", 1, 4, 0, b64, 32);
    const char *d = case_dir("dtypes");
    st_write(&s, DIR "/dtypes/model.safetensors");
    write_config(d, 4, 5, 2, 2, 4, NULL);
    int rc = inh_model_load_safetensors(&m2, d);
    CHECK(rc == 0, "F16/BF16/F64 file loads: %s", inh_error());
    if (!rc) {
        int ok16 = 1, okb = 1, ok64 = 1;
        for (int i = 0; i < 20; i++) ok16 &= !memcmp(&m2.params.wte[i], &f16[i], 4);
        for (int i = 0; i < 16; i++) okb &= !memcmp(&m2.params.wpe[i], &fb[i], 4);
        for (int i = 0; i < 4; i++) ok64 &= m2.params.lnfw[i] == (float)d64[i];
        CHECK(ok16, "F16 values exact (normals, subnormals, +-0, +-max, +-inf)");
        CHECK(okb, "BF16 values exact (normals, subnormals, +-0, max, inf)");
        CHECK(ok64, "F64 values rounded to float");
        /* the rest is untouched F32 */
        CHECK(!memcmp(m2.params.qkvw, m.params.qkvw, m.param_sizes[4] * 4) && !memcmp(m2.params.fcprojw, m.params.fcprojw, m.param_sizes[12] * 4),
              "F32 Conv1D weights transposed back exactly");
        inh_model_free(&m2);
    }
    st_free(&s);
    inh_model_free(&m);
}

/* ---- bad files ----------------------------------------------------------------------------------- */

typedef void (*mutate_fn)(stf *s, const inh_model *m);

/* build the case from a good model, mutate, write, expect failure naming the file and the tensor */
static void bad_case(const char *name, mutate_fn fn, const char *cfg_extra, int cfg_maxT, int cfg_C, int cfg_L, const char *tensor, const char *what) {
    inh_model m, m2;
    stf s;
    char file[320];
    random_model(&m, 1, 0, 3);
    st_from_model(&s, &m, "");
    if (fn) fn(&s, &m);
    const char *d = case_dir(name);
    snprintf(file, sizeof file, "%s/model.safetensors", d);
    st_write(&s, file);
    write_config(d, cfg_maxT, 5, cfg_L, 2, cfg_C, cfg_extra);
    int rc = inh_model_load_any(&m2, d);
    CHECK(rc == -1 && m2.params_mem == NULL, "%s: must fail", what);
    if (getenv("TEST_VERBOSE")) printf("  %-45s %s\n", what, inh_error());
    if (rc == 0) inh_model_free(&m2);
    else {
        char cfg[320];
        snprintf(cfg, sizeof cfg, "%s/config.json", d);
        int is_cfg = !strcmp(tensor, "config.json");   /* a config.json problem names that file */
        CHECK(err_names(is_cfg ? cfg : file, is_cfg ? NULL : tensor), "%s: message names the file and %s: \"%s\"", what, tensor, inh_error());
    }
    st_free(&s);
    inh_model_free(&m);
}

static void mut_offsets_out(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "h.1.mlp.c_fc.bias");
    e->fixed = 1; e->off[0] = 100000; e->off[1] = 100064;
}
static void mut_overlap(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "h.0.ln_1.bias");
    e->fixed = 1; e->off[0] = 0; e->off[1] = 16;   /* on top of wte.weight's first 16 bytes */
}
static void mut_i64(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "ln_f.bias");
    free(e->data);
    e->data = (unsigned char *)calloc(32, 1); e->nbytes = 32;
    strcpy(e->dtype, "I64");
}
static void mut_unknown_dtype(stf *s, const inh_model *m) { (void)m; strcpy(st_find(s, "h.0.ln_2.weight")->dtype, "Q4_K"); }
static void mut_missing(stf *s, const inh_model *m) { (void)m; st_drop(s, "h.1.ln_2.bias"); }
static void mut_bytes(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "h.0.attn.c_proj.bias");
    e->nbytes = 12;   /* shape [4] F32 needs 16 */
}
static void mut_wpe_shape(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "wpe.weight");
    e->shape[0] = 3; e->nbytes = 48;
}
static void mut_unknown_name(stf *s, const inh_model *m) { (void)m; strcpy(st_find(s, "h.0.ln_1.bias")->name, "h.0.attn.rotary"); }
static void mut_dup_prefix(stf *s, const inh_model *m) { st_add(s, "transformer.wte.weight", "F32", 2, 5, 4, m->params.wte, 80); }
static void mut_lm_head(stf *s, const inh_model *m) {
    ent *e = st_add(s, "lm_head.weight", "F32", 2, 5, 4, m->params.wte, 80);
    ((float *)e->data)[7] += 1.0f;
}
static void mut_qkv_transposed(stf *s, const inh_model *m) {
    (void)m;
    ent *e = st_find(s, "h.1.attn.c_attn.weight");
    e->shape[0] = 12; e->shape[1] = 4;   /* (out, in): a checkpoint in our layout, not HF's */
}

static void raw_file_case(const char *name, const void *bytes, size_t n, const char *tensor, const char *what) {
    char file[320];
    inh_model m;
    const char *d = case_dir(name);
    snprintf(file, sizeof file, "%s/model.safetensors", d);
    put_file(file, bytes, n);
    write_config(d, 4, 5, 2, 2, 4, NULL);
    int rc = inh_model_load_any(&m, file);
    CHECK(rc == -1, "%s: must fail", what);
    if (getenv("TEST_VERBOSE")) printf("  %-45s %s\n", what, inh_error());
    if (rc == 0) inh_model_free(&m);
    else CHECK(err_names(file, tensor), "%s: message names the file%s%s: \"%s\"", what, tensor ? " and " : "", tensor ? tensor : "", inh_error());
}

/* a file of an 8-byte header length, the JSON header hdr, then `data` zero bytes */
static void header_case(const char *name, const char *hdr, size_t data, const char *tensor, const char *what) {
    unsigned char buf[512];
    size_t n = strlen(hdr);
    memset(buf, 0, sizeof buf);
    buf[0] = (unsigned char)n;
    memcpy(buf + 8, hdr, n);
    raw_file_case(name, buf, 8 + n + data, tensor, what);
}


static void test_bad(void) {
    bad_case("off_out", mut_offsets_out, NULL, 4, 4, 2, "h.1.mlp.c_fc.bias", "data_offsets beyond the data");
    bad_case("overlap", mut_overlap, NULL, 4, 4, 2, "h.0.ln_1.bias", "overlapping tensors");
    bad_case("i64", mut_i64, NULL, 4, 4, 2, "ln_f.bias", "a dtype we do not read (I64)");
    bad_case("qdtype", mut_unknown_dtype, NULL, 4, 4, 2, "h.0.ln_2.weight", "an unknown dtype");
    bad_case("missing", mut_missing, NULL, 4, 4, 2, "h.1.ln_2.bias", "a missing tensor");
    bad_case("bytes", mut_bytes, NULL, 4, 4, 2, "h.0.attn.c_proj.bias", "dtype size x shape != byte range");
    bad_case("wpe_shape", mut_wpe_shape, NULL, 4, 4, 2, "wpe.weight", "wpe shape against n_positions");
    bad_case("c_shape", NULL, NULL, 4, 8, 2, "wte.weight", "n_embd in config.json against the tensors");
    bad_case("qkv_shape", mut_qkv_transposed, NULL, 4, 4, 2, "h.1.attn.c_attn.weight", "a Conv1D weight in the wrong layout");
    bad_case("layers_more", NULL, NULL, 4, 4, 3, "h.2.ln_1.weight", "n_layer larger than the file");
    bad_case("layers_less", NULL, NULL, 4, 4, 1, "h.1.", "n_layer smaller than the file");
    bad_case("unknown", mut_unknown_name, NULL, 4, 4, 2, "h.0.attn.rotary", "an unexpected tensor");
    bad_case("dup", mut_dup_prefix, NULL, 4, 4, 2, "wte.weight", "the same tensor with and without prefix");
    bad_case("lm_head", mut_lm_head, NULL, 4, 4, 2, "lm_head.weight", "an untied lm_head");
    bad_case("eps", NULL, ", \"layer_norm_epsilon\": 1e-6", 4, 4, 2, "config.json", "layer_norm_epsilon 1e-6");
    bad_case("act", NULL, ", \"activation_function\": \"relu\"", 4, 4, 2, "config.json", "activation relu");
    bad_case("cfgjson", NULL, ", \"n_head\": ", 4, 4, 2, "config.json", "malformed config.json");

    /* hand-written headers */
    unsigned char buf[512];
    const char *hdr;
    memset(buf, 0, sizeof buf);
    buf[0] = 0x00; buf[1] = 0x10; buf[5] = 0;   /* length 4096 in a 64-byte file */
    memcpy(buf + 8, "{}", 2);
    raw_file_case("hlen", buf, 64, NULL, "header length beyond the file");
    hdr = "{\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [5, 4], \"data_offsets\": [0, 80]}, "
          "\"h.0.ln_1.weight\": {\"dtype\": \"F32\", \"shape\": [4,, ], \"data_offsets\": [80, 96]}}";
    header_case("badjson", hdr, 96, "h.0.ln_1.weight", "malformed JSON in a tensor entry");
    hdr = "{\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [5, 4], \"data_offsets\": [0, 80]} \"x\"";
    header_case("badjson2", hdr, 80, NULL, "malformed JSON between entries");
    hdr = "{\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [5, 4]}}";
    header_case("nooffsets", hdr, 80, "wte.weight", "an entry without data_offsets");

    hdr = "{\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
          "\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}";
    header_case("dupkey", hdr, 8, "wte.weight", "a tensor named twice in the header");
    memset(buf, 0, sizeof buf);
    buf[0] = 8;
    memcpy(buf + 8, "{}      ", 8);
    raw_file_case("notensors", buf, 16, "wte.weight", "a header without tensors");

    /* no config.json: the sizes come from the shapes, but n_head cannot */
    inh_model m, m2;
    random_model(&m, 1, 0, 5);
    CHECK(inh_model_save_safetensors(&m, DIR "/nocfg") == 0, "export: %s", inh_error());
    remove(DIR "/nocfg/config.json");
    CHECK(inh_model_load_any(&m2, DIR "/nocfg") == -1 && strstr(inh_error(), "n_head") && strstr(inh_error(), "config.json"),
          "without config.json the error asks for it because of n_head: \"%s\"", inh_error());
    inh_model_free(&m);

    /* neither format, a token shard, an empty directory */
    put_file(DIR "/junk.bin", "hello world, not a model", 24);
    CHECK(inh_model_load_any(&m2, DIR "/junk.bin") == -1 && err_names(DIR "/junk.bin", NULL), "junk: \"%s\"", inh_error());
    int ids[4] = {1, 2, 3, 4};
    inh_data_write(DIR "/shard.bin", ids, 4);
    CHECK(inh_model_load_any(&m2, DIR "/shard.bin") == -1 && strstr(inh_error(), "token shard"), "a token shard: \"%s\"", inh_error());
    inh_make_dir(DIR "/empty");
    CHECK(inh_model_load_any(&m2, DIR "/empty") == -1 && strstr(inh_error(), "model.safetensors"), "a directory without a model: \"%s\"", inh_error());
    CHECK(inh_model_load_any(&m2, DIR "/does_not_exist") == -1 && err_names(DIR "/does_not_exist", NULL), "missing path: \"%s\"", inh_error());
    /* exporting onto a regular file that is not .safetensors */
    random_model(&m, 1, 0, 5);
    CHECK(inh_model_save_safetensors(&m, DIR "/junk.bin") == -1 && err_names(DIR "/junk.bin", NULL), "export onto a file: \"%s\"", inh_error());
    inh_model_free(&m);
}

int main(void) {
    inh_make_dir("build");
    inh_make_dir(DIR);
    test_hf_tiny();
    test_roundtrip();
    test_dtypes();
    test_bad();
    return test_summary("safetensors");
}
