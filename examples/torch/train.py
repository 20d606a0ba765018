"""`build/inheritune train` in PyTorch, on one process or many (torchrun + DistributedDataParallel).

    python3 examples/torch/train.py --init init.bin --data train.bin --steps 1000 --out out.bin
    torchrun --nproc_per_node 8 examples/torch/train.py --init init.bin --data train.bin ... (same flags)

Same flags, defaults, output lines and files as the C tool's `train`; --batch is the global batch:
each of the N ranks computes its rows of every micro-batch and DDP averages the gradients, weighted
so that N ranks take the step one process would. GPUs: NCCL, bf16 autocast (--fp32 turns it off);
CPUs: gloo, fp32 (--bf16: CPU bf16 autocast). What matches the C trainer and what does not is in the
README ("Training under torchrun").
"""
import argparse
import contextlib
import math
import os
import signal
import sys
import time

# Ctrl-C while torch loads (seconds) is noted and answered once it has loaded: one line, exit 130
# (a KeyboardInterrupt inside torch's native import becomes a RuntimeError with a traceback)
_ctrl_c = []
if __name__ == "__main__":
    signal.signal(signal.SIGINT, lambda *_: _ctrl_c.append(1))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402

# every flag the C `train` takes, with its default (None: not given, so a resumed state keeps its value)
DEFAULTS = dict(batch=4, seq=64, steps=100, lr=3e-4, min_lr=0.0, warmup=0, schedule="cosine", weight_decay=0.1,
                beta1=0.9, beta2=0.95, eps=1e-8, grad_clip=1.0, accum=1, seed=1337, eval_every=0, eval_batches=20,
                save_every=0, threads=0)


def parse(argv):
    p = argparse.ArgumentParser(prog="train.py", allow_abbrev=False,
                                description="inheritune's `train` in PyTorch; run it under torchrun for DDP")
    a = p.add_argument
    a("--data", help="training token shard(s) (llm.c .bin): a file, a glob 'dir/*_train_*.bin' or a comma list "
                      "(with --resume: the state file's)")
    a("--val", help="validation token shard(s): a file, a glob or a comma list (with --resume: the state file's)")
    a("--init", help="start from this model (llm.c .bin)")
    a("--layers", type=int, default=0, help="new model: layers")
    a("--heads", type=int, default=0, help="new model: attention heads")
    a("--dim", type=int, default=0, help="new model: channels")
    a("--seq-max", type=int, default=0, help="new model: context length")
    a("--vocab", type=int, default=0, help="new model: vocabulary size")
    a("--no-bias", action="store_true", help="new model: no biases")
    a("--layer-scale", action="store_true", help="new model: scale attention logits by 1/(layer+1)")
    a("--shortcuts", choices=["causal", "depth"], help="new model: attention shortcuts (Verma & Pilanci): causal or depth")
    a("--shortcut-layers", help="new model: selected layers, e.g. 1,3 (default every layer 0..L-2)")
    a("--batch", type=int, help="global batch size B, split over the ranks (default 4)")
    a("--seq", type=int, help="sequence length T (default 64)")
    a("--steps", type=int, help="total optimizer steps (default 100)")
    a("--lr", type=float, help="peak learning rate (default 3e-4)")
    a("--min-lr", type=float, help="final learning rate of the cosine schedule (default 0)")
    a("--warmup", type=int, help="linear warm-up steps (default 0)")
    a("--schedule", choices=["constant", "cosine"], help="constant | cosine (default cosine)")
    a("--weight-decay", type=float, help="AdamW decoupled weight decay (default 0.1)")
    a("--decay-all", action="store_true", help="decay every parameter (llm.c), not only 2-D weights")
    a("--beta1", type=float, help="AdamW beta1 (default 0.9)")
    a("--beta2", type=float, help="AdamW beta2 (default 0.95)")
    a("--eps", type=float, help="AdamW epsilon (default 1e-8)")
    a("--grad-clip", type=float, help="clip the gradient norm (default 1; 0 = off)")
    a("--accum", type=int, help="gradient accumulation micro-batches (default 1)")
    a("--bf16", action="store_true", help="CPU: bf16 autocast (GPUs use it unless --fp32)")
    a("--fp32", action="store_true", help="GPU: no bf16 autocast")
    a("--cpu", action="store_true", help="CPU and gloo even when CUDA is available")
    a("--seed", type=int, help="seed for initialisation and data order (default 1337)")
    a("--threads", type=int, help="CPU threads per rank (default: cores / ranks on this machine)")
    a("--no-shuffle", action="store_true", help="consecutive windows from token 0 instead of random ones")
    a("--eval-every", type=int, help="validation loss every N steps (and at the end; default 0 = end only)")
    a("--eval-batches", type=int, help="validation batches (default 20)")
    a("--out", help="write the model here (llm.c .bin) at the end (with --resume: the state file's)")
    a("--save-every", type=int, help="also save model/state every N steps")
    a("--state", help="write the training state (for --resume) here; the C tool's format (with --resume: that file)")
    a("--resume", help="continue from a training-state file (ours or the C tool's) up to --steps")
    args = p.parse_args(argv)
    args.given = {k for k, v in vars(args).items() if v is not None and v is not False}
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


class Fail(Exception):
    pass


def lr_at(o, step):
    """inh_lr_at: linear warm-up, then constant or cosine from lr to min_lr at the last step (float)."""
    f32 = np.float32
    if o["warmup"] > 0 and step < o["warmup"]:
        return float(f32(o["lr"]) * f32(step + 1) / f32(o["warmup"]))
    if o["schedule"] == 0:
        return float(f32(o["lr"]))
    w = o["warmup"] if o["warmup"] > 0 else 0
    span = float(o["steps"]) - w
    if span <= 1:
        return float(f32(o["lr"]))
    frac = min((float(step) - w) / (span - 1), 1.0)
    coeff = 0.5 * (1.0 + math.cos(3.14159265358979323846 * frac))
    return float(f32(float(f32(o["min_lr"])) + coeff * (float(f32(o["lr"])) - float(f32(o["min_lr"])))))


class Batches:
    """inh_data_next for the global batch over one shard or many; each rank keeps rows [r0, r1) of it.
    Many shards: a window never straddles two; sequential batches go shard after shard (llm.c's order,
    a shard too small for a batch skipped), shuffled windows draw over every shard's starts."""

    def __init__(self, shards, path, B, T, shuffle, seed, r0, r1):
        self.tok, self.path, self.B, self.T, self.shuffle = [t for _, t in shards], path, B, T, shuffle
        self.rng, self.pos, self.cur, self.r0, self.r1 = M.Rng(seed), 0, 0, r0, r1
        need = T + 1 if shuffle else B * T + 1
        if len(shards) == 1 and len(self.tok[0]) < need:
            raise Fail(f"{path}: {len(self.tok[0])} tokens cannot fill a batch of B={B} x T={T} (+1) tokens")
        if not any(len(t) >= need for t in self.tok):
            raise Fail(f"{path}: no shard holds {'one window' if shuffle else 'a batch'} of B={B} x T={T} (+1) tokens")

    def next(self):
        B, T = self.B, self.T
        if self.shuffle:   # B random windows of T+1, starts in [0, n_k-T-1] over all shards; every rank draws all B
            ranges = [max(len(t) - T, 0) for t in self.tok]
            total = sum(ranges)
            rows = []
            for s in [self.rng.u64() % total for _ in range(B)][self.r0:self.r1]:
                k = 0
                while s >= ranges[k]:
                    s -= ranges[k]
                    k += 1
                rows.append(np.asarray(self.tok[k][s:s + T + 1]))
            rows = np.stack(rows)
            return rows[:, :-1], rows[:, 1:]
        need = B * T + 1   # consecutive: the B*T+1 tokens after the last window; the next shard (or 0) when too few remain
        if self.cur >= len(self.tok):
            self.cur, self.pos = 0, 0
        while self.pos + need > len(self.tok[self.cur]):
            self.cur, self.pos = (self.cur + 1) % len(self.tok), 0
        w = np.asarray(self.tok[self.cur][self.pos:self.pos + need])
        self.pos += need - 1
        return w[:-1].reshape(B, T)[self.r0:self.r1], w[1:].reshape(B, T)[self.r0:self.r1]


def shard_list(shards):
    """[(tokens, record hash, path)] of loaded shards: what a state file records of them."""
    return [(len(t), M.shard_rhash(t), p) for p, t in shards]


def check_shards(spec, now, recorded, state):
    """A resume reads the shards its state file's run read (count and hash of each), else Fail."""
    if not recorded:
        return
    if len(now) != len(recorded):
        raise Fail(f"{spec}: {len(now)} shard{'s' if len(now) > 1 else ''}, but the state file's run read {len(recorded)} ({state})")
    for (n, h, p), (rn, rh, rp) in zip(now, recorded):
        if n != rn or h != rh:
            raise Fail(f"{p}: has changed since the state file was written ({n} tokens now; the run read {rp} with {rn} tokens"
                       f"{', other ids' if n == rn else ''})")


def fmt_time(s):
    s = 0 if s < 0 or not math.isfinite(s) else min(s, 3.6e8)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s) // 60}m{int(s) % 60:02d}s"
    return f"{int(s) // 3600}h{(int(s) % 3600) // 60:02d}m"


class Run:
    def __init__(self, args):
        self.args = args
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        self.cuda = torch.cuda.is_available() and not args.cpu
        if self.cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        self.threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, local_world))
        torch.set_num_threads(self.threads)
        self.backend = "nccl" if self.cuda else "gloo"
        if "WORLD_SIZE" in os.environ:   # under torchrun (also for one rank): env:// rendezvous
            dist.init_process_group(self.backend)
        self.ddp = dist.is_available() and dist.is_initialized()
        if self.cuda and not args.fp32:
            self.autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16)
        elif not self.cuda and args.bf16:
            self.autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
        else:
            self.autocast = contextlib.nullcontext
        self.stop = False

    def say(self, *a, **k):
        if self.rank == 0:
            print(*a, **k, flush=True)

    def allsum(self, values):
        """Sum of a few float64 numbers over the ranks (one all-reduce)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.backend == "nccl" else "cpu")
        if self.ddp:
            dist.all_reduce(t)
        return t.tolist()


def build(run, loaded=None):
    """Model tensors, options and (on resume: loaded, the state file read) moments and data position."""
    a = run.args
    o = dict(B=a.batch, T=a.seq, steps=a.steps, accum=a.accum, lr=a.lr, min_lr=a.min_lr, warmup=a.warmup,
             schedule=0 if a.schedule == "constant" else 1, weight_decay=a.weight_decay, decay_all=a.decay_all,
             beta1=a.beta1, beta2=a.beta2, eps=a.eps, grad_clip=a.grad_clip, seed=a.seed, shuffle=not a.no_shuffle,
             bf16=a.bf16)
    new_model = a.layers or a.heads or a.dim or a.seq_max or a.vocab
    if a.resume and (a.init or new_model):
        raise Fail("--resume takes the model from the state file: drop --init and the size flags")
    if not a.resume and a.init and new_model:
        raise Fail("give either --init MODEL.bin or the size flags of a new model, not both")
    if not a.resume and not a.init and not (a.layers and a.heads and a.dim and a.seq_max and a.vocab):
        raise Fail("a new model needs --layers, --heads, --dim, --seq-max and --vocab (or use --init MODEL.bin)")
    moments, step, rng, pos = None, 0, None, (0, 0)
    if a.resume:
        cfg, params, moments, st = loaded
        flag_of = dict(B="batch", T="seq", steps="steps", accum="accum", lr="lr", min_lr="min_lr", warmup="warmup",
                       schedule="schedule", weight_decay="weight_decay", decay_all="decay_all", beta1="beta1",
                       beta2="beta2", eps="eps", grad_clip="grad_clip", shuffle="no_shuffle", bf16="bf16")
        for k in o:   # the state's options, except those given now (as the C tool)
            if k == "seed" or flag_of.get(k) not in a.given:
                o[k] = st[k]
        step, rng, pos = st["step"], st["rng"], (st["pos"], st["cur"])
    elif a.init:
        if not a.init.endswith(".bin") and (os.path.isdir(a.init) or a.init.endswith(".safetensors")):
            raise Fail(f"{a.init}: give an llm.c .bin (build/inheritune convert {a.init} model.bin makes one)")
        cfg, params = M.load_model(a.init)
    else:
        sc = {"causal": 1, "depth": 2}.get(a.shortcuts, 0)
        layers = [int(x) for x in a.shortcut_layers.split(",")] if a.shortcut_layers else None
        cfg = M.Config(a.seq_max, a.vocab, a.layers, a.heads, a.dim, bias=not a.no_bias,
                       layer_scale=a.layer_scale, shortcuts=sc, sc_layers=layers)
        cfg.check("model config")
        params = M.init_params(cfg, o["seed"])
    if o["B"] <= 0 or o["T"] <= 0 or o["accum"] <= 0 or o["steps"] < 0 or o["warmup"] < 0:
        raise Fail("--batch, --seq and --accum must be positive; --steps and --warmup not negative")
    if o["T"] > cfg.maxT:
        raise Fail(f"--seq {o['T']} is above the model's maxT {cfg.maxT}")
    if o["B"] < run.world:
        raise Fail(f"--batch {o['B']} is the global batch: it needs at least one row for each of the {run.world} ranks")
    return cfg, params, moments, o, step, rng, pos


def train(run):
    a = run.args
    if a.eval_every < 0 or a.save_every < 0 or a.eval_batches <= 0:
        raise Fail("--eval-every and --save-every must be >= 0, --eval-batches > 0")
    loaded = M.load_state(a.resume) if a.resume else None
    rec = loaded[3]["record"] if loaded else None
    if rec:   # the state file knows its data and outputs: `--resume FILE` alone continues the run
        a.data = a.data or rec["data"] or None
        a.val = a.val or rec["val"] or None
        if not a.out and rec["out"]:
            a.out = rec["out"]
            run.say(f"resume: the model goes to {a.out} (the --out recorded in {a.resume})")
    if a.resume and not a.state:
        a.state = a.resume   # the resumed run's progress goes back to its state file (as the C tool)
    if not a.data:
        raise Fail(f"{a.resume}: this state file does not record its data: give --data TRAIN.bin" if a.resume else "train needs --data TRAIN.bin")
    shards = M.load_shards(a.data)           # the data first: a missing file before a large model
    ntok = sum(len(t) for _, t in shards)
    cfg, params, moments, o, step, rng_state, pos = build(run, loaded)
    for p, t in shards:
        if len(t) and int(t.max()) >= cfg.V:
            M.load_shard(p, cfg.V)           # raises with the index of the first bad token
    train_rec = shard_list(shards)
    if rec:
        check_shards(a.data, train_rec, rec["train_shards"], a.resume)
    B, T, W = o["B"], o["T"], run.world
    r0, r1 = run.rank * B // W, (run.rank + 1) * B // W
    data = Batches(shards, a.data, B, T, o["shuffle"], o["seed"], r0, r1)
    need = T + 1 if o["shuffle"] else B * T + 1
    for p, t in shards if len(shards) > 1 else []:
        if len(t) < need:
            run.say(f"warning: {p}: {len(t)} tokens cannot fill {'one window' if o['shuffle'] else 'one batch'} of {need} tokens: "
                    "this shard is skipped", file=sys.stderr)
    if rng_state is not None:
        data.rng.s, (data.pos, data.cur) = rng_state, pos
        if data.cur >= len(shards) or data.pos > len(shards[data.cur][1]):
            data.pos, data.cur = 0, 0
    val, val_rec, vwin = None, None, []
    if a.val:
        val = [t for _, t in M.load_shards(a.val, cfg.V)]
        val_rec = shard_list(list(zip(M.expand_shards(a.val), val)))
        if sum(len(t) for t in val) < B * T + 1:
            raise Fail(f"{a.val}: {sum(len(t) for t in val)} tokens cannot fill one validation batch of B={B} x T={T} (+1)")
        for k, t in enumerate(val):   # the evaluation windows, shard after shard (never across two)
            vwin += [(k, w * T) for w in range((len(t) - 1) // T if len(t) else 0)]
        eval_windows = min(a.eval_batches * B, len(vwin))
        if eval_windows < a.eval_batches * B:
            run.say(f"note: --eval-batches {a.eval_batches} x B={B} windows is more than {a.val} holds: validation uses all its "
                    f"{eval_windows} windows of T={T} once", file=sys.stderr)
    model = M.GPT(cfg, params).to(run.device)
    net = model
    if run.ddp:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[run.local_rank] if run.cuda else None,
                                                        broadcast_buffers=False)
    trainable = [(n, p) for n, p in model.named_parameters()]
    if moments:
        mom = {n: (moments[0][n].to(run.device), moments[1][n].to(run.device)) for n, _ in trainable}
    else:
        mom = None
    how = (f"{W} rank{'s' if W > 1 else ''} ({run.backend}, " if run.ddp else "1 process (") + \
          ("cuda" if run.cuda else "cpu") + (", bf16 autocast" if (run.cuda and not a.fp32) or (not run.cuda and a.bf16) else "") + ")"
    if a.resume:
        run.say(f"resumed {a.resume} at step {step}")
    run.say(f"model: {cfg.describe()}, {M.num_params(cfg)} parameters; data {a.data}: {ntok} tokens; "
            f"B={B} T={T} accum={o['accum']}, {run.threads} threads; torch: {how}")

    def batch_tensors(x, y):
        return (torch.from_numpy(x.astype(np.int64)).to(run.device), torch.from_numpy(y.astype(np.int64)).to(run.device))

    def evaluate():
        """inh_eval_windows: mean over the first eval_windows windows of T, shard after shard, B per pass."""
        total = 0.0
        with torch.no_grad(), run.autocast():
            for w0 in range(0, eval_windows, B):
                b = min(B, eval_windows - w0)
                q0, q1 = run.rank * b // W, (run.rank + 1) * b // W
                s = 0.0
                if q1 > q0:
                    rows = np.stack([np.asarray(val[k][off:off + T + 1]) for k, off in vwin[w0 + q0:w0 + q1]])
                    s = model(*batch_tensors(rows[:, :-1], rows[:, 1:]))[1].item()
                mean = run.allsum([s])[0] / (b * T)
                total += mean if b == B else mean * b / B
        return total / (eval_windows / B)

    def save():
        if run.rank == 0:
            tensors = {n: t.detach().cpu() for n, t in model.tensors().items()}
            if a.out:
                M.save_model(a.out, cfg, tensors)
            if a.state:
                mm = None
                if mom:
                    zeros = {n: torch.zeros_like(t) for n, t in tensors.items()}
                    mm = ({**zeros, **{n: v[0].cpu() for n, v in mom.items()}},
                          {**zeros, **{n: v[1].cpu() for n, v in mom.items()}})
                st = dict(o, step=step, rng=data.rng.s, pos=data.pos, cur=data.cur)
                M.save_state(a.state, cfg, tensors, mm, st, M.state_record(a.out, None, a.data, a.val, train_rec, val_rec))
        if run.ddp:
            dist.barrier()

    f32 = np.float32
    b1, b2, eps, wd_all = f32(o["beta1"]), f32(o["beta2"]), f32(o["eps"]), f32(o["weight_decay"])
    clip, accum = f32(o["grad_clip"]), o["accum"]
    tok_per_step = B * T * accum
    first, bad_steps, t_start = step, 0, time.time()
    for s in (signal.SIGINT, signal.SIGTERM):   # Ctrl-C, or torchrun stopping its workers
        signal.signal(s, lambda *_: setattr(run, "stop", True))
    while step < o["steps"]:
        t0 = time.time()
        for _, p in trainable:
            p.grad = None
        loss_sum = 0.0
        for k in range(accum):
            x, y = batch_tensors(*data.next())
            sync = run.ddp and k < accum - 1
            with (net.no_sync() if sync else contextlib.nullcontext()):
                with run.autocast():
                    _, s = net(x, y)
                # rank's share of the global mean over accum x B x T tokens; DDP divides the sum by W
                (s * (W / (B * T * accum))).backward()
            loss_sum += s.item()
        loss_sum, stops = run.allsum([loss_sum, 1.0 if run.stop else 0.0])
        loss = float(f32(loss_sum / (B * T * accum)))
        sq = sum(float((p.grad.double() ** 2).sum()) for _, p in trainable)
        norm = float(f32(math.sqrt(sq)))
        lr = lr_at(o, step)
        skipped = not (math.isfinite(loss) and math.isfinite(norm))
        if not skipped:   # inh_model_update: clipping folded into the gradient, bias corrections as multipliers
            t = step + 1
            scale = clip / (f32(norm) + f32(1e-6)) if clip > 0 and f32(norm) > clip else f32(1.0)
            i1 = f32(1.0) / (f32(1.0) - np.power(b1, f32(t), dtype=np.float32))
            i2 = f32(1.0) / (f32(1.0) - np.power(b2, f32(t), dtype=np.float32))
            if mom is None:
                mom = {n: (torch.zeros_like(p), torch.zeros_like(p)) for n, p in trainable}
            with torch.no_grad():
                for n, p in trainable:
                    g = p.grad if scale == 1 else p.grad * float(scale)
                    m, v = mom[n]
                    m.mul_(float(b1)).add_(g * float(f32(1) - b1))
                    v.mul_(float(b2)).add_((g * float(f32(1) - b2)) * g)
                    wd = float(wd_all) if (o["decay_all"] or n in M.DECAYED) else 0.0
                    upd = (m * float(i1)) / ((v * float(i2)).sqrt() + float(eps))
                    if wd:
                        upd = upd + wd * p
                    p.sub_(lr * upd)
        step += 1
        dt = time.time() - t0
        per = (time.time() - t_start) / (step - first)
        run.say(f"step {step} loss {loss:.6f} lr {lr:.3e} norm {norm:.4f} ms {dt * 1e3:.1f} tok/s {tok_per_step / dt:.0f} "
                f"left {fmt_time(per * (o['steps'] - step))}" + (" (skipped: loss or gradient not finite)" if skipped else ""))
        bad_steps = bad_steps + 1 if skipped else 0
        if bad_steps >= 5:
            raise Fail("5 non-finite steps in a row; stopping without saving")
        stopping = stops > 0
        last = step == o["steps"] or stopping
        if val is not None and ((a.eval_every and step % a.eval_every == 0) or last):
            run.say(f"step {step} val_loss {evaluate():.6f}")
        if (a.save_every and step % a.save_every == 0) or last:
            save()
        if stopping:
            if run.rank == 0:
                print(f"interrupted: stopped after step {step}" + (f", model saved to {a.out}" if a.out else "") +
                      (f", state saved to {a.state}" if a.state else " (no --state: this run cannot be resumed)"),
                      file=sys.stderr, flush=True)
            return 130
    if step == first:   # nothing to do: still write what was asked
        save()
    if a.out:
        run.say(f"saved {a.out}")
    return 0


def main(argv):
    args = parse(argv)
    run = None
    try:
        run = Run(args)
        rc = train(run)
    except (Fail, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        rc = 1
    except KeyboardInterrupt:   # Ctrl-C before the training loop took the signal over: nothing saved yet
        print("interrupted before training started; nothing was saved", file=sys.stderr, flush=True)
        return 130
    if run is not None and run.ddp:
        dist.destroy_process_group()
    return rc


if __name__ == "__main__":
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if _ctrl_c:
            raise KeyboardInterrupt
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:   # Ctrl-C before the training loop took the signal over
        print("interrupted before training started; nothing was saved", file=sys.stderr, flush=True)
        sys.exit(130)
