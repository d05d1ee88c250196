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


# ---- learner progress ----------------------------------------------------------------------------
@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv(exercises.PROGRESS_ENV, str(path))
    return path


def _question(number=7):
    def check(x):
        assert x == 2, "x is 2"
    return Question(number=number, variables=("x",), check_fn=check, hint_text="h", solution_code="x = 2")


def test_every_exercise_knows_its_chapter():
    for module, name, q in ALL:
        assert q.chapter == module[2:], f"{module}.{name} records chapter {q.chapter!r}"


def test_progress_records_tries_and_keeps_a_pass(progress_file, capsys):
    q = _question()
    q.check({"x": ...})  # not attempted: nothing recorded
    assert not progress_file.exists()
    q.check({"x": 3})
    q.check({"x": 2})
    q.check({"x": 5})  # a later wrong try does not take the pass away
    table = exercises.progress()
    assert "1 exercises attempted, 1 passed" in capsys.readouterr().out
    row = table.iloc[0]
    assert (row["question"], row["tries"], row["last"], bool(row["passed"])) == ("question 7", 3, "wrong", True)


def test_a_prediction_passes_once_compared_right_or_wrong(progress_file, capsys):
    from utils.exercises import ch03

    p = ch03.q1
    guess = p.example_guesses[0]
    p.check({p.variable: guess})
    assert not exercises.progress(show=False)["passed"].any()  # recorded, not yet compared
    p.reveal(p.example_result)
    row = exercises.progress(show=False).set_index("chapter").loc["chapter 03"]
    assert bool(row["passed"]) and row["last"].startswith("prediction ")
    p.recorded = ...


def test_choices_record_wrong_and_right(progress_file):
    c = Choice(number=4, options={"a": ("A", "because"), "b": ("B", "no")}, correct=("a",), hint_text="h")
    c.check({"answer": "b"})
    assert not exercises.progress(show=False)["passed"].any()
    c.check({"answer": "a"})
    assert exercises.progress(show=False)["passed"].all()


def test_kernels_writing_at_once_lose_nothing(progress_file):
    import subprocess
    import sys

    code = ("from utils.exercises import Question\n"
            "q = Question(number=1, variables=('x',), check_fn=lambda x: None, hint_text='', solution_code='')\n"
            "for _ in range(15): q.check({'x': 1})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert exercises.progress(show=False)["tries"].sum() == 45


def test_a_damaged_progress_file_is_replaced_not_fatal(progress_file):
    progress_file.write_text("{not json")
    assert _question().check({"x": 2}) is True
    assert exercises.progress(show=False)["passed"].all()


def test_progress_refuses_a_bad_flag():
    with pytest.raises(TypeError, match="show"):
        exercises.progress(show="yes")
