"""Robust aggregation and attacks (utils.robust) against NumPy/SciPy and explicit loops."""
import numpy as np
from scipy import stats

from utils import robust
from utils.fedcore import run_fedavg, weighted_average

rng = np.random.default_rng(0)
U = rng.normal(size=(5, 7))
W = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def test_median_and_unweighted_trimmed_mean_match_numpy_and_scipy():
    assert np.allclose(robust.coordinate_median(U, W), np.median(U, axis=0))
    assert np.allclose(robust.trimmed_mean(U, None, trim=1), stats.trim_mean(U, 0.2, axis=0))
    assert np.allclose(robust.trimmed_mean(U, W, trim=0), weighted_average(U, W))


def test_weighted_trimmed_mean_matches_a_loop():
    out = robust.trimmed_mean(U, W, trim=2)
    for j in range(U.shape[1]):
        keep = np.argsort(U[:, j])[2:3]
        assert np.isclose(out[j], (U[keep, j] * W[keep]).sum() / W[keep].sum())


def test_norm_clipped_mean_matches_a_loop():
    out = robust.norm_clipped_mean(U, W, clip=1.0)
    expected = sum(w * u * min(1.0, 1.0 / np.linalg.norm(u)) for w, u in zip(W / W.sum(), U))
    assert np.allclose(out, expected)


def test_attacks_replace_only_the_attacker():
    seen = []
    attacked = robust.with_attack(lambda A, s: seen.append(A.copy()) or A.sum(axis=0), 1, robust.scaled_update(-10))
    attacked(U, W)
    assert np.allclose(seen[0][1], -10 * U[1]) and np.allclose(np.delete(seen[0], 1, axis=0), np.delete(U, 1, axis=0))
    d = robust.directed_update([0, 0, 0, 0, 0, 0, -2.0])(U[3])
    assert np.isclose(np.linalg.norm(d), np.linalg.norm(U[3])) and d[-1] < 0 and not d[:-1].any()
    plain = robust.with_attack(None, 0, lambda u: u)
    assert np.allclose(plain(U, W), weighted_average(U, W))


def test_extreme_share_counts_discarded_coordinates():
    V = np.array([[0.0, 5.0, 1.0], [1.0, 1.0, 2.0], [2.0, 2.0, 3.0], [3.0, 3.0, 0.5]])
    # column 0: client 0 smallest, 3 largest; column 1: client 1 smallest, 0 largest; column 2: 3 smallest, 2 largest
    assert [robust.extreme_share(V, k) for k in range(4)] == [2 / 3, 1 / 3, 1 / 3, 2 / 3]


def test_robust_rules_leave_identical_clients_alone():
    X = rng.normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(float)
    same = [(X, y)] * 4
    fedavg = run_fedavg(same, 3, lr=0.3).final
    for rule in (robust.coordinate_median, robust.trimmed_mean, lambda A, s: robust.norm_clipped_mean(A, s, 100.0)):
        assert np.allclose(run_fedavg(same, 3, lr=0.3, aggregate=rule).final, fedavg)
