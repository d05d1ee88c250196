"""utils.tff_workers: TFF's worker_binary on free ports, in its site's folder; kill, restart on the same port,
stop; and no worker outlives the process that started it, even one killed with SIGKILL."""
import os
import socket
import subprocess
import sys
import time

import psutil
import pytest

from utils import tff_workers


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def accepts(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_worker_binary_is_an_executable_file():
    path = tff_workers.worker_binary()
    assert path.is_file() and os.access(path, os.X_OK)


def test_free_port_is_bindable():
    port = tff_workers.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_pool_start_kill_restart_stop_leaves_no_process(tmp_path):
    folders = [tmp_path / "x", tmp_path / "y"]
    for f in folders:
        f.mkdir()
    with tff_workers.WorkerPool(folders) as pool:
        pids = list(pool.pids)
        assert len(set(pool.ports)) == 2 and all(accepts(a) for a in pool.addresses)
        assert [psutil.Process(p).cwd() for p in pids] == [str(f) for f in folders]
        assert all((f / f"worker_{i}.log").is_file() for i, f in enumerate(folders))
        pool.kill(1)
        assert not pool.alive(1) and gone(pids[1]) and pool.alive(0)
        with pytest.raises(RuntimeError, match="is running"):
            pool.restart(0)
        port = pool.ports[1]
        pool.restart(1)
        assert pool.alive(1) and pool.ports[1] == port and pool.pids[1] != pids[1] and accepts(pool.addresses[1])
        assert pool.starts == [1, 2]
        pids = list(pool.pids)
    assert all(gone(p) for p in pids)


def test_a_worker_dies_with_the_process_that_started_it(tmp_path):
    code = ("import sys, time\nfrom utils.tff_workers import WorkerPool\n"
            f"pool = WorkerPool([{str(tmp_path)!r}]).start()\nprint(pool.pids[0], flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        worker = int(parent.stdout.readline())
        assert not gone(worker)
        parent.kill()  # SIGKILL: no atexit, no clean-up in the parent
        parent.wait()
        deadline = time.monotonic() + 10
        while not gone(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(worker), "the worker outlived its parent"
    finally:
        parent.kill()
        parent.wait()


def test_connect_refuses_a_malformed_address():
    with pytest.raises(ValueError, match="host:port"):
        tff_workers.connect("127.0.0.1:http")
