/* inheritune_cuda.cu - the CUDA companion of inheritune.h: the ops of a training step on one
   NVIDIA GPU, over the CUDA runtime, cuBLAS and cuBLASLt only.

   The ops have a small C API (below), tested one by one against the CPU ops of inheritune.h, and
   fill inheritune.h's backend table (inh_cuda_backend(), at the end of the file), so a model runs
   its whole training step here: inh_model_set_backend(&m, inh_cuda_backend(), ctx). Build:
       nvcc -O3 -arch=sm_90 -c inheritune_cuda.cu            (make cuda; links with -lcublasLt -lcublas)
       c++ -x c++ -DINH_CUDA_EMULATE -Itests/cuda -c inheritune_cuda.cu
                                                               (make cuda-emu-test: the same source
                                                                on the SIMT emulator, no GPU)
   The declarations below are this file's whole interface. A C or C++ file that calls it does
       #define INH_CUDA_DECLARE_ONLY
       #include "inheritune_cuda.cu"
   (the library stays the two files the design names; no third header to keep in step).

   Conventions, shared with inheritune.h: row-major tensors, dimension names B, T, C, NH, hs, V,
   Vp, N = B*T rows, OC output channels; every pointer passed to an op is device memory unless the
   name says host; backward ops ACCUMULATE (+=) into gradients; each launcher's arguments are the
   CPU op's, with the context first in place of the thread count. Functions return 0, or -1 with
   inh_cuda_error() naming the call and the problem; nothing here ends the process. Every kernel
   is deterministic: each output has one owner and a fixed summation order (no float atomics), so
   a run is bit-reproducible on the same GPU. All work goes to the default stream, in order.

   Adding a kernel: launch it with INH_CUDA_LAUNCH (never <<<>>> directly), take dynamic shared
   memory with INH_CUDA_SHARED_DYN, and give any CUDA intrinsic not used yet a stand-in in
   tests/cuda/simt.h (emulation) and a declaration in tests/cuda/cuda_stub.h (make cuda-syntax);
   write its block size into the table of tests/cuda/ptxas_check.sh (registers per block). */
#ifndef INHERITUNE_CUDA_API
#define INHERITUNE_CUDA_API
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct inh_cuda_ctx inh_cuda_ctx;   /* cuBLAS handle and scratch for one device */

const char *inh_cuda_error(void);           /* the last error message ("" if none) */
int  inh_cuda_emulated(void);               /* 1 in the emulation build */
int  inh_cuda_init(inh_cuda_ctx **g, int device);
void inh_cuda_release(inh_cuda_ctx *g);
int  inh_cuda_sync(inh_cuda_ctx *g);        /* waits for the device; reports errors of earlier kernels */
/* the device, for bench's model FLOP utilisation (peak = SMs x clock x FLOP per SM and clock of its
   architecture) and memory figures; mem_peak: the most in use seen by any call of this so far */
typedef struct { char name[256]; int sms, major, minor; double clock_ghz; size_t mem_total, mem_used, mem_peak; } inh_cuda_info;
int  inh_cuda_device_info(inh_cuda_ctx *g, inh_cuda_info *info);
/* The context's scratch: device bytes (bf16 operands, column-sum partials, encoder groups, norm
   partials) and pinned host ints (the encoder backward's upload; host_ints per slot, of 4). The backend table sizes both
   before each forward for the whole step; an op that finds them too small grows them (cudaFree and
   cudaMalloc, which wait for the device), and scratch_grows counts those growths, so a test can
   assert that a model step made none. reserve never shrinks. */
int    inh_cuda_reserve(inh_cuda_ctx *g, size_t device_bytes, size_t host_ints);
size_t inh_cuda_scratch_grows(inh_cuda_ctx *g);

/* memory */
int  inh_cuda_malloc(void **p, size_t bytes);
int  inh_cuda_free(void *p);                /* NULL is fine */
int  inh_cuda_to_device(void *dst, const void *host_src, size_t bytes);
int  inh_cuda_to_host(void *host_dst, const void *src, size_t bytes);
int  inh_cuda_copy(void *dst, const void *src, size_t bytes);   /* device to device */
int  inh_cuda_memset(void *p, int byte, size_t bytes);

/* the ops (shapes as in inheritune.h) */
int inh_cuda_encoder_forward(inh_cuda_ctx *g, float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C);
/* inp_host: the ids of inp in host memory, or NULL (then they are read back from inp, waiting for the device) */
int inh_cuda_encoder_backward(inh_cuda_ctx *g, float *dwte, float *dwpe, const float *dout, const int *inp, const int *inp_host,
                              int B, int T, int C);
/* out16 (here, in attention_forward, gelu_forward and gelu_backward): NULL, or where the op also
   writes its output (after any add) rounded to bf16, for the bf16 matmul that reads it (inp16, dout16) */
int inh_cuda_layernorm_forward(inh_cuda_ctx *g, float *out, float *mean, float *rstd, const float *inp,
                               const float *w, const float *bias, int N, int C, unsigned short *out16);
int inh_cuda_layernorm_backward(inh_cuda_ctx *g, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                const float *w, const float *mean, const float *rstd, int N, int C);
/* bf16: operands rounded to bfloat16 (to nearest even), products summed in fp32, as the CPU --bf16.
   inp16 (bf16 only, else ignored): NULL, or bf16(inp) (N, C), as its producer's out16 wrote it: read
   instead of rounding inp */
int inh_cuda_matmul_forward(inh_cuda_ctx *g, float *out, const float *inp, const float *w, const float *bias,
                            int N, int C, int OC, int bf16, unsigned short *inp16);
/* fresh: dinp = dout @ w (what dinp held is never read: cuBLAS with beta 0), else dinp += dout @ w.
   bf16 only (else ignored): inp16 as above; dout16, bf16(dout) (N, OC) from dout's producer, read
   instead of rounding dout (dout's floats are then read only for dbias) */
int inh_cuda_matmul_backward(inh_cuda_ctx *g, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC, int bf16, int fresh, const unsigned short *inp16,
                             const unsigned short *dout16);
/* causal attention, flash-style: (B,NH,T,T) is never stored. rows is (B*NH, 2T) floats, kept from
   the forward to its backward: the forward leaves each query row's log-sum-exp in rows[bh*2T + t],
   the backward adds D_t = dout_t . out_t at [bh*2T + T + t] from out, the forward's output (fp32:
   out may be NULL, and the forward then runs again for both). hs = C/NH <= 128.
   bf16: on the tensor cores (mma.sync, bf16 operands, fp32 sums and softmax); else fp32 CUDA cores. */
int inh_cuda_attention_forward(inh_cuda_ctx *g, float *out, float *rows, const float *qkv, int B, int T, int C, int NH, float scale,
                               int bf16, unsigned short *out16);
int inh_cuda_attention_backward(inh_cuda_ctx *g, float *dqkv, float *rows, const float *dout, const float *out, const float *qkv,
                                int B, int T, int C, int NH, float scale, int bf16);
int inh_cuda_gelu_forward(inh_cuda_ctx *g, float *out, const float *inp, size_t n, unsigned short *out16);
int inh_cuda_gelu_backward(inh_cuda_ctx *g, float *dinp, const float *inp, const float *gout, const float *dout, size_t n,
                           unsigned short *out16);
int inh_cuda_residual_forward(inh_cuda_ctx *g, float *out, const float *a, const float *b, size_t n);
int inh_cuda_crossentropy_forward(inh_cuda_ctx *g, float *logits, float *losses, const int *targets, int N, int V, int Vp);
/* probs (N, Vp) become dlogits in place, or with dlogits16, go there as bf16 (probs unchanged) */
int inh_cuda_crossentropy_backward(inh_cuda_ctx *g, float *probs, const int *targets, const float *q, float w, float dloss,
                                   int N, int Vp, unsigned short *dlogits16);
/* global L2 norm of x[0..n), into *norm (device memory: nothing waits for it): blocks sum fixed
   chunks in double, then one block adds the partials in order, so the result depends on n alone */
int inh_cuda_grad_norm(inh_cuda_ctx *g, const float *x, size_t n, float *norm);
/* *gate := 0 when every x[0..n) is finite, else NaN (device memory: nothing waits for it). The
   sum of x - x, which is 0 or NaN whatever the order: a training step's losses, so that adamw
   skips an update whose loss is not finite before the host has read the loss */
int inh_cuda_finite_gate(inh_cuda_ctx *g, const float *x, size_t n, float *gate);
/* AdamW over segments of one parameter buffer (per tensor: where it lies and its weight decay);
   t is the 1-based step for bias correction. Clipping: every gradient is multiplied by clip /
   (*norm + 1e-6) where clip > 0 and *norm > clip (norm in device memory, as inh_cuda_grad_norm left
   it; the CPU's formula, computed on the device); a norm that is not finite skips the update, and
   so does a gate (device memory, as inh_cuda_finite_gate left it) that is not 0.
   norm NULL: no clipping; gate NULL: no gate. */
typedef struct { size_t off, n; float wd; } inh_cuda_segment;
int inh_cuda_adamw(inh_cuda_ctx *g, float *w, const float *grad, float *m, float *v, const inh_cuda_segment *segs, int nseg,
                   float lr, float beta1, float beta2, float eps, const float *norm, const float *gate, float clip, int t);


/* The CUDA backend of inheritune.h's model: its op table over the ops above. Use
       inh_cuda_ctx *g; inh_cuda_init(&g, 0);
       inh_model_set_backend(&m, inh_cuda_backend(), g);   (parameters and moments go to the GPU)
   Ops that fail leave their message in inh_cuda_error() and the context marked: later ops are
   skipped, and the model's next check reports it (inh_error() then says "cuda backend: ..."). */
struct inh_backend;
const struct inh_backend *inh_cuda_backend(void);

#ifdef __cplusplus
}
#endif
#endif /* INHERITUNE_CUDA_API */

#ifndef INH_CUDA_DECLARE_ONLY
/* =============================================================================================
   Implementation */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "inheritune.h"                  /* the model types the backend table works on (declarations only) */

#if defined(INH_CUDA_EMULATE)
#include "cuda_emu.h"                    /* tests/cuda: the SIMT emulator and cuBLAS stand-in */
#define INH_CUDA_SHARED_DYN(T, name) INH_SIMT_DYN_SHARED(T, name)
#elif defined(INH_CUDA_SYNTAX)
#include "cuda_stub.h"                   /* tests/cuda: declarations for clang -nocudainc */
#define INH_CUDA_SHARED_DYN(T, name) extern __shared__ T name[]
#else
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cublasLt.h>
#define INH_CUDA_SHARED_DYN(T, name) extern __shared__ T name[]
#endif

/* ---- errors --------------------------------------------------------------------------------- */
static char inh_cuda__errbuf[1024];
extern "C" const char *inh_cuda_error(void) { return inh_cuda__errbuf; }
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static int inh_cuda__fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inh_cuda__errbuf, sizeof inh_cuda__errbuf, fmt, ap);
    va_end(ap);
    return -1;
}
#define INH_CUDA_CHECK(call) do { \
    cudaError_t e_ = (call); \
    if (e_ != cudaSuccess) return inh_cuda__fail("%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
} while (0)
#define INH_CUBLAS_CHECK(call) do { \
    cublasStatus_t s_ = (call); \
    if (s_ != CUBLAS_STATUS_SUCCESS) return inh_cuda__fail("%s:%d: %s: %s", __FILE__, __LINE__, #call, cublasGetStatusString(s_)); \
} while (0)
/* the same where descriptors are to be destroyed first: sets st_/line_/what_ and jumps to done */
#define INH_CUBLAS_TRY(call) do { \
    st_ = (call); \
    if (st_ != CUBLAS_STATUS_SUCCESS) { line_ = __LINE__; what_ = #call; goto done; } \
} while (0)

/* The one way a kernel is launched, so that the same source runs on a GPU and on the emulator.
   A launch error (bad configuration) is reported here; an error while the kernel runs shows at the
   next synchronising call, or here already with -DINH_CUDA_SYNC_EACH (debugging, sanitizers). The
   emulator queues the run too, and its error at that call names the kernel and this line. */
#if defined(INH_CUDA_EMULATE)
#define INH_CUDA_LAUNCH(kernel, grid, block, shmem, ...) do { \
    inh_simt::at(#kernel, __FILE__, __LINE__); \
    if (inh_simt::launch(grid, block, shmem, kernel, __VA_ARGS__)) { \
        (void)cudaGetLastError(); \
        return inh_cuda__fail("%s:%d: kernel %s: %s", __FILE__, __LINE__, #kernel, inh_simt::error()); \
    } \
} while (0)
#else
#ifdef INH_CUDA_SYNC_EACH
#define INH_CUDA__AFTER_LAUNCH INH_CUDA_CHECK(cudaDeviceSynchronize())
#else
#define INH_CUDA__AFTER_LAUNCH ((void)0)
#endif
#define INH_CUDA_LAUNCH(kernel, grid, block, shmem, ...) do { \
    kernel<<<grid, block, shmem>>>(__VA_ARGS__); \
    cudaError_t e_ = cudaGetLastError(); \
    if (e_ != cudaSuccess) return inh_cuda__fail("%s:%d: kernel %s: %s", __FILE__, __LINE__, #kernel, cudaGetErrorString(e_)); \
    INH_CUDA__AFTER_LAUNCH; \
} while (0)
#endif

extern "C" int inh_cuda_emulated(void) {
#ifdef INH_CUDA_EMULATE
    return 1;
#else
    return 0;
#endif
}

/* ---- context and memory --------------------------------------------------------------------- */
enum { INH_CUDA__PIN_SLOTS = 4 };
enum { INH_CUDA__LT_WS = 32 << 20 };   /* cuBLASLt's workspace: 32 MiB, as cuBLAS takes on sm_90 */
struct inh_cuda_ctx {
    cublasHandle_t blas;
    cublasLtHandle_t lt;    /* the forward matmul with its bias in the GEMM's epilogue */
    void *lt_ws;            /* INH_CUDA__LT_WS bytes, allocated once (never in the middle of a step) */
    void *scratch;          /* device scratch: bf16 operands, encoder buckets, norm partials */
    size_t scratch_bytes;
    int *host;              /* host scratch: encoder backward's (token, position) pairs */
    size_t host_ints;
    /* pinned host scratch: the encoder backward's groups, uploaded asynchronously, from PIN_SLOTS
       slots of pin_ints ints taken in turn, so that the micro-batches of one accumulated step
       (up to PIN_SLOTS of them) never wait for an earlier one's upload to have been read */
    int *pin;
    size_t pin_ints;
    cudaEvent_t pin_done[INH_CUDA__PIN_SLOTS];   /* recorded after each slot's upload: not rewritten before it has been read */
    int pin_pending[INH_CUDA__PIN_SLOTS];
    int pin_next;           /* the slot the next upload takes */
    size_t grows;           /* inh_cuda_scratch_grows: scratch or pin grown inside an op */
    /* the bf16 mirror of one model's weights (bf16 models): the matmuls take their weight operand
       from it instead of converting the weights at every call; AdamW writes it as it updates the
       weights, and any other write into the weights (upload, copy, zero) marks it stale, so it is
       converted again before the next matmul reads it */
    const float *wbase;     /* the weights it mirrors (the model's, as of its last reserve), or NULL */
    size_t wn;
    unsigned short *wbf;    /* wn bf16 values */
    size_t wbf_cap;
    int wstale;
    int failed;             /* the backend table: an op failed (inh_cuda_error says which); later ops are skipped */
    int device;
    int cc;                 /* compute capability x 10 (90 for sm_90): bf16 tensor-core attention from 80 */
    size_t mem_peak;        /* inh_cuda_device_info: the most device memory in use it has seen */
};

extern "C" int inh_cuda_init(inh_cuda_ctx **out, int device) {
    *out = NULL;
    int n = 0;
    INH_CUDA_CHECK(cudaGetDeviceCount(&n));
    if (device < 0 || device >= n) return inh_cuda__fail("CUDA device %d does not exist (%d found)", device, n);
    INH_CUDA_CHECK(cudaSetDevice(device));
    inh_cuda_ctx *g = (inh_cuda_ctx *)calloc(1, sizeof *g);
    if (!g) return inh_cuda__fail("out of host memory for the CUDA context");
    cublasStatus_t s = cublasCreate(&g->blas);
    if (s != CUBLAS_STATUS_SUCCESS) { free(g); return inh_cuda__fail("cublasCreate: %s", cublasGetStatusString(s)); }
    s = cublasLtCreate(&g->lt);
    if (s != CUBLAS_STATUS_SUCCESS) { cublasDestroy(g->blas); free(g); return inh_cuda__fail("cublasLtCreate: %s", cublasGetStatusString(s)); }
    cudaError_t e = cudaMalloc(&g->lt_ws, INH_CUDA__LT_WS);
    if (e != cudaSuccess) {
        cublasLtDestroy(g->lt); cublasDestroy(g->blas); free(g);
        return inh_cuda__fail("cudaMalloc (cuBLASLt workspace, %d bytes): %s", (int)INH_CUDA__LT_WS, cudaGetErrorString(e));
    }
    g->device = device;
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess)
        g->cc = 10 * major + minor;
    for (int k = 0; k < INH_CUDA__PIN_SLOTS; k++) {
        e = cudaEventCreateWithFlags(&g->pin_done[k], cudaEventDisableTiming);
        if (e != cudaSuccess) {
            while (k-- > 0) cudaEventDestroy(g->pin_done[k]);
            cudaFree(g->lt_ws); cublasLtDestroy(g->lt); cublasDestroy(g->blas); free(g);
            return inh_cuda__fail("cudaEventCreateWithFlags: %s", cudaGetErrorString(e));
        }
    }
    *out = g;
    return 0;
}
extern "C" void inh_cuda_release(inh_cuda_ctx *g) {
    if (!g) return;
    cublasLtDestroy(g->lt);
    cublasDestroy(g->blas);
    cudaFree(g->lt_ws);
    cudaFree(g->scratch);
    cudaFree(g->wbf);
    for (int k = 0; k < INH_CUDA__PIN_SLOTS; k++) if (g->pin_pending[k]) cudaEventSynchronize(g->pin_done[k]);
    cudaFreeHost(g->pin);
    for (int k = 0; k < INH_CUDA__PIN_SLOTS; k++) cudaEventDestroy(g->pin_done[k]);
    free(g->host);
    free(g);
}
extern "C" int inh_cuda_sync(inh_cuda_ctx *g) {
    (void)g;
    INH_CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
extern "C" int inh_cuda_device_info(inh_cuda_ctx *g, inh_cuda_info *info) {
    memset(info, 0, sizeof *info);
    cudaDeviceProp prop;
    int clock_khz = 0;
    size_t free_b = 0, total_b = 0;
    INH_CUDA_CHECK(cudaGetDeviceProperties(&prop, g->device));
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    INH_CUDA_CHECK(cudaDeviceGetAttribute(&info->sms, cudaDevAttrMultiProcessorCount, g->device));
    INH_CUDA_CHECK(cudaDeviceGetAttribute(&info->major, cudaDevAttrComputeCapabilityMajor, g->device));
    INH_CUDA_CHECK(cudaDeviceGetAttribute(&info->minor, cudaDevAttrComputeCapabilityMinor, g->device));
    INH_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, g->device));
    INH_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    info->clock_ghz = clock_khz * 1e-6;
    info->mem_total = total_b;
    info->mem_used = total_b - free_b;
    if (info->mem_used > g->mem_peak) g->mem_peak = info->mem_used;
    info->mem_peak = g->mem_peak;
    return 0;
}
static int inh_cuda__scratch_to(inh_cuda_ctx *g, size_t bytes) {
    INH_CUDA_CHECK(cudaFree(g->scratch));
    g->scratch = NULL; g->scratch_bytes = 0;
    INH_CUDA_CHECK(cudaMalloc(&g->scratch, bytes));
    g->scratch_bytes = bytes;
    return 0;
}
/* slots of at least `ints` each: grown (every slot's upload read first) when smaller */
static int inh_cuda__pin_to(inh_cuda_ctx *g, size_t ints, int counted) {
    if (g->pin_ints >= ints) return 0;
    for (int k = 0; k < INH_CUDA__PIN_SLOTS; k++) {
        if (g->pin_pending[k]) INH_CUDA_CHECK(cudaEventSynchronize(g->pin_done[k]));
        g->pin_pending[k] = 0;
    }
    g->grows += counted;
    INH_CUDA_CHECK(cudaFreeHost(g->pin));
    g->pin = NULL; g->pin_ints = 0;
    INH_CUDA_CHECK(cudaMallocHost((void **)&g->pin, INH_CUDA__PIN_SLOTS * ints * sizeof(int)));
    g->pin_ints = ints;
    return 0;
}
/* the next slot, of at least `ints`, once the device has read what its last upload took from it
   (long done unless PIN_SLOTS uploads were queued since: no wait) */
static int inh_cuda__pin_slot(inh_cuda_ctx *g, size_t ints, int **slot, int *k) {
    if (inh_cuda__pin_to(g, ints, 1)) return -1;
    *k = g->pin_next;
    g->pin_next = (*k + 1) % INH_CUDA__PIN_SLOTS;
    if (g->pin_pending[*k]) INH_CUDA_CHECK(cudaEventSynchronize(g->pin_done[*k]));
    g->pin_pending[*k] = 0;
    *slot = g->pin + (size_t)*k * g->pin_ints;
    return 0;
}
/* device scratch of at least `bytes`; its contents do not survive a call */
static int inh_cuda__scratch(inh_cuda_ctx *g, size_t bytes) {
    if (g->scratch_bytes >= bytes) return 0;
    g->grows++;
    return inh_cuda__scratch_to(g, bytes + bytes / 4 + 256);
}
extern "C" int inh_cuda_reserve(inh_cuda_ctx *g, size_t device_bytes, size_t host_ints) {
    if (g->scratch_bytes < device_bytes && inh_cuda__scratch_to(g, device_bytes)) return -1;
    if (g->pin_ints < host_ints && inh_cuda__pin_to(g, host_ints, 0)) return -1;
    return 0;
}
extern "C" size_t inh_cuda_scratch_grows(inh_cuda_ctx *g) { return g->grows; }

/* the column sums' partials (floats) in the scratch */
static int inh_cuda__cs_part(inh_cuda_ctx *g, float **part, size_t n) {
    if (inh_cuda__scratch(g, n * sizeof(float))) return -1;
    *part = (float *)g->scratch;
    return 0;
}

extern "C" int inh_cuda_malloc(void **p, size_t bytes) {
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) { *p = NULL; return inh_cuda__fail("cudaMalloc of %zu bytes: %s", bytes, cudaGetErrorString(e)); }
    return 0;
}
extern "C" int inh_cuda_free(void *p) { INH_CUDA_CHECK(cudaFree(p)); return 0; }
extern "C" int inh_cuda_to_device(void *dst, const void *src, size_t bytes) {
    INH_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return 0;
}
extern "C" int inh_cuda_to_host(void *dst, const void *src, size_t bytes) {
    INH_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return 0;
}
extern "C" int inh_cuda_copy(void *dst, const void *src, size_t bytes) {   /* queued: the host does not wait */
    INH_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
    return 0;
}
extern "C" int inh_cuda_memset(void *p, int byte, size_t bytes) { INH_CUDA_CHECK(cudaMemset(p, byte, bytes)); return 0; }

/* ---- device helpers ------------------------------------------------------------------------- */
#if defined(__CUDACC__) || defined(__CUDA__)
#define INH_CUDA__UNROLL _Pragma("unroll")   /* the loop that follows, unrolled (device compilers only) */
#else
#define INH_CUDA__UNROLL
#endif
#define INH_CUDA__FULL 0xffffffffu
enum { INH_CUDA__EW = 256,          /* threads per block of the element-wise kernels */
       INH_CUDA__EW_BLOCKS = 2048 };/* at most this many blocks; each thread strides the rest */

static unsigned inh_cuda__ew_grid(size_t n) {
    size_t b = (n + INH_CUDA__EW - 1) / INH_CUDA__EW;
    return (unsigned)(b < 1 ? 1 : b > (size_t)INH_CUDA__EW_BLOCKS ? (size_t)INH_CUDA__EW_BLOCKS : b);
}
/* sums and maxima over a warp: a butterfly, so every lane holds the same result (fixed order) */
template <class F> __device__ __forceinline__ F inh_cuda__warp_sum(F v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(INH_CUDA__FULL, v, o);
    return v;
}
__device__ __forceinline__ float inh_cuda__warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(INH_CUDA__FULL, v, o));
    return v;
}
/* sum or max over a 1-D block whose size is a multiple of 32 (at most 1024); every thread gets
   the result. sh holds 33 values. Fixed tree: deterministic. */
template <class F> __device__ F inh_cuda__block_reduce(F v, F *sh, int is_max) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
    v = is_max ? (F)inh_cuda__warp_max((float)v) : inh_cuda__warp_sum(v);
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        F x = lane < nw ? sh[lane] : (is_max ? sh[0] : (F)0);
        x = is_max ? (F)inh_cuda__warp_max((float)x) : inh_cuda__warp_sum(x);
        if (lane == 0) sh[32] = x;
    }
    __syncthreads();
    F r = sh[32];
    __syncthreads();   /* sh may be reused by the caller's next reduction */
    return r;
}
/* float to bfloat16 bits, to nearest even; NaN stays a quiet NaN (as inh__bf16_round) */
__device__ __forceinline__ unsigned short inh_cuda__bf16(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) u |= 0x00400000u;
    else u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

/* ---- column sums (dbias, layernorm dw and db) --------------------------------------------------
   Two stages, so that an (N, C) column sum fills the GPU (GPT-2 124M at B=16, T=1024: N = 16384, C
   = 768 gives 24 column tiles alone, 24 blocks on 132 SMs): stage 1 gives block (x, y) the 32
   columns of tile x and rows [y CS_ROWS, (y+1) CS_ROWS), CS_TY row groups summed in a fixed order,
   and writes one partial per column and chunk to scratch (3072 blocks at that shape); stage 2 adds
   a column's partials chunk by chunk, in order, into the output. The chunking depends on N alone,
   so the bits do too. */
enum { INH_CUDA__CS_ROWS = 128, INH_CUDA__CS_TY = 8 };
static int inh_cuda__cs_chunks(int N) { return (N + INH_CUDA__CS_ROWS - 1) / INH_CUDA__CS_ROWS; }
/* out[c] += sum over chunks r of part[r*k*C + c]; with out2 (k = 2), out2[c] += the same of part[r*2C + C + c] */
__global__ void inh_cuda__colsums_add_k(float *out, float *out2, const float *part, int R, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, k = out2 ? 2 : 1;
    if (c >= C) return;
    float a = 0.0f, b = 0.0f;
    for (int r = 0; r < R; r++) {
        const float *p = part + (size_t)r * k * C;
        a += p[c];
        if (out2) b += p[C + c];
    }
    out[c] += a;
    if (out2) out2[c] += b;
}
static int inh_cuda__colsums_add(float *out, float *out2, const float *part, int R, int C) {
    INH_CUDA_LAUNCH(inh_cuda__colsums_add_k, dim3((C + 255) / 256), dim3(256), 0, out, out2, part, R, C);
    return 0;
}

/* ---- encoder -------------------------------------------------------------------------------- */
/* out (B,T,C) = wte[inp] + wpe[t]; block = row bt (no 64-bit division per element) */
__global__ void inh_cuda__encoder_fwd_k(float *out, const int *inp, const float *wte, const float *wpe, int T, int C) {
    int bt = blockIdx.x, t = bt % T;
    const float *e = wte + (size_t)inp[bt] * C, *p = wpe + (size_t)t * C;
    float *o = out + (size_t)bt * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = e[c] + p[c];
}
extern "C" int inh_cuda_encoder_forward(inh_cuda_ctx *g, float *out, const int *inp, const float *wte, const float *wpe,
                                        int B, int T, int C) {
    (void)g;
    if (B <= 0 || T <= 0 || C <= 0) return 0;
    INH_CUDA_LAUNCH(inh_cuda__encoder_fwd_k, dim3(B * T), dim3(INH_CUDA__EW), 0, out, inp, wte, wpe, T, C);
    return 0;
}
/* dwpe[t] += sum over b of dout[b,t]: one thread per (t, c), b in order (the CPU's order) */
__global__ void inh_cuda__encoder_bwd_wpe_k(float *dwpe, const float *dout, int B, int T, int C) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)T * C; i += (size_t)gridDim.x * blockDim.x) {
        float acc = dwpe[i];
        for (int b = 0; b < B; b++) acc += dout[(size_t)b * T * C + i];
        dwpe[i] = acc;
    }
}
/* dwte[token] += dout at every position of that token, positions in order. Block y = one token:
   pos[seg[y] .. seg[y+1]) are its positions, ascending; tok[y] the token. */
__global__ void inh_cuda__encoder_bwd_wte_k(float *dwte, const float *dout, const int *pos, const int *seg, const int *tok, int C) {
    int y = blockIdx.y, c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float *d = dwte + (size_t)tok[y] * C + c;
    float acc = *d;
    for (int k = seg[y]; k < seg[y + 1]; k++) acc += dout[(size_t)pos[k] * C + c];
    *d = acc;
}
static int inh_cuda__cmp_pair(const void *a, const void *b) {   /* (token, position) pairs */
    const int *x = (const int *)a, *y = (const int *)b;
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}
/* The positions of each token are grouped on the host (a sort of N (token, position) pairs), so
   each dwte row has one owner that adds its positions in order: no atomics, the CPU's result bit
   for bit. The ids come from the caller's host copy (the model keeps one), else from the device
   (a wait); the groups go up in one asynchronous copy from a slot of pinned memory, so with host
   ids the host never waits for the device here (only, 4 calls later, for that slot's copy to have
   been read: the micro-batches of an accumulated step up to 4 take a slot each). */
extern "C" int inh_cuda_encoder_backward(inh_cuda_ctx *g, float *dwte, float *dwpe, const float *dout, const int *inp,
                                         const int *inp_host, int B, int T, int C) {
    int N = B * T;
    if (N <= 0 || C <= 0) return 0;
    size_t need = (size_t)2 * N + (inp_host ? 0 : N);   /* pairs, then the ids read back */
    if (g->host_ints < need) {
        int *h = (int *)realloc(g->host, need * sizeof(int));
        if (!h) return inh_cuda__fail("out of host memory for the encoder backward (%d positions)", N);
        g->host = h; g->host_ints = need;
    }
    int *pairs = g->host;
    const int *ids = inp_host;
    if (!ids) {
        INH_CUDA_CHECK(cudaMemcpy(pairs + 2 * (size_t)N, inp, (size_t)N * sizeof(int), cudaMemcpyDeviceToHost));
        ids = pairs + 2 * (size_t)N;
    }
    for (int i = 0; i < N; i++) { pairs[2 * i] = ids[i]; pairs[2 * i + 1] = i; }
    qsort(pairs, (size_t)N, 2 * sizeof(int), inh_cuda__cmp_pair);
    int ns = 0;
    for (int i = 0; i < N; i++) ns += i == 0 || pairs[2 * i] != pairs[2 * i - 2];
    /* one block for the device: pos (N), seg (ns+1), tok (ns) */
    size_t up = (size_t)N + 2 * (size_t)ns + 1;
    int *pos, slot;
    if (inh_cuda__pin_slot(g, up, &pos, &slot) || inh_cuda__scratch(g, up * sizeof(int))) return -1;
    int *seg = pos + N, *tok = seg + ns + 1, k = 0;
    for (int i = 0; i < N; i++) {
        if (i == 0 || pairs[2 * i] != pairs[2 * i - 2]) { tok[k] = pairs[2 * i]; seg[k++] = i; }
        pos[i] = pairs[2 * i + 1];
    }
    seg[ns] = N;
    int *dpos = (int *)g->scratch, *dseg = dpos + N, *dtok = dseg + ns + 1;
    INH_CUDA_CHECK(cudaMemcpyAsync(dpos, pos, up * sizeof(int), cudaMemcpyHostToDevice, 0));
    INH_CUDA_CHECK(cudaEventRecord(g->pin_done[slot], 0));
    g->pin_pending[slot] = 1;
    for (int y0 = 0; y0 < ns; y0 += 65535) {   /* grid.y is at most 65535 */
        int ny = ns - y0 < 65535 ? ns - y0 : 65535;
        INH_CUDA_LAUNCH(inh_cuda__encoder_bwd_wte_k, dim3((C + 127) / 128, ny), dim3(128), 0, dwte, dout, dpos, dseg + y0, dtok + y0, C);
    }
    size_t tc = (size_t)T * C;
    INH_CUDA_LAUNCH(inh_cuda__encoder_bwd_wpe_k, dim3(inh_cuda__ew_grid(tc)), dim3(INH_CUDA__EW), 0, dwpe, dout, B, T, C);
    return 0;
}

/* ---- layernorm ------------------------------------------------------------------------------ */
/* One warp per row (8 rows per block): mean, then the mean square deviation (two passes, as the
   CPU), eps 1e-5. out (N,C), mean and rstd (N); bias may be NULL. */
enum { INH_CUDA__LN_ROWS = 8 };
__global__ void inh_cuda__ln_fwd_k(float *out, unsigned short *out16, float *mean, float *rstd, const float *inp, const float *w,
                                   const float *bias, int N, int C) {
    int lane = threadIdx.x % 32, n = blockIdx.x * INH_CUDA__LN_ROWS + threadIdx.x / 32;
    if (n >= N) return;   /* the whole warp: no barrier below */
    const float *x = inp + (size_t)n * C;
    float s = 0.0f;
    for (int i = lane; i < C; i += 32) s += x[i];
    float m = inh_cuda__warp_sum(s) / (float)C;
    s = 0.0f;
    for (int i = lane; i < C; i += 32) s += (x[i] - m) * (x[i] - m);
    float r = 1.0f / sqrtf(inh_cuda__warp_sum(s) / (float)C + 1e-5f);
    float *o = out + (size_t)n * C;
    unsigned short *o16 = out16 ? out16 + (size_t)n * C : NULL;
    for (int i = lane; i < C; i += 32) {
        float y = (x[i] - m) * r * w[i] + (bias ? bias[i] : 0.0f);
        o[i] = y;
        if (o16) o16[i] = inh_cuda__bf16(y);
    }
    if (lane == 0) { mean[n] = m; rstd[n] = r; }
}
extern "C" int inh_cuda_layernorm_forward(inh_cuda_ctx *g, float *out, float *mean, float *rstd, const float *inp,
                                          const float *w, const float *bias, int N, int C, unsigned short *out16) {
    (void)g;
    if (N <= 0) return 0;
    INH_CUDA_LAUNCH(inh_cuda__ln_fwd_k, dim3((N + INH_CUDA__LN_ROWS - 1) / INH_CUDA__LN_ROWS), dim3(32 * INH_CUDA__LN_ROWS), 0,
                    out, out16, mean, rstd, inp, w, bias, N, C);
    return 0;
}
/* dinp += (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) * rstd, dnorm = w * dout; warp per row */
__global__ void inh_cuda__ln_bwd_rows_k(float *dinp, const float *dout, const float *inp, const float *w, const float *mean,
                                        const float *rstd, int N, int C) {
    int lane = threadIdx.x % 32, n = blockIdx.x * INH_CUDA__LN_ROWS + threadIdx.x / 32;
    if (n >= N) return;
    const float *d = dout + (size_t)n * C, *x = inp + (size_t)n * C;
    float m = mean[n], r = rstd[n], a = 0.0f, b = 0.0f;
    for (int i = lane; i < C; i += 32) {
        float dn = w[i] * d[i];
        a += dn; b += dn * ((x[i] - m) * r);
    }
    a = inh_cuda__warp_sum(a) / (float)C;
    b = inh_cuda__warp_sum(b) / (float)C;
    float *di = dinp + (size_t)n * C;
    for (int i = lane; i < C; i += 32) di[i] += (w[i] * d[i] - a - (x[i] - m) * r * b) * r;
}
/* dw[c] += sum_n norm * dout, db[c] += sum_n dout, in two stages (inh_cuda__colsums) */
__global__ void inh_cuda__ln_bwd_cols_k(float *part, const float *dout, const float *inp, const float *mean, const float *rstd,
                                        int N, int C, int two) {
    __shared__ float sw[INH_CUDA__CS_TY][33], sb[INH_CUDA__CS_TY][33];
    int tx = threadIdx.x, ty = threadIdx.y, c = blockIdx.x * 32 + tx;
    int n0 = blockIdx.y * INH_CUDA__CS_ROWS, n1 = min(N, n0 + INH_CUDA__CS_ROWS);
    float aw = 0.0f, ab = 0.0f;
    if (c < C)
        for (int n = n0 + ty; n < n1; n += INH_CUDA__CS_TY) {
            float d = dout[(size_t)n * C + c];
            aw += (inp[(size_t)n * C + c] - mean[n]) * rstd[n] * d;
            ab += d;
        }
    sw[ty][tx] = aw; sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && c < C) {
        float w_ = 0.0f, b_ = 0.0f;
        for (int k = 0; k < INH_CUDA__CS_TY; k++) { w_ += sw[k][tx]; b_ += sb[k][tx]; }
        float *p = part + (size_t)blockIdx.y * two * C;
        p[c] = w_;
        if (two == 2) p[C + c] = b_;
    }
}
extern "C" int inh_cuda_layernorm_backward(inh_cuda_ctx *g, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                           const float *w, const float *mean, const float *rstd, int N, int C) {
    if (N <= 0 || C <= 0) return 0;
    INH_CUDA_LAUNCH(inh_cuda__ln_bwd_rows_k, dim3((N + INH_CUDA__LN_ROWS - 1) / INH_CUDA__LN_ROWS), dim3(32 * INH_CUDA__LN_ROWS), 0,
                    dinp, dout, inp, w, mean, rstd, N, C);
    int R = inh_cuda__cs_chunks(N), two = db ? 2 : 1;
    float *part;
    if (inh_cuda__cs_part(g, &part, (size_t)R * two * C)) return -1;
    INH_CUDA_LAUNCH(inh_cuda__ln_bwd_cols_k, dim3((C + 31) / 32, R), dim3(32, INH_CUDA__CS_TY), 0, part, dout, inp, mean, rstd, N, C, two);
    return inh_cuda__colsums_add(dw, db, part, R, C);
}

/* ---- matmul (cuBLAS, cuBLASLt) ----------------------------------------------------------------
   Row-major X (R,K) is column-major X^T with leading dimension K, so each product is asked of
   cuBLAS transposed:
     forward  out (N,OC) = inp (N,C) @ w^T       out^T (OC,N)  = op_T(w: C x OC, ld C) @ inp^T (C x N, ld C)
     dinp     dinp (N,C) += dout (N,OC) @ w      dinp^T (C,N)  = w^T (C x OC, ld C) @ dout^T (OC x N, ld OC)
     dw       dw (OC,C) += dout^T @ inp          dw^T (C,OC)   = inp^T (C x N, ld C) @ op_T(dout^T: OC x N, ld OC)
   The forward with a bias goes to cuBLASLt with CUBLASLT_EPILOGUE_BIAS: out^T has m = OC rows, so
   the bias (OC floats, packed) is added to every column of out^T in the GEMM's epilogue (beta 0),
   and out is written once instead of filled with the bias, read and written again (beta 1, the
   fallback where cuBLASLt offers no algorithm). Without a bias, plain cuBLAS (nothing to fuse). A
   fresh dinp is written (beta 0: C is not read, so no memset before it); dbias is a column sum
   with one owner per column. cuBLAS in its default math mode, and cuBLASLt with
   CUBLAS_COMPUTE_32F, compute fp32 products in fp32 (no TF32). */
__global__ void inh_cuda__bias_fill_k(float *out, const float *bias, int OC) {   /* block = row */
    float *o = out + (size_t)blockIdx.x * OC;
    for (int c = threadIdx.x; c < OC; c += blockDim.x) o[c] = bias[c];
}
__global__ void inh_cuda__to_bf16_k(unsigned short *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = inh_cuda__bf16(src[i]);
}
/* dbias[c] += sum_n dout[n,c], in two stages (inh_cuda__colsums) */
__global__ void inh_cuda__colsum_k(float *part, const float *dout, int N, int OC) {
    __shared__ float s[INH_CUDA__CS_TY][33];
    int tx = threadIdx.x, ty = threadIdx.y, c = blockIdx.x * 32 + tx;
    int n0 = blockIdx.y * INH_CUDA__CS_ROWS, n1 = min(N, n0 + INH_CUDA__CS_ROWS);
    float a = 0.0f;
    if (c < OC)
        for (int n = n0 + ty; n < n1; n += INH_CUDA__CS_TY) a += dout[(size_t)n * OC + c];
    s[ty][tx] = a;
    __syncthreads();
    if (ty == 0 && c < OC) {
        float t = 0.0f;
        for (int k = 0; k < INH_CUDA__CS_TY; k++) t += s[k][tx];
        part[(size_t)blockIdx.y * OC + c] = t;
    }
}
/* the mirror's bf16 copy of the weights w .. w+n, converted again first if stale; NULL where w is
   not inside the mirrored weights (a direct caller's operand: converted per call as before) */
static int inh_cuda__mirror(inh_cuda_ctx *g, const float *w, size_t n, const unsigned short **out) {
    *out = NULL;
    if (!g->wbase || !g->wbf || w < g->wbase || w + n > g->wbase + g->wn) return 0;
    if (g->wstale) {
        INH_CUDA_LAUNCH(inh_cuda__to_bf16_k, dim3(inh_cuda__ew_grid(g->wn)), dim3(INH_CUDA__EW), 0, g->wbf, g->wbase, g->wn);
        g->wstale = 0;
    }
    *out = g->wbf + (w - g->wbase);
    return 0;
}
/* a write into [p, p+bytes) that is not AdamW's: the mirror, if it overlaps, is stale */
static void inh_cuda__mirror_touch(inh_cuda_ctx *g, const void *p, size_t bytes) {
    const char *a = (const char *)p, *b = (const char *)g->wbase;
    if (b && a < b + g->wn * sizeof(float) && a + bytes > b) g->wstale = 1;
}
/* bf16 copies of up to three operands in the context's scratch */
static int inh_cuda__bf16_operands(inh_cuda_ctx *g, const float *const *src, const size_t *n, int k, unsigned short **dst) {
    size_t total = 0;
    for (int i = 0; i < k; i++) total += (n[i] + 7) / 8 * 8;
    if (inh_cuda__scratch(g, total * sizeof(unsigned short))) return -1;
    unsigned short *p = (unsigned short *)g->scratch;
    for (int i = 0; i < k; i++) {
        dst[i] = p;
        if (n[i]) INH_CUDA_LAUNCH(inh_cuda__to_bf16_k, dim3(inh_cuda__ew_grid(n[i])), dim3(INH_CUDA__EW), 0, p, src[i], n[i]);
        p += (n[i] + 7) / 8 * 8;
    }
    return 0;
}
/* C (m,n) col-major ldc = op(A) op(B), fp32 or bf16 operands, fp32 result */
static int inh_cuda__gemm(inh_cuda_ctx *g, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                          const void *A, int lda, const void *B, int ldb, float beta, float *C, int ldc, int bf16) {
    const float one = 1.0f;
    if (bf16)
        INH_CUBLAS_CHECK(cublasGemmEx(g->blas, ta, tb, m, n, k, &one, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, &beta,
                                      C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    else
        INH_CUBLAS_CHECK(cublasSgemm(g->blas, ta, tb, m, n, k, &one, (const float *)A, lda, (const float *)B, ldb, &beta, C, ldc));
    return 0;
}
/* the largest power of two up to 256 that divides p's address: cuBLASLt's heuristic assumes 256-byte
   aligned operands unless told less (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES), and an operand at
   an offset inside a larger buffer often is not */
static uint32_t inh_cuda__align(const void *p) {
    uint32_t a = 256;
    while (a > 1 && (uintptr_t)p % a) a /= 2;
    return a;
}
/* D (m,n) col-major ldd = op(A) op(B) + bias (m floats, added to every column) by cuBLASLt, the
   bias in the GEMM's epilogue; fp32 or bf16 operands, fp32 D and bias (the bias type follows D's
   when CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE is left unset). Returns 0 when done, 1 when cuBLASLt
   has no algorithm for it (nothing queued: the caller falls back), -1 on an error. */
static int inh_cuda__lt_bias_gemm(inh_cuda_ctx *g, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const void *A, int lda, const void *B, int ldb, const float *bias, float *D, int ldd, int bf16) {
    cudaDataType ab = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, ld = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t h;
    int found = 0, rc = -1, line_ = 0;
    cublasStatus_t st_ = CUBLAS_STATUS_SUCCESS;
    const char *what_ = "";
    int32_t tra = ta, trb = tb;
    uint32_t epi = CUBLASLT_EPILOGUE_BIAS, al[4] = {inh_cuda__align(A), inh_cuda__align(B), inh_cuda__align(D), inh_cuda__align(D)};
    uint64_t ws = INH_CUDA__LT_WS;
    const float one = 1.0f, zero = 0.0f;
    memset(&h, 0, sizeof h);
    INH_CUBLAS_TRY(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    INH_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tra, sizeof tra));
    INH_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &trb, sizeof trb));
    INH_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    /* set before the heuristic, which reads the pointer's alignment */
    INH_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    INH_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&la, ab, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda));
    INH_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&lb, ab, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb));
    INH_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, m, n, ldd));   /* C and D: beta 0, C is not read */
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], sizeof al[0]));
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], sizeof al[1]));
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], sizeof al[2]));
    INH_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[3], sizeof al[3]));
    /* NOT_SUPPORTED here, like no result or a result whose own state is not SUCCESS, means no
       algorithm for this case */
    st_ = cublasLtMatmulAlgoGetHeuristic(g->lt, op, la, lb, ld, ld, pref, 1, &h, &found);
    if (st_ == CUBLAS_STATUS_NOT_SUPPORTED || (st_ == CUBLAS_STATUS_SUCCESS && (found < 1 || h.state != CUBLAS_STATUS_SUCCESS))) {
        rc = 1;
        goto done;
    }
    if (st_ != CUBLAS_STATUS_SUCCESS) { line_ = __LINE__; what_ = "cublasLtMatmulAlgoGetHeuristic"; goto done; }
    INH_CUBLAS_TRY(cublasLtMatmul(g->lt, op, &one, A, la, B, lb, &zero, D, ld, D, ld, &h.algo, g->lt_ws, INH_CUDA__LT_WS, 0));
    rc = 0;
done:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    if (rc < 0) return inh_cuda__fail("%s:%d: %s: %s", __FILE__, line_, what_, cublasLtGetStatusString(st_));
    return rc;
}
extern "C" int inh_cuda_matmul_forward(inh_cuda_ctx *g, float *out, const float *inp, const float *w, const float *bias,
                                       int N, int C, int OC, int bf16, unsigned short *inp16) {
    if (N <= 0 || OC <= 0) return 0;
    const void *a = w, *b = inp;
    if (bf16) {
        const unsigned short *wm;
        if (inh_cuda__mirror(g, w, (size_t)OC * C, &wm)) return -1;
        const float *src[2] = {w, inp};
        size_t n[2] = {wm ? 0 : (size_t)OC * C, inp16 ? 0 : (size_t)N * C};
        unsigned short *d[2];
        if (inh_cuda__bf16_operands(g, src, n, 2, d)) return -1;
        a = wm ? (const void *)wm : d[0]; b = inp16 ? inp16 : d[1];
    }
    if (bias && C > 0) {
        int r = inh_cuda__lt_bias_gemm(g, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, a, C, b, C, bias, out, OC, bf16);
        if (r <= 0) return r;
    }
    /* no bias, C == 0 (out = bias), or no cuBLASLt algorithm: the bias first, the product added */
    if (bias) INH_CUDA_LAUNCH(inh_cuda__bias_fill_k, dim3(N), dim3(INH_CUDA__EW), 0, out, bias, OC);
    return inh_cuda__gemm(g, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, a, C, b, C, bias ? 1.0f : 0.0f, out, OC, bf16);
}
extern "C" int inh_cuda_matmul_backward(inh_cuda_ctx *g, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                        const float *w, int N, int C, int OC, int bf16, int fresh, const unsigned short *inp16,
                                        const unsigned short *dout16) {
    if (fresh && dinp && N > 0 && C > 0 && OC <= 0) return inh_cuda_memset(dinp, 0, (size_t)N * C * sizeof(float));   /* an empty sum */
    if (N <= 0 || C <= 0 || OC <= 0) return 0;
    if (!bf16) inp16 = dout16 = NULL;
    const void *dd = dout, *di = inp, *dwt = w;
    if (bf16 && (dinp || dw)) {
        const unsigned short *wm = NULL;
        if (dinp && inh_cuda__mirror(g, w, (size_t)OC * C, &wm)) return -1;
        const float *src[3] = {dout, inp, w};
        size_t n[3] = {dout16 ? 0 : (size_t)N * OC, dw && !inp16 ? (size_t)N * C : 0, dinp && !wm ? (size_t)OC * C : 0};
        unsigned short *d[3];
        if (inh_cuda__bf16_operands(g, src, n, 3, d)) return -1;
        dd = dout16 ? (const void *)dout16 : d[0]; di = inp16 ? (const void *)inp16 : d[1]; dwt = wm ? (const void *)wm : d[2];
    }
    if (dinp && inh_cuda__gemm(g, CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, dwt, C, dd, OC, fresh ? 0.0f : 1.0f, dinp, C, bf16)) return -1;
    if (dw && inh_cuda__gemm(g, CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, di, C, dd, OC, 1.0f, dw, C, bf16)) return -1;
    if (dbias) {
        int R = inh_cuda__cs_chunks(N);
        float *part;
        if (inh_cuda__cs_part(g, &part, (size_t)R * OC)) return -1;
        INH_CUDA_LAUNCH(inh_cuda__colsum_k, dim3((OC + 31) / 32, R), dim3(32, INH_CUDA__CS_TY), 0, part, dout, N, OC);
        if (inh_cuda__colsums_add(dbias, NULL, part, R, OC)) return -1;
    }
    return 0;
}

/* ---- attention (flash-style) -----------------------------------------------------------------
   qkv (B,T,3C): q, k, v of head h at columns h*hs, C + h*hs, 2C + h*hs. Causal softmax of
   q.k * scale. One warp per query (or key) row, 8 rows per block; keys (or queries) come through
   shared memory 32 at a time, lane l taking row j0 + l of the tile for the dot products, and the
   row's channels c = lane + 32r (r < 4: hs <= 128) for the weighted sums. Tiles pad to hs + 1
   floats so that 32 lanes reading 32 rows hit 32 banks. Rows of the softmax are never stored:
   the forward keeps a running maximum and sum (online softmax); the backward recomputes the
   probabilities from the log-sum-exp. Sums run over j (or t) in order: deterministic. */
enum { INH_CUDA__AW = 8, INH_CUDA__AT = 32, INH_CUDA__HSMAX = 128 };

/* the whole block loads keys and values j0..j0+AT-1 of head h (zeros past T) into padded rows of
   hs+1 floats (no bank conflicts when a lane walks its own row); the caller syncs around it */
__device__ void inh_cuda__att_tile(float *ks, float *vs, const float *base, int j0, int T, int C, int h, int hs) {
    int hp = hs + 1, C3 = 3 * C;
    for (int e = threadIdx.x; e < INH_CUDA__AT * hs; e += blockDim.x) {
        int r = e / hs, i = e % hs, j = j0 + r;
        ks[r * hp + i] = j < T ? base[(size_t)j * C3 + C + h * hs + i] : 0.0f;
        vs[r * hp + i] = j < T ? base[(size_t)j * C3 + 2 * C + h * hs + i] : 0.0f;
    }
}

/* forward, and the first pass of backward: out (B,T,C) if not NULL; stats (B*NH, 2T): the
   log-sum-exp of row t at [bh*2T + t], and with dout given, D_t = dout_t . out_t at [bh*2T + T + t] */
__global__ void inh_cuda__att_fwd_k(float *out, float *stats, const float *dout, const float *qkv, int T, int C, int NH, float scale) {
    INH_CUDA_SHARED_DYN(float, sm);
    int hs = C / NH, hp = hs + 1, C3 = 3 * C;
    float *ks = sm, *vs = ks + INH_CUDA__AT * hp, *qs = vs + INH_CUDA__AT * hp, *ps = qs + INH_CUDA__AW * hs;
    int bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int t = blockIdx.x * INH_CUDA__AW + warp, ok = t < T;
    int tlast = min(T - 1, (int)(blockIdx.x * INH_CUDA__AW + INH_CUDA__AW - 1));
    const float *base = qkv + (size_t)b * T * C3;
    float *q = qs + warp * hs, *p = ps + warp * INH_CUDA__AT;
    for (int i = lane; i < hs; i += 32) q[i] = ok ? base[(size_t)t * C3 + h * hs + i] : 0.0f;
    float o[4] = {0.0f, 0.0f, 0.0f, 0.0f}, mx = -INFINITY, l = 0.0f;
    for (int j0 = 0; j0 <= tlast; j0 += INH_CUDA__AT) {
        __syncthreads();   /* the previous tile, and each warp's p, are used up */
        inh_cuda__att_tile(ks, vs, base, j0, T, C, h, hs);
        __syncthreads();
        int j = j0 + lane;
        float s = -INFINITY;
        if (ok && j <= t) {
            float d = 0.0f;
            for (int i = 0; i < hs; i++) d += q[i] * ks[lane * hp + i];
            s = d * scale;
        }
        float mnew = fmaxf(mx, inh_cuda__warp_max(s));
        float pj = s == -INFINITY ? 0.0f : expf(s - mnew);
        float corr = mx == -INFINITY ? 0.0f : expf(mx - mnew);
        l = l * corr + inh_cuda__warp_sum(pj);
        p[lane] = pj;
        __syncwarp();
        int nk = ok ? min(INH_CUDA__AT, t - j0 + 1) : 0;
        for (int r = 0; r < 4; r++) {
            int i = lane + 32 * r;
            if (i >= hs) break;
            float acc = o[r] * corr;
            for (int jj = 0; jj < nk; jj++) acc += p[jj] * vs[jj * hp + i];
            o[r] = acc;
        }
        mx = mnew;
    }
    if (!ok) return;
    float inv = 1.0f / l, dsum = 0.0f;
    for (int r = 0; r < 4; r++) {
        int i = lane + 32 * r;
        if (i >= hs) break;
        size_t at = ((size_t)b * T + t) * C + h * hs + i;
        float y = o[r] * inv;
        if (out) out[at] = y;
        if (dout) dsum += dout[at] * y;
    }
    if (dout) dsum = inh_cuda__warp_sum(dsum);
    if (lane == 0 && stats) {
        stats[(size_t)bh * 2 * T + t] = mx + logf(l);
        if (dout) stats[(size_t)bh * 2 * T + T + t] = dsum;
    }
}
/* dq_t += sum over j <= t of dS_tj k_j, dS = P (dout_t . v_j - D_t) * scale; warp per query row */
__global__ void inh_cuda__att_bwd_q_k(float *dqkv, const float *stats, const float *dout, const float *qkv, int T, int C, int NH,
                                      float scale) {
    INH_CUDA_SHARED_DYN(float, sm);
    int hs = C / NH, hp = hs + 1, C3 = 3 * C;
    float *ks = sm, *vs = ks + INH_CUDA__AT * hp, *qs = vs + INH_CUDA__AT * hp, *dos = qs + INH_CUDA__AW * hs;
    float *ds = dos + INH_CUDA__AW * hs;
    int bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int t = blockIdx.x * INH_CUDA__AW + warp, ok = t < T;
    int tlast = min(T - 1, (int)(blockIdx.x * INH_CUDA__AW + INH_CUDA__AW - 1));
    const float *base = qkv + (size_t)b * T * C3;
    float *q = qs + warp * hs, *d = dos + warp * hs, *w = ds + warp * INH_CUDA__AT;
    for (int i = lane; i < hs; i += 32) {
        q[i] = ok ? base[(size_t)t * C3 + h * hs + i] : 0.0f;
        d[i] = ok ? dout[((size_t)b * T + t) * C + h * hs + i] : 0.0f;
    }
    float lse = ok ? stats[(size_t)bh * 2 * T + t] : 0.0f, D = ok ? stats[(size_t)bh * 2 * T + T + t] : 0.0f;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j0 = 0; j0 <= tlast; j0 += INH_CUDA__AT) {
        __syncthreads();
        inh_cuda__att_tile(ks, vs, base, j0, T, C, h, hs);
        __syncthreads();
        int j = j0 + lane;
        float dsv = 0.0f;
        if (ok && j <= t) {
            float s = 0.0f, dp = 0.0f;
            for (int i = 0; i < hs; i++) { s += q[i] * ks[lane * hp + i]; dp += d[i] * vs[lane * hp + i]; }
            float pj = expf(s * scale - lse);
            dsv = pj * (dp - D) * scale;
        }
        w[lane] = dsv;
        __syncwarp();
        int nk = ok ? min(INH_CUDA__AT, t - j0 + 1) : 0;
        for (int r = 0; r < 4; r++) {
            int i = lane + 32 * r;
            if (i >= hs) break;
            for (int jj = 0; jj < nk; jj++) acc[r] += w[jj] * ks[jj * hp + i];
        }
    }
    if (!ok) return;
    for (int r = 0; r < 4; r++) {
        int i = lane + 32 * r;
        if (i >= hs) break;
        dqkv[((size_t)b * T + t) * C3 + h * hs + i] += acc[r];
    }
}
/* dk_j += sum over t >= j of dS_tj q_t, dv_j += sum over t >= j of P_tj dout_t; warp per key row */
__global__ void inh_cuda__att_bwd_kv_k(float *dqkv, const float *stats, const float *dout, const float *qkv, int T, int C, int NH,
                                       float scale) {
    INH_CUDA_SHARED_DYN(float, sm);
    int hs = C / NH, hp = hs + 1, C3 = 3 * C;
    float *qs = sm, *dos = qs + INH_CUDA__AT * hp, *kr = dos + INH_CUDA__AT * hp, *vr = kr + INH_CUDA__AW * hs;
    float *pw = vr + INH_CUDA__AW * hs, *sw = pw + INH_CUDA__AW * INH_CUDA__AT, *lse = sw + INH_CUDA__AW * INH_CUDA__AT;
    float *Dt = lse + INH_CUDA__AT;
    int bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    int j = blockIdx.x * INH_CUDA__AW + warp, ok = j < T;
    int jfirst = blockIdx.x * INH_CUDA__AW;
    const float *base = qkv + (size_t)b * T * C3;
    float *k = kr + warp * hs, *v = vr + warp * hs, *p = pw + warp * INH_CUDA__AT, *s_ = sw + warp * INH_CUDA__AT;
    for (int i = lane; i < hs; i += 32) {
        k[i] = ok ? base[(size_t)j * C3 + C + h * hs + i] : 0.0f;
        v[i] = ok ? base[(size_t)j * C3 + 2 * C + h * hs + i] : 0.0f;
    }
    float ak[4] = {0.0f, 0.0f, 0.0f, 0.0f}, av[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int t0 = jfirst; t0 < T; t0 += INH_CUDA__AT) {
        __syncthreads();
        for (int e = threadIdx.x; e < INH_CUDA__AT * hs; e += blockDim.x) {
            int r = e / hs, i = e % hs, t = t0 + r;
            qs[r * hp + i] = t < T ? base[(size_t)t * C3 + h * hs + i] : 0.0f;
            dos[r * hp + i] = t < T ? dout[((size_t)b * T + t) * C + h * hs + i] : 0.0f;
        }
        for (int r = threadIdx.x; r < INH_CUDA__AT; r += blockDim.x) {
            lse[r] = t0 + r < T ? stats[(size_t)bh * 2 * T + t0 + r] : 0.0f;
            Dt[r] = t0 + r < T ? stats[(size_t)bh * 2 * T + T + t0 + r] : 0.0f;
        }
        __syncthreads();
        int t = t0 + lane;
        float pj = 0.0f, dsv = 0.0f;
        if (ok && t < T && t >= j) {
            float s = 0.0f, dp = 0.0f;
            for (int i = 0; i < hs; i++) { s += qs[lane * hp + i] * k[i]; dp += dos[lane * hp + i] * v[i]; }
            pj = expf(s * scale - lse[lane]);
            dsv = pj * (dp - Dt[lane]) * scale;
        }
        p[lane] = pj; s_[lane] = dsv;
        __syncwarp();
        int nq = ok ? min(INH_CUDA__AT, T - t0) : 0;
        for (int r = 0; r < 4; r++) {
            int i = lane + 32 * r;
            if (i >= hs) break;
            for (int tt = 0; tt < nq; tt++) {
                av[r] += p[tt] * dos[tt * hp + i];
                ak[r] += s_[tt] * qs[tt * hp + i];
            }
        }
    }
    if (!ok) return;
    for (int r = 0; r < 4; r++) {
        int i = lane + 32 * r;
        if (i >= hs) break;
        dqkv[((size_t)b * T + j) * C3 + C + h * hs + i] += ak[r];
        dqkv[((size_t)b * T + j) * C3 + 2 * C + h * hs + i] += av[r];
    }
}
/* D_t = dout_t . out_t of each row and head, the backward's rowsum(dO * O), into rows[bh*2T + T + t]:
   a warp per row, in the order of the fp32 forward's sum (lane partials over c = lane + 32r, then
   the butterfly) */
__global__ void inh_cuda__att_d_k(float *rows, const float *dout, const float *out, int T, int C, int NH) {
    int hs = C / NH, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int lane = threadIdx.x % 32, t = blockIdx.x * INH_CUDA__AW + threadIdx.x / 32;
    if (t >= T) return;   /* a whole warp */
    float d = 0.0f;
    for (int i = lane; i < hs; i += 32) {
        size_t at = ((size_t)b * T + t) * C + h * hs + i;
        d += dout[at] * out[at];
    }
    d = inh_cuda__warp_sum(d);
    if (lane == 0) rows[(size_t)bh * 2 * T + T + t] = d;
}
/* ---- attention on the tensor cores (bf16 models) ------------------------------------------------
   FlashAttention-2's schedule (Tri Dao, arXiv 2307.08691) over mma.sync m16n8k16: bf16 operands,
   fp32 sums. A block is 4 warps and 64 rows (queries, or keys in dK/dV); each warp owns 16 rows,
   so every product is a warp's 16-row strip times a tile that the block staged in shared memory
   as bf16. The head is padded to HD = 32, 64 or 128 columns with zeros (hs <= HD), which changes
   no product. Operands are rounded to bf16 on the way in (q, k, v, dout), and so are the two
   matrices that feed a second product (P, and dS); every sum, the softmax and the log-sum-exp
   stay fp32. The forward stores each row's log-sum-exp; the backward computes D = rowsum(dO * O)
   in a small kernel and never re-runs the forward; dQ (a block of queries walks the keys) and
   dK, dV (a block of keys walks the queries) are separate kernels, so each output element has one
   owner and no atomics: the same bits every run.
   Fragments (PTX ISA, m16n8k16; lane = 4g + t): an A operand (16 rows x 16 k) is four words per
   lane, rows g and g+8, k pairs 2t and 2t+8; a B operand (16 k x 8 columns) two words, column g,
   k pairs 2t and 2t+8; the accumulator four floats, rows g and g+8, columns 2t and 2t+1. So the
   accumulator of one product, rounded in pairs, is the A operand of the next (P, dS), and a B
   operand reads k pairs along a row of its staged tile: tiles that a product takes as B with k
   along the head (K for S = QK^T, V for dP = dO V^T) are staged row by row, those with k along
   the rows (V for O = PV, K for dQ = dS K, Q and dO for dK, dV) transposed. Rows are padded by 8
   bf16 (4 words): the 8 groups of a warp then fall on 8 different 4-bank groups. */
enum { INH_CUDA__FR = 64,                 /* rows of a block (queries or keys), 16 a warp */
       INH_CUDA__FK = 64,                 /* rows of a staged tile (keys or queries) */
       INH_CUDA__FW = 4 };                /* warps a block */

/* d += a b on the tensor cores, one warp, converged */
__device__ __forceinline__ void inh_cuda__mma(float d[4], const unsigned a[4], const unsigned b[2]) {
#if defined(INH_CUDA_EMULATE)
    inh_simt_mma_bf16_16816(d, a, b, d);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    (void)d; (void)a; (void)b;
    __trap();   /* no bf16 mma before sm_80: the host never launches these kernels there (inh_cuda__fa_ok) */
#else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
/* two floats as a word of two bf16, the first in the low half */
__device__ __forceinline__ unsigned inh_cuda__bf16x2(float lo, float hi) {
    return (unsigned)inh_cuda__bf16(lo) | (unsigned)inh_cuda__bf16(hi) << 16;
}
/* the word at row r, column c (even) of a bf16 tile with rows `ld` apart */
__device__ __forceinline__ unsigned inh_cuda__w(const unsigned short *s, int ld, int r, int c) {
    return *(const unsigned *)(s + r * ld + c);
}
/* A fragment of k step kk from a row-major bf16 tile: rows r0+g and r0+g+8 */
__device__ __forceinline__ void inh_cuda__frag_a(unsigned a[4], const unsigned short *s, int ld, int r0, int kk) {
    int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4, c = 16 * kk + 2 * t;
    a[0] = inh_cuda__w(s, ld, r0 + g, c);     a[1] = inh_cuda__w(s, ld, r0 + g + 8, c);
    a[2] = inh_cuda__w(s, ld, r0 + g, c + 8); a[3] = inh_cuda__w(s, ld, r0 + g + 8, c + 8);
}
/* B fragment of k step kk, columns n0..n0+7: row n0+g of a tile holding B transposed (k along the row) */
__device__ __forceinline__ void inh_cuda__frag_b(unsigned b[2], const unsigned short *s, int ld, int n0, int kk) {
    int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4, c = 16 * kk + 2 * t;
    b[0] = inh_cuda__w(s, ld, n0 + g, c); b[1] = inh_cuda__w(s, ld, n0 + g, c + 8);
}
/* A fragment of k step kk from accumulators x[n][4] of 8-column tiles (columns 16kk .. 16kk+15) */
__device__ __forceinline__ void inh_cuda__frag_acc(unsigned a[4], const float (*x)[4], int kk) {
    a[0] = inh_cuda__bf16x2(x[2 * kk][0], x[2 * kk][1]);         a[1] = inh_cuda__bf16x2(x[2 * kk][2], x[2 * kk][3]);
    a[2] = inh_cuda__bf16x2(x[2 * kk + 1][0], x[2 * kk + 1][1]); a[3] = inh_cuda__bf16x2(x[2 * kk + 1][2], x[2 * kk + 1][3]);
}
/* row g + 8r of a warp's accumulators x[HD/8][4] (columns 8n + 2t, +1) into y[0..hs): times mul,
   stored, or added to what is there; with x2, also x2's row added to y[off ..] (one loop for both:
   ptxas keeps dK's and dV's accumulators in registers then); with y16, what is stored also goes
   there rounded to bf16 (add 0; in the same loop, for the same reason) */
template <int HD>
__device__ __forceinline__ void inh_cuda__frag_store(float *y, const float (&x)[HD / 8][4], int r, int hs, float mul, int add,
                                                     int off = 0, const float (*x2)[4] = NULL, unsigned short *y16 = NULL) {
    int t = threadIdx.x % 4;
    for (int n = 0; n < HD / 8; n++)
        for (int i = 0; i < 2; i++) {
            int c = 8 * n + 2 * t + i;
            if (c >= hs) continue;
            float v = x[n][2 * r + i] * mul;
            if (add) y[c] += v;
            else y[c] = v;
            if (x2) y[off + c] += x2[n][2 * r + i];
            if (y16) y16[c] = inh_cuda__bf16(v);
        }
}
/* the block stages FK rows r0.. of one head's columns (col0 in rows of `stride` floats) as bf16:
   row-major into s (rows HD+8 apart) and/or transposed into st (rows FK+8 apart); zeros past n
   rows and past hs columns. A thread takes 2 rows x 2 columns, so that it writes whole words of
   both layouts; a warp takes 8 row pairs x 4 column pairs, so that its loads read whole 32-byte
   sectors and its transposed stores fall on 32 different banks (row-major: 2 to a bank) */
template <int HD>
__device__ void inh_cuda__stage(unsigned short *s, unsigned short *st, const float *src, size_t stride, int r0, int n, int hs) {
    for (int e = threadIdx.x; e < INH_CUDA__FK * HD / 4; e += blockDim.x) {
        int blk = e / 32, cq = HD / 8;   /* column quads of pairs a row pair */
        int r = 2 * (e / 4 % 8 + 8 * (blk / cq)), c = 2 * (e % 4 + 4 * (blk % cq));
        unsigned short x[2][2];
        for (int i = 0; i < 2; i++) {
            const float *p = src + (size_t)(r0 + r + i) * stride + c;
            int ok = r0 + r + i < n;
            x[i][0] = inh_cuda__bf16(ok && c < hs ? p[0] : 0.0f);
            x[i][1] = inh_cuda__bf16(ok && c + 1 < hs ? p[1] : 0.0f);
            if (s) *(unsigned *)(s + (r + i) * (HD + 8) + c) = (unsigned)x[i][0] | (unsigned)x[i][1] << 16;
        }
        if (st)
            for (int j = 0; j < 2; j++) *(unsigned *)(st + (c + j) * (INH_CUDA__FK + 8) + r) = (unsigned)x[0][j] | (unsigned)x[1][j] << 16;
    }
}
/* shared bytes of the kernels: forward Q, K (row-major), V (transposed); dQ: Q, dO, K, V, K
   transposed; dK dV: K, V, Q, dO, Q and dO transposed, and the tile's LSE and D */
template <int HD> struct inh_cuda__fa {
    enum { LD = HD + 8, LDT = INH_CUDA__FK + 8, TILE = INH_CUDA__FK * LD * 2, TILE_T = HD * LDT * 2,
           FWD = 2 * TILE + TILE_T, BWD_Q = 4 * TILE + TILE_T, BWD_KV = 4 * TILE + 2 * TILE_T + 2 * INH_CUDA__FK * 4 };
};

/* out (B,T,C) and the log-sum-exp of each row (rows[bh*2T + t]); grid (T/64, B*NH) */
template <int HD>
__global__ void __launch_bounds__(128) inh_cuda__fa_fwd_k(float *out, unsigned short *out16, float *rows, const float *qkv, int T, int C,
                                                          int NH, float scale) {
    INH_CUDA_SHARED_DYN(float, sm);   /* one type for the dynamic shared memory of every kernel */
    typedef inh_cuda__fa<HD> F;
    unsigned short *qs = (unsigned short *)sm, *ks = qs + INH_CUDA__FK * F::LD, *vt = ks + INH_CUDA__FK * F::LD;
    int hs = C / NH, C3 = 3 * C, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int w = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    int q0 = blockIdx.x * INH_CUDA__FR, r0 = 16 * w;
    const float *base = qkv + (size_t)b * T * C3;
    inh_cuda__stage<HD>(qs, NULL, base + h * hs, C3, q0, T, hs);
    float o[HD / 8][4], mx[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    for (int n = 0; n < HD / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    for (int j0 = 0; j0 <= q0; j0 += INH_CUDA__FK) {
        __syncthreads();   /* the previous tiles are used up (and Q staged) */
        inh_cuda__stage<HD>(ks, NULL, base + C + h * hs, C3, j0, T, hs);
        inh_cuda__stage<HD>(NULL, vt, base + 2 * C + h * hs, C3, j0, T, hs);
        __syncthreads();
        float s[INH_CUDA__FK / 8][4];
        int nt = j0 == q0 ? 2 * w + 2 : INH_CUDA__FK / 8;   /* the diagonal tile: keys past this warp's rows are all masked */
        for (int n = 0; n < INH_CUDA__FK / 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
        for (int kk = 0; kk < HD / 16; kk++) {
            unsigned a[4], bb[2];
            inh_cuda__frag_a(a, qs, F::LD, r0, kk);
            for (int n = 0; n < INH_CUDA__FK / 8; n++)
                if (n < nt) { inh_cuda__frag_b(bb, ks, F::LD, 8 * n, kk); inh_cuda__mma(s[n], a, bb); }
        }
        /* scale, causal mask, the rows' new maxima (a row's 4 threads share it by shuffles) */
        float tm[2] = {-INFINITY, -INFINITY};
        for (int n = 0; n < INH_CUDA__FK / 8; n++)
            for (int i = 0; i < 4; i++) {
                int row = q0 + r0 + g + 8 * (i >> 1), key = j0 + 8 * n + 2 * t + (i & 1);
                s[n][i] = key <= row ? s[n][i] * scale : -INFINITY;
                tm[i >> 1] = fmaxf(tm[i >> 1], s[n][i]);
            }
        float corr[2];
        for (int r = 0; r < 2; r++) {
            tm[r] = fmaxf(tm[r], __shfl_xor_sync(INH_CUDA__FULL, tm[r], 1));
            tm[r] = fmaxf(tm[r], __shfl_xor_sync(INH_CUDA__FULL, tm[r], 2));
            float mnew = fmaxf(mx[r], tm[r]);   /* finite: key j0 <= every row of this block */
            corr[r] = mx[r] == -INFINITY ? 0.0f : expf(mx[r] - mnew);
            mx[r] = mnew;
            l[r] *= corr[r];
        }
        for (int n = 0; n < INH_CUDA__FK / 8; n++)
            for (int i = 0; i < 4; i++) {
                float p = s[n][i] == -INFINITY ? 0.0f : expf(s[n][i] - mx[i >> 1]);
                s[n][i] = p;
                l[i >> 1] += p;
            }
        for (int n = 0; n < HD / 8; n++) { o[n][0] *= corr[0]; o[n][1] *= corr[0]; o[n][2] *= corr[1]; o[n][3] *= corr[1]; }
        for (int kk = 0; kk < INH_CUDA__FK / 16; kk++) {   /* o += P V: P from the score accumulators */
            if (2 * kk >= nt) continue;
            unsigned a[4], bb[2];
            inh_cuda__frag_acc(a, s, kk);
            for (int n = 0; n < HD / 8; n++) { inh_cuda__frag_b(bb, vt, F::LDT, 8 * n, kk); inh_cuda__mma(o[n], a, bb); }
        }
    }
    INH_CUDA__UNROLL   /* r a constant in each copy: o's indices too, so o stays in registers */
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(INH_CUDA__FULL, l[r], 1);
        l[r] += __shfl_xor_sync(INH_CUDA__FULL, l[r], 2);
        int row = q0 + r0 + g + 8 * r;
        if (row >= T) continue;
        size_t at = ((size_t)b * T + row) * C + h * hs;
        inh_cuda__frag_store<HD>(out + at, o, r, hs, 1.0f / l[r], 0, 0, NULL, out16 ? out16 + at : NULL);
        if (t == 0) rows[(size_t)bh * 2 * T + row] = mx[r] + logf(l[r]);
    }
}
/* dq += dS K over the keys j <= t, with P = exp(s scale - lse), dS = P (dP - D) scale, dP = dO V^T;
   grid (T/64, B*NH); rows: the forward's log-sum-exp at [bh*2T + t], D at [bh*2T + T + t] */
template <int HD>
__global__ void __launch_bounds__(128) inh_cuda__fa_bwd_q_k(float *dqkv, const float *rows, const float *dout, const float *qkv,
                                                          int T, int C, int NH, float scale) {
    INH_CUDA_SHARED_DYN(float, sm);   /* one type for the dynamic shared memory of every kernel */
    typedef inh_cuda__fa<HD> F;
    unsigned short *qs = (unsigned short *)sm, *dos = qs + INH_CUDA__FK * F::LD, *ks = dos + INH_CUDA__FK * F::LD;
    unsigned short *vs = ks + INH_CUDA__FK * F::LD, *kt = vs + INH_CUDA__FK * F::LD;
    int hs = C / NH, C3 = 3 * C, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int w = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    int q0 = blockIdx.x * INH_CUDA__FR, r0 = 16 * w;
    const float *base = qkv + (size_t)b * T * C3, *st = rows + (size_t)bh * 2 * T;
    inh_cuda__stage<HD>(qs, NULL, base + h * hs, C3, q0, T, hs);
    inh_cuda__stage<HD>(dos, NULL, dout + (size_t)b * T * C + h * hs, C, q0, T, hs);
    float lse[2], D[2], dq[HD / 8][4];
    for (int r = 0; r < 2; r++) {
        int row = q0 + r0 + g + 8 * r;
        lse[r] = row < T ? st[row] : 0.0f;
        D[r] = row < T ? st[T + row] : 0.0f;
    }
    for (int n = 0; n < HD / 8; n++) dq[n][0] = dq[n][1] = dq[n][2] = dq[n][3] = 0.0f;
    for (int j0 = 0; j0 <= q0; j0 += INH_CUDA__FK) {
        __syncthreads();
        inh_cuda__stage<HD>(ks, kt, base + C + h * hs, C3, j0, T, hs);
        inh_cuda__stage<HD>(vs, NULL, base + 2 * C + h * hs, C3, j0, T, hs);
        __syncthreads();
        float s[INH_CUDA__FK / 8][4], dp[INH_CUDA__FK / 8][4];
        int nt = j0 == q0 ? 2 * w + 2 : INH_CUDA__FK / 8;   /* the diagonal tile: keys past this warp's rows are all masked */
        for (int n = 0; n < INH_CUDA__FK / 8; n++)
            for (int i = 0; i < 4; i++) s[n][i] = dp[n][i] = 0.0f;
        for (int kk = 0; kk < HD / 16; kk++) {
            unsigned a[4], ad[4], bb[2];
            inh_cuda__frag_a(a, qs, F::LD, r0, kk);
            inh_cuda__frag_a(ad, dos, F::LD, r0, kk);
            for (int n = 0; n < INH_CUDA__FK / 8; n++) {
                if (n >= nt) continue;
                inh_cuda__frag_b(bb, ks, F::LD, 8 * n, kk); inh_cuda__mma(s[n], a, bb);
                inh_cuda__frag_b(bb, vs, F::LD, 8 * n, kk); inh_cuda__mma(dp[n], ad, bb);
            }
        }
        for (int n = 0; n < INH_CUDA__FK / 8; n++)
            for (int i = 0; i < 4; i++) {
                int r = i >> 1, row = q0 + r0 + g + 8 * r, key = j0 + 8 * n + 2 * t + (i & 1);
                float p = key <= row && row < T ? expf(s[n][i] * scale - lse[r]) : 0.0f;
                s[n][i] = p * (dp[n][i] - D[r]) * scale;
            }
        for (int kk = 0; kk < INH_CUDA__FK / 16; kk++) {   /* dq += dS K: dS from the accumulators */
            if (2 * kk >= nt) continue;
            unsigned a[4], bb[2];
            inh_cuda__frag_acc(a, s, kk);
            for (int n = 0; n < HD / 8; n++) { inh_cuda__frag_b(bb, kt, F::LDT, 8 * n, kk); inh_cuda__mma(dq[n], a, bb); }
        }
    }
    for (int r = 0; r < 2; r++) {
        int row = q0 + r0 + g + 8 * r;
        if (row >= T) continue;
        inh_cuda__frag_store<HD>(dqkv + ((size_t)b * T + row) * C3 + h * hs, dq, r, hs, 1.0f, 1);
    }
}
/* dk += dS^T Q and dv += P^T dO over the queries t >= j; grid (T/64, B*NH): a block of keys walks
   the query tiles from its own on, in halves of 32 queries (fewer live accumulators) */
template <int HD>
__global__ void __launch_bounds__(128) inh_cuda__fa_bwd_kv_k(float *dqkv, const float *rows, const float *dout, const float *qkv,
                                                           int T, int C, int NH, float scale) {
    INH_CUDA_SHARED_DYN(float, sm);   /* one type for the dynamic shared memory of every kernel */
    typedef inh_cuda__fa<HD> F;
    unsigned short *ks = (unsigned short *)sm, *vs = ks + INH_CUDA__FK * F::LD, *qs = vs + INH_CUDA__FK * F::LD;
    unsigned short *dos = qs + INH_CUDA__FK * F::LD, *qt = dos + INH_CUDA__FK * F::LD, *dot = qt + HD * F::LDT;
    float *lse = (float *)(dot + HD * F::LDT), *Ds = lse + INH_CUDA__FK;
    int hs = C / NH, C3 = 3 * C, bh = blockIdx.y, b = bh / NH, h = bh % NH;
    int w = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
    int k0 = blockIdx.x * INH_CUDA__FR, r0 = 16 * w;
    const float *base = qkv + (size_t)b * T * C3, *st = rows + (size_t)bh * 2 * T;
    inh_cuda__stage<HD>(ks, NULL, base + C + h * hs, C3, k0, T, hs);
    inh_cuda__stage<HD>(vs, NULL, base + 2 * C + h * hs, C3, k0, T, hs);
    float dk[HD / 8][4], dv[HD / 8][4];
    for (int n = 0; n < HD / 8; n++)
        for (int i = 0; i < 4; i++) dk[n][i] = dv[n][i] = 0.0f;
    for (int t0 = k0; t0 < T; t0 += INH_CUDA__FK) {
        __syncthreads();
        inh_cuda__stage<HD>(qs, qt, base + h * hs, C3, t0, T, hs);
        inh_cuda__stage<HD>(dos, dot, dout + (size_t)b * T * C + h * hs, C, t0, T, hs);
        for (int i = threadIdx.x; i < INH_CUDA__FK; i += blockDim.x) {
            lse[i] = t0 + i < T ? st[t0 + i] : 0.0f;
            Ds[i] = t0 + i < T ? st[T + t0 + i] : 0.0f;
        }
        __syncthreads();
        for (int half = 0; half < 2; half++) {
            /* on the diagonal tile, the n-tiles below n0 (4 or more: the whole half) are all masked.
               Not at HD = 128, where the 128 accumulators leave no registers for the test (ptxas
               then moves them to local memory), nor by an early exit (the same) */
            int n0 = HD < 128 && t0 == k0 ? (r0 - 32 * half) / 8 : 0;
            float s[4][4], dp[4][4];   /* S^T and dP^T: this warp's 16 keys x 32 queries */
            for (int n = 0; n < 4; n++)
                for (int i = 0; i < 4; i++) s[n][i] = dp[n][i] = 0.0f;
            for (int kk = 0; kk < HD / 16; kk++) {
                unsigned a[4], av[4], bb[2];
                inh_cuda__frag_a(a, ks, F::LD, r0, kk);
                inh_cuda__frag_a(av, vs, F::LD, r0, kk);
                for (int n = 0; n < 4; n++) {
                    if (n < n0) continue;
                    inh_cuda__frag_b(bb, qs, F::LD, 32 * half + 8 * n, kk); inh_cuda__mma(s[n], a, bb);
                    inh_cuda__frag_b(bb, dos, F::LD, 32 * half + 8 * n, kk); inh_cuda__mma(dp[n], av, bb);
                }
            }
            for (int n = 0; n < 4; n++)
                for (int i = 0; i < 4; i++) {
                    int key = k0 + r0 + g + 8 * (i >> 1), qi = 32 * half + 8 * n + 2 * t + (i & 1), q = t0 + qi;
                    float p = q >= key && q < T ? expf(s[n][i] * scale - lse[qi]) : 0.0f;
                    s[n][i] = p;
                    dp[n][i] = p * (dp[n][i] - Ds[qi]) * scale;
                }
            for (int kk = 0; kk < 2; kk++) {   /* dv += P^T dO, dk += dS^T Q: the queries are k */
                if (2 * kk < n0) continue;   /* (n0 is even) */
                unsigned a[4], ad[4], bb[2];
                inh_cuda__frag_acc(a, s, kk);
                inh_cuda__frag_acc(ad, dp, kk);
                for (int n = 0; n < HD / 8; n++) {
                    inh_cuda__frag_b(bb, dot, F::LDT, 8 * n, 2 * half + kk); inh_cuda__mma(dv[n], a, bb);
                    inh_cuda__frag_b(bb, qt, F::LDT, 8 * n, 2 * half + kk); inh_cuda__mma(dk[n], ad, bb);
                }
            }
        }
    }
    for (int r = 0; r < 2; r++) {
        int key = k0 + r0 + g + 8 * r;
        if (key < T) inh_cuda__frag_store<HD>(dqkv + ((size_t)b * T + key) * C3 + h * hs + C, dk, r, hs, 1.0f, 1, C, dv);
    }
}

static int inh_cuda__att_check(int B, int T, int C, int NH) {
    if (NH <= 0 || C % NH) return inh_cuda__fail("attention: C=%d is not a multiple of NH=%d", C, NH);
    if (C / NH > INH_CUDA__HSMAX) return inh_cuda__fail("attention: head size %d is above the CUDA kernel's %d", C / NH, INH_CUDA__HSMAX);
    if ((long long)B * NH > 65535) return inh_cuda__fail("attention: B*NH=%lld is above 65535", (long long)B * NH);
    (void)T;
    return 0;
}
/* dynamic shared memory past 48 KiB a block needs the kernel's opt-in (up to 227 KiB on sm_90) */
template <class K> static int inh_cuda__shared_optin(K kernel, size_t bytes) {
    if (bytes > 48 * 1024) INH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    return 0;
}
template <int HD> static int inh_cuda__fa_forward(float *out, unsigned short *out16, float *rows, const float *qkv, int B, int T, int C,
                                                  int NH, float scale) {
    typedef inh_cuda__fa<HD> F;
    if (inh_cuda__shared_optin(inh_cuda__fa_fwd_k<HD>, F::FWD)) return -1;
    INH_CUDA_LAUNCH(inh_cuda__fa_fwd_k<HD>, dim3((T + INH_CUDA__FR - 1) / INH_CUDA__FR, B * NH), dim3(32 * INH_CUDA__FW), F::FWD,
                    out, out16, rows, qkv, T, C, NH, scale);
    return 0;
}
template <int HD> static int inh_cuda__fa_backward(float *dqkv, const float *rows, const float *dout, const float *qkv, int B, int T,
                                                   int C, int NH, float scale) {
    typedef inh_cuda__fa<HD> F;
    dim3 grid((T + INH_CUDA__FR - 1) / INH_CUDA__FR, B * NH), block(32 * INH_CUDA__FW);
    if (inh_cuda__shared_optin(inh_cuda__fa_bwd_q_k<HD>, F::BWD_Q) || inh_cuda__shared_optin(inh_cuda__fa_bwd_kv_k<HD>, F::BWD_KV)) return -1;
    INH_CUDA_LAUNCH(inh_cuda__fa_bwd_q_k<HD>, grid, block, F::BWD_Q, dqkv, rows, dout, qkv, T, C, NH, scale);
    INH_CUDA_LAUNCH(inh_cuda__fa_bwd_kv_k<HD>, grid, block, F::BWD_KV, dqkv, rows, dout, qkv, T, C, NH, scale);
    return 0;
}
/* bf16 on the tensor cores from compute capability 8.0 (mma.sync with bf16); before that, and for
   fp32, the fp32 kernels */
static int inh_cuda__fa_ok(const inh_cuda_ctx *g, int bf16) { return bf16 && g->cc >= 80; }
extern "C" int inh_cuda_attention_forward(inh_cuda_ctx *g, float *out, float *rows, const float *qkv, int B, int T, int C, int NH,
                                          float scale, int bf16, unsigned short *out16) {
    bf16 = inh_cuda__fa_ok(g, bf16);
    if (B <= 0 || T <= 0) return 0;
    if (inh_cuda__att_check(B, T, C, NH)) return -1;
    int hs = C / NH;
    if (bf16) return hs <= 32 ? inh_cuda__fa_forward<32>(out, out16, rows, qkv, B, T, C, NH, scale)
                   : hs <= 64 ? inh_cuda__fa_forward<64>(out, out16, rows, qkv, B, T, C, NH, scale)
                              : inh_cuda__fa_forward<128>(out, out16, rows, qkv, B, T, C, NH, scale);
    size_t sh = ((size_t)2 * INH_CUDA__AT * (hs + 1) + INH_CUDA__AW * hs + INH_CUDA__AW * INH_CUDA__AT) * sizeof(float);
    INH_CUDA_LAUNCH(inh_cuda__att_fwd_k, dim3((T + INH_CUDA__AW - 1) / INH_CUDA__AW, B * NH), dim3(32 * INH_CUDA__AW), sh,
                    out, rows, (const float *)NULL, qkv, T, C, NH, scale);
    size_t n = (size_t)B * T * C;   /* the fp32 kernels (a bf16 model before sm_80): rounded in a pass of their own */
    if (out16) INH_CUDA_LAUNCH(inh_cuda__to_bf16_k, dim3(inh_cuda__ew_grid(n)), dim3(INH_CUDA__EW), 0, out16, out, n);
    return 0;
}
extern "C" int inh_cuda_attention_backward(inh_cuda_ctx *g, float *dqkv, float *rows, const float *dout, const float *out,
                                           const float *qkv, int B, int T, int C, int NH, float scale, int bf16) {
    bf16 = inh_cuda__fa_ok(g, bf16);
    if (B <= 0 || T <= 0) return 0;
    if (inh_cuda__att_check(B, T, C, NH)) return -1;
    int hs = C / NH;
    dim3 grid((T + INH_CUDA__AW - 1) / INH_CUDA__AW, B * NH), block(32 * INH_CUDA__AW);
    if (out) INH_CUDA_LAUNCH(inh_cuda__att_d_k, grid, block, 0, rows, dout, out, T, C, NH);
    else if (bf16) return inh_cuda__fail("attention backward in bf16: needs the forward's output and rows (out is NULL)");
    else {   /* no forward output: the fp32 forward runs again for the log-sum-exp and D */
        size_t sh0 = ((size_t)2 * INH_CUDA__AT * (hs + 1) + INH_CUDA__AW * hs + INH_CUDA__AW * INH_CUDA__AT) * sizeof(float);
        INH_CUDA_LAUNCH(inh_cuda__att_fwd_k, grid, block, sh0, (float *)NULL, rows, dout, qkv, T, C, NH, scale);
    }
    if (bf16) return hs <= 32 ? inh_cuda__fa_backward<32>(dqkv, rows, dout, qkv, B, T, C, NH, scale)
                   : hs <= 64 ? inh_cuda__fa_backward<64>(dqkv, rows, dout, qkv, B, T, C, NH, scale)
                              : inh_cuda__fa_backward<128>(dqkv, rows, dout, qkv, B, T, C, NH, scale);
    size_t sh1 = ((size_t)2 * INH_CUDA__AT * (hs + 1) + 2 * INH_CUDA__AW * hs + INH_CUDA__AW * INH_CUDA__AT) * sizeof(float);
    size_t sh2 = ((size_t)2 * INH_CUDA__AT * (hs + 1) + 2 * INH_CUDA__AW * hs + 2 * INH_CUDA__AW * INH_CUDA__AT + 2 * INH_CUDA__AT) * sizeof(float);
    INH_CUDA_LAUNCH(inh_cuda__att_bwd_q_k, grid, block, sh1, dqkv, (const float *)rows, dout, qkv, T, C, NH, scale);
    INH_CUDA_LAUNCH(inh_cuda__att_bwd_kv_k, grid, block, sh2, dqkv, (const float *)rows, dout, qkv, T, C, NH, scale);
    return 0;
}

/* ---- GELU (tanh approximation), residual ---------------------------------------------------
   The CPU's formulas: tanh u = 1 - 2/(e^2u + 1); backward recovers tanh from the forward output
   g = x (1 + tanh)/2 where |x| > 1e-3, and uses tanh u = u - u^3/3 below that. */
#define INH_CUDA__GELU_S 0.7978845608028654f
__global__ void inh_cuda__gelu_fwd_k(float *out, unsigned short *out16, const float *inp, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float x = inp[i], u = INH_CUDA__GELU_S * (x + 0.044715f * x * x * x);
        float y = 0.5f * x * (1.0f + (1.0f - 2.0f / (expf(2.0f * u) + 1.0f)));
        out[i] = y;
        if (out16) out16[i] = inh_cuda__bf16(y);
    }
}
__global__ void inh_cuda__gelu_bwd_k(float *dinp, unsigned short *out16, const float *inp, const float *gout, const float *dout, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float x = inp[i], u = INH_CUDA__GELU_S * x;
        float th = fabsf(x) > 1e-3f ? 2.0f * gout[i] / x - 1.0f : u - u * u * u * (1.0f / 3.0f);
        float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * INH_CUDA__GELU_S * (1.0f + 3.0f * 0.044715f * x * x);
        float y = dinp[i] + d * dout[i];
        dinp[i] = y;
        if (out16) out16[i] = inh_cuda__bf16(y);
    }
}
extern "C" int inh_cuda_gelu_forward(inh_cuda_ctx *g, float *out, const float *inp, size_t n, unsigned short *out16) {
    (void)g;
    if (n) INH_CUDA_LAUNCH(inh_cuda__gelu_fwd_k, dim3(inh_cuda__ew_grid(n)), dim3(INH_CUDA__EW), 0, out, out16, inp, n);
    return 0;
}
extern "C" int inh_cuda_gelu_backward(inh_cuda_ctx *g, float *dinp, const float *inp, const float *gout, const float *dout, size_t n,
                                      unsigned short *out16) {
    (void)g;
    if (n) INH_CUDA_LAUNCH(inh_cuda__gelu_bwd_k, dim3(inh_cuda__ew_grid(n)), dim3(INH_CUDA__EW), 0, dinp, out16, inp, gout, dout, n);
    return 0;
}
__global__ void inh_cuda__residual_k(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) out[i] = a[i] + b[i];
}
extern "C" int inh_cuda_residual_forward(inh_cuda_ctx *g, float *out, const float *a, const float *b, size_t n) {
    (void)g;
    if (n) INH_CUDA_LAUNCH(inh_cuda__residual_k, dim3(inh_cuda__ew_grid(n)), dim3(INH_CUDA__EW), 0, out, a, b, n);
    return 0;
}

/* ---- softmax + cross-entropy -----------------------------------------------------------------
   One block per row of (N, Vp) logits, in place: the real V columns become probabilities, the
   padding 0; losses[n] = -log p[target] = max + log(sum) - logit[target]. Sums in fp32 per thread,
   then a fixed tree. */
enum { INH_CUDA__CE_THREADS = 256 };
__global__ void inh_cuda__ce_fwd_k(float *logits, float *losses, const int *targets, int V, int Vp) {
    __shared__ float sh[33];
    float *l = logits + (size_t)blockIdx.x * Vp;
    float lt = l[targets[blockIdx.x]];   /* read before the row is overwritten (a barrier follows) */
    float m = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, l[i]);
    m = inh_cuda__block_reduce(m, sh, 1);
    float s = 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) { float e = expf(l[i] - m); l[i] = e; s += e; }
    s = inh_cuda__block_reduce(s, sh, 0);
    float inv = 1.0f / s;
    for (int i = threadIdx.x; i < V; i += blockDim.x) l[i] *= inv;
    for (int i = V + threadIdx.x; i < Vp; i += blockDim.x) l[i] = 0.0f;
    if (threadIdx.x == 0) losses[blockIdx.x] = m + logf(s) - lt;
}
/* in place: dlogits = (p - onehot) * dloss; with teacher probabilities q: (p - (1-w) onehot - w q) * dloss.
   Block = row (no 64-bit division per element past 2^32 elements). */
__global__ void inh_cuda__ce_bwd_k(float *probs, unsigned short *out16, const int *targets, const float *q, float w, float dloss, int Vp) {
    size_t row0 = (size_t)blockIdx.x * Vp;
    float *pr = probs + row0;
    unsigned short *o16 = out16 ? out16 + row0 : NULL;
    const float *qr = q ? q + row0 : NULL;
    int tg = targets[blockIdx.x];
    for (int c = threadIdx.x; c < Vp; c += blockDim.x) {
        float p = pr[c];
        if (qr) {
            if (c == tg) p -= 1.0f - w;
            p = (p - w * qr[c]) * dloss;
        } else {
            if (c == tg) p -= 1.0f;
            p *= dloss;
        }
        if (o16) o16[c] = inh_cuda__bf16(p);
        else pr[c] = p;
    }
}
extern "C" int inh_cuda_crossentropy_forward(inh_cuda_ctx *g, float *logits, float *losses, const int *targets, int N, int V, int Vp) {
    (void)g;
    if (N <= 0) return 0;
    if (V <= 0 || V > Vp) return inh_cuda__fail("crossentropy: V=%d must be in 1..Vp=%d", V, Vp);
    for (int n0 = 0; n0 < N; n0 += 1 << 30) {
        int nn = N - n0 < (1 << 30) ? N - n0 : 1 << 30;
        INH_CUDA_LAUNCH(inh_cuda__ce_fwd_k, dim3(nn), dim3(INH_CUDA__CE_THREADS), 0, logits + (size_t)n0 * Vp, losses + n0, targets + n0, V, Vp);
    }
    return 0;
}
extern "C" int inh_cuda_crossentropy_backward(inh_cuda_ctx *g, float *probs, const int *targets, const float *q, float w, float dloss,
                                              int N, int Vp, unsigned short *dlogits16) {
    (void)g;
    if (N > 0 && Vp > 0) INH_CUDA_LAUNCH(inh_cuda__ce_bwd_k, dim3(N), dim3(INH_CUDA__EW), 0, probs, dlogits16, targets, q, w, dloss, Vp);
    return 0;
}

/* ---- gradient norm, AdamW --------------------------------------------------------------------- */
enum { INH_CUDA__NORM_BLOCKS = 512, INH_CUDA__NORM_THREADS = 256 };
/* block k sums the squares of x[n*k/G .. n*(k+1)/G) into part[k] (double; fixed tree) */
__global__ void inh_cuda__sumsq_k(double *part, const float *x, size_t n) {
    __shared__ double sh[33];
    size_t G = gridDim.x, k = blockIdx.x, s = n * k / G, e = n * (k + 1) / G;
    double a = 0.0;
    for (size_t i = s + threadIdx.x; i < e; i += blockDim.x) a += (double)x[i] * x[i];
    a = inh_cuda__block_reduce(a, sh, 0);
    if (threadIdx.x == 0) part[k] = a;
}
__global__ void inh_cuda__sum_parts_k(float *norm, const double *part, int G) {
    __shared__ double sh[33];
    double a = 0.0;
    for (int i = threadIdx.x; i < G; i += blockDim.x) a += part[i];
    a = inh_cuda__block_reduce(a, sh, 0);
    if (threadIdx.x == 0) *norm = (float)sqrt(a);
}
extern "C" int inh_cuda_grad_norm(inh_cuda_ctx *g, const float *x, size_t n, float *norm) {
    size_t G = (n + 4095) / 4096;   /* depends on n alone */
    if (G < 1) G = 1;
    if (G > INH_CUDA__NORM_BLOCKS) G = INH_CUDA__NORM_BLOCKS;
    if (inh_cuda__scratch(g, G * sizeof(double) + 16)) return -1;
    double *part = (double *)g->scratch;
    INH_CUDA_LAUNCH(inh_cuda__sumsq_k, dim3((unsigned)G), dim3(INH_CUDA__NORM_THREADS), 0, part, x, n);
    INH_CUDA_LAUNCH(inh_cuda__sum_parts_k, dim3(1), dim3(INH_CUDA__NORM_THREADS), 0, norm, (const double *)part, (int)G);
    return 0;
}
/* one block: the losses of a step are few (accum B T), and the sum is 0 or NaN in any order */
__global__ void inh_cuda__gate_k(float *gate, const float *x, size_t n) {
    __shared__ float sh[33];
    float a = 0.0f;
    for (size_t i = threadIdx.x; i < n; i += blockDim.x) a += x[i] - x[i];   /* 0, or NaN for NaN and Inf */
    a = inh_cuda__block_reduce(a, sh, 0);
    if (threadIdx.x == 0) *gate = a;
}
extern "C" int inh_cuda_finite_gate(inh_cuda_ctx *g, const float *x, size_t n, float *gate) {
    (void)g;
    INH_CUDA_LAUNCH(inh_cuda__gate_k, dim3(1), dim3(INH_CUDA__NORM_THREADS), 0, gate, x, n);
    return 0;
}
/* element-wise, the CPU's formula: m, v moments; w -= lr (m/bc1 / (sqrt(v/bc2) + eps) + wd w).
   The clip factor from the norm on the device, each thread alike (one broadcast load). */
__global__ void inh_cuda__adamw_k(float *w, unsigned short *wb, const float *grad, float *m, float *v, size_t n, float lr, float b1,
                                  float b2, float eps, float wd, const float *norm, const float *gate, float clip, float i1, float i2) {
    float nrm = norm ? *norm : 0.0f, gt = gate ? *gate : 0.0f;
    if (!(nrm - nrm == 0.0f && gt == 0.0f)) return;   /* NaN or Inf (x - x is 0 for every finite x), or a closed gate */
    float scale = (clip > 0.0f && nrm > clip) ? clip / (nrm + 1e-6f) : 1.0f;
    for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n; j += (size_t)gridDim.x * blockDim.x) {
        float gj = grad[j] * scale;
        float mj = b1 * m[j] + (1.0f - b1) * gj;
        float vj = b2 * v[j] + (1.0f - b2) * gj * gj;
        m[j] = mj; v[j] = vj;
        float wj = w[j] - lr * (mj * i1 / (sqrtf(vj * i2) + eps) + wd * w[j]);
        w[j] = wj;
        if (wb) wb[j] = inh_cuda__bf16(wj);   /* the bf16 mirror, as the matmuls would convert it */
    }
}
extern "C" int inh_cuda_adamw(inh_cuda_ctx *g, float *w, const float *grad, float *m, float *v, const inh_cuda_segment *segs, int nseg,
                              float lr, float beta1, float beta2, float eps, const float *norm, const float *gate, float clip, int t) {
    if (t < 1) return inh_cuda__fail("adamw: step t=%d must be 1 or more", t);
    float i1 = 1.0f / (1.0f - powf(beta1, (float)t)), i2 = 1.0f / (1.0f - powf(beta2, (float)t));   /* as the CPU */
    for (int s = 0; s < nseg; s++) {
        size_t o = segs[s].off, n = segs[s].n;
        if (!n) continue;
        const unsigned short *wm = NULL;   /* the mirror, where it covers these weights and is not stale */
        if (!g->wstale && inh_cuda__mirror(g, w + o, n, &wm)) return -1;
        INH_CUDA_LAUNCH(inh_cuda__adamw_k, dim3(inh_cuda__ew_grid(n)), dim3(INH_CUDA__EW), 0, w + o, (unsigned short *)wm, grad + o,
                        m + o, v + o, n, lr, beta1, beta2, eps, segs[s].wd, norm, gate, clip, i1, i2);
    }
    return 0;
}

/* ---- the backend table (inheritune.h's inh_backend) -------------------------------------------
   Each entry is one launcher above with the model's context; m->bf16 picks the matmul precision.
   The ops only queue work on the GPU, except with m->profile (bench's split of a step by kind):
   then each op waits for the device before it returns, so that the host timer inheritune.h puts
   around a matmul or an attention (INH__TIMED) measures that op's GPU time and nothing queued
   before it, and the rest of the step is the rest. */
#define INH_CUDA__G(m) ((inh_cuda_ctx *)(m)->be_ctx)
#define INH_CUDA__DO(m, ...) do { \
    inh_cuda_ctx *g_ = INH_CUDA__G(m); \
    if (!g_->failed && inh_cuda_##__VA_ARGS__) g_->failed = 1; \
    if ((m)->profile && !g_->failed && inh_cuda_sync(g_)) g_->failed = 1; \
} while (0)
static int inh_cuda__be_alloc(inh_model *m, void **p, size_t bytes) { (void)m; return inh_cuda_malloc(p, bytes); }
static void inh_cuda__be_release(inh_model *m, void *p) {
    inh_cuda_ctx *g = INH_CUDA__G(m);
    if (p && p == (void *)g->wbase) g->wbase = NULL;   /* the mirrored weights are gone: mirror nothing */
    if (p) inh_cuda_free(p);
}
/* asynchronous: a pageable source is staged before cudaMemcpyAsync returns (the caller may reuse
   it), and the host does not wait for the device's earlier work (cudaMemcpy would) */
static int inh_cuda__upload_async(void *dst, const void *src, size_t bytes) {
    INH_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, 0));
    return 0;
}
static void inh_cuda__be_upload(inh_model *m, void *dst, const void *src, size_t bytes) {
    inh_cuda_ctx *g = INH_CUDA__G(m);
    inh_cuda__mirror_touch(g, dst, bytes);
    if (!g->failed && inh_cuda__upload_async(dst, src, bytes)) g->failed = 1;
    if (m->profile && !g->failed && inh_cuda_sync(g)) g->failed = 1;
}
static void inh_cuda__be_download(inh_model *m, void *dst, const void *src, size_t bytes) { INH_CUDA__DO(m, to_host(dst, src, bytes)); }
static void inh_cuda__be_copy(inh_model *m, void *dst, const void *src, size_t bytes) {
    inh_cuda__mirror_touch(INH_CUDA__G(m), dst, bytes);
    INH_CUDA__DO(m, copy(dst, src, bytes));
}
static void inh_cuda__be_zero(inh_model *m, void *p, size_t bytes) {
    inh_cuda__mirror_touch(INH_CUDA__G(m), p, bytes);
    INH_CUDA__DO(m, memset(p, 0, bytes));
}
static void inh_cuda__be_encoder_forward(inh_model *m, float *out, const int *inp, const float *wte, const float *wpe, int B, int T, int C) {
    INH_CUDA__DO(m, encoder_forward(g_, out, inp, wte, wpe, B, T, C));
}
static void inh_cuda__be_encoder_backward(inh_model *m, float *dwte, float *dwpe, const float *dout, const int *inp, const int *inp_host,
                                          int B, int T, int C) {
    INH_CUDA__DO(m, encoder_backward(g_, dwte, dwpe, dout, inp, inp_host, B, T, C));
}
static void inh_cuda__be_layernorm_forward(inh_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                                           const float *bias, int N, int C, uint16_t *out16) {
    INH_CUDA__DO(m, layernorm_forward(g_, out, mean, rstd, inp, w, bias, N, C, out16));
}
static void inh_cuda__be_layernorm_backward(inh_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                            const float *w, const float *mean, const float *rstd, int N, int C) {
    INH_CUDA__DO(m, layernorm_backward(g_, dinp, dw, db, dout, inp, w, mean, rstd, N, C));
}
static void inh_cuda__be_matmul_forward(inh_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C, int OC,
                                        uint16_t *inp16) {
    INH_CUDA__DO(m, matmul_forward(g_, out, inp, w, bias, N, C, OC, m->bf16, inp16));
}
static void inh_cuda__be_matmul_backward(inh_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                                         const float *w, int N, int C, int OC, int fresh, const uint16_t *inp16, const uint16_t *dout16) {
    INH_CUDA__DO(m, matmul_backward(g_, dinp, dw, dbias, dout, inp, w, N, C, OC, m->bf16, fresh, inp16, dout16));
}
static void inh_cuda__be_attention_forward(inh_model *m, float *out, float *rows, const float *qkv, int B, int T, int C, int NH, float scale,
                                           uint16_t *out16) {
    INH_CUDA__DO(m, attention_forward(g_, out, rows, qkv, B, T, C, NH, scale, m->bf16, out16));
}
static void inh_cuda__be_attention_backward(inh_model *m, float *dqkv, float *rows, const float *dout, const float *out, const float *qkv,
                                            int B, int T, int C, int NH, float scale) {
    INH_CUDA__DO(m, attention_backward(g_, dqkv, rows, dout, out, qkv, B, T, C, NH, scale, m->bf16));
}
static void inh_cuda__be_gelu_forward(inh_model *m, float *out, const float *inp, size_t n, uint16_t *out16) {
    INH_CUDA__DO(m, gelu_forward(g_, out, inp, n, out16));
}
static void inh_cuda__be_gelu_backward(inh_model *m, float *dinp, const float *inp, const float *gout, const float *dout, size_t n,
                                       uint16_t *out16) {
    INH_CUDA__DO(m, gelu_backward(g_, dinp, inp, gout, dout, n, out16));
}
static void inh_cuda__be_residual_forward(inh_model *m, float *out, const float *a, const float *b, size_t n) {
    INH_CUDA__DO(m, residual_forward(g_, out, a, b, n));
}
static void inh_cuda__be_ce_forward(inh_model *m, float *logits, float *losses, const int *targets, int N, int V, int Vp) {
    INH_CUDA__DO(m, crossentropy_forward(g_, logits, losses, targets, N, V, Vp));
}
static void inh_cuda__be_ce_backward(inh_model *m, float *probs, const int *targets, const float *q, float w, float dloss, int N, int Vp,
                                     uint16_t *dlogits16) {
    INH_CUDA__DO(m, crossentropy_backward(g_, probs, targets, q, w, dloss, N, Vp, m->bf16 ? dlogits16 : NULL));
}
static void inh_cuda__be_grad_norm(inh_model *m, const float *x, size_t n, const float *losses, size_t nl, float *norm) {
    INH_CUDA__DO(m, grad_norm(g_, x, n, norm));
    INH_CUDA__DO(m, finite_gate(g_, losses, nl, norm + 1));
}
static void inh_cuda__be_adamw(inh_model *m, float *w, const float *grad, float *mom, float *v, const inh_segment *segs, int nseg,
                               const inh_adamw *o, float lr, int t, const float *norm) {
    inh_cuda_segment s[INH_MAX_PARAMS];   /* one per tensor of the model: at most INH_MAX_PARAMS */
    if (nseg > INH_MAX_PARAMS) { inh_cuda__fail("adamw: %d segments, more than a model's %d tensors", nseg, INH_MAX_PARAMS); INH_CUDA__G(m)->failed = 1; return; }
    for (int i = 0; i < nseg; i++) { s[i].off = segs[i].off; s[i].n = segs[i].n; s[i].wd = segs[i].wd; }
    INH_CUDA__DO(m, adamw(g_, w, grad, mom, v, s, nseg, lr, o->beta1, o->beta2, o->eps, norm, norm + 1, o->grad_clip, t));
}
static int inh_cuda__be_check(inh_model *m) { return INH_CUDA__G(m)->failed ? -1 : 0; }
static int inh_cuda__be_sync(inh_model *m) {
    inh_cuda_ctx *g = INH_CUDA__G(m);
    if (!g->failed && inh_cuda_sync(g)) g->failed = 1;
    return g->failed ? -1 : 0;
}
static const char *inh_cuda__be_error(inh_model *m) { (void)m; return inh_cuda_error(); }
/* the scratch of one training step at B x T (the ops of inh_model_forward and _backward, and the
   gradient norm): the largest bf16 operand a matmul still rounds itself (bf16: the gradients dqkv,
   N x 3C, and dres; the activations, the MLP's and the logits' gradients come from their producers'
   out16, the weights from the mirror), the column sums' partials (dbias up to 4C columns,
   layernorm 2 x C), the encoder backward's groups (at most 3N + 1 ints, also the pinned block) and
   the norm's partials */
static void inh_cuda__be_reserve(inh_model *m, int B, int T) {
    size_t N = (size_t)B * T, C = (size_t)m->cfg.C, R = (size_t)inh_cuda__cs_chunks(B * T);
    size_t need = INH_CUDA__NORM_BLOCKS * sizeof(double) + 16, enc = 3 * N + 1;
    size_t b16 = m->bf16 ? 2 * ((N * 3 * C + 7) / 8 * 8) : 0;
    need = b16 > need ? b16 : need;
    need = R * 4 * C * sizeof(float) > need ? R * 4 * C * sizeof(float) : need;
    need = enc * sizeof(int) > need ? enc * sizeof(int) : need;
    INH_CUDA__DO(m, reserve(g_, need, enc));
    inh_cuda_ctx *g = INH_CUDA__G(m);
    if (!m->bf16 || g->failed) return;
    /* the bf16 mirror of this model's weights (another model's before: converted again) */
    size_t n = m->num_params;
    if (g->wbf_cap < n) {
        cudaFree(g->wbf);
        g->wbf = NULL; g->wbf_cap = 0; g->wbase = NULL;
        if (inh_cuda_malloc((void **)&g->wbf, n * sizeof(unsigned short))) { g->failed = 1; return; }
        g->wbf_cap = n;
    }
    if (g->wbase != m->dparams_mem || g->wn != n) { g->wbase = m->dparams_mem; g->wn = n; g->wstale = 1; }
}
static const inh_backend inh_cuda__backend = {
    "cuda", 0, inh_cuda__be_alloc, inh_cuda__be_release, inh_cuda__be_upload, inh_cuda__be_download, inh_cuda__be_copy,
    inh_cuda__be_zero, inh_cuda__be_encoder_forward, inh_cuda__be_encoder_backward, inh_cuda__be_layernorm_forward,
    inh_cuda__be_layernorm_backward, inh_cuda__be_matmul_forward, inh_cuda__be_matmul_backward, inh_cuda__be_attention_forward,
    inh_cuda__be_attention_backward, inh_cuda__be_gelu_forward, inh_cuda__be_gelu_backward, inh_cuda__be_residual_forward,
    inh_cuda__be_ce_forward, inh_cuda__be_ce_backward, inh_cuda__be_grad_norm, inh_cuda__be_adamw,
    inh_cuda__be_check, inh_cuda__be_sync, inh_cuda__be_error, inh_cuda__be_reserve};
extern "C" const struct inh_backend *inh_cuda_backend(void) { return &inh_cuda__backend; }
#endif /* INH_CUDA_DECLARE_ONLY */
