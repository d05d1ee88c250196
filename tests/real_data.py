"""Where the tests find the four real UCI files (they are never committed).

$FLCOURSE_DATA_DIR/heart-disease (CI points the variable at ../shared/data), the shared copy beside
the repository, or the download cache. Without them, tests marked ``needs_real`` skip (a learner's
offline ``make test``; conftest prints one summary line) or, when ``FLCOURSE_REQUIRE_REAL_DATA=1``
(set by .ci/run), fail: CI must not pass by skipping the tests that prove the real data.
"""
import os
from pathlib import Path

import pytest

from utils import download
from utils.heart import HOSPITALS, MD5, file_name


def real_data_dir():
    """A folder holding all four files with the right md5, or None."""
    env = os.environ.get(download.ENV_DATA_DIR)
    candidates = [env and Path(env) / "heart-disease",
                  download.repo_root().parent / "shared" / "data" / "heart-disease",
                  download.repo_root() / "data" / "cache" / "heart-disease"]
    for folder in filter(None, candidates):
        folder = Path(folder)
        if all((folder / file_name(h)).is_file()
               and download.md5_of_file(folder / file_name(h)) == MD5[h] for h in HOSPITALS):
            return folder
    return None


REAL_DIR = real_data_dir()
REQUIRED = os.environ.get("FLCOURSE_REQUIRE_REAL_DATA") == "1"
WHY = ("real UCI files not available: set FLCOURSE_DATA_DIR to a folder whose heart-disease/ holds "
       "the four verified processed.*.data files")
# conftest.py turns this marker into a skip, or a failure under FLCOURSE_REQUIRE_REAL_DATA=1.
needs_real = pytest.mark.needs_real


def real_split():
    """The FLamby split of the real files, for tests that are about the real data."""
    from utils.data import load_heart_disease

    split = load_heart_disease("real", data_dir=REAL_DIR)
    assert split.source == "real"
    return split


def require_real():
    """Skip (offline learner) or fail (CI) when the real files are missing; else their folder."""
    if REAL_DIR is None:
        if REQUIRED:
            pytest.fail(f"{WHY} (FLCOURSE_REQUIRE_REAL_DATA=1: CI must run this test)", pytrace=False)
        pytest.skip(WHY)
    return REAL_DIR
