"""setup(): seeds, quiet TensorFlow, and a TFF worker that never outlives its parent."""
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from utils.runtime import check_workers, tagged_workers
from utils.setup import setup

TFF_SCRIPT = """
import sys, time
{preamble}
import tensorflow_federated as tff
assert tff.federated_computation(lambda: 'hi')() == b'hi'
print('computed', flush=True)
if sys.argv[1:] == ['wait']:
    time.sleep(120)
"""
WITH_SETUP = "from utils.setup import setup\nsetup(quiet=True)"


def run_tff_script(preamble, tag, *args, **popen):
    env = {**os.environ, "FLCOURSE_RUN_TAG": tag, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", TFF_SCRIPT.format(preamble=preamble), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "42", True, None])
def test_bad_seed_is_named(seed):
    with pytest.raises((ValueError, TypeError), match=repr(seed).replace("(", r"\(").replace(".", r"\.")):
        setup(seed=seed, tff=False, quiet=True)


def test_setup_seeds_every_generator_the_same_way():
    import tensorflow as tf

    draws = []
    for _ in range(2):
        setup(seed=7, tff=False, quiet=True)
        draws.append((random.random(), np.random.rand(), float(tf.random.uniform(()))))
    assert draws[0] == draws[1]
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] in {"2", "3"}


def test_environment_summary_names_versions():
    env = setup(seed=3, tff=False, quiet=True)
    assert "Seed 3" in str(env) and "TensorFlow 2.14.1" in str(env)


def test_script_with_setup_exits_and_leaves_no_worker():
    tag = f"test-{uuid.uuid4()}"
    process = run_tff_script(WITH_SETUP, tag)
    # Reading to EOF is what hangs a CI pipe when a worker keeps our stdout open.
    out, _ = process.communicate(timeout=120)
    assert "computed" in out
    assert tagged_workers(tag) == []
    assert check_workers(tag) == 0


def test_worker_dies_when_its_parent_is_killed():
    tag = f"test-{uuid.uuid4()}"
    process = run_tff_script(WITH_SETUP, tag, "wait")
    for line in process.stdout:
        if "computed" in line:
            break
    assert len(tagged_workers(tag)) == 1
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    deadline = time.time() + 10
    while tagged_workers(tag) and time.time() < deadline:
        time.sleep(0.2)
    assert tagged_workers(tag) == []


def test_without_setup_the_worker_survives_and_check_workers_catches_it():
    """Why setup() exists: plain TFF leaves an orphan that keeps the caller's pipe open."""
    tag = f"test-{uuid.uuid4()}"
    env = {**os.environ, "FLCOURSE_RUN_TAG": tag}
    subprocess.run([sys.executable, "-c", TFF_SCRIPT.format(preamble="")], env=env, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    orphans = tagged_workers(tag)
    try:
        assert len(orphans) == 1
        assert check_workers(tag) == 1  # reports and stops it
        assert tagged_workers(tag) == []
    finally:
        for p in orphans:
            if p.is_running():
                p.kill()
