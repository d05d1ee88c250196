"""Chapter 06's exercises: choose σ for a target ε and run it (change an experiment), predict client-level
DP with four hospitals (predict), explain why it fails (explain), count the colluders secure aggregation
tolerates (compute)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

# The notebook's DP-SGD settings (section 2); the learning rate is chosen on validation rows exactly as there.
DP_STEPS, DP_RATE, DP_CLIP, ROUNDS, DELTA = 5, 0.2, 1.0, 15, 1e-5
DP_LR_CANDIDATES = (0.03, 0.1, 0.3, 1.0)
TARGET_EPSILON = 3.0
Q1_SEEDS = (42, 43, 44)


@lru_cache(maxsize=1)
def _shared():
    from utils.data import load_heart_disease

    return load_heart_disease().restandardize("pooled")


@lru_cache(maxsize=1)
def _dp_lr() -> float:
    from utils.dpsgd import DPSGD, dp_fedavg_accuracy

    validation = _shared().validation_split(0.25, seed=0)
    scores = {lr: dp_fedavg_accuracy(validation, DPSGD(DP_CLIP, 1.0, DP_RATE, DP_STEPS, lr), ROUNDS).mean()
              for lr in DP_LR_CANDIDATES}
    return max(scores, key=scores.get)


def _steps() -> int:
    return DP_STEPS * ROUNDS


def _epsilon(sigma: float, accountant: str) -> float:
    from utils.accounting import poisson_epsilon

    return poisson_epsilon(sigma, DP_RATE, _steps(), DELTA, accountant)


@lru_cache(maxsize=2)
def _smallest_sigma(accountant: str) -> float:
    from utils.accounting import noise_for_epsilon

    return noise_for_epsilon(TARGET_EPSILON, DP_RATE, _steps(), DELTA, accountant, tolerance=1e-4)


@lru_cache(maxsize=16)
def _accuracy(sigma: float) -> float:
    from utils.dpsgd import DPSGD, dp_fedavg_accuracy

    return float(dp_fedavg_accuracy(_shared(), DPSGD(DP_CLIP, sigma, DP_RATE, DP_STEPS, _dp_lr()), ROUNDS,
                                    seeds=Q1_SEEDS).mean())


# ---- Question 1: choose σ for ε ≤ 3, then run it -------------------------------------------------

def _check_q1(sigma_choice, accuracy_at_sigma):
    sigma = number(sigma_choice, "sigma_choice")
    assert sigma > 0, f"a noise multiplier is positive, got {sigma!r}."
    eps_pld, eps_rdp = _epsilon(sigma, "pld"), _epsilon(sigma, "rdp")
    assert eps_pld <= TARGET_EPSILON + 1e-3, (
        f"σ = {sigma:g} gives ε = {eps_pld:.2f} (PLD; RDP: {eps_rdp:.2f}), above {TARGET_EPSILON:g}: not enough noise. "
        "Compute ε with poisson_epsilon(σ, 0.2, 75, 1e-5) and raise σ.")
    limit = 1.05 * _smallest_sigma("pld")
    assert sigma <= limit or abs(sigma - _smallest_sigma("rdp")) > 0.01 * _smallest_sigma("rdp"), (
        f"σ = {sigma:g} is the smallest σ by the RDP accountant, an upper bound on ε; the PLD accountant is tighter "
        f"and shows ε ≤ {TARGET_EPSILON:g} already at σ ≈ {_smallest_sigma('pld'):.2f}: more noise than needed.")
    assert sigma <= limit, (
        f"σ = {sigma:g} gives ε = {eps_pld:.2f}: private enough, but more noise than needed; the smallest σ for ε ≤ "
        f"{TARGET_EPSILON:g} is about {_smallest_sigma('pld'):.2f} (PLD) or {_smallest_sigma('rdp'):.2f} (RDP). "
        "Search between the σ values of the table (noise_for_epsilon does it by bisection).")
    value = number(accuracy_at_sigma, "accuracy_at_sigma")
    assert 0 <= value <= 1, f"an accuracy is between 0 and 1, got {value!r}."
    expected = _accuracy(sigma)
    assert abs(value - expected) <= 0.005, (
        f"{value:.3f} is not what FedAvg with DP-SGD at σ = {sigma:g} gives for seeds 42, 43, 44 ({expected:.3f} "
        "expected): run dp_fedavg_accuracy with your σ, DP_LR and those seeds, and report the mean.")
    print(f"σ = {sigma:g}: ε = {eps_pld:.2f} (PLD) / {eps_rdp:.2f} (RDP) at δ = 1e-5, accuracy {expected:.3f}.")


q1 = Question(
    number=1, variables=("sigma_choice", "accuracy_at_sigma"), check_fn=_check_q1,
    hint_text="ε falls as σ grows: bracket σ between two rows of the table (ε above and below 3), then bisect with "
              "poisson_epsilon(sigma, DP_RATE, DP_TOTAL_STEPS, DELTA), or call noise_for_epsilon(3.0, DP_RATE, "
              "DP_TOTAL_STEPS, DELTA).",
    solution_code=("sigma_choice = noise_for_epsilon(3.0, DP_RATE, DP_TOTAL_STEPS, DELTA, 'pld')\n"
                   "accuracy_at_sigma = dp_fedavg_accuracy(shared, DPSGD(DP_CLIP, sigma_choice, DP_RATE, DP_STEPS, DP_LR), "
                   "ROUNDS, seeds=(42, 43, 44)).mean()"),
    wrong_answers=lambda: [
        ({"sigma_choice": 2.0, "accuracy_at_sigma": _accuracy(2.0)}, "not enough noise"),
        ({"sigma_choice": 4.0, "accuracy_at_sigma": _accuracy(4.0)}, "more noise than needed"),
        ({"sigma_choice": _smallest_sigma("rdp"), "accuracy_at_sigma": _accuracy(_smallest_sigma("rdp"))}, "RDP accountant"),
        ({"sigma_choice": 1.06 * _smallest_sigma("pld"), "accuracy_at_sigma": _accuracy(1.06 * _smallest_sigma("pld"))},
         "more noise than needed"),
        ({"sigma_choice": _smallest_sigma("pld"), "accuracy_at_sigma": _accuracy(_smallest_sigma("pld")) + 0.03},
         "is not what"),
        ({"sigma_choice": "three", "accuracy_at_sigma": 0.8}, "one number"),
    ],
    context=lambda: _context(),
    kind="change",
)


def _context():
    from utils.accounting import noise_for_epsilon, poisson_epsilon
    from utils.dpsgd import DPSGD, dp_fedavg_accuracy

    return {"np": np, "shared": _shared(), "DPSGD": DPSGD, "dp_fedavg_accuracy": dp_fedavg_accuracy,
            "noise_for_epsilon": noise_for_epsilon, "poisson_epsilon": poisson_epsilon, "DP_CLIP": DP_CLIP,
            "DP_RATE": DP_RATE, "DP_STEPS": DP_STEPS, "DP_LR": _dp_lr(), "ROUNDS": ROUNDS, "DELTA": DELTA,
            "DP_TOTAL_STEPS": _steps()}


# ---- Question 2: client-level DP with four hospitals, predicted -------------------------------------

def _parse_q2(prediction):
    value = number(prediction, "prediction")
    assert 0 <= value <= 1, f"predict an accuracy between 0 and 1, got {prediction!r}."
    return value


# The 5-seed mean at ε = 1 has a standard deviation over seeds of about 0.09 (the table), so its standard error is
# about 0.04: a prediction within 0.1 (about two standard errors) counts as close.
Q2_TOLERANCE = 0.1


def _judge_q2(prediction, result):
    close = abs(prediction - result) <= Q2_TOLERANCE
    return close, (f"At client-level ε = 1 the four-hospital model scores {result:.3f} (mean over 5 seeds, whose spread "
                   f"makes anything within {Q2_TOLERANCE:g} of it a close guess). "
                   + ("Close." if close else "The noise needed to hide one of only four participants is far larger than "
                                              "the updates it protects: see question 3."))


q2 = Prediction(
    number=2, parse=_parse_q2, judge=_judge_q2,
    hint_text="How large is the noise on the averaged update (printed above) next to the update itself?",
    example_result=0.59, example_guesses=(0.55, 0.78),
)


# ---- Question 3: why it fails ----------------------------------------------------------------------

q3 = Choice(
    number=3,
    options={
        "a": ("Unsampled, every round exposes each hospital: σ must be large, and only four updates share it.",
              "The noise on the mean is σC/(number of clients), and ε depends on σ and the sampling, not on the number of "
              "clients: 400 clinics sampled at 10% need a smaller σ and divide it by about 40."),
        "b": ("TFF's DP aggregator misbehaves with few clients: tff.learning.dp_aggregator refuses four.",
              "The refusal is about estimating the clip norm adaptively; the fixed-clip aggregator runs, and the check showed "
              "it computes exactly what the NumPy aggregator computes."),
        "c": ("Clipping each hospital's update to the median norm throws away the signal the model needs.",
              "The controls say otherwise: the clipped uniform mean without noise (σ = 0) scores no worse than the uniform "
              "mean without clipping (compare those two rows); the accuracy falls only once the noise is added."),
        "d": ("The four hospitals differ too much from each other for any single federated model to fit.",
              "The same four hospitals train a good model without DP (the baseline); heterogeneity is not what changed."),
    },
    correct=("a",),
    hint_text="Compare the σ = 0 row with the ε = 1 row, and the printed noise per coordinate with the update's length.",
)


# ---- Question 4: how many colluders unmask a hospital ------------------------------------------------

def _check_q4(colluders):
    value = number(colluders, "colluders")
    assert value.is_integer(), f"count hospitals in whole numbers, not {colluders!r}."
    assert value != 4, "there are only three other hospitals; the fourth is Cleveland itself."
    assert value < 4, f"there are only three other hospitals, not {int(value)}."
    assert value != 0, "with no help the server has only the sum, which mixes Cleveland with three other hospitals."
    assert value != 1 and value != 2, (f"with {int(value)} other update(s) the server can subtract them, but the rest of the "
                                       "sum still mixes Cleveland with the remaining hospital(s).")
    assert value == 3, f"{colluders!r} is not right."


q4 = Question(
    number=4, variables=("colluders",), check_fn=_check_q4,
    hint_text="Sum of four updates minus the updates you know: when is only Cleveland's left?",
    solution_code="colluders = 3  # sum − (the three others) = Cleveland's update, exactly",
    wrong_answers=[({"colluders": 2}, "still mixes"), ({"colluders": 4}, "only three other"),
                   ({"colluders": 0}, "only the sum"), ({"colluders": 2.5}, "whole numbers"),
                   ({"colluders": "all"}, "one number")],
)
