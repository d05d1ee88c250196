"""Program state saved every round with TFF's ``tff.program.FileProgramStateManager``, with a manifest
that proves a checkpoint is complete and intact. Introduced in chapter 09.

TFF writes each version as a SavedModel into a temporary folder and renames it to
``program_state_<version>`` when done, so a crash mid-write leaves a ``..._temp<n>`` folder that TFF
itself ignores. What TFF does not check is the content: a damaged file surfaces as an obscure
TensorFlow error, or not at all. ``Checkpoints`` adds, after TFF's save, a ``manifest.json`` with the
SHA-256 of every file (written atomically), and before every load verifies it:

* a version without a manifest is **incomplete** (the driver died between TFF's save and the
  manifest): it is never loaded, and the next save of that version replaces it;
* a version whose files do not match their manifest is **corrupted**: loading it raises
  ``CheckpointCorrupted`` naming the file, never a half-restored state.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
from pathlib import Path

from utils import validate as v
from utils.download import write_atomically

__all__ = ["CheckpointCorrupted", "Checkpoints", "run_async"]

MANIFEST = "manifest.json"


class CheckpointCorrupted(ValueError):
    """A saved program state whose files are not the ones its manifest lists."""

    def __init__(self, message: str):
        super().__init__(v.text("message", message))


def run_async(coroutine):
    """Run a coroutine to completion from synchronous code, also inside Jupyter (whose own event loop
    is already running in the main thread): it runs in a fresh thread with its own loop."""
    if not asyncio.iscoroutine(coroutine):
        raise TypeError(f"coroutine must be a coroutine, got {type(coroutine).__name__}")
    box = {}

    def target():
        try:
            box["result"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
            box["error"] = error

    thread = threading.Thread(target=target, name="run-async")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _structure(name: str, value):
    if not isinstance(value, (dict, tuple, list)) or not value:
        raise TypeError(f"{name} must be a program state (a non-empty dict, tuple or list of arrays), got {value!r:.80}")
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


class Checkpoints:
    """Save and load a federated program's state in ``root`` (one folder per version = round).

    ``keep`` is TFF's ``keep_total`` (older versions are deleted; the first is always kept).
    """

    def __init__(self, root, keep: int = 5, prefix: str = "program_state_"):
        import tensorflow_federated as tff

        self.root = v.path("root", root)
        self.keep = v.integer("keep", keep, 1)
        self.prefix = v.text("prefix", prefix)
        self.manager = tff.program.FileProgramStateManager(str(self.root), prefix=self.prefix, keep_total=self.keep)

    def folder(self, version) -> Path:
        """The folder TFF uses for ``version``."""
        return self.root / f"{self.prefix}{v.integer('version', version, 0)}"

    def _all_versions(self) -> list:
        found = run_async(self.manager.get_versions())
        return list(found or [])

    def versions(self) -> list:
        """Complete versions (TFF finished writing them and their manifest is in place), oldest first."""
        return [x for x in self._all_versions() if (self.folder(x) / MANIFEST).is_file()]

    def incomplete(self) -> list:
        """Versions TFF wrote but whose manifest is missing (the writer died in between)."""
        return [x for x in self._all_versions() if not (self.folder(x) / MANIFEST).is_file()]

    def save(self, state, version) -> Path:
        """Save ``state`` as ``version`` with TFF, then its manifest; returns the version's folder."""
        version = v.integer("version", version, 0)
        state = _structure("state", state)
        folder = self.folder(version)
        if folder.exists():
            if (folder / MANIFEST).is_file():
                raise FileExistsError(f"checkpoint version {version} already exists in {self.root}")
            shutil.rmtree(folder)  # an incomplete save of a run that died: replace it
        run_async(self.manager.save(state, version))
        files = {name: _sha256(path) for name, path in _files(folder).items()}
        manifest = {"version": version, "files": files}
        write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        return folder

    def verify(self, version) -> None:
        """Raise ``CheckpointCorrupted`` unless every file of ``version`` matches its manifest."""
        version = v.integer("version", version, 0)
        folder = self.folder(version)
        where = f"checkpoint version {version} ({folder})"
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            expected = dict(manifest["files"])
        except FileNotFoundError:
            raise CheckpointCorrupted(f"{where} has no {MANIFEST}: it was never completely written") from None
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointCorrupted(f"{where}: its {MANIFEST} is unreadable ({error})") from None
        found = _files(folder)
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        if missing or extra:
            raise CheckpointCorrupted(f"{where}: files missing {missing}, unexpected {extra}")
        for name, path in found.items():
            if _sha256(path) != expected[name]:
                older = [x for x in self.versions() if x < version]
                hint = (f"the newest older complete version is {older[-1]}: load({older[-1]}, ...) or delete {folder}"
                        if older else "no older version exists")
                raise CheckpointCorrupted(f"{where}: {name} does not match its SHA-256 in {MANIFEST} "
                                          f"(damaged after it was saved); {hint}")

    def load(self, version, structure):
        """The state saved as ``version`` (verified first); ``structure`` is a state of the same shape
        (e.g. what ``initialize`` returns), which TFF needs to rebuild it."""
        version = v.integer("version", version, 0)
        structure = _structure("structure", structure)
        self.verify(version)
        return run_async(self.manager.load(version, structure))

    def load_latest(self, structure):
        """(state, version) of the newest complete version, or (None, None) if there is none."""
        structure = _structure("structure", structure)
        done = self.versions()
        if not done:
            return None, None
        return self.load(done[-1], structure), done[-1]
