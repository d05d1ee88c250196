"""Chapter 01's exercises: what the essay's diagram leaves out (explain), how closely three runtimes agree
(predict), why a raw patient gets a wrong probability (explain), export with another opset and load it
elsewhere (change an experiment), which hospital gains most from pooling (predict)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from utils.exercises import Choice, Prediction, Question

HOSPITALS = ("cleveland", "hungarian", "switzerland", "va")
_ALIASES = {"cleveland": "cleveland", "hungary": "hungarian", "hungarian": "hungarian", "budapest": "hungarian",
            "switzerland": "switzerland", "swiss": "switzerland", "zurich": "switzerland", "basel": "switzerland",
            "va": "va", "va long beach": "va", "long beach": "va"}
AGREEMENT = ("exactly 0", "below 1e-6", "between 1e-6 and 1e-3", "above 1e-3")


# ---- Question 1: what the essay's diagram leaves out -----------------------------------------------

q1 = Choice(
    number=1,
    options={
        "a": ("An arrow from hardware to software: models cannot be trained without chips and clusters.",
              "The diagram has that one (its first arrow), and it is the least contested: software runs on hardware."),
        "b": ("An arrow from talent to talent exchange: a federation needs people who can run it at every site.",
              "The diagram has it. It is a fair point that the direction is odd (exchange trains talent), but it "
              "is not what a federation of hospitals most needs."),
        "c": ("An arrow from policy and law to the data: the rules that decide whether records may move at all.",
              "Right: in the diagram 'Policy and regulation' is a dead end reached only from 'Technical standards'. "
              "For a federation of hospitals the law is the cause, not a consequence: it is why the records stay "
              "where they are, and why federated learning exists (section 3)."),
        "d": ("An arrow from data resources to open-source projects: shared code is how institutions cooperate.",
              "The diagram has it, and it is dubious rather than missing: open-source projects are software."),
    },
    correct=("c",),
    hint_text="Follow the arrows out of 'Policy and regulation'. What keeps the four hospitals' records apart?",
)


# ---- Question 2: how closely do the three runtimes agree? -------------------------------------------

def _bucket(gap: float) -> str:
    if gap == 0:
        return AGREEMENT[0]
    if gap < 1e-6:
        return AGREEMENT[1]
    return AGREEMENT[2] if gap <= 1e-3 else AGREEMENT[3]


def _parse_q2(prediction):
    key = prediction.strip().lower() if isinstance(prediction, str) else None
    assert key in AGREEMENT, f"answer one of {list(AGREEMENT)}, got {prediction!r}."
    return key


def _judge_q2(prediction, gaps):
    """``gaps``: {runtime: largest |p_runtime - p_keras|} over the test patients."""
    worst = max(float(g) for g in gaps.values())
    truth = _bucket(worst)
    detail = ", ".join(f"{name}: {float(g):.1e}" for name, g in gaps.items())
    why = ("Each runtime computes the same float32 operations, but in its own order and with its own kernels, "
           "so the last bits of a probability can differ.") if worst > 0 else "Every runtime gave the same bits."
    return prediction == truth, f"The largest difference is {worst:.1e} ({truth}): {detail}. {why}"


q2 = Prediction(
    number=2, parse=_parse_q2, judge=_judge_q2,
    hint_text="All three files hold the same float32 weights. Do three different programs add up float32 "
              "numbers in the same order?",
    example_result={"ONNX → onnxruntime": 8.9e-8, "TFLite → TFLite interpreter": 1.8e-7,
                    "SavedModel → TensorFlow": 6.0e-8},
    example_guesses=("below 1e-6", "exactly 0"),
)


# ---- Question 3: why the raw patient gets a wrong probability ---------------------------------------

q3 = Choice(
    number=3,
    options={
        "a": ("onnxruntime computes a different function than Keras: its kernels round differently, and the "
              "differences add up over the layers.",
              "The check above shows the opposite: on the same inputs the two agree to float32 rounding."),
        "b": ("The model was trained on other hospitals' patients, so it cannot score a Cleveland patient without "
              "being fine-tuned there first.",
              "Cleveland's patients were among the training rows; and the copy of the same patient used in section "
              "2.2 gets a sensible probability from the same file."),
        "c": ("ONNX stores the weights in lower precision than Keras, and the error grows with the size of the "
              "inputs.",
              "The weights are the same float32 numbers (the initializers listed above); precision costs float32 "
              "rounding (the agreement table above), not a different diagnosis."),
        "d": ("The file holds the trained graph only; the training means and standard deviations are not in it, "
              "so raw measurements go in unscaled.",
              "Right. ONNX fixes what each operator computes; what the inputs mean (units, scaling, column order) "
              "is outside the file unless you put it into the graph, which the next cell does."),
    },
    correct=("d",),
    hint_text="List what the ONNX file declares about its input. Is there a mean or a unit anywhere?",
)


# ---- Question 4: export with another opset and load it elsewhere -------------------------------------

def _probabilities(model, X) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(X, dtype=np.float32), verbose=0)).ravel()


def _file_opset(path) -> int:
    import onnx

    versions = {o.domain: o.version for o in onnx.load(str(path)).opset_import}
    assert "" in versions or "ai.onnx" in versions, f"{path} declares no opset for the default ('') domain."
    return int(versions.get("", versions.get("ai.onnx")))


def _run_file(path, X) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: np.asarray(X, dtype=np.float32)})[0], dtype=float).ravel()


def _check_q4(path13, onnx13_opset, p13, model, X_test):
    from pathlib import Path

    from utils.exercises import number

    assert isinstance(path13, (str, Path)), f"path13 should be the path of the file you wrote, got {path13!r}."
    path = Path(path13)
    assert path.is_file(), f"there is no file at {path}; write the opset-13 export there (output_path=...)."
    opset = number(onnx13_opset, "onnx13_opset")
    declared = _file_opset(path)       # read from the file itself, not from what was typed
    assert declared != 17, f"{path.name} declares opset 17, the default; convert again with opset=13."
    assert declared == 13, f"{path.name} declares opset {declared}; convert with opset=13."
    assert opset == declared, (f"onnx13_opset is {onnx13_opset!r}, but the file declares opset {declared} for the "
                               "default ('') domain: read it from onnx.load(path13).opset_import.")
    p = np.asarray(p13, dtype=float).ravel()
    assert p.shape == (5,), f"p13 should hold 5 probabilities (the first 5 test patients), got shape {p.shape}."
    assert np.isfinite(p).all(), "p13 contains NaN or infinity."
    assert not np.isin(p, (0.0, 1.0)).all(), "p13 holds 0/1 labels; give the probabilities the file computes."
    from_file = _run_file(path, np.asarray(X_test)[:5])   # the file, run again here in onnxruntime
    expected = _probabilities(model, np.asarray(X_test)[:5])
    assert np.abs(from_file - expected).max() < 1e-5, (
        f"the file at {path.name} computes probabilities up to {np.abs(from_file - expected).max():.2g} away from "
        "the model's: export `model` itself (not another model) with opset 13.")
    assert np.abs(p - from_file).max() < 1e-5, (
        f"p13 differs from what the file computes on X_test[:5] by up to {np.abs(p - from_file).max():.2g}; run the "
        "opset-13 file in onnxruntime on X_test[:5] (the scaled test patients, float32).")
    print(f"The file {path.name} declares opset {declared}; run again here in onnxruntime, it agrees with your p13 "
          f"and with Keras to {max(np.abs(p - expected).max(), np.abs(from_file - expected).max()):.1e} on five "
          "patients.")


@lru_cache(maxsize=1)
def _trained():
    from utils import interop
    from utils.data import load_heart_disease

    shared = load_heart_disease().restandardize("pooled")
    X, y = shared.pooled("train")
    X_test, _ = shared.pooled("test")
    return interop.train_keras(X, y, seed=0), X_test.astype(np.float32), shared


def _context_data():
    """The trained model as a fresh copy: a Keras model kept across calls is invalidated once any other
    code builds a model inside a graph (TFF does, e.g. in chapter 09's exercises run in the same process)."""
    import tensorflow as tf

    model, X_test, shared = _trained()
    copy = tf.keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy, X_test, shared


def _context():
    import tempfile
    from pathlib import Path

    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    model, X_test, _ = _context_data()
    return {"np": np, "tf": tf, "tf2onnx": tf2onnx, "onnx": onnx, "ort": ort, "Path": Path,
            "folder": Path(tempfile.mkdtemp(prefix="ch01_q4_")), "model": model, "X_test": X_test}


@lru_cache(maxsize=1)
def _example_files():
    """Files the wrong answers point at: an opset-13 and an opset-17 export of the context model."""
    import tempfile
    from pathlib import Path

    from utils import interop

    model, X_test, _ = _context_data()
    folder = Path(tempfile.mkdtemp(prefix="ch01_q4_examples_"))
    files = {}
    for opset in (13, 17):
        files[opset] = folder / f"heart_opset{opset}.onnx"
        interop.export_onnx(model, files[opset], opset=opset)
    return files


def _wrong_q4():
    model, X_test, _ = _context_data()
    right = _probabilities(model, X_test[:5])
    files = _example_files()
    return [({"path13": files[17], "onnx13_opset": 13, "p13": right}, "declares opset 17"),
            ({"path13": files[13], "onnx13_opset": 17, "p13": right}, "but the file declares opset 13"),
            ({"path13": files[13].with_name("missing.onnx"), "onnx13_opset": 13, "p13": right}, "there is no file"),
            ({"path13": None, "onnx13_opset": 13, "p13": right}, "path of the file"),
            ({"path13": files[13], "onnx13_opset": 13, "p13": (right > 0.5).astype(float)}, "0/1 labels"),
            ({"path13": files[13], "onnx13_opset": 13, "p13": _probabilities(model, X_test[5:10])},
             "differs from what the file computes"),
            ({"path13": files[13], "onnx13_opset": 13, "p13": right[:3]}, "5 probabilities"),
            ({"path13": files[13], "onnx13_opset": "thirteen", "p13": right}, "one number")]


q4 = Question(
    number=4, variables=("path13", "onnx13_opset", "p13", "model", "X_test"), check_fn=_check_q4,
    hint_text="tf2onnx.convert.from_keras(model, input_signature=..., opset=13, output_path=...) writes the file; "
              "onnx.load(path).opset_import lists (domain, version) pairs; ort.InferenceSession(path).run(None, "
              "{'patients': X_test[:5]}) runs it. The check opens your file again and runs it itself.",
    solution_code="""
spec = (tf.TensorSpec((None, X_test.shape[1]), tf.float32, name="patients"),)
path13 = folder / "heart_opset13.onnx"
tf2onnx.convert.from_keras(model, input_signature=spec, opset=13, output_path=str(path13))
onnx13_opset = {o.domain: o.version for o in onnx.load(str(path13)).opset_import}[""]
session = ort.InferenceSession(str(path13), providers=["CPUExecutionProvider"])
p13 = session.run(None, {"patients": X_test[:5]})[0].ravel()
""",
    wrong_answers=_wrong_q4, context=_context, kind="change",
)


# ---- Question 5: which hospital gains most from pooling? ----------------------------------------------

def _parse_q5(prediction):
    key = prediction.strip().lower() if isinstance(prediction, str) else None
    assert key in _ALIASES, f"name one hospital: Cleveland, Hungary, Switzerland or VA, got {prediction!r}."
    return _ALIASES[key]


def _judge_q5(prediction, gains):
    """``gains``: DataFrame indexed by hospital key with columns 'gain' (pooled − alone, mean over seeds)
    and 'spread' (the larger std over seeds of the two)."""
    best = gains["gain"].idxmax()
    row = gains.loc[best]
    others = ", ".join(f"{h} {g:+.3f}" for h, g in gains["gain"].items() if h != best)
    text = (f"{best} gains most from pooling: {row['gain']:+.3f} (spread over seeds {row['spread']:.3f}); "
            f"the others: {others}.")
    if prediction == "switzerland" and best != "switzerland":
        text += (" The smallest hospital is the natural guess, but almost all its patients are sick, so even a "
                 "model trained alone scores well there on average, with a large spread over seeds.")
    return prediction == best, text


def _example_gains():
    import pandas as pd

    return pd.DataFrame({"gain": [0.037, 0.036, 0.037, 0.106], "spread": [0.013, 0.009, 0.180, 0.024]},
                        index=list(HOSPITALS))


q5 = Prediction(
    number=5, parse=_parse_q5, judge=_judge_q5,
    hint_text="Which hospital's own data is least like what its patients need: small, or skewed, or both? "
              "Commit first; the next cell measures it.",
    example_result=_example_gains(), example_guesses=("VA", "Switzerland"),
)
