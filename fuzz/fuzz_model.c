/* fuzz/fuzz_model.c - llm.c checkpoint (inh_model_load, through inh_model_load_any).
   Properties: a file that loads also runs forward/backward/generate without faults; save
   refuses it exactly when a parameter is not finite, and otherwise save -> load gives back the
   same model bit for bit. */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512], again[512];
    inh_model m, m2;
    fz_write(fz_path("model", "in.bin", path, sizeof path), data, size);
    if (inh_model_load_any(&m, path) != 0) return 0;
    FZ_CHECK(m.num_params > 0 && m.params_mem, "loaded model has no parameters");
    FZ_CHECK(size == 1024 + m.num_params * sizeof(float), "loaded %zu params from a %zu-byte file", m.num_params, size);
    if (size <= ((size_t)1 << 20)) {
        int rc = inh_model_save(&m, fz_path("model", "again.bin", again, sizeof again)), finite = fz_finite(&m);
        FZ_CHECK(rc == (finite ? 0 : -1), "save of a loaded model returned %d (finite parameters: %d)", rc, finite);
        if (rc == 0) {
            FZ_CHECK(inh_model_load(&m2, again) == 0, "reload of a saved model");
            FZ_CHECK(fz_same_model(&m, &m2), "save -> load changed the model");
            inh_model_free(&m2);
        }
    }
    fz_exercise_model(&m);
    inh_model_free(&m);
    return 0;
}
