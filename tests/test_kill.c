/* tests/test_kill.c - crash safety: training that saves every step is killed with SIGKILL at random
   moments; the model and state files on disk must always load, and resuming must print exactly the
   losses of an uninterrupted run from the saved step on. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <unistd.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>

#define STEPS 150
static const char *args = " --data build/kill_data.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32 --batch 4 --seq 16"
                          " --lr 1e-2 --warmup 5 --threads 1 --save-every 1";

/* "step N loss X" lines of a run's output, by step (text compared exactly) */
static int read_losses(const char *path, char lines[][64]) {
    char buf[512];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(buf, sizeof buf, f)) {
        int k;
        char loss[32];
        if (sscanf(buf, "step %d loss %31s", &k, loss) == 2 && k >= 1 && k <= STEPS) { snprintf(lines[k], 64, "%s", loss); n++; }
    }
    fclose(f);
    return n;
}

int main(void) {
    static char ref[STEPS + 1][64], got[STEPS + 1][64];
    char cmd[1024];
    int ids[4000];
    if (!test_file_exists(TOOL_FILE)) { printf("kill: %s not built\nkill: 0 passed, 1 failed\n", TOOL); return 1; }
    for (int i = 0; i < 4000; i++) ids[i] = (i % 9 + (i / 37) * 5) % 32;
    inh_data_write("build/kill_data.bin", ids, 4000);
    snprintf(cmd, sizeof cmd, "rm -rf build/kill && mkdir -p build/kill && " TOOL " train%s --steps %d --out build/kill/ref.bin > build/kill/ref.txt", args, STEPS);
    CHECK(system(cmd) == 0, "uninterrupted run");
    CHECK(read_losses("build/kill/ref.txt", ref) == STEPS, "uninterrupted run prints %d steps", STEPS);
    srand(12345);
    int trials = 6, resumed_ok = 0, loads_ok = 0, killed_mid = 0;
    for (int trial = 0; trial < trials; trial++) {
        char dir[64];
        snprintf(dir, sizeof dir, "build/kill/t%d", trial);
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0) continue;
        pid_t pid = fork();
        if (pid == 0) {
            snprintf(cmd, sizeof cmd, "exec " TOOL " train%s --steps %d --out %s/m.bin --state %s/s.bin > %s/out.txt 2>&1", args, STEPS, dir, dir, dir);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {0, 10000000L + (long)(rand() % 150) * 1000000L};   /* 10-160 ms: inside the run */
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        killed_mid += WIFSIGNALED(st);
        /* whatever is on disk must load */
        char mpath[128], spath[128];
        snprintf(mpath, sizeof mpath, "%s/m.bin", dir);
        snprintf(spath, sizeof spath, "%s/s.bin", dir);
        int ok = 1, step = 0;
        if (access(mpath, R_OK) == 0) { inh_model m; ok &= inh_model_load(&m, mpath) == 0; if (ok) inh_model_free(&m); }
        if (access(spath, R_OK) == 0) {
            inh_model m;
            inh_data d;
            inh_trainer t;
            ok &= inh_data_open(&d, "build/kill_data.bin", 32) == 0;
            ok &= inh_trainer_load_state(&t, &m, &d, spath) == 0;
            if (ok) { step = t.step; inh_trainer_free(&t); inh_model_free(&m); }
            inh_data_close(&d);
            /* resume and compare the printed losses with the uninterrupted run's */
            snprintf(cmd, sizeof cmd, TOOL " train --data build/kill_data.bin --resume %s --steps %d --threads 1 > %s/resumed.txt", spath, STEPS, dir);
            memset(got, 0, sizeof got);
            int rc = system(cmd);
            char rpath[128];
            snprintf(rpath, sizeof rpath, "%s/resumed.txt", dir);
            int n = read_losses(rpath, got), same = rc == 0 && n == STEPS - step;
            for (int k = step + 1; same && k <= STEPS; k++) same = !strcmp(got[k], ref[k]);
            resumed_ok += same;
            if (!same) printf("trial %d: resumed from step %d, %d lines, rc %d, differs from the uninterrupted run\n", trial, step, n, rc);
        } else {
            resumed_ok++;   /* killed before the first save: nothing to resume, nothing half-written */
        }
        loads_ok += ok;
    }
    CHECK(killed_mid >= 1, "at least one run was killed mid-training (%d of %d)", killed_mid, trials);
    CHECK(loads_ok == trials, "files on disk load after every kill (%d of %d)", loads_ok, trials);
    CHECK(resumed_ok == trials, "resuming continues with exactly the uninterrupted losses (%d of %d)", resumed_ok, trials);
    return test_summary("kill");
}
