"""The course map (chapter 00 shows it). Introduced in chapter 00.

The ``NN_`` prefix of a file in ``chapters/`` is the only source of order. ``PLAN`` lists the
chapters the course will have; a chapter whose notebook does not exist yet shows as "in
preparation". ``python -m tools.nav`` writes the map into README.md and the previous | index |
next links at the end of every notebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from utils import validate as v

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
INDEX = "00_start_here.ipynb"
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
            "attacks measured, then DP-SGD, client-level DP with ε accounting, secure aggregation, Paillier, robust "
            "aggregation"),
    Chapter(7, "07_communication_efficiency", "Communication efficiency", "§3.3, §7.3",
            "bytes per round, compression, client sampling, local steps vs rounds"),
    Chapter(8, "08_finance_and_energy", "Finance and energy", "§6.1, §6.3, §6.4",
            "credit risk across banks, vertical FL with private set intersection, load forecasting across utilities"),
    Chapter(9, "09_scaling_out", "Scaling out", "§8", "the same training on TFF workers over gRPC; checkpoint and resume"),
    Chapter(10, "10_outlook_and_faq", "Outlook and FAQ", "§8, §9",
            "open problems, the FAQ as a self-check quiz, glossary (English/中文), corrected references"),
)


def notebooks(chapters: Path = CHAPTERS) -> list[Path]:
    """The chapter notebooks in course order; a badly named notebook is an error."""
    chapters = v.path("chapters", chapters)
    if not chapters.is_dir():
        raise ValueError(f"chapters must be a folder of notebooks, got {str(chapters)!r}")
    found = sorted(chapters.glob("*.ipynb"))
    bad = [p.name for p in found if not _NOTEBOOK_NAME.match(p.name)]
    if bad:
        raise ValueError(f"notebook names must look like NN_name.ipynb (lower case): {bad}")
    return found


def title_of(path: Path) -> str:
    """The notebook's H1 title (its first markdown line starting with '# ')."""
    path = v.path("path", path)
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError(f"{path.name} has no '# Title' heading")


def course_map(prefix: str = "", chapters: Path = CHAPTERS) -> str:
    """A Markdown table of the course; links are relative, with ``prefix`` before each file name."""
    prefix = v.text("prefix", prefix, empty=True)
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
