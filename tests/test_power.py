"""utils.power and utils.power_standin: verified download and cache, parsing the zip, hourly means, the stand-in."""
import hashlib

import json
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
from real_data_ch08 import POWER_DIR, needs_power
from served import UNREACHABLE, leftovers, served  # noqa: F401 (fixture)

from utils.download import DataUnavailable
from utils.power import (COLUMNS, CSV_MD5, CSV_NAME, FILE, MD5, WEATHER, ZONES, fetch_power, hourly, load_power,
                         parse_power_zip)
from utils.power_standin import HOURS, PARAMS_PATH, PowerStandIn, calibrate_power


@pytest.fixture(scope="module")
def real():
    return load_power("real", data_dir=POWER_DIR, base_url=UNREACHABLE) if POWER_DIR else None


def _zip(path, csv_text: str, name: str = CSV_NAME):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, csv_text)
    return path


HEADER = ("DateTime,Temperature,Humidity,Wind Speed,general diffuse flows,diffuse flows,Zone 1 Power Consumption,"
          "Zone 2  Power Consumption,Zone 3  Power Consumption\r\n")


# ---------------------------------------------------------------- download, cache, md5

@needs_power
def test_download_into_empty_folder_then_offline(served, tmp_path):
    base_url, folder = served
    shutil.copy(POWER_DIR / FILE, folder / FILE)
    cache = tmp_path / "cache"
    path = fetch_power(cache, base_url=base_url, timeout=5)
    assert hashlib.md5(path.read_bytes()).hexdigest() == MD5 and leftovers(cache) == []
    assert load_power("real", data_dir=cache, base_url=UNREACHABLE).source == "real"


def test_md5_mismatch_is_refused_and_not_saved(served, tmp_path):
    base_url, folder = served
    _zip(folder / FILE, HEADER + "1/1/2017 0:00,6.5,73.8,0.08,0.05,0.11,34055.7,16128.9,20241.0\r\n")
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailable) as err:
        fetch_power(cache, base_url=base_url, timeout=5)
    assert MD5 in str(err.value) and not (cache / FILE).exists()
    fallback = load_power("auto", data_dir=cache, base_url=base_url, timeout=5)
    assert fallback.source == "synthetic" and "did not match its checksum" in fallback.note


@needs_power
def test_truncated_cache_is_downloaded_again(served, tmp_path):
    base_url, folder = served
    shutil.copy(POWER_DIR / FILE, folder / FILE)
    cache = tmp_path / "cache"
    cache.mkdir()
    good = (POWER_DIR / FILE).read_bytes()
    (cache / FILE).write_bytes(good[:1000])
    assert fetch_power(cache, base_url=base_url, timeout=5).read_bytes() == good
    assert leftovers(cache) == []


@needs_power
def test_truncated_cache_offline_falls_back_to_the_standin(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / FILE).write_bytes((POWER_DIR / FILE).read_bytes()[:5000])
    with pytest.raises(DataUnavailable, match="corrupted"):
        load_power("real", data_dir=cache, base_url=UNREACHABLE, timeout=2)
    data = load_power("auto", data_dir=cache, base_url=UNREACHABLE, timeout=2)
    assert data.source == "synthetic" and "SYNTHETIC STAND-IN" in data.note and "corrupted" in data.note
    with pytest.raises(ValueError, match="not a readable zip"):
        parse_power_zip(cache / FILE)                 # and a truncated zip could never be parsed by mistake


def test_no_files_no_network_uses_the_standin(tmp_path):
    data = load_power("auto", data_dir=tmp_path / "none", base_url=UNREACHABLE, timeout=2)
    assert data.source == "synthetic" and "no cached files" in data.note


# ---------------------------------------------------------------- parsing

@needs_power
def test_real_zip_parses(real):
    frame = real.frame
    with zipfile.ZipFile(POWER_DIR / FILE) as archive:
        assert hashlib.md5(archive.read(CSV_NAME)).hexdigest() == CSV_MD5
    assert tuple(frame.columns) == COLUMNS and len(frame) == 52_416
    assert frame["time"].iloc[0] == pd.Timestamp("2017-01-01 00:00")
    assert frame["time"].iloc[-1] == pd.Timestamp("2017-12-30 23:50")
    assert (frame["time"].diff().iloc[1:] == pd.Timedelta(minutes=10)).all()
    assert frame["zone1"].iloc[0] == pytest.approx(34055.6962)
    assert [round(frame[z].mean() / 1000, 1) for z in ZONES] == [32.3, 21.0, 17.8]


def test_parse_refuses_bad_zips(tmp_path):
    with pytest.raises(ValueError, match="holds"):
        parse_power_zip(_zip(tmp_path / "a.zip", HEADER, name="other.csv"))
    with pytest.raises(ValueError, match="columns"):
        parse_power_zip(_zip(tmp_path / "b.zip", "DateTime,x\r\n1/1/2017 0:00,1\r\n"))
    with pytest.raises(ValueError, match="M/D/YYYY"):
        parse_power_zip(_zip(tmp_path / "c.zip", HEADER + "2017-01-01 00:00,1,1,1,1,1,1,1,1\r\n"))
    with pytest.raises(ValueError, match="not numbers"):
        parse_power_zip(_zip(tmp_path / "d.zip", HEADER + "1/1/2017 0:00,1,1,1,1,1,1,x,1\r\n"))
    with pytest.raises(ValueError, match="increasing"):
        parse_power_zip(_zip(tmp_path / "e.zip", HEADER + "1/1/2017 0:10,1,1,1,1,1,1,1,1\r\n"
                                                          "1/1/2017 0:00,1,1,1,1,1,1,1,1\r\n"))
    ok = parse_power_zip(_zip(tmp_path / "f.zip", HEADER + "1/1/2017 0:00,6.5,73.8,0.08,0.05,0.11,34055.7,16128.9,20241\r\n"))
    assert ok["zone2"].iloc[0] == pytest.approx(16128.9) and ok["time"].iloc[0].hour == 0


def test_hourly_means_six_rows():
    times = pd.date_range("2017-01-01", periods=12, freq="10min")
    frame = pd.DataFrame({"time": times, **{c: np.arange(12.0) for c in WEATHER + ZONES}})
    h = hourly(frame)
    assert list(h.index) == [pd.Timestamp("2017-01-01 00:00"), pd.Timestamp("2017-01-01 01:00")]
    assert h["zone1"].tolist() == [2.5, 8.5]
    with pytest.raises(ValueError, match="lacks"):
        hourly(frame.drop(columns="zone3"))


# ---------------------------------------------------------------- the stand-in

@needs_power
def test_committed_standin_is_the_calibration_of_the_real_file(real):
    committed = json.loads(PARAMS_PATH.read_text())
    fresh = json.loads(json.dumps(calibrate_power(real.frame)))

    def close(a, b, path="params"):
        if isinstance(a, dict):
            assert a.keys() == b.keys(), path
            for k in a:
                close(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list):
            np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-5, atol=1e-9, err_msg=path)
        elif isinstance(a, float):
            assert a == pytest.approx(b, rel=1e-5, abs=1e-9), path
        else:
            assert a == b, path

    close(fresh, committed)


def test_standin_looks_like_the_real_data():
    params = json.loads(PARAMS_PATH.read_text())
    frame = PowerStandIn().sample(1)
    assert tuple(frame.columns) == COLUMNS and len(frame) == HOURS * 6
    assert frame["time"].iloc[-1] == pd.Timestamp("2017-12-30 23:50")
    h = hourly(frame)
    for z in ZONES:
        monthly = h[z].groupby(h.index.month).mean().to_numpy()
        np.testing.assert_allclose(monthly, params["zones"][z]["level"], rtol=0.05)
        hourly_diff = np.corrcoef(h[z].to_numpy()[1:], h[z].to_numpy()[:-1])[0, 1]
        assert hourly_diff > 0.85                      # the hour-to-hour persistence a forecaster learns from
    for c in WEATHER:
        assert params["weather"][c]["min"] <= frame[c].min() and frame[c].max() <= params["weather"][c]["max"]
    july, december = h.index.month == 7, h.index.month == 12
    assert h.loc[july, "zone3"].mean() > 2 * h.loc[december, "zone3"].mean()   # zone 3's summer peak


def test_standin_is_seeded():
    pd.testing.assert_frame_equal(PowerStandIn().sample(4), PowerStandIn().sample(4))
    assert not PowerStandIn().sample(4).equals(PowerStandIn().sample(5))
    with pytest.raises(ValueError, match="params"):
        PowerStandIn({"zones": {}})
    with pytest.raises(ValueError, match="whole file"):
        calibrate_power(PowerStandIn().sample(0).iloc[:1000])


def test_zip_bytes_round_trip(tmp_path):
    """parse_power_zip reads exactly the CSV member: a stand-in written as the file reads back unchanged."""
    frame = PowerStandIn().sample(2).iloc[:30]
    text = frame.assign(time=frame["time"].dt.strftime("%-m/%-d/%Y %-H:%M")).to_csv(index=False, header=False,
                                                                                  lineterminator="\r\n")
    back = parse_power_zip(_zip(tmp_path / "z.zip", HEADER + text))
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), check_exact=False, rtol=1e-9)



@needs_power
def test_readme_numbers_about_the_standin(real):
    """data/README.md: hour-to-hour autocorrelation 0.92-0.96 real and > 0.9 stand-in; 24-hour 0.94-0.99 real,
    about 0.80-0.90 stand-in."""
    def autocorr(frame, lag):
        h = hourly(frame)
        return np.array([np.corrcoef(h[z].to_numpy()[lag:], h[z].to_numpy()[:-lag])[0, 1] for z in ZONES])

    synthetic = PowerStandIn().sample(0)
    assert (0.915 <= autocorr(real.frame, 1)).all() and (autocorr(real.frame, 1) <= 0.965).all()
    assert (autocorr(synthetic, 1) > 0.9).all()
    assert (0.93 <= autocorr(real.frame, 24)).all() and (autocorr(real.frame, 24) <= 0.995).all()
    assert (0.78 <= autocorr(synthetic, 24)).all() and (autocorr(synthetic, 24) <= 0.92).all()
