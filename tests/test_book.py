"""The website build's own steps (tools/book.py) and the link check of its browser test."""
import json

import nbformat
import plotly.graph_objects as go
import pytest

from tools import book, book_check


def _notebook_with(outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    nb.cells.append(cell)
    return nb


def test_plotly_outputs_become_html_that_loads_the_local_plotly():
    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    nb = _notebook_with([{"output_type": "display_data", "metadata": {},
                          "data": {book.PLOTLY_MIME: json.loads(fig.to_json()), "text/plain": "Figure"}}])
    assert book.plotly_to_html(nb) == 1
    data = nb.cells[0].outputs[0]["data"]
    assert book.PLOTLY_MIME not in data
    html = data["text/html"]
    assert "Plotly.newPlot" in html and "figure-0" in html
    assert "cdn" not in html.lower() and "<script src" not in html  # plotly.js comes from the page, once


def test_links_to_chapters_printed_by_a_cell_point_to_pages():
    nb = _notebook_with([{"output_type": "display_data", "metadata": {},
                          "data": {"text/markdown": "[Next](03_federated_math.ipynb) and [x](https://e.org/a.ipynb)"}}])
    book.chapter_links_to_html(nb)
    assert nb.cells[0].outputs[0]["data"]["text/markdown"] == "[Next](03_federated_math.html) and [x](https://e.org/a.ipynb)"


def test_the_cache_key_follows_the_notebook_and_what_it_runs(tmp_path, monkeypatch):
    path = tmp_path / "07_x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nbformat.write(nb, path)
    key = book.cache_key(path, "digest-a")
    assert book.cache_key(path, "digest-b") != key  # utils/, data/ or the lock changed
    nb.cells[0].source = "print(2)"
    nbformat.write(nb, path)
    assert book.cache_key(path, "digest-a") != key
    monkeypatch.setenv("FLCOURSE_DATA_DIR", "/elsewhere")
    other = book.cache_key(path, "digest-a")
    monkeypatch.delenv("FLCOURSE_DATA_DIR")
    assert book.cache_key(path, "digest-a") != other  # real data or the twin: different outputs


def test_a_vendored_file_with_the_wrong_integrity_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "VENDOR_DIR", tmp_path)
    (tmp_path / "tarballs").mkdir()
    version = book.VENDOR["requirejs"][0]
    (tmp_path / "tarballs" / f"requirejs-{version}.tgz").write_bytes(b"not the package")
    monkeypatch.setattr(book, "VENDOR", {"requirejs": book.VENDOR["requirejs"]})
    with pytest.raises(SystemExit, match="sha512 differs"):
        book.vendor(tmp_path / "static")
    assert not (tmp_path / "tarballs" / f"requirejs-{version}.tgz").exists()


def test_the_link_check_finds_broken_links_and_missing_anchors(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "index.html").write_text('<a href="chapters/a.html#intro">a</a> <a href="https://x.org/">x</a>')
    (tmp_path / "chapters" / "a.html").write_text('<h1 id="intro">A</h1><a href="../index.html">up</a>')
    assert book_check.link_errors(tmp_path) == []
    (tmp_path / "chapters" / "a.html").write_text('<h1 id="other">A</h1><a href="b.html">b</a>')
    assert sorted(book_check.link_errors(tmp_path)) == ["broken link chapters/a.html: b.html",
                                                        "missing anchor index.html: chapters/a.html#intro"]


def _figure_output(**trace):
    fig = go.Figure(go.Scatter(y=[1, 2], **trace))
    return {"output_type": "display_data", "metadata": {}, "data": {book.PLOTLY_MIME: json.loads(fig.to_json())}}


def _markdown_output(text):
    return {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": text}}


def test_accessibility_accepts_the_palette_greys_and_a_figure_stated_in_numbers():
    nb = _notebook_with([_figure_output(line={"color": "#0072B2"}, marker={"color": "rgba(213, 94, 0, 0.4)"}),
                         _figure_output(line={"color": "#999"}, marker={"color": ["black", "#E69F00"]}),
                         _markdown_output("In numbers: 0.81 and 0.77.")])
    assert book.accessibility_problems(nb, "ch") == []


def test_accessibility_flags_other_colours_and_a_figure_nobody_describes():
    nb = _notebook_with([_figure_output(line={"color": "#1f77b4"}), _markdown_output("In numbers: 3.")])
    assert book.accessibility_problems(nb, "ch") == [
        "ch cell 0: colours outside the Okabe-Ito palette and greys: ['#1f77b4']"]
    nb = _notebook_with([_markdown_output("a table follows: 3"), _figure_output()])
    nb.cells.append(nbformat.v4.new_markdown_cell("What to notice: typed prose with 2 numbers does not count."))
    assert book.accessibility_problems(nb, "ch") == ["ch cell 0: no sentence or table with numbers follows the figure"]
    follow = nbformat.v4.new_code_cell("y")
    follow.outputs = [nbformat.from_dict(_markdown_output("In numbers: 2 rounds."))]
    nb.cells[1] = follow
    assert book.accessibility_problems(nb, "ch") == []
