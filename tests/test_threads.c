/* tests/test_threads.c - the worker pool (issue 25 #15): the same bits on 1-4 threads, a pool that
   survives many small and large regions, regions that finish while another process holds a core,
   work too small to pay for threads kept on one, and the default thread count never far behind
   --threads 1 with one core busy (the tool's `train` and `sample`, as the issue measured them). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#if !defined(_WIN32) && !defined(__wasi__)
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#define HAVE_FORK 1
#endif

static uint64_t fnv(const void *p, size_t n) {   /* FNV-1a of the bytes */
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* issue 25 #15: 1, 2, 3 and 4 threads give the same losses and the same final weights, on a model
   large enough that the matmuls, attention, GELU, cross-entropy and AdamW all take several threads
   (checked: inh__threads_for gives them more than one), so pieces are taken by whichever thread is
   free in an order that changes from run to run */
static void same_bits_any_thread_count(void) {
    enum { STEPS = 3, NTOK = 20000 };
    int *ids = (int *)malloc(sizeof(int) * NTOK);
    for (int i = 0; i < NTOK; i++) ids[i] = (int)((i * 7u + (i / 13u) * 5u) % 512u);
    CHECK(inh_data_write("build/threads_data.bin", ids, NTOK) == 0, "write the token shard: %s", inh_error());
    free(ids);
    inh_config c;
    inh_config_default(&c, 64, 512, 2, 4, 128);
    int B = 8, T = 64, N = B * T;
    CHECK(inh__threads_for(4, 2.0 * N * c.C * 3 * c.C) == 4 && inh__threads_for(4, 2.0 * B * T * T * c.C) == 4 &&
          inh__threads_for(4, 20.0 * N * 4 * c.C) == 4 && inh__threads_for(4, 10.0 * N * c.V) > 1,
          "the test's shapes should run their big kernels on several threads");
    float loss1[STEPS] = {0};
    uint64_t hash1 = 0;
    for (int nt = 1; nt <= 4; nt++) {
        inh_model m;
        inh_data d;
        inh_trainer t;
        inh_train_opts o;
        float loss[STEPS] = {0};
        if (inh_model_init(&m, &c, 3)) { CHECK(0, "init: %s", inh_error()); return; }
        if (inh_data_open(&d, "build/threads_data.bin", 512)) { CHECK(0, "open: %s", inh_error()); inh_model_free(&m); return; }
        m.threads = nt;
        inh_train_opts_default(&o);
        o.B = B; o.T = T; o.steps = STEPS; o.lr = 1e-3f;
        inh_trainer_init(&t, &m, &d, &o);
        int ok = 1;
        for (int s = 0; s < STEPS; s++) {
            inh_step_info info;
            if (inh_trainer_step(&t, &info)) { ok = 0; break; }
            loss[s] = info.loss;
        }
        CHECK(ok, "%d threads: a training step failed: %s", nt, inh_error());
        uint64_t hash = fnv(m.params_mem, m.num_params * sizeof(float));
        if (nt == 1) { memcpy(loss1, loss, sizeof loss); hash1 = hash; }
        else {
            CHECK(!memcmp(loss, loss1, sizeof loss), "%d threads: losses %.9g %.9g %.9g, 1 thread %.9g %.9g %.9g",
                  nt, loss[0], loss[1], loss[2], loss1[0], loss1[1], loss1[2]);
            CHECK(hash == hash1, "%d threads: the weights after %d steps differ from 1 thread's (hash %016llx vs %016llx)",
                  nt, STEPS, (unsigned long long)hash, (unsigned long long)hash1);
        }
        inh_trainer_free(&t);
        inh_data_close(&d);
        inh_model_free(&m);
    }
}

/* a region that counts every index it is given: each must come exactly once */
typedef struct { int *seen; int spin; } count_args;
static void count_range(void *p, int lo, int hi) {
    count_args *a = (count_args *)p;
    for (int i = lo; i < hi; i++) {
        volatile float x = 0.0f;
        for (int k = 0; k < a->spin; k++) x += 1.0f;   /* some work, so pieces overlap in time */
        a->seen[i] += x < 0.0f ? 2 : 1;
    }
}
static int count_region(int nt, int n, int spin, int *seen) {
    count_args a = {seen, spin};
    memset(seen, 0, sizeof(int) * (size_t)n);
    inh__parallel(nt, n, count_range, &a);
    for (int i = 0; i < n; i++) if (seen[i] != 1) return i;
    return -1;
}

/* issue 25 #15: thousands of regions, tiny and large, on 1-8 threads, the thread count changing
   between them (the pool grows, idle workers skip regions not theirs), each index run exactly
   once; then after inh_threads_release the pool starts again */
static void pool_many_regions(void) {
    enum { NMAX = 200000 };
    int *seen = (int *)malloc(sizeof(int) * NMAX);
    int bad = 0, first_bad = -1, bad_nt = 0, bad_n = 0;
    inh_rng r;
    inh_rng_seed(&r, 7);
    for (int k = 0; k < 3000; k++) {
        int nt = 1 + (int)(inh_rng_u64(&r) % 8);
        int n = k % 10 == 0 ? 1000 + (int)(inh_rng_u64(&r) % (NMAX - 1000)) : 1 + (int)(inh_rng_u64(&r) % 64);
        int at = count_region(nt, n, k % 7 == 0 ? 200 : 0, seen);
        if (at >= 0 && !bad++) { first_bad = at; bad_nt = nt; bad_n = n; }
    }
    CHECK(bad == 0, "%d of 3000 regions ran an index not exactly once (first: index %d of n=%d on %d threads)", bad, first_bad, bad_n, bad_nt);
    inh_threads_release();
    CHECK(count_region(4, 5000, 10, seen) < 0, "after inh_threads_release a region runs every index once");
    CHECK(count_region(4, 100000, 0, seen) < 0 && count_region(2, 3, 0, seen) < 0, "large then tiny regions after a release");
    free(seen);
}

/* issue 25 #15: work too small to pay for a region stays on the calling thread */
static void threads_for_small_work(void) {
    CHECK(inh__threads_for(8, 0) == 1, "no work: 1 thread");
    CHECK(inh__threads_for(8, 2.0 * 64 * 192) == 1, "batch-1 qkv product of a C=64 model (24.6 kflop): 1 thread, got %d",
          inh__threads_for(8, 2.0 * 64 * 192));
    CHECK(inh__threads_for(8, 2.0 * 128 * 512) == 1, "batch-1 fc product of a C=128 model (131 kflop): 1 thread, got %d",
          inh__threads_for(8, 2.0 * 128 * 512));
    CHECK(inh__threads_for(8, 20.0 * 256) == 1, "GELU of 256 values: 1 thread");
    CHECK(inh__threads_for(1, 1e12) == 1, "one thread asked: 1");
    CHECK(inh__threads_for(8, 2.0 * 1024 * 768 * 2304) == 8, "a 1024x768x2304 product (3.6 Gflop): all 8 threads, got %d",
          inh__threads_for(8, 2.0 * 1024 * 768 * 2304));
    int prev = 1, mono = 1;
    for (double w = 1.0; w < 1e10; w *= 1.7) {
        int k = inh__threads_for(16, w);
        if (k < prev || k < 1 || k > 16) mono = 0;
        prev = k;
    }
    CHECK(mono, "threads_for grows with the work and stays in 1..nt");
}

#ifdef HAVE_FORK
/* a child process that holds one core until killed */
static pid_t hog_start(void) {
    pid_t pid = fork();
    if (pid == 0) { volatile unsigned long x = 0; for (;;) x++; }
    return pid;
}
static void hog_stop(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
static double median3(double a, double b, double c) {
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}
/* seconds the command took (a negative number: it failed) */
static double timed(const char *cmd) {
    double t0 = inh_now();
    int rc = system(cmd);
    return rc == 0 ? inh_now() - t0 : -1.0;
}
#endif

/* issue 25 #15: with another process holding a core, regions on more threads than cores finish
   (no worker waits forever for a descheduled peer) and give the same bits as one thread */
static void regions_with_a_busy_core(void) {
#ifdef HAVE_FORK
    enum { N = 50000 };
    int *seen = (int *)malloc(sizeof(int) * N);
    pid_t hog = hog_start();
    CHECK(hog > 0, "fork a busy child");
    alarm(300);   /* a deadlock fails the test instead of hanging it */
    int bad = 0, nt = inh_num_cores() + 2;
    double t0 = inh_now();
    for (int k = 0; k < 400; k++) if (count_region(nt, k % 2 ? N : 37, k % 3 ? 0 : 20, seen) >= 0) bad++;
    double dt = inh_now() - t0;
    alarm(0);
    hog_stop(hog);
    CHECK(bad == 0, "%d of 400 regions on %d threads with a core busy ran an index not exactly once", bad, nt);
    printf("threads: 400 regions on %d threads with one core busy: %.2f s\n", nt, dt);
    free(seen);
#else
    SKIP("a busy child process: no fork() on this platform");
#endif
}

/* issue 25 #15: the tool's default thread count against --threads 1 with one core held by a busy
   loop: `train` (L4 C64, B8 T128) and `sample --tokens 1000`, medians of 3 runs each, interleaved.
   The goal is 1.2x (bench/threads_loaded.sh measures it); the check allows 2x, as other programs
   share the machine the tests run on. Before the fix: 3-5x for train, 40-250x for sample. */
static void tool_default_threads_with_a_busy_core(void) {
#ifdef HAVE_FORK
    if (getenv("INH_TEST_QUICK") || getenv("INH_TEST_UNDER_QEMU")) { SKIP("timing under emulation: checked natively"); return; }
    if (inh_num_cores() < 2) { SKIP("one core: the default is one thread"); return; }
    if (!test_file_exists(TOOL_FILE)) { SKIP("%s not built", TOOL_FILE); return; }
    const char *model = " --layers 4 --heads 4 --dim 64 --seq-max 128 --batch 8 --seq 128";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, TOOL " synth --out build/threads_synth --vocab 256 --tokens 100000 --val-tokens 10000 > /dev/null 2>&1");
    CHECK(system(cmd) == 0, "synth");
    snprintf(cmd, sizeof cmd, TOOL " train --data build/threads_synth/train.bin%s --steps 5 --threads 1 --out build/threads_model.bin > /dev/null 2>&1", model);
    CHECK(system(cmd) == 0, "train the model to sample from");
    pid_t hog = hog_start();
    double tr[2][3], sa[2][3];   /* [default, --threads 1][run] */
    int failed = 0;
    for (int r = 0; r < 3; r++)
        for (int one = 0; one < 2; one++) {
            const char *th = one ? " --threads 1" : "";
            snprintf(cmd, sizeof cmd, TOOL " train --data build/threads_synth/train.bin%s --steps 30%s > /dev/null 2>&1", model, th);
            tr[one][r] = timed(cmd);
            snprintf(cmd, sizeof cmd, TOOL " sample --model build/threads_model.bin --tokens 1000%s > /dev/null 2>&1", th);
            sa[one][r] = timed(cmd);
            if (tr[one][r] < 0 || sa[one][r] < 0) failed = 1;
        }
    hog_stop(hog);
    CHECK(!failed, "a train or sample run failed");
    if (failed) return;
    double td = median3(tr[0][0], tr[0][1], tr[0][2]), t1 = median3(tr[1][0], tr[1][1], tr[1][2]);
    double sd = median3(sa[0][0], sa[0][1], sa[0][2]), s1 = median3(sa[1][0], sa[1][1], sa[1][2]);
    printf("threads: one core busy: train 30 steps %.2f s default, %.2f s --threads 1 (%.2fx); sample 1000 tokens %.3f s, %.3f s (%.2fx)\n",
           td, t1, td / t1, sd, s1, sd / s1);
    CHECK(td <= 2.0 * t1, "train with one core busy: default threads %.2f s, --threads 1 %.2f s (%.2fx, at most 2x)", td, t1, td / t1);
    CHECK(sd <= 2.0 * s1 + 0.02, "sample with one core busy: default threads %.3f s, --threads 1 %.3f s (%.2fx, at most 2x)", sd, s1, sd / s1);
#else
    SKIP("a busy child process: no fork() on this platform");
#endif
}

int main(void) {
    same_bits_any_thread_count();
    pool_many_regions();
    threads_for_small_work();
    regions_with_a_busy_core();
    tool_default_threads_with_a_busy_core();
    return test_summary("threads");
}
