/* examples/embedded.c - inheritune on a board without a file system, threads or an OS: a model in
   a const array (flash), a few training steps on tokens in memory, greedy generation, and the
   trained model written into a buffer (to flash, a radio, a host...). Nothing here opens a file.

   Cortex-M7 with newlib (make embedded: compile, link and size only):
       arm-none-eabi-gcc -mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -O2 -std=c99 \
           -DINH_NO_STDIO -DINH_NO_THREADS -Ibuild examples/embedded.c -lm --specs=nosys.specs
   The same program runs natively in make test (build/test_embedded) with the same checks.
   build/embedded_model.h holds tests/ref/tiny.bin (L=3, C=16, V=100, maxT=16) as a C array. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "embedded_model.h"   /* static const unsigned char model_bin[] */

static int passed, failed;
#define EXPECT(cond, what) do { if (cond) passed++; else { failed++; printf("FAIL %s: %s\n", what, inh_error()); } } while (0)

static unsigned char saved[64 * 1024];   /* where the trained model goes (49,728 bytes) */

int main(void) {
    inh_model m, back;
    inh_data d;
    inh_trainer t;
    inh_train_opts o;
    inh_step_info info;
    static int ids[2048];
    int out[8 + 16];   /* generate writes the prompt and the new tokens: n_prompt + n_new ints */
    size_t len = 0;

    EXPECT(inh_model_load_memory(&m, model_bin, sizeof model_bin, NULL) == 0, "the model from the const array");
    EXPECT(m.cfg.L == 3 && m.cfg.C == 16 && m.cfg.V == 100 && m.cfg.maxT == 16, "its sizes");
    EXPECT(inh_model_load_memory(&back, model_bin, 1000, NULL) != 0 && strstr(inh_error(), "too short"),
           "a truncated array is refused with a message");

    /* data: the synthetic corpus (copy + bigram segments) in memory */
    EXPECT(inh_synth_corpus(ids, 2048, m.cfg.V, 7) == 0, "synthetic tokens");
    EXPECT(inh_data_from_tokens(&d, ids, 2048, m.cfg.V) == 0 && d.n == 2048, "data from the token array");

    float before = 0.0f, after = 0.0f;
    EXPECT(inh_eval_loss(&m, &d, 4, 16, 8, &before) == 0, "loss before training");
    inh_train_opts_default(&o);
    o.B = 4; o.T = 16; o.steps = 40; o.lr = 1e-2f; o.warmup = 0; o.seed = 1;
    EXPECT(inh_trainer_init(&t, &m, &d, &o) == 0, "trainer");
    while (t.step < o.steps && inh_trainer_step(&t, &info) == 0) {}
    inh_trainer_free(&t);
    EXPECT(inh_eval_loss(&m, &d, 4, 16, 8, &after) == 0, "loss after training");
    printf("embedded: %d steps, loss over 8 batches %.4f -> %.4f\n", t.step, before, after);
    EXPECT(t.step == 40 && after < before - 0.2f, "40 steps lower the loss by more than 0.2");

    const int prompt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    inh_rng rng;
    inh_rng_seed(&rng, 1);
    EXPECT(inh_model_generate(&m, prompt, 8, 16, 0.0f, 0, &rng, out) == 0, "greedy generation");
    int in_range = 1;
    for (int i = 0; i < 24; i++) in_range &= out[i] >= 0 && out[i] < m.cfg.V && (i >= 8 || out[i] == prompt[i]);
    EXPECT(in_range, "the prompt, then 16 ids in the vocabulary");

    /* the trained model into memory, and back: the same parameters bit for bit */
    EXPECT(inh_model_save_memory(&m, NULL, 0, &len) == 0 && len == 1024 + 4 * m.num_params, "the size a save needs");
    EXPECT(inh_model_save_memory(&m, saved, 100, &len) != 0 && strstr(inh_error(), "too small"), "a small buffer is refused");
    EXPECT(inh_model_save_memory(&m, saved, sizeof saved, &len) == 0, "save into the buffer");
    EXPECT(inh_model_load_memory(&back, saved, len, NULL) == 0 &&
           !memcmp(back.params_mem, m.params_mem, m.num_params * sizeof(float)), "the saved bytes load as the same model");
    inh_model_free(&back);

    /* no file system here: a path is an error, not a crash */
    EXPECT(inh_model_load(&back, "model.bin") != 0, "a path without a file system fails cleanly");
    inh_data_close(&d);
    inh_model_free(&m);
    printf("embedded: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
