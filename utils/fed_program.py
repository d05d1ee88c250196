"""A federated program across TFF workers: rounds merged in a fixed order, saved every round, resumed in
a fresh process, supervised against workers that die. Introduced in chapter 09.

The program is TFF's own: ``initialize`` and ``next`` of a learning process, serialized to
``initialize.pb`` / ``next.pb`` (``save_program``), so a driver needs no model code to run it.
``FixedOrderRunner`` compiles ``next`` with ``tff.backends.native.compile_to_mergeable_comp_form``
and calls its three parts itself: ``up_to_merge`` on every worker at once (worker ``i`` gets the
clients of ``groups[i]``), ``merge`` of the partial aggregates **in worker order**, then
``after_merge``. TFF's ``MergeableCompExecutionContext`` runs the same parts but merges in the order
the workers finish, so its float sums can differ in the last bit from run to run.

A ``Watchdog`` gives up on a round whose worker stays unreachable (``RoundTimeout``); TFF itself
retries an unreachable worker for ever. ``supervised_train`` restarts dead workers and resumes from the newest
checkpoint. Run as a script, this module is the driver the chapter starts and kills::

    python -m utils.fed_program --program DIR --workers HOST:PORT,... --groups "a;b;c" \\
        --rounds R --checkpoints DIR [--out FILE.npz] [--grace S]

It prints one JSON object per line per event ("started", "resumed", "saved", "done").
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from utils import validate as v
from utils.download import write_atomically
from utils.tff_workers import connect

__all__ = ["save_program", "load_program", "build_program", "model_weights", "FixedOrderRunner", "RoundTimeout",
           "Watchdog", "Timeline", "train", "supervised_train", "main"]

FILES = ("initialize.pb", "next.pb")


@dataclass
class Program:
    """A container that ``load_program`` returns (not an entry point): ``initialize`` (→ state@SERVER) and ``next`` ((state, client ids) → (state, metrics)) of a TFF
    learning process; ``form`` is ``next`` compiled into TFF's mergeable form (on first use)."""

    initialize: object
    next: object
    folder: Path | None = None
    _form: object = field(default=None, repr=False)

    @property
    def form(self):
        if self._form is None:
            import tensorflow_federated as tff

            self._form = tff.backends.native.compile_to_mergeable_comp_form(self.next)
        return self._form


def save_program(folder, initialize, next_computation) -> Path:
    """Serialize the two computations (TFF's ``serialize_computation``) into ``folder``."""
    import tensorflow_federated as tff

    folder = v.path("folder", folder)
    for name, comp in zip(("initialize", "next_computation"), (initialize, next_computation)):
        if not hasattr(comp, "type_signature"):
            raise TypeError(f"{name} must be a TFF computation, got {type(comp).__name__}")
    for name, comp in zip(FILES, (initialize, next_computation)):
        write_atomically(folder / name, tff.framework.serialize_computation(comp).SerializeToString())
    return folder


def load_program(folder) -> Program:
    """The ``Program`` stored by ``save_program`` (no model code needed: the graphs are in the files)."""
    import tensorflow_federated as tff
    from tensorflow_federated.proto.v0 import computation_pb2

    folder = v.path("folder", folder)
    comps = []
    for name in FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing: save the program with save_program first")
        comps.append(tff.framework.deserialize_computation(computation_pb2.Computation.FromString((folder / name).read_bytes())))
    return Program(comps[0], comps[1], folder)


def build_program(folder, n_features: int = 13, batch_size: int = 32, client_lr: float = 0.1):
    """Chapter 09's program, built as its section 1 builds it: FedAvg (plain SGD at the clients, server
    learning rate 1) of a logistic regression that starts at zero, with data by reference
    (``utils.by_reference``), saved in ``folder``. Returns (the loaded ``Program``, the by-value
    learning process, whose ``next`` takes datasets: the single-process reference)."""
    from utils.by_reference import dataset_by_reference
    from utils.keras_fedavg import keras_model
    from utils.tff_learning import build_tff_fedavg, tff_model_fn

    folder = v.path("folder", folder)
    n_features = v.integer("n_features", n_features, 1, 100_000)
    batch_size = v.integer("batch_size", batch_size, 1)
    client_lr = v.positive("client_lr", client_lr)
    import tensorflow as tf
    import tensorflow_federated as tff

    spec = (tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None], tf.float32))
    model_fn = tff_model_fn(lambda: keras_model(n_features, kernel_initializer="zeros"), spec)
    by_value = build_tff_fedavg(model_fn, client_lr=client_lr)
    by_ref = tff.simulation.compose_dataset_computation_with_learning_process(
        dataset_by_reference(n_features, batch_size), by_value)
    save_program(folder, by_ref.initialize, by_ref.next)
    return load_program(folder), by_value


def model_weights(state) -> list:
    """The global model's trainable weights in a learning-process state, as NumPy arrays (a
    ``LearningAlgorithmState`` from ``tff.learning``, or the dict a serialized program returns)."""
    if hasattr(state, "global_model_weights"):
        trainable = state.global_model_weights.trainable
    elif isinstance(state, dict) and "global_model_weights" in state:
        trainable = state["global_model_weights"]["trainable"]
    else:
        raise TypeError(f"state must be a TFF learning-process state, got {type(state).__name__}")
    return [np.asarray(w) for w in trainable]


def _python(value):
    import tensorflow_federated as tff

    return tff.structure.to_odict_or_tuple(value) if isinstance(value, tff.structure.Struct) else value


def _check_groups(groups) -> None:
    if isinstance(groups, str) or not isinstance(groups, (list, tuple)) or not groups:
        raise TypeError(f"groups must be a non-empty list with one list of client ids per worker, got {groups!r}")
    for g in groups:
        if isinstance(g, str) or not isinstance(g, (list, tuple)) or not g or not all(isinstance(c, str) for c in g):
            raise TypeError(f"groups: each group must be a non-empty list of client ids (str), got {g!r}")


def _check_state(state) -> None:
    if not isinstance(state, (dict, tuple, list)) or not state:
        raise TypeError(f"state must be the program's state (what initialize or a round returned), got {state!r:.80}")


def _check_watchdog(watchdog) -> None:
    if watchdog is not None and not isinstance(watchdog, Watchdog):
        raise TypeError(f"watchdog must be a Watchdog or None, got {type(watchdog).__name__}")


class RoundTimeout(TimeoutError):
    """The watchdog gave up on a round: a worker's channel stayed unreachable for ``grace`` s, or the
    round took longer than ``timeout`` s. ``unreachable`` lists the workers it could not reach."""

    def __init__(self, round_number: int, waited: float, unreachable=()):
        round_number, waited = v.integer("round_number", round_number, 0), v.nonneg("waited", waited)
        if isinstance(unreachable, str) or not isinstance(unreachable, (list, tuple)):
            raise TypeError(f"unreachable must be a list of worker indices, got {unreachable!r}")
        self.round_number, self.waited, self.unreachable = round_number, waited, list(unreachable)
        why = (f"worker(s) {self.unreachable} unreachable" if self.unreachable else "no answer")
        super().__init__(f"round {round_number}: {why}; gave up after {waited:.1f} s")


@dataclass(frozen=True)
class Watchdog:
    """When to give up on a round: a worker's gRPC channel in TRANSIENT_FAILURE for ``grace`` s (the
    driver tried to reach it and could not), or ``timeout`` s in all (a slow round on a busy machine
    keeps its channels READY, so only this second limit applies to it)."""

    grace: float = 1.0
    timeout: float = 300.0

    def __post_init__(self):
        v.positive("grace", self.grace)
        v.positive("timeout", self.timeout)


class FixedOrderRunner:
    """Runs a ``Program`` on the workers at ``addresses``: worker ``i`` trains the clients in
    ``groups[i]``; partial aggregates are merged in worker order, so a run is bitwise repeatable.
    Its own event loop runs in a daemon thread; ``close()`` closes the gRPC channels (a call stuck
    on a dead worker then fails instead of retrying for ever) and stops the loop."""

    def __init__(self, program: Program, addresses, groups):
        if isinstance(addresses, str) or not isinstance(addresses, (list, tuple)) or not addresses:
            raise TypeError(f"addresses must be a non-empty list of 'host:port', got {addresses!r}")
        _check_groups(groups)
        if len(groups) != len(addresses):
            raise ValueError(f"groups must hold one list of client ids per worker ({len(addresses)}), got {groups!r}")
        if not isinstance(program, Program):
            raise TypeError(f"program must be a Program (load_program), got {type(program).__name__}")
        self.program, self.groups = program, [list(g) for g in groups]
        self.form = program.form
        self.remotes = [connect(a, asynchronous=True) for a in addresses]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fixed-order-runner", daemon=True)
        self._thread.start()

    async def _initialize(self):
        return _python(await self.remotes[0].context.invoke(self.program.initialize, None))

    async def _round(self, state):
        import tensorflow_federated as tff

        pair = tff.structure.Struct.unnamed
        first = self.remotes[0].context
        partials = await asyncio.gather(*[r.context.invoke(self.form.up_to_merge, pair(state, ids))
                                          for r, ids in zip(self.remotes, self.groups)], return_exceptions=True)
        for partial in partials:
            if isinstance(partial, BaseException):
                raise partial
        merged = partials[0]
        for partial in partials[1:]:  # worker order, whoever finished first
            merged = await first.invoke(self.form.merge, pair(merged, partial))
        out = await first.invoke(self.form.after_merge, pair(pair(state, self.groups[0]), merged))
        out = _python(out)
        return _python(out["state"]), _python(out["metrics"])

    def submit(self, state) -> concurrent.futures.Future:
        """Start one round from ``state``; the future's result is (new state, metrics)."""
        _check_state(state)
        return asyncio.run_coroutine_threadsafe(self._round(state), self._loop)

    def wait(self, future, round_number: int, watchdog: Watchdog | None = None):
        """The future's (state, metrics). Without a ``watchdog`` this waits as TFF does, for ever;
        with one it raises ``RoundTimeout`` when the watchdog says so (and cancels the round)."""
        round_number = v.integer("round_number", round_number, 0)
        _check_watchdog(watchdog)
        if not isinstance(future, concurrent.futures.Future):
            raise TypeError(f"future must be a concurrent.futures.Future (from submit), got {type(future).__name__}")
        if watchdog is None:
            return future.result()
        start, failing = time.monotonic(), {}
        while True:
            try:
                return future.result(0.05)
            except concurrent.futures.TimeoutError:
                pass
            now = time.monotonic()
            for i, remote in enumerate(self.remotes):
                if remote.state == "TRANSIENT_FAILURE":
                    failing.setdefault(i, now)
                else:
                    failing.pop(i, None)
            stuck = sorted(i for i, since in failing.items() if now - since >= watchdog.grace)
            if stuck or now - start >= watchdog.timeout:
                future.cancel()
                raise RoundTimeout(round_number, now - start, stuck)

    def initialize(self, watchdog: Watchdog | None = None):
        """The program's initial state (computed on worker 0)."""
        _check_watchdog(watchdog)
        return self.wait(asyncio.run_coroutine_threadsafe(self._initialize(), self._loop), 0, watchdog)

    def round(self, state, round_number: int = 1, watchdog: Watchdog | None = None):
        """One round: (new state, metrics)."""
        round_number = v.integer("round_number", round_number, 0)
        _check_watchdog(watchdog)
        return self.wait(self.submit(state), round_number, watchdog)

    def close(self) -> None:
        """Close the channels (a call stuck on a dead worker then fails), cancel what is still running,
        stop the event loop."""
        for r in self.remotes:
            r.close()

        async def shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # collected, so none is reported lost

        if self._loop.is_running():
            done = asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
            concurrent.futures.wait([done], timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)


class Timeline:
    """Events of a run, with seconds since the timeline started. ``echo`` also prints each event as a
    JSON line (the driver program's output); ``path`` appends each to a JSON-lines file (a run log
    that outlives the process, e.g. ``events.jsonl`` beside the checkpoints)."""

    def __init__(self, echo: bool = False, path=None):
        self.echo = v.flag("echo", echo)
        self.path = None if path is None else v.path("path", path)
        self.start = time.monotonic()
        self.events: list[dict] = []

    def log(self, event: str, **info) -> dict:
        entry = {"t": round(time.monotonic() - self.start, 3), "event": v.text("event", event), **info}
        self.events.append(entry)
        line = json.dumps(entry)
        if self.echo:
            print(line, flush=True)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line + "\n")
        return entry

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.events)


def train(runner: FixedOrderRunner, rounds: int, checkpoints=None, timeline: Timeline | None = None,
          watchdog: Watchdog | None = None, during_round=None):
    """Run rounds until ``rounds``; with ``checkpoints`` (``utils.checkpoints.Checkpoints``) resume from
    the newest complete version and save after every round. ``during_round(r)`` is called right
    after round ``r`` was sent to the workers (the failure drill kills a worker there). Without a
    ``watchdog`` a round waits for ever, as in TFF. Returns the final state."""
    from utils.checkpoints import Checkpoints

    rounds = v.integer("rounds", rounds, 1)
    timeline = Timeline() if timeline is None else timeline
    if not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline, got {type(timeline).__name__}")
    if during_round is not None:
        v.function("during_round", during_round)
    _check_watchdog(watchdog)
    if checkpoints is not None and not isinstance(checkpoints, Checkpoints):
        raise TypeError(f"checkpoints must be a Checkpoints or None, got {type(checkpoints).__name__}")
    if not isinstance(runner, FixedOrderRunner):
        raise TypeError(f"runner must be a FixedOrderRunner, got {type(runner).__name__}")
    state, done = runner.initialize(watchdog), 0
    if checkpoints is not None:
        saved, version = checkpoints.load_latest(state)
        if saved is None:
            checkpoints.save(state, 0)
            timeline.log("saved", round=0)
        else:
            state, done = saved, version
            timeline.log("resumed", version=version)
    for r in range(done + 1, rounds + 1):
        future = runner.submit(state)
        timeline.log("round started", round=r)
        if during_round is not None:
            during_round(r)
        state, _ = runner.wait(future, r, watchdog)
        timeline.log("round finished", round=r)
        if checkpoints is not None:
            checkpoints.save(state, r)
            timeline.log("saved", round=r)
    return state


def supervised_train(pool, program: Program, groups, rounds: int, checkpoints, watchdog: Watchdog,
                     timeline: Timeline | None = None, max_restarts: int = 3, during_round=None):
    """``train`` under a ``watchdog``: when it gives up on a round, close that round's channels, restart
    every dead worker of ``pool`` on its port, and resume from the newest checkpoint with fresh
    connections; at most ``max_restarts`` times. Returns the final state."""
    from utils.checkpoints import Checkpoints
    from utils.tff_workers import WorkerPool

    rounds = v.integer("rounds", rounds, 1)
    max_restarts = v.integer("max_restarts", max_restarts, 0)
    timeline = Timeline() if timeline is None else timeline
    if not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline, got {type(timeline).__name__}")
    if during_round is not None:
        v.function("during_round", during_round)
    if not isinstance(watchdog, Watchdog):
        raise TypeError(f"watchdog must be a Watchdog, got {type(watchdog).__name__}")
    if not isinstance(checkpoints, Checkpoints):
        raise TypeError(f"checkpoints must be a Checkpoints (without them a restart would start from scratch), "
                        f"got {type(checkpoints).__name__}")
    _check_groups(groups)
    if not isinstance(program, Program):
        raise TypeError(f"program must be a Program (load_program), got {type(program).__name__}")
    if not isinstance(pool, WorkerPool):
        raise TypeError(f"pool must be a WorkerPool, got {type(pool).__name__}")
    if len(groups) != len(pool):
        raise ValueError(f"groups must hold one list of client ids per worker ({len(pool)}), got {len(groups)}")
    restarts = 0
    while True:
        runner = FixedOrderRunner(program, pool.addresses, groups)
        try:
            return train(runner, rounds, checkpoints, timeline, watchdog, during_round)
        except RoundTimeout as stuck:
            timeline.log("watchdog fired", round=stuck.round_number, waited=round(stuck.waited, 3),
                         unreachable=stuck.unreachable)
            if restarts >= max_restarts:
                raise RuntimeError(f"gave up after {restarts} restarts: {stuck}") from stuck
            restarts += 1
            for i in range(len(pool)):
                if not pool.alive(i):
                    pool.restart(i)
                    timeline.log("worker restarted", worker=i)
        finally:
            runner.close()


def main(argv=None) -> int:
    """The driver as a program (see the module docstring); exit status 0 when all rounds are done."""
    if argv is not None and (isinstance(argv, str) or not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be None or a list of str, got {argv!r}")
    parser = argparse.ArgumentParser(prog="python -m utils.fed_program", description=__doc__.splitlines()[0])
    parser.add_argument("--program", required=True, help="folder with initialize.pb and next.pb")
    parser.add_argument("--workers", required=True, help="comma-separated host:port of the workers")
    parser.add_argument("--groups", required=True, help="client ids per worker: 'a,b;c;d' (';' between workers)")
    parser.add_argument("--rounds", required=True, type=int)
    parser.add_argument("--checkpoints", required=True, help="folder for the program state")
    parser.add_argument("--out", help="write the final model weights here (.npz)")
    parser.add_argument("--grace", type=float, default=None,
                        help="give up on a round when a worker stays unreachable this many seconds (default: wait for ever)")
    args = parser.parse_args(argv)
    from utils.checkpoints import Checkpoints

    timeline = Timeline(echo=True, path=Path(args.checkpoints) / "events.jsonl")
    timeline.log("started", pid=os.getpid())
    program = load_program(args.program)
    runner = FixedOrderRunner(program, args.workers.split(","), [g.split(",") for g in args.groups.split(";")])
    try:
        watchdog = None if args.grace is None else Watchdog(grace=args.grace)
        state = train(runner, args.rounds, Checkpoints(args.checkpoints), timeline, watchdog)
    except RoundTimeout as stuck:
        timeline.log("timed out", round=stuck.round_number)
        return 3
    finally:
        runner.close()
    weights = model_weights(state)
    if args.out:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, *weights)
        write_atomically(Path(args.out), buffer.getvalue())
    timeline.log("done", rounds=args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
