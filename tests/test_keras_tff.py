"""utils.keras_fedavg and utils.tff_learning: Keras FedAvg against hand computations, plain NumPy, and TFF."""
import numpy as np
import pytest

from utils import keras_fedavg, tff_learning
from utils.local_training import epoch_batches
from utils.models import max_abs_difference

BATCH, CLIENT_LR, SERVER_LR, ROUNDS = 32, 0.1, 1.0, 5


@pytest.fixture(scope="module")
def clients():
    from utils.data import load_heart_disease

    split = load_heart_disease("synthetic")  # the agreement holds for any data; the twin runs offline too
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


@pytest.mark.parametrize("call", [
    lambda: keras_fedavg.run_fedavg(None, {}, 1, 32, 0.1),
    lambda: keras_fedavg.run_fedavg(keras_fedavg.keras_model(2), {"a": (np.ones((2, 2)), np.ones(2))}, -1, 32, 0.1),
    lambda: tff_learning.tff_model_fn("not a function", None),
    lambda: tff_learning.build_tff_fedavg(lambda: None, client_lr=-0.1),
    lambda: keras_fedavg.keras_model(0),
])
def test_bad_input_raises(call):
    with pytest.raises((ValueError, TypeError)):
        call()


def test_local_sgd_matches_numpy_gradients(clients):
    X, y = next(iter(clients.values()))
    model = keras_fedavg.keras_model(X.shape[1])
    start = [np.full((X.shape[1], 1), 0.05, np.float32), np.array([-0.1], np.float32)]
    got = keras_fedavg.local_sgd(model, start, X, y, epoch_batches(len(y), BATCH), CLIENT_LR)
    w, b = start[0].ravel().astype(np.float64), float(start[1][0])
    for s in range(0, len(y), BATCH):
        xb, yb = X[s:s + BATCH].astype(np.float64), y[s:s + BATCH]
        g = (1 / (1 + np.exp(-(xb @ w + b))) - yb) / len(yb)
        w, b = w - CLIENT_LR * xb.T @ g, b - CLIENT_LR * g.sum()
    assert max_abs_difference(got, [w.reshape(-1, 1), np.array([b])]) < 1e-5


def test_run_fedavg_matches_numpy_and_tff(clients):
    d = next(iter(clients.values()))[0].shape[1]
    model = keras_fedavg.keras_model(d, kernel_initializer="zeros")
    history = keras_fedavg.run_fedavg(model, clients, ROUNDS, BATCH, CLIENT_LR, SERVER_LR)
    assert history.rounds == ROUNDS
    reference = numpy_fedavg(clients, ROUNDS, BATCH, CLIENT_LR, SERVER_LR)
    assert max_abs_difference(history.weights(-1), reference) < 1e-5

    from utils.runtime import manage_tff_workers

    manage_tff_workers()
    datasets = tff_learning.client_datasets(clients, BATCH)
    model_fn = tff_learning.tff_model_fn(lambda: keras_fedavg.keras_model(d, kernel_initializer="zeros"),
                                         datasets[0].element_spec)
    process = tff_learning.build_tff_fedavg(model_fn, CLIENT_LR, SERVER_LR)
    state = process.initialize()
    # TFF starts from zeros too (kernel_initializer="zeros"; Keras' bias starts at zero).
    assert max_abs_difference(tff_learning.tff_model_weights(process, state), history.weights(0)) == 0
    for r in range(1, ROUNDS + 1):
        state = process.next(state, datasets).state
        diff = max_abs_difference(tff_learning.tff_model_weights(process, state), history.weights(r))
        assert diff < 1e-5, f"round {r}: from-scratch FedAvg and TFF differ by {diff:.2e}"
    # the weights really moved: agreement is not trivial
    assert max_abs_difference(history.weights(-1), history.weights(0)) > 1e-2
