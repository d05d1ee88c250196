"""Tests for utils.partition: synthetic silos and TF/TFF wrappers."""

import numpy as np
import pytest

from utils import partition as P


def assert_disjoint_complete(parts, n):
    together = np.concatenate(parts)
    assert len(together) == n
    np.testing.assert_array_equal(np.sort(together), np.arange(n))


def label_distance(parts, y):
    """Mean total-variation distance between each client's label mix and the global one."""
    classes = np.unique(y)
    glob = np.array([np.mean(y == c) for c in classes])
    dists = [0.5 * np.abs(np.array([np.mean(y[p] == c) for c in classes]) - glob).sum()
             for p in parts]
    return float(np.mean(dists))


@pytest.fixture
def labels():
    return np.random.default_rng(0).integers(0, 2, size=1000)


def test_iid(labels):
    parts = P.iid(1000, 7, seed=1)
    assert_disjoint_complete(parts, 1000)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    for a, b in zip(parts, P.iid(1000, 7, seed=1)):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(parts, P.iid(1000, 7, seed=2)))


def test_dirichlet_label_skew(labels):
    parts = P.dirichlet_label_skew(labels, 10, alpha=0.5, seed=3)
    assert_disjoint_complete(parts, len(labels))
    assert min(map(len, parts)) >= 2
    for a, b in zip(parts, P.dirichlet_label_skew(labels, 10, alpha=0.5, seed=3)):
        np.testing.assert_array_equal(a, b)


def test_label_skew_grows_as_alpha_shrinks(labels):
    skewed = np.mean([label_distance(P.dirichlet_label_skew(labels, 10, 0.1, seed=s), labels)
                      for s in range(5)])
    nearly_iid = np.mean([label_distance(P.dirichlet_label_skew(labels, 10, 100, seed=s), labels)
                          for s in range(5)])
    assert skewed > 0.2 > 0.05 > nearly_iid


def test_dirichlet_min_size_gives_up_clearly():
    y = np.arange(20) % 2  # 10 clients x 2 rows: only an (improbable) exact split works
    with pytest.raises((ValueError, TypeError), match="min_size=2"):
        P.dirichlet_label_skew(y, 10, alpha=0.01, seed=0, min_size=2)


def test_quantity_skew():
    parts = P.quantity_skew(500, 8, alpha=0.3, seed=4)
    assert_disjoint_complete(parts, 500)
    sizes = sorted(map(len, parts))
    assert sizes[0] >= 2 and sizes[-1] > 3 * sizes[len(sizes) // 2]
    even = sorted(map(len, P.quantity_skew(500, 8, alpha=1000, seed=4)))
    assert even[-1] - even[0] < 20


def test_feature_skew():
    X = np.random.default_rng(0).normal(size=(300, 3))
    parts = P.feature_skew(X, 4, feature=1, seed=0)
    assert_disjoint_complete(parts, 300)
    ranges = [(X[p, 1].min(), X[p, 1].max()) for p in parts]
    for (_, hi), (lo, _) in zip(ranges, ranges[1:]):
        assert hi <= lo


@pytest.mark.parametrize("call, bad", [
    (lambda: P.iid(10, 0), "0"),
    (lambda: P.iid(10, 11), "11"),
    (lambda: P.dirichlet_label_skew(np.zeros(10), 2, alpha=0), "alpha.*0"),
    (lambda: P.dirichlet_label_skew(np.zeros(10), 2, alpha=-1.5), "-1.5"),
    (lambda: P.dirichlet_label_skew(np.zeros((10, 2)), 2, alpha=1), r"\(10, 2\)"),
    (lambda: P.quantity_skew(10, 2, alpha=0.0), "0.0"),
    (lambda: P.quantity_skew(10, 20, alpha=1), "20"),
    (lambda: P.feature_skew(np.zeros((10, 3)), 2, feature=3), "3"),
    (lambda: P.feature_skew(np.zeros(10), 2, feature=0), r"\(10,\)"),
    (lambda: P.to_tf_dataset(np.zeros((5, 2)), np.zeros(4)), "5.*4"),
    (lambda: P.to_tf_dataset(np.zeros((5, 2)), np.zeros(5), batch_size=0), "batch_size.*0"),
])
def test_bad_inputs_name_the_value(call, bad):
    with pytest.raises((ValueError, TypeError), match=bad):
        call()


def test_to_tf_dataset_is_deterministic():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10) % 2
    ds = P.to_tf_dataset(X, y, batch_size=4)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X.astype(np.float32))
    assert batches[0][0].dtype == np.float32
    shuffled = np.concatenate([b[1] for b in P.to_tf_dataset(X, np.arange(10), shuffle=True, seed=1)])
    assert sorted(shuffled.tolist()) == list(range(10))


def test_to_client_data():
    X = np.random.default_rng(0).normal(size=(12, 3))
    y = (X[:, 0] > 0).astype(float)
    cd = P.to_client_data({"a": (X[:5], y[:5]), "b": (X[5:], y[5:])})
    assert sorted(cd.client_ids) == ["a", "b"]
    elements = list(cd.create_tf_dataset_for_client("b").as_numpy_iterator())
    assert len(elements) == 7 and set(elements[0]) == {"x", "y"}
    np.testing.assert_allclose(elements[0]["x"], X[5].astype(np.float32))
    assert elements[0]["x"].dtype == np.float32 and elements[0]["y"].dtype == np.float32


# ---- exact behaviour: defaults, boundaries, the arithmetic of each split -------------------------------

def same_parts(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


THREE_LABELS = np.repeat([0, 1, 2], [30, 20, 10])


def test_defaults_are_the_documented_ones():
    X = np.random.default_rng(1).normal(size=(40, 3))
    assert same_parts(P.iid(50, 3), P.iid(50, 3, seed=0))
    assert same_parts(P.quantity_skew(50, 3, 1.0), P.quantity_skew(50, 3, 1.0, seed=0, min_size=2))
    assert same_parts(P.feature_skew(X, 3, 0), P.feature_skew(X, 3, 0, seed=0))
    ties = np.zeros((8, 1))   # all tied: only the seed orders the rows
    assert same_parts(P.feature_skew(ties, 2, 0), P.feature_skew(ties, 2, 0, seed=0))
    assert not same_parts(P.feature_skew(ties, 2, 0), P.feature_skew(ties, 2, 0, seed=1))
    # seed 41: the first draw gives one client exactly 2 rows, so min_size=2 keeps it and 3 redraws
    assert min(map(len, P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=41, min_size=0))) == 2
    kept = P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=41)
    assert same_parts(kept, P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=0 + 41, min_size=2))
    assert same_parts(kept, P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=41, min_size=0))
    assert not same_parts(kept, P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=41, min_size=3))
    assert same_parts(P.dirichlet_label_skew(THREE_LABELS, 4, 0.5), P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=0))


def test_smallest_and_largest_accepted_sizes():
    assert [p.tolist() for p in P.iid(1, 1)] == [[0]]
    assert sorted(np.concatenate(P.iid(5, 5)).tolist()) == [0, 1, 2, 3, 4] and set(map(len, P.iid(5, 5))) == {1}
    assert [len(p) for p in P.quantity_skew(1, 1, 1.0, min_size=1)] == [1]
    assert [len(p) for p in P.quantity_skew(6, 3, 1.0, min_size=2)] == [2, 2, 2]   # min_size × clients = n
    assert sum(len(p) for p in P.quantity_skew(5, 2, 1.0, min_size=0)) == 5
    assert [p.tolist() for p in P.dirichlet_label_skew(np.zeros(3), 1, 1.0, min_size=3)] == [[0, 1, 2]]
    X = np.arange(12.0).reshape(4, 3)
    assert same_parts(P.feature_skew(X, 2, feature=2), P.feature_skew(X, 2, feature=-1))
    assert same_parts(P.feature_skew(X, 2, feature=-3), P.feature_skew(X, 2, feature=0))
    assert [p.tolist() for p in P.feature_skew(X, 1, feature=0)] == [[0, 1, 2, 3]]


def test_dirichlet_shares_each_label_on_its_own():
    parts = P.dirichlet_label_skew(THREE_LABELS, 4, 0.5, seed=7, min_size=0)   # the first draw
    assert_disjoint_complete(parts, len(THREE_LABELS))
    # Each label's rows are cut by its own Dirichlet draw (permutation, then draw, label by label).
    rng = np.random.default_rng(7)
    for label in (0, 1, 2):
        rows = rng.permutation(np.flatnonzero(THREE_LABELS == label))
        shares = rng.dirichlet(np.full(4, 0.5))
        cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
        for part, piece in zip(parts, np.split(rows, cuts)):
            np.testing.assert_array_equal(part[THREE_LABELS[part] == label], np.sort(piece))


def test_quantity_skew_sizes_are_largest_remainder_rounding():
    n, k, alpha, seed, min_size = 103, 6, 0.7, 5, 3
    shares = np.random.default_rng(seed).dirichlet(np.full(k, alpha))   # the generator's first draw
    raw = shares * (n - k * min_size)
    floor = np.floor(raw)
    missing = n - k * min_size - int(floor.sum())
    assert 0 < missing < k   # the case where rounding matters
    up = sorted(range(k), key=lambda i: raw[i] - floor[i], reverse=True)[:missing]
    expected = [int(floor[i]) + (i in up) + min_size for i in range(k)]
    parts = P.quantity_skew(n, k, alpha, seed=seed, min_size=min_size)
    assert [len(p) for p in parts] == expected
    assert_disjoint_complete(parts, n)


def test_feature_skew_breaks_ties_by_seed():
    X = np.zeros((8, 1))   # all tied: the order is the seeded tie-break alone
    a = P.feature_skew(X, 2, feature=0, seed=3)
    assert same_parts(a, P.feature_skew(X, 2, feature=0, seed=3))
    assert not same_parts(a, P.feature_skew(X, 2, feature=0, seed=4))
    order = np.argsort(np.random.default_rng(3).random(8), kind="stable")
    assert [p.tolist() for p in a] == [sorted(order[:4].tolist()), sorted(order[4:].tolist())]


def test_to_tf_dataset_defaults_and_shuffling():
    X = np.arange(80, dtype=float).reshape(40, 2)
    y = np.arange(40) % 2
    batches = list(P.to_tf_dataset(X, y).as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [32, 8]                      # batch_size=32
    assert batches[0][1].dtype == np.float32 and batches[0][0].dtype == np.float32
    assert [len(b[1]) for b in P.to_tf_dataset(X[:3], y[:3], batch_size=1)] == [1, 1, 1]

    def epochs(ds, k=2):
        return [np.concatenate([b[0][:, 0] for b in ds.as_numpy_iterator()]).tolist() for _ in range(k)]

    default = epochs(P.to_tf_dataset(X, y, shuffle=True))
    assert default == epochs(P.to_tf_dataset(X, y, shuffle=True, seed=0))   # seed=0, reproducible
    assert default != epochs(P.to_tf_dataset(X, y, shuffle=True, seed=1))
    assert default[0] != default[1]                                           # reshuffled each epoch
    assert sorted(default[1]) == X[:, 0].tolist()


def test_breast_cancer_silos():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    malignant = {row.tobytes(): float(t == 0) for row, t in zip(data.data, data.target)}
    train, test = P.breast_cancer_silos()
    for got, want in zip((train, test), P.breast_cancer_silos(4, 1.0, 0, 0.25)):
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(got, want))
    assert len(train) == len(test) == 4
    rows = [r.tobytes() for X, _ in train + test for r in X]
    assert len(rows) == len(set(rows)) == 569                                 # every row once
    for X, y in train + test:
        assert [malignant[r.tobytes()] for r in X] == y.tolist()                # label 1 = malignant
    for (Xa, _), (Xb, _) in zip(train, test):
        n = len(Xa) + len(Xb)
        assert n >= 40 and len(Xb) == n - round(0.75 * n)
    # the silos are dirichlet_label_skew's parts with min_size=40 (seed 2 has one of exactly 40 rows)
    train2, test2 = P.breast_cancer_silos(seed=2)
    index = {r.tobytes(): i for i, r in enumerate(data.data)}
    parts = P.dirichlet_label_skew((data.target == 0).astype(float), 4, 1.0, seed=2, min_size=40)
    assert min(map(len, parts)) == 40
    for (Xa, _), (Xb, _), part in zip(train2, test2, parts):
        assert sorted(index[r.tobytes()] for r in np.vstack([Xa, Xb])) == part.tolist()
    assert train2[0][0].shape[0] != train[0][0].shape[0] or not np.array_equal(train2[0][0], train[0][0])
    a, _ = P.breast_cancer_silos(seed=0, test_share=0.5)
    assert [len(y) for _, y in a] == [round(0.5 * (len(Xa) + len(Xb))) for (Xa, _), (Xb, _) in zip(train, test)]
    assert len(P.breast_cancer_silos(num_silos=1)[0]) == 1
