"""tests/cuda/bench_torch.py - the ops bench_cuda.cpp times, in PyTorch on the same card, for the
table of tests/cuda/gpu_check.sh. Same shapes, same FLOP counts, same output lines:
    bench torch_<name> <ms> <TFLOP/s>
fp32 matmuls with TF32 off (ours compute in fp32); bf16 matmuls take bf16 tensors and give bf16
(ours give fp32: slightly more memory traffic). Attention: scaled_dot_product_attention, causal,
in fp32 and bf16 (ours is fp32 only so far). --tiny: small shapes (checks the script, any device)."""
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, iters, sync):
    t = []
    for i in range(iters + 2):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        if i >= 2:
            t.append((time.perf_counter() - t0) * 1e3)
    t.sort()
    return t[len(t) // 2]


def attention(q, k, v):
    """causal attention: scaled_dot_product_attention where torch has it (2.0+), else the plain way"""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def line(name, ms, flop):
    print(f"bench torch_{name} {ms:.3f} {flop / (ms * 1e-3) / 1e12:.1f}", flush=True)


def main():
    tiny = "--tiny" in sys.argv
    iters = 3 if tiny else 10
    dev = "cuda" if torch.cuda.is_available() and not tiny else "cpu"
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    B, T, C, NH, Vp = (2, 40, 64, 2, 256) if tiny else (16, 1024, 768, 12, 50304)
    N, hs = B * T, C // NH
    print(f"bench shapes B={B} T={T} C={C} NH={NH} Vp={Vp} torch {torch.__version__} on {dev}", flush=True)
    with torch.no_grad():
        for dt, tag in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
            for name, c, oc in (("qkv", C, 3 * C), ("fc", C, 4 * C), ("fcproj", 4 * C, C), ("lmhead", C, Vp)):
                x = torch.randn(N, c, device=dev, dtype=dt)
                w = torch.randn(oc, c, device=dev, dtype=dt)
                b = torch.randn(oc, device=dev, dtype=dt)
                d = torch.randn(N, oc, device=dev, dtype=dt)
                f = 2.0 * N * c * oc
                line(f"matmul_fwd_{name}_{tag}", timed(lambda: F.linear(x, w, b), iters, sync), f)
                line(f"matmul_bwd_{name}_{tag}", timed(lambda: (d @ w, d.t() @ x), iters, sync), 2 * f)
                del x, w, b, d
    fa = 2.0 * B * NH * T * T * hs
    for dt, tag in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        q, k, v = (torch.randn(B, NH, T, hs, device=dev, dtype=dt, requires_grad=True) for _ in range(3))
        with torch.no_grad():
            line(f"attention_fwd_{tag}", timed(lambda: attention(q, k, v), iters, sync), fa)
        y = attention(q, k, v)
        g = torch.randn_like(y)
        line(f"attention_bwd_{tag}", timed(lambda: torch.autograd.grad(y, (q, k, v), g, retain_graph=True), iters, sync), 2.5 * fa)


if __name__ == "__main__":
    main()
