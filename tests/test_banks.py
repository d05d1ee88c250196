"""utils.banks: the split into banks, the risk metrics against scikit-learn and brute force, the trainers
(optimum, NumPy FedAvg/FedAdam, TFF) against independent computations."""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from utils.banks import (BANK_NAMES, BANKS, BankSplit, auc, bank_metrics, bank_split, build_bank_process,
                         recall_at_fpr, run_numpy_banks, run_tff_banks, train_logistic)
from utils.credit import LABEL, education_group, load_credit, model_features
from utils.fedcore import federated_mean_std


@pytest.fixture(scope="module")
def data():
    return load_credit("synthetic", seed=1)


@pytest.fixture(scope="module")
def split(data):
    return bank_split(data, seed=0)


# ---------------------------------------------------------------- the split

def test_split_is_a_stratified_partition_of_each_bank(data, split):
    groups = education_group(data.frame["EDUCATION"].to_numpy())
    for b in BANKS:
        bank = data.frame[groups == b]
        ids = np.concatenate([split.rows[p][b]["ID"].to_numpy() for p in ("train", "val", "test")])
        assert sorted(ids) == sorted(bank["ID"])                       # every client once, none elsewhere
        n = {p: len(split.rows[p][b]) for p in ("train", "val", "test")}
        assert abs(n["train"] / len(bank) - 0.6) < 0.01 and abs(n["test"] / len(bank) - 0.2) < 0.01
        rate = bank[LABEL].mean()
        for p in ("train", "val", "test"):
            assert abs(split.rows[p][b][LABEL].mean() - rate) < 0.02   # stratified by label
    sizes = split.sizes()
    assert list(sizes.index) == [BANK_NAMES[b] for b in BANKS]
    assert sizes[["train", "val", "test"]].to_numpy().sum() == len(data.frame)


def test_features_are_standardised_with_the_shared_training_statistics(data, split):
    raw_train = [model_features(split.rows["train"][b]) for b in BANKS]
    pooled = np.vstack(raw_train)
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    np.testing.assert_allclose(split.mean, mean, rtol=1e-10)
    np.testing.assert_allclose(split.std, std, rtol=1e-10)
    np.testing.assert_allclose(federated_mean_std(raw_train)[0], mean, rtol=1e-10)
    X, y = split.part("test")["high_school"]
    np.testing.assert_allclose(X, (model_features(split.rows["test"]["high_school"]) - mean) / std, atol=1e-12)
    np.testing.assert_array_equal(y, split.rows["test"]["high_school"][LABEL].to_numpy())
    Xp, yp = split.pooled("val")
    assert len(yp) == sum(len(split.part("val")[b][1]) for b in BANKS) and Xp.shape[1] == 28


def test_split_is_seeded_and_refuses_bad_shares(data):
    a, b = bank_split(data, seed=4), bank_split(data, seed=4)
    np.testing.assert_array_equal(a.part("test")["other"][0], b.part("test")["other"][0])
    with pytest.raises(ValueError, match="sum to 1"):
        bank_split(data, fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="too few"):
        bank_split(data, fractions=(0.998, 0.001, 0.001))


# ---------------------------------------------------------------- metrics

def test_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500).astype(float)
    s = np.round(rng.normal(size=500) + y, 1)                          # rounding makes ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert np.isnan(auc(np.zeros(5), np.arange(5.0)))


def _recall_brute_force(y, s, fpr):
    """Try every threshold 'flag if score > t'; keep the best recall whose false-positive rate is ≤ fpr."""
    best = 0.0
    for t in np.r_[-np.inf, np.unique(s)]:
        flagged = s > t
        if flagged[y == 0].mean() <= fpr + 1e-12:
            best = max(best, flagged[y == 1].mean())
    return best


@pytest.mark.parametrize("seed", range(6))
def test_recall_at_fpr_is_the_best_threshold(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300).astype(float)
    s = np.round(rng.normal(size=300) + 1.2 * y, 1 if seed % 2 else 6)
    for fpr in (0.01, 0.05, 0.1, 0.3):
        assert recall_at_fpr(y, s, fpr) == pytest.approx(_recall_brute_force(y, s, fpr), abs=1e-12)
    if seed % 2 == 0:                                                  # no ties: one point of sklearn's ROC curve
        f, t, _ = roc_curve(y, s)
        assert recall_at_fpr(y, s, 0.1) == pytest.approx(t[f <= 0.1].max(), abs=1e-12)


def test_bank_metrics_per_bank(split):
    theta = train_logistic(*split.pooled("train"), 0.1)
    table = bank_metrics(theta, split, "val", fpr=0.05)
    assert list(table["bank"]) == list(BANKS)
    X, y = split.part("val")["university"]
    p = 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1])))
    row = table.set_index("bank").loc["university"]
    assert row["auc"] == pytest.approx(roc_auc_score(y, p)) and row["recall"] == pytest.approx(recall_at_fpr(y, p, 0.05))
    assert row["rows"] == len(y) and row["defaulters"] == int(y.sum())
    local = {b: theta for b in BANKS}
    pd.testing.assert_frame_equal(bank_metrics(local, split, "val", 0.05), table)
    with pytest.raises(ValueError, match="no entry"):
        bank_metrics({"graduate": theta}, split)


# ---------------------------------------------------------------- trainers

def test_train_logistic_is_the_penalised_optimum(split):
    from sklearn.linear_model import LogisticRegression

    X, y = split.part("train")["high_school"]
    for l2 in (1e-3, 0.1):
        ours = train_logistic(X, y, l2)
        # sklearn minimises C·Σ log-loss + ½‖w‖², i.e. mean log-loss + ½‖w‖²/(C n): C = 1 / (l2 n).
        ref = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=5000).fit(X, y)
        np.testing.assert_allclose(ours, np.r_[ref.coef_[0], ref.intercept_], atol=2e-4)


def test_run_numpy_banks_is_fedavg_by_hand(split):
    """Two rounds of size-weighted FedAvg, one in-order pass of SGD per bank, written out independently."""
    from utils.models import initial_weights, to_theta

    theta = to_theta(initial_weights(3, 28))
    clients = split.part("train")
    n = np.array([len(y) for _, y in clients.values()], float)
    for _ in range(2):
        updates = []
        for X, y in clients.values():
            t = theta.copy()
            for s in range(0, len(y), 128):
                xb, yb = X[s:s + 128], y[s:s + 128]
                err = 1 / (1 + np.exp(-(xb @ t[:-1] + t[-1]))) - yb
                t = t - 0.1 * np.r_[xb.T @ err, err.sum()] / len(yb)
            updates.append(t - theta)
        theta = theta + (n / n.sum()) @ np.array(updates)
    ours = run_numpy_banks(split, 2, 0.1, batch_size=128, seed=3, shuffle=False)
    np.testing.assert_allclose(ours, theta, atol=1e-10)


def test_fedadam_moves_differently_and_is_seeded(split):
    a = run_numpy_banks(split, 2, 0.1, "adam", 0.3, 0.01, batch_size=256, seed=1)
    b = run_numpy_banks(split, 2, 0.1, "adam", 0.3, 0.01, batch_size=256, seed=1)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - run_numpy_banks(split, 2, 0.1, batch_size=256, seed=1)).max() > 1e-3


def test_tff_equals_the_numpy_core(split):
    """Both TFF processes (FedAvg, FedAdam) equal the NumPy core on the same batches, to float32 precision."""
    from utils.models import to_theta
    from utils.runtime import manage_tff_workers

    manage_tff_workers()                      # the worker TFF starts dies with this test process

    for server in (("sgd", 1.0, 1e-3), ("adam", 0.3, 0.01)):
        process = build_bank_process(28, 0.1, *server)
        tff_w = run_tff_banks(process, split, 2, batch_size=256, seed=7, shuffle=False)
        np_w = run_numpy_banks(split, 2, 0.1, *server, batch_size=256, seed=7, shuffle=False)
        assert np.abs(to_theta(tff_w) - np_w).max() < 1e-5, server
    shuffled = run_tff_banks(process, split, 1, batch_size=256, seed=7)
    again = run_tff_banks(process, split, 1, batch_size=256, seed=7)
    np.testing.assert_array_equal(shuffled[0], again[0])               # seeded shuffling
    assert isinstance(split, BankSplit)
