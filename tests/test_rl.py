"""Tests for utils.rl: the vectorised ε-greedy bandit against a plain step-by-step loop."""
import numpy as np
import pytest

from utils import rl

PROBS = [0.3, 0.45, 0.55, 0.7, 0.5]


def loop_agent(probs, epsilon, steps, seed):
    """An independent, one-pull-at-a-time ε-greedy agent drawing the same random stream."""
    rng = np.random.default_rng(seed)
    explore = rng.random(steps)
    random_arm = rng.integers(len(probs), size=steps)
    luck = rng.random(steps)
    tiebreak = rng.random((steps, len(probs)))
    q, n = [0.0] * len(probs), [0] * len(probs)
    actions, rewards = [], []
    for t in range(steps):
        # among the arms with the best estimate, the one with the largest tie-break draw
        arm = int(random_arm[t]) if explore[t] < epsilon else max(range(len(q)), key=lambda a: (q[a], tiebreak[t][a]))
        r = 1.0 if luck[t] < probs[arm] else 0.0
        n[arm] += 1
        q[arm] = sum(rr for aa, rr in zip(actions + [arm], rewards + [r]) if aa == arm) / n[arm]
        actions.append(arm)
        rewards.append(r)
    return np.array(actions), np.array(rewards)


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5, 1.0])
def test_matches_loop(epsilon):
    res = rl.run_epsilon_greedy(PROBS, epsilon, steps=300, runs=1, seed=7)
    actions, rewards = loop_agent(PROBS, epsilon, 300, seed=7)
    np.testing.assert_array_equal(res.actions[:, 0], actions)
    np.testing.assert_array_equal(res.rewards[:, 0], rewards)


def test_shapes_and_statistics():
    res = rl.run_epsilon_greedy(PROBS, 1.0, steps=400, runs=500, seed=1)
    assert res.rewards.shape == res.actions.shape == (400, 500)
    # a purely random agent earns the mean arm probability
    assert abs(res.rewards.mean() - np.mean(PROBS)) < 0.01
    assert abs(res.best_arm_share().mean() - 1 / len(PROBS)) < 0.01
    good = rl.run_epsilon_greedy(PROBS, 0.1, steps=2000, runs=300, seed=2)
    tail = good.mean_reward_curve()[-500:].mean()
    assert abs(tail - rl.long_run_reward(PROBS, 0.1)) < 0.02
    assert good.best_arm == 3


def test_greedy_gets_stuck_on_first_arm_that_pays():
    res = rl.run_epsilon_greedy([0.9, 0.95], 0.0, steps=200, runs=400, seed=0)
    first = res.actions[0]  # a random arm: every estimate starts tied at 0
    # whichever arm paid first keeps an estimate above the untried arm's 0: the agent never switches
    paid_first = res.rewards[0] == 1
    assert (res.actions[-1][paid_first] == first[paid_first]).all()
    # ties are broken at random, not towards arm 0
    assert 0.4 < (first == 0).mean() < 0.6


def test_long_run_reward():
    assert rl.long_run_reward(PROBS, 0.0) == pytest.approx(0.7)
    assert rl.long_run_reward(PROBS, 1.0) == pytest.approx(np.mean(PROBS))
    assert rl.long_run_reward(PROBS, 0.2) == pytest.approx(0.8 * 0.7 + 0.2 * np.mean(PROBS))


@pytest.mark.parametrize("kwargs, bad", [
    (dict(probs=[0.5]), "[0.5]"), (dict(probs=[0.2, 1.5]), "1.5"), (dict(probs="ab"), "probs"),
    (dict(epsilon=-0.1), "-0.1"), (dict(epsilon=True), "True"), (dict(steps=0), "0"),
    (dict(runs=2.5), "2.5"), (dict(seed=-1), "-1"),
])
def test_bad_input_names_value(kwargs, bad):
    args = dict(probs=PROBS, epsilon=0.1, steps=10, runs=2, seed=0) | kwargs
    with pytest.raises((ValueError, TypeError), match=bad.replace("[", r"\[").replace("]", r"\]")):
        rl.run_epsilon_greedy(**args)
    with pytest.raises((ValueError, TypeError)):
        rl.long_run_reward(PROBS, 2)
