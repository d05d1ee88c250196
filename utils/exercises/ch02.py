"""Chapter 02's exercises: parameters of a network, a greedy agent, one aggregation, what a federated
round costs and why, three silos instead of four, bytes on the wire."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

# The values the notebook uses (chapters/02_core_algorithms.ipynb).
NUM_FEATURES = 30          # columns of the breast-cancer table
HIDDEN_UNITS = 16          # the Keras classifier: 30 → 16 (ReLU) → 1 (sigmoid)
KERAS_PARAMS = (NUM_FEATURES + 1) * HIDDEN_UNITS + (HIDDEN_UNITS + 1)
ARM_PROBS = [0.30, 0.45, 0.55, 0.70, 0.50]  # the bandit's five reminder texts
EPSILON_Q3 = 0.15
FL = dict(rounds=10, lr=0.05, batch_size=16)
SILOS_Q7 = 10
BYTES_PER_NUMBER = 4       # float32


def _federation(num_silos: int):
    """The notebook's set-up: silos, federated standardisation, and FedAvg's history."""
    from utils.fedcore import federated_mean_std, run_fedavg
    from utils.local_training import Schedule
    from utils.partition import breast_cancer_silos

    train, test = breast_cancer_silos(num_silos=num_silos, alpha=1.0, seed=0)
    mean, std = federated_mean_std([X for X, _ in train])
    train = [((X - mean) / std, y) for X, y in train]
    test = [((X - mean) / std, y) for X, y in test]
    history = run_fedavg(train, FL["rounds"], lr=FL["lr"], schedule=Schedule(batch_size=FL["batch_size"], epochs=1),
                         test=test, keep_clients=True)
    return history


@lru_cache(maxsize=2)
def _history(num_silos: int):
    return _federation(num_silos)


# ---- Question 1: parameters of the Keras classifier ------------------------------------------

def _check_q1(n_params):
    value = number(n_params, "n_params")
    assert value.is_integer(), f"a number of parameters is a whole number, not {n_params!r}."
    assert value != NUM_FEATURES * HIDDEN_UNITS + HIDDEN_UNITS, "you counted the weights but not the biases (one per unit)."
    assert value != KERAS_PARAMS - 1, "almost: the output unit has a bias too."
    assert value == KERAS_PARAMS, f"{n_params} is not it; each Dense layer has (inputs + 1) × units parameters."


q1 = Question(
    number=1, variables=("n_params",), check_fn=_check_q1,
    hint_text="A Dense layer with `units` outputs on `inputs` inputs has a weight matrix inputs × units and one "
              "bias per unit. Add up both layers.",
    solution_code="n_params = (30 + 1) * 16 + (16 + 1) * 1   # = model.count_params()",
    wrong_answers=[({"n_params": 30 * 16 + 16}, "biases"), ({"n_params": 512}, "output unit has a bias"),
                   ({"n_params": 514}, "is not it"), ({"n_params": "a lot"}, "one number")],
)


# ---- Question 2: why greedy agents settle on a poor text ---------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("Greedy agents explore too much and never settle.",
              "With ε = 0 an agent never explores on purpose; settling too early is its problem."),
        "b": ("A greedy agent keeps sending the first text whose running average beats the others' estimates; "
              "the estimates of texts it stopped sending never change, so an unlucky start is never corrected.",
              "Which text an agent settles on depends on the luck of its first days, not on the true rates."),
        "c": ("Random tie-breaking makes the greedy agent pick a text at random every day.",
              "Ties only happen while estimates are equal, in the first days; after that the agent always sends "
              "its current best."),
        "d": ("The best text pays only 70 % of the time, so no agent can find it.",
              "Agents that explore a little (ε = 0.1) find it in most runs: the information is there for an "
              "agent that keeps looking."),
    },
    correct=("b",),
    hint_text="What happens to the estimate of a text the agent no longer sends?",
)


# ---- Question 3: the long-run reward of ε-greedy ---------------------------------------------

def _check_q3(long_run):
    value = number(long_run, "long_run")
    p = np.array(ARM_PROBS)
    expected = (1 - EPSILON_Q3) * p.max() + EPSILON_Q3 * p.mean()
    assert abs(value - p.max()) > 1e-9, "that is the best arm's rate; but with probability ε the agent still explores."
    assert abs(value - (1 - EPSILON_Q3) * p.max()) > 1e-9, (
        "exploring days earn something too: on average the mean of the arm probabilities.")
    assert abs(value - (0.9 * p.max() + 0.1 * p.mean())) > 1e-9, "that is the value for ε = 0.1; the question uses 0.15."
    assert abs(value - expected) <= 1e-6, (
        f"{long_run!r} is not it; with probability 1-ε the agent pulls the best arm, with probability ε a uniformly "
        "random one.")


q3 = Question(
    number=3, variables=("long_run",), check_fn=_check_q3,
    hint_text="Once the agent knows the best arm, each day is: exploit (probability 1-ε) → reward rate max(arm_probs); "
              "explore (probability ε) → a random arm, reward rate mean(arm_probs).",
    solution_code="epsilon = 0.15\nlong_run = (1 - epsilon) * max(arm_probs) + epsilon * np.mean(arm_probs)",
    wrong_answers=[({"long_run": 0.70}, "best arm's rate"), ({"long_run": 0.85 * 0.70}, "exploring days"),
                   ({"long_run": 0.9 * 0.7 + 0.1 * 0.5}, "ε = 0.1"), ({"long_run": 0.5}, "is not it")],
    context=lambda: {"arm_probs": list(ARM_PROBS), "np": np},
)


# ---- Question 4: the server's weighted average -----------------------------------------------

def _check_q4(round1_average):
    history = _history(4)
    models, sizes = history.clients[0], history.sizes
    answer = np.asarray(round1_average, dtype=float)
    assert answer.shape == models[0].shape, (
        f"the average model has {models.shape[1]} numbers, like each silo's model; yours has shape {answer.shape}.")
    assert not np.allclose(answer, models.mean(axis=0), atol=1e-9), (
        "that is the plain mean; FedAvg weights each silo by its number of training rows.")
    assert not np.allclose(answer, (sizes[:, None] * models).sum(axis=0), atol=1e-9), (
        "you weighted by rows but did not divide by the total number of rows.")
    expected = (sizes[:, None] * models).sum(axis=0) / sizes.sum()
    assert np.allclose(answer, expected, atol=1e-9), "not the row-weighted average of the silo models yet."


def _wrong_q4():
    history = _history(4)
    models, sizes = history.clients[0], history.sizes
    weighted = (sizes[:, None] * models).sum(axis=0)
    return [({"round1_average": models.mean(axis=0)}, "plain mean"),
            ({"round1_average": weighted}, "did not divide"),
            ({"round1_average": weighted / sizes.sum() + 1e-6}, "not the row-weighted average"),
            ({"round1_average": np.zeros(3)}, "shape")]


q4 = Question(
    number=4, variables=("round1_average",), check_fn=_check_q4,
    hint_text="Multiply each silo's model (a row of `round1_models`) by its `silo_sizes` entry, add them up, divide "
              "by the total number of rows. `np.average(..., axis=0, weights=...)` does it in one go.",
    solution_code="round1_average = np.average(round1_models, axis=0, weights=silo_sizes)",
    wrong_answers=_wrong_q4,
    context=lambda: {"round1_models": _history(4).clients[0].copy(), "silo_sizes": _history(4).sizes.copy(), "np": np},
)


# ---- Question 5: do alike silos need fewer rounds? ---------------------------------------------

def _parse_yes_no(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("yes", "no"), \
        f'answer "yes" or "no", got {prediction!r}.'
    return prediction.strip().lower()


def _judge_q5(prediction, result):
    skewed, alike = result["skewed"], result["alike"]
    never = float("inf")
    fewer = all((a if a is not None else never) < (skewed if skewed is not None else never) for a in alike)
    shown = ", ".join("never" if a is None else str(a) for a in alike)
    explanation = (f"The skewed silos needed {skewed if skewed is not None else 'more than 150'} rounds, the random "
                   f"equal silos {shown}. " + ("Alike silos were faster here." if fewer else
                                               "Making the silos alike did not make FedAvg faster: the extra rounds "
                                               "have another cause (question 6)."))
    return prediction == ("yes" if fewer else "no"), explanation


q5 = Prediction(
    number=5, parse=_parse_yes_no, judge=_judge_q5,
    hint_text="Commit to a prediction first; the control experiment below answers it.",
    example_result={"skewed": 33, "alike": [39, 38, 39]}, example_guesses=("yes", "no"),
)


# ---- Question 6: why FedAvg needs more rounds ---------------------------------------------------

q6 = Choice(
    number=6,
    options={
        "a": ("The silos' label mixes differ, so their updates pull apart and partly cancel (client drift).",
              "The control says otherwise: silos with the same mix as the whole table need as many rounds or more. "
              "Drift exists (chapter 03), but it is not what costs rounds here."),
        "b": ("Each round averages four parallel short runs: every silo passes over a quarter of the rows, so a "
              "round advances about as far as a quarter of a central pass.",
              "With one silo FedAvg is centralised training and needs exactly ten rounds; split four ways it needs "
              "about four times as many, alike silos or not."),
        "c": ("Sending the model over the network is slow.",
              "Rounds count optimisation steps, not seconds: network speed cannot change how many rounds reach a loss."),
        "d": ("After each round the server trains the model on global data, which undoes the silos' progress.",
              "There is no global data at the server (section 3.5); the FedAvg server only averages."),
    },
    correct=("b",),
    hint_text="Compare the first row of the control (one silo) with the rows of four alike silos.",
)


# ---- Question 7: bytes on the wire per round -------------------------------------------------

def _check_q7(bytes_per_round):
    value = number(bytes_per_round, "bytes_per_round")
    one_way = SILOS_Q7 * KERAS_PARAMS * BYTES_PER_NUMBER
    assert value != one_way, "you counted one direction; the model goes down to every silo and comes back up."
    assert value != 2 * one_way * 2, "the models are sent as float32: 4 bytes per number, not 8."
    assert value != 2 * 4 * KERAS_PARAMS * BYTES_PER_NUMBER, "that is for four silos; the question has ten."
    assert value != 2 * SILOS_Q7 * 31 * BYTES_PER_NUMBER, "that is the logistic regression; the question is about the Keras classifier."
    assert value == 2 * one_way, f"{bytes_per_round!r} is not it; count parameters × silos × directions × bytes per number."


q7 = Question(
    number=7, variables=("bytes_per_round",), check_fn=_check_q7,
    hint_text="Each round the server sends the model to each silo and each silo sends its trained copy back; a float32 "
              "takes 4 bytes.",
    solution_code="bytes_per_round = 2 * 10 * model.count_params() * 4",
    wrong_answers=[({"bytes_per_round": SILOS_Q7 * KERAS_PARAMS * 4}, "one direction"),
                   ({"bytes_per_round": 2 * SILOS_Q7 * KERAS_PARAMS * 8}, "float32"),
                   ({"bytes_per_round": 2 * 4 * KERAS_PARAMS * 4}, "four silos"),
                   ({"bytes_per_round": 2 * SILOS_Q7 * 31 * 4}, "logistic regression"),
                   ({"bytes_per_round": 2 * SILOS_Q7 * KERAS_PARAMS * 4 + 1}, "is not it")],
    context=lambda: {"model": _KerasStandIn()},
)


class _KerasStandIn:
    """What the solution needs of the notebook's Keras model, without building one in the tests."""

    @staticmethod
    def count_params():
        return KERAS_PARAMS


# ---- Question 8: three silos instead of four ------------------------------------------------------

def _check_q8(history_3):
    from utils.fedcore import FedHistory

    assert isinstance(history_3, FedHistory), (
        f"history_3 should be what fedcore.run_fedavg returns (a FedHistory), got {type(history_3).__name__}.")
    assert len(history_3.sizes) == 3, f"history_3 has {len(history_3.sizes)} silos; the question asks for three."
    reference = _history(3)
    assert sorted(history_3.sizes) == sorted(reference.sizes), (
        "its silos are not those of breast_cancer_silos(num_silos=3, alpha=1.0, seed=0).")
    assert history_3.rounds == FL["rounds"], f"it ran {history_3.rounds} rounds; the question asks for ten."
    assert history_3.accuracy is not None, "pass the silos' test rows as test=... so that each round is evaluated."
    assert history_3.accuracy[-1] > 0.8, (
        f"its final accuracy is {history_3.accuracy[-1]:.3f}: did you standardise with the federated mean and std?")
    four = _history(4).accuracy[-1]
    print(f"Three silos: test accuracy {history_3.accuracy[-1]:.3f} after ten rounds; four silos: {four:.3f}.")


def _wrong_q8():
    from dataclasses import replace

    three = _history(3)
    return [(({"history_3": _history(4)}), "the question asks for three"),
            ({"history_3": replace(three, accuracy=None)}, "test=..."),
            ({"history_3": replace(three, server=three.server[:6])}, "ten"),
            ({"history_3": replace(three, accuracy=np.full(11, 0.6))}, "standardise"),
            ({"history_3": "done"}, "FedHistory")]


q8 = Question(
    number=8, variables=("history_3",), check_fn=_check_q8,
    hint_text="Copy the cells of sections 3.1-3.3 that build `train`, `test` and `history`, with num_silos=3.",
    solution_code=(
        "tr3_raw, te3_raw = breast_cancer_silos(num_silos=3, alpha=1.0, seed=0)\n"
        "m3, s3 = fedcore.federated_mean_std([X for X, _ in tr3_raw])\n"
        "tr3 = [((X - m3) / s3, y) for X, y in tr3_raw]\n"
        "te3 = [((X - m3) / s3, y) for X, y in te3_raw]\n"
        "history_3 = fedcore.run_fedavg(tr3, 10, lr=0.05, schedule=Schedule(batch_size=16, epochs=1), test=te3)"),
    wrong_answers=_wrong_q8,
    context=lambda: _context_q8(),
    kind="change",
)


def _context_q8():
    from utils import fedcore
    from utils.local_training import Schedule
    from utils.partition import breast_cancer_silos

    return {"fedcore": fedcore, "Schedule": Schedule, "breast_cancer_silos": breast_cancer_silos, "np": np}
