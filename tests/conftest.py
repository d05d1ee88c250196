"""Shared test set-up: TensorFlow stays quiet, and no TFF worker outlives the test process."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session", autouse=True)
def _stop_tff_workers():
    yield
    from utils.runtime import stop_workers

    stop_workers()
