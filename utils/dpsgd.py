"""Record-level differential privacy inside a client: DP-SGD in NumPy. Introduced in chapter 06.

DP-SGD (Abadi et al., 2016) changes one thing in each step of local training: the gradient of a
batch is replaced by a *noisy clipped sum*.

1. **Poisson sampling**: every row joins the step's batch independently with probability ``q``
   (the batch size varies; the privacy accountant of ``utils.accounting`` assumes exactly this);
2. **per-example clipping**: each row's gradient g_i is scaled to norm at most C:
   g_i · min(1, C / ‖g_i‖), so no single patient can move the sum by more than C;
3. **Gaussian noise**: N(0, (σC)² I) is added to the sum of clipped gradients;
4. the result is divided by the *expected* batch size q·n (a fixed denominator, as TF Privacy
   and Opacus do, so the batch size itself leaks nothing) and used as the gradient.

``DPSGD`` holds the settings and gives ``client_update`` for ``utils.fedcore.run_fedavg(
client_update=...)``: every hospital runs DP-SGD on its own rows; the server only sees models
that already went through the noise. ``utils.tff_privacy`` builds the same client work in TFF and
the chapter checks the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v

__all__ = ["clip_rows", "noisy_clipped_sum", "logistic_example_gradients", "DPSGD", "mean_per_centre_accuracy",
           "dp_fedavg_accuracy"]


def clip_rows(G, clip: float) -> np.ndarray:
    """Each row g_i of ``G`` scaled by min(1, clip / ‖g_i‖): per-example clipping to norm ``clip``."""
    G = v.array("G", G)
    if G.ndim != 2:
        raise ValueError(f"G must be 2-dimensional (one gradient per row), got shape {G.shape}")
    v.finite("G", G)
    clip = v.positive("clip", clip)
    return _clip(G, clip)


def _clip(G, clip):
    norms = np.sqrt(np.einsum("ij,ij->i", G, G))
    return G * np.minimum(1.0, clip / np.maximum(norms, 1e-300))[:, None]


def noisy_clipped_sum(G, clip: float, noise_multiplier: float, rng) -> np.ndarray:
    """Σ_i clip(g_i) + N(0, (noise_multiplier · clip)² I): the privatised sum of DP-SGD.
    ``G`` may have zero rows (an empty Poisson batch): then only the noise is returned."""
    G = v.array("G", G)
    if G.ndim != 2:
        raise ValueError(f"G must be 2-dimensional (one gradient per row), got shape {G.shape}")
    v.finite("G", G)
    clip, sigma = v.positive("clip", clip), v.nonneg("noise_multiplier", noise_multiplier)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be np.random.default_rng(...), got {rng!r}")
    return _clip(G, clip).sum(axis=0) + rng.normal(0.0, sigma * clip, G.shape[1])


def logistic_example_gradients(theta, X, y) -> np.ndarray:
    """One gradient per row for logistic regression: (σ(x_i·w + b) − y_i) · (x_i, 1), shape (n, d+1)."""
    X, y = v.xy(X, y, labels01=True)
    theta = v.vector("theta", theta, X.shape[1] + 1)
    return _example_gradients(theta, X, y)


def _example_gradients(theta, X, y):
    err = 0.5 * (1.0 + np.tanh(0.5 * (X @ theta[:-1] + theta[-1]))) - y
    return np.hstack([X * err[:, None], err[:, None]])


@dataclass(frozen=True)
class DPSGD:
    """DP-SGD settings of a client's local training (record-level privacy).

    ``clip`` C, ``noise_multiplier`` σ (noise std σC on the sum), ``sampling_rate`` q (Poisson),
    ``steps`` local steps per round, ``lr`` the client's learning rate. σ = 0 keeps clipping and
    sampling but adds no noise (the control that isolates the noise's cost).
    """

    clip: float = 1.0
    noise_multiplier: float = 1.0
    sampling_rate: float = 0.2
    steps: int = 5
    lr: float = 0.1

    def __post_init__(self):
        v.positive("clip", self.clip)
        v.nonneg("noise_multiplier", self.noise_multiplier)
        v.number("sampling_rate", self.sampling_rate, low=0, high=1, low_open=True)
        v.integer("steps", self.steps, 1, 100_000)
        v.positive("lr", self.lr)

    def total_steps(self, rounds: int) -> int:
        """How many noisy steps each client takes in ``rounds`` rounds (what the accountant composes)."""
        return v.integer("rounds", rounds, 0, 10_000_000) * self.steps

    def client_update(self, theta, X, y, rng) -> np.ndarray:
        """``steps`` DP-SGD steps of logistic regression on (X, y) from ``theta``; the local model.
        The signature of ``run_fedavg(client_update=...)``."""
        X, y = v.xy(X, y, labels01=True)
        theta = v.vector("theta", theta, X.shape[1] + 1).copy()
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be np.random.default_rng(...), got {rng!r}")
        denominator = self.sampling_rate * len(y)
        for _ in range(self.steps):
            rows = rng.random(len(y)) < self.sampling_rate
            G = _example_gradients(theta, X[rows], y[rows])
            noisy = _clip(G, self.clip).sum(axis=0) + rng.normal(0.0, self.noise_multiplier * self.clip, len(theta))
            theta = theta - self.lr * noisy / denominator
        return theta


def mean_per_centre_accuracy(theta, clients) -> float:
    """Accuracy of ``theta`` on each client's rows, averaged over clients (each counts equally)."""
    from utils.fedcore import evaluate

    return float(np.mean(evaluate(theta, clients)["client_accuracy"]))


def dp_fedavg_accuracy(split, dp: DPSGD, rounds: int = 15, seeds=(42, 43, 44)) -> np.ndarray:
    """Mean per-centre test accuracy of FedAvg with DP-SGD at every hospital (``dp``), one value per
    seed (the seed draws the initial model, the Poisson batches and the noise). ``split`` is a
    ``FederatedSplit``: trained on ``split.train``, scored on ``split.test``."""
    from utils.fedcore import run_fedavg
    from utils.flamby import FederatedSplit
    from utils.models import initial_weights, to_theta

    if not isinstance(split, FederatedSplit):
        raise TypeError(f"split must be a FederatedSplit, got {type(split).__name__}")
    if not isinstance(dp, DPSGD):
        raise TypeError(f"dp must be a DPSGD, got {type(dp).__name__}")
    rounds = v.integer("rounds", rounds, 1, 10_000)
    if isinstance(seeds, (int, np.integer)) or not isinstance(seeds, (list, tuple, range)) or not seeds:
        raise TypeError(f"seeds must be a non-empty list of seeds, got {seeds!r}")
    seeds = [v.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    d = len(split.feature_names)
    return np.array([mean_per_centre_accuracy(
        run_fedavg(split.train, rounds, lr=dp.lr, theta0=to_theta(initial_weights(s, d)), seed=s,
                   client_update=dp.client_update).final, split.test) for s in seeds])
