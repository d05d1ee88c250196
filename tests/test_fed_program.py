"""utils.fed_program: a fixed-order merge across four workers equals one process bit for bit and an
independent NumPy FedAvg to float32 precision; a run crashed mid-round resumes from its checkpoint with the
same weights; a worker killed mid-round is recovered by the supervisor with the same weights."""
import numpy as np
import pytest
from ch09_world import BATCH_SIZE, CLIENT_LR, ROUNDS, make_world

from utils import fed_program
from utils.checkpoints import Checkpoints


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("ch09"))
    yield w
    w["pool"].stop()


def numpy_fedavg(clients, rounds, batch, lr):
    """FedAvg of a logistic regression written out by hand (float64): batches in row order, server lr 1,
    clients weighted by their number of rows."""
    d = next(iter(clients.values()))[0].shape[1]
    w, b = np.zeros(d), 0.0
    for _ in range(rounds):
        new, counts = [], []
        for X, y in clients.values():
            wk, bk = w.copy(), b
            for s in range(0, len(y), batch):
                xb, yb = X[s:s + batch].astype(np.float32).astype(np.float64), y[s:s + batch]
                g = (1 / (1 + np.exp(-(xb @ wk + bk))) - yb) / len(yb)
                wk, bk = wk - lr * xb.T @ g, bk - lr * g.sum()
            new.append((wk, bk))
            counts.append(len(y))
        p = np.array(counts) / sum(counts)
        w, b = sum(pk * wk for pk, (wk, _) in zip(p, new)), sum(pk * bk for pk, (_, bk) in zip(p, new))
    return [w.reshape(-1, 1), np.array([b])]


def single_process(world, rounds):
    """The by-value process, every client's dataset sent to one worker (what TFF's local context does)."""
    import tensorflow_federated as tff

    from utils.tff_learning import client_datasets
    from utils.tff_workers import connect

    datasets = client_datasets(world["clients"], BATCH_SIZE)
    remote = connect(world["pool"].addresses[0])
    try:
        with tff.framework.get_context_stack().install(remote.context):
            state = world["by_value"].initialize()
            for _ in range(rounds):
                state = world["by_value"].next(state, datasets).state
    finally:
        remote.close()
    return fed_program.model_weights(state)


def equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_fixed_order_equals_one_process_bit_for_bit(world):
    assert equal(world["uninterrupted"], single_process(world, ROUNDS))


def test_fixed_order_agrees_with_an_independent_numpy_fedavg(world):
    reference = numpy_fedavg(world["clients"], ROUNDS, BATCH_SIZE, CLIENT_LR)
    assert max(float(np.abs(a - b).max()) for a, b in zip(world["uninterrupted"], reference)) < 1e-5


def test_a_fixed_order_run_repeats_exactly(world):
    runner = fed_program.FixedOrderRunner(world["program"], world["pool"].addresses, world["groups"])
    try:
        again = fed_program.model_weights(fed_program.train(runner, ROUNDS))
    finally:
        runner.close()
    assert equal(again, world["uninterrupted"])


def test_a_run_crashed_mid_round_resumes_with_the_same_weights(world, tmp_path):
    class Crash(Exception):
        pass

    def crash(r):
        if r == 2:
            raise Crash

    log = fed_program.Timeline()
    runner = fed_program.FixedOrderRunner(world["program"], world["pool"].addresses, world["groups"])
    try:
        with pytest.raises(Crash):
            fed_program.train(runner, ROUNDS, Checkpoints(tmp_path), log, during_round=crash)
    finally:
        runner.close()
    assert Checkpoints(tmp_path).versions() == [0, 1]
    program = fed_program.load_program(world["root"] / "program")  # from disk only
    runner = fed_program.FixedOrderRunner(program, world["pool"].addresses, world["groups"])
    log2 = fed_program.Timeline()
    try:
        resumed = fed_program.model_weights(fed_program.train(runner, ROUNDS, Checkpoints(tmp_path), log2))
    finally:
        runner.close()
    assert [e.get("version") for e in log2.events if e["event"] == "resumed"] == [1]
    assert [e["round"] for e in log2.events if e["event"] == "round started"] == list(range(2, ROUNDS + 1))
    assert equal(resumed, world["uninterrupted"])


def test_a_worker_killed_mid_round_is_recovered_with_the_same_weights(world, tmp_path):
    pool, timeline, killed = world["pool"], fed_program.Timeline(), []

    def kill(r):
        if r == 2 and not killed:
            pool.kill(1)
            killed.append(r)

    state = fed_program.supervised_train(pool, world["program"], world["groups"], ROUNDS, Checkpoints(tmp_path),
                                         fed_program.Watchdog(grace=1.0, timeout=120), timeline, during_round=kill)
    events = [e["event"] for e in timeline.events]
    assert killed == [2] and events.count("watchdog fired") == 1 and events.count("worker restarted") == 1
    fired = next(e for e in timeline.events if e["event"] == "watchdog fired")
    assert fired["round"] in (2, 3) and fired["unreachable"] == [1]  # 3 if worker 1 finished round 2 first
    assert all(pool.alive(i) for i in range(len(pool)))
    assert equal(fed_program.model_weights(state), world["uninterrupted"])


def test_the_watchdog_gives_up_on_a_round_that_takes_too_long(world):
    runner = fed_program.FixedOrderRunner(world["program"], world["pool"].addresses, world["groups"])
    try:
        state = runner.initialize()
        with pytest.raises(fed_program.RoundTimeout, match="round 1: no answer") as caught:
            runner.round(state, 1, fed_program.Watchdog(grace=5.0, timeout=1e-3))
        assert caught.value.unreachable == []
    finally:
        runner.close()


def test_program_files_round_trip(world, tmp_path):
    program = fed_program.load_program(world["root"] / "program")
    fed_program.save_program(tmp_path, program.initialize, program.next)
    again = fed_program.load_program(tmp_path)
    assert str(again.next.type_signature) == str(program.next.type_signature)
    assert "{str}@CLIENTS" in str(program.next.type_signature)  # ids, not datasets
    assert (tmp_path / "next.pb").read_bytes() == (world["root"] / "program" / "next.pb").read_bytes()
