"""The AI ecosystem as a graph: its parts, what connects them, and the essay's own diagram beside it.
Introduced in chapter 01.

``NODES`` are the elements of the ecosystem, grouped in the essay's five parts (§2.1: hardware,
software, data, talent, policy) plus the techniques the course is about; each has what it is, a real
example and the chapters of the course that touch it. ``EDGES`` say how one element acts on another.
``ESSAY_MERMAID`` is the essay's §2.5 diagram with its labels translated; ``parse_mermaid`` reads it
back into edges, so the comparison between the two graphs is computed, not asserted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from utils import validate as v

__all__ = ["PARTS", "PART_COLOURS", "Node", "NODES", "EDGES", "ESSAY_MERMAID", "ESSAY_TO_OURS", "node",
           "neighbours", "find_cycle", "parse_mermaid", "essay_graph", "compare_with_essay", "chapter_link",
           "describe", "network_figure"]

PARTS = ("hardware", "software", "data", "talent", "policy", "technique")
# Okabe-Ito, one colour per part.
PART_COLOURS = {"hardware": "#000000", "software": "#0072B2", "data": "#009E73", "talent": "#E69F00",
                "policy": "#D55E00", "technique": "#CC79A7"}


@dataclass(frozen=True)
class Node:
    """One element of the ecosystem; ``x``, ``y`` place it in the figure."""

    id: str
    label: str
    zh: str
    part: str
    what: str
    example: str
    chapters: tuple
    x: float
    y: float


NODES = (
    Node("accelerators", "Accelerators (GPU, TPU)", "加速器", "hardware",
         "Chips that do the matrix arithmetic of training fast.",
         "Training a large language model takes thousands of GPUs for weeks; this course runs on 2 CPU cores, "
         "which is why its models are small.", (0, 9), -0.5, 4.0),
    Node("datacentres", "Data centres and hospital servers", "数据中心与本地服务器", "hardware",
         "Where data is stored and computations run: a cloud region, or a server inside one hospital.",
         "In a cross-silo federation each hospital runs a client on its own server; the aggregation server "
         "can sit anywhere.", (9,), -0.5, 2.0),
    Node("devices", "Phones and edge devices", "终端设备", "hardware",
         "Millions of small clients, each with a little data, online now and then.",
         "Google's Gboard keyboard trained next-word prediction on phones with federated learning "
         "(Hard et al., 2018, arXiv:1811.03604).", (2,), -0.5, 0.0),
    Node("frameworks", "ML frameworks", "机器学习框架", "software",
         "Libraries that define and train models: TensorFlow/Keras, PyTorch, JAX.",
         "This course trains with TensorFlow 2.14 and Keras, and with its own NumPy core.", (2, 4), 2.0, 4.0),
    Node("fl_frameworks", "Federated-learning frameworks", "联邦学习框架", "software",
         "Software that runs the federated round: TensorFlow Federated, Flower, NVIDIA FLARE, FATE, ...",
         "TensorFlow Federated 0.87 runs every federated computation of chapters 04 and 05.", (4, 5, 9, 10),
         2.0, 2.0),
    Node("formats", "Model file formats", "模型格式", "software",
         "How a trained model is written down so another program can run it: ONNX, TFLite, SavedModel.",
         "Chapter 01 exports one Keras model to all three and runs each in its own runtime.", (1, 5), 4.0, 5.0),
    Node("open_source", "Open source and package registries", "开源项目与软件仓库", "software",
         "Code published for anyone to use, and the registries that distribute it (PyPI, GitHub).",
         "This course pins every package it uses at an exact version in requirements.lock; TFF 0.87 no "
         "longer installs from PyPI without such a lock.", (0, 10), 2.0, 6.0),
    Node("dev_tools", "Development tools", "开发工具", "software",
         "What people write, run and test models with: notebooks, editors, continuous integration.",
         "JupyterLab runs this course; nbval executes every notebook of it as a test.", (0,), 2.0, 8.0),
    Node("public_data", "Public data sets", "公开数据集", "data",
         "Data published under a licence, usually de-identified, for research and benchmarks.",
         "UCI Heart Disease (1988, CC BY 4.0): the four hospitals of this course.", (0, 5), 6.0, 6.0),
    Node("private_data", "Private data silos", "私有数据孤岛", "data",
         "Records an institution holds and may not hand over: patient files, bank ledgers.",
         "Each hospital's own records, with names and dates, which the UCI files were cut from.", (1, 5, 8),
         6.0, 2.0),
    Node("data_sharing", "Data sharing agreements", "数据共享与隐私保护", "data",
         "Contracts and procedures under which data may move: data-use agreements, consent, anonymisation.",
         "A HIPAA limited data set may be shared only under a data use agreement (45 CFR 164.514(e)).", (1, 6),
         8.0, 4.0),
    Node("researchers", "Researchers and engineers", "研究人员与工程师", "talent",
         "The people who design, train, audit and deploy models.",
         "FLamby's Fed-Heart-Disease benchmark was built by a consortium of companies and labs "
         "(du Terrail et al., NeurIPS 2022).", (5,), 4.0, 7.5),
    Node("education", "Education and exchange", "人才交流与教育", "talent",
         "How people learn the field and move between institutions and countries.",
         "This course; conference tutorials; open courses such as NVIDIA FLARE's and OpenMined's.", (0, 10),
         6.0, 8.5),
    Node("privacy_law", "Privacy and data-protection law", "隐私与数据保护法", "policy",
         "Laws that decide whether personal data may be used and moved: GDPR, FADP, HIPAA, PIPL.",
         "Under the GDPR, health data is a special category (Art. 9) and leaves the EEA only under the "
         "conditions of Chapter V.",
         (1, 5, 6), 8.0, 1.0),
    Node("ai_regulation", "AI regulation", "人工智能监管", "policy",
         "Laws about AI systems themselves: duties by risk class, documentation, oversight.",
         "The EU AI Act, Regulation (EU) 2024/1689.", (1,), 8.0, 7.0),
    Node("standards", "Technical standards", "技术标准", "policy",
         "Agreed specifications: file formats (ONNX), vocabularies and processes (ISO/IEC JTC 1/SC 42), "
         "guides (IEEE 3652.1-2020 for federated machine learning).",
         "ONNX opset 17 fixes what the operators of chapter 01's model file compute.", (1,), 6.0, 4.5),
    Node("ip", "Intellectual property and data sovereignty", "知识产权与数据主权", "policy",
         "Who owns the data, the joint model and its gains, and under whose rules they stay.",
         "In chapter 05 joining the federation lifts some hospitals and not others: what each gives and gets "
         "is a negotiation.", (1, 5), 8.0, -0.5),
    Node("fl", "Federated learning", "联邦学习", "technique",
         "Training one model on data that stays with its holders: the model and updates computed from the rows "
         "travel, the rows do not (the updates can still reveal rows: chapters 06, 10).",
         "FedAvg over the four hospitals of chapter 05, in TensorFlow Federated and in NumPy.", (2, 3, 4, 5),
         4.0, 2.5),
    Node("pets", "Privacy-enhancing technologies", "隐私增强技术", "technique",
         "Tools that limit what a computation reveals: differential privacy, secure aggregation, encryption.",
         "DP-SGD adds calibrated noise to each clipped gradient (Abadi et al., CCS 2016).", (6,), 6.0, 0.5),
    Node("models", "Trained models", "训练好的模型", "technique",
         "The artefact cooperation produces and shares: weights plus the code that uses them.",
         "The 14 weights of chapter 05's logistic regression, trained by four hospitals together.", (1, 5),
         4.0, 0.5),
)

_IDS = tuple(n.id for n in NODES)

EDGES = (
    ("accelerators", "frameworks", "run"),
    ("datacentres", "fl_frameworks", "host the clients and servers of"),
    ("devices", "fl", "are the clients of cross-device"),
    ("frameworks", "fl_frameworks", "are the base of"),
    ("frameworks", "formats", "export to"),
    ("open_source", "frameworks", "distribute"),
    ("fl_frameworks", "fl", "implement"),
    ("fl", "models", "produces"),
    ("models", "formats", "are saved as"),
    ("standards", "formats", "specify"),
    ("private_data", "fl", "train models through"),
    ("models", "private_data", "are deployed in, and add records to,"),
    ("public_data", "researchers", "give benchmarks to"),
    ("researchers", "fl_frameworks", "build"),
    ("researchers", "open_source", "publish in"),
    ("education", "researchers", "trains"),
    ("dev_tools", "researchers", "equip"),
    ("privacy_law", "private_data", "restricts the transfer of"),
    ("privacy_law", "data_sharing", "sets the conditions of"),
    ("data_sharing", "public_data", "release de-identified data as"),
    ("ai_regulation", "models", "sets duties for"),
    ("ai_regulation", "standards", "relies on harmonised"),
    ("pets", "fl", "harden"),
    ("privacy_law", "pets", "motivates"),
    ("ip", "models", "decides who owns"),
    ("ip", "private_data", "makes an asset of"),
)

# The essay's §2.5 diagram, structure unchanged, labels translated (the Chinese term after each).
ESSAY_MERMAID = """graph TD
    A["Hardware infrastructure<br/>硬件基础设施"] --> B["Software infrastructure<br/>软件基础设施"]
    A --> C["Data resources<br/>数据资源"]
    A --> D["Talent<br/>人才资源"]
    B --> E["Technical standards<br/>技术标准"]
    C --> F["Data sharing and privacy protection<br/>数据共享与隐私保护"]
    D --> G["Talent exchange and cooperation<br/>人才交流与合作"]
    E --> H["Policy and regulation<br/>政策法规"]
    B --> I["Development tools<br/>开发工具"]
    C --> J["Open-source projects<br/>开源项目"]"""

# Each essay node, and the nodes of our graph that stand for it.
ESSAY_TO_OURS = {
    "A": ("accelerators", "datacentres", "devices"),
    "B": ("frameworks", "fl_frameworks", "formats"),
    "C": ("public_data", "private_data"),
    "D": ("researchers",),
    "E": ("standards",),
    "F": ("data_sharing", "pets"),
    "G": ("education",),
    "H": ("privacy_law", "ai_regulation"),
    "I": ("dev_tools",),
    "J": ("open_source",),
}


def node(node_id: str) -> Node:
    """The node with this id."""
    v.choice("node_id", node_id, _IDS)
    return NODES[_IDS.index(node_id)]


def _check_edges(edges) -> tuple:
    if not isinstance(edges, (list, tuple)):
        raise TypeError(f"edges must be a list of (source, target[, relation]) tuples, got {type(edges).__name__}")
    out = []
    for i, e in enumerate(edges):
        if not isinstance(e, (list, tuple)) or len(e) not in (2, 3) or not all(isinstance(x, str) for x in e):
            raise ValueError(f"edges[{i}] must be (source, target[, relation]) strings, got {e!r}")
        out.append(tuple(e[:2]))
    return tuple(out)


def neighbours(node_id: str, edges=EDGES) -> dict:
    """{"in": [(source, relation)], "out": [(target, relation)]} of one node."""
    node(node_id)
    _check_edges(edges)
    rel = lambda e: e[2] if len(e) == 3 else ""
    return {"in": [(e[0], rel(e)) for e in edges if e[1] == node_id],
            "out": [(e[1], rel(e)) for e in edges if e[0] == node_id]}


def find_cycle(edges) -> list | None:
    """One directed cycle [a, b, ..., a] of the graph given by ``edges``, or None if it has none."""
    pairs = _check_edges(edges)
    succ: dict = {}
    for a, b in pairs:
        succ.setdefault(a, []).append(b)
    state: dict = {}  # 1 = on the current path, 2 = finished

    def visit(n, path):
        state[n] = 1
        for m in succ.get(n, []):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m, path + [m])
                if found:
                    return found
        state[n] = 2
        return None

    for start in sorted(succ):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


_EDGE = re.compile(r'^\s*(\w+)(?:\["([^"]*)"\]|\[([^\]]*)\])?\s*-->\s*(\w+)(?:\["([^"]*)"\]|\[([^\]]*)\])?\s*$')


def parse_mermaid(text: str) -> tuple[dict, list]:
    """Nodes {id: label} and edges [(source, target)] of a Mermaid ``graph`` of ``A[label] --> B`` lines.

    Only the subset the essay uses is understood; any other non-empty line is an error, so nothing is
    silently dropped.
    """
    text = v.text("text", text)
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines or not re.match(r"^\s*(graph|flowchart)\s+(TD|TB|LR|RL|BT)\s*$", lines[0]):
        raise ValueError(f"text must start with a Mermaid 'graph TD' line, got {lines[:1]!r}")
    labels: dict = {}
    edges = []
    for number, line in enumerate(lines[1:], 2):
        m = _EDGE.match(line)
        if not m:
            raise ValueError(f"line {number} of text is not 'A[label] --> B[label]': {line.strip()!r}")
        a, la1, la2, b, lb1, lb2 = m.groups()
        for name, label in ((a, la1 or la2), (b, lb1 or lb2)):
            if label:
                labels[name] = label.replace("<br/>", " / ")
            labels.setdefault(name, name)
        edges.append((a, b))
    return labels, edges


def essay_graph() -> tuple[dict, list]:
    """The essay's §2.5 diagram as (labels, edges)."""
    return parse_mermaid(ESSAY_MERMAID)


def compare_with_essay():
    """What the essay's diagram says, computed beside our graph.

    Returns (facts, edges): ``facts`` a dict of measured properties of both graphs; ``edges`` a
    DataFrame with each essay edge and whether our graph has it (same direction, reversed, or not).
    """
    import pandas as pd

    labels, essay_edges = essay_graph()
    parents: dict = {}
    for a, b in essay_edges:
        parents.setdefault(b, []).append(a)
    out_degree = {n: sum(1 for a, _ in essay_edges if a == n) for n in labels}
    roots = [n for n in labels if n not in parents]
    ours = {(a, b) for a, b, _ in EDGES}
    rows = []
    for a, b in essay_edges:
        fwd = [(x, y) for x in ESSAY_TO_OURS[a] for y in ESSAY_TO_OURS[b] if (x, y) in ours]
        back = [(y, x) for x in ESSAY_TO_OURS[a] for y in ESSAY_TO_OURS[b] if (y, x) in ours]
        verdict = "kept" if fwd else "reversed" if back else "not in ours"
        rows.append({"essay edge": f"{labels[a].split(' / ')[0]} → {labels[b].split(' / ')[0]}",
                     "in our graph": verdict, "our edges": ", ".join(f"{x} → {y}" for x, y in fwd or back)})
    text = " ".join(labels.values()).lower()
    absent = [name for name, words in (("federated learning", ("federated",)), ("trained models", ("model",)),
                                       ("intellectual property", ("intellectual", "property")),
                                       ("privacy-enhancing techniques", ("encryption", "differential")))
              if not any(w in text for w in words)]
    policy = "H"
    facts = {
        "essay nodes": len(labels), "essay edges": len(essay_edges),
        "essay roots": [labels[r].split(" / ")[0] for r in roots],
        "essay is a tree": len(roots) == 1 and all(len(p) == 1 for p in parents.values()),
        "essay cycle": find_cycle(essay_edges),
        "essay: edges out of policy": out_degree[policy],
        "essay: concepts absent": absent,
        "our nodes": len(NODES), "our edges": len(EDGES),
        "our cycle": find_cycle(EDGES),
        "ours: edges out of policy": sum(1 for a, _, _ in EDGES if node(a).part == "policy"),
    }
    return facts, pd.DataFrame(rows)


def chapter_link(number: int, prefix: str = "", chapters=None) -> str:
    """A Markdown link to chapter ``number`` if its notebook exists, else 'chapter NN (in preparation)'."""
    from utils import course

    number = v.integer("number", number, 0, 99)
    prefix = v.text("prefix", prefix, empty=True)
    folder = course.CHAPTERS if chapters is None else v.path("chapters", chapters)
    plan = {c.number: c for c in course.PLAN}
    if number not in plan:
        raise ValueError(f"number must be a chapter of utils.course.PLAN, got {number}")
    present = {p.stem: p for p in course.notebooks(Path(folder))}
    c = plan[number]
    if c.stem in present:
        return f"[chapter {number:02d}]({prefix}{c.stem}.ipynb)"
    return f"chapter {number:02d} *(in preparation)*"


def describe(node_id: str, prefix: str = "") -> str:
    """Markdown: what the node is, a real example, its connections and the chapters that touch it."""
    n = node(node_id)
    prefix = v.text("prefix", prefix, empty=True)
    nb = neighbours(node_id)
    into = "; ".join(f"{node(s).label} *{r}* {n.label}" for s, r in nb["in"]) or "nothing in this graph"
    out = "; ".join(f"{n.label} *{r}* {node(t).label}" for t, r in nb["out"]) or "nothing in this graph"
    chapters = ", ".join(chapter_link(c, prefix) for c in n.chapters)
    return (f"**{n.label}** ({n.zh}) · part: *{n.part}*\n\n"
            f"- **What it is:** {n.what}\n- **A real example:** {n.example}\n"
            f"- **Acted on:** {into}.\n- **Acts:** {out}.\n"
            f"- **In this course:** {chapters}.")


def network_figure(selected: str | None = None, height: int = 560):
    """A plotly figure of the graph; ``selected`` is highlighted with its neighbours, the rest faded."""
    import plotly.graph_objects as go

    if selected is not None:
        node(selected)
    height = v.integer("height", height, 200, 3000)
    near = {selected} if selected else set(_IDS)
    if selected:
        nb = neighbours(selected)
        near |= {s for s, _ in nb["in"]} | {t for t, _ in nb["out"]}
    fig = go.Figure()
    for a, b, rel in EDGES:
        na, nb_ = node(a), node(b)
        on = selected is None or selected in (a, b)
        fig.add_annotation(x=nb_.x, y=nb_.y, ax=na.x, ay=na.y, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=2.2 if on and selected else 1.2,
                           arrowcolor="#333333" if on else "#D9D9D9", standoff=14, startstandoff=12, text="")
    mid_x = [(node(a).x + node(b).x) / 2 for a, b, _ in EDGES]
    mid_y = [(node(a).y + node(b).y) / 2 for a, b, _ in EDGES]
    fig.add_scatter(x=mid_x, y=mid_y, mode="markers", marker=dict(size=6, color="rgba(0,0,0,0)"),
                    hovertext=[f"{node(a).label} {rel} {node(b).label}" for a, b, rel in EDGES],
                    hoverinfo="text", showlegend=False, name="edges")
    for part in PARTS:
        members = [n for n in NODES if n.part == part]
        # The legend entry is a separate, full-colour marker: the nodes themselves may be faded.
        fig.add_scatter(x=[None], y=[None], mode="markers", name=part, legendgroup=part,
                        marker=dict(color=PART_COLOURS[part], size=12))
        fig.add_scatter(
            x=[n.x for n in members], y=[n.y for n in members], mode="markers+text", name=part, legendgroup=part,
            showlegend=False,
            text=[n.label for n in members], textposition="bottom center",
            textfont=dict(size=11, color=["#000000" if n.id in near else "#AAAAAA" for n in members]),
            hovertext=[f"<b>{n.label}</b> ({n.zh})<br>{n.what}" for n in members], hoverinfo="text",
            marker=dict(color=PART_COLOURS[part], size=[30 if n.id == selected else 18 for n in members],
                        opacity=[1.0 if n.id in near else 0.25 for n in members],
                        line=dict(width=[4 if n.id == selected else 1 for n in members], color="#F0E442")))
    title = "The AI ecosystem: who acts on whom" + (f" (selected: {node(selected).label})" if selected else "")
    fig.update_layout(height=height, title=title, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis=dict(visible=False, range=[-1.9, 9.4]), yaxis=dict(visible=False, range=[-1.4, 9.2]),
                      legend=dict(orientation="h", y=-0.02, title="part"), plot_bgcolor="white")
    return fig
