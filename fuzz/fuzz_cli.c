/* fuzz/fuzz_cli.c - the command line's argument parsing (examples/inheritune.c, included with
   INH_CLI_NO_MAIN). Input: one mode byte, then NUL-separated arguments.
     mode % 5 == 0: parse_flags against a table with every flag kind and two positionals; every
                    argument also goes through parse_ids; 8 bytes through fmt_time
     1 eval, 2 sample, 3 train, 4 inherit: the command itself. The harness runs in an empty
                    directory and turns '/' into '_', so every file a command names is missing
                    (or is "."), and each command must fail early with exit status 1.
   "--help" and "-h" are rewritten (the help text is not parsing). train builds a new model before
   it opens --data, so values of its size flags above 64 become 64: a big model is a correct
   answer to big sizes, just a slow one. */
#define INH_CLI_NO_MAIN
#include "../examples/inheritune.c"
#include "fuzz_common.h"

#define MAXARG 48

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char dir[600];
    (void)argc; (void)argv;
    snprintf(dir, sizeof dir, "%s/empty", fz_tmpdir("cli"));
    if (mkdir(dir, 0700) != 0 || chdir(dir) != 0) { fprintf(stderr, "fuzz: cannot enter %s\n", dir); abort(); }
    return 0;
}

static void table(int argc, char **argv) {
    int iv = 7, bv = 0, batch = 4, npos = -1;
    float fv = 0.5f;
    const char *sv = NULL;
    uint64_t uv = 3;
    char *pos[2] = {NULL, NULL};
    flag f[] = {
        {"--int", F_INT, &iv, "an int", 0},
        {"--float", F_FLOAT, &fv, "a float", 0},
        {"--str", F_STR, &sv, "a string", 0},
        {"--bool", F_BOOL, &bv, "a switch", 0},
        {"--u64", F_U64, &uv, "a u64", 0},
        {"--batch", F_INT, &batch, "another int", 0},
    };
    int r = parse_flags(argc, argv, f, NF(f), "[flags] A B", pos, 2, &npos);
    FZ_CHECK(r == 0 || r == 1, "parse_flags returned %d", r);
    FZ_CHECK(npos >= 0 && npos <= 2, "npos %d", npos);
    for (int i = 0; i < npos; i++) {
        int found = 0;
        for (int k = 1; k < argc; k++) found |= pos[i] == argv[k];
        FZ_CHECK(found, "positional %d is not one of the arguments", i);
    }
    if (r == 0) {
#ifndef FZ_SKIP_KNOWN   /* -DFZ_SKIP_KNOWN: look past this reported finding (fuzz/regressions/cli/float_flag_overflow) */
        FZ_CHECK(isfinite(fv), "--float gave %g", (double)fv);
#endif
        FZ_CHECK(!f[2].set || sv != NULL, "--str set without a value");
        FZ_CHECK(bv == f[3].set, "--bool %d but set %d", bv, f[3].set);
    }
    for (int k = 0; k < argc; k++) {
        int ids[8];
        int n = parse_ids(argv[k], ids, 8);
        FZ_CHECK(n >= -1 && n <= 8, "parse_ids returned %d", n);
        for (int i = 0; i < n; i++) FZ_CHECK(ids[i] >= 0, "parse_ids gave %d", ids[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char buf[1 << 16];
    char *argv[MAXARG + 1];
    int argc = 1;
    if (size < 1 || size >= sizeof buf) return 0;
    int mode = data[0] % 5;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = 0;
    static const char *const names[5] = {"flags", "eval", "sample", "train", "inherit"};
    argv[0] = (char *)names[mode];
    for (size_t i = 0; i < size - 1 && argc < MAXARG;) {
        char *a = buf + i;
        size_t n = strlen(a);
        for (size_t k = 0; k < n; k++) if (a[k] == '/') a[k] = '_';
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) a[1] = '_';
        argv[argc++] = a;
        i += n + 1;
    }
    argv[argc] = NULL;
    static char small[] = "64";
    static const char *const sizes[] = {"--layers", "--heads", "--dim", "--seq-max", "--vocab"};
    for (int k = 1; mode == 3 && k + 1 < argc; k++)
        for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++)
            if (!strcmp(argv[k], sizes[q]) && strtol(argv[k + 1], NULL, 10) > 64) argv[k + 1] = small;
    if (mode == 0) {
        table(argc, argv);
        double s;
        if (size >= 9) { memcpy(&s, data + 1, 8); char t[32]; fmt_time(s, t, sizeof t); FZ_CHECK(strlen(t) < sizeof t - 1, "fmt_time"); }
        return 0;
    }
    int rc = mode == 1 ? cmd_eval(argc, argv) : mode == 2 ? cmd_sample(argc, argv) : mode == 3 ? cmd_train(argc, argv) : cmd_inherit(argc, argv);
    FZ_CHECK(rc == 1, "%s returned %d with no input files", names[mode], rc);
    return 0;
}
