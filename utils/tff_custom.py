"""Writing your own TFF pieces: a server optimiser and a client's work. Introduced in chapter 05.

FLamby's FedAdam differs from TFF's ``build_weighted_fed_avg(server_optimizer_fn=build_adam(...))`` in
two ways (``flamby/strategies/fed_opt.py``):

* its server Adam has **no bias correction**: θ ← θ − lr · m / (√v + τ), while TFF's ``build_adam``
  scales lr by √(1 − β2^t) / (1 − β1^t): 3.2× smaller steps in round 1, 6.5× in round 15.
  ``AdamWithoutBiasCorrection`` is a ``tff.learning.optimizers.Optimizer`` written for that;
* it weights each hospital by its **training-set size**. TFF 0.87's ``client_weighting`` takes only
  ``NUM_EXAMPLES`` (examples processed: 100 steps × 4 rows = 400 for every hospital, so equal weights)
  or ``UNIFORM``; a callable is refused. ``build_sized_fedopt`` therefore composes a learning process
  from TFF's building blocks with a client work of our own whose update weight is the hospital's size,
  sent with its data (``sized_client_data``). It also applies FedProx's proximal term with the sign of
  Li et al. (2020), pulling towards the round's global model.

TFF is imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import collections

import numpy as np

from utils import validate as v

__all__ = ["adam_without_bias_correction", "build_sized_fedopt", "sized_client_data", "lean_dataset_options"]


def adam_without_bias_correction(learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999,
                                 epsilon: float = 1e-8, yogi: bool = False):
    """A TFF optimiser: Adam without bias correction (FLamby's server optimiser); with ``yogi=True``
    the second moment follows Yogi's rule v ← v − (1 − β2) sign(v − g²) g² (FLamby's FedYogi)."""
    import tensorflow as tf
    import tensorflow_federated as tff

    lr, eps = v.positive("learning_rate", learning_rate), v.positive("epsilon", epsilon)
    b1 = v.number("beta_1", beta_1, low=0, high=1, high_open=True)
    b2 = v.number("beta_2", beta_2, low=0, high=1, high_open=True)
    yogi = v.flag("yogi", yogi)

    class AdamWithoutBiasCorrection(tff.learning.optimizers.Optimizer):
        """m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;  w ← w − lr · m / (√v + ε)."""

        def initialize(self, specs):
            zeros = lambda: tf.nest.map_structure(lambda s: tf.zeros(s.shape, s.dtype), specs)  # noqa: E731
            return collections.OrderedDict(first_moment=zeros(), second_moment=zeros())

        def next(self, state, weights, gradients):
            m = tf.nest.map_structure(lambda a, g: b1 * a + (1 - b1) * g, state["first_moment"], gradients)
            if yogi:
                s = tf.nest.map_structure(lambda a, g: a - (1 - b2) * tf.sign(a - g * g) * g * g,
                                          state["second_moment"], gradients)
            else:
                s = tf.nest.map_structure(lambda a, g: b2 * a + (1 - b2) * g * g, state["second_moment"], gradients)
            new = tf.nest.map_structure(lambda w, a, p: w - lr * a / (tf.sqrt(p) + eps), weights, m, s)
            return collections.OrderedDict(first_moment=m, second_moment=s), new

    return AdamWithoutBiasCorrection()


def build_sized_fedopt(model_fn, client_lr: float, server_optimizer, mu: float = 0.0):
    """A TFF learning process: local SGD (``client_lr``, FedProx term ``mu``) on each client's
    dataset, updates averaged with weights n_k (the client's size), applied by ``server_optimizer``
    (any ``tff.learning.optimizers.Optimizer``). ``process.next(state, sized_client_data(datasets, sizes))``."""
    import tensorflow as tf
    import tensorflow_federated as tff

    v.function("model_fn", model_fn)
    client_lr, mu = v.positive("client_lr", client_lr), v.nonneg("mu", mu)
    if not isinstance(server_optimizer, tff.learning.optimizers.Optimizer):
        raise TypeError(f"server_optimizer must be a tff.learning.optimizers.Optimizer, got {server_optimizer!r}")

    weights_type = tff.learning.models.weights_type_from_model(model_fn)
    with tf.Graph().as_default():
        element_spec = model_fn().input_spec
    # TFF accepts only sequences as client data, so the size travels as a one-element dataset.
    data_type = tff.StructType([tff.SequenceType(tff.types.tensorflow_to_type(element_spec)),
                                tff.SequenceType(tff.TensorType(np.float32))])

    @tff.tensorflow.computation
    def initial_model_weights():
        return tff.learning.models.ModelWeights.from_model(model_fn())

    @tff.tensorflow.computation(weights_type, data_type)
    def client_update(initial, data):
        model = model_fn()
        weights = tff.learning.models.ModelWeights.from_model(model)

        # Inside a tf.function, reads of the variables are ordered after the training steps (in a plain
        # TFF computation's graph they are not, and the update would be read before any step ran).
        # `for ... in iter(dataset)` (a loop over iterator ops) rather than `dataset.reduce(...)`: TFF's
        # worker keeps this function compiled across rounds, while a reduce op compiles its step function
        # (and the model's forward pass inside it) again on every call, which is most of a round's cost.
        @tf.function
        def train(initial, dataset, size_dataset):
            tf.nest.map_structure(lambda var, value: var.assign(value), weights, initial)
            for batch in iter(dataset.with_options(lean_dataset_options())):
                with tf.GradientTape() as tape:
                    loss = model.forward_pass(batch, training=True).loss
                grads = tape.gradient(loss, weights.trainable)
                for var, grad, start in zip(weights.trainable, grads, initial.trainable):
                    var.assign_sub(client_lr * (grad + mu * (var - start)))  # FedProx pulls towards the start
            size = tf.constant(0.0)
            for n in iter(size_dataset.with_options(lean_dataset_options())):
                size += n
            # TFF's convention: the update is start − end (a "gradient"); the server optimiser subtracts it.
            update = tf.nest.map_structure(tf.subtract, initial.trainable, weights.trainable)
            return tff.learning.templates.ClientResult(update=update, update_weight=size)

        return train(initial, *data)

    @tff.federated_computation
    def initialize():
        return tff.federated_value((), tff.SERVER)

    @tff.federated_computation(initialize.type_signature.result, tff.FederatedType(weights_type, tff.CLIENTS),
                               tff.FederatedType(data_type, tff.CLIENTS))
    def next_fn(state, weights, data):
        results = tff.federated_map(client_update, (weights, data))
        return tff.templates.MeasuredProcessOutput(state, results, tff.federated_value((), tff.SERVER))

    client_work = tff.learning.templates.ClientWorkProcess(initialize, next_fn)
    update_type = weights_type.trainable
    return tff.learning.templates.compose_learning_process(
        initial_model_weights,
        tff.learning.templates.build_broadcast_process(weights_type),
        client_work,
        tff.aggregators.MeanFactory().create(update_type, tff.TensorType(np.float32)),
        tff.learning.templates.build_apply_optimizer_finalizer(server_optimizer, weights_type))


def sized_client_data(datasets, sizes) -> list:
    """What ``build_sized_fedopt``'s ``next`` takes: per client, its dataset and a one-element
    dataset holding its size n_k (TFF accepts only sequences as client data)."""
    import tensorflow as tf

    if not isinstance(datasets, (list, tuple)) or not all(isinstance(d, tf.data.Dataset) for d in datasets):
        raise TypeError(f"datasets must be a list of tf.data.Dataset, got {datasets!r}")
    sizes = v.vector("sizes", sizes, len(datasets))
    if (sizes <= 0).any():
        raise ValueError(f"sizes must be > 0, got {sizes.tolist()}")
    return [(d, tf.data.Dataset.from_tensors(np.float32(n))) for d, n in zip(datasets, sizes)]


def lean_dataset_options():
    """``tf.data.Options`` that switch off tf.data's automatic graph rewrites and autotuning.

    Every time an iterator is made over a dataset, tf.data rewrites the dataset's graph (fusions,
    prefetch injection, autotuning): the rewrite ran Grappler once per client per round in TFF's
    worker, for datasets of a few hundred rows where it gains nothing. The rewrites do not change
    which elements come out, or in which order (the course's tests check the weights bit for bit).
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    return options
