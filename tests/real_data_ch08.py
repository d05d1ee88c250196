"""Where the tests find chapter 08's real files (never committed): the credit CSV and the Tetouan zip.

$FLCOURSE_DATA_DIR/<data set>, the shared copy beside the repository, or the download cache. Tests that
need the real bytes skip, saying why, without them.
"""
import os
from pathlib import Path

import pytest

from utils import credit, download, power


def _find(dataset: str, file: str, md5: str):
    env = os.environ.get(download.ENV_DATA_DIR)
    candidates = [env and Path(env) / dataset, download.repo_root().parent / "shared" / "data" / dataset,
                  download.repo_root() / "data" / "cache" / dataset]
    for folder in filter(None, candidates):
        path = Path(folder) / file
        if path.is_file() and download.md5_of_file(path) == md5:
            return Path(folder)
    return None


CREDIT_DIR = _find(credit.DATASET, credit.FILE, credit.MD5)
POWER_DIR = _find(power.DATASET, power.FILE, power.MD5)
needs_credit = pytest.mark.skipif(CREDIT_DIR is None, reason=(
    "real credit file not available: set FLCOURSE_DATA_DIR to a folder whose credit-default/ holds the verified "
    "UCI_Credit_Card.csv"))
needs_power = pytest.mark.skipif(POWER_DIR is None, reason=(
    "real Tetouan zip not available: set FLCOURSE_DATA_DIR to a folder whose tetouan-power/ holds the verified zip"))
