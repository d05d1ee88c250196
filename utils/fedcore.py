"""The federated core in NumPy: every building block of FedSGD and FedAvg, once.
Introduced in chapters 02 (the round, written out by hand) and 03 (FedSGD and FedAvg, derived);
chapters 04-07 import it and check TFF against it.

Clients are a dict ``{name: (X, y)}`` or a list of ``(X, y)`` pairs; a model is the vector
``theta = (w, b)`` of ``utils.models`` with a named loss ("logistic" or "mse"). One round:

1. the server broadcasts ``theta``;
2. client k trains locally from ``theta`` (``local_train``: SGD or Adam over the batches its
   ``Schedule`` gives, optionally with FedProx's proximal term) and sends back its update
   ``theta_k - theta``;
3. the server aggregates the updates (``weighted_average`` with shares ``n_k / n`` by default)
   and applies the result with its own optimiser (``ServerOptimizer``: SGD, Adam, Yogi).

With one full-batch local step and server SGD at learning rate 1 this is FedSGD: one gradient
step on the federated objective ``F = Σ_k (n_k/n) F_k``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from utils import validate as v
from utils.validate import _shown
from utils.local_training import Schedule, _train
from utils.models import loss_named

__all__ = ["client_weights", "weighted_average", "federated_objective", "federated_gradient", "fedsgd_step", "fedavg_round",
           "ServerOptimizer", "FedHistory", "run_fedavg", "evaluate", "federated_mean_std",
           "sample_clients"]


# ---- weights and aggregation ----------------------------------------------------------------

def client_weights(sizes) -> np.ndarray:
    """The shares n_k / n of the federated objective (they sum to 1)."""
    sizes = v.vector("sizes", sizes)
    if (sizes <= 0).any():
        raise ValueError(f"every client size must be > 0, got {sizes.tolist()}")
    return sizes / sizes.sum()


def weighted_average(vectors, weights) -> np.ndarray:
    """Σ_k w_k v_k / Σ_k w_k over the first axis of ``vectors`` (FedAvg's aggregation)."""
    V = v.array("vectors", vectors)
    if V.ndim < 1 or len(V) == 0:
        raise ValueError(f"vectors must hold at least one vector, got shape {V.shape}")
    v.finite("vectors", V)
    w = v.vector("weights", weights, len(V))
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be >= 0 with a positive total, got {w.tolist()}")
    return _weighted_mean(V, w / w.sum())


def _weighted_mean(V, shares):
    return np.tensordot(shares, V, axes=1)


# ---- the federated objective and FedSGD -------------------------------------------------------------

def _federation(theta, clients, model):
    loss = loss_named(model)
    names, pairs = v.clients(clients, labels01=loss.labels01)
    theta = v.vector("theta", theta, pairs[0][0].shape[1] + 1)
    return loss, names, pairs, theta, client_weights([len(y) for _, y in pairs])


def federated_objective(theta, clients, model: str = "logistic") -> float:
    """F(θ) = Σ_k (n_k/n) F_k(θ): the pooled mean loss, computed client by client."""
    loss, _, pairs, theta, p = _federation(theta, clients, model)
    return float(sum(pk * loss.loss(theta, X, y) for pk, (X, y) in zip(p, pairs)))


def federated_gradient(theta, clients, model: str = "logistic") -> np.ndarray:
    """∇F(θ) = Σ_k (n_k/n) ∇F_k(θ): what the FedSGD server assembles."""
    loss, _, pairs, theta, p = _federation(theta, clients, model)
    return sum(pk * loss.grad(theta, X, y) for pk, (X, y) in zip(p, pairs))


def fedsgd_step(theta, clients, lr: float, model: str = "logistic") -> np.ndarray:
    """One FedSGD round: θ − lr Σ_k (n_k/n) ∇F_k(θ)."""
    lr = v.positive("lr", lr)
    return np.asarray(theta, dtype=float) - lr * federated_gradient(theta, clients, model)


def fedavg_round(theta, clients, lr: float, local_steps: int = 1, model: str = "logistic",
                 server_lr: float = 1.0, batch_size: int | None = None) -> np.ndarray:
    """One FedAvg round with plain SGD at both ends: every client takes ``local_steps`` steps
    (full batches, or tf.data-style batches of ``batch_size`` in row order), then
    θ + server_lr Σ_k (n_k/n)(θ_k − θ). ``local_steps=1`` with full batches is FedSGD."""
    theta = _federation(theta, clients, model)[3]  # checked here so an error names ``theta``, not ``theta0``
    server = ServerOptimizer("sgd", v.positive("server_lr", server_lr))
    history = run_fedavg(clients, 1, theta0=theta, model=model, lr=lr, server=server,
                         schedule=Schedule(batch_size=batch_size, steps=v.integer("local_steps", local_steps, 1)))
    return history.server[-1]


# ---- the server's optimiser ----------------------------------------------------------------------

@dataclass(frozen=True)
class ServerOptimizer:
    """How the server applies the aggregated update Δ = Σ_k p_k (θ_k − θ) (Reddi et al., 2021).

    "sgd": θ + lr Δ (lr 1: the weighted mean of the local models). "adam" / "yogi" treat g = −Δ as
    a gradient: m ← β1 m + (1−β1) g, and v ← β2 v + (1−β2) g² (Adam) or
    v ← v − (1−β2) sign(v − g²) g² (Yogi); then θ ← θ − lr_t m / (√v + eps), with
    lr_t = lr √(1−β2^t)/(1−β1^t) when ``bias_correction`` (TFF's optimisers) and lr_t = lr without
    (FLamby's). ``initial_v`` starts v (TFF's Yogi: 1e-6).
    """

    kind: str = "sgd"
    lr: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    bias_correction: bool = True
    initial_v: float = 0.0

    def __post_init__(self):
        v.choice("kind", self.kind, ("sgd", "adam", "yogi"))
        v.positive("lr", self.lr)
        v.number("beta1", self.beta1, low=0, high=1, high_open=True)
        v.number("beta2", self.beta2, low=0, high=1, high_open=True)
        v.positive("eps", self.eps)
        v.nonneg("initial_v", self.initial_v)
        if not isinstance(self.bias_correction, bool):
            raise TypeError(f"bias_correction must be True or False, got {self.bias_correction!r}")

    def init(self, p: int) -> dict:
        """The optimiser's state for ``p`` parameters: step count, first and second moments."""
        p = v.integer("p", p, 1)
        return {"t": 0, "m": np.zeros(p), "v": np.full(p, self.initial_v)}

    def apply(self, theta: np.ndarray, delta: np.ndarray, state: dict) -> np.ndarray:
        """The new global model from the aggregated update ``delta`` (updates ``state`` in place)."""
        theta = v.vector("theta", theta)
        delta = v.vector("delta", delta, len(theta))
        if not isinstance(state, dict) or (self.kind != "sgd" and not {"t", "m", "v"} <= set(state)):
            raise ValueError(f"state must be the dict that init() returns, got {_shown(state)}")
        return self._apply(theta, delta, state)

    def _apply(self, theta, delta, state):
        if self.kind == "sgd":
            return theta + self.lr * delta
        g, t = -delta, state["t"] + 1
        state["t"] = t
        state["m"] = self.beta1 * state["m"] + (1 - self.beta1) * g
        if self.kind == "adam":
            state["v"] = self.beta2 * state["v"] + (1 - self.beta2) * g * g
        else:
            state["v"] = state["v"] - (1 - self.beta2) * np.sign(state["v"] - g * g) * g * g
        lr = self.lr * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t) if self.bias_correction else self.lr
        return theta - lr * state["m"] / (np.sqrt(state["v"]) + self.eps)


# ---- a whole run -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FedHistory:
    """What a federated run did, round by round (R rounds, K clients, p parameters).

    ``server[r]``: the global model after round r (row 0: the start; NaN rows after a divergence).
    ``clients[r, k]``: client k's local model in round r+1 (only with ``keep_clients``).
    ``shares``: the aggregation weights. With test clients: ``loss``/``accuracy`` (R+1,) over all
    their rows and ``client_loss``/``client_accuracy`` (R+1, K) per client.
    """

    server: np.ndarray
    names: list
    sizes: np.ndarray
    shares: np.ndarray
    clients: np.ndarray | None = None
    loss: np.ndarray | None = None
    accuracy: np.ndarray | None = None
    client_loss: np.ndarray | None = None
    client_accuracy: np.ndarray | None = None
    shapes: tuple = ()
    interrupted: bool = False
    diverged: bool = False
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def rounds(self) -> int:
        return len(self.server) - 1

    @property
    def final(self) -> np.ndarray:
        return self.server[-1]

    def weights(self, r: int = -1) -> list:
        """The global model after round r as a list of arrays (Keras' order)."""
        theta = self.server[v.integer("r", r, -len(self.server), len(self.server) - 1)]
        shapes = self.shapes or ((len(theta) - 1, 1), (1,))
        cuts = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
        return [part.reshape(s) for part, s in zip(np.split(theta, cuts), shapes)]


def _shares(weighting, sizes, schedule) -> np.ndarray:
    if isinstance(weighting, str):
        v.choice("weighting", weighting, ("size", "examples", "uniform"))
        raw = {"size": sizes, "uniform": np.ones(len(sizes)),
               "examples": np.array([schedule.examples(int(n)) for n in sizes])}[weighting]
    else:
        raw = v.vector("weighting", weighting, len(sizes))
    if (raw < 0).any() or raw.sum() <= 0:
        raise ValueError(f"weighting must be >= 0 with a positive total, got {list(raw)}")
    return raw / raw.sum()


def run_fedavg(clients, rounds: int, *, lr: float, theta0=None, model: str = "logistic",
               schedule: Schedule = Schedule(epochs=1), optimizer: str = "sgd", mu: float = 0.0,
               server: ServerOptimizer | None = None, weighting="size", aggregate=None, seed: int = 0,
               test=None, keep_clients: bool = False, progress: bool = False, client_update=None,
               cohort=None) -> FedHistory:
    """FedAvg (and FedSGD, FedProx, FedAdam, FedYogi) for ``rounds`` rounds; returns a ``FedHistory``.

    ``lr``/``optimizer``/``schedule``/``mu``: local training (see ``local_train``); ``server``:
    the server's optimiser (default SGD, lr 1); ``weighting``: "size" (n_k, FedAvg and FLamby),
    "examples" (examples processed, TFF's default), "uniform", or one number per client;
    ``aggregate(updates (K, p), shares (K,)) -> (p,)`` replaces the weighted mean (robust
    aggregation, chapter 06). ``seed`` seeds the batch order when ``schedule.shuffle``.
    ``test``: clients to evaluate the global model on after every round. Ctrl-C stops cleanly
    and returns the rounds done so far (``interrupted=True``).
    Chapter 06 adds two hooks. ``client_update(theta, X, y, rng) -> local model`` replaces the
    local training (``lr``/``schedule``/``optimizer``/``mu`` then unused; DP-SGD plugs in here).
    ``cohort(rng, K) -> client indices`` picks the clients that train in each round (client
    sampling); only their updates reach ``aggregate``, with their shares renormalised to sum to 1
    (an empty cohort passes empty arrays); with ``keep_clients`` absent clients' rows are NaN.
    """
    loss = loss_named(model)
    names, pairs = v.clients(clients, labels01=loss.labels01)
    p = pairs[0][0].shape[1] + 1
    rounds = v.integer("rounds", rounds, 0)
    lr, mu = v.positive("lr", lr), v.number("mu", mu)
    optimizer = v.choice("optimizer", optimizer, ("sgd", "adam"))
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    server = ServerOptimizer() if server is None else server
    if not isinstance(server, ServerOptimizer):
        raise TypeError(f"server must be a ServerOptimizer, got {type(server).__name__}")
    aggregate = _weighted_mean if aggregate is None else v.function("aggregate", aggregate)
    client_update = None if client_update is None else v.function("client_update", client_update)
    cohort = None if cohort is None else v.function("cohort", cohort)
    rng = np.random.default_rng(v.seed("seed", seed))
    keep_clients, progress = v.flag("keep_clients", keep_clients), v.flag("progress", progress)
    theta = np.zeros(p) if theta0 is None else v.vector("theta0", theta0, p)
    sizes = np.array([len(y) for _, y in pairs])
    shares = _shares(weighting, sizes, schedule)
    if test is not None:
        test_names, test_pairs = v.clients(test, "test", labels01=loss.labels01)
        if test_pairs[0][0].shape[1] != p - 1:
            raise ValueError(f"test clients have {test_pairs[0][0].shape[1]} features, the clients {p - 1}")
    v.budget("run_fedavg", rounds * sum(schedule.num_steps(int(n)) for n in sizes), v.MAX_STEPS, "local steps")
    if keep_clients:
        v.budget("keep_clients", rounds * len(pairs) * p, v.MAX_FLOATS_KEPT, "numbers kept")

    server_path, local_path, evals = [theta], [], []
    if test is not None:
        evals.append(evaluate(theta, test, model))
    state = server.init(p)
    interrupted = diverged = False
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=rounds, desc="rounds", leave=False)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(rounds):
                chosen = np.arange(len(pairs)) if cohort is None else _cohort_indices(cohort(rng, len(pairs)), len(pairs))
                if client_update is None:
                    local = [_train(theta, *pairs[k], schedule.batches(len(pairs[k][1]), rng), loss.grad, lr, optimizer,
                                    mu, theta, 1e-8) for k in chosen]
                else:
                    local = [client_update(theta.copy(), *pairs[k], rng) for k in chosen]
                local = np.array(local, dtype=float).reshape(len(chosen), p)
                part = shares if cohort is None else (shares[chosen] / shares[chosen].sum() if len(chosen)
                                                      else shares[chosen])
                if np.isfinite(local).all():
                    theta = server._apply(theta, np.asarray(aggregate(local - theta, part), dtype=float), state)
                if not (np.isfinite(local).all() and np.isfinite(theta).all()):
                    diverged = True
                    break
                server_path.append(theta)
                if keep_clients:
                    full = np.full((len(pairs), p), np.nan)
                    full[chosen] = local
                    local_path.append(full)
                if test is not None:
                    evals.append(evaluate(theta, test, model))
                if bar is not None:
                    bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        print(f"Interrupted: returning the {len(server_path) - 1} finished round(s).")
    finally:
        if bar is not None:
            bar.close()
    server_arr = np.full((rounds + 1 if diverged else len(server_path), p), np.nan)
    server_arr[:len(server_path)] = server_path
    metric = (lambda key: np.array([e[key] for e in evals])) if evals else (lambda key: None)
    return FedHistory(server=server_arr, names=names, sizes=sizes, shares=shares,
                      clients=np.array(local_path).reshape(-1, len(pairs), p) if keep_clients else None,
                      loss=metric("loss"), accuracy=metric("accuracy"), client_loss=metric("client_loss"),
                      client_accuracy=metric("client_accuracy"), interrupted=interrupted, diverged=diverged)


def _cohort_indices(chosen, K: int) -> np.ndarray:
    idx = np.asarray(chosen)
    if idx.ndim != 1 or (len(idx) and idx.dtype.kind not in "iu") or len(np.unique(idx)) != len(idx) \
            or (len(idx) and (idx.min() < 0 or idx.max() >= K)):
        raise ValueError(f"cohort must return distinct client indices in [0, {K}), got {_shown(chosen)}")
    return np.sort(idx.astype(int))


# ---- evaluation and federated statistics -------------------------------------------------------------

def evaluate(theta, clients, model: str = "logistic") -> dict:
    """Each client scores ``theta`` on its rows and reports (loss, correct, n); the server adds up.

    Returns ``loss`` and ``accuracy`` over all rows, and ``client_loss``/``client_accuracy`` per
    client (accuracy at threshold 0.5; NaN for the "mse" model).
    """
    loss, _, pairs, theta, _ = _federation(theta, clients, model)
    return _score_pairs(theta, pairs, loss)


def _score_pairs(theta: np.ndarray, pairs: list, loss) -> dict:
    """``evaluate``'s sums on pairs already checked (by ``evaluate``, or once by a caller that scores
    every round): ``loss`` is a ``utils.models`` loss (``loss_named``)."""
    n = np.array([len(y) for _, y in pairs], dtype=float)
    losses = np.array([loss.loss(theta, X, y) for X, y in pairs])
    if loss.labels01:
        accs = np.array([np.mean(((X @ theta[:-1] + theta[-1]) > 0) == (y == 1)) for X, y in pairs])
    else:
        accs = np.full(len(pairs), np.nan)
    return {"loss": float(n @ losses / n.sum()), "accuracy": float(n @ accs / n.sum()),
            "client_loss": losses, "client_accuracy": accs}


def federated_mean_std(parts, ddof: int = 0) -> tuple:
    """Mean and standard deviation over all clients' rows from per-client sums only.

    Each client sends its row count n_k, column sums Σx and sums of squares Σx² (2d + 1 numbers);
    ``ddof=1`` gives the unbiased std (pandas', FLamby's). ``parts``: a list of 2-D arrays.
    """
    if not isinstance(parts, (list, tuple)):
        raise TypeError(f"parts must be a list of 2-D arrays, got {type(parts).__name__}")
    if not parts:
        raise ValueError("parts is empty: give one 2-D array per client")
    arrays = [v.matrix(f"parts[{i}]", X) for i, X in enumerate(parts)]
    if len({X.shape[1] for X in arrays}) != 1:
        raise ValueError(f"parts disagree on the number of columns: {[X.shape for X in arrays]}")
    ddof = v.integer("ddof", ddof, 0, 1)
    n = sum(len(X) for X in arrays)
    if n <= ddof:
        raise ValueError(f"{n} row(s) in all: too few for ddof={ddof}")
    total, total_sq = sum(X.sum(axis=0) for X in arrays), sum((X ** 2).sum(axis=0) for X in arrays)
    mean = total / n
    return mean, np.sqrt(np.maximum(total_sq - n * mean ** 2, 0.0) / (n - ddof))


def sample_clients(client_ids, num_clients: int, seed: int = 0) -> list:
    """``num_clients`` distinct clients drawn uniformly without replacement (in the orchestrator,
    before a round: the server only ever sees the chosen clients' updates). Introduced in chapter 04."""
    if isinstance(client_ids, (str, bytes)) or not isinstance(client_ids, (list, tuple, range)):
        raise TypeError(f"client_ids must be a list of ids, got {type(client_ids).__name__}")
    ids = list(client_ids)
    if not ids or len(set(map(repr, ids))) != len(ids):
        raise ValueError(f"client_ids must be a non-empty list of distinct ids, got {client_ids!r}")
    num_clients = v.integer("num_clients", num_clients, 1, len(ids))
    chosen = np.random.default_rng(v.seed("seed", seed)).choice(len(ids), size=num_clients, replace=False)
    return [ids[i] for i in sorted(chosen)]
