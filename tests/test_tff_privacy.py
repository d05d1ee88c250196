"""utils.tff_privacy: the TFF DP-SGD client work and TFF's DP, clipping and secure-sum aggregators,
each against the NumPy reference of the course (utils.dpsgd, utils.client_dp, utils.robust)."""
import numpy as np
import pytest

from utils import tff_privacy
from utils.client_dp import ClientDP
from utils.dpsgd import DPSGD
from utils.fedcore import run_fedavg
from utils.local_training import Schedule
from utils.robust import norm_clipped_mean

STEPS = 3


@pytest.fixture(scope="module")
def split():
    from utils.data import load_heart_disease

    return load_heart_disease("synthetic").restandardize("pooled")


@pytest.fixture(autouse=True)
def _worker_outside_capture(capsys):
    """TFF's worker inherits stdout: start it once outside pytest's capture."""
    with capsys.disabled():
        import tensorflow_federated as tff

        from utils.runtime import manage_tff_workers

        manage_tff_workers()
        tff.federated_computation(lambda: 1.0)()
    yield


@pytest.fixture(scope="module")
def dp_parts(split):
    model_fn = tff_privacy.logistic_model_fn(len(split.feature_names))
    work = tff_privacy.dp_sgd_client_work(model_fn, DPSGD(1.0, 1.0, 0.2, STEPS, 0.1), len(split.feature_names))
    return model_fn, work, tff_privacy.build_dp_sgd_process(model_fn, work)


def test_dp_sgd_in_tff_equals_numpy_without_noise(split, dp_parts):
    _, _, process = dp_parts
    theta0 = np.linspace(-0.3, 0.3, len(split.feature_names) + 1)
    for clip in (100.0, 0.05):
        dp = DPSGD(clip=clip, noise_multiplier=0.0, sampling_rate=1.0, steps=STEPS, lr=0.2)
        state = tff_privacy.with_dp_settings(process, tff_privacy.set_global_weights(process, process.initialize(), theta0), dp)
        assert dict(process.get_hparams(state)["client_work"]) == pytest.approx(
            {"clip": clip, "noise_multiplier": 0.0, "sampling_rate": 1.0, "lr": 0.2})
        for r in range(2):
            state = process.next(state, tff_privacy.dp_client_data(split.train, r)).state
        reference = run_fedavg(split.train, 2, lr=0.2, theta0=theta0, client_update=dp.client_update).final
        assert np.abs(tff_privacy.global_weights(process, state) - reference).max() < 1e-5
        assert np.abs(reference - theta0).max() > 1e-3  # the model moved: agreement is not trivial


def test_dp_sgd_noise_in_tff_has_the_advertised_size(split, dp_parts):
    _, work, process = dp_parts
    dp = DPSGD(clip=0.5, noise_multiplier=2.0, sampling_rate=1e-9, steps=STEPS, lr=0.1)
    settings = {k: np.float32(getattr(dp, k)) for k in ("clip", "noise_multiplier", "sampling_rate", "lr")}
    state = work.set_hparams(work.initialize(), settings)
    X, y = split.train["cleveland"]
    copies = [(X, y)] * 60
    weights = [process.get_model_weights(process.initialize())] * len(copies)
    results = work.next(state, weights, tff_privacy.dp_client_data(copies, 3)).result
    expected = dp.lr * dp.noise_multiplier * dp.clip * np.sqrt(STEPS) / (dp.sampling_rate * len(y))
    z = np.concatenate([np.concatenate([np.ravel(u) for u in r.update]) for r in results]) / expected
    assert abs(z.std() - 1) < 0.08 and abs(z.mean()) < 0.1
    assert all(np.isclose(float(r.update_weight), len(y)) for r in results)


def test_client_level_dp_process_equals_numpy_without_noise(split):
    import tensorflow as tf

    model_fn = tff_privacy.logistic_model_fn(len(split.feature_names))
    clip, lr = 0.05, 0.05
    process = tff_privacy.build_client_dp_process(model_fn, 0.0, clients_per_round=4, clip=clip, client_lr=lr)
    theta0 = np.linspace(0.2, -0.2, len(split.feature_names) + 1)
    state = tff_privacy.set_global_weights(process, process.initialize(), theta0)
    data = [tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)[:, None])).batch(4)
            for X, y in split.train.values()]
    for _ in range(2):
        state = process.next(state, data).state
    reference = run_fedavg(split.train, 2, lr=lr, theta0=theta0, schedule=Schedule(batch_size=4, epochs=1),
                           aggregate=ClientDP(clip, 0.0, 4).aggregate).final
    assert np.abs(tff_privacy.global_weights(process, state) - reference).max() < 1e-5


def test_tff_mean_and_clipping_aggregators_equal_numpy():
    import tensorflow_federated as tff

    rng = np.random.default_rng(0)
    U, w = rng.normal(size=(4, 6)), np.array([10.0, 20.0, 5.0, 1.0])
    mean = tff_privacy.aggregate_in_tff(tff.aggregators.MeanFactory(), U, w)[0]
    assert np.allclose(mean, w @ U / w.sum(), atol=1e-6)
    clipped = tff_privacy.aggregate_in_tff(tff.aggregators.clipping_factory(0.7, tff.aggregators.MeanFactory()), U, w)[0]
    assert np.allclose(clipped, norm_clipped_mean(U, w, 0.7), atol=1e-6)
    with pytest.raises(ValueError, match="weights is None"):
        tff_privacy.aggregate_in_tff(tff.aggregators.MeanFactory(), U)


def test_secure_sum_runs_in_the_test_context_and_clips_to_its_bound(capsys):
    import tensorflow_federated as tff

    rng = np.random.default_rng(1)
    U, w = rng.normal(size=(3, 5)), np.array([2.0, 3.0, 4.0])
    factory = tff.aggregators.MeanFactory(value_sum_factory=tff.aggregators.SecureSumFactory(1.0, -1.0),
                                          weight_sum_factory=tff.aggregators.SecureSumFactory(100.0, 0.0))
    with capsys.disabled(), tff_privacy.test_context():  # the test context starts its own worker
        out = tff_privacy.aggregate_in_tff(factory, U, w)[0]
    expected = np.clip(w[:, None] * U, -1.0, 1.0).sum(axis=0) / w.sum()
    assert np.allclose(out, expected, atol=1e-6)
    assert np.abs(expected - w @ U / w.sum()).max() > 1e-2  # the bound did clip
