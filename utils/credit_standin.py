"""A synthetic stand-in for the credit data, calibrated from the real file, for offline runs.
Introduced in chapter 08.

Per education group (the chapter's "banks"): the same number of rows, each column's own
distribution (exact shares for columns with few values, 57 quantiles for the others), and the
dependence between columns through a Gaussian copula whose correlation is that of the real normal
scores (pooled within groups). The label is drawn from a logistic regression fitted to the real
file on ``utils.credit.model_features`` with one unpenalised intercept per group, so each group's
default rate and the features' predictive strength are copied too. The parameters live in
``data/credit_default_standin.json``; ``python -m tools.calibrate_standins`` rewrites it and a test
recomputes it from the real file.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, ndtr, ndtri
from scipy.stats import rankdata

from utils import validate as v
from utils.credit import COLUMNS, EDUCATION_GROUPS, LABEL, MD5, education_group, model_features
from utils.download import repo_root

__all__ = ["PARAMS_PATH", "calibrate_credit", "CreditStandIn"]

PARAMS_PATH = repo_root() / "data" / "credit_default_standin.json"
COPULA_COLUMNS = tuple(c for c in COLUMNS if c not in ("ID", "EDUCATION", LABEL))
# Quantile levels: every 2 % in the body, finer in the tails (bills and payments span five decades).
GRID = np.unique(np.r_[0.0, 0.001, 0.005, 0.01, np.linspace(0.02, 0.98, 49), 0.99, 0.995, 0.999, 1.0])
MAX_DISCRETE = 12      # columns with at most this many values keep exact shares
SLOPE_PENALTY = 1.0    # L2 on the label model's slopes, per summed log-loss (30,000 rows: a tie-breaker)
DIGITS = 6


def _rounded(obj):
    if isinstance(obj, dict):
        return {k: _rounded(x) for k, x in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(x) for x in obj]
    if isinstance(obj, (float, np.floating)):
        return float(f"{float(obj):.{DIGITS}g}")
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _step(values: np.ndarray) -> int:
    """The coarsest of 1, 10, ..., 10000 that divides every value (LIMIT_BAL is in tens of thousands)."""
    return max(s for s in (1, 10, 100, 1000, 10000) if np.all(values % s == 0))


def _marginal(values: np.ndarray) -> dict:
    levels, counts = np.unique(values, return_counts=True)
    if len(levels) <= MAX_DISCRETE:
        return {"values": levels.tolist(), "probs": (counts / counts.sum()).tolist()}
    return {"quantiles": np.quantile(values, GRID).tolist(), "step": _step(values)}


def _fit_label_model(X: np.ndarray, y: np.ndarray, group_index: np.ndarray, n_groups: int):
    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    G = np.eye(n_groups)[group_index]
    A = np.hstack([Z, G])
    penalty = np.r_[np.full(Z.shape[1], SLOPE_PENALTY), np.zeros(n_groups)]

    def loss(theta):
        z = A @ theta
        p = expit(z)
        value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * theta ** 2)
        return value, A.T @ (p - y) + penalty * theta

    theta = minimize(loss, np.zeros(A.shape[1]), jac=True, method="L-BFGS-B",
                     options={"maxiter": 2000, "gtol": 1e-8}).x
    return mean, std, theta[:Z.shape[1]], theta[Z.shape[1]:]


def calibrate_credit(frame: pd.DataFrame) -> dict:
    """The stand-in's parameters from the real clients' table (``utils.credit.COLUMNS``)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"frame must have the credit data's columns {list(COLUMNS)[:4]}..., got {list(frame.columns)[:4]}...")
    groups = education_group(frame["EDUCATION"].to_numpy())
    names = list(EDUCATION_GROUPS)
    out_groups, scores = {}, []
    for name in names:
        rows = frame[groups == name]
        if len(rows) < 2:
            raise ValueError(f"education group {name!r} has {len(rows)} row(s); the stand-in needs at least 2")
        codes, counts = np.unique(rows["EDUCATION"], return_counts=True)
        out_groups[name] = {
            "rows": len(rows), "default_rate": float(rows[LABEL].mean()),
            "education_codes": {str(int(c)): float(n / counts.sum()) for c, n in zip(codes, counts)},
            "marginals": {c: _marginal(rows[c].to_numpy()) for c in COPULA_COLUMNS}}
        ranks = np.column_stack([rankdata(rows[c]) / (len(rows) + 1) for c in COPULA_COLUMNS])
        scores.append(ndtri(ranks))
    corr = np.corrcoef(np.vstack(scores), rowvar=False)
    w, vecs = np.linalg.eigh(corr)
    corr = vecs @ np.diag(np.maximum(w, 1e-3)) @ vecs.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    index = np.array([names.index(g) for g in groups])
    mean, std, coef, intercepts = _fit_label_model(model_features(frame), frame[LABEL].to_numpy(float), index, len(names))
    return _rounded({
        "meta": {"source": "UCI_Credit_Card.csv", "md5": MD5, "rows": len(frame),
                 "what": "Gaussian copula per education group + logistic label model; see utils/credit_standin.py"},
        "columns": list(COPULA_COLUMNS), "groups": out_groups, "correlation": corr.tolist(),
        "label_model": {"mean": mean.tolist(), "std": std.tolist(), "coef": coef.tolist(),
                        "intercepts": dict(zip(names, intercepts.tolist()))}})


class CreditStandIn:
    """Synthetic clients drawn from the calibrated parameters (default: the committed JSON)."""

    def __init__(self, params: dict | None = None):
        if params is None:
            params = json.loads(PARAMS_PATH.read_text())
        if not isinstance(params, dict) or not {"columns", "groups", "correlation", "label_model"} <= set(params):
            raise ValueError("params must be the dict calibrate_credit() returns")
        self.params = params
        self._chol = np.linalg.cholesky(np.asarray(params["correlation"], dtype=float))

    @property
    def sizes(self) -> dict:
        """Rows per education group, as in the real file."""
        return {g: p["rows"] for g, p in self.params["groups"].items()}

    def _draw(self, group: dict, n: int, rng) -> dict:
        u = ndtr(rng.standard_normal((n, len(self._chol))) @ self._chol.T)
        out = {}
        for j, c in enumerate(self.params["columns"]):
            m = group["marginals"][c]
            if "values" in m:
                cum = np.cumsum(m["probs"])
                out[c] = np.asarray(m["values"])[np.minimum(np.searchsorted(cum / cum[-1], u[:, j], side="right"),
                                                            len(cum) - 1)]
            else:
                step = m["step"]
                out[c] = np.round(np.interp(u[:, j], GRID, m["quantiles"]) / step) * step
        codes = np.array([int(k) for k in group["education_codes"]])
        out["EDUCATION"] = rng.choice(codes, size=n, p=np.array(list(group["education_codes"].values())) /
                                      sum(group["education_codes"].values()))
        return out

    def sample(self, seed: int = 0) -> pd.DataFrame:
        """A table like the real one (``utils.credit.COLUMNS``, integers, same group sizes), rows in
        random order, IDs 1..n. The label follows the calibrated logistic model."""
        rng = np.random.default_rng(v.seed("seed", seed))
        parts = []
        for name, group in self.params["groups"].items():
            part = pd.DataFrame(self._draw(group, group["rows"], rng))
            part["_group"] = name
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=rng.integers(2**31)) \
            .reset_index(drop=True)
        frame["ID"] = np.arange(1, len(frame) + 1)
        frame[LABEL] = 0
        model = self.params["label_model"]
        std = np.asarray(model["std"], float)
        Z = (model_features(frame) - np.asarray(model["mean"])) / np.where(std > 0, std, 1.0)
        z = Z @ np.asarray(model["coef"]) + frame["_group"].map(model["intercepts"]).to_numpy(float)
        frame[LABEL] = (rng.random(len(frame)) < expit(z)).astype(np.int64)
        return frame[list(COLUMNS)].astype(np.int64)
