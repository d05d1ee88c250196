"""Client-level DP (utils.client_dp): the aggregator against hand computations, the cohorts' sampling
rates, and the twin clinics against the split they come from."""
import numpy as np
import pytest

from utils.client_dp import ClientDP, fixed_cohort, poisson_cohort, twin_clinics
from utils.fedcore import run_fedavg

U = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])


def test_aggregate_clips_sums_and_divides_by_the_expected_cohort():
    agg = ClientDP(clip=1.0, noise_multiplier=0.0, expected_clients=5)
    assert np.allclose(agg.aggregate(U, np.ones(3) / 3), ([0.6, 0.8] + U[1]) / 5)
    assert agg.clipped == [1]
    assert np.allclose(agg.aggregate(np.zeros((0, 2)), np.zeros(0)), 0.0)


def test_noise_has_std_sigma_c_over_the_expected_cohort():
    agg = ClientDP(clip=0.5, noise_multiplier=2.0, expected_clients=4, seed=3)
    draws = np.array([agg.aggregate(np.zeros((4, 100)), np.ones(4)) for _ in range(100)])
    assert abs(draws.std() / (2.0 * 0.5 / 4) - 1) < 0.03
    again = ClientDP(clip=0.5, noise_multiplier=2.0, expected_clients=4, seed=3)
    assert np.array_equal(again.aggregate(np.zeros((4, 100)), np.ones(4)), draws[0])


def test_cohorts_sample_at_their_rates():
    rng = np.random.default_rng(0)
    sizes = [len(poisson_cohort(0.1)(rng, 400)) for _ in range(300)]
    assert abs(np.mean(sizes) - 40) < 1.5 and np.std(sizes) > 3  # Poisson: the size varies
    chosen = [fixed_cohort(40)(rng, 400) for _ in range(50)]
    assert all(len(c) == 40 == len(set(c.tolist())) for c in chosen)
    with pytest.raises(ValueError, match="only 3"):
        fixed_cohort(5)(rng, 3)


def test_full_participation_without_noise_or_binding_clip_is_unweighted_fedavg():
    rng = np.random.default_rng(1)
    clients = [(rng.normal(size=(n, 2)), (rng.random(n) < 0.5).astype(float)) for n in (5, 9, 14)]
    agg = ClientDP(clip=1e9, noise_multiplier=0.0, expected_clients=3)
    ours = run_fedavg(clients, 3, lr=0.2, aggregate=agg.aggregate).final
    assert np.allclose(ours, run_fedavg(clients, 3, lr=0.2, weighting="uniform").final)


def test_twin_clinics_partition_the_twin_hospitals_training_rows():
    from utils.flamby import flamby_split
    from utils.heart import RawHeartData
    from utils.twin import HeartDiseaseTwin

    fed = twin_clinics(clinics_per_hospital=5, patients_per_hospital=200, seed=4)
    split = flamby_split(RawHeartData(frames=HeartDiseaseTwin().sample(200, seed=4), source="synthetic"),
                         standardize="pooled")
    assert len(fed.train) == 20 and set(fed.hospital_of.values()) == set(split.hospitals)
    for h in split.hospitals:
        mine = np.vstack([fed.train[c][0] for c in fed.train if fed.hospital_of[c] == h])
        X = split.train[h][0]
        assert len(mine) == len(X)
        assert np.allclose(np.sort(mine, axis=0), np.sort(X, axis=0))
        assert np.array_equal(fed.test[h][0], split.test[h][0])
        assert 0.5 < fed.bayes_accuracy[h] < 1.0
