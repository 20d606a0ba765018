/* fuzz/fuzz_safetensors.c - Hugging Face model.safetensors + config.json (inh_model_load_safetensors).
   Input: the safetensors bytes, a NUL, config.json; split at the LAST NUL (JSON has none). No NUL
   at all: the whole input is model.safetensors and there is no config.json.
   Properties: a model that loads runs forward/backward/generate without faults, and our own
   exports of it (safetensors, llm.c) load back to the same model bit for bit; the exports
   refuse it only when a weight is not finite. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char st[512], cfg[512], dir[512], bin[512];
    const uint8_t *a, *b;
    size_t na, nb;
    inh_model m, m2;
    fz_split(data, size, 0, 1, &a, &na, &b, &nb);
    fz_write(fz_path("safetensors", "model.safetensors", st, sizeof st), a, na);
    fz_path("safetensors", "config.json", cfg, sizeof cfg);
    if (b == data + size && na == size) remove(cfg);
    else fz_write(cfg, b, nb);
    /* alternate between the file and its directory as the argument */
    const char *arg = (size & 1) ? fz_tmpdir("safetensors") : st;
    if (inh_model_load_safetensors(&m, arg) != 0) return 0;
    FZ_CHECK(m.num_params > 0 && (size_t)m.cfg.V * m.cfg.C <= size, "V=%d C=%d from %zu bytes", m.cfg.V, m.cfg.C, size);
    if (size <= ((size_t)1 << 20)) {
        int finite = fz_finite(&m), rc;
        snprintf(dir, sizeof dir, "%s/export", fz_tmpdir("safetensors"));
        rc = inh_model_save_safetensors(&m, dir);
        FZ_CHECK(rc == 0 || !finite, "export of a loaded model with finite weights");
        if (rc == 0) {
            FZ_CHECK(inh_model_load_any(&m2, dir) == 0, "reload of our export");
            FZ_CHECK(m2.cfg.Vp == (m.cfg.V + 127) / 128 * 128, "Vp %d for V %d", m2.cfg.Vp, m.cfg.V);
            FZ_CHECK(fz_same_model(&m, &m2), "safetensors save -> load changed the model");
            inh_model_free(&m2);
        }
        rc = inh_model_save(&m, fz_path("safetensors", "model.bin", bin, sizeof bin));
        FZ_CHECK(rc == (finite ? 0 : -1), "llm.c save returned %d (finite parameters: %d)", rc, finite);
        if (rc == 0) {
            FZ_CHECK(inh_model_load_any(&m2, bin) == 0 && fz_same_model(&m, &m2), "llm.c save -> load changed the model");
            inh_model_free(&m2);
        }
    }
    fz_exercise_model(&m);
    inh_model_free(&m);
    return 0;
}
