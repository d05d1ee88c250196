"""One federated-learning round, end to end, for a logistic-regression model in plain NumPy.

Introduced in chapter 02 (core algorithms), where every piece below is first written out in the
notebook: broadcast → local training → aggregation (weighted average) → evaluation.
Chapter 03 derives the update; chapter 04 does the same with TensorFlow Federated.

Conventions: a model is one vector ``w`` of length ``d + 1`` (``d`` feature weights, then the
bias). A silo is a pair ``(X, y)`` with ``X`` of shape (n, d) and labels ``y`` in {0, 1}.
Local training is plain mini-batch SGD over the silo's rows *in order* (no shuffling), so
every run is exactly repeatable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STAGES = ("broadcast", "local training", "aggregation", "evaluation")


# --------------------------------------------------------------------------
# Validation (errors name the bad value)
# --------------------------------------------------------------------------

def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _check_silo(X, y, where: str = "silo"):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{where}: X must be a non-empty 2-D array (rows, features), got shape {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"{where}: y must have shape ({len(X)},), got {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{where}: labels must be 0 or 1, got values {np.unique(y)[:5]!r}")
    return X, y


def _check_w(w, d: int) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.shape != (d + 1,):
        raise ValueError(f"w must have shape ({d + 1},) for {d} features (+ bias), got {w.shape}")
    return w


def _check_silos(silos, what: str = "silos") -> list:
    if not isinstance(silos, (list, tuple)) or len(silos) == 0:
        raise ValueError(f"{what} must be a non-empty list of (X, y) pairs, got {type(silos).__name__}")
    out = []
    for i, silo in enumerate(silos):
        if not isinstance(silo, (list, tuple)) or len(silo) != 2:
            raise ValueError(f"{what}[{i}] must be an (X, y) pair, got {type(silo).__name__}")
        out.append(_check_silo(*silo, where=f"{what}[{i}]"))
    widths = {X.shape[1] for X, _ in out}
    if len(widths) != 1:
        raise ValueError(f"{what} disagree on the number of features: {sorted(widths)}")
    return out


# --------------------------------------------------------------------------
# The model: logistic regression
# --------------------------------------------------------------------------

def sigmoid(z):
    """1 / (1 + e^-z), computed without overflow warnings."""
    z = np.asarray(z, dtype=float)
    return np.exp(-np.logaddexp(0.0, -z))


def predict_proba(w, X) -> np.ndarray:
    """P(y = 1 | x) for each row of X."""
    X = np.asarray(X, dtype=float)
    w = _check_w(w, X.shape[1])
    return sigmoid(X @ w[:-1] + w[-1])


def logistic_loss(w, X, y) -> float:
    """Mean binary cross-entropy of the model ``w`` on (X, y)."""
    X, y = _check_silo(X, y, "logistic_loss")
    w = _check_w(w, X.shape[1])
    z = X @ w[:-1] + w[-1]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def logistic_grad(w, X, y) -> np.ndarray:
    """Gradient of ``logistic_loss`` with respect to ``w`` (feature weights, then bias)."""
    X, y = _check_silo(X, y, "logistic_grad")
    w = _check_w(w, X.shape[1])
    err = sigmoid(X @ w[:-1] + w[-1]) - y
    return np.append(X.T @ err, err.sum()) / len(y)


def accuracy(w, X, y) -> float:
    """Share of rows where ``P(y=1|x) >= 0.5`` matches the label."""
    X, y = _check_silo(X, y, "accuracy")
    return float(np.mean((predict_proba(w, X) >= 0.5) == (y == 1)))


# --------------------------------------------------------------------------
# The four steps of a round
# --------------------------------------------------------------------------

def local_sgd(w, X, y, epochs: int = 1, lr: float = 0.1, batch_size: int = 16) -> np.ndarray:
    """Step 2, local training: ``epochs`` passes of mini-batch SGD over (X, y) in row order."""
    X, y = _check_silo(X, y, "local_sgd")
    w = _check_w(w, X.shape[1]).copy()
    epochs = _check_int("epochs", epochs, 1)
    lr = _check_positive("lr", lr)
    batch_size = _check_int("batch_size", batch_size, 1)
    for _ in range(epochs):
        for start in range(0, len(y), batch_size):
            w = w - lr * logistic_grad(w, X[start:start + batch_size], y[start:start + batch_size])
    return w


def weighted_average(vectors, sizes) -> np.ndarray:
    """Step 3, aggregation: ``Σ_k n_k w_k / Σ_k n_k`` (FedAvg's weighting by example count)."""
    V = np.asarray(vectors, dtype=float)
    n = np.asarray(sizes, dtype=float)
    if V.ndim != 2 or len(V) == 0:
        raise ValueError(f"vectors must be a non-empty list of equal-length vectors, got shape {V.shape}")
    if n.shape != (len(V),):
        raise ValueError(f"sizes must have one entry per vector ({len(V)}), got {sizes!r}")
    if not np.all(np.isfinite(n)) or np.any(n < 0) or n.sum() <= 0:
        raise ValueError(f"sizes must be non-negative with a positive total, got {sizes!r}")
    return (n[:, None] * V).sum(axis=0) / n.sum()


def federated_evaluate(w, silos) -> dict:
    """Step 4, evaluation: each silo reports (correct, n, loss sum); the server adds them up.

    Returns ``accuracy`` and ``loss`` over all silos' rows together, and ``per_silo`` accuracies.
    """
    silos = _check_silos(silos, "test silos")
    correct = np.array([accuracy(w, X, y) * len(y) for X, y in silos])
    loss_sum = np.array([logistic_loss(w, X, y) * len(y) for X, y in silos])
    n = np.array([len(y) for _, y in silos], dtype=float)
    return {"accuracy": float(correct.sum() / n.sum()), "loss": float(loss_sum.sum() / n.sum()),
            "per_silo": correct / n}


def federated_mean_std(silo_features) -> tuple:
    """Mean and standard deviation of all silos' rows together, from per-silo sums only.

    Each silo sends ``n``, ``Σx`` and ``Σx²`` (2d + 1 numbers), never a row.
    """
    if not isinstance(silo_features, (list, tuple)) or len(silo_features) == 0:
        raise ValueError(f"silo_features must be a non-empty list of 2-D arrays, got {silo_features!r}")
    arrays = [np.asarray(X, dtype=float) for X in silo_features]
    if any(X.ndim != 2 or len(X) == 0 for X in arrays) or len({X.shape[1] for X in arrays}) != 1:
        raise ValueError(f"silo_features must be non-empty 2-D arrays with the same number of columns, "
                         f"got shapes {[X.shape for X in arrays]}")
    n = sum(len(X) for X in arrays)
    total = sum(X.sum(axis=0) for X in arrays)
    total_sq = sum((X ** 2).sum(axis=0) for X in arrays)
    mean = total / n
    return mean, np.sqrt(np.maximum(total_sq / n - mean ** 2, 0.0))


# --------------------------------------------------------------------------
# A whole run
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class FedAvgHistory:
    """Everything a FedAvg run did, round by round (R rounds, K silos, d + 1 parameters)."""

    server: np.ndarray      # (R + 1, d + 1): the global model before round 1, after round 1, ...
    clients: np.ndarray     # (R, K, d + 1): each silo's model after local training in round r
    sizes: np.ndarray       # (K,): training rows per silo (the aggregation weights)
    accuracy: np.ndarray    # (R + 1,): federated test accuracy of server[r]
    loss: np.ndarray        # (R + 1,): federated test loss of server[r]
    silo_accuracy: np.ndarray  # (R + 1, K): each silo's test accuracy of server[r]

    @property
    def rounds(self) -> int:
        return len(self.clients)


def run_fedavg(train, test, rounds: int = 10, epochs: int = 1, lr: float = 0.1,
               batch_size: int = 16, w0=None) -> FedAvgHistory:
    """FedAvg on logistic regression: ``rounds`` × (broadcast, local SGD, weighted average, evaluate)."""
    train = _check_silos(train, "train")
    test = _check_silos(test, "test")
    if len(train) != len(test):
        raise ValueError(f"train has {len(train)} silos but test has {len(test)}")
    d = train[0][0].shape[1]
    if test[0][0].shape[1] != d:
        raise ValueError(f"train has {d} features but test has {test[0][0].shape[1]}")
    rounds = _check_int("rounds", rounds, 1)
    w = np.zeros(d + 1) if w0 is None else _check_w(w0, d).copy()
    sizes = np.array([len(y) for _, y in train])
    server, clients, evals = [w], [], [federated_evaluate(w, test)]
    for _ in range(rounds):
        local = [local_sgd(w, X, y, epochs, lr, batch_size) for X, y in train]  # broadcast + train
        w = weighted_average(local, sizes)                                        # aggregate
        server.append(w)
        clients.append(local)
        evals.append(federated_evaluate(w, test))                                 # evaluate
    return FedAvgHistory(server=np.array(server), clients=np.array(clients), sizes=sizes,
                         accuracy=np.array([e["accuracy"] for e in evals]),
                         loss=np.array([e["loss"] for e in evals]),
                         silo_accuracy=np.array([e["per_silo"] for e in evals]))


# --------------------------------------------------------------------------
# The animation
# --------------------------------------------------------------------------

def project_2d(vectors) -> tuple:
    """Principal-component projection of model vectors to 2-D: (coords, explained variance shares)."""
    V = np.asarray(vectors, dtype=float)
    if V.ndim != 2 or len(V) < 2:
        raise ValueError(f"need at least 2 vectors in a 2-D array, got shape {V.shape}")
    centred = V - V.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    var = s ** 2
    share = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros(len(coords))])
    return coords, share


def round_plane(history) -> tuple:
    """2-D coordinates for a FedAvg run: (server coords (R+1, 2), client coords (R, K, 2)).

    Direction 1 runs from the initial to the final global model (the path the federation took);
    direction 2 is the main direction in which the silos' local updates disagree, made orthogonal
    to direction 1. The origin is the initial model.
    """
    if not isinstance(history, FedAvgHistory):
        raise ValueError(f"history must be a FedAvgHistory, got {type(history).__name__}")
    R, K, p = history.clients.shape
    path = history.server[-1] - history.server[0]
    e1 = path / np.linalg.norm(path) if np.linalg.norm(path) > 0 else np.eye(p)[0]
    deviations = (history.clients - history.server[:-1, None, :]).reshape(R * K, p)
    deviations = deviations - np.outer(deviations @ e1, e1)
    _, _, vt = np.linalg.svd(deviations, full_matrices=False)
    e2 = vt[0] - (vt[0] @ e1) * e1
    e2 = e2 / np.linalg.norm(e2) if np.linalg.norm(e2) > 0 else np.eye(p)[1]
    basis = np.column_stack([e1, e2])
    S = (history.server - history.server[0]) @ basis
    C = (history.clients - history.server[0]) @ basis
    return S, C


def animate_rounds(history: FedAvgHistory, names=None, frame_ms: int = 700, height: int = 600):
    """An animated plotly figure of a FedAvg run: one frame per (round, stage).

    Left: every model as a point in the plane of ``round_plane`` (along the federation's path,
    and across it in the direction the silos disagree most); the star is the server's model. Right: the
    federated test accuracy after each round, and each silo's accuracy of the current model.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not isinstance(history, FedAvgHistory):
        raise ValueError(f"history must be a FedAvgHistory, got {type(history).__name__}")
    R, K, _ = history.clients.shape
    names = [f"silo {i + 1}" for i in range(K)] if names is None else list(names)
    if len(names) != K:
        raise ValueError(f"names must have {K} entries (one per silo), got {names!r}")
    frame_ms = _check_int("frame_ms", frame_ms, 50)

    S, C = round_plane(history)
    coords = np.vstack([S, C.reshape(R * K, 2)])
    pad = 0.08 * (coords.max(axis=0) - coords.min(axis=0) + 1e-12)
    xr = [coords[:, 0].min() - pad[0], coords[:, 0].max() + pad[0]]
    yr = [coords[:, 1].min() - pad[1], coords[:, 1].max() + pad[1]]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    silo_colors = [colors[i % len(colors)] for i in range(K)]
    acc_lo = max(0.0, min(history.accuracy.min(), history.silo_accuracy.min()) - 0.03)

    def spokes(a, bs):
        x, y = [], []
        for b in bs:
            x += [a[0], b[0], None]
            y += [a[1], b[1], None]
        return x, y

    def traces(r, stage):
        # the server model shown, the client positions, and which rounds are evaluated so far
        trained = stage >= 1
        aggregated = stage >= 2
        now = S[r + 1] if aggregated else S[r]
        pts = C[r] if trained else np.repeat(S[r][None], K, axis=0)
        sx, sy = spokes(now if aggregated else S[r], pts) if trained else ([], [])
        path = S[:r + 2] if aggregated else S[:r + 1]
        done = r + 1 if stage >= 3 else r
        hover_c = [f"{names[k]} ({history.sizes[k]} rows)<br>"
                   + ("model after local training" if trained else "received the server model")
                   for k in range(K)]
        return [
            go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name="server model, past rounds",
                       line=dict(color="#999", width=1), marker=dict(size=5, color="#999"),
                       hoverinfo="skip", xaxis="x", yaxis="y"),
            go.Scatter(x=sx, y=sy, mode="lines", name="messages", showlegend=False,
                       line=dict(color="#bbb", width=1, dash="dot"), hoverinfo="skip", xaxis="x", yaxis="y"),
            go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers+text", name="silo models",
                       text=names, textposition="top center", hovertext=hover_c, hoverinfo="text",
                       marker=dict(size=12, color=silo_colors, line=dict(width=1, color="white")),
                       xaxis="x", yaxis="y"),
            go.Scatter(x=[now[0]], y=[now[1]], mode="markers", name="server (global) model",
                       marker=dict(size=20, symbol="star", color="black"),
                       hovertext=[f"global model after round {r + 1 if aggregated else r}"],
                       hoverinfo="text", xaxis="x", yaxis="y"),
            go.Scatter(x=list(range(done + 1)), y=history.accuracy[:done + 1], mode="lines+markers",
                       name="federated test accuracy", line=dict(color="black"), xaxis="x2", yaxis="y2"),
            go.Scatter(x=[done] * K, y=history.silo_accuracy[done], mode="markers", name="each silo's accuracy",
                       marker=dict(size=9, color=silo_colors, symbol="diamond"),
                       hovertext=[f"{names[k]}: {history.silo_accuracy[done, k]:.3f}" for k in range(K)],
                       hoverinfo="text", xaxis="x2", yaxis="y2"),
        ]

    captions = [
        "① broadcast: the server sends its model to every silo",
        "② local training: each silo trains on its own rows",
        "③ aggregation: the server averages the models, weighted by rows",
        "④ evaluation: each silo tests the new model; the server adds up the counts",
    ]
    frames = []
    for r in range(R):
        for stage in range(4):
            frames.append(go.Frame(
                data=traces(r, stage), name=f"{r + 1}.{stage + 1}",
                layout=go.Layout(title_text=f"Round {r + 1} of {R} · {captions[stage]}")))

    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1,
                        subplot_titles=("models in weight space (2-D projection)", "evaluation"))
    for trace in frames[0].data:
        fig.add_trace(trace)
    fig.frames = frames
    play = dict(frame=dict(duration=frame_ms, redraw=True), transition=dict(duration=0), fromcurrent=True,
                mode="immediate")
    fig.update_layout(
        height=height, title_text=frames[0].layout.title.text, margin=dict(t=80, b=190),
        legend=dict(orientation="h", y=-0.2, x=0, yanchor="top"),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.36, xanchor="left", yanchor="top",
                          showactive=False,
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                           mode="immediate")])])],
        sliders=[dict(active=0, x=0.18, len=0.82, y=-0.33, yanchor="top", currentvalue=dict(visible=False),
                      steps=[dict(label=f"round {f.name.split('.')[0]}" if f.name.endswith(".1") else "",
                                  method="animate",
                                  args=[[f.name], dict(frame=dict(duration=0, redraw=True),
                                                       mode="immediate")]) for f in frames])],
    )
    fig.update_xaxes(range=xr, title_text="along the global model's path", row=1, col=1, zeroline=False)
    fig.update_yaxes(range=yr, title_text="where the silos disagree", row=1, col=1, zeroline=False)
    fig.update_xaxes(range=[-0.3, R + 0.3], title_text="round", dtick=1 if R <= 15 else None, row=1, col=2)
    fig.update_yaxes(range=[acc_lo, 1.005], title_text="test accuracy", row=1, col=2)
    return fig


# --------------------------------------------------------------------------
# Data: one real table cut into synthetic silos
# --------------------------------------------------------------------------

def breast_cancer_silos(num_silos: int = 4, alpha: float = 1.0, seed: int = 0, test_share: float = 0.25):
    """scikit-learn's breast-cancer table (569 rows, ships offline) split into label-skewed silos.

    Label 1 = malignant. The rows are shared out by ``utils.partition.dirichlet_label_skew``
    (smaller ``alpha`` → more different silos, at least 40 rows each), then each silo keeps a
    random ``test_share`` of its rows for testing. Features are NOT standardised: that is a
    federated computation of its own (``federated_mean_std``).
    Returns ``(train, test)``, two lists of (X, y) pairs.
    """
    from sklearn.datasets import load_breast_cancer

    from utils.partition import dirichlet_label_skew

    if isinstance(test_share, bool) or not isinstance(test_share, (int, float)) or not 0 < test_share < 1:
        raise ValueError(f"test_share must be a number strictly between 0 and 1, got {test_share!r}")
    data = load_breast_cancer()
    X, y = data.data, (data.target == 0).astype(float)
    parts = dirichlet_label_skew(y, num_silos, alpha=alpha, seed=seed, min_size=40)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for part in parts:
        part = rng.permutation(part)
        cut = int(round((1 - test_share) * len(part)))
        train.append((X[part[:cut]], y[part[:cut]]))
        test.append((X[part[cut:]], y[part[cut:]]))
    return train, test
