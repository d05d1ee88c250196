"""Many small clients from the heart-disease data: the clinics of chapter 07. Introduced in chapter 07.

Client sampling needs many clients; the four hospitals are four. ``clinics`` deals each hospital's
training rows to clinics (clinics of one hospital share its population, clinics of different hospitals
differ as the hospitals do; ``iid=True`` is the control without that heterogeneity). ``twin_clinics``
builds the chapter's federation from the synthetic twin (``utils.twin``): clinics plus large, separate
validation and test draws, scaled like the training rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from utils import validate as v

__all__ = ["clinics", "TwinClinics", "twin_clinics"]


def clinics(split, n_clinics: int = 100, seed: int = 0, iid: bool = False) -> dict:
    """Many small clients from a ``FederatedSplit``: each hospital's training rows dealt at random to
    clinics, the number of clinics per hospital proportional to its rows (largest remainder, at least
    one each). Clinics of one hospital share its population; clinics of different hospitals do not.

    ``iid=True`` is the control without heterogeneity: the same clinic sizes, filled from all
    hospitals' rows shuffled together. Returns ``{name: (X, y)}`` (float64 arrays).
    """
    from utils.flamby import FederatedSplit

    if not isinstance(split, FederatedSplit):
        raise TypeError(f"split must be a FederatedSplit (load_heart_disease, flamby_split), got {type(split).__name__}")
    sizes = np.array([len(split.train[h][1]) for h in split.hospitals])
    n_clinics = v.integer("n_clinics", n_clinics, len(sizes), int(sizes.sum()))
    rng = np.random.default_rng(v.seed("seed", seed))
    iid = v.flag("iid", iid)
    raw = sizes / sizes.sum() * (n_clinics - len(sizes))
    per_hospital = np.floor(raw).astype(int)
    per_hospital[np.argsort(raw - per_hospital, kind="stable")[::-1][:n_clinics - len(sizes) - per_hospital.sum()]] += 1
    per_hospital += 1
    parts = []
    for h, k in zip(split.hospitals, per_hospital):
        X, y = split.train[h]
        for i, rows in enumerate(np.array_split(rng.permutation(len(y)), k)):
            parts.append((f"{h} {i + 1}", X[np.sort(rows)].astype(np.float64), y[np.sort(rows)].astype(np.float64)))
    if not iid:
        return {name: (X, y) for name, X, y in parts}
    X_all = np.concatenate([X for _, X, _ in parts])
    y_all = np.concatenate([y for _, _, y in parts])
    order = rng.permutation(len(y_all))
    cuts = np.cumsum([len(y) for _, _, y in parts])[:-1]
    return {f"mixed {j + 1}": (X_all[np.sort(rows)], y_all[np.sort(rows)])
            for j, rows in enumerate(np.split(order, cuts))}


@dataclass(frozen=True)
class TwinClinics:
    """The chapter's many-client federation (see ``twin_clinics``).

    ``clients``: {clinic: (X, y)}; ``validation``/``test``: {name: (X, y)} to choose settings on and to
    report on; ``split``: the training draw's FederatedSplit (its ``train`` rows make the clinics);
    ``test_frames``: the test patients' cleaned raw rows per hospital, for the twin's Bayes accuracy.
    """

    split: object
    clients: dict
    validation: dict
    test: dict
    test_frames: dict = field(repr=False)


def twin_clinics(n_per_hospital: int = 1200, n_clinics: int = 100, seed: int = 7,
                 n_test_per_hospital: int = 4000, n_validation_per_hospital: int = 2000) -> TwinClinics:
    """Many clinics from the heart-disease twin (``utils.twin``).

    ``n_per_hospital`` synthetic patients per hospital (seed ``seed``) go through FLamby's
    preprocessing with shared scaling (pooled training statistics, which a federation computes from
    counts, sums and sums of squares: chapter 05); their training rows become ``n_clinics`` clinics
    (``clinics``); FLamby's test rows of that draw are not used. Separate draws of
    ``n_test_per_hospital`` (seed ``seed + 1``) and ``n_validation_per_hospital`` (seed ``seed + 2``)
    patients per hospital, cleaned the same way and scaled with the same statistics, are the test and
    the validation sets: large, so that differences between methods are not swamped by their own
    sampling error.
    """
    import pandas as pd

    from utils.flamby import FLAMBY_STD_EPS, flamby_clean, flamby_one_hot, flamby_split
    from utils.heart import FLAMBY_COLUMNS, RawHeartData
    from utils.twin import HeartDiseaseTwin

    n_per_hospital = v.integer("n_per_hospital", n_per_hospital, 20, 100_000)
    seed = v.seed("seed", seed)
    if seed >= 2**32 - 2:
        raise ValueError(f"seed must be < {2**32 - 2}: the test and validation draws use seed + 1 and seed + 2")
    n_test = v.integer("n_test_per_hospital", n_test_per_hospital, 1, 100_000)
    n_val = v.integer("n_validation_per_hospital", n_validation_per_hospital, 1, 100_000)
    twin = HeartDiseaseTwin()
    frames = twin.sample(n_per_hospital, seed=seed)
    split = flamby_split(RawHeartData(frames=frames, source="synthetic",
                                      note=f"{n_per_hospital} synthetic patients per hospital (twin seed {seed})."),
                         "pooled")
    clients = clinics(split, n_clinics, seed=0)
    mean, std = split.stats[split.hospitals[0]]

    def held_out(n, draw_seed):
        frames = {h: flamby_clean(f) for h, f in twin.sample(n, seed=draw_seed).items()}
        encoded = flamby_one_hot(pd.concat([f[list(FLAMBY_COLUMNS)] for f in frames.values()], ignore_index=True))
        if list(encoded.columns) != list(split.feature_names):
            raise RuntimeError(f"held-out features {list(encoded.columns)} differ from training features {split.feature_names}")
        X = np.ascontiguousarray((encoded.to_numpy(dtype=float) - mean) / (std + FLAMBY_STD_EPS))
        y = np.concatenate([(f["num"].to_numpy() > 0).astype(float) for f in frames.values()])
        return frames, (X, y)

    test_frames, test = held_out(n_test, seed + 1)
    _, validation = held_out(n_val, seed + 2)
    return TwinClinics(split=split, clients=clients, validation={"validation patients": validation},
                       test={"test patients": test}, test_frames=test_frames)
