"""Exact results for linear regression, where FedAvg can be solved on paper. Introduced in chapter 03.

For squared error the gradient is affine, ∇F_k(θ) = H_k θ − c_k, so a local step is affine too and
both the federated optimum and the point FedAvg converges to have closed forms. Chapter 03 derives
them and checks them against long runs of ``utils.fedcore``; ``two_source_regression`` makes the
chapter's two data sources A and B.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v
from utils.fedcore import client_weights

__all__ = ["quadratic_terms", "linear_optimum", "linear_fedavg_fixed_point", "TwoSources",
           "two_source_regression"]


def quadratic_terms(X, y) -> tuple:
    """(H, c) with ∇F_k(θ) = H θ − c for the mean squared error on (X, y):
    H = (2/n) X̃ᵀX̃ and c = (2/n) X̃ᵀy, where X̃ is X with a column of ones (the bias)."""
    X, y = v.xy(X, y)
    Xt = np.column_stack([X, np.ones(len(y))])
    return 2.0 / len(y) * Xt.T @ Xt, 2.0 / len(y) * Xt.T @ y


def _terms(clients):
    _, pairs = v.clients(clients)
    p = client_weights([len(y) for _, y in pairs])
    return p, [quadratic_terms(X, y) for X, y in pairs]


def linear_optimum(clients) -> np.ndarray:
    """The minimiser of the federated squared error = the least-squares fit on the pooled rows."""
    p, terms = _terms(clients)
    H = sum(pk * Hk for pk, (Hk, _) in zip(p, terms))
    c = sum(pk * ck for pk, (_, ck) in zip(p, terms))
    try:
        return np.linalg.solve(H, c)
    except np.linalg.LinAlgError:
        raise ValueError("the pooled features are collinear: the least-squares fit is not unique") from None


def linear_fedavg_fixed_point(clients, lr: float, local_steps: int) -> np.ndarray:
    """Where full-batch FedAvg (server lr 1) converges on the squared error, if it converges.

    E local steps give θ_k = M_k^E θ + S_k lr c_k with M_k = I − lr H_k and
    S_k = I + M_k + … + M_k^(E−1); the fixed point solves (I − Σ_k p_k M_k^E) θ = Σ_k p_k S_k lr c_k.
    With one local step it is the optimum; with more it drifts when clients differ.
    """
    lr = v.positive("lr", lr)
    local_steps = v.integer("local_steps", local_steps, 1, 100_000)
    p, terms = _terms(clients)
    d = len(terms[0][1])
    lhs, rhs = np.eye(d), np.zeros(d)
    for pk, (H, c) in zip(p, terms):
        M = np.eye(d) - lr * H
        power, S = np.eye(d), np.zeros((d, d))
        for _ in range(local_steps):
            S += power
            power = power @ M
        lhs -= pk * power
        rhs += pk * S @ (lr * c)
    try:
        return np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError:
        raise ValueError(f"FedAvg with lr={lr} and local_steps={local_steps} has no unique fixed point") from None


@dataclass(frozen=True)
class TwoSources:
    """Two data sources for one-feature linear regression y = w x + b + noise."""

    clients: dict       # {"A": (X, y), "B": (X, y)}, X of shape (n, 1)
    true_theta: dict    # {"A": array([w, b]), "B": array([w, b])}
    heterogeneity: float


def two_source_regression(n_a: int = 1000, n_b: int = 1000, heterogeneity: float = 1.0,
                          noise: float = 0.5, seed: int = 0) -> TwoSources:
    """Sources A and B of chapter 03's worked example.

    ``heterogeneity = h`` moves them apart in two ways at once: A's feature is drawn from
    N(−h, (1/(1+h))²) and B's from N(+h, 1), and A's true line is (w, b) = (1 − h, 1 + h) while B's
    is (1 + h, 1 − h). With h = 0 both draw from one distribution (and differ by sampling noise only).
    """
    n_a = v.integer("n_a", n_a, 1, v.MAX_ROWS)
    n_b = v.integer("n_b", n_b, 1, v.MAX_ROWS)
    h = v.nonneg("heterogeneity", heterogeneity)
    noise = v.nonneg("noise", noise)
    rng = np.random.default_rng(v.seed("seed", seed))
    true = {"A": np.array([1.0 - h, 1.0 + h]), "B": np.array([1.0 + h, 1.0 - h])}
    x_a = rng.normal(-h, 1.0 / (1.0 + h), n_a)
    x_b = rng.normal(h, 1.0, n_b)
    y_a = true["A"][0] * x_a + true["A"][1] + noise * rng.normal(size=n_a)
    y_b = true["B"][0] * x_b + true["B"][1] + noise * rng.normal(size=n_b)
    return TwoSources(clients={"A": (x_a[:, None], y_a), "B": (x_b[:, None], y_b)},
                      true_theta=true, heterogeneity=h)
