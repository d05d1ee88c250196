"""utils.vertical: the split logistic regression equals central gradient descent; the two leaks, measured."""
import numpy as np
import pytest
from sklearn.metrics import r2_score

from utils.local_training import local_train
from utils.vertical import labels_from_residuals, r_squared, reconstruct_columns, split_logistic_regression


@pytest.fixture(scope="module")
def parties():
    rng = np.random.default_rng(0)
    XA, XB = rng.normal(size=(400, 3)), rng.normal(size=(400, 5))
    logit = XA @ [1.0, -0.5, 0.2] + XB @ [0.8, 0.0, -1.0, 0.3, 0.5] - 0.4
    y = (rng.random(400) < 1 / (1 + np.exp(-logit))).astype(float)
    return XA, XB, y


def test_split_training_is_central_gradient_descent(parties):
    XA, XB, y = parties
    run = split_logistic_regression(XA, XB, y, 50, 0.5)
    central = local_train(np.zeros(9), np.hstack([XA, XB]), y, [np.arange(400)] * 50, lr=0.5)
    np.testing.assert_allclose(run.theta, central, atol=1e-12)
    assert len(run.loss) == 50 and np.all(np.diff(run.loss) < 0)       # full-batch GD on a convex loss
    assert run.b_to_a.shape == (50, 400) and run.a_to_b.shape == (50, 400)
    np.testing.assert_array_equal(run.b_to_a[0], 0.0)                   # B's weights start at 0
    np.testing.assert_allclose(run.b_to_a[7], XB @ split_logistic_regression(XA, XB, y, 7, 0.5).w_b)
    unrecorded = split_logistic_regression(XA, XB, y, 50, 0.5, record=False)
    assert unrecorded.b_to_a is None and np.allclose(unrecorded.theta, run.theta)


def test_residual_signs_are_the_labels(parties):
    XA, XB, y = parties
    run = split_logistic_regression(XA, XB, y, 30, 0.5)
    for t in (0, 10, 29):
        np.testing.assert_array_equal(labels_from_residuals(run.a_to_b[t]), y)


def test_partial_logits_rebuild_the_columns(parties):
    XA, XB, y = parties
    run = split_logistic_regression(XA, XB, y, 30, 0.5)
    known = np.arange(40)
    few = reconstruct_columns(run.b_to_a[1:3], known, XB[known])          # 2 views of 5 columns: partial
    many = reconstruct_columns(run.b_to_a[1:8], known, XB[known])         # 7 views ≥ 5 columns: exact
    assert np.median(r_squared(XB[40:], few[40:])) < 0.9
    np.testing.assert_allclose(many, XB, atol=1e-6)


def test_r_squared_matches_scikit_learn():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(50, 3))
    P = A + rng.normal(scale=0.5, size=(50, 3))
    np.testing.assert_allclose(r_squared(A, P), r2_score(A, P, multioutput="raw_values"))
    assert np.isnan(r_squared(np.ones((5, 1)), np.ones((5, 1)))[0])
