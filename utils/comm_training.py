"""Federated training measured in bytes: client sampling, compressed uploads, and the accuracy-versus-
bytes frontier. Introduced in chapter 07 (on the many clinics of ``utils.clinics``).

``run_measured`` is orchestration around ``utils.fedcore.run_fedavg``, not a second FedAvg. Every
round it

1. picks the participants (all clients, or ``clients_per_round`` of them drawn uniformly without
   replacement with ``fedcore.sample_clients``, as a TFF training loop does before calling ``next``);
2. runs one FedAvg round on them with ``run_fedavg`` (the ``Uplink`` of ``utils.compression`` as its
   ``aggregate`` hook, if the uploads are compressed; the server's SGD step with ``server_lr`` has no
   state, so one round at a time is exactly a longer run). When every client takes part, all rounds
   run in a single ``run_fedavg`` call instead: the same computation with less overhead;
3. counts the bytes: the global model as float32 to each participant; back, each participant's
   message plus, unless the weighting is uniform, its aggregation weight as one float32 (what TFF's
   ``build_weighted_fed_avg`` uploads besides its metrics);
4. scores the new global model on the test clients.

``curve`` averages a method's runs over seeds round by round; ``at_budget`` says where a method stands
under a byte budget (the round it stops at may be chosen on validation rows); ``best_under_budget``
ranks the methods under one budget and ``frontier`` under every budget.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from utils import validate as v
from utils.compression import Uplink
from utils.fedcore import ServerOptimizer, _score_pairs, run_fedavg, sample_clients  # _score_pairs: evaluate without re-validating every round
from utils.local_training import Schedule
from utils.models import loss_named

__all__ = ["MeasuredRun", "run_measured", "curve", "at_budget", "best_under_budget", "frontier"]

FLOAT_BYTES = 4
METRICS = ("accuracy", "client_accuracy", "loss", "val_accuracy", "val_loss")


@dataclass(frozen=True)
class MeasuredRun:
    """A federated run with its bytes, round by round (R rounds; row 0 = the start).

    ``server`` (R+1, p): global models; ``accuracy``/``loss``: on all test rows together;
    ``client_accuracy``: mean over the test clients of each one's accuracy (chapter 05's
    "mean per centre"); ``val_loss``/``val_accuracy``: the same on the validation clients (NaN
    without them); ``down_bytes``/``up_bytes``: cumulative bytes sent to / from the clients.
    """

    label: str
    server: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    client_accuracy: np.ndarray
    down_bytes: np.ndarray
    up_bytes: np.ndarray
    clients_per_round: int
    val_loss: np.ndarray | None = None
    val_accuracy: np.ndarray | None = None
    participants: list = field(default_factory=list, repr=False)
    diverged: bool = False

    @property
    def total_bytes(self) -> np.ndarray:
        """Cumulative bytes in both directions after each round."""
        return self.down_bytes + self.up_bytes

    @property
    def rounds(self) -> int:
        return len(self.server) - 1


def run_measured(clients, rounds: int, *, lr: float, schedule: Schedule = Schedule(epochs=1),
                 clients_per_round: int | None = None, uplink: Uplink | None = None, theta0=None,
                 model: str = "logistic", weighting="size", server_lr: float = 1.0, seed: int = 0,
                 test=None, validation=None, label: str = "", progress: bool = False) -> MeasuredRun:
    """FedAvg for ``rounds`` rounds with its bytes counted (see the module's docstring).

    ``clients``: {name: (X, y)}; ``clients_per_round``: participants per round (None: all);
    ``uplink``: an ``Uplink`` (a fresh one per run: it keeps error-feedback memory) or None for
    float32 uploads; ``lr``/``schedule``/``model``/``weighting``: as ``run_fedavg``; ``seed``: the
    participants and the batch order of every round; ``test``: clients to score the model on after
    every round (required: a measured run is read as accuracy against bytes); ``validation``: clients
    to score it on as well, for choices (when to stop, which method) that must not touch the test rows.
    """
    loss = loss_named(model)
    names, pairs = v.clients(clients, labels01=loss.labels01)
    rounds = v.integer("rounds", rounds, 1, 100_000)
    lr = v.positive("lr", lr)
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    m = len(names) if clients_per_round is None else v.integer("clients_per_round", clients_per_round, 1, len(names))
    if uplink is not None and not isinstance(uplink, Uplink):
        raise TypeError(f"uplink must be None or a utils.compression.Uplink, got {type(uplink).__name__}")
    if uplink is not None and uplink.sent:
        raise ValueError("uplink has been used in another run already: give each run a fresh Uplink")
    p = pairs[0][0].shape[1] + 1
    theta = np.zeros(p) if theta0 is None else v.vector("theta0", theta0, p)
    if isinstance(weighting, str):
        v.choice("weighting", weighting, ("size", "examples", "uniform"))
    else:
        weighting = v.vector("weighting", weighting, len(names))
    server_lr = v.positive("server_lr", server_lr)
    rng = np.random.default_rng(v.seed("seed", seed))
    if test is None:
        raise ValueError("test is required: give the clients to score the global model on")
    _, test_pairs = v.clients(test, "test", labels01=loss.labels01)
    if test_pairs[0][0].shape[1] != p - 1:
        raise ValueError(f"test clients have {test_pairs[0][0].shape[1]} features, the clients {p - 1}")
    val_pairs = None
    if validation is not None:
        _, val_pairs = v.clients(validation, "validation", labels01=loss.labels01)
        if val_pairs[0][0].shape[1] != p - 1:
            raise ValueError(f"validation clients have {val_pairs[0][0].shape[1]} features, the clients {p - 1}")
    label = v.text("label", label, empty=True)
    progress = v.flag("progress", progress)
    v.budget("run_measured", rounds * sum(sorted(schedule.num_steps(len(y)) for _, y in pairs)[-m:]),
             v.MAX_STEPS, "local steps")

    server = ServerOptimizer("sgd", server_lr)
    data = dict(zip(names, pairs))
    index = {name: i for i, name in enumerate(names)}
    weight_bytes = 0 if isinstance(weighting, str) and weighting == "uniform" else FLOAT_BYTES
    nan = {"loss": np.nan, "accuracy": np.nan}

    def score(th):
        return _score_pairs(th, test_pairs, loss), (nan if val_pairs is None else _score_pairs(th, val_pairs, loss))

    path, evals, down, up, chosen = [theta], [score(theta)], [0], [0], []
    diverged = False
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=rounds, desc=label or "rounds", leave=False)
    try:
        if m == len(names):  # everyone takes part every round: the same rounds in one run_fedavg call
            history = run_fedavg(data, rounds, lr=lr, theta0=theta, model=model, schedule=schedule, weighting=weighting,
                                 aggregate=uplink, seed=int(rng.integers(2**32)), server=server)
            diverged = history.diverged
            for r, theta in enumerate(history.server[1:]):
                if not np.isfinite(theta).all():
                    break
                sent = FLOAT_BYTES * p * m if uplink is None else sum(uplink.sent[r])
                path.append(theta)
                evals.append(score(theta))
                down.append(down[-1] + FLOAT_BYTES * p * m)
                up.append(up[-1] + sent + weight_bytes * m)
                chosen.append(list(names))
            if bar is not None:
                bar.update(rounds)
        for _ in range(rounds if m < len(names) else 0):
            round_seed = int(rng.integers(2**32))
            ids = sample_clients(list(names), m, seed=round_seed)
            shares = weighting if isinstance(weighting, str) else weighting[[index[i] for i in ids]]
            history = run_fedavg({i: data[i] for i in ids}, 1, lr=lr, theta0=theta, model=model, schedule=schedule,
                                 weighting=shares, aggregate=None if uplink is None else uplink.bind(ids),
                                 seed=round_seed, server=server)
            if history.diverged:
                diverged = True
                break
            theta = history.final
            sent = FLOAT_BYTES * p * m if uplink is None else sum(uplink.sent[-1])
            path.append(theta)
            evals.append(score(theta))
            down.append(down[-1] + FLOAT_BYTES * p * m)
            up.append(up[-1] + sent + weight_bytes * m)
            chosen.append(ids)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return MeasuredRun(label=label, server=np.array(path), accuracy=np.array([e["accuracy"] for e, _ in evals]),
                       loss=np.array([e["loss"] for e, _ in evals]),
                       client_accuracy=np.array([np.mean(e["client_accuracy"]) for e, _ in evals]),
                       val_loss=np.array([f["loss"] for _, f in evals]),
                       val_accuracy=np.array([f["accuracy"] for _, f in evals]),
                       down_bytes=np.array(down, dtype=np.int64), up_bytes=np.array(up, dtype=np.int64),
                       clients_per_round=m, participants=chosen, diverged=diverged)


def _runs(runs) -> list:
    if isinstance(runs, MeasuredRun):
        runs = [runs]
    if not isinstance(runs, (list, tuple)) or not runs or not all(isinstance(r, MeasuredRun) for r in runs):
        raise TypeError("runs must be a non-empty list of MeasuredRun (one per seed)")
    return list(runs)


def curve(runs, metric: str = "accuracy"):
    """One method's runs (one per seed) averaged round by round: a DataFrame with ``round``,
    ``bytes`` (cumulative, both directions), ``mean``, ``std`` (over seeds, ddof=1; 0 for one run)
    and ``seeds``. The runs must have the same length and the same bytes in every round."""
    import pandas as pd

    runs = _runs(runs)
    metric = v.choice("metric", metric, METRICS)
    if len({r.rounds for r in runs}) != 1 or any(r.diverged for r in runs):
        raise ValueError("runs must all have the same number of rounds and none may have diverged")
    total = runs[0].total_bytes
    if any(not np.array_equal(r.total_bytes, total) for r in runs):
        raise ValueError("runs of one method must send the same bytes every round (same clients per round and "
                         "compressor); put methods with different bytes in different curves")
    values = np.array([getattr(r, metric) for r in runs])
    if np.isnan(values).any():
        raise ValueError(f"the runs have no {metric}: give run_measured validation clients")
    std = values.std(axis=0, ddof=1) if len(runs) > 1 else np.zeros(values.shape[1])
    return pd.DataFrame({"round": np.arange(len(total)), "bytes": total, "mean": values.mean(axis=0), "std": std,
                         "seeds": len(runs)})


def _curve_frame(name, table):
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not {"round", "bytes", "mean", "std"} <= set(table.columns) or table.empty:
        raise TypeError(f"{name} must be a DataFrame from curve(), got {type(table).__name__}")
    return table


def _stop(bytes_, rounds, budget, selection):
    """Index of the round a method stops at under ``budget`` (None if no round fits)."""
    fits = (rounds > 0) & (bytes_ <= budget)
    if not fits.any():
        return None
    if selection is None:
        return int(np.flatnonzero(fits)[-1])
    return int(np.flatnonzero(fits)[np.argmin(selection[fits])])


def _arrays(name, table, selection):
    table = _curve_frame(name, table)
    sel = None
    if selection is not None:
        selection = _curve_frame(f"selection for {name}", selection)
        if len(selection) != len(table) or not np.array_equal(selection["bytes"].to_numpy(), table["bytes"].to_numpy()):
            raise ValueError(f"the selection curve for {name} must come from the same runs (same rounds and bytes)")
        sel = selection["mean"].to_numpy(dtype=float)
    return (table["bytes"].to_numpy(dtype=float), table["round"].to_numpy(), table["mean"].to_numpy(dtype=float),
            table["std"].to_numpy(dtype=float), sel)


def at_budget(table, budget, selection=None):
    """Where a method stands under a byte budget: the row of its ``curve`` at the round it stops.

    Without ``selection`` it runs until the budget is spent (the last round that fits). With
    ``selection``, a curve of a loss over the same rounds (e.g. the validation loss), it stops at the
    round that fits with the lowest selection value: the choice is made on those rows, never on the
    curve being reported. Round 0, the untrained start, costs nothing and is never chosen. Returns
    None if not even one round fits; else the row, plus ``selected`` (the selection value).
    """
    b, r, _, _, sel = _arrays("table", table, selection)
    budget = v.nonneg("budget", budget)
    i = _stop(b, r, budget, sel)
    if i is None:
        return None
    row = table.iloc[i].copy()
    row["selected"] = np.nan if sel is None else sel[i]
    return row


def _ranking(arrays: dict, budget, selections):
    import pandas as pd

    rows = {}
    for name, (b, r, mean, std, sel) in arrays.items():
        i = _stop(b, r, budget, sel)
        if i is not None:
            rows[name] = {"mean": mean[i], "std": std[i], "round": int(r[i]), "bytes": int(b[i]),
                          "selected": np.nan if sel is None else sel[i]}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "std", "round", "bytes", "selected"])
    if selections is None:
        return out.sort_values(["mean", "bytes"], ascending=[False, True], kind="stable")
    return out.sort_values(["selected", "bytes"], ascending=[True, True], kind="stable")


def _curve_dicts(curves, selections):
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict {method: curve DataFrame}")
    if selections is not None and (not isinstance(selections, dict) or set(selections) != set(curves)):
        raise ValueError("selections must be a dict with one selection curve for each method of curves")
    return {name: _arrays(f"curves[{name!r}]", table, None if selections is None else selections[name])
            for name, table in curves.items()}


def best_under_budget(curves: dict, budget, selections: dict | None = None):
    """Every method's ``at_budget`` row (methods that cannot afford one round are left out), best
    first: by the selection value (lowest) when ``selections`` {method: selection curve} is given,
    else by the reported mean (highest). A DataFrame indexed by method."""
    arrays = _curve_dicts(curves, selections)
    return _ranking(arrays, v.nonneg("budget", budget), selections)


def frontier(curves: dict, selections: dict | None = None):
    """The best method under every budget at which some method's cost changes (see
    ``best_under_budget``): a DataFrame with ``bytes`` (the budget), ``method``, ``round``, ``bytes
    used``, ``mean`` and ``std``; consecutive budgets with the same choice are merged."""
    import pandas as pd

    arrays = _curve_dicts(curves, selections)
    budgets = sorted({float(x) for b, r, *_ in arrays.values() for x in b[r > 0]})
    rows, last = [], None
    for budget in budgets:
        ranking = _ranking(arrays, budget, selections)
        if ranking.empty:
            continue
        method, best = ranking.index[0], ranking.iloc[0]
        if (method, best["round"]) != last:
            rows.append({"bytes": int(budget), "method": method, "round": int(best["round"]),
                         "bytes used": int(best["bytes"]), "mean": best["mean"], "std": best["std"]})
            last = (method, best["round"])
    return pd.DataFrame(rows, columns=["bytes", "method", "round", "bytes used", "mean", "std"])
