"""Chapter 05's exercises: which change lifts FedAvg (predict), why shared scaling helps (explain),
equal weights instead of size weights (change an experiment), the essay's network (compute)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

SEEDS_Q3 = (42, 43, 44)
CANDIDATE_LRS = (0.001, 0.003, 0.01, 0.03, 0.1)


@lru_cache(maxsize=1)
def _split():
    # The same data the notebook loaded (real files, or the seeded synthetic twin offline).
    from utils.data import load_heart_disease

    return load_heart_disease()


def _numpy_fedavg(data, lr, seed, weighting="size"):
    from utils.fedcore import run_fedavg
    from utils.local_training import Schedule
    from utils.models import initial_weights, to_theta

    return run_fedavg(data.train, 15, lr=lr, theta0=to_theta(initial_weights(seed, len(data.feature_names))),
                      schedule=Schedule(batch_size=4, steps=100, shuffle=True), seed=seed, weighting=weighting).final


def _mean_per_centre(model, data) -> float:
    from utils.case_study import hospital_metrics

    return float(hospital_metrics(model, data)["accuracy"].mean())


@lru_cache(maxsize=1)
def _chosen_lr() -> float:
    """The notebook's choice: the best mean validation accuracy over 3 seeds (shared scaling)."""
    validation = _split().restandardize("pooled").validation_split(0.25, seed=0)
    scores = {lr: np.mean([_mean_per_centre(_numpy_fedavg(validation, lr, s), validation) for s in SEEDS_Q3])
              for lr in CANDIDATE_LRS}
    return max(scores, key=scores.get)


@lru_cache(maxsize=4)
def _accuracy(weighting: str, scaling: str = "pooled") -> float:
    data = _split().restandardize(scaling)
    return float(np.mean([_mean_per_centre(_numpy_fedavg(data, _chosen_lr(), s, weighting), data) for s in SEEDS_Q3]))


# ---- Question 1: which change lifts FedAvg more? -----------------------------------------------

def _parse_q1(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("learning rate", "scaling"), \
        f'answer "learning rate" or "scaling", got {prediction!r}.'
    return prediction.strip().lower()


def _judge_q1(prediction, ablation):
    means = ablation["mean"]
    lr_gain, scaling_gain = means.iloc[1] - means.iloc[0], means.iloc[2] - means.iloc[0]
    truth = "scaling" if scaling_gain > lr_gain else "learning rate"
    return prediction == truth, (f"Alone, the learning rate changes FedAvg by {lr_gain:+.3f} and the shared scaling by "
                                 f"{scaling_gain:+.3f}.")


def _example_ablation():
    import pandas as pd

    return pd.DataFrame({"mean": [0.707, 0.72, 0.77, 0.79]})


q1 = Prediction(
    number=1, parse=_parse_q1, judge=_judge_q1,
    hint_text="Commit first; the ablation table below answers it.",
    example_result=_example_ablation(), example_guesses=("scaling", "learning rate"),
)


# ---- Question 2: why shared scaling helps ---------------------------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("Switzerland codes every cholesterol as 0, so under shared scaling `chol` tells the model which "
              "hospital a patient comes from.",
              "A good suspect, but the control rules it out: without `chol` the shared model scores about the same. "
              "Many features together separate the hospitals."),
        "b": ("Shared scaling keeps the differences between hospitals, so the model can tell where a patient comes "
              "from and use each hospital's base rate, which a mean of accuracy over hospitals rewards.",
              "The hospital columns make that information explicit for the per-centre model and recover much of the "
              "gain; per-centre scaling subtracts each hospital's means and hides it."),
        "c": ("The shared statistics come from more rows, so they are more precise.",
              "Precision of the mean and std cannot move accuracy by several points; and the per-centre statistics "
              "are exact for each hospital's own rows."),
        "d": ("Federated training drifts less when every client uses the same scaling.",
              "The pooled model, with no federated training at all, gains as much from the shared scaling (section 3)."),
    },
    correct=("b",),
    hint_text="Which information does subtracting each hospital's own mean remove? Which control puts it back?",
)


# ---- Question 3: equal weights instead of size weights --------------------------------------------

def _check_q3(uniform_accuracy):
    value = number(uniform_accuracy, "uniform_accuracy")
    assert 0 <= value <= 1, f"an accuracy is between 0 and 1, got {value!r}."
    expected, by_size = _accuracy("uniform"), _accuracy("size")
    per_centre = _accuracy("uniform", "center")
    if abs(expected - by_size) > 0.01:
        assert abs(value - by_size) > 0.005, "that is the size-weighted run; set weighting=\"uniform\"."
    if abs(expected - per_centre) > 0.01:
        assert abs(value - per_centre) > 0.005, "that uses per-centre scaling; the question keeps the shared scaling."
    assert abs(value - expected) <= 0.015, (
        f"{value:.3f} is not what FedAvg with equal weights gives here (within the spread of a different batch order); "
        "check the scaling, the learning rate and the seeds.")
    print(f"Equal weights: {expected:.3f}; FLamby's size weights: {by_size:.3f} (same seeds, same scaling).")


q3 = Question(
    number=3, variables=("uniform_accuracy",), check_fn=_check_q3,
    hint_text="numpy_fedavg(shared, chosen_lr, seed, weighting='uniform') gives the final model of one seed; "
              "mean_per_centre(model, shared) scores it.",
    solution_code=("uniform_accuracy = np.mean([mean_per_centre(numpy_fedavg(shared, chosen_lr, s, weighting='uniform'), "
                   "shared) for s in (42, 43, 44)])"),
    wrong_answers=lambda: [({"uniform_accuracy": _accuracy("size")}, "size-weighted"),
                           ({"uniform_accuracy": _accuracy("uniform") + 0.05}, "is not what"),
                           ({"uniform_accuracy": 1.4}, "between 0 and 1"),
                           ({"uniform_accuracy": "high"}, "one number")],
    context=lambda: _context(),
    kind="change",
)


def _context():
    return {"np": np, "shared": _split().restandardize("pooled"), "chosen_lr": _chosen_lr(),
            "numpy_fedavg": _numpy_fedavg, "mean_per_centre": _mean_per_centre}


# ---- Question 4: parameters of the essay's network ------------------------------------------------

def _check_q4(n_params):
    value = number(n_params, "n_params")
    expected = 13 * 128 + 128 + 128 * 1 + 1
    assert value.is_integer(), f"a number of parameters is a whole number, not {n_params!r}."
    assert value != 13 * 128 + 128, "you counted the hidden layer only; add the output layer."
    assert value != 784 * 128 + 128 + 129, "that is the essay's 784 inputs (an MNIST image); the hospitals have 13 features."
    assert value == expected, f"{n_params} is not right: each Dense layer has inputs × outputs weights plus one bias per output."


q4 = Question(
    number=4, variables=("n_params",), check_fn=_check_q4,
    hint_text="Dense(128) on 13 inputs has 13·128 weights and 128 biases; Dense(1) on 128 inputs has 128 weights and 1 bias.",
    solution_code="n_params = 13 * 128 + 128 + 128 * 1 + 1",
    wrong_answers=[({"n_params": 13 * 128 + 128}, "hidden layer only"), ({"n_params": 784 * 128 + 128 + 129}, "784"),
                   ({"n_params": 1922}, "is not right"), ({"n_params": "many"}, "one number")],
)
