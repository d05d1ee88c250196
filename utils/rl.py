"""A multi-armed bandit played by an ε-greedy agent, vectorised over many runs. Introduced in chapter 02.

Introduced in chapter 02 (core algorithms), where the same agent is first written out as a
plain Python loop. This version plays ``runs`` independent agents at once with NumPy so a
slider can redraw an averaged reward curve in well under a second.

Random numbers are drawn up front in a fixed order, so that with ``runs=1`` the agent sees
exactly the stream a step-by-step loop would draw from ``np.random.default_rng(seed)``:

1. ``explore = rng.random(steps)``            (explore when ``explore[t] < epsilon``)
2. ``random_arm = rng.integers(k, size=steps)`` (the arm tried when exploring)
3. ``luck = rng.random(steps)``               (reward 1 when ``luck[t] < probs[arm]``)
4. ``tiebreak = rng.random((steps, k))``      (among arms tied for the best estimate, the one with the
   largest ``tiebreak[t]``: a uniformly random one)

Ties matter: every estimate starts at 0, so before any reward all arms are tied; breaking ties
towards the lowest index would make every greedy agent start, and often stay, on arm 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import validate as v


def _check_probs(probs) -> np.ndarray:
    p = v.vector("probs", probs)
    if len(p) < 2:
        raise ValueError(f"probs must list at least 2 arm probabilities, got {probs!r}")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"every arm probability must be in [0, 1], got {probs!r}")
    return p


def _check_epsilon(epsilon) -> float:
    return v.number("epsilon", epsilon, low=0, high=1)


@dataclass(frozen=True)
class BanditResult:
    """What ``run_epsilon_greedy`` played: arrays of shape (steps, runs)."""

    probs: np.ndarray
    epsilon: float
    actions: np.ndarray
    rewards: np.ndarray

    @property
    def best_arm(self) -> int:
        return int(np.argmax(self.probs))

    def mean_reward_curve(self) -> np.ndarray:
        """Average reward at each step over the runs (shape (steps,))."""
        return self.rewards.mean(axis=1)

    def best_arm_share(self) -> np.ndarray:
        """Share of runs pulling the best arm at each step (shape (steps,))."""
        return (self.actions == self.best_arm).mean(axis=1)


def run_epsilon_greedy(probs, epsilon: float, steps: int = 1000, runs: int = 1,
                       seed: int = 0) -> BanditResult:
    """Play ``runs`` independent ε-greedy agents for ``steps`` pulls on Bernoulli arms ``probs``.

    Each agent keeps a value estimate per arm (the mean reward seen so far, updated
    incrementally ``Q += (r - Q) / n``) starting at 0; with probability ``epsilon`` it tries a
    random arm, otherwise the arm with the highest estimate (ties broken uniformly at random).
    """
    p = _check_probs(probs)
    epsilon = _check_epsilon(epsilon)
    steps = v.integer("steps", steps, 1)
    runs = v.integer("runs", runs, 1)
    v.budget("run_epsilon_greedy", steps * runs, v.MAX_STEPS, "pulls")
    seed = v.seed("seed", seed)
    k = len(p)
    rng = np.random.default_rng(seed)
    explore = rng.random((steps, runs)) < epsilon
    random_arm = rng.integers(k, size=(steps, runs))
    luck = rng.random((steps, runs))
    tiebreak = rng.random((steps, runs, k))

    values = np.zeros((runs, k))
    counts = np.zeros((runs, k))
    actions = np.empty((steps, runs), dtype=np.int64)
    rewards = np.empty((steps, runs))
    rows = np.arange(runs)
    for t in range(steps):
        tied = values == values.max(axis=1, keepdims=True)
        arm = np.where(explore[t], random_arm[t], np.where(tied, tiebreak[t], -1.0).argmax(axis=1))
        reward = (luck[t] < p[arm]).astype(float)
        counts[rows, arm] += 1
        values[rows, arm] += (reward - values[rows, arm]) / counts[rows, arm]
        actions[t], rewards[t] = arm, reward
    return BanditResult(probs=p, epsilon=epsilon, actions=actions, rewards=rewards)


def long_run_reward(probs, epsilon: float) -> float:
    """Expected reward per step once the agent has found the best arm.

    It exploits the best arm with probability 1 - ε and pulls a uniformly random arm
    with probability ε: ``(1 - ε) · max(p) + ε · mean(p)``.
    """
    p = _check_probs(probs)
    epsilon = _check_epsilon(epsilon)
    return float((1 - epsilon) * p.max() + epsilon * p.mean())
