"""Chapter 09's test set-up, shared by tests/test_fed_program.py and tests/test_drivers.py: four sites (the
offline twin's hospitals), one TFF worker per site, the chapter's program built and saved, and the
uninterrupted run's weights computed in a fixed merge order."""
from __future__ import annotations

from pathlib import Path

ROUNDS, BATCH_SIZE, CLIENT_LR = 3, 32, 0.1


def make_world(root: Path) -> dict:
    from utils.data import load_heart_disease
    from utils.drivers import reference_run

    split = load_heart_disease("synthetic")  # the agreement holds for any rows; the twin runs offline
    hospitals = list(split.hospitals)
    clients = {h: split.train[h] for h in hospitals}
    world = reference_run(root, clients, len(split.feature_names), ROUNDS, BATCH_SIZE, CLIENT_LR)
    return {"root": root, "split": split, "hospitals": hospitals, "clients": clients, **world}
