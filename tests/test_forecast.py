"""utils.forecast: features written out by hand, time-ordered parts, shared scaling, errors, short histories."""
import numpy as np
import pandas as pd
import pytest

from utils.fedcore import federated_mean_std
from utils.forecast import TRAIN_END, VAL_END, forecasts, weeks_of, zone_errors, zone_split
from utils.linear import linear_optimum
from utils.power import WEATHER, ZONES, hourly, load_power


@pytest.fixture(scope="module")
def power():
    return load_power("synthetic", seed=2)


@pytest.fixture(scope="module")
def zones(power):
    return zone_split(power)


def test_parts_are_cut_in_time(zones):
    for z in ZONES:
        train, val, test = (zones.times[p][z] for p in ("train", "val", "test"))
        assert train.max() < pd.Timestamp(TRAIN_END) <= val.min() and val.max() < pd.Timestamp(VAL_END) <= test.min()
        assert train.is_monotonic_increasing and test.is_monotonic_increasing
        assert len(train) + len(val) + len(test) == 364 * 24 - 24      # the first day only feeds lags
    assert len(zones.feature_names) == 24 + 5 + 23 + 1


def test_one_row_by_hand(power, zones):
    h = hourly(power.frame)
    z, k = "zone2", 100                                                 # the 101st validation row
    t_next = zones.times["val"][z][k]
    t = t_next - pd.Timedelta(hours=1)
    scale = h.loc[h.index < pd.Timestamp(TRAIN_END), z].mean()
    X, y = zones.unscaled["val"][z]
    expected_lags = [h.loc[t - pd.Timedelta(hours=j), z] / scale for j in range(24)]
    np.testing.assert_allclose(X[k, :24], expected_lags)
    np.testing.assert_allclose(X[k, 24:29], h.loc[t, list(WEATHER)].to_numpy())
    hour_onehot = np.zeros(23)
    if t_next.hour:
        hour_onehot[t_next.hour - 1] = 1
    np.testing.assert_array_equal(X[k, 29:52], hour_onehot)
    assert X[k, 52] == (t_next.dayofweek >= 5)
    assert y[k] == pytest.approx(h.loc[t_next, z] / scale)
    assert zones.actual("val", z)[k] == pytest.approx(h.loc[t_next, z])


def test_shared_standardisation(zones):
    mean, std = federated_mean_std([zones.unscaled["train"][z][0] for z in ZONES])
    np.testing.assert_allclose(zones.mean, mean)
    for z in ZONES:
        X, _ = zones.part("test")[z]
        np.testing.assert_allclose(X, (zones.unscaled["test"][z][0] - mean) / np.where(std > 0, std, 1))


def test_errors_by_hand(zones):
    theta = linear_optimum(zones.part("train"))
    f = forecasts(theta, zones, "val")
    X, y = zones.part("val")["zone3"]
    np.testing.assert_allclose(f["zone3"], (X @ theta[:-1] + theta[-1]) * zones.scale["zone3"])
    table = zone_errors(f, zones, "val").set_index("zone")
    actual = y * zones.scale["zone3"]
    assert table.loc["zone3", "MAE"] == pytest.approx(np.mean(np.abs(f["zone3"] - actual)))
    assert table.loc["zone3", "MAPE %"] == pytest.approx(100 * np.mean(np.abs(f["zone3"] - actual) / actual))
    assert forecasts({z: theta for z in ZONES}, zones, "val")["zone1"] == pytest.approx(f["zone1"])
    with pytest.raises(TypeError, match="zones"):
        zone_errors({"zone1": f["zone1"]}, zones, "val")


def test_with_history_keeps_only_the_last_days(zones):
    short = zones.with_history("zone3", 14)
    times = short.times["train"]["zone3"]
    assert len(times) == 14 * 24 and times[-1] == zones.times["train"]["zone3"][-1]
    assert len(short.part("train")["zone3"][1]) == 14 * 24
    assert len(short.part("train")["zone1"][1]) == len(zones.part("train")["zone1"][1])   # others keep their rows
    assert len(zones.part("train")["zone3"][1]) > 14 * 24                                    # original untouched
    np.testing.assert_array_equal(short.times["test"]["zone3"], zones.times["test"]["zone3"])
    # the same hours' loads in the file's units, whatever the scale
    np.testing.assert_allclose(short.actual("test", "zone3"), zones.actual("test", "zone3"))


def test_with_history_rescales_from_the_window_only(zones):
    end = "2017-04-30 23:00"
    short = zones.with_history("zone3", 7, end)
    times = short.times["train"]["zone3"]
    assert len(times) == 7 * 24 and times[-1] == pd.Timestamp(end)
    # independent computation: the zone's scale is its mean load over the window it keeps
    full_t = zones.times["train"]["zone3"]
    keep = (full_t <= pd.Timestamp(end)) & (full_t > pd.Timestamp(end) - pd.Timedelta(days=7))
    window_load = zones.actual("train", "zone3")[keep]
    assert short.scale["zone3"] == pytest.approx(window_load.mean())
    assert short.part("train")["zone3"][1].mean() == pytest.approx(1.0)
    assert short.scale["zone1"] == zones.scale["zone1"]
    # the shared standardisation is recomputed from the rows the federation now has
    X_all = np.vstack([short.unscaled["train"][z][0] for z in ("zone1", "zone2", "zone3")])
    np.testing.assert_allclose(short.mean, X_all.mean(axis=0))
    np.testing.assert_allclose(short.part("train")["zone1"][0], (short.unscaled["train"]["zone1"][0] - short.mean) / short.std)
    assert not np.allclose(short.mean, zones.mean)
    # lagged loads are re-expressed in the window's scale: lag 0 of the first test row = load of that hour / scale
    lag0 = zones.feature_names.index("load_t-0")
    np.testing.assert_allclose(short.unscaled["test"]["zone3"][0][:, lag0] * short.scale["zone3"],
                               zones.unscaled["test"]["zone3"][0][:, lag0] * zones.scale["zone3"])
    with pytest.raises(ValueError, match="end"):
        zones.with_history("zone3", 7, "2017-10-01")


def test_weeks_of_the_test_months(zones):
    weeks = weeks_of(zones)
    assert len(weeks) == 8 and weeks[0][0] == pd.Timestamp(VAL_END)
    assert all(b - a == pd.Timedelta(days=7) - pd.Timedelta(hours=1) for a, b in weeks)
    assert weeks[-1][1] <= zones.times["test"]["zone1"][-1]


def test_too_short_data_is_refused(power):
    from utils.power import PowerData

    with pytest.raises(ValueError, match="past"):
        zone_split(PowerData(frame=power.frame.iloc[: 6 * 24 * 200], source="synthetic"))
