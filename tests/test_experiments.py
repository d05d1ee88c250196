"""utils.experiments: the case-study runner, checked against independent computations."""
import math

import numpy as np
import pandas as pd
import pytest

from utils import experiments as E
from utils.data import HOSPITALS, load_heart_disease


@pytest.fixture(scope="module")
def split():
    return load_heart_disease()


def _toy(n=23, d=13, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.float32)
    return X, y


# ---- configuration and input validation -----------------------------------------------------

def test_flamby_settings():
    assert E.flamby_config("fedadam").client_lr == 0.01 and E.flamby_config("fedadam").server_lr == 0.01
    assert E.flamby_config("fedprox").mu == 0.01
    assert E.flamby_config("fedyogi").client_lr == pytest.approx(0.003162)
    c = E.flamby_config("fedavg")
    assert (c.rounds, c.local_steps, c.batch_size, c.client_lr) == (15, 100, 4, 0.001)
    assert (E.flamby_config("pooled").epochs, E.flamby_config("pooled").lr) == (50, 0.001)


@pytest.mark.parametrize("bad, match", [
    (lambda: E.flamby_config("fedsgd"), "unknown method 'fedsgd'"),
    (lambda: E.MethodConfig("fedavg", client_lr=-0.1), "client_lr"),
    (lambda: E.MethodConfig("fedavg", client_lr=float("nan")), "client_lr"),
    (lambda: E.MethodConfig("fedavg", rounds=0), "rounds"),
    (lambda: E.MethodConfig("fedavg", local_steps=2.5), "local_steps"),
    (lambda: E.MethodConfig("fedavg", mu=0.1), "mu=0.1"),
    (lambda: E.flamby_config("fedavg").with_(learning_rate=1), "learning_rate"),
    (lambda: E.run_experiment(None, ["fedsgd"], [1]), "fedsgd"),
    (lambda: E.run_experiment(None, ["local"], []), "seeds is empty"),
    (lambda: E.run_experiment(None, ["local"], [-1]), "-1"),
    (lambda: E.initial_weights(-3), "-3"),
    (lambda: E.predict_proba([np.zeros((3, 1))], np.zeros((2, 3))), "weights"),
    (lambda: E.predict_proba(E.initial_weights(0, 3), np.zeros((2, 4))), r"\(n, 3\)"),
    (lambda: E.train_logreg(*_toy(), E.initial_weights(0), [], optimizer="rmsprop"), "rmsprop"),
    (lambda: E.numpy_fedavg({0: _toy()}, weighting="votes"), "votes"),
    (lambda: E.summarize(pd.DataFrame({"a": [1]})), "columns"),
])
def test_bad_inputs_raise_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_federated_process_refuses_central_method():
    with pytest.raises(ValueError, match="not federated"):
        E.FederatedProcess(E.flamby_config("pooled"))


# ---- NumPy training against independent computations -----------------------------------------

def test_batch_stream_matches_tf_data_order():
    import tensorflow as tf

    ds = tf.data.Dataset.range(7).repeat().batch(3).take(5)
    expected = [b.numpy().tolist() for b in ds]
    assert [b.tolist() for b in E.batch_stream(7, 3, 5)] == expected


def test_sgd_step_equals_hand_written_gradient():
    X, y = _toy(8, 3)
    w = E.initial_weights(1, 3)
    out = E.train_logreg(X, y, w, [np.arange(8)], "sgd", lr=0.5)
    # independent: loss gradient by central finite differences
    theta = np.append(w[0][:, 0], w[1]).astype(np.float64)

    def loss(t):
        p = 1 / (1 + np.exp(-(X @ t[:-1] + t[-1])))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    g = np.array([(loss(theta + e) - loss(theta - e)) / 2e-6 for e in np.eye(4) * 1e-6])
    np.testing.assert_allclose(np.append(out[0][:, 0], out[1]), theta - 0.5 * g, atol=1e-5)


def test_adam_training_matches_keras():
    import tensorflow as tf

    X, y = _toy(20, 13)
    w0 = E.initial_weights(3)
    model = E.make_keras_model(13)
    model.set_weights(w0)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01, epsilon=1e-8),
                  loss=tf.keras.losses.BinaryCrossentropy())
    model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    batches = [np.arange(i, min(i + 4, 20)) for i in range(0, 20, 4)] * 2
    ours = E.train_logreg(X, y, w0, batches, "adam", lr=0.01)
    for a, b in zip(ours, model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_predict_proba_matches_keras_for_hidden_layer():
    X, _ = _toy(10, 13)
    w = E.initial_weights(0, 13, hidden=8)
    model = E.make_keras_model(13, hidden=8)
    model.set_weights(w)
    np.testing.assert_allclose(E.predict_proba(w, X), model(X).numpy()[:, 0], atol=1e-6)


def test_fedavg_with_one_client_is_local_sgd():
    X, y = _toy()
    w0 = E.initial_weights(2)
    fed = E.numpy_fedavg({"a": (X, y)}, rounds=3, local_steps=5, client_lr=0.1, shuffle=False, weights=w0)
    # one client: each round continues from the last, its batch stream restarting each round
    local = w0
    for _ in range(3):
        local = E.train_logreg(X, y, local, E.batch_stream(len(y), 4, 5), "sgd", 0.1)
    for a, b in zip(fed, local):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fedavg_weights_by_size():
    (X1, y1), (X2, y2) = _toy(8, seed=1), _toy(24, seed=2)
    w0 = E.initial_weights(0)
    fed = E.numpy_fedavg({1: (X1, y1), 2: (X2, y2)}, rounds=1, local_steps=3, client_lr=0.2,
                         shuffle=False, weights=w0)
    a = E.train_logreg(X1, y1, w0, E.batch_stream(8, 4, 3), "sgd", 0.2)
    b = E.train_logreg(X2, y2, w0, E.batch_stream(24, 4, 3), "sgd", 0.2)
    for i in range(2):
        np.testing.assert_allclose(fed[i], 0.25 * a[i] + 0.75 * b[i], atol=1e-6)


# ---- metrics ------------------------------------------------------------------------------

def test_hospital_metrics_against_sklearn(split):
    from sklearn.metrics import accuracy_score, roc_auc_score

    w = E.initial_weights(5)
    table = E.hospital_metrics(w, split).set_index("hospital")
    for h in HOSPITALS:
        X, y = split.test[h]
        p = E.predict_proba(w, X)
        assert table.loc[h, "accuracy"] == pytest.approx(accuracy_score(y, p > 0.5))
        if len(np.unique(y)) == 2:
            assert table.loc[h, "auc"] == pytest.approx(roc_auc_score(y, p))
        else:
            assert math.isnan(table.loc[h, "auc"])


def test_summarize_by_hand():
    rows = [("m", s, h, acc, auc) for s, accs in ((1, (0.6, 0.8)), (2, (0.7, 0.9)))
            for h, acc, auc in zip("ab", accs, (0.5, float("nan")))]
    table = pd.DataFrame(rows, columns=["method", "seed", "hospital", "accuracy", "auc"])
    out = E.summarize(table).loc["m"]
    assert out["accuracy"] == pytest.approx(0.75)  # seeds: 0.7 and 0.8
    assert out["accuracy_std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert out["auc"] == pytest.approx(0.5)  # NaN AUC left out
    assert out["seeds"] == 2


def test_run_experiment_central_methods(split):
    cfg = {"local": E.flamby_config("local").with_(epochs=1),
           "pooled": E.flamby_config("pooled").with_(epochs=1)}
    res = E.run_experiment(split, ["local", "pooled"], [1, 2], configs=cfg, progress=False)
    assert len(res.per_hospital) == 2 * 2 * len(split.hospitals)
    assert set(res.weights[("local", 1)]) == set(split.hospitals)
    again = E.run_experiment(split, ["pooled"], [1], configs=cfg, progress=False)
    pd.testing.assert_frame_equal(again.per_hospital,
                                  res.per_hospital.query("method == 'pooled' and seed == 1")
                                  .reset_index(drop=True))


def test_encode_patient_reproduces_training_rows(split):
    from utils.data import FLAMBY_COLUMNS, flamby_clean, flamby_train_test_indices, load_raw

    raw = load_raw()
    for h in ("cleveland", "switzerland"):
        clean = flamby_clean(raw.frames[h])
        train_idx, _ = flamby_train_test_indices((clean["num"] > 0).to_numpy())
        record = clean.iloc[train_idx[3]][list(FLAMBY_COLUMNS)].to_dict()
        np.testing.assert_allclose(E.encode_patient(record, split, h)[0], split.train[h][0][3], atol=1e-5)
    with pytest.raises(ValueError, match="lacks"):
        E.encode_patient({"age": 50}, split, "va")


# ---- TFF agrees with the NumPy FedAvg/FedProx ------------------------------------------------

@pytest.mark.parametrize("method, mu, numpy_mu", [("fedavg", 0.0, 0.0), ("fedprox", 0.5, -0.5)])
def test_tff_matches_numpy(split, method, mu, numpy_mu):
    """TFF's FedAvg equals the NumPy one; TFF 0.87's FedProx equals it with the proximal
    term's sign flipped (TFF adds mu * (w_global - w) to the gradient)."""
    from utils.runtime import manage_tff_workers

    manage_tff_workers()
    cfg = E.MethodConfig(method, rounds=2, local_steps=7, client_lr=0.05, mu=mu)
    proc = E.get_process(cfg)
    tff_w = proc.run(split, seed=4, shuffle=False)
    np_w = E.numpy_fedavg(split.train, rounds=2, local_steps=7, client_lr=0.05, seed=4,
                          weighting="examples", shuffle=False, mu=numpy_mu)
    for a, b in zip(tff_w, np_w):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert len(proc.round_times) == 2
