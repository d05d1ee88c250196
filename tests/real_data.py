"""Where the tests find the four real UCI files (they are never committed).

$FLCOURSE_DATA_DIR/heart-disease (CI points the variable at ../shared/data), the shared copy beside
the repository, or the download cache. Tests that need the real bytes skip, saying why, without them.
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
needs_real = pytest.mark.skipif(REAL_DIR is None, reason=(
    "real UCI files not available: set FLCOURSE_DATA_DIR to a folder whose heart-disease/ holds "
    "the four verified processed.*.data files"))
