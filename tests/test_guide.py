"""The instructor guide covers every chapter, with measured run times, and is what its inputs give."""
import json

from tools import guide
from utils import course


def _bench():
    return json.loads(guide.BENCH.read_text())


def test_every_chapter_has_a_measured_run_time():
    measured = guide.measured_seconds(_bench())
    missing = [p.stem for p in course.notebooks() if p.stem not in measured]
    assert not missing, f"data/bench.json has no run time for {missing}: run `make bench`"


def test_the_guide_covers_every_chapter_and_is_up_to_date():
    text = guide.GUIDE.read_text()
    for path in course.notebooks():
        assert f"(chapters/{path.stem}.ipynb)" in text, f"INSTRUCTOR.md does not cover {path.name}"
    assert guide.main(["--check"]) == 0, "INSTRUCTOR.md is stale: run `python -m tools.guide`"


def test_each_workshop_path_fits_its_time():
    assert guide.over_budget(_bench()) == []


def test_a_stale_guide_is_detected(tmp_path, monkeypatch):
    stale = tmp_path / "INSTRUCTOR.md"
    stale.write_text(guide.GUIDE.read_text().replace("| 00 |", "| 0 |", 1))
    monkeypatch.setattr(guide, "GUIDE", stale)
    assert guide.main(["--check"]) == 1


def test_objectives_are_read_from_the_first_cell():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "# T\n\n**In this notebook you will**\n\n1. do one thing\n   over two lines;\n2. do another.\n\nMore."))
    assert guide.objectives(nb) == ["do one thing over two lines;", "do another."]
