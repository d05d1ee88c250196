"""Navigation links at the end of every notebook and the course map in README.md, generated.

    python -m tools.nav          # rewrite them (make nav)
    python -m tools.nav --check  # exit 1 if any is out of date (a test runs this)
"""
from __future__ import annotations

import sys

import nbformat

from utils.course import CHAPTERS, INDEX, ROOT, course_map, notebooks, title_of

README = ROOT / "README.md"
NAV_TAG = "navigation"
MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"


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


def _with_map(readme: str, chapters=CHAPTERS) -> str:
    if MAP_START not in readme or MAP_END not in readme:
        raise ValueError(f"README.md lacks the markers {MAP_START} … {MAP_END}")
    head, rest = readme.split(MAP_START, 1)
    _, tail = rest.split(MAP_END, 1)
    return f"{head}{MAP_START}\n{course_map(prefix='chapters/', chapters=chapters)}\n{MAP_END}{tail}"


def stale_files(write: bool, chapters=CHAPTERS, readme=README) -> list[str]:
    """Files whose navigation or map is out of date (rewritten when ``write``)."""
    stale = []
    for path in notebooks(chapters):
        nb = nbformat.read(path, as_version=4)
        if _with_navigation(nb, navigation_source(path, chapters)):
            stale.append(path.name)
            if write:
                nbformat.write(nb, path)
    text = readme.read_text()
    if _with_map(text, chapters) != text:
        stale.append(readme.name)
        if write:
            readme.write_text(_with_map(text, chapters))
    return stale


if __name__ == "__main__":
    check = sys.argv[1:] == ["--check"]
    changed = stale_files(write=not check)
    if check and changed:
        print(f"out of date: {', '.join(changed)}; run `python -m tools.nav`", file=sys.stderr)
        sys.exit(1)
    print(("updated: " + ", ".join(changed)) if changed and not check else "navigation and course map are up to date")
