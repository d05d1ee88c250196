"""The course map and the navigation links at the end of every notebook.

The ``NN_`` prefix of a file in ``chapters/`` is the only source of order.
``PLAN`` lists the chapters the course will have; a chapter whose notebook does
not exist yet shows as "in preparation" in the map.

    python -m utils.course          # rewrite navigation cells and README's map
    python -m utils.course --check  # exit 1 if any of them is out of date (a test runs this)
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
README = ROOT / "README.md"
INDEX = "00_start_here.ipynb"
NAV_TAG = "navigation"
MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"
_NOTEBOOK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")


@dataclass(frozen=True)
class Chapter:
    number: int
    stem: str
    title: str
    seed: str
    learner_does: str


PLAN = (
    Chapter(0, "00_start_here", "Start here", "–", "checks the environment, sees the map, learns the controls"),
    Chapter(1, "01_ai_infrastructure_and_cooperation", "AI infrastructure and cooperation", "§1, §2",
            "explores the AI-ecosystem graph; moves a real model file between tools; sees why data can't be pooled"),
    Chapter(2, "02_core_algorithms", "Core algorithms", "§3.1",
            "trains a tiny deep-learning model and a tiny RL agent; watches an FL round animated"),
    Chapter(3, "03_federated_math", "The federated math, done right", "§3.2, §4",
            "derives FedSGD and FedAvg, fixes the seed's formula, watches client drift on a loss surface"),
    Chapter(4, "04_fedavg_in_tff", "FedAvg three ways in TFF", "§3.2, §5",
            "builds FedAvg from scratch, with TFF's learning API and its federated core; checks they agree"),
    Chapter(5, "05_hospital_case_study", "Four hospitals, one model", "§3.4, §5, §6.2",
            "local vs pooled vs FedAvg/FedAdam/FedProx on UCI Heart Disease, per hospital, with personalisation"),
    Chapter(6, "06_privacy_and_security", "Privacy and security", "§1.3, §2.3, §9.4",
            "DP-SGD in each hospital, ε accounting, a membership-inference attack, secure aggregation"),
    Chapter(7, "07_communication_efficiency", "Communication efficiency", "§3.3, §7.3",
            "bytes per round, compression, client sampling, local steps vs rounds"),
    Chapter(8, "08_finance_and_energy", "Finance and energy", "§6.1, §6.3, §6.4",
            "fraud detection across banks, load forecasting across utilities"),
    Chapter(9, "09_scaling_out", "Scaling out", "§8", "the same training on TFF workers over gRPC; checkpoint and resume"),
    Chapter(10, "10_outlook_and_faq", "Outlook and FAQ", "§8, §9",
            "open problems, the FAQ as a self-check quiz, glossary (English/中文), corrected references"),
)


def notebooks(chapters: Path = CHAPTERS) -> list[Path]:
    """The chapter notebooks in course order; a badly named notebook is an error."""
    found = sorted(chapters.glob("*.ipynb"))
    bad = [p.name for p in found if not _NOTEBOOK_NAME.match(p.name)]
    if bad:
        raise ValueError(f"notebook names must look like NN_name.ipynb (lower case): {bad}")
    return found


def title_of(path: Path) -> str:
    """The notebook's H1 title (its first markdown line starting with '# ')."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError(f"{path.name} has no '# Title' heading")


def course_map(prefix: str = "", chapters: Path = CHAPTERS) -> str:
    """A Markdown table of the course; links are relative, with ``prefix`` before each file name."""
    present = {p.stem: p for p in notebooks(chapters)}
    rows = ["| # | chapter | seed § | what you do |", "|---|---|---|---|"]
    for chapter in PLAN:
        path = present.get(chapter.stem)
        name = f"[{title_of(path)}]({prefix}{path.name})" if path else f"{chapter.title} *(in preparation)*"
        rows.append(f"| {chapter.number:02d} | {name} | {chapter.seed} | {chapter.learner_does} |")
    unplanned = sorted(set(present) - {c.stem for c in PLAN})
    if unplanned:
        raise ValueError(f"notebooks not in utils.course.PLAN: {unplanned}")
    return "\n".join(rows)


def navigation_source(path: Path, chapters: Path = CHAPTERS) -> str:
    """'previous | index | next' links for one notebook."""
    order = notebooks(chapters)
    i = order.index(path)
    parts = []
    if i > 0:
        parts.append(f"[← {title_of(order[i - 1])}]({order[i - 1].name})")
    if path.name != INDEX:
        parts.append(f"[Index: course map]({INDEX})")
    if i + 1 < len(order):
        parts.append(f"[{title_of(order[i + 1])} →]({order[i + 1].name})")
    if not parts:
        return "---\nThe other chapters are in preparation: see the course map above."
    return "---\n" + " | ".join(parts)


def _with_navigation(nb, source: str) -> bool:
    """Put ``source`` in the notebook's last cell, tagged 'navigation'; True if anything changed."""
    last = nb.cells[-1] if nb.cells else None
    if last is not None and NAV_TAG in last.metadata.get("tags", []):
        if last.source == source:
            return False
        last.source = source
        return True
    nb.cells.append(nbformat.v4.new_markdown_cell(source, metadata={"tags": [NAV_TAG]}))
    return True


def _with_map(readme: str) -> str:
    if MAP_START not in readme or MAP_END not in readme:
        raise ValueError(f"README.md lacks the markers {MAP_START} … {MAP_END}")
    head, rest = readme.split(MAP_START, 1)
    _, tail = rest.split(MAP_END, 1)
    return f"{head}{MAP_START}\n{course_map(prefix='chapters/')}\n{MAP_END}{tail}"


def stale_files(write: bool) -> list[str]:
    """Files whose navigation or map is out of date (rewritten when ``write``)."""
    stale = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if _with_navigation(nb, navigation_source(path)):
            stale.append(path.name)
            if write:
                nbformat.write(nb, path)
    readme = README.read_text()
    if _with_map(readme) != readme:
        stale.append(README.name)
        if write:
            README.write_text(_with_map(readme))
    return stale


if __name__ == "__main__":
    check = sys.argv[1:] == ["--check"]
    changed = stale_files(write=not check)
    if check and changed:
        print(f"out of date: {', '.join(changed)}; run `python -m utils.course`", file=sys.stderr)
        sys.exit(1)
    print(("updated: " + ", ".join(changed)) if changed and not check else "navigation and course map are up to date")
