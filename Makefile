# inheritune - `make` builds the tool, `make test` runs every test, `make demo` trains a small model.
CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -std=c99 -Wall -Wextra
LDLIBS  = -lm -lpthread
BUILD   = build
HDR     = inheritune.h

TESTS   = $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))
# the kernel and model tests once more without -march: the portable (SSE2) paths, bf16 emulated
PORTABLE = $(BUILD)/test_core_portable $(BUILD)/test_fastmm_portable

.PHONY: all test demo reproduce shortcuts clean check-cxx bench-matmul bench-blas bench-bf16 fuzz fuzz-ci test-sanitize test-valgrind
all: $(BUILD)/inheritune

$(BUILD)/inheritune: examples/inheritune.c $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/test_%: tests/test_%.c tests/test.h $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) -Itests $< -o $@ $(LDLIBS)

$(BUILD)/test_%_portable: tests/test_%.c tests/test.h $(HDR) | $(BUILD)
	$(CC) -O2 -std=c99 -Wall -Wextra '-DTEST_BUILD=" (portable build)"' -Itests $< -o $@ $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

# every test binary runs from the repository root; the last line sums them up
test: $(BUILD)/inheritune $(TESTS) $(PORTABLE) check-cxx
	@sh tests/run.sh $(TESTS) $(PORTABLE)

# the header must compile as C++ and under clang too, plain and with $(OPT) (warnings are errors here)
check-cxx: | $(BUILD)
	@printf '#define INHERITUNE_IMPLEMENTATION\n#include "inheritune.h"\nint main(void){return 0;}\n' > $(BUILD)/one.cpp
	@c++ -Wall -Wextra -Werror -I. -c $(BUILD)/one.cpp -o $(BUILD)/one_cpp.o
	@c++ $(OPT) -Wall -Wextra -Werror -I. -c $(BUILD)/one.cpp -o $(BUILD)/one_cpp_opt.o
	@$(CC) -std=c99 -Wall -Wextra -Werror -DINHERITUNE_STATIC -DINH_NO_THREADS -I. -x c -c $(BUILD)/one.cpp -o $(BUILD)/one_static.o
	@if command -v clang >/dev/null; then cp $(BUILD)/one.cpp $(BUILD)/one.c; clang -std=c99 -Wall -Wextra -Werror -I. -c $(BUILD)/one.c -o $(BUILD)/one_c.o; \
	    clang $(OPT) -std=c99 -Wall -Wextra -Werror -I. -c $(BUILD)/one.c -o $(BUILD)/one_c_opt.o; fi

# make demo [DATA=text.txt [TOKENIZER=dir]]: the whole Inheritune workflow in a few minutes
demo: $(BUILD)/inheritune
	@DATA="$(DATA)" TOKENIZER="$(TOKENIZER)" sh examples/demo.sh

# make reproduce [CORPUS=text.txt] [TOKENIZER=dir|bytes]: small-scale reproduction on real text (~40 min)
reproduce: $(BUILD)/inheritune
	@CORPUS="$(CORPUS)" TOKENIZER="$(TOKENIZER)" sh examples/reproduce.sh

# make shortcuts [STEPS=600] [L=4]: attention shortcuts against plain models on tiny shakespeare (~5-8 min on 2 cores)
shortcuts: $(BUILD)/inheritune
	@CORPUS="$(CORPUS)" STEPS="$(STEPS)" L="$(L)" sh examples/shortcuts.sh

# reliability: the whole suite under ASan + UBSan; libFuzzer harnesses (clang) for every parser;
# a short training run under valgrind memcheck
test-sanitize:
	@sh tests/sanitize.sh
fuzz:
	@sh fuzz/run.sh $(or $(SECONDS_EACH),60)
fuzz-ci:
	@sh fuzz/run.sh 10
test-valgrind:
	@sh tests/valgrind.sh

# matmul kernels at GPT-2 shapes, one thread: reference, fast; bench-blas adds OpenBLAS
# (Debian: apt-get install libopenblas-dev; SkylakeX kernels, as 0.3.21 does not know Zen 5)
bench-matmul: $(BUILD)/bench_matmul
	$(BUILD)/bench_matmul
$(BUILD)/bench_matmul: bench/bench_matmul.c $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
bench-blas: | $(BUILD)
	$(CC) $(CFLAGS) -DWITH_BLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/bench_matmul.c -o $(BUILD)/bench_matmul_blas -lopenblas $(LDLIBS)
	OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 $(BUILD)/bench_matmul_blas

# bf16 against fp32 in one run (tiny shakespeare in GPT-2 tokens, GPT-2 124M shape, one thread):
# both loss curves, the difference and the speed-up; make bench-bf16 [STEPS=300]
bench-bf16: $(BUILD)/inheritune $(BUILD)/bf16_curve
	$(BUILD)/inheritune prepare --tokenizer ../shared/data/gpt2 ../shared/data/corpus/tinyshakespeare.txt $(BUILD)/ts_gpt2
	$(BUILD)/bf16_curve $(BUILD)/ts_gpt2/train.bin $(BUILD)/ts_gpt2/val.bin --steps $(or $(STEPS),300) --threads 1 --out $(BUILD)/bf16_curve
$(BUILD)/bf16_curve: bench/bf16_curve.c $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

clean:
	rm -rf $(BUILD)
