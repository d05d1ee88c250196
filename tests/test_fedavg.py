"""utils.fedavg: the from-scratch FedAvg against hand computations, plain NumPy, and TFF itself."""
import numpy as np
import pytest

from utils import fedavg

BATCH, CLIENT_LR, SERVER_LR, ROUNDS = 32, 0.1, 1.0, 5


@pytest.fixture(scope="module")
def clients():
    from utils.data import load_heart_disease

    split = load_heart_disease()
    return {h: split.train[h] for h in split.hospitals}


def numpy_fedavg(clients, rounds, batch, client_lr, server_lr):
    """An independent FedAvg for logistic regression: hand-written gradients, float64."""
    d = next(iter(clients.values()))[0].shape[1]
    w, b = np.zeros(d), 0.0
    for _ in range(rounds):
        deltas, counts = [], []
        for X, y in clients.values():
            wk, bk = w.copy(), b
            for s in range(0, len(y), batch):
                xb, yb = X[s:s + batch].astype(np.float64), y[s:s + batch]
                g = (1 / (1 + np.exp(-(xb @ wk + bk))) - yb) / len(yb)
                wk, bk = wk - client_lr * xb.T @ g, bk - client_lr * g.sum()
            deltas.append((w - wk, b - bk))
            counts.append(len(y))
        p = np.array(counts) / sum(counts)
        w = w - server_lr * sum(pk * dw for pk, (dw, _) in zip(p, deltas))
        b = b - server_lr * sum(pk * db for pk, (_, db) in zip(p, deltas))
    return [w.reshape(-1, 1), np.array([b])]


def test_weighted_average_by_hand():
    a = [np.array([[1.0], [2.0]]), np.array([0.0])]
    b = [np.array([[3.0], [6.0]]), np.array([4.0])]
    out = fedavg.weighted_average([a, b], [1, 3])
    np.testing.assert_allclose(out[0], [[2.5], [5.0]])
    np.testing.assert_allclose(out[1], [3.0])
    # an unweighted mean would give [2, 4] and 2: weighting matters
    assert not np.allclose(out[0], [[2.0], [4.0]])


def test_server_update_sign_and_rate():
    w = [np.array([1.0, 1.0])]
    clients = [[np.array([0.0, 2.0])], [np.array([2.0, 4.0])]]
    # server_lr = 1: the weighted mean of the client models
    np.testing.assert_allclose(fedavg.server_update(w, clients, [1, 1], 1.0)[0], [1.0, 3.0])
    # server_lr = 0.5: halfway from w towards that mean (w - η Σ p_k (w - w_k))
    np.testing.assert_allclose(fedavg.server_update(w, clients, [1, 1], 0.5)[0], [1.0, 2.0])


@pytest.mark.parametrize("call", [
    lambda: fedavg.weighted_average([], []),
    lambda: fedavg.weighted_average([[np.ones(2)]], [1, 2]),
    lambda: fedavg.weighted_average([[np.ones(2)], [np.ones(2)]], [0, 0]),
    lambda: fedavg.weighted_average([[np.ones(2)], [np.ones(2)]], [1, -1]),
    lambda: fedavg.weighted_average([[np.ones(2)], [np.ones(3)]], [1, 1]),
    lambda: fedavg.weighted_average([[np.array([np.nan])]], [1]),
    lambda: fedavg.as_weights(np.ones(3)),
    lambda: fedavg.as_weights(["a"]),
    lambda: fedavg.server_update([np.ones(2)], [[np.ones(2)]], [1], server_lr=0),
    lambda: fedavg.make_batches(np.ones((4, 2)), np.ones(4), 0),
    lambda: fedavg.make_batches(np.ones((4, 2)), np.ones(3), 2),
    lambda: fedavg.sample_clients(["a", "b"], 3),
    lambda: fedavg.sample_clients(["a", "a"], 1),
    lambda: fedavg.sample_clients(["a", "b"], 1, seed=-1),
    lambda: fedavg.run_fedavg(None, {}, 1, 32, 0.1),
    lambda: fedavg.run_fedavg(None, {"a": (np.ones((2, 2)), np.ones(2))}, -1, 32, 0.1),
    lambda: fedavg.max_abs_difference([np.ones(2)], [np.ones(3)]),
    lambda: fedavg.tff_model_fn("not a function", None),
    lambda: fedavg.build_tff_fedavg(lambda: None, client_lr=-0.1),
    lambda: fedavg.logistic_model(0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_make_batches_in_order():
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5.0)
    batches = fedavg.make_batches(X, y, 2)
    assert [len(b[1]) for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_sample_clients_is_repeatable_and_distinct():
    ids = ["cleveland", "hungarian", "switzerland", "va"]
    a = fedavg.sample_clients(ids, 2, seed=3)
    assert a == fedavg.sample_clients(ids, 2, seed=3)
    assert len(set(a)) == 2 and set(a) <= set(ids)
    seen = {tuple(fedavg.sample_clients(ids, 2, seed=s)) for s in range(30)}
    assert len(seen) > 1


def test_local_sgd_matches_numpy_gradients(clients):
    X, y = next(iter(clients.values()))
    model = fedavg.logistic_model(X.shape[1])
    start = [np.full((X.shape[1], 1), 0.05, np.float32), np.array([-0.1], np.float32)]
    got = fedavg.local_sgd(model, start, fedavg.make_batches(X, y, BATCH), CLIENT_LR)
    w, b = start[0].ravel().astype(np.float64), float(start[1][0])
    for s in range(0, len(y), BATCH):
        xb, yb = X[s:s + BATCH].astype(np.float64), y[s:s + BATCH]
        g = (1 / (1 + np.exp(-(xb @ w + b))) - yb) / len(yb)
        w, b = w - CLIENT_LR * xb.T @ g, b - CLIENT_LR * g.sum()
    assert fedavg.max_abs_difference(got, [w.reshape(-1, 1), np.array([b])]) < 1e-5


def test_run_fedavg_matches_numpy_and_tff(clients):
    d = next(iter(clients.values()))[0].shape[1]
    model = fedavg.logistic_model(d)
    history = fedavg.run_fedavg(model, clients, ROUNDS, BATCH, CLIENT_LR, SERVER_LR)
    assert len(history.weights) == ROUNDS + 1
    reference = numpy_fedavg(clients, ROUNDS, BATCH, CLIENT_LR, SERVER_LR)
    assert fedavg.max_abs_difference(history.final, reference) < 1e-5

    from utils.runtime import manage_tff_workers

    manage_tff_workers()
    datasets = fedavg.tff_client_datasets(clients, BATCH)
    model_fn = fedavg.tff_model_fn(lambda: fedavg.logistic_model(d), datasets[0].element_spec)
    process = fedavg.build_tff_fedavg(model_fn, CLIENT_LR, SERVER_LR)
    state = process.initialize()
    # TFF starts from zeros too (kernel_initializer="zeros"; Keras' bias starts at zero).
    assert fedavg.max_abs_difference(fedavg.tff_model_weights(process, state), history.weights[0]) == 0
    for r in range(1, ROUNDS + 1):
        state = process.next(state, datasets).state
        diff = fedavg.max_abs_difference(fedavg.tff_model_weights(process, state), history.weights[r])
        assert diff < 1e-5, f"round {r}: from-scratch FedAvg and TFF differ by {diff:.2e}"
    # the weights really moved: agreement is not trivial
    assert fedavg.max_abs_difference(history.final, history.weights[0]) > 1e-2
