/* ---------------------------------------------------------------------------------------------
   analyze, drop-sweep, and --drop-attn for eval and sample. Included by examples/inheritune.c
   after its flag helpers (flag, parse_flags, fail, lib_fail, check_threads, parse_ids). */
#ifndef INH_CLI_ANALYSIS_C
#define INH_CLI_ANALYSIS_C

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

/* strtod into a double in (0, 1] */
static int parse_unit(const char *name, const char *v, double *out) {
    char *end = NULL;
    double x = strtod(v, &end);
    if (!*v || *end || !(x > 0.0 && x <= 1.0)) { fprintf(stderr, "error: %s must be a number in (0, 1], got '%s'\n", name, v); return 1; }
    *out = x;
    return 0;
}

static void print_analysis(const inh_analysis *a) {
    printf("layer  max_rank  avg_mass  lazy  sink     block_infl  angular   attn_imp  entropy\n");
    for (int l = 0; l < a->L; l++) {
        if (a->dropped[l]) {
            printf("%5d  (attention dropped)                  %.6f  %8.5f  %.6f\n", l, a->block_influence[l], a->angular_distance[l], a->attn_importance[l]);
            continue;
        }
        printf("%5d  %8.3f  %8.2f  %-4s  %.5f  %.6f    %8.5f  %.6f  %.4f\n", l, a->max_rank[l], a->avg_mass[l], a->lazy[l] ? "yes" : "",
               a->sink_layer[l], a->block_influence[l], a->angular_distance[l], a->attn_importance[l], a->entropy_layer[l]);
    }
    printf("lazy groups:");
    for (int g = 0; g < a->n_groups; g++) printf(" %d-%d", a->groups[2 * g], a->groups[2 * g + 1]);
    printf("%s\n", a->n_groups ? "" : " none");
    if (a->lazy_from < a->L) printf("layers %d..%d form a lazy group (floor of mean MaxRank = 1)\n", a->lazy_from, a->L - 1);
    printf("%d sequences x %d tokens, tau %g, eta %g, loss %.6f, %.2f s\n", a->seqs, a->T, a->tau, a->eta, a->loss, a->seconds);
}

static int cmd_analyze(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *json = NULL, *svg = NULL, *html = NULL, *drop = NULL, *layers = NULL;
    const char *tau_s = "0.9", *eta_s = "0.9";
    int threads = 0, no_shuffle = 0;
    inh_analysis_opts o;
    inh_analysis_opts_default(&o);
    flag f[] = {
        {"--model", F_STR, &model, "model file (llm.c .bin)", 0},
        {"--data", F_STR, &data, "token shard (validation data)", 0},
        {"--seqs", F_INT, &o.seqs, "sequences N (default 100)", 0},
        {"--seq-len", F_INT, &o.T, "tokens per sequence T (default 100)", 0},
        {"--seed", F_U64, &o.seed, "seed of the random windows (default 1337)", 0},
        {"--no-shuffle", F_BOOL, &no_shuffle, "the first N consecutive windows from token 0", 0},
        {"--tau", F_STR, &tau_s, "energy fraction of the approximate rank, in (0,1] (default 0.9)", 0},
        {"--eta", F_STR, &eta_s, "column-mass fraction, in (0,1] (default 0.9)", 0},
        {"--batch", F_INT, &o.batch, "sequences per forward pass (default 8; memory grows with it)", 0},
        {"--span", F_INT, &o.span, "angular distance between layers l and l+span (default 1)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        {"--drop-attn", F_STR, &drop, "skip attention in layers: 9,10,11 | last:K | auto:K[:METRIC]", 0},
        {"--layers", F_STR, &layers, "layers whose heads get heat maps (default: first and last)", 0},
        {"--json", F_STR, &json, "write every metric here", 0},
        {"--svg", F_STR, &svg, "write the picture here", 0},
        {"--html", F_STR, &html, "write a self-contained report here", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL.bin --data FILE.bin [--seqs N] [--seq-len T] [--seed S | --no-shuffle] [--tau X] [--eta X] [--json F] [--svg F] [--html F]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (!model || !data) return fail("%s", "analyze needs --model and --data");
    if (parse_unit("--tau", tau_s, &o.tau) || parse_unit("--eta", eta_s, &o.eta)) return 1;
    if (o.seqs <= 0 || o.T <= 0 || o.batch <= 0) return fail("%s", "--seqs, --seq-len and --batch must be positive");
    o.shuffle = !no_shuffle;
    o.keep_attention = svg || html;
    inh_model m;
    inh_data d;
    inh_analysis a;
    int heat[64], nheat = 0, rc = 0;
    if (inh_model_load(&m, model)) return lib_fail();
    m.threads = threads;
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
    if (drop && apply_drop_attn(&m, drop, data, threads)) rc = 1;
    else if (inh_analyze(&m, &d, &o, &a)) rc = lib_fail();
    else {
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
    const char *model = NULL, *data = NULL, *by = NULL, *svg = NULL, *html = NULL;
    int B = 4, T = 64, nb = 1, threads = 0;
    flag f[] = {
        {"--model", F_STR, &model, "model file (llm.c .bin)", 0},
        {"--data", F_STR, &data, "token shard (validation data)", 0},
        {"--batch", F_INT, &B, "batch size (default 4)", 0},
        {"--seq", F_INT, &T, "sequence length (default 64)", 0},
        {"--batches", F_INT, &nb, "consecutive windows from token 0 (default 1)", 0},
        {"--by", F_STR, &by, "also drop the k least important layers by METRIC (attn_importance, block_influence, max_rank, sink, ...)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        {"--svg", F_STR, &svg, "write the curve here", 0},
        {"--html", F_STR, &html, "write a self-contained report here", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL.bin --data FILE.bin [--batch B --seq T --batches N] [--by METRIC] [--svg F] [--html F]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (!model || !data) return fail("%s", "drop-sweep needs --model and --data");
    if (B <= 0 || T <= 0 || nb <= 0) return fail("%s", "--batch, --seq and --batches must be positive");
    inh_model m;
    inh_data d;
    inh_sweep s;
    if (inh_model_load(&m, model)) return lib_fail();
    m.threads = threads;
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
    if (inh_drop_sweep(&m, &d, B, T, nb, orders, curves, names, &s)) { rc = lib_fail(); goto done; }
    for (int c = 0; c < curves; c++) {
        printf("%s\n    k  layer  loss       delta      tokens/s  speed-up\n", s.names[c]);
        for (int k = 0; k <= L; k++) {
            float ls = s.loss[c * (L + 1) + k], l0 = s.loss[c * (L + 1)];
            double tp = s.tokens_per_s[c * (L + 1) + k], t0 = s.tokens_per_s[c * (L + 1)];
            if (k) printf("%5d  %5d  %.6f  %+.6f  %9.0f  %.3f\n", k, s.order[c * L + k - 1], ls, ls - l0, tp, tp / t0);
            else printf("%5d      -  %.6f  %+.6f  %9.0f  %.3f\n", k, ls, 0.0f, tp, 1.0);
        }
    }
    if (svg && inh_sweep_write_svg(&s, svg)) rc = lib_fail();
    if (!rc && html && inh_sweep_write_html(&s, html)) rc = lib_fail();
    inh_sweep_free(&s);
done:
    free(orders);
    inh_data_close(&d);
    inh_model_free(&m);
    return rc;
}

#endif /* INH_CLI_ANALYSIS_C */
