"""A small multilayer perceptron in NumPy, with per-example clipping for DP-SGD. Introduced in chapter 06.

Chapter 06 needs a model that *overfits* (membership inference has little to find in a logistic
regression) and that it can train hundreds of times in seconds: ReLU hidden layers, one sigmoid
output, binary cross-entropy, Adam. Weights are a Keras-order list ``[W1, b1, W2, b2, ..., Wout,
bout]`` drawn like PyTorch's ``nn.Linear`` (as ``utils.models.initial_weights``).

``train_mlp`` samples each step's batch by Poisson sampling (every row joins with probability
``sampling_rate``). With ``clip`` set it runs DP-SGD: per-example gradients clipped to norm C,
Gaussian noise σC added to their sum, divided by the expected batch size. The per-example norms
use the identity ‖a ⊗ δ‖ = ‖a‖·‖δ‖ (a layer's per-example weight gradient is an outer product), so
the clipped sum costs one matrix product per layer, like ordinary back-propagation.
"""
from __future__ import annotations

import math

import numpy as np

from utils import validate as v

__all__ = ["init_mlp", "mlp_proba", "mlp_loss", "mlp_gradient", "train_mlp"]


def _weights(weights) -> list:
    ws = v.weight_list("weights", weights)
    if len(ws) < 2 or len(ws) % 2:
        raise ValueError(f"weights must be [W1, b1, ..., Wout, bout], got {len(ws)} arrays")
    for i in range(0, len(ws), 2):
        W, b = ws[i], ws[i + 1]
        if W.ndim != 2 or b.ndim != 1 or W.shape[1] != len(b) or (i and W.shape[0] != ws[i - 2].shape[1]):
            raise ValueError(f"weights' shapes do not chain: {[w.shape for w in ws]}")
    if ws[-2].shape[1] != 1:
        raise ValueError(f"the last layer must have one output, got {ws[-2].shape}")
    return ws


def init_mlp(n_features: int, hidden=(256, 256), seed: int = 0) -> list:
    """Weights of a ReLU network n_features → hidden... → 1, each ~ Uniform(±1/√fan_in);
    ``hidden=()`` is logistic regression (the same trainer, no hidden layer: a control)."""
    n_features = v.integer("n_features", n_features, 1, 100_000)
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"hidden must be a list of layer widths (empty: logistic regression), got {hidden!r}")
    sizes = [n_features] + [v.integer(f"hidden[{i}]", h, 1, 4096) for i, h in enumerate(hidden)] + [1]
    rng = np.random.default_rng(v.seed("seed", seed))
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = 1.0 / math.sqrt(fan_in)
        out += [rng.uniform(-limit, limit, (fan_in, fan_out)), rng.uniform(-limit, limit, fan_out)]
    return out


def _forward(ws, X):
    acts = [X]
    for i in range(0, len(ws) - 2, 2):
        acts.append(np.maximum(acts[-1] @ ws[i] + ws[i + 1], 0.0))
    z = (acts[-1] @ ws[-2] + ws[-1])[:, 0]
    return acts, z


def _checked(weights, X, y=None):
    ws = _weights(weights)
    X = v.matrix("X", X, columns=ws[0].shape[0])
    if y is None:
        return ws, X
    y = v.binary("y", v.vector("y", y, len(X)))
    return ws, X, y


def mlp_proba(weights, X) -> np.ndarray:
    """P(y = 1 | x) for each row of ``X``."""
    ws, X = _checked(weights, X)
    return np.exp(-np.logaddexp(0.0, -_forward(ws, X)[1]))


def mlp_loss(weights, X, y, per_example: bool = False):
    """Binary cross-entropy: the mean over rows, or one value per row with ``per_example``."""
    ws, X, y = _checked(weights, X, y)
    z = _forward(ws, X)[1]
    losses = np.logaddexp(0.0, z) - y * z
    return losses if v.flag("per_example", per_example) else float(losses.mean())


def _backward(ws, acts, z, y):
    """Per-layer (activations a_{l-1}, deltas δ_l) of the per-example losses."""
    delta = (np.exp(-np.logaddexp(0.0, -z)) - y)[:, None]
    out = []
    for i in range(len(ws) - 2, -1, -2):
        out.append((acts[i // 2], delta))
        if i:
            delta = (delta @ ws[i].T) * (acts[i // 2] > 0)
    return out[::-1]


def mlp_gradient(weights, X, y) -> list:
    """Gradient of the mean loss over the rows of (X, y), as a list shaped like ``weights``."""
    return _mean_gradient(*_checked(weights, X, y))


def _mean_gradient(ws, X, y):
    acts, z = _forward(ws, X)
    grads = []
    for a, d in _backward(ws, acts, z, y):
        grads += [a.T @ d / len(y), d.sum(axis=0) / len(y)]
    return grads


def _clipped_sum(ws, X, y, clip):
    acts, z = _forward(ws, X)
    layers = _backward(ws, acts, z, y)
    sq = sum((d * d).sum(axis=1) * ((a * a).sum(axis=1) + 1.0) for a, d in layers)  # ‖g_i‖² per row
    scale = np.minimum(1.0, clip / np.maximum(np.sqrt(sq), 1e-300))
    grads = []
    for a, d in layers:
        grads += [(a * scale[:, None]).T @ d, (d * scale[:, None]).sum(axis=0)]
    return grads


def train_mlp(X, y, hidden=(256, 256), steps: int = 1000, sampling_rate: float = 0.1, lr: float = 1e-3,
              seed: int = 0, clip: float | None = None, noise_multiplier: float = 0.0, weights=None,
              progress: bool = False) -> list:
    """Adam on Poisson-sampled batches for ``steps`` steps; returns the weights.

    Without ``clip``: the mean gradient of each batch (empty batches are skipped). With ``clip``:
    DP-SGD (clipped per-example gradients, noise N(0, (σC)²) on their sum, divided by the expected
    batch size ``sampling_rate · n``). ``weights`` starts from given weights (else ``init_mlp(seed)``).
    """
    X, y = v.xy(X, y, labels01=True)
    steps = v.integer("steps", steps, 1, 1_000_000)
    q = v.number("sampling_rate", sampling_rate, low=0, high=1, low_open=True)
    lr = v.positive("lr", lr)
    rng = np.random.default_rng([v.seed("seed", seed), 6])
    clip = None if clip is None else v.positive("clip", clip)
    sigma = v.nonneg("noise_multiplier", noise_multiplier)
    if sigma and clip is None:
        raise ValueError(f"noise_multiplier={sigma!r} needs a clip norm: noise is scaled to the clipping bound")
    ws = init_mlp(X.shape[1], hidden, seed) if weights is None else _weights(weights)
    if ws[0].shape[0] != X.shape[1]:
        raise ValueError(f"weights take {ws[0].shape[0]} features, X has {X.shape[1]}")
    v.budget("train_mlp", steps * len(y), 2 * v.MAX_STEPS, "row visits")
    progress = v.flag("progress", progress)
    # One float32 vector holds every parameter (the layers are views of it), so Adam is a few vector operations.
    flat = np.concatenate([w.ravel() for w in ws]).astype(np.float32)
    cuts = np.cumsum([0] + [w.size for w in ws])
    ws = [flat[a:b].reshape(w.shape) for a, b, w in zip(cuts[:-1], cuts[1:], ws)]
    X, y = X.astype(np.float32), y.astype(np.float32)
    m, s, tmp = np.zeros_like(flat), np.zeros_like(flat), np.empty_like(flat)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, desc="MLP steps", leave=False, mininterval=0.5)
    for t in range(1, steps + 1):
        rows = rng.random(len(y)) < q
        if clip is None:
            if not rows.any():
                continue
            g = np.concatenate([gi.ravel() for gi in _mean_gradient(ws, X[rows], y[rows])])
        else:
            g = np.concatenate([gi.ravel() for gi in _clipped_sum(ws, X[rows], y[rows], clip)])
            g += np.float32(sigma * clip) * rng.standard_normal(len(g), dtype=np.float32)
            g /= np.float32(q * len(y))
        # Adam (Kingma & Ba), bias-corrected, in place
        m *= np.float32(0.9)
        m += np.multiply(g, np.float32(0.1), out=tmp)
        s *= np.float32(0.999)
        np.multiply(g, g, out=tmp)
        tmp *= np.float32(0.001)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += np.float32(1e-8 * math.sqrt(1 - 0.999 ** t))
        np.divide(m, tmp, out=tmp)
        tmp *= np.float32(lr * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
        flat -= tmp
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [w.copy() for w in ws]

