/* tests/test_usability.c - what a new user meets first (issue 25): the header compiles in any
   include order (#4), the manual's example program compiles and runs (#2, #17), top-p sampling,
   no save replaces a file of another kind (#3), and stale temporaries are cleaned up (#18).
   Linux/macOS only (it runs compilers and the tool through the shell). */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#if !defined(_WIN32)
#include <unistd.h>
#include <sys/wait.h>
#endif

static char out[1 << 16];
#define NF_(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DIR_ "build/usab"

static int file_bytes(const char *path, unsigned char **buf, size_t *len) { return inh__read_file(path, buf, len, 0); }
/* does path hold exactly these bytes */
static int same_bytes(const char *path, const unsigned char *b, size_t n) {
    unsigned char *buf;
    size_t len;
    if (file_bytes(path, &buf, &len)) return 0;
    int same = len == n && !memcmp(buf, b, n);
    free(buf);
    return same;
}
static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) { fputs(text, f); fclose(f); }
}
/* a command's compiler: $CC / $CXX, else cc / c++ */
static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}
static int have(const char *prog) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

/* issue 25 #4: a program that includes <stdio.h>, <time.h>, <string.h> before the implementation
   compiles as C99, C11 and C++ with -Wall -Wextra -pedantic -Werror, and works (a real clock) */
static void include_order(void) {
    const char *cc = env_or("CC", "cc"), *cxx = env_or("CXX", "c++");
    struct { const char *compiler, *flags, *name; int optional; } b[] = {
        {cc, "-std=c99", "cc -std=c99", 0},
        {cc, "-std=c11", "cc -std=c11", 0},
        {"clang", "-std=c99", "clang -std=c99", 1},
        {"clang", "-std=c11", "clang -std=c11", 1},
        {cxx, "-x c++", "c++", 0},
        {"clang++", "-x c++", "clang++", 1},
    };
    for (int i = 0; i < NF_(b); i++) {
        char cmd[1024], exe[128];
        if (b[i].optional && !have(b[i].compiler)) { SKIP("include order with %s: not installed", b[i].name); continue; }
        snprintf(exe, sizeof exe, DIR_ "/include_order_%d", i);
        snprintf(cmd, sizeof cmd, "%s %s -O0 -Wall -Wextra -pedantic -Werror tests/include_order.c -o %s -lm -lpthread && %s %s.bin",
                 b[i].compiler, b[i].flags, exe, exe, exe);
        int rc = run(cmd, out, sizeof out);
        CHECK(rc == 0 && strstr(out, "saved and loaded") && strstr(out, "command ran"),
              "issue 25 #4: stdio.h, time.h, string.h first, then the implementation, under %s: rc %d\n%.3000s", b[i].name, rc, out);
    }
}

/* issue 25 #2, #17: the manual's example, taken from the header's text between "example:" and
   "end of example", compiles as C99 and C++ (-pedantic -Werror) and runs */
static void manual_example(void) {
    unsigned char *h;
    size_t len;
    CHECK(file_bytes("inheritune.h", &h, &len) == 0, "read inheritune.h");
    if (!h) return;
    char *text = (char *)realloc(h, len + 1);
    text[len] = 0;
    char *a = strstr(text, "\nexample:\n"), *e = a ? strstr(a, "\nend of example\n") : NULL;
    CHECK(a && e, "issue 25 #17: the manual at the top of inheritune.h holds an example between 'example:' and 'end of example'");
    if (!a || !e) { free(text); return; }
    CHECK((size_t)(a - text) < 20000, "issue 25 #17: the example is in the manual at the top (offset %zu)", (size_t)(a - text));
    FILE *f = fopen(DIR_ "/example.c", "wb");
    for (char *p = a + 10; f && p < e + 1;) {   /* each line without the comment's 4-space indent */
        char *nl = strchr(p, '\n');
        char *q = p;
        for (int k = 0; k < 4 && *q == ' '; k++) q++;
        fwrite(q, 1, (size_t)(nl - q + 1), f);
        p = nl + 1;
    }
    if (f) fclose(f);
    /* what the example must show */
    *e = 0;
    const char *calls[] = {"inh_config_default", "inh_model_init", "inh_data_open", "inh_trainer_step", "inh_eval_loss",
                           "inh_model_generate", "inh_trainer_save_state", "inh_trainer_load_state", "inh_model_save", "inh_model_load"};
    for (int i = 0; i < NF_(calls); i++) CHECK(strstr(a, calls[i]) != NULL, "issue 25 #17: the example calls %s", calls[i]);
    CHECK(strstr(a, "n_prompt + n_new") != NULL, "issue 25 #2: the example sizes generate's output as n_prompt + n_new");
    *e = '\n';
    /* the reference part says generate's buffer size */
    char *g = strstr(text, "INHDEF int inh_model_generate(");
    CHECK(g && g - text > 300 && strstr(g - 300, "n_prompt + n_new ints") && strstr(g - 300, "n_prompt + n_new ints") < g,
          "issue 25 #2: inh_model_generate's comment says out holds n_prompt + n_new ints");
    free(text);
    const char *cc = env_or("CC", "cc"), *cxx = env_or("CXX", "c++");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp " DIR_ "/example.c " DIR_ "/example.cpp && %s -std=c99 -O0 -Wall -Wextra -pedantic -Werror -I. " DIR_ "/example.c -o " DIR_ "/example -lm -lpthread", cc);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0, "issue 25 #17: the manual's example compiles as C99 with -pedantic -Werror: %.3000s", out);
    snprintf(cmd, sizeof cmd, "%s -O0 -Wall -Wextra -pedantic -Werror -I. " DIR_ "/example.cpp -o " DIR_ "/example_cpp -lm -lpthread", cxx);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0, "issue 25 #17: the manual's example compiles as C++ with -pedantic -Werror: %.3000s", out);
    for (int k = 0; k < 2; k++) {
        double t0 = inh_now();
        rc = run(k ? "cd " DIR_ " && rm -f example*.bin example.state && ./example_cpp" : "cd " DIR_ " && rm -f example*.bin example.state && ./example", out, sizeof out);
        double dt = inh_now() - t0;
        float l1 = -1, l2 = -2;
        const char *v = strstr(out, "val loss "), *w = strstr(out, "reloaded: val loss ");
        int ntok = 0;
        const char *t = strstr(out, "tokens:");
        for (const char *p = t; p && *p && *p != '\n'; p++) if (*p == ' ') ntok++;
        CHECK(rc == 0 && v && w && sscanf(v, "val loss %f", &l1) == 1 && sscanf(w, "reloaded: val loss %f", &l2) == 1 && l1 == l2 &&
              l1 > 0 && l1 < 4.2f, "issue 25 #17: the example (%s) trains, evaluates (loss below ln 64 = 4.16) and reloads the same model: rc %d\n%s",
              k ? "C++" : "C", rc, out);
        CHECK(ntok == 3 + 16, "issue 25 #2: the example generates into n_prompt + n_new = 19 ints: %d printed", ntok);
        CHECK(strstr(out, "resumed to step 40") != NULL, "issue 25 #17: the example resumes from its state file: %s", out);
        CHECK(dt < 30, "the example runs in seconds (%.1f s; 30 s allowed on a busy machine)", dt);
    }
}

/* top-p: the nucleus holds the fewest most likely tokens whose probability reaches top_p */
static void top_p(void) {
    /* probabilities 0.5 0.2 0.1 0.08 0.05 0.03 0.02 0.01 0.005 0.005: top_p 0.75 keeps {0, 1, 2}
       (0.5 + 0.2 = 0.7 < 0.75 <= 0.8), drawn as 0.5/0.8, 0.2/0.8, 0.1/0.8 */
    const double p[10] = {0.5, 0.2, 0.1, 0.08, 0.05, 0.03, 0.02, 0.01, 0.005, 0.005};
    float logits[10];
    for (int i = 0; i < 10; i++) logits[(i * 3) % 10] = (float)log(p[i]);   /* shuffled ids: (i*3)%10 has probability p[i] */
    inh_sampling s;
    inh_sampling_default(&s);
    CHECK(s.temperature == 1.0f && s.top_k == 0 && s.top_p == 1.0f, "top-p: defaults are temperature 1, top_k 0, top_p 1");
    s.top_p = 0.75f;
    inh_rng r;
    inh_rng_seed(&r, 5);
    int count[10] = {0}, bad = 0, N = 20000;
    for (int k = 0; k < N; k++) {
        int t = inh_sample_token(logits, 10, &s, &r);
        if (t < 0 || t >= 10) { bad++; continue; }
        count[t]++;
    }
    int outside = 0;
    for (int i = 3; i < 10; i++) outside += count[(i * 3) % 10];
    CHECK(bad == 0 && outside == 0, "top-p 0.75: never a token outside the nucleus {p 0.5, 0.2, 0.1} (%d outside of %d draws)", outside, N);
    /* binomial standard deviation at N = 20000 is at most 0.0035: 0.02 is over 5 of them */
    CHECK_CLOSE(count[0] / (double)N, 0.625, 0.02, 0, "top-p 0.75: share of the 0.5 token, renormalised to 0.625");
    CHECK_CLOSE(count[3] / (double)N, 0.25, 0.02, 0, "top-p 0.75: share of the 0.2 token, renormalised to 0.25");
    CHECK_CLOSE(count[6] / (double)N, 0.125, 0.02, 0, "top-p 0.75: share of the 0.1 token, renormalised to 0.125");
    s.top_p = 0.01f;
    int all_best = 1;
    for (int k = 0; k < 200; k++) all_best &= inh_sample_token(logits, 10, &s, &r) == 0;
    CHECK(all_best, "top-p 0.01: always the most likely token (the nucleus keeps at least one)");
    s.top_p = 0.99f; s.top_k = 2;
    int in_k = 1;
    for (int k = 0; k < 500; k++) { int t = inh_sample_token(logits, 10, &s, &r); in_k &= t == 0 || t == 3; }
    CHECK(in_k, "top-k 2 with top-p 0.99: only the two most likely tokens");
    s.top_k = 0; s.top_p = 0.0f;
    CHECK(inh_sample_token(logits, 10, &s, &r) == -1 && strstr(inh_error(), "top_p"), "top-p 0 is refused: %s", inh_error());
    s.top_p = 1.5f;
    CHECK(inh_sample_token(logits, 10, &s, &r) == -1 && strstr(inh_error(), "top_p"), "top-p 1.5 is refused: %s", inh_error());

    /* top_p 1 is the old sampler bit for bit: the same tokens as inh_model_generate for a seed */
    inh_config c;
    inh_model m;
    inh_config_default(&c, 32, 48, 2, 2, 16);
    CHECK(inh_model_init(&m, &c, 3) == 0, "top-p: a small model");
    if (!m.params_mem) return;
    m.threads = 1;
    const float temps[3] = {1.0f, 0.7f, 1.3f};
    const int ks[3] = {0, 5, 0};
    for (int j = 0; j < 3; j++) {
        int prompt[2] = {47, 3}, a[2 + 40], b2[2 + 40], n_b = 0;
        inh_rng ra, rb;
        inh_rng_seed(&ra, 11 + j); inh_rng_seed(&rb, 11 + j);
        inh_sampling q = {temps[j], ks[j], 1.0f};
        int rc1 = inh_model_generate(&m, prompt, 2, 40, temps[j], ks[j], &ra, a);
        int rc2 = inh_model_generate_with(&m, prompt, 2, 40, &q, &rb, b2, &n_b, NULL, NULL);
        CHECK(rc1 == 0 && rc2 == 0 && n_b == 40 && !memcmp(a, b2, sizeof a), "top-p 1 draws what inh_model_generate draws (temperature %g, top_k %d)",
              (double)temps[j], ks[j]);
    }
    /* through the tool: --top-p checked, and a small nucleus is the greedy sample */
    CHECK(inh_model_save(&m, DIR_ "/topp.bin") == 0, "save the sampling model: %s", inh_error());
    inh_model_free(&m);
    char g[4096], n1[4096];
    int rc = run(TOOL " sample --model " DIR_ "/topp.bin --prompt-ids 47,3 --tokens 20 --temperature 0 --threads 1", g, sizeof g);
    int rc2 = run(TOOL " sample --model " DIR_ "/topp.bin --prompt-ids 47,3 --tokens 20 --top-p 0.000001 --seed 9 --threads 1", n1, sizeof n1);
    CHECK(rc == 0 && rc2 == 0 && !strcmp(g, n1), "sample --top-p 1e-6 is the greedy sample: '%s' / '%s'", g, n1);
    rc = run(TOOL " sample --model " DIR_ "/topp.bin --tokens 20 --top-p 0.9 --threads 1", out, sizeof out);
    CHECK(rc == 0, "sample --top-p 0.9 runs: %s", out);
    const char *badp[3] = {"0", "1.5", "-0.2"};
    for (int i = 0; i < 3; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, TOOL " sample --model " DIR_ "/topp.bin --tokens 5 --top-p %s", badp[i]);
        rc = run(cmd, out, sizeof out);
        CHECK(rc != 0 && strstr(out, "--top-p") && !strstr(out, "47"), "sample --top-p %s is refused before sampling: rc %d %s", badp[i], rc, out);
    }
}

/* issue 25 #3: every save, and every output of the tool, refuses to replace a file of another kind */
static void never_overwrite(void) {
    const char *text = "Lorem ipsum: a corpus of 303 KB, stood in for by one line.\n";
    int rc = run("rm -rf " DIR_ "/w && mkdir -p " DIR_ "/w && " TOOL " synth --out " DIR_ "/w/d --tokens 20000 --val-tokens 4000 --vocab 64"
                 " && " TOOL " train --data " DIR_ "/w/d/train.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16"
                 " --steps 1 --threads 1 --out " DIR_ "/w/m.bin", out, sizeof out);
    CHECK(rc == 0, "a model and shards to work with: %s", out);
    unsigned char *shard = NULL;
    size_t shard_n = 0;
    file_bytes(DIR_ "/w/d/val.bin", &shard, &shard_n);

    /* the library: what a file is */
    inh_tokenizer *tok = NULL;
    write_text(DIR_ "/w/lic.txt", text);
    write_text(DIR_ "/w/r.json", "{\"a\": 1}\n");
    write_text(DIR_ "/w/r.html", "<!DOCTYPE html>\n<html></html>\n");
    write_text(DIR_ "/w/r.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n");
    write_text(DIR_ "/w/empty", "");
    write_text(DIR_ "/w/bin.dat", "\x01\x02\x03\x00\x7f binary");
    inh_tokenizer_load(&tok, "bytes");
    if (tok) { inh_tokenizer_save_llmc(tok, DIR_ "/w/tok.bin"); inh_tokenizer_free(tok); }
    struct { const char *path; int kind; } k[] = {
        {DIR_ "/w/m.bin", INH_FILE_MODEL}, {DIR_ "/w/d/val.bin", INH_FILE_SHARD}, {DIR_ "/w/lic.txt", INH_FILE_TEXT},
        {DIR_ "/w/r.json", INH_FILE_JSON}, {DIR_ "/w/r.html", INH_FILE_HTML}, {DIR_ "/w/r.svg", INH_FILE_SVG},
        {DIR_ "/w/empty", INH_FILE_EMPTY}, {DIR_ "/w/d", INH_FILE_DIR}, {DIR_ "/w/none", INH_FILE_NONE},
        {DIR_ "/w/tok.bin", INH_FILE_TOKENIZER}, {DIR_ "/w/bin.dat", INH_FILE_OTHER}, {DIR_ "/w/m.loss.svg", INH_FILE_SVG},
    };
    for (int i = 0; i < NF_(k); i++)
        CHECK(inh_file_kind(k[i].path) == k[i].kind, "issue 25 #3: inh_file_kind(%s) is %s, got %s", k[i].path,
              inh_file_kind_name(k[i].kind), inh_file_kind_name(inh_file_kind(k[i].path)));
    inh_model m;
    memset(&m, 0, sizeof m);
    if (inh_model_load(&m, DIR_ "/w/m.bin") == 0) {
        CHECK(inh_model_save_safetensors(&m, DIR_ "/w/st/") == 0 && inh_file_kind(DIR_ "/w/st/model.safetensors") == INH_FILE_SAFETENSORS &&
              inh_file_kind(DIR_ "/w/st/config.json") == INH_FILE_JSON, "issue 25 #3: a safetensors model and its config.json are told apart");
        inh_trainer t;
        inh_data d;
        inh_train_opts o;
        inh_train_opts_default(&o); o.B = 1; o.T = 8; o.steps = 1;
        if (inh_data_open(&d, DIR_ "/w/d/val.bin", 64) == 0) {
            if (inh_trainer_init(&t, &m, &d, &o) == 0) {
                CHECK(inh_trainer_save_state(&t, DIR_ "/w/s.state") == 0 && inh_file_kind(DIR_ "/w/s.state") == INH_FILE_STATE,
                      "issue 25 #3: a training state is told apart: %s", inh_error());
                /* the library's save refuses a file of another kind, and leaves no temporary */
                CHECK(inh_trainer_save_state(&t, DIR_ "/w/lic.txt") == -1 && strstr(inh_error(), "lic.txt") && strstr(inh_error(), "text file"),
                      "issue 25 #3: the state's save refuses to replace a text file: %s", inh_error());
                inh_trainer_free(&t);
            }
            inh_data_close(&d);
        }
        CHECK(inh_model_save(&m, DIR_ "/w/lic.txt") == -1 && strstr(inh_error(), "lic.txt: is a text file, not a model"),
              "issue 25 #3: inh_model_save refuses to replace a text file, naming it and its kind: %s", inh_error());
        CHECK(inh_model_save(&m, DIR_ "/w/d/val.bin") == -1 && strstr(inh_error(), "token shard"),
              "issue 25 #3: inh_model_save refuses to replace a token shard: %s", inh_error());
        CHECK(same_bytes(DIR_ "/w/lic.txt", (const unsigned char *)text, strlen(text)) && same_bytes(DIR_ "/w/d/val.bin", shard, shard_n),
              "issue 25 #3: the text and the shard are unchanged byte for byte");
        CHECK(inh_model_save(&m, DIR_ "/w/m.bin") == 0 && inh_model_save(&m, DIR_ "/w/empty") == 0,
              "issue 25 #3: a model replaces a model, and an empty file: %s", inh_error());
        inh_model_free(&m);
    }
    rc = run("ls " DIR_ "/w | grep -c tmp", out, sizeof out);
    CHECK(atoi(out) == 0, "issue 25 #3: a refused save leaves no temporary: %s", out);

    /* the tool: convert */
    rc = run(TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/lic.txt", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "lic.txt") && strstr(out, "text file"), "issue 25 #3: convert m.bin lic.txt refuses, naming the text: rc %d %s", rc, out);
    CHECK(same_bytes(DIR_ "/w/lic.txt", (const unsigned char *)text, strlen(text)), "issue 25 #3: lic.txt unchanged byte for byte");
    rc = run(TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/new.model", out, sizeof out);
    CHECK(rc != 0 && strstr(out, ".bin") && strstr(out, ".safetensors") && strstr(out, "directory") && !test_file_exists(DIR_ "/w/new.model"),
          "issue 25 #3: convert to an unknown extension is an error listing the known ones: %s", out);
    rc = run(TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/d/val.bin", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "val.bin") && strstr(out, "token shard") && same_bytes(DIR_ "/w/d/val.bin", shard, shard_n),
          "issue 25 #3: convert onto a shard named .bin refuses, the shard unchanged: %s", out);
    write_text(DIR_ "/w/notes.bin", text);
    rc = run(TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/notes.bin --force", out, sizeof out);
    CHECK(rc == 0 && inh_file_kind(DIR_ "/w/notes.bin") == INH_FILE_MODEL, "issue 25 #3: --force replaces it: rc %d %s", rc, out);
    rc = run(TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/m2.bin && " TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/m2.bin", out, sizeof out);
    CHECK(rc == 0 && inh_file_kind(DIR_ "/w/m2.bin") == INH_FILE_MODEL, "issue 25 #3: a model replaces a model without --force: %s", out);
    rc = run("mkdir -p " DIR_ "/w/hf && cp " DIR_ "/w/lic.txt " DIR_ "/w/hf/config.json && " TOOL " convert " DIR_ "/w/m.bin " DIR_ "/w/hf", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "config.json") && !test_file_exists(DIR_ "/w/hf/model.safetensors"),
          "issue 25 #3: convert into a directory whose config.json is a text refuses before writing: %s", out);

    /* train --out onto a shard: refused before training */
    rc = run(TOOL " train --data " DIR_ "/w/d/train.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16 --steps 30"
             " --threads 1 --out " DIR_ "/w/d/val.bin", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "val.bin") && strstr(out, "token shard") && !strstr(out, "step 1 ") && same_bytes(DIR_ "/w/d/val.bin", shard, shard_n),
          "issue 25 #3: train --out onto a shard refuses before training, the shard unchanged: rc %d %s", rc, out);
    rc = run(TOOL " train --data " DIR_ "/w/d/train.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16 --steps 30"
             " --threads 1 --out " DIR_ "/w/m3.bin --state " DIR_ "/w/lic.txt", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "lic.txt") && !strstr(out, "step 1 ") && !test_file_exists(DIR_ "/w/m3.bin"),
          "issue 25 #3: train --state onto a text refuses before training: rc %d %s", rc, out);
    rc = run(TOOL " train --data " DIR_ "/w/d/train.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16 --steps 3"
             " --threads 1 --out " DIR_ "/w/m3.bin --log " DIR_ "/w/lic.txt", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "lic.txt") && !strstr(out, "step 1 ") && same_bytes(DIR_ "/w/lic.txt", (const unsigned char *)text, strlen(text)),
          "issue 25 #3: train --log onto a text that is not a log refuses: rc %d %s", rc, out);
    rc = run("cp " DIR_ "/w/d/val.bin " DIR_ "/w/v2.bin && " TOOL " train --data " DIR_ "/w/d/train.bin --layers 1 --heads 2 --dim 16 --seq-max 16"
             " --batch 2 --seq 16 --steps 2 --threads 1 --out " DIR_ "/w/v2.bin --force --log " DIR_ "/w/t.csv && " TOOL " train --data " DIR_ "/w/d/train.bin"
             " --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16 --steps 2 --threads 1 --out " DIR_ "/w/v2.bin --log " DIR_ "/w/t.csv",
             out, sizeof out);
    CHECK(rc == 0 && inh_file_kind(DIR_ "/w/v2.bin") == INH_FILE_MODEL, "issue 25 #3: train --out onto a shard with --force; then a model and a log replace their own kinds: rc %d %s", rc, out);

    /* reports onto a model, a text, a shard */
    unsigned char *model = NULL;
    size_t model_n = 0;
    file_bytes(DIR_ "/w/m.bin", &model, &model_n);
    const char *rep[5][2] = {{"analyze", "--html"}, {"analyze", "--json"}, {"analyze", "--svg"}, {"drop-sweep", "--svg"}, {"drop-sweep", "--html"}};
    for (int i = 0; i < 5; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, TOOL " %s --model " DIR_ "/w/m.bin --data " DIR_ "/w/d/val.bin %s --threads 1 %s %s",
                 rep[i][0], !strcmp(rep[i][0], "analyze") ? "--seqs 2 --seq-len 8" : "--batch 1 --seq 8", rep[i][1], DIR_ "/w/m.bin");
        rc = run(cmd, out, sizeof out);
        CHECK(rc != 0 && strstr(out, "m.bin") && strstr(out, "model") && same_bytes(DIR_ "/w/m.bin", model, model_n),
              "issue 25 #3: %s %s onto a model refuses, the model unchanged: rc %d %s", rep[i][0], rep[i][1], rc, out);
    }
    rc = run(TOOL " analyze --model " DIR_ "/w/m.bin --data " DIR_ "/w/d/val.bin --seqs 2 --seq-len 8 --threads 1 --json " DIR_ "/w/lic.txt", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "lic.txt") && same_bytes(DIR_ "/w/lic.txt", (const unsigned char *)text, strlen(text)),
          "issue 25 #3: analyze --json onto a text refuses: %s", out);
    rc = run(TOOL " analyze --model " DIR_ "/w/m.bin --data " DIR_ "/w/d/val.bin --seqs 2 --seq-len 8 --threads 1 --json " DIR_ "/w/r.json --html " DIR_ "/w/r.html"
             " && " TOOL " analyze --model " DIR_ "/w/m.bin --data " DIR_ "/w/d/val.bin --seqs 2 --seq-len 8 --threads 1 --json " DIR_ "/w/r.json --html " DIR_ "/w/r.html",
             out, sizeof out);
    CHECK(rc == 0 && inh_file_kind(DIR_ "/w/r.html") == INH_FILE_HTML && inh_file_kind(DIR_ "/w/r.json") == INH_FILE_JSON,
          "issue 25 #3: reports replace reports of their kind: %s", out);

    /* inherit and prepare */
    rc = run(TOOL " inherit --ref " DIR_ "/w/m.bin --layers 1 --out " DIR_ "/w/lic.txt", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "lic.txt") && same_bytes(DIR_ "/w/lic.txt", (const unsigned char *)text, strlen(text)), "issue 25 #3: inherit --out onto a text refuses: %s", out);
    rc = run("mkdir -p " DIR_ "/w/p && cp " DIR_ "/w/m.bin " DIR_ "/w/p/train.bin && " TOOL " prepare --tokenizer bytes " DIR_ "/w/lic.txt " DIR_ "/w/p", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "train.bin") && strstr(out, "model") && same_bytes(DIR_ "/w/p/train.bin", model, model_n),
          "issue 25 #3: prepare onto a directory whose train.bin is a model refuses: %s", out);
    rc = run(TOOL " prepare --tokenizer bytes --val-tokens 5 " DIR_ "/w/lic.txt " DIR_ "/w/p --force", out, sizeof out);
    CHECK(rc == 0 && inh_file_kind(DIR_ "/w/p/train.bin") == INH_FILE_SHARD, "issue 25 #3: prepare --force replaces it: %s", out);
    rc = run("mkdir -p " DIR_ "/w/s && cp " DIR_ "/w/m.bin " DIR_ "/w/s/val.bin && " TOOL " synth --out " DIR_ "/w/s --tokens 100 --val-tokens 10", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "val.bin") && same_bytes(DIR_ "/w/s/val.bin", model, model_n) && !test_file_exists(DIR_ "/w/s/train.bin"),
          "issue 25 #3: synth onto a directory whose val.bin is a model refuses before writing: %s", out);
    free(model);
    free(shard);
}

/* issue 25 #18: a save removes its path's stale temporaries (NAME.tmp.PID of a process that is
   gone: a kill -9 during a save), and keeps those of running processes */
static void stale_temporaries(void) {
#if defined(_WIN32)
    SKIP("stale temporaries: needs fork (POSIX)");
#else
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);   /* child is now a pid no process has (reuse within this test: negligible) */
    char dead[256], mine[256], parent[256], other[256];
    snprintf(dead, sizeof dead, DIR_ "/x.bin.tmp.%ld", (long)child);
    snprintf(mine, sizeof mine, DIR_ "/x.bin.tmp.%ld", (long)getpid());
    snprintf(parent, sizeof parent, DIR_ "/x.bin.tmp.%ld", (long)getppid());
    snprintf(other, sizeof other, DIR_ "/y.bin.tmp.%ld", (long)child);
    write_text(dead, "half a model");
    write_text(parent, "a save in progress");
    write_text(other, "another file's temporary");
    inh_config c;
    inh_model m;
    inh_config_default(&c, 8, 16, 1, 1, 8);
    CHECK(inh_model_init(&m, &c, 1) == 0 && inh_model_save(&m, DIR_ "/x.bin") == 0, "save x.bin: %s", inh_error());
    inh_model_free(&m);
    CHECK(!test_file_exists(dead), "issue 25 #18: the save removed %s (its process is gone)", dead);
    CHECK(test_file_exists(parent), "issue 25 #18: the temporary of a running process is kept (%s)", parent);
    CHECK(test_file_exists(other), "issue 25 #18: another file's temporary is not touched (%s)", other);
    CHECK(!test_file_exists(mine), "the save's own temporary is gone after the rename");
    remove(parent); remove(other);
    /* the tool's saves too: train --out */
    write_text(dead, "half a model");
    snprintf(other, sizeof other, DIR_ "/x.state.tmp.%ld", (long)child);
    write_text(other, "half a state");
    int rc = run(TOOL " synth --out " DIR_ "/sd --tokens 4000 --val-tokens 1000 --vocab 32 && " TOOL " train --data " DIR_ "/sd/train.bin --layers 1 --heads 1"
                 " --dim 8 --seq-max 8 --batch 1 --seq 8 --steps 1 --threads 1 --out " DIR_ "/x.bin --state " DIR_ "/x.state", out, sizeof out);
    CHECK(rc == 0 && !test_file_exists(dead) && !test_file_exists(other), "issue 25 #18: train --out/--state remove their stale temporaries: rc %d %s", rc, out);
#endif
}

int main(void) {
#if defined(_WIN32)
    printf("usability: compilers and the tool through a POSIX shell: run on Linux or macOS\n");
    return test_summary("usability");
#else
    if (!test_file_exists(TOOL_FILE)) { printf("usability: %s not built\nusability: 0 passed, 1 failed\n", TOOL); return 1; }
    run("rm -rf " DIR_ " && mkdir -p " DIR_, out, sizeof out);
    include_order();
    manual_example();
    top_p();
    never_overwrite();
    stale_temporaries();
    return test_summary("usability");
#endif
}
