/* tests/cuda/simt.h - a small SIMT emulator: inheritune_cuda.cu compiled by the host C++ compiler
   with -DINH_CUDA_EMULATE runs its kernels here, on the CPU, with CUDA's semantics.

   Each thread of a block is a fiber (ucontext) with its own stack; a block's threads genuinely
   interleave: a fiber runs until it reaches a barrier (__syncthreads), a warp operation
   (__shfl_*_sync, __syncwarp) or its end, and the scheduler releases a barrier only when every
   thread that must reach it has. Blocks run one after another (CUDA promises nothing about their
   order or concurrency, and our kernels never communicate between blocks within a launch).
     - __shared__ is `static`: one copy per kernel, which is one copy per block because blocks run
       one at a time. Static and dynamic (INH_CUDA_SHARED_DYN) shared memory are poisoned with NaN
       bytes at the start of every block, so a read before the write shows up as NaN.
     - Every pass of the scheduler takes the ready fibers in a fresh random order, seeded per
       launch (INH_SIMT_SEED, default 1; an error names the seed): a missing barrier gives
       order-dependent results, which the tests see as a mismatch against the CPU.
     - Shared-memory races (static __shared__ of the kernel itself, and dynamic shared memory):
       shared memory is compared before and after each stretch a fiber runs, so each write is
       attributed to its thread. Two threads writing one byte within one barrier epoch (between two
       releases of __syncthreads()) is an error, naming the kernel, the word and the two threads,
       unless they are lanes of one warp and a warp operation both took part in (__syncwarp, a
       shuffle) lies between the writes: CUDA orders memory among its lanes. Built by clang with
       INH_SIMT_TRACE (what make does where clang++-19 is installed), every load and store of the
       kernels is seen as it happens, so a read of a word another thread wrote in the same epoch,
       unordered, is an error too (a read that comes before the other thread's write in this
       run's order is not: another seed may catch it). Not detected: such reads in another
       compiler's build (the random order makes them show as wrong values), a write of the value
       already there (that build only), races on static __shared__ of __device__ functions the
       kernel calls, on any static
       __shared__ under AddressSanitizer (no section to find it by: dynamic shared memory only
       there), and races between blocks or on global memory. INH_SIMT_RACE=0 turns it off.
     - Launches are queued: launch() checks the configuration at once and runs the kernel at the
       next synchronising call (sync(); cuda_emu.h), as a GPU does, so a host read of device memory
       with no synchronisation sees the old bytes. A kernel's failure as it runs is reported there,
       with its name and launch site (at()).
     - Misuse is an error returned by launch(), not a hang: a __syncthreads() that some threads
       never reach (they returned, or wait at a warp operation), a shuffle that reads a lane which
       exited or does not take part (an undefined value on a GPU), lanes of one mask at different
       warp operations, an empty grid.
     - A launch the runtime would refuse is refused, with the runtime's error code for
       cudaGetLastError(): over 1024 threads per block (invalid configuration); static plus dynamic
       shared memory over 48 KiB, or past the kernel's opt-in (cudaFuncSetAttribute with
       cudaFuncAttributeMaxDynamicSharedMemorySize, up to sm_90's 227 KiB of static plus dynamic)
       (invalid argument). A kernel's static shared bytes are the sizes of its own __shared__
       variables, read from the executable's symbol table (static_shared() below); __shared__
       variables of __device__ functions it calls are not counted.
   Device memory is host memory, one mapping per allocation between two PROT_NONE pages (cudaMalloc
   in cuda_emu.h: it fills it with NaN bytes, as real device memory holds garbage, and a kernel's
   access past the end faults); every allocation is recorded so the copies and the cuBLAS stand-in
   (cuda_emu.h) can check that a GEMM's operands, as its op/ld arguments describe them, lie inside
   one allocation.
   Written for this project (Numba's CUDA simulator is the precedent for the idea only). */
#ifndef INH_SIMT_H
#define INH_SIMT_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <link.h>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

/* ---- the CUDA language, as the host compiler sees it ---------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
/* Static __shared__ variables go to one ELF section, so that every block can start with all of
   them poisoned (NaN bytes) like dynamic shared memory: a read before the write shows. Under
   AddressSanitizer (which puts red zones between globals) they are plain statics. */
#if defined(__SANITIZE_ADDRESS__)
#define INH_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INH_SIMT_ASAN 1
#endif
#endif
#if defined(INH_SIMT_ASAN) || !defined(__ELF__)
#define __shared__ static
#define INH_SIMT_POISON_STATIC 0
#else
#define __shared__ static __attribute__((section("inh_simt_shared")))
#define INH_SIMT_POISON_STATIC 1
extern "C" char __start_inh_simt_shared[] __attribute__((weak));
extern "C" char __stop_inh_simt_shared[] __attribute__((weak));
#endif

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 { unsigned x, y, z; };

namespace inh_simt {

enum { WARP = 32, MAX_THREADS = 1024, STACK = 256 * 1024 };
/* shared memory per block: without an opt-in, and at most with one (sm_90: sharedMemPerBlockOptin) */
enum { MAX_SHARED = 48 * 1024, MAX_SHARED_OPTIN = 227 * 1024 };
/* the runtime's codes for what cudaGetLastError() reports after a refused or failed launch */
enum { ERR_INVALID_VALUE = 1, ERR_INVALID_CONFIGURATION = 9, ERR_LAUNCH_FAILURE = 719 };
enum { READY, WAIT_BLOCK, WAIT_WARP, DONE };
enum { OP_SYNC, OP_XOR, OP_DOWN, OP_IDX, OP_MMA };

struct fiber {
    ucontext_t ctx;
    int state;
    uint3 tid;
    int lane, warp;
    /* a pending warp operation: its kind, mask, argument and the value offered (as bits) */
    int op;
    unsigned mask;
    int arg, width;
    uint64_t val, result;
    /* the race detector: for each lane of its warp, how many of that lane's warp operations this
       thread is ordered after (a vector clock within the warp; its own entry counts its own) */
    uint32_t vc[WARP];
};

/* the race detector's records, per byte of the launch's shared memory (section below) */
struct race_region { unsigned char *p; size_t bytes, first; std::string what; };
struct race_state {
    int on = -1;                              /* INH_SIMT_RACE=0 turns it off; -1: not read yet */
    std::vector<race_region> regions;         /* the kernel's static __shared__ objects, then dynamic */
    size_t bytes = 0;                         /* all regions together */
    std::vector<unsigned char> snap;          /* shared memory as the running fiber found it */
    std::vector<int> writer;                  /* per byte: the thread that wrote it last in this epoch */
    std::vector<uint32_t> clock, epoch;       /* the writer's own warp clock then; the epoch of the write */
    uint32_t now = 1;                         /* the barrier epoch; a record of an older one is void */
};
/* a queued piece of device work (a kernel, a memset, a copy, a GEMM): run at the next
   synchronising call, in order; `what` names it and its launch site for an error */
struct job { std::function<int()> run; std::string what; };

struct state {
    std::vector<fiber> f;
    std::vector<char *> stacks;
    ucontext_t sched;
    int cur = -1, nthreads = 0;
    uint3 block_idx, block_dim, grid_dim;
    std::vector<unsigned char> dyn;
    size_t dyn_bytes = 0;
    void *launch_obj = nullptr;
    void (*launch_run)(void *) = nullptr;
    char err[1024];
    int failed = 0;
    int code = 0;                         /* for cudaGetLastError(): the first error since it was last read */
    std::map<uintptr_t, size_t> allocs;   /* device allocations: base -> bytes */
    std::map<uintptr_t, size_t> static_sh, max_dyn;   /* per kernel: static shared bytes; opted-in dynamic bytes */
    unsigned long long launches = 0;
    uint64_t seed = 0, rng = 0;           /* INH_SIMT_SEED (default 1); the running launch's generator */
    int seed_read = 0;
    const char *site_kernel = nullptr, *site_file = nullptr;   /* at(): the next launch's name and site */
    int site_line = 0;
    std::deque<job> queue;
    unsigned long long waits = 0;          /* sync() calls: the host waited for the device (waits()) */
    char fault[1024];                      /* the last queued job that failed, for cudaGetErrorString */
    race_state race;
    std::map<uintptr_t, std::vector<race_region>> static_objs;   /* per kernel: its static __shared__ objects */
    ~state() { for (char *p : stacks) free(p); }
};
inline state &S() { static state s; return s; }

inline fiber &me() { return S().f[S().cur]; }
inline const char *error() { return S().err; }
inline int fail(const char *msg, int code = ERR_LAUNCH_FAILURE) {
    state &s = S();
    if (!s.failed) snprintf(s.err, sizeof s.err, "%s (block %u,%u,%u)", msg, s.block_idx.x, s.block_idx.y, s.block_idx.z);
    if (!s.failed && !s.code) s.code = code;
    s.failed = 1;
    return -1;
}

/* back to the scheduler; the fiber resumes when its barrier or warp operation is released */
inline void yield_to_scheduler() {
    state &s = S();
    fiber &f = s.f[s.cur];
    swapcontext(&f.ctx, &s.sched);
}

inline void syncthreads() {
    me().state = WAIT_BLOCK;
    yield_to_scheduler();
}
/* a warp operation: wait until every lane of the mask has reached one, then take the result */
inline uint64_t warp_op(int op, unsigned mask, uint64_t val, int arg, int width) {
    fiber &f = me();
    if (!(mask >> f.lane & 1u)) { fail("warp operation by a lane that is not in its own mask"); }
    f.op = op; f.mask = mask; f.val = val; f.arg = arg; f.width = width; f.state = WAIT_WARP;
    yield_to_scheduler();
    return me().result;
}

extern "C" inline void fiber_main() {
    state &s = S();
    s.launch_run(s.launch_obj);
    s.f[s.cur].state = DONE;   /* uc_link returns to the scheduler */
}

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, one warp: D (16x8) = A (16x16) B (16x8) + C.
   Each lane offers its fragments, in the PTX ISA's layout for this shape (lane = 4 g + t, g the
   group, t the thread in the group; a register holds two bf16, the lower column or row in its low
   half):  A: a0 (row g, columns 2t, 2t+1), a1 (row g+8, the same), a2 (row g, columns 2t+8, 2t+9),
   a3 (row g+8, the same);  B: b0 (rows 2t, 2t+1, column g), b1 (rows 2t+8, 2t+9, column g);
   C and D: c0, c1 (row g, columns 2t, 2t+1), c2, c3 (row g+8, the same). A kernel that puts an
   element in the wrong register gets a wrong product here, as on the GPU. The sums run over k in
   order in float (the tensor core's order and rounding of the fp32 sum are unspecified). */
struct mma_frag { uint32_t a[4], b[2]; float c[4], d[4]; };
inline float bf16_lo(uint32_t w) { uint32_t u = w << 16; float f; memcpy(&f, &u, 4); return f; }
inline float bf16_hi(uint32_t w) { uint32_t u = w & 0xffff0000u; float f; memcpy(&f, &u, 4); return f; }
inline void mma_warp(fiber *lanes) {
    float A[16][16], Bm[16][8], Cm[16][8];
    for (int l = 0; l < WARP; l++) {
        const mma_frag *f = (const mma_frag *)(uintptr_t)lanes[l].val;
        int g = l / 4, t = l % 4;
        for (int r = 0; r < 4; r++) {
            int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
            A[row][col] = bf16_lo(f->a[r]); A[row][col + 1] = bf16_hi(f->a[r]);
            Cm[g + 8 * (r >> 1)][2 * t + (r & 1)] = f->c[r];
        }
        for (int r = 0; r < 2; r++) { Bm[2 * t + 8 * r][g] = bf16_lo(f->b[r]); Bm[2 * t + 8 * r + 1][g] = bf16_hi(f->b[r]); }
    }
    for (int l = 0; l < WARP; l++) {
        mma_frag *f = (mma_frag *)(uintptr_t)lanes[l].val;
        int g = l / 4, t = l % 4;
        for (int r = 0; r < 4; r++) {
            int row = g + 8 * (r >> 1), col = 2 * t + (r & 1);
            float acc = Cm[row][col];
            for (int k = 0; k < 16; k++) acc += A[row][k] * Bm[k][col];
            f->d[r] = acc;
        }
    }
}

/* ---- the shared-memory race detector --------------------------------------------------------
   A fiber runs uninterrupted from one scheduling point to the next, so every byte of shared memory
   that changed while it ran was written by it: the scheduler copies shared memory before it
   switches to a fiber and compares after, and so knows each write's thread. Per byte it keeps the
   last writer in the current barrier epoch (between two releases of __syncthreads()) and that
   writer's warp clock; a second thread's write to the byte in the same epoch is a race unless the
   two are lanes of one warp ordered by a warp operation (__syncwarp or a shuffle both took part in,
   after the first write): CUDA orders memory among the lanes taking part in those. Reads are not
   seen this way (see the top of the file). Cost: a copy and a compare of the kernel's shared
   memory per switch; kernels without shared memory pay nothing.
   Built by clang with -fsanitize-coverage=trace-loads,trace-stores (make: the emulated .cu and its
   test, INH_SIMT_TRACE in the .cu), every load and store of the kernels calls a hook below first,
   so the detector sees each access as it happens instead: a read of a byte that another thread
   wrote in the same epoch, unordered, is a race too, and a write is seen even when it stores the
   value already there. trace_lo/trace_span bound the launch's shared memory (span 0: nothing to
   watch), so an access elsewhere costs the hook one compare. */
#if defined(__clang__)
#define INH_SIMT_NOTRACE __attribute__((no_sanitize("coverage")))
#else
#define INH_SIMT_NOTRACE
#endif
inline int trace_built = 0;                    /* set by the hooks' translation unit */
inline uintptr_t trace_lo = 0, trace_span = 0;
inline int race_on() {
    race_state &r = S().race;
    if (r.on < 0) { const char *e = getenv("INH_SIMT_RACE"); r.on = !(e && !strcmp(e, "0")); }
    return r.on;
}
/* the regions of one launch: the kernel's own static __shared__ objects, then `dyn` bytes */
inline void race_setup(uintptr_t fn, size_t dyn) {
    state &s = S();
    race_state &r = s.race;
    r.regions.clear(); r.bytes = 0;
    if (!race_on()) return;
    auto it = s.static_objs.find(fn);
    if (it != s.static_objs.end())
        for (auto &o : it->second) { r.regions.push_back(o); r.regions.back().first = r.bytes; r.bytes += o.bytes; }
    if (dyn) { r.regions.push_back(race_region{s.dyn.data(), dyn, r.bytes, "dynamic shared memory"}); r.bytes += dyn; }
    r.snap.resize(r.bytes);
    r.writer.assign(r.bytes, -1);
    r.clock.assign(r.bytes, 0);
    r.epoch.assign(r.bytes, 0);
    r.now = 1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (auto &g : r.regions) {
        lo = (uintptr_t)g.p < lo ? (uintptr_t)g.p : lo;
        hi = (uintptr_t)g.p + g.bytes > hi ? (uintptr_t)g.p + g.bytes : hi;
    }
    trace_lo = lo; trace_span = trace_built && hi > lo ? hi - lo : 0;
}
inline void race_epoch() { S().race.now++; }   /* a barrier: every earlier access is ordered */
/* lanes `part` of the warp starting at thread `base` meet at a warp operation: each is then
   ordered after everything the others did before it (a join of their clocks) */
inline void race_warp_sync(int base, unsigned part) {
    state &s = S();
    uint32_t j[WARP] = {0};
    for (int k = 0; k < WARP; k++)
        if (part >> k & 1u)
            for (int l = 0; l < WARP; l++) j[l] = s.f[base + k].vc[l] > j[l] ? s.f[base + k].vc[l] : j[l];
    for (int k = 0; k < WARP; k++)
        if (part >> k & 1u) j[k] = s.f[base + k].vc[k] + 1;
    for (int k = 0; k < WARP; k++)
        if (part >> k & 1u) memcpy(s.f[base + k].vc, j, sizeof j);
}
inline void race_before() {
    race_state &r = S().race;
    for (auto &g : r.regions) memcpy(r.snap.data() + g.first, g.p, g.bytes);
}
inline const char *tid_str(char *b, int i) {
    state &s = S();
    snprintf(b, 48, "(%d,%d,%d)", (int)(i % s.block_dim.x), (int)(i / s.block_dim.x % s.block_dim.y),
             (int)(i / (s.block_dim.x * s.block_dim.y)));
    return b;
}
/* after fiber i ran: attribute what changed to it; -1 on a race */
inline int race_after(int i) {
    state &s = S();
    race_state &r = s.race;
    fiber &f = s.f[i];
    for (auto &g : r.regions) {
        const unsigned char *was = r.snap.data() + g.first;
        for (size_t o = 0; o < g.bytes; o += 64) {
            size_t m = g.bytes - o < 64 ? g.bytes - o : 64;
            if (!memcmp(was + o, g.p + o, m)) continue;
            for (size_t b = o; b < o + m; b++) {
                if (was[b] == g.p[b]) continue;
                size_t k = g.first + b;
                int w = r.writer[k];
                if (r.epoch[k] == r.now && w != i && !(w / WARP == i / WARP && f.vc[w % WARP] > r.clock[k])) {
                    char m1[400], a[48], c[48];
                    snprintf(m1, sizeof m1, "shared-memory race: %s, word %zu (byte %zu), written by thread %s and by thread %s "
                             "with no barrier between", g.what.c_str(), b / 4, b, tid_str(a, w), tid_str(c, i));
                    return fail(m1);
                }
                r.writer[k] = i; r.clock[k] = f.vc[i % WARP]; r.epoch[k] = r.now;
            }
        }
    }
    return 0;
}

/* a traced access of n bytes at p by the running fiber (a hook's slow path): the rule of
   race_after for a write, and for a read: the byte's writer in this epoch must be the reader, or a
   lane of its warp that a warp operation ordered before it */
INH_SIMT_NOTRACE inline void race_access(uintptr_t p, size_t n, int write) {
    state &s = S();
    race_state &r = s.race;
    int i = s.cur;
    if (i < 0 || s.failed) return;
    fiber &f = s.f[i];
    for (auto &g : r.regions) {
        uintptr_t b0 = (uintptr_t)g.p;
        if (p + n <= b0 || p >= b0 + g.bytes) continue;
        for (uintptr_t a = p > b0 ? p : b0; a < p + n && a < b0 + g.bytes; a++) {
            size_t b = a - b0, k = g.first + b;
            int w = r.writer[k];
            if (r.epoch[k] == r.now && w != i && !(w / WARP == i / WARP && f.vc[w % WARP] > r.clock[k])) {
                char m1[400], t1[48], t2[48];
                snprintf(m1, sizeof m1, "shared-memory race: %s, word %zu (byte %zu), written by thread %s and %sby thread %s "
                         "with no barrier between", g.what.c_str(), b / 4, b, tid_str(t1, w), write ? "" : "read ", tid_str(t2, i));
                fail(m1);
                return;
            }
            if (write) { r.writer[k] = i; r.clock[k] = f.vc[i % WARP]; r.epoch[k] = r.now; }
        }
    }
}
#ifdef INH_SIMT_TRACE
#define INH_SIMT_HOOK(n, T)                                                                             \
    extern "C" INH_SIMT_NOTRACE void __sanitizer_cov_load##n(T *p) {                                 \
        if ((uintptr_t)p - inh_simt::trace_lo < inh_simt::trace_span) inh_simt::race_access((uintptr_t)p, n, 0); \
    }                                                                                                   \
    extern "C" INH_SIMT_NOTRACE void __sanitizer_cov_store##n(T *p) {                                \
        if ((uintptr_t)p - inh_simt::trace_lo < inh_simt::trace_span) inh_simt::race_access((uintptr_t)p, n, 1); \
    }
} /* namespace inh_simt */
INH_SIMT_HOOK(1, uint8_t)
INH_SIMT_HOOK(2, uint16_t)
INH_SIMT_HOOK(4, uint32_t)
INH_SIMT_HOOK(8, uint64_t)
INH_SIMT_HOOK(16, __int128)
namespace inh_simt {
[[maybe_unused]] static const int trace_built_here = (trace_built = 1);
#endif

/* ---- thread order: a random permutation per phase --------------------------------------------
   Every pass of the scheduler over the ready fibers takes them in a fresh random order, from a
   generator seeded per launch (INH_SIMT_SEED, default 1, and the launch's number), so a failure
   reproduces, and another seed tries other orders. */
inline uint64_t splitmix(uint64_t &x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
inline uint64_t base_seed() {
    state &s = S();
    if (!s.seed_read) {
        const char *e = getenv("INH_SIMT_SEED");
        s.seed = e && *e ? strtoull(e, nullptr, 0) : 1;
        s.seed_read = 1;
    }
    return s.seed;
}
inline void shuffle(std::vector<int> &p) {
    uint64_t &x = S().rng;
    for (size_t i = p.size(); i > 1; i--) {
        size_t j = (size_t)(splitmix(x) % i);
        int t = p[i - 1]; p[i - 1] = p[j]; p[j] = t;
    }
}

/* release the warp operations that can complete; -1 on misuse, else how many lanes were released.
   As in CUDA, lanes of the mask that exited (or lie beyond a partial last warp) are not waited
   for; every other lane of the mask must reach the same operation with the same mask. A shuffle
   that reads a lane not taking part gets an undefined value on a GPU: an error here. */
inline int release_warps() {
    state &s = S();
    int released = 0, nw = (s.nthreads + WARP - 1) / WARP;
    for (int w = 0; w < nw; w++) {
        int base = w * WARP, n = s.nthreads - base < WARP ? s.nthreads - base : WARP;
        for (int l = 0; l < n; l++) {
            fiber &a = s.f[base + l];
            if (a.state != WAIT_WARP) continue;
            unsigned mask = a.mask, part = 0;
            int ok = 1;
            for (int k = 0; k < n && ok; k++) {
                if (!(mask >> k & 1u)) continue;
                fiber &b = s.f[base + k];
                if (b.state == DONE) continue;
                if (b.state != WAIT_WARP) { ok = 0; break; }
                if (b.mask != mask || b.op != a.op) return fail("warp operation: lanes of one mask disagree on the mask or the operation");
                part |= 1u << k;
            }
            if (!ok) continue;
            if (a.op == OP_MMA) {
                if (n != WARP || part != 0xffffffffu) return fail("mma.sync: every lane of the warp must execute it (.aligned, full mask)");
                mma_warp(&s.f[base]);
                for (int k = 0; k < n; k++) { s.f[base + k].state = READY; released++; }
                continue;
            }
            for (int k = 0; k < n; k++) {
                if (!(part >> k & 1u)) continue;
                fiber &b = s.f[base + k];
                int w_ = b.width, seg = (k / w_) * w_, src = k;
                if (b.op == OP_XOR) src = seg + (((k - seg) ^ b.arg) & (w_ - 1));
                else if (b.op == OP_DOWN) src = (k - seg) + b.arg < w_ ? k + b.arg : k;
                else if (b.op == OP_IDX) src = seg + (b.arg & (w_ - 1));
                if (b.op != OP_SYNC && !(part >> src & 1u))
                    return fail(src < n && s.f[base + src].state == DONE ? "shuffle reads a lane that has exited (undefined value)"
                                                                          : "shuffle reads a lane outside the mask or the block (undefined value)");
                b.result = b.op == OP_SYNC ? 0 : s.f[base + src].val;
            }
            race_warp_sync(base, part);
            for (int k = 0; k < n; k++)
                if (part >> k & 1u) { s.f[base + k].state = READY; released++; }
        }
    }
    return released;
}

/* run one block to its end: 0, or -1 with the error set */
inline int run_block() {
    state &s = S();
    int n = s.nthreads;
    for (int i = 0; i < n; i++) {
        fiber &f = s.f[i];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = s.stacks[i];
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = &s.sched;
        makecontext(&f.ctx, (void (*)())fiber_main, 0);
        f.state = READY;
        f.tid.x = i % s.block_dim.x;
        f.tid.y = i / s.block_dim.x % s.block_dim.y;
        f.tid.z = i / (s.block_dim.x * s.block_dim.y);
        f.lane = i % WARP; f.warp = i / WARP;
        memset(f.vc, 0, sizeof f.vc);
    }
    std::vector<int> order((size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    int race = !s.race.regions.empty();
    if (race) race_epoch();
    for (;;) {
        int ran = 0;
        shuffle(order);
        for (int j = 0; j < n; j++) {
            int i = order[j];
            if (s.f[i].state != READY) continue;
            s.cur = i;
            if (race && !trace_built) race_before();
            swapcontext(&s.sched, &s.f[i].ctx);
            s.cur = -1;
            ran = 1;
            if (s.failed || (race && !trace_built && race_after(i))) return -1;
        }
        if (ran) continue;
        int done = 0, atb = 0, atw = 0;
        for (int i = 0; i < n; i++) {
            done += s.f[i].state == DONE;
            atb += s.f[i].state == WAIT_BLOCK;
            atw += s.f[i].state == WAIT_WARP;
        }
        if (done == n) return 0;
        if (atw) {
            int r = release_warps();
            if (r < 0) return -1;
            if (r > 0) continue;
        }
        if (atb && atb + done == n) {
            if (done) return fail("__syncthreads() not reached by every thread of the block (some returned)");
            for (int i = 0; i < n; i++) s.f[i].state = READY;
            race_epoch();
            continue;
        }
        return fail(atw ? "deadlock: a warp operation waits for lanes that wait at __syncthreads()"
                        : "deadlock in the block");
    }
}

/* The static __shared__ bytes of the kernel at address `fn`, as nvcc would count them: the sizes of
   the objects in section inh_simt_shared named as local variables of that function (the Itanium
   mangling: _ZZ<the function's encoding>E<name>), from the symbol table of /proc/self/exe; read
   once, then cached per kernel. 0 where that cannot be known (no ELF section: AddressSanitizer or
   not ELF; a stripped executable). */
struct shared_syms {
    int loaded = 0;
    std::map<uintptr_t, std::string> funcs;                  /* link-time address -> mangled name */
    struct obj { std::string name; size_t bytes; uintptr_t at; };
    std::vector<obj> objs;                                   /* the section's objects (at: link-time) */
    uintptr_t bias = 0;                                      /* run-time address - link-time address */
};
inline void read_shared_syms(shared_syms &y) {
    y.loaded = 1;
#if INH_SIMT_POISON_STATIC
    if (!__start_inh_simt_shared) return;
    FILE *f = fopen("/proc/self/exe", "rb");
    if (!f) return;
    std::vector<unsigned char> b;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + n);
    fclose(f);
    if (b.size() < sizeof(ElfW(Ehdr))) return;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)b.data();
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > b.size() ||
        eh->e_shstrndx >= eh->e_shnum)
        return;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(b.data() + eh->e_shoff);
    const char *names = (const char *)b.data() + sh[eh->e_shstrndx].sh_offset;
    size_t sec = 0;
    for (size_t i = 1; i < eh->e_shnum; i++)
        if (!strcmp(names + sh[i].sh_name, "inh_simt_shared")) sec = i;
    if (!sec) return;
    y.bias = (uintptr_t)__start_inh_simt_shared - (uintptr_t)sh[sec].sh_addr;
    for (size_t i = 1; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(b.data() + sh[i].sh_offset);
        const char *str = (const char *)b.data() + sh[sh[i].sh_link].sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof(ElfW(Sym)); k++) {
            int type = ELF64_ST_TYPE(sym[k].st_info);
            if (type == STT_FUNC && sym[k].st_value) y.funcs[(uintptr_t)sym[k].st_value] = str + sym[k].st_name;
            else if (type == STT_OBJECT && sym[k].st_shndx == sec) y.objs.push_back({str + sym[k].st_name, (size_t)sym[k].st_size, (uintptr_t)sym[k].st_value});
        }
    }
#endif
}
inline size_t static_shared(uintptr_t fn) {
    state &s = S();
    auto hit = s.static_sh.find(fn);
    if (hit != s.static_sh.end()) return hit->second;
    static shared_syms y;
    if (!y.loaded) read_shared_syms(y);
    size_t bytes = 0;
    auto it = y.funcs.find(fn - y.bias);
    if (it != y.funcs.end()) {
        const std::string &m = it->second;
        std::string pre = "_ZZ" + (m.compare(0, 2, "_Z") ? std::to_string(m.size()) + m : m.substr(2)) + "E";
        for (auto &o : y.objs) {
            if (o.name.compare(0, pre.size(), pre)) continue;
            bytes += o.bytes;
            /* for the race detector: the object, by its source name (<length><name> after the prefix) */
            const char *q = o.name.c_str() + pre.size();
            int len = atoi(q);
            while (*q >= '0' && *q <= '9') q++;
            std::string nm = "__shared__ " + std::string(q, len > 0 && (size_t)len <= strlen(q) ? (size_t)len : strlen(q));
            s.static_objs[fn].push_back(race_region{(unsigned char *)(o.at + y.bias), o.bytes, 0, nm});
        }
    }
    s.static_sh[fn] = bytes;
    return bytes;
}
template <class K> inline uintptr_t kernel_id(K kernel) {
    if constexpr (std::is_pointer<K>::value) return reinterpret_cast<uintptr_t>(kernel);
    else return 0;
}
/* the dynamic shared bytes a launch of the kernel may ask for: its opt-in, else what 48 KiB leaves */
inline size_t max_dyn_shared(uintptr_t fn) {
    auto it = S().max_dyn.find(fn);
    size_t st = static_shared(fn);
    return it != S().max_dyn.end() ? it->second : st < (size_t)MAX_SHARED ? MAX_SHARED - st : 0;
}

template <class K, class Tup, size_t... I>
inline void call_kernel(K k, Tup &t, std::index_sequence<I...>) { k(std::get<I>(t)...); }

template <class K, class... A>
struct launch_box {
    K k;
    std::tuple<A...> args;
    static void run(void *p) {
        launch_box *b = (launch_box *)p;
        call_kernel(b->k, b->args, std::index_sequence_for<A...>{});
    }
};

/* run a launch's grid, block after block: 0, or -1 with error() set */
inline int run_grid(dim3 grid, dim3 block, size_t shmem, uintptr_t fn, void *obj, void (*run)(void *), uint64_t seed) {
    state &s = S();
    unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
    s.launch_obj = obj; s.launch_run = run;
    s.rng = seed;
    s.nthreads = (int)nt;
    s.block_dim = uint3{block.x, block.y, block.z};
    s.grid_dim = uint3{grid.x, grid.y, grid.z};
    if (s.f.size() < nt) s.f.resize(nt);
    while (s.stacks.size() < nt) {
        char *st = (char *)malloc(STACK);
        if (!st) return fail("out of host memory for fiber stacks");
        s.stacks.push_back(st);
    }
    s.dyn.assign(shmem + 16, 0xFF);
    s.dyn_bytes = shmem;
    static_shared(fn);   /* the kernel's static objects, for the race detector */
    race_setup(fn, shmem);
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                s.block_idx = uint3{x, y, z};
                if (shmem) memset(s.dyn.data(), 0xFF, shmem);   /* NaN bytes: read-before-write shows */
#if INH_SIMT_POISON_STATIC
                {
                    char *lo = __start_inh_simt_shared, *hi = __stop_inh_simt_shared;
                    if (lo && hi > lo) memset(lo, 0xFF, (size_t)(hi - lo));
                }
#endif
                if (run_block()) return -1;
            }
    return 0;
}

/* ---- the queue: launches run at synchronising calls ------------------------------------------
   As on a GPU, a launch only checks its configuration and queues the kernel; the queue (one
   stream, in order) runs at a synchronising call (cuda_emu.h: cudaDeviceSynchronize,
   cudaStreamSynchronize, cudaMemcpy, cudaFree, cublasDestroy), so host code that reads device
   memory without one sees the old bytes, as it would on a GPU. A kernel that fails as it runs
   fails that call, naming the kernel and its launch site; the rest of the queue is dropped (a GPU's
   context is lost then). Unlike a GPU's sticky error, the next call succeeds again, so a test can
   go on after a kernel it made fail. */
inline void at(const char *kernel, const char *file, int line) {
    state &s = S();
    s.site_kernel = kernel; s.site_file = file; s.site_line = line;
}
inline void enqueue(std::function<int()> run, std::string what) { S().queue.push_back(job{std::move(run), std::move(what)}); }
/* run the queue: 0, or -1 with error() (and fault) naming the job that failed. Each call is one
   place where the host waits for the device, counted for waits() */
inline int sync() {
    state &s = S();
    s.waits++;
    while (!s.queue.empty()) {
        job j = std::move(s.queue.front());
        s.queue.pop_front();
        s.failed = 0; s.err[0] = 0;
        if (j.run()) {
            std::string m = j.what + ": " + s.err;
            snprintf(s.fault, sizeof s.fault, "%s", m.c_str());
            snprintf(s.err, sizeof s.err, "%s", m.c_str());
            s.queue.clear();
            if (!s.code) s.code = ERR_LAUNCH_FAILURE;
            return -1;
        }
    }
    return 0;
}
/* how many times the host has waited for the device so far (every synchronising call, whether or
   not work was queued): a test's difference of two counts is the waits of what ran between them */
inline unsigned long long waits() { return S().waits; }

/* kernel<<<grid, block, shmem>>>(args...): the configuration checked now (0, or -1 with error()
   set and the runtime's code for cudaGetLastError()), the run queued (the arguments copied) */
template <class K, class... A>
inline int launch(dim3 grid, dim3 block, size_t shmem, K kernel, A... args) {
    state &s = S();
    s.failed = 0; s.err[0] = 0;
    s.block_idx = uint3{0, 0, 0};
    const char *name = s.site_kernel, *file = s.site_file;
    int line = s.site_line;
    s.site_kernel = s.site_file = nullptr;
    unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
    if (!grid.x || !grid.y || !grid.z || !nt)
        return fail("launch with an empty grid or block (invalid configuration)", ERR_INVALID_CONFIGURATION);
    if (nt > MAX_THREADS || block.z > 64)
        return fail("launch with more than 1024 threads per block (invalid configuration)", ERR_INVALID_CONFIGURATION);
    if (grid.y > 65535 || grid.z > 65535)
        return fail("launch with grid.y or grid.z above 65535 (invalid configuration)", ERR_INVALID_CONFIGURATION);
    uintptr_t fn = kernel_id(kernel);
    if (shmem > max_dyn_shared(fn)) {
        char m[200];
        snprintf(m, sizeof m, "launch with %zu bytes of static and %zu of dynamic shared memory: above %zu without %s (invalid argument)",
                 static_shared(fn), shmem, S().max_dyn.count(fn) ? static_shared(fn) + max_dyn_shared(fn) : (size_t)MAX_SHARED,
                 S().max_dyn.count(fn) ? "a larger opt-in" : "an opt-in (cudaFuncAttributeMaxDynamicSharedMemorySize)");
        return fail(m, ERR_INVALID_VALUE);
    }
    unsigned long long id = s.launches++;
    uint64_t x = base_seed() ^ (id * 0x9e3779b97f4a7c15ull), seed = splitmix(x);
    char where[200] = "", what[400];
    if (file) snprintf(where, sizeof where, " at %s:%d", file, line);
    snprintf(what, sizeof what, "kernel %s (launch #%llu%s; thread order: INH_SIMT_SEED=%llu)", name ? name : "?", id, where,
             (unsigned long long)base_seed());
    launch_box<K, A...> box{kernel, std::tuple<A...>(args...)};
    enqueue([=]() mutable { return run_grid(grid, block, shmem, fn, &box, &launch_box<K, A...>::run, seed); }, what);
    return 0;
}

inline void *dyn_shared() {
    /* 16-byte aligned (vector<unsigned char> data from operator new is) */
    return S().dyn.data();
}

/* device memory bookkeeping */
inline void note_alloc(void *p, size_t n) { S().allocs[(uintptr_t)p] = n; }
inline int note_free(void *p) {
    auto it = S().allocs.find((uintptr_t)p);
    if (it == S().allocs.end()) return -1;
    S().allocs.erase(it);
    return 0;
}
/* 1 if [p, p+bytes) lies inside one device allocation */
inline int inside(const void *p, size_t bytes) {
    auto &m = S().allocs;
    auto it = m.upper_bound((uintptr_t)p);
    if (it == m.begin()) return 0;
    --it;
    return (uintptr_t)p + bytes <= it->first + it->second;
}

template <class T> inline uint64_t bits(T v) { uint64_t u = 0; memcpy(&u, &v, sizeof v); return u; }
template <class T> inline T unbits(uint64_t u) { T v; memcpy(&v, &u, sizeof v); return v; }

} /* namespace inh_simt */

/* ---- built-in variables and intrinsics -------------------------------------------------------- */
#define threadIdx (::inh_simt::me().tid)
#define blockIdx (::inh_simt::S().block_idx)
#define blockDim (::inh_simt::S().block_dim)
#define gridDim (::inh_simt::S().grid_dim)
#define warpSize 32

inline void __syncthreads() { inh_simt::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { inh_simt::warp_op(inh_simt::OP_SYNC, mask, 0, 0, 32); }
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return inh_simt::unbits<T>(inh_simt::warp_op(inh_simt::OP_XOR, mask, inh_simt::bits(v), lane_mask, width));
}
template <class T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return inh_simt::unbits<T>(inh_simt::warp_op(inh_simt::OP_DOWN, mask, inh_simt::bits(v), (int)delta, width));
}
template <class T> inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return inh_simt::unbits<T>(inh_simt::warp_op(inh_simt::OP_IDX, mask, inh_simt::bits(v), src, width));
}
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline unsigned __float_as_uint(float x) { unsigned u; memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; memcpy(&x, &u, 4); return x; }

/* the warp's mma.sync (see mma_warp): every lane of the warp, converged */
inline void inh_simt_mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
    inh_simt::mma_frag f;
    memcpy(f.a, a, sizeof f.a); memcpy(f.b, b, sizeof f.b); memcpy(f.c, c, sizeof f.c);
    inh_simt::warp_op(inh_simt::OP_MMA, 0xffffffffu, (uint64_t)(uintptr_t)&f, 0, 32);
    memcpy(d, f.d, sizeof f.d);
}

#define INH_SIMT_DYN_SHARED(T, name) T *name = (T *)::inh_simt::dyn_shared()

#endif
