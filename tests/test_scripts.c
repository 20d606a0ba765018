/* tests/test_scripts.c - the scripts a newcomer runs first (issue 25): `make demo` (examples/demo.sh)
   and `make shortcuts` (examples/shortcuts.sh) check their input before deleting anything, record
   their settings beside their outputs and never reuse or delete what they did not make for these
   settings; the README's first screen and its torchrun section; Ctrl-C of a torchrun run (exit 130,
   one line, no traceback). The scripts run at tiny sizes (DEMO_SIZE=tiny; DIM, HEADS, VAL_TOKENS
   for shortcuts.sh), so the whole file takes seconds, plus about 20 s for the PyTorch part, which
   skips with one line when /usr/bin/python3 cannot import torch. Linux shell scripts over the Linux
   tool: not built for Windows. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#if !defined(_WIN32)
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include "test_proc.h"
#endif

#define DIR "build/scripts_test"
#ifndef PY
#define PY "/usr/bin/python3"   /* Debian's, where python3-torch installs */
#endif
static char out[1 << 17], buf[1 << 17];

/* the whole file into buf ("" when absent) */
static const char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    buf[0] = 0;
    if (!f) return buf;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}
static int file_has(const char *path, const char *text) { return strstr(slurp(path), text) != NULL; }
static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}
/* a text of about n bytes that a byte-level model can learn something from */
static void write_corpus(const char *path, int n) {
    static const char *w[] = {"the", "king", "shall", "speak", "of", "bread", "and", "a", "river", "when", "night", "comes", "to", "town"};
    FILE *f = fopen(path, "wb");
    unsigned s = 7;
    int k = 0;
    if (!f) return;
    while (k < n) {
        s = s * 1103515245u + 12345u;
        k += fprintf(f, "%s%s", w[(s >> 16) % 14], (s >> 8) % 9 == 0 ? ".\n" : " ");
    }
    fclose(f);
}

/* the demo's marker files: an earlier, long demo that must survive */
static const char *markers[] = {"ref.bin", "train.bin", "val.bin", "analysis.json", "settings.txt", "recipe/report.html", "recipe/round1_L4.bin"};
static void write_markers(const char *d) {
    char p[512];
    snprintf(p, sizeof p, "rm -rf %s && mkdir -p %s/recipe", d, d);
    if (system(p) != 0) return;
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++) {
        snprintf(p, sizeof p, "%s/%s", d, markers[i]);
        write_text(p, strcmp(markers[i], "settings.txt") ? "an earlier demo's result\n" : "data=long.txt\nsteps=600\nfinished=yes\n");
    }
}
static int markers_intact(const char *d) {
    char p[512];
    int ok = 1;
    for (size_t i = 0; i < sizeof markers / sizeof *markers; i++) {
        if (!strcmp(markers[i], "settings.txt") && strstr(d, "foreign")) continue;   /* that one had none */
        snprintf(p, sizeof p, "%s/%s", d, markers[i]);
        if (!test_file_exists(p)) { printf("  %s was deleted\n", p); ok = 0; }
        else if (strcmp(markers[i], "settings.txt") && !file_has(p, "an earlier demo's result")) { printf("  %s was replaced\n", p); ok = 0; }
    }
    return ok;
}

#define DEMO "TOOL=" TOOL " DEMO_SIZE=tiny REF_STEPS=20 THREADS=1 sh examples/demo.sh"

/* issue 25 #14: a too-short DATA after a long demo: refused before anything is deleted */
static void demo_checks_before_delete(void) {
    write_text(DIR "/short.txt", "six tokens");
    write_markers(DIR "/demo_keep");
    int rc = run("DEMO_DIR=" DIR "/demo_keep DATA=" DIR "/short.txt TOOL=" TOOL " sh examples/demo.sh", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "is 10 tokens; the demo needs at least 20000") && !strstr(out, "== 1."),
          "demo with a 10-token DATA fails, saying why (rc %d): %s", rc, out);
    CHECK(markers_intact(DIR "/demo_keep"), "... and every file of the earlier demo is still there, unchanged");
    /* issue 25 #14: the same at tiny sizes, the input checked against the tiny minimum */
    rc = run("DEMO_DIR=" DIR "/demo_keep DATA=" DIR "/short.txt " DEMO, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "needs at least") && markers_intact(DIR "/demo_keep"), "tiny mode: refused, nothing deleted (rc %d): %s", rc, out);
    /* issue 25 #14: a missing DATA: the same */
    rc = run("DEMO_DIR=" DIR "/demo_keep DATA=" DIR "/absent.txt " DEMO, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "no such file") && markers_intact(DIR "/demo_keep"), "a missing DATA: refused, nothing deleted (rc %d): %s", rc, out);
    /* issue 25 #14: files no demo recorded (no settings.txt) are not replaced */
    write_markers(DIR "/demo_foreign");
    run("rm -f " DIR "/demo_foreign/settings.txt", out, sizeof out);
    rc = run("DEMO_DIR=" DIR "/demo_foreign STEPS=10 " DEMO, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "no demo recorded") && strstr(out, "FRESH=1") && markers_intact(DIR "/demo_foreign") && !test_file_exists(DIR "/demo_foreign/settings.txt"),
          "a demo directory holding files without settings.txt is refused, its files kept (rc %d): %s", rc, out);
}

/* issue 25 #14: settings.txt beside the outputs: the same settings keep a finished demo, others redo it */
static void demo_settings_recorded(void) {
    run("rm -rf " DIR "/demo_s", out, sizeof out);
    int rc = run("DEMO_DIR=" DIR "/demo_s STEPS=10 " DEMO, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "== 1.") && test_file_exists(DIR "/demo_s/recipe/report.html"), "a tiny demo runs (rc %d): %s", rc, out);
    slurp(DIR "/demo_s/settings.txt");
    CHECK(strstr(buf, "data=synthetic") && strstr(buf, "steps=10\n") && strstr(buf, "ref_steps=20\n") && strstr(buf, "seed=1337") &&
          strstr(buf, "size=tiny") && strstr(buf, "finished=yes"), "settings.txt records data, sizes, steps, seed: %s", buf);
    write_text(DIR "/demo_s/recipe/mine.txt", "kept?");
    rc = run("DEMO_DIR=" DIR "/demo_s STEPS=10 " DEMO, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "already holds a finished demo with these settings") && !strstr(out, "== 1.") && test_file_exists(DIR "/demo_s/recipe/mine.txt"),
          "the same settings again: the finished demo is kept, nothing retrained (rc %d): %s", rc, out);
    rc = run("DEMO_DIR=" DIR "/demo_s STEPS=12 " DEMO, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "settings differ") && strstr(out, "steps=12") && strstr(out, "== 1.") && file_has(DIR "/demo_s/settings.txt", "steps=12\n") &&
          !test_file_exists(DIR "/demo_s/recipe/mine.txt") && strstr(out, "12 steps a round"),
          "other settings (STEPS 10 -> 12): the demo is redone, the difference named (rc %d): %s", rc, out);
    rc = run("DEMO_DIR=" DIR "/demo_s STEPS=12 FRESH=1 " DEMO, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "== 1."), "FRESH=1 redoes a finished demo (rc %d): %s", rc, out);
    /* issue 25 #14: each DATA gets its own directory by default, so another text cannot replace a demo */
    run("rm -rf build/demo-scripts_text", out, sizeof out);
    rc = run("DATA=" DIR "/scripts_text.txt STEPS=5 " DEMO, out, sizeof out);
    CHECK(rc == 0 && file_has("build/demo-scripts_text/settings.txt", "data=" DIR "/scripts_text.txt") && strstr(out, "build/demo-scripts_text/recipe/report.html"),
          "DATA=.../scripts_text.txt goes to build/demo-scripts_text (rc %d): %s", rc, out);
    run("rm -rf build/demo-scripts_text", out, sizeof out);
}

#define SC_ENV "TOOL=" TOOL " SHORTCUTS_DIR=" DIR "/sc L=2 DIM=16 HEADS=2 VAL_TOKENS=4000 EVAL_BATCHES=2 THREADS=1"
#define SC SC_ENV " CORPUS=" DIR "/my_corpus.txt sh examples/shortcuts.sh"

/* issue 25 #10: says what it needs, names the corpus it used, progress lines */
static void shortcuts_names_corpus(void) {
    run("rm -rf " DIR "/sc", out, sizeof out);
    int rc = run("STEPS=4 " SC, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "corpus: my_corpus.txt (bytes), 4 steps") && !strstr(out, "shakespeare"),
          "CORPUS=my_corpus.txt: the table names it, not tiny shakespeare (rc %d): %s", rc, out);
    CHECK(strstr(out, "shortcuts: corpus my_corpus.txt") && strstr(out, "[1/4] plain: step 1 loss") && strstr(out, "[4/4] plain1: step 4 loss"),
          "it says up front what it runs, and prints progress lines for every model: %s", out);
    CHECK(file_has(DIR "/sc/table.md", "corpus: my_corpus.txt"), "table.md names the corpus: %s", buf);
    /* issue 25 #10: the default corpus missing (run from a directory without ../shared): where to get it, or CORPUS= */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p " DIR "/nowhere && cd " DIR "/nowhere && TOOL=%s sh ../../../examples/shortcuts.sh", TOOL[0] == '/' ? TOOL : "../../../" TOOL);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "tiny shakespeare") && strstr(out, "https://") && strstr(out, "CORPUS="),
          "no tiny shakespeare: it says what it needs, where to get it, and how to pass another corpus (rc %d): %s", rc, out);
    rc = run(SC_ENV " CORPUS=" DIR "/absent.txt sh examples/shortcuts.sh", out, sizeof out);
    CHECK(rc != 0 && strstr(out, DIR "/absent.txt") && strstr(out, "no such file"), "a missing CORPUS is named (rc %d): %s", rc, out);
}

static int step_lines(const char *path) {
    int n = 0;
    slurp(path);
    for (const char *p = buf; (p = strstr(p, "step ")); p++)
        if ((p == buf || p[-1] == '\n') && strstr(p, " loss ") && strchr(p, '\n') > strstr(p, " loss ")) n++;
    return n;
}

/* issue 25 #13: STEPS=4 then STEPS=2: retrained, not the 4-step models again; the same settings reuse them */
static void shortcuts_settings_recorded(void) {
    CHECK(file_has(DIR "/sc/settings.txt", "--steps 4 ") && file_has(DIR "/sc/settings.txt", "corpus=" DIR "/my_corpus.txt"),
          "settings.txt beside the models records the corpus and steps: %s", slurp(DIR "/sc/settings.txt"));
    int n4 = step_lines(DIR "/sc/plain.log");
    int rc = run("STEPS=2 " SC, out, sizeof out);
    int n2 = step_lines(DIR "/sc/plain.log");
    CHECK(rc == 0 && n4 == 4 && n2 == 2 && strstr(out, "settings differ") && strstr(out, "[1/4] plain: training 2 steps") && strstr(out, "corpus: my_corpus.txt (bytes), 2 steps"),
          "STEPS=2 after STEPS=4 retrains every model (log steps %d then %d) (rc %d): %s", n4, n2, rc, out);
    CHECK(file_has(DIR "/sc/settings.txt", "--steps 2 "), "settings.txt now says 2 steps");
    rc = run("STEPS=2 " SC, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "reusing the models") && strstr(out, "[4/4] plain1: reusing") && !strstr(out, "training 2 steps"),
          "the same settings again reuse the models, saying so (rc %d): %s", rc, out);
    write_corpus(DIR "/my_corpus.txt", 41000);   /* the same name, other content */
    rc = run("STEPS=2 " SC, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "settings differ") && strstr(out, "corpus_id") && strstr(out, "[1/4] plain: training 2 steps"),
          "a changed corpus (same path) retrains (rc %d): %s", rc, out);
}

/* issue 25 #12: a first screen for a newcomer; the benchmark tables in bench/README.md */
static void readme_first_screen(void) {
    slurp("README.md");
    char *p = buf;
    for (int i = 0; i < 40 && p && *p; i++) { p = strchr(p, '\n'); if (p) p++; }
    if (p) *p = 0;   /* buf: the first 40 lines */
    int rows = 0;
    for (const char *q = buf; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) if (*q == '|') rows++;
    CHECK(strstr(buf, "make demo") && strstr(buf, "make test"), "the first 40 lines of README.md give make demo and make test:\n%s", buf);
    CHECK(strstr(buf, "bench/README.md"), "... and link bench/README.md");
    CHECK(rows == 0 && !strstr(buf, "ms/step") && !strstr(buf, "GFLOP"), "... and hold no table (%d table rows)", rows);
    CHECK(strstr(buf, "Try next") || strstr(buf, "try next"), "... and say what to try next");
    CHECK(file_has("bench/README.md", "| shape | precision | threads | before ms/step | after ms/step | PyTorch ms/step |") &&
          file_has("bench/README.md", "| matmul / OpenBLAS sgemm") && file_has("bench/README.md", "make bench-bf16"),
          "bench/README.md holds the benchmark tables (PyTorch, the speed table, the other benchmarks)");
    CHECK(!file_has("README.md", "| PyTorch / before |") && !file_has("README.md", "| matmul / OpenBLAS sgemm"), "README.md no longer holds them");
}

/* issue 25 #5 and #18: the torchrun commands carry the Debian 12 workaround where they are first shown;
   python3 -m torch.distributed.run is Debian's /usr/bin/python3 */
static void readme_torchrun_workaround(void) {
    slurp("README.md");
    static const char *launch[] = {"torchrun ", "srun ", "python3 -m torch.distributed.run", "/usr/bin/python3 -m torch.distributed.run",
                                   "python3 examples/torch/torchrun.py", "/usr/bin/python3 examples/torch/torchrun.py"};
    const char *first = NULL;
    for (const char *l = buf; l && *l && !first; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {   /* the first line that launches torchrun */
        const char *c = l;
        while (*c == ' ') c++;
        for (size_t i = 0; i < sizeof launch / sizeof *launch; i++) if (!strncmp(c, launch[i], strlen(launch[i]))) first = l;
    }
    CHECK(first != NULL, "README.md launches torchrun somewhere");
    if (!first) return;
    /* the workaround on the first command itself, or in the 12 lines above it */
    const char *from = first;
    for (int i = 0; i < 12 && from > buf; i++) { from--; while (from > buf && from[-1] != '\n') from--; }
    const char *eol = strchr(first, '\n');
    size_t n = (size_t)((eol ? eol : first + strlen(first)) - from);
    char win[4096];
    if (n >= sizeof win) n = sizeof win - 1;
    memcpy(win, from, n); win[n] = 0;
    CHECK(strstr(win, "--redirects 9:0 --tee 9:0") || strstr(win, "examples/torch/torchrun.py"),
          "the first torchrun command carries the Debian 12 workaround (or the wrapper that applies it):\n%s", win);
    CHECK(strstr(buf, "'NoneType' object has no attribute 'get'"), "the README names the error the workaround is for");
    int bare = 0;
    for (const char *p = buf; (p = strstr(p, "python3 -m torch.distributed.run")); p++) if (p - buf < 9 || strncmp(p - 9, "/usr/bin/", 9)) bare++;
    CHECK(bare == 0, "every python3 -m torch.distributed.run is /usr/bin/python3's (%d are not)", bare);
    CHECK(strstr(buf, "/usr/bin/python3 examples/torch/torchrun.py"), "the wrapper is shown with Debian's python");
}

#if !defined(_WIN32)
static int have_torch(void) { return run(PY " -c 'import torch, numpy, torch.distributed' >/dev/null 2>&1", out, sizeof out) == 0; }


/* issue 25 #18: Ctrl-C of a torchrun run: exit 130, one line, no traceback; train.py's help */
static void torch_ctrl_c(void) {
    if (!have_torch()) { SKIP("torch: " PY " cannot import torch (Debian: apt-get install python3-torch); torchrun's Ctrl-C is not tested"); return; }
    char cmd[2048];
    int rc = run("rm -rf " DIR "/torch && " TOOL " synth --out " DIR "/torch --tokens 20000 --val-tokens 4000 --vocab 64", out, sizeof out);
    CHECK(rc == 0, "synth: %s", out);
    const char *job = " examples/torch/train.py --data " DIR "/torch/train.bin --val " DIR "/torch/val.bin --layers 2 --heads 2 --dim 32"
                      " --seq-max 32 --vocab 64 --seq 32 --steps 100000 --cpu --state " DIR "/torch/run.state";
    int port = 20000 + (int)(getpid() % 20000);
    /* issue 25 #18: Ctrl-C after a few steps on 2 ranks */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 " PY " examples/torch/torchrun.py --nnodes 1 --rdzv_backend c10d --rdzv_endpoint 127.0.0.1:%d --monitor_interval 0.5 --nproc_per_node 2%s",
             port, job);
    rc = run_ctrl_c(cmd, "step 3 loss", 0, out, sizeof out);
    /* issue 25 #5: the wrapper ran train.py as written (no --redirects/--tee), where Debian 12's torchrun fails */
    CHECK(strstr(out, "step 3 loss") && !strstr(out, "'NoneType' object"), "examples/torch/torchrun.py runs train.py as written:\n%s", out);
    CHECK(rc == 130 && !strstr(out, "Traceback") && strstr(out, "torchrun: stopped by SIGINT") && strstr(out, "interrupted: stopped after step") &&
          !strstr(out, "SignalException") && !strstr(out, "death signal"),
          "Ctrl-C of a torchrun run: exit 130, one line from torchrun, no traceback (rc %d):\n%s", rc, out);
    CHECK(test_file_exists(DIR "/torch/run.state"), "... and the ranks saved their state");
    /* issue 25 #18: Ctrl-C while torch is still loading (train.py alone, and under the wrapper) */
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 " PY "%s", job);
    rc = run_ctrl_c(cmd, NULL, 300, out, sizeof out);
    CHECK(rc == 130 && !strstr(out, "Traceback") && strstr(out, "interrupted"), "Ctrl-C of train.py 0.3 s after its start: exit 130, one line (rc %d):\n%s", rc, out);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 " PY " examples/torch/torchrun.py --nnodes 1 --rdzv_backend c10d --rdzv_endpoint 127.0.0.1:%d --monitor_interval 0.5 --nproc_per_node 1%s",
             port + 1, job);
    rc = run_ctrl_c(cmd, NULL, 300, out, sizeof out);
    CHECK(rc == 130 && !strstr(out, "Traceback") && strstr(out, "interrupted"), "Ctrl-C of the wrapper 0.3 s after its start: exit 130, one line (rc %d):\n%s", rc, out);
    /* issue 25 #18: train.py's help speaks of the option, not of an issue number */
    slurp("examples/torch/train.py");
    CHECK(strstr(buf, "help=\"new model: attention shortcuts") && !strstr(buf, "(issue "), "train.py's help names no issue");
}
#endif

int main(void) {
#if defined(_WIN32)
    SKIP("the scripts (demo.sh, shortcuts.sh) and torchrun are Linux ones; run this test on Linux");
#else
    if (system("mkdir -p " DIR) != 0) { CHECK(0, "mkdir " DIR); return test_summary("scripts"); }
    write_corpus(DIR "/scripts_text.txt", 30000);
    write_corpus(DIR "/my_corpus.txt", 40000);
    static void (*const parts[])(void) = {readme_first_screen, readme_torchrun_workaround, demo_checks_before_delete, demo_settings_recorded,
                                          shortcuts_names_corpus, shortcuts_settings_recorded, torch_ctrl_c};
    static const char *names[] = {"readme_first_screen", "readme_torchrun_workaround", "demo_checks_before_delete", "demo_settings_recorded",
                                  "shortcuts_names_corpus", "shortcuts_settings_recorded", "torch_ctrl_c"};
    for (int i = 0; i < 7; i++) {
        double t0 = inh_now();
        parts[i]();
        printf("info: %s: %.1f s\n", names[i], inh_now() - t0);
    }
#endif
    return test_summary("scripts");
}
