/* fuzz/make_seeds.c - writes the small seed corpora in fuzz/corpus/<harness>/: a few valid files
   made by the library itself with tiny configs, and malformed variants of them.
   Run from the repository root:  cc -O1 fuzz/make_seeds.c -o build/make_seeds -lm -lpthread && build/make_seeds */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"
#include <errno.h>

static int nwritten;

static void put(const char *corpus, const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/%s", corpus);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) { fprintf(stderr, "cannot create %s\n", path); exit(1); }
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", corpus, name);
    fz_write(path, p, n);
    nwritten++;
}

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *b;
    if (inh__read_file(path, &b, n, 0)) { fprintf(stderr, "%s\n", inh_error()); exit(1); }
    return b;
}

/* tiny model: Vp = V (allowed by the format) keeps the files to a few KB */
static void tiny(inh_model *m, int maxT, int V, int L, int NH, int C, int bias, int scale, uint64_t seed) {
    inh_config c;
    inh_config_default(&c, maxT, V, L, NH, C);
    c.Vp = V; c.bias = bias; c.layer_scale = scale;
    if (inh_model_init(m, &c, seed)) { fprintf(stderr, "%s\n", inh_error()); exit(1); }
}

static void wr32(unsigned char *p, uint32_t v) { inh__wr32(p, v); }

static void models(const char *tmp) {
    inh_model m;
    size_t n;
    char path[512];
    unsigned char *b;
    snprintf(path, sizeof path, "%s/m.bin", tmp);

    tiny(&m, 4, 8, 1, 2, 4, 1, 0, 1);
    inh_model_save(&m, path);
    inh_model_free(&m);
    b = slurp(path, &n);
    put("model", "valid_bias.bin", b, n);
    put("model", "truncated.bin", b, n - 4);
    put("model", "header_only.bin", b, 1024);
    unsigned char *x = (unsigned char *)malloc(n + 8);
    memcpy(x, b, n); memset(x + n, 0, 8);
    put("model", "trailing.bin", x, n + 8);
    memcpy(x, b, n); wr32(x, 20240327);
    put("model", "bad_magic.bin", x, n);
    memcpy(x, b, n); wr32(x + 4, 5);
    put("model", "bad_version.bin", x, n);
    memcpy(x, b, n); wr32(x + 28, 4);          /* Vp < V */
    put("model", "vp_below_v.bin", x, n);
    memcpy(x, b, n); wr32(x + 20, 3);          /* NH = 3 does not divide C = 4 */
    put("model", "heads.bin", x, n);
    memcpy(x, b, n); wr32(x + 32, 4);          /* unknown flag */
    put("model", "flags.bin", x, n);
    memcpy(x, b, n); wr32(x, 20241123);        /* a training state's magic */
    put("model", "state_magic.bin", x, 1024);
    free(x);
    free(b);

    tiny(&m, 2, 5, 2, 1, 2, 0, 1, 2);          /* no biases, layer scale, two layers */
    inh_model_save(&m, path);
    inh_model_free(&m);
    b = slurp(path, &n);
    put("model", "valid_nobias_scale.bin", b, n);
    free(b);

    inh_config c;                              /* the padded layout llm.c writes (Vp = 128) */
    inh_config_default(&c, 2, 3, 1, 1, 1);
    inh_model_init(&m, &c, 3);
    inh_model_save(&m, path);
    inh_model_free(&m);
    b = slurp(path, &n);
    put("model", "valid_vp128.bin", b, n);
    free(b);
}

static void states(const char *tmp) {
    inh_model m;
    inh_data d;
    inh_trainer t;
    inh_train_opts o;
    inh_step_info info;
    int ids[64];
    char path[512], dpath[512];
    size_t n;
    unsigned char *b;
    snprintf(path, sizeof path, "%s/s.bin", tmp);
    snprintf(dpath, sizeof dpath, "%s/d.bin", tmp);
    for (int i = 0; i < 64; i++) ids[i] = (i * 5 + 1) % 8;
    inh_data_write(dpath, ids, 64);
    inh_data_open(&d, dpath, 8);
    tiny(&m, 4, 8, 1, 2, 4, 1, 0, 1);
    inh_train_opts_default(&o);
    o.B = 2; o.T = 4; o.steps = 3; o.warmup = 1;
    if (inh_trainer_init(&t, &m, &d, &o)) { fprintf(stderr, "%s\n", inh_error()); exit(1); }
    inh_trainer_save_state(&t, path);            /* no AdamW moments yet */
    b = slurp(path, &n);
    put("state", "no_moments.bin", b, n);
    free(b);
    inh_trainer_step(&t, &info);
    inh_trainer_save_state(&t, path);
    b = slurp(path, &n);
    put("state", "moments.bin", b, n);
    put("state", "truncated.bin", b, n - 8);
    put("state", "header_only.bin", b, 1024);
    wr32(b + 4, 2);
    put("state", "bad_version.bin", b, n);
    wr32(b + 4, 1); wr32(b + 64, 0);             /* shuffle 0: B*T+1 must fit the data */
    put("state", "no_shuffle.bin", b, n);
    wr32(b + 64, 1); wr32(b + 44, 100);          /* T above maxT */
    put("state", "t_above_maxt.bin", b, n);
    wr32(b + 44, 4); wr32(b + 40, 0);            /* B = 0 */
    put("state", "b_zero.bin", b, n);
    free(b);
    inh_trainer_free(&t);
    inh_model_free(&m);
    inh_data_close(&d);
}

static void shards(const char *tmp) {
    char path[512];
    int ids[16];
    size_t n;
    unsigned char *b;
    snprintf(path, sizeof path, "%s/d.bin", tmp);
    for (int i = 0; i < 16; i++) ids[i] = i * 4099 % 65536;
    inh_data_write(path, ids, 16);
    b = slurp(path, &n);
    put("shard", "valid16.bin", b, n);
    put("shard", "truncated.bin", b, n - 1);
    put("shard", "header_only_says16.bin", b, 1024);
    wr32(b + 4, 2);
    put("shard", "bad_version.bin", b, n);
    wr32(b + 4, 1); wr32(b + 8, 0);
    put("shard", "empty.bin", b, 1024);
    wr32(b + 8, 0xFFFFFFFFu);
    put("shard", "huge_count.bin", b, n);
    free(b);
}

static void tokenizers(const char *tmp) {
    static unsigned char v[8192], mg[1024], x[16384];
    char vp[512], mp[512], path[512];
    size_t nv, nm, n;
    unsigned char *b;
    inh_tokenizer *tok;
    fz_small_bpe(v, &nv, mg, &nm);
    snprintf(vp, sizeof vp, "%s/encoder.json", tmp);
    snprintf(mp, sizeof mp, "%s/vocab.bpe", tmp);
    snprintf(path, sizeof path, "%s/t.bin", tmp);
    fz_write(vp, v, nv);
    fz_write(mp, mg, nm);

    /* llm.c tokenizer files */
    if (inh_tokenizer_load_files(&tok, vp, mp)) { fprintf(stderr, "%s\n", inh_error()); exit(1); }
    inh_tokenizer_save_llmc(tok, path);
    inh_tokenizer_free(tok);
    b = slurp(path, &n);
    put("tok_llmc", "small_bpe.bin", b, n);
    put("tok_llmc", "truncated.bin", b, n - 3);
    memcpy(x, b, n); x[n] = 'z';
    put("tok_llmc", "trailing.bin", x, n + 1);
    wr32(b + 4, 1);
    put("tok_llmc", "version1.bin", b, n);
    wr32(b + 4, 3);
    put("tok_llmc", "version3.bin", b, 1024);
    free(b);
    inh_tokenizer_load(&tok, "bytes");
    inh_tokenizer_save_llmc(tok, path);
    inh_tokenizer_free(tok);
    b = slurp(path, &n);
    put("tok_llmc", "bytes.bin", b, n);
    wr32(b + 8, 1u << 24);                         /* V far beyond the file */
    put("tok_llmc", "big_v.bin", b, 1100);
    free(b);

    /* encoder.json + vocab.bpe: mode byte, vocabulary, NUL, merges (fuzz_tok_files.c) */
    x[0] = 0; memcpy(x + 1, v, nv); x[1 + nv] = 0; memcpy(x + 2 + nv, mg, nm);
    put("tok_files", "full.txt", x, 2 + nv + nm);
    const char *tail[][2] = {
        {",\"\xC4\xA0t\":256,\"he\":257,\"\xC4\xA0the\":258,\"<|endoftext|>\":259}", "#version: 0.2\n\xC4\xA0 t\nh e\n\xC4\xA0t he\n"},
        {",\"\\u0120t\":256, \"in\": 257 ,\n\"ing\":258}", "\xC4\xA0 t\r\ni n\r\nin g\r\n"},                    /* escapes, CRLF, no #version */
        {",\"ab\":256,\"cd\":256}", "a b\n"},                                                                  /* duplicate id */
        {",\"ab\":257}", "a b\n"},                                                                             /* hole at 256 */
        {",\"ab\":256}", "a c\n"},                                                                             /* merge not in vocab */
        {",\"ab\":256}", "a  b\n"},                                                                            /* two spaces */
        {",\"ab\":256,\"abab\":257,\"ababab\":258}", "a b\nab ab\nabab ab\nab b\n"},                           /* repeated merges */
        {",\"\\ud83d\\ude00x\":256}", "\xF0\x9F\x98\x80 x\n"},                                                 /* surrogate pair */
        {"}", ""},
    };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
        size_t a = strlen(tail[i][0]), c = strlen(tail[i][1]);
        char name[32];
        x[0] = 1; memcpy(x + 1, tail[i][0], a); x[1 + a] = 0; memcpy(x + 2 + a, tail[i][1], c);
        snprintf(name, sizeof name, "tail%zu.txt", i);
        put("tok_files", name, x, 2 + a + c);
    }

    /* texts to encode */
    const char *texts[] = {
        "Hello world, the cat's 123 dogs and 4567 birds!\n\nThe end.",
        "<|endoftext|>The<|endoftext|> <|endoftext|",
        "caf\xC3\xA9 na\xC3\xAFve \xE2\x80\x99quoted\xE2\x80\x99 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 \xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A",
        "\xFF\xFE\xC3 \x80\x80 \xE2\x82 \xF0\x9F\x98 broken utf-8\xC0\xAF",
        "   \n\n\n\t\t  x  \r\n  ",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000012312312300",
        "                                                                                       the",
        "I'm you're he'll we've they'd IT'S 'tis",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "text%zu.txt", i);
        put("tok_encode", name, texts[i], strlen(texts[i]));
    }
    put("tok_encode", "nul.txt", "a\0b\0\0c", 6);
}

/* a safetensors file written by hand: "transformer." names, a tied lm_head, mask buffers and
   mixed dtypes (F16, BF16, F64, F32), to reach the conversion paths our own export never takes */
static size_t handmade_st(unsigned char *out, int V, int maxT, int C) {
    static const char *const dt[4] = {"F16", "BF16", "F64", "F32"};
    static const int dsz[4] = {2, 2, 8, 4};
    char h[8192];
    size_t k = 0, off = 0, data = 0;
    unsigned char body[65536];
    inh_rng r;
    inh_rng_seed(&r, 7);
    k += (size_t)sprintf(h + k, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < 19; i++) {
        const char *nm; uint64_t s0, s1 = 0;
        int d = i % 4;
        switch (i) {
        case 0: nm = "transformer.wte.weight"; s0 = V; s1 = C; d = 3; break;
        case 1: nm = "transformer.wpe.weight"; s0 = maxT; s1 = C; break;
        case 2: nm = "transformer.h.0.ln_1.weight"; s0 = C; break;
        case 3: nm = "transformer.h.0.ln_1.bias"; s0 = C; break;
        case 4: nm = "transformer.h.0.attn.c_attn.weight"; s0 = C; s1 = 3 * C; break;
        case 5: nm = "transformer.h.0.attn.c_attn.bias"; s0 = 3 * C; break;
        case 6: nm = "transformer.h.0.attn.c_proj.weight"; s0 = C; s1 = C; break;
        case 7: nm = "transformer.h.0.attn.c_proj.bias"; s0 = C; break;
        case 8: nm = "transformer.h.0.ln_2.weight"; s0 = C; break;
        case 9: nm = "transformer.h.0.ln_2.bias"; s0 = C; break;
        case 10: nm = "transformer.h.0.mlp.c_fc.weight"; s0 = C; s1 = 4 * C; break;
        case 11: nm = "transformer.h.0.mlp.c_fc.bias"; s0 = 4 * C; break;
        case 12: nm = "transformer.h.0.mlp.c_proj.weight"; s0 = 4 * C; s1 = C; break;
        case 13: nm = "transformer.h.0.mlp.c_proj.bias"; s0 = C; break;
        case 14: nm = "transformer.ln_f.weight"; s0 = C; break;
        case 15: nm = "transformer.ln_f.bias"; s0 = C; break;
        case 16: nm = "lm_head.weight"; s0 = V; s1 = C; d = 3; break;
        case 17: nm = "transformer.h.0.attn.bias"; s0 = 1; s1 = maxT * maxT; d = 3; break;
        default: nm = "transformer.h.0.attn.masked_bias"; s0 = 0; break;   /* empty tensor */
        }
        size_t nel = (size_t)s0 * (s1 ? s1 : 1), bytes = nel * (size_t)dsz[d];
        k += (size_t)sprintf(h + k, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu", nm, dt[d], (unsigned long long)s0);
        if (s1) k += (size_t)sprintf(h + k, ",%llu", (unsigned long long)s1);
        k += (size_t)sprintf(h + k, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        if (i == 16) memcpy(body + off, body, bytes);             /* tied: the same bytes as wte */
        else for (size_t j = 0; j < nel; j++) {
            float f = 0.1f * inh_rng_normal(&r);
            unsigned char *p = body + off + j * (size_t)dsz[d];
            uint32_t u; memcpy(&u, &f, 4);
            if (d < 2) { p[0] = (unsigned char)(u >> 16); p[1] = (unsigned char)(u >> 24); }   /* any 16 bits are a valid F16 */
            else if (d == 2) { double dd = f; uint64_t w; memcpy(&w, &dd, 8); inh__wr32(p, (uint32_t)w); inh__wr32(p + 4, (uint32_t)(w >> 32)); }
            else inh__wr32(p, u);
        }
        off += bytes;
    }
    data = off;
    k += (size_t)sprintf(h + k, "}");
    inh__wr32(out, (uint32_t)k); inh__wr32(out + 4, 0);
    memcpy(out + 8, h, k);
    memcpy(out + 8 + k, body, data);
    return 8 + k + data;
}

static void safetensors(const char *tmp) {
    static unsigned char x[65536];
    char dir[512], stp[512], cfp[512];
    size_t ns, nc;
    unsigned char *s, *c;
    inh_model m;
    snprintf(dir, sizeof dir, "%s/st", tmp);
    snprintf(stp, sizeof stp, "%s/st/model.safetensors", tmp);
    snprintf(cfp, sizeof cfp, "%s/st/config.json", tmp);
    tiny(&m, 4, 8, 1, 2, 4, 1, 0, 1);
    if (inh_model_save_safetensors(&m, dir)) { fprintf(stderr, "%s\n", inh_error()); exit(1); }
    inh_model_free(&m);
    s = slurp(stp, &ns); c = slurp(cfp, &nc);
    memcpy(x, s, ns); x[ns] = 0; memcpy(x + ns + 1, c, nc);
    put("safetensors", "export.st", x, ns + 1 + nc);
    put("safetensors", "no_config.st", s, ns);                /* no NUL after the data: no config.json */
    memcpy(x, s, ns - 4); x[ns - 4] = 0; memcpy(x + ns - 3, c, nc);
    put("safetensors", "truncated.st", x, ns - 3 + nc);
    free(s); free(c);

    tiny(&m, 2, 5, 2, 1, 2, 0, 1, 2);                        /* bias-free export (metadata), layer scale */
    inh_model_save_safetensors(&m, dir);
    inh_model_free(&m);
    s = slurp(stp, &ns); c = slurp(cfp, &nc);
    memcpy(x, s, ns); x[ns] = 0; memcpy(x + ns + 1, c, nc);
    put("safetensors", "export_nobias.st", x, ns + 1 + nc);
    free(s); free(c);

    const char *cfg = "{\"model_type\": \"gpt2\", \"n_embd\": 4, \"n_head\": 2, \"n_layer\": 1, \"n_positions\": 4,"
                      " \"vocab_size\": 6, \"n_inner\": null, \"activation_function\": \"gelu_pytorch_tanh\","
                      " \"layer_norm_epsilon\": 1e-05, \"scale_attn_by_inverse_layer_idx\": true, \"extra\": [1, {\"a\": null}]}";
    ns = handmade_st(x, 6, 4, 4);
    x[ns] = 0; memcpy(x + ns + 1, cfg, strlen(cfg));
    put("safetensors", "handmade_mixed.st", x, ns + 1 + strlen(cfg));
}

static void cli(void) {
    /* mode byte (0 parse_flags, 1 eval, 2 sample, 3 train, 4 inherit), then NUL-separated args */
#define ARG(s) {s, sizeof(s) - 1}
    static const struct { const char *s; size_t n; } seeds[] = {
        ARG("\0--int\0-12\0--float\0" "1e-3\0pos1\0--bool\0--str\0x\0--u64\0" "18446744073709551615\0pos2"),
        ARG("\0--int\0" "99999999999\0--float\0nan"),
        ARG("\0--u64\0-1\0--float\0" "1e999\0--batch"),
        ARG("\0" "1,2,3\0 4 , 5\0" "2147483648\0--unknown"),
        ARG("\1--model\0nope.bin\0--data\0nope.bin\0--batch\0" "2\0--seq\0" "8\0--threads\0" "1"),
        ARG("\1--model\0.\0--data\0.\0--threads\0" "300"),
        ARG("\2--model\0nope.bin\0--prompt-ids\0" "1,2,3\0--tokens\0" "5\0--temperature\0" "0\0--top-k\0" "3"),
        ARG("\2--model\0nope.bin\0--tokenizer\0bytes\0--prompt\0hi\0--seed\0" "7"),
        ARG("\2--prompt\0hi"),
        ARG("\3--data\0nope.bin\0--layers\0" "2\0--heads\0" "2\0--dim\0" "16\0--seq-max\0" "16\0--vocab\0" "64\0--steps\0" "3"),
        ARG("\3--data\0nope.bin\0--resume\0s.bin\0--batch\0" "4\0--schedule\0constant\0--lr\0" "1e-3"),
        ARG("\3--data\0nope.bin\0--init\0m.bin\0--layers\0" "2\0--schedule\0linear"),
        ARG("\4--ref\0nope.bin\0--layers\0" "1\0--out\0o.bin\0--mode\0repo"),
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "args%zu", i);
        put("cli", name, seeds[i].s, seeds[i].n);
    }
#undef ARG
}

int main(void) {
    char tmp[] = "/tmp/inh_seeds_XXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 1; }
    if (mkdir("fuzz/corpus", 0777) != 0 && errno != EEXIST) { fprintf(stderr, "run from the repository root\n"); return 1; }
    models(tmp);
    states(tmp);
    shards(tmp);
    tokenizers(tmp);
    safetensors(tmp);
    cli();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    printf("wrote %d seed files under fuzz/corpus/\n", nwritten);
    return 0;
}
