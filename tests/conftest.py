"""Shared test set-up: TensorFlow stays quiet, and no TFF worker outlives the test process."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As utils.setup does: the processes the tests fork exec at once, gRPC's fork handlers only risk an abort.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")


@pytest.fixture(scope="session", autouse=True)
def _progress_elsewhere(tmp_path_factory):
    """Checks run by the tests must not land in a learner's progress file (utils.exercises)."""
    os.environ["FLCOURSE_PROGRESS"] = str(tmp_path_factory.mktemp("progress") / "progress.json")
    yield


@pytest.fixture(scope="session", autouse=True)
def _stop_tff_workers():
    yield
    from utils.runtime import stop_workers

    stop_workers()


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_real: the test needs the real UCI files (tests/real_data.py)")


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_real") is None:
        return
    from real_data import REAL_DIR, REQUIRED, WHY

    if REAL_DIR is None:
        if REQUIRED:
            pytest.fail(f"{WHY} (FLCOURSE_REQUIRE_REAL_DATA=1: CI must run this test)", pytrace=False)
        pytest.skip(WHY)


def pytest_terminal_summary(terminalreporter):
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "real UCI files not available" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped because the real UCI files are not here "
                                    "(offline is fine for learning; CI sets FLCOURSE_DATA_DIR and requires them).")
