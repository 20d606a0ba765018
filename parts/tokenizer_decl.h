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
