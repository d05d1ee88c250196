"""Browser test of the built website (``make test-book``): headless Chromium, offline, every page.

    python -m tools.book_check [--html build/book/html]

Serves the site on a random 127.0.0.1 port and, in Debian's Chromium (through Playwright), visits the
index, every chapter page, the glossary, the instructor guide and a search. It fails when
  * a request leaves the site (anything but this server or a data:/blob: URL is blocked and reported);
  * a page logs a JavaScript error or a console error, or a request to the site fails;
  * a page's plotly figures are not all drawn (an SVG per ``plotly-graph-div``), its formulas are not
    all typeset by MathJax (an ``mjx-container`` per math node), or its saved widgets are not rendered;
  * an internal link (any ``href`` on the site) does not resolve to a page, or its ``#fragment`` to an
    element id on that page;
  * searching for "FedAvg" finds nothing.
Screenshots go to build/book/screenshots/<page>.png (whole page) and <page>-figure.png (its last figure).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from tools.browser_check import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
HTML = REPO / "build" / "book" / "html"
SHOTS = REPO / "build" / "book" / "screenshots"
ID = re.compile(r"""\b(?:id|name)=["']([^"']+)["']""")
HREF = re.compile(r"""<a\b[^>]*?\bhref=["']([^"']+)["']""")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (a page left mid-download): not our error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(root: Path):
    server = QuietServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def pages(root: Path) -> list[str]:
    names = ["index.html"] + sorted(str(p.relative_to(root)) for p in (root / "chapters").glob("*.html"))
    return names + [n for n in ("GLOSSARY.html", "INSTRUCTOR.html") if (root / n).exists()]


def link_errors(root: Path) -> list[str]:
    """Every href on every built page that points into the site must name a file, and its fragment an id."""
    errors, ids = [], {}
    for page in root.rglob("*.html"):
        if "_static" in page.parts:
            continue
        for href in HREF.findall(page.read_text(errors="replace")):
            parsed = urllib.parse.urlparse(href)
            if parsed.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue  # a link to another site: not followed, never requested
            target = (page.parent / urllib.parse.unquote(parsed.path)).resolve() if parsed.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(root)}: {href}"
            if not target.is_file():
                errors.append(f"broken link {where}")
            elif parsed.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(ID.findall(target.read_text(errors="replace")))
                if urllib.parse.unquote(parsed.fragment) not in ids[target]:
                    errors.append(f"missing anchor {where}")
    return errors


def check_page(page, url: str, name: str) -> tuple[list[str], dict]:
    errors = []
    page.goto(url, wait_until="load", timeout=120_000)
    expected = page.evaluate("""() => ({
        figures: document.querySelectorAll('.plotly-graph-div').length,
        math: document.querySelectorAll('div.math, span.math').length,
        widgets: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    })""")
    deadline = time.monotonic() + 60
    while True:
        drawn = page.evaluate("""() => ({
            figures: document.querySelectorAll('.plotly-graph-div .main-svg').length
                     ? new Set([...document.querySelectorAll('.plotly-graph-div .main-svg')]
                               .map(svg => svg.closest('.plotly-graph-div'))).size : 0,
            math: document.querySelectorAll('mjx-container').length,
            widgets: document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, .widget-slider, .widget-dropdown, .widget-output').length,
        })""")
        done = (drawn["figures"] >= expected["figures"] and drawn["math"] >= expected["math"]
                and (expected["widgets"] == 0 or drawn["widgets"] > 0))
        if done or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    if drawn["figures"] < expected["figures"]:
        errors.append(f"{name}: {drawn['figures']} of {expected['figures']} plotly figures drawn")
    if drawn["math"] < expected["math"]:
        errors.append(f"{name}: {drawn['math']} of {expected['math']} formulas typeset")
    if expected["widgets"] and not drawn["widgets"]:
        errors.append(f"{name}: {expected['widgets']} saved widget views, none rendered")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (Path(name).stem + ".png")), full_page=True)
    figures = page.locator(".plotly-graph-div")
    if figures.count():  # the last figure, usually the chapter's result, at reading size
        figures.last.scroll_into_view_if_needed()
        figures.last.screenshot(path=str(SHOTS / (Path(name).stem + "-figure.png")))
    return errors, {"expected": expected, "drawn": drawn}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.book_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=HTML)
    args = ap.parse_args(argv)
    root = args.html.resolve()
    if not (root / "index.html").is_file():
        print(f"{root}/index.html is missing: run `make book` first", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    errors = link_errors(root)
    server, base = serve(root)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            external, current = [], {"page": "?"}

            def route(r):
                url = r.request.url
                if url.startswith((base, "data:", "blob:")):
                    r.continue_()
                else:
                    external.append(f"{current['page']}: {url[:150]}")
                    r.abort()
            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(f"{current['page']}: JavaScript error {e}"))
            page.on("console", lambda m: m.type == "error" and errors.append(f"{current['page']}: console {m.text[:200]}"))
            page.on("requestfailed", lambda r: r.url.startswith(base)
                    and errors.append(f"{current['page']}: request failed {r.url} {r.failure}"))
            page.on("response", lambda r: r.url.startswith(base) and r.status >= 400
                    and errors.append(f"{current['page']}: HTTP {r.status} {r.url}"))
            for name in pages(root):
                current["page"] = name
                found, counts = check_page(page, base + name, name)
                errors += found
                print(f"{name}: figures {counts['drawn']['figures']}/{counts['expected']['figures']}, "
                      f"formulas {counts['drawn']['math']}/{counts['expected']['math']}, "
                      f"widget views {counts['expected']['widgets']} (rendered elements {counts['drawn']['widgets']})",
                      flush=True)
            current["page"] = "search.html"
            page.goto(base + "search.html?q=FedAvg", wait_until="load")
            try:
                page.wait_for_selector("#search-results li", timeout=30000)
                hits = page.locator("#search-results li").count()
                print(f"search 'FedAvg': {hits} pages")
            except PlaywrightTimeout:
                errors.append("search for 'FedAvg' listed no page within 30 s")
            errors += [f"request left the site: {u}" for u in external]
            browser.close()
    finally:
        server.shutdown()
    for e in errors:
        print("FAIL", e)
    print(f"{len(pages(root))} pages checked, {len(errors)} problems; screenshots in {SHOTS.relative_to(REPO)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
