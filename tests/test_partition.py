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
