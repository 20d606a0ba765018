/* parts/cli_tokenizer.c - the `tokenize` and `prepare` commands of examples/inheritune.c.
   Needs <stdio.h>, <stdlib.h>, <string.h> and inheritune.h. */

static const char *const tokcli_tokenize_usage =
    "usage: tokenize --tokenizer DIR|bytes [--allow-special] [--decode] [--threads N] [FILE]\n"
    "  Reads FILE (stdin without one, or with -) as raw bytes and prints its token ids on one line,\n"
    "  separated by spaces. --decode reads whitespace-separated ids instead and writes their bytes.\n"
    "  --tokenizer      bytes, a directory with encoder.json + vocab.bpe or vocab.json + merges.txt,\n"
    "                   or an llm.c tokenizer file (decode only)\n"
    "  --allow-special  \"<|endoftext|>\" in the text is the end-of-text token (else it is text)\n"
    "  --threads N      threads for encoding (default: all cores)\n";

static const char *const tokcli_prepare_usage =
    "usage: prepare --tokenizer DIR|bytes [--val-tokens N] [--threads N] INPUT.txt OUTDIR\n"
    "  Writes OUTDIR/val.bin and OUTDIR/train.bin as llm.c token shards: the text is split at every\n"
    "  blank line (\"\\n\\n\"); each section is the end-of-text token, then the tokens of the section\n"
    "  with its \"\\n\\n\". The first N tokens (default 32768) are val.bin, the rest train.bin.\n"
    "  --threads N      threads for encoding (default: all cores)\n";

static int tokcli_fail(const char *msg) {
    fprintf(stderr, "error: %s\n", msg);
    return 1;
}

/* a whole non-negative number, or -1 */
static long long tokcli_number(const char *s) {
    char *end;
    if (!s || !*s || *s == '-') return -1;
    long long v = strtoll(s, &end, 10);
    return *end ? -1 : v;
}

/* the whole of FILE, or stdin for NULL or "-"; *out is malloc'd */
static int tokcli_read_all(const char *path, unsigned char **out, size_t *len) {
    FILE *f = (!path || !strcmp(path, "-")) ? stdin : fopen(path, "rb");
    if (!f) { fprintf(stderr, "error: %s: cannot open\n", path); return 1; }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = (unsigned char *)malloc(cap);
    while (b) {
        if (n == cap) {
            unsigned char *nb = (unsigned char *)realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb; cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = !b || ferror(f);
    if (f != stdin) fclose(f);
    if (err) { free(b); fprintf(stderr, "error: %s: %s\n", path ? path : "stdin", b ? "read error" : "out of memory"); return 1; }
    *out = b; *len = n;
    return 0;
}

/* print ids as decimal text, space separated, one line */
static int tokcli_print_ids(const int *ids, size_t n) {
    char buf[1 << 16];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > sizeof buf - 16) { fwrite(buf, 1, k, stdout); k = 0; }
        if (i) buf[k++] = ' ';
        char tmp[12];
        int t = 0;
        unsigned v = (unsigned)ids[i];
        do { tmp[t++] = (char)('0' + v % 10); v /= 10; } while (v);
        while (t) buf[k++] = tmp[--t];
    }
    buf[k++] = '\n';
    fwrite(buf, 1, k, stdout);
    return fflush(stdout) != 0 || ferror(stdout);
}

static int cmd_tokenize(int argc, char **argv) {
    const char *tokname = NULL, *file = NULL;
    int allow = 0, decode = 0, threads = inh_num_cores();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(tokcli_tokenize_usage, stdout); return 0; }
        else if (!strcmp(a, "--tokenizer") && i + 1 < argc) tokname = argv[++i];
        else if (!strcmp(a, "--allow-special")) allow = 1;
        else if (!strcmp(a, "--decode")) decode = 1;
        else if (!strcmp(a, "--threads") && i + 1 < argc) {
            long long v = tokcli_number(argv[++i]);
            if (v < 1 || v > 4096) return tokcli_fail("--threads wants a number from 1 to 4096");
            threads = (int)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown or incomplete option %s\n%s", a, tokcli_tokenize_usage);
            return 1;
        } else if (!file) file = a;
        else { fprintf(stderr, "error: more than one input file\n%s", tokcli_tokenize_usage); return 1; }
    }
    if (!tokname) { fprintf(stderr, "error: --tokenizer is required\n%s", tokcli_tokenize_usage); return 1; }
    inh_tokenizer *tok;
    if (inh_tokenizer_load(&tok, tokname)) return tokcli_fail(inh_error());
    unsigned char *text;
    size_t len;
    if (tokcli_read_all(file, &text, &len)) { inh_tokenizer_free(tok); return 1; }
    const char *src = file && strcmp(file, "-") ? file : "stdin";
    int rc = 0;
    if (!decode) {
        int *ids;
        size_t n;
        if (inh_tokenizer_encode_mt(tok, text, len, allow, threads, &ids, &n)) rc = tokcli_fail(inh_error());
        else {
            if (tokcli_print_ids(ids, n)) rc = tokcli_fail("cannot write to stdout");
            inh_tokenizer_free_ids(ids);
        }
    } else {
        size_t n = 0, cap = 1024;
        int *ids = (int *)malloc(cap * sizeof *ids), V = inh_tokenizer_vocab_size(tok);
        for (size_t p = 0; ids && p < len && !rc;) {
            if (text[p] == ' ' || (text[p] >= '\t' && text[p] <= '\r')) { p++; continue; }
            size_t start = p;
            long long v = 0;
            while (p < len && text[p] >= '0' && text[p] <= '9' && v <= V) v = v * 10 + (text[p++] - '0');
            while (p < len && text[p] >= '0' && text[p] <= '9') p++;
            if (p == start || (p < len && !(text[p] == ' ' || (text[p] >= '\t' && text[p] <= '\r')))) {
                fprintf(stderr, "error: %s: byte offset %zu: expected a token id\n", src, start);
                rc = 1;
            } else if (v >= V) {
                fprintf(stderr, "error: %s: byte offset %zu: id %.*s is out of range (V = %d)\n", src, start, (int)(p - start), (const char *)text + start, V);
                rc = 1;
            } else {
                if (n == cap) {
                    int *ni = (int *)realloc(ids, 2 * cap * sizeof *ids);
                    if (!ni) { free(ids); ids = NULL; break; }
                    ids = ni; cap *= 2;
                }
                ids[n++] = (int)v;
            }
        }
        if (!ids) rc = tokcli_fail("out of memory");
        else if (!rc) {
            unsigned char *bytes;
            size_t nb;
            if (inh_tokenizer_decode(tok, ids, n, &bytes, &nb)) rc = tokcli_fail(inh_error());
            else {
                if (fwrite(bytes, 1, nb, stdout) != nb || fflush(stdout) != 0) rc = tokcli_fail("cannot write to stdout");
                inh_tokenizer_free_bytes(bytes);
            }
        }
        free(ids);
    }
    free(text);
    inh_tokenizer_free(tok);
    return rc;
}

static int cmd_prepare(int argc, char **argv) {
    const char *tokname = NULL, *pos[2] = {NULL, NULL};
    long long val = 32768;
    int threads = inh_num_cores(), npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(tokcli_prepare_usage, stdout); return 0; }
        else if (!strcmp(a, "--tokenizer") && i + 1 < argc) tokname = argv[++i];
        else if (!strcmp(a, "--val-tokens") && i + 1 < argc) {
            if ((val = tokcli_number(argv[++i])) < 0) return tokcli_fail("--val-tokens wants a number >= 0");
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            long long v = tokcli_number(argv[++i]);
            if (v < 1 || v > 4096) return tokcli_fail("--threads wants a number from 1 to 4096");
            threads = (int)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "error: unknown or incomplete option %s\n%s", a, tokcli_prepare_usage);
            return 1;
        } else if (npos < 2) pos[npos++] = a;
        else { fprintf(stderr, "error: too many arguments\n%s", tokcli_prepare_usage); return 1; }
    }
    if (!tokname || npos != 2) { fprintf(stderr, "error: want --tokenizer, INPUT.txt and OUTDIR\n%s", tokcli_prepare_usage); return 1; }
    inh_tokenizer *tok;
    if (inh_tokenizer_load(&tok, tokname)) return tokcli_fail(inh_error());
    long long nv = 0, nt = 0;
    int rc = inh_prepare_shards(tok, pos[0], pos[1], val, threads, 1, &nv, &nt);
    inh_tokenizer_free(tok);
    if (rc) return tokcli_fail(inh_error());
    fprintf(stderr, "wrote %s/val.bin (%lld tokens) and %s/train.bin (%lld tokens)\n", pos[1], nv, pos[1], nt);
    return 0;
}
