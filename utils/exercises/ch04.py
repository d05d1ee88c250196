"""Chapter 04's exercises: FedAvg's aggregation, its server step, local steps, and reading a TFF type."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from utils.exercises import Question

BATCH_SIZE = 32

# Three made-up hospitals' models after local training (kernel of 2 weights, then bias) and sizes.
CLIENT_MODELS = {
    "A": [np.array([0.2, -1.0]), np.array([0.1])],
    "B": [np.array([0.6, 0.0]), np.array([-0.3])],
    "C": [np.array([-0.4, 0.5]), np.array([0.5])],
}
CLIENT_SIZES = {"A": 200, "B": 100, "C": 50}
GLOBAL_BEFORE = [np.array([0.0, -0.5]), np.array([0.0])]
SERVER_LR = 0.5


@lru_cache(maxsize=1)
def _split():
    from utils.data import load_heart_disease

    return load_heart_disease()


def _context():
    split = _split()
    return {
        "np": np, "math": math, "split": split, "BATCH_SIZE": BATCH_SIZE,
        "client_models": {k: [a.copy() for a in v] for k, v in CLIENT_MODELS.items()},
        "client_sizes": dict(CLIENT_SIZES),
        "global_before": [a.copy() for a in GLOBAL_BEFORE], "server_lr": SERVER_LR,
    }


def _weighted_mean():
    n = np.array([CLIENT_SIZES[k] for k in CLIENT_MODELS], dtype=float)
    p = n / n.sum()
    return [sum(pk * CLIENT_MODELS[k][i] for pk, k in zip(p, CLIENT_MODELS)) for i in range(2)]


def _as_list(answer, what):
    assert isinstance(answer, (list, tuple)) and len(answer) == 2, (
        f"{what} should be a list [kernel, bias] like the client models, got {type(answer).__name__}.")
    return [np.asarray(a, dtype=float) for a in answer]


def _check_q1(global_after):
    got = _as_list(global_after, "global_after")
    expected = _weighted_mean()
    plain = [sum(CLIENT_MODELS[k][i] for k in CLIENT_MODELS) / 3 for i in range(2)]
    if all(g.shape == p.shape and np.allclose(g, p, atol=1e-6) for g, p in zip(got, plain)):
        raise AssertionError("that is the plain mean of the three models; FedAvg weights each "
                             "hospital by its number of examples.")
    for g, e, name in zip(got, expected, ("kernel", "bias")):
        assert g.shape == e.shape, f"the {name} should have shape {e.shape}, got {g.shape}."
        assert np.allclose(g, e, atol=1e-6), f"the {name} is {g}; check your weights p_k = n_k / sum(n)."


def _check_q2(global_next):
    got = _as_list(global_next, "global_next")
    mean = _weighted_mean()
    expected = [w - SERVER_LR * (w - m) for w, m in zip(GLOBAL_BEFORE, mean)]
    wrong_sign = [w + SERVER_LR * (w - m) for w, m in zip(GLOBAL_BEFORE, mean)]
    if all(g.shape == s.shape and np.allclose(g, s, atol=1e-6) for g, s in zip(got, wrong_sign)):
        raise AssertionError("the server moved *away* from the clients: the mean delta w - w_k "
                             "points uphill, so it is subtracted (the seed's formula has this sign wrong).")
    for g, e, name in zip(got, expected, ("kernel", "bias")):
        assert g.shape == e.shape, f"the {name} should have shape {e.shape}, got {g.shape}."
        assert np.allclose(g, e, atol=1e-6), (
            f"the {name} is {g}; use w - server_lr * sum_k p_k (w - w_k).")


def _check_q3(local_steps):
    split = _split()
    assert isinstance(local_steps, dict), f"local_steps should be a dict {{hospital: steps}}, got {type(local_steps).__name__}."
    assert set(local_steps) == set(split.hospitals), f"give one entry per hospital: {list(split.hospitals)}."
    for h in split.hospitals:
        n = len(split.train[h][1])
        expected = math.ceil(n / BATCH_SIZE)
        got = local_steps[h]
        assert got == expected, (
            f"{h} has {n} training rows; with batches of {BATCH_SIZE} and one epoch it takes a different "
            f"number of steps than {got!r} (the last, smaller batch counts too).")


def _check_q4(numbers_uploaded):
    d = len(_split().feature_names)
    assert not isinstance(numbers_uploaded, bool) and float(numbers_uploaded).is_integer(), \
        f"a count of numbers is a whole number, not {numbers_uploaded!r}."
    n = int(numbers_uploaded)
    if n == d + 1:
        raise AssertionError("that counts the model (kernel and bias) but not the second part of "
                             "the client's result: the example count used as the weight.")
    if n == 4 * (d + 2):
        raise AssertionError("that is for all four hospitals together; the question asks per hospital.")
    assert n == d + 2, f"{n} is not what the result type of client_update adds up to; read it again."


q1 = Question(
    number=1,
    variables=("global_after",),
    check_fn=_check_q1,
    hint_text="p_k = n_k / (n_A + n_B + n_C); the new kernel is p_A * kernel_A + p_B * kernel_B + p_C * kernel_C, "
              "and the same for the bias.",
    solution_code=(
        "n = np.array([client_sizes[k] for k in client_models], dtype=float)\n"
        "p = n / n.sum()\n"
        "global_after = [sum(pk * client_models[k][i] for pk, k in zip(p, client_models)) for i in range(2)]"
    ),
    wrong_answers=[
        ({"global_after": [np.mean([m[0] for m in CLIENT_MODELS.values()], axis=0),
                           np.mean([m[1] for m in CLIENT_MODELS.values()], axis=0)]}, "plain mean"),
        ({"global_after": [np.zeros(2), np.zeros(1)]}, "check your weights"),
        ({"global_after": 0.5}, "should be a list"),
    ],
    context=_context,
)

q2 = Question(
    number=2,
    variables=("global_next",),
    check_fn=_check_q2,
    hint_text="Each client's delta is global_before - client_model; average the deltas with the p_k of question 1, "
              "then take one step: global_before - server_lr * mean_delta.",
    solution_code=(
        "n = np.array([client_sizes[k] for k in client_models], dtype=float)\n"
        "p = n / n.sum()\n"
        "mean_delta = [sum(pk * (global_before[i] - client_models[k][i]) for pk, k in zip(p, client_models))\n"
        "              for i in range(2)]\n"
        "global_next = [w - server_lr * d for w, d in zip(global_before, mean_delta)]"
    ),
    wrong_answers=[
        ({"global_next": [w + SERVER_LR * (w - m) for w, m in zip(GLOBAL_BEFORE, _weighted_mean())]}, "away"),
        ({"global_next": _weighted_mean()}, "server_lr"),
        ({"global_next": "up"}, "should be a list"),
    ],
    context=_context,
)

q3 = Question(
    number=3,
    variables=("local_steps",),
    check_fn=_check_q3,
    hint_text="One epoch over n rows in batches of BATCH_SIZE is ceil(n / BATCH_SIZE) SGD steps; "
              "split.train[h] is (X, y) for hospital h.",
    solution_code="local_steps = {h: math.ceil(len(split.train[h][1]) / BATCH_SIZE) for h in split.hospitals}",
    wrong_answers=lambda: [
        ({"local_steps": {h: len(xy[1]) // BATCH_SIZE for h, xy in _split().train.items()}}, "smaller batch counts"),
        ({"local_steps": {h: 1 for h in _split().hospitals}}, "different number of steps"),
        ({"local_steps": 17}, "should be a dict"),
    ],
    context=_context,
)

q4 = Question(
    number=4,
    variables=("numbers_uploaded",),
    check_fn=_check_q4,
    hint_text="Read the part after `->` in client_update's type signature: float32[13,1] holds 13 numbers, "
              "float32[1] one, a plain float32 one.",
    solution_code="numbers_uploaded = 13 * 1 + 1 + 1  # kernel, bias, and the example count",
    wrong_answers=[({"numbers_uploaded": 14}, "example count"), ({"numbers_uploaded": 60}, "per hospital"),
                   ({"numbers_uploaded": "many"}, "could not be checked")],
    context=_context,
)
