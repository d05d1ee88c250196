"""Every exercise: untouched says 'not attempted', the reference solution passes, wrong answers fail."""
import importlib
import pkgutil

import pytest

import utils.exercises as exercises
from utils.exercises import NOT_ATTEMPTED, Question


def all_questions():
    for module_info in pkgutil.iter_modules(exercises.__path__):
        module = importlib.import_module(f"utils.exercises.{module_info.name}")
        for name, value in sorted(vars(module).items()):
            if isinstance(value, Question):
                yield pytest.param(value, id=f"{module_info.name}.{name}")


QUESTIONS = list(all_questions())


def test_every_chapter_module_has_questions():
    assert QUESTIONS


@pytest.mark.parametrize("question", QUESTIONS)
def test_untouched_prints_not_attempted(question, capsys):
    namespace = question.context()
    namespace.update({name: ... for name in question.variables})
    assert question.check(namespace) is None
    assert NOT_ATTEMPTED in capsys.readouterr().out


@pytest.mark.parametrize("question", QUESTIONS)
def test_reference_solution_passes(question, capsys):
    assert question.check(question.solved_namespace()) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("question", QUESTIONS)
def test_wrong_answers_fail_with_a_reason(question, capsys):
    assert question.wrong_answers, "every question needs at least one wrong answer to test"
    for wrong in question.wrong_answers:
        assert question.check({**question.context(), **wrong}) is False
        assert "Question" in capsys.readouterr().out


@pytest.mark.parametrize("question", QUESTIONS)
def test_hint_and_solution_print(question, capsys):
    question.hint()
    question.solution()
    out = capsys.readouterr().out
    assert question.hint_text in out and question.solution_code.strip() in out


def test_check_reads_the_callers_globals(capsys):
    q = Question(number=9, variables=("answer_for_test",), check_fn=lambda a: None,
                 hint_text="h", solution_code="answer_for_test = 1")
    assert q.check() is None  # not defined in this module
    globals()["answer_for_test"] = 1
    try:
        assert q.check() is True
    finally:
        del globals()["answer_for_test"]
