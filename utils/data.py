"""The four hospitals of the UCI Heart Disease data set, real and offline.

Cleveland, Hungary, Switzerland and VA Long Beach each contributed one file
(UCI id 45, CC BY 4.0; see data/README.md). This module

* downloads the files from UCI once, verifies their md5 and caches them
  (``fetch_heart_disease``),
* parses them into one table per hospital (``load_raw``), falling back to a
  synthetic twin (``utils.twin``) when the real files cannot be obtained,
* reproduces the FLamby "Fed-Heart-Disease" preprocessing exactly
  (``flamby_split``, ``load_heart_disease``).
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HOSPITALS = ("cleveland", "hungarian", "switzerland", "va")
HOSPITAL_NAMES = {
    "cleveland": "Cleveland",
    "hungarian": "Hungary",
    "switzerland": "Switzerland",
    "va": "VA Long Beach",
}
RAW_COLUMNS = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num",
)
# md5 of the untouched UCI files (see /work/shared/data/heart-disease/README.md).
MD5 = {
    "cleveland": "2d91a8ff69cfd9616aa47b59d6f843db",
    "hungarian": "22e96bee155b5973568101c93b3705f6",
    "switzerland": "9a87f7577310b3917730d06ba9349e20",
    "va": "4249d03ca7711e84f4444768c9426170",
}
BASE_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease/"
ENV_DATA_DIR = "FLCOURSE_DATA_DIR"

# FLamby drops the three columns that are mostly missing outside Cleveland.
FLAMBY_DROPPED = ("slope", "ca", "thal")
FLAMBY_COLUMNS = tuple(c for c in RAW_COLUMNS if c not in FLAMBY_DROPPED and c != "num")
FLAMBY_ONE_HOT = ("cp", "restecg")
# Levels of the one-hot columns. FLamby takes the union of the levels seen in
# the pooled data; for the real files that is exactly these, and fixing them
# keeps 13 features even for a small synthetic sample that misses a level.
FLAMBY_LEVELS = {"cp": (1, 2, 3, 4), "restecg": (0, 1, 2)}
FLAMBY_TRAIN_FRACTION = 0.66
FLAMBY_SPLIT_SEED = 43
FLAMBY_STD_EPS = 1e-9
STANDARDIZE_CHOICES = ("center", "pooled", None)
SOURCES = ("auto", "real", "synthetic")


class DataUnavailable(RuntimeError):
    """The real files could not be found, downloaded or verified.

    ``reason`` is a short phrase for learners (e.g. "no network and no cached
    files"); the message itself carries the technical details.
    """

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


# --------------------------------------------------------------------------
# Names and places
# --------------------------------------------------------------------------

def check_hospitals(hospitals=None) -> tuple:
    """Return ``hospitals`` as a tuple in canonical order (None → all four).

    Raises ValueError naming any unknown hospital and listing the valid ones.
    """
    if hospitals is None:
        return HOSPITALS
    if isinstance(hospitals, str):
        hospitals = (hospitals,)
    hospitals = tuple(hospitals)
    unknown = [h for h in hospitals if h not in HOSPITALS]
    if unknown:
        raise ValueError(
            f"unknown hospital(s) {unknown!r}; valid hospitals are {list(HOSPITALS)}"
        )
    if not hospitals:
        raise ValueError(f"hospitals is empty; choose from {list(HOSPITALS)}")
    return tuple(h for h in HOSPITALS if h in hospitals)


def file_name(hospital: str) -> str:
    """UCI file name of one hospital, e.g. ``processed.va.data``."""
    check_hospitals([hospital])
    return f"processed.{hospital}.data"


def repo_root() -> Path:
    """The repository folder (parent of the ``utils`` package)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the raw files are cached.

    ``$FLCOURSE_DATA_DIR`` if set (CI points it at a read-only shared copy),
    else ``<repo>/data/cache/heart-disease`` (git-ignored).
    """
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return repo_root() / "data" / "cache" / "heart-disease"


def _resolve_dir(folder) -> Path:
    """``folder`` as a Path, or the default ``data_dir()`` when None."""
    return Path(folder).expanduser() if folder is not None else data_dir()


# --------------------------------------------------------------------------
# Download and verify
# --------------------------------------------------------------------------

def md5_of_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_of_file(path: Path) -> str:
    return md5_of_bytes(Path(path).read_bytes())


def download_bytes(url: str, timeout: float) -> bytes:
    """GET ``url`` and return its body (raises urllib/OS errors as they come)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers never see a partial file.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``path`` (``os.replace`` is atomic on one file system). On any error
    the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fetch_one(hospital: str, folder: Path, base_url: str, timeout: float) -> Path:
    """Make sure one verified file is in ``folder``; return its path."""
    name = file_name(hospital)
    path = folder / name
    expected = MD5[hospital]
    cached_problem = ""
    if path.is_file():
        actual = md5_of_file(path)
        if actual == expected:
            return path  # verified: never write (the folder may be read-only)
        cached_problem = (
            f"the cached file {path} is corrupted (md5 {actual}, expected {expected}); "
        )

    url = base_url.rstrip("/") + "/" + name
    try:
        data = download_bytes(url, timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = ("the cached file is corrupted" if cached_problem
                  else "there are no cached files") + " and the download failed (no network?)"
        raise DataUnavailable(
            f"{cached_problem}could not download {name} from {url}: {err!r}. "
            f"Check your network, or put the verified file in {folder} "
            f"(or set {ENV_DATA_DIR}).",
            reason=reason,
        ) from err

    actual = md5_of_bytes(data)
    if actual != expected:
        raise DataUnavailable(
            f"{cached_problem}downloaded {name} from {url} but its md5 is {actual}, "
            f"expected {expected}; the file was not saved.",
            reason=f"the downloaded {name} did not match its checksum",
        )
    try:
        write_atomically(path, data)
    except OSError as err:
        raise DataUnavailable(
            f"downloaded {name} but could not save it in {folder}: {err!r}. "
            f"Set {ENV_DATA_DIR} to a writable folder.",
            reason=f"the data folder {folder} is not writable",
        ) from err
    return path


def fetch_heart_disease(data_dir=None, base_url: str = BASE_URL, timeout: float = 10.0,
                        hospitals=None) -> dict:
    """Return ``{hospital: Path}`` of md5-verified raw files, downloading if needed.

    A file already in ``data_dir`` with the right md5 is used as is (nothing is
    written, so a read-only shared copy works). A missing or corrupted file is
    downloaded from ``base_url``, verified and written atomically. Raises
    ``DataUnavailable`` if a verified file cannot be obtained.
    """
    hospitals = check_hospitals(hospitals)
    folder = _resolve_dir(data_dir)
    return {h: _fetch_one(h, folder, base_url, timeout) for h in hospitals}


# --------------------------------------------------------------------------
# Parse
# --------------------------------------------------------------------------

def _parse_value(token: str, path: Path, line_no: int, column: str) -> float:
    token = token.strip()
    if token == "?":
        return math.nan
    try:
        return float(token)
    except ValueError:
        raise ValueError(
            f"{path}: line {line_no}, column {column!r}: non-numeric value {token!r} "
            f"(expected a number or '?')"
        ) from None


def parse_raw_file(path) -> pd.DataFrame:
    """Parse one UCI file (14 comma-separated columns, '?' = missing).

    Returns a float DataFrame with ``RAW_COLUMNS`` and NaN for '?'. Raises
    ValueError naming the file, line and problem if the format is wrong.
    """
    path = Path(path)
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split(",")
        if len(tokens) != len(RAW_COLUMNS):
            raise ValueError(
                f"{path}: line {line_no} has {len(tokens)} comma-separated columns, "
                f"expected {len(RAW_COLUMNS)} ({', '.join(RAW_COLUMNS)})"
            )
        rows.append([_parse_value(t, path, line_no, c) for t, c in zip(tokens, RAW_COLUMNS)])
    if not rows:
        raise ValueError(f"{path}: file is empty, expected rows of {len(RAW_COLUMNS)} columns")
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS), dtype="float64")


# --------------------------------------------------------------------------
# Load (real or synthetic)
# --------------------------------------------------------------------------

@dataclass
class RawHeartData:
    """The raw tables, one per hospital, plus where they came from.

    ``frames[h]`` has the 14 ``RAW_COLUMNS`` (float, NaN = missing);
    ``source`` is "real" or "synthetic"; ``note`` explains it for learners.
    """

    frames: dict
    source: str
    note: str = ""

    @property
    def hospitals(self) -> tuple:
        return tuple(h for h in HOSPITALS if h in self.frames)


def _synthetic_raw(seed: int, hospitals, note: str) -> RawHeartData:
    from utils.twin import HeartDiseaseTwin  # lazy: twin imports this module

    frames = HeartDiseaseTwin().sample(None, hospitals=hospitals, seed=seed)
    return RawHeartData(frames=frames, source="synthetic", note=note)


def load_raw(source: str = "auto", data_dir=None, seed: int = 0, base_url: str = BASE_URL,
             hospitals=None, timeout: float = 10.0) -> RawHeartData:
    """Load the raw tables of the four hospitals.

    source="real": the UCI files (downloaded/cached, md5-verified), else
    ``DataUnavailable``. source="synthetic": the synthetic twin with the real
    sizes (seeded). source="auto": real if possible, else the twin, and
    ``note`` says why.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {list(SOURCES)}")
    hospitals = check_hospitals(hospitals)
    if source == "synthetic":
        return _synthetic_raw(seed, hospitals, (
            "Synthetic twin of the four hospitals (requested with source='synthetic'): "
            "same sizes and per-hospital statistics as the real files, but not real patients."
        ))
    try:
        paths = fetch_heart_disease(data_dir, base_url=base_url, timeout=timeout,
                                    hospitals=hospitals)
    except DataUnavailable as err:
        if source == "real":
            raise
        return _synthetic_raw(seed, hospitals, (
            f"Using the synthetic twin instead of the real UCI files because {err.reason}. "
            "It mimics each hospital's statistics, so exercises run, but numbers will differ "
            "from the real data and from FLamby's published results."
        ))
    frames = {h: parse_raw_file(p) for h, p in paths.items()}
    folder = next(iter(paths.values())).parent
    return RawHeartData(frames=frames, source="real",
                        note=f"Real UCI Heart Disease files (md5-verified) from {folder}.")


def describe(raw: RawHeartData) -> pd.DataFrame:
    """One row per hospital: size, disease rate and missing values.

    Columns: name, rows, disease rate (num > 0), % rows with a missing value
    among the FLamby columns (these rows are dropped by FLamby), then
    "missing % <col>" for every column that has any missing value.
    """
    frames = {h: raw.frames[h] for h in raw.hospitals}
    with_missing = [c for c in RAW_COLUMNS if any(f[c].isna().any() for f in frames.values())]
    rows = []
    for h, f in frames.items():
        row = {
            "hospital": h,
            "name": HOSPITAL_NAMES[h],
            "rows": len(f),
            "disease rate": round(float((f["num"] > 0).mean()), 3),
            "% rows dropped by FLamby": round(
                100 * float(f[list(FLAMBY_COLUMNS)].isna().any(axis=1).mean()), 1),
        }
        for c in with_missing:
            row[f"missing % {c}"] = round(100 * float(f[c].isna().mean()), 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("hospital")


# --------------------------------------------------------------------------
# FLamby preprocessing
# --------------------------------------------------------------------------

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


def flamby_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """FLamby's per-centre cleaning: drop slope/ca/thal, then rows with any missing."""
    return frame.drop(columns=list(FLAMBY_DROPPED)).dropna().reset_index(drop=True)


def flamby_train_test_indices(labels: np.ndarray):
    """FLamby's per-centre 66/34 split (seed 43, stratified when possible).

    Returns (train_idx, test_idx), each sorted so rows keep their file order.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
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
    features = features.copy()
    for col in FLAMBY_ONE_HOT:
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
    if standardize not in STANDARDIZE_CHOICES:
        raise ValueError(
            f"unknown standardize {standardize!r}; use one of {list(STANDARDIZE_CHOICES)}")
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

    stats = _standardize(train, test, standardize)
    as32 = lambda parts: {h: (X.astype(np.float32), y.astype(np.float32))
                          for h, (X, y) in parts.items()}
    return FederatedSplit(
        train=as32(train), test=as32(test), feature_names=feature_names,
        hospitals=hospitals, source=raw.source, note=raw.note,
        standardize=standardize, stats=stats,
    )


def load_heart_disease(source: str = "auto", standardize="center", data_dir=None,
                       seed: int = 0, **kwargs) -> FederatedSplit:
    """Raw files (or the twin) → FLamby split, in one call. See ``load_raw``."""
    if standardize not in STANDARDIZE_CHOICES:
        raise ValueError(
            f"unknown standardize {standardize!r}; use one of {list(STANDARDIZE_CHOICES)}")
    return flamby_split(load_raw(source, data_dir=data_dir, seed=seed, **kwargs), standardize)
