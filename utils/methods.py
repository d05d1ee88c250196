"""The methods of the case study and their hyper-parameters, FLamby's published settings first.
Introduced in chapter 05.

``MethodConfig`` holds one method's settings; ``flamby_config(method)`` gives those of FLamby's
Fed-Heart-Disease benchmark, read from its code (du Terrail et al., 2022; owkin/FLamby
``flamby/config_heart_disease.json``, ``flamby/benchmarks/fed_benchmark.py``,
``flamby/strategies/fed_opt.py``). ``flamby_results()`` reads FLamby's published per-seed results
(``data/flamby_heart_results.csv``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from utils import validate as v
from utils.download import repo_root

__all__ = ["FEDERATED", "CENTRAL", "METHODS", "SEEDS", "SCALINGS", "MethodConfig", "flamby_config", "same_settings",
           "flamby_results"]

FEDERATED = ("fedavg", "fedadam", "fedyogi", "fedprox")
CENTRAL = ("local", "pooled")
METHODS = CENTRAL + FEDERATED
SEEDS = (42, 43, 44, 45, 46)
# How a method's rows are standardised (chapter 05, section 3):
#   "per-centre": each hospital with its own training mean and std, train and test (FLamby's default);
#   "flamby":     trained on rows standardised with the pooled training statistics, tested on the
#                 per-centre standardised test sets (FLamby's pooled baseline);
#   "shared":     every hospital, train and test, with the pooled training statistics, which a
#                 consortium can compute federatedly from counts, sums and sums of squares.
SCALINGS = ("per-centre", "flamby", "shared")
# FLamby's method names in its result files.
FLAMBY_NAMES = {"pooled": "Pooled Training", "fedavg": "FedAvg100", "fedprox": "FedProx100",
                "fedadam": "FedAdam100", "fedyogi": "FedYogi100"}


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters of one method.

    local / pooled: ``epochs`` of Adam with learning rate ``lr``, batch ``batch_size``.
    federated: ``rounds`` × ``local_steps`` client steps (batch ``batch_size``) of SGD with
    ``client_lr``; the server applies the weighted mean update with SGD (FedAvg, FedProx;
    ``server_lr`` 1.0 = plain averaging), Adam (FedAdam) or Yogi (FedYogi), with the bias correction
    of TFF's optimisers or without it (FLamby's). ``weighting``: "size" (training rows, FLamby) or
    "examples" (examples processed, TFF's default: equal here). ``mu``: FedProx's proximal strength;
    ``tau``: the server optimiser's epsilon. ``scaling``: one of ``SCALINGS``.
    ``hidden``: None for logistic regression, or the width of one ReLU hidden layer. ``engine``: who
    trains a federated method, "tff" or the NumPy core "numpy" (the same algorithm, checked equal to
    TFF in chapters 04-05; a different random batch order, and seconds instead of minutes).
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
    weighting: str = "examples"
    bias_correction: bool = True
    scaling: str = "per-centre"
    engine: str = "tff"

    def __post_init__(self):
        v.choice("method", self.method, METHODS)
        for name in ("epochs", "rounds", "local_steps", "batch_size"):
            v.integer(name, getattr(self, name), 1, 1_000_000)
        for name in ("lr", "client_lr", "server_lr", "tau"):
            v.positive(name, getattr(self, name))
        v.nonneg("mu", self.mu)
        if self.mu and self.method != "fedprox":
            raise ValueError(f"mu={self.mu!r} is FedProx's proximal strength; method {self.method!r} has none")
        if self.hidden is not None:
            v.integer("hidden", self.hidden, 1, 100_000)
        v.choice("weighting", self.weighting, ("size", "examples"))
        v.flag("bias_correction", self.bias_correction)
        v.choice("scaling", self.scaling, SCALINGS)
        v.choice("engine", self.engine, ("tff", "numpy"))
        if self.scaling == "flamby" and self.method != "pooled":
            raise ValueError("scaling='flamby' is FLamby's protocol for the pooled model only")

    def with_(self, **changes) -> "MethodConfig":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown hyper-parameter(s) {sorted(unknown)}; "
                            f"valid ones are {sorted(self.__dataclass_fields__)}")
        return replace(self, **changes)

    def describe(self) -> str:
        scaling = {"per-centre": "per-centre scaling", "flamby": "FLamby's pooled scaling",
                   "shared": "shared scaling"}[self.scaling]
        if self.method in CENTRAL:
            return f"Adam lr {self.lr:g}, {self.epochs} epochs, batch {self.batch_size}, {scaling}"
        server = {"fedavg": "SGD", "fedprox": "SGD", "fedadam": "Adam", "fedyogi": "Yogi"}[self.method]
        if server in ("Adam", "Yogi"):
            server += "" if self.bias_correction else " (no bias correction)"
        text = (f"{self.rounds} rounds × {self.local_steps} steps, batch {self.batch_size}, client SGD lr "
                f"{self.client_lr:g}, server {server} lr {self.server_lr:g}, weighted by {self.weighting}, {scaling}")
        text += f", μ {self.mu:g}" if self.method == "fedprox" else ""
        return text + (", NumPy core" if self.engine == "numpy" else "")


def same_settings(config: MethodConfig, other: MethodConfig) -> bool:
    """True if two configs run the same algorithm with the same settings (whichever engine trains it)."""
    for name, c in (("config", config), ("other", other)):
        if not isinstance(c, MethodConfig):
            raise TypeError(f"{name} must be a MethodConfig, got {type(c).__name__}")
    return replace(config, engine="tff") == replace(other, engine="tff")


def flamby_config(method: str) -> MethodConfig:
    """FLamby's exact settings for ``method``: size weighting, server Adam/Yogi without bias
    correction, the pooled model trained on pooled-scaled rows."""
    v.choice("method", method, METHODS)
    return {
        "local": MethodConfig("local"),
        "pooled": MethodConfig("pooled", scaling="flamby"),
        "fedavg": MethodConfig("fedavg", client_lr=0.001, weighting="size"),
        "fedprox": MethodConfig("fedprox", client_lr=0.001, mu=0.01, weighting="size"),
        "fedadam": MethodConfig("fedadam", client_lr=0.01, server_lr=0.01, weighting="size", bias_correction=False),
        "fedyogi": MethodConfig("fedyogi", client_lr=0.003162, server_lr=0.01, weighting="size",
                                bias_correction=False),
    }[method]


def flamby_results():
    """FLamby's published results, one row per (method, seed): mean per-centre test accuracy.

    For "local" it is each hospital's own model on its own test set (the diagonal of FLamby's
    "Local i" rows, which it scores on every hospital's test set), averaged over hospitals.
    """
    import pandas as pd

    rows = pd.read_csv(repo_root() / "data" / "flamby_heart_results.csv")
    per_centre = rows[rows["test"].str.startswith("client_test_")].assign(
        centre=lambda d: d["test"].str.removeprefix("client_test_").astype(int))
    out = [per_centre[per_centre["method"] == name].groupby("seed")["accuracy"].mean().rename(key)
           for key, name in FLAMBY_NAMES.items()]
    local = per_centre[per_centre["method"] == "Local " + per_centre["centre"].astype(str)]
    out.append(local.groupby("seed")["accuracy"].mean().rename("local"))
    return pd.concat(out, axis=1).rename_axis("seed")
