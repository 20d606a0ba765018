/* Standalone tool for testing parts/cli_analysis.c before it is wired into examples/inheritune.c:
   analyze, drop-sweep, and eval with --drop-attn; every other command is the lead's.
       cc -O2 -std=c99 -Wall -Wextra parts/cli_analysis_main.c -o build/inheritune_analysis -lm -lpthread */
#define INH_CLI_NO_MAIN
#include "../examples/inheritune.c"
#ifndef INH_HAVE_ANALYSIS
#include "analysis_decl.h"
#include "analysis_impl.h"
#endif
#include "cli_analysis.c"

/* eval as the lead's, plus --drop-attn through apply_drop_attn (what cmd_eval will call) */
static int cmd_eval_drop(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *drop = NULL;
    int B = 4, T = 64, nb = 1, threads = 0;
    flag f[] = {
        {"--model", F_STR, &model, "model file (llm.c .bin)", 0},
        {"--data", F_STR, &data, "token shard", 0},
        {"--batch", F_INT, &B, "batch size (default 4)", 0},
        {"--seq", F_INT, &T, "sequence length (default 64)", 0},
        {"--batches", F_INT, &nb, "consecutive windows from token 0 (default 1)", 0},
        {"--threads", F_INT, &threads, "worker threads (default: all cores)", 0},
        {"--drop-attn", F_STR, &drop, "skip attention in layers: 9,10,11 | last:K | auto:K[:METRIC]", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "--model MODEL.bin --data FILE.bin [--batch B --seq T --batches N] [--drop-attn SPEC]", NULL, 0, NULL);
    if (r) return r == 2 ? 0 : 1;
    if (check_threads(&threads)) return 1;
    if (!model || !data) return fail("%s", "eval needs --model and --data");
    if (B <= 0 || T <= 0 || nb <= 0) return fail("%s", "--batch, --seq and --batches must be positive");
    inh_model m;
    inh_data d;
    if (inh_model_load(&m, model)) return lib_fail();
    m.threads = threads;
    if (drop && apply_drop_attn(&m, drop, data, threads)) { inh_model_free(&m); return 1; }
    if (inh_data_open(&d, data, m.cfg.V)) { inh_model_free(&m); return lib_fail(); }
    int rc = 0;
    float loss;
    if (T > m.cfg.maxT) { fprintf(stderr, "error: --seq %d is above the model's maxT %d (%s)\n", T, m.cfg.maxT, model); rc = 1; }
    else if (d.n < (size_t)B * T + 1) { fprintf(stderr, "error: %s: %zu tokens cannot fill a batch of B=%d x T=%d (+1)\n", data, d.n, B, T); rc = 1; }
    else if (inh_eval_loss(&m, &d, B, T, nb, &loss)) rc = lib_fail();
    else printf("loss %.6f\n", loss);
    inh_data_close(&d);
    inh_model_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) { main_usage(); printf("  %-10s %s\n  %-10s %s\n", "analyze", "attention ranks, column mass, sinks, layer importance",
                                        "drop-sweep", "loss and speed with k attention sub-layers dropped"); return 1; }
    if (!strcmp(argv[1], "analyze")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(argv[1], "drop-sweep")) return cmd_drop_sweep(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval_drop(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
    return 1;
}
