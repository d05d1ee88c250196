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


# ---------------------------------------------------------------- download, with small made-up files

GOOD = b"1,2,3\n"


def test_data_unavailable_reason_defaults_to_the_message():
    assert DataUnavailable("no network").reason == "no network"
    assert DataUnavailable("details", "short").reason == "short"


def test_fetch_verified_from_a_file_url(tmp_path):
    mirror = tmp_path / "mirrorX"   # a name ending in X: only "/" is stripped from the base URL
    mirror.mkdir()
    (mirror / "f.data").write_bytes(GOOD)
    for base in (mirror.as_uri() + "/", mirror.as_uri()):
        cache = tmp_path / f"cache{len(base)}"
        paths = download.fetch_verified({"f.data": md5(GOOD)}, base, cache)
        assert paths == {"f.data": cache / "f.data"} and paths["f.data"].read_bytes() == GOOD
        assert leftovers(cache) == []


def test_timeouts_reach_urlopen(tmp_path, monkeypatch):
    seen = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return GOOD

    def urlopen(url, timeout):
        seen.append((url, timeout))
        return Response()

    monkeypatch.setattr(download.urllib.request, "urlopen", urlopen)
    download.fetch_verified({"f.data": md5(GOOD)}, "http://example.invalid/x/", tmp_path / "a")
    download.fetch_verified({"f.data": md5(GOOD)}, "http://example.invalid/x/", tmp_path / "b", timeout=2.5)
    assert seen == [("http://example.invalid/x/f.data", 10.0), ("http://example.invalid/x/f.data", 2.5)]
    seen.clear()
    monkeypatch.setattr(heart, "MD5", {h: md5(GOOD) for h in HOSPITALS})
    fetch_heart_disease(tmp_path / "c", base_url="http://example.invalid/", hospitals="va")
    fetch_heart_disease(tmp_path / "d", base_url="http://example.invalid/", hospitals="va", timeout=3.0)
    assert [t for _, t in seen] == [10.0, 3.0]


def test_failures_explain_themselves(tmp_path, monkeypatch):
    """Each failure's reason (shown to learners) and message (the details), exactly."""
    files = {"f.data": md5(GOOD)}
    with pytest.raises(DataUnavailable) as err:
        download.fetch_verified(files, UNREACHABLE, tmp_path / "empty")
    assert err.value.reason == "there are no cached files and the download failed (no network?)"
    assert str(err.value).startswith(f"could not download f.data from {UNREACHABLE}f.data: ")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "f.data").write_bytes(b"1,2\n")
    with pytest.raises(DataUnavailable) as err:
        download.fetch_verified(files, UNREACHABLE, cache)
    assert err.value.reason == "the cached file is corrupted and the download failed (no network?)"
    assert str(err.value).startswith(f"the cached file {cache / 'f.data'} is corrupted (md5 {md5(b'1,2' + bytes([10]))}, "
                                     f"expected {md5(GOOD)}); could not download f.data")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "f.data").write_bytes(b"tampered")
    with pytest.raises(DataUnavailable) as err:
        download.fetch_verified(files, mirror.as_uri(), tmp_path / "new")
    assert err.value.reason == "the downloaded f.data did not match its checksum"
    assert str(err.value) == (f"downloaded f.data from {mirror.as_uri()}/f.data but its md5 is {md5(b'tampered')}, "
                              f"expected {md5(GOOD)}; the file was not saved.")
    (mirror / "f.data").write_bytes(GOOD)
    monkeypatch.setattr(download.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("read-only")))
    with pytest.raises(DataUnavailable) as err:
        download.fetch_verified(files, mirror.as_uri(), tmp_path / "ro")
    assert err.value.reason == f"the data folder {tmp_path / 'ro'} is not writable"


def test_write_atomically_writes_a_hidden_part_file_beside_the_target(tmp_path, monkeypatch):
    renames = []
    real_replace = download.os.replace

    def replace(src, dst):
        renames.append((Path(src), Path(dst), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(download.os, "replace", replace)
    download.write_atomically(tmp_path / "sub" / "f.data", b"abc")
    (src, dst, data), = renames
    assert dst == tmp_path / "sub" / "f.data" and data == b"abc" and dst.read_bytes() == b"abc"
    assert src.parent == dst.parent and src.name.startswith(".f.data.") and src.name.endswith(".part")
    assert leftovers(tmp_path / "sub") == []


def test_interrupt_after_the_rename_keeps_the_file(tmp_path, monkeypatch):
    """Ctrl-C right after the rename: the clean-up finds no temporary file and re-raises the interrupt."""
    real_replace = download.os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(download.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        download.write_atomically(tmp_path / "f.data", b"abc")
    assert (tmp_path / "f.data").read_bytes() == b"abc" and leftovers(tmp_path) == []


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


def test_parse_counts_lines_from_one_and_skips_blank_ones(tmp_path):
    good = "28,1,2,130,132,0,2,185,0,0,?,?,?,0"
    f = tmp_path / "ok.data"
    f.write_text(good + "\n\n" + good.replace("28", "29", 1) + "\n")
    frame = heart.parse_raw_file(f)
    assert frame["age"].tolist() == [28.0, 29.0] and (frame.dtypes == "float64").all()
    f.write_text(good + "\n\n1,2,3\n")
    with pytest.raises(ValueError, match=r"ok\.data: line 3 has 3 comma-separated columns, expected 14 \(age, sex, cp,"):
        heart.parse_raw_file(f)
    f.write_text(good.replace("185", "x"))
    with pytest.raises(ValueError, match=r"ok\.data: line 1, column 'thalach': value 'x' is not a finite number"):
        heart.parse_raw_file(f)
    f.write_text("\n \n")
    with pytest.raises(ValueError, match=r"ok\.data: file is empty, expected rows of 14 columns"):
        heart.parse_raw_file(f)


def test_describe_small_tables():
    """Sizes, disease rates and missing shares of two made-up hospitals, computed by hand."""
    row = dict(zip(heart.RAW_COLUMNS, [50.0, 1, 2, 130, 200, 0, 1, 150, 0, 1.0, 2, 0, 3, 0]))
    va = pd.DataFrame([row, {**row, "num": 2, "ca": np.nan}, {**row, "num": 1, "chol": np.nan}])
    cleveland = pd.DataFrame([row, {**row, "num": 3}])
    table = describe(RawHeartData(frames={"va": va, "cleveland": cleveland}, source="synthetic"))
    assert list(table.index) == ["cleveland", "va"]
    assert list(table.columns) == ["name", "rows", "disease rate", "% rows dropped by FLamby", "missing % chol",
                                   "missing % ca"]
    assert table.loc["va"].tolist() == ["VA Long Beach", 3, 0.667, 33.3, 33.3, 33.3]   # 2/3, 1/3 of the rows
    assert table.loc["cleveland"].tolist() == ["Cleveland", 2, 0.5, 0.0, 0.0, 0.0]


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


# ---------------------------------------------------------------- load_raw / load_heart_disease: what reaches whom

def same_frames(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(a[h].equals(b[h]) for h in a)


@pytest.fixture
def offline(monkeypatch):
    """``fetch_heart_disease`` as seen by utils.data, recording its arguments and failing like no network."""
    from utils import data

    calls = []

    def fetch(data_dir=None, **kwargs):
        calls.append({"data_dir": data_dir, **kwargs})
        raise DataUnavailable("no network (test)", "the test has no network")

    monkeypatch.setattr(data, "fetch_heart_disease", fetch)
    return calls


def test_load_raw_defaults_and_arguments(offline, tmp_path):
    from utils.twin import HeartDiseaseTwin

    raw = load_raw()                                   # source="auto", seed=0, the UCI URL, timeout 10 s
    assert raw.source == "synthetic" and same_frames(raw.frames, HeartDiseaseTwin().sample(None, seed=0))
    assert raw.note == ("Using the synthetic twin instead of the real UCI files because the test has no network. It "
                        "mimics each hospital's statistics, so exercises run, but numbers will differ from the real data "
                        "and from FLamby's published results.")
    assert offline == [{"data_dir": None, "base_url": heart.BASE_URL, "timeout": 10.0, "hospitals": tuple(HOSPITALS)}]
    offline.clear()
    raw = load_raw("auto", data_dir=tmp_path, seed=4, base_url="file:///no/such/folder/", hospitals=["va"], timeout=2.5)
    assert same_frames(raw.frames, HeartDiseaseTwin().sample(None, hospitals=["va"], seed=4))
    assert offline == [{"data_dir": tmp_path, "base_url": "file:///no/such/folder/", "timeout": 2.5, "hospitals": ("va",)}]
    synthetic = load_raw("synthetic", seed=5, hospitals=["cleveland", "va"])
    assert same_frames(synthetic.frames, HeartDiseaseTwin().sample(None, hospitals=["cleveland", "va"], seed=5))
    assert synthetic.note == ("Synthetic twin of the four hospitals (requested with source='synthetic'): same sizes and "
                              "per-hospital statistics as the real files, but not real patients.")
    assert len(offline) == 1   # source="synthetic" never tries the files


def test_load_heart_disease_passes_everything_on(offline, tmp_path):
    def same_split(a, b):
        return a.source == b.source and all(np.array_equal(x, y) for part in ("train", "test") for h in HOSPITALS
                                            if h in getattr(a, part) for x, y in zip(getattr(a, part)[h], getattr(b, part)[h]))

    default = load_heart_disease()                     # auto (falls back here), centred, seed 0
    assert same_split(default, flamby_split(load_raw("synthetic", seed=0), "center"))
    assert offline[0]["data_dir"] is None
    load_heart_disease(data_dir=tmp_path, hospitals=["switzerland"])
    assert offline[-1]["data_dir"] == tmp_path
    raw = load_raw("synthetic", seed=2, hospitals=["switzerland"])
    for how in ("pooled", None):
        assert same_split(load_heart_disease("synthetic", how, seed=2, hospitals=["switzerland"]), flamby_split(raw, how))
    assert list(load_heart_disease("synthetic", hospitals=["va"]).train) == ["va"]


def test_a_bad_standardize_is_refused_before_any_download(offline):
    with pytest.raises(ValueError, match=r"^unknown standardize 'zscore'; choose one of \['center', 'pooled', None\]$"):
        load_heart_disease(standardize="zscore")
    assert offline == []


def test_real_files_are_parsed_and_say_where_they_are(tmp_path, monkeypatch):
    """Made-up files standing in for the UCI ones (their md5 patched in): load_raw reads them, offline."""
    rows = {"cleveland": "63,1,1,145,233,1,2,150,0,2.3,3,0,6,0\n", "va": "28,1,2,130,132,0,2,185,0,0,?,?,?,1\n"}
    for h, text in rows.items():
        (tmp_path / file_name(h)).write_text(text)
    monkeypatch.setattr(heart, "MD5", {**MD5, **{h: md5(text.encode()) for h, text in rows.items()}})
    raw = load_raw("real", data_dir=tmp_path, base_url=UNREACHABLE, hospitals=["cleveland", "va"])
    assert raw.source == "real" and raw.note == f"Real UCI Heart Disease files (md5-verified) from {tmp_path}."
    assert list(raw.frames) == ["cleveland", "va"]
    assert raw.frames["va"].iloc[0].tolist()[:10] == [28.0, 1.0, 2.0, 130.0, 132.0, 0.0, 2.0, 185.0, 0.0, 0.0]
    assert raw.frames["cleveland"]["num"].tolist() == [0.0] and raw.frames["va"]["num"].tolist() == [1.0]


# ---------------------------------------------------------------- FederatedSplit.restandardize / validation_split

def assert_same_split(got, want):
    assert got.standardize == want.standardize and got.hospitals == want.hospitals
    assert got.feature_names == want.feature_names and got.source == want.source and got.note == want.note
    for part in ("train", "test"):
        assert list(getattr(got, part)) == list(getattr(want, part))
        for h, (X, y) in getattr(want, part).items():
            gX, gy = getattr(got, part)[h]
            assert gX.dtype == gy.dtype == np.float32
            np.testing.assert_allclose(gX, X, atol=1e-6)
            np.testing.assert_array_equal(gy, y)


def test_restandardize_equals_a_fresh_split():
    raw = load_raw("synthetic", seed=1, hospitals=["switzerland", "va"])
    center = flamby_split(raw, "center")
    assert_same_split(flamby_split(raw), center)   # "center" is the default
    for how in ("pooled", None):
        assert_same_split(center.restandardize(how), flamby_split(raw, how))
    assert_same_split(flamby_split(raw, "pooled").restandardize("center"), center)
    assert_same_split(center.restandardize("pooled").restandardize(None).restandardize("center"), center)
    assert center.restandardize(None).stats == {}
    for h, (X, _) in center.unscaled["train"].items():   # "center": each hospital's own training mean and std
        np.testing.assert_allclose(center.stats[h][0], X.mean(0))
        np.testing.assert_allclose(center.stats[h][1], X.std(0, ddof=1))


def test_flamby_clean_drops_three_columns_then_incomplete_rows():
    from utils.flamby import flamby_clean

    row = dict(zip(heart.RAW_COLUMNS, [50.0, 1, 2, 130, 200, 0, 1, 150, 0, 1.0, 2, 0, 3, 0]))
    frame = pd.DataFrame([{**row, "ca": np.nan}, {**row, "chol": np.nan}, {**row, "age": 60.0}])
    clean = flamby_clean(frame)
    assert list(clean.columns) == [c for c in heart.RAW_COLUMNS if c not in ("slope", "ca", "thal")]
    assert clean["age"].tolist() == [50.0, 60.0] and list(clean.index) == [0, 1]


def test_a_column_constant_on_the_training_rows():
    """Its std is 0: training rows become 0 and a test row's offset is divided by FLamby's 1e-9 (kept, not flipped)."""
    from utils.flamby import FederatedSplit

    Xtr, Xte = np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([[1.0 + 2e-9, 1.0]])
    y = np.array([0.0, 1.0])
    split = FederatedSplit(train={}, test={}, feature_names=["a", "b"], hospitals=("va",), source="synthetic",
                           unscaled={"train": {"va": (Xtr, y)}, "test": {"va": (Xte, y[:1])}}).restandardize("center")
    np.testing.assert_allclose(split.train["va"][0], [[0.0, -1 / np.sqrt(2)], [0.0, 1 / np.sqrt(2)]], rtol=1e-6)
    np.testing.assert_allclose(split.test["va"][0], [[2.0, 0.0]], rtol=1e-6, atol=1e-7)


def test_sizes_table():
    from utils.flamby import FederatedSplit
    from utils.heart import HOSPITAL_NAMES

    split = flamby_split(load_raw("synthetic", seed=1, hospitals=["switzerland", "va"]))
    table = split.sizes()
    assert table.index.name == "hospital" and list(table.index) == ["switzerland", "va"]
    assert list(table.columns) == ["name", "train", "test", "disease rate train", "disease rate test"]
    for h in ("switzerland", "va"):
        ytr, yte = split.train[h][1], split.test[h][1]
        assert table.loc[h].tolist() == [HOSPITAL_NAMES[h], len(ytr), len(yte), round(float(ytr.mean()), 3),
                                         round(float(yte.mean()), 3)]
    empty = FederatedSplit(train={"va": (np.zeros((3, 1)), np.array([1.0, 0.0, 0.0])), "hungarian": (np.zeros((0, 1)), np.zeros(0))},
                           test={"va": (np.zeros((0, 1)), np.zeros(0)), "hungarian": (np.zeros((1, 1)), np.ones(1))},
                           feature_names=["a"], hospitals=("va", "hungarian"), source="synthetic").sizes()
    assert np.isnan(empty.loc["hungarian", "disease rate train"]) and empty.loc["hungarian", "disease rate test"] == 1.0
    assert empty.loc["va", "disease rate train"] == 0.333 and np.isnan(empty.loc["va", "disease rate test"])
    assert empty.loc["va", "train"] == 3 and empty.loc["va", "test"] == 0


def test_validation_split_cuts_each_hospitals_training_rows():
    """Fit rows and validation rows drawn from the training rows only (stratified), scaled with the fit rows' statistics."""
    from sklearn.model_selection import train_test_split

    raw = load_raw("synthetic", seed=1, hospitals=["switzerland", "va"])
    for how in ("center", None):
        split = flamby_split(raw, how)
        for fraction, seed in ((0.25, 0), (0.4, 3)):
            got = split.validation_split() if (fraction, seed) == (0.25, 0) else split.validation_split(fraction, seed)
            assert got.standardize == how and got.hospitals == split.hospitals and got.note == split.note
            for h in split.hospitals:
                X, y = split.unscaled["train"][h]
                a, b = train_test_split(np.arange(len(y)), test_size=fraction, random_state=seed, stratify=y)
                a, b = np.sort(a), np.sort(b)
                mean, std = (X[a].mean(0), X[a].std(0, ddof=1) + 1e-9) if how else (0.0, 1.0)
                np.testing.assert_allclose(got.train[h][0], (X[a] - mean) / std, atol=1e-5)
                np.testing.assert_allclose(got.test[h][0], (X[b] - mean) / std, atol=1e-4)
                np.testing.assert_array_equal(got.train[h][1], y[a])
                np.testing.assert_array_equal(got.test[h][1], y[b])


def test_one_hot_keeps_every_flamby_level_even_when_a_hospital_lacks_it():
    from utils.flamby import flamby_one_hot

    features = pd.DataFrame({"age": [50.0, 60.0], "cp": [4.0, 4.0], "restecg": [0.0, 1.0]})
    out = flamby_one_hot(features)
    assert list(out.columns) == ["age", "cp_2", "cp_3", "cp_4", "restecg_1", "restecg_2"]
    assert out.to_numpy().tolist() == [[50.0, 0, 0, 1, 0, 0], [60.0, 0, 0, 1, 1, 0]]
    assert (out.dtypes == "float64").all()


def test_flamby_train_test_indices_small_cases():
    """66/34, seed 43, stratified only when both classes have more than two rows (FLamby's rule)."""
    from sklearn.model_selection import train_test_split

    from utils.flamby import flamby_train_test_indices

    for labels, stratified in (([0, 1, 0], False), ([0] * 6 + [1] * 2, False), ([0] * 6 + [1] * 3, True),
                               ([1] * 7, False), ([0, 1] * 6, True)):
        labels = np.array(labels, dtype=float)
        a, b = train_test_split(np.arange(len(labels)), test_size=1.0 - 0.66, train_size=0.66, random_state=43,
                                shuffle=True, stratify=labels if stratified else None)
        tr, te = flamby_train_test_indices(labels)
        assert tr.tolist() == sorted(a.tolist()) and te.tolist() == sorted(b.tolist()), labels


def test_validation_split_stratifies_exactly_when_each_class_has_two_rows():
    """Two rows of a class: one goes to each part (an unstratified cut with this seed puts both in one);
    a single row of a class cannot be stratified, and the cut still happens."""
    from utils.flamby import FederatedSplit

    rng = np.random.default_rng(0)
    labels = {"two sick": np.array([0] * 10 + [1] * 2), "two healthy": np.array([1] * 10 + [0] * 2),
              "one sick": np.array([0] * 11 + [1]), "one healthy": np.array([1] * 11 + [0])}
    train = {h: (rng.normal(size=(len(y), 2)), y.astype(float)) for h, y in labels.items()}
    split = FederatedSplit(train={}, test={}, feature_names=["a", "b"], hospitals=tuple(labels), source="synthetic",
                           standardize=None, unscaled={"train": train, "test": {h: train[h] for h in labels}})
    cut = split.validation_split(fraction=0.5, seed=0)
    for h, rare in (("two sick", 1), ("two healthy", 0)):
        assert [int(np.sum(cut.train[h][1] == rare)), int(np.sum(cut.test[h][1] == rare))] == [1, 1], h
    for h in ("one sick", "one healthy"):
        assert len(cut.train[h][1]) == 6 and len(cut.test[h][1]) == 6, h
