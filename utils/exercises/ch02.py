"""Chapter 02's self-check exercises: one per algorithm family, plus the price of a round."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Question

# The values the notebook uses (chapters/02_core_algorithms.ipynb).
NUM_FEATURES = 30          # columns of the breast-cancer table
HIDDEN_UNITS = 16          # the Keras classifier: 30 → 16 (ReLU) → 1 (sigmoid)
ARM_PROBS = [0.30, 0.45, 0.55, 0.70, 0.50]  # the bandit's five reminder messages
EPSILON_Q2 = 0.1
NUM_SILOS = 4
FL_SETTINGS = dict(epochs=1, lr=0.05, batch_size=16)
BYTES_PER_NUMBER = 4       # float32


@lru_cache(maxsize=1)
def _round1():
    """The notebook's FedAvg set-up, first round only: silo models and silo sizes."""
    from utils.fedcore import federated_mean_std, run_fedavg
    from utils.local_training import Schedule
    from utils.partition import breast_cancer_silos

    train, test = breast_cancer_silos(num_silos=NUM_SILOS, alpha=1.0, seed=0)
    mean, std = federated_mean_std([X for X, _ in train])
    train = [((X - mean) / std, y) for X, y in train]
    test = [((X - mean) / std, y) for X, y in test]
    history = run_fedavg(train, 1, lr=FL_SETTINGS["lr"], keep_clients=True,
                         schedule=Schedule(batch_size=FL_SETTINGS["batch_size"], epochs=FL_SETTINGS["epochs"]))
    return history.clients[0], history.sizes


# ---- Question 1: parameters of the Keras classifier ------------------------------------------

def _check_q1(n_params):
    expected = (NUM_FEATURES + 1) * HIDDEN_UNITS + (HIDDEN_UNITS + 1) * 1
    assert float(n_params).is_integer(), f"a number of parameters is a whole number, not {n_params!r}."
    without_bias = NUM_FEATURES * HIDDEN_UNITS + HIDDEN_UNITS
    assert int(n_params) != without_bias, "you counted the weights but not the biases (one per unit)."
    assert int(n_params) == expected, (
        f"{n_params} is not it; each Dense layer has (inputs + 1) × units parameters.")


q1 = Question(
    number=1,
    variables=("n_params",),
    check_fn=_check_q1,
    hint_text="A Dense layer with `units` outputs on `inputs` inputs has a weight matrix inputs × units "
              "and one bias per unit. Add up both layers.",
    solution_code="n_params = (30 + 1) * 16 + (16 + 1) * 1   # = model.count_params()",
    wrong_answers=[{"n_params": 30 * 16 + 16}, {"n_params": 512}, {"n_params": "a lot"}],
)


# ---- Question 2: the long-run reward of ε-greedy ---------------------------------------------

def _check_q2(long_run):
    p = np.array(ARM_PROBS)
    expected = (1 - EPSILON_Q2) * p.max() + EPSILON_Q2 * p.mean()
    assert abs(float(long_run) - p.max()) > 1e-9, (
        "that is the best arm's rate; but with probability ε the agent still explores.")
    assert abs(float(long_run) - expected) <= 1e-6, (
        f"{long_run!r} is not it; with probability 1-ε the agent pulls the best arm, with probability ε "
        "a uniformly random one.")


q2 = Question(
    number=2,
    variables=("long_run",),
    check_fn=_check_q2,
    hint_text="Once the agent knows the best arm, each step is: exploit (probability 1-ε) → reward rate "
              "max(arm_probs); explore (probability ε) → a random arm, reward rate mean(arm_probs).",
    solution_code=("epsilon = 0.1\n"
                   "long_run = (1 - epsilon) * max(arm_probs) + epsilon * np.mean(arm_probs)"),
    wrong_answers=[{"long_run": 0.70}, {"long_run": float(np.mean(ARM_PROBS))}, {"long_run": 0.9 * 0.70}],
    context=lambda: {"arm_probs": list(ARM_PROBS), "np": np},
)


# ---- Question 3: the server's weighted average -----------------------------------------------

def _context_q3():
    models, sizes = _round1()
    return {"round1_models": models.copy(), "silo_sizes": sizes.copy(), "np": np}


def _check_q3(round1_average):
    models, sizes = _round1()
    answer = np.asarray(round1_average, dtype=float)
    assert answer.shape == models[0].shape, (
        f"the average model has {models.shape[1]} numbers, like each silo's model; yours has shape {answer.shape}.")
    assert not np.allclose(answer, models.mean(axis=0), atol=1e-9), (
        "that is the plain mean; FedAvg weights each silo by its number of training rows.")
    expected = (sizes[:, None] * models).sum(axis=0) / sizes.sum()
    assert np.allclose(answer, expected, atol=1e-9), "not the row-weighted average of the silo models yet."


q3 = Question(
    number=3,
    variables=("round1_average",),
    check_fn=_check_q3,
    hint_text="Multiply each silo's model (a row of `round1_models`) by its `silo_sizes` entry, add them up, "
              "divide by the total number of rows. `np.average(..., axis=0, weights=...)` does it in one go.",
    solution_code="round1_average = np.average(round1_models, axis=0, weights=silo_sizes)",
    wrong_answers=[{"round1_average": np.zeros(3)}],
    context=_context_q3,
)


class _PlainMean:
    """A wrong answer for the tests: the unweighted mean, computed only when it is checked."""

    def __array__(self, dtype=None, copy=None):
        return _round1()[0].mean(axis=0)


q3.wrong_answers.append({"round1_average": _PlainMean()})


# ---- Question 4: bytes on the wire per round -------------------------------------------------

def _check_q4(bytes_per_round):
    one_way = NUM_SILOS * (NUM_FEATURES + 1) * BYTES_PER_NUMBER
    assert float(bytes_per_round) != one_way, (
        "you counted one direction; the model goes down to every silo and comes back up.")
    assert float(bytes_per_round) != 2 * NUM_SILOS * (NUM_FEATURES + 1) * 8, (
        "the models are sent as float32: 4 bytes per number, not 8.")
    assert float(bytes_per_round) == 2 * one_way, (
        f"{bytes_per_round!r} is not it; count numbers per model × silos × directions × bytes per number.")


q4 = Question(
    number=4,
    variables=("bytes_per_round",),
    check_fn=_check_q4,
    hint_text="The logistic-regression model has 30 weights + 1 bias. Each round the server sends it to each "
              "silo and each silo sends its trained copy back; a float32 takes 4 bytes.",
    solution_code="bytes_per_round = 2 * num_silos * num_params * 4",
    wrong_answers=[{"bytes_per_round": 4 * 31 * 4}, {"bytes_per_round": 2 * 4 * 31 * 8},
                   {"bytes_per_round": 31}],
    context=lambda: {"num_params": NUM_FEATURES + 1, "num_silos": NUM_SILOS},
)
