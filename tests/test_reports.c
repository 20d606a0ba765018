/* tests/test_reports.c - the reports tell the truth: drop-sweep's speeds are medians of repeated
   timed passes with their spread (or it says it is not timing), the recipe's stack baseline shows
   both of its phases, and every chart axis has nice ticks (1, 2 or 5 x 10^k). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

static char out[1 << 16];

/* the number after "key": at or after p (NaN when absent or null); *next: just past it */
static double json_num(const char *p, const char *key, const char **next) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *q = p ? strstr(p, pat) : NULL;
    if (!q) { if (next) *next = NULL; return NAN; }
    q += strlen(pat);
    char *e;
    double v = strtod(q, &e);
    if (e == q) v = NAN;   /* null */
    if (next) *next = e;
    return v;
}

static char *slurp(const char *path) {
    unsigned char *b;
    size_t n;
    if (inh__read_file(path, &b, &n, 0)) return NULL;
    char *s = (char *)realloc(b, n + 1);
    if (!s) { free(b); return NULL; }
    s[n] = 0;
    return s;
}

/* ---- issue 25 #8: drop-sweep timing -------------------------------------------------------- */

static void sweep_timing_stable(void) {
    /* issue 25 #8: the library: medians over `repeats` passes, paired speed-ups, spreads */
    inh_model m;
    inh_data d;
    if (inh_model_load(&m, "tests/ref/tiny.bin") || inh_data_open(&d, "tests/ref/tiny_tokens.bin", m.cfg.V)) {
        CHECK(0, "tiny model and tokens: %s", inh_error());
        return;
    }
    m.threads = 1;
    int L = m.cfg.L, R = 5, B = 2, T = 8, nb = 1;
    int orders[2 * 64];
    for (int i = 0; i < L; i++) { orders[i] = L - 1 - i; orders[L + i] = i; }   /* last k; first k */
    const char *names[2] = {"last k", "first k"};
    inh_sweep s;
    int rc = inh_drop_sweep(&m, &d, B, T, nb, orders, 2, names, R, &s);
    CHECK(rc == 0, "issue 25 #8: sweep with 5 repeats runs: %s", inh_error());
    if (rc == 0) {
        CHECK(s.repeats == R && s.inner >= 1, "issue 25 #8: the repeat count is recorded (%d, want %d; %d evaluations a run)", s.repeats, R, s.inner);
        int all_pos = 1, med_ok = 1;
        for (int p = 0; p < 2 * (L + 1); p++) {
            double v[16];
            for (int r = 0; r < R; r++) { v[r] = s.seconds[(size_t)p * R + r]; all_pos &= v[r] > 0 && isfinite(v[r]); }
            double med = inh__median(v, R), want = (double)B * T * nb / med;
            med_ok &= fabs(s.tokens_per_s[p] - want) <= 1e-9 * want;
        }
        CHECK(all_pos, "issue 25 #8: every point has %d timed runs, each > 0 s", R);
        CHECK(med_ok, "issue 25 #8: tokens/s is B*T*batches over the median of the %d runs (rel 1e-9)", R);
        CHECK(s.speedup[0] == 1.0 && s.spread[0] == 0.0 && s.speedup[L + 1] == 1.0, "issue 25 #8: speed-up at k=0 is 1 exactly, spread 0 (got %.17g, %.3g)",
              s.speedup[0], s.spread[0]);
        int range_ok = 1;
        for (int c = 0; c < 2; c++)
            for (int k = 0; k <= L; k++) {
                double lo, hi;
                int p = c * (L + 1) + k;
                range_ok &= inh_sweep_speedup_range(&s, c, k, &lo, &hi) && lo <= s.speedup[p] && s.speedup[p] <= hi &&
                            fabs(s.spread[p] - (hi - lo) / s.speedup[p]) <= 1e-12;
            }
        CHECK(range_ok, "issue 25 #8: each speed-up lies in its runs' range, spread = (max - min) / median");
        /* the same layer set is one measurement: k = L of both curves (the 2.305x vs 11.2x) */
        CHECK(s.speedup[L] == s.speedup[2 * (L + 1) - 1] && s.tokens_per_s[L] == s.tokens_per_s[2 * (L + 1) - 1],
              "issue 25 #8: all layers dropped reads the same in both tables (%.4f, %.4f)", s.speedup[L], s.speedup[2 * (L + 1) - 1]);
        /* dropping every attention sub-layer does less work: not slower than the full model beyond
           the measured spread, with 0.25 more for a shared 2-core machine */
        CHECK(s.speedup[L] >= 1.0 - s.spread[L] - 0.25, "issue 25 #8: all %d dropped is not slower than none (speed-up %.3f, spread %.3f, tolerance 0.25)",
              L, s.speedup[L], s.spread[L]);
        float l_timed = s.loss[L];
        inh_sweep_free(&s);
        rc = inh_drop_sweep(&m, &d, B, T, nb, orders, 1, names, 0, &s);
        CHECK(rc == 0 && s.repeats == 0 && isnan(s.tokens_per_s[0]) && isnan(s.speedup[L]) && s.loss[L] == l_timed,
              "issue 25 #8: repeats 0: losses only (the same), speeds NaN: %s", rc ? inh_error() : "");
        if (rc == 0) {
            CHECK(inh_sweep_write_json(&s, "build/rp_sweep0.json") == 0, "issue 25 #8: JSON of an untimed sweep");
            char *j = slurp("build/rp_sweep0.json");
            CHECK(j && strstr(j, "\"timed\": false") && strstr(j, "\"tokens_per_s\": null"), "issue 25 #8: the untimed JSON says so");
            free(j);
            inh_sweep_free(&s);
        }
        CHECK(inh_drop_sweep(&m, &d, B, T, nb, orders, 1, names, -1, &s) != 0 && strstr(inh_error(), "repeats"), "issue 25 #8: negative repeats refused: %s", inh_error());
    }
    inh_data_close(&d);
    inh_model_free(&m);

    /* issue 25 #8: a wide spread is reported as such (a hand-made sweep: k=1 ran 2x, 1.25x, 1.67x) */
    {
        int order1[1] = {0};
        float loss1[2] = {3.0f, 3.5f};
        double sec[6] = {1, 1, 1, 0.5, 0.8, 0.6}, tps[2] = {1, 1.5}, sp[2] = {1, 5.0 / 3}, spr[2] = {0, 0.75 / (5.0 / 3)};
        inh_sweep h;
        memset(&h, 0, sizeof h);
        h.L = 1; h.curves = 1; h.repeats = 3; h.inner = 1;
        h.order = order1; h.loss = loss1; h.seconds = sec; h.tokens_per_s = tps; h.speedup = sp; h.spread = spr;
        double lo, hi;
        CHECK(inh_sweep_speedup_range(&h, 0, 1, &lo, &hi) && fabs(lo - 1.25) < 1e-12 && fabs(hi - 2) < 1e-12, "issue 25 #8: speed-up range of the passes");
        CHECK(inh_sweep_write_html(&h, "build/rp_wide.html") == 0 && inh_sweep_write_json(&h, "build/rp_wide.json") == 0, "issue 25 #8: reports of a wide sweep");
        char *hh = slurp("build/rp_wide.html"), *jj = slurp("build/rp_wide.json");
        CHECK(hh && strstr(hh, "1 point varies by more than 10% (up to 45%)") && strstr(hh, "<td>45.0%</td>"), "issue 25 #8: the HTML notes the wide spread (45%% > 10%%)");
        CHECK(jj && strstr(jj, "\"wide\": true") && strstr(jj, "\"wide\": false"), "issue 25 #8: the JSON marks the wide point only");
        free(hh); free(jj);
    }

    /* issue 25 #8: the tool: --repeats N, medians and spreads in the table and the JSON */
    remove("build/rp_sweep.json"); remove("build/rp_sweep.svg"); remove("build/rp_sweep.html");   /* nothing from an earlier run */
    rc = run(TOOL " drop-sweep --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --threads 1 --repeats 4"
             " --json build/rp_sweep.json --svg build/rp_sweep.svg --html build/rp_sweep.html", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "median of 4 timed passes") && strstr(out, "spread"), "issue 25 #8: drop-sweep --repeats 4 says how it timed: %s", out);
    char *j = slurp("build/rp_sweep.json");
    CHECK(j != NULL, "issue 25 #8: drop-sweep --json writes the points");
    if (j) {
        CHECK(json_num(j, "repeats", NULL) == 4, "issue 25 #8: the JSON records 4 repeats");
        int points = 0, counts_ok = 1, first_ok = 0;
        for (const char *p = strstr(j, "{\"k\": "); p; p = strstr(p + 1, "{\"k\": ")) {
            int k = atoi(p + 6);
            double sp = json_num(p, "speedup", NULL), spr = json_num(p, "spread", NULL);
            const char *sec = strstr(p, "\"seconds\": [");
            int n = 0;
            if (sec) for (const char *q = sec + 12; *q && *q != ']'; q++) n += *q == ',';
            if (sec && sec[12] != ']') n++;
            counts_ok &= n == 4 && isfinite(sp) && isfinite(spr) && spr >= 0;
            if (k == 0) first_ok = sp == 1.0 && spr == 0.0;
            points++;
        }
        CHECK(points == 4 && counts_ok, "issue 25 #8: every point (%d of 4) has a median speed-up, a spread and 4 timed runs", points);
        CHECK(first_ok, "issue 25 #8: speed-up 1 at k=0 in the JSON");
        free(j);
    }
    rc = run(TOOL " drop-sweep --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --threads 1 --repeats 0", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "not timing") && !strstr(out, "1.000"), "issue 25 #8: --repeats 0 says it is not timing, prints no speed-ups: %s", out);
}

/* ---- issue 25 #9: the stack baseline's two phases ------------------------------------------ */

/* the run named `name` in recipe.json: its text from the name on (NULL if absent) */
static const char *json_run(const char *j, const char *name) {
    char pat[64];
    snprintf(pat, sizeof pat, "{\"name\": \"%s\"", name);
    return j ? strstr(j, pat) : NULL;
}

/* "name layers params val_loss steps seconds ..." of recipe.log: seconds of `name`, NaN if absent */
static double journal_seconds(const char *log, const char *name) {
    char pat[40];
    snprintf(pat, sizeof pat, "%s ", name);
    for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        int layers, steps;
        size_t params;
        double loss, sec;
        if (!strncmp(p, pat, strlen(pat)) && sscanf(p + strlen(pat), "%d %zu %lf %d %lf", &layers, &params, &loss, &steps, &sec) == 5) return sec;
    }
    return NAN;
}

static void recipe_stack_two_phases(void) {
    /* issue 25 #9: a stack baseline of 10 steps: 5 at half depth, stacked, 5 more */
    int *ids = (int *)malloc(sizeof(int) * 12000);
    inh_config c;
    inh_model ref;
    if (!ids) return;
    inh_synth_corpus(ids, 12000, 32, 3);
    inh_data_write("build/rp_train.bin", ids, 10000);
    inh_data_write("build/rp_val.bin", ids + 10000, 2000);
    free(ids);
    inh_config_default(&c, 32, 32, 4, 2, 16);
    inh_model_init(&ref, &c, 1);
    CHECK(inh_model_save(&ref, "build/rp_ref.bin") == 0, "issue 25 #9: reference written");
    inh_model_free(&ref);
    test_rmtree("build/rp_recipe");
    int rc = run(TOOL " recipe --ref build/rp_ref.bin --data build/rp_train.bin --val build/rp_val.bin --out build/rp_recipe --start 2"
             " --steps 10 --batch 4 --seq 16 --eval-every 2 --eval-batches 2 --baselines stack --threads 1", out, sizeof out);
    CHECK(rc == 0, "issue 25 #9: tiny recipe with the stack baseline runs: %s", out);
    char *j = slurp("build/rp_recipe/recipe.json"), *log = slurp("build/rp_recipe/recipe.log");
    const char *st = json_run(j, "stack");
    CHECK(st != NULL, "issue 25 #9: recipe.json has the stack row");
    if (st) {
        const char *cv = strstr(st, "\"curve\": [");
        int steps[64], n = 0, mono = 1;
        for (const char *p = cv ? cv + 10 : NULL; p && *p == '[' && n < 64; n++) {
            steps[n] = atoi(p + 1);
            p = strchr(p, ']');
            p = p ? p + 1 : NULL;
            if (p && *p == ',') p += 2;
            if (n && steps[n] < steps[n - 1]) mono = 0;
        }
        CHECK(json_num(st, "steps", NULL) == 10, "issue 25 #9: the row counts 10 steps");
        CHECK(json_num(st, "stacked_at", NULL) == 5, "issue 25 #9: the row marks the stacking at step 5");
        int below = 0, above = 0;
        for (int i = 0; i < n; i++) { below += steps[i] < 5; above += steps[i] > 5; }
        /* eval every 2: half depth 0, 2, 4, 5, then stacked 0, 2, 4, 5 offset by 5 */
        CHECK(n == 8 && mono && steps[0] == 0 && steps[n - 1] == 10 && below == 3 && above == 3,
              "issue 25 #9: the curve covers steps 0..10, both phases (%d points, %d..%d, %d before the stacking, %d after)",
              n, n ? steps[0] : -1, n ? steps[n - 1] : -1, below, above);
        double sec = json_num(st, "seconds", NULL), s1 = journal_seconds(log, "stack_half"), s2 = journal_seconds(log, "stack");
        /* recipe.json rounds to 0.01 s, the journal to 0.001 s */
        CHECK(isfinite(s1) && isfinite(s2) && fabs(sec - (s1 + s2)) <= 0.011, "issue 25 #9: the row's time is both phases' (%.3f = %.3f + %.3f, abs 0.011)", sec, s1, s2);
    }
    char *h = slurp("build/rp_recipe/report.html");
    CHECK(h && strstr(h, "stacked at step 5") && strstr(h, "(5 at half depth, stacked, 5)"), "issue 25 #9: the report marks where it was stacked");
    CHECK(strstr(out, "stacked at step 5"), "issue 25 #9: the tool's table says so: %s", out);
    free(j); free(log); free(h);

    /* issue 25 #9: the join itself: offsets, sums, order */
    inh_recipe_run_result u, half;
    memset(&u, 0, sizeof u); memset(&half, 0, sizeof half);
    half.steps = 7; half.seconds = 1.5; half.n_curve = 2;
    half.curve_step[0] = 0; half.curve_loss[0] = 5; half.curve_step[1] = 7; half.curve_loss[1] = 4;
    u.steps = 8; u.seconds = 2.25; u.n_curve = 3;
    u.curve_step[0] = 0; u.curve_loss[0] = 3.9f; u.curve_step[1] = 4; u.curve_loss[1] = 3.5f; u.curve_step[2] = 8; u.curve_loss[2] = 3;
    inh__stack_join(&u, &half);
    CHECK(u.n_curve == 5 && u.curve_step[0] == 0 && u.curve_step[1] == 7 && u.curve_step[2] == 7 && u.curve_step[3] == 11 && u.curve_step[4] == 15 &&
          u.curve_loss[1] == 4 && u.curve_loss[2] == 3.9f && u.steps == 15 && u.seconds == 3.75 && u.stacked_at == 7,
          "issue 25 #9: inh__stack_join: half's curve, then the stacked one offset by 7; steps and seconds summed");
}

/* ---- issue 25 #11: nice axis ticks ---------------------------------------------------------- */

/* step is 1, 2 or 5 x 10^k (relative 1e-9): that value, else 0 */
static double nice_step(double step) {
    if (!(step > 0)) return 0;
    double e = pow(10.0, floor(log10(step) + 1e-6)), f = step / e;   /* (a step from differences is a few ulps off) */
    for (int m = 1; m <= 5; m++)
        if ((m == 1 || m == 2 || m == 5) && fabs(f - m) < 1e-9 * m) return m * e;
    return 0;
}
/* v[0..n) are consecutive multiples of one nice step */
static int nice_ticks(const double *v, int n, double *step) {
    if (n < 2) return 0;
    double s = nice_step(v[1] - v[0]);
    *step = v[1] - v[0];
    if (s == 0) return 0;
    for (int i = 0; i < n; i++) {
        double q = v[i] / s;
        if (fabs(q - floor(q + 0.5)) > 1e-6 + 1e-9 * fabs(q)) return 0;
        if (i && fabs(v[i] - v[i - 1] - s) > 1e-9 * (fabs(s) + fabs(v[i]))) return 0;
    }
    return 1;
}

/* every <g class="axis"> group of an SVG holds tick labels that are nice, and those of the groups
   in the bit mask whole (a step, a layer count: never 0.5); returns the number of groups, or -1 at
   the first bad one (described in why) */
static int svg_axes_nice(const char *svg, unsigned whole, char *why, size_t cap) {
    int groups = 0;
    for (const char *g = svg ? strstr(svg, "<g class=\"axis\">") : NULL; g; g = strstr(g + 1, "<g class=\"axis\">")) {
        const char *end = strstr(g, "</g>");
        double v[64], step = 0;
        int n = 0, frac = 0;
        for (const char *t = strstr(g, "<text"); t && end && t < end && n < 64; t = strstr(t + 1, "<text")) {
            const char *gt = strchr(t, '>');
            if (!gt) break;
            v[n++] = atof(gt + 1);
            frac |= strcspn(gt + 1, ".<") < strcspn(gt + 1, "<");
        }
        if (!nice_ticks(v, n, &step) || (groups < 32 && (whole >> groups & 1) && frac)) {
            snprintf(why, cap, "axis %d: %d labels, first %g %g, step %g%s", groups, n, n ? v[0] : NAN, n > 1 ? v[1] : NAN, step, frac ? ", fractions" : "");
            return -1;
        }
        groups++;
    }
    return groups;
}

static void check_svg(const char *path, int want_axes, unsigned whole, const char *what) {
    char *s = slurp(path), why[160] = "";
    int g = svg_axes_nice(s, whole, why, sizeof why);
    CHECK(s && g >= want_axes, "issue 25 #11: %s (%s): %d nice axes, want >= %d %s", what, path, g, want_axes, why);
    CHECK(!s || (!strstr(s, ">4.266<") && !strstr(s, ">501<")), "issue 25 #11: %s: none of the issue's labels", what);
    free(s);
}

static void axis_ticks_nice(void) {
    /* issue 25 #11: the helper over many ranges: 2..max ticks in [lo, hi], a nice step, exact labels */
    static const double ranges[][2] = {{3.659, 4.266}, {1, 1500}, {0, 1}, {0, 3}, {-0.37, 0.81}, {0.000123, 0.000456}, {2.5, 2.50001},
                                       {-1500, -3}, {0.98, 2.31}, {0, 123456789}, {1e-9, 3e-9}, {4.7, 4.81}, {0.9, 1.1}, {0, 12}};
    int bad = 0, cases = 0;
    char why[160] = "";
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        for (int mx = 4; mx <= 13; mx++) {
            double t[INH__MAX_TICKS], lo = ranges[i][0], hi = ranges[i][1], step = 0;
            int dec, n = inh__ticks(lo, hi, mx, t, &dec), ok = n >= 2 && n <= mx && nice_ticks(t, n, &step);
            for (int k = 0; ok && k < n; k++) {
                char lab[48];
                inh__tick_label(lab, sizeof lab, t[k], dec);
                ok = t[k] >= lo - 1e-9 * (hi - lo + fabs(lo)) && t[k] <= hi + 1e-9 * (hi - lo + fabs(hi)) && fabs(atof(lab) - t[k]) <= 1e-9 * step + 1e-12 * fabs(t[k]);   /* the label is the tick */
                if (t[k] == 0 && strchr(lab, '-')) ok = 0;   /* never "-0" */
            }
            /* the smallest such step: the next smaller nice step would give more than mx ticks */
            if (ok) {
                double f = step / pow(10.0, floor(log10(step) + 1e-6)), smaller = f < 1.5 ? step / 2 : f < 3 ? step / 2 : step * 2 / 5;
                double a = lo / smaller, b = hi / smaller;
                int more = (int)(floor(b + 1e-9 * (1 + fabs(b))) - ceil(a - 1e-9 * (1 + fabs(a))) + 1);
                ok = more > mx;
            }
            cases++;
            if (!ok) { bad++; snprintf(why, sizeof why, "[%g, %g] max %d: %d ticks, step %g", lo, hi, mx, n, step); }
        }
    CHECK(bad == 0, "issue 25 #11: inh__ticks gives 2..max nice ticks in range, the smallest step (%d of %d cases bad; %s)", bad, cases, why);
    double t[INH__MAX_TICKS];
    int dec, n = inh__ticks(1, 1500, 8, t, &dec);
    CHECK(n == 7 && t[0] == 200 && t[6] == 1400 && dec == 0, "issue 25 #11: steps 1..1500 -> 200, 400, ..., 1400 (got %d ticks from %g)", n, n ? t[0] : NAN);
    n = inh__ticks(3.659, 4.266, 8, t, &dec);
    CHECK(n == 6 && fabs(t[0] - 3.7) < 1e-12 && fabs(t[5] - 4.2) < 1e-12 && dec == 1, "issue 25 #11: losses 3.659..4.266 -> 3.7, 3.8, ..., 4.2 (got %d from %g)", n, n ? t[0] : NAN);

    /* issue 25 #11: every chart the tool writes: drop-sweep (2 panels x 2 axes), recipe curves (2),
       train's loss curve (2), analyze (4 bar charts) */
    check_svg("build/rp_sweep.svg", 4, 0xa, "drop-sweep");
    check_svg("build/rp_sweep.html", 4, 0xa, "drop-sweep html");
    check_svg("build/rp_recipe/curves.svg", 2, 0x2, "recipe curves");
    check_svg("build/rp_recipe/report.html", 2, 0x2, "recipe report");
    remove("build/rp_model.loss.svg"); remove("build/rp_analysis.svg");
    int rc = run(TOOL " train --data build/rp_train.bin --val build/rp_val.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32"
                 " --batch 4 --seq 16 --steps 30 --eval-every 10 --threads 1 --out build/rp_model.bin", out, sizeof out);
    CHECK(rc == 0, "issue 25 #11: train writes a model and its loss curve: %s", out);
    check_svg("build/rp_model.loss.svg", 2, 0x2, "train loss curve");
    rc = run(TOOL " analyze --model build/rp_model.bin --data build/rp_val.bin --seqs 4 --seq-len 16 --threads 1 --svg build/rp_analysis.svg", out, sizeof out);
    CHECK(rc == 0, "issue 25 #11: analyze writes its report: %s", out);
    check_svg("build/rp_analysis.svg", 4, 0, "analyze");
}

int main(void) {
    sweep_timing_stable();
    recipe_stack_two_phases();
    axis_ticks_nice();
    return test_summary("reports");
}
