"""Self-check exercises in the style of Kaggle's learntools. Introduced in chapter 00.

Three kinds, each with ``check()``, ``hint()`` and ``solution()``:

* ``Question``: compute something, or change an experiment and report what it gave. The learner sets
  the question's variables, then ``ex.q1.check()`` reads them from the notebook and says ✅ or ❌
  with the mistake it recognised.
* ``Choice``: explain a result by choosing among explanations (``ex.q2.show()`` lists them); every
  wrong choice gets its own feedback.
* ``Prediction``: predict, then run. ``ex.q3.check()`` records the prediction before the experiment
  runs; the cell that runs it calls ``ex.q3.reveal(result)``, which compares.

Every check's outcome is recorded in a small git-ignored file (``.progress.json`` at the top of the
repository, or ``$FLCOURSE_PROGRESS``), shared by all kernels: ``progress()`` shows which exercises of
which chapters were attempted and passed.

An untouched exercise (variable missing or still ``...``) prints "not attempted" and never raises, so
a notebook always runs top to bottom. A learner's answer of the wrong kind (text for a number, say)
is reported, not raised; an error inside a check itself is raised, so it cannot hide. Each chapter's
exercises live in ``utils/exercises/chNN.py`` with reference solutions and typical wrong answers,
which the tests feed through every check.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

NOT_ATTEMPTED = "not attempted"
PROGRESS_ENV = "FLCOURSE_PROGRESS"
# What a learner's answer of the wrong kind raises inside a check (float("abc"), len(3), ...).
ANSWER_ERRORS = (TypeError, ValueError, AttributeError, IndexError, KeyError)


def _caller_globals(namespace, depth: int = 2) -> dict:
    return sys._getframe(depth).f_globals if namespace is None else namespace


def _values(variables, namespace):
    values = [namespace.get(name, ...) for name in variables]
    return None if any(v is ... for v in values) else values


def _defining_chapter(depth: int = 2) -> str:
    """'03' for an exercise created in utils/exercises/ch03.py (the module that called the constructor)."""
    module = sys._getframe(depth).f_globals.get("__name__", "")
    tail = module.rsplit(".", 1)[-1]
    return tail[2:] if tail.startswith("ch") and tail[2:].isdigit() else "?"


def progress_file() -> Path:
    default = Path(__file__).resolve().parents[2] / ".progress.json"
    return Path(os.environ.get(PROGRESS_ENV) or default)


def _record(chapter: str, number: int, kind: str, outcome: str, passed: bool) -> None:
    """Add one check's outcome to the progress file (locked: several kernels may write at once)."""
    import fcntl

    path = progress_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(path.read_text()) if path.exists() else {}
            except json.JSONDecodeError:
                data = {}  # a damaged file is replaced rather than blocking every check
            entry = data.setdefault(f"chapter {chapter}", {}).setdefault(
                f"question {number}", {"kind": kind, "tries": 0, "passed": False})
            entry["tries"] += 1
            entry["passed"] = entry["passed"] or passed
            entry["last"] = outcome
            entry["when"] = datetime.datetime.now().isoformat(timespec="seconds")
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.replace(path)
    except OSError as error:  # a read-only folder must not break the exercise itself
        print(f"(progress not saved: {error})")


def progress(show: bool = True):
    """A table of every exercise attempted so far, in any kernel: chapter, question, kind, tries,
    last outcome, passed (a prediction counts as passed once it was compared with the experiment,
    right or wrong: predicting before looking is the exercise). Returns a pandas DataFrame."""
    import pandas as pd

    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, got {show!r}")
    path = progress_file()
    data = json.loads(path.read_text()) if path.exists() else {}
    rows = [{"chapter": chapter, "question": question, **entry}
            for chapter, questions in sorted(data.items()) for question, entry in
            sorted(questions.items(), key=lambda kv: int(kv[0].split()[-1]))]
    table = pd.DataFrame(rows, columns=["chapter", "question", "kind", "tries", "last", "passed", "when"])
    if show:
        passed = int(table["passed"].sum()) if len(table) else 0
        print(f"{len(table)} exercises attempted, {passed} passed (from {path}).")
    return table


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
    chapter: str = field(default_factory=_defining_chapter)

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
            _record(self.chapter, self.number, self.kind, "wrong", False)
            return False
        except ANSWER_ERRORS as error:
            print(f"❌ Question {self.number}: the answer could not be checked ({type(error).__name__}: {error}); "
                  "check its type against the question.")
            _record(self.chapter, self.number, self.kind, "wrong", False)
            return False
        print(f"✅ Question {self.number}: correct.")
        _record(self.chapter, self.number, self.kind, "right", True)
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
    chapter: str = field(default_factory=_defining_chapter)

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
            _record(self.chapter, self.number, self.kind, "wrong", False)
            return False
        feedback = self.options[key][1]
        if key in self.correct:
            print(f"✅ Question {self.number}: correct. {feedback}")
            _record(self.chapter, self.number, self.kind, "right", True)
            return True
        print(f"❌ Question {self.number}: not this one. {feedback}")
        _record(self.chapter, self.number, self.kind, "wrong", False)
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
    chapter: str = field(default_factory=_defining_chapter)

    def check(self, namespace: dict | None = None) -> bool | None:
        values = _values((self.variable,), _caller_globals(namespace))
        if values is None:
            _not_attempted(self.number, (self.variable,))
            return None
        try:
            self.recorded = self.parse(values[0])
        except (AssertionError, *ANSWER_ERRORS) as wrong:
            print(f"❌ Question {self.number}: that is not a prediction I can compare. {wrong}")
            _record(self.chapter, self.number, self.kind, "prediction not readable", False)
            return False
        print(f"📝 Question {self.number}: prediction recorded ({self.recorded!r}). Now run the experiment below.")
        _record(self.chapter, self.number, self.kind, "predicted", False)
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
        # The exercise is to predict before looking: done once compared, whether the guess was right or not.
        _record(self.chapter, self.number, self.kind, "prediction right" if right else "prediction wrong", True)
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
