"""Bad inputs for chapter 09's modules: by_reference, checkpoints, drivers, fed_program, tff_workers, and
runtime.start_leashed. Every call here fails in validation, before any worker, gRPC channel or TFF
computation is used (objects that need one are made without ``__init__``)."""
from __future__ import annotations

import concurrent.futures
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from badinput import CL, X, Y, case

from utils import by_reference, checkpoints, drivers, fed_program, runtime, tff_workers

TMP = Path(tempfile.gettempdir())
GROUPS = [["a"], ["b"]]
ADDR = ["127.0.0.1:1", "127.0.0.1:2"]
STATE = {"w": np.zeros(2, np.float32)}
FUT = concurrent.futures.Future()


@lru_cache(maxsize=1)
def _ckpt():
    return checkpoints.Checkpoints(Path(tempfile.mkdtemp(prefix="flcourse-bad-ckpt-")))


def _bare(cls):
    """An instance whose __init__ did not run: the method's validation must refuse before using it."""
    return object.__new__(cls)


def _pool():
    return tff_workers.WorkerPool([TMP])


def _driver():
    return drivers.Driver(TMP, ADDR, GROUPS, 1, TMP / "flcourse-bad-ckpt")


# ---- by_reference ----------------------------------------------------------------------------------------
case("by_reference.client_file", lambda folder=TMP, client_id="a": by_reference.client_file(folder, client_id),
     folder=[(3, TypeError)], client_id=[("../etc", ValueError, "client_id"), (7, TypeError)])
case("by_reference.write_client_rows",
     lambda folder=TMP, client_id="a", X=X, y=Y: by_reference.write_client_rows(folder, client_id, X, y),
     folder=[(None, TypeError)], client_id=[("a b", ValueError, "client_id")],
     X=[(X[:3], ValueError, "X"), ("rows", TypeError, "X")], y=[(Y[:2], ValueError, "y")])
case("by_reference.read_client_rows", lambda path=TMP / "x.f32", n_features=2: by_reference.read_client_rows(path, n_features),
     path=[(1.5, TypeError)], n_features=[(0, ValueError), (2.5, ValueError)])
case("by_reference.prepare_sites", lambda clients=CL, root=TMP, sites=None: by_reference.prepare_sites(clients, root, sites),
     clients=[([1, 2], TypeError, "clients")], root=[(5, TypeError)],
     sites=[({"s": "a"}, TypeError, "sites"), ({"s": ["zz"]}, ValueError, "sites"), ([], TypeError, "sites")])
case("by_reference.dataset_by_reference",
     lambda n_features=2, batch_size=4: by_reference.dataset_by_reference(n_features, batch_size),
     n_features=[(-1, ValueError)], batch_size=[(0, ValueError)])
case("by_reference.payload_bytes", lambda value: by_reference.payload_bytes(value),
     value=[(b"bytes", TypeError, "value"), (np.zeros(3), TypeError, "value")])

# ---- checkpoints -----------------------------------------------------------------------------------------
case("checkpoints.run_async", lambda coroutine: checkpoints.run_async(coroutine),
     coroutine=[(lambda: 1, TypeError, "coroutine")])
case("checkpoints.CheckpointCorrupted", lambda message: checkpoints.CheckpointCorrupted(message),
     message=[(None, TypeError, "message")])
case("checkpoints.Checkpoints", lambda root=TMP, keep=2, prefix="p_": checkpoints.Checkpoints(root, keep, prefix),
     root=[(None, TypeError)], keep=[(0, ValueError)], prefix=[(3, TypeError), ("", ValueError)])
case("checkpoints.Checkpoints.folder", lambda version: _ckpt().folder(version), version=[(-1, ValueError)])
case("checkpoints.Checkpoints.save", lambda state=STATE, version=1: _ckpt().save(state, version),
     state=[(None, TypeError, "state"), ({}, TypeError, "state")], version=[(1.5, ValueError), ("1", TypeError)])
case("checkpoints.Checkpoints.verify", lambda version: _ckpt().verify(version), version=[(-2, ValueError)])
case("checkpoints.Checkpoints.load", lambda version=0, structure=STATE: _ckpt().load(version, structure),
     version=[(None, TypeError)], structure=[(3, TypeError, "structure")])
case("checkpoints.Checkpoints.load_latest", lambda structure: _ckpt().load_latest(structure),
     structure=[("state", TypeError, "structure")])

# ---- drivers ---------------------------------------------------------------------------------------------
case("drivers.Driver",
     lambda program=TMP, addresses=ADDR, groups=GROUPS, rounds=1, checkpoints=TMP, out=None, grace=None, log=None:
     drivers.Driver(program, addresses, groups, rounds, checkpoints, out, grace, log),
     program=[(None, TypeError)], addresses=[("127.0.0.1:1", TypeError, "addresses"), ([3], TypeError, "addresses")],
     groups=[([["a"]], ValueError, "groups"), (["a", "b"], TypeError, "groups")], rounds=[(0, ValueError)],
     checkpoints=[(1, TypeError)], out=[(2, TypeError)], grace=[(0, ValueError), (float("nan"), ValueError)],
     log=[(3.0, TypeError)])
case("drivers.Driver.wait_for", lambda event="saved", round=None, timeout=1.0: _driver().wait_for(event, round, timeout),
     event=[(None, TypeError), ("", ValueError)], round=[(-1, ValueError)], timeout=[(0, ValueError)])
case("drivers.Driver.finish", lambda timeout: _driver().finish(timeout), timeout=[(-5, ValueError)])

# ---- fed_program -----------------------------------------------------------------------------------------
COMP = type("FakeComputation", (), {"type_signature": None})()  # passes the check, never serialized
case("fed_program.save_program", lambda folder=TMP, initialize=COMP, next_computation=None:
     fed_program.save_program(folder, initialize, next_computation),
     folder=[(1, TypeError)], initialize=[(lambda: 1, TypeError, "initialize")],
     next_computation=[("next", TypeError, "next_computation")])
case("fed_program.load_program", lambda folder: fed_program.load_program(folder),
     folder=[(TMP / "no-such-program", FileNotFoundError, "initialize.pb"), (None, TypeError)])
case("fed_program.build_program", lambda folder=TMP, n_features=2, batch_size=4, client_lr=0.1:
     fed_program.build_program(folder, n_features, batch_size, client_lr),
     folder=[(1, TypeError)], n_features=[(0, ValueError)], batch_size=[(-4, ValueError)],
     client_lr=[(0.0, ValueError), (float("inf"), ValueError)])
case("fed_program.model_weights", lambda state: fed_program.model_weights(state),
     state=[({"weights": 1}, TypeError, "state"), (None, TypeError, "state")])
case("fed_program.RoundTimeout", lambda round_number=1, waited=1.0, unreachable=():
     fed_program.RoundTimeout(round_number, waited, unreachable),
     round_number=[(-1, ValueError)], waited=[(-1.0, ValueError)], unreachable=[("2", TypeError, "unreachable")])
case("fed_program.Watchdog", lambda grace=1.0, timeout=10.0: fed_program.Watchdog(grace, timeout),
     grace=[(0, ValueError), ("1", TypeError)], timeout=[(-1, ValueError)])
case("fed_program.FixedOrderRunner", lambda program=None, addresses=ADDR, groups=GROUPS:
     fed_program.FixedOrderRunner(program, addresses, groups),
     program=[("program", TypeError, "program")], addresses=[([], TypeError, "addresses")],
     groups=[([["a"]], ValueError, "groups"), ([["a"], []], TypeError, "groups")])
R = fed_program.FixedOrderRunner
case("fed_program.FixedOrderRunner.submit", lambda state: _bare(R).submit(state),
     state=[(None, TypeError, "state"), ("state", TypeError, "state")])
case("fed_program.FixedOrderRunner.wait", lambda future=FUT, round_number=1, watchdog=None:
     _bare(R).wait(future, round_number, watchdog),
     future=[(None, TypeError, "future")], round_number=[(-3, ValueError)], watchdog=[(1.0, TypeError, "watchdog")])
case("fed_program.FixedOrderRunner.initialize", lambda watchdog: _bare(R).initialize(watchdog),
     watchdog=[("5s", TypeError, "watchdog")])
case("fed_program.FixedOrderRunner.round", lambda state=STATE, round_number=1, watchdog=None:
     _bare(R).round(state, round_number, watchdog),
     state=[([], TypeError, "state")], round_number=[(1.5, ValueError)], watchdog=[(30, TypeError, "watchdog")])
case("fed_program.Timeline", lambda echo=False, path=None: fed_program.Timeline(echo, path),
     echo=[("yes", TypeError)], path=[(7, TypeError)])
case("fed_program.Timeline.log", lambda event: fed_program.Timeline().log(event), event=[(None, TypeError), ("", ValueError)])
case("fed_program.train", lambda runner=None, rounds=1, checkpoints=None, timeline=None, watchdog=None, during_round=None:
     fed_program.train(runner, rounds, checkpoints, timeline, watchdog, during_round),
     runner=[("runner", TypeError, "runner")], rounds=[(0, ValueError)], checkpoints=[(TMP, TypeError, "checkpoints")],
     timeline=[([], TypeError, "timeline")], watchdog=[(5.0, TypeError, "watchdog")],
     during_round=[(3, TypeError, "during_round")])
case("fed_program.supervised_train",
     lambda pool=None, program=fed_program.Program(None, None), groups=GROUPS, rounds=1, checkpoints=None, watchdog=fed_program.Watchdog(),
     timeline=None, max_restarts=1, during_round=None:
     fed_program.supervised_train(pool, program, groups, rounds, checkpoints or _ckpt(), watchdog, timeline,
                                  max_restarts, during_round),
     pool=[("pool", TypeError, "pool")], program=[(3, TypeError, "program")], groups=[("ab", TypeError, "groups")],
     rounds=[(-1, ValueError)], checkpoints=[(TMP, TypeError, "checkpoints")], watchdog=[(None, TypeError, "watchdog")],
     timeline=[("t", TypeError, "timeline")], max_restarts=[(-1, ValueError)], during_round=[(1, TypeError)])
case("fed_program.main", lambda argv: fed_program.main(argv), argv=[("--rounds 3", TypeError, "argv"), ([1], TypeError, "argv")])

# ---- tff_workers -----------------------------------------------------------------------------------------
case("tff_workers.WorkerPool", lambda folders=[TMP], ready_timeout=10.0, log_dir=None:
     tff_workers.WorkerPool(folders, ready_timeout, log_dir),
     folders=[(str(TMP), TypeError, "folders"), ([TMP / "no-such-site"], ValueError, "folders")],
     ready_timeout=[(0, ValueError)], log_dir=[(1, TypeError)])
case("tff_workers.WorkerPool.alive", lambda i: _pool().alive(i), i=[(1, ValueError), ("0", TypeError)])
case("tff_workers.WorkerPool.kill", lambda i: _pool().kill(i), i=[(-1, ValueError)])
case("tff_workers.WorkerPool.restart", lambda i: _pool().restart(i), i=[(5, ValueError)])
case("tff_workers.WorkerPool.stop", lambda timeout: _pool().stop(timeout), timeout=[(-1, ValueError)])
case("tff_workers.connect", lambda address="127.0.0.1:1", asynchronous=False: tff_workers.connect(address, asynchronous),
     address=[("localhost", ValueError, "address"), (8000, TypeError)], asynchronous=[(1, TypeError)])
case("tff_workers.mergeable_context", lambda addresses: tff_workers.mergeable_context(addresses),
     addresses=[("127.0.0.1:1", TypeError, "addresses"), ([], TypeError, "addresses"), (["nowhere"], ValueError, "address")])
case("tff_workers.stop_tff_local_worker", lambda timeout: tff_workers.stop_tff_local_worker(timeout),
     timeout=[(-0.5, ValueError)])

# ---- runtime (chapter 09 added start_leashed) ---------------------------------------------------------------
case("runtime.start_leashed", lambda args: runtime.start_leashed(args),
     args=[("worker_binary --port=1", TypeError, "args"), ([], TypeError, "args")])

# ---- drivers.reference_run: every parameter is checked before any worker starts -------------------------------
case("drivers.reference_run",
     lambda root="/tmp/flcourse-unused", clients=None, n_features=2, rounds=1, batch_size=4, client_lr=0.1:
     drivers.reference_run(root, {"a": (X, Y)} if clients is None else clients, n_features, rounds, batch_size,
                           client_lr),
     root=[(3, TypeError, "root")], clients=[({}, TypeError, "clients")], n_features=[(0, ValueError, "n_features")],
     rounds=[(0, ValueError, "rounds")], batch_size=[(2.5, ValueError, "batch_size")],
     client_lr=[(float("nan"), ValueError, "client_lr")])
