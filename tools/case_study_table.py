"""Chapter 05's case-study table on the four hospitals, for ``make bench``.

    python -m tools.case_study_table [--seeds 42 43 ...] [--methods local pooled ...] [--flamby-only]
"""
from __future__ import annotations

import math
import sys
import time

import pandas as pd

from utils.methods import FEDERATED, METHODS, SEEDS, flamby_config

def tuned_configs() -> dict:
    """The settings chapter 05 reports besides FLamby's (see the notebook for why)."""
    return {"fedavg": flamby_config("fedavg").with_(client_lr=0.01),
            "fedprox": flamby_config("fedprox").with_(client_lr=0.01)}


def format_table(summary: pd.DataFrame, round_times: dict | None = None) -> str:
    lines = [f"{'method':<27} {'mean per-centre acc':>21} {'mean AUC':>17} {'FLamby':>7} {'s/round':>8}"]
    for m, r in summary.iterrows():
        label = str(m)
        t = (round_times or {}).get(str(m).split(" ")[0])
        lines.append(f"{label:<27} {r.accuracy:10.3f} ± {r.accuracy_std:.3f}       "
                     f"{r.auc:7.3f} ± {r.auc_std:.3f}  "
                     f"{'' if math.isnan(r.flamby) else f'{r.flamby:.3f}':>7} "
                     f"{'' if t is None else f'{t:.3f}':>8}")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tools.case_study_table",
                                 description="Chapter 05's case-study table on the four hospitals.")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--flamby-only", action="store_true", help="skip the tuned settings")
    args = ap.parse_args(argv)

    from utils.case_study import run_experiment
    from utils.data import load_heart_disease
    from utils.setup import setup

    setup(tff=True, quiet=True)

    split = load_heart_disease()
    print(f"data: {split.source}. {split.note}".strip())
    t0 = time.perf_counter()
    res = run_experiment(split, args.methods, args.seeds, progress=False)
    summary = res.summary()
    summary.index = [f"{m} (FLamby settings)" if m in FEDERATED else m for m in summary.index]
    times = {k: v for k, v in res.round_times.items()}
    if not args.flamby_only:
        tuned = {m: c for m, c in tuned_configs().items() if m in args.methods}
        if tuned:
            res2 = run_experiment(split, list(tuned.values()), args.seeds, progress=False)
            s2 = res2.summary()
            s2.index = [f"{m} (tuned)" for m in s2.index]
            summary = pd.concat([summary, s2])
            times.update({f"{m}": v for m, v in res2.round_times.items()})
    print(f"\n{len(args.seeds)} seeds {args.seeds}; mean per-centre test accuracy and AUC (± std over seeds)\n")
    print(format_table(summary, times))
    print("\nsettings:")
    for m in args.methods:
        print(f"  {m:<8} FLamby: {flamby_config(m).describe()}")
    if not args.flamby_only:
        for m, c in tuned_configs().items():
            print(f"  {m:<8} tuned : {c.describe()}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
