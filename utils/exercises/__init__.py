"""Self-check exercises in the style of Kaggle's learntools. Introduced in chapter 00.

Three kinds, each with ``check()``, ``hint()`` and ``solution()``:

* ``Question``: compute something, or change an experiment and report what it gave. The learner sets
  the question's variables, then ``ex.q1.check()`` reads them from the notebook and says ✅ or ❌
  with the mistake it recognised.
* ``Choice``: explain a result by choosing among explanations (``ex.q2.show()`` lists them); every
  wrong choice gets its own feedback.
* ``Prediction``: predict, then run. ``ex.q3.check()`` records the prediction before the experiment
  runs; the cell that runs it calls ``ex.q3.reveal(result)``, which compares.

An untouched exercise (variable missing or still ``...``) prints "not attempted" and never raises, so
a notebook always runs top to bottom. A learner's answer of the wrong kind (text for a number, say)
is reported, not raised; an error inside a check itself is raised, so it cannot hide. Each chapter's
exercises live in ``utils/exercises/chNN.py`` with reference solutions and typical wrong answers,
which the tests feed through every check.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

NOT_ATTEMPTED = "not attempted"
# What a learner's answer of the wrong kind raises inside a check (float("abc"), len(3), ...).
ANSWER_ERRORS = (TypeError, ValueError, AttributeError, IndexError, KeyError)


def _caller_globals(namespace, depth: int = 2) -> dict:
    return sys._getframe(depth).f_globals if namespace is None else namespace


def _values(variables, namespace):
    values = [namespace.get(name, ...) for name in variables]
    return None if any(v is ... for v in values) else values


def _not_attempted(number: int, variables) -> None:
    names = ", ".join(f"`{v}`" for v in variables)
    print(f"Question {number}: {NOT_ATTEMPTED} (set {names}, then run this cell again).")


@dataclass
class Question:
    """Compute something, or change an experiment and report its result.

    ``check_fn`` receives the learner's values (in ``variables`` order) and raises AssertionError
    with a message naming the mistake. ``wrong_answers`` pairs typical wrong values with a text the
    feedback must contain (the tests check both). ``context`` builds what the notebook has defined
    before the exercise (for tests and for running the solution outside the notebook).
    """

    number: int
    variables: tuple
    check_fn: Callable[..., None]
    hint_text: str
    solution_code: str
    wrong_answers: Any = field(default_factory=list)  # [(values, text)] or a function returning them
    context: Callable[[], dict] = dict
    kind: str = "compute"  # or "change" (change an experiment)

    def check(self, namespace: dict | None = None) -> bool | None:
        """Print whether the answer is right; True, False, or None when not attempted."""
        values = _values(self.variables, _caller_globals(namespace))
        if values is None:
            _not_attempted(self.number, self.variables)
            return None
        try:
            self.check_fn(*values)
        except AssertionError as wrong:
            print(f"❌ Question {self.number}: not yet. {wrong}")
            return False
        except ANSWER_ERRORS as error:
            print(f"❌ Question {self.number}: the answer could not be checked ({type(error).__name__}: {error}); "
                  "check its type against the question.")
            return False
        print(f"✅ Question {self.number}: correct.")
        return True

    def hint(self) -> None:
        print(f"Hint for question {self.number}: {self.hint_text}")

    def solution(self) -> None:
        print(f"Solution for question {self.number}:\n\n{self.solution_code.strip()}")

    def wrong_cases(self) -> list:
        """[(values, text the feedback must contain)]; ``wrong_answers`` may be a function of the data."""
        return self.wrong_answers() if callable(self.wrong_answers) else list(self.wrong_answers)

    def solved_namespace(self) -> dict:
        """The notebook's state after running the reference solution (used by the tests)."""
        namespace = self.context()
        exec(self.solution_code, namespace)  # noqa: S102 (our own reference code)
        return namespace


@dataclass
class Choice:
    """Explain a result: choose one of ``options = {letter: (explanation, feedback)}``.

    ``correct`` holds the letters that are right (feedback for them says why). The learner sets
    ``variable`` (default ``answer``) to a letter.
    """

    number: int
    options: dict
    correct: tuple
    hint_text: str
    variable: str = "answer"
    kind: str = "explain"

    def show(self) -> None:
        """Display the explanations to choose from."""
        from IPython.display import Markdown, display

        display(Markdown("\n".join(f"**({k})** {text}" + "  " for k, (text, _) in self.options.items())))

    def check(self, namespace: dict | None = None) -> bool | None:
        values = _values((self.variable,), _caller_globals(namespace))
        if values is None:
            _not_attempted(self.number, (self.variable,))
            return None
        choice = values[0]
        key = choice.strip().lower().strip("()") if isinstance(choice, str) else None
        if key not in self.options:
            print(f"❌ Question {self.number}: answer with one of the letters {', '.join(self.options)}, "
                  f"got {choice!r}.")
            return False
        feedback = self.options[key][1]
        if key in self.correct:
            print(f"✅ Question {self.number}: correct. {feedback}")
            return True
        print(f"❌ Question {self.number}: not this one. {feedback}")
        return False

    def hint(self) -> None:
        print(f"Hint for question {self.number}: {self.hint_text}")

    def solution(self) -> None:
        for key in self.correct:
            print(f"Solution for question {self.number}: ({key}) {self.options[key][0]}\n{self.options[key][1]}")


@dataclass
class Prediction:
    """Predict, then run: ``check()`` records the prediction, ``reveal(result)`` compares.

    ``parse(prediction)`` returns the prediction in a comparable form (raise AssertionError with a
    message for a malformed one); ``judge(prediction, result)`` returns (right?, explanation).
    ``example_result`` is a result the experiment can produce (for the tests).
    """

    number: int
    parse: Callable[[Any], Any]
    judge: Callable[[Any, Any], tuple]
    hint_text: str
    example_result: Any
    example_guesses: tuple = ()  # predictions to test with: one right, one wrong for example_result
    variable: str = "prediction"
    kind: str = "predict"
    recorded: Any = field(default=..., repr=False)

    def check(self, namespace: dict | None = None) -> bool | None:
        values = _values((self.variable,), _caller_globals(namespace))
        if values is None:
            _not_attempted(self.number, (self.variable,))
            return None
        try:
            self.recorded = self.parse(values[0])
        except (AssertionError, *ANSWER_ERRORS) as wrong:
            print(f"❌ Question {self.number}: that is not a prediction I can compare. {wrong}")
            return False
        print(f"📝 Question {self.number}: prediction recorded ({self.recorded!r}). Now run the experiment below.")
        return True

    def reveal(self, result) -> bool | None:
        """Compare the recorded prediction with the experiment's ``result``."""
        if self.recorded is ...:
            print(f"Question {self.number}: no prediction was recorded, so there is nothing to compare. "
                  f"Set `{self.variable}` and run its check() before running the experiment.")
            return None
        right, explanation = self.judge(self.recorded, result)
        mark = "✅" if right else "❌"
        print(f"{mark} Question {self.number}: you predicted {self.recorded!r}. {explanation}")
        return bool(right)

    def hint(self) -> None:
        print(f"Hint for question {self.number}: {self.hint_text}")

    def solution(self) -> None:
        print(f"Question {self.number} is a prediction: run the experiment below and read the comparison.")


def close(actual, expected, tol: float = 1e-6, what: str = "your answer") -> None:
    """Assert two numbers agree to ``tol`` (absolute), with a readable message."""
    assert abs(float(actual) - float(expected)) <= tol, f"{what} is {actual!r}; check your computation."


def number(value, what: str) -> float:
    """The learner's value as one finite number, or an AssertionError saying what is wrong with it."""
    import numpy as np

    assert not isinstance(value, (str, bytes, bool)) and np.ndim(value) == 0, \
        f"{what} should be one number, got {value!r}."
    value = float(value)
    assert np.isfinite(value), f"{what} should be a finite number, got {value!r}."
    return value
