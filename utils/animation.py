"""The federated round as an animated figure. Introduced in chapter 02.

``animate_rounds`` turns a ``FedHistory`` (from ``utils.fedcore.run_fedavg`` with
``keep_clients=True`` and test clients) into a plotly figure with one frame per stage of every
round: broadcast, local training, aggregation, evaluation.
"""
from __future__ import annotations

import numpy as np

from utils import validate as v
from utils.fedcore import FedHistory
from utils.setup import OKABE_ITO

__all__ = ["round_plane", "animate_rounds"]


def _check_history(history) -> FedHistory:
    if not isinstance(history, FedHistory):
        raise TypeError(f"history must be a FedHistory, got {type(history).__name__}")
    if history.clients is None or history.accuracy is None or history.rounds < 1:
        raise ValueError("history must come from run_fedavg(..., keep_clients=True, test=...) "
                         "with at least one round")
    return history


def round_plane(history) -> tuple:
    """2-D coordinates for a FedAvg run: (server coords (R+1, 2), client coords (R, K, 2)).

    Direction 1 runs from the initial to the final global model (the path the federation took);
    direction 2 is the main direction in which the silos' local updates disagree, made orthogonal
    to direction 1. The origin is the initial model.
    """
    history = _check_history(history)
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


def animate_rounds(history: FedHistory, names=None, frame_ms: int = 700, height: int = 600):
    """An animated plotly figure of a FedAvg run: one frame per (round, stage).

    Left: every model as a point in the plane of ``round_plane`` (along the federation's path,
    and across it in the direction the silos disagree most); the star is the server's model. Right: the
    federated test accuracy after each round, and each silo's accuracy of the current model.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    history = _check_history(history)
    R, K, _ = history.clients.shape
    names = [f"silo {i + 1}" for i in range(K)] if names is None else list(names)
    if len(names) != K:
        raise ValueError(f"names must have {K} entries (one per silo), got {names!r}")
    frame_ms = v.integer("frame_ms", frame_ms, 50, 60_000)
    height = v.integer("height", height, 200, 3000)

    S, C = round_plane(history)
    coords = np.vstack([S, C.reshape(R * K, 2)])
    pad = 0.08 * (coords.max(axis=0) - coords.min(axis=0) + 1e-12)
    xr = [coords[:, 0].min() - pad[0], coords[:, 0].max() + pad[0]]
    yr = [coords[:, 1].min() - pad[1], coords[:, 1].max() + pad[1]]
    colors = [c for c in OKABE_ITO if c != "#000000"]  # black is the server's
    silo_colors = [colors[i % len(colors)] for i in range(K)]
    acc_lo = max(0.0, min(history.accuracy.min(), history.client_accuracy.min()) - 0.03)

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
            go.Scatter(x=[done] * K, y=history.client_accuracy[done], mode="markers", name="each silo's accuracy",
                       marker=dict(size=9, color=silo_colors, symbol="diamond"),
                       hovertext=[f"{names[k]}: {history.client_accuracy[done, k]:.3f}" for k in range(K)],
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
    # Equal scale on both axes: a distance across the path looks as long as the same distance along it.
    fig.update_yaxes(range=yr, title_text="where the silos disagree", row=1, col=1, zeroline=False,
                     scaleanchor="x", scaleratio=1)
    fig.update_xaxes(constrain="domain", row=1, col=1)
    fig.update_xaxes(range=[-0.3, R + 0.3], title_text="round", dtick=1 if R <= 15 else None, row=1, col=2)
    fig.update_yaxes(range=[acc_lo, 1.005], title_text="test accuracy", row=1, col=2)
    return fig
