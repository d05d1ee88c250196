"""Privacy accounting (utils.accounting) against the exact Gaussian mechanism, published numbers and
the monotonicity any accountant must have."""
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from utils.accounting import fixed_size_epsilon, noise_for_epsilon, poisson_epsilon, wbk_fixed_size_rdp


def exact_gaussian_epsilon(mu, delta):
    """ε of a Gaussian mechanism whose privacy loss has parameter μ = sensitivity/σ·√T (Balle & Wang, 2018)."""
    f = lambda eps: norm.cdf(mu / 2 - eps / mu) - math.exp(eps) * norm.cdf(-mu / 2 - eps / mu) - delta  # noqa: E731
    return brentq(f, 0.0, 200.0)


@pytest.mark.parametrize("sigma, steps", [(2.0, 15), (8.0, 50), (15.0, 15)])
def test_without_sampling_pld_is_the_exact_gaussian_and_rdp_bounds_it(sigma, steps):
    exact = exact_gaussian_epsilon(math.sqrt(steps) / sigma, 1e-5)
    pld = poisson_epsilon(sigma, 1.0, steps, 1e-5, "pld")
    rdp = poisson_epsilon(sigma, 1.0, steps, 1e-5, "rdp")
    assert exact <= pld <= exact * 1.01 + 1e-3
    assert rdp >= exact


def test_fixed_size_with_everyone_sampled_is_a_gaussian_with_sensitivity_two():
    exact = exact_gaussian_epsilon(2 * math.sqrt(10) / 6.0, 1e-5)  # replace-one: the clipped sum moves by 2C
    assert fixed_size_epsilon(6.0, 50, 50, 10, 1e-5) >= exact
    assert fixed_size_epsilon(6.0, 50, 50, 10, 1e-5) <= exact * 1.3


def test_known_values_for_dp_sgd():
    # Measured on this stack (../shared/STACK-NOTES.md): σ = 1, q = 0.2, 75 steps, δ = 1e-5.
    assert poisson_epsilon(1.0, 0.2, 75, 1e-5) == pytest.approx(13.78, abs=0.01)
    assert poisson_epsilon(1.0, 0.2, 75, 1e-5, "pld") == pytest.approx(12.46, abs=0.02)


def test_epsilon_falls_with_noise_and_rises_with_steps_and_sampling():
    eps = [poisson_epsilon(s, 0.1, 30, 1e-5) for s in (0.8, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(eps, eps[1:]))
    assert poisson_epsilon(2.0, 0.1, 60, 1e-5) > poisson_epsilon(2.0, 0.1, 30, 1e-5)
    assert poisson_epsilon(2.0, 0.2, 30, 1e-5) > poisson_epsilon(2.0, 0.1, 30, 1e-5)


def test_pld_is_tighter_than_rdp_for_poisson_sampling():
    for sigma in (0.7, 1.5, 5.0):
        assert poisson_epsilon(sigma, 0.05, 100, 1e-5, "pld") <= poisson_epsilon(sigma, 0.05, 100, 1e-5, "rdp")


def test_theorem_9_bounds_dp_accountings_theorem_27_at_every_order():
    from dp_accounting.rdp.rdp_privacy_accountant import _compute_rdp_sample_wor_gaussian

    orders = np.arange(2, 64)
    for sigma, gamma in ((0.5, 0.1), (1.5, 0.05), (3.0, 0.3)):
        ours = wbk_fixed_size_rdp(sigma, gamma, orders)
        theirs = _compute_rdp_sample_wor_gaussian(gamma, sigma, orders)
        assert (ours >= theirs - 1e-9).all()
        assert (ours <= theirs * 3 + 1e-9).all()  # a looser bound (no forward differences), not a different one
    assert (np.diff(wbk_fixed_size_rdp(1.0, 0.1, orders)) >= 0).all()  # RDP grows with the order


def test_fixed_size_routes_agree_and_exceed_poisson_at_the_same_sigma():
    for sigma in (1.0, 3.0):
        rdp = fixed_size_epsilon(sigma, 40, 400, 30, 1e-5)
        wbk = fixed_size_epsilon(sigma, 40, 400, 30, 1e-5, "wbk")
        assert rdp <= wbk <= rdp * 1.05
        assert rdp > poisson_epsilon(sigma, 0.1, 30, 1e-5)


def test_noise_for_epsilon_is_the_smallest_sufficient_noise():
    sigma = noise_for_epsilon(2.0, 0.2, 75, 1e-5, tolerance=1e-3)
    assert poisson_epsilon(sigma, 0.2, 75, 1e-5) <= 2.0
    assert poisson_epsilon(sigma - 2e-3, 0.2, 75, 1e-5) > 2.0
    with pytest.raises(ValueError, match="larger"):
        noise_for_epsilon(1e-6, 1.0, 1000, 1e-5)
