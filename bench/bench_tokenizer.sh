#!/usr/bin/env bash
# bench/bench_tokenizer.sh - GPT-2 encode throughput: ours vs tiktoken (npm), one thread, whole
# process (start, loading the tokenizer, reading, encoding, printing the ids), median of 5 runs;
# then ours on adversarial inputs (1 MB and 4 MB of one letter, of digits, of spaces) to show the
# time grows linearly. Never fails on speed. Needs ../shared/data; node/npm for the peer.
#   bench/bench_tokenizer.sh            (TOK_BIN=path to use an existing `tokenize` binary)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
CORPUS=$DATA/corpus/tinyshakespeare.txt
VOCAB=$DATA/gpt2
[ -f "$CORPUS" ] || { echo "skip: $CORPUS is absent"; exit 0; }

mkdir -p build
if [ -z "${TOK_BIN:-}" ]; then
    TOK_BIN=build/bench_tok
    make -s build/inheritune && TOK_BIN=build/inheritune
    TOK_CMD=("$TOK_BIN" tokenize)
else
    TOK_CMD=("$TOK_BIN" tokenize)
fi

# the encoder alone: median seconds of 5 inh_tokenizer_encode calls on one thread
ENC_BIN=build/bench_tok_encode
cat > build/bench_tok_encode.c <<'CEOF'
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    inh_tokenizer *t; unsigned char *text; size_t len; double s[5];
    if (argc != 3 || inh_tokenizer_load(&t, argv[1]) || inh__read_file(argv[2], &text, &len, 0)) { fprintf(stderr, "error: %s\n", inh_error()); return 1; }
    for (int r = 0; r < 5; r++) {
        int *ids; size_t n; double t0 = inh_now();
        if (inh_tokenizer_encode(t, text, len, 0, &ids, &n)) return 1;
        s[r] = inh_now() - t0;
        inh_tokenizer_free_ids(ids);
    }
    for (int i = 0; i < 5; i++) for (int j = i + 1; j < 5; j++) if (s[j] < s[i]) { double x = s[i]; s[i] = s[j]; s[j] = x; }
    printf("%.4f\n", s[2]);
    free(text); inh_tokenizer_free(t);
    return 0;
}
CEOF
${CC:-cc} -std=c99 -O2 -I. build/bench_tok_encode.c -o "$ENC_BIN" -lm -lpthread

have_node=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then have_node=0
elif [ ! -d bench/node_modules/tiktoken ]; then
    echo "installing the npm package tiktoken into bench/node_modules ..."
    (cd bench && npm install --prefix . --no-save --no-package-lock --no-audit --no-fund --silent tiktoken >/dev/null 2>&1) || have_node=0
fi

# median wall seconds of 5 runs of "$@" (stdout discarded)
median5() {
    local t=()
    for _ in 1 2 3 4 5; do
        local s e
        s=$(date +%s%N)
        "$@" >/dev/null
        e=$(date +%s%N)
        t+=($(( (e - s) / 1000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n 3p | awk '{printf "%.4f", $1 / 1e6}'
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }

bytes=$(wc -c < "$CORPUS")
ours=$(median5 "${TOK_CMD[@]}" --threads 1 --tokenizer "$VOCAB" "$CORPUS")
printf 'tiny shakespeare (%d bytes), one thread, whole process, median of 5:\n' "$bytes"
printf '  ours      %7.3f s  %6s MB/s\n' "$ours" "$(mbps "$bytes" "$ours")"
if [ $have_node = 1 ]; then
    if ! cmp -s <("${TOK_CMD[@]}" --threads 1 --tokenizer "$VOCAB" "$CORPUS") <(node bench/tiktoken_bench.mjs "$CORPUS"); then
        echo "  WARNING: ids differ from tiktoken's"
    fi
    tk=$(median5 node bench/tiktoken_bench.mjs "$CORPUS")
    printf '  tiktoken  %7.3f s  %6s MB/s\n' "$tk" "$(mbps "$bytes" "$tk")"
    printf '  ours / tiktoken: %sx\n' "$(awk -v a="$ours" -v b="$tk" 'BEGIN { printf "%.2f", b / a }')"
    # the same without process start, loading and printing: the encoders alone
    oe=$("$ENC_BIN" "$VOCAB" "$CORPUS")
    te=$(node bench/tiktoken_bench.mjs "$CORPUS" --encode-only)
    printf 'encode only (in process, median of 5):\n'
    printf '  ours      %7.3f s  %6s MB/s\n' "$oe" "$(mbps "$bytes" "$oe")"
    printf '  tiktoken  %7.3f s  %6s MB/s\n' "$te" "$(mbps "$bytes" "$te")"
    printf '  ours / tiktoken: %sx\n' "$(awk -v a="$oe" -v b="$te" 'BEGIN { printf "%.2f", b / a }')"
else
    echo "  tiktoken: skipped (node/npm or the package is not available)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "adversarial inputs, ours, one thread (median of 5):"
for n in 1000000 4000000; do
    head -c $n /dev/zero | tr '\0' 'a' > "$tmp/letter"
    yes 1234567890 | tr -d '\n' | head -c $n > "$tmp/digits" || true
    head -c $n /dev/zero | tr '\0' ' ' > "$tmp/spaces"
    for kind in letter digits spaces; do
        s=$(median5 "${TOK_CMD[@]}" --threads 1 --tokenizer "$VOCAB" "$tmp/$kind")
        printf '  %d MB of %-7s %7.3f s  %6s MB/s\n' $((n / 1000000)) "$kind" "$s" "$(mbps $n "$s")"
    done
done
