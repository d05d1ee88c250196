"""Robust aggregation and the attacks it is meant to stop. Introduced in chapter 06.

Every function here has the signature of ``utils.fedcore.run_fedavg(aggregate=...)``:
``aggregate(updates (K, p), shares (K,)) -> (p,)``, so a defence or an attack plugs into the one
federated core.

Defences (TFF 0.87 has norm clipping and zeroing, but no median or trimmed mean):

* ``norm_clipped_mean``: each update scaled to norm at most C, then FedAvg's weighted mean
  (what ``tff.aggregators.clipping_factory(C, MeanFactory())`` computes; chapter 06 checks it);
* ``coordinate_median``: for every parameter separately, the median of the K clients' values
  (Yin et al., ICML 2018). Every client gets one vote, whatever its size;
* ``trimmed_mean``: for every parameter, drop the ``trim`` largest and ``trim`` smallest values,
  then the mean of the rest, weighted by the remaining clients' shares.

Attacks (``with_attack`` makes client ``attacker`` send something else than its honest update):

* ``scaled_update(factor)``: its honest update times ``factor`` (e.g. −10: reversed and boosted);
* ``directed_update(direction)``: an update of the *same norm* as its honest one, pointing along
  ``direction``: it passes any norm check that honest updates pass.
"""
from __future__ import annotations

import numpy as np

from utils import validate as v

__all__ = ["norm_clipped_mean", "coordinate_median", "trimmed_mean", "scaled_update", "directed_update",
           "with_attack", "extreme_share"]


def _updates(updates, shares=None):
    U = v.array("updates", updates)
    if U.ndim != 2 or len(U) == 0:
        raise ValueError(f"updates must be 2-D (clients × parameters) with at least one client, got shape {U.shape}")
    v.finite("updates", U)
    if shares is None:
        return U, np.full(len(U), 1.0 / len(U))
    w = v.vector("shares", shares, len(U))
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"shares must be >= 0 with a positive total, got {w.tolist()}")
    return U, w / w.sum()


def norm_clipped_mean(updates, shares=None, clip: float = 1.0) -> np.ndarray:
    """Σ_k s_k · u_k · min(1, clip / ‖u_k‖): clip every update's L2 norm, then the weighted mean."""
    U, w = _updates(updates, shares)
    clip = v.positive("clip", clip)
    norms = np.linalg.norm(U, axis=1)
    return w @ (U * np.minimum(1.0, clip / np.maximum(norms, 1e-300))[:, None])


def coordinate_median(updates, shares=None) -> np.ndarray:
    """The median of each coordinate over the clients (``shares`` are accepted and ignored: one
    client, one vote; with an even K it is the mean of the two middle values)."""
    U, _ = _updates(updates, shares)
    return np.median(U, axis=0)


def trimmed_mean(updates, shares=None, trim: int = 1) -> np.ndarray:
    """Per coordinate: drop the ``trim`` smallest and ``trim`` largest values, then average the rest
    with their clients' shares (renormalised). ``trim=0`` is the weighted mean."""
    U, w = _updates(updates, shares)
    trim = v.integer("trim", trim, 0)
    if 2 * trim >= len(U):
        raise ValueError(f"trim={trim} would drop all {len(U)} clients; need 2·trim < K")
    order = np.argsort(U, axis=0, kind="stable")
    keep = order[trim:len(U) - trim]                       # (K − 2·trim, p) client indices per coordinate
    kept_w = w[keep]
    return (np.take_along_axis(U, keep, axis=0) * kept_w).sum(axis=0) / kept_w.sum(axis=0)


def scaled_update(factor: float):
    """An attack: the attacker's honest update times ``factor``."""
    factor = v.number("factor", factor)
    return lambda honest: factor * honest


def directed_update(direction):
    """An attack: an update as long as the attacker's honest one, pointing along ``direction``."""
    d = v.vector("direction", direction)
    if not np.linalg.norm(d) > 0:
        raise ValueError("direction must not be the zero vector")
    d = d / np.linalg.norm(d)

    def attack(honest):
        if len(honest) != len(d):
            raise ValueError(f"direction has {len(d)} entries, the model {len(honest)}")
        return np.linalg.norm(honest) * d
    return attack


def with_attack(aggregate, attacker: int, attack):
    """An ``aggregate`` in which client ``attacker``'s update is replaced by ``attack(its honest
    update)`` before ``aggregate`` (any defence above, or None for FedAvg's weighted mean) sees it."""
    from utils.fedcore import weighted_average

    aggregate = (lambda U, s: weighted_average(U, s)) if aggregate is None else v.function("aggregate", aggregate)
    attacker = v.integer("attacker", attacker, 0)
    attack = v.function("attack", attack)

    def attacked(updates, shares):
        U = np.array(updates, dtype=float)
        if attacker >= len(U):
            raise ValueError(f"attacker={attacker} but only {len(U)} clients sent updates")
        U[attacker] = attack(U[attacker])
        return aggregate(U, shares)
    return attacked


def extreme_share(updates, client: int, trim: int = 1) -> float:
    """The share of coordinates in which ``client``'s value is among the ``trim`` smallest or
    largest: how often a median (K = 4) or a trimmed mean discards that client."""
    U, _ = _updates(updates)
    client = v.integer("client", client, 0, len(U) - 1)
    trim = v.integer("trim", trim, 1)
    if 2 * trim >= len(U):
        raise ValueError(f"trim={trim} leaves nothing of {len(U)} clients; need 2·trim < K")
    rank = np.argsort(np.argsort(U, axis=0, kind="stable"), axis=0)[client]
    return float(np.mean((rank < trim) | (rank >= len(U) - trim)))
