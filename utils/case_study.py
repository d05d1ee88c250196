"""The four-hospital case study: every method × every seed → a per-hospital metrics table.
Introduced in chapter 05; chapters 06 and 07 reuse it.

Everything follows FLamby's Fed-Heart-Disease protocol unless a ``MethodConfig`` says otherwise
(``utils.methods``). Local-only and pooled models are trained by the NumPy core (Adam, as FLamby);
the federated methods by TensorFlow Federated (``utils.tff_learning``), one TFF process per
configuration, reused across seeds. The metric is accuracy at threshold 0.5 on each hospital's own
test set, then the mean over hospitals ("mean per-centre accuracy"); AUC is reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from utils import validate as v
from utils.flamby import FederatedSplit, flamby_one_hot
from utils.heart import FLAMBY_COLUMNS, check_hospitals
from utils.local_training import epoch_batches, local_train, stream_batches
from utils.methods import FEDERATED, METHODS, SEEDS, MethodConfig, flamby_config, same_settings
from utils.models import initial_weights, predict_proba, to_theta, to_weights

__all__ = ["hospital_metrics", "train_central", "train_numpy_federated", "fine_tune", "Results", "run_experiment", "summarize",
           "encode_patient"]


def _split(split) -> FederatedSplit:
    if not isinstance(split, FederatedSplit):
        raise TypeError(f"split must be the FederatedSplit that load_heart_disease() returns, got "
                        f"{type(split).__name__}")
    return split


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def hospital_metrics(model, split, part: str = "test") -> pd.DataFrame:
    """Accuracy (threshold 0.5) and AUC of ``model`` on each hospital's ``part`` rows.

    ``model``: one global model (theta or a weight list) for every hospital, or a dict
    ``{hospital: model}`` (local or personalised models).
    """
    rows = []
    for h in _split(split).hospitals:
        if isinstance(model, dict) and h not in model:
            raise ValueError(f"model has no entry for hospital {h!r}; it has {list(model)}")
        X, y = split._part(v.choice("part", part, ("train", "test")))[h]
        p = predict_proba(model[h] if isinstance(model, dict) else model, X)
        rows.append({"hospital": h, "accuracy": float(np.mean((p > 0.5) == (y > 0.5))), "auc": _auc(y, p),
                     "n_test": len(y), "positives": int(y.sum())})
    return pd.DataFrame(rows)


def train_central(X, y, config: MethodConfig, seed: int) -> list:
    """A local-only or pooled model: ``config.epochs`` epochs of Adam on (X, y), shuffled like
    PyTorch's DataLoader from ``seed``, starting from ``initial_weights(seed)``; returns [W, b]."""
    if not isinstance(config, MethodConfig):
        raise TypeError(f"config must be a MethodConfig, got {type(config).__name__}")
    X, y = v.xy(X, y, labels01=True)
    rng = np.random.default_rng([v.seed("seed", seed), len(y)])
    theta = local_train(to_theta(initial_weights(seed, X.shape[1])), X, y,
                        epoch_batches(len(y), config.batch_size, config.epochs, rng),
                        optimizer="adam", lr=config.lr)
    return to_weights(theta)


def train_numpy_federated(split, config: MethodConfig, seed: int) -> list:
    """A federated method of ``config`` trained by the NumPy core: ``config.rounds`` rounds of
    ``config.local_steps`` shuffled batches per hospital, from ``initial_weights(seed)``; returns [W, b]."""
    from utils.fedcore import ServerOptimizer, run_fedavg
    from utils.local_training import Schedule

    if not isinstance(config, MethodConfig) or config.method not in FEDERATED or config.hidden is not None:
        raise ValueError(f"config must be a federated logistic-regression MethodConfig, got {config!r}")
    kind = {"fedadam": "adam", "fedyogi": "yogi"}.get(config.method, "sgd")
    server = ServerOptimizer(kind, config.server_lr, eps=config.tau, bias_correction=config.bias_correction,
                             initial_v=1e-6 if kind == "yogi" and config.bias_correction else 0.0)
    history = run_fedavg(_split(split).train, config.rounds, lr=config.client_lr, mu=config.mu, seed=seed,
                         theta0=to_theta(initial_weights(seed, len(split.feature_names))), server=server,
                         schedule=Schedule(batch_size=config.batch_size, steps=config.local_steps, shuffle=True),
                         weighting=config.weighting)
    return to_weights(history.final)


def fine_tune(weights, split, steps: int = 10, lr: float = 0.01, batch_size: int = 4, seed: int = 0) -> dict:
    """Personalisation: each hospital takes ``steps`` SGD steps on its own training rows from the
    global ``weights``. Returns ``{hospital: weights}``."""
    theta = to_theta(weights)
    steps, batch_size = v.integer("steps", steps, 1, v.MAX_STEPS), v.integer("batch_size", batch_size, 1)
    rng = np.random.default_rng(v.seed("seed", seed))
    return {h: to_weights(local_train(theta, *split.train[h], stream_batches(len(split.train[h][1]), batch_size,
                                                                               steps, rng), lr=lr))
            for h in _split(split).hospitals}


@dataclass
class Results:
    """Output of ``run_experiment``.

    ``per_hospital``: one row per (method, seed, hospital) with accuracy, AUC, n_test.
    ``weights[(label, seed)]``: final weights (a dict per hospital for "local").
    ``round_times[label]``: seconds per federated round over all seeds.
    ``configs[label]``: the MethodConfig used.
    """

    per_hospital: pd.DataFrame
    weights: dict = field(default_factory=dict, repr=False)
    round_times: dict = field(default_factory=dict)
    configs: dict = field(default_factory=dict)
    source: str = ""

    def summary(self) -> pd.DataFrame:
        """``summarize`` of the runs, with the settings of each row and FLamby's published mean and
        range over its 5 seeds where FLamby ran exactly these settings."""
        from utils.methods import flamby_results

        out = summarize(self.per_hospital)
        flamby = flamby_results()
        for label in out.index:
            c = self.configs[label]
            same = c.method in flamby and same_settings(c, flamby_config(c.method))
            for col, fn in (("flamby", "mean"), ("flamby_min", "min"), ("flamby_max", "max")):
                out.loc[label, col] = getattr(flamby[c.method], fn)() if same else float("nan")
            out.loc[label, "settings"] = c.describe()
        return out


def _check_seeds(seeds) -> tuple:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = (seeds,)
    if not isinstance(seeds, (list, tuple, range)):
        raise TypeError(f"seeds must be a list of integers, got {type(seeds).__name__}")
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. (42, 43, 44, 45, 46)")
    return tuple(v.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds))


def _configs(methods, configs) -> dict:
    """{label: MethodConfig} from a name, a config, a list of them, or a dict label -> name/config."""
    if isinstance(methods, (str, MethodConfig)):
        methods = (methods,)
    if isinstance(methods, dict):
        items = list(methods.items())
    elif isinstance(methods, (list, tuple)):
        items = [(m.method if isinstance(m, MethodConfig) else m, m) for m in methods]
    else:
        raise TypeError(f"methods must be a list of method names or MethodConfigs, or a dict label -> one, "
                        f"got {type(methods).__name__}")
    configs = dict(configs or {})
    for m, c in configs.items():
        v.choice("method", m, METHODS)
        if not isinstance(c, MethodConfig) or c.method != m:
            raise ValueError(f"configs[{m!r}] must be a MethodConfig with method={m!r}, got {c!r}")
    chosen = {}
    for label, m in items:
        if label in chosen:
            raise ValueError(f"two methods are labelled {label!r}: pass a dict {{label: config}} to tell them apart")
        chosen[label] = m if isinstance(m, MethodConfig) else configs.get(v.choice("method", m, METHODS)) \
            or flamby_config(m)
    if not chosen:
        raise ValueError(f"methods is empty; choose from {list(METHODS)}")
    return chosen


def run_experiment(split, methods=METHODS, seeds=SEEDS, configs=None, progress: bool = True) -> Results:
    """Train every method for every seed; return per-hospital test metrics.

    ``methods``: names from METHODS or MethodConfig objects (labelled by their method), or a dict
    {label: name or MethodConfig}; the label names the rows of the results. ``configs``: optional
    {method: MethodConfig} overriding FLamby's settings (see ``flamby_config``).
    Seeds change the initial weights and the order of the batches. Each config's ``scaling`` decides
    how its rows are standardised (``utils.methods.SCALINGS``); ``split`` may be scaled any way.
    """
    from tqdm.auto import tqdm

    from utils.tff_learning import get_process

    split = _split(split)
    seeds, chosen = _check_seeds(seeds), _configs(methods, configs)
    progress = v.flag("progress", progress)
    scaled = {"per-centre": split.restandardize("center"), "shared": split.restandardize("pooled")}
    n_features = len(split.feature_names)
    total = sum(len(seeds) * (c.rounds if c.method in FEDERATED else 1) for c in chosen.values())
    bar = tqdm(total=total, desc="training", disable=not progress, leave=False)
    rows, weights, times = [], {}, {}
    for label, c in chosen.items():
        bar.set_description(label)
        # FLamby's pooled baseline trains on pooled-scaled rows and is tested on per-centre scaled ones.
        train = scaled["shared" if c.scaling == "flamby" else c.scaling]
        test = scaled["per-centre" if c.scaling == "flamby" else c.scaling]
        if c.method in FEDERATED and c.engine == "tff":
            proc = get_process(c, n_features)
            times[label] = []
        for seed in seeds:
            if c.method == "local":
                w = {h: train_central(*train.train[h], c, seed) for h in train.hospitals}
            elif c.method == "pooled":
                w = train_central(*train.pooled("train"), c, seed)
            elif c.engine == "numpy":
                w = train_numpy_federated(train, c, seed)
            else:
                w = proc.run(train, seed, progress=bar)
                times[label] += proc.round_times
            if c.method not in FEDERATED or c.engine == "numpy":
                bar.update(1 if c.method not in FEDERATED else c.rounds)
            weights[(label, seed)] = w
            table = hospital_metrics(w, test)
            table.insert(0, "seed", seed)
            table.insert(0, "method", label)
            rows.append(table)
    bar.close()
    return Results(per_hospital=pd.concat(rows, ignore_index=True), weights=weights,
                   round_times={m: float(np.mean(t)) for m, t in times.items()},
                   configs=chosen, source=split.source)


def summarize(per_hospital: pd.DataFrame) -> pd.DataFrame:
    """Methods × (mean per-centre accuracy, AUC): mean and standard deviation over seeds.

    Per seed, accuracy and AUC are averaged over hospitals (AUC over the hospitals where it is
    defined); then mean and std (ddof=1) are taken over seeds.
    """
    need = {"method", "seed", "hospital", "accuracy", "auc"}
    if not isinstance(per_hospital, pd.DataFrame):
        raise TypeError(f"per_hospital must be a DataFrame, got {type(per_hospital).__name__}")
    if not need <= set(per_hospital.columns):
        raise ValueError(f"per_hospital must have the columns {sorted(need)}, got {list(per_hospital.columns)}")
    per_seed = per_hospital.groupby(["method", "seed"], sort=False)[["accuracy", "auc"]].mean()
    out = per_seed.groupby("method", sort=False).agg(
        accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
        auc=("auc", "mean"), auc_std=("auc", "std"), seeds=("accuracy", "size"))
    return out


def encode_patient(record: dict, split, hospital: str) -> np.ndarray:
    """One raw patient record (FLamby's 10 columns) → the model's 13 standardised features:
    one-hot cp/restecg as in training, then the hospital's own training mean and std."""
    split = _split(split)
    (hospital,) = check_hospitals([hospital])
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict {{column: value}}, got {type(record).__name__}")
    missing = [c for c in FLAMBY_COLUMNS if c not in record]
    if missing:
        raise ValueError(f"patient record lacks {missing}; it needs {list(FLAMBY_COLUMNS)}")
    values = {c: v.number(f"record[{c!r}]", record[c]) for c in FLAMBY_COLUMNS}
    if hospital not in split.stats:
        raise ValueError(f"split has no standardisation statistics for {hospital!r}")
    x = flamby_one_hot(pd.DataFrame([values]))[split.feature_names].to_numpy(np.float64)
    mean, std = split.stats[hospital]
    return ((x - mean) / (std + 1e-9)).astype(np.float32)
