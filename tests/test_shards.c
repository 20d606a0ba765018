/* tests/test_shards.c - issue 25 #1 and #6: a resumed run writes its model (the state file records
   its outputs and data), the model inside a state file can be exported, and --data / --val take
   many shards (a glob or a comma list) read shard by shard in llm.c's order, shuffled across all
   of them, recorded in the state file and checked on resume. Small generated shards: quick. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

#define DIR "build/shards_t"
static char out[1 << 16];

/* shard k of the pattern set: token i is k*10000 + i (so a token names its shard and place) */
static void write_pattern(const char *path, int k, int n) {
    int *ids = (int *)malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) ids[i] = k * 10000 + i;
    inh_data_write(path, ids, (size_t)n);
    free(ids);
}
static int file_same(const char *a, const char *b) {
    unsigned char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int same = !inh__read_file(a, &x, &nx, 0) && !inh__read_file(b, &y, &ny, 0) && nx == ny && !memcmp(x, y, nx);
    free(x); free(y);
    return same;
}
static float after(const char *s, const char *key) {   /* the number after the last `key` in s */
    const char *p = NULL, *q = s;
    float v = NAN;
    while ((q = strstr(q, key)) != NULL) p = q++;
    if (p) sscanf(p + strlen(key), "%f", &v);
    return v;
}

static const int pat_n[4] = {600, 500, 700, 50};   /* the fourth is too small for a sequential batch */

static void setup(void) {
    char p[256], cmd[512];
    test_rmtree(DIR);
    inh__os_mkdir(DIR);
    for (int k = 0; k < 4; k++) { snprintf(p, sizeof p, DIR "/p_train_%03d.bin", k); write_pattern(p, k, pat_n[k]); }
    int small[50];
    for (int i = 0; i < 50; i++) small[i] = i;
    inh_data_write(DIR "/tiny.bin", small, 50);
    for (int k = 0; k < 3; k++) {   /* synthetic corpora (V = 64) as llm.c names its shards */
        snprintf(cmd, sizeof cmd, TOOL " synth --out " DIR "/syn%d --tokens 1200 --val-tokens 400 --seed %d", k, k + 1);
        run(cmd, out, sizeof out);
        snprintf(cmd, sizeof cmd, DIR "/syn%d/train.bin", k); snprintf(p, sizeof p, DIR "/c_train_%06d.bin", k); inh__os_replace(cmd, p);
        snprintf(cmd, sizeof cmd, DIR "/syn%d/val.bin", k); snprintf(p, sizeof p, DIR "/c_val_%06d.bin", k); inh__os_replace(cmd, p);
    }
}

/* issue 25 #6: --data takes a glob (sorted by name) or a comma list, in the library and the tool */
static void shards_glob_and_list(void) {
    inh_data d;
    int rc = inh_data_open(&d, DIR "/p_train_*.bin", 0);
    CHECK(rc == 0 && d.nshards == 4 && d.n == 1850, "a glob opens 4 shards, 1850 tokens (rc %d, %d shards, %zu): %s", rc, d.nshards, d.n, inh_error());
    if (rc == 0) {
        int sorted = 1;
        for (int k = 0; k < 4; k++) { char w[64]; snprintf(w, sizeof w, "p_train_%03d.bin", k); sorted &= strstr(d.shards[k].path, w) != NULL; }
        CHECK(sorted && d.tokens == NULL && d.max_id == 30049, "the glob's shards sorted by name, not loaded (max id %d)", d.max_id);
    }
    inh_data_close(&d);
    rc = inh_data_open(&d, DIR "/p_train_002.bin," DIR "/p_train_00[!].bin", 0);
    CHECK(rc != 0 && strstr(inh_error(), "p_train_00[!].bin: cannot open"), "a missing item of a list is named: %s", inh_error());
    rc = inh_data_open(&d, DIR "/p_train_002.bin," DIR "/p_train_0?0.bin", 0);
    CHECK(rc == 0 && d.nshards == 2 && strstr(d.shards[0].path, "002") && strstr(d.shards[1].path, "000"), "a comma list keeps its order, its globs expand");
    inh_data_close(&d);
    rc = inh_data_open(&d, DIR "/q_*.bin", 0);
    CHECK(rc != 0 && strstr(inh_error(), "no file matches"), "a glob that matches nothing is an error: %s", inh_error());
    rc = inh_data_open(&d, "build/shards_*/p_train_000.bin", 0);
    CHECK(rc != 0 && strstr(inh_error(), "file names only"), "a glob in a directory is refused: %s", inh_error());
    rc = inh_data_open(&d, DIR "/p_train_001.bin," DIR "/p_train_001.bin", 0);
    CHECK(rc != 0 && strstr(inh_error(), "twice"), "a shard listed twice is refused: %s", inh_error());
    rc = inh_data_open(&d, DIR "/p_train_*.bin", 100);
    CHECK(rc != 0 && strstr(inh_error(), "p_train_000.bin: token 599 is outside"), "ids above V name the shard: %s", inh_error());

    /* the tool: train and eval on a glob and a comma list (the old tool: "cannot open") */
    rc = run(TOOL " train --data '" DIR "/c_train_*.bin' --val " DIR "/c_val_000000.bin," DIR "/c_val_000001.bin"
             " --layers 1 --heads 2 --dim 16 --seq-max 16 --seq 16 --batch 2 --steps 3 --threads 1 --out " DIR "/g.bin", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "3600 tokens") && strstr(out, "step 3 val_loss"), "train --data GLOB --val A,B (rc %d): %s", rc, out);
    float l[3], ls = NAN;
    for (int k = 0; k < 3; k++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, TOOL " eval --model " DIR "/g.bin --data " DIR "/c_val_%06d.bin --seq 16 --batch 4 --threads 1", k);
        run(cmd, out, sizeof out);
        l[k] = after(out, "loss ");
    }
    rc = run(TOOL " eval --model " DIR "/g.bin --data '" DIR "/c_val_*.bin' --seq 16 --batch 4 --threads 1", out, sizeof out);
    ls = after(out, "loss ");
    CHECK(rc == 0 && strstr(out, "72 windows"), "eval over 3 shards: 3 x 24 windows, none across two shards: %s", out);
    CHECK_CLOSE(ls, (l[0] + l[1] + l[2]) / 3, 2e-6, 0, "eval of 3 equal shards = the mean of their evals");
    rc = run(TOOL " analyze --model " DIR "/g.bin --data '" DIR "/c_val_*.bin' --seq-len 16 --seqs 8 --threads 1", out, sizeof out);
    CHECK(rc == 0, "analyze --data GLOB (rc %d): %s", rc, out);
    rc = run(TOOL " drop-sweep --model " DIR "/g.bin --data " DIR "/c_val_000000.bin," DIR "/c_val_000002.bin --seq 16 --batch 2 --batches 2 --threads 1", out, sizeof out);
    CHECK(rc == 0, "drop-sweep --data A,B (rc %d): %s", rc, out);
}

/* issue 25 #6: sequential windows as llm.c's dataloader reads them: each shard's batches of B*T
   (+1) from its start while a whole one fits, then the next shard, back to the first after the
   last; a shard too small for one batch is skipped; a batch never straddles two shards */
static void shards_sequential_order(void) {
    inh_data d;
    const int B = 2, T = 50, need = B * T + 1;
    int x[100], y[100];
    if (inh_data_open(&d, DIR "/p_train_*.bin", 0)) { CHECK(0, "open: %s", inh_error()); return; }
    d.shuffle = 0;
    int k = 0, pos = 0, ok = 1, shards_seen[4] = {0}, wraps = 0;
    for (int step = 0; step < 40 && ok; step++) {
        while (pos + need > pat_n[k]) { k = (k + 1) % 4; pos = 0; wraps += k == 0; }   /* llm.c: advance to the next shard */
        if (inh_data_next(&d, B, T, x, y)) { ok = 0; CHECK(0, "next: %s", inh_error()); break; }
        for (int i = 0; i < B * T; i++) ok &= x[i] == k * 10000 + pos + i && y[i] == x[i] + 1;
        if (!ok) CHECK(0, "batch %d: got token %d first, want shard %d position %d", step, x[0], k, pos);
        shards_seen[k]++;
        pos += B * T;
    }
    CHECK(ok && shards_seen[0] && shards_seen[1] && shards_seen[2] && !shards_seen[3] && wraps >= 1,
          "40 batches in llm.c's order: shard 0 (5 batches), 1 (4), 2 (6), the 50-token shard skipped, then shard 0 again");
    /* the evaluation windows: every whole window of every shard once, shard after shard */
    CHECK(inh_data_windows(&d, T) == 11 + 9 + 13 + 0, "windows of T=50: 11 + 9 + 13 + 0, got %zu", inh_data_windows(&d, T));
    inh_data_close(&d);
    /* the tool warns about the skipped shard */
    int rc = run(TOOL " train --data '" DIR "/c_train_*.bin'," DIR "/tiny.bin --layers 1 --heads 2 --dim 16 --seq-max 32"
                 " --seq 32 --batch 2 --steps 2 --no-shuffle --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "tiny.bin: 50 tokens cannot fill one batch") && strstr(out, "skipped"), "a too-small shard: a warning, skipped: %s", out);
}

/* issue 25 #6: shuffled windows draw from every shard, in proportion to its window starts,
   each window inside one shard, the same for the same seed */
static void shards_shuffled_across(void) {
    inh_data d, e;
    const int B = 4, T = 16;
    int x[64], y[64], x2[64], y2[64], count[4] = {0}, inside = 1, same = 1;
    if (inh_data_open(&d, DIR "/p_train_*.bin", 0) || inh_data_open(&e, DIR "/p_train_*.bin", 0)) { CHECK(0, "open: %s", inh_error()); return; }
    d.shuffle = e.shuffle = 1;
    inh_rng_seed(&d.rng, 42); inh_rng_seed(&e.rng, 42);
    for (int step = 0; step < 500; step++) {
        if (inh_data_next(&d, B, T, x, y) || inh_data_next(&e, B, T, x2, y2)) { CHECK(0, "next: %s", inh_error()); break; }
        same &= !memcmp(x, x2, sizeof x) && !memcmp(y, y2, sizeof y);
        for (int b = 0; b < B; b++) {
            int k = x[b * T] / 10000, s = x[b * T] % 10000;
            count[k < 4 ? k : 0]++;
            inside &= s + T + 1 <= pat_n[k];
            for (int t = 0; t < T; t++) inside &= x[b * T + t] == x[b * T] + t && y[b * T + t] == x[b * T] + t + 1;
        }
    }
    CHECK(same, "the same seed draws the same windows");
    CHECK(inside, "every window lies inside one shard");
    double tot = 0;
    for (int k = 0; k < 4; k++) tot += pat_n[k] - T;
    for (int k = 0; k < 4; k++) {
        double want = 2000.0 * (pat_n[k] - T) / tot;
        CHECK(count[k] > 0 && fabs(count[k] - want) <= 4 * sqrt(want) + 3, "shard %d: %d of 2000 windows, want about %.0f", k, count[k], want);
    }
    inh_data_close(&d); inh_data_close(&e);
}

/* a state at step 10 of 20 written by the library (its --out recorded), and the model the run
   reaches at 20 (the reference for the resume), from a plain one-shard corpus */
static int make_half_run(const char *state, const char *ref, const char *at10) {
    inh_model m;
    inh_config c;
    inh_data d;
    inh_trainer t;
    inh_train_opts o;
    inh_step_info info;
    int rc = inh_data_open(&d, DIR "/c_train_000000.bin", 64);
    inh_config_default(&c, 16, 64, 2, 2, 16);
    rc = rc || inh_model_init(&m, &c, 5);
    inh_train_opts_default(&o);
    o.B = 2; o.T = 16; o.steps = 20; o.lr = 1e-2f;
    m.threads = 1;
    rc = rc || inh_trainer_init(&t, &m, &d, &o);
    t.out_path = DIR "/r.bin";
    for (int i = 0; i < 10 && !rc; i++) rc = inh_trainer_step(&t, &info);
    rc = rc || inh_trainer_save_state(&t, state) || inh_model_save(&m, at10);
    for (int i = 10; i < 20 && !rc; i++) rc = inh_trainer_step(&t, &info);
    rc = rc || inh_model_save(&m, ref);
    inh_trainer_free(&t); inh_model_free(&m); inh_data_close(&d);
    return rc;
}

/* issue 25 #1: `train --resume S` alone continues to the planned step and writes the model to
   the recorded --out, saying where; a version-1 state file still loads */
static void resume_writes_out(void) {
    if (make_half_run(DIR "/r.state", DIR "/ref20.bin", DIR "/ref10.bin")) { CHECK(0, "library run: %s", inh_error()); return; }
    inh__os_remove(DIR "/r.bin");
    int rc = run(TOOL " train --resume " DIR "/r.state --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "resumed") && strstr(out, "step 20 loss"), "--resume S alone runs to step 20 (rc %d): %s", rc, out);
    CHECK(strstr(out, "the model goes to " DIR "/r.bin") && strstr(out, "saved " DIR "/r.bin"), "it says where the model goes: %s", out);
    CHECK(file_same(DIR "/r.bin", DIR "/ref20.bin"), "the recorded --out holds the step-20 model, bit for bit");
    inh_state_info si;
    rc = inh_trainer_state_info(DIR "/r.state", &si);
    CHECK(rc == 0 && si.version == 2 && si.step == 20 && !strcmp(si.out_path, DIR "/r.bin") && !strcmp(si.train_path, DIR "/c_train_000000.bin"),
          "the state file records version 2, step 20, out and data (%d %d '%s' '%s')", si.version, si.step, si.out_path, si.train_path);
    /* a version-1 file (no record) still loads: the header alone, with --data given */
    if (make_half_run(DIR "/v1.state", DIR "/ref20.bin", DIR "/ref10.bin") == 0) {
        unsigned char *buf = NULL;
        size_t len = 0;
        inh__read_file(DIR "/v1.state", &buf, &len, 0);
        uint32_t rlen = inh__rd32(buf + 4 * 72);
        inh__wr32(buf + 4, 1); inh__wr32(buf + 4 * 72, 0); inh__wr32(buf + 4 * 73, 0);
        FILE *f = fopen(DIR "/v1.state", "wb");
        fwrite(buf, 1, len - rlen, f);
        fclose(f);
        free(buf);
        rc = run(TOOL " train --resume " DIR "/v1.state --out " DIR "/v1.bin --threads 1", out, sizeof out);
        CHECK(rc == 0 && file_same(DIR "/v1.bin", DIR "/ref20.bin"), "a version-1 state resumes to the same model (rc %d): %s", rc, out);
    }
}

/* issue 25 #1: export --state S --out M (and convert S M) write the model inside a state file */
static void export_state(void) {
    if (make_half_run(DIR "/x.state", DIR "/ref20.bin", DIR "/ref10.bin")) { CHECK(0, "library run: %s", inh_error()); return; }
    inh__os_remove(DIR "/e.bin"); inh__os_remove(DIR "/cv.bin");
    int rc = run(TOOL " export --state " DIR "/x.state --out " DIR "/e.bin", out, sizeof out);
    CHECK(rc == 0 && file_same(DIR "/e.bin", DIR "/ref10.bin"), "export writes the state's model, bit for bit (rc %d): %s", rc, out);
    rc = run(TOOL " convert " DIR "/x.state " DIR "/cv.bin", out, sizeof out);
    CHECK(rc == 0 && file_same(DIR "/cv.bin", DIR "/ref10.bin"), "convert STATE MODEL does the same (rc %d): %s", rc, out);
    inh_model m;
    rc = inh_model_load_state(&m, DIR "/x.state");
    CHECK(rc == 0 && m.cfg.L == 2 && m.m_mem == NULL, "inh_model_load_state: the model, no moments: %s", inh_error());
    if (rc == 0) inh_model_free(&m);
    rc = run(TOOL " export --state " DIR "/ref10.bin --out " DIR "/e2.bin", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "not a training-state file") && !test_file_exists(DIR "/e2.bin"), "export of a model file is refused: %s", out);
}

/* issue 25 #6: the state file records every shard (path, tokens, hash); a resume over many shards
   continues exactly (sequential windows across a shard boundary); a changed shard is refused */
static void shards_state_records(void) {
    const char *common = TOOL " train --data '" DIR "/c_train_*.bin' --val '" DIR "/c_val_*.bin' --layers 1 --heads 2 --dim 16 --seq-max 16"
                         " --seq 16 --batch 4 --no-shuffle --schedule constant --lr 1e-2 --threads 1";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --steps 30 --out " DIR "/s30.bin", common);   /* 18 batches per shard: crosses into the second */
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0, "30 straight steps over 3 shards (rc %d): %s", rc, out);
    float straight = after(out, "val_loss ");
    snprintf(cmd, sizeof cmd, "%s --steps 12 --out " DIR "/s.bin --state " DIR "/s.state", common);
    rc = run(cmd, out, sizeof out);
    inh_state_info si;
    rc = rc || inh_trainer_state_info(DIR "/s.state", &si);
    int lines = 0;
    for (const char *p = si.record; (p = strstr(p, "train_shard=")) != NULL; p++) lines++;
    CHECK(rc == 0 && lines == 3 && strstr(si.record, "train_shard=1200 ") && strstr(si.record, "c_train_000002.bin") &&
          strstr(si.record, "val_shard=400 ") && !strcmp(si.train_path, DIR "/c_train_*.bin"),
          "the state records the glob and its 3 shards with counts and hashes: %s", si.record);
    rc = run(TOOL " train --resume " DIR "/s.state --steps 30", out, sizeof out);
    CHECK(rc == 0 && file_same(DIR "/s.bin", DIR "/s30.bin"), "resume over many shards = the straight run, bit for bit (rc %d): %s", rc, out);
    CHECK_CLOSE(after(out, "val_loss "), straight, 0, 0, "and the same validation loss");
    /* change one shard (same size, other ids): the resume names it and refuses */
    int ids[1200];
    for (int i = 0; i < 1200; i++) ids[i] = (i * 7) % 64;
    inh_data_write(DIR "/c_train_000001.bin", ids, 1200);
    rc = run(TOOL " train --resume " DIR "/s.state --steps 40", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "c_train_000001.bin: has changed") && strstr(out, "--allow-changes"), "a changed shard is refused, named (rc %d): %s", rc, out);
    inh__os_remove(DIR "/c_train_000002.bin");
    rc = run(TOOL " train --resume " DIR "/s.state --steps 40", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "2 shards, but the state file's run read 3"), "a missing shard: 2 shards where the run read 3 (rc %d): %s", rc, out);
}

/* a run on one shard is what it was before this change (the old tool printed these for the same
   corpus and seed: `synth --tokens 5000 --val-tokens 1000 --seed 7`, L=2 C=16, 12 steps) */
static void shards_one_shard_unchanged(void) {
    run(TOOL " synth --out " DIR "/one --tokens 5000 --val-tokens 1000 --seed 7", out, sizeof out);
    const char *base = TOOL " train --data " DIR "/one/train.bin --val " DIR "/one/val.bin --layers 2 --heads 2 --dim 16 --seq-max 16"
                       " --seq 16 --batch 4 --steps 12 --threads 1";
    char cmd[1024];
    int rc = run(base, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "step 12 loss 4.094944 ") && strstr(out, "step 12 val_loss 4.122273"), "shuffled: the old tool's losses: %s", out);
    snprintf(cmd, sizeof cmd, "%s --no-shuffle", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "step 12 loss 4.171732 ") && strstr(out, "step 12 val_loss 4.119983"), "sequential: the old tool's losses: %s", out);
}

int main(void) {
#if defined(_WIN32)
    SKIP("test_shards runs the tool through a POSIX shell (quoted globs): not on Windows");
    return test_summary("test_shards");
#endif
    setup();
    shards_glob_and_list();
    shards_sequential_order();
    shards_shuffled_across();
    resume_writes_out();
    export_state();
    shards_state_records();
    shards_one_shard_unchanged();
    return test_summary("test_shards");
}
