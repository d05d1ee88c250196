"""Chapter 00's exercises: what a placement promises (explain), age and disease (predict), a band of
the widget (change an experiment)."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from utils.exercises import Choice, Prediction, Question, number


@lru_cache(maxsize=1)
def _raw():
    # The same data the notebook loaded (real files, or the seeded synthetic twin offline).
    from utils.data import load_raw

    return load_raw()


# ---- Question 1: what the type signature promises ------------------------------------------------

q1 = Choice(
    number=1,
    options={
        "a": ("No client's temperature is sent to anyone else: only the mean ever leaves the clients.",
              "The type says where the result is placed, not how it is computed. To average, the values go "
              "to whatever aggregates them; hiding them takes secure aggregation (chapter 06)."),
        "b": ("The result is one value placed at the server, computed from one value per client; the type "
              "says nothing about who can read the clients' values on the way.",
              "A placement is a location in the type system. Privacy is a property of the protocol that "
              "implements the aggregation, and this one is a plain mean."),
        "c": ("The mean is differentially private, because it mixes several patients.",
              "Differential privacy needs deliberate noise and a privacy budget (chapter 06). A mean of three "
              "values plus any two of them gives away the third."),
        "d": ("TFF encrypts the clients' values, so the server can only decrypt their mean.",
              "Nothing here is encrypted: TFF's simulation runs in one process on your machine. Homomorphic "
              "encryption and secure aggregation are separate protocols (chapter 06)."),
    },
    correct=("b",),
    hint_text="Read the signature literally: it names a type and a placement for the argument and the result.",
)


# ---- Question 2: does the disease rate rise with age everywhere? ----------------------------------

def _parse_yes_no(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("yes", "no"), \
        f'answer "yes" or "no", got {prediction!r}.'
    return prediction.strip().lower()


def _rises_everywhere(by_decade: pd.DataFrame) -> tuple:
    """(True if the rate rises or stays from decade to decade in every hospital, the first fall)."""
    for hospital, rows in by_decade.groupby(level="hospital", sort=False):
        rates = rows["disease rate"].dropna()
        for (a, ra), (b, rb) in zip(rates.items(), list(rates.items())[1:]):
            if rb < ra:
                n = int(rows.loc[b, "patients"])
                return False, f"{hospital} falls from {ra:.2f} in the {a[1]} to {rb:.2f} in the {b[1]} ({n} patients)"
    return True, ""


def _judge_q2(prediction, by_decade):
    rises, first_fall = _rises_everywhere(by_decade)
    truth = "yes" if rises else "no"
    if rises:
        explanation = "In these data the rate never falls from one decade to the next."
    else:
        explanation = (f"It does not rise everywhere: for example {first_fall}. Look at how many patients stand "
                       "behind each fall before calling it a trend.")
    return prediction == truth, explanation


def _example_by_decade():
    index = pd.MultiIndex.from_product([["Cleveland"], ["60s", "70+"]], names=["hospital", "decade"])
    return pd.DataFrame({"disease rate": [0.6, 0.4], "patients": [81, 10]}, index=index)


q2 = Prediction(
    number=2,
    parse=_parse_yes_no,
    judge=_judge_q2,
    hint_text="There is no right prediction to look up: commit to one, then let the data answer.",
    example_result=_example_by_decade(),
    example_guesses=("yes", " No "),
)


# ---- Question 3: patients aged 60 or more ---------------------------------------------------------

def _check_q3(patients_60_plus):
    value = number(patients_60_plus, "patients_60_plus")
    frames = _raw().frames.values()
    expected = sum(int((f["age"] >= 60).sum()) for f in frames)
    above = sum(int((f["age"] > 60).sum()) for f in frames)
    assert value.is_integer(), f"a number of patients is a whole number, not {patients_60_plus!r}."
    assert value != above, "that counts patients older than 60; the band 60 and over includes the 60-year-olds."
    per_hospital = [int((f["age"] >= 60).sum()) for f in frames]
    assert value not in per_hospital, "that is one hospital's count; the question asks for all four together."
    assert value == expected, f"{int(value)} is not the number of patients aged 60 or over in the four hospitals."


q3 = Question(
    number=3,
    variables=("patients_60_plus",),
    check_fn=_check_q3,
    hint_text="Set the slider's lower end to 60 and its upper end to the maximum, choose 'Patients', and add "
              "up the four bars; or count rows with age >= 60 in every table of raw.frames.",
    solution_code="patients_60_plus = sum(int((frame['age'] >= 60).sum()) for frame in raw.frames.values())",
    wrong_answers=[],  # filled below from the data, so the tests use near misses of the real answer
    context=lambda: {"raw": _raw()},
    kind="change",
)


def _near_misses():
    frames = list(_raw().frames.values())
    return [({"patients_60_plus": sum(int((f["age"] > 60).sum()) for f in frames)}, "older than 60"),
            ({"patients_60_plus": int((frames[0]["age"] >= 60).sum())}, "one hospital"),
            ({"patients_60_plus": sum(int((f["age"] >= 60).sum()) for f in frames) + 1}, "is not the number"),
            ({"patients_60_plus": "many"}, "one number")]


q3.wrong_answers = _near_misses
