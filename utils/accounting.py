"""Privacy accounting: the ε of a run, with the accountant that matches how it sampled. Introduced in chapter 06.

A run that adds Gaussian noise of std σ·C to sums of contributions clipped to norm C is
(ε, δ)-differentially private; ε depends on σ, on how many noisy steps were released, and on how
each step chose whose contributions it summed. Two sampling schemes, two different analyses:

* **Poisson sampling** (every record, or every client, joins a step independently with probability
  q; the batch size varies): neighbouring data sets differ by *adding or removing* one record, and
  the clipped sum moves by at most C. ``poisson_epsilon`` accounts for it with Rényi DP (Mironov
  2017; Mironov, Talwar & Zhang 2019) or with privacy-loss distributions (PLD; Koskela et al. 2020,
  Doroshenko et al. 2022), both from Google's ``dp_accounting``; PLD is tighter.
* **Fixed-size sampling without replacement** (exactly m of N clients per round, as TFF simulations
  usually pick them): the analysis that exists (Wang, Balle & Kasiviswanathan, AISTATS 2019) is for
  neighbours that differ by *replacing* one client, where the clipped sum moves by up to **2C**, so
  the effective noise multiplier is σ/2. ``fixed_size_epsilon`` uses ``dp_accounting``'s RDP
  accountant for it (their Theorem 27), or this module's own implementation of their simpler
  general bound (Theorem 9) as a second, independent route. ``dp_accounting`` has no PLD for this case.

δ is the probability mass allowed to escape the ε bound; keep it well below 1/(number of records
or clients protected).
"""
from __future__ import annotations

import math

import numpy as np

from utils import validate as v

__all__ = ["poisson_epsilon", "fixed_size_epsilon", "wbk_fixed_size_rdp", "noise_for_epsilon"]

ACCOUNTANTS = ("rdp", "pld")
_ORDERS = tuple(range(2, 257))


def _delta(delta):
    return v.number("delta", delta, low=0, high=1, low_open=True, high_open=True)


def poisson_epsilon(noise_multiplier: float, sampling_rate: float, steps: int, delta: float,
                    accountant: str = "rdp") -> float:
    """ε after ``steps`` releases of a Poisson-sampled Gaussian sum (sampling probability q,
    noise std σ·C on a sum of contributions clipped to C), add/remove-one neighbours.
    ``sampling_rate=1`` is every record (client) in every step: no amplification."""
    import dp_accounting

    sigma = v.positive("noise_multiplier", noise_multiplier)
    q = v.number("sampling_rate", sampling_rate, low=0, high=1, low_open=True)
    steps = v.integer("steps", steps, 1, 10_000_000)
    delta = _delta(delta)
    v.choice("accountant", accountant, ACCOUNTANTS)
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps)
    if accountant == "rdp":
        acc = dp_accounting.rdp.RdpAccountant()
    else:
        acc = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
    return float(acc.compose(event).get_epsilon(delta))


def fixed_size_epsilon(noise_multiplier: float, sample_size: int, population: int, steps: int, delta: float,
                       accountant: str = "rdp") -> float:
    """ε after ``steps`` rounds that each sum the clipped contributions of exactly ``sample_size``
    of ``population`` clients, drawn without replacement, plus noise σ·C; replace-one neighbours
    (sensitivity 2C, so the Gaussian's multiplier is σ/2). ``accountant``: "rdp" (dp_accounting,
    Wang et al.'s Theorem 27) or "wbk" (their general Theorem 9, ``wbk_fixed_size_rdp``)."""
    import dp_accounting
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    sigma = v.positive("noise_multiplier", noise_multiplier)
    population = v.integer("population", population, 1, 10**9)
    sample_size = v.integer("sample_size", sample_size, 1, population)
    steps = v.integer("steps", steps, 1, 10_000_000)
    delta = _delta(delta)
    v.choice("accountant", accountant, ("rdp", "wbk"))
    if accountant == "wbk":
        rdp = steps * wbk_fixed_size_rdp(sigma / 2, sample_size / population, _ORDERS)
        return float(compute_epsilon(_ORDERS, rdp, delta)[0])
    acc = dp_accounting.rdp.RdpAccountant(neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    event = dp_accounting.SelfComposedDpEvent(dp_accounting.SampledWithoutReplacementDpEvent(
        population, sample_size, dp_accounting.GaussianDpEvent(sigma / 2)), steps)
    return float(acc.compose(event).get_epsilon(delta))


def wbk_fixed_size_rdp(noise_multiplier: float, sampling_rate: float, orders=_ORDERS) -> np.ndarray:
    """Rényi DP of one round of a Gaussian mechanism (std = ``noise_multiplier`` × its replace-one
    sensitivity) applied to a uniformly drawn subset of a fraction γ = ``sampling_rate``, at integer
    ``orders`` α ≥ 2: Theorem 9 of Wang, Balle & Kasiviswanathan (2019), with the Gaussian's
    ε(j) = j / (2σ²) and ε(∞) = ∞:

        ε'(α) ≤ 1/(α−1) · log(1 + γ² C(α,2) min(4(e^{ε(2)} − 1), 2e^{ε(2)}) + Σ_{j=3..α} 2 γ^j C(α,j) e^{(j−1)ε(j)}).
    """
    sigma = v.positive("noise_multiplier", noise_multiplier)
    gamma = v.number("sampling_rate", sampling_rate, low=0, high=1, low_open=True)
    orders = v.vector("orders", orders)
    if (orders < 2).any() or (orders != np.round(orders)).any() or (orders > 10_000).any():
        raise ValueError(f"orders must be whole numbers in [2, 10000], got {orders.tolist()[:5]}...")
    eps = lambda j: j / (2 * sigma ** 2)  # noqa: E731 (the Gaussian's RDP at order j)
    out = []
    for alpha in orders.astype(int):
        logs = [0.0, 2 * math.log(gamma) + _log_comb(alpha, 2)
                + min(math.log(4) + eps(2) + math.log1p(-math.exp(-eps(2))), math.log(2) + eps(2))]
        logs += [math.log(2) + j * math.log(gamma) + _log_comb(alpha, j) + (j - 1) * eps(j) for j in range(3, alpha + 1)]
        top = max(logs)
        out.append((top + math.log(sum(math.exp(x - top) for x in logs))) / (alpha - 1))
    return np.array(out)


def _log_comb(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def noise_for_epsilon(target_epsilon: float, sampling_rate: float, steps: int, delta: float,
                      accountant: str = "rdp", tolerance: float = 1e-3) -> float:
    """The smallest noise multiplier σ (to ``tolerance``) whose ``poisson_epsilon`` is at most
    ``target_epsilon``: bisection, since ε falls as σ grows."""
    target = v.positive("target_epsilon", target_epsilon)
    tol = v.positive("tolerance", tolerance)
    eps = lambda s: poisson_epsilon(s, sampling_rate, steps, delta, accountant)  # noqa: E731 (validates the rest)
    lo, hi = 0.05, 1.0
    while eps(hi) > target:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise ValueError(f"no noise multiplier up to 1e4 reaches ε = {target}; ask for a larger ε")
    if eps(lo) <= target:
        return lo
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if eps(mid) <= target else (mid, hi)
    return hi
