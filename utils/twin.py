"""A synthetic twin of the four Heart Disease hospitals that knows its own true model.
Introduced in chapter 00 (the offline stand-in) and chapter 05 (its Bayes accuracy).

Why a twin? It lets every notebook run offline and, because we wrote the generator, we know the
true p(disease | patient), hence the best accuracy any model could reach (the Bayes accuracy).

Generative model, per hospital h (``utils.twin_calibration`` fits it on rows outside FLamby's test sets):

* features: a Gaussian copula. Draw z ~ N(0, R_h), R_h the correlation of the real normal scores,
  and map each z_j through the inverse of the column's empirical CDF, so each value is one the
  hospital recorded (integers; oldpeak to 0.1; chol = 0, "not measured", for every Swiss row and
  for VA's share). This keeps the dependence between features; the nominal codes of cp, restecg
  and thal enter by their order, so only their monotone association is kept;
* label: y ~ Bernoulli(p(y=1 | x, h)) with p a logistic regression on FLamby's 13 features
  (cp/restecg one-hot, standardised) plus a per-hospital intercept, L2 penalties chosen by
  cross-validation. This is the twin's TRUE MODEL: for a row whose 10 FLamby columns are observed,
  ``posterior`` returns it exactly. slope, ca and thal follow the other features but add nothing
  about y beyond them (on real Cleveland ca and thal do: the twin is built for FLamby's columns);
* missing values: whole real missing-value patterns, drawn independently of x and y (MCAR), so
  FLamby's cleaning keeps about as many rows as in the real files;
* num is 0 for y = 0, else 1-4 drawn from the hospital's mix among the diseased.

Regenerate the parameters with ``python -m tools.calibrate_twin [DATA_DIR]``.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from utils import validate as v
from utils.download import repo_root
from utils.heart import HOSPITALS, RAW_COLUMNS, check_hospitals
from utils.twin_calibration import DISEASE_GRADES, FEATURES, MODEL_COLUMNS, MODEL_FEATURES, draw_features, model_matrix

__all__ = ["HeartDiseaseTwin", "default_twin", "posterior", "bayes_accuracy"]

TWIN_PARAMS_PATH = repo_root() / "data" / "heart_disease_twin.json"
MC_ROWS = 20_000  # default rows per hospital for bayes_accuracy_mc: standard error about 0.0005


def _check_columns(columns) -> tuple:
    """The columns a classifier may use; the true model needs all of MODEL_COLUMNS among them."""
    if columns is None:
        return MODEL_COLUMNS
    columns = v.names("columns", columns, FEATURES)
    lacking = [c for c in MODEL_COLUMNS if c not in columns]
    if lacking:
        raise ValueError(
            f"columns lacks {lacking}: the twin's true model reads all of {list(MODEL_COLUMNS)}, and "
            "p(y | fewer columns) would need the others integrated out, which the twin does not compute")
    return columns


class HeartDiseaseTwin:
    """Synthetic generator of the four hospitals with an exact posterior.

    ``params``: None (load data/heart_disease_twin.json), a dict from ``calibrate``, or a path to such a
    JSON file.
    """

    def __init__(self, params=None):
        if params is None:
            params = TWIN_PARAMS_PATH
        if isinstance(params, (str, Path)):
            params = json.loads(v.path("params", params).read_text())
        if not isinstance(params, dict) or not {"hospitals", "label_model"} <= set(params):
            raise ValueError("params must be a dict from utils.twin_calibration.calibrate (with 'hospitals' and "
                             "'label_model'), or the path of such a JSON file")
        self.params = copy.deepcopy(params)  # leave the caller's dict alone
        self.hospitals = check_hospitals(list(params["hospitals"]))
        lm = self.params["label_model"]
        if not isinstance(lm, dict) or lm.get("features") != list(MODEL_FEATURES):
            raise ValueError(f"params['label_model'] must be over the features {list(MODEL_FEATURES)}")
        self._mean, self._std, self._coef = (np.array(lm[k], dtype="float64") for k in ("mean", "std", "coef"))
        for h in self.hospitals:
            hp = self.params["hospitals"][h]
            # Fail here, not at the first sample, on a matrix that is not positive definite (rounded to
            # 6 digits a calibrated one stays so: calibration floors its eigenvalues).
            np.linalg.cholesky(np.array(hp["correlation"], dtype="float64"))
            for key in ("missing_patterns", "num_given_disease"):  # rounded shares: make them sum to 1
                total = sum(hp[key].values())
                hp[key] = {k: share / total for k, share in hp[key].items()}

    # ---- sampling --------------------------------------------------------

    def sizes(self, n_per_hospital=None, hospitals=None) -> dict:
        """Resolve ``n_per_hospital`` (None → the real sizes / int / dict) into {hospital: n}."""
        if isinstance(n_per_hospital, Mapping):
            check_hospitals(list(n_per_hospital))
            if hospitals is None:
                hospitals = list(n_per_hospital)
        hospitals = self._check_hospitals(hospitals)
        sizes = {}
        for h in hospitals:
            if n_per_hospital is None:
                n = self.params["hospitals"][h]["n_rows"]
            elif isinstance(n_per_hospital, Mapping):
                if h not in n_per_hospital:
                    raise ValueError(f"n_per_hospital has no size for hospital {h!r}")
                n = n_per_hospital[h]
            else:
                n = n_per_hospital
            sizes[h] = v.integer(f"n_per_hospital (rows for {h!r})", n, 1, v.MAX_ROWS)
        v.budget("n_per_hospital", sum(sizes.values()), v.MAX_ROWS, "rows in all")
        return sizes

    def sample(self, n_per_hospital=None, hospitals=None, seed: int = 0) -> dict:
        """Draw ``{hospital: DataFrame}`` with the 14 RAW_COLUMNS (NaN = missing).

        n_per_hospital: None → the real sizes (303/294/123/200); int → that many per hospital; dict →
        per hospital. Each hospital has its own random stream, so its rows do not depend on which
        other hospitals are drawn.
        """
        seed = v.seed("seed", seed)
        return {h: self._sample_hospital(h, n, self._rng(seed, h))
                for h, n in self.sizes(n_per_hospital, hospitals).items()}

    @staticmethod
    def _rng(seed: int, hospital: str):
        return np.random.default_rng([seed, HOSPITALS.index(hospital)])

    def _draw(self, h: str, n: int, rng) -> pd.DataFrame:
        return draw_features(self.params["hospitals"][h], n, rng)

    def _sample_hospital(self, h: str, n: int, rng) -> pd.DataFrame:
        hp = self.params["hospitals"][h]
        frame = self._draw(h, n, rng)
        y = rng.random(n) < self._probability(frame, h)  # the label from the true model, before masking
        patterns = list(hp["missing_patterns"])
        shares = np.array([hp["missing_patterns"][p] for p in patterns])
        masks = np.array([[ch == "1" for ch in p] for p in patterns])
        frame = frame.mask(masks[rng.choice(len(patterns), size=n, p=shares)])  # MCAR: whole patterns
        probs = np.array([hp["num_given_disease"][str(g)] for g in DISEASE_GRADES])
        frame["num"] = np.where(y, rng.choice(np.array(DISEASE_GRADES, dtype=float), size=n, p=probs), 0.0)
        return frame[list(RAW_COLUMNS)].astype("float64")

    # ---- the true model --------------------------------------------------

    def _probability(self, frame: pd.DataFrame, h: str) -> np.ndarray:
        z = (model_matrix(frame, h) - self._mean) / self._std
        return expit(self.params["label_model"]["intercept"][h] + z @ self._coef)

    def posterior(self, frame: pd.DataFrame, hospital: str, columns=None) -> np.ndarray:
        """Exact p(y = 1 | x, hospital) for each row of ``frame``: the twin's true model.

        The label depends on FLamby's 10 columns only (``MODEL_COLUMNS``), so ``columns`` (the columns a
        classifier may use; None → those 10) must include them all, and any extra column changes
        nothing. A row lacking one of the 10 raises ValueError (drop it, e.g. with flamby_clean).
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        (hospital,) = self._check_hospitals([hospital])
        _check_columns(columns)  # only checked: the columns beyond the model's carry no information
        return self._probability(frame, hospital)

    def bayes_accuracy(self, frames: dict, columns=None) -> float:
        """Expected accuracy of the Bayes-optimal classifier on these rows: mean of max(p, 1 - p).

        ``frames``: {hospital: DataFrame}; p is the exact posterior. No model that sees these columns can
        beat it in expectation (it is what the true model promises, not an observed accuracy).
        """
        if not isinstance(frames, Mapping):
            raise TypeError(f"frames must be a dict {{hospital: DataFrame}}, got {type(frames).__name__}")
        columns = _check_columns(columns)
        self._check_hospitals(list(frames))
        p = np.concatenate([np.zeros(0)] + [self.posterior(f, h, columns) for h, f in frames.items()])
        if len(p) == 0:
            raise ValueError("frames contain no rows")
        return float(np.mean(np.maximum(p, 1.0 - p)))

    def bayes_accuracy_mc(self, n_per_hospital=MC_ROWS, hospitals=None, seed: int = 0) -> tuple:
        """The twin population's Bayes accuracy by Monte Carlo: (estimate, standard error).

        Averages max(p, 1 - p) over freshly drawn complete patients (missingness is independent of
        everything, so it does not change this), hospitals weighted by ``n_per_hospital`` (int → equally;
        dict or None → as given / the real sizes). The draws are those of ``sample`` with the same seed.
        """
        seed = v.seed("seed", seed)
        sizes = self.sizes(n_per_hospital, hospitals)
        p = np.concatenate([self._probability(self._draw(h, n, self._rng(seed, h)), h) for h, n in sizes.items()])
        g = np.maximum(p, 1 - p)
        return float(g.mean()), float(g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan")

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
