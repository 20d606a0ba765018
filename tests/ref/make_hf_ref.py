"""PyTorch reference for tests/test_safetensors.c: a real Hugging Face GPT-2 checkpoint.

Rerun (needs torch; deterministic, rewrites the committed file):
    python3 tests/ref/make_hf_ref.py            # on Debian: /usr/bin/python3

Reads ../shared/data/hf_tiny_gpt2/model.safetensors + config.json (sshleifer/tiny-gpt2: n_embd=2,
n_layer=2, n_head=2, vocab 50257) with json + struct only, runs GPT2LMHeadModel's forward in
float64 (transformers' modeling_gpt2 semantics: Conv1D x @ W + b with W [in, out], gelu_new,
attention scaled by 1/sqrt(head size), tied LM head) on one fixed sequence, and writes
tests/ref/hf_tiny_ref.bin in make_ref.py's bundle format:

    tokens (T+1,)        the sequence; inputs are [:T], targets [1:]
    loss (1,)            mean cross-entropy over the T positions
    lse (T,)             logsumexp of the logits at each position (covers all 50257 logits)
    ids (K,)             a few vocabulary ids: every target plus fixed ones
    logits (T, K)        the logits of those ids at every position
    argmax (T,)          the most likely id at each position

Check mode: python3 tests/ref/make_hf_ref.py --check PATH  (a .safetensors file or a directory)
parses an exported file independently (JSON header, alignment, contiguous offsets, byte sizes),
runs the same forward from it and compares with the committed reference.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SRC = os.path.join(ROOT, "..", "shared", "data", "hf_tiny_gpt2")
OUT = os.path.join(HERE, "hf_tiny_ref.bin")

# "<|endoftext|>The quick brown fox jumps over the lazy dog.\nI'm a test" and a few more
TOKENS = [50256, 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 40, 1101, 257, 1332, 50256]
FIXED_IDS = [0, 1, 11, 100, 1000, 12345, 25000, 40000, 50000, 50255]
DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": (None, 2), "F64": ("<f8", 8)}


def read_safetensors(path, strict=False):
    """name -> float64 tensor; strict also checks what our exporter promises."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    out, spans = {}, []
    for name, e in header.items():
        begin, end = e["data_offsets"]
        nel = math.prod(e["shape"])
        dt, size = DTYPES[e["dtype"]]
        assert end - begin == nel * size, (name, e)
        buf = data[begin:end]
        if e["dtype"] == "BF16":
            u = torch.frombuffer(bytearray(buf), dtype=torch.int16).to(torch.int32) << 16
            t = u.view(torch.float32)
        else:
            t = torch.from_numpy(np.frombuffer(buf, dtype=dt).copy())
        out[name] = t.double().reshape(e["shape"])
        spans.append((begin, end))
    if strict:
        assert meta.get("format") == "pt", meta
        assert (8 + n) % 8 == 0, "data must start 8-aligned"
        assert b"\x00" not in raw[8:8 + n], "header padded with spaces, not NULs"
        spans.sort()
        assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "offsets contiguous"
        assert spans[-1][1] == len(data), "data ends at the last tensor"
        assert all(not k.startswith("transformer.") for k in out), "names without prefix"
        assert all(header[k]["dtype"] == "F32" for k in header)
    return out


def forward(w, cfg, tokens):
    pre = "transformer." if "transformer.wte.weight" in w else ""
    P = lambda k: w[pre + k]
    C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // NH
    x = torch.tensor(tokens[:-1])
    y = torch.tensor(tokens[1:])
    T = len(x)

    def ln(h, k):
        mu = h.mean(-1, keepdim=True)
        var = ((h - mu) ** 2).mean(-1, keepdim=True)
        return (h - mu) / torch.sqrt(var + cfg.get("layer_norm_epsilon", 1e-5)) * P(k + ".weight") + P(k + ".bias")

    def conv1d(h, k):
        return h @ P(k + ".weight") + P(k + ".bias")

    def gelu_new(u):
        return 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))

    h = P("wte.weight")[x] + P("wpe.weight")[:T]
    for l in range(L):
        a = ln(h, f"h.{l}.ln_1")
        q, k, v = conv1d(a, f"h.{l}.attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(T, NH, hs).transpose(0, 1) for t in (q, k, v))
        att = q @ k.transpose(-2, -1) / math.sqrt(hs)
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            att = att / (l + 1)
        att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")).softmax(-1)
        h = h + conv1d((att @ v).transpose(0, 1).reshape(T, C), f"h.{l}.attn.c_proj")
        m = ln(h, f"h.{l}.ln_2")
        h = h + conv1d(gelu_new(conv1d(m, f"h.{l}.mlp.c_fc")), f"h.{l}.mlp.c_proj")
    logits = ln(h, "ln_f") @ P("wte.weight").T
    loss = torch.nn.functional.cross_entropy(logits, y)
    return logits, loss


def bundle(tokens, logits, loss):
    ids = sorted(set(tokens[1:]) | set(FIXED_IDS))
    recs = [
        ("tokens", torch.tensor(tokens, dtype=torch.float64)),
        ("loss", loss.reshape(1)),
        ("lse", torch.logsumexp(logits, dim=-1)),
        ("ids", torch.tensor(ids, dtype=torch.float64)),
        ("logits", logits[:, ids]),
        ("argmax", logits.argmax(-1).double()),
    ]
    out = bytearray(b"INHREF1\0")
    for name, t in recs:
        out += struct.pack("<I", len(name)) + name.encode()
        out += struct.pack("<I", t.dim()) + struct.pack(f"<{t.dim()}i", *t.shape)
        out += struct.pack(f"<{t.numel()}f", *t.reshape(-1).tolist())
    return bytes(out)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        p = sys.argv[2]
        st = os.path.join(p, "model.safetensors") if os.path.isdir(p) else p
        cfg = json.load(open(os.path.join(os.path.dirname(st), "config.json")))
        w = read_safetensors(st, strict=True)
        ref_logits, ref_loss = forward(read_safetensors(os.path.join(SRC, "model.safetensors")),
                                       json.load(open(os.path.join(SRC, "config.json"))), TOKENS)
        logits, loss = forward(w, cfg, TOKENS)
        assert cfg["model_type"] == "gpt2" and cfg["architectures"] == ["GPT2LMHeadModel"]
        assert logits.shape == ref_logits.shape
        d = (logits - ref_logits).abs().max().item()
        print(f"{st}: {len(w)} tensors, header ok; max |logit diff| {d:.3g}, loss {loss.item():.9f} vs {ref_loss.item():.9f}")
        assert d == 0.0, "exported weights must be the original float32 values exactly"
        return
    w = read_safetensors(os.path.join(SRC, "model.safetensors"))
    cfg = json.load(open(os.path.join(SRC, "config.json")))
    logits, loss = forward(w, cfg, TOKENS)
    with open(OUT, "wb") as f:
        f.write(bundle(TOKENS, logits, loss))
    print(f"wrote {OUT}: loss {loss.item():.9f}, logits range [{logits.min().item():.4g}, {logits.max().item():.4g}]")


if __name__ == "__main__":
    main()
