"""The NumPy MLP (utils.mlp) against finite differences, logistic regression, and per-example loops."""
import numpy as np

from utils.mlp import _clipped_sum, _weights, init_mlp, mlp_gradient, mlp_loss, mlp_proba, train_mlp
from utils.models import logistic_grad, predict_proba

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 3))
Y = (rng.random(12) < 0.5).astype(float)


def test_gradient_matches_finite_differences():
    ws = init_mlp(3, (5, 4), seed=1)
    grads = mlp_gradient(ws, X, Y)
    eps = 1e-6
    for layer in range(len(ws)):
        for idx in [tuple(0 for _ in ws[layer].shape), tuple(s - 1 for s in ws[layer].shape)]:
            up = [w.copy() for w in ws]
            down = [w.copy() for w in ws]
            up[layer][idx] += eps
            down[layer][idx] -= eps
            numeric = (mlp_loss(up, X, Y) - mlp_loss(down, X, Y)) / (2 * eps)
            assert abs(numeric - grads[layer][idx]) < 1e-6


def test_no_hidden_layer_is_logistic_regression():
    ws = init_mlp(3, (), seed=2)
    theta = np.append(ws[0][:, 0], ws[1])
    assert np.allclose(mlp_proba(ws, X), predict_proba(theta, X))
    g = mlp_gradient(ws, X, Y)
    assert np.allclose(np.append(g[0][:, 0], g[1]), logistic_grad(theta, X, Y))


def test_clipped_sum_equals_a_loop_over_examples():
    ws = [w.astype(np.float64) for w in init_mlp(3, (6, 6), seed=3)]
    clip = 0.05
    fast = _clipped_sum(ws, X, Y, clip)
    slow = [np.zeros_like(w) for w in ws]
    for i in range(len(Y)):
        g = mlp_gradient(ws, X[i:i + 1], Y[i:i + 1])
        norm = np.sqrt(sum((gi ** 2).sum() for gi in g))
        slow = [s + gi * min(1.0, clip / norm) for s, gi in zip(slow, g)]
    for a, b in zip(fast, slow):
        assert np.allclose(a, b, atol=1e-10)


def test_per_example_losses_average_to_the_loss():
    ws = init_mlp(3, (4,), seed=4)
    assert np.isclose(mlp_loss(ws, X, Y, per_example=True).mean(), mlp_loss(ws, X, Y))


def test_training_overfits_a_small_table_and_dp_training_is_repeatable():
    ws = train_mlp(X, Y, hidden=(32, 32), steps=400, sampling_rate=0.5, lr=1e-2, seed=0)
    assert np.mean((mlp_proba(ws, X) > 0.5) == Y) == 1.0
    a = train_mlp(X, Y, hidden=(8,), steps=20, sampling_rate=0.5, seed=1, clip=1.0, noise_multiplier=1.0)
    b = train_mlp(X, Y, hidden=(8,), steps=20, sampling_rate=0.5, seed=1, clip=1.0, noise_multiplier=1.0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len(_weights(a)) == 4


def test_starting_weights_are_used_and_not_modified():
    start = init_mlp(3, (4,), seed=5)
    copy = [w.copy() for w in start]
    out = train_mlp(X, Y, hidden=(4,), steps=1, sampling_rate=1.0, lr=1e-9, weights=start)
    assert all(np.array_equal(a, b) for a, b in zip(start, copy))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(out, start))
