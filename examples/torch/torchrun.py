"""torchrun, with two fixes: Debian 12's torch and Ctrl-C.

    /usr/bin/python3 examples/torch/torchrun.py --nproc_per_node 2 examples/torch/train.py --data ... (torchrun's flags)

It takes torchrun's own flags and runs torchrun (`torch.distributed.run`) in this process, and:
- applies the workaround for Debian 12's torch 1.13 under Python 3.11, whose torchrun cannot parse
  its own default for --redirects/--tee (`AttributeError: 'NoneType' object has no attribute
  'get'`): it adds `--redirects 9:0 --tee 9:0` (no redirection for a local rank 9, which means none
  for any), only where that torch has the bug and the command line gives neither flag;
- ends a run stopped by Ctrl-C (or SIGTERM) with one line and exit status 130 (143), where torchrun
  prints a Python traceback and exits 1. The workers (train.py) finish their step, save and say so
  first; torchrun gives them 30 s before it kills them.
A failed worker is reported in one line per rank (exit status 1, or the worker's own status).
Run it with the python3 that has torch (Debian's `/usr/bin/python3` with `python3-torch`, where
another python3 comes first on PATH).
"""
import logging
import signal
import sys


def say(msg):
    print(f"torchrun: {msg}", file=sys.stderr, flush=True)


def interrupted(sig):
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    say(f"stopped by {name}" + (" (Ctrl-C)" if sig == signal.SIGINT else "") + "; the workers saved what they had (see above)")
    return 128 + sig


def main(argv):
    ctrl_c = []   # Ctrl-C while torch loads: noted, answered once it has loaded (see train.py)
    signal.signal(signal.SIGINT, lambda *_: ctrl_c.append(1))
    try:
        from torch.distributed import run as torchrun
        from torch.distributed.elastic.multiprocessing import Std
        from torch.distributed.elastic.multiprocessing.api import SignalException
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    except ImportError as e:
        say(f"{sys.executable} cannot import torch ({e}); Debian: apt-get install python3-torch, "
            "then run this with /usr/bin/python3")
        return 1
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if ctrl_c:
        say("interrupted while loading torch; nothing was started")
        return 130
    # torchrun's own lines about the signal ("Received 2 death signal", "Sending process N closing
    # signal SIGINT") give way to the one line below
    quiet = logging.Filter()
    quiet.filter = lambda r: not any(k in r.getMessage() for k in ("death signal", "closing signal"))
    for name in ("torch.distributed.elastic.agent.server.api", "torch.distributed.elastic.multiprocessing.api"):
        logging.getLogger(name).addFilter(quiet)
    args = list(argv)
    # torchrun's own flags come before the script; the workaround goes in front of them
    own = []
    for a in args:
        if not a.startswith("-"):
            break
        own.append(a.split("=", 1)[0])
    try:
        broken = Std.from_str("0") is None   # 1.13 under Python 3.11: the IntFlag lookup gives None
    except Exception:
        broken = False
    if broken and not {"--redirects", "-r", "--tee", "-t"} & set(own):
        args = ["--redirects", "9:0", "--tee", "9:0"] + args
    try:
        torchrun.main(args)
    except SignalException as e:
        return interrupted(int(e.sigval))
    except KeyboardInterrupt:
        return interrupted(int(signal.SIGINT))
    except ChildFailedError as e:
        codes = {rank: f.exitcode for rank, f in e.failures.items()}
        if codes and all(c in (130, -int(signal.SIGINT)) for c in codes.values()):
            return interrupted(int(signal.SIGINT))
        for rank, f in sorted(e.failures.items()):
            say(f"{e.name}: rank {rank} (local rank {f.local_rank}) failed with exit status {f.exitcode}")
        first = codes[min(codes)]
        return first if 0 < first < 256 else 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:   # Ctrl-C while torch itself was still loading
        sys.exit(interrupted(int(signal.SIGINT)))
