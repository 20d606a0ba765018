/* tests/cuda/cuda_emu.h - the CUDA runtime and cuBLAS calls inheritune_cuda.cu makes, for the
   emulation build (-DINH_CUDA_EMULATE), over the SIMT emulator in simt.h.

   The runtime part: device memory is host memory (poisoned with NaN bytes on allocation), each
   allocation between two inaccessible pages, so a kernel's access past its end faults; pointers
   given as device pointers must lie inside an allocation (a swapped host/device argument fails here
   as it would fail, or corrupt memory, on a GPU). One stream, in order, as on a GPU: launches,
   cudaMemset, cudaMemcpyAsync and the GEMMs (their arguments checked at the call) are queued, and
   the queue runs at the synchronising calls: cudaDeviceSynchronize, cudaStreamSynchronize,
   cudaMemcpy, cudaFree, cublasDestroy. A kernel that fails there fails that call with
   cudaErrorLaunchFailure, and cudaGetErrorString names the kernel, its launch site and the
   reason; cudaGetLastError() reports it too but does not run the queue.
   The cuBLAS part: cublasSgemm and cublasGemmEx with cuBLAS's exact column-major conventions:
     C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C, element (i,j) of C at C[i + j*ldc];
     op(A) = A (stored m x k, lda >= m) for CUBLAS_OP_N, A^T (stored k x m, lda >= k) for CUBLAS_OP_T;
     beta == 0: C is not read. Invalid sizes or leading dimensions give CUBLAS_STATUS_INVALID_VALUE,
   and every operand, as op/ld describe it, must lie inside one device allocation, so a wrong
   transpose or leading dimension fails here (wrong numbers or an error), not on the GPU. Each C
   element is summed over k in order, in float (bf16 operands are widened exactly). */
#ifndef INH_CUDA_EMU_H
#define INH_CUDA_EMU_H
#include "simt.h"
#include <sys/mman.h>
#include <unistd.h>
#include <memory>

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
    enqueue([=]() {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float s = 0.0f;
                for (int l = 0; l < k; l++) {
                    float a = load_as_float(A, ta == CUBLAS_OP_N ? (size_t)i + (size_t)l * lda : (size_t)l + (size_t)i * lda, at);
                    float b = load_as_float(B, tb == CUBLAS_OP_N ? (size_t)l + (size_t)j * ldb : (size_t)j + (size_t)l * ldb, bt);
                    s += a * b;
                }
                float *c = C + (size_t)i + (size_t)j * ldc;
                *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
            }
        return 0;
    }, "a cuBLAS GEMM");
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

#endif
