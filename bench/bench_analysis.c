/* bench/bench_analysis.c - the attention analysis against a plain forward pass of the same tokens.

       cc -O2 -march=native -std=c99 bench/bench_analysis.c -o build/bench_analysis -lm -lpthread
       build/bench_analysis [seqs T threads reps L NH C]    (default 100 100 1 1 12 12 768: GPT-2 124M)

   A random GPT-2-shaped model (inh_model_init, V = 50257, maxT = 1024) and random tokens. Both runs
   read the same seeded windows in batches of 8 sequences and do the same forward passes with
   targets; the analysis adds the per-head SVDs and the residual cosines, timed alone in a third
   run. Prints the median over reps of each, and the ratio (goal: under 2x). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_d); return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }

int main(int argc, char **argv) {
    int seqs = argc > 1 ? atoi(argv[1]) : 100, T = argc > 2 ? atoi(argv[2]) : 100, threads = argc > 3 ? atoi(argv[3]) : 1;
    int reps = argc > 4 ? atoi(argv[4]) : 1, L = argc > 5 ? atoi(argv[5]) : 12, NH = argc > 6 ? atoi(argv[6]) : 12;
    int C = argc > 7 ? atoi(argv[7]) : 768;
    if (seqs < 1 || T < 1 || threads < 1 || reps < 1 || reps > 99) { fprintf(stderr, "bad arguments\n"); return 1; }
    inh_config c;
    inh_model m;
    inh_config_default(&c, 1024, 50257, L, NH, C);
    if (inh_model_init(&m, &c, 1)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
    m.threads = threads;
    inh_data d;
    memset(&d, 0, sizeof d);
    snprintf(d.path, sizeof d.path, "(random tokens)");
    d.n = 100000;
    d.tokens = (uint16_t *)malloc(d.n * sizeof(uint16_t));
    inh_rng r;
    inh_rng_seed(&r, 7);
    for (size_t i = 0; i < d.n; i++) d.tokens[i] = (uint16_t)(inh_rng_u64(&r) % 50257);
    inh_analysis_opts o;
    inh_analysis_opts_default(&o);
    o.seqs = seqs; o.T = T;
    int B = o.batch < seqs ? o.batch : seqs;
    int *x = (int *)malloc(sizeof(int) * B * T), *y = (int *)malloc(sizeof(int) * B * T);
    double tf[99], ta[99], tm[99];
    printf("model L=%d NH=%d C=%d V=50257 (%zu parameters), %d sequences x %d tokens, batch %d, %d thread(s), %d rep(s)\n",
           L, NH, C, m.num_params, seqs, T, B, threads, reps);
    for (int rep = 0; rep < reps; rep++) {
        double t0 = inh_now();
        d.shuffle = 1; d.pos = 0;
        inh_rng_seed(&d.rng, o.seed);
        for (int done = 0; done < seqs; done += B) {
            int nb = seqs - done < B ? seqs - done : B;
            if (inh_data_next(&d, nb, T, x, y) || inh_model_forward(&m, x, y, nb, T)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
        }
        tf[rep] = inh_now() - t0;
        /* the metrics alone: the same passes, timing only inh_analysis_add (SVDs and cosines) */
        inh_analysis a;
        if (inh_analysis_init(&a, &m, &o)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
        d.pos = 0;
        inh_rng_seed(&d.rng, o.seed);
        tm[rep] = 0;
        m.keep_attention = 1;   /* the metrics read the stored matrices (inh_analyze sets this itself) */
        for (int done = 0; done < seqs; done += B) {
            int nb = seqs - done < B ? seqs - done : B;
            if (inh_data_next(&d, nb, T, x, y) || inh_model_forward(&m, x, y, nb, T)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
            double t1 = inh_now();
            if (inh_analysis_add(&a, &m)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
            tm[rep] += inh_now() - t1;
        }
        inh_analysis_free(&a);
        m.keep_attention = 0;
        t0 = inh_now();
        if (inh_analyze(&m, &d, &o, &a)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
        ta[rep] = inh_now() - t0;
        printf("rep %d: forward %.3f s, analysis %.3f s, of which metrics %.3f s (MaxRank(0) %.2f, loss %.3f)\n", rep, tf[rep], ta[rep], tm[rep],
               a.max_rank[0], a.loss);
        inh_analysis_free(&a);
        fflush(stdout);
    }
    double f = median(tf, reps), an = median(ta, reps), mt = median(tm, reps);
    printf("median: forward %.3f s (%.0f tokens/s), analysis %.3f s (ratio %.3f); metrics alone %.3f s = %.2f ms per attention matrix,\n"
           "        so analysis = forward x %.3f without timing noise between the runs\n",
           f, (double)seqs * T / f, an, an / f, mt, 1e3 * mt / ((double)seqs * L * NH), (f + mt) / f);
    free(x); free(y); free(d.tokens);
    inh_model_free(&m);
    return 0;
}
