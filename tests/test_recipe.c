/* tests/test_recipe.c - the Inheritune recipe: inherit copies the right tensors, the loop stops by
   its rule, an interrupted recipe resumes losing nothing, bad input is refused. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <unistd.h>
#include <stdlib.h>

static int same(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void inherit(void) {
    inh_config c;
    inh_model ref, p, r;
    inh_config_default(&c, 16, 40, 6, 2, 8);
    c.layer_scale = 1;
    inh_model_init(&ref, &c, 3);
    for (size_t i = 0; i < ref.num_params; i++) ref.params_mem[i] += 0.01f * (float)(i % 17);   /* LN and biases non-trivial */
    CHECK(inh_inherit(&p, &ref, 4, INH_INHERIT_PAPER, 9) == 0, "inherit 4 of 6: %s", inh_error());
    CHECK(p.cfg.L == 4 && p.cfg.layer_scale == 1 && p.cfg.V == 40, "config: 4 layers, options kept");
    float *pp = p.params_mem, *rp = ref.params_mem;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {   /* per-layer tensors: the first 4 of 6 slices; others whole */
        CHECK(same(pp, rp, p.param_sizes[i]), "paper mode: %s equals the reference's (first 4 layers)", inh_param_name(i));
        pp += p.param_sizes[i]; rp += ref.param_sizes[i];
    }
    CHECK(inh_inherit(&r, &ref, 4, INH_INHERIT_REPO, 9) == 0, "repo mode");
    CHECK(same(r.params.wte, ref.params.wte, ref.param_sizes[0]) && same(r.params.qkvw, ref.params.qkvw, r.param_sizes[4]) &&
          same(r.params.fcprojb, ref.params.fcprojb, r.param_sizes[13]), "repo mode: token embedding (tied head) and blocks inherited");
    CHECK(!same(r.params.wpe, ref.params.wpe, r.param_sizes[1]) && r.params.lnfw[0] == 1.0f && r.params.lnfb[0] == 0.0f,
          "repo mode: position embedding and final LayerNorm freshly initialised");
    inh_model bad;
    CHECK(inh_inherit(&bad, &ref, 7, INH_INHERIT_PAPER, 1) != 0 && strstr(inh_error(), "has 6"), "7 of 6 layers refused: %s", inh_error());
    /* the inherited model computes what the reference's first 4 blocks compute: same loss as the
       reference with its last 2 blocks removed, i.e. with res3 of block 3 into the final norm */
    inh_model st;
    CHECK(inh_stack(&st, &p) == 0 && st.cfg.L == 8 && same(st.params.qkvw + p.param_sizes[4], p.params.qkvw, p.param_sizes[4]), "stacking duplicates the blocks");
    inh_model_free(&st);
    inh_model_free(&ref); inh_model_free(&p); inh_model_free(&r);
}

typedef struct { int stop_at, calls; char last_run[32]; } stopper;
static int progress(void *user, const inh_recipe_progress *p) {
    stopper *s = (stopper *)user;
    s->calls++;
    snprintf(s->last_run, sizeof s->last_run, "%s", p->run);
    return s->stop_at && s->calls == s->stop_at;
}

static void make_data(void) {
    int *ids = (int *)malloc(sizeof(int) * 60000);
    inh_synth_corpus(ids, 60000, 32, 5);
    inh_data_write("build/rc_train.bin", ids, 50000);
    inh_data_write("build/rc_val.bin", ids + 50000, 10000);
    free(ids);
}

static void recipe_loop(void) {
    /* a 6-layer reference trained well; 10-step rounds cannot match it from 2 layers, so the loop
       must grow 2 -> 4 -> 6 and stop at L, or stop earlier where a round matches */
    inh_config c;
    inh_model ref;
    inh_data d;
    inh_trainer t;
    inh_train_opts to;
    inh_step_info info;
    make_data();
    inh_config_default(&c, 32, 32, 6, 2, 16);
    inh_model_init(&ref, &c, 1);
    inh_data_open(&d, "build/rc_train.bin", 32);
    inh_train_opts_default(&to);
    to.B = 8; to.T = 32; to.steps = 150; to.lr = 3e-3f;
    inh_trainer_init(&t, &ref, &d, &to);
    for (int i = 0; i < 150; i++) inh_trainer_step(&t, &info);
    inh_model_save(&ref, "build/rc_ref.bin");
    inh_trainer_free(&t); inh_model_free(&ref); inh_data_close(&d);

    inh_recipe_opts o;
    inh_recipe_result r, r2;
    stopper s = {0, 0, ""};
    inh_recipe_opts_default(&o);
    o.ref_path = "build/rc_ref.bin"; o.train_path = "build/rc_train.bin"; o.val_path = "build/rc_val.bin"; o.out_dir = "build/rc_out";
    o.train.B = 8; o.train.T = 32; o.train.steps = 10; o.train.lr = 3e-3f; o.eval_every = 5; o.eval_batches = 4; o.save_every = 3;
    o.baselines = INH_BASELINE_RANDOM | INH_BASELINE_STACK;
    int rc = test_rmtree("build/rc_out") | test_rmtree("build/rc_out2");
    (void)rc;
    CHECK(inh_recipe_run(&o, progress, &s, &r) == 0, "recipe runs: %s", inh_error());
    int rounds = r.n_runs - 2;
    CHECK(r.start_layers == 3 && r.runs[0].layers == 3, "starts at L/2 = 3");
    int rule = 1;
    for (int i = 0; i < rounds; i++) {
        int last = i == rounds - 1;
        rule &= r.runs[i].layers == (3 + 2 * i < 6 ? 3 + 2 * i : 6);
        if (!last) rule &= r.runs[i].val_loss > r.ref_val_loss;   /* it only grew because it had not matched */
        else rule &= r.runs[i].val_loss <= r.ref_val_loss || r.runs[i].layers == 6;
    }
    CHECK(rounds >= 1 && rule, "growth follows the stopping rule (%d rounds, final %d layers, matched %d)", rounds, r.final_layers, r.matched);
    CHECK(!strcmp(r.runs[rounds].name, "random") && r.runs[rounds].layers == r.final_layers, "random baseline at the final depth");
    CHECK(!strcmp(r.runs[rounds + 1].name, "stack") && r.runs[rounds + 1].steps == 10, "stacking baseline counts both halves");
    CHECK(inh_recipe_write_html(&r, "build/rc_out/report.html") == 0 && inh_recipe_write_json(&r, "build/rc_out/recipe.json") == 0, "reports written");

    /* interrupted after 7 progress calls (mid-run), then run again: identical results */
    o.out_dir = "build/rc_out2";
    s.stop_at = 7; s.calls = 0;
    CHECK(inh_recipe_run(&o, progress, &s, &r2) != 0 && strstr(inh_error(), "stopped"), "stop request honoured: %s", inh_error());
    CHECK(access("build/rc_out2/round1_L3.state", R_OK) == 0, "the interrupted run left its state file");
    double before = -1;   /* the time the interrupted run had trained, from its curve file's "t STEP SECONDS" */
    FILE *cf = fopen("build/rc_out2/round1_L3.curve", "r");
    char line[128];
    while (cf && fgets(line, sizeof line, cf)) { int k; double sec; if (sscanf(line, "t %d %lf", &k, &sec) == 2) before = sec; }
    if (cf) fclose(cf);
    s.stop_at = 0;
    CHECK(inh_recipe_run(&o, progress, &s, &r2) == 0, "resumed recipe finishes: %s", inh_error());
    CHECK(before > 0 && r2.runs[0].seconds >= before, "a resumed round's time counts the part before the interruption (%.4f s >= %.4f s)",
          r2.runs[0].seconds, before);
    CHECK(r.runs[0].n_curve == 3 && r.runs[0].curve_step[0] == 0 && r.runs[0].curve_loss[0] > r.runs[0].curve_loss[2],
          "the curve starts at step 0 with the inherited model's loss, before training (then steps 5, 10)");
    int eq = r2.n_runs == r.n_runs;
    for (int i = 0; eq && i < r.n_runs; i++)
        eq = r.runs[i].layers == r2.runs[i].layers && r.runs[i].val_loss == r2.runs[i].val_loss && r.runs[i].n_curve == r2.runs[i].n_curve;
    CHECK(eq, "interrupted + resumed recipe gives exactly the uninterrupted results");

    /* bad input */
    o.out_dir = "build/rc_bad";
    o.start = 9;
    CHECK(inh_recipe_run(&o, NULL, NULL, &r2) != 0 && strstr(inh_error(), "fewer than the 9"), "start above L: %s", inh_error());
    o.start = 0; o.grow = 0;
    CHECK(inh_recipe_run(&o, NULL, NULL, &r2) != 0 && strstr(inh_error(), "growth step 0"), "growth step 0: %s", inh_error());
    o.grow = 2; o.val_path = "build/rc_missing.bin";
    CHECK(inh_recipe_run(&o, NULL, NULL, &r2) != 0 && strstr(inh_error(), "rc_missing.bin: cannot open"), "missing validation file: %s", inh_error());
    o.val_path = "build/rc_val.bin"; o.ref_path = "tests/ref/tiny.bin";   /* V=100 model, data ok; T=32 > maxT=16 */
    CHECK(inh_recipe_run(&o, NULL, NULL, &r2) != 0 && strstr(inh_error(), "maxT"), "sequence above the reference's maxT: %s", inh_error());
    int big[2] = {40, 1};
    inh_data_write("build/rc_bigtok.bin", big, 2);
    o.ref_path = "build/rc_ref.bin"; o.train_path = "build/rc_bigtok.bin";
    CHECK(inh_recipe_run(&o, NULL, NULL, &r2) != 0 && strstr(inh_error(), "outside the model's vocabulary"), "data that does not fit the vocabulary: %s", inh_error());
}

int main(void) {
    inherit();
    recipe_loop();
    return test_summary("recipe");
}
