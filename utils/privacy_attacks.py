"""What a model update or a trained model gives away: attacks, measured. Introduced in chapter 06.

From updates (the server's view in federated learning):

* ``invert_one_row_gradient``: logistic regression's gradient on one row is (p − y)·(x, 1), so
  x = g_w / g_b exactly (chapter 02);
* ``class_means_from_gradients``: two full-batch gradients at models with w = 0 (and two different
  biases) give a hospital's disease rate and the mean features of its sick and healthy patients,
  exactly; ``label_share_from_update`` reads the disease rate off one multi-step update, approximately;
* ``same_gradient_batch``: for a batch of B ≥ 2 rows, logistic regression's d + 1 gradient numbers
  cannot pin down B·d features: this builds a *different* batch with the same gradient;
* ``first_layer_inversion``: in a network whose first layer is dense, unit j's weight gradient is
  Σ_i δ_ij x_i and its bias gradient Σ_i δ_ij; if only one row activates unit j, their ratio is
  that row, exactly (Geiping et al. 2020; Fowl et al. 2022). ``matched_rows`` counts the hits.

From a trained model (anyone who can query it): membership inference. A model that overfits has
lower loss on the rows it trained on. ``roc_auc`` is the probability that a random member scores
above a random non-member (0.5: no leak); ``auc_interval`` bootstraps it; ``roc_points`` draws
the curve; ``attack_features`` + ``shadow_attack`` learn the attack on shadow models trained on
data the attacker owns (Shokri et al., 2017).
"""
from __future__ import annotations

import numpy as np

from utils import validate as v

__all__ = ["invert_one_row_gradient", "class_means_from_gradients", "label_share_from_update", "same_gradient_batch",
           "first_layer_inversion", "matched_rows", "roc_auc", "roc_points", "auc_interval", "attack_features",
           "shadow_attack"]


def invert_one_row_gradient(gradient) -> np.ndarray:
    """The row x from logistic regression's gradient (p − y)·(x, 1) on that one row: g_w / g_b."""
    g = v.vector("gradient", gradient)
    if len(g) < 2:
        raise ValueError(f"gradient needs the weights' part and the bias' part, got {len(g)} number(s)")
    if g[-1] == 0:
        raise ValueError("the bias component of gradient is 0 (p = y exactly): the row cannot be read off")
    return g[:-1] / g[-1]


def _sigmoid(b):
    return 1.0 / (1.0 + np.exp(-b))


def class_means_from_gradients(grad_a, grad_b, bias_a: float, bias_b: float) -> dict:
    """From two full-batch logistic-regression gradients computed at w = 0 with biases ``bias_a``
    and ``bias_b``: the share of label 1 and the mean features of all rows, of the label-1 rows and
    of the label-0 rows. (At w = 0 every row has p = σ(b), so g_b = σ(b) − r and
    g_w = σ(b)·mean(x) − r·mean(x | y = 1).)"""
    ga = v.vector("grad_a", grad_a)
    if len(ga) < 2:
        raise ValueError(f"grad_a needs the weights' part and the bias' part, got {len(ga)} number(s)")
    gb = v.vector("grad_b", grad_b, len(ga))
    a, b = v.number("bias_a", bias_a), v.number("bias_b", bias_b)
    if a == b:
        raise ValueError(f"bias_a and bias_b must differ (got {a} twice): one gradient cannot separate the two means")
    mean = (ga[:-1] - gb[:-1]) / (_sigmoid(a) - _sigmoid(b))
    share = _sigmoid(a) - ga[-1]
    ones = _sigmoid(a) * mean - ga[:-1]          # r · mean(x | y = 1)
    out = {"label_share": float(share), "mean": mean}
    out["mean_label_1"] = ones / share if share > 0 else np.full_like(mean, np.nan)
    out["mean_label_0"] = (mean - ones) / (1 - share) if share < 1 else np.full_like(mean, np.nan)
    return out


def label_share_from_update(update, lr: float, steps: int = 1) -> float:
    """The share of label 1 a client's update suggests, if the server broadcast θ = 0: each step
    moves the bias by −lr·(0.5 − r) at the start, so r ≈ 0.5 + Δb / (lr · steps). Exact for one
    full-batch step; approximate (the model moves) for more."""
    u = v.vector("update", update)
    return float(0.5 + u[-1] / (v.positive("lr", lr) * v.integer("steps", steps, 1)))


def _logistic_batch_gradient(theta, X, y):
    err = 1.0 / (1.0 + np.exp(-(X @ theta[:-1] + theta[-1]))) - y
    return np.append(X.T @ err, err.sum()) / len(y)


def same_gradient_batch(theta, X, y, distance: float = 1.0, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """A batch X' ≠ X (same labels y) whose logistic-regression gradient at ``theta`` equals that of
    (X, y): a random move of size ``distance`` (per row, in standard units), projected back onto the
    set of batches with the same gradient by Gauss-Newton steps. Raises if it does not converge."""
    X, y = v.xy(X, y, labels01=True)
    theta = v.vector("theta", theta, X.shape[1] + 1)
    distance = v.positive("distance", distance)
    iterations = v.integer("iterations", iterations, 1, 10_000)
    B, d = X.shape
    if B * d <= d + 1:
        raise ValueError(f"a batch of {B} row(s) has {B * d} unknowns for {d + 1} equations: nothing to move (B ≥ 2)")
    target = _logistic_batch_gradient(theta, X, y)
    rng = np.random.default_rng(v.seed("seed", seed))
    Z = X + distance * rng.normal(size=X.shape) / np.sqrt(d)
    w = theta[:-1]
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(Z @ w + theta[-1])))
        residual = _logistic_batch_gradient(theta, Z, y) - target
        if np.abs(residual).max() < 1e-13:
            return Z
        s = p * (1 - p)
        J = np.zeros((d + 1, B * d))  # ∂ gradient / ∂ rows, one block of d columns per row
        for i in range(B):
            J[:d, i * d:(i + 1) * d] = ((p[i] - y[i]) * np.eye(d) + s[i] * np.outer(Z[i], w)) / B
            J[d, i * d:(i + 1) * d] = s[i] * w / B
        Z = Z - np.linalg.lstsq(J, residual, rcond=None)[0].reshape(B, d)
    raise ValueError("the projection did not converge; try a smaller distance")


def first_layer_inversion(grad_weights, grad_bias, tiny: float = 1e-12) -> np.ndarray:
    """Candidate rows from a dense first layer's gradient (or update): column j of ``grad_weights``
    (inputs × units) divided by ``grad_bias[j]``, for every unit with |grad_bias[j]| > ``tiny``."""
    W = v.array("grad_weights", grad_weights)
    if W.ndim != 2:
        raise ValueError(f"grad_weights must be 2-D (inputs × units), got shape {W.shape}")
    v.finite("grad_weights", W)
    b = v.vector("grad_bias", grad_bias, W.shape[1])
    keep = np.abs(b) > v.positive("tiny", tiny)
    return (W[:, keep] / b[keep]).T


def matched_rows(candidates, X, tolerance: float = 1e-6) -> np.ndarray:
    """For each row of ``X``: is some candidate within ``tolerance`` of it in every feature?"""
    X = v.matrix("X", X)
    C = v.array("candidates", candidates)
    if C.ndim != 2 or C.shape[1] != X.shape[1]:
        raise ValueError(f"candidates must be 2-D with {X.shape[1]} columns, got shape {C.shape}")
    tol = v.positive("tolerance", tolerance)
    if len(C) == 0:
        return np.zeros(len(X), dtype=bool)
    return (np.abs(C[:, None, :] - X[None, :, :]).max(axis=2) < tol).any(axis=0)


def _scores(name, s):
    return v.vector(name, s)


def _auc(pos, neg):
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))  # 1-based, ties get their average rank
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def roc_auc(member_scores, nonmember_scores) -> float:
    """P(a random member scores higher than a random non-member), ties counting one half
    (the Mann-Whitney statistic; 0.5 means the scores tell nothing)."""
    return _auc(_scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores))


def roc_points(member_scores, nonmember_scores) -> tuple:
    """(false-positive rates, true-positive rates) of the attack "member if score ≥ t" for every t."""
    pos, neg = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    thresholds = np.unique(np.concatenate([pos, neg]))[::-1]
    tpr = np.r_[0.0, [(pos >= t).mean() for t in thresholds]]
    fpr = np.r_[0.0, [(neg >= t).mean() for t in thresholds]]
    return fpr, tpr


def auc_interval(member_scores, nonmember_scores, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple:
    """Bootstrap percentile interval of ``roc_auc`` (members and non-members resampled separately)."""
    pos, neg = _scores("member_scores", member_scores), _scores("nonmember_scores", nonmember_scores)
    n_boot = v.integer("n_boot", n_boot, 10, 100_000)
    level = v.fraction("level", level)
    rng = np.random.default_rng(v.seed("seed", seed))
    stats = [_auc(pos[rng.integers(0, len(pos), len(pos))], neg[rng.integers(0, len(neg), len(neg))])
             for _ in range(n_boot)]
    return float(np.quantile(stats, (1 - level) / 2)), float(np.quantile(stats, (1 + level) / 2))


def attack_features(probabilities, labels) -> np.ndarray:
    """Per row: (−loss, label, −loss × label), the inputs of a membership attack that may treat the
    two classes differently. ``probabilities`` = the model's P(y = 1 | x)."""
    p = v.vector("probabilities", probabilities)
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    y = v.binary("labels", v.vector("labels", labels, len(p)))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    neg_loss = y * np.log(p) + (1 - y) * np.log(1 - p)
    return np.column_stack([neg_loss, y, neg_loss * y])


def shadow_attack(shadow_features, shadow_membership, target_features) -> np.ndarray:
    """Fit a logistic-regression attack on features of shadow models' rows whose membership the
    attacker knows (1 = trained on), then score the target's rows: P(member)."""
    from sklearn.linear_model import LogisticRegression

    F = v.matrix("shadow_features", shadow_features)
    m = v.binary("shadow_membership", v.vector("shadow_membership", shadow_membership, len(F)))
    if len(np.unique(m)) < 2:
        raise ValueError("shadow_membership must contain both members (1) and non-members (0)")
    T = v.matrix("target_features", target_features, columns=F.shape[1])
    return LogisticRegression(max_iter=1000).fit(F, m).predict_proba(T)[:, 1]
