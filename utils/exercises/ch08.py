"""Chapter 08's exercises: how far joining moves a large bank's AUC (predict), why a shared salt does not hide the
join keys (explain), how many labels the residuals give away (predict), a utility with two weeks of
history (change an experiment)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

BANK_LETTERS = {"g": "graduate", "u": "university", "h": "high_school", "o": "other"}
Q4_ZONE, Q4_DAYS = "zone2", 14


# ---- Question 1: how far does joining move a large bank's AUC? ------------------------------------

LARGE_BANKS = ("graduate", "university", "high_school")


def _parse_q1(prediction):
    value = number(prediction, "prediction")
    assert 0 <= value <= 1, f"a change in AUC, in absolute value, is between 0 and 1, got {prediction!r}."
    return value


def _judge_q1(prediction, table):
    """``table``: one row per bank (index: bank keys) with mean test AUC columns "local" and "FedAvg"."""
    change = (table["FedAvg"] - table["local"]).astype(float)
    large = change[[b for b in LARGE_BANKS if b in change.index]]
    largest = float(large.abs().max())
    text = ", ".join(f"{b}: {g:+.3f}" for b, g in large.items())
    right = abs(prediction - largest) <= 0.01
    explanation = (f"FedAvg's test AUC minus the bank's own model's, large banks: {text}; the largest change in "
                   f"absolute value is {largest:.3f}. Each large bank has thousands of training rows for a model of a "
                   "few dozen parameters, so its own model is already close to what the pooled data gives, and "
                   "joining moves it little, up or down. Bank O is left out on purpose: its change is smaller than "
                   "the uncertainty of its own test AUC (the bootstrap below), so no prediction about it can be "
                   "checked.")
    return right, explanation


def _example_q1():
    import pandas as pd

    return pd.DataFrame({"local": [0.770, 0.745, 0.728, 0.445], "FedAvg": [0.762, 0.761, 0.730, 0.542]},
                        index=["graduate", "university", "high_school", "other"])


q1 = Prediction(
    number=1, parse=_parse_q1, judge=_judge_q1,
    hint_text="How many training rows does a large bank have, and how many parameters does a logistic regression "
              "have (one weight per input, plus a bias)? How far from its best can a bank's own model then be?",
    example_result=_example_q1(), example_guesses=(0.01, 0.1),
)


# ---- Question 2: is a shared salt enough? ------------------------------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("No: the salt is only 16 bytes; a salt of 32 bytes or more would make the hashed phone numbers "
              "impossible to reverse.",
              "The salt's length does not matter: the retailer must know the salt to compute matching hashes, so it "
              "can hash every candidate number with it, however long it is."),
        "b": ("Yes: SHA-256 cannot be inverted, so a hash reveals nothing about a phone number unless the retailer "
              "already holds that number.",
              "Nobody needs to invert SHA-256: the retailer can guess numbers and hash them forward with the salt it "
              "knows. Every guess that matches reveals a customer, and the guesses can be all possible numbers."),
        "c": ("No: the retailer needs the salt to find the matches, so it can hash every possible phone number "
              "with it and look them up; 10⁸ numbers is a small list.",
              "A hash hides a key only when the key cannot be guessed. A salt stops precomputed tables, but the "
              "receiver knows it; DH-PSI below makes every offline test of a guess need the other party's secret."),
        "d": ("No: SHA-256 has known collisions, so two phone numbers can share a hash and the retailer can read "
              "the colliding numbers back.",
              "No collision of SHA-256 has ever been found; the matches are exact. The problem is what the matches "
              "reveal, not their reliability."),
    },
    correct=("c",),
    hint_text="To compare hashes, what must the bank and the retailer share? And how many phone numbers are there?",
)


# ---- Question 3: how many labels do the residuals reveal? ---------------------------------------------

def _parse_q3(prediction):
    value = number(prediction, "prediction")
    assert 0 <= value <= 1, f"a share of labels is between 0 and 1, got {prediction!r}."
    return value


def _judge_q3(prediction, share):
    share = float(share)
    right = abs(prediction - share) <= 0.05
    explanation = (f"From one round of residuals the retailer recovers {share:.1%} of the labels. The model's "
                   "probability p is strictly between 0 and 1, so the residual p − y is negative exactly for the "
                   "defaulters (y = 1): its sign is the label, whatever the model.")
    return right, explanation


q3 = Prediction(
    number=3, parse=_parse_q3, judge=_judge_q3,
    hint_text="Write the residual p − y for a client with y = 0 and for one with y = 1; which sign can each have?",
    example_result=1.0, example_guesses=(1.0, 0.6),
)


# ---- Question 4: a utility with two weeks of history -------------------------------------------------

@lru_cache(maxsize=1)
def _split():
    # The same data the notebook loaded (real file, or the stand-in offline).
    from utils.forecast import zone_split
    from utils.power import load_power

    return zone_split(load_power())


def _local_fit(data, zone):
    from utils.linear import linear_optimum

    return linear_optimum({zone: data.part("train")[zone]})


def _mape(data, zone, theta) -> float:
    from utils.forecast import forecasts, zone_errors

    table = zone_errors(forecasts({z: theta for z in data.part("test")}, data), data).set_index("zone")
    return float(table.loc[zone, "MAPE %"])


@lru_cache(maxsize=1)
def _q4_values() -> dict:
    full = _split()
    short = full.with_history(Q4_ZONE, Q4_DAYS)
    from utils.linear import linear_optimum

    return {"expected": _mape(short, Q4_ZONE, _local_fit(short, Q4_ZONE)),
            "full_history": _mape(full, Q4_ZONE, _local_fit(full, Q4_ZONE)),
            "pooled": _mape(short, Q4_ZONE, linear_optimum(short.part("train"))),
            "zone3": _mape(full.with_history("zone3", Q4_DAYS), "zone3",
                           _local_fit(full.with_history("zone3", Q4_DAYS), "zone3"))}


def _check_q4(local_mape_14):
    value = number(local_mape_14, "local_mape_14")
    values = _q4_values()
    expected = values["expected"]
    assert value > 0, f"a mean absolute percentage error is positive, got {local_mape_14!r}."
    if abs(expected - values["full_history"]) > 0.05:
        assert abs(value - values["full_history"]) > 0.01, (
            "that is the local model with zone 2's whole training period; keep only its last 14 days "
            "(zones.with_history('zone2', 14)).")
    if abs(expected - values["pooled"]) > 0.05:
        assert abs(value - values["pooled"]) > 0.01, "that is the pooled model; the question asks for zone 2's own model."
    if abs(expected - values["zone3"]) > 0.05:
        assert abs(value - values["zone3"]) > 0.01, "that is zone 3's value; the question is about zone 2."
    assert abs(value * 100 - expected) > 0.01 * expected, "that looks like a fraction; give the MAPE in percent."
    assert abs(value - expected) <= 0.01 * expected, (
        f"{value:.3f} % is not what a least-squares fit on zone 2's last 14 days of training rows gives on its test "
        "rows; check the zone, the number of days and that you score the test part.")
    print(f"Zone 2 alone with 14 days: {expected:.2f} % MAPE; with its whole training period: "
          f"{values['full_history']:.2f} %.")


q4 = Question(
    number=4, variables=("local_mape_14",), check_fn=_check_q4,
    hint_text="short = zones.with_history('zone2', 14); fit linear_optimum({'zone2': short.part('train')['zone2']}); "
              "score it with zone_errors(forecasts(...), short).",
    solution_code=("short = zones.with_history('zone2', 14)\n"
                   "theta = linear_optimum({'zone2': short.part('train')['zone2']})\n"
                   "table = zone_errors(forecasts({z: theta for z in ZONES}, short), short).set_index('zone')\n"
                   "local_mape_14 = table.loc['zone2', 'MAPE %']"),
    wrong_answers=lambda: [({"local_mape_14": _q4_values()["full_history"]}, "whole training period"),
                           ({"local_mape_14": _q4_values()["expected"] / 100}, "fraction"),
                           ({"local_mape_14": _q4_values()["expected"] * 1.2}, "is not what"),
                           ({"local_mape_14": -3.0}, "positive"),
                           ({"local_mape_14": "low"}, "one number")],
    context=lambda: _context(),
    kind="change",
)


def _context():
    from utils.forecast import forecasts, zone_errors
    from utils.linear import linear_optimum
    from utils.power import ZONES

    return {"np": np, "zones": _split(), "linear_optimum": linear_optimum, "forecasts": forecasts,
            "zone_errors": zone_errors, "ZONES": ZONES}
