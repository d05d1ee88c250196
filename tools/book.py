"""The course as a static website (``make book``): every chapter executed and rendered by Sphinx + MyST-NB.

    python -m tools.book            # execute what is not cached, assemble, build build/book/html
    python -m tools.book --execute-only

Steps, each reusing what the previous run left:
1. *Vendor* the JavaScript the site needs from the npm registry, checked against pinned sha512
   integrities (``VENDOR``): MathJax, RequireJS and the ipywidgets HTML manager, so the site makes no
   request beyond its own folder. plotly.js comes from the plotly wheel in the lock.
2. *Execute* each chapter with nbclient (the course's kernel client, widget state stored) into
   build/executed/<stem>-<key>.ipynb, where the key hashes the notebook, utils/, data/ and the lock: a
   notebook is executed again only when something it runs changed. ``make stress-notebooks`` stores
   its first clean run of each widget chapter there too, so CI executes most chapters only once.
3. *Assemble* build/book-src: an index with the course map, the executed chapters (plotly figures,
   which MyST-NB does not render from plotly's mimetype, are turned into HTML with plotly's own
   ``to_html``, loading the one local plotly.js), the glossary and the instructor guide.
4. *Build* with sphinx-build (configuration: tools/sphinx/conf.py); Sphinx warnings (a broken
   cross-reference, a missing page) fail the build.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from utils import course
from utils.download import write_atomically

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
EXECUTED = BUILD / "executed"
VENDOR_DIR = BUILD / "vendor"
SRC = BUILD / "book-src"
HTML = BUILD / "book" / "html"
CONF = REPO / "tools" / "sphinx"
CELL_TIMEOUT_S = 900

# npm package -> (version, sha512 integrity as the registry publishes it, {path in the tarball: path in _static}).
VENDOR = {
    "mathjax": ("3.2.2", "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
                {"package/es5/": "mathjax/"}),
    "requirejs": ("2.3.7", "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
                  {"package/require.js": "require.js"}),
    "@jupyter-widgets/html-manager": (
        "1.0.11", "sha512-MC0bD2uhaMjq+Wf64jXtydqCUNrNdElldMH19QAujAAiag0aGYA41s9PMPVEuVH1+RpqI7MQUqWkaAIbx4xMQQ==",
        {"package/dist/": "widgets/"}),
}
PLOTLY_MIME = "application/vnd.plotly.v1+json"


# ---- 1. vendor --------------------------------------------------------------------------------
def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def vendor(static: Path = VENDOR_DIR / "static") -> Path:
    """The site's JavaScript in ``static`` (fetched once with ``npm pack``, integrity-checked)."""
    tarballs = VENDOR_DIR / "tarballs"
    tarballs.mkdir(parents=True, exist_ok=True)
    for name, (version, integrity, members) in VENDOR.items():
        tgz = tarballs / f"{name.replace('@', '').replace('/', '-')}-{version}.tgz"
        if not tgz.exists():
            if shutil.which("npm") is None:
                raise SystemExit(f"{name}@{version} is not in {tarballs} and npm is not installed to fetch it")
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
                                     check=True, capture_output=True, text=True).stdout
                shutil.move(Path(tmp) / json.loads(out)[0]["filename"], tgz)
        if integrity_of(tgz) != integrity:
            tgz.unlink()
            raise SystemExit(f"{tgz.name}: sha512 differs from the pinned integrity; deleted it, run again")
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                for src, dest in members.items():
                    if member.isfile() and (member.name == src or (src.endswith("/") and member.name.startswith(src))):
                        target = static / (dest + member.name[len(src):] if src.endswith("/") else dest)
                        if not target.exists():
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(tar.extractfile(member).read())
    import plotly

    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", static / "plotly.min.js")
    return static


# ---- 2. execute -------------------------------------------------------------------------------
def _tree_digest(paths) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def inputs_digest() -> str:
    """What every chapter runs besides itself: the package, the shipped data and the lock."""
    files = [p for p in (REPO / "utils").rglob("*.py")] + [p for p in (REPO / "data").rglob("*")
                                                           if p.is_file() and "cache" not in p.parts]
    return _tree_digest(files + [REPO / "requirements.lock"])


def cache_key(notebook: Path, digest: str | None = None) -> str:
    nb = nbformat.read(notebook, as_version=4)
    cells = json.dumps([(c.cell_type, c.source) for c in nb.cells])
    data_dir = os.environ.get("FLCOURSE_DATA_DIR", "")  # real data or the twin: different outputs
    return hashlib.sha256(f"{cells}\0{digest or inputs_digest()}\0{data_dir}".encode()).hexdigest()[:16]


def executed_path(notebook: Path, digest: str | None = None) -> Path:
    return EXECUTED / f"{Path(notebook).stem}-{cache_key(notebook, digest)}.ipynb"


def store_executed(notebook: Path, executed: nbformat.NotebookNode, digest: str | None = None) -> Path:
    """Keep an executed copy for the book (only the newest key per chapter stays)."""
    target = executed_path(notebook, digest)
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for old in EXECUTED.glob(f"{Path(notebook).stem}-*.ipynb"):
        if old != target:
            old.unlink()
    write_atomically(target, nbformat.writes(executed).encode())
    return target


def execute(notebook: Path, digest: str) -> Path:
    from nbclient import NotebookClient

    from utils.kernel_client import SafeAsyncKernelManager

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                            kernel_manager_class=SafeAsyncKernelManager,
                            resources={"metadata": {"path": str(Path(notebook).parent)}})
    client.execute()
    return store_executed(notebook, nb, digest)


def execute_all(notebooks, parallel: int = 2) -> list[Path]:
    digest = inputs_digest()
    todo = [nb for nb in notebooks if not executed_path(nb, digest).exists()]
    print(f"{len(notebooks) - len(todo)} chapters reused from {EXECUTED.relative_to(REPO)}, "
          f"{len(todo)} to execute", flush=True)
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for path in pool.map(lambda nb: execute(nb, digest), todo):
            print(f"  executed {path.name}", flush=True)
    return [executed_path(nb, digest) for nb in notebooks]


# ---- accessibility ----------------------------------------------------------------------------
_HEX = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_RGB = re.compile(r"^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")
_NAMED = {"black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128), "grey": (128, 128, 128)}
_DIGIT = re.compile(r"\d")


def _rgb(colour: str):
    colour = colour.strip()
    if _HEX.match(colour):
        h = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    m = _RGB.match(colour)
    return tuple(int(x) for x in m.groups()) if m else _NAMED.get(colour.lower())


def colour_is_safe(colour: str) -> bool:
    """An Okabe-Ito colour (any opacity) or a grey: what the course's figures may use."""
    from utils.setup import OKABE_ITO

    rgb = _rgb(colour)
    return rgb is not None and (rgb in {_rgb(c) for c in OKABE_ITO} or rgb[0] == rgb[1] == rgb[2])


def _explicit_colours(obj):
    """Every colour string a figure sets itself (its template, where setup() puts the palette, aside)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "template":
                continue
            if key.endswith("color") and isinstance(value, (str, list)):
                yield from (c for c in (value if isinstance(value, list) else [value]) if isinstance(c, str))
            else:
                yield from _explicit_colours(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _explicit_colours(item)


def _states_numbers(output) -> bool:
    data = output.get("data", {})
    text = output.get("text", "") + data.get("text/markdown", "") + data.get("text/html", "")
    return bool(_DIGIT.search(text)) and PLOTLY_MIME not in data


def accessibility_problems(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """Figures whose colours are not colour-blind safe, and figures not followed by printed text that
    states in numbers what they show (later in the same cell, or by the next cell): a screen reader
    cannot read a canvas."""
    problems = []
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        for j, output in enumerate(outputs):
            figure = output.get("data", {}).get(PLOTLY_MIME)
            if figure is None:
                continue
            where = f"{name} cell {i}"
            unsafe = sorted({c for c in _explicit_colours(figure) if not colour_is_safe(c)})
            if unsafe:
                problems.append(f"{where}: colours outside the Okabe-Ito palette and greys: {unsafe}")
            nxt = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            # Computed text only (prose numbers are typed, and the course computes every number it states).
            described = (any(_states_numbers(o) for o in outputs[j + 1:])
                         or (nxt is not None and any(_states_numbers(o) for o in nxt.get("outputs", []))))
            if not described:
                problems.append(f"{where}: no sentence or table with numbers follows the figure")
    return problems


# ---- 3. assemble ------------------------------------------------------------------------------
def plotly_to_html(nb: nbformat.NotebookNode) -> int:
    """Give every plotly output an HTML rendering (plotly's to_html, plotly.js loaded once by the page)."""
    import plotly.io as pio

    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME in data:
                figure = pio.from_json(json.dumps(data[PLOTLY_MIME]), skip_invalid=True)
                data["text/html"] = pio.to_html(figure, include_plotlyjs=False, full_html=False,
                                                div_id=f"figure-{count}", config={"responsive": True})
                del data[PLOTLY_MIME]
                count += 1
    return count


CHAPTER_LINK = re.compile(r"(\]\(|href=[\"'])(\d\d_[a-z0-9_]+)\.ipynb")


def chapter_links_to_html(nb: nbformat.NotebookNode) -> None:
    """Links to chapters inside outputs (the course map chapter 00 prints) point to their pages.
    MyST resolves links in the notebook's own Markdown cells, not in what a cell printed."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for mime in ("text/markdown", "text/html"):
                if mime in output.get("data", {}):
                    output["data"][mime] = CHAPTER_LINK.sub(r"\1\2.html", output["data"][mime])


GLOSSARY_LINK = re.compile(r"\[([^\]]+)\]\((?:\.\./)?GLOSSARY\.md#(g-[a-z0-9-]+)\)")


def glossary_links_to_html(nb: nbformat.NotebookNode) -> None:
    """Links to a glossary entry become plain HTML links: the entries' anchors are ``<a id>`` tags
    inside a Markdown table, which the browser finds but Sphinx cannot (it warns, and -W fails).
    ``make test-book`` checks in the browser that each such anchor exists."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = GLOSSARY_LINK.sub(r'<a href="../GLOSSARY.html#\2">\1</a>', cell.source)
        for output in cell.get("outputs", []):
            if "text/markdown" in output.get("data", {}):
                output["data"]["text/markdown"] = GLOSSARY_LINK.sub(r'<a href="../GLOSSARY.html#\2">\1</a>',
                                                                    output["data"]["text/markdown"])


def index_page() -> str:
    return (f"# Federated Learning Across Borders\n\n"
            "An interactive course on federated learning with TensorFlow Federated. This site shows every "
            "chapter as it ran, outputs included; to run and change them, open the notebooks in JupyterLab "
            "(see the repository's README).\n\n"
            f"{course.course_map(prefix='chapters/')}\n\n"
            "```{toctree}\n:hidden:\n:maxdepth: 1\n\n"
            + "\n".join(f"chapters/{p.stem}" for p in course.notebooks())
            + "".join(f"\n{extra}" for extra in ("GLOSSARY", "INSTRUCTOR") if (REPO / f"{extra}.md").exists())
            + "\n```\n")


def assemble(executed: list[Path]) -> Path:
    """The Sphinx source folder; refuses chapters whose figures fail ``accessibility_problems``."""
    problems = [p for path in executed for p in accessibility_problems(nbformat.read(path, as_version=4),
                                                                       path.stem.rsplit("-", 1)[0])]
    if problems:
        raise SystemExit("figures a colour-blind or screen-reader user cannot read:\n  " + "\n  ".join(problems))
    if SRC.exists():
        shutil.rmtree(SRC)
    (SRC / "chapters").mkdir(parents=True)
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        plotly_to_html(nb)
        chapter_links_to_html(nb)
        glossary_links_to_html(nb)
        stem = path.stem.rsplit("-", 1)[0]
        (SRC / "chapters" / f"{stem}.ipynb").write_text(nbformat.writes(nb))
    for extra in ("GLOSSARY.md", "INSTRUCTOR.md"):
        if (REPO / extra).exists():
            shutil.copy2(REPO / extra, SRC / extra)
    (SRC / "index.md").write_text(index_page())
    return SRC


# ---- 4. build ---------------------------------------------------------------------------------
def build(src: Path = SRC, out: Path = HTML) -> None:
    if out.exists():
        shutil.rmtree(out)
    from sphinx.cmd.build import build_main

    status = build_main(["-b", "html", "-c", str(CONF), "-W", "--keep-going", "-q", str(src), str(out)])
    if status:
        raise SystemExit(f"sphinx-build failed (exit {status}); its warnings are above")
    print(f"built {out.relative_to(REPO)}/index.html")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.book", description=__doc__.split("\n\n")[0])
    ap.add_argument("--execute-only", action="store_true", help="execute and cache the chapters, build nothing")
    ap.add_argument("--parallel", type=int, default=2, help="chapters executed at a time")
    args = ap.parse_args(argv)
    executed = execute_all(course.notebooks(), args.parallel)
    if args.execute_only:
        return 0
    vendor()
    build(assemble(executed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
