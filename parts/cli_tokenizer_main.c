/* parts/cli_tokenizer_main.c - a standalone driver for parts/cli_tokenizer.c (testing only):
       gcc -std=c99 -O2 -I. parts/cli_tokenizer_main.c -o build/tok -lm -lpthread
       build/tok tokenize --tokenizer ../shared/data/gpt2 FILE */
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_tokenizer.c"

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "prepare")) return cmd_prepare(argc - 1, argv + 1);
    fprintf(stderr, "usage: %s tokenize|prepare ... (--help for each)\n", argv[0]);
    return 2;
}
