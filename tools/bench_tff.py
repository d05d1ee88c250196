"""TFF rounds at FLamby's settings, timed from fresh processes: where a federated round's time goes.

Run by ``make bench-tff`` as::

    .venv/bin/python -m tools.bench_tff [--runs 5] [--methods fedadam fedavg] [--against CMD] [--json PATH]

Each measurement is a fresh Python process (``--child METHOD``) that trains FLamby's protocol on the
four heart-disease hospitals (``utils.methods.flamby_config``: 15 rounds × 100 local steps × batch 4,
seed 42) with TensorFlow Federated, the way chapter 05 does (``utils.tff_learning.FederatedProcess``),
and reports, in seconds:

* ``import``: importing TensorFlow Federated (``setup()``);
* ``build``: building the learning process (tracing and compiling TFF's computations in Python);
* ``init``: ``initialize()`` and ``set_model_weights`` (the first call starts TFF's C++ worker);
* ``first``: the first ``next()``; the worker compiles the round's TensorFlow functions here;
* ``steady``: median of the other rounds;
* ``train``: from ``initialize()`` to the end of the last ``next()``; ``cpu`` is the CPU time the
  Python process and the worker spent in that window (robust to other load on the machine);
* ``train2``: the same training again in the same process (everything compiled and warm).

The NumPy core (``utils.case_study.train_numpy_federated``: ``utils.fedcore.run_fedavg`` with the same
settings) is timed in the same child: one round (``first``), all rounds (``train``), ``steady`` = train/rounds.

The parent alternates the runs (method A, method B, A, B, ...) and prints medians. With ``--against CMD``
it runs CMD (a shell command printing one JSON line ``{"fedadam": s, "fedavg": s, ...}``, e.g. FLamby's
own benchmark code run by ``tools/flamby_timing.py`` in FLamby's own venv) before each of our runs, and reports our training time over CMD's per
pair, and the median of those ratios. The machine is shared: quote medians and per-pair ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = 42
METHODS = ("fedadam", "fedavg")

__all__ = ["child", "main", "summarize_runs", "format_table"]


def _cpu(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def child(method: str, seed: int = SEED) -> dict:
    """One fresh-process measurement of ``method`` (TFF and NumPy); returns the figures as a dict."""
    t0 = time.perf_counter()
    import numpy as np
    import psutil

    from utils.setup import setup

    setup(seed=seed, quiet=True)
    out = {"method": method, "import": time.perf_counter() - t0}
    import tensorflow_federated as tff

    from utils.case_study import train_numpy_federated
    from utils.data import load_heart_disease
    from utils.methods import flamby_config
    from utils.models import initial_weights
    from utils.runtime import live_workers, stop_workers
    from utils.tff_learning import FederatedProcess

    split = load_heart_disease()
    config = flamby_config(method)
    t = time.perf_counter()
    proc = FederatedProcess(config, len(split.feature_names))
    out["build"] = time.perf_counter() - t

    me = psutil.Process()

    def train():
        """FederatedProcess.run, spelled out so that each phase is timed."""
        before = live_workers()  # none in a fresh process: initialize() starts the worker
        w0 = _cpu(psutil.Process(before[-1].pid)) if before else 0.0
        c0, t_start = _cpu(me), time.perf_counter()
        state = proc.process.initialize()
        state = proc.process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(w, np.float32) for w in initial_weights(seed, proc.n_features)], non_trainable=[]))
        t_init = time.perf_counter() - t_start
        worker = psutil.Process(live_workers()[-1].pid)
        rounds = []
        for r in range(config.rounds):
            data = proc._client_datasets(split, seed, r, True)
            t = time.perf_counter()
            state = proc.process.next(state, data).state
            rounds.append(time.perf_counter() - t)
        total = time.perf_counter() - t_start
        weights = np.concatenate([np.ravel(w) for w in proc._weights(state)])
        return t_init, rounds, total, _cpu(me) - c0 + _cpu(worker) - w0, worker, weights

    t_init, rounds, total, cpu, worker, weights = train()
    out.update(init=t_init, first=rounds[0], steady=float(np.median(rounds[1:])), train=total, cpu=cpu)
    try:
        out["worker_peak_mb"] = int(Path(f"/proc/{worker.pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        out["worker_peak_mb"] = float("nan")
    _, rounds2, total2, cpu2, _, weights2 = train()
    out.update(train2=total2, steady2=float(np.median(rounds2[1:])), cpu2=cpu2,
               repeatable=bool(np.array_equal(weights, weights2)))

    t = time.perf_counter()
    train_numpy_federated(split, config.with_(rounds=1, engine="numpy"), seed)
    numpy_first = time.perf_counter() - t
    t = time.perf_counter()
    train_numpy_federated(split, config.with_(engine="numpy"), seed)
    numpy_train = time.perf_counter() - t
    out.update(numpy_first=numpy_first, numpy_steady=numpy_train / config.rounds, numpy_train=numpy_train)
    out["weights"] = [float(x) for x in weights]
    stop_workers()
    return out


def _run_child(method: str) -> dict:
    cmd = [sys.executable, "-m", "tools.bench_tff", "--child", method]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _run_against(command: str) -> dict:
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"--against command failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _median(values) -> float:
    values = sorted(values)
    n = len(values)
    return float("nan") if n == 0 else (values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2)


FIELDS = ("build", "init", "first", "steady", "train", "cpu", "train2", "numpy_first", "numpy_steady", "numpy_train")


def summarize_runs(runs: list[dict], against: list[dict] | None = None) -> dict:
    """Medians per method of every field; with ``against``, our ``train`` over theirs, pair by pair."""
    if not isinstance(runs, list) or not all(isinstance(r, dict) and "method" in r for r in runs):
        raise TypeError("runs must be a list of the dicts that child() returns")
    if against is not None and (not isinstance(against, list) or len(against) != len(runs)):
        raise ValueError(f"against must hold one result per run ({len(runs)}), got {against!r}")
    summary = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        mine = [(i, r) for i, r in enumerate(runs) if r["method"] == method]
        row = {f: _median([r[f] for _, r in mine]) for f in FIELDS}
        row["runs"] = len(mine)
        row["repeatable"] = all(r.get("repeatable", False) for _, r in mine)
        if against is not None:
            ratios = [r["train"] / against[i][method] for i, r in mine if method in against[i]]
            row["against"] = _median([against[i][method] for i, _ in mine if method in against[i]])
            row["ratio_pairs"] = ratios
            row["ratio"] = _median(ratios)
            row["ratio_with_build"] = _median([(r["build"] + r["train"]) / against[i][method]
                                               for i, r in mine if method in against[i]])
        summary[method] = row
    return summary


def format_table(summary: dict) -> str:
    """The medians as a text table (seconds)."""
    head = (f"{'method':<8} {'engine':<6} {'build':>6} {'init':>6} {'first':>6} {'steady':>7} {'train':>6} "
            f"{'cpu':>6} {'train2':>7} {'vs':>6} {'ratio':>6}")
    lines = [head, "-" * len(head)]
    for method, s in summary.items():
        vs = f"{s['against']:6.2f}" if "against" in s else f"{'':>6}"
        ratio = f"{s['ratio']:5.2f}x" if "ratio" in s else f"{'':>6}"
        lines.append(f"{method:<8} {'TFF':<6} {s['build']:6.2f} {s['init']:6.2f} {s['first']:6.2f} {s['steady']:7.3f} "
                     f"{s['train']:6.2f} {s['cpu']:6.2f} {s['train2']:7.2f} {vs} {ratio}")
        lines.append(f"{'':<8} {'NumPy':<6} {'':>6} {'':>6} {s['numpy_first']:6.3f} {s['numpy_steady']:7.3f} "
                     f"{s['numpy_train']:6.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_tff", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per method (default 5)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--against", metavar="CMD", help="a command printing FLamby's seconds as JSON, run before each of ours")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write every run and the medians as JSON")
    ap.add_argument("--child", choices=list(METHODS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)), flush=True)
        return 0
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runs, against = [], [] if args.against else None
    for i in range(args.runs):
        for method in args.methods:
            if args.against:
                against.append(_run_against(args.against))
                print(f"run {i + 1}/{args.runs} {method}: against {json.dumps(against[-1])}", flush=True)
            runs.append(_run_child(method))
            r = runs[-1]
            print(f"run {i + 1}/{args.runs} {method}: build {r['build']:.2f} s, first round {r['first']:.2f} s, "
                  f"steady {r['steady']:.3f} s, training {r['train']:.2f} s (cpu {r['cpu']:.2f} s); "
                  f"NumPy {r['numpy_train']:.2f} s", flush=True)
    summary = summarize_runs(runs, against)
    print(f"\nmedians of {args.runs} fresh processes per method (seconds; FLamby's settings, seed {SEED}):\n")
    print(format_table(summary))
    if args.against:
        for method, s in summary.items():
            pairs = ", ".join(f"{x:.2f}" for x in s["ratio_pairs"])
            print(f"{method}: training / against per pair: {pairs}; median {s['ratio']:.2f}x "
                  f"({s['ratio_with_build']:.2f}x with the TFF build)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"runs": runs, "against": against, "summary": summary}, indent=2) + "\n")
        print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
