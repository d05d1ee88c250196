"""Chapter 10's quiz covers the essay's FAQ (§9), and its privacy experiment says what the notebook claims.
(Every exercise's checks, hints and wrong answers are tested generically in test_exercises.py.)"""
import numpy as np

from utils.exercises import Choice, Prediction, Question
from utils.exercises import ch10


def test_every_faq_question_of_the_essay_is_covered():
    assert [k.split()[0] for k in ch10.FAQ] == ["9.1", "9.2", "9.3", "9.4"]
    for question, exercises in ch10.FAQ.items():
        assert exercises and all(isinstance(e, (Choice, Prediction, Question)) for e in exercises), question
    kinds = {e.kind for exercises in ch10.FAQ.values() for e in exercises}
    assert {"explain", "predict", "change"} <= kinds


def test_one_patient_s_gradient_gives_the_patient_away():
    X, y = ch10._patients()
    g = ch10._gradient(ch10._theta(), X[:1], y[:1])
    assert np.abs(g[:-1] / g[-1] - X[0]).max() < 1e-9
    assert int(g[-1] < 0) == int(y[0])


def test_a_batch_gradient_gives_a_weighted_mix_not_a_patient():
    X, y = ch10._patients()
    theta = ch10._theta()
    p = 1 / (1 + np.exp(-(X[:4] @ theta[:-1] + theta[-1])))
    weights = (p - y[:4]) / (p - y[:4]).sum()
    assert np.allclose(ch10._expected_batch(), weights @ X[:4])
    assert np.abs(X[:4] - ch10._expected_batch()).max(axis=1).min() > 1e-3


def test_the_essay_network_bytes():
    assert ch10.ESSAY_PARAMS == 1921 and ch10.ESSAY_PARAMS * ch10.BYTES_PER_FLOAT32 == 7684
