"""Chapter 03's exercises: more clients under the source's rule (predict), why FedAvg drifts (explain),
the federated objective and a FedSGD round by hand, which step sizes diverge, drift at another
heterogeneity (change an experiment)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, close, number

# Question 3: three hospitals
Q3_SIZES = np.array([300, 600, 100])
Q3_LOSSES = np.array([0.9, 0.5, 2.0])

# Question 4: one FedSGD round
Q4_THETA = np.array([0.5, 1.0])
Q4_LR = 0.1
Q4_SIZES = np.array([1800, 200])
Q4_GRADS = np.array([[0.4, -1.2], [-2.0, 3.0]])

# Question 5: the unweighted rule on K = 8 equal shards
Q5_K = 8
Q5_ALPHAS = (0.01, 0.02, 0.05, 0.1)

# Question 6: drift at heterogeneity 0.75
Q6 = dict(heterogeneity=0.75, lr=0.1, local_steps=10)


@lru_cache(maxsize=1)
def _pooled():
    from utils.linear import two_source_regression

    clients = two_source_regression(n_a=1000, n_b=1000, heterogeneity=1.0, seed=0).clients
    return np.vstack([X for X, _ in clients.values()]), np.concatenate([y for _, y in clients.values()])


def _lambda_max() -> float:
    from utils.linear import quadratic_terms

    return float(np.linalg.eigvalsh(quadratic_terms(*_pooled())[0]).max())


# ---- Question 1: does the unweighted rule converge on 8 shards? ---------------------------------

def _parse_yes_no(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("yes", "no"), \
        f'answer "yes" or "no", got {prediction!r}.'
    return prediction.strip().lower()


def _judge_q1(prediction, by_K):
    excess = float(by_K.loc[8, "excess loss after 30 rounds, plain sum"])
    converges = bool(np.isfinite(excess) and excess < 1e-3)
    step = float(by_K.loc[8, "effective step α·K"])
    explanation = (f"With 8 shards the effective step is α·K = {step:g}; after 30 rounds the excess loss is {excess:.3g}. "
                   + ("It converges." if converges else
                      "It diverges: the step times the largest curvature is above 2, although every shard is alike."))
    return prediction == ("yes" if converges else "no"), explanation


def _example_by_K():
    import pandas as pd

    return pd.DataFrame({"effective step α·K": [0.8], "excess loss after 30 rounds, plain sum": [3.5e12]},
                        index=pd.Index([8], name="clients K"))


q1 = Prediction(
    number=1, parse=_parse_yes_no, judge=_judge_q1,
    hint_text="The unweighted rule is gradient descent with step α·K; when does gradient descent on a quadratic blow up?",
    example_result=_example_by_K(), example_guesses=("yes", "no"),
)


# ---- Question 2: why FedAvg stops short of the optimum ----------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("The learning rate is too large: FedAvg would reach the optimum with a smaller one.",
              "A smaller η shortens each local walk, and the drift shrinks, but with E > 1 and different clients it "
              "does not vanish; η also scales both sources' walks alike."),
        "b": ("During its E local steps each client walks towards its own optimum; the average of those end points "
              "is not where the average gradient is zero.",
              "That is client drift: FedAvg's fixed point solves an average of E-step maps, not ∇F = 0 (derived next)."),
        "c": ("The server weights the clients wrongly.",
              "The weights are n_k/n, the ones that make F the pooled loss; with the same weights E = 1 reaches θ*."),
        "d": ("40 rounds are not enough; given more rounds it reaches the optimum.",
              "The excess loss has stopped falling: FedAvg has converged, to a different point (a fixed point)."),
    },
    correct=("b",),
    hint_text="Compare the two federations: with identical sources (h = 0) E = 20 is fine.",
)


# ---- Question 3: the federated objective ---------------------------------------------------

def _check_q3(global_loss):
    value = number(global_loss, "global_loss")
    expected = float(Q3_SIZES @ Q3_LOSSES / Q3_SIZES.sum())
    assert abs(value - Q3_LOSSES.mean()) > 1e-6, (
        "that is the plain mean of the three losses; each hospital should count in proportion to its patients (n_k/n).")
    assert abs(value - Q3_LOSSES.sum()) > 1e-6, "that is the sum of the losses; F is a weighted *average*."
    assert abs(value - float(Q3_SIZES @ Q3_LOSSES)) > 1e-6, "you weighted by patients but did not divide by all 1000."
    close(value, expected, tol=1e-6, what="global_loss")


q3 = Question(
    number=3, variables=("global_loss",), check_fn=_check_q3,
    hint_text="F = sum_k (n_k / n) F_k with n = 300 + 600 + 100.",
    solution_code=("sizes = np.array([300, 600, 100])\nlocal_losses = np.array([0.9, 0.5, 2.0])\n"
                   "global_loss = float(sizes @ local_losses / sizes.sum())"),
    wrong_answers=[({"global_loss": float(Q3_LOSSES.mean())}, "plain mean"), ({"global_loss": 3.4}, "sum of the losses"),
                   ({"global_loss": 770.0}, "did not divide"), ({"global_loss": 0.7701}, "check your computation"),
                   ({"global_loss": "0.77"}, "one number")],
    context=lambda: {"np": np},
)


# ---- Question 4: one FedSGD round by hand ----------------------------------------------------

def _check_q4(theta_next):
    value = np.asarray(theta_next, dtype=float)
    assert value.shape == (2,), f"theta_next should hold two numbers (w, b), got shape {value.shape}."
    p = Q4_SIZES / Q4_SIZES.sum()
    expected = Q4_THETA - Q4_LR * (p @ Q4_GRADS)
    assert not np.allclose(value, Q4_THETA + Q4_LR * Q4_GRADS.sum(axis=0), atol=1e-6), \
        "that is the source's formula (+ sign, no weights); step against the weighted gradient."
    assert not np.allclose(value, Q4_THETA + Q4_LR * (p @ Q4_GRADS), atol=1e-6), \
        "the weights are right, but gradient descent *subtracts* the learning rate times the gradient."
    assert not np.allclose(value, Q4_THETA - Q4_LR * Q4_GRADS.sum(axis=0), atol=1e-6), \
        "the sign is right, but the gradients need the weights n_k/n (here 0.9 and 0.1)."
    assert not np.allclose(value, Q4_THETA - Q4_LR * Q4_GRADS.mean(axis=0), atol=1e-6), \
        "that weights A and B equally; A has 1800 of the 2000 rows."
    assert np.allclose(value, expected, atol=1e-6), f"theta_next is {value.tolist()}; check your computation."


q4 = Question(
    number=4, variables=("theta_next",), check_fn=_check_q4,
    hint_text="The weights are n_A/n = 1800/2000 and n_B/n = 200/2000; "
              "theta_next = theta - lr * (weighted sum of the two gradients).",
    solution_code=("theta_t = np.array([0.5, 1.0])\ngrad_A, grad_B = np.array([0.4, -1.2]), np.array([-2.0, 3.0])\n"
                   "theta_next = theta_t - 0.1 * (1800 / 2000 * grad_A + 200 / 2000 * grad_B)"),
    wrong_answers=[({"theta_next": [0.34, 1.18]}, "source's formula"), ({"theta_next": [0.66, 0.82]}, "need the weights"),
                   ({"theta_next": [0.516, 0.922]}, "subtracts"), ({"theta_next": [0.58, 0.91]}, "equally"),
                   ({"theta_next": [0.4841, 1.078]}, "check your computation"), ({"theta_next": 0.484}, "shape")],
    context=lambda: {"np": np},
)


# ---- Question 5: which step sizes diverge on 8 shards ---------------------------------------------

def _diverging() -> set:
    lam = _lambda_max()
    return {a for a in Q5_ALPHAS if a * Q5_K * lam > 2}


def _check_q5(diverging):
    assert isinstance(diverging, (list, tuple, set, np.ndarray)), \
        f"diverging should be a list of learning rates, got {type(diverging).__name__}."
    given = {round(number(a, "each entry of diverging"), 6) for a in diverging}
    unknown = given - set(Q5_ALPHAS)
    assert not unknown, f"{sorted(unknown)} are not among the rates of the question {list(Q5_ALPHAS)}."
    expected = _diverging()
    lam = _lambda_max()
    with_one_client = {a for a in Q5_ALPHAS if a * lam > 2}
    assert not (given == with_one_client and given != expected), \
        "that is the answer for one client; without weights the step is α·K, with K = 8."
    missing, extra = expected - given, given - expected
    assert not missing, f"{sorted(missing)} diverge too: α·8·λ_max is above 2 for them."
    assert not extra, f"{sorted(extra)} converge (slowly, maybe): α·8·λ_max is below 2 for them."


q5 = Question(
    number=5, variables=("diverging",), check_fn=_check_q5,
    hint_text="Divergence happens when α·K·λ_max > 2 (section 4.1's λ_max of the pooled H); or run 30 rounds of "
              "unweighted_step on shards(X_pool, y_pool, 8) for each α and see which losses explode.",
    solution_code=("lam_max = np.linalg.eigvalsh(quadratic_terms(X_pool, y_pool)[0]).max()\n"
                   "diverging = [a for a in (0.01, 0.02, 0.05, 0.1) if a * 8 * lam_max > 2]"),
    wrong_answers=lambda: [({"diverging": []}, "one client"), ({"diverging": sorted(_diverging() | {0.05})}, "converge"),
                           ({"diverging": [0.3]}, "not among"), ({"diverging": 0.1}, "list of learning rates")],
    context=lambda: _context(),
)


# ---- Question 6: drift at heterogeneity 0.75 ----------------------------------------------------

def _drift(heterogeneity: float) -> float:
    from utils import linear

    fed = linear.two_source_regression(heterogeneity=heterogeneity).clients
    fixed = linear.linear_fedavg_fixed_point(fed, Q6["lr"], Q6["local_steps"])
    return float(np.linalg.norm(fixed - linear.linear_optimum(fed)))


def _check_q6(drift_distance):
    value = number(drift_distance, "drift_distance")
    assert value > 1e-6, "FedAvg with E = 10 on different sources does drift: the distance is not 0."
    for h in (0.5, 1.0):
        assert abs(value - _drift(h)) > 1e-3, f"that is the drift for heterogeneity {h}; the question uses 0.75."
    close(value, _drift(Q6["heterogeneity"]), tol=1e-3, what="drift_distance")


q6 = Question(
    number=6, variables=("drift_distance",), check_fn=_check_q6,
    hint_text="Generate the sources with two_source_regression(heterogeneity=0.75).clients, then compare "
              "fedavg_fixed_point(clients, 0.1, 10) with pooled_optimum(clients) using np.linalg.norm.",
    solution_code=("fed = two_source_regression(heterogeneity=0.75).clients\n"
                   "drift_distance = np.linalg.norm(fedavg_fixed_point(fed, 0.1, 10) - pooled_optimum(fed))"),
    wrong_answers=lambda: [({"drift_distance": 0.0}, "is not 0"), ({"drift_distance": _drift(0.5)}, "heterogeneity 0.5"),
                           ({"drift_distance": _drift(0.75) + 0.01}, "drift_distance is"),
                           ({"drift_distance": [0.1, 0.2]}, "one number")],
    context=lambda: _context(),
    kind="change",
)


def _context():
    # What the notebook has defined by the time of the exercises (utils versions of its functions).
    from utils import linear

    X_pool, y_pool = _pooled()
    return {"np": np, "X_pool": X_pool, "y_pool": y_pool, "two_source_regression": linear.two_source_regression,
            "quadratic_terms": linear.quadratic_terms, "fedavg_fixed_point": linear.linear_fedavg_fixed_point,
            "pooled_optimum": linear.linear_optimum}
