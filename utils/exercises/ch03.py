"""Chapter 03's exercises: the federated objective, a FedSGD round by hand, step size vs clients, drift."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Question, close

# Question 1: three hospitals
Q1_SIZES = np.array([300, 600, 100])
Q1_LOSSES = np.array([0.9, 0.5, 2.0])

# Question 2: one FedSGD round
Q2_THETA = np.array([0.5, 1.0])
Q2_LR = 0.1
Q2_SIZES = np.array([1800, 200])
Q2_GRADS = np.array([[0.4, -1.2], [-2.0, 3.0]])

Q3_ALPHA = 0.05
Q4 = dict(heterogeneity=0.5, lr=0.1, local_steps=10)


@lru_cache(maxsize=1)
def _pooled():
    from utils.linear import two_source_regression

    clients = two_source_regression(n_a=1000, n_b=1000, heterogeneity=1.0, seed=0).clients
    return (np.vstack([X for X, _ in clients.values()]), np.concatenate([y for _, y in clients.values()]))


def _context():
    # What the notebook has defined by the time of the exercises (utils versions of its functions).
    from utils import linear

    X_pool, y_pool = _pooled()
    return {
        "np": np,
        "X_pool": X_pool,
        "y_pool": y_pool,
        "two_source_regression": linear.two_source_regression,
        "quadratic_terms": linear.quadratic_terms,
        "least_squares": lambda X, y: linear.linear_optimum([(X, y)]),
        "fedavg_fixed_point": linear.linear_fedavg_fixed_point,
        "pooled_optimum": linear.linear_optimum,
    }


def _number(value, what):
    assert not isinstance(value, (str, bytes)) and np.ndim(value) == 0, \
        f"{what} should be one number, got {value!r}."
    value = float(value)
    assert np.isfinite(value), f"{what} should be a finite number, got {value!r}."
    return value


# --------------------------------------------------------------------------

def _check_q1(global_loss):
    value = _number(global_loss, "global_loss")
    expected = float(Q1_SIZES @ Q1_LOSSES / Q1_SIZES.sum())
    assert abs(value - Q1_LOSSES.mean()) > 1e-6, (
        "that is the plain mean of the three losses; each hospital should count in proportion to its patients (n_k/n).")
    assert abs(value - Q1_LOSSES.sum()) > 1e-6, "that is the sum of the losses; F is a weighted *average*."
    close(value, expected, tol=1e-6, what="global_loss")


def _check_q2(theta_next):
    value = np.asarray(theta_next, dtype=float)
    assert value.shape == (2,), f"theta_next should hold two numbers (w, b), got shape {value.shape}."
    p = Q2_SIZES / Q2_SIZES.sum()
    expected = Q2_THETA - Q2_LR * (p @ Q2_GRADS)
    source = Q2_THETA + Q2_LR * Q2_GRADS.sum(axis=0)
    unweighted = Q2_THETA - Q2_LR * Q2_GRADS.sum(axis=0)
    wrong_sign = Q2_THETA + Q2_LR * (p @ Q2_GRADS)
    assert not np.allclose(value, source, atol=1e-6), \
        "that is the source's formula (+ sign, no weights); step against the weighted gradient."
    assert not np.allclose(value, wrong_sign, atol=1e-6), \
        "the weights are right, but gradient descent *subtracts* the learning rate times the gradient."
    assert not np.allclose(value, unweighted, atol=1e-6), \
        "the sign is right, but the gradients need the weights n_k/n (here 0.9 and 0.1)."
    assert np.allclose(value, expected, atol=1e-6), f"theta_next is {value.tolist()}; check your computation."


def _check_q3(K_max):
    value = _number(K_max, "K_max")
    assert float(value).is_integer(), f"a number of clients is a whole number, not {K_max!r}."
    from utils import linear

    X_pool, y_pool = _pooled()
    lam_max = np.linalg.eigvalsh(linear.quadratic_terms(X_pool, y_pool)[0]).max()
    expected = int(np.ceil(2 / (Q3_ALPHA * lam_max))) - 1
    assert int(value) != int(np.ceil(2 / (0.1 * lam_max))) - 1, \
        "that is the answer for α = 0.1; the question uses α = 0.05."
    assert int(value) < expected + 1, (
        f"with K = {int(value)} the effective step α·K·λ_max is above 2: the rule diverges.")
    assert int(value) == expected, (
        f"K = {int(value)} converges, but a larger K still does: find the largest K with α·K·λ_max < 2.")


def _check_q4(drift_distance):
    from utils import linear

    value = _number(drift_distance, "drift_distance")
    fed = linear.two_source_regression(heterogeneity=Q4["heterogeneity"]).clients
    optimum = linear.linear_optimum(fed)
    expected = float(np.linalg.norm(linear.linear_fedavg_fixed_point(fed, Q4["lr"], Q4["local_steps"]) - optimum))
    assert value > 1e-6, "FedAvg with E = 10 on different sources does drift: the distance is not 0."
    default = linear.two_source_regression().clients
    other = float(np.linalg.norm(linear.linear_fedavg_fixed_point(default, Q4["lr"], Q4["local_steps"])
                                 - linear.linear_optimum(default)))
    assert abs(value - other) > 1e-3, "that is the drift for heterogeneity 1.0; the question uses 0.5."
    close(value, expected, tol=1e-4, what="drift_distance")


q1 = Question(
    number=1,
    variables=("global_loss",),
    check_fn=_check_q1,
    hint_text="F = sum_k (n_k / n) F_k with n = 300 + 600 + 100.",
    solution_code=(
        "sizes = np.array([300, 600, 100])\n"
        "local_losses = np.array([0.9, 0.5, 2.0])\n"
        "global_loss = float(sizes @ local_losses / sizes.sum())"
    ),
    wrong_answers=[{"global_loss": float(Q1_LOSSES.mean())}, {"global_loss": 3.4}, {"global_loss": 0.7},
                   {"global_loss": "0.77"}],
    context=_context,
)

q2 = Question(
    number=2,
    variables=("theta_next",),
    check_fn=_check_q2,
    hint_text="The weights are n_A/n = 1800/2000 and n_B/n = 200/2000; "
              "theta_next = theta - lr * (weighted sum of the two gradients).",
    solution_code=(
        "theta_t = np.array([0.5, 1.0])\n"
        "grad_A, grad_B = np.array([0.4, -1.2]), np.array([-2.0, 3.0])\n"
        "theta_next = theta_t - 0.1 * (1800 / 2000 * grad_A + 200 / 2000 * grad_B)"
    ),
    wrong_answers=[{"theta_next": [0.34, 1.18]},   # the source's formula
                   {"theta_next": [0.66, 0.82]},   # no weights
                   {"theta_next": [0.516, 0.922]},  # wrong sign
                   {"theta_next": [0.5, 1.0]},
                   {"theta_next": 0.484}],
    context=_context,
)

q3 = Question(
    number=3,
    variables=("K_max",),
    check_fn=_check_q3,
    hint_text="With K equal shards the plain sum of gradients is K times the pooled gradient, so the step is "
              "α·K. It converges while α·K·λ_max < 2, with λ_max the largest eigenvalue of the pooled H "
              "(quadratic_terms(X_pool, y_pool)[0]).",
    solution_code=(
        "lam_max = np.linalg.eigvalsh(quadratic_terms(X_pool, y_pool)[0]).max()\n"
        "K_max = int(np.ceil(2 / (0.05 * lam_max))) - 1"
    ),
    wrong_answers=[{"K_max": 6}, {"K_max": 13}, {"K_max": 11}, {"K_max": 12.5}],
    context=_context,
)

q4 = Question(
    number=4,
    variables=("drift_distance",),
    check_fn=_check_q4,
    hint_text="Generate the clients with two_source_regression(heterogeneity=0.5).clients, then compare "
              "fedavg_fixed_point(clients, 0.1, 10) with pooled_optimum(clients) using np.linalg.norm.",
    solution_code=(
        "fed = two_source_regression(heterogeneity=0.5).clients\n"
        "drift_distance = np.linalg.norm(fedavg_fixed_point(fed, 0.1, 10) - pooled_optimum(fed))"
    ),
    wrong_answers=[{"drift_distance": 0.0}, {"drift_distance": 0.694}, {"drift_distance": 0.5},
                   {"drift_distance": [0.1, 0.2]}],
    context=_context,
)
