"""Chapter 07's exercises: one round of many local steps (predict), a top-k compressor checked against the
reference (compute), why uplink compression barely moves the total (explain), the bytes TFF's quantiser
declares for a big tensor (compute), sampling combined with 4-bit uploads (change an experiment)."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

SEEDS = (0, 1, 2)
CLINIC_ROUNDS = 12
CLINIC_LRS = (0.3, 1.0, 3.0)


# ---- Question 1: one round of 400 local steps vs 400 rounds of one ------------------------------------

def _parse_q1(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in ("lower", "similar", "higher"), \
        f'answer "lower", "similar" or "higher", got {prediction!r}.'
    return prediction.strip().lower()


def _judge_q1(prediction, runs):
    """``runs``: one row per federation, local steps and seed, with its final test loss."""
    rows = runs[runs["federation"] == "the four hospitals"].set_index(["local steps", "seed"])["test loss"]
    d = (rows.loc[400] - rows.loc[1]).to_numpy()
    se = d.std(ddof=1) / np.sqrt(len(d))
    truth = "similar" if abs(d.mean()) <= 2 * se else ("higher" if d.mean() > 0 else "lower")
    return prediction == truth, (
        f"Seed by seed, one round of 400 steps ends at a test loss {d.mean():+.4f} from 400 rounds of one step "
        f"(standard error {se:.4f} over {len(d)} seeds), so the answer is \"{truth}\". Compare the IID control in "
        "the same table: same rows, same computation.")


def _example_runs():
    import pandas as pd

    return pd.DataFrame({"federation": ["the four hospitals"] * 6, "local steps": [1, 1, 1, 400, 400, 400],
                         "seed": [0, 1, 2, 0, 1, 2], "test loss": [0.44, 0.45, 0.445, 0.455, 0.466, 0.458]})


q1 = Prediction(
    number=1, parse=_parse_q1, judge=_judge_q1,
    hint_text="Think of chapter 03's fixed point: where do 400 local steps take each hospital's model?",
    example_result=_example_runs(), example_guesses=("higher", "similar"),
)


# ---- Question 2: write top-k -----------------------------------------------------------------------

def _test_vectors():
    rng = np.random.default_rng(7)
    x = rng.normal(size=14)
    x[3] = -4.0  # the largest magnitude is negative
    return [(x, 1), (x, 3), (rng.normal(size=100), 10), (rng.laplace(size=60), 59), (np.array([0.5, -2.0, 1.0]), 2)]


def _reference_top_k(x, k):
    from utils.compression import decode, top_k

    return decode(top_k(x, k))


def _check_q2(my_top_k):
    assert callable(my_top_k), f"my_top_k should be a function my_top_k(x, k), got {type(my_top_k).__name__}."
    for x, k in _test_vectors():
        got = my_top_k(x.copy(), k)
        assert got is not None and not (isinstance(got, type(Ellipsis))), \
            "my_top_k returned nothing: end it with `return` and the dense vector."
        got = np.asarray(got, dtype=float)
        assert got.shape == x.shape, (
            f"for a vector of {len(x)} numbers and k={k} you returned shape {got.shape}: return the dense vector "
            "(the same length as x, zeros where nothing was kept), which is what the server decodes.")
        kept = np.flatnonzero(got)
        assert len(kept) <= k, f"for k={k} your vector has {len(kept)} non-zero entries: keep at most k."
        assert np.allclose(got[kept], x[kept]), (
            "the kept entries must keep their values (top-k sends them as they are: no rescaling, no signs).")
        signed = np.zeros_like(x)
        order = np.argsort(-x, kind="stable")[:k]
        signed[order] = x[order]
        error, reference = np.linalg.norm(x - got), np.linalg.norm(x - _reference_top_k(x, k))
        if not np.isclose(error, reference, rtol=1e-9, atol=1e-12) and np.allclose(got, signed):
            raise AssertionError("you kept the k largest values, not the k largest *absolute* values: a large "
                                 "negative entry matters as much as a large positive one.")
        assert np.isclose(error, reference, rtol=1e-9, atol=1e-12), (
            f"for k={k} your compressor's error ‖x − x̂‖ is {error:.4f}, the reference's {reference:.4f}: keep the "
            "entries of largest absolute value, they are the ones whose loss would cost most.")
    print("Your top-k drops exactly as much as the reference on every test vector.")


def _smallest(x, k):
    out = np.zeros_like(x)
    keep = np.argsort(np.abs(x))[:k]
    out[keep] = x[keep]
    return out


def _signed(x, k):
    out = np.zeros_like(x)
    keep = np.argsort(-x)[:k]
    out[keep] = x[keep]
    return out


def _compact(x, k):
    keep = np.argsort(-np.abs(x))[:k]
    return x[keep]


def _scaled(x, k):
    out = np.zeros_like(x)
    keep = np.argsort(-np.abs(x))[:k]
    out[keep] = x[keep] * len(x) / k
    return out


def _all_but(x, k):
    out = x.copy()
    out[np.argsort(np.abs(x))[:1]] = 0.0
    return out


q2 = Question(
    number=2, variables=("my_top_k",), check_fn=_check_q2,
    hint_text="np.argsort(-np.abs(x)) lists the positions from the largest magnitude down; keep the first k of "
              "them in a vector of zeros.",
    solution_code=("def my_top_k(x, k):\n"
                   "    keep = np.argsort(-np.abs(x))[:k]\n"
                   "    out = np.zeros_like(x)\n"
                   "    out[keep] = x[keep]\n"
                   "    return out"),
    wrong_answers=[({"my_top_k": _smallest}, "largest absolute"), ({"my_top_k": _signed}, "*absolute* values"),
                   ({"my_top_k": _compact}, "dense vector"), ({"my_top_k": _scaled}, "keep their values"),
                   ({"my_top_k": _all_but}, "at most k"), ({"my_top_k": lambda x, k: None}, "returned nothing"),
                   ({"my_top_k": 3}, "should be a function")],
    context=lambda: {"np": np},
)


# ---- Question 3: why uplink compression barely moves the total ------------------------------------------

q3 = Choice(
    number=3,
    options={
        "a": ("Error feedback sends what compression dropped as an extra message, so the savings are paid back.",
              "Error feedback keeps the dropped part at the client and adds it to the next update: the messages "
              "keep their size. Compare the bytes of '1-bit sign + EF' and '1-bit sign, no EF' in the table."),
        "b": ("The server still broadcasts the full float32 model to every clinic every round; the uploads were "
              "only about half of the traffic, so even a free upload could at most halve the total.",
              "The broadcast (56 bytes a clinic a round) is untouched by any upload compressor, and it was half "
              "of every round to begin with."),
        "c": ("A 1-bit message must carry its float32 scale, and that scale is most of the message.",
              "The scale is indeed most of the 6-byte message, but it explains the size of the upload, which did "
              "shrink many times, not why the total fell so little."),
        "d": ("The compressed runs need more rounds, so they send more messages.",
              "Every run in that table has the same rounds of 100 clinics: the number of messages is identical."),
    },
    correct=("b",),
    hint_text="Split a round's bytes into what goes down and what comes up. Which part did the compressor touch?",
)


# ---- Question 4: bytes TFF's quantiser declares for the MLP's big kernel -------------------------------------

def _check_q4(mlp_kernel_bytes):
    value = number(mlp_kernel_bytes, "mlp_kernel_bytes")
    n = 512 * 256
    expected = 4 * math.ceil(n * 8 / 28) + 8
    assert value.is_integer(), f"a number of bytes is a whole number, not {mlp_kernel_bytes!r}."
    assert value != 4 * n, "that is the kernel as float32; the question is about TFF's 8-bit quantiser."
    assert value not in (n + 8, n), ("that packs 8 bits a byte; TFF packs 28 bits into each 4-byte int32 (so that "
                                     "protocol buffers' varint keeps every int32 at 4 bytes).")
    assert value != expected - 8, "you forgot the tensor's minimum and maximum, sent as two float32."
    assert value == expected, (f"{mlp_kernel_bytes!r} is not it: count the bits (elements × 8), the int32s that "
                               "hold them at 28 bits each (rounding up), 4 bytes each, plus the min and max.")


q4 = Question(
    number=4, variables=("mlp_kernel_bytes",), check_fn=_check_q4,
    hint_text="512 × 256 numbers × 8 bits, packed 28 bits to an int32 (round up), 4 bytes an int32, plus 2 float32.",
    solution_code="mlp_kernel_bytes = 4 * math.ceil(512 * 256 * 8 / 28) + 8",
    wrong_answers=[({"mlp_kernel_bytes": 4 * 512 * 256}, "as float32"), ({"mlp_kernel_bytes": 512 * 256 + 8}, "28 bits"),
                   ({"mlp_kernel_bytes": 4 * math.ceil(512 * 256 * 8 / 28)}, "minimum and maximum"),
                   ({"mlp_kernel_bytes": 150_000}, "is not it"), ({"mlp_kernel_bytes": "big"}, "one number")],
    context=lambda: {"math": math},
)


# ---- Question 5: sampling and 4-bit uploads together ---------------------------------------------------

@lru_cache(maxsize=1)
def _clinic_setting():
    """The notebook's 100 clinics, test and validation patients, and learning rate (chosen on validation)."""
    from utils.clinics import twin_clinics

    testbed = twin_clinics(n_per_hospital=1200, n_clinics=100, seed=7, n_test_per_hospital=4000,
                           n_validation_per_hospital=2000)
    loss = {lr: np.mean([r.val_loss[-1] for r in _runs(testbed, lr, SEEDS[:2])]) for lr in CLINIC_LRS}
    return testbed, min(loss, key=loss.get)


def _runs(testbed, lr, seeds=SEEDS, rounds=CLINIC_ROUNDS, steps=1, clients_per_round=None, compressor=None,
          error_feedback=False, label=""):
    from utils import compression
    from utils.comm_training import run_measured
    from utils.local_training import Schedule
    from utils.models import initial_weights, to_theta

    return [run_measured(testbed.clients, rounds, lr=lr, schedule=Schedule(steps=steps), clients_per_round=clients_per_round,
                         uplink=None if compressor is None else compression.Uplink(compressor, error_feedback, seed=s),
                         theta0=to_theta(initial_weights(s)), seed=s, test=testbed.test, validation=testbed.validation,
                         label=label)
            for s in seeds]


def _clinic_runs(label, seeds=SEEDS, rounds=CLINIC_ROUNDS, steps=1, clients_per_round=None, compressor=None,
                 error_feedback=False):
    testbed, lr = _clinic_setting()
    return _runs(testbed, lr, seeds, rounds, steps, clients_per_round, compressor, error_feedback, label)


@lru_cache(maxsize=4)
def _combo(bits):
    from utils.compression import Compressor

    compressor = None if bits is None else Compressor("quantize", bits=bits)
    runs = _clinic_runs("combo", clients_per_round=10, compressor=compressor)
    return float(np.mean([r.accuracy[-1] for r in runs])), int(runs[0].total_bytes[-1]), int(runs[0].up_bytes[-1])


def _check_q5(combo_accuracy, combo_bytes):
    accuracy = number(combo_accuracy, "combo_accuracy")
    nbytes = number(combo_bytes, "combo_bytes")
    assert 0 <= accuracy <= 1, f"an accuracy is between 0 and 1, got {combo_accuracy!r}."
    expected_accuracy, expected_bytes, uploaded = _combo(4)
    _, float32_bytes, _ = _combo(None)
    assert nbytes != uploaded, "that counts only the uploads; the broadcast model goes down to every participant too."
    assert nbytes != float32_bytes, "that is what 10 clinics per round send with float32 uploads; use the 4-bit compressor."
    assert nbytes == expected_bytes, (f"{combo_bytes!r} bytes is not what one run sends: read total_bytes[-1] (cumulative, "
                                      "both directions) of a run with 10 clinics per round and 4-bit uploads.")
    assert abs(accuracy - expected_accuracy) <= 0.005, (
        f"{accuracy:.3f} is not what that experiment gives: the final test accuracy averaged over seeds 0, 1, 2.")
    print(f"10 clinics per round with 4-bit uploads: accuracy {expected_accuracy:.3f} for {expected_bytes} bytes a run.")


q5 = Question(
    number=5, variables=("combo_accuracy", "combo_bytes"), check_fn=_check_q5,
    hint_text="combo = clinic_runs('combo', clients_per_round=10, compressor=C('quantize', bits=4)) gives one run per "
              "seed; each run has .accuracy (per round) and .total_bytes (cumulative).",
    solution_code=("combo = clinic_runs('combo', clients_per_round=10, compressor=C('quantize', bits=4))\n"
                   "combo_accuracy = np.mean([run.accuracy[-1] for run in combo])\n"
                   "combo_bytes = combo[0].total_bytes[-1]"),
    wrong_answers=lambda: [
        ({"combo_accuracy": _combo(4)[0], "combo_bytes": _combo(4)[2]}, "only the uploads"),
        ({"combo_accuracy": _combo(4)[0], "combo_bytes": _combo(None)[1]}, "float32 uploads"),
        ({"combo_accuracy": _combo(4)[0], "combo_bytes": _combo(4)[1] + 1}, "is not what one run sends"),
        ({"combo_accuracy": _combo(4)[0] + 0.05, "combo_bytes": _combo(4)[1]}, "is not what that experiment"),
        ({"combo_accuracy": 1.3, "combo_bytes": _combo(4)[1]}, "between 0 and 1"),
        ({"combo_accuracy": "good", "combo_bytes": 1}, "one number")],
    context=lambda: _context(),
    kind="change",
)


def _context():
    from utils.compression import Compressor

    return {"np": np, "clinic_runs": _clinic_runs, "C": Compressor}
