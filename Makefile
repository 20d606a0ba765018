# inheritune - `make` builds the tool, `make test` runs every test, `make demo` trains a small model.
CC      ?= cc
# Apple clang on arm64 refuses -march=native; -mcpu=native is its spelling
ifeq ($(shell uname -s 2>/dev/null)-$(shell uname -m 2>/dev/null),Darwin-arm64)
OPT     ?= -O3 -mcpu=native
else
OPT     ?= -O3 -march=native
endif
CFLAGS  ?= $(OPT) -std=c99 -Wall -Wextra
LDLIBS  = -lm -lpthread
BUILD   = build
HDR     = inheritune.h

TESTS   = $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c))
# the kernel and model tests once more without -march: the portable (SSE2) paths, bf16 emulated
PORTABLE = $(BUILD)/test_core_portable $(BUILD)/test_fastmm_portable

.PHONY: test-avx2 web test-web all test demo reproduce shortcuts clean windows test-windows test-arm64 test-32 test-bigendian wasm test-wasm embedded check-cxx cuda cuda-emu cuda-emu-test cuda-syntax ptxas-check bench-matmul bench-attention bench-attention-avx2 bench-blas bench-bf16 fuzz fuzz-ci test-sanitize test-valgrind
all: $(BUILD)/inheritune

$(BUILD)/inheritune: examples/inheritune.c $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/test_%: tests/test_%.c tests/test.h tests/test_proc.h $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) -Itests $< -o $@ $(LDLIBS)

$(BUILD)/test_%_portable: tests/test_%.c tests/test.h $(HDR) | $(BUILD)
	$(CC) -O2 -std=c99 -Wall -Wextra '-DTEST_BUILD=" (portable build)"' -Itests $< -o $@ $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

# every test binary runs from the repository root; the last line sums them up. The binaries are
# compiled in parallel (one job a core, or what `make -jN test` gives), then run one after another.
NPROC ?= $(shell nproc 2>/dev/null || echo 2)
test:
	@$(MAKE) --no-print-directory $(if $(findstring j,$(filter-out --%,$(MAKEFLAGS))),,-j$(NPROC)) $(BUILD)/inheritune $(TESTS) $(PORTABLE) $(BUILD)/test_cuda_emu $(BUILD)/inheritune_cuda_emu $(BUILD)/test_embedded check-cxx
	@sh tests/run.sh $(TESTS) $(PORTABLE) $(BUILD)/test_cuda_emu $(BUILD)/test_embedded tests/cuda/test_gpu_check.sh '$(PTXAS_CHECK)'

# --- CUDA (inheritune_cuda.cu; README "CUDA (in progress)") ---------------------------------
# the CUDA ops on the SIMT emulator (tests/cuda), against the CPU ops: no GPU, no CUDA Toolkit
# (-O1: half the compile time of -O3, and the emulated shapes run in about a second anyway)
CXX     ?= c++
# Built by clang where it is found (CUDA_EMU_CXX), the kernels' loads and stores call the race
# detector's hooks (tests/cuda/simt.h; -fsanitize-coverage=trace-loads,trace-stores, only in the
# functions tests/cuda/trace.list names), so it sees a read of another thread's unsynchronised
# write; built by another compiler, it sees the writes only
CUDA_EMU_CXX  ?= $(shell command -v clang++-19 >/dev/null 2>&1 && echo clang++-19 || echo $(CXX))
CUDA_EMU_CLANG = $(findstring clang,$(shell $(CUDA_EMU_CXX) --version 2>/dev/null))
comma := ,
CUDA_EMU_TRACE = $(if $(CUDA_EMU_CLANG),-fsanitize-coverage=func$(comma)trace-loads$(comma)trace-stores -fsanitize-coverage-allowlist=tests/cuda/trace.list)
CUDA_EMU_FLAGS = -std=c++17 -O1 $(filter-out -O%,$(OPT)) -Wall -Wextra -DINH_CUDA_EMULATE -I. -Itests -Itests/cuda
CUDA_EMU_DEPS  = inheritune_cuda.cu $(HDR) tests/cuda/simt.h tests/cuda/cuda_emu.h tests/cuda/trace.list
# the device code contracts a*b + c to FMAs as nvcc does (-fmad=true); only this object: the CPU
# oracle (inheritune.h, compiled into the test) keeps its own rounding, bit for bit (contraction
# off, as C++17 without GNU extensions has it under GCC). GCC contracts in a pass that -O1 leaves
# out: -fexpensive-optimizations turns it on (clang needs nothing more)
CUDA_EMU_FMA = -ffp-contract=fast $(if $(CUDA_EMU_CLANG),-DINH_SIMT_TRACE,-fexpensive-optimizations)
$(BUILD)/inheritune_cuda_emu.o: $(CUDA_EMU_DEPS) Makefile | $(BUILD)
	$(CUDA_EMU_CXX) $(CUDA_EMU_FLAGS) $(CUDA_EMU_TRACE) $(CUDA_EMU_FMA) -x c++ -c inheritune_cuda.cu -o $@
$(BUILD)/test_cuda_emu: tests/test_cuda.cpp tests/test.h $(HDR) $(BUILD)/inheritune_cuda_emu.o
	$(CUDA_EMU_CXX) $(CUDA_EMU_FLAGS) $(CUDA_EMU_TRACE) -ffp-contract=off -c tests/test_cuda.cpp -o $@.o
	$(CUDA_EMU_CXX) $@.o $(BUILD)/inheritune_cuda_emu.o -o $@ $(LDLIBS)
cuda-emu-test: $(BUILD)/test_cuda_emu
	@sh tests/run.sh $(BUILD)/test_cuda_emu
# the tool with the CUDA backend on the emulator: --device cuda on any machine (slowly: small models)
cuda-emu: $(BUILD)/inheritune_cuda_emu
$(BUILD)/inheritune_cuda_emu: examples/inheritune.c $(HDR) $(BUILD)/inheritune_cuda_emu.o
	$(CC) $(CFLAGS) -DINH_WITH_CUDA -c examples/inheritune.c -o $(BUILD)/inheritune_cuda_emu_main.o
	$(CUDA_EMU_CXX) $(BUILD)/inheritune_cuda_emu_main.o $(BUILD)/inheritune_cuda_emu.o -o $@ $(LDLIBS)

# the device code through clang's CUDA front end to PTX, with stand-in declarations instead of
# the Toolkit's headers: catches code a CUDA compiler would refuse, on machines without nvcc
CLANG_CUDA ?= clang-19
CUDA_ARCH  ?= sm_90
cuda-syntax: | $(BUILD)
	@command -v $(CLANG_CUDA) >/dev/null 2>&1 || { echo "make cuda-syntax: $(CLANG_CUDA) not found (Debian: apt-get install clang-19; clang 14 lacks sm_90 and --cuda-feature)"; exit 1; }
	$(CLANG_CUDA) -x cuda -nocudainc -nocudalib --cuda-gpu-arch=$(CUDA_ARCH) --cuda-feature=+ptx80 --cuda-device-only -S \
	    -Wno-unknown-cuda-version -Wall -Wextra -Werror -DINH_CUDA_SYNTAX -Itests/cuda inheritune_cuda.cu -o $(BUILD)/inheritune_cuda.ptx
	@echo "cuda-syntax: $(BUILD)/inheritune_cuda.ptx, $$(grep -c '\.entry' $(BUILD)/inheritune_cuda.ptx) kernels for $(CUDA_ARCH)"

# with the CUDA Toolkit: the library object and the op tests on a real device (larger shapes);
# make cuda CUDA_ARCH=sm_80 for another card
ifeq ($(origin NVCC),undefined)
NVCC      := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
endif
NVCCFLAGS ?= -O3 -std=c++17 -arch=$(CUDA_ARCH) -lineinfo
# libcublas is linked dynamically: record the Toolkit's library folder, which is often not in ld.so.conf
CUDA_RPATH = -Xlinker -rpath -Xlinker $(abspath $(dir $(NVCC))../lib64)
cuda:
	@if [ -z "$(NVCC)" ] || ! [ -x "$(NVCC)" ]; then echo "make cuda needs the CUDA Toolkit (nvcc and cuBLAS; https://developer.nvidia.com/cuda-downloads), or NVCC=/path/to/nvcc"; exit 1; fi
	@$(MAKE) --no-print-directory $(BUILD)/inheritune_cuda $(BUILD)/libinheritune_cuda.a $(BUILD)/test_cuda_device $(BUILD)/bench_cuda
# the tool with the CUDA backend: every computing command takes --device cuda
$(BUILD)/inheritune_cuda: examples/inheritune.c $(HDR) $(BUILD)/inheritune_cuda.o
	$(CC) $(CFLAGS) -DINH_WITH_CUDA -c examples/inheritune.c -o $(BUILD)/inheritune_cuda_main.o
	$(NVCC) $(NVCCFLAGS) $(BUILD)/inheritune_cuda_main.o $(BUILD)/inheritune_cuda.o -o $@ -lcublasLt -lcublas -lpthread $(CUDA_RPATH)
$(BUILD)/inheritune_cuda.o: inheritune_cuda.cu $(HDR) | $(BUILD)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@
$(BUILD)/libinheritune_cuda.a: $(BUILD)/inheritune_cuda.o
	ar rcs $@ $<
$(BUILD)/test_cuda_device: tests/test_cuda.cpp tests/test.h $(HDR) $(BUILD)/inheritune_cuda.o
	$(CXX) -std=c++17 $(OPT) -Wall -Wextra -I. -Itests -c tests/test_cuda.cpp -o $(BUILD)/test_cuda_device.o
	$(NVCC) $(NVCCFLAGS) $(BUILD)/test_cuda_device.o $(BUILD)/inheritune_cuda.o -o $@ -lcublasLt -lcublas -lpthread $(CUDA_RPATH)
# matmul and attention speed at GPT-2 124M shapes (tests/cuda/gpu_check.sh runs it; --tiny on the emulator)
$(BUILD)/bench_cuda: tests/cuda/bench_cuda.cpp $(BUILD)/inheritune_cuda.o
	$(CXX) -std=c++17 -O2 -Wall -Wextra -c $< -o $(BUILD)/bench_cuda.o
	$(NVCC) $(NVCCFLAGS) $(BUILD)/bench_cuda.o $(BUILD)/inheritune_cuda.o -o $@ -lcublasLt -lcublas $(CUDA_RPATH)
$(BUILD)/bench_cuda_emu: tests/cuda/bench_cuda.cpp $(BUILD)/inheritune_cuda_emu.o
	$(CUDA_EMU_CXX) $(CUDA_EMU_FLAGS) $< $(BUILD)/inheritune_cuda_emu.o -o $@ $(LDLIBS)
# registers, spills and static shared memory per kernel from nvcc -Xptxas -v, against the block
# size each is launched with (tests/cuda/ptxas_check.sh; about 5 s; part of make test, a skip
# where there is no nvcc)
PTXAS_CHECK = NVCC="$(NVCC)" NVCCFLAGS="$(NVCCFLAGS)" BUILD="$(BUILD)" sh tests/cuda/ptxas_check.sh
ptxas-check:
	@sh tests/run.sh '$(PTXAS_CHECK)'
# tests/cuda/gpu_check.sh without a GPU: --dry-run's 3 files, step order and --budget, killed runs (part of make test)
test-gpu-check:
	@sh tests/run.sh tests/cuda/test_gpu_check.sh

# the header must compile as C++ and under clang too, plain and with $(OPT) (warnings are errors here)
check-cxx: | $(BUILD)
	@printf '#define INHERITUNE_IMPLEMENTATION\n#include "inheritune.h"\nint main(void){return 0;}\n' > $(BUILD)/one.cpp
	@c++ -Wall -Wextra -Werror -I. -c $(BUILD)/one.cpp -o $(BUILD)/one_cpp.o
	@c++ $(OPT) -Wall -Wextra -Werror -I. -c $(BUILD)/one.cpp -o $(BUILD)/one_cpp_opt.o
	@$(CC) -std=c99 -Wall -Wextra -Werror -DINHERITUNE_STATIC -DINH_NO_THREADS -I. -x c -c $(BUILD)/one.cpp -o $(BUILD)/one_static.o
	@if command -v clang >/dev/null; then cp $(BUILD)/one.cpp $(BUILD)/one.c; clang -std=c99 -Wall -Wextra -Werror -I. -c $(BUILD)/one.c -o $(BUILD)/one_c.o; \
	    clang $(OPT) -std=c99 -Wall -Wextra -Werror -I. -c $(BUILD)/one.c -o $(BUILD)/one_c_opt.o; fi

# make demo [DATA=text.txt [TOKENIZER=dir]] [DEMO_DIR=dir] [FRESH=1]: the whole Inheritune workflow in a few
# minutes, into build/demo (build/demo-NAME for DATA=NAME.txt); its settings in DIR/settings.txt
demo: $(BUILD)/inheritune
	@DATA="$(DATA)" TOKENIZER="$(TOKENIZER)" sh examples/demo.sh

# make reproduce [CORPUS=text.txt] [TOKENIZER=dir|bytes]: small-scale reproduction on real text (about 5 minutes on 2 cores)
reproduce: $(BUILD)/inheritune
	@CORPUS="$(CORPUS)" TOKENIZER="$(TOKENIZER)" sh examples/reproduce.sh

# make shortcuts [CORPUS=text.txt] [STEPS=600] [L=4] [FRESH=1]: attention shortcuts against plain models on tiny
# shakespeare or CORPUS (~1.5 min on 2 free cores); settings in build/shortcuts/settings.txt
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
# attention kernels of one layer (flash and plain) at the PyTorch table's shapes, against the FMA peak
bench-attention: $(BUILD)/bench_attention
	$(BUILD)/bench_attention
$(BUILD)/bench_attention: bench/bench_attention.c $(HDR) | $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
# the same on an AVX2 laptop's build (-march=haswell: the avx2 entry of the vector mapping)
bench-attention-avx2: $(BUILD)/avx2/bench_attention
	$(BUILD)/avx2/bench_attention
$(BUILD)/avx2/bench_attention: bench/bench_attention.c $(HDR)
	@mkdir -p $(BUILD)/avx2
	$(CC) -O3 -march=haswell -std=c99 -Wall -Wextra $< -o $@ $(LDLIBS)
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

# --- every desk (README "Platforms"): the same sources built for other systems and CPUs -----------
# The kernel, model, format and tokenizer programs each platform runs; the CLI tests drive the tool.
PORT_TESTS = core fastmm shortcuts safetensors tokenizer threads
PORT_DEPS  = tests/test.h $(HDR)
PORT_FLAGS = -O2 -std=c99 -Wall -Wextra -Itests

# Windows: MinGW-w64 (Win32 threads, no winpthreads), run under wine
WIN_CC ?= x86_64-w64-mingw32-gcc
WINE   ?= wine
WIN    = $(BUILD)/win
windows: $(WIN)/inheritune.exe $(patsubst %,$(WIN)/test_%.exe,$(PORT_TESTS)) $(WIN)/test_cli_wine $(WIN)/test_badinput_wine $(WIN)/test_week2_wine
$(WIN)/inheritune.exe: examples/inheritune.c $(HDR)
	@mkdir -p $(WIN)
	$(WIN_CC) -O2 -std=c99 -Wall -Wextra $< -o $@ -lm
# the Windows test programs start the Windows tool through cmd.exe: a Windows path
$(WIN)/test_%.exe: tests/test_%.c $(PORT_DEPS)
	@mkdir -p $(WIN)
	$(WIN_CC) $(PORT_FLAGS) '-DTEST_BUILD=" (windows)"' '-DTOOL="build\\win\\inheritune.exe"' $< -o $@ -lm
# the CLI and bad-input tests are shell scripts at heart: Linux programs that run the Windows tool under wine
$(WIN)/test_%_wine: tests/test_%.c $(PORT_DEPS)
	@mkdir -p $(WIN)
	$(CC) $(PORT_FLAGS) '-DTEST_BUILD=" (windows tool under wine)"' -DTOOL_WINE '-DTOOL="$(WINE) build/win/inheritune.exe"' \
	    -DTOOL_FILE='"build/win/inheritune.exe"' $< -o $@ $(LDLIBS)
# one wine server and its services for the whole run, started apart from the tests' pipes (a server
# that stops between programs makes each start slow and can drop a client as it goes)
test-windows: windows
	@export WINEDEBUG=-all; wineserver -p </dev/null >/dev/null 2>&1; $(WINE) cmd /c exit </dev/null >/dev/null 2>&1; \
	sh tests/run.sh $(foreach t,$(PORT_TESTS),"$(WINE) $(WIN)/test_$(t).exe") $(WIN)/test_cli_wine $(WIN)/test_badinput_wine $(WIN)/test_week2_wine \
	    "sh tests/platform_tool.sh windows"; rc=$$?; wineserver -k; exit $$rc

# AVX2 + FMA laptops (Haswell and later, Zen): the kernel programs built with -march=haswell run
# here, through the avx2 entry of the vector mapping; the tool's bench must name that set
AVX2_TESTS = core fastmm shortcuts
$(BUILD)/avx2/inheritune: examples/inheritune.c $(HDR)
	@mkdir -p $(BUILD)/avx2
	$(CC) -O3 -march=haswell -std=c99 -Wall -Wextra $< -o $@ $(LDLIBS)
$(BUILD)/avx2/test_%: tests/test_%.c tests/test.h tests/test_proc.h $(HDR)
	@mkdir -p $(BUILD)/avx2
	$(CC) -O3 -march=haswell -std=c99 -Wall -Wextra -Itests '-DTEST_BUILD=" (avx2)"' $< -o $@ $(LDLIBS)
test-avx2: $(BUILD)/avx2/inheritune $(patsubst %,$(BUILD)/avx2/test_%,$(AVX2_TESTS))
	@sh tests/run.sh $(foreach t,$(AVX2_TESTS),$(BUILD)/avx2/test_$(t)) "sh tests/isa_check.sh avx2 $(BUILD)/avx2/inheritune"

# 64-bit and 32-bit ARM Linux under qemu-user; 32-bit x86 (static, runs here); big-endian s390x under qemu
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM32_CC ?= arm-linux-gnueabihf-gcc
I686_CC  ?= i686-linux-gnu-gcc
S390_CC  ?= s390x-linux-gnu-gcc
QEMU_ARM64 ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
QEMU_ARM32 ?= qemu-arm -L /usr/arm-linux-gnueabihf
QEMU_S390  ?= qemu-s390x -L /usr/s390x-linux-gnu
# (a static i686 program runs natively on x86-64 kernels with 32-bit support; this machine's has none)
QEMU_I686  ?= qemu-i386
# cross_rules(dir, compiler, extra flags, runner, the test programs' own flags): the tool and the
# test programs for one target
define cross_rules
$(BUILD)/$(1)/inheritune: examples/inheritune.c $(HDR)
	@mkdir -p $(BUILD)/$(1)
	$(2) -O2 -std=c99 -Wall -Wextra $(3) $$< -o $$@ -lm -lpthread
$(BUILD)/$(1)/test_%: tests/test_%.c $(PORT_DEPS)
	@mkdir -p $(BUILD)/$(1)
	$(2) $(PORT_FLAGS) $(3) $(5) '-DTEST_BUILD=" ($(1))"' '-DTOOL="$(4) $(BUILD)/$(1)/inheritune"' -DTOOL_FILE='"$(BUILD)/$(1)/inheritune"' $$< -o $$@ -lm -lpthread
endef
$(eval $(call cross_rules,arm64,$(ARM64_CC),,$(QEMU_ARM64)))
$(eval $(call cross_rules,arm32,$(ARM32_CC),,$(QEMU_ARM32)))
# 32-bit x86: the tool is the one-line build (x87 arithmetic); the test programs use SSE2 arithmetic
# (any x86 since 2001), as qemu runs x87 code 5-10x slower still: the x87 build is checked through
# the tool (tests/platform_tool.sh: the same losses within 1e-5 and the same greedy tokens as Linux)
$(eval $(call cross_rules,i686,$(I686_CC),-static,$(QEMU_I686),-msse2 -mfpmath=sse))
$(eval $(call cross_rules,s390x,$(S390_CC),,$(QEMU_S390)))
cross_bins = $(BUILD)/$(1)/inheritune $(patsubst %,$(BUILD)/$(1)/test_%,$(PORT_TESTS))
test-arm64: $(call cross_bins,arm64)
	@INH_TEST_UNDER_QEMU=1 sh tests/run.sh $(foreach t,$(PORT_TESTS),"$(QEMU_ARM64) $(BUILD)/arm64/test_$(t)") "sh tests/platform_tool.sh arm64" \
	    "sh tests/isa_check.sh neon '$(QEMU_ARM64) $(BUILD)/arm64/inheritune'"
test-32: $(call cross_bins,i686) $(call cross_bins,arm32)
	@INH_TEST_UNDER_QEMU=1 INH_TEST_QUICK=1 sh tests/run.sh $(foreach t,$(PORT_TESTS),"$(QEMU_I686) $(BUILD)/i686/test_$(t)") "sh tests/platform_tool.sh i686"
	@INH_TEST_UNDER_QEMU=1 sh tests/run.sh $(foreach t,$(PORT_TESTS),"$(QEMU_ARM32) $(BUILD)/arm32/test_$(t)") "sh tests/platform_tool.sh arm32"
# big-endian: the files stay little-endian (the loaders and writers swap); the kernel and format programs.
# INH_TEST_QUICK: x87 and s390x floating point under qemu run 100-250x slower than native; the two
# slowest programs run fewer random shapes and no training-behaviour runs there (see the tests)
test-bigendian: $(BUILD)/s390x/inheritune $(BUILD)/s390x/test_core $(BUILD)/s390x/test_safetensors $(BUILD)/s390x/test_tokenizer
	@INH_TEST_UNDER_QEMU=1 INH_TEST_QUICK=1 sh tests/run.sh $(foreach t,core safetensors tokenizer,"$(QEMU_S390) $(BUILD)/s390x/test_$(t)") "sh tests/platform_tool.sh s390x"

# WebAssembly (WASI): clang-19 with Debian's wasi-libc and lld-19, one thread, run by node's WASI.
# The tool is the one-line build a student types (the library keeps under WASI's 64 KiB default
# stack); the test programs hold big arrays on the stack and get 4 MiB (a WASI stack has no guard).
WASM_CC ?= clang-19
WASM_FLAGS = --target=wasm32-wasi --sysroot=/usr -O2 -std=c99 -Wall -Wextra
WASI_RUN = node --no-warnings tools/wasi_run.mjs
wasm: $(BUILD)/inheritune.wasm
$(BUILD)/inheritune.wasm: examples/inheritune.c $(HDR) | $(BUILD)
	$(WASM_CC) $(WASM_FLAGS) $< -o $@ -lm
$(BUILD)/wasm/test_%.wasm: tests/test_%.c $(PORT_DEPS)
	@mkdir -p $(BUILD)/wasm
	$(WASM_CC) $(WASM_FLAGS) -Itests '-DTEST_BUILD=" (wasm32-wasi)"' $< -o $@ -lm -Wl,-z,stack-size=4194304
# the same programs once more with SIMD128 (-msimd128: the simd128 entry of the vector mapping)
$(BUILD)/wasm-simd/test_%.wasm: tests/test_%.c $(PORT_DEPS)
	@mkdir -p $(BUILD)/wasm-simd
	$(WASM_CC) $(WASM_FLAGS) -msimd128 -Itests '-DTEST_BUILD=" (wasm32-wasi simd128)"' $< -o $@ -lm -Wl,-z,stack-size=4194304
$(BUILD)/wasm-simd/inheritune.wasm: examples/inheritune.c $(HDR)
	@mkdir -p $(BUILD)/wasm-simd
	$(WASM_CC) $(WASM_FLAGS) -msimd128 $< -o $@ -lm
WASM_SIMD_TESTS = core fastmm
test-wasm: $(BUILD)/inheritune.wasm $(BUILD)/wasm/test_core.wasm $(BUILD)/wasm/test_fastmm.wasm \
           $(BUILD)/wasm-simd/inheritune.wasm $(patsubst %,$(BUILD)/wasm-simd/test_%.wasm,$(WASM_SIMD_TESTS))
	@sh tests/run.sh "$(WASI_RUN) $(BUILD)/wasm/test_core.wasm" "$(WASI_RUN) $(BUILD)/wasm/test_fastmm.wasm" "sh tests/platform_tool.sh wasm" \
	    $(foreach t,$(WASM_SIMD_TESTS),"$(WASI_RUN) $(BUILD)/wasm-simd/test_$(t).wasm") \
	    "sh tests/isa_check.sh simd128 '$(WASI_RUN) $(BUILD)/wasm-simd/inheritune.wasm'"

# The browser page (examples/web/): the library as a WebAssembly reactor (lab.c, SIMD128, one
# thread) run by a Web Worker over a file system in memory (wasi.js). Static files only: any server
# works, e.g. python3 -m http.server -d build/web. make test-web drives it in headless chromium.
WEB_FILES = index.html style.css app.js worker.js lab.js wasi.js
web: $(BUILD)/web/lab.wasm $(addprefix $(BUILD)/web/,$(WEB_FILES))
$(BUILD)/web/lab.wasm: examples/web/lab.c $(HDR)
	@mkdir -p $(BUILD)/web
	$(WASM_CC) $(WASM_FLAGS) -msimd128 -mexec-model=reactor $< -o $@ -lm -Wl,-z,stack-size=1048576
$(BUILD)/web/%: examples/web/%
	@mkdir -p $(BUILD)/web
	cp $< $@
test-web: web $(BUILD)/inheritune
	@node tests/web/smoke.mjs && node tests/web/test_web.mjs

# no file system, no threads, no OS: examples/embedded.c for a Cortex-M7 with newlib (compile and size);
# the same program runs natively in make test
EMB_CC ?= arm-none-eabi-gcc
EMB_FLAGS = -mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -O2 -std=c99 -Wall -Wextra -DINH_NO_STDIO -DINH_NO_THREADS \
            -ffunction-sections -fdata-sections
embedded: $(BUILD)/embedded_model.h
	$(EMB_CC) $(EMB_FLAGS) -I$(BUILD) examples/embedded.c -o $(BUILD)/embedded.elf -lm -Wl,--gc-sections --specs=nosys.specs
	arm-none-eabi-size $(BUILD)/embedded.elf
$(BUILD)/test_embedded: examples/embedded.c $(HDR) $(BUILD)/embedded_model.h
	$(CC) -O2 -std=c99 -Wall -Wextra -DINH_NO_STDIO -DINH_NO_THREADS -I$(BUILD) $< -o $@ -lm
# the model in flash: tests/ref/tiny.bin as a C array
$(BUILD)/embedded_model.h: tests/ref/tiny.bin | $(BUILD)
	{ echo '/* tests/ref/tiny.bin (made by make) */'; echo 'static const unsigned char model_bin[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; } > $@

clean:
	rm -rf $(BUILD)
