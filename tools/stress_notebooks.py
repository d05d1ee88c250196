#!/usr/bin/env python
"""Execute notebooks headless many times, K at a time, with nbclient, and catch kernel stalls.

A stall is a cell running longer than --stall-seconds while the kernel's process tree used at most
--idle-cpu CPU seconds in that window. On a stall this writes to <report>/<run>/, in this order:
  1 passive state: /proc/<pid>/task/*/{wchan,syscall,stack} of the kernel tree, `ss -tnpi`, every
    thread of this driver (faulthandler), the last messages this client sent and received;
  2 the kernel's Python stacks (SIGUSR2 -> faulthandler, registered at kernel start-up);
  3 `py-spy dump --pid` (ptrace interrupts the kernel's epoll_wait: it could wake a sleeping loop);
  4 the client's shell socket: an unread message? (ZMQ_EVENTS through a plain shadow socket, which
    wakes nothing), then the same read through the zmq.asyncio socket (which schedules waiters);
noting after 2, 3 and 4 whether the stalled cell completed, then kills the kernel's process group
and tree (TFF's worker_binary too). Exit status 1 if any run stalled or failed.
--client stock is what a bare `jupyter nbconvert --execute` uses; --client safe is utils.kernel_client's,
which the course's tools and the venv's nbconvert configuration use (`make stress-notebooks`, run by CI).

  .venv/bin/python -m tools.stress_notebooks chapters/02_core_algorithms.ipynb \\
      chapters/03_federated_math.ipynb --runs 3 --parallel 2 --stall-seconds 60 --report build/stress
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import faulthandler
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import zmq
from nbclient import NotebookClient

from utils.kernel_client import SafeAsyncKernelManager

TAG = f"stress-{os.getpid()}-{int(time.time())}"
PROBE = ("import faulthandler as _f, signal as _s, os as _o; _f.register(_s.SIGUSR2, all_threads=True, "
         "file=open(_o.path.join(_o.environ['STRESS_REPORT'], f'kernel-{_o.getpid()}.stacks'), 'a'))")
_runs: list[Run] = []  # every run started, for the watchdog and the final clean-up


class Run:
    def __init__(self, nb: Path, index: int, args):
        self.nb, self.args, self.name = nb, args, f"{nb.stem}-{index:03d}"
        self.kernel_pid = self.loop = self.kc = self.cell = None  # cell: index of the cell running now
        self.cell_start, self.completed_cells, self.slowest = 0.0, 0, (0.0, None)
        self.cpu = collections.deque()  # (time, kernel-tree CPU seconds) during the current cell
        self.log = collections.deque(maxlen=60)  # recent messages, both directions
        self.stalled, self.status, self.wall, self.detail = False, "running", 0.0, ""

    def note(self, direction: str, msg: dict) -> None:
        parent, head = msg.get("parent_header") or {}, msg["header"]
        self.log.append(f"{time.time():.3f} {direction} {head['msg_type']:<16} id=..{head['msg_id'][-8:]} "
                        f"parent={parent.get('msg_type', '-')}:..{parent.get('msg_id', '-')[-8:]} "
                        f"{(msg.get('content') or {}).get('execution_state', '')}")


def tree(pid: int) -> list[psutil.Process]:
    try:
        return [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += sum(p.cpu_times()[:2])
    return total


def kill_tree(pid: int | None) -> None:
    procs = tree(pid) if pid else []
    with contextlib.suppress(OSError, TypeError):
        os.killpg(pid, signal.SIGKILL)  # jupyter_client starts the kernel in a new session/group
    for p in procs:  # and anything that left the group
        with contextlib.suppress(psutil.Error):
            p.kill()
    with contextlib.suppress(psutil.Error, OSError):  # a process may vanish under psutil's feet
        psutil.wait_procs(procs, timeout=5)


class StressClient(NotebookClient):
    """nbclient, logging what it sends on shell and receives on shell and iopub."""

    def __init__(self, nb, run: Run, **kw):
        super().__init__(nb, **kw)
        self.run = run

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self.run.kernel_pid, self.run.kc = self.km.provisioner.pid, kc
        send, get_msg = kc.shell_channel.send, kc.shell_channel.get_msg

        def logged_send(msg):
            self.run.note("-> shell", msg)
            return send(msg)

        async def logged_get_msg(*a, **k):
            msg = await get_msg(*a, **k)
            self.run.note("<- shell", msg)
            return msg
        kc.shell_channel.send, kc.shell_channel.get_msg = logged_send, logged_get_msg
        return kc

    def process_message(self, msg, cell, cell_index):
        self.run.note("<- iopub", msg)
        return super().process_message(msg, cell, cell_index)


def execute(run: Run) -> None:
    def cell_start(cell, cell_index):
        run.cpu.clear()
        run.cell, run.cell_start = cell_index, time.monotonic()

    def cell_done(cell, cell_index, **_):
        run.slowest = max(run.slowest, (time.monotonic() - run.cell_start, cell_index))
        run.cell, run.completed_cells = None, run.completed_cells + 1

    async def main(client):
        run.loop = asyncio.get_running_loop()
        await client.async_execute()
    extra = {"kernel_manager_class": SafeAsyncKernelManager} if run.args.client == "safe" else {}
    client = StressClient(nbformat.read(run.nb, as_version=4), run, kernel_name=run.args.kernel,
                          timeout=run.args.timeout, resources={"metadata": {"path": str(run.nb.parent)}},
                          extra_arguments=[f"--IPKernelApp.exec_lines={PROBE}"],
                          on_cell_execute=cell_start, on_cell_executed=cell_done, **extra)
    start = time.monotonic()
    try:
        asyncio.run(main(client))
        run.status = "stall" if run.stalled else "ok"  # a stall woken by a probe still counts
        if run.status == "ok" and run.args.store_executed:  # the book reuses a clean run (tools/book.py)
            from tools.book import executed_path, store_executed

            if not executed_path(run.nb).exists():
                store_executed(run.nb, client.nb)
    except Exception as error:  # noqa: BLE001 (a stalled run's kernel is killed: DeadKernelError)
        run.status = "stall" if run.stalled else "error"
        run.detail = run.detail or f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:200]}"
    finally:
        run.wall = time.monotonic() - start
        kill_tree(run.kernel_pid)


def on_loop(run: Run, fn):
    """fn() on the run's event-loop thread (the loop is woken by its self-pipe, not by zmq)."""
    async def call():
        return fn()
    try:
        return asyncio.run_coroutine_threadsafe(call(), run.loop).result(5)
    except Exception as error:  # noqa: BLE001
        return repr(error)


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{cmd}: {error}\n"


def proc_state(pid: int) -> str:
    out = []
    for p in tree(pid):
        out.append(f"=== pid {p.pid} {' '.join(p.cmdline())[:120]}")
        for task in sorted(Path(f"/proc/{p.pid}/task").glob("*")):
            try:
                r = {f: (task / f).read_text(errors="replace").strip() for f in ("comm", "wchan", "syscall", "stack")}
                out.append(f"-- tid {task.name} {r['comm']} wchan={r['wchan']} syscall={r['syscall']}\n{r['stack']}")
            except OSError as error:
                out.append(f"-- tid {task.name}: {error}")
    return "\n".join(out)


def completes(run: Run, before: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and run.completed_cells == before and run.status == "running":
        time.sleep(0.2)
    return run.completed_cells > before or run.status != "running"


def capture(run: Run, report: Path) -> None:
    out, pid, before = report / run.name, run.kernel_pid, run.completed_cells
    socket = run.kc.shell_channel.socket
    out.mkdir(parents=True, exist_ok=True)
    idle = time.monotonic() - run.cell_start
    detail = [f"cell {run.cell} idle after {idle:.0f}s (kernel CPU < {run.args.idle_cpu}s)"]
    (out / "1-proc.txt").write_text(proc_state(pid))
    (out / "1-ss.txt").write_text(sh(["ss", "-tnpi"]))
    with open(out / "1-client-threads.txt", "w") as f:
        faulthandler.dump_traceback(f, all_threads=True)
    (out / "1-messages.txt").write_text("\n".join(run.log) + "\n")
    # py-spy: on PATH, beside this Python, or in a tools venv (`python3.11 -m venv build/tools &&
    # build/tools/bin/pip install py-spy`; inside .venv it would fail test_environment's lock check)
    spy = shutil.which("py-spy") or next((str(p) for p in (Path(sys.executable).parent / "py-spy",
                                          Path("build/tools/bin/py-spy")) if p.exists()), "py-spy")

    def peek():  # through a plain shadow socket: reading EVENTS there schedules nothing
        pollin = zmq.Socket.shadow(socket.underlying).get(zmq.EVENTS) & zmq.POLLIN
        return (f"client shell socket has an unread message: {bool(pollin)}, "
                f"zmq.asyncio receives waiting on it: {len(socket._recv_futures)}")
    probes = [("SIGUSR2", lambda: os.kill(pid, signal.SIGUSR2), 10),
              ("py-spy dump", lambda: (out / "3-py-spy.txt").write_text(sh([spy, "dump", "--pid", str(pid)])), 15),
              ("a bare wake-up of the client's loop", lambda: detail.append(on_loop(run, peek)), 3),
              ("reading EVENTS through the zmq.asyncio socket",
               lambda: on_loop(run, lambda: socket.get(zmq.EVENTS)), 10)]
    for name, action, wait in probes:
        action()
        detail.append(f"completed after {name}: {completes(run, before, wait)}")
        if detail[-1].endswith("True"):
            break
    if (report / f"kernel-{pid}.stacks").exists():
        shutil.move(report / f"kernel-{pid}.stacks", out / "2-kernel-faulthandler.txt")
    run.detail = "; ".join(detail)
    (out / "summary.txt").write_text("\n".join(detail) + "\n")
    kill_tree(pid)


def watchdog(args, report: Path, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for run in list(_runs):
            if run.status != "running" or run.cell is None or not run.kernel_pid or run.stalled:
                continue
            now = time.monotonic()
            run.cpu.append((now, tree_cpu(run.kernel_pid)))
            while run.cpu[0][0] < now - args.stall_seconds - 1:
                run.cpu.popleft()
            if (now - run.cell_start > args.stall_seconds and now - run.cpu[0][0] >= args.stall_seconds - 1
                    and run.cpu[-1][1] - run.cpu[0][1] < args.idle_cpu):
                run.stalled = True
                print(f"  STALL {run.name} cell {run.cell}: capturing to {report / run.name}", flush=True)
                threading.Thread(target=capture, args=(run, report), daemon=True).start()


def cleanup(report: Path) -> None:
    for run in _runs:
        with contextlib.suppress(Exception):
            kill_tree(run.kernel_pid)
    for p in psutil.process_iter():  # anything else that inherited our tag (e.g. a reparented worker)
        with contextlib.suppress(psutil.Error):
            if p.pid != os.getpid() and p.environ().get("FLCOURSE_RUN_TAG") == TAG:
                p.kill()
    for f in report.glob("kernel-*.stacks"):
        f.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tools.stress_notebooks", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=3, help="executions of each notebook")
    ap.add_argument("--parallel", type=int, default=2, help="executions at a time")
    ap.add_argument("--stall-seconds", type=float, default=60)
    ap.add_argument("--idle-cpu", type=float, default=1.0, help="kernel CPU seconds in that window = idle")
    ap.add_argument("--timeout", type=int, default=600, help="nbclient's cell time-out (a backstop)")
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--client", choices=["stock", "safe"], default="stock",
                    help="stock: jupyter_client's AsyncKernelClient (as nbconvert); safe: utils.kernel_client")
    ap.add_argument("--load", type=int, default=0, help="busy-loop processes to run beside (other work)")
    ap.add_argument("--report", type=Path, default=Path("build/stress"))
    ap.add_argument("--store-executed", action="store_true",
                    help="keep one clean executed copy of each notebook for `make book` (build/executed)")
    args = ap.parse_args()
    report = args.report.resolve()
    report.mkdir(parents=True, exist_ok=True)
    os.environ.update(FLCOURSE_RUN_TAG=TAG, STRESS_REPORT=str(report), TF_CPP_MIN_LOG_LEVEL="3")
    jobs = collections.deque(Run(nb.resolve(), i, args) for i in range(args.runs) for nb in args.notebooks)
    total, lock, stop, finished = len(jobs), threading.Lock(), threading.Event(), []
    results = open(report / "runs.jsonl", "a")

    def worker():
        while not stop.is_set():
            with lock:
                if not jobs:
                    return
                run = jobs.popleft()
                _runs.append(run)
            execute(run)
            with lock:
                finished.append(run)
                results.write(json.dumps(dict(run=run.name, status=run.status, wall=round(run.wall, 1),
                                              slowest_cell=[round(run.slowest[0], 1), run.slowest[1]],
                                              client=args.client, detail=run.detail, tag=TAG)) + "\n")
                results.flush()
                print(f"[{len(finished)}/{total}] {run.name}: {run.status} {run.wall:.1f}s (slowest cell "
                      f"{run.slowest[1]}: {run.slowest[0]:.1f}s) {run.detail}", flush=True)

    def interrupt(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, interrupt)  # also when started where SIGINT is ignored (`cmd &`)
    signal.signal(signal.SIGTERM, interrupt)
    for _ in range(args.load):  # killed by cleanup(): they carry our FLCOURSE_RUN_TAG
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
    threading.Thread(target=watchdog, args=(args, report, stop), daemon=True).start()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(args.parallel)]
    try:
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("interrupted: killing every kernel started", flush=True)
    finally:
        stop.set()
        cleanup(report)
    for nb in args.notebooks:
        mine = [r for r in finished if r.nb == nb.resolve()]
        ok = sorted(r.wall for r in mine if r.status == "ok")
        walls = f"min {ok[0]:.1f}s median {ok[len(ok) // 2]:.1f}s max {ok[-1]:.1f}s" if ok else "-"
        print(f"{nb}: {len(mine)} runs, {sum(r.status == 'stall' for r in mine)} stalls, "
              f"{sum(r.status == 'error' for r in mine)} errors; wall of the others {walls}", flush=True)
    os._exit(0 if len(finished) == total and all(r.status == "ok" for r in finished) else 1)


if __name__ == "__main__":
    main()
