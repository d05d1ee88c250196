"""The four hospitals of the UCI Heart Disease data: names, columns, checksums, file format.
Introduced in chapter 00.

Cleveland, Hungary, Switzerland and VA Long Beach each contributed one file (UCI id 45, CC BY 4.0;
see data/README.md). This module knows their facts and format; ``utils.data`` loads them (or the
synthetic twin), ``utils.flamby`` applies FLamby's preprocessing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from utils import validate as v
from utils.download import dataset_dir, fetch_verified

__all__ = ["HOSPITALS", "HOSPITAL_NAMES", "RAW_COLUMNS", "MD5", "BASE_URL", "FLAMBY_COLUMNS",
           "check_hospitals", "file_name", "fetch_heart_disease", "parse_raw_file", "RawHeartData", "describe"]

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
# md5 of the untouched UCI files (see data/README.md).
MD5 = {
    "cleveland": "2d91a8ff69cfd9616aa47b59d6f843db",
    "hungarian": "22e96bee155b5973568101c93b3705f6",
    "switzerland": "9a87f7577310b3917730d06ba9349e20",
    "va": "4249d03ca7711e84f4444768c9426170",
}
BASE_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease/"
DATASET = "heart-disease"

# FLamby (chapter 05) drops the three columns that are mostly missing outside Cleveland.
FLAMBY_DROPPED = ("slope", "ca", "thal")
FLAMBY_COLUMNS = tuple(c for c in RAW_COLUMNS if c not in FLAMBY_DROPPED and c != "num")


def check_hospitals(hospitals=None) -> tuple:
    """``hospitals`` as a tuple in canonical order (None → all four); unknown names are refused."""
    return HOSPITALS if hospitals is None else v.names("hospitals", hospitals, HOSPITALS)


def file_name(hospital: str) -> str:
    """UCI file name of one hospital, e.g. ``processed.va.data``."""
    (hospital,) = v.names("hospital", [hospital], HOSPITALS)
    return f"processed.{hospital}.data"


def fetch_heart_disease(data_dir=None, base_url: str = BASE_URL, timeout: float = 10.0,
                        hospitals=None) -> dict:
    """``{hospital: Path}`` of md5-verified raw files in ``data_dir`` (default: the cache, see
    ``utils.download``), downloading any that is missing or corrupted. Raises ``DataUnavailable``."""
    hospitals = check_hospitals(hospitals)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    paths = fetch_verified({file_name(h): MD5[h] for h in hospitals}, base_url,
                           dataset_dir(DATASET, data_dir), timeout)
    return {h: paths[file_name(h)] for h in hospitals}


def _parse_value(token: str, path: Path, line_no: int, column: str) -> float:
    token = token.strip()
    if token == "?":
        return math.nan
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{path}: line {line_no}, column {column!r}: value {token!r} is not a finite "
                         "number (expected a number, or '?' for a missing value)")
    return value


def parse_raw_file(path) -> pd.DataFrame:
    """Parse one UCI file (14 comma-separated columns, '?' = missing).

    Returns a float DataFrame with ``RAW_COLUMNS`` and NaN for '?'. Raises
    ValueError naming the file, line and problem if the format is wrong.
    """
    path = v.path("path", path)
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


def describe(raw) -> pd.DataFrame:
    """One row per hospital: size, disease rate and missing values.

    Columns: name, rows, disease rate (num > 0), % rows with a missing value
    among the FLamby columns (these rows are dropped by FLamby), then
    "missing % <col>" for every column that has any missing value.
    """
    if not isinstance(raw, RawHeartData):
        raise TypeError(f"raw must be the RawHeartData that load_raw() returns, got {type(raw).__name__}")
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


