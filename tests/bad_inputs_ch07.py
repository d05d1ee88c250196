"""Chapter 07's bad inputs: every parameter of every public function of utils.compression,
utils.comm_cost, utils.comm_training and utils.clinics (registered in the table of tests/test_validation.py)."""
import numpy as np
import pandas as pd

from badinput import CL, EXEMPT, NAN, _split, case
from utils import clinics, comm_cost, comm_training, compression
from utils.local_training import Schedule

# Containers the chapter's functions return, not entry points.
EXEMPT.update({"compression.Message", "comm_training.MeasuredRun", "clinics.TwinClinics"})

V = np.array([0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.0])
R = np.random.default_rng(0)
CURVE = pd.DataFrame({"round": [0, 1, 2], "bytes": [0, 10, 20], "mean": [0.5, 0.6, 0.7], "std": [0.0, 0.01, 0.01]})
LINK = comm_cost.LINKS["mobile 4G"]

# ---- compression ----------------------------------------------------------------------------------------
case("compression.quantize", lambda x=V, bits=8, stochastic=False, rng=None, segments=None:
     compression.quantize(x, bits, stochastic, rng, segments),
     x=[("v", TypeError), ([[1.0]], ValueError)], bits=[(0, ValueError), (17, ValueError)],
     stochastic=[("yes", TypeError)], rng=[(3, TypeError)], segments=[([3], ValueError), ("ab", TypeError)])
case("compression.quantize", lambda rng: compression.quantize(V, 8, True, rng), rng=[(None, ValueError, "rng")])
case("compression.quantization_step", lambda x=V, bits=8, segments=None: compression.quantization_step(x, bits, segments),
     x=[([NAN, 1.0], ValueError, "NaN")], bits=[(2.5, ValueError)], segments=[([7, 1], ValueError, "add up")])
case("compression.sign", lambda x: compression.sign(x), x=[([], ValueError, "x is empty")])
case("compression.top_k", lambda x=V, k=2: compression.top_k(x, k),
     x=[({"a": 1}, TypeError)], k=[(0, ValueError), (8, ValueError), (1.5, ValueError)])
case("compression.random_k", lambda x=V, k=2, rng=R, unbiased=False: compression.random_k(x, k, rng, unbiased),
     x=[("x", TypeError)], k=[(-1, ValueError)], rng=[(None, ValueError), (7, TypeError)], unbiased=[(1, TypeError)])
case("compression.identity", lambda x: compression.identity(x), x=[([1.0, float("inf")], ValueError, "infinite")])
case("compression.decode", lambda message: compression.decode(message), message=[(V, TypeError), ("m", TypeError)])
case("compression.index_dtype", lambda p: compression.index_dtype(p), p=[(0, ValueError), ("9", TypeError)])
case("compression.Compressor", lambda method="none", bits=8, k=None, stochastic=True, unbiased=False, segments=None:
     compression.Compressor(method, bits, k, stochastic, unbiased, segments),
     method=[("zip", ValueError, "zip")], bits=[(20, ValueError)], k=[(0, ValueError)], stochastic=[("y", TypeError)],
     unbiased=[(None, TypeError)], segments=[([0], ValueError), ("ab", TypeError), ([], ValueError)])
case("compression.Compressor", lambda method: compression.Compressor(method), method=[("top_k", ValueError, "needs k")])
case("compression.Compressor.encode", lambda x=V, rng=None: compression.Compressor("sign").encode(x, rng),
     x=[("x", TypeError)], rng=[("r", TypeError)])
case("compression.Compressor.encode", lambda rng: compression.Compressor("quantize").encode(V, rng),
     rng=[(None, ValueError, "rng")])
case("compression.Compressor.encode", lambda x: compression.Compressor("quantize", segments=(3, 3)).encode(x, R),
     x=[(V, ValueError, "segments")])
case("compression.Compressor.decode", lambda message: compression.Compressor().decode(message), message=[(3, TypeError)])
case("compression.Compressor.nbytes", lambda p: compression.Compressor().nbytes(p), p=[(0, ValueError), (None, TypeError)])
case("compression.Uplink", lambda compressor=compression.Compressor(), error_feedback=False, seed=0:
     compression.Uplink(compressor, error_feedback, seed),
     compressor=[("sign", TypeError)], error_feedback=[("no", TypeError)], seed=[(-1, ValueError)])
case("compression.Uplink.bind", lambda client_ids: compression.Uplink(compression.Compressor()).bind(client_ids),
     client_ids=[("ab", TypeError), ([], TypeError)])
case("compression.Uplink.bind", lambda client_ids: compression.Uplink(compression.Compressor()).bind(client_ids)(
     np.ones((2, 3)), np.ones(2)), client_ids=[(["a"], ValueError, "1 client ids")])

# ---- comm_cost ------------------------------------------------------------------------------------------
case("comm_cost.model_bytes", lambda weights=[np.zeros(3)], dtype=np.float32: comm_cost.model_bytes(weights, dtype),
     weights=[("w", TypeError), ([np.array([NAN])], ValueError)], dtype=[("float32", TypeError), (4, TypeError)])
case("comm_cost.Link", lambda name="x", down_mbit_s=1.0, up_mbit_s=1.0, rtt_ms=0.0:
     comm_cost.Link(name, down_mbit_s, up_mbit_s, rtt_ms),
     name=[("", ValueError), (3, TypeError)], down_mbit_s=[(0, ValueError)], up_mbit_s=[(-1, ValueError)],
     rtt_ms=[(NAN, ValueError), (-5, ValueError)])
case("comm_cost.transfer_seconds", lambda nbytes=1, mbit_s=1.0: comm_cost.transfer_seconds(nbytes, mbit_s),
     nbytes=[(-1, ValueError)], mbit_s=[(0, ValueError), ("fast", TypeError)])
case("comm_cost.training_cost", lambda down_bytes=56, up_bytes=60, clients_per_round=4, rounds=10, link=LINK:
     comm_cost.training_cost(down_bytes, up_bytes, clients_per_round, rounds, link),
     down_bytes=[(-1, ValueError)], up_bytes=[("60", TypeError)], clients_per_round=[(0, ValueError)],
     rounds=[(-1, ValueError), (2.5, ValueError)], link=[("mobile 4G", TypeError)])
case("comm_cost.format_bytes", lambda nbytes: comm_cost.format_bytes(nbytes), nbytes=[("1", TypeError), (-2, ValueError)])
case("comm_cost.format_seconds", lambda seconds: comm_cost.format_seconds(seconds), seconds=[(-1, ValueError), (NAN, ValueError)])
case("comm_cost.type_bytes", lambda type_spec: comm_cost.type_bytes(type_spec), type_spec=[("float32", TypeError)])
case("comm_cost.tff_traffic", lambda computation: comm_cost.tff_traffic(computation), computation=[(3, TypeError)])
case("comm_cost.tff_quantized_bytes", lambda n_elements=10, bits=8: comm_cost.tff_quantized_bytes(n_elements, bits),
     n_elements=[(0, ValueError)], bits=[(17, ValueError), (8.0, ValueError)])

# ---- comm_training ---------------------------------------------------------------------------------------
case("clinics.twin_clinics",
     lambda n_per_hospital=50, n_clinics=8, seed=0, n_test_per_hospital=20, n_validation_per_hospital=20:
     clinics.twin_clinics(n_per_hospital, n_clinics, seed, n_test_per_hospital, n_validation_per_hospital),
     n_per_hospital=[(5, ValueError)], n_clinics=[(2, ValueError)], seed=[(-1, ValueError), (2**32 - 2, ValueError)],
     n_test_per_hospital=[(0, ValueError)], n_validation_per_hospital=[("many", TypeError)])
case("clinics.clinics", lambda split=None, n_clinics=8, seed=0, iid=False:
     clinics.clinics(_split() if split is None else split, n_clinics, seed, iid),
     split=[("heart", TypeError)], n_clinics=[(0, ValueError), (10**6, ValueError)], seed=[(-1, ValueError)],
     iid=[("no", TypeError)])
case("comm_training.run_measured",
     lambda clients=CL, rounds=1, lr=0.1, schedule=Schedule(epochs=1), clients_per_round=None, uplink=None, theta0=None,
     model="logistic", weighting="size", server_lr=1.0, seed=0, test=CL, validation=None, label="", progress=False:
     comm_training.run_measured(clients, rounds, lr=lr, schedule=schedule, clients_per_round=clients_per_round,
                                uplink=uplink, theta0=theta0, model=model, weighting=weighting, server_lr=server_lr,
                                seed=seed, test=test, validation=validation, label=label, progress=progress),
     clients=[({}, ValueError, "empty"), ("ab", TypeError)], rounds=[(0, ValueError)], lr=[(-0.1, ValueError)],
     schedule=[("batch", TypeError)], clients_per_round=[(3, ValueError), (0, ValueError)], uplink=[("sign", TypeError)],
     theta0=[(np.zeros(5), ValueError)], model=[("svm", ValueError, "svm")], weighting=[("sizes", ValueError),
                                                                                     ([1.0], ValueError)],
     server_lr=[(0, ValueError)], seed=[(-1, ValueError)], test=[(None, ValueError), ({}, ValueError, "empty")],
     validation=[({}, ValueError, "empty"), ({"v": (np.ones((2, 3)), np.ones(2))}, ValueError, "features")],
     label=[(3, TypeError)], progress=[("yes", TypeError)])


def _used_uplink():
    uplink = compression.Uplink(compression.Compressor())
    uplink(np.ones((1, 3)), np.ones(1))
    return uplink


case("comm_training.run_measured", lambda uplink: comm_training.run_measured(CL, 1, lr=0.1, uplink=uplink, test=CL),
     uplink=[(_used_uplink(), ValueError, "fresh")])
case("comm_training.curve", lambda runs=None, metric="accuracy": comm_training.curve(
     comm_training.run_measured(CL, 1, lr=0.1, test=CL) if runs is None else runs, metric),
     runs=[("r", TypeError), ([], TypeError)], metric=[("auc", ValueError, "auc")])
case("comm_training.at_budget", lambda table=CURVE, budget=15, selection=None:
     comm_training.at_budget(table, budget, selection),
     table=[("t", TypeError)], budget=[(-1, ValueError)], selection=[("s", TypeError), (CURVE.iloc[:2], ValueError)])
case("comm_training.best_under_budget", lambda curves={"a": CURVE}, budget=15, selections=None:
     comm_training.best_under_budget(curves, budget, selections),
     curves=[({}, TypeError), ({"a": "t"}, TypeError)], budget=[(NAN, ValueError)],
     selections=[({"b": CURVE}, ValueError, "selections")])
case("comm_training.frontier", lambda curves={"a": CURVE}, selections=None: comm_training.frontier(curves, selections),
     curves=[([CURVE], TypeError)], selections=[({}, ValueError, "selections")])
