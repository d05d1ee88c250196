"""Client-level differential privacy (DP-FedAvg) and a federation large enough for it. Introduced in chapter 06.

Record-level DP (``utils.dpsgd``) protects each *patient* inside a hospital. Client-level DP
(McMahan et al., ICLR 2018) protects each *participant*: whether a whole hospital or clinic took
part at all. The server

1. samples a cohort of clients (``poisson_cohort``: each joins with probability q, which is what
   ``utils.accounting.poisson_epsilon`` assumes; ``fixed_cohort``: exactly m, which needs
   ``fixed_size_epsilon`` instead);
2. clips each update to norm C, sums, adds N(0, (σC)² I), and divides by the *expected* cohort
   size (a fixed denominator, as TFF's ``DifferentiallyPrivateFactory.gaussian_fixed``):
   ``ClientDP.aggregate``, which plugs into ``run_fedavg(aggregate=...)``.

The noise on the average is σC / (expected cohort): with 4 hospitals it is a quarter of σC, with
a cohort of 40 clinics a fortieth. ``twin_clinics`` splits patients drawn from the synthetic
twin's four hospitals into many small clinics, to measure where client-level DP starts to work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v

__all__ = ["ClientDP", "poisson_cohort", "fixed_cohort", "ClinicFederation", "twin_clinics"]


class ClientDP:
    """Clip, sum, add Gaussian noise, divide by the expected cohort size: DP-FedAvg's aggregator.

    ``clip`` C, ``noise_multiplier`` σ, ``expected_clients`` the fixed denominator, ``seed`` seeds
    the noise (the aggregator keeps its own random generator, so runs are repeatable). ``shares``
    are ignored: every client counts equally (a size weight would leak the size, and unbounded
    weights would break the sensitivity bound).
    """

    def __init__(self, clip: float, noise_multiplier: float, expected_clients: float, seed: int = 0):
        self.clip = v.positive("clip", clip)
        self.noise_multiplier = v.nonneg("noise_multiplier", noise_multiplier)
        self.expected_clients = v.positive("expected_clients", expected_clients)
        self.rng = np.random.default_rng([v.seed("seed", seed), 60])
        self.clipped = []  # per round: how many updates the clipping shortened

    def aggregate(self, updates, shares) -> np.ndarray:
        """(Σ_k clip(u_k) + N(0, (σC)² I)) / expected_clients; ``updates`` may have zero rows."""
        U = v.array("updates", updates)
        if U.ndim != 2:
            raise ValueError(f"updates must be 2-D (clients × parameters), got shape {U.shape}")
        v.finite("updates", U)
        v.array("shares", shares)
        norms = np.linalg.norm(U, axis=1)
        self.clipped.append(int((norms > self.clip).sum()))
        total = (U * np.minimum(1.0, self.clip / np.maximum(norms, 1e-300))[:, None]).sum(axis=0)
        noise = self.rng.normal(0.0, self.noise_multiplier * self.clip, U.shape[1])
        return (total + noise) / self.expected_clients


def poisson_cohort(rate: float):
    """A ``run_fedavg(cohort=...)``: every client joins each round independently with probability ``rate``."""
    rate = v.number("rate", rate, low=0, high=1, low_open=True)
    return lambda rng, K: np.flatnonzero(rng.random(K) < rate)


def fixed_cohort(size: int):
    """A ``run_fedavg(cohort=...)``: exactly ``size`` clients each round, drawn without replacement."""
    size = v.integer("size", size, 1)

    def cohort(rng, K):
        if size > K:
            raise ValueError(f"size={size} but there are only {K} clients")
        return np.sort(rng.choice(K, size=size, replace=False))
    return cohort


@dataclass
class ClinicFederation:
    """Many small clinics cut from the twin's four hospitals.

    ``train[clinic] = (X, y)``; ``test[hospital] = (X, y)`` (each twin hospital's test rows);
    ``hospital_of[clinic]``; ``bayes_accuracy[hospital]``: the twin's true model's expected accuracy
    on that hospital's test rows (the ceiling); scaled with the pooled training statistics.
    """

    train: dict
    test: dict
    hospital_of: dict
    bayes_accuracy: dict
    feature_names: list


def twin_clinics(clinics_per_hospital: int = 40, patients_per_hospital: int = 1500, seed: int = 0) -> ClinicFederation:
    """Draw ``patients_per_hospital`` twin patients per hospital, apply FLamby's preprocessing
    (66/34 train/test split, one-hot, standardisation with the pooled training statistics), and
    deal each hospital's training rows at random into ``clinics_per_hospital`` clinics."""
    from utils.flamby import flamby_clean, flamby_split, flamby_train_test_indices
    from utils.heart import FLAMBY_COLUMNS, RawHeartData
    from utils.twin import HeartDiseaseTwin

    k = v.integer("clinics_per_hospital", clinics_per_hospital, 1, 10_000)
    n = v.integer("patients_per_hospital", patients_per_hospital, 10, 1_000_000)
    seed = v.seed("seed", seed)
    twin = HeartDiseaseTwin()
    frames = twin.sample(n, seed=seed)
    split = flamby_split(RawHeartData(frames=frames, source="synthetic"), standardize="pooled")
    rng = np.random.default_rng([seed, 61])
    train, hospital_of, bayes = {}, {}, {}
    for h in split.hospitals:
        X, y = split.train[h]
        if len(y) < 2 * k:
            raise ValueError(f"{h} has {len(y)} training rows, too few for {k} clinics; draw more patients")
        for i, rows in enumerate(np.array_split(rng.permutation(len(y)), k)):
            train[f"{h}-{i:03d}"] = (X[rows], y[rows])
            hospital_of[f"{h}-{i:03d}"] = h
        clean = flamby_clean(frames[h])
        _, test_rows = flamby_train_test_indices((clean["num"] > 0).to_numpy())
        bayes[h] = twin.bayes_accuracy({h: clean.iloc[test_rows]}, columns=list(FLAMBY_COLUMNS))
    return ClinicFederation(train=train, test=dict(split.test), hospital_of=hospital_of, bayes_accuracy=bayes,
                            feature_names=list(split.feature_names))
