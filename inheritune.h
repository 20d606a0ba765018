/* inheritune.h - train, analyse and shrink small GPT-2 models. Single header, C99, libc + libm.

   Do this in exactly one C or C++ file:
       #define INHERITUNE_IMPLEMENTATION
       #include "inheritune.h"
   Everywhere else just #include "inheritune.h".

   Options (define before the implementation):
       INHERITUNE_STATIC        all functions static to that translation unit
       INH_NO_THREADS           no threads: every kernel runs on the calling thread (automatic on WASI)
       INH_NO_STDIO             no files, directories or processes (a board without a file system):
                                path-based calls fail with a message; load and save through memory
                                (inh_model_load_memory, inh_model_save_memory, inh_data_from_tokens,
                                inh_tokenizer_load_memory)
       INH_MALLOC(n) INH_REALLOC(p,n) INH_FREE(p)   allocator (define all three or none)
       INH_BF16_DPBF16 1|0      bf16 matmuls on vdpbf16ps always / never (default: on AMD only)

   Platforms: Linux, macOS and the BSDs (pthreads), Windows (MinGW-w64 or MSVC: Win32 threads, UTF-8
   paths), WebAssembly (WASI, one thread), 32-bit and big-endian hosts (the files stay little-endian),
   and bare metal with INH_NO_STDIO. Every OS call lives in one section, "Platform".

   Errors: functions that can fail return 0 on success and -1 on failure; inh_error() then says
   what went wrong, naming the file and the problem. The library never ends the process on bad
   input. Every file is saved through a temporary ("NAME.tmp.PID") that is flushed and renamed, so a
   crash never leaves half a file; the next save of NAME removes the temporaries of processes that
   are gone. A save never replaces a file of another kind (a text, a token shard where a model
   goes): inh_file_kind, inh_check_replace.

   A whole program: a fresh model, data, training, evaluation, sampling, saving and resuming
   (examples/inheritune.c is the command-line tool over the same calls; `make test` compiles and
   runs this example, taken from this very text, as C99 and as C++, so it cannot drift):
example:
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #define INHERITUNE_IMPLEMENTATION
    #include "inheritune.h"

    static int fail(void) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }

    int main(void) {
        inh_config c;
        inh_model m, m2, m3;
        inh_data train, val;
        inh_trainer t, t2;
        inh_train_opts o;
        inh_step_info info;
        inh_sampling s;
        inh_rng rng;
        static int ids[20000];
        int prompt[3] = {63, 1, 2}, n_prompt = 3, n_new = 16;
        float loss, loss2;

        // a fresh GPT-2: context 32, vocabulary 64, 2 layers, 2 heads, 32 channels
        inh_config_default(&c, 32, 64, 2, 2, 32);
        if (inh_model_init(&m, &c, 1337)) return fail();

        // data: llm.c token shards (`inheritune prepare` makes them from a text); here a made-up corpus
        inh_synth_corpus(ids, 20000, c.V, 1);
        if (inh_data_write("example_train.bin", ids, 18000) || inh_data_write("example_val.bin", ids + 18000, 2000) ||
            inh_data_open(&train, "example_train.bin", c.V) || inh_data_open(&val, "example_val.bin", c.V)) return fail();

        // train 30 steps of B=4 windows of T=32 tokens, then save the training state
        inh_train_opts_default(&o);
        o.B = 4; o.T = 32; o.steps = 30; o.lr = 1e-3f;
        if (inh_trainer_init(&t, &m, &train, &o)) return fail();
        while (t.step < o.steps) {
            if (inh_trainer_step(&t, &info)) return fail();
            if (t.step % 10 == 0) printf("step %d loss %.4f\n", t.step, info.loss);
        }
        if (inh_trainer_save_state(&t, "example.state")) return fail();

        // evaluate: the mean loss of 4 batches of 4 x 32 tokens from the start of val
        if (inh_eval_loss(&m, &val, 4, 32, 4, &loss)) return fail();
        printf("val loss %.4f\n", loss);

        // generate: out receives the prompt and then the new tokens: n_prompt + n_new ints
        int *out = (int *)malloc((size_t)(n_prompt + n_new) * sizeof(int));
        inh_sampling_default(&s);
        s.temperature = 0.8f; s.top_p = 0.9f;
        inh_rng_seed(&rng, 42);
        if (!out || inh_model_generate_with(&m, prompt, n_prompt, n_new, &s, &rng, out, NULL, NULL, NULL)) return fail();
        printf("tokens:");
        for (int i = 0; i < n_prompt + n_new; i++) printf(" %d", out[i]);
        printf("\n");
        free(out);

        // save the model (llm.c .bin; inh_model_save_safetensors for Hugging Face) and load it back
        if (inh_model_save(&m, "example.bin") || inh_model_load(&m2, "example.bin")) return fail();
        if (inh_eval_loss(&m2, &val, 4, 32, 4, &loss2)) return fail();
        printf("reloaded: val loss %.4f\n", loss2);

        // resume from the state file, exactly where it stopped, into a zeroed model: 10 steps more
        memset(&m3, 0, sizeof m3);
        if (inh_trainer_load_state(&t2, &m3, &train, "example.state")) return fail();
        t2.o.steps = 40;
        while (t2.step < t2.o.steps)
            if (inh_trainer_step(&t2, &info)) return fail();
        printf("resumed to step %d, loss %.4f\n", t2.step, info.loss);

        inh_trainer_free(&t2); inh_trainer_free(&t);
        inh_model_free(&m3); inh_model_free(&m2); inh_model_free(&m);
        inh_data_close(&train); inh_data_close(&val);
        return 0;
    }
end of example

   Buffers the caller provides (the library allocates everything else, and says which free call
   releases what it hands back):
       inh_model_generate, _stream, _with   out: n_prompt + n_new ints (the prompt, then the new tokens)
       inh_sample_token                     logits: V floats
       inh_model_forward                    inputs, targets: B*T ints each (targets may be NULL)
       inh_data_next                        inputs, targets: B*T ints each
       inh_data_write, inh_data_from_tokens ids: n ints;  inh_synth_corpus  ids: n ints
       inh_model_save_memory                buf: cap bytes (buf NULL: *len receives the size needed)
       inh_model_load_memory                data: len bytes (copied)
       inh_model_set_distill                teacher_probs: B*T*Vp floats, kept (not copied) while set
       inh_softmax_rows                     probs, logits: N*Vp floats each
       inh_sc_layers                        layers: up to L-1 ints (NULL: only the count)
       inh_svd_values                       a: M*N doubles; s: min(M, N) doubles
       inh_sym_eigenvalues                  g: n*n doubles; w: n doubles
       inh_energy_rank                      s2: n doubles
       inh_attention_rank, inh_attention_mass   A: T*T floats
       inh_analysis_order                   order: L ints
       inh_drop_sweep                       orders: curves*L ints; names: curves strings
       inh_analysis_write_svg, _html        layers: nlayers ints
       inh_write_loss_svg                   step, loss: n each; vstep, vloss: nv each
       inh_command_line                     buf: cap bytes (a longer line comes in pieces)
       inh_args_utf8, inh_tokenizer_encode, inh_tokenizer_decode: allocated by the library

   Backends: the model code runs over one op table (inh_backend: memory, and the ops of a training
   step as forward/backward pairs). The CPU backend fills it with this file's kernels and is the
   default and the tested oracle; inheritune_cuda.cu fills it for one NVIDIA GPU
   (inh_model_set_backend). On the CPU, the fast packed matmul and the flash attention sit behind
   inh__matmul_* / inh__attention_*, and the plain *_cpu kernels beside them are their oracle.
   Results are bit-identical for any thread count.
   Mixed precision: with o.bf16 (or m.bf16) the matmuls take bf16-rounded operands and sum in
   fp32 (AVX-512 BF16 dot products where the compiler targets them and the CPU runs them fast,
   the fp32 kernels on rounded operands elsewhere); weights, gradients and AdamW stay fp32.

   The file reads top to bottom like the pipeline it implements:
       utilities -> kernels (forward/backward pairs) -> the CPU backend -> model -> checkpoint formats ->
       tokenizer -> data -> training -> analysis -> Inheritune recipe -> reports.

   Dimension names used everywhere: B batch, T time, C channels, NH heads, hs = C/NH head size,
   L layers, V vocabulary, Vp vocabulary padded to a multiple of 128, maxT context length.
*/
#if defined(INHERITUNE_IMPLEMENTATION) && !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
/* A libc header read before this one (the program's own #include <stdio.h> came first) has fixed
   what the system headers declare, and the definition below comes too late for it: then the
   Platform section declares the few POSIX calls it needs itself and uses calls that need none. */
#if defined(_FEATURES_H) || defined(__GLIBC__) || defined(EOF) || defined(CLOCKS_PER_SEC) || defined(EXIT_SUCCESS) || \
    defined(_SYS_CDEFS_H_) || defined(_CDEFS_H_) || defined(__BIONIC__)
#define INH__POSIX_LATE 1
#endif
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, fsync, sysconf under -std=c99/c11 */
#endif
#if defined(INHERITUNE_IMPLEMENTATION) && !defined(_WIN32) && !defined(_FILE_OFFSET_BITS)
#define _FILE_OFFSET_BITS 64      /* 32-bit Linux: files past 2 GiB open, and are refused by size, not by EOVERFLOW */
#endif
#if defined(INHERITUNE_IMPLEMENTATION) && defined(__MINGW32__) && !defined(__USE_MINGW_ANSI_STDIO)
#define __USE_MINGW_ANSI_STDIO 1  /* MinGW: C99 printf (%zu, %lld), not the old msvcrt one */
#endif
#ifndef INHERITUNE_H
#define INHERITUNE_H
#define INHERITUNE_VERSION "0.9.0"   /* the library's (and the tool's: inheritune --version) */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef INHDEF
#ifdef INHERITUNE_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define INHDEF static __attribute__((unused))
#else
#define INHDEF static
#endif
#else
#define INHDEF extern
#endif
#endif

/* ---------------------------------------------------------------------------------------------
   Utilities */

/* The last error message ("" if none). Not thread safe: one message for the whole library. */
INHDEF const char *inh_error(void);
/* Number of online cores (at least 1). */
INHDEF int inh_num_cores(void);
/* The kernels keep their worker threads between calls (started on first use, waiting in
   between). This stops and joins them, e.g. before exit so that leak checkers see no thread
   memory; the next parallel kernel starts them again. */
INHDEF void inh_threads_release(void);
/* Monotonic wall-clock seconds. */
INHDEF double inh_now(void);
/* This machine's fp32 FMA peak in GFLOP/s on `threads` threads: a probe of about 20 ms (every thread
   runs 12 chains of vector FMAs on registers only), the ceiling for a kernel's FLOP rate. */
INHDEF double inh_fma_peak_gflops(int threads);
/* The instruction set the CPU kernels were compiled for: "avx512", "avx2", "neon", "simd128" or
   "scalar", then any extension in use after a space (e.g. "avx512 avx512bf16"). */
INHDEF const char *inh_isa(void);
/* Can `path` be written, checked before any work: its directory exists and is writable, and path
   is not a directory. is_dir != 0: path is a directory to use or create (an existing one must be
   writable; a missing one needs a writable parent). 0 or -1 with a message naming the path. */
INHDEF int inh_check_output(const char *path, int is_dir);

/* What a file is, from its first bytes (the magic numbers of the formats below), so that no save
   replaces a file of another kind: a typo in an output path must not cost a corpus. */
enum {
    INH_FILE_NONE,          /* nothing there */
    INH_FILE_EMPTY,         /* zero bytes */
    INH_FILE_DIR,           /* a directory */
    INH_FILE_MODEL,         /* llm.c model .bin (magic 20240326) */
    INH_FILE_SAFETENSORS,   /* 8-byte header length, then '{' */
    INH_FILE_STATE,         /* our training state (magic 20241123) */
    INH_FILE_SHARD,         /* llm.c token shard (magic 20240520) */
    INH_FILE_TOKENIZER,     /* llm.c tokenizer file (magic 20240328) */
    INH_FILE_HTML,          /* starts with <!DOCTYPE html or <html */
    INH_FILE_SVG,           /* starts with <svg or <?xml */
    INH_FILE_JSON,          /* starts with { or [ (JSON, JSON lines) */
    INH_FILE_TEXT,          /* other text: no control bytes but tab, newlines, form feed, escape */
    INH_FILE_OTHER          /* anything else (a file that cannot be read, too) */
};
INHDEF int inh_file_kind(const char *path);
INHDEF const char *inh_file_kind_name(int kind);     /* "a model (llm.c .bin)", "a text file", ... */
/* May a file of `kind` be written at path: 0 when nothing is there, an empty file, or a file of
   that kind; else -1 and "PATH: is a text file, not a model (llm.c .bin); refusing to replace it".
   Every save checks this before it renames its finished temporary over path; a program checks it
   before long work, and removes the file (inh_remove) when its user insists. */
INHDEF int inh_check_replace(const char *path, int kind);
INHDEF int inh_remove(const char *path);             /* delete a file: 0, or -1 + message */

/* The platform, for programs over the library (the command-line tool); every OS call of the
   library lives in one section of the implementation, and these are its public face. Paths are
   UTF-8 on every system (converted to UTF-16 on Windows). */
INHDEF int inh_path_kind(const char *path);          /* 0 absent, 1 a file, 2 a directory */
/* fopen with a UTF-8 path; files are always binary (the same bytes on every system: no CRLF) */
INHDEF FILE *inh_fopen(const char *path, const char *mode);
/* stdin and stdout as bytes (Windows: no CRLF translation, so output equals Linux's); call first */
INHDEF void inh_stdio_binary(void);
/* main's arguments in UTF-8: on Windows the C runtime hands them over in the ANSI code page
   (a path with "Zoë" or "模型" would not survive), so they are taken again from the wide command
   line; elsewhere they are left as they are. 0, or -1 + message. */
INHDEF int inh_args_utf8(int *argc, char ***argv);
INHDEF int inh_make_dir(const char *path);           /* 0 made or already there; -1 + message */
/* Ctrl-C (SIGINT; Windows: the console's Ctrl-C) sets *flag to 1; a second Ctrl-C ends the
   process as usual. 0, or -1 + message. */
INHDEF int inh_catch_interrupt(volatile int *flag);
INHDEF double inh_peak_memory_mb(void);              /* peak resident memory, 0 where unknown */
/* Run a command through the system's shell and read its standard output line by line: start
   (NULL + message), line (1 a line into buf, 0 the end), finish (its exit status, or -1 + a
   message such as "was killed by signal 9"; frees c). line's buf holds cap bytes (the line with its
   newline, NUL-terminated; a longer line comes in pieces). No processes on WASI or INH_NO_STDIO. */
typedef struct inh_command inh_command;
INHDEF inh_command *inh_command_start(const char *cmd);
INHDEF int inh_command_line(inh_command *c, char *buf, int cap);
INHDEF int inh_command_finish(inh_command *c);

/* Small deterministic RNG (splitmix64 seeded xorshift*), saved in training state for exact resume. */
typedef struct { uint64_t s; } inh_rng;
INHDEF void     inh_rng_seed(inh_rng *r, uint64_t seed);
INHDEF uint64_t inh_rng_u64(inh_rng *r);
INHDEF float    inh_rng_uniform(inh_rng *r);          /* [0, 1) */
INHDEF float    inh_rng_normal(inh_rng *r);           /* N(0, 1) */

/* ---------------------------------------------------------------------------------------------
   Model */

typedef struct {
    int maxT;        /* context length */
    int V;           /* vocabulary size */
    int Vp;          /* V padded up to a multiple of 128 (llm.c) */
    int L, NH, C;    /* layers, heads, channels */
    int bias;        /* 1: biases everywhere (GPT-2, llm.c); 0: none (nanoGPT bias=False) */
    int layer_scale; /* 1: attention logits also scaled by 1/(layer+1) (HF scale_attn_by_inverse_layer_idx) */
    int shortcuts;   /* attention shortcuts (Verma & Pilanci): 0 none, INH_SC_CAUSAL, INH_SC_DEPTH */
    uint32_t sc_layers[32];   /* with shortcuts, the selected layers S: layer l is bit l%32 of word l/32 */
} inh_config;

/* Attention shortcuts: a feature map f_l(x) = W2 GELU(W1 LN(x) + b1) + b2 on the output h_l of
   every selected layer l in S (intermediate layers, each < L-1), and one cross-attention added to
   the last block after its MLP: q from LNq(h_{L-1}), keys and values from the features through
   one shared (2C, C) projection; h_{L-1} += proj(attention). Keys of the query at position t:
   causal: every selected layer at every position s <= t (n (t+1) keys); depth: every selected
   layer at position t (n keys). n = |S|. */
#define INH_SC_CAUSAL 1
#define INH_SC_DEPTH 2
#define INH_SC_MAX_LAYER 1024     /* selected layers must be below this (32 words of bits) */

/* The 16 parameter tensors in llm.c's order, then the 14 of the shortcuts (size 0 without them);
   all live in one allocation. */
#define INH_NUM_PARAMS 16
#define INH_NUM_SC_PARAMS 14
#define INH_MAX_PARAMS (INH_NUM_PARAMS + INH_NUM_SC_PARAMS)
typedef struct {
    float *wte;      /* (Vp, C)  token embedding, tied LM head; rows V..Vp-1 stay zero */
    float *wpe;      /* (maxT, C) */
    float *ln1w, *ln1b;          /* (L, C) */
    float *qkvw, *qkvb;          /* (L, 3C, C), (L, 3C) */
    float *attprojw, *attprojb;  /* (L, C, C), (L, C) */
    float *ln2w, *ln2b;          /* (L, C) */
    float *fcw, *fcb;            /* (L, 4C, C), (L, 4C) */
    float *fcprojw, *fcprojb;    /* (L, C, 4C), (L, C) */
    float *lnfw, *lnfb;          /* (C) */
    /* shortcuts (n = number of selected layers; NULL-sized without shortcuts) */
    float *sc_lnw, *sc_lnb;      /* (n, C) feature maps' LayerNorm */
    float *sc_fc1w, *sc_fc1b;    /* (n, C, C), (n, C) */
    float *sc_fc2w, *sc_fc2b;    /* (n, C, C), (n, C) */
    float *sc_lnqw, *sc_lnqb;    /* (C) the query's LayerNorm */
    float *sc_qw, *sc_qb;        /* (C, C), (C) */
    float *sc_kvw, *sc_kvb;      /* (2C, C), (2C): keys are rows 0..C-1, values C..2C-1 */
    float *sc_projw, *sc_projb;  /* (C, C), (C) */
} inh_params;

/* Activations of one forward pass, kept for backward; one allocation, sized for B*T. */
typedef struct {
    float *encoded;                       /* (B, T, C) */
    float *ln1, *ln1_mean, *ln1_rstd;     /* (L, B, T, C), (L, B, T) x2 */
    float *qkv;                           /* (L, B, T, 3C) */
    float *atty;                          /* (L, B, T, C) attention output before projection */
    float *att;                           /* (L, B, NH, T, T) post-softmax attention, or NULL:
                                             stored only with keep_attention */
    float *att_rows;                      /* (L, B*NH, 2T) the attention's rows, from each layer's
                                             forward to its backward (inh_backend); NULL with att */
    float *res2;                          /* (L, B, T, C) residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd;     /* (L, B, T, C), (L, B, T) x2 */
    float *fch, *fch_gelu;                /* (L, B, T, 4C) */
    float *res3;                          /* (L, B, T, C) residual after the MLP = block output */
    float *lnf, *lnf_mean, *lnf_rstd;     /* (B, T, C), (B, T) x2 */
    float *logits;                        /* (B, T, Vp); with targets, overwritten by probabilities */
    float *losses;                        /* (B, T) of inh_model_forward (a trainer step keeps its
                                             losses in m->dnorm, behind the norm) */
    /* shortcuts only (absent otherwise): */
    float *sc_ln, *sc_ln_mean, *sc_ln_rstd;   /* (n, B, T, C), (n, B, T) x2 */
    float *sc_fc1, *sc_fc1g, *sc_feat;        /* (n, B, T, C) pre-GELU, post-GELU, feature f_l(h_l) */
    float *sc_kv;                             /* (n, B, T, 2C) keys and values */
    float *sc_lnq, *sc_lnq_mean, *sc_lnq_rstd;/* (B, T, C), (B, T) x2 */
    float *sc_q, *sc_atty;                    /* (B, T, C) */
    float *sc_att;                            /* (B, NH, T, n T) weights [i T + s], keep_attention only */
    float *sc_res;                            /* (B, T, C) h_{L-1} + shortcut output: the final LN's input */
    /* bf16 models on a device backend only (NULL otherwise): the matmuls' inputs ln1, atty, ln2,
       fch_gelu, lnf (same shapes) rounded to bf16, written by the ops that produce them (beside
       their floats) and read by the matmuls' forward and backward, which round nothing again; the
       gradient of fch (B, T, 4C), which the GELU backward writes the same way (one layer's at a
       time); and the logits' gradient (B, T, Vp), which the cross-entropy backward writes as bf16
       only (all the lm head's backward reads). After the plain activations in acts_mem. */
    uint16_t *ln1_16, *atty_16, *ln2_16, *gelu_16, *lnf_16, *dfch_16, *dlogits_16;
} inh_acts;

typedef struct {
    inh_config cfg;
    inh_params params, grads;             /* grads has the same layout as params */
    float *params_mem, *grads_mem, *m_mem, *v_mem;  /* one block each; AdamW moments lazily */
    size_t param_sizes[INH_MAX_PARAMS];
    size_t num_params;
    inh_acts acts;
    float *acts_mem, *scratch_mem;        /* activations; per-layer backward scratch */
    int B, T;                             /* shape the activations were last used with */
    size_t acts_capacity;                 /* B*T the activation block was sized for */
    size_t acts_floats, scratch_floats;   /* sizes of those two blocks */
    const int *inputs, *targets;          /* of the last forward */
    float mean_loss;                      /* of the last forward with targets, else -1 */
    unsigned char *drop_attn;             /* (L) 1 = skip this layer's attention sub-layer */
    int drop_shortcut;                    /* 1: skip the shortcut sub-layer (the plain GPT-2 inside) */
    int threads;                          /* worker threads for every kernel (>= 1); a kernel too
                                             small to pay for them uses fewer (batch-1 generation
                                             on a small model: one). Any count, the same bits */
    int keep_attention;                   /* 1: store every layer's attention matrices (analysis);
                                             0 (default): flash kernels, memory linear in T */
    int bf16;                             /* 1: training/eval matmuls in bf16 mixed precision
                                             (operands rounded to bf16, fp32 sums, fp32 weights) */
    int acts_keep;                        /* keep_attention the activations were sized for */
    int profile;                          /* 1: add the seconds of matmuls and attention to prof */
    double prof[2];                       /* [0] matmul, [1] attention (forward + backward) */
    const float *distill_probs;           /* (B, T, Vp) teacher probabilities, or NULL */
    float distill_w;                      /* weight of KL(teacher || model) in the loss gradient */
    /* Where forward, backward and update run (inh_model_set_backend): be NULL is the CPU, and then
       the d* views below are the host blocks above themselves. With another backend they are its
       memory (a GPU's), acts_mem and scratch_mem too, while params_mem, grads_mem, m_mem and v_mem
       stay host copies that inh_model_sync_host refreshes (the library does so wherever it reads
       them: saving, sampling, analysis, inheritance). */
    const struct inh_backend *be;
    void *be_ctx;                         /* the backend's context (the CUDA one: inh_cuda_ctx) */
    inh_params dparams, dgrads;           /* views into dparams_mem, dgrads_mem */
    float *dparams_mem, *dgrads_mem, *dm_mem, *dv_mem;
    int *dids;                            /* (2, B*T): the last forward's inputs, targets (backend memory) */
    float *host_losses;                   /* (B*T) the losses copied back (backends without host memory) */
    int *host_ids;                        /* (B*T) the last forward's inputs, kept (backends without host memory) */
    float *dnorm;                         /* (dnorm_floats) in the backend's memory: the gradient norm,
                                             the loss gate (inh_backend's grad_norm), then the last
                                             trainer step's losses (accum x B x T) */
    size_t dnorm_floats;
    float *host_step;                     /* (dnorm_floats) their host copy (backends without host memory) */
    int host_stale;                       /* 1: backward, zero_grad or update changed the backend's blocks
                                             since the host copies were last synced */
} inh_model;

/* Fill *c from the sizes (Vp derived) with GPT-2 defaults (bias on, no layer scale). */
INHDEF void inh_config_default(inh_config *c, int maxT, int V, int L, int NH, int C);
/* Check a config: positive sizes, NH divides C, no overflow, shortcut layers in 0..L-2. */
INHDEF int  inh_config_check(const inh_config *c, const char *what);
/* Give c attention shortcuts: variant INH_SC_CAUSAL or INH_SC_DEPTH (0 removes them); layers a
   list "1,3,5" (ascending or not, no repeats), NULL or "" for every layer 0..L-2. */
INHDEF int  inh_config_set_shortcuts(inh_config *c, int variant, const char *layers);
/* The selected layers in ascending order into layers (up to L-1 ints, or NULL); returns n. */
INHDEF int  inh_sc_layers(const inh_config *c, int *layers);
/* "causal", "depth" -> INH_SC_*; -1 for anything else. And back ("none" for 0). */
INHDEF int  inh_sc_variant(const char *name);
INHDEF const char *inh_sc_variant_name(int variant);
/* New model with GPT-2 initialisation, deterministic for a seed. */
INHDEF int  inh_model_init(inh_model *m, const inh_config *c, uint64_t seed);
INHDEF void inh_model_free(inh_model *m);
/* Forward pass on inputs (B, T); with targets (B, T) it also computes losses and m->mean_loss.
   Token ids are checked against V. Returns 0, or -1 on bad shapes or ids. */
INHDEF int  inh_model_forward(inh_model *m, const int *inputs, const int *targets, int B, int T);
/* Gradients of mean_loss * loss_scale, ADDED into m->grads (call inh_model_zero_grad first;
   loss_scale 1/accum for gradient accumulation). Needs a forward with targets. */
INHDEF int  inh_model_backward(inh_model *m, float loss_scale);
INHDEF void inh_model_zero_grad(inh_model *m);
/* Index of the tensor and its name ("wte", "qkvw", ..., "sc_projb"); i < INH_MAX_PARAMS. */
INHDEF const char *inh_param_name(int i);
/* 1 if AdamW decays tensor i by default (2-D weights and embeddings, nanoGPT's grouping) */
INHDEF int  inh_param_is_2d(int i);
/* Whether tensor i is a bias (absent, kept at zero, when cfg.bias == 0) */
INHDEF int  inh_param_is_bias(int i);

typedef struct {
    float beta1, beta2, eps, weight_decay;
    int decay_all;   /* 0: decay only 2-D tensors (nanoGPT); 1: all parameters (llm.c) */
    float grad_clip; /* clip the global gradient norm to this; 0 = off */
} inh_adamw;
INHDEF void  inh_adamw_default(inh_adamw *o);
/* Global L2 norm of the gradients (deterministic for any thread count). */
INHDEF float inh_model_grad_norm(inh_model *m);
/* One AdamW step at learning rate lr; t is the 1-based step for bias correction. The gradient is
   clipped first when o->grad_clip > 0 (grad_norm: inh_model_grad_norm, passed in to avoid
   recomputing). Returns -1 if moments cannot be allocated, or (nothing changed) if grad_norm is
   NaN or infinite: such a gradient never reaches the weights. */
INHDEF int   inh_model_update(inh_model *m, const inh_adamw *o, float lr, int t, float grad_norm);

/* ---------------------------------------------------------------------------------------------
   Backends: the one seam between the model code and the hardware. The model code (forward,
   backward, update) is written once over these ops; the CPU backend (the default, and the tested
   oracle) calls this file's kernels, and inheritune_cuda.cu supplies the CUDA one. Pointers an op
   receives are the backend's memory; shapes are the CPU kernels' (N = B*T rows, row-major);
   backward ops ADD into their gradients. Ops do not return errors: a backend that can fail keeps
   the first failure and reports it at check/sync (the library calls them after every step). */
typedef struct { size_t off, n; float wd; } inh_segment;   /* one tensor of a parameter block */
typedef struct inh_backend {
    const char *name;                     /* "cpu", "cuda" */
    int host_memory;                      /* 1: its pointers are host memory (the CPU) */
    /* memory (bytes; alloc does not zero) */
    int   (*alloc)(inh_model *m, void **p, size_t bytes);
    void  (*release)(inh_model *m, void *p);
    void  (*upload)(inh_model *m, void *dst, const void *host_src, size_t bytes);
    void  (*download)(inh_model *m, void *host_dst, const void *src, size_t bytes);
    void  (*copy)(inh_model *m, void *dst, const void *src, size_t bytes);
    void  (*zero)(inh_model *m, void *p, size_t bytes);
    /* the ops of a training step (m->bf16 selects the matmul precision; m->threads the CPU's threads) */
    void  (*encoder_forward)(inh_model *m, float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C);
    /* inp_host: the same ids in host memory (a device backend groups the positions of each token
       there without reading inp back), or NULL */
    void  (*encoder_backward)(inh_model *m, float *dwte, float *dwpe, const float *dout, const int *inp, const int *inp_host,
                              int B, int T, int C);
    /* out16 (here, in attention_forward, gelu_forward and gelu_backward): NULL, or where the op also
       writes its output (after any add) rounded to bf16 for the matmul that reads it (inh_acts'
       *_16: bf16 models on a device; the CPU, which rounds as it packs, is never given one) */
    void  (*layernorm_forward)(inh_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                               const float *bias, int N, int C, uint16_t *out16);
    void  (*layernorm_backward)(inh_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                const float *w, const float *mean, const float *rstd, int N, int C);
    /* inp16: NULL, or (bf16 models) bf16(inp), which the op that produced inp wrote (its out16):
       the forward and the backward read it instead of rounding inp (inh_acts' *_16; never the CPU) */
    void  (*matmul_forward)(inh_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                            uint16_t *inp16);
    /* fresh 1: dinp = dout @ w, what dinp held is never read (the model's targets it would only
       zero first: a device then skips the memset and the read-back of C); the CPU zeroes dinp and
       adds, so its bits are those of zero-then-add. fresh 0: dinp += dout @ w, as dw and dbias always.
       inp16 as above; dout16: NULL, or bf16(dout) from dout's producer, read instead of rounding
       dout; dout's floats are then read only for dbias (the cross-entropy's bf16 gradient has no
       floats behind it: its matmul has no bias). Both only with m->bf16 */
    void  (*matmul_backward)(inh_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC, int fresh, const uint16_t *inp16, const uint16_t *dout16);
    /* causal self-attention over qkv (B, T, 3C) that never stores (B, NH, T, T). rows: (B*NH, 2T)
       of this layer, kept from the forward to its backward, where a backend leaves what its backward
       needs (CUDA: each row's log-sum-exp; the CPU uses them as scratch); out: the forward's output */
    void  (*attention_forward)(inh_model *m, float *out, float *rows, const float *qkv, int B, int T, int C, int NH, float scale,
                               uint16_t *out16);
    void  (*attention_backward)(inh_model *m, float *dqkv, float *rows, const float *dout, const float *out, const float *qkv,
                                int B, int T, int C, int NH, float scale);
    void  (*gelu_forward)(inh_model *m, float *out, const float *inp, size_t n, uint16_t *out16);
    void  (*gelu_backward)(inh_model *m, float *dinp, const float *inp, const float *gout, const float *dout, size_t n, uint16_t *out16);
    void  (*residual_forward)(inh_model *m, float *out, const float *a, const float *b, size_t n);
    /* logits (N, Vp) become probabilities, losses (N) the cross-entropies; backward turns the
       probabilities into dlogits in place (q: teacher probabilities or NULL, weight w), or, given
       dlogits16 (bf16 models on a device), writes them there as bf16 and leaves probs as they are */
    void  (*crossentropy_forward)(inh_model *m, float *logits, float *losses, const int *targets, int N, int V, int Vp);
    void  (*crossentropy_backward)(inh_model *m, float *probs, const int *targets, const float *q, float w, float dloss,
                                   int N, int Vp, uint16_t *dlogits16);
    /* into norm[0..2), the backend's memory (a device keeps them there, nothing waits): norm[0] the
       global L2 norm of g[0..n), deterministic; norm[1] the loss gate, 0 when every one of
       losses[0..nl) is finite, else NaN (a trainer step's losses, so that the device decides to
       skip the update before the host has read the loss; NULL, 0: none, the gate is 0) */
    void  (*grad_norm)(inh_model *m, const float *g, size_t n, const float *losses, size_t nl, float *norm);
    /* AdamW over the tensors segs[0..nseg) of one block; t the 1-based step. The gradient is clipped
       to o->grad_clip by norm[0] (the backend's memory, as grad_norm left it; the clip factor is
       computed where the norm is, so the host need not read it first); a norm that is not finite,
       or a gate norm[1] that is not 0, skips the update (NaN or Inf would reach every weight; an
       infinite loss can come with finite gradients, a target's probability rounded to 0) */
    void  (*adamw)(inh_model *m, float *w, const float *g, float *mom, float *v, const inh_segment *segs, int nseg,
                   const inh_adamw *o, float lr, int t, const float *norm);
    int   (*check)(inh_model *m);         /* -1 if an op failed since the last check (no waiting) */
    int   (*sync)(inh_model *m);          /* waits for the device, then as check */
    const char *(*error)(inh_model *m);   /* what the failure was */
    /* before each forward at B x T: a device backend sizes its own scratch for the ops of such a
       step here, so that none of them allocates (or waits on a free) in the middle of a step */
    void  (*reserve)(inh_model *m, int B, int T);
} inh_backend;
INHDEF const inh_backend *inh_backend_cpu(void);
/* Move a model to a backend (NULL: back to the CPU): its parameters, and AdamW moments if any, are
   copied there; activations are made anew on the next forward. Refuses options the backend does
   not support (the CUDA backend: attention shortcuts) with a message, leaving m as it was. */
INHDEF int  inh_model_set_backend(inh_model *m, const inh_backend *be, void *ctx);
/* Host copies <-> the backend: sync_host refreshes params_mem, grads_mem and the moments (m_mem,
   v_mem, allocated if the backend has them); sync_device sends params_mem (and the moments) back
   after host code changed them. Both are no-ops on the CPU. */
INHDEF int  inh_model_sync_host(inh_model *m);
INHDEF int  inh_model_sync_device(inh_model *m);
/* Wait until the backend has finished what m asked of it (timing); -1 if any of it failed. */
INHDEF int  inh_model_wait(inh_model *m);

/* Inference with a KV cache, one token at a time (batch 1). Layers whose attention is dropped
   (m->drop_attn) keep no cache. Once maxT tokens are in, the window slides: the cache restarts
   from the last maxT/2 tokens (positions restart), re-encoded in one batched forward. The model
   then always sees between maxT/2 and maxT tokens, and a long generation costs about one batched
   forward of maxT/2 tokens per maxT/2 new ones, not maxT single-token passes per token. */
typedef struct {
    inh_model *m;            /* the model it runs on: a host twin of a model on another backend */
    inh_model *twin;         /* that twin (sharing the host parameters), or NULL */
    float **k, **v;          /* per layer: (maxT, C), or NULL for dropped layers */
    float *x, *ln, *qkv, *att, *atty, *h, *hg, *logits;   /* scratch for one position */
    int *tokens;             /* the tokens in the cache (maxT) */
    int n;                   /* tokens in the cache */
    size_t cache_floats;     /* memory held by the cache */
    /* shortcuts: keys and values of the selected layers' features, (n, maxT, 2C) for causal (every
       position stays in the cache), (n, 2C) for depth (only the current position is needed) */
    float *sc_kv, *sc_buf;   /* sc_buf: scratch of one position */
    int *sc_idx;             /* (L) index of layer l among the selected layers, or -1 */
} inh_kv;
INHDEF int  inh_kv_init(inh_kv *kv, inh_model *m);
INHDEF void inh_kv_free(inh_kv *kv);
/* Append one token; kv->logits (Vp) then holds the next-token logits. */
INHDEF int  inh_kv_push(inh_kv *kv, int token);

/* How the next token is drawn from the logits. */
typedef struct {
    float temperature;   /* 0: greedy (always the most likely token); 1: the model's distribution */
    int top_k;           /* only the k most likely tokens; 0: all */
    float top_p;         /* nucleus (Holtzman et al.): only the fewest most likely tokens whose
                            probabilities (after temperature and top_k) sum to at least top_p;
                            in (0, 1], 1: all */
} inh_sampling;
INHDEF void inh_sampling_default(inh_sampling *s);   /* temperature 1, top_k 0, top_p 1 */
/* One token drawn from logits (V values; one uniform number from rng, none when greedy). -1 and a
   message for settings out of range. With top_p 1 it is the token inh_model_generate draws. */
INHDEF int inh_sample_token(const float *logits, int V, const inh_sampling *s, inh_rng *rng);

/* Sample n_new tokens after the prompt (batch 1). out must hold n_prompt + n_new ints: it
   receives the prompt, then the new tokens (out may be the prompt's own array if that is large
   enough). temperature 0 = greedy; top_k 0 = all. Kept as it was for programs written against
   it: inh_model_generate_with takes every setting (top_p too). */
INHDEF int inh_model_generate(inh_model *m, const int *prompt, int n_prompt, int n_new,
                              float temperature, int top_k, inh_rng *rng, int *out);
/* The same, calling fn(user, token) after each new token (streaming); generation stops early
   when fn returns non-zero. *n_out (may be NULL) receives the tokens generated. out: n_prompt +
   n_new ints, as above. */
typedef int (*inh_token_fn)(void *user, int token);
INHDEF int inh_model_generate_stream(inh_model *m, const int *prompt, int n_prompt, int n_new, float temperature, int top_k,
                                     inh_rng *rng, int *out, int *n_out, inh_token_fn fn, void *user);
/* Both of the above with sampling settings s (NULL: inh_sampling_default); fn may be NULL.
   out: n_prompt + n_new ints. */
INHDEF int inh_model_generate_with(inh_model *m, const int *prompt, int n_prompt, int n_new, const inh_sampling *s,
                                   inh_rng *rng, int *out, int *n_out, inh_token_fn fn, void *user);

/* ---------------------------------------------------------------------------------------------
   Checkpoint formats */

/* llm.c model file: 256 int32 header [20240326, 3, maxT, V, L, NH, C, Vp, flags, 0...], then fp32
   tensors in llm.c's order. flags (slot 8, zero in llm.c's own files, ignored by llm.c):
   bit 0 = no biases, bit 1 = layer scale, bit 2 = attention shortcuts: slot 9 the variant (1 causal,
   2 depth), slots 16..47 the selected layers (layer l is bit l%32 of slot 16 + l/32), and the 14
   shortcut tensors after llm.c's 16 (llm.c reads the first 16: the plain GPT-2 inside). A
   bias-free model is written with zero biases. */
INHDEF int inh_model_load(inh_model *m, const char *path);
INHDEF int inh_model_save(const inh_model *m, const char *path);

/* ---------------------------------------------------------------------------------------------
   Hugging Face checkpoints: a GPT2LMHeadModel's model.safetensors + config.json.

   safetensors: uint64 little-endian header length N, N bytes of JSON
   {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}},
   then the raw little-endian data; offsets are relative to the first byte after the header.

   Names are GPT-2's (wte.weight, wpe.weight, h.{i}.ln_1.weight, h.{i}.attn.c_attn.weight, ...,
   ln_f.bias), with or without the "transformer." prefix. The four Conv1D weights are stored
   [in, out], the transpose of our (out, in). The LM head must be tied: lm_head.weight is either
   absent or equal to wte.weight. The attention mask buffers (h.{i}.attn.bias, .masked_bias) are
   ignored. F32, F16 and BF16 are read (and F64); everything becomes fp32. */

/* path: a .safetensors file or a directory holding model.safetensors. config.json beside the file
   gives n_head and scale_attn_by_inverse_layer_idx (n_head cannot be derived from tensor shapes,
   so it is required); its other sizes must agree with the tensor shapes. Needs gelu_new (or
   gelu_pytorch_tanh), layer_norm_epsilon 1e-5 and scaled attention: anything else is refused,
   since our forward would silently compute a different function. */
INHDEF int inh_model_load_safetensors(inh_model *m, const char *path);
/* dir_or_path: a path ending in ".safetensors" writes that file and config.json in the same
   directory; anything else is a directory (created if absent, one level) that receives
   model.safetensors and config.json. F32, HF names without prefix, Conv1D layout, only the V real
   rows of wte; config.json for GPT2LMHeadModel (bos/eos = V-1, 50256 for GPT-2's vocabulary).
   A bias-free model is written with zero biases (and reloads as bias-free). Both files atomic. */
INHDEF int inh_model_save_safetensors(const inh_model *m, const char *dir_or_path);
/* Load either format, chosen by content: llm.c magic 20240326 -> inh_model_load; '{' after the
   8-byte length of a safetensors header (or a name ending in .safetensors) ->
   inh_model_load_safetensors; a directory -> its model.safetensors. */
INHDEF int inh_model_load_any(inh_model *m, const char *path);
/* From memory (a model in a const array, a download; the way in without a file system): an
   llm.c .bin (ours or llm.c's) or a safetensors file, by content; config_json (NUL-terminated text
   of its config.json) is needed for safetensors and ignored otherwise. The bytes are copied. */
INHDEF int inh_model_load_memory(inh_model *m, const void *data, size_t len, const char *config_json);
/* The model as an llm.c .bin into buf (cap bytes); *len receives its size. buf NULL: only the
   size (0 returned). A buffer too small: -1 and a message with the size it needs. */
INHDEF int inh_model_save_memory(const inh_model *m, void *buf, size_t cap, size_t *len);

/* ---------------------------------------------------------------------------------------------
   Tokenizer: GPT-2's byte-level BPE, a plain byte-level tokenizer, llm.c's tokenizer file, and
   the llm.c token shards that `prepare` writes.

   Any bytes in, the same bytes out: text need not be valid UTF-8. The pre-splitter treats each
   byte that is not part of a valid UTF-8 sequence as one "other" character (neither letter,
   number nor space), and BPE encodes it through its byte token, so decode(encode(x)) == x. */

typedef struct inh_tokenizer inh_tokenizer;

/* name "bytes": the byte-level tokenizer (id b is byte b, 256 is end-of-text, V = 257).
   A directory: OpenAI's encoder.json + vocab.bpe, or Hugging Face's vocab.json + merges.txt.
   A regular file: an llm.c tokenizer file (decode only). */
INHDEF int  inh_tokenizer_load(inh_tokenizer **out, const char *dir_or_bytes);
/* vocab_json: encoder.json or vocab.json; merges: vocab.bpe or merges.txt */
INHDEF int  inh_tokenizer_load_files(inh_tokenizer **out, const char *vocab_json, const char *merges);
/* llm.c's tokenizer file: 256 uint32 header [20240328, version 1|2, V, EOT], then per token a
   uint8 length and its bytes. It has no merges, so the result decodes but cannot encode. */
INHDEF int  inh_tokenizer_load_llmc(inh_tokenizer **out, const char *path);
/* The same from memory (the texts of vocab_json and merges; an llm.c tokenizer file's bytes) */
INHDEF int  inh_tokenizer_load_memory(inh_tokenizer **out, const void *vocab_json, size_t vocab_len, const void *merges, size_t merges_len);
INHDEF int  inh_tokenizer_load_llmc_memory(inh_tokenizer **out, const void *data, size_t len);
INHDEF int  inh_tokenizer_save_llmc(const inh_tokenizer *tok, const char *path);   /* version 2, atomic */
INHDEF void inh_tokenizer_free(inh_tokenizer *tok);

INHDEF int  inh_tokenizer_vocab_size(const inh_tokenizer *tok);                   /* V */
INHDEF int  inh_tokenizer_eot(const inh_tokenizer *tok);                          /* -1 if none */
INHDEF int  inh_tokenizer_can_encode(const inh_tokenizer *tok);                   /* 0 for llm.c files */
/* the bytes of token id (NULL if id is out of range) */
INHDEF const unsigned char *inh_tokenizer_token(const inh_tokenizer *tok, int id, size_t *len);

/* text -> ids. "<|endoftext|>" in the text is ordinary text unless allow_special, when it becomes
   the end-of-text id. *ids (free with inh_tokenizer_free_ids) holds *n ids. */
INHDEF int  inh_tokenizer_encode(const inh_tokenizer *tok, const unsigned char *text, size_t len,
                                 int allow_special, int **ids, size_t *n);
/* the same ids, computed by nthreads threads on pieces of the text cut where no pre-token spans */
INHDEF int  inh_tokenizer_encode_mt(const inh_tokenizer *tok, const unsigned char *text, size_t len,
                                    int allow_special, int nthreads, int **ids, size_t *n);
INHDEF void inh_tokenizer_free_ids(int *ids);
/* ids -> bytes (*out, free with inh_tokenizer_free_bytes); an id outside [0, V) is an error */
INHDEF int  inh_tokenizer_decode(const inh_tokenizer *tok, const int *ids, size_t n,
                                 unsigned char **out, size_t *len);
INHDEF void inh_tokenizer_free_bytes(unsigned char *bytes);

/* llm.c token shards from a text file, as llm.c's tinyshakespeare.py makes them: split the text
   at every "\n\n"; each section is the end-of-text token followed by the tokens of the section
   with its "\n\n" (the last section has none). The first val_tokens tokens go to outdir/val.bin,
   the rest to outdir/train.bin; each file is a 256 int32 header [20240520, 1, ntokens, 0...]
   then uint16 ids, written atomically. The input is streamed in chunks cut at section
   boundaries and encoded by nthreads threads; memory stays bounded unless a section of several
   MB has no line break followed by a non-space. progress != 0 prints progress on stderr.
   nval/ntrain (may be NULL) receive the token counts. Needs V <= 65536. */
INHDEF int  inh_prepare_shards(const inh_tokenizer *tok, const char *input_txt, const char *outdir,
                               long long val_tokens, int nthreads, int progress,
                               long long *nval, long long *ntrain);

/* ---------------------------------------------------------------------------------------------
   Data: llm.c token shards (256 int32 header [20240520, 1, ntokens, 0...], then uint16 ids) */

/* One shard of many (inh_data.shards): what a state file records of it. */
typedef struct {
    char path[1024];
    size_t n;          /* tokens */
    uint64_t hash;     /* FNV-1a over its ids (as inh_data.hash of the shard alone) */
    uint64_t rhash;    /* the record's hash (inh_shard_hash: the same in examples/torch/model.py) */
    int max_id;
} inh_shard;

typedef struct {
    char path[1024];   /* the file, or the glob / comma list of many shards */
    uint16_t *tokens;  /* one shard: all its ids; many shards: NULL (windows are read from the files) */
    size_t n;          /* number of tokens (of all shards) */
    size_t pos;        /* next sequential window (in shard `cur` when there are many) */
    int shuffle;       /* 0: consecutive windows from token 0; 1: random windows from rng */
    inh_rng rng;
    uint64_t hash;     /* identity of the tokens (FNV-1a style over the ids), set by inh_data_open */
    int max_id;        /* largest id in the shard (-1 when empty) */
    uint64_t rhash;    /* one shard: its record hash (inh_shard_hash) */
    int nshards;       /* 0: one shard in memory; >= 2: shards[0..nshards), read on demand */
    inh_shard *shards;
    int cur;           /* many shards, sequential mode: the shard being read */
    FILE *fh;          /* many shards: the file of shard fh_shard, kept open between reads */
    int fh_shard;
} inh_data;

/* Load a shard; every id must be < V (V <= 0 skips the check). `path` may also name many shards:
   a comma list (a.bin,b.bin) whose items may be globs (`*` and `?` in the file name, not in the
   directory: shards/train_*.bin, sorted by name). Many shards are not loaded: each is read once
   at open (its size, hash and ids checked), then windows are read from the files as they are
   needed, so memory stays at one batch. A window never straddles two shards: sequential windows
   read shard after shard (llm.c's order: each shard's batches from its start, then the next
   shard, back to the first after the last; a shard too small for a batch is skipped), shuffled
   windows draw a start uniformly over all the shards' window starts (deterministic for the seed).
   One shard (or a glob that matches one file) behaves exactly as before. */
INHDEF int  inh_data_open(inh_data *d, const char *path, int V);
/* The record hash of a shard (what state files keep per shard; cheap in numpy too, see
   examples/torch/model.py): (sum over i of (id_i + 1) * mix(i)) ^ ntokens, mod 2^64, where mix(i)
   is the splitmix64 finaliser of (i + 1) * 0x9E3779B97F4A7C15. In pieces: sum = inh_shard_hash(ids,
   n, start, sum) adds ids[0..n) at indices start.., starting from sum = 0; then xor the count. */
INHDEF uint64_t inh_shard_hash(const uint16_t *ids, size_t n, uint64_t start, uint64_t sum);
INHDEF void inh_data_close(inh_data *d);
/* Data from n token ids in memory (copied; each 0..65535, and below V when V > 0): the way in
   without a file system (INH_NO_STDIO). Close with inh_data_close. */
INHDEF int  inh_data_from_tokens(inh_data *d, const int *ids, size_t n, int V);
/* Check every id is < V. */
INHDEF int  inh_data_check(const inh_data *d, int V);
/* Next batch: inputs and targets (B, T). Sequential mode reads the B*T+1 tokens after the previous
   window and wraps to token 0 when fewer remain; shuffled mode picks B random windows of T+1. */
INHDEF int  inh_data_next(inh_data *d, int B, int T, int *inputs, int *targets);
INHDEF void inh_data_reset(inh_data *d);
/* Write n ids as a shard (atomic). */
INHDEF int  inh_data_write(const char *path, const int *ids, size_t n);
/* A corpus the program makes itself into ids (n ints; deterministic for a seed, V >= 16): documents that start with
   end-of-text (V-1), then alternate copy segments (random tokens, separator V-2, the same tokens
   again: predicting the copy needs attention) and bigram segments (each token follows the previous
   one through a fixed random table 90% of the time: predictable without attention). */
INHDEF int  inh_synth_corpus(int *ids, size_t n, int V, uint64_t seed);
/* Mean loss over nbatches consecutive windows from token 0 (the data position is restored).
   Wraps to token 0 when nbatches * B * T + 1 exceeds the data: see inh_eval_windows. */
INHDEF int  inh_eval_loss(inh_model *m, inh_data *d, int B, int T, int nbatches, float *loss);
/* Number of whole T-token windows (with their +1 target) in d: (n - 1) / T. */
INHDEF size_t inh_data_windows(const inh_data *d, int T);
/* Mean loss over the first `windows` consecutive T-token windows from token 0, B windows per
   forward pass (the last pass may be smaller); windows = 0 means every whole window once. Never
   wraps: more windows than the data holds is an error naming the file and what fits. *ntokens
   (may be NULL) receives the number of predicted tokens the mean is over (windows * T). */
INHDEF int  inh_eval_windows(inh_model *m, inh_data *d, int B, int T, size_t windows, float *loss, size_t *ntokens);

/* ---------------------------------------------------------------------------------------------
   Training */

typedef enum { INH_SCHEDULE_CONSTANT = 0, INH_SCHEDULE_COSINE = 1 } inh_schedule_kind;
typedef struct {
    int B, T, steps, accum;
    float lr, min_lr;
    int warmup;
    int schedule;        /* inh_schedule_kind */
    inh_adamw opt;
    uint64_t seed;
    int shuffle;
    int bf16;            /* 1: bf16 mixed-precision matmuls (inh_model.bf16) */
} inh_train_opts;
INHDEF void  inh_train_opts_default(inh_train_opts *o);
/* Learning rate at 0-based step: linear warm-up over `warmup` steps, then constant or cosine decay
   from lr to min_lr at the last step. */
INHDEF float inh_lr_at(const inh_train_opts *o, int step);

typedef struct {
    inh_model *model;
    inh_data *train;
    inh_train_opts o;
    int step;            /* optimizer steps done */
    int *inputs, *targets;
    const inh_data *val; /* optional: the validation data, recorded (path, identity) in the state file */
    const char *out_path, *log_path;   /* optional: the run's outputs, recorded in the state file (a resume writes them) */
} inh_trainer;
typedef struct { int step; float loss, lr, grad_norm; double seconds; int skipped; } inh_step_info;

INHDEF int  inh_trainer_init(inh_trainer *t, inh_model *m, inh_data *train, const inh_train_opts *o);
INHDEF void inh_trainer_free(inh_trainer *t);
/* One optimizer step over `accum` micro-batches. info->loss is the mean loss of the forward passes
   before the update. */
INHDEF int  inh_trainer_step(inh_trainer *t, inh_step_info *info);
/* Training state (ours): options, model, AdamW moments, step, RNG and data position (atomic). */
INHDEF int  inh_trainer_save_state(const inh_trainer *t, const char *path);
/* Load a state file into a fresh model and the trainer's options/position. *m must be zeroed. */
INHDEF int  inh_trainer_load_state(inh_trainer *t, inh_model *m, inh_data *train, const char *path);
/* The model inside a state file (what `inheritune export --state S --out M` writes). */
INHDEF int  inh_model_load_state(inh_model *m, const char *path);
/* What a state file says about its run, without loading the model: options, step, the data it
   was trained on and its outputs. Paths are "" and counts 0 in files older than the data record
   (then nothing can be compared); version 1 files have no out/log paths and no shard list. */
typedef struct {
    inh_train_opts o;
    int step;
    char train_path[1024], val_path[1024];   /* the --data and --val of the run (a file, a glob or a comma list) */
    uint32_t train_n, val_n;     /* tokens (0: not in the header, e.g. written by examples/torch/train.py) */
    uint64_t train_hash, val_hash;   /* inh_data.hash */
    int version;                 /* 1 or 2 (2: the text record below) */
    char out_path[1024], log_path[1024];   /* the run's --out and --log ("" when none) */
    char record[65536];          /* version 2: the text record, key=value lines (out, log, data, val, and
                                    train_shard= / val_shard= N RECORD-HASH PATH for every shard) */
} inh_state_info;
INHDEF int  inh_trainer_state_info(const char *path, inh_state_info *info);
/* 0 when d (the training data if val == 0, else the validation data) holds the shards the state
   file's run read (same number, each with the same tokens: count and inh_shard_hash); else -1 and
   a message naming the first shard that differs. 0 when the file records no shards. */
INHDEF int  inh_state_check_data(const inh_state_info *info, const inh_data *d, int val);

/* ---------------------------------------------------------------------------------------------
   Analysis: where attention degenerates, and which sub-layers matter (declarations).

   Inheritune (arXiv 2404.08634, sec. 2 and appendix C): for every layer l, head h and sequence n,
   A is the (T,T) post-softmax causal attention matrix.
     approximate rank  k*(tau) = min{k : sum_{i<=k} s_i^2 / sum_j s_j^2 >= tau}, s the singular values
     column mass       p_j = ||A[:,j]||^2 / ||A||_F^2 sorted descending, m*(eta) = min{m : top m >= eta}
     Rank(h,l), Mass(h,l): means over sequences; MaxRank(l) = max_h Rank, AvgMass(l) = mean_h Mass
     lazy layer: MaxRank(l) = 1 (every head rank 1 on every sequence); a contiguous group of layers
     is lazy when the floor of its mean MaxRank is 1.
   Peer measures from the same forward passes:
     sink score       mean over queries of the attention on key 0 (StreamingLLM), per head and layer
     block influence  1 - mean cos(x_l, x_{l+1}) over tokens (ShortGPT, arXiv 2403.03853)
     angular distance arccos(cos(x_l, x_{l+n}))/pi on the last token (Gromov et al., arXiv 2403.17887)
     attn importance  1 - mean cos(X, X + Attn(LN(X))) over tokens (He et al., arXiv 2406.15786)
     entropy          of attention rows, natural log, mean over rows, heads and sequences
   x_l is the residual stream entering block l (x_L leaves the last block).

   Thresholds: a cumulative fraction counts as reaching tau (or eta) when it is within 1e-12 of it,
   so that exact ties (the identity matrix: k/T) are not lost to rounding. */

/* Singular values of the (M,N) row-major matrix a, descending, into s (min(M,N) values).
   One-sided Jacobi (Hestenes) in double; sum s_i^2 = ||a||_F^2 to rounding. */
INHDEF int inh_svd_values(const double *a, int M, int N, double *s);
/* Eigenvalues of the symmetric (n,n) row-major matrix g, descending, into w (n doubles; Householder
   tridiagonalisation, then implicit QL). The analysis uses it on A A^T: 10x faster than Jacobi. */
INHDEF int inh_sym_eigenvalues(const double *g, int n, double *w);
/* k*(tau) from n squared singular values sorted descending; 0 when they are all zero. */
INHDEF int inh_energy_rank(const double *s2, int n, double tau);
/* For one (T,T) row-major attention matrix: k*(tau), and m*(eta). -1 on failure (inh_error). */
INHDEF int inh_attention_rank(const float *A, int T, double tau);
INHDEF int inh_attention_mass(const float *A, int T, double eta);

typedef struct {
    int seqs, T;         /* N sequences of T tokens (default 100 x 100) */
    int batch;           /* sequences per forward pass (default 8): memory grows with this, not N */
    int shuffle;         /* 1: random windows of the data (seeded); 0: consecutive windows from token 0 */
    uint64_t seed;       /* default 1337 */
    double tau, eta;     /* default 0.9, 0.9; each in (0, 1] */
    int span;            /* angular distance between x_l and x_{l+span} (default 1) */
    int keep_attention;  /* keep every head's attention of the first sequence (heat maps) */
} inh_analysis_opts;

typedef struct {
    int L, NH, T, seqs;          /* seqs: sequences accumulated so far */
    double tau, eta;
    int span;
    /* per layer and head (L, NH), means over sequences */
    float *rank, *mass, *sink, *entropy;
    int *rank_max;               /* largest k* seen on any sequence */
    /* per layer (L) */
    float *max_rank, *avg_mass, *sink_layer, *entropy_layer;
    float *block_influence, *angular_distance, *attn_importance;   /* angular: NaN past L - span */
    unsigned char *lazy, *dropped;   /* dropped: attention skipped (m->drop_attn), no attention metrics */
    int n_groups, *groups;       /* lazy groups [first, last] pairs, maximal, left to right */
    int lazy_from;               /* smallest s with floor MaxRank(s) = 1 and s..L-1 a lazy group; L if none */
    float loss;                  /* mean next-token loss of the analysed tokens (NaN without targets) */
    float *attention;            /* (L, NH, T, T) of the first sequence when keep_attention, else NULL */
    double seconds;              /* wall time of inh_analyze (forward passes included) */
    /* attention shortcuts (sc_n = 0 without them, or with m->drop_shortcut): where the last layer's
       shortcut attention goes. share: for each head, the fraction of its attention mass on each
       selected layer's keys (all positions together), mean over queries and sequences; entropy:
       of that share over the layers, in nats (0: one layer only; ln n: all alike) */
    int sc_n, sc_variant;
    int *sc_layer;               /* (sc_n) the selected layers, ascending */
    float *sc_share;             /* (NH, sc_n) */
    float *sc_entropy;           /* (NH) */
    float *sc_tokens;            /* (T, sc_n) first sequence: share per query position, mean over heads */
    double *sc_sum_;             /* private */
    double *sum_;                /* private running sums */
    double loss_sum_, loss_n_;
    char source[640];            /* for the reports' title: e.g. "model M.bin, data V.bin" ("" = none) */
    /* random-init baseline (inh_analysis_baseline; has_baseline 0 and both NULL without one):
       max_rank and avg_mass (L each) of inh_model_init(same config, baseline_seed) on the same
       windows. The post-softmax rank can read low even at random initialisation. */
    int has_baseline;
    uint64_t baseline_seed;
    float *baseline_max_rank, *baseline_avg_mass;
} inh_analysis;

INHDEF void inh_analysis_opts_default(inh_analysis_opts *o);
/* Streaming use: init, then after each inh_model_forward of B sequences of o->T tokens call add
   (it reads m->acts), then finish to turn sums into means. Memory does not grow with sequences. */
INHDEF int  inh_analysis_init(inh_analysis *a, const inh_model *m, const inh_analysis_opts *o);
INHDEF int  inh_analysis_add(inh_analysis *a, const inh_model *m);
INHDEF void inh_analysis_finish(inh_analysis *a);
INHDEF void inh_analysis_free(inh_analysis *a);
/* The whole pass over o->seqs windows of d (d's position and mode are restored). Checks tau, eta,
   T <= maxT and that d holds the windows. Layers with m->drop_attn set are analysed as skipped. */
INHDEF int  inh_analyze(inh_model *m, inh_data *d, const inh_analysis_opts *o, inh_analysis *a);
/* The baseline of a finished analysis a of m: the same analysis (o, the same windows of d) of a
   fresh model inh_model_init(&r, &m->cfg, seed) on the CPU, with m's threads, bf16 and
   drop_shortcut and no attention dropped; its max_rank and avg_mass go to a->baseline_* (freed
   by inh_analysis_free, replaced by a second call). m may live on any backend. */
INHDEF int  inh_analysis_baseline(inh_analysis *a, const inh_model *m, inh_data *d, const inh_analysis_opts *o, uint64_t seed);

/* Metric names: "attn_importance", "block_influence", "angular_distance", "max_rank", "avg_mass",
   "sink". order (L) receives the layers least important first: lowest value first, except sink
   (highest first: a layer that only looks at key 0 does little). Ties: lower attn_importance, then
   the later layer. Returns -1 for an unknown name. */
INHDEF int  inh_analysis_order(const inh_analysis *a, const char *metric, int *order);

/* Set m->drop_attn from a spec: "" or "none", a list "9,10,11", "last:K", or "auto:K[:METRIC]"
   (the K least important layers by METRIC, default attn_importance, from a short analysis of d:
   o, or if NULL min(32,...) random windows of min(maxT,128) tokens; d may be NULL otherwise). */
INHDEF int  inh_drop_attn_set(inh_model *m, const char *spec, inh_data *d, const inh_analysis_opts *o);

/* Loss and speed with attention dropped in k = 0..L layers, per curve: curve c drops the first k
   layers of orders[c*L ...] (orders: curves*L ints; names: curves strings). Loss: inh_eval_loss(B, T, nbatches), once per point. Speed: after an
   untimed warm-up run of every point, `repeats` passes time every point once each (a pass in
   alternating order, so slow drift of the machine touches every point alike); a timed run repeats
   the evaluation until it lasts INH_SWEEP_MIN_SECONDS. Points that drop the same set of layers
   (k = 0 and k = L of both curves) are measured once and shared. repeats = 0: losses only, no
   timing (tokens_per_s, speedup and spread NaN). m->drop_attn is restored. */
#ifndef INH_SWEEP_MIN_SECONDS
#define INH_SWEEP_MIN_SECONDS 0.05   /* a timed run repeats the evaluation until it lasts this long */
#endif
#ifndef INH_SWEEP_WIDE_SPREAD
#define INH_SWEEP_WIDE_SPREAD 0.10   /* a spread above this (10%) is reported as wide: a busy machine */
#endif
typedef struct {
    int L, curves;
    int repeats;                 /* timed runs per point (0: not timed) */
    int inner;                   /* evaluations per timed run */
    char names[2][48];           /* "last k", "auto: attn_importance" */
    int *order;                  /* (curves, L) */
    float *loss;                 /* (curves, L+1) */
    double *tokens_per_s;        /* (curves, L+1): B*T*nbatches / the median of `seconds` */
    double *speedup;             /* (curves, L+1): median over the passes of seconds(k=0) / seconds(k), both
                                    timed in the same pass (so 1 exactly at k = 0) */
    double *spread;              /* (curves, L+1): (max - min) / median of those ratios (NaN below 2 repeats) */
    double *seconds;             /* (curves, L+1, repeats): seconds of one evaluation, every pass */
    char source[640];            /* for the reports' title, as inh_analysis.source */
} inh_sweep;
INHDEF int  inh_drop_sweep(inh_model *m, inh_data *d, int B, int T, int nbatches, const int *orders, int curves,
                           const char *const *names, int repeats, inh_sweep *s);
/* the smallest and largest of the ratios behind s->speedup of point (c, k); 0 when not timed */
INHDEF int  inh_sweep_speedup_range(const inh_sweep *s, int c, int k, double *lo, double *hi);
INHDEF void inh_sweep_free(inh_sweep *s);

/* Reports, self-contained (no scripts, no fetched fonts; heat maps are embedded PNGs).
   layers/nlayers: the layers whose heads get heat maps (needs keep_attention); NULL = none. */
INHDEF int  inh_analysis_write_json(const inh_analysis *a, const char *path);
INHDEF int  inh_analysis_write_svg(const inh_analysis *a, const int *layers, int nlayers, const char *path);
INHDEF int  inh_analysis_write_html(const inh_analysis *a, const int *layers, int nlayers, const char *path);
INHDEF int  inh_sweep_write_svg(const inh_sweep *s, const char *path);
INHDEF int  inh_sweep_write_html(const inh_sweep *s, const char *path);
/* {"layers", "repeats", "inner", "wide_spread", "curves": [{"name", "points": [{"k", "layer", "loss",
   "tokens_per_s", "speedup", "spread", "wide", "seconds": [...]}]}]}; NaN as null */
INHDEF int  inh_sweep_write_json(const inh_sweep *s, const char *path);

/* ---------------------------------------------------------------------------------------------
   Inheritune recipe (arXiv 2404.08634, Algorithm 1): inherit the first l blocks of a reference,
   train, grow by two blocks until the validation loss matches the reference's. */

typedef enum { INH_INHERIT_PAPER = 0, INH_INHERIT_REPO = 1 } inh_inherit_mode;
/* dst (new) = the first `layers` blocks of ref with token and position embeddings, the final
   LayerNorm and the tied LM head (paper). Blocks keep their index, so 1/(layer+1) attention scaling
   is unchanged. INH_INHERIT_REPO re-initialises wpe and the final LayerNorm (seeded), as the
   authors' released GPT-2 code does.
   A reference with attention shortcuts passes on the shortcut sub-layer and the feature maps of
   the inherited layers that stay intermediate (below layers-1); with none left, dst is plain. */
INHDEF int inh_inherit(inh_model *dst, const inh_model *ref, int layers, int mode, uint64_t seed);
/* dst (new) = src with its blocks stacked twice: blocks 0..L-1, then 0..L-1 again (2L blocks).
   Shortcuts stay on the same (first-copy) layers. */
INHDEF int inh_stack(inh_model *dst, const inh_model *src);
/* dst (new) = src with attention shortcuts of the given variant (0: without them) on layers (a
   list as inh_config_set_shortcuts takes; NULL keeps src's selection, or every intermediate layer
   if src has none). Feature maps of layers src already has, and src's shortcut sub-layer, are
   kept; the rest is freshly initialised from seed as inh_model_init would. */
INHDEF int inh_model_with_shortcuts(inh_model *dst, const inh_model *src, int variant, const char *layers, uint64_t seed);
/* Distillation: with soft (B,T,Vp) teacher probabilities set, backward uses the gradient of
   (1-w) CE + w KL(teacher || model) at temperature 1. NULL turns it off. */
INHDEF void inh_model_set_distill(inh_model *m, const float *teacher_probs, float w);
/* Softmax over the first V of each row of (N, Vp) logits, into probs (padding columns 0). */
INHDEF void inh_softmax_rows(float *probs, const float *logits, int N, int V, int Vp);

#define INH_BASELINE_RANDOM 1    /* random initialisation at the final depth */
#define INH_BASELINE_FULL 2      /* the full-depth reference trained the same steps */
#define INH_BASELINE_STACK 4     /* half depth trained half the steps, stacked, trained on */
#define INH_BASELINE_DISTILL 8   /* random init at the final depth, 0.6 CE + 0.4 KL to the reference */

/* One run of the recipe handed to an external trainer (inh_recipe_opts.trainer), e.g. PyTorch under
   torchrun. The trainer starts from init_path (or continues from resume_path, its own state file from
   an interrupted attempt), trains train.steps steps with these options on train_path, keeps its
   state in state_path and writes the trained model, complete, to out_path (llm.c .bin). */
typedef struct {
    const char *run;             /* "round1_L4", "random", ... */
    const char *init_path;       /* the starting model, written by the recipe; NULL when resuming */
    const char *resume_path;     /* the state file of an interrupted attempt, or NULL */
    const char *state_path, *out_path, *train_path, *val_path;
    inh_train_opts train;        /* train.steps: this run's steps */
    int eval_every, eval_batches, save_every;
    int n_curve;                 /* validation points so far (kept across an interruption); the */
    int curve_step[256];         /* trainer may add its own (optional: the recipe evaluates the */
    float curve_loss[256];       /* final model itself) */
    char message[256];           /* the trainer's reason for a failure */
} inh_recipe_job;
/* Returns 0 once out_path holds the trained model; non-zero (message set) on failure. */
typedef int (*inh_recipe_trainer_fn)(void *user, inh_recipe_job *job);

typedef struct {
    const char *ref_path, *train_path, *val_path, *out_dir;
    int start;                   /* first target depth; 0 = L/2 (paper); -1 = auto (lazy-layer analysis) */
    int grow;                    /* layers added per round (default 2) */
    int mode;                    /* inh_inherit_mode */
    inh_train_opts train;        /* every run: fresh optimizer and schedule; train.steps = budget per run */
    int eval_every, eval_batches, save_every, threads;
    int baselines;               /* INH_BASELINE_* bits */
    inh_recipe_trainer_fn trainer;  /* NULL: the built-in trainer; else every run (and baseline) is */
    void *trainer_user;             /* handed to it; the distill baseline cannot be (it needs the
                                       reference's predictions at every step) */
    int fresh;                   /* 1: delete the runs of an earlier recipe in out_dir first */
    int shortcuts;               /* INH_SC_*: every run of 2+ layers trains with attention shortcuts on
                                    layers 0..l-2 (0: as the reference) */
    const struct inh_backend *backend;  /* where every model trains and is evaluated (NULL: the CPU) */
    void *backend_ctx;
} inh_recipe_opts;

typedef struct {
    char name[32];               /* "round1", ..., "random", "full", "stack", "distill" */
    int layers, steps, n_curve;
    size_t params;
    float val_loss;
    double seconds;
    int curve_step[256];         /* validation curve */
    float curve_loss[256];
    int stacked_at;              /* the stack baseline: the step where the half-depth phase ended and the
                                    model was stacked (its curve and time cover both phases); else 0 */
} inh_recipe_run_result;

typedef struct {
    float ref_val_loss;
    int ref_layers, start_layers, final_layers, matched, n_runs;
    size_t ref_params;
    char start_rule[160];
    inh_recipe_run_result runs[48];
    char source[640];            /* "reference R, data D, validation V" (set by inh_recipe_run) */
} inh_recipe_result;

typedef struct {
    const char *run;             /* name of the run in progress */
    int step, steps;             /* in this run */
    float loss, val_loss;        /* val_loss: NaN unless this event is an evaluation */
    double tok_per_s, run_left_s, total_left_s;
} inh_recipe_progress;
/* Called after every step; return non-zero to stop: the run's state is saved first, so the same
   call resumes there later, and inh_recipe_run returns -1 with "stopped" in inh_error(). */
typedef int (*inh_recipe_progress_fn)(void *user, const inh_recipe_progress *p);

INHDEF void inh_recipe_opts_default(inh_recipe_opts *o);
/* Runs the loop and the baselines, writing into out_dir: each run's model NAME.bin, its state
   NAME.state while it trains (every save_every steps), a journal of finished runs (recipe.log), and
   the reports. Run again with the same out_dir after an interruption: finished runs are read back,
   an unfinished one resumes from its last saved step, exactly. out_dir/settings.txt records what
   defines the runs (key=value lines: training settings, identities of the reference and the data);
   a run with other settings is refused naming the first that differs (o->fresh starts over). A
   lock (fcntl on out_dir/recipe.lock, dropped by the OS when the process ends) refuses a second
   recipe in the same directory while one runs. */
INHDEF int inh_recipe_run(const inh_recipe_opts *o, inh_recipe_progress_fn fn, void *user, inh_recipe_result *r);
INHDEF int inh_recipe_write_json(const inh_recipe_result *r, const char *path);
/* Validation curves of every run against the reference's loss, and the final table (SVG in HTML). */
INHDEF int inh_recipe_write_svg(const inh_recipe_result *r, const char *path);
/* A training run's loss curve as a standalone SVG: n training losses at 1-based steps (averaged
   in bins when there are many; non-finite ones left out) and nv validation losses (points with
   their exact values as tooltips). title: one line at the top (e.g. the model and data files). */
INHDEF int inh_write_loss_svg(const char *path, const char *title, const int *step, const float *loss, int n,
                              const int *vstep, const float *vloss, int nv);
INHDEF int inh_recipe_write_html(const inh_recipe_result *r, const char *path);


#ifdef __cplusplus
}
#endif
#endif /* INHERITUNE_H */

/* =============================================================================================
   Implementation
   ============================================================================================= */
#ifdef INHERITUNE_IMPLEMENTATION
#ifndef INHERITUNE_IMPLEMENTATION_DONE
#define INHERITUNE_IMPLEMENTATION_DONE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <math.h>
#include <errno.h>
#include <limits.h>
#include <time.h>
/* --- the vector mapping: the one place with intrinsics ---------------------------------------
   One table per instruction set, the widest the compiler targets: INH__ISA names it (what bench
   prints), INH__VW is its float lanes (0: none, plain loops only), inh__vf its vector. Kernels are
   written once over these names. What a set has that the others lack is one more entry here
   (AVX-512's scalef in e^x; a set without a fused multiply-add multiplies, then adds).
     inh__vset(f) inh__vld(p) inh__vst(p, v)           broadcast, unaligned load and store
     inh__vadd inh__vsub inh__vmul inh__vdiv            lane-wise
     inh__vfma(a, b, c) = a*b + c, inh__vfnma(a, b, c) = c - a*b   (fused where the set fuses;
                                                        INH__VFMA_UNFUSED where it does not)
     inh__vmax inh__vmin inh__vsqrt inh__vround         (round: to nearest even)
     inh__vsel_absgt(x, t, a, b)                        b where |x| > t, else a
     inh__vldexp(p, n)                                  p * 2^n, n integral in [-150, 128]
     inh__vzero_lt(x, t, p)                             0 where x < t, else p (NaN x: p)
     inh__vexp(x)                                       e^x (below)
     inh__vtr(r)                                        r[0..INH__VW) rows, in place: then columns
     inh__prefetch(p)                                   the cache line at p wanted soon (or nothing)
     inh__vdsum d; inh__vdsum_zero(d); inh__vdsum_add(d, v, p): lane l of v (also stored at p) added
     to a double (l and l + INH__VW/2 to the same one); inh__vdsum_halves(t, d): those INH__VW/2 doubles into t
   INH__VATT: vectors per chain in the attention kernels, as many as the registers hold;
   INH__MM_MR x INH__MM_NR: the matmul micro-kernel's tile of C in registers.
   Entries only some sets have (each with a plain-C path where it is missing):
     inh__vld_first(p, n) inh__vst_first(p, n, v)       the first n lanes (the rest read as 0)   AVX-512
     inh__vbf16_round(x) (INH__VBF16_ROUND)             to bf16 as inh__bf16_round                AVX-512
     inh__vsumsq(x, n, acc) (INH__VSUMSQ)               sums of squares in double into acc[0..8),
                                                        returns how many of x it took             AVX-512, AVX2
     with a dot product of bf16 pairs (AVX-512 BF16; INH__ISA_EXT names it): inh__vbf (a pair a
     lane), inh__vbf_ld(p), inh__vbf_st(p, x), inh__vbf_set(word), inh__vbf_as_vf(x),
     inh__vdpbf(c, a, b) = c + a.lo b.lo + a.hi b.hi, inh__vbf_pairs(p) = (p[2l], p[2l+1]),
     inh__vbf_zip(lo, hi) = (lo[l], hi[l]). */
#if defined(__AVX512F__)
#include <immintrin.h>
#define INH__ISA "avx512"
#define INH__VW 16
#define INH__VATT 4      /* attention: vectors per chain (two rows x two chains x 4 + 5 of the 32 registers) */
#define INH__MM_MR 8     /* matmul: the register block MR x NR (24 accumulators, 3 of B, 1 of A) */
#define INH__MM_NR 48
typedef __m512 inh__vf;
#define inh__vset _mm512_set1_ps
#define inh__vld _mm512_loadu_ps
#define inh__vst _mm512_storeu_ps
#define inh__vadd _mm512_add_ps
#define inh__vsub _mm512_sub_ps
#define inh__vmul _mm512_mul_ps
#define inh__vdiv _mm512_div_ps
#define inh__vfma _mm512_fmadd_ps
#define inh__vfnma _mm512_fnmadd_ps
/* (the all-ones maskz forms: the plain ones trip g++ 12's -Wmaybe-uninitialized in C++) */
#define inh__vmax(a, b) _mm512_maskz_max_ps(0xFFFF, a, b)
#define inh__vmin(a, b) _mm512_maskz_min_ps(0xFFFF, a, b)
#define inh__vsqrt(x) _mm512_maskz_sqrt_ps(0xFFFF, x)
#define inh__vround(x) _mm512_maskz_roundscale_ps(0xFFFF, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define inh__vsel_absgt(x, t, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(x), inh__vset(t), _CMP_GT_OQ), a, b)
#define inh__vldexp(p, n) _mm512_maskz_scalef_ps(0xFFFF, p, n)   /* exact to the last subnormal: no clamp needed */
#define inh__vzero_lt(x, t, p) (p)
#define inh__prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define inh__vld_first(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define inh__vst_first(p, n, v) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define INH__VBF16_ROUND 1
static inline __m512 inh__vbf16_round(__m512 x) {   /* as inh__bf16_round: NaN quieted, subnormals kept */
    __m512i u = _mm512_castps_si512(x);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_maskz_srli_epi32(0xFFFF, u, 16), _mm512_set1_epi32(1))));
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
    return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u)));
}
#define INH__VSUMSQ 1
static inline size_t inh__vsumsq(const float *x, size_t n, double *acc) {
    __m512d v[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            __m512d y = _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(x + i + 8 * l));
            v[l] = _mm512_fmadd_pd(y, y, v[l]);
        }
    _mm512_storeu_pd(acc, _mm512_add_pd(_mm512_add_pd(v[0], v[1]), _mm512_add_pd(v[2], v[3])));
    return i;
}
static inline void inh__vtr(__m512 *r) {
    __m512 u[16], p[16];
    /* (the all-ones maskz forms: the plain ones trip g++ 12's -Wmaybe-uninitialized) */
    for (int i = 0; i < 16; i += 2) {
        u[i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[i], r[i + 1]);
        u[i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int h = 0; h < 2; h++) {
            __m512d x = _mm512_castps_pd(u[i + h]), y = _mm512_castps_pd(u[i + h + 2]);
            p[i + 2 * h] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, x, y));
            p[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, x, y));
        }
    /* p[4q + e] holds, in 128-bit lane l, column 4l + e of rows 4q..4q+3 */
    for (int e = 0; e < 4; e++) {
        __m512 p0 = _mm512_maskz_shuffle_f32x4(0xFFFF, p[e], p[4 + e], 0x88);
        __m512 p1 = _mm512_maskz_shuffle_f32x4(0xFFFF, p[e], p[4 + e], 0xdd);
        __m512 p2 = _mm512_maskz_shuffle_f32x4(0xFFFF, p[8 + e], p[12 + e], 0x88);
        __m512 p3 = _mm512_maskz_shuffle_f32x4(0xFFFF, p[8 + e], p[12 + e], 0xdd);
        r[e] = _mm512_maskz_shuffle_f32x4(0xFFFF, p0, p2, 0x88);
        r[e + 8] = _mm512_maskz_shuffle_f32x4(0xFFFF, p0, p2, 0xdd);
        r[e + 4] = _mm512_maskz_shuffle_f32x4(0xFFFF, p1, p3, 0x88);
        r[e + 12] = _mm512_maskz_shuffle_f32x4(0xFFFF, p1, p3, 0xdd);
    }
}
typedef struct { __m512d lo, hi; } inh__vdsum;   /* lane l of the adds in a double; see inh__exp_sum */
#define inh__vdsum_zero(d) ((d).lo = _mm512_setzero_pd(), (d).hi = (d).lo)
/* (the halves from memory: g++ 12's -Wmaybe-uninitialized trips on the register extracts in C++) */
#define inh__vdsum_add(d, v, p) ((d).lo = _mm512_add_pd((d).lo, _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p))), \
                                 (d).hi = _mm512_add_pd((d).hi, _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps((p) + 8))))
#define inh__vdsum_halves(t, d) _mm512_storeu_pd(t, _mm512_add_pd((d).lo, (d).hi))
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define INH__ISA "avx2"
#define INH__VW 8
#define INH__VATT 3      /* (2 x 2 x 3 + 5 = 17 of the 16 registers: one spilled, yet the forward 1.1-1.2x that of 2 at hs 64, bench_attention) */
#define INH__MM_MR 6     /* (12 accumulators, 2 of B, 1 of A: 15 of the 16 registers) */
#define INH__MM_NR 16
typedef __m256 inh__vf;
#define inh__vset _mm256_set1_ps
#define inh__vld _mm256_loadu_ps
#define inh__vst _mm256_storeu_ps
#define inh__vadd _mm256_add_ps
#define inh__vsub _mm256_sub_ps
#define inh__vmul _mm256_mul_ps
#define inh__vdiv _mm256_div_ps
#define inh__vfma _mm256_fmadd_ps
#define inh__vfnma _mm256_fnmadd_ps
#define inh__vmax _mm256_max_ps
#define inh__vmin _mm256_min_ps
#define inh__vsqrt _mm256_sqrt_ps
#define inh__vround(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define inh__vsel_absgt(x, t, a, b) \
    _mm256_blendv_ps(a, b, _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), inh__vset(t), _CMP_GT_OQ))
static inline __m256 inh__vldexp(__m256 p, __m256 n) {   /* 2^n in two halves: subnormals and inf as they should be */
    __m256i e = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(e, 1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(e, h), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
#define inh__vzero_lt(x, t, p) _mm256_andnot_ps(_mm256_cmp_ps(x, inh__vset(t), _CMP_LT_OQ), p)
#define inh__prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#define INH__VSUMSQ 1
static inline size_t inh__vsumsq(const float *x, size_t n, double *acc) {
    __m256d v[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 4; l++) {
            __m256d y = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * l));
            v[l] = _mm256_fmadd_pd(y, y, v[l]);
        }
    _mm256_storeu_pd(acc, _mm256_add_pd(v[0], v[1]));
    _mm256_storeu_pd(acc + 4, _mm256_add_pd(v[2], v[3]));
    return i;
}
static inline void inh__vtr(__m256 *r) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) { t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); }
    for (int i = 0; i < 8; i += 4) {   /* u[i + e] holds, in 128-bit half l, column 4l + e of rows i..i+3 */
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44); u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44); u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int e = 0; e < 4; e++) { r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20); r[e + 4] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31); }
}
typedef struct { __m256d lo, hi; } inh__vdsum;
#define inh__vdsum_zero(d) ((d).lo = _mm256_setzero_pd(), (d).hi = (d).lo)
#define inh__vdsum_add(d, v, p) ((d).lo = _mm256_add_pd((d).lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v))), \
                              (d).hi = _mm256_add_pd((d).hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))))
#define inh__vdsum_halves(t, d) _mm256_storeu_pd(t, _mm256_add_pd((d).lo, (d).hi))
#elif defined(__aarch64__) && defined(__ARM_NEON) && !defined(INH_NO_NEON)
#include <arm_neon.h>
#define INH__ISA "neon"
#define INH__VW 4
#define INH__VATT 4      /* (32 registers) */
#define INH__MM_MR 6     /* (18 accumulators, 3 of B, 6 of A: 8 x 12 spilled, 3.0 against 3.2 FLOP per instruction, bench/neon_count.sh) */
#define INH__MM_NR 12
typedef float32x4_t inh__vf;
#define inh__vset vdupq_n_f32
#define inh__vld vld1q_f32
#define inh__vst vst1q_f32
#define inh__vadd vaddq_f32
#define inh__vsub vsubq_f32
#define inh__vmul vmulq_f32
#define inh__vdiv vdivq_f32
#define inh__vfma(a, b, c) vfmaq_f32(c, a, b)
#define inh__vfnma(a, b, c) vfmsq_f32(c, a, b)
#define inh__vmax vmaxq_f32
#define inh__vmin vminq_f32
#define inh__vsqrt vsqrtq_f32
#define inh__vround vrndnq_f32
#define inh__vsel_absgt(x, t, a, b) vbslq_f32(vcagtq_f32(x, vdupq_n_f32(t)), b, a)
static inline float32x4_t inh__vldexp(float32x4_t p, float32x4_t n) {
    int32x4_t e = vcvtnq_s32_f32(n), h = vshrq_n_s32(e, 1);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(h, vdupq_n_s32(127)), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(e, h), vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}
#define inh__vzero_lt(x, t, p) vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(p), vcltq_f32(x, vdupq_n_f32(t))))
#define inh__prefetch(p) ((void)(p))   /* (not measured on an ARM core: none here) */
static inline void inh__vtr(float32x4_t *r) {
    float32x4x2_t p = vtrnq_f32(r[0], r[1]), q = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(p.val[0]), vget_low_f32(q.val[0]));
    r[1] = vcombine_f32(vget_low_f32(p.val[1]), vget_low_f32(q.val[1]));
    r[2] = vcombine_f32(vget_high_f32(p.val[0]), vget_high_f32(q.val[0]));
    r[3] = vcombine_f32(vget_high_f32(p.val[1]), vget_high_f32(q.val[1]));
}
typedef struct { float64x2_t lo, hi; } inh__vdsum;
#define inh__vdsum_zero(d) ((d).lo = vdupq_n_f64(0.0), (d).hi = (d).lo)
#define inh__vdsum_add(d, v, p) ((d).lo = vaddq_f64((d).lo, vcvt_f64_f32(vget_low_f32(v))), (d).hi = vaddq_f64((d).hi, vcvt_high_f64_f32(v)))
#define inh__vdsum_halves(t, d) vst1q_f64(t, vaddq_f64((d).lo, (d).hi))
#elif defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define INH__ISA "simd128"
#define INH__VW 4
#define INH__VATT 2      /* (the 16 xmm registers V8 has on x86-64) */
#define INH__MM_MR 4     /* (8 accumulators: V8 spills a 6-row tile's 12, 1.7x the matmul) */
#define INH__MM_NR 8
typedef v128_t inh__vf;
#define inh__vset wasm_f32x4_splat
#define inh__vld(p) wasm_v128_load(p)
#define inh__vst(p, v) wasm_v128_store(p, v)
#define inh__vadd wasm_f32x4_add
#define inh__vsub wasm_f32x4_sub
#define inh__vmul wasm_f32x4_mul
#define inh__vdiv wasm_f32x4_div
/* no fused multiply-add (relaxed SIMD's may or may not fuse: not deterministic): multiply, then add */
#define INH__VFMA_UNFUSED 1
#define inh__vfma(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#define inh__vfnma(a, b, c) wasm_f32x4_sub(c, wasm_f32x4_mul(a, b))
#define inh__vmax wasm_f32x4_max
#define inh__vmin wasm_f32x4_min
#define inh__vsqrt wasm_f32x4_sqrt
#define inh__vround wasm_f32x4_nearest
#define inh__vsel_absgt(x, t, a, b) wasm_v128_bitselect(b, a, wasm_f32x4_gt(wasm_f32x4_abs(x), wasm_f32x4_splat(t)))
static inline v128_t inh__vldexp(v128_t p, v128_t n) {
    v128_t e = wasm_i32x4_trunc_sat_f32x4(n), h = wasm_i32x4_shr(e, 1);
    v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(h, wasm_i32x4_splat(127)), 23);
    v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(e, h), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
}
#define inh__vzero_lt(x, t, p) wasm_v128_andnot(p, wasm_f32x4_lt(x, wasm_f32x4_splat(t)))
#define inh__prefetch(p) ((void)(p))   /* (WebAssembly has no prefetch) */
static inline void inh__vtr(v128_t *r) {
    v128_t t0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7);
    v128_t t2 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
    r[0] = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5); r[1] = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
    r[2] = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5); r[3] = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}
typedef struct { v128_t lo, hi; } inh__vdsum;
#define inh__vdsum_zero(d) ((d).lo = wasm_f64x2_splat(0.0), (d).hi = (d).lo)
#define inh__vdsum_add(d, v, p) ((d).lo = wasm_f64x2_add((d).lo, wasm_f64x2_promote_low_f32x4(v)), \
                              (d).hi = wasm_f64x2_add((d).hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1))))
#define inh__vdsum_halves(t, d) wasm_v128_store(t, wasm_f64x2_add((d).lo, (d).hi))
#else
#define INH__ISA "scalar"
#define INH__VW 0
#endif
#if defined(__AVX512F__) && defined(__AVX512BF16__) && defined(__AVX512BW__)
#define INH__ISA_EXT " avx512bf16"    /* the bf16 matmul's dot-product instruction: */
#define INH__VBF 1
typedef __m512bh inh__vbf;            /* a pair of bf16 a lane (the low one first) */
#define inh__vbf_ld(p) ((__m512bh)_mm512_load_si512(p))
#define inh__vbf_set(w) ((__m512bh)_mm512_set1_epi32((int)(w)))
#define inh__vdpbf(c, a, b) _mm512_dpbf16_ps(c, a, b)   /* c + a.lo b.lo + a.hi b.hi, lane-wise */
#define inh__vbf_st(p, x) _mm512_storeu_si512(p, (__m512i)(x))
#define inh__vbf_as_vf(x) ((__m512)(x))
#define inh__vbf_pairs(p) _mm512_cvtne2ps_pbh(_mm512_loadu_ps((p) + 16), _mm512_loadu_ps(p))   /* (p[2l], p[2l+1]) */
static inline __m512bh inh__vbf_zip(__m512 lo, __m512 hi) {                                /* (lo[l], hi[l]) */
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return (__m512bh)_mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}
#else
#define INH__ISA_EXT ""
#endif

/* e^x on vectors, for softmax rows, attention rows and GELU. x = n ln2 + r, |r| <= ln2/2,
   e^r = 1 + r + r^2 P(r) with Cephes' degree-5 expf polynomial (about 1 ulp), times 2^n.
   Inputs are clamped to [-104, 89] first (beyond that e^x is 0 or inf in float32 anyway);
   the clamps keep NaN a NaN. Elsewhere plain expf. */
#if INH__VW
static inline inh__vf inh__vexp(inh__vf x) {
    inh__vf c = inh__vmax(inh__vset(-104.0f), inh__vmin(inh__vset(89.0f), x));
    inh__vf n = inh__vround(inh__vmul(c, inh__vset(1.44269504088896341f)));
    inh__vf r = inh__vfnma(n, inh__vset(0.693359375f), c);
    r = inh__vfnma(n, inh__vset(-2.12194440e-4f), r);
    inh__vf p = inh__vset(1.9875691500e-4f);
    p = inh__vfma(p, r, inh__vset(1.3981999507e-3f));
    p = inh__vfma(p, r, inh__vset(8.3334519073e-3f));
    p = inh__vfma(p, r, inh__vset(4.1665795894e-2f));
    p = inh__vfma(p, r, inh__vset(1.6666665459e-1f));
    p = inh__vfma(p, r, inh__vset(5.0000001201e-1f));
    p = inh__vfma(inh__vmul(p, r), r, inh__vadd(r, inh__vset(1.0f)));
    return inh__vzero_lt(x, -104.0f, inh__vldexp(p, n));
}
#endif

/* the platform's headers (the Platform section below says what each OS gets) */
#if defined(__wasi__) && !defined(INH_NO_THREADS)
#define INH_NO_THREADS                 /* wasi-libc without the threads proposal */
#endif
#if defined(INH_NO_STDIO)
#define INH__OS_NONE 1
#elif defined(_WIN32)
#define INH__OS_WIN 1
#else
#define INH__OS_POSIX 1
#endif

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0601
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0601          /* Windows 7: SRW locks, condition variables */
#endif
#include <windows.h>
#include <shellapi.h>                /* CommandLineToArgvW (shell32: in MinGW's default libraries) */
#include <io.h>
#include <sys/types.h>
#include <sys/stat.h>
#elif !defined(INH_NO_STDIO)
#include <sys/types.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#if !defined(__wasi__)
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <signal.h>
#endif
#if defined(INH__POSIX_LATE) && !defined(__cplusplus)
/* _POSIX_C_SOURCE came after the program's first libc header (see the top of the file): the POSIX
   calls used here, as POSIX declares them (a repeated declaration is harmless; the names in
   parentheses are safe from a libc's macros). Calls with an off_t are avoided instead (fseek, write),
   as off_t's width then depends on what the program chose. C++ compilers see all of POSIX anyway. */
int (fileno)(FILE *);
int (fsync)(int);
#if !defined(__wasi__)
FILE *(popen)(const char *, const char *);
int (pclose)(FILE *);
int (kill)(pid_t, int);
#endif
#endif
#endif
#if !defined(INH_NO_THREADS) && !defined(_WIN32)
#include <pthread.h>
#include <sched.h>
#endif


#if defined(INH_MALLOC) && defined(INH_FREE) && defined(INH_REALLOC)
#elif !defined(INH_MALLOC) && !defined(INH_FREE) && !defined(INH_REALLOC)
#define INH_MALLOC(n) malloc(n)
#define INH_REALLOC(p, n) realloc(p, n)
#define INH_FREE(p) free(p)
#else
#error "define all of INH_MALLOC, INH_REALLOC and INH_FREE, or none"
#endif

/* printf-style checking of format strings (MinGW's C99 printf is "gnu_printf" to the compiler) */
#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
#define INH__PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__) || defined(__clang__)
#define INH__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INH__PRINTF(f, a)
#endif
/* private functions: static, and quiet when a translation unit does not use them */
#if defined(__GNUC__) || defined(__clang__)
#define INH__FN static __attribute__((unused))
#else
#define INH__FN static
#endif

/* a kernel body inlined where it is called with constant arguments (its loops unrolled into registers) */
#if defined(__GNUC__) || defined(__clang__)
#define INH__INLINE static inline __attribute__((always_inline))
#else
#define INH__INLINE static inline
#endif

/* the loop after it unrolled whole: a loop over a kernel's registers (an array of vectors, kept in
   registers once unrolled) */
#if defined(__GNUC__) || defined(__clang__)
#define INH__UNROLL _Pragma("GCC unroll 16")
#else
#define INH__UNROLL
#endif

/* no-alias pointers for the inner loops (C99 restrict; the C++ compilers' spelling) */
#if defined(__GNUC__) || defined(__clang__)
#define INH__RESTRICT __restrict
#else
#define INH__RESTRICT
#endif

#ifdef __cplusplus
#define INH__CAST(T, x) ((T)(x))
#else
#define INH__CAST(T, x) (x)
#endif
/* typed allocation: n elements of type T, NULL on overflow or failure (C++-safe) */
#define INH__ALLOC(T, n) ((T *)inh__alloc((size_t)(n), sizeof(T)))
#define INH__CALLOC(T, n) ((T *)inh__calloc((size_t)(n), sizeof(T)))

/* ---------------------------------------------------------------------------------------------
   Utilities */

static char inh__errbuf[1024];

INHDEF const char *inh_error(void) { return inh__errbuf; }

/* Set the error message (printf-style) and return -1, so failures read `return inh__fail(...)`. */
INH__PRINTF(1, 2)
INH__FN int inh__fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inh__errbuf, sizeof inh__errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

INH__FN void *inh__alloc(size_t n, size_t size) {
    if (size && n > (size_t)-1 / size) { inh__fail("allocation of %zu x %zu bytes overflows", n, size); return NULL; }
    size_t bytes = n * size;
    void *p = INH_MALLOC(bytes > 0 ? bytes : 1);
    if (!p) inh__fail("out of memory allocating %zu bytes", n * size);
    return p;
}
INH__FN size_t inh__strnlen(const char *s, size_t max) { size_t n = 0; while (n < max && s[n]) n++; return n; }
INH__FN void *inh__calloc(size_t n, size_t size) {
    void *p = inh__alloc(n, size);
    if (p) memset(p, 0, n * size);
    return p;
}
/* The model's big blocks (parameters, gradients, moments, activations) start on a 64-byte line:
   malloc gives 16 bytes past a page for them, and every 64-byte vector load that straddles two
   lines costs two (attention at T=1024 ran 1.5x slower). The pointer malloc gave is kept in the
   line before; inh__free_lines releases it. Zeroed. */
INH__FN void *inh__alloc_lines(size_t bytes) {
    if (bytes > (size_t)-1 - 128) { inh__fail("allocation of %zu bytes overflows", bytes); return NULL; }
    unsigned char *raw = (unsigned char *)INH_MALLOC(bytes + 128);
    if (!raw) { inh__fail("out of memory allocating %zu bytes", bytes); return NULL; }
    unsigned char *p = raw + 64 + (64 - (uintptr_t)raw % 64) % 64;
    memcpy(p - sizeof raw, &raw, sizeof raw);
    memset(p, 0, bytes);
    return p;
}
INH__FN void inh__free_lines(void *p) {
    if (!p) return;
    void *raw;
    memcpy(&raw, (unsigned char *)p - sizeof raw, sizeof raw);
    INH_FREE(raw);
}
/* optional scratch inside worker threads: no message (the error text is one buffer, and the
   caller falls back to a way that needs no scratch); n floats, zeroed */
INH__FN float *inh__scratch(size_t n) {
    float *p = n <= (size_t)-1 / sizeof(float) ? (float *)INH_MALLOC(n * sizeof(float)) : NULL;
    if (p) memset(p, 0, n * sizeof(float));
    return p;
}

/* ---------------------------------------------------------------------------------------------
   Platform: every call to the operating system lives in this section; the rest of the file calls
   only the inh__os_* functions and the inh__mutex/cond/thread shim below.
     POSIX (Linux, macOS, BSD): pthreads, clock_gettime, fcntl locks, popen.
     Windows (MinGW-w64, MSVC): Win32 threads, SRW locks and condition variables, UTF-8 paths
       converted to UTF-16 for every call (so C:\Users\Zoë\ works), MoveFileExW to replace a file.
     WASI (wasm32-wasi): one thread, no processes, no locks (one program at a time anyway).
     INH_NO_STDIO: no files, directories or processes at all (a board without a file system): the
       path-based calls fail with a message and the memory-based ones (inh_model_load_memory, ...)
       are the way in and out. */
/* --- threads: a mutex, a condition variable and a thread, on pthreads or Win32 ------------------ */
#ifndef INH_NO_THREADS
#if defined(_WIN32)
typedef SRWLOCK inh__mutex;
typedef CONDITION_VARIABLE inh__cond;
typedef HANDLE inh__thread;
#define INH__MUTEX_INIT SRWLOCK_INIT
#define INH__COND_INIT CONDITION_VARIABLE_INIT
#define INH__THREAD_FN(name) static DWORD WINAPI name(LPVOID arg)
typedef LPTHREAD_START_ROUTINE inh__thread_fn;
INH__FN void inh__mutex_init(inh__mutex *m) { InitializeSRWLock(m); }
INH__FN void inh__cond_init(inh__cond *c) { InitializeConditionVariable(c); }
INH__FN void inh__lock(inh__mutex *m) { AcquireSRWLockExclusive(m); }
INH__FN int inh__trylock(inh__mutex *m) { return TryAcquireSRWLockExclusive(m) ? 0 : -1; }
INH__FN void inh__unlock(inh__mutex *m) { ReleaseSRWLockExclusive(m); }
INH__FN void inh__cond_wait(inh__cond *c, inh__mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
INH__FN void inh__cond_signal(inh__cond *c) { WakeConditionVariable(c); }
INH__FN void inh__cond_broadcast(inh__cond *c) { WakeAllConditionVariable(c); }
INH__FN int inh__thread_start(inh__thread *t, inh__thread_fn fn, void *arg) {
    *t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
INH__FN void inh__thread_join(inh__thread t) { WaitForSingleObject(t, INFINITE); CloseHandle(t); }
INH__FN void inh__on_fork_child(void (*fn)(void)) { (void)fn; }   /* no fork() on Windows */
#else
typedef pthread_mutex_t inh__mutex;
typedef pthread_cond_t inh__cond;
typedef pthread_t inh__thread;
#define INH__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define INH__COND_INIT PTHREAD_COND_INITIALIZER
#define INH__THREAD_FN(name) static void *name(void *arg)
typedef void *(*inh__thread_fn)(void *);
INH__FN void inh__mutex_init(inh__mutex *m) { pthread_mutex_init(m, NULL); }
INH__FN void inh__cond_init(inh__cond *c) { pthread_cond_init(c, NULL); }
INH__FN void inh__lock(inh__mutex *m) { pthread_mutex_lock(m); }
INH__FN int inh__trylock(inh__mutex *m) { return pthread_mutex_trylock(m) == 0 ? 0 : -1; }
INH__FN void inh__unlock(inh__mutex *m) { pthread_mutex_unlock(m); }
INH__FN void inh__cond_wait(inh__cond *c, inh__mutex *m) { pthread_cond_wait(c, m); }
INH__FN void inh__cond_signal(inh__cond *c) { pthread_cond_signal(c); }
INH__FN void inh__cond_broadcast(inh__cond *c) { pthread_cond_broadcast(c); }
INH__FN int inh__thread_start(inh__thread *t, inh__thread_fn fn, void *arg) { return pthread_create(t, NULL, fn, arg) == 0 ? 0 : -1; }
INH__FN void inh__thread_join(inh__thread t) { pthread_join(t, NULL); }
INH__FN void inh__on_fork_child(void (*fn)(void)) { pthread_atfork(NULL, NULL, fn); }
#endif
/* giving the core away for a moment: to another thread of this program, or whoever is waiting */
INH__FN void inh__os_yield(void) {
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}
/* Atomics for the pool's counters, all sequentially consistent (the pool's sleep/wake handshakes
   are store-then-load on two variables, which needs that order). GCC and clang (MinGW too): the
   __atomic builtins; MSVC: the Interlocked functions; any other compiler: one mutex. */
#if defined(__GNUC__) || defined(__clang__)
INH__FN uint64_t inh__a_ld64(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
INH__FN void inh__a_st64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
INH__FN int inh__a_cas64(uint64_t *p, uint64_t *expect, uint64_t want) {
    return __atomic_compare_exchange_n(p, expect, want, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
INH__FN int inh__a_ld(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
INH__FN void inh__a_st(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
INH__FN int inh__a_add(int *p, int d) { return __atomic_add_fetch(p, d, __ATOMIC_SEQ_CST); }
#if defined(__x86_64__) || defined(__i386__)
#define INH__PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define INH__PAUSE() __asm__ __volatile__("yield")
#endif
#elif defined(_MSC_VER)
INH__FN uint64_t inh__a_ld64(uint64_t *p) { return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, 0, 0); }
INH__FN void inh__a_st64(uint64_t *p, uint64_t v) { InterlockedExchange64((volatile LONG64 *)p, (LONG64)v); }
INH__FN int inh__a_cas64(uint64_t *p, uint64_t *expect, uint64_t want) {
    uint64_t was = (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, (LONG64)want, (LONG64)*expect);
    if (was == *expect) return 1;
    *expect = was;
    return 0;
}
INH__FN int inh__a_ld(int *p) { return (int)InterlockedCompareExchange((volatile LONG *)p, 0, 0); }
INH__FN void inh__a_st(int *p, int v) { InterlockedExchange((volatile LONG *)p, (LONG)v); }
INH__FN int inh__a_add(int *p, int d) { return (int)InterlockedExchangeAdd((volatile LONG *)p, (LONG)d) + d; }
#define INH__PAUSE() YieldProcessor()
#else
static inh__mutex inh__a_mu = INH__MUTEX_INIT;
INH__FN uint64_t inh__a_ld64(uint64_t *p) { inh__lock(&inh__a_mu); uint64_t v = *p; inh__unlock(&inh__a_mu); return v; }
INH__FN void inh__a_st64(uint64_t *p, uint64_t v) { inh__lock(&inh__a_mu); *p = v; inh__unlock(&inh__a_mu); }
INH__FN int inh__a_cas64(uint64_t *p, uint64_t *expect, uint64_t want) {
    inh__lock(&inh__a_mu);
    int ok = *p == *expect;
    if (ok) *p = want; else *expect = *p;
    inh__unlock(&inh__a_mu);
    return ok;
}
INH__FN int inh__a_ld(int *p) { inh__lock(&inh__a_mu); int v = *p; inh__unlock(&inh__a_mu); return v; }
INH__FN void inh__a_st(int *p, int v) { inh__lock(&inh__a_mu); *p = v; inh__unlock(&inh__a_mu); }
INH__FN int inh__a_add(int *p, int d) { inh__lock(&inh__a_mu); int v = *p += d; inh__unlock(&inh__a_mu); return v; }
#endif
#ifndef INH__PAUSE
#define INH__PAUSE() ((void)0)
#endif
#endif

/* --- Windows: UTF-8 paths to UTF-16 ------------------------------------------------------------ */
#if defined(INH__OS_WIN)
/* path as UTF-16 into w (cap wide chars); 0, or -1 with errno (ENAMETOOLONG, EILSEQ) */
INH__FN int inh__os_wide(const char *path, wchar_t *w, int cap) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, cap);
    if (n > 0) return 0;
    errno = GetLastError() == ERROR_INSUFFICIENT_BUFFER ? ENAMETOOLONG : EILSEQ;
    return -1;
}
#define INH__WPATH(w, path, fail) wchar_t w[4096]; if (inh__os_wide(path, w, 4096)) return fail
#endif

/* --- time, cores, process id ------------------------------------------------------------------- */
INH__FN double inh__os_now(void) {
#if defined(_WIN32)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f); QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
#elif defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    struct timeval tv;   /* no CLOCK_MONOTONIC declared (see INH__POSIX_LATE): wall-clock time of day */
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
#else
    return (double)clock() / CLOCKS_PER_SEC;   /* no monotonic clock in this build: processor time */
#endif
}
INH__FN int inh__os_cores(void) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors < 1 ? 1 : (int)si.dwNumberOfProcessors;
#elif defined(INH_NO_THREADS) || defined(INH__OS_NONE)
    return 1;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
#endif
}
INH__FN long inh__os_pid(void) {   /* tells temporaries of two processes apart */
#if defined(_WIN32)
    return (long)GetCurrentProcessId();
#elif defined(__wasi__) || defined(INH__OS_NONE)
    return 1;
#else
    return (long)getpid();
#endif
}

/* is a process with this id running: 0 only when surely not (a stale temporary's writer is gone) */
INH__FN int inh__os_pid_alive(long pid) {
#if defined(INH__OS_WIN)
    DWORD code = 0;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (!h) return GetLastError() == ERROR_INVALID_PARAMETER ? 0 : 1;   /* (access denied: it exists) */
    int alive = !GetExitCodeProcess(h, &code) || code == STILL_ACTIVE;
    CloseHandle(h);
    return alive;
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    if (pid <= 0 || (long)(pid_t)pid != pid) return 1;
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
#else
    (void)pid;
    return 1;
#endif
}

/* --- files and directories --------------------------------------------------------------------- */
#if defined(INH__OS_NONE)
#define INH__NOFS() (errno = ENOSYS, -1)   /* "Function not implemented": no file system in this build */
INH__FN FILE *inh__os_fopen(const char *path, const char *mode) { (void)path; (void)mode; errno = ENOSYS; return NULL; }
INH__FN int inh__os_kind(const char *path) { (void)path; return 0; }
INH__FN int inh__os_writable(const char *dir) { (void)dir; return INH__NOFS(); }
INH__FN int inh__os_mkdir(const char *path) { (void)path; return INH__NOFS(); }
INH__FN int inh__os_remove(const char *path) { (void)path; return INH__NOFS(); }
INH__FN int inh__os_rmdir(const char *path) { (void)path; return INH__NOFS(); }
INH__FN int inh__os_replace(const char *from, const char *to) { (void)from; (void)to; return INH__NOFS(); }
INH__FN int inh__os_fsync(FILE *f) { (void)f; return INH__NOFS(); }
INH__FN int inh__os_seek(FILE *f, uint64_t off) { (void)f; (void)off; return INH__NOFS(); }
INH__FN int inh__os_size(FILE *f, uint64_t *n) { (void)f; *n = 0; return INH__NOFS(); }
INH__FN int inh__os_dir_each(const char *dir, int (*fn)(void *u, const char *name), void *u) { (void)dir; (void)fn; (void)u; return 0; }
#else
INH__FN FILE *inh__os_fopen(const char *path, const char *mode) {
#if defined(INH__OS_WIN)
    wchar_t wm[8];
    int i = 0;
    for (; mode[i] && i < 7; i++) wm[i] = (wchar_t)mode[i];
    wm[i] = 0;
    INH__WPATH(w, path, NULL);
    return _wfopen(w, wm);
#else
    return fopen(path, mode);
#endif
}
/* 0 absent, 1 a regular file (or anything not a directory), 2 a directory */
INH__FN int inh__os_kind(const char *path) {
#if defined(INH__OS_WIN)
    INH__WPATH(w, path, 0);
    DWORD a = GetFileAttributesW(w);
    if (a == INVALID_FILE_ATTRIBUTES) return 0;
    return (a & FILE_ATTRIBUTE_DIRECTORY) ? 2 : 1;
#else
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return S_ISDIR(st.st_mode) ? 2 : 1;
#endif
}
/* can files be created in this directory: 0, or -1 with errno */
INH__FN int inh__os_writable(const char *dir) {
#if defined(INH__OS_WIN)
    INH__WPATH(w, dir, -1);
    DWORD a = GetFileAttributesW(w);
    if (a == INVALID_FILE_ATTRIBUTES) { errno = ENOENT; return -1; }
    if (a & FILE_ATTRIBUTE_READONLY) { errno = EACCES; return -1; }   /* read-only media; ACLs show at the first write */
    return 0;
#elif defined(__wasi__)
    return access(dir, W_OK);
#else
    return access(dir, W_OK | X_OK);
#endif
}
INH__FN int inh__os_mkdir(const char *path) {   /* 0, or -1 with errno (EEXIST when it is there) */
#if defined(INH__OS_WIN)
    INH__WPATH(w, path, -1);
    if (CreateDirectoryW(w, NULL)) return 0;
    errno = GetLastError() == ERROR_ALREADY_EXISTS ? EEXIST : (GetLastError() == ERROR_PATH_NOT_FOUND ? ENOENT : EACCES);
    return -1;
#else
    return mkdir(path, 0777);
#endif
}
INH__FN int inh__os_remove(const char *path) {
#if defined(INH__OS_WIN)
    INH__WPATH(w, path, -1);
    return _wremove(w);
#else
    return remove(path);
#endif
}
INH__FN int inh__os_rmdir(const char *path) {   /* an empty directory */
#if defined(INH__OS_WIN)
    INH__WPATH(w, path, -1);
    return RemoveDirectoryW(w) ? 0 : -1;
#else
    return rmdir(path);
#endif
}
/* replace `to` by `from` atomically (a reader sees the old file or the new one, never neither);
   POSIX rename does; Windows' rename refuses an existing target, MoveFileExW replaces it */
INH__FN int inh__os_replace(const char *from, const char *to) {
#if defined(INH__OS_WIN)
    INH__WPATH(wf, from, -1);
    INH__WPATH(wt, to, -1);
    if (MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) return 0;
    errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : EIO;
    return -1;
#else
    return rename(from, to);
#endif
}
INH__FN int inh__os_fsync(FILE *f) {   /* the data on the disk before the rename that publishes it */
#if defined(INH__OS_WIN)
    return _commit(_fileno(f));
#else
    return fsync(fileno(f));
#endif
}
/* 64-bit positions everywhere (Windows' long is 32 bits, and so is 32-bit Linux's) */
INH__FN int inh__os_seek(FILE *f, uint64_t off) {
#if defined(INH__OS_WIN)
    return _fseeki64(f, (__int64)off, SEEK_SET);
#elif defined(INH__POSIX_LATE) && !defined(__cplusplus)
    if ((uint64_t)(long)off != off || (long)off < 0) { errno = EOVERFLOW; return -1; }
    return fseek(f, (long)off, SEEK_SET);
#else
    if ((uint64_t)(off_t)off != off || (off_t)off < 0) { errno = EOVERFLOW; return -1; }
    return fseeko(f, (off_t)off, SEEK_SET);
#endif
}
INH__FN int inh__os_size(FILE *f, uint64_t *n) {   /* size of an open file; position back at 0 */
    *n = 0;
#if defined(INH__OS_WIN)
    if (_fseeki64(f, 0, SEEK_END) != 0) return -1;
    __int64 e = _ftelli64(f);
#elif defined(INH__POSIX_LATE) && !defined(__cplusplus)
    if (fseek(f, 0, SEEK_END) != 0) return -1;
    long e = ftell(f);
#else
    if (fseeko(f, 0, SEEK_END) != 0) return -1;
    off_t e = ftello(f);
#endif
    if (e < 0 || inh__os_seek(f, 0) != 0) return -1;
    *n = (uint64_t)e;
    return 0;
}
/* fn(u, name) for every entry of dir but . and ..; stops at fn's first non-zero, returned */
INH__FN int inh__os_dir_each(const char *dir, int (*fn)(void *u, const char *name), void *u) {
    int rc = 0;
#if defined(INH__OS_WIN)
    wchar_t w[4100];
    WIN32_FIND_DATAW fd;
    char name[1024];
    if (inh__os_wide(dir, w, 4096)) return 0;
    wcscat(w, L"\\*");
    HANDLE h = FindFirstFileW(w, &fd);
    if (h == INVALID_HANDLE_VALUE) return 0;
    do {
        if (!WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof name, NULL, NULL)) continue;
        if (strcmp(name, ".") && strcmp(name, "..")) rc = fn(u, name);
    } while (!rc && FindNextFileW(h, &fd));
    FindClose(h);
#else
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) return 0;
    while (!rc && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) rc = fn(u, e->d_name);
    closedir(d);
#endif
    return rc;
}
#endif

/* --- one process at a time: an exclusive lock on a file, dropped by the OS when the process ends
   however it ends. 0 locked (*h the handle), 1 held by another process (holder: its pid), -1 an
   error (errno). WASI and no-file builds have one program at a time: nothing to lock. ---------- */
INH__FN int inh__os_lock(const char *path, intptr_t *h, char *holder, size_t cap) {
    char pid[32];
    *h = -1;
    if (cap) holder[0] = 0;
#if defined(INH__OS_WIN)
    INH__WPATH(w, path, -1);
    HANDLE f = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    OVERLAPPED ov;
    DWORD n = 0;
    if (f == INVALID_HANDLE_VALUE) { errno = EACCES; return -1; }
    memset(&ov, 0, sizeof ov);
    ov.Offset = 0x40000000;   /* Windows locks are mandatory: lock a byte far past the pid, which stays readable */
    if (!LockFileEx(f, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        if (cap > 1 && ReadFile(f, holder, (DWORD)(cap - 1), &n, NULL)) holder[n] = 0;
        CloseHandle(f);
        return 1;
    }
    snprintf(pid, sizeof pid, "%ld\n", inh__os_pid());
    SetFilePointer(f, 0, NULL, FILE_BEGIN);
    SetEndOfFile(f);
    WriteFile(f, pid, (DWORD)strlen(pid), &n, NULL);
    *h = (intptr_t)f;
    return 0;
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    struct flock fl;
    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0) return -1;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK; fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        ssize_t n = cap > 1 ? read(fd, holder, cap - 1) : 0;
        if (cap) holder[n > 0 ? n : 0] = 0;
        close(fd);
        return 1;
    }
    snprintf(pid, sizeof pid, "%ld\n", inh__os_pid());
#if defined(INH__POSIX_LATE) && !defined(__cplusplus)
    if (write(fd, pid, strlen(pid)) < 0) { /* at offset 0; a longer old pid's tail lies past the newline */ }
#else
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0) { /* the pid is only for the message */ }
#endif
    *h = fd;
    return 0;
#else
    (void)path; (void)pid;
    return 0;
#endif
}
INH__FN void inh__os_unlock(intptr_t h) {
    if (h == -1) return;
#if defined(INH__OS_WIN)
    CloseHandle((HANDLE)h);
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    close((int)h);
#endif
}

/* --- for programs over the library: paths, Ctrl-C, a command's output, memory ------------------ */
INHDEF int inh_path_kind(const char *path) { return inh__os_kind(path); }
INHDEF FILE *inh_fopen(const char *path, const char *mode) {
    char m[8];
    size_t n = strlen(mode);
    if (n > 5) { errno = EINVAL; return NULL; }
    memcpy(m, mode, n + 1);
    if (!strchr(m, 'b')) { m[n] = 'b'; m[n + 1] = 0; }
    return inh__os_fopen(path, m);
}
INHDEF int inh_args_utf8(int *argc, char ***argv) {
#if defined(INH__OS_WIN)
    int n = 0;
    LPWSTR *w = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!w) return inh__fail("cannot read the command line");
    char **a = INH__CALLOC(char *, (size_t)n + 1);
    for (int i = 0; a && i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
        if (len <= 0 || !(a[i] = INH__ALLOC(char, (size_t)len))) { a = NULL; break; }   /* (a leak on a failure that ends the program) */
        WideCharToMultiByte(CP_UTF8, 0, w[i], -1, a[i], len, NULL, NULL);
    }
    LocalFree(w);
    if (!a) return inh__fail("out of memory for the command line");
    *argc = n; *argv = a;   /* kept for the life of the program */
#else
    (void)argc; (void)argv;
#endif
    return 0;
}
INHDEF void inh_stdio_binary(void) {
#if defined(INH__OS_WIN)
    _setmode(_fileno(stdout), 0x8000 /* _O_BINARY */);
    _setmode(_fileno(stdin), 0x8000);
#endif
}
INHDEF double inh_peak_memory_mb(void) {
#if defined(INH__OS_WIN)
    return 0.0;   /* (GetProcessMemoryInfo needs psapi: the one-line build links nothing but libm) */
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
#if defined(__APPLE__)
    return (double)ru.ru_maxrss / (1024.0 * 1024.0);   /* bytes there */
#else
    return (double)ru.ru_maxrss / 1024.0;              /* KiB on Linux and the BSDs */
#endif
#else
    return 0.0;
#endif
}
static volatile int *inh__interrupt_flag;
#if defined(INH__OS_WIN)
INH__FN BOOL WINAPI inh__on_ctrl(DWORD type) {
    if ((type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT) || !inh__interrupt_flag || *inh__interrupt_flag) return FALSE;
    *inh__interrupt_flag = 1;   /* the first Ctrl-C asks the program to stop; a second one ends it */
    return TRUE;
}
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
INH__FN void inh__on_sigint(int sig) {
    (void)sig;
    if (inh__interrupt_flag) *inh__interrupt_flag = 1;
    signal(SIGINT, SIG_DFL);    /* the first Ctrl-C asks the program to stop; a second one ends it */
}
#endif
INHDEF int inh_catch_interrupt(volatile int *flag) {
    inh__interrupt_flag = flag;
#if defined(INH__OS_WIN)
    return SetConsoleCtrlHandler(inh__on_ctrl, TRUE) ? 0 : inh__fail("cannot catch Ctrl-C");
#elif defined(INH__OS_POSIX) && !defined(__wasi__)
    return signal(SIGINT, inh__on_sigint) == SIG_ERR ? inh__fail("cannot catch Ctrl-C") : 0;
#else
    return 0;   /* nothing to catch */
#endif
}
struct inh_command { FILE *p; char cmd[256]; };
INHDEF inh_command *inh_command_start(const char *cmd) {
#if defined(INH__OS_NONE) || defined(__wasi__)
    (void)cmd;
    inh__fail("cannot run '%s': this build has no processes", cmd);
    return NULL;
#else
    inh_command *c = INH__CALLOC(inh_command, 1);
    if (!c) return NULL;
    snprintf(c->cmd, sizeof c->cmd, "%s", cmd);
    fflush(NULL);   /* what we printed comes before what the command prints */
#if defined(INH__OS_WIN)
    wchar_t *w = INH__ALLOC(wchar_t, strlen(cmd) + 1);
    if (w && MultiByteToWideChar(CP_UTF8, 0, cmd, -1, w, (int)strlen(cmd) + 1) > 0) c->p = _wpopen(w, L"r");
    INH_FREE(w);
#else
    c->p = popen(cmd, "r");
#endif
    if (!c->p) { inh__fail("cannot run '%s': %s", c->cmd, strerror(errno)); INH_FREE(c); return NULL; }
    return c;
#endif
}
INHDEF int inh_command_line(inh_command *c, char *line, int cap) {
#if defined(INH__OS_NONE) || defined(__wasi__)
    (void)c; (void)line; (void)cap;
    return 0;
#else
    for (;;) {
        if (fgets(line, cap, c->p)) return 1;
        if (ferror(c->p) && errno == EINTR) { clearerr(c->p); continue; }   /* Ctrl-C: read on until the command ends */
        return 0;
    }
#endif
}
INHDEF int inh_command_finish(inh_command *c) {
    int rc = -1;
#if defined(INH__OS_NONE) || defined(__wasi__)
    (void)c;
    inh__fail("no processes in this build");
#else
    if (!c) return inh__fail("no command");
#if defined(INH__OS_WIN)
    int st = _pclose(c->p);
    if (st >= 0) rc = st;
    else inh__fail("cannot tell how it ended: %s", strerror(errno));
#else
    int st = pclose(c->p);
    if (st != -1 && WIFEXITED(st)) rc = WEXITSTATUS(st);
    else if (st != -1 && WIFSIGNALED(st)) inh__fail("was killed by signal %d", WTERMSIG(st));
    else inh__fail("cannot tell how it ended: %s", strerror(errno));
#endif
    INH_FREE(c);
#endif
    return rc;
}
INHDEF int inh_make_dir(const char *path) {
    if (inh__os_kind(path) == 2) return 0;
    if (inh__os_mkdir(path) != 0 && !(errno == EEXIST && inh__os_kind(path) == 2))
        return inh__fail("%s: cannot create directory: %s", path, strerror(errno));
    return 0;
}

INHDEF int inh_num_cores(void) { return inh__os_cores(); }
INHDEF double inh_now(void) { return inh__os_now(); }

INHDEF void inh_rng_seed(inh_rng *r, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;       /* splitmix64: never leaves state 0 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}
INHDEF uint64_t inh_rng_u64(inh_rng *r) {            /* xorshift64* */
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
INHDEF float inh_rng_uniform(inh_rng *r) { return (float)(inh_rng_u64(r) >> 40) / 16777216.0f; }
INHDEF float inh_rng_normal(inh_rng *r) {            /* Box-Muller, one value per call */
    float u1 = inh_rng_uniform(r), u2 = inh_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

/* Parallel-for over [0, n). The range is cut into pieces (at most 4 a thread, never more than n)
   and every thread of the region, the caller too, takes the next piece nobody has taken until
   none is left: a worker that has not woken yet holds up nothing (the others take its share),
   and one the OS descheduled mid-piece holds up only that piece. Who runs a piece, and where the
   pieces are cut, never changes a bit: every kernel gives each output one owner and sums it in
   an order fixed by the shapes, not by [lo, hi) (test_core, test_fastmm and test_threads check
   that 1, 2, 3 and 4 threads give the same bits).
   The worker threads are started on first use and then kept. A wait (a worker's for the next
   region, the caller's for pieces still running) spins a little, then yields, then sleeps on a
   condition variable. The spin adapts: a wait it did not cover (a peer was descheduled, as when
   another program holds a core) halves it, each wait it covers lets it grow back by a step, so
   on a busy machine the threads sleep instead of burning the core a descheduled peer needs.
   A region costs microseconds, so kernels ask inh__threads_for how many threads their work pays
   for (batch-1 generation on a small model runs on the calling thread).
   One region at a time uses the pool; a region begun while another runs (from another
   application thread) starts threads of its own, as does one whose workers cannot be started.
   After fork() the child starts a pool of its own. */
typedef void (*inh__range_fn)(void *ctx, int lo, int hi);
enum { INH__WORK_MIN = 1 << 20 };   /* flops (or element touches) a thread must get: 20-50 us of a core, */
                                    /* against a region's wake-up (tens of us, ~0.1 ms with a core busy) */
/* the threads (1..nt) that `work` pays for */
INH__FN int inh__threads_for(int nt, double work) {
    if (nt <= 1 || work < 2.0 * INH__WORK_MIN) return 1;
    double k = work / INH__WORK_MIN;
    return k < (double)nt ? (int)k : nt;
}
#ifndef INH_NO_THREADS
typedef struct { inh__range_fn fn; void *ctx; int lo, hi; } inh__job;
enum { INH__MAXT = 256, INH__PIECES = 4, INH__PIECES_MAX = 4095,
       INH__SPIN_MIN = 2000, INH__SPIN_MAX = 200000, INH__SPIN_STEP = 1000, INH__YIELDS = 4 };   /* ns */
INH__THREAD_FN(inh__job_run) { inh__job *j = (inh__job *)arg; j->fn(j->ctx, j->lo, j->hi); return 0; }
/* the region, one 64-bit word: generation (32 bits) | threads - 1 (8) | pieces (12) | next piece (12).
   A thread takes piece k by moving the word from (gen, .., k) to k + 1; a claim on a region that
   has ended fails, however late its thread wakes. */
#define INH__W_GEN(w) ((uint32_t)((w) >> 32))
#define INH__W_USE(w) ((int)(((w) >> 24) & 255) + 1)
#define INH__W_PIECES(w) ((int)(((w) >> 12) & 4095))
#define INH__W_NEXT(w) ((int)((w) & 4095))
static struct {
    inh__mutex busy, mu;              /* busy: held by the region using the pool; mu: starting workers, sleeping */
    inh__cond go, done;               /* a new region (workers sleep on it); the last piece done (the caller) */
    int workers, atfork_set, quit;    /* workers started (ids 1..workers); atfork handler set; stop */
    inh__thread th[INH__MAXT];
    uint32_t born[INH__MAXT];         /* the generation each worker was started in */
    uint64_t word;                    /* the region (above); atomic */
    inh__range_fn fn; void *ctx; int n;   /* the region's work: written before its word, read after a claim */
    int finished;                     /* pieces done; atomic */
    int sleepers, caller_asleep;      /* workers asleep on go; the caller asleep on done; atomic */
    int spin_ns;                      /* the adaptive spin; atomic */
} inh__pool = {INH__MUTEX_INIT, INH__MUTEX_INIT, INH__COND_INIT, INH__COND_INIT, 0, 0, 0, {0}, {0}, 0, NULL, NULL, 0, 0, 0, 0, 50000};
static void inh__pool_child(void) {   /* after fork: the workers stayed with the parent */
    inh__mutex_init(&inh__pool.busy); inh__mutex_init(&inh__pool.mu);
    inh__cond_init(&inh__pool.go); inh__cond_init(&inh__pool.done);
    inh__pool.workers = 0; inh__pool.sleepers = 0; inh__pool.caller_asleep = 0;
}
static int inh__pool_new_region(uint32_t seen) { return INH__W_GEN(inh__a_ld64(&inh__pool.word)) != seen; }
static int inh__pool_all_done(uint32_t pieces) { return inh__a_ld(&inh__pool.finished) >= (int)pieces; }
/* spin up to the adaptive budget, then yield a few times, until ready(x): 1 if it came, 0 if the
   caller should sleep */
static int inh__pool_spin(int (*ready)(uint32_t), uint32_t x) {
    if (ready(x)) return 1;
    double t0 = inh__os_now(), budget = 1e-9 * inh__a_ld(&inh__pool.spin_ns);
    for (int k = 1;; k++) {
        INH__PAUSE();
        if (ready(x)) return 1;
        if (!(k & 31) && inh__os_now() - t0 > budget) break;
    }
    for (int y = 0; y < INH__YIELDS; y++) {
        inh__os_yield();
        if (ready(x)) return 1;
    }
    return 0;
}
/* take and run pieces of region gen until none is left */
static void inh__pool_take(uint32_t gen) {
    uint64_t w = inh__a_ld64(&inh__pool.word);
    while (INH__W_GEN(w) == gen && INH__W_NEXT(w) < INH__W_PIECES(w)) {
        if (!inh__a_cas64(&inh__pool.word, &w, w + 1)) continue;   /* another took it: w is the word now */
        int k = INH__W_NEXT(w), P = INH__W_PIECES(w), n = inh__pool.n;
        inh__pool.fn(inh__pool.ctx, (int)((long long)n * k / P), (int)((long long)n * (k + 1) / P));
        if (inh__a_add(&inh__pool.finished, 1) == P && inh__a_ld(&inh__pool.caller_asleep)) {
            inh__lock(&inh__pool.mu); inh__cond_signal(&inh__pool.done); inh__unlock(&inh__pool.mu);
        }
        w = inh__a_ld64(&inh__pool.word);
    }
}
INH__THREAD_FN(inh__pool_worker) {
    int id = (int)(intptr_t)arg;
    uint32_t seen = inh__pool.born[id];
    for (;;) {
        if (!inh__pool_spin(inh__pool_new_region, seen)) {
            inh__lock(&inh__pool.mu);
            inh__a_add(&inh__pool.sleepers, 1);   /* then look: the caller stores the word, then looks at sleepers */
            while (!inh__pool_new_region(seen)) inh__cond_wait(&inh__pool.go, &inh__pool.mu);
            inh__a_add(&inh__pool.sleepers, -1);
            inh__unlock(&inh__pool.mu);
        }
        if (inh__a_ld(&inh__pool.quit)) break;
        uint64_t w = inh__a_ld64(&inh__pool.word);
        seen = INH__W_GEN(w);
        if (id < INH__W_USE(w)) inh__pool_take(seen);
    }
    return 0;
}
/* a new region (busy held): its word, then a wake-up for the workers asleep */
static void inh__pool_publish(uint64_t w) {
    inh__a_st64(&inh__pool.word, w);
    if (inh__a_ld(&inh__pool.sleepers) > 0) {
        inh__lock(&inh__pool.mu); inh__cond_broadcast(&inh__pool.go); inh__unlock(&inh__pool.mu);
    }
}
#endif
INH__FN void inh__parallel(int nthreads, int n, inh__range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (nthreads > n) nthreads = n;
#ifndef INH_NO_THREADS
    if (nthreads > INH__MAXT) nthreads = INH__MAXT;
    if (nthreads > 1 && inh__trylock(&inh__pool.busy) == 0) {
        if (inh__pool.workers < nthreads - 1) {
            inh__lock(&inh__pool.mu);
            if (!inh__pool.atfork_set) { inh__on_fork_child(inh__pool_child); inh__pool.atfork_set = 1; }
            while (inh__pool.workers < nthreads - 1) {
                inh__thread th;
                int id = inh__pool.workers + 1;
                inh__pool.born[id] = INH__W_GEN(inh__a_ld64(&inh__pool.word));
                if (inh__thread_start(&th, inh__pool_worker, (void *)(intptr_t)id) != 0) break;
                inh__pool.th[id] = th;
                inh__pool.workers = id;
            }
            inh__unlock(&inh__pool.mu);
        }
        int use = nthreads < inh__pool.workers + 1 ? nthreads : inh__pool.workers + 1;
        if (use > 1) {
            int P = n < INH__PIECES * use ? n : INH__PIECES * use;
            if (P > INH__PIECES_MAX) P = INH__PIECES_MAX;
            uint32_t gen = INH__W_GEN(inh__a_ld64(&inh__pool.word)) + 1;
            inh__pool.fn = fn; inh__pool.ctx = ctx; inh__pool.n = n;
            inh__a_st(&inh__pool.finished, 0);
            inh__pool_publish((uint64_t)gen << 32 | (uint64_t)(use - 1) << 24 | (uint64_t)P << 12);
            inh__pool_take(gen);
            if (!inh__pool_all_done((uint32_t)P)) {
                int covered = inh__pool_spin(inh__pool_all_done, (uint32_t)P);
                int s = inh__a_ld(&inh__pool.spin_ns);   /* additive increase, multiplicative decrease */
                s = covered ? (s + INH__SPIN_STEP < INH__SPIN_MAX ? s + INH__SPIN_STEP : INH__SPIN_MAX)
                            : (s / 2 > INH__SPIN_MIN ? s / 2 : INH__SPIN_MIN);
                inh__a_st(&inh__pool.spin_ns, s);
                if (!covered) {
                    inh__lock(&inh__pool.mu);
                    inh__a_st(&inh__pool.caller_asleep, 1);   /* then look: the last piece's thread adds, then looks here */
                    while (!inh__pool_all_done((uint32_t)P)) inh__cond_wait(&inh__pool.done, &inh__pool.mu);
                    inh__a_st(&inh__pool.caller_asleep, 0);
                    inh__unlock(&inh__pool.mu);
                }
            }
            inh__unlock(&inh__pool.busy);
            return;
        }
        inh__unlock(&inh__pool.busy);
    }
    if (nthreads > 1) {
        inh__thread th[INH__MAXT];
        inh__job jobs[INH__MAXT];
        int started[INH__MAXT];
        for (int t = 0; t < nthreads; t++) {
            jobs[t].fn = fn; jobs[t].ctx = ctx;
            jobs[t].lo = (int)((long long)n * t / nthreads);
            jobs[t].hi = (int)((long long)n * (t + 1) / nthreads);
        }
        for (int t = 1; t < nthreads; t++) started[t] = inh__thread_start(&th[t], inh__job_run, &jobs[t]) == 0;
        fn(ctx, jobs[0].lo, jobs[0].hi);
        for (int t = 1; t < nthreads; t++) {
            if (started[t]) inh__thread_join(th[t]);
            else fn(ctx, jobs[t].lo, jobs[t].hi);  /* could not start a thread: do its share here */
        }
        return;
    }
#endif
    fn(ctx, 0, n);
}

/* --- the machine's FMA peak ------------------------------------------------------------------
   A probe for benchmarks: every thread runs 12 independent chains of vector FMAs on registers
   only (no memory, nothing to wait for but the FMA units), best of 5 rounds of about 3 ms. It is
   the ceiling a kernel's FLOP rate is measured against, as OpenBLAS is for the matmul. */
typedef struct { long iters; volatile float sink[256]; } inh__peak_args;
static void inh__peak_part(void *p, int lo, int hi) {
    inh__peak_args *a = (inh__peak_args *)p;
    for (int part = lo; part < hi; part++) {
#if INH__VW
        /* named, not an array: registers; different starts: a compiler would merge equal chains
           into one; c = x*y + c, the accumulating form every set has (NEON's fmla adds to its
           destination). A set without a fused multiply-add does a multiply and an add per lane, two
           FLOPs, as the kernels compiled for it do (see INH__VFMA_UNFUSED below). */
        inh__vf x = inh__vset(0.999f), y = inh__vset(1e-4f), c0 = inh__vset(1.0f), c1 = inh__vset(1.1f);
        inh__vf c2 = inh__vset(1.2f), c3 = inh__vset(1.3f), c4 = inh__vset(1.4f), c5 = inh__vset(1.5f);
        inh__vf c6 = inh__vset(1.6f), c7 = inh__vset(1.7f), c8 = inh__vset(1.8f), c9 = inh__vset(1.9f);
        inh__vf c10 = inh__vset(2.0f), c11 = inh__vset(2.1f);
#ifdef INH__VFMA_UNFUSED
        /* x*y would be hoisted out of the loop, leaving only adds: there each chain is c = c*x + y,
           a multiply and an add that wait for each other (12 chains of 6 cycles' latency just fill
           a Zen 4's two multiply and two add pipes) */
#define INH__PEAK_STEP(c) c = inh__vfma(c, x, y)
#else
#define INH__PEAK_STEP(c) c = inh__vfma(x, y, c)
#endif
        for (long i = 0; i < a->iters; i++) {
            INH__PEAK_STEP(c0); INH__PEAK_STEP(c1); INH__PEAK_STEP(c2); INH__PEAK_STEP(c3);
            INH__PEAK_STEP(c4); INH__PEAK_STEP(c5); INH__PEAK_STEP(c6); INH__PEAK_STEP(c7);
            INH__PEAK_STEP(c8); INH__PEAK_STEP(c9); INH__PEAK_STEP(c10); INH__PEAK_STEP(c11);
        }
#undef INH__PEAK_STEP
        c0 = inh__vadd(inh__vadd(inh__vadd(c0, c1), inh__vadd(c2, c3)), inh__vadd(inh__vadd(c4, c5), inh__vadd(c6, c7)));
        c0 = inh__vadd(c0, inh__vadd(inh__vadd(c8, c9), inh__vadd(c10, c11)));
        float l[INH__VW];
        inh__vst(l, c0);
        a->sink[part] = l[0];
#else
        float c[12];
        for (int k = 0; k < 12; k++) c[k] = 1.0f + 0.1f * (float)k;
        for (long i = 0; i < a->iters; i++)
            for (int k = 0; k < 12; k++) c[k] = c[k] * 0.999f + 1e-4f;
        a->sink[part] = c[0] + c[11];
#endif
    }
}
INHDEF const char *inh_isa(void) { return INH__ISA INH__ISA_EXT; }
INHDEF double inh_fma_peak_gflops(int threads) {
    const double flops = 12.0 * (INH__VW ? INH__VW : 1) * 2;
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    inh__peak_args a;
    a.iters = 1000000;
    double best = 0.0;
    for (int round = 0; round < 5; round++) {
        double t0 = inh_now();
        inh__parallel(threads, threads, inh__peak_part, &a);
        double dt = inh_now() - t0;
        if (dt > 0 && flops * a.iters * threads / dt > best) best = flops * a.iters * threads / dt;
    }
    return best * 1e-9;
}

INHDEF void inh_threads_release(void) {
#ifndef INH_NO_THREADS
    inh__lock(&inh__pool.busy);   /* after any region in progress */
    int n = inh__pool.workers;
    inh__a_st(&inh__pool.quit, 1);
    inh__pool_publish((uint64_t)(INH__W_GEN(inh__a_ld64(&inh__pool.word)) + 1) << 32);   /* a region of no pieces */
    for (int id = 1; id <= n; id++) inh__thread_join(inh__pool.th[id]);
    inh__lock(&inh__pool.mu);
    inh__pool.workers = 0;
    inh__a_st(&inh__pool.quit, 0);
    inh__unlock(&inh__pool.mu);
    inh__unlock(&inh__pool.busy);
#endif
}

/* Whole-file helpers. inh__read_file reads at most max_bytes (0 = no limit). */
INH__FN int inh__read_file(const char *path, unsigned char **out, size_t *len, size_t max_bytes) {
    *out = NULL; *len = 0;
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = INH__ALLOC(unsigned char, cap);
    if (!buf) { fclose(f); return -1; }
    for (;;) {
        if (n == cap) {
            if (max_bytes && cap >= max_bytes) { INH_FREE(buf); fclose(f); return inh__fail("%s: larger than %zu bytes", path, max_bytes); }
            unsigned char *nb = INH__CAST(unsigned char *, INH_REALLOC(buf, cap * 2));
            if (!nb) { INH_FREE(buf); fclose(f); return inh__fail("%s: out of memory reading file", path); }
            buf = nb; cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { INH_FREE(buf); return inh__fail("%s: read error", path); }
    *out = buf; *len = n;
    return 0;
}

/* a path separator: '/' everywhere, and '\\' on Windows too */
#if defined(_WIN32)
#define INH__IS_SEP(c) ((c) == '/' || (c) == '\\')
#else
#define INH__IS_SEP(c) ((c) == '/')
#endif
/* Atomic save: write to "<path>.tmp.<pid>", flush, fsync, rename over path. A crash or a write
   error never leaves a half-written file under the final name. Or into a caller's memory
   (inh__wmem: mem, cap), counting the bytes it would need when they do not fit. */
typedef struct { FILE *f; char tmp[4096]; const char *path; int bad; unsigned char *mem; size_t cap, len; int to_mem; } inh__wfile;
INH__FN void inh__wmem(inh__wfile *w, void *buf, size_t cap, const char *what) {
    memset(w, 0, sizeof *w);
    w->path = what; w->mem = (unsigned char *)buf; w->cap = buf ? cap : 0; w->to_mem = 1;
}
/* Remove path's own temporaries "<path>.tmp.<pid>" whose writer is gone (a kill -9 during a save
   leaves one behind); those of running processes (another save in progress) are kept. */
typedef struct { const char *dir, *base; size_t blen; } inh__stale_ctx;
INH__FN int inh__stale_one(void *u, const char *name) {
    const inh__stale_ctx *c = (const inh__stale_ctx *)u;
    const char *p = name + c->blen + 5;
    char full[4200];
    if (strncmp(name, c->base, c->blen) || strncmp(name + c->blen, ".tmp.", 5) || !*p || strlen(p) > 18) return 0;
    for (const char *q = p; *q; q++) if (*q < '0' || *q > '9') return 0;
    long pid = atol(p);
    if (pid == inh__os_pid() || inh__os_pid_alive(pid)) return 0;
    if (snprintf(full, sizeof full, "%s%s", c->dir, name) < (int)sizeof full) inh__os_remove(full);
    return 0;
}
INH__FN void inh__remove_stale_tmp(const char *path) {
    char dir[4096];
    size_t n = strlen(path), d = n;
    while (d > 0 && !INH__IS_SEP(path[d - 1])) d--;
    if (d >= sizeof dir || d == n) return;
    memcpy(dir, path, d); dir[d] = 0;
    inh__stale_ctx c = {dir, path + d, n - d};
    int e = errno;
    inh__os_dir_each(d ? dir : ".", inh__stale_one, &c);
    errno = e;
}
INH__FN int inh__wopen(inh__wfile *w, const char *path) {
    memset(w, 0, sizeof *w);
    w->path = path;
    inh__remove_stale_tmp(path);
    if (snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, inh__os_pid()) >= (int)sizeof w->tmp)
        return inh__fail("%s: path too long", path);
    w->f = inh__os_fopen(w->tmp, "wb");
    if (!w->f) return inh__fail("%s: cannot create %s: %s", path, w->tmp, strerror(errno));
    return 0;
}
INH__FN void inh__wwrite(inh__wfile *w, const void *p, size_t n) {
    if (w->to_mem) {
        if (!w->bad && n <= w->cap - w->len) memcpy(w->mem + w->len, p, n);
        else w->bad = ENOSPC;
        w->len += n;
        return;
    }
    if (!w->bad && n && fwrite(p, 1, n, w->f) != n) w->bad = errno ? errno : EIO;
}
INH__FN int inh__wclose(inh__wfile *w) {
    int e = w->bad;
    if (w->to_mem)
        return e ? inh__fail("%s: a buffer of %zu bytes is too small: it needs %zu", w->path, w->cap, w->len) : 0;
    if (!e && fflush(w->f) != 0) e = errno ? errno : EIO;
    if (!e && inh__os_fsync(w->f) != 0) e = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !e) e = errno ? errno : EIO;
    int kind = e ? INH_FILE_OTHER : inh_file_kind(w->tmp);   /* never over a file of another kind */
    if (!e && kind != INH_FILE_OTHER && kind != INH_FILE_EMPTY && inh_check_replace(w->path, kind)) { inh__os_remove(w->tmp); return -1; }
    if (!e && inh__os_replace(w->tmp, w->path) != 0) e = errno ? errno : EIO;
    if (e) { inh__os_remove(w->tmp); return inh__fail("%s: write failed: %s (previous file left intact)", w->path, strerror(e)); }
    return 0;
}
INH__FN void inh__wabort(inh__wfile *w) { if (w->to_mem) return; if (w->f) fclose(w->f); inh__os_remove(w->tmp); }

/* A source of bytes to load from: an open file, or a caller's memory (the INH_NO_STDIO way in) */
typedef struct { FILE *f; const unsigned char *mem; uint64_t len, pos; } inh__src;
INH__FN size_t inh__src_read(inh__src *s, void *dst, size_t n) {
    if (s->f) return fread(dst, 1, n, s->f);
    size_t k = s->pos >= s->len ? 0 : (s->len - s->pos < n ? (size_t)(s->len - s->pos) : n);
    if (k) memcpy(dst, s->mem + s->pos, k);
    s->pos += k;
    return k;
}
INH__FN int inh__src_seek(inh__src *s, uint64_t off) {
    if (s->f) return inh__os_seek(s->f, off);
    if (off > s->len) return -1;
    s->pos = off;
    return 0;
}

INHDEF int inh_check_output(const char *path, int is_dir) {
    char dir[4096];
    if (!path || !*path) return inh__fail("empty output path");
    int kind = inh__os_kind(path);
    if (kind) {
        if (is_dir && kind != 2) return inh__fail("%s: exists and is not a directory", path);
        if (!is_dir && kind == 2) return inh__fail("%s: is a directory (give a file name, e.g. %s/model.bin)", path, path);
        if (is_dir && inh__os_writable(path) != 0) return inh__fail("%s: cannot write into this directory: %s", path, strerror(errno));
        if (is_dir) return 0;
    }
    /* the parent directory: everything before the last '/' ("." without one) */
    size_t n = strlen(path);
    while (n > 1 && INH__IS_SEP(path[n - 1])) n--;       /* "out/" names the directory "out" */
    while (n > 0 && !INH__IS_SEP(path[n - 1])) n--;
    while (n > 1 && INH__IS_SEP(path[n - 1])) n--;
    if (n >= sizeof dir) return inh__fail("%s: path too long", path);
    if (n == 0) snprintf(dir, sizeof dir, ".");
    else { memcpy(dir, path, n); dir[n] = 0; }
#if defined(_WIN32)
    if (n == 2 && dir[1] == ':') { dir[2] = '\\'; dir[3] = 0; }   /* "C:x" is relative to C:'s own directory; C:\ is what was meant */
#endif
    kind = inh__os_kind(dir);
    if (kind == 0) return inh__fail("%s: cannot create: directory %s does not exist", path, dir);
    if (kind != 2) return inh__fail("%s: cannot create: %s is not a directory", path, dir);
    if (inh__os_writable(dir) != 0) return inh__fail("%s: cannot create: cannot write into directory %s: %s", path, dir, strerror(errno));
    return 0;
}
INH__PRINTF(2, 3)
INH__FN void inh__wprintf(inh__wfile *w, const char *fmt, ...) {   /* formatted text into an atomic file */
    va_list ap;
    if (w->bad && !w->to_mem) return;
    va_start(ap, fmt);
    if (w->to_mem) {
        char small[512];
        int n = vsnprintf(small, sizeof small, fmt, ap);
        if (n >= (int)sizeof small) { va_end(ap); va_start(ap, fmt); char *big = (char *)INH_MALLOC((size_t)n + 1);
            if (big) { vsnprintf(big, (size_t)n + 1, fmt, ap); inh__wwrite(w, big, (size_t)n); INH_FREE(big); } else w->bad = ENOMEM; }
        else if (n > 0) inh__wwrite(w, small, (size_t)n);
    } else if (vfprintf(w->f, fmt, ap) < 0) w->bad = errno ? errno : EIO;
    va_end(ap);
}

/* little-endian 32-bit read/write (the formats here are little-endian on every host) */
INH__FN uint32_t inh__rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
INH__FN void inh__wr32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* A growable byte buffer. */
typedef struct { unsigned char *p; size_t n, cap; } inh__buf;
INH__FN int inh__buf_reserve(inh__buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra) cap *= 2;
    unsigned char *np = INH__CAST(unsigned char *, INH_REALLOC(b->p, cap));
    if (!np) return inh__fail("out of memory (%zu bytes)", cap);
    b->p = np; b->cap = cap;
    return 0;
}
INH__FN int inh__buf_put(inh__buf *b, const void *p, size_t n) {
    if (inh__buf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

/* Append code point cp as UTF-8 (surrogates too, as the 3-byte form: a lone "\udXXX" in JSON). */
INH__FN int inh__utf8_put(inh__buf *b, uint32_t cp) {
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 63)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        u[2] = (unsigned char)(0x80 | (cp & 63)); n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 63)); u[3] = (unsigned char)(0x80 | (cp & 63)); n = 4;
    }
    return inh__buf_put(b, u, n);
}

/* Decode one UTF-8 character from s[0..n), n >= 1. Returns its length and sets *cp; returns 0
   when s does not start with a valid (shortest-form, non-surrogate, <= U+10FFFF) sequence. */
INH__FN int inh__utf8_get(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = (c & 31) << 6 | (s[1] & 63);
        return 2;
    }
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; else if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F;
    if (n < 2 || s[1] < lo || s[1] > hi) return 0;
    if (c < 0xF0) {
        if (n < 3 || (s[2] & 0xC0) != 0x80) return 0;
        *cp = (c & 15) << 12 | (uint32_t)(s[1] & 63) << 6 | (s[2] & 63);
        return 3;
    }
    if (n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    *cp = (c & 7) << 18 | (uint32_t)(s[1] & 63) << 12 | (uint32_t)(s[2] & 63) << 6 | (s[3] & 63);
    return 4;
}

/* ---- a small JSON reader (enough for vocabularies, configs and test vectors) ---------------- */

typedef struct { const unsigned char *s, *p, *end; const char *path; } inh__json;

INH__FN void inh__json_init(inh__json *j, const unsigned char *s, size_t n, const char *path) {
    j->s = j->p = s; j->end = s + n; j->path = path;
}
INH__FN int inh__json_fail(const inh__json *j, const char *what) {
    size_t line = 1;
    for (const unsigned char *q = j->s; q < j->p; q++) line += *q == '\n';
    return inh__fail("%s: %s (line %zu, byte offset %zu)", j->path, what, line, (size_t)(j->p - j->s));
}
INH__FN void inh__json_ws(inh__json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
/* next non-space character, or -1 at the end */
INH__FN int inh__json_peek(inh__json *j) { inh__json_ws(j); return j->p < j->end ? *j->p : -1; }
INH__FN int inh__json_expect(inh__json *j, char c) {
    if (inh__json_peek(j) != (unsigned char)c) {
        char msg[48];
        if (j->p >= j->end) snprintf(msg, sizeof msg, "expected '%c' but the file ends", c);
        else snprintf(msg, sizeof msg, "expected '%c'", c);
        return inh__json_fail(j, msg);
    }
    j->p++;
    return 0;
}
INH__FN int inh__json_hex4(inh__json *j, uint32_t *v) {
    *v = 0;
    if (j->end - j->p < 4) return inh__json_fail(j, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        int c = *j->p, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return inh__json_fail(j, "bad hex digit in \\u escape");
        *v = *v << 4 | (uint32_t)d;
        j->p++;
    }
    return 0;
}
/* a string value into out (replacing its contents; raw UTF-8 bytes, not NUL-terminated) */
INH__FN int inh__json_str(inh__json *j, inh__buf *out) {
    out->n = 0;
    if (inh__json_expect(j, '"')) return -1;
    for (;;) {
        const unsigned char *q = j->p;
        while (q < j->end && *q != '"' && *q != '\\' && *q >= 0x20) q++;
        if (inh__buf_put(out, j->p, (size_t)(q - j->p))) return -1;
        j->p = q;
        if (q >= j->end) return inh__json_fail(j, "unterminated string");
        if (*q == '"') { j->p++; return 0; }
        if (*q < 0x20) return inh__json_fail(j, "control character in string");
        if (j->end - q < 2) { j->p = j->end; return inh__json_fail(j, "unterminated string"); }
        unsigned char e = q[1], c;
        j->p += 2;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            uint32_t u, u2;
            if (inh__json_hex4(j, &u)) return -1;
            if (u >= 0xD800 && u < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                const unsigned char *save = j->p;
                j->p += 2;
                if (inh__json_hex4(j, &u2)) return -1;
                if (u2 >= 0xDC00 && u2 < 0xE000) u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
                else j->p = save;
            }
            if (inh__utf8_put(out, u)) return -1;
            continue;
        }
        default: j->p -= 2; return inh__json_fail(j, "bad escape in string");
        }
        if (inh__buf_put(out, &c, 1)) return -1;
    }
}
/* an integer value (no fraction or exponent) */
INH__FN int inh__json_int(inh__json *j, long long *v) {
    inh__json_ws(j);
    const unsigned char *q = j->p;
    int neg = q < j->end && *q == '-';
    q += neg;
    if (q >= j->end || *q < '0' || *q > '9') return inh__json_fail(j, q >= j->end ? "expected an integer but the file ends" : "expected an integer");
    long long x = 0;
    while (q < j->end && *q >= '0' && *q <= '9') {
        if (x > (LLONG_MAX - 9) / 10) return inh__json_fail(j, "integer too large");
        x = x * 10 + (*q++ - '0');
    }
    if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E')) { j->p = q; return inh__json_fail(j, "expected an integer, found a fraction"); }
    j->p = q;
    *v = neg ? -x : x;
    return 0;
}
/* any number */
INH__FN int inh__json_num(inh__json *j, double *v) {
    inh__json_ws(j);
    char tmp[64];
    size_t k = 0;
    while (j->p + k < j->end && k < sizeof tmp - 1 && j->p[k] && strchr("+-0123456789.eE", j->p[k])) { tmp[k] = (char)j->p[k]; k++; }
    tmp[k] = 0;
    char *e;
    *v = strtod(tmp, &e);
    if (k == 0 || e != tmp + k) return inh__json_fail(j, "expected a number");
    j->p += k;
    return 0;
}
INH__FN int inh__json_word(inh__json *j, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return 0;
    j->p += n;
    return 1;
}
INH__FN int inh__json_bool(inh__json *j, int *v) {
    inh__json_ws(j);
    if (inh__json_word(j, "true")) *v = 1;
    else if (inh__json_word(j, "false")) *v = 0;
    else return inh__json_fail(j, "expected true or false");
    return 0;
}
/* skip one value of any kind */
INH__FN int inh__json_skip_depth(inh__json *j, inh__buf *tmp, int depth) {
    if (depth > 200) return inh__json_fail(j, "nested too deeply");
    int c = inh__json_peek(j);
    double d;
    if (c == '"') return inh__json_str(j, tmp);
    if (c == '{' || c == '[') {
        int close = c == '{' ? '}' : ']';
        j->p++;
        if (inh__json_peek(j) == close) { j->p++; return 0; }
        for (;;) {
            if (c == '{') { if (inh__json_str(j, tmp) || inh__json_expect(j, ':')) return -1; }
            if (inh__json_skip_depth(j, tmp, depth + 1)) return -1;
            if (inh__json_peek(j) == ',') { j->p++; continue; }
            return inh__json_expect(j, (char)close);
        }
    }
    if (inh__json_word(j, "true") || inh__json_word(j, "false") || inh__json_word(j, "null")) return 0;
    return inh__json_num(j, &d);
}
INH__FN int inh__json_skip(inh__json *j) {
    inh__buf tmp = {NULL, 0, 0};
    int r = inh__json_skip_depth(j, &tmp, 0);
    INH_FREE(tmp.p);
    return r;
}
INH__FN int inh__json_end(inh__json *j) {
    return inh__json_peek(j) == -1 ? 0 : inh__json_fail(j, "unexpected data after the JSON value");
}

/* ---------------------------------------------------------------------------------------------
   Kernels: forward/backward pairs. Backward functions ACCUMULATE (+=) into gradients; zeroing is
   explicit. `nt` is the number of worker threads. Every kernel splits work so that each output
   element has a single owner and a fixed summation order: results do not depend on nt. */

/* encoder: out (B,T,C) = wte[inp] + wpe[t] */
INH__FN void inh__encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *we = wte + (size_t)inp[b * T + t] * C, *pe = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
        }
}
INH__FN void inh__encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *d = dout + ((size_t)b * T + t) * C;
            float *dwe = dwte + (size_t)inp[b * T + t] * C, *dpe = dwpe + (size_t)t * C;
            for (int i = 0; i < C; i++) { dwe[i] += d[i]; dpe[i] += d[i]; }
        }
}

/* dot product with 8 lane sums combined pairwise: the same arithmetic with or without vectors.
   Written with GCC/clang vector types because auto-vectorisation of this loop varies 5x between
   -O2 and -O3. */
#if defined(__GNUC__) || defined(__clang__)
typedef float inh__v8 __attribute__((vector_size(32)));
static inline float inh__dot(const float *INH__RESTRICT a, const float *INH__RESTRICT b, int n) {
    inh__v8 s = {0, 0, 0, 0, 0, 0, 0, 0}, x, y;
    int i = 0;
    for (; i + 8 <= n; i += 8) { memcpy(&x, a + i, 32); memcpy(&y, b + i, 32); s += x * y; }
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}
#else
static float inh__dot(const float *INH__RESTRICT a, const float *INH__RESTRICT b, int n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}
#endif

/* the sum of x[0..n), and of (x - m)^2, in the same 8 lanes combined pairwise */
#if defined(__GNUC__) || defined(__clang__)
static inline float inh__sum_dev(const float *INH__RESTRICT x, int n, float m, int square) {
    inh__v8 s = {0, 0, 0, 0, 0, 0, 0, 0}, v;
    int i = 0;
    inh__v8 mv = {m, m, m, m, m, m, m, m};   /* (a vector, not the scalar: x87 builds widen a scalar to long double) */
    for (; i + 8 <= n; i += 8) { memcpy(&v, x + i, 32); v -= mv; s += square ? v * v : v; }
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += square ? (x[i] - m) * (x[i] - m) : x[i] - m;
    return r;
}
#else
static float inh__sum_dev(const float *INH__RESTRICT x, int n, float m, int square) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += square ? (x[i + k] - m) * (x[i + k] - m) : x[i + k] - m;
    float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) r += square ? (x[i] - m) * (x[i] - m) : x[i] - m;
    return r;
}
#endif

/* layernorm over C, eps 1e-5: out (N,C), mean and rstd (N) kept for backward; bias may be NULL.
   Rows split over threads; in backward, dinp by rows, then dw and db by 64-column blocks with
   rows added in order, so no result depends on the thread count. */
typedef struct { float *out, *mean, *rstd, *dinp, *dw, *db; const float *inp, *w, *bias, *dout, *cmean, *crstd; int N, C; } inh__ln_args;
static void inh__ln_fwd_rows(void *p, int lo, int hi) {
    inh__ln_args *a = (inh__ln_args *)p;
    int C = a->C;
    for (int n = lo; n < hi; n++) {
        const float *x = a->inp + (size_t)n * C;
        float m = inh__sum_dev(x, C, 0.0f, 0) / (float)C;
        float v = inh__sum_dev(x, C, m, 1) / (float)C;
        float s = 1.0f / sqrtf(v + 1e-5f);
        float *o = a->out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * a->w[i] + (a->bias ? a->bias[i] : 0.0f);
        a->mean[n] = m; a->rstd[n] = s;
    }
}
INH__FN void inh__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                   const float *w, const float *bias, int N, int C, int nt) {
    inh__ln_args a;
    memset(&a, 0, sizeof a);
    a.out = out; a.mean = mean; a.rstd = rstd; a.inp = inp; a.w = w; a.bias = bias; a.N = N; a.C = C;
    inh__parallel(inh__threads_for(nt, 8.0 * N * C), N, inh__ln_fwd_rows, &a);
}
static void inh__ln_bwd_rows(void *p, int lo, int hi) {
    inh__ln_args *a = (inh__ln_args *)p;
    int C = a->C;
    for (int n = lo; n < hi; n++) {
        const float *d = a->dout + (size_t)n * C, *x = a->inp + (size_t)n * C, *w = a->w;
        float m = a->cmean[n], s = a->crstd[n];
        float sd[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sdn[8] = {0, 0, 0, 0, 0, 0, 0, 0};   /* lanes of the two means */
        int i = 0;
        for (; i + 8 <= C; i += 8)
            for (int k = 0; k < 8; k++) {
                float dnorm = w[i + k] * d[i + k];
                sd[k] += dnorm; sdn[k] += dnorm * ((x[i + k] - m) * s);
            }
        float dnorm_mean = ((sd[0] + sd[1]) + (sd[2] + sd[3])) + ((sd[4] + sd[5]) + (sd[6] + sd[7]));
        float dnorm_norm_mean = ((sdn[0] + sdn[1]) + (sdn[2] + sdn[3])) + ((sdn[4] + sdn[5]) + (sdn[6] + sdn[7]));
        for (; i < C; i++) {
            float dnorm = w[i] * d[i];
            dnorm_mean += dnorm; dnorm_norm_mean += dnorm * ((x[i] - m) * s);
        }
        dnorm_mean /= (float)C; dnorm_norm_mean /= (float)C;
        float *di = a->dinp + (size_t)n * C;
        for (i = 0; i < C; i++) {
            float norm = (x[i] - m) * s, dnorm = w[i] * d[i];
            di[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
}
static void inh__ln_bwd_cols(void *p, int lo, int hi) {
    inh__ln_args *a = (inh__ln_args *)p;
    int C = a->C;
    for (int blk = lo; blk < hi; blk++) {
        int c0 = blk * 64, c1 = c0 + 64 < C ? c0 + 64 : C;
        for (int n = 0; n < a->N; n++) {
            const float *d = a->dout + (size_t)n * C, *x = a->inp + (size_t)n * C;
            float m = a->cmean[n], s = a->crstd[n];
            for (int i = c0; i < c1; i++) {
                if (a->db) a->db[i] += d[i];
                a->dw[i] += (x[i] - m) * s * d[i];
            }
        }
    }
}
INH__FN void inh__layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                    const float *w, const float *mean, const float *rstd, int N, int C, int nt) {
    inh__ln_args a;
    memset(&a, 0, sizeof a);
    a.dinp = dinp; a.dw = dw; a.db = db; a.dout = dout; a.inp = inp; a.w = w; a.cmean = mean; a.crstd = rstd; a.N = N; a.C = C;
    nt = inh__threads_for(nt, 8.0 * N * C);
    inh__parallel(nt, N, inh__ln_bwd_rows, &a);
    inh__parallel(nt, (C + 63) / 64, inh__ln_bwd_cols, &a);
}

/* --- matmul: the CPU reference of the first seam operation ---------------------------------- */
/* forward: out (N,OC) = inp (N,C) @ w^T + bias, w (OC,C), bias (OC) or NULL */
typedef struct { float *out; const float *inp, *w, *bias; int N, C, OC; } inh__mm_args;


/* Element-wise kernels split n elements into 64 fixed chunks; chunk k starts here, rounded down to
   whole vectors (k = 64: n). Which elements take the vector path then depends on n alone (all but
   the last n % INH__VW), never on the thread split. */
INH__FN size_t inh__chunk(size_t n, int k) {
    size_t w = INH__VW ? INH__VW : 1;
    return k >= 64 ? n : n * (size_t)k / 64 / w * w;
}

/* largest of x[0..n) (n >= 1) */
INH__FN float inh__max(const float *x, int n) {
    int i = 0;
    float m = x[0];
#if INH__VW
    if (n >= INH__VW) {
        inh__vf v = inh__vld(x);
        for (i = INH__VW; i + INH__VW <= n; i += INH__VW) v = inh__vmax(v, inh__vld(x + i));
        float t[INH__VW];
        inh__vst(t, v);
        for (int k = 0; k < INH__VW; k++) m = t[k] > m ? t[k] : m;
    }
#endif
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}
/* x[i] = e^(x[i] - sub) for i < n; returns the sum of the results, summed in double: lane l of
   the vectors (with lane l + INH__VW/2) into one double, then adjacent pairs of those (a tree) */
INH__FN double inh__exp_sum(float *x, int n, float sub) {
    int i = 0;
    double s = 0.0;
#if INH__VW
    inh__vf vs = inh__vset(sub);
    inh__vdsum d;
    inh__vdsum_zero(d);
    for (; i + INH__VW <= n; i += INH__VW) {
        inh__vf e = inh__vexp(inh__vsub(inh__vld(x + i), vs));
        inh__vst(x + i, e);
        inh__vdsum_add(d, e, x + i);
    }
    double t[INH__VW / 2];
    inh__vdsum_halves(t, d);
    for (int w = INH__VW / 2; w > 1; w /= 2)
        for (int l = 0; l < w / 2; l++) t[l] = t[2 * l] + t[2 * l + 1];
    s = t[0];
#endif
    for (; i < n; i++) { x[i] = expf(x[i] - sub); s += x[i]; }
    return s;
}
/* Tiling: a block of OB weight rows (kept in L2) meets every tile of RB input rows; within a
   column chunk of CB floats the RB rows stay in L1. The order in which each output element is
   summed never depends on the tiling or the thread split, so any thread count gives the same bits. */
enum { INH__RB = 8, INH__OB = 64, INH__CB = 256 };
static void inh__mm_fwd_rows(void *p, int lo, int hi) {
    inh__mm_args *a = (inh__mm_args *)p;
    int C = a->C, OC = a->OC;
    for (int o0 = 0; o0 < OC; o0 += INH__OB) {
        int o1 = o0 + INH__OB < OC ? o0 + INH__OB : OC;
        for (int n0 = lo; n0 < hi; n0 += INH__RB) {
            int n1 = n0 + INH__RB < hi ? n0 + INH__RB : hi;
            for (int oc = o0; oc < o1; oc++) {
                const float *w = a->w + (size_t)oc * C;
                float b = a->bias ? a->bias[oc] : 0.0f;
                for (int n = n0; n < n1; n++) a->out[(size_t)n * OC + oc] = inh__dot(a->inp + (size_t)n * C, w, C) + b;
            }
        }
    }
}
INH__FN void inh__matmul_forward_cpu(float *out, const float *inp, const float *w, const float *bias,
                                    int N, int C, int OC, int nt) {
    inh__mm_args a = {out, inp, w, bias, N, C, OC};
    inh__parallel(inh__threads_for(nt, 2.0 * N * C * OC), N, inh__mm_fwd_rows, &a);
}
/* backward: dinp (N,C) += dout (N,OC) @ w; dw (OC,C) += dout^T @ inp; dbias (OC) += sum_n dout.
   dinp is split by rows n, dw and dbias by rows oc. */
typedef struct { float *dinp, *dw, *dbias; const float *dout, *inp, *w; int N, C, OC; } inh__mmb_args;
static void inh__mm_bwd_dinp(void *p, int lo, int hi) {
    inh__mmb_args *a = (inh__mmb_args *)p;
    int C = a->C, OC = a->OC;
    for (int n0 = lo; n0 < hi; n0 += INH__RB) {
        int n1 = n0 + INH__RB < hi ? n0 + INH__RB : hi;
        for (int c0 = 0; c0 < C; c0 += INH__CB) {
            int cl = c0 + INH__CB < C ? INH__CB : C - c0;
            for (int oc = 0; oc < OC; oc++) {           /* each dinp element sums over oc in order */
                const float *INH__RESTRICT wr = a->w + (size_t)oc * C + c0;
                for (int n = n0; n < n1; n++) {
                    float g = a->dout[(size_t)n * OC + oc];
                    float *INH__RESTRICT di = a->dinp + (size_t)n * C + c0;
                    for (int i = 0; i < cl; i++) di[i] += g * wr[i];
                }
            }
        }
    }
}
static void inh__mm_bwd_dw(void *p, int lo, int hi) {
    inh__mmb_args *a = (inh__mmb_args *)p;
    int C = a->C, OC = a->OC, N = a->N;
    for (int o0 = lo; o0 < hi; o0 += INH__RB) {
        int o1 = o0 + INH__RB < hi ? o0 + INH__RB : hi;
        for (int c0 = 0; a->dw && c0 < C; c0 += INH__CB) {
            int cl = c0 + INH__CB < C ? INH__CB : C - c0;
            for (int n = 0; n < N; n++) {               /* each dw element sums over n in order */
                const float *INH__RESTRICT x = a->inp + (size_t)n * C + c0;
                const float *d = a->dout + (size_t)n * OC;
                for (int oc = o0; oc < o1; oc++) {
                    float g = d[oc], *INH__RESTRICT dwr = a->dw + (size_t)oc * C + c0;
                    for (int i = 0; i < cl; i++) dwr[i] += g * x[i];
                }
            }
        }
        if (a->dbias)
            for (int oc = o0; oc < o1; oc++) {
                float db = 0.0f;
                for (int n = 0; n < N; n++) db += a->dout[(size_t)n * OC + oc];
                a->dbias[oc] += db;
            }
    }
}
INH__FN void inh__matmul_backward_cpu(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                     const float *w, int N, int C, int OC, int nt) {
    inh__mmb_args a = {dinp, dw, dbias, dout, inp, w, N, C, OC};
    nt = inh__threads_for(nt, 2.0 * N * C * OC);
    if (dinp) inh__parallel(nt, N, inh__mm_bwd_dinp, &a);
    if (dw || dbias) inh__parallel(nt, OC, inh__mm_bwd_dw, &a);
}

/* --- attention: the second seam operation ---------------------------------------------------- */
/* Causal softmax attention, split by (b, h). scale = 1/sqrt(hs), divided by (layer+1) with layer
   scaling. Two ways to hold the (T,T) matrix of post-softmax weights A:
     plain (*_cpu): A is stored, (B,NH,T,T) per layer; the analysis reads it;
     flash (*_flash): never stored. Each row is recomputed when needed into a buffer of 2T floats
       per (b,h), so memory grows linearly with T. The row is computed by the same code in both,
       so the two give the same bits; flash pays one more pass of q.k in backward. */
typedef struct { float *out, *att, *datt, *rows; const float *qkv, *dout; float *dqkv; int B, T, C, NH; float scale; } inh__att_args;

/* Per thread, K and V of the current (b,h) are copied transposed (kt[i*Tp + t] = k_t[i]), so the
   dot products of a row are register-blocked FMAs along t (64 keys per block, no horizontal
   sums). Tp = T rounded up to 64; the padding stays zero. If that scratch (2 hs Tp floats)
   cannot be allocated, plain dot products do the same work. */
#if INH__VW
enum { INH__ATT_J = INH__VATT * INH__VW };   /* keys (or channels) per block: INH__VATT vectors */
#else
enum { INH__ATT_J = 64 };
#endif
typedef struct { float *kt, *vt, *mem; int Tp; } inh__att_tr;
/* a float pointer 64-byte aligned within p (p has 16 floats to spare): whole-line vector loads */
static inline float *inh__align64(float *p) { return p ? p + ((64 - (uintptr_t)p % 64) % 64) / sizeof(float) : NULL; }
INH__FN void inh__att_tr_init(inh__att_tr *s, int T, int hs) {
    s->Tp = (T + INH__ATT_J - 1) / INH__ATT_J * INH__ATT_J + 16;   /* + 16: rows 64 bytes apart in the cache's sets */
    s->mem = inh__scratch((size_t)2 * hs * s->Tp + 16);
    s->kt = inh__align64(s->mem);
    s->vt = s->kt ? s->kt + (size_t)hs * s->Tp : NULL;
}
/* K (which 1) or V (which 2) of head h of one sequence, transposed */
INH__FN void inh__att_tr_load(inh__att_tr *s, const float *base, int T, int C, int h, int hs, int which, float *dst) {
    int t = 0;
#if INH__VW
    for (; t + INH__VW <= T && hs % INH__VW == 0; t += INH__VW)   /* square blocks transposed in registers */
        for (int i0 = 0; i0 < hs; i0 += INH__VW) {
            inh__vf r[INH__VW];
            INH__UNROLL for (int e = 0; e < INH__VW; e++) r[e] = inh__vld(base + (size_t)(t + e) * 3 * C + which * C + h * hs + i0);
            inh__vtr(r);
            INH__UNROLL for (int e = 0; e < INH__VW; e++) inh__vst(dst + (size_t)(i0 + e) * s->Tp + t, r[e]);
        }
#endif
    for (; t < T; t++) {
        const float *x = base + (size_t)t * 3 * C + which * C + h * hs;
        for (int i = 0; i < hs; i++) dst[(size_t)i * s->Tp + t] = x[i];
    }
}
/* acc[l] = sum over j < n of w[j] * rows[j*stride + l] for l < INH__ATT_J. Vectors: INH__VATT
   registers per chain, even and odd j in two chains of FMAs added at the end; plain C: in order of j. */
static inline void inh__att_acc(float *INH__RESTRICT acc, const float *INH__RESTRICT w, const float *INH__RESTRICT rows,
                                size_t stride, int n) {
#if INH__VW
    inh__vf a[INH__VATT], b[INH__VATT];
    INH__UNROLL for (int v = 0; v < INH__VATT; v++) { a[v] = inh__vset(0.0f); b[v] = a[v]; }
    int j = 0;
    for (; j + 2 <= n; j += 2) {
        const float *r = rows + j * stride, *r2 = r + stride;
        inh__vf u = inh__vset(w[j]), q = inh__vset(w[j + 1]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) a[v] = inh__vfma(u, inh__vld(r + v * INH__VW), a[v]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) b[v] = inh__vfma(q, inh__vld(r2 + v * INH__VW), b[v]);
    }
    if (j < n) {
        const float *r = rows + j * stride;
        inh__vf u = inh__vset(w[j]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) a[v] = inh__vfma(u, inh__vld(r + v * INH__VW), a[v]);
    }
    INH__UNROLL for (int v = 0; v < INH__VATT; v++) inh__vst(acc + v * INH__VW, inh__vadd(a[v], b[v]));
#else
    for (int l = 0; l < INH__ATT_J; l++) acc[l] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float wj = w[j], *r = rows + j * stride;
        for (int l = 0; l < INH__ATT_J; l++) acc[l] += wj * r[l];
    }
#endif
}
/* Two rows at once over the same rows of data, as inh__att_acc sums them (chains a and b, even and
   odd j), the chains kept in ch = {a, b} of a row (2 INH__ATT_J floats) so that a sum can go on
   over later blocks of keys: zero at j = 0; keys j .. nA-1 for row A, j .. nB-1 for row B (nA <= nB).
   One load of the data feeds both rows (a row alone is bound by loads). */
INH__INLINE void inh__att_chain2(float *INH__RESTRICT chA, float *INH__RESTRICT chB, const float *INH__RESTRICT wA,
                                   const float *INH__RESTRICT wB, const float *INH__RESTRICT rows, size_t stride, int j, int nA, int nB) {
#if INH__VW
    inh__vf a[INH__VATT], b[INH__VATT], c[INH__VATT], d[INH__VATT];
    INH__UNROLL for (int v = 0; v < INH__VATT; v++) {
        if (j == 0) { a[v] = inh__vset(0.0f); b[v] = a[v]; c[v] = a[v]; d[v] = a[v]; }
        else {
            a[v] = inh__vld(chA + v * INH__VW); b[v] = inh__vld(chA + INH__ATT_J + v * INH__VW);
            c[v] = inh__vld(chB + v * INH__VW); d[v] = inh__vld(chB + INH__ATT_J + v * INH__VW);
        }
    }
    for (; j + 2 <= nA; j += 2) {
        const float *r = rows + j * stride, *r2 = r + stride;
        inh__vf u = inh__vset(wA[j]), q = inh__vset(wA[j + 1]), p = inh__vset(wB[j]), s = inh__vset(wB[j + 1]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) {
            inh__vf x = inh__vld(r + v * INH__VW);
            a[v] = inh__vfma(u, x, a[v]); c[v] = inh__vfma(p, x, c[v]);
        }
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) {
            inh__vf x = inh__vld(r2 + v * INH__VW);
            b[v] = inh__vfma(q, x, b[v]); d[v] = inh__vfma(s, x, d[v]);
        }
    }
    if (j < nA) {   /* row A's last key, odd: chain a (only at the end of the row) */
        const float *r = rows + j * stride;
        inh__vf u = inh__vset(wA[j]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) a[v] = inh__vfma(u, inh__vld(r + v * INH__VW), a[v]);
    }
    INH__UNROLL for (int v = 0; v < INH__VATT; v++) { inh__vst(chA + v * INH__VW, a[v]); inh__vst(chA + INH__ATT_J + v * INH__VW, b[v]); }
    for (; j + 2 <= nB; j += 2) {
        const float *r = rows + j * stride, *r2 = r + stride;
        inh__vf p = inh__vset(wB[j]), s = inh__vset(wB[j + 1]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) c[v] = inh__vfma(p, inh__vld(r + v * INH__VW), c[v]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) d[v] = inh__vfma(s, inh__vld(r2 + v * INH__VW), d[v]);
    }
    if (j < nB) {
        const float *r = rows + j * stride;
        inh__vf p = inh__vset(wB[j]);
        INH__UNROLL for (int v = 0; v < INH__VATT; v++) c[v] = inh__vfma(p, inh__vld(r + v * INH__VW), c[v]);
    }
    INH__UNROLL for (int v = 0; v < INH__VATT; v++) { inh__vst(chB + v * INH__VW, c[v]); inh__vst(chB + INH__ATT_J + v * INH__VW, d[v]); }
#else
    (void)chA; (void)chB; (void)wA; (void)wB; (void)rows; (void)stride; (void)j; (void)nA; (void)nB;
#endif
}
/* two rows at once, each summed exactly as inh__att_acc sums it (accA from wA over nA terms,
   accB from wB over nB >= nA terms) */
static inline void inh__att_acc2(float *INH__RESTRICT accA, float *INH__RESTRICT accB, const float *INH__RESTRICT wA,
                                 const float *INH__RESTRICT wB, const float *INH__RESTRICT rows, size_t stride, int nA, int nB) {
#if INH__VW
    float ch[2][2 * INH__ATT_J];   /* chains a and b of each row, then a + b */
    inh__att_chain2(ch[0], ch[1], wA, wB, rows, stride, 0, nA, nB);
    INH__UNROLL for (int v = 0; v < INH__ATT_J; v += INH__VW) {
        inh__vst(accA + v, inh__vadd(inh__vld(ch[0] + v), inh__vld(ch[0] + INH__ATT_J + v)));
        inh__vst(accB + v, inh__vadd(inh__vld(ch[1] + v), inh__vld(ch[1] + INH__ATT_J + v)));
    }
#else
    inh__att_acc(accA, wA, rows, stride, nA);
    inh__att_acc(accB, wB, rows, stride, nB);
#endif
}
/* row[j] = x . mt[:, j] for j < n (mt: hs rows of Tp floats, Tp a multiple of INH__ATT_J) */
static inline void inh__att_dots(const float *INH__RESTRICT x, const float *INH__RESTRICT mt, int Tp, int n, int hs,
                                 float *INH__RESTRICT row) {
    for (int j = 0; j < n; j += INH__ATT_J) {
        float acc[INH__ATT_J];
        inh__att_acc(acc, x, mt + j, (size_t)Tp, hs);
        int e = n - j < INH__ATT_J ? n - j : INH__ATT_J;
        for (int l = 0; l < e; l++) row[j + l] = acc[l];
    }
}
/* The last part of a row of channels, m < INH__ATT_J of them: two rows (one when wB is NULL), ch =
   the m sums of a row, each product rounded before it is added, in order of j (what the plain loop
   compiles to without FP contraction, GCC's default under -std=c99); zero at j = 0, else going on.
   nv whole vectors (a constant where it is inlined: registers), the m % INH__VW lanes left in plain C. */
INH__INLINE void inh__att_part_nv(float *INH__RESTRICT chA, float *INH__RESTRICT chB, const float *INH__RESTRICT wA,
                                    const float *INH__RESTRICT wB, const float *INH__RESTRICT rows, size_t stride, int j, int nA,
                                    int nB, int m, const int nv) {
    int l0 = 0;
#if INH__VW
    inh__vf a[INH__VATT], c[INH__VATT];
    INH__UNROLL for (int v = 0; v < nv; v++) {
        a[v] = j ? inh__vld(chA + v * INH__VW) : inh__vset(0.0f);
        c[v] = j && wB ? inh__vld(chB + v * INH__VW) : inh__vset(0.0f);
    }
    int k = j;
    if (wB)
        for (; k < nA; k++) {
            const float *r = rows + k * stride;
            inh__vf u = inh__vset(wA[k]), p = inh__vset(wB[k]);
            INH__UNROLL for (int v = 0; v < nv; v++) {
                inh__vf x = inh__vld(r + v * INH__VW);
                a[v] = inh__vadd(a[v], inh__vmul(u, x)); c[v] = inh__vadd(c[v], inh__vmul(p, x));
            }
        }
    else
        for (; k < nA; k++) {
            const float *r = rows + k * stride;
            inh__vf u = inh__vset(wA[k]);
            INH__UNROLL for (int v = 0; v < nv; v++) a[v] = inh__vadd(a[v], inh__vmul(u, inh__vld(r + v * INH__VW)));
        }
    for (; wB && k < nB; k++) {
        const float *r = rows + k * stride;
        inh__vf p = inh__vset(wB[k]);
        INH__UNROLL for (int v = 0; v < nv; v++) c[v] = inh__vadd(c[v], inh__vmul(p, inh__vld(r + v * INH__VW)));
    }
    INH__UNROLL for (int v = 0; v < nv; v++) {
        inh__vst(chA + v * INH__VW, a[v]);
        if (wB) inh__vst(chB + v * INH__VW, c[v]);
    }
    l0 = nv * INH__VW;
#else
    (void)nv;
#endif
    for (int l = l0; l < m; l++) {
        float sa = j ? chA[l] : 0.0f;
        for (int k = j; k < nA; k++) sa += wA[k] * rows[k * stride + l];
        chA[l] = sa;
        if (!wB) continue;
        float sc = j ? chB[l] : 0.0f;
        for (int k = j; k < nB; k++) sc += wB[k] * rows[k * stride + l];
        chB[l] = sc;
    }
}
/* inh__att_part_nv with nv = m / INH__VW made a constant */
INH__INLINE void inh__att_part(float *INH__RESTRICT chA, float *INH__RESTRICT chB, const float *INH__RESTRICT wA,
                                 const float *INH__RESTRICT wB, const float *INH__RESTRICT rows, size_t stride, int j, int nA,
                                 int nB, int m) {
#if INH__VW
    switch (m / INH__VW) {
    case 0: inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, 0); break;
    case 1: inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, 1); break;
#if INH__VATT > 2
    case 2: inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, 2); break;
    case 3: inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, 3); break;
#endif
    default: inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, INH__VATT - 1); break;
    }
#else
    inh__att_part_nv(chA, chB, wA, wB, rows, stride, j, nA, nB, m, 0);
#endif
}
/* y[0..hs) (+)= sum over j < n of w[j] * rows[j*stride + i], INH__ATT_J channels at a time */
static inline void inh__att_wsum(float *INH__RESTRICT y, const float *INH__RESTRICT w, const float *INH__RESTRICT rows,
                                 size_t stride, int n, int hs, int add) {
    for (int i0 = 0; i0 < hs; i0 += INH__ATT_J) {
        int m = hs - i0 < INH__ATT_J ? hs - i0 : INH__ATT_J;
        float acc[INH__ATT_J];
        if (m == INH__ATT_J) inh__att_acc(acc, w, rows + i0, stride, n);
        else inh__att_part(acc, NULL, w, NULL, rows + i0, stride, 0, n, n, m);
        for (int l = 0; l < m; l++) y[i0 + l] = add ? y[i0 + l] + acc[l] : acc[l];
    }
}

/* inh__att_dots for two vectors xA, xB against the same mt, nA <= nB */
static inline void inh__att_dots2(const float *INH__RESTRICT xA, const float *INH__RESTRICT xB, const float *INH__RESTRICT mt, int Tp,
                                  int nA, int nB, int hs, float *INH__RESTRICT rowA, float *INH__RESTRICT rowB) {
    for (int j = 0; j < nB; j += INH__ATT_J) {
        float acc[INH__ATT_J], accB[INH__ATT_J];
        inh__att_acc2(acc, accB, xA, xB, mt + j, (size_t)Tp, hs, hs);
        int eA = nA - j < INH__ATT_J ? nA - j : INH__ATT_J, eB = nB - j < INH__ATT_J ? nB - j : INH__ATT_J;
        for (int l = 0; l < eA; l++) rowA[j + l] = acc[l];
        for (int l = 0; l < eB; l++) rowB[j + l] = accB[l];
    }
}
/* inh__att_wsum for two outputs over the same rows, nA <= nB terms */
static inline void inh__att_wsum2(float *INH__RESTRICT yA, float *INH__RESTRICT yB, const float *INH__RESTRICT wA, const float *INH__RESTRICT wB,
                                  const float *INH__RESTRICT rows, size_t stride, int nA, int nB, int hs, int add) {
    for (int i0 = 0; i0 < hs; i0 += INH__ATT_J) {
        int m = hs - i0 < INH__ATT_J ? hs - i0 : INH__ATT_J;
        float acc[INH__ATT_J], accB[INH__ATT_J];
        if (m < INH__ATT_J) inh__att_part(acc, accB, wA, wB, rows + i0, stride, 0, nA, nB, m);
        else inh__att_acc2(acc, accB, wA, wB, rows + i0, stride, nA, nB);
        for (int l = 0; l < m; l++) yA[i0 + l] = add ? yA[i0 + l] + acc[l] : acc[l];
        for (int l = 0; l < m; l++) yB[i0 + l] = add ? yB[i0 + l] + accB[l] : accB[l];
    }
}

/* softmax row t of head h: row[0..t] = softmax(q_t . k_t2 * scale); kt NULL: plain dot products */
static inline void inh__att_softmax(float *row, int t, float scale);
static inline void inh__att_row(const float *base, const inh__att_tr *s, int t, int h, int hs, int C, float scale, float *row) {
    const float *q = base + (size_t)t * 3 * C + h * hs;
    if (s->kt) inh__att_dots(q, s->kt, s->Tp, t + 1, hs, row);
    else
        for (int t2 = 0; t2 <= t; t2++) row[t2] = inh__dot(q, base + (size_t)t2 * 3 * C + C + h * hs, hs);
    inh__att_softmax(row, t, scale);
}
/* rows t and t+1 at once (the same bits as two calls of inh__att_row); needs s->kt */
static inline void inh__att_row2(const float *base, const inh__att_tr *s, int t, int h, int hs, int C, float scale,
                                 float *row, float *row2) {
    const float *q = base + (size_t)t * 3 * C + h * hs;
    inh__att_dots2(q, q + 3 * C, s->kt, s->Tp, t + 1, t + 2, hs, row, row2);
    inh__att_softmax(row, t, scale);
    inh__att_softmax(row2, t + 1, scale);
}
/* row[0..t] = softmax(row[0..t] * scale) */
static inline void inh__att_softmax(float *row, int t, float scale) {
    float mx = -INFINITY;
    int t2 = 0;
#if INH__VW
    /* the same products and the same maximum (the sign of a zero maximum may differ, and exp
       maps x - 0 and x + 0 alike; a NaN: garbage in, garbage out as below) */
    inh__vf vm = inh__vset(-INFINITY), vsc = inh__vset(scale);
    for (; t2 + INH__VW <= t + 1; t2 += INH__VW) {
        inh__vf x = inh__vmul(inh__vld(row + t2), vsc);
        inh__vst(row + t2, x);
        vm = inh__vmax(x, vm);
    }
    float lanes[INH__VW];
    inh__vst(lanes, vm);
    for (int l = 0; l < INH__VW; l++)
        if (lanes[l] > mx) mx = lanes[l];
#endif
    for (; t2 <= t; t2++) {
        row[t2] *= scale;
        if (row[t2] > mx) mx = row[t2];
    }
    float inv = (float)(1.0 / inh__exp_sum(row, t + 1, mx));
    for (int t2 = 0; t2 <= t; t2++) row[t2] *= inv;
}

/* Key-blocked attention (flash, any vector set): rows go in blocks of INH__ATT_SB. Each
   product pass takes one block of INH__ATT_J keys (16 KB at hs = 64 and 64 keys, kept in L1) against every row pair of
   the block, where the row-at-a-time code streamed all of K or V from L2 for each pair. The sums
   are the same as the row-at-a-time kernels': a dot product sums over the channels as
   inh__att_acc does, and a weighted sum over keys runs the same two chains of FMAs (even and odd
   keys), which stay in memory between key blocks and are added at the end; so the bits are the
   same. */
enum { INH__ATT_SB = 64 };
/* S[r][0 .. t0+r] = x_r . mt[:, j] for the nr rows x (hs floats apart) of a block starting at row
   t0 (S: rows Tp floats apart; each block of 64 keys is written whole) */
static inline void inh__att_dots_blk(const float *X, int nr, int t0, const float *mt, int Tp, int hs, float *S) {
    for (int j0 = 0; j0 < t0 + nr; j0 += INH__ATT_J) {
        int r = j0 - t0 - 1 > 0 ? (j0 - t0 - 1) & ~1 : 0;   /* rows t < j0 have no key here */
        for (; r + 1 < nr; r += 2)
            inh__att_acc2(S + (size_t)r * Tp + j0, S + (size_t)(r + 1) * Tp + j0, X + (size_t)r * hs, X + (size_t)(r + 1) * hs,
                             mt + j0, (size_t)Tp, hs, hs);
        if (r < nr) inh__att_acc(S + (size_t)r * Tp + j0, X + (size_t)r * hs, mt + j0, (size_t)Tp, hs);
    }
}
/* y_r (+)= sum over j <= t0+r of P[r][j] rows_j for the nr rows of a block (rows: hs floats apart,
   64-byte aligned; y_r ystride floats apart); ch: scratch of 128 nr floats */
static inline void inh__att_wsum_blk(float *Y, size_t ystride, int add, const float *P, int Tp, int nr, int t0,
                                     const float *rows, int hs, float *ch) {
    float spare[2 * INH__ATT_J];
    for (int i0 = 0; i0 < hs; i0 += INH__ATT_J) {
        int m = hs - i0 < INH__ATT_J ? hs - i0 : INH__ATT_J;   /* (a last part of m < INH__ATT_J channels: one chain) */
        for (int j0 = 0; j0 < t0 + nr; j0 += INH__ATT_J) {
            int r = j0 - t0 - 1 > 0 ? (j0 - t0 - 1) & ~1 : 0, je = j0 + INH__ATT_J;
            for (; r < nr; r += 2) {
                int nA = t0 + r + 1, nB = r + 1 < nr ? nA + 1 : nA;
                if (nA > je) nA = je;
                if (nB > je) nB = je;
                float *cA = ch + (size_t)r * 2 * INH__ATT_J, *cB = r + 1 < nr ? ch + (size_t)(r + 1) * 2 * INH__ATT_J : spare;
                const float *pA = P + (size_t)r * Tp, *pB = P + (size_t)(r + 1 < nr ? r + 1 : r) * Tp;
                if (m == INH__ATT_J) inh__att_chain2(cA, cB, pA, pB, rows + i0, (size_t)hs, j0, nA < j0 ? j0 : nA, nB);
                else inh__att_part(cA, cB, pA, pB, rows + i0, (size_t)hs, j0, nA < j0 ? j0 : nA, nB, m);
            }
        }
        for (int r = 0; r < nr; r++) {
            float *y = Y + (size_t)r * ystride + i0;
            const float *c = ch + (size_t)r * 2 * INH__ATT_J;
            if (m == INH__ATT_J)
                for (int l = 0; l < m; l++) y[l] = add ? y[l] + (c[l] + c[INH__ATT_J + l]) : c[l] + c[INH__ATT_J + l];
            else
                for (int l = 0; l < m; l++) y[l] = add ? y[l] + c[l] : c[l];
        }
    }
}
/* rows t of one head (src: stride floats apart) copied hs floats apart into dst */
static inline void inh__att_rows_copy(float *dst, const float *src, size_t stride, int n, int hs) {
    for (int t = 0; t < n; t++) memcpy(dst + (size_t)t * hs, src + (size_t)t * stride, (size_t)hs * sizeof(float));
}
/* forward of one (b,h) this way; buf: inh__att_blk_floats(T, hs) floats (what backward needs; forward
   uses less), 64-byte aligned */
static inline size_t inh__att_blk_floats(int Tp, int hs) { return (size_t)INH__ATT_SB * (4 * Tp + 2 * INH__ATT_J + 2 * hs) + (size_t)3 * Tp * hs; }
static void inh__att_fwd_blk(const inh__att_args *a, const inh__att_tr *s, int bh, float *buf) {
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C, b = bh / NH, h = bh % NH, Tp = s->Tp;
    const float *base = a->qkv + (size_t)b * T * C3;
    float *S = buf, *ch = S + (size_t)INH__ATT_SB * Tp, *X = ch + (size_t)INH__ATT_SB * 2 * INH__ATT_J, *V = X + (size_t)INH__ATT_SB * hs;
    inh__att_rows_copy(V, base + 2 * C + h * hs, (size_t)C3, T, hs);
    for (int t0 = 0; t0 < T; t0 += INH__ATT_SB) {
        int nr = T - t0 < INH__ATT_SB ? T - t0 : INH__ATT_SB;
        inh__att_rows_copy(X, base + (size_t)t0 * C3 + h * hs, (size_t)C3, nr, hs);
        inh__att_dots_blk(X, nr, t0, s->kt, Tp, hs, S);
        for (int r = 0; r < nr; r++) inh__att_softmax(S + (size_t)r * Tp, t0 + r, a->scale);
        inh__att_wsum_blk(a->out + ((size_t)b * T + t0) * C + h * hs, (size_t)C, 0, S, Tp, nr, t0, V, hs, ch);
    }
}
static void inh__att_fwd_bh(void *p, int lo, int hi) {
    inh__att_args *a = (inh__att_args *)p;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C;
    inh__att_tr s;
    inh__att_tr_init(&s, T, hs);
#if INH__VW
    float *blk_mem = s.kt && !a->att ? inh__scratch(inh__att_blk_floats(s.Tp, hs) + 16) : NULL;
#else
    float *blk_mem = NULL;
#endif
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *base = a->qkv + (size_t)b * T * C3;
        if (s.kt) inh__att_tr_load(&s, base, T, C, h, hs, 1, s.kt);
        if (blk_mem) { inh__att_fwd_blk(a, &s, bh, inh__align64(blk_mem)); continue; }
        for (int t = 0; t < T; t++) {
            float *row = a->att ? a->att + ((size_t)bh * T + t) * T : a->rows + (size_t)bh * 2 * T;
            float *out = a->out + ((size_t)b * T + t) * C + h * hs;
            if (s.kt && t + 1 < T) {   /* rows t and t+1 (the next row of att, or the second half of rows) */
                inh__att_row2(base, &s, t, h, hs, C, a->scale, row, row + T);
                if (a->att) {
                    for (int t2 = t + 1; t2 < T; t2++) row[t2] = 0.0f;
                    for (int t2 = t + 2; t2 < T; t2++) row[T + t2] = 0.0f;
                }
                inh__att_wsum2(out, out + C, row, row + T, base + 2 * C + h * hs, (size_t)C3, t + 1, t + 2, hs, 0);
                t++;
                continue;
            }
            inh__att_row(base, &s, t, h, hs, C, a->scale, row);
            if (a->att) for (int t2 = t + 1; t2 < T; t2++) row[t2] = 0.0f;
            inh__att_wsum(out, row, base + 2 * C + h * hs, (size_t)C3, t + 1, hs, 0);
        }
    }
    INH_FREE(blk_mem);
    INH_FREE(s.mem);
}
/* backward: dqkv (B,T,3C) += from dout (B,T,C). Query rows go in blocks of R: each row's
   softmax backward gives dq at once; dk and dv, which every later row adds to, are updated once
   per block with the block's rows summed in order (a 16-row product per key, not 16 updates). */
enum { INH__ATT_R = 16 };
/* dk or dv of the keys of a super-block (rows t0 .. t0+nr-1): for every key t2 and every block of
   INH__ATT_R rows u0.. in order, y_t2 += sum over the block's rows t >= t2 of W[t][t2] x_t: the
   row-at-a-time backward's calls of inh__att_wsum(2), with the weights of a key side by side in WT
   (the block's weights transposed, WT[t2 * SB + r] for row t0 + r) instead of gathered. xs: the nr
   rows x, hs floats apart; y: rows hs floats apart. */
static void inh__att_dkv_blk(float *y, const float *WT, const float *xs, int t0, int nr, int hs) {
    enum { R = INH__ATT_R, SB = INH__ATT_SB };
    int nk = t0 + nr;
    for (int t2 = 0; t2 < nk; t2 += 2)   /* keys in pairs */
        for (int u0 = t0; u0 < nk; u0 += R) {
            int n = nk - u0 < R ? nk - u0 : R;
            const float *x = xs + (size_t)(u0 - t0) * hs, *w = WT + (size_t)t2 * SB + (u0 - t0);
            float *yt = y + (size_t)t2 * hs;
            if (t2 + 1 < nk && t2 + 1 <= u0) {   /* keys t2 and t2+1 take every row of the block: the loads shared */
                inh__att_wsum2(yt, yt + hs, w, w + SB, x, (size_t)hs, n, n, hs, 1);
                continue;
            }
            for (int k = 0; k <= 1 && t2 + k < nk && t2 + k <= u0 + n - 1; k++) {   /* alone: the rows from t2+k on */
                int r0 = t2 + k > u0 ? t2 + k - u0 : 0;
                inh__att_wsum(yt + (size_t)k * hs, w + (size_t)k * SB + r0, x + (size_t)r0 * hs, (size_t)hs, n - r0, hs, 1);
            }
        }
}
/* W (INH__ATT_SB rows, Tp floats apart) transposed into WT[t2 * SB + r] for the keys t2 < nk */
static void inh__att_transpose_blk(float *WT, const float *W, int Tp, int nk) {
#if INH__VW
    for (int k0 = 0; k0 < nk; k0 += INH__VW)
        for (int r0 = 0; r0 < INH__ATT_SB; r0 += INH__VW) {
            inh__vf v[INH__VW];
            INH__UNROLL for (int e = 0; e < INH__VW; e++) v[e] = inh__vld(W + (size_t)(r0 + e) * Tp + k0);
            inh__vtr(v);
            INH__UNROLL for (int e = 0; e < INH__VW; e++) inh__vst(WT + (size_t)(k0 + e) * INH__ATT_SB + r0, v[e]);
        }
#else
    for (int k = 0; k < nk; k++)
        for (int r = 0; r < INH__ATT_SB; r++) WT[(size_t)k * INH__ATT_SB + r] = W[(size_t)r * Tp + k];
#endif
}
/* backward of one (b,h) by key blocks (flash, AVX-512), the same bits as the row-at-a-time
   code below: P and dS of INH__ATT_SB rows come from the key-blocked products, dq from the
   key-blocked weighted sum, and dk and dv take the rows in the same blocks of INH__ATT_R as there */
static void inh__att_bwd_blk(const inh__att_args *a, const inh__att_tr *s, int bh, float *buf) {
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C, b = bh / NH, h = bh % NH, Tp = s->Tp;
    const float *base = a->qkv + (size_t)b * T * C3;
    float *dbase = a->dqkv + (size_t)b * T * C3;
    float *P = buf, *dS = P + (size_t)INH__ATT_SB * Tp, *ch = dS + (size_t)INH__ATT_SB * Tp, *X = ch + (size_t)INH__ATT_SB * 2 * INH__ATT_J;
    float *D = X + (size_t)INH__ATT_SB * hs, *K = D + (size_t)INH__ATT_SB * hs, *dK = K + (size_t)Tp * hs, *dV = dK + (size_t)Tp * hs;
    float *PT = dV + (size_t)Tp * hs, *ST = PT + (size_t)Tp * INH__ATT_SB;
    inh__att_rows_copy(K, base + C + h * hs, (size_t)C3, T, hs);
    /* dk and dv of the head are summed in a copy whose rows lie together (in L2, where the rows of
       dqkv are 3C apart), then copied back: the same additions on the same values */
    inh__att_rows_copy(dK, dbase + C + h * hs, (size_t)C3, T, hs);
    inh__att_rows_copy(dV, dbase + 2 * C + h * hs, (size_t)C3, T, hs);
    for (int t0 = 0; t0 < T; t0 += INH__ATT_SB) {
        int nr = T - t0 < INH__ATT_SB ? T - t0 : INH__ATT_SB;
        inh__att_rows_copy(X, base + (size_t)t0 * C3 + h * hs, (size_t)C3, nr, hs);
        inh__att_rows_copy(D, a->dout + ((size_t)b * T + t0) * C + h * hs, (size_t)C, nr, hs);
        inh__att_dots_blk(X, nr, t0, s->kt, Tp, hs, P);
        for (int r = 0; r < nr; r++) inh__att_softmax(P + (size_t)r * Tp, t0 + r, a->scale);
        inh__att_dots_blk(D, nr, t0, s->vt, Tp, hs, dS);   /* out = att @ v: datt = d . v */
        for (int r = 0; r < nr; r += 4) {   /* softmax backward: dpre = att * (datt - sum(att * datt)) * scale */
            int k = nr - r < 4 ? nr - r : 4, tm = t0 + r;   /* 4 rows' sums side by side, each in the order of t2 */
            float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const float *p0 = P + (size_t)r * Tp, *d0 = dS + (size_t)r * Tp;
            if (k == 4)
                for (int t2 = 0; t2 <= tm; t2++) {
                    sum[0] += p0[t2] * d0[t2];
                    sum[1] += p0[Tp + t2] * d0[Tp + t2];
                    sum[2] += p0[2 * Tp + t2] * d0[2 * Tp + t2];
                    sum[3] += p0[3 * Tp + t2] * d0[3 * Tp + t2];
                }
            for (int q = 0; q < k; q++) {
                const float *row = p0 + (size_t)q * Tp, *drow = d0 + (size_t)q * Tp;
                for (int t2 = k == 4 ? tm + 1 : 0; t2 <= tm + q; t2++) sum[q] += row[t2] * drow[t2];
            }
            for (int q = 0; q < k; q++) {
                float *row = P + (size_t)(r + q) * Tp, *drow = dS + (size_t)(r + q) * Tp;
                for (int t2 = 0; t2 <= tm + q; t2++) drow[t2] = row[t2] * (drow[t2] - sum[q]) * a->scale;
            }
        }
        inh__att_wsum_blk(dbase + (size_t)t0 * C3 + h * hs, (size_t)C3, 1, dS, Tp, nr, t0, K, hs, ch);   /* dq */
        /* dv[t2] += sum over rows t >= t2 of P[t][t2] d_t, dk likewise with dS and q_t, in blocks of R rows */
        inh__att_transpose_blk(PT, P, Tp, t0 + nr);
        inh__att_transpose_blk(ST, dS, Tp, t0 + nr);
        inh__att_dkv_blk(dV, PT, D, t0, nr, hs);
        inh__att_dkv_blk(dK, ST, X, t0, nr, hs);
    }
    for (int t = 0; t < T; t++) {
        memcpy(dbase + (size_t)t * C3 + C + h * hs, dK + (size_t)t * hs, (size_t)hs * sizeof(float));
        memcpy(dbase + (size_t)t * C3 + 2 * C + h * hs, dV + (size_t)t * hs, (size_t)hs * sizeof(float));
    }
}
static void inh__att_bwd_bh(void *p, int lo, int hi) {
    enum { R = INH__ATT_R };
    inh__att_args *a = (inh__att_args *)p;
    int T = a->T, C = a->C, NH = a->NH, hs = C / NH, C3 = 3 * C;
    inh__att_tr s;
    inh__att_tr_init(&s, T, hs);
    float *blk_mem = s.kt ? inh__scratch((size_t)2 * R * s.Tp + 16) : NULL, *blk = inh__align64(blk_mem);   /* P and dS rows of a block (flash) */
#if INH__VW
    float *kb_mem = s.kt && !a->att ? inh__scratch(inh__att_blk_floats(s.Tp, hs) + 16) : NULL;
#else
    float *kb_mem = NULL;
#endif
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *base = a->qkv + (size_t)b * T * C3;
        float *dbase = a->dqkv + (size_t)b * T * C3;
        if (s.kt) { inh__att_tr_load(&s, base, T, C, h, hs, 1, s.kt); inh__att_tr_load(&s, base, T, C, h, hs, 2, s.vt); }
        if (kb_mem) { inh__att_bwd_blk(a, &s, bh, inh__align64(kb_mem)); continue; }
        for (int t0 = 0; t0 < T; t0 += R) {
            int nr = T - t0 < R ? T - t0 : R;
            const float *P[INH__ATT_R];
            float *dS[INH__ATT_R];
            for (int r = 0; r < nr; r++) {
                int t = t0 + r;
                float *row, *drow;
                if (r + 1 < nr && s.kt && (blk || a->att)) {   /* rows t and t+1 at once: the same bits */
                    float *row2, *drow2;
                    if (a->att) {
                        row = a->att + ((size_t)bh * T + t) * T; row2 = row + T;
                        drow = a->datt + ((size_t)bh * T + t) * T; drow2 = drow + T;
                    } else {
                        row = blk + (size_t)r * s.Tp; row2 = row + s.Tp;
                        drow = blk + (size_t)(R + r) * s.Tp; drow2 = drow + s.Tp;
                        inh__att_row2(base, &s, t, h, hs, C, a->scale, row, row2);
                    }
                    const float *d = a->dout + ((size_t)b * T + t) * C + h * hs;
                    inh__att_dots2(d, d + C, s.vt, s.Tp, t + 1, t + 2, hs, drow, drow2);
                    float sum = 0.0f, sum2 = 0.0f;   /* two chains side by side, each in the order of t2 */
                    for (int t2 = 0; t2 <= t; t2++) { sum += row[t2] * drow[t2]; sum2 += row2[t2] * drow2[t2]; }
                    sum2 += row2[t + 1] * drow2[t + 1];
                    for (int t2 = 0; t2 <= t; t2++) drow[t2] = row[t2] * (drow[t2] - sum) * a->scale;
                    for (int t2 = 0; t2 <= t + 1; t2++) drow2[t2] = row2[t2] * (drow2[t2] - sum2) * a->scale;
                    float *dq = dbase + (size_t)t * C3 + h * hs;
                    inh__att_wsum2(dq, dq + C3, drow, drow2, base + C + h * hs, (size_t)C3, t + 1, t + 2, hs, 1);
                    P[r] = row; dS[r] = drow; P[r + 1] = row2; dS[r + 1] = drow2;
                    r++;
                    continue;
                }
                if (a->att) {
                    row = a->att + ((size_t)bh * T + t) * T;
                    drow = a->datt + ((size_t)bh * T + t) * T;
                } else if (blk) {   /* flash: recompute the row */
                    row = blk + (size_t)r * s.Tp; drow = blk + (size_t)(R + r) * s.Tp;
                    inh__att_row(base, &s, t, h, hs, C, a->scale, row);
                } else {
                    row = a->rows + (size_t)bh * 2 * T; drow = row + T;
                    inh__att_row(base, &s, t, h, hs, C, a->scale, row);
                }
                const float *d = a->dout + ((size_t)b * T + t) * C + h * hs;
                /* out = att @ v: datt = d . v */
                if (s.vt) inh__att_dots(d, s.vt, s.Tp, t + 1, hs, drow);
                else
                    for (int t2 = 0; t2 <= t; t2++) drow[t2] = inh__dot(d, base + (size_t)t2 * C3 + 2 * C + h * hs, hs);
                /* softmax backward: dpre = att * (datt - sum(att * datt)) * scale, into drow */
                float sum = 0.0f;
                for (int t2 = 0; t2 <= t; t2++) sum += row[t2] * drow[t2];
                for (int t2 = 0; t2 <= t; t2++) drow[t2] = row[t2] * (drow[t2] - sum) * a->scale;
                inh__att_wsum(dbase + (size_t)t * C3 + h * hs, drow, base + C + h * hs, (size_t)C3, t + 1, hs, 1);   /* dq */
                if (blk || a->att) { P[r] = row; dS[r] = drow; continue; }
                /* no block scratch: dv and dk row by row */
                const float *q = base + (size_t)t * C3 + h * hs;
                for (int t2 = 0; t2 <= t; t2++) {
                    float *dv = dbase + (size_t)t2 * C3 + 2 * C + h * hs, *dk = dbase + (size_t)t2 * C3 + C + h * hs;
                    for (int i = 0; i < hs; i++) { dv[i] += row[t2] * d[i]; dk[i] += drow[t2] * q[i]; }
                }
            }
            if (!blk && !a->att) continue;
            /* dv[t2] += sum over the block's rows t >= t2 of P[t][t2] d_t; dk[t2] likewise with dS and q_t */
            for (int t2 = 0; t2 < t0 + nr; t2++) {
                int r0 = t2 > t0 ? t2 - t0 : 0;
                float wp[INH__ATT_R], ws[INH__ATT_R];
                if (t2 + 1 <= t0) {   /* keys t2 and t2+1 take every row of the block: share the loads */
                    float wp2[INH__ATT_R], ws2[INH__ATT_R];
                    for (int r = 0; r < nr; r++) { wp[r] = P[r][t2]; ws[r] = dS[r][t2]; wp2[r] = P[r][t2 + 1]; ws2[r] = dS[r][t2 + 1]; }
                    float *dv = dbase + (size_t)t2 * C3 + 2 * C + h * hs, *dk = dbase + (size_t)t2 * C3 + C + h * hs;
                    inh__att_wsum2(dv, dv + C3, wp, wp2, a->dout + ((size_t)b * T + t0) * C + h * hs, (size_t)C, nr, nr, hs, 1);
                    inh__att_wsum2(dk, dk + C3, ws, ws2, base + (size_t)t0 * C3 + h * hs, (size_t)C3, nr, nr, hs, 1);
                    t2++;
                    continue;
                }
                for (int r = r0; r < nr; r++) { wp[r] = P[r][t2]; ws[r] = dS[r][t2]; }
                inh__att_wsum(dbase + (size_t)t2 * C3 + 2 * C + h * hs, wp + r0, a->dout + ((size_t)b * T + t0 + r0) * C + h * hs,
                              (size_t)C, nr - r0, hs, 1);
                inh__att_wsum(dbase + (size_t)t2 * C3 + C + h * hs, ws + r0, base + (size_t)(t0 + r0) * C3 + h * hs,
                              (size_t)C3, nr - r0, hs, 1);
            }
        }
    }
    INH_FREE(kb_mem);
    INH_FREE(blk_mem);
    INH_FREE(s.mem);
}
/* plain: att (B,NH,T,T) is written by forward and read by backward; datt is (B,NH,T,T) scratch */
INH__FN void inh__attention_forward_cpu(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                                       float scale, int nt) {
    inh__att_args a = {out, att, NULL, NULL, qkv, NULL, NULL, B, T, C, NH, scale};
    inh__parallel(inh__threads_for(nt, 2.0 * B * T * T * C), B * NH, inh__att_fwd_bh, &a);
}
INH__FN void inh__attention_backward_cpu(float *dqkv, float *datt, const float *dout, const float *qkv,
                                        const float *att, int B, int T, int C, int NH, float scale, int nt) {
    inh__att_args a = {NULL, (float *)att, datt, NULL, qkv, dout, dqkv, B, T, C, NH, scale};
    inh__parallel(inh__threads_for(nt, 2.0 * B * T * T * C), B * NH, inh__att_bwd_bh, &a);
}
/* flash: rows is (B*NH, 2T) scratch */
INH__FN void inh__attention_forward_flash(float *out, float *rows, const float *qkv, int B, int T, int C, int NH,
                                         float scale, int nt) {
    inh__att_args a = {out, NULL, NULL, rows, qkv, NULL, NULL, B, T, C, NH, scale};
    inh__parallel(inh__threads_for(nt, 2.0 * B * T * T * C), B * NH, inh__att_fwd_bh, &a);
}
INH__FN void inh__attention_backward_flash(float *dqkv, float *rows, const float *dout, const float *qkv,
                                          int B, int T, int C, int NH, float scale, int nt) {
    inh__att_args a = {NULL, NULL, NULL, rows, qkv, dout, dqkv, B, T, C, NH, scale};
    inh__parallel(inh__threads_for(nt, 2.0 * B * T * T * C), B * NH, inh__att_bwd_bh, &a);
}

/* --- shortcut cross-attention (attention shortcuts) --------------------------------------------
   q (B,T,C); kv (n,B,T,2C): per feature map i (of the i-th selected layer) keys in columns [0,C)
   and values in [C,2C). The query at (b,t), head h, sees for every i the positions s in [s0, t]:
   s0 = 0 for causal (n (t+1) keys), s0 = t for depth (n keys). scale = 1/sqrt(hs). Split by (b,h)
   like the self-attention: every out, dq and dkv element has one owner and a fixed summation
   order, so results do not depend on the thread count. A row of weights, compact at
   [i cnt + s - s0] (cnt = t - s0 + 1), lives in rows (B*NH, 2 n T) scratch and is recomputed in
   backward, so memory stays linear in T; with att (B,NH,T,n T) the weights are also stored at
   [i T + s] (for the analysis) and backward reads them: the tests' oracle. */
typedef struct { float *out, *att, *rows, *dq, *dkv; const float *q, *kv, *dout; int B, T, C, NH, n, causal; float scale; } inh__scatt_args;
/* causal: per thread, the keys (and in backward the values) of every feature map of the current
   (b,h) transposed, kt[(i hs + e) Tp + s], so that a row's dot products are the register-blocked
   ones of the self-attention (Tp = T rounded up to 64, padding zero). NULL: plain dot products. */
INH__FN float *inh__scatt_tr(const inh__scatt_args *a, int *Tp, int values) {
    *Tp = (a->T + INH__ATT_J - 1) / INH__ATT_J * INH__ATT_J;
    return a->causal ? inh__scratch((size_t)(values ? 2 : 1) * a->n * (a->C / a->NH) * *Tp) : NULL;
}
INH__FN void inh__scatt_tr_load(const inh__scatt_args *a, float *kt, int Tp, int b, int h, int which) {
    int T = a->T, C = a->C, hs = C / a->NH;
    for (int i = 0; i < a->n; i++) {
        const float *src = a->kv + ((size_t)i * a->B + b) * T * 2 * C + which * C + h * hs;
        float *dst = kt + (size_t)i * hs * Tp;
        for (int s = 0; s < T; s++)
            for (int e = 0; e < hs; e++) dst[(size_t)e * Tp + s] = src[(size_t)s * 2 * C + e];
    }
}

INH__FN void inh__scatt_row(const inh__scatt_args *a, const float *kt, int Tp, int b, int t, int h, float *row) {
    int T = a->T, C = a->C, hs = C / a->NH, s0 = a->causal ? 0 : t, cnt = t - s0 + 1, K = a->n * cnt;
    const float *q = a->q + ((size_t)b * T + t) * C + h * hs;
    for (int i = 0; i < a->n; i++) {
        const float *k = a->kv + (((size_t)i * a->B + b) * T + s0) * 2 * C + h * hs;
        if (kt) inh__att_dots(q, kt + (size_t)i * hs * Tp, Tp, cnt, hs, row + i * cnt);
        else for (int j = 0; j < cnt; j++) row[i * cnt + j] = inh__dot(q, k + (size_t)j * 2 * C, hs);
        for (int j = 0; j < cnt; j++) row[i * cnt + j] *= a->scale;
    }
    float mx = inh__max(row, K);
    float inv = (float)(1.0 / inh__exp_sum(row, K, mx));
    for (int j = 0; j < K; j++) row[j] *= inv;
}
static void inh__scatt_fwd_bh(void *p, int lo, int hi) {
    inh__scatt_args *a = (inh__scatt_args *)p;
    int B = a->B, T = a->T, C = a->C, NH = a->NH, hs = C / NH, n = a->n, Tp;
    float *kt = inh__scatt_tr(a, &Tp, 0);
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        float *row = a->rows + (size_t)bh * 2 * n * T;
        if (kt) inh__scatt_tr_load(a, kt, Tp, b, h, 0);
        for (int t = 0; t < T; t++) {
            int s0 = a->causal ? 0 : t, cnt = t - s0 + 1;
            inh__scatt_row(a, kt, Tp, b, t, h, row);
            float *o = a->out + ((size_t)b * T + t) * C + h * hs;
            for (int i = 0; i < n; i++)
                inh__att_wsum(o, row + i * cnt, a->kv + (((size_t)i * B + b) * T + s0) * 2 * C + C + h * hs, (size_t)2 * C, cnt, hs, i > 0);
            if (a->att) {
                float *st = a->att + ((size_t)bh * T + t) * n * T;
                memset(st, 0, (size_t)n * T * sizeof(float));
                for (int i = 0; i < n; i++) memcpy(st + (size_t)i * T + s0, row + i * cnt, (size_t)cnt * sizeof(float));
            }
        }
    }
    INH_FREE(kt);
}
/* dq (B,T,C) and dkv (n,B,T,2C) += from dout (B,T,C) */
static void inh__scatt_bwd_bh(void *p, int lo, int hi) {
    inh__scatt_args *a = (inh__scatt_args *)p;
    int B = a->B, T = a->T, C = a->C, NH = a->NH, hs = C / NH, n = a->n, Tp;
    float *kt = inh__scatt_tr(a, &Tp, 1), *vt = kt ? kt + (size_t)n * hs * Tp : NULL;
    for (int bh = lo; bh < hi; bh++) {
        int b = bh / NH, h = bh % NH;
        float *row = a->rows + (size_t)bh * 2 * n * T, *drow = row + (size_t)n * T;
        if (kt) { inh__scatt_tr_load(a, kt, Tp, b, h, 0); inh__scatt_tr_load(a, vt, Tp, b, h, 1); }
        for (int t = 0; t < T; t++) {
            int s0 = a->causal ? 0 : t, cnt = t - s0 + 1, K = n * cnt;
            if (a->att) {
                const float *st = a->att + ((size_t)bh * T + t) * n * T;
                for (int i = 0; i < n; i++) memcpy(row + i * cnt, st + (size_t)i * T + s0, (size_t)cnt * sizeof(float));
            } else {
                inh__scatt_row(a, kt, Tp, b, t, h, row);
            }
            const float *d = a->dout + ((size_t)b * T + t) * C + h * hs, *q = a->q + ((size_t)b * T + t) * C + h * hs;
            for (int i = 0; i < n; i++) {   /* out = sum w v: dw = d . v */
                const float *v = a->kv + (((size_t)i * B + b) * T + s0) * 2 * C + C + h * hs;
                if (vt) inh__att_dots(d, vt + (size_t)i * hs * Tp, Tp, cnt, hs, drow + i * cnt);
                else for (int j = 0; j < cnt; j++) drow[i * cnt + j] = inh__dot(d, v + (size_t)j * 2 * C, hs);
            }
            float sum = 0.0f;   /* softmax backward: dscore = w (dw - sum(w dw)) scale */
            for (int j = 0; j < K; j++) sum += row[j] * drow[j];
            for (int j = 0; j < K; j++) drow[j] = row[j] * (drow[j] - sum) * a->scale;
            float *dq = a->dq + ((size_t)b * T + t) * C + h * hs;
            for (int i = 0; i < n; i++) {
                size_t off = (((size_t)i * B + b) * T + s0) * 2 * C + h * hs;
                inh__att_wsum(dq, drow + i * cnt, a->kv + off, (size_t)2 * C, cnt, hs, 1);
                for (int j = 0; j < cnt; j++) {
                    float *dk = a->dkv + off + (size_t)j * 2 * C, *dv = dk + C, ws = drow[i * cnt + j], wp = row[i * cnt + j];
                    for (int c = 0; c < hs; c++) { dk[c] += ws * q[c]; dv[c] += wp * d[c]; }
                }
            }
        }
    }
    INH_FREE(kt);
}
INH__FN void inh__shortcut_attention_forward(float *out, float *att, float *rows, const float *q, const float *kv,
                                             int B, int T, int C, int NH, int n, int causal, int nt) {
    inh__scatt_args a = {out, att, rows, NULL, NULL, q, kv, NULL, B, T, C, NH, n, causal, 1.0f / sqrtf((float)(C / NH))};
    inh__parallel(inh__threads_for(nt, 4.0 * B * T * T * C * n), B * NH, inh__scatt_fwd_bh, &a);
}
INH__FN void inh__shortcut_attention_backward(float *dq, float *dkv, float *rows, const float *dout, const float *q, const float *kv,
                                              const float *att, int B, int T, int C, int NH, int n, int causal, int nt) {
    inh__scatt_args a = {NULL, (float *)att, rows, dq, dkv, q, kv, dout, B, T, C, NH, n, causal, 1.0f / sqrtf((float)(C / NH))};
    inh__parallel(inh__threads_for(nt, 4.0 * B * T * T * C * n), B * NH, inh__scatt_bwd_bh, &a);
}

/* --- matmul, fast: packed and register-blocked, behind the matmul seam ------------------------
   One driver computes C (M,Nc) = A (M,K) @ B (K,Nc) [+ C | + bias] for operands given by strides,
   so the three layouts of a training step are three calls of it:
     forward  out (N,OC)  = inp (N,C) @ w^T + bias    A = inp rows,  B = w^T (packed by transposing)
     dinp     dinp (N,C) += dout (N,OC) @ w            A = dout rows, B = w
     dw       dw (OC,C)  += dout^T @ inp               A = dout^T,    B = inp
   B is packed, KC rows at a time, into panels NR columns wide (k-major, zero-padded); a block of
   NCP panels stays in L2 while every MR-row strip of A meets it. A strip is read where it lies
   when its rows are contiguous in k (the micro-kernel only broadcasts A), else packed first.
   The micro-kernel holds an MR x NR tile of C in registers: AVX-512 8x48, AVX2+FMA 6x16, NEON 6x12
   and SIMD128 4x8 over the vector mapping, else 6x8 in GCC/clang vector types (SSE2) or plain C.
   Determinism: K is cut into blocks that depend on K alone; threads own whole tiles of C (a grid
   of row strips x column panels), never a share of K. Each C element is therefore summed in the
   same order for any thread count, and bits never depend on it. The order differs from the
   reference kernels above, so results match them within float32 rounding, not bit for bit. */

#if INH__VW
enum { INH__FMM_MR = INH__MM_MR, INH__FMM_NR = INH__MM_NR };   /* the set's register block (the mapping) */
#else
enum { INH__FMM_MR = 6, INH__FMM_NR = 8 };
#endif
/* KC: B rows per packed block (a 48-wide panel of 192 rows is 36 KB, streamed from L2);
   NCP: panels per block (16 x 36 KB = 576 KB of the 1 MB L2 of a Zen 4/5 core; all 768 columns
   of GPT-2 124M's dinp and dw in one block, so A is packed once);
   MC: rows of A packed together when A must be packed (~128 x 192 floats = 96 KB), whole strips.
   Measured on Zen 5 against KC 128..512 and NCP 8..32: these were best or within noise of it. */
enum { INH__FMM_KC = 192, INH__FMM_NCP = 16, INH__FMM_MC = 128 / INH__FMM_MR * INH__FMM_MR };

/* where a tile of C goes: rows of C are crs apart; C = acc + bias (add 0) or C += acc (add 1);
   bias: per column of the tile, or NULL */
typedef struct {
    float *c;
    ptrdiff_t crs;
    const float *bias;
    int add, mr, nr;
} inh__fmm_tile;

/* the store of an edge tile (same arithmetic as the kernels' own): t is the MR x NR accumulator */
INH__FN void inh__fmm_store(const float *t, const inh__fmm_tile *o) {
    for (int i = 0; i < o->mr; i++)
        for (int j = 0; j < o->nr; j++) {
            float *d = o->c + i * o->crs + j, v = t[i * INH__FMM_NR + j];
            if (o->add) *d = *d + v;
            else *d = o->bias ? v + o->bias[j] : v;
        }
}

#if INH__VW
/* The micro-kernel, written once over the vector mapping: the MR x NR tile of C in MR x NV vectors
   (NV = NR / INH__VW), each element of A broadcast against the NV vectors of B's packed row, summed
   over k in order. nv of the NV vectors are used: a last panel narrow enough skips the ones that
   would only multiply B's zero padding (each element's sum is the same). Rows past o->mr read row 0
   and are dropped. */
enum { INH__FMM_NV = INH__FMM_NR / INH__VW };
/* the tile's rows of C, needed at the end: fetched into cache at the start */
INH__INLINE void inh__fmm_prefetch_c(const inh__fmm_tile *o) {
    for (int i = 0; i < o->mr; i++) {
        const char *r = (const char *)(o->c + i * o->crs);
        for (int b = 0; b < INH__FMM_NR * 4; b += 64) inh__prefetch(r + b);
        inh__prefetch(r + INH__FMM_NR * 4 - 4);
    }
}
/* the accumulators to C (C = acc + bias, or C += acc): a whole tile straight from the registers,
   an edge tile through tmp and inh__fmm_store (the same arithmetic) */
INH__INLINE void inh__fmm_out(inh__vf (*c)[INH__FMM_NV], int nv, const inh__fmm_tile *o, float *tmp) {
    enum { MR = INH__FMM_MR, NR = INH__FMM_NR, NV = INH__FMM_NV };
    if (nv == NV && o->mr == MR && o->nr == NR) {
        INH__UNROLL for (int i = 0; i < MR; i++) {
            float *r = o->c + i * o->crs;
            INH__UNROLL for (int v = 0; v < NV; v++) {
                inh__vf x = c[i][v];
                if (o->add) x = inh__vadd(inh__vld(r + v * INH__VW), x);
                else if (o->bias) x = inh__vadd(x, inh__vld(o->bias + v * INH__VW));
                inh__vst(r + v * INH__VW, x);
            }
        }
        return;
    }
    INH__UNROLL for (int i = 0; i < MR; i++)
        INH__UNROLL for (int v = 0; v < nv; v++) inh__vst(tmp + i * NR + v * INH__VW, c[i][v]);
    inh__fmm_store(tmp, o);
}
/* acc (MR x NR) = A (MR rows, element (i,k) at a[i*ars + k*acs]) @ bp (kc x NR, packed) */
INH__INLINE void inh__fmm_kernel_nv(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                                    const inh__fmm_tile *o, float *tmp, int nv) {
    enum { MR = INH__FMM_MR, NR = INH__FMM_NR, NV = INH__FMM_NV };
    const float *ar[MR];
    inh__vf c[MR][NV];
    inh__fmm_prefetch_c(o);
    INH__UNROLL for (int i = 0; i < MR; i++) {
        ar[i] = a + (o->mr > i ? i : 0) * ars;
        INH__UNROLL for (int v = 0; v < NV; v++) c[i][v] = inh__vset(0.0f);
    }
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += NR) {
        inh__vf b[NV];
        INH__UNROLL for (int v = 0; v < nv; v++) b[v] = inh__vld(bp + v * INH__VW);
        INH__UNROLL for (int i = 0; i < MR; i++) {
            inh__vf x = inh__vset(ar[i][off]);
            INH__UNROLL for (int v = 0; v < nv; v++) c[i][v] = inh__vfma(x, b[v], c[i][v]);
        }
    }
    inh__fmm_out(c, nv, o, tmp);
}
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    inh__fmm_kernel_nv(kc, a, ars, acs, bp, o, tmp, INH__FMM_NV);
}
/* the same for a tile at most NR - INH__VW columns wide (AVX-512: the last panel when Nc is 32 past
   a multiple of 48, as C = 128 or 512), one vector of B fewer */
INH__FN void inh__fmm_kernel_narrow(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                                    const inh__fmm_tile *o, float *tmp) {
    inh__fmm_kernel_nv(kc, a, ars, acs, bp, o, tmp, INH__FMM_NV - 1);
}
/* the narrow kernel runs where a panel has at least 3 vectors (with 2, the loads it saves would not
   pay for the code) */
#define INH__FMM_NARROW(nr) (INH__FMM_NV >= 3 && (nr) <= INH__FMM_NR - INH__VW)
#elif defined(__GNUC__) || defined(__clang__)
/* acc (MR x 8) = A (MR rows) @ bp (kc x 8, packed), in 4-wide GCC/clang vector types: SSE2 or NEON
   registers (12 of 16 XMM for a 6-row tile), where plain loops (or 8-wide types on SSE2) would keep
   the tile in memory; WebAssembly SIMD128 takes 4 rows (the rows past MR compile away). The sums run
   over k in the same order for any MR, so the bits do not depend on it. */
typedef float inh__fmm_v4 __attribute__((vector_size(16)));
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    int mr = o->mr;
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * ars, *a2 = a + (mr > 2 ? 2 : 0) * ars,
                *a3 = a + (mr > 3 ? 3 : 0) * ars, *a4 = a + (mr > 4 ? 4 : 0) * ars,
                *a5 = a + (mr > 5 ? 5 : 0) * ars;
    inh__fmm_v4 c00 = {0, 0, 0, 0}, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, b0, b1;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 8) {
        memcpy(&b0, bp, sizeof b0); memcpy(&b1, bp + 4, sizeof b1);
#define INH__FMM_ROW(i) if (i < INH__FMM_MR) { float s_ = a##i[off]; inh__fmm_v4 a_ = {s_, s_, s_, s_}; c##i##0 += a_ * b0; c##i##1 += a_ * b1; }
        INH__FMM_ROW(0) INH__FMM_ROW(1) INH__FMM_ROW(2) INH__FMM_ROW(3) INH__FMM_ROW(4) INH__FMM_ROW(5)
#undef INH__FMM_ROW
    }
#define INH__FMM_TMP(i) if (i < INH__FMM_MR) { memcpy(tmp + i * 8, &c##i##0, 16); memcpy(tmp + i * 8 + 4, &c##i##1, 16); }
    INH__FMM_TMP(0) INH__FMM_TMP(1) INH__FMM_TMP(2) INH__FMM_TMP(3) INH__FMM_TMP(4) INH__FMM_TMP(5)
#undef INH__FMM_TMP
    inh__fmm_store(tmp, o);
}

#else
/* acc (6 x 8) = A (6 rows) @ bp (kc x 8, packed), plain C */
INH__FN void inh__fmm_kernel(int kc, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *bp,
                             const inh__fmm_tile *o, float *tmp) {
    const float *ar[6];
    for (int i = 0; i < 6; i++) ar[i] = a + (o->mr > i ? i : 0) * ars;
    for (int i = 0; i < 6 * 8; i++) tmp[i] = 0.0f;
    ptrdiff_t off = 0;
    for (int k = 0; k < kc; k++, off += acs, bp += 8)
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 8; j++) tmp[i * 8 + j] += ar[i][off] * bp[j];
    inh__fmm_store(tmp, o);
}
#endif

INH__FN void inh__bf16_round_n(float *x, size_t n);   /* (the bf16 matmul, below) */

/* Pack B rows [0,kc) x columns [0,nb) (element (k,j) at b[k*brs + j*bcs]) into panels of NR
   columns, each kc x NR, k-major, columns past nb zero; rnd: rounded to bf16 on the way (each
   piece while it is in L1) */
INH__FN void inh__fmm_pack_b(float *INH__RESTRICT bp, const float *b, ptrdiff_t brs, ptrdiff_t bcs, int kc, int nb, int rnd) {
    enum { NR = INH__FMM_NR };
    for (int j0 = 0; j0 < nb; j0 += NR, bp += (size_t)kc * NR) {
        int nr = nb - j0 < NR ? nb - j0 : NR;
        const float *bj = b + j0 * bcs;
        if (bcs == 1) {                 /* rows of B contiguous: copy */
            for (int k = 0; k < kc; k++) {
                const float *s = bj + k * brs;
                float *d = bp + (size_t)k * NR;
                if (nr == NR) memcpy(d, s, NR * sizeof(float));
                else {
                    memcpy(d, s, (size_t)nr * sizeof(float));
                    memset(d + nr, 0, (size_t)(NR - nr) * sizeof(float));
                }
                if (rnd) inh__bf16_round_n(d, (size_t)nr);
            }
            continue;
        }
        int k = 0;
#if INH__VW
        if (brs == 1 && nr == NR)       /* columns of B contiguous (B = w^T): square transposes in registers */
            for (; k + INH__VW <= kc; k += INH__VW) {
                for (int g = 0; g < NR; g += INH__VW) {
                    const float *s = bj + g * bcs + k;
                    inh__vf r[INH__VW];
                    for (int i = 0; i < INH__VW; i++) r[i] = inh__vld(s + i * bcs);
                    inh__vtr(r);
                    for (int e = 0; e < INH__VW; e++) inh__vst(bp + (size_t)(k + e) * NR + g, r[e]);
                }
                if (rnd) inh__bf16_round_n(bp + (size_t)k * NR, (size_t)INH__VW * NR);
            }
#endif
        for (; k < kc; k++) {
            float *d = bp + (size_t)k * NR;
            for (int j = 0; j < nr; j++) d[j] = bj[k * brs + j * bcs];
            for (int j = nr; j < NR; j++) d[j] = 0.0f;
            if (rnd) inh__bf16_round_n(d, (size_t)nr);
        }
    }
}

/* Pack rows [0,mb) x [0,kc) of A into strips of MR rows, each kc x MR, k-major, rows past mb
   zero. Used when rows of A are not contiguous (dw: A = dout^T); reading a whole block per k
   touches each row of dout once per block, not once per strip. */
INH__FN void inh__fmm_pack_a(float *INH__RESTRICT ap, const float *a, ptrdiff_t ars, ptrdiff_t acs, int kc, int mb) {
    enum { MR = INH__FMM_MR };
    for (int k = 0; k < kc; k++) {
        const float *s = a + k * acs;
        for (int i0 = 0; i0 < mb; i0 += MR) {
            float *d = ap + (size_t)(i0 / MR) * kc * MR + (size_t)k * MR;
            if (ars == 1 && mb - i0 >= MR) memcpy(d, s + i0, MR * sizeof(float));
            else
                for (int i = 0; i < MR; i++) d[i] = i0 + i < mb ? s[(i0 + i) * ars] : 0.0f;
        }
    }
}

/* --- bf16 matmul (mixed precision, --bf16) -------------------------------------------------
   The same three products with both operands rounded to bfloat16 (to nearest even) and the
   products summed in float32; weights, gradients and optimizer state stay float32. With
   AVX-512 BF16 the packed operands are pairs of bf16 in 32-bit words, (x[k], x[k+1]), and the
   micro-kernel (8 x 48, as the fp32 one) does two multiply-adds per lane per vdpbf16ps: twice
   the fp32 rate where the CPU issues it as fast as an FMA (AMD Zen 4/5; see inh__bmm_mode for
   Intel). A is packed too (converted block by block), K blocks are 2*KC long (a bf16 panel is
   half the bytes), odd K is padded with a zero. Elsewhere the fp32 kernels run on operands
   rounded while packing (B) or copied rounded (rows of A): the same numbers up to summation
   order, at about the fp32 speed. (vdpbf16ps treats subnormal inputs as zero; the rounding
   elsewhere keeps them.) */
INH__FN float inh__bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;          /* NaN stays a (quiet) NaN */
    else u += 0x7fffu + ((u >> 16) & 1u);                            /* to nearest, ties to even */
    u &= 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}
/* dst[i] = bf16 rounding of src[i], i < n (dst may be src) */
INH__FN void inh__bf16_round_to(float *dst, const float *src, size_t n) {
    size_t i = 0;
#ifdef INH__VBF16_ROUND
    for (; i + INH__VW <= n; i += INH__VW) inh__vst(dst + i, inh__vbf16_round(inh__vld(src + i)));
    if (i < n) inh__vst_first(dst + i, (int)(n - i), inh__vbf16_round(inh__vld_first(src + i, (int)(n - i))));
#else
    for (; i < n; i++) dst[i] = inh__bf16_round(src[i]);
#endif
}
INH__FN void inh__bf16_round_n(float *x, size_t n) { inh__bf16_round_to(x, x, n); }

typedef struct {
    int M, Nc, K;
    const float *a, *b;             /* A (M,K): (i,k) at a[i*ars + k*acs]; B (K,Nc): (k,j) at b[k*brs + j*bcs] */
    ptrdiff_t ars, acs, brs, bcs;
    float *c;                       /* C (M,Nc): (i,j) at c[i*crs + j] */
    ptrdiff_t crs;
    const float *bias;              /* (Nc), added once, or NULL */
    int add;                        /* 1: C += A@B; 0: C = A@B + bias */
    int bf16;                       /* A and B rounded to bf16 (see above): 1 fp32 kernels, 2 vdpbf16ps kernels */
    int tr, tc;                     /* thread grid: tr row strips x tc column ranges */
    float *buf;                     /* pack space, per slot INH__FMM_SLOT floats */
} inh__fmm_args;
enum { INH__BMM_KW = INH__FMM_KC,    /* bf16: words (k pairs) per K block (96..384 measured: 192 best) */
       INH__FMM_KMAX = INH__FMM_KC > INH__BMM_KW ? INH__FMM_KC : INH__BMM_KW,
       INH__FMM_SLOT = INH__FMM_KMAX * INH__FMM_NCP * INH__FMM_NR + INH__FMM_KMAX * INH__FMM_MC + INH__FMM_MR * INH__FMM_NR + 16 };

/* K blocks: nkb equal blocks of at most KC; the cut depends on K alone (see determinism above) */
INH__FN int inh__fmm_kblocks(int K) { return (K + INH__FMM_KC - 1) / INH__FMM_KC; }

#ifdef INH__VBF
#define INH__BMM 1
INH__FN uint32_t inh__bf16_pair(float lo, float hi) {
    float l = inh__bf16_round(lo), h = inh__bf16_round(hi);
    uint32_t a, b;
    memcpy(&a, &l, 4); memcpy(&b, &h, 4);
    return (a >> 16) | (b & 0xffff0000u);
}

/* Pack B rows [0,kc) x columns [0,nb) as NR-wide panels of kw = ceil(kc/2) words per column,
   word (kp, j) = (B[2kp][j], B[2kp+1][j]), zero past kc and nb */
INH__FN void inh__bmm_pack_b(uint32_t *INH__RESTRICT bp, const float *b, ptrdiff_t brs, ptrdiff_t bcs, int kc, int nb) {
    enum { NR = INH__FMM_NR };
    int kw = (kc + 1) / 2;
    for (int j0 = 0; j0 < nb; j0 += NR, bp += (size_t)kw * NR) {
        int nr = nb - j0 < NR ? nb - j0 : NR, kp = 0;
        const float *bj = b + j0 * bcs;
        if (bcs == 1) {                 /* rows of B contiguous: zip row pairs */
            int left[INH__FMM_NV];      /* columns in each vector of the panel */
            for (int g = 0; g < INH__FMM_NV; g++) {
                left[g] = nr - INH__VW * g;
                left[g] = left[g] > INH__VW ? INH__VW : left[g] < 0 ? 0 : left[g];
            }
            for (; kp < kc / 2; kp++) {
                const float *r0 = bj + 2 * kp * brs, *r1 = r0 + brs;
                for (int g = 0; g < INH__FMM_NV; g++)
                    inh__vbf_st(bp + (size_t)kp * NR + INH__VW * g,
                                inh__vbf_zip(inh__vld_first(r0 + INH__VW * g, left[g]), inh__vld_first(r1 + INH__VW * g, left[g])));
            }
        } else if (brs == 1 && nr == NR) {   /* columns of B contiguous (B = w^T): square word transposes */
            for (; kp + INH__VW <= kc / 2; kp += INH__VW)
                for (int g = 0; g < NR; g += INH__VW) {
                    inh__vf r[INH__VW];
                    for (int i = 0; i < INH__VW; i++) r[i] = inh__vbf_as_vf(inh__vbf_pairs(bj + (g + i) * bcs + 2 * kp));
                    inh__vtr(r);
                    for (int e = 0; e < INH__VW; e++) inh__vst((float *)(bp + (size_t)(kp + e) * NR + g), r[e]);
                }
        }
        for (; kp < kw; kp++) {
            uint32_t *d = bp + (size_t)kp * NR;
            int k = 2 * kp;
            for (int j = 0; j < nr; j++) d[j] = inh__bf16_pair(bj[k * brs + j * bcs], k + 1 < kc ? bj[(k + 1) * brs + j * bcs] : 0.0f);
            for (int j = nr; j < NR; j++) d[j] = 0;
        }
    }
}

/* Pack rows [0,mb) x [0,kc) of A. Rows contiguous in k (acs == 1): row-major words, kw per
   row (*ars = kw, *acs = 1). Else word-major (*ars = 1, *acs = MC): for dw, A = dout^T, where
   a pair is two rows of dout zipped. */
INH__FN void inh__bmm_pack_a(uint32_t *INH__RESTRICT ap, const float *a, ptrdiff_t ars, ptrdiff_t acs, int kc, int mb,
                             ptrdiff_t *pars, ptrdiff_t *pacs) {
    int kw = (kc + 1) / 2;
    if (acs == 1) {
        *pars = kw; *pacs = 1;
        for (int i = 0; i < mb; i++) {
            const float *s = a + i * ars;
            uint32_t *d = ap + (size_t)i * kw;
            int kp = 0;
            for (; kp + INH__VW <= kc / 2; kp += INH__VW) inh__vbf_st(d + kp, inh__vbf_pairs(s + 2 * kp));
            for (; kp < kw; kp++) d[kp] = inh__bf16_pair(s[2 * kp], 2 * kp + 1 < kc ? s[2 * kp + 1] : 0.0f);
        }
        return;
    }
    *pars = 1; *pacs = INH__FMM_MC;
    for (int kp = 0; kp < kw; kp++) {
        const float *r0 = a + 2 * kp * acs, *r1 = r0 + acs;
        uint32_t *d = ap + (size_t)kp * INH__FMM_MC;
        int i = 0;
        if (ars == 1 && 2 * kp + 1 < kc)
            for (; i + INH__VW <= mb; i += INH__VW) inh__vbf_st(d + i, inh__vbf_zip(inh__vld(r0 + i), inh__vld(r1 + i)));
        for (; i < mb; i++) d[i] = inh__bf16_pair(r0[i * ars], 2 * kp + 1 < kc ? r1[i * ars] : 0.0f);
    }
}

/* acc (MR x NR) = A (MR rows of kw words) @ bp (kw x NR words): the fp32 kernel with a word of A
   (a pair of bf16) broadcast and the mapping's two-products-a-lane multiply-add */
INH__FN void inh__bmm_kernel(int kw, const uint32_t *a, ptrdiff_t ars, ptrdiff_t acs, const uint32_t *bp,
                             const inh__fmm_tile *o, float *tmp) {
    enum { MR = INH__FMM_MR, NR = INH__FMM_NR, NV = INH__FMM_NV };
    const uint32_t *ar[MR];
    inh__vf c[MR][NV];
    inh__fmm_prefetch_c(o);
    INH__UNROLL for (int i = 0; i < MR; i++) {
        ar[i] = a + (o->mr > i ? i : 0) * ars;
        INH__UNROLL for (int v = 0; v < NV; v++) c[i][v] = inh__vset(0.0f);
    }
    ptrdiff_t off = 0;
    for (int k = 0; k < kw; k++, off += acs, bp += NR) {
        inh__vbf b[NV];
        INH__UNROLL for (int v = 0; v < NV; v++) b[v] = inh__vbf_ld(bp + v * INH__VW);
        INH__UNROLL for (int i = 0; i < MR; i++) {
            inh__vbf x = inh__vbf_set(ar[i][off]);
            INH__UNROLL for (int v = 0; v < NV; v++) c[i][v] = inh__vdpbf(c[i][v], x, b[v]);
        }
    }
    inh__fmm_out(c, NV, o, tmp);
}

#endif

/* Which kernels a bf16 product runs on. vdpbf16ps does two multiply-adds per lane, but what it
   costs differs by CPU: on Intel's AVX-512 BF16 cores (Cooper Lake to Emerald Rapids) one takes
   the issue slots of four fp32 FMAs (measured on Emerald Rapids, model 207: one per 2 cycles
   against two FMAs a cycle), so there the fp32 kernels on rounded operands are faster (0.6x of
   the fp32 rate with vdpbf16ps, about 0.95x without); on AMD (Zen 4, Zen 5: 1.65x the fp32 step
   measured) it is the fast path. INH_BF16_DPBF16 (1 or 0) overrides the choice at compile time.
   The choice depends on the machine alone, so bits are still the same for any thread count.
   bf16: 0 fp32, 1 bf16 on this machine's faster kernels, 2 bf16 on the fp32 kernels, 3 bf16 on
   the vdpbf16ps kernels where they are compiled (else 2); returns inh__fmm_args.bf16. */
INH__FN int inh__bmm_mode(int bf16) {
    if (!bf16) return 0;
#ifdef INH__BMM
    if (bf16 == 3) return 2;
#if defined(INH_BF16_DPBF16)
    if (bf16 == 1 && INH_BF16_DPBF16) return 2;
#else
    if (bf16 == 1 && __builtin_cpu_is("amd")) return 2;
#endif
#endif
    return 1;
}

/* One thread's share of a product: its row strips x column panels, block by block. fp32 (and
   emulated bf16): B packed per K block, A read in place when its rows are contiguous in k, else
   packed. Native bf16: both packed as bf16 pairs, K blocks of up to 2*KW starting at even k, so
   the pairs of a block are pairs of the whole product. */
static void inh__fmm_slot(void *p, int lo, int hi) {
    enum { MR = INH__FMM_MR, NR = INH__FMM_NR, NCP = INH__FMM_NCP };
    const inh__fmm_args *g = (const inh__fmm_args *)p;
#ifdef INH__BMM
    const int native = g->bf16 == 2;
#else
    const int native = 0;
#endif
    int mt = (g->M + MR - 1) / MR, np = (g->Nc + NR - 1) / NR, K2 = (g->K + 1) / 2;
    int nkb = native ? (K2 + INH__BMM_KW - 1) / INH__BMM_KW : inh__fmm_kblocks(g->K);
    for (int t = lo; t < hi; t++) {
        if (t >= g->tr * g->tc) continue;
        int r = t / g->tc, q = t % g->tc;
        int i_lo = (int)((long long)mt * r / g->tr) * MR, i_hi = (int)((long long)mt * (r + 1) / g->tr) * MR;
        int p_lo = (int)((long long)np * q / g->tc), p_hi = (int)((long long)np * (q + 1) / g->tc);
        if (i_hi > g->M) i_hi = g->M;
        float *bp = (float *)(((uintptr_t)(g->buf + (size_t)t * INH__FMM_SLOT) + 63) & ~(uintptr_t)63);
        float *ap = bp + INH__FMM_KMAX * NCP * NR, *tmp = ap + INH__FMM_KMAX * INH__FMM_MC;
        for (int pj = p_lo; pj < p_hi; pj += NCP) {
            int pn = p_hi - pj < NCP ? p_hi - pj : NCP, j0 = pj * NR;
            int nb = g->Nc - j0 < pn * NR ? g->Nc - j0 : pn * NR;
            for (int kb = 0; kb < nkb; kb++) {
                int k0, kc;
                if (native) {
                    int k1 = 2 * (int)((long long)K2 * (kb + 1) / nkb);
                    k0 = 2 * (int)((long long)K2 * kb / nkb);
                    kc = (k1 < g->K ? k1 : g->K) - k0;
                } else {
                    k0 = (int)((long long)g->K * kb / nkb);
                    kc = (int)((long long)g->K * (kb + 1) / nkb) - k0;
                }
                int ks = native ? (kc + 1) / 2 : kc;   /* kernel steps: k pairs or k */
                const float *bsrc = g->b + k0 * g->brs + j0 * g->bcs, *asrc;
#ifdef INH__BMM
                if (native) inh__bmm_pack_b((uint32_t *)bp, bsrc, g->brs, g->bcs, kc, nb);
                else
#endif
                {
                    inh__fmm_pack_b(bp, bsrc, g->brs, g->bcs, kc, nb, g->bf16);
                }
                for (int ib = i_lo; ib < i_hi; ib += INH__FMM_MC) {
                    int mb = i_hi - ib < INH__FMM_MC ? i_hi - ib : INH__FMM_MC;
                    int packed = g->acs != 1;   /* else A is read where it lies, or a rounded copy of it (bf16) */
                    ptrdiff_t ars = g->ars, acs = g->acs, strip;      /* strip: from one MR-row strip to the next */
                    asrc = g->a + ib * g->ars + k0 * g->acs;
#ifdef INH__BMM
                    if (native) inh__bmm_pack_a((uint32_t *)ap, asrc, g->ars, g->acs, kc, mb, &ars, &acs);
                    else
#endif
                    if (packed) {
                        inh__fmm_pack_a(ap, asrc, g->ars, g->acs, kc, mb);
                        if (g->bf16) inh__bf16_round_n(ap, (size_t)kc * ((mb + MR - 1) / MR) * MR);
                        ars = 1; acs = MR;
                    } else if (g->bf16) {   /* rows rounded into ap, kc apart, read as rows */
                        for (int i = 0; i < mb; i++) inh__bf16_round_to(ap + (size_t)i * kc, asrc + i * g->ars, (size_t)kc);
                        ars = kc;
                    }
                    strip = packed && !native ? (ptrdiff_t)MR * kc : MR * ars;
                    for (int i0 = ib; i0 < ib + mb; i0 += MR) {
                        inh__fmm_tile o;
                        ptrdiff_t aoff = (i0 - ib) / MR * strip;
                        o.mr = ib + mb - i0 < MR ? ib + mb - i0 : MR;
                        o.add = g->add || kb > 0;
                        o.crs = g->crs;
                        for (int jp = 0; jp < pn; jp++) {
                            int j = j0 + jp * NR;
                            o.c = g->c + i0 * g->crs + j;
                            o.nr = g->Nc - j < NR ? g->Nc - j : NR;
                            o.bias = !o.add && g->bias ? g->bias + j : NULL;
#ifdef INH__BMM
                            if (native) inh__bmm_kernel(ks, (const uint32_t *)ap + aoff, ars, acs, (const uint32_t *)bp + (size_t)jp * ks * NR, &o, tmp);
                            else
#endif
#if INH__VW
                            if (INH__FMM_NARROW(o.nr))
                                inh__fmm_kernel_narrow(ks, (packed || g->bf16 ? ap : asrc) + aoff, ars, acs, bp + (size_t)jp * ks * NR, &o, tmp);
                            else
#endif
                            inh__fmm_kernel(ks, (packed || g->bf16 ? ap : asrc) + aoff, ars, acs, bp + (size_t)jp * ks * NR, &o, tmp);
                        }
                    }
                }
            }
        }
    }
}

/* The thread grid, tr row ranges x tc column ranges: the least work on the busiest thread (MR-row
   strips x panel widths in vectors, a narrow last panel one vector less),
   columns first on a tie (each thread then packs only its part of B). Split by columns alone, 3
   panels (C = 128) gave one thread twice the other's columns. The split never changes bits. */
INH__FN void inh__fmm_grid(inh__fmm_args *g, int nt, int mt, int np) {
    int narrow = 0, nv = 3;   /* a panel's cost: its vectors of B (3 without a vector mapping) */
    long best = -1;
#if INH__VW
    narrow = INH__FMM_NARROW(g->Nc - (np - 1) * INH__FMM_NR);
    nv = INH__FMM_NV;
#endif
    for (int tc = nt < np ? nt : np; tc >= 1; tc--) {
        int tr = nt / tc < mt ? nt / tc : mt;
        long rows = (mt + tr - 1) / tr, cols = 0;
        for (int q = 0; q < tc; q++) {
            int lo = (int)((long long)np * q / tc), hi = (int)((long long)np * (q + 1) / tc);
            long w = (long)nv * (hi - lo) - (narrow && hi == np ? 1 : 0);
            if (w > cols) cols = w;
        }
        if (best < 0 || rows * cols < best) { best = rows * cols; g->tc = tc; g->tr = tr; }
    }
}

/* Run one product on nt threads; 0 when the pack space cannot be allocated (nothing written) */
INH__FN int inh__fmm_run(inh__fmm_args *g, int nt) {
    int mt = (g->M + INH__FMM_MR - 1) / INH__FMM_MR, np = (g->Nc + INH__FMM_NR - 1) / INH__FMM_NR;
    if (nt < 1) nt = 1;
#ifdef INH_NO_THREADS
    nt = 1;                              /* the slots would run one after another anyway */
#endif
    inh__fmm_grid(g, nt, mt, np);
    nt = g->tr * g->tc;
    g->buf = INH__ALLOC(float, (size_t)nt * INH__FMM_SLOT);
    if (!g->buf) return 0;
    inh__parallel(nt, nt, inh__fmm_slot, g);
    INH_FREE(g->buf);
    return 1;
}

/* forward: out (N,OC) = inp (N,C) @ w^T + bias; w (OC,C), bias (OC) or NULL */
/* a few rows (token-by-token inference): packing W would cost more than the product, so stream
   each row of W once against the N inputs, threads splitting the output columns */
enum { INH__GEMV_ROWS = 4 };
/* four dot products of x with the rows w, w + ld, w + 2 ld, w + 3 ld, each exactly inh__dot's
   arithmetic (same lanes, same order): four weight streams in flight instead of one, for the
   batch-1 products of generation, which only read memory */
#if defined(__GNUC__) || defined(__clang__)
static inline void inh__dot4(const float *INH__RESTRICT x, const float *INH__RESTRICT w, size_t ld, int n, float *r) {
    inh__v8 s0 = {0, 0, 0, 0, 0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0, a, b0, b1, b2, b3;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&a, x + i, 32);
        if (!(i & 15)) {   /* a line of each stream 4 KiB ahead: the hardware prefetcher alone keeps too few in flight */
            __builtin_prefetch(w + i + 1024); __builtin_prefetch(w + ld + i + 1024);
            __builtin_prefetch(w + 2 * ld + i + 1024); __builtin_prefetch(w + 3 * ld + i + 1024);
        }
        memcpy(&b0, w + i, 32); memcpy(&b1, w + ld + i, 32); memcpy(&b2, w + 2 * ld + i, 32); memcpy(&b3, w + 3 * ld + i, 32);
        s0 += a * b0; s1 += a * b1; s2 += a * b2; s3 += a * b3;
    }
    inh__v8 *s[4] = {&s0, &s1, &s2, &s3};
    for (int k = 0; k < 4; k++) {
        inh__v8 v = *s[k];
        float t = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
        for (int j = i; j < n; j++) t += x[j] * w[k * ld + j];
        r[k] = t;
    }
}
#else
static void inh__dot4(const float *x, const float *w, size_t ld, int n, float *r) {
    for (int k = 0; k < 4; k++) r[k] = inh__dot(x, w + k * ld, n);
}
#endif
static void inh__gemv_cols(void *p, int lo, int hi) {
    inh__mm_args *a = (inh__mm_args *)p;
    if (a->N == 1) {   /* generation: four rows of w at a time */
        int oc = lo;
        for (; oc + 4 <= hi; oc += 4) {
            float r[4];
            inh__dot4(a->inp, a->w + (size_t)oc * a->C, (size_t)a->C, a->C, r);
            for (int k = 0; k < 4; k++) a->out[oc + k] = r[k] + (a->bias ? a->bias[oc + k] : 0.0f);
        }
        lo = oc;
    }
    for (int oc = lo; oc < hi; oc++) {
        const float *wr = a->w + (size_t)oc * a->C;
        for (int n = 0; n < a->N; n++)
            a->out[(size_t)n * a->OC + oc] = inh__dot(a->inp + (size_t)n * a->C, wr, a->C) + (a->bias ? a->bias[oc] : 0.0f);
    }
}

INH__FN void inh__mm_forward_packed(float *out, const float *inp, const float *w, const float *bias,
                                    int N, int C, int OC, int nt, int bf16) {
    inh__fmm_args g;
    if (N <= 0 || OC <= 0) return;
    if (C <= 0) { inh__matmul_forward_cpu(out, inp, w, bias, N, C, OC, nt); return; }
    nt = inh__threads_for(nt, 2.0 * N * C * OC);
    if (N <= INH__GEMV_ROWS && !bf16) {
        inh__mm_args a = {out, inp, w, bias, N, C, OC};
        inh__parallel(nt, OC, inh__gemv_cols, &a);
        return;
    }
    memset(&g, 0, sizeof g);
    g.M = N; g.Nc = OC; g.K = C;
    g.a = inp; g.ars = C; g.acs = 1;
    g.b = w; g.brs = 1; g.bcs = C;
    g.c = out; g.crs = OC;
    g.bias = bias;
    g.bf16 = inh__bmm_mode(bf16);
    if (!inh__fmm_run(&g, nt)) inh__matmul_forward_cpu(out, inp, w, bias, N, C, OC, nt);
}
INH__FN void inh__matmul_forward_fast(float *out, const float *inp, const float *w, const float *bias,
                                      int N, int C, int OC, int nt) {
    inh__mm_forward_packed(out, inp, w, bias, N, C, OC, nt, 0);
}

/* dbias (OC) += column sums of dout (N,OC), 64 columns per job, rows summed in order */
typedef struct { float *dbias; const float *dout; int N, OC; } inh__fmm_db_args;
static void inh__fmm_dbias(void *p, int lo, int hi) {
    const inh__fmm_db_args *g = (const inh__fmm_db_args *)p;
    for (int blk = lo; blk < hi; blk++) {
        int o0 = blk * 64, m = g->OC - o0 < 64 ? g->OC - o0 : 64;
        float s[64];
        for (int j = 0; j < m; j++) s[j] = 0.0f;
        for (int n = 0; n < g->N; n++) {
            const float *d = g->dout + (size_t)n * g->OC + o0;
            for (int j = 0; j < m; j++) s[j] += d[j];
        }
        for (int j = 0; j < m; j++) g->dbias[o0 + j] += s[j];
    }
}

/* backward: dinp (N,C) += dout (N,OC) @ w; dw (OC,C) += dout^T @ inp; dbias (OC) += sum_n dout.
   dinp, dw, dbias may each be NULL. */
INH__FN void inh__mm_backward_packed(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                     const float *w, int N, int C, int OC, int nt, int bf16) {
    inh__fmm_args g;
    if (N <= 0 || C <= 0 || OC <= 0) {
        inh__matmul_backward_cpu(dinp, dw, dbias, dout, inp, w, N, C, OC, nt);
        return;
    }
    nt = inh__threads_for(nt, 2.0 * N * C * OC);
    if (dinp) {
        memset(&g, 0, sizeof g);
        g.M = N; g.Nc = C; g.K = OC;
        g.a = dout; g.ars = OC; g.acs = 1;
        g.b = w; g.brs = C; g.bcs = 1;
        g.c = dinp; g.crs = C;
        g.add = 1;
        g.bf16 = inh__bmm_mode(bf16);
        if (!inh__fmm_run(&g, nt)) inh__matmul_backward_cpu(dinp, NULL, NULL, dout, inp, w, N, C, OC, nt);
    }
    if (dw) {
        memset(&g, 0, sizeof g);
        g.M = OC; g.Nc = C; g.K = N;
        g.a = dout; g.ars = 1; g.acs = OC;
        g.b = inp; g.brs = C; g.bcs = 1;
        g.c = dw; g.crs = C;
        g.add = 1;
        g.bf16 = inh__bmm_mode(bf16);
        if (!inh__fmm_run(&g, nt)) inh__matmul_backward_cpu(NULL, dw, NULL, dout, inp, w, N, C, OC, nt);
    }
    if (dbias) {
        inh__fmm_db_args d = {dbias, dout, N, OC};
        inh__parallel(nt, (OC + 63) / 64, inh__fmm_dbias, &d);
    }
}
INH__FN void inh__matmul_backward_fast(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                       const float *w, int N, int C, int OC, int nt) {
    inh__mm_backward_packed(dinp, dw, dbias, dout, inp, w, N, C, OC, nt, 0);
}

/* the same products in bf16 mixed precision (see the bf16 matmul above) */
INH__FN void inh__matmul_forward_bf16(float *out, const float *inp, const float *w, const float *bias,
                                      int N, int C, int OC, int nt) {
    inh__mm_forward_packed(out, inp, w, bias, N, C, OC, nt, 1);
}
INH__FN void inh__matmul_backward_bf16(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                       const float *w, int N, int C, int OC, int nt) {
    inh__mm_backward_packed(dinp, dw, dbias, dout, inp, w, N, C, OC, nt, 1);
}

/* The CPU backend's matmul and attention (attention with m->keep_attention calls the plain
   kernels, which store A for the analysis): a faster CPU kernel replaces them here and nowhere
   else; the *_cpu versions above stay the tested oracle. (The GPU is the other backend table.) */
#define inh__matmul_forward inh__matmul_forward_fast
#define inh__matmul_backward inh__matmul_backward_fast
#define inh__attention_forward inh__attention_forward_flash
#define inh__attention_backward inh__attention_backward_flash

/* tanh-approximation GELU. Element-wise, split over threads in fixed chunks. tanh is computed as
   1 - 2/(e^2u + 1) (one expf, saturating correctly at +-inf); backward recovers tanh from the
   forward output g = x (1 + tanh) / 2 where x is not tiny (and tanh u = u - u^3/3 to float
   precision where it is), so it costs no transcendental. */
#define INH__GELU_S 0.7978845608028654f   /* sqrt(2/pi) */
typedef struct { float *out, *dinp; const float *inp, *gout, *dout; size_t n; } inh__gelu_args;
static inline float inh__tanh(float u) { return 1.0f - 2.0f / (expf(2.0f * u) + 1.0f); }
static void inh__gelu_fwd_chunk(void *p, int lo, int hi) {
    inh__gelu_args *a = (inh__gelu_args *)p;
    for (int k = lo; k < hi; k++) {   /* chunk by chunk (inh__chunk): the same bits for any thread split */
        size_t s = inh__chunk(a->n, k), e = inh__chunk(a->n, k + 1), i = s;
#if INH__VW
        for (; i + INH__VW <= e; i += INH__VW) {   /* the same formula, a vector at a time */
            inh__vf x = inh__vld(a->inp + i), one = inh__vset(1.0f);
            inh__vf u = inh__vmul(inh__vset(INH__GELU_S), inh__vfma(inh__vmul(inh__vset(0.044715f), x), inh__vmul(x, x), x));
            inh__vf th = inh__vsub(one, inh__vdiv(inh__vset(2.0f), inh__vadd(inh__vexp(inh__vadd(u, u)), one)));
            inh__vst(a->out + i, inh__vmul(inh__vmul(inh__vset(0.5f), x), inh__vadd(one, th)));
        }
#endif
        for (; i < e; i++) {
            float x = a->inp[i];
            a->out[i] = 0.5f * x * (1.0f + inh__tanh(INH__GELU_S * (x + 0.044715f * x * x * x)));
        }
    }
}
static void inh__gelu_bwd_chunk(void *p, int lo, int hi) {
    inh__gelu_args *a = (inh__gelu_args *)p;
    for (int k = lo; k < hi; k++) {   /* chunk by chunk (inh__chunk): the same bits for any thread split */
        size_t s = inh__chunk(a->n, k), e = inh__chunk(a->n, k + 1), i = s;
#if INH__VW
        for (; i + INH__VW <= e; i += INH__VW) {   /* the formula below, a vector at a time */
            inh__vf x = inh__vld(a->inp + i), one = inh__vset(1.0f), u = inh__vmul(inh__vset(INH__GELU_S), x);
            inh__vf xs = inh__vsel_absgt(x, 1e-3f, one, x);   /* no division by a tiny x, even in unused lanes */
            inh__vf thb = inh__vsub(inh__vdiv(inh__vmul(inh__vset(2.0f), inh__vld(a->gout + i)), xs), one);
            inh__vf ths = inh__vfnma(inh__vmul(inh__vmul(u, u), u), inh__vset(1.0f / 3.0f), u);
            inh__vf th = inh__vsel_absgt(x, 1e-3f, ths, thb), x2 = inh__vmul(x, x);
            inh__vf d = inh__vmul(inh__vmul(inh__vmul(inh__vset(0.5f), x), inh__vfnma(th, th, one)),
                                  inh__vmul(inh__vset(INH__GELU_S), inh__vfma(inh__vset(3.0f * 0.044715f), x2, one)));
            inh__vf g = inh__vfma(inh__vset(0.5f), inh__vadd(one, th), d);
            inh__vst(a->dinp + i, inh__vfma(g, inh__vld(a->dout + i), inh__vld(a->dinp + i)));
        }
#endif
        for (; i < e; i++) {
            float x = a->inp[i];
            float u = INH__GELU_S * x, th = fabsf(x) > 1e-3f ? 2.0f * a->gout[i] / x - 1.0f : u - u * u * u * (1.0f / 3.0f);
            float g = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * INH__GELU_S * (1.0f + 3.0f * 0.044715f * x * x);
            a->dinp[i] += g * a->dout[i];
        }
    }
}
INH__FN void inh__gelu_forward(float *out, const float *inp, size_t n, int nt) {
    inh__gelu_args a = {out, NULL, inp, NULL, NULL, n};
    inh__parallel(inh__threads_for(nt, 20.0 * n), 64, inh__gelu_fwd_chunk, &a);
}
/* dinp += gelu'(inp) * dout; gout is the forward's output */
INH__FN void inh__gelu_backward(float *dinp, const float *inp, const float *gout, const float *dout, size_t n, int nt) {
    inh__gelu_args a = {NULL, dinp, inp, gout, dout, n};
    inh__parallel(inh__threads_for(nt, 20.0 * n), 64, inh__gelu_bwd_chunk, &a);
}

INH__FN void inh__residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* softmax + cross-entropy over the real V of (N, Vp) logits, in place: logits become
   probabilities (padding columns 0), losses (N) = -log p[target]. Rows split over threads. */
typedef struct { float *logits, *losses; const int *targets; const float *q; float w, dloss; int V, Vp; } inh__ce_args;
static void inh__ce_fwd_rows(void *p, int lo, int hi) {
    inh__ce_args *a = (inh__ce_args *)p;
    for (int n = lo; n < hi; n++) {
        float *l = a->logits + (size_t)n * a->Vp, mx, lt = l[a->targets[n]];
        mx = inh__max(l, a->V);
        double sum = inh__exp_sum(l, a->V, mx);
        float inv = (float)(1.0 / sum);
        a->losses[n] = mx + (float)log(sum) - lt;
        for (int i = 0; i < a->V; i++) l[i] *= inv;
        for (int i = a->V; i < a->Vp; i++) l[i] = 0.0f;
    }
}
INH__FN void inh__crossentropy_forward(float *logits, float *losses, const int *targets, int N, int V, int Vp, int nt) {
    inh__ce_args a = {logits, losses, targets, NULL, 0.0f, 0.0f, V, Vp};
    inh__parallel(inh__threads_for(nt, 10.0 * N * Vp), N, inh__ce_fwd_rows, &a);
}
/* backward, in place: probabilities become dlogits = (p - onehot) * dloss; with teacher
   probabilities q (distillation weight w): (p - (1-w) onehot - w q) * dloss */
static void inh__ce_bwd_rows(void *p, int lo, int hi) {
    inh__ce_args *a = (inh__ce_args *)p;
    for (int n = lo; n < hi; n++) {
        float *pr = a->logits + (size_t)n * a->Vp;
        if (a->q) {
            const float *qn = a->q + (size_t)n * a->Vp;
            pr[a->targets[n]] -= 1.0f - a->w;
            for (int i = 0; i < a->Vp; i++) pr[i] = (pr[i] - a->w * qn[i]) * a->dloss;
        } else {
            pr[a->targets[n]] -= 1.0f;
            for (int i = 0; i < a->Vp; i++) pr[i] *= a->dloss;
        }
    }
}
INH__FN void inh__crossentropy_backward(float *probs, const int *targets, const float *q, float w, float dloss, int N, int Vp, int nt) {
    inh__ce_args a = {probs, NULL, targets, q, w, dloss, 0, Vp};
    inh__parallel(inh__threads_for(nt, 4.0 * N * Vp), N, inh__ce_bwd_rows, &a);
}

/* --- AdamW and the gradient norm, element-wise over one parameter block -------------------- */
/* sum of squares in 64 fixed chunks (chunking independent of thread count) */
typedef struct { const float *x; size_t n; double part[64]; } inh__sq_args;
static void inh__sumsq_chunks(void *p, int lo, int hi) {
    inh__sq_args *a = (inh__sq_args *)p;
    for (int k = lo; k < hi; k++) {
        size_t s = a->n * (size_t)k / 64, e = a->n * (size_t)(k + 1) / 64, i = s;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};   /* independent chains, fixed order */
#ifdef INH__VSUMSQ
        i += inh__vsumsq(a->x + s, e - s, acc);
#endif
        for (; i + 8 <= e; i += 8)
            for (int l = 0; l < 8; l++) acc[l] += (double)a->x[i + l] * a->x[i + l];
        for (; i < e; i++) acc[0] += (double)a->x[i] * a->x[i];
        a->part[k] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
}
typedef struct { float *w, *m, *v; const float *g; size_t n; const inh_adamw *o; float lr, wd, scale, ibc1, ibc2; } inh__adam_args;
static void inh__adam_chunks(void *p, int lo, int hi) {   /* element-wise: any split gives the same bits */
    inh__adam_args *a = (inh__adam_args *)p;
    const inh_adamw *o = a->o;
    float *INH__RESTRICT w = a->w, *INH__RESTRICT m = a->m, *INH__RESTRICT v = a->v;
    const float *INH__RESTRICT g = a->g;
    const float b1 = o->beta1, b2 = o->beta2, eps = o->eps, lr = a->lr, wd = a->wd, scale = a->scale, i1 = a->ibc1, i2 = a->ibc2;
    for (int k = lo; k < hi; k++) {   /* chunk by chunk (inh__chunk): the same bits for any thread split */
        size_t s = inh__chunk(a->n, k), e = inh__chunk(a->n, k + 1), j = s;
        /* sqrtf may set errno, so compilers keep the plain loop scalar (4x slower, 240 ms a step
           at 124M): the vector paths say sqrt without errno. Which elements take which path depends
           on n only (inh__chunk), so bits never depend on the thread count. */
#if INH__VW
        const inh__vf vb1 = inh__vset(b1), vc1 = inh__vset(1.0f - b1), vb2 = inh__vset(b2), vc2 = inh__vset(1.0f - b2),
                      veps = inh__vset(eps), vlr = inh__vset(lr), vwd = inh__vset(wd), vsc = inh__vset(scale),
                      vi1 = inh__vset(i1), vi2 = inh__vset(i2);
        for (; j + INH__VW <= e; j += INH__VW) {
            inh__vf gj = inh__vmul(inh__vld(g + j), vsc), wj = inh__vld(w + j);
            inh__vf mj = inh__vfma(vb1, inh__vld(m + j), inh__vmul(vc1, gj));
            inh__vf vj = inh__vfma(vb2, inh__vld(v + j), inh__vmul(inh__vmul(vc2, gj), gj));
            inh__vf den = inh__vadd(inh__vsqrt(inh__vmul(vj, vi2)), veps);
            inh__vf upd = inh__vfma(vwd, wj, inh__vdiv(inh__vmul(mj, vi1), den));
            inh__vst(m + j, mj); inh__vst(v + j, vj);
            inh__vst(w + j, inh__vfnma(vlr, upd, wj));
        }
#endif
        for (; j < e; j++) {   /* the tail, and the whole of it without AVX */
            float gj = g[j] * scale;
            m[j] = b1 * m[j] + (1.0f - b1) * gj;
            v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
            w[j] -= lr * (m[j] * i1 / (sqrtf(v[j] * i2) + eps) + wd * w[j]);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
   The CPU backend: the op table (inh_backend) over the kernels above. It is the default and the
   oracle the other backends are tested against; each op is one kernel call with m's threads. */
INH__FN int inh__cpu_alloc(inh_model *m, void **p, size_t bytes) {   /* (the moments become m_mem, v_mem) */
    (void)m;
    *p = inh__alloc_lines(bytes);
    return *p ? 0 : -1;
}
INH__FN void inh__cpu_release(inh_model *m, void *p) { (void)m; inh__free_lines(p); }
INH__FN void inh__cpu_copy(inh_model *m, void *dst, const void *src, size_t bytes) { (void)m; if (dst != src) memcpy(dst, src, bytes); }
typedef struct { float *x; size_t n; } inh__zero_args;
static void inh__zero_chunks(void *p, int lo, int hi) {
    inh__zero_args *a = (inh__zero_args *)p;
    size_t s = a->n * (size_t)lo / 64, e = a->n * (size_t)hi / 64;
    memset(a->x + s, 0, (e - s) * sizeof(float));
}
INH__FN void inh__cpu_zero(inh_model *m, void *p, size_t bytes) {
    if (bytes < ((size_t)16 << 20) || bytes % sizeof(float)) { memset(p, 0, bytes); return; }
    inh__zero_args a = {(float *)p, bytes / sizeof(float)};   /* gradients: every thread clears a part */
    inh__parallel(m->threads, 64, inh__zero_chunks, &a);
}
INH__FN void inh__cpu_encoder_forward(inh_model *m, float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    (void)m; inh__encoder_forward(out, inp, wte, wpe, B, T, C);
}
INH__FN void inh__cpu_encoder_backward(inh_model *m, float *dwte, float *dwpe, const float *dout, const int *inp, const int *inp_host,
                                       int B, int T, int C) {
    (void)m; (void)inp_host; inh__encoder_backward(dwte, dwpe, dout, inp, B, T, C);
}
INH__FN void inh__cpu_layernorm_forward(inh_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                                        const float *bias, int N, int C, uint16_t *out16) {
    (void)out16;   /* never given one (host memory: the model leaves the *_16 copies out), nor below */
    inh__layernorm_forward(out, mean, rstd, inp, w, bias, N, C, m->threads);
}
INH__FN void inh__cpu_layernorm_backward(inh_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                         const float *w, const float *mean, const float *rstd, int N, int C) {
    inh__layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C, m->threads);
}
INH__FN void inh__cpu_matmul_forward(inh_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                                     uint16_t *inp16) {
    (void)inp16;   /* never given one (host memory: the model leaves the *_16 copies out) */
    (m->bf16 ? inh__matmul_forward_bf16 : inh__matmul_forward)(out, inp, w, bias, N, C, OC, m->threads);
}
INH__FN void inh__cpu_matmul_backward(inh_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                      const float *w, int N, int C, int OC, int fresh, const uint16_t *inp16, const uint16_t *dout16) {
    (void)inp16; (void)dout16;
    if (fresh && dinp && N > 0 && C > 0) inh__cpu_zero(m, dinp, (size_t)N * C * sizeof(float));   /* the same bits as zero, then add */
    (m->bf16 ? inh__matmul_backward_bf16 : inh__matmul_backward)(dinp, dw, dbias, dout, inp, w, N, C, OC, m->threads);
}
INH__FN void inh__cpu_attention_forward(inh_model *m, float *out, float *rows, const float *qkv, int B, int T, int C, int NH, float scale,
                                        uint16_t *out16) {
    (void)out16;
    inh__attention_forward(out, rows, qkv, B, T, C, NH, scale, m->threads);
}
INH__FN void inh__cpu_attention_backward(inh_model *m, float *dqkv, float *rows, const float *dout, const float *out, const float *qkv,
                                         int B, int T, int C, int NH, float scale) {
    (void)out;   /* the CPU's flash backward recomputes each row (and its bits do not depend on how) */
    inh__attention_backward(dqkv, rows, dout, qkv, B, T, C, NH, scale, m->threads);
}
INH__FN void inh__cpu_gelu_forward(inh_model *m, float *out, const float *inp, size_t n, uint16_t *out16) {
    (void)out16; inh__gelu_forward(out, inp, n, m->threads);
}
INH__FN void inh__cpu_gelu_backward(inh_model *m, float *dinp, const float *inp, const float *gout, const float *dout, size_t n,
                                    uint16_t *out16) {
    (void)out16;
    inh__gelu_backward(dinp, inp, gout, dout, n, m->threads);
}
INH__FN void inh__cpu_residual_forward(inh_model *m, float *out, const float *a, const float *b, size_t n) {
    (void)m; inh__residual_forward(out, a, b, n);
}
INH__FN void inh__cpu_crossentropy_forward(inh_model *m, float *logits, float *losses, const int *targets, int N, int V, int Vp) {
    inh__crossentropy_forward(logits, losses, targets, N, V, Vp, m->threads);
}
INH__FN void inh__cpu_crossentropy_backward(inh_model *m, float *probs, const int *targets, const float *q, float w, float dloss,
                                            int N, int Vp, uint16_t *dlogits16) {
    (void)dlogits16;
    inh__crossentropy_backward(probs, targets, q, w, dloss, N, Vp, m->threads);
}
INH__FN void inh__cpu_grad_norm(inh_model *m, const float *g, size_t n, const float *losses, size_t nl, float *norm) {
    norm[1] = 0.0f;
    for (size_t i = 0; i < nl; i++)
        if (!isfinite(losses[i])) { norm[1] = NAN; break; }
    inh__sq_args a;
    a.x = g; a.n = n;
    inh__parallel(inh__threads_for(m->threads, 2.0 * n), 64, inh__sumsq_chunks, &a);
    double s = 0.0;
    for (int k = 0; k < 64; k++) s += a.part[k];
    *norm = (float)sqrt(s);
}
INH__FN void inh__cpu_adamw(inh_model *m, float *w, const float *g, float *mom, float *v, const inh_segment *segs, int nseg,
                            const inh_adamw *o, float lr, int t, const float *norm) {
    if (!isfinite(norm[0]) || norm[1] != 0.0f) return;
    float scale = (o->grad_clip > 0.0f && *norm > o->grad_clip) ? o->grad_clip / (*norm + 1e-6f) : 1.0f;
    inh__adam_args a;
    a.o = o; a.lr = lr; a.scale = scale;
    a.ibc1 = 1.0f / (1.0f - powf(o->beta1, (float)t));   /* bias corrections, as multipliers */
    a.ibc2 = 1.0f / (1.0f - powf(o->beta2, (float)t));
    for (int i = 0; i < nseg; i++) {   /* one tensor at a time: its chunks, its weight decay */
        a.w = w + segs[i].off; a.g = g + segs[i].off; a.m = mom + segs[i].off; a.v = v + segs[i].off;
        a.n = segs[i].n; a.wd = segs[i].wd;
        inh__parallel(inh__threads_for(m->threads, 20.0 * a.n), 64, inh__adam_chunks, &a);
    }
}
INH__FN int inh__cpu_check(inh_model *m) { (void)m; return 0; }
INH__FN const char *inh__cpu_error(inh_model *m) { (void)m; return ""; }
INH__FN void inh__cpu_reserve(inh_model *m, int B, int T) { (void)m; (void)B; (void)T; }
static const inh_backend inh__cpu_backend = {
    "cpu", 1, inh__cpu_alloc, inh__cpu_release, inh__cpu_copy, inh__cpu_copy, inh__cpu_copy, inh__cpu_zero,
    inh__cpu_encoder_forward, inh__cpu_encoder_backward, inh__cpu_layernorm_forward, inh__cpu_layernorm_backward,
    inh__cpu_matmul_forward, inh__cpu_matmul_backward, inh__cpu_attention_forward, inh__cpu_attention_backward,
    inh__cpu_gelu_forward, inh__cpu_gelu_backward, inh__cpu_residual_forward,
    inh__cpu_crossentropy_forward, inh__cpu_crossentropy_backward, inh__cpu_grad_norm, inh__cpu_adamw,
    inh__cpu_check, inh__cpu_check, inh__cpu_error, inh__cpu_reserve};
INHDEF const inh_backend *inh_backend_cpu(void) { return &inh__cpu_backend; }
/* the backend of m; its memory is host memory when inh__on_host */
INH__FN const inh_backend *inh__be(const inh_model *m) { return m->be ? m->be : &inh__cpu_backend; }
INH__FN int inh__on_host(const inh_model *m) { return inh__be(m)->host_memory; }
/* matmul_backward's last argument: dinp += dout @ w, or dinp = dout @ w into a target with nothing to keep */
enum { INH__ADD = 0, INH__FRESH = 1 };

/* ---------------------------------------------------------------------------------------------
   Model */

static const char *const inh__param_names[INH_MAX_PARAMS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
    "sc_lnw", "sc_lnb", "sc_fc1w", "sc_fc1b", "sc_fc2w", "sc_fc2b", "sc_lnqw", "sc_lnqb",
    "sc_qw", "sc_qb", "sc_kvw", "sc_kvb", "sc_projw", "sc_projb"};
INHDEF const char *inh_param_name(int i) { return i >= 0 && i < INH_MAX_PARAMS ? inh__param_names[i] : "?"; }
INHDEF int inh_param_is_2d(int i) {
    return i == 0 || i == 1 || i == 4 || i == 6 || i == 10 || i == 12 || i == 18 || i == 20 || i == 24 || i == 26 || i == 28;
}
/* every odd tensor from ln1b on is a bias (LayerNorm biases included), in both groups */
INHDEF int inh_param_is_bias(int i) { return i >= 3 && i < INH_MAX_PARAMS && (i & 1); }
/* LayerNorm weights (initialised to 1) and the residual projections (std 0.02/sqrt(2L)) */
INH__FN int inh__param_is_lnw(int i) { return i == 2 || i == 8 || i == 14 || i == 16 || i == 22; }
INH__FN int inh__param_is_resid(int i) { return i == 6 || i == 12 || i == 28; }

INHDEF int inh_sc_layers(const inh_config *c, int *layers) {
    int n = 0;
    if (!c->shortcuts) return 0;
    for (int l = 0; l < INH_SC_MAX_LAYER; l++)
        if (c->sc_layers[l / 32] >> (l % 32) & 1u) { if (layers) layers[n] = l; n++; }
    return n;
}
INHDEF int inh_sc_variant(const char *name) {
    return !strcmp(name, "causal") ? INH_SC_CAUSAL : !strcmp(name, "depth") ? INH_SC_DEPTH : -1;
}
INHDEF const char *inh_sc_variant_name(int v) { return v == INH_SC_CAUSAL ? "causal" : v == INH_SC_DEPTH ? "depth" : "none"; }
INHDEF int inh_config_set_shortcuts(inh_config *c, int variant, const char *layers) {
    memset(c->sc_layers, 0, sizeof c->sc_layers);
    c->shortcuts = 0;
    if (!variant) return 0;
    if (variant != INH_SC_CAUSAL && variant != INH_SC_DEPTH) return inh__fail("unknown shortcut variant %d (causal or depth)", variant);
    if (c->L < 2) return inh__fail("attention shortcuts need at least 2 layers (the model has L=%d)", c->L);
    if (!layers || !*layers) {
        if (c->L - 1 > INH_SC_MAX_LAYER) return inh__fail("shortcut layers must be below %d (L=%d)", INH_SC_MAX_LAYER, c->L);
        for (int l = 0; l < c->L - 1; l++) c->sc_layers[l / 32] |= 1u << (l % 32);
    } else {
        const char *q = layers;
        while (*q) {
            char *end;
            long l = strtol(q, &end, 10);
            if (end == q || (*end && *end != ',')) return inh__fail("--shortcut-layers \"%s\": want a list of layer numbers like 1,3,5", layers);
            if (l < 0 || l > c->L - 2 || l >= INH_SC_MAX_LAYER)
                return inh__fail("--shortcut-layers: layer %ld is outside 0..%d (the intermediate layers of a %d-layer model)", l, c->L - 2, c->L);
            if (c->sc_layers[l / 32] >> (l % 32) & 1u) return inh__fail("--shortcut-layers: layer %ld is named twice", l);
            c->sc_layers[l / 32] |= 1u << (l % 32);
            q = *end ? end + 1 : end;
        }
    }
    c->shortcuts = variant;
    return 0;
}

INHDEF void inh_config_default(inh_config *c, int maxT, int V, int L, int NH, int C) {
    memset(c, 0, sizeof *c);
    c->maxT = maxT; c->V = V; c->Vp = V > 0 ? (V + 127) / 128 * 128 : 0;
    c->L = L; c->NH = NH; c->C = C; c->bias = 1; c->layer_scale = 0;
}

/* sizes of the 16 tensors and the 14 of the shortcuts (0 without them) into s[INH_MAX_PARAMS];
   the total (every size is < 2^62 when each dimension < 2^24) */
INH__FN size_t inh__param_sizes(const inh_config *c, size_t *s) {
    size_t Vp = (size_t)c->Vp, C = (size_t)c->C, L = (size_t)c->L, T = (size_t)c->maxT, total = 0;
    s[0] = Vp * C; s[1] = T * C; s[2] = L * C; s[3] = L * C; s[4] = L * 3 * C * C; s[5] = L * 3 * C;
    s[6] = L * C * C; s[7] = L * C; s[8] = L * C; s[9] = L * C; s[10] = L * 4 * C * C; s[11] = L * 4 * C;
    s[12] = L * C * 4 * C; s[13] = L * C; s[14] = C; s[15] = C;
    size_t n = (size_t)inh_sc_layers(c, NULL), on = c->shortcuts ? 1 : 0;
    s[16] = n * C; s[17] = n * C; s[18] = n * C * C; s[19] = n * C; s[20] = n * C * C; s[21] = n * C;
    s[22] = on * C; s[23] = on * C; s[24] = on * C * C; s[25] = on * C; s[26] = on * 2 * C * C; s[27] = on * 2 * C;
    s[28] = on * C * C; s[29] = on * C;
    for (int i = 0; i < INH_MAX_PARAMS; i++) total += s[i];
    return total;
}

INHDEF int inh_config_check(const inh_config *c, const char *what) {
    const int lim = 1 << 24;  /* no dimension anywhere near this: catches garbage headers */
    if (c->maxT <= 0 || c->V <= 0 || c->L <= 0 || c->NH <= 0 || c->C <= 0 || c->Vp <= 0 ||
        c->maxT >= lim || c->V >= lim || c->L >= 4096 || c->NH >= lim || c->C >= 65536 || c->Vp >= lim)
        return inh__fail("%s: bad model sizes maxT=%d V=%d Vp=%d L=%d NH=%d C=%d", what, c->maxT, c->V, c->Vp, c->L, c->NH, c->C);
    if (c->C % c->NH) return inh__fail("%s: %d heads do not divide the width C=%d", what, c->NH, c->C);
    if (c->Vp < c->V) return inh__fail("%s: padded vocabulary Vp=%d is smaller than V=%d", what, c->Vp, c->V);
    if (c->shortcuts) {
        if (c->shortcuts != INH_SC_CAUSAL && c->shortcuts != INH_SC_DEPTH) return inh__fail("%s: unknown shortcut variant %d", what, c->shortcuts);
        if (c->L < 2) return inh__fail("%s: attention shortcuts need at least 2 layers (L=%d)", what, c->L);
        int n = 0;
        for (int l = 0; l < INH_SC_MAX_LAYER; l++)
            if (c->sc_layers[l / 32] >> (l % 32) & 1u) {
                if (l > c->L - 2) return inh__fail("%s: shortcut layer %d is outside 0..%d (the intermediate layers)", what, l, c->L - 2);
                n++;
            }
        if (!n) return inh__fail("%s: shortcuts without any selected layer", what);
    } else {
        for (int i = 0; i < 32; i++) if (c->sc_layers[i]) return inh__fail("%s: shortcut layers set without shortcuts", what);
    }
    /* the parameter count in double (no wrap on 32-bit): every tensor of inh__param_sizes */
    double C = c->C, n = inh_sc_layers(c, NULL), on = c->shortcuts ? 1 : 0;
    double np = (double)c->Vp * C + (double)c->maxT * C + c->L * (12 * C * C + 13 * C) + 2 * C + n * (2 * C * C + 4 * C) + on * (4 * C * C + 6 * C);
    if (np > 1099511627776.0) return inh__fail("%s: model too large (%.0f parameters)", what, np);
    if (np * sizeof(float) > (double)(SIZE_MAX / 4))   /* parameters, gradients and two moments in one address space */
        return inh__fail("%s: %.0f parameters (%.1f GiB a copy) is too large for this %d-bit build", what, np, np * 4 / 1073741824.0, (int)(8 * sizeof(size_t)));
    return 0;
}

INH__FN void inh__point_params(inh_params *p, float *mem, const size_t *s) {
    float **t[INH_MAX_PARAMS] = {&p->wte, &p->wpe, &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb, &p->attprojw, &p->attprojb,
                                 &p->ln2w, &p->ln2b, &p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb, &p->lnfw, &p->lnfb,
                                 &p->sc_lnw, &p->sc_lnb, &p->sc_fc1w, &p->sc_fc1b, &p->sc_fc2w, &p->sc_fc2b,
                                 &p->sc_lnqw, &p->sc_lnqb, &p->sc_qw, &p->sc_qb, &p->sc_kvw, &p->sc_kvb,
                                 &p->sc_projw, &p->sc_projb};
    for (int i = 0; i < INH_MAX_PARAMS; i++) { *t[i] = s[i] ? mem : NULL; mem += s[i]; }
}

/* allocate parameters and gradients (zeroed) for a checked config */
INH__FN int inh__model_alloc(inh_model *m, const inh_config *c, const char *what) {
    memset(m, 0, sizeof *m);
    if (inh_config_check(c, what)) return -1;
    m->cfg = *c;
    m->num_params = inh__param_sizes(c, m->param_sizes);
    m->params_mem = (float *)inh__alloc_lines(m->num_params * sizeof(float));
    m->grads_mem = (float *)inh__alloc_lines(m->num_params * sizeof(float));
    m->drop_attn = INH__CALLOC(unsigned char, c->L);
    if (!m->params_mem || !m->grads_mem || !m->drop_attn) { inh_model_free(m); return -1; }
    inh__point_params(&m->params, m->params_mem, m->param_sizes);
    inh__point_params(&m->grads, m->grads_mem, m->param_sizes);
    m->dparams = m->params; m->dgrads = m->grads;   /* the CPU computes in the host blocks */
    m->dparams_mem = m->params_mem; m->dgrads_mem = m->grads_mem;
    m->mean_loss = -1.0f;
    m->threads = 1;
    return 0;
}

INHDEF int inh_model_init(inh_model *m, const inh_config *c, uint64_t seed) {
    if (inh__model_alloc(m, c, "model config")) return -1;
    inh_rng r;
    inh_rng_seed(&r, seed);
    float resid_std = 0.02f / sqrtf(2.0f * (float)c->L);  /* GPT-2: residual projections scaled */
    float *mem = m->params_mem;
    for (int i = 0; i < INH_MAX_PARAMS; i++) {   /* shortcut tensors after llm.c's 16: plain models draw the same */
        size_t n = m->param_sizes[i];
        if (inh_param_is_bias(i)) { mem += n; continue; }                      /* zeros */
        if (inh__param_is_lnw(i)) { for (size_t j = 0; j < n; j++) mem[j] = 1.0f; mem += n; continue; }
        float std = inh__param_is_resid(i) ? resid_std : 0.02f;
        size_t real = (i == 0) ? (size_t)c->V * c->C : n;                    /* wte padding stays 0 */
        for (size_t j = 0; j < real; j++) mem[j] = std * inh_rng_normal(&r);
        mem += n;
    }
    return 0;
}

/* the backend's blocks of m (activations, ids; with a non-host backend its parameter copies too) */
INH__FN void inh__be_free(inh_model *m) {
    const inh_backend *be = inh__be(m);
    be->release(m, m->acts_mem); be->release(m, m->scratch_mem); be->release(m, m->dids); be->release(m, m->dnorm);
    m->acts_mem = m->scratch_mem = NULL; m->dids = NULL; m->dnorm = NULL; m->dnorm_floats = 0; m->acts_capacity = 0;
    if (!be->host_memory) {
        be->release(m, m->dparams_mem); be->release(m, m->dgrads_mem); be->release(m, m->dm_mem); be->release(m, m->dv_mem);
    }
    m->dparams = m->params; m->dgrads = m->grads;
    m->dparams_mem = m->params_mem; m->dgrads_mem = m->grads_mem; m->dm_mem = m->m_mem; m->dv_mem = m->v_mem;
    INH_FREE(m->host_losses); m->host_losses = NULL;
    INH_FREE(m->host_ids); m->host_ids = NULL;
    INH_FREE(m->host_step); m->host_step = NULL;
    m->be = NULL; m->be_ctx = NULL;
}
/* a failure the backend kept (after waiting for it with wait), as this library's error */
INH__FN int inh__be_done(inh_model *m, int wait) {
    const inh_backend *be = inh__be(m);
    return (wait ? be->sync(m) : be->check(m)) ? inh__fail("%s backend: %s", be->name, be->error(m)) : 0;
}
INH__FN int inh__be_check(inh_model *m) { return inh__be_done(m, 0); }
INHDEF int inh_model_wait(inh_model *m) { return inh__be_done(m, 1); }

INHDEF int inh_model_sync_host(inh_model *m) {
    const inh_backend *be = inh__be(m);
    if (be->host_memory || !m->host_stale) return 0;   /* saving a model and its state at one step: one download */
    size_t bytes = m->num_params * sizeof(float);
    if (m->dm_mem && !m->m_mem) {
        m->m_mem = (float *)inh__alloc_lines(m->num_params * sizeof(float));
        m->v_mem = (float *)inh__alloc_lines(m->num_params * sizeof(float));
        if (!m->m_mem || !m->v_mem) { inh__free_lines(m->m_mem); inh__free_lines(m->v_mem); m->m_mem = m->v_mem = NULL; return -1; }
    }
    be->download(m, m->params_mem, m->dparams_mem, bytes);
    be->download(m, m->grads_mem, m->dgrads_mem, bytes);
    if (m->dm_mem) { be->download(m, m->m_mem, m->dm_mem, bytes); be->download(m, m->v_mem, m->dv_mem, bytes); }
    if (inh__be_done(m, 1)) return -1;
    m->host_stale = 0;
    return 0;
}

INHDEF int inh_model_sync_device(inh_model *m) {
    const inh_backend *be = inh__be(m);
    if (be->host_memory) return 0;
    size_t bytes = m->num_params * sizeof(float);
    be->upload(m, m->dparams_mem, m->params_mem, bytes);
    if (m->m_mem) {
        if (!m->dm_mem && (be->alloc(m, (void **)&m->dm_mem, bytes) || be->alloc(m, (void **)&m->dv_mem, bytes))) {
            be->release(m, m->dm_mem); m->dm_mem = NULL;
            return inh__fail("out of %s memory for the AdamW moments (%zu bytes)", be->name, 2 * bytes);
        }
        be->upload(m, m->dm_mem, m->m_mem, bytes); be->upload(m, m->dv_mem, m->v_mem, bytes);
    }
    m->host_stale = 0;
    return inh__be_done(m, 1);
}

INHDEF int inh_model_set_backend(inh_model *m, const inh_backend *be, void *ctx) {
    if (!be) be = &inh__cpu_backend;
    if (!m->params_mem) return inh__fail("the model has no parameters yet (load or initialise it first)");
    if (be == inh__be(m) && ctx == m->be_ctx) return 0;
    if (!be->host_memory && m->cfg.shortcuts)
        return inh__fail("the %s backend does not run attention shortcuts yet, and this model has them: use the CPU", be->name);
    if (inh_model_sync_host(m)) return -1;   /* the host copies are current: the model can come back */
    inh__be_free(m);                         /* now on the CPU */
    if (be == &inh__cpu_backend) return 0;
    if (be->host_memory) return inh__fail("backend %s: only the CPU backend computes in host memory", be->name);
    size_t bytes = m->num_params * sizeof(float);
    m->be = be; m->be_ctx = ctx;
    m->dparams_mem = m->dgrads_mem = m->dm_mem = m->dv_mem = NULL;
    if (be->alloc(m, (void **)&m->dparams_mem, bytes) || be->alloc(m, (void **)&m->dgrads_mem, bytes)) {
        inh__be_free(m);
        return inh__fail("out of %s memory for %zu parameters and their gradients", be->name, m->num_params);
    }
    inh__point_params(&m->dparams, m->dparams_mem, m->param_sizes);
    inh__point_params(&m->dgrads, m->dgrads_mem, m->param_sizes);
    be->zero(m, m->dgrads_mem, bytes);
    if (inh_model_sync_device(m)) { inh__be_free(m); return -1; }
    m->host_stale = 1;   /* the device's gradients start at zero, the host's may not */
    return 0;
}

/* A CPU model over m's host parameters, brought up to date: the host-side work on a model that
   lives on another backend (the KV-cache sampler, the analysis). It shares m's host blocks and
   drop_attn and has activations of its own; inh__twin_free releases only those. */
INH__FN int inh__host_twin(inh_model *twin, inh_model *m) {
    if (inh_model_sync_host(m)) return -1;
    *twin = *m;
    twin->be = NULL; twin->be_ctx = NULL;
    twin->dparams = m->params; twin->dgrads = m->grads;
    twin->dparams_mem = m->params_mem; twin->dgrads_mem = m->grads_mem; twin->dm_mem = m->m_mem; twin->dv_mem = m->v_mem;
    twin->acts_mem = twin->scratch_mem = NULL; twin->dids = NULL; twin->host_losses = NULL; twin->host_ids = NULL; twin->dnorm = NULL;
    twin->dnorm_floats = 0; twin->host_step = NULL; twin->acts_capacity = 0;
    twin->inputs = twin->targets = NULL; twin->mean_loss = -1.0f;
    return 0;
}
INH__FN void inh__twin_free(inh_model *twin) { inh__be_free(twin); }

INHDEF void inh_model_free(inh_model *m) {
    inh__be_free(m);
    inh__free_lines(m->params_mem); inh__free_lines(m->grads_mem); inh__free_lines(m->m_mem); inh__free_lines(m->v_mem);
    INH_FREE(m->drop_attn);
    memset(m, 0, sizeof *m);
}

/* activation block for N = B*T positions at sequence length T (attention is (B,NH,T,T)) */
INH__FN int inh__acts_alloc(inh_model *m, int B, int T) {
    const inh_config *c = &m->cfg;
    size_t N = (size_t)B * T, L = (size_t)c->L, C = (size_t)c->C, NH = (size_t)c->NH;
    size_t att = m->keep_attention ? (size_t)B * NH * T * T : 0, rows = (size_t)B * NH * 2 * T;
    size_t need = N * C + L * N * (C + 2) + L * N * 3 * C + L * N * C + L * att + L * N * C + L * N * (C + 2)
                + 2 * L * N * 4 * C + L * N * C + N * (C + 2) + N * (size_t)c->Vp + N + (att ? 0 : L * rows);
    size_t scratch = 3 * N * C + N * 3 * C + att + 2 * N * 4 * C;   /* backward scratch */
    /* shortcuts: their activations after everything else; backward scratch dkv (2n), dfeat, dh (n
       each), dq, datty and three temporaries (N C each), then the cross-attention's rows */
    size_t nsc = (size_t)inh_sc_layers(c, NULL), sc_att = m->keep_attention ? (size_t)B * NH * T * nsc * T : 0;
    if (c->shortcuts) {
        need += nsc * N * (C + 2) + 3 * nsc * N * C + nsc * N * 2 * C + N * (C + 2) + 2 * N * C + sc_att + N * C;
        scratch += 4 * nsc * N * C + 5 * N * C + (size_t)B * NH * 2 * nsc * T;   /* + the cross-attention's rows */
    }
    /* the bf16 copies (inh_acts' *_16): bf16 models on a device; each array starts on 16 bytes */
    const inh_backend *be = inh__be(m);
    int h16 = m->bf16 && !be->host_memory;
    size_t n16[7] = {L * N * C, L * N * C, L * N * C, L * N * 4 * C, N * C, N * 4 * C, N * (size_t)c->Vp};
    if (h16) {
        need += 4;   /* to align the first one */
        for (int i = 0; i < 7; i++) need += (n16[i] + 7) / 8 * 4;
    }
    {   /* the same sizes bounded from above in double: refused where size_t would wrap (32-bit builds) */
        double dN = (double)B * T, dC = (double)C, dL = (double)L, dn = (double)nsc, dT = (double)T, dBH = (double)B * NH;
        double datt = m->keep_attention ? dBH * dT * dT : 0.0;
        double bound = dN * (dC * (16 * dL + 32 + 12 * dn) + 4 * dL + 8 + c->Vp) + (dL + 1) * datt * (1 + dn) + dBH * 2 * dT * (dn + dL)
                     + (h16 ? dN * (dC * (3.5 * dL + 2.5) + 0.5 * c->Vp) + 64 : 0.0);
        if (bound * sizeof(float) > (double)(SIZE_MAX / 2))
            return inh__fail("activations for B=%d T=%d (B*T*Vp = %.0f) are too large for this %d-bit build: use a smaller batch or sequence",
                             B, T, dN * c->Vp, (int)(8 * sizeof(size_t)));
    }
    if (m->acts_mem && m->acts_capacity == N && m->T == T && m->acts_keep == m->keep_attention && m->acts_floats == need) return 0;
    if (m->keep_attention && !be->host_memory)
        return inh__fail("the %s backend keeps no attention matrices (keep_attention): the analysis runs on the host", be->name);
    be->release(m, m->acts_mem); be->release(m, m->scratch_mem); be->release(m, m->dids);
    m->acts_mem = m->scratch_mem = NULL; m->dids = NULL; m->acts_capacity = 0;
    INH_FREE(m->host_losses); m->host_losses = NULL;
    INH_FREE(m->host_ids); m->host_ids = NULL;
    if (be->alloc(m, (void **)&m->acts_mem, need * sizeof(float)) || be->alloc(m, (void **)&m->scratch_mem, scratch * sizeof(float)) ||
        be->alloc(m, (void **)&m->dids, 2 * N * sizeof(int)) ||
        (!be->host_memory && (!(m->host_losses = INH__ALLOC(float, N)) || !(m->host_ids = INH__ALLOC(int, N))))) {
        be->release(m, m->acts_mem); be->release(m, m->scratch_mem); be->release(m, m->dids);
        m->acts_mem = m->scratch_mem = NULL; m->dids = NULL;
        return inh__fail("out of %s memory for activations (B=%d, T=%d: %zu floats)", be->name, B, T, need + scratch);
    }
    float *p = m->acts_mem;
    inh_acts *a = &m->acts;
#define INH__TAKE(ptr, n) do { a->ptr = p; p += (n); } while (0)
    INH__TAKE(encoded, N * C);
    INH__TAKE(ln1, L * N * C); INH__TAKE(ln1_mean, L * N); INH__TAKE(ln1_rstd, L * N);
    INH__TAKE(qkv, L * N * 3 * C); INH__TAKE(atty, L * N * C); INH__TAKE(att, L * att); INH__TAKE(res2, L * N * C);
    INH__TAKE(att_rows, att ? 0 : L * rows);
    if (!att) a->att = NULL;
    else a->att_rows = NULL;
    INH__TAKE(ln2, L * N * C); INH__TAKE(ln2_mean, L * N); INH__TAKE(ln2_rstd, L * N);
    INH__TAKE(fch, L * N * 4 * C); INH__TAKE(fch_gelu, L * N * 4 * C); INH__TAKE(res3, L * N * C);
    INH__TAKE(lnf, N * C); INH__TAKE(lnf_mean, N); INH__TAKE(lnf_rstd, N);
    INH__TAKE(logits, N * c->Vp); INH__TAKE(losses, N);
    if (c->shortcuts) {
        INH__TAKE(sc_ln, nsc * N * C); INH__TAKE(sc_ln_mean, nsc * N); INH__TAKE(sc_ln_rstd, nsc * N);
        INH__TAKE(sc_fc1, nsc * N * C); INH__TAKE(sc_fc1g, nsc * N * C); INH__TAKE(sc_feat, nsc * N * C);
        INH__TAKE(sc_kv, nsc * N * 2 * C);
        INH__TAKE(sc_lnq, N * C); INH__TAKE(sc_lnq_mean, N); INH__TAKE(sc_lnq_rstd, N);
        INH__TAKE(sc_q, N * C); INH__TAKE(sc_atty, N * C); INH__TAKE(sc_att, sc_att); INH__TAKE(sc_res, N * C);
        if (!sc_att) a->sc_att = NULL;
    } else {
        a->sc_ln = a->sc_ln_mean = a->sc_ln_rstd = a->sc_fc1 = a->sc_fc1g = a->sc_feat = a->sc_kv = NULL;
        a->sc_lnq = a->sc_lnq_mean = a->sc_lnq_rstd = a->sc_q = a->sc_atty = a->sc_att = a->sc_res = NULL;
    }
#undef INH__TAKE
    {
        uint16_t **d16[7] = {&a->ln1_16, &a->atty_16, &a->ln2_16, &a->gelu_16, &a->lnf_16, &a->dfch_16, &a->dlogits_16};
        p += h16 ? (size_t)(-(p - m->acts_mem)) % 4 : 0;   /* acts_mem's alignment (a device's: 256 bytes) */
        for (int i = 0; i < 7; i++) {
            *d16[i] = h16 ? (uint16_t *)(void *)p : NULL;
            p += h16 ? (n16[i] + 7) / 8 * 4 : 0;
        }
    }
    m->acts_capacity = N;
    m->acts_floats = need; m->scratch_floats = scratch;
    m->acts_keep = m->keep_attention;
    m->T = T;
    return 0;
}

INH__FN float inh__attn_scale(const inh_config *c, int l) {
    float s = 1.0f / sqrtf((float)(c->C / c->NH));
    return c->layer_scale ? s / (float)(l + 1) : s;
}

/* optional phase timing of the seam operations (m->profile), for `bench` */
#define INH__TIMED(m, slot, call) do { \
    double t0_ = (m)->profile ? inh_now() : 0.0; \
    call; \
    if ((m)->profile) (m)->prof[slot] += inh_now() - t0_; \
} while (0)

/* --- the shortcut sub-layer: feature maps of the selected layers, then the cross-attention ---- */
INH__FN int inh__sc_on(const inh_model *m) { return m->cfg.shortcuts && !m->drop_shortcut; }
/* backward scratch of the shortcuts: after the plain model's (see inh__acts_alloc) */
INH__FN float *inh__sc_scratch(const inh_model *m) {
    size_t N = (size_t)m->B * m->T, NC = N * m->cfg.C;
    size_t att = m->acts_keep ? (size_t)m->B * m->cfg.NH * m->T * m->T : 0;
    return m->scratch_mem + 14 * NC + att;
}
/* layer l's attention rows (B*NH, 2T), kept from its forward to its backward */
INH__FN float *inh__att_rows(inh_model *m, int l) { return m->acts.att_rows + (size_t)l * m->B * m->cfg.NH * 2 * m->T; }
/* a slice of one of inh_acts' bf16 copies, or NULL where there are none */
INH__FN uint16_t *inh__at16(uint16_t *p, size_t off) { return p ? p + off : NULL; }
/* h (B,T,C) is h_{L-1}; writes a->sc_res = h + shortcut output */
INH__FN void inh__shortcut_forward(inh_model *m, const float *h) {
    const inh_config *c = &m->cfg;
    const inh_backend *be = inh__be(m);   /* the CPU: the cross-attention below has no other backend yet */
    inh_params *p = &m->dparams;
    inh_acts *a = &m->acts;
    int B = m->B, T = m->T, N = B * T, C = c->C, nt = m->threads, bias = c->bias, sel[INH_SC_MAX_LAYER];
    int n = inh_sc_layers(c, sel);
    size_t NC = (size_t)N * C, C2 = (size_t)C * C;
    float *rows = inh__sc_scratch(m) + 4 * n * NC + 5 * NC;
    for (int i = 0; i < n; i++) {   /* f_l(h_l) = W2 GELU(W1 LN(h_l) + b1) + b2 */
        const float *hl = a->res3 + (size_t)sel[i] * NC;
        be->layernorm_forward(m, a->sc_ln + i * NC, a->sc_ln_mean + (size_t)i * N, a->sc_ln_rstd + (size_t)i * N, hl,
                               p->sc_lnw + (size_t)i * C, bias ? p->sc_lnb + (size_t)i * C : NULL, N, C, NULL);
        INH__TIMED(m, 0, be->matmul_forward(m, a->sc_fc1 + i * NC, a->sc_ln + i * NC, p->sc_fc1w + i * C2,
                                                 bias ? p->sc_fc1b + (size_t)i * C : NULL, N, C, C, NULL));
        be->gelu_forward(m, a->sc_fc1g + i * NC, a->sc_fc1 + i * NC, NC, NULL);
        INH__TIMED(m, 0, be->matmul_forward(m, a->sc_feat + i * NC, a->sc_fc1g + i * NC, p->sc_fc2w + i * C2,
                                                 bias ? p->sc_fc2b + (size_t)i * C : NULL, N, C, C, NULL));
    }
    /* keys and values of every feature map in one product: (n N, C) -> (n N, 2C) */
    INH__TIMED(m, 0, be->matmul_forward(m, a->sc_kv, a->sc_feat, p->sc_kvw, bias ? p->sc_kvb : NULL, n * N, C, 2 * C, NULL));
    be->layernorm_forward(m, a->sc_lnq, a->sc_lnq_mean, a->sc_lnq_rstd, h, p->sc_lnqw, bias ? p->sc_lnqb : NULL, N, C, NULL);
    INH__TIMED(m, 0, be->matmul_forward(m, a->sc_q, a->sc_lnq, p->sc_qw, bias ? p->sc_qb : NULL, N, C, C, NULL));
    INH__TIMED(m, 1, inh__shortcut_attention_forward(a->sc_atty, a->sc_att, rows, a->sc_q, a->sc_kv, B, T, C, c->NH, n,
                                                     c->shortcuts == INH_SC_CAUSAL, nt));
    INH__TIMED(m, 0, be->matmul_forward(m, a->sc_res, a->sc_atty, p->sc_projw, bias ? p->sc_projb : NULL, N, C, C, NULL));
    be->residual_forward(m, a->sc_res, a->sc_res, h, NC);
}
/* dres (B,T,C): the gradient of sc_res on entry, of h_{L-1} on return; dh (n,B,T,C) receives the
   gradients of the selected layers' outputs h_l through the feature maps (overwritten) */
INH__FN void inh__shortcut_backward(inh_model *m, float *dres, float *dh) {
    const inh_config *c = &m->cfg;
    const inh_backend *be = inh__be(m);
    inh_params *p = &m->dparams, *g = &m->dgrads;
    inh_acts *a = &m->acts;
    int B = m->B, T = m->T, N = B * T, C = c->C, nt = m->threads, bias = c->bias, sel[INH_SC_MAX_LAYER];
    int n = inh_sc_layers(c, sel);
    size_t NC = (size_t)N * C, C2 = (size_t)C * C;
    float *dkv = inh__sc_scratch(m), *dfeat = dkv + 2 * n * NC, *dq = dh + n * NC, *datty = dq + NC;
    float *t1 = datty + NC, *t2 = t1 + NC, *t3 = t2 + NC, *rows = t3 + NC;
    const float *h = a->res3 + (size_t)(c->L - 1) * NC;
    (void)dfeat;
    INH__TIMED(m, 0, be->matmul_backward(m, datty, g->sc_projw, bias ? g->sc_projb : NULL, dres, a->sc_atty, p->sc_projw, N, C, C,
                                         INH__FRESH, NULL, NULL));
    be->zero(m, dq, NC * sizeof(float));
    be->zero(m, dkv, 2 * n * NC * sizeof(float));
    INH__TIMED(m, 1, inh__shortcut_attention_backward(dq, dkv, rows, datty, a->sc_q, a->sc_kv, a->sc_att, B, T, C, c->NH, n,
                                                      c->shortcuts == INH_SC_CAUSAL, nt));
    INH__TIMED(m, 0, be->matmul_backward(m, t1, g->sc_qw, bias ? g->sc_qb : NULL, dq, a->sc_lnq, p->sc_qw, N, C, C, INH__FRESH, NULL, NULL));
    be->layernorm_backward(m, dres, g->sc_lnqw, bias ? g->sc_lnqb : NULL, t1, h, p->sc_lnqw, a->sc_lnq_mean, a->sc_lnq_rstd, N, C);
    INH__TIMED(m, 0, be->matmul_backward(m, dfeat, g->sc_kvw, bias ? g->sc_kvb : NULL, dkv, a->sc_feat, p->sc_kvw, n * N, C, 2 * C,
                                         INH__FRESH, NULL, NULL));
    for (int i = 0; i < n; i++) {
        size_t ic = (size_t)i * C;
        INH__TIMED(m, 0, be->matmul_backward(m, t1, g->sc_fc2w + i * C2, bias ? g->sc_fc2b + ic : NULL, dfeat + i * NC,
                                                  a->sc_fc1g + i * NC, p->sc_fc2w + i * C2, N, C, C, INH__FRESH, NULL, NULL));
        be->zero(m, t2, NC * sizeof(float));
        be->gelu_backward(m, t2, a->sc_fc1 + i * NC, a->sc_fc1g + i * NC, t1, NC, NULL);
        INH__TIMED(m, 0, be->matmul_backward(m, t3, g->sc_fc1w + i * C2, bias ? g->sc_fc1b + ic : NULL, t2,
                                                  a->sc_ln + i * NC, p->sc_fc1w + i * C2, N, C, C, INH__FRESH, NULL, NULL));
        be->zero(m, dh + i * NC, NC * sizeof(float));
        be->layernorm_backward(m, dh + i * NC, g->sc_lnw + ic, bias ? g->sc_lnb + ic : NULL, t3, a->res3 + (size_t)sel[i] * NC,
                                p->sc_lnw + ic, a->sc_ln_mean + (size_t)i * N, a->sc_ln_rstd + (size_t)i * N, N, C);
    }
}

/* the mean of a batch's n losses: summed in double, in order, rounded once (a trainer step's
   micro-batches the same way, so that its loss is the forward's) */
INH__FN float inh__mean_loss(const float *losses, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += losses[i];
    return (float)(s / (double)n);
}
/* the forward; with targets and step_losses (the backend's memory, B*T floats) the losses go
   there, queued: nothing waits for them, and m->mean_loss is left 0 (a trainer step reads them
   with its norm, in its one wait); without step_losses, into acts.losses and m->mean_loss */
INH__FN int inh__forward(inh_model *m, const int *inputs, const int *targets, int B, int T, float *step_losses) {
    const inh_config *c = &m->cfg;
    if (B <= 0 || T <= 0) return inh__fail("batch B=%d and sequence T=%d must be positive", B, T);
    if (T > c->maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", T, c->maxT);
    for (int i = 0; i < B * T; i++) {
        if (inputs[i] < 0 || inputs[i] >= c->V) return inh__fail("input token %d at position %d is outside the vocabulary (V=%d)", inputs[i], i, c->V);
        if (targets && (targets[i] < 0 || targets[i] >= c->V)) return inh__fail("target token %d at position %d is outside the vocabulary (V=%d)", targets[i], i, c->V);
    }
    if (inh__acts_alloc(m, B, T)) return -1;
    m->B = B; m->T = T; m->inputs = inputs; m->targets = targets;
    const inh_backend *be = inh__be(m);
    be->reserve(m, B, T);
    if (m->host_ids) memcpy(m->host_ids, inputs, (size_t)B * T * sizeof(int));
    int N = B * T, C = c->C, NH = c->NH, nt = m->threads;
    size_t NC = (size_t)N * C, att_n = (size_t)B * NH * T * T;
    inh_params *p = &m->dparams;
    inh_acts *a = &m->acts;
    int bias = c->bias, *ids = m->dids, *tgt = m->dids + N;   /* the token ids, in the backend's memory */
    be->upload(m, ids, inputs, (size_t)N * sizeof(int));
    if (targets) be->upload(m, tgt, targets, (size_t)N * sizeof(int));
    be->encoder_forward(m, a->encoded, ids, p->wte, p->wpe, B, T, C);
    for (int l = 0; l < c->L; l++) {
        const float *res = l == 0 ? a->encoded : a->res3 + (l - 1) * NC;
        float *ln1 = a->ln1 + l * NC, *qkv = a->qkv + l * 3 * NC, *atty = a->atty + l * NC;
        float *res2 = a->res2 + l * NC, *ln2 = a->ln2 + l * NC;
        float *fch = a->fch + l * 4 * NC, *fch_gelu = a->fch_gelu + l * 4 * NC, *res3 = a->res3 + l * NC;
        uint16_t *ln1_16 = inh__at16(a->ln1_16, l * NC), *atty_16 = inh__at16(a->atty_16, l * NC);   /* NULL on the CPU */
        uint16_t *ln2_16 = inh__at16(a->ln2_16, l * NC), *gelu_16 = inh__at16(a->gelu_16, l * 4 * NC);
        size_t lc = (size_t)l * C;
        if (m->drop_attn[l]) {
            be->copy(m, res2, res, NC * sizeof(float));   /* attention sub-layer skipped: residual passes */
        } else {
            be->layernorm_forward(m, ln1, a->ln1_mean + l * N, a->ln1_rstd + l * N, res, p->ln1w + lc, bias ? p->ln1b + lc : NULL, N, C,
                                  ln1_16);
            INH__TIMED(m, 0, be->matmul_forward(m, qkv, ln1, p->qkvw + lc * 3 * C, bias ? p->qkvb + lc * 3 : NULL, N, C, 3 * C, ln1_16));
            if (a->att) INH__TIMED(m, 1, inh__attention_forward_cpu(atty, a->att + l * att_n, qkv, B, T, C, NH, inh__attn_scale(c, l), nt));
            else INH__TIMED(m, 1, be->attention_forward(m, atty, inh__att_rows(m, l), qkv, B, T, C, NH, inh__attn_scale(c, l), atty_16));
            INH__TIMED(m, 0, be->matmul_forward(m, res2, atty, p->attprojw + lc * C, bias ? p->attprojb + lc : NULL, N, C, C, atty_16));
            be->residual_forward(m, res2, res2, res, NC);
        }
        be->layernorm_forward(m, ln2, a->ln2_mean + l * N, a->ln2_rstd + l * N, res2, p->ln2w + lc, bias ? p->ln2b + lc : NULL, N, C,
                              ln2_16);
        INH__TIMED(m, 0, be->matmul_forward(m, fch, ln2, p->fcw + lc * 4 * C, bias ? p->fcb + lc * 4 : NULL, N, C, 4 * C, ln2_16));
        be->gelu_forward(m, fch_gelu, fch, 4 * NC, gelu_16);
        INH__TIMED(m, 0, be->matmul_forward(m, res3, fch_gelu, p->fcprojw + lc * 4 * C, bias ? p->fcprojb + lc : NULL, N, 4 * C, C,
                                             gelu_16));
        be->residual_forward(m, res3, res3, res2, NC);
    }
    const float *last = a->res3 + (size_t)(c->L - 1) * NC;
    if (inh__sc_on(m)) { inh__shortcut_forward(m, last); last = a->sc_res; }
    be->layernorm_forward(m, a->lnf, a->lnf_mean, a->lnf_rstd, last, p->lnfw, bias ? p->lnfb : NULL, N, C, a->lnf_16);
    INH__TIMED(m, 0, be->matmul_forward(m, a->logits, a->lnf, p->wte, NULL, N, C, c->Vp, a->lnf_16));
    m->mean_loss = -1.0f;
    if (targets && step_losses) {
        be->crossentropy_forward(m, a->logits, step_losses, tgt, N, c->V, c->Vp);
        m->mean_loss = 0.0f;   /* known at the step's end; backward may follow */
    } else if (targets) {
        be->crossentropy_forward(m, a->logits, a->losses, tgt, N, c->V, c->Vp);
        const float *losses = a->losses;
        if (!be->host_memory) { be->download(m, m->host_losses, a->losses, (size_t)N * sizeof(float)); losses = m->host_losses; }
        if (inh__be_check(m)) return -1;
        m->mean_loss = inh__mean_loss(losses, (size_t)N);
    }
    return inh__be_check(m);
}
INHDEF int inh_model_forward(inh_model *m, const int *inputs, const int *targets, int B, int T) {
    return inh__forward(m, inputs, targets, B, T, NULL);
}

INHDEF void inh_model_zero_grad(inh_model *m) {
    inh__be(m)->zero(m, m->dgrads_mem, m->num_params * sizeof(float));
    m->host_stale = 1;
}

INHDEF int inh_model_backward(inh_model *m, float loss_scale) {
    const inh_config *c = &m->cfg;
    if (!m->targets || m->mean_loss < 0) return inh__fail("backward needs a forward pass with targets first");
    const inh_backend *be = inh__be(m);
    if (m->distill_probs && !be->host_memory) return inh__fail("distillation runs on the CPU backend only (not %s)", be->name);
    int B = m->B, T = m->T, N = B * T, C = c->C, NH = c->NH, nt = m->threads, bias = c->bias;
    size_t NC = (size_t)N * C, att_n = (size_t)B * NH * T * T;
    inh_params *p = &m->dparams, *g = &m->dgrads;
    inh_acts *a = &m->acts;
    const int *ids = m->dids, *tgt = m->dids + N;
    /* scratch: dres (running residual gradient), dln, datty, dqkv, datt, dfch, dfch_gelu */
    float *dres = m->scratch_mem, *dln = dres + NC, *datty = dln + NC, *dqkv = datty + NC;
    float *datt = dqkv + 3 * NC, *dfch = datt + (a->att ? att_n : 0), *dfch_gelu = dfch + 4 * NC;
    /* logits := dlogits (or, bf16 on a device, dlogits_16 := bf16 dlogits, logits left as they are) */
    be->crossentropy_backward(m, a->logits, tgt, m->distill_probs, m->distill_w, loss_scale / (float)N, N, c->Vp, a->dlogits_16);
    INH__TIMED(m, 0, be->matmul_backward(m, dln, g->wte, NULL, a->logits, a->lnf, p->wte, N, C, c->Vp, INH__FRESH, a->lnf_16,
                                         a->dlogits_16));
    be->zero(m, dres, NC * sizeof(float));
    const float *last = a->res3 + (size_t)(c->L - 1) * NC;
    int sc = inh__sc_on(m), sel[INH_SC_MAX_LAYER], nsel = 0;
    float *dh = NULL;
    if (sc) { last = a->sc_res; nsel = inh_sc_layers(c, sel); dh = inh__sc_scratch(m) + 3 * (size_t)nsel * NC; }
    be->layernorm_backward(m, dres, g->lnfw, bias ? g->lnfb : NULL, dln, last, p->lnfw, a->lnf_mean, a->lnf_rstd, N, C);
    if (sc) inh__shortcut_backward(m, dres, dh);
    for (int l = c->L - 1; l >= 0; l--) {
        const float *res = l == 0 ? a->encoded : a->res3 + (l - 1) * NC;
        size_t lc = (size_t)l * C;
        while (nsel > 0 && sel[nsel - 1] == l) {   /* h_l also feeds the shortcut: its feature map's gradient joins */
            be->residual_forward(m, dres, dres, dh + (size_t)(nsel - 1) * NC, NC);
            nsel--;
        }
        /* dres is the gradient of res3 (block output); MLP branch: res3 = res2 + fcproj(gelu(fc(ln2(res2)))) */
        INH__TIMED(m, 0, be->matmul_backward(m, dfch_gelu, g->fcprojw + lc * 4 * C, bias ? g->fcprojb + lc : NULL, dres,
                             a->fch_gelu + l * 4 * NC, p->fcprojw + lc * 4 * C, N, 4 * C, C, INH__FRESH,
                             inh__at16(a->gelu_16, l * 4 * NC), NULL));
        be->zero(m, dfch, 4 * NC * sizeof(float));
        be->gelu_backward(m, dfch, a->fch + l * 4 * NC, a->fch_gelu + l * 4 * NC, dfch_gelu, 4 * NC, a->dfch_16);
        INH__TIMED(m, 0, be->matmul_backward(m, dln, g->fcw + lc * 4 * C, bias ? g->fcb + lc * 4 : NULL, dfch, a->ln2 + l * NC,
                             p->fcw + lc * 4 * C, N, C, 4 * C, INH__FRESH, inh__at16(a->ln2_16, l * NC), a->dfch_16));
        be->layernorm_backward(m, dres, g->ln2w + lc, bias ? g->ln2b + lc : NULL, dln, a->res2 + l * NC, p->ln2w + lc,
                                a->ln2_mean + l * N, a->ln2_rstd + l * N, N, C);
        if (m->drop_attn[l]) continue;   /* res2 = res: the gradient passes through unchanged */
        /* attention branch: res2 = res + attproj(attention(qkv(ln1(res)))) */
        INH__TIMED(m, 0, be->matmul_backward(m, datty, g->attprojw + lc * C, bias ? g->attprojb + lc : NULL, dres, a->atty + l * NC,
                             p->attprojw + lc * C, N, C, C, INH__FRESH, inh__at16(a->atty_16, l * NC), NULL));
        be->zero(m, dqkv, 3 * NC * sizeof(float));
        if (a->att) INH__TIMED(m, 1, inh__attention_backward_cpu(dqkv, datt, datty, a->qkv + l * 3 * NC, a->att + l * att_n, B, T, C, NH, inh__attn_scale(c, l), nt));
        else INH__TIMED(m, 1, be->attention_backward(m, dqkv, inh__att_rows(m, l), datty, a->atty + l * NC, a->qkv + l * 3 * NC, B, T, C, NH,
                                                      inh__attn_scale(c, l)));
        INH__TIMED(m, 0, be->matmul_backward(m, dln, g->qkvw + lc * 3 * C, bias ? g->qkvb + lc * 3 : NULL, dqkv, a->ln1 + l * NC,
                             p->qkvw + lc * 3 * C, N, C, 3 * C, INH__FRESH, inh__at16(a->ln1_16, l * NC), NULL));
        be->layernorm_backward(m, dres, g->ln1w + lc, bias ? g->ln1b + lc : NULL, dln, res, p->ln1w + lc,
                                a->ln1_mean + l * N, a->ln1_rstd + l * N, N, C);
    }
    be->encoder_backward(m, g->wte, g->wpe, dres, ids, m->host_ids, B, T, C);
    m->mean_loss = -1.0f;   /* the logits buffer now holds gradients: a second backward needs a new forward */
    m->host_stale = 1;
    return inh__be_check(m);
}

/* --- AdamW -------------------------------------------------------------------------------- */
INHDEF void inh_adamw_default(inh_adamw *o) {
    o->beta1 = 0.9f; o->beta2 = 0.95f; o->eps = 1e-8f; o->weight_decay = 0.1f; o->decay_all = 0; o->grad_clip = 1.0f;
}

/* m->dnorm in the backend's memory: the gradient norm, the loss gate, then room for nl losses
   (and their host copy where the backend's memory is not the host's); grown when too small */
INH__FN int inh__dnorm(inh_model *m, size_t nl) {
    const inh_backend *be = inh__be(m);
    size_t n = 2 + nl;
    if (m->dnorm_floats >= n) return 0;
    be->release(m, m->dnorm); m->dnorm = NULL; m->dnorm_floats = 0;
    INH_FREE(m->host_step); m->host_step = NULL;
    if (be->alloc(m, (void **)&m->dnorm, n * sizeof(float)) || (!be->host_memory && !(m->host_step = INH__ALLOC(float, n)))) {
        be->release(m, m->dnorm); m->dnorm = NULL;
        return inh__fail("out of %s memory for the gradient norm and %zu losses", be->name, nl);
    }
    m->dnorm_floats = n;
    return 0;
}
INHDEF float inh_model_grad_norm(inh_model *m) {
    float norm = NAN;
    if (inh__dnorm(m, 0)) return NAN;
    inh__be(m)->grad_norm(m, m->dgrads_mem, m->num_params, NULL, 0, m->dnorm);
    inh__be(m)->download(m, &norm, m->dnorm, sizeof norm);
    return inh__be(m)->check(m) ? NAN : norm;   /* a failed backend: NaN, and the trainer skips and reports */
}

/* AdamW clipped by the norm in m->dnorm, skipped unless it and the loss gate are finite */
INH__FN int inh__update(inh_model *m, const inh_adamw *o, float lr, int t) {
    const inh_backend *be = inh__be(m);
    if (be->host_memory) { m->dm_mem = m->m_mem; m->dv_mem = m->v_mem; }   /* the CPU's moments are the host's (state files load them) */
    if (!m->dm_mem) {   /* the moments start at zero, in the backend's memory */
        size_t bytes = m->num_params * sizeof(float);
        if (be->alloc(m, (void **)&m->dm_mem, bytes) || be->alloc(m, (void **)&m->dv_mem, bytes)) {
            be->release(m, m->dm_mem); m->dm_mem = NULL;
            return inh__fail("out of %s memory for the AdamW moments (%zu bytes)", be->name, 2 * bytes);
        }
        be->zero(m, m->dm_mem, bytes); be->zero(m, m->dv_mem, bytes);
        if (be->host_memory) { m->m_mem = m->dm_mem; m->v_mem = m->dv_mem; }
    }
    inh_segment segs[INH_MAX_PARAMS];
    int nseg = 0;
    size_t off = 0;
    for (int i = 0; i < INH_MAX_PARAMS; off += m->param_sizes[i], i++) {
        if (!m->param_sizes[i] || (!m->cfg.bias && inh_param_is_bias(i))) continue;   /* absent tensors stay zero */
        segs[nseg].off = off; segs[nseg].n = m->param_sizes[i];
        segs[nseg++].wd = (o->decay_all || inh_param_is_2d(i)) ? o->weight_decay : 0.0f;
    }
    be->adamw(m, m->dparams_mem, m->dgrads_mem, m->dm_mem, m->dv_mem, segs, nseg, o, lr, t, m->dnorm);
    m->host_stale = 1;
    return inh__be_check(m);
}
INHDEF int inh_model_update(inh_model *m, const inh_adamw *o, float lr, int t, float grad_norm) {
    const inh_backend *be = inh__be(m);
    if (!isfinite(grad_norm)) return inh__fail("the gradient norm is %g: no update (a NaN or infinite gradient would reach every weight)", grad_norm);
    const float nrm[2] = {grad_norm, 0.0f};   /* the norm, and an open gate (the caller has decided) */
    if (inh__dnorm(m, 0)) return -1;
    be->upload(m, m->dnorm, nrm, sizeof nrm);
    return inh__update(m, o, lr, t);
}

/* --- sampling ------------------------------------------------------------------------------ */
/* the nucleus: candidates (logit >= cut) by logit descending (ties: the lower id first) */
typedef struct { float l; int i; } inh__cand;
INH__FN int inh__cand_cmp(const void *a, const void *b) {
    const inh__cand *x = (const inh__cand *)a, *y = (const inh__cand *)b;
    if (x->l != y->l) return x->l > y->l ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}
/* best: the most likely token; weights exp((l - max) / temperature) of the candidates, sorted; the
   fewest whose sum reaches top_p of the total are drawn from, one uniform number as without top_p */
INH__FN int inh__sample_nucleus(const float *logits, int V, float temperature, float cut, float top_p, int best, inh_rng *rng) {
    int n = 0;
    inh__cand *c = INH__ALLOC(inh__cand, V);
    if (!c) return best;
    for (int i = 0; i < V; i++) if (logits[i] >= cut) { c[n].l = logits[i]; c[n++].i = i; }
    qsort(c, (size_t)n, sizeof *c, inh__cand_cmp);
    double mx = logits[best], total = 0.0, keep_sum = 0.0;
    for (int j = 0; j < n; j++) total += exp((c[j].l - mx) / temperature);
    int keep = 0;
    while (keep < n && (keep == 0 || keep_sum < (double)top_p * total)) keep_sum += exp((c[keep++].l - mx) / temperature);
    double u = inh_rng_uniform(rng) * keep_sum, acc = 0.0;
    int tok = c[0].i;
    for (int j = 0; j < keep; j++) {
        acc += exp((c[j].l - mx) / temperature);
        if (acc >= u) { tok = c[j].i; break; }
    }
    INH_FREE(c);
    return tok;
}
INH__FN int inh__sample_logits(const float *logits, int V, float temperature, int top_k, float top_p, inh_rng *rng) {
    int best = 0;
    for (int i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    if (temperature <= 0.0f) return best;
    float cut = -INFINITY;
    if (top_k > 0 && top_k < V) {   /* k-th largest by repeated selection over a small copy */
        float *top = INH__ALLOC(float, top_k);
        if (!top) return best;
        int n = 0;
        for (int i = 0; i < V; i++) {
            if (n < top_k) { top[n++] = logits[i]; continue; }
            int mi = 0;
            for (int j = 1; j < n; j++) if (top[j] < top[mi]) mi = j;
            if (logits[i] > top[mi]) top[mi] = logits[i];
        }
        cut = n ? top[0] : cut;   /* (n = top_k >= 1; said for the compiler) */
        for (int j = 1; j < n; j++) if (top[j] < cut) cut = top[j];
        INH_FREE(top);
    }
    if (top_p < 1.0f) return inh__sample_nucleus(logits, V, temperature, cut, top_p, best, rng);
    double sum = 0.0, mx = logits[best];
    for (int i = 0; i < V; i++) if (logits[i] >= cut) sum += exp((logits[i] - mx) / temperature);
    double u = inh_rng_uniform(rng) * sum, acc = 0.0;
    for (int i = 0; i < V; i++) {
        if (logits[i] < cut) continue;
        acc += exp((logits[i] - mx) / temperature);
        if (acc >= u) return i;
    }
    return best;
}
INHDEF void inh_sampling_default(inh_sampling *s) { s->temperature = 1.0f; s->top_k = 0; s->top_p = 1.0f; }
INH__FN int inh__sampling_check(const inh_sampling *s) {
    if (!(s->temperature >= 0.0f) || !isfinite(s->temperature)) return inh__fail("sampling: temperature %g must be >= 0", (double)s->temperature);
    if (s->top_k < 0) return inh__fail("sampling: top_k %d must be >= 0 (0: all tokens)", s->top_k);
    if (!(s->top_p > 0.0f && s->top_p <= 1.0f)) return inh__fail("sampling: top_p %g must be in (0, 1] (1: all tokens)", (double)s->top_p);
    return 0;
}
INHDEF int inh_sample_token(const float *logits, int V, const inh_sampling *s, inh_rng *rng) {
    if (V < 1) return inh__fail("sampling: V %d must be positive", V);
    if (inh__sampling_check(s)) return -1;
    return inh__sample_logits(logits, V, s->temperature, s->top_k, s->top_p, rng);
}

INHDEF void inh_kv_free(inh_kv *kv) {
    INH_FREE(kv->sc_kv); INH_FREE(kv->sc_buf); INH_FREE(kv->sc_idx);
    if (kv->k) for (int l = 0; l < kv->m->cfg.L; l++) { INH_FREE(kv->k[l]); INH_FREE(kv->v[l]); }
    INH_FREE(kv->k); INH_FREE(kv->v); INH_FREE(kv->x); INH_FREE(kv->tokens);
    if (kv->twin) { inh__twin_free(kv->twin); INH_FREE(kv->twin); }
    memset(kv, 0, sizeof *kv);
}

INHDEF int inh_kv_init(inh_kv *kv, inh_model *m) {
    const inh_config *c = &m->cfg;
    size_t C = (size_t)c->C, T = (size_t)c->maxT;
    memset(kv, 0, sizeof *kv);
    if (!inh__on_host(m)) {   /* a model on another backend: the sampler runs on the host, over its synced copy */
        kv->twin = INH__ALLOC(inh_model, 1);
        if (!kv->twin) return -1;
        if (inh__host_twin(kv->twin, m)) { INH_FREE(kv->twin); kv->twin = NULL; return -1; }
        m = kv->twin;
    }
    kv->m = m;
    kv->k = INH__CALLOC(float *, c->L);
    kv->v = INH__CALLOC(float *, c->L);
    /* scratch: x, ln, qkv, att, atty, h, hg, logits */
    kv->x = INH__ALLOC(float, C + C + 3 * C + T + C + 4 * C + 4 * C + (size_t)c->Vp);
    kv->tokens = INH__ALLOC(int, T);
    if (!kv->k || !kv->v || !kv->x || !kv->tokens) { inh_kv_free(kv); return -1; }
    kv->ln = kv->x + C; kv->qkv = kv->ln + C; kv->att = kv->qkv + 3 * C; kv->atty = kv->att + T;
    kv->h = kv->atty + C; kv->hg = kv->h + 4 * C; kv->logits = kv->hg + 4 * C;
    for (int l = 0; l < c->L; l++) {
        if (m->drop_attn[l]) continue;    /* no attention, no cache */
        kv->k[l] = INH__ALLOC(float, T * C);
        kv->v[l] = INH__ALLOC(float, T * C);
        if (!kv->k[l] || !kv->v[l]) { inh_kv_free(kv); return -1; }
        kv->cache_floats += 2 * T * C;
    }
    if (inh__sc_on(m)) {
        int sel[INH_SC_MAX_LAYER], n = inh_sc_layers(c, sel);
        size_t keep = c->shortcuts == INH_SC_CAUSAL ? (size_t)n * T * 2 * C : (size_t)n * 2 * C;
        kv->sc_kv = INH__ALLOC(float, keep);
        kv->sc_buf = INH__ALLOC(float, 6 * C + (size_t)n * T);   /* ln, fc1, fc1g, feat, q, atty; a row */
        kv->sc_idx = INH__ALLOC(int, c->L);
        if (!kv->sc_kv || !kv->sc_buf || !kv->sc_idx) { inh_kv_free(kv); return -1; }
        for (int l = 0; l < c->L; l++) kv->sc_idx[l] = -1;
        for (int i = 0; i < n; i++) kv->sc_idx[sel[i]] = i;
        if (c->shortcuts == INH_SC_CAUSAL) kv->cache_floats += keep;
    }
    return 0;
}

/* shortcuts, one position t: feature map i of h_l (x) into its key/value slot */
INH__FN void inh__kv_sc_feature(inh_kv *kv, int i, int t) {
    inh_model *m = kv->m;
    const inh_config *c = &m->cfg;
    const inh_params *p = &m->params;
    int C = c->C, nt = m->threads, bias = c->bias;
    size_t ic = (size_t)i * C, C2 = (size_t)C * C;
    float mean, rstd, *ln = kv->sc_buf, *f1 = ln + C, *f1g = f1 + C, *feat = f1g + C;
    float *dst = kv->sc_kv + (c->shortcuts == INH_SC_CAUSAL ? ((size_t)i * c->maxT + t) : (size_t)i) * 2 * C;
    inh__layernorm_forward(ln, &mean, &rstd, kv->x, p->sc_lnw + ic, bias ? p->sc_lnb + ic : NULL, 1, C, 1);
    inh__matmul_forward(f1, ln, p->sc_fc1w + i * C2, bias ? p->sc_fc1b + ic : NULL, 1, C, C, nt);
    inh__gelu_forward(f1g, f1, (size_t)C, 1);
    inh__matmul_forward(feat, f1g, p->sc_fc2w + i * C2, bias ? p->sc_fc2b + ic : NULL, 1, C, C, nt);
    inh__matmul_forward(dst, feat, p->sc_kvw, bias ? p->sc_kvb : NULL, 1, C, 2 * C, nt);
}
/* shortcuts, one position t: x (h_{L-1}) += proj(attention of LNq(x) over the cached features) */
INH__FN void inh__kv_sc_attend(inh_kv *kv, int t) {
    inh_model *m = kv->m;
    const inh_config *c = &m->cfg;
    const inh_params *p = &m->params;
    int C = c->C, NH = c->NH, hs = C / NH, nt = m->threads, bias = c->bias, n = inh_sc_layers(c, NULL);
    int causal = c->shortcuts == INH_SC_CAUSAL, cnt = causal ? t + 1 : 1;
    float mean, rstd, *ln = kv->sc_buf, *q = ln + 4 * C, *atty = q + C, *row = atty + C, *out = ln + C;
    float scale = 1.0f / sqrtf((float)hs);
    inh__layernorm_forward(ln, &mean, &rstd, kv->x, p->sc_lnqw, bias ? p->sc_lnqb : NULL, 1, C, 1);
    inh__matmul_forward(q, ln, p->sc_qw, bias ? p->sc_qb : NULL, 1, C, C, nt);
    for (int h = 0; h < NH; h++) {
        float mx = -INFINITY, sum = 0.0f;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < cnt; j++) {
                const float *k = kv->sc_kv + ((size_t)i * (causal ? c->maxT : 1) + j) * 2 * C + h * hs;
                float sc = inh__dot(q + h * hs, k, hs) * scale;
                row[i * cnt + j] = sc;
                if (sc > mx) mx = sc;
            }
        for (int j = 0; j < n * cnt; j++) { row[j] = expf(row[j] - mx); sum += row[j]; }
        float *o = atty + h * hs;
        for (int e = 0; e < hs; e++) o[e] = 0.0f;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < cnt; j++) {
                const float *v = kv->sc_kv + ((size_t)i * (causal ? c->maxT : 1) + j) * 2 * C + C + h * hs;
                float w = row[i * cnt + j] / sum;
                for (int e = 0; e < hs; e++) o[e] += w * v[e];
            }
    }
    inh__matmul_forward(out, atty, p->sc_projw, bias ? p->sc_projb : NULL, 1, C, C, nt);
    inh__residual_forward(kv->x, kv->x, out, (size_t)C);
}

/* one position through every block, attending to the cache (same kernels as the batched forward) */
INH__FN void inh__kv_forward(inh_kv *kv, int token) {
    inh_model *m = kv->m;
    const inh_config *c = &m->cfg;
    const inh_params *p = &m->params;
    int C = c->C, NH = c->NH, hs = C / NH, t = kv->n, nt = m->threads, bias = c->bias;
    float mean, rstd;
    inh__encoder_forward(kv->x, &token, p->wte, p->wpe + (size_t)t * C, 1, 1, C);
    for (int l = 0; l < c->L; l++) {
        size_t lc = (size_t)l * C;
        if (!m->drop_attn[l]) {
            inh__layernorm_forward(kv->ln, &mean, &rstd, kv->x, p->ln1w + lc, bias ? p->ln1b + lc : NULL, 1, C, 1);
            inh__matmul_forward(kv->qkv, kv->ln, p->qkvw + lc * 3 * C, bias ? p->qkvb + lc * 3 : NULL, 1, C, 3 * C, nt);
            memcpy(kv->k[l] + (size_t)t * C, kv->qkv + C, C * sizeof(float));
            memcpy(kv->v[l] + (size_t)t * C, kv->qkv + 2 * C, C * sizeof(float));
            float scale = inh__attn_scale(c, l);
            for (int h = 0; h < NH; h++) {   /* softmax(q . k / scale) over the cache, then . v */
                const float *q = kv->qkv + h * hs;
                float mx = -INFINITY, sum = 0.0f;
                for (int t2 = 0; t2 <= t; t2++) {
                    kv->att[t2] = inh__dot(q, kv->k[l] + (size_t)t2 * C + h * hs, hs) * scale;
                    if (kv->att[t2] > mx) mx = kv->att[t2];
                }
                for (int t2 = 0; t2 <= t; t2++) { kv->att[t2] = expf(kv->att[t2] - mx); sum += kv->att[t2]; }
                float *o = kv->atty + h * hs;
                for (int i = 0; i < hs; i++) o[i] = 0.0f;
                for (int t2 = 0; t2 <= t; t2++) {
                    const float *v = kv->v[l] + (size_t)t2 * C + h * hs;
                    float w = kv->att[t2] / sum;
                    for (int i = 0; i < hs; i++) o[i] += w * v[i];
                }
            }
            inh__matmul_forward(kv->h, kv->atty, p->attprojw + lc * C, bias ? p->attprojb + lc : NULL, 1, C, C, nt);
            inh__residual_forward(kv->x, kv->x, kv->h, (size_t)C);
        }
        inh__layernorm_forward(kv->ln, &mean, &rstd, kv->x, p->ln2w + lc, bias ? p->ln2b + lc : NULL, 1, C, 1);
        inh__matmul_forward(kv->h, kv->ln, p->fcw + lc * 4 * C, bias ? p->fcb + lc * 4 : NULL, 1, C, 4 * C, nt);
        inh__gelu_forward(kv->hg, kv->h, (size_t)4 * C, 1);
        inh__matmul_forward(kv->h, kv->hg, p->fcprojw + lc * 4 * C, bias ? p->fcprojb + lc : NULL, 1, 4 * C, C, nt);
        inh__residual_forward(kv->x, kv->x, kv->h, (size_t)C);
        if (kv->sc_idx && kv->sc_idx[l] >= 0) inh__kv_sc_feature(kv, kv->sc_idx[l], t);
    }
    if (kv->sc_kv) inh__kv_sc_attend(kv, t);
    inh__layernorm_forward(kv->ln, &mean, &rstd, kv->x, p->lnfw, bias ? p->lnfb : NULL, 1, C, 1);
    inh__matmul_forward(kv->logits, kv->ln, p->wte, NULL, 1, C, c->Vp, nt);
    kv->tokens[kv->n++] = token;
}

/* Fill the cache with tokens[0..n) (n <= maxT) in one batched forward: K and V are the second and
   third thirds of each layer's qkv activations (1, n, 3C); the logits are those of the last one. */
INH__FN int inh__kv_refill(inh_kv *kv, const int *tokens, int n) {
    inh_model *m = kv->m;
    const inh_config *c = &m->cfg;
    size_t C = (size_t)c->C;
    if (tokens != kv->tokens) memmove(kv->tokens, tokens, (size_t)n * sizeof(int));
    if (inh_model_forward(m, kv->tokens, NULL, 1, n)) return -1;
    for (int l = 0; l < c->L; l++) {
        if (!kv->k[l]) continue;
        const float *qkv = m->acts.qkv + (size_t)l * n * 3 * C;
        for (int t = 0; t < n; t++) {
            memcpy(kv->k[l] + (size_t)t * C, qkv + (size_t)t * 3 * C + C, C * sizeof(float));
            memcpy(kv->v[l] + (size_t)t * C, qkv + (size_t)t * 3 * C + 2 * C, C * sizeof(float));
        }
    }
    if (kv->sc_kv) {   /* shortcuts: the features' keys and values, (n, 1, n_tok, 2C) in the activations */
        int nsel = inh_sc_layers(c, NULL), causal = c->shortcuts == INH_SC_CAUSAL;
        for (int i = 0; i < nsel; i++) {
            const float *src = m->acts.sc_kv + (size_t)i * n * 2 * C;
            if (causal) memcpy(kv->sc_kv + (size_t)i * c->maxT * 2 * C, src, (size_t)n * 2 * C * sizeof(float));
            else memcpy(kv->sc_kv + (size_t)i * 2 * C, src + (size_t)(n - 1) * 2 * C, 2 * C * sizeof(float));   /* depth: the last position only */
        }
    }
    memcpy(kv->logits, m->acts.logits + (size_t)(n - 1) * c->Vp, (size_t)c->Vp * sizeof(float));
    kv->n = n;
    return 0;
}

INHDEF int inh_kv_push(inh_kv *kv, int token) {
    const inh_config *c = &kv->m->cfg;
    if (token < 0 || token >= c->V) return inh__fail("token %d is outside the vocabulary (V=%d)", token, c->V);
    if (kv->n == c->maxT) {   /* full: slide the window to the last maxT/2 tokens, re-encoded at once */
        int keep = c->maxT / 2;
        if (keep < 1) kv->n = 0;
        else if (inh__kv_refill(kv, kv->tokens + kv->n - keep, keep)) return -1;
    }
    inh__kv_forward(kv, token);
    return 0;
}

INH__FN int inh__generate(inh_model *m, const int *prompt, int n_prompt, int n_new, float temperature, int top_k, float top_p,
                          inh_rng *rng, int *out, int *n_out, inh_token_fn fn, void *user) {
    const inh_config *c = &m->cfg;
    inh_kv kv;
    int rc = 0, k = 0;
    if (n_out) *n_out = 0;
    if (n_prompt < 1) return inh__fail("generation needs at least one prompt token");
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= c->V) return inh__fail("prompt token %d is outside the vocabulary (V=%d)", prompt[i], c->V);
    memmove(out, prompt, (size_t)n_prompt * sizeof(int));
    if (inh_kv_init(&kv, m)) return -1;
    int start = n_prompt > c->maxT ? n_prompt - c->maxT : 0;   /* a long prompt: its last maxT tokens */
    if (n_prompt - start > 1) rc = inh__kv_refill(&kv, out + start, n_prompt - start);   /* the prompt in one batched pass */
    else rc = inh_kv_push(&kv, out[start]);
    for (k = 0; k < n_new && !rc; k++) {
        out[n_prompt + k] = inh__sample_logits(kv.logits, c->V, temperature, top_k, top_p, rng);
        if (fn && fn(user, out[n_prompt + k])) { k++; break; }
        if (k + 1 < n_new) rc = inh_kv_push(&kv, out[n_prompt + k]);
    }
    if (n_out) *n_out = k;
    inh_kv_free(&kv);
    return rc;
}

INHDEF int inh_model_generate_stream(inh_model *m, const int *prompt, int n_prompt, int n_new, float temperature, int top_k,
                                     inh_rng *rng, int *out, int *n_out, inh_token_fn fn, void *user) {
    return inh__generate(m, prompt, n_prompt, n_new, temperature, top_k, 1.0f, rng, out, n_out, fn, user);
}
INHDEF int inh_model_generate_with(inh_model *m, const int *prompt, int n_prompt, int n_new, const inh_sampling *s,
                                   inh_rng *rng, int *out, int *n_out, inh_token_fn fn, void *user) {
    inh_sampling d;
    if (!s) { inh_sampling_default(&d); s = &d; }
    if (n_out) *n_out = 0;
    if (inh__sampling_check(s)) return -1;
    return inh__generate(m, prompt, n_prompt, n_new, s->temperature, s->top_k, s->top_p, rng, out, n_out, fn, user);
}
INHDEF int inh_model_generate(inh_model *m, const int *prompt, int n_prompt, int n_new,
                              float temperature, int top_k, inh_rng *rng, int *out) {
    return inh_model_generate_stream(m, prompt, n_prompt, n_new, temperature, top_k, rng, out, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------------------------------
   Checkpoint formats */

#define INH__MODEL_MAGIC 20240326   /* llm.c model file */
#define INH__SHARD_MAGIC 20240520   /* llm.c token shard */
#define INH__STATE_MAGIC 20241123   /* our training state */
#define INH__TOKENIZER_MAGIC 20240328   /* llm.c tokenizer file */

/* --- what a file is, and never replacing a file of another kind -------------------------------- */
INH__FN int inh__starts_nocase(const unsigned char *b, size_t n, const char *w) {
    size_t k = strlen(w);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++) {
        int c = b[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c != w[i]) return 0;
    }
    return 1;
}
INHDEF int inh_file_kind(const char *path) {
    int k = inh__os_kind(path);
    if (k == 0) return INH_FILE_NONE;
    if (k == 2) return INH_FILE_DIR;
    unsigned char b[4096];
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return INH_FILE_OTHER;
    size_t n = fread(b, 1, sizeof b, f);
    uint64_t size = 0;
    if (inh__os_size(f, &size)) size = n;
    fclose(f);
    if (n == 0) return INH_FILE_EMPTY;
    if (n >= 4) {
        uint32_t m = inh__rd32(b);
        if (m == INH__MODEL_MAGIC) return INH_FILE_MODEL;
        if (m == INH__STATE_MAGIC) return INH_FILE_STATE;
        if (m == INH__SHARD_MAGIC) return INH_FILE_SHARD;
        if (m == INH__TOKENIZER_MAGIC) return INH_FILE_TOKENIZER;
    }
    if (n >= 9 && b[8] == '{') {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
        if (hl >= 2 && hl <= size - 8) return INH_FILE_SAFETENSORS;
    }
    size_t i = 0;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3;   /* UTF-8 byte-order mark */
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (inh__starts_nocase(b + i, n - i, "<!doctype html") || inh__starts_nocase(b + i, n - i, "<html")) return INH_FILE_HTML;
    if (inh__starts_nocase(b + i, n - i, "<svg") || inh__starts_nocase(b + i, n - i, "<?xml")) return INH_FILE_SVG;
    if (i < n && (b[i] == '{' || b[i] == '[')) return INH_FILE_JSON;
    for (i = 0; i < n; i++)
        if (b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' && b[i] != '\f' && b[i] != 0x1b) return INH_FILE_OTHER;
    return INH_FILE_TEXT;
}
INHDEF const char *inh_file_kind_name(int kind) {
    static const char *names[] = {"nothing", "an empty file", "a directory", "a model (llm.c .bin)", "a safetensors model",
                                  "a training state", "a token shard", "a tokenizer file", "an HTML report", "an SVG image",
                                  "a JSON file", "a text file", "a file of unknown kind"};
    return kind >= 0 && kind <= INH_FILE_OTHER ? names[kind] : "a file of unknown kind";
}
INHDEF int inh_check_replace(const char *path, int kind) {
    int k = inh_file_kind(path);
    if (k == INH_FILE_NONE || k == INH_FILE_EMPTY || k == kind) return 0;
    if (k == INH_FILE_DIR) return inh__fail("%s: is a directory, not %s; refusing to replace it", path, inh_file_kind_name(kind));
    return inh__fail("%s: is %s, not %s; refusing to replace it", path, inh_file_kind_name(k), inh_file_kind_name(kind));
}
INHDEF int inh_remove(const char *path) {
    if (inh__os_remove(path) != 0) return inh__fail("%s: cannot delete: %s", path, strerror(errno));
    return 0;
}

/* Streaming writer of llm.c token shards (used by inh_data_write and by prepare): a placeholder
   header, the ids as uint16, then the real header once the count is known; atomic like every save. */
typedef struct { inh__wfile w; long long n; int open; } inh__shard;
INH__FN int inh__shard_open(inh__shard *sh, const char *path) {
    unsigned char zero[1024];
    memset(sh, 0, sizeof *sh);
    memset(zero, 0, sizeof zero);
    if (inh__wopen(&sh->w, path)) return -1;
    sh->open = 1;
    inh__wwrite(&sh->w, zero, sizeof zero);
    return 0;
}
INH__FN void inh__shard_put(inh__shard *sh, const int *ids, size_t n) {
    unsigned char buf[8192];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        buf[k++] = (unsigned char)ids[i]; buf[k++] = (unsigned char)(ids[i] >> 8);
        if (k == sizeof buf) { inh__wwrite(&sh->w, buf, k); k = 0; }
    }
    inh__wwrite(&sh->w, buf, k);
    sh->n += (long long)n;
}
INH__FN int inh__shard_close(inh__shard *sh) {
    unsigned char h[1024];
    memset(h, 0, sizeof h);
    sh->open = 0;
    if (sh->n > 0x7FFFFFFF) { inh__wabort(&sh->w); return inh__fail("%s: %lld tokens do not fit the int32 header", sh->w.path, sh->n); }
    inh__wr32(h, INH__SHARD_MAGIC); inh__wr32(h + 4, 1); inh__wr32(h + 8, (uint32_t)sh->n);
    if (!sh->w.bad && fseek(sh->w.f, 0, SEEK_SET) != 0) sh->w.bad = errno ? errno : EIO;
    inh__wwrite(&sh->w, h, sizeof h);
    return inh__wclose(&sh->w);
}
#define INH__MODEL_VERSION 3
#define INH__FLAG_NO_BIAS 1
#define INH__FLAG_LAYER_SCALE 2
#define INH__FLAG_SHORTCUTS 4   /* slot 9 the variant, slots 16..47 the selected layers' bits */

/* parse and check a 256-int32 llm.c model header; nothing is allocated from unchecked sizes */
INH__FN int inh__model_header(const unsigned char *h, size_t file_len, const char *path, inh_config *c, size_t *expect_len) {
    int32_t v[16];
    for (int i = 0; i < 16; i++) v[i] = (int32_t)inh__rd32(h + 4 * i);
    if (v[0] != INH__MODEL_MAGIC) return inh__fail("%s: not an llm.c model file (magic %d, want %d)", path, (int)v[0], INH__MODEL_MAGIC);
    if (v[1] != INH__MODEL_VERSION)
        return inh__fail("%s: model file version %d is not supported (want %d, fp32)", path, (int)v[1], INH__MODEL_VERSION);
    memset(c, 0, sizeof *c);
    c->maxT = v[2]; c->V = v[3]; c->L = v[4]; c->NH = v[5]; c->C = v[6]; c->Vp = v[7];
    c->bias = !(v[8] & INH__FLAG_NO_BIAS);
    c->layer_scale = !!(v[8] & INH__FLAG_LAYER_SCALE);
    if (v[8] & ~(INH__FLAG_NO_BIAS | INH__FLAG_LAYER_SCALE | INH__FLAG_SHORTCUTS)) return inh__fail("%s: unknown flags 0x%x in header slot 8", path, (unsigned)v[8]);
    if (v[8] & INH__FLAG_SHORTCUTS) {
        c->shortcuts = v[9];
        if (c->shortcuts != INH_SC_CAUSAL && c->shortcuts != INH_SC_DEPTH)
            return inh__fail("%s: header slot 9 holds shortcut variant %d (want 1 causal or 2 depth)", path, (int)v[9]);
        for (int i = 0; i < 32; i++) c->sc_layers[i] = inh__rd32(h + 4 * (16 + i));
    }
    if (inh_config_check(c, path)) return -1;
    size_t s[INH_MAX_PARAMS];
    *expect_len = 1024 + inh__param_sizes(c, s) * sizeof(float);
    if (file_len != *expect_len)
        return inh__fail("%s: file is %zu bytes but its header (maxT=%d V=%d L=%d NH=%d C=%d Vp=%d) needs %zu%s", path,
                         file_len, c->maxT, c->V, c->L, c->NH, c->C, c->Vp, *expect_len, file_len < *expect_len ? " (truncated)" : "");
    return 0;
}

INH__FN int inh__file_size(FILE *f, const char *path, size_t *len) {
    uint64_t n;
    *len = 0;
    if (inh__os_size(f, &n) != 0) return inh__fail("%s: cannot find its size: %s", path, strerror(errno));
    if (n > (uint64_t)(SIZE_MAX / 2))   /* 32-bit builds: no file past 2 GiB can be held in memory */
        return inh__fail("%s: %.1f GiB is too large for this %d-bit build", path, (double)n / (1024.0 * 1024 * 1024), (int)(8 * sizeof(size_t)));
    *len = (size_t)n;
    return 0;
}

/* little-endian float arrays: the bytes are the values on every little-endian host */
INH__FN int inh__host_is_le(void) { const uint16_t one = 1; return *(const unsigned char *)&one == 1; }
INH__FN void inh__swap32(void *p, size_t n) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i++, b += 4) { unsigned char t = b[0]; b[0] = b[3]; b[3] = t; t = b[1]; b[1] = b[2]; b[2] = t; }
}

/* an llm.c model of len bytes from s (a file or memory) */
INH__FN int inh__model_load_src(inh_model *m, inh__src *s, size_t len, const char *path) {
    unsigned char h[1024];
    size_t expect;
    inh_config c;
    if (len < sizeof h) return inh__fail("%s: %zu bytes is too short for a model header (1024 bytes; truncated?)", path, len);
    if (inh__src_read(s, h, sizeof h) != sizeof h) return inh__fail("%s: read error in header", path);
    if (inh__model_header(h, len, path, &c, &expect) || inh__model_alloc(m, &c, path)) return -1;
    size_t got = inh__src_read(s, m->params_mem, m->num_params * sizeof(float)) / sizeof(float);
    if (got != m->num_params) { inh_model_free(m); return inh__fail("%s: read error after %zu of %zu parameters", path, got, expect); }
    if (!inh__host_is_le()) inh__swap32(m->params_mem, m->num_params);
    return 0;
}
INHDEF int inh_model_load(inh_model *m, const char *path) {
    memset(m, 0, sizeof *m);
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    size_t len;
    inh__src s = {f, NULL, 0, 0};
    int rc = inh__file_size(f, path, &len) ? -1 : inh__model_load_src(m, &s, len, path);
    fclose(f);
    return rc;
}

INH__FN void inh__model_header_write(const inh_config *c, unsigned char *h) {
    memset(h, 0, 1024);
    int32_t v[9] = {INH__MODEL_MAGIC, INH__MODEL_VERSION, c->maxT, c->V, c->L, c->NH, c->C, c->Vp,
                    (c->bias ? 0 : INH__FLAG_NO_BIAS) | (c->layer_scale ? INH__FLAG_LAYER_SCALE : 0) |
                    (c->shortcuts ? INH__FLAG_SHORTCUTS : 0)};
    for (int i = 0; i < 9; i++) inh__wr32(h + 4 * i, (uint32_t)v[i]);
    if (c->shortcuts) {
        inh__wr32(h + 4 * 9, (uint32_t)c->shortcuts);
        for (int i = 0; i < 32; i++) inh__wr32(h + 4 * (16 + i), c->sc_layers[i]);
    }
}

/* write n floats little-endian */
INH__FN void inh__wfloats(inh__wfile *w, const float *x, size_t n) {
    if (inh__host_is_le()) { inh__wwrite(w, x, n * sizeof(float)); return; }
    float buf[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(buf, x + i, k * sizeof(float));
        inh__swap32(buf, k);
        inh__wwrite(w, buf, k * sizeof(float));
    }
}

/* index of the first non-finite value, or n */
INH__FN size_t inh__first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) if (!isfinite(x[i])) return i;
    return n;
}

/* path: a file, or buf/cap (path NULL): the caller's memory */
INH__FN int inh__model_save_to(const inh_model *m, const char *path, void *buf, size_t cap, size_t *len) {
    if (inh_model_sync_host((inh_model *)m)) return -1;   /* a model on another backend: its host copies, current */
    unsigned char h[1024];
    inh__wfile w;
    const char *name = path ? path : "model (memory)";
    size_t bad = inh__first_nonfinite(m->params_mem, m->num_params);
    if (bad < m->num_params)   /* a diverged model never replaces a good file */
        return inh__fail("%s: not saved: parameter %zu is %g (the model has diverged)", name, bad, (double)m->params_mem[bad]);
    inh__model_header_write(&m->cfg, h);
    if (!path) inh__wmem(&w, buf, cap, name);
    else if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    inh__wfloats(&w, m->params_mem, m->num_params);  /* bias-free models hold zero biases already */
    if (len) *len = w.len;
    if (!path && !buf) return 0;   /* only the size was asked for */
    return inh__wclose(&w);
}
INHDEF int inh_model_save(const inh_model *m, const char *path) { return inh__model_save_to(m, path, NULL, 0, NULL); }
INHDEF int inh_model_save_memory(const inh_model *m, void *buf, size_t cap, size_t *len) {
    return inh__model_save_to(m, NULL, buf, cap, len);
}

/* ---------------------------------------------------------------------------------------------
   Hugging Face checkpoints: model.safetensors + config.json (GPT2LMHeadModel).
   Uses the JSON reader and byte buffer of the utilities (inh__json_*, inh__buf). */

#define INH__ST_MAX_HEADER ((uint64_t)100 << 20)   /* the safetensors library's own limit */
#define INH__ST_MAX_DIMS 8
#define INH__ST_LM_HEAD (-1)
#define INH__ST_IGNORE (-2)
#define INH__ST_UNKNOWN (-3)

/* dtypes: the ones we convert to fp32 first; the rest only so their byte sizes can be checked */
enum { INH__ST_F32, INH__ST_F16, INH__ST_BF16, INH__ST_F64 };
static const struct { const char *name; int size; } inh__st_dtypes[] = {
    {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1},
    {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"I32", 4}, {"U32", 4}, {"I64", 8}, {"U64", 8}};
#define INH__ST_NDTYPES ((int)(sizeof inh__st_dtypes / sizeof inh__st_dtypes[0]))

/* HF names of our 16 tensors; 2..13 are per layer, under "h.{i}." */
/* Shortcuts (ours, no HF counterpart): shortcut.maps.{l}.* for the feature map of selected layer l
   (16..21), shortcut.* for the rest (22..29); matrices as torch.nn.Linear stores them, (out, in),
   so never transposed. config.json says "shortcuts": "causal"|"depth" and "shortcut_layers": [...]. */
static const char *const inh__st_names[INH_MAX_PARAMS] = {
    "wte.weight", "wpe.weight", "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
    "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
    "mlp.c_proj.weight", "mlp.c_proj.bias", "ln_f.weight", "ln_f.bias",
    "ln.weight", "ln.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    "shortcut.ln_q.weight", "shortcut.ln_q.bias", "shortcut.q.weight", "shortcut.q.bias",
    "shortcut.kv.weight", "shortcut.kv.bias", "shortcut.proj.weight", "shortcut.proj.bias"};
INH__FN int inh__st_per_layer(int p) { return p >= 2 && p <= 13; }
INH__FN int inh__st_per_map(int p) { return p >= 16 && p <= 21; }
/* Conv1D weights: HF stores [in, out], we store (out, in) */
INH__FN int inh__st_transposed(int p) { return p == 4 || p == 6 || p == 10 || p == 12; }

/* HF shape of tensor p (one layer's slice for per-layer tensors); returns ndim */
INH__FN int inh__st_shape(const inh_config *c, int p, uint64_t *s) {
    uint64_t C = (uint64_t)c->C;
    switch (p) {
    case 0: s[0] = (uint64_t)c->V; s[1] = C; return 2;
    case 1: s[0] = (uint64_t)c->maxT; s[1] = C; return 2;
    case 4: s[0] = C; s[1] = 3 * C; return 2;
    case 5: s[0] = 3 * C; return 1;
    case 6: s[0] = C; s[1] = C; return 2;
    case 10: s[0] = C; s[1] = 4 * C; return 2;
    case 11: s[0] = 4 * C; return 1;
    case 12: s[0] = 4 * C; s[1] = C; return 2;
    case 18: case 20: case 24: case 28: s[0] = C; s[1] = C; return 2;
    case 26: s[0] = 2 * C; s[1] = C; return 2;
    case 27: s[0] = 2 * C; return 1;
    default: s[0] = C; return 1;
    }
}

/* Our tensor for an HF name: 0..15 (with *layer), INH__ST_LM_HEAD, _IGNORE or _UNKNOWN. */
INH__FN int inh__st_map(const char *name, int *layer) {
    *layer = 0;
    if (!strncmp(name, "transformer.", 12)) name += 12;
    if (!strcmp(name, "lm_head.weight")) return INH__ST_LM_HEAD;
    if (name[0] == 'h' && name[1] == '.') {
        const char *q = name + 2;
        int l = 0;
        if (*q < '0' || *q > '9' || (*q == '0' && q[1] != '.')) return INH__ST_UNKNOWN;
        while (*q >= '0' && *q <= '9') { l = l * 10 + (*q++ - '0'); if (l >= 4096) return INH__ST_UNKNOWN; }
        if (*q++ != '.') return INH__ST_UNKNOWN;
        *layer = l;
        if (!strcmp(q, "attn.bias") || !strcmp(q, "attn.masked_bias")) return INH__ST_IGNORE;  /* mask buffers */
        for (int p = 2; p <= 13; p++) if (!strcmp(q, inh__st_names[p])) return p;
        return INH__ST_UNKNOWN;
    }
    if (!strncmp(name, "shortcut.maps.", 14)) {
        const char *q = name + 14;
        int l = 0;
        if (*q < '0' || *q > '9' || (*q == '0' && q[1] != '.')) return INH__ST_UNKNOWN;
        while (*q >= '0' && *q <= '9') { l = l * 10 + (*q++ - '0'); if (l >= INH_SC_MAX_LAYER) return INH__ST_UNKNOWN; }
        if (*q++ != '.') return INH__ST_UNKNOWN;
        *layer = l;
        for (int p = 16; p <= 21; p++) if (!strcmp(q, inh__st_names[p])) return p;
        return INH__ST_UNKNOWN;
    }
    for (int p = 0; p < INH_MAX_PARAMS; p++) if (!inh__st_per_layer(p) && !inh__st_per_map(p) && !strcmp(name, inh__st_names[p])) return p;
    return INH__ST_UNKNOWN;
}

INH__FN void inh__st_fmt_shape(char *out, size_t n, const uint64_t *s, int ndim) {
    size_t k = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && k < n; i++) k += (size_t)snprintf(out + k, n - k, i ? ", %llu" : "%llu", (unsigned long long)s[i]);
    if (k < n) snprintf(out + k, n - k, "]");
}

/* k-th tensor of an export: wte, wpe, then each layer's 12, then ln_f weight and bias */
INH__FN void inh__st_export_order(int k, int L, int *p, int *l) {
    if (k < 2) { *p = k; *l = 0; }
    else if (k < 2 + 12 * L) { *p = 2 + (k - 2) % 12; *l = (k - 2) / 12; }
    else { *p = 14 + (k - 2 - 12 * L); *l = 0; }
}
/* the shortcut tensors of an export, after the k < 4 + 12 L above: 6 per feature map, then 8 */
INH__FN void inh__st_export_sc(int k, const int *sel, int *p, int *l) {
    if (k < 0) { *p = -1; *l = 0; return; }
    int nmap = 0;
    while (sel[nmap] >= 0) nmap++;   /* sel ends with -1 */
    if (k < 6 * nmap) { *p = 16 + k % 6; *l = sel[k / 6]; }
    else { *p = 22 + (k - 6 * nmap); *l = 0; }
}
/* HF name of tensor p for layer l */
INH__FN void inh__st_fullname(char *out, size_t n, int p, int l) {
    if (inh__st_per_layer(p)) snprintf(out, n, "h.%d.%s", l, inh__st_names[p]);
    else if (inh__st_per_map(p)) snprintf(out, n, "shortcut.maps.%d.%s", l, inh__st_names[p]);
    else snprintf(out, n, "%s", inh__st_names[p]);
}
/* tensor p's slice for layer l (l = 0 for the others; for the feature maps, the selected layer l) */
INH__FN float *inh__st_slice(const inh_model *m, int p, int l) {
    float *b = m->params_mem;
    for (int q = 0; q < p; q++) b += m->param_sizes[q];
    if (inh__st_per_map(p)) {
        int i = 0;   /* l's rank among the selected layers */
        for (int k = 0; k < l; k++) i += (int)(m->cfg.sc_layers[k / 32] >> (k % 32) & 1u);
        return b + (size_t)i * (m->param_sizes[p] / (size_t)inh_sc_layers(&m->cfg, NULL));
    }
    return inh__st_per_layer(p) ? b + (size_t)l * (m->param_sizes[p] / (size_t)m->cfg.L) : b;
}

/* ---- the header ----------------------------------------------------------------------------- */

typedef struct {
    size_t name;                       /* offset of the NUL-terminated name in the arena */
    int dtype, ndim;
    uint64_t shape[INH__ST_MAX_DIMS];
    uint64_t begin, end;               /* byte range relative to the data start */
    int param, layer;                  /* inh__st_map */
} inh__st_tensor;

typedef struct {
    const char *path;
    inh__buf names;                    /* name arena */
    inh__st_tensor *t;
    int n, cap;
    int no_bias;                       /* __metadata__ "inheritune_no_bias": "1" (our own exports) */
    uint64_t data_start, data_len;     /* in the file */
} inh__st_file;

INH__FN const char *inh__st_name(const inh__st_file *sf, const inh__st_tensor *t) { return (const char *)sf->names.p + t->name; }
INH__FN void inh__st_free(inh__st_file *sf) { INH_FREE(sf->names.p); INH_FREE(sf->t); memset(sf, 0, sizeof *sf); }

/* a JSON string as a NUL-terminated C string in b (embedded NULs refused) */
INH__FN int inh__st_cstr(inh__json *j, inh__buf *b) {
    if (inh__json_str(j, b)) return -1;
    if (b->n && memchr(b->p, 0, b->n)) return inh__json_fail(j, "NUL character in a string");
    if (inh__buf_put(b, "", 1)) return -1;
    b->n--;
    return 0;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}; j->path names the tensor */
INH__FN int inh__st_entry(inh__json *j, inh__st_tensor *t, inh__buf *tmp) {
    int have = 0;
    t->dtype = -1; t->ndim = 0;
    if (inh__json_expect(j, '{')) return -1;
    if (inh__json_peek(j) == '}') { j->p++; goto check; }
    for (;;) {
        if (inh__st_cstr(j, tmp) || inh__json_expect(j, ':')) return -1;
        if (!strcmp((char *)tmp->p, "dtype")) {
            if (inh__st_cstr(j, tmp)) return -1;
            for (int k = 0; k < INH__ST_NDTYPES; k++) if (!strcmp((char *)tmp->p, inh__st_dtypes[k].name)) t->dtype = k;
            if (t->dtype < 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "unknown dtype '%.40s'", (char *)tmp->p);
                return inh__json_fail(j, msg);
            }
            have |= 1;
        } else if (!strcmp((char *)tmp->p, "shape")) {
            t->ndim = 0;
            if (inh__json_expect(j, '[')) return -1;
            if (inh__json_peek(j) == ']') j->p++;
            else for (;;) {
                long long v;
                if (inh__json_int(j, &v)) return -1;
                if (v < 0 || v > ((long long)1 << 40)) return inh__json_fail(j, "shape dimension out of range");
                if (t->ndim == INH__ST_MAX_DIMS) return inh__json_fail(j, "more than 8 dimensions");
                t->shape[t->ndim++] = (uint64_t)v;
                if (inh__json_peek(j) == ',') { j->p++; continue; }
                if (inh__json_expect(j, ']')) return -1;
                break;
            }
            have |= 2;
        } else if (!strcmp((char *)tmp->p, "data_offsets")) {
            long long a, b;
            if (inh__json_expect(j, '[') || inh__json_int(j, &a) || inh__json_expect(j, ',') || inh__json_int(j, &b) ||
                inh__json_expect(j, ']'))
                return -1;
            if (a < 0 || b < 0) return inh__json_fail(j, "negative data offset");
            t->begin = (uint64_t)a; t->end = (uint64_t)b;
            have |= 4;
        } else if (inh__json_skip(j)) {
            return -1;
        }
        if (inh__json_peek(j) == ',') { j->p++; continue; }
        if (inh__json_expect(j, '}')) return -1;
        break;
    }
check:
    if (have != 7)
        return inh__fail("%s: no %s", j->path, !(have & 1) ? "dtype" : !(have & 2) ? "shape" : "data_offsets");
    return 0;
}

/* "__metadata__": string to string */
INH__FN int inh__st_metadata(inh__json *j, inh__st_file *sf, inh__buf *key, inh__buf *val) {
    if (inh__json_expect(j, '{')) return -1;
    if (inh__json_peek(j) == '}') { j->p++; return 0; }
    for (;;) {
        if (inh__st_cstr(j, key) || inh__json_expect(j, ':')) return -1;
        if (inh__json_peek(j) != '"') return inh__json_fail(j, "__metadata__ values must be strings");
        if (inh__st_cstr(j, val)) return -1;
        if (!strcmp((char *)key->p, "inheritune_no_bias") && !strcmp((char *)val->p, "1")) sf->no_bias = 1;
        if (inh__json_peek(j) == ',') { j->p++; continue; }
        return inh__json_expect(j, '}');
    }
}

INH__FN int inh__st_cmp_begin(const void *a, const void *b) {
    const inh__st_tensor *x = *(const inh__st_tensor *const *)a, *y = *(const inh__st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : 0;
}

/* sizes: dtype size x shape == byte range, every range inside the data, no two ranges overlap */
INH__FN int inh__st_check_ranges(inh__st_file *sf) {
    for (int i = 0; i < sf->n; i++) {
        inh__st_tensor *t = &sf->t[i];
        const char *nm = inh__st_name(sf, t);
        char sh[160];
        uint64_t nel = 1, sz = (uint64_t)inh__st_dtypes[t->dtype].size;
        inh__st_fmt_shape(sh, sizeof sh, t->shape, t->ndim);
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] && nel > ((uint64_t)1 << 62) / t->shape[d]) return inh__fail("%s: tensor %s: shape %s is too large", sf->path, nm, sh);
            nel *= t->shape[d];
        }
        if (t->begin > t->end || t->end > sf->data_len)
            return inh__fail("%s: tensor %s: data_offsets [%llu, %llu] lie outside the %llu bytes of data (truncated?)", sf->path, nm,
                             (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)sf->data_len);
        if (nel > ((uint64_t)1 << 62) / sz || nel * sz != t->end - t->begin)
            return inh__fail("%s: tensor %s: %s %s needs %llu bytes but data_offsets [%llu, %llu] span %llu", sf->path, nm,
                             inh__st_dtypes[t->dtype].name, sh, (unsigned long long)(nel * sz), (unsigned long long)t->begin,
                             (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
    }
    inh__st_tensor **order = INH__ALLOC(inh__st_tensor *, sf->n);
    if (!order) return -1;
    int k = 0;
    for (int i = 0; i < sf->n; i++) if (sf->t[i].end > sf->t[i].begin) order[k++] = &sf->t[i];
    qsort(order, (size_t)k, sizeof *order, inh__st_cmp_begin);
    for (int i = 1; i < k; i++)
        if (order[i]->begin < order[i - 1]->end) {
            int r = inh__fail("%s: tensors %s and %s overlap (data_offsets [%llu, %llu] and [%llu, %llu])", sf->path,
                              inh__st_name(sf, order[i - 1]), inh__st_name(sf, order[i]), (unsigned long long)order[i - 1]->begin,
                              (unsigned long long)order[i - 1]->end, (unsigned long long)order[i]->begin, (unsigned long long)order[i]->end);
            INH_FREE(order);
            return r;
        }
    INH_FREE(order);
    return 0;
}

/* Parse the JSON header h[0..n) of a file whose data section has data_len bytes. */
INH__FN int inh__st_parse(inh__st_file *sf, const unsigned char *h, size_t n) {
    inh__json j;
    inh__buf key = {NULL, 0, 0}, val = {NULL, 0, 0};
    char ctx[4096 + 300];
    int rc = -1;
    inh__json_init(&j, h, n, sf->path);
    if (inh__json_expect(&j, '{')) goto done;
    if (inh__json_peek(&j) == '}') j.p++;
    else for (;;) {
        if (inh__st_cstr(&j, &key) || inh__json_expect(&j, ':')) goto done;
        if (!strcmp((char *)key.p, "__metadata__")) {
            if (inh__st_metadata(&j, sf, &key, &val)) goto done;
        } else {
            for (int i = 0; i < sf->n; i++)
                if (!strcmp(inh__st_name(sf, &sf->t[i]), (char *)key.p)) { inh__fail("%s: tensor %.256s appears twice", sf->path, (char *)key.p); goto done; }
            if (sf->n == sf->cap) {
                int cap = sf->cap ? 2 * sf->cap : 64;
                if (cap > 1000000) { inh__fail("%s: more than a million tensors", sf->path); goto done; }
                inh__st_tensor *nt = INH__CAST(inh__st_tensor *, INH_REALLOC(sf->t, (size_t)cap * sizeof *nt));
                if (!nt) { inh__fail("%s: out of memory reading the header", sf->path); goto done; }
                sf->t = nt; sf->cap = cap;
            }
            inh__st_tensor *t = &sf->t[sf->n];
            memset(t, 0, sizeof *t);
            t->name = sf->names.n;
            if (inh__buf_put(&sf->names, key.p, key.n + 1)) goto done;
            snprintf(ctx, sizeof ctx, "%s: tensor %.256s", sf->path, (char *)key.p);
            j.path = ctx;
            if (inh__st_entry(&j, t, &val)) goto done;
            j.path = sf->path;
            t->param = inh__st_map((char *)key.p, &t->layer);
            sf->n++;
        }
        if (inh__json_peek(&j) == ',') { j.p++; continue; }
        if (inh__json_expect(&j, '}')) goto done;
        break;
    }
    if (inh__json_end(&j)) goto done;
    rc = inh__st_check_ranges(sf);
done:
    INH_FREE(key.p); INH_FREE(val.p);
    return rc;
}

/* ---- config.json ------------------------------------------------------------------------------ */

typedef struct {
    long long n_embd, n_layer, n_head, n_positions, n_ctx, vocab_size, n_inner;   /* -1: absent/null */
    int layer_scale, scale_weights, add_cross;
    double eps;
    char act[64], model_type[64];
    int shortcuts, sc_given;             /* "shortcuts": "causal" | "depth"; "shortcut_layers" given */
    uint32_t sc_layers[32];
} inh__st_hfcfg;

/* fields we read; the rest skipped. Absent fields take GPT2Config's defaults, as HF would. */
INH__FN int inh__st_parse_config(const unsigned char *cbuf, size_t len, const char *path, inh__st_hfcfg *hc);
INH__FN int inh__st_read_config(const char *path, inh__st_hfcfg *hc) {
    unsigned char *buf = NULL;
    size_t len = 0;
    if (inh__read_file(path, &buf, &len, (size_t)1 << 24)) return -1;
    int rc = inh__st_parse_config(buf, len, path, hc);
    INH_FREE(buf);
    return rc;
}
/* config.json's text (len bytes) into hc; path names it in messages */
INH__FN int inh__st_parse_config(const unsigned char *buf, size_t len, const char *path, inh__st_hfcfg *hc) {
    inh__buf key = {NULL, 0, 0}, val = {NULL, 0, 0};
    inh__json j;
    int rc = -1;
    hc->n_embd = 768; hc->n_layer = 12; hc->n_head = 12; hc->n_positions = -1; hc->n_ctx = -1; hc->vocab_size = 50257;
    hc->n_inner = -1; hc->layer_scale = 0; hc->scale_weights = 1; hc->add_cross = 0; hc->eps = 1e-5;
    hc->shortcuts = 0; hc->sc_given = 0; memset(hc->sc_layers, 0, sizeof hc->sc_layers);
    strcpy(hc->act, "gelu_new"); strcpy(hc->model_type, "gpt2");
    inh__json_init(&j, buf, len, path);
    if (inh__json_expect(&j, '{')) goto done;
    if (inh__json_peek(&j) == '}') j.p++;
    else for (;;) {
        if (inh__st_cstr(&j, &key) || inh__json_expect(&j, ':')) goto done;
        const char *k = (const char *)key.p;
        long long *iv = !strcmp(k, "n_embd") ? &hc->n_embd : !strcmp(k, "n_layer") ? &hc->n_layer : !strcmp(k, "n_head") ? &hc->n_head
                      : !strcmp(k, "n_positions") ? &hc->n_positions : !strcmp(k, "n_ctx") ? &hc->n_ctx
                      : !strcmp(k, "vocab_size") ? &hc->vocab_size : !strcmp(k, "n_inner") ? &hc->n_inner : NULL;
        int *bv = !strcmp(k, "scale_attn_by_inverse_layer_idx") ? &hc->layer_scale : !strcmp(k, "scale_attn_weights") ? &hc->scale_weights
                : !strcmp(k, "add_cross_attention") ? &hc->add_cross : NULL;
        char *sv = !strcmp(k, "activation_function") ? hc->act : !strcmp(k, "model_type") ? hc->model_type : NULL;
        if (iv) {
            if (inh__json_peek(&j) == 'n' && inh__json_word(&j, "null")) *iv = -1;
            else if (inh__json_int(&j, iv)) goto done;
            else if (*iv < 0 || *iv >= (1 << 24)) { inh__fail("%s: %s=%lld is out of range", path, k, *iv); goto done; }
        } else if (bv) {
            if (inh__json_bool(&j, bv)) goto done;
        } else if (sv) {
            if (inh__st_cstr(&j, &val)) goto done;
            snprintf(sv, 64, "%s", (char *)val.p);
        } else if (!strcmp(k, "layer_norm_epsilon")) {
            if (inh__json_num(&j, &hc->eps)) goto done;
        } else if (!strcmp(k, "shortcuts")) {
            if (inh__st_cstr(&j, &val)) goto done;
            hc->shortcuts = !strcmp((char *)val.p, "none") ? 0 : inh_sc_variant((char *)val.p);
            if (hc->shortcuts < 0) { inh__fail("%s: \"shortcuts\": \"%s\" (want causal, depth or none)", path, (char *)val.p); goto done; }
        } else if (!strcmp(k, "shortcut_layers")) {
            long long l;
            hc->sc_given = 1;
            if (inh__json_expect(&j, '[')) goto done;
            if (inh__json_peek(&j) == ']') j.p++;
            else for (;;) {
                if (inh__json_int(&j, &l)) goto done;
                if (l < 0 || l >= INH_SC_MAX_LAYER) { inh__fail("%s: shortcut layer %lld is out of range", path, l); goto done; }
                hc->sc_layers[l / 32] |= 1u << (l % 32);
                if (inh__json_peek(&j) == ',') { j.p++; continue; }
                if (inh__json_expect(&j, ']')) goto done;
                break;
            }
        } else if (inh__json_skip(&j)) {
            goto done;
        }
        if (inh__json_peek(&j) == ',') { j.p++; continue; }
        if (inh__json_expect(&j, '}')) goto done;
        break;
    }
    if (inh__json_end(&j)) goto done;
    rc = 0;
    if (strcmp(hc->model_type, "gpt2")) rc = inh__fail("%s: model_type \"%s\" is not gpt2", path, hc->model_type);
    else if (strcmp(hc->act, "gelu_new") && strcmp(hc->act, "gelu_pytorch_tanh"))
        rc = inh__fail("%s: activation_function \"%s\" is not supported (we compute gelu_new, the tanh approximation)", path, hc->act);
    else if (fabs(hc->eps - 1e-5) > 1e-12)
        rc = inh__fail("%s: layer_norm_epsilon %g is not supported (our layernorm uses 1e-5)", path, hc->eps);
    else if (!hc->scale_weights) rc = inh__fail("%s: scale_attn_weights false is not supported (we scale by 1/sqrt(head size))", path);
    else if (hc->add_cross) rc = inh__fail("%s: add_cross_attention is not supported", path);
    else if (hc->n_inner >= 0 && hc->n_inner != 4 * hc->n_embd)
        rc = inh__fail("%s: n_inner=%lld is not supported (the MLP is 4*n_embd=%lld wide here)", path, hc->n_inner, 4 * hc->n_embd);
done:
    INH_FREE(key.p); INH_FREE(val.p);
    return rc;
}

/* ---- paths ------------------------------------------------------------------------------------ */

INH__FN int inh__st_is_dir(const char *path) { return inh__os_kind(path) == 2; }
INH__FN int inh__st_exists(const char *path) { return inh__os_kind(path) != 0; }

/* out = directory of path ("." if none) + "/" + name */
INH__FN int inh__st_beside(char *out, size_t n, const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    int k = !slash ? snprintf(out, n, "./%s", name)
          : slash == path ? snprintf(out, n, "/%s", name)
          : snprintf(out, n, "%.*s/%s", (int)(slash - path), path, name);
    return k < 0 || (size_t)k >= n ? inh__fail("%s: path too long", path) : 0;
}
INH__FN int inh__st_join(char *out, size_t n, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    int k = snprintf(out, n, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
    return k < 0 || (size_t)k >= n ? inh__fail("%s: path too long", dir) : 0;
}

/* ---- load --------------------------------------------------------------------------------------- */

INH__FN float inh__st_f16(unsigned h) {
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 31, f = h & 1023, u;
    float r;
    if (e == 0) { r = (float)f * 5.9604644775390625e-8f; return s ? -r : r; }   /* zero, subnormal: f * 2^-24 */
    u = e == 31 ? (s | 0x7F800000u | f << 13) : (s | (e + 112) << 23 | f << 13);
    memcpy(&r, &u, 4);
    return r;
}

/* n little-endian values of dtype kind at src -> fp32 */
INH__FN void inh__st_convert(float *dst, const unsigned char *src, size_t n, int kind) {
    uint32_t u;
    uint64_t b;
    double d;
    switch (kind) {
    case INH__ST_F32:
        for (size_t i = 0; i < n; i++) { u = inh__rd32(src + 4 * i); memcpy(&dst[i], &u, 4); }
        break;
    case INH__ST_F16:
        for (size_t i = 0; i < n; i++) dst[i] = inh__st_f16((unsigned)src[2 * i] | (unsigned)src[2 * i + 1] << 8);
        break;
    case INH__ST_BF16:
        for (size_t i = 0; i < n; i++) { u = ((uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8) << 16; memcpy(&dst[i], &u, 4); }
        break;
    default:
        for (size_t i = 0; i < n; i++) {
            b = (uint64_t)inh__rd32(src + 8 * i) | (uint64_t)inh__rd32(src + 8 * i + 4) << 32;
            memcpy(&d, &b, 8);
            dst[i] = (float)d;
        }
    }
}

/* F32 on a little-endian host is read straight into place; anything else through raw */
INH__FN int inh__st_direct(const inh__st_tensor *t) { return t->dtype == INH__ST_F32 && inh__host_is_le(); }

/* read tensor t and convert it into out (its element count of floats); raw is scratch */
INH__FN int inh__st_read_tensor(inh__src *f, const inh__st_file *sf, const inh__st_tensor *t, unsigned char *raw, float *out) {
    uint64_t nbytes = t->end - t->begin;
    unsigned char *dst = inh__st_direct(t) ? (unsigned char *)out : raw;
    if (inh__src_seek(f, sf->data_start + t->begin) != 0 || inh__src_read(f, dst, (size_t)nbytes) != nbytes)
        return inh__fail("%s: tensor %s: read error", sf->path, inh__st_name(sf, t));
    if (dst == raw) inh__st_convert(out, raw, (size_t)(nbytes / (uint64_t)inh__st_dtypes[t->dtype].size), t->dtype);
    return 0;
}

/* read and check the header of a safetensors file of len bytes from f (a file or memory) */
INH__FN int inh__st_open(inh__st_file *sf, const char *file, inh__src *f, size_t len) {
    unsigned char b8[8], *h = NULL;
    memset(sf, 0, sizeof *sf);
    sf->path = file;
    if (len < 8 || inh__src_read(f, b8, 8) != 8) return inh__fail("%s: %zu bytes is too short for a safetensors file", file, len);
    uint64_t hl = (uint64_t)inh__rd32(b8) | (uint64_t)inh__rd32(b8 + 4) << 32;
    if (hl > (uint64_t)len - 8 || hl > INH__ST_MAX_HEADER || hl < 2)
        return inh__fail("%s: safetensors header length %llu does not fit the %zu-byte file (truncated, or not safetensors?)", file,
                         (unsigned long long)hl, len);
    h = INH__ALLOC(unsigned char, hl);
    if (!h) return -1;
    if (inh__src_read(f, h, (size_t)hl) != hl) { INH_FREE(h); return inh__fail("%s: read error in the header", file); }
    sf->data_start = 8 + hl;
    sf->data_len = (uint64_t)len - 8 - hl;
    int rc = inh__st_parse(sf, h, (size_t)hl);
    INH_FREE(h);
    if (rc) { inh__st_free(sf); return -1; }
    return 0;
}

/* The model from a safetensors file (file: its name in messages) of len bytes in f, and its
   config.json: cfg_text (cfg_len bytes) when given, else the file at cfgpath. */
INH__FN int inh__st_load(inh_model *m, const char *file, inh__src *f, size_t len, const char *cfgpath, const char *cfg_text, size_t cfg_len) {
    char sh[160], want[160];
    inh__st_file sf;
    inh__st_hfcfg hc;
    inh_config c;
    int *where = NULL, lm_head = -1, wte = -1, wpe = -1, maxl = -1, rc = -1;
    unsigned char *raw = NULL;
    float *tmp = NULL;
    uint64_t maxbytes = 0;
    size_t ntmp;
    if (inh__st_open(&sf, file, f, len)) return -1;

    /* which tensor is which; sizes the shapes imply */
    for (int i = 0; i < sf.n; i++) {
        const inh__st_tensor *t = &sf.t[i];
        if (t->param == INH__ST_UNKNOWN) { inh__fail("%s: unexpected tensor %s (not a GPT-2 LM head model?)", file, inh__st_name(&sf, t)); goto done; }
        if (t->param == 0) wte = i;
        if (t->param == 1) wpe = i;
        if (t->param == INH__ST_LM_HEAD) lm_head = i;
        if (t->param >= 0 && t->layer > maxl) maxl = t->layer;
    }
    if (wte < 0 || wpe < 0) { inh__fail("%s: tensor %s is missing", file, wte < 0 ? "wte.weight" : "wpe.weight"); goto done; }
    if (sf.t[wte].ndim != 2 || sf.t[wpe].ndim != 2) {
        const inh__st_tensor *t = &sf.t[sf.t[wte].ndim != 2 ? wte : wpe];
        inh__st_fmt_shape(sh, sizeof sh, t->shape, t->ndim);
        inh__fail("%s: tensor %s has shape %s, expected 2 dimensions", file, inh__st_name(&sf, t), sh);
        goto done;
    }
    if (!cfg_text && !inh__st_exists(cfgpath)) {
        inh__fail("%s: needs %s: the shapes give L=%d C=%llu V=%llu maxT=%llu, but n_head cannot be derived from tensor shapes", file,
                  cfgpath, maxl + 1, (unsigned long long)sf.t[wte].shape[1], (unsigned long long)sf.t[wte].shape[0],
                  (unsigned long long)sf.t[wpe].shape[0]);
        goto done;
    }
    if (cfg_text ? inh__st_parse_config((const unsigned char *)cfg_text, cfg_len, cfgpath, &hc) : inh__st_read_config(cfgpath, &hc)) goto done;
    inh_config_default(&c, (int)(hc.n_positions >= 0 ? hc.n_positions : hc.n_ctx >= 0 ? hc.n_ctx : 1024), (int)hc.vocab_size,
                       (int)hc.n_layer, (int)hc.n_head, (int)hc.n_embd);
    c.layer_scale = hc.layer_scale;
    if (hc.shortcuts) {
        if (inh_config_set_shortcuts(&c, hc.shortcuts, NULL)) { inh__fail("%s: %s", cfgpath, inh_error()); goto done; }
        if (hc.sc_given) memcpy(c.sc_layers, hc.sc_layers, sizeof c.sc_layers);
    }
    if (inh_config_check(&c, cfgpath)) goto done;

    /* every tensor in place, once, with the shape config.json implies */
    where = INH__ALLOC(int, (size_t)INH_MAX_PARAMS * c.L);
    if (!where) goto done;
    for (int i = 0; i < INH_MAX_PARAMS * c.L; i++) where[i] = -1;
    for (int i = 0; i < sf.n; i++) {
        const inh__st_tensor *t = &sf.t[i];
        const char *nm = inh__st_name(&sf, t);
        if (t->param == INH__ST_IGNORE) continue;
        if (t->layer >= c.L) { inh__fail("%s: tensor %s is beyond %s's n_layer=%d", file, nm, cfgpath, c.L); goto done; }
        if (t->param >= INH_NUM_PARAMS && !c.shortcuts) { inh__fail("%s: tensor %s, but %s has no \"shortcuts\"", file, nm, cfgpath); goto done; }
        if (inh__st_per_map(t->param) && !(c.sc_layers[t->layer / 32] >> (t->layer % 32) & 1u)) {
            inh__fail("%s: tensor %s, but layer %d is not among %s's \"shortcut_layers\"", file, nm, t->layer, cfgpath);
            goto done;
        }
        if (t->param >= 0) {
            int *w = &where[t->param * c.L + t->layer];
            if (*w >= 0) { inh__fail("%s: tensors %s and %s are the same tensor", file, inh__st_name(&sf, &sf.t[*w]), nm); goto done; }
            *w = i;
        }
        if (t->param >= 0 || t->param == INH__ST_LM_HEAD) {
            uint64_t s[2];
            int nd = inh__st_shape(&c, t->param >= 0 ? t->param : 0, s);
            if (t->dtype > INH__ST_F64) {
                inh__fail("%s: tensor %s has dtype %s; only F32, F16, BF16 and F64 are read", file, nm, inh__st_dtypes[t->dtype].name);
                goto done;
            }
            if (t->ndim != nd || t->shape[0] != s[0] || (nd == 2 && t->shape[1] != s[1])) {
                inh__st_fmt_shape(sh, sizeof sh, t->shape, t->ndim);
                inh__st_fmt_shape(want, sizeof want, s, nd);
                inh__fail("%s: tensor %s has shape %s, but %s (n_embd=%d n_positions=%d vocab_size=%d) implies %s", file, nm, sh,
                          cfgpath, c.C, c.maxT, c.V, want);
                goto done;
            }
        }
    }
    for (int p = 0; p < (c.shortcuts ? INH_MAX_PARAMS : INH_NUM_PARAMS); p++)
        for (int l = 0; l < (inh__st_per_layer(p) || inh__st_per_map(p) ? c.L : 1); l++) {
            if (inh__st_per_map(p) && !(c.sc_layers[l / 32] >> (l % 32) & 1u)) continue;
            if (where[p * c.L + l] < 0) {
                inh__st_fullname(sh, sizeof sh, p, l);
                inh__fail("%s: tensor %s is missing", file, sh);
                goto done;
            }
        }

    /* read: scratch for the largest tensor's bytes and for one transposed matrix */
    if (inh__model_alloc(m, &c, file)) goto done;
    for (int i = 0; i < sf.n; i++)
        if ((sf.t[i].param >= 0 || sf.t[i].param == INH__ST_LM_HEAD) && !inh__st_direct(&sf.t[i]) && sf.t[i].end - sf.t[i].begin > maxbytes)
            maxbytes = sf.t[i].end - sf.t[i].begin;
    raw = INH__ALLOC(unsigned char, maxbytes);
    ntmp = (size_t)4 * c.C * c.C;
    if (lm_head >= 0 && (size_t)c.V * c.C > ntmp) ntmp = (size_t)c.V * c.C;
    tmp = INH__ALLOC(float, ntmp);
    if (!raw || !tmp) goto done;
    for (int p = 0; p < (c.shortcuts ? INH_MAX_PARAMS : INH_NUM_PARAMS); p++)
        for (int l = 0; l < (inh__st_per_layer(p) || inh__st_per_map(p) ? c.L : 1); l++) {
            if (inh__st_per_map(p) && !(c.sc_layers[l / 32] >> (l % 32) & 1u)) continue;
            const inh__st_tensor *t = &sf.t[where[p * c.L + l]];
            float *dst = inh__st_slice(m, p, l);
            if (!inh__st_transposed(p)) { if (inh__st_read_tensor(f, &sf, t, raw, dst)) goto done; continue; }
            if (inh__st_read_tensor(f, &sf, t, raw, tmp)) goto done;
            size_t in = (size_t)t->shape[0], out = (size_t)t->shape[1];   /* HF [in, out] -> ours (out, in) */
            for (size_t i = 0; i < in; i++)
                for (size_t o = 0; o < out; o++) dst[o * in + i] = tmp[i * out + o];
        }
    if (lm_head >= 0) {
        if (inh__st_read_tensor(f, &sf, &sf.t[lm_head], raw, tmp)) goto done;
        if (memcmp(tmp, m->params.wte, (size_t)c.V * c.C * sizeof(float))) {
            inh__fail("%s: tensor %s differs from %s: only tied LM heads (lm_head = wte) are supported", file,
                      inh__st_name(&sf, &sf.t[lm_head]), inh__st_name(&sf, &sf.t[wte]));
            goto done;
        }
    }
    if (sf.no_bias) {   /* our bias-free export, unless someone has since trained the biases */
        int zero = 1;
        for (int p = 0; p < INH_MAX_PARAMS && zero; p++) {
            if (!inh_param_is_bias(p) || !m->param_sizes[p]) continue;
            const float *b = inh__st_slice(m, p, 0);
            for (size_t i = 0; i < m->param_sizes[p]; i++) if (b[i] != 0.0f) { zero = 0; break; }
        }
        if (zero) m->cfg.bias = 0;
    }
    rc = 0;
done:
    if (rc && m->params_mem) inh_model_free(m);
    inh__st_free(&sf);
    INH_FREE(where); INH_FREE(raw); INH_FREE(tmp);
    return rc;
}
INHDEF int inh_model_load_safetensors(inh_model *m, const char *path) {
    char file[4096], cfgpath[4096];
    memset(m, 0, sizeof *m);
    if (inh__st_is_dir(path)) {
        if (inh__st_join(file, sizeof file, path, "model.safetensors")) return -1;
        if (!inh__st_exists(file)) {
            if (inh__st_join(cfgpath, sizeof cfgpath, path, "model.safetensors.index.json") == 0 && inh__st_exists(cfgpath))
                return inh__fail("%s: sharded safetensors checkpoints (model.safetensors.index.json) are not supported", path);
            return inh__fail("%s: directory has no model.safetensors", path);
        }
    } else if (snprintf(file, sizeof file, "%s", path) >= (int)sizeof file) {
        return inh__fail("%s: path too long", path);
    }
    if (inh__st_beside(cfgpath, sizeof cfgpath, file, "config.json")) return -1;
    FILE *f = inh__os_fopen(file, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", file, strerror(errno));
    size_t len;
    inh__src s = {f, NULL, 0, 0};
    int rc = inh__file_size(f, file, &len) ? -1 : inh__st_load(m, file, &s, len, cfgpath, NULL, 0);
    fclose(f);
    return rc;
}

/* ---- save --------------------------------------------------------------------------------------- */

INH__PRINTF(2, 3)
INH__FN int inh__st_printf(inh__buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return k < 0 || (size_t)k >= sizeof tmp ? inh__fail("internal: formatted text too long") : inh__buf_put(b, tmp, (size_t)k);
}

INH__FN void inh__st_wu64(unsigned char *p, uint64_t v) { inh__wr32(p, (uint32_t)v); inh__wr32(p + 4, (uint32_t)(v >> 32)); }

INHDEF int inh_model_save_safetensors(const inh_model *m, const char *dir_or_path) {
    if (inh_model_sync_host((inh_model *)m)) return -1;   /* a model on another backend: its host copies, current */
    const inh_config *c = &m->cfg;
    char file[4096], cfgpath[4096], name[64];
    size_t n = strlen(dir_or_path);
    inh__buf h = {NULL, 0, 0}, cj = {NULL, 0, 0};
    inh__wfile w;
    float *tmp = NULL;
    int rc = -1, L = c->L, sel[INH_SC_MAX_LAYER + 1], nsel = inh_sc_layers(c, sel);
    int K = 4 + 12 * L + (c->shortcuts ? 6 * nsel + 8 : 0);   /* tensors in the file */
    uint64_t off = 0, s[2];
    sel[nsel] = -1;
    if (n >= 12 && !strcmp(dir_or_path + n - 12, ".safetensors")) {
        if (snprintf(file, sizeof file, "%s", dir_or_path) >= (int)sizeof file) return inh__fail("%s: path too long", dir_or_path);
        if (inh__st_beside(cfgpath, sizeof cfgpath, file, "config.json")) return -1;
    } else {
        if (!inh__st_is_dir(dir_or_path)) {
            if (inh__st_exists(dir_or_path)) return inh__fail("%s: exists and is not a directory (name a .safetensors file or a directory)", dir_or_path);
            if (inh__os_mkdir(dir_or_path) != 0) return inh__fail("%s: cannot create directory: %s", dir_or_path, strerror(errno));
        }
        if (inh__st_join(file, sizeof file, dir_or_path, "model.safetensors") || inh__st_join(cfgpath, sizeof cfgpath, dir_or_path, "config.json"))
            return -1;
    }

    /* header: wte, wpe, h.0.* ... h.{L-1}.*, ln_f.*, data contiguous in that order */
    if (inh__st_printf(&h, "{\"__metadata__\":{\"format\":\"pt\"%s}", c->bias ? "" : ",\"inheritune_no_bias\":\"1\"")) goto done;
    for (int k = 0; k < K; k++) {
        int p, l;
        if (k < 4 + 12 * L) inh__st_export_order(k, L, &p, &l);
        else inh__st_export_sc(k - 4 - 12 * L, sel, &p, &l);
        int nd = inh__st_shape(c, p, s);
        uint64_t bytes = s[0] * (nd == 2 ? s[1] : 1) * 4;
        inh__st_fullname(name, sizeof name, p, l);
        if (inh__st_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%llu", name, (unsigned long long)s[0]) ||
            (nd == 2 && inh__st_printf(&h, ",%llu", (unsigned long long)s[1])) ||
            inh__st_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + bytes)))
            goto done;
        off += bytes;
    }
    if (inh__buf_put(&h, "}", 1)) goto done;
    while ((h.n & 7) != 0) if (inh__buf_put(&h, " ", 1)) goto done;   /* data starts 8-aligned */

    /* config.json */
    if (inh__st_printf(&cj, "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n"
                            "  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"layer_norm_epsilon\": 1e-05,\n"
                            "  \"model_type\": \"gpt2\",\n", c->V - 1, c->V - 1) ||
        inh__st_printf(&cj, "  \"n_ctx\": %d,\n  \"n_embd\": %d,\n  \"n_head\": %d,\n  \"n_inner\": null,\n  \"n_layer\": %d,\n"
                            "  \"n_positions\": %d,\n", c->maxT, c->C, c->NH, c->L, c->maxT) ||
        inh__st_printf(&cj, "  \"reorder_and_upcast_attn\": false,\n  \"scale_attn_by_inverse_layer_idx\": %s,\n"
                            "  \"scale_attn_weights\": true,\n  \"tie_word_embeddings\": true,\n  \"torch_dtype\": \"float32\",\n"
                            "  \"vocab_size\": %d", c->layer_scale ? "true" : "false", c->V))
        goto done;
    if (c->shortcuts) {   /* ours: the shortcut sub-layer (HF's GPT2LMHeadModel ignores unknown keys) */
        if (inh__st_printf(&cj, ",\n  \"shortcuts\": \"%s\",\n  \"shortcut_layers\": [", inh_sc_variant_name(c->shortcuts))) goto done;
        for (int i = 0; i < nsel; i++) if (inh__st_printf(&cj, i ? ", %d" : "%d", sel[i])) goto done;
        if (inh__st_printf(&cj, "]")) goto done;
    }
    if (inh__st_printf(&cj, "\n}\n")) goto done;

    tmp = INH__ALLOC(float, (size_t)4 * c->C * c->C);
    if (!tmp) goto done;
    unsigned char len8[8];
    inh__st_wu64(len8, h.n);
    if (inh__wopen(&w, file)) goto done;
    inh__wwrite(&w, len8, 8);
    inh__wwrite(&w, h.p, h.n);
    for (int k = 0; k < K; k++) {
        int p, l;
        if (k < 4 + 12 * L) inh__st_export_order(k, L, &p, &l);
        else inh__st_export_sc(k - 4 - 12 * L, sel, &p, &l);
        const float *src = inh__st_slice(m, p, l);
        int nd = inh__st_shape(c, p, s);
        if (!inh__st_transposed(p)) { inh__wfloats(&w, src, (size_t)(s[0] * (nd == 2 ? s[1] : 1))); continue; }
        size_t in = (size_t)s[0], out = (size_t)s[1];   /* ours (out, in) -> HF [in, out] */
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++) tmp[i * out + o] = src[o * in + i];
        inh__wfloats(&w, tmp, in * out);
    }
    if (inh__wclose(&w)) goto done;
    if (inh__wopen(&w, cfgpath)) goto done;
    inh__wwrite(&w, cj.p, cj.n);
    if (inh__wclose(&w)) goto done;
    rc = 0;
done:
    INH_FREE(h.p); INH_FREE(cj.p); INH_FREE(tmp);
    return rc;
}

/* ---- either format ---------------------------------------------------------------------------- */

INHDEF int inh_model_load_any(inh_model *m, const char *path) {
    unsigned char b[9];
    size_t got;
    memset(m, 0, sizeof *m);
    if (inh__st_is_dir(path)) return inh_model_load_safetensors(m, path);
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got >= 4 && inh__rd32(b) == INH__MODEL_MAGIC) return inh_model_load(m, path);
    if (got >= 4 && inh__rd32(b) == INH__STATE_MAGIC) return inh__fail("%s: is a training-state file, not a model (use it with --resume)", path);
    if (got >= 4 && inh__rd32(b) == INH__SHARD_MAGIC) return inh__fail("%s: is a token shard, not a model", path);
    size_t n = strlen(path);
    /* a JSON header after 8 bytes, or the name: the safetensors loader then says exactly what is wrong */
    if ((got == 9 && b[8] == '{') || (n >= 12 && !strcmp(path + n - 12, ".safetensors"))) return inh_model_load_safetensors(m, path);
    return inh__fail("%s: neither an llm.c model file (magic %d) nor a safetensors file", path, INH__MODEL_MAGIC);
}
INHDEF int inh_model_load_memory(inh_model *m, const void *data, size_t len, const char *config_json) {
    const unsigned char *b = (const unsigned char *)data;
    const char *name = "model (memory)";
    inh__src s = {NULL, b, len, 0};
    memset(m, 0, sizeof *m);
    if (len >= 4 && inh__rd32(b) == INH__MODEL_MAGIC) return inh__model_load_src(m, &s, len, name);
    if (len >= 4 && inh__rd32(b) == INH__STATE_MAGIC) return inh__fail("%s: is a training state, not a model", name);
    if (len >= 4 && inh__rd32(b) == INH__SHARD_MAGIC) return inh__fail("%s: is a token shard, not a model", name);
    if (len >= 9 && b[8] == '{') {
        if (!config_json) return inh__fail("%s: a safetensors model needs its config.json text (n_head cannot be derived from tensor shapes)", name);
        return inh__st_load(m, name, &s, len, "config.json (memory)", config_json, strlen(config_json));
    }
    return inh__fail("%s: neither an llm.c model (magic %d) nor a safetensors file", name, INH__MODEL_MAGIC);
}

/* ---------------------------------------------------------------------------------------------
   Tokenizer */

/* BEGIN GENERATED UNICODE TABLES (tools/gen_unicode.py --update inheritune.h) */
/* Unicode tables - GENERATED by tools/gen_unicode.py from the Unicode Character Database
   (Unicode 15.0.0). Do not edit. Classes: 0 other, 1 letter \p{L}, 2 number \p{N}, 3 space \s
   (White_Space). inh__uni_bounds[k] = (first code point << 2) | class of the run that starts
   there and lasts until the next entry; the first entry starts at 0. */
static const uint8_t inh__uni_ascii[128] = {
    0,0,0,0,0,0,0,0,0,3,3,3,3,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,2,2,2,2,2,2,2,2,0,0,0,0,0,0,
    0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,0,0,0,0,
    0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,0,0,0,0,
};
#define INH__UNI_NBOUNDS 1562
static const uint32_t inh__uni_bounds[INH__UNI_NBOUNDS] = {
    0x0,0x27,0x38,0x83,0x84,0xc2,0xe8,0x105,0x16c,0x185,
    0x1ec,0x217,0x218,0x283,0x284,0x2a9,0x2ac,0x2ca,0x2d0,0x2d5,
    0x2d8,0x2e6,0x2e9,0x2ec,0x2f2,0x2fc,0x301,0x35c,0x361,0x3dc,
    0x3e1,0xb08,0xb19,0xb48,0xb81,0xb94,0xbb1,0xbb4,0xbb9,0xbbc,
    0xdc1,0xdd4,0xdd9,0xde0,0xde9,0xdf8,0xdfd,0xe00,0xe19,0xe1c,
    0xe21,0xe2c,0xe31,0xe34,0xe39,0xe88,0xe8d,0xfd8,0xfdd,0x1208,
    0x1229,0x14c0,0x14c5,0x155c,0x1565,0x1568,0x1581,0x1624,0x1741,0x17ac,
    0x17bd,0x17cc,0x1881,0x192c,0x1982,0x19a8,0x19b9,0x19c0,0x19c5,0x1b50,
    0x1b55,0x1b58,0x1b95,0x1b9c,0x1bb9,0x1bc2,0x1be9,0x1bf4,0x1bfd,0x1c00,
    0x1c41,0x1c44,0x1c49,0x1cc0,0x1d35,0x1e98,0x1ec5,0x1ec8,0x1f02,0x1f29,
    0x1fac,0x1fd1,0x1fd8,0x1fe9,0x1fec,0x2001,0x2058,0x2069,0x206c,0x2091,
    0x2094,0x20a1,0x20a4,0x2101,0x2164,0x2181,0x21ac,0x21c1,0x2220,0x2225,
    0x223c,0x2281,0x2328,0x2411,0x24e8,0x24f5,0x24f8,0x2541,0x2544,0x2561,
    0x2588,0x259a,0x25c0,0x25c5,0x2604,0x2615,0x2634,0x263d,0x2644,0x264d,
    0x26a4,0x26a9,0x26c4,0x26c9,0x26cc,0x26d9,0x26e8,0x26f5,0x26f8,0x2739,
    0x273c,0x2771,0x2778,0x277d,0x2788,0x279a,0x27c1,0x27c8,0x27d2,0x27e8,
    0x27f1,0x27f4,0x2815,0x282c,0x283d,0x2844,0x284d,0x28a4,0x28a9,0x28c4,
    0x28c9,0x28d0,0x28d5,0x28dc,0x28e1,0x28e8,0x2965,0x2974,0x2979,0x297c,
    0x299a,0x29c0,0x29c9,0x29d4,0x2a15,0x2a38,0x2a3d,0x2a48,0x2a4d,0x2aa4,
    0x2aa9,0x2ac4,0x2ac9,0x2ad0,0x2ad5,0x2ae8,0x2af5,0x2af8,0x2b41,0x2b44,
    0x2b81,0x2b88,0x2b9a,0x2bc0,0x2be5,0x2be8,0x2c15,0x2c34,0x2c3d,0x2c44,
    0x2c4d,0x2ca4,0x2ca9,0x2cc4,0x2cc9,0x2cd0,0x2cd5,0x2ce8,0x2cf5,0x2cf8,
    0x2d71,0x2d78,0x2d7d,0x2d88,0x2d9a,0x2dc0,0x2dc5,0x2dca,0x2de0,0x2e0d,
    0x2e10,0x2e15,0x2e2c,0x2e39,0x2e44,0x2e49,0x2e58,0x2e65,0x2e6c,0x2e71,
    0x2e74,0x2e79,0x2e80,0x2e8d,0x2e94,0x2ea1,0x2eac,0x2eb9,0x2ee8,0x2f41,
    0x2f44,0x2f9a,0x2fcc,0x3015,0x3034,0x3039,0x3044,0x3049,0x30a4,0x30a9,
    0x30e8,0x30f5,0x30f8,0x3161,0x316c,0x3175,0x3178,0x3181,0x3188,0x319a,
    0x31c0,0x31e2,0x31fc,0x3201,0x3204,0x3215,0x3234,0x3239,0x3244,0x3249,
    0x32a4,0x32a9,0x32d0,0x32d5,0x32e8,0x32f5,0x32f8,0x3375,0x337c,0x3381,
    0x3388,0x339a,0x33c0,0x33c5,0x33cc,0x3411,0x3434,0x3439,0x3444,0x3449,
    0x34ec,0x34f5,0x34f8,0x3539,0x353c,0x3551,0x355c,0x3562,0x357d,0x3588,
    0x359a,0x35e4,0x35e9,0x3600,0x3615,0x365c,0x3669,0x36c8,0x36cd,0x36f0,
    0x36f5,0x36f8,0x3701,0x371c,0x379a,0x37c0,0x3805,0x38c4,0x38c9,0x38d0,
    0x3901,0x391c,0x3942,0x3968,0x3a05,0x3a0c,0x3a11,0x3a14,0x3a19,0x3a2c,
    0x3a31,0x3a90,0x3a95,0x3a98,0x3a9d,0x3ac4,0x3ac9,0x3ad0,0x3af5,0x3af8,
    0x3b01,0x3b14,0x3b19,0x3b1c,0x3b42,0x3b68,0x3b71,0x3b80,0x3c01,0x3c04,
    0x3c82,0x3cd0,0x3d01,0x3d20,0x3d25,0x3db4,0x3e21,0x3e34,0x4001,0x40ac,
    0x40fd,0x4102,0x4128,0x4141,0x4158,0x4169,0x4178,0x4185,0x4188,0x4195,
    0x419c,0x41b9,0x41c4,0x41d5,0x4208,0x4239,0x423c,0x4242,0x4268,0x4281,
    0x4318,0x431d,0x4320,0x4335,0x4338,0x4341,0x43ec,0x43f1,0x4924,0x4929,
    0x4938,0x4941,0x495c,0x4961,0x4964,0x4969,0x4978,0x4981,0x4a24,0x4a29,
    0x4a38,0x4a41,0x4ac4,0x4ac9,0x4ad8,0x4ae1,0x4afc,0x4b01,0x4b04,0x4b09,
    0x4b18,0x4b21,0x4b5c,0x4b61,0x4c44,0x4c49,0x4c58,0x4c61,0x4d6c,0x4da6,
    0x4df4,0x4e01,0x4e40,0x4e81,0x4fd8,0x4fe1,0x4ff8,0x5005,0x59b4,0x59bd,
    0x5a03,0x5a05,0x5a6c,0x5a81,0x5bac,0x5bba,0x5bc5,0x5be4,0x5c01,0x5c48,
    0x5c7d,0x5cc8,0x5d01,0x5d48,0x5d81,0x5db4,0x5db9,0x5dc4,0x5e01,0x5ed0,
    0x5f5d,0x5f60,0x5f71,0x5f74,0x5f82,0x5fa8,0x5fc2,0x5fe8,0x6042,0x6068,
    0x6081,0x61e4,0x6201,0x6214,0x621d,0x62a4,0x62a9,0x62ac,0x62c1,0x63d8,
    0x6401,0x647c,0x651a,0x6541,0x65b8,0x65c1,0x65d4,0x6601,0x66b0,0x66c1,
    0x6728,0x6742,0x676c,0x6801,0x685c,0x6881,0x6954,0x6a02,0x6a28,0x6a42,
    0x6a68,0x6a9d,0x6aa0,0x6c15,0x6cd0,0x6d15,0x6d34,0x6d42,0x6d68,0x6e0d,
    0x6e84,0x6eb9,0x6ec2,0x6ee9,0x6f98,0x7001,0x7090,0x7102,0x7128,0x7135,
    0x7142,0x7169,0x71f8,0x7201,0x7224,0x7241,0x72ec,0x72f5,0x7300,0x73a5,
    0x73b4,0x73b9,0x73d0,0x73d5,0x73dc,0x73e9,0x73ec,0x7401,0x7700,0x7801,
    0x7c58,0x7c61,0x7c78,0x7c81,0x7d18,0x7d21,0x7d38,0x7d41,0x7d60,0x7d65,
    0x7d68,0x7d6d,0x7d70,0x7d75,0x7d78,0x7d7d,0x7df8,0x7e01,0x7ed4,0x7ed9,
    0x7ef4,0x7ef9,0x7efc,0x7f09,0x7f14,0x7f19,0x7f34,0x7f41,0x7f50,0x7f59,
    0x7f70,0x7f81,0x7fb4,0x7fc9,0x7fd4,0x7fd9,0x7ff4,0x8003,0x802c,0x80a3,
    0x80a8,0x80bf,0x80c0,0x817f,0x8180,0x81c2,0x81c5,0x81c8,0x81d2,0x81e8,
    0x81fd,0x8202,0x8228,0x8241,0x8274,0x8409,0x840c,0x841d,0x8420,0x8429,
    0x8450,0x8455,0x8458,0x8465,0x8478,0x8491,0x8494,0x8499,0x849c,0x84a1,
    0x84a4,0x84a9,0x84b8,0x84bd,0x84e8,0x84f1,0x8500,0x8515,0x8528,0x8539,
    0x853c,0x8542,0x860d,0x8616,0x8628,0x9182,0x9270,0x93aa,0x9400,0x9dda,
    0x9e50,0xb001,0xb394,0xb3ad,0xb3bc,0xb3c9,0xb3d0,0xb3f6,0xb3f8,0xb401,
    0xb498,0xb49d,0xb4a0,0xb4b5,0xb4b8,0xb4c1,0xb5a0,0xb5bd,0xb5c0,0xb601,
    0xb65c,0xb681,0xb69c,0xb6a1,0xb6bc,0xb6c1,0xb6dc,0xb6e1,0xb6fc,0xb701,
    0xb71c,0xb721,0xb73c,0xb741,0xb75c,0xb761,0xb77c,0xb8bd,0xb8c0,0xc003,
    0xc004,0xc015,0xc01e,0xc020,0xc086,0xc0a8,0xc0c5,0xc0d8,0xc0e2,0xc0ed,
    0xc0f4,0xc105,0xc25c,0xc275,0xc280,0xc285,0xc3ec,0xc3f1,0xc400,0xc415,
    0xc4c0,0xc4c5,0xc63c,0xc64a,0xc658,0xc681,0xc700,0xc7c1,0xc800,0xc882,
    0xc8a8,0xc922,0xc940,0xc946,0xc980,0xca02,0xca28,0xcac6,0xcb00,0xd001,
    0x13700,0x13801,0x29234,0x29341,0x293f8,0x29401,0x29834,0x29841,0x29882,0x298a9,
    0x298b0,0x29901,0x299bc,0x299fd,0x29a78,0x29a81,0x29b9a,0x29bc0,0x29c5d,0x29c80,
    0x29c89,0x29e24,0x29e2d,0x29f2c,0x29f41,0x29f48,0x29f4d,0x29f50,0x29f55,0x29f68,
    0x29fc9,0x2a008,0x2a00d,0x2a018,0x2a01d,0x2a02c,0x2a031,0x2a08c,0x2a0c2,0x2a0d8,
    0x2a101,0x2a1d0,0x2a209,0x2a2d0,0x2a342,0x2a368,0x2a3c9,0x2a3e0,0x2a3ed,0x2a3f0,
    0x2a3f5,0x2a3fc,0x2a402,0x2a429,0x2a498,0x2a4c1,0x2a51c,0x2a581,0x2a5f4,0x2a611,
    0x2a6cc,0x2a73d,0x2a742,0x2a768,0x2a781,0x2a794,0x2a799,0x2a7c2,0x2a7e9,0x2a7fc,
    0x2a801,0x2a8a4,0x2a901,0x2a90c,0x2a911,0x2a930,0x2a942,0x2a968,0x2a981,0x2a9dc,
    0x2a9e9,0x2a9ec,0x2a9f9,0x2aac0,0x2aac5,0x2aac8,0x2aad5,0x2aadc,0x2aae5,0x2aaf8,
    0x2ab01,0x2ab04,0x2ab09,0x2ab0c,0x2ab6d,0x2ab78,0x2ab81,0x2abac,0x2abc9,0x2abd4,
    0x2ac05,0x2ac1c,0x2ac25,0x2ac3c,0x2ac45,0x2ac5c,0x2ac81,0x2ac9c,0x2aca1,0x2acbc,
    0x2acc1,0x2ad6c,0x2ad71,0x2ada8,0x2adc1,0x2af8c,0x2afc2,0x2afe8,0x2b001,0x35e90,
    0x35ec1,0x35f1c,0x35f2d,0x35ff0,0x3e401,0x3e9b8,0x3e9c1,0x3eb68,0x3ec01,0x3ec1c,
    0x3ec4d,0x3ec60,0x3ec75,0x3ec78,0x3ec7d,0x3eca4,0x3eca9,0x3ecdc,0x3ece1,0x3ecf4,
    0x3ecf9,0x3ecfc,0x3ed01,0x3ed08,0x3ed0d,0x3ed14,0x3ed19,0x3eec8,0x3ef4d,0x3f4f8,
    0x3f541,0x3f640,0x3f649,0x3f720,0x3f7c1,0x3f7f0,0x3f9c1,0x3f9d4,0x3f9d9,0x3fbf4,
    0x3fc42,0x3fc68,0x3fc85,0x3fcec,0x3fd05,0x3fd6c,0x3fd99,0x3fefc,0x3ff09,0x3ff20,
    0x3ff29,0x3ff40,0x3ff49,0x3ff60,0x3ff69,0x3ff74,0x40001,0x40030,0x40035,0x4009c,
    0x400a1,0x400ec,0x400f1,0x400f8,0x400fd,0x40138,0x40141,0x40178,0x40201,0x403ec,
    0x4041e,0x404d0,0x40502,0x405e4,0x4062a,0x40630,0x40a01,0x40a74,0x40a81,0x40b44,
    0x40b86,0x40bf0,0x40c01,0x40c82,0x40c90,0x40cb5,0x40d06,0x40d09,0x40d2a,0x40d2c,
    0x40d41,0x40dd8,0x40e01,0x40e78,0x40e81,0x40f10,0x40f21,0x40f40,0x40f46,0x40f58,
    0x41001,0x41278,0x41282,0x412a8,0x412c1,0x41350,0x41361,0x413f0,0x41401,0x414a0,
    0x414c1,0x41590,0x415c1,0x415ec,0x415f1,0x4162c,0x41631,0x4164c,0x41651,0x41658,
    0x4165d,0x41688,0x4168d,0x416c8,0x416cd,0x416e8,0x416ed,0x416f4,0x41801,0x41cdc,
    0x41d01,0x41d58,0x41d81,0x41da0,0x41e01,0x41e18,0x41e1d,0x41ec4,0x41ec9,0x41eec,
    0x42001,0x42018,0x42021,0x42024,0x42029,0x420d8,0x420dd,0x420e4,0x420f1,0x420f4,
    0x420fd,0x42158,0x42162,0x42181,0x421dc,0x421e6,0x42201,0x4227c,0x4229e,0x422c0,
    0x42381,0x423cc,0x423d1,0x423d8,0x423ee,0x42401,0x4245a,0x42470,0x42481,0x424e8,
    0x42601,0x426e0,0x426f2,0x426f9,0x42702,0x42740,0x4274a,0x42801,0x42804,0x42841,
    0x42850,0x42855,0x42860,0x42865,0x428d8,0x42902,0x42924,0x42981,0x429f6,0x429fc,
    0x42a01,0x42a76,0x42a80,0x42b01,0x42b20,0x42b25,0x42b94,0x42bae,0x42bc0,0x42c01,
    0x42cd8,0x42d01,0x42d58,0x42d62,0x42d81,0x42dcc,0x42de2,0x42e01,0x42e48,0x42ea6,
    0x42ec0,0x43001,0x43124,0x43201,0x432cc,0x43301,0x433cc,0x433ea,0x43401,0x43490,
    0x434c2,0x434e8,0x43982,0x439fc,0x43a01,0x43aa8,0x43ac1,0x43ac8,0x43c01,0x43c76,
    0x43c9d,0x43ca0,0x43cc1,0x43d18,0x43d46,0x43d54,0x43dc1,0x43e08,0x43ec1,0x43f16,
    0x43f30,0x43f81,0x43fdc,0x4400d,0x440e0,0x4414a,0x441c0,0x441c5,0x441cc,0x441d5,
    0x441d8,0x4420d,0x442c0,0x44341,0x443a4,0x443c2,0x443e8,0x4440d,0x4449c,0x444da,
    0x44500,0x44511,0x44514,0x4451d,0x44520,0x44541,0x445cc,0x445d9,0x445dc,0x4460d,
    0x446cc,0x44705,0x44714,0x44742,0x44769,0x4476c,0x44771,0x44774,0x44786,0x447d4,
    0x44801,0x44848,0x4484d,0x448b0,0x448fd,0x44904,0x44a01,0x44a1c,0x44a21,0x44a24,
    0x44a29,0x44a38,0x44a3d,0x44a78,0x44a7d,0x44aa4,0x44ac1,0x44b7c,0x44bc2,0x44be8,
    0x44c15,0x44c34,0x44c3d,0x44c44,0x44c4d,0x44ca4,0x44ca9,0x44cc4,0x44cc9,0x44cd0,
    0x44cd5,0x44ce8,0x44cf5,0x44cf8,0x44d41,0x44d44,0x44d75,0x44d88,0x45001,0x450d4,
    0x4511d,0x4512c,0x45142,0x45168,0x4517d,0x45188,0x45201,0x452c0,0x45311,0x45318,
    0x4531d,0x45320,0x45342,0x45368,0x45601,0x456bc,0x45761,0x45770,0x45801,0x458c0,
    0x45911,0x45914,0x45942,0x45968,0x45a01,0x45aac,0x45ae1,0x45ae4,0x45b02,0x45b28,
    0x45c01,0x45c6c,0x45cc2,0x45cf0,0x45d01,0x45d1c,0x46001,0x460b0,0x46281,0x46382,
    0x463cc,0x463fd,0x4641c,0x46425,0x46428,0x46431,0x46450,0x46455,0x4645c,0x46461,
    0x464c0,0x464fd,0x46500,0x46505,0x46508,0x46542,0x46568,0x46681,0x466a0,0x466a9,
    0x46744,0x46785,0x46788,0x4678d,0x46790,0x46801,0x46804,0x4682d,0x468cc,0x468e9,
    0x468ec,0x46941,0x46944,0x46971,0x46a28,0x46a75,0x46a78,0x46ac1,0x46be4,0x47001,
    0x47024,0x47029,0x470bc,0x47101,0x47104,0x47142,0x471b4,0x471c9,0x47240,0x47401,
    0x4741c,0x47421,0x47428,0x4742d,0x474c4,0x47519,0x4751c,0x47542,0x47568,0x47581,
    0x47598,0x4759d,0x475a4,0x475a9,0x47628,0x47661,0x47664,0x47682,0x476a8,0x47b81,
    0x47bcc,0x47c09,0x47c0c,0x47c11,0x47c44,0x47c49,0x47cd0,0x47d42,0x47d68,0x47ec1,
    0x47ec4,0x47f02,0x47f54,0x48001,0x48e68,0x49002,0x491bc,0x49201,0x49510,0x4be41,
    0x4bfc4,0x4c001,0x4d0c0,0x4d105,0x4d11c,0x51001,0x5191c,0x5a001,0x5a8e4,0x5a901,
    0x5a97c,0x5a982,0x5a9a8,0x5a9c1,0x5aafc,0x5ab02,0x5ab28,0x5ab41,0x5abb8,0x5ac01,
    0x5acc0,0x5ad01,0x5ad10,0x5ad42,0x5ad68,0x5ad6e,0x5ad88,0x5ad8d,0x5ade0,0x5adf5,
    0x5ae40,0x5b901,0x5ba02,0x5ba5c,0x5bc01,0x5bd2c,0x5bd41,0x5bd44,0x5be4d,0x5be80,
    0x5bf81,0x5bf88,0x5bf8d,0x5bf90,0x5c001,0x61fe0,0x62001,0x63358,0x63401,0x63424,
    0x6bfc1,0x6bfd0,0x6bfd5,0x6bff0,0x6bff5,0x6bffc,0x6c001,0x6c48c,0x6c4c9,0x6c4cc,
    0x6c541,0x6c54c,0x6c555,0x6c558,0x6c591,0x6c5a0,0x6c5c1,0x6cbf0,0x6f001,0x6f1ac,
    0x6f1c1,0x6f1f4,0x6f201,0x6f224,0x6f241,0x6f268,0x74b02,0x74b50,0x74b82,0x74bd0,
    0x74d82,0x74de4,0x75001,0x75154,0x75159,0x75274,0x75279,0x75280,0x75289,0x7528c,
    0x75295,0x7529c,0x752a5,0x752b4,0x752b9,0x752e8,0x752ed,0x752f0,0x752f5,0x75310,
    0x75315,0x75418,0x7541d,0x7542c,0x75435,0x75454,0x75459,0x75474,0x75479,0x754e8,
    0x754ed,0x754fc,0x75501,0x75514,0x75519,0x7551c,0x75529,0x75544,0x75549,0x75a98,
    0x75aa1,0x75b04,0x75b09,0x75b6c,0x75b71,0x75bec,0x75bf1,0x75c54,0x75c59,0x75cd4,
    0x75cd9,0x75d3c,0x75d41,0x75dbc,0x75dc1,0x75e24,0x75e29,0x75ea4,0x75ea9,0x75f0c,
    0x75f11,0x75f30,0x75f3a,0x76000,0x77c01,0x77c7c,0x77c95,0x77cac,0x780c1,0x781b8,
    0x78401,0x784b4,0x784dd,0x784f8,0x78502,0x78528,0x78539,0x7853c,0x78a41,0x78ab8,
    0x78b01,0x78bb0,0x78bc2,0x78be8,0x79341,0x793b0,0x793c2,0x793e8,0x79f81,0x79f9c,
    0x79fa1,0x79fb0,0x79fb5,0x79fbc,0x79fc1,0x79ffc,0x7a001,0x7a314,0x7a31e,0x7a340,
    0x7a401,0x7a510,0x7a52d,0x7a530,0x7a542,0x7a568,0x7b1c6,0x7b2b0,0x7b2b6,0x7b2c0,
    0x7b2c6,0x7b2d4,0x7b406,0x7b4b8,0x7b4be,0x7b4f8,0x7b801,0x7b810,0x7b815,0x7b880,
    0x7b885,0x7b88c,0x7b891,0x7b894,0x7b89d,0x7b8a0,0x7b8a5,0x7b8cc,0x7b8d1,0x7b8e0,
    0x7b8e5,0x7b8e8,0x7b8ed,0x7b8f0,0x7b909,0x7b90c,0x7b91d,0x7b920,0x7b925,0x7b928,
    0x7b92d,0x7b930,0x7b935,0x7b940,0x7b945,0x7b94c,0x7b951,0x7b954,0x7b95d,0x7b960,
    0x7b965,0x7b968,0x7b96d,0x7b970,0x7b975,0x7b978,0x7b97d,0x7b980,0x7b985,0x7b98c,
    0x7b991,0x7b994,0x7b99d,0x7b9ac,0x7b9b1,0x7b9cc,0x7b9d1,0x7b9e0,0x7b9e5,0x7b9f4,
    0x7b9f9,0x7b9fc,0x7ba01,0x7ba28,0x7ba2d,0x7ba70,0x7ba85,0x7ba90,0x7ba95,0x7baa8,
    0x7baad,0x7baf0,0x7c402,0x7c434,0x7efc2,0x7efe8,0x80001,0xa9b80,0xa9c01,0xadce8,
    0xadd01,0xae078,0xae081,0xb3a88,0xb3ac1,0xbaf84,0xbe001,0xbe878,0xc0001,0xc4d2c,
    0xc4d41,0xc8ec0,
};
/* END GENERATED UNICODE TABLES */

/* ---- GPT-2's pre-tokenizer ------------------------------------------------------------------

   The pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ matched by
   hand. Character classes come from the generated tables above (tools/gen_unicode.py). */

enum { INH__OTHER = 0, INH__LETTER = 1, INH__NUMBER = 2, INH__SPACE = 3 };

INH__FN int inh__uni_class(uint32_t cp) {
    if (cp < 128) return inh__uni_ascii[cp];
    int lo = 0, hi = INH__UNI_NBOUNDS - 1;     /* largest k with start(k) <= cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if ((inh__uni_bounds[mid] >> 2) <= cp) lo = mid; else hi = mid - 1;
    }
    return (int)(inh__uni_bounds[lo] & 3);
}
/* class and byte length of the character at s[0..n), n >= 1; a byte that does not start a valid
   UTF-8 sequence is one character of class "other" */
static inline int inh__char_class(const unsigned char *s, size_t n, int *len) {
    if (s[0] < 0x80) { *len = 1; return inh__uni_ascii[s[0]]; }
    uint32_t cp;
    int l = inh__utf8_get(s, n, &cp);
    if (!l) { *len = 1; return INH__OTHER; }
    *len = l;
    return inh__uni_class(cp);
}
/* end of the pre-token that starts at s[i], i < n */
INH__FN size_t inh__pretok_end(const unsigned char *s, size_t n, size_t i) {
    unsigned char c = s[i];
    int len, k;
    if (c == '\'' && i + 1 < n) {
        unsigned char d = s[i + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
        if (i + 2 < n && ((d == 'r' && s[i + 2] == 'e') || (d == 'v' && s[i + 2] == 'e') || (d == 'l' && s[i + 2] == 'l'))) return i + 3;
    }
    size_t j = i;
    if (c == ' ' && i + 1 < n && (k = inh__char_class(s + i + 1, n - i - 1, &len)) != INH__SPACE) {
        j = i + 1;                                  /* " ?X+" with the space */
    } else if ((k = inh__char_class(s + i, n - i, &len)) == INH__SPACE) {
        size_t last = i;                            /* \s+(?!\S) or else \s+ */
        j = i + (size_t)len;
        while (j < n && inh__char_class(s + j, n - j, &len) == INH__SPACE) { last = j; j += (size_t)len; }
        if (j == n) return n;
        return last > i ? last : j;                 /* leave the last space for the next word */
    }
    j += (size_t)len;
    while (j < n) {                                 /* X+ for X the class of the first character */
        if (s[j] < 0x80) { if (inh__uni_ascii[s[j]] != k) break; j++; continue; }
        if (inh__char_class(s + j, n - j, &len) != k) break;
        j += (size_t)len;
    }
    return j;
}
/* A cut before s[p] that changes no pre-token: a lone '\n' between two ASCII non-spaces. Every
   pre-token holding the '\n' is made of spaces, so it ends at p; and a longer run of spaces would
   split differently at the end of a piece (\s+(?!\S) takes the whole run there). */
INH__FN int inh__safe_cut(const unsigned char *s, size_t p) {
    return p >= 2 && s[p - 1] == '\n' && s[p] < 0x80 && inh__uni_ascii[s[p]] != INH__SPACE &&
           s[p - 2] < 0x80 && inh__uni_ascii[s[p - 2]] != INH__SPACE;
}
/* first safe cut in [from, n), or n */
INH__FN size_t inh__next_cut(const unsigned char *s, size_t n, size_t from) {
    size_t p = from ? from : 1;
    while (p < n) {
        const unsigned char *q = (const unsigned char *)memchr(s + p - 1, '\n', n - p);   /* a newline in [p-1, n-2] */
        if (!q) return n;
        p = (size_t)(q - s) + 1;
        if (inh__safe_cut(s, p)) return p;
        p++;
    }
    return n;
}

/* ---- the tokenizer -------------------------------------------------------------------------- */

enum { INH__TOK_BYTES = 0, INH__TOK_BPE = 1, INH__TOK_DECODE_ONLY = 2 };

/* merge table entry: pair (a, b) -> (rank, merged id); key = (a << 32 | b) + 1, 0 = empty */
typedef struct { uint64_t key; int32_t rank, id; } inh__merge;

struct inh_tokenizer {
    int kind, V, eot;
    unsigned char *bytes;       /* token i is bytes[off[i] .. off[i+1]) */
    uint32_t *off;              /* V + 1 */
    int byte_id[256];           /* id of the token for each single byte */
    inh__merge *merges;         /* open addressing, 1 << mbits slots */
    int mbits, nmerges;
};

static const char inh__eot_text[] = "<|endoftext|>";

INH__FN uint64_t inh__mix64(uint64_t x) { return x * 0x9E3779B97F4A7C15ull; }
INH__FN uint32_t inh__hash_bytes(const unsigned char *p, size_t n) {    /* FNV-1a */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* rank of merging (a, b), or -1; *mid receives the merged id */
static inline int inh__merge_find(const inh_tokenizer *t, int a, int b, int *mid) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    size_t mask = ((size_t)1 << t->mbits) - 1, h = (size_t)(inh__mix64(key) >> (64 - t->mbits));
    for (;;) {
        const inh__merge *m = &t->merges[h];
        if (m->key == key) { *mid = m->id; return m->rank; }
        if (m->key == 0) return -1;
        h = (h + 1) & mask;
    }
}

INHDEF void inh_tokenizer_free(inh_tokenizer *t) {
    if (!t) return;
    INH_FREE(t->bytes); INH_FREE(t->off); INH_FREE(t->merges); INH_FREE(t);
}
INHDEF int inh_tokenizer_vocab_size(const inh_tokenizer *t) { return t->V; }
INHDEF int inh_tokenizer_eot(const inh_tokenizer *t) { return t->eot; }
INHDEF int inh_tokenizer_can_encode(const inh_tokenizer *t) { return t->kind != INH__TOK_DECODE_ONLY; }
INHDEF const unsigned char *inh_tokenizer_token(const inh_tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->V) { *len = 0; return NULL; }
    *len = t->off[id + 1] - t->off[id];
    return t->bytes + t->off[id];
}
INHDEF void inh_tokenizer_free_ids(int *ids) { INH_FREE(ids); }
INHDEF void inh_tokenizer_free_bytes(unsigned char *b) { INH_FREE(b); }

INH__FN int inh__tok_bytes_new(inh_tokenizer **out) {
    inh_tokenizer *t = INH__CALLOC(inh_tokenizer, 1);
    if (!t) return -1;
    t->kind = INH__TOK_BYTES; t->V = 257; t->eot = 256;
    t->off = INH__ALLOC(uint32_t, 258);
    t->bytes = INH__ALLOC(unsigned char, 256 + sizeof inh__eot_text - 1);
    if (!t->off || !t->bytes) { inh_tokenizer_free(t); return -1; }
    for (int b = 0; b < 256; b++) { t->bytes[b] = (unsigned char)b; t->off[b] = (uint32_t)b; t->byte_id[b] = b; }
    memcpy(t->bytes + 256, inh__eot_text, sizeof inh__eot_text - 1);
    t->off[256] = 256; t->off[257] = (uint32_t)(256 + sizeof inh__eot_text - 1);
    *out = t;
    return 0;
}

/* GPT-2 writes each byte as one printable character: bytes 33..126, 161..172, 174..255 as
   themselves, the other 68 as U+0100 + their order among them. cp_byte inverts it (-1 if none). */
INH__FN void inh__gpt2_alphabet(int cp_byte[324]) {
    int n = 0;
    for (int c = 0; c < 324; c++) cp_byte[c] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        cp_byte[printable ? b : 256 + n++] = b;
    }
}
/* token text s[0..n) (UTF-8 over GPT-2's alphabet) -> bytes in dst (which may be s; it gets at
   most n bytes). Returns the number of bytes, or -1 (dst untouched) if a character is not in it. */
INH__FN long inh__from_alphabet(const int cp_byte[324], const unsigned char *s, size_t n, unsigned char *dst) {
    size_t i = 0, o = 0;
    uint32_t cp;
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0, o = 0; i < n; o++) {
            int l = inh__utf8_get(s + i, n - i, &cp);
            if (!l || cp >= 324 || cp_byte[cp] < 0) return -1;
            if (pass) dst[o] = (unsigned char)cp_byte[cp];
            i += (size_t)l;
        }
    }
    return (long)o;
}

/* bytes -> id map used while loading */
typedef struct { const inh_tokenizer *t; int *slot; size_t mask; } inh__idmap;
INH__FN int inh__idmap_build(inh__idmap *m, const inh_tokenizer *t) {
    size_t cap = 1024;
    while (cap < (size_t)t->V * 2) cap *= 2;
    m->t = t; m->mask = cap - 1;
    m->slot = INH__ALLOC(int, cap);
    if (!m->slot) return -1;
    for (size_t i = 0; i < cap; i++) m->slot[i] = -1;
    for (int id = 0; id < t->V; id++) {
        const unsigned char *p = t->bytes + t->off[id];
        size_t n = t->off[id + 1] - t->off[id], h = inh__hash_bytes(p, n) & m->mask;
        for (;; h = (h + 1) & m->mask) {
            int o = m->slot[h];
            if (o < 0) { m->slot[h] = id; break; }
            if (t->off[o + 1] - t->off[o] == n && memcmp(t->bytes + t->off[o], p, n) == 0) break;  /* first id wins */
        }
    }
    return 0;
}
INH__FN int inh__idmap_get(const inh__idmap *m, const unsigned char *p, size_t n) {
    const inh_tokenizer *t = m->t;
    for (size_t h = inh__hash_bytes(p, n) & m->mask;; h = (h + 1) & m->mask) {
        int o = m->slot[h];
        if (o < 0) return -1;
        if (t->off[o + 1] - t->off[o] == n && memcmp(t->bytes + t->off[o], p, n) == 0) return o;
    }
}

/* encoder.json / vocab.json: {"token": id, ...} with ids exactly 0..V-1 */
INH__FN int inh__load_vocab(inh_tokenizer *t, const unsigned char *data, size_t len, const char *path, const int cp_byte[324]) {
    inh__json j;
    inh__json_init(&j, data, len, path);
    inh__buf key = {NULL, 0, 0}, all = {NULL, 0, 0};
    size_t n = 0, cap = 0;
    uint32_t *koff = NULL;   /* per entry: offset in all, length, id */
    uint32_t *klen = NULL;
    int *kid = NULL, *pos = NULL, rc = -1, maxid = -1;
    if (inh__json_expect(&j, '{')) goto done;
    if (inh__json_peek(&j) == '}') j.p++;
    else for (;;) {
        long long id = 0;
        const unsigned char *at = j.p;
        if (inh__json_str(&j, &key) || inh__json_expect(&j, ':') || inh__json_int(&j, &id)) goto done;
        if (id < 0 || id >= (1 << 24)) { j.p = at; inh__json_fail(&j, "token id out of range [0, 2^24)"); goto done; }
        long kn = inh__from_alphabet(cp_byte, key.p, key.n, key.p);
        if (kn >= 0) key.n = (size_t)kn;                        /* else an added token: keep its UTF-8 */
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            uint32_t *a = INH__CAST(uint32_t *, INH_REALLOC(koff, cap * sizeof *koff));
            if (a) koff = a;
            uint32_t *b = INH__CAST(uint32_t *, INH_REALLOC(klen, cap * sizeof *klen));
            if (b) klen = b;
            int *c = INH__CAST(int *, INH_REALLOC(kid, cap * sizeof *kid));
            if (c) kid = c;
            if (!a || !b || !c) { inh__fail("%s: out of memory", path); goto done; }
        }
        if (all.n + key.n > 0xFFFFFFFFu) { inh__fail("%s: too large", path); goto done; }
        koff[n] = (uint32_t)all.n; klen[n] = (uint32_t)key.n; kid[n] = (int)id;
        n++;
        if (inh__buf_put(&all, key.p, key.n)) goto done;
        if ((int)id > maxid) maxid = (int)id;
        int c = inh__json_peek(&j);
        if (c == ',') { j.p++; continue; }
        if (c == '}') { j.p++; break; }
        inh__json_fail(&j, c < 0 ? "expected ',' or '}' but the file ends" : "expected ',' or '}'");
        goto done;
    }
    if (inh__json_end(&j)) goto done;
    if (maxid < 0) { inh__fail("%s: empty vocabulary", path); goto done; }
    t->V = maxid + 1;
    pos = INH__ALLOC(int, t->V);
    t->off = INH__ALLOC(uint32_t, (size_t)t->V + 1);
    t->bytes = INH__ALLOC(unsigned char, all.n);
    if (!pos || !t->off || !t->bytes) goto done;
    for (int i = 0; i < t->V; i++) pos[i] = -1;
    for (size_t e = 0; e < n; e++) {
        int id = kid[e];
        if (pos[id] >= 0) {
            inh__fail("%s: duplicate id %d (tokens \"%.*s\" and \"%.*s\")", path, id,
                      (int)klen[pos[id]], all.p + koff[pos[id]], (int)klen[e], all.p + koff[e]);
            goto done;
        }
        pos[id] = (int)e;
    }
    {
        uint32_t o = 0;
        for (int id = 0; id < t->V; id++) {
            if (pos[id] < 0) { inh__fail("%s: no token has id %d (ids must be 0..%d)", path, id, t->V - 1); goto done; }
            t->off[id] = o;
            memcpy(t->bytes + o, all.p + koff[pos[id]], klen[pos[id]]);
            o += klen[pos[id]];
        }
        t->off[t->V] = o;
    }
    rc = 0;
done:
    INH_FREE(key.p); INH_FREE(all.p); INH_FREE(koff); INH_FREE(klen); INH_FREE(kid); INH_FREE(pos);
    return rc;
}

/* vocab.bpe / merges.txt: an optional "#version" line, then one "A B" pair per line by rank */
INH__FN int inh__load_merges(inh_tokenizer *t, const unsigned char *data, size_t len, const char *path, const int cp_byte[324], const inh__idmap *m) {
    int rc = -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    t->mbits = 10;
    while (((size_t)1 << t->mbits) < 2 * lines) t->mbits++;
    t->merges = INH__CALLOC(inh__merge, (size_t)1 << t->mbits);
    if (!t->merges) goto done;
    {
        size_t p = 0, lineno = 0, mask = ((size_t)1 << t->mbits) - 1;
        while (p < len) {
            size_t e = p;
            while (e < len && data[e] != '\n') e++;
            size_t le = e;
            if (le > p && data[le - 1] == '\r') le--;
            lineno++;
            const unsigned char *s = data + p;
            size_t n = le - p;
            p = e + 1;
            if (n == 0 || (lineno == 1 && n >= 8 && memcmp(s, "#version", 8) == 0)) continue;
            const unsigned char *sp = (const unsigned char *)memchr(s, ' ', n);
            if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1))) {
                inh__fail("%s:%zu: expected two symbols separated by one space", path, lineno);
                goto done;
            }
            const unsigned char *part[2] = {s, sp + 1};
            size_t plen[2] = {(size_t)(sp - s), (size_t)(s + n - sp - 1)};
            int id[2];
            unsigned char cat[512];
            long cn[2] = {0, 0};
            if (n > sizeof cat) { inh__fail("%s:%zu: line too long", path, lineno); goto done; }
            for (int k = 0; k < 2; k++) {
                cn[k] = inh__from_alphabet(cp_byte, part[k], plen[k], cat + (k ? cn[0] : 0));
                if (cn[k] < 0 || (id[k] = inh__idmap_get(m, cat + (k ? cn[0] : 0), (size_t)cn[k])) < 0) {
                    inh__fail("%s:%zu: unknown symbol \"%.*s\"", path, lineno, (int)plen[k], part[k]);
                    goto done;
                }
            }
            int mid = inh__idmap_get(m, cat, (size_t)(cn[0] + cn[1]));
            if (mid < 0) {
                inh__fail("%s:%zu: \"%.*s\" merges into a symbol that is not in the vocabulary", path, lineno, (int)n, s);
                goto done;
            }
            uint64_t key = ((uint64_t)(uint32_t)id[0] << 32 | (uint32_t)id[1]) + 1;
            size_t h = (size_t)(inh__mix64(key) >> (64 - t->mbits));
            while (t->merges[h].key && t->merges[h].key != key) h = (h + 1) & mask;
            if (t->merges[h].key) continue;               /* a repeated pair keeps its first rank */
            t->merges[h].key = key; t->merges[h].rank = t->nmerges++; t->merges[h].id = mid;
        }
    }
    rc = 0;
done:
    return rc;
}

INH__FN int inh__tok_bpe(inh_tokenizer **out, const unsigned char *vd, size_t vlen, const char *vocab_json, const unsigned char *md,
                         size_t mlen, const char *merges) {
    int cp_byte[324];
    inh__gpt2_alphabet(cp_byte);
    inh_tokenizer *t = INH__CALLOC(inh_tokenizer, 1);
    if (!t) return -1;
    t->kind = INH__TOK_BPE;
    inh__idmap m = {NULL, NULL, 0};
    if (inh__load_vocab(t, vd, vlen, vocab_json, cp_byte) || inh__idmap_build(&m, t)) goto fail;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        if ((t->byte_id[b] = inh__idmap_get(&m, &c, 1)) < 0) { inh__fail("%s: no token for byte 0x%02x", vocab_json, b); goto fail; }
    }
    t->eot = inh__idmap_get(&m, (const unsigned char *)inh__eot_text, sizeof inh__eot_text - 1);
    if (inh__load_merges(t, md, mlen, merges, cp_byte, &m)) goto fail;
    INH_FREE(m.slot);
    *out = t;
    return 0;
fail:
    INH_FREE(m.slot);
    inh_tokenizer_free(t);
    return -1;
}
INHDEF int inh_tokenizer_load_files(inh_tokenizer **out, const char *vocab_json, const char *merges) {
    unsigned char *vd = NULL, *md = NULL;
    size_t vlen = 0, mlen = 0;
    int rc = inh__read_file(vocab_json, &vd, &vlen, 0) || inh__read_file(merges, &md, &mlen, 0) ? -1
             : inh__tok_bpe(out, vd, vlen, vocab_json, md, mlen, merges);
    INH_FREE(vd); INH_FREE(md);
    return rc;
}
INHDEF int inh_tokenizer_load_memory(inh_tokenizer **out, const void *vocab_json, size_t vocab_len, const void *merges, size_t merges_len) {
    return inh__tok_bpe(out, (const unsigned char *)vocab_json, vocab_len, "vocabulary (memory)", (const unsigned char *)merges, merges_len,
                        "merges (memory)");
}

INH__FN int inh__is_file(const char *path, int want_dir) {
    return inh__os_kind(path) == (want_dir ? 2 : 1);
}

INHDEF int inh_tokenizer_load(inh_tokenizer **out, const char *name) {
    if (strcmp(name, "bytes") == 0) return inh__tok_bytes_new(out);
    if (inh__is_file(name, 0)) return inh_tokenizer_load_llmc(out, name);
    if (!inh__is_file(name, 1)) return inh__fail("%s: no such tokenizer (want \"bytes\", a directory or an llm.c tokenizer file)", name);
    static const char *const layouts[2][2] = {{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}};
    char v[4096], mg[4096];
    for (int k = 0; k < 2; k++) {
        if (snprintf(v, sizeof v, "%s/%s", name, layouts[k][0]) >= (int)sizeof v ||
            snprintf(mg, sizeof mg, "%s/%s", name, layouts[k][1]) >= (int)sizeof mg) return inh__fail("%s: path too long", name);
        if (!inh__is_file(v, 0)) continue;
        if (!inh__is_file(mg, 0)) return inh__fail("%s: missing (a vocabulary %s without its merges)", mg, layouts[k][0]);
        return inh_tokenizer_load_files(out, v, mg);
    }
    return inh__fail("%s: no encoder.json + vocab.bpe or vocab.json + merges.txt", name);
}

/* ---- llm.c's tokenizer file ----------------------------------------------------------------- */

INH__FN int inh__tok_llmc(inh_tokenizer **out, const unsigned char *d, size_t len, const char *path) {
    inh_tokenizer *t = NULL;
    if (len < 1024) { inh__fail("%s: truncated header (%zu of 1024 bytes)", path, len); goto fail; }
    if (inh__rd32(d) != 20240328) { inh__fail("%s: not an llm.c tokenizer file (magic %u, want 20240328)", path, (unsigned)inh__rd32(d)); goto fail; }
    {
        uint32_t version = inh__rd32(d + 4), V = inh__rd32(d + 8);
        if (version != 1 && version != 2) { inh__fail("%s: unsupported version %u", path, (unsigned)version); goto fail; }
        if (V == 0 || V > (1u << 24)) { inh__fail("%s: bad vocabulary size %u", path, (unsigned)V); goto fail; }
        if (V > len - 1024) { inh__fail("%s: truncated: %u tokens need at least %u bytes after the header, the file has %zu", path, (unsigned)V, (unsigned)V, len - 1024); goto fail; }
        uint32_t eot = version == 1 ? 50256 : inh__rd32(d + 12);
        t = INH__CALLOC(inh_tokenizer, 1);
        if (!t) goto fail;
        t->kind = INH__TOK_DECODE_ONLY; t->V = (int)V; t->eot = eot < V ? (int)eot : -1;
        t->off = INH__ALLOC(uint32_t, (size_t)V + 1);
        t->bytes = INH__ALLOC(unsigned char, len - 1024);
        if (!t->off || !t->bytes) goto fail;
        size_t p = 1024;
        uint32_t o = 0;
        for (uint32_t i = 0; i < V; i++) {
            if (p >= len || len - p - 1 < d[p]) { inh__fail("%s: truncated at token %u of %u (byte offset %zu)", path, (unsigned)i, (unsigned)V, p); goto fail; }
            t->off[i] = o;
            memcpy(t->bytes + o, d + p + 1, d[p]);
            o += d[p];
            p += 1 + (size_t)d[p];
        }
        t->off[V] = o;
        if (p != len) { inh__fail("%s: %zu unexpected bytes after the last token (byte offset %zu)", path, len - p, p); goto fail; }
        for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    }
    *out = t;
    return 0;
fail:
    inh_tokenizer_free(t);
    return -1;
}
INHDEF int inh_tokenizer_load_llmc(inh_tokenizer **out, const char *path) {
    unsigned char *d = NULL;
    size_t len = 0;
    if (inh__read_file(path, &d, &len, (size_t)1 << 30)) return -1;
    int rc = inh__tok_llmc(out, d, len, path);
    INH_FREE(d);
    return rc;
}
INHDEF int inh_tokenizer_load_llmc_memory(inh_tokenizer **out, const void *data, size_t len) {
    return inh__tok_llmc(out, (const unsigned char *)data, len, "llm.c tokenizer (memory)");
}

INHDEF int inh_tokenizer_save_llmc(const inh_tokenizer *t, const char *path) {
    if (t->eot < 0) return inh__fail("%s: the tokenizer has no end-of-text token, which the llm.c format needs", path);
    for (int i = 0; i < t->V; i++) {
        uint32_t n = t->off[i + 1] - t->off[i];
        if (n == 0 || n > 255) return inh__fail("%s: token %d has %u bytes; the llm.c format needs 1..255", path, i, (unsigned)n);
    }
    unsigned char h[1024];
    memset(h, 0, sizeof h);
    inh__wr32(h, 20240328); inh__wr32(h + 4, 2); inh__wr32(h + 8, (uint32_t)t->V); inh__wr32(h + 12, (uint32_t)t->eot);
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wwrite(&w, h, sizeof h);
    for (int i = 0; i < t->V; i++) {
        unsigned char n = (unsigned char)(t->off[i + 1] - t->off[i]);
        inh__wwrite(&w, &n, 1);
        inh__wwrite(&w, t->bytes + t->off[i], n);
    }
    return inh__wclose(&w);
}

/* ---- encoding ------------------------------------------------------------------------------

   Each pre-token of a few bytes goes through a cache (pre-token bytes -> ids). The BPE of a
   pre-token merges, again and again, the leftmost adjacent pair of lowest rank. Short pre-tokens
   keep the pair ranks in an array (quadratic but tiny); long ones (runs of one letter, digits,
   spaces) use a heap of candidate pairs over a linked list of symbols, O(m log m). For a merges
   list made by BPE training (a merged symbol only appears in later merges), merging the leftmost
   lowest pair first gives the same ids as GPT-2's "merge every occurrence of the lowest pair". */

enum { INH__BPE_SMALL = 64, INH__CACHE_KEY = 48, INH__CACHE_BITS_MAX = 17 };

typedef struct { uint32_t hash, koff, ioff; uint16_t klen, nids; } inh__centry;

typedef struct {
    const inh_tokenizer *t;
    int *out; size_t n, cap;                    /* the ids produced so far */
    inh__centry *ctab; int cbits; size_t ccount; /* cache: 1 << cbits slots, empty when klen == 0 */
    inh__buf ckeys;                             /* cached key bytes */
    int *cids; size_t cids_n, cids_cap;         /* cached ids */
    int *sym, *rank, *mid, *prv, *nxt;          /* BPE scratch, scap each */
    size_t scap;
    uint64_t *heap; size_t hcap;                /* candidate pairs: rank << 32 | left symbol */
} inh__enc;

INH__FN void inh__enc_init(inh__enc *e, const inh_tokenizer *t) { memset(e, 0, sizeof *e); e->t = t; }
INH__FN void inh__enc_free(inh__enc *e) {
    INH_FREE(e->out); INH_FREE(e->ctab); INH_FREE(e->ckeys.p); INH_FREE(e->cids);
    INH_FREE(e->sym); INH_FREE(e->rank); INH_FREE(e->mid); INH_FREE(e->prv); INH_FREE(e->nxt); INH_FREE(e->heap);
    memset(e, 0, sizeof *e);
}
INH__FN int inh__ints_reserve(int **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    int *np = INH__CAST(int *, INH_REALLOC(*p, c * sizeof **p));
    if (!np) return inh__fail("out of memory (%zu ids)", c);
    *p = np; *cap = c;
    return 0;
}
INH__FN int inh__enc_push(inh__enc *e, const int *ids, size_t n) {
    if (e->n + n > e->cap && inh__ints_reserve(&e->out, &e->cap, e->n + n)) return -1;
    memcpy(e->out + e->n, ids, n * sizeof *ids);
    e->n += n;
    return 0;
}
INH__FN int inh__enc_scratch(inh__enc *e, size_t m) {
    if (m <= e->scap) return 0;
    size_t c = e->scap ? e->scap : 256;
    while (c < m) c *= 2;
    int **arrs[5] = {&e->sym, &e->rank, &e->mid, &e->prv, &e->nxt};
    for (int k = 0; k < 5; k++) {
        int *np = INH__CAST(int *, INH_REALLOC(*arrs[k], c * sizeof(int)));
        if (!np) return inh__fail("out of memory (BPE of a %zu-byte word)", m);
        *arrs[k] = np;
    }
    e->scap = c;
    return 0;
}

/* binary min-heap of (rank, position) keys: lowest rank first, leftmost among equals */
INH__FN void inh__heap_push(uint64_t *h, size_t *n, uint64_t x) {
    size_t i = (*n)++;
    while (i > 0 && x < h[(i - 1) / 2]) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = x;
}
INH__FN uint64_t inh__heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], x = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c]; i = c;
    }
    if (m) h[i] = x;
    return top;
}

/* BPE of the m symbols in e->sym; the result replaces them, *m updated */
INH__FN int inh__bpe(inh__enc *e, size_t *mp) {
    const inh_tokenizer *t = e->t;
    size_t m = *mp;
    int *s = e->sym, *r = e->rank, *mid = e->mid;
    if (m < 2) return 0;
    if (m <= INH__BPE_SMALL) {
        for (size_t i = 0; i + 1 < m; i++) r[i] = inh__merge_find(t, s[i], s[i + 1], &mid[i]);
        for (;;) {
            size_t best = m;
            int br = INT_MAX;
            for (size_t i = 0; i + 1 < m; i++) if (r[i] >= 0 && r[i] < br) { br = r[i]; best = i; }
            if (best == m) break;
            s[best] = mid[best];
            m--;
            for (size_t i = best + 1; i < m; i++) s[i] = s[i + 1];
            for (size_t i = best + 1; i + 1 < m; i++) { r[i] = r[i + 1]; mid[i] = mid[i + 1]; }
            if (best + 1 < m) r[best] = inh__merge_find(t, s[best], s[best + 1], &mid[best]);
            if (best > 0) r[best - 1] = inh__merge_find(t, s[best - 1], s[best], &mid[best - 1]);
        }
        *mp = m;
        return 0;
    }
    /* Heap entries are (rank, left symbol). An entry is stale once the pair at its position
       changed; a pair's rank names the pair, so "the pair there still has this rank" checks it. */
    int *prv = e->prv, *nxt = e->nxt, mg = 0;
    if (3 * m > e->hcap) {
        uint64_t *nh = INH__CAST(uint64_t *, INH_REALLOC(e->heap, 3 * m * sizeof *nh));
        if (!nh) return inh__fail("out of memory (BPE of a %zu-byte word)", m);
        e->heap = nh; e->hcap = 3 * m;
    }
    uint64_t *h = e->heap;
    size_t hn = 0;
    for (size_t i = 0; i < m; i++) { prv[i] = (int)i - 1; nxt[i] = i + 1 < m ? (int)i + 1 : -1; }
    for (size_t i = 0; i + 1 < m; i++) {
        int rk = inh__merge_find(t, s[i], s[i + 1], &mg);
        if (rk >= 0) inh__heap_push(h, &hn, (uint64_t)rk << 32 | i);
    }
    while (hn) {
        uint64_t x = inh__heap_pop(h, &hn);
        int L = (int)(uint32_t)x, R = nxt[L];
        if (s[L] < 0 || R < 0 || inh__merge_find(t, s[L], s[R], &mg) != (int)(x >> 32)) continue;   /* stale */
        s[L] = mg; s[R] = -1;
        nxt[L] = nxt[R];
        if (nxt[R] >= 0) prv[nxt[R]] = L;
        int nb[2] = {prv[L], L};          /* the new pairs (prv[L], L) and (L, nxt[L]) */
        for (int k = 0; k < 2; k++) {
            int a = nb[k], b = a >= 0 ? nxt[a] : -1, rk;
            if (a >= 0 && b >= 0 && (rk = inh__merge_find(t, s[a], s[b], &mg)) >= 0)
                inh__heap_push(h, &hn, (uint64_t)rk << 32 | (uint32_t)a);   /* at most 2 per merge: fits in 3m */
        }
    }
    size_t o = 0;
    for (int i = 0; i >= 0; i = nxt[i]) s[o++] = s[i];
    *mp = o;
    return 0;
}

INH__FN void inh__cache_clear(inh__enc *e) {
    if (e->ctab) memset(e->ctab, 0, ((size_t)1 << e->cbits) * sizeof *e->ctab);
    e->ccount = 0; e->ckeys.n = 0; e->cids_n = 0;
}
INH__FN const inh__centry *inh__cache_get(const inh__enc *e, const unsigned char *p, size_t n, uint32_t hash) {
    if (!e->ctab) return NULL;
    size_t mask = ((size_t)1 << e->cbits) - 1;
    for (size_t h = hash & mask;; h = (h + 1) & mask) {
        const inh__centry *c = &e->ctab[h];
        if (!c->klen) return NULL;
        if (c->hash == hash && c->klen == n && memcmp(e->ckeys.p + c->koff, p, n) == 0) return c;
    }
}
/* best effort: a cache that cannot grow just stops caching */
INH__FN void inh__cache_put(inh__enc *e, const unsigned char *p, size_t n, uint32_t hash, const int *ids, size_t nids) {
    if (!e->ctab || 2 * (e->ccount + 1) > ((size_t)1 << e->cbits)) {
        int bits = e->ctab ? e->cbits + 1 : 12;
        if (bits > INH__CACHE_BITS_MAX) { inh__cache_clear(e); bits = e->cbits; }
        else {
            inh__centry *nt = INH__CALLOC(inh__centry, (size_t)1 << bits);
            if (!nt) return;
            size_t mask = ((size_t)1 << bits) - 1;
            for (size_t i = 0; e->ctab && i < ((size_t)1 << e->cbits); i++) {
                if (!e->ctab[i].klen) continue;
                size_t h = e->ctab[i].hash & mask;
                while (nt[h].klen) h = (h + 1) & mask;
                nt[h] = e->ctab[i];
            }
            INH_FREE(e->ctab);
            e->ctab = nt; e->cbits = bits;
        }
    }
    size_t need = e->cids_n + nids;
    if (need > e->cids_cap && inh__ints_reserve(&e->cids, &e->cids_cap, need)) return;
    if (e->ckeys.n + n > 0xFFFFFFFFu || need > 0xFFFFFFFFu || inh__buf_put(&e->ckeys, p, n)) return;
    size_t mask = ((size_t)1 << e->cbits) - 1, h = hash & mask;
    while (e->ctab[h].klen) h = (h + 1) & mask;
    inh__centry *c = &e->ctab[h];
    c->hash = hash; c->klen = (uint16_t)n; c->koff = (uint32_t)(e->ckeys.n - n);
    c->nids = (uint16_t)nids; c->ioff = (uint32_t)e->cids_n;
    memcpy(e->cids + e->cids_n, ids, nids * sizeof *ids);
    e->cids_n += nids;
    e->ccount++;
}

/* ids of one pre-token */
INH__FN int inh__enc_word(inh__enc *e, const unsigned char *p, size_t n) {
    const inh_tokenizer *t = e->t;
    if (n == 1) return inh__enc_push(e, &t->byte_id[p[0]], 1);
    uint32_t hash = 0;
    if (n <= INH__CACHE_KEY) {
        hash = inh__hash_bytes(p, n);
        const inh__centry *c = inh__cache_get(e, p, n, hash);
        if (c) return inh__enc_push(e, e->cids + c->ioff, c->nids);
    }
    if (inh__enc_scratch(e, n)) return -1;
    for (size_t i = 0; i < n; i++) e->sym[i] = t->byte_id[p[i]];
    size_t m = n;
    if (inh__bpe(e, &m)) return -1;
    if (n <= INH__CACHE_KEY) inh__cache_put(e, p, n, hash, e->sym, m);
    return inh__enc_push(e, e->sym, m);
}

/* ids of ordinary text (no special tokens), appended to e->out */
INH__FN int inh__enc_ordinary(inh__enc *e, const unsigned char *s, size_t n) {
    if (e->t->kind == INH__TOK_BYTES) {
        if (e->n + n > e->cap && inh__ints_reserve(&e->out, &e->cap, e->n + n)) return -1;
        for (size_t i = 0; i < n; i++) e->out[e->n + i] = s[i];
        e->n += n;
        return 0;
    }
    for (size_t i = 0; i < n;) {
        size_t j = inh__pretok_end(s, n, i);
        if (inh__enc_word(e, s + i, j - i)) return -1;
        i = j;
    }
    return 0;
}

/* ids of text, appended to e->out; "<|endoftext|>" is the end-of-text id when allow_special */
INH__FN int inh__enc_text(inh__enc *e, const unsigned char *s, size_t n, int allow_special) {
    const size_t L = sizeof inh__eot_text - 1;
    if (!allow_special || e->t->eot < 0) return inh__enc_ordinary(e, s, n);
    size_t i = 0, from = 0;
    while (i + L <= n) {
        const unsigned char *q = (const unsigned char *)memchr(s + i, '<', n - i - L + 1);
        if (!q) break;
        i = (size_t)(q - s);
        if (memcmp(q, inh__eot_text, L) != 0) { i++; continue; }
        if (inh__enc_ordinary(e, s + from, i - from) || inh__enc_push(e, &e->t->eot, 1)) return -1;
        i += L;
        from = i;
    }
    return inh__enc_ordinary(e, s + from, n - from);
}

INHDEF int inh_tokenizer_encode(const inh_tokenizer *t, const unsigned char *text, size_t len,
                                int allow_special, int **ids, size_t *n) {
    return inh_tokenizer_encode_mt(t, text, len, allow_special, 1, ids, n);
}

typedef struct {
    const unsigned char *s;
    const size_t *cut;          /* piece k is s[cut[k] .. cut[k+1]) */
    inh__enc *enc;
    int allow_special, *status;
} inh__encmt;
INH__FN void inh__encmt_run(void *ctx, int lo, int hi) {
    inh__encmt *c = (inh__encmt *)ctx;
    for (int k = lo; k < hi; k++)
        c->status[k] = inh__enc_text(&c->enc[k], c->s + c->cut[k], c->cut[k + 1] - c->cut[k], c->allow_special);
}

INHDEF int inh_tokenizer_encode_mt(const inh_tokenizer *t, const unsigned char *text, size_t len,
                                   int allow_special, int nthreads, int **ids, size_t *n) {
    *ids = NULL; *n = 0;
    if (t->kind == INH__TOK_DECODE_ONLY) return inh__fail("this tokenizer came from an llm.c tokenizer file, which has no merges: it can decode but not encode");
    if (nthreads < 1) nthreads = 1;
    if ((size_t)nthreads > len / 65536 + 1) nthreads = (int)(len / 65536 + 1);   /* >= 64 KB each */
    size_t *cut = INH__ALLOC(size_t, (size_t)nthreads + 1);
    inh__enc *enc = INH__ALLOC(inh__enc, nthreads);
    int *status = INH__ALLOC(int, nthreads), rc = -1;
    if (!cut || !enc || !status) goto done;
    cut[0] = 0;
    for (int k = 1; k < nthreads; k++) {
        size_t want = len / (size_t)nthreads * (size_t)k;
        cut[k] = inh__next_cut(text, len, want > cut[k - 1] ? want : cut[k - 1]);
    }
    cut[nthreads] = len;
    for (int k = 0; k < nthreads; k++) inh__enc_init(&enc[k], t);
    {
        inh__encmt c = {text, cut, enc, allow_special, status};
        inh__parallel(nthreads, nthreads, inh__encmt_run, &c);
    }
    {
        size_t total = 0;
        for (int k = 0; k < nthreads; k++) { if (status[k]) goto freeenc; total += enc[k].n; }
        int *out = INH__ALLOC(int, total);
        if (!out) goto freeenc;
        size_t o = 0;
        for (int k = 0; k < nthreads; k++) { if (enc[k].n) memcpy(out + o, enc[k].out, enc[k].n * sizeof *out); o += enc[k].n; }
        *ids = out; *n = total;
        rc = 0;
    }
freeenc:
    for (int k = 0; k < nthreads; k++) inh__enc_free(&enc[k]);
done:
    INH_FREE(cut); INH_FREE(enc); INH_FREE(status);
    return rc;
}

INHDEF int inh_tokenizer_decode(const inh_tokenizer *t, const int *ids, size_t n, unsigned char **out, size_t *len) {
    size_t total = 0;
    *out = NULL; *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->V) return inh__fail("decode: id %d at position %zu is out of range [0, %d)", ids[i], i, t->V);
        total += t->off[ids[i] + 1] - t->off[ids[i]];
    }
    unsigned char *b = INH__ALLOC(unsigned char, total);
    if (!b) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = t->off[ids[i] + 1] - t->off[ids[i]];
        memcpy(b + o, t->bytes + t->off[ids[i]], k);
        o += k;
    }
    *out = b; *len = total;
    return 0;
}

/* ---- llm.c token shards --------------------------------------------------------------------- */

typedef struct { size_t lo, hi; int eot; } inh__piece;   /* text [lo, hi), end-of-text before it */

typedef struct {
    const unsigned char *s;
    const inh__piece *pc;
    const size_t *first;        /* thread k encodes pieces first[k] .. first[k+1] */
    inh__enc *enc;
    int *status;
} inh__prepctx;
INH__FN void inh__prep_run(void *ctx, int lo, int hi) {
    inh__prepctx *c = (inh__prepctx *)ctx;
    for (int k = lo; k < hi; k++) {
        inh__enc *e = &c->enc[k];
        e->n = 0;
        c->status[k] = 0;
        for (size_t i = c->first[k]; i < c->first[k + 1] && !c->status[k]; i++) {
            const inh__piece *p = &c->pc[i];
            if (p->eot && inh__enc_push(e, &e->t->eot, 1)) c->status[k] = -1;
            else c->status[k] = inh__enc_ordinary(e, c->s + p->lo, p->hi - p->lo);
        }
    }
}

/* add the pieces of text [lo, hi) to the list, cut at safe points every ~max bytes */
INH__FN int inh__add_pieces(inh__piece **pc, size_t *n, size_t *cap, const unsigned char *s, size_t lo, size_t hi, int eot, size_t max) {
    do {
        size_t end = hi - lo > max ? inh__next_cut(s, hi, lo + max) : hi;
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 1024;
            inh__piece *np = INH__CAST(inh__piece *, INH_REALLOC(*pc, c * sizeof *np));
            if (!np) return inh__fail("out of memory");
            *pc = np; *cap = c;
        }
        (*pc)[*n].lo = lo; (*pc)[*n].hi = end; (*pc)[*n].eot = eot;
        ++*n;
        eot = 0;
        lo = end;
    } while (lo < hi);
    return 0;
}

/* prepare reads UTF-8 text: an empty file, or UTF-16/UTF-32 (a byte-order mark, or NUL bytes in
   more than a tenth of the first 8 KB: half an ASCII text's bytes in UTF-16) is refused, naming
   iconv. The first bytes, b[0..*len) (cap 8 KB: WASI's stack is 64 KB), are read here, not put
   back: the input may be a pipe. */
INH__FN int inh__text_check(FILE *in, const char *path, unsigned char *b, size_t cap, size_t *len) {
    size_t n = 0, nul = 0, odd = 0;
    const char *enc = NULL, *from = NULL;
    for (size_t got; n < cap && (got = fread(b + n, 1, cap - n, in)) > 0;) n += got;
    *len = n;
    if (ferror(in)) return inh__fail("%s: read error", path);
    if (n == 0) return inh__fail("%s: is empty: no text to prepare", path);
    if (n >= 4 && ((b[0] == 0xFF && b[1] == 0xFE && !b[2] && !b[3]) || (!b[0] && !b[1] && b[2] == 0xFE && b[3] == 0xFF))) enc = from = "UTF-32";
    else if (n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) enc = from = "UTF-16";
    else {
        for (size_t i = 0; i < n; i++) if (!b[i]) { nul++; odd += i & 1; }
        if (nul * 10 > n) {   /* without a mark: the NULs' places tell the width and the byte order */
            size_t q[4] = {0, 0, 0, 0};
            for (size_t i = 0; i < n; i++) q[i & 3] += !b[i];
            if (nul * 10 > n * 6) { enc = "UTF-32"; from = q[0] < q[3] ? "UTF-32LE" : "UTF-32BE"; }
            else { enc = "UTF-16"; from = odd * 2 > nul ? "UTF-16LE" : "UTF-16BE"; }
        }
    }
    if (enc) return inh__fail("%s: looks like %s text (or binary), not UTF-8; convert it with: iconv -f %s -t UTF-8 %s > %s.utf8.txt",
                              path, enc, from, path, path);
    return 0;
}

/* chunk: bytes read per batch (the tests make it tiny to exercise the streaming) */
INH__FN int inh__prepare(const inh_tokenizer *t, const char *input, const char *outdir, long long val_tokens,
                         int nthreads, int progress, size_t chunk, long long *nval, long long *ntrain) {
    if (t->kind == INH__TOK_DECODE_ONLY) return inh__fail("prepare: this tokenizer came from an llm.c tokenizer file and cannot encode");
    if (t->V > 65536) return inh__fail("prepare: vocabulary of %d tokens does not fit uint16 ids", t->V);
    if (t->eot < 0) return inh__fail("prepare: the tokenizer has no end-of-text token");
    if (val_tokens < 0) return inh__fail("prepare: negative number of validation tokens");
    if (nthreads < 1) nthreads = 1;
    char vpath[4096], tpath[4096];
    if (snprintf(vpath, sizeof vpath, "%s/val.bin", outdir) >= (int)sizeof vpath ||
        snprintf(tpath, sizeof tpath, "%s/train.bin", outdir) >= (int)sizeof tpath) return inh__fail("%s: path too long", outdir);
    /* the input is checked before outdir is made, and a failure removes the outdir it made */
    if (inh__os_kind(input) == 2) return inh__fail("%s: is a directory, not a text file", input);
    FILE *in = inh__os_fopen(input, "rb");
    if (!in) return inh__fail("%s: cannot open: %s", input, strerror(errno));
    unsigned char head[8192];
    size_t nhead = 0, hpos = 0;
    if (inh__text_check(in, input, head, sizeof head, &nhead)) { fclose(in); return -1; }
    int made_dir = inh__os_mkdir(outdir) == 0;
    if (!made_dir && errno != EEXIST) { fclose(in); return inh__fail("%s: cannot create directory: %s", outdir, strerror(errno)); }
    inh__shard sh[2];   /* val, train */
    memset(sh, 0, sizeof sh);
    unsigned char *buf = NULL;
    inh__piece *pc = NULL;
    size_t npc = 0, pccap = 0, *first = NULL;
    inh__enc *enc = INH__CALLOC(inh__enc, nthreads);
    int *status = INH__ALLOC(int, nthreads), rc = -1;
    size_t cap = chunk, have = 0, piece_max = chunk / (size_t)nthreads / 4 + 1;
    long long done_bytes = 0;
    double t0 = inh_now(), tlast = t0;
    int eot_next = 1, eof = 0;
    buf = INH__ALLOC(unsigned char, cap);
    first = INH__ALLOC(size_t, (size_t)nthreads + 1);
    if (!enc || !status || !buf || !first) goto done;
    for (int k = 0; k < nthreads; k++) inh__enc_init(&enc[k], t);
    for (int k = 0; k < 2; k++)
        if (inh__shard_open(&sh[k], k ? tpath : vpath)) goto done;
    while (!eof) {
        while (have < cap && !eof) {
            size_t got;
            if (hpos < nhead) {   /* the bytes the check read first */
                got = nhead - hpos < cap - have ? nhead - hpos : cap - have;
                memcpy(buf + have, head + hpos, got);
                hpos += got;
            } else got = fread(buf + have, 1, cap - have, in);
            have += got;
            if (got == 0) { if (ferror(in)) { inh__fail("%s: read error", input); goto done; } eof = 1; }
        }
        /* sections end after each "\n\n", found left to right as Python's str.split does */
        size_t p = 0;
        npc = 0;
        for (;;) {
            size_t q = p;
            int found = 0;
            while (q + 1 < have) {
                const unsigned char *nl = (const unsigned char *)memchr(buf + q, '\n', have - q - 1);
                if (!nl) break;
                q = (size_t)(nl - buf);
                if (buf[q + 1] == '\n') { found = 1; break; }
                q++;
            }
            if (found) {
                size_t end = q + 2;
                if (inh__add_pieces(&pc, &npc, &pccap, buf, p, end, eot_next, piece_max)) goto done;
                p = end; eot_next = 1;
                continue;
            }
            if (eof) {            /* the last section, without "\n\n" (maybe empty) */
                if (inh__add_pieces(&pc, &npc, &pccap, buf, p, have, eot_next, piece_max)) goto done;
                p = have;
            } else if (p == 0) {  /* one section fills the buffer: cut it where no pre-token spans */
                size_t c = have - 1;
                while (c > 0 && !inh__safe_cut(buf, c)) c--;
                if (c > 0) {
                    if (inh__add_pieces(&pc, &npc, &pccap, buf, 0, c, eot_next, piece_max)) goto done;
                    p = c; eot_next = 0;
                } else {          /* no cut at all: read more */
                    unsigned char *nb = INH__CAST(unsigned char *, INH_REALLOC(buf, cap * 2));
                    if (!nb) { inh__fail("%s: out of memory (a section with no line breaks is larger than %zu bytes)", input, cap); goto done; }
                    buf = nb; cap *= 2;
                }
            }
            break;
        }
        if (npc) {
            /* thread k takes the pieces that start in its share of the bytes */
            size_t i = 0, total = pc[npc - 1].hi;
            first[0] = 0;
            for (int k = 1; k < nthreads; k++) {
                size_t lim = total / (size_t)nthreads * (size_t)k;
                while (i < npc && pc[i].lo < lim) i++;
                first[k] = i;
            }
            first[nthreads] = npc;
            inh__prepctx c = {buf, pc, first, enc, status};
            inh__parallel(nthreads, nthreads, inh__prep_run, &c);
            for (int k = 0; k < nthreads; k++) {
                if (status[k]) goto done;
                size_t n = enc[k].n, nv = 0;
                if (sh[0].n < val_tokens) nv = (size_t)(val_tokens - sh[0].n) < n ? (size_t)(val_tokens - sh[0].n) : n;
                if (nv) inh__shard_put(&sh[0], enc[k].out, nv);   /* a thread with no text has out == NULL */
                if (n > nv) inh__shard_put(&sh[1], enc[k].out + nv, n - nv);
            }
        }
        done_bytes += (long long)p;
        memmove(buf, buf + p, have - p);
        have -= p;
        if (progress && !eof && inh_now() - tlast > 1.0) {   /* the last line once the shards are written */
            tlast = inh_now();
            fprintf(stderr, "\rprepare: %.1f MB read, %lld tokens (%.1f MB/s)", (double)done_bytes / 1e6,
                    sh[0].n + sh[1].n, (double)done_bytes / 1e6 / (tlast - t0 + 1e-9));
            progress = 2;
        }
    }
    if (sh[1].n == 0) {   /* nothing left for train.bin: refuse rather than write an empty shard */
        long long all = sh[0].n;
        if (all <= 1) inh__fail("%s: no text to prepare (the file is empty, or one section without text)", input);
        else inh__fail("%s: %lld tokens are too few for --val-tokens %lld: train.bin would be empty; "
                       "--val-tokens %lld would leave %lld for train.bin", input, all, val_tokens, all / 10 > 0 ? all / 10 : 1, all - (all / 10 > 0 ? all / 10 : 1));
        goto done;
    }
    if (inh__shard_close(&sh[0])) goto done;
    if (inh__shard_close(&sh[1])) goto done;
    if (nval) *nval = sh[0].n;
    if (ntrain) *ntrain = sh[1].n;
    if (progress)
        fprintf(stderr, "\rprepare: %.1f MB read, %lld tokens (%.1f MB/s)\n", (double)done_bytes / 1e6,
                sh[0].n + sh[1].n, (double)done_bytes / 1e6 / (inh_now() - t0 + 1e-9));
    rc = 0;
done:
    if (rc && progress == 2) fprintf(stderr, "\n");   /* the error goes on a line of its own */
    for (int k = 0; k < 2; k++) if (sh[k].open) inh__wabort(&sh[k].w);
    if (rc && made_dir) inh__os_rmdir(outdir);   /* (empty: the shards are written through temporaries) */
    fclose(in);
    for (int k = 0; enc && k < nthreads; k++) inh__enc_free(&enc[k]);
    INH_FREE(enc); INH_FREE(status); INH_FREE(buf); INH_FREE(pc); INH_FREE(first);
    return rc;
}

INHDEF int inh_prepare_shards(const inh_tokenizer *t, const char *input, const char *outdir, long long val_tokens,
                              int nthreads, int progress, long long *nval, long long *ntrain) {
    size_t chunk = (size_t)(nthreads > 0 ? nthreads : 1) << 20;
    if (chunk < ((size_t)4 << 20)) chunk = (size_t)4 << 20;
    return inh__prepare(t, input, outdir, val_tokens, nthreads, progress, chunk, nval, ntrain);
}

/* ---------------------------------------------------------------------------------------------
   Data */

INHDEF uint64_t inh_shard_hash(const uint16_t *ids, size_t n, uint64_t start, uint64_t sum) {
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (start + i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        sum += ((uint64_t)ids[i] + 1) * z;
    }
    return sum;
}

/* the hash and largest id of d's tokens (what a state file records of its data) */
INH__FN void inh__data_identity(inh_data *d) {
    uint64_t hs = 0xcbf29ce484222325ull;
    int mx = -1;
    for (size_t i = 0; i < d->n; i++) {
        hs = (hs ^ d->tokens[i]) * 0x100000001b3ull;
        if (d->tokens[i] > mx) mx = d->tokens[i];
    }
    d->hash = hs ^ (uint64_t)d->n;
    d->max_id = mx;
    d->rhash = inh_shard_hash(d->tokens, d->n, 0, 0) ^ (uint64_t)d->n;
}

/* --- many shards: a comma list of files and globs --------------------------------------------- */

/* `*` (any run) and `?` (one character) against a whole name */
INH__FN int inh__wild(const char *p, const char *s) {
    const char *star = NULL, *ss = s;
    while (*s) {
        if (*p == '?' || (*p != '*' && *p == *s)) { p++; s++; }
        else if (*p == '*') { star = p++; ss = s; }
        else if (star) { p = star + 1; s = ++ss; }
        else return 0;
    }
    while (*p == '*') p++;
    return !*p;
}
typedef struct { inh_shard *v; int n, cap; } inh__shards;
INH__FN int inh__shards_add(inh__shards *L, const char *path) {
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 16;
        inh_shard *nv = INH__CAST(inh_shard *, INH_REALLOC(L->v, sizeof(inh_shard) * (size_t)cap));
        if (!nv) return inh__fail("%s: out of memory listing shards", path);
        L->v = nv; L->cap = cap;
    }
    if (strlen(path) >= sizeof L->v[0].path) return inh__fail("%s: path too long", path);
    memset(&L->v[L->n], 0, sizeof L->v[0]);
    snprintf(L->v[L->n++].path, sizeof L->v[0].path, "%s", path);
    return 0;
}
typedef struct { inh__shards names; const char *pat; int rc; } inh__glob;
INH__FN int inh__glob_one(void *u, const char *name) {
    inh__glob *g = (inh__glob *)u;
    if (inh__wild(g->pat, name) && inh__shards_add(&g->names, name)) { g->rc = -1; return 1; }
    return 0;
}
INH__FN int inh__shard_cmp(const void *a, const void *b) { return strcmp(((const inh_shard *)a)->path, ((const inh_shard *)b)->path); }
/* the files of a comma list of paths and globs (a glob's matches sorted by name) */
INH__FN int inh__shards_expand(const char *spec, inh__shards *L) {
    char item[1024];
    const char *s = spec;
    memset(L, 0, sizeof *L);
    for (;;) {
        const char *e = strchr(s, ',');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        if (k == 0 || k >= sizeof item) { INH_FREE(L->v); return inh__fail("%s: %s item in the list of shards", spec, k ? "too long an" : "an empty"); }
        memcpy(item, s, k); item[k] = 0;
        const char *slash = strrchr(item, '/');
#if defined(_WIN32)
        const char *bs = strrchr(item, '\\');
        if (bs && (!slash || bs > slash)) slash = bs;
#endif
        const char *name = slash ? slash + 1 : item;
        if (strchr(item, '*') || strchr(item, '?')) {
            char dir[1024];
            size_t dk = slash ? (size_t)(slash - item) : 0;
            memcpy(dir, item, dk); dir[dk] = 0;
            if (strchr(dir, '*') || strchr(dir, '?')) { INH_FREE(L->v); return inh__fail("%s: a glob matches file names only, not directories", item); }
            inh__glob g;
            memset(&g, 0, sizeof g);
            g.pat = name;
            inh__os_dir_each(slash ? (dk ? dir : "/") : ".", inh__glob_one, &g);
            if (g.rc) { INH_FREE(g.names.v); INH_FREE(L->v); return -1; }
            if (g.names.n == 0) { INH_FREE(g.names.v); INH_FREE(L->v); return inh__fail("%s: no file matches", item); }
            qsort(g.names.v, (size_t)g.names.n, sizeof(inh_shard), inh__shard_cmp);
            for (int i = 0; i < g.names.n; i++) {
                char full[2100];
                snprintf(full, sizeof full, "%.*s%s", (int)(name - item), item, g.names.v[i].path);
                if (inh__shards_add(L, full)) { INH_FREE(g.names.v); INH_FREE(L->v); return -1; }
            }
            INH_FREE(g.names.v);
        } else if (inh__shards_add(L, item)) { INH_FREE(L->v); return -1; }
        if (!e) break;
        s = e + 1;
    }
    return 0;
}

/* one shard of many: its header checked, its ids read once in pieces (hashes, largest id) */
INH__FN int inh__shard_scan(inh_shard *sh) {
    const char *path = sh->path;
    if (inh__os_kind(path) == 2) return inh__fail("%s: is a directory, not a token shard", path);
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[1024];
    size_t len;
    if (inh__file_size(f, path, &len)) { fclose(f); return -1; }
    size_t got0 = fread(h, 1, sizeof h, f);
    if (got0 != sizeof h) { fclose(f); return inh__fail("%s: too short for a token shard header (1024 bytes)", path); }
    uint32_t magic = inh__rd32(h), version = inh__rd32(h + 4), ntok = inh__rd32(h + 8);
    if (magic != INH__SHARD_MAGIC) { fclose(f); return inh__fail("%s: not an llm.c token shard (magic %u, want %d)", path, (unsigned)magic, INH__SHARD_MAGIC); }
    if (version != 1) { fclose(f); return inh__fail("%s: token shard version %u is not supported (want 1)", path, (unsigned)version); }
    if (len != 1024 + (size_t)ntok * 2) {
        fclose(f);
        return inh__fail("%s: header says %u tokens (%zu bytes) but the file has %zu bytes", path, (unsigned)ntok, 1024 + (size_t)ntok * 2, len);
    }
    const size_t CHUNK = (size_t)1 << 16;
    uint16_t *buf = INH__ALLOC(uint16_t, CHUNK);
    if (!buf) { fclose(f); return -1; }
    uint64_t hs = 0xcbf29ce484222325ull, rs = 0;
    int mx = -1;
    size_t done = 0;
    while (done < ntok) {
        size_t want = ntok - done < CHUNK ? ntok - done : CHUNK, got = fread(buf, 2, want, f);
        if (got != want) { INH_FREE(buf); fclose(f); return inh__fail("%s: read error after %zu of %u tokens", path, done + got, (unsigned)ntok); }
        if (!inh__host_is_le())
            for (size_t i = 0; i < got; i++) buf[i] = (uint16_t)(buf[i] >> 8 | buf[i] << 8);
        for (size_t i = 0; i < got; i++) {
            hs = (hs ^ buf[i]) * 0x100000001b3ull;
            if (buf[i] > mx) mx = buf[i];
        }
        rs = inh_shard_hash(buf, got, done, rs);
        done += got;
    }
    INH_FREE(buf);
    fclose(f);
    sh->n = ntok; sh->hash = hs ^ (uint64_t)ntok; sh->rhash = rs ^ (uint64_t)ntok; sh->max_id = mx;
    return 0;
}

INH__FN int inh__data_open_many(inh_data *d, const char *spec, int V) {
    inh__shards L;
    if (strlen(spec) >= sizeof d->path) return inh__fail("%.200s...: the list of shards is longer than %zu characters", spec, sizeof d->path - 1);
    if (inh__shards_expand(spec, &L)) return -1;
    if (L.n == 1) {   /* one file: exactly the one-shard data */
        char one[1024];
        snprintf(one, sizeof one, "%s", L.v[0].path);
        INH_FREE(L.v);
        return inh_data_open(d, one, V);
    }
    d->shards = L.v; d->nshards = L.n; d->fh_shard = -1;
    snprintf(d->path, sizeof d->path, "%s", spec);
    uint64_t hs = 0xcbf29ce484222325ull;
    d->max_id = -1;
    for (int i = 0; i < L.n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(L.v[j].path, L.v[i].path)) {
                int rc = inh__fail("%s: %s is in the list twice", spec, L.v[i].path);
                inh_data_close(d);
                return rc;
            }
    for (int i = 0; i < L.n; i++) {
        if (inh__shard_scan(&L.v[i])) { inh_data_close(d); return -1; }
        d->n += L.v[i].n;
        hs = (hs ^ L.v[i].hash) * 0x100000001b3ull;
        if (L.v[i].max_id > d->max_id) d->max_id = L.v[i].max_id;
    }
    d->hash = hs ^ (uint64_t)d->n;
    if (V > 0 && inh_data_check(d, V)) { inh_data_close(d); return -1; }
    return 0;
}

/* count ids of shard k from token `off`, into buf (many shards: read from the file) */
INH__FN int inh__shard_read(inh_data *d, int k, size_t off, size_t count, uint16_t *buf) {
    const inh_shard *sh = &d->shards[k];
    if (d->fh_shard != k || !d->fh) {
        if (d->fh) fclose(d->fh);
        d->fh_shard = -1;
        d->fh = inh__os_fopen(sh->path, "rb");
        if (!d->fh) return inh__fail("%s: cannot open: %s", sh->path, strerror(errno));
        d->fh_shard = k;
    }
    if (inh__os_seek(d->fh, 1024 + 2 * (uint64_t)off) != 0 || fread(buf, 2, count, d->fh) != count)
        return inh__fail("%s: read error at token %zu (did the shard change?)", sh->path, off);
    if (!inh__host_is_le())
        for (size_t i = 0; i < count; i++) buf[i] = (uint16_t)(buf[i] >> 8 | buf[i] << 8);
    return 0;
}

INHDEF int inh_data_open(inh_data *d, const char *path, int V) {
    memset(d, 0, sizeof *d);
    if (inh__os_kind(path) == 0 && (strchr(path, ',') || strchr(path, '*') || strchr(path, '?'))) return inh__data_open_many(d, path, V);
    snprintf(d->path, sizeof d->path, "%s", path);
    if (inh__os_kind(path) == 2)
        return inh__fail("%s: is a directory, not a token shard (give a file in it, e.g. %s/train.bin)", path, path);
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[1024];
    size_t len, got0;
    if (inh__file_size(f, path, &len)) { fclose(f); return -1; }
    got0 = fread(h, 1, sizeof h, f);
    uint32_t magic = got0 >= 4 ? inh__rd32(h) : 0;
    if (magic != INH__SHARD_MAGIC && got0 > 0) {   /* text (no control bytes but tab and newlines) was meant to be prepared */
        size_t ctl = 0;
        for (size_t i = 0; i < got0; i++) ctl += h[i] < 32 && h[i] != '\n' && h[i] != '\r' && h[i] != '\t';
        if (ctl == 0) { fclose(f); return inh__fail("%s: is a text file, not a token shard: run `inheritune prepare --tokenizer DIR|bytes %s OUTDIR` first", path, path); }
    }
    if (len < sizeof h || got0 != sizeof h) { fclose(f); return inh__fail("%s: too short for a token shard header (1024 bytes)", path); }
    uint32_t version = inh__rd32(h + 4), ntok = inh__rd32(h + 8);
    if (magic != INH__SHARD_MAGIC) { fclose(f); return inh__fail("%s: not an llm.c token shard (magic %u, want %d)", path, (unsigned)magic, INH__SHARD_MAGIC); }
    if (version != 1) { fclose(f); return inh__fail("%s: token shard version %u is not supported (want 1)", path, (unsigned)version); }
    if (len != 1024 + (size_t)ntok * 2) {
        fclose(f);
        return inh__fail("%s: header says %u tokens (%zu bytes) but the file has %zu bytes", path, (unsigned)ntok, 1024 + (size_t)ntok * 2, len);
    }
    d->tokens = INH__ALLOC(uint16_t, ntok);
    if (!d->tokens) { fclose(f); return -1; }
    size_t got = fread(d->tokens, 2, ntok, f);
    fclose(f);
    if (got != ntok) { inh_data_close(d); return inh__fail("%s: read error after %zu of %u tokens", path, got, (unsigned)ntok); }
    if (!inh__host_is_le())
        for (size_t i = 0; i < got; i++) d->tokens[i] = (uint16_t)(d->tokens[i] >> 8 | d->tokens[i] << 8);
    d->n = ntok;
    inh__data_identity(d);
    if (V > 0 && inh_data_check(d, V)) { inh_data_close(d); return -1; }
    return 0;
}

INHDEF int inh_data_from_tokens(inh_data *d, const int *ids, size_t n, int V) {
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "tokens (memory)");
    if (n > 0xFFFFFFFFu) return inh__fail("%s: %zu tokens is more than a shard holds (2^32 - 1)", d->path, n);
    d->tokens = INH__ALLOC(uint16_t, n);
    if (!d->tokens) return -1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] > 65535) { inh_data_close(d); return inh__fail("%s: token %d at index %zu is not a uint16 id", d->path, ids[i], i); }
        d->tokens[i] = (uint16_t)ids[i];
    }
    d->n = n;
    inh__data_identity(d);
    if (V > 0 && inh_data_check(d, V)) { inh_data_close(d); return -1; }
    return 0;
}

INHDEF int inh_data_check(const inh_data *d, int V) {
    for (int k = 0; k < d->nshards; k++)
        if (d->shards[k].max_id >= V)
            return inh__fail("%s: token %d is outside the model's vocabulary (V=%d)", d->shards[k].path, d->shards[k].max_id, V);
    for (size_t i = 0; i < d->n && d->tokens; i++)
        if (d->tokens[i] >= V) return inh__fail("%s: token %d at index %zu is outside the model's vocabulary (V=%d)", d->path, d->tokens[i], i, V);
    return 0;
}

INHDEF void inh_data_close(inh_data *d) {
    INH_FREE(d->tokens); d->tokens = NULL; d->n = 0;
    if (d->fh) fclose(d->fh);
    d->fh = NULL; d->fh_shard = -1;
    INH_FREE(d->shards); d->shards = NULL; d->nshards = 0;
}
INHDEF void inh_data_reset(inh_data *d) { d->pos = 0; d->cur = 0; }

/* many shards: B windows of T (+1) tokens, sequential (shard by shard, as llm.c) or shuffled */
INH__FN int inh__data_next_many(inh_data *d, int B, int T, int *inputs, int *targets) {
    size_t need = (size_t)B * T + 1;
    uint16_t *buf = INH__ALLOC(uint16_t, d->shuffle ? (size_t)T + 1 : need);
    int rc = 0;
    if (!buf) return -1;
    if (d->shuffle) {   /* a start uniformly over every shard's starts [0, n_k - T - 1] */
        uint64_t range = 0;
        for (int k = 0; k < d->nshards; k++) range += d->shards[k].n > (size_t)T ? d->shards[k].n - (size_t)T : 0;
        if (range == 0) { INH_FREE(buf); return inh__fail("%s: no shard holds one window of T=%d (+1) tokens", d->path, T); }
        for (int b = 0; b < B && !rc; b++) {
            uint64_t s = inh_rng_u64(&d->rng) % range;
            int k = 0;
            for (;; k++) {
                uint64_t rk = d->shards[k].n > (size_t)T ? d->shards[k].n - (size_t)T : 0;
                if (s < rk) break;
                s -= rk;
            }
            rc = inh__shard_read(d, k, (size_t)s, (size_t)T + 1, buf);
            for (int t = 0; t < T && !rc; t++) { inputs[b * T + t] = buf[t]; targets[b * T + t] = buf[t + 1]; }
        }
        INH_FREE(buf);
        return rc;
    }
    if (d->cur < 0 || d->cur >= d->nshards) { d->cur = 0; d->pos = 0; }
    for (int tries = 0; d->pos + need > d->shards[d->cur].n; tries++) {   /* the rest of this shard is too short: the next one */
        if (tries > d->nshards) { INH_FREE(buf); return inh__fail("%s: no shard holds a batch of B=%d x T=%d (+1) tokens", d->path, B, T); }
        d->cur = (d->cur + 1) % d->nshards;
        d->pos = 0;
    }
    rc = inh__shard_read(d, d->cur, d->pos, need, buf);
    for (size_t i = 0; i + 1 < need && !rc; i++) { inputs[i] = buf[i]; targets[i] = buf[i + 1]; }
    if (!rc) d->pos += need - 1;
    INH_FREE(buf);
    return rc;
}

INHDEF int inh_data_next(inh_data *d, int B, int T, int *inputs, int *targets) {
    size_t need = (size_t)B * T + 1;
    if (B <= 0 || T <= 0) return inh__fail("%s: batch B=%d and sequence T=%d must be positive", d->path, B, T);
    if (d->nshards) return inh__data_next_many(d, B, T, inputs, targets);
    if (d->n < (d->shuffle ? (size_t)T + 1 : need))
        return inh__fail("%s: %zu tokens cannot fill a batch of B=%d x T=%d (+1) tokens", d->path, d->n, B, T);
    if (d->shuffle) {
        size_t range = d->n - (size_t)T;   /* window start in [0, n-T-1] */
        for (int b = 0; b < B; b++) {
            size_t s = (size_t)(inh_rng_u64(&d->rng) % range);
            for (int t = 0; t < T; t++) { inputs[b * T + t] = d->tokens[s + t]; targets[b * T + t] = d->tokens[s + t + 1]; }
        }
        return 0;
    }
    if (d->pos + need > d->n) d->pos = 0;
    const uint16_t *p = d->tokens + d->pos;
    for (size_t i = 0; i + 1 < need; i++) { inputs[i] = p[i]; targets[i] = p[i + 1]; }
    d->pos += need - 1;
    return 0;
}

INHDEF int inh_data_write(const char *path, const int *ids, size_t n) {
    inh__shard sh;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] > 65535) return inh__fail("%s: token %d at index %zu does not fit uint16", path, ids[i], i);
    if (inh__shard_open(&sh, path)) return -1;
    inh__shard_put(&sh, ids, n);
    return inh__shard_close(&sh);
}

INHDEF int inh_synth_corpus(int *ids, size_t n, int V, uint64_t seed) {
    if (V < 16 || V > 65536) return inh__fail("synthetic corpus: vocabulary %d must be in 16..65536", V);
    inh_rng r;
    int content = V - 2, eot = V - 1, sep = V - 2;
    int *next = INH__ALLOC(int, content);
    if (!next) return -1;
    inh_rng_seed(&r, seed);
    for (int i = 0; i < content; i++) next[i] = (int)(inh_rng_u64(&r) % (uint64_t)content);
    size_t i = 0;
    while (i < n) {
        ids[i++] = eot;
        for (int seg = 0; seg < 6 && i < n; seg++) {
            if (seg % 2 == 0) {          /* copy segment: k tokens, separator, the same k tokens */
                int k = 4 + (int)(inh_rng_u64(&r) % 9);
                size_t start = i;
                for (int j = 0; j < k && i < n; j++) ids[i++] = (int)(inh_rng_u64(&r) % (uint64_t)content);
                if (i < n) ids[i++] = sep;
                for (int j = 0; j < k && i < n; j++, i++) ids[i] = ids[start + j];
            } else {                     /* bigram segment */
                int len = 8 + (int)(inh_rng_u64(&r) % 17), t = (int)(inh_rng_u64(&r) % (uint64_t)content);
                for (int j = 0; j < len && i < n; j++) {
                    ids[i++] = t;
                    t = inh_rng_uniform(&r) < 0.9f ? next[t] : (int)(inh_rng_u64(&r) % (uint64_t)content);
                }
            }
        }
    }
    INH_FREE(next);
    return 0;
}

INHDEF int inh_eval_loss(inh_model *m, inh_data *d, int B, int T, int nbatches, float *loss) {
    size_t saved = d->pos;
    int shuffle = d->shuffle, rc = 0, cur = d->cur;
    int *x = INH__ALLOC(int, (size_t)B * T), *y = INH__ALLOC(int, (size_t)B * T);
    double sum = 0.0;
    if (!x || !y || nbatches <= 0) { rc = x && y ? inh__fail("%s: number of eval batches must be positive", d->path) : -1; goto done; }
    d->pos = 0; d->shuffle = 0; d->cur = 0;
    for (int i = 0; i < nbatches && !rc; i++) {
        rc = inh_data_next(d, B, T, x, y);
        if (!rc) rc = inh_model_forward(m, x, y, B, T);
        sum += m->mean_loss;
    }
    *loss = (float)(sum / nbatches);
done:
    d->pos = saved; d->shuffle = shuffle; d->cur = cur;
    INH_FREE(x); INH_FREE(y);
    return rc;
}

INHDEF size_t inh_data_windows(const inh_data *d, int T) {
    size_t w = 0;
    for (int k = 0; k < d->nshards && T > 0; k++) w += d->shards[k].n > 0 ? (d->shards[k].n - 1) / (size_t)T : 0;
    if (d->nshards) return w;
    return T > 0 && d->n > 0 ? (d->n - 1) / (size_t)T : 0;
}
/* many shards: window w of T (+1) tokens, counted shard after shard, into row b of x, y */
INH__FN int inh__data_window(inh_data *d, size_t w, int T, int b, int *x, int *y, uint16_t *buf) {
    int k = 0;
    for (; k < d->nshards; k++) {
        size_t wk = d->shards[k].n > 0 ? (d->shards[k].n - 1) / (size_t)T : 0;
        if (w < wk) break;
        w -= wk;
    }
    if (k == d->nshards) return inh__fail("%s: window past the end of the shards", d->path);
    if (inh__shard_read(d, k, w * (size_t)T, (size_t)T + 1, buf)) return -1;
    for (int t = 0; t < T; t++) { x[b * T + t] = buf[t]; y[b * T + t] = buf[t + 1]; }
    return 0;
}

INHDEF int inh_eval_windows(inh_model *m, inh_data *d, int B, int T, size_t windows, float *loss, size_t *ntokens) {
    size_t have = inh_data_windows(d, T), saved = d->pos;
    int shuffle = d->shuffle, rc = 0;
    if (B <= 0 || T <= 0) return inh__fail("%s: batch B=%d and sequence T=%d must be positive", d->path, B, T);
    if (have == 0) return inh__fail("%s: %zu tokens cannot fill one window of T=%d (+1) tokens", d->path, d->n, T);
    if (windows == 0) windows = have;
    if (windows > have)
        return inh__fail("%s: %zu windows of T=%d asked for, but its %zu tokens hold %zu (%zu batches of B=%d)", d->path, windows, T,
                         d->n, have, have / (size_t)B, B);
    int *x = INH__ALLOC(int, (size_t)B * T), *y = INH__ALLOC(int, (size_t)B * T);
    uint16_t *buf = d->nshards ? INH__ALLOC(uint16_t, (size_t)T + 1) : NULL;
    double sum = 0.0;
    if (!x || !y || (d->nshards && !buf)) { rc = -1; goto done; }
    d->pos = 0; d->shuffle = 0;
    for (size_t w = 0; w < windows && !rc; w += (size_t)B) {   /* the windows are consecutive: [w*T, w*T+b*T+1) */
        int b = windows - w < (size_t)B ? (int)(windows - w) : B;
        d->pos = w * (size_t)T;
        if (d->nshards)   /* many shards: window by window, shard after shard (never across two) */
            for (int i = 0; i < b && !rc; i++) rc = inh__data_window(d, w + (size_t)i, T, i, x, y, buf);
        else
            rc = inh_data_next(d, b, T, x, y);
        if (!rc) rc = inh_model_forward(m, x, y, b, T);
        sum += m->mean_loss * (double)b;
    }
    *loss = (float)(sum / (double)windows);
    if (ntokens) *ntokens = windows * (size_t)T;
done:
    d->pos = saved; d->shuffle = shuffle;
    INH_FREE(x); INH_FREE(y); INH_FREE(buf);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   Training */

INHDEF void inh_train_opts_default(inh_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->B = 4; o->T = 64; o->steps = 100; o->accum = 1;
    o->lr = 3e-4f; o->min_lr = 0.0f; o->warmup = 0; o->schedule = INH_SCHEDULE_COSINE;
    inh_adamw_default(&o->opt);
    o->seed = 1337; o->shuffle = 1;
}

INHDEF float inh_lr_at(const inh_train_opts *o, int step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    if (o->schedule == INH_SCHEDULE_CONSTANT) return o->lr;
    double span = (double)o->steps - (o->warmup > 0 ? o->warmup : 0);   /* double: no int overflow */
    if (span <= 1) return o->lr;
    double frac = ((double)step - (o->warmup > 0 ? o->warmup : 0)) / (span - 1);
    if (frac > 1.0) frac = 1.0;
    double coeff = 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
    return (float)(o->min_lr + coeff * (o->lr - o->min_lr));
}

INHDEF int inh_trainer_init(inh_trainer *t, inh_model *m, inh_data *train, const inh_train_opts *o) {
    memset(t, 0, sizeof *t);
    t->model = m; t->train = train; t->o = *o;
    m->bf16 = o->bf16 != 0;
    if (o->B <= 0 || o->T <= 0 || o->accum <= 0 || o->steps < 0 || o->warmup < 0)
        return inh__fail("batch %d, sequence %d, accumulation %d must be positive; steps %d and warm-up %d not negative", o->B, o->T, o->accum, o->steps, o->warmup);
    if (o->B > (1 << 24) / o->T || o->steps > (1 << 30) || o->accum > (1 << 20))   /* B*T is one batch in memory */
        return inh__fail("batch B=%d x T=%d (or steps %d, accumulation %d) is too large", o->B, o->T, o->steps, o->accum);
    if (o->T > m->cfg.maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", o->T, m->cfg.maxT);
    if (train->n < (size_t)o->T + 1 || (!o->shuffle && train->n < (size_t)o->B * o->T + 1))
        return inh__fail("%s: %zu tokens cannot fill a batch of B=%d x T=%d (+1) tokens", train->path, train->n, o->B, o->T);
    t->inputs = INH__ALLOC(int, (size_t)o->B * o->T);
    t->targets = INH__ALLOC(int, (size_t)o->B * o->T);
    if (!t->inputs || !t->targets) { inh_trainer_free(t); return -1; }
    train->shuffle = o->shuffle;
    inh_rng_seed(&train->rng, o->seed);
    train->pos = 0; train->cur = 0;
    return 0;
}

INHDEF void inh_trainer_free(inh_trainer *t) { INH_FREE(t->inputs); INH_FREE(t->targets); t->inputs = t->targets = NULL; }

/* One step, with one wait: the micro-batches' losses stay where the backend computed them (in
   m->dnorm, after the norm and the loss gate), the update is queued behind them and decides there
   whether to run (the norm and every loss finite), and the host reads the norm, the gate and all
   the losses in one download at the end. The loss is then summed as inh_model_forward sums it:
   per micro-batch in double, in order, rounded to float; their sum in double over accum. */
INHDEF int inh_trainer_step(inh_trainer *t, inh_step_info *info) {
    double t0 = inh_now(), loss = 0.0;
    inh_model *m = t->model;
    const inh_train_opts *o = &t->o;
    const inh_backend *be = inh__be(m);
    size_t N = (size_t)o->B * o->T, nl = (size_t)o->accum * N;
    if (inh__dnorm(m, nl)) return -1;
    inh_model_zero_grad(m);
    for (int k = 0; k < o->accum; k++) {
        if (inh_data_next(t->train, o->B, o->T, t->inputs, t->targets)) return -1;
        if (inh__forward(m, t->inputs, t->targets, o->B, o->T, m->dnorm + 2 + (size_t)k * N)) return -1;
        if (inh_model_backward(m, 1.0f / (float)o->accum)) return -1;
    }
    memset(info, 0, sizeof *info);
    info->step = t->step;
    info->lr = inh_lr_at(o, t->step);
    be->grad_norm(m, m->dgrads_mem, m->num_params, m->dnorm + 2, nl, m->dnorm);
    if (inh__update(m, &o->opt, info->lr, t->step + 1)) return -1;
    const float *h = m->dnorm;
    if (!be->host_memory) { be->download(m, m->host_step, m->dnorm, (2 + nl) * sizeof(float)); h = m->host_step; }
    if (inh__be_check(m)) return -1;   /* a failed device, not a NaN to skip */
    for (int k = 0; k < o->accum; k++) loss += inh__mean_loss(h + 2 + (size_t)k * N, N);
    info->loss = (float)(loss / o->accum);
    info->grad_norm = h[0];
    info->skipped = !isfinite(info->loss) || !isfinite(info->grad_norm);   /* never let a NaN or Inf reach the weights */
    t->step++;
    info->seconds = inh_now() - t0;
    return 0;
}

/* Training state: 256 int32 header, then params, AdamW m, v (fp32, little-endian).
   [0] magic 20241123, [1] version 1, [2..8] maxT V L NH C Vp flags (as the model header),
   [9] step, [10] B, [11] T, [12] steps, [13] accum, [14] warmup, [15] schedule, [16] shuffle,
   [17] decay_all, [18..24] lr min_lr beta1 beta2 eps weight_decay grad_clip (float bits), [25] flags
   (bit 0: bf16 matmuls),
   [26,27] seed, [28,29] data rng state, [30,31] data position (uint64 as lo, hi), [32] has moments,
   [33] shortcut variant and [40..71] the selected layers' bits (slots 9 and 16..47 of the model header),
   [34] training tokens (0: not recorded), [35,36] their hash, [37] validation tokens, [38,39] hash,
   [96..255] the training data path then the validation path, each NUL-terminated (640 bytes;
   a path that does not fit is left out). Older files have zeros there and still load.
   Version 2 adds [72] the length of a text record after the tensors, [73] the shard being read
   (sequential windows over many shards). The record: key=value lines, "out=", "log=", "data=",
   "val=" (the run's paths and specs), then per shard "train_shard=" or "val_shard=" N HASH PATH
   (tokens, inh_shard_hash in 16 hex digits, the file). Version 1 files still load. */
INH__FN uint32_t inh__fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
INH__FN float inh__bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* the text record of a state file (version 2): outputs, data specs, every shard; malloc'd */
INH__FN char *inh__state_record(const inh_trainer *t, size_t *len) {
    const inh_data *ds[2] = {t->train, t->val};
    size_t cap = 5000;
    for (int k = 0; k < 2; k++) if (ds[k]) cap += (size_t)(ds[k]->nshards ? ds[k]->nshards : 1) * 1100;
    char *r = INH__ALLOC(char, cap);
    if (!r) return NULL;
    size_t n = 0;
    n += (size_t)snprintf(r + n, cap - n, "out=%s\nlog=%s\ndata=%s\nval=%s\n", t->out_path ? t->out_path : "", t->log_path ? t->log_path : "",
                          t->train->path, t->val ? t->val->path : "");
    for (int k = 0; k < 2; k++) {
        const inh_data *d = ds[k];
        if (!d) continue;
        if (!d->nshards) n += (size_t)snprintf(r + n, cap - n, "%s_shard=%zu %016llx %s\n", k ? "val" : "train", d->n, (unsigned long long)d->rhash, d->path);
        for (int i = 0; i < d->nshards; i++)
            n += (size_t)snprintf(r + n, cap - n, "%s_shard=%zu %016llx %s\n", k ? "val" : "train", d->shards[i].n,
                                  (unsigned long long)d->shards[i].rhash, d->shards[i].path);
    }
    *len = n;
    return r;
}

INHDEF int inh_trainer_save_state(const inh_trainer *t, const char *path) {
    const inh_model *m = t->model;
    if (inh_model_sync_host((inh_model *)m)) return -1;   /* a model on another backend: its host copies, current */
    const inh_train_opts *o = &t->o;
    unsigned char h[1024];
    inh__model_header_write(&m->cfg, h);   /* slots 2..8 as in the model file */
    uint32_t v[33];
    v[0] = INH__STATE_MAGIC; v[1] = 2;
    for (int i = 2; i <= 8; i++) v[i] = inh__rd32(h + 4 * i);
    v[9] = (uint32_t)t->step; v[10] = (uint32_t)o->B; v[11] = (uint32_t)o->T; v[12] = (uint32_t)o->steps;
    v[13] = (uint32_t)o->accum; v[14] = (uint32_t)o->warmup; v[15] = (uint32_t)o->schedule; v[16] = (uint32_t)o->shuffle;
    v[17] = (uint32_t)o->opt.decay_all;
    v[18] = inh__fbits(o->lr); v[19] = inh__fbits(o->min_lr); v[20] = inh__fbits(o->opt.beta1); v[21] = inh__fbits(o->opt.beta2);
    v[22] = inh__fbits(o->opt.eps); v[23] = inh__fbits(o->opt.weight_decay); v[24] = inh__fbits(o->opt.grad_clip); v[25] = o->bf16 ? 1u : 0u;
    v[26] = (uint32_t)o->seed; v[27] = (uint32_t)(o->seed >> 32);
    v[28] = (uint32_t)t->train->rng.s; v[29] = (uint32_t)(t->train->rng.s >> 32);
    v[30] = (uint32_t)t->train->pos; v[31] = (uint32_t)((uint64_t)t->train->pos >> 32);
    v[32] = m->m_mem != NULL;
    size_t bad = inh__first_nonfinite(m->params_mem, m->num_params);
    if (bad < m->num_params) return inh__fail("%s: not saved: parameter %zu is not finite (the model has diverged)", path, bad);
    unsigned char sc[4 * 33];   /* the model header's slots 9 and 16..47 */
    memcpy(sc, h + 4 * 9, 4); memcpy(sc + 4, h + 4 * 16, 4 * 32);
    memset(h, 0, sizeof h);
    for (int i = 0; i < 33; i++) inh__wr32(h + 4 * i, v[i]);
    inh__wr32(h + 4 * 34, (uint32_t)t->train->n);
    inh__wr32(h + 4 * 35, (uint32_t)t->train->hash); inh__wr32(h + 4 * 36, (uint32_t)(t->train->hash >> 32));
    if (t->val) {
        inh__wr32(h + 4 * 37, (uint32_t)t->val->n);
        inh__wr32(h + 4 * 38, (uint32_t)t->val->hash); inh__wr32(h + 4 * 39, (uint32_t)(t->val->hash >> 32));
    }
    size_t lt = strlen(t->train->path), lv = t->val ? strlen(t->val->path) : 0;
    if (lt + 1 <= 640) memcpy(h + 4 * 96, t->train->path, lt + 1);
    if (lt + 1 <= 640 && lt + 1 + lv + 1 <= 640 && t->val) memcpy(h + 4 * 96 + lt + 1, t->val->path, lv + 1);
    memcpy(h + 4 * 33, sc, 4); memcpy(h + 4 * 40, sc + 4, 4 * 32);
    size_t rlen = 0;
    char *rec = inh__state_record(t, &rlen);
    if (!rec) return -1;
    inh__wr32(h + 4 * 72, (uint32_t)rlen); inh__wr32(h + 4 * 73, (uint32_t)t->train->cur);
    inh__wfile w;
    if (inh__wopen(&w, path)) { INH_FREE(rec); return -1; }
    inh__wwrite(&w, h, sizeof h);
    inh__wfloats(&w, m->params_mem, m->num_params);
    if (m->m_mem) { inh__wfloats(&w, m->m_mem, m->num_params); inh__wfloats(&w, m->v_mem, m->num_params); }
    inh__wwrite(&w, rec, rlen);
    INH_FREE(rec);
    return inh__wclose(&w);
}

/* a state file's header slots v[0..74) and its model (and AdamW moments when `moments`) */
INH__FN int inh__state_model(inh_model *m, const char *path, uint32_t *v, int moments) {
    unsigned char *buf = NULL, mh[1024];
    size_t len = 0, expect;
    inh_config c;
    if (inh__read_file(path, &buf, &len, 0)) return -1;
    if (len < 1024) { INH_FREE(buf); return inh__fail("%s: too short for a training-state header (truncated?)", path); }
    for (int i = 0; i < 74; i++) v[i] = inh__rd32(buf + 4 * i);
    if (v[0] != INH__STATE_MAGIC || (v[1] != 1 && v[1] != 2)) { INH_FREE(buf); return inh__fail("%s: not an inheritune training-state file (magic %u version %u)", path, (unsigned)v[0], (unsigned)v[1]); }
    if (v[1] == 2) {   /* the text record after the tensors */
        if (v[72] > len - 1024) { INH_FREE(buf); return inh__fail("%s: training-state record of %u bytes does not fit the file (truncated?)", path, (unsigned)v[72]); }
        len -= v[72];
    } else v[72] = v[73] = 0;
    memcpy(mh, buf, 1024);               /* reuse the model-header checks on slots 2..8 (and shortcuts) */
    inh__wr32(mh, INH__MODEL_MAGIC); inh__wr32(mh + 4, INH__MODEL_VERSION);
    memcpy(mh + 4 * 9, buf + 4 * 33, 4); memcpy(mh + 4 * 16, buf + 4 * 40, 4 * 32);
    size_t nmat = v[32] ? 3 : 1;
    if (inh__model_header(mh, 1024 + (len - 1024) / nmat, path, &c, &expect) || (len - 1024) % nmat) {
        INH_FREE(buf);
        return inh__fail("%s: training-state file size %zu does not match its header (truncated?)", path, len);
    }
    if (inh__model_alloc(m, &c, path)) { INH_FREE(buf); return -1; }
    size_t np = m->num_params;
    memcpy(m->params_mem, buf + 1024, np * sizeof(float));
    if (v[32] && moments) {
        m->m_mem = (float *)inh__alloc_lines(np * sizeof(float)); m->v_mem = (float *)inh__alloc_lines(np * sizeof(float));
        if (!m->m_mem || !m->v_mem) { INH_FREE(buf); inh_model_free(m); return -1; }
        memcpy(m->m_mem, buf + 1024 + np * 4, np * sizeof(float));
        memcpy(m->v_mem, buf + 1024 + 2 * np * 4, np * sizeof(float));
    }
    INH_FREE(buf);
    if (!inh__host_is_le()) {
        inh__swap32(m->params_mem, np);
        if (m->m_mem) { inh__swap32(m->m_mem, np); inh__swap32(m->v_mem, np); }
    }
    return 0;
}

INHDEF int inh_model_load_state(inh_model *m, const char *path) {
    uint32_t v[74];
    memset(m, 0, sizeof *m);
    return inh__state_model(m, path, v, 0);
}

INHDEF int inh_trainer_load_state(inh_trainer *t, inh_model *m, inh_data *train, const char *path) {
    uint32_t v[74] = {0};   /* (g++/gcc -O2 without stdio cannot see the reader fill it) */
    inh_train_opts o;
    if (inh__state_model(m, path, v, 1)) return -1;
    inh_train_opts_default(&o);
    o.B = (int)v[10]; o.T = (int)v[11]; o.steps = (int)v[12]; o.accum = (int)v[13]; o.warmup = (int)v[14];
    o.schedule = (int)v[15]; o.shuffle = (int)v[16]; o.opt.decay_all = (int)v[17];
    o.lr = inh__bitsf(v[18]); o.min_lr = inh__bitsf(v[19]); o.opt.beta1 = inh__bitsf(v[20]); o.opt.beta2 = inh__bitsf(v[21]);
    o.opt.eps = inh__bitsf(v[22]); o.opt.weight_decay = inh__bitsf(v[23]); o.opt.grad_clip = inh__bitsf(v[24]);
    o.seed = (uint64_t)v[26] | (uint64_t)v[27] << 32;
    o.bf16 = (int)(v[25] & 1u);
    if (inh_trainer_init(t, m, train, &o)) { inh_model_free(m); return -1; }
    if (v[9] > (1u << 30)) { inh_trainer_free(t); inh_model_free(m); return inh__fail("%s: step %u is out of range", path, (unsigned)v[9]); }
    t->step = (int)v[9];
    train->rng.s = (uint64_t)v[28] | (uint64_t)v[29] << 32;
    train->pos = (size_t)((uint64_t)v[30] | (uint64_t)v[31] << 32);
    train->cur = (int)v[73];
    if (train->cur < 0 || (train->nshards ? train->cur >= train->nshards : train->cur != 0)) train->cur = 0, train->pos = 0;
    if (train->pos > (train->nshards ? train->shards[train->cur].n : train->n)) train->pos = 0;
    return 0;
}

INHDEF int inh_trainer_state_info(const char *path, inh_state_info *info) {
    unsigned char h[1024];
    uint32_t v[74];
    uint64_t flen = 0;
    memset(info, 0, sizeof *info);
    if (inh__os_kind(path) == 2) return inh__fail("%s: is a directory, not a training-state file", path);
    FILE *f = inh__os_fopen(path, "rb");
    if (!f) return inh__fail("%s: cannot open: %s", path, strerror(errno));
    size_t got = inh__os_size(f, &flen) ? 0 : fread(h, 1, sizeof h, f);
    if (got != sizeof h) { fclose(f); return inh__fail("%s: too short for a training-state header (truncated?)", path); }
    for (int i = 0; i < 74; i++) v[i] = inh__rd32(h + 4 * i);
    if (v[0] != INH__STATE_MAGIC || (v[1] != 1 && v[1] != 2)) {
        fclose(f);
        return inh__fail("%s: not an inheritune training-state file (magic %u version %u)", path, (unsigned)v[0], (unsigned)v[1]);
    }
    info->version = (int)v[1];
    if (v[1] == 2) {   /* the text record at the end */
        if (v[72] >= sizeof info->record || v[72] > flen - 1024) {
            fclose(f);
            return inh__fail("%s: training-state record of %u bytes is too long or does not fit the file", path, (unsigned)v[72]);
        }
        if (inh__os_seek(f, flen - v[72]) != 0 || fread(info->record, 1, v[72], f) != v[72]) { fclose(f); return inh__fail("%s: read error in the training-state record", path); }
        info->record[v[72]] = 0;
    }
    fclose(f);
    inh_train_opts *o = &info->o;
    inh_train_opts_default(o);
    o->B = (int)v[10]; o->T = (int)v[11]; o->steps = (int)v[12]; o->accum = (int)v[13]; o->warmup = (int)v[14];
    o->schedule = (int)v[15]; o->shuffle = (int)v[16]; o->opt.decay_all = (int)v[17];
    o->lr = inh__bitsf(v[18]); o->min_lr = inh__bitsf(v[19]); o->opt.beta1 = inh__bitsf(v[20]); o->opt.beta2 = inh__bitsf(v[21]);
    o->opt.eps = inh__bitsf(v[22]); o->opt.weight_decay = inh__bitsf(v[23]); o->opt.grad_clip = inh__bitsf(v[24]);
    o->seed = (uint64_t)v[26] | (uint64_t)v[27] << 32;
    o->bf16 = (int)(v[25] & 1u);
    info->step = (int)v[9];
    info->train_n = v[34]; info->train_hash = (uint64_t)v[35] | (uint64_t)v[36] << 32;
    info->val_n = v[37]; info->val_hash = (uint64_t)v[38] | (uint64_t)v[39] << 32;
    const char *p = (const char *)h + 4 * 96;
    size_t lt = inh__strnlen(p, 640);
    if (lt < 640) {
        memcpy(info->train_path, p, lt + 1);
        size_t lv = inh__strnlen(p + lt + 1, 640 - lt - 1);
        if (lt + 1 < 640 && lv < 640 - lt - 1) memcpy(info->val_path, p + lt + 1, lv + 1);
    }
    for (const char *r = info->record; *r;) {   /* key=value lines */
        const char *e = strchr(r, '\n');
        size_t k = e ? (size_t)(e - r) : strlen(r);
        char *dst = NULL;
        size_t skip = 0;
        if (k >= 4 && !memcmp(r, "out=", 4)) dst = info->out_path, skip = 4;
        else if (k >= 4 && !memcmp(r, "log=", 4)) dst = info->log_path, skip = 4;
        else if (k >= 5 && !memcmp(r, "data=", 5)) dst = info->train_path, skip = 5;
        else if (k >= 4 && !memcmp(r, "val=", 4)) dst = info->val_path, skip = 4;
        if (dst && k - skip < 1024) { memcpy(dst, r + skip, k - skip); dst[k - skip] = 0; }
        r += k + (e != NULL);
    }
    return 0;
}

INHDEF int inh_state_check_data(const inh_state_info *info, const inh_data *d, int val) {
    const char *key = val ? "val_shard=" : "train_shard=", *r = info->record;
    size_t kl = strlen(key);
    int i = 0, have = d->nshards ? d->nshards : 1, recorded = 0;
    for (const char *q = r; (q = strstr(q, key)) != NULL; q += kl) recorded += q == r || q[-1] == '\n';
    if (recorded == 0) return 0;
    if (recorded != have)
        return inh__fail("%s: %d shard%s, but the state file's run read %d", d->path, have, have > 1 ? "s" : "", recorded);
    for (const char *q = r; *q;) {
        const char *e = strchr(q, '\n');
        size_t k = e ? (size_t)(e - q) : strlen(q);
        unsigned long long n = 0, hs = 0;
        int pos = 0;
        if (k <= kl || memcmp(q, key, kl) || sscanf(q + kl, "%llu %llx %n", &n, &hs, &pos) < 2 || i >= have) { q += k + (e != NULL); continue; }
        size_t dn = d->nshards ? d->shards[i].n : d->n;
        uint64_t dh = d->nshards ? d->shards[i].rhash : d->rhash;
        const char *dp = d->nshards ? d->shards[i].path : d->path;
        if (dn != n || dh != hs)
            return inh__fail("%s: has changed since the state file was written (%zu tokens now; the run read %.*s with %llu tokens%s)", dp, dn,
                             (int)(k - kl - (size_t)pos), q + kl + pos, n, dn == n ? ", other ids" : "");
        q += k + (e != NULL);
        i++;
    }
    return 0;
}


/* ---------------------------------------------------------------------------------------------
   Analysis (the metrics are defined with their declarations above) */

/* --- small dense linear algebra, in double ----------------------------------------------------- */

INH__FN int inh__an_cmp_desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* One-sided Jacobi on the n rows (length m) of w, in place: rotate pairs of rows until every pair
   is orthogonal to m*eps relative to their norms; the row norms are then the singular values.
   d (n) receives them, descending. */
INH__FN int inh__jacobi_rows(double *w, int n, int m, double *d) {
    const double tol = 2.2e-16 * (m > 1 ? m : 1);
    int sweep;
    for (sweep = 0; sweep < 80; sweep++) {
        int rotated = 0;
        double dmax = 0.0;
        for (int i = 0; i < n; i++) {
            const double *x = w + (size_t)i * m;
            double s = 0.0;
            for (int k = 0; k < m; k++) s += x[k] * x[k];
            d[i] = s;
            if (s > dmax) dmax = s;
        }
        /* a vector shorter than 1e-17 of the longest is rounding noise (say, what is left of two
           equal rows): rotating it against others never converges, and it is a zero singular value */
        const double negligible = 1e-34 * dmax;
        for (int i = 0; i + 1 < n; i++)
            for (int j = i + 1; j < n; j++) {
                double a = d[i], b = d[j], c = 0.0;
                if (a <= negligible || b <= negligible) continue;
                double *x = w + (size_t)i * m, *y = w + (size_t)j * m;
                for (int k = 0; k < m; k++) c += x[k] * y[k];
                if (fabs(c) <= tol * sqrt(a * b)) continue;
                rotated = 1;
                /* the rotation that zeroes the (i,j) entry of the 2x2 Gram matrix [a c; c b] */
                double zeta = (b - a) / (2.0 * c);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                double cs = 1.0 / sqrt(1.0 + t * t), sn = cs * t;
                double na = 0.0, nb = 0.0;   /* exact new norms, not a - t c: no drift below zero */
                for (int k = 0; k < m; k++) {
                    double u = x[k], v = y[k];
                    x[k] = cs * u - sn * v; y[k] = sn * u + cs * v;
                    na += x[k] * x[k]; nb += y[k] * y[k];
                }
                d[i] = na; d[j] = nb;
            }
        if (!rotated) break;
    }
    if (sweep == 80) return inh__fail("singular values: one-sided Jacobi did not converge in 80 sweeps");
    for (int i = 0; i < n; i++) {
        const double *x = w + (size_t)i * m;
        double s = 0.0;
        for (int k = 0; k < m; k++) s += x[k] * x[k];
        d[i] = sqrt(s);
    }
    qsort(d, (size_t)n, sizeof(double), inh__an_cmp_desc);
    return 0;
}

INHDEF int inh_svd_values(const double *a, int M, int N, double *s) {
    if (M <= 0 || N <= 0) return inh__fail("singular values: bad shape (%d, %d)", M, N);
    int n = M <= N ? M : N, len = M <= N ? N : M;   /* orthogonalise the shorter side's vectors */
    double *w = INH__ALLOC(double, (size_t)M * N), *d = INH__ALLOC(double, len);
    if (!w || !d) { INH_FREE(w); INH_FREE(d); return -1; }
    if (M <= N) memcpy(w, a, (size_t)M * N * sizeof(double));
    else for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) w[(size_t)j * M + i] = a[(size_t)i * N + j];
    int rc = inh__jacobi_rows(w, n, len, d);
    if (!rc) memcpy(s, d, (size_t)n * sizeof(double));
    INH_FREE(w); INH_FREE(d);
    return rc;
}

/* Eigenvalues of the symmetric (n,n) matrix whose lower triangle is in g (destroyed) into d
   (unsorted); e (n) is scratch. Householder reduction to tridiagonal form, then QL with implicit
   Wilkinson shifts (Golub & Van Loan 8.3; the eigenvalue-only form of EISPACK's tred2/tql2). */
INH__FN int inh__symeig_lower(double *g, int n, double *d, double *e) {
    for (int i = n - 1; i > 0; i--) {
        double *gi = g + (size_t)i * n, h = 0.0, scale = 0.0;
        int l = i - 1;
        for (int k = 0; k <= l; k++) scale += fabs(gi[k]);
        if (l == 0 || scale == 0.0) { e[i] = gi[l]; continue; }
        for (int k = 0; k <= l; k++) { gi[k] /= scale; h += gi[k] * gi[k]; }
        double f = gi[l], gg = f >= 0 ? -sqrt(h) : sqrt(h);
        e[i] = scale * gg; h -= f * gg; gi[l] = f - gg;      /* u = row i, H = I - u u^T / h */
        f = 0.0;
        for (int j = 0; j <= l; j++) {                        /* p = G u / h, using the lower triangle */
            const double *gj = g + (size_t)j * n;
            double s = 0.0;
            for (int k = 0; k <= j; k++) s += gj[k] * gi[k];
            for (int k = j + 1; k <= l; k++) s += g[(size_t)k * n + j] * gi[k];
            e[j] = s / h; f += e[j] * gi[j];
        }
        double hh = f / (h + h);
        for (int j = 0; j <= l; j++) {                        /* G -= u q^T + q u^T, q = p - hh u */
            double fj = gi[j], qj = e[j] - hh * fj;
            double *gj = g + (size_t)j * n;
            e[j] = qj;
            for (int k = 0; k <= j; k++) gj[k] -= fj * e[k] + qj * gi[k];
        }
    }
    for (int i = 0; i < n; i++) d[i] = g[(size_t)i * n + i];
    for (int i = 1; i < n; i++) e[i - 1] = e[i];
    if (n > 0) e[n - 1] = 0.0;
    double anorm = 0.0;   /* off-diagonals below eps^2 of the matrix scale are zero (exact zero eigenvalues) */
    for (int i = 0; i < n; i++) { double t = fabs(d[i]) + fabs(e[i]); if (t > anorm) anorm = t; }
    for (int l = 0; l < n; l++) {
        int iter = 0, m;
        for (;;) {
            for (m = l; m < n - 1; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= 2.2e-16 * dd || fabs(e[m]) <= 1e-30 * anorm) break;
            }
            if (m == l) break;
            if (iter++ == 60) return inh__fail("eigenvalues: QL iteration did not converge");
            double gg = (d[l + 1] - d[l]) / (2.0 * e[l]), r = hypot(gg, 1.0);
            gg = d[m] - d[l] + e[l] / (gg + (gg >= 0 ? r : -r));
            double s = 1.0, c = 1.0, p = 0.0;
            int i;
            for (i = m - 1; i >= l; i--) {
                double f = s * e[i], b = c * e[i];
                e[i + 1] = r = hypot(f, gg);
                if (r == 0.0) { d[i + 1] -= p; e[m] = 0.0; break; }
                s = f / r; c = gg / r; gg = d[i + 1] - p;
                r = (d[i] - gg) * s + 2.0 * c * b;
                p = s * r; d[i + 1] = gg + p; gg = c * r - b;
            }
            if (r == 0.0 && i >= l) continue;
            d[l] -= p; e[l] = gg; e[m] = 0.0;
        }
    }
    return 0;
}

INHDEF int inh_sym_eigenvalues(const double *g, int n, double *w) {
    if (n <= 0) return inh__fail("eigenvalues: bad size %d", n);
    double *a = INH__ALLOC(double, (size_t)n * n), *e = INH__ALLOC(double, n);
    if (!a || !e) { INH_FREE(a); INH_FREE(e); return -1; }
    memcpy(a, g, (size_t)n * n * sizeof(double));
    int rc = inh__symeig_lower(a, n, w, e);
    if (!rc) qsort(w, (size_t)n, sizeof(double), inh__an_cmp_desc);
    INH_FREE(a); INH_FREE(e);
    return rc;
}

INHDEF int inh_energy_rank(const double *s2, int n, double tau) {
    double total = 0.0, cum = 0.0;
    for (int i = 0; i < n; i++) total += s2[i] > 0 ? s2[i] : 0.0;
    if (total <= 0.0) return 0;
    double need = tau * total - 1e-12 * total;   /* exact ties (k/T) survive rounding */
    for (int k = 0; k < n; k++) {
        cum += s2[k] > 0 ? s2[k] : 0.0;
        if (cum >= need) return k + 1;
    }
    return n;
}

/* --- one attention matrix ---------------------------------------------------------------------- */

/* k*(tau) of a (T,T) attention matrix from the eigenvalues of A A^T, and m*(eta), sink score and
   row entropy. A is lower triangular (causal), so (A A^T)[i][j] = sum_{k <= min(i,j)} A[i][k] A[j][k].
   work: T*T + 3T doubles. rank < 0 on failure. */
typedef struct { int rank, mass; double sink, entropy; } inh__attn_stats;
INH__FN inh__attn_stats inh__attn_matrix(const float *A, int T, double tau, double eta, double *work, int want_rank) {
    inh__attn_stats r = {0, 0, 0.0, 0.0};
    double *g = work, *d = g + (size_t)T * T, *e = d + T, *col = e + T;
    for (int j = 0; j < T; j++) col[j] = 0.0;
    for (int t = 0; t < T; t++) {
        const float *row = A + (size_t)t * T;
        double h = 0.0;
        for (int j = 0; j <= t; j++) {
            double p = row[j];
            col[j] += p * p;
            if (p > 0.0) h -= p * log(p);
        }
        r.entropy += h;
        r.sink += row[0];
    }
    r.entropy /= T; r.sink /= T;
    qsort(col, (size_t)T, sizeof(double), inh__an_cmp_desc);
    r.mass = inh_energy_rank(col, T, eta);
    if (!want_rank) return r;
    for (int i = 0; i < T; i++) {
        const float *ai = A + (size_t)i * T;
        for (int j = 0; j <= i; j++) {
            const float *aj = A + (size_t)j * T;
            double s = 0.0;
            for (int k = 0; k <= j; k++) s += (double)ai[k] * aj[k];
            g[(size_t)i * T + j] = s;
        }
    }
    if (inh__symeig_lower(g, T, d, e)) {
        /* QL did not converge (not seen in practice): the slow, sure way, Jacobi on A itself */
        for (size_t i = 0; i < (size_t)T * T; i++) g[i] = A[i];
        if (inh__jacobi_rows(g, T, T, d)) { r.rank = -1; return r; }
        for (int i = 0; i < T; i++) d[i] *= d[i];
    }
    qsort(d, (size_t)T, sizeof(double), inh__an_cmp_desc);
    r.rank = inh_energy_rank(d, T, tau);
    return r;
}

INHDEF int inh_attention_rank(const float *A, int T, double tau) {
    if (T <= 0) return inh__fail("attention rank: bad size %d", T);
    double *w = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!w) return -1;
    inh__attn_stats s = inh__attn_matrix(A, T, tau, 0.9, w, 1);
    INH_FREE(w);
    return s.rank;
}

INHDEF int inh_attention_mass(const float *A, int T, double eta) {
    if (T <= 0) return inh__fail("column mass: bad size %d", T);
    double *w = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!w) return -1;
    inh__attn_stats s = inh__attn_matrix(A, T, 0.9, eta, w, 0);
    INH_FREE(w);
    return s.mass;
}

/* --- the streaming analysis -------------------------------------------------------------------- */

INHDEF void inh_analysis_opts_default(inh_analysis_opts *o) {
    memset(o, 0, sizeof *o);
    o->seqs = 100; o->T = 100; o->batch = 8; o->shuffle = 1; o->seed = 1337;
    o->tau = 0.9; o->eta = 0.9; o->span = 1; o->keep_attention = 0;
}

/* running sums in a->sum_: per (l,h) rank, mass, sink, entropy; per l: sum of cos for block
   influence, for attention importance, sum of angular distances */
#define INH__AS_HEAD 4
#define INH__AS_LAYER 3

INHDEF void inh_analysis_free(inh_analysis *a) {
    INH_FREE(a->rank); INH_FREE(a->rank_max); INH_FREE(a->lazy);   /* other arrays point into these */
    INH_FREE(a->groups); INH_FREE(a->attention); INH_FREE(a->sum_);
    INH_FREE(a->sc_layer); INH_FREE(a->sc_share); INH_FREE(a->sc_sum_);   /* sc_entropy, sc_tokens: in sc_share */
    INH_FREE(a->baseline_max_rank);   /* baseline_avg_mass: in that block */
    memset(a, 0, sizeof *a);
}

INHDEF int inh_analysis_init(inh_analysis *a, const inh_model *m, const inh_analysis_opts *o) {
    const inh_config *c = &m->cfg;
    int L = c->L, NH = c->NH;
    size_t LH = (size_t)L * NH;
    memset(a, 0, sizeof *a);
    if (!(o->tau > 0.0 && o->tau <= 1.0)) return inh__fail("tau must be in (0, 1], got %g", o->tau);
    if (!(o->eta > 0.0 && o->eta <= 1.0)) return inh__fail("eta must be in (0, 1], got %g", o->eta);
    if (o->T <= 0 || o->seqs <= 0 || o->batch <= 0) return inh__fail("sequences %d, length %d and batch %d must be positive", o->seqs, o->T, o->batch);
    if (o->T > c->maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", o->T, c->maxT);
    if (o->span < 1 || o->span > L) return inh__fail("angular-distance span %d must be in 1..%d (layers)", o->span, L);
    a->L = L; a->NH = NH; a->T = o->T; a->tau = o->tau; a->eta = o->eta; a->span = o->span;
    /* float blocks: (L,NH) x4, (L) x7; int blocks: rank_max (L,NH), groups 2L; bytes: lazy, dropped */
    a->rank = INH__CALLOC(float, 4 * LH + 7 * (size_t)L);
    a->rank_max = INH__CALLOC(int, LH);
    a->max_rank = NULL;
    a->lazy = INH__CALLOC(unsigned char, 2 * (size_t)L);
    a->groups = INH__CALLOC(int, 2 * (size_t)L);
    a->sum_ = INH__CALLOC(double, INH__AS_HEAD * LH + INH__AS_LAYER * (size_t)L);
    if (o->keep_attention) a->attention = INH__CALLOC(float, LH * o->T * o->T);
    if (!a->rank || !a->rank_max || !a->lazy || !a->groups || !a->sum_ || (o->keep_attention && !a->attention)) {
        inh_analysis_free(a);
        return -1;
    }
    a->mass = a->rank + LH; a->sink = a->mass + LH; a->entropy = a->sink + LH;
    float *p = a->entropy + LH;
    a->max_rank = p; a->avg_mass = p + L; a->sink_layer = p + 2 * L; a->entropy_layer = p + 3 * L;
    a->block_influence = p + 4 * L; a->angular_distance = p + 5 * L; a->attn_importance = p + 6 * L;
    a->dropped = a->lazy + L;
    for (int l = 0; l < L; l++) a->dropped[l] = m->drop_attn[l] ? 1 : 0;
    a->lazy_from = L;
    a->loss = NAN;
    if (m->cfg.shortcuts && !m->drop_shortcut) {
        int n = inh_sc_layers(c, NULL);
        a->sc_layer = INH__ALLOC(int, n);
        a->sc_share = INH__CALLOC(float, (size_t)NH * n + NH + (size_t)o->T * n);
        a->sc_sum_ = INH__CALLOC(double, (size_t)NH * n);
        if (!a->sc_layer || !a->sc_share || !a->sc_sum_) { inh_analysis_free(a); return -1; }
        a->sc_n = inh_sc_layers(c, a->sc_layer); a->sc_variant = c->shortcuts;
        a->sc_entropy = a->sc_share + (size_t)NH * n; a->sc_tokens = a->sc_entropy + NH;
    }
    return 0;
}

typedef struct {
    const inh_model *m;
    const inh_analysis *a;
    int B, T, failed;
    double *head_out;    /* (L, B, NH, 4) */
    double *layer_out;   /* (L, 3) */
} inh__an_args;

static void inh__an_heads(void *p, int lo, int hi) {
    inh__an_args *g = (inh__an_args *)p;
    int T = g->T, NH = g->a->NH, BNH = g->B * NH;
    size_t att_n = (size_t)BNH * T * T;
    double *work = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!work) { g->failed = 1; return; }
    for (int it = lo; it < hi; it++) {
        int l = it / BNH, bh = it % BNH;
        if (g->a->dropped[l]) continue;
        const float *A = g->m->acts.att + (size_t)l * att_n + (size_t)bh * T * T;
        inh__attn_stats s = inh__attn_matrix(A, T, g->a->tau, g->a->eta, work, 1);
        if (s.rank < 0) { g->failed = 1; break; }
        double *o = g->head_out + (size_t)it * 4;
        o[0] = s.rank; o[1] = s.mass; o[2] = s.sink; o[3] = s.entropy;
    }
    INH_FREE(work);
}

INH__FN double inh__an_cosine(const float *x, const float *y, int C) {
    double xy = 0.0, xx = 0.0, yy = 0.0;
    for (int i = 0; i < C; i++) { xy += (double)x[i] * y[i]; xx += (double)x[i] * x[i]; yy += (double)y[i] * y[i]; }
    if (xx == 0.0 || yy == 0.0) return xx == yy ? 1.0 : 0.0;
    double c = xy / sqrt(xx * yy);
    return c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
}

/* the residual stream entering block l (l = L: leaving the last block), (B,T,C) */
INH__FN const float *inh__resid_in(const inh_model *m, int l) {
    size_t NC = (size_t)m->B * m->T * m->cfg.C;
    return l == 0 ? m->acts.encoded : m->acts.res3 + (size_t)(l - 1) * NC;
}

static void inh__an_layers(void *p, int lo, int hi) {
    inh__an_args *g = (inh__an_args *)p;
    const inh_model *m = g->m;
    int C = m->cfg.C, L = m->cfg.L, N = g->B * g->T, span = g->a->span;
    size_t NC = (size_t)N * C;
    for (int l = lo; l < hi; l++) {
        const float *x = inh__resid_in(m, l), *mid = m->acts.res2 + (size_t)l * NC, *out = inh__resid_in(m, l + 1);
        double bi = 0.0, ai = 0.0, ang = 0.0;
        for (int n = 0; n < N; n++) {
            bi += inh__an_cosine(x + (size_t)n * C, out + (size_t)n * C, C);
            ai += inh__an_cosine(x + (size_t)n * C, mid + (size_t)n * C, C);
        }
        if (l + span <= L) {
            const float *farr = inh__resid_in(m, l + span);
            for (int b = 0; b < g->B; b++) {
                size_t last = ((size_t)b * g->T + g->T - 1) * C;
                ang += acos(inh__an_cosine(x + last, farr + last, C)) / 3.14159265358979323846;
            }
        }
        double *o = g->layer_out + (size_t)l * 3;
        o[0] = bi; o[1] = ai; o[2] = ang;
    }
}

INHDEF int inh_analysis_add(inh_analysis *a, const inh_model *m) {
    int B = m->B, T = m->T, L = a->L, NH = a->NH;
    if (!inh__on_host(m)) return inh__fail("analysis: the model is on the %s backend; inh_analyze runs it on the host", inh__be(m)->name);
    if (!m->acts_mem || B <= 0) return inh__fail("analysis: no forward pass to analyse");
    if (!m->acts.att) return inh__fail("analysis: the forward pass kept no attention matrices (set keep_attention = 1 on the model first)");
    if (T != a->T) return inh__fail("analysis: forward pass has T=%d, the analysis was set up for T=%d", T, a->T);
    for (int l = 0; l < L; l++)
        if ((m->drop_attn[l] ? 1 : 0) != a->dropped[l]) return inh__fail("analysis: layer %d's dropped attention changed between passes", l);
    inh__an_args g;
    memset(&g, 0, sizeof g);
    g.m = m; g.a = a; g.B = B; g.T = T;
    g.head_out = INH__CALLOC(double, (size_t)L * B * NH * 4);
    g.layer_out = INH__CALLOC(double, (size_t)L * 3);
    if (!g.head_out || !g.layer_out) { INH_FREE(g.head_out); INH_FREE(g.layer_out); return -1; }
    inh__parallel(m->threads, L * B * NH, inh__an_heads, &g);
    inh__parallel(m->threads, L, inh__an_layers, &g);
    if (g.failed) { INH_FREE(g.head_out); INH_FREE(g.layer_out); return inh__fail("analysis: out of memory or eigenvalues did not converge"); }
    /* sums in a fixed order: results do not depend on the thread count */
    size_t LH = (size_t)L * NH;
    for (int l = 0; l < L; l++) {
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                const double *o = g.head_out + (((size_t)l * B + b) * NH + h) * 4;
                double *s = a->sum_ + ((size_t)l * NH + h) * INH__AS_HEAD;
                for (int k = 0; k < 4; k++) s[k] += o[k];
                int *rm = a->rank_max + (size_t)l * NH + h;
                if ((int)o[0] > *rm) *rm = (int)o[0];
            }
        for (int k = 0; k < 3; k++) a->sum_[INH__AS_HEAD * LH + (size_t)l * 3 + k] += g.layer_out[(size_t)l * 3 + k];
    }
    if (a->attention && a->seqs == 0)
        for (int l = 0; l < L; l++) {
            if (a->dropped[l]) continue;
            size_t tt = (size_t)T * T;
            memcpy(a->attention + (size_t)l * NH * tt, m->acts.att + (size_t)l * B * NH * tt, (size_t)NH * tt * sizeof(float));
        }
    if (a->sc_n) {   /* shortcut weights (B,NH,T,nT) at [i T + s]: mass per selected layer, summed in a fixed order */
        int n = a->sc_n;
        if (!m->acts.sc_att || m->drop_shortcut || inh_sc_layers(&m->cfg, NULL) != n) {
            INH_FREE(g.head_out); INH_FREE(g.layer_out);
            return inh__fail("analysis: the forward pass kept no shortcut attention (keep_attention, shortcuts on)");
        }
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++) {
                    const float *row = m->acts.sc_att + (((size_t)b * NH + h) * T + t) * n * T;
                    for (int i = 0; i < n; i++) {
                        double mass = 0.0;
                        for (int s2 = 0; s2 <= t; s2++) mass += row[(size_t)i * T + s2];
                        a->sc_sum_[(size_t)h * n + i] += mass;
                        if (a->seqs == 0 && b == 0) a->sc_tokens[(size_t)t * n + i] += (float)(mass / NH);
                    }
                }
    }
    if (m->targets && m->mean_loss >= 0) { a->loss_sum_ += (double)m->mean_loss * B * T; a->loss_n_ += (double)B * T; }
    a->seqs += B;
    INH_FREE(g.head_out); INH_FREE(g.layer_out);
    return 0;
}

INHDEF void inh_analysis_finish(inh_analysis *a) {
    int L = a->L, NH = a->NH;
    size_t LH = (size_t)L * NH;
    double n = a->seqs, ntok = (double)a->seqs * a->T;
    for (int l = 0; l < L; l++) {
        double mx = 0.0, ms = 0.0, sk = 0.0, en = 0.0;
        for (int h = 0; h < NH; h++) {
            size_t i = (size_t)l * NH + h;
            const double *s = a->sum_ + i * INH__AS_HEAD;
            if (a->dropped[l] || n == 0) { a->rank[i] = a->mass[i] = a->sink[i] = a->entropy[i] = NAN; continue; }
            a->rank[i] = (float)(s[0] / n); a->mass[i] = (float)(s[1] / n);
            a->sink[i] = (float)(s[2] / n); a->entropy[i] = (float)(s[3] / n);
            if (s[0] / n > mx) mx = s[0] / n;
            ms += s[1] / n; sk += s[2] / n; en += s[3] / n;
        }
        int off = a->dropped[l] || n == 0;
        a->max_rank[l] = off ? NAN : (float)mx;
        a->avg_mass[l] = off ? NAN : (float)(ms / NH);
        a->sink_layer[l] = off ? NAN : (float)(sk / NH);
        a->entropy_layer[l] = off ? NAN : (float)(en / NH);
        const double *s = a->sum_ + INH__AS_HEAD * LH + (size_t)l * 3;
        a->block_influence[l] = n ? (float)(1.0 - s[0] / ntok) : NAN;
        a->attn_importance[l] = n ? (float)(1.0 - s[1] / ntok) : NAN;
        a->angular_distance[l] = n && l + a->span <= L ? (float)(s[2] / n) : NAN;
        /* lazy: every head had k* = 1 on every sequence (then MaxRank is exactly 1) */
        int lazy = !off;
        for (int h = 0; h < NH && lazy; h++) lazy = a->rank_max[(size_t)l * NH + h] == 1;
        a->lazy[l] = (unsigned char)lazy;
    }
    /* lazy groups: from the first layer not yet covered with floor(MaxRank) = 1, the farthest
       layer that also has floor(MaxRank) = 1 and keeps the group's mean below 2 */
    a->n_groups = 0;
    for (int s = 0; s < L; s++) {
        if (a->dropped[s] || !(a->max_rank[s] < 2.0f)) continue;
        int best = s;
        double sum = 0.0;
        for (int e = s; e < L && !a->dropped[e]; e++) {
            sum += a->max_rank[e];
            if (a->max_rank[e] < 2.0f && sum / (e - s + 1) < 2.0) best = e;
        }
        a->groups[2 * a->n_groups] = s; a->groups[2 * a->n_groups + 1] = best; a->n_groups++;
        s = best;
    }
    a->lazy_from = L;
    double tail = 0.0;
    for (int s = L - 1; s >= 0 && !a->dropped[s]; s--) {
        tail += a->max_rank[s];
        if (a->max_rank[s] < 2.0f && tail / (L - s) < 2.0) a->lazy_from = s;
    }
    a->loss = a->loss_n_ > 0 ? (float)(a->loss_sum_ / a->loss_n_) : NAN;
    for (int h = 0; h < NH && a->sc_n; h++) {
        double e = 0.0;
        for (int i = 0; i < a->sc_n; i++) {
            double sh = ntok > 0 ? a->sc_sum_[(size_t)h * a->sc_n + i] / ntok : NAN;
            a->sc_share[(size_t)h * a->sc_n + i] = (float)sh;
            if (sh > 0) e -= sh * log(sh);
        }
        a->sc_entropy[h] = ntok > 0 ? (float)e : NAN;
    }
}

INHDEF int inh_analyze(inh_model *m, inh_data *d, const inh_analysis_opts *o, inh_analysis *a) {
    if (!inh__on_host(m)) {   /* the metrics read every attention matrix: they are computed on the host */
        inh_model twin;
        if (inh__host_twin(&twin, m)) return -1;
        int rc = inh_analyze(&twin, d, o, a);
        inh__twin_free(&twin);
        return rc;
    }
    double t0 = inh_now();
    if (inh_analysis_init(a, m, o)) return -1;
    size_t need = o->shuffle ? (size_t)o->T + 1 : (size_t)o->seqs * o->T + 1;
    if (d->n < need) {
        inh_analysis_free(a);
        if (o->shuffle) return inh__fail("%s: %zu tokens cannot hold one window of T+1 = %d tokens", d->path, d->n, o->T + 1);
        return inh__fail("%s: %zu tokens cannot hold %d consecutive windows of %d tokens (+1): %zu needed", d->path, d->n,
                         o->seqs, o->T, need);
    }
    size_t saved_pos = d->pos;
    int saved_shuffle = d->shuffle;
    inh_rng saved_rng = d->rng;
    int B = o->batch < o->seqs ? o->batch : o->seqs, rc = 0;
    int *x = INH__ALLOC(int, (size_t)B * o->T), *y = INH__ALLOC(int, (size_t)B * o->T);
    if (!x || !y) rc = -1;
    d->pos = 0; d->shuffle = o->shuffle;
    inh_rng_seed(&d->rng, o->seed);
    int keep = m->keep_attention;
    m->keep_attention = 1;   /* the metrics read every head's attention matrix */
    for (int done = 0; !rc && done < o->seqs; done += B) {
        int nb = o->seqs - done < B ? o->seqs - done : B;
        rc = inh_data_next(d, nb, o->T, x, y);
        if (!rc) rc = inh_model_forward(m, x, y, nb, o->T);
        if (!rc) rc = inh_analysis_add(a, m);
    }
    d->pos = saved_pos; d->shuffle = saved_shuffle; d->rng = saved_rng;
    INH_FREE(x); INH_FREE(y);
    m->keep_attention = keep;
    if (rc) { inh_analysis_free(a); return -1; }
    inh_analysis_finish(a);
    a->seconds = inh_now() - t0;
    return 0;
}

INHDEF int inh_analysis_baseline(inh_analysis *a, const inh_model *m, inh_data *d, const inh_analysis_opts *o, uint64_t seed) {
    if (a->L != m->cfg.L) return inh__fail("random-init baseline: the analysis has %d layers, the model %d", a->L, m->cfg.L);
    inh_model r;
    inh_analysis b;
    inh_analysis_opts ob = *o;
    ob.keep_attention = 0;   /* the baseline needs no heat maps */
    if (inh_model_init(&r, &m->cfg, seed)) return -1;   /* on the CPU whatever backend m is on; drop_attn all 0 */
    r.threads = m->threads; r.bf16 = m->bf16; r.drop_shortcut = m->drop_shortcut;
    int rc = inh_analyze(&r, d, &ob, &b);
    inh_model_free(&r);
    if (rc) return -1;
    int L = a->L;
    float *v = INH__ALLOC(float, 2 * (size_t)L);
    if (!v) { inh_analysis_free(&b); return inh__fail("random-init baseline: out of memory for %d layers", L); }
    memcpy(v, b.max_rank, (size_t)L * sizeof(float));
    memcpy(v + L, b.avg_mass, (size_t)L * sizeof(float));
    inh_analysis_free(&b);
    INH_FREE(a->baseline_max_rank);
    a->baseline_max_rank = v; a->baseline_avg_mass = v + L;
    a->baseline_seed = seed; a->has_baseline = 1;
    return 0;
}

/* --- choosing layers ----------------------------------------------------------------------------- */

static const char *const inh__metric_names[6] = {"attn_importance", "block_influence", "angular_distance", "max_rank", "avg_mass", "sink"};
INH__FN int inh__metric_known(const char *metric) {
    for (int i = 0; i < 6; i++) if (!strcmp(metric, inh__metric_names[i])) return 1;
    return 0;
}

INH__FN const float *inh__metric(const inh_analysis *a, const char *metric, int *higher_is_lazier) {
    *higher_is_lazier = 0;
    if (!strcmp(metric, "attn_importance")) return a->attn_importance;
    if (!strcmp(metric, "block_influence")) return a->block_influence;
    if (!strcmp(metric, "angular_distance")) return a->angular_distance;
    if (!strcmp(metric, "max_rank")) return a->max_rank;
    if (!strcmp(metric, "avg_mass")) return a->avg_mass;
    if (!strcmp(metric, "sink")) { *higher_is_lazier = 1; return a->sink_layer; }
    return NULL;
}

/* 1 if layer i should come before layer j (less important) */
INH__FN int inh__less_important(const inh_analysis *a, const float *v, int hi, int i, int j) {
    float x = v[i], y = v[j];
    if (isnan(x) != isnan(y)) return isnan(y);          /* unknown values go last */
    if (!isnan(x) && x != y) return hi ? x > y : x < y;
    float p = a->attn_importance[i], q = a->attn_importance[j];
    if (!isnan(p) && !isnan(q) && p != q) return p < q;
    return i > j;
}

INHDEF int inh_analysis_order(const inh_analysis *a, const char *metric, int *order) {
    int hi;
    const float *v = inh__metric(a, metric, &hi);
    if (!v) return inh__fail("unknown metric '%s' (attn_importance, block_influence, angular_distance, max_rank, avg_mass, sink)", metric);
    for (int l = 0; l < a->L; l++) order[l] = l;
    for (int i = 1; i < a->L; i++)        /* insertion sort: L is small, and it is stable */
        for (int j = i; j > 0 && inh__less_important(a, v, hi, order[j], order[j - 1]); j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    return 0;
}

/* parse a non-negative decimal integer that fills [s, end) */
INH__FN int inh__an_parse_uint(const char *s, const char **end, int *v) {
    long x = 0;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') { x = x * 10 + (*s++ - '0'); if (x > 1000000) return -1; }
    *v = (int)x; *end = s;
    return 0;
}

INHDEF int inh_drop_attn_set(inh_model *m, const char *spec, inh_data *d, const inh_analysis_opts *o) {
    int L = m->cfg.L, k;
    const char *s = spec ? spec : "";
    unsigned char *want = INH__CALLOC(unsigned char, L);
    if (!want) return -1;
    if (!*s || !strcmp(s, "none")) {
        /* nothing dropped */
    } else if (!strncmp(s, "last:", 5)) {
        const char *e;
        if (inh__an_parse_uint(s + 5, &e, &k) || *e || k > L) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': last:K needs K in 0..%d (the model has %d layers)", spec, L, L);
        }
        for (int l = L - k; l < L; l++) want[l] = 1;
    } else if (!strncmp(s, "auto:", 5)) {
        const char *e, *metric = "attn_importance";
        if (inh__an_parse_uint(s + 5, &e, &k) || (*e && *e != ':') || k > L) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': auto:K[:METRIC] needs K in 0..%d (the model has %d layers)", spec, L, L);
        }
        if (*e == ':') metric = e + 1;
        inh_analysis a;
        memset(&a, 0, sizeof a);
        if (!inh__metric_known(metric)) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': unknown metric '%s' (attn_importance, block_influence, angular_distance, max_rank, avg_mass, sink)", spec, metric);
        }
        if (!d) { INH_FREE(want); return inh__fail("--drop-attn '%s': auto needs data to rank the layers (--data)", spec); }
        inh_analysis_opts ao;
        if (o) ao = *o;
        else {
            inh_analysis_opts_default(&ao);
            ao.seqs = 32;
            ao.T = m->cfg.maxT < 128 ? m->cfg.maxT : 128;
            if (d->n < (size_t)ao.T + 1) ao.T = (int)d->n - 1;
            if (ao.T < 1) { INH_FREE(want); return inh__fail("%s: too few tokens (%zu) to rank layers for --drop-attn auto", d->path, d->n); }
        }
        unsigned char *saved = INH__ALLOC(unsigned char, L);
        int *order = INH__ALLOC(int, L);
        int rc = saved && order ? 0 : -1;
        if (!rc) {
            memcpy(saved, m->drop_attn, (size_t)L);
            memset(m->drop_attn, 0, (size_t)L);       /* rank the layers of the full model */
            rc = inh_analyze(m, d, &ao, &a);
            memcpy(m->drop_attn, saved, (size_t)L);
        }
        if (!rc) rc = inh_analysis_order(&a, metric, order);
        if (!rc) for (int i = 0; i < k; i++) want[order[i]] = 1;
        inh_analysis_free(&a);
        INH_FREE(saved); INH_FREE(order);
        if (rc) { INH_FREE(want); return -1; }
    } else {
        const char *p = s;
        while (*p) {
            const char *e;
            if (inh__an_parse_uint(p, &e, &k)) { INH_FREE(want); return inh__fail("--drop-attn '%s': expected a list like 9,10,11, last:K or auto:K[:METRIC]", spec); }
            if (k >= L) { INH_FREE(want); return inh__fail("--drop-attn '%s': layer %d does not exist (the model has %d layers, 0..%d)", spec, k, L, L - 1); }
            want[k] = 1;
            p = e;
            if (*p == ',') { p++; if (!*p) { INH_FREE(want); return inh__fail("--drop-attn '%s': trailing comma", spec); } }
            else if (*p) { INH_FREE(want); return inh__fail("--drop-attn '%s': expected a list like 9,10,11, last:K or auto:K[:METRIC]", spec); }
        }
    }
    memcpy(m->drop_attn, want, (size_t)L);
    INH_FREE(want);
    return 0;
}

/* --- drop sweep -------------------------------------------------------------------------------- */

INHDEF void inh_sweep_free(inh_sweep *s) {
    INH_FREE(s->order); INH_FREE(s->loss); INH_FREE(s->tokens_per_s);
    INH_FREE(s->speedup); INH_FREE(s->spread); INH_FREE(s->seconds);
    memset(s, 0, sizeof *s);
}

/* the median of v[0..n) (v is reordered); NaN for n = 0 */
INH__FN double inh__median(double *v, int n) {
    if (n < 1) return NAN;
    for (int i = 1; i < n; i++)   /* insertion sort: n is a handful of repeats */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) { double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

INHDEF int inh_sweep_speedup_range(const inh_sweep *s, int c, int k, double *lo, double *hi) {
    int L = s->L, R = s->repeats;
    *lo = *hi = NAN;
    if (R < 1 || c < 0 || c >= s->curves || k < 0 || k > L) return 0;
    const double *t0 = s->seconds + (size_t)(c * (L + 1)) * R, *tk = s->seconds + (size_t)(c * (L + 1) + k) * R;
    for (int r = 0; r < R; r++) {
        double q = t0[r] / tk[r];
        if (r == 0 || q < *lo) *lo = q;
        if (r == 0 || q > *hi) *hi = q;
    }
    return 1;
}

/* one timed run of the current m->drop_attn: seconds per evaluation over `inner` evaluations */
INH__FN int inh__sweep_time(inh_model *m, inh_data *d, int B, int T, int nbatches, int inner, double *sec) {
    float l;
    double t0 = inh_now();
    for (int i = 0; i < inner; i++)
        if (inh_eval_loss(m, d, B, T, nbatches, &l)) return -1;
    *sec = (inh_now() - t0) / inner;
    return 0;
}

INHDEF int inh_drop_sweep(inh_model *m, inh_data *d, int B, int T, int nbatches, const int *orders, int curves,
                          const char *const *names, int repeats, inh_sweep *s) {
    int L = m->cfg.L, rc = 0, P = curves * (L + 1);
    memset(s, 0, sizeof *s);
    if (curves < 1 || curves > 2) return inh__fail("drop sweep: 1 or 2 curves, not %d", curves);
    if (repeats < 0 || repeats > 1000) return inh__fail("drop sweep: %d repeats: 0 (no timing) to 1000", repeats);
    for (int c = 0; c < curves; c++)
        for (int i = 0; i < L; i++)
            if (orders[c * L + i] < 0 || orders[c * L + i] >= L) return inh__fail("drop sweep: layer %d does not exist", orders[c * L + i]);
    s->L = L; s->curves = curves; s->repeats = repeats; s->inner = 0;
    s->order = INH__ALLOC(int, (size_t)curves * L);
    s->loss = INH__ALLOC(float, (size_t)P);
    s->tokens_per_s = INH__ALLOC(double, (size_t)P);
    s->speedup = INH__ALLOC(double, (size_t)P);
    s->spread = INH__ALLOC(double, (size_t)P);
    s->seconds = INH__ALLOC(double, (size_t)P * (repeats > 0 ? repeats : 1));
    unsigned char *saved = INH__ALLOC(unsigned char, L + 1), *sets = INH__CALLOC(unsigned char, (size_t)P * (L + 1));
    int *same = INH__ALLOC(int, (size_t)P);
    double *tmp = INH__ALLOC(double, (size_t)(repeats > 0 ? repeats : 1));
    if (!s->order || !s->loss || !s->tokens_per_s || !s->speedup || !s->spread || !s->seconds || !saved || !sets || !same || !tmp) { rc = -1; goto done; }
    memcpy(s->order, orders, (size_t)curves * L * sizeof(int));
    for (int c = 0; c < curves; c++) snprintf(s->names[c], sizeof s->names[c], "%s", names && names[c] ? names[c] : "");
    /* point p = c*(L+1) + k drops the layer set sets[p]; same[p]: the first point with that set */
    for (int p = 0; p < P; p++) {
        int c = p / (L + 1), k = p % (L + 1);
        for (int i = 0; i < k; i++) sets[(size_t)p * (L + 1) + orders[c * L + i]] = 1;
        same[p] = p;
        for (int q = 0; q < p && same[p] == p; q++)
            if (same[q] == q && !memcmp(sets + (size_t)p * (L + 1), sets + (size_t)q * (L + 1), (size_t)L)) same[p] = q;
    }
    memcpy(saved, m->drop_attn, (size_t)L);
    /* the losses; every distinct point runs once here, untimed: the warm-up of its code path */
    for (int p = 0; p < P && !rc; p++) {
        if (same[p] != p) continue;
        memcpy(m->drop_attn, sets + (size_t)p * (L + 1), (size_t)L);
        rc = inh_eval_loss(m, d, B, T, nbatches, &s->loss[p]);
    }
    if (!rc && repeats > 0) {
        double t1 = 0;   /* evaluations per timed run: enough to last INH_SWEEP_MIN_SECONDS at k = 0 */
        memset(m->drop_attn, 0, (size_t)L);
        rc = inh__sweep_time(m, d, B, T, nbatches, 1, &t1);
        s->inner = t1 >= INH_SWEEP_MIN_SECONDS ? 1 : t1 * 1000 < INH_SWEEP_MIN_SECONDS ? 1000 : (int)ceil(INH_SWEEP_MIN_SECONDS / t1);
    }
    for (int r = 0; r < repeats && !rc; r++)
        for (int i = 0; i < P && !rc; i++) {
            int p = r % 2 ? P - 1 - i : i;   /* odd passes backwards */
            if (same[p] != p) continue;
            memcpy(m->drop_attn, sets + (size_t)p * (L + 1), (size_t)L);
            rc = inh__sweep_time(m, d, B, T, nbatches, s->inner, &s->seconds[(size_t)p * repeats + r]);
        }
    memcpy(m->drop_attn, saved, (size_t)L);
    if (rc) goto done;
    for (int p = 0; p < P; p++) {
        int c = p / (L + 1), q = same[p], q0 = same[c * (L + 1)];
        s->loss[p] = s->loss[q];
        if (repeats < 1) { s->tokens_per_s[p] = s->speedup[p] = s->spread[p] = NAN; continue; }
        if (q != p) memcpy(s->seconds + (size_t)p * repeats, s->seconds + (size_t)q * repeats, (size_t)repeats * sizeof(double));
        for (int r = 0; r < repeats; r++) tmp[r] = s->seconds[(size_t)q * repeats + r];
        double med = inh__median(tmp, repeats);
        s->tokens_per_s[p] = med > 0 ? (double)B * T * nbatches / med : NAN;
        for (int r = 0; r < repeats; r++) tmp[r] = s->seconds[(size_t)q0 * repeats + r] / s->seconds[(size_t)q * repeats + r];
        s->speedup[p] = inh__median(tmp, repeats);
        s->spread[p] = repeats >= 2 ? (tmp[repeats - 1] - tmp[0]) / s->speedup[p] : NAN;   /* tmp is sorted */
    }
done:
    INH_FREE(saved); INH_FREE(sets); INH_FREE(same); INH_FREE(tmp);
    if (rc) { inh_sweep_free(s); return -1; }
    return 0;
}

/* --- reports ----------------------------------------------------------------------------------- */

/* JSON number, or null for NaN/inf */
INH__FN void inh__an_wnum(inh__wfile *w, double v) {
    if (isfinite(v)) inh__wprintf(w, "%.9g", v); else inh__wprintf(w, "null");
}
INH__FN void inh__an_wnums(inh__wfile *w, const float *v, int n) {
    inh__wprintf(w, "[");
    for (int i = 0; i < n; i++) { if (i) inh__wprintf(w, ", "); inh__an_wnum(w, v[i]); }
    inh__wprintf(w, "]");
}

INHDEF int inh_analysis_write_json(const inh_analysis *a, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wprintf(&w, "{\"layers\": [\n");
    for (int l = 0; l < a->L; l++) {
        const float *hd = a->rank + (size_t)l * a->NH;
        inh__wprintf(&w, "  {\"layer\": %d, \"rank\": ", l); inh__an_wnums(&w, hd, a->NH);
        inh__wprintf(&w, ", \"max_rank\": "); inh__an_wnum(&w, a->max_rank[l]);
        inh__wprintf(&w, ", \"mass\": "); inh__an_wnums(&w, a->mass + (size_t)l * a->NH, a->NH);
        inh__wprintf(&w, ", \"avg_mass\": "); inh__an_wnum(&w, a->avg_mass[l]);
        inh__wprintf(&w, ", \"lazy\": %s, \"dropped\": %s", a->lazy[l] ? "true" : "false", a->dropped[l] ? "true" : "false");
        inh__wprintf(&w, ", \"sink\": "); inh__an_wnum(&w, a->sink_layer[l]);
        inh__wprintf(&w, ", \"sink_heads\": "); inh__an_wnums(&w, a->sink + (size_t)l * a->NH, a->NH);
        inh__wprintf(&w, ", \"block_influence\": "); inh__an_wnum(&w, a->block_influence[l]);
        inh__wprintf(&w, ", \"angular_distance\": "); inh__an_wnum(&w, a->angular_distance[l]);
        inh__wprintf(&w, ", \"attn_importance\": "); inh__an_wnum(&w, a->attn_importance[l]);
        inh__wprintf(&w, ", \"entropy\": "); inh__an_wnum(&w, a->entropy_layer[l]);
        inh__wprintf(&w, ", \"entropy_heads\": "); inh__an_wnums(&w, a->entropy + (size_t)l * a->NH, a->NH);
        if (a->has_baseline) {
            inh__wprintf(&w, ", \"baseline_max_rank\": "); inh__an_wnum(&w, a->baseline_max_rank[l]);
            inh__wprintf(&w, ", \"baseline_avg_mass\": "); inh__an_wnum(&w, a->baseline_avg_mass[l]);
        }
        inh__wprintf(&w, "}%s\n", l + 1 < a->L ? "," : "");
    }
    inh__wprintf(&w, "], \"lazy_groups\": [");
    for (int g = 0; g < a->n_groups; g++) inh__wprintf(&w, "%s[%d, %d]", g ? ", " : "", a->groups[2 * g], a->groups[2 * g + 1]);
    inh__wprintf(&w, "], \"lazy_from\": %d, \"loss\": ", a->lazy_from);
    inh__an_wnum(&w, a->loss);
    if (a->sc_n) {   /* "shortcuts": share[head][i] of the i-th selected layer, its entropy per head, tokens[t][i] of sequence 0 */
        inh__wprintf(&w, ",\n \"shortcuts\": {\"variant\": \"%s\", \"layers\": [", inh_sc_variant_name(a->sc_variant));
        for (int i = 0; i < a->sc_n; i++) inh__wprintf(&w, i ? ", %d" : "%d", a->sc_layer[i]);
        inh__wprintf(&w, "],\n  \"share\": [");
        for (int h = 0; h < a->NH; h++) { inh__wprintf(&w, h ? ",\n   " : ""); inh__an_wnums(&w, a->sc_share + (size_t)h * a->sc_n, a->sc_n); }
        inh__wprintf(&w, "],\n  \"entropy\": "); inh__an_wnums(&w, a->sc_entropy, a->NH);
        inh__wprintf(&w, ",\n  \"tokens\": [");
        for (int t = 0; t < a->T; t++) { inh__wprintf(&w, t ? ",\n   " : ""); inh__an_wnums(&w, a->sc_tokens + (size_t)t * a->sc_n, a->sc_n); }
        inh__wprintf(&w, "]}");
    }
    if (a->has_baseline) inh__wprintf(&w, ",\n \"baseline\": {\"kind\": \"random\", \"seed\": %llu}", (unsigned long long)a->baseline_seed);
    inh__wprintf(&w, ",\n \"config\": {\"seqs\": %d, \"seq_len\": %d, \"tau\": %.9g, \"eta\": %.9g, \"span\": %d, \"layers\": %d, \"heads\": %d, \"seconds\": %.3f}}\n",
                 a->seqs, a->T, a->tau, a->eta, a->span, a->L, a->NH, a->seconds);
    return inh__wclose(&w);
}

/* A (w,h) RGB image as a PNG (zlib with stored blocks: no compressor needed), base64 to w. */
INH__FN uint32_t inh__an_crc32(const unsigned char *p, size_t n, uint32_t crc) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
INH__FN void inh__an_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
INH__FN void inh__an_wbase64(inh__wfile *w, const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[0] = tab[v >> 18]; out[1] = tab[(v >> 12) & 63];
        out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? tab[v & 63] : '=';
        inh__wwrite(w, out, 4);
    }
}
INH__FN int inh__an_wpng(inh__wfile *w, const unsigned char *rgb, int wd, int ht) {
    size_t raw = (size_t)ht * (1 + 3 * (size_t)wd), nblk = raw / 65535 + 1;
    size_t zlen = 2 + raw + 5 * nblk + 4, total = 8 + 25 + 12 + zlen + 12;
    unsigned char *png = INH__ALLOC(unsigned char, total), *p = png;
    if (!png) return -1;
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    memcpy(p, sig, 8); p += 8;
    inh__an_be32(p, 13); memcpy(p + 4, "IHDR", 4);
    inh__an_be32(p + 8, (uint32_t)wd); inh__an_be32(p + 12, (uint32_t)ht);
    p[16] = 8; p[17] = 2; p[18] = 0; p[19] = 0; p[20] = 0;           /* 8-bit RGB, no interlace */
    inh__an_be32(p + 21, inh__an_crc32(p + 4, 17, 0)); p += 25;
    inh__an_be32(p, (uint32_t)zlen); memcpy(p + 4, "IDAT", 4);
    unsigned char *z = p + 8, *q = z + 2;
    z[0] = 0x78; z[1] = 0x01;
    uint32_t s1 = 1, s2 = 0;                                          /* adler32 of the raw bytes */
    size_t left = raw, row = 0, col = 0;
    do {
        size_t n = left < 65535 ? left : 65535;
        q[0] = (unsigned char)(n == left); q[1] = (unsigned char)n; q[2] = (unsigned char)(n >> 8);
        q[3] = (unsigned char)~n; q[4] = (unsigned char)(~n >> 8); q += 5;
        for (size_t i = 0; i < n; i++) {
            unsigned char b = col == 0 ? 0 : rgb[row * 3 * wd + col - 1];   /* filter byte 0 per row */
            if (++col == 1 + 3 * (size_t)wd) { col = 0; row++; }
            *q++ = b;
            s1 = (s1 + b) % 65521; s2 = (s2 + s1) % 65521;
        }
        left -= n;
    } while (left > 0);
    inh__an_be32(q, s2 << 16 | s1); q += 4;
    zlen = (size_t)(q - z);
    inh__an_be32(p, (uint32_t)zlen);
    inh__an_be32(q, inh__an_crc32(p + 4, 4 + zlen, 0)); q += 4;
    inh__an_be32(q, 0); memcpy(q + 4, "IEND", 4); inh__an_be32(q + 8, inh__an_crc32(q + 4, 4, 0)); q += 12;
    inh__wprintf(w, "data:image/png;base64,");
    inh__an_wbase64(w, png, (size_t)(q - png));
    INH_FREE(png);
    return 0;
}

/* one heat map: attention values v in [0,1] shown as sqrt(v), white -> dark blue; masked
   (future) positions light grey */
INH__FN int inh__an_heatmap(inh__wfile *w, const float *A, int T, double x, double y, double size) {
    unsigned char *rgb = INH__ALLOC(unsigned char, (size_t)T * T * 3);
    if (!rgb) return -1;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < T; j++) {
            unsigned char *px = rgb + ((size_t)t * T + j) * 3;
            if (j > t) { px[0] = px[1] = px[2] = 236; continue; }
            double v = A[(size_t)t * T + j];
            v = v <= 0 ? 0 : v >= 1 ? 1 : sqrt(v);
            px[0] = (unsigned char)(255 - v * (255 - 8)); px[1] = (unsigned char)(255 - v * (255 - 48));
            px[2] = (unsigned char)(255 - v * (255 - 107));
        }
    inh__wprintf(w, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"", x, y, size, size);
    int rc = inh__an_wpng(w, rgb, T, T);
    inh__wprintf(w, "\"/>\n");
    INH_FREE(rgb);
    return rc;
}

/* Axis ticks for every chart: the multiples of one step, 1, 2 or 5 x 10^e (the smallest step that
   gives at most max_ticks of them), that lie in [lo, hi]. out holds max_ticks (<= INH__MAX_TICKS)
   values; returns their count; *decimals: the digits after the point that print them exactly. */
#define INH__MAX_TICKS 16
INH__FN int inh__ticks(double lo, double hi, int max_ticks, double *out, int *decimals) {
    static const int mant[3] = {1, 2, 5};
    if (max_ticks > INH__MAX_TICKS) max_ticks = INH__MAX_TICKS;
    if (max_ticks < 2) max_ticks = 2;
    *decimals = 0;
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo)) return 0;
    if (hi < lo) { double t = lo; lo = hi; hi = t; }
    if (!(hi > lo)) { out[0] = lo; *decimals = 3; return 1; }
    for (int e = (int)floor(log10((hi - lo) / max_ticks)) - 1;; e++)
        for (int i = 0; i < 3; i++) {
            double step = mant[i] * pow(10.0, e), a = lo / step, b = hi / step;
            double first = ceil(a - 1e-9 * (1 + fabs(a))), last = floor(b + 1e-9 * (1 + fabs(b)));   /* the ends count despite rounding */
            if (last - first + 1 > max_ticks) continue;
            int n = (int)(last - first + 1);
            for (int t = 0; t < n; t++) {
                out[t] = (first + t) * step;
                if (fabs(out[t]) < step * 1e-6) out[t] = 0.0;   /* never "-0" */
            }
            *decimals = e < 0 ? -e : 0;
            return n;
        }
}
/* the same for an axis of whole numbers (steps, layers): never a step below 1 */
INH__FN int inh__ticks_int(double lo, double hi, int max_ticks, double *out, int *decimals) {
    if (hi - lo + 1 < max_ticks) max_ticks = (int)(hi - lo + 1);   /* more ticks than integers would need steps below 1 */
    return inh__ticks(lo, hi, max_ticks, out, decimals);
}
/* a tick's label: exactly the tick (v from inh__ticks, printed with its decimals) */
INH__FN void inh__tick_label(char *buf, size_t n, double v, int decimals) { snprintf(buf, n, "%.*f", decimals, v); }
/* the upper end of a chart that starts at 0 and must show v: the first tick at or above v */
INH__FN double inh__ticks_top(double v, int max_ticks) {
    double t[INH__MAX_TICKS];
    int dec, n;
    if (!(v > 0) || !isfinite(v)) return 1.0;
    n = inh__ticks(0, v, max_ticks, t, &dec);
    if (n < 2) return v;
    return t[n - 1] >= v * (1 - 1e-9) ? t[n - 1] : t[n - 1] + (t[1] - t[0]);
}

INH__FN void inh__an_wtext(inh__wfile *w, const char *s) {   /* XML-escaped text */
    for (; *s; s++) {
        if (*s == '<') inh__wprintf(w, "&lt;");
        else if (*s == '>') inh__wprintf(w, "&gt;");
        else if (*s == '&') inh__wprintf(w, "&amp;");
        else if (*s == '"') inh__wprintf(w, "&quot;");
        else inh__wwrite(w, s, 1);
    }
}

/* "SOURCE, written YYYY-MM-DD HH:MM" as SVG text at (x, y), when there is a source */
INH__FN void inh__an_source(inh__wfile *w, const char *source, double x, double y) {
    char date[32];
    time_t now = time(NULL);
    if (!source || !*source) return;
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
    inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#444\">", x, y);
    inh__an_wtext(w, source);
    inh__wprintf(w, ", written %s</text>\n", date);
}

/* per-layer bar chart in the box (x, y, W, H); lazy layers red, dropped grey. note: what the metric
   means, which way is lazy: one line at the bottom of the box, and each further line ('\n') 14 px
   below it, in room the caller leaves; mark: a dashed line at that value (NaN: none); base (L, or
   NULL): a baseline drawn as a dark grey bar beside each layer's bar, named base_label in a legend */
#define INH__AN_NOTE_LINE 14.0
INH__FN void inh__an_bars(inh__wfile *w, double x, double y, double W, double H, const char *title, const float *v,
                       const float *base, const char *base_label, int L, const unsigned char *lazy, const unsigned char *dropped,
                       const char *note, double mark) {
    double mx = isfinite(mark) ? mark : 0;
    for (int l = 0; l < L; l++) if (isfinite(v[l]) && v[l] > mx) mx = v[l];
    for (int l = 0; l < L && base; l++) if (isfinite(base[l]) && base[l] > mx) mx = base[l];
    mx = inh__ticks_top(mx, 6);
    double px = x + 50, pw = W - 60, py = y + 24, ph = H - 66, bw = pw / L, tk[INH__MAX_TICKS];
    /* a layer's slot of width bw: its bar (0.12..0.88 of it; with a baseline 0.08..0.54, the grey bar 0.56..0.90) */
    double b0 = base ? 0.08 : 0.12, bf = base ? 0.46 : 0.76;
    int dec, ntk = inh__ticks(0, mx, 6, tk, &dec);
    char lab[48];
    for (int k = 0; *note; k++) {
        const char *e = strchr(note, '\n');
        size_t n = e ? (size_t)(e - note) : strlen(note);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), note);
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11.5\" fill=\"#444\">", x + 4, y + H - 4 + k * INH__AN_NOTE_LINE);
        inh__an_wtext(w, line);
        inh__wprintf(w, "</text>\n");
        note += e ? n + 1 : n;
    }
    if (base) {
        inh__wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"#7f7f7f\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">",
                     x + W - 22, y + 5, x + W - 26, y + 14);
        inh__an_wtext(w, base_label);
        inh__wprintf(w, "</text>\n");
    }
    inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", x + 4, y + 14);
    inh__an_wtext(w, title);
    inh__wprintf(w, "</text>\n");
    inh__wprintf(w, "<g class=\"axis\">\n");
    for (int k = 0; k < ntk; k++) {
        double gy = py + ph - ph * tk[k] / mx;
        inh__tick_label(lab, sizeof lab, tk[k], dec);
        inh__wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                     px, gy, px + pw, gy, px - 4, gy + 3, lab);
    }
    inh__wprintf(w, "</g>\n");
    for (int l = 0; l < L; l++) {
        double val = isfinite(v[l]) ? v[l] : 0, bh = ph * val / mx, bx = px + l * bw + bw * b0, bc = bx + bw * bf / 2;
        const char *fill = dropped && dropped[l] ? "#bbbbbb" : lazy && lazy[l] ? "#d62728" : "#4c78a8";
        inh__wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>layer %d: %s %.6g%s</title></rect>\n",
                     bx, py + ph - bh, bw * bf, bh, fill, l, title, (double)v[l], lazy && lazy[l] ? " (lazy)" : "");
        if (base) {
            double gv = isfinite(base[l]) ? base[l] : 0, gh = ph * gv / mx, gx = px + l * bw + bw * 0.56;
            inh__wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#7f7f7f\"><title>layer %d, ", gx, py + ph - gh, bw * 0.34, gh, l);
            inh__an_wtext(w, base_label);
            inh__wprintf(w, ": %.6g</title></rect>\n", (double)base[l]);
            if (L <= 8 && isfinite(base[l]))   /* two labels a slot fit up to 8 layers */
                inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#666\">%.3g</text>\n", gx + bw * 0.17, py + ph - gh - 3, (double)base[l]);
        }
        if (L <= 32) inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", base ? px + (l + 0.5) * bw : bx + bw * 0.38, py + ph + 12, l);
        if (L <= 16 && isfinite(v[l]))
            inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\">%.3g</text>\n", bc, py + ph - bh - 3, (double)v[l]);
        if (dropped && dropped[l]) inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#777\">off</text>\n", bc, py + ph - 3);
    }
    inh__wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", px, py + ph, px + pw, py + ph);
    inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">layer</text>\n", px + pw / 2, py + ph + 24);
    if (isfinite(mark)) {
        double my = py + ph - ph * mark / mx;
        inh__wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#d62728\">%.3g = lazy</text>\n",
                     px, my, px + pw, my, px + 4, my - 3, mark);
    }
}

INH__FN int inh__analysis_svg(inh__wfile *w, const inh_analysis *a, const int *layers, int nlayers) {
    /* heat maps: up to 4 a row, as large as that allows (<= 260 px), with room for the axes */
    const double W = 1200, gap = 44;
    int per_row = a->NH < 4 ? a->NH : 4;
    double S = (W - 60) / (per_row > 0 ? per_row : 1) - gap;
    if (S > 260) S = 260;
    int nheat = a->attention ? nlayers : 0, rows_per_layer = (a->NH + per_row - 1) / (per_row > 0 ? per_row : 1);
    double heat_h = nheat ? 70 + nheat * (24 + rows_per_layer * (S + 52)) : 0;
    /* with a baseline, three more lines under the MaxRank chart push the lower charts down */
    double extra = a->has_baseline ? 3 * INH__AN_NOTE_LINE : 0;
    double H = 100 + 2 * 260 + extra + heat_h + 10;
    char base_label[64];
    snprintf(base_label, sizeof base_label, "random init (seed %llu)", (unsigned long long)a->baseline_seed);
    inh__wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
                 W, H, W, H);
    inh__wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    inh__wprintf(w, "<text x=\"20\" y=\"30\" font-size=\"20\" font-weight=\"bold\">Attention analysis: %d layers x %d heads</text>\n", a->L, a->NH);
    inh__an_source(w, a->source, 20, 50);
    inh__wprintf(w, "<text x=\"20\" y=\"68\" font-size=\"12\">%d sequences of %d tokens, tau %.3g, eta %.3g; loss %.4f. "
                    "Red: lazy layer (every head rank 1 on every sequence); grey: attention dropped.", a->seqs, a->T, a->tau, a->eta, (double)a->loss);
    if (a->lazy_from < a->L) inh__wprintf(w, " Layers %d..%d form a lazy group.", a->lazy_from, a->L - 1);
    inh__wprintf(w, "</text>\n");
    inh__an_bars(w, 10, 80, 590, 250, "MaxRank(l): max over heads of mean k*(tau)", a->max_rank,
                 a->has_baseline ? a->baseline_max_rank : NULL, base_label, a->L, a->lazy, a->dropped,
                 a->has_baseline ? "Rank of attention (singular values holding tau of the energy). Lower = lazier; 1 (dashed) = lazy.\n"
                                   "Dark grey: the same metric for a randomly initialised model of the same shape on the same windows.\n"
                                   "The post-softmax rank can read low even at random initialisation, so read a layer as lazy only\n"
                                   "where its MaxRank is 1 and clearly below its random-init baseline."
                                 : "Rank of attention (singular values holding tau of the energy). Lower = lazier; 1 (dashed) = lazy.", 1.0);
    inh__an_bars(w, 600, 80, 590, 250, "AvgMass(l): mean over heads of m*(eta)", a->avg_mass, NULL, NULL, a->L, a->lazy, a->dropped,
                 "Keys that hold eta of the attention mass. Lower = attention on fewer keys (lazier).", NAN);
    inh__an_bars(w, 10, 340 + extra, 590, 250, "Sink score: attention on key 0", a->sink_layer, NULL, NULL, a->L, a->lazy, a->dropped,
                 "Mean attention weight on the first token. Higher = more attention parked on a sink (lazier).", NAN);
    inh__an_bars(w, 600, 340 + extra, 590, 250, "Block influence: 1 - cos(x_l, x_l+1)", a->block_influence, NULL, NULL, a->L, a->lazy, a->dropped,
                 "How much block l changes the residual stream. Lower = the block does little (drop candidate).", NAN);
    double y = 100 + 2 * 260 + extra;
    if (nheat) {
        inh__wprintf(w, "<text x=\"20\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">Attention of sequence 0, per head: row = query t, column = key j "
                        "(grey = masked, the future)</text>\n", y + 16);
        /* colour scale: the heat maps show sqrt(weight), so 0.25 would sit halfway */
        double cx = 20, cy = y + 28, cw = 300;
        inh__wprintf(w, "<defs><linearGradient id=\"inhscale\"><stop offset=\"0\" stop-color=\"rgb(255,255,255)\"/>"
                        "<stop offset=\"1\" stop-color=\"rgb(8,48,107)\"/></linearGradient></defs>\n"
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"url(#inhscale)\" stroke=\"#999\"/>\n", cx, cy, cw);
        static const double ticks[6] = {0, 0.01, 0.05, 0.2, 0.5, 1};   /* 1, 2, 5 x 10^k, spread along sqrt */
        for (int k = 0; k < 6; k++)
            inh__wprintf(w, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n",
                         cx + cw * sqrt(ticks[k]), cx + cw * sqrt(ticks[k]), cy + 12, cy + 16, cx + cw * sqrt(ticks[k]), cy + 27, ticks[k]);
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">attention weight (colour ~ sqrt of the weight, so that small weights show)</text>\n", cx + cw + 12, cy + 10);
        y += 70;
    }
    for (int i = 0; i < nheat; i++) {
        int l = layers[i];
        if (l < 0 || l >= a->L) continue;
        inh__wprintf(w, "<text x=\"20\" y=\"%.1f\" font-size=\"13\">layer %d%s%s</text>\n", y + 14, l,
                     a->lazy[l] ? " (lazy)" : "", a->dropped[l] ? " (attention dropped)" : "");
        y += 24;
        for (int h = 0; h < a->NH; h++) {
            double hx = 50 + (h % per_row) * (S + gap), hy = y + 14 + (h / per_row) * (S + 52);
            double rk = a->rank[(size_t)l * a->NH + h], ms = a->mass[(size_t)l * a->NH + h];
            inh__wprintf(w, "<g><title>layer %d head %d: mean rank k* %.3f, mass m* %.2f, sink %.4f</title>\n", l, h, rk, ms,
                         (double)a->sink[(size_t)l * a->NH + h]);
            if (!a->dropped[l] && inh__an_heatmap(w, a->attention + ((size_t)l * a->NH + h) * a->T * a->T, a->T, hx, hy, S)) return -1;
            /* axes: keys left to right along the top, queries top to bottom along the left */
            inh__wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">0</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%d</text>"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">key j &#8594;</text>\n"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%d</text>"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">&#8592; query t</text>\n"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">head %d: mean k* %.2f, m* %.1f</text></g>\n",
                         hx, hy, S, S, hx, hy - 3, hx + S, hy - 3, a->T - 1, hx + S / 2, hy - 3, hx - 3, hy + S, a->T - 1,
                         hx - 8, hy + S / 2, hx - 8, hy + S / 2, hx, hy + S + 14, h, rk, ms);
        }
        y += rows_per_layer * (S + 52);
    }
    inh__wprintf(w, "</svg>\n");
    return 0;
}

INHDEF int inh_analysis_write_svg(const inh_analysis *a, const int *layers, int nlayers, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    if (inh__analysis_svg(&w, a, layers, nlayers)) { inh__wabort(&w); return -1; }
    return inh__wclose(&w);
}

INH__FN void inh__an_html_head(inh__wfile *w, const char *title) {
    inh__wprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
                    "<style>body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;font-size:12px}"
                    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}tr.lazy td{background:#fde0e0}"
                    "tr.dropped td{color:#888}svg{width:100%%;height:auto}</style></head><body>\n", title);
}

/* shortcut attention: heads x selected layers (share of each head's mass), then the tokens of
   sequence 0 x layers (mean over heads); colour = share, white at the map's smallest value to dark
   blue at its largest (shares near 1/n would all look alike on a fixed 0..1 scale) */
INH__FN void inh__an_sc_colour(double v, char *buf, size_t n) {
    v = v <= 0 || !isfinite(v) ? 0 : v >= 1 ? 1 : v;
    snprintf(buf, n, "rgb(%d,%d,%d)", (int)(255 - v * (255 - 8)), (int)(255 - v * (255 - 48)), (int)(255 - v * (255 - 107)));
}
INH__FN void inh__analysis_sc_svg(inh__wfile *w, const inh_analysis *a) {
    int n = a->sc_n, NH = a->NH, T = a->T;
    double cw = n <= 12 ? 48 : 576.0 / n, ch = 22, x0 = 90, y0 = 100, W1 = x0 + n * cw + 150;
    double tw = T <= 128 ? 8 : 1024.0 / T, th = n <= 16 ? 18 : 288.0 / n, x1 = 90, y1 = y0 + NH * ch + 80;
    double W = W1 > x1 + T * tw + 40 ? W1 : x1 + T * tw + 40, H = y1 + n * th + 60, lh = 1, mh = 0, lt = 1, mt = 0;
    char col[32];
    if (W < 900) W = 900;
    for (int k = 0; k < NH * n; k++) { if (a->sc_share[k] > mh) mh = a->sc_share[k]; if (a->sc_share[k] < lh) lh = a->sc_share[k]; }
    for (int k = 0; k < T * n; k++) { if (a->sc_tokens[k] > mt) mt = a->sc_tokens[k]; if (a->sc_tokens[k] < lt) lt = a->sc_tokens[k]; }
    if (!(mh > lh)) { lh = 0; mh = 1; }
    if (!(mt > lt)) { lt = 0; mt = 1; }
    inh__wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n", W, H, W, H);
    inh__wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    inh__wprintf(w, "<text x=\"20\" y=\"28\" font-size=\"18\" font-weight=\"bold\">Shortcut attention (%s): which depth each head of the last layer reads</text>\n",
                 inh_sc_variant_name(a->sc_variant));
    inh__wprintf(w, "<text x=\"20\" y=\"48\" font-size=\"12\">Share of each head's shortcut attention mass on each selected layer's features, "
                    "mean over %d sequences x %d queries;</text>\n", a->seqs, T);
    inh__wprintf(w, "<text x=\"20\" y=\"64\" font-size=\"12\">H: entropy over the layers in nats (max ln %d = %.3f). "
                    "Colour: white at the smallest share, %.3f, to dark blue at the largest, %.3f (uniform: %.3f).</text>\n", n, log((double)n), lh, mh, 1.0 / n);
    for (int i = 0; i < n; i++)
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", x0 + (i + 0.5) * cw, y0 - 6, a->sc_layer[i]);
    inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">layer</text>\n", x0 + n * cw / 2, y0 - 20);
    for (int h = 0; h < NH; h++) {
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">head %d</text>\n", x0 - 6, y0 + h * ch + 15, h);
        for (int i = 0; i < n; i++) {
            double v = a->sc_share[(size_t)h * n + i];
            inh__an_sc_colour((v - lh) / (mh - lh), col, sizeof col);
            inh__wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\"><title>head %d, layer %d: %.4f</title></rect>\n",
                         x0 + i * cw, y0 + h * ch, cw, ch, col, h, a->sc_layer[i], v);
            if (cw >= 30) inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"%s\">%.3f</text>\n",
                                       x0 + (i + 0.5) * cw, y0 + h * ch + 14, (v - lh) / (mh - lh) > 0.6 ? "#fff" : "#222", v);
        }
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">H = %.3f</text>\n", x0 + n * cw + 8, y0 + h * ch + 15, (double)a->sc_entropy[h]);
    }
    inh__wprintf(w, "<text x=\"20\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">Sequence 0: the depth each token reaches for "
                    "(mean over heads; white %.3f, dark blue %.3f)</text>\n", y1 - 30, lt, mt);
    for (int i = 0; i < n; i++) {
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">layer %d</text>\n", x1 - 6, y1 + i * th + th * 0.7, a->sc_layer[i]);
        for (int t = 0; t < T; t++) {
            double v = a->sc_tokens[(size_t)t * n + i];
            inh__an_sc_colour((v - lt) / (mt - lt), col, sizeof col);
            inh__wprintf(w, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"><title>token %d, layer %d: %.3f</title></rect>\n",
                         x1 + t * tw, y1 + i * th, tw, th, col, t, a->sc_layer[i], v);
        }
    }
    double tk[INH__MAX_TICKS];
    int dec, ntk = inh__ticks_int(0, T - 1, 12, tk, &dec);
    inh__wprintf(w, "<g class=\"axis\">\n");
    for (int k = 0; k < ntk; k++)
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", x1 + (tk[k] + 0.5) * tw, y1 + n * th + 14, (int)tk[k]);
    inh__wprintf(w, "</g>\n");
    inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">token position</text>\n", x1 + T * tw / 2, y1 + n * th + 32);
    inh__wprintf(w, "</svg>\n");
}

INHDEF int inh_analysis_write_html(const inh_analysis *a, const int *layers, int nlayers, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__an_html_head(&w, "inheritune analysis");
    if (inh__analysis_svg(&w, a, layers, nlayers)) { inh__wabort(&w); return -1; }
    inh__wprintf(&w, "<table><tr><th>layer</th><th>MaxRank</th>%s<th>AvgMass</th><th>lazy</th><th>sink</th><th>block infl.</th>"
                     "<th>angular dist.</th><th>attn importance</th><th>entropy</th></tr>\n", a->has_baseline ? "<th>MaxRank (random init)</th>" : "");
    for (int l = 0; l < a->L; l++) {
        char base[48] = "";
        if (a->has_baseline) snprintf(base, sizeof base, "<td>%.3f</td>", (double)a->baseline_max_rank[l]);
        inh__wprintf(&w, "<tr class=\"%s\"><td>%d</td><td>%.3f</td>%s<td>%.2f</td><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n",
                     a->dropped[l] ? "dropped" : a->lazy[l] ? "lazy" : "", l, (double)a->max_rank[l], base, (double)a->avg_mass[l],
                     a->lazy[l] ? "yes" : "", (double)a->sink_layer[l], (double)a->block_influence[l], (double)a->angular_distance[l],
                     (double)a->attn_importance[l], (double)a->entropy_layer[l]);
    }
    inh__wprintf(&w, "</table>\n");
    if (a->sc_n) inh__analysis_sc_svg(&w, a);
    inh__wprintf(&w, "</body></html>\n");
    return inh__wclose(&w);
}

/* the points whose speed-up varied by more than INH_SWEEP_WIDE_SPREAD between passes, and the widest */
INH__FN int inh__sweep_wide(const inh_sweep *s, double *widest) {
    int n = 0;
    *widest = 0;
    for (int p = 0; p < s->curves * (s->L + 1); p++)
        if (isfinite(s->spread[p]) && s->spread[p] > INH_SWEEP_WIDE_SPREAD) { n++; if (s->spread[p] > *widest) *widest = s->spread[p]; }
    return n;
}

INH__FN void inh__sweep_svg(inh__wfile *w, const inh_sweep *s) {
    const double W = 1000, H = 770;
    static const char *const col[2] = {"#4c78a8", "#d62728"};
    int L = s->L, timed = s->repeats > 0;
    double tk[INH__MAX_TICKS], widest;
    int dec, ntk, wide = inh__sweep_wide(s, &widest);
    char lab[48];
    inh__wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n", W, H, W, H);
    inh__wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    inh__wprintf(w, "<text x=\"20\" y=\"30\" font-size=\"20\" font-weight=\"bold\">Dropping attention sub-layers: loss and speed vs k</text>\n");
    inh__an_source(w, s->source, 20, 72);
    for (int c = 0; c < s->curves; c++) {
        inh__wprintf(w, "<rect x=\"%d\" y=\"42\" width=\"14\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"50\" font-size=\"12\">", 20 + c * 300, col[c], 40 + c * 300);
        inh__an_wtext(w, s->names[c]);
        inh__wprintf(w, "</text>\n");
    }
    for (int panel = 0; panel < 2; panel++) {
        double x0 = 70, y0 = 110 + panel * 330, pw = W - 110, ph = 250, lo = INFINITY, hi = -INFINITY;
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", x0 + 40, y0 - 10,
                     panel == 0 ? "validation loss" : "speed-up (tokens/s relative to k = 0)");
        if (panel == 1 && !timed) {
            inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#444\">not timed (--repeats 0): losses only</text>\n", x0 + 40, y0 + 30);
            continue;
        }
        for (int c = 0; c < s->curves; c++)
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->speedup[c * (L + 1) + k], rlo = v, rhi = v;
                if (panel == 1) inh_sweep_speedup_range(s, c, k, &rlo, &rhi);
                if (isfinite(rlo) && rlo < lo) lo = rlo;
                if (isfinite(rhi) && rhi > hi) hi = rhi;
            }
        if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.08;
        lo -= pad; hi += pad;
#define INH__SX(k) (x0 + pw * (k) / (L > 0 ? L : 1))
#define INH__SY(v) (y0 + ph - ph * ((v) - lo) / (hi - lo))
        ntk = inh__ticks(lo, hi, 7, tk, &dec);
        inh__wprintf(w, "<g class=\"axis\">\n");
        for (int g = 0; g < ntk; g++) {
            inh__tick_label(lab, sizeof lab, tk[g], dec);
            inh__wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
                         x0, INH__SY(tk[g]), x0 + pw, INH__SY(tk[g]), x0 - 4, INH__SY(tk[g]) + 3, lab);
        }
        inh__wprintf(w, "</g>\n<g class=\"axis\">\n");
        ntk = inh__ticks_int(0, L, 13, tk, &dec);
        for (int g = 0; g < ntk; g++) {
            inh__tick_label(lab, sizeof lab, tk[g], dec);
            inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n", INH__SX(tk[g]), y0 + ph + 14, lab);
        }
        inh__wprintf(w, "</g>\n");
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">k = attention sub-layers dropped</text>\n", x0 + pw / 2, y0 + ph + 30);
        if (panel == 0)
            inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11.5\" fill=\"#444\">Validation loss with the attention of k layers skipped. "
                            "Lower is better; a flat start means those layers' attention was lazy (not needed).</text>\n", x0, y0 + ph + 46);
        else {
            inh__wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11.5\" fill=\"#444\">Tokens per second relative to k = 0: median of %d timed pass%s "
                            "(bars: their range). Higher = faster.", x0, y0 + ph + 46, s->repeats, s->repeats == 1 ? "" : "es");
            if (wide) inh__wprintf(w, " Wide spread (up to %.0f%%): a busy machine; more repeats give steadier numbers.", 100 * widest);
            inh__wprintf(w, "</text>\n");
        }
        inh__wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x0, y0 + ph, x0 + pw, y0 + ph);
        for (int c = 0; c < s->curves; c++) {
            inh__wprintf(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col[c]);
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->speedup[c * (L + 1) + k];
                inh__wprintf(w, "%.1f,%.1f ", INH__SX(k), INH__SY(v));
            }
            inh__wprintf(w, "\"/>\n");
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->speedup[c * (L + 1) + k], rlo, rhi;
                if (panel == 1 && inh_sweep_speedup_range(s, c, k, &rlo, &rhi) && rhi > rlo)
                    inh__wprintf(w, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-opacity=\"0.5\" stroke-width=\"3\"/>\n",
                                 INH__SX(k), INH__SX(k), INH__SY(rlo), INH__SY(rhi), col[c]);
                if (panel == 1)
                    inh__wprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>k=%d: %.5g (spread %.1f%%)</title></circle>\n",
                                 INH__SX(k), INH__SY(v), col[c], k, v, 100 * (isfinite(s->spread[c * (L + 1) + k]) ? s->spread[c * (L + 1) + k] : 0.0));
                else
                    inh__wprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>k=%d: %.5g</title></circle>\n", INH__SX(k), INH__SY(v), col[c], k, v);
            }
        }
#undef INH__SX
#undef INH__SY
    }
    inh__wprintf(w, "</svg>\n");
}

INHDEF int inh_sweep_write_svg(const inh_sweep *s, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__sweep_svg(&w, s);
    return inh__wclose(&w);
}

INHDEF int inh_sweep_write_html(const inh_sweep *s, const char *path) {
    inh__wfile w;
    int L = s->L;
    double widest;
    if (inh__wopen(&w, path)) return -1;
    inh__an_html_head(&w, "inheritune drop sweep");
    inh__sweep_svg(&w, s);
    if (s->repeats == 0) inh__wprintf(&w, "<p>Not timed (--repeats 0): losses only.</p>\n");
    else {
        inh__wprintf(&w, "<p>Speed: median of %d timed pass%s over every point (each timed run %d evaluation%s, after an untimed warm-up); "
                         "spread = (largest - smallest) / median of a point's speed-ups.", s->repeats, s->repeats == 1 ? "" : "es", s->inner, s->inner == 1 ? "" : "s");
        int wide = inh__sweep_wide(s, &widest);
        if (wide) inh__wprintf(&w, " <b>Note: %d point%s by more than %.0f%% (up to %.0f%%)</b>: the machine was busy; more repeats or an idle machine give steadier numbers.",
                               wide, wide == 1 ? " varies" : "s vary", 100 * INH_SWEEP_WIDE_SPREAD, 100 * widest);
        inh__wprintf(&w, "</p>\n");
    }
    for (int c = 0; c < s->curves; c++) {
        inh__wprintf(&w, "<h3>");
        inh__an_wtext(&w, s->names[c]);
        inh__wprintf(&w, "</h3><table><tr><th>k</th><th>dropped layer</th><th>loss</th><th>loss - full</th><th>tokens/s</th><th>speed-up</th><th>spread</th></tr>\n");
        for (int k = 0; k <= L; k++) {
            const float *ls = s->loss + c * (L + 1);
            int p = c * (L + 1) + k;
            inh__wprintf(&w, "<tr><td>%d</td><td>", k);
            if (k) inh__wprintf(&w, "%d", s->order[c * L + k - 1]);
            inh__wprintf(&w, "</td><td>%.5f</td><td>%+.5f</td>", (double)ls[k], (double)(ls[k] - ls[0]));
            if (s->repeats == 0) inh__wprintf(&w, "<td>-</td><td>-</td><td>-</td></tr>\n");
            else if (!isfinite(s->spread[p])) inh__wprintf(&w, "<td>%.0f</td><td>%.3f</td><td>-</td></tr>\n", s->tokens_per_s[p], s->speedup[p]);
            else inh__wprintf(&w, "<td>%.0f</td><td>%.3f</td><td>%.1f%%</td></tr>\n", s->tokens_per_s[p], s->speedup[p], 100 * s->spread[p]);
        }
        inh__wprintf(&w, "</table>\n");
    }
    inh__wprintf(&w, "</body></html>\n");
    return inh__wclose(&w);
}

INHDEF int inh_sweep_write_json(const inh_sweep *s, const char *path) {
    inh__wfile w;
    int L = s->L;
    if (inh__wopen(&w, path)) return -1;
    inh__wprintf(&w, "{\"layers\": %d, \"repeats\": %d, \"inner\": %d, \"wide_spread\": %.9g, \"timed\": %s, \"curves\": [\n",
                 L, s->repeats, s->inner, INH_SWEEP_WIDE_SPREAD, s->repeats > 0 ? "true" : "false");
    for (int c = 0; c < s->curves; c++) {
        inh__wprintf(&w, " {\"name\": \"");
        for (const char *q = s->names[c]; *q; q++) inh__wprintf(&w, *q == '"' || *q == '\\' ? "\\%c" : "%c", *q);
        inh__wprintf(&w, "\", \"points\": [\n");
        for (int k = 0; k <= L; k++) {
            int p = c * (L + 1) + k;
            inh__wprintf(&w, "  {\"k\": %d, \"layer\": %d, \"loss\": ", k, k ? s->order[c * L + k - 1] : -1);
            inh__an_wnum(&w, s->loss[p]);
            inh__wprintf(&w, ", \"tokens_per_s\": "); inh__an_wnum(&w, s->tokens_per_s[p]);
            inh__wprintf(&w, ", \"speedup\": "); inh__an_wnum(&w, s->speedup[p]);
            inh__wprintf(&w, ", \"spread\": "); inh__an_wnum(&w, s->spread[p]);
            inh__wprintf(&w, ", \"wide\": %s, \"seconds\": [", isfinite(s->spread[p]) && s->spread[p] > INH_SWEEP_WIDE_SPREAD ? "true" : "false");
            for (int r = 0; r < s->repeats; r++) { if (r) inh__wprintf(&w, ", "); inh__an_wnum(&w, s->seconds[(size_t)p * s->repeats + r]); }
            inh__wprintf(&w, "]}%s\n", k < L ? "," : "");
        }
        inh__wprintf(&w, " ]}%s\n", c + 1 < s->curves ? "," : "");
    }
    inh__wprintf(&w, "]}\n");
    return inh__wclose(&w);
}

/* ---------------------------------------------------------------------------------------------
   Inheritune recipe */

/* copy the shortcut tensors dst and src share: the feature maps of layers selected in both, and the
   sub-layer's 8 tensors when src has them */
INH__FN void inh__sc_copy(inh_model *dst, const inh_model *src) {
    int sel[INH_SC_MAX_LAYER], n = inh_sc_layers(&dst->cfg, sel), ns = inh_sc_layers(&src->cfg, NULL);
    if (!n || !ns) return;
    size_t C = (size_t)dst->cfg.C;
    const float *sp = src->params.sc_lnw;
    float *dp = dst->params.sc_lnw;
    for (int p = 16; p <= 21; p++) {
        size_t per = dst->param_sizes[p] / (size_t)n;
        for (int i = 0; i < n; i++) {
            int l = sel[i], j = 0;
            if (!(src->cfg.sc_layers[l / 32] >> (l % 32) & 1u)) continue;
            for (int k = 0; k < l; k++) j += (int)(src->cfg.sc_layers[k / 32] >> (k % 32) & 1u);   /* l's rank in src */
            memcpy(dp + i * per, sp + j * per, per * sizeof(float));
        }
        dp += dst->param_sizes[p]; sp += src->param_sizes[p];
    }
    memcpy(dst->params.sc_lnqw, src->params.sc_lnqw, (6 * C + 4 * C * C) * sizeof(float));   /* 22..29, contiguous */
}

INHDEF int inh_model_with_shortcuts(inh_model *dst, const inh_model *src, int variant, const char *layers, uint64_t seed) {
    if (inh_model_sync_host((inh_model *)src)) return -1;   /* a model on another backend: its host copies, current */
    inh_config c = src->cfg;
    if (!layers && src->cfg.shortcuts && variant) c.shortcuts = variant;
    else if (inh_config_set_shortcuts(&c, variant, layers)) return -1;
    if (inh_model_init(dst, &c, seed)) return -1;
    size_t plain = 0;
    for (int i = 0; i < INH_NUM_PARAMS; i++) plain += src->param_sizes[i];
    memcpy(dst->params_mem, src->params_mem, plain * sizeof(float));
    inh__sc_copy(dst, src);
    dst->threads = src->threads; dst->bf16 = src->bf16;
    return 0;
}

INHDEF int inh_inherit(inh_model *dst, const inh_model *ref, int layers, int mode, uint64_t seed) {
    if (inh_model_sync_host((inh_model *)ref)) return -1;   /* a model on another backend: its host copies, current */
    const inh_config *rc = &ref->cfg;
    if (layers < 1 || layers > rc->L)
        return inh__fail("cannot inherit %d layers: the reference has %d", layers, rc->L);
    inh_config c = *rc;
    c.L = layers;
    if (c.shortcuts) {   /* keep the selected layers that stay intermediate */
        for (int l = layers > 1 ? layers - 1 : 0; l < INH_SC_MAX_LAYER; l++) c.sc_layers[l / 32] &= ~(1u << (l % 32));
        if (!inh_sc_layers(&c, NULL)) c.shortcuts = 0;
    }
    if (inh_model_init(dst, &c, seed)) return -1;   /* fresh values for whatever is not inherited */
    const inh_params *s = &ref->params;
    inh_params *d = &dst->params;
    size_t C = (size_t)c.C, l = (size_t)layers;
    memcpy(d->wte, s->wte, (size_t)c.Vp * C * sizeof(float));   /* embeddings and tied head */
    /* per-layer tensors: the first l slices of each (L, ...) tensor */
    for (int i = 2; i < 14; i++) {
        size_t per = ref->param_sizes[i] / (size_t)rc->L;
        float *dp = dst->params_mem, *sp = ref->params_mem;
        for (int k = 0; k < i; k++) { dp += dst->param_sizes[k]; sp += ref->param_sizes[k]; }
        memcpy(dp, sp, l * per * sizeof(float));
    }
    if (mode == INH_INHERIT_PAPER) {
        memcpy(d->wpe, s->wpe, (size_t)c.maxT * C * sizeof(float));
        memcpy(d->lnfw, s->lnfw, C * sizeof(float));
        memcpy(d->lnfb, s->lnfb, C * sizeof(float));
    } else if (mode != INH_INHERIT_REPO) {
        inh_model_free(dst);
        return inh__fail("unknown inherit mode %d", mode);
    }
    inh__sc_copy(dst, ref);
    return 0;
}

INHDEF int inh_stack(inh_model *dst, const inh_model *src) {
    if (inh_model_sync_host((inh_model *)src)) return -1;   /* a model on another backend: its host copies, current */
    inh_config c = src->cfg;
    c.L = 2 * src->cfg.L;
    if (inh__model_alloc(dst, &c, "stacked model")) return -1;
    float *dp = dst->params_mem, *sp = src->params_mem;
    for (int i = 0; i < INH_NUM_PARAMS; i++) {
        size_t n = src->param_sizes[i];
        memcpy(dp, sp, n * sizeof(float));
        if (i >= 2 && i < 14) memcpy(dp + n, sp, n * sizeof(float));   /* the blocks again */
        dp += dst->param_sizes[i]; sp += n;
    }
    inh__sc_copy(dst, src);
    return 0;
}

INHDEF void inh_model_set_distill(inh_model *m, const float *teacher_probs, float w) { m->distill_probs = teacher_probs; m->distill_w = w; }

INHDEF void inh_softmax_rows(float *probs, const float *logits, int N, int V, int Vp) {
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * Vp;
        float *p = probs + (size_t)n * Vp, mx = -INFINITY;
        double sum = 0.0;
        for (int i = 0; i < V; i++) if (l[i] > mx) mx = l[i];
        for (int i = 0; i < V; i++) { p[i] = expf(l[i] - mx); sum += p[i]; }
        for (int i = 0; i < V; i++) p[i] = (float)(p[i] / sum);
        for (int i = V; i < Vp; i++) p[i] = 0.0f;
    }
}

INHDEF void inh_recipe_opts_default(inh_recipe_opts *o) {
    memset(o, 0, sizeof *o);
    inh_train_opts_default(&o->train);
    o->train.opt.beta1 = 0.9f; o->train.opt.beta2 = 0.95f; o->train.opt.weight_decay = 0.1f; o->train.opt.grad_clip = 1.0f;
    o->grow = 2; o->eval_every = 50; o->eval_batches = 20; o->save_every = 50; o->threads = 1;
    o->baselines = INH_BASELINE_RANDOM;
}

/* the journal: one line per finished run, "name layers params val_loss steps seconds n step:loss ..." */
INH__FN int inh__journal_append(const inh_recipe_run_result *u, const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/recipe.log", dir);
    FILE *f = inh__os_fopen(path, "ab");   /* a line cut short by a crash fails to parse and is ignored */
    if (!f) return inh__fail("%s: cannot append: %s", path, strerror(errno));
    fprintf(f, "%s %d %zu %.9g %d %.3f %d", u->name, u->layers, u->params, u->val_loss, u->steps, u->seconds, u->n_curve);
    for (int k = 0; k < u->n_curve; k++) fprintf(f, " %d:%.9g", u->curve_step[k], u->curve_loss[k]);
    fprintf(f, "\n");
    int bad = fflush(f) != 0 || inh__os_fsync(f) != 0;
    if (fclose(f) != 0 || bad) return inh__fail("%s: write failed", path);
    return 0;
}
/* find a finished run in the journal; 1 found, 0 not */
INH__FN int inh__journal_find(const char *dir, const char *name, inh_recipe_run_result *u) {
    char path[4200], line[16384];
    snprintf(path, sizeof path, "%s/recipe.log", dir);
    FILE *f = inh__os_fopen(path, "rb");
    int found = 0;
    if (!f) return 0;
    while (!found && fgets(line, sizeof line, f)) {
        char nm[32];
        int pos = 0;
        memset(u, 0, sizeof *u);
        if (sscanf(line, "%31s %d %zu %f %d %lf %d%n", nm, &u->layers, &u->params, &u->val_loss, &u->steps, &u->seconds, &u->n_curve, &pos) != 7 ||
            strcmp(nm, name) || u->n_curve < 0 || u->n_curve > 256) continue;
        snprintf(u->name, sizeof u->name, "%s", nm);
        const char *p = line + pos;
        int k = 0, adv;
        while (k < u->n_curve && sscanf(p, " %d:%f%n", &u->curve_step[k], &u->curve_loss[k], &adv) == 2) { p += adv; k++; }
        found = k == u->n_curve;
    }
    fclose(f);
    return found;
}

typedef struct {
    const inh_recipe_opts *o;
    inh_recipe_progress_fn fn;
    void *user;
    inh_data train, val;
    inh_model *teacher;          /* for distillation */
    float *teacher_probs;
    long long steps_left_plan;   /* steps still planned after the current run (estimate) */
    int eval_batches;            /* o->eval_batches, or fewer: never more batches than val holds */
} inh__recipe;

/* The run handed to o->trainer: m (the starting model) goes to NAME.init.bin unless an interrupted
   attempt left NAME.state; the trainer writes NAME.bin, which is read back, checked against the
   starting model's shape and evaluated here, so every run's loss is the recipe's own. */
INH__FN int inh__recipe_delegate(inh__recipe *R, const char *name, inh_model *m, int steps, inh_recipe_run_result *u) {
    const inh_recipe_opts *o = R->o;
    char state[4200], model[4200], curve[4200], init[4200];
    inh_recipe_job *job = INH__CALLOC(inh_recipe_job, 1);
    inh_config c0 = m->cfg, c1;   /* from the header only: no padding, memcmp compares values */
    int rc = 0;
    if (!job) return -1;
    snprintf(state, sizeof state, "%s/%s.state", o->out_dir, name);
    snprintf(model, sizeof model, "%s/%s.bin", o->out_dir, name);
    snprintf(curve, sizeof curve, "%s/%s.curve", o->out_dir, name);
    snprintf(init, sizeof init, "%s/%s.init.bin", o->out_dir, name);
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    job->run = u->name; job->state_path = state; job->out_path = model;
    job->train_path = o->train_path; job->val_path = o->val_path;
    job->train = o->train; job->train.steps = steps;
    job->eval_every = o->eval_every; job->eval_batches = R->eval_batches; job->save_every = o->save_every;
    if (inh__os_kind(state) == 1) {
        job->resume_path = state;
        FILE *f = inh__os_fopen(curve, "rb");   /* the points reported before the interruption */
        while (f && job->n_curve < 256 && fscanf(f, "%d %f", &job->curve_step[job->n_curve], &job->curve_loss[job->n_curve]) == 2) job->n_curve++;
        if (f) fclose(f);
    } else if (inh_model_save(m, init)) {
        INH_FREE(job);
        return -1;
    } else {   /* the first point of every curve, as with the built-in trainer: the starting model's loss */
        job->init_path = init;
        m->threads = o->threads;
        m->bf16 = o->train.bf16 != 0;
        if (inh_model_set_backend(m, o->backend, o->backend_ctx) || inh_eval_loss(m, &R->val, o->train.B, o->train.T, R->eval_batches, &job->curve_loss[0])) { INH_FREE(job); return -1; }
        job->curve_step[0] = 0; job->n_curve = 1;
    }
    double t0 = inh_now();
    int failed = o->trainer(o->trainer_user, job);
    FILE *cf = inh__os_fopen(curve, "wb");
    for (int k = 0; cf && k < job->n_curve; k++) fprintf(cf, "%d %.9g\n", job->curve_step[k], job->curve_loss[k]);
    if (cf) fclose(cf);
    if (failed) {
        rc = inh__fail("%s: %s; run again with the same output directory to resume", name, job->message[0] ? job->message : "the trainer failed");
        goto done;
    }
    inh_model_free(m);
    if (inh_model_load(m, model)) { rc = -1; goto done; }
    c1 = m->cfg;
    if (memcmp(&c1, &c0, sizeof c0)) {   /* every field of the config is in the file's header: all must survive */
        rc = inh__fail("%s: the trainer's model is not the one it started from (L=%d C=%d V=%d, options %d/%d; want L=%d C=%d V=%d, options %d/%d)",
                       model, c1.L, c1.C, c1.V, c1.bias, c1.layer_scale, c0.L, c0.C, c0.V, c0.bias, c0.layer_scale);
        goto done;
    }
    m->threads = o->threads;
    m->bf16 = o->train.bf16 != 0;
    if (inh_model_set_backend(m, o->backend, o->backend_ctx)) { rc = -1; goto done; }
    for (int k = 0; k < job->n_curve && u->n_curve < 255; k++)   /* the steps the built-in trainer evaluates at; the last is ours */
        if (job->curve_step[k] < steps && o->eval_every && job->curve_step[k] % o->eval_every == 0) {
            u->curve_step[u->n_curve] = job->curve_step[k]; u->curve_loss[u->n_curve++] = job->curve_loss[k];
        }
    if (inh_eval_loss(m, &R->val, o->train.B, o->train.T, R->eval_batches, &u->curve_loss[u->n_curve])) { rc = -1; goto done; }
    u->curve_step[u->n_curve++] = steps;
    u->layers = m->cfg.L; u->params = m->num_params; u->steps = steps;
    u->val_loss = u->curve_loss[u->n_curve - 1];
    u->seconds = inh_now() - t0;
    inh__os_remove(state); inh__os_remove(curve); inh__os_remove(init);
done:
    INH_FREE(job);
    return rc;
}

/* Train m for `steps` (fresh optimizer), or resume `name` from its state file; save NAME.bin. */
INH__FN int inh__recipe_train(inh__recipe *R, const char *name, inh_model *m, int steps, inh_recipe_run_result *u) {
    const inh_recipe_opts *o = R->o;
    if (o->trainer) return inh__recipe_delegate(R, name, m, steps, u);
    char state[4200], model[4200], curve[4200];
    inh_trainer t;
    inh_train_opts to = o->train;
    int rc = 0;
    double before = 0.0;         /* seconds this run trained before an interruption */
    FILE *cf;
    to.steps = steps;
    snprintf(state, sizeof state, "%s/%s.state", o->out_dir, name);
    snprintf(model, sizeof model, "%s/%s.bin", o->out_dir, name);
    snprintf(curve, sizeof curve, "%s/%s.curve", o->out_dir, name);
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    int fresh = inh__os_kind(state) != 1;
    if (!fresh) {   /* resume: the state file replaces the fresh model */
        inh_model_free(m);
        if (inh_trainer_load_state(&t, m, &R->train, state)) return -1;
        /* the curve file: "STEP LOSS" points, and "t STEP SECONDS" at every save (time so far) */
        FILE *f = inh__os_fopen(curve, "rb");
        char line[128];
        while (f && fgets(line, sizeof line, f)) {
            int k;
            double sec;
            float v;
            if (line[0] == 't') { if (sscanf(line, "t %d %lf", &k, &sec) == 2 && k == t.step) before = sec; }
            else if (u->n_curve < 256 && sscanf(line, "%d %f", &k, &v) == 2 && k <= t.step) {
                u->curve_step[u->n_curve] = k; u->curve_loss[u->n_curve++] = v;
            }
        }
        if (f) fclose(f);
    } else if (inh_trainer_init(&t, m, &R->train, &to)) {
        return -1;
    }
    m->threads = o->threads;
    if (inh_model_set_backend(m, o->backend, o->backend_ctx)) { inh_trainer_free(&t); return -1; }
    if (fresh) {   /* the first point of every curve: the starting model's loss, before training */
        if (inh_eval_loss(m, &R->val, to.B, to.T, R->eval_batches, &u->curve_loss[0])) { inh_trainer_free(&t); return -1; }
        u->curve_step[0] = 0; u->n_curve = 1;
    }
    if (R->teacher) inh_model_set_distill(m, R->teacher_probs, 0.4f);
    cf = inh__os_fopen(curve, "wb");
    for (int k = 0; cf && k < u->n_curve; k++) fprintf(cf, "%d %.9g\n", u->curve_step[k], u->curve_loss[k]);
    double t0 = inh_now();
    int first = t.step;
    while (t.step < steps && !rc) {
        inh_step_info info;
        if (R->teacher) {   /* the teacher sees the same batch: peek at it without moving the data */
            inh_data save = R->train;
            rc = inh_data_next(&R->train, to.B, to.T, t.inputs, t.targets);
            R->train.pos = save.pos; R->train.rng = save.rng; R->train.cur = save.cur;
            if (!rc) rc = inh_model_forward(R->teacher, t.inputs, NULL, to.B, to.T);
            if (!rc) inh_softmax_rows(R->teacher_probs, R->teacher->acts.logits, to.B * to.T, R->teacher->cfg.V, R->teacher->cfg.Vp);
            if (rc) break;
        }
        if ((rc = inh_trainer_step(&t, &info)) != 0) break;
        int evals = (o->eval_every && t.step % o->eval_every == 0) || t.step == steps;
        inh_recipe_progress p;
        double per = (inh_now() - t0) / (t.step - first);
        p.run = name; p.step = t.step; p.steps = steps; p.loss = info.loss; p.val_loss = NAN;
        p.tok_per_s = (double)to.B * to.T * to.accum / info.seconds;
        p.run_left_s = per * (steps - t.step);
        p.total_left_s = p.run_left_s + per * (double)R->steps_left_plan;
        if (evals && !(rc = inh_eval_loss(m, &R->val, to.B, to.T, R->eval_batches, &p.val_loss))) {
            if (u->n_curve < 256) { u->curve_step[u->n_curve] = t.step; u->curve_loss[u->n_curve++] = p.val_loss; }
            if (cf) { fprintf(cf, "%d %.9g\n", t.step, p.val_loss); fflush(cf); }
        }
        int stop = R->fn && !rc ? R->fn(R->user, &p) : 0;
        if (!rc && ((o->save_every && t.step % o->save_every == 0) || stop) && t.step < steps) {
            rc = inh_trainer_save_state(&t, state);
            if (!rc && cf) { fprintf(cf, "t %d %.3f\n", t.step, before + inh_now() - t0); fflush(cf); }
        }
        if (!rc && stop) rc = inh__fail("stopped at step %d of %s; run again with the same output directory to resume", t.step, name);
    }
    if (cf) fclose(cf);
    if (!rc && u->n_curve == 0) {   /* zero steps: still one validation point */
        rc = inh_eval_loss(m, &R->val, to.B, to.T, R->eval_batches, &u->curve_loss[0]);
        u->curve_step[0] = 0; u->n_curve = 1;
    }
    inh_model_set_distill(m, NULL, 0.0f);
    inh_trainer_free(&t);
    if (rc) return -1;
    if (inh_model_save(m, model)) return -1;
    u->layers = m->cfg.L; u->params = m->num_params; u->steps = steps;
    u->val_loss = u->curve_loss[u->n_curve - 1];
    u->seconds = before + inh_now() - t0;
    inh__os_remove(state);
    inh__os_remove(curve);
    return 0;
}

/* run `name` unless the journal has it; `make` builds the starting model */
typedef int (*inh__make_fn)(inh_model *m, void *ctx);
INH__FN int inh__recipe_step(inh__recipe *R, inh_recipe_result *r, const char *name, int steps, inh__make_fn make, void *ctx) {
    inh_recipe_run_result *u = &r->runs[r->n_runs];
    if (r->n_runs >= 48) return inh__fail("too many recipe runs");
    if (inh__journal_find(R->o->out_dir, name, u)) { r->n_runs++; return 0; }
    inh_model m;
    memset(&m, 0, sizeof m);
    if (make(&m, ctx)) return -1;
    /* recipe --shortcuts: every run has them (a 1-layer run, e.g. half of a 2-layer stack, cannot) */
    if (R->o->shortcuts && m.cfg.shortcuts != R->o->shortcuts && m.cfg.L >= 2) {
        inh_model w;
        int bad = inh_model_with_shortcuts(&w, &m, R->o->shortcuts, NULL, R->o->train.seed + 7);
        inh_model_free(&m);
        if (bad) return -1;
        m = w;
    }
    int rc = inh__recipe_train(R, name, &m, steps, u);
    inh_model_free(&m);
    if (rc) return -1;
    r->n_runs++;
    return inh__journal_append(u, R->o->out_dir);
}

typedef struct { const inh_model *ref; int layers, mode, steps; uint64_t seed; inh__recipe *R; } inh__make_ctx;
static int inh__make_inherit(inh_model *m, void *p) { inh__make_ctx *c = (inh__make_ctx *)p; return inh_inherit(m, c->ref, c->layers, c->mode, c->seed); }
static int inh__make_random(inh_model *m, void *p) {
    inh__make_ctx *c = (inh__make_ctx *)p;
    inh_config cfg = c->ref->cfg;
    cfg.L = c->layers;
    return inh_model_init(m, &cfg, c->seed);
}
static int inh__make_copy(inh_model *m, void *p) {
    inh__make_ctx *c = (inh__make_ctx *)p;
    if (inh__model_alloc(m, &c->ref->cfg, "reference copy")) return -1;
    memcpy(m->params_mem, c->ref->params_mem, m->num_params * sizeof(float));
    return 0;
}
static int inh__make_stack(inh_model *m, void *p) {   /* train half depth for half the steps, then stack */
    inh__make_ctx *c = (inh__make_ctx *)p;
    inh__make_ctx h = *c;
    char path[4200];
    inh_model half;
    inh_recipe_result *tmp = INH__CALLOC(inh_recipe_result, 1);   /* 100 KB: not on the stack (WASI's is 64 KB) */
    if (!tmp) return -1;
    h.layers = (c->layers + 1) / 2;
    int step_rc = inh__recipe_step(c->R, tmp, "stack_half", c->steps / 2, inh__make_random, &h);
    INH_FREE(tmp);
    if (step_rc) return -1;
    snprintf(path, sizeof path, "%s/stack_half.bin", c->R->o->out_dir);
    if (inh_model_load(&half, path)) return -1;
    int rc = inh_stack(m, &half);
    inh_model_free(&half);
    return rc;
}

/* The stack baseline's row covers both phases: the half-depth run's curve, then the stacked run's
   with its steps offset by the first phase's; steps and seconds are the sums. The journal keeps
   the two phases apart, so a resumed recipe joins them the same way. */
INH__FN void inh__stack_join(inh_recipe_run_result *u, const inh_recipe_run_result *half) {
    int keep = half->n_curve + u->n_curve <= 256 ? half->n_curve : 256 - u->n_curve;   /* both fit in 256 unless eval_every is tiny */
    if (keep < 0) keep = 0;
    memmove(u->curve_step + keep, u->curve_step, (size_t)u->n_curve * sizeof(int));
    memmove(u->curve_loss + keep, u->curve_loss, (size_t)u->n_curve * sizeof(float));
    for (int k = 0; k < u->n_curve; k++) u->curve_step[keep + k] += half->steps;
    memcpy(u->curve_step, half->curve_step, (size_t)keep * sizeof(int));
    memcpy(u->curve_loss, half->curve_loss, (size_t)keep * sizeof(float));
    u->n_curve += keep;
    u->stacked_at = half->steps;
    u->steps += half->steps;
    u->seconds += half->seconds;
}

/* --- the output directory: lock, settings, fresh start ---------------------------------------- */

/* One process at a time in a directory: an exclusive lock on DIR/recipe.lock (the platform
   section's inh__os_lock), held while the recipe runs. The OS drops it when the process ends,
   however it ends, so no crash leaves it stale; the file keeps the last holder's pid for the
   message. *h: -1 or the held lock. */
INH__FN int inh__recipe_lock(const char *dir, intptr_t *h) {
    char path[4200], pid[32];
    snprintf(path, sizeof path, "%s/recipe.lock", dir);
    int r = inh__os_lock(path, h, pid, sizeof pid);
    if (r < 0) return inh__fail("%s: cannot create: %s", path, strerror(errno));
    if (r > 0) {
        pid[strcspn(pid, "\r\n")] = 0;
        return inh__fail("%s: another recipe (pid %s) is running in this directory; wait for it to end, or give another --out",
                         dir, *pid ? pid : "?");
    }
    return 0;
}

/* Delete what an earlier recipe left in dir: the journal, settings, unfinished states and curves.
   Models of finished runs are overwritten when their runs train again. */
typedef struct { const char *dir; int rc; } inh__clear_ctx;
INH__FN int inh__recipe_clear_one(void *u, const char *name) {
    inh__clear_ctx *c = (inh__clear_ctx *)u;
    char path[4200];
    size_t n = strlen(name);
    int mine = !strcmp(name, "recipe.log") || !strcmp(name, "settings.txt") ||
               (n > 6 && !strcmp(name + n - 6, ".state")) || (n > 6 && !strcmp(name + n - 6, ".curve"));
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if (mine && inh__os_remove(path) != 0) { c->rc = inh__fail("%s: cannot delete: %s", path, strerror(errno)); return 1; }
    return 0;
}
INH__FN int inh__recipe_clear(const char *dir) {
    inh__clear_ctx c = {dir, 0};
    inh__os_dir_each(dir, inh__recipe_clear_one, &c);
    return c.rc;
}

/* settings.txt: "key=value" lines. Keys ending in "_path" are for the reader and are not compared
   (a moved file with the same content is the same run); every other key defines the runs. A key
   missing from an older file is not compared. Adding a setting is one inh__setting line. */
typedef struct { char text[8192]; size_t n; } inh__settings;
INH__PRINTF(3, 4)
INH__FN void inh__setting(inh__settings *S, const char *key, const char *fmt, ...) {
    va_list ap;
    int k = snprintf(S->text + S->n, sizeof S->text - S->n, "%s=", key);
    if (k > 0 && (size_t)k < sizeof S->text - S->n) S->n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(S->text + S->n, sizeof S->text - S->n, fmt, ap);
    va_end(ap);
    if (k > 0 && (size_t)k < sizeof S->text - S->n) S->n += (size_t)k;
    if (S->n + 1 < sizeof S->text) { S->text[S->n++] = '\n'; S->text[S->n] = 0; }
}
/* the value of key in "key=value\n" text, copied into val; 1 found, 0 not */
INH__FN int inh__setting_get(const char *text, const char *key, char *val, size_t cap) {
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, key, kl) && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, "\n");
            if (n >= cap) n = cap - 1;
            memcpy(val, p + kl + 1, n); val[n] = 0;
            return 1;
        }
    }
    return 0;
}

/* a float in the fewest digits that read back to it ("0.0003", not "0.000300000014") */
INH__FN const char *inh__fshort(float v, char *buf, size_t n) {
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, n, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    return buf;
}

INH__FN uint64_t inh__model_hash(const inh_model *m) {
    uint64_t h = 0xcbf29ce484222325ull;
    const uint32_t *w = (const uint32_t *)(const void *)m->params_mem;
    for (size_t i = 0; i < m->num_params; i++) h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

/* the settings that define this recipe's runs */
INH__FN void inh__recipe_settings(const inh_recipe_opts *o, const inh_model *ref, const inh_data *tr, const inh_data *va, inh__settings *S) {
    const inh_train_opts *t = &o->train;
    char f[8][32];
    memset(S, 0, sizeof *S);
    inh__setting(S, "ref_path", "%s", o->ref_path);
    inh__setting(S, "ref", "L=%d NH=%d C=%d maxT=%d V=%d flags=%d params=%zu hash=%016llx", ref->cfg.L, ref->cfg.NH, ref->cfg.C,
                 ref->cfg.maxT, ref->cfg.V, (!ref->cfg.bias) | ref->cfg.layer_scale << 1, ref->num_params, (unsigned long long)inh__model_hash(ref));
    inh__setting(S, "data_path", "%s", o->train_path);
    inh__setting(S, "data", "%zu tokens, hash %016llx", tr->n, (unsigned long long)tr->hash);
    inh__setting(S, "val_path", "%s", o->val_path);
    inh__setting(S, "val", "%zu tokens, hash %016llx", va->n, (unsigned long long)va->hash);
    if (o->start > 0) inh__setting(S, "start", "%d", o->start);
    else inh__setting(S, "start", "%s", o->start == 0 ? "half" : "auto");
    inh__setting(S, "grow", "%d", o->grow);
    inh__setting(S, "mode", "%s", o->mode == INH_INHERIT_REPO ? "repo" : "paper");
    inh__setting(S, "steps", "%d", t->steps);
    inh__setting(S, "batch", "%d", t->B);
    inh__setting(S, "seq", "%d", t->T);
    inh__setting(S, "accum", "%d", t->accum);
    inh__setting(S, "lr", "%s", inh__fshort(t->lr, f[0], 32));
    inh__setting(S, "min_lr", "%s", inh__fshort(t->min_lr, f[1], 32));
    inh__setting(S, "warmup", "%d", t->warmup);
    inh__setting(S, "schedule", "%s", t->schedule == INH_SCHEDULE_CONSTANT ? "constant" : "cosine");
    inh__setting(S, "weight_decay", "%s", inh__fshort(t->opt.weight_decay, f[2], 32));
    inh__setting(S, "decay_all", "%d", t->opt.decay_all);
    inh__setting(S, "beta1", "%s", inh__fshort(t->opt.beta1, f[3], 32));
    inh__setting(S, "beta2", "%s", inh__fshort(t->opt.beta2, f[4], 32));
    inh__setting(S, "eps", "%s", inh__fshort(t->opt.eps, f[5], 32));
    inh__setting(S, "grad_clip", "%s", inh__fshort(t->opt.grad_clip, f[6], 32));
    inh__setting(S, "seed", "%llu", (unsigned long long)t->seed);
    inh__setting(S, "shuffle", "%d", t->shuffle);
    inh__setting(S, "bf16", "%d", t->bf16 != 0);
    inh__setting(S, "eval_batches", "%d", o->eval_batches);
    inh__setting(S, "shortcuts", "%s", inh_sc_variant_name(o->shortcuts));
}

/* Compare with DIR/settings.txt (if any); write: put the current settings there (atomic), once
   every input has been checked and just before the first run trains. */
INH__FN int inh__recipe_check_settings(const char *dir, const inh__settings *S, int write) {
    char path[4200];
    unsigned char *old = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/settings.txt", dir);
    if (!write && inh__os_kind(path) != 0 && inh__read_file(path, &old, &len, 0)) return -1;
    if (old) {
        char *text = INH__ALLOC(char, len + 1);
        if (!text) { INH_FREE(old); return -1; }
        memcpy(text, old, len); text[len] = 0;
        INH_FREE(old);
        for (const char *p = S->text; *p; p += strcspn(p, "\n") + 1) {
            char key[64], now[1024], was[1024], pk[80];
            size_t kl = strcspn(p, "=");
            if (kl == 0 || kl >= sizeof key) continue;
            memcpy(key, p, kl); key[kl] = 0;
            if (kl > 5 && !strcmp(key + kl - 5, "_path")) continue;
            inh__setting_get(p, key, now, sizeof now);
            if (!inh__setting_get(text, key, was, sizeof was) || !strcmp(was, now)) continue;
            snprintf(pk, sizeof pk, "%s_path", key);
            char wp[1024] = "";
            inh__setting_get(text, pk, wp, sizeof wp);
            inh__fail("%s holds the runs of another recipe: its %s is %s%s%s%s, this one's is %s. Give the same settings to resume, or "
                      "start fresh with --fresh (deletes those runs) or another --out", dir, key, was, *wp ? " (" : "", wp, *wp ? ")" : "", now);
            INH_FREE(text);
            return -1;
        }
        INH_FREE(text);
        return 0;
    }
    if (!write) return 0;
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wprintf(&w, "# what defines the runs in this directory; a recipe with other values is refused (keys *_path are not compared)\n%s", S->text);
    return inh__wclose(&w);
}

INHDEF int inh_recipe_run(const inh_recipe_opts *o, inh_recipe_progress_fn fn, void *user, inh_recipe_result *r) {
    inh__recipe R;
    inh_model ref;
    inh__make_ctx c;
    inh__settings S;
    int rc = -1, L, start = o->start, n_base;
    intptr_t lock = -1;
    memset(&R, 0, sizeof R);
    memset(r, 0, sizeof *r);
    memset(&ref, 0, sizeof ref);
    R.o = o; R.fn = fn; R.user = user;
    if (o->grow < 1) return inh__fail("growth step %d: must be at least 1", o->grow);
    if (!o->out_dir || !o->val_path || !o->train_path || !o->ref_path) return inh__fail("the recipe needs a reference, training data, validation data and an output directory");
    if (o->trainer && (o->baselines & INH_BASELINE_DISTILL))
        return inh__fail("the distill baseline needs the reference's predictions at every step: it cannot run in an external trainer (drop it from the baselines)");
    if (o->backend && !o->backend->host_memory && (o->baselines & INH_BASELINE_DISTILL))
        return inh__fail("the distill baseline runs on the CPU only, not on the %s backend (drop it from the baselines)", o->backend->name);
    /* a recipe that cannot start (a bad reference, data, size) leaves nothing behind: the lock file
       and the directory, if this call made them, go again */
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s/recipe.lock", o->out_dir);
    int made_dir = inh__os_mkdir(o->out_dir) == 0, started = 0;
    if (!made_dir && errno != EEXIST) return inh__fail("%s: cannot create directory: %s", o->out_dir, strerror(errno));
    int made_lock = inh__os_kind(lock_path) == 0;
    if (inh__recipe_lock(o->out_dir, &lock)) {
        if (made_dir) inh__os_rmdir(o->out_dir);
        return -1;
    }
    if (inh_model_load_any(&ref, o->ref_path)) goto done;
    ref.threads = o->threads;
    ref.bf16 = o->train.bf16 != 0;   /* every loss of the recipe in the same precision */
    if (inh_model_set_backend(&ref, o->backend, o->backend_ctx)) goto done;
    if (inh_data_open(&R.train, o->train_path, ref.cfg.V) || inh_data_open(&R.val, o->val_path, ref.cfg.V)) goto done;
    inh__recipe_settings(o, &ref, &R.train, &R.val, &S);
    if (!o->fresh && inh__recipe_check_settings(o->out_dir, &S, 0)) goto done;
    if (o->train.T > ref.cfg.maxT) { inh__fail("sequence length %d is above the reference's maxT %d", o->train.T, ref.cfg.maxT); goto done; }
    if (R.val.n < (size_t)o->train.B * o->train.T + 1) { inh__fail("%s: %zu tokens cannot fill one validation batch of B=%d x T=%d", o->val_path, R.val.n, o->train.B, o->train.T); goto done; }
    L = ref.cfg.L;
    r->ref_layers = L; r->ref_params = ref.num_params;
    snprintf(r->source, sizeof r->source, "reference %.200s, data %.200s, validation %.200s", o->ref_path, o->train_path, o->val_path);
    /* validation reads each window once: at most the batches the file holds (no wrap-around) */
    R.eval_batches = o->eval_batches;
    if ((size_t)R.eval_batches * o->train.B > inh_data_windows(&R.val, o->train.T)) R.eval_batches = (int)(inh_data_windows(&R.val, o->train.T) / (size_t)o->train.B);
    if (inh_eval_loss(&ref, &R.val, o->train.B, o->train.T, R.eval_batches, &r->ref_val_loss)) goto done;
    if (start == 0) {
        start = L / 2 > 0 ? L / 2 : 1;
        snprintf(r->start_rule, sizeof r->start_rule, "L/2 = %d (the paper's start)", start);
    } else if (start < 0) {   /* auto: the depth before the first lazy group of the reference */
        inh_analysis_opts ao;
        inh_analysis a;
        inh_analysis_opts_default(&ao);
        ao.T = ref.cfg.maxT < 100 ? ref.cfg.maxT : 100;
        while (ao.seqs > 1 && (size_t)ao.seqs * ao.T + 1 > R.val.n) ao.seqs /= 2;
        if (inh_analyze(&ref, &R.val, &ao, &a)) goto done;
        start = a.n_groups > 0 ? a.groups[0] : L / 2;
        if (start < 1) start = 1;
        if (a.n_groups > 0)
            snprintf(r->start_rule, sizeof r->start_rule, "auto = %d: the layers before the first lazy group (layers %d-%d, MaxRank 1)", start, a.groups[0], a.groups[1]);
        else
            snprintf(r->start_rule, sizeof r->start_rule, "auto = %d: no lazy layers found, so L/2", start);
        inh_analysis_free(&a);
    } else {
        snprintf(r->start_rule, sizeof r->start_rule, "given: %d", start);
    }
    if (start > L) { inh__fail("%s: the reference has %d layers, fewer than the %d asked for", o->ref_path, L, start); goto done; }
    r->start_layers = start;
    started = 1;   /* from here the directory holds the recipe's settings and runs */
    if (o->fresh && inh__recipe_clear(o->out_dir)) goto done;   /* (--fresh deletes only once the recipe can start) */
    if (inh__recipe_check_settings(o->out_dir, &S, 1)) goto done;
    c.ref = &ref; c.mode = o->mode; c.seed = o->train.seed; c.steps = o->train.steps; c.R = &R;
    n_base = !!(o->baselines & INH_BASELINE_RANDOM) + !!(o->baselines & INH_BASELINE_FULL) + !!(o->baselines & INH_BASELINE_STACK) + !!(o->baselines & INH_BASELINE_DISTILL);
    for (int l = start, round = 1;; round++) {
        char name[32];
        snprintf(name, sizeof name, "round%d_L%d", round, l);
        c.layers = l;
        R.steps_left_plan = (long long)o->train.steps * ((L - l + o->grow - 1) / o->grow + n_base);
        if (inh__recipe_step(&R, r, name, o->train.steps, inh__make_inherit, &c)) goto done;
        r->final_layers = l;
        r->matched = r->runs[r->n_runs - 1].val_loss <= r->ref_val_loss;
        if (r->matched || l >= L) break;
        l = l + o->grow < L ? l + o->grow : L;
    }
    c.layers = r->final_layers;
    R.steps_left_plan = (long long)o->train.steps * n_base;
    if (o->baselines & INH_BASELINE_RANDOM) {
        R.steps_left_plan -= o->train.steps;
        if (inh__recipe_step(&R, r, "random", o->train.steps, inh__make_random, &c)) goto done;
    }
    if (o->baselines & INH_BASELINE_FULL) {
        R.steps_left_plan -= o->train.steps;
        if (inh__recipe_step(&R, r, "full", o->train.steps, inh__make_copy, &c)) goto done;
    }
    if (o->baselines & INH_BASELINE_STACK) {
        R.steps_left_plan -= o->train.steps;
        inh_recipe_run_result half;
        if (inh__recipe_step(&R, r, "stack", o->train.steps - o->train.steps / 2, inh__make_stack, &c)) goto done;
        if (inh__journal_find(o->out_dir, "stack_half", &half)) inh__stack_join(&r->runs[r->n_runs - 1], &half);
    }
    if (o->baselines & INH_BASELINE_DISTILL) {
        R.steps_left_plan -= o->train.steps;
        R.teacher = &ref;
        R.teacher_probs = INH__ALLOC(float, (size_t)o->train.B * o->train.T * ref.cfg.Vp);
        if (!R.teacher_probs || inh__recipe_step(&R, r, "distill", o->train.steps, inh__make_random, &c)) goto done;
    }
    rc = 0;
done:
    INH_FREE(R.teacher_probs);
    inh_data_close(&R.train);
    inh_data_close(&R.val);
    inh_model_free(&ref);
    inh__os_unlock(lock);   /* releases the lock */
    if (rc && !started) {   /* (the message of the failure stays) */
        if (made_lock) inh__os_remove(lock_path);
        if (made_dir) inh__os_rmdir(o->out_dir);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   Reports */

INHDEF int inh_recipe_write_json(const inh_recipe_result *r, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wprintf(&w, "{\"reference\": {\"layers\": %d, \"params\": %zu, \"val_loss\": %.6f},\n", r->ref_layers, r->ref_params, r->ref_val_loss);
    inh__wprintf(&w, " \"start_layers\": %d, \"start_rule\": \"%s\", \"final_layers\": %d, \"matched\": %s,\n \"runs\": [\n",
                 r->start_layers, r->start_rule, r->final_layers, r->matched ? "true" : "false");
    for (int i = 0; i < r->n_runs; i++) {
        const inh_recipe_run_result *u = &r->runs[i];
        inh__wprintf(&w, "  {\"name\": \"%s\", \"layers\": %d, \"params\": %zu, \"val_loss\": %.6f, \"steps\": %d, \"seconds\": %.2f, ",
                     u->name, u->layers, u->params, u->val_loss, u->steps, u->seconds);
        if (u->stacked_at) inh__wprintf(&w, "\"stacked_at\": %d, ", u->stacked_at);
        inh__wprintf(&w, "\"curve\": [");
        for (int k = 0; k < u->n_curve; k++) inh__wprintf(&w, "%s[%d, %.6f]", k ? ", " : "", u->curve_step[k], u->curve_loss[k]);
        inh__wprintf(&w, "]}%s\n", i + 1 < r->n_runs ? "," : "");
    }
    inh__wprintf(&w, " ]}\n");
    return inh__wclose(&w);
}

static const char *const inh__palette[8] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#d62728", "#ff7f0e", "#17becf"};

/* validation curves: x = step within the run, y = loss; the reference's loss dashed */
INH__FN void inh__recipe_svg(inh__wfile *w, const inh_recipe_result *r) {
    const double W = 900, H = 470, x0 = 60, y0 = 20, pw = 600, ph = 360;
    float lo = r->ref_val_loss, hi = r->ref_val_loss;
    int maxs = 1;
    for (int i = 0; i < r->n_runs; i++)
        for (int k = 0; k < r->runs[i].n_curve; k++) {
            float v = r->runs[i].curve_loss[k];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (r->runs[i].curve_step[k] > maxs) maxs = r->runs[i].curve_step[k];
        }
    if (hi - lo < 1e-3f) { hi += 0.5f; lo -= 0.5f; }
    float pad = 0.05f * (hi - lo);
    lo -= pad; hi += pad;
#define INH__X(s) (x0 + pw * (double)(s) / maxs)
#define INH__Y(v) (y0 + ph * (1.0 - ((double)(v) - lo) / (hi - lo)))
    inh__wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    inh__wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    inh__wprintf(w, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", x0, y0, pw, ph);
    double tk[INH__MAX_TICKS];
    int dec, ntk = inh__ticks(lo, hi, 8, tk, &dec);
    char lab[48];
    inh__wprintf(w, "<g class=\"axis\">\n");
    for (int k = 0; k < ntk; k++) {
        inh__tick_label(lab, sizeof lab, tk[k], dec);
        inh__wprintf(w, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                     x0, x0 + pw, INH__Y(tk[k]), INH__Y(tk[k]), x0 - 4, INH__Y(tk[k]) + 4, lab);
    }
    inh__wprintf(w, "</g>\n<g class=\"axis\">\n");
    ntk = inh__ticks_int(0, maxs, 8, tk, &dec);
    for (int k = 0; k < ntk; k++) {
        inh__tick_label(lab, sizeof lab, tk[k], dec);
        inh__wprintf(w, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", INH__X(tk[k]), y0 + ph + 16, lab);
    }
    inh__wprintf(w, "</g>\n");
    inh__wprintf(w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">step (within each run; 0 = the starting model, before training)</text>\n", x0 + pw / 2, y0 + ph + 34);
    inh__wprintf(w, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#444\">Validation loss of every run (hover a point for its value). Lower is better; a run at or below the dashed "
                    "reference line matches the reference.</text>\n", x0 - 50, y0 + ph + 62);
    inh__wprintf(w, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"6 4\"/>\n", x0, x0 + pw, INH__Y(r->ref_val_loss), INH__Y(r->ref_val_loss));
    inh__wprintf(w, "<text x=\"%.0f\" y=\"%.1f\">reference (%d layers) %.3f</text>\n", x0 + pw + 8, INH__Y(r->ref_val_loss) + 4, r->ref_layers, r->ref_val_loss);
    for (int i = 0; i < r->n_runs; i++) {
        const inh_recipe_run_result *u = &r->runs[i];
        const char *col = inh__palette[i % 8];
        inh__wprintf(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int k = 0; k < u->n_curve; k++) inh__wprintf(w, "%.1f,%.1f ", INH__X(u->curve_step[k]), INH__Y(u->curve_loss[k]));
        inh__wprintf(w, "\"/>\n");
        for (int k = 0; k < u->n_curve; k++)
            inh__wprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s, step %d: validation loss %.5f</title></circle>\n",
                         INH__X(u->curve_step[k]), INH__Y(u->curve_loss[k]), col, u->name, u->curve_step[k], u->curve_loss[k]);
        inh__wprintf(w, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s (%d layers) %.3f%s</text>\n", x0 + pw + 8, y0 + 30 + 16.0 * i, col, u->name, u->layers, u->val_loss,
                     u->stacked_at ? ", stacked at the dotted line" : "");
        if (u->stacked_at)   /* where the half-depth model was stacked: the curve jumps there */
            inh__wprintf(w, "<line class=\"stacked\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-dasharray=\"2 3\"/>"
                            "<text x=\"%.1f\" y=\"%.0f\" fill=\"%s\" font-size=\"11\">%s stacked at step %d</text>\n",
                         INH__X(u->stacked_at), INH__X(u->stacked_at), y0, y0 + ph, col, INH__X(u->stacked_at) + 3, y0 + 12 + 12.0 * i, col, u->name, u->stacked_at);
    }
#undef INH__X
#undef INH__Y
    inh__wprintf(w, "</svg>\n");
}

INHDEF int inh_recipe_write_svg(const inh_recipe_result *r, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__recipe_svg(&w, r);
    return inh__wclose(&w);
}

INHDEF int inh_write_loss_svg(const char *path, const char *title, const int *step, const float *loss, int n,
                              const int *vstep, const float *vloss, int nv) {
    const double W = 960, H = 480, x0 = 70, y0 = 50, pw = 840, ph = 350;
    int bins = n < 600 ? n : 600, s0 = n ? step[0] : nv ? vstep[0] : 0, s1 = n ? step[n - 1] : s0;
    double lo = INFINITY, hi = -INFINITY;
    double *bx = INH__ALLOC(double, (size_t)bins + 1), *by = INH__ALLOC(double, (size_t)bins + 1);
    int nb = 0;
    if (!bx || !by) { INH_FREE(bx); INH_FREE(by); return -1; }
    for (int b = 0; b < bins; b++) {   /* bin b holds losses [b*n/bins, (b+1)*n/bins) */
        double sum = 0, ssum = 0;
        int cnt = 0;
        for (int i = (int)((long long)b * n / bins); i < (int)((long long)(b + 1) * n / bins); i++)
            if (isfinite(loss[i])) { sum += loss[i]; ssum += step[i]; cnt++; }
        if (!cnt) continue;
        bx[nb] = ssum / cnt; by[nb] = sum / cnt;
        if (by[nb] < lo) lo = by[nb];
        if (by[nb] > hi) hi = by[nb];
        nb++;
    }
    for (int i = 0; i < nv; i++) {
        if (!isfinite(vloss[i])) continue;
        if (vloss[i] < lo) lo = vloss[i];
        if (vloss[i] > hi) hi = vloss[i];
        if (vstep[i] > s1) s1 = vstep[i];
        if (vstep[i] < s0) s0 = vstep[i];
    }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
    if (s1 <= s0) s1 = s0 + 1;
    double pad = 0.05 * (hi - lo);
    lo -= pad; hi += pad;
#define INH__LX(s) (x0 + pw * ((double)(s) - s0) / (s1 - s0))
#define INH__LY(v) (y0 + ph * (1.0 - ((double)(v) - lo) / (hi - lo)))
    inh__wfile w;
    if (inh__wopen(&w, path)) { INH_FREE(bx); INH_FREE(by); return -1; }
    inh__wprintf(&w, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" font-family=\"sans-serif\" font-size=\"13\">\n"
                     "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n<text x=\"%.0f\" y=\"24\" font-size=\"16\">", W, H, x0);
    inh__an_wtext(&w, title ? title : "training loss");
    inh__wprintf(&w, "</text>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", x0, y0, pw, ph);
    double tk[INH__MAX_TICKS];
    int dec, ntk = inh__ticks(lo, hi, 8, tk, &dec);
    char lab[48];
    inh__wprintf(&w, "<g class=\"axis\">\n");
    for (int k = 0; k < ntk; k++) {
        inh__tick_label(lab, sizeof lab, tk[k], dec);
        inh__wprintf(&w, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                     x0, x0 + pw, INH__LY(tk[k]), INH__LY(tk[k]), x0 - 6, INH__LY(tk[k]) + 4, lab);
    }
    inh__wprintf(&w, "</g>\n<g class=\"axis\">\n");
    ntk = inh__ticks_int(s0, s1, 8, tk, &dec);
    for (int k = 0; k < ntk; k++) {
        inh__tick_label(lab, sizeof lab, tk[k], dec);
        inh__wprintf(&w, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", INH__LX(tk[k]), y0 + ph + 18, lab);
    }
    inh__wprintf(&w, "</g>\n");
    inh__wprintf(&w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">step</text>\n", x0 + pw / 2, y0 + ph + 38);
    inh__wprintf(&w, "<text transform=\"rotate(-90)\" x=\"%.0f\" y=\"18\" text-anchor=\"middle\">loss (nats per token; lower is better)</text>\n", -(y0 + ph / 2));
    inh__wprintf(&w, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
    for (int i = 0; i < nb; i++) inh__wprintf(&w, "%.1f,%.1f ", INH__LX(bx[i]), INH__LY(by[i]));
    inh__wprintf(&w, "\"/>\n");
    for (int i = 0; i < nv; i++)
        if (isfinite(vloss[i]))
            inh__wprintf(&w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"><title>step %d: validation loss %.6f</title></circle>\n",
                         INH__LX(vstep[i]), INH__LY(vloss[i]), vstep[i], vloss[i]);
    inh__wprintf(&w, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#1f77b4\">&#8212; training loss%s</text>\n", x0, H - 12,
                 n > bins ? " (mean of consecutive steps)" : "");
    if (nv) inh__wprintf(&w, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">&#9679; validation loss (hover for the value)</text>\n", x0 + 360, H - 12);
#undef INH__LX
#undef INH__LY
    inh__wprintf(&w, "</svg>\n");
    INH_FREE(bx); INH_FREE(by);
    return inh__wclose(&w);
}

INHDEF int inh_recipe_write_html(const inh_recipe_result *r, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__wprintf(&w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Inheritune recipe</title>\n"
                     "<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}"
                     "th{background:#eee}td:first-child,th:first-child{text-align:left}svg{width:100%%;max-width:1400px;height:auto}"
                     ".src{color:#444}</style></head><body>\n<h1>Inheritune recipe</h1>\n");
    if (r->source[0]) {
        char date[32];
        time_t now = time(NULL);
        strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
        inh__wprintf(&w, "<p class=\"src\">");
        inh__an_wtext(&w, r->source);
        inh__wprintf(&w, ", written %s</p>\n", date);
    }
    inh__wprintf(&w, "<p>Reference: %d layers, %zu parameters, validation loss <b>%.4f</b>. Start: %s. Final depth %d: %s.</p>\n",
                 r->ref_layers, r->ref_params, r->ref_val_loss, r->start_rule, r->final_layers,
                 r->matched ? "matches the reference" : "did not reach the reference's loss");
    inh__wprintf(&w, "<h2>Validation loss of every run</h2>\n");
    inh__recipe_svg(&w, r);
    inh__wprintf(&w, "<h2>Final table</h2>\n<table><tr><th>run</th><th>layers</th><th>parameters</th><th>val loss</th><th>steps</th><th>wall time (s)</th></tr>\n");
    inh__wprintf(&w, "<tr><td>reference</td><td>%d</td><td>%zu</td><td>%.4f</td><td>-</td><td>-</td></tr>\n", r->ref_layers, r->ref_params, r->ref_val_loss);
    for (int i = 0; i < r->n_runs; i++) {
        const inh_recipe_run_result *u = &r->runs[i];
        inh__wprintf(&w, "<tr><td>%s</td><td>%d</td><td>%zu</td><td>%.4f</td><td>%d", u->name, u->layers, u->params, u->val_loss, u->steps);
        if (u->stacked_at) inh__wprintf(&w, " (%d at half depth, stacked, %d)", u->stacked_at, u->steps - u->stacked_at);
        inh__wprintf(&w, "</td><td>%.1f</td></tr>\n", u->seconds);
    }
    inh__wprintf(&w, "</table>\n</body></html>\n");
    return inh__wclose(&w);
}

#endif /* INHERITUNE_IMPLEMENTATION_DONE */
#endif /* INHERITUNE_IMPLEMENTATION */

/*
   ------------------------------------------------------------------------------------------------
   MIT License. Copyright (c) 2026 the inheritune authors.
   Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
   associated documentation files (the "Software"), to deal in the Software without restriction,
   including without limitation the rights to use, copy, modify, merge, publish, distribute,
   sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
   furnished to do so, subject to the following conditions: The above copyright notice and this
   permission notice shall be included in all copies or substantial portions of the Software.
   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
   NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
   NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
   OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
