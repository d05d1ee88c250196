"""Every detector the course relies on is shown to fire: stale navigation, a drifted environment.yml,
a stale twin calibration, ignored browser requests, seeds that change results, and missing real data
failing CI instead of skipping."""
import shutil
import types

import nbformat
import numpy as np
import pytest

from tools import browser_check, lockfile, nav
from utils import course


def test_nav_detects_a_wrong_navigation_cell_and_a_stale_map(tmp_path):
    chapters = tmp_path / "chapters"
    shutil.copytree(course.CHAPTERS, chapters)
    readme = tmp_path / "README.md"
    shutil.copy(nav.README, readme)
    assert nav.stale_files(False, chapters, readme) == []
    first = sorted(chapters.glob("*.ipynb"))[1]
    nb = nbformat.read(first, as_version=4)
    nb.cells[-1].source = "---\n[nowhere](99_missing.ipynb)"
    nbformat.write(nb, first)
    readme.write_text(readme.read_text().replace("| 00 |", "| 0 |"))
    assert nav.stale_files(False, chapters, readme) == [first.name, "README.md"]
    assert nav.stale_files(True, chapters, readme) == [first.name, "README.md"]   # rewritten
    assert nav.stale_files(False, chapters, readme) == []


def test_environment_drift_is_detected():
    pins = lockfile.read_lock()
    text = lockfile.render_environment(pins)
    assert lockfile.environment_pins(text) == {k: v for k, v in pins.items() if k not in lockfile.NO_DEPS}
    drifted = dict(pins, numpy="1.26.0")
    assert lockfile.render_environment(drifted) != text


def test_twin_calibration_staleness_is_detected():
    from utils import twin, twin_calibration

    params = twin.default_twin().params
    committed = twin.TWIN_PARAMS_PATH.read_text()
    changed = {**params, "hospitals": {**params["hospitals"], "va": {**params["hospitals"]["va"], "n_rows": 201}}}
    assert twin_calibration.params_to_json(changed) != committed


def test_only_cancelled_background_polls_are_ignored():
    base = "GET /api/kernels/4f2?1 net::ERR_ABORTED"
    kept, ignored = browser_check.split_ignored(
        [base, "POST /api/sessions net::ERR_ABORTED", "PUT /api/contents/chapters/x.ipynb net::ERR_ABORTED",
         "GET /api/kernels/4f2 HTTP 404", "GET /lab/api/settings net::ERR_ABORTED"], browser_check.IGNORED_REQUESTS)
    assert [m for m, _ in ignored] == [base]
    assert len(kept) == 4


def test_setup_seed_changes_every_generator():
    import random

    import tensorflow as tf

    from utils.setup import setup

    draws = {}
    for seed in (1, 2, 1):
        setup(seed, tff=False, quiet=True)
        draws.setdefault(seed, []).append((random.random(), float(np.random.rand()), float(tf.random.uniform([]))))
    assert draws[1][0] == draws[1][1], "the same seed must give the same draws"
    assert all(a != b for a, b in zip(draws[1][0], draws[2][0])), "another seed must change every generator"


def test_seeds_change_federated_results():
    from utils.data import load_heart_disease
    from utils.fedcore import run_fedavg
    from utils.local_training import Schedule

    split = load_heart_disease("synthetic")
    shuffled = Schedule(batch_size=4, steps=5, shuffle=True)
    runs = [run_fedavg(split.train, 2, lr=0.1, schedule=shuffled, seed=s).final for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


def test_missing_real_data_fails_in_ci_and_skips_offline(monkeypatch):
    import conftest
    import real_data

    monkeypatch.setattr(real_data, "REAL_DIR", None)
    marked = types.SimpleNamespace(get_closest_marker=lambda name: object())
    monkeypatch.setattr(real_data, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        conftest.pytest_runtest_setup(marked)
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        real_data.require_real()
    monkeypatch.setattr(real_data, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception, match="real UCI files not available"):
        conftest.pytest_runtest_setup(marked)
    unmarked = types.SimpleNamespace(get_closest_marker=lambda name: None)
    assert conftest.pytest_runtest_setup(unmarked) is None
