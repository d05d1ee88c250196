"""Chapter 10's exercises: the essay's FAQ (§9) as a self-check quiz, plus two questions on its §7-8.

``FAQ`` maps each question of the essay's §9 to the exercises that answer it; a test checks every FAQ
question is covered. Questions 4 and 5 are settled by an experiment in the notebook (gradient inversion).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

# ---- Question 1 (FAQ 9.1): what is federated learning? -----------------------------------------------

q1 = Choice(
    number=1,
    options={
        "a": ("Several holders train one model: each trains where its data is, model updates travel, and a "
              "server combines them, round after round.",
              "Right, and chapters 02-05 build exactly that: broadcast, local training, weighted aggregation "
              "(FedAvg), checked against TensorFlow Federated. The updates are computed from the data, so what "
              "they reveal is a separate question (question 4)."),
        "b": ("Training on many GPUs in one data centre, with the data split across the machines so that each "
              "epoch runs faster.",
              "That is distributed training: one owner, data shuffled wherever it is fastest, identically distributed "
              "by construction. Federated learning starts from data that *may not* move (chapter 01, section 3)."),
        "c": ("Each holder encrypts its records and sends them to a server, which trains the model on the "
              "ciphertexts without decrypting them.",
              "That describes training on encrypted data (homomorphic encryption), a different and far slower "
              "technique; in FL the records are not sent, updates computed from them are."),
        "d": ("Each holder trains its own model on its own records and keeps it; the models are compared, but "
              "never combined into one.",
              "That is the 'alone' baseline of chapter 01, section 3.2, which federated learning exists to beat."),
    },
    correct=("a",),
    hint_text="What moves between the parties, and what never does?",
)

# ---- Question 2 (FAQ 9.2): how does FL differ from centralised training? ------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("After aggregating the updates, the server trains the global model once more on the global data, "
              "so the result is the pooled model.",
              "That step is in the essay's §3.2 ('global training on global data'), and it is wrong: in FL there is "
              "no global data at the server; if there were, no federation would be needed (chapter 03 fixes the "
              "essay's formulas)."),
        "b": ("FL always reaches exactly the accuracy of the pooled model; it differs from pooled training only in "
              "where the data is kept.",
              "Only in special cases (FedSGD with full batches equals centralised gradient descent, chapter 03). With "
              "local steps on non-IID data the federated model can fall short of, or in a per-hospital mean even "
              "beat, the pooled one (chapter 05)."),
        "c": ("FL needs no server at all: the holders exchange their models with each other and each keeps its "
              "own average.",
              "The course's FL has a server that aggregates. Serverless (peer-to-peer) variants exist, but they are "
              "not what the essay or the course describe."),
        "d": ("The data stays split and differs between holders; local steps alternate with aggregation, so the "
              "result need not equal the pooled model.",
              "Right: chapter 03 shows client drift on a loss surface, chapter 05 measures FedAvg against the pooled "
              "model over several seeds, and chapter 01 shows what each hospital loses alone."),
    },
    correct=("d",),
    hint_text="Where is the data during training, and what does that do to the optimisation?",
)

# ---- Question 3 (FAQ 9.3): application settings -------------------------------------------------------

q3 = Choice(
    number=3,
    options={
        "a": ("All of them are vertical: each party holds different people, so before training the parties must "
              "first find the people they share.",
              "Different people with the same features is the *horizontal* case; vertical means different features "
              "of the same people."),
        "b": ("All of them are horizontal: every party holds a label, so every party can train the whole model on "
              "its own rows.",
              "In vertical FL typically only one party holds the label (the bank knows who defaulted); the split "
              "is by features, not by labels."),
        "c": ("Hospitals and zones are horizontal (same measurements, other records); the bank and its partner "
              "are vertical (other information, same customers).",
              "Right: chapters 05 and 08 run the horizontal cases; chapter 08 the vertical one, which first needs "
              "a private set intersection to find the shared customers (chapter 01 names the settings)."),
        "d": ("Horizontal and vertical only describe how each party stores its table on disk: by rows or by "
              "columns, whichever reads faster.",
              "They describe how the data is split *between parties*, which decides the algorithm: averaging "
              "models (horizontal) or exchanging partial results per record (vertical)."),
    },
    correct=("c",),
    hint_text="For each setting: do the parties hold the same features of different records, or different features "
              "of the same records?",
)

# ---- Question 4 (FAQ 9.4): does keeping the data local protect it? ------------------------------------

def _parse_q4(prediction):
    key = prediction.strip().lower() if isinstance(prediction, str) else None
    assert key in ("yes", "no"), f'answer "yes" or "no", got {prediction!r}.'
    return key


def _judge_q4(prediction, result):
    """``result``: {"max_error": float, "label_recovered": bool} from the inversion experiment."""
    exact = result["max_error"] < 1e-6 and result["label_recovered"]
    truth = "yes" if exact else "no"
    text = (f"The server rebuilt all 13 measurements to {result['max_error']:.1e} and read the diagnosis from the "
            f"sign of the bias gradient. " if exact else
            f"The reconstruction was off by {result['max_error']:.2g}. ")
    return prediction == truth, text + ("Keeping the data local is not, by itself, privacy: the update is a function "
                                        "of the data, and here an invertible one.")


q4 = Prediction(
    number=4, parse=_parse_q4, judge=_judge_q4,
    hint_text="For logistic regression the gradient on one patient x is (p − y)·x for the weights and (p − y) for "
              "the bias. What does dividing the one by the other give?",
    example_result={"max_error": 2e-16, "label_recovered": True},
    example_guesses=("yes", "no"),
)


# ---- Question 5 (FAQ 9.4, change the experiment): a batch of four patients ----------------------------

BATCH = 4


@lru_cache(maxsize=1)
def _patients():
    from utils.data import load_heart_disease

    X, y = load_heart_disease().train["cleveland"]
    return X.astype(float), y.astype(float)


def _theta():
    from utils.models import initial_weights, to_theta

    return to_theta(initial_weights(0, 13))


def _gradient(theta, X, y):
    p = 1 / (1 + np.exp(-(X @ theta[:-1] + theta[-1])))
    return np.append(X.T @ (p - y) / len(y), np.mean(p - y))


def _expected_batch():
    X, y = _patients()
    g = _gradient(_theta(), X[:BATCH], y[:BATCH])
    return g[:-1] / g[-1]


def _check_q5(batch_recovered):
    got = np.asarray(batch_recovered, dtype=float).ravel()
    assert got.shape == (13,), f"batch_recovered should hold 13 numbers (one per feature), got shape {got.shape}."
    assert np.isfinite(got).all(), "batch_recovered contains NaN or infinity."
    X, _ = _patients()
    expected = _expected_batch()
    assert not np.allclose(got, X[0], atol=1e-6), "that is patient 1 alone; invert the gradient of the batch of four."
    assert not np.allclose(got, X[:BATCH].mean(axis=0), atol=1e-6), \
        "that is the plain mean of the four patients; run the inversion (weights over bias) on the batch gradient."
    assert np.abs(got - expected).max() < 1e-6, (
        "that is not what the inversion returns for the batch: compute the gradient of the first four Cleveland "
        "training patients at theta0, then divide its 13 weight components by its bias component.")
    nearest = np.abs(X[:BATCH] - got).max(axis=1).min()
    print(f"Right: the 'recovered patient' is a combination of the four, with weights (p_i − y_i)/Σ(p_j − y_j); it "
          f"is {nearest:.2f} standard deviations (in its worst feature) from the nearest real one.")


def _context():
    X, y = _patients()
    return {"np": np, "X_cleveland": X, "y_cleveland": y, "theta0": _theta(), "gradient": _gradient}


q5 = Question(
    number=5, variables=("batch_recovered",), check_fn=_check_q5,
    hint_text="gradient(theta0, X_cleveland[:4], y_cleveland[:4]) gives 14 numbers; divide the first 13 by the last.",
    solution_code="g = gradient(theta0, X_cleveland[:4], y_cleveland[:4])\nbatch_recovered = g[:-1] / g[-1]",
    wrong_answers=lambda: [({"batch_recovered": _patients()[0][0]}, "patient 1 alone"),
                           ({"batch_recovered": _patients()[0][:BATCH].mean(axis=0)}, "plain mean"),
                           ({"batch_recovered": _expected_batch() + 0.01}, "not what the inversion returns"),
                           ({"batch_recovered": [1.0, 2.0]}, "13 numbers")],
    context=_context, kind="change",
)


# ---- Question 6 (§7.2): from this course to a real federation -----------------------------------------

q6 = Choice(
    number=6,
    options={
        "a": ("Keep TensorFlow Federated's simulation runtime, run one worker per hospital and open its ports "
              "between the sites.",
              "TFF 0.87's worker listens on all interfaces with no TLS and no authentication, and the driver holds "
              "all state (chapter 09): it is a simulation runtime, not a cross-silo deployment system."),
        "b": ("Meta's FLSim, the PyTorch library the essay calls 'PyTorch Federated', with one process per "
              "hospital.",
              "FLSim simulates FL in one process; it is a research tool like TFF, and it is not called "
              "PyTorch Federated."),
        "c": ("ONNX, since it makes models interoperable: each hospital exports its model and the others load "
              "and average it.",
              "ONNX moves a *trained* model between tools (chapter 01); it has nothing to say about training rounds "
              "between hospitals, identities or permissions."),
        "d": ("A framework built for cross-silo deployment: identities and TLS between sites, each site "
              "approving what runs on its data.",
              "Right; examples are NVIDIA FLARE, Flower, Fed-BioMed and Substra (section 2's tools table). The model "
              "code and the numbers checked in this course carry over, the plumbing does not."),
    },
    correct=("d",),
    hint_text="What does a real federation need that a simulation on one machine does not?",
)

# ---- Question 7 (§8, communication): bytes a hospital sends per round ----------------------------------

ESSAY_PARAMS = 13 * 128 + 128 + 128 * 1 + 1   # Dense(128, relu) → Dense(1, sigmoid) on 13 features
BYTES_PER_FLOAT32 = 4


def _check_q7(upload_bytes):
    value = number(upload_bytes, "upload_bytes")
    expected = ESSAY_PARAMS * BYTES_PER_FLOAT32
    assert value.is_integer(), f"a number of bytes is a whole number, not {upload_bytes!r}."
    assert value != ESSAY_PARAMS, f"{ESSAY_PARAMS} is the number of parameters; each float32 takes 4 bytes."
    assert value != 2 * expected, ("that is twice the answer: it counts both directions, or 8-byte float64 numbers; "
                                   "one hospital *sends* each float32 parameter once.")
    assert value != (784 * 128 + 128 + 129) * BYTES_PER_FLOAT32, \
        "that is the essay's 784-input network (an MNIST image); the hospitals have 13 features."
    assert value == expected, f"{upload_bytes} is not it: parameters × 4 bytes."


q7 = Question(
    number=7, variables=("upload_bytes",), check_fn=_check_q7,
    hint_text="Count the parameters of Dense(128) on 13 inputs plus Dense(1) on 128 inputs (weights and biases), "
              "then multiply by the bytes of one float32.",
    solution_code="upload_bytes = (13 * 128 + 128 + 128 * 1 + 1) * 4",
    wrong_answers=[({"upload_bytes": ESSAY_PARAMS}, "number of parameters"),
                   ({"upload_bytes": 2 * ESSAY_PARAMS * 4}, "both directions, or 8-byte float64"),
                   ({"upload_bytes": (784 * 128 + 128 + 129) * 4}, "784"),
                   ({"upload_bytes": 7000}, "is not it"),
                   ({"upload_bytes": "7 KB"}, "one number")],
)

# The essay's FAQ (§9) and the exercises that answer each question.
FAQ = {
    "9.1 What is federated learning?": (q1,),
    "9.2 How does federated learning differ from traditional machine learning?": (q2,),
    "9.3 Where can federated learning be applied?": (q3,),
    "9.4 How is data privacy protected in federated learning?": (q4, q5),
}
