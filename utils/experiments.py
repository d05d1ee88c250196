"""The case-study experiment runner: method × seeds → a per-hospital metrics table.

Introduced in chapter 05 (the four-hospital case study); reused by the privacy
(06) and communication (07) chapters.

Everything follows FLamby's Fed-Heart-Disease protocol unless a config says
otherwise: logistic regression (13 → 1, sigmoid), binary cross-entropy, batch
size 4; local-only and pooled models train with Adam (lr 0.001) for 50 epochs;
federated strategies run 15 rounds × 100 local steps per hospital. The metric
is accuracy at the 0.5 threshold on each hospital's own test set, then the mean
over hospitals ("mean per-centre accuracy"); AUC is reported beside it.

* ``MethodConfig`` / ``flamby_config(method)``: the hyper-parameters of one method.
* ``run_experiment(split, methods, seeds)``: the whole table. Local-only and
  pooled training use the exact NumPy trainer ``train_logreg`` (checked against
  Keras in chapter 05); the federated methods run in TensorFlow Federated, each
  TFF process built once per configuration and reused across seeds.
* ``summarize(results)``: methods × mean per-centre accuracy / AUC with spread.
* ``numpy_fedavg``: a plain-NumPy FedAvg for logistic regression (fast enough
  for sliders), equal to TFF's FedAvg on the same batches.
* ``fine_tune``: personalisation (a few local steps from the global model).

``python -m utils.experiments`` prints the case-study table and the time per
round (``make bench`` calls it).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

FEDERATED = ("fedavg", "fedadam", "fedyogi", "fedprox")
CENTRAL = ("local", "pooled")
METHODS = CENTRAL + FEDERATED
SEEDS = (42, 43, 44, 45, 46)
# FLamby's published mean per-centre test accuracy (du Terrail et al., 2022), 5 seeds.
FLAMBY_PUBLISHED = {"pooled": 0.735, "fedavg": 0.685, "fedadam": 0.726, "fedyogi": 0.731}
METHOD_LABELS = {"local": "local only", "pooled": "pooled (centralised)", "fedavg": "FedAvg",
                 "fedadam": "FedAdam", "fedyogi": "FedYogi", "fedprox": "FedProx"}

__all__ = ["METHODS", "FEDERATED", "SEEDS", "FLAMBY_PUBLISHED", "MethodConfig", "flamby_config",
           "Results", "run_experiment", "summarize", "train_logreg", "numpy_fedavg", "fine_tune",
           "predict_proba", "hospital_metrics", "initial_weights", "make_keras_model",
           "FederatedProcess", "encode_patient", "batch_stream"]


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

def _check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods are {list(METHODS)}")
    return method


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(name, value, allow_zero=False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {kind} finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters of one method.

    local / pooled: ``epochs`` of Adam with learning rate ``lr``, batch ``batch_size``.
    federated: ``rounds`` × ``local_steps`` client steps (batch ``batch_size``) of SGD with
    ``client_lr``; the server applies the weighted mean update with SGD (FedAvg, FedProx;
    ``server_lr`` 1.0 = plain averaging), Adam (FedAdam) or Yogi (FedYogi).
    ``mu`` is FedProx's proximal strength; ``tau`` the server optimiser's epsilon.
    ``hidden``: None for logistic regression, or the width of one ReLU hidden layer.
    """

    method: str
    epochs: int = 50
    lr: float = 0.001
    rounds: int = 15
    local_steps: int = 100
    batch_size: int = 4
    client_lr: float = 0.001
    server_lr: float = 1.0
    mu: float = 0.0
    tau: float = 1e-8
    hidden: int | None = None

    def __post_init__(self):
        _check_method(self.method)
        for name in ("epochs", "rounds", "local_steps", "batch_size"):
            _positive_int(name, getattr(self, name))
        for name in ("lr", "client_lr", "server_lr", "tau"):
            _positive_float(name, getattr(self, name))
        _positive_float("mu", self.mu, allow_zero=True)
        if self.mu and self.method != "fedprox":
            raise ValueError(f"mu={self.mu!r} is FedProx's proximal strength; method {self.method!r} has none")
        if self.hidden is not None:
            _positive_int("hidden", self.hidden)

    def with_(self, **changes) -> "MethodConfig":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)}; "
                             f"valid ones are {sorted(self.__dataclass_fields__)}")
        return replace(self, **changes)

    def describe(self) -> str:
        if self.method in CENTRAL:
            return f"Adam lr {self.lr:g}, {self.epochs} epochs, batch {self.batch_size}"
        server = {"fedavg": "SGD", "fedprox": "SGD", "fedadam": "Adam", "fedyogi": "Yogi"}[self.method]
        text = (f"{self.rounds} rounds × {self.local_steps} steps, batch {self.batch_size}, "
                f"client SGD lr {self.client_lr:g}, server {server} lr {self.server_lr:g}")
        return text + (f", mu {self.mu:g}" if self.method == "fedprox" else "")


def flamby_config(method: str) -> MethodConfig:
    """FLamby's published settings for ``method`` (Fed-Heart-Disease benchmark)."""
    _check_method(method)
    return {
        "local": MethodConfig("local"),
        "pooled": MethodConfig("pooled"),
        "fedavg": MethodConfig("fedavg", client_lr=0.001),
        "fedprox": MethodConfig("fedprox", client_lr=0.001, mu=0.01),
        "fedadam": MethodConfig("fedadam", client_lr=0.01, server_lr=0.01),
        "fedyogi": MethodConfig("fedyogi", client_lr=0.003162, server_lr=0.01),
    }[method]


def _as_config(method_or_config) -> MethodConfig:
    if isinstance(method_or_config, MethodConfig):
        return method_or_config
    return flamby_config(method_or_config)


# --------------------------------------------------------------------------
# Models, weights and metrics (NumPy)
# --------------------------------------------------------------------------

def make_keras_model(n_features: int = 13, hidden: int | None = None):
    """Keras model: logistic regression (hidden=None) or Dense(hidden, relu) → Dense(1, sigmoid)."""
    _positive_int("n_features", n_features)
    import tensorflow as tf

    layers = [tf.keras.Input(shape=(n_features,))]
    if hidden is not None:
        layers.append(tf.keras.layers.Dense(_positive_int("hidden", hidden), activation="relu"))
    layers.append(tf.keras.layers.Dense(1, activation="sigmoid"))
    return tf.keras.Sequential(layers)


def initial_weights(seed: int, n_features: int = 13, hidden: int | None = None) -> list:
    """Initial weights drawn as PyTorch's ``nn.Linear`` does (FLamby's models are PyTorch):
    every weight and bias ~ Uniform(±1/√fan_in), reproducible from ``seed``.

    (Keras' default, Glorot-uniform, is 2.3× wider for 13 inputs; with FLamby's small
    learning rates the model stays close to its start, so the initialisation matters.)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _positive_int("n_features", n_features)
    rng = np.random.default_rng(int(seed))
    sizes = [n_features] + ([_positive_int("hidden", hidden)] if hidden else []) + [1]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = 1.0 / math.sqrt(fan_in)
        weights += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                    rng.uniform(-limit, limit, fan_out).astype(np.float32)]
    return weights


def _check_weights(weights) -> list:
    if not isinstance(weights, (list, tuple)) or len(weights) not in (2, 4):
        raise ValueError("weights must be a list [W, b] (logistic) or [W1, b1, W2, b2] (one hidden layer), "
                         f"got {type(weights).__name__} of length {len(weights) if hasattr(weights, '__len__') else '?'}")
    return [np.asarray(w, dtype=np.float64) for w in weights]


def predict_proba(weights, X) -> np.ndarray:
    """p(disease) for rows X under a logistic or one-hidden-layer model given as a weight list."""
    w = _check_weights(weights)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != w[0].shape[0]:
        raise ValueError(f"X must have shape (n, {w[0].shape[0]}), got {X.shape}")
    h = X
    if len(w) == 4:
        h = np.maximum(h @ w[0] + w[1], 0.0)
        w = w[2:]
    z = (h @ w[0] + w[1])[:, 0]
    return 1.0 / (1.0 + np.exp(-z))


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def hospital_metrics(weights_by_hospital, split, part: str = "test") -> pd.DataFrame:
    """Accuracy (threshold 0.5) and AUC on each hospital's ``part`` rows.

    ``weights_by_hospital``: one weight list for every hospital (a global model),
    or a dict {hospital: weights} (local or personalised models).
    """
    parts = split._part(part)
    rows = []
    for h in split.hospitals:
        w = weights_by_hospital[h] if isinstance(weights_by_hospital, dict) else weights_by_hospital
        X, y = parts[h]
        p = predict_proba(w, X)
        rows.append({"hospital": h, "accuracy": float(np.mean((p > 0.5) == (y > 0.5))),
                     "auc": _auc(y, p), "n_test": len(y), "positives": int(y.sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# NumPy training (local-only, pooled, fine-tuning, slider FedAvg)
# --------------------------------------------------------------------------

def batch_stream(n: int, batch_size: int, steps: int, rng=None) -> list:
    """Index batches as ``ds.shuffle(n).repeat().batch(b).take(steps)`` yields them.

    rng=None keeps the row order; otherwise every pass over the data is a fresh
    permutation from ``rng``. Batches may straddle two passes, as in tf.data.
    """
    _positive_int("n", n), _positive_int("batch_size", batch_size), _positive_int("steps", steps)
    need = batch_size * steps
    passes = [np.arange(n) if rng is None else rng.permutation(n) for _ in range(-(-need // n))]
    stream = np.concatenate(passes)[:need]
    return list(stream.reshape(steps, batch_size))


def train_logreg(X, y, weights, batches, optimizer: str = "adam", lr: float = 0.001,
                 eps: float = 1e-8, mu: float = 0.0, anchor=None) -> list:
    """Minibatch training of logistic regression with mean BCE; returns [W, b] (float32).

    ``batches``: a list of row-index arrays (see ``batch_stream``), one per step.
    optimizer "adam" (β1 .9, β2 .999, ``eps``) or "sgd". ``mu`` ≠ 0 adds FedProx's
    term μ/2·‖w − anchor‖² (``anchor`` = the round's global weights). A negative ``mu``
    reproduces TFF 0.87's ``build_weighted_fed_prox``, which adds μ·(anchor − w) to the
    gradient: the proximal pull has the wrong sign there (shown in chapter 05).
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r}; use 'adam' or 'sgd'")
    lr = _positive_float("lr", lr)
    if not isinstance(mu, (int, float, np.number)) or isinstance(mu, bool) or not math.isfinite(mu):
        raise ValueError(f"mu must be a finite number, got {mu!r}")
    w0 = _check_weights(weights)
    if len(w0) != 2:
        raise ValueError("train_logreg trains logistic regression only: weights must be [W, b]")
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64).reshape(-1)
    # Work on the augmented vector θ = (w, b) with a column of ones appended to X.
    Xa = np.hstack([X, np.ones((len(X), 1))])
    theta = np.append(w0[0][:, 0], w0[1][0])
    anchor_theta = theta.copy() if anchor is None else np.append(*[a.reshape(-1) for a in _check_weights(anchor)])
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, idx in enumerate(batches, start=1):
        xb = Xa[idx]
        p = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        g = xb.T @ (p - y[idx]) / len(idx)  # gradient of the mean BCE
        if mu:
            g = g + mu * (theta - anchor_theta)
        if optimizer == "sgd":
            theta = theta - lr * g
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    w, b = theta[:-1], theta[-1]
    return [w[:, None].astype(np.float32), np.array([b], np.float32)]


def _epoch_batches(n, batch_size, epochs, rng):
    """PyTorch-DataLoader-style batches: a fresh permutation each epoch, last batch may be short."""
    out = []
    for _ in range(epochs):
        order = rng.permutation(n)
        out += [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return out


def _train_central(X, y, config: MethodConfig, seed: int, n_features: int):
    rng = np.random.default_rng([seed, len(y)])
    batches = _epoch_batches(len(y), config.batch_size, config.epochs, rng)
    return train_logreg(X, y, initial_weights(seed, n_features), batches, "adam", config.lr)


def numpy_fedavg(parts: dict, rounds: int = 15, local_steps: int = 100, batch_size: int = 4,
                 client_lr: float = 0.001, seed: int = 0, weighting: str = "size",
                 shuffle: bool = True, weights=None, mu: float = 0.0) -> list:
    """FedAvg (or FedProx with ``mu``) for logistic regression in plain NumPy; returns [W, b].

    Each round every client starts from the global weights and takes ``local_steps``
    SGD steps; the server moves the global weights by the weighted mean of the
    client changes. ``weighting``: "size" (by training rows, as FLamby) or
    "examples" (by examples processed, as TFF's NUM_EXAMPLES; equal here).
    """
    if weighting not in ("size", "examples"):
        raise ValueError(f"unknown weighting {weighting!r}; use 'size' or 'examples'")
    if not isinstance(parts, dict) or not parts:
        raise ValueError("parts must be a non-empty dict {client: (X, y)}")
    rounds = _positive_int("rounds", rounds)
    n_features = np.asarray(next(iter(parts.values()))[0]).shape[1]
    global_w = _check_weights(weights if weights is not None else initial_weights(seed, n_features))
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        deltas, sizes = [], []
        for X, y in parts.values():
            if len(y) == 0:
                raise ValueError("every client needs at least one row")
            batches = batch_stream(len(y), batch_size, local_steps, rng if shuffle else None)
            new = train_logreg(X, y, global_w, batches, "sgd", client_lr, mu=mu, anchor=global_w)
            deltas.append([n - g for n, g in zip(new, global_w)])
            sizes.append(len(y) if weighting == "size" else batch_size * local_steps)
        share = np.asarray(sizes, np.float64) / np.sum(sizes)
        global_w = [g + sum(s * d[i] for s, d in zip(share, deltas)) for i, g in enumerate(global_w)]
    return [w.astype(np.float32) for w in global_w]


def fine_tune(weights, split, steps: int = 10, lr: float = 0.01, batch_size: int = 4,
              seed: int = 0) -> dict:
    """Personalisation: each hospital takes ``steps`` SGD steps on its own training rows
    starting from the global ``weights``. Returns {hospital: weights}."""
    _positive_int("steps", steps)
    rng = np.random.default_rng(seed)
    return {h: train_logreg(*split.train[h], weights,
                            batch_stream(len(split.train[h][1]), batch_size, steps, rng), "sgd", lr)
            for h in split.hospitals}


# --------------------------------------------------------------------------
# TFF
# --------------------------------------------------------------------------

class FederatedProcess:
    """One TFF learning process (built once), run for any seed.

    ``run(split, seed)`` sets the initial weights from ``seed``, feeds each hospital
    ``local_steps`` batches per round (``repeat().batch().take()``, reshuffled every
    round from the seed) and returns the final global weights; ``round_times``
    holds the seconds per round of the last run.
    """

    def __init__(self, config: MethodConfig, n_features: int = 13):
        if config.method not in FEDERATED:
            raise ValueError(f"method {config.method!r} is not federated; use one of {list(FEDERATED)}")
        import tensorflow as tf
        import tensorflow_federated as tff

        self.config, self.n_features = config, _positive_int("n_features", n_features)
        spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None, 1], tf.float32))

        def model_fn():
            return tff.learning.models.from_keras_model(
                make_keras_model(n_features, config.hidden), loss=tf.keras.losses.BinaryCrossentropy(),
                input_spec=spec)

        opt = tff.learning.optimizers
        client = opt.build_sgdm(learning_rate=config.client_lr)
        if config.method == "fedprox":
            self.process = tff.learning.algorithms.build_weighted_fed_prox(
                model_fn, proximal_strength=config.mu, client_optimizer_fn=client,
                server_optimizer_fn=opt.build_sgdm(learning_rate=config.server_lr))
        else:
            server = {
                "fedavg": opt.build_sgdm(learning_rate=config.server_lr),
                "fedadam": opt.build_adam(learning_rate=config.server_lr, beta_1=0.9,
                                                  beta_2=0.999, epsilon=config.tau),
                "fedyogi": opt.build_yogi(learning_rate=config.server_lr, beta_1=0.9,
                                                  beta_2=0.999, epsilon=config.tau),
            }[config.method]
            self.process = tff.learning.algorithms.build_weighted_fed_avg(
                model_fn, client_optimizer_fn=client, server_optimizer_fn=server)
        self.round_times: list = []

    def client_datasets(self, split, seed: int, round_number: int, shuffle: bool = True) -> list:
        import tensorflow as tf

        c = self.config
        out = []
        for i, h in enumerate(split.hospitals):
            X, y = split.train[h]
            ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)[:, None]))
            if shuffle:
                ds = ds.shuffle(len(y), seed=seed * 100_003 + round_number * 101 + i,
                                reshuffle_each_iteration=True)
            out.append(ds.repeat().batch(c.batch_size).take(c.local_steps))
        return out

    def run(self, split, seed: int, weights=None, shuffle: bool = True, progress=None,
            history: bool = False):
        """Train from ``weights`` (default: ``initial_weights(seed)``); returns final weights
        (and, with history=True, the mean per-centre test accuracy after each round)."""
        import tensorflow_federated as tff

        c = self.config
        w0 = weights if weights is not None else initial_weights(seed, self.n_features, c.hidden)
        state = self.process.initialize()
        state = self.process.set_model_weights(
            state, tff.learning.models.ModelWeights(trainable=[np.asarray(w, np.float32) for w in w0],
                                                    non_trainable=[]))
        self.round_times, curve = [], []
        for r in range(c.rounds):
            data = self.client_datasets(split, seed, r, shuffle)
            t0 = time.perf_counter()
            state = self.process.next(state, data).state
            self.round_times.append(time.perf_counter() - t0)
            if history:
                curve.append(hospital_metrics(self.weights(state), split)["accuracy"].mean())
            if progress is not None:
                progress.update(1)
        final = self.weights(state)
        return (final, curve) if history else final

    def weights(self, state) -> list:
        return [np.asarray(w, np.float32) for w in self.process.get_model_weights(state).trainable]


_PROCESSES: dict = {}


def get_process(config: MethodConfig, n_features: int = 13) -> FederatedProcess:
    """The TFF process for ``config``, built on first use and cached (building takes seconds).

    Rounds do not change the computation, so configs that differ only in ``rounds`` share one.
    """
    key = (replace(config, rounds=1), n_features)
    if key not in _PROCESSES:
        _PROCESSES[key] = FederatedProcess(replace(config, rounds=1), n_features)
    proc = _PROCESSES[key]
    proc.config = config
    return proc


# --------------------------------------------------------------------------
# The experiment
# --------------------------------------------------------------------------

@dataclass
class Results:
    """Output of ``run_experiment``.

    ``per_hospital``: one row per (method, seed, hospital) with accuracy, AUC, n_test.
    ``weights[(method, seed)]``: final weights (a dict per hospital for "local").
    ``round_times[method]``: seconds per federated round over all seeds.
    ``configs[method]``: the MethodConfig used.
    """

    per_hospital: pd.DataFrame
    weights: dict = field(default_factory=dict, repr=False)
    round_times: dict = field(default_factory=dict)
    configs: dict = field(default_factory=dict)
    source: str = ""

    def summary(self) -> pd.DataFrame:
        return summarize(self.per_hospital)


def _check_seeds(seeds) -> tuple:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = (seeds,)
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. (42, 43, 44, 45, 46)")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seed {s!r} is not a non-negative integer")
    return seeds


def run_experiment(split, methods=METHODS, seeds=SEEDS, configs=None, progress: bool = True) -> Results:
    """Train every method for every seed; return per-hospital test metrics.

    ``methods``: names from METHODS, or MethodConfig objects. ``configs``: optional
    {method: MethodConfig} overriding FLamby's settings (see ``flamby_config``).
    Seeds change the initial weights and the order of the batches.
    """
    if isinstance(methods, (str, MethodConfig)):
        methods = (methods,)
    seeds = _check_seeds(seeds)
    configs = dict(configs or {})
    for m, c in configs.items():
        _check_method(m)
        if not isinstance(c, MethodConfig) or c.method != m:
            raise ValueError(f"configs[{m!r}] must be a MethodConfig with method={m!r}, got {c!r}")
    chosen = []
    for m in methods:
        c = m if isinstance(m, MethodConfig) else configs.get(_check_method(m), None) or flamby_config(m)
        chosen.append(c)
    if not chosen:
        raise ValueError(f"methods is empty; choose from {list(METHODS)}")
    n_features = len(split.feature_names)
    from tqdm.auto import tqdm

    total = sum(len(seeds) * (c.rounds if c.method in FEDERATED else 1) for c in chosen)
    bar = tqdm(total=total, desc="training", disable=not progress, leave=False)
    rows, weights, times = [], {}, {}
    for c in chosen:
        bar.set_description(METHOD_LABELS[c.method])
        if c.method in FEDERATED:
            proc = get_process(c, n_features)
            times[c.method] = []
        for seed in seeds:
            if c.method == "local":
                w = {h: _train_central(*split.train[h], c, seed, n_features) for h in split.hospitals}
                bar.update(1)
            elif c.method == "pooled":
                w = _train_central(*split.pooled("train"), c, seed, n_features)
                bar.update(1)
            else:
                w = proc.run(split, seed, progress=bar)
                times[c.method] += proc.round_times
            weights[(c.method, seed)] = w
            table = hospital_metrics(w, split)
            table.insert(0, "seed", seed)
            table.insert(0, "method", c.method)
            rows.append(table)
    bar.close()
    return Results(per_hospital=pd.concat(rows, ignore_index=True), weights=weights,
                   round_times={m: float(np.mean(t)) for m, t in times.items()},
                   configs={c.method: c for c in chosen}, source=getattr(split, "source", ""))


def summarize(per_hospital: pd.DataFrame) -> pd.DataFrame:
    """Methods × (mean per-centre accuracy, AUC): mean and standard deviation over seeds.

    Per seed, accuracy and AUC are averaged over hospitals (AUC over the hospitals
    where it is defined); then mean and std (ddof=1) are taken over seeds.
    """
    need = {"method", "seed", "hospital", "accuracy", "auc"}
    if not isinstance(per_hospital, pd.DataFrame) or not need <= set(per_hospital.columns):
        raise ValueError(f"per_hospital must be a DataFrame with columns {sorted(need)}")
    per_seed = per_hospital.groupby(["method", "seed"], sort=False)[["accuracy", "auc"]].mean()
    out = per_seed.groupby("method", sort=False).agg(
        accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
        auc=("auc", "mean"), auc_std=("auc", "std"), seeds=("accuracy", "size"))
    out["flamby"] = [FLAMBY_PUBLISHED.get(m, float("nan")) for m in out.index]
    return out


# --------------------------------------------------------------------------
# Scoring a new patient with an exported model
# --------------------------------------------------------------------------

def encode_patient(record: dict, split, hospital: str) -> np.ndarray:
    """One raw patient record (FLamby's 10 columns) → the model's 13 standardised features.

    One-hot cp/restecg as in training, then the hospital's own training mean/std.
    """
    from utils.data import FLAMBY_COLUMNS, check_hospitals, flamby_one_hot

    check_hospitals([hospital])
    missing = [c for c in FLAMBY_COLUMNS if c not in record]
    if missing:
        raise ValueError(f"patient record lacks {missing}; it needs {list(FLAMBY_COLUMNS)}")
    bad = [c for c in FLAMBY_COLUMNS if not isinstance(record[c], (int, float, np.number))
           or isinstance(record[c], bool) or not math.isfinite(record[c])]
    if bad:
        raise ValueError(f"patient record has non-numeric or missing values in {bad}")
    frame = flamby_one_hot(pd.DataFrame([{c: float(record[c]) for c in FLAMBY_COLUMNS}]))
    x = frame[split.feature_names].to_numpy(np.float64)
    if hospital not in split.stats:
        raise ValueError(f"split has no standardisation statistics for {hospital!r}")
    mean, std = split.stats[hospital]
    return ((x - mean) / (std + 1e-9)).astype(np.float32)


# --------------------------------------------------------------------------
# Command line: the case-study benchmark
# --------------------------------------------------------------------------

def tuned_configs() -> dict:
    """The settings chapter 05 reports besides FLamby's (see the notebook for why)."""
    return {"fedavg": flamby_config("fedavg").with_(client_lr=0.01),
            "fedprox": flamby_config("fedprox").with_(client_lr=0.01)}


def format_table(summary: pd.DataFrame, round_times: dict | None = None) -> str:
    lines = [f"{'method':<27} {'mean per-centre acc':>21} {'mean AUC':>17} {'FLamby':>7} {'s/round':>8}"]
    for m, r in summary.iterrows():
        label = str(m)
        t = (round_times or {}).get(str(m).split(" ")[0])
        lines.append(f"{label:<27} {r.accuracy:10.3f} ± {r.accuracy_std:.3f}       "
                     f"{r.auc:7.3f} ± {r.auc_std:.3f}  "
                     f"{'' if math.isnan(r.flamby) else f'{r.flamby:.3f}':>7} "
                     f"{'' if t is None else f'{t:.3f}':>8}")
    return "\n".join(lines)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m utils.experiments",
                                 description="Chapter 05's case-study table on the four hospitals.")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--flamby-only", action="store_true", help="skip the tuned settings")
    args = ap.parse_args(argv)

    from utils.setup import setup

    setup(tff=True, quiet=True)
    from utils.data import load_heart_disease

    split = load_heart_disease()
    print(f"data: {split.source}. {split.note}".strip())
    t0 = time.perf_counter()
    res = run_experiment(split, args.methods, args.seeds, progress=False)
    summary = res.summary()
    summary.index = [f"{m} (FLamby settings)" if m in FEDERATED else m for m in summary.index]
    times = {k: v for k, v in res.round_times.items()}
    if not args.flamby_only:
        tuned = {m: c for m, c in tuned_configs().items() if m in args.methods}
        if tuned:
            res2 = run_experiment(split, list(tuned.values()), args.seeds, progress=False)
            s2 = res2.summary()
            s2.index = [f"{m} (tuned)" for m in s2.index]
            summary = pd.concat([summary, s2])
            times.update({f"{m}": v for m, v in res2.round_times.items()})
    print(f"\n{len(args.seeds)} seeds {args.seeds}; mean per-centre test accuracy and AUC (± std over seeds)\n")
    print(format_table(summary, times))
    print("\nsettings:")
    for m in args.methods:
        print(f"  {m:<8} FLamby: {flamby_config(m).describe()}")
    if not args.flamby_only:
        for m, c in tuned_configs().items():
            print(f"  {m:<8} tuned : {c.describe()}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
