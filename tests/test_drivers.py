"""utils.drivers: the driver as its own process, killed with SIGKILL after it saved round 1 and resumed in a
new process on the same checkpoints, ends with the uninterrupted run's weights bit for bit."""
import numpy as np
import pytest
from ch09_world import ROUNDS, make_world

from utils.drivers import Driver


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("ch09-drivers"))
    yield w
    w["pool"].stop()


def test_killed_driver_resumes_in_a_new_process_with_the_same_weights(world, tmp_path):
    program, addresses, groups = world["root"] / "program", world["pool"].addresses, world["groups"]
    first = Driver(program, addresses, groups, ROUNDS, tmp_path / "ckpt").start()
    try:
        first.wait_for("saved", round=1, timeout=240)
    finally:
        first.kill()
    assert first.process.returncode == -9
    second = Driver(program, addresses, groups, ROUNDS, tmp_path / "ckpt", out=tmp_path / "w.npz").start()
    try:
        resumed_from = second.wait_for("resumed", timeout=240)["version"]
        assert second.finish(timeout=240) == 0
    finally:
        second.kill()
    assert second.process.pid != first.process.pid and 1 <= resumed_from < ROUNDS
    assert [e["event"] for e in second.events].count("round started") == ROUNDS - resumed_from
    with np.load(tmp_path / "w.npz") as saved:
        weights = [saved[k] for k in saved.files]
    assert all(np.array_equal(a, b) for a, b in zip(weights, world["uninterrupted"]))


def test_waiting_on_a_driver_that_was_never_started_is_an_error(tmp_path):
    driver = Driver(tmp_path, ["127.0.0.1:1"], [["a"]], 1, tmp_path / "ckpt")
    with pytest.raises(RuntimeError, match="start"):
        driver.wait_for("done", timeout=1)
    assert "--rounds" in driver.command() and driver.command()[-1] == str(tmp_path / "ckpt")
