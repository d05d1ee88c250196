"""Chapter 09's test set-up, shared by tests/test_fed_program.py and tests/test_drivers.py: four sites (the
offline twin's hospitals), one TFF worker per site, the chapter's program built and saved, and the
uninterrupted run's weights computed in a fixed merge order."""
from __future__ import annotations

from pathlib import Path

ROUNDS, BATCH_SIZE, CLIENT_LR = 3, 32, 0.1


def make_world(root: Path) -> dict:
    from utils.by_reference import prepare_sites
    from utils.data import load_heart_disease
    from utils.fed_program import FixedOrderRunner, build_program, model_weights, train
    from utils.tff_workers import WorkerPool

    split = load_heart_disease("synthetic")  # the agreement holds for any rows; the twin runs offline
    hospitals = list(split.hospitals)
    clients = {h: split.train[h] for h in hospitals}
    sites = prepare_sites(clients, root / "sites")
    pool = WorkerPool([sites[h] for h in hospitals]).start()
    try:
        program, by_value = build_program(root / "program", len(split.feature_names), BATCH_SIZE, CLIENT_LR)
        groups = [[h] for h in hospitals]
        runner = FixedOrderRunner(program, pool.addresses, groups)
        try:
            uninterrupted = model_weights(train(runner, ROUNDS))
        finally:
            runner.close()
    except BaseException:
        pool.stop()
        raise
    return {"root": root, "split": split, "hospitals": hospitals, "clients": clients, "sites": sites, "pool": pool,
            "program": program, "by_value": by_value, "groups": groups, "uninterrupted": uninterrupted}
