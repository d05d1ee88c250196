"""Federated averaging (FedAvg) from scratch, and the few TFF helpers that go with it.

Introduced in chapter 04 (``chapters/04_fedavg_in_tff.ipynb``), which writes every step out in
full and checks this module against TensorFlow Federated's ``build_weighted_fed_avg`` to 1e-5.

One FedAvg round, as implemented here (McMahan et al., 2017, with a server learning rate):

1. the server sends the global weights ``w`` to every participating client;
2. client ``k`` starts from ``w`` and runs plain SGD over its batches in order (one local epoch
   by default) with learning rate ``client_lr``, ending at ``w_k``;
3. the server averages the client *deltas* ``Δ_k = w - w_k`` weighted by the clients' example
   counts ``n_k`` (``p_k = n_k / Σ n_j``) and takes one server step:
   ``w ← w - server_lr · Σ_k p_k Δ_k``. With ``server_lr = 1`` this is exactly the weighted
   mean of the client models, ``Σ_k p_k w_k``.

Weights are lists of NumPy arrays in the order of ``model.get_weights()`` (Keras) or of
``process.get_model_weights(state).trainable`` (TFF): for ``Dense(1)`` that is ``[kernel, bias]``.

TensorFlow and TFF are imported inside the functions that need them, so that importing this
module (and the exercises that use it) stays cheap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "as_weights", "weighted_average", "server_update", "make_batches", "logistic_model",
    "local_sgd", "fedavg_round", "run_fedavg", "FedAvgHistory", "sample_clients",
    "max_abs_difference", "tff_client_datasets", "tff_model_fn", "build_tff_fedavg",
    "tff_model_weights",
]


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

def as_weights(weights, name: str = "weights") -> list:
    """A list of float NumPy arrays (copies); raises ValueError if ``weights`` is not one."""
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)) or not weights:
        raise ValueError(f"{name} must be a non-empty list of arrays, got {type(weights).__name__}")
    out = []
    for i, w in enumerate(weights):
        a = np.array(w)
        if a.dtype.kind not in "fiu" or a.dtype == bool:
            raise ValueError(f"{name}[{i}] is not a numeric array: {w!r}")
        if a.dtype.kind != "f":
            a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}[{i}] contains NaN or infinity")
        out.append(a)
    return out


def _check_lr(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_xy(X, y, who: str = "client"):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{who}: X must be 2-D and y 1-D with as many rows, got shapes {X.shape} and {y.shape}")
    if len(y) == 0:
        raise ValueError(f"{who} has no rows")
    return X, y


def _check_clients(client_data) -> dict:
    if not isinstance(client_data, dict) or not client_data:
        raise ValueError(f"client_data must be a non-empty dict {{client: (X, y)}}, got {type(client_data).__name__}")
    for client, xy in client_data.items():
        if not isinstance(xy, (tuple, list)) or len(xy) != 2:
            raise ValueError(f"client_data[{client!r}] must be a pair (X, y), got {type(xy).__name__}")
        _check_xy(*xy, who=f"client {client!r}")
    return client_data


# --------------------------------------------------------------------------
# Aggregation (server side)
# --------------------------------------------------------------------------

def weighted_average(weight_lists: Sequence, num_examples: Sequence) -> list:
    """FedAvg's aggregation: ``Σ_k p_k w_k`` with ``p_k = n_k / Σ_j n_j``, layer by layer.

    ``weight_lists[k]`` is client k's list of arrays; ``num_examples[k]`` its example count.
    """
    if not isinstance(weight_lists, (list, tuple)) or not weight_lists:
        raise ValueError(f"weight_lists must be a non-empty list of weight lists, got {weight_lists!r}")
    counts = np.asarray(num_examples, dtype=np.float64)
    if counts.ndim != 1 or len(counts) != len(weight_lists):
        raise ValueError(f"num_examples must have one count per client ({len(weight_lists)}), got {num_examples!r}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError(f"num_examples must be non-negative with a positive total, got {num_examples!r}")
    lists = [as_weights(w, f"weight_lists[{k}]") for k, w in enumerate(weight_lists)]
    shapes = [a.shape for a in lists[0]]
    for k, w in enumerate(lists):
        if [a.shape for a in w] != shapes:
            raise ValueError(f"client {k}'s weight shapes {[a.shape for a in w]} differ from client 0's {shapes}")
    p = counts / counts.sum()
    return [sum(pk * w[i].astype(np.float64) for pk, w in zip(p, lists)).astype(lists[0][i].dtype)
            for i in range(len(shapes))]


def server_update(global_weights, client_weights: Sequence, num_examples: Sequence,
                  server_lr: float = 1.0) -> list:
    """``w ← w - server_lr · Σ_k p_k (w - w_k)``: one server SGD step on the weighted mean delta."""
    server_lr = _check_lr("server_lr", server_lr)
    w = as_weights(global_weights, "global_weights")
    deltas = [[wi - ci for wi, ci in zip(w, as_weights(c, f"client_weights[{k}]"))]
              for k, c in enumerate(client_weights)]
    mean_delta = weighted_average(deltas, num_examples)
    return [wi - np.asarray(server_lr * d, dtype=wi.dtype) for wi, d in zip(w, mean_delta)]


# --------------------------------------------------------------------------
# Client side
# --------------------------------------------------------------------------

def make_batches(X, y, batch_size: int) -> list:
    """Fixed, in-order mini-batches ``[(X[0:b], y[0:b]), ...]`` (the last one may be smaller)."""
    X, y = _check_xy(X, y, who="make_batches")
    batch_size = _check_int("batch_size", batch_size, 1)
    return [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, len(y), batch_size)]


def logistic_model(num_features: int = 13, kernel_initializer: str = "zeros"):
    """Logistic regression as a Keras model: ``Dense(1, sigmoid)`` on ``num_features`` inputs."""
    num_features = _check_int("num_features", num_features, 1)
    if not isinstance(kernel_initializer, str):
        raise ValueError(f"kernel_initializer must be a Keras initializer name, got {kernel_initializer!r}")
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.layers.InputLayer(input_shape=(num_features,)),
        tf.keras.layers.Dense(1, activation="sigmoid", kernel_initializer=kernel_initializer),
    ])


def local_sgd(model, weights, batches, learning_rate: float, epochs: int = 1, loss=None) -> list:
    """Client training: start ``model`` at ``weights``, plain SGD over ``batches`` in order.

    ``loss`` defaults to binary cross-entropy (mean over the batch). Returns the new weights;
    the model is left holding them.
    """
    import tensorflow as tf

    learning_rate = _check_lr("learning_rate", learning_rate)
    epochs = _check_int("epochs", epochs, 1)
    if not hasattr(model, "trainable_variables") or not hasattr(model, "set_weights"):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    if not isinstance(batches, (list, tuple)) or not batches:
        raise ValueError("batches must be a non-empty list of (x, y) pairs")
    loss_fn = loss if loss is not None else tf.keras.losses.BinaryCrossentropy()
    model.set_weights(as_weights(weights))
    variables = model.trainable_variables
    for _ in range(epochs):
        for xb, yb in batches:
            with tf.GradientTape() as tape:
                value = loss_fn(tf.convert_to_tensor(yb, tf.float32), model(xb, training=True))
            for v, g in zip(variables, tape.gradient(value, variables)):
                v.assign_sub(learning_rate * g)
    return model.get_weights()


# --------------------------------------------------------------------------
# Rounds
# --------------------------------------------------------------------------

def fedavg_round(model, global_weights, client_data: dict, batch_size: int, client_lr: float,
                 server_lr: float = 1.0, epochs: int = 1, loss=None) -> list:
    """One FedAvg round over every client in ``client_data = {client: (X, y)}``; returns new weights."""
    _check_clients(client_data)
    client_weights, counts = [], []
    for X, y in client_data.values():
        client_weights.append(local_sgd(model, global_weights, make_batches(X, y, batch_size),
                                        client_lr, epochs=epochs, loss=loss))
        counts.append(len(y))
    return server_update(global_weights, client_weights, counts, server_lr)


@dataclass
class FedAvgHistory:
    """What ``run_fedavg`` returns: ``weights[r]`` is the global model after round r (r=0: initial)."""

    weights: list = field(default_factory=list)
    metrics: list = field(default_factory=list)

    @property
    def final(self) -> list:
        return self.weights[-1]


def run_fedavg(model, client_data: dict, rounds: int, batch_size: int, client_lr: float,
               server_lr: float = 1.0, initial_weights=None, epochs: int = 1, loss=None,
               sample: Callable[[int, list], list] | None = None,
               evaluate: Callable[[list], dict] | None = None) -> FedAvgHistory:
    """Run ``rounds`` FedAvg rounds from ``initial_weights`` (default: the model's current weights).

    ``sample(round, client_ids)`` may pick the clients of each round (default: all of them);
    ``evaluate(weights)`` is called on the initial and on every round's global weights and its
    dicts are collected in ``history.metrics``.
    """
    _check_clients(client_data)
    rounds = _check_int("rounds", rounds, 0)
    weights = as_weights(initial_weights if initial_weights is not None else model.get_weights(),
                         "initial_weights")
    history = FedAvgHistory(weights=[weights])
    if evaluate is not None:
        history.metrics.append(evaluate(weights))
    ids = list(client_data)
    for r in range(1, rounds + 1):
        chosen = ids if sample is None else list(sample(r, ids))
        unknown = [c for c in chosen if c not in client_data]
        if not chosen or unknown:
            raise ValueError(f"sample() must return known clients, got {chosen!r}")
        weights = fedavg_round(model, weights, {c: client_data[c] for c in chosen}, batch_size,
                               client_lr, server_lr, epochs=epochs, loss=loss)
        history.weights.append(weights)
        if evaluate is not None:
            history.metrics.append(evaluate(weights))
    return history


def sample_clients(client_ids: Sequence, num_clients: int, seed: int = 0) -> list:
    """Pick ``num_clients`` distinct clients uniformly at random (what the seed's
    non-existent ``tff.util.sample_clients`` was meant to do). Sampling happens in Python,
    on the orchestrating machine, before a round: TFF only ever sees the chosen clients' data.
    """
    ids = list(client_ids)
    if not ids or len(set(map(repr, ids))) != len(ids):
        raise ValueError(f"client_ids must be a non-empty list of distinct ids, got {client_ids!r}")
    num_clients = _check_int("num_clients", num_clients, 1)
    if num_clients > len(ids):
        raise ValueError(f"num_clients={num_clients} is more than the {len(ids)} clients available")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    chosen = np.random.default_rng(int(seed)).choice(len(ids), size=num_clients, replace=False)
    return [ids[i] for i in sorted(chosen)]


def max_abs_difference(a, b) -> float:
    """Largest absolute difference between two weight lists of the same shapes."""
    a, b = as_weights(a, "a"), as_weights(b, "b")
    if [x.shape for x in a] != [x.shape for x in b]:
        raise ValueError(f"shapes differ: {[x.shape for x in a]} vs {[x.shape for x in b]}")
    return float(max(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))) for x, y in zip(a, b)))


# --------------------------------------------------------------------------
# Small TFF helpers
# --------------------------------------------------------------------------

def tff_client_datasets(client_data: dict, batch_size: int) -> list:
    """``{client: (X, y)}`` → list of ``tf.data`` datasets of in-order ``(x, y)`` float32 batches."""
    _check_clients(client_data)
    batch_size = _check_int("batch_size", batch_size, 1)
    import tensorflow as tf

    return [tf.data.Dataset.from_tensor_slices((np.asarray(X, np.float32), np.asarray(y, np.float32)))
            .batch(batch_size) for X, y in client_data.values()]


def tff_model_fn(build_keras_model: Callable, element_spec, loss_fn: Callable | None = None,
                 metrics_fn: Callable | None = None) -> Callable:
    """A no-argument ``model_fn`` for TFF's learning API.

    TFF calls it (several times, inside its own graphs) to get a fresh
    ``tff.learning.models.VariableModel``; so it must *build* the Keras model, never reuse one.
    ``loss_fn``/``metrics_fn`` build the loss and the metrics list (defaults: binary
    cross-entropy and binary accuracy).
    """
    if not callable(build_keras_model):
        raise ValueError(f"build_keras_model must be a function returning a new Keras model, got {build_keras_model!r}")
    if hasattr(build_keras_model, "trainable_variables"):
        raise ValueError("pass a function that builds the Keras model, not a model instance")
    import tensorflow as tf
    import tensorflow_federated as tff

    loss_fn = loss_fn or tf.keras.losses.BinaryCrossentropy
    metrics_fn = metrics_fn or (lambda: [tf.keras.metrics.BinaryAccuracy()])

    def model_fn():
        return tff.learning.models.from_keras_model(
            build_keras_model(), input_spec=element_spec, loss=loss_fn(), metrics=metrics_fn())

    return model_fn


def build_tff_fedavg(model_fn: Callable, client_lr: float, server_lr: float = 1.0):
    """``build_weighted_fed_avg`` with plain SGD at both ends (the from-scratch FedAvg's settings)."""
    client_lr, server_lr = _check_lr("client_lr", client_lr), _check_lr("server_lr", server_lr)
    if not callable(model_fn):
        raise ValueError(f"model_fn must be callable, got {model_fn!r}")
    import tensorflow_federated as tff

    return tff.learning.algorithms.build_weighted_fed_avg(
        model_fn,
        client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=client_lr),
        server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=server_lr),
    )


def tff_model_weights(process, state) -> list:
    """The global model's trainable weights in a TFF learning-process state, as NumPy arrays."""
    if not hasattr(process, "get_model_weights"):
        raise ValueError(f"process must be a TFF learning process, got {type(process).__name__}")
    return [np.asarray(w) for w in process.get_model_weights(state).trainable]
