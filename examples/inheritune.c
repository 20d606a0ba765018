/* inheritune - command-line tool over inheritune.h. Thin: parse flags, call the library, print.
   Every error prints "error: <what>" naming the file or flag, and exits non-zero. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <stdarg.h>
#include <errno.h>

/* ---------------------------------------------------------------------------------------------
   Flags: each command lists its flags in a table; unknown flags are errors. */

typedef enum { F_INT, F_FLOAT, F_STR, F_BOOL, F_U64 } flag_kind;
typedef struct {
    const char *name;     /* "--batch" */
    flag_kind kind;
    void *ptr;
    const char *help;
    int set;              /* given on the command line */
} flag;

static int fail(const char *fmt, const char *a) {
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 1;
}
static int lib_fail(void) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }

/* edit distance of a and b (adjacent swaps count 1), at most 64 characters each; 99 past that */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b), d[65][65];
    if (la > 64 || lb > 64) return 99;
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c) c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}
/* the closest of names[0..n) to `word` if it is close enough to be a typo (a third of its length,
   at least 2 edits; or `word` is the start of exactly one name), else NULL */
static const char *closest_name(const char *word, const char *const *names, int n) {
    const char *best = NULL, *prefix = NULL;
    int bd = 99, nprefix = 0, len = (int)strlen(word);
    for (int i = 0; i < n; i++) {
        int dist = edit_distance(word, names[i]);
        if (dist < bd) { bd = dist; best = names[i]; }
        if (len >= 3 && !strncmp(names[i], word, (size_t)len)) { prefix = names[i]; nprefix++; }
    }
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (best && bd <= limit) return best;
    return nprefix == 1 ? prefix : NULL;
}
/* "unknown flag '--layer' (did you mean `--layers`? see --help)" */
static int unknown_flag(const char *name, const flag *f, int nf) {
    const char *names[128];
    int n = 0;
    for (int i = 0; i < nf && n < 127; i++) names[n++] = f[i].name;
    names[n++] = "--help";
    const char *dashed = name, *hit;
    char buf[72];
    if (name[0] == '-' && name[1] != '-') { snprintf(buf, sizeof buf, "-%s", name); dashed = buf; }   /* "-layers" */
    hit = closest_name(dashed, names, n);
    if (hit) fprintf(stderr, "error: unknown flag '%s' (did you mean `%s`? see --help)\n", name, hit);
    else fprintf(stderr, "error: unknown flag '%s' (see --help)\n", name);
    return 1;
}

static void usage(const char *cmd, const char *synopsis, flag *f, int nf) {
    printf("usage: inheritune %s %s\n\n", cmd, synopsis);
    for (int i = 0; i < nf; i++) printf("  %-18s %s\n", f[i].name, f[i].help);
    printf("  %-18s %s\n", "--help", "show this help");
}

/* Parse argv[1..] against the table. Positional arguments go to pos (up to maxpos).
   Returns 0 ok, 1 error (message printed), 2 help shown. */
static int parse_flags(int argc, char **argv, flag *f, int nf, const char *synopsis, char **pos, int maxpos, int *npos) {
    if (npos) *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(argv[0], synopsis, f, nf); return 2; }
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            if (a[0] == '-' && a[1] && a[1] != '-' && !(a[1] >= '0' && a[1] <= '9') && strcmp(a, "-")) return unknown_flag(a, f, nf);   /* "-layers" */
            if (npos && *npos < maxpos) { pos[(*npos)++] = argv[i]; continue; }
            return fail("unexpected argument '%s' (see --help)", a);
        }
        /* "--lr=1e-3" (nanoGPT's form) is "--lr 1e-3" */
        char name[64];
        const char *eq = strchr(a, '='), *v = NULL;
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) return fail("unknown flag '%s' (see --help)", a);
        memcpy(name, a, nl); name[nl] = 0;
        int k = 0;
        while (k < nf && strcmp(f[k].name, name)) k++;
        if (k == nf) return unknown_flag(name, f, nf);
        if (f[k].set) {   /* a repeated flag is an error, never a silent override */
            if (!strcmp(name, "--data") || !strcmp(name, "--val"))
                fprintf(stderr, "error: flag '%s' given twice: give it once; several shards go in one comma list (%s a.bin,b.bin) "
                        "or a quoted glob (%s 'shards/*_train_*.bin')\n", name, name, name);
            else fprintf(stderr, "error: flag '%s' given twice: give it once\n", name);
            return 1;
        }
        f[k].set = 1;
        if (f[k].kind == F_BOOL) {
            if (eq) return fail("flag '%s' takes no value (it is on when given)", name);
            *(int *)f[k].ptr = 1; continue;
        }
        if (eq) v = eq + 1;
        else if (i + 1 >= argc) return fail("flag '%s' needs a value", a);
        else v = argv[++i];
        a = f[k].name;
        char *end = NULL;
        errno = 0;
        switch (f[k].kind) {
        case F_INT: {
            long x = strtol(v, &end, 10);
            if (!*v || *end || errno || x < -2147483647L || x > 2147483647L) {
                fprintf(stderr, "error: flag '%s' wants an integer, got '%s'\n", a, v); return 1;
            }
            *(int *)f[k].ptr = (int)x; break;
        }
        case F_U64: {
            unsigned long long x = strtoull(v, &end, 10);
            if (!*v || *end || errno || *v == '-') { fprintf(stderr, "error: flag '%s' wants a non-negative integer, got '%s'\n", a, v); return 1; }
            *(uint64_t *)f[k].ptr = (uint64_t)x; break;
        }
        case F_FLOAT: {
            double x = strtod(v, &end);
            if (!*v || *end || errno || !isfinite(x) || fabs(x) > FLT_MAX) { fprintf(stderr, "error: flag '%s' wants a number, got '%s'\n", a, v); return 1; }
            *(float *)f[k].ptr = (float)x; break;
        }
        case F_STR: *(const char **)f[k].ptr = v; break;
        case F_BOOL: break;
        }
    }
    return 0;
}
#define NF(tab) ((int)(sizeof(tab) / sizeof((tab)[0])))
/* was flag `name` given on the command line */
static int given(const flag *f, int nf, const char *name) {
    for (int i = 0; i < nf; i++) if (!strcmp(f[i].name, name)) return f[i].set;
    return 0;
}

/* each output path can be written (directory exists and is writable, not a directory): checked
   at the start of a command, before any work; NULL paths are skipped */
static int check_outputs(const char *const *paths, int n) {
    for (int i = 0; i < n; i++)
        if (paths[i] && inh_check_output(paths[i], 0)) return lib_fail();
    return 0;
}
#define CHECK_OUTPUTS(...) do { const char *outs_[] = {__VA_ARGS__}; if (check_outputs(outs_, NF(outs_))) return 1; } while (0)

/* --force: replace an output file of another kind */
static int force;
#define FORCE_FLAG {"--force", F_BOOL, &force, "replace an existing output file even when it is not of the kind written here", 0}
/* an output of `kind` at path (NULL: none): an existing file of another kind (`convert m.bin lic.txt`,
   a typo) is refused before any work; --force deletes it first */
static int check_kind(const char *path, int kind) {
    if (!path || !inh_check_replace(path, kind)) return 0;
    int dir = inh_file_kind(path) == INH_FILE_DIR;
    if (!force || dir) { fprintf(stderr, "error: %s%s\n", inh_error(), force || dir ? "" : " (--force replaces it)"); return 1; }
    return inh_remove(path) ? lib_fail() : 0;
}

/* shards made with another tokenizer: ids far below the model's V (byte-level ids with GPT-2's
   50257) give a loss, but of the wrong text; a warning, since a small corpus may use few ids */
static void warn_vocab(const inh_data *d, int V) {
    if (d->max_id >= 0 && V >= 1024 && d->max_id + 1 <= V / 8)
        fprintf(stderr, "warning: %s: its largest token id is %d, far below the model's vocabulary V=%d: "
                "were these shards made with the model's tokenizer?\n", d->path, d->max_id, V);
}

/* many shards: those too small for a window (shuffled) or a batch (sequential) are skipped */
static void warn_shards(const inh_data *d, int B, int T, int shuffle) {
    size_t need = shuffle ? (size_t)T + 1 : (size_t)B * T + 1;
    for (int k = 0; k < d->nshards; k++)
        if (d->shards[k].n < need)
            fprintf(stderr, "warning: %s: %zu tokens cannot fill %s of %zu tokens: this shard is skipped\n", d->shards[k].path,
                    d->shards[k].n, shuffle ? "one window" : "one batch", need);
}

static int check_threads(int *threads) {
    if (*threads == 0) *threads = inh_num_cores();
    if (*threads < 1 || *threads > 256) { fprintf(stderr, "error: --threads must be 1..256, got %d\n", *threads); return 1; }
    return 0;
}

/* --device cpu | cuda. The CUDA backend is in the builds that link inheritune_cuda.cu: make cuda
   (build/inheritune_cuda, needs the CUDA Toolkit) and make cuda-emu (build/inheritune_cuda_emu,
   the same code on the SIMT emulator: slow, small models, for trying and testing). */
#ifdef INH_WITH_CUDA
#define INH_CUDA_DECLARE_ONLY
#include "../inheritune_cuda.cu"
static inh_cuda_ctx *cuda_ctx;
#endif
#define DEVICE_FLAG {"--device", F_STR, &device, "cpu | cuda: where the model computes (default cpu)", 0}
/* checked right after the flags, before any work: an unknown device, or cuda in a build without
   it, fails here; cuda starts the device (once) */
static int check_device(const char *device) {
    if (!strcmp(device, "cpu")) return 0;
    if (strcmp(device, "cuda")) return fail("--device must be cpu or cuda, got '%s'", device);
#ifdef INH_WITH_CUDA
    if (!cuda_ctx && inh_cuda_init(&cuda_ctx, 0)) { fprintf(stderr, "error: --device cuda: %s\n", inh_cuda_error()); return 1; }
    if (inh_cuda_emulated()) fprintf(stderr, "note: --device cuda is emulated on the CPU in this build (correct but slow: small models)\n");
    return 0;
#else
    return fail("--device %s: this build has no CUDA backend; make cuda builds build/inheritune_cuda (needs the CUDA Toolkit), "
                "make cuda-emu builds build/inheritune_cuda_emu (emulated on the CPU)", device);
#endif
}
/* move a loaded model to the device (after check_device); prints the error */
static int place_model(inh_model *m, const char *device) {
    if (!strcmp(device, "cpu")) return 0;
#ifdef INH_WITH_CUDA
    if (inh_model_set_backend(m, inh_cuda_backend(), cuda_ctx)) return lib_fail();
    return 0;
#else
    (void)m;
    return fail("--device %s: no CUDA backend in this build", device);
#endif
}

/* parse "1,2,3" into ids; returns count or -1 */
static int parse_ids(const char *s, int *out, int max) {
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || n >= max || v < 0 || v > 2147483647L) return -1;
        out[n++] = (int)v;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    return n;
}

/* Ctrl-C: training stops after the current step, saves, and exits non-zero; a second Ctrl-C kills */
static volatile int interrupted;   /* Ctrl-C (inh_catch_interrupt): stop after this step, save, exit */

static void fmt_time(double s, char *buf, size_t n) {
    if (s < 0 || !isfinite(s)) s = 0;
    if (s > 3.6e8) s = 3.6e8;   /* 100,000 hours: keeps (int)s defined */
    if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* ---------------------------------------------------------------------------------------------
   analyze, drop-sweep, and --drop-attn for eval and sample */

/* Set m->drop_attn from "9,10,11" | "last:K" | "auto:K[:METRIC]" (auto ranks the layers with a short
   analysis of data_path). Returns 0, or 1 after printing the error. */
static int apply_drop_attn(inh_model *m, const char *spec, const char *data_path, int threads) {
    inh_data d;
    int have = 0, rc = 0;
    if (!spec) return 0;
    if (!strncmp(spec, "auto:", 5)) {
        if (!data_path) { fprintf(stderr, "error: --drop-attn %s ranks the layers on data: give --data FILE.bin\n", spec); return 1; }
        if (inh_data_open(&d, data_path, m->cfg.V)) return lib_fail();
        have = 1;
    }
    m->threads = threads;
    if (inh_drop_attn_set(m, spec, have ? &d : NULL, NULL)) rc = lib_fail();
    if (have) inh_data_close(&d);
    if (!rc) {
        fprintf(stderr, "attention dropped in layers:");
        int any = 0;
        for (int l = 0; l < m->cfg.L; l++) if (m->drop_attn[l]) { fprintf(stderr, " %d", l); any = 1; }
        fprintf(stderr, "%s\n", any ? "" : " none");
    }
    return rc;
}

/* eval/sample/analyze: --shortcuts causal|depth evaluates a shortcut model with that variant;
   --drop-shortcut skips the shortcut sub-layer (the plain GPT-2 inside). Returns 0, or 1 after an error. */
static int apply_shortcut_flags(inh_model *m, const char *variant, int drop, const char *model) {
    if ((variant || drop) && !m->cfg.shortcuts) {
        fprintf(stderr, "error: %s has no attention shortcuts, so %s does not apply\n", model, variant ? "--shortcuts" : "--drop-shortcut");
        return 1;
    }
    if (variant) {
        int v = inh_sc_variant(variant);
        if (v < 0) { fprintf(stderr, "error: --shortcuts must be causal or depth, got '%s'\n", variant); return 1; }
        m->cfg.shortcuts = v;
    }
    m->drop_shortcut = drop;
    if (m->cfg.shortcuts)
        fprintf(stderr, "shortcuts: %s%s\n", inh_sc_variant_name(m->cfg.shortcuts), drop ? " (dropped: the plain model inside)" : "");
    return 0;
}

/* "L=.. NH=.." suffix of a model's shortcuts for the summary lines: " shortcuts=causal:0,1,2" */
static void shortcut_desc(const inh_config *c, char *buf, size_t n) {
    int sel[INH_SC_MAX_LAYER], k = inh_sc_layers(c, sel);
    size_t off = 0;
    buf[0] = 0;
    if (!c->shortcuts) return;
    off += (size_t)snprintf(buf, n, " shortcuts=%s:", inh_sc_variant_name(c->shortcuts));
    for (int i = 0; i < k && off + 8 < n; i++) off += (size_t)snprintf(buf + off, n - off, i ? ",%d" : "%d", sel[i]);
}

/* strtod into a double in (0, 1] */
static int parse_unit(const char *name, const char *v, double *out) {
    char *end = NULL;
    double x = strtod(v, &end);
    if (!*v || *end || !(x > 0.0 && x <= 1.0)) { fprintf(stderr, "error: %s must be a number in (0, 1], got '%s'\n", name, v); return 1; }
    *out = x;
    return 0;
}

/* with a baseline (analyze --baseline random) a column "random" after max_rank: its random-init MaxRank */
static void print_analysis(const inh_analysis *a) {
    int b = a->has_baseline;
    printf("layer  max_rank  %savg_mass  lazy  sink     block_infl  angular   attn_imp  entropy\n", b ? "  random  " : "");
    for (int l = 0; l < a->L; l++) {
        if (a->dropped[l] && b) {
            printf("%5d  %8s  %8.3f  (attention dropped)        %.6f  %8.5f  %.6f\n", l, "-", a->baseline_max_rank[l], a->block_influence[l],
                   a->angular_distance[l], a->attn_importance[l]);
            continue;
        }
        if (a->dropped[l]) {
            printf("%5d  (attention dropped)                  %.6f  %8.5f  %.6f\n", l, a->block_influence[l], a->angular_distance[l], a->attn_importance[l]);
            continue;
        }
        printf("%5d  %8.3f  ", l, a->max_rank[l]);
        if (b) printf("%8.3f  ", a->baseline_max_rank[l]);
        printf("%8.2f  %-4s  %.5f  %.6f    %8.5f  %.6f  %.4f\n", a->avg_mass[l], a->lazy[l] ? "yes" : "",
               a->sink_layer[l], a->block_influence[l], a->angular_distance[l], a->attn_importance[l], a->entropy_layer[l]);
    }
    if (b)
        printf("random: MaxRank of a randomly initialised model of the same shape on the same windows (seed %llu);\n"
               "        read a layer as lazy only where its max_rank is 1 and clearly below this\n", (unsigned long long)a->baseline_seed);
    printf("lazy groups:");
    for (int g = 0; g < a->n_groups; g++) printf(" %d-%d", a->groups[2 * g], a->groups[2 * g + 1]);
    printf("%s\n", a->n_groups ? "" : " none");
    if (a->lazy_from < a->L) printf("layers %d..%d form a lazy group (floor of mean MaxRank = 1)\n", a->lazy_from, a->L - 1);
    printf("%d sequences x %d tokens, tau %g, eta %g, loss %.6f, %.2f s\n", a->seqs, a->T, a->tau, a->eta, a->loss, a->seconds);
    if (a->sc_n) {   /* where the shortcut attention of the last layer goes */
        printf("shortcut attention (%s): share of each head's mass per selected layer, entropy in nats\nhead ", inh_sc_variant_name(a->sc_variant));
        for (int i = 0; i < a->sc_n; i++) printf(" L%-5d", a->sc_layer[i]);
        printf("  entropy\n");
        for (int h = 0; h < a->NH; h++) {
            printf("%4d ", h);
            for (int i = 0; i < a->sc_n; i++) printf(" %.4f", (double)a->sc_share[(size_t)h * a->sc_n + i]);
            printf("  %.4f\n", (double)a->sc_entropy[h]);
        }
    }
}

static int cmd_analyze(int argc, char **argv) {
    const char *device = "cpu";
    const char *model = NULL, *data = NULL, *json = NULL, *svg = NULL, *html = NULL, *drop = NULL, *layers = NULL, *shortcuts = NULL;
    const char *tau_s = "0.9", *eta_s = "0.9", *baseline = NULL;
    int threads = 0, no_shuffle = 0, drop_sc = 0;
    uint64_t baseline_seed = 1337;
    inh_analysis_opts o;
    inh_analysis_opts_default(&o);
    flag f[] = {
        {"--model", F_STR, &model, "model: llm.c .bin, or HF model.safetensors (+ config.json) or its directory", 0},
        {"--data", F_STR, &data, "token shard(s) (validation data): a file, a glob or a comma list", 0},
        {"--seqs", F_INT, &o.seqs, "sequences N (default 100)", 0},
        {"--seq-len", F_INT, &o.T, "tokens per sequence T (default min(100, the model's maxT))", 0},
        {"--seed", F_U64, &o.seed, "seed of the random windows (default 1337)", 0},
        {"--no-shuffle", F_BOOL, &no_shuffle, "the first N consecutive windows from token 0", 0},
        {"--tau", F_STR, &tau_s, "energy fraction of the approximate rank, in (0,1] (default 0.9)", 0},
        {"--eta", F_STR, &eta_s, "column-mass fraction, in (0,1] (default 0.9)", 0},
        {"--batch", F_INT, &o.batch, "sequences per forward pass (default 8; memory grows with it)", 0},
        {"--span", F_INT, &o.span, "angular distance between layers l and l+span (default 1)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--drop-attn", F_STR, &drop, "skip attention in layers: 9,10,11 | last:K | auto:K[:METRIC]", 0},
        {"--shortcuts", F_STR, &shortcuts, "analyse a shortcut model with this variant: causal | depth", 0},
        {"--drop-shortcut", F_BOOL, &drop_sc, "skip the shortcut sub-layer (the plain GPT-2 inside)", 0},
        {"--layers", F_STR, &layers, "layers whose heads get heat maps (default: first and last)", 0},
        {"--baseline", F_STR, &baseline, "random: also analyse a randomly initialised model of the same shape", 0},
        {"--baseline-seed", F_U64, &baseline_seed, "seed of that random model (default 1337)", 0},
        {"--json", F_STR, &json, "write every metric here", 0},
        {"--svg", F_STR, &svg, "write the picture here", 0},
        {"--html", F_STR, &html, "write a self-contained report here", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL --data FILE.bin [--seqs N] [--seq-len T] [--seed S | --no-shuffle] [--tau X] [--eta X] [--baseline random] [--json F] [--svg F] [--html F]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (!model || !data) return fail("%s", "analyze needs --model and --data");
    CHECK_OUTPUTS(json, svg, html);
    if (check_kind(json, INH_FILE_JSON) || check_kind(svg, INH_FILE_SVG) || check_kind(html, INH_FILE_HTML)) return 1;
    if (parse_unit("--tau", tau_s, &o.tau) || parse_unit("--eta", eta_s, &o.eta)) return 1;
    if (o.seqs <= 0 || o.T <= 0 || o.batch <= 0) return fail("%s", "--seqs, --seq-len and --batch must be positive");
    if (baseline && strcmp(baseline, "random")) return fail("--baseline: unknown baseline '%s' (the one there is: random)", baseline);
    if (!baseline && given(f, NF(f), "--baseline-seed")) return fail("%s", "--baseline-seed needs --baseline random");
    o.shuffle = !no_shuffle;
    o.keep_attention = svg || html;
    inh_model m;
    inh_data d;
    inh_analysis a;
    int heat[64], nheat = 0, rc = 0;
    if (inh_model_load_any(&m, model)) return lib_fail();
    m.threads = threads;
    if (apply_shortcut_flags(&m, shortcuts, drop_sc, model)) { inh_model_free(&m); return 1; }
    if (place_model(&m, device)) { inh_model_free(&m); return 1; }
    if (!given(f, NF(f), "--seq-len") && o.T > m.cfg.maxT) o.T = m.cfg.maxT;   /* default min(100, maxT) */
    if (o.T > m.cfg.maxT) { fprintf(stderr, "error: --seq-len %d is above the model's maxT %d (%s)\n", o.T, m.cfg.maxT, model); inh_model_free(&m); return 1; }
    if (layers) {
        nheat = parse_ids(layers, heat, 64);
        if (nheat < 1) { inh_model_free(&m); return fail("--layers: cannot parse '%s' (comma-separated layers)", layers); }
        for (int i = 0; i < nheat; i++)
            if (heat[i] >= m.cfg.L) {
                fprintf(stderr, "error: --layers names layer %d but %s has %d layers (0..%d)\n", heat[i], model, m.cfg.L, m.cfg.L - 1);
                inh_model_free(&m); return 1;
            }
    } else {
        heat[nheat++] = 0;
        if (m.cfg.L > 1) heat[nheat++] = m.cfg.L - 1;
    }
    if (inh_data_open(&d, data, m.cfg.V)) { inh_model_free(&m); return lib_fail(); }
    warn_vocab(&d, m.cfg.V);
    if (drop && apply_drop_attn(&m, drop, data, threads)) rc = 1;
    else if (inh_analyze(&m, &d, &o, &a)) rc = lib_fail();
    else if (baseline && inh_analysis_baseline(&a, &m, &d, &o, baseline_seed)) { rc = lib_fail(); inh_analysis_free(&a); }
    else {
        snprintf(a.source, sizeof a.source, "model %.300s, data %.300s", model, data);
        print_analysis(&a);
        if (json && inh_analysis_write_json(&a, json)) rc = lib_fail();
        if (!rc && svg && inh_analysis_write_svg(&a, heat, nheat, svg)) rc = lib_fail();
        if (!rc && html && inh_analysis_write_html(&a, heat, nheat, html)) rc = lib_fail();
        if (!rc && (json || svg || html)) printf("wrote%s%s%s%s%s%s\n", json ? " " : "", json ? json : "", svg ? " " : "", svg ? svg : "", html ? " " : "", html ? html : "");
        inh_analysis_free(&a);
    }
    inh_data_close(&d);
    inh_model_free(&m);
    return rc;
}

static int cmd_drop_sweep(int argc, char **argv) {
    const char *device = "cpu";
    const char *model = NULL, *data = NULL, *by = NULL, *svg = NULL, *html = NULL, *json = NULL;
    int B = 4, T = 64, nb = 1, threads = 0, repeats = 3;
    flag f[] = {
        {"--model", F_STR, &model, "model: llm.c .bin, or HF model.safetensors (+ config.json) or its directory", 0},
        {"--data", F_STR, &data, "token shard(s) (validation data): a file, a glob or a comma list", 0},
        {"--batch", F_INT, &B, "batch size (default 4)", 0},
        {"--seq", F_INT, &T, "sequence length (default 64)", 0},
        {"--batches", F_INT, &nb, "consecutive windows from token 0 (default 1)", 0},
        {"--by", F_STR, &by, "also drop the k least important layers by METRIC (attn_importance, block_influence, max_rank, sink, ...)", 0},
        {"--repeats", F_INT, &repeats, "timed passes over every point; speeds are their medians (default 3; 0 = no timing, losses only)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--svg", F_STR, &svg, "write the curve here", 0},
        {"--html", F_STR, &html, "write a self-contained report here", 0},
        {"--json", F_STR, &json, "write every point here (losses, median speeds, spreads, each timed run)", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL.bin --data FILE.bin [--batch B --seq T --batches N] [--by METRIC] [--repeats N] [--svg F] [--html F] [--json F]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (!model || !data) return fail("%s", "drop-sweep needs --model and --data");
    CHECK_OUTPUTS(svg, html, json);
    if (check_kind(svg, INH_FILE_SVG) || check_kind(html, INH_FILE_HTML) || check_kind(json, INH_FILE_JSON)) return 1;
    if (B <= 0 || T <= 0 || nb <= 0) return fail("%s", "--batch, --seq and --batches must be positive");
    if (repeats < 0 || repeats > 1000) { fprintf(stderr, "error: --repeats %d: give 0 (no timing) to 1000\n", repeats); return 1; }
    inh_model m;
    inh_data d;
    inh_sweep s;
    if (inh_model_load_any(&m, model)) return lib_fail();
    m.threads = threads;
    if (place_model(&m, device)) { inh_model_free(&m); return 1; }
    if (inh_data_open(&d, data, m.cfg.V)) { inh_model_free(&m); return lib_fail(); }
    int L = m.cfg.L, rc = 0, curves = 1;
    int *orders = (int *)malloc(sizeof(int) * 2 * (size_t)L);
    char auto_name[48];
    const char *names[2] = {"last k layers", auto_name};
    snprintf(auto_name, sizeof auto_name, "k least important by %s", by ? by : "");
    if (!orders) { rc = fail("%s", "out of memory"); goto done; }
    if (T > m.cfg.maxT) { fprintf(stderr, "error: --seq %d is above the model's maxT %d (%s)\n", T, m.cfg.maxT, model); rc = 1; goto done; }
    if (d.n < (size_t)B * T + 1) {
        fprintf(stderr, "error: %s: %zu tokens cannot fill a batch of B=%d x T=%d (+1)\n", data, d.n, B, T); rc = 1; goto done;
    }
    warn_vocab(&d, m.cfg.V);
    if ((size_t)nb * B > inh_data_windows(&d, T)) {   /* never wrap around and read windows twice */
        int fit = (int)(inh_data_windows(&d, T) / (size_t)B);
        fprintf(stderr, "note: --batches %d is more than %s holds: using its %d whole batches of B=%d x T=%d\n", nb, data, fit, B, T);
        nb = fit;
    }
    for (int i = 0; i < L; i++) orders[i] = L - 1 - i;
    if (by) {
        inh_analysis a;
        inh_analysis_opts o;
        inh_analysis_opts_default(&o);
        o.seqs = 32; o.T = m.cfg.maxT < 128 ? m.cfg.maxT : 128;
        if (d.n < (size_t)o.T + 1) o.T = (int)d.n - 1;
        if (inh_analyze(&m, &d, &o, &a)) { rc = lib_fail(); goto done; }
        rc = inh_analysis_order(&a, by, orders + L) ? lib_fail() : 0;
        inh_analysis_free(&a);
        if (rc) goto done;
        curves = 2;
    }
    if (inh_drop_sweep(&m, &d, B, T, nb, orders, curves, names, repeats, &s)) { rc = lib_fail(); goto done; }
    snprintf(s.source, sizeof s.source, "model %.300s, data %.300s", model, data);
    if (repeats == 0) printf("not timing (--repeats 0): losses only\n");
    else printf("speed: median of %d timed pass%s (each run %d evaluation%s, after a warm-up); spread = (max - min) / median of the speed-ups\n",
                repeats, repeats == 1 ? "" : "es", s.inner, s.inner == 1 ? "" : "s");
    double widest = 0;
    int wide = 0;
    for (int c = 0; c < curves; c++) {
        printf("%s\n    k  layer  loss       delta      tokens/s  speed-up  spread\n", s.names[c]);
        for (int k = 0; k <= L; k++) {
            int p = c * (L + 1) + k;
            float ls = s.loss[p], l0 = s.loss[c * (L + 1)];
            char layer[16], speed[64];
            if (k) snprintf(layer, sizeof layer, "%d", s.order[c * L + k - 1]);
            else snprintf(layer, sizeof layer, "-");
            if (repeats == 0) snprintf(speed, sizeof speed, "%9s  %8s  %6s", "-", "-", "-");
            else if (!isfinite(s.spread[p])) snprintf(speed, sizeof speed, "%9.0f  %8.3f  %6s", s.tokens_per_s[p], s.speedup[p], "-");
            else snprintf(speed, sizeof speed, "%9.0f  %8.3f  %5.1f%%", s.tokens_per_s[p], s.speedup[p], 100 * s.spread[p]);
            printf("%5d  %5s  %.6f  %+.6f  %s\n", k, layer, ls, ls - l0, speed);
            if (isfinite(s.spread[p]) && s.spread[p] > INH_SWEEP_WIDE_SPREAD) { wide++; if (s.spread[p] > widest) widest = s.spread[p]; }
        }
    }
    if (repeats == 1) printf("note: one timed pass (--repeats 1): no spread measured\n");
    if (wide) printf("note: %d speed-up%s varied by more than %.0f%% between passes (up to %.0f%%): the machine is busy; "
                     "more --repeats or an idle machine give steadier numbers\n", wide, wide == 1 ? "" : "s", 100 * INH_SWEEP_WIDE_SPREAD, 100 * widest);
    if (json && inh_sweep_write_json(&s, json)) rc = lib_fail();
    if (!rc && svg && inh_sweep_write_svg(&s, svg)) rc = lib_fail();
    if (!rc && html && inh_sweep_write_html(&s, html)) rc = lib_fail();
    inh_sweep_free(&s);
done:
    free(orders);
    inh_data_close(&d);
    inh_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   train */

/* Decoded text for the terminal: control bytes (but tab, newline and carriage return) and bytes
   that are not UTF-8 print as \xNN, so a byte-level model's sample cannot drive the terminal; a
   character split over two tokens waits for its rest. raw: the bytes as they are. */
typedef struct { unsigned char pend[4]; int npend, need, raw; } text_out;
static void text_escape(const unsigned char *b, int n) { for (int i = 0; i < n; i++) printf("\\x%02x", b[i]); }
static void text_flush(text_out *o) { text_escape(o->pend, o->npend); o->npend = o->need = 0; }
static void text_put(text_out *o, const unsigned char *b, size_t n) {
    if (o->raw) { if (n) fwrite(b, 1, n, stdout); return; }
    for (size_t i = 0; i < n; i++) {
        unsigned c = b[i];
        if (o->npend) {   /* inside a multi-byte character: a continuation byte in its allowed range */
            unsigned lead = o->pend[0], lo = 0x80, hi = 0xBF;
            if (o->npend == 1) {
                if (lead == 0xE0) lo = 0xA0; else if (lead == 0xED) hi = 0x9F;
                else if (lead == 0xF0) lo = 0x90; else if (lead == 0xF4) hi = 0x8F;
            }
            if (c >= lo && c <= hi) {
                o->pend[o->npend++] = (unsigned char)c;
                if (o->npend == o->need) { fwrite(o->pend, 1, (size_t)o->npend, stdout); o->npend = o->need = 0; }
                continue;
            }
            text_flush(o);   /* cut short: its bytes are not text; c starts afresh */
        }
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) text_escape(b + i, 1);
            else putchar((int)c);
        } else if (c >= 0xC2 && c <= 0xF4) {
            o->pend[0] = (unsigned char)c; o->npend = 1; o->need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        } else {
            text_escape(b + i, 1);
        }
    }
}

/* the length of ids[0..n) before the first `stop` id (a sample ends with its document) */
static int cut_at(const int *ids, int n, int stop) {
    for (int i = 0; i < n; i++) if (ids[i] == stop) return i;
    return n;
}

/* the loss curve beside the model: OUT.bin -> OUT.loss.svg */
static void loss_svg_path(const char *out, char *path, size_t cap) {
    size_t k = strlen(out);
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (dot && (!slash || dot > slash)) k = (size_t)(dot - out);
    snprintf(path, cap, "%.*s.loss.svg", (int)k, out);
}
static int write_loss_svg(const char *out, const char *data, const int *step, const float *loss, int n, const int *vstep, const float *vloss, int nv) {
    char path[4096], title[4400];
    loss_svg_path(out, path, sizeof path);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
    snprintf(title, sizeof title, "loss of %s on %s, %s", out, data, date);
    return inh_write_loss_svg(path, title, step, loss, n, vstep, vloss, nv);
}

/* train's outputs are of their kinds (checked before any work): the model, the state, the loss
   curve beside the model, and the log, which is a log of ours (a resumed run appends to it) */
static int check_train_outputs(const char *out, const char *state, const char *log_path) {
    char svg[4096];
    if (out) loss_svg_path(out, svg, sizeof svg);
    if (check_kind(out, INH_FILE_MODEL) || check_kind(state, INH_FILE_STATE) || check_kind(out ? svg : NULL, INH_FILE_SVG)) return 1;
    if (!log_path) return 0;
    size_t n = strlen(log_path);
    int jsonl = n > 6 && !strcmp(log_path + n - 6, ".jsonl");
    if (check_kind(log_path, jsonl ? INH_FILE_JSON : INH_FILE_TEXT)) return 1;
    FILE *f = inh_file_kind(log_path) == INH_FILE_TEXT ? inh_fopen(log_path, "rb") : NULL;
    char head[16] = "";
    if (f) { if (!fgets(head, sizeof head, f)) head[0] = 0; fclose(f); }
    if (f && strncmp(head, "step,loss", 9)) {   /* a text file, but not a training log (a corpus?) */
        if (!force) { fprintf(stderr, "error: %s: is a text file, not a training log; refusing to replace it (--force replaces it)\n", log_path); return 1; }
        if (inh_remove(log_path)) return lib_fail();
    }
    return 0;
}

static int cmd_train(int argc, char **argv) {
    const char *device = "cpu";
    const char *data = NULL, *val = NULL, *init = NULL, *out = NULL, *state = NULL, *resume = NULL, *sched = "cosine";
    const char *shortcuts = NULL, *sc_layers = NULL;
    int L = 0, NH = 0, C = 0, maxT = 0, V = 0, no_bias = 0, layer_scale = 0, decay_all = 0, no_shuffle = 0;
    int threads = 0, eval_every = 0, eval_batches = 20, save_every = 0, allow_changes = 0, sample_every = 0, sample_tokens = 64, print_every = 1;
    const char *log_path = NULL, *tokdir = NULL;
    static inh_state_info si;   /* static: its paths may stand in for --data and --val */
    inh_train_opts o;
    inh_train_opts_default(&o);
    flag f[] = {
        {"--data", F_STR, &data, "training token shard(s) (llm.c .bin): a file, a glob 'dir/*_train_*.bin' or a comma list", 0},
        {"--val", F_STR, &val, "validation token shard(s): a file, a glob or a comma list", 0},
        {"--init", F_STR, &init, "start from this model (llm.c .bin or HF safetensors)", 0},
        {"--layers", F_INT, &L, "new model: layers", 0},
        {"--heads", F_INT, &NH, "new model: attention heads", 0},
        {"--dim", F_INT, &C, "new model: channels", 0},
        {"--seq-max", F_INT, &maxT, "new model: context length", 0},
        {"--vocab", F_INT, &V, "new model: vocabulary size (default: the largest id in --data plus one)", 0},
        {"--no-bias", F_BOOL, &no_bias, "new model: no biases (nanoGPT bias=False)", 0},
        {"--layer-scale", F_BOOL, &layer_scale, "new model: scale attention logits by 1/(layer+1)", 0},
        {"--shortcuts", F_STR, &shortcuts, "attention shortcuts causal | depth (new model, or added to / switched on --init)", 0},
        {"--shortcut-layers", F_STR, &sc_layers, "layers whose outputs the shortcuts read, e.g. 1,3,5 (default: 0..L-2)", 0},
        {"--batch", F_INT, &o.B, "batch size B (default 4)", 0},
        {"--seq", F_INT, &o.T, "sequence length T (default 64)", 0},
        {"--steps", F_INT, &o.steps, "total optimizer steps (default 100)", 0},
        {"--lr", F_FLOAT, &o.lr, "peak learning rate (default 3e-4)", 0},
        {"--min-lr", F_FLOAT, &o.min_lr, "final learning rate of the cosine schedule (default 0)", 0},
        {"--warmup", F_INT, &o.warmup, "linear warm-up steps (default 0)", 0},
        {"--schedule", F_STR, &sched, "constant | cosine (default cosine)", 0},
        {"--weight-decay", F_FLOAT, &o.opt.weight_decay, "AdamW decoupled weight decay (default 0.1)", 0},
        {"--decay-all", F_BOOL, &decay_all, "decay every parameter (llm.c), not only 2-D weights", 0},
        {"--beta1", F_FLOAT, &o.opt.beta1, "AdamW beta1 (default 0.9)", 0},
        {"--beta2", F_FLOAT, &o.opt.beta2, "AdamW beta2 (default 0.95)", 0},
        {"--eps", F_FLOAT, &o.opt.eps, "AdamW epsilon (default 1e-8)", 0},
        {"--grad-clip", F_FLOAT, &o.opt.grad_clip, "clip the gradient norm (default 1; 0 = off)", 0},
        {"--accum", F_INT, &o.accum, "gradient accumulation micro-batches (default 1)", 0},
        {"--bf16", F_BOOL, &o.bf16, "bf16 mixed precision: matmul operands in bf16, fp32 sums, weights and optimizer", 0},
        {"--seed", F_U64, &o.seed, "seed for initialisation and data order (default 1337)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--no-shuffle", F_BOOL, &no_shuffle, "consecutive windows from token 0 instead of random ones", 0},
        {"--eval-every", F_INT, &eval_every, "validation loss every N steps (and at the end; default 0 = end only)", 0},
        {"--eval-batches", F_INT, &eval_batches, "validation batches (default 20)", 0},
        {"--print-every", F_INT, &print_every, "the progress line every N steps (and at the last; default 1)", 0},
        {"--out", F_STR, &out, "write the model here (llm.c .bin) at the end (with --resume: the one the state file records)", 0},
        {"--save-every", F_INT, &save_every, "also save model/state every N steps", 0},
        {"--state", F_STR, &state, "write the training state (for --resume) here (with --resume: default that file)", 0},
        {"--resume", F_STR, &resume, "continue from a training-state file up to --steps (its data and --val are the defaults)", 0},
        {"--log", F_STR, &log_path, "append one line per step here: step, loss, lr, grad norm, tokens/s, val loss (FILE.jsonl: JSON lines, else CSV)", 0},
        {"--sample-every", F_INT, &sample_every, "print a text sample every N steps (needs --tokenizer)", 0},
        {"--sample-tokens", F_INT, &sample_tokens, "tokens of each sample (default 64)", 0},
        {"--tokenizer", F_STR, &tokdir, "tokenizer for --sample-every (bytes or a GPT-2 directory)", 0},
        {"--allow-changes", F_BOOL, &allow_changes, "with --resume: accept settings or data that differ from the state file (no longer bit-exact)", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--data TRAIN.bin [--init MODEL | --layers L --heads H --dim C --seq-max T [--vocab V]] [flags]\n"
                        "       or: train --resume STATE [--steps N] [flags]   (the state file knows its data and its --out)", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (resume) {   /* the state file knows its data: `--resume FILE` alone continues the run */
        if (inh_trainer_state_info(resume, &si)) return lib_fail();
        if (!data && !*si.train_path) return fail("%s: this state file (older format) does not record its data: give --data TRAIN.bin", resume);
        if (!data) data = si.train_path;
        if (!val && *si.val_path) val = si.val_path;
        if (!state) state = resume;   /* the resumed run's progress goes back to its state file */
        if (!out && *si.out_path) {   /* and its model to the run's --out */
            out = si.out_path;
            printf("resume: the model goes to %s (the --out recorded in %s)\n", out, resume);
        }
        if (!log_path && *si.log_path) log_path = si.log_path;
    }
    if (!data) return fail("%s", "train needs --data TRAIN.bin");
    if (o.lr < 0 || o.min_lr < 0) { fprintf(stderr, "error: --lr %g and --min-lr %g must not be negative\n", o.lr, o.min_lr); return 1; }
    CHECK_OUTPUTS(out, state, log_path);
    if (check_train_outputs(out, state, log_path)) return 1;
    if (!out && !state) fprintf(stderr, "note: neither --out nor --state: the trained model will not be saved\n");
    if (sample_every < 0 || sample_tokens < 1 || (sample_every && !tokdir)) return fail("%s", "--sample-every N needs N >= 0, --sample-tokens >= 1 and --tokenizer");
    if (!strcmp(sched, "cosine")) o.schedule = INH_SCHEDULE_COSINE;
    else if (!strcmp(sched, "constant")) o.schedule = INH_SCHEDULE_CONSTANT;
    else return fail("--schedule must be constant or cosine, got '%s'", sched);
    o.opt.decay_all = decay_all;
    o.shuffle = !no_shuffle;
    if (eval_every < 0 || save_every < 0 || eval_batches <= 0) return fail("%s", "--eval-every and --save-every must be >= 0, --eval-batches > 0");
    if (print_every < 1) { fprintf(stderr, "error: --print-every %d: give N >= 1 (the progress line every N steps)\n", print_every); return 1; }
    if (o.B <= 0 || o.T <= 0 || o.steps < 0 || o.accum <= 0 || o.warmup < 0)
        return fail("%s", "--batch, --seq and --accum must be positive; --steps and --warmup not negative");

    inh_model m;
    inh_data train, valid;
    inh_trainer t;
    inh_tokenizer *tok = NULL;
    FILE *logf = NULL;
    int log_json = 0, ncurve = 0, nvcurve = 0, cap = 0, vcap = 0;
    int *cstep = NULL, *vstep = NULL;
    float *closs = NULL, *vloss = NULL;
    double recent[20] = {0}, eval_s = 0;   /* the last 20 step times, and the last evaluation's */
    memset(&valid, 0, sizeof valid);
    memset(&t, 0, sizeof t);
    int new_model = L || NH || C || maxT || V;
    if (resume && (init || new_model)) return fail("%s", "--resume takes the model from the state file: drop --init and the size flags");
    if (!resume && init && new_model) return fail("%s", "give either --init MODEL.bin or the size flags of a new model, not both");
    if (!resume && !init && !(L || NH || C || maxT))
        return fail("%s", "a new model needs --layers, --heads, --dim and --seq-max (--vocab defaults to the data's), or use --init MODEL.bin");
    if (!resume && !init && !(L && NH && C && maxT)) {
        char miss[96] = "";
        const char *nm[4] = {"--layers", "--heads", "--dim", "--seq-max"};
        int val4[4] = {L, NH, C, maxT}, nmiss = 0;
        for (int i = 0; i < 4; i++)
            if (!val4[i]) { strcat(miss, nmiss++ ? ", " : ""); strcat(miss, nm[i]); }
        fprintf(stderr, "error: a new model needs %s too (the size flags are --layers, --heads, --dim, --seq-max, and --vocab)\n", miss);
        return 1;
    }
    int sc_variant = 0;
    if (shortcuts && (sc_variant = inh_sc_variant(shortcuts)) < 0) return fail("--shortcuts must be causal or depth, got '%s'", shortcuts);
    if (sc_layers && !shortcuts) return fail("%s", "--shortcut-layers needs --shortcuts causal|depth");
    if (resume && shortcuts) return fail("%s", "--resume keeps the state file's shortcuts: drop --shortcuts");
    if (resume) {
        /* the state file carries model, options, step and data position; flags given now override */
        if (inh_data_open(&train, data, 0)) return lib_fail();
        if (inh_trainer_load_state(&t, &m, &train, resume)) { inh_data_close(&train); return lib_fail(); }
        inh_train_opts merged = t.o;
        int step = t.step;
        inh_rng rng = train.rng;
        size_t pos = train.pos;
        int cur = train.cur;
        for (int i = 0; i < NF(f); i++) {
            const char *n = f[i].name;
            if (!f[i].set) continue;
            if (!strcmp(n, "--batch")) merged.B = o.B; else if (!strcmp(n, "--seq")) merged.T = o.T;
            else if (!strcmp(n, "--steps")) merged.steps = o.steps; else if (!strcmp(n, "--lr")) merged.lr = o.lr;
            else if (!strcmp(n, "--min-lr")) merged.min_lr = o.min_lr; else if (!strcmp(n, "--warmup")) merged.warmup = o.warmup;
            else if (!strcmp(n, "--schedule")) merged.schedule = o.schedule;
            else if (!strcmp(n, "--weight-decay")) merged.opt.weight_decay = o.opt.weight_decay;
            else if (!strcmp(n, "--decay-all")) merged.opt.decay_all = 1;
            else if (!strcmp(n, "--beta1")) merged.opt.beta1 = o.opt.beta1; else if (!strcmp(n, "--beta2")) merged.opt.beta2 = o.opt.beta2;
            else if (!strcmp(n, "--eps")) merged.opt.eps = o.opt.eps; else if (!strcmp(n, "--grad-clip")) merged.opt.grad_clip = o.opt.grad_clip;
            else if (!strcmp(n, "--accum")) merged.accum = o.accum; else if (!strcmp(n, "--no-shuffle")) merged.shuffle = 0;
            else if (!strcmp(n, "--bf16")) merged.bf16 = 1;
        }
        /* what differs from the state file: said, and refused where it breaks the bit-exact
           continuation unless --allow-changes (--steps only moves the end of a constant schedule) */
        const inh_train_opts *so = &t.o;
        int nbreak = 0;
#define RESUME_DIFF(cond, breaks, ...) do { if (cond) { fprintf(stderr, "resume: " __VA_ARGS__); nbreak += (breaks); } } while (0)
        RESUME_DIFF(merged.B != so->B, 1, "--batch %d, the state file's run used %d\n", merged.B, so->B);
        RESUME_DIFF(merged.T != so->T, 1, "--seq %d, the state file's run used %d\n", merged.T, so->T);
        RESUME_DIFF(merged.accum != so->accum, 1, "--accum %d, the state file's run used %d\n", merged.accum, so->accum);
        RESUME_DIFF(merged.steps != so->steps, merged.schedule != INH_SCHEDULE_CONSTANT,
                    "--steps %d, the state file's run planned %d%s\n", merged.steps, so->steps,
                    merged.schedule != INH_SCHEDULE_CONSTANT ? " (the cosine schedule changes with it)" : "");
        RESUME_DIFF(merged.lr != so->lr, 1, "--lr %g, the state file's run used %g\n", merged.lr, so->lr);
        RESUME_DIFF(merged.min_lr != so->min_lr, 1, "--min-lr %g, the state file's run used %g\n", merged.min_lr, so->min_lr);
        RESUME_DIFF(merged.warmup != so->warmup, 1, "--warmup %d, the state file's run used %d\n", merged.warmup, so->warmup);
        RESUME_DIFF(merged.schedule != so->schedule, 1, "--schedule differs from the state file's run\n");
        RESUME_DIFF(merged.opt.weight_decay != so->opt.weight_decay, 1, "--weight-decay %g, the state file's run used %g\n", merged.opt.weight_decay, so->opt.weight_decay);
        RESUME_DIFF(merged.opt.decay_all != so->opt.decay_all, 1, "--decay-all differs from the state file's run\n");
        RESUME_DIFF(merged.opt.beta1 != so->opt.beta1, 1, "--beta1 %g, the state file's run used %g\n", merged.opt.beta1, so->opt.beta1);
        RESUME_DIFF(merged.opt.beta2 != so->opt.beta2, 1, "--beta2 %g, the state file's run used %g\n", merged.opt.beta2, so->opt.beta2);
        RESUME_DIFF(merged.opt.eps != so->opt.eps, 1, "--eps %g, the state file's run used %g\n", merged.opt.eps, so->opt.eps);
        RESUME_DIFF(merged.opt.grad_clip != so->opt.grad_clip, 1, "--grad-clip %g, the state file's run used %g\n", merged.opt.grad_clip, so->opt.grad_clip);
        RESUME_DIFF(merged.shuffle != so->shuffle, 1, "--no-shuffle differs from the state file's run\n");
        RESUME_DIFF(merged.bf16 != so->bf16, 1, "--bf16 differs from the state file's run\n");
        if (inh_state_check_data(&si, &train, 0)) {   /* every shard */
            fprintf(stderr, "resume: --data %s is not the data of the state file's run: %s\n", data, inh_error());
            nbreak++;
        }
        else RESUME_DIFF(si.train_n && (train.n != si.train_n || train.hash != si.train_hash), 1,
                    "--data %s (%zu tokens) is not the data of the state file's run (%s, %u tokens)\n", data, train.n,
                    *si.train_path ? si.train_path : "?", si.train_n);
#undef RESUME_DIFF
        if (t.step > merged.steps) {
            fprintf(stderr, "error: %s is at step %d, past --steps %d: nothing to do (give --steps above %d to train on)\n", resume, t.step, merged.steps, t.step);
            inh_trainer_free(&t); inh_data_close(&train); inh_model_free(&m);
            return 1;
        }
        if (nbreak && !allow_changes) {
            fprintf(stderr, "error: %s: resuming with %d change%s that break%s the exact continuation of the run; drop %s, or pass "
                    "--allow-changes to continue anyway\n", resume, nbreak, nbreak > 1 ? "s" : "", nbreak > 1 ? "" : "s", nbreak > 1 ? "them" : "it");
            inh_trainer_free(&t); inh_data_close(&train); inh_model_free(&m);
            return 1;
        }
        if (t.step == merged.steps) printf("nothing to do: %s is already at step %d = --steps (give a larger --steps to train on)\n", resume, t.step);
        o = merged;
        inh_trainer_free(&t);
        if (inh_data_check(&train, m.cfg.V) || inh_trainer_init(&t, &m, &train, &o)) {
            inh_data_close(&train); inh_model_free(&m); return lib_fail();
        }
        t.step = step; train.rng = rng; train.pos = pos; train.cur = cur;
        printf("resumed %s at step %d\n", resume, step);
    } else {
        /* the data first: a missing file is reported before a large model is allocated */
        if (inh_data_open(&train, data, 0)) return lib_fail();
        if (init) {
            if (inh_model_load_any(&m, init)) { inh_data_close(&train); return lib_fail(); }
            if (sc_variant) {   /* a plain model gains fresh shortcuts; a shortcut model switches variant (or layers) */
                inh_model w;
                int bad = inh_model_with_shortcuts(&w, &m, sc_variant, sc_layers, o.seed);
                inh_model_free(&m);
                if (bad) { inh_data_close(&train); return lib_fail(); }
                m = w;
            }
        } else {
            inh_config c;
            if (!V) {   /* prepare and synth end every document with end-of-text, the largest id */
                V = train.max_id + 1;
                printf("vocabulary V=%d: the largest id in %s plus one (--vocab sets it)\n", V, data);
            }
            inh_config_default(&c, maxT, V, L, NH, C);
            c.bias = !no_bias; c.layer_scale = layer_scale;
            if (inh_config_set_shortcuts(&c, sc_variant, sc_layers) || inh_model_init(&m, &c, o.seed)) { inh_data_close(&train); return lib_fail(); }
        }
        if (inh_data_check(&train, m.cfg.V)) { inh_data_close(&train); inh_model_free(&m); return lib_fail(); }
        if (inh_trainer_init(&t, &m, &train, &o)) { inh_data_close(&train); inh_model_free(&m); return lib_fail(); }
    }
    int rc = 0;
    t.out_path = out; t.log_path = log_path;   /* recorded in the state file: a resume writes them */
    m.threads = threads;
    warn_shards(&train, o.B, o.T, o.shuffle);
    if (place_model(&m, device)) { rc = 1; goto done; }
    if (val && inh_data_open(&valid, val, m.cfg.V)) { rc = lib_fail(); goto done; }
    if (val && valid.n < (size_t)o.B * o.T + 1) {
        fprintf(stderr, "error: %s: %zu tokens cannot fill one validation batch of B=%d x T=%d (+1)\n", val, valid.n, o.B, o.T);
        rc = 1; goto done;
    }
    t.val = val ? &valid : NULL;
    size_t eval_windows = (size_t)eval_batches * o.B;   /* never more than the file holds: no silent wrap-around */
    if (val && eval_windows > inh_data_windows(&valid, o.T)) {
        eval_windows = inh_data_windows(&valid, o.T);
        fprintf(stderr, "note: --eval-batches %d x B=%d windows is more than %s holds: validation uses all its %zu windows of T=%d once\n",
                eval_batches, o.B, val, eval_windows, o.T);
    }
    warn_vocab(&train, m.cfg.V);
    if (tokdir) {
        if (inh_tokenizer_load(&tok, tokdir)) { rc = lib_fail(); goto done; }
        if (inh_tokenizer_vocab_size(tok) != m.cfg.V) {
            fprintf(stderr, "error: tokenizer %s has %d tokens but the model has V=%d\n", tokdir, inh_tokenizer_vocab_size(tok), m.cfg.V);
            rc = 1; goto done;
        }
    }
    if (log_path) {   /* a resumed run appends to its log */
        int jsonl = strlen(log_path) > 6 && !strcmp(log_path + strlen(log_path) - 6, ".jsonl");
        logf = inh_fopen(log_path, resume ? "a" : "w");
        if (!logf) { fprintf(stderr, "error: %s: cannot create: %s\n", log_path, strerror(errno)); rc = 1; goto done; }
        log_json = jsonl;
        fseek(logf, 0, SEEK_END);
        if (!jsonl && ftell(logf) == 0) fprintf(logf, "step,loss,lr,grad_norm,tokens_per_s,val_loss\n");
    }
    if (o.T > m.cfg.maxT) { fprintf(stderr, "error: --seq %d is above the model's maxT %d\n", o.T, m.cfg.maxT); rc = 1; goto done; }
    char scd[256];
    shortcut_desc(&m.cfg, scd, sizeof scd);
    printf("model: L=%d NH=%d C=%d maxT=%d V=%d%s%s%s, %zu parameters; data %s: %zu tokens; B=%d T=%d accum=%d, %d threads%s\n",
           m.cfg.L, m.cfg.NH, m.cfg.C, m.cfg.maxT, m.cfg.V, m.cfg.bias ? "" : " no-bias", m.cfg.layer_scale ? " layer-scale" : "", scd,
           m.num_params, data, train.n, o.B, o.T, o.accum, threads, o.bf16 ? ", bf16 matmuls" : "");
    int first_step = t.step, bad_steps = 0;
    inh_catch_interrupt(&interrupted);
    size_t tok_per_step = (size_t)o.B * o.T * o.accum;
    while (t.step < o.steps) {
        inh_step_info info;
        if (inh_trainer_step(&t, &info)) { rc = lib_fail(); goto done; }
        /* time left: the mean of the last (up to) 20 steps, leaving out this process's first step
           (allocation, thread start), plus the evaluations still to come at the last one's cost */
        int done_n = t.step - first_step;
        recent[done_n % 20] = info.seconds;
        char eta[32] = "?";
        if (done_n >= 2 || t.step == o.steps) {
            int k = done_n - 1 < 20 ? done_n - 1 : 20;
            double sum = 0;
            for (int i = 0; i < k; i++) sum += recent[(done_n - i + 20) % 20];
            double per = k ? sum / k : info.seconds;
            int evals_left = val ? (eval_every ? (o.steps - t.step) / eval_every : 0) + (t.step < o.steps) : 0;
            fmt_time(per * (o.steps - t.step) + eval_s * evals_left, eta, sizeof eta);
        }
        if (t.step % print_every == 0 || t.step == o.steps || interrupted || info.skipped)
            printf("step %d loss %.6f lr %.3e norm %.4f ms %.1f tok/s %.0f left %s%s\n", info.step + 1, info.loss, info.lr, info.grad_norm,
                   info.seconds * 1e3, tok_per_step / info.seconds, eta, info.skipped ? " (skipped: loss or gradient not finite)" : "");
        if (ncurve == cap) {
            cap = cap ? 2 * cap : 1024;
            int *ns = (int *)realloc(cstep, sizeof(int) * (size_t)cap);
            float *nl = (float *)realloc(closs, sizeof(float) * (size_t)cap);
            if (ns) cstep = ns;
            if (nl) closs = nl;
            if (!ns || !nl) { rc = fail("%s", "out of memory"); goto done; }
        }
        cstep[ncurve] = t.step; closs[ncurve++] = info.loss;
        bad_steps = info.skipped ? bad_steps + 1 : 0;
        if (bad_steps >= 5 || (bad_steps && t.step == o.steps)) {   /* a diverged model is not saved, and the run fails */
            fprintf(stderr, "error: the loss was not finite in the last %d step%s (the model diverged; try a lower --lr than %g); "
                    "stopping without saving\n", bad_steps, bad_steps > 1 ? "s" : "", o.lr);
            rc = 1; goto done;
        }
        int last = t.step == o.steps || interrupted;
        float vl = NAN;
        if (val && ((eval_every && t.step % eval_every == 0) || last)) {
            double e0 = inh_now();
            if (inh_eval_windows(&m, &valid, o.B, o.T, eval_windows, &vl, NULL)) { rc = lib_fail(); goto done; }
            eval_s = inh_now() - e0;
            printf("step %d val_loss %.6f\n", t.step, vl);
            if (nvcurve == vcap) {
                vcap = vcap ? 2 * vcap : 64;
                int *ns = (int *)realloc(vstep, sizeof(int) * (size_t)vcap);
                float *nl = (float *)realloc(vloss, sizeof(float) * (size_t)vcap);
                if (ns) vstep = ns;
                if (nl) vloss = nl;
                if (!ns || !nl) { rc = fail("%s", "out of memory"); goto done; }
            }
            vstep[nvcurve] = t.step; vloss[nvcurve++] = vl;
        }
        if (logf) {
            double tps = tok_per_step / info.seconds;
            if (log_json) {
                fprintf(logf, "{\"step\": %d, \"loss\": %.6f, \"lr\": %.6g, \"grad_norm\": %.6f, \"tokens_per_s\": %.0f", t.step,
                        info.loss, info.lr, info.grad_norm, tps);
                if (vl == vl) fprintf(logf, ", \"val_loss\": %.6f", vl);
                fprintf(logf, "}\n");
            } else {
                fprintf(logf, "%d,%.6f,%.6g,%.6f,%.0f,", t.step, info.loss, info.lr, info.grad_norm, tps);
                if (vl == vl) fprintf(logf, "%.6f", vl);
                fprintf(logf, "\n");
            }
            fflush(logf);
        }
        if (sample_every && (t.step % sample_every == 0 || last)) {   /* its own seed: the training is unchanged */
            inh_rng srng;
            int *gen = (int *)malloc(sizeof(int) * ((size_t)sample_tokens + 1)), start = inh_tokenizer_eot(tok), ng = 0;
            inh_rng_seed(&srng, (uint64_t)t.step);
            unsigned char *text = NULL;
            size_t len = 0;
            if (!gen || start < 0 || inh_model_generate_stream(&m, &start, 1, sample_tokens, 1.0f, 0, &srng, gen, &ng, NULL, NULL) ||
                (ng = cut_at(gen + 1, ng, start), inh_tokenizer_decode(tok, gen + 1, (size_t)ng, &text, &len))) { free(gen); rc = lib_fail(); goto done; }
            text_out to;
            memset(&to, 0, sizeof to);
            printf("step %d sample: ", t.step);
            for (size_t i = 0; i < len; i++) if (text[i] == '\n') text[i] = ' ';   /* one line */
            text_put(&to, text, len);
            text_flush(&to);
            printf("\n");
            inh_tokenizer_free_bytes(text);
            free(gen);
        }
        if ((save_every && t.step % save_every == 0) || last) {
            if (out && inh_model_save(&m, out)) { rc = lib_fail(); goto done; }
            if (state && inh_trainer_save_state(&t, state)) { rc = lib_fail(); goto done; }
            if (out && write_loss_svg(out, data, cstep, closs, ncurve, vstep, vloss, nvcurve)) { rc = lib_fail(); goto done; }
        }
        fflush(stdout);
        if (interrupted) {
            fprintf(stderr, "interrupted: stopped after step %d%s%s%s%s\n", t.step, out ? ", model saved to " : "", out ? out : "",
                    state ? ", state saved to " : " (no --state: this run cannot be resumed)", state ? state : "");
            rc = 130;
            goto done;
        }
    }
    if (o.steps == t.step && first_step == t.step) {   /* nothing to do: still write what was asked */
        if (out && inh_model_save(&m, out)) { rc = lib_fail(); goto done; }
        if (state && inh_trainer_save_state(&t, state)) { rc = lib_fail(); goto done; }
    }
    if (out) printf("saved %s\n", out);
done:
    if (logf && fclose(logf) != 0 && !rc) rc = fail("%s: write failed", log_path);
    if (tok) inh_tokenizer_free(tok);
    free(cstep); free(closs); free(vstep); free(vloss);
    inh_trainer_free(&t);
    inh_data_close(&train);
    inh_data_close(&valid);
    inh_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   eval */

static int cmd_eval(int argc, char **argv) {
    const char *device = "cpu";
    const char *model = NULL, *data = NULL, *drop = NULL, *shortcuts = NULL;
    int B = 4, T = 64, nb = 0, threads = 0, drop_sc = 0;
    flag f[] = {
        {"--drop-attn", F_STR, &drop, "skip self-attention in layers: 9,10,11 | last:K | auto:K[:METRIC]", 0},
        {"--shortcuts", F_STR, &shortcuts, "evaluate a shortcut model with this variant: causal | depth", 0},
        {"--drop-shortcut", F_BOOL, &drop_sc, "skip the shortcut sub-layer (the plain GPT-2 inside)", 0},
        {"--model", F_STR, &model, "model: llm.c .bin, or HF model.safetensors (+ config.json) or its directory", 0},
        {"--data", F_STR, &data, "token shard(s): a file, a glob 'dir/*_val_*.bin' or a comma list", 0},
        {"--batch", F_INT, &B, "batch size (default 4)", 0},
        {"--seq", F_INT, &T, "sequence length (default 64)", 0},
        {"--batches", F_INT, &nb, "only the first N batches of B consecutive windows (default: every whole window of the file once)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL.bin --data FILE.bin [--batch B --seq T --batches N]\n\n"
                        "Prints the mean next-token loss over consecutive windows of T tokens from token 0 (every whole\n"
                        "window of the file once, or the first N x B), the number of tokens it is over, and the perplexity.", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (!model || !data) return fail("%s", "eval needs --model and --data");
    if (B <= 0 || T <= 0 || nb < 0) return fail("%s", "--batch, --seq and --batches must be positive");
    inh_model m;
    inh_data d;
    if (inh_model_load_any(&m, model)) return lib_fail();
    m.threads = threads;
    if (apply_shortcut_flags(&m, shortcuts, drop_sc, model)) { inh_model_free(&m); return 1; }
    if (drop && apply_drop_attn(&m, drop, data, threads)) { inh_model_free(&m); return 1; }
    if (place_model(&m, device)) { inh_model_free(&m); return 1; }
    if (inh_data_open(&d, data, m.cfg.V)) { inh_model_free(&m); return lib_fail(); }
    int rc = 0;
    float loss;
    size_t windows = (size_t)nb * B, have = inh_data_windows(&d, T), ntok = 0;
    warn_vocab(&d, m.cfg.V);
    if (windows > have && have >= (size_t)B) {   /* never wrap around and read windows twice */
        fprintf(stderr, "note: --batches %d x B=%d windows is more than %s holds: evaluating all its %zu windows of T=%d once\n", nb, B, data, have, T);
        windows = have;
    }
    if (T > m.cfg.maxT) { fprintf(stderr, "error: --seq %d is above the model's maxT %d (%s)\n", T, m.cfg.maxT, model); rc = 1; }
    else if (d.n < (size_t)B * T + 1) { fprintf(stderr, "error: %s: %zu tokens cannot fill a batch of B=%d x T=%d (+1)\n", data, d.n, B, T); rc = 1; }
    else if (inh_eval_windows(&m, &d, B, T, windows, &loss, &ntok)) rc = lib_fail();
    else printf("loss %.6f over %zu tokens (%zu windows of T=%d), perplexity %.4g\n", loss, ntok, ntok / (size_t)T, T, exp((double)loss));
    inh_data_close(&d);
    inh_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   sample */

/* sample: each token is printed as it is generated (text through the tokenizer, or ids) */
typedef struct { const inh_tokenizer *tok; int eot, stop_at_eot, failed, stopped, n; text_out *to; } stream_ctx;
static int stream_token(void *user, int id) {
    stream_ctx *s = (stream_ctx *)user;
    if (s->tok) {
        unsigned char *text;
        size_t len;
        if (s->stop_at_eot && id == s->eot) { s->stopped = 1; return 1; }   /* the sample ends with its document */
        if (inh_tokenizer_decode(s->tok, &id, 1, &text, &len)) { s->failed = 1; return 1; }
        text_put(s->to, text, len);   /* a character split over two tokens is completed by the next */
        inh_tokenizer_free_bytes(text);
    } else {
        printf(" %d", id);
    }
    s->n++;
    fflush(stdout);
    return 0;
}

static int cmd_sample(int argc, char **argv) {
    const char *device = "cpu";
    const char *model = NULL, *prompt_ids = NULL, *tokdir = NULL, *prompt = NULL, *drop = NULL, *data = NULL, *shortcuts = NULL;
    int n = 64, top_k = 0, threads = 0, nsamples = 1, ignore_eot = 0, drop_sc = 0, raw = 0;
    float temperature = 1.0f, top_p = 1.0f;
    uint64_t seed = 1337;
    flag f[] = {
        {"--model", F_STR, &model, "model: llm.c .bin, or HF model.safetensors (+ config.json) or its directory", 0},
        {"--prompt-ids", F_STR, &prompt_ids, "prompt token ids, comma separated (default: the end-of-text id, V-1)", 0},
        {"--tokenizer", F_STR, &tokdir, "GPT-2 tokenizer directory or 'bytes': --prompt is text and the output is text", 0},
        {"--prompt", F_STR, &prompt, "prompt text (needs --tokenizer)", 0},
        {"--tokens", F_INT, &n, "tokens to generate (default 64)", 0},
        {"--temperature", F_FLOAT, &temperature, "sampling temperature; 0 = greedy (default 1)", 0},
        {"--top-k", F_INT, &top_k, "sample among the k most likely tokens (default 0 = all)", 0},
        {"--top-p", F_FLOAT, &top_p, "nucleus: sample among the most likely tokens that make up P of the probability, 0 < P <= 1 (default 1 = all)", 0},
        {"--seed", F_U64, &seed, "sampling seed (default 1337)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--drop-attn", F_STR, &drop, "skip self-attention in layers: 9,10,11 | last:K | auto:K[:METRIC] (auto needs --data)", 0},
        {"--data", F_STR, &data, "token shard that --drop-attn auto:K ranks the layers on", 0},
        {"--num-samples", F_INT, &nsamples, "samples, each from the prompt, separated by a line '---' (default 1)", 0},
        {"--ignore-eot", F_BOOL, &ignore_eot, "with --tokenizer: go on past <|endoftext|> (default: a sample ends there)", 0},
        {"--shortcuts", F_STR, &shortcuts, "sample from a shortcut model with this variant: causal | depth", 0},
        {"--drop-shortcut", F_BOOL, &drop_sc, "skip the shortcut sub-layer (the plain GPT-2 inside)", 0},
        {"--raw", F_BOOL, &raw, "with --tokenizer: write the decoded bytes as they are (default: control bytes and non-UTF-8 as \\xNN)", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL [--prompt-ids 1,2,3 | --tokenizer DIR --prompt TEXT] --tokens N [--temperature X] [--top-k K] [--top-p P] [--seed N]\n\n"
                        "Text is printed as it is generated. Past the model's context length maxT the window slides (the\n"
                        "model sees the last maxT/2 to maxT tokens).", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (!model) return fail("%s", "sample needs --model");
    if (prompt && !tokdir) return fail("%s", "--prompt needs --tokenizer (or give --prompt-ids)");
    if (prompt && prompt_ids) return fail("%s", "give --prompt or --prompt-ids, not both");
    if (n < 0 || n > 1000000) { fprintf(stderr, "error: --tokens %d: give 0 to 1000000 tokens to generate\n", n); return 1; }
    if (top_k < 0 || temperature < 0) return fail("%s", "--top-k and --temperature must be >= 0");
    if (!(top_p > 0.0f && top_p <= 1.0f)) { fprintf(stderr, "error: --top-p %g: give 0 < P <= 1 (1: every token)\n", (double)top_p); return 1; }
    inh_sampling smp = {temperature, top_k, top_p};
    if (nsamples < 1 || nsamples > 10000) { fprintf(stderr, "error: --num-samples %d: give 1 to 10000\n", nsamples); return 1; }
    inh_model m;
    inh_tokenizer *tok = NULL;
    int *ids = NULL, *pids = NULL, np = 1, rc = 0;
    size_t npz = 0;
    if (inh_model_load_any(&m, model)) return lib_fail();
    m.threads = threads;
    if (apply_shortcut_flags(&m, shortcuts, drop_sc, model)) { inh_model_free(&m); return 1; }
    if (drop && apply_drop_attn(&m, drop, data, threads)) { inh_model_free(&m); return 1; }
    if (place_model(&m, device)) { inh_model_free(&m); return 1; }
    if (tokdir && inh_tokenizer_load(&tok, tokdir)) { inh_model_free(&m); return lib_fail(); }
    if (tok && inh_tokenizer_vocab_size(tok) != m.cfg.V) {   /* checked before generating: ids past the tokenizer cannot be decoded */
        fprintf(stderr, "error: tokenizer %s has %d tokens but model %s has V=%d: give the tokenizer the model was trained with\n",
                tokdir, inh_tokenizer_vocab_size(tok), model, m.cfg.V);
        rc = 1; goto done;
    }
    if (prompt) {
        if (inh_tokenizer_encode(tok, (const unsigned char *)prompt, strlen(prompt), 0, &pids, &npz)) { rc = lib_fail(); goto done; }
        np = (int)npz;
    }
    ids = (int *)malloc(sizeof(int) * ((size_t)(np > 4096 ? np : 4096) + n + 1));
    if (!ids) { rc = fail("%s", "out of memory"); goto done; }
    ids[0] = tok && inh_tokenizer_eot(tok) >= 0 ? inh_tokenizer_eot(tok) : m.cfg.V - 1;   /* start from end-of-text */
    if (prompt && np > 0) memcpy(ids, pids, sizeof(int) * (size_t)np);
    if (prompt && np == 0) np = 1;
    if (prompt_ids && (np = parse_ids(prompt_ids, ids, 4096)) < 1) { rc = fail("--prompt-ids: cannot parse '%s' (comma-separated ids)", prompt_ids); goto done; }
    for (int i = 0; i < np; i++)   /* everything is checked before the first byte of output */
        if (ids[i] >= m.cfg.V) {
            fprintf(stderr, "error: --prompt-ids: id %d is outside the vocabulary of %s (V=%d: ids 0..%d)\n", ids[i], model, m.cfg.V, m.cfg.V - 1);
            rc = 1; goto done;
        }
    inh_rng rng;
    inh_rng_seed(&rng, seed);
    int *gen = (int *)malloc(sizeof(int) * ((size_t)np + n + 1));
    unsigned char *ptext = NULL;   /* the prompt as text; the default start (end-of-text alone) prints nothing */
    size_t plen = 0;
    if (!gen) { rc = fail("%s", "out of memory"); goto done; }
    if (tok && (prompt || prompt_ids) && inh_tokenizer_decode(tok, ids, (size_t)np, &ptext, &plen)) { free(gen); rc = lib_fail(); goto done; }
    text_out to;
    memset(&to, 0, sizeof to);
    to.raw = raw;
    stream_ctx sc = {tok, tok ? inh_tokenizer_eot(tok) : -1, !ignore_eot, 0, 0, 0, &to};
    for (int k = 0; k < nsamples && !rc; k++) {
        if (k) printf("---\n");
        if (tok) text_put(&to, ptext, plen);
        else for (int i = 0; i < np; i++) printf(i ? " %d" : "%d", ids[i]);
        fflush(stdout);
        sc.stopped = sc.n = 0;
        if (inh_model_generate_with(&m, ids, np, n, &smp, &rng, gen, NULL, stream_token, &sc)) rc = lib_fail();
        else if (sc.failed) rc = lib_fail();
        text_flush(&to);
        printf("\n");
        fflush(stdout);
        if (!rc && sc.stopped && sc.n < n)   /* said, so that a short sample is not taken for a fault */
            fprintf(stderr, "note: stopped at <|endoftext|> after %d of %d tokens%s (--ignore-eot goes on)\n", sc.n, n,
                    nsamples > 1 ? " in this sample" : "");
    }
    if (ptext) inh_tokenizer_free_bytes(ptext);
    free(gen);
done:
    free(ids);
    if (pids) inh_tokenizer_free_ids(pids);
    if (tok) inh_tokenizer_free(tok);
    inh_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   inherit, recipe: the Inheritune workflow */

static int cmd_inherit(int argc, char **argv) {
    const char *ref = NULL, *out = NULL, *mode = "paper", *shortcuts = NULL, *sc_layers = NULL;
    int layers = 0;
    uint64_t seed = 1337;
    flag f[] = {
        {"--ref", F_STR, &ref, "reference model (llm.c .bin or HF safetensors)", 0},
        {"--shortcuts", F_STR, &shortcuts, "give the new model attention shortcuts: causal | depth (fresh ones on a plain reference)", 0},
        {"--shortcut-layers", F_STR, &sc_layers, "their layers, e.g. 1,3 (default: the reference's, or 0..l-2)", 0},
        {"--layers", F_INT, &layers, "layers of the new model (the first l blocks of the reference)", 0},
        {"--out", F_STR, &out, "where to write the new model (llm.c .bin)", 0},
        {"--mode", F_STR, &mode, "paper: embeddings, blocks, final LayerNorm, head (default); repo: fresh wpe and final LayerNorm", 0},
        {"--seed", F_U64, &seed, "seed for what is freshly initialised (default 1337)", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--ref REF.bin --layers l --out SMALL.bin [--mode paper|repo]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (!ref || !out || !given(f, NF(f), "--layers")) return fail("%s", "inherit needs --ref, --layers and --out");
    if (layers < 1) { fprintf(stderr, "error: --layers %d: the new model keeps the reference's first l blocks, 1 <= l <= its L\n", layers); return 1; }
    CHECK_OUTPUTS(out);
    if (check_kind(out, INH_FILE_MODEL)) return 1;
    int m_ = !strcmp(mode, "paper") ? INH_INHERIT_PAPER : !strcmp(mode, "repo") ? INH_INHERIT_REPO : -1;
    if (m_ < 0) return fail("--mode must be paper or repo, got '%s'", mode);
    int sc_variant = 0;
    if (shortcuts && (sc_variant = inh_sc_variant(shortcuts)) < 0) return fail("--shortcuts must be causal or depth, got '%s'", shortcuts);
    if (sc_layers && !shortcuts) return fail("%s", "--shortcut-layers needs --shortcuts causal|depth");
    inh_model a, b;
    if (inh_model_load_any(&a, ref)) return lib_fail();
    if (inh_inherit(&b, &a, layers, m_, seed)) {
        fprintf(stderr, "error: %s: %s\n", ref, inh_error());
        inh_model_free(&a);
        return 1;
    }
    if (sc_variant) {
        inh_model w;
        if (inh_model_with_shortcuts(&w, &b, sc_variant, sc_layers, seed)) {
            fprintf(stderr, "error: --shortcuts: %s\n", inh_error());
            inh_model_free(&a); inh_model_free(&b);
            return 1;
        }
        inh_model_free(&b);
        b = w;
    }
    int rc = inh_model_save(&b, out) ? lib_fail() : 0;
    char scd[256];
    shortcut_desc(&b.cfg, scd, sizeof scd);
    if (!rc) printf("wrote %s: %d of %d layers (%s mode)%s, %zu parameters\n", out, layers, a.cfg.L, mode, scd, b.num_params);
    inh_model_free(&a); inh_model_free(&b);
    return rc;
}

static int recipe_progress(void *user, const inh_recipe_progress *p) {
    char run_left[32], total_left[32];
    (void)user;
    fmt_time(p->run_left_s, run_left, sizeof run_left);
    fmt_time(p->total_left_s, total_left, sizeof total_left);
    if (!isnan(p->val_loss)) printf("[%s] step %d val_loss %.6f\n", p->run, p->step, p->val_loss);
    printf("[%s] step %d/%d loss %.6f tok/s %.0f left %s (round), %s (overall, estimate)\n", p->run, p->step, p->steps, p->loss,
           p->tok_per_s, run_left, total_left);
    fflush(stdout);
    return interrupted;   /* Ctrl-C: the recipe saves its state and stops */
}

/* --trainer CMD: each run is `sh -c "CMD <flags>"` (flags as `train` takes them, paths quoted), its
   output passed through with the run's name in front; its "step N val_loss X" lines become the
   run's validation curve. Ctrl-C reaches the trainer too (same process group): it saves its state,
   and the next call of the same recipe resumes it with --resume. */
static void shell_quote(char *dst, size_t cap, const char *s) {
    size_t n = strlen(dst);
    if (n + 1 < cap) dst[n++] = '\'';
    for (; *s && n + 5 < cap; s++) {
        if (*s == '\'') { memcpy(dst + n, "'\\''", 4); n += 4; } else dst[n++] = *s;
    }
    if (n + 1 < cap) dst[n++] = '\'';
    dst[n < cap ? n : cap - 1] = 0;
}
INH__PRINTF(3, 4)
static void appendf(char *dst, size_t cap, const char *fmt, ...) {
    size_t n = strlen(dst);
    va_list ap;
    va_start(ap, fmt);
    if (n < cap) vsnprintf(dst + n, cap - n, fmt, ap);
    va_end(ap);
}
static int recipe_trainer(void *user, inh_recipe_job *j) {
    const char *cmd = (const char *)user;
    const inh_train_opts *o = &j->train;
    static char line[16384], c[16384];
    const char *paths[5][2] = {{"--data", j->train_path}, {"--val", j->val_path}, {"--out", j->out_path},
                               {"--state", j->state_path}, {j->resume_path ? "--resume" : "--init", j->resume_path ? j->resume_path : j->init_path}};
    snprintf(c, sizeof c, "%s", cmd);
    for (int i = 0; i < 5; i++) { appendf(c, sizeof c, " %s ", paths[i][0]); shell_quote(c, sizeof c, paths[i][1]); }
    appendf(c, sizeof c, " --steps %d --batch %d --seq %d --accum %d --lr %.9g --min-lr %.9g --warmup %d --schedule %s", o->steps, o->B,
            o->T, o->accum, o->lr, o->min_lr, o->warmup, o->schedule == INH_SCHEDULE_CONSTANT ? "constant" : "cosine");
    appendf(c, sizeof c, " --weight-decay %.9g --beta1 %.9g --beta2 %.9g --eps %.9g --grad-clip %.9g --seed %llu", o->opt.weight_decay,
            o->opt.beta1, o->opt.beta2, o->opt.eps, o->opt.grad_clip, (unsigned long long)o->seed);
    appendf(c, sizeof c, " --eval-every %d --eval-batches %d --save-every %d%s%s%s", j->eval_every, j->eval_batches, j->save_every,
            o->opt.decay_all ? " --decay-all" : "", o->shuffle ? "" : " --no-shuffle", o->bf16 ? " --bf16" : "");
    if (strlen(c) + 1 >= sizeof c) { snprintf(j->message, sizeof j->message, "the trainer's command line is too long"); return 1; }
    if (interrupted) { snprintf(j->message, sizeof j->message, "stopped (interrupted)"); return 1; }   /* Ctrl-C between runs */
    printf("[%s] %s %s\n", j->run, j->resume_path ? "resuming:" : "running:", c);
    fflush(stdout);
    inh_command *p = inh_command_start(c);
    if (!p) { snprintf(j->message, sizeof j->message, "cannot run the trainer: %.220s", inh_error()); return 1; }
    for (;;) {   /* (a Ctrl-C keeps reading until the trainer has saved) */
        int step; float vl;
        if (!inh_command_line(p, line, (int)sizeof line)) break;
        printf("[%s] %s", j->run, line);
        if (!strchr(line, '\n')) printf("\n");
        fflush(stdout);
        if (sscanf(line, "step %d val_loss %f", &step, &vl) == 2) {   /* a re-run after resuming replaces later points */
            while (j->n_curve > 0 && j->curve_step[j->n_curve - 1] >= step) j->n_curve--;
            if (j->n_curve < 256) { j->curve_step[j->n_curve] = step; j->curve_loss[j->n_curve++] = vl; }
        }
    }
    int st = inh_command_finish(p);
    if (st == 0) return 0;
    if (interrupted) snprintf(j->message, sizeof j->message, "stopped (interrupted)");
    else if (st > 0) snprintf(j->message, sizeof j->message, "the trainer '%s' failed (exit status %d)", cmd, st);
    else snprintf(j->message, sizeof j->message, "the trainer '%s' %.100s", cmd, inh_error());
    return 1;
}

static int cmd_recipe(int argc, char **argv) {
    const char *device = "cpu";
    const char *start = "half", *sched = "cosine", *mode = "paper", *baselines = "random", *trainer = NULL, *shortcuts = NULL;
    int threads = 0, decay_all = 0, no_shuffle = 0;
    inh_recipe_opts o;
    inh_recipe_opts_default(&o);
    o.train.warmup = 0;
    flag f[] = {
        {"--ref", F_STR, &o.ref_path, "reference model L layers (llm.c .bin or HF safetensors)", 0},
        {"--data", F_STR, &o.train_path, "training token shard(s): a file, a glob or a comma list", 0},
        {"--val", F_STR, &o.val_path, "validation token shard(s) (the stopping rule compares its loss)", 0},
        {"--out", F_STR, &o.out_dir, "output directory: models, state, recipe.log, recipe.json, report.html", 0},
        {"--start", F_STR, &start, "first depth l: a number, 'half' (L/2, default) or 'auto' (layers before the first lazy group)", 0},
        {"--grow", F_INT, &o.grow, "layers added per round (default 2)", 0},
        {"--mode", F_STR, &mode, "inherit mode: paper (default) or repo", 0},
        {"--baselines", F_STR, &baselines, "comma list of random,full,stack,distill or none (default random)", 0},
        {"--steps", F_INT, &o.train.steps, "training steps of every run (default 100)", 0},
        {"--batch", F_INT, &o.train.B, "batch size (default 4)", 0},
        {"--seq", F_INT, &o.train.T, "sequence length (default 64)", 0},
        {"--lr", F_FLOAT, &o.train.lr, "peak learning rate (default 3e-4)", 0},
        {"--min-lr", F_FLOAT, &o.train.min_lr, "final learning rate (default 0)", 0},
        {"--warmup", F_INT, &o.train.warmup, "warm-up steps (default 0)", 0},
        {"--schedule", F_STR, &sched, "constant | cosine (default cosine)", 0},
        {"--weight-decay", F_FLOAT, &o.train.opt.weight_decay, "AdamW weight decay (default 0.1)", 0},
        {"--bf16", F_BOOL, &o.train.bf16, "bf16 mixed-precision matmuls in every run", 0},
        {"--decay-all", F_BOOL, &decay_all, "decay every parameter", 0},
        {"--beta1", F_FLOAT, &o.train.opt.beta1, "AdamW beta1 (default 0.9)", 0},
        {"--beta2", F_FLOAT, &o.train.opt.beta2, "AdamW beta2 (default 0.95)", 0},
        {"--eps", F_FLOAT, &o.train.opt.eps, "AdamW epsilon (default 1e-8)", 0},
        {"--grad-clip", F_FLOAT, &o.train.opt.grad_clip, "gradient clipping (default 1; 0 = off)", 0},
        {"--accum", F_INT, &o.train.accum, "gradient accumulation (default 1)", 0},
        {"--seed", F_U64, &o.train.seed, "seed (default 1337)", 0},
        {"--no-shuffle", F_BOOL, &no_shuffle, "consecutive windows instead of random ones", 0},
        {"--eval-every", F_INT, &o.eval_every, "validation every N steps (default 50)", 0},
        {"--eval-batches", F_INT, &o.eval_batches, "validation batches (default 20)", 0},
        {"--save-every", F_INT, &o.save_every, "training state every N steps, to resume (default 50)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--trainer", F_STR, &trainer, "train every run with this command instead, e.g. \"torchrun --nproc_per_node 8 examples/torch/train.py\"", 0},
        {"--fresh", F_BOOL, &o.fresh, "start over: delete the runs an earlier recipe left in --out", 0},
        {"--shortcuts", F_STR, &shortcuts, "every run with attention shortcuts: causal | depth (on layers 0..l-2)", 0},
    };
    static const char synopsis[] =
        "--ref REF.bin --data TRAIN.bin --val VAL.bin --steps N --out DIR [--start l|half|auto] [--grow 2] [training flags]\n\n"
        "The Inheritune loop (arXiv 2404.08634, Algorithm 1). Round 1 builds a model from the reference's\n"
        "first l blocks (plus token and position embeddings, final LayerNorm and tied LM head) and trains it\n"
        "for --steps with a fresh optimizer and schedule. If its validation loss is above the reference's,\n"
        "the next round starts again from the reference's first l+grow blocks (growth), and so on until the\n"
        "loss is at or below the reference's, or l reaches L. Then the baselines train at the final depth\n"
        "with the same data and steps: random initialisation, the full reference trained on, stacking\n"
        "(half depth, half the steps, blocks duplicated, the rest of the steps), distillation (0.6 CE + 0.4 KL\n"
        "to the reference). Everything lands in --out; run the same command again to resume after an\n"
        "interruption (finished runs are kept, an unfinished one continues from its last saved state).\n"
        "--out/settings.txt records the settings and the identity of the reference and data: a command with\n"
        "other ones is refused (--fresh starts over). One recipe at a time per directory.\n\n"
        "--trainer CMD hands each run to `CMD --data --val --init NAME.init.bin (or --resume NAME.state)\n"
        "--state NAME.state --out NAME.bin --steps --batch ... --seed` (the flags of `train`), waits for it,\n"
        "and reads NAME.bin back; the recipe evaluates every model itself.";
    int r = parse_flags(argc, argv, f, NF(f), synopsis, NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    o.threads = threads;
#ifdef INH_WITH_CUDA
    if (!strcmp(device, "cuda")) { o.backend = inh_cuda_backend(); o.backend_ctx = cuda_ctx; }
#endif
    if (!o.ref_path || !o.train_path || !o.val_path || !o.out_dir) return fail("%s", "recipe needs --ref, --data, --val and --out");
    if (inh_check_output(o.out_dir, 1)) return lib_fail();
    if (o.train.lr < 0 || o.train.min_lr < 0) { fprintf(stderr, "error: --lr %g and --min-lr %g must not be negative\n", o.train.lr, o.train.min_lr); return 1; }
    if (!strcmp(start, "half")) o.start = 0;
    else if (!strcmp(start, "auto")) o.start = -1;
    else if ((o.start = atoi(start)) < 1) return fail("--start must be a positive number, half or auto; got '%s'", start);
    if (o.grow < 1) return fail("%s", "--grow must be at least 1 (a growth step of 0 never reaches the reference)");
    if (!strcmp(sched, "cosine")) o.train.schedule = INH_SCHEDULE_COSINE;
    else if (!strcmp(sched, "constant")) o.train.schedule = INH_SCHEDULE_CONSTANT;
    else return fail("--schedule must be constant or cosine, got '%s'", sched);
    o.mode = !strcmp(mode, "paper") ? INH_INHERIT_PAPER : !strcmp(mode, "repo") ? INH_INHERIT_REPO : -1;
    if (o.mode < 0) return fail("--mode must be paper or repo, got '%s'", mode);
    if (shortcuts && (o.shortcuts = inh_sc_variant(shortcuts)) < 0) return fail("--shortcuts must be causal or depth, got '%s'", shortcuts);
    o.train.opt.decay_all = decay_all;
    o.train.shuffle = !no_shuffle;
    o.baselines = 0;
    for (const char *p = baselines; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 6 && !strncmp(p, "random", 6)) o.baselines |= INH_BASELINE_RANDOM;
        else if (n == 4 && !strncmp(p, "full", 4)) o.baselines |= INH_BASELINE_FULL;
        else if (n == 5 && !strncmp(p, "stack", 5)) o.baselines |= INH_BASELINE_STACK;
        else if (n == 7 && !strncmp(p, "distill", 7)) o.baselines |= INH_BASELINE_DISTILL;
        else if (!(n == 4 && !strncmp(p, "none", 4))) return fail("--baselines: unknown entry in '%s' (random,full,stack,distill,none)", baselines);
        p += n + (p[n] == ',');
    }
    if (o.train.steps < 1 || o.train.B < 1 || o.train.T < 1 || o.eval_batches < 1 || o.eval_every < 0 || o.save_every < 0)
        return fail("%s", "--steps, --batch, --seq, --eval-batches must be positive");
    if (trainer) { o.trainer = recipe_trainer; o.trainer_user = (void *)trainer; }
    inh_data vd;   /* the same clamp as the library's: validation never reads a window twice */
    if (inh_data_open(&vd, o.val_path, 0) == 0) {
        size_t fit = inh_data_windows(&vd, o.train.T) / (size_t)o.train.B;
        if ((size_t)o.eval_batches > fit && fit > 0)
            fprintf(stderr, "note: --eval-batches %d is more than %s holds: validation uses its %zu whole batches of B=%d x T=%d\n",
                    o.eval_batches, o.val_path, fit, o.train.B, o.train.T);
        inh_data_close(&vd);
    }
    static inh_recipe_result res;   /* 100 KB: not on the stack (WASI's is 64 KB) */
    inh_catch_interrupt(&interrupted);
    if (inh_recipe_run(&o, recipe_progress, NULL, &res)) return interrupted ? (lib_fail(), 130) : lib_fail();
    char path[4200];
    int rc = 0;
    snprintf(path, sizeof path, "%s/recipe.json", o.out_dir);
    if (inh_recipe_write_json(&res, path)) rc = lib_fail();
    snprintf(path, sizeof path, "%s/curves.svg", o.out_dir);
    if (!rc && inh_recipe_write_svg(&res, path)) rc = lib_fail();
    snprintf(path, sizeof path, "%s/report.html", o.out_dir);
    if (!rc && inh_recipe_write_html(&res, path)) rc = lib_fail();
    printf("\nstart: %s\n%-14s %7s %12s %9s %7s %10s\n", res.start_rule, "run", "layers", "parameters", "val loss", "steps", "time (s)");
    printf("%-14s %7d %12zu %9.4f %7s %10s\n", "reference", res.ref_layers, res.ref_params, res.ref_val_loss, "-", "-");
    for (int i = 0; i < res.n_runs; i++)
        printf("%-14s %7d %12zu %9.4f %7d %10.1f\n", res.runs[i].name, res.runs[i].layers, res.runs[i].params, res.runs[i].val_loss,
               res.runs[i].steps, res.runs[i].seconds);
    for (int i = 0; i < res.n_runs; i++)
        if (res.runs[i].stacked_at)
            printf("%s: %d steps at half depth, stacked at step %d, then %d steps (its steps and time count both phases)\n", res.runs[i].name,
                   res.runs[i].stacked_at, res.runs[i].stacked_at, res.runs[i].steps - res.runs[i].stacked_at);
    printf("final depth %d of %d: %s\nreport: %s\n", res.final_layers, res.ref_layers,
           res.matched ? "matches the reference's validation loss" : "did not reach the reference's validation loss", path);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   tokenize, prepare: text to token ids and shards */
/* the whole of FILE, or stdin for NULL or "-"; *out is malloc'd */
static int tokcli_read_all(const char *path, unsigned char **out, size_t *len) {
    FILE *f = (!path || !strcmp(path, "-")) ? stdin : inh_fopen(path, "rb");
    if (!f) { fprintf(stderr, "error: %s: cannot open\n", path); return 1; }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = (unsigned char *)malloc(cap);
    while (b) {
        if (n == cap) {
            unsigned char *nb = (unsigned char *)realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb; cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = !b || ferror(f);
    if (f != stdin) fclose(f);
    if (err) { free(b); fprintf(stderr, "error: %s: %s\n", path ? path : "stdin", b ? "read error" : "out of memory"); return 1; }
    *out = b; *len = n;
    return 0;
}

/* print ids as decimal text, space separated, one line */
static int tokcli_print_ids(const int *ids, size_t n) {
    char buf[1 << 13];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > sizeof buf - 16) { fwrite(buf, 1, k, stdout); k = 0; }
        if (i) buf[k++] = ' ';
        char tmp[12];
        int t = 0;
        unsigned v = (unsigned)ids[i];
        do { tmp[t++] = (char)('0' + v % 10); v /= 10; } while (v);
        while (t) buf[k++] = tmp[--t];
    }
    buf[k++] = '\n';
    fwrite(buf, 1, k, stdout);
    return fflush(stdout) != 0 || ferror(stdout);
}

static int cmd_tokenize(int argc, char **argv) {
    const char *tokname = NULL, *file = NULL;
    char *pos[1];
    int allow = 0, decode = 0, threads = 0, vocab_size = 0, npos = 0;
    flag f[] = {
        {"--tokenizer", F_STR, &tokname, "bytes, a directory with encoder.json + vocab.bpe or vocab.json + merges.txt, or an llm.c tokenizer file (decode only)", 0},
        {"--allow-special", F_BOOL, &allow, "\"<|endoftext|>\" in the text is the end-of-text token (else it is text)", 0},
        {"--decode", F_BOOL, &decode, "read whitespace-separated ids and write their bytes", 0},
        {"--vocab-size", F_BOOL, &vocab_size, "print the vocabulary size and exit", 0},
        {"--threads", F_INT, &threads, "threads for encoding (default: all cores)", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--tokenizer DIR|bytes [--allow-special] [--decode] [FILE]\n\n"
                        "Reads FILE (stdin without one, or with -) as raw bytes and prints its token ids on one line,\n"
                        "separated by spaces.", pos, 1, &npos);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (!tokname) return fail("%s", "tokenize needs --tokenizer DIR|bytes");
    if (npos) file = pos[0];
    inh_tokenizer *tok;
    if (inh_tokenizer_load(&tok, tokname)) return lib_fail();
    if (vocab_size) {
        printf("%d\n", inh_tokenizer_vocab_size(tok));
        inh_tokenizer_free(tok);
        return 0;
    }
    unsigned char *text = NULL;
    size_t len = 0;
    if (tokcli_read_all(file, &text, &len)) { inh_tokenizer_free(tok); return 1; }
    const char *src = file && strcmp(file, "-") ? file : "stdin";
    int rc = 0;
    if (!decode) {
        int *ids;
        size_t n;
        if (inh_tokenizer_encode_mt(tok, text, len, allow, threads, &ids, &n)) rc = lib_fail();
        else {
            if (tokcli_print_ids(ids, n)) rc = fail("%s", "cannot write to stdout");
            inh_tokenizer_free_ids(ids);
        }
    } else {
        size_t n = 0, cap = 1024;
        int *ids = (int *)malloc(cap * sizeof *ids), V = inh_tokenizer_vocab_size(tok);
        for (size_t p = 0; ids && p < len && !rc;) {
            if (text[p] == ' ' || (text[p] >= '\t' && text[p] <= '\r')) { p++; continue; }
            size_t start = p;
            long long v = 0;
            while (p < len && text[p] >= '0' && text[p] <= '9' && v <= V) v = v * 10 + (text[p++] - '0');
            while (p < len && text[p] >= '0' && text[p] <= '9') p++;
            if (p == start || (p < len && !(text[p] == ' ' || (text[p] >= '\t' && text[p] <= '\r')))) {
                fprintf(stderr, "error: %s: byte offset %zu: expected a token id\n", src, start);
                rc = 1;
            } else if (v >= V) {
                fprintf(stderr, "error: %s: byte offset %zu: id %.*s is out of range (V = %d)\n", src, start, (int)(p - start), (const char *)text + start, V);
                rc = 1;
            } else {
                if (n == cap) {
                    int *ni = (int *)realloc(ids, 2 * cap * sizeof *ids);
                    if (!ni) { free(ids); ids = NULL; break; }
                    ids = ni; cap *= 2;
                }
                ids[n++] = (int)v;
            }
        }
        if (!ids) rc = fail("%s", "out of memory");
        else if (!rc) {
            unsigned char *bytes;
            size_t nb;
            if (inh_tokenizer_decode(tok, ids, n, &bytes, &nb)) rc = lib_fail();
            else {
                if (fwrite(bytes, 1, nb, stdout) != nb || fflush(stdout) != 0) rc = fail("%s", "cannot write to stdout");
                inh_tokenizer_free_bytes(bytes);
            }
        }
        free(ids);
    }
    free(text);
    inh_tokenizer_free(tok);
    return rc;
}

static int cmd_prepare(int argc, char **argv) {
    const char *tokname = NULL;
    char *pos[2];
    int threads = 0, val = 32768, npos = 0;
    flag f[] = {
        {"--tokenizer", F_STR, &tokname, "bytes or a GPT-2 tokenizer directory", 0},
        {"--val-tokens", F_INT, &val, "tokens of val.bin (default 32768)", 0},
        {"--threads", F_INT, &threads, "threads for encoding (default: all cores)", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--tokenizer DIR|bytes [--val-tokens N] INPUT.txt OUTDIR\n\n"
                        "Writes OUTDIR/val.bin and OUTDIR/train.bin as llm.c token shards: the text is split at every\n"
                        "blank line (\"\\n\\n\"); each section is the end-of-text token, then the tokens of the section\n"
                        "with its \"\\n\\n\". The first N tokens are val.bin, the rest train.bin (llm.c's recipe).", pos, 2, &npos);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (!tokname || npos != 2) return fail("%s", "prepare needs --tokenizer, INPUT.txt and OUTDIR");
    if (val < 0) return fail("%s", "--val-tokens must be >= 0");
    if (inh_check_output(pos[1], 1)) return lib_fail();
    char shard[2][4200];
    snprintf(shard[0], sizeof shard[0], "%s/train.bin", pos[1]);
    snprintf(shard[1], sizeof shard[1], "%s/val.bin", pos[1]);
    if (check_kind(shard[0], INH_FILE_SHARD) || check_kind(shard[1], INH_FILE_SHARD)) return 1;
    inh_tokenizer *tok;
    if (inh_tokenizer_load(&tok, tokname)) return lib_fail();
    long long nv = 0, nt = 0;
    int rc = inh_prepare_shards(tok, pos[0], pos[1], val, threads, 1, &nv, &nt);
    int V = inh_tokenizer_vocab_size(tok);
    inh_tokenizer_free(tok);
    if (rc) return lib_fail();
    fprintf(stderr, "wrote %s/val.bin (%lld tokens) and %s/train.bin (%lld tokens), vocabulary %d\n", pos[1], nv, pos[1], nt, V);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   convert: llm.c .bin <-> Hugging Face safetensors */

/* OUT's format from its name, only when it is known: 0 NAME.bin, 1 NAME.safetensors, 2 a directory
   (existing, or ending in '/'), -1 anything else */
static int convert_format(const char *out) {
    size_t n = strlen(out);
    if ((n && out[n - 1] == '/') || inh_path_kind(out) == 2) return 2;
    if (n >= 12 && !strcmp(out + n - 12, ".safetensors")) return 1;
    if (n >= 4 && !strcmp(out + n - 4, ".bin")) return 0;
    return -1;
}
/* convert's outputs are of their kinds: the model, and config.json (beside it, or in the directory) */
static int convert_check_kinds(const char *out, int fmt) {
    char p[4200];
    size_t n = strlen(out), d = n;
    if (fmt == 0) return check_kind(out, INH_FILE_MODEL);
    if (fmt == 2) {
        snprintf(p, sizeof p, "%s%smodel.safetensors", out, n && out[n - 1] == '/' ? "" : "/");
        if (check_kind(p, INH_FILE_SAFETENSORS)) return 1;
        snprintf(p, sizeof p, "%s%sconfig.json", out, n && out[n - 1] == '/' ? "" : "/");
        return check_kind(p, INH_FILE_JSON);
    }
    if (check_kind(out, INH_FILE_SAFETENSORS)) return 1;
    while (d && out[d - 1] != '/' && out[d - 1] != '\\') d--;
    snprintf(p, sizeof p, "%.*sconfig.json", (int)d, out);
    return check_kind(p, INH_FILE_JSON);
}

/* a training-state file (its magic), whose model `convert` and `export` take out */
static int is_state_file(const char *path) {
    unsigned char b[4] = {0};
    FILE *f = inh_path_kind(path) == 1 ? inh_fopen(path, "rb") : NULL;
    size_t got = f ? fread(b, 1, 4, f) : 0;
    if (f) fclose(f);
    return got == 4 && (b[0] | b[1] << 8 | b[2] << 16 | (unsigned)b[3] << 24) == 20241123u;
}

static int cmd_convert(int argc, char **argv);
/* export --state S --out M: the model inside a training-state file, as convert writes it */
static int cmd_export(int argc, char **argv) {
    const char *state = NULL, *out = NULL;
    flag f[] = {
        {"--state", F_STR, &state, "a training-state file (train --state, or examples/torch/train.py --state)", 0},
        {"--out", F_STR, &out, "write its model here: NAME.bin (llm.c), NAME.safetensors or a directory (as convert)", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--state STATE --out MODEL", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (!state || !out) return fail("%s", "export needs --state STATE and --out MODEL");
    if (!is_state_file(state)) return fail("%s: is not a training-state file", state);
    char *av[3] = {argv[0], (char *)state, (char *)out};
    return cmd_convert(3, av);
}

static int cmd_convert(int argc, char **argv) {
    char *pos[2];
    int npos = 0;
    flag f[] = {FORCE_FLAG};
    int r = parse_flags(argc, argv, f, NF(f),
                        "IN OUT\n\n"
                        "  IN   an llm.c model (.bin), a Hugging Face model.safetensors (config.json beside it),\n"
                        "       or the directory holding them; the format is read from the content\n"
                        "  OUT  a directory (existing, or ending in '/'): model.safetensors + config.json that\n"
                        "       transformers loads as GPT2LMHeadModel; NAME.safetensors: that file, and config.json\n"
                        "       beside it (replacing one there); NAME.bin: an llm.c .bin. Any other name is an error.\n"
                        "       An existing file of another kind (a text, a token shard) is never replaced (--force does)\n",
                        pos, 2, &npos);
    if (r) return r == 2 ? 0 : 1;
    if (npos != 2) return fail("%s", "convert needs IN and OUT (see --help)");
    const char *in = pos[0], *out = pos[1];
    int fmt = convert_format(out), to_st = fmt > 0;
    if (fmt < 0) {
        int k = inh_file_kind(out);
        if (k != INH_FILE_NONE && k != INH_FILE_EMPTY) fprintf(stderr, "error: %s: is %s, not a model; refusing to replace it\n", out, inh_file_kind_name(k));
        return fail("%s: unknown output format: give NAME.bin (llm.c), NAME.safetensors (Hugging Face), or a directory "
                    "(existing, or ending in '/') for Hugging Face's model.safetensors + config.json", out);
    }
    if (!(to_st && inh_path_kind(out) == 2) && inh_check_output(out, to_st && out[strlen(out) - 1] == '/')) return lib_fail();
    if (convert_check_kinds(out, fmt)) return 1;
    inh_model m;
    if (is_state_file(in) ? inh_model_load_state(&m, in) : inh_model_load_any(&m, in)) return lib_fail();   /* a state file: its model */
    if (to_st ? inh_model_save_safetensors(&m, out) : inh_model_save(&m, out)) { inh_model_free(&m); return lib_fail(); }
    char scd[256];
    shortcut_desc(&m.cfg, scd, sizeof scd);
    printf("%s -> %s (%s): L=%d NH=%d C=%d maxT=%d V=%d%s%s%s, %zu parameters\n", in, out,
           to_st ? "safetensors + config.json" : "llm.c .bin", m.cfg.L, m.cfg.NH, m.cfg.C, m.cfg.maxT, m.cfg.V,
           m.cfg.bias ? "" : " no-bias", m.cfg.layer_scale ? " layer-scale" : "", scd, m.num_params);
    inh_model_free(&m);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   bench: training steps on random tokens, timed by phase */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median step time minus the median matmul and attention times (all sorted already) */
static double med_other(const double *tot, const double *mm, const double *at, int n) { return tot[n / 2] - mm[n / 2] - at[n / 2]; }

/* one timed training step; ts: forward (with zeroing the gradients), backward, update, total. Each
   phase is waited for, as a GPU runs behind the calls and the host clock must see what it did.
   profile: m->prof gets the step's matmul and attention seconds (on a device, every op then waits
   for the GPU before it returns, so the step itself runs slower: see cmd_bench) */
static int bench_step(inh_model *m, const int *x, const int *y, int B, int T, const inh_adamw *o, int t, int profile, double *ts) {
    double t0 = inh_now();
    m->profile = profile; m->prof[0] = m->prof[1] = 0.0;
    inh_model_zero_grad(m);
    int rc = inh_model_forward(m, x, y, B, T);
    if (!rc) rc = inh_model_wait(m);
    double t1 = inh_now();
    if (!rc) rc = inh_model_backward(m, 1.0f);
    if (!rc) rc = inh_model_wait(m);
    double t2 = inh_now();
    if (!rc) rc = inh_model_update(m, o, 1e-4f, t, inh_model_grad_norm(m));
    if (!rc) rc = inh_model_wait(m);
    double t3 = inh_now();
    m->profile = 0;
    ts[0] = t1 - t0; ts[1] = t2 - t1; ts[2] = t3 - t2; ts[3] = t3 - t0;
    return rc;
}

/* bench --device cuda: model FLOP utilisation against the card's peak, and its memory. Peak = SMs x
   clock x dense FLOP per SM and clock: bf16 tensor cores (fp32 accumulation) with --bf16, else the
   fp32 cores (cuBLAS keeps fp32 products off the TF32 tensor cores by default). Known for compute
   capability 8.0 (A100: 2048 / 128), 8.6 and 8.9 (512 / 256), 9.0 (H100, H200: 4096 / 256).
   The clock is the one the datasheet's figure assumes. The runtime reports the highest boost clock
   (cudaDevAttrClockRate), and the fp32 figures use it: H100 SXM 132 SMs x 1.98 GHz x 256 = 66.9
   TFLOP/s, A100 108 x 1.41 GHz x 2048 = 312 TFLOP/s bf16. Hopper's tensor-core figures assume a
   lower clock (the H100 white paper's boost clock for tensor-core work): H100 SXM and H200 1.83 of
   1.98 GHz, 132 x 1.83 GHz x 4096 = 989.4 TFLOP/s dense bf16; H100 PCIe 1.62 of 1.755 GHz, 114 x
   1.62 GHz x 4096 = 756 TFLOP/s. Both are 0.924 of the highest clock, so for 9.0 bf16 the clock is
   taken as 1830/1980 of the reported one (a card run at another power limit, such as H100 NVL,
   has another figure: --peak-tflops gives it). */
static void bench_device_report(double flops_per_s, int bf16, double peak_tflops, double model_mb) {
#ifdef INH_WITH_CUDA
    inh_cuda_info d;
    if (inh_cuda_device_info(cuda_ctx, &d)) { fprintf(stderr, "warning: device info: %s\n", inh_cuda_error()); return; }
    int cc = 10 * d.major + d.minor;
    double per = cc == 90 ? (bf16 ? 4096 : 256) : cc == 80 ? (bf16 ? 2048 : 128) : (cc == 86 || cc == 89) ? (bf16 ? 512 : 256) : 0;
    double ghz = cc == 90 && bf16 ? d.clock_ghz * 1830.0 / 1980.0 : d.clock_ghz;
    double peak = peak_tflops > 0 ? peak_tflops * 1e12 : per * d.sms * ghz * 1e9;
    printf("device: %s, compute capability %d.%d, %d SMs at %.2f GHz", d.name, d.major, d.minor, d.sms, d.clock_ghz);
    if (peak > 0 && peak_tflops > 0) printf("; peak %.1f TFLOP/s %s (--peak-tflops)", peak * 1e-12, bf16 ? "bf16" : "fp32");
    else if (peak > 0) printf("; peak %.1f TFLOP/s dense %s (%d SMs x %.3f GHz x %.0f FLOP per SM and clock)", peak * 1e-12,
                              bf16 ? "bf16" : "fp32", d.sms, ghz, per);
    if (peak > 0) printf(" -> model FLOP utilisation %.1f%%\n", 100.0 * flops_per_s / peak);
    else printf("; its peak is not known here (--peak-tflops X gives it): no utilisation\n");
    if (d.mem_total)
        printf("device memory: %.0f MB in use of %.0f MB (the model's parameters, gradients, moments at 16 bytes each, and its "
               "activations and scratch: %.0f MB; the rest is the CUDA context and cuBLAS)\n", d.mem_used / 1048576.0, d.mem_total / 1048576.0, model_mb);
#else
    (void)flops_per_s; (void)bf16; (void)peak_tflops; (void)model_mb;
#endif
}

static int cmd_bench(int argc, char **argv) {
    const char *device = "cpu";
    int L = 12, NH = 12, C = 768, maxT = 1024, V = 50257, B = 4, T = 64, steps = 5, threads = 0, no_bias = 0, gen = 0, keep_att = 0, bf16 = 0;
    float peak_tflops = 0.0f;
    const char *shortcuts = NULL, *sc_layers = NULL;
    flag f[] = {
        {"--shortcuts", F_STR, &shortcuts, "attention shortcuts causal | depth; the plain model is timed too, for the cost", 0},
        {"--shortcut-layers", F_STR, &sc_layers, "their layers (default 0..L-2)", 0},
        {"--bf16", F_BOOL, &bf16, "bf16 mixed precision matmuls (fp32 sums and weights)", 0},
        {"--keep-attention", F_BOOL, &keep_att, "store every (B,NH,T,T) attention matrix (the plain kernels) instead of flash", 0},
        {"--generate", F_INT, &gen, "instead: batch-1 generation of N tokens with the KV cache, against the memory-bandwidth bound", 0},
        {"--layers", F_INT, &L, "layers (default 12: GPT-2 124M)", 0},
        {"--heads", F_INT, &NH, "heads (default 12)", 0},
        {"--dim", F_INT, &C, "channels (default 768)", 0},
        {"--seq-max", F_INT, &maxT, "context length (default 1024)", 0},
        {"--vocab", F_INT, &V, "vocabulary (default 50257)", 0},
        {"--no-bias", F_BOOL, &no_bias, "no biases", 0},
        {"--batch", F_INT, &B, "batch (default 4)", 0},
        {"--seq", F_INT, &T, "sequence length (default 64)", 0},
        {"--steps", F_INT, &steps, "timed steps after one warm-up step (default 5)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        DEVICE_FLAG,
        {"--peak-tflops", F_FLOAT, &peak_tflops, "--device cuda: the card's peak TFLOP/s for the utilisation (default: from its SMs and clock)", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "[model flags] --batch B --seq T --steps N --threads N [--bf16] [--device cuda]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (check_device(device)) return 1;
    if (steps < 1 || B < 1 || T < 1 || T > maxT) return fail("%s", "--steps, --batch, --seq must be positive and --seq <= --seq-max");
    inh_config c;
    inh_model m;
    inh_config_default(&c, maxT, V, L, NH, C);
    c.bias = !no_bias;
    int sc_variant = 0;
    if (shortcuts && (sc_variant = inh_sc_variant(shortcuts)) < 0) return fail("--shortcuts must be causal or depth, got '%s'", shortcuts);
    if (inh_config_set_shortcuts(&c, sc_variant, sc_layers) || inh_model_init(&m, &c, 1)) return lib_fail();
    m.threads = threads;
    m.keep_attention = keep_att;
    m.bf16 = bf16;
    if (place_model(&m, device)) { inh_model_free(&m); return 1; }
    if (!strcmp(device, "cpu")) printf("isa: %s (the instruction set of the CPU kernels in this build)\n", inh_isa());
    int *x = (int *)malloc(sizeof(int) * (size_t)B * T), *y = (int *)malloc(sizeof(int) * (size_t)B * T);
    double *fw = (double *)malloc(sizeof(double) * steps), *bw = (double *)malloc(sizeof(double) * steps);
    double *up = (double *)malloc(sizeof(double) * steps), *tot = (double *)malloc(sizeof(double) * steps);
    double *mm = (double *)malloc(sizeof(double) * steps), *at = (double *)malloc(sizeof(double) * steps);
    double *sp = (double *)malloc(sizeof(double) * steps);   /* the total of the step the split came from */
    int dev = strcmp(device, "cpu") != 0;
    inh_rng rng;
    inh_rng_seed(&rng, 7);
    for (int i = 0; i < B * T; i++) { x[i] = (int)(inh_rng_u64(&rng) % V); y[i] = (int)(inh_rng_u64(&rng) % V); }
    if (gen > 0) {   /* every generated token reads every weight once: bytes / bandwidth is the floor */
        size_t nfl = (size_t)256 << 20;
        float *buf = (float *)malloc(nfl * sizeof(float));
        double bandwidth = 0, sink = 0;
        for (size_t i = 0; buf && i < nfl; i++) buf[i] = (float)(i & 7);
        for (int rep = 0; buf && rep < 3; rep++) {   /* best of 3 reads of 1 GiB, one float per cache line */
            double t0 = inh_now();
            for (size_t i = 0; i < nfl; i += 16) sink += buf[i];
            double bps = nfl * sizeof(float) / (inh_now() - t0);
            if (bps > bandwidth) bandwidth = bps;
        }
        free(buf);
        int *out = (int *)malloc(sizeof(int) * ((size_t)gen + 1)), prompt = 0;
        double t0 = inh_now();
        int grc = out ? inh_model_generate(&m, &prompt, 1, gen, 0.0f, 0, &rng, out) : -1;
        double dt = inh_now() - t0, bound = bandwidth / (m.num_params * sizeof(float));
        if (!grc)
            printf("generate: %d tokens in %.2f s = %.1f tokens/s; read bandwidth %.1f GB/s%s, weights %.0f MB -> bound %.1f tokens/s; "
                   "bound / measured = %.2fx\n", gen, dt, gen / dt, bandwidth * 1e-9, sink < 0 ? "?" : "", m.num_params * 4e-6, bound, bound / (gen / dt));
        free(out); free(x); free(y); free(fw); free(bw); free(up); free(tot); free(mm); free(at); free(sp);
        inh_model_free(&m);
        return grc ? lib_fail() : 0;
    }
    inh_adamw o;
    inh_adamw_default(&o);
    int rc = 0;
    /* --shortcuts: the plain model of the same shape steps right after each step of the shortcut
       model, so that a machine whose load changes shifts both medians alike */
    inh_model p;
    double *ptot = (double *)malloc(sizeof(double) * steps);
    memset(&p, 0, sizeof p);
    if (sc_variant) {
        inh_config pc = c;
        inh_config_set_shortcuts(&pc, 0, NULL);
        if (inh_model_init(&p, &pc, 1)) { free(ptot); inh_model_free(&m); return lib_fail(); }
        p.threads = threads; p.keep_attention = keep_att; p.bf16 = bf16;
    }
    printf("bench: L=%d NH=%d C=%d V=%d, %zu parameters, B=%d T=%d, %d threads, %s\n", L, NH, C, V, m.num_params, B, T, threads, bf16 ? "bf16 matmuls" : "fp32");
    /* On the CPU one step gives both the times and the split by kind. On a device the split needs
       every op to wait for the GPU (the host clock around an op would see only its launch), which
       slows the step: each timed step is then followed by a second, profiled one for the split. */
    for (int s = -1; s < steps && !rc; s++) {   /* step -1 warms up (allocations, caches) */
        double ts[4], tp[4];
        rc = bench_step(&m, x, y, B, T, &o, s + 2, !dev, ts);
        if (!rc && dev) rc = bench_step(&m, x, y, B, T, &o, s + 2, 1, tp);
        else memcpy(tp, ts, sizeof ts);
        if (s >= 0) { fw[s] = ts[0]; bw[s] = ts[1]; up[s] = ts[2]; tot[s] = ts[3]; mm[s] = m.prof[0]; at[s] = m.prof[1]; sp[s] = tp[3]; }
        if (s >= 0) printf("step %d: forward %.1f ms, backward %.1f ms, update %.1f ms, total %.1f ms\n", s, 1e3 * ts[0], 1e3 * ts[1], 1e3 * ts[2], 1e3 * ts[3]);
        if (sc_variant && !rc) {
            double t4 = inh_now();
            inh_model_zero_grad(&p);
            rc = inh_model_forward(&p, x, y, B, T) || inh_model_backward(&p, 1.0f) || inh_model_update(&p, &o, 1e-4f, s + 2, inh_model_grad_norm(&p));
            if (s >= 0) ptot[s] = inh_now() - t4;
        }
    }
    if (rc) rc = lib_fail();
    else {
        qsort(fw, steps, sizeof(double), cmp_double); qsort(bw, steps, sizeof(double), cmp_double);
        qsort(up, steps, sizeof(double), cmp_double); qsort(tot, steps, sizeof(double), cmp_double);
        qsort(mm, steps, sizeof(double), cmp_double); qsort(at, steps, sizeof(double), cmp_double);
        qsort(sp, steps, sizeof(double), cmp_double);
        double med = tot[steps / 2];
        /* model flops of a step: matmuls 6 per parameter per token (forward 2, backward 4) + attention */
        double mmf = 6.0 * (double)m.num_params * B * T, atf = 12.0 * L * (double)B * T * T * C / 2, flops = mmf + atf;
        double peak_mb = inh_peak_memory_mb();
        double state_mb = 16.0 * m.num_params / 1048576, acts_mb = 4.0 * (m.acts_floats + m.scratch_floats) / 1048576;
        printf("median: forward %.1f ms, backward %.1f ms, update %.1f ms; %s %.0f MB = %.3fx (16 bytes/parameter %.0f MB"
               " + activations and scratch %.0f MB)\n", 1e3 * fw[steps / 2], 1e3 * bw[steps / 2], 1e3 * up[steps / 2],
               dev ? "peak host memory (the model is on the device)" : "peak memory",
               peak_mb, peak_mb / (state_mb + acts_mb), state_mb, acts_mb);
        printf("median by kind: matmul %.1f ms, attention %.1f ms, other %.1f ms (layernorm, GELU, softmax/loss, AdamW, ...)",
               1e3 * mm[steps / 2], 1e3 * at[steps / 2], 1e3 * (med_other(sp, mm, at, steps)));
        if (dev) printf("; timed in extra steps whose every op waits for the device (%.1f ms/step)", 1e3 * sp[steps / 2]);
        printf("\n");
        printf("%.1f ms/step, %.1f GFLOP/s, %.0f tokens/s\n", 1e3 * med, flops / med * 1e-9, B * T / med);
        if (dev) bench_device_report(flops / med, bf16, peak_tflops, state_mb + acts_mb);
        else {   /* the step's model FLOPs against the machine's FMA peak, and each kind's share */
            double peak = inh_fma_peak_gflops(threads) * 1e9;
            printf("fp32 FMA peak (probe, %d thread%s) %.1f GFLOP/s: step %.1f%%, matmul %.1f%%, attention %.1f%% of it\n", threads,
                   threads == 1 ? "" : "s", peak * 1e-9, 100.0 * flops / med / peak, 100.0 * mmf / mm[steps / 2] / peak,
                   100.0 * atf / at[steps / 2] / peak);
        }
        if (sc_variant) {   /* the shortcuts' cost against the interleaved plain steps */
            qsort(ptot, steps, sizeof(double), cmp_double);
            double pm = ptot[steps / 2];
            printf("shortcuts (%s, %d layers, %zu parameters): %.1f ms/step against %.1f ms/step without (%zu parameters, steps "
                   "interleaved): %+.1f ms, %.2fx\n", inh_sc_variant_name(sc_variant), inh_sc_layers(&m.cfg, NULL),
                   m.num_params, 1e3 * med, 1e3 * pm, p.num_params, 1e3 * (med - pm), med / pm);
        }
    }
    free(ptot);
    inh_model_free(&p);
    free(x); free(y); free(fw); free(bw); free(up); free(tot); free(mm); free(at); free(sp);
    inh_model_free(&m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   synth: a corpus the program makes itself */

static int cmd_synth(int argc, char **argv) {
    const char *dir = NULL;
    int ntok = 400000, nval = 40000, V = 64;
    uint64_t seed = 1;
    flag f[] = {
        {"--out", F_STR, &dir, "directory for train.bin and val.bin (made if missing)", 0},
        {"--tokens", F_INT, &ntok, "training tokens (default 400000)", 0},
        {"--val-tokens", F_INT, &nval, "validation tokens (default 40000)", 0},
        {"--vocab", F_INT, &V, "vocabulary size, 16..65536 (default 64)", 0},
        {"--seed", F_U64, &seed, "seed (default 1)", 0},
        FORCE_FLAG,
    };
    int r = parse_flags(argc, argv, f, NF(f), "--out DIR [--tokens N] [--val-tokens N] [--vocab V] [--seed S]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (!dir) return fail("%s", "synth needs --out DIR");
    if (inh_check_output(dir, 1)) return lib_fail();
    char shard[2][4200];
    snprintf(shard[0], sizeof shard[0], "%s/train.bin", dir);
    snprintf(shard[1], sizeof shard[1], "%s/val.bin", dir);
    if (check_kind(shard[0], INH_FILE_SHARD) || check_kind(shard[1], INH_FILE_SHARD)) return 1;
    if (inh_make_dir(dir)) return lib_fail();
    if (ntok < 2 || nval < 2) return fail("%s", "--tokens and --val-tokens must be at least 2");
    int *ids = (int *)malloc(sizeof(int) * ((size_t)ntok + nval));
    char path[4096];
    if (!ids) return fail("%s", "out of memory");
    int rc = inh_synth_corpus(ids, (size_t)ntok + nval, V, seed);
    snprintf(path, sizeof path, "%s/train.bin", dir);
    if (!rc) rc = inh_data_write(path, ids, (size_t)ntok);
    snprintf(path, sizeof path, "%s/val.bin", dir);
    if (!rc) rc = inh_data_write(path, ids + ntok, (size_t)nval);
    free(ids);
    if (rc) return lib_fail();
    printf("wrote %s/train.bin (%d tokens) and %s/val.bin (%d tokens), vocabulary %d\n", dir, ntok, dir, nval, V);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   main */

typedef struct { const char *name; int (*fn)(int, char **); const char *help; } command;
static const command commands[] = {
    {"train", cmd_train, "train a model (new or from --init) on a token shard"},
    {"eval", cmd_eval, "mean loss and perplexity of a model over a shard (every whole window once)"},
    {"sample", cmd_sample, "generate text (with --tokenizer) or token ids from a model"},
    {"analyze", cmd_analyze, "attention rank, column mass, sinks and layer importance: which layers are lazy"},
    {"drop-sweep", cmd_drop_sweep, "loss and speed with k attention sub-layers dropped, k = 0..L"},
    {"inherit", cmd_inherit, "a model from the first l blocks of a reference"},
    {"recipe", cmd_recipe, "the Inheritune loop: inherit, train, grow until the reference's loss, with baselines"},
    {"tokenize", cmd_tokenize, "text to token ids (or --decode ids to text)"},
    {"prepare", cmd_prepare, "text file to llm.c train/val token shards"},
    {"convert", cmd_convert, "convert a model between llm.c .bin and Hugging Face safetensors"},
    {"export", cmd_export, "write the model inside a training-state file (--state S --out M)"},
    {"bench", cmd_bench, "time training steps on random tokens (default: GPT-2 124M shapes)"},
    {"synth", cmd_synth, "write a synthetic corpus (copy + bigram segments) as token shards"},
};

static void main_usage(void) {
    printf("inheritune %s - train, analyse and shrink small GPT-2 models\n\nusage: inheritune COMMAND [flags]   (COMMAND --help for its flags)\n\ncommands:\n", INHERITUNE_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) printf("  %-10s %s\n", commands[i].name, commands[i].help);
    printf("  %-10s %s\n", "version", "print the version (also --version)");
}

#ifndef INH_CLI_NO_MAIN
int main(int argc, char **argv) {
    inh_stdio_binary();   /* the same bytes out as on Linux (token ids, decoded text) */
    if (inh_args_utf8(&argc, &argv)) return lib_fail();   /* Windows: UTF-8 paths, whatever the code page */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { main_usage(); return argc < 2 ? 1 : 0; }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) { printf("inheritune %s\n", INHERITUNE_VERSION); return 0; }
    const char *names[sizeof commands / sizeof commands[0] + 1];
    int ncmd = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        names[ncmd++] = commands[i].name;
        if (!strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            inh_threads_release();
            return rc;
        }
    }
    names[ncmd++] = "version";
    const char *hit = closest_name(argv[1], names, ncmd);
    if (hit) fprintf(stderr, "error: unknown command '%s' (did you mean `%s`? see inheritune --help)\n", argv[1], hit);
    else fprintf(stderr, "error: unknown command '%s' (see inheritune --help)\n", argv[1]);
    return 1;
}
#endif
