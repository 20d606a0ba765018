/* tests/test_week2.c - issue 25, the command-line tool in a user's second week: a repeated flag is
   an error (#16); --version and "did you mean" (#18); sample says why it stopped early, escapes
   control bytes (#18) and checks its prompt before printing (#11); prepare leaves nothing behind
   and refuses UTF-16/UTF-32 (#11); train --print-every (#11); analyze --shortcuts (#7); a recipe
   that cannot start leaves no recipe.lock (#18). Tiny models, a few steps: a few seconds in all. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>

#define W2 "build/w2/"

static char out[1 << 16];

/* the command's stdout and stderr as bytes (NULs included); the length in *n, the exit status back */
static int run_bytes(const char *cmd, unsigned char *buf, size_t cap, size_t *n) {
    char full[4096];
    *n = 0;
    snprintf(full, sizeof full, "%s 2>&1", cmd);
#if defined(_WIN32)
    FILE *p = _popen(full, "rb");
#else
    FILE *p = popen(full, "r");
#endif
    if (!p) return -1;
    for (size_t got; *n < cap && (got = fread(buf + *n, 1, cap - *n, p)) > 0;) *n += got;
#if defined(_WIN32)
    return _pclose(p);
#else
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
#endif
}

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(p, 1, n, f); fclose(f); }
}

static int count_lines_starting(const char *s, const char *prefix) {
    int n = 0;
    size_t k = strlen(prefix);
    for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, k)) n++;
    return n;
}

/* the inputs: a pattern shard (ids < 32), a V=32 model, a shortcut model, and a byte-level model
   (V=257) whose logits are fixed: log-odds `k` for <|endoftext|> (id 256) against each byte */
static void make_inputs(void) {
    int ids[3000];
    inh_config c;
    inh_model m;
    inh_make_dir("build");
    test_rmtree(W2);
    inh_make_dir(W2);
    for (int i = 0; i < 3000; i++) ids[i] = (i % 7 + i / 50) % 32;
    inh_data_write(W2 "pat.bin", ids, 3000);
    inh_config_default(&c, 16, 32, 2, 2, 16);
    if (inh_model_init(&m, &c, 1) == 0) { inh_model_save(&m, W2 "m32.bin"); inh_model_free(&m); }
    inh_config_default(&c, 16, 32, 3, 2, 16);
    if (inh_config_set_shortcuts(&c, 1, NULL) == 0 && inh_model_init(&m, &c, 1) == 0) { inh_model_save(&m, W2 "sc.bin"); inh_model_free(&m); }
    inh_config_default(&c, 32, 257, 1, 2, 16);
    if (inh_model_init(&m, &c, 1) == 0) {
        /* the final LayerNorm gives b = 1 everywhere (weight 0, bias 1), so logit_v = sum of row v of wte */
        for (int i = 0; i < 16; i++) { m.params.lnfw[i] = 0.0f; m.params.lnfb[i] = 1.0f; }
        memset(m.params.wte, 0, sizeof(float) * (size_t)m.cfg.Vp * 16);
        for (int i = 0; i < 16; i++) m.params.wte[256 * 16 + i] = 3.35f / 16;   /* p(eot) = e^3.35 / (e^3.35 + 256) = 0.1 */
        inh_model_save(&m, W2 "bytes_eot.bin");
        for (int i = 0; i < 16; i++) m.params.wte[256 * 16 + i] = -1.0f;        /* p(eot) ~ 4e-10: bytes only */
        inh_model_save(&m, W2 "bytes.bin");
        inh_model_free(&m);
    }
}

/* issue 25 #16: a repeated flag is an error, never a silent override */
static void repeated_flags(void) {
    int rc = run(TOOL " train --data " W2 "pat.bin --data " W2 "m32.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --steps 1 --threads 1", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "error: flag '--data' given twice") && strstr(out, "--data a.bin,b.bin") && !strstr(out, "step 1"),
          "#16: train --data A --data B fails before training and suggests the comma list: %s", out);
    rc = run(TOOL " train --data " W2 "pat.bin --val " W2 "pat.bin --val " W2 "pat.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --steps 1", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "flag '--val' given twice") && strstr(out, "--val a.bin,b.bin"), "#16: --val twice: %s", out);
    rc = run(TOOL " eval --model " W2 "m32.bin --data " W2 "pat.bin --batch 2 --batch=3 --seq 8 --threads 1", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "error: flag '--batch' given twice") && !strstr(out, "loss "),
          "#16: --batch 2 --batch=3 is an error for every flag (and both spellings): %s", out);
    rc = run(TOOL " sample --model " W2 "m32.bin --prompt-ids 1 --tokens 2 --drop-shortcut --drop-shortcut", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "flag '--drop-shortcut' given twice"), "#16: a switch given twice: %s", out);
    rc = run(TOOL " eval --model " W2 "m32.bin --data " W2 "pat.bin --batch 2 --seq 8 --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "loss "), "#16: each flag once still runs: %s", out);
}

/* issue 25 #18: --version, and "did you mean" for unknown flags and commands */
static void version_and_suggestions(void) {
    char want[64];
    snprintf(want, sizeof want, "inheritune %s\n", INHERITUNE_VERSION);
    CHECK(!strcmp(INHERITUNE_VERSION, "0.9.0"), "#18: INHERITUNE_VERSION is 0.9.0: %s", INHERITUNE_VERSION);
    int rc = run(TOOL " --version", out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, want), "#18: --version prints '%s' alone: %s", "inheritune 0.9.0", out);
    rc = run(TOOL " version", out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, want), "#18: the version command: %s", out);
    rc = run(TOOL " train --layer 2", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "unknown flag '--layer'") && strstr(out, "did you mean `--layers`?"), "#18: --layer -> did you mean --layers: %s", out);
    rc = run(TOOL " train --lyaers 2", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "did you mean `--layers`?"), "#18: a swapped pair of letters: %s", out);
    rc = run(TOOL " eval --modle " W2 "m32.bin", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "did you mean `--model`?"), "#18: eval --modle: %s", out);
    rc = run(TOOL " train -layers 2", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "unknown flag '-layers'") && strstr(out, "did you mean `--layers`?"), "#18: one dash: %s", out);
    rc = run(TOOL " train --zzzzzzzzzz 2", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "unknown flag '--zzzzzzzzzz'") && !strstr(out, "did you mean"), "#18: nothing close: no guess: %s", out);
    rc = run(TOOL " trian --help", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "unknown command 'trian'") && strstr(out, "did you mean `train`?"), "#18: trian -> train: %s", out);
    rc = run(TOOL " anlyze", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "did you mean `analyze`?"), "#18: anlyze -> analyze: %s", out);
}

/* issue 25 #18: sample says when it stopped at <|endoftext|>; control bytes print as \xNN */
static void sample_eot_and_escapes(void) {
    static unsigned char b[1 << 16];
    size_t n;
    int rc = run(TOOL " sample --model " W2 "bytes_eot.bin --tokenizer bytes --tokens 200 --seed 1 --threads 1", out, sizeof out);
    const char *note = strstr(out, "note: stopped at <|endoftext|> after ");
    int got = -1, want = 0;
    CHECK(rc == 0 && note && sscanf(note, "note: stopped at <|endoftext|> after %d of %d tokens", &got, &want) == 2 && want == 200 && got >= 0 && got < 200,
          "#18: a sample that ends at <|endoftext|> says so, with the count (p(eot) = 0.1 a token): %s", out);
    rc = run(TOOL " sample --model " W2 "bytes_eot.bin --tokenizer bytes --tokens 200 --seed 1 --threads 1 --ignore-eot", out, sizeof out);
    CHECK(rc == 0 && !strstr(out, "note: stopped"), "#18: --ignore-eot: no note: %.200s", out);
    rc = run(TOOL " sample --model " W2 "bytes.bin --tokenizer bytes --tokens 3 --seed 1 --threads 1", out, sizeof out);
    CHECK(rc == 0 && !strstr(out, "note: stopped"), "#18: all tokens generated: no note: %s", out);
    /* 400 uniform bytes: about 47 control bytes and 200 not UTF-8; none reaches the terminal as it is */
    rc = run_bytes(TOOL " sample --model " W2 "bytes.bin --tokenizer bytes --tokens 400 --seed 3 --threads 1", b, sizeof b, &n);
    int ctl = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        ctl += (b[i] < 0x20 && b[i] != '\n' && b[i] != '\t' && b[i] != '\r') || b[i] == 0x7F;
        esc += i + 3 < n && b[i] == '\\' && b[i + 1] == 'x';
    }
    CHECK(rc == 0 && n > 400 && ctl == 0 && esc >= 100, "#18: control bytes and non-UTF-8 print as \\xNN (%d raw control bytes, %d escapes in %zu bytes)", ctl, esc, n);
    int bad_utf8 = 0;
    for (size_t i = 0; i < n;) {   /* what is printed is UTF-8 */
        unsigned c = b[i];
        int k = c < 0x80 ? 1 : (c >= 0xC2 && c < 0xE0) ? 2 : (c >= 0xE0 && c < 0xF0) ? 3 : (c >= 0xF0 && c < 0xF5) ? 4 : 0;
        if (!k || i + (size_t)k > n) { bad_utf8++; i++; continue; }
        for (int j = 1; j < k; j++) if ((b[i + j] & 0xC0) != 0x80) { bad_utf8++; k = 1; break; }
        i += (size_t)k;
    }
    CHECK(bad_utf8 == 0, "#18: the escaped sample is UTF-8 (%d bad sequences)", bad_utf8);
    rc = run_bytes(TOOL " sample --model " W2 "bytes.bin --tokenizer bytes --tokens 400 --seed 3 --threads 1 --raw", b, sizeof b, &n);
    ctl = 0;
    for (size_t i = 0; i < n; i++) ctl += (b[i] < 0x20 && b[i] != '\n' && b[i] != '\t' && b[i] != '\r') || b[i] == 0x7F;
    CHECK(rc == 0 && ctl >= 10, "#18: --raw writes the bytes as they are (%d control bytes)", ctl);
    /* train --sample-every: the same */
    rc = run_bytes(TOOL " train --init " W2 "bytes.bin --data " W2 "pat.bin --batch 1 --seq 16 --steps 1 --lr 0 --threads 1"
                   " --sample-every 1 --sample-tokens 300 --tokenizer bytes", b, sizeof b, &n);
    ctl = esc = 0;
    for (size_t i = 0; i < n; i++) {
        ctl += (b[i] < 0x20 && b[i] != '\n' && b[i] != '\t' && b[i] != '\r') || b[i] == 0x7F;
        esc += i + 3 < n && b[i] == '\\' && b[i + 1] == 'x';
    }
    b[n < sizeof b ? n : sizeof b - 1] = 0;
    CHECK(rc == 0 && strstr((char *)b, "step 1 sample: ") && ctl == 0 && esc >= 50, "#18: train --sample-every escapes too (%d control bytes, %d escapes)", ctl, esc);
    /* a character split over two tokens is whole on the terminal: the prompt "é" is two byte tokens */
    rc = run(TOOL " sample --model " W2 "bytes.bin --tokenizer bytes --prompt-ids 195,169,10 --tokens 0", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "\xc3\xa9\n", 3), "#18: a UTF-8 character over two tokens stays one character: %s", out);
}

/* issue 25 #11: sample checks everything before it prints */
static void sample_checks_first(void) {
    int rc = run(TOOL " sample --model " W2 "m32.bin --prompt-ids 1,2,999 --tokens 3 --threads 1", out, sizeof out);
    CHECK(rc != 0 && !strncmp(out, "error: ", 7) && strstr(out, "999") && strstr(out, "V=32"),
          "#11: --prompt-ids with an id >= V: the error comes first, nothing printed before it: %s", out);
    rc = run("{ " TOOL " sample --model " W2 "m32.bin --prompt-ids 1,2,999 --tokens 3 --threads 1 2>/dev/null; }", out, sizeof out);
    CHECK(rc != 0 && out[0] == 0, "#11: nothing on stdout: '%s'", out);
    rc = run(TOOL " sample --model " W2 "m32.bin --prompt-ids 1,2,31 --tokens 3 --threads 1 --temperature 0", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "1 2 31 ", 7), "#11: the largest id V-1 is fine: %s", out);
}

/* issue 25 #11: prepare checks its input before it makes anything, and leaves nothing on failure */
static void prepare_leaves_nothing(void) {
    int rc = run(TOOL " prepare --tokenizer bytes " W2 "missing.txt " W2 "p_missing", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "missing.txt: cannot open") && inh_path_kind(W2 "p_missing") == 0,
          "#11: prepare of a missing input makes no directory: %s", out);
    put(W2 "empty.txt", "", 0);
    rc = run(TOOL " prepare --tokenizer bytes " W2 "empty.txt " W2 "p_empty", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "empty.txt: is empty") && !strstr(out, "MB read") && inh_path_kind(W2 "p_empty") == 0,
          "#11: an empty input is refused before any progress line, no directory: %s", out);
    put(W2 "small.txt", "hi\n\nthere", 9);
    rc = run(TOOL " prepare --tokenizer bytes " W2 "small.txt " W2 "p_small", out, sizeof out);
    CHECK(rc != 0 && !strncmp(out, "error: ", 7) && strstr(out, "too few for --val-tokens") && inh_path_kind(W2 "p_small") == 0,
          "#11: a failure after the directory was made removes it, and no progress line comes first: %s", out);
    inh_make_dir(W2 "p_there");
    rc = run(TOOL " prepare --tokenizer bytes " W2 "small.txt " W2 "p_there", out, sizeof out);
    CHECK(rc != 0 && inh_path_kind(W2 "p_there") == 2, "#11: a directory that was there stays: %s", out);
    /* UTF-16 (with and without a byte-order mark) and UTF-32: refused, naming iconv */
    unsigned char u[4096];
    const char *txt = "The cat sat on the mat.\n\nA dog ran.\n\n";
    size_t k = 0, L = strlen(txt);
    u[k++] = 0xFF; u[k++] = 0xFE;
    for (int r = 0; r < 20; r++) for (size_t i = 0; i < L; i++) { u[k++] = (unsigned char)txt[i]; u[k++] = 0; }
    put(W2 "u16bom.txt", u, k);
    put(W2 "u16.txt", u + 2, k - 2);
    rc = run(TOOL " prepare --tokenizer bytes --val-tokens 10 " W2 "u16bom.txt " W2 "p_u16", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "UTF-16") && strstr(out, "iconv -f UTF-16 -t UTF-8") && inh_path_kind(W2 "p_u16") == 0,
          "#11: UTF-16 with a byte-order mark is refused, naming iconv: %s", out);
    rc = run(TOOL " prepare --tokenizer bytes --val-tokens 10 " W2 "u16.txt " W2 "p_u16", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "UTF-16") && strstr(out, "iconv -f UTF-16LE -t UTF-8") && inh_path_kind(W2 "p_u16") == 0,
          "#11: UTF-16 without a mark (NUL-heavy) is refused, naming iconv: %s", out);
    k = 0;
    for (int r = 0; r < 10; r++) for (size_t i = 0; i < L; i++) { u[k++] = 0; u[k++] = 0; u[k++] = 0; u[k++] = (unsigned char)txt[i]; }
    put(W2 "u32be.txt", u, k);
    rc = run(TOOL " prepare --tokenizer bytes --val-tokens 10 " W2 "u32be.txt " W2 "p_u32", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "UTF-32") && strstr(out, "iconv -f UTF-32BE") && inh_path_kind(W2 "p_u32") == 0, "#11: UTF-32: %s", out);
    /* UTF-8 text (with non-ASCII letters) still prepares */
    FILE *f = fopen(W2 "ok.txt", "wb");
    for (int i = 0; f && i < 200; i++) fprintf(f, "Zo\xc3\xab sat on mat %d.\n\n", i % 10);
    if (f) fclose(f);
    rc = run(TOOL " prepare --tokenizer bytes --val-tokens 500 " W2 "ok.txt " W2 "p_ok", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "MB read") && strstr(out, "wrote " W2 "p_ok/val.bin (500 tokens)") && inh_path_kind(W2 "p_ok/train.bin") == 1,
          "#11: UTF-8 text prepares as before (progress line, then what it wrote): %s", out);
#ifdef TOOL_WINE
    SKIP("prepare from a pipe (/dev/stdin): a Linux path");
#else
    /* the check reads the first bytes and does not put them back: a pipe still prepares whole */
    rc = run("{ cat " W2 "ok.txt | " TOOL " prepare --tokenizer bytes --val-tokens 500 /dev/stdin " W2 "p_pipe 2>&1 && cmp " W2 "p_ok/train.bin " W2 "p_pipe/train.bin; }", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "wrote " W2 "p_pipe/val.bin (500 tokens)"), "#11: prepare from a pipe: the same shards as from the file: %s", out);
#endif
}

/* issue 25 #11: train --print-every N */
static void print_every(void) {
    const char *base = TOOL " train --data " W2 "pat.bin --layers 1 --heads 2 --dim 16 --seq-max 16 --batch 2 --seq 16 --steps 7 --threads 1";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --print-every 3", base);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && count_lines_starting(out, "step ") == 3 && strstr(out, "\nstep 3 loss ") && strstr(out, "\nstep 6 loss ") && strstr(out, "\nstep 7 loss "),
          "#11: --print-every 3 of 7 steps: steps 3, 6 and the last, 7: %s", out);
    rc = run(base, out, sizeof out);
    CHECK(rc == 0 && count_lines_starting(out, "step ") == 7, "#11: default: every step: %s", out);
    snprintf(cmd, sizeof cmd, "%s --print-every 0", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--print-every 0") && !strstr(out, "step 1"), "#11: --print-every 0 is refused: %s", out);
}

/* issue 25 #7: analyze takes --shortcuts and --drop-shortcut as eval and sample do */
static void analyze_shortcuts(void) {
    const char *base = TOOL " analyze --model " W2 "sc.bin --data " W2 "pat.bin --seqs 4 --seq-len 16 --threads 1";
    char cmd[1024];
    float l_causal = 0, l_depth = 0, l_drop = 0, l_eval = 0;
    int rc = run(base, out, sizeof out);
    const char *p = strstr(out, ", loss ");
    CHECK(rc == 0 && p && sscanf(p, ", loss %f", &l_causal) == 1 && strstr(out, "shortcut attention (causal)"), "#7: analyze a shortcut model: %s", out);
    snprintf(cmd, sizeof cmd, "%s --shortcuts depth", base);
    rc = run(cmd, out, sizeof out);
    p = strstr(out, ", loss ");
    CHECK(rc == 0 && p && sscanf(p, ", loss %f", &l_depth) == 1 && strstr(out, "shortcuts: depth") && strstr(out, "shortcut attention (depth)"),
          "#7: analyze --shortcuts depth: %s", out);
    CHECK(l_depth != l_causal, "#7: the variant changes the model analysed (loss %.6f causal, %.6f depth)", l_causal, l_depth);
    snprintf(cmd, sizeof cmd, "%s --drop-shortcut", base);
    rc = run(cmd, out, sizeof out);
    p = strstr(out, ", loss ");
    CHECK(rc == 0 && p && sscanf(p, ", loss %f", &l_drop) == 1 && strstr(out, "(dropped: the plain model inside)"), "#7: analyze --drop-shortcut: %s", out);
    /* the plain model inside, as eval sees it: 4 consecutive windows of 16 tokens, the same loss */
    rc = run(TOOL " eval --model " W2 "sc.bin --data " W2 "pat.bin --batch 4 --seq 16 --batches 1 --drop-shortcut --threads 1", out, sizeof out);
    p = strstr(out, "\nloss ");
    CHECK(rc == 0 && p && sscanf(p, "\nloss %f", &l_eval) == 1, "#7: eval --drop-shortcut: %s", out);
    snprintf(cmd, sizeof cmd, "%s --no-shuffle --drop-shortcut", base);
    rc = run(cmd, out, sizeof out);
    p = strstr(out, ", loss ");
    float l_drop_seq = 0;
    CHECK(rc == 0 && p && sscanf(p, ", loss %f", &l_drop_seq) == 1 && fabs(l_drop_seq - l_eval) <= 1e-5 * l_eval,
          "#7: analyze --drop-shortcut --no-shuffle on eval's windows has eval's loss (%.6f vs %.6f, rel 1e-5: printed to 6 digits)", l_drop_seq, l_eval);
    rc = run(TOOL " analyze --model " W2 "m32.bin --data " W2 "pat.bin --seqs 4 --seq-len 16 --shortcuts causal", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "has no attention shortcuts"), "#7: --shortcuts on a plain model: the same error as eval's: %s", out);
    rc = run(TOOL " analyze --model " W2 "sc.bin --data " W2 "pat.bin --seqs 4 --seq-len 16 --shortcuts sideways", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--shortcuts must be causal or depth"), "#7: a bad variant: %s", out);
}

/* issue 25 #18: a recipe that cannot start leaves nothing behind (no OUT/recipe.lock) */
static void recipe_leaves_nothing(void) {
    const char *base = TOOL " recipe --ref " W2 "m32.bin --data " W2 "pat.bin --val " W2 "pat.bin --batch 2 --steps 2 --eval-batches 2 --baselines none --threads 1";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --seq 8 --start 9 --out " W2 "rec_start", base);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "fewer than the 9 asked for") && inh_path_kind(W2 "rec_start") == 0,
          "#18: recipe --start 9 on a 2-layer reference fails and leaves no OUT/: %s", out);
    snprintf(cmd, sizeof cmd, "%s --seq 64 --out " W2 "rec_seq", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "above the reference's maxT") && inh_path_kind(W2 "rec_seq") == 0, "#18: --seq above maxT: no OUT/: %s", out);
    snprintf(cmd, sizeof cmd, TOOL " recipe --ref " W2 "nothere.bin --data " W2 "pat.bin --val " W2 "pat.bin --steps 2 --out " W2 "rec_ref");
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "nothere.bin") && inh_path_kind(W2 "rec_ref") == 0, "#18: a missing reference: no OUT/: %s", out);
    inh_make_dir(W2 "rec_there");
    snprintf(cmd, sizeof cmd, "%s --seq 8 --start 9 --out " W2 "rec_there", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && inh_path_kind(W2 "rec_there") == 2 && inh_path_kind(W2 "rec_there/recipe.lock") == 0,
          "#18: an OUT/ that was there stays, without a recipe.lock: %s", out);
    snprintf(cmd, sizeof cmd, "%s --seq 8 --out " W2 "rec_ok", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "final depth") && inh_path_kind(W2 "rec_ok/recipe.json") == 1, "#18: a good recipe still runs: %s", out);
    snprintf(cmd, sizeof cmd, "%s --seq 8 --start 9 --fresh --out " W2 "rec_ok", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && inh_path_kind(W2 "rec_ok/settings.txt") == 1 && inh_path_kind(W2 "rec_ok/recipe.log") == 1 && inh_path_kind(W2 "rec_ok/recipe.lock") == 1,
          "#18: --fresh with a bad argument deletes nothing of the earlier recipe: %s", out);
    snprintf(cmd, sizeof cmd, "%s --seq 8 --lr 1e-2 --out " W2 "rec_ok", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "holds the runs of another recipe"), "#18: other settings without --fresh: still refused: %s", out);
    snprintf(cmd, sizeof cmd, "%s --seq 8 --lr 1e-2 --fresh --out " W2 "rec_ok", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "final depth"), "#18: --fresh with other settings starts over: %s", out);
}

int main(void) {
    if (!test_file_exists(TOOL_FILE)) { printf("week2: %s not built (run make)\nweek2: 0 passed, 1 failed\n", TOOL); return 1; }
    make_inputs();
    repeated_flags();
    version_and_suggestions();
    sample_eot_and_escapes();
    sample_checks_first();
    prepare_leaves_nothing();
    print_every();
    analyze_shortcuts();
    recipe_leaves_nothing();
    return test_summary("week2");
}
