"""FLamby's "Fed-Heart-Disease" preprocessing of the four hospitals, reproduced exactly.
Introduced in chapter 04 (used) and chapter 05 (explained).

Per centre: drop slope/ca/thal, drop rows with a missing value, label = num > 0, stratified 66/34
train/test split (seed 43). Then one-hot cp and restecg over the pooled centres (13 features) and
standardise (du Terrail et al., 2022; ``flamby/datasets/fed_heart_disease/dataset.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from utils import validate as v
from utils.heart import FLAMBY_COLUMNS, FLAMBY_DROPPED, HOSPITAL_NAMES, RawHeartData

__all__ = ["FederatedSplit", "flamby_clean", "flamby_train_test_indices", "flamby_one_hot", "flamby_split",
           "STANDARDIZE_CHOICES"]

FLAMBY_ONE_HOT = ("cp", "restecg")
# Levels of the one-hot columns. FLamby takes the union of the levels seen in
# the pooled data; for the real files that is exactly these, and fixing them
# keeps 13 features even for a small synthetic sample that misses a level.
FLAMBY_LEVELS = {"cp": (1, 2, 3, 4), "restecg": (0, 1, 2)}
FLAMBY_TRAIN_FRACTION = 0.66
FLAMBY_SPLIT_SEED = 43
FLAMBY_STD_EPS = 1e-9
STANDARDIZE_CHOICES = ("center", "pooled", None)
@dataclass
class FederatedSplit:
    """Per-hospital train/test arrays after FLamby preprocessing.

    ``train[h] = (X, y)`` with X float32 (n, 13) and y float32 (n,) in {0, 1}.
    """

    train: dict
    test: dict
    feature_names: list
    hospitals: tuple
    source: str
    note: str = ""
    standardize: object = "center"
    stats: dict = field(default_factory=dict, repr=False)
    unscaled: dict = field(default_factory=dict, repr=False)  # {"train": {h: (X, y)}, "test": ...}, before scaling

    def restandardize(self, how) -> "FederatedSplit":
        """The same rows standardised another way: "center" (each hospital with its own training
        statistics), "pooled" (every hospital with the pooled training statistics) or None."""
        v.choice("how", how, STANDARDIZE_CHOICES)
        return _scaled(self.unscaled["train"], self.unscaled["test"], how, self)

    def validation_split(self, fraction: float = 0.25, seed: int = 0) -> "FederatedSplit":
        """Each hospital's training rows cut in two (stratified): a split whose ``train`` holds the
        fit rows and whose ``test`` holds the validation rows, standardised as this split is, with
        statistics of the fit rows only. Choose hyper-parameters on it, never on the test rows."""
        from sklearn.model_selection import train_test_split

        fraction = v.fraction("fraction", fraction)
        seed = v.seed("seed", seed)
        fit, val = {}, {}
        for h, (X, y) in self.unscaled["train"].items():
            stratify = y if min(np.sum(y == 0), np.sum(y == 1)) >= 2 else None
            a, b = train_test_split(np.arange(len(y)), test_size=fraction, random_state=seed, stratify=stratify)
            fit[h], val[h] = (X[np.sort(a)], y[np.sort(a)]), (X[np.sort(b)], y[np.sort(b)])
        return _scaled(fit, val, self.standardize, self)

    def pooled(self, part: str = "train"):
        """All hospitals' rows of ``part`` ("train" or "test") concatenated (HOSPITALS order)."""
        parts = self._part(part)
        X = np.concatenate([parts[h][0] for h in self.hospitals])
        y = np.concatenate([parts[h][1] for h in self.hospitals])
        return X, y

    def sizes(self) -> pd.DataFrame:
        """Train/test rows and disease rate per hospital."""
        rows = []
        for h in self.hospitals:
            (_, ytr), (_, yte) = self.train[h], self.test[h]
            rows.append({
                "hospital": h, "name": HOSPITAL_NAMES[h],
                "train": len(ytr), "test": len(yte),
                "disease rate train": round(float(ytr.mean()), 3) if len(ytr) else float("nan"),
                "disease rate test": round(float(yte.mean()), 3) if len(yte) else float("nan"),
            })
        return pd.DataFrame(rows).set_index("hospital")

    def _part(self, part):
        if part not in ("train", "test"):
            raise ValueError(f"unknown part {part!r}; use 'train' or 'test'")
        return self.train if part == "train" else self.test


def _frame(name: str, frame, columns) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"{name} lacks the column(s) {absent}")
    return frame


def flamby_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """FLamby's per-centre cleaning: drop slope/ca/thal, then rows with any missing."""
    return _frame("frame", frame, FLAMBY_DROPPED).drop(columns=list(FLAMBY_DROPPED)).dropna().reset_index(drop=True)


def flamby_train_test_indices(labels: np.ndarray):
    """FLamby's per-centre 66/34 split (seed 43, stratified when possible).

    Returns (train_idx, test_idx), each sorted so rows keep their file order.
    """
    from sklearn.model_selection import train_test_split

    labels = v.binary("labels", v.vector("labels", labels))
    if len(labels) < 3:
        raise ValueError(f"labels has {len(labels)} rows; a 66/34 split needs at least 3")
    levels, counts = np.unique(labels, return_counts=True)
    # FLamby stratifies only if both classes have more than two rows.
    stratify = labels if len(levels) > 1 and (counts > 2).all() else None
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=1.0 - FLAMBY_TRAIN_FRACTION,
        train_size=FLAMBY_TRAIN_FRACTION, random_state=FLAMBY_SPLIT_SEED,
        shuffle=True, stratify=stratify,
    )
    return np.sort(train_idx), np.sort(test_idx)


def flamby_one_hot(features: pd.DataFrame) -> pd.DataFrame:
    """One-hot cp and restecg with the first level dropped (as pd.get_dummies(drop_first=True)).

    Levels are the union of those observed and ``FLAMBY_LEVELS`` so the
    feature set is the same for every centre and for small synthetic samples.
    """
    features = _frame("features", features, FLAMBY_ONE_HOT).copy()
    for col in FLAMBY_ONE_HOT:
        v.finite(f"features[{col!r}]", features[col].to_numpy(dtype=float))
        levels = sorted(set(FLAMBY_LEVELS[col]) | set(features[col].astype(int)))
        features[col] = pd.Categorical(features[col].astype(int), categories=levels)
    out = pd.get_dummies(features, columns=list(FLAMBY_ONE_HOT), drop_first=True)
    return out.astype("float64")


def _standardize(train: dict, test: dict, how) -> dict:
    """Standardise in place with train-row mean and unbiased std; return the stats.

    x' = (x - mean) / (std + 1e-9) as in FLamby. A column that is constant in
    the reference rows (e.g. Switzerland's chol, always 0) has std 0 and
    becomes 0 on train rows (FLamby's behaviour, kept on purpose).
    """
    if how is None:
        return {}
    if how == "pooled":
        ref = np.concatenate([X for X, _ in train.values()])
        stats = {h: (ref.mean(axis=0), ref.std(axis=0, ddof=1)) for h in train}
    else:
        stats = {h: (X.mean(axis=0), X.std(axis=0, ddof=1)) for h, (X, _) in train.items()}
    for parts in (train, test):
        for h, (X, y) in parts.items():
            mean, std = stats[h]
            parts[h] = ((X - mean) / (std + FLAMBY_STD_EPS), y)
    return stats


def flamby_split(raw: RawHeartData, standardize="center") -> FederatedSplit:
    """FLamby "Fed-Heart-Disease" preprocessing, reproduced exactly.

    Per centre: drop slope/ca/thal, drop rows with a missing value, label =
    num > 0, stratified 66/34 split (seed 43). Then one-hot cp/restecg over
    the pooled centres (13 features) and standardise: "center" (FLamby: each
    centre with its own train mean/std), "pooled" (all centres' train rows)
    or None (raw values).
    """
    v.choice("standardize", standardize, STANDARDIZE_CHOICES)
    if not isinstance(raw, RawHeartData):
        raise TypeError(f"raw must be the RawHeartData that load_raw() returns, got {type(raw).__name__}")
    hospitals = raw.hospitals
    cleaned = {h: flamby_clean(raw.frames[h]) for h in hospitals}
    # One-hot over the pooled rows (FLamby concatenates the centres first).
    pooled = pd.concat([cleaned[h][list(FLAMBY_COLUMNS)] for h in hospitals], ignore_index=True)
    encoded = flamby_one_hot(pooled)
    feature_names = list(encoded.columns)

    train, test, start = {}, {}, 0
    for h in hospitals:
        n = len(cleaned[h])
        X = encoded.iloc[start:start + n].to_numpy(dtype="float64")
        y = (cleaned[h]["num"].to_numpy() > 0).astype("float64")
        start += n
        tr, te = flamby_train_test_indices(y)
        train[h], test[h] = (X[tr], y[tr]), (X[te], y[te])

    meta = FederatedSplit(train={}, test={}, feature_names=feature_names, hospitals=hospitals,
                          source=raw.source, note=raw.note)
    return _scaled(train, test, standardize, meta)


def _scaled(train: dict, test: dict, how, meta: FederatedSplit) -> FederatedSplit:
    """A FederatedSplit of float32 arrays standardised ``how``, keeping the unscaled rows."""
    unscaled = {"train": dict(train), "test": dict(test)}
    train, test = dict(train), dict(test)
    stats = _standardize(train, test, how)
    as32 = lambda parts: {h: (X.astype(np.float32), y.astype(np.float32)) for h, (X, y) in parts.items()}
    return FederatedSplit(train=as32(train), test=as32(test), feature_names=list(meta.feature_names),
                          hospitals=meta.hospitals, source=meta.source, note=meta.note, standardize=how,
                          stats=stats, unscaled=unscaled)
