"""Chapter 00's warm-up exercises: practise the check / hint / solution controls."""
from __future__ import annotations

from functools import lru_cache

from utils.exercises import Question


@lru_cache(maxsize=1)
def _raw():
    # The same data the notebook loaded (real files, or the seeded synthetic twin offline).
    from utils.data import load_raw

    return load_raw()


def _context():
    return {"raw": _raw()}


def _rates(raw):
    return {h: float((frame["num"] > 0).mean()) for h, frame in raw.frames.items()}


def _check_q1(total_patients):
    expected = sum(len(frame) for frame in _raw().frames.values())
    assert isinstance(total_patients, (int,)) or float(total_patients).is_integer(), \
        f"a number of patients is a whole number, not {total_patients!r}."
    assert int(total_patients) == expected, (
        f"{total_patients} is not the number of rows over all four hospitals; "
        "did you add up all four tables?")


def _check_q2(sickest_hospital):
    from utils.heart import HOSPITALS

    assert sickest_hospital in HOSPITALS, f"{sickest_hospital!r} is not one of {HOSPITALS}."
    rates = _rates(_raw())
    best = max(rates, key=rates.get)
    assert sickest_hospital == best, (
        f"{sickest_hospital!r} has a disease rate of {rates[sickest_hospital]:.1%}; another hospital has more.")


q1 = Question(
    number=1,
    variables=("total_patients",),
    check_fn=_check_q1,
    hint_text="`raw.frames` maps each hospital to a pandas table; `len(table)` counts its rows.",
    solution_code="total_patients = sum(len(frame) for frame in raw.frames.values())",
    wrong_answers=[{"total_patients": 303}, {"total_patients": "many"}],
    context=_context,
)

q2 = Question(
    number=2,
    variables=("sickest_hospital",),
    check_fn=_check_q2,
    hint_text="A patient has heart disease when the column `num` is above 0; "
              "`(frame['num'] > 0).mean()` is a hospital's disease rate.",
    solution_code=(
        "rates = {h: (frame['num'] > 0).mean() for h, frame in raw.frames.items()}\n"
        "sickest_hospital = max(rates, key=rates.get)"
    ),
    wrong_answers=[{"sickest_hospital": "cleveland"}, {"sickest_hospital": "Mars General"}],
    context=_context,
)
