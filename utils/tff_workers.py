"""TFF's own worker processes (``worker_binary``) on free ports, and the execution contexts that drive
them over gRPC. Introduced in chapter 09.

TFF 0.87 ships the C++ worker that its local runtime starts behind the scenes
(``tensorflow_federated/data/worker_binary``). Started by hand, one per site, it becomes a remote
executor: the driver (a notebook, a script) sends it serialized computations and values over gRPC,
and it runs them. The worker takes only ``--port``, ``--max_concurrent_computation_calls`` and
``--grpc_max_message_length_megabytes``: it **listens on every network interface, with no TLS and no
authentication**, and runs whatever computation reaches it. Chapter 09 says what that means.

Every worker started here is on the same leash as TFF's own (``utils.runtime.start_leashed``): it
dies with the process that started it and is stopped at interpreter exit; ``WorkerPool.stop()``
(also on ``with`` exit) stops it at once. Ports are picked free by ``portpicker``, never fixed.
"""
from __future__ import annotations

import importlib.util
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from utils import validate as v
from utils.runtime import start_leashed

__all__ = ["worker_binary", "free_port", "WorkerPool", "connect", "mergeable_context", "stop_tff_local_worker"]

_POOL_PIDS: set = set()  # every worker a WorkerPool started (TFF's own local worker is not among them)
_GRPC_OPTIONS = [("grpc.max_send_message_length", 2 * 10**9), ("grpc.max_receive_message_length", 2 * 10**9)]


def worker_binary() -> Path:
    """Path of the C++ worker inside the installed TFF package (found without importing TFF)."""
    spec = importlib.util.find_spec("tensorflow_federated")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("tensorflow_federated is not installed: run `make install`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "worker_binary"
    if not path.is_file():
        raise RuntimeError(f"TFF's worker binary is missing at {path}")
    return path


def free_port() -> int:
    """A TCP port no process is using right now (``portpicker``, as TFF itself does)."""
    import portpicker

    return int(portpicker.pick_unused_port())


def _ready(address: str, timeout: float) -> bool:
    import grpc

    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


class WorkerPool:
    """``len(folders)`` TFF workers on 127.0.0.1, worker ``i`` running in ``folders[i]`` (its working
    directory: a computation that opens a relative path reads that site's files, and only those).

    ``start()`` (or ``with``) launches them on free ports and waits until each accepts gRPC
    connections; ``kill(i)`` is a crash (SIGKILL); ``restart(i)`` starts worker ``i`` again on its
    port; ``stop()`` ends them all. Output goes to ``worker_<i>.log`` in ``log_dir`` (default: the
    worker's folder), never to the caller's stdout, which a worker would otherwise hold open.
    """

    def __init__(self, folders, ready_timeout: float = 60.0, log_dir=None):
        if isinstance(folders, (str, Path)) or not isinstance(folders, (list, tuple)) or not folders:
            raise TypeError(f"folders must be a non-empty list of folders, one per worker, got {folders!r}")
        self.folders = [v.path("folders", f) for f in folders]
        for f in self.folders:
            if not f.is_dir():
                raise ValueError(f"folders: {f} is not a folder")
        self.ready_timeout = v.positive("ready_timeout", ready_timeout)
        self.log_dir = None if log_dir is None else v.path("log_dir", log_dir)
        self.ports: list[int] = [0] * len(self.folders)
        self.processes: list[subprocess.Popen | None] = [None] * len(self.folders)
        self.starts: list[int] = [0] * len(self.folders)  # how many times each worker was started

    def __len__(self) -> int:
        return len(self.folders)

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.ports]

    @property
    def pids(self) -> list[int | None]:
        return [p.pid if p is not None else None for p in self.processes]

    def _index(self, i) -> int:
        return v.integer("i", i, 0, len(self) - 1)

    def _launch(self, i: int) -> None:
        log_dir = self.log_dir or self.folders[i]
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"worker_{i}.log", "ab") as log:
            self.processes[i] = start_leashed(
                [str(worker_binary()), f"--port={self.ports[i]}", "--max_concurrent_computation_calls=-1"],
                cwd=self.folders[i], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _POOL_PIDS.add(self.processes[i].pid)
        self.starts[i] += 1

    def _wait_ready(self, indices) -> None:
        deadline = time.monotonic() + self.ready_timeout
        for i in indices:
            while not _ready(self.addresses[i], 0.2):
                code = self.processes[i].poll()
                if code is not None:
                    raise RuntimeError(f"worker {i} (port {self.ports[i]}) exited with code {code} before it "
                                       f"accepted connections; see its log in {self.log_dir or self.folders[i]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker {i} did not accept connections on port {self.ports[i]} "
                                       f"within {self.ready_timeout:g} s")

    def start(self) -> "WorkerPool":
        """Start every worker that is not running, each on a free port; wait until all are ready."""
        todo = [i for i in range(len(self)) if not self.alive(i)]
        for i in todo:
            self.ports[i] = free_port()
            self._launch(i)
        try:
            self._wait_ready(todo)
        except BaseException:
            self.stop()
            raise
        return self

    def alive(self, i) -> bool:
        """True while worker ``i`` runs."""
        p = self.processes[self._index(i)]
        return p is not None and p.poll() is None

    def kill(self, i) -> None:
        """Crash worker ``i`` (SIGKILL: no clean-up, as when a machine loses power) and reap it."""
        p = self.processes[self._index(i)]
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def restart(self, i) -> None:
        """Start worker ``i`` again on the port it had (the driver's address for it stays valid)."""
        i = self._index(i)
        if self.alive(i):
            raise RuntimeError(f"worker {i} is running; kill it first")
        self._launch(i)
        self._wait_ready([i])

    def rss_mb(self) -> list[float]:
        """Resident memory of each running worker in MiB (NaN for a stopped one)."""
        import psutil

        out = []
        for p in self.processes:
            try:
                out.append(psutil.Process(p.pid).memory_info().rss / 2**20 if p and p.poll() is None else float("nan"))
            except psutil.Error:
                out.append(float("nan"))
        return out

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after ``timeout`` s)."""
        timeout = v.nonneg("timeout", timeout)
        running = [p for p in self.processes if p is not None and p.poll() is None]
        for p in running:
            p.terminate()
        for p in running:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@dataclass
class Remote:
    """A container that ``connect`` returns (not an entry point): a TFF execution context whose executor is one remote worker, its gRPC channel, and the channel's
    latest state as gRPC reports it (READY, IDLE, CONNECTING, TRANSIENT_FAILURE, SHUTDOWN): a driver on
    another machine can see that much of a worker, and no more."""

    address: str
    channel: object
    context: object
    state: str = "IDLE"

    def close(self) -> None:
        """Close the channel: calls still waiting on it fail instead of retrying for ever."""
        self.channel.close()


def connect(address: str, asynchronous: bool = False) -> Remote:
    """A TFF execution context (sync, or async for ``mergeable_context``) that runs every computation
    on the worker at ``address`` ("host:port"), as TFF's local runtime does with its own worker."""
    address = v.text("address", address)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address must look like 'host:port', got {address!r}")
    asynchronous = v.flag("asynchronous", asynchronous)
    import grpc
    import tensorflow_federated as tff
    from tensorflow_federated.python.core.backends.native import compiler
    from tensorflow_federated.python.core.environments.tensorflow_frontend import tensorflow_computation

    channel = grpc.insecure_channel(address, _GRPC_OPTIONS)  # insecure: the worker speaks no TLS
    stub = tff.framework.RemoteExecutorGrpcStub(channel)
    remote = Remote(address, channel, None)

    def watch(connectivity):  # called by gRPC on every change of the channel's state
        remote.state = connectivity.name

    channel.subscribe(watch, try_to_connect=False)

    def stack_fn(cardinalities):
        cardinalities = {**cardinalities}
        cardinalities.setdefault(tff.CLIENTS, 0)  # a computation without clients still needs a number
        executor = tff.framework.RemoteExecutor(stub)
        executor.set_cardinalities(cardinalities)
        return executor

    factory = tff.framework.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)
    kind = tff.framework.AsyncExecutionContext if asynchronous else tff.framework.SyncExecutionContext
    remote.context = kind(executor_fn=factory, compiler_fn=compiler.desugar_and_transform_to_native,
                          transform_args=tensorflow_computation.transform_args,
                          transform_result=tensorflow_computation.transform_result)
    return remote


def mergeable_context(addresses):
    """TFF's ``MergeableCompExecutionContext`` over one async remote context per address: each call
    splits the clients across the workers by list position, runs each share up to the aggregation on
    its worker, merges the partial aggregates in the order the workers finish, then finishes the round.
    Returns (context, [Remote, ...])."""
    if isinstance(addresses, str) or not isinstance(addresses, (list, tuple)) or not addresses:
        raise TypeError(f"addresses must be a non-empty list of 'host:port', got {addresses!r}")
    import tensorflow_federated as tff

    remotes = [connect(a, asynchronous=True) for a in addresses]
    return tff.backends.native.create_mergeable_comp_execution_context([r.context for r in remotes]), remotes


def stop_tff_local_worker(timeout: float = 5.0) -> int:
    """Stop the worker TFF's default local context started (it holds ~100 MB and is not needed once the
    single-process run is done); pool workers and other processes are left alone. TFF starts a new one
    if its local context is used again. Returns how many were stopped."""
    import os

    from utils.runtime import live_workers

    timeout = v.nonneg("timeout", timeout)
    mine = [p for p in live_workers() if p.pid not in _POOL_PIDS and str(p.args[0]).endswith("worker_binary")]
    for p in mine:
        p.terminate()
    deadline = time.monotonic() + timeout
    for p in mine:  # wait without reaping: TFF's own clean-up later signals the pid and must find it
        while os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                p.kill()
                break
            time.sleep(0.02)
    return len(mine)
