"""A synthetic stand-in for the Tetouan power data, calibrated from the real file, for offline runs.
Introduced in chapter 08.

Hour by hour (``utils.power.hourly``), 2017-01-01 to 2017-12-30:

* weather: each variable's mean for every (month, hour of day), plus an AR(1) anomaly whose
  persistence and spread are the real anomaly's, clipped to the real range;
* load of zone z at hour t: level_z[month] · shape_z[weekday, hour] · (1 + β_z · temperature
  anomaly + e_t), with e an AR(1) process fitted to the real residuals;
* 10-minute rows: the hourly values interpolated, plus white noise as large as the real 10-minute
  wiggle around that interpolation.

So each zone keeps its seasons (zone 3's summer peak), its daily and weekly rhythm, its response to
heat and its hour-to-hour persistence: what a next-hour forecaster learns from. Parameters live in
``data/tetouan_power_standin.json``; ``python -m tools.calibrate_standins`` rewrites it and a test
recomputes it from the real file.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from utils import validate as v
from utils.download import repo_root
from utils.power import COLUMNS, CSV_MD5, WEATHER, ZONES, hourly

__all__ = ["PARAMS_PATH", "START", "HOURS", "calibrate_power", "PowerStandIn"]

PARAMS_PATH = repo_root() / "data" / "tetouan_power_standin.json"
START = "2017-01-01 00:00"
HOURS = 364 * 24  # the file stops on 30 December
DIGITS = 6


def _rounded(obj):
    if isinstance(obj, dict):
        return {k: _rounded(x) for k, x in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(x) for x in obj]
    if isinstance(obj, (float, np.floating)):
        return float(f"{float(obj):.{DIGITS}g}")
    return obj


def _ar1(x: np.ndarray) -> dict:
    x = x - x.mean()
    phi = float(np.clip(np.corrcoef(x[1:], x[:-1])[0, 1], 0.0, 0.999))
    return {"phi": phi, "sigma": float(x.std() * np.sqrt(1 - phi ** 2))}


def _wiggle(ten_minute: np.ndarray, hourly_values: np.ndarray) -> float:
    """Std of the 10-minute values around the linear interpolation of the hourly means."""
    return float(np.std(ten_minute - _upsample(hourly_values)))


def _upsample(hourly_values: np.ndarray) -> np.ndarray:
    centres = np.arange(len(hourly_values)) * 6 + 2.5  # an hour's mean sits between its 3rd and 4th row
    return np.interp(np.arange(len(hourly_values) * 6), centres, hourly_values)


def calibrate_power(frame: pd.DataFrame) -> dict:
    """The stand-in's parameters from the real 10-minute table (what ``load_power("real")`` returns)."""
    h = hourly(frame)
    if len(h) != HOURS or len(frame) != HOURS * 6:
        raise ValueError(f"frame must hold the whole file: {HOURS * 6} ten-minute rows, got {len(frame)}")
    month, hour, dow = h.index.month.to_numpy() - 1, h.index.hour.to_numpy(), h.index.dayofweek.to_numpy()
    weather, anomalies = {}, {}
    for c in WEATHER:
        means = h[c].groupby([month, hour]).mean().to_numpy().reshape(12, 24)
        anomalies[c] = h[c].to_numpy() - means[month, hour]
        weather[c] = {"mean": means.tolist(), **_ar1(anomalies[c]), "min": float(frame[c].min()),
                      "max": float(frame[c].max()), "wiggle": _wiggle(frame[c].to_numpy(), h[c].to_numpy())}
    zones = {}
    for z in ZONES:
        load = h[z].to_numpy()
        level = pd.Series(load).groupby(month).mean().to_numpy()
        shape = pd.Series(load / level[month]).groupby([dow, hour]).mean().to_numpy().reshape(7, 24)
        r = load / (level[month] * shape[dow, hour]) - 1
        t = anomalies["temperature"]
        beta = float(np.dot(t - t.mean(), r - r.mean()) / np.dot(t - t.mean(), t - t.mean()))
        zones[z] = {"level": level.tolist(), "shape": shape.tolist(), "beta": beta, **_ar1(r - beta * t),
                    "wiggle": _wiggle(frame[z].to_numpy(), load)}
    return _rounded({"meta": {"source": "Tetuan City power consumption.csv", "md5": CSV_MD5, "hours": HOURS,
                              "start": START, "what": "see utils/power_standin.py"},
                     "weather": weather, "zones": zones})


class PowerStandIn:
    """Synthetic 10-minute rows drawn from the calibrated parameters (default: the committed JSON)."""

    def __init__(self, params: dict | None = None):
        if params is None:
            params = json.loads(PARAMS_PATH.read_text())
        if not isinstance(params, dict) or not {"weather", "zones"} <= set(params):
            raise ValueError("params must be the dict calibrate_power() returns")
        self.params = params

    @staticmethod
    def _ar(rng, n: int, phi: float, sigma: float) -> np.ndarray:
        noise = rng.standard_normal(n) * sigma
        out = np.empty(n)
        out[0] = noise[0] / np.sqrt(max(1 - phi ** 2, 1e-6))
        for t in range(1, n):
            out[t] = phi * out[t - 1] + noise[t]
        return out

    def sample(self, seed: int = 0) -> pd.DataFrame:
        """A 10-minute table like the real one (``utils.power.COLUMNS``), 2017-01-01 to 2017-12-30."""
        rng = np.random.default_rng(v.seed("seed", seed))
        times = pd.date_range(START, periods=HOURS, freq="1h")
        month, hour, dow = times.month.to_numpy() - 1, times.hour.to_numpy(), times.dayofweek.to_numpy()
        ten = pd.date_range(START, periods=HOURS * 6, freq="10min")
        out, anomaly = {"time": ten}, {}
        for c in WEATHER:
            p = self.params["weather"][c]
            anomaly[c] = self._ar(rng, HOURS, p["phi"], p["sigma"])
            values = np.asarray(p["mean"])[month, hour] + anomaly[c]
            fine = _upsample(values) + rng.standard_normal(HOURS * 6) * p["wiggle"]
            out[c] = np.clip(fine, p["min"], p["max"])
        for z in ZONES:
            p = self.params["zones"][z]
            e = self._ar(rng, HOURS, p["phi"], p["sigma"])
            load = np.asarray(p["level"])[month] * np.asarray(p["shape"])[dow, hour] \
                * (1 + p["beta"] * anomaly["temperature"] + e)
            out[z] = np.maximum(_upsample(load) + rng.standard_normal(HOURS * 6) * p["wiggle"], 1.0)
        return pd.DataFrame(out)[list(COLUMNS)]
