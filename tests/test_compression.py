"""utils.compression against independent computations: bit strings built by hand, the encoder TFF uses
(tensor_encoding), means over many draws (unbiasedness), the error-feedback identity."""
import math

import numpy as np
import pytest

from utils import compression as cp
from utils.fedcore import run_fedavg, weighted_average
from utils.local_training import Schedule

RNG = np.random.default_rng(0)
X = RNG.normal(size=14)
X[5] = -3.0


def bit_string(levels, bits):
    """The payload written out bit by bit with Python integers (least significant bit first)."""
    stream = "".join(format(int(q), f"0{bits}b")[::-1] for q in levels)
    stream += "0" * (-len(stream) % 8)
    return bytes(int(stream[i:i + 8][::-1], 2) for i in range(0, len(stream), 8))


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 7, 8, 11, 16])
def test_deterministic_quantisation_matches_a_hand_computation(bits):
    message = cp.quantize(X, bits, stochastic=False)
    lo, hi = float(np.float32(X.min())), float(np.float32(X.max()))
    top = 2 ** bits - 1
    levels = np.round((X - lo) / (hi - lo) * top)                       # numpy rounds half to even, as tf.round
    assert message.arrays["levels"].tobytes() == bit_string(levels, bits)
    assert np.allclose(cp.decode(message), lo + levels * (hi - lo) / top)
    assert message.nbytes == math.ceil(len(X) * bits / 8) + 8 == cp.Compressor("quantize", bits=bits).nbytes(len(X))
    assert np.all(np.abs(cp.decode(message) - X) <= cp.quantization_step(X, bits) / 2 + 1e-9)


def test_quantisation_agrees_with_the_encoder_tff_uses():
    tf = pytest.importorskip("tensorflow")
    from tensorflow_model_optimization.python.core.internal import tensor_encoding as te

    x = RNG.normal(size=37).astype(np.float32)
    encoder = te.core.SimpleEncoder(te.encoders.uniform_quantization(8, stochastic=False), tf.TensorSpec(x.shape, tf.float32))
    encoded, _ = encoder.encode(tf.constant(x), encoder.initial_state())
    theirs = encoder.decode(encoded).numpy()
    ours = cp.decode(cp.quantize(x.astype(float), 8, stochastic=False))
    step = cp.quantization_step(x.astype(float), 8).max()
    assert np.abs(theirs - ours).max() < 1e-3 * step
    packed = encoded["encoded_tensors/flattened_values/quantized_values/bitpacked_values"]
    assert 4 * int(np.prod(packed.shape)) + 8 == 4 * math.ceil(37 * 8 / 28) + 8  # TFF's 28-bit packing


def test_stochastic_rounding_is_unbiased_and_within_one_step():
    rng = np.random.default_rng(1)
    decoded = np.array([cp.decode(cp.quantize(X, 4, True, rng)) for _ in range(4000)])
    step = cp.quantization_step(X, 4)
    assert np.all(np.abs(decoded - X) < step + 1e-12)
    # each coordinate's mean is within 5 standard errors of x (Bernoulli rounding: variance <= step² / 4)
    assert np.all(np.abs(decoded.mean(axis=0) - X) <= 5 * step / 2 / np.sqrt(len(decoded)))


def test_segments_quantise_each_piece_alone_and_constant_pieces_are_exact():
    x = np.concatenate([X, [0.7]])
    whole = cp.decode(cp.quantize(x, 8, False, segments=[14, 1]))
    assert np.allclose(whole[:14], cp.decode(cp.quantize(X, 8, False)))
    assert whole[14] == pytest.approx(0.7, abs=1e-7)                       # a 1-element piece: min = max
    assert cp.quantize(x, 8, False, segments=[14, 1]).nbytes == 15 + 16   # 15 levels + two (min, max) pairs
    with pytest.raises(ValueError, match="add up"):
        cp.quantize(x, 8, False, segments=[10, 1])


def test_sign_top_k_random_k_and_identity_against_hand_computations():
    assert np.allclose(cp.decode(cp.sign(X)), np.abs(X).mean() * np.where(X >= 0, 1, -1), rtol=1e-6)
    assert cp.sign(X).nbytes == 2 + 4
    keep = np.argsort(-np.abs(X))[:3]
    expected = np.zeros_like(X)
    expected[keep] = X[keep]
    assert np.allclose(cp.decode(cp.top_k(X, 3)), expected, atol=1e-6)
    assert cp.top_k(X, 3).arrays["indices"].dtype == np.uint8 and cp.top_k(X, 3).nbytes == 3 * 5
    assert cp.top_k(np.ones(300), 2).arrays["indices"].dtype == np.uint16
    assert list(np.flatnonzero(cp.decode(cp.top_k(np.array([1.0, -1.0, 1.0]), 2)))) == [0, 1]  # ties: lower index
    message = cp.random_k(X, 4, np.random.default_rng(2))
    kept = np.flatnonzero(cp.decode(message))
    assert len(kept) == 4 and np.allclose(cp.decode(message)[kept], X[kept], atol=1e-6)
    assert message.nbytes == 4 * 4 + 4 and set(message.arrays) == {"values", "seed"}
    assert np.array_equal(cp.decode(cp.identity(X)), X.astype(np.float32))


def test_unbiased_random_k_is_unbiased():
    rng = np.random.default_rng(3)
    decoded = np.array([cp.decode(cp.random_k(X, 2, rng, unbiased=True)) for _ in range(20000)])
    sd = np.abs(X) * np.sqrt(len(X) / 2 - 1)                                # per-coordinate standard deviation
    assert np.all(np.abs(decoded.mean(axis=0) - X) <= 5 * sd / np.sqrt(len(decoded)))


@pytest.mark.parametrize("compressor", [cp.Compressor("none"), cp.Compressor("quantize", bits=3),
                                        cp.Compressor("quantize", bits=8, segments=(10, 4)), cp.Compressor("sign"),
                                        cp.Compressor("top_k", k=5), cp.Compressor("random_k", k=5, unbiased=True)])
def test_message_bytes_are_the_arrays_and_the_formula(compressor):
    message = compressor.encode(X, np.random.default_rng(0))
    assert message.nbytes == sum(a.nbytes for a in message.arrays.values()) == compressor.nbytes(len(X))
    assert compressor.decode(message).shape == X.shape


def test_uplink_without_error_feedback_is_the_weighted_mean_of_the_decoded_updates():
    U, w = RNG.normal(size=(5, 14)), np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    plain = cp.Uplink(cp.Compressor("none"))
    assert np.allclose(plain(U, w / w.sum()), weighted_average(U, w), atol=1e-6)
    uplink = cp.Uplink(cp.Compressor("top_k", k=3))
    expected = weighted_average(np.array([cp.decode(cp.top_k(u, 3)) for u in U]), w)
    assert np.allclose(uplink(U, w / w.sum()), expected)
    assert uplink.sent == [[15] * 5]


def test_error_feedback_loses_nothing_only_delays_it():
    """Σ_rounds decoded = Σ_rounds updates − final residual, client by client (the telescoping identity)."""
    uplink = cp.Uplink(cp.Compressor("sign"), error_feedback=True)
    ids = ["a", "b"]
    hook = uplink.bind(ids)
    sent = {i: np.zeros(14) for i in ids}
    total = {i: np.zeros(14) for i in ids}
    rng = np.random.default_rng(4)
    for _ in range(30):
        U = rng.normal(size=(2, 14)) + 1.0
        for i, u in zip(ids, U):
            target = u + uplink.memory.get(i, 0.0)
            sent[i] += cp.decode(cp.sign(target))
            total[i] += u
        hook(U, np.array([0.5, 0.5]))
    for i in ids:
        assert np.allclose(sent[i] + uplink.memory[i], total[i])
    # and with a constant update the average of what arrives converges to it
    uplink = cp.Uplink(cp.Compressor("top_k", k=1), error_feedback=True)
    u = np.array([1.0, 0.5, -0.25, 0.1])
    arrived = sum(uplink(u[None, :], np.ones(1)) for _ in range(400)) / 400
    assert np.abs(arrived - u).max() < 0.01
    assert np.abs(cp.decode(cp.top_k(u, 1)) - u).max() > 0.4                # without it, 0.5 never arrives


def test_uplink_as_run_fedavg_hook_equals_quantised_rounds_by_hand():
    clients = [(RNG.normal(size=(20, 3)), (RNG.random(20) < 0.5).astype(float)) for _ in range(3)]
    compressor = cp.Compressor("quantize", bits=4, stochastic=False)
    theta = np.zeros(4)
    sizes = np.array([20.0, 20.0, 20.0])
    for _ in range(3):
        local = run_fedavg(clients, 1, lr=0.5, theta0=theta, schedule=Schedule(epochs=1), keep_clients=True).clients[0]
        theta = theta + weighted_average(np.array([cp.decode(cp.quantize(u, 4, False)) for u in local - theta]), sizes)
    hooked = run_fedavg(clients, 3, lr=0.5, schedule=Schedule(epochs=1), aggregate=cp.Uplink(compressor)).final
    assert np.allclose(hooked, theta)


def test_index_dtype_and_labels():
    assert cp.index_dtype(256) == np.uint8 and cp.index_dtype(257) == np.uint16 and cp.index_dtype(70_000) == np.uint32
    assert [cp.Compressor(m, k=2).label for m in cp.METHODS] == ["float32", "8-bit", "1-bit sign", "top-2", "random-2"]
    assert cp.Uplink(cp.Compressor("sign"), error_feedback=True).label == "1-bit sign + EF"
