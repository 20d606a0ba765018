/* tests/test_cli.c - the command-line contract: `eval` and `train` match PyTorch through the tool,
   resume through the tool, and every bad input exits non-zero with a message naming the problem. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <unistd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>



/* losses of the "step N loss X" lines, in order */
static int step_losses(const char *out, float *loss, int max) {
    int n = 0;
    for (const char *s = out; (s = strstr(s, "step ")) && n < max; s++) {
        int k; float l;
        if ((s == out || s[-1] == '\n') && sscanf(s, "step %d loss %f", &k, &l) == 2) loss[n++] = l;
    }
    return n;
}

static float ref_value(const char *name, int i) {   /* one value from tests/ref/tiny_ref.bin */
    unsigned char *buf; size_t len, off = 8;
    float v = NAN;
    if (inh__read_file("tests/ref/tiny_ref.bin", &buf, &len, 0)) return v;
    while (off + 8 <= len) {
        uint32_t nl = inh__rd32(buf + off);
        int match = nl == strlen(name) && !memcmp(buf + off + 4, name, nl);
        off += 4 + nl;
        uint32_t nd = inh__rd32(buf + off); off += 4;
        size_t cnt = 1;
        for (uint32_t d = 0; d < nd; d++) { cnt *= inh__rd32(buf + off); off += 4; }
        if (match) { memcpy(&v, buf + off + 4 * (size_t)i, 4); break; }
        off += 4 * cnt;
    }
    free(buf);
    return v;
}

static char out[1 << 16];

static void parity(void) {
    int rc = run(TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --threads 1", out, sizeof out);
    float loss = NAN;
    CHECK(rc == 0 && sscanf(strstr(out, "loss ") ? strstr(out, "loss ") : "", "loss %f", &loss) == 1, "eval runs: %s", out);
    CHECK_CLOSE(loss, ref_value("loss", 0), 1e-4, 0, "eval loss vs PyTorch (abs 1e-4)");
    const char *base = TOOL " train --init tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --no-shuffle --batch 2 --seq 8"
                       " --steps 10 --lr 1e-4 --beta1 0.9 --beta2 0.999 --eps 1e-8 --weight-decay 0.01 --grad-clip 0 --schedule constant --threads 2";
    for (int all = 0; all <= 1; all++) {
        char cmd[1024];
        float l[10];
        snprintf(cmd, sizeof cmd, "%s%s", base, all ? " --decay-all" : "");
        rc = run(cmd, out, sizeof out);
        int n = step_losses(out, l, 10);
        CHECK(rc == 0 && n == 10, "train prints 10 step lines (rc %d): %s", rc, out);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double d = fabs(l[i] - ref_value(all ? "losses_decay_all" : "losses_decay_2d", i));
            if (d > worst) worst = d;
        }
        CHECK(worst <= 2e-3, "train %s: 10 AdamW losses within 2e-3 of PyTorch (worst %.2g)", all ? "--decay-all" : "(2-D decay)", worst);
        CHECK(worst <= 1e-5, "train losses agree to 1e-5 (printed to 6 decimals; worst %.2g)", worst);
    }
}

/* --resume through the tool: constant schedule, 10 steps + resume to 20 equals 20 straight */
static void resume(void) {
    const char *common = TOOL " train --data build/cli_pattern.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32"
                         " --batch 4 --seq 16 --lr 1e-2 --schedule constant --threads 1";
    int ids[3000];
    for (int i = 0; i < 3000; i++) ids[i] = (i % 7 + i / 50) % 32;
    inh_data_write("build/cli_pattern.bin", ids, 3000);
    char cmd[1024];
    float a[20], b[20];
    snprintf(cmd, sizeof cmd, "%s --steps 20", common);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, a, 20) == 20, "20 straight steps: %s", out);
    snprintf(cmd, sizeof cmd, "%s --steps 10 --state build/cli_state.bin --out build/cli_model.bin", common);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, b, 10) == 10, "first 10 steps: %s", out);
    /* no --data: the state file records it (and a constant schedule may be extended: exact) */
    snprintf(cmd, sizeof cmd, TOOL " train --resume build/cli_state.bin --steps 20 --threads 1");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, b + 10, 10) == 10, "resumed 10 steps from `--resume FILE --steps 20` alone: %s", out);
    CHECK(memcmp(a, b, sizeof a) == 0, "10 + resume 10 prints the losses of 20 straight steps");
    /* the same with --bf16: the flag lives in the state file, and the losses follow fp32 */
    float c[20], d[20];
    snprintf(cmd, sizeof cmd, "%s --steps 20 --bf16", common);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, c, 20) == 20 && strstr(out, "bf16 matmuls"), "20 bf16 steps: %s", out);
    snprintf(cmd, sizeof cmd, "%s --steps 10 --bf16 --state build/cli_state16.bin", common);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, d, 10) == 10, "first 10 bf16 steps: %s", out);
    snprintf(cmd, sizeof cmd, TOOL " train --data build/cli_pattern.bin --resume build/cli_state16.bin --steps 20 --threads 1");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, d + 10, 10) == 10 && strstr(out, "bf16 matmuls"), "resumed bf16 run stays bf16: %s", out);
    double worst = 0;
    for (int i = 0; i < 20; i++) worst = fabs(c[i] - a[i]) > worst ? fabs(c[i] - a[i]) : worst;
    CHECK(!memcmp(c, d, sizeof c) && memcmp(a, c, sizeof a) && worst < 0.02,
          "bf16: resume is exact, the losses differ from fp32 but by less than 0.02 (worst %.4f)", worst);
    rc = run(TOOL " sample --model build/cli_model.bin --prompt-ids 1,2,3 --tokens 5 --temperature 0 --threads 1", out, sizeof out);
    int t[8], n = sscanf(out, "%d %d %d %d %d %d %d %d", &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]);
    CHECK(rc == 0 && n == 8 && t[0] == 1 && t[2] == 3, "sample prints prompt + 5 ids: %s", out);
    char out2[256];
    run(TOOL " sample --model build/cli_model.bin --prompt-ids 1,2,3 --tokens 5 --temperature 0 --threads 2", out2, sizeof out2);
    CHECK(!strcmp(out, out2), "greedy sampling is the same for 1 and 2 threads");
}

/* Help and the save-failure path; every other bad input is in the table of tests/test_badinput.c. */
static void help_and_failed_save(void) {
    unsigned char *buf; size_t len;
    FILE *f;
    int rc = run(TOOL " train --help", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "--decay-all") && strstr(out, "--resume"), "train --help lists its flags");
    rc = run(TOOL " --help", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "train") && strstr(out, "eval") && strstr(out, "sample"), "--help lists the commands");
    /* a failed save leaves the previous file intact */
    inh__read_file("tests/ref/tiny.bin", &buf, &len, 0);
    f = fopen("build/cli_keep.bin", "wb"); fwrite(buf, 1, len, f); fclose(f);
    rc = run(TOOL " train --data tests/ref/tiny_tokens.bin --init build/cli_keep.bin --batch 2 --seq 8 --steps 1"
             " --out build/no-such-dir/x.bin", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "build/no-such-dir/x.bin: cannot create"), "a save that cannot be written fails naming the file: %s", out);
    CHECK(!strstr(out, "step 1 "), "... before training a step (issue 15: outputs are checked at the start): %s", out);
    unsigned char *after; size_t alen;
    inh__read_file("build/cli_keep.bin", &after, &alen, 0);
    CHECK(alen == len && !memcmp(buf, after, len), "the input model is untouched");
    free(buf); free(after);
}

/* `inherit` writes the reference's first l blocks, tensor for tensor, in both modes */
static void inherit_cmd(void) {
    inh_model ref, small;
    for (int repo = 0; repo <= 1; repo++) {
        int rc = run(repo ? TOOL " inherit --ref tests/ref/tiny.bin --layers 2 --out build/cli_inh.bin --mode repo"
                          : TOOL " inherit --ref tests/ref/tiny.bin --layers 2 --out build/cli_inh.bin", out, sizeof out);
        CHECK(rc == 0, "inherit runs: %s", out);
        if (rc || inh_model_load(&ref, "tests/ref/tiny.bin") || inh_model_load(&small, "build/cli_inh.bin")) continue;
        int same = small.cfg.L == 2;
        const float *rp = ref.params_mem, *sp = small.params_mem;
        for (int i = 0; i < INH_NUM_PARAMS && same; i++) {
            int fresh = repo && (i == 1 || i == 14 || i == 15);   /* repo mode: wpe and final LayerNorm re-initialised */
            if (!fresh) same = !memcmp(rp, sp, small.param_sizes[i] * sizeof(float));   /* per-layer: the first 2 slices */
            rp += ref.param_sizes[i]; sp += small.param_sizes[i];
        }
        CHECK(same, "inherit (%s mode): every inherited tensor equals the reference's", repo ? "repo" : "paper");
        inh_model_free(&ref); inh_model_free(&small);
    }
}

/* tokenize, prepare, convert through the tool */
static void text_and_formats(void) {
    int rc = run("printf 'h\\303\\251llo \\377' | " TOOL " tokenize --tokenizer bytes", out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "104 195 169 108 108 111 32 255\n"), "byte tokenizer ids: '%s'", out);
    rc = run("printf '104 195 169 108 108 111 32 255' | " TOOL " tokenize --tokenizer bytes --decode | od -An -tx1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "68 c3 a9 6c 6c 6f 20 ff"), "decode gives the bytes back: '%s'", out);
    rc = run("printf 'one\\n\\ntwo\\n\\nthree' > build/cli_text.txt && " TOOL " prepare --tokenizer bytes --val-tokens 5 build/cli_text.txt build/cli_prep", out, sizeof out);
    inh_data d;
    CHECK(rc == 0 && inh_data_open(&d, "build/cli_prep/val.bin", 257) == 0 && d.n == 5, "prepare writes a 5-token val shard: %s", out);
    if (d.tokens) {
        CHECK(d.tokens[0] == 256 && d.tokens[1] == 'o', "val starts with end-of-text then the text");
        inh_data_close(&d);
    }
    /* eot one \n \n eot two \n \n eot three = 3 + 3+2 + 3+2 + 5 = 18 tokens, 5 of them val */
    CHECK(inh_data_open(&d, "build/cli_prep/train.bin", 257) == 0 && d.n == 13, "train gets the other 13 tokens");
    inh_data_close(&d);
    const char *sh = test_shared_dir();
    if (!sh) { SKIP("GPT-2 tokenizer and HF model checks: ../shared/data is absent"); return; }
    rc = run(TOOL " prepare --tokenizer ../shared/data/gpt2 ../shared/data/corpus/tinyshakespeare.txt build/cli_ts 2>/dev/null"
             " && sha256sum build/cli_ts/val.bin build/cli_ts/train.bin", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "fe99db720dc7c83e694806d4e047a952909411da1daccde4ccc2e55f40882a62") &&
          strstr(out, "8a70606be574040c26d225694f5f9759973b419852d22f7fe5c118e1b359dcc8"), "tiny shakespeare shards match llm.c's sha256: %s", out);
    rc = run("rm -rf build/cli_hf_dir && " TOOL " convert ../shared/data/hf_tiny_gpt2 build/cli_hf.bin && " TOOL " convert build/cli_hf.bin build/cli_hf_dir/"
             " && " TOOL " convert build/cli_hf_dir build/cli_hf2.bin && cmp build/cli_hf.bin build/cli_hf2.bin", out, sizeof out);
    CHECK(rc == 0, "HF safetensors -> .bin -> safetensors -> .bin is byte-identical: %s", out);
    char out2[4096];
    rc = run(TOOL " eval --model ../shared/data/hf_tiny_gpt2 --data build/cli_ts/val.bin --batch 1 --seq 32 --threads 1", out, sizeof out);
    run(TOOL " eval --model build/cli_hf.bin --data build/cli_ts/val.bin --batch 1 --seq 32 --threads 1", out2, sizeof out2);
    CHECK(rc == 0 && !strcmp(out, out2) && strstr(out, "loss "), "eval of the HF file and of its .bin agree: %s / %s", out, out2);
    rc = run(TOOL " analyze --model ../shared/data/hf_tiny_gpt2 --data build/cli_ts/val.bin --seqs 2 --seq-len 50 --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "lazy groups"), "analyze reads a Hugging Face model: %s", out);
    rc = run(TOOL " sample --model ../shared/data/hf_tiny_gpt2 --tokenizer ../shared/data/gpt2 --prompt 'Hello, my dog' --tokens 3 --temperature 0", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "Hello, my dog", 13), "sample prints text after a text prompt: %s", out);
}

/* issue 15: resume that says what differs, eval that never wraps, prepare that refuses, vocabulary
   warnings, the recipe's lock, --flag=value, the demo's early failure */
static void first_week(void) {
    char cmd[1024];
    int ids[3000];
    for (int i = 0; i < 3000; i++) ids[i] = (i % 7 + i / 50) % 32;
    inh_data_write("build/cli_pattern.bin", ids, 3000);
    const char *common = TOOL " train --data build/cli_pattern.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32"
                         " --batch 4 --seq 16 --threads 1";
    snprintf(cmd, sizeof cmd, "%s --steps=6 --lr=1e-2 --state build/cli_wk_state.bin --val build/cli_pattern.bin --eval-batches 1000", common);
    int rc = run(cmd, out, sizeof out);
    float l[8];
    CHECK(rc == 0 && step_losses(out, l, 8) == 6, "--flag=value is read as --flag value: %s", out);
    CHECK(strstr(out, "note: --eval-batches 1000 x B=4 windows is more than build/cli_pattern.bin holds: validation uses all its 187 windows"),
          "train --eval-batches beyond the file: clamped, with a note: %s", out);
    rc = run(TOOL " train --resume build/cli_wk_state.bin --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "nothing to do") && !strstr(out, "step 7 "), "resume at --steps says there is nothing to do: %s", out);
    rc = run(TOOL " train --resume build/cli_wk_state.bin --steps 8 --batch 2 --allow-changes --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "resume: --batch 2, the state file's run used 4") && step_losses(out, l, 8) == 2,
          "--allow-changes continues and still says what differs: %s", out);
    inh_state_info si;
    CHECK(inh_trainer_state_info("build/cli_wk_state.bin", &si) == 0 && si.step == 8 && !strcmp(si.train_path, "build/cli_pattern.bin") &&
          !strcmp(si.val_path, "build/cli_pattern.bin") && si.train_n == 3000,
          "without --state, a resumed run saves back to its state file, which records its data (step %d, '%s')", si.step, si.train_path);
    /* eval: the whole file once by default, with the token count and perplexity; --batches clamped */
    snprintf(cmd, sizeof cmd, "%s --steps 1", common);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "note: neither --out nor --state: the trained model will not be saved"), "a run that saves nothing says so: %s", out);
    snprintf(cmd, sizeof cmd, "%s --steps 2 --out build/cli_wk.bin", common);
    run(cmd, out, sizeof out);
    rc = run(TOOL " eval --model build/cli_wk.bin --data build/cli_pattern.bin --batch 4 --seq 16 --threads 1", out, sizeof out);
    float loss = 0, ppl = 0;
    unsigned long ntok = 0;
    CHECK(rc == 0 && sscanf(out, "loss %f over %lu tokens (187 windows of T=16), perplexity %f", &loss, &ntok, &ppl) == 3 && ntok == 187 * 16,
          "eval: every whole window of the file, (3000-1)/16 = 187 windows: %s", out);
    CHECK_CLOSE(ppl, exp(loss), 0, 1e-3, "perplexity = exp(loss) (printed to 4 digits)");
    char out2[4096];
    rc = run(TOOL " eval --model build/cli_wk.bin --data build/cli_pattern.bin --batch 4 --seq 16 --batches 100000 --threads 1", out2, sizeof out2);
    CHECK(rc == 0 && strstr(out2, "note: --batches 100000") && strstr(out2, strstr(out, "loss ")), "eval --batches beyond the file: all windows once, same loss: %s", out2);
    /* a model with a large vocabulary on shards whose ids are far below it: a warning */
    inh_config c;
    inh_model m;
    inh_config_default(&c, 16, 4096, 1, 2, 8);
    inh_model_init(&m, &c, 1);
    inh_model_save(&m, "build/cli_v4096.bin");
    inh_model_free(&m);
    rc = run(TOOL " eval --model build/cli_v4096.bin --data build/cli_pattern.bin --batch 4 --seq 16 --threads 1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "warning: build/cli_pattern.bin: its largest token id is 31, far below the model's vocabulary V=4096"),
          "eval warns about shards from another tokenizer: %s", out);
    /* prepare refuses a text too small to split and writes nothing */
    rc = run("rm -rf build/cli_small && printf 'hi\n\nthere' > build/cli_small.txt && " TOOL " prepare --tokenizer bytes build/cli_small.txt build/cli_small", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "too few for --val-tokens 32768") && access("build/cli_small/train.bin", F_OK) != 0 && access("build/cli_small/val.bin", F_OK) != 0,
          "prepare refuses a tiny text and writes no shard: %s", out);
#ifdef TOOL_WINE
    SKIP("make demo DATA=small.txt: demo.sh is a Linux script over the Linux tool");
#else
    rc = run("DEMO_DIR=build/cli_demo DATA=build/cli_small.txt TOOL=" TOOL " sh examples/demo.sh", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "demo: DATA=build/cli_small.txt is 9 tokens; the demo needs at least 20000") && !strstr(out, "== 1."),
          "make demo DATA=small.txt fails before training, saying why: %s", out);
#endif
    /* a second recipe in a directory that one is using is refused; a dead holder leaves no stale lock */
#define RCMD_BASE TOOL " recipe --ref build/cli_wk.bin --data build/cli_pattern.bin --val build/cli_pattern.bin --batch 2 --seq 8 --steps 2" \
                       " --baselines none --threads 1 --out build/cli_lock"
    const char *rcmd = RCMD_BASE " --eval-batches 2";
    rc = run("rm -rf build/cli_lock && mkdir build/cli_lock", out, sizeof out);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0, "pipe");
    pid_t child = fork();
    if (child == 0) {   /* stands in for a recipe that is running: holds the lock until killed */
        int fd = open("build/cli_lock/recipe.lock", O_RDWR | O_CREAT, 0666);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK; fl.l_whence = SEEK_SET;
        int ok = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0;
        if (ok) { char pid[32]; int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid()); ok = write(fd, pid, (size_t)n) == n; }
        if (write(pipefd[1], ok ? "1" : "0", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char ready = 0;
    if (read(pipefd[0], &ready, 1) != 1) ready = 0;
    rc = run(rcmd, out, sizeof out);
    CHECK(ready == '1' && rc != 0 && strstr(out, "another recipe (pid ") && strstr(out, "is running in this directory"),
          "a second recipe in the same directory is refused: %s", out);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(pipefd[0]); close(pipefd[1]);
    rc = run(rcmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "final depth"), "after the holder died (SIGKILL), the lock is free: %s", out);
    snprintf(cmd, sizeof cmd, "%s --eval-batches 1000", RCMD_BASE);   /* (a flag given twice is an error) */
    rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "its eval_batches is 2, this one's is 1000"), "other settings in the same directory are refused: %s", out);
    snprintf(cmd, sizeof cmd, "%s --eval-batches 1000 --fresh", RCMD_BASE);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "note: --eval-batches 1000 is more than build/cli_pattern.bin holds: validation uses its 187 whole batches"),
          "--fresh starts over; recipe validation never reads a window twice: %s", out);
    rc = run("head -c 400 build/cli_lock/recipe.json", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"curve\": [[0, "), "every recipe curve starts with the loss before training (step 0): %s", out);
}

/* issue 15, the conveniences: --vocab from the data, --log, the loss curve, --sample-every, sample's
   --num-samples and end-of-text stop */
static void conveniences(void) {
    FILE *f = fopen("build/cli_text15.txt", "w");
    for (int i = 0; f && i < 400; i++) fprintf(f, "The cat sat on mat %d.\nA dog ran.\n\n", i % 10);
    if (f) fclose(f);
    int rc = run(TOOL " prepare --tokenizer bytes --val-tokens 2000 build/cli_text15.txt build/cli_t15", out, sizeof out);
    CHECK(rc == 0, "prepare: %s", out);
    const char *base = TOOL " train --data build/cli_t15/train.bin --val build/cli_t15/val.bin --layers 1 --heads 2 --dim 16 --seq-max 32"
                       " --batch 4 --seq 32 --steps 6 --lr 1e-2 --eval-every 3 --threads 1";
    char cmd[1024], out2[1 << 14];
    snprintf(cmd, sizeof cmd, "%s --out build/cli_t15.bin --log build/cli_t15.csv", base);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "vocabulary V=257: the largest id in build/cli_t15/train.bin plus one"), "--vocab defaults to the data's: %s", out);
    rc = run("cat build/cli_t15.csv", out2, sizeof out2);
    int lines = 0;
    for (char *p = out2; (p = strchr(p, '\n')); p++) lines++;
    CHECK(rc == 0 && !strncmp(out2, "step,loss,lr,grad_norm,tokens_per_s,val_loss\n1,", strlen("step,loss,lr,grad_norm,tokens_per_s,val_loss\n1,")) && lines == 7 && strstr(out2, "\n3,") &&
          strstr(strstr(out2, "\n3,"), ",") , "--log FILE.csv: a header and one row per step: %s", out2);
    float vl = 0;
    char *row3 = strstr(out2, "\n3,");
    CHECK(row3 && sscanf(strrchr(strtok(row3 + 1, "\n"), ',') + 1, "%f", &vl) == 1 && vl > 0 && strstr(out, "step 3 val_loss"),
          "the CSV row of an evaluation step has its validation loss");
    snprintf(cmd, sizeof cmd, "%s --log build/cli_t15.jsonl", base);
    rc = run(cmd, out, sizeof out);
    run("head -1 build/cli_t15.jsonl", out2, sizeof out2);
    CHECK(rc == 0 && !strncmp(out2, "{\"step\": 1, \"loss\": ", strlen("{\"step\": 1, \"loss\": ")) && strstr(out2, "\"tokens_per_s\": "), "--log FILE.jsonl: JSON lines: %s", out2);
    rc = run("head -c 300 build/cli_t15.loss.svg", out2, sizeof out2);
    CHECK(rc == 0 && strstr(out2, "<svg") && strstr(out2, "loss of build/cli_t15.bin on build/cli_t15/train.bin"),
          "the loss curve is written beside the model, titled with model and data: %s", out2);
    /* --sample-every: a sample line, and the training itself unchanged */
    float a[8], b[8];
    rc = run(base, out, sizeof out);
    int na = step_losses(out, a, 8);
    snprintf(cmd, sizeof cmd, "%s --sample-every 3 --sample-tokens 20 --tokenizer bytes", base);
    rc = run(cmd, out2, sizeof out2);
    int nb = step_losses(out2, b, 8);
    CHECK(rc == 0 && strstr(out2, "step 3 sample: ") && strstr(out2, "step 6 sample: ") && na == 6 && nb == 6 && !memcmp(a, b, sizeof(float) * 6),
          "--sample-every prints samples and leaves the losses bit for bit: %s", out2);
    rc = run(TOOL " sample --model build/cli_t15.bin --tokenizer bytes --prompt 'The cat' --tokens 40 --num-samples 3 --seed 5", out, sizeof out);
    int seps = 0;
    for (char *p = out; (p = strstr(p, "\n---\n")); p++) seps++;
    CHECK(rc == 0 && seps == 2 && !strncmp(out, "The cat", 7), "--num-samples 3: three samples from the prompt, '---' between: %s", out);
    rc = run(TOOL " sample --model build/cli_t15.bin --prompt-ids 10 --tokens 3 --num-samples 2 --temperature 0", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "10 ", 3) && strstr(out, "\n---\n10 "), "ids mode: each sample starts with the prompt: %s", out);
    /* reports: a title naming model, data and date; a line under each chart; the MaxRank = 1 line; the heat
       maps' colour scale and axes; exact values as tooltips; analyze's --seq-len defaults to maxT (32) here */
    rc = run(TOOL " analyze --model build/cli_t15.bin --data build/cli_t15/val.bin --seqs 4 --threads 1 --html build/cli_t15.html"
             " && " TOOL " drop-sweep --model build/cli_t15.bin --data build/cli_t15/val.bin --batch 2 --seq 16 --threads 1 --html build/cli_t15s.html", out, sizeof out);
    unsigned char *html = NULL, *sw = NULL;
    size_t hl = 0, sl = 0;
    CHECK(rc == 0 && strstr(out, "4 sequences x 32 tokens") && inh__read_file("build/cli_t15.html", &html, &hl, 0) == 0 &&
          inh__read_file("build/cli_t15s.html", &sw, &sl, 0) == 0, "analyze (seq-len defaults to maxT 32) and drop-sweep write reports: %s", out);
    if (html && sw) {
        const char *h = (const char *)html, *w2 = (const char *)sw;
        CHECK(strstr(h, "model build/cli_t15.bin, data build/cli_t15/val.bin, written 20") && strstr(w2, "model build/cli_t15.bin, data build/cli_t15/val.bin, written 20"),
              "both reports are titled with model, data and date");
        CHECK(strstr(h, "1 (dashed) = lazy") && strstr(h, "stroke-dasharray") && strstr(h, "Lower = attention on fewer keys (lazier)") &&
              strstr(h, "Higher = more attention parked on a sink (lazier)") && strstr(h, "Lower = the block does little"), "a line under each chart, and the MaxRank = 1 line");
        CHECK(strstr(h, "linearGradient") && strstr(h, "key j") && strstr(h, "query t") && strstr(h, "<title>layer 0 head 0: mean rank k*") &&
              strstr(h, "<title>layer 0: MaxRank(l)"), "heat maps with a colour scale and axes; tooltips with exact values");
        CHECK(strstr(w2, "Lower is better") && strstr(w2, "<title>k=1: "), "drop-sweep: the meaning under each chart, tooltips");
    }
    free(html); free(sw);
    /* a model that always says end-of-text: the sample stops there (and goes on with --ignore-eot) */
    inh_model m;
    if (inh_model_load(&m, "build/cli_t15.bin") == 0) {
        for (int v = 0; v < m.cfg.V; v++) m.params.wte[(size_t)v * m.cfg.C] = v == 256 ? 1e3f : 0.0f;   /* logit of 256 dominates */
        for (int c = 0; c < m.cfg.C; c++) m.params.lnfb[c] = c == 0 ? 10.0f : 0.0f;
        inh_model_save(&m, "build/cli_eot.bin");
        inh_model_free(&m);
    }
    rc = run(TOOL " sample --model build/cli_eot.bin --tokenizer bytes --prompt 'Hi' --tokens 5 --temperature 0", out, sizeof out);
    {   /* the note goes to stderr, which Windows writes in text mode (\r\n) */
        char *w = out;
        for (const char *r = out; *r; r++) if (*r != '\r') *w++ = *r;
        *w = 0;
    }
    CHECK(rc == 0 && !strcmp(out, "Hi\nnote: stopped at <|endoftext|> after 0 of 5 tokens (--ignore-eot goes on)\n"), "the sample stops at <|endoftext|>: '%s'", out);
    rc = run(TOOL " sample --model build/cli_eot.bin --tokenizer bytes --prompt 'Hi' --tokens 2 --temperature 0 --ignore-eot", out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, "Hi<|endoftext|><|endoftext|>\n"), "--ignore-eot goes on past it: '%s'", out);
}


/* --device: cpu is the default; cuda fails clearly in a build without the backend, and in the
   emulated CUDA build (make cuda-emu, built by make test) trains, resumes, evaluates, samples and
   benches like the CPU (losses within 1e-4 relative: fp32 sums in another order, see test_cuda) */
#define EMU "build/inheritune_cuda_emu"
static void device_flag(void) {
    const char *model = " --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32 --batch 4 --seq 16 --lr 1e-2 --schedule constant --threads 1";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, TOOL " train --data build/cli_pattern.bin%s --steps 2 --device cuda", model);
    int rc = run(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "no CUDA backend") && strstr(out, "make cuda") && !strstr(out, "step 1 "),
          "--device cuda without the backend: a clear error before any step: %s", out);
    rc = run(TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --device gpu", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--device must be cpu or cuda"), "--device gpu: %s", out);
    if (access(EMU, X_OK) != 0) { printf("cli: %s not built (make cuda-emu): its --device cuda checks skipped\n", EMU); return; }
    float a[6], b[6];
    snprintf(cmd, sizeof cmd, TOOL " train --data build/cli_pattern.bin%s --steps 6 --out build/cli_cpu.bin", model);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, a, 6) == 6, "6 steps on the CPU: %s", out);
    snprintf(cmd, sizeof cmd, EMU " train --data build/cli_pattern.bin%s --steps 3 --device cuda --state build/cli_dev.state", model);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, b, 3) == 3 && strstr(out, "emulated"), "3 steps with --device cuda (emulated): %s", out);
    snprintf(cmd, sizeof cmd, EMU " train --resume build/cli_dev.state --steps 6 --threads 1 --device cuda --out build/cli_dev.bin");
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0 && step_losses(out, b + 3, 3) == 3, "resumed on the device: %s", out);
    double worst = 0;
    for (int i = 0; i < 6; i++) worst = fabs(a[i] - b[i]) / a[i] > worst ? fabs(a[i] - b[i]) / a[i] : worst;
    CHECK(worst <= 1e-4, "--device cuda (3 + resumed 3 steps) follows the CPU's losses: worst %.2g relative", worst);
    float lc = 0, ld = 0;
    rc = run(TOOL " eval --model build/cli_cpu.bin --data build/cli_pattern.bin --batch 4 --seq 16 --batches 3 --threads 1", out, sizeof out);
    CHECK(rc == 0 && sscanf(out, "loss %f", &lc) == 1, "eval on the CPU: %s", out);
    rc = run(EMU " eval --model build/cli_cpu.bin --data build/cli_pattern.bin --batch 4 --seq 16 --batches 3 --threads 1 --device cuda", out, sizeof out);
    const char *l = strstr(out, "\nloss ");
    CHECK(rc == 0 && l && sscanf(l + 1, "loss %f", &ld) == 1 && fabs(lc - ld) <= 1e-5 * lc, "eval --device cuda %.7g vs cpu %.7g: %s", ld, lc, out);
    rc = run(EMU " sample --model build/cli_dev.bin --prompt-ids 1,2,3 --tokens 5 --temperature 0 --device cuda --threads 1", out, sizeof out);
    CHECK(rc == 0, "sample --device cuda: %s", out);
    rc = run(EMU " bench --layers 2 --heads 2 --dim 32 --seq-max 16 --vocab 67 --batch 2 --seq 8 --steps 2 --threads 1 --device cuda", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "tokens/s") && strstr(out, "device: SIMT emulator") && strstr(out, "no utilisation"),
          "bench --device cuda on the emulator: %s", out);
    {   /* the split by kind comes from steps whose ops wait for the device: every part positive */
        const char *k = strstr(out, "median by kind: ");
        double mmk = -1, atk = -1, otk = -1;
        CHECK(k && sscanf(k, "median by kind: matmul %lf ms, attention %lf ms, other %lf ms", &mmk, &atk, &otk) == 3 && mmk > 0 &&
              atk > 0 && otk > 0 && strstr(k, "every op waits for the device"),
              "bench --device cuda: matmul %g, attention %g, other %g ms from synchronised steps: %s", mmk, atk, otk, k ? k : out);
    }
    rc = run(EMU " train --data build/cli_pattern.bin --layers 2 --heads 2 --dim 16 --seq-max 16 --vocab 32 --seq 16 --shortcuts causal --steps 1 --device cuda", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "shortcuts") && !strstr(out, "step 1 "), "attention shortcuts on the device: refused before training: %s", out);
}

int main(void) {
    if (!test_file_exists(TOOL_FILE)) { printf("cli: %s not built (run make)\ncli: 0 passed, 1 failed\n", TOOL); return 1; }
    parity();
    resume();
    device_flag();
    help_and_failed_save();
    text_and_formats();
    inherit_cmd();
    first_week();
    conveniences();
    return test_summary("cli");
}
