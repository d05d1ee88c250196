"""The ecosystem graph of chapter 01: its data is consistent, the essay's diagram is read back exactly,
and the comparison's facts hold by independent computation."""
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from utils import course, ecosystem

NOTEBOOK = Path(course.CHAPTERS) / "01_ai_infrastructure_and_cooperation.ipynb"


def test_nodes_and_edges_are_consistent():
    ids = [n.id for n in ecosystem.NODES]
    assert len(ids) == len(set(ids))
    assert {n.part for n in ecosystem.NODES} == set(ecosystem.PARTS)
    planned = {c.number for c in course.PLAN}
    for n in ecosystem.NODES:
        assert n.what and n.example and n.zh and n.chapters and set(n.chapters) <= planned, n.id
        assert re.search(r"[\u4e00-\u9fff]", n.zh), n.id
    for a, b, relation in ecosystem.EDGES:
        assert a in ids and b in ids and a != b and relation
    assert len({(a, b) for a, b, _ in ecosystem.EDGES}) == len(ecosystem.EDGES), "an edge is listed twice"
    touched = Counter(x for a, b, _ in ecosystem.EDGES for x in (a, b))
    assert all(touched[i] > 0 for i in ids), [i for i in ids if not touched[i]]
    assert set(ecosystem.ESSAY_TO_OURS.values()) and all(set(v) <= set(ids) for v in ecosystem.ESSAY_TO_OURS.values())


def test_the_essay_diagram_is_read_back_exactly():
    labels, edges = ecosystem.essay_graph()
    assert sorted(labels) == list("ABCDEFGHIJ")
    assert edges == [("A", "B"), ("A", "C"), ("A", "D"), ("B", "E"), ("C", "F"), ("D", "G"), ("E", "H"), ("B", "I"),
                     ("C", "J")]
    assert labels["H"].startswith("Policy and regulation") and "政策法规" in labels["H"]
    assert set(ecosystem.ESSAY_TO_OURS) == set(labels)


def test_parse_mermaid_handles_labels_and_refuses_what_it_does_not_understand():
    labels, edges = ecosystem.parse_mermaid('graph LR\n  X["a b"] --> Y\n  Y --> Z[c]\n')
    assert labels == {"X": "a b", "Y": "Y", "Z": "c"} and edges == [("X", "Y"), ("Y", "Z")]
    with pytest.raises(ValueError, match="line 3"):
        ecosystem.parse_mermaid("graph TD\n A --> B\n A -.-> C")


def _acyclic(edges):
    """Kahn's algorithm, independent of find_cycle."""
    nodes = {x for e in edges for x in e[:2]}
    indeg = {n: 0 for n in nodes}
    for a, b in (e[:2] for e in edges):
        indeg[b] += 1
    ready, seen = [n for n, d in indeg.items() if d == 0], 0
    while ready:
        n = ready.pop()
        seen += 1
        for a, b in (e[:2] for e in edges):
            if a == n:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    return seen == len(nodes)


@pytest.mark.parametrize("edges", [ecosystem.EDGES, ecosystem.essay_graph()[1], [("a", "b"), ("b", "c"), ("c", "a")],
                                   [("a", "b"), ("a", "c"), ("b", "c")], [("a", "a")]])
def test_find_cycle_agrees_with_kahn(edges):
    cycle = ecosystem.find_cycle(edges)
    assert (cycle is None) == _acyclic(edges)
    if cycle:
        assert cycle[0] == cycle[-1]
        pairs = {tuple(e[:2]) for e in edges}
        assert all((a, b) in pairs for a, b in zip(cycle, cycle[1:]))


def test_comparison_facts():
    facts, table = ecosystem.compare_with_essay()
    assert facts["essay is a tree"] and facts["essay cycle"] is None
    assert facts["essay: edges out of policy"] == 0 and facts["ours: edges out of policy"] > 0
    assert "federated learning" in facts["essay: concepts absent"]
    assert set(table["in our graph"]) <= {"kept", "reversed", "not in ours"} and len(table) == facts["essay edges"]
    reversed_row = table[table["essay edge"].str.startswith("Technical standards")].iloc[0]
    assert reversed_row["in our graph"] == "reversed" and "ai_regulation → standards" in reversed_row["our edges"]


def test_chapter_links_point_to_existing_notebooks_only(tmp_path):
    (tmp_path / "00_start_here.ipynb").write_text("{}")
    assert ecosystem.chapter_link(0, chapters=tmp_path) == "[chapter 00](00_start_here.ipynb)"
    assert ecosystem.chapter_link(6, chapters=tmp_path) == "chapter 06 *(in preparation)*"
    assert ecosystem.chapter_link(0, prefix="chapters/", chapters=tmp_path).endswith("(chapters/00_start_here.ipynb)")


def test_describe_and_figure():
    text = ecosystem.describe("privacy_law")
    assert "Privacy and data-protection law" in text and "restricts the transfer of" in text and "chapter 01" in text
    fig = ecosystem.network_figure("fl")
    sizes = {t.name: list(t.marker.size) for t in fig.data if t.name in ecosystem.PARTS and t.showlegend is False}
    assert max(sizes["technique"]) == 30 and all(max(s) < 30 for p, s in sizes.items() if p != "technique")
    assert len(fig.layout.annotations) == len(ecosystem.EDGES)


def test_the_notebook_renders_exactly_the_essay_diagram():
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    blocks = [c.source for c in cells if c.cell_type == "markdown" and c.source.startswith("```mermaid")]
    assert blocks == ["```mermaid\n" + ecosystem.ESSAY_MERMAID + "\n```"]


def test_the_ecosystem_dropdown_is_the_first_widget_the_browser_check_drives():
    """tools/browser_check.py moves the first slider or dropdown and expects the next figure to change."""
    code = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    first = next(i for i, s in enumerate(code) if re.search(r"widgets\.(\w*Slider|Dropdown)\(", s))
    assert "ecosystem.network_figure" in code[first] and "interactive_output" in code[first]
