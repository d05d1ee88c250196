"""A synthetic twin of the four Heart Disease hospitals that knows its own true model.
Introduced in chapter 00 (the offline stand-in) and chapter 05 (its Bayes accuracy).

Why a twin? It lets every notebook run offline, and, because we wrote the
generator ourselves, we can compute the *best possible* accuracy (the
Bayes-optimal classifier) and compare federated models against it.

Generative model, per hospital h (parameters calibrated on the real files):

* label y ~ Bernoulli(prevalence_h);
* given (h, y) every feature is drawn independently (naive-Bayes structure):
  - continuous (age, trestbps, chol, thalach, oldpeak): Normal(mean, std)
    rounded to the real resolution (integers; oldpeak to 0.1). In trestbps
    and chol a value of 0 means "not measured" (Switzerland codes every chol
    as 0, VA about a quarter): it is a point mass at 0 with its own rate;
  - categorical (sex, cp, fbs, restecg, exang, slope, ca, thal): level
    probabilities with add-one smoothing over the levels seen in all centres;
* which columns are missing in a row is drawn from the hospital's real missing-value patterns
  (VA, for one, tends to lack trestbps, thalach, exang and oldpeak together), independently of
  the label (MCAR), so leaving a missing feature out of the posterior stays exact;
* num is 0 for y = 0, else 1-4 drawn from the hospital's observed mix.

Regenerate the parameters with ``python -m tools.calibrate_twin [DATA_DIR]``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from utils import validate as v
from utils.download import repo_root
from utils.heart import HOSPITALS, RAW_COLUMNS, check_hospitals

FEATURES = tuple(c for c in RAW_COLUMNS if c != "num")
CONTINUOUS = ("age", "trestbps", "chol", "thalach", "oldpeak")
CATEGORICAL = ("sex", "cp", "fbs", "restecg", "exang", "slope", "ca", "thal")
RESOLUTION = {"age": 1.0, "trestbps": 1.0, "chol": 1.0, "thalach": 1.0, "oldpeak": 0.1}
# 0 is physiologically impossible here and codes "not measured".
ZERO_CODED = ("trestbps", "chol")
DISEASE_GRADES = (1, 2, 3, 4)
TWIN_PARAMS_PATH = repo_root() / "data" / "heart_disease_twin.json"
DIGITS = 6


# --------------------------------------------------------------------------
# Calibration (real frames -> JSON-serialisable parameters)
# --------------------------------------------------------------------------

def _observed_levels(frames: dict) -> dict:
    """Levels of each categorical column seen in any centre (sorted ints)."""
    levels = {}
    for c in CATEGORICAL:
        seen = set()
        for f in frames.values():
            seen |= set(f[c].dropna().astype(int).tolist())
        levels[c] = sorted(seen)
    return levels


def _normal_fit(values: np.ndarray, fallback: np.ndarray, resolution: float) -> dict:
    """Mean and unbiased std; falls back to ``fallback`` rows if < 2 values.

    The std is floored at the rounding resolution: a Normal narrower than the
    rounding grid would put all its mass on one value.
    """
    if len(values) < 2:
        values = fallback
    if len(values) < 2:
        return {"mean": None, "std": None}
    return {"mean": float(np.mean(values)),
            "std": max(float(np.std(values, ddof=1)), resolution)}


def _continuous_params(col: str, values: np.ndarray, hospital_values: np.ndarray) -> dict:
    if col in ZERO_CODED:
        zero_rate = float(np.mean(values == 0)) if len(values) else 0.0
        values, hospital_values = values[values != 0], hospital_values[hospital_values != 0]
    else:
        zero_rate = 0.0
    params = _normal_fit(values, hospital_values, RESOLUTION[col])
    if params["mean"] is None and zero_rate < 1.0:
        raise ValueError(f"column {col!r}: not enough non-zero values to fit a Normal")
    params["zero_rate"] = zero_rate
    return params


def _categorical_params(values: np.ndarray, levels: list) -> dict:
    """Add-one (Laplace) smoothed level probabilities."""
    counts = {lev: int(np.sum(values == lev)) for lev in levels}
    total = len(values) + len(levels)
    return {str(lev): (counts[lev] + 1) / total for lev in levels}


def _missing_patterns(frame: pd.DataFrame) -> dict:
    """Share of rows per missing-value pattern: a string over FEATURES, '1' = missing."""
    patterns = frame[list(FEATURES)].isna().astype(int).astype(str).agg("".join, axis=1)
    return {p: float(share) for p, share in patterns.value_counts(normalize=True).sort_index().items()}


def _calibrate_hospital(frame: pd.DataFrame, levels: dict) -> dict:
    diseased = frame["num"].to_numpy() > 0
    classes = {}
    for label in (0, 1):
        rows = frame[diseased == bool(label)]
        classes[str(label)] = {
            "continuous": {
                c: _continuous_params(c, rows[c].dropna().to_numpy(), frame[c].dropna().to_numpy())
                for c in CONTINUOUS},
            "categorical": {
                c: _categorical_params(rows[c].dropna().to_numpy(), levels[c])
                for c in CATEGORICAL},
        }
    num = frame.loc[diseased, "num"].to_numpy()
    return {
        "n_rows": int(len(frame)),
        "prevalence": float(diseased.mean()),
        "missing_rate": {c: float(frame[c].isna().mean()) for c in FEATURES},
        "missing_patterns": _missing_patterns(frame),
        "num_given_disease": {str(g): float(np.mean(num == g)) if len(num) else 0.25
                              for g in DISEASE_GRADES},
        "classes": classes,
    }


def _rounded(obj, digits: int = DIGITS):
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj


def calibrate(frames: dict) -> dict:
    """Fit the twin's parameters to real per-hospital frames (RAW_COLUMNS).

    Returns a JSON-serialisable dict (floats rounded to 6 digits) with
    ``meta`` (columns, levels, resolution) and ``hospitals`` (per hospital:
    n_rows, prevalence, per-class continuous mean/std/zero_rate and
    categorical probabilities, per-column missing rate, num mix among the
    diseased).
    """
    hospitals = check_hospitals(list(frames))
    levels = _observed_levels(frames)
    params = {
        "meta": {
            "description": "Synthetic twin of the UCI Heart Disease hospitals "
                           "(naive Bayes per hospital and class, MCAR missing-value patterns). "
                           "Regenerate with: python -m tools.calibrate_twin [DATA_DIR]",
            "continuous": list(CONTINUOUS),
            "categorical": list(CATEGORICAL),
            "levels": levels,
            "resolution": dict(RESOLUTION),
            "zero_coded": list(ZERO_CODED),
        },
        "hospitals": {h: _calibrate_hospital(frames[h], levels) for h in hospitals},
    }
    return _rounded(params)


def params_to_json(params: dict) -> str:
    """Pretty, key-sorted JSON text (what is committed in data/)."""
    return json.dumps(params, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------
# Exact log-likelihoods (used by the posterior)
# --------------------------------------------------------------------------

def _log_interval_mass(v, mean, std, resolution):
    """log P(round(X) == v) for X ~ Normal(mean, std): log(Φ(b) - Φ(a)), tail-stable."""
    a = (v - resolution / 2 - mean) / std
    b = (v + resolution / 2 - mean) / std
    # In the right tail Φ(b) ≈ Φ(a) ≈ 1 loses precision: use symmetry there.
    flip = a > 0
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    log_b, log_a = log_ndtr(b), log_ndtr(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_b + np.log1p(-np.exp(log_a - log_b))


def _continuous_loglik(v: np.ndarray, p: dict, resolution: float) -> np.ndarray:
    z = p["zero_rate"]
    mean = 0.0 if p["mean"] is None else p["mean"]
    std = 1.0 if p["std"] is None else p["std"]
    with np.errstate(divide="ignore"):
        log_normal = np.log1p(-z) + _log_interval_mass(v, mean, std, resolution)
        log_zero = np.where(v == 0, np.log(z), -np.inf)
    return np.logaddexp(log_zero, log_normal)


def _categorical_loglik(v: np.ndarray, probs: dict, col: str, hospital: str) -> np.ndarray:
    levels = np.array([float(k) for k in probs])
    logp = np.log(np.array(list(probs.values())))
    idx = np.clip(np.searchsorted(levels, v), 0, len(levels) - 1)
    bad = levels[idx] != v
    if bad.any():
        raise ValueError(f"{hospital}: column {col!r} has value {v[bad][0]!r}, "
                         f"not one of the twin's levels {levels.tolist()}")
    return logp[idx]


# --------------------------------------------------------------------------
# The twin
# --------------------------------------------------------------------------

def _check_columns(columns) -> tuple:
    if columns is None:
        return FEATURES
    if isinstance(columns, str):
        columns = (columns,)
    unknown = [c for c in columns if c not in FEATURES]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown!r}; valid columns are {list(FEATURES)}")
    return tuple(columns)


def _check_size(n, hospital) -> int:
    return v.integer(f"n_per_hospital (rows for {hospital!r})", n, 1, v.MAX_ROWS)


def _normalised(probs: dict) -> dict:
    """Rounded probabilities, renormalised to sum to exactly 1."""
    total = sum(probs.values())
    return {k: v / total for k, v in probs.items()}


class HeartDiseaseTwin:
    """Synthetic generator of the four hospitals with an exact posterior.

    ``params``: None (load data/heart_disease_twin.json), a dict from
    ``calibrate``, or a path to such a JSON file.
    """

    def __init__(self, params=None):
        if params is None:
            params = TWIN_PARAMS_PATH
        if isinstance(params, (str, Path)):
            params = json.loads(Path(params).read_text())
        if not isinstance(params, dict) or "hospitals" not in params:
            raise ValueError("params must be a dict from utils.twin.calibrate (with 'hospitals')")
        params = copy.deepcopy(params)  # we renormalise below; leave the caller's dict alone
        self.params = params
        self.hospitals = check_hospitals(list(params["hospitals"]))
        for hp in params["hospitals"].values():
            for cls in hp["classes"].values():
                cls["categorical"] = {c: _normalised(p) for c, p in cls["categorical"].items()}
            hp["num_given_disease"] = _normalised(hp["num_given_disease"])

    # ---- sampling --------------------------------------------------------

    def sizes(self, n_per_hospital=None, hospitals=None) -> dict:
        """Resolve ``n_per_hospital`` (None / int / dict) into {hospital: n}."""
        if isinstance(n_per_hospital, dict):
            check_hospitals(list(n_per_hospital))
            if hospitals is None:
                hospitals = list(n_per_hospital)
        hospitals = self._check_hospitals(hospitals)
        sizes = {}
        for h in hospitals:
            if n_per_hospital is None:
                n = self.params["hospitals"][h]["n_rows"]
            elif isinstance(n_per_hospital, dict):
                if h not in n_per_hospital:
                    raise ValueError(f"n_per_hospital has no size for hospital {h!r}")
                n = n_per_hospital[h]
            else:
                n = n_per_hospital
            sizes[h] = _check_size(n, h)
        return sizes

    def sample(self, n_per_hospital=None, hospitals=None, seed: int = 0) -> dict:
        """Draw ``{hospital: DataFrame}`` with the 14 RAW_COLUMNS (NaN = missing).

        n_per_hospital: None → the real sizes; int → that many per hospital;
        dict → per hospital. Each hospital has its own random stream, so a
        hospital's rows do not depend on which other hospitals are drawn.
        """
        seed = v.seed("seed", seed)
        sizes = self.sizes(n_per_hospital, hospitals)
        return {h: self._sample_hospital(h, n, np.random.default_rng([int(seed), HOSPITALS.index(h)]))
                for h, n in sizes.items()}

    def _sample_hospital(self, h: str, n: int, rng) -> pd.DataFrame:
        hp = self.params["hospitals"][h]
        y = rng.random(n) < hp["prevalence"]
        c0, c1 = hp["classes"]["0"], hp["classes"]["1"]
        out = {}
        for col in FEATURES:
            if col in CONTINUOUS:
                out[col] = self._draw_continuous(col, c0["continuous"][col], c1["continuous"][col], y, rng)
            else:
                out[col] = self._draw_categorical(c0["categorical"][col], c1["categorical"][col], y, rng)
        patterns = list(hp["missing_patterns"])
        shares = np.array([hp["missing_patterns"][p] for p in patterns])
        drawn = rng.choice(len(patterns), size=n, p=shares / shares.sum())  # MCAR: independent of y
        for j, col in enumerate(FEATURES):
            missing = np.array([patterns[k][j] == "1" for k in range(len(patterns))])[drawn]
            out[col][missing] = np.nan
        grades = np.array(DISEASE_GRADES, dtype=float)
        probs = np.array([hp["num_given_disease"][str(g)] for g in DISEASE_GRADES])
        out["num"] = np.where(y, rng.choice(grades, size=n, p=probs), 0.0)
        return pd.DataFrame(out, columns=list(RAW_COLUMNS)).astype("float64")

    @staticmethod
    def _draw_continuous(col, p0, p1, y, rng) -> np.ndarray:
        pick = lambda key, default: np.where(y, p1[key] if p1[key] is not None else default,
                                             p0[key] if p0[key] is not None else default)
        x = rng.normal(pick("mean", 0.0), pick("std", 1.0))
        r = RESOLUTION[col]
        x = np.round(x / r) * r
        x = np.round(x, 1) + 0.0  # clean float noise (0.30000000000000004) and -0.0
        zero = rng.random(len(y)) < pick("zero_rate", 0.0)
        x[zero] = 0.0
        return x

    @staticmethod
    def _draw_categorical(p0, p1, y, rng) -> np.ndarray:
        levels = np.array([float(k) for k in p0])
        cum = np.where(y[:, None], np.cumsum(list(p1.values())), np.cumsum(list(p0.values())))
        idx = (rng.random(len(y))[:, None] > cum).sum(axis=1)
        return levels[np.minimum(idx, len(levels) - 1)]

    # ---- exact posterior -------------------------------------------------

    def posterior(self, frame: pd.DataFrame, hospital: str, columns=None) -> np.ndarray:
        """Exact p(y = 1 | observed features, hospital) for each row of ``frame``.

        Missing values (NaN) are left out, which is exact because missingness
        is independent of everything (MCAR). ``columns`` restricts the
        features used (e.g. the ones a model actually sees).
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        (hospital,) = self._check_hospitals([hospital])
        columns = _check_columns(columns)
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise ValueError(f"frame lacks column(s) {absent!r}")
        hp = self.params["hospitals"][hospital]
        prev = hp["prevalence"]
        with np.errstate(divide="ignore"):
            logit = np.full(len(frame), np.log(prev) - np.log1p(-prev))
        for col in columns:
            v = frame[col].to_numpy(dtype="float64")
            seen = ~np.isnan(v)
            if not seen.any():
                continue
            ll = [self._loglik(col, v[seen], hp["classes"][str(k)], hospital) for k in (0, 1)]
            with np.errstate(invalid="ignore"):
                diff = ll[1] - ll[0]
            # A value impossible under both classes carries no information.
            logit[seen] += np.nan_to_num(diff, nan=0.0)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-logit))

    @staticmethod
    def _loglik(col, v, cls, hospital):
        if col in CONTINUOUS:
            return _continuous_loglik(v, cls["continuous"][col], RESOLUTION[col])
        return _categorical_loglik(v, cls["categorical"][col], col, hospital)

    def bayes_accuracy(self, frames: dict, columns=None) -> float:
        """Expected accuracy of the Bayes-optimal classifier on these rows.

        Mean over all rows of max(p, 1 - p), where p is the exact posterior
        given the hospital and the (non-missing) ``columns``. No model that
        sees only these columns can beat it in expectation.
        """
        self._check_hospitals(list(frames))
        p = np.concatenate([self.posterior(f, h, columns) for h, f in frames.items()])
        if len(p) == 0:
            raise ValueError("frames contain no rows")
        return float(np.mean(np.maximum(p, 1.0 - p)))

    def _check_hospitals(self, hospitals):
        hospitals = check_hospitals(hospitals)
        missing = [h for h in hospitals if h not in self.params["hospitals"]]
        if missing:
            raise ValueError(f"hospital(s) {missing!r} are not in these twin parameters")
        return hospitals


_DEFAULT_TWIN = None


def default_twin() -> HeartDiseaseTwin:
    """The twin calibrated on the real files (data/heart_disease_twin.json), cached."""
    global _DEFAULT_TWIN
    if _DEFAULT_TWIN is None:
        _DEFAULT_TWIN = HeartDiseaseTwin()
    return _DEFAULT_TWIN


def posterior(frame: pd.DataFrame, hospital: str, columns=None) -> np.ndarray:
    """Exact p(y = 1 | x, hospital) under the default twin. See HeartDiseaseTwin.posterior."""
    return default_twin().posterior(frame, hospital, columns)


def bayes_accuracy(frames: dict, columns=None) -> float:
    """Bayes-optimal expected accuracy under the default twin. See HeartDiseaseTwin.bayes_accuracy."""
    return default_twin().bayes_accuracy(frames, columns)
