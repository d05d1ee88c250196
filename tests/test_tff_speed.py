"""The speed changes of issue 18 leave TFF's results where they were.

Local steps now run as a loop over the dataset's iterator (``build_sized_fedopt``'s client work, and
``LoopImplementation.DATASET_ITERATOR`` for TFF's own FedAvg/FedProx) instead of ``dataset.reduce``,
and the client datasets carry ``lean_dataset_options()``. Here, with the per-round reshuffling on:

* the lean options change neither which rows come out nor their order;
* TFF's FedAvg with the iterator loop equals the same process built with TFF's reduce loop;
* FLamby-setting FedAdam (the course's own client work) equals an independent NumPy computation
  fed the very batches the TFF clients received, to 1e-5.

Timing lives in ``make bench-tff`` (tools/bench_tff.py), not here.
"""
import numpy as np
import pytest

from utils import methods as M
from utils.data import load_heart_disease
from utils.models import initial_weights, to_theta


@pytest.fixture(scope="module")
def split():
    return load_heart_disease("synthetic")


def _batches(dataset) -> list:
    return [tuple(np.asarray(t) for t in batch) for batch in dataset]


def test_lean_options_keep_rows_and_order(split):
    import tensorflow as tf

    from utils.tff_custom import lean_dataset_options

    X, y = split.train[split.hospitals[0]]

    def make():  # a new dataset each time: iterating one twice reshuffles it (its seed generator advances)
        ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)[:, None]))
        return ds.shuffle(len(y), seed=7, reshuffle_each_iteration=True).repeat().batch(4).take(60)

    plain, lean = _batches(make()), _batches(make().with_options(lean_dataset_options()))
    assert len(plain) == len(lean) == 60
    for (xa, ya), (xb, yb) in zip(plain, lean):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(plain[0][0], X[:4])  # the rows were shuffled: the check is not vacuous


def test_iterator_loop_equals_tffs_reduce_loop(split):
    import tensorflow_federated as tff

    from utils.runtime import manage_tff_workers
    from utils.tff_learning import FederatedProcess

    manage_tff_workers()
    config = M.MethodConfig("fedavg", rounds=3, local_steps=6, client_lr=0.05)
    new = FederatedProcess(config, len(split.feature_names))
    new_w = new.run(split, seed=5, shuffle=True)

    # The same process with TFF's default loop (the code before issue 18), fed the same datasets.
    reduce_process = tff.learning.algorithms.build_weighted_fed_avg(
        _model_fn(len(split.feature_names)),
        client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=config.client_lr),
        server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=config.server_lr),
        loop_implementation=tff.learning.LoopImplementation.DATASET_REDUCE)
    state = reduce_process.initialize()
    state = reduce_process.set_model_weights(state, tff.learning.models.ModelWeights(
        trainable=[np.asarray(w, np.float32) for w in initial_weights(5, len(split.feature_names))], non_trainable=[]))
    for r in range(config.rounds):
        state = reduce_process.next(state, new._client_datasets(split, 5, r, True)).state
    old_w = [np.asarray(w) for w in reduce_process.get_model_weights(state).trainable]
    np.testing.assert_allclose(to_theta(new_w), to_theta(old_w), atol=1e-5)
    assert np.abs(to_theta(new_w) - to_theta(initial_weights(5))).max() > 1e-3  # the weights moved


def _model_fn(n_features):
    import tensorflow as tf
    import tensorflow_federated as tff

    from utils.keras_fedavg import keras_model

    spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None, 1], tf.float32))
    return lambda: tff.learning.models.from_keras_model(
        keras_model(n_features), loss=tf.keras.losses.BinaryCrossentropy(), input_spec=spec)


def test_flamby_fedadam_equals_numpy_on_the_same_batches(split):
    """FLamby's FedAdam (size weighting, server Adam without bias correction), shuffled batches."""
    from utils.runtime import manage_tff_workers
    from utils.tff_learning import FederatedProcess

    manage_tff_workers()
    config = M.flamby_config("fedadam").with_(rounds=3, local_steps=8)
    proc = FederatedProcess(config, len(split.feature_names))
    tff_w = proc.run(split, seed=6, shuffle=True)

    theta = to_theta(initial_weights(6)).astype(np.float64)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    sizes = np.array([len(split.train[h][1]) for h in split.hospitals], float)
    for r in range(config.rounds):
        updates = []
        for dataset, _ in proc._client_datasets(split, 6, r, True):  # the batches TFF's clients got
            w = theta.copy()
            for X, y in _batches(dataset):
                p = 1 / (1 + np.exp(-(X @ w[:-1] + w[-1])))
                err = (p - y[:, 0]) / len(y)  # gradient of the mean binary cross-entropy
                w -= config.client_lr * np.append(X.T @ err, err.sum())
            updates.append(theta - w)
        g = (sizes[:, None] * np.array(updates)).sum(0) / sizes.sum()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - config.server_lr * m / (np.sqrt(v) + config.tau)
    np.testing.assert_allclose(to_theta(tff_w), theta, atol=1e-5)
    assert np.abs(theta - to_theta(initial_weights(6))).max() > 1e-3  # the weights moved
