"""FedAvg for any Keras model: the gradient comes from ``tf.GradientTape`` instead of a formula.
Introduced in chapter 04, which writes FedAvg out in NumPy first and checks this module (and TFF's
``build_weighted_fed_avg``) against it.

Only local training is Keras-specific: the server's side (weighted mean of the updates, server
step) is ``utils.fedcore``'s, applied to the weights flattened into one vector. Weights are lists
of arrays in ``model.get_weights()`` order (for ``Dense(1)``: ``[kernel, bias]``).
"""
from __future__ import annotations

import numpy as np

from utils import validate as v
from utils.fedcore import FedHistory, ServerOptimizer, client_weights
from utils.local_training import _check_batches, epoch_batches

__all__ = ["keras_model", "local_sgd", "fedavg_round", "run_fedavg"]


def keras_model(n_features: int = 13, hidden: int | None = None, kernel_initializer: str = "glorot_uniform"):
    """Logistic regression ``Dense(1, sigmoid)`` on ``n_features`` inputs, or with one hidden
    ``Dense(hidden, relu)`` layer before it."""
    import tensorflow as tf

    n_features = v.integer("n_features", n_features, 1, 100_000)
    if not isinstance(kernel_initializer, str):
        raise TypeError(f"kernel_initializer must be a Keras initializer name, got {kernel_initializer!r}")
    layers = [tf.keras.Input(shape=(n_features,))]
    if hidden is not None:
        layers.append(tf.keras.layers.Dense(v.integer("hidden", hidden, 1, 100_000), activation="relu",
                                            kernel_initializer=kernel_initializer))
    layers.append(tf.keras.layers.Dense(1, activation="sigmoid", kernel_initializer=kernel_initializer))
    return tf.keras.Sequential(layers)


def _check_model(model):
    if not hasattr(model, "trainable_variables") or not hasattr(model, "set_weights"):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    return model


def local_sgd(model, weights, X, y, batches, lr: float, loss=None) -> list:
    """Client training: start ``model`` at ``weights``, one plain SGD step per batch of row
    indices in ``batches`` (see ``utils.local_training.epoch_batches``); returns the new weights.
    ``loss`` defaults to binary cross-entropy (mean over the batch)."""
    import tensorflow as tf

    model = _check_model(model)
    X, y = v.xy(X, y)
    batches = _check_batches(batches, len(y))
    lr = v.positive("lr", lr)
    loss_fn = v.function("loss", loss) if loss is not None else tf.keras.losses.BinaryCrossentropy()
    model.set_weights(v.weight_list("weights", weights))
    variables = model.trainable_variables
    Xf, yf = X.astype(np.float32), y.astype(np.float32)
    for idx in batches:
        with tf.GradientTape() as tape:
            value = loss_fn(tf.convert_to_tensor(yf[idx]), model(Xf[idx], training=True))
        for var, grad in zip(variables, tape.gradient(value, variables)):
            var.assign_sub(lr * grad)
    return model.get_weights()


def _flat(weights) -> np.ndarray:
    return np.concatenate([np.ravel(w) for w in weights])


def fedavg_round(model, global_weights, clients: dict, batch_size: int, client_lr: float,
                 server_lr: float = 1.0, epochs: int = 1, loss=None) -> list:
    """One FedAvg round over every client of ``clients = {name: (X, y)}``: local SGD (``epochs``
    passes in row order), then w ← w + server_lr Σ_k (n_k/n)(w_k − w). Returns the new weights."""
    names, pairs = v.clients(clients)
    w = v.weight_list("global_weights", global_weights)
    batch_size, epochs = v.integer("batch_size", batch_size, 1), v.integer("epochs", epochs, 1)
    client_lr, server_lr = v.positive("client_lr", client_lr), v.positive("server_lr", server_lr)
    loss = None if loss is None else v.function("loss", loss)
    updates = [_flat(local_sgd(model, w, X, y, epoch_batches(len(y), batch_size, epochs), client_lr, loss))
               - _flat(w) for X, y in pairs]
    shares = client_weights([len(y) for _, y in pairs])
    theta = ServerOptimizer("sgd", server_lr).apply(_flat(w), shares @ np.array(updates), {})
    cuts = np.cumsum([a.size for a in w])[:-1]
    return [part.reshape(a.shape).astype(np.float32) for part, a in zip(np.split(theta, cuts), w)]


def run_fedavg(model, clients: dict, rounds: int, batch_size: int, client_lr: float, server_lr: float = 1.0,
               initial_weights=None, epochs: int = 1, loss=None) -> FedHistory:
    """``rounds`` FedAvg rounds from ``initial_weights`` (default: the model's own); the
    ``FedHistory``'s ``weights(r)`` gives the global weights after round r as Keras lists."""
    model = _check_model(model)
    rounds = v.integer("rounds", rounds, 0, 100_000)
    names, pairs = v.clients(clients)
    v.integer("batch_size", batch_size, 1), v.integer("epochs", epochs, 1)
    v.positive("client_lr", client_lr), v.positive("server_lr", server_lr)
    if loss is not None:
        v.function("loss", loss)
    w = v.weight_list("initial_weights", initial_weights if initial_weights is not None else model.get_weights())
    path = [w]
    for _ in range(rounds):
        path.append(fedavg_round(model, path[-1], clients, batch_size, client_lr, server_lr, epochs, loss))
    sizes = np.array([len(y) for _, y in pairs])
    return FedHistory(server=np.array([_flat(p) for p in path]), names=names, sizes=sizes,
                      shares=client_weights(sizes), shapes=tuple(a.shape for a in w))
