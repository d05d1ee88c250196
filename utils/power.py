"""Electricity use of the three distribution zones of Tetouan (Morocco), every 10 minutes of 2017,
with the weather (UCI "Power Consumption of Tetouan City"): facts, verified loading, hourly means.
Introduced in chapter 08.

The original UCI zip is downloaded and verified by md5 like the heart data (``utils.download``;
CC BY 4.0, Salam & El Hibaoui 2018, see data/README.md). Offline, ``load_power`` returns a synthetic
stand-in calibrated from the real file (``utils.power_standin``) and says so in its ``note``.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils import validate as v
from utils.download import SOURCES, fetch_dataset_file, real_or_stand_in

__all__ = ["DATASET", "FILE", "MD5", "CSV_NAME", "CSV_MD5", "BASE_URL", "ZONES", "ZONE_NAMES", "WEATHER",
           "COLUMNS", "SOURCES", "fetch_power", "parse_power_zip", "PowerData", "load_power", "hourly"]

DATASET = "tetouan-power"
FILE = "power+consumption+of+tetouan+city.zip"
MD5 = "a1b5532c5176dd488dc4c7ba3b9793fa"
CSV_NAME = "Tetuan City power consumption.csv"
CSV_MD5 = "03d1833b9c7b4fb5f218a67bcb5ed299"
BASE_URL = "https://archive.ics.uci.edu/static/public/849/"
ZONES = ("zone1", "zone2", "zone3")
ZONE_NAMES = {"zone1": "Zone 1", "zone2": "Zone 2", "zone3": "Zone 3"}
WEATHER = ("temperature", "humidity", "wind_speed", "general_diffuse_flows", "diffuse_flows")
COLUMNS = ("time",) + WEATHER + ZONES
# The file's headers (two contain a double space) after collapsing white space, and our names.
_RENAME = {"DateTime": "time", "Temperature": "temperature", "Humidity": "humidity", "Wind Speed": "wind_speed",
           "general diffuse flows": "general_diffuse_flows", "diffuse flows": "diffuse_flows",
           "Zone 1 Power Consumption": "zone1", "Zone 2 Power Consumption": "zone2",
           "Zone 3 Power Consumption": "zone3"}


def fetch_power(data_dir=None, base_url: str = BASE_URL, timeout: float = 10.0):
    """The Path of the md5-verified UCI zip in ``data_dir`` (default: ``utils.download.dataset_dir``),
    downloaded from ``base_url`` if missing or corrupted. Raises ``DataUnavailable``."""
    return fetch_dataset_file(DATASET, FILE, MD5, data_dir, base_url, timeout)


def parse_power_zip(path) -> pd.DataFrame:
    """The zip's CSV as a frame with ``COLUMNS``: ``time`` (datetime; the file writes M/D/YYYY H:MM),
    the five weather columns and the three zones' consumption. Raises ValueError naming the problem."""
    path = v.path("path", path)
    try:
        with zipfile.ZipFile(path) as archive:
            if CSV_NAME not in archive.namelist():
                raise ValueError(f"{path}: the zip holds {archive.namelist()}, not {CSV_NAME!r}")
            raw = archive.read(CSV_NAME)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path}: not a readable zip file ({err})") from None
    frame = pd.read_csv(io.BytesIO(raw))
    frame.columns = [" ".join(str(c).split()) for c in frame.columns]
    if set(frame.columns) != set(_RENAME):
        raise ValueError(f"{path}: columns {list(frame.columns)} are not the Tetouan file's {list(_RENAME)}")
    frame = frame.rename(columns=_RENAME)[list(COLUMNS)]
    try:
        frame["time"] = pd.to_datetime(frame["time"], format="%m/%d/%Y %H:%M")
    except ValueError as err:
        raise ValueError(f"{path}: a DateTime is not M/D/YYYY H:MM ({err})") from None
    values = frame[list(COLUMNS[1:])].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: {int((~np.isfinite(values)).sum())} value(s) are missing or not numbers")
    frame[list(COLUMNS[1:])] = values
    if not frame["time"].is_monotonic_increasing or frame["time"].duplicated().any():
        raise ValueError(f"{path}: the times are not strictly increasing")
    return frame


@dataclass
class PowerData:
    """The 10-minute table (``COLUMNS``), ``source`` "real" or "synthetic", and a ``note`` for learners."""

    frame: pd.DataFrame
    source: str
    note: str = ""


def _standin(seed: int, note: str) -> PowerData:
    from utils.power_standin import PowerStandIn

    return PowerData(frame=PowerStandIn().sample(seed), source="synthetic", note=note)


def load_power(source: str = "auto", data_dir=None, seed: int = 0, base_url: str = BASE_URL,
               timeout: float = 10.0) -> PowerData:
    """Tetouan's three zones. ``source="real"``: the verified UCI zip (cached, in
    ``$FLCOURSE_DATA_DIR``, or downloaded), else ``DataUnavailable``; ``"synthetic"``: the stand-in
    (seeded); ``"auto"``: real if possible, else the stand-in, with the reason in ``note``."""
    v.choice("source", source, SOURCES)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    seed = v.seed("seed", seed)
    v.positive("timeout", timeout)
    v.url("base_url", base_url)
    return real_or_stand_in(
        source, lambda: fetch_power(data_dir, base_url=base_url, timeout=timeout),
        lambda path: PowerData(frame=parse_power_zip(path), source="real",
                            note=f"Real UCI Tetouan power data (md5-verified zip) from {path.parent}."),
        lambda note: _standin(seed, note),
        requested="Synthetic stand-in for the Tetouan data (requested with source='synthetic'): "
                  "calibrated from the real file, but not measured consumption.",
        fallback="Using a SYNTHETIC STAND-IN for the Tetouan data because {reason}. It copies "
                 "each zone's seasons, daily and weekly shape, temperature response and noise from "
                 "the real file, so every cell runs, but the numbers are not measured consumption.")


def hourly(frame: pd.DataFrame) -> pd.DataFrame:
    """Hourly means of every column, indexed by the hour's start (six 10-minute rows per hour)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    absent = [c for c in COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"frame lacks column(s) {absent}; it must be what load_power() returns")
    if len(frame) == 0:
        raise ValueError("frame has no rows")
    return frame.set_index("time")[list(COLUMNS[1:])].resample("1h").mean().dropna()
