"""Tests for utils.twin: calibration file, sampling fidelity, exact posterior, and truthfulness on real
patients (FLamby's test rows, which calibration never reads)."""

import json

import numpy as np
import pandas as pd
import pytest
from real_data import REAL_DIR, needs_real, require_real
from sklearn.linear_model import LogisticRegression

from tools.calibrate_twin import calibrate_from_files
from utils import data, flamby, heart, twin, twin_calibration
from utils.heart import FLAMBY_COLUMNS, HOSPITALS, RawHeartData
from utils.twin import HeartDiseaseTwin

CONTINUOUS = ["age", "trestbps", "chol", "thalach", "oldpeak"]
BOOTSTRAP, BOOTSTRAP_SEED = 4000, 0
TWIN_SEEDS = range(10)  # twin samples a twin-trained model is averaged over


@pytest.fixture(scope="module")
def tw():
    return HeartDiseaseTwin()


@pytest.fixture(scope="module")
def big(tw):
    return tw.sample(20000, seed=11)


@pytest.fixture(scope="module")
def real():
    frames = data.load_raw("real", data_dir=require_real(), base_url="http://127.0.0.1:1/")
    assert frames.source == "real"
    return frames.frames


def _split_rows(frame):
    """(complete rows, FLamby train index, FLamby test index) of one hospital."""
    clean = flamby.flamby_clean(frame)
    train, test = flamby.flamby_train_test_indices((clean["num"] > 0).to_numpy().astype(float))
    return clean, train, test


def _bootstrap_ci(per_patient: np.ndarray):
    """Mean and percentile 95 % interval, resampling patients."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = per_patient[rng.integers(0, len(per_patient), (BOOTSTRAP, len(per_patient)))].mean(axis=1)
    return float(per_patient.mean()), tuple(np.percentile(means, [2.5, 97.5]))


# ---- the committed calibration ----------------------------------------------------------------

@needs_real
def test_committed_calibration_matches_real_files():
    committed = json.loads(twin.TWIN_PARAMS_PATH.read_text())
    fresh = calibrate_from_files(REAL_DIR)
    assert fresh == committed
    assert twin_calibration.params_to_json(fresh) == twin.TWIN_PARAMS_PATH.read_text()


def test_calibration_never_reads_test_rows(real):
    """Scrambling every feature, missing value and disease grade of FLamby's test rows changes nothing.

    (The labels stay: FLamby's stratified split depends on them, so they fix which rows are test rows.)
    """
    scrambled = {}
    for h, frame in real.items():
        frame = frame.copy()
        clean = frame[frame[list(FLAMBY_COLUMNS)].notna().all(axis=1)]
        _, _, test = _split_rows(frame)
        rows = clean.index[test]
        rng = np.random.default_rng(0)
        for c in twin.FEATURES:
            if c in FLAMBY_COLUMNS:  # stays observed, so the rows stay complete and in the test set
                frame.loc[rows, c] = rng.permutation(frame[c].dropna().to_numpy())[:len(rows)]
            else:
                frame.loc[rows, c] = np.nan
        frame.loc[rows, "num"] = np.where(frame.loc[rows, "num"] > 0, 4.0, 0.0)
        scrambled[h] = frame
    assert twin_calibration.calibrate(scrambled) == twin_calibration.calibrate(real)


def test_calibration_content(tw):
    p = tw.params
    assert [p["hospitals"][h]["n_rows"] for h in HOSPITALS] == [303, 294, 123, 200]
    assert p["hospitals"]["switzerland"]["marginals"]["chol"] == {"values": [0.0], "cdf": [1.0]}
    lm = p["label_model"]
    assert lm["features"] == list(twin_calibration.MODEL_FEATURES)
    assert lm["slope_penalty"] not in (min(twin_calibration.SLOPE_PENALTIES), max(twin_calibration.SLOPE_PENALTIES))
    assert sum(lm["n_train"].values()) == 486  # FLamby's training rows, nothing else
    for h in HOSPITALS:
        hp = p["hospitals"][h]
        assert sum(hp["missing_patterns"].values()) == pytest.approx(1, abs=1e-5)
        assert sum(hp["num_given_disease"].values()) == pytest.approx(1, abs=1e-5)
        r = np.array(hp["correlation"])
        assert np.allclose(r, r.T) and np.allclose(np.diag(r), 1) and np.linalg.eigvalsh(r).min() > 0
        for m in hp["marginals"].values():
            assert m["cdf"] == sorted(m["cdf"]) and m["cdf"][-1] == 1.0 and m["values"] == sorted(m["values"])


# ---- sampling fidelity ------------------------------------------------------------------------

def test_sample_shapes_and_resolution(tw):
    frames = tw.sample(seed=0)
    assert [len(frames[h]) for h in HOSPITALS] == [303, 294, 123, 200]
    f = pd.concat(frames.values())
    assert list(f.columns) == list(heart.RAW_COLUMNS)
    for col in ("age", "trestbps", "chol", "thalach"):
        v = f[col].dropna()
        assert (v == np.round(v)).all()
    oldpeak = f["oldpeak"].dropna()
    assert np.allclose(oldpeak * 10, np.round(oldpeak * 10))
    assert set(f["num"].unique()) <= {0, 1, 2, 3, 4}
    assert (frames["switzerland"]["chol"].dropna() == 0).all()


def test_sample_sizes_and_seeds(tw):
    a = tw.sample({"va": 50, "cleveland": 7}, seed=5)
    assert list(a) == ["cleveland", "va"] and len(a["va"]) == 50 and len(a["cleveland"]) == 7
    b = tw.sample(50, hospitals=["va"], seed=5)
    pd.testing.assert_frame_equal(a["va"], b["va"])  # per-hospital streams
    pd.testing.assert_frame_equal(tw.sample(50, hospitals=["va"], seed=5)["va"], b["va"])  # deterministic
    c = tw.sample(50, hospitals=["va"], seed=6)
    assert not a["va"].equals(c["va"])


def test_large_sample_matches_calibration(tw, big):
    for h in HOSPITALS:
        hp, f = tw.params["hospitals"][h], big[h]
        tol = lambda p: 4 * np.sqrt(max(p * (1 - p), 1e-4) / len(f)) + 1e-3
        assert (f["num"] > 0).mean() == pytest.approx(hp["prevalence"], abs=tol(hp["prevalence"])), h
        for j, c in enumerate(twin.FEATURES):
            rate = sum(s for pat, s in hp["missing_patterns"].items() if pat[j] == "1")
            assert f[c].isna().mean() == pytest.approx(rate, abs=tol(rate)), (h, c)
            m = hp["marginals"][c]
            if m is None or rate > 0.9:
                continue
            seen = f[c].dropna().to_numpy()
            for value, cdf in zip(m["values"], m["cdf"]):  # every step of the empirical CDF
                assert np.mean(seen <= value) == pytest.approx(cdf, abs=5 * np.sqrt(0.25 / len(seen))), (h, c)
        grades = f.loc[f["num"] > 0, "num"].value_counts(normalize=True)
        for g, share in hp["num_given_disease"].items():
            assert grades.get(float(g), 0.0) == pytest.approx(share, abs=0.02), (h, g)


@needs_real
def test_sample_looks_like_the_real_hospitals(big, real):
    """Prevalence, rows FLamby keeps, zeros that mean 'not measured': close to the real files."""
    for h in HOSPITALS:
        f, r = big[h], real[h]
        assert (f["num"] > 0).mean() == pytest.approx((r["num"] > 0).mean(), abs=0.03), h
        clean, train, _ = _split_rows(r)
        train_prevalence = (clean["num"].to_numpy()[train] > 0).mean()
        if h != "switzerland":  # its 30 training rows are all diseased, its other rows 91 %
            assert (f["num"] > 0).mean() == pytest.approx(train_prevalence, abs=0.05), h
        kept = lambda g: g[list(FLAMBY_COLUMNS)].notna().all(axis=1).mean()
        assert kept(f) == pytest.approx(kept(r), abs=0.02), h
        for c in ("trestbps", "chol"):
            zeros = lambda g: (g[c].dropna() == 0).mean()
            assert zeros(f) == pytest.approx(zeros(r), abs=0.04), (h, c)
    assert (big["switzerland"]["chol"].dropna() == 0).all()


@needs_real
def test_correlations_between_features_are_kept(big, real):
    """The point of the copula: pairwise (Spearman) correlations of the continuous features match the
    rows the twin was calibrated on. A generator drawing them independently misses by up to 0.4."""
    worst = 0.0
    for h in HOSPITALS:
        clean, _, test = _split_rows(real[h])
        rows = real[h].drop(index=real[h].index[real[h][list(FLAMBY_COLUMNS)].notna().all(axis=1)][test])
        cols = [c for c in CONTINUOUS if rows[c].nunique() > 1]  # Switzerland's chol is constant
        r, t = rows[cols].corr("spearman").to_numpy(), big[h][cols].corr("spearman").to_numpy()
        iu = np.triu_indices(len(cols), 1)
        worst = max(worst, np.abs(r[iu]).max())
        assert np.abs(t[iu] - r[iu]).max() < 0.1, (h, np.round(t - r, 3))
        assert np.abs(t[iu] - r[iu]).mean() < 0.05, h
    assert worst > 0.35  # so independence would fail this test


# ---- the exact posterior --------------------------------------------------------------------------

def test_posterior_is_the_label_model(tw, big):
    lm = tw.params["label_model"]
    for h in HOSPITALS:
        rows = flamby.flamby_clean(big[h]).head(500)
        x = flamby.flamby_one_hot(rows[list(FLAMBY_COLUMNS)])[lm["features"]].to_numpy()
        z = (x - np.array(lm["mean"])) / np.array(lm["std"])
        expected = 1 / (1 + np.exp(-(lm["intercept"][h] + z @ np.array(lm["coef"]))))
        np.testing.assert_allclose(tw.posterior(rows, h), expected, rtol=1e-12)
        # Columns beyond the model's add nothing: y depends on x only through FLamby's 10 columns.
        np.testing.assert_array_equal(tw.posterior(rows, h, columns=twin.FEATURES), tw.posterior(rows, h))


def test_posterior_is_calibrated(tw, big):
    """Among rows with posterior ≈ p, about a fraction p is diseased."""
    kept = {h: flamby.flamby_clean(f) for h, f in big.items()}
    p = np.concatenate([tw.posterior(kept[h], h) for h in HOSPITALS])
    y = np.concatenate([kept[h]["num"].to_numpy() > 0 for h in HOSPITALS])
    bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        in_bin = bins == b
        if in_bin.sum() > 1000:
            assert y[in_bin].mean() == pytest.approx(p[in_bin].mean(), abs=0.03)
    assert np.mean((p > 0.5) == y) == pytest.approx(tw.bayes_accuracy(kept), abs=0.01)


def test_monte_carlo_bayes_accuracy(tw, big):
    small, se_small = tw.bayes_accuracy_mc(2000, seed=1)
    large, se_large = tw.bayes_accuracy_mc(100_000, seed=2)
    assert 0 < se_large < se_small < 0.01
    assert abs(small - large) < 3 * np.hypot(se_small, se_large)
    # Missingness is independent of everything: the rows FLamby keeps have the same Bayes accuracy.
    kept = {h: flamby.flamby_clean(f) for h, f in big.items()}
    n = {h: len(kept[h]) for h in HOSPITALS}
    weighted, se_w = tw.bayes_accuracy_mc(n, seed=3)
    assert tw.bayes_accuracy(kept) == pytest.approx(weighted, abs=3 * np.sqrt(2) * se_w)
    assert tw.bayes_accuracy_mc(2000, seed=1) == (small, se_small)


def test_module_level_helpers(big):
    rows = {"va": flamby.flamby_clean(big["va"])}
    assert twin.bayes_accuracy(rows) == pytest.approx(HeartDiseaseTwin().bayes_accuracy(rows))
    assert twin.posterior(rows["va"].head(3), "va").shape == (3,)
    assert twin.default_twin() is twin.default_twin()


def test_bayes_beats_logistic_regression(tw):
    """No classifier beats the true model on the same rows, here an LR on the FLamby features."""
    def flamby_rows(frames):
        kept = {h: flamby.flamby_clean(f) for h, f in frames.items()}
        X = flamby.flamby_one_hot(pd.concat([kept[h][list(FLAMBY_COLUMNS)] for h in HOSPITALS]))
        y = np.concatenate([kept[h]["num"].to_numpy() > 0 for h in HOSPITALS])
        return kept, X.to_numpy(), y

    _, X_train, y_train = flamby_rows(tw.sample(2000, seed=1))
    test_frames, X_test, y_test = flamby_rows(tw.sample(10000, seed=2))
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    lr = LogisticRegression(max_iter=1000).fit((X_train - mean) / std, y_train)
    lr_right = lr.predict((X_test - mean) / std) == y_test
    p = np.concatenate([tw.posterior(test_frames[h], h) for h in HOSPITALS])
    bayes_right = (p > 0.5) == y_test
    assert 0.5 < tw.bayes_accuracy(test_frames) < 1
    assert (bayes_right.astype(float) - lr_right).mean() > -0.005


# ---- truthful on real patients ---------------------------------------------------------------------

@needs_real
def test_promised_accuracy_is_realised_on_real_test_patients(tw, real):
    """What the true model promises (mean max(p, 1-p)) is what it achieves on FLamby's real test rows."""
    gaps = []
    for h in HOSPITALS:
        clean, _, test = _split_rows(real[h])
        rows = clean.iloc[test]
        p, y = tw.posterior(rows, h), rows["num"].to_numpy() > 0
        promised, right = np.maximum(p, 1 - p), (p > 0.5) == y
        print(f"{h:12s} n={len(y):3d} promised {promised.mean():.3f} realised {right.mean():.3f}")
        gaps.append(promised - right)
    gap, (lo, hi) = _bootstrap_ci(np.concatenate(gaps))
    print(f"all promised - realised {gap:+.3f}, 95 % bootstrap interval [{lo:+.3f}, {hi:+.3f}]")
    assert lo <= 0 <= hi
    assert abs(gap) <= 0.03


def _twin_like_real(tw, real, seed):
    """A twin sample with exactly as many complete rows per hospital as the real files, hence the
    same FLamby training sizes (199/172/30/85)."""
    frames = tw.sample({h: 3 * len(real[h]) for h in HOSPITALS}, seed=seed)
    kept = {}
    for h in HOSPITALS:
        complete = frames[h][list(FLAMBY_COLUMNS)].notna().all(axis=1)
        kept[h] = frames[h][complete].head(len(flamby.flamby_clean(real[h]))).reset_index(drop=True)
    return flamby.flamby_split(RawHeartData(kept, "synthetic"), standardize=None)


def _flamby_lr(split):
    """scikit-learn LR on FLamby's preprocessing (each centre standardised by its train rows); the
    model keeps its own centre statistics and applies them to any rows of that centre."""
    stats = {h: (X.mean(axis=0), X.std(axis=0, ddof=1)) for h, (X, _) in split.train.items()}
    scale = lambda X, h: (X - stats[h][0]) / (stats[h][1] + flamby.FLAMBY_STD_EPS)
    lr = LogisticRegression(max_iter=1000).fit(
        np.concatenate([scale(split.train[h][0], h) for h in HOSPITALS]),
        np.concatenate([split.train[h][1] for h in HOSPITALS]))
    return lambda X, h: lr.predict(scale(X, h))


@needs_real
def test_a_model_trained_on_the_twin_works_on_real_patients(tw, real):
    """LR trained on twin rows (as many as FLamby's real training rows) vs LR trained on the real
    training rows, both scored on the real test patients. The twin-trained accuracy is averaged over
    10 twin samples, so the verdict does not hang on one lucky seed."""
    split = flamby.flamby_split(RawHeartData(real, "real"), standardize=None)
    right = lambda model: np.concatenate([model(split.test[h][0], h) == split.test[h][1]
                                          for h in HOSPITALS])
    real_right = right(_flamby_lr(split)).astype(float)
    runs = []
    for seed in TWIN_SEEDS:
        s = _twin_like_real(tw, real, seed)
        assert [len(s.train[h][1]) for h in HOSPITALS] == [len(split.train[h][1]) for h in HOSPITALS]
        runs.append(right(_flamby_lr(s)))
    twin_right = np.mean(runs, axis=0)
    diff, (lo, hi) = _bootstrap_ci(twin_right - real_right)
    print(f"real-trained {real_right.mean():.3f}, twin-trained {twin_right.mean():.3f} (per twin sample "
          f"{np.round([r.mean() for r in runs], 3).tolist()}); difference {diff:+.3f}, "
          f"95 % bootstrap interval [{lo:+.3f}, {hi:+.3f}]")
    assert lo <= 0 <= hi
    assert abs(diff) <= 0.03


# ---- bad inputs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, -3, 2.5, "10", True])
def test_bad_sizes(tw, n):
    match = repr(n).replace("(", r"\(").replace(".", r"\.")
    with pytest.raises((ValueError, TypeError), match=match):
        tw.sample(n)
    with pytest.raises((ValueError, TypeError), match=match):
        tw.bayes_accuracy_mc(n)
    with pytest.raises((ValueError, TypeError), match=match):
        tw.sample({"va": n})


def test_bad_hospitals_columns_and_seeds(tw, big):
    rows = flamby.flamby_clean(big["va"])
    for call in (lambda: tw.sample(10, hospitals=["boston"]), lambda: tw.sample({"boston": 10}),
                 lambda: tw.posterior(rows, "boston"), lambda: tw.bayes_accuracy({"boston": rows}),
                 lambda: tw.bayes_accuracy_mc(10, hospitals="boston"), lambda: twin_calibration.calibrate({"boston": rows})):
        with pytest.raises(ValueError, match="'boston'"):
            call()
    with pytest.raises(ValueError, match="'weight'"):
        tw.bayes_accuracy(big, columns=["age", "weight"])
    with pytest.raises(ValueError, match="columns lacks.*'thalach'"):
        tw.posterior(rows, "va", columns=[c for c in FLAMBY_COLUMNS if c != "thalach"])
    with pytest.raises(ValueError, match="lacks.*'age'"):
        tw.posterior(rows.drop(columns=["age"]), "va")
    with pytest.raises(ValueError, match="seed"):
        tw.sample(10, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        tw.bayes_accuracy_mc(10, seed="1")
    with pytest.raises(TypeError, match="frame"):
        tw.posterior(rows.to_numpy(), "va")
    with pytest.raises(TypeError, match="frames"):
        tw.bayes_accuracy([rows])
    with pytest.raises(ValueError, match="no rows"):
        tw.bayes_accuracy({"va": rows.head(0)})
    with pytest.raises(ValueError, match="params"):
        HeartDiseaseTwin({"hospitals": {}})


def test_nan_and_unknown_levels_where_the_model_needs_a_value(tw, big):
    row = flamby.flamby_clean(big["va"]).head(1).copy()
    row.loc[row.index[0], "thalach"] = np.nan
    with pytest.raises(ValueError, match="'thalach' is missing"):
        tw.posterior(row, "va")
    with pytest.raises(ValueError, match="'trestbps' is missing"):
        tw.bayes_accuracy({"va": big["va"]})  # raw rows: VA lacks trestbps in a quarter of them
    row.loc[row.index[0], ["thalach", "cp"]] = [150.0, 9.0]
    with pytest.raises(ValueError, match="'cp'.*9"):
        tw.posterior(row, "va")
