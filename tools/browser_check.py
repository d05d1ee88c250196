"""Browser test: open notebooks in a real JupyterLab + Chromium, run them, check what renders.

Run by ``make test-browser`` as::

    .venv/bin/python tests/browser_check.py [NOTEBOOK ...] [--timeout S] [--interact | --no-interact]

(default notebook: chapters/00_start_here.ipynb). This is a script, not a pytest module.

For every notebook it
  * opens ``/lab/tree/<nb>?reset`` in a throw-away JupyterLab (127.0.0.1, random port and token,
    fresh config/data/runtime/workspaces/user-settings folders; the venv's share/jupyter, which holds
    the kernel spec and the widget/plotly lab extensions, stays on the data path);
  * waits for the kernel through ``window.jupyterapp.shell.currentWidget.sessionContext``, clears
    outputs, starts ``notebook:run-all-cells`` (without awaiting its promise) and waits until every
    code cell has an execution count, no ``[*]`` prompt is left and the kernel is idle;
  * asserts: >= 1 drawn plotly figure, >= 1 rendered ipywidget, no error output, no JavaScript
    ``pageerror``, no console error, no failed request to the server (ignored items are printed
    with the reason);
  * moves the first slider (ArrowRight on its handle) or changes the first dropdown, and asserts that
    the readout changes and that the first plotly figure after the widget re-renders;
  * saves a full-page screenshot to ``build/browser/<notebook-stem>.png`` and one of the first
    widget's output to ``<notebook-stem>-widget.png``.

JupyterLab autosave is switched off in the fresh user settings so the notebook file is never written;
the script also checks that the file is byte-identical afterwards.

Exit status: 0 all good, 1 a check failed, 2 set-up problem (e.g. no /usr/bin/chromium).
JupyterLab, its kernels and any TFF ``worker_binary`` they started are always stopped; survivors are
found through an environment marker, killed and reported.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from utils.runtime import RUN_TAG, tagged_processes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOK = REPO / "chapters" / "00_start_here.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MARKER = RUN_TAG  # env var inherited by the server, its kernels, their children

# Console "error" messages that are not failures. Each: (regex, why it is harmless).
IGNORED_CONSOLE = [
    # jupyterlab_widgets 3.0.17 was built against JupyterLab ^4.6.2; with 4.5.7 the module federation
    # loader complains about the shared-package version range. Widgets render and work (checked below).
    (re.compile(r"Unsatisfied version .* (of shared singleton module|from) .*@jupyterlab/", re.S),
     "jupyterlab_widgets built against a newer JupyterLab (shared-module version range); "
     "widgets still render, which this script checks"),
]
# Failed requests to the server that are not failures. Each: (regex on "METHOD URL failure", why).
# Only background polls that JupyterLab cancels when a newer one supersedes them; any other aborted
# request (a save, a kernel message, a POST) is a failure.
IGNORED_REQUESTS = [
    (re.compile(r"^GET /(lab/)?api/(kernels|sessions|kernelspecs|terminals|me|events/subscribe|contents/[^ ]*"
                r"checkpoints)[^ ]* net::ERR_ABORTED$"),
     "a background poll cancelled by JupyterLab when a newer one replaced it"),
]

CELLS_STATE_JS = """
() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext) return null;
  const sc = w.sessionContext;
  const kernel = sc.session && sc.session.kernel;
  const cells = [];
  w.content.widgets.forEach((cell, i) => {
    const m = cell.model;
    if (m.type !== 'code') return;
    const src = m.sharedModel.getSource();
    const prompt = cell.node.querySelector('.jp-InputArea-prompt');
    const outs = [];
    for (let j = 0; j < m.outputs.length; j++) {
      const o = m.outputs.get(j).toJSON();
      let text = '';
      if (o.output_type === 'error') text = o.ename + ': ' + o.evalue;
      else if (o.output_type === 'stream') text = Array.isArray(o.text) ? o.text.join('') : o.text;
      outs.push({type: o.output_type, name: o.name || '', text: (text || '').slice(0, 2000)});
    }
    cells.push({index: i, runnable: src.trim().length > 0, count: m.executionCount,
                prompt: prompt ? prompt.textContent : '', outputs: outs});
  });
  return {kernel: kernel ? kernel.status : 'none', cells: cells,
          dialog: (document.querySelector('.jp-Dialog') || {}).innerText || ''};
}
"""

RENDER_STATE_JS = """
() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook') || document;
  const plots = Array.from(nb.querySelectorAll('.js-plotly-plot')).filter(
      el => el.querySelector('svg.main-svg'));
  const drawn = plots.filter(el => el._fullData && el._fullData.length > 0);
  const widgets = Array.from(nb.querySelectorAll('.jp-OutputArea-output .jupyter-widgets'));
  const controls = widgets.filter(el => el.matches(
      '.widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-checkbox, .widget-button,' +
      '.widget-text, .widget-select, .widget-radio, .widget-play'));
  const errors = [];
  nb.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').forEach(el => {
    const t = el.innerText || '';
    if (/Traceback \\(most recent call last\\)|(^|\\n)\\s*\\w*(Error|Exception)\\b[^\\n]*:/.test(t))
      errors.push(t.slice(0, 1500));
  });
  const widgetFailures = [];
  nb.querySelectorAll('.jp-OutputArea-output').forEach(el => {
    const t = el.innerText || '';
    if (/Error displaying widget|Failed to load model class/.test(t)) widgetFailures.push(t.slice(0, 500));
  });
  const unrendered = Array.from(nb.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'))
      .filter(el => !el.querySelector('.jupyter-widgets')).length;
  return {plots: plots.length, drawn: drawn.length, widgets: widgets.length, controls: controls.length,
          errors: errors, widgetFailures: widgetFailures, unrenderedWidgetOutputs: unrendered,
          classes: controls.slice(0, 5).map(el => el.className)};
}
"""

# Pick the first slider or dropdown, remember the first drawn figure after it and its data.
PREPARE_INTERACTION_JS = """
() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const ctl = nb && nb.querySelector('.jp-OutputArea-output .widget-slider:not(.mod-disabled),' +
                                     '.jp-OutputArea-output .widget-dropdown');
  if (!ctl) return null;
  const after = el => !!(ctl.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  const figs = Array.from(nb.querySelectorAll('.js-plotly-plot')).filter(
      el => el.querySelector('svg.main-svg') && after(el));
  const sig = el => { try { return JSON.stringify(el.data); } catch (e) { return null; } };
  window.__bc = {ctl: ctl, fig: figs[0] || null, sig: figs[0] ? sig(figs[0]) : null, sigfn: sig, after: after};
  const kind = ctl.matches('.widget-slider') ? 'slider' : 'dropdown';
  const readout = ctl.querySelector('.widget-readout');
  const handle = ctl.querySelector('.noUi-handle');
  const select = ctl.querySelector('select');
  ctl.scrollIntoView({block: 'center'});
  return {kind: kind, label: (ctl.querySelector('.widget-label') || {}).innerText || '',
          readout: kind === 'slider' ? (readout ? readout.innerText : '') : (select ? select.value : ''),
          now: handle ? handle.getAttribute('aria-valuenow') : null,
          max: handle ? handle.getAttribute('aria-valuemax') : null,
          options: select ? Array.from(select.options).map(o => o.value) : [],
          hasFigure: !!figs[0]};
}
"""

INTERACTION_STATE_JS = """
() => {
  const s = window.__bc, ctl = s.ctl;
  const readout = ctl.querySelector('.widget-readout');
  const select = ctl.querySelector('select');
  const value = readout ? readout.innerText : (select ? select.value : '');
  let figChanged = null, unserialisable = false;
  if (s.fig) {
    const nb = ctl.closest('.jp-Notebook');
    const figs = Array.from(nb.querySelectorAll('.js-plotly-plot')).filter(
        el => el.querySelector('svg.main-svg') && s.after(el));
    const cur = figs[0];
    const now = cur ? s.sigfn(cur) : null;
    unserialisable = s.sig === null || (!!cur && now === null);
    figChanged = !!cur && !unserialisable && (cur !== s.fig || now !== s.sig)
                 && !!(cur._fullData && cur._fullData.length);
  }
  const err = Array.from(ctl.closest('.jp-Notebook').querySelectorAll(
      '[data-mime-type="application/vnd.jupyter.stderr"]')).some(
      el => s.after(el) && /Traceback \(most recent call last\)/.test(el.innerText || ''));
  return {value: value, figChanged: figChanged, unserialisable: unserialisable, err: err};
}
"""


class CheckFailed(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, method: str = "GET", timeout: float = 5):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body else None


def write_user_settings(settings_dir: Path) -> None:
    settings = {
        # Never write the notebook under test (running cells makes it dirty; autosave is every 120 s).
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        # Attach every cell so outputs below the fold render too (default: contentVisibility).
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "scrollPastEnd": False},
        # No news/update toast, no request to the internet.
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for key, value in settings.items():
        f = settings_dir / (key + ".jupyterlab-settings")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))


class Lab:
    """A throw-away JupyterLab server; stop() kills it, its kernels and their children."""

    def __init__(self, root_dir: Path, tmp: Path):
        self.root_dir = root_dir
        self.tmp = tmp
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.run_id = secrets.token_hex(8)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None
        self._logf = None

    def start(self, timeout: float = 60) -> None:
        d = {k: self.tmp / k for k in ("config", "data", "runtime", "workspaces", "settings")}
        for p in d.values():
            p.mkdir(parents=True, exist_ok=True)
        write_user_settings(d["settings"])
        env = dict(os.environ)
        # Fresh *user* folders. The venv's etc/jupyter and share/jupyter (kernel spec, lab extensions)
        # are on jupyter's config/data path independently of these variables.
        env.update({
            "JUPYTER_CONFIG_DIR": str(d["config"]),
            "JUPYTER_DATA_DIR": str(d["data"]),
            "JUPYTER_RUNTIME_DIR": str(d["runtime"]),
            "JUPYTERLAB_SETTINGS_DIR": str(d["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(d["workspaces"]),
            "TF_CPP_MIN_LOG_LEVEL": env.get("TF_CPP_MIN_LOG_LEVEL", "3"),
            "PYTHONUNBUFFERED": "1",
            MARKER: self.run_id,
        })
        env.pop("JUPYTER_PATH", None)
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.workspaces_dir={d['workspaces']}",
            f"--LabApp.user_settings_dir={d['settings']}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no PyPI queries
            "--expose-app-in-browser",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers / CI run as root
        self._logf = open(self.log_path, "wb")
        # New session: one signal reaches the server's whole group. (Kernels get their own session
        # from jupyter_client; stop() handles them.)
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise CheckFailed(f"JupyterLab exited with code {self.proc.returncode}\n{self.log_tail()}")
            try:
                http_json(f"{self.base}/api/status?token={self.token}", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                if time.monotonic() > deadline:
                    raise CheckFailed(f"JupyterLab did not answer within {timeout:.0f} s\n{self.log_tail()}")
                time.sleep(0.2)
        specs = http_json(f"{self.base}/api/kernelspecs?token={self.token}")
        if "python3" not in specs.get("kernelspecs", {}):
            raise CheckFailed(f"kernel spec python3 not found by the server: {list(specs['kernelspecs'])}")

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "--- JupyterLab log (last lines) ---\n" + "\n".join(lines[-n:])

    def shutdown_sessions(self) -> None:
        """Shut kernels down through the REST API (graceful: they take their worker_binary along)."""
        try:
            for s in http_json(f"{self.base}/api/sessions?token={self.token}") or []:
                http_json(f"{self.base}/api/sessions/{s['id']}?token={self.token}", method="DELETE",
                          timeout=30)
        except Exception as e:  # noqa: BLE001 - best effort; stop() kills what is left
            log(f"  (session shutdown via REST failed: {e!r})")

    def _ours(self) -> list[psutil.Process]:
        """Processes started by this server: descendants, plus anything carrying our env marker
        (a worker_binary reparented to init after its kernel died)."""
        found: dict[int, psutil.Process] = {}
        if self.proc is not None:
            try:
                for p in psutil.Process(self.proc.pid).children(recursive=True):
                    found[p.pid] = p
            except psutil.NoSuchProcess:
                pass
        for p in tagged_processes(self.run_id):
            found.setdefault(p.pid, p)
        return list(found.values())

    def stop(self) -> list[str]:
        """Stop everything; returns descriptions of processes that had to be force-killed or survived."""
        problems: list[str] = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.shutdown_sessions()
        before = self._ours()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Whatever is left (kernels live in their own session; worker_binary in the kernel's group).
        leftovers = [p for p in before if p.is_running()] + self._ours()
        own_pgid = os.getpgid(0)
        for p in {p.pid: p for p in leftovers}.values():
            try:
                if not p.is_running() or p.status() == psutil.STATUS_ZOMBIE:
                    continue
                desc = f"pid {p.pid} {' '.join(p.cmdline())[:120]}"
                problems.append(desc)
                pgid = os.getpgid(p.pid)
                if pgid not in (own_pgid, 0, 1):
                    os.killpg(pgid, signal.SIGKILL)
                else:
                    p.kill()
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass
        psutil.wait_procs(leftovers, timeout=5)
        survivors = [p for p in self._ours() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if survivors:
            raise CheckFailed("processes survived the shutdown: "
                              + "; ".join(f"{p.pid} {p.name()}" for p in survivors))
        # Global check the brief asks for: no worker_binary descending from this run.
        if self._logf:
            self._logf.close()
        return problems


class Collector:
    """Console errors, page errors and failed requests of one page."""

    def __init__(self, base: str):
        self.base = base
        self.active = True
        self.console_errors: list[str] = []
        self.console_warnings: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.external: list[str] = []

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._pageerror)
        page.on("requestfailed", self._requestfailed)
        page.on("response", self._response)

    def _console(self, msg) -> None:
        if not self.active:
            return
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} [{loc.get('url', '')}:{loc.get('lineNumber', '')}]")
        elif msg.type == "warning":
            self.console_warnings.append(msg.text)

    def _pageerror(self, err) -> None:
        if self.active:
            self.page_errors.append(f"{err}")

    def _requestfailed(self, req) -> None:
        if not self.active:
            return
        if req.url.startswith(self.base):
            self.failed_requests.append(f"{req.method} {self._clean(req.url)} {req.failure}")

    def _response(self, resp) -> None:
        if not self.active:
            return
        if resp.url.startswith(self.base) and resp.status >= 400:
            self.failed_requests.append(f"{resp.request.method} {self._clean(resp.url)} HTTP {resp.status}")

    def _clean(self, url: str) -> str:
        return re.sub(r"token=[0-9a-f]+", "token=…", url)


def split_ignored(items, rules):
    kept, ignored = [], []
    for it in items:
        why = next((why for rx, why in rules if rx.search(it)), None)
        (ignored if why else kept).append((it, why))
    return [k for k, _ in kept], ignored


def wait_until(page, js: str, arg=None, timeout: float = 30, what: str = "condition", check=None):
    """Poll a JS function (returning a JSON value) until check(value) is true; return the value."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        value = page.evaluate(js, arg) if arg is not None else page.evaluate(js)
        if (check(value) if check else value):
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}; last state: "
                              f"{json.dumps(value)[:800]}")
        page.wait_for_timeout(200)


def run_notebook(context, lab: Lab, nb: Path, args) -> dict:
    rel = nb.relative_to(lab.root_dir).as_posix()
    t0 = time.monotonic()
    res = {"notebook": rel, "figures": 0, "widgets": 0, "errors": [], "interaction": "skipped"}
    col = Collector(lab.base)
    page = context.new_page()
    col.attach(page)
    try:
        url = f"{lab.base}/lab/tree/{urllib.parse.quote(rel)}?reset&token={lab.token}"
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)

        # 1. Kernel ready: session ready, kernel attached and idle, notebook cells present.
        kernel_js = """(path) => {
            const app = window.jupyterapp; if (!app || !app.shell) return {state: 'no app'};
            const d = document.querySelector('.jp-Dialog');
            if (d) return {state: 'dialog', text: d.innerText.slice(0, 300)};
            const w = app.shell.currentWidget;
            if (!w || !w.sessionContext || !w.context || w.context.path !== path) return {state: 'no notebook'};
            const sc = w.sessionContext, k = sc.session && sc.session.kernel;
            if (!sc.isReady || !k) return {state: 'no kernel'};
            return {state: k.status === 'idle' && k.connectionStatus === 'connected'
                           && w.content.widgets.length > 0 ? 'ready' : 'kernel ' + k.status};
        }"""
        st = wait_until(page, kernel_js, rel, timeout=90, what="the notebook's kernel",
                        check=lambda v: v and v["state"] in ("ready", "dialog"))
        if st["state"] == "dialog":
            raise CheckFailed(f"a dialog blocks the notebook: {st['text']!r}")
        t_kernel = time.monotonic() - t0

        # 2. Clear saved outputs (so execution counts prove this run), run all without awaiting.
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
        t_run = time.monotonic()

        # 3. Wait: every runnable code cell has a count, no [*], kernel idle (stable for 1 s);
        #    or execution stopped early (an error, the rest aborted).
        stable_since = None
        deadline = t_run + args.timeout
        while True:
            s = page.evaluate(CELLS_STATE_JS)
            if s is None:
                raise CheckFailed("the notebook panel disappeared")
            if s["dialog"]:
                raise CheckFailed(f"a dialog appeared while running: {s['dialog'][:300]!r}")
            running = [c["index"] for c in s["cells"] if "*" in c["prompt"]]
            missing = [c["index"] for c in s["cells"] if c["runnable"] and c["count"] is None]
            quiet = not running and s["kernel"] == "idle"
            if quiet:
                stable_since = stable_since or time.monotonic()
            else:
                stable_since = None
            if quiet and time.monotonic() - stable_since >= (0.5 if not missing else 3.0):
                break
            if s["kernel"] in ("dead", "unknown", "none") and time.monotonic() - t_run > 5:
                raise CheckFailed(f"kernel is {s['kernel']} (crashed or restarted?)")
            if time.monotonic() > deadline:
                raise CheckFailed(f"cells still running after {args.timeout:.0f} s: running {running}, "
                                  f"not run {missing}")
            page.wait_for_timeout(250)
        t_exec = time.monotonic() - t_run
        n_code = sum(1 for c in s["cells"] if c["runnable"])

        errors = []
        for c in s["cells"]:
            for o in c["outputs"]:
                if o["type"] == "error":
                    errors.append(f"cell {c['index']}: {o['text']}")
                elif o["type"] == "stream" and o["name"] == "stderr":
                    if "Traceback (most recent call last)" in o["text"]:
                        errors.append(f"cell {c['index']} stderr traceback: {o['text'][-400:]}")
                    else:
                        first = o["text"].strip().splitlines()[:2]
                        log(f"  note: cell {c['index']} wrote to stderr: {' | '.join(first)[:200]}")
        if missing and not errors:
            errors.append(f"code cells not executed: {missing}")

        # 4. Rendering: wait (bounded) for a drawn figure and a widget; then read the final state.
        try:
            r = wait_until(page, RENDER_STATE_JS, timeout=20, what="a drawn plotly figure and a widget",
                           check=lambda v: v["drawn"] >= 1 and v["widgets"] >= 1
                           and v["unrenderedWidgetOutputs"] == 0)
        except CheckFailed:
            r = page.evaluate(RENDER_STATE_JS)
        res["figures"], res["widgets"] = r["drawn"], r["widgets"]
        add_dom_errors(errors, r["errors"])
        errors += [f"widget failed to render: {w}" for w in r["widgetFailures"]]
        if r["drawn"] < 1:
            errors.append(f"no drawn plotly figure (plotly divs: {r['plots']})")
        # A chapter that shows a widget must render it; one that shows none (06, 09) has none to check.
        if r["widgets"] < 1 and "ipywidgets" in nb.read_text():
            errors.append("no rendered ipywidget")
        if r["unrenderedWidgetOutputs"]:
            errors.append(f"{r['unrenderedWidgetOutputs']} widget output(s) never rendered")

        # 5. Interaction.
        if args.interact != "never":
            prep = page.evaluate(PREPARE_INTERACTION_JS)
            if prep is None:
                if args.interact == "always":
                    errors.append("--interact: no slider or dropdown found")
                else:
                    res["interaction"] = "skipped (no slider/dropdown)"
            else:
                res["interaction"] = interact(page, prep, errors)
                # An exception in a widget callback shows up as an error output in an Output widget.
                add_dom_errors(errors, page.evaluate(RENDER_STATE_JS)["errors"], "after the interaction")

        # Let late console errors arrive, then stop collecting before teardown.
        page.wait_for_timeout(300)

        # 6. Screenshots: the first widget's cell output (what the interaction changed), then the
        #    whole notebook, growing the viewport to its scroll height (capped for very long ones).
        shot = REPO / "build" / "browser" / f"{nb.stem}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        widget_output = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell:has(.widget-slider, "
                                     ".widget-dropdown) .jp-OutputArea").first
        if widget_output.count():
            widget_output.scroll_into_view_if_needed()
            widget_output.screenshot(path=str(shot.with_name(f"{nb.stem}-widget.png")))
        height = page.evaluate("""() => {
            const app = window.jupyterapp, w = app.shell.currentWidget;
            app.shell.collapseLeft();
            const sc = w.content.node.querySelector('.jp-WindowedPanel-outer') || w.content.node;
            sc.scrollTo(0, 0);
            return sc.scrollHeight - sc.clientHeight + window.innerHeight; }""")
        vp = page.viewport_size
        page.set_viewport_size({"width": vp["width"], "height": int(min(max(height, vp["height"]), 15000))})
        page.wait_for_timeout(500)  # plotly relayouts on resize
        page.screenshot(path=str(shot), full_page=True)
        page.set_viewport_size(vp)
        res["screenshot"] = str(shot.relative_to(REPO)) if shot.is_relative_to(REPO) else str(shot)
        col.active = False

        # 7. Console / page errors / requests.
        console, ignored_console = split_ignored(dedupe(col.console_errors), IGNORED_CONSOLE)
        reqs, ignored_reqs = split_ignored(dedupe(col.failed_requests), IGNORED_REQUESTS)
        errors += [f"console error: {m[:500]}" for m in console]
        errors += [f"page error: {m[:500]}" for m in dedupe(col.page_errors)]
        errors += [f"failed request: {m}" for m in reqs]
        for m, why in ignored_console:
            log(f"  ignored console error: {m[:300]}\n      because: {why}")
        for m, why in ignored_reqs:
            log(f"  ignored failed request: {m}\n      because: {why}")
        res.update(errors=errors, code_cells=n_code, kernel_s=t_kernel, exec_s=t_exec,
                   console_warnings=col.console_warnings, time_s=time.monotonic() - t0)
        return res
    finally:
        col.active = False
        page.close()


def add_dom_errors(errors: list, dom_errors: list, when: str = "") -> None:
    """Add tracebacks found in the page, unless already reported (same last line)."""
    for e in dom_errors:
        lines = [ln for ln in e.strip().splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else e.strip()
        if any(last in x for x in errors):
            continue
        errors.append(f"error output{' ' + when if when else ''}: {e.strip()[-600:]}")


def dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


def interact(page, prep: dict, errors: list) -> str:
    before = prep["readout"]
    if prep["kind"] == "slider":
        handle = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output "
                              ".widget-slider:not(.mod-disabled) .noUi-handle").first
        handle.focus()
        at_max = prep["now"] is not None and prep["max"] is not None and float(prep["now"]) >= float(prep["max"])
        key = "ArrowLeft" if at_max else "ArrowRight"
        page.keyboard.press(key)
        how = f"slider {prep['label']!r} {key}"
    else:
        others = [o for o in prep["options"] if o != before]
        if not others:
            errors.append(f"dropdown {prep['label']!r} has no other option to choose")
            return "failed"
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output "
                     ".widget-dropdown select").first.select_option(others[0])
        how = f"dropdown {prep['label']!r} -> {others[0]!r}"
    try:
        st = wait_until(page, INTERACTION_STATE_JS, timeout=10, what=f"the readout to change ({how})",
                        check=lambda v: v["value"] != before)
    except CheckFailed as e:
        errors.append(str(e))
        return f"{how}: readout did not change"
    desc = f"{how}: {before!r} -> {st['value']!r}"
    if not prep["hasFigure"]:
        errors.append(f"{desc}, but no plotly figure after the widget to re-render")
        return desc + ", no figure after it"
    try:
        st = wait_until(page, INTERACTION_STATE_JS, timeout=30, what=f"the figure to re-render ({how})",
                   check=lambda v: v["figChanged"] or v["err"] or v["unserialisable"])
        if st["unserialisable"]:
            errors.append(f"{desc}: the figure's data cannot be serialised, so a re-render cannot be told apart")
            return desc + ", figure not comparable"
    except CheckFailed as e:
        errors.append(str(e))
        return desc + ", figure NOT re-rendered"
    if not st["figChanged"]:
        errors.append(f"{desc}: the widget callback raised (traceback below the widget), "
                      "figure not re-rendered")
        return desc + ", callback raised"
    return desc + ", figure re-rendered"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help=f"default: {DEFAULT_NOTEBOOK.relative_to(REPO)}")
    ap.add_argument("--timeout", type=float, default=300, help="seconds for run-all (default 300)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--interact", dest="interact", action="store_const", const="always",
                   help="require a slider/dropdown and check the interaction (default: only if present)")
    g.add_argument("--no-interact", dest="interact", action="store_const", const="never")
    ap.set_defaults(interact="auto")
    args = ap.parse_args(argv)

    t_start = time.monotonic()
    nbs = [(p if p.is_absolute() else Path.cwd() / p).resolve() for p in (args.notebooks or [DEFAULT_NOTEBOOK])]
    for p in nbs:
        if not p.is_file():
            print(f"browser_check: notebook not found: {p}", file=sys.stderr)
            return 2
    if not Path(CHROMIUM).exists():
        print(f"browser_check: {CHROMIUM} is missing. Install Debian's Chromium: "
              "apt-get install -y chromium  (Playwright's own browser download is not used)", file=sys.stderr)
        return 2
    cjk = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
    if cjk.returncode != 0 or not cjk.stdout.strip():
        print("browser_check: no Chinese font is installed, so the course map's Chinese would render as empty "
              "boxes in the screenshots. Install one: apt-get install -y fonts-noto-cjk", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser_check: the playwright Python package is missing (it is in requirements.lock)",
              file=sys.stderr)
        return 2

    if all(p.is_relative_to(REPO) for p in nbs):
        root = REPO
    else:
        root = Path(os.path.commonpath([str(p.parent) for p in nbs]))
    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in nbs}

    # SIGTERM (e.g. make killed) -> SystemExit so the finally blocks stop JupyterLab.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tmp = Path(tempfile.mkdtemp(prefix="browser_check_"))
    lab = Lab(root, tmp)
    results: list[dict] = []
    setup_error = None
    killed: list[str] = []
    ok = False
    try:
        lab.start()
        log(f"JupyterLab {lab.base} ready in {time.monotonic() - t_start:.1f} s (root {root})")
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp / "chromium-profile"), executable_path=CHROMIUM, headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
            # Anything not served by our JupyterLab is blocked: the check must pass offline.
            external: list[str] = []

            def block(route):
                external.append(route.request.url[:150])
                route.abort()
            context.route(lambda url: not url.startswith(lab.base), block)
            try:
                for nb in nbs:
                    log(f"--- {nb.relative_to(root)}")
                    try:
                        res = run_notebook(context, lab, nb, args)
                    except CheckFailed as e:
                        res = {"notebook": str(nb.relative_to(root)), "errors": [str(e)],
                               "figures": 0, "widgets": 0, "interaction": "-"}
                    results.append(res)
                    lab.shutdown_sessions()
                    summarize(res)
            finally:
                context.close()
            if external:
                log(f"blocked {len(external)} request(s) to other hosts (not failures): {external[:5]}")
    except CheckFailed as e:
        setup_error = str(e)
    finally:
        try:
            killed = lab.stop()
        except CheckFailed as e:
            setup_error = (setup_error + "\n" if setup_error else "") + str(e)
        shutil.rmtree(tmp, ignore_errors=True)

    # The run must leave the notebooks as they were (autosave is off) and every process it started gone.
    changed = [str(p) for p, h in hashes.items() if hashlib.sha256(p.read_bytes()).hexdigest() != h]
    if changed:
        setup_error = (setup_error + "\n" if setup_error else "") + f"notebook(s) modified during the run: {changed}"
    if killed:
        setup_error = ((setup_error + "\n" if setup_error else "")
                       + "process(es) survived the server's shutdown and had to be killed: " + "; ".join(killed))
    left = [p for p in psutil.process_iter(["cmdline"])
            if any("worker_binary" in a for a in (p.info["cmdline"] or []))]
    log(f"worker_binary processes left on the machine: {len(left)}"
        + (f" (pids {', '.join(str(p.pid) for p in left)}: not started by this run, they lack its marker)" if left else ""))

    total = time.monotonic() - t_start
    failed = [r for r in results if r["errors"]]
    if setup_error:
        log(f"FAILED: {setup_error}")
    ok = not setup_error and not failed and len(results) == len(nbs)
    log(f"{'OK' if ok else 'FAILED'}: {len(results) - len(failed)}/{len(nbs)} notebook(s) passed "
        f"in {total:.1f} s")
    return 0 if ok else 1


def summarize(r: dict) -> None:
    extra = ""
    if "exec_s" in r:
        extra = (f"  kernel ready {r['kernel_s']:.1f} s, run-all {r['exec_s']:.1f} s "
                 f"({r['code_cells']} code cells), total {r['time_s']:.1f} s\n"
                 f"  console warnings (not errors): {len(r['console_warnings'])}\n")
        for w in sorted(set(r["console_warnings"]))[:6]:
            extra += f"    warning: {w.splitlines()[0][:160]}\n"
    log(f"  figures drawn: {r['figures']}   widgets rendered: {r['widgets']}\n"
        f"  interaction: {r['interaction']}\n{extra}"
        f"  screenshot: {r.get('screenshot', '-')}\n"
        f"  errors: {len(r['errors'])}")
    for e in r["errors"]:
        log("    - " + e.replace("\n", "\n      "))
    log(f"  => {'FAILED' if r['errors'] else 'ok'}")


if __name__ == "__main__":
    sys.exit(main())
