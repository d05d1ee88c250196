"""Benchmark the course notebooks: wall time and peak memory of each, against the course targets.

Run by ``make bench`` as::

    .venv/bin/python -m tools.bench [NOTEBOOK ...] [--json PATH]

(default: every ``chapters/NN_*.ipynb`` in order). Each notebook is executed with nbclient (kernel
``python3``, working directory = the notebook's folder, i.e. ``chapters/``, 900 s per cell) on an
in-memory copy: outputs are discarded and the file is never written. Every 0.1 s the resident memory
(RSS) of the kernel process and all its descendants (TFF's C++ ``worker_binary`` is a child of the
kernel) is summed; the peak of that sum is reported.

Exit status: 1 if a notebook failed to execute, 2 if there was nothing to run. Exceeding a target is
reported (``OVER``) but is not a failure: benchmarks print, they do not fail.
After each notebook the kernel and every process it started are verified gone (killed if needed).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from utils.runtime import RUN_TAG, tagged_processes

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = REPO / "chapters"
TARGET_TOTAL_S = 600.0  # whole course, on 2 cores
TARGET_PEAK_MB = 1500.0  # each notebook
# Each chapter's share of the whole course's 600 s, by its NN_ prefix (a chapter over its line takes
# time from no other: make it faster).
BUDGET_S = {0: 20, 1: 45, 2: 30, 3: 30, 4: 45, 5: 120, 6: 90, 7: 60, 8: 60, 9: 60, 10: 20}
CELL_TIMEOUT_S = 900
SAMPLE_EVERY_S = 0.1
MARKER = RUN_TAG  # env var inherited by the kernel and everything it starts

__all__ = ["TreeSampler", "Result", "bench_notebook", "main", "tree_rss"]


def tree_rss(root: psutil.Process, seen: set[int] | None = None) -> int:
    """RSS in bytes of ``root`` plus all its descendants (processes vanishing meanwhile are skipped)."""
    total = 0
    try:
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
            if seen is not None:
                seen.add(p.pid)
        except psutil.Error:
            pass
    return total


class TreeSampler:
    """Background thread: every ``interval`` s, sum the RSS of a process tree; keep the peak.

    ``get_root`` returns the root pid or None while it is not known yet (the kernel starting).
    ``pids`` collects every pid seen in the tree, so leftovers can be checked afterwards.
    """

    def __init__(self, get_root, interval: float = SAMPLE_EVERY_S):
        self.get_root = get_root
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-rss-sampler", daemon=True)
        self._root: psutil.Process | None = None

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        if self._root is None:
            pid = self.get_root()
            if pid is None:
                return
            try:
                self._root = psutil.Process(pid)
            except psutil.Error:
                return
        rss = tree_rss(self._root, self.pids)
        self.samples += 1
        self.peak = max(self.peak, rss)


@dataclass
class Result:
    notebook: str
    wall_s: float = 0.0
    peak_mb: float = 0.0
    status: str = "ok"
    samples: int = 0
    killed: list[str] = field(default_factory=list)
    run_tag: str = ""  # FLCOURSE_RUN_TAG given to the kernel: finds anything it left behind

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _short_reason(exc: BaseException) -> str:
    """One line: 'cell 7: ValueError: ...' for a cell error, the exception otherwise."""
    name = type(exc).__name__
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        msg = f"{ename}: {evalue}"
    else:
        text = str(exc).strip().splitlines()
        msg = f"{name}: {text[-1] if text else ''}"
    cell = getattr(exc, "_bench_cell", None)
    if cell is not None:
        msg = f"cell {cell}: {msg}"
    msg = re.sub(r"\x1b\[[0-9;]*m", "", msg)
    return msg if len(msg) <= 120 else msg[:117] + "..."


def _cleanup(pids: set[int], run_id: str) -> list[str]:
    """Kill whatever the kernel left behind: pids seen in its tree, and anything with our marker."""
    me = os.getpid()
    suspects: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            suspects[pid] = psutil.Process(pid)
        except psutil.Error:
            pass
    for p in tagged_processes(run_id):
        suspects.setdefault(p.pid, p)
    killed = []
    own_pgid = os.getpgid(0)
    for p in suspects.values():
        try:
            if p.pid == me or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if p.environ().get(MARKER) != run_id:  # pid reused by an unrelated process
                continue
            killed.append(f"{p.pid} {p.name()}")
            pgid = os.getpgid(p.pid)
            if pgid not in (own_pgid, 0, 1):
                os.killpg(pgid, signal.SIGKILL)
            else:
                p.kill()
        except (psutil.Error, ProcessLookupError, OSError):
            pass
    psutil.wait_procs(list(suspects.values()), timeout=5)
    return killed


def bench_notebook(path: Path, cell_timeout: int = CELL_TIMEOUT_S, interval: float = SAMPLE_EVERY_S,
                   kernel_name: str = "python3", store: Path | None = None) -> Result:
    """Execute one notebook while sampling its kernel tree's memory; with ``store``, the executed
    notebook (outputs included, failed or not) is written there under the same file name."""
    import nbformat
    from nbclient import NotebookClient

    from utils.kernel_client import SafeAsyncKernelManager

    path = Path(path).resolve()
    name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
    res = Result(notebook=name)
    run_id = secrets.token_hex(8)
    res.run_tag = run_id
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env[MARKER] = run_id
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001
        res.status = f"FAILED: cannot read: {_short_reason(e)}"
        return res

    # SafeAsyncKernelManager: nbclient's stock client can miss the reply to a cell that fills an
    # Output widget, and then waits out cell_timeout (see utils/kernel_client.py).
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name=kernel_name,
                            kernel_manager_class=SafeAsyncKernelManager,
                            resources={"metadata": {"path": str(path.parent)}})

    def kernel_pid():
        km = getattr(client, "km", None)
        prov = getattr(km, "provisioner", None) if km is not None else None
        proc = getattr(prov, "process", None) if prov is not None else None
        return getattr(proc, "pid", None)

    # The kernel's stdout/stderr (TensorFlow's C++ logs, worker_binary output) go to a file, shown
    # on failure; they would otherwise interleave with the table.
    with tempfile.TemporaryFile(mode="w+b") as klog:
        t0 = time.monotonic()
        sampler = TreeSampler(kernel_pid, interval)
        try:
            with sampler:
                try:
                    client.execute(env=env, stdout=klog, stderr=klog)
                except Exception as e:  # noqa: BLE001 - any failure is reported per notebook
                    cell = _failed_cell(nb)
                    if cell is not None:
                        e._bench_cell = cell  # type: ignore[attr-defined]
                    res.status = f"FAILED: {_short_reason(e)}"
        except KeyboardInterrupt:
            res.status = "FAILED: interrupted"
            raise
        finally:
            res.wall_s = time.monotonic() - t0
            res.peak_mb = sampler.peak / 2**20
            res.samples = sampler.samples
            pid = kernel_pid()
            if pid:
                sampler.pids.add(pid)
            res.killed = _cleanup(sampler.pids, run_id)
            if store is not None:
                Path(store).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, Path(store) / path.name)
        if not res.ok:
            klog.seek(0)
            tail = klog.read().decode(errors="replace").strip().splitlines()[-8:]
            if tail:
                print(f"[{name}] kernel log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
    return res


def _failed_cell(nb) -> int | None:
    """Index of the first code cell with an error output (nbclient stops there)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return None


def budget_of(notebook: str) -> float | None:
    """The time budget of a chapter notebook (by its NN_ prefix), None for anything else."""
    match = re.match(r"(\d\d)_", Path(notebook).name)
    return BUDGET_S.get(int(match.group(1))) if match else None


def default_notebooks() -> list[Path]:
    return sorted(p for p in CHAPTERS.glob("*.ipynb") if re.match(r"\d\d_", p.name))


def print_table(results: list[Result], out=None) -> None:
    out = out or sys.stdout
    w = max([len("notebook")] + [len(r.notebook) for r in results])
    print(f"{'notebook':<{w}}  {'wall (s)':>9}  {'budget':>6}  {'peak (MB)':>9}  status", file=out)
    print("-" * (w + 40), file=out)
    for r in results:
        budget = budget_of(r.notebook)
        over = ("  OVER memory" if r.peak_mb > TARGET_PEAK_MB else "") + (
            "  OVER time" if budget is not None and r.wall_s > budget else "")
        shown = f"{budget:6.0f}" if budget is not None else f"{'-':>6}"
        print(f"{r.notebook:<{w}}  {r.wall_s:9.1f}  {shown}  {r.peak_mb:9.0f}  {r.status}{over}", file=out)
        if r.killed:
            print(f"{'':<{w}}  (left behind after shutdown, killed: {', '.join(r.killed)})", file=out)
    total = sum(r.wall_s for r in results)
    peak = max((r.peak_mb for r in results), default=0.0)
    print("-" * (w + 40), file=out)
    print(f"{'total':<{w}}  {total:9.1f}  {TARGET_TOTAL_S:6.0f}  {peak:9.0f}  "
          f"{sum(r.ok for r in results)}/{len(results)} ok", file=out)
    cores = psutil.cpu_count(logical=True)
    print(f"\ntargets (course target machine: 2 cores; this one: {cores}):", file=out)
    print(f"  whole course  <= {TARGET_TOTAL_S:.0f} s   : {total:.1f} s"
          f"{'  OVER' if total > TARGET_TOTAL_S else '  ok'}", file=out)
    over = [r.notebook for r in results if r.peak_mb > TARGET_PEAK_MB]
    print(f"  each notebook <= {TARGET_PEAK_MB:.0f} MB : max {peak:.0f} MB"
          + (f"  OVER ({', '.join(over)})" if over else "  ok"), file=out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: chapters/NN_*.ipynb in order")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT_S, help="seconds per cell (900)")
    ap.add_argument("--store", type=Path, metavar="DIR", help="also write each executed notebook into DIR")
    args = ap.parse_args(argv)

    nbs = [p.resolve() for p in args.notebooks] or default_notebooks()
    if not nbs:
        print(f"no notebooks to run (looked for {CHAPTERS}/NN_*.ipynb)", file=sys.stderr)
        return 2
    missing = [p for p in nbs if not p.is_file()]
    if missing:
        print("notebook(s) not found: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 2

    # SIGTERM -> SystemExit, so nbclient's and our cleanup (kernel, worker_binary) run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for p in nbs:
        print(f"running {p.name} ...", flush=True)
        results.append(bench_notebook(p, cell_timeout=args.cell_timeout, store=args.store))
    print()
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {"targets": {"total_s": TARGET_TOTAL_S, "peak_mb": TARGET_PEAK_MB, "budget_s": BUDGET_S},
                "measured": time.strftime("%Y-%m-%d"), "cpu_count": psutil.cpu_count(logical=True),
                "load_average_1min_after": round(os.getloadavg()[0], 2),
                "total_s": sum(r.wall_s for r in results),
                "max_peak_mb": max(r.peak_mb for r in results),
                "notebooks": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
