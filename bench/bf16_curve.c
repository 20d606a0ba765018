/* bench/bf16_curve.c - bf16 mixed precision against fp32 on the same run: two copies of one
   freshly initialised model train side by side on the same batches, one with fp32 matmuls, one
   with bf16 ones (inh_train_opts.bf16), and the losses, validation losses and step times of both
   are printed, written as a table (TSV) and drawn as curves (SVG).

     make bench-bf16      (tiny shakespeare, GPT-2 tokens, GPT-2 124M shape, 300 steps)
     build/bf16_curve TRAIN.bin VAL.bin [--steps N] [--layers L --heads H --dim C --seq-max T]
                      [--batch B] [--seq T] [--lr X] [--threads N] [--eval-every N] [--out PREFIX] */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}
static double median(double *v, int n) { qsort(v, (size_t)n, sizeof(double), cmp_double); return v[n / 2]; }

int main(int argc, char **argv) {
    const char *train_path = NULL, *val_path = NULL, *out = "build/bf16_curve";
    int steps = 300, L = 12, NH = 12, C = 768, maxT = 1024, B = 4, T = 64, threads = 1, every = 50;
    float lr = 6e-4f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--steps") && v) steps = atoi(argv[++i]);
        else if (!strcmp(a, "--layers") && v) L = atoi(argv[++i]);
        else if (!strcmp(a, "--heads") && v) NH = atoi(argv[++i]);
        else if (!strcmp(a, "--dim") && v) C = atoi(argv[++i]);
        else if (!strcmp(a, "--seq-max") && v) maxT = atoi(argv[++i]);
        else if (!strcmp(a, "--batch") && v) B = atoi(argv[++i]);
        else if (!strcmp(a, "--seq") && v) T = atoi(argv[++i]);
        else if (!strcmp(a, "--lr") && v) lr = (float)atof(argv[++i]);
        else if (!strcmp(a, "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--eval-every") && v) every = atoi(argv[++i]);
        else if (!strcmp(a, "--out") && v) out = argv[++i];
        else if (a[0] != '-' && !train_path) train_path = a;
        else if (a[0] != '-' && !val_path) val_path = a;
        else { fprintf(stderr, "usage: %s TRAIN.bin VAL.bin [--steps N] [--layers L] [--heads H] [--dim C] [--seq-max T]\n"
                               "       [--batch B] [--seq T] [--lr X] [--threads N] [--eval-every N] [--out PREFIX]\n", argv[0]); return 1; }
    }
    if (!train_path || !val_path || steps < 1 || every < 1 || threads < 1) { fprintf(stderr, "need TRAIN.bin VAL.bin and positive flags\n"); return 1; }
    inh_data tr[2], val;
    inh_model m[2];
    inh_trainer t[2];
    if (inh_data_open(&val, val_path, 0)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
    int V = 0;
    for (size_t i = 0; i < val.n; i++) V = val.tokens[i] >= V ? val.tokens[i] + 1 : V;
    V = V > 256 ? 50257 : 256;   /* GPT-2 ids or bytes */
    inh_config c;
    inh_config_default(&c, maxT, V, L, NH, C);
    inh_train_opts o;
    inh_train_opts_default(&o);
    o.B = B; o.T = T; o.steps = steps; o.lr = lr; o.min_lr = lr / 10; o.warmup = steps / 10;
    for (int k = 0; k < 2; k++) {
        o.bf16 = k;
        if (inh_data_open(&tr[k], train_path, V) || inh_data_check(&val, V) || inh_model_init(&m[k], &c, o.seed) ||
            inh_trainer_init(&t[k], &m[k], &tr[k], &o)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
        m[k].threads = threads;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s.tsv", out);
    FILE *tsv = fopen(path, "w");
    if (!tsv) { fprintf(stderr, "error: %s: cannot write\n", path); return 1; }
    fprintf(tsv, "step\tloss_fp32\tloss_bf16\tval_fp32\tval_bf16\tms_fp32\tms_bf16\n");
    printf("model L=%d NH=%d C=%d V=%d (%zu parameters), B=%d T=%d, %d steps, lr %g, %d thread%s\n", L, NH, C, V,
           m[0].num_params, B, T, steps, lr, threads, threads == 1 ? "" : "s");
    printf("%5s %10s %10s %9s %9s %9s %8s %8s\n", "step", "fp32", "bf16", "diff", "val fp32", "val bf16", "ms fp32", "ms bf16");
    float *loss[2], *vl[2];
    double *ms[2], maxdiff = 0, sumdiff = 0, maxvdiff = 0;
    int nv = 0;
    for (int k = 0; k < 2; k++) {
        loss[k] = (float *)calloc((size_t)steps, sizeof(float)); ms[k] = (double *)calloc((size_t)steps, sizeof(double));
        vl[k] = (float *)calloc((size_t)steps + 1, sizeof(float));
    }
    for (int s = 0; s < steps; s++) {
        float v[2] = {NAN, NAN};
        for (int k = 0; k < 2; k++) {
            inh_step_info info;
            if (inh_trainer_step(&t[k], &info)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
            loss[k][s] = info.loss; ms[k][s] = info.seconds * 1e3;
            if ((s + 1) % every == 0 || s + 1 == steps) {
                if (inh_eval_loss(&m[k], &val, B, T, 20, &v[k])) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
                vl[k][nv] = v[k];
            }
        }
        double d = fabs((double)loss[1][s] - loss[0][s]);
        if (s >= 20) { sumdiff += d; if (d > maxdiff) maxdiff = d; }   /* after the first fast drop */
        if (!isnan(v[0])) { nv++; if (fabs(v[1] - v[0]) > maxvdiff) maxvdiff = fabs(v[1] - v[0]); }
        fprintf(tsv, "%d\t%.6f\t%.6f\t%.6f\t%.6f\t%.1f\t%.1f\n", s + 1, loss[0][s], loss[1][s], v[0], v[1], ms[0][s], ms[1][s]);
        if ((s + 1) % 10 == 0 || s == 0 || !isnan(v[0]))
            printf("%5d %10.4f %10.4f %9.4f %9.4f %9.4f %8.1f %8.1f\n", s + 1, loss[0][s], loss[1][s], loss[1][s] - loss[0][s], v[0], v[1], ms[0][s], ms[1][s]);
        fflush(stdout);
    }
    fclose(tsv);
    double f32 = median(ms[0] + 1, steps - 1), b16 = median(ms[1] + 1, steps - 1);   /* the first step warms up */
    printf("training loss |bf16 - fp32| after step 20: mean %.4f, max %.4f; validation |bf16 - fp32|: max %.4f over %d evaluations\n",
           sumdiff / (steps > 20 ? steps - 20 : 1), maxdiff, maxvdiff, nv);
    printf("final validation loss: fp32 %.4f, bf16 %.4f\n", vl[0][nv - 1], vl[1][nv - 1]);
    printf("median step: fp32 %.1f ms, bf16 %.1f ms: bf16 is %.2fx the fp32 speed\n", f32, b16, f32 / b16);

    /* the curves: training loss of both (thin), validation points (dots) */
    snprintf(path, sizeof path, "%s.svg", out);
    FILE *svg = fopen(path, "w");
    if (!svg) { fprintf(stderr, "error: %s: cannot write\n", path); return 1; }
    float lo = loss[0][0], hi = loss[0][0];
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < steps; s++) { lo = loss[k][s] < lo ? loss[k][s] : lo; hi = loss[k][s] > hi ? loss[k][s] : hi; }
    const int W = 760, H = 420, X0 = 60, Y0 = 20, PW = 660, PH = 340;
    fprintf(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(svg, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", W, H, X0, Y0, PW, PH);
    for (int g = 0; g <= 4; g++) {
        float y = lo + (hi - lo) * g / 4;
        fprintf(svg, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", X0 - 4, Y0 + PH - PH * g / 4.0 + 4, y);
        fprintf(svg, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", X0 + PW * g / 4.0, Y0 + PH + 16, steps * g / 4);
    }
    static const char *col[2] = {"#1f77b4", "#d62728"}, *name[2] = {"fp32", "bf16"};
    for (int k = 0; k < 2; k++) {
        fprintf(svg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1\" stroke-opacity=\"0.8\" points=\"", col[k]);
        for (int s = 0; s < steps; s++)
            fprintf(svg, "%.1f,%.1f ", X0 + PW * (s + 1.0) / steps, Y0 + PH - PH * (loss[k][s] - lo) / (hi - lo > 0 ? hi - lo : 1));
        fprintf(svg, "\"/>\n");
        for (int e = 0; e < nv; e++) {
            int s = (e + 1) * every < steps ? (e + 1) * every : steps;
            fprintf(svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                    X0 + PW * (double)s / steps, Y0 + PH - PH * (vl[k][e] - lo) / (hi - lo > 0 ? hi - lo : 1),
                    k ? 3 : 7, k ? col[k] : "none", col[k]);   /* fp32 hollow and larger: both show where they meet */
        }
        fprintf(svg, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s: training loss (line), validation loss (dots)</text>\n", X0 + 10, Y0 + 16 + 16 * k, col[k], name[k]);
    }
    fprintf(svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step (median %.0f ms fp32, %.0f ms bf16)</text>\n</svg>\n", X0 + PW / 2, H - 8, f32, b16);
    fclose(svg);
    printf("wrote %s.tsv and %s.svg\n", out, out);
    for (int k = 0; k < 2; k++) { inh_trainer_free(&t[k]); inh_model_free(&m[k]); inh_data_close(&tr[k]); free(loss[k]); free(ms[k]); free(vl[k]); }
    inh_data_close(&val);
    return 0;
}
