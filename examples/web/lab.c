/* examples/web/lab.c - the browser page's way into the library: a WebAssembly "reactor" (no main)
   whose exported lab_* calls the page's Web Worker (worker.js) makes one at a time. It is a thin
   layer, like the command-line tool: every number comes from the same library calls the tool
   makes with the same defaults, so the page and `inheritune train / eval / analyze` agree (make
   test-web checks that they do). Files live in the worker's memory file system (wasi.js): the data
   under /lab/data, reports under /lab/out, uploads where the page puts them.

   Every call returns 0 on success or -1 with lab_error() saying why, and leaves a small JSON
   object in lab_result() (numbers the page shows; NaN as null). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define INHERITUNE_IMPLEMENTATION
#include "../../inheritune.h"

#if defined(__wasm__)
#define LAB_EXPORT(name) __attribute__((export_name(#name)))
#else
#define LAB_EXPORT(name)
#endif

#define LAB_DATA "/lab/data"
#define LAB_OUT "/lab/out"

static char result[1 << 16];
static size_t rlen;
static char err[1024];

static struct {
    char train_path[256], val_path[256];
    int text;                    /* 1: the byte tokenizer's data (samples decode to text) */
    size_t train_n, val_n;
    int V;                       /* the data's vocabulary: largest id + 1 */
    int have_model, have_trainer, have_settings;   /* settings: lab.o's B and T, eval_batches */
    inh_model m;
    inh_data train, val;
    inh_trainer t;
    inh_train_opts o;
    int eval_batches;
    /* an Inheritune round: the inherited model and the random one at the same depth */
    int have_round;
    inh_model child[2];
    inh_data ctrain[2];
    inh_trainer ct[2];
} lab;

LAB_EXPORT(lab_result) const char *lab_result(void) { return result; }
LAB_EXPORT(lab_error) const char *lab_error(void) { return err; }
LAB_EXPORT(lab_alloc) void *lab_alloc(int n) { return malloc(n > 0 ? (size_t)n : 1); }
LAB_EXPORT(lab_free) void lab_free(void *p) { free(p); }

static void out(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(result + rlen, sizeof result - rlen, fmt, ap);
    va_end(ap);
    if (n > 0) rlen = rlen + (size_t)n < sizeof result ? rlen + (size_t)n : sizeof result - 1;
}
static void out_num(const char *key, double v) {
    if (isfinite(v)) out("%s\"%s\": %.9g", rlen > 1 ? ", " : "", key, v);
    else out("%s\"%s\": null", rlen > 1 ? ", " : "", key);
}
static void begin(void) { rlen = 0; result[0] = 0; out("{"); }
static int end(void) { out("}"); return 0; }
static int lib_fail(void) { snprintf(err, sizeof err, "%s", inh_error()); begin(); end(); return -1; }
static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, sizeof err, fmt, ap);
    va_end(ap);
    begin(); end();
    return -1;
}
static void out_str(const char *key, const unsigned char *s, size_t n) {   /* a JSON string */
    out("%s\"%s\": \"", rlen > 1 ? ", " : "", key);
    for (size_t i = 0; i < n && rlen < sizeof result - 16; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') out("\\%c", c);
        else if (c == '\n') out("\\n");
        else if (c < 0x20 || c == 0x7f) out("\\u%04x", c);
        else if (c < 0x80) out("%c", c);
        else out("%c", c);   /* UTF-8 passes through; the page decodes with replacement */
    }
    out("\"");
}

static void drop_round(void) {
    if (!lab.have_round) return;
    for (int i = 0; i < 2; i++) { inh_trainer_free(&lab.ct[i]); inh_data_close(&lab.ctrain[i]); inh_model_free(&lab.child[i]); }
    lab.have_round = 0;
}
static void drop_trainer(void) {
    if (lab.have_trainer) { inh_trainer_free(&lab.t); lab.have_trainer = 0; }
}
static void drop_model(void) {
    drop_trainer();
    drop_round();
    if (lab.have_model) { inh_model_free(&lab.m); lab.have_model = 0; }
}
static void drop_data(void) {
    drop_trainer();
    lab.have_settings = 0;
    drop_round();
    if (lab.train_path[0]) { inh_data_close(&lab.train); inh_data_close(&lab.val); }
    lab.train_path[0] = lab.val_path[0] = 0;
}

static int open_data(const char *train, const char *val, int text) {
    drop_data();
    if (inh_data_open(&lab.train, train, 0)) return lib_fail();
    if (inh_data_open(&lab.val, val, 0)) { inh_data_close(&lab.train); return lib_fail(); }
    snprintf(lab.train_path, sizeof lab.train_path, "%s", train);
    snprintf(lab.val_path, sizeof lab.val_path, "%s", val);
    lab.text = text;
    lab.train_n = lab.train.n; lab.val_n = lab.val.n;
    lab.V = (lab.train.max_id > lab.val.max_id ? lab.train.max_id : lab.val.max_id) + 1;
    if (text && lab.V < 257) lab.V = 257;   /* the byte tokenizer's vocabulary */
    begin();
    out_num("train_tokens", (double)lab.train_n); out_num("val_tokens", (double)lab.val_n); out_num("V", lab.V);
    out(", \"train\": \"%s\", \"val\": \"%s\"", train, val);
    return end();
}

/* The synthetic corpus, as `inheritune synth --out /lab/data --tokens N --val-tokens M --vocab V --seed S` */
LAB_EXPORT(lab_synth) int lab_synth(int ntok, int nval, int V, double seed) {
    if (ntok < 2 || nval < 2 || V < 16 || V > 65536) return fail("synthetic corpus: tokens and validation tokens >= 2, vocabulary 16..65536");
    int *ids = (int *)malloc(sizeof(int) * ((size_t)ntok + nval));
    if (!ids) return fail("out of memory for %d tokens", ntok + nval);
    drop_data();
    int rc = inh_make_dir(LAB_DATA) || inh_synth_corpus(ids, (size_t)ntok + nval, V, (uint64_t)seed) ||
             inh_data_write(LAB_DATA "/train.bin", ids, (size_t)ntok) || inh_data_write(LAB_DATA "/val.bin", ids + ntok, (size_t)nval);
    free(ids);
    if (rc) return lib_fail();
    return open_data(LAB_DATA "/train.bin", LAB_DATA "/val.bin", 0);
}

/* A text (a file the page wrote): byte-level tokens, split into shards as `inheritune prepare
   --tokenizer bytes` does; the first val_tokens tokens are the validation data */
LAB_EXPORT(lab_text) int lab_text(const char *path, int val_tokens) {
    inh_tokenizer *tok = NULL;
    long long nval = 0, ntrain = 0;
    drop_data();
    if (inh_tokenizer_load(&tok, "bytes")) return lib_fail();
    int rc = inh_make_dir(LAB_DATA) || inh_prepare_shards(tok, path, LAB_DATA, val_tokens, 1, 0, &nval, &ntrain);
    inh_tokenizer_free(tok);
    if (rc) return lib_fail();
    return open_data(LAB_DATA "/train.bin", LAB_DATA "/val.bin", 1);
}

static void model_info(const inh_model *m) {
    out_num("L", m->cfg.L); out_num("NH", m->cfg.NH); out_num("C", m->cfg.C); out_num("maxT", m->cfg.maxT);
    out_num("V", m->cfg.V); out_num("params", (double)m->num_params);
}

/* A new model, as `inheritune train --layers L --heads NH --dim C --seq-max maxT --seed S` makes it
   (the vocabulary: the data's largest id plus one) */
LAB_EXPORT(lab_model_new) int lab_model_new(int L, int NH, int C, int maxT, double seed) {
    inh_config c;
    if (!lab.train_path[0]) return fail("no data yet: make or load a corpus first");
    drop_model();
    inh_config_default(&c, maxT, lab.V, L, NH, C);
    if (inh_model_init(&lab.m, &c, (uint64_t)seed)) return lib_fail();
    lab.m.threads = 1;
    lab.have_model = 1;
    begin(); model_info(&lab.m);
    return end();
}

/* A model from a file the page wrote (llm.c .bin, our state file, HF safetensors with config.json beside it) */
LAB_EXPORT(lab_model_load) int lab_model_load(const char *path) {
    inh_model m;
    if (inh_model_load_any(&m, path)) return lib_fail();
    if (lab.train_path[0] && (lab.train.max_id >= m.cfg.V || lab.val.max_id >= m.cfg.V)) {
        int id = lab.train.max_id > lab.val.max_id ? lab.train.max_id : lab.val.max_id, V = m.cfg.V;
        inh_model_free(&m);
        return fail("%s: the model's vocabulary is V=%d, but the data has token id %d: load data of this model's vocabulary (a byte-level "
                    "text needs V >= 257)", path, V, id);
    }
    drop_model();
    lab.m = m;
    lab.m.threads = 1;
    lab.have_model = 1;
    begin(); model_info(&lab.m);
    return end();
}

LAB_EXPORT(lab_model_save) int lab_model_save(const char *path) {
    if (!lab.have_model) return fail("no model to save");
    if (inh_model_save(&lab.m, path)) return lib_fail();
    begin(); out("\"path\": \"%s\"", path); return end();
}

/* The shape of every evaluation (and of the round's training): B windows of T tokens, the first
   eval_batches x B windows of the validation data. lab_train_begin sets them too. */
LAB_EXPORT(lab_settings) int lab_settings(int B, int T, int eval_batches, double lr) {
    if (B < 1 || T < 1 || eval_batches < 1 || !(lr >= 0)) return fail("batch, sequence and validation batches must be positive");
    if (lab.have_model && T > lab.m.cfg.maxT) return fail("sequence length %d is above the model's context %d", T, lab.m.cfg.maxT);
    if (!lab.train_path[0]) return fail("no data yet");
    if (lab.val.n < (size_t)B * T + 1) return fail("the validation data (%zu tokens) cannot fill one batch of %d x %d tokens", lab.val.n, B, T);
    if (!lab.have_trainer) inh_train_opts_default(&lab.o);
    lab.o.B = B; lab.o.T = T; lab.o.lr = (float)lr;
    lab.eval_batches = eval_batches;
    lab.have_settings = 1;
    begin(); return end();
}

/* Training, as `inheritune train` does it (the model's init seed: lab_model_new) */
LAB_EXPORT(lab_train_begin) int lab_train_begin(int B, int T, int steps, double lr, int cosine, int warmup, double seed, int eval_batches) {
    if (!lab.have_model) return fail("no model: make or load one first");
    if (B < 1 || T < 1 || steps < 1 || eval_batches < 1) return fail("batch, sequence, steps and validation batches must be positive");
    if (T > lab.m.cfg.maxT) return fail("sequence length %d is above the model's context %d", T, lab.m.cfg.maxT);
    if (lab.train.n < (size_t)B * T + 1 || lab.val.n < (size_t)B * T + 1)
        return fail("the data (%zu training, %zu validation tokens) cannot fill one batch of %d x %d tokens", lab.train.n, lab.val.n, B, T);
    drop_trainer();
    inh_train_opts_default(&lab.o);
    lab.o.B = B; lab.o.T = T; lab.o.steps = steps; lab.o.lr = (float)lr; lab.o.warmup = warmup;
    lab.o.schedule = cosine ? INH_SCHEDULE_COSINE : INH_SCHEDULE_CONSTANT;
    lab.o.seed = (uint64_t)seed;
    lab.eval_batches = eval_batches;
    lab.have_settings = 1;
    if (inh_trainer_init(&lab.t, &lab.m, &lab.train, &lab.o)) return lib_fail();
    lab.t.val = &lab.val;
    lab.have_trainer = 1;
    begin(); out_num("steps", steps); out_num("tokens_per_step", (double)B * T);
    return end();
}

static void step_info(const inh_step_info *s, int step) {
    out_num("step", step); out_num("loss", s->loss); out_num("lr", s->lr); out_num("norm", s->grad_norm);
    out_num("ms", s->seconds * 1e3); out_num("skipped", s->skipped);
}

LAB_EXPORT(lab_train_step) int lab_train_step(void) {
    inh_step_info s;
    if (!lab.have_trainer) return fail("training has not started");
    if (lab.t.step >= lab.o.steps) return fail("training is done (%d steps)", lab.o.steps);
    if (inh_trainer_step(&lab.t, &s)) return lib_fail();
    begin(); step_info(&s, lab.t.step); out_num("tokens_per_s", (double)lab.o.B * lab.o.T / s.seconds);
    return end();
}

/* Validation loss as the tool's train reports it: the first eval_batches x B windows of T tokens
   (all the file holds when fewer), i.e. `inheritune eval --batch B --seq T --batches N` */
static int eval_val(inh_model *m, float *loss, size_t *ntok) {
    size_t windows = (size_t)lab.eval_batches * lab.o.B, have = inh_data_windows(&lab.val, lab.o.T);
    if (windows > have) windows = have;
    return inh_eval_windows(m, &lab.val, lab.o.B, lab.o.T, windows, loss, ntok);
}

LAB_EXPORT(lab_eval) int lab_eval(void) {
    float loss;
    size_t ntok = 0;
    if (!lab.have_model || !lab.have_settings) return fail("no model or no evaluation settings (batch, sequence) yet");
    double t0 = inh_now();
    if (eval_val(&lab.m, &loss, &ntok)) return lib_fail();
    double dt = inh_now() - t0;
    begin(); out_num("val_loss", loss); out_num("tokens", (double)ntok); out_num("seconds", dt); out_num("tokens_per_s", ntok / dt);
    return end();
}

/* A sample from the model: n tokens after end-of-text (the byte tokenizer's text; ids otherwise) */
LAB_EXPORT(lab_sample) int lab_sample(int n, double temperature, double seed) {
    if (!lab.have_model) return fail("no model");
    if (n < 1) return fail("sample length must be positive");
    int V = lab.m.cfg.V, start = lab.text ? 256 : V - 1;
    if (start >= V) start = V - 1;
    int *gen = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    inh_rng rng;
    inh_sampling s;
    inh_sampling_default(&s);
    s.temperature = (float)temperature;
    inh_rng_seed(&rng, (uint64_t)seed);
    if (!gen) return fail("out of memory");
    if (inh_model_generate_with(&lab.m, &start, 1, n, &s, &rng, gen, NULL, NULL, NULL)) { free(gen); return lib_fail(); }
    begin();
    if (lab.text) {
        unsigned char *txt = (unsigned char *)malloc((size_t)n + 1);
        size_t k = 0;
        for (int i = 1; i <= n && txt; i++) {
            if (gen[i] == 256) break;   /* end of text: the document ends */
            if (gen[i] < 256) txt[k++] = (unsigned char)gen[i];
        }
        if (txt) out_str("text", txt, k);
        free(txt);
    } else {
        out("\"ids\": [");
        for (int i = 1; i <= n; i++) out("%s%d", i > 1 ? ", " : "", gen[i]);
        out("]");
    }
    free(gen);
    return end();
}

/* The lazy-layer analysis, as `inheritune analyze --model M --data VAL --seqs N --seq-len T
   [--baseline random --baseline-seed S] --json --html` (heat maps of the first and last layer):
   writes /lab/out/analysis.json and /lab/out/analysis.html */
LAB_EXPORT(lab_analyze) int lab_analyze(int seqs, int T, double seed, int baseline, double baseline_seed) {
    inh_analysis_opts o;
    inh_analysis a;
    int heat[2] = {0, lab.m.cfg.L - 1}, nheat = lab.m.cfg.L > 1 ? 2 : 1;
    if (!lab.have_model || !lab.train_path[0]) return fail("the analysis needs a model and data");
    inh_analysis_opts_default(&o);
    o.seqs = seqs; o.T = T; o.seed = (uint64_t)seed; o.keep_attention = 1;
    if (T > lab.m.cfg.maxT) return fail("sequence length %d is above the model's context %d", T, lab.m.cfg.maxT);
    if (inh_make_dir(LAB_OUT)) return lib_fail();
    if (inh_analyze(&lab.m, &lab.val, &o, &a)) return lib_fail();
    if (baseline && inh_analysis_baseline(&a, &lab.m, &lab.val, &o, (uint64_t)baseline_seed)) { inh_analysis_free(&a); return lib_fail(); }
    snprintf(a.source, sizeof a.source, "the page's model, data %s", lab.val_path);
    int rc = inh_analysis_write_json(&a, LAB_OUT "/analysis.json") || inh_analysis_write_html(&a, heat, nheat, LAB_OUT "/analysis.html");
    double secs = a.seconds;
    int lazy = 0;
    for (int l = 0; l < a.L; l++) lazy += a.lazy[l];
    inh_analysis_free(&a);
    if (rc) return lib_fail();
    begin(); out_num("seconds", secs); out_num("lazy_layers", lazy);
    out(", \"json\": \"" LAB_OUT "/analysis.json\", \"html\": \"" LAB_OUT "/analysis.html\"");
    return end();
}

/* Attention dropped in some layers (spec as --drop-attn: "1,3", "last:K", "auto:K"; "" none):
   the validation loss and speed with it, as `inheritune eval --drop-attn SPEC`. The drop stays
   set on the model (training, analysis and saving see it) until the next call. */
LAB_EXPORT(lab_drop) int lab_drop(const char *spec) {
    float loss;
    size_t ntok = 0;
    if (!lab.have_model || !lab.have_settings) return fail("no model or no evaluation settings (batch, sequence) yet");
    if (inh_drop_attn_set(&lab.m, spec, &lab.val, NULL)) return lib_fail();
    double t0 = inh_now(), dt;
    int runs = 0;
    do {   /* repeated until it lasts 0.2 s, for a steadier speed */
        if (eval_val(&lab.m, &loss, &ntok)) return lib_fail();
        runs++;
        dt = inh_now() - t0;
    } while (dt < 0.2 && runs < 50);
    begin(); out_num("val_loss", loss); out_num("tokens_per_s", (double)ntok * runs / dt);
    out(", \"dropped\": [");
    for (int l = 0, k = 0; l < lab.m.cfg.L; l++) if (lab.m.drop_attn[l]) out("%s%d", k++ ? ", " : "", l);
    out("]");
    return end();
}

/* The drop sweep, as `inheritune drop-sweep`: k = 0..L layers dropped, the last k and the k least
   important (attn_importance); writes /lab/out/sweep.svg and sweep.json */
LAB_EXPORT(lab_sweep) int lab_sweep(int repeats) {
    inh_analysis_opts o;
    inh_analysis a;
    inh_sweep s;
    const char *names[2] = {"last k", "auto: attn_importance"};
    int L = lab.m.cfg.L;
    if (!lab.have_model || !lab.have_settings) return fail("no model or no evaluation settings (batch, sequence) yet");
    int *orders = (int *)malloc(sizeof(int) * 2 * (size_t)L);
    if (!orders) return fail("out of memory");
    for (int l = 0; l < L; l++) orders[l] = L - 1 - l;
    inh_analysis_opts_default(&o);
    o.T = lab.o.T < lab.m.cfg.maxT ? lab.o.T : lab.m.cfg.maxT;
    o.seqs = 32;
    unsigned char *saved = (unsigned char *)malloc((size_t)L);
    if (!saved) { free(orders); return fail("out of memory"); }
    memcpy(saved, lab.m.drop_attn, (size_t)L);
    memset(lab.m.drop_attn, 0, (size_t)L);
    int rc = inh_analyze(&lab.m, &lab.val, &o, &a);
    if (!rc) { rc = inh_analysis_order(&a, "attn_importance", orders + L); inh_analysis_free(&a); }
    int nb = lab.eval_batches;
    if ((size_t)nb * lab.o.B > inh_data_windows(&lab.val, lab.o.T)) nb = (int)(inh_data_windows(&lab.val, lab.o.T) / lab.o.B);
    if (!rc) rc = inh_drop_sweep(&lab.m, &lab.val, lab.o.B, lab.o.T, nb > 0 ? nb : 1, orders, 2, names, repeats, &s);
    memcpy(lab.m.drop_attn, saved, (size_t)L);
    free(saved); free(orders);
    if (rc) return lib_fail();
    snprintf(s.source, sizeof s.source, "the page's model, data %s", lab.val_path);
    rc = inh_make_dir(LAB_OUT) || inh_sweep_write_svg(&s, LAB_OUT "/sweep.svg") || inh_sweep_write_json(&s, LAB_OUT "/sweep.json");
    inh_sweep_free(&s);
    if (rc) return lib_fail();
    begin(); out("\"svg\": \"" LAB_OUT "/sweep.svg\", \"json\": \"" LAB_OUT "/sweep.json\"");
    return end();
}

/* An Inheritune round (arXiv 2404.08634): child 0 inherits the first `layers` blocks of the model
   (with its embeddings, final LayerNorm and head), child 1 is a random initialisation of the same
   shape; both train `steps` steps with the model's training settings on the same data. */
LAB_EXPORT(lab_round_begin) int lab_round_begin(int layers, int steps, double seed) {
    if (!lab.have_model || !lab.have_settings) return fail("no model or no settings (batch, sequence, learning rate) yet");
    if (layers < 1 || layers > lab.m.cfg.L) return fail("inherit 1..%d layers, not %d", lab.m.cfg.L, layers);
    drop_round();
    inh_config c = lab.m.cfg;
    c.L = layers;
    if (inh_inherit(&lab.child[0], &lab.m, layers, INH_INHERIT_PAPER, (uint64_t)seed)) return lib_fail();
    if (inh_model_init(&lab.child[1], &c, (uint64_t)seed)) { inh_model_free(&lab.child[0]); return lib_fail(); }
    inh_train_opts o = lab.o;
    o.steps = steps;
    o.seed = (uint64_t)seed;
    int rc = 0, i;
    for (i = 0; i < 2 && !rc; i++) {
        lab.child[i].threads = 1;
        memset(lab.child[i].drop_attn, 0, (size_t)layers);
        rc = inh_data_open(&lab.ctrain[i], lab.train_path, lab.V);
        if (!rc && (rc = inh_trainer_init(&lab.ct[i], &lab.child[i], &lab.ctrain[i], &o))) inh_data_close(&lab.ctrain[i]);
    }
    if (rc) {
        for (int j = 0; j < i - 1; j++) { inh_trainer_free(&lab.ct[j]); inh_data_close(&lab.ctrain[j]); }
        inh_model_free(&lab.child[0]); inh_model_free(&lab.child[1]);
        return lib_fail();
    }
    lab.have_round = 1;
    begin(); out_num("layers", layers); out_num("steps", steps); out_num("params", (double)lab.child[0].num_params);
    return end();
}

/* One step of both children */
LAB_EXPORT(lab_round_step) int lab_round_step(void) {
    inh_step_info s[2];
    if (!lab.have_round) return fail("no round started");
    if (lab.ct[0].step >= lab.ct[0].o.steps) return fail("the round is done");
    for (int i = 0; i < 2; i++) if (inh_trainer_step(&lab.ct[i], &s[i])) return lib_fail();
    begin(); out_num("step", lab.ct[0].step); out_num("inherit", s[0].loss); out_num("random", s[1].loss);
    out_num("ms", (s[0].seconds + s[1].seconds) * 1e3);
    return end();
}

/* The validation losses of the reference, the inherited child and the random child */
LAB_EXPORT(lab_round_eval) int lab_round_eval(void) {
    float l[3];
    if (!lab.have_round) return fail("no round started");
    if (eval_val(&lab.m, &l[0], NULL) || eval_val(&lab.child[0], &l[1], NULL) || eval_val(&lab.child[1], &l[2], NULL)) return lib_fail();
    begin(); out_num("step", lab.ct[0].step); out_num("reference", l[0]); out_num("inherit", l[1]); out_num("random", l[2]);
    return end();
}

/* Save child 0 (the inherited model) */
LAB_EXPORT(lab_round_save) int lab_round_save(const char *path, int which) {
    if (!lab.have_round || which < 0 || which > 1) return fail("no round to save");
    if (inh_model_save(&lab.child[which], path)) return lib_fail();
    begin(); return end();
}

/* The speed of a training step of the tiny shape (4 layers, 4 heads, C=128, V=257, B=16, T=128),
   as `inheritune bench --layers 4 --heads 4 --dim 128 --seq-max 128 --vocab 257 --batch 16 --seq 128
   --threads 1`: the median of `steps` timed steps after one warm-up, and this build's peak (a chain
   of vector multiply-adds: inh_fma_peak_gflops) */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
LAB_EXPORT(lab_bench) int lab_bench(int steps, int L, int NH, int C, int V, int B, int T) {
    inh_config c;
    inh_model m;
    inh_adamw opt;
    inh_rng rng;
    if (steps < 1 || steps > 100) return fail("bench: 1..100 steps");
    inh_config_default(&c, T, V, L, NH, C);
    if (inh_model_init(&m, &c, 1)) return lib_fail();
    m.threads = 1;
    int *x = (int *)malloc(sizeof(int) * (size_t)B * T), *y = (int *)malloc(sizeof(int) * (size_t)B * T);
    double *dt = (double *)malloc(sizeof(double) * (size_t)steps);
    if (!x || !y || !dt) { free(x); free(y); free(dt); inh_model_free(&m); return fail("out of memory"); }
    inh_rng_seed(&rng, 7);
    for (int i = 0; i < B * T; i++) { x[i] = (int)(inh_rng_u64(&rng) % V); y[i] = (int)(inh_rng_u64(&rng) % V); }
    inh_adamw_default(&opt);
    int rc = 0;
    for (int s = -1; s < steps && !rc; s++) {
        double t0 = inh_now();
        rc = inh_model_forward(&m, x, y, B, T) || inh_model_backward(&m, 1.0f);
        if (!rc) rc = inh_model_update(&m, &opt, 1e-4f, s + 2, inh_model_grad_norm(&m));
        if (s >= 0) dt[s] = inh_now() - t0;
    }
    double mmf = 6.0 * (double)m.num_params * B * T, atf = 12.0 * L * (double)B * T * T * C / 2;
    inh_model_free(&m);
    free(x); free(y);
    if (rc) { free(dt); return lib_fail(); }
    qsort(dt, (size_t)steps, sizeof(double), cmp_double);
    double med = dt[steps / 2], peak = 0;
    for (int i = 0; i < 8; i++) {   /* the best of 8: a browser runs a function's first calls in its baseline compiler */
        double p = inh_fma_peak_gflops(1);
        if (p > peak) peak = p;
    }
    free(dt);
    begin(); out_num("ms", med * 1e3); out_num("gflops", (mmf + atf) / med * 1e-9); out_num("tokens_per_s", B * T / med);
    out_num("peak_gflops", peak); out_num("share", (mmf + atf) / med * 1e-9 / peak);
#if defined(__wasm_simd128__)
    out(", \"isa\": \"simd128\"");
#else
    out(", \"isa\": \"scalar\"");
#endif
    return end();
}
