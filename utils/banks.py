"""Credit risk across banks: the credit clients dealt to four "banks" by education, the metrics a
risk team reads (AUC, recall at a fixed false-positive rate), and the trainers. Introduced in chapter 08.

The data has no region or branch column, so the banks are the education groups of
``utils.credit.EDUCATION_GROUPS``: banks that serve different clienteles, with natural size and
label skew. Each bank's rows are split at random (stratified by label) into training, validation and
test rows; the features are standardised with the training rows' mean and standard deviation over all
banks, which the banks compute federatedly from counts, sums and sums of squares
(``utils.fedcore.federated_mean_std``).

Local-only and pooled models are trained to their optimum (``train_logistic``); the federated ones by
TFF (``build_bank_process``, ``run_tff_banks``: client SGD, each bank weighted by its training rows,
server SGD = FedAvg or server Adam = FedAdam) or by the NumPy core, which computes the same thing
(``run_numpy_banks``; chapter 08 checks the two agree).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils import validate as v
from utils.credit import FEATURE_NAMES, LABEL, CreditData, education_group, model_features
from utils.fedcore import ServerOptimizer, federated_mean_std, run_fedavg
from utils.local_training import Schedule
from utils.models import initial_weights, predict_proba, to_theta

__all__ = ["BANKS", "BANK_NAMES", "PARTS", "BankSplit", "bank_split", "auc", "recall_at_fpr", "bank_metrics",
           "train_logistic", "run_numpy_banks", "build_bank_process", "run_tff_banks"]

BANKS = ("graduate", "university", "high_school", "other")
BANK_NAMES = {"graduate": "Bank G (graduate school)", "university": "Bank U (university)",
              "high_school": "Bank H (high school)", "other": "Bank O (other codes)"}
PARTS = ("train", "val", "test")
SERVERS = ("sgd", "adam")


@dataclass
class BankSplit:
    """Per part ("train", "val", "test"): ``{bank: (X, y)}`` standardised features and 0/1 labels;
    ``rows[part][bank]``: the raw table rows behind them (for audits, e.g. by SEX);
    ``mean``/``std``: the shared training statistics used to standardise."""

    parts: dict
    rows: dict
    feature_names: list
    mean: np.ndarray
    std: np.ndarray
    source: str = ""

    def part(self, name: str) -> dict:
        """``{bank: (X, y)}`` of one part."""
        return self.parts[v.choice("name", name, PARTS)]

    def pooled(self, name: str = "train") -> tuple:
        """All banks' rows of one part stacked: (X, y)."""
        part = self.part(name)
        return np.vstack([X for X, _ in part.values()]), np.concatenate([y for _, y in part.values()])

    def sizes(self) -> pd.DataFrame:
        """Rows per bank and part, and each bank's default rate over all its rows."""
        table = pd.DataFrame({p: {b: len(self.parts[p][b][1]) for b in BANKS} for p in PARTS})
        table["default rate"] = [float(np.mean(np.concatenate([self.parts[p][b][1] for p in PARTS]))) for b in BANKS]
        table.index = [BANK_NAMES[b] for b in BANKS]
        return table


def bank_split(data: CreditData, fractions=(0.6, 0.2, 0.2), seed: int = 0) -> BankSplit:
    """Deal the clients to the four banks by education, split each bank's rows into training,
    validation and test rows (stratified by label, seeded) and standardise every part with the
    training rows' shared statistics."""
    if not isinstance(data, CreditData):
        raise TypeError(f"data must be the CreditData that load_credit() returns, got {type(data).__name__}")
    fractions = v.vector("fractions", fractions, 3)
    if (fractions <= 0).any() or abs(fractions.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three shares > 0 that sum to 1, got {fractions.tolist()}")
    rng = np.random.default_rng(v.seed("seed", seed))
    frame = data.frame
    group = education_group(frame["EDUCATION"].to_numpy())
    rows = {p: {} for p in PARTS}
    for b in BANKS:
        bank = frame[group == b]
        picks = {p: [] for p in PARTS}
        for label in (0, 1):
            idx = rng.permutation(np.flatnonzero(bank[LABEL].to_numpy() == label))
            cuts = np.round(np.cumsum(fractions)[:2] * len(idx)).astype(int)
            for p, chunk in zip(PARTS, np.split(idx, cuts)):
                picks[p].append(chunk)
        for p in PARTS:
            rows[p][b] = bank.iloc[np.sort(np.concatenate(picks[p]))]
        if any(len(rows[p][b]) == 0 or rows[p][b][LABEL].nunique() < 2 for p in PARTS):
            raise ValueError(f"bank {b!r} has too few rows of one class to split them {fractions.tolist()}")
    raw = {p: {b: (model_features(rows[p][b]), rows[p][b][LABEL].to_numpy(float)) for b in BANKS} for p in PARTS}
    mean, std = federated_mean_std([raw["train"][b][0] for b in BANKS])
    std = np.where(std > 0, std, 1.0)
    parts = {p: {b: ((X - mean) / std, y) for b, (X, y) in raw[p].items()} for p in PARTS}
    return BankSplit(parts=parts, rows=rows, feature_names=list(FEATURE_NAMES), mean=mean, std=std, source=data.source)


def _scores(y, scores):
    y = v.binary("y", v.vector("y", y))
    scores = v.vector("scores", scores, len(y))
    return y, scores


def auc(y, scores) -> float:
    """Area under the ROC curve: the chance that a random defaulter scores above a random
    non-defaulter (ties count half). NaN when only one class is present."""
    from scipy.stats import rankdata

    y, scores = _scores(y, scores)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def recall_at_fpr(y, scores, fpr: float = 0.1) -> float:
    """Share of defaulters flagged when at most a share ``fpr`` of the good clients is flagged: the
    ROC curve's true-positive rate at the largest false-positive rate ≤ ``fpr`` (clients scoring
    strictly above the threshold are flagged). NaN when only one class is present."""
    y, scores = _scores(y, scores)
    fpr = v.fraction("fpr", fpr)
    neg, pos = np.sort(scores[y == 0])[::-1], scores[y == 1]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allowed = int(np.floor(fpr * len(neg) + 1e-9))  # negatives that may be flagged
    threshold = neg[allowed] if allowed < len(neg) else -np.inf
    return float(np.mean(pos > threshold))


def bank_metrics(model, split: BankSplit, part: str = "test", fpr: float = 0.1) -> pd.DataFrame:
    """AUC and recall at false-positive rate ``fpr`` of ``model`` on each bank's ``part`` rows.
    ``model``: one model for all banks (theta or [W, b]) or ``{bank: model}`` (local models)."""
    if not isinstance(split, BankSplit):
        raise TypeError(f"split must be the BankSplit that bank_split() returns, got {type(split).__name__}")
    fpr = v.fraction("fpr", fpr)
    rows = []
    for b, (X, y) in split.part(v.choice("part", part, PARTS)).items():
        if isinstance(model, dict) and b not in model:
            raise ValueError(f"model has no entry for bank {b!r}; it has {list(model)}")
        p = predict_proba(model[b] if isinstance(model, dict) else model, X)
        rows.append({"bank": b, "auc": auc(y, p), "recall": recall_at_fpr(y, p, fpr), "rows": len(y),
                     "defaulters": int(y.sum())})
    return pd.DataFrame(rows)


def train_logistic(X, y, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression trained alone (one bank by itself, or the pooled rows) to its optimum:
    mean log-loss + ``l2``/2 · ‖w‖² (bias not penalised), minimised by L-BFGS. Deterministic.
    Returns theta = (w, b)."""
    from scipy.optimize import minimize

    X, y = v.xy(X, y, labels01=True)
    l2 = v.nonneg("l2", l2)
    A = np.column_stack([X, np.ones(len(y))])
    penalty = np.r_[np.full(X.shape[1], l2), 0.0]

    def objective(theta):
        z = A @ theta
        return (float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * theta ** 2)),
                A.T @ (predict_proba(theta, X) - y) / len(y) + penalty * theta)

    result = minimize(objective, np.zeros(A.shape[1]), jac=True, method="L-BFGS-B",
                      options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-15})
    return result.x


def _server(server: str, server_lr: float, epsilon: float) -> ServerOptimizer:
    kind = v.choice("server", server, SERVERS)
    return ServerOptimizer(kind, v.positive("server_lr", server_lr), eps=v.positive("epsilon", epsilon))


def run_numpy_banks(split: BankSplit, rounds: int, client_lr: float, server: str = "sgd", server_lr: float = 1.0,
                    epsilon: float = 1e-3, batch_size: int = 64, epochs: int = 1, seed: int = 0, part: str = "train",
                    shuffle: bool = True) -> np.ndarray:
    """FedAvg (server "sgd") or FedAdam (server "adam", bias-corrected like TFF's) with the NumPy core:
    each round every bank makes ``epochs`` passes of SGD over its ``part`` rows in batches of ``batch_size``,
    updates weighted by the bank's rows. Starts from ``initial_weights(seed)``; returns theta."""
    if not isinstance(split, BankSplit):
        raise TypeError(f"split must be the BankSplit that bank_split() returns, got {type(split).__name__}")
    clients = split.part(v.choice("part", part, PARTS))
    seed = v.seed("seed", seed)
    history = run_fedavg(clients, v.integer("rounds", rounds, 1, 10_000), lr=v.positive("client_lr", client_lr),
                         theta0=to_theta(initial_weights(seed, len(split.feature_names))),
                         schedule=Schedule(batch_size=v.integer("batch_size", batch_size, 1),
                                           epochs=v.integer("epochs", epochs, 1, 1000),
                                           shuffle=v.flag("shuffle", shuffle)),
                         server=_server(server, server_lr, epsilon), weighting="size", seed=seed)
    return history.final


def build_bank_process(n_features: int, client_lr: float, server: str = "sgd", server_lr: float = 1.0,
                       epsilon: float = 1e-3):
    """A TFF learning process for the banks: logistic regression (Keras Dense(1, sigmoid)), client
    SGD at ``client_lr``, updates weighted by each bank's rows (``utils.tff_custom.build_sized_fedopt``),
    applied by server SGD (FedAvg) or TFF's Adam (FedAdam; ``epsilon`` is Adam's ε, τ in Reddi et al.)."""
    import tensorflow as tf
    import tensorflow_federated as tff

    from utils.keras_fedavg import keras_model
    from utils.tff_custom import build_sized_fedopt

    n_features = v.integer("n_features", n_features, 1, 100_000)
    client_lr = v.positive("client_lr", client_lr)
    opt = _server(server, server_lr, epsilon)
    spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None, 1], tf.float32))

    def model_fn():
        return tff.learning.models.from_keras_model(keras_model(n_features), loss=tf.keras.losses.BinaryCrossentropy(),
                                                    input_spec=spec)

    server_opt = (tff.learning.optimizers.build_sgdm(learning_rate=opt.lr) if opt.kind == "sgd" else
                  tff.learning.optimizers.build_adam(learning_rate=opt.lr, beta_1=0.9, beta_2=0.999, epsilon=opt.eps))
    process = build_sized_fedopt(model_fn, client_lr, server_opt)
    process.n_features = n_features
    return process


def run_tff_banks(process, split: BankSplit, rounds: int, batch_size: int = 64, epochs: int = 1, seed: int = 0,
                  shuffle: bool = True, part: str = "train", progress=None) -> list:
    """Train ``process`` (from ``build_bank_process``) for ``rounds`` rounds from ``initial_weights(seed)``:
    each round every bank makes ``epochs`` passes over its ``part`` rows in batches of ``batch_size``,
    each pass reshuffled from ``seed`` when ``shuffle``. Returns the final [kernel, bias]."""
    import tensorflow as tf
    import tensorflow_federated as tff

    from utils.tff_custom import sized_client_data

    if not hasattr(process, "next") or not hasattr(process, "n_features"):
        raise TypeError(f"process must come from build_bank_process(), got {type(process).__name__}")
    if not isinstance(split, BankSplit):
        raise TypeError(f"split must be the BankSplit that bank_split() returns, got {type(split).__name__}")
    if len(split.feature_names) != process.n_features:
        raise ValueError(f"split has {len(split.feature_names)} features, process was built for {process.n_features}")
    rounds, batch_size = v.integer("rounds", rounds, 1, 10_000), v.integer("batch_size", batch_size, 1)
    epochs = v.integer("epochs", epochs, 1, 1000)
    seed, shuffle = v.seed("seed", seed), v.flag("shuffle", shuffle)
    if progress is not None and not hasattr(progress, "update"):
        raise TypeError(f"progress must be a progress bar with .update() (e.g. tqdm), got {progress!r}")
    clients = split.part(v.choice("part", part, PARTS))
    state = process.initialize()
    w0 = [np.asarray(w, np.float32) for w in initial_weights(seed, process.n_features)]
    state = process.set_model_weights(state, tff.learning.models.ModelWeights(trainable=w0, non_trainable=[]))
    for r in range(rounds):
        data = []
        for k, (X, y) in enumerate(clients.values()):
            ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)[:, None]))
            if shuffle:
                ds = ds.shuffle(len(y), seed=seed * 100_003 + r * 101 + k, reshuffle_each_iteration=True)
            data.append(ds.batch(batch_size).repeat(epochs))
        state = process.next(state, sized_client_data(data, [len(y) for _, y in clients.values()])).state
        if progress is not None:
            progress.update(1)
    return [np.asarray(w, np.float32) for w in process.get_model_weights(state).trainable]
