"""Chapter 04's exercises: FedAdam against FedAvg under sampling (predict, explain), FedAvg's aggregation and
server step, local steps with another batch size (change an experiment), reading a TFF type, writing a
federated computation."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question

BATCH_SIZE = 32
BATCH_Q5 = 16

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


def _check_q3(global_after):
    got = _as_list(global_after, "global_after")
    expected = _weighted_mean()
    plain = [sum(CLIENT_MODELS[k][i] for k in CLIENT_MODELS) / 3 for i in range(2)]
    if all(g.shape == p.shape and np.allclose(g, p, atol=1e-6) for g, p in zip(got, plain)):
        raise AssertionError("that is the plain mean of the three models; FedAvg weights each "
                             "hospital by its number of examples.")
    for g, e, name in zip(got, expected, ("kernel", "bias")):
        assert g.shape == e.shape, f"the {name} should have shape {e.shape}, got {g.shape}."
        assert np.allclose(g, e, atol=1e-6), f"the {name} is {g}; check your weights p_k = n_k / sum(n)."


def _check_q4(global_next):
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


def _check_q5(local_steps):
    split = _split()
    assert isinstance(local_steps, dict), f"local_steps should be a dict {{hospital: steps}}, got {type(local_steps).__name__}."
    assert set(local_steps) == set(split.hospitals), f"give one entry per hospital: {list(split.hospitals)}."
    for h in split.hospitals:
        n = len(split.train[h][1])
        expected = math.ceil(n / BATCH_Q5)
        got = local_steps[h]
        assert got != math.ceil(n / BATCH_SIZE), (
            f"{h}: {got!r} is the number of steps with batches of {BATCH_SIZE}; the question uses {BATCH_Q5}.")
        assert got == expected, (
            f"{h} has {n} training rows; with batches of {BATCH_Q5} and one epoch it takes a different "
            f"number of steps than {got!r} (the last, smaller batch counts too).")


def _check_q6(numbers_uploaded):
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


q3 = Question(
    number=3,
    variables=("global_after",),
    check_fn=_check_q3,
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

q4 = Question(
    number=4,
    variables=("global_next",),
    check_fn=_check_q4,
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

q5 = Question(
    number=5,
    variables=("local_steps",),
    check_fn=_check_q5,
    hint_text="One epoch over n rows in batches of 16 is ceil(n / 16) SGD steps; split.train[h] is (X, y) for hospital h.",
    solution_code="local_steps = {h: math.ceil(len(split.train[h][1]) / 16) for h in split.hospitals}",
    wrong_answers=lambda: [
        ({"local_steps": {h: len(xy[1]) // BATCH_Q5 for h, xy in _split().train.items()}}, "smaller batch counts"),
        ({"local_steps": {h: math.ceil(len(xy[1]) / BATCH_SIZE) for h, xy in _split().train.items()}}, "the question uses 16"),
        ({"local_steps": {h: 1 for h in _split().hospitals}}, "different number of steps"),
        ({"local_steps": 17}, "should be a dict"),
    ],
    context=_context,
    kind="change",
)

q6 = Question(
    number=6,
    variables=("numbers_uploaded",),
    check_fn=_check_q6,
    hint_text="Read the part after `->` in client_update's type signature: float32[13,1] holds 13 numbers, "
              "float32[1] one, a plain float32 one.",
    solution_code="numbers_uploaded = 13 * 1 + 1 + 1  # kernel, bias, and the example count",
    wrong_answers=[({"numbers_uploaded": 14}, "example count"), ({"numbers_uploaded": 60}, "per hospital"),
                   ({"numbers_uploaded": "many"}, "could not be checked")],
    context=_context,
)


# ---- Question 1: FedAdam's test loss against FedAvg's, same samples ---------------------------------

def _parse_q1(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("lower", "higher"), \
        f'answer "lower" or "higher", got {prediction!r}.'
    return prediction.strip().lower()


def _judge_q1(prediction, summary):
    adam, avg = summary.loc["FedAdam", ("test loss", "mean")], summary.loc["FedAvg", ("test loss", "mean")]
    truth = "lower" if adam < avg else "higher"
    return prediction == truth, (f"Over 10 sampling seeds FedAdam ends at test loss {adam:.3f}, FedAvg at {avg:.3f}: "
                                 f"FedAdam's is {truth}.")


def _example_summary():
    import pandas as pd

    columns = pd.MultiIndex.from_product([["test loss", "test accuracy"], ["mean", "std"]])
    return pd.DataFrame([[0.536, 0.01, 0.75, 0.006], [0.617, 0.02, 0.742, 0.009]], index=["FedAvg", "FedAdam"],
                        columns=columns)


q1 = Prediction(
    number=1, parse=_parse_q1, judge=_judge_q1,
    hint_text="Adam adapts each weight's step to the size of its updates. Commit, then run.",
    example_result=_example_summary(), example_guesses=("lower", "higher"),
)


# ---- Question 2: why FedAdam's test loss rises ----------------------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("FedAdam overfits the training rows, like a network trained for too many epochs.",
              "Each round still takes only one pass over two hospitals' rows; the right-hand plot points at the "
              "server's steps, not at the clients' training."),
        "b": ("Adam's step is about its learning rate per weight however small the averaged update gets, so the "
              "server keeps pushing; predictions grow more extreme and cross-entropy punishes confident mistakes, "
              "while accuracy at the 0.5 threshold barely moves.",
              "FedAvg's steps shrink with the hospitals' updates; FedAdam's stay near their size (right-hand plot)."),
        "c": ("Sampling two hospitals per round adds noise that Adam amplifies.",
              "FedAvg sees exactly the same samples and its loss keeps falling: the samples are not the difference."),
        "d": ("TFF's Adam has a bug.",
              "The NumPy core, written independently, gives the same weights as TFF's FedAdam (the check above)."),
    },
    correct=("b",),
    hint_text="Compare the two lines of the right-hand plot in the last rounds.",
)


# ---- Question 7: a federated weighted mean, written in TFF ---------------------------------------------

_CASES = (([0.7, 0.9], [1.0, 3.0]), ([2.0, -1.0, 0.5], [10.0, 1.0, 1.0]))


def _check_q7(weighted_mean):
    import tensorflow_federated as tff

    assert hasattr(weighted_mean, "type_signature"), (
        "weighted_mean should be a TFF computation: decorate the function with "
        "@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS), tff.FederatedType(np.float32, tff.CLIENTS)).")
    result = weighted_mean.type_signature.result
    assert getattr(result, "placement", None) == tff.SERVER, (
        f"its result is {result}; the weighted mean must be delivered at the server (@SERVER).")
    for values, weights in _CASES:
        got = float(weighted_mean(values, weights))
        expected = float(np.average(values, weights=weights))
        assert abs(got - float(np.mean(values))) > 1e-6 or abs(expected - np.mean(values)) < 1e-6, (
            "that is the plain mean: pass the weights (federated_mean(values, weight=weights)).")
        assert abs(got - expected) < 1e-5, (
            f"for values {values} with weights {weights} it returns {got:.4f}, not the weighted mean {expected:.4f}.")


def _wrong_q7():
    import tensorflow_federated as tff

    at_clients = tff.FederatedType(np.float32, tff.CLIENTS)

    @tff.federated_computation(at_clients, at_clients)
    def plain_mean(values, weights):
        return tff.federated_mean(values)

    @tff.federated_computation(at_clients, at_clients)
    def at_each_client(values, weights):
        return tff.federated_broadcast(tff.federated_mean(values, weight=weights))

    return [({"weighted_mean": plain_mean}, "plain mean"), ({"weighted_mean": at_each_client}, "@SERVER"),
            ({"weighted_mean": lambda v, w: float(np.average(v, weights=w))}, "TFF computation")]


q7 = Question(
    number=7, variables=("weighted_mean",), check_fn=_check_q7,
    hint_text="tff.federated_mean(values, weight=weights) does it in one call; or federated_sum of the products "
              "(a federated_map of a tff.tensorflow.computation) divided by federated_sum of the weights.",
    solution_code=(
        "@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS), tff.FederatedType(np.float32, tff.CLIENTS))\n"
        "def weighted_mean(values, weights):\n"
        "    return tff.federated_mean(values, weight=weights)"),
    wrong_answers=_wrong_q7,
    context=lambda: _tff_context(),
    kind="compute",
)


def _tff_context():
    import tensorflow_federated as tff

    return {"tff": tff, "np": np}
