"""One Keras model, three standard files, three runtimes: they agree, and the ONNX file says what it is."""
import numpy as np
import pytest

from utils import interop

pytest.importorskip("tf2onnx")


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + rng.normal(scale=0.5, size=120) > 0).astype(float)
    return interop.train_keras(X, y, hidden=8, epochs=5, batch_size=16, seed=1), X.astype(np.float32)


def test_training_is_repeatable(trained):
    model, X = trained
    rng = np.random.default_rng(0)
    X2 = rng.normal(size=(120, 5))
    y2 = (X2 @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + rng.normal(scale=0.5, size=120) > 0).astype(float)
    again = interop.train_keras(X2, y2, hidden=8, epochs=5, batch_size=16, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))


def test_three_runtimes_agree_with_keras(trained, tmp_path):
    model, X = trained
    runs = interop.export_and_run(model, X, tmp_path)
    keras = runs.pop("Keras (in memory)")
    manual = 1 / (1 + np.exp(-(np.maximum(X @ model.get_weights()[0] + model.get_weights()[1], 0)
                               @ model.get_weights()[2] + model.get_weights()[3]))).ravel()
    assert np.abs(keras - manual).max() < 1e-5          # Keras itself against a NumPy forward pass
    for name, p in runs.items():
        assert p.shape == keras.shape and np.abs(p - keras).max() < 1e-6, name
    assert {p.name for p in tmp_path.iterdir()} == {"model.onnx", "model.tflite", "savedmodel"}


def test_onnx_summary_lists_operators_opset_and_input(trained, tmp_path):
    model, _ = trained
    path = interop.export_onnx(model, tmp_path / "m.onnx", opset=13)
    s = interop.onnx_summary(path)
    assert s["opsets"]["ai.onnx"] == 13
    assert s["operators"] == {"MatMul": 2, "Add": 2, "Relu": 1, "Sigmoid": 1}
    assert list(s["inputs"]) == [interop.INPUT_NAME] and s["inputs"][interop.INPUT_NAME][1] == 5
    assert sorted(map(tuple, s["initializers"].values())) == [(1,), (5, 8), (8,), (8, 1)]
    assert s["bytes"] == path.stat().st_size


def test_standardization_inside_the_graph_equals_scaling_outside(trained, tmp_path):
    model, X = trained
    mean, std = np.arange(5.0), np.linspace(0.5, 3.0, 5)
    raw = X * std + mean
    wrapped = interop.with_standardization(model, mean, std)
    path = interop.export_onnx(wrapped, tmp_path / "raw.onnx")
    assert np.abs(interop.run_onnx(path, raw) - model.predict(X, verbose=0).ravel()).max() < 1e-5
    assert {"Sub", "Mul"} <= set(interop.onnx_summary(path)["operators"]) or \
        {"Sub", "Div"} <= set(interop.onnx_summary(path)["operators"])


def test_runtimes_refuse_inputs_of_the_wrong_width(trained, tmp_path):
    model, X = trained
    path = interop.export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="4"):
        interop.run_onnx(path, X[:, :4])
