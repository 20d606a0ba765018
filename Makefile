# inheritune - `make` builds the tool, `make test` runs every test, `make demo` trains a small model.
CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -std=c99 -Wall -Wextra
LDLIBS  = -lm -lpthread
BUILD   = build
HDR     = inheritune.h $(wildcard parts/*.h)

TESTS   = $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))

.PHONY: all test demo reproduce clean check-cxx
all: $(BUILD)/inheritune

$(BUILD)/inheritune: examples/inheritune.c $(HDR) $(wildcard parts/cli_*.c) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/test_%: tests/test_%.c tests/test.h $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) -Itests $< -o $@ $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

# every test binary runs from the repository root; the last line sums them up
test: $(BUILD)/inheritune $(TESTS) check-cxx
	@sh tests/run.sh $(TESTS)

# the header must compile as C++ and under clang too (warnings are errors here)
check-cxx: | $(BUILD)
	@printf '#define INHERITUNE_IMPLEMENTATION\n#include "inheritune.h"\nint main(void){return 0;}\n' > $(BUILD)/one.cpp
	@c++ -Wall -Wextra -Werror -I. -c $(BUILD)/one.cpp -o $(BUILD)/one_cpp.o
	@if command -v clang >/dev/null; then cp $(BUILD)/one.cpp $(BUILD)/one.c; clang -std=c99 -Wall -Wextra -Werror -I. -c $(BUILD)/one.c -o $(BUILD)/one_c.o; fi

# make demo [DATA=text.txt [TOKENIZER=dir]]: the whole Inheritune workflow in a few minutes
demo: $(BUILD)/inheritune
	@DATA="$(DATA)" TOKENIZER="$(TOKENIZER)" sh examples/demo.sh

# make reproduce [CORPUS=text.txt] [TOKENIZER=dir|bytes]: small-scale reproduction on real text (~40 min)
reproduce: $(BUILD)/inheritune
	@CORPUS="$(CORPUS)" TOKENIZER="$(TOKENIZER)" sh examples/reproduce.sh

clean:
	rm -rf $(BUILD)
