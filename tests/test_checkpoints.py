"""utils.checkpoints: TFF's FileProgramStateManager round trip, and the manifest that detects a damaged or
half-written checkpoint (nothing half-written ever replaces a good one)."""
import asyncio
import json

import numpy as np
import pytest

from utils import checkpoints
from utils.checkpoints import MANIFEST, CheckpointCorrupted, Checkpoints


def state(k: float) -> dict:
    return {"weights": np.arange(6, dtype=np.float32).reshape(3, 2) * k, "bias": np.array([k], np.float32),
            "round": np.int32(k)}


def same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


@pytest.fixture
def saved(tmp_path):
    ckpt = Checkpoints(tmp_path / "ckpt")
    for version in range(3):
        ckpt.save(state(version + 0.5), version)
    return ckpt


def test_round_trip_returns_what_was_saved(saved):
    assert saved.versions() == [0, 1, 2] and saved.incomplete() == []
    for version in range(3):
        assert same(saved.load(version, state(0)), state(version + 0.5))
    latest, version = saved.load_latest(state(0))
    assert version == 2 and same(latest, state(2.5))


def test_manifest_lists_every_file_with_its_sha256(saved):
    import hashlib

    folder = saved.folder(1)
    manifest = json.loads((folder / MANIFEST).read_text())
    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    assert manifest["version"] == 1 and set(manifest["files"]) == files and files
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_one_flipped_bit_is_detected_and_named(saved):
    victim = next(saved.folder(2).rglob("variables.data-*"))
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    victim.write_bytes(bytes(raw))
    with pytest.raises(CheckpointCorrupted, match=victim.name) as caught:
        saved.load_latest(state(0))
    assert "newest older complete version is 1" in str(caught.value)
    assert same(saved.load(1, state(0)), state(1.5))  # the older versions are untouched


def test_missing_extra_and_unreadable_manifest_files(saved):
    (saved.folder(1) / "stray.bin").write_bytes(b"x")
    with pytest.raises(CheckpointCorrupted, match="unexpected"):
        saved.verify(1)
    next(p for p in saved.folder(0).rglob("*") if p.is_file() and p.name != MANIFEST).unlink()
    with pytest.raises(CheckpointCorrupted, match="missing"):
        saved.verify(0)
    (saved.folder(2) / MANIFEST).write_text("{not json")
    with pytest.raises(CheckpointCorrupted, match="unreadable"):
        saved.verify(2)


def test_version_without_manifest_is_skipped_never_loaded(saved):
    (saved.folder(2) / MANIFEST).unlink()
    assert saved.versions() == [0, 1] and saved.incomplete() == [2]
    latest, version = saved.load_latest(state(0))
    assert version == 1 and same(latest, state(1.5))
    with pytest.raises(CheckpointCorrupted, match="never completely written"):
        saved.load(2, state(0))


def test_a_save_cut_short_never_replaces_a_good_checkpoint(saved, monkeypatch):
    def die(*args, **kwargs):
        raise KeyboardInterrupt("the driver died between TFF's save and the manifest")

    monkeypatch.setattr(checkpoints, "write_atomically", die)
    with pytest.raises(KeyboardInterrupt):
        saved.save(state(9), 3)
    monkeypatch.undo()
    assert saved.incomplete() == [3] and saved.versions() == [0, 1, 2]
    latest, version = saved.load_latest(state(0))
    assert version == 2 and same(latest, state(2.5))
    saved.save(state(3.5), 3)  # the next save of that version replaces the incomplete one
    assert saved.versions() == [0, 1, 2, 3] and same(saved.load(3, state(0)), state(3.5))


def test_a_complete_version_is_never_overwritten(saved):
    with pytest.raises(FileExistsError, match="version 1 already exists"):
        saved.save(state(7), 1)
    assert same(saved.load(1, state(0)), state(1.5))


def test_run_async_works_inside_a_running_event_loop():
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    async def fail():
        raise ValueError("inside")

    async def outer():  # as in Jupyter: a loop already runs in this thread
        return checkpoints.run_async(double(21))

    assert asyncio.run(outer()) == 42
    with pytest.raises(ValueError, match="inside"):
        checkpoints.run_async(fail())
