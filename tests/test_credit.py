"""utils.credit and utils.credit_standin: verified download and cache, parsing, features, the offline stand-in."""
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from real_data_ch08 import CREDIT_DIR, needs_credit
from served import UNREACHABLE, leftovers, served  # noqa: F401 (fixture)

from utils import credit
from utils.credit import (COLUMNS, EDUCATION_GROUPS, FEATURE_NAMES, FILE, LABEL, MD5, education_group, fetch_credit,
                          load_credit, model_features, parse_credit_csv)
from utils.credit_standin import PARAMS_PATH, CreditStandIn, calibrate_credit
from utils.download import DataUnavailable


@pytest.fixture(scope="module")
def real():
    return load_credit("real", data_dir=CREDIT_DIR, base_url=UNREACHABLE) if CREDIT_DIR else None


@pytest.fixture(scope="module")
def standin():
    return load_credit("synthetic", seed=3)


# ---------------------------------------------------------------- download, cache, md5

@needs_credit
def test_download_into_empty_folder_then_offline(served, tmp_path):
    base_url, folder = served
    shutil.copy(CREDIT_DIR / FILE, folder / FILE)
    cache = tmp_path / "cache" / "nested"
    path = fetch_credit(cache, base_url=base_url, timeout=5)
    assert path == cache / FILE and hashlib.md5(path.read_bytes()).hexdigest() == MD5
    assert leftovers(cache) == []
    data = load_credit("real", data_dir=cache, base_url=UNREACHABLE)   # now it works offline
    assert data.source == "real" and len(data.frame) == 30_000


def test_md5_mismatch_is_refused_and_not_saved(served, tmp_path):
    base_url, folder = served
    fake = b"ID,LIMIT_BAL\n1,20000\n"
    (folder / FILE).write_bytes(fake)
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailable) as err:
        fetch_credit(cache, base_url=base_url, timeout=5)
    assert MD5 in str(err.value) and hashlib.md5(fake).hexdigest() in str(err.value)
    assert not (cache / FILE).exists()
    fallback = load_credit("auto", data_dir=cache, base_url=base_url, timeout=5)
    assert fallback.source == "synthetic" and "did not match its checksum" in fallback.note


@needs_credit
def test_truncated_cache_is_downloaded_again(served, tmp_path):
    base_url, folder = served
    shutil.copy(CREDIT_DIR / FILE, folder / FILE)
    cache = tmp_path / "cache"
    cache.mkdir()
    good = (CREDIT_DIR / FILE).read_bytes()
    (cache / FILE).write_bytes(good[: len(good) // 3])
    path = fetch_credit(cache, base_url=base_url, timeout=5)
    assert path.read_bytes() == good and leftovers(cache) == []


def test_truncated_cache_offline_falls_back_to_the_standin(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / FILE).write_bytes(b'"ID","LIMIT_BAL","SEX"\n1,20000,2\n')        # a truncated file
    with pytest.raises(DataUnavailable) as err:
        load_credit("real", data_dir=cache, base_url=UNREACHABLE, timeout=2)
    assert "corrupted" in str(err.value) and MD5 in str(err.value)
    data = load_credit("auto", data_dir=cache, base_url=UNREACHABLE, timeout=2)
    assert data.source == "synthetic"
    assert "SYNTHETIC STAND-IN" in data.note and "corrupted" in data.note
    assert (cache / FILE).read_bytes().startswith(b'"ID"')                   # left as it was: never overwritten


def test_no_files_no_network_uses_the_standin(tmp_path):
    data = load_credit("auto", data_dir=tmp_path / "empty", base_url=UNREACHABLE, timeout=2)
    assert data.source == "synthetic" and "no cached files" in data.note
    assert not (tmp_path / "empty").exists() or leftovers(tmp_path / "empty") == []


def test_env_var_points_at_the_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("FLCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataUnavailable, match="credit-default"):
        fetch_credit(base_url=UNREACHABLE, timeout=2)


# ---------------------------------------------------------------- parsing and features

@needs_credit
def test_real_file_parses_to_integers(real):
    frame = real.frame
    assert tuple(frame.columns) == COLUMNS and len(frame) == 30_000
    assert all(frame[c].dtype == np.int64 for c in COLUMNS)
    assert frame[LABEL].mean() == pytest.approx(0.2212, abs=1e-4)
    assert frame["LIMIT_BAL"].iloc[0] == 20_000                       # written 20000 in the file
    groups = pd.Series(education_group(frame["EDUCATION"].to_numpy())).value_counts()
    assert groups.to_dict() == {"university": 14_030, "graduate": 10_585, "high_school": 4_917, "other": 468}


def test_parse_refuses_bad_files(tmp_path):
    header = ",".join(f'"{c}"' for c in COLUMNS)
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns"):
        parse_credit_csv(tmp_path / "a.csv")
    row = ["1"] * len(COLUMNS)
    row[5] = "thirty"
    (tmp_path / "b.csv").write_text(header + "\n" + ",".join(row) + "\n")
    with pytest.raises(ValueError, match="row 1, column 'AGE'.*'thirty'"):
        parse_credit_csv(tmp_path / "b.csv")
    row = ["1"] * len(COLUMNS)
    row[-1] = "2"
    (tmp_path / "c.csv").write_text(header + "\n" + ",".join(row) + "\n")
    with pytest.raises(ValueError, match="0 or 1"):
        parse_credit_csv(tmp_path / "c.csv")
    (tmp_path / "d.csv").write_text(header + "\n")
    with pytest.raises(ValueError, match="no rows"):
        parse_credit_csv(tmp_path / "d.csv")
    row = ["1"] * len(COLUMNS)
    row[1] = "5e+05"
    (tmp_path / "e.csv").write_text(header + "\n" + ",".join(row) + "\n")
    assert parse_credit_csv(tmp_path / "e.csv")["LIMIT_BAL"].iloc[0] == 500_000


def test_model_features_by_hand():
    row = {c: 0 for c in COLUMNS}
    row.update(LIMIT_BAL=50_000, AGE=30, MARRIAGE=2, PAY_0=2, PAY_2=-1, PAY_3=9, BILL_AMT1=-99, PAY_AMT1=999)
    X = model_features(pd.DataFrame([row]))
    values = dict(zip(FEATURE_NAMES, X[0]))
    assert X.shape == (1, 28) and len(FEATURE_NAMES) == 28
    assert values["log_limit"] == pytest.approx(np.log(50_000)) and values["age"] == 30
    assert (values["married"], values["single"]) == (0, 1)
    assert (values["PAY_0_status"], values["PAY_0_late"]) == (2, 1)
    assert (values["PAY_2_status"], values["PAY_2_late"]) == (-1, 0)
    assert values["PAY_3_status"] == 8                                     # clipped to the documented range
    assert values["slog_BILL_AMT1"] == pytest.approx(-np.log(100))
    assert values["slog_PAY_AMT1"] == pytest.approx(np.log(1000))
    with pytest.raises(ValueError, match="LIMIT_BAL"):
        model_features(pd.DataFrame([{**row, "LIMIT_BAL": 0}]))


def test_education_groups_cover_every_code():
    assert education_group([0, 1, 2, 3, 4, 5, 6]).tolist() == ["other", "graduate", "university", "high_school",
                                                               "other", "other", "other"]
    assert sorted(c for codes in EDUCATION_GROUPS.values() for c in codes) == list(range(7))
    with pytest.raises(ValueError, match="7"):
        education_group([1, 7])


# ---------------------------------------------------------------- the stand-in

@needs_credit
def test_committed_standin_is_the_calibration_of_the_real_file(real):
    committed = json.loads(PARAMS_PATH.read_text())
    fresh = json.loads(json.dumps(calibrate_credit(real.frame)))
    assert fresh.keys() == committed.keys()
    np.testing.assert_allclose(np.array(fresh["correlation"]), np.array(committed["correlation"]), atol=1e-9)
    assert fresh["groups"] == committed["groups"]
    for key in ("mean", "std", "coef"):
        np.testing.assert_allclose(fresh["label_model"][key], committed["label_model"][key], rtol=1e-4, atol=1e-5)
    for g, b in committed["label_model"]["intercepts"].items():
        assert fresh["label_model"]["intercepts"][g] == pytest.approx(b, abs=1e-4)


def test_standin_looks_like_the_real_data(standin):
    frame, params = standin.frame, json.loads(PARAMS_PATH.read_text())
    assert tuple(frame.columns) == COLUMNS and all(frame[c].dtype == np.int64 for c in COLUMNS)
    assert frame["ID"].tolist() == list(range(1, len(frame) + 1))
    groups = education_group(frame["EDUCATION"].to_numpy())
    for name, g in params["groups"].items():
        rows = frame[groups == name]
        assert len(rows) == g["rows"]
        assert rows[LABEL].mean() == pytest.approx(g["default_rate"], abs=0.05 if g["rows"] < 1000 else 0.02)
        from utils.credit_standin import GRID

        median_limit = np.asarray(g["marginals"]["LIMIT_BAL"]["quantiles"])[np.isclose(GRID, 0.5)][0]
        assert rows["LIMIT_BAL"].median() == pytest.approx(median_limit, rel=0.15 if g["rows"] < 1000 else 0.05)
        for c, m in g["marginals"].items():
            if "values" in m:
                assert set(rows[c].unique()) <= set(m["values"]), c
            else:                                                  # on the real data's grid, within its range
                assert (rows[c] % m["step"] == 0).all(), c
                assert m["quantiles"][0] - m["step"] <= rows[c].min() and rows[c].max() <= m["quantiles"][-1] + m["step"]
    assert frame["LIMIT_BAL"].min() > 0
    assert standin.note.startswith("Synthetic stand-in")


def test_standin_is_seeded():
    a, b = CreditStandIn().sample(5), CreditStandIn().sample(5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(CreditStandIn().sample(6))
    assert CreditStandIn().sizes == {"graduate": 10_585, "university": 14_030, "high_school": 4_917, "other": 468}


def test_standin_labels_follow_its_model():
    """A logistic regression fitted on stand-in rows recovers the label model's slopes' direction."""
    from sklearn.linear_model import LogisticRegression

    frame = CreditStandIn().sample(0)
    model = json.loads(PARAMS_PATH.read_text())["label_model"]
    std = np.asarray(model["std"])
    Z = (model_features(frame) - np.asarray(model["mean"])) / np.where(std > 0, std, 1)
    fitted = LogisticRegression(C=10.0, max_iter=2000).fit(Z, frame[LABEL]).coef_[0]
    true = np.asarray(model["coef"])
    assert np.corrcoef(fitted, true)[0, 1] > 0.8


def test_calibrate_refuses_other_tables():
    with pytest.raises(ValueError, match="columns"):
        calibrate_credit(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="params"):
        CreditStandIn({"groups": {}})
    assert credit.BASE_URL.endswith("/examples/data/") and "5a06d9e4" in credit.BASE_URL


@needs_credit
def test_readme_numbers_about_the_standin(real):
    """data/README.md: a logistic regression reaches a test AUC of about 0.76 on the real file, 0.73 on the stand-in."""
    from utils.banks import auc, bank_split, train_logistic
    from utils.models import predict_proba

    for data, expected in ((real, 0.76), (load_credit("synthetic"), 0.73)):
        split = bank_split(data)
        X, y = split.pooled("test")
        assert auc(y, predict_proba(train_logistic(*split.pooled("train"), 0.1), X)) == pytest.approx(expected, abs=0.015)
