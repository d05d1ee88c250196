"""Privacy and robustness in TensorFlow Federated 0.87: what chapter 06 runs in TFF. Introduced in chapter 06.

* ``dp_sgd_client_work`` + ``build_dp_sgd_process``: record-level DP-SGD inside every client, as
  a custom ``ClientWorkProcess`` composed into a learning process (TFF's ``build_weighted_fed_avg`` takes
  only ``tff.learning.optimizers``, so tensorflow_privacy's Keras DP optimiser cannot be plugged
  in). Each step: Poisson sampling, per-example gradients (``tape.jacobian``), clipping, Gaussian
  noise, a fixed denominator, exactly as ``utils.dpsgd.DPSGD``. The noise comes from stateless
  random ops seeded per client and round (``dp_client_data``), so a run is repeatable;
* ``build_client_dp_process``: client-level DP-FedAvg with TFF's own
  ``DifferentiallyPrivateFactory.gaussian_fixed`` (clip each client's update, add noise to the sum,
  divide by the expected number of clients);
* ``aggregate_in_tff``: run any TFF aggregation factory on updates given as NumPy arrays (the
  clipping, DP and secure-sum factories are checked against NumPy with it);
* ``test_context``: TFF's test execution context, which simulates the secure-sum intrinsics
  (bounded, quantised plain sums; no cryptography), installed only inside a ``with`` block.

TF and TFF are imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import contextlib

import numpy as np

from utils import validate as v
from utils.dpsgd import DPSGD

__all__ = ["logistic_model_fn", "dp_sgd_client_work", "build_dp_sgd_process", "with_dp_settings", "dp_client_data", "build_client_dp_process",
           "aggregate_in_tff", "test_context", "global_weights", "set_global_weights"]


def logistic_model_fn(n_features: int = 13, batched_labels: bool = True):
    """A no-argument ``model_fn``: logistic regression (Keras ``Dense(1, sigmoid)``) as a TFF model
    with binary cross-entropy. Labels have shape (batch, 1) (``batched_labels``) or (batch,)."""
    import tensorflow as tf
    import tensorflow_federated as tff

    from utils.keras_fedavg import keras_model

    n_features = v.integer("n_features", n_features, 1, 100_000)
    spec = (tf.TensorSpec([None, n_features], tf.float32),
            tf.TensorSpec([None, 1] if v.flag("batched_labels", batched_labels) else [None], tf.float32))

    def model_fn():
        return tff.learning.models.from_keras_model(keras_model(n_features), input_spec=spec,
                                                    loss=tf.keras.losses.BinaryCrossentropy())
    return model_fn


def dp_sgd_client_work(model_fn, dp: DPSGD, n_features: int = 13):
    """A ``tff.learning.templates.ClientWorkProcess``: each client runs ``dp.steps`` DP-SGD steps on
    all its rows (one tensor each, see ``dp_client_data``) and reports update = start − end with
    weight n_k. The clipping norm, noise multiplier, sampling rate and learning rate are its
    hyper-parameters (its server state, broadcast every round); ``dp.steps`` is fixed here."""
    import collections

    import tensorflow as tf
    import tensorflow_federated as tff

    v.function("model_fn", model_fn)
    if not isinstance(dp, DPSGD):
        raise TypeError(f"dp must be a utils.dpsgd.DPSGD, got {type(dp).__name__}")
    if dp.steps > 140:
        raise ValueError(f"dp.steps must be <= 140 here (the noise seeds of one client span 7 per step), got {dp.steps}")
    n_features = v.integer("n_features", n_features, 1, 100_000)
    steps = dp.steps
    weights_type = tff.learning.models.weights_type_from_model(model_fn)
    rows_type = tff.SequenceType(tff.StructType([tff.TensorType(np.float32, [None, n_features]),
                                                 tff.TensorType(np.float32, [None, 1])]))
    data_type = tff.StructType([rows_type, tff.SequenceType(tff.TensorType(np.int64, [2]))])
    settings_type = tff.StructType([(name, tff.TensorType(np.float32)) for name in _SETTINGS])

    @tff.tensorflow.computation(weights_type, data_type, settings_type)
    def client_update(initial, data, settings):
        model = model_fn()
        weights = tff.learning.models.ModelWeights.from_model(model)
        clip, sigma, q, lr = (settings[name] for name in _SETTINGS)

        # Everything inside one tf.function: reads of the variables must be ordered after the steps.
        @tf.function
        def train(initial, rows, seeds):
            tf.nest.map_structure(lambda var, value: var.assign(value), weights, initial)
            X, y = rows.get_single_element()
            seed = seeds.get_single_element()
            n = tf.cast(tf.shape(y)[0], tf.float32)

            def clipped_sum(Xb, yb):
                with tf.GradientTape() as tape:
                    losses = tf.keras.losses.binary_crossentropy(yb, model.predict_on_batch(Xb, training=True))
                jac = tape.jacobian(losses, weights.trainable)  # one gradient per example
                flat = tf.concat([tf.reshape(j, [tf.shape(losses)[0], -1]) for j in jac], axis=1)
                scale = tf.minimum(1.0, clip / tf.maximum(tf.norm(flat, axis=1), 1e-30))
                return [tf.tensordot(scale, j, axes=1) for j in jac]

            for step in tf.range(steps):
                # Seeds (seed, base + 7·step + j): j = 0 samples the rows, j = 1, 2, ... draw each variable's noise.
                step_seed = seed + tf.stack([tf.constant(0, tf.int64), 7 * tf.cast(step, tf.int64)])
                take = tf.random.stateless_uniform(tf.shape(y)[:1], seed=step_seed) < q
                Xb, yb = tf.boolean_mask(X, take), tf.boolean_mask(y, take)
                # tape.jacobian fails on an empty batch: then the sum is zero, and the noise is still added.
                sums = tf.cond(tf.shape(yb)[0] > 0, lambda: clipped_sum(Xb, yb),
                               lambda: [tf.zeros_like(w) for w in weights.trainable])
                for i, (var, total) in enumerate(zip(weights.trainable, sums)):
                    noise = tf.random.stateless_normal(tf.shape(var), seed=step_seed + tf.constant([0, i + 1], tf.int64))
                    var.assign_sub(lr * (total + sigma * clip * noise) / (q * n))
            update = tf.nest.map_structure(tf.subtract, initial.trainable, weights.trainable)
            return tff.learning.templates.ClientResult(update=update, update_weight=n)

        return train(initial, *data)

    defaults = collections.OrderedDict((name, np.float32(getattr(dp, name))) for name in _SETTINGS)

    @tff.federated_computation
    def initialize():
        return tff.federated_value(defaults, tff.SERVER)

    @tff.federated_computation(initialize.type_signature.result, tff.FederatedType(weights_type, tff.CLIENTS),
                               tff.FederatedType(data_type, tff.CLIENTS))
    def next_fn(state, weights, data):
        results = tff.federated_map(client_update, (weights, data, tff.federated_broadcast(state)))
        return tff.templates.MeasuredProcessOutput(state, results, tff.federated_value((), tff.SERVER))

    @tff.tensorflow.computation(settings_type)
    def get_hparams(state):
        return state

    @tff.tensorflow.computation(settings_type, settings_type)
    def set_hparams(state, hparams):
        del state
        return hparams

    return tff.learning.templates.ClientWorkProcess(initialize, next_fn, get_hparams_fn=get_hparams,
                                                    set_hparams_fn=set_hparams)


def build_dp_sgd_process(model_fn, client_work):
    """A TFF learning process from ``dp_sgd_client_work``: broadcast, DP-SGD at every client,
    updates averaged with weights n_k (``MeanFactory``), server SGD lr 1. ``with_dp_settings``
    changes the DP settings in a state without rebuilding anything."""
    import tensorflow_federated as tff

    v.function("model_fn", model_fn)
    if not isinstance(client_work, tff.learning.templates.ClientWorkProcess):
        raise TypeError(f"client_work must be the ClientWorkProcess of dp_sgd_client_work, got {type(client_work).__name__}")
    weights_type = tff.learning.models.weights_type_from_model(model_fn)

    @tff.tensorflow.computation
    def initial_model_weights():
        return tff.learning.models.ModelWeights.from_model(model_fn())

    return tff.learning.templates.compose_learning_process(
        initial_model_weights, tff.learning.templates.build_broadcast_process(weights_type), client_work,
        tff.aggregators.MeanFactory().create(weights_type.trainable, tff.TensorType(np.float32)),
        tff.learning.templates.build_apply_optimizer_finalizer(tff.learning.optimizers.build_sgdm(1.0), weights_type))


_SETTINGS = ("clip", "noise_multiplier", "sampling_rate", "lr")


def _state(state):
    if not hasattr(state, "global_model_weights") or not hasattr(state, "client_work"):
        raise TypeError(f"state must be a TFF learning-process state (process.initialize()), got {type(state).__name__}")
    return state


def with_dp_settings(process, state, dp: DPSGD):
    """``state`` of a ``build_dp_sgd_process`` process with the DP-SGD settings of ``dp`` (its
    ``steps`` must be those the process was built with; that is not part of the state)."""
    import collections

    if not hasattr(process, "get_hparams"):
        raise TypeError(f"process must be a TFF learning process, got {type(process).__name__}")
    _state(state)
    if not isinstance(dp, DPSGD):
        raise TypeError(f"dp must be a utils.dpsgd.DPSGD, got {type(dp).__name__}")
    hparams = process.get_hparams(state)
    hparams["client_work"] = collections.OrderedDict((name, np.float32(getattr(dp, name))) for name in _SETTINGS)
    return process.set_hparams(state, hparams)


def dp_client_data(clients, round_number: int, seed: int = 0) -> list:
    """What ``build_dp_sgd_process``'s ``next`` takes: per client, a one-element dataset of all its
    rows and a one-element dataset holding the noise seed of this client in this round (distinct
    for up to 990 clients and 140 local steps)."""
    import tensorflow as tf

    _, pairs = v.clients(clients, labels01=True)
    round_number, seed = v.integer("round_number", round_number, 0), v.seed("seed", seed)
    return [(tf.data.Dataset.from_tensors((X.astype(np.float32), y.astype(np.float32)[:, None])),
             tf.data.Dataset.from_tensors(np.array([seed, 1_000_003 * round_number + 1009 * k], np.int64)))
            for k, (X, y) in enumerate(pairs)]


def build_client_dp_process(model_fn, noise_multiplier: float, clients_per_round: float, clip: float,
                            client_lr: float):
    """Client-level DP-FedAvg with TFF's building blocks: local SGD (``client_lr``) on each sampled
    client's dataset, ``DifferentiallyPrivateFactory.gaussian_fixed(noise_multiplier,
    clients_per_round, clip)`` as the model aggregator, server SGD lr 1 (unweighted FedAvg)."""
    import tensorflow_federated as tff

    v.function("model_fn", model_fn)
    factory = tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
        noise_multiplier=v.nonneg("noise_multiplier", noise_multiplier),
        clients_per_round=v.positive("clients_per_round", clients_per_round), clip=v.positive("clip", clip))
    sgd = tff.learning.optimizers.build_sgdm
    return tff.learning.algorithms.build_unweighted_fed_avg(
        model_fn, client_optimizer_fn=sgd(learning_rate=v.positive("client_lr", client_lr)),
        server_optimizer_fn=sgd(learning_rate=1.0), model_aggregator=factory)


def aggregate_in_tff(factory, updates, weights=None, rounds: int = 1) -> list:
    """Run a TFF aggregation ``factory`` on ``updates`` (K, p), one float32 vector per client (and
    client ``weights`` for a weighted factory) for ``rounds`` rounds on the same inputs; returns the
    aggregate of each round (NumPy), so state that adapts (e.g. a clipping norm) is visible."""
    import tensorflow_federated as tff

    if not hasattr(factory, "create"):
        raise TypeError(f"factory must be a TFF aggregation factory, got {type(factory).__name__}")
    U = v.array("updates", updates)
    if U.ndim != 2 or len(U) == 0:
        raise ValueError(f"updates must be 2-D (clients × parameters), got shape {U.shape}")
    v.finite("updates", U)
    rounds = v.integer("rounds", rounds, 1, 1000)
    value_type = tff.TensorType(np.float32, [U.shape[1]])
    weighted = isinstance(factory, tff.aggregators.WeightedAggregationFactory)
    if weighted:
        if weights is None:
            raise ValueError("weights is None, but this factory is weighted: give one weight per client")
        w = v.vector("weights", weights, len(U))
        process = factory.create(value_type, tff.TensorType(np.float32))
    else:
        if weights is not None:
            raise ValueError("weights given, but this factory is unweighted")
        process = factory.create(value_type)
    state, out = process.initialize(), []
    for _ in range(rounds):
        values = [u.astype(np.float32) for u in U]
        result = process.next(state, values, [np.float32(x) for x in w]) if weighted else process.next(state, values)
        state = result.state
        out.append(np.asarray(result.result, dtype=float))
    return out


@contextlib.contextmanager
def test_context():
    """Inside the ``with`` block TFF runs in its test context (``create_sync_test_cpp_execution_context``),
    where the secure-sum intrinsics work, simulated; the previous context returns afterwards."""
    import tensorflow_federated as tff

    import tensorflow as tf

    context = tff.backends.test.create_sync_test_cpp_execution_context()
    logger, level = tf.get_logger(), tf.get_logger().level
    # TFF's secure-sum code leaves unused assertion ops behind, and TF logs an "ERROR" for each.
    logger.setLevel("CRITICAL")
    try:
        with tff.framework.get_context_stack().install(context):
            yield context
    finally:
        logger.setLevel(level)


def global_weights(process, state) -> np.ndarray:
    """The global model of a TFF learning-process state as one vector theta = (w, b)."""
    if not hasattr(process, "get_model_weights"):
        raise TypeError(f"process must be a TFF learning process, got {type(process).__name__}")
    _state(state)
    return np.concatenate([np.asarray(w, dtype=float).reshape(-1) for w in process.get_model_weights(state).trainable])


def set_global_weights(process, state, theta):
    """``state`` with the global model replaced by theta = (w, b) (logistic regression)."""
    import tensorflow_federated as tff

    if not hasattr(process, "set_model_weights"):
        raise TypeError(f"process must be a TFF learning process, got {type(process).__name__}")
    _state(state)
    theta = v.vector("theta", theta)
    if len(theta) < 2:
        raise ValueError(f"theta needs at least one weight and a bias, got {len(theta)} number(s)")
    return process.set_model_weights(state, tff.learning.models.ModelWeights(
        trainable=[theta[:-1, None].astype(np.float32), theta[-1:].astype(np.float32)], non_trainable=[]))
