"""The methods of the case study and their hyper-parameters, FLamby's published settings first.
Introduced in chapter 05.

``MethodConfig`` holds one method's settings; ``flamby_config(method)`` gives the settings of
FLamby's Fed-Heart-Disease benchmark (du Terrail et al., 2022; ``flamby/config_heart_disease.json``
and ``flamby/benchmarks/fed_benchmark.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from utils import validate as v

__all__ = ["FEDERATED", "CENTRAL", "METHODS", "SEEDS", "FLAMBY_PUBLISHED", "METHOD_LABELS", "MethodConfig",
           "flamby_config"]

FEDERATED = ("fedavg", "fedadam", "fedyogi", "fedprox")
CENTRAL = ("local", "pooled")
METHODS = CENTRAL + FEDERATED
SEEDS = (42, 43, 44, 45, 46)
# FLamby's published mean per-centre test accuracy (du Terrail et al., 2022), 5 seeds.
FLAMBY_PUBLISHED = {"pooled": 0.735, "fedavg": 0.685, "fedadam": 0.726, "fedyogi": 0.731}
METHOD_LABELS = {"local": "local only", "pooled": "pooled (centralised)", "fedavg": "FedAvg",
                 "fedadam": "FedAdam", "fedyogi": "FedYogi", "fedprox": "FedProx"}


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

    def with_(self, **changes) -> "MethodConfig":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown hyper-parameter(s) {sorted(unknown)}; "
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
    v.choice("method", method, METHODS)
    return {
        "local": MethodConfig("local"),
        "pooled": MethodConfig("pooled"),
        "fedavg": MethodConfig("fedavg", client_lr=0.001),
        "fedprox": MethodConfig("fedprox", client_lr=0.001, mu=0.01),
        "fedadam": MethodConfig("fedadam", client_lr=0.01, server_lr=0.01),
        "fedyogi": MethodConfig("fedyogi", client_lr=0.003162, server_lr=0.01),
    }[method]
