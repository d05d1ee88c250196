"""utils.comm_training and utils.clinics against independent computations: the partition's arithmetic, FedAvg rounds
replayed by hand from the recorded participants, bytes counted from the messages, curves and budgets
computed on small hand-made tables."""
import numpy as np
import pandas as pd
import pytest

from utils import clinics as cl
from utils import comm_training as ct
from utils import compression as cp
from utils.data import load_heart_disease
from utils.fedcore import evaluate, run_fedavg
from utils.local_training import Schedule


@pytest.fixture(scope="module")
def split():
    return load_heart_disease("synthetic").restandardize("pooled")


@pytest.fixture(scope="module")
def federation():
    rng = np.random.default_rng(0)
    w = rng.normal(size=3)
    clients = {}
    for i in range(12):
        X = rng.normal(size=(15, 3)) + rng.normal(size=3)
        clients[f"c{i}"] = (X, (X @ w + rng.normal(size=15) > 0).astype(float))
    X = rng.normal(size=(200, 3))
    return clients, {"test": (X, (X @ w > 0).astype(float))}


def test_clinics_partition_each_hospital_in_proportion(split):
    out = cl.clinics(split, 40, seed=1)
    assert len(out) == 40
    for h in split.hospitals:
        X, y = split.train[h]
        mine = [v for k, v in out.items() if k.startswith(f"{h} ")]
        assert sum(len(c[1]) for c in mine) == len(y)
        rows = np.vstack([c[0] for c in mine])
        assert np.allclose(np.sort(rows, axis=0), np.sort(X.astype(float), axis=0))   # the same rows, each once
    counts = pd.Series({h: sum(k.startswith(f"{h} ") for k in out) for h in split.hospitals})
    sizes = split.sizes()["train"]
    assert (counts >= 1).all() and (abs(counts - 40 * sizes / sizes.sum()) <= 1.5).all()
    mixed = cl.clinics(split, 40, seed=1, iid=True)
    assert sorted(len(y) for _, y in mixed.values()) == sorted(len(y) for _, y in out.values())
    assert np.allclose(np.sort(np.vstack([x for x, _ in mixed.values()]), axis=0),
                       np.sort(np.vstack([x for x, _ in out.values()]), axis=0))


def test_full_participation_is_run_fedavg_with_bytes_counted(federation):
    clients, test = federation
    run = ct.run_measured(clients, 4, lr=0.3, schedule=Schedule(epochs=1), test=test, validation=test)
    reference = run_fedavg(clients, 4, lr=0.3, schedule=Schedule(epochs=1), test=test)
    assert np.allclose(run.server, reference.server) and np.allclose(run.accuracy, reference.accuracy)
    assert np.allclose(run.val_loss, reference.loss)
    p, k = 4, 12
    assert list(run.down_bytes) == [r * k * 4 * p for r in range(5)]
    assert list(run.up_bytes) == [r * k * (4 * p + 4) for r in range(5)]        # update + aggregation weight


def test_sampled_rounds_replayed_by_hand(federation):
    clients, test = federation
    theta0 = np.array([0.1, -0.2, 0.3, 0.0])
    uplink = cp.Uplink(cp.Compressor("sign"), error_feedback=True, seed=3)
    run = ct.run_measured(clients, 5, lr=0.3, schedule=Schedule(epochs=1), clients_per_round=4, uplink=uplink,
                          theta0=theta0, seed=7, test=test)
    replay = cp.Uplink(cp.Compressor("sign"), error_feedback=True, seed=3)
    theta = theta0
    for r, ids in enumerate(run.participants):
        assert len(set(ids)) == 4
        local = run_fedavg({i: clients[i] for i in ids}, 1, lr=0.3, theta0=theta, schedule=Schedule(epochs=1),
                           keep_clients=True).clients[0]
        sizes = np.array([len(clients[i][1]) for i in ids], dtype=float)
        theta = theta + replay.bind(ids)(local - theta, sizes / sizes.sum())
        assert np.allclose(run.server[r + 1], theta)
        assert run.accuracy[r + 1] == pytest.approx(evaluate(theta, test)["accuracy"])
    assert list(np.diff(run.up_bytes)) == [4 * (1 + 4) + 4 * 4] * 5             # four 5-byte signs + four weights
    assert np.isnan(run.val_loss).all() and len({tuple(ids) for ids in run.participants}) > 1


def test_curve_budget_and_frontier_on_hand_made_curves():
    a = pd.DataFrame({"round": [0, 1, 2, 3], "bytes": [0, 10, 20, 30], "mean": [0.5, 0.6, 0.8, 0.7], "std": 0.01})
    b = pd.DataFrame({"round": [0, 1, 2], "bytes": [0, 25, 50], "mean": [0.5, 0.75, 0.9], "std": 0.02})
    val_a = a.assign(mean=[0.7, 0.6, 0.5, 0.55])          # validation loss: a is best at round 2
    val_b = b.assign(mean=[0.7, 0.52, 0.4])
    assert ct.at_budget(a, 5) is None
    assert ct.at_budget(a, 35)["round"] == 3                               # runs until the budget is spent
    assert ct.at_budget(a, 35, val_a)["round"] == 2                        # stops where validation says
    ranking = ct.best_under_budget({"a": a, "b": b}, 30, {"a": val_a, "b": val_b})
    assert list(ranking.index) == ["a", "b"] and ranking.loc["b", "round"] == 1   # 0.5 < 0.52
    front = ct.frontier({"a": a, "b": b}, {"a": val_a, "b": val_b})
    assert list(zip(front["bytes"], front["method"], front["round"])) == [(10, "a", 1), (20, "a", 2), (50, "b", 2)]
    plain = ct.frontier({"a": a, "b": b})
    assert list(plain["method"]) == ["a", "a", "b", "b"] and plain["mean"].iloc[-1] == 0.9


def test_curve_averages_seeds(federation):
    clients, test = federation
    runs = [ct.run_measured(clients, 3, lr=0.3, clients_per_round=6, seed=s, test=test) for s in range(3)]
    c = ct.curve(runs)
    values = np.array([r.accuracy for r in runs])
    assert np.allclose(c["mean"], values.mean(axis=0)) and np.allclose(c["std"], values.std(axis=0, ddof=1))
    assert list(c["bytes"]) == list(runs[0].total_bytes)
    with pytest.raises(ValueError, match="same bytes"):
        ct.curve([runs[0], ct.run_measured(clients, 3, lr=0.3, clients_per_round=5, test=test)])
    with pytest.raises(ValueError, match="val_loss"):
        ct.curve(runs, "val_loss")


def test_twin_clinics_held_out_sets_are_scaled_like_the_training_rows():
    bed = cl.twin_clinics(n_per_hospital=300, n_clinics=20, seed=3, n_test_per_hospital=400, n_validation_per_hospital=200)
    assert len(bed.clients) == 20
    X_test, y_test = bed.test["test patients"]
    assert len(y_test) == sum(len(f) for f in bed.test_frames.values())
    X_train = np.vstack([x for x, _ in bed.clients.values()])
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-6)                   # pooled scaling of the training rows
    assert np.abs(X_test.mean(axis=0)).max() < 0.25 and np.abs(X_test.std(axis=0) - 1).max() < 0.3
    assert not np.array_equal(bed.validation["validation patients"][0][:5], X_test[:5])
