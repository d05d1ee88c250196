"""Static checks of the notebooks and links (nbval executes them in `make test`)."""
import re
from pathlib import Path

import nbformat
import pytest

from tools import nav
from utils import course

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course.notebooks()
MARKDOWN_FILES = [ROOT / "README.md", ROOT / "data" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_sources():
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                yield path, cell.source
    for path in MARKDOWN_FILES:
        if path.exists():
            yield path, path.read_text()


def test_there_is_a_start_notebook():
    assert NOTEBOOKS[0].name == course.INDEX


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"{path.name}: cells {dirty} have outputs or execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_starts_with_title_then_the_setup_cell(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    first_code = next(c for c in cells if c.cell_type == "code")
    assert "from utils.setup import setup" in first_code.source and "setup(" in first_code.source


def test_navigation_and_course_map_are_up_to_date():
    assert nav.stale_files(write=False) == [], "run `make nav`"


def test_every_relative_link_resolves():
    broken = []
    for path, text in markdown_sources():
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # external or in-page
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{path.relative_to(ROOT)} → {target}")
    assert broken == []


def test_badly_named_notebook_is_refused(tmp_path):
    (tmp_path / "1_intro.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="1_intro.ipynb"):
        course.notebooks(tmp_path)


def test_link_checker_would_catch_a_broken_link(tmp_path):
    assert LINK.findall("see [next](02_missing.ipynb)") == ["02_missing.ipynb"]
    assert not (course.CHAPTERS / "02_missing.ipynb").exists()
