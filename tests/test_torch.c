/* tests/test_torch.c - training moves between the C tool and PyTorch (examples/torch/train.py, under
   torchrun with DDP on gloo) with the same numbers, and `recipe --trainer CMD` hands its runs to
   either, surviving an interruption. The PyTorch part skips with one line when /usr/bin/python3
   cannot import torch; the delegation through the C trainer runs everywhere. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <unistd.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include "test_proc.h"

#define DIR "build/torch_test"
#ifndef PY
#define PY "/usr/bin/python3"   /* Debian's, where python3-torch installs */
#endif
#define TRAIN_PY "examples/torch/train.py"
/* torchrun of Debian's torch 1.13 under Python 3.11 cannot parse its own default "0" for --redirects
   and --tee (an IntFlag change); a mapping for a local rank that does not exist means "none" on every
   version. The rendezvous port comes from the process id (torch 1.13's --standalone always takes
   29400), so test runs side by side do not collide. */
static char torchrun_cmd[256];
static void torchrun_init(void) {
    snprintf(torchrun_cmd, sizeof torchrun_cmd, PY " -m torch.distributed.run --nnodes 1 --rdzv_backend c10d --rdzv_endpoint 127.0.0.1:%d"
             " --redirects 9:0 --tee 9:0", 20000 + (int)(getpid() % 20000));
}

static char out[1 << 18], out2[1 << 18];

/* losses of the "step N loss X" lines, by step (index N-1); returns the highest step seen */
static int step_losses(const char *s, float *loss, int max) {
    int last = 0;
    for (const char *p = s; (p = strstr(p, "step ")); p++) {
        int k; float l;
        if ((p == s || p[-1] == '\n') && sscanf(p, "step %d loss %f", &k, &l) == 2 && k >= 1 && k <= max) { loss[k - 1] = l; if (k > last) last = k; }
    }
    return last;
}
static float val_loss_at(const char *s, int step) {
    char key[64];
    float v = NAN;
    snprintf(key, sizeof key, "step %d val_loss ", step);
    const char *p = strstr(s, key);
    if (p) sscanf(p + strlen(key), "%f", &v);
    return v;
}
static double max_dloss(const float *a, const float *b, int from, int to) {
    double w = 0;
    for (int i = from; i < to; i++) w = fmax(w, fabs((double)a[i] - b[i]));
    return w;
}
/* largest |a - b| over all parameters of two model files of the same shape; -1 if they differ in shape */
static double model_diff(const char *pa, const char *pb) {
    inh_model a, b;
    double w = -1;
    if (inh_model_load(&a, pa)) return -1;
    if (inh_model_load(&b, pb)) { inh_model_free(&a); return -1; }
    if (a.num_params == b.num_params && !memcmp(&a.cfg, &b.cfg, sizeof a.cfg)) {
        w = 0;
        for (size_t i = 0; i < a.num_params; i++) w = fmax(w, fabs((double)a.params_mem[i] - b.params_mem[i]));
    }
    inh_model_free(&a); inh_model_free(&b);
    return w;
}
static int exists(const char *path) { return access(path, F_OK) == 0; }

static void make_files(void) {
    int *ids = (int *)malloc(sizeof(int) * 24000);
    if (system("mkdir -p " DIR) != 0) return;
    inh_synth_corpus(ids, 24000, 64, 11);
    inh_data_write(DIR "/train.bin", ids, 20000);
    inh_data_write(DIR "/val.bin", ids + 20000, 4000);
    free(ids);
    int rc = run(TOOL " train --data " DIR "/train.bin --layers 2 --heads 2 --dim 32 --seq-max 32 --vocab 64 --seq 32"
                 " --steps 0 --out " DIR "/init.bin --threads 1", out, sizeof out);
    CHECK(rc == 0, "a C-made init (2 layers, C=32, V=64): %s", out);
    rc = run(TOOL " train --data " DIR "/train.bin --layers 3 --heads 2 --dim 32 --seq-max 32 --vocab 64 --seq 32 --no-bias"
             " --layer-scale --seed 5 --steps 0 --out " DIR "/init_nb.bin --threads 1", out, sizeof out);
    CHECK(rc == 0, "a C-made init without biases, with layer scale: %s", out);
    rc = run(TOOL " train --data " DIR "/train.bin --layers 2 --heads 2 --dim 32 --seq-max 32 --vocab 64 --seq 32 --batch 8"
             " --steps 150 --lr 3e-3 --out " DIR "/ref.bin --threads 1", out, sizeof out);
    CHECK(rc == 0, "a small trained reference for the recipe: %s", out);
}

/* a recipe.json without its "seconds" fields (wall time) and without curve points at step 0 (the
   starting model's loss, which a recipe may record before training): the rest must be identical */
static void read_json_sans_seconds(const char *path, char *dst, size_t cap) {
    unsigned char *buf = NULL;
    size_t len = 0, n = 0;
    dst[0] = 0;
    if (inh__read_file(path, &buf, &len, 0)) return;
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        if (!strncmp((const char *)buf + i, "\"seconds\": ", 11)) { i += 11; while (i < len && buf[i] != ',') i++; continue; }
        if (!strncmp((const char *)buf + i, "[0, ", 4)) {   /* "[0, X], " or "[0, X]" */
            while (i < len && buf[i] != ']') i++;
            if (i + 2 < len && buf[i + 1] == ',' && buf[i + 2] == ' ') i += 2;
            continue;
        }
        dst[n++] = (char)buf[i];
    }
    dst[n] = 0;
    free(buf);
}

#define RECIPE TOOL " recipe --ref " DIR "/ref.bin --data " DIR "/train.bin --val " DIR "/val.bin --batch 4 --seq 32 --lr 1e-3" \
    " --start 1 --grow 1 --eval-every 10 --eval-batches 4 --save-every 10 --threads 1"

/* the delegation itself, through the C trainer: the same report as the built-in trainer's */
static void delegate_c(void) {
    int rc = run("rm -rf " DIR "/rb " DIR "/rt " DIR "/rf " DIR "/rf2 " DIR "/rf3 " DIR "/rf4", out, sizeof out);
    rc = run(RECIPE " --steps 30 --baselines random,stack --out " DIR "/rb", out, sizeof out);
    CHECK(rc == 0, "built-in recipe: %s", out);
    rc = run(RECIPE " --steps 30 --baselines random,stack --out " DIR "/rt --trainer '" TOOL " train --threads 1'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "[round1_L1] step 30 val_loss") && strstr(out, "[stack_half] running: " TOOL " train"),
          "recipe --trainer 'inheritune train': every run (rounds, baselines, stack's half) through the command (rc %d)", rc);
    read_json_sans_seconds(DIR "/rb/recipe.json", out, sizeof out);
    read_json_sans_seconds(DIR "/rt/recipe.json", out2, sizeof out2);
    CHECK(out[0] && !strcmp(out, out2), "recipe.json through the C trainer equals the built-in one (losses, curves, depths):\n%s\n%s", out, out2);
    CHECK(!exists(DIR "/rt/round1_L1.init.bin") && !exists(DIR "/rt/round1_L1.state") && !exists(DIR "/rt/round1_L1.curve"),
          "a finished run leaves no init, state or curve file");
    rc = run(RECIPE " --steps 5 --baselines none --out " DIR "/rf --trainer false", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "round1_L1") && strstr(out, "the trainer 'false' failed (exit status 1)"),
          "a failing trainer is an error naming the run and the command (rc %d): %s", rc, out);
    rc = run(RECIPE " --steps 5 --baselines none --out " DIR "/rf2 --trainer true", out, sizeof out);
    CHECK(rc != 0 && strstr(out, DIR "/rf2/round1_L1.bin") && strstr(out, "cannot open"),
          "a trainer that writes no model: the missing file is named (rc %d): %s", rc, out);
    FILE *f = fopen(DIR "/wrong.sh", "w");   /* a "trainer" that hands back the 2-layer reference for a 1-layer run */
    if (f) { fputs("while [ $# -gt 0 ]; do [ \"$1\" = --out ] && cp " DIR "/ref.bin \"$2\"; shift; done\n", f); fclose(f); }
    rc = run(RECIPE " --steps 5 --baselines none --out " DIR "/rf4 --trainer 'sh " DIR "/wrong.sh'", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "is not the one it started from (L=2") && strstr(out, "want L=1"),
          "a trainer that returns another model's shape is refused (rc %d): %s", rc, out);
    rc = run(RECIPE " --steps 5 --baselines distill --out " DIR "/rf3 --trainer true", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "distill"), "the distill baseline cannot be delegated, said up front: %s", out);
}

static int have_torch(void) { return run(PY " -c 'import torch, numpy, torch.distributed' >/dev/null 2>&1", out, sizeof out) == 0; }

/* (a) the same 20 steps in C and in PyTorch (1 and 2 ranks); a torch state resumed by the C tool */
static void parity(void) {
    const char *job = " --init " DIR "/init.bin --data " DIR "/train.bin --val " DIR "/val.bin --batch 4 --seq 32 --lr 1e-3"
                      " --no-shuffle --schedule constant --eval-every 10";
    char cmd[2048];
    float c[20], t2[20], t1[20], cr[20];
    for (int i = 0; i < 20; i++) c[i] = t2[i] = t1[i] = cr[i] = NAN;
    snprintf(cmd, sizeof cmd, TOOL " train%s --steps 20 --threads 1 --out " DIR "/c.bin", job);
    double t0 = inh_now();
    int rc = run(cmd, out, sizeof out);
    double c_s = inh_now() - t0;
    CHECK(rc == 0 && step_losses(out, c, 20) == 20, "C trainer, 20 steps: %s", out);
    float cv = val_loss_at(out, 20);
    snprintf(cmd, sizeof cmd, "%s --nproc_per_node 2 " TRAIN_PY "%s --steps 20 --out " DIR "/t2.bin", torchrun_cmd, job);
    t0 = inh_now();
    rc = run(cmd, out, sizeof out);
    double t_s = inh_now() - t0;
    CHECK(rc == 0 && step_losses(out, t2, 20) == 20 && strstr(out, "2 ranks (gloo, cpu)"), "torchrun, 2 ranks (gloo), 20 steps (rc %d): %s", rc, out);
    double d = max_dloss(c, t2, 0, 20), dm = model_diff(DIR "/c.bin", DIR "/t2.bin");
    /* fp32 in both; only the order of sums differs (measured 0 to 1e-6 at 6 printed decimals) */
    CHECK(d <= 1e-4, "C vs torchrun x2: per-step losses within 1e-4 (max |dloss| %.2g)", d);
    CHECK(fabs(cv - val_loss_at(out, 20)) <= 1e-4, "validation loss at step 20 within 1e-4 (%.6f vs %.6f)", cv, val_loss_at(out, 20));
    /* an AdamW step moves a weight by about lr = 1e-3 whatever the gradient's size, so rounding
       differences could at worst show at that scale; measured ~6e-7: the bound is lr/10 */
    CHECK(dm >= 0 && dm <= 1e-4, "final checkpoints: max |dw| %.2g <= 1e-4 (lr/10)", dm);
    printf("info: parity C vs torchrun x2, 20 steps: max |dloss| %.2g, max |dw| %.2g; wall time C %.2f s, torchrun x2 %.2f s (start-up included)\n",
           d, dm, c_s, t_s);

    /* one process (no torchrun): 10 steps, its state, 10 more from it; and the C tool resumes the same state */
    snprintf(cmd, sizeof cmd, PY " " TRAIN_PY "%s --steps 10 --state " DIR "/t1.state", job);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, t1, 20) == 10 && strstr(out, "1 process (cpu)"), "one process, steps 1-10 with --state (rc %d): %s", rc, out);
    snprintf(cmd, sizeof cmd, PY " " TRAIN_PY " --resume " DIR "/t1.state --data " DIR "/train.bin --val " DIR "/val.bin --eval-every 10"
             " --steps 20 --out " DIR "/t1.bin --state " DIR "/t1r.state");   /* (t1.state stays at step 10 for the C tool below) */
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, t1, 20) == 20 && strstr(out, "resumed " DIR "/t1.state at step 10"), "one process resumes to step 20 (rc %d): %s", rc, out);
    d = max_dloss(t1, t2, 0, 20);
    CHECK(d <= 1e-5, "1 rank (with a resume) vs 2 ranks: losses within 1e-5 (max %.2g)", d);
    dm = model_diff(DIR "/t1.bin", DIR "/t2.bin");
    CHECK(dm >= 0 && dm <= 1e-5, "1 rank vs 2 ranks: checkpoints within 1e-5 (max |dw| %.2g)", dm);
    snprintf(cmd, sizeof cmd, TOOL " train --resume " DIR "/t1.state --data " DIR "/train.bin --steps 20 --threads 1");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, cr, 20) == 20, "the C tool resumes PyTorch's state file (rc %d): %s", rc, out);
    d = max_dloss(cr, c, 10, 20);
    CHECK(d <= 1e-4, "steps 11-20 resumed by C from the torch state vs C straight: within 1e-4 (max %.2g)", d);
    printf("info: 1 process (resumed at 10) vs 2 ranks: max |dloss| %.2g, max |dw| %.2g; C resuming the torch state: max |dloss| %.2g\n",
           max_dloss(t1, t2, 0, 20), dm, d);
}

/* issue 25 #5: a state written by train.py records its out, data and validation data exactly as the
   C tool's (state version 2: every shard with its count and hash), so that either resumes the
   other's with `--resume S` (here with --steps to go on past a constant schedule's end); many
   shards (globs) read in the same order; a changed shard is refused */
static void torch_state_resumes(void) {
    int *ids = (int *)malloc(sizeof(int) * 5200);
    const int part[5] = {1000, 1200, 900, 1000, 1000};   /* 3 train shards (7, 9, 6 batches of 4 x 32), 2 val */
    inh_synth_corpus(ids, 5200, 64, 23);
    for (int k = 0, off = 0; k < 5; off += part[k++]) {
        char p[256];
        snprintf(p, sizeof p, DIR "/sh_%s_%03d.bin", k < 3 ? "train" : "val", k < 3 ? k : k - 3);
        inh_data_write(p, ids + off, (size_t)part[k]);
    }
    free(ids);
    const char *job = " --init " DIR "/init.bin --data '" DIR "/sh_train_*.bin' --val '" DIR "/sh_val_*.bin' --batch 4 --seq 32 --lr 1e-3"
                      " --no-shuffle --schedule constant";
    char cmd[2048];
    float cs[20], tp[20], tc[20];
    for (int i = 0; i < 20; i++) cs[i] = tp[i] = tc[i] = NAN;
    snprintf(cmd, sizeof cmd, TOOL " train%s --steps 20 --threads 1 --out " DIR "/sh_c20.bin", job);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, cs, 20) == 20, "C, 20 steps over 3 shards: %s", out);
    float cv = val_loss_at(out, 20);
    /* train.py's state, resumed by the C tool with no --data, --val or --out */
    run("rm -f " DIR "/sh_tp.bin " DIR "/sh_tp.state", out, sizeof out);
    snprintf(cmd, sizeof cmd, PY " " TRAIN_PY "%s --steps 10 --out " DIR "/sh_tp.bin --state " DIR "/sh_tp.state", job);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, tp, 20) == 10, "train.py, 10 steps over the glob (rc %d): %s", rc, out);
    rc = run(TOOL " train --resume " DIR "/sh_tp.state --steps 20 --threads 1", out, sizeof out);
    CHECK(rc == 0 && step_losses(out, tp, 20) == 20 && strstr(out, "the model goes to " DIR "/sh_tp.bin") && strstr(out, "saved " DIR "/sh_tp.bin"),
          "the C tool resumes train.py's state with its recorded data, val and out (rc %d): %s", rc, out);
    CHECK(max_dloss(tp, cs, 0, 20) <= 1e-4 && fabs(val_loss_at(out, 20) - cv) <= 1e-4,
          "train.py 1-10 + C 11-20 = C 1-20 within 1e-4 (max %.2g, val %.6f vs %.6f)", max_dloss(tp, cs, 0, 20), val_loss_at(out, 20), cv);
    double dm = model_diff(DIR "/sh_tp.bin", DIR "/sh_c20.bin");
    CHECK(dm >= 0 && dm <= 1e-4, "the recorded --out holds the step-20 model (max |dw| %.2g vs C straight)", dm);
    /* the C tool's state, resumed by train.py */
    run("rm -f " DIR "/sh_tc.bin " DIR "/sh_tc.state", out, sizeof out);
    snprintf(cmd, sizeof cmd, TOOL " train%s --steps 10 --threads 1 --out " DIR "/sh_tc.bin --state " DIR "/sh_tc.state", job);
    rc = run(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, PY " " TRAIN_PY " --resume " DIR "/sh_tc.state --steps 20");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, tc, 20) == 20 && strstr(out, "the model goes to " DIR "/sh_tc.bin") && strstr(out, "saved " DIR "/sh_tc.bin"),
          "train.py resumes the C tool's state with its recorded data, val and out (rc %d): %s", rc, out);
    CHECK(max_dloss(tc, cs, 10, 20) <= 1e-4 && fabs(val_loss_at(out, 20) - cv) <= 1e-4,
          "C 1-10 + train.py 11-20 = C 1-20 within 1e-4 (max %.2g, val %.6f vs %.6f)", max_dloss(tc, cs, 10, 20), val_loss_at(out, 20), cv);
    dm = model_diff(DIR "/sh_tc.bin", DIR "/sh_c20.bin");
    CHECK(dm >= 0 && dm <= 1e-4, "train.py wrote the step-20 model to the recorded --out (max |dw| %.2g)", dm);
    /* a changed shard: train.py refuses, naming it */
    int other[1200];
    for (int i = 0; i < 1200; i++) other[i] = (i * 5) % 64;
    inh_data_write(DIR "/sh_train_001.bin", other, 1200);
    rc = run(PY " " TRAIN_PY " --resume " DIR "/sh_tc.state --steps 30", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "sh_train_001.bin: has changed"), "train.py refuses a changed shard, named (rc %d): %s", rc, out);
}

/* the other options: no biases, layer scale, shuffled windows, accumulation, warm-up, --decay-all,
   clipping, a global batch of 5 split 2 + 3 over the ranks */
static void parity_options(void) {
    const char *job = " --init " DIR "/init_nb.bin --data " DIR "/train.bin --val " DIR "/val.bin --batch 5 --seq 16 --steps 20"
                      " --lr 2e-3 --accum 2 --warmup 3 --decay-all --grad-clip 0.5 --seed 9 --eval-every 10";
    char cmd[2048];
    float c[20], t[20];
    for (int i = 0; i < 20; i++) c[i] = t[i] = NAN;
    snprintf(cmd, sizeof cmd, TOOL " train%s --threads 1 --out " DIR "/c_nb.bin", job);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, c, 20) == 20, "C trainer, options: %s", out);
    snprintf(cmd, sizeof cmd, "%s --nproc_per_node 2 " TRAIN_PY "%s --out " DIR "/t_nb.bin", torchrun_cmd, job);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, t, 20) == 20 && strstr(out, "no-bias layer-scale"), "torchrun x2, options (rc %d): %s", rc, out);
    double d = max_dloss(c, t, 0, 20), dm = model_diff(DIR "/c_nb.bin", DIR "/t_nb.bin");
    CHECK(d <= 1e-4, "no-bias, layer-scale, shuffled, accum 2, B=5 over 2 ranks: losses within 1e-4 (max %.2g)", d);
    CHECK(dm >= 0 && dm <= 2e-4, "... final checkpoints within 2e-4 = lr/10 (max |dw| %.2g)", dm);
    printf("info: parity with options: max |dloss| %.2g, max |dw| %.2g\n", d, dm);
}

/* attention shortcuts (issue 13), when the C tool has them: both variants, a subset of layers, with
   and without biases, from C-made inits */
static void parity_shortcuts(void) {
    run(TOOL " train --help", out, sizeof out);
    if (!strstr(out, "--shortcuts")) { SKIP("shortcuts: build/inheritune train has no --shortcuts yet; the PyTorch model has them, untested against C"); return; }
    for (int v = 0; v < 2; v++) {
        char cmd[2048], job[512];
        float c[10], t[10];
        for (int i = 0; i < 10; i++) c[i] = t[i] = NAN;
        snprintf(cmd, sizeof cmd, TOOL " train --data " DIR "/train.bin --layers 3 --heads 2 --dim 32 --seq-max 32 --vocab 64 --seq 32"
                 " --shortcuts %s --shortcut-layers %s --steps 0 --out " DIR "/init_sc.bin --threads 1", v ? "depth --no-bias" : "causal", v ? "1" : "0,1");
        int rc = run(cmd, out, sizeof out);
        CHECK(rc == 0, "a C-made init with %s shortcuts: %s", v ? "depth" : "causal", out);
        snprintf(job, sizeof job, " --init " DIR "/init_sc.bin --data " DIR "/train.bin --batch 4 --seq 32 --steps 10 --lr 1e-3 --no-shuffle");
        snprintf(cmd, sizeof cmd, TOOL " train%s --threads 1 --out " DIR "/c_sc.bin", job);
        rc = run(cmd, out, sizeof out);
        CHECK(rc == 0 && step_losses(out, c, 10) == 10, "C trainer with shortcuts: %s", out);
        snprintf(cmd, sizeof cmd, "%s --nproc_per_node 2 " TRAIN_PY "%s --out " DIR "/t_sc.bin", torchrun_cmd, job);
        rc = run(cmd, out, sizeof out);
        CHECK(rc == 0 && step_losses(out, t, 10) == 10 && strstr(out, v ? "shortcuts=depth:1" : "shortcuts=causal:0,1"),
              "torchrun x2 with shortcuts (rc %d): %s", rc, out);
        double d = max_dloss(c, t, 0, 10), dm = model_diff(DIR "/c_sc.bin", DIR "/t_sc.bin");
        CHECK(d <= 1e-4, "%s shortcuts: losses within 1e-4 (max %.2g)", v ? "depth" : "causal", d);
        CHECK(dm >= 0 && dm <= 1e-4, "%s shortcuts: checkpoints within 1e-4 = lr/10 (max |dw| %.2g)", v ? "depth" : "causal", dm);
        printf("info: %s shortcuts, 10 steps: max |dloss| %.2g, max |dw| %.2g\n", v ? "depth (no bias)" : "causal", d, dm);
    }
}

/* (b) a two-round recipe whose runs train under torchrun, stopped by Ctrl-C (SIGINT to the whole
   process group, as a terminal sends it) in round 1 and run again */
static void recipe_torchrun(void) {
    char trainer[512];
    snprintf(trainer, sizeof trainer, "%s --nproc_per_node 2 " TRAIN_PY, torchrun_cmd);
    char cmd[2048];
    int rc = run("rm -rf " DIR "/rp " DIR "/rc", out, sizeof out);
    rc = run(RECIPE " --steps 40 --baselines none --out " DIR "/rc", out, sizeof out);
    CHECK(rc == 0, "the built-in recipe, for comparison: %s", out);
    snprintf(cmd, sizeof cmd, RECIPE " --steps 40 --baselines none --out " DIR "/rp --trainer '%s'", trainer);

    /* its own process group, so that the signal reaches the recipe, torchrun and the ranks */
    rc = run_ctrl_c(cmd, "[round1_L1] step 5 loss", 0, out, sizeof out);
    int sent = strstr(out, "[round1_L1] step 5 loss") != NULL;
    CHECK(sent && rc == 130 && strstr(out, "stopped (interrupted)") && strstr(out, "interrupted: stopped after step"),
          "Ctrl-C during round 1: the ranks save and stop, the recipe exits 130 (rc %d):\n%s", rc, out);
    CHECK(exists(DIR "/rp/round1_L1.state") && !exists(DIR "/rp/recipe.json"), "round 1's state is on disk, no report yet");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "[round1_L1] resumed " DIR "/rp/round1_L1.state at step") && strstr(out, "[round2_L2] running:"),
          "run again: round 1 resumes from its state, round 2 runs (rc %d):\n%s", rc, out);
    read_json_sans_seconds(DIR "/rp/recipe.json", out, sizeof out);
    read_json_sans_seconds(DIR "/rc/recipe.json", out2, sizeof out2);
    float a1 = NAN, a2 = NAN, b1 = NAN, b2 = NAN;
    const char *p = strstr(out, "\"round1_L1\""), *q = strstr(out2, "\"round1_L1\"");
    if (p && (p = strstr(p, "val_loss\": "))) a1 = strtof(p + 11, NULL);
    if (q && (q = strstr(q, "val_loss\": "))) b1 = strtof(q + 11, NULL);
    p = strstr(out, "\"round2_L2\""); q = strstr(out2, "\"round2_L2\"");
    if (p && (p = strstr(p, "val_loss\": "))) a2 = strtof(p + 11, NULL);
    if (q && (q = strstr(q, "val_loss\": "))) b2 = strtof(q + 11, NULL);
    CHECK(strstr(out, "\"final_layers\": 2") && strstr(out, "[10, ") && strstr(out, "[40, ") && !strstr(out, "\"distill\""),
          "the report: two rounds, curves every 10 steps: %s", out);
    /* 40 shuffled steps, interrupted and resumed under torchrun, against the C trainer straight:
       a resume that lost or repeated a batch would differ by far more than rounding */
    CHECK(fabs(a1 - b1) <= 1e-4 && fabs(a2 - b2) <= 1e-4, "validation losses equal the built-in recipe's within 1e-4 (%.6f/%.6f, %.6f/%.6f)", a1, b1, a2, b2);
    CHECK(!exists(DIR "/rp/round1_L1.state") && !exists(DIR "/rp/round1_L1.init.bin") && exists(DIR "/rp/round2_L2.bin") && exists(DIR "/rp/report.html"),
          "finished: models and report written, state and init removed");
}

int main(void) {
    setenv("OMP_NUM_THREADS", "1", 1);   /* torch's threads: one per rank on a shared machine */
    torchrun_init();
    make_files();
    delegate_c();
    if (!have_torch()) {
        SKIP("torch: " PY " cannot import torch (Debian: apt-get install python3-torch); the PyTorch trainer is not tested");
        return test_summary("torch");
    }
    int rc = run(PY " examples/torch/model.py", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "model.py: ok"), "model.py's self-test (file round trips, both shortcut variants): %s", out);
    parity();
    torch_state_resumes();
    parity_options();
    parity_shortcuts();
    recipe_torchrun();
    return test_summary("torch");
}
