"""What changes between domains: hospitals, banks and utilities side by side. Introduced in chapter 08.

Each case study gives a long table of per-client scores, one row per (method, seed, client), in its
own metric (accuracy for the hospitals, AUC for the banks, MAPE for the utilities). ``summarize_domain``
turns it into one comparable row: how many clients, what federated training gained over each client's
own model and what it lost against pooling, in the domain's metric, with the seeds' spread.
``hospital_scores`` scores chapter 05's hospitals the way chapter 08 scores the banks (local and pooled
models trained to their optimum, FedAvg with chapter 05's schedule, every choice on validation rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from utils import validate as v

__all__ = ["LONG_COLUMNS", "summarize_domain", "hospital_scores"]

LONG_COLUMNS = ("method", "seed", "client", "score")


def summarize_domain(scores: pd.DataFrame, higher_is_better: bool = True, local: str = "local",
                     federated: str = "FedAvg", pooled: str = "pooled") -> dict:
    """One row of the domain comparison from per-client ``scores`` (``LONG_COLUMNS``).

    Per seed, each method's score is the mean over clients; "gain over local" is federated − local and
    "loss against pooled" is pooled − federated, both signed so that positive means better for the
    named side (for errors, lower is better, so the signs flip). Returned with their std over seeds and
    the number of clients whose own mean score improves with the federated model."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame with columns {list(LONG_COLUMNS)}, got {type(scores).__name__}")
    if not set(LONG_COLUMNS) <= set(scores.columns):
        raise ValueError(f"scores must have the columns {list(LONG_COLUMNS)}, got {list(scores.columns)}")
    higher_is_better = v.flag("higher_is_better", higher_is_better)
    for name, value in (("local", local), ("federated", federated), ("pooled", pooled)):
        v.text(name, value)
        if value not in set(scores["method"]):
            raise ValueError(f"{name} {value!r} is not a method in scores; it has {sorted(set(scores['method']))}")
    sign = 1.0 if higher_is_better else -1.0
    per_seed = scores.groupby(["method", "seed"])["score"].mean().unstack("method")
    gain = sign * (per_seed[federated] - per_seed[local])
    loss = sign * (per_seed[pooled] - per_seed[federated])
    per_client = scores.groupby(["method", "client"])["score"].mean().unstack("method")
    improved = int((sign * (per_client[federated] - per_client[local]) > 0).sum())
    return {"clients": int(scores["client"].nunique()),
            "local": float(per_seed[local].mean()), "federated": float(per_seed[federated].mean()),
            "pooled": float(per_seed[pooled].mean()),
            "gain over local": float(gain.mean()), "gain std": float(gain.std(ddof=1)) if len(gain) > 1 else 0.0,
            "loss against pooled": float(loss.mean()), "loss std": float(loss.std(ddof=1)) if len(loss) > 1 else 0.0,
            "clients that gain": improved, "seeds": int(len(per_seed))}


def hospital_scores(seeds=(42, 43, 44), split=None, lrs=(0.001, 0.003, 0.01), l2s=(1e-3, 1e-2, 1e-1, 1.0)) -> pd.DataFrame:
    """The four hospitals, scored like the banks of chapter 08, as per-client scores (test accuracy at
    threshold 0.5, chapter 05's metric). Every method uses the shared scaling (pooled training statistics,
    chapter 05). Local-only and pooled models are logistic regressions trained to their optimum with an
    L2 penalty from ``l2s``; FedAvg follows chapter 05 (15 rounds × 100 steps of 4 rows, size-weighted)
    with its client learning rate from ``lrs``. Both choices are made on validation rows carved from the
    training rows (``validation_split(0.25)``; FedAvg over 2 seeds), then the models are refitted on all
    training rows. ``split``: ``load_heart_disease()`` (default: real files, or the twin offline)."""
    from utils.banks import train_logistic
    from utils.case_study import hospital_metrics
    from utils.data import load_heart_disease
    from utils.fedcore import run_fedavg
    from utils.flamby import FederatedSplit
    from utils.local_training import Schedule
    from utils.models import initial_weights, logistic_loss, to_theta

    if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, (list, tuple, range)) or not seeds:
        raise TypeError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    seeds = tuple(v.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds))
    lrs = tuple(v.positive(f"lrs[{i}]", x) for i, x in enumerate(_grid("lrs", lrs)))
    l2s = tuple(v.nonneg(f"l2s[{i}]", x) for i, x in enumerate(_grid("l2s", l2s)))
    split = load_heart_disease() if split is None else split
    if not isinstance(split, FederatedSplit):
        raise TypeError(f"split must be the FederatedSplit that load_heart_disease() returns, got {type(split).__name__}")
    data = split.restandardize("pooled")
    fit = data.validation_split(0.25, seed=0)      # fit rows in .train, validation rows in .test

    def fedavg(part, lr, seed):
        return run_fedavg(part.train, 15, lr=lr, theta0=to_theta(initial_weights(seed, len(part.feature_names))),
                          schedule=Schedule(batch_size=4, steps=100, shuffle=True), seed=seed, weighting="size").final

    def best_l2(X, y, Xv, yv):
        return min(l2s, key=lambda l2: logistic_loss(train_logistic(X, y, l2), Xv, yv))

    local = {h: train_logistic(*data.train[h], best_l2(*fit.train[h], *fit.test[h])) for h in data.hospitals}
    pooled = train_logistic(*data.pooled("train"), best_l2(*fit.pooled("train"), *fit.pooled("test")))
    val_loss = {lr: np.mean([logistic_loss(fedavg(fit, lr, s), *fit.pooled("test")) for s in (42, 43)]) for lr in lrs}
    chosen = min(val_loss, key=val_loss.get)
    rows = []
    for seed in seeds:
        for name, model in (("local", local), ("pooled", pooled), ("FedAvg", fedavg(data, chosen, seed))):
            table = hospital_metrics(model, data).rename(columns={"hospital": "client", "accuracy": "score"})
            rows.append(table.assign(method=name, seed=seed)[list(LONG_COLUMNS)])
    out = pd.concat(rows, ignore_index=True)
    out.attrs["fedavg_lr"] = chosen
    return out


def _grid(name, values) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}")
    return tuple(values)
