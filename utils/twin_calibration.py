"""Fitting the synthetic twin (``utils.twin``) to the real hospitals: real frames → JSON parameters.
Introduced in chapter 00 (the offline stand-in) and chapter 05 (its Bayes accuracy).

Only rows outside FLamby's test sets are used, for everything: marginals, correlations, missing-value
patterns and the label model. FLamby's test rows are a stratified 34 % of each hospital's complete
rows, so the complete training rows stand for all complete rows: they carry weight
n_complete / n_complete_train, and rows FLamby drops (a missing FLamby column) weight 1. Shares
(marginals, missing patterns, num grades) then refer to the whole file without reading a test row.

The public names are re-exported by ``utils.twin``; use them from there.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, ndtr, ndtri

from utils import validate as v
from utils.flamby import FLAMBY_LEVELS, flamby_train_test_indices
from utils.heart import FLAMBY_COLUMNS, HOSPITALS, RAW_COLUMNS, check_hospitals

__all__ = ["model_matrix", "draw_features", "calibrate", "params_to_json"]

FEATURES = tuple(c for c in RAW_COLUMNS if c != "num")
MODEL_COLUMNS = FLAMBY_COLUMNS  # the 10 raw columns the true label model reads
NUMERIC = ("age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak")
# FLamby's 13 features, in its order: numeric columns, then cp and restecg one-hot (first level dropped).
MODEL_FEATURES = NUMERIC + tuple(f"{c}_{lev}" for c in ("cp", "restecg") for lev in FLAMBY_LEVELS[c][1:])
DISEASE_GRADES = (1, 2, 3, 4)
DIGITS = 6
# A correlation estimated from fewer (weighted) row pairs is set to 0: too noisy to keep.
MIN_PAIRS = 20
# Eigenvalue floor when repairing a pairwise correlation matrix: keeps its Cholesky safe after rounding.
MIN_EIGENVALUE = 1e-3
# L2 penalties, per unit of summed log-loss. The one on the 13 slopes is chosen by cross-validation
# from this grid. The one on the hospital offsets only keeps them finite (Switzerland's 30 complete
# training rows are all diseased, so cross-validation would always ask for less): the intercepts
# are then set from each hospital's prevalence anyway (_match_prevalence).
SLOPE_PENALTIES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
OFFSET_PENALTY = 0.01
CV_FOLDS, CV_REPEATS = 5, 4
# Copula rows drawn (fixed seed) to set each hospital's intercept to its prevalence.
PREVALENCE_DRAWS, PREVALENCE_SEED = 20_000, 12345


def model_matrix(frame: pd.DataFrame, hospital: str) -> np.ndarray:
    """FLamby's 13 features (unscaled) of rows whose 10 model columns are all observed.

    Raises ValueError naming the column when a value is missing or a cp/restecg level is unknown.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    (hospital,) = check_hospitals([hospital])
    absent = [c for c in MODEL_COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"frame lacks column(s) {absent!r}")
    for c in MODEL_COLUMNS:
        try:
            values = frame[c].to_numpy(dtype="float64")
        except (TypeError, ValueError):
            raise TypeError(f"{hospital}: column {c!r} must hold numbers, got dtype {frame[c].dtype}") from None
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{hospital}: column {c!r} is missing (NaN) or infinite in {int(bad.sum())} of {len(values)} rows "
                f"(first at position {int(np.argmax(bad))}); the twin's true model needs all of "
                f"{list(MODEL_COLUMNS)}: drop such rows first (e.g. utils.flamby.flamby_clean)")
    cols = [frame[c].to_numpy(dtype="float64") for c in NUMERIC]
    for c in ("cp", "restecg"):
        values = frame[c].to_numpy(dtype="float64")
        unknown = ~np.isin(values, FLAMBY_LEVELS[c])
        if unknown.any():
            raise ValueError(f"{hospital}: column {c!r} has value {values[unknown][0]!r}, "
                             f"not one of the levels {list(FLAMBY_LEVELS[c])}")
        cols += [(values == lev).astype("float64") for lev in FLAMBY_LEVELS[c][1:]]
    return np.column_stack(cols) if len(frame) else np.zeros((0, len(MODEL_FEATURES)))


# ---- which rows, with which weight ------------------------------------------------------------------

def _calibration_rows(frame: pd.DataFrame, hospital: str):
    """(non-test rows, their weights, complete training rows) of one hospital."""
    complete = frame[list(FLAMBY_COLUMNS) + ["num"]].notna().all(axis=1).to_numpy()
    clean = frame[complete]
    if len(clean) < 3:
        raise ValueError(f"frames[{hospital!r}] has {len(clean)} complete rows; FLamby's split needs 3")
    train_idx, test_idx = flamby_train_test_indices((clean["num"].to_numpy() > 0).astype(float))
    rows = frame.drop(index=clean.index[test_idx])
    weights = np.where(complete[~frame.index.isin(clean.index[test_idx])], len(clean) / len(train_idx), 1.0)
    return rows, weights, clean.iloc[train_idx]


# ---- the features: empirical marginals + a Gaussian copula -------------------------------------------

def _marginal(values: np.ndarray, weights: np.ndarray):
    """Weighted empirical distribution: sorted distinct values and their cumulative shares."""
    levels, inverse = np.unique(values, return_inverse=True)
    cdf = np.cumsum(np.bincount(inverse, weights=weights)) / weights.sum()
    cdf[-1] = 1.0
    return levels, cdf, inverse


def _normal_scores(frame: pd.DataFrame, weights: np.ndarray):
    """Marginals per column, and each observed value's normal score Φ⁻¹(mid-point of its CDF step)."""
    marginals, scores = {}, np.full((len(frame), len(FEATURES)), np.nan)
    for j, c in enumerate(FEATURES):
        seen = frame[c].notna().to_numpy()
        if not seen.any():
            marginals[c] = None  # never observed here: always missing in this hospital's patterns
            continue
        levels, cdf, inverse = _marginal(frame[c].to_numpy()[seen], weights[seen])
        below = np.concatenate([[0.0], cdf[:-1]])
        scores[seen, j] = ndtri((below + cdf) / 2)[inverse]
        marginals[c] = {"values": levels.tolist(), "cdf": cdf.tolist()}
    return marginals, scores


def _correlation(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted pairwise-complete correlation of normal scores, repaired to a proper correlation matrix."""
    k = scores.shape[1]
    r = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            both = ~np.isnan(scores[:, i]) & ~np.isnan(scores[:, j])
            w = weights[both]
            if w.sum() < MIN_PAIRS:
                continue
            a, b = scores[both, i], scores[both, j]
            a, b = a - np.average(a, weights=w), b - np.average(b, weights=w)
            den = np.sqrt(np.average(a * a, weights=w) * np.average(b * b, weights=w))
            r[i, j] = r[j, i] = np.average(a * b, weights=w) / den if den > 0 else 0.0  # constant: none
    # Pairwise estimates need not form a valid matrix: floor the eigenvalues, restore the unit diagonal.
    vals, vecs = np.linalg.eigh(r)
    r = (vecs * np.maximum(vals, MIN_EIGENVALUE)) @ vecs.T
    d = np.sqrt(np.diag(r))
    return r / np.outer(d, d)


def draw_features(hospital_params: dict, n: int, rng) -> pd.DataFrame:
    """n complete rows of FEATURES from one hospital's copula (NaN in columns it never recorded)."""
    n = v.integer("n", n, 0, v.MAX_ROWS)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be np.random.default_rng(...), got {type(rng).__name__}")
    if not isinstance(hospital_params, dict) or not {"correlation", "marginals"} <= set(hospital_params):
        raise ValueError("hospital_params must be one hospital's entry of calibrate()['hospitals']")
    factor = np.linalg.cholesky(np.array(hospital_params["correlation"], dtype="float64"))
    u = ndtr(rng.standard_normal((n, len(FEATURES))) @ factor.T)
    out = {}
    for j, c in enumerate(FEATURES):
        m = hospital_params["marginals"][c]
        if m is None:
            out[c] = np.full(n, np.nan)
            continue
        values, cdf = np.array(m["values"], dtype="float64"), np.array(m["cdf"], dtype="float64")
        out[c] = values[np.minimum(np.searchsorted(cdf, u[:, j]), len(values) - 1)]  # inverse CDF
    return pd.DataFrame(out, columns=list(FEATURES))


def _missing_patterns(frame: pd.DataFrame, weights: np.ndarray) -> dict:
    """Weighted share of each missing-value pattern: a string over FEATURES, '1' = missing."""
    patterns = frame[list(FEATURES)].isna().astype(int).astype(str).agg("".join, axis=1).to_numpy()
    keys, inverse = np.unique(patterns, return_inverse=True)
    shares = np.bincount(inverse, weights=weights) / weights.sum()
    return {str(key): float(share) for key, share in zip(keys, shares)}


def _calibrate_hospital(frame: pd.DataFrame, hospital: str) -> dict:
    rows, weights, _ = _calibration_rows(frame, hospital)
    marginals, scores = _normal_scores(rows, weights)
    diseased = rows["num"].to_numpy() > 0
    grades = rows["num"].to_numpy()[diseased]
    w = weights[diseased]
    return {
        "n_rows": int(len(frame)),
        "marginals": marginals,
        "correlation": _correlation(scores, weights).tolist(),
        "missing_patterns": _missing_patterns(rows, weights),
        "prevalence": float(np.average(diseased, weights=weights)),
        "num_given_disease": {str(g): float(w[grades == g].sum() / w.sum()) if w.sum() else 0.25
                              for g in DISEASE_GRADES},
    }


# ---- the label: an L2 logistic regression with hospital offsets, penalties by cross-validation ----------

def _fit_logistic(A: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """argmin Σ log-loss + ½ Σ penalty·w², by Newton's method with step halving (converges to 1e-10)."""
    w = np.zeros(A.shape[1])
    loss = lambda w: float(np.sum(np.logaddexp(0, A @ w) - y * (A @ w)) + 0.5 * penalty @ (w * w))
    for _ in range(100):
        p = expit(A @ w)
        step = np.linalg.solve((A.T * (p * (1 - p))) @ A + np.diag(penalty), A.T @ (p - y) + penalty * w)
        t, current = 1.0, loss(w)
        while loss(w - t * step) > current + 1e-12 and t > 1e-6:
            t /= 2
        w = w - t * step
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return w


def _label_model(train: dict) -> dict:
    """p(y=1 | x, h) = σ(intercept_h + Σ coef·(x − mean)/std) fitted on FLamby's training rows only
    (``calibrate`` then re-sets the intercepts with _match_prevalence)."""
    hospitals = list(train)
    X = np.concatenate([model_matrix(train[h], h) for h in hospitals])
    y = np.concatenate([(train[h]["num"].to_numpy() > 0) for h in hospitals]).astype(float)
    where = np.concatenate([[i] * len(train[h]) for i, h in enumerate(hospitals)])
    mean, std = X.mean(axis=0), X.std(axis=0, ddof=1)
    std = np.where(std > 0, std, 1.0)
    A = np.column_stack([np.ones(len(y)), (X - mean) / std, np.eye(len(hospitals))[where]])
    pen = lambda lam: np.concatenate([[0.0], np.full(X.shape[1], lam), np.full(len(hospitals), OFFSET_PENALTY)])

    from sklearn.model_selection import StratifiedKFold  # heavy import, only when calibrating

    strata = where * 2 + y.astype(int)
    folds = [f for r in range(CV_REPEATS)
             for f in StratifiedKFold(CV_FOLDS, shuffle=True, random_state=r).split(A, strata)]

    def cv_loss(lam):  # mean held-out log-loss
        total = 0.0
        for fit, held in folds:
            eta = A[held] @ _fit_logistic(A[fit], y[fit], pen(lam))
            total += np.sum(np.logaddexp(0, eta) - y[held] * eta)
        return total / (CV_REPEATS * len(y))

    losses = {lam: cv_loss(lam) for lam in SLOPE_PENALTIES}
    lam = min(losses, key=losses.get)
    w = _fit_logistic(A, y, pen(lam))
    return {
        "features": list(MODEL_FEATURES),
        "mean": mean.tolist(), "std": std.tolist(),
        "coef": w[1:1 + X.shape[1]].tolist(),
        "intercept_training_fit": {h: float(w[0] + w[1 + X.shape[1] + i]) for i, h in enumerate(hospitals)},
        "slope_penalty": lam, "offset_penalty": OFFSET_PENALTY, "cv_log_loss": losses[lam],
        "n_train": {h: int(len(train[h])) for h in hospitals},
    }


# ---- public ---------------------------------------------------------------------------------------------

def _match_prevalence(label_model: dict, hospitals: dict) -> dict:
    """Each hospital's intercept such that the twin's prevalence E_x[p(y=1 | x, h)] is the real one.

    The slopes come from the complete training rows; the share of diseased patients is better
    known from all non-test rows (the twin's missingness is MCAR, so both should agree). It matters
    for Switzerland: its 30 complete training rows are all diseased, its other rows are not.
    """
    mean, std, coef = (np.array(label_model[k]) for k in ("mean", "std", "coef"))
    out = {}
    for h, hp in hospitals.items():
        rng = np.random.default_rng([PREVALENCE_SEED, HOSPITALS.index(h)])
        s = (model_matrix(draw_features(hp, PREVALENCE_DRAWS, rng), h) - mean) / std @ coef
        target = min(max(hp["prevalence"], 1e-3), 1 - 1e-3)
        out[h] = brentq(lambda a: expit(a + s).mean() - target, -30.0, 30.0, xtol=1e-12)
    return out


def _rounded(obj, digits: int = DIGITS):
    if isinstance(obj, float):
        return round(obj, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(obj, dict):
        return {k: _rounded(x, digits) for k, x in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(x, digits) for x in obj]
    return obj


def calibrate(frames: dict) -> dict:
    """Fit the twin to real per-hospital frames (``RAW_COLUMNS``, NaN = missing), test rows untouched.

    Returns JSON-serialisable parameters (floats rounded to 6 digits): ``meta``, ``label_model`` and,
    per hospital, the marginals, the normal-score correlation, the missing-value patterns and the num mix.
    """
    if not isinstance(frames, dict):
        raise TypeError(f"frames must be a dict {{hospital: DataFrame}}, got {type(frames).__name__}")
    hospitals = check_hospitals(list(frames))
    for h in hospitals:
        if not isinstance(frames[h], pd.DataFrame):
            raise TypeError(f"frames[{h!r}] must be a pandas DataFrame, got {type(frames[h]).__name__}")
        absent = [c for c in RAW_COLUMNS if c not in frames[h].columns]
        if absent:
            raise ValueError(f"frames[{h!r}] lacks the column(s) {absent}")
    frames = {h: frames[h].reset_index(drop=True) for h in hospitals}
    train = {h: _calibration_rows(frames[h], h)[2] for h in hospitals}
    label_model = _label_model(train)
    per_hospital = {h: _calibrate_hospital(frames[h], h) for h in hospitals}
    label_model["intercept"] = _match_prevalence(label_model, per_hospital)
    params = {
        "meta": {
            "description": "Synthetic twin of the UCI Heart Disease hospitals: per hospital, features from "
                           "a Gaussian copula over empirical marginals; label from an L2 logistic "
                           "regression on FLamby's features (the true model); MCAR missing-value "
                           "patterns. Calibrated on rows outside FLamby's test sets. "
                           "Regenerate with: python -m tools.calibrate_twin [DATA_DIR]",
            "features": list(FEATURES),
            "model_columns": list(MODEL_COLUMNS),
        },
        "label_model": label_model,
        "hospitals": per_hospital,
    }
    return _rounded(params)


def params_to_json(params: dict) -> str:
    """Pretty, key-sorted JSON text (what is committed in data/)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict from calibrate(), got {type(params).__name__}")
    return json.dumps(params, indent=2, sort_keys=True) + "\n"
