"""PyTorch reference numbers for the C model tests (tests/test_*.c).

Rerun (needs torch and numpy; deterministic, rewrites the committed files):
    python3 tests/ref/make_ref.py        # on Debian: /usr/bin/python3

Builds a tiny random GPT-2 (V=100, Vp=128, maxT=16, L=3, NH=2, C=16; batch B=2, T=8),
computes everything in float64 from the float32-rounded weights, and writes to tests/ref/:

    tiny.bin, tiny_nobias.bin, tiny_layerscale.bin   llm.c checkpoints (magic 20240326, v3)
    tiny_tokens.bin                                  llm.c token shard (magic 20240520), 17 ids
    tiny_ref.bin, tiny_nobias_ref.bin, tiny_layerscale_ref.bin   tensor bundles

Bundle format (little-endian): b"INHREF1\\0", then records until EOF, each
    uint32 name_len, name bytes, uint32 ndim, int32 dims[ndim], float32 values[prod(dims)].
Every bundle holds tokens (17,), logits (B,T,V), loss (1,), grad.<param> (checkpoint shapes).
tiny_ref.bin adds losses_decay_all (10,), losses_decay_2d (10,),
params_after_10_decay_all.<param>, params_after_10_decay_2d.<param>, loss_drop_attn_2, logits_drop_attn_2, loss_drop_attn_0_2.
"""
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
V, maxT, L, NH, C, B, T = 100, 16, 3, 2, 16, 2, 8
Vp = (V + 127) // 128 * 128
SEED = 1337

# Checkpoint order and shapes (llm.c train_gpt2.c layout).
PARAMS = [
    ("wte", (Vp, C)), ("wpe", (maxT, C)),
    ("ln1w", (L, C)), ("ln1b", (L, C)),
    ("qkvw", (L, 3 * C, C)), ("qkvb", (L, 3 * C)),
    ("attprojw", (L, C, C)), ("attprojb", (L, C)),
    ("ln2w", (L, C)), ("ln2b", (L, C)),
    ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)),
    ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)),
    ("lnfw", (C,)), ("lnfb", (C,)),
]
BIASES = {"ln1b", "qkvb", "attprojb", "ln2b", "fcb", "fcprojb", "lnfb"}
LN_WEIGHTS = {"ln1w", "ln2w", "lnfw"}
MATRICES = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}  # nanoGPT's "2-D" decay group


def make_weights_and_tokens():
    """Random float64 weights holding exactly float32-representable values, plus B*T+1 tokens."""
    g = torch.Generator().manual_seed(SEED)
    params = {}
    for name, shape in PARAMS:
        r = torch.randn(shape, generator=g, dtype=torch.float64)
        if name in BIASES:
            p = 0.05 * r
        elif name in LN_WEIGHTS:
            p = 1.0 + 0.1 * r
        else:
            p = 0.1 * r
        if name == "wte":
            p[V:] = 0.0  # padding rows are never looked up and never produce a real logit
        params[name] = p.float().double()  # the C side only ever sees the float32 values
    tokens = torch.randint(0, V, (B * T + 1,), generator=g)
    return params, tokens


def layernorm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased, as torch.nn.LayerNorm
    return (x - mu) / torch.sqrt(var + 1e-5) * w + b


def gelu_tanh(u):
    return 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))


def attention(a, w, b, l, layer_scale):
    # a is (B,T,C), w is (3C,C), b is (3C,); returns (B,T,C) before the output projection
    Bn, Tn, _ = a.shape
    hs = C // NH
    q, k, v = (a @ w.T + b).split(C, dim=-1)
    q, k, v = (t.view(Bn, Tn, NH, hs).transpose(1, 2) for t in (q, k, v))  # (B,NH,T,hs)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
    if layer_scale:
        att = att / (l + 1)  # Hugging Face's scale_attn_by_inverse_layer_idx
    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
    return (att @ v).transpose(1, 2).reshape(Bn, Tn, C)


def forward(p, x, y, layer_scale=False, drop_attn=()):
    """p maps names to tensors (biases may be zero constants); returns (logits[..., :V], loss)."""
    Tn = x.shape[1]
    h = p["wte"][x] + p["wpe"][:Tn]
    for l in range(L):
        if l not in drop_attn:
            a = layernorm(h, p["ln1w"][l], p["ln1b"][l])
            att = attention(a, p["qkvw"][l], p["qkvb"][l], l, layer_scale)
            h = h + att @ p["attprojw"][l].T + p["attprojb"][l]
        m = layernorm(h, p["ln2w"][l], p["ln2b"][l])
        u = gelu_tanh(m @ p["fcw"][l].T + p["fcb"][l])
        h = h + u @ p["fcprojw"][l].T + p["fcprojb"][l]
    hf = layernorm(h, p["lnfw"], p["lnfb"])
    logits = (hf @ p["wte"].T)[..., :V]  # tied head; padded columns never enter the softmax
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    return logits, loss


def trainable(weights, bias):
    """Fresh leaf tensors; without bias the bias tensors are zero constants (no grad)."""
    p = {}
    for name, _ in PARAMS:
        if name in BIASES and not bias:
            p[name] = torch.zeros_like(weights[name])
        else:
            p[name] = weights[name].clone().requires_grad_(True)
    return p


def adamw_losses(weights, x, y, decay_2d_only, steps=10):
    p = trainable(weights, bias=True)
    decay = [p[n] for n, _ in PARAMS if not decay_2d_only or n in MATRICES]
    no_decay = [p[n] for n, _ in PARAMS if decay_2d_only and n not in MATRICES]
    groups = [{"params": decay, "weight_decay": 0.01}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        _, loss = forward(p, x, y)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    return torch.tensor(losses), {n: t.detach() for n, t in p.items()}


def write_checkpoint(path, weights):
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, 3, maxT, V, L, NH, C, Vp]
    with open(path, "wb") as f:
        f.write(header.tobytes())
        for name, shape in PARAMS:
            assert tuple(weights[name].shape) == shape
            f.write(weights[name].numpy().astype("<f4").tobytes())


def write_tokens(path, tokens):
    header = np.zeros(256, dtype="<i4")
    header[:3] = [20240520, 1, len(tokens)]
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.numpy().astype("<u2").tobytes())


def write_bundle(path, records):
    with open(path, "wb") as f:
        f.write(b"INHREF1\0")
        for name, t in records:
            a = t.detach().double().numpy().astype("<f4")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", a.ndim))
            f.write(np.asarray(a.shape, dtype="<i4").tobytes() + a.tobytes())


def read_bundle(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"INHREF1\0"
    out, off = {}, 8
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off); off += 4
        name = data[off:off + n].decode(); off += n
        (nd,) = struct.unpack_from("<I", data, off); off += 4
        dims = tuple(np.frombuffer(data, "<i4", nd, off)); off += 4 * nd
        cnt = int(np.prod(dims)) if nd else 1
        out[name] = np.frombuffer(data, "<f4", cnt, off).reshape(dims); off += 4 * cnt
    return out


def base_records(weights, tokens, x, y, bias, layer_scale):
    p = trainable(weights, bias)
    logits, loss = forward(p, x, y, layer_scale=layer_scale)
    loss.backward()
    recs = [("tokens", tokens.double()), ("logits", logits), ("loss", loss.reshape(1))]
    for name, _ in PARAMS:
        g = p[name].grad if p[name].requires_grad else torch.zeros_like(p[name])
        recs.append(("grad." + name, g))
    return recs, loss.item()


def main():
    torch.set_default_dtype(torch.float64)
    weights, tokens = make_weights_and_tokens()
    x, y = tokens[:-1].view(B, T), tokens[1:].view(B, T)
    nobias = {n: (torch.zeros_like(w) if n in BIASES else w) for n, w in weights.items()}
    variants = [("tiny", weights, True, False), ("tiny_nobias", nobias, False, False),
                ("tiny_layerscale", weights, True, True)]
    write_tokens(os.path.join(HERE, "tiny_tokens.bin"), tokens)
    for variant, w, bias, layer_scale in variants:
        write_checkpoint(os.path.join(HERE, variant + ".bin"), w)
        recs, loss = base_records(w, tokens, x, y, bias, layer_scale)
        extra = ""
        if variant == "tiny":
            losses_all, after = adamw_losses(w, x, y, decay_2d_only=False)
            losses_2d, after_2d = adamw_losses(w, x, y, decay_2d_only=True)
            recs += [("losses_decay_all", losses_all), ("losses_decay_2d", losses_2d)]
            recs += [("params_after_10_decay_all." + n, after[n]) for n, _ in PARAMS]
            recs += [("params_after_10_decay_2d." + n, after_2d[n]) for n, _ in PARAMS]
            with torch.no_grad():
                lg2, l2 = forward(w, x, y, drop_attn=(2,))
                _, l02 = forward(w, x, y, drop_attn=(0, 2))
            recs += [("loss_drop_attn_2", l2.reshape(1)), ("logits_drop_attn_2", lg2),
                     ("loss_drop_attn_0_2", l02.reshape(1))]
            extra = (f"  adamw(all) {losses_all[0]:.6f}->{losses_all[-1]:.6f}"
                     f"  adamw(2d) {losses_2d[0]:.6f}->{losses_2d[-1]:.6f}"
                     f"  drop2 {l2.item():.6f}  drop0,2 {l02.item():.6f}")
        ref = os.path.join(HERE, variant + "_ref.bin")
        write_bundle(ref, recs)
        print(f"{variant:16s} loss {loss:.6f}  ckpt {os.path.getsize(os.path.join(HERE, variant + '.bin'))} B"
              f"  ref {os.path.getsize(ref)} B ({len(recs)} records){extra}")
    verify(weights, tokens, x, y)


def verify(weights, tokens, x, y):
    """Read the files back and cross-check the hand-written pieces against torch's own."""
    hdr = np.fromfile(os.path.join(HERE, "tiny.bin"), "<i4", 256)
    assert list(hdr[:8]) == [20240326, 3, maxT, V, L, NH, C, Vp] and not hdr[8:].any()
    flat = np.fromfile(os.path.join(HERE, "tiny.bin"), "<f4", offset=1024)
    assert flat.size == sum(int(np.prod(s)) for _, s in PARAMS)
    assert np.array_equal(flat[:Vp * C].reshape(Vp, C), weights["wte"].numpy().astype("f4"))
    tok = np.fromfile(os.path.join(HERE, "tiny_tokens.bin"), "<u2", offset=1024)
    assert np.array_equal(tok, tokens.numpy())
    ref = read_bundle(os.path.join(HERE, "tiny_ref.bin"))
    assert ref["grad.wte"].shape == (Vp, C) and not ref["grad.wte"][V:].any()
    assert ref["logits"].shape == (B, T, V) and np.array_equal(ref["tokens"], tokens.numpy())
    u = torch.linspace(-6, 6, 101)
    assert torch.allclose(gelu_tanh(u), F.gelu(u, approximate="tanh"), atol=1e-14)
    a = torch.randn(B, T, C)
    assert torch.allclose(layernorm(a, weights["lnfw"], weights["lnfb"]),
                          F.layer_norm(a, (C,), weights["lnfw"], weights["lnfb"], 1e-5), atol=1e-12)
    # the bundle's loss agrees with a recomputation from the float32 checkpoint bytes
    loaded, off = {}, 0
    for name, shape in PARAMS:
        n = int(np.prod(shape))
        loaded[name] = torch.from_numpy(flat[off:off + n].astype("f8")).view(shape); off += n
    _, loss = forward(loaded, x, y)
    assert abs(float(ref["loss"][0]) - loss.item()) < 1e-6
    nb = read_bundle(os.path.join(HERE, "tiny_nobias_ref.bin"))
    assert not any(nb["grad." + n].any() for n in BIASES)
    print("verified: headers, tokens, bundles read back; gelu/layernorm match torch's")


if __name__ == "__main__":
    main()
