"""tests/cuda/bench_torch_step.py - the PyTorch peer of `inheritune_cuda bench --device cuda`: one
training step of a GPT-2 of the same shape on the same card, the way a careful PyTorch user runs
it: bf16 autocast (--bf16), scaled_dot_product_attention (causal), fused AdamW, gradient clipping at
1.0; eager, or torch.compile with --compiled. Each mode is its own process: gpu_check.sh runs the
compiled one separately under its own `timeout` (compiling can take minutes; no thread waits on
it). Timed like our bench: warm-up steps (compiling happens there), then the median of --steps
steps, synchronised. Prints
    torch_step <mode> <ms/step> <tokens/s> <peak MB>
last (mode: eager or compiled), for tests/cuda/gpu_check.sh's table. --tiny: a small shape on any
device (checks the script)."""
import argparse
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.fcproj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in self.qkv(self.ln1(x)).split(C, dim=2))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:   # torch < 2.0
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.NH)
            att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=x.device).tril(), float("-inf"))
            y = att.softmax(-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, NH, C, maxT, V):
        super().__init__()
        self.V, Vp = V, (V + 127) // 128 * 128
        self.wte, self.wpe = nn.Embedding(Vp, C), nn.Embedding(maxT, C)
        self.blocks = nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.lnf = nn.LayerNorm(C)
        for p in self.parameters():   # GPT-2's initialisation (the step's cost does not depend on it)
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()
        return F.cross_entropy(logits[..., : self.V].float().reshape(-1, self.V), targets.reshape(-1))


def run(a, dev, compiled):
    torch.manual_seed(1)
    m = GPT(a.layers, a.heads, a.dim, a.seq_max, a.vocab).to(dev)
    fused = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, **fused)
    step_fn = m
    if compiled:
        step_fn = torch.compile(m)
    x = torch.randint(0, a.vocab, (a.batch, a.seq), device=dev)
    y = torch.randint(0, a.vocab, (a.batch, a.seq), device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(2):
        step()
    sync()
    print(f"warm-up (2 steps{', compiling' if compiled else ''}): {time.perf_counter() - t0:.1f} s", flush=True)
    times = []
    for s in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else 0.0
    mode = "compiled" if compiled else "eager"
    print(f"{mode}: loss {loss.item():.4f}, {1e3 * med:.1f} ms/step, {a.batch * a.seq / med:.0f} tokens/s, peak {peak:.0f} MB")
    print(f"torch_step {mode} {1e3 * med:.2f} {a.batch * a.seq / med:.0f} {peak:.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--seq-max", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--compiled", action="store_true", help="the torch.compile'd model instead of eager (run it under a timeout)")
    ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    if a.tiny:
        a.layers, a.heads, a.dim, a.seq_max, a.vocab, a.batch, a.seq, a.steps = 2, 2, 64, 64, 300, 2, 32, 2
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name() if dev.type == 'cuda' else 'cpu'}: L={a.layers} "
          f"NH={a.heads} C={a.dim} V={a.vocab}, B={a.batch} T={a.seq}, {'bf16 autocast' if a.bf16 else 'fp32'}, fused AdamW")
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False   # fp32 stays fp32, as ours
    if a.compiled and not hasattr(torch, "compile"):
        print(f"torch.compile: not in torch {torch.__version__}; no compiled figure", flush=True)
        return 1
    run(a, dev, a.compiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
