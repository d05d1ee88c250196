"""TFF's C++ worker process, kept on a leash (``setup()`` arms it). Introduced in chapter 00.

TFF runs every federated computation in a ``worker_binary`` subprocess that it
starts on first use. Its only clean-up is a ``__del__`` that does not run at
interpreter exit, so after a plain Python script (a pytest run, a benchmark)
the worker outlives its parent and keeps the parent's stdout pipe open: a CI
step waiting on that pipe never ends. ``manage_tff_workers()`` makes every
worker TFF starts

* die with its parent (Linux ``PR_SET_PDEATHSIG``), even if the parent is
  SIGKILLed, and
* be stopped by an ``atexit`` hook at normal interpreter exit,

without changing how TFF builds its execution contexts.

``python -m tools.workers`` lists ``worker_binary`` processes started under this
run's ``FLCOURSE_RUN_TAG`` (set by the Makefile), stops them, and exits 1 if
there were any: ``make test`` ends with it. Introduced in chapter 00 (through ``setup``).
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

from utils import validate as v

RUN_TAG = "FLCOURSE_RUN_TAG"
WORKER_NAME = "worker_binary"

_workers: list[subprocess.Popen] = []
_lock = threading.Lock()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _ManagedPopen(subprocess.Popen):
    """``subprocess.Popen`` that makes the worker die with its parent and remembers it. A subclass,
    not a function: TFF annotates ``subprocess.Popen[bytes]`` when it creates a new execution
    context (e.g. ``tff.backends.test.create_sync_test_cpp_execution_context``, chapter 06)."""

    def __init__(self, args, **kwargs):
        if sys.platform.startswith("linux"):
            kwargs.setdefault("preexec_fn", _die_with_parent)
        super().__init__(args, **kwargs)
        with _lock:
            _workers.append(self)


def start_leashed(args, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(args, **kwargs)`` on the same leash as TFF's own worker: the process dies with
    its parent and ``stop_workers()`` (run at exit) stops it. Chapter 09 starts its workers with it.

    Linux delivers the parent-death signal when the *thread* that started the process ends, so start
    long-lived processes from a thread that lives as long as they should (the main thread)."""
    if isinstance(args, (str, bytes)) or not isinstance(args, (list, tuple)) or not args:
        raise TypeError(f"args must be a non-empty list of program arguments, got {args!r}")
    return _ManagedPopen(list(args), **kwargs)


class _ManagedSubprocess:
    """Stands in for the ``subprocess`` module inside TFF's executor factory."""

    Popen = _ManagedPopen  # noqa: N815 (the name TFF calls)

    def __getattr__(self, name):
        return getattr(subprocess, name)


# TFF waits for its new worker in steps of 1 s (``_LOCALHOST_SERVER_WAIT_TIME_SEC``), and gRPC, whose first
# connection attempt comes before the worker listens (it needs 0.05-0.1 s), retries after 1 s: every
# fresh kernel paid about 1 s for a worker that was ready after a tenth of that.
WORKER_POLL_S = 0.02
_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
              ("grpc.max_reconnect_backoff_ms", 500)]


def manage_tff_workers() -> None:
    """Route TFF's worker start-up through ``_ManagedSubprocess`` and wait for a new worker in steps of
    ``WORKER_POLL_S`` instead of 1 s (idempotent)."""
    from tensorflow_federated.python.core.impl.executor_stacks import executor_factory

    if not isinstance(executor_factory.subprocess, _ManagedSubprocess):
        executor_factory.subprocess = _ManagedSubprocess()
    # Both module constants are read when a worker is started, so the default context TFF built at
    # import time picks them up too.
    executor_factory._LOCALHOST_SERVER_WAIT_TIME_SEC = WORKER_POLL_S
    names = {name for name, _ in executor_factory._GRPC_CHANNEL_OPTIONS}
    executor_factory._GRPC_CHANNEL_OPTIONS = list(executor_factory._GRPC_CHANNEL_OPTIONS) + [
        option for option in _RECONNECT if option[0] not in names]


def _exited(process: subprocess.Popen) -> bool:
    """True once the worker has exited, WITHOUT reaping it: TFF's own clean-up later sends it a
    signal by pid, which must still find the zombie rather than raise ProcessLookupError."""
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def live_workers() -> list[subprocess.Popen]:
    with _lock:
        return [p for p in _workers if not _exited(p)]


@atexit.register
def stop_workers(timeout: float = 5.0) -> int:
    """Stop every worker started through ``manage_tff_workers``; returns how many were running."""
    timeout = v.nonneg("timeout", timeout)
    running = live_workers()
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        while not _exited(process) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not _exited(process):
            process.kill()
    return len(running)


def tagged_processes(tag: str, exclude_self: bool = True) -> list[psutil.Process]:
    """Live processes whose environment carries ``FLCOURSE_RUN_TAG=tag`` (inherited from whoever started them)."""
    tag, exclude_self = v.text("tag", tag), v.flag("exclude_self", exclude_self)
    found = []
    for process in psutil.process_iter():
        if exclude_self and process.pid == os.getpid():
            continue
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(RUN_TAG) == tag:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def tagged_workers(tag: str) -> list[psutil.Process]:
    """``worker_binary`` processes among ``tagged_processes(tag)``."""
    found = []
    for process in tagged_processes(v.text("tag", tag)):
        try:
            if WORKER_NAME in process.name() or WORKER_NAME in " ".join(process.cmdline()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def check_workers(tag: str | None = None) -> int:
    """Exit status for ``make test``: 0 if no worker of this run survives, else 1 (and stop them)."""
    tag = os.environ.get(RUN_TAG) if tag is None else v.text("tag", tag)
    if not tag:
        print(f"check-workers: {RUN_TAG} is not set, so this run's workers cannot be told apart", file=sys.stderr)
        return 2
    survivors = tagged_workers(tag)
    if not survivors:
        print(f"check-workers: no TFF {WORKER_NAME} survived this run")
        return 0
    for process in survivors:
        print(f"check-workers: TFF {WORKER_NAME} pid {process.pid} survived the run; stopping it", file=sys.stderr)
        process.kill()
    psutil.wait_procs(survivors, timeout=5)
    return 1
