"""utils.download, utils.heart, utils.data and utils.flamby: download/verify/cache, parsing, FLamby preprocessing."""

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from real_data import REAL_DIR, needs_real

from utils import download, heart
from utils.data import load_heart_disease, load_raw
from utils.download import DataUnavailable
from utils.flamby import flamby_split
from utils.heart import HOSPITALS, MD5, RawHeartData, describe, fetch_heart_disease, file_name

UNREACHABLE = "http://127.0.0.1:1/"  # port 1: connection refused at once
FLAMBY_SIZES = {"cleveland": (199, 104), "hungarian": (172, 89),
                "switzerland": (30, 16), "va": (85, 45)}
FEATURES = ["age", "sex", "trestbps", "chol", "fbs", "thalach", "exang", "oldpeak",
            "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2"]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def leftovers(folder: Path):
    """Temporary/partial files left in ``folder`` (there must be none)."""
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".") or p.suffix == ".part"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve a folder on 127.0.0.1 (free port); returns (base_url, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    httpd.shutdown()
    httpd.server_close()


def serve_good_files(folder: Path, hospitals=HOSPITALS):
    for h in hospitals:
        shutil.copy(REAL_DIR / file_name(h), folder / file_name(h))


# ---------------------------------------------------------------- constants / paths

def test_constants():
    assert HOSPITALS == ("cleveland", "hungarian", "switzerland", "va")
    assert [heart.HOSPITAL_NAMES[h] for h in HOSPITALS] == [
        "Cleveland", "Hungary", "Switzerland", "VA Long Beach"]
    assert len(heart.RAW_COLUMNS) == 14 and heart.RAW_COLUMNS[-1] == "num"
    assert heart.BASE_URL.endswith("/heart-disease/")


def test_data_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("FLCOURSE_DATA_DIR", str(tmp_path))
    assert download.dataset_dir("heart-disease") == tmp_path / "heart-disease"
    assert download.dataset_dir("heart-disease", tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("FLCOURSE_DATA_DIR")
    assert download.dataset_dir("heart-disease") == download.repo_root() / "data" / "cache" / "heart-disease"
    assert (download.repo_root() / "utils" / "data.py").is_file()


# ---------------------------------------------------------------- download path

@needs_real
def test_download_into_empty_folder(server, tmp_path):
    base_url, served = server
    serve_good_files(served)
    cache = tmp_path / "cache" / "nested"
    paths = fetch_heart_disease(cache, base_url=base_url, timeout=5)
    assert set(paths) == set(HOSPITALS)
    for h, p in paths.items():
        assert download.md5_of_file(p) == MD5[h]
    assert leftovers(cache) == []
    raw = load_raw("real", data_dir=cache, base_url=UNREACHABLE)  # now offline works
    assert raw.source == "real" and sum(len(f) for f in raw.frames.values()) == 920


@needs_real
def test_corrupted_download_is_rejected(server, tmp_path):
    base_url, served = server
    serve_good_files(served)
    (served / file_name("cleveland")).write_bytes(b"63.0,1.0,not the real file\n")
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailable) as err:
        fetch_heart_disease(cache, base_url=base_url, timeout=5)
    msg = str(err.value)
    assert "processed.cleveland.data" in msg and MD5["cleveland"] in msg
    assert md5(b"63.0,1.0,not the real file\n") in msg
    assert not (cache / file_name("cleveland")).exists()
    assert not cache.exists() or leftovers(cache) == []


@needs_real
def test_missing_file_404(server, tmp_path):
    base_url, served = server
    serve_good_files(served, hospitals=("cleveland", "hungarian", "switzerland"))
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailable) as err:
        fetch_heart_disease(cache, base_url=base_url, timeout=5)
    msg = str(err.value)
    assert base_url + "processed.va.data" in msg and "404" in msg
    assert not (cache / "processed.va.data").exists()
    assert leftovers(cache) == []


@needs_real
def test_truncated_cache_is_refetched(server, tmp_path):
    base_url, served = server
    serve_good_files(served)
    cache = tmp_path / "cache"
    cache.mkdir()
    serve_good_files(cache)
    good = (cache / file_name("hungarian")).read_bytes()
    (cache / file_name("hungarian")).write_bytes(good[: len(good) // 2])
    paths = fetch_heart_disease(cache, base_url=base_url, timeout=5)
    assert paths["hungarian"].read_bytes() == good
    assert leftovers(cache) == []


@needs_real
def test_truncated_cache_without_network(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    serve_good_files(cache)
    good = (cache / file_name("va")).read_bytes()
    (cache / file_name("va")).write_bytes(good[:100])
    with pytest.raises(DataUnavailable) as err:
        fetch_heart_disease(cache, base_url=UNREACHABLE, timeout=5)
    msg = str(err.value)
    assert "processed.va.data" in msg and MD5["va"] in msg
    assert md5(good[:100]) in msg and UNREACHABLE in msg
    assert leftovers(cache) == []


def test_write_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    payload = b"x" * 1000
    monkeypatch.setattr(download.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        download.write_atomically(tmp_path / "f.data", payload)
    assert list(tmp_path.iterdir()) == []


@needs_real
def test_save_failure_is_data_unavailable(server, tmp_path, monkeypatch):
    base_url, served = server
    serve_good_files(served)
    monkeypatch.setattr(download.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("read-only")))
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailable, match="could not save"):
        fetch_heart_disease(cache, base_url=base_url, timeout=5)
    assert list(cache.iterdir()) == []


@needs_real
def test_verified_files_are_never_written(monkeypatch):
    """A read-only shared copy whose files verify works without any write."""
    def no_write(*args, **kwargs):
        raise AssertionError("must not write when the files verify")

    monkeypatch.setattr(download, "write_atomically", no_write)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in REAL_DIR.iterdir())
    raw = load_raw("real", data_dir=REAL_DIR, base_url=UNREACHABLE)
    assert raw.source == "real"
    assert sorted((p.name, p.stat().st_mtime_ns) for p in REAL_DIR.iterdir()) == before


@needs_real
def test_env_var_is_used(monkeypatch):
    monkeypatch.setenv("FLCOURSE_DATA_DIR", str(REAL_DIR.parent))
    paths = fetch_heart_disease(base_url=UNREACHABLE)
    assert all(p.parent == REAL_DIR for p in paths.values())


def test_no_network_auto_falls_back_to_twin(tmp_path):
    raw = load_raw("auto", data_dir=tmp_path / "empty", base_url=UNREACHABLE, timeout=2)
    assert raw.source == "synthetic"
    assert "synthetic twin" in raw.note and "no cached files" in raw.note
    assert [len(raw.frames[h]) for h in HOSPITALS] == [303, 294, 123, 200]
    with pytest.raises(DataUnavailable, match="127.0.0.1:1"):
        load_raw("real", data_dir=tmp_path / "empty", base_url=UNREACHABLE, timeout=2)
    assert not (tmp_path / "empty").exists() or leftovers(tmp_path / "empty") == []


# ---------------------------------------------------------------- parsing

def test_parse_rejects_wrong_column_count(tmp_path):
    bad = tmp_path / "processed.bad.data"
    bad.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"processed\.bad\.data.*3 comma-separated columns"):
        heart.parse_raw_file(bad)


def test_parse_rejects_non_numeric(tmp_path):
    bad = tmp_path / "processed.bad.data"
    bad.write_text(",".join(["1"] * 13 + ["abc"]) + "\n")
    with pytest.raises(ValueError, match=r"processed\.bad\.data.*'num'.*'abc'"):
        heart.parse_raw_file(bad)


def test_parse_missing_values(tmp_path):
    f = tmp_path / "ok.data"
    f.write_text("28,1,2,130,132,0,2,185,0,0,?,?,?,0\n")
    frame = heart.parse_raw_file(f)
    assert list(frame.columns) == list(heart.RAW_COLUMNS)
    assert frame[["slope", "ca", "thal"]].isna().all(axis=None)
    assert frame["age"].iloc[0] == 28.0


@needs_real
def test_real_frames_and_describe():
    raw = load_raw("real", data_dir=REAL_DIR, base_url=UNREACHABLE)
    assert [len(raw.frames[h]) for h in HOSPITALS] == [303, 294, 123, 200]
    assert (raw.frames["switzerland"]["chol"] == 0).all()
    table = describe(raw)
    assert list(table.index) == list(HOSPITALS)
    assert table.loc["cleveland", "rows"] == 303
    assert table.loc["switzerland", "disease rate"] == pytest.approx(115 / 123, abs=1e-3)
    assert table.loc["cleveland", "% rows dropped by FLamby"] == 0.0
    assert "missing % ca" in table.columns and "missing % age" not in table.columns


# ---------------------------------------------------------------- FLamby protocol

@pytest.fixture(scope="module")
def real_split():
    return load_heart_disease("real", data_dir=REAL_DIR)


@needs_real
def test_flamby_sizes_and_features(real_split):
    assert real_split.source == "real"
    assert real_split.feature_names == FEATURES
    assert {h: (len(real_split.train[h][1]), len(real_split.test[h][1]))
            for h in HOSPITALS} == FLAMBY_SIZES
    X, y = real_split.pooled("train")
    Xt, yt = real_split.pooled("test")
    assert len(y) + len(yt) == 740
    assert X.dtype == np.float32 and y.dtype == np.float32 and X.shape == (486, 13)
    assert set(np.unique(y)) <= {0.0, 1.0}
    sizes = real_split.sizes()
    assert sizes["train"].sum() == 486 and sizes["test"].sum() == 254


@needs_real
def test_flamby_center_standardisation(real_split):
    for h in HOSPITALS:
        X = real_split.train[h][0].astype(np.float64)
        std = X.std(axis=0, ddof=1)
        constant = std < 1e-6
        np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(std[~constant], 1, atol=1e-4)
        # FLamby keeps constant columns: std 0 -> the column becomes 0.
        assert np.all(X[:, constant] == 0)
    # Switzerland's chol is always 0 ("not measured").
    assert real_split.feature_names.index("chol") in np.flatnonzero(
        real_split.train["switzerland"][0].std(axis=0) < 1e-6)


@needs_real
def test_flamby_matches_manual_reference():
    """Re-derive one centre the way FLamby's code does (pandas + sklearn) and compare."""
    from sklearn.model_selection import train_test_split

    split = load_heart_disease("real", data_dir=REAL_DIR)
    dfs = {}
    for h in HOSPITALS:
        df = pd.read_csv(REAL_DIR / file_name(h), header=None)
        df = df.replace("?", np.nan).drop([10, 11, 12], axis=1).dropna(axis=0).apply(pd.to_numeric)
        dfs[h] = df.reset_index(drop=True)
    feats = pd.get_dummies(pd.concat([d.iloc[:, :-1] for d in dfs.values()], ignore_index=True),
                           columns=[2, 6], drop_first=True).to_numpy(dtype=float)
    start = 0
    for h in HOSPITALS:
        n = len(dfs[h])
        X = feats[start:start + n]
        start += n
        labels = (dfs[h].iloc[:, -1] > 0).astype(int)
        strat = labels if labels.value_counts().min() > 2 and labels.nunique() > 1 else None
        tr, te = train_test_split(np.arange(n), test_size=1 - 0.66, train_size=0.66,
                                  random_state=43, shuffle=True, stratify=strat)
        tr = np.sort(tr)
        te = np.sort(te)
        mean, std = X[tr].mean(0), X[tr].std(0, ddof=1)
        np.testing.assert_allclose(split.train[h][0], (X[tr] - mean) / (std + 1e-9), atol=1e-5)
        np.testing.assert_allclose(split.test[h][0], (X[te] - mean) / (std + 1e-9), atol=1e-4)
        np.testing.assert_array_equal(split.test[h][1], labels.to_numpy()[te])


@needs_real
def test_pooled_and_raw_standardisation():
    raw = load_raw("real", data_dir=REAL_DIR, base_url=UNREACHABLE)
    pooled = flamby_split(raw, standardize="pooled")
    X, _ = pooled.pooled("train")
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=0, ddof=1), 1, atol=1e-4)
    none = flamby_split(raw, standardize=None)
    assert none.train["cleveland"][0][0, 0] == 63.0  # first Cleveland row, age 63


def test_synthetic_split_has_13_features():
    split = load_heart_disease("synthetic", seed=3)
    assert split.source == "synthetic" and "synthetic" in split.note.lower()
    assert split.feature_names == FEATURES
    assert all(split.train[h][0].shape[1] == 13 for h in HOSPITALS)
    again = load_heart_disease("synthetic", seed=3)
    np.testing.assert_array_equal(split.pooled()[0], again.pooled()[0])


# ---------------------------------------------------------------- bad inputs

def test_bad_inputs_name_the_value(tmp_path):
    with pytest.raises(ValueError, match="'remote'"):
        load_raw("remote")
    with pytest.raises(ValueError, match="'zscore'"):
        flamby_split(RawHeartData(frames={}, source="real"), standardize="zscore")
    with pytest.raises(ValueError, match=r"'nan'.*not a finite number"):
        (tmp_path / "nan.data").write_text(",".join(["1"] * 13 + ["nan"]) + "\n")
        heart.parse_raw_file(tmp_path / "nan.data")
    with pytest.raises(ValueError, match="'zscore'"):
        load_heart_disease("synthetic", standardize="zscore")
    with pytest.raises(ValueError, match=r"'boston'.*cleveland"):
        fetch_heart_disease(tmp_path, hospitals=["boston"])
    with pytest.raises(ValueError, match="'boston'"):
        load_raw("synthetic", hospitals=["va", "boston"])
    with pytest.raises(ValueError, match="'boston'"):
        file_name("boston")
    split = load_heart_disease("synthetic")
    with pytest.raises(ValueError, match="'valid'"):
        split.pooled("valid")
