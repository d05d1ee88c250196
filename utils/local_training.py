"""Local training: how one client walks its rows and improves the model it received.
Introduced in chapter 02 (one pass of mini-batch SGD, written out); ``utils.fedcore`` runs it at
every client of every round, and chapter 05 trains its local-only and pooled baselines with it.

Batches are lists of row indices. ``epoch_batches`` makes passes over the rows (Keras ``fit``,
PyTorch's DataLoader); ``stream_batches`` takes a fixed number of full batches from an endless
stream of passes (tf.data's ``repeat().batch().take()``, which TFF's clients iterate).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v
from utils.models import loss_named

__all__ = ["epoch_batches", "stream_batches", "Schedule", "local_train"]


# ---- how a client walks its rows ---------------------------------------------------------------

def epoch_batches(n: int, batch_size: int | None = None, epochs: int = 1, rng=None) -> list:
    """Row indices of each step for ``epochs`` passes over ``n`` rows (Keras ``fit``, PyTorch's
    DataLoader): each pass in row order, or freshly permuted by ``rng``; the last batch of a pass
    may be smaller. ``batch_size=None`` uses all rows in every step."""
    n = v.integer("n", n, 1, v.MAX_ROWS)
    epochs = v.integer("epochs", epochs, 1)
    rng = v.generator("rng", rng)
    b = n if batch_size is None else v.integer("batch_size", batch_size, 1)
    v.budget("epoch_batches", epochs * -(-n // b), v.MAX_STEPS, "steps")
    out = []
    for _ in range(epochs):
        order = np.arange(n) if rng is None else rng.permutation(n)
        out += [order[i:i + b] for i in range(0, n, b)]
    return out


def stream_batches(n: int, batch_size: int | None, steps: int, rng=None) -> list:
    """Row indices of ``steps`` batches from an endless stream of passes, as tf.data's
    ``shuffle().repeat().batch(b).take(steps)``: batches are full and may straddle two passes."""
    n = v.integer("n", n, 1, v.MAX_ROWS)
    steps = v.integer("steps", steps, 1, v.MAX_STEPS)
    rng = v.generator("rng", rng)
    if batch_size is None:
        return [np.arange(n)] * steps
    b = v.integer("batch_size", batch_size, 1)
    need = v.budget("stream_batches", b * steps, v.MAX_STEPS, "row visits")
    passes = [np.arange(n) if rng is None else rng.permutation(n) for _ in range(-(-need // n))]
    return list(np.concatenate(passes)[:need].reshape(steps, b))


@dataclass(frozen=True)
class Schedule:
    """How each client walks its rows in one round: ``epochs`` passes, or a fixed number of
    ``steps`` (tf.data style, see ``stream_batches``); ``batch_size=None`` = all rows per step.
    ``shuffle`` draws each pass's order from the run's random generator."""

    batch_size: int | None = None
    epochs: int | None = None
    steps: int | None = None
    shuffle: bool = False

    def __post_init__(self):
        if self.batch_size is not None:
            v.integer("batch_size", self.batch_size, 1)
        if (self.epochs is None) == (self.steps is None):
            raise ValueError(f"give exactly one of epochs and steps, got epochs={self.epochs!r}, steps={self.steps!r}")
        if self.epochs is not None:
            v.integer("epochs", self.epochs, 1)
        if self.steps is not None:
            v.integer("steps", self.steps, 1)
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {self.shuffle!r}")

    def batches(self, n: int, rng=None) -> list:
        """The row indices of each step for a client with ``n`` rows (``rng`` shuffles, if on)."""
        rng = v.generator("rng", rng)
        rng = rng if self.shuffle else None
        if self.steps is not None:
            return stream_batches(n, self.batch_size, self.steps, rng)
        return epoch_batches(n, self.batch_size, self.epochs, rng)

    def examples(self, n: int) -> int:
        """Examples processed by a client with ``n`` rows in one round (TFF's NUM_EXAMPLES)."""
        n = v.integer("n", n, 1, v.MAX_ROWS)
        if self.steps is not None:
            return self.steps * (n if self.batch_size is None else self.batch_size)
        return self.epochs * n

    def num_steps(self, n: int) -> int:
        """Local steps of a client with ``n`` rows in one round."""
        n = v.integer("n", n, 1, v.MAX_ROWS)
        return self.steps if self.steps is not None else self.epochs * -(-n // (self.batch_size or n))


# ---- local training ---------------------------------------------------------------------------------

def _train(theta, X, y, batches, grad, lr, optimizer, mu, anchor, eps):
    theta = theta.copy()
    if optimizer == "adam":
        m, s = np.zeros_like(theta), np.zeros_like(theta)
    for t, idx in enumerate(batches, start=1):
        g = grad(theta, X[idx], y[idx])
        if mu:
            g = g + mu * (theta - anchor)
        if optimizer == "sgd":
            theta = theta - lr * g
        else:  # Adam (Kingma & Ba) with bias correction, as Keras and PyTorch
            m = 0.9 * m + 0.1 * g
            s = 0.999 * s + 0.001 * g * g
            theta = theta - lr * (m / (1 - 0.9 ** t)) / (np.sqrt(s / (1 - 0.999 ** t)) + eps)
    return theta


def _check_batches(batches, n: int) -> list:
    if not isinstance(batches, (list, tuple)) or not batches:
        raise TypeError(f"batches must be a non-empty list of row-index arrays, got {type(batches).__name__}")
    out = []
    for i, idx in enumerate(batches):
        idx = np.asarray(idx)
        if idx.ndim != 1 or len(idx) == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"batches[{i}] must be a non-empty array of row indices in [0, {n}), got {idx!r}")
        out.append(idx)
    return out


def local_train(theta, X, y, batches, *, model: str = "logistic", lr: float = 0.1, optimizer: str = "sgd",
                mu: float = 0.0, anchor=None, eps: float = 1e-8) -> np.ndarray:
    """What one client does in a round: a gradient step per batch of ``batches`` (row indices, see
    ``epoch_batches``/``stream_batches``) starting from ``theta``; returns the local model.

    ``optimizer`` "sgd" or "adam". ``mu`` adds FedProx's gradient μ·(θ − anchor), anchor = the
    round's global model (default: ``theta``). A negative ``mu`` reproduces TFF 0.87's
    ``build_weighted_fed_prox``, whose proximal term has the opposite sign (chapter 05).
    """
    loss = loss_named(model)
    X, y = v.xy(X, y, labels01=loss.labels01)
    theta = v.vector("theta", theta, X.shape[1] + 1)
    anchor = theta if anchor is None else v.vector("anchor", anchor, len(theta))
    return _train(theta, X, y, _check_batches(batches, len(y)), loss.grad, v.positive("lr", lr),
                  v.choice("optimizer", optimizer, ("sgd", "adam")), v.number("mu", mu), anchor,
                  v.positive("eps", eps))
