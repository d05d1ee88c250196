"""The federated objective, FedSGD and FedAvg in plain NumPy. Introduced in chapter 03.

Chapter 03 derives and writes out every function here in the notebook; later chapters import them
from this module (chapter 04 compares them with TensorFlow Federated).

A *model* is given by two functions of the parameter vector ``theta``:

* ``loss_fn(theta, X, y) -> float``: the mean loss over the rows of ``X``;
* ``grad_fn(theta, X, y) -> ndarray``: its gradient with respect to ``theta``.

``mse_loss``/``mse_grad`` (linear regression) and ``logistic_loss``/``logistic_grad`` (logistic
regression) are provided; both use the convention ``theta = (w_1, ..., w_d, b)``, bias last.

*Clients* are a sequence of ``(X, y)`` pairs or a mapping ``name -> (X, y)`` (for example
``FederatedSplit.train``). Client ``k`` holds ``n_k`` rows; ``n = sum(n_k)``. The federated objective is

    F(theta) = sum_k (n_k / n) * F_k(theta),     F_k = mean loss on client k,

which equals the mean loss over the pooled rows. One FedSGD round is one gradient step on ``F``:

    theta <- theta - lr * sum_k (n_k / n) * grad F_k(theta).

One FedAvg round lets every client take ``local_steps`` gradient steps from ``theta`` and then
averages the local models with the same weights n_k / n (optionally through a server learning rate).
With ``local_steps=1`` and full batches FedAvg is exactly FedSGD.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = [
    "client_sizes", "client_weights",
    "mse_loss", "mse_grad", "logistic_loss", "logistic_grad",
    "federated_objective", "federated_gradient", "fedsgd_step",
    "local_update", "fedavg_round", "run_rounds",
    "linear_optimum", "linear_fedavg_fixed_point",
    "TwoSources", "two_source_regression",
]


# --------------------------------------------------------------------------
# Validation (errors name the bad value)
# --------------------------------------------------------------------------

def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)) or not np.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _check_nonneg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)) or not np.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_xy(X, y, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X{where} must be 2-dimensional (rows x features), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"y{where} must be 1-dimensional, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X{where} has {len(X)} rows but y{where} has {len(y)}")
    if len(y) == 0:
        raise ValueError(f"client{where} has no rows")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError(f"X{where} and y{where} must be finite (no NaN or inf)")
    return X, y


def _check_theta(theta, X: np.ndarray) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 1 or theta.shape[0] != X.shape[1] + 1:
        raise ValueError(f"theta must be a vector of {X.shape[1] + 1} numbers (weights, then bias) "
                         f"for {X.shape[1]} features, got shape {theta.shape}")
    return theta


def _clients(clients) -> list[tuple[np.ndarray, np.ndarray]]:
    if isinstance(clients, Mapping):
        items = list(clients.items())
    elif isinstance(clients, (list, tuple)):
        items = list(enumerate(clients))
    else:
        raise ValueError(f"clients must be a list of (X, y) pairs or a dict name -> (X, y), "
                         f"got {type(clients).__name__}")
    if not items:
        raise ValueError("clients is empty: a federation needs at least one client")
    out = []
    for name, pair in items:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"client {name!r} must be an (X, y) pair, got {type(pair).__name__}")
        out.append(_check_xy(*pair, where=f" of client {name!r}"))
    widths = {X.shape[1] for X, _ in out}
    if len(widths) != 1:
        raise ValueError(f"all clients must have the same number of features, got {sorted(widths)}")
    return out


def _check_model_fn(name: str, fn) -> None:
    if not callable(fn):
        raise ValueError(f"{name} must be a function (theta, X, y) -> value, got {fn!r}")


# --------------------------------------------------------------------------
# Weights and models
# --------------------------------------------------------------------------

def client_sizes(clients) -> np.ndarray:
    """n_k for every client, in order."""
    return np.array([len(y) for _, y in _clients(clients)], dtype=int)


def client_weights(sizes) -> np.ndarray:
    """The federated weights n_k / n (they sum to 1). ``sizes`` are the client sizes n_k."""
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or sizes.size == 0:
        raise ValueError(f"sizes must be a non-empty list of client sizes, got {sizes!r}")
    if not np.issubdtype(sizes.dtype, np.number) or not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError(f"every client size must be a positive number, got {sizes.tolist()!r}")
    sizes = sizes.astype(float)
    return sizes / sizes.sum()


def _linear(theta, X):
    return X @ theta[:-1] + theta[-1]


def mse_loss(theta, X, y) -> float:
    """Mean squared error of the linear model y ≈ X·w + b, with theta = (w, b)."""
    X, y = _check_xy(X, y)
    theta = _check_theta(theta, X)
    r = _linear(theta, X) - y
    return float(np.mean(r * r))


def mse_grad(theta, X, y) -> np.ndarray:
    """Gradient of ``mse_loss``: (2/n) * sum_i r_i * (x_i, 1), with r_i = x_i·w + b - y_i."""
    X, y = _check_xy(X, y)
    theta = _check_theta(theta, X)
    r = _linear(theta, X) - y
    return 2.0 / len(y) * np.append(X.T @ r, r.sum())


def logistic_loss(theta, X, y) -> float:
    """Mean binary cross-entropy of p = sigmoid(X·w + b); labels y in {0, 1}."""
    X, y = _check_xy(X, y)
    theta = _check_theta(theta, X)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"logistic labels must be 0 or 1, got values {np.unique(y)[:5].tolist()!r}")
    z = _linear(theta, X)
    # log(1 + e^z) - y z, computed stably
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def logistic_grad(theta, X, y) -> np.ndarray:
    """Gradient of ``logistic_loss``: (1/n) * sum_i (sigmoid(z_i) - y_i) * (x_i, 1)."""
    X, y = _check_xy(X, y)
    theta = _check_theta(theta, X)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"logistic labels must be 0 or 1, got values {np.unique(y)[:5].tolist()!r}")
    z = _linear(theta, X)
    r = 0.5 * (1.0 + np.tanh(0.5 * z)) - y  # sigmoid without overflow
    return np.append(X.T @ r, r.sum()) / len(y)


# --------------------------------------------------------------------------
# The federated objective, FedSGD, FedAvg
# --------------------------------------------------------------------------

def federated_objective(theta, clients, loss_fn=mse_loss) -> float:
    """F(theta) = sum_k (n_k/n) F_k(theta): the pooled mean loss, computed client by client."""
    _check_model_fn("loss_fn", loss_fn)
    data = _clients(clients)
    p = client_weights([len(y) for _, y in data])
    return float(sum(pk * loss_fn(theta, X, y) for pk, (X, y) in zip(p, data)))


def federated_gradient(theta, clients, grad_fn=mse_grad) -> np.ndarray:
    """grad F(theta) = sum_k (n_k/n) grad F_k(theta): what the server assembles in FedSGD."""
    _check_model_fn("grad_fn", grad_fn)
    data = _clients(clients)
    p = client_weights([len(y) for _, y in data])
    return sum(pk * np.asarray(grad_fn(theta, X, y), dtype=float) for pk, (X, y) in zip(p, data))


def fedsgd_step(theta, clients, grad_fn=mse_grad, lr: float = 0.1) -> np.ndarray:
    """One FedSGD round: theta - lr * sum_k (n_k/n) grad F_k(theta)."""
    lr = _check_positive("lr", lr)
    theta = np.asarray(theta, dtype=float)
    return theta - lr * federated_gradient(theta, clients, grad_fn)


def local_update(theta, X, y, grad_fn=mse_grad, lr: float = 0.1, local_steps: int = 1,
                 batch_size: int | None = None) -> np.ndarray:
    """What one client does in a FedAvg round: ``local_steps`` gradient steps from ``theta``.

    With ``batch_size=None`` each step uses all the client's rows (full-batch gradient descent).
    With a ``batch_size`` the steps walk through consecutive batches of that size in row order
    (the last batch may be smaller) and wrap around, so ``ceil(n_k / batch_size)`` steps are one
    local epoch.
    """
    _check_model_fn("grad_fn", grad_fn)
    lr = _check_positive("lr", lr)
    local_steps = _check_int("local_steps", local_steps, 1)
    X, y = _check_xy(X, y)
    theta = np.array(theta, dtype=float)
    if batch_size is None:
        batches = [(X, y)]
    else:
        batch_size = _check_int("batch_size", batch_size, 1)
        batches = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]
    for step in range(local_steps):
        Xb, yb = batches[step % len(batches)]
        theta = theta - lr * np.asarray(grad_fn(theta, Xb, yb), dtype=float)
    return theta


def fedavg_round(theta, clients, grad_fn=mse_grad, lr: float = 0.1, local_steps: int = 1,
                 batch_size: int | None = None, server_lr: float = 1.0) -> np.ndarray:
    """One FedAvg round: local updates, then the (n_k/n)-weighted average of the local models.

    Written as the server sees it: theta + server_lr * sum_k (n_k/n) (theta_k - theta). With
    ``server_lr=1`` this is exactly sum_k (n_k/n) theta_k, the weighted average of the local models.
    """
    server_lr = _check_positive("server_lr", server_lr)
    data = _clients(clients)
    theta = np.asarray(theta, dtype=float)
    p = client_weights([len(y) for _, y in data])
    delta = sum(pk * (local_update(theta, X, y, grad_fn, lr, local_steps, batch_size) - theta)
                for pk, (X, y) in zip(p, data))
    return theta + server_lr * delta


def run_rounds(theta0, clients, grad_fn=mse_grad, lr: float = 0.1, rounds: int = 10,
               local_steps: int = 1, batch_size: int | None = None,
               server_lr: float = 1.0) -> np.ndarray:
    """Run FedAvg (FedSGD when ``local_steps=1`` and ``batch_size=None``) for ``rounds`` rounds.

    Returns the trajectory, an array of shape (rounds + 1, len(theta0)) starting with theta0.
    Once a round produces a non-finite model (divergence) the remaining rows are NaN.
    """
    rounds = _check_int("rounds", rounds, 0)
    theta = np.asarray(theta0, dtype=float)
    if theta.ndim != 1 or not np.isfinite(theta).all():
        raise ValueError(f"theta0 must be a finite 1-dimensional vector, got {theta0!r}")
    path = np.full((rounds + 1, theta.size), np.nan)
    path[0] = theta
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(rounds):
            theta = fedavg_round(theta, clients, grad_fn, lr, local_steps, batch_size, server_lr)
            if not np.isfinite(theta).all():
                break
            path[t + 1] = theta
    return path


# --------------------------------------------------------------------------
# Exact results for linear regression (least squares)
# --------------------------------------------------------------------------

def _normal_equations(X, y):
    """A = (2/n) X~'X~ and c = (2/n) X~'y, so that mse_grad(theta) = A theta - c."""
    Xt = np.column_stack([X, np.ones(len(y))])
    return 2.0 / len(y) * Xt.T @ Xt, 2.0 / len(y) * Xt.T @ y


def linear_optimum(clients) -> np.ndarray:
    """The minimiser of the federated MSE objective = the least-squares fit on the pooled rows."""
    data = _clients(clients)
    p = client_weights([len(y) for _, y in data])
    A = sum(pk * _normal_equations(X, y)[0] for pk, (X, y) in zip(p, data))
    c = sum(pk * _normal_equations(X, y)[1] for pk, (X, y) in zip(p, data))
    try:
        return np.linalg.solve(A, c)
    except np.linalg.LinAlgError as error:
        raise ValueError("the pooled features are collinear: the least-squares fit is not unique") from error


def linear_fedavg_fixed_point(clients, lr: float, local_steps: int) -> np.ndarray:
    """Where full-batch FedAvg on the MSE objective converges to (if it converges).

    A local gradient step is affine, theta <- M_k theta + lr c_k with M_k = I - lr A_k, so E steps give
    theta_k = M_k^E theta + S_k lr c_k with S_k = I + M_k + ... + M_k^(E-1); the server's average is
    affine too and its fixed point solves (I - sum_k p_k M_k^E) theta = sum_k p_k S_k lr c_k.
    With local_steps=1 this is the global optimum; for larger E it drifts away when clients differ.
    """
    lr = _check_positive("lr", lr)
    local_steps = _check_int("local_steps", local_steps, 1)
    data = _clients(clients)
    p = client_weights([len(y) for _, y in data])
    d = data[0][0].shape[1] + 1
    M_avg, v = np.zeros((d, d)), np.zeros(d)
    for pk, (X, y) in zip(p, data):
        A, c = _normal_equations(X, y)
        M = np.eye(d) - lr * A
        power, S = np.eye(d), np.zeros((d, d))
        for _ in range(local_steps):
            S += power
            power = power @ M
        M_avg += pk * power
        v += pk * S @ (lr * c)
    try:
        return np.linalg.solve(np.eye(d) - M_avg, v)
    except np.linalg.LinAlgError as error:
        raise ValueError(f"FedAvg with lr={lr} and local_steps={local_steps} has no unique fixed point") \
            from error


# --------------------------------------------------------------------------
# The two-source example of chapter 03
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class TwoSources:
    """Two data sources for one-feature linear regression y = w x + b + noise."""

    clients: dict  # {"A": (X, y), "B": (X, y)}, X of shape (n, 1)
    true_theta: dict  # {"A": array([w, b]), "B": array([w, b])}
    heterogeneity: float


def two_source_regression(n_a: int = 1000, n_b: int = 1000, heterogeneity: float = 1.0,
                          noise: float = 0.5, seed: int = 0) -> TwoSources:
    """Sources A and B for the worked example of chapter 03.

    ``heterogeneity = h`` moves the sources apart in two ways at once: A's feature is drawn from
    N(-h, (1/(1+h))^2) and B's from N(+h, 1) (A becomes narrower too), and A's true line is
    (w, b) = (1 - h, 1 + h) while B's is (1 + h, 1 - h). With h = 0 both sources draw from the same
    distribution (they still differ by sampling noise).
    """
    n_a = _check_int("n_a", n_a, 1)
    n_b = _check_int("n_b", n_b, 1)
    h = _check_nonneg("heterogeneity", heterogeneity)
    noise = _check_nonneg("noise", noise)
    seed = _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    true = {"A": np.array([1.0 - h, 1.0 + h]), "B": np.array([1.0 + h, 1.0 - h])}
    x_a = rng.normal(-h, 1.0 / (1.0 + h), n_a)
    x_b = rng.normal(h, 1.0, n_b)
    y_a = true["A"][0] * x_a + true["A"][1] + noise * rng.normal(size=n_a)
    y_b = true["B"][0] * x_b + true["B"][1] + noise * rng.normal(size=n_b)
    return TwoSources(clients={"A": (x_a[:, None], y_a), "B": (x_b[:, None], y_b)},
                      true_theta=true, heterogeneity=h)
