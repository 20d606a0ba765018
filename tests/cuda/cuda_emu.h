/* tests/cuda/cuda_emu.h - the CUDA runtime and cuBLAS calls inheritune_cuda.cu makes, for the
   emulation build (-DINH_CUDA_EMULATE), over the SIMT emulator in simt.h.

   The runtime part: device memory is host memory (poisoned with NaN bytes on allocation), each
   allocation between two inaccessible pages, so a kernel's access past its end faults; pointers
   given as device pointers must lie inside an allocation (a swapped host/device argument fails here
   as it would fail, or corrupt memory, on a GPU). One stream, in order, as on a GPU: launches,
   cudaMemset, cudaMemcpyAsync and the GEMMs (their arguments checked at the call) are queued, and
   the queue runs at the synchronising calls: cudaDeviceSynchronize, cudaStreamSynchronize,
   cudaMemcpy, cudaFree, cublasDestroy, cublasLtDestroy. A kernel that fails there fails that call with
   cudaErrorLaunchFailure, and cudaGetErrorString names the kernel, its launch site and the
   reason; cudaGetLastError() reports it too but does not run the queue.
   The cuBLAS part: cublasSgemm and cublasGemmEx with cuBLAS's exact column-major conventions:
     C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C, element (i,j) of C at C[i + j*ldc];
     op(A) = A (stored m x k, lda >= m) for CUBLAS_OP_N, A^T (stored k x m, lda >= k) for CUBLAS_OP_T;
     beta == 0: C is not read. Invalid sizes or leading dimensions give CUBLAS_STATUS_INVALID_VALUE,
   and every operand, as op/ld describe it, must lie inside one device allocation, so a wrong
   transpose or leading dimension fails here (wrong numbers or an error), not on the GPU. Each C
   element is summed over k in order, in float (bf16 operands are widened exactly).
   The cuBLASLt part: see its section below (the matmul with a bias epilogue). */
#ifndef INH_CUDA_EMU_H
#define INH_CUDA_EMU_H
#include "simt.h"
#include <sys/mman.h>
#include <unistd.h>
#include <memory>
#include <cstdarg>

/* ---- runtime ------------------------------------------------------------------------------- */
typedef enum { cudaSuccess = 0, cudaErrorInvalidValue = inh_simt::ERR_INVALID_VALUE, cudaErrorMemoryAllocation = 2,
               cudaErrorInvalidConfiguration = inh_simt::ERR_INVALID_CONFIGURATION,
               cudaErrorLaunchFailure = inh_simt::ERR_LAUNCH_FAILURE, cudaErrorInvalidDevicePointer = 17 } cudaError_t;
typedef enum { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2,
               cudaMemcpyDeviceToDevice = 3 } cudaMemcpyKind;
typedef void *cudaStream_t;

namespace inh_simt { inline cudaError_t &last_error() { static cudaError_t e = cudaSuccess; return e; } }

inline const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    default: {
        /* a kernel that failed as it ran: which one, where it was launched, and why */
        static char msg[1100];
        if (!inh_simt::S().fault[0]) return "unspecified launch failure";
        snprintf(msg, sizeof msg, "unspecified launch failure (emulator: %s)", inh_simt::S().fault);
        return msg;
    }
    }
}
/* the first error since the last call: a refused or failed launch (simt.h), or another call's */
inline cudaError_t cudaGetLastError(void) {
    cudaError_t e = inh_simt::last_error() ? inh_simt::last_error() : (cudaError_t)inh_simt::S().code;
    inh_simt::last_error() = cudaSuccess;
    inh_simt::S().code = 0;
    return e;
}
/* the opt-in to more than 48 KiB of shared memory per block: dynamic bytes, with the kernel's
   static ones at most sm_90's 227 KiB (cudaDevAttrMaxSharedMemoryPerBlockOptin) */
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
template <class K> inline cudaError_t cudaFuncSetAttribute(K kernel, cudaFuncAttribute attr, int value) {
    uintptr_t fn = inh_simt::kernel_id(kernel);
    if (!fn || attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
        inh_simt::static_shared(fn) + (size_t)value > (size_t)inh_simt::MAX_SHARED_OPTIN)
        return inh_simt::last_error() = cudaErrorInvalidValue;
    inh_simt::S().max_dyn[fn] = (size_t)value;
    return cudaSuccess;
}
/* the synchronising calls run the queue of launches (simt.h) first; a kernel that fails there
   fails the call with cudaErrorLaunchFailure */
inline cudaError_t cudaDeviceSynchronize(void) { return inh_simt::sync() ? cudaErrorLaunchFailure : cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t st) {
    if (st) return inh_simt::last_error() = cudaErrorInvalidValue;   /* the default stream only */
    return cudaDeviceSynchronize();
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDeviceCount(int *n) { *n = 1; return cudaSuccess; }
/* the emulated device: no SMs and no clock (bench prints no utilisation for it); memory is the host's */
enum cudaDeviceAttr { cudaDevAttrClockRate = 13, cudaDevAttrMultiProcessorCount = 16, cudaDevAttrComputeCapabilityMajor = 75,
                      cudaDevAttrComputeCapabilityMinor = 76 };
struct cudaDeviceProp { char name[256]; };
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d != 0) return cudaErrorInvalidValue;
    snprintf(p->name, sizeof p->name, "SIMT emulator (tests/cuda/simt.h)");
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
    if (d != 0) return cudaErrorInvalidValue;
    *v = a == cudaDevAttrComputeCapabilityMajor ? 9 : 0;
    return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) { *free_b = *total_b = 0; return cudaSuccess; }
/* Each allocation gets its own mapping, its end flush against a PROT_NONE page and a PROT_NONE page
   before it: a kernel that loads or stores past the end of its buffer faults (SIGSEGV) in the
   tests instead of reading a neighbour. The start is 16-byte aligned (float4 loads), so the size
   is rounded up to 16 bytes: up to 15 bytes of slack after a buffer whose size is not a multiple
   of 16 go unnoticed by a kernel (copies, memsets and cuBLAS operands are checked to the byte). */
namespace inh_simt {
inline size_t page_bytes() { static size_t p = (size_t)sysconf(_SC_PAGESIZE); return p; }
inline size_t span16(size_t n) { return (n ? n + 15 : 16) / 16 * 16; }   /* the bytes up to the guard */
/* the mapping of an allocation of n bytes: a guard page, data pages, a guard page */
inline size_t map_bytes(size_t n) { size_t pg = page_bytes(); return (span16(n) + pg - 1) / pg * pg + 2 * pg; }
inline char *map_base(void *q, size_t n) { return (char *)q + span16(n) + page_bytes() - map_bytes(n); }
} /* namespace inh_simt */
template <class T> inline cudaError_t cudaMalloc(T **p, size_t n) {
    size_t pg = inh_simt::page_bytes(), len = inh_simt::map_bytes(n);
    *p = nullptr;
    void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
    char *base = (char *)m, *q = base + len - pg - inh_simt::span16(n);
    if (mprotect(base, pg, PROT_NONE) || mprotect(base + len - pg, pg, PROT_NONE)) { munmap(m, len); return cudaErrorMemoryAllocation; }
    memset(q, 0xFF, n);   /* NaN bytes: real device memory holds garbage */
    inh_simt::note_alloc(q, n);
    *p = (T *)q;
    return cudaSuccess;
}
inline cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    auto it = inh_simt::S().allocs.find((uintptr_t)p);
    if (it == inh_simt::S().allocs.end()) return cudaErrorInvalidDevicePointer;
    if (inh_simt::sync()) return cudaErrorLaunchFailure;   /* the queued work may still use it */
    size_t n = it->second;
    inh_simt::note_free(p);
    munmap(inh_simt::map_base(p, n), inh_simt::map_bytes(n));
    return cudaSuccess;
}
namespace inh_simt {
/* the pointers of a copy of n bytes of this kind lie where the kind says */
inline int copy_ok(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
    int dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((dd && !inside(dst, n)) || (sd && !inside(src, n))) return 0;
    if ((!dd && inside(dst, 1)) || (!sd && inside(src, 1))) return 0;
    return 1;
}
} /* namespace inh_simt */
/* synchronous: the queue runs first (a failed kernel fails the copy, as on a GPU) */
inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind) {
    if (!n) return cudaSuccess;
    if (!inh_simt::copy_ok(dst, src, n, kind)) return cudaErrorInvalidValue;
    if (inh_simt::sync()) return cudaErrorLaunchFailure;
    memmove(dst, src, n);
    return cudaSuccess;
}
/* Stream-ordered, so queued, as the runtime does it: from or to pinned host memory (cudaMallocHost)
   the copy reads or writes the host bytes when it runs, so they must stay as they are until the
   copy is known to be done (an event, a synchronising call); from pageable memory the runtime
   stages the bytes before it returns (here: a copy taken at the call), and to pageable memory it
   returns only when the copy is done (here: the queue runs first). */
namespace inh_simt {
inline std::map<uintptr_t, size_t> &pinned() { static std::map<uintptr_t, size_t> m; return m; }
inline int is_pinned(const void *p, size_t n) {
    auto &m = pinned();
    auto it = m.upper_bound((uintptr_t)p);
    if (it == m.begin()) return 0;
    --it;
    return (uintptr_t)p + n <= it->first + it->second;
}
} /* namespace inh_simt */
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t st = 0) {
    if (st || !inh_simt::copy_ok(dst, src, n, kind)) return cudaErrorInvalidValue;   /* the default stream only */
    if (!n) return cudaSuccess;
    if (kind == cudaMemcpyHostToDevice && !inh_simt::is_pinned(src, n)) {
        std::shared_ptr<std::vector<char>> staged = std::make_shared<std::vector<char>>((const char *)src, (const char *)src + n);
        inh_simt::enqueue([=]() { memmove(dst, staged->data(), n); return 0; }, "cudaMemcpyAsync");
        return cudaSuccess;
    }
    if (kind == cudaMemcpyDeviceToHost && !inh_simt::is_pinned(dst, n)) return cudaMemcpy(dst, src, n, kind);
    inh_simt::enqueue([=]() { memmove(dst, src, n); return 0; }, "cudaMemcpyAsync");
    return cudaSuccess;
}
/* asynchronous, in stream order: queued behind the launches */
inline cudaError_t cudaMemset(void *p, int v, size_t n) {
    if (!n) return cudaSuccess;
    if (!inh_simt::inside(p, n)) return cudaErrorInvalidValue;
    inh_simt::enqueue([=]() { memset(p, v, n); return 0; }, "cudaMemset");
    return cudaSuccess;
}
/* pinned host memory: plain host memory, remembered (cudaMemcpyAsync reads it when the copy runs).
   Events: a record is queued behind the work before it and marks the event done when it runs;
   cudaEventSynchronize runs the queue up to there (here: the whole queue). */
inline cudaError_t cudaMallocHost(void **p, size_t n) {
    *p = malloc(n ? n : 1);
    if (!*p) return cudaErrorMemoryAllocation;
    inh_simt::pinned()[(uintptr_t)*p] = n ? n : 1;
    return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void *p) {
    if (!p) return cudaSuccess;
    auto it = inh_simt::pinned().find((uintptr_t)p);
    if (it == inh_simt::pinned().end()) return cudaErrorInvalidValue;
    if (inh_simt::sync()) return cudaErrorLaunchFailure;   /* it synchronises, as cudaFree does */
    inh_simt::pinned().erase(it);
    free(p);
    return cudaSuccess;
}
struct inh_cuda_event { int magic; int done; };
typedef inh_cuda_event *cudaEvent_t;
enum { cudaEventDisableTiming = 2 };
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags) { (void)flags; *e = new inh_cuda_event{0xe7e7, 1}; return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!e || e->magic != 0xe7e7) return cudaErrorInvalidValue;
    if (inh_simt::sync()) return cudaErrorLaunchFailure;   /* a queued record may still point at it */
    e->magic = 0; delete e;
    return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t stream) {
    if (stream || !e || e->magic != 0xe7e7) return cudaErrorInvalidValue;
    e->done = 0;
    inh_simt::enqueue([=]() { e->done = 1; return 0; }, "cudaEventRecord");
    return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!e || e->magic != 0xe7e7) return cudaErrorInvalidValue;
    if (!e->done && inh_simt::sync()) return cudaErrorLaunchFailure;
    return cudaSuccess;
}

/* ---- cuBLAS -------------------------------------------------------------------------------- */
typedef enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
               CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15 } cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
struct inh_cublas_handle { int magic; };
typedef inh_cublas_handle *cublasHandle_t;

inline cublasStatus_t cublasCreate(cublasHandle_t *h) { *h = new inh_cublas_handle{0x600d}; return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
    if (!h || h->magic != 0x600d) return CUBLAS_STATUS_NOT_INITIALIZED;
    (void)inh_simt::sync();   /* cuBLAS synchronises here; an error shows at the caller's next call */
    h->magic = 0; delete h;
    return CUBLAS_STATUS_SUCCESS;
}
namespace inh_simt { inline char *blas_detail() { static char d[256]; return d; } }
/* INVALID_VALUE carries the stand-in's reason for the last one, e.g. an operand out of bounds */
inline const char *cublasGetStatusString(cublasStatus_t s) {
    static char msg[320];
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
        snprintf(msg, sizeof msg, "CUBLAS_STATUS_INVALID_VALUE (%s)", inh_simt::blas_detail());
        return msg;
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_ALLOC_FAILED";
    }
}

namespace inh_simt {
inline float load_as_float(const void *p, size_t i, cudaDataType t) {
    if (t == CUDA_R_32F) return ((const float *)p)[i];
    uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
    float f; memcpy(&f, &u, 4);
    return f;
}
/* the stored extent of an operand of `rows` x `cols` (column-major, leading dimension ld) */
inline int operand_ok(const void *p, int rows, int cols, int ld, size_t esize) {
    if (ld < (rows > 1 ? rows : 1)) return 0;
    if (!rows || !cols) return 1;
    return inside(p, ((size_t)(cols - 1) * ld + rows) * esize);
}
/* the arithmetic of every GEMM here (cuBLAS and cuBLASLt): D (m,n) = alpha op(A) op(B) + beta C
   (+ bias[i] with cuBLASLt's bias epilogue, after the scaling), each element summed over k in order,
   in float; beta == 0: C is not read. D may be C. */
inline void gemm_compute(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const void *A,
                         cudaDataType at, int lda, const void *B, cudaDataType bt, int ldb, float beta, const float *C, int ldc,
                         float *D, int ldd, const float *bias) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float s = 0.0f;
            for (int l = 0; l < k; l++) {
                float a = load_as_float(A, ta == CUBLAS_OP_N ? (size_t)i + (size_t)l * lda : (size_t)l + (size_t)i * lda, at);
                float b = load_as_float(B, tb == CUBLAS_OP_N ? (size_t)l + (size_t)j * ldb : (size_t)j + (size_t)l * ldb, bt);
                s += a * b;
            }
            float d = beta == 0.0f ? alpha * s : alpha * s + beta * C[(size_t)i + (size_t)j * ldc];
            D[(size_t)i + (size_t)j * ldd] = bias ? d + bias[i] : d;
        }
}
inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           float alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt, int ldb,
                           float beta, float *C, int ldc) {
    char *why = blas_detail();
    snprintf(why, 256, "m=%d n=%d k=%d lda=%d ldb=%d ldc=%d: %s", m, n, k, lda, ldb, ldc, "a negative size or an unknown op");
    if (!h || h->magic != 0x600d) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || (ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T))
        return CUBLAS_STATUS_INVALID_VALUE;
    size_t ea = at == CUDA_R_32F ? 4 : 2, eb = bt == CUDA_R_32F ? 4 : 2;
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    snprintf(why, 256, "m=%d n=%d k=%d lda=%d ldb=%d ldc=%d: %s", m, n, k, lda, ldb, ldc, "a leading dimension below the stored rows");
    if (ldc < (m > 1 ? m : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    if (!m || !n) return CUBLAS_STATUS_SUCCESS;
    /* cuBLAS checks lda/ldb against the stored rows even when k == 0 */
    if (lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    if (!operand_ok(A, ar, ac, lda, ea) || !operand_ok(B, br, bc, ldb, eb) || !operand_ok(C, m, n, ldc, 4)) {
        snprintf(why, 256, "m=%d n=%d k=%d lda=%d ldb=%d ldc=%d: %s", m, n, k, lda, ldb, ldc,
                 "an operand, as op and ld describe it, lies outside its device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    /* checked now, as cuBLAS does; computed in stream order, queued behind the launches */
    enqueue([=]() { gemm_compute(ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ldc, C, ldc, NULL); return 0; },
            "a cuBLAS GEMM");
    return CUBLAS_STATUS_SUCCESS;
}
} /* namespace inh_simt */

inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float *alpha, const float *A, int lda, const float *B, int ldb,
                                  const float *beta, float *C, int ldc) {
    return inh_simt::gemm(h, ta, tb, m, n, k, *alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, *beta, C, ldc);
}
inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                                   int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t ctype,
                                   cublasGemmAlgo_t algo) {
    (void)algo;
    if (ct != CUDA_R_32F || ctype != CUBLAS_COMPUTE_32F || (at != CUDA_R_32F && at != CUDA_R_16BF) || bt != at)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return inh_simt::gemm(h, ta, tb, m, n, k, *(const float *)alpha, A, at, lda, B, bt, ldb, *(const float *)beta, (float *)C, ldc);
}

/* ---- cuBLASLt -------------------------------------------------------------------------------
   The subset inheritune_cuda.cu uses, with cuBLASLt's semantics (values as in cublasLt.h):
     D = alpha op(A) op(B) + beta C, plus bias[i] in every column j of D with CUBLASLT_EPILOGUE_BIAS
     (the bias has D's rows m, packed, of D's type fp32 unless CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE
     says otherwise), column-major layouts created with their type, rows, cols and ld;
   the descriptor and preference attributes it does not know, an attribute of the wrong size and
   any other epilogue are refused (an error status, never ignored). The heuristic returns one
   result (lt_algos() results: a test sets 0 to take the caller's fallback); its algorithm needs
   the workspace the preference allows, up to 4 MiB, and assumes the preference's minimum
   alignments, so cublasLtMatmul checks each pointer against them. Like the GEMMs above: every
   operand, as its layout describes it, lies inside one device allocation (C only where beta != 0),
   the bias and the workspace too; the product is queued in stream order, and gemm_compute does
   the arithmetic; the workspace is clobbered (NaN bytes) as it runs. */
typedef enum { CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0, CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1, CUBLASLT_MATMUL_DESC_TRANSA = 3,
               CUBLASLT_MATMUL_DESC_TRANSB = 4, CUBLASLT_MATMUL_DESC_EPILOGUE = 7, CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
               CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26 } cublasLtMatmulDescAttributes_t;
typedef enum { CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_BIAS = 4, CUBLASLT_EPILOGUE_BGRADB = 512 } cublasLtEpilogue_t;
typedef enum { CUBLASLT_MATMUL_PREF_SEARCH_MODE = 0, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8 } cublasLtMatmulPreferenceAttributes_t;
struct inh_lt_handle { int magic; };
struct inh_lt_desc { int magic; int32_t ta, tb; uint32_t epi; const void *bias; int32_t bias_type; };
struct inh_lt_layout { int magic; cudaDataType type; uint64_t rows, cols; int64_t ld; };
struct inh_lt_pref { int magic; uint64_t ws; uint32_t align[4]; };
typedef inh_lt_handle *cublasLtHandle_t;
typedef inh_lt_desc *cublasLtMatmulDesc_t;
typedef inh_lt_layout *cublasLtMatrixLayout_t;
typedef inh_lt_pref *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;
enum { INH_LT_MAGIC = 0x17e5, INH_LT_ALGO = 0xa160 };
namespace inh_simt { inline int &lt_algos() { static int n = 1; return n; } }

inline const char *cublasLtGetStatusString(cublasStatus_t s) { return cublasGetStatusString(s); }
inline cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) { *h = new inh_lt_handle{INH_LT_MAGIC}; return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    if (!h || h->magic != INH_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    (void)inh_simt::sync();
    h->magic = 0; delete h;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t ctype, cudaDataType scale) {
    *d = NULL;
    if (ctype != CUBLAS_COMPUTE_32F || scale != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    *d = new inh_lt_desc{INH_LT_MAGIC, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT, NULL, -1};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    if (!d || d->magic != INH_LT_MAGIC) return CUBLAS_STATUS_INVALID_VALUE;
    d->magic = 0; delete d;
    return CUBLAS_STATUS_SUCCESS;
}
namespace inh_simt {
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
inline cublasStatus_t lt_refuse(const char *fmt, ...) {   /* INVALID_VALUE, the reason in blas_detail() */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(blas_detail(), 256, fmt, ap);
    va_end(ap);
    return CUBLAS_STATUS_INVALID_VALUE;
}
} /* namespace inh_simt */
/* the value's size must be the attribute's (cuBLASLt checks it); the compute and scale types are fixed at creation here */
inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *buf, size_t n) {
    if (!d || d->magic != INH_LT_MAGIC || !buf) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: no descriptor or value");
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
    case CUBLASLT_MATMUL_DESC_TRANSB: {
        int32_t v;
        if (n != sizeof v) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: TRANSA/B takes an int32_t, not %ld bytes", (long)n);
        memcpy(&v, buf, sizeof v);
        if (v != CUBLAS_OP_N && v != CUBLAS_OP_T) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: op %ld", (long)v);
        (a == CUBLASLT_MATMUL_DESC_TRANSA ? d->ta : d->tb) = v;
        return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_EPILOGUE: {
        uint32_t v;
        if (n != sizeof v) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: EPILOGUE takes a uint32_t, not %ld bytes", (long)n);
        memcpy(&v, buf, sizeof v);
        if (v != CUBLASLT_EPILOGUE_DEFAULT && v != CUBLASLT_EPILOGUE_BIAS) {
            snprintf(inh_simt::blas_detail(), 256, "epilogue %u: the stand-in has DEFAULT and BIAS only", v);
            return CUBLAS_STATUS_NOT_SUPPORTED;
        }
        d->epi = v;
        return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
        if (n != sizeof(void *)) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: BIAS_POINTER takes a pointer, not %ld bytes", (long)n);
        memcpy(&d->bias, buf, sizeof(void *));
        return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
        if (n != sizeof(int32_t)) return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: BIAS_DATA_TYPE takes an int32_t, not %ld bytes", (long)n);
        memcpy(&d->bias_type, buf, sizeof(int32_t));
        return CUBLAS_STATUS_SUCCESS;
    default:
        return inh_simt::lt_refuse("cublasLtMatmulDescSetAttribute: attribute %ld is not in the stand-in", (long)a);
    }
}
inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld) {
    *l = NULL;
    if (type != CUDA_R_32F && type != CUDA_R_16BF) return CUBLAS_STATUS_NOT_SUPPORTED;
    *l = new inh_lt_layout{INH_LT_MAGIC, type, rows, cols, ld};
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    if (!l || l->magic != INH_LT_MAGIC) return CUBLAS_STATUS_INVALID_VALUE;
    l->magic = 0; delete l;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    *p = new inh_lt_pref{INH_LT_MAGIC, 0, {256, 256, 256, 256}};   /* cuBLASLt's defaults: no workspace, 256-byte alignment */
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    if (!p || p->magic != INH_LT_MAGIC) return CUBLAS_STATUS_INVALID_VALUE;
    p->magic = 0; delete p;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a,
                                                           const void *buf, size_t n) {
    if (!p || p->magic != INH_LT_MAGIC || !buf) return inh_simt::lt_refuse("cublasLtMatmulPreferenceSetAttribute: no preference or value");
    if (a == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES) {
        if (n != sizeof(uint64_t)) return inh_simt::lt_refuse("MAX_WORKSPACE_BYTES takes a uint64_t, not %ld bytes", (long)n);
        memcpy(&p->ws, buf, sizeof(uint64_t));
        return CUBLAS_STATUS_SUCCESS;
    }
    if (a >= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES && a <= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES) {
        uint32_t v;
        if (n != sizeof v) return inh_simt::lt_refuse("MIN_ALIGNMENT_*_BYTES takes a uint32_t, not %ld bytes", (long)n);
        memcpy(&v, buf, sizeof v);
        if (!v || (v & (v - 1))) return inh_simt::lt_refuse("MIN_ALIGNMENT_*_BYTES %ld is not a power of two", (long)v);
        p->align[a - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES] = v;
        return CUBLAS_STATUS_SUCCESS;
    }
    return inh_simt::lt_refuse("cublasLtMatmulPreferenceSetAttribute: attribute %ld is not in the stand-in", (long)a);
}
namespace inh_simt {
inline int lt_ok(const void *o, int magic) { return o && *(const int *)o == magic; }
/* the descriptors agree with each other: op(A) (m,k), op(B) (k,n), C and D (m,n) of one shape,
   fp32 or bf16 A and B of one type, fp32 C and D and bias; NOT_SUPPORTED or INVALID_VALUE, as the
   library answers, with the reason in blas_detail() */
inline cublasStatus_t lt_shapes(cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                cublasLtMatrixLayout_t d, int *m, int *n, int *k) {
    char *why = blas_detail();
    if (!lt_ok(op, INH_LT_MAGIC) || !lt_ok(a, INH_LT_MAGIC) || !lt_ok(b, INH_LT_MAGIC) || !lt_ok(c, INH_LT_MAGIC) || !lt_ok(d, INH_LT_MAGIC)) {
        snprintf(why, 256, "a destroyed or missing cuBLASLt descriptor");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (a->type != b->type || c->type != CUDA_R_32F || d->type != CUDA_R_32F ||
        (op->bias_type != -1 && op->bias_type != CUDA_R_32F)) {
        snprintf(why, 256, "types A %d B %d C %d D %d bias %d: the stand-in has A = B fp32 or bf16, fp32 C, D, bias",
                 a->type, b->type, c->type, d->type, op->bias_type);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    uint64_t am = op->ta == CUBLAS_OP_N ? a->rows : a->cols, ak = op->ta == CUBLAS_OP_N ? a->cols : a->rows;
    uint64_t bk = op->tb == CUBLAS_OP_N ? b->rows : b->cols, bn = op->tb == CUBLAS_OP_N ? b->cols : b->rows;
    if (am != d->rows || bn != d->cols || ak != bk || c->rows != d->rows || c->cols != d->cols || d->rows > INT32_MAX ||
        d->cols > INT32_MAX || ak > INT32_MAX || a->ld < (int64_t)(a->rows > 1 ? a->rows : 1) ||
        b->ld < (int64_t)(b->rows > 1 ? b->rows : 1) || c->ld < (int64_t)(c->rows > 1 ? c->rows : 1) ||
        d->ld < (int64_t)(d->rows > 1 ? d->rows : 1) || a->ld > INT32_MAX || b->ld > INT32_MAX || c->ld > INT32_MAX || d->ld > INT32_MAX) {
        snprintf(why, 256, "op(A) %llu x %llu, op(B) %llu x %llu, C %llu x %llu, D %llu x %llu, ld %lld %lld %lld %lld: shapes or lds disagree",
                 (unsigned long long)am, (unsigned long long)ak, (unsigned long long)bk, (unsigned long long)bn,
                 (unsigned long long)c->rows, (unsigned long long)c->cols, (unsigned long long)d->rows, (unsigned long long)d->cols,
                 (long long)a->ld, (long long)b->ld, (long long)c->ld, (long long)d->ld);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *m = (int)d->rows; *n = (int)d->cols; *k = (int)ak;
    return CUBLAS_STATUS_SUCCESS;
}
inline size_t lt_esize(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }
} /* namespace inh_simt */
inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a,
                                                     cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                                     cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t *res,
                                                     int *found) {
    *found = 0;
    if (!h || h->magic != INH_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (requested <= 0 || !inh_simt::lt_ok(pref, INH_LT_MAGIC)) return inh_simt::lt_refuse("heuristic: %ld results requested, or no preference", (long)requested);
    int m, n, k;
    cublasStatus_t s = inh_simt::lt_shapes(op, a, b, c, d, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (inh_simt::lt_algos() < 1) return CUBLAS_STATUS_SUCCESS;   /* a test's "no algorithm" */
    memset(res, 0, sizeof *res);
    res->algo.data[0] = INH_LT_ALGO;
    res->workspaceSize = pref->ws < ((uint64_t)4 << 20) ? pref->ws : ((uint64_t)4 << 20);
    res->algo.data[1] = res->workspaceSize;
    for (int i = 0; i < 4; i++) res->algo.data[2 + i] = pref->align[i];
    res->state = CUBLAS_STATUS_SUCCESS;
    res->wavesCount = 1.0f;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                                     cublasLtMatrixLayout_t la, const void *B, cublasLtMatrixLayout_t lb, const void *beta, const void *C,
                                     cublasLtMatrixLayout_t lc, void *D, cublasLtMatrixLayout_t ld, const cublasLtMatmulAlgo_t *algo,
                                     void *ws, size_t ws_bytes, cudaStream_t stream) {
    using namespace inh_simt;
    char *why = blas_detail();
    if (!h || h->magic != INH_LT_MAGIC) return CUBLAS_STATUS_NOT_INITIALIZED;
    int m, n, k;
    cublasStatus_t s = lt_shapes(op, la, lb, lc, ld, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (stream) return lt_refuse("cublasLtMatmul: the default stream only");
    if (!alpha || !beta || !algo || algo->data[0] != INH_LT_ALGO) return lt_refuse("cublasLtMatmul: no alpha, beta or heuristic's algorithm");
    if (ws_bytes < algo->data[1] || (algo->data[1] && !inside(ws, algo->data[1])))
        return lt_refuse("cublasLtMatmul: the algorithm needs %ld bytes of workspace inside one device allocation", (long)algo->data[1]);
    const void *ptr[4] = {A, B, C, D};
    for (int i = 0; i < 4; i++)
        if ((uintptr_t)ptr[i] % algo->data[2 + i])
            return lt_refuse("cublasLtMatmul: an operand less aligned than the preference's MIN_ALIGNMENT (%ld bytes) told the heuristic",
                             (long)algo->data[2 + i]);
    float al = *(const float *)alpha, be = *(const float *)beta;
    const float *bias = op->epi == CUBLASLT_EPILOGUE_BIAS ? (const float *)op->bias : NULL;
    if (op->epi == CUBLASLT_EPILOGUE_BIAS && (!bias || (uintptr_t)bias % 4 || !inside(bias, (size_t)m * 4)))
        return lt_refuse("cublasLtMatmul: the bias of D's %ld rows (fp32, packed) is not inside one device allocation", (long)m);
    if (!m || !n) return CUBLAS_STATUS_SUCCESS;
    if (!operand_ok(A, (int)la->rows, (int)la->cols, (int)la->ld, lt_esize(la->type)) ||
        !operand_ok(B, (int)lb->rows, (int)lb->cols, (int)lb->ld, lt_esize(lb->type)) ||
        (be != 0.0f && !operand_ok(C, m, n, (int)lc->ld, 4)) || !operand_ok(D, m, n, (int)ld->ld, 4)) {
        snprintf(why, 256, "cublasLtMatmul m=%d n=%d k=%d lda=%lld ldb=%lld ldc=%lld ldd=%lld: %s", m, n, k, (long long)la->ld,
                 (long long)lb->ld, (long long)lc->ld, (long long)ld->ld,
                 "an operand, as its layout describes it, lies outside its device allocation");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    cublasOperation_t ta = (cublasOperation_t)op->ta, tb = (cublasOperation_t)op->tb;
    cudaDataType at = la->type, bt = lb->type;
    int lda = (int)la->ld, ldb = (int)lb->ld, ldc = (int)lc->ld, ldd = (int)ld->ld;
    size_t wsn = algo->data[1];
    enqueue([=]() {
        if (wsn) memset(ws, 0xFF, wsn);
        gemm_compute(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, (const float *)C, ldc, (float *)D, ldd, bias);
        return 0;
    }, "a cuBLASLt matmul");
    return CUBLAS_STATUS_SUCCESS;
}

#endif
