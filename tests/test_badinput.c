/* tests/test_badinput.c - every bad input the issues name, in one table: each command must exit
   non-zero (and not by a signal: no crash), print "error:", and name the file or flag and the
   problem. The bad files are made here from the good ones in tests/ref. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "test.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define BAD "build/bad/"

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(p, 1, n, f); fclose(f); }
}
static void put_str(const char *path, const char *s) { put(path, s, strlen(s)); }

/* a copy of src with 32-bit word `word` set to v (word < 0: no change), cut to len (0: whole) */
static void variant(const char *src, const char *dst, int word, uint32_t v, size_t len) {
    unsigned char *b;
    size_t n;
    if (inh__read_file(src, &b, &n, 0)) return;
    if (word >= 0 && (size_t)(4 * word + 4) <= n) inh__wr32(b + 4 * word, v);
    put(dst, b, len && len < n ? len : n);
    free(b);
}

static void make_files(void) {
    int ids[3000];
    inh_make_dir("build");
    inh_make_dir(BAD);
    const char *m = "tests/ref/tiny.bin", *s = "tests/ref/tiny_tokens.bin";
    variant(m, BAD "trunc.bin", -1, 0, 30000);
    variant(m, BAD "short.bin", -1, 0, 100);
    variant(m, BAD "magic.bin", 0, 12345, 0);
    variant(m, BAD "version.bin", 1, 7, 0);
    variant(m, BAD "heads.bin", 5, 3, 0);              /* NH = 3 does not divide C = 16 */
    variant(m, BAD "sizes.bin", 4, 5, 0);              /* L = 5: the header no longer matches the file */
    variant(m, BAD "overflow.bin", 6, 0x7fffffff, 0);  /* C near 2^31 */
    variant(s, BAD "count.bin", 2, 1000, 0);           /* shard header says 1000 tokens */
    for (int i = 0; i < 3000; i++) ids[i] = i % 64;
    inh_data_write(BAD "v64.bin", ids, 3000);          /* ids up to 63: above a V = 50 model */
    inh_config c;
    inh_model mm;
    inh_config_default(&c, 16, 50, 2, 2, 8);
    inh_model_init(&mm, &c, 1);
    inh_model_save(&mm, BAD "v50.bin");
    inh_model_free(&mm);
    /* training state cut short */
    inh_data d;
    inh_trainer t;
    inh_train_opts o;
    inh_model_init(&mm, &c, 1);
    for (int i = 0; i < 3000; i++) ids[i] = i % 50;
    inh_data_write(BAD "v50data.bin", ids, 3000);
    inh_data_open(&d, BAD "v50data.bin", 50);
    inh_train_opts_default(&o);
    o.B = 1; o.T = 8;
    inh_trainer_init(&t, &mm, &d, &o);
    inh_trainer_save_state(&t, BAD "state.bin");
    inh_trainer_free(&t); inh_data_close(&d); inh_model_free(&mm);
    variant(BAD "state.bin", BAD "state_trunc.bin", -1, 0, 2000);
    /* tokenizer files (a tiny byte-level vocabulary needs all 256 byte symbols, so use broken ones) */
    inh_make_dir(BAD "tok_json");
    put_str(BAD "tok_json/vocab.json", "{\"a\": 0, \"b\": ");
    put_str(BAD "tok_json/merges.txt", "#version: 0.2\n");
    inh_make_dir(BAD "tok_nomerges");
    put_str(BAD "tok_nomerges/vocab.json", "{\"a\": 0}");
    inh_make_dir(BAD "tok_dup");
    put_str(BAD "tok_dup/vocab.json", "{\"a\": 0, \"b\": 0}");
    put_str(BAD "tok_dup/merges.txt", "#version: 0.2\n");
    unsigned char h[1024];
    memset(h, 0, sizeof h);
    inh__wr32(h, 20240328); inh__wr32(h + 4, 2); inh__wr32(h + 8, 300); inh__wr32(h + 12, 256);
    put(BAD "tok_llmc_trunc.bin", h, sizeof h);         /* says 300 tokens, has none */
    /* safetensors */
    unsigned char st[64];
    memset(st, 0, sizeof st);
    st[0] = 200;                                      /* header length 200 in a 64-byte file */
    memcpy(st + 8, "{\"wte.weight\":", 14);
    inh_make_dir(BAD "st_len");
    put(BAD "st_len/model.safetensors", st, sizeof st);
    put_str(BAD "st_len/config.json", "{\"n_embd\": 2, \"n_layer\": 1, \"n_head\": 1, \"n_positions\": 8, \"vocab_size\": 10}");
    const char *js = "{\"wte.weight\": {\"dtype\": \"F32\", \"shape\": [10, 2], \"data_offsets\": [0, 80]}, \"wpe.weight\" ";
    memset(st, 0, sizeof st);
    st[0] = (unsigned char)strlen(js);
    inh_make_dir(BAD "st_json");
    FILE *f = fopen(BAD "st_json/model.safetensors", "wb");
    if (f) { fwrite(st, 1, 8, f); fwrite(js, 1, strlen(js), f); fclose(f); }
    put_str(BAD "st_json/config.json", "{\"n_embd\": 2, \"n_layer\": 1, \"n_head\": 1, \"n_positions\": 8, \"vocab_size\": 10}");
    put_str(BAD "text.txt", "hello\n\nworld\n");
    put_str(BAD "empty.txt", "");
    inh_make_dir(BAD "adir");
    put_str(BAD "afile", "x");
    /* issue 15: a state file at step 4 of a 4-step run, with its data recorded */
    inh_model_init(&mm, &c, 1);
    inh_data_open(&d, BAD "v50data.bin", 50);
    o.steps = 4;
    inh_trainer_init(&t, &mm, &d, &o);
    t.step = 4;
    inh_trainer_save_state(&t, BAD "state4.bin");
    inh_trainer_free(&t); inh_data_close(&d); inh_model_free(&mm);
    for (int i = 0; i < 3000; i++) ids[i] = (i * 7) % 50;
    inh_data_write(BAD "v50other.bin", ids, 3000);
    inh_config_default(&c, 16, 2048, 1, 2, 8);        /* a large vocabulary for byte-like shards */
    inh_model_init(&mm, &c, 1);
    inh_model_save(&mm, BAD "v2048.bin");
    inh_model_free(&mm);
}

typedef struct { const char *what, *cmd, *needle; } bad_case;

static const bad_case cases[] = {
    /* model files */
    {"missing model", TOOL " eval --model " BAD "nope.bin --data tests/ref/tiny_tokens.bin", BAD "nope.bin: cannot open"},
    {"truncated checkpoint", TOOL " eval --model " BAD "trunc.bin --data tests/ref/tiny_tokens.bin", "truncated"},
    {"header cut short", TOOL " eval --model " BAD "short.bin --data tests/ref/tiny_tokens.bin", BAD "short.bin"},
    {"wrong magic", TOOL " eval --model " BAD "magic.bin --data tests/ref/tiny_tokens.bin", BAD "magic.bin"},
    {"wrong version", TOOL " eval --model " BAD "version.bin --data tests/ref/tiny_tokens.bin", "version 7"},
    {"heads do not divide C", TOOL " eval --model " BAD "heads.bin --data tests/ref/tiny_tokens.bin", "do not divide"},
    {"header sizes do not match the file", TOOL " eval --model " BAD "sizes.bin --data tests/ref/tiny_tokens.bin", "needs"},
    {"header sizes that overflow", TOOL " eval --model " BAD "overflow.bin --data tests/ref/tiny_tokens.bin", "bad model sizes"},
    {"training state cut short", TOOL " train --data " BAD "v50data.bin --resume " BAD "state_trunc.bin", BAD "state_trunc.bin"},
    {"token shard given as a model", TOOL " eval --model tests/ref/tiny_tokens.bin --data tests/ref/tiny_tokens.bin", "tests/ref/tiny_tokens.bin: is a token shard, not a model"},
    {"model given as data", TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny.bin", "tests/ref/tiny.bin: not an llm.c token shard"},
    {"missing training state", TOOL " train --data " BAD "v50data.bin --resume " BAD "nope_state.bin", BAD "nope_state.bin: cannot open"},
    {"model given as a state", TOOL " train --data " BAD "v50data.bin --resume tests/ref/tiny.bin", "not an inheritune training-state file"},
    /* token shards and shapes */
    {"shard count does not match its size", TOOL " eval --model tests/ref/tiny.bin --data " BAD "count.bin", "header says 1000 tokens"},
    {"token id at or above V", TOOL " eval --model " BAD "v50.bin --data " BAD "v64.bin --batch 1 --seq 8", "outside the model's vocabulary"},
    {"batch that does not fit the shard", TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 4 --seq 8", "cannot fill a batch"},
    {"T over maxT", TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 1 --seq 17", "above the model's maxT"},
    {"new model, heads do not divide", TOOL " train --data " BAD "v50data.bin --layers 1 --heads 3 --dim 8 --seq-max 8 --vocab 50 --batch 1 --seq 8", "do not divide"},
    {"prompt id out of range", TOOL " sample --model tests/ref/tiny.bin --prompt-ids 1,100 --tokens 1", "outside the vocabulary"},
    /* flags */
    {"unknown flag", TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --colour", "unknown flag '--colour'"},
    {"flag without value", TOOL " eval --model", "'--model' needs a value"},
    {"--init together with size flags", TOOL " train --data " BAD "v50data.bin --init tests/ref/tiny.bin --vocab 10", "not both"},
    {"malformed number", TOOL " train --data x --steps ten", "--steps' wants an integer"},
    {"unknown command", TOOL " fly", "unknown command 'fly'"},
    /* tokenizer */
    {"malformed JSON vocabulary", TOOL " tokenize --tokenizer " BAD "tok_json " BAD "text.txt", "tok_json/vocab.json"},
    {"vocabulary without merges", TOOL " tokenize --tokenizer " BAD "tok_nomerges " BAD "text.txt", "tok_nomerges"},
    {"duplicate ids", TOOL " tokenize --tokenizer " BAD "tok_dup " BAD "text.txt", "tok_dup/vocab.json"},
    {"truncated llm.c tokenizer file", TOOL " tokenize --decode --tokenizer " BAD "tok_llmc_trunc.bin " BAD "text.txt", "tok_llmc_trunc.bin"},
    {"decode id at or above V", "printf '5 257' | " TOOL " tokenize --decode --tokenizer bytes", "out of range"},
    {"missing text file", TOOL " tokenize --tokenizer bytes " BAD "nope.txt", BAD "nope.txt"},
    /* safetensors */
    {"safetensors header length beyond the file", TOOL " eval --model " BAD "st_len --data tests/ref/tiny_tokens.bin", "st_len/model.safetensors"},
    {"missing safetensors file", TOOL " convert " BAD "nope.safetensors " BAD "x.bin", BAD "nope.safetensors"},
    {"safetensors malformed JSON", TOOL " convert " BAD "st_json " BAD "x.bin", "st_json/model.safetensors"},
    /* analysis */
    {"tau outside (0,1]", TOOL " analyze --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --seq-len 8 --seqs 1 --tau 1.5", "--tau"},
    {"eta outside (0,1]", TOOL " analyze --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --seq-len 8 --seqs 1 --eta 0", "--eta"},
    {"analysis T above maxT", TOOL " analyze --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --seq-len 32 --seqs 1", "maxT"},
    {"more sequences than the data holds", TOOL " analyze --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --seq-len 8 --seqs 5 --no-shuffle", "tiny_tokens.bin"},
    {"drop list naming a missing layer", TOOL " eval --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 2 --seq 8 --drop-attn 1,7", "7"},
    /* recipe */
    {"reference with fewer layers than l", TOOL " inherit --ref tests/ref/tiny.bin --layers 5 --out " BAD "x.bin", "has 3"},
    {"recipe start above L", TOOL " recipe --ref tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --val tests/ref/tiny_tokens.bin --batch 2 --seq 8 --steps 1 --start 4 --out " BAD "r", "fewer than the 4"},
    {"recipe growth step 0", TOOL " recipe --ref tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --val tests/ref/tiny_tokens.bin --steps 1 --grow 0 --out " BAD "r", "--grow"},
    {"recipe validation file missing", TOOL " recipe --ref tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --val " BAD "noval.bin --batch 2 --seq 8 --steps 1 --out " BAD "r", BAD "noval.bin"},
    /* issue 15: silent wrong results and lost work */
    {"recipe resumed with another lr (1)", "rm -rf " BAD "rs && " TOOL " recipe --ref tests/ref/tiny.bin --data " BAD "v64.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 2 --eval-batches 2 --baselines none --threads 1 --out " BAD "rs >/dev/null && "
     TOOL " recipe --ref tests/ref/tiny.bin --data " BAD "v64.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 2 --eval-batches 2 --baselines none --threads 1 --lr 1e-3 --out " BAD "rs", "its lr is 0.0003, this one's is 0.001"},
    {"recipe resumed with another reference", TOOL " recipe --ref " BAD "v2048.bin --data " BAD "v64.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 2 --eval-batches 2 --baselines none --threads 1 --out " BAD "rs", "its ref is"},
    {"recipe resumed with other data", TOOL " recipe --ref tests/ref/tiny.bin --data " BAD "v50data.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 2 --eval-batches 2 --baselines none --threads 1 --out " BAD "rs", "its data is 3000 tokens"},
    {"recipe resumed with more steps", TOOL " recipe --ref tests/ref/tiny.bin --data " BAD "v64.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 3 --eval-batches 2 --baselines none --threads 1 --out " BAD "rs", "--fresh"},
    {"train --out in a missing directory", TOOL " train --data " BAD "v50data.bin --init " BAD "v50.bin --batch 1 --seq 8 --steps 1 --out " BAD "nodir/m.bin", BAD "nodir/m.bin: cannot create: directory " BAD "nodir does not exist"},
    {"train --out naming a directory", TOOL " train --data " BAD "v50data.bin --init " BAD "v50.bin --batch 1 --seq 8 --steps 1 --out " BAD "adir", BAD "adir: is a directory"},
    {"train --state in a missing directory", TOOL " train --data " BAD "v50data.bin --init " BAD "v50.bin --batch 1 --seq 8 --steps 1 --state " BAD "nodir/s.bin", BAD "nodir/s.bin: cannot create"},
    {"analyze --html in a missing directory", TOOL " analyze --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --seq-len 8 --seqs 1 --html " BAD "nodir/a.html", BAD "nodir/a.html"},
    {"drop-sweep --svg naming a directory", TOOL " drop-sweep --model tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --batch 1 --seq 8 --svg " BAD "adir", "is a directory"},
    {"inherit --out in a missing directory", TOOL " inherit --ref tests/ref/tiny.bin --layers 1 --out " BAD "nodir/x.bin", BAD "nodir/x.bin: cannot create"},
    {"recipe --out under a file", TOOL " recipe --ref tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --val tests/ref/tiny_tokens.bin --steps 1 --out " BAD "afile/r", "afile"},
    {"prepare OUTDIR is a file", TOOL " prepare --tokenizer bytes " BAD "text.txt " BAD "afile", "is not a directory"},
    {"convert OUT in a missing directory", TOOL " convert tests/ref/tiny.bin " BAD "nodir/x.bin", BAD "nodir/x.bin: cannot create"},
    {"resume with another batch size", TOOL " train --resume " BAD "state4.bin --steps 4 --batch 2", "--allow-changes"},
    {"resume with other data", TOOL " train --resume " BAD "state4.bin --data " BAD "v50other.bin --steps 4", "is not the data of the state file's run"},
    {"resume past --steps", TOOL " train --resume " BAD "state4.bin --steps 2 --schedule constant", "past --steps 2: nothing to do"},
    {"resume a directory", TOOL " train --resume " BAD "adir", "is a directory"},
    {"prepare a text too small to split", TOOL " prepare --tokenizer bytes --val-tokens 100 " BAD "text.txt " BAD "prep_small", "15 tokens are too few for --val-tokens 100"},
    {"prepare an empty text", TOOL " prepare --tokenizer bytes " BAD "empty.txt " BAD "prep_empty", "no text to prepare"},
    {"tokenizer vocabulary smaller than the model's", TOOL " sample --model " BAD "v2048.bin --tokenizer bytes --tokens 2", "has V=2048"},
    {"every step not finite", TOOL " train --data " BAD "v50data.bin --layers 1 --heads 2 --dim 8 --seq-max 8 --vocab 50 --batch 2 --seq 8 --steps 3 --lr 1e9 --threads 1", "not finite"},
    {"negative learning rate", TOOL " train --data " BAD "v50data.bin --init " BAD "v50.bin --batch 1 --seq 8 --steps 1 --lr=-0.1", "must not be negative"},
    {"negative learning rate in the recipe", TOOL " recipe --ref tests/ref/tiny.bin --data tests/ref/tiny_tokens.bin --val tests/ref/tiny_tokens.bin --steps 1 --lr -1 --out " BAD "r", "must not be negative"},
    /* issue 15: flags and file kinds */
    {"one size flag missing", TOOL " train --data " BAD "v50data.bin --layers 1 --heads 2 --seq-max 8", "needs --dim too"},
    {"inherit --layers 0", TOOL " inherit --ref tests/ref/tiny.bin --layers 0 --out " BAD "x.bin", "1 <= l <= its L"},
    {"sample --tokens too many", TOOL " sample --model tests/ref/tiny.bin --tokens 2000000", "0 to 1000000"},
    {"text file given as a shard", TOOL " eval --model tests/ref/tiny.bin --data " BAD "text.txt", "run `inheritune prepare"},
    {"directory given as a shard", TOOL " eval --model tests/ref/tiny.bin --data " BAD "adir", "is a directory"},
    {"boolean flag given a value", TOOL " train --data x --bf16=1", "takes no value"},
    {"recipe data outside the target's vocabulary", TOOL " recipe --ref " BAD "v50.bin --data " BAD "v64.bin --val " BAD "v64.bin --batch 1 --seq 8 --steps 1 --out " BAD "r", "outside the model's vocabulary"},
};

int main(void) {
    static char out[1 << 16];
    if (!test_file_exists(TOOL_FILE)) { printf("badinput: %s not built\nbadinput: 0 passed, 1 failed\n", TOOL); return 1; }
    make_files();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char full[2048];
        snprintf(full, sizeof full, "%s 2>&1", cases[i].cmd);
        FILE *p = popen(full, "r");
        size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
        out[n] = 0;
        int st = p ? pclose(p) : -1;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        CHECK(code != 0 && code < 128 && strstr(out, "error:") && strstr(out, cases[i].needle),
              "%s: `%s` exited %d; output '%s' should name '%s'", cases[i].what, cases[i].cmd, code, out, cases[i].needle);
    }
    return test_summary("badinput");
}
