"""TensorFlow Federated's learning API, wrapped as the course uses it.
Introduced in chapter 04 (``model_fn``, ``build_weighted_fed_avg``, datasets, weights) and used by
chapter 05 (``FederatedProcess``: one TFF process per method, run for any seed).

TensorFlow and TFF are imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import numpy as np

from utils import validate as v
from utils.keras_fedavg import keras_model
from utils.methods import FEDERATED, MethodConfig
from utils.models import initial_weights

__all__ = ["client_datasets", "tff_model_fn", "build_tff_fedavg", "tff_model_weights", "FederatedProcess",
           "get_process"]


def client_datasets(clients: dict, batch_size: int) -> list:
    """``{client: (X, y)}`` → one ``tf.data.Dataset`` per client of in-order float32 ``(x, y)`` batches."""
    import tensorflow as tf

    _, pairs = v.clients(clients)
    batch_size = v.integer("batch_size", batch_size, 1)
    return [tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32))).batch(batch_size)
            for X, y in pairs]


def tff_model_fn(build_keras_model: Callable, element_spec, loss_fn: Callable | None = None,
                 metrics_fn: Callable | None = None) -> Callable:
    """A no-argument ``model_fn`` for TFF's learning API.

    TFF calls it several times, inside its own graphs, to get a fresh ``VariableModel``, so it must
    *build* the Keras model each time, never reuse one. ``loss_fn``/``metrics_fn`` build the loss
    and the metrics (defaults: binary cross-entropy and binary accuracy).
    """
    if hasattr(build_keras_model, "trainable_variables"):
        raise TypeError("pass a function that builds the Keras model, not a model instance")
    v.function("build_keras_model", build_keras_model)
    import tensorflow as tf
    import tensorflow_federated as tff

    if not tf.nest.flatten(element_spec) or not all(isinstance(s, tf.TypeSpec) for s in tf.nest.flatten(element_spec)):
        raise TypeError(f"element_spec must be a dataset's element_spec (tf.TensorSpec structure), got {element_spec!r}")
    loss_fn = v.function("loss_fn", loss_fn) if loss_fn is not None else tf.keras.losses.BinaryCrossentropy
    metrics_fn = v.function("metrics_fn", metrics_fn) if metrics_fn is not None \
        else (lambda: [tf.keras.metrics.BinaryAccuracy()])

    def model_fn():
        return tff.learning.models.from_keras_model(build_keras_model(), input_spec=element_spec,
                                                    loss=loss_fn(), metrics=metrics_fn())

    return model_fn


def build_tff_fedavg(model_fn: Callable, client_lr: float, server_lr: float = 1.0):
    """``build_weighted_fed_avg`` with plain SGD at both ends (the from-scratch FedAvg's settings)."""
    client_lr, server_lr = v.positive("client_lr", client_lr), v.positive("server_lr", server_lr)
    v.function("model_fn", model_fn)
    import tensorflow_federated as tff

    sgd = tff.learning.optimizers.build_sgdm
    return tff.learning.algorithms.build_weighted_fed_avg(
        model_fn, client_optimizer_fn=sgd(learning_rate=client_lr), server_optimizer_fn=sgd(learning_rate=server_lr))


def tff_model_weights(process, state) -> list:
    """The global model's trainable weights in a TFF learning-process state, as NumPy arrays."""
    if not hasattr(process, "get_model_weights"):
        raise TypeError(f"process must be a TFF learning process, got {type(process).__name__}")
    return [np.asarray(w) for w in process.get_model_weights(state).trainable]


class FederatedProcess:
    """One TFF learning process for a federated ``MethodConfig``, built once, run for any seed.

    TFF's ``build_weighted_fed_avg`` / ``build_weighted_fed_prox`` for TFF's defaults (examples
    weighting, bias-corrected Adam/Yogi); ``utils.tff_custom.build_sized_fedopt`` for FLamby's
    settings (size weighting, no bias correction, FedProx with Li et al.'s sign).

    ``run(split, seed)`` starts from ``initial_weights(seed)``, feeds each hospital ``local_steps``
    batches per round (``shuffle().repeat().batch().take()``, reshuffled every round from the seed)
    and returns the final global weights; ``round_times`` holds the seconds per round of the last run.
    """

    def __init__(self, config: MethodConfig, n_features: int = 13):
        if not isinstance(config, MethodConfig):
            raise TypeError(f"config must be a MethodConfig, got {type(config).__name__}")
        if config.method not in FEDERATED:
            raise ValueError(f"method {config.method!r} is not federated; use one of {list(FEDERATED)}")
        import tensorflow as tf
        import tensorflow_federated as tff

        self.config, self.n_features = config, v.integer("n_features", n_features, 1, 100_000)
        spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None, 1], tf.float32))

        def model_fn():
            return tff.learning.models.from_keras_model(
                keras_model(n_features, config.hidden), loss=tf.keras.losses.BinaryCrossentropy(), input_spec=spec)

        opt = tff.learning.optimizers
        # Local steps as a loop over the dataset's iterator (TFF's default is a reduce op, which TFF's
        # worker compiles again on every round; see utils.tff_custom.build_sized_fedopt).
        ITERATOR = tff.learning.LoopImplementation.DATASET_ITERATOR  # noqa: N806
        self.sized = config.weighting == "size" or not config.bias_correction
        if self.sized:  # FLamby's settings: our own client work and server optimiser (utils.tff_custom)
            from utils.tff_custom import adam_without_bias_correction, build_sized_fedopt

            if config.method in ("fedadam", "fedyogi"):
                server = (adam_without_bias_correction(config.server_lr, epsilon=config.tau,
                                                       yogi=config.method == "fedyogi")
                          if not config.bias_correction else self._tff_server(opt, config))
            else:
                server = opt.build_sgdm(learning_rate=config.server_lr)
            self.process = build_sized_fedopt(model_fn, config.client_lr, server, mu=config.mu)
        elif config.method == "fedprox":  # TFF's own FedProx, whose proximal term has the opposite sign
            self.process = tff.learning.algorithms.build_weighted_fed_prox(
                model_fn, proximal_strength=config.mu, client_optimizer_fn=opt.build_sgdm(learning_rate=config.client_lr),
                server_optimizer_fn=opt.build_sgdm(learning_rate=config.server_lr), loop_implementation=ITERATOR)
        else:
            self.process = tff.learning.algorithms.build_weighted_fed_avg(
                model_fn, client_optimizer_fn=opt.build_sgdm(learning_rate=config.client_lr),
                server_optimizer_fn=self._tff_server(opt, config), loop_implementation=ITERATOR)
        self.round_times: list = []

    @staticmethod
    def _tff_server(opt, config):
        if config.method == "fedadam":
            return opt.build_adam(learning_rate=config.server_lr, beta_1=0.9, beta_2=0.999, epsilon=config.tau)
        if config.method == "fedyogi":
            return opt.build_yogi(learning_rate=config.server_lr, beta_1=0.9, beta_2=0.999, epsilon=config.tau)
        return opt.build_sgdm(learning_rate=config.server_lr)

    def _client_datasets(self, split, seed: int, round_number: int, shuffle: bool) -> list:
        import tensorflow as tf

        from utils.tff_custom import lean_dataset_options

        c, out = self.config, []
        for i, h in enumerate(split.hospitals):
            X, y = split.train[h]
            ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), y.astype(np.float32)[:, None]))
            if shuffle:
                ds = ds.shuffle(len(y), seed=seed * 100_003 + round_number * 101 + i, reshuffle_each_iteration=True)
            out.append(ds.repeat().batch(c.batch_size).take(c.local_steps).with_options(lean_dataset_options()))
        if self.sized:
            from utils.tff_custom import sized_client_data

            return sized_client_data(out, [len(split.train[h][1]) for h in split.hospitals])
        return out

    def run(self, split, seed: int, weights=None, shuffle: bool = True, progress=None, evaluate=None):
        """Train from ``weights`` (default: ``initial_weights(seed)``); returns the final weights,
        and with ``evaluate(weights) -> float`` also that value after every round: (weights, curve)."""
        import tensorflow_federated as tff

        from utils.flamby import FederatedSplit

        c = self.config
        if not isinstance(split, FederatedSplit):
            raise TypeError(f"split must be the FederatedSplit that load_heart_disease() returns, got {type(split).__name__}")
        if len(split.feature_names) != self.n_features:
            raise ValueError(f"split has {len(split.feature_names)} features, this process was built for {self.n_features}")
        seed = v.seed("seed", seed)
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        if progress is not None and not hasattr(progress, "update"):
            raise TypeError(f"progress must be a progress bar with .update() (e.g. tqdm), got {progress!r}")
        w0 = initial_weights(seed, self.n_features, c.hidden)
        if weights is not None:
            given = v.weight_list("weights", weights)
            if [w.shape for w in given] != [w.shape for w in w0]:
                raise ValueError(f"weights must have the shapes {[w.shape for w in w0]}, got {[w.shape for w in given]}")
            w0 = given
        if evaluate is not None:
            v.function("evaluate", evaluate)
        state = self.process.initialize()
        state = self.process.set_model_weights(state, tff.learning.models.ModelWeights(
            trainable=[np.asarray(w, np.float32) for w in w0], non_trainable=[]))
        self.round_times, curve = [], []
        for r in range(c.rounds):
            data = self._client_datasets(split, seed, r, shuffle)
            t0 = time.perf_counter()
            state = self.process.next(state, data).state
            self.round_times.append(time.perf_counter() - t0)
            if evaluate is not None:
                curve.append(float(evaluate(self._weights(state))))
            if progress is not None:
                progress.update(1)
        final = self._weights(state)
        return (final, curve) if evaluate is not None else final

    def _weights(self, state) -> list:
        return [np.asarray(w, np.float32) for w in self.process.get_model_weights(state).trainable]


_PROCESSES: dict = {}


def get_process(config: MethodConfig, n_features: int = 13) -> FederatedProcess:
    """The TFF process for ``config``, built on first use and cached (building takes seconds).
    Rounds do not change the computation, so configs that differ only in ``rounds`` share one."""
    if not isinstance(config, MethodConfig):
        raise TypeError(f"config must be a MethodConfig, got {type(config).__name__}")
    key = (replace(config, rounds=1), v.integer("n_features", n_features, 1, 100_000))
    if key not in _PROCESSES:
        _PROCESSES[key] = FederatedProcess(replace(config, rounds=1), n_features)
    proc = _PROCESSES[key]
    proc.config = config
    return proc
