"""Verified downloads into a local cache: how every real data set of the course arrives.
Introduced in chapter 00.

Each data set has a folder ``<root>/<name>/`` (``heart-disease``, ``credit-default``,
``tetouan-power``). The root is ``$FLCOURSE_DATA_DIR`` when set (CI and tests point it at a shared,
read-only copy), else ``data/cache/`` in the repository (git-ignored). A file is used only if its
md5 matches the published one; a missing or corrupted file is downloaded, verified and written
atomically, so a reader never sees half a file. Anything that fails raises ``DataUnavailable``,
whose ``reason`` the loaders show to learners before falling back to a synthetic stand-in.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from utils import validate as v

__all__ = ["ENV_DATA_DIR", "DataUnavailable", "repo_root", "dataset_dir", "md5_of_file",
           "write_atomically", "fetch_verified", "fetch_dataset_file", "SOURCES", "real_or_stand_in"]

ENV_DATA_DIR = "FLCOURSE_DATA_DIR"


class DataUnavailable(RuntimeError):
    """The real files could not be found, downloaded or verified.

    ``reason`` is a short phrase for learners (e.g. "there are no cached files and the download
    failed (no network?)"); the message carries the technical details.
    """

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


def repo_root() -> Path:
    """The repository folder (parent of the ``utils`` package)."""
    return Path(__file__).resolve().parent.parent


def dataset_dir(name: str, folder=None) -> Path:
    """Where data set ``name``'s files live: ``folder`` if given, else ``<root>/<name>``."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a data set's folder name such as 'heart-disease', got {name!r}")
    if folder is not None:
        return v.path("folder", folder)
    root = os.environ.get(ENV_DATA_DIR)
    return (Path(root).expanduser() if root else repo_root() / "data" / "cache") / name


def md5_of_file(path) -> str:
    return hashlib.md5(v.path("path", path).read_bytes()).hexdigest()


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it (atomic on one file
    system); on any error the temporary file is removed and ``path`` is untouched."""
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    path = v.path("path", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch_one(name: str, md5: str, url: str, folder: Path, timeout: float) -> Path:
    path = folder / name
    problem = ""
    if path.is_file():
        actual = md5_of_file(path)
        if actual == md5:
            return path  # verified: never write (the folder may be read-only)
        problem = f"the cached file {path} is corrupted (md5 {actual}, expected {md5}); "
    try:
        data = _download(url, timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = ("the cached file is corrupted" if problem else "there are no cached files") \
            + " and the download failed (no network?)"
        raise DataUnavailable(f"{problem}could not download {name} from {url}: {err!r}. Check your network, "
                              f"or put the verified file in {folder} (or set {ENV_DATA_DIR}).", reason) from err
    actual = hashlib.md5(data).hexdigest()
    if actual != md5:
        raise DataUnavailable(f"{problem}downloaded {name} from {url} but its md5 is {actual}, expected {md5}; "
                              "the file was not saved.", f"the downloaded {name} did not match its checksum")
    try:
        write_atomically(path, data)
    except OSError as err:
        raise DataUnavailable(f"downloaded {name} but could not save it in {folder}: {err!r}. "
                              f"Set {ENV_DATA_DIR} to a writable folder.",
                              f"the data folder {folder} is not writable") from err
    return path


def fetch_verified(files: dict, base_url: str, folder, timeout: float = 10.0) -> dict:
    """``{file name: md5}`` → ``{file name: Path}`` of verified files in ``folder``, downloading
    ``base_url + file name`` for any that is missing or corrupted. Raises ``DataUnavailable``."""
    if not isinstance(files, dict) or not files:
        raise TypeError(f"files must be a non-empty dict {{file name: md5}}, got {files!r}")
    v.url("base_url", base_url)
    timeout = v.positive("timeout", timeout)
    folder = v.path("folder", folder)
    return {name: _fetch_one(name, md5, base_url.rstrip("/") + "/" + name, folder, timeout)
            for name, md5 in files.items()}


def fetch_dataset_file(dataset: str, file: str, md5: str, data_dir=None, base_url: str = "",
                       timeout: float = 10.0) -> Path:
    """One verified file of ``dataset`` (in ``data_dir``, default ``dataset_dir(dataset)``), fetched
    from ``base_url`` if missing or corrupted: what the single-file loaders (credit, power) share."""
    file, md5 = v.text("file", file), v.text("md5", md5)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    return fetch_verified({file: md5}, base_url, dataset_dir(dataset, data_dir), timeout)[file]


SOURCES = ("auto", "real", "synthetic")


def real_or_stand_in(source: str, fetch, real, stand_in, requested: str, fallback: str):
    """Every loader's policy (heart, credit, power) in one place.

    ``source="synthetic"``: ``stand_in(requested)``. Otherwise ``real(fetch())``; when ``fetch`` raises
    ``DataUnavailable``, ``"real"`` re-raises it and ``"auto"`` returns ``stand_in(note)`` with
    ``note = fallback.format(reason=...)``, so the notebook announces the stand-in and says why.
    """
    v.choice("source", source, SOURCES)
    for name, f in (("fetch", fetch), ("real", real), ("stand_in", stand_in)):
        v.function(name, f)
    v.text("requested", requested)
    if "{reason}" not in v.text("fallback", fallback):
        raise ValueError(f"fallback must contain '{{reason}}', got {fallback!r}")
    if source == "synthetic":
        return stand_in(requested)
    try:
        found = fetch()
    except DataUnavailable as err:
        if source == "real":
            raise
        return stand_in(fallback.format(reason=err.reason))
    return real(found)
