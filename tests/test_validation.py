"""Every parameter of every public function in ``utils`` refuses a bad value with a clear error.

``BAD`` holds, per (function, parameter), calls that differ from a valid call in that one argument,
the exception type expected and a text the message must contain as a whole word, case and all (the
parameter's name by default, or the bad value, or a tuple of texts that must all be there). ``test_every_parameter_has_a_bad_input`` fails when a public function or a new
parameter has no case, so the table cannot fall behind the code.
"""
from __future__ import annotations

import importlib
import inspect
import re
import pkgutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import utils
from utils import (animation, case_study, course, data, download, fedcore, flamby, heart, keras_fedavg, linear,
                   local_training, methods, models, partition, rl, runtime, setup, tff_custom, tff_learning, twin,
                   twin_calibration)
from utils import validate as v

from badinput import BAD, CFG, CL, EXEMPT, NAN, TH, W, X, XN, Y, _history, _split, case  # noqa: E402,F401

# ---- models -----------------------------------------------------------------------------------
case("models.sigmoid", lambda z: models.sigmoid(z), z=[("x", TypeError), ([0.0, NAN], ValueError, ("z", "NaN"))])
for name in ("mse_loss", "mse_grad", "logistic_loss", "logistic_grad"):
    f = getattr(models, name)
    case(f"models.{name}", lambda theta=TH, X=X, y=Y, f=f: f(theta, X, y),
         theta=[(np.zeros(2), ValueError, "theta"), ([0, NAN, 0], ValueError, "theta")],
         X=[(XN, ValueError, "NaN"), (X[0], ValueError, "X")], y=[(Y[:2], ValueError, "rows"), ("y", TypeError)])
for name in ("logistic_loss", "logistic_grad"):
    case(f"models.{name}", lambda y, f=getattr(models, name): f(TH, X, y), y=[(Y * 2, ValueError, ("y", "0 or 1"))])
case("models.predict_proba", lambda model=TH, X=X: models.predict_proba(model, X),
     model=[([np.zeros((2, 1))], ValueError, "model"), ("w", TypeError, "model"),
            (np.array([0.0, NAN, 0.0]), ValueError, ("model", "NaN"))],
     X=[(np.ones((2, 3)), ValueError, ("X", "3"))])
case("models.accuracy", lambda model=TH, X=X, y=Y: models.accuracy(model, X, y),
     model=[([1, 2, 3], ValueError, "model")], X=[(XN, ValueError, "NaN")],
     y=[(Y + 0.5, ValueError, ("y", "0 or 1")), (Y[:, None], ValueError, "y"), (Y[:2], ValueError, "X has 5 rows but y has 2")])
case("models.to_theta", lambda weights: models.to_theta(weights), weights=[([np.zeros(3)], ValueError, "weights")])
case("models.to_weights", lambda theta=TH, dtype=np.float32: models.to_weights(theta, dtype),
     theta=[([1.0], ValueError, "theta"), ([1.0, NAN], ValueError, ("theta", "NaN"))], dtype=[("int", TypeError, "dtype")])
case("models.initial_weights", lambda seed=0, n_features=2, hidden=None: models.initial_weights(seed, n_features, hidden),
     seed=[(-1, ValueError)], n_features=[(0, ValueError)], hidden=[(1.5, ValueError)])
case("models.max_abs_difference", lambda a=W, b=W: models.max_abs_difference(a, b),
     a=[([np.zeros(2)], ValueError, "shapes"), ("a", TypeError, re.compile("^a must be a list"))],
     b=[("b", TypeError, re.compile("^b must be a list"))])
# ---- local training -----------------------------------------------------------------------------
case("local_training.epoch_batches", lambda n=5, batch_size=2, epochs=1, rng=None:
     local_training.epoch_batches(n, batch_size, epochs, rng),
     n=[(0, ValueError)], batch_size=[(2.5, ValueError)], epochs=[(0, ValueError)], rng=[(3, TypeError)])
case("local_training.stream_batches", lambda n=5, batch_size=2, steps=3, rng=None:
     local_training.stream_batches(n, batch_size, steps, rng),
     n=[(-1, ValueError)], batch_size=[(0, ValueError)], steps=[(True, TypeError)], rng=[("x", TypeError)])
case("local_training.Schedule", lambda batch_size=None, epochs=1, steps=None, shuffle=False:
     local_training.Schedule(batch_size, epochs, steps, shuffle),
     batch_size=[(0, ValueError)], epochs=[(0, ValueError)], steps=[(3, ValueError, "exactly one")],
     shuffle=[("yes", TypeError)])
case("local_training.Schedule", lambda steps: local_training.Schedule(steps=steps),
     steps=[(0, ValueError, ("steps", "0")), (2.5, ValueError, ("steps", "2.5"))])
case("local_training.Schedule.batches", lambda n=5, rng=None: local_training.Schedule(epochs=1).batches(n, rng),
     n=[(0, ValueError)], rng=[("x", TypeError)])
case("local_training.Schedule.examples", lambda n: local_training.Schedule(epochs=1).examples(n), n=[(-3, ValueError)])
case("local_training.Schedule.num_steps", lambda n: local_training.Schedule(epochs=1).num_steps(n), n=[(0, ValueError)])
case("local_training.local_train",
     lambda theta=TH, X=X, y=Y, batches=[np.arange(2)], model="logistic", lr=0.1, optimizer="sgd", mu=0.0, anchor=None,
     eps=1e-8: local_training.local_train(theta, X, y, batches, model=model, lr=lr, optimizer=optimizer, mu=mu,
                                          anchor=anchor, eps=eps),
     theta=[(np.zeros(4), ValueError)], X=[(XN, ValueError, "NaN")], y=[(Y[:3], ValueError, "rows")],
     batches=[([np.array([7])], ValueError, "batches"), ([], TypeError)], model=[("svm", ValueError, "svm")],
     lr=[(-0.1, ValueError, "lr must be > 0")], optimizer=[("rmsprop", ValueError)], mu=[(NAN, ValueError)],
     anchor=[(np.zeros(2), ValueError)], eps=[(0, ValueError)])
# ---- fedcore --------------------------------------------------------------------------------------
case("fedcore.client_weights", lambda sizes: fedcore.client_weights(sizes),
     sizes=[([10, 0], ValueError, "[10.0, 0.0]"), ([[1.0]], ValueError, "sizes")])
case("fedcore.weighted_average", lambda vectors=np.ones((2, 3)), weights=[1, 1]: fedcore.weighted_average(vectors, weights),
     vectors=[(np.full((2, 3), NAN), ValueError, ("vectors", "NaN")), ("abc", TypeError, "vectors")],
     weights=[([1, -1], ValueError, "[1.0, -1.0]"), ([2, -1], ValueError, "[2.0, -1.0]"), ([0, 0], ValueError, "[0.0, 0.0]"),
              ([1, 1, 1], ValueError, ("weights", "2 entries"))])
for name in ("federated_objective", "federated_gradient", "evaluate"):
    f = getattr(fedcore, name)
    case(f"fedcore.{name}", lambda theta=TH, clients=CL, model="logistic", f=f: f(theta, clients, model),
         theta=[(np.zeros(5), ValueError)], clients=[({}, ValueError, ("clients", "empty")), ("ab", TypeError),
                                                      ({"a": (XN, Y)}, ValueError, "X of client 'a' contains NaN"),
                                                      ({"a": (X, Y * 2)}, ValueError, ("y of client 'a'", "0 or 1"))],
         model=[("tree", ValueError)])
case("fedcore.fedsgd_step", lambda theta=TH, clients=CL, lr=0.1, model="logistic":
     fedcore.fedsgd_step(theta, clients, lr, model),
     theta=[(np.zeros(1), ValueError)], clients=[({"a": (X, Y[:2])}, ValueError, "rows")], lr=[(0, ValueError)],
     model=[(3, ValueError)])
case("fedcore.fedavg_round", lambda theta=TH, clients=CL, lr=0.1, local_steps=1, model="logistic", server_lr=1.0,
     batch_size=None: fedcore.fedavg_round(theta, clients, lr, local_steps, model, server_lr, batch_size),
     theta=[("t", TypeError)], clients=[(5, TypeError, ("clients", "int"))], lr=[(NAN, ValueError)],
     local_steps=[(0, ValueError)],
     model=[("mse2", ValueError)], server_lr=[(-1, ValueError)], batch_size=[(0, ValueError)])
case("fedcore.ServerOptimizer", lambda kind="sgd", lr=1.0, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True,
     initial_v=0.0: fedcore.ServerOptimizer(kind, lr, beta1, beta2, eps, bias_correction, initial_v),
     kind=[("adagrad", ValueError)], lr=[(0, ValueError)], beta1=[(1.0, ValueError), (-0.1, ValueError, ("beta1", "-0.1"))],
     beta2=[(-0.1, ValueError), (1.0, ValueError, ("beta2", "< 1"))],
     eps=[(0, ValueError)], bias_correction=[("no", TypeError)], initial_v=[(-1, ValueError)])
case("fedcore.ServerOptimizer.init", lambda p: fedcore.ServerOptimizer().init(p), p=[(0, ValueError)])
case("fedcore.ServerOptimizer.apply", lambda theta=TH, delta=TH, state=None:
     fedcore.ServerOptimizer("adam").apply(theta, delta, fedcore.ServerOptimizer("adam").init(3) if state is None
                                           else state),
     theta=[(np.zeros(2), ValueError, "2 entries"), ("t", TypeError, "theta")], delta=[([NAN, 0, 0], ValueError)],
     state=[({}, ValueError, ("state", "{}"))])
case("fedcore.FedHistory.weights", lambda r: _history().weights(r),   # 1 round: rows -2 .. 1
     r=[(5, ValueError), (1.0, ValueError), (2, ValueError, ("r", "2")), (-3, ValueError, ("r", "-3"))])
case("fedcore.run_fedavg",
     lambda clients=CL, rounds=1, lr=0.1, theta0=None, model="logistic", schedule=local_training.Schedule(epochs=1),
     optimizer="sgd", mu=0.0, server=None, weighting="size", aggregate=None, seed=0, test=None, keep_clients=False,
     progress=False: fedcore.run_fedavg(clients, rounds, lr=lr, theta0=theta0, model=model, schedule=schedule,
                                        optimizer=optimizer, mu=mu, server=server, weighting=weighting,
                                        aggregate=aggregate, seed=seed, test=test, keep_clients=keep_clients,
                                        progress=progress),
     clients=[([], ValueError, ("clients", "empty")), ({"a": (X, Y * 2)}, ValueError, "0 or 1")],
     rounds=[(-1, ValueError), (10**9, ValueError, ("run_fedavg", "local steps", "limit"))],
     lr=[("fast", TypeError)], theta0=[(np.zeros(7), ValueError)], model=[("cnn", ValueError)],
     schedule=[({"epochs": 1}, TypeError, ("schedule", "dict"))], optimizer=[("lbfgs", ValueError)],
     mu=[(float("inf"), ValueError)], server=[("adam", TypeError, ("server", "str"))],
     weighting=[("votes", ValueError), ([1, -1], ValueError), ([2, -1], ValueError, "[2.0, -1.0]"),
                ([0, 0], ValueError, "[0.0, 0.0]"), ([1, 1, 1], ValueError, ("weighting", "2 entries"))],
     aggregate=[("median", TypeError, ("aggregate", "'median'"))], seed=[(-5, ValueError)],
     test=[({"a": (np.ones((2, 5)), Y[:2])}, ValueError, "test clients have 5 features, the clients 2"),
           ({}, ValueError, ("test", "empty")), ({"a": (X, Y * 2)}, ValueError, "0 or 1")],
     keep_clients=[("yes", TypeError)], progress=[(2, TypeError)])
case("fedcore.federated_mean_std", lambda parts=[X], ddof=0: fedcore.federated_mean_std(parts, ddof),
     parts=[([], ValueError, "empty"), ([XN], ValueError, ("parts[0]", "NaN")), (X, TypeError, ("parts", "ndarray"))],
     ddof=[(2, ValueError), (-1, ValueError, ("ddof", "-1"))])
case("fedcore.sample_clients", lambda client_ids=["a", "b"], num_clients=1, seed=0:
     fedcore.sample_clients(client_ids, num_clients, seed),
     client_ids=[(["a", "a"], ValueError, "distinct"), ({"a", "b"}, TypeError, ("client_ids", "set"))],
     num_clients=[(3, ValueError), (0, ValueError, ("num_clients", "0"))], seed=[(1.5, ValueError)])
# ---- linear -----------------------------------------------------------------------------------------
case("linear.quadratic_terms", lambda X=X, y=Y: linear.quadratic_terms(X, y), X=[(XN, ValueError, "NaN")],
     y=[(np.ones(2), ValueError, "rows")])
case("linear.linear_optimum", lambda clients: linear.linear_optimum(clients),
     clients=[({"a": (np.ones((3, 1)), np.ones(3))}, ValueError, "collinear")])
case("linear.linear_fedavg_fixed_point", lambda clients=CL, lr=0.1, local_steps=2:
     linear.linear_fedavg_fixed_point(clients, lr, local_steps),
     clients=[(None, TypeError)], lr=[(0.0, ValueError)], local_steps=[(0, ValueError)])
case("linear.two_source_regression", lambda n_a=10, n_b=10, heterogeneity=1.0, noise=0.5, seed=0:
     linear.two_source_regression(n_a, n_b, heterogeneity, noise, seed),
     n_a=[(0, ValueError)], n_b=[(2.5, ValueError)], heterogeneity=[(-1, ValueError)], noise=[(NAN, ValueError)],
     seed=[("0", TypeError)])
# ---- animation ----------------------------------------------------------------------------------------
case("animation.round_plane", lambda history: animation.round_plane(history), history=[("h", TypeError)])
case("animation.animate_rounds", lambda history=None, names=None, frame_ms=700, height=600:
     animation.animate_rounds(_history() if history is None else history, names, frame_ms, height),
     history=[(fedcore.run_fedavg(CL, 1, lr=0.1), ValueError, "keep_clients")], names=[(["x"], ValueError)],
     frame_ms=[(0, ValueError)], height=[(10, ValueError)])
# ---- partition -----------------------------------------------------------------------------------------
case("partition.iid", lambda n=10, num_clients=2, seed=0: partition.iid(n, num_clients, seed),
     n=[(0, ValueError), (v.MAX_ROWS + 1, ValueError, str(v.MAX_ROWS + 1))], num_clients=[(11, ValueError), (0, ValueError)],
     seed=[(-1, ValueError)])
case("partition.dirichlet_label_skew", lambda y=Y, num_clients=2, alpha=1.0, seed=0, min_size=1:
     partition.dirichlet_label_skew(y, num_clients, alpha, seed, min_size),
     y=[(np.array([0, NAN]), ValueError, "NaN"), (np.zeros((2, 2)), ValueError, "y")], num_clients=[(0, ValueError)],
     alpha=[(0, ValueError)], seed=[(None, TypeError)],
     min_size=[(3, ValueError, "min_size=3 for 2 clients needs 6 rows, but there are only 5"), (-1, ValueError)])
case("partition.quantity_skew", lambda n=10, num_clients=2, alpha=1.0, seed=0, min_size=1:
     partition.quantity_skew(n, num_clients, alpha, seed, min_size),
     n=[("10", TypeError), (0, ValueError), (v.MAX_ROWS + 1, ValueError, str(v.MAX_ROWS + 1))],
     num_clients=[(20, ValueError)], alpha=[(-1.5, ValueError)], seed=[(2**40, ValueError)],
     min_size=[(-1, ValueError), (6, ValueError, "min_size=6 for 2 clients needs 12 rows, but there are only 10")])
case("partition.feature_skew", lambda X=X, num_clients=2, feature=0, seed=0: partition.feature_skew(X, num_clients, feature, seed),
     X=[(XN, ValueError, "NaN"), (X[0], ValueError, "X")], num_clients=[(0, ValueError)],
     feature=[(2, ValueError), (-3, ValueError, "-3")], seed=[(0.5, ValueError)])
case("partition.to_tf_dataset", lambda X=X, y=Y, batch_size=2, shuffle=False, seed=0:
     partition.to_tf_dataset(X, y, batch_size, shuffle, seed),
     X=[(XN, ValueError, "NaN")], y=[(Y[:2], ValueError, "rows")], batch_size=[(0, ValueError)],
     shuffle=[("no", TypeError)], seed=[(-1, ValueError)])
case("partition.to_client_data", lambda parts: partition.to_client_data(parts),
     parts=[([(X, Y)], TypeError, ("parts", "list")), ({"a": (XN, Y)}, ValueError, "NaN"),
            ({}, ValueError, re.compile("^parts "))])
case("partition.breast_cancer_silos", lambda num_silos=4, alpha=1.0, seed=0, test_share=0.25:
     partition.breast_cancer_silos(num_silos, alpha, seed, test_share),
     num_silos=[(0, ValueError), (15, ValueError)], alpha=[(NAN, ValueError)], seed=[(-2, ValueError)],
     test_share=[(1.5, ValueError)])
# ---- download, heart, flamby, data -----------------------------------------------------------------------
case("download.dataset_dir", lambda name="heart-disease", folder=None: download.dataset_dir(name, folder),
     name=[("../x", ValueError, ("name", "'../x'")), ("", ValueError, ("name", "''")), (3, ValueError, ("name", "3"))],
     folder=[(3, TypeError, re.compile("^folder must be"))])   # "folder" alone is also in the message's "file or folder path"
case("download.md5_of_file", lambda path: download.md5_of_file(path),
     path=[(None, TypeError, re.compile("^path must be")), ("/no/such/file", FileNotFoundError, "/no/such")])
case("download.write_atomically", lambda path="/tmp/flcourse_unused", data=b"x": download.write_atomically(path, data),
     path=[(None, TypeError, re.compile("^path must be"))], data=[("text", TypeError, ("data", "str"))])
case("download.fetch_verified", lambda files={"f": "0" * 32}, base_url="http://127.0.0.1:1/", folder="/tmp/x", timeout=1.0:
     download.fetch_verified(files, base_url, folder, timeout),
     files=[({}, TypeError)], base_url=[("ftp://x", ValueError)],
     folder=[(None, TypeError, re.compile("^folder must be"))], timeout=[(0, ValueError)])
case("heart.check_hospitals", lambda hospitals: heart.check_hospitals(hospitals),
     hospitals=[(["boston"], ValueError, "'boston'"), ([], ValueError, "empty"), (5, TypeError)])
case("heart.file_name", lambda hospital: heart.file_name(hospital),
     hospital=[("boston", ValueError, ("hospital", "'boston'"))])
case("heart.fetch_heart_disease", lambda data_dir="/tmp/x", base_url="http://127.0.0.1:1/", timeout=1.0, hospitals=None:
     heart.fetch_heart_disease(data_dir, base_url, timeout, hospitals),
     data_dir=[(1.5, TypeError)], base_url=[("nowhere", ValueError)], timeout=[(-1, ValueError)],
     hospitals=[("mayo", ValueError, "'mayo'")])
case("heart.parse_raw_file", lambda path: heart.parse_raw_file(path), path=[(None, TypeError, re.compile("^path must be"))])
case("heart.describe", lambda raw: heart.describe(raw), raw=[({}, TypeError, ("raw", "dict"))])
case("flamby.flamby_clean", lambda frame: flamby.flamby_clean(frame), frame=[(X, TypeError, ("frame", "ndarray")),
                                                                          (pd.DataFrame({"a": [1]}), ValueError, "slope")])
case("flamby.flamby_train_test_indices", lambda labels: flamby.flamby_train_test_indices(labels),
     labels=[([0, 1, 2, 1], ValueError, re.compile("^labels must hold labels 0 or 1")), ([0, 1], ValueError, "at least 3"),
             ([0.0, NAN, 1.0], ValueError, ("labels", "NaN"))])
case("flamby.flamby_one_hot", lambda features: flamby.flamby_one_hot(features),
     features=[(pd.DataFrame({"cp": [1.0]}), ValueError, "restecg"), (pd.DataFrame({"cp": [NAN], "restecg": [0.0]}),
                                                                   ValueError, ("features['cp']", "NaN")),
              (X, TypeError, re.compile("^features must be a pandas DataFrame, got ndarray$"))])
case("flamby.flamby_split", lambda raw=None, standardize="center": flamby.flamby_split(
     data.load_raw("synthetic") if raw is None else raw, standardize),
     raw=[("raw", TypeError, re.compile("^raw must .*, got str$"))], standardize=[("zscore", ValueError, ("standardize", "'zscore'"))])
case("flamby.FederatedSplit.pooled", lambda part: _split().pooled(part), part=[("valid", ValueError, "'valid'")])
case("flamby.FederatedSplit.restandardize", lambda how: _split().restandardize(how), how=[("zscore", ValueError, ("how", "'zscore'"))])
case("flamby.FederatedSplit.validation_split", lambda fraction=0.25, seed=0: _split().validation_split(fraction, seed),
     fraction=[(1.0, ValueError), (NAN, ValueError)], seed=[(-1, ValueError)])
case("tff_custom.adam_without_bias_correction", lambda learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
     yogi=False: tff_custom.adam_without_bias_correction(learning_rate, beta_1, beta_2, epsilon, yogi),
     learning_rate=[(0, ValueError)], beta_1=[(1.0, ValueError)], beta_2=[("x", TypeError)], epsilon=[(-1, ValueError)],
     yogi=[("yes", TypeError)])
case("tff_custom.build_sized_fedopt", lambda model_fn=lambda: None, client_lr=0.1, server_optimizer=None, mu=0.0:
     tff_custom.build_sized_fedopt(model_fn, client_lr, "sgd" if server_optimizer is None else server_optimizer, mu),
     model_fn=[("m", TypeError)], client_lr=[(0, ValueError)], server_optimizer=[(0.1, TypeError)], mu=[(-1, ValueError)])
case("tff_custom.sized_client_data", lambda datasets=None, sizes=(3,): tff_custom.sized_client_data(
     [__import__("tensorflow").data.Dataset.range(3)] if datasets is None else datasets, sizes),
     datasets=[([[1, 2]], TypeError)], sizes=[((0,), ValueError), ((NAN,), ValueError, "NaN")])
case("data.load_raw", lambda source="synthetic", data_dir=None, seed=0, base_url=heart.BASE_URL, hospitals=None,
     timeout=1.0: data.load_raw(source, data_dir, seed, base_url, hospitals, timeout),
     source=[("remote", ValueError, "'remote'")], data_dir=[(3, TypeError, "data_dir")], seed=[(-1, ValueError)],
     base_url=[("x", ValueError)], hospitals=[(["va", "boston"], ValueError, "'boston'")], timeout=[(NAN, ValueError)])
case("data.load_heart_disease", lambda source="synthetic", standardize="center", data_dir=None, seed=0:
     data.load_heart_disease(source, standardize, data_dir, seed),
     source=[("s3", ValueError)], standardize=[("minmax", ValueError)], data_dir=[([], TypeError, "data_dir")],
     seed=[(True, TypeError)])
# ---- twin -----------------------------------------------------------------------------------------------
_frame = pd.DataFrame([{c: NAN for c in heart.RAW_COLUMNS}])
case("twin_calibration.calibrate", lambda frames: twin_calibration.calibrate(frames),
     frames=[({"boston": _frame}, ValueError, "'boston'")])
case("twin_calibration.params_to_json", lambda params: twin_calibration.params_to_json(params),
     params=[({"x": {1, 2}}, TypeError, "set")])
case("twin_calibration.model_matrix", lambda frame=_frame, hospital="va": twin_calibration.model_matrix(frame, hospital),
     frame=[(X, TypeError), (_frame, ValueError, "missing")], hospital=[("oslo", ValueError, "'oslo'")])
case("twin_calibration.draw_features", lambda hospital_params=None, n=3, rng=None: twin_calibration.draw_features(
     twin.default_twin().params["hospitals"]["va"] if hospital_params is None else hospital_params, n,
     np.random.default_rng(0) if rng is None else rng),
     hospital_params=[({}, ValueError, "hospital_params")], n=[(-1, ValueError)], rng=[(7, TypeError)])
case("twin.HeartDiseaseTwin.bayes_accuracy_mc", lambda n_per_hospital=5, hospitals=None, seed=0:
     twin.default_twin().bayes_accuracy_mc(n_per_hospital, hospitals, seed),
     n_per_hospital=[(0, ValueError), (2.5, ValueError, "2.5")], hospitals=[("oslo", ValueError, "'oslo'")],
     seed=[(-1, ValueError), ("1", TypeError)])
case("twin.HeartDiseaseTwin", lambda params: twin.HeartDiseaseTwin(params), params=[({}, ValueError, "params")])
case("twin.HeartDiseaseTwin.sizes", lambda n_per_hospital=None, hospitals=None:
     twin.default_twin().sizes(n_per_hospital, hospitals),
     n_per_hospital=[(0, ValueError)], hospitals=[(["x"], ValueError, "'x'")])
case("twin.HeartDiseaseTwin.sample", lambda n_per_hospital=5, hospitals=None, seed=0:
     twin.default_twin().sample(n_per_hospital, hospitals, seed),
     n_per_hospital=[(-5, ValueError)], hospitals=[("oslo", ValueError, "'oslo'")], seed=[(-1, ValueError)])
for owner, target in (("twin.HeartDiseaseTwin.", lambda: twin.default_twin()), ("twin.", lambda: twin)):
    case(owner + "posterior", lambda frame=_frame, hospital="va", columns=None, target=target:
         target().posterior(frame, hospital, columns),
         frame=[(X, TypeError)], hospital=[("oslo", ValueError, "'oslo'")], columns=[(["bmi"], ValueError, "'bmi'")])
    case(owner + "bayes_accuracy", lambda frames=None, columns=None, target=target:
         target().bayes_accuracy({"va": _frame.dropna(how="all")} if frames is None else frames, columns),
         frames=[({"oslo": _frame}, ValueError, "'oslo'")], columns=[(["bmi"], ValueError, "'bmi'")])
# ---- methods, case study, Keras, TFF ---------------------------------------------------------------------
case("methods.MethodConfig", lambda **kw: methods.MethodConfig(**({"method": "fedavg"} | kw)),
     method=[("fedsgd", ValueError)], epochs=[(0, ValueError)], lr=[(0, ValueError)], rounds=[(0, ValueError)],
     weighting=[("votes", ValueError, "'votes'")], bias_correction=[("no", TypeError)],
     scaling=[("minmax", ValueError, "'minmax'"), ("flamby", ValueError, "pooled model only")],
     engine=[("jax", ValueError, "'jax'")],
     local_steps=[(2.5, ValueError)], batch_size=[(-4, ValueError)], client_lr=[(NAN, ValueError)],
     server_lr=[("1", TypeError)], mu=[(0.1, ValueError, "mu=0.1")], tau=[(-1e-8, ValueError)],
     hidden=[(0, ValueError)])
case("methods.flamby_config", lambda method: methods.flamby_config(method), method=[("scaffold", ValueError)])
case("methods.same_settings", lambda config=CFG, other=CFG: methods.same_settings(config, other),
     config=[("fedavg", TypeError)], other=[(None, TypeError)])
case("case_study.train_numpy_federated", lambda split=None, config=CFG.with_(rounds=1, local_steps=2), seed=0:
     case_study.train_numpy_federated(_split() if split is None else split, config, seed),
     split=[("s", TypeError)], config=[(methods.flamby_config("pooled"), ValueError, "federated")],
     seed=[(-1, ValueError)])
case("case_study.hospital_metrics", lambda model=W, split=None, part="test":
     case_study.hospital_metrics(model, _split() if split is None else split, part),
     model=[({"va": W}, ValueError, "cleveland"), ("w", TypeError)], split=[({}, TypeError)],
     part=[("valid", ValueError)])
case("case_study.train_central", lambda X=X, y=Y, config=CFG, seed=0: case_study.train_central(X, y, config, seed),
     X=[(XN, ValueError, "NaN")], y=[(Y + 2, ValueError, "0 or 1")], config=[("fedavg", TypeError)], seed=[(-1, ValueError)])
case("case_study.fine_tune", lambda weights=None, split=None, steps=2, lr=0.01, batch_size=4, seed=0:
     case_study.fine_tune(models.initial_weights(0) if weights is None else weights,
                          _split() if split is None else split, steps, lr, batch_size, seed),
     weights=[([np.zeros(13)], ValueError)], split=[("split", TypeError)], steps=[(0, ValueError)],
     lr=[(-1, ValueError)], batch_size=[(0, ValueError)], seed=[(-1, ValueError)])
case("case_study.run_experiment", lambda split=None, seeds=(1,), configs=None, progress=False:
     case_study.run_experiment(_split() if split is None else split, ("local",), seeds, configs, progress),
     split=[(3, TypeError)], seeds=[([], ValueError, "empty"), ([-1], ValueError)],
     configs=[({"local": CFG}, ValueError, "configs")], progress=[("yes", TypeError)])
case("case_study.run_experiment", lambda methods: case_study.run_experiment(_split(), methods, (1,), None, False),
     methods=[(["fedsgd"], ValueError, "'fedsgd'"), ([], ValueError, "empty")])
case("case_study.summarize", lambda per_hospital: case_study.summarize(per_hospital),
     per_hospital=[(pd.DataFrame({"a": [1]}), ValueError, "columns"), ([], TypeError)])
case("case_study.encode_patient", lambda record=None, split=None, hospital="va":
     case_study.encode_patient({"age": 1} if record is None else record, _split() if split is None else split, hospital),
     record=[("r", TypeError)], split=[(1, TypeError)], hospital=[("oslo", ValueError, "'oslo'")])
case("keras_fedavg.keras_model", lambda n_features=2, hidden=None, kernel_initializer="zeros":
     keras_fedavg.keras_model(n_features, hidden, kernel_initializer),
     n_features=[(0, ValueError)], hidden=[(-3, ValueError)], kernel_initializer=[(0.5, TypeError)])
case("keras_fedavg.local_sgd", lambda model=None, weights=W, X=X, y=Y, batches=[np.arange(2)], lr=0.1, loss=None:
     keras_fedavg.local_sgd(keras_fedavg.keras_model(2) if model is None else model, weights, X, y, batches, lr, loss),
     model=[("m", TypeError)], weights=[(np.zeros(3), TypeError)], X=[(XN, ValueError, "NaN")],
     y=[(Y[:1], ValueError, "rows")], batches=[([np.array([9])], ValueError)], lr=[(0, ValueError)],
     loss=[("bce", TypeError)])
case("keras_fedavg.fedavg_round", lambda model=None, global_weights=W, clients=CL, batch_size=2, client_lr=0.1,
     server_lr=1.0, epochs=1, loss=None: keras_fedavg.fedavg_round(
         keras_fedavg.keras_model(2) if model is None else model, global_weights, clients, batch_size, client_lr,
         server_lr, epochs, loss),
     model=[(3, TypeError)], global_weights=[([], ValueError, "empty")], clients=[({}, ValueError, "empty")],
     batch_size=[(0, ValueError)], client_lr=[(-0.1, ValueError)], server_lr=[(0, ValueError)], epochs=[(0, ValueError)],
     loss=[(1, TypeError)])
case("keras_fedavg.run_fedavg", lambda model=None, clients=CL, rounds=1, batch_size=2, client_lr=0.1, server_lr=1.0,
     initial_weights=None, epochs=1, loss=None: keras_fedavg.run_fedavg(
         keras_fedavg.keras_model(2) if model is None else model, clients, rounds, batch_size, client_lr, server_lr,
         initial_weights, epochs, loss),
     model=[("m", TypeError)], clients=[(["x"], TypeError)], rounds=[(-1, ValueError)],
     batch_size=[(1.5, ValueError)], client_lr=[(NAN, ValueError)], server_lr=[(-2, ValueError)],
     initial_weights=[([np.full(2, NAN)], ValueError, "NaN")], epochs=[(0, ValueError)], loss=[("x", TypeError)])
case("tff_learning.client_datasets", lambda clients=CL, batch_size=2: tff_learning.client_datasets(clients, batch_size),
     clients=[({"a": (XN, Y)}, ValueError, "NaN")], batch_size=[(0, ValueError)])
def _spec():
    import tensorflow as tf

    return (tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.float32))


case("tff_learning.tff_model_fn", lambda build_keras_model=lambda: None, element_spec=None, loss_fn=None, metrics_fn=None:
     tff_learning.tff_model_fn(build_keras_model, _spec() if element_spec is None else element_spec, loss_fn, metrics_fn),
     build_keras_model=[("model", TypeError)], element_spec=[(3, TypeError)], loss_fn=[("bce", TypeError)],
     metrics_fn=[(["acc"], TypeError)])
case("tff_learning.build_tff_fedavg", lambda model_fn=lambda: None, client_lr=0.1, server_lr=1.0:
     tff_learning.build_tff_fedavg(model_fn, client_lr, server_lr),
     model_fn=[("fn", TypeError)], client_lr=[(-0.1, ValueError)], server_lr=[(0, ValueError)])
case("tff_learning.tff_model_weights", lambda process=None, state=None: tff_learning.tff_model_weights(process, state),
     process=[("p", TypeError)], state=[(None, TypeError, "process")])
case("tff_learning.FederatedProcess", lambda config=CFG, n_features=13: tff_learning.FederatedProcess(config, n_features),
     config=[(methods.flamby_config("pooled"), ValueError, "not federated")], n_features=[(0, ValueError)])
case("tff_learning.FederatedProcess.run", lambda split=None, seed=0, weights=None, shuffle=False, progress=None,
     evaluate=None: tff_learning.get_process(CFG.with_(rounds=1, local_steps=1)).run(
         _split() if split is None else split, seed, weights, shuffle, progress, evaluate),
     split=[({}, TypeError)], seed=[(-1, ValueError)], weights=[([np.zeros(2)], ValueError, "2")],
     shuffle=[("no", TypeError)], progress=[(5, TypeError)], evaluate=[("acc", TypeError)])
case("tff_learning.get_process", lambda config=CFG, n_features=13: tff_learning.get_process(config, n_features),
     config=[("fedavg", TypeError)], n_features=[(-1, ValueError)])
# ---- setup, rl, course, runtime ---------------------------------------------------------------------------
case("setup.setup", lambda seed=0, tff=False, quiet=True: setup.setup(seed, tff, quiet),
     seed=[(2**32, ValueError), ("42", TypeError)], tff=[("no", TypeError)], quiet=[(1, TypeError)])
case("setup.normalize", lambda name: setup.normalize(name), name=[(3, TypeError)])
case("setup.parse_pins", lambda text="a==1", source="lock": setup.parse_pins(text, source),
     text=[("numpy>=1", ValueError, "numpy>=1"), (None, TypeError)], source=[(3, TypeError)])
case("setup.read_lock", lambda path: setup.read_lock(path), path=[("/no/such.lock", FileNotFoundError, "/no/such.lock")])
case("setup.environment_table", lambda packages: setup.environment_table(packages),
     packages=[("numpy", TypeError), (["no-such-package"], ValueError, "no-such-package")])
case("rl.run_epsilon_greedy", lambda probs=(0.2, 0.8), epsilon=0.1, steps=5, runs=2, seed=0:
     rl.run_epsilon_greedy(probs, epsilon, steps, runs, seed),
     probs=[((0.5,), ValueError), ((0.2, 1.5), ValueError, "1.5"), ("ab", TypeError)], epsilon=[(-0.1, ValueError)],
     steps=[(0, ValueError)], runs=[(2.5, ValueError)], seed=[(-1, ValueError)])
case("rl.long_run_reward", lambda probs=(0.2, 0.8), epsilon=0.1: rl.long_run_reward(probs, epsilon),
     probs=[((NAN, 0.5), ValueError, "NaN")], epsilon=[(2, ValueError)])
case("course.notebooks", lambda chapters: course.notebooks(chapters), chapters=[(3, TypeError)])
case("course.title_of", lambda path: course.title_of(path), path=[(None, TypeError)])
case("course.course_map", lambda prefix="", chapters=course.CHAPTERS: course.course_map(prefix, chapters),
     prefix=[(None, TypeError)], chapters=[("/no/such/folder", ValueError, "/no/such/folder")])
case("runtime.stop_workers", lambda timeout: runtime.stop_workers(timeout), timeout=[(-1, ValueError)])
case("runtime.tagged_processes", lambda tag="x", exclude_self=True: runtime.tagged_processes(tag, exclude_self),
     tag=[("", ValueError, "tag"), (3, TypeError)], exclude_self=[("no", TypeError)])
case("runtime.tagged_workers", lambda tag: runtime.tagged_workers(tag), tag=[(None, TypeError)])
case("runtime.check_workers", lambda tag: runtime.check_workers(tag), tag=[(5, TypeError)])


# Chapters register their functions' bad inputs in tests/bad_inputs_*.py.
sys.path.insert(0, str(Path(__file__).parent))
for _path in sorted(Path(__file__).parent.glob("bad_inputs_*.py")):
    importlib.import_module(_path.stem)


def _mutant(name):
    """`make mutation` (mutmut) adds each mutant as a module-level function or method named ..__mutmut_N."""
    return "__mutmut_" in name or "ǁ" in name


def public_callables():
    """(qualified name, callable) for every public function, class and method of ``utils``."""
    for info in pkgutil.iter_modules(utils.__path__):
        if info.name in ("exercises",):
            continue
        module = importlib.import_module(f"utils.{info.name}")
        # A module without __all__ must not escape the table: then every public name defined in it counts.
        names = getattr(module, "__all__", None) or [
            n for n, o in vars(module).items() if not n.startswith("_") and not _mutant(n)
            and (inspect.isfunction(o) or inspect.isclass(o)) and o.__module__ == module.__name__]
        for name in names:
            qual = f"{info.name}.{name}"
            if qual in EXEMPT or info.name in EXEMPT:
                continue
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield qual, obj
            elif inspect.isclass(obj):
                yield qual, obj
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and not attr.startswith("_") and not _mutant(attr):
                        yield f"{qual}.{attr}", member
    for qual, obj in (("fedcore.FedHistory.weights", fedcore.FedHistory.weights),
                      ("flamby.FederatedSplit.pooled", flamby.FederatedSplit.pooled),
                      ("flamby.FederatedSplit.restandardize", flamby.FederatedSplit.restandardize),
                      ("flamby.FederatedSplit.validation_split", flamby.FederatedSplit.validation_split)):
        yield qual, obj


def parameters(obj):
    params = list(inspect.signature(obj).parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def test_every_parameter_has_a_bad_input():
    missing = [f"{qual}({p})" for qual, obj in public_callables() for p in parameters(obj) if (qual, p) not in BAD]
    assert missing == [], f"no bad-input case for: {missing}"


CASES = [(fn, param, i, entry) for (fn, param), entries in sorted(BAD.items()) for i, entry in enumerate(entries)]


@pytest.mark.parametrize("fn, param, i, entry", CASES, ids=[f"{fn}:{param}:{i}" for fn, param, i, _ in CASES])
def test_bad_input_is_refused_with_a_clear_error(fn, param, i, entry):
    call, name, value, error, needle = entry
    with pytest.raises(error) as caught:
        call(**{name: value})
    for text in needle if isinstance(needle, tuple) else (needle,):
        assert names(str(caught.value), text), f"{fn}: message {str(caught.value)!r} does not name {text!r}"


def names(message: str, needle) -> bool:
    """``needle`` occurs in ``message`` as a whole: not inside a longer name (``n`` is not found in
    ``num_clients``, ``seed`` not in ``XXseedXX``) and with its case (``X`` is not ``x``). A compiled
    pattern is searched as it is (``re.compile("^a must")`` where "a" is also an ordinary word)."""
    if isinstance(needle, re.Pattern):
        return needle.search(message) is not None
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", message) is not None


# ---- the validators themselves ------------------------------------------------------------------------

LONG = "a" * 79   # repr 81 characters: shown as its first 77 and "..."
REFUSED = [   # (call, error, the whole message)
    (lambda: v.number("x", True), TypeError, "x must be a number, got True"),
    (lambda: v.number("x", "1"), TypeError, "x must be a number, got '1'"),
    (lambda: v.number("x", 1j), TypeError, "x must be a number, got 1j"),
    (lambda: v.number("x", LONG), TypeError, f"x must be a number, got {repr(LONG)[:77]}..."),
    (lambda: v.number("x", LONG[:78]), TypeError, f"x must be a number, got {LONG[:78]!r}"),   # repr of 80: whole
    (lambda: v.number("x", NAN), ValueError, "x must be a finite number, got nan"),
    (lambda: v.number("x", float("-inf")), ValueError, "x must be a finite number, got -inf"),
    (lambda: v.number("x", -1, low=0), ValueError, "x must be >= 0, got -1.0"),
    (lambda: v.number("x", 0, low=0, low_open=True), ValueError, "x must be > 0, got 0.0"),
    (lambda: v.number("x", 2, high=1), ValueError, "x must be <= 1, got 2.0"),
    (lambda: v.number("x", 1, high=1, high_open=True), ValueError, "x must be < 1, got 1.0"),
    (lambda: v.positive("x", 0), ValueError, "x must be > 0, got 0.0"),
    (lambda: v.positive("x", -2), ValueError, "x must be > 0, got -2.0"),
    (lambda: v.nonneg("x", -1e-9), ValueError, "x must be >= 0, got -1e-09"),
    (lambda: v.fraction("x", 0), ValueError, "x must be > 0, got 0.0"),
    (lambda: v.fraction("x", 1.0), ValueError, "x must be < 1, got 1.0"),
    (lambda: v.fraction("x", -0.1, open_ends=False), ValueError, "x must be >= 0, got -0.1"),
    (lambda: v.fraction("x", 1.5, open_ends=False), ValueError, "x must be <= 1, got 1.5"),
    (lambda: v.integer("x", 2.0), ValueError, "x must be a whole number, got 2.0"),
    (lambda: v.integer("x", np.float32(2.5)), ValueError, "x must be a whole number, got 2.5"),
    (lambda: v.integer("x", True), TypeError, "x must be an integer, got True"),
    (lambda: v.integer("x", np.bool_(True)), TypeError, "x must be an integer, got True"),
    (lambda: v.integer("x", "3"), TypeError, "x must be an integer, got '3'"),
    (lambda: v.integer("x", 0, 1), ValueError, "x must be >= 1, got 0"),
    (lambda: v.integer("x", 6, 1, 5), ValueError, "x must be <= 5, got 6"),
    (lambda: v.integer("x", 6, maximum=5), ValueError, "x must be <= 5, got 6"),
    (lambda: v.seed("x", 2**32), ValueError, "x must be <= 4294967295, got 4294967296"),
    (lambda: v.seed("x", -1), ValueError, "x must be >= 0, got -1"),
    (lambda: v.choice("x", "c", "ab"), ValueError, "unknown x 'c'; choose one of ['a', 'b']"),
    (lambda: v.choice("x", ["a"], "ab"), ValueError, "unknown x ['a']; choose one of ['a', 'b']"),
    (lambda: v.flag("x", 1), TypeError, "x must be True or False, got 1"),
    (lambda: v.text("x", 3), TypeError, "x must be a string, got 3"),
    (lambda: v.text("x", ""), ValueError, "x must not be empty"),
    (lambda: v.path("x", ""), TypeError, "x must be a file or folder path, got ''"),
    (lambda: v.path("x", 3), TypeError, "x must be a file or folder path, got 3"),
    (lambda: v.generator("x", 3), TypeError, "x must be None or np.random.default_rng(...), got 3"),
    (lambda: v.function("x", 3), TypeError, "x must be a function, got 3"),
    (lambda: v.array("x", "ab"), TypeError, "x must be an array of numbers, got str"),
    (lambda: v.array("x", b"ab"), TypeError, "x must be an array of numbers, got bytes"),
    (lambda: v.array("x", {"a": 1}), TypeError, "x must be an array of numbers, got dict"),
    (lambda: v.array("x", [[1], [1, 2]]), TypeError, "x must be an array of numbers, got [[1], [1, 2]]"),
    (lambda: v.array("x", ["a"]), TypeError, "x must be an array of numbers, got ['a']"),
    (lambda: v.finite("x", np.array([[0.0, 1.0], [NAN, 0.0]])), ValueError, "x contains NaN at row 1, column 0"),
    (lambda: v.finite("x", np.array([0.0, 1.0, -np.inf])), ValueError, "x contains an infinite value at position (2,)"),
    (lambda: v.finite("x", np.where(np.arange(8).reshape(2, 2, 2) == 2, NAN, 0.0)), ValueError,
     "x contains NaN at position (0, 1, 0)"),
    (lambda: v.vector("x", [[1.0]]), ValueError, "x must be 1-dimensional, got shape (1, 1)"),
    (lambda: v.vector("x", 1.0), ValueError, "x must be 1-dimensional, got shape ()"),
    (lambda: v.vector("x", [1.0, 2.0], 3), ValueError, "x must have 3 entries, got 2"),
    (lambda: v.vector("x", []), ValueError, "x is empty"),
    (lambda: v.vector("x", [1.0, NAN]), ValueError, "x contains NaN at position (1,)"),
    (lambda: v.matrix("x", [1.0, 2.0]), ValueError, "x must be 2-dimensional (rows × features), got shape (2,)"),
    (lambda: v.matrix("x", np.ones((0, 2))), ValueError, "x has no rows"),
    (lambda: v.matrix("x", np.ones((2, 2)), columns=3), ValueError, "x must have 3 columns, got 2"),
    (lambda: v.matrix("x", [[1, NAN]]), ValueError, "x contains NaN at row 0, column 1"),
    (lambda: v.binary("x", np.array([0.0, 0.5, 2.0])), ValueError, "x must hold labels 0 or 1, got 0.5 at position 1"),
    (lambda: v.xy(X, Y[:2]), ValueError, "X has 5 rows but y has 2"),
    (lambda: v.xy(X, Y[:2], "client 'a'"), ValueError, "X of client 'a' has 5 rows but y of client 'a' has 2"),
    (lambda: v.xy(X[0], Y, "client 'a'"), ValueError,
     "X of client 'a' must be 2-dimensional (rows × features), got shape (2,)"),
    (lambda: v.xy(X, Y[:, None], "client 'a'"), ValueError, "y of client 'a' must be 1-dimensional, got shape (5, 1)"),
    (lambda: v.xy(X, Y * 2, "client 'a'", labels01=True), ValueError,
     "y of client 'a' must hold labels 0 or 1, got 2.0 at position 1"),
    (lambda: v.xy(X, Y, columns=3), ValueError, "X must have 3 columns, got 2"),
    (lambda: v.clients(5), TypeError, "clients must be a dict {client: (X, y)} or a list of (X, y) pairs, got int"),
    (lambda: v.clients("ab", "parts"), TypeError,
     "parts must be a dict {client: (X, y)} or a list of (X, y) pairs, got str"),
    (lambda: v.clients({}), ValueError, "clients is empty: a federation needs at least one client"),
    (lambda: v.clients({"a": (X, Y, 1)}), TypeError, "client 'a' of clients must be an (X, y) pair, got tuple"),
    (lambda: v.clients([X]), TypeError, "client 0 of clients must be an (X, y) pair, got ndarray"),
    (lambda: v.clients({"a": (X, Y), "b": (np.ones((2, 3)), Y[:2])}), ValueError,
     "the clients of clients disagree on the number of features: [2, 3]"),
    (lambda: v.clients([(X, Y), (X, Y * 2)], labels01=True), ValueError,
     "y of client 1 must hold labels 0 or 1, got 2.0 at position 1"),
    (lambda: v.weight_list("x", np.zeros(2)), TypeError, "x must be a list of arrays (e.g. [kernel, bias]), got ndarray"),
    (lambda: v.weight_list("x", {"w": 1}), TypeError, "x must be a list of arrays (e.g. [kernel, bias]), got dict"),
    (lambda: v.weight_list("x", []), ValueError, "x is an empty list"),
    (lambda: v.weight_list("x", [np.zeros(2), [1.0, NAN]]), ValueError, "x[1] contains NaN at position (1,)"),
    (lambda: v.weight_list("x", ["a"]), TypeError, "x[0] must be an array of numbers, got str"),
    (lambda: v.names("x", 1, "ab"), TypeError, "x must be a name or a list of names from ['a', 'b'], got 1"),
    (lambda: v.names("x", ["c", "a", "d"], "ab"), ValueError, "unknown x ['c', 'd']; valid ones are ['a', 'b']"),
    (lambda: v.names("x", [], "ab"), ValueError, "x is empty; choose from ['a', 'b']"),
    (lambda: v.budget("x", 12_345, 10, "steps"), ValueError,
     "x would need 12,345 steps, more than the course's limit of 10; use fewer rounds, steps or clients"),
]


@pytest.mark.parametrize("i", range(len(REFUSED)))
def test_validators_refuse_with_the_exact_message(i):
    call, error, message = REFUSED[i]
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error and str(caught.value) == message


def test_validators_accept_and_return():
    checks = [
        (v.number("x", np.float32(1.5)), 1.5), (v.number("x", np.int64(2)), 2.0), (v.number("x", 0, low=0), 0.0),
        (v.number("x", 1, high=1), 1.0), (v.number("x", -5), -5.0), (v.positive("x", 1e-300), 1e-300),
        (v.nonneg("x", 0), 0.0), (v.fraction("x", 0.5), 0.5), (v.fraction("x", 0, open_ends=False), 0.0),
        (v.fraction("x", 1, open_ends=False), 1.0), (v.integer("x", np.int64(3)), 3), (v.integer("x", 1, 1, 1), 1),
        (v.integer("x", -7), -7), (v.seed("x", 0), 0), (v.seed("x", 2**32 - 1), 2**32 - 1),
        (v.choice("x", "b", "ab"), "b"), (v.flag("x", np.bool_(True)), True), (v.flag("x", False), False),
        (v.text("x", "", empty=True), ""), (v.text("x", "t"), "t"), (v.budget("x", 10, 10, "steps"), 10),
        (v.names("x", "b", "abc"), ("b",)), (v.names("x", ["c", "a"], "abc"), ("a", "c")),
        (v.names("x", {"b"}, "abc"), ("b",)),
    ]
    for got, expected in checks:
        assert got == expected and type(got) is type(expected), (got, expected)
    assert v.path("x", "~/a") == Path.home() / "a" and v.path("x", Path("b")) == Path("b")
    rng = np.random.default_rng(0)
    assert v.generator("x", rng) is rng and v.generator("x", None) is None and v.function("x", len) is len
    a = v.array("x", [1, 2])
    assert a.dtype == np.float64 and a.tolist() == [1.0, 2.0]
    assert v.vector("x", [], allow_empty=True).shape == (0,) and v.vector("x", [1, 2], 2).tolist() == [1.0, 2.0]
    assert v.matrix("x", [[1, 2]], columns=2).tolist() == [[1.0, 2.0]]
    names, pairs = v.clients([(X, Y), (X[:2], Y[:2])], labels01=True)
    assert names == [0, 1] and [len(y) for _, y in pairs] == [5, 2] and pairs[0][0].dtype == np.float64
    names, _ = v.clients({"b": (X, Y), "a": (X, Y * 2)})   # any real labels without labels01
    assert names == ["b", "a"]
    assert [w.tolist() for w in v.weight_list("x", ([1], np.zeros((1, 1))))] == [[1.0], [[0.0]]]


def test_course_limits(monkeypatch):
    monkeypatch.setattr(v, "MAX_ROWS", 2)
    monkeypatch.setattr(v, "MAX_CLIENTS", 2)
    assert v.matrix("x", np.ones((2, 1))).shape == (2, 1)
    with pytest.raises(ValueError, match=r"^x has 3 rows; the course's limit is 2$"):
        v.matrix("x", np.ones((3, 1)))
    assert v.clients([(X[:2], Y[:2])] * 2)[0] == [0, 1]
    with pytest.raises(ValueError, match=r"^parts has 3 clients; the course's limit is 2$"):
        v.clients([(X[:2], Y[:2])] * 3, "parts")


def test_nan_is_located_in_the_message():
    with pytest.raises(ValueError, match="X of client 'va' contains NaN at row 2, column 1"):
        v.clients({"va": (XN, Y)})
