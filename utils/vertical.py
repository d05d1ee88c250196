"""Vertical federated learning: a logistic regression split between two parties that hold different
columns of the same customers, and what the values they exchange leak. Introduced in chapter 08.

Party A (the bank) holds columns X_A and the labels y; party B (the retailer) holds columns X_B of the
same, aligned customers (aligned by ``utils.psi``). The model is p = σ(X_A w_A + X_B w_B + b); each
party keeps its own weights. One step of full-batch gradient descent:

1. B computes its partial logits z_B = X_B w_B and sends them to A;
2. A computes p = σ(X_A w_A + z_B + b) and the residuals r = p − y, updates w_A and b, and sends r to B;
3. B updates w_B ← w_B − lr · X_Bᵀ r / n.

That is exactly gradient descent on the joined table (``split_logistic_regression`` records every
value that crosses). Nothing is encrypted here: production systems (e.g. Hardy et al. 2017, FATE)
encrypt these messages with an additively homomorphic scheme. The leaks this module measures:

* the residuals give B every label: p lies in (0, 1), so r < 0 exactly when y = 1
  (``labels_from_residuals``);
* the partial logits, round after round, are T linear views X_B w_B^(t) of B's columns: A can rebuild
  B's columns from them given a few customers whose B-values it knows (``reconstruct_columns``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v
from utils.models import sigmoid

__all__ = ["SplitRun", "split_logistic_regression", "labels_from_residuals", "reconstruct_columns", "r_squared"]


@dataclass
class SplitRun:
    """The result of ``split_logistic_regression``: each party's final weights, A's bias, A's loss per
    step, and (with ``record``) the messages: ``b_to_a[t]`` = z_B and ``a_to_b[t]`` = r of step t."""

    w_a: np.ndarray
    w_b: np.ndarray
    bias: float
    loss: np.ndarray
    b_to_a: np.ndarray | None = None
    a_to_b: np.ndarray | None = None

    @property
    def theta(self) -> np.ndarray:
        """The joint model (w_A, w_B, b), in the order of the joined columns [X_A, X_B]."""
        return np.concatenate([self.w_a, self.w_b, [self.bias]])


def split_logistic_regression(XA, XB, y, steps: int, lr: float, record: bool = True) -> SplitRun:
    """Full-batch gradient descent on the mean log-loss, split between A (``XA``, labels ``y``) and B
    (``XB``), from zero weights; only partial logits (B → A) and residuals (A → B) cross."""
    XA, y = v.xy(XA, y, "A", labels01=True)
    XB = v.matrix("XB", XB)
    if len(XB) != len(y):
        raise ValueError(f"XB has {len(XB)} rows but XA and y have {len(y)}: align the customers first")
    steps, lr, record = v.integer("steps", steps, 1, 100_000), v.positive("lr", lr), v.flag("record", record)
    v.budget("record", steps * len(y) * 2 if record else 0, v.MAX_FLOATS_KEPT, "numbers kept")
    n = len(y)
    w_a, w_b, b = np.zeros(XA.shape[1]), np.zeros(XB.shape[1]), 0.0
    losses, sent_b, sent_a = [], [], []
    for _ in range(steps):
        z_b = XB @ w_b                          # B → A
        z = XA @ w_a + z_b + b
        p = sigmoid(z)
        r = p - y                               # A → B
        losses.append(float(np.mean(np.logaddexp(0.0, z) - y * z)))
        if record:
            sent_b.append(z_b)
            sent_a.append(r)
        w_a, b = w_a - lr * XA.T @ r / n, b - lr * r.mean()
        w_b = w_b - lr * XB.T @ r / n           # B's step, from the residuals it received
    return SplitRun(w_a=w_a, w_b=w_b, bias=float(b), loss=np.array(losses),
                    b_to_a=np.array(sent_b) if record else None, a_to_b=np.array(sent_a) if record else None)


def labels_from_residuals(residuals) -> np.ndarray:
    """B's guess of the labels from one step's residuals r = p − y: 1 where r < 0."""
    r = v.vector("residuals", residuals)
    return (r < 0).astype(float)


def reconstruct_columns(received, known, targets) -> np.ndarray:
    """A's estimate of B's columns for every customer from the partial logits it received.

    ``received``: (T, n) partial logits of T steps; ``known``: indices of customers whose B-columns A
    knows; ``targets``: (len(known), d) those values. Fits one linear map from each customer's T
    received values (plus a constant) to B's columns by least squares on the known customers and
    applies it to all n."""
    Z = v.array("received", received)
    if Z.ndim != 2 or Z.size == 0:
        raise ValueError(f"received must be a (steps, customers) array, got shape {Z.shape}")
    v.finite("received", Z)
    known = np.asarray(known)
    if known.ndim != 1 or len(known) == 0 or known.dtype.kind not in "iu" or known.min() < 0 \
            or known.max() >= Z.shape[1] or len(np.unique(known)) != len(known):
        raise ValueError(f"known must be distinct customer indices in [0, {Z.shape[1]}), got {known!r}"[:160])
    T = v.matrix("targets", targets)
    if len(T) != len(known):
        raise ValueError(f"targets has {len(T)} rows but known has {len(known)} customers")
    features = np.column_stack([Z.T, np.ones(Z.shape[1])])
    mapping, *_ = np.linalg.lstsq(features[known], T, rcond=None)
    return features @ mapping


def r_squared(actual, predicted) -> np.ndarray:
    """1 − SSE/SST per column: 1 = recovered exactly, 0 = no better than each column's mean."""
    A = v.matrix("actual", actual)
    P = v.matrix("predicted", predicted, columns=A.shape[1])
    if len(P) != len(A):
        raise ValueError(f"predicted has {len(P)} rows but actual has {len(A)}")
    sst = ((A - A.mean(axis=0)) ** 2).sum(axis=0)
    return 1 - ((A - P) ** 2).sum(axis=0) / np.where(sst > 0, sst, np.nan)
