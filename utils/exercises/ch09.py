"""Chapter 09's exercises: what TFF does when a worker dies (predict), why merge order changes the last bits
(explain), interrupt a run and resume it (change an experiment), bytes saved by passing ids (compute)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from utils.exercises import Choice, Prediction, Question, number

ROUNDS = 3          # the chapter's number of rounds
BATCH_SIZE = 32
CLIENT_LR = 0.1

# ---- Question 1: a worker dies mid-round --------------------------------------------------------------

_OUTCOMES = ("error", "partial", "wait")


def _parse_q1(prediction):
    assert isinstance(prediction, str) and prediction.strip().lower() in _OUTCOMES, \
        f'answer "error", "partial" or "wait", got {prediction!r}.'
    return prediction.strip().lower()


def _truth_q1(outcome) -> str:
    if outcome["raised"]:
        return "error"
    if outcome["returned while dead"]:
        return "partial"
    return "wait"


def _judge_q1(prediction, outcome):
    truth = _truth_q1(outcome)
    if truth == "wait":
        after = outcome["returned after restart (s)"]
        back = (f"it returned {after:.1f} s after the worker came back on the same port" if np.isfinite(after)
                else "it had not returned a minute after the worker came back")
        why = (f"With the worker dead for {outcome['seconds dead']:g} s, the call neither raised nor returned: TFF "
               f"retries an unreachable worker without limit; {back}.")
    elif truth == "error":
        why = "This time the call raised an error while the worker was dead."
    else:
        why = "This time the call returned while the worker was dead."
    return prediction == truth, why


q1 = Prediction(
    number=1, parse=_parse_q1, judge=_judge_q1,
    hint_text="gRPC calls a connection that is refused UNAVAILABLE. Is that an error a runtime should give up on, "
              "or one it should retry? Commit, then run.",
    example_result={"returned while dead": False, "raised": False, "seconds dead": 2.0,
                    "returned after restart (s)": 1.7},
    example_guesses=("wait", "error"),
)

# ---- Question 2: why the last bits differ ------------------------------------------------------------------

q2 = Choice(
    number=2,
    options={
        "a": ("The workers are separate processes, and each process rounds floats in its own way.",
              "All four run the same binary on the same CPU; the fixed-order runner uses the same processes and "
              "matches the single-process run bit for bit."),
        "b": ("Float addition is not associative, and TFF's mergeable context merges the workers' partial sums in "
              "the order the workers finish, which changes from run to run.",
              "Merging the same four partial results in 24 orders gives several different sums; order 0123 "
              "reproduces the single-process round exactly."),
        "c": ("Sending float32 values over gRPC loses precision.",
              "TFF serializes tensors as binary float32, exactly; the fixed-order runner goes through the same gRPC "
              "and is bit-for-bit equal."),
        "d": ("Reading the rows from files (by reference) rounds them differently from the in-memory datasets.",
              "The files hold the same float32 bits; the fixed-order runner reads the same files and matches the "
              "in-memory single-process run exactly."),
    },
    correct=("b",),
    hint_text="What does FixedOrderRunner do differently from TFF's context, and nothing else?",
)

# ---- Question 3: interrupt a run, then resume it -----------------------------------------------------------


def _events(folder: Path) -> list:
    log = folder / "events.jsonl"
    assert log.is_file(), (f"{folder} has no events.jsonl: it is not a checkpoint folder a driver wrote "
                           "(pass the same folder as checkpoints= to Driver).")
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _check_q3(my_checkpoints, resumed_weights, uninterrupted, ROUNDS):  # noqa: N803 (the notebook's name)
    assert isinstance(my_checkpoints, (str, os.PathLike)), \
        f"my_checkpoints should be the folder you gave the driver (a path), got {type(my_checkpoints).__name__}."
    folder = Path(my_checkpoints)
    assert folder.is_dir(), f"{folder} is not a folder: run a Driver with checkpoints=my_checkpoints first."
    events = _events(folder)
    starts = [e for e in events if e.get("event") == "started"]
    resumes = [e for e in events if e.get("event") == "resumed"]
    if len(starts) < 2 or not resumes:
        raise AssertionError("only one driver ran on this folder and nothing was resumed: interrupt the first driver, "
                             "then start a second Driver on the same folder.")
    versions = [e["version"] for e in resumes]
    if max(versions) < 1:
        raise AssertionError("the run was resumed from version 0, before any round was saved: that is starting over. "
                             "Let the first driver save at least one round before you interrupt it.")
    if min(v for v in versions if v >= 1) >= ROUNDS:
        raise AssertionError(f"the first driver had already saved all {ROUNDS} rounds: interrupt it earlier.")
    done = [e for e in events if e.get("event") == "done"]
    assert done and done[-1].get("rounds") == ROUNDS, \
        f"no driver finished all {ROUNDS} rounds on this folder: let the resumed driver run to the end (finish())."
    assert isinstance(resumed_weights, (list, tuple)) and len(resumed_weights) == len(uninterrupted), \
        "resumed_weights should be the list [kernel, bias] the resumed driver wrote (its out= file)."
    got = [np.asarray(w) for w in resumed_weights]
    assert all(g.shape == u.shape for g, u in zip(got, uninterrupted)), \
        f"resumed_weights have shapes {[g.shape for g in got]}, the model's are {[u.shape for u in uninterrupted]}."
    gap = max(float(np.abs(g - u).max()) for g, u in zip(got, uninterrupted))
    assert gap == 0.0, (f"resumed_weights differ from the uninterrupted run's (largest difference {gap:.1e}): use the "
                        f"weights the resumed driver wrote after round {ROUNDS} (its out= file), not a checkpoint "
                        "of an earlier round.")
    print(f"Resumed from version {min(v for v in versions if v >= 1)}; identical to the uninterrupted run.")


@lru_cache(maxsize=1)
def _world():
    """The chapter's sites, workers, program and uninterrupted weights (for the tests of question 3)."""
    import tempfile

    from utils.data import load_heart_disease
    from utils.drivers import reference_run

    split = load_heart_disease()
    work = Path(tempfile.mkdtemp(prefix="flcourse-ch09-ex-"))
    world = reference_run(work, {h: split.train[h] for h in split.hospitals}, len(split.feature_names), ROUNDS,
                          BATCH_SIZE, CLIENT_LR)
    return {"work": work, **{k: world[k] for k in ("pool", "groups", "uninterrupted")}}


def _context_q3():
    from utils.drivers import Driver

    world = _world()
    return {"np": np, "Driver": Driver, "ROUNDS": ROUNDS, **world}


def _fake_run(name: str, events: list) -> Path:
    folder = _world()["work"] / "fake" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def _wrong_q3():
    ref = _world()["uninterrupted"]
    saved = [{"event": "saved", "round": r} for r in range(ROUNDS + 1)]
    once = _fake_run("once", [{"event": "started"}, *saved, {"event": "done", "rounds": ROUNDS}])
    from_zero = _fake_run("from-zero", [{"event": "started"}, {"event": "saved", "round": 0}, {"event": "started"},
                                        {"event": "resumed", "version": 0}, *saved[1:], {"event": "done", "rounds": ROUNDS}])
    good = _fake_run("good", [{"event": "started"}, *saved[:3], {"event": "started"}, {"event": "resumed", "version": 2},
                              *saved[3:], {"event": "done", "rounds": ROUNDS}])
    unfinished = _fake_run("unfinished", [{"event": "started"}, *saved[:3], {"event": "started"},
                                          {"event": "resumed", "version": 2}, *saved[3:4]])
    nudged = [ref[0] + 1e-3, ref[1]]
    return [({"my_checkpoints": once, "resumed_weights": ref}, "nothing was resumed"),
            ({"my_checkpoints": from_zero, "resumed_weights": ref}, "version 0"),
            ({"my_checkpoints": unfinished, "resumed_weights": ref}, "finish()"),
            ({"my_checkpoints": good, "resumed_weights": nudged}, "differ from the uninterrupted"),
            ({"my_checkpoints": good / "nowhere", "resumed_weights": ref}, "is not a folder"),
            ({"my_checkpoints": 3, "resumed_weights": ref}, "should be the folder")]


q3 = Question(
    number=3,
    variables=("my_checkpoints", "resumed_weights", "uninterrupted", "ROUNDS"),
    check_fn=_check_q3,
    hint_text="Two Driver objects on the same checkpoints folder: the first you start, wait_for('saved', round=1) "
              "and kill(); the second you start with out=... and finish(); then read the .npz it wrote.",
    solution_code=(
        "my_checkpoints = work / 'my_run'\n"
        "first = Driver(work / 'program', pool.addresses, groups, ROUNDS, my_checkpoints).start()\n"
        "try:\n"
        "    first.wait_for('saved', round=1)\n"
        "finally:\n"
        "    first.kill()\n"
        "second = Driver(work / 'program', pool.addresses, groups, ROUNDS, my_checkpoints, out=work / 'my_run.npz').start()\n"
        "try:\n"
        "    second.finish()\n"
        "finally:\n"
        "    second.kill()\n"
        "with np.load(work / 'my_run.npz') as saved:\n"
        "    resumed_weights = [saved[k] for k in saved.files]"),
    wrong_answers=_wrong_q3,
    context=_context_q3,
    kind="change",
)

# ---- Question 4: bytes saved by passing ids ---------------------------------------------------------------


@lru_cache(maxsize=1)
def _bytes_table():
    import pandas as pd

    from utils.by_reference import payload_bytes
    from utils.data import load_heart_disease
    from utils.heart import HOSPITAL_NAMES
    from utils.tff_learning import client_datasets

    split = load_heart_disease()
    hospitals = list(split.hospitals)
    datasets = client_datasets({h: split.train[h] for h in hospitals}, BATCH_SIZE)
    return pd.DataFrame({"training rows": [len(split.train[h][1]) for h in hospitals],
                         "bytes by value (dataset)": [payload_bytes(d) for d in datasets],
                         "bytes by reference (id)": [payload_bytes(h) for h in hospitals]},
                        index=[HOSPITAL_NAMES[h] for h in hospitals])


def _per_round() -> int:
    t = _bytes_table()
    return int((t["bytes by value (dataset)"] - t["bytes by reference (id)"]).sum())


def _check_q4(bytes_saved, ROUNDS):  # noqa: N803 (the notebook's name)
    value = number(bytes_saved, "bytes_saved")
    t, per_round = _bytes_table(), _per_round()
    if value == per_round:
        raise AssertionError(f"that is one round; the driver sends the client data every round, {ROUNDS} times.")
    if value == ROUNDS * int(t["bytes by value (dataset)"].sum()):
        raise AssertionError("that is everything sent by value; the ids are sent instead, so subtract their bytes.")
    assert value == ROUNDS * per_round, (
        f"{value:,.0f} is not the saving: per round and hospital it is (bytes by value − bytes by reference), "
        f"summed over the hospitals, times {ROUNDS} rounds.")


q4 = Question(
    number=4, variables=("bytes_saved", "ROUNDS"), check_fn=_check_q4,
    hint_text="Per hospital and round: bytes by value minus bytes by reference. Sum over the hospitals, multiply by ROUNDS.",
    solution_code=('bytes_saved = ROUNDS * int((bytes_table["bytes by value (dataset)"] '
                   '- bytes_table["bytes by reference (id)"]).sum())'),
    wrong_answers=lambda: [({"bytes_saved": _per_round()}, "one round"),
                           ({"bytes_saved": ROUNDS * int(_bytes_table()["bytes by value (dataset)"].sum())}, "subtract"),
                           ({"bytes_saved": ROUNDS * _per_round() + 20}, "is not the saving"),
                           ({"bytes_saved": "many"}, "one number")],
    context=lambda: {"bytes_table": _bytes_table(), "ROUNDS": ROUNDS, "np": np},
)
