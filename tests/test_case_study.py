"""utils.methods, utils.case_study and the TFF process: the case-study runner, checked against
independent computations."""
import math

import numpy as np
import pandas as pd
import pytest

from utils import case_study as C
from utils import methods as M
from utils.data import load_heart_disease
from utils.fedcore import run_fedavg
from utils.heart import HOSPITALS
from utils.local_training import Schedule
from utils.models import initial_weights, predict_proba, to_theta


@pytest.fixture(scope="module")
def split():
    # These tests hold for any data; the synthetic twin makes them run the same everywhere, offline too.
    return load_heart_disease("synthetic")


def _toy(n=23, d=13, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.float32)
    return X, y


# ---- configuration and input validation -----------------------------------------------------

def test_flamby_settings():
    assert M.flamby_config("fedadam").client_lr == 0.01 and M.flamby_config("fedadam").server_lr == 0.01
    assert M.flamby_config("fedprox").mu == 0.01
    assert M.flamby_config("fedyogi").client_lr == pytest.approx(0.003162)
    c = M.flamby_config("fedavg")
    assert (c.rounds, c.local_steps, c.batch_size, c.client_lr) == (15, 100, 4, 0.001)
    assert (M.flamby_config("pooled").epochs, M.flamby_config("pooled").lr) == (50, 0.001)


@pytest.mark.parametrize("bad, match", [
    (lambda: M.flamby_config("fedsgd"), "'fedsgd'"),
    (lambda: M.MethodConfig("fedavg", client_lr=-0.1), "client_lr"),
    (lambda: M.MethodConfig("fedavg", client_lr=float("nan")), "client_lr"),
    (lambda: M.MethodConfig("fedavg", rounds=0), "rounds"),
    (lambda: M.MethodConfig("fedavg", local_steps=2.5), "local_steps"),
    (lambda: M.MethodConfig("fedavg", mu=0.1), "mu=0.1"),
    (lambda: M.flamby_config("fedavg").with_(learning_rate=1), "learning_rate"),
])
def test_bad_configs_are_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


def test_federated_process_refuses_central_method():
    from utils.tff_learning import FederatedProcess

    with pytest.raises(ValueError, match="not federated"):
        FederatedProcess(M.flamby_config("pooled"))


# ---- metrics ------------------------------------------------------------------------------

def test_hospital_metrics_against_sklearn(split):
    from sklearn.metrics import accuracy_score, roc_auc_score

    w = initial_weights(5)
    table = C.hospital_metrics(w, split).set_index("hospital")
    for h in HOSPITALS:
        X, y = split.test[h]
        p = predict_proba(w, X)
        assert table.loc[h, "accuracy"] == pytest.approx(accuracy_score(y, p > 0.5))
        if len(np.unique(y)) == 2:
            assert table.loc[h, "auc"] == pytest.approx(roc_auc_score(y, p))
        else:
            assert math.isnan(table.loc[h, "auc"])


def test_summarize_by_hand():
    rows = [("m", s, h, acc, auc) for s, accs in ((1, (0.6, 0.8)), (2, (0.7, 0.9)))
            for h, acc, auc in zip("ab", accs, (0.5, float("nan")))]
    table = pd.DataFrame(rows, columns=["method", "seed", "hospital", "accuracy", "auc"])
    out = C.summarize(table).loc["m"]
    assert out["accuracy"] == pytest.approx(0.75)  # seeds: 0.7 and 0.8
    assert out["accuracy_std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert out["auc"] == pytest.approx(0.5)  # NaN AUC left out
    assert out["seeds"] == 2


def test_run_experiment_central_methods(split):
    cfg = {"local": M.flamby_config("local").with_(epochs=1),
           "pooled": M.flamby_config("pooled").with_(epochs=1)}
    res = C.run_experiment(split, ["local", "pooled"], [1, 2], configs=cfg, progress=False)
    assert len(res.per_hospital) == 2 * 2 * len(split.hospitals)
    assert set(res.weights[("local", 1)]) == set(split.hospitals)
    again = C.run_experiment(split, ["pooled"], [1], configs=cfg, progress=False)
    pd.testing.assert_frame_equal(again.per_hospital,
                                  res.per_hospital.query("method == 'pooled' and seed == 1")
                                  .reset_index(drop=True))


def test_encode_patient_reproduces_training_rows(split):
    from utils.data import load_raw
    from utils.flamby import flamby_clean, flamby_train_test_indices
    from utils.heart import FLAMBY_COLUMNS

    raw = load_raw("synthetic")
    for h in ("cleveland", "switzerland"):
        clean = flamby_clean(raw.frames[h])
        train_idx, _ = flamby_train_test_indices((clean["num"] > 0).to_numpy())
        record = clean.iloc[train_idx[3]][list(FLAMBY_COLUMNS)].to_dict()
        np.testing.assert_allclose(C.encode_patient(record, split, h)[0], split.train[h][0][3], atol=1e-5)
    with pytest.raises(ValueError, match="lacks"):
        C.encode_patient({"age": 50}, split, "va")


# ---- TFF agrees with the NumPy FedAvg/FedProx ------------------------------------------------

@pytest.mark.parametrize("method, mu, numpy_mu", [("fedavg", 0.0, 0.0), ("fedprox", 0.5, -0.5)])
def test_tff_matches_numpy(split, method, mu, numpy_mu):
    """TFF's FedAvg equals the NumPy one; TFF 0.87's FedProx equals it with the proximal
    term's sign flipped (TFF adds mu * (w_global - w) to the gradient)."""
    from utils.runtime import manage_tff_workers

    manage_tff_workers()
    from utils.tff_learning import get_process

    cfg = M.MethodConfig(method, rounds=2, local_steps=7, client_lr=0.05, mu=mu)
    proc = get_process(cfg)
    tff_w = proc.run(split, seed=4, shuffle=False)
    np_w = run_fedavg(split.train, 2, lr=0.05, theta0=to_theta(initial_weights(4)), mu=numpy_mu,
                      schedule=Schedule(batch_size=4, steps=7), weighting="examples").final
    np.testing.assert_allclose(to_theta(tff_w), np_w, atol=1e-5)
    assert len(proc.round_times) == 2


@pytest.mark.parametrize("config, kind, initial_v", [
    (M.MethodConfig("fedadam", rounds=3, local_steps=5, client_lr=0.05, server_lr=0.02), "adam", 0.0),
    (M.MethodConfig("fedyogi", rounds=3, local_steps=5, client_lr=0.05, server_lr=0.02), "yogi", 1e-6),
    (M.flamby_config("fedadam").with_(rounds=3, local_steps=5), "adam", 0.0),
    (M.flamby_config("fedyogi").with_(rounds=3, local_steps=5), "yogi", 0.0),
], ids=["tff-adam", "tff-yogi", "flamby-adam-no-bias-correction", "flamby-yogi-no-bias-correction"])
def test_tff_server_optimisers_equal_the_numpy_reference(split, config, kind, initial_v):
    """TFF's build_adam/build_yogi (bias-corrected, examples weighting; Yogi starts v at 1e-6) and the
    course's own TFF optimiser without bias correction (size weighting) against utils.fedcore."""
    from utils.fedcore import ServerOptimizer
    from utils.runtime import manage_tff_workers
    from utils.tff_learning import get_process

    manage_tff_workers()
    tff_w = get_process(config).run(split, seed=4, shuffle=False)
    server = ServerOptimizer(kind, config.server_lr, eps=config.tau, bias_correction=config.bias_correction,
                             initial_v=initial_v)
    np_w = run_fedavg(split.train, 3, lr=config.client_lr, theta0=to_theta(initial_weights(4)), server=server,
                      schedule=Schedule(batch_size=4, steps=5), weighting=config.weighting).final
    np.testing.assert_allclose(to_theta(tff_w), np_w, atol=1e-5)
    assert np.abs(np_w - to_theta(initial_weights(4))).max() > 1e-3  # the weights moved


def test_fine_tune_is_local_sgd_from_the_global_model(split):
    w = initial_weights(7)
    tuned = C.fine_tune(w, split, steps=6, lr=0.05, batch_size=4, seed=3)
    rng = np.random.default_rng(3)
    for h in split.hospitals:   # hospitals in order, one generator: as fine_tune promises
        X, y = split.train[h]
        order = np.concatenate([rng.permutation(len(y)) for _ in range(-(-24 // len(y)))])[:24].reshape(6, 4)
        theta = to_theta(w).astype(float)
        for idx in order:
            p = 1 / (1 + np.exp(-(X[idx] @ theta[:-1] + theta[-1])))
            theta = theta - 0.05 * np.append(X[idx].T @ (p - y[idx]), (p - y[idx]).sum()) / 4
        np.testing.assert_allclose(to_theta(tuned[h]), theta, atol=1e-5)
    assert set(tuned) == set(split.hospitals)


def test_case_study_table_cli(capsys):
    from tools import case_study_table

    assert case_study_table.main(["--seeds", "42", "43", "--methods", "local", "pooled"]) == 0
    out = capsys.readouterr().out
    assert "pooled (FLamby's settings)" in out and "0.735 [0.732, 0.739]" in out
    assert "local (FLamby's settings)" in out and "0.730 [0.694, 0.763]" in out
    assert "fedavg, shared scaling" not in out
    with pytest.raises(SystemExit):
        case_study_table.main(["--methods", "fedsgd"])
