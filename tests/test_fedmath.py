"""utils.fedmath against independent computations (pooled data, lstsq, finite differences, brute force)."""
import numpy as np
import pytest

from utils import fedmath as fm


@pytest.fixture(scope="module")
def uneven():
    return fm.two_source_regression(n_a=300, n_b=60, heterogeneity=1.0, seed=3).clients


def pooled(clients):
    return (np.vstack([X for X, _ in clients.values()]), np.concatenate([y for _, y in clients.values()]))


def lstsq(X, y):
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]


def numeric_grad(f, theta, eps=1e-6):
    return np.array([(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(len(theta))])


def test_client_weights_sum_to_one():
    assert np.allclose(fm.client_weights([300, 600, 100]), [0.3, 0.6, 0.1])


@pytest.mark.parametrize("loss, grad", [(fm.mse_loss, fm.mse_grad), (fm.logistic_loss, fm.logistic_grad)])
def test_gradients_match_finite_differences(loss, grad):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.4).astype(float)
    theta = rng.normal(size=4)
    assert np.allclose(grad(theta, X, y), numeric_grad(lambda t: loss(t, X, y), theta), atol=1e-6)


def test_logistic_loss_is_stable_and_matches_definition():
    X = np.array([[1.0], [-2.0], [800.0]])
    y = np.array([1.0, 0.0, 0.0])
    theta = np.array([0.5, 0.1])
    z = X[:, 0] * 0.5 + 0.1
    p = 1 / (1 + np.exp(-z[:2]))
    expected_first_two = -(np.log(p[0]) + np.log(1 - p[1]))
    # third example: z = 400.1, label 0 -> loss = z (no overflow)
    assert np.isclose(fm.logistic_loss(theta, X, y) * 3, expected_first_two + 400.1)
    assert np.isfinite(fm.logistic_grad(theta, X, y)).all()


def test_federated_objective_equals_pooled_loss(uneven):
    X, y = pooled(uneven)
    theta = np.array([0.4, -1.3])
    assert np.isclose(fm.federated_objective(theta, uneven), fm.mse_loss(theta, X, y), rtol=0, atol=1e-12)
    # a list of clients works as well as a dict
    assert np.isclose(fm.federated_objective(theta, list(uneven.values())), fm.mse_loss(theta, X, y))


def test_fedsgd_step_is_one_centralised_step(uneven):
    X, y = pooled(uneven)
    theta = np.array([0.4, -1.3])
    assert np.allclose(fm.fedsgd_step(theta, uneven, fm.mse_grad, lr=0.07),
                       theta - 0.07 * fm.mse_grad(theta, X, y), rtol=0, atol=1e-12)


def test_fedavg_with_one_local_step_is_fedsgd(uneven):
    theta = np.array([2.0, 0.5])
    assert np.allclose(fm.fedavg_round(theta, uneven, fm.mse_grad, lr=0.1, local_steps=1),
                       fm.fedsgd_step(theta, uneven, fm.mse_grad, lr=0.1), atol=1e-12)


def test_fedavg_round_is_weighted_average_of_brute_force_local_models(uneven):
    theta = np.array([0.0, 0.0])
    local = {}
    for name, (X, y) in uneven.items():
        t = theta.copy()
        for _ in range(7):  # written out independently: plain gradient steps on the client's normal equations
            X1 = np.column_stack([X, np.ones(len(X))])
            t = t - 0.05 * 2 / len(y) * X1.T @ (X1 @ t - y)
        local[name] = t
    n = {k: len(y) for k, (_, y) in uneven.items()}
    expected = sum(n[k] / sum(n.values()) * local[k] for k in uneven)
    assert np.allclose(fm.fedavg_round(theta, uneven, fm.mse_grad, lr=0.05, local_steps=7), expected, atol=1e-12)
    # server learning rate 0.5 goes half way
    half = fm.fedavg_round(theta, uneven, fm.mse_grad, lr=0.05, local_steps=7, server_lr=0.5)
    assert np.allclose(half, theta + 0.5 * (expected - theta), atol=1e-12)


def test_minibatch_local_update_walks_batches_in_order():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
    theta = np.zeros(3)
    expected = theta.copy()
    for step in range(5):  # batches of 4 rows: [0:4], [4:8], [8:10], then wrap around
        start = [0, 4, 8, 0, 4][step]
        Xb, yb = X[start:start + 4], y[start:start + 4]
        expected = expected - 0.1 * fm.mse_grad(expected, Xb, yb)
    got = fm.local_update(theta, X, y, fm.mse_grad, lr=0.1, local_steps=5, batch_size=4)
    assert np.allclose(got, expected, atol=1e-12)


def test_fedsgd_converges_to_pooled_least_squares(uneven):
    path = fm.run_rounds(np.zeros(2), uneven, fm.mse_grad, lr=0.1, rounds=300)
    assert path.shape == (301, 2)
    assert np.allclose(path[-1], lstsq(*pooled(uneven)), atol=1e-8)
    assert np.allclose(fm.linear_optimum(uneven), lstsq(*pooled(uneven)), atol=1e-10)


def test_fixed_point_matches_long_run_and_drifts(uneven):
    for E in [1, 4, 15]:
        path = fm.run_rounds(np.zeros(2), uneven, fm.mse_grad, lr=0.1, rounds=400, local_steps=E)
        assert np.allclose(path[-1], fm.linear_fedavg_fixed_point(uneven, 0.1, E), atol=1e-8)
    optimum = fm.linear_optimum(uneven)
    assert np.allclose(fm.linear_fedavg_fixed_point(uneven, 0.1, 1), optimum, atol=1e-10)
    assert np.linalg.norm(fm.linear_fedavg_fixed_point(uneven, 0.1, 15) - optimum) > 0.1


def test_run_rounds_marks_divergence_with_nan(uneven):
    path = fm.run_rounds(np.zeros(2), uneven, fm.mse_grad, lr=5.0, rounds=400)
    assert np.isnan(path[-1]).all() and np.isfinite(path[0]).all()


def test_two_source_regression_shapes_and_heterogeneity():
    same = fm.two_source_regression(n_a=50, n_b=70, heterogeneity=0.0, seed=1)
    assert same.clients["A"][0].shape == (50, 1) and same.clients["B"][1].shape == (70,)
    assert np.allclose(same.true_theta["A"], same.true_theta["B"])
    far = fm.two_source_regression(heterogeneity=1.5)
    assert far.clients["A"][0].mean() < -1 < 1 < far.clients["B"][0].mean()
    again = fm.two_source_regression(heterogeneity=1.5)
    assert np.array_equal(far.clients["A"][1], again.clients["A"][1])  # seeded


@pytest.mark.parametrize("call, needle", [
    (lambda c: fm.fedsgd_step(np.zeros(2), c, lr=0), "lr"),
    (lambda c: fm.fedsgd_step(np.zeros(2), c, lr=float("nan")), "lr"),
    (lambda c: fm.fedavg_round(np.zeros(2), c, local_steps=0), "local_steps"),
    (lambda c: fm.fedavg_round(np.zeros(2), c, local_steps=2.5), "local_steps"),
    (lambda c: fm.fedavg_round(np.zeros(2), c, batch_size=0), "batch_size"),
    (lambda c: fm.fedavg_round(np.zeros(2), c, server_lr=-1), "server_lr"),
    (lambda c: fm.fedsgd_step(np.zeros(3), c), "theta"),
    (lambda c: fm.fedsgd_step(np.zeros(2), {}), "empty"),
    (lambda c: fm.fedsgd_step(np.zeros(2), "clients"), "clients"),
    (lambda c: fm.fedsgd_step(np.zeros(2), {"A": (np.zeros((3, 1)), np.zeros(2))}), "rows"),
    (lambda c: fm.fedsgd_step(np.zeros(2), {"A": (np.zeros(3), np.zeros(3))}), "2-dimensional"),
    (lambda c: fm.fedsgd_step(np.zeros(2), {"A": (np.full((3, 1), np.nan), np.zeros(3))}), "finite"),
    (lambda c: fm.federated_objective(np.zeros(2), c, loss_fn="mse"), "loss_fn"),
    (lambda c: fm.run_rounds(np.zeros(2), c, rounds=-1), "rounds"),
    (lambda c: fm.client_weights([10, 0]), "positive"),
    (lambda c: fm.logistic_loss(np.zeros(2), np.zeros((2, 1)), np.array([0.0, 2.0])), "0 or 1"),
    (lambda c: fm.two_source_regression(heterogeneity=-1), "heterogeneity"),
    (lambda c: fm.two_source_regression(n_a=0), "n_a"),
    (lambda c: fm.linear_fedavg_fixed_point(c, lr=0.1, local_steps=0), "local_steps"),
])
def test_bad_input_raises_value_error_naming_it(uneven, call, needle):
    with pytest.raises(ValueError, match=needle):
        call(uneven)
