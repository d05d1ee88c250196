"""Split one data set into synthetic silos (clients), and wrap them for TFF.

Real federations are heterogeneous in known ways; each function here creates
one kind of heterogeneity on purpose so its effect can be studied:

* ``iid``: every client is a random sample (the easy, unrealistic baseline);
* ``dirichlet_label_skew``: clients differ in their label mix;
* ``quantity_skew``: clients differ in size;
* ``feature_skew``: clients see different ranges of one feature.

All return a list of index arrays (disjoint, together covering every row).
"""

from __future__ import annotations

import numpy as np

MAX_ATTEMPTS = 1000


# --------------------------------------------------------------------------
# Validation (errors name the bad value)
# --------------------------------------------------------------------------

def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_clients(num_clients, n: int) -> int:
    num_clients = _check_int("num_clients", num_clients, 1)
    if num_clients > n:
        raise ValueError(f"num_clients={num_clients} is more than the number of rows ({n})")
    return num_clients


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) \
            or not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    return float(alpha)


def _check_min_size(min_size, n: int, num_clients: int) -> int:
    min_size = _check_int("min_size", min_size, 0)
    if min_size * num_clients > n:
        raise ValueError(f"min_size={min_size} for {num_clients} clients needs "
                         f"{min_size * num_clients} rows, but there are only {n}")
    return min_size


def _as_1d(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {a.shape}")
    return a


def _as_2d(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (rows, features), got shape {a.shape}")
    return a


def _check_xy(X, y):
    X, y = _as_2d("X", X), _as_1d("y", y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    return X, y


# --------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------

def iid(n: int, num_clients: int, seed: int = 0) -> list:
    """Shuffle rows 0..n-1 and deal them into ``num_clients`` near-equal parts."""
    n = _check_int("n", n, 1)
    num_clients = _check_clients(num_clients, n)
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, num_clients)]


def _split_by_proportions(indices: np.ndarray, proportions: np.ndarray) -> list:
    """Cut ``indices`` into consecutive pieces sized by ``proportions``."""
    cuts = (np.cumsum(proportions)[:-1] * len(indices)).astype(int)
    return np.split(indices, cuts)


def dirichlet_label_skew(y, num_clients: int, alpha: float, seed: int = 0,
                         min_size: int = 2) -> list:
    """Label skew: for each class, share its rows among clients by Dirichlet(alpha).

    Small alpha (e.g. 0.1) → each client is dominated by few labels; large
    alpha (e.g. 100) → close to iid. Redraws until every client has at least
    ``min_size`` rows (at most 1000 attempts, then a ValueError).
    """
    y = _as_1d("y", y)
    num_clients = _check_clients(num_clients, len(y))
    alpha = _check_alpha(alpha)
    min_size = _check_min_size(min_size, len(y), num_clients)
    rng = np.random.default_rng(seed)
    for _ in range(MAX_ATTEMPTS):
        parts = [[] for _ in range(num_clients)]
        for label in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == label))
            shares = rng.dirichlet(np.full(num_clients, alpha))
            for client, piece in enumerate(_split_by_proportions(rows, shares)):
                parts[client].append(piece)
        parts = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(p) for p in parts) >= min_size:
            return parts
    raise ValueError(
        f"could not give every one of {num_clients} clients at least min_size={min_size} "
        f"rows in {MAX_ATTEMPTS} attempts with alpha={alpha}; use a larger alpha, "
        f"fewer clients or a smaller min_size")


def quantity_skew(n: int, num_clients: int, alpha: float, seed: int = 0,
                  min_size: int = 2) -> list:
    """Quantity skew: client sizes ∝ Dirichlet(alpha), rows assigned at random.

    Every client first gets ``min_size`` rows; the rest are shared by the
    Dirichlet proportions (small alpha → very unequal sizes).
    """
    n = _check_int("n", n, 1)
    num_clients = _check_clients(num_clients, n)
    alpha = _check_alpha(alpha)
    min_size = _check_min_size(min_size, n, num_clients)
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(num_clients, alpha))
    extra = n - min_size * num_clients
    # Largest-remainder rounding so the sizes add up to n exactly.
    raw = shares * extra
    sizes = np.floor(raw).astype(int)
    leftover = extra - sizes.sum()
    sizes[np.argsort(raw - sizes)[::-1][:leftover]] += 1
    sizes += min_size
    order = rng.permutation(n)
    return [np.sort(part) for part in np.split(order, np.cumsum(sizes)[:-1])]


def feature_skew(X, num_clients: int, feature: int, seed: int = 0) -> list:
    """Feature skew: sort rows by column ``feature`` and cut into contiguous blocks.

    Client 0 gets the smallest values, the last client the largest. Ties are
    broken at random (``seed``) so equal values do not follow file order.
    """
    X = _as_2d("X", X)
    num_clients = _check_clients(num_clients, len(X))
    if isinstance(feature, bool) or not isinstance(feature, (int, np.integer)) \
            or not -X.shape[1] <= feature < X.shape[1]:
        raise ValueError(f"feature index {feature!r} is out of range for X with "
                         f"{X.shape[1]} columns")
    tiebreak = np.random.default_rng(seed).random(len(X))
    order = np.lexsort((tiebreak, X[:, feature]))
    return [np.sort(part) for part in np.array_split(order, num_clients)]


# --------------------------------------------------------------------------
# TensorFlow / TFF wrappers
# --------------------------------------------------------------------------

def to_tf_dataset(X, y, batch_size: int = 32, shuffle: bool = False, seed: int = 0):
    """A ``tf.data.Dataset`` of (x, y) batches (float32).

    With shuffle=False the order is the row order, so runs are reproducible;
    with shuffle=True rows are reshuffled each epoch from ``seed``.
    """
    X, y = _check_xy(X, y)
    batch_size = _check_int("batch_size", batch_size, 1)
    import tensorflow as tf  # here, not at module level: importing TF takes seconds

    ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)))
    if shuffle:
        ds = ds.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


def to_client_data(parts: dict):
    """``{client_id: (X, y)}`` → ``tff.simulation.datasets.TestClientData``.

    Each element is ``dict(x=..., y=...)`` (float32). TFF is imported here,
    not at module level, because importing it takes seconds.
    """
    if not isinstance(parts, dict) or not parts:
        raise ValueError(f"parts must be a non-empty dict {{client_id: (X, y)}}, got {type(parts).__name__}")
    slices = {}
    for client, xy in parts.items():
        X, y = _check_xy(*xy)
        if len(X) == 0:
            raise ValueError(f"client {client!r} has no rows")
        slices[str(client)] = {"x": X.astype(np.float32), "y": y.astype(np.float32)}
    import tensorflow_federated as tff

    return tff.simulation.datasets.TestClientData(slices)
