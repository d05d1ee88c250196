"""Every exercise: untouched says 'not attempted', reference solutions pass, typical wrong answers fail
with feedback that names the mistake; explanations give feedback per option; predictions are recorded
before the experiment and compared after."""
import importlib
import pkgutil

import pytest

import utils.exercises as exercises
from utils.exercises import NOT_ATTEMPTED, Choice, Prediction, Question

KINDS = (Question, Choice, Prediction)


def all_exercises():
    for module_info in pkgutil.iter_modules(exercises.__path__):
        module = importlib.import_module(f"utils.exercises.{module_info.name}")
        for name, value in sorted(vars(module).items()):
            if isinstance(value, KINDS):
                yield module_info.name, name, value


ALL = list(all_exercises())
QUESTIONS = [pytest.param(q, id=f"{m}.{n}") for m, n, q in ALL if isinstance(q, Question)]
CHOICES = [pytest.param(q, id=f"{m}.{n}") for m, n, q in ALL if isinstance(q, Choice)]
PREDICTIONS = [pytest.param(q, id=f"{m}.{n}") for m, n, q in ALL if isinstance(q, Prediction)]


@pytest.fixture(autouse=True)
def _tff_worker_started(request, capsys):
    """A question that runs a TFF computation starts TFF's worker, which needs the real stdout: start it
    once outside pytest's capture."""
    question = request.node.callspec.params.get("question") if hasattr(request.node, "callspec") else None
    if question is not None and "tff" in question.context():
        with capsys.disabled():
            import tensorflow_federated as tff

            from utils.runtime import manage_tff_workers

            manage_tff_workers()
            tff.federated_computation(lambda: 1.0)()
    yield


def test_every_chapter_has_each_kind_of_exercise():
    kinds = {}
    for module, _, q in ALL:
        kinds.setdefault(module, set()).add(q.kind)
    for module, found in kinds.items():
        assert {"predict", "change", "explain"} <= found, f"{module} lacks {({'predict', 'change', 'explain'} - found)}"


@pytest.mark.parametrize("question", QUESTIONS)
def test_untouched_question_says_not_attempted(question, capsys):
    namespace = question.context()
    namespace.update({name: ... for name in question.variables})
    assert question.check(namespace) is None
    assert NOT_ATTEMPTED in capsys.readouterr().out


@pytest.mark.parametrize("question", QUESTIONS)
def test_reference_solution_passes(question, capsys):
    assert question.check(question.solved_namespace()) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("question", QUESTIONS)
def test_wrong_answers_fail_and_name_the_mistake(question, capsys):
    cases = question.wrong_cases()
    assert len(cases) >= 2, "every question needs typical wrong answers, near misses included"
    for values, says in cases:
        assert question.check({**question.context(), **values}) is False, values
        out = capsys.readouterr().out
        assert says in out, f"{values}: feedback {out!r} does not say {says!r}"


@pytest.mark.parametrize("question", QUESTIONS)
def test_hint_and_solution_print(question, capsys):
    question.hint()
    question.solution()
    out = capsys.readouterr().out
    assert question.hint_text in out and question.solution_code.strip() in out


@pytest.mark.parametrize("choice", CHOICES)
def test_every_option_has_its_own_feedback(choice, capsys):
    assert choice.check({choice.variable: ...}) is None
    assert NOT_ATTEMPTED in capsys.readouterr().out
    assert choice.correct and set(choice.correct) < set(choice.options), "at least one right and one wrong option"
    feedbacks = set()
    for key, (_, feedback) in choice.options.items():
        assert choice.check({choice.variable: f" ({key.upper()}) "}) is (key in choice.correct)
        out = capsys.readouterr().out
        assert feedback in out
        feedbacks.add(feedback)
    assert len(feedbacks) == len(choice.options)
    assert choice.check({choice.variable: "z"}) is False
    assert "one of the letters" in capsys.readouterr().out
    choice.solution()
    assert choice.options[choice.correct[0]][0] in capsys.readouterr().out


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_prediction_is_recorded_then_compared(prediction, capsys):
    prediction.recorded = ...
    assert prediction.reveal(prediction.example_result) is None
    assert "no prediction was recorded" in capsys.readouterr().out
    assert prediction.check({prediction.variable: ...}) is None
    assert prediction.check({prediction.variable: object()}) is False
    outcomes = set()
    for guess in prediction.example_guesses:
        assert prediction.check({prediction.variable: guess}) is True
        assert "recorded" in capsys.readouterr().out
        outcomes.add(prediction.reveal(prediction.example_result))
        assert "you predicted" in capsys.readouterr().out
    assert outcomes == {True, False}, "the example guesses must include a right and a wrong prediction"
    prediction.recorded = ...


def test_check_reads_the_callers_globals(capsys):
    q = Question(number=9, variables=("answer_for_test",), check_fn=lambda a: None,
                 hint_text="h", solution_code="answer_for_test = 1")
    assert q.check() is None  # not defined in this module
    globals()["answer_for_test"] = 1
    try:
        assert q.check() is True
    finally:
        del globals()["answer_for_test"]


def test_a_broken_check_is_not_hidden():
    def broken(value):
        raise RuntimeError("bug in the check")

    q = Question(number=9, variables=("x",), check_fn=broken, hint_text="h", solution_code="x = 1")
    with pytest.raises(RuntimeError, match="bug in the check"):
        q.check({"x": 1})
