"""utils.comm_cost against independent computations: array sizes, arithmetic by hand, and the types of
TFF aggregators (built, not executed)."""
import math

import numpy as np
import pytest

from utils import comm_cost as cc
from utils.models import initial_weights


def test_model_bytes_are_the_arrays_sizes():
    w = initial_weights(0, 13, 8)
    assert cc.model_bytes(w) == sum(a.nbytes for a in w) == 4 * (13 * 8 + 8 + 8 + 1)
    assert cc.model_bytes(np.zeros(14)) == 56 and cc.model_bytes(np.zeros(14), np.float64) == 112


def test_training_cost_by_hand():
    link = cc.Link("test", down_mbit_s=8.0, up_mbit_s=2.0, rtt_ms=100.0)
    cost = cc.training_cost(1_000_000, 500_000, clients_per_round=10, rounds=3, link=link)
    per_round = 0.1 + 1_000_000 * 8 / 8e6 + 500_000 * 8 / 2e6            # 0.1 + 1 + 2 seconds
    assert cost["seconds_per_round"] == pytest.approx(per_round) and cost["total_seconds"] == pytest.approx(3 * per_round)
    assert cost["server_bytes_per_round"] == 10 * 1_500_000 and cost["total_bytes"] == 3 * 10 * 1_500_000
    assert cc.transfer_seconds(125_000, 1.0) == pytest.approx(1.0)
    assert "mobile 4G" in cc.LINKS and cc.LINKS["mobile 4G"].describe().startswith("mobile 4G:")


def test_formatting():
    assert [cc.format_bytes(b) for b in (56, 1_500, 6_653_480, 2.5e9)] == ["56 B", "1.5 kB", "6.65 MB", "2.5 GB"]
    assert [cc.format_seconds(s) for s in (0.005, 4.2, 150, 7200, 172800)] == ["5 ms", "4.2 s", "2.5 min", "2 h", "2 days"]


def test_tff_packing_formula_counts_28_bits_per_int32():
    for n, bits in ((13, 8), (1, 8), (131072, 8), (100, 3), (28, 1)):
        ints = -(-n * bits // 28)
        assert cc.tff_quantized_bytes(n, bits) == 4 * ints + 8
    assert cc.tff_quantized_bytes(13, 8) == 24 and cc.tff_quantized_bytes(1, 8) == 12


@pytest.fixture(scope="module")
def tff():
    return pytest.importorskip("tensorflow_federated")


def test_type_bytes(tff):
    t = tff.to_type([(np.float32, (13, 1)), (np.int64, ()), (np.float32, (2, 3))])
    assert cc.type_bytes(t) == 52 + 8 + 24
    assert cc.type_bytes(tff.FederatedType(t, tff.CLIENTS)) == 84
    with pytest.raises(ValueError, match="no fixed size"):
        cc.type_bytes(tff.TensorType(np.float32, [None, 3]))


def test_traffic_of_tff_aggregators(tff):
    value_type = tff.to_type([(np.float32, (13, 1)), (np.float32, (1,))])
    weight = tff.TensorType(np.float32)
    plain = cc.tff_traffic(tff.aggregators.MeanFactory().create(value_type, weight).next)
    up = plain[plain.direction == cc.UPLOAD]
    assert sorted(up.bytes) == [4, 56] and (plain.direction == cc.DOWNLOAD).sum() == 0
    factory = tff.aggregators.MeanFactory(tff.aggregators.EncodedSumFactory.quantize_above_threshold(
        quantization_bits=8, threshold=0))
    quantized = cc.tff_traffic(factory.create(value_type, weight).next)
    aggregate = quantized[quantized.intrinsic == "federated_aggregate"]
    assert list(aggregate.bytes) == [cc.tff_quantized_bytes(13, 8) + cc.tff_quantized_bytes(1, 8)]
    assert aggregate.direction.iloc[0] == cc.UPLOAD
    # a broadcast: server → each client
    from utils.tff_learning import tff_model_weights  # noqa: F401  (module imports cleanly beside TFF)

    weights_type = tff.learning.models.ModelWeights(trainable=value_type, non_trainable=())
    broadcast = cc.tff_traffic(tff.learning.templates.build_broadcast_process(
        tff.to_type(weights_type)).next)
    assert list(broadcast[broadcast.direction == cc.DOWNLOAD].bytes) == [56]


def test_tff_traffic_refuses_what_is_not_a_computation():
    with pytest.raises(TypeError, match="computation"):
        cc.tff_traffic(lambda: None)
    assert math.isclose(cc.transfer_seconds(0, 5.0), 0.0)
