"""GPT-2 exactly as inheritune.h defines it, in PyTorch, and the files the C tool reads and writes.

- The model: pre-LayerNorm blocks (eps 1e-5), tanh GELU, tied LM head over Vp padded rows with the
  loss over the real V only; options: no biases (header slot 8 bit 0), attention logits also scaled
  by 1/(layer+1) (bit 1), attention shortcuts (bit 2; issue 13: feature maps of the selected layers
  attended to by a sub-layer at the end of the last block).
- Parameters are held in llm.c's layout, one tensor per llm.c tensor ((L, 3C, C) for qkvw, ...), so
  reading and writing a checkpoint is a copy, and a layer is a slice.
- llm.c model files (256 int32 header, fp32 tensors), llm.c token shards (256 int32 header, uint16
  ids) and inheritune's training-state file (256 int32 header, params, AdamW m and v) are read and
  written with struct and numpy only.
"""
import math
import os
import re
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_MAGIC, MODEL_VERSION = 20240326, 3
SHARD_MAGIC = 20240520
STATE_MAGIC = 20241123
FLAG_NO_BIAS, FLAG_LAYER_SCALE, FLAG_SHORTCUTS = 1, 2, 4
SHORTCUT_VARIANTS = {1: "causal", 2: "depth"}

# llm.c's 16 tensors in file order; (shape as a function of the config, decayed by default, is a bias)
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
SC_NAMES = ["sc_lnw", "sc_lnb", "sc_fc1w", "sc_fc1b", "sc_fc2w", "sc_fc2b", "sc_lnqw", "sc_lnqb",
            "sc_qw", "sc_qb", "sc_kvw", "sc_kvb", "sc_projw", "sc_projb"]
DECAYED = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw",          # inh_param_is_2d
           "sc_fc1w", "sc_fc2w", "sc_qw", "sc_kvw", "sc_projw"}          # issue 13: as the other 2-D weights
BIASES = {"ln1b", "qkvb", "attprojb", "ln2b", "fcb", "fcprojb", "lnfb",  # inh_param_is_bias
          "sc_lnb", "sc_fc1b", "sc_fc2b", "sc_lnqb", "sc_qb", "sc_kvb", "sc_projb"}
ONES = {"ln1w", "ln2w", "lnfw", "sc_lnw", "sc_lnqw"}                     # LayerNorm weights start at 1


class Config:
    def __init__(self, maxT, V, L, NH, C, Vp=None, bias=True, layer_scale=False, shortcuts=0, sc_layers=None):
        self.maxT, self.V, self.L, self.NH, self.C = maxT, V, L, NH, C
        self.Vp = Vp if Vp else (V + 127) // 128 * 128
        self.bias, self.layer_scale = bool(bias), bool(layer_scale)
        self.shortcuts = shortcuts                     # 0 none, 1 causal, 2 depth
        if shortcuts and sc_layers is None:
            sc_layers = list(range(L - 1))             # default: every intermediate layer
        self.sc_layers = sorted(sc_layers) if shortcuts else []

    def check(self, what):
        if min(self.maxT, self.V, self.L, self.NH, self.C, self.Vp) <= 0 or self.Vp < self.V:
            raise ValueError(f"{what}: bad model sizes maxT={self.maxT} V={self.V} Vp={self.Vp} L={self.L} NH={self.NH} C={self.C}")
        if self.C % self.NH:
            raise ValueError(f"{what}: {self.NH} heads do not divide the width C={self.C}")
        if self.shortcuts:
            if self.shortcuts not in SHORTCUT_VARIANTS:
                raise ValueError(f"{what}: unknown shortcut variant {self.shortcuts} (1 causal, 2 depth)")
            if self.L < 2 or not self.sc_layers or any(l < 0 or l > self.L - 2 for l in self.sc_layers):
                raise ValueError(f"{what}: shortcut layers {self.sc_layers} must be a non-empty subset of 0..L-2 (L={self.L})")

    def flags(self):
        return (0 if self.bias else FLAG_NO_BIAS) | (FLAG_LAYER_SCALE if self.layer_scale else 0) | \
               (FLAG_SHORTCUTS if self.shortcuts else 0)

    def shapes(self):
        """(name, shape) of every tensor in file order."""
        Vp, T, L, C = self.Vp, self.maxT, self.L, self.C
        s = [("wte", (Vp, C)), ("wpe", (T, C)), ("ln1w", (L, C)), ("ln1b", (L, C)), ("qkvw", (L, 3 * C, C)),
             ("qkvb", (L, 3 * C)), ("attprojw", (L, C, C)), ("attprojb", (L, C)), ("ln2w", (L, C)), ("ln2b", (L, C)),
             ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)), ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)),
             ("lnfw", (C,)), ("lnfb", (C,))]
        if self.shortcuts:
            n = len(self.sc_layers)
            s += [("sc_lnw", (n, C)), ("sc_lnb", (n, C)), ("sc_fc1w", (n, C, C)), ("sc_fc1b", (n, C)),
                  ("sc_fc2w", (n, C, C)), ("sc_fc2b", (n, C)), ("sc_lnqw", (C,)), ("sc_lnqb", (C,)),
                  ("sc_qw", (C, C)), ("sc_qb", (C,)), ("sc_kvw", (2 * C, C)), ("sc_kvb", (2 * C,)),
                  ("sc_projw", (C, C)), ("sc_projb", (C,))]
        return s

    def header(self, magic=MODEL_MAGIC, version=MODEL_VERSION):
        h = [0] * 256
        h[:9] = [magic, version, self.maxT, self.V, self.L, self.NH, self.C, self.Vp, self.flags()]
        if self.shortcuts:
            h[9] = self.shortcuts
            for l in self.sc_layers:
                h[16 + l // 32] |= 1 << (l % 32)
        return h

    def describe(self):
        extra = ("" if self.bias else " no-bias") + (" layer-scale" if self.layer_scale else "")
        if self.shortcuts:
            extra += f" shortcuts={SHORTCUT_VARIANTS[self.shortcuts]}:{','.join(map(str, self.sc_layers))}"
        return f"L={self.L} NH={self.NH} C={self.C} maxT={self.maxT} V={self.V}{extra}"


def config_from_header(h, path):
    """Config from the 256 ints of a model (or training-state) header; the caller checks magic/version."""
    flags = h[8]
    if flags & ~(FLAG_NO_BIAS | FLAG_LAYER_SCALE | FLAG_SHORTCUTS):
        raise ValueError(f"{path}: unknown flags 0x{flags:x} in header slot 8")
    sc, layers = 0, None
    if flags & FLAG_SHORTCUTS:
        sc = h[9]
        layers = [l for l in range(min(h[4], 1024)) if (h[16 + l // 32] >> (l % 32)) & 1]
    c = Config(h[2], h[3], h[4], h[5], h[6], Vp=h[7], bias=not (flags & FLAG_NO_BIAS),
               layer_scale=bool(flags & FLAG_LAYER_SCALE), shortcuts=sc, sc_layers=layers)
    c.check(path)
    return c


# --- the RNG of inheritune.h (splitmix64-seeded xorshift64*), bit for bit ---------------------
M64 = (1 << 64) - 1


class Rng:
    def __init__(self, seed=None, state=None):
        if state is not None:
            self.s = state
            return
        z = (seed + 0x9E3779B97F4A7C15) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        self.s = (z ^ (z >> 31)) | 1

    def u64(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & M64
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & M64


def _libm():
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for f in ("logf", "cosf", "sqrtf"):
        getattr(lib, f).restype = ctypes.c_float
        getattr(lib, f).argtypes = [ctypes.c_float]
    return lib


def _normals_exact(rng, n, std):
    """n values std * inh_rng_normal(): the C library's float Box-Muller through the same libm."""
    lib, f32 = _libm(), np.float32
    out = np.empty(n, dtype=np.float32)
    two_pi, m2, std = f32(6.28318530717958647692), f32(-2.0), f32(std)
    for i in range(n):
        u1 = f32(rng.u64() >> 40) / f32(16777216.0)
        u2 = f32(rng.u64() >> 40) / f32(16777216.0)
        if u1 < f32(1e-12):
            u1 = f32(1e-12)
        r = f32(lib.sqrtf(float(m2 * f32(lib.logf(float(u1))))))
        out[i] = std * (r * f32(lib.cosf(float(two_pi * u2))))
    return out


def init_params(cfg, seed, exact_limit=1_000_000):
    """GPT-2 initialisation as inh_model_init: N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)),
    LayerNorm weights 1, biases and the Vp-V padding rows 0. Up to exact_limit parameters the values
    are the C tool's bit for bit (its RNG stream, its libm); larger models draw from torch's RNG
    (same distribution, other numbers: make the init with the C tool if it must match)."""
    shapes = cfg.shapes()
    total = sum(int(np.prod(s)) for _, s in shapes)
    exact = total <= exact_limit
    rng, gen = Rng(seed), torch.Generator().manual_seed(seed)
    resid = np.float32(0.02) / np.sqrt(np.float32(2.0) * np.float32(cfg.L), dtype=np.float32)
    p = {}
    for name, shape in shapes:
        n = int(np.prod(shape))
        if name in BIASES:
            a = np.zeros(n, np.float32)
        elif name in ONES:
            a = np.ones(n, np.float32)
        else:
            std = resid if name in ("attprojw", "fcprojw", "sc_projw") else np.float32(0.02)
            real = cfg.V * cfg.C if name == "wte" else n
            a = np.zeros(n, np.float32)
            if exact:
                a[:real] = _normals_exact(rng, real, std)
            else:
                a[:real] = (torch.randn(real, generator=gen) * float(std)).numpy()
        p[name] = torch.from_numpy(a.reshape(shape))
    return p


# --- files ------------------------------------------------------------------------------------
def _read_header(f, path, what):
    raw = f.read(1024)
    if len(raw) != 1024:
        raise ValueError(f"{path}: too short for {what} header (1024 bytes; truncated?)")
    return list(struct.unpack("<256i", raw))


def load_model(path):
    """(Config, {name: fp32 tensor}) from an llm.c model file."""
    with open(path, "rb") as f:
        h = _read_header(f, path, "a model")
        if h[0] != MODEL_MAGIC:
            raise ValueError(f"{path}: not an llm.c model file (magic {h[0]}, want {MODEL_MAGIC})")
        if h[1] != MODEL_VERSION:
            raise ValueError(f"{path}: model file version {h[1]} is not supported (want {MODEL_VERSION}, fp32)")
        cfg = config_from_header(h, path)
        data = np.frombuffer(f.read(), dtype="<f4")
    need = sum(int(np.prod(s)) for _, s in cfg.shapes())
    if data.size != need:
        raise ValueError(f"{path}: file has {data.size} parameters after its header, the header needs {need}")
    return cfg, _split(cfg, data)


def _split(cfg, flat):
    p, off = {}, 0
    for name, shape in cfg.shapes():
        n = int(np.prod(shape))
        p[name] = torch.from_numpy(np.array(flat[off:off + n], dtype=np.float32).reshape(shape))
        off += n
    return p


def _flat(cfg, tensors):
    return np.concatenate([tensors[n].detach().to("cpu", torch.float32).reshape(-1).numpy() for n, _ in cfg.shapes()])


def atomic_write(path, chunks):
    """Write the byte chunks to a temporary file beside path, flush, fsync, rename (as inh__wopen/
    inh__wclose): a crash leaves the previous file intact."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _check_finite(path, flat):
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        raise ValueError(f"{path}: not saved: parameter {bad[0]} is {flat[bad[0]]} (the model has diverged)")


def save_model(path, cfg, tensors):
    flat = _flat(cfg, tensors)
    _check_finite(path, flat)
    atomic_write(path, [struct.pack("<256i", *cfg.header()), flat.astype("<f4").tobytes()])


def load_shard(path, V=None):
    """uint16 token ids of an llm.c shard (numpy, memory-mapped)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        h = _read_header(f, path, "a token shard")
    if h[0] != SHARD_MAGIC:
        raise ValueError(f"{path}: not an llm.c token shard (magic {h[0]}, want {SHARD_MAGIC})")
    if h[1] != 1:
        raise ValueError(f"{path}: token shard version {h[1]} is not supported (want 1)")
    n = h[2] & 0xFFFFFFFF
    if size != 1024 + 2 * n:
        raise ValueError(f"{path}: header says {n} tokens ({1024 + 2 * n} bytes) but the file has {size} bytes")
    tok = np.memmap(path, dtype="<u2", mode="r", offset=1024, shape=(n,)) if n else np.zeros(0, "<u2")
    if V is not None and n and int(tok.max()) >= V:
        i = int(np.flatnonzero(tok >= V)[0])
        raise ValueError(f"{path}: token {int(tok[i])} at index {i} is outside the model's vocabulary (V={V})")
    return tok


def expand_shards(spec):
    """The files of --data / --val as inh_data_open reads them: a file, or a comma list of files and
    globs (`*` and `?` in the file name only; a glob's matches sorted by name)."""
    if os.path.isfile(spec) or ("," not in spec and "*" not in spec and "?" not in spec):
        return [spec]
    files = []
    for item in spec.split(","):
        if not item:
            raise ValueError(f"{spec}: an empty item in the list of shards")
        if "*" not in item and "?" not in item:
            files.append(item)
            continue
        cut = item.rfind("/") + 1
        d, pat = item[:cut], item[cut:]
        if "*" in d or "?" in d:
            raise ValueError(f"{item}: a glob matches file names only, not directories")
        rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat) + r"\Z", re.S)
        try:
            names = os.listdir(d.rstrip("/") or ("/" if d else "."))
        except OSError:
            names = []
        names = sorted((n for n in names if rx.match(n)), key=lambda n: n.encode())
        if not names:
            raise ValueError(f"{item}: no file matches")
        files += [d + n for n in names]
    if len(set(files)) != len(files):
        raise ValueError(f"{spec}: a shard is in the list twice")
    return files


def shard_rhash(tok):
    """inh_shard_hash of a whole shard: (sum of (id + 1) * mix(i)) ^ n mod 2^64, mix(i) the splitmix64
    finaliser of (i + 1) * golden; in pieces of 1M ids."""
    n, total, u = len(tok), 0, np.uint64
    with np.errstate(over="ignore"):
        for a in range(0, n, 1 << 20):
            t = np.asarray(tok[a:a + (1 << 20)]).astype(np.uint64)
            z = np.arange(a + 1, a + 1 + len(t), dtype=np.uint64) * u(0x9E3779B97F4A7C15)
            z = (z ^ (z >> u(30))) * u(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> u(27))) * u(0x94D049BB133111EB)
            z ^= z >> u(31)
            total = (total + int(np.sum((t + u(1)) * z, dtype=np.uint64))) & 0xFFFFFFFFFFFFFFFF
    return total ^ n


def load_shards(spec, V=None):
    """[(path, ids)] of --data / --val (see expand_shards), each memory-mapped."""
    return [(f, load_shard(f, V)) for f in expand_shards(spec)]


# Training state, inheritune.h's format (inh_trainer_save_state): 256 int32 header, then params and,
# once the optimizer has stepped, AdamW m and v. [0] magic [1] version 1 or 2 [2..8] maxT V L NH C Vp flags
# [9] step [10] B [11] T [12] steps [13] accum [14] warmup [15] schedule [16] shuffle [17] decay_all
# [18..24] lr min_lr beta1 beta2 eps weight_decay grad_clip (float bits) [25] bit 0 bf16 [26,27] seed
# [28,29] data rng state [30,31] data position (lo, hi) [32] has moments; with shortcuts (issue 13)
# [33] variant and [40..71] the selected-layer bitmask. Version 2: [72] the length of a text record
# after the tensors, [73] the shard being read; the record: key=value lines out=, log=, data=, val=,
# then "train_shard=" / "val_shard=" N HASH PATH per shard (tokens, shard_rhash in 16 hex digits).
def _fbits(x):
    return struct.unpack("<i", struct.pack("<f", x))[0]


def _bitsf(i):
    return struct.unpack("<f", struct.pack("<i", i))[0]


def _lohi(x):
    lo, hi = x & 0xFFFFFFFF, (x >> 32) & 0xFFFFFFFF
    return [lo - (1 << 32) if lo >= 1 << 31 else lo, hi - (1 << 32) if hi >= 1 << 31 else hi]


def state_record(out, log, data, val, train_shards, val_shards):
    """The text record of a version-2 state: the run's paths and [(n, rhash, path)] of its shards."""
    r = f"out={out or ''}\nlog={log or ''}\ndata={data or ''}\nval={val or ''}\n"
    for key, shards in (("train", train_shards), ("val", val_shards or [])):
        r += "".join(f"{key}_shard={n} {h:016x} {p}\n" for n, h, p in shards)
    return r


def parse_record(text):
    """{out, log, data, val: str; train_shards, val_shards: [(n, rhash, path)]} of a state's record."""
    rec = dict(out="", log="", data="", val="", train_shards=[], val_shards=[])
    for line in text.split("\n"):
        k, _, v = line.partition("=")
        if k in ("out", "log", "data", "val"):
            rec[k] = v
        elif k in ("train_shard", "val_shard"):
            n, h, p = v.split(" ", 2)
            rec[k + "s"].append((int(n), int(h, 16), p))
    return rec


def save_state(path, cfg, params, moments, st, record=""):
    """st: dict step B T steps accum warmup schedule shuffle decay_all lr min_lr beta1 beta2 eps
    weight_decay grad_clip bf16 seed rng pos (cur). moments: (m, v) dicts or None. record: the text
    record (state_record) of a version-2 file."""
    h = [0] * 256
    h[:9] = cfg.header(STATE_MAGIC, 2)[:9]
    h[9:18] = [st["step"], st["B"], st["T"], st["steps"], st["accum"], st["warmup"], st["schedule"],
               int(st["shuffle"]), int(st["decay_all"])]
    h[18:25] = [_fbits(st[k]) for k in ("lr", "min_lr", "beta1", "beta2", "eps", "weight_decay", "grad_clip")]
    h[25] = 1 if st["bf16"] else 0
    h[26:28], h[28:30], h[30:32] = _lohi(st["seed"]), _lohi(st["rng"]), _lohi(st["pos"])
    h[32] = 1 if moments else 0
    h[33] = cfg.shortcuts
    if cfg.shortcuts:
        bits = [0] * 32
        for l in cfg.sc_layers:
            bits[l // 32] |= 1 << (l % 32)
        h[40:72] = [b - (1 << 32) if b >= 1 << 31 else b for b in bits]
    rec = record.encode()
    h[72], h[73] = len(rec), st.get("cur", 0)
    flat = _flat(cfg, params)
    _check_finite(path, flat)
    chunks = [struct.pack("<256i", *h), flat.astype("<f4").tobytes()]
    if moments:
        chunks += [_flat(cfg, moments[0]).astype("<f4").tobytes(), _flat(cfg, moments[1]).astype("<f4").tobytes()]
    atomic_write(path, chunks + [rec])


def load_state(path):
    """(cfg, params, moments or None, st) from a training-state file (ours or the C tool's); st["record"]
    is the parsed text record (empty paths and no shards in a version-1 file), st["cur"] the shard."""
    with open(path, "rb") as f:
        h = _read_header(f, path, "a training-state")
        if h[0] != STATE_MAGIC or h[1] not in (1, 2):
            raise ValueError(f"{path}: not an inheritune training-state file (magic {h[0]} version {h[1]})")
        mh = list(h)
        mh[9] = h[33]
        mh[16:48] = h[40:72]
        cfg = config_from_header(mh, path)
        raw = f.read()
    rlen = h[72] if h[1] == 2 else 0
    if rlen < 0 or rlen > len(raw):
        raise ValueError(f"{path}: training-state record of {rlen} bytes does not fit the file (truncated?)")
    record = parse_record(raw[len(raw) - rlen:].decode()) if rlen else parse_record("")
    if h[1] == 1:   # a version-1 file of the C tool: its data paths in slots 96..255, NUL-terminated
        paths = struct.pack("<160i", *h[96:256]).split(b"\0")
        record["data"], record["val"] = paths[0].decode(errors="replace"), paths[1].decode(errors="replace") if len(paths) > 1 else ""
    data = np.frombuffer(raw[:len(raw) - rlen], dtype="<f4")
    n = sum(int(np.prod(s)) for _, s in cfg.shapes())
    nmat = 3 if h[32] else 1
    if data.size != n * nmat:
        raise ValueError(f"{path}: training-state file size does not match its header (truncated?)")
    u = lambda lo, hi: (lo & 0xFFFFFFFF) | (hi & 0xFFFFFFFF) << 32
    st = dict(step=h[9], B=h[10], T=h[11], steps=h[12], accum=h[13], warmup=h[14], schedule=h[15],
              shuffle=bool(h[16]), decay_all=bool(h[17]), bf16=bool(h[25] & 1),
              seed=u(h[26], h[27]), rng=u(h[28], h[29]), pos=u(h[30], h[31]),
              cur=h[73] if h[1] == 2 else 0, record=record)
    for k, i in zip(("lr", "min_lr", "beta1", "beta2", "eps", "weight_decay", "grad_clip"), range(18, 25)):
        st[k] = _bitsf(h[i])
    params = _split(cfg, data[:n])
    moments = (_split(cfg, data[n:2 * n]), _split(cfg, data[2 * n:])) if h[32] else None
    return cfg, params, moments, st


# --- the model --------------------------------------------------------------------------------
class GPT(nn.Module):
    """Parameters as llm.c's tensors (per-layer tensors stacked on a leading L axis). Biases of a
    bias-free model are kept as buffers: absent from the computation and the optimizer, saved as
    they were loaded (zeros), as the C library does."""

    def __init__(self, cfg, tensors):
        super().__init__()
        self.cfg = cfg
        for name, shape in cfg.shapes():
            t = tensors[name].detach().clone().to(torch.float32)
            if tuple(t.shape) != tuple(shape):
                raise ValueError(f"tensor {name}: shape {tuple(t.shape)}, want {shape}")
            if name in BIASES and not cfg.bias:
                self.register_buffer(name, t)
            else:
                setattr(self, name, nn.Parameter(t))
        hs = cfg.C // cfg.NH
        base = np.float32(1.0) / np.sqrt(np.float32(hs), dtype=np.float32)     # inh__attn_scale, in float
        self.scales = [float(base / np.float32(l + 1)) if cfg.layer_scale else float(base) for l in range(cfg.L)]
        self.sc_scale = float(base)                                            # shortcuts: never layer-scaled

    def tensors(self):
        return {name: getattr(self, name) for name, _ in self.cfg.shapes()}

    def _b(self, name, l=None):
        if not self.cfg.bias:
            return None
        t = getattr(self, name)
        return t if l is None else t[l]

    def _attention(self, qkv, scale):
        B, T, C3 = qkv.shape
        C, NH = C3 // 3, self.cfg.NH
        q, k, v = qkv.split(C, dim=2)                       # llm.c: q, k, v in thirds, heads of hs inside
        q, k, v = (x.view(B, T, NH, C // NH).transpose(1, 2) for x in (q, k, v))   # (B, NH, T, hs)
        att = (q @ k.transpose(-2, -1)) * scale
        mask = torch.ones(T, T, dtype=torch.bool, device=qkv.device).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        return (att @ v).transpose(1, 2).reshape(B, T, C)

    def _shortcut(self, x, feats):
        """issue 13: x (B,T,C) is h_{L-1}; feats[i] (B,T,C) the output of the i-th selected layer."""
        cfg, b = self.cfg, self._b
        B, T, C = x.shape
        NH, hs = cfg.NH, C // cfg.NH
        n = len(feats)
        q = F.linear(F.layer_norm(x, (C,), self.sc_lnqw, b("sc_lnqb"), 1e-5), self.sc_qw, b("sc_qb"))
        ks, vs = [], []
        for i, h in enumerate(feats):
            f = F.layer_norm(h, (C,), self.sc_lnw[i], b("sc_lnb", i), 1e-5)
            f = F.linear(F.gelu(F.linear(f, self.sc_fc1w[i], b("sc_fc1b", i)), approximate="tanh"),
                         self.sc_fc2w[i], b("sc_fc2b", i))
            k, v = F.linear(f, self.sc_kvw, b("sc_kvb")).split(C, dim=2)   # keys: first C rows of Wkv
            ks.append(k)
            vs.append(v)
        q = q.view(B, T, NH, hs).transpose(1, 2)                          # (B, NH, T, hs)
        K = torch.stack(ks, 1).view(B, n, T, NH, hs).permute(0, 3, 1, 2, 4)  # (B, NH, n, T, hs)
        Vv = torch.stack(vs, 1).view(B, n, T, NH, hs).permute(0, 3, 1, 2, 4)
        if cfg.shortcuts == 1:   # causal: k_l[s] for every selected l and s <= t (n*(t+1) keys)
            K, Vv = K.reshape(B, NH, n * T, hs), Vv.reshape(B, NH, n * T, hs)
            att = (q @ K.transpose(-2, -1)) * self.sc_scale                   # (B, NH, T, n*T)
            s = torch.arange(n * T, device=x.device) % T
            mask = s[None, :] > torch.arange(T, device=x.device)[:, None]
            att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
            y = att @ Vv
        else:                    # depth: k_l[t] for every selected l (n keys)
            att = torch.einsum("bhtd,bhltd->bhtl", q, K) * self.sc_scale       # (B, NH, T, n)
            y = torch.einsum("bhtl,bhltd->bhtd", att.softmax(dim=-1), Vv)
        y = y.transpose(1, 2).reshape(B, T, C)
        return F.linear(y, self.sc_projw, b("sc_projb"))

    def forward(self, idx, targets=None):
        """idx, targets (B, T) int64. Returns (logits (B,T,Vp), sum of the token losses or None)."""
        cfg, b = self.cfg, self._b
        B, T = idx.shape
        C = cfg.C
        x = self.wte[idx] + self.wpe[:T]
        feats, sel = [], set(cfg.sc_layers)
        for l in range(cfg.L):
            h = F.layer_norm(x, (C,), self.ln1w[l], b("ln1b", l), 1e-5)
            y = self._attention(F.linear(h, self.qkvw[l], b("qkvb", l)), self.scales[l])
            x = x + F.linear(y, self.attprojw[l], b("attprojb", l))
            h = F.layer_norm(x, (C,), self.ln2w[l], b("ln2b", l), 1e-5)
            h = F.gelu(F.linear(h, self.fcw[l], b("fcb", l)), approximate="tanh")
            x = x + F.linear(h, self.fcprojw[l], b("fcprojb", l))
            if l in sel:
                feats.append(x)
        if cfg.shortcuts:
            x = x + self._shortcut(x, feats)
        x = F.layer_norm(x, (C,), self.lnfw, b("lnfb"), 1e-5)
        logits = F.linear(x, self.wte)                      # tied head over Vp rows
        if targets is None:
            return logits, None
        # the loss over the real V only: padding columns take no probability (inh__crossentropy_forward)
        loss = F.cross_entropy(logits[..., :cfg.V].float().reshape(-1, cfg.V), targets.reshape(-1), reduction="sum")
        return logits, loss


def num_params(cfg):
    return sum(int(np.prod(s)) for _, s in cfg.shapes())


def _selftest():
    """python3 examples/torch/model.py: save/load round trip and a forward on a tiny model."""
    import tempfile
    for sc in (0, 1, 2):
        cfg = Config(16, 40, 3, 2, 8, bias=sc != 1, layer_scale=sc == 2, shortcuts=sc)
        p = init_params(cfg, 7)
        with tempfile.TemporaryDirectory() as d:
            save_model(os.path.join(d, "m.bin"), cfg, p)
            c2, p2 = load_model(os.path.join(d, "m.bin"))
        assert c2.header() == cfg.header() and all(torch.equal(p[k], p2[k]) for k in p)
        m = GPT(cfg, p)
        idx = torch.randint(0, 40, (2, 16))
        logits, loss = m(idx, idx)
        assert math.isfinite(loss.item())
        later = idx.clone()
        later[:, 9:] = (later[:, 9:] + 1) % 40     # the future must not reach positions 0..8
        assert torch.allclose(m(later)[0][:, :9], logits[:, :9], atol=1e-6), "causality"
    print("model.py: ok")


if __name__ == "__main__":
    _selftest()
