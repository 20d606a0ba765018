#ifndef INH_HAVE_SAFETENSORS
#define INH_HAVE_SAFETENSORS
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
/* Load either format, chosen by content: llm.c magic 20240326 -> inh_model_load; a safetensors
   header (length within the file, then '{') -> inh_model_load_safetensors; a directory holding
   model.safetensors -> that. */
INHDEF int inh_model_load_any(inh_model *m, const char *path);
#endif /* INH_HAVE_SAFETENSORS */
