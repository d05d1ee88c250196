"""Attacks (utils.privacy_attacks) against the truth they should recover and scikit-learn's AUC."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils import privacy_attacks as pa
from utils.mlp import init_mlp, mlp_gradient
from utils.models import logistic_grad

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4))
Y = (rng.random(30) < 0.4).astype(float)


def test_one_row_gradient_gives_the_row_back():
    theta = rng.normal(size=5)
    assert np.allclose(pa.invert_one_row_gradient(logistic_grad(theta, X[3:4], Y[3:4])), X[3])


def test_two_crafted_gradients_give_rate_and_class_means():
    grads = [logistic_grad(np.r_[np.zeros(4), b], X, Y) for b in (0.0, 1.5)]
    read = pa.class_means_from_gradients(grads[0], grads[1], 0.0, 1.5)
    assert np.isclose(read["label_share"], Y.mean())
    assert np.allclose(read["mean"], X.mean(axis=0))
    assert np.allclose(read["mean_label_1"], X[Y == 1].mean(axis=0))
    assert np.allclose(read["mean_label_0"], X[Y == 0].mean(axis=0))


def test_label_share_from_one_full_batch_step_at_zero_is_exact():
    update = -0.3 * logistic_grad(np.zeros(5), X, Y)
    assert np.isclose(pa.label_share_from_update(update, 0.3), Y.mean())


def test_another_batch_has_the_same_gradient():
    theta = rng.normal(size=5) * 0.5
    Z = pa.same_gradient_batch(theta, X[:3], Y[:3], distance=1.0, seed=1)
    assert np.abs(logistic_grad(theta, Z, Y[:3]) - logistic_grad(theta, X[:3], Y[:3])).max() < 1e-12
    assert np.abs(Z - X[:3]).max() > 0.1
    with pytest.raises(ValueError, match="unknowns"):
        pa.same_gradient_batch(theta, X[:1], Y[:1])


def test_first_layer_gives_single_rows_back_exactly():
    ws = init_mlp(4, (64,), seed=0)
    g = mlp_gradient(ws, X[:1], Y[:1])
    assert pa.matched_rows(pa.first_layer_inversion(g[0], g[1]), X[:1]).all()
    g = mlp_gradient(ws, X, Y)  # 30 rows, 64 units: candidates are mixtures, rarely a row
    found = pa.matched_rows(pa.first_layer_inversion(g[0], g[1]), X)
    assert found.mean() < 0.5
    assert not pa.matched_rows(np.zeros((0, 4)), X).any()


def test_auc_matches_scikit_learn_with_ties():
    pos = np.array([0.9, 0.8, 0.5, 0.5, 0.1])
    neg = np.array([0.5, 0.3, 0.3, 0.05])
    expected = roc_auc_score(np.r_[np.ones(5), np.zeros(4)], np.r_[pos, neg])
    assert np.isclose(pa.roc_auc(pos, neg), expected)
    fpr, tpr = pa.roc_points(pos, neg)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.isclose(np.trapz(tpr, fpr), expected)


def test_bootstrap_interval_contains_the_auc_and_narrows_with_more_data():
    r = np.random.default_rng(2)
    small = (r.normal(0.3, 1, 50), r.normal(0, 1, 50))
    large = (r.normal(0.3, 1, 2000), r.normal(0, 1, 2000))
    lo, hi = pa.auc_interval(*small, n_boot=300)
    assert lo <= pa.roc_auc(*small) <= hi
    lo2, hi2 = pa.auc_interval(*large, n_boot=100)
    assert hi2 - lo2 < hi - lo


def test_attack_features_and_a_shadow_attack_on_separable_data():
    F = pa.attack_features([0.9, 0.2], [1, 0])
    assert np.allclose(F[:, 0], np.log([0.9, 0.8])) and np.array_equal(F[:, 1], [1, 0])
    r = np.random.default_rng(3)
    members = pa.attack_features(r.uniform(0.9, 1.0, 100), np.ones(100))
    others = pa.attack_features(r.uniform(0.3, 0.7, 100), np.ones(100))
    p = pa.shadow_attack(np.vstack([members, others]), np.r_[np.ones(100), np.zeros(100)], np.vstack([members, others]))
    assert pa.roc_auc(p[:100], p[100:]) > 0.99
