"""Next-hour load forecasting across utilities: features from the past day and the weather,
time-ordered splits, errors per zone. Introduced in chapter 08.

Each Tetouan zone stands in for one utility. For every hour t the model predicts the zone's load in
hour t+1 from what is known at the end of hour t:

* the zone's load in hours t, t−1, …, t−23 (the past day), each divided by the zone's own mean load
  over its training period (a statistic each utility computes alone), so zones of different size share
  one model;
* the weather in hour t (temperature, humidity, wind speed, two solar flows);
* the calendar of hour t+1: hour of day (one-hot, hour 0 dropped) and whether it is a weekend.

The target is hour t+1's load divided by the same zone mean. Parts are cut in time, never shuffled
across it: training rows are targets before ``TRAIN_END``, validation rows up to ``VAL_END``, test
rows after. Every feature is standardised with the training rows' mean and standard deviation over
all zones, which the utilities compute federatedly (``utils.fedcore.federated_mean_std``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils import validate as v
from utils.fedcore import federated_mean_std
from utils.power import WEATHER, ZONES, PowerData, hourly

__all__ = ["TRAIN_END", "VAL_END", "PARTS", "ZoneSplit", "zone_split", "forecasts", "zone_errors", "weeks_of"]

TRAIN_END = "2017-09-01"   # January-August: training
VAL_END = "2017-11-01"     # September-October: validation; November-December: test
PARTS = ("train", "val", "test")


@dataclass
class ZoneSplit:
    """Per part: ``parts[part][zone] = (X, y)`` (standardised features, load relative to the zone's
    training mean), ``unscaled[part][zone]`` the features before standardising, ``times[part][zone]``
    the hour each target belongs to; ``scale[zone]`` the zone's training-mean load."""

    parts: dict
    unscaled: dict
    times: dict
    scale: dict
    feature_names: list
    mean: np.ndarray
    std: np.ndarray
    source: str = ""

    def part(self, name: str) -> dict:
        """``{zone: (X, y)}`` of one part."""
        return self.parts[v.choice("name", name, PARTS)]

    def actual(self, name: str, zone: str) -> np.ndarray:
        """The measured load of ``zone`` in each target hour of part ``name`` (the file's units)."""
        zone = v.choice("zone", zone, ZONES)
        return self.part(name)[zone][1] * self.scale[zone]

    def with_history(self, zone: str, days: int, end=None) -> "ZoneSplit":
        """A copy in which ``zone`` keeps only ``days`` days of its training rows, those ending at hour
        ``end`` (default: its last training hour): a utility with a short history. Everything that was
        computed from the zone's training rows is recomputed from the window it keeps: its scale (its
        mean load over the window, which re-expresses its loads and targets in every part) and the
        shared standardisation (the federation's mean and standard deviation over every zone's training
        rows, so the other zones' features change a little too). Validation and test hours are the same."""
        zone = v.choice("zone", zone, ZONES)
        days = v.integer("days", days, 1, 366)
        times = self.times["train"][zone]
        if end is None:
            last = times[-1]
        else:
            try:
                last = pd.Timestamp(end)
            except (TypeError, ValueError) as error:
                raise ValueError(f"end must be a date or time inside the training period, got {end!r}") from error
            if not times[0] <= last <= times[-1]:
                raise ValueError(f"end must lie inside the training period {times[0]} … {times[-1]}, got {end!r}")
        keep = (times <= last) & (times > last - pd.Timedelta(days=days))
        out = copy.copy(self)
        out.unscaled, out.times = ({p: dict(d) for p, d in x.items()} for x in (self.unscaled, self.times))
        out.scale = dict(self.scale)
        factor = 1.0 / float(self.unscaled["train"][zone][1][keep].mean())   # loads relative to the window's mean
        lag_cols = [i for i, n in enumerate(self.feature_names) if n.startswith("load_t-")]
        for p in PARTS:
            X, y = self.unscaled[p][zone]
            X = X.copy()
            X[:, lag_cols] *= factor
            out.unscaled[p][zone] = (X[keep], y[keep] * factor) if p == "train" else (X, y * factor)
        out.scale[zone] = self.scale[zone] / factor
        out.times["train"][zone] = times[keep]
        mean, std = federated_mean_std([out.unscaled["train"][z][0] for z in ZONES])
        out.mean, out.std = mean, np.where(std > 0, std, 1.0)
        out.parts = {p: {z: ((X - out.mean) / out.std, y) for z, (X, y) in out.unscaled[p].items()} for p in PARTS}
        return out


def _calendar_names() -> list:
    return [f"hour_{h}" for h in range(1, 24)] + ["weekend"]


def zone_split(data: PowerData, lags: int = 24) -> ZoneSplit:
    """Hourly means of the 10-minute data → each zone's (features, target) rows, cut in time into
    training (Jan-Aug), validation (Sep-Oct) and test (Nov-Dec) rows, standardised with shared
    training statistics. ``lags``: how many past hours of load (24 = the past day)."""
    if not isinstance(data, PowerData):
        raise TypeError(f"data must be the PowerData that load_power() returns, got {type(data).__name__}")
    lags = v.integer("lags", lags, 1, 24 * 14)
    h = hourly(data.frame)
    if len(h) < lags + 2 or (h.index[1:] - h.index[:-1] != pd.Timedelta(hours=1)).any():
        raise ValueError("the hourly series must be gap-free and longer than lags + 1 hours")
    idx = np.arange(lags - 1, len(h) - 1)                     # t: the last hour the forecaster knows
    target_time = h.index[idx + 1]
    calendar = np.column_stack([np.eye(24)[target_time.hour][:, 1:], (target_time.dayofweek >= 5) * 1.0])
    weather = h[list(WEATHER)].to_numpy()[idx]
    part_of = np.where(target_time < pd.Timestamp(TRAIN_END), 0, np.where(target_time < pd.Timestamp(VAL_END), 1, 2))
    if not all((part_of == k).any() for k in range(3)):
        raise ValueError(f"the data must reach past {VAL_END} so that each part has rows")
    names = [f"load_t-{k}" for k in range(lags)] + list(WEATHER) + _calendar_names()
    unscaled, times, scale = {p: {} for p in PARTS}, {p: {} for p in PARTS}, {}
    for z in ZONES:
        load = h[z].to_numpy()
        scale[z] = float(load[:len(h)][h.index < pd.Timestamp(TRAIN_END)].mean())
        rel = load / scale[z]
        lagged = np.column_stack([rel[idx - k] for k in range(lags)])
        X, y = np.column_stack([lagged, weather, calendar]), rel[idx + 1]
        for k, p in enumerate(PARTS):
            unscaled[p][z] = (X[part_of == k], y[part_of == k])
            times[p][z] = target_time[part_of == k]
    mean, std = federated_mean_std([unscaled["train"][z][0] for z in ZONES])
    std = np.where(std > 0, std, 1.0)
    parts = {p: {z: ((X - mean) / std, y) for z, (X, y) in unscaled[p].items()} for p in PARTS}
    return ZoneSplit(parts=parts, unscaled=unscaled, times=times, scale=scale, feature_names=names,
                     mean=mean, std=std, source=data.source)


def forecasts(model, split: ZoneSplit, part: str = "test") -> dict:
    """``{zone: forecast of each target hour of part}`` in the file's units, from one model
    theta = (w, b) for every zone or ``{zone: theta}`` (local models)."""
    if not isinstance(split, ZoneSplit):
        raise TypeError(f"split must be the ZoneSplit that zone_split() returns, got {type(split).__name__}")
    out = {}
    for z, (X, _) in split.part(v.choice("part", part, PARTS)).items():
        if isinstance(model, dict) and z not in model:
            raise ValueError(f"model has no entry for zone {z!r}; it has {list(model)}")
        theta = v.vector("model", model[z] if isinstance(model, dict) else model, X.shape[1] + 1)
        out[z] = (X @ theta[:-1] + theta[-1]) * split.scale[z]
    return out


def zone_errors(predicted: dict, split: ZoneSplit, part: str = "test") -> pd.DataFrame:
    """Mean absolute error (the file's units) and mean absolute percentage error (%) per zone of
    ``predicted`` = ``{zone: forecasts}`` (from ``forecasts`` or any other forecaster) on ``part``."""
    if not isinstance(split, ZoneSplit):
        raise TypeError(f"split must be the ZoneSplit that zone_split() returns, got {type(split).__name__}")
    if not isinstance(predicted, dict) or set(predicted) != set(ZONES):
        raise TypeError(f"predicted must be a dict {{zone: forecasts}} for the zones {list(ZONES)}")
    part, rows = v.choice("part", part, PARTS), []
    for z in ZONES:
        actual = split.actual(part, z)
        f = v.vector(f"predicted[{z!r}]", predicted[z], len(actual))
        rows.append({"zone": z, "MAE": float(np.mean(np.abs(f - actual))),
                     "MAPE %": float(100 * np.mean(np.abs(f - actual) / actual)), "hours": len(actual)})
    return pd.DataFrame(rows)


def weeks_of(split: ZoneSplit, part: str = "test") -> list:
    """The whole 7-day blocks of a part, from its first hour, as (first hour, last hour) pairs."""
    if not isinstance(split, ZoneSplit):
        raise TypeError(f"split must be the ZoneSplit that zone_split() returns, got {type(split).__name__}")
    times = split.times[v.choice("part", part, PARTS)][ZONES[0]]
    week, hour = pd.Timedelta(days=7), pd.Timedelta(hours=1)
    return [(s, s + week - hour) for s in pd.date_range(times[0], times[-1], freq="7D") if s + week - hour <= times[-1]]
