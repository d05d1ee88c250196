"""Self-check exercises in the style of Kaggle's learntools. Introduced in chapter 00.

In a notebook::

    from utils.exercises import ch00 as ex
    answer = ...          # the learner replaces ... with an answer
    ex.q1.check()         # ✅ / ❌ with a reason / "not attempted"
    ex.q1.hint()
    ex.q1.solution()

``check()`` reads the question's variables from the notebook's globals. An
untouched exercise (variable missing or still ``...``) prints "not attempted"
and never raises, so a notebook always runs top to bottom.

A chapter's questions live in ``utils/exercises/chNN.py``; each question
carries a reference solution and at least one wrong answer, which the tests
feed through ``check()``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

NOT_ATTEMPTED = "not attempted"


@dataclass
class Question:
    """One exercise.

    check_fn receives the learner's values (in ``variables`` order) and raises
    AssertionError with a helpful message when the answer is wrong.
    context builds what the notebook has defined before the exercise (for tests
    and for running the solution outside the notebook).
    """

    number: int
    variables: tuple[str, ...]
    check_fn: Callable[..., None]
    hint_text: str
    solution_code: str
    wrong_answers: list[dict[str, Any]] = field(default_factory=list)
    context: Callable[[], dict[str, Any]] = dict

    def _values(self, namespace: dict[str, Any]):
        values = [namespace.get(name, ...) for name in self.variables]
        return None if any(v is ... for v in values) else values

    def check(self, namespace: dict[str, Any] | None = None) -> bool | None:
        """Print whether the answer is right; True, False, or None when not attempted."""
        namespace = sys._getframe(1).f_globals if namespace is None else namespace
        values = self._values(namespace)
        if values is None:
            names = ", ".join(f"`{v}`" for v in self.variables)
            print(f"Question {self.number}: {NOT_ATTEMPTED} (set {names}, then run this cell again).")
            return None
        try:
            self.check_fn(*values)
        except AssertionError as wrong:
            print(f"❌ Question {self.number}: not yet. {wrong}")
            return False
        except Exception as error:  # a learner's answer of the wrong kind must not stop the notebook
            print(f"❌ Question {self.number}: the answer could not be checked ({type(error).__name__}: {error}).")
            return False
        print(f"✅ Question {self.number}: correct.")
        return True

    def hint(self) -> None:
        print(f"Hint for question {self.number}: {self.hint_text}")

    def solution(self) -> None:
        print(f"Solution for question {self.number}:\n\n{self.solution_code.strip()}")

    def solved_namespace(self) -> dict[str, Any]:
        """The notebook's state after running the reference solution (used by the tests)."""
        namespace = self.context()
        exec(self.solution_code, namespace)  # noqa: S102 (our own reference code)
        return namespace


def close(actual, expected, tol: float = 1e-6, what: str = "your answer") -> None:
    """Assert two numbers agree to ``tol`` (absolute), with a readable message."""
    assert abs(float(actual) - float(expected)) <= tol, f"{what} is {actual!r}; check your computation."
