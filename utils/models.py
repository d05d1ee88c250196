"""The NumPy models every chapter trains: linear and logistic regression (and a one-hidden-layer
network for prediction only). Introduced in chapters 02 (logistic regression, written out) and 03
(squared error, derived).

A model's parameters are one vector ``theta = (w_1, ..., w_d, b)``, bias last. Keras and TFF keep a
list of arrays instead (``[kernel (d, 1), bias (1,)]``); ``to_theta`` and ``to_weights`` convert.

``LOSSES`` maps a name ("mse", "logistic") to its ``Loss``: the mean loss and its gradient, as
unchecked functions for inner loops. The public ``mse_loss``, ``logistic_grad``, ... check their
inputs first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from utils import validate as v

__all__ = ["sigmoid", "mse_loss", "mse_grad", "logistic_loss", "logistic_grad", "LOSSES", "Loss",
           "predict_proba", "accuracy", "to_theta", "to_weights", "initial_weights", "max_abs_difference"]


def sigmoid(z):
    """1 / (1 + e^-z), without overflow warnings for large |z|."""
    z = v.finite("z", v.array("z", z))
    return np.exp(-np.logaddexp(0.0, -z))


# ---- unchecked kernels (inner loops call these) ---------------------------------------------

def _mse_loss(theta, X, y):
    r = X @ theta[:-1] + theta[-1] - y
    return float(np.mean(r * r))


def _mse_grad(theta, X, y):
    r = X @ theta[:-1] + theta[-1] - y
    return 2.0 / len(y) * np.append(X.T @ r, r.sum())


def _logistic_loss(theta, X, y):
    z = X @ theta[:-1] + theta[-1]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))  # log(1 + e^z) - y z, stable


def _logistic_grad(theta, X, y):
    err = 0.5 * (1.0 + np.tanh(0.5 * (X @ theta[:-1] + theta[-1]))) - y  # sigmoid without overflow
    return np.append(X.T @ err, err.sum()) / len(y)


@dataclass(frozen=True)
class Loss:
    """A model's mean loss and its gradient, both ``(theta, X, y) -> value``, inputs unchecked."""

    name: str
    loss: Callable
    grad: Callable
    labels01: bool  # labels must be 0/1


LOSSES = {"mse": Loss("mse", _mse_loss, _mse_grad, False),
          "logistic": Loss("logistic", _logistic_loss, _logistic_grad, True)}


def loss_named(model) -> Loss:
    """``LOSSES[model]``, with an error listing the choices."""
    return LOSSES[v.choice("model", model, LOSSES)]


# ---- checked versions -------------------------------------------------------------------------

def _checked(theta, X, y, labels01: bool):
    X, y = v.xy(X, y, labels01=labels01)
    theta = v.vector("theta", theta, X.shape[1] + 1)
    return theta, X, y


def mse_loss(theta, X, y) -> float:
    """Mean squared error of the line ``X @ w + b`` (theta = (w, b))."""
    return _mse_loss(*_checked(theta, X, y, False))


def mse_grad(theta, X, y) -> np.ndarray:
    """Gradient of ``mse_loss``: (2/n) Σ_i r_i (x_i, 1) with r_i = x_i·w + b − y_i."""
    return _mse_grad(*_checked(theta, X, y, False))


def logistic_loss(theta, X, y) -> float:
    """Mean binary cross-entropy of p = sigmoid(X·w + b); labels 0 or 1."""
    return _logistic_loss(*_checked(theta, X, y, True))


def logistic_grad(theta, X, y) -> np.ndarray:
    """Gradient of ``logistic_loss``: (1/n) Σ_i (sigmoid(z_i) − y_i) (x_i, 1)."""
    return _logistic_grad(*_checked(theta, X, y, True))


# ---- predictions ------------------------------------------------------------------------------

def _layers(model) -> list:
    """A model as [W, b] pairs: from theta (logistic regression) or a Keras-order weight list."""
    if isinstance(model, np.ndarray) and model.ndim == 1:
        theta = v.vector("model", model)
        return [(theta[:-1, None], theta[-1:])]
    weights = v.weight_list("model", model)
    if len(weights) not in (2, 4):
        raise ValueError("model must be theta, [W, b] (logistic regression) or [W1, b1, W2, b2] "
                         f"(one hidden layer), got a list of {len(weights)} arrays")
    pairs = [(weights[i].reshape(weights[i].shape[0], -1), weights[i + 1].reshape(-1))
             for i in range(0, len(weights), 2)]
    for (W, b), (W2, _) in zip(pairs, pairs[1:]):
        if W.shape[1] != W2.shape[0] or W.shape[1] != len(b):
            raise ValueError(f"model's layer shapes do not chain: {W.shape}, {b.shape}, then {W2.shape}")
    if pairs[-1][0].shape[1] != 1 or len(pairs[-1][1]) != 1:
        raise ValueError(f"model must end in one output, got shape {pairs[-1][0].shape}")
    return pairs


def predict_proba(model, X) -> np.ndarray:
    """P(y = 1 | x) for each row of ``X``; ``model`` is theta, [W, b] or [W1, b1, W2, b2] (ReLU)."""
    layers = _layers(model)
    X = v.matrix("X", X, columns=layers[0][0].shape[0])
    h = X
    for W, b in layers[:-1]:
        h = np.maximum(h @ W + b, 0.0)
    W, b = layers[-1]
    return sigmoid((h @ W + b)[:, 0])


def accuracy(model, X, y) -> float:
    """Share of rows where P(y = 1 | x) > 0.5 matches the 0/1 label."""
    y = v.binary("y", v.vector("y", y))
    p = predict_proba(model, X)
    if len(p) != len(y):
        raise ValueError(f"X has {len(p)} rows but y has {len(y)}")
    return float(np.mean((p > 0.5) == (y == 1)))


# ---- conversions and initialisation ---------------------------------------------------------------

def to_theta(weights) -> np.ndarray:
    """[kernel (d, 1), bias (1,)] → theta = (w_1, ..., w_d, b)."""
    weights = v.weight_list("weights", weights)
    if len(weights) != 2 or weights[0].ndim != 2 or weights[0].shape[1] != 1 or weights[1].size != 1:
        raise ValueError("weights must be [kernel (d, 1), bias (1,)] of a logistic regression, "
                         f"got shapes {[w.shape for w in weights]}")
    return np.append(weights[0].reshape(-1), weights[1].reshape(-1))


def to_weights(theta, dtype=np.float32) -> list:
    """theta = (w_1, ..., w_d, b) → [kernel (d, 1), bias (1,)] as Keras and TFF hold them."""
    theta = v.vector("theta", theta)
    if not isinstance(dtype, type) or not issubclass(dtype, np.floating):
        raise TypeError(f"dtype must be a NumPy float type such as np.float32, got {dtype!r}")
    if len(theta) < 2:
        raise ValueError(f"theta needs at least one weight and a bias, got {len(theta)} number(s)")
    return [theta[:-1, None].astype(dtype), theta[-1:].astype(dtype)]


def initial_weights(seed: int, n_features: int = 13, hidden: int | None = None) -> list:
    """Initial weights drawn as PyTorch's ``nn.Linear`` does (FLamby's models are PyTorch): every
    weight and bias ~ Uniform(±1/√fan_in), reproducible from ``seed``. Introduced in chapter 05.

    (Keras' default, Glorot-uniform, is 2.3× wider for 13 inputs; with small learning rates the
    model stays close to its start, so the initialisation matters.)
    """
    seed = v.seed("seed", seed)
    n_features = v.integer("n_features", n_features, 1, 100_000)
    sizes = [n_features] + ([v.integer("hidden", hidden, 1, 100_000)] if hidden is not None else []) + [1]
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = 1.0 / math.sqrt(fan_in)
        weights += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                    rng.uniform(-limit, limit, fan_out).astype(np.float32)]
    return weights


def max_abs_difference(a, b) -> float:
    """Largest absolute difference between two models of the same shapes (vectors or weight lists)."""
    a = [np.asarray(a, float)] if isinstance(a, np.ndarray) else v.weight_list("a", a)
    b = [np.asarray(b, float)] if isinstance(b, np.ndarray) else v.weight_list("b", b)
    if [x.shape for x in a] != [y.shape for y in b]:
        raise ValueError(f"a and b have different shapes: {[x.shape for x in a]} vs {[y.shape for y in b]}")
    return float(max(np.max(np.abs(x - y)) if x.size else 0.0 for x, y in zip(a, b)))
