"""Replays what Binder installs (environment.yml's pip section, then postBuild) into a clean venv.

Slow (several minutes, downloads ~1 GB): run with `make test-binder`; `make test` skips it.
Binder's conda provides Python 3.11 and a current pip; here a venv of this Python with pip upgraded
stands in for it. Unlike `make`, this goes through pip's resolver, so it also proves the pins agree.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import lockfile

ROOT = Path(__file__).resolve().parent.parent
SMOKE = """
from utils.setup import setup
setup(quiet=True)
import numpy as np, tensorflow_federated as tff
mean = tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))(lambda v: tff.federated_mean(v))
assert abs(mean([1.0, 2.0, 6.0]) - 3.0) < 1e-6
import ipywidgets, plotly, jupyterlab, nbval
print('binder environment works')
"""


@pytest.mark.slow
def test_binder_install_replayed_in_a_clean_venv(tmp_path):
    venv = tmp_path / "binder"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    bin_dir = venv / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}

    def run(*cmd, **kwargs):
        return subprocess.run(cmd, env=env, cwd=ROOT, check=True, text=True, capture_output=True, **kwargs)

    run("pip", "install", "--quiet", "--upgrade", "pip")
    pins = lockfile.environment_pins((ROOT / "environment.yml").read_text())
    requirements = tmp_path / "environment-pip.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
    run("pip", "install", "--quiet", "-r", str(requirements))  # with dependency resolution, as conda does
    run("bash", "postBuild")

    check = subprocess.run([bin_dir / "pip", "check"], env=env, text=True, capture_output=True)
    assert check.stdout.strip().splitlines() == [
        "tensorflow-federated 0.87.0 has requirement jaxlib==0.4.14, but you have jaxlib 0.4.13."]
    smoke = run("python", "-c", SMOKE, timeout=300)
    assert "binder environment works" in smoke.stdout
