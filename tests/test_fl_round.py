"""Tests for utils.fl_round: each step of a FedAvg round against an independent computation."""
import numpy as np
import pytest
from sklearn.metrics import log_loss

from utils import fl_round as F


def make_silos(sizes=(30, 50, 20), d=4, seed=0):
    rng = np.random.default_rng(seed)
    true_w = rng.normal(size=d)
    silos = []
    for n in sizes:
        X = rng.normal(size=(n, d)) + rng.normal(size=d)  # each silo shifted: non-IID features
        y = (X @ true_w + rng.normal(size=n) > 0).astype(float)
        silos.append((X, y))
    return silos


def test_loss_and_grad():
    (X, y), = make_silos(sizes=(40,))
    w = np.random.default_rng(1).normal(size=X.shape[1] + 1)
    p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
    assert F.logistic_loss(w, X, y) == pytest.approx(log_loss(y, p), rel=1e-10)
    eps = 1e-6
    numeric = [(F.logistic_loss(w + eps * e, X, y) - F.logistic_loss(w - eps * e, X, y)) / (2 * eps)
               for e in np.eye(len(w))]
    np.testing.assert_allclose(F.logistic_grad(w, X, y), numeric, atol=1e-8)
    assert F.accuracy(w, X, y) == pytest.approx(np.mean((p >= 0.5) == y))


def test_local_sgd_is_minibatch_sgd_in_order():
    (X, y), = make_silos(sizes=(10,))
    w = np.zeros(X.shape[1] + 1)
    manual = w.copy()
    for _ in range(2):
        for i in range(0, 10, 4):
            p = 1 / (1 + np.exp(-(X[i:i + 4] @ manual[:-1] + manual[-1])))
            g = np.append(X[i:i + 4].T @ (p - y[i:i + 4]), (p - y[i:i + 4]).sum()) / len(p)
            manual = manual - 0.3 * g
    np.testing.assert_allclose(F.local_sgd(w, X, y, epochs=2, lr=0.3, batch_size=4), manual, atol=1e-12)


def test_weighted_average():
    V = np.random.default_rng(2).normal(size=(3, 5))
    np.testing.assert_allclose(F.weighted_average(V, [1, 2, 7]), np.average(V, axis=0, weights=[1, 2, 7]))


def test_fedavg_with_one_full_batch_step_is_centralised_gradient_descent():
    train = make_silos()
    test = make_silos(seed=3)
    h = F.run_fedavg(train, test, rounds=5, epochs=1, lr=0.5, batch_size=10_000)
    X = np.vstack([a for a, _ in train])
    y = np.concatenate([b for _, b in train])
    w = np.zeros(X.shape[1] + 1)
    for r in range(5):
        p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
        w = w - 0.5 * np.append(X.T @ (p - y), (p - y).sum()) / len(y)
        np.testing.assert_allclose(h.server[r + 1], w, atol=1e-12)
    assert h.server.shape == (6, 5) and h.clients.shape == (5, 3, 5)
    np.testing.assert_array_equal(h.sizes, [30, 50, 20])


def test_federated_evaluate_equals_pooled_evaluation():
    silos = make_silos()
    w = np.random.default_rng(4).normal(size=5)
    X = np.vstack([a for a, _ in silos])
    y = np.concatenate([b for _, b in silos])
    ev = F.federated_evaluate(w, silos)
    assert ev["accuracy"] == pytest.approx(F.accuracy(w, X, y))
    assert ev["loss"] == pytest.approx(F.logistic_loss(w, X, y))
    np.testing.assert_allclose(ev["per_silo"], [F.accuracy(w, a, b) for a, b in silos])


def test_federated_mean_std_equals_pooled():
    silos = [a for a, _ in make_silos()]
    mean, std = F.federated_mean_std(silos)
    pooled = np.vstack(silos)
    np.testing.assert_allclose(mean, pooled.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(std, pooled.std(axis=0), atol=1e-10)


def test_animation_has_a_frame_per_stage():
    h = F.run_fedavg(make_silos(), make_silos(seed=5), rounds=3)
    fig = F.animate_rounds(h, names=["a", "b", "c"])
    assert len(fig.frames) == 12 and len(fig.layout.sliders[0].steps) == 12
    assert all(len(f.data) == len(fig.data) == 6 for f in fig.frames)
    # aggregation frame of round 2 puts the star on the projection of server[2]
    S, C = F.round_plane(h)
    star = fig.frames[4 * 1 + 2].data[3]
    np.testing.assert_allclose([star.x[0], star.y[0]], S[2], atol=1e-12)
    # the plane is orthonormal: distances along the path are preserved, the final model lies on axis 1
    np.testing.assert_allclose(S[-1], [np.linalg.norm(h.server[-1] - h.server[0]), 0], atol=1e-12)
    np.testing.assert_allclose(F.weighted_average(C[0], h.sizes), S[1], atol=1e-12)
    # evaluation frame of the last round shows every round's accuracy
    np.testing.assert_allclose(fig.frames[-1].data[4].y, h.accuracy)


@pytest.mark.parametrize("call, bad", [
    (lambda s: F.local_sgd(np.zeros(5), *s[0], epochs=0), "epochs"),
    (lambda s: F.local_sgd(np.zeros(5), *s[0], lr=-1), "-1"),
    (lambda s: F.local_sgd(np.zeros(3), *s[0]), r"\(3,\)"),
    (lambda s: F.weighted_average(np.ones((2, 3)), [1, -1]), r"\[1, -1\]"),
    (lambda s: F.weighted_average(np.ones((2, 3)), [1]), r"\[1\]"),
    (lambda s: F.run_fedavg(s, s[:2]), "3 silos"),
    (lambda s: F.run_fedavg(s, s, rounds=0), "rounds"),
    (lambda s: F.run_fedavg([(s[0][0], s[0][1] * 2)], s[:1]), "labels"),
    (lambda s: F.federated_mean_std([]), r"\[\]"),
    (lambda s: F.animate_rounds("history"), "FedAvgHistory"),
])
def test_bad_input_raises_value_error(call, bad):
    with pytest.raises(ValueError, match=bad):
        call(make_silos())


def test_breast_cancer_silos_cover_the_table_once():
    from sklearn.datasets import load_breast_cancer

    train, test = F.breast_cancer_silos(num_silos=4, alpha=1.0, seed=0)
    rows = np.vstack([a for a, _ in train] + [a for a, _ in test])
    X = load_breast_cancer().data
    assert len(rows) == len(X) == 569
    # every original row appears exactly once
    np.testing.assert_array_equal(np.sort(rows[:, 0] * 1e6 + rows[:, 1]), np.sort(X[:, 0] * 1e6 + X[:, 1]))
    for (a, _), (b, _) in zip(train, test):
        assert abs(len(b) / (len(a) + len(b)) - 0.25) < 0.02
    with pytest.raises(ValueError, match="1.5"):
        F.breast_cancer_silos(test_share=1.5)
    with pytest.raises(ValueError, match="num_clients"):
        F.breast_cancer_silos(num_silos=0)
