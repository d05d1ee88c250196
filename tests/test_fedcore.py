"""The NumPy federated core (utils.models, utils.local_training, utils.fedcore, utils.linear) against
independent computations: pooled data, least squares, finite differences, hand-written loops."""
import numpy as np
import pytest
from sklearn.metrics import log_loss

from utils import fedcore as fc
from utils import linear, models
from utils.local_training import Schedule, epoch_batches, local_train, stream_batches


def make_silos(sizes=(30, 50, 20), d=4, seed=0):
    rng = np.random.default_rng(seed)
    true_w = rng.normal(size=d)
    silos = []
    for n in sizes:
        X = rng.normal(size=(n, d)) + rng.normal(size=d)  # each silo shifted: non-IID features
        y = (X @ true_w + rng.normal(size=n) > 0).astype(float)
        silos.append((X, y))
    return silos


@pytest.fixture(scope="module")
def uneven():
    return linear.two_source_regression(n_a=300, n_b=60, heterogeneity=1.0, seed=3).clients


def pooled(clients):
    pairs = clients.values() if isinstance(clients, dict) else clients
    return np.vstack([X for X, _ in pairs]), np.concatenate([y for _, y in pairs])


def lstsq(X, y):
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]


def numeric_grad(f, theta, eps=1e-6):
    return np.array([(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(len(theta))])


# ---- models ------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, grad", [(models.mse_loss, models.mse_grad),
                                        (models.logistic_loss, models.logistic_grad)])
def test_gradients_match_finite_differences(loss, grad):
    rng = np.random.default_rng(0)
    X, y, theta = rng.normal(size=(50, 3)), (rng.random(50) < 0.4).astype(float), rng.normal(size=4)
    assert np.allclose(grad(theta, X, y), numeric_grad(lambda t: loss(t, X, y), theta), atol=1e-6)


def test_logistic_loss_matches_sklearn_and_is_stable():
    (X, y), = make_silos(sizes=(40,))
    w = np.random.default_rng(1).normal(size=X.shape[1] + 1)
    p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
    assert models.logistic_loss(w, X, y) == pytest.approx(log_loss(y, p), rel=1e-10)
    assert models.accuracy(w, X, y) == pytest.approx(np.mean((p > 0.5) == y))
    # z = 400.1 with label 0: the loss is z, no overflow
    assert models.logistic_loss(np.array([0.5, 0.1]), np.array([[800.0]]), np.array([0.0])) == pytest.approx(400.1)


def test_predict_proba_forms_agree():
    X, _ = make_silos(sizes=(10,), d=3)[0]
    w = models.initial_weights(0, 3)
    theta = models.to_theta(w)
    np.testing.assert_allclose(models.predict_proba(theta, X), models.predict_proba(w, X))
    np.testing.assert_array_equal(models.to_theta(models.to_weights(theta, np.float64)), theta)
    hidden = models.initial_weights(0, 3, hidden=5)
    h = np.maximum(X @ hidden[0] + hidden[1], 0)
    np.testing.assert_allclose(models.predict_proba(hidden, X), 1 / (1 + np.exp(-(h @ hidden[2] + hidden[3])[:, 0])))


def test_initial_weights_are_pytorch_uniform_and_seeded():
    w = models.initial_weights(7, 13)
    assert all(np.abs(a).max() <= 1 / np.sqrt(13) for a in w)
    assert models.max_abs_difference(w, models.initial_weights(7, 13)) == 0
    assert models.max_abs_difference(w, models.initial_weights(8, 13)) > 0


def test_predict_proba_shapes_it_accepts_and_refuses():
    X = np.array([[1.0, -2.0], [0.5, 0.0]])
    W1, b1, W2, b2 = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]]), np.array([0.1, -0.2, 0.3]), \
        np.array([[1.0], [-1.0], [2.0]]), np.array([0.25])
    h = np.maximum(X @ W1 + b1, 0)
    expected = 1 / (1 + np.exp(-(h @ W2[:, 0] + b2[0])))
    np.testing.assert_allclose(models.predict_proba([W1, b1, W2, b2], X), expected, rtol=1e-12)
    # biases stored as rows (1, h) and (1, 1) are flattened, not broadcast
    np.testing.assert_allclose(models.predict_proba([W1, b1[None], W2, b2[None]], X), expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"^model's layer shapes do not chain: \(2, 3\), \(4,\), then \(3, 1\)$"):
        models.predict_proba([W1, np.zeros(4), W2, b2], X)
    with pytest.raises(ValueError, match=r"^model's layer shapes do not chain: \(2, 3\), \(3,\), then \(4, 1\)$"):
        models.predict_proba([W1, b1, np.zeros((4, 1)), b2], X)
    with pytest.raises(ValueError, match=r"^model must end in one output, got shape \(2, 2\)$"):
        models.predict_proba([np.zeros((2, 2)), np.zeros(1)], X)
    with pytest.raises(ValueError, match=r"^model must be theta, \[W, b\] \(logistic regression\) or \[W1, b1, W2, b2\] "
                                         r"\(one hidden layer\), got a list of 3 arrays$"):
        models.predict_proba([W1, b1, W2], X)


def test_accuracy_counts_p_one_half_as_class_0():
    X = np.array([[1.0], [2.0]])
    assert models.accuracy(np.zeros(2), X, [0, 0]) == 1.0    # z = 0: p = 0.5 is not > 0.5
    assert models.accuracy(np.zeros(2), X, [1, 0]) == 0.5


def test_to_weights_and_max_abs_difference():
    w = models.to_weights([0.5, -1.0])               # the smallest model: one weight and a bias
    assert [a.tolist() for a in w] == [[[0.5]], [-1.0]] and [a.dtype for a in w] == [np.float32, np.float32]
    assert [a.dtype for a in models.to_weights([0.5, -1.0], np.float64)] == [np.float64, np.float64]
    assert models.max_abs_difference(np.array([1.0, 2.0]), np.array([1.0, 4.5])) == 2.5   # two theta vectors
    assert models.max_abs_difference(np.array([1, 250], np.uint8), np.array([3, 0], np.uint8)) == 250.0   # no wrap-around
    empty = [np.zeros((0, 1)), np.ones(1)]
    assert models.max_abs_difference(empty, [np.zeros((0, 1)), np.ones(1)]) == 0.0
    assert models.max_abs_difference(empty, [np.zeros((0, 1)), np.full(1, 3.0)]) == 2.0


# ---- batches and local training -----------------------------------------------------------------

def test_epoch_batches_keep_order_and_short_last_batch():
    assert [b.tolist() for b in epoch_batches(5, 2, 2)] == [[0, 1], [2, 3], [4], [0, 1], [2, 3], [4]]
    shuffled = epoch_batches(5, 2, 2, np.random.default_rng(0))
    assert sorted(np.concatenate(shuffled[:3]).tolist()) == list(range(5))


def test_stream_batches_match_tf_data_order():
    import tensorflow as tf

    expected = [b.numpy().tolist() for b in tf.data.Dataset.range(7).repeat().batch(3).take(5)]
    assert [b.tolist() for b in stream_batches(7, 3, 5)] == expected


def test_schedule_counts_steps_and_examples():
    assert Schedule(steps=3, batch_size=4).examples(10) == 12 and Schedule(steps=3).examples(10) == 30
    assert Schedule(epochs=2).examples(10) == 20 and Schedule(epochs=2, batch_size=4).examples(10) == 20
    assert Schedule(epochs=2, batch_size=4).num_steps(10) == 6 and Schedule(steps=5, batch_size=4).num_steps(10) == 5
    assert Schedule(epochs=3).num_steps(10) == 3
    assert Schedule(epochs=1).num_steps(1) == 1 and Schedule(epochs=1).examples(1) == 1            # the smallest client
    assert Schedule(epochs=1).num_steps(10_000_000) == 1 and Schedule(epochs=1).examples(10_000_000) == 10_000_000
    for n in (0, 10_000_001):
        for count in (Schedule(epochs=1).num_steps, Schedule(epochs=1).examples):
            with pytest.raises(ValueError, match=rf"^n must be [<>]= (1|10000000), got {n}$"):
                count(n)


def test_schedule_batches():
    assert [b.tolist() for b in Schedule(batch_size=2, epochs=1).batches(5)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in Schedule(batch_size=1, steps=2).batches(5)] == [[0], [1]]
    shuffled = Schedule(batch_size=2, epochs=2, shuffle=True).batches(5, np.random.default_rng(4))
    expected = epoch_batches(5, 2, 2, np.random.default_rng(4))
    assert [b.tolist() for b in shuffled] == [b.tolist() for b in expected] != [[0, 1], [2, 3], [4]] * 2
    unshuffled = Schedule(batch_size=2, epochs=1).batches(5, np.random.default_rng(4))   # shuffle=False ignores rng
    assert [b.tolist() for b in unshuffled] == [[0, 1], [2, 3], [4]]


def test_local_sgd_is_minibatch_sgd_in_order():
    (X, y), = make_silos(sizes=(10,))
    manual = np.zeros(X.shape[1] + 1)
    for _ in range(2):
        for i in range(0, 10, 4):
            p = 1 / (1 + np.exp(-(X[i:i + 4] @ manual[:-1] + manual[-1])))
            manual = manual - 0.3 * np.append(X[i:i + 4].T @ (p - y[i:i + 4]), (p - y[i:i + 4]).sum()) / len(p)
    got = local_train(np.zeros(5), X, y, epoch_batches(10, 4, 2), lr=0.3)
    np.testing.assert_allclose(got, manual, atol=1e-12)


def test_adam_training_matches_keras():
    import tensorflow as tf

    (X, y), = make_silos(sizes=(20,), d=13, seed=3)
    w0 = models.initial_weights(3)
    model = tf.keras.Sequential([tf.keras.Input(shape=(13,)), tf.keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights(w0)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01, epsilon=1e-8), loss=tf.keras.losses.BinaryCrossentropy())
    model.fit(X.astype(np.float32), y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    ours = local_train(models.to_theta(w0), X, y, epoch_batches(20, 4, 2), optimizer="adam", lr=0.01)
    np.testing.assert_allclose(ours, models.to_theta(model.get_weights()), atol=1e-5)


def test_proximal_term_pulls_towards_the_anchor():
    (X, y), = make_silos(sizes=(30,))
    start = np.zeros(5)
    free = local_train(start, X, y, epoch_batches(30, 5, 4), lr=0.5)
    held = local_train(start, X, y, epoch_batches(30, 5, 4), lr=0.5, mu=1.0)
    pushed = local_train(start, X, y, epoch_batches(30, 5, 4), lr=0.5, mu=-1.0)
    assert np.linalg.norm(held) < np.linalg.norm(free) < np.linalg.norm(pushed)


# ---- weights, objective, FedSGD --------------------------------------------------------------------

def test_client_weights_and_weighted_average():
    assert np.allclose(fc.client_weights([300, 600, 100]), [0.3, 0.6, 0.1])
    V = np.random.default_rng(2).normal(size=(3, 5))
    np.testing.assert_allclose(fc.weighted_average(V, [1, 2, 7]), np.average(V, axis=0, weights=[1, 2, 7]))


def test_federated_objective_equals_pooled_loss(uneven):
    X, y = pooled(uneven)
    theta = np.array([0.4, -1.3])
    assert fc.federated_objective(theta, uneven, "mse") == pytest.approx(models.mse_loss(theta, X, y), abs=1e-12)
    assert fc.federated_objective(theta, list(uneven.values()), "mse") == pytest.approx(models.mse_loss(theta, X, y))


def test_fedsgd_step_is_one_centralised_step(uneven):
    X, y = pooled(uneven)
    theta = np.array([0.4, -1.3])
    np.testing.assert_allclose(fc.fedsgd_step(theta, uneven, 0.07, "mse"), theta - 0.07 * models.mse_grad(theta, X, y),
                               atol=1e-12)


def test_fedavg_with_one_local_step_is_fedsgd(uneven):
    theta = np.array([2.0, 0.5])
    np.testing.assert_allclose(fc.fedavg_round(theta, uneven, 0.1, 1, "mse"), fc.fedsgd_step(theta, uneven, 0.1, "mse"),
                               atol=1e-12)


def test_fedavg_round_is_weighted_average_of_brute_force_local_models(uneven):
    local = {}
    for name, (X, y) in uneven.items():
        t, X1 = np.zeros(2), np.column_stack([X, np.ones(len(X))])
        for _ in range(7):
            t = t - 0.05 * 2 / len(y) * X1.T @ (X1 @ t - y)
        local[name] = t
    n = {k: len(y) for k, (_, y) in uneven.items()}
    expected = sum(n[k] / sum(n.values()) * local[k] for k in uneven)
    np.testing.assert_allclose(fc.fedavg_round(np.zeros(2), uneven, 0.05, 7, "mse"), expected, atol=1e-12)
    half = fc.fedavg_round(np.zeros(2), uneven, 0.05, 7, "mse", server_lr=0.5)
    np.testing.assert_allclose(half, 0.5 * expected, atol=1e-12)


# ---- whole runs ----------------------------------------------------------------------------------------

def test_run_fedavg_with_one_full_batch_step_is_centralised_gradient_descent():
    train, test = make_silos(), make_silos(seed=3)
    h = fc.run_fedavg(train, 5, lr=0.5, schedule=Schedule(steps=1), test=test, keep_clients=True)
    X, y = pooled(train)
    w = np.zeros(X.shape[1] + 1)
    for r in range(5):
        p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
        w = w - 0.5 * np.append(X.T @ (p - y), (p - y).sum()) / len(y)
        np.testing.assert_allclose(h.server[r + 1], w, atol=1e-12)
    assert h.server.shape == (6, 5) and h.clients.shape == (5, 3, 5) and h.client_accuracy.shape == (6, 3)
    np.testing.assert_array_equal(h.sizes, [30, 50, 20])


def test_evaluate_equals_pooled_evaluation():
    silos = make_silos()
    w = np.random.default_rng(4).normal(size=5)
    X, y = pooled(silos)
    ev = fc.evaluate(w, silos)
    assert ev["accuracy"] == pytest.approx(models.accuracy(w, X, y))
    assert ev["loss"] == pytest.approx(models.logistic_loss(w, X, y))
    np.testing.assert_allclose(ev["client_accuracy"], [models.accuracy(w, a, b) for a, b in silos])


def test_weighting_choices():
    silos = make_silos(sizes=(8, 24))
    sched = Schedule(batch_size=4, steps=3)
    a, b = (local_train(np.zeros(5), X, y, stream_batches(len(y), 4, 3), lr=0.2) for X, y in silos)
    by_size = fc.run_fedavg(silos, 1, lr=0.2, schedule=sched).final
    np.testing.assert_allclose(by_size, 0.25 * a + 0.75 * b, atol=1e-12)
    for weighting in ("examples", "uniform", [1, 1]):   # 3 steps × 4 rows each: equal
        np.testing.assert_allclose(fc.run_fedavg(silos, 1, lr=0.2, schedule=sched, weighting=weighting).final,
                                   0.5 * a + 0.5 * b, atol=1e-12)


def test_server_adam_matches_the_formula_with_and_without_bias_correction():
    silos = make_silos()
    for bias in (True, False):
        opt = fc.ServerOptimizer("adam", lr=0.05, bias_correction=bias)
        h = fc.run_fedavg(silos, 3, lr=0.1, schedule=Schedule(steps=2), server=opt)
        theta, m, s = np.zeros(5), np.zeros(5), np.zeros(5)
        for t in range(1, 4):
            delta = fc.fedavg_round(theta, silos, 0.1, 2) - theta     # the weighted mean update
            g = -delta
            m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
            lr = 0.05 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) if bias else 0.05
            theta = theta - lr * m / (np.sqrt(s) + 1e-8)
            np.testing.assert_allclose(h.server[t], theta, atol=1e-12)


def test_server_yogi_moves_v_towards_g_squared():
    opt = fc.ServerOptimizer("yogi", lr=0.1, initial_v=1e-6)
    state = opt.init(2)
    opt.apply(np.zeros(2), np.array([1.0, -2.0]), state)
    np.testing.assert_allclose(state["v"], 1e-6 + 0.001 * np.array([1.0, 4.0]))


def test_custom_aggregate_is_used():
    silos = make_silos()
    median = fc.run_fedavg(silos, 2, lr=0.1, aggregate=lambda u, s: np.median(u, axis=0))
    mean = fc.run_fedavg(silos, 2, lr=0.1)
    assert not np.allclose(median.final, mean.final)


def test_shuffling_is_seeded():
    silos = make_silos()
    shuffled = Schedule(batch_size=4, steps=5, shuffle=True)
    a = fc.run_fedavg(silos, 2, lr=0.1, schedule=shuffled, seed=1).final
    np.testing.assert_array_equal(a, fc.run_fedavg(silos, 2, lr=0.1, schedule=shuffled, seed=1).final)
    assert not np.allclose(a, fc.run_fedavg(silos, 2, lr=0.1, schedule=shuffled, seed=2).final)


def test_divergence_is_marked_with_nan(uneven):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # overflow and inf − inf on the way are expected: no warnings
        h = fc.run_fedavg(uneven, 400, lr=5.0, model="mse", schedule=Schedule(steps=1))
    path = h.server
    assert path.shape == (401, 2) and np.isnan(path[-1]).all() and np.isfinite(path[0]).all()
    assert h.diverged is True and h.interrupted is False


def test_interrupt_returns_the_finished_rounds(monkeypatch, capsys):
    from utils import fedcore

    calls = {"n": 0}
    real = fedcore._train

    def train_then_interrupt(*args):
        calls["n"] += 1
        if calls["n"] == 7:   # third client of round 3
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(fedcore, "_train", train_then_interrupt)
    h = fc.run_fedavg(make_silos(), 10, lr=0.1)
    assert h.interrupted and h.rounds == 2 and not h.diverged
    assert capsys.readouterr().out == "Interrupted: returning the 2 finished round(s).\n"


def test_federated_mean_std_equals_pooled():
    parts = [X for X, _ in make_silos()]
    for ddof in (0, 1):
        mean, std = fc.federated_mean_std(parts, ddof=ddof)
        np.testing.assert_allclose(mean, np.vstack(parts).mean(axis=0), atol=1e-12)
        np.testing.assert_allclose(std, np.vstack(parts).std(axis=0, ddof=ddof), atol=1e-10)


def test_sample_clients_is_repeatable_and_distinct():
    ids = ["cleveland", "hungarian", "switzerland", "va"]
    a = fc.sample_clients(ids, 2, seed=3)
    assert a == fc.sample_clients(ids, 2, seed=3) and len(set(a)) == 2 and set(a) <= set(ids)
    assert len({tuple(fc.sample_clients(ids, 2, seed=s)) for s in range(30)}) > 1


# ---- linear regression, exactly ------------------------------------------------------------------------

def test_fedsgd_converges_to_pooled_least_squares(uneven):
    path = fc.run_fedavg(uneven, 300, lr=0.1, model="mse", schedule=Schedule(steps=1)).server
    np.testing.assert_allclose(path[-1], lstsq(*pooled(uneven)), atol=1e-8)
    np.testing.assert_allclose(linear.linear_optimum(uneven), lstsq(*pooled(uneven)), atol=1e-10)


def test_fixed_point_matches_long_run_and_drifts(uneven):
    for E in [1, 4, 15]:
        path = fc.run_fedavg(uneven, 400, lr=0.1, model="mse", schedule=Schedule(steps=E)).server
        np.testing.assert_allclose(path[-1], linear.linear_fedavg_fixed_point(uneven, 0.1, E), atol=1e-8)
    optimum = linear.linear_optimum(uneven)
    np.testing.assert_allclose(linear.linear_fedavg_fixed_point(uneven, 0.1, 1), optimum, atol=1e-10)
    assert np.linalg.norm(linear.linear_fedavg_fixed_point(uneven, 0.1, 15) - optimum) > 0.1


def test_two_source_regression_shapes_and_heterogeneity():
    same = linear.two_source_regression(n_a=50, n_b=70, heterogeneity=0.0, seed=1)
    assert same.clients["A"][0].shape == (50, 1) and same.clients["B"][1].shape == (70,)
    assert np.allclose(same.true_theta["A"], same.true_theta["B"])
    far = linear.two_source_regression(heterogeneity=1.5)
    assert far.clients["A"][0].mean() < -1 < 1 < far.clients["B"][0].mean()
    np.testing.assert_array_equal(far.clients["A"][1], linear.two_source_regression(heterogeneity=1.5).clients["A"][1])


def test_animation_has_a_frame_per_stage():
    from utils.animation import animate_rounds, round_plane

    h = fc.run_fedavg(make_silos(), 3, lr=0.1, test=make_silos(seed=5), keep_clients=True)
    fig = animate_rounds(h, names=["a", "b", "c"])
    assert len(fig.frames) == 12 and len(fig.layout.sliders[0].steps) == 12
    assert all(len(f.data) == len(fig.data) == 6 for f in fig.frames)
    S, C = round_plane(h)
    star = fig.frames[4 * 1 + 2].data[3]   # aggregation frame of round 2: the star is server[2]
    np.testing.assert_allclose([star.x[0], star.y[0]], S[2], atol=1e-12)
    np.testing.assert_allclose(S[-1], [np.linalg.norm(h.server[-1] - h.server[0]), 0], atol=1e-12)
    np.testing.assert_allclose(fc.weighted_average(C[0], h.sizes), S[1], atol=1e-12)
    np.testing.assert_allclose(fig.frames[-1].data[4].y, h.accuracy)


# ---- exact behaviour: defaults, boundaries, what a run returns ---------------------------------------------

X5 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]])
Y5 = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
TWO = {"a": (X5, Y5), "b": (X5[:3], Y5[:3])}


def test_client_weights_and_weighted_average_edges():
    np.testing.assert_allclose(fc.client_weights([1, 3]), [0.25, 0.75])        # a client of one row
    np.testing.assert_allclose(fc.weighted_average([1.0, 3.0], [1, 3]), 2.5)    # K numbers: a weighted mean
    np.testing.assert_allclose(fc.weighted_average([[1.0, 2.0]], [5]), [1.0, 2.0])   # one client
    V = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(fc.weighted_average(V, [0, 1]), [3.0, 6.0])      # a zero weight leaves a client out
    np.testing.assert_allclose(fc.weighted_average(V, [0.25, 0.5]), [7 / 3, 14 / 3])   # total below 1
    for bad, message in [(1.0, "vectors must hold at least one vector, got shape ()"),
                         (np.zeros((0, 2)), "vectors must hold at least one vector, got shape (0, 2)")]:
        with pytest.raises(ValueError) as err:
            fc.weighted_average(bad, [1])
        assert str(err.value) == message


def test_defaults_of_the_core_functions():
    theta = np.array([0.3, -0.2, 0.1])
    assert fc.federated_objective(theta, TWO) == fc.federated_objective(theta, TWO, "logistic")
    np.testing.assert_array_equal(fc.federated_gradient(theta, TWO), fc.federated_gradient(theta, TWO, "logistic"))
    np.testing.assert_array_equal(fc.fedsgd_step(theta, TWO, 0.1), fc.fedsgd_step(theta, TWO, 0.1, "logistic"))
    np.testing.assert_array_equal(fc.fedavg_round(theta, TWO, 0.1), fc.fedavg_round(theta, TWO, 0.1, local_steps=1))
    np.testing.assert_array_equal(fc.fedavg_round(theta, TWO, 0.1), fc.fedsgd_step(theta, TWO, 0.1))
    a = fc.run_fedavg(TWO, 2, lr=0.1, schedule=Schedule(batch_size=2, steps=3, shuffle=True))
    np.testing.assert_array_equal(a.server, fc.run_fedavg(TWO, 2, lr=0.1, seed=0,
                                                          schedule=Schedule(batch_size=2, steps=3, shuffle=True)).server)
    assert a.clients is None and a.loss is None and a.accuracy is None and a.client_loss is None \
        and a.client_accuracy is None and a.interrupted is False and a.diverged is False
    assert fc.sample_clients(list("abcdef"), 3) == fc.sample_clients(list("abcdef"), 3, seed=0)
    parts = [X5, X5[:2] * 3]
    for got, want in zip(fc.federated_mean_std(parts), fc.federated_mean_std(parts, ddof=0)):
        np.testing.assert_array_equal(got, want)


def test_one_client_federation():
    theta = np.array([0.3, -0.2, 0.1])
    assert fc.federated_objective(theta, [(X5, Y5)]) == pytest.approx(models.logistic_loss(theta, X5, Y5), rel=1e-15)
    h = fc.run_fedavg([(X5, Y5)], 1, lr=0.1, theta0=theta)
    np.testing.assert_allclose(h.final, theta - 0.1 * models.logistic_grad(theta, X5, Y5), rtol=1e-15)
    assert fc.run_fedavg([(X5, Y5)], 0, lr=0.1).server.tolist() == [[0.0, 0.0, 0.0]]   # zero rounds: the start


def test_evaluate_thresholds_and_mse_has_no_accuracy():
    ev = fc.evaluate(np.zeros(3), {"a": (X5, np.zeros(5)), "b": (X5[:2], np.ones(2))})   # every z = 0: p = 0.5
    assert ev["accuracy"] == pytest.approx(5 / 7) and ev["client_accuracy"].tolist() == [1.0, 0.0]
    ev = fc.evaluate(np.array([1.0, 0.0, 0.0]), TWO, "mse")
    assert ev["loss"] == pytest.approx(models.mse_loss([1.0, 0.0, 0.0], np.vstack([X5, X5[:3]]),
                                                       np.concatenate([Y5, Y5[:3]])))
    assert np.isnan(ev["accuracy"]) and ev["client_accuracy"].shape == (2,) and np.isnan(ev["client_accuracy"]).all()


def test_server_optimizer_state_and_sgd_without_state():
    opt = fc.ServerOptimizer("adam", initial_v=0.5)
    state = opt.init(1)
    assert state["t"] == 0 and state["m"].tolist() == [0.0] and state["v"].tolist() == [0.5]
    state = opt.init(3)
    assert state["m"].tolist() == [0.0] * 3 and state["v"].tolist() == [0.5] * 3
    sgd = fc.ServerOptimizer("sgd", lr=0.5)
    np.testing.assert_array_equal(sgd.apply(np.array([1.0, 2.0]), np.array([2.0, -4.0]), {}), [2.0, 0.0])
    fc.ServerOptimizer(beta1=0.0, beta2=0.0)   # both betas may be 0


def test_server_yogi_step_by_hand():
    """v ← v − (1−β2) sign(v − g²) g², including sign 0 (v unchanged), then the bias-corrected step."""
    opt = fc.ServerOptimizer("yogi", lr=0.1, initial_v=4.0)
    state = opt.init(3)
    delta = np.array([2.0, -1.0, 3.0])                     # g = −Δ, g² = 4, 1, 9
    theta = opt.apply(np.zeros(3), delta, state)
    np.testing.assert_allclose(state["v"], [4.0, 4.0 - 0.001, 4.0 + 0.009], rtol=1e-15)
    m = 0.1 * -delta
    lr = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(theta, -lr * m / (np.sqrt(state["v"]) + 1e-8), rtol=1e-12)
    assert state["t"] == 1


def test_history_weights():
    h = fc.run_fedavg(TWO, 2, lr=0.1)
    for r, row in [(0, 0), (1, 1), (2, 2), (-1, 2), (-3, 0)]:
        w = h.weights(r)
        assert [a.shape for a in w] == [(2, 1), (1,)]
        np.testing.assert_array_equal(np.append(w[0][:, 0], w[1]), h.server[row])
    assert not np.array_equal(h.weights(1)[0], h.weights(0)[0])
    np.testing.assert_array_equal(h.weights()[0], h.weights(2)[0])
    custom = fc.FedHistory(server=np.arange(18.0).reshape(2, 9), names=["a"], sizes=np.array([1]),
                           shares=np.array([1.0]), shapes=((2, 2), (2,), (2, 1), (1,)))   # a hidden layer of 2
    assert [a.tolist() for a in custom.weights(1)] == [[[9.0, 10.0], [11.0, 12.0]], [13.0, 14.0], [[15.0], [16.0]], [17.0]]


def test_weighting_by_numbers():
    sched = Schedule(steps=2)
    a, b = (local_train(np.zeros(3), X, y, [np.arange(len(y))] * 2, lr=0.2) for X, y in TWO.values())
    only_b = fc.run_fedavg(TWO, 1, lr=0.2, schedule=sched, weighting=[0, 1])
    np.testing.assert_allclose(only_b.final, b, rtol=1e-14)
    small = fc.run_fedavg(TWO, 1, lr=0.2, schedule=sched, weighting=[0.25, 0.5])
    np.testing.assert_allclose(small.shares, [1 / 3, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(small.final, (a + 2 * b) / 3, rtol=1e-14)
    h = fc.run_fedavg(TWO, 1, lr=0.2, schedule=sched)
    assert h.names == ["a", "b"] and h.sizes.tolist() == [5, 3]
    np.testing.assert_allclose(h.shares, [5 / 8, 3 / 8], rtol=1e-15)


def test_local_optimiser_and_proximal_term_reach_every_client():
    theta0 = np.array([0.5, -0.5, 0.2])
    for kwargs in ({"optimizer": "adam"}, {"mu": 0.7}, {"optimizer": "adam", "mu": 0.7}):
        h = fc.run_fedavg(TWO, 1, lr=0.05, theta0=theta0, schedule=Schedule(batch_size=2, epochs=2), **kwargs)
        local = [local_train(theta0, X, y, epoch_batches(len(y), 2, 2), lr=0.05, **kwargs) for X, y in TWO.values()]
        np.testing.assert_allclose(h.final, 5 / 8 * local[0] + 3 / 8 * local[1], rtol=1e-13)


def test_aggregate_result_is_used_in_float64():
    """A custom aggregate may answer in float32: the server step is still taken in float64."""
    def mean32(updates, shares):
        return (shares @ updates).astype(np.float32)

    theta0 = np.array([0.1, 0.2, 0.3])
    h = fc.run_fedavg(TWO, 1, lr=0.1, theta0=theta0, aggregate=mean32, server=fc.ServerOptimizer("sgd", lr=0.3))
    delta = mean32(np.array([local_train(theta0, X, y, [np.arange(len(y))], lr=0.1) - theta0 for X, y in TWO.values()]),
                   np.array([5 / 8, 3 / 8]))
    np.testing.assert_array_equal(h.final, theta0 + 0.3 * delta.astype(np.float64))


def test_test_clients_are_scored_with_the_run_model():
    h = fc.run_fedavg(TWO, 2, lr=0.1, model="mse", test=TWO)
    for r in range(3):
        assert h.loss[r] == pytest.approx(fc.evaluate(h.server[r], TWO, "mse")["loss"], rel=1e-15)
        np.testing.assert_array_equal(h.client_loss[r], fc.evaluate(h.server[r], TWO, "mse")["client_loss"])
    assert np.isnan(h.accuracy).all() and h.client_accuracy.shape == (3, 2)


def test_run_limits(monkeypatch):
    from utils import validate as v

    monkeypatch.setattr(v, "MAX_STEPS", 10)
    assert fc.run_fedavg(TWO, 5, lr=0.1).rounds == 5                 # 5 rounds × 2 clients × 1 step = 10
    with pytest.raises(ValueError) as err:
        fc.run_fedavg(TWO, 6, lr=0.1)
    assert str(err.value) == ("run_fedavg would need 12 local steps, more than the course's limit of 10; "
                              "use fewer rounds, steps or clients")
    monkeypatch.setattr(v, "MAX_FLOATS_KEPT", 18)
    assert fc.run_fedavg(TWO, 3, lr=0.1, keep_clients=True).clients.shape == (3, 2, 3)   # 3 × 2 × 3 = 18
    with pytest.raises(ValueError) as err:
        fc.run_fedavg(TWO, 4, lr=0.1, keep_clients=True)
    assert str(err.value) == ("keep_clients would need 24 numbers kept, more than the course's limit of 18; "
                              "use fewer rounds, steps or clients")


def test_progress_bar_counts_rounds_and_disappears(monkeypatch):
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, **kwargs):
            self.kwargs, self.updates, self.closed = kwargs, [], False
            bars.append(self)

        def update(self, n):
            self.updates.append(n)

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    fc.run_fedavg(TWO, 3, lr=0.1)
    assert bars == []
    fc.run_fedavg(TWO, 3, lr=0.1, progress=True)
    (bar,) = bars
    assert bar.kwargs == {"total": 3, "desc": "rounds", "leave": False} and bar.updates == [1, 1, 1] and bar.closed


def test_federated_mean_std_small_variance_and_refusals():
    parts = [np.array([[0.1], [0.2]]), np.array([[0.4]])]
    for ddof in (0, 1):
        mean, std = fc.federated_mean_std(parts, ddof)
        np.testing.assert_allclose(std, [np.std([0.1, 0.2, 0.4], ddof=ddof)], rtol=1e-9)
    for call, message in [
        (lambda: fc.federated_mean_std([]), "parts is empty: give one 2-D array per client"),
        (lambda: fc.federated_mean_std([X5, np.ones((2, 3))]), "parts disagree on the number of columns: [(5, 2), (2, 3)]"),
        (lambda: fc.federated_mean_std([X5[:1]], ddof=1), "1 row(s) in all: too few for ddof=1"),
    ]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
    assert fc.federated_mean_std([X5[:1]])[1].tolist() == [0.0, 0.0]   # one row, ddof=0: std 0
    np.testing.assert_allclose(fc.federated_mean_std([X5[:2]], ddof=1)[1], [np.sqrt(0.5)] * 2)   # n = ddof + 1


def test_sample_clients_without_replacement():
    for seed in range(20):
        assert fc.sample_clients(range(5), 5, seed=seed) == [0, 1, 2, 3, 4]
        chosen = fc.sample_clients(list("abcdefgh"), 6, seed=seed)
        assert len(set(chosen)) == 6 and chosen == sorted(chosen)


def test_test_clients_labels_are_checked_with_the_other_arguments():
    """A logistic run refuses test labels that are not 0/1 up front, before the step budget is even looked at."""
    with pytest.raises(ValueError, match=r"^y of client 'a' .*0 or 1"):
        fc.run_fedavg(TWO, 10**9, lr=0.1, test={"a": (X5, Y5 * 2)})
    with pytest.raises(ValueError, match="local steps"):
        fc.run_fedavg(TWO, 10**9, lr=0.1, test={"a": (X5, Y5)})


def test_divergence_within_local_steps_is_silent():
    """Several local steps at a huge rate: the client's own steps reach inf − inf (NaN) before the server sees
    them; the run stops, marks the divergence and warns about nothing."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = fc.run_fedavg(TWO, 200, lr=50.0, model="mse", schedule=Schedule(steps=3))
    assert h.diverged and np.isnan(h.server[-1]).all() and h.server.shape == (201, 3)


def test_stream_batches_limits_and_their_messages():
    """A single row is a valid client; the row, step and row-visit limits are refused by name."""
    assert [b.tolist() for b in stream_batches(1, 1, 3)] == [[0], [0], [0]]
    with pytest.raises(ValueError, match=r"^n must be <= 10000000, got 10000001"):
        stream_batches(10_000_001, 1, 1)
    with pytest.raises(ValueError, match=r"^steps must be >= 1, got 0"):
        stream_batches(5, 1, 0)
    with pytest.raises(ValueError, match=r"^steps must be <= 50000000"):
        stream_batches(5, 1, 50_000_001)
    with pytest.raises(ValueError, match=r"^stream_batches would need 50,050,000 row visits, more than"):
        stream_batches(10, 1001, 50_000)
