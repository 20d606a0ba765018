"""Reference numbers for tests/test_analysis.c (attention analysis, arXiv 2404.08634 sec. 2, app. C).

Rerun (needs torch and numpy; deterministic, rewrites tests/ref/analysis_ref.bin):
    /usr/bin/python3 tests/ref/make_analysis_ref.py

(a) Singular values from numpy.linalg.svd (LAPACK gesdd) of float32 matrices, computed in float64:
    random Gaussian ones, a rank-5 100x100, a graded 40x40 (singular values 1 .. 1e-10), causal
    row-stochastic (softmax) ones, the uniform causal 100x100 and a nearly rank-1 "sink" matrix.
        svd.<name>.a (M,N)   svd.<name>.s (min(M,N))
    For the square row-stochastic ones also k*(tau) and m*(eta) for tau, eta in TAUS:
        svd.<name>.k (3)     svd.<name>.m (3)
(b) The whole analysis of tests/ref/tiny.bin on tiny_tokens.bin: 2 sequences of T=8 with
    --no-shuffle semantics (tokens 0..7 and 8..15, targets shifted by one), float64 from the
    float32 weights. Prefix "an." (tau = eta = 0.9), "an50." (tau = eta = 0.5), "drop1." (layer 1's
    attention skipped, tau = eta = 0.9):
        rank, mass, sink, entropy (L,NH); k, m, k_margin (L,N,NH) per sequence;
        max_rank, avg_mass, sink_layer, entropy_layer, block_influence, angular_distance,
        attn_importance (L); loss (1)
    k_margin: distance of the nearest cumulative energy fraction to tau (a float32 forward may
    flip k* only where this is ~1e-6).

Bundle format as tests/ref/make_ref.py: b"INHREF1\\0", then records
    uint32 name_len, name, uint32 ndim, int32 dims[ndim], float32 values.
"""
import math
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TAUS = [0.5, 0.9, 0.99]
SLACK = 1e-12  # a cumulative fraction within 1e-12 of tau counts as reaching it (as the C code)


# ---- the model (copied from make_ref.py: GPT-2 pre-LN, eps 1e-5, tanh GELU, tied head) ----------

def read_checkpoint(path):
    hdr = np.fromfile(path, "<i4", 256)
    assert hdr[0] == 20240326 and hdr[1] == 3
    maxT, V, L, NH, C, Vp = (int(v) for v in hdr[2:8])
    shapes = [("wte", (Vp, C)), ("wpe", (maxT, C)), ("ln1w", (L, C)), ("ln1b", (L, C)),
              ("qkvw", (L, 3 * C, C)), ("qkvb", (L, 3 * C)), ("attprojw", (L, C, C)), ("attprojb", (L, C)),
              ("ln2w", (L, C)), ("ln2b", (L, C)), ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)),
              ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)), ("lnfw", (C,)), ("lnfb", (C,))]
    flat = np.fromfile(path, "<f4", offset=1024)
    p, off = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        p[name] = torch.from_numpy(flat[off:off + n].astype("f8")).view(shape)
        off += n
    assert off == flat.size
    return p, dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp)


def layernorm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w + b


def gelu_tanh(u):
    return 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))


def forward_traced(p, cfg, x, y, drop_attn=()):
    """Returns loss, x_in (L+1 residual streams, each (B,T,C)), res2 (L of them), att (L of (B,NH,T,T) or None)."""
    L, NH, C, V = cfg["L"], cfg["NH"], cfg["C"], cfg["V"]
    Bn, Tn = x.shape
    hs = C // NH
    h = p["wte"][x] + p["wpe"][:Tn]
    xs, res2s, atts = [h], [], []
    for l in range(L):
        if l in drop_attn:
            atts.append(None)
        else:
            a = layernorm(h, p["ln1w"][l], p["ln1b"][l])
            q, k, v = (a @ p["qkvw"][l].T + p["qkvb"][l]).split(C, dim=-1)
            q, k, v = (t.view(Bn, Tn, NH, hs).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
            att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            atts.append(att)
            o = (att @ v).transpose(1, 2).reshape(Bn, Tn, C)
            h = h + o @ p["attprojw"][l].T + p["attprojb"][l]
        res2s.append(h)
        m = layernorm(h, p["ln2w"][l], p["ln2b"][l])
        u = gelu_tanh(m @ p["fcw"][l].T + p["fcb"][l])
        h = h + u @ p["fcprojw"][l].T + p["fcprojb"][l]
        xs.append(h)
    hf = layernorm(h, p["lnfw"], p["lnfb"])
    logits = (hf @ p["wte"].T)[..., :V]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    return loss, xs, res2s, atts


# ---- the metrics ---------------------------------------------------------------------------------

def energy_rank(e, tau):
    """min k with sum of the k largest e >= tau * total (e >= 0)."""
    e = np.sort(np.clip(np.asarray(e, dtype=np.float64), 0, None))[::-1]
    total = e.sum()
    if total <= 0:
        return 0, 1.0
    frac = np.cumsum(e) / total
    k = int(np.argmax(frac >= tau - SLACK)) + 1
    return k, float(np.min(np.abs(frac - tau)))


def attn_rank(A, tau):
    s = np.linalg.svd(A, compute_uv=False)
    return energy_rank(s ** 2, tau)


def attn_mass(A, eta):
    return energy_rank((A ** 2).sum(axis=0), eta)


def cosine(a, b):
    return (a * b).sum(-1) / torch.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def analysis(p, cfg, x, y, tau, eta, drop_attn=(), span=1):
    L, NH = cfg["L"], cfg["NH"]
    Bn, Tn = x.shape
    loss, xs, res2s, atts = forward_traced(p, cfg, x, y, drop_attn)
    r = {k: np.full((L, NH), np.nan) for k in ("rank", "mass", "sink", "entropy")}
    per = {k: np.full((L, Bn, NH), np.nan) for k in ("k", "m", "k_margin")}
    for l in range(L):
        if atts[l] is None:
            continue
        att = atts[l].numpy()
        for b in range(Bn):
            for hh in range(NH):
                A = att[b, hh]
                per["k"][l, b, hh], per["k_margin"][l, b, hh] = attn_rank(A, tau)
                per["m"][l, b, hh] = attn_mass(A, eta)[0]
        r["rank"][l] = per["k"][l].mean(0)
        r["mass"][l] = per["m"][l].mean(0)
        r["sink"][l] = att[:, :, :, 0].mean(axis=(0, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(att > 0, att * np.log(np.where(att > 0, att, 1.0)), 0.0)
        r["entropy"][l] = (-plogp.sum(-1)).mean(axis=(0, 2))
    out = dict(r)
    out.update(per)
    out["max_rank"] = r["rank"].max(1)
    out["avg_mass"] = r["mass"].mean(1)
    out["sink_layer"] = r["sink"].mean(1)
    out["entropy_layer"] = r["entropy"].mean(1)
    out["block_influence"] = np.array([1 - cosine(xs[l], xs[l + 1]).mean().item() for l in range(L)])
    out["attn_importance"] = np.array([1 - cosine(xs[l], res2s[l]).mean().item() for l in range(L)])
    out["angular_distance"] = np.array(
        [(torch.arccos(cosine(xs[l][:, -1], xs[l + span][:, -1]).clamp(-1, 1)) / math.pi).mean().item()
         if l + span <= L else np.nan for l in range(L)])
    out["loss"] = np.array([loss.item()])
    return out


# ---- matrices for the SVD ------------------------------------------------------------------------

def causal_softmax(T, rng, scale, sink=0.0):
    z = rng.standard_normal((T, T)) * scale
    z[:, 0] += sink
    z[np.triu_indices(T, 1)] = -np.inf
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def svd_matrices():
    rng = np.random.default_rng(2024)
    mats = {}
    mats["gauss_7x5"] = rng.standard_normal((7, 5))
    mats["gauss_5x9"] = rng.standard_normal((5, 9))
    mats["gauss_30"] = rng.standard_normal((30, 30))
    u = rng.standard_normal((100, 5)); v = rng.standard_normal((5, 100))
    mats["rank5_100"] = u @ v
    q1, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    q2, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    mats["graded_40"] = (q1 * np.logspace(0, -10, 40)) @ q2.T
    mats["causal_64"] = causal_softmax(64, rng, 1.0)
    mats["causal_sharp_48"] = causal_softmax(48, rng, 4.0)
    mats["sink_100"] = causal_softmax(100, rng, 0.3, sink=12.0)  # nearly rank 1
    T = 100
    mats["uniform_100"] = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    mats["identity_20"] = np.eye(20)
    return {k: v.astype(np.float32) for k, v in mats.items()}


def write_bundle(path, records):
    with open(path, "wb") as f:
        f.write(b"INHREF1\0")
        for name, a in records:
            a = np.asarray(a, dtype=np.float64).astype("<f4")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", a.ndim))
            f.write(np.asarray(a.shape, dtype="<i4").tobytes() + a.tobytes())


def main():
    torch.set_default_dtype(torch.float64)
    recs = []
    for name, a32 in svd_matrices().items():
        a = a32.astype(np.float64)
        s = np.linalg.svd(a, compute_uv=False)
        recs += [(f"svd.{name}.a", a32), (f"svd.{name}.s", s)]
        if a.shape[0] == a.shape[1] and np.allclose(a.sum(1), 1.0, atol=1e-5):
            recs += [(f"svd.{name}.k", [energy_rank(s ** 2, t)[0] for t in TAUS]),
                     (f"svd.{name}.m", [energy_rank((a ** 2).sum(0), t)[0] for t in TAUS])]
            print(f"{name:16s} k*={[energy_rank(s ** 2, t)[0] for t in TAUS]} "
                  f"m*={[energy_rank((a ** 2).sum(0), t)[0] for t in TAUS]}  s1={s[0]:.6g} s_min={s[-1]:.3g}")
        else:
            print(f"{name:16s} s1={s[0]:.6g} s_min={s[-1]:.3g}")
    p, cfg = read_checkpoint(os.path.join(HERE, "tiny.bin"))
    tok = np.fromfile(os.path.join(HERE, "tiny_tokens.bin"), "<u2", offset=1024).astype(np.int64)
    B, T = 2, 8
    assert tok.size >= B * T + 1
    x = torch.from_numpy(tok[:B * T]).view(B, T)
    y = torch.from_numpy(tok[1:B * T + 1]).view(B, T)
    with torch.no_grad():
        for prefix, tau, drop in (("an.", 0.9, ()), ("an50.", 0.5, ()), ("drop1.", 0.9, (1,))):
            out = analysis(p, cfg, x, y, tau, tau, drop_attn=drop)
            recs += [(prefix + k, v) for k, v in out.items()]
            if prefix == "an.":
                print("layer  max_rank avg_mass sink     block_infl angular  attn_imp entropy")
                for l in range(cfg["L"]):
                    print(f"{l:5d}  {out['max_rank'][l]:8.3f} {out['avg_mass'][l]:8.3f} {out['sink_layer'][l]:.5f}  "
                          f"{out['block_influence'][l]:.6f}   {out['angular_distance'][l]:.5f}  "
                          f"{out['attn_importance'][l]:.6f} {out['entropy_layer'][l]:.5f}")
    path = os.path.join(HERE, "analysis_ref.bin")
    write_bundle(path, recs)
    print(f"wrote {path}: {os.path.getsize(path)} bytes, {len(recs)} records")


if __name__ == "__main__":
    main()
