"""Chapter 05's case-study table on the four hospitals, for ``make bench``: every method with
FLamby's exact settings (TFF for the federated ones), FedAvg with shared scaling, and FLamby's
published mean and range over its 5 seeds beside each row it ran.

    python -m tools.case_study_table [--seeds 42 43 ...] [--methods local pooled ...]
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from utils.methods import METHODS, SEEDS, flamby_config

SHARED_CLIENT_LR = 0.01  # chapter 05 chooses it on validation rows


def format_table(summary, round_times: dict) -> str:
    lines = [f"{'method':<34} {'mean per-centre acc':>21} {'mean AUC':>17} {'FLamby [min, max]':>22} {'s/round':>8}"]
    for label, r in summary.iterrows():
        flamby = "" if math.isnan(r.flamby) else f"{r.flamby:.3f} [{r.flamby_min:.3f}, {r.flamby_max:.3f}]"
        t = round_times.get(label)
        lines.append(f"{label:<34} {r.accuracy:10.3f} ± {r.accuracy_std:.3f}       {r.auc:7.3f} ± {r.auc_std:.3f}  "
                     f"{flamby:>22} {'' if t is None else f'{t:.3f}':>8}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.case_study_table", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--methods", nargs="+", default=["local", "pooled", "fedavg", "fedprox", "fedadam"],
                    choices=list(METHODS))
    args = ap.parse_args(argv)

    from utils.case_study import run_experiment
    from utils.data import load_heart_disease
    from utils.setup import setup

    setup(tff=True, quiet=True)
    split = load_heart_disease()
    print(f"data: {split.source}. {split.note}".strip())
    t0 = time.perf_counter()
    methods = {f"{m} (FLamby's settings)": flamby_config(m) for m in args.methods}
    if "fedavg" in args.methods:
        methods["fedavg, shared scaling"] = flamby_config("fedavg").with_(client_lr=SHARED_CLIENT_LR, scaling="shared")
    results = run_experiment(split, methods, args.seeds, progress=False)
    summary = results.summary()
    print(f"\n{len(args.seeds)} seeds {args.seeds}; mean per-centre test accuracy and AUC (± std over seeds)\n")
    print(format_table(summary, results.round_times))
    print("\nsettings:")
    for label, row in summary.iterrows():
        print(f"  {label:<34} {row.settings}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
