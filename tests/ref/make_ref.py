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

Attention shortcuts (Verma & Pilanci; the reading of issue 13), written here independently of the
C kernels: the keys are all n*T (layer, position) pairs with a mask, not a row per query.
    tiny_sc_causal.bin, tiny_sc_depth.bin     the tiny model + shortcuts on layers 0,1 (header slot 8
                                              bit 2, slot 9 variant 1|2, slot 16 the layer bits)
    tiny_sc_subset.bin                        causal, layer 1 only
    tiny_sc_*_ref.bin   as above plus losses_adamw (10,) and params_after_10.<param> (2-D decay
                        grouping, the shortcut matrices included) and loss_drop_shortcut (1,)
The plain tensors are tiny.bin's; the shortcut tensors come from a second generator, so the
plain files stay as they were.
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


SC_SEED = 2024


def sc_params(n):
    return [("sc_lnw", (n, C)), ("sc_lnb", (n, C)), ("sc_fc1w", (n, C, C)), ("sc_fc1b", (n, C)),
            ("sc_fc2w", (n, C, C)), ("sc_fc2b", (n, C)), ("sc_lnqw", (C,)), ("sc_lnqb", (C,)),
            ("sc_qw", (C, C)), ("sc_qb", (C,)), ("sc_kvw", (2 * C, C)), ("sc_kvb", (2 * C,)),
            ("sc_projw", (C, C)), ("sc_projb", (C,))]


SC_BIASES = {"sc_lnb", "sc_fc1b", "sc_fc2b", "sc_lnqb", "sc_qb", "sc_kvb", "sc_projb"}
SC_LN_WEIGHTS = {"sc_lnw", "sc_lnqw"}
SC_MATRICES = {"sc_fc1w", "sc_fc2w", "sc_qw", "sc_kvw", "sc_projw"}


def make_sc_weights(n):
    g = torch.Generator().manual_seed(SC_SEED + n)
    out = {}
    for name, shape in sc_params(n):
        r = torch.randn(shape, generator=g, dtype=torch.float64)
        p = 0.05 * r if name in SC_BIASES else 1.0 + 0.1 * r if name in SC_LN_WEIGHTS else 0.1 * r
        out[name] = p.float().double()
    return out


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


def shortcut(p, outs, h, layers, variant):
    """h_{L-1} + the shortcut sub-layer. outs[l] is block l's output (B,T,C)."""
    Bn, Tn, _ = h.shape
    n, hs = len(layers), C // NH
    feats = []
    for i, l in enumerate(layers):
        z = layernorm(outs[l], p["sc_lnw"][i], p["sc_lnb"][i])
        z = gelu_tanh(z @ p["sc_fc1w"][i].T + p["sc_fc1b"][i])
        feats.append(z @ p["sc_fc2w"][i].T + p["sc_fc2b"][i])
    kv = torch.stack(feats, dim=1) @ p["sc_kvw"].T + p["sc_kvb"]           # (B, n, T, 2C)
    k, v = kv.split(C, dim=-1)
    k = k.reshape(Bn, n * Tn, NH, hs).transpose(1, 2)                       # (B,NH,nT,hs), key i*T+s
    v = v.reshape(Bn, n * Tn, NH, hs).transpose(1, 2)
    q = layernorm(h, p["sc_lnqw"], p["sc_lnqb"]) @ p["sc_qw"].T + p["sc_qb"]
    q = q.view(Bn, Tn, NH, hs).transpose(1, 2)                              # (B,NH,T,hs)
    s_of_key = torch.arange(n * Tn) % Tn
    t_of_query = torch.arange(Tn)[:, None]
    allowed = s_of_key[None, :] <= t_of_query if variant == 1 else s_of_key[None, :] == t_of_query
    att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~allowed, float("-inf")).softmax(-1)
    y = (att @ v).transpose(1, 2).reshape(Bn, Tn, C)
    return h + y @ p["sc_projw"].T + p["sc_projb"]


def forward(p, x, y, layer_scale=False, drop_attn=(), sc=None):
    """p maps names to tensors (biases may be zero constants); returns (logits[..., :V], loss).
    sc = (selected layers, variant 1 causal | 2 depth) adds the shortcut sub-layer."""
    Tn = x.shape[1]
    h = p["wte"][x] + p["wpe"][:Tn]
    outs = []
    for l in range(L):
        if l not in drop_attn:
            a = layernorm(h, p["ln1w"][l], p["ln1b"][l])
            att = attention(a, p["qkvw"][l], p["qkvb"][l], l, layer_scale)
            h = h + att @ p["attprojw"][l].T + p["attprojb"][l]
        m = layernorm(h, p["ln2w"][l], p["ln2b"][l])
        u = gelu_tanh(m @ p["fcw"][l].T + p["fcb"][l])
        h = h + u @ p["fcprojw"][l].T + p["fcprojb"][l]
        outs.append(h)
    if sc is not None:
        h = shortcut(p, outs, h, sc[0], sc[1])
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


def write_checkpoint(path, weights, sc=None):
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, 3, maxT, V, L, NH, C, Vp]
    names = PARAMS
    if sc is not None:  # slot 8 bit 2: shortcuts; slot 9 the variant; slots 16.. the layer bits
        header[8], header[9] = 4, sc[1]
        for l in sc[0]:
            header[16 + l // 32] |= 1 << (l % 32)
        names = PARAMS + sc_params(len(sc[0]))
    with open(path, "wb") as f:
        f.write(header.tobytes())
        for name, shape in names:
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
    for variant, layers, kind in [("tiny_sc_causal", [0, 1], 1), ("tiny_sc_depth", [0, 1], 2), ("tiny_sc_subset", [1], 1)]:
        w = dict(weights)
        w.update(make_sc_weights(len(layers)))
        names = PARAMS + sc_params(len(layers))
        write_checkpoint(os.path.join(HERE, variant + ".bin"), w, sc=(layers, kind))
        p = {n: w[n].clone().requires_grad_(True) for n, _ in names}
        logits, loss = forward(p, x, y, sc=(layers, kind))
        loss.backward()
        recs = [("tokens", tokens.double()), ("logits", logits), ("loss", loss.reshape(1))]
        recs += [("grad." + n, p[n].grad) for n, _ in names]
        with torch.no_grad():
            _, ld = forward(w, x, y)
        recs.append(("loss_drop_shortcut", ld.reshape(1)))
        # 10 AdamW steps, nanoGPT grouping: every matrix decays, vectors do not
        p = {n: w[n].clone().requires_grad_(True) for n, _ in names}
        mats = MATRICES | SC_MATRICES
        opt = torch.optim.AdamW([{"params": [p[n] for n, _ in names if n in mats], "weight_decay": 0.01},
                                 {"params": [p[n] for n, _ in names if n not in mats], "weight_decay": 0.0}],
                                lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
        losses = []
        for _ in range(10):
            opt.zero_grad(set_to_none=True)
            _, l10 = forward(p, x, y, sc=(layers, kind))
            l10.backward()
            losses.append(l10.item())
            opt.step()
        recs.append(("losses_adamw", torch.tensor(losses)))
        recs += [("params_after_10." + n, p[n].detach()) for n, _ in names]
        ref = os.path.join(HERE, variant + "_ref.bin")
        write_bundle(ref, recs)
        print(f"{variant:16s} loss {loss.item():.6f}  ckpt {os.path.getsize(os.path.join(HERE, variant + '.bin'))} B"
              f"  ref {os.path.getsize(ref)} B ({len(recs)} records)  without shortcut {ld.item():.6f}"
              f"  adamw {losses[0]:.6f}->{losses[-1]:.6f}")
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
