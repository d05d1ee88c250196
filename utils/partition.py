"""Split one data set into synthetic silos (clients), and wrap them for TFF. Introduced in chapter 02.

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

from utils import validate as v

MAX_ATTEMPTS = 1000


def _check_clients(num_clients, n: int) -> int:
    return v.integer("num_clients", num_clients, 1, min(n, v.MAX_CLIENTS))


def _check_min_size(min_size, n: int, num_clients: int) -> int:
    min_size = v.integer("min_size", min_size, 0)
    if min_size * num_clients > n:
        raise ValueError(f"min_size={min_size} for {num_clients} clients needs "
                         f"{min_size * num_clients} rows, but there are only {n}")
    return min_size


# --------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------

def iid(n: int, num_clients: int, seed: int = 0) -> list:
    """Shuffle rows 0..n-1 and deal them into ``num_clients`` near-equal parts."""
    n = v.integer("n", n, 1, v.MAX_ROWS)
    num_clients = _check_clients(num_clients, n)
    order = np.random.default_rng(v.seed("seed", seed)).permutation(n)
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
    y = v.vector("y", y)
    num_clients = _check_clients(num_clients, len(y))
    alpha = v.positive("alpha", alpha)
    min_size = _check_min_size(min_size, len(y), num_clients)
    rng = np.random.default_rng(v.seed("seed", seed))
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
    n = v.integer("n", n, 1, v.MAX_ROWS)
    num_clients = _check_clients(num_clients, n)
    alpha = v.positive("alpha", alpha)
    min_size = _check_min_size(min_size, n, num_clients)
    rng = np.random.default_rng(v.seed("seed", seed))
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
    X = v.matrix("X", X)
    num_clients = _check_clients(num_clients, len(X))
    feature = v.integer("feature", feature, -X.shape[1], X.shape[1] - 1)
    tiebreak = np.random.default_rng(v.seed("seed", seed)).random(len(X))
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
    X, y = v.xy(X, y)
    batch_size = v.integer("batch_size", batch_size, 1)
    seed = v.seed("seed", seed)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
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
    if not isinstance(parts, dict):
        raise TypeError(f"parts must be a dict {{client_id: (X, y)}}, got {type(parts).__name__}")
    names, pairs = v.clients(parts, "parts")
    slices = {str(c): {"x": X.astype(np.float32), "y": y.astype(np.float32)} for c, (X, y) in zip(names, pairs)}
    import tensorflow_federated as tff

    return tff.simulation.datasets.TestClientData(slices)


# --------------------------------------------------------------------------
# One real table cut into silos (chapter 02)
# --------------------------------------------------------------------------

def breast_cancer_silos(num_silos: int = 4, alpha: float = 1.0, seed: int = 0, test_share: float = 0.25):
    """scikit-learn's breast-cancer table (569 rows, ships offline) split into label-skewed silos.

    Label 1 = malignant. ``dirichlet_label_skew`` shares the rows out (smaller ``alpha``: more
    different silos, at least 40 rows each), then each silo keeps a random ``test_share`` of its
    rows for testing. Features are NOT standardised: that is a federated computation of its own
    (``utils.fedcore.federated_mean_std``). Returns ``(train, test)``, two lists of (X, y) pairs.
    """
    from sklearn.datasets import load_breast_cancer

    test_share = v.fraction("test_share", test_share)
    num_silos = v.integer("num_silos", num_silos, 1, 14)  # at least 40 rows each
    data = load_breast_cancer()
    X, y = data.data, (data.target == 0).astype(float)
    parts = dirichlet_label_skew(y, num_silos, alpha=alpha, seed=seed, min_size=40)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for part in parts:
        part = rng.permutation(part)
        cut = int(round((1 - test_share) * len(part)))
        train.append((X[part[:cut]], y[part[:cut]]))
        test.append((X[part[cut:]], y[part[cut:]]))
    return train, test
