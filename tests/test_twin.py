"""Tests for utils.twin: calibration file, sampling fidelity, exact posterior."""

import json

import numpy as np
import pandas as pd
import pytest
from real_data import REAL_DIR

from tools.calibrate_twin import calibrate_from_files
from utils import data, flamby, heart, twin
from utils.heart import FLAMBY_COLUMNS, HOSPITALS
from utils.twin import HeartDiseaseTwin




@pytest.fixture(scope="module")
def tw():
    return HeartDiseaseTwin()


@pytest.fixture(scope="module")
def big(tw):
    return tw.sample(20000, seed=11)


@pytest.mark.skipif(REAL_DIR is None, reason=(
    "real UCI files not available (set FLCOURSE_DATA_DIR to a folder with the four "
    "verified processed.*.data files), so the committed calibration cannot be re-derived"))
def test_committed_calibration_matches_real_files():
    committed = json.loads(twin.TWIN_PARAMS_PATH.read_text())
    fresh = calibrate_from_files(REAL_DIR)
    assert fresh == committed
    assert twin.params_to_json(fresh) == twin.TWIN_PARAMS_PATH.read_text()


def test_calibration_content(tw):
    hp = tw.params["hospitals"]
    assert [hp[h]["n_rows"] for h in HOSPITALS] == [303, 294, 123, 200]
    sw = hp["switzerland"]["classes"]
    assert sw["0"]["continuous"]["chol"]["zero_rate"] == 1.0
    assert sw["1"]["continuous"]["chol"]["zero_rate"] == 1.0
    for h in HOSPITALS:
        assert sum(hp[h]["num_given_disease"].values()) == pytest.approx(1)
        for cls in hp[h]["classes"].values():
            for probs in cls["categorical"].values():
                assert sum(probs.values()) == pytest.approx(1)
                assert min(probs.values()) > 0  # add-one smoothing


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
    c = tw.sample(50, hospitals=["va"], seed=6)
    assert not a["va"].equals(c["va"])


@pytest.mark.parametrize("n", [0, -3, 2.5, "10", True])
def test_bad_sizes(tw, n):
    with pytest.raises((ValueError, TypeError), match=repr(n).replace("(", r"\(").replace(".", r"\.")):
        tw.sample(n)


def test_bad_hospitals_and_columns(tw, big):
    with pytest.raises(ValueError, match="'boston'"):
        tw.sample(10, hospitals=["boston"])
    with pytest.raises(ValueError, match="'boston'"):
        tw.sample({"boston": 10})
    with pytest.raises(ValueError, match="'boston'"):
        tw.posterior(big["va"], "boston")
    with pytest.raises(ValueError, match="'weight'"):
        tw.bayes_accuracy(big, columns=["age", "weight"])


def test_large_sample_matches_calibration(tw, big):
    for h in HOSPITALS:
        hp, f = tw.params["hospitals"][h], big[h]
        y = f["num"] > 0
        se = lambda p: 4 * np.sqrt(max(p * (1 - p), 1e-4) / len(f)) + 1e-3
        assert y.mean() == pytest.approx(hp["prevalence"], abs=se(hp["prevalence"]))
        for col, rate in hp["missing_rate"].items():
            assert f[col].isna().mean() == pytest.approx(rate, abs=se(rate))
        for label in (0, 1):
            rows = f[y == bool(label)]
            for col, p in hp["classes"][str(label)]["continuous"].items():
                v = rows[col].dropna()
                if p["mean"] is None:
                    assert (v == 0).all()
                    continue
                expected = (1 - p["zero_rate"]) * p["mean"]
                tol = 5 * p["std"] / np.sqrt(max(len(v), 1)) + 0.05 * p["zero_rate"] * p["mean"] + 0.02
                assert v.mean() == pytest.approx(expected, abs=tol), (h, label, col)
            probs = hp["classes"][str(label)]["categorical"]["cp"]
            observed = rows["cp"].dropna().value_counts(normalize=True)
            for level, p in probs.items():
                assert observed.get(float(level), 0) == pytest.approx(p, abs=se(p) * 3)


def test_missing_values_come_in_the_real_patterns(tw, big):
    """Rows FLamby keeps (no missing FLamby column) must match the real share: VA lacks several together."""
    for h in HOSPITALS:
        patterns = tw.params["hospitals"][h]["missing_patterns"]
        flamby_idx = [twin.FEATURES.index(c) for c in FLAMBY_COLUMNS]
        kept = sum(share for p, share in patterns.items() if all(p[j] == "0" for j in flamby_idx))
        observed = big[h][list(FLAMBY_COLUMNS)].notna().all(axis=1).mean()
        assert observed == pytest.approx(kept, abs=4 * np.sqrt(kept * (1 - kept) / len(big[h])) + 1e-3), h
        assert sum(patterns.values()) == pytest.approx(1.0, abs=1e-4)


def test_posterior_is_calibrated(tw, big):
    """Among rows with posterior ≈ p, about a fraction p is diseased."""
    p = np.concatenate([tw.posterior(big[h], h) for h in HOSPITALS])
    y = np.concatenate([big[h]["num"].to_numpy() > 0 for h in HOSPITALS])
    assert np.all((p >= 0) & (p <= 1))
    bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        in_bin = bins == b
        if in_bin.sum() > 1000:
            assert y[in_bin].mean() == pytest.approx(p[in_bin].mean(), abs=0.03)
    empirical = np.mean((p > 0.5) == y)
    assert empirical == pytest.approx(tw.bayes_accuracy(big), abs=0.01)


def test_fewer_columns_cannot_help(tw, big):
    acc_all = tw.bayes_accuracy(big)
    acc_flamby = tw.bayes_accuracy(big, columns=FLAMBY_COLUMNS)
    acc_age = tw.bayes_accuracy(big, columns=["age"])
    assert 0.5 < acc_age < acc_flamby < acc_all < 1


def test_module_level_helpers(big):
    assert twin.bayes_accuracy({"va": big["va"]}) == pytest.approx(
        HeartDiseaseTwin().bayes_accuracy({"va": big["va"]}))
    assert twin.posterior(big["va"].head(3), "va").shape == (3,)


def test_bayes_beats_logistic_regression(tw):
    """The Bayes-optimal classifier cannot be beaten, here by LR on the FLamby features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def flamby_rows(frames):
        kept = {h: flamby.flamby_clean(f) for h, f in frames.items()}
        X = flamby.flamby_one_hot(pd.concat([kept[h][list(FLAMBY_COLUMNS)] for h in HOSPITALS]))
        y = np.concatenate([kept[h]["num"].to_numpy() > 0 for h in HOSPITALS])
        return kept, X.to_numpy(), y

    _, X_train, y_train = flamby_rows(tw.sample(2000, seed=1))
    test_frames, X_test, y_test = flamby_rows(tw.sample(10000, seed=2))
    assert len(y_test) > 20000
    scaler = StandardScaler().fit(X_train)
    lr = LogisticRegression(max_iter=1000).fit(scaler.transform(X_train), y_train)
    lr_acc = lr.score(scaler.transform(X_test), y_test)
    bayes = tw.bayes_accuracy(test_frames, columns=FLAMBY_COLUMNS)
    assert 0.5 < bayes < 1
    assert bayes >= lr_acc


def test_posterior_handles_missing_and_unknown_levels(tw):
    row = pd.DataFrame([{c: np.nan for c in heart.RAW_COLUMNS}])
    prev = tw.params["hospitals"]["va"]["prevalence"]
    assert tw.posterior(row, "va")[0] == pytest.approx(prev)  # nothing observed → prior
    row.loc[0, "cp"] = 9
    with pytest.raises(ValueError, match="'cp'.*9"):
        tw.posterior(row, "va")


def test_posterior_on_real_data_is_informative():
    if REAL_DIR is None:
        pytest.skip("real UCI files not available")
    raw = data.load_raw("real", data_dir=REAL_DIR, base_url="http://127.0.0.1:1/")
    tw = HeartDiseaseTwin()
    p = np.concatenate([tw.posterior(raw.frames[h], h) for h in HOSPITALS])
    y = np.concatenate([raw.frames[h]["num"].to_numpy() > 0 for h in HOSPITALS])
    assert np.mean((p > 0.5) == y) > 0.75
