"""The course glossary, English / 中文, from one data file: ``data/glossary.csv``. Introduced in chapter 10.

Each row holds a term, its Chinese name, the chapter that introduces it, the regular expressions that
find it in a notebook (``|``-separated alternatives, case-insensitive) and a one-sentence definition.
Chapter 10 shows the table; ``GLOSSARY.md`` at the repository's root is generated from the same file
(``python -m tools.glossary``), so any chapter can link to a term with ``link(term)``.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from utils import validate as v

__all__ = ["GLOSSARY_CSV", "GLOSSARY_MD", "Term", "load_glossary", "anchor", "link", "chapter_text", "usage",
           "markdown"]

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY_CSV = ROOT / "data" / "glossary.csv"
GLOSSARY_MD = ROOT / "GLOSSARY.md"
_COLUMNS = ["term", "zh", "chapter", "patterns", "definition"]
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Term:
    term: str
    zh: str
    chapter: int
    patterns: str
    definition: str

    def regex(self) -> re.Pattern:
        """The patterns, case-insensitive; a space matches any run of white space and Markdown emphasis, so
        'horizontal federated' finds '**horizontal**\nfederated'."""
        return re.compile(self.patterns.replace(" ", r"[\s*_]+"), re.IGNORECASE)


def load_glossary(path=GLOSSARY_CSV) -> tuple:
    """The terms of the glossary file, validated: every column filled, a Chinese name in Chinese, the
    chapter a planned one, the patterns valid regular expressions, no term twice."""
    from utils.course import PLAN

    path = v.path("path", path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != _COLUMNS:
            raise ValueError(f"{path.name} must have the columns {_COLUMNS}, got {reader.fieldnames}")
        rows = list(reader)
    planned = {c.number for c in PLAN}
    terms, seen = [], set()
    for line, row in enumerate(rows, 2):
        where = f"{path.name}, line {line}"
        if any(not (row[c] or "").strip() for c in _COLUMNS):
            raise ValueError(f"{where}: every column must be filled, got {row}")
        if not _CJK.search(row["zh"]):
            raise ValueError(f"{where}: the Chinese name {row['zh']!r} has no Chinese character")
        if not row["chapter"].isdigit() or int(row["chapter"]) not in planned:
            raise ValueError(f"{where}: chapter must be one of {sorted(planned)}, got {row['chapter']!r}")
        try:
            re.compile(row["patterns"].replace(" ", r"[\s*_]+"), re.IGNORECASE)
        except re.error as e:
            raise ValueError(f"{where}: patterns {row['patterns']!r} is not a regular expression ({e})") from None
        key = row["term"].strip().lower()
        if key in seen:
            raise ValueError(f"{where}: the term {row['term']!r} appears twice")
        seen.add(key)
        terms.append(Term(row["term"].strip(), row["zh"].strip(), int(row["chapter"]), row["patterns"],
                          row["definition"].strip()))
    if not terms:
        raise ValueError(f"{path.name} holds no terms")
    return tuple(terms)


def _term(term: str, terms) -> Term:
    v.text("term", term)
    for t in terms:
        if t.term.lower() == term.lower():
            return t
    raise ValueError(f"unknown term {term!r}; the glossary has {len(terms)} terms, e.g. {terms[0].term!r}")


def anchor(term: str) -> str:
    """The HTML anchor of a term in GLOSSARY.md, e.g. 'FedAvg (federated averaging)' → 'g-fedavg-federated-averaging'."""
    term = v.text("term", term)
    slug = re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
    if not slug:
        raise ValueError(f"term {term!r} has no letters or digits to make an anchor from")
    return "g-" + slug


def link(term: str, prefix: str = "../") -> str:
    """A Markdown link to the term in GLOSSARY.md; ``prefix`` leads from the linking file to the repository root
    ('../' from a notebook in chapters/)."""
    prefix = v.text("prefix", prefix, empty=True)
    t = _term(term, load_glossary())
    return f"[{t.term}]({prefix}{GLOSSARY_MD.name}#{anchor(t.term)})"


def chapter_text(path) -> str:
    """Everything a reader sees in a notebook as written: the source of its markdown and code cells."""
    import nbformat

    path = v.path("path", path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a notebook file")
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def usage(terms=None, chapters=None):
    """A DataFrame term × chapter number: True where the chapter's notebook mentions the term
    (its patterns match). Only notebooks that exist are columns."""
    import pandas as pd

    from utils.course import CHAPTERS, notebooks

    terms = load_glossary() if terms is None else terms
    if not isinstance(terms, (list, tuple)) or not terms or not all(isinstance(t, Term) for t in terms):
        raise TypeError(f"terms must be a non-empty list of glossary Terms, got {terms!r}"[:200])
    folder = CHAPTERS if chapters is None else v.path("chapters", chapters)
    texts = {int(p.name[:2]): chapter_text(p) for p in notebooks(Path(folder))}
    return pd.DataFrame({n: [bool(t.regex().search(text)) for t in terms] for n, text in sorted(texts.items())},
                        index=pd.Index([t.term for t in terms], name="term"))


def markdown(terms=None) -> str:
    """The glossary as a Markdown document: one table row per term, each with an anchor to link to."""
    terms = load_glossary() if terms is None else terms
    if not isinstance(terms, (list, tuple)) or not terms or not all(isinstance(t, Term) for t in terms):
        raise TypeError(f"terms must be a non-empty list of glossary Terms, got {terms!r}"[:200])
    rows = ["# Glossary · 术语表", "",
            f"Generated from `data/{GLOSSARY_CSV.name}` by `python -m tools.glossary`; do not edit by hand. "
            "Chapter 10 shows the same table. *Chapter* is the chapter that introduces the term.", "",
            "| term | 中文 | chapter | meaning |", "|---|---|---|---|"]
    for t in sorted(terms, key=lambda t: t.term.lower()):
        rows.append(f'| <a id="{anchor(t.term)}"></a>**{t.term}** | {t.zh} | {t.chapter:02d} | '
                    f"{t.definition.replace('|', '∣')} |")
    return "\n".join(rows) + "\n"
