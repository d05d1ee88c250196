"""DP-SGD in NumPy (utils.dpsgd) and the two hooks chapter 06 added to run_fedavg, against
independent computations: explicit loops, the course's plain SGD, statistics of the noise."""
import numpy as np

from utils import fedcore
from utils.dpsgd import DPSGD, clip_rows, dp_fedavg_accuracy, logistic_example_gradients, noisy_clipped_sum
from utils.local_training import local_train
from utils.models import logistic_grad

rng0 = np.random.default_rng(0)
X = rng0.normal(size=(40, 3))
Y = (rng0.random(40) < 0.5).astype(float)
CLIENTS = {"a": (X[:25], Y[:25]), "b": (X[25:], Y[25:])}


def test_clip_rows_scales_only_long_rows_and_keeps_directions():
    G = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    out = clip_rows(G, 1.0)
    expected = [row * min(1.0, 1.0 / np.linalg.norm(row)) if np.linalg.norm(row) else row for row in G]
    assert np.allclose(out, expected)
    assert np.allclose(out[0], [0.6, 0.8]) and np.array_equal(out[1], G[1]) and np.array_equal(out[2], G[2])


def test_example_gradients_average_to_the_batch_gradient():
    theta = np.array([0.3, -0.2, 0.1, 0.05])
    per_row = logistic_example_gradients(theta, X, Y)
    assert per_row.shape == (40, 4)
    assert np.allclose(per_row.mean(axis=0), logistic_grad(theta, X, Y))
    assert np.allclose(per_row[7], logistic_grad(theta, X[7:8], Y[7:8]))


def test_noisy_clipped_sum_without_noise_is_the_clipped_sum_and_noise_has_std_sigma_c():
    G = np.array([[3.0, 4.0], [0.1, 0.0]])
    assert np.allclose(noisy_clipped_sum(G, 2.0, 0.0, np.random.default_rng(1)), [1.2 + 0.1, 1.6])
    draws = np.array([noisy_clipped_sum(np.zeros((0, 50)), 0.5, 2.0, np.random.default_rng(s)) for s in range(200)])
    assert abs(draws.std() - 1.0) < 0.03 and abs(draws.mean()) < 0.03  # std σ·C = 2 × 0.5


def test_without_noise_sampling_or_binding_clip_dp_sgd_is_plain_gradient_descent():
    theta = np.zeros(4)
    dp = DPSGD(clip=1e6, noise_multiplier=0.0, sampling_rate=1.0, steps=3, lr=0.5)
    ours = dp.client_update(theta, X, Y, np.random.default_rng(0))
    plain = local_train(theta, X, Y, [np.arange(40)] * 3, lr=0.5)
    assert np.allclose(ours, plain, atol=1e-12)


def test_binding_clip_matches_an_explicit_loop():
    theta0 = np.array([0.5, -1.0, 0.2, 0.0])
    dp = DPSGD(clip=0.1, noise_multiplier=0.0, sampling_rate=1.0, steps=2, lr=0.3)
    theta = theta0.copy()
    for _ in range(2):
        total = np.zeros(4)
        for x, y in zip(X, Y):
            g = logistic_grad(theta, x[None], np.array([y]))
            total += g * min(1.0, 0.1 / np.linalg.norm(g))
        theta = theta - 0.3 * total / 40
    assert np.allclose(dp.client_update(theta0, X, Y, np.random.default_rng(0)), theta)


def test_noise_in_the_update_has_the_advertised_size():
    dp = DPSGD(clip=1.0, noise_multiplier=3.0, sampling_rate=1e-9, steps=4, lr=0.1)  # no row is ever sampled
    updates = np.array([dp.client_update(np.zeros(4), X, Y, np.random.default_rng(s)) for s in range(300)])
    expected = 0.1 * 3.0 * 1.0 * np.sqrt(4) / (1e-9 * 40)
    assert abs(updates.std() / expected - 1) < 0.05


def test_total_steps():
    assert DPSGD(steps=5).total_steps(15) == 75


def test_client_update_hook_replaces_local_training():
    calls = []

    def update(theta, X_k, y_k, rng):
        calls.append(len(y_k))
        return theta + 1.0

    h = fedcore.run_fedavg(CLIENTS, 2, lr=0.1, client_update=update)
    assert calls == [25, 15, 25, 15]
    assert np.allclose(h.final, 2.0)


def test_cohort_hook_passes_only_the_chosen_updates_with_renormalised_shares():
    seen = []

    def aggregate(U, shares):
        seen.append((U.shape, shares.copy()))
        return U.mean(axis=0) if len(U) else np.zeros(U.shape[1])

    three = {"a": CLIENTS["a"], "b": CLIENTS["b"], "c": CLIENTS["a"]}
    h = fedcore.run_fedavg(three, 2, lr=0.1, cohort=lambda rng, K: [2, 0], aggregate=aggregate, keep_clients=True)
    assert seen[0][0] == (2, 4) and np.allclose(seen[0][1], [0.5, 0.5])
    assert np.isnan(h.clients[0, 1]).all() and not np.isnan(h.clients[0, 0]).any()
    empty = fedcore.run_fedavg(three, 1, lr=0.1, cohort=lambda rng, K: [], aggregate=aggregate)
    assert np.array_equal(empty.final, empty.server[0])
    full = fedcore.run_fedavg(three, 2, lr=0.1, cohort=lambda rng, K: np.arange(K))
    assert np.allclose(full.final, fedcore.run_fedavg(three, 2, lr=0.1).final)


def test_dp_fedavg_accuracy_is_repeatable_and_an_accuracy():
    from utils.data import load_heart_disease

    split = load_heart_disease("synthetic")
    dp = DPSGD(clip=1.0, noise_multiplier=1.0, sampling_rate=0.2, steps=2, lr=0.1)
    a = dp_fedavg_accuracy(split, dp, rounds=2, seeds=(1, 2))
    assert a.shape == (2,) and ((0 <= a) & (a <= 1)).all()
    assert np.array_equal(a, dp_fedavg_accuracy(split, dp, rounds=2, seeds=(1, 2)))
