"""Chapter 05's self-check exercises: the four-hospital case study."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from utils.exercises import Question, close


@lru_cache(maxsize=1)
def _split():
    # The same data the notebook loaded (real files, or the seeded synthetic twin offline).
    from utils.data import load_heart_disease

    return load_heart_disease()


@lru_cache(maxsize=1)
def _accuracies():
    """Cheap stand-ins for the notebook's per-hospital accuracies (NumPy, a few ms)."""
    from utils.case_study import hospital_metrics
    from utils.fedcore import run_fedavg
    from utils.local_training import Schedule, local_train, stream_batches
    from utils.models import initial_weights, to_theta

    split = _split()
    theta0 = to_theta(initial_weights(0))
    rng = np.random.default_rng(0)
    local = {h: local_train(theta0, *split.train[h], stream_batches(len(split.train[h][1]), 4, 300, rng),
                            optimizer="adam", lr=0.001) for h in split.hospitals}
    fed = run_fedavg(split.train, 5, lr=0.01, theta0=theta0, seed=0,
                     schedule=Schedule(batch_size=4, steps=50, shuffle=True)).final
    local_acc = hospital_metrics(local, split).set_index("hospital")["accuracy"]
    fed_acc = hospital_metrics(fed, split).set_index("hospital")["accuracy"]
    return local_acc, fed_acc


def _context():
    local_acc, fed_acc = _accuracies()
    return {"split": _split(), "local_acc": local_acc.copy(), "federated_acc": fed_acc.copy()}


# ---- Question 1: Switzerland's test set ---------------------------------------------------

def _check_q1(swiss_healthy_test):
    y = _split().test["switzerland"][1]
    expected = int((y == 0).sum())
    assert not isinstance(swiss_healthy_test, bool) and float(swiss_healthy_test).is_integer(), \
        f"a number of patients is a whole number, not {swiss_healthy_test!r}."
    assert int(swiss_healthy_test) == expected, (
        f"{swiss_healthy_test} is not the number of *healthy* (label 0) patients in Switzerland's "
        f"test set; it has {len(y)} rows in all.")


q1 = Question(
    number=1,
    variables=("swiss_healthy_test",),
    check_fn=_check_q1,
    hint_text="`split.test['switzerland']` is a pair (X, y); healthy patients have y == 0.",
    solution_code=(
        "X_ch, y_ch = split.test['switzerland']\n"
        "swiss_healthy_test = int((y_ch == 0).sum())"
    ),
    wrong_answers=[({"swiss_healthy_test": 16}, "healthy"), ({"swiss_healthy_test": "few"}, "could not be checked")],
    context=_context,
)


# ---- Question 2: who gains most from joining ----------------------------------------------

def _check_q2(local_acc, federated_acc, biggest_gainer):
    gain = pd.Series(federated_acc) - pd.Series(local_acc)
    assert biggest_gainer in gain.index, (
        f"{biggest_gainer!r} is not a hospital key; use one of {list(gain.index)}.")
    best = gain.idxmax()
    assert gain[biggest_gainer] == gain[best], (
        f"{biggest_gainer!r} gains {gain[biggest_gainer]:+.3f}; another hospital gains more.")


q2 = Question(
    number=2,
    variables=("local_acc", "federated_acc", "biggest_gainer"),
    check_fn=_check_q2,
    hint_text="The gain is `federated_acc - local_acc` (both are pandas Series indexed by hospital); "
              "`.idxmax()` returns the index of the largest value.",
    solution_code="biggest_gainer = (federated_acc - local_acc).idxmax()",
    wrong_answers=[],
    context=_context,
)


def _fix_wrong_answers():
    """An unknown name, and the hospital that gains *least* (computed, not guessed)."""
    local_acc, fed_acc = _accuracies()
    gain = fed_acc - local_acc
    unknown = ({"biggest_gainer": "Mars General"}, "not a hospital key")
    if gain.min() == gain.max():  # every hospital gains the same: only the unknown name is wrong
        return [unknown]
    return [unknown, ({"biggest_gainer": gain.idxmin()}, "another hospital gains more")]


q2.wrong_answers = _fix_wrong_answers


# ---- Question 3: FLamby's weighting -------------------------------------------------------

def _check_q3(swiss_share):
    split = _split()
    sizes = {h: len(split.train[h][1]) for h in split.hospitals}
    expected = sizes["switzerland"] / sum(sizes.values())
    assert 0 <= float(swiss_share) <= 1, f"a share is between 0 and 1, not {swiss_share!r}."
    assert abs(float(swiss_share) - 0.25) > 1e-9 or abs(expected - 0.25) < 1e-9, (
        "0.25 would be the share if every hospital counted equally; FedAvg weights by training rows.")
    close(swiss_share, expected, 1e-6, "Switzerland's share")


q3 = Question(
    number=3,
    variables=("swiss_share",),
    check_fn=_check_q3,
    hint_text="Weighted FedAvg gives hospital h the weight n_h / Σ n_k, where n_h is its number of "
              "*training* rows: `len(split.train[h][1])`.",
    solution_code=(
        "n = {h: len(split.train[h][1]) for h in split.hospitals}\n"
        "swiss_share = n['switzerland'] / sum(n.values())"
    ),
    wrong_answers=[({"swiss_share": 0.25}, "counted equally"), ({"swiss_share": 1.5}, "between 0 and 1")],
    context=_context,
)


# ---- Question 4: the seed's model -----------------------------------------------------------

def _check_q4(n_params):
    expected = 13 * 128 + 128 + 128 * 1 + 1
    assert not isinstance(n_params, bool) and float(n_params).is_integer(), \
        f"a number of parameters is a whole number, not {n_params!r}."
    assert int(n_params) != 13 * 128 + 128, "you counted the hidden layer only; add the output layer."
    assert int(n_params) == expected, (
        f"{n_params} is not right: each Dense layer has inputs × outputs weights plus one bias per output.")


q4 = Question(
    number=4,
    variables=("n_params",),
    check_fn=_check_q4,
    hint_text="Dense(128) on 13 inputs has 13·128 weights and 128 biases; Dense(1) on 128 inputs has "
              "128 weights and 1 bias.",
    solution_code="n_params = 13 * 128 + 128 + 128 * 1 + 1",
    wrong_answers=[({"n_params": 13 * 128 + 128}, "hidden layer only"), ({"n_params": 784 * 128 + 128 + 129}, "is not right")],
    context=_context,
)
