"""The driver as a separate process (``python -m utils.fed_program``) that a notebook starts, watches
through the events it prints, and kills. Introduced in chapter 09.

The notebook's kernel is never the process that gets killed: the driver is a child on the course's
leash (``utils.runtime.start_leashed``), so it also dies with the kernel. Reading its output never
blocks for ever: every wait has a time-out, after which the driver is killed and an error raised.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from utils import validate as v
from utils.fed_program import _check_groups
from utils.runtime import start_leashed

__all__ = ["Driver", "reference_run"]


class Driver:
    """One run of ``python -m utils.fed_program``; see that module for the arguments.

    ``start()`` launches it; ``wait_for(event, round=...)`` returns the first matching event (a dict);
    ``kill()`` is SIGKILL, no clean-up, like a crash; ``finish()`` waits for the exit code.
    ``events`` holds every event read so far; the driver's stderr goes to ``log``.
    """

    def __init__(self, program, addresses, groups, rounds: int, checkpoints, out=None, grace: float | None = None,
                 log=None):
        self.program = v.path("program", program)
        if isinstance(addresses, str) or not isinstance(addresses, (list, tuple)) or not addresses:
            raise TypeError(f"addresses must be a non-empty list of 'host:port', got {addresses!r}")
        self.addresses = [v.text("addresses", a) for a in addresses]
        _check_groups(groups)
        if len(groups) != len(addresses):
            raise ValueError(f"groups must hold one list of client ids per worker ({len(addresses)}), got {groups!r}")
        self.groups = [list(g) for g in groups]
        self.rounds = v.integer("rounds", rounds, 1)
        self.checkpoints = v.path("checkpoints", checkpoints)
        self.out = None if out is None else v.path("out", out)
        self.grace = None if grace is None else v.positive("grace", grace)
        self.log = self.checkpoints.parent / "driver.log" if log is None else v.path("log", log)
        self.events: list[dict] = []
        self.process: subprocess.Popen | None = None
        self._queue: queue.Queue = queue.Queue()

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "utils.fed_program", "--program", str(self.program),
               "--workers", ",".join(self.addresses), "--groups", ";".join(",".join(g) for g in self.groups),
               "--rounds", str(self.rounds), "--checkpoints", str(self.checkpoints)]
        if self.out is not None:
            cmd += ["--out", str(self.out)]
        if self.grace is not None:
            cmd += ["--grace", str(self.grace)]
        return cmd

    def start(self) -> "Driver":
        if self.process is not None:
            raise RuntimeError("this driver was already started; make a new Driver to run again")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
        with open(self.log, "ab") as log:
            self.process = start_leashed(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, env=env)
        threading.Thread(target=self._read, name="driver-reader", daemon=True).start()
        return self

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                self._queue.put(json.loads(line))
            except ValueError:
                continue  # not an event (e.g. a stray print)
        self._queue.put(None)  # end of output

    def _next(self, deadline: float):
        try:
            item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.kill()
            raise TimeoutError(f"the driver printed nothing new for too long; killed it (log: {self.log})") from None
        if item is not None:
            self.events.append(item)
        return item

    def wait_for(self, event: str, round: int | None = None, timeout: float = 300.0) -> dict:  # noqa: A002
        """The first event named ``event`` (and with this ``round``, if given) that the driver prints."""
        event = v.text("event", event)
        round = None if round is None else v.integer("round", round, 0)  # noqa: A001
        deadline = time.monotonic() + v.positive("timeout", timeout)
        if self.process is None:
            raise RuntimeError("start() the driver first")
        for e in self.events:
            if e.get("event") == event and (round is None or e.get("round") == round):
                return e
        while True:
            item = self._next(deadline)
            if item is None:
                raise RuntimeError(f"the driver exited (code {self.process.wait()}) before {event!r}"
                                   f"{'' if round is None else f' of round {round}'}; see {self.log}")
            if item.get("event") == event and (round is None or item.get("round") == round):
                return item

    def kill(self) -> None:
        """SIGKILL the driver (no clean-up: it cannot finish a save or say goodbye)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def finish(self, timeout: float = 300.0) -> int:
        """Read the driver's events until it exits; its exit code (killed after ``timeout`` s)."""
        deadline = time.monotonic() + v.positive("timeout", timeout)
        if self.process is None:
            raise RuntimeError("start() the driver first")
        while self._next(deadline) is not None:
            pass
        return self.process.wait()

    def rss_mb(self) -> float:
        """The driver's resident memory in MiB (NaN once it has exited)."""
        import psutil

        try:
            return psutil.Process(self.process.pid).memory_info().rss / 2**20
        except (psutil.Error, AttributeError):
            return float("nan")


def reference_run(root, clients: dict, n_features: int, rounds: int, batch_size: int = 32,
                  client_lr: float = 0.1) -> dict:
    """The set-up every resume is compared with: one site folder and one TFF worker per client
    (``root/sites``), the chapter's program saved in ``root/program``, and the weights of an
    uninterrupted fixed-order run of ``rounds``. Returns sites, pool, program, by_value, groups and
    uninterrupted; the caller stops ``pool`` (it is stopped here if anything fails)."""
    from utils.by_reference import prepare_sites
    from utils.fed_program import FixedOrderRunner, build_program, model_weights, train
    from utils.tff_workers import WorkerPool

    root = v.path("root", root)
    if not isinstance(clients, dict) or not clients:
        raise TypeError(f"clients must be a non-empty dict {{name: (X, y)}}, got {clients!r:.80}")
    rounds = v.integer("rounds", rounds, 1, 1000)
    n_features, batch_size = v.integer("n_features", n_features, 1), v.integer("batch_size", batch_size, 1)
    client_lr = v.positive("client_lr", client_lr)
    sites = prepare_sites(clients, root / "sites")
    pool = WorkerPool([sites[h] for h in clients]).start()
    try:
        program, by_value = build_program(root / "program", n_features, batch_size, client_lr)
        groups = [[h] for h in clients]
        runner = FixedOrderRunner(program, pool.addresses, groups)
        try:
            uninterrupted = model_weights(train(runner, rounds))
        finally:
            runner.close()
    except BaseException:
        pool.stop()
        raise
    return {"sites": sites, "pool": pool, "program": program, "by_value": by_value, "groups": groups,
            "uninterrupted": uninterrupted}
