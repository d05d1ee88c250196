"""One trained model, three standard files, three runtimes: ONNX (onnxruntime), TFLite (the TFLite
interpreter) and SavedModel (TensorFlow). Introduced in chapter 01.

Chapter 01 writes the export and the runs out in the notebook; this module holds the same steps for
later chapters, the exercises and the tests. TensorFlow, tf2onnx, onnx and onnxruntime are imported
inside the functions, so importing ``utils`` stays cheap.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from utils import validate as v

__all__ = ["INPUT_NAME", "train_keras", "with_standardization", "export_onnx", "export_tflite", "export_savedmodel",
           "run_onnx", "run_tflite", "run_savedmodel", "onnx_summary", "export_and_run"]

INPUT_NAME = "patients"


def _model(model):
    if not hasattr(model, "predict") or not hasattr(model, "input_shape"):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    return model


def _features(model) -> int:
    return int(_model(model).input_shape[-1])


def _X(X, columns: int | None = None) -> np.ndarray:
    return v.matrix("X", X, columns=columns).astype(np.float32)


def train_keras(X, y, hidden: int = 16, epochs: int = 30, batch_size: int = 32, lr: float = 0.01, seed: int = 0):
    """A small Keras classifier Dense(hidden, relu) → Dense(1, sigmoid), trained with Adam on (X, y)."""
    import tensorflow as tf

    X, y = v.xy(X, y, labels01=True)
    hidden, epochs = v.integer("hidden", hidden, 1, 4096), v.integer("epochs", epochs, 1, 10_000)
    batch_size, lr = v.integer("batch_size", batch_size, 1), v.positive("lr", lr)
    tf.keras.utils.set_random_seed(v.seed("seed", seed))
    model = tf.keras.Sequential([tf.keras.Input(shape=(X.shape[1],), name=INPUT_NAME),
                                 tf.keras.layers.Dense(hidden, activation="relu"),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X.astype(np.float32), y.astype(np.float32), epochs=epochs, batch_size=batch_size, verbose=0,
              shuffle=True)
    return model


def with_standardization(model, mean, std):
    """A model that takes *raw* measurements: (x - mean) / std, then ``model``. The scaling becomes part
    of the graph, so it travels with the file."""
    import tensorflow as tf

    n = _features(model)
    mean, std = v.vector("mean", mean, n), v.vector("std", std, n)
    if (std <= 0).any():
        raise ValueError(f"std must be > 0 everywhere, got {std.min()!r}")
    raw = tf.keras.Input(shape=(n,), name=INPUT_NAME)
    scale = tf.keras.layers.Normalization(mean=mean.astype(np.float32), variance=(std ** 2).astype(np.float32))
    return tf.keras.Model(raw, model(scale(raw)))


def export_onnx(model, path, opset: int = 17) -> Path:
    """Write ``model`` as an ONNX file (tf2onnx) whose input is a float32 batch named 'patients'."""
    import tensorflow as tf
    import tf2onnx

    n, path = _features(model), v.path("path", path)
    opset = v.integer("opset", opset, 9, 18)
    spec = (tf.TensorSpec((None, n), tf.float32, name=INPUT_NAME),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset, output_path=str(path))
    return path


def export_tflite(model, path) -> Path:
    """Write ``model`` as a TensorFlow Lite flat buffer."""
    import tensorflow as tf

    _model(model)
    path = v.path("path", path)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def export_savedmodel(model, path) -> Path:
    """Write ``model`` as a TensorFlow SavedModel folder (with a 'serving_default' signature)."""
    import tensorflow as tf

    _model(model)
    path = v.path("path", path)
    tf.saved_model.save(model, str(path))
    return path


def _existing(path, what: str) -> Path:
    path = v.path("path", path)
    if not path.exists():
        raise ValueError(f"path {str(path)!r} does not exist; write the {what} first")
    return path


def run_onnx(path, X) -> np.ndarray:
    """P(class 1) for each row of X, computed by onnxruntime from the ONNX file."""
    import onnxruntime as ort

    path = _existing(path, "ONNX file")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    X = _X(X, inp.shape[-1] if isinstance(inp.shape[-1], int) else None)
    return session.run(None, {inp.name: X})[0].ravel()


def run_tflite(path, X) -> np.ndarray:
    """P(class 1) for each row of X, computed by the TFLite interpreter (built-in kernels, no delegate)."""
    import tensorflow as tf

    path = _existing(path, "TFLite file")
    interpreter = tf.lite.Interpreter(model_path=str(path), experimental_op_resolver_type=(
        tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    X = _X(X, int(inp["shape"][-1]))
    interpreter.resize_tensor_input(inp["index"], X.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], X)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"]).ravel()


def run_savedmodel(path, X) -> np.ndarray:
    """P(class 1) for each row of X, computed by TensorFlow from the SavedModel's serving signature."""
    import tensorflow as tf

    path = _existing(path, "SavedModel folder")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    spec = list(serve.structured_input_signature[1].values())[0]
    X = _X(X, spec.shape[-1])
    return list(serve(tf.constant(X)).values())[0].numpy().ravel()


def onnx_summary(path) -> dict:
    """What the ONNX file declares: opsets, operators (with counts), inputs/outputs, producer, size."""
    import onnx

    path = _existing(path, "ONNX file")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    ops: dict = {}
    for n in proto.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1

    def shape(value_info):
        dims = value_info.type.tensor_type.shape.dim
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]

    return {"opsets": {(o.domain or "ai.onnx"): o.version for o in proto.opset_import},
            "ir_version": proto.ir_version, "producer": f"{proto.producer_name} {proto.producer_version}",
            "operators": ops, "inputs": {i.name: shape(i) for i in proto.graph.input},
            "outputs": {o.name: shape(o) for o in proto.graph.output},
            "initializers": {t.name: list(t.dims) for t in proto.graph.initializer},
            "bytes": path.stat().st_size}


def export_and_run(model, X, folder) -> dict:
    """Export ``model`` to all three formats in ``folder`` and run each on X: {format: probabilities}."""
    folder = v.path("folder", folder)
    folder.mkdir(parents=True, exist_ok=True)
    X = _X(X, _features(model))
    return {"Keras (in memory)": model.predict(X, verbose=0).ravel(),
            "ONNX → onnxruntime": run_onnx(export_onnx(model, folder / "model.onnx"), X),
            "TFLite → TFLite interpreter": run_tflite(export_tflite(model, folder / "model.tflite"), X),
            "SavedModel → TensorFlow": run_savedmodel(export_savedmodel(model, folder / "savedmodel"), X)}
