"""The pinned environment: one lock, installed as locked, and Binder built from the same pins."""
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tools import lockfile

ROOT = Path(__file__).resolve().parent.parent


def test_pip_check_reports_only_the_jaxlib_substitution():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = [line for line in result.stdout.splitlines() if line.strip()]
    assert problems == ["tensorflow-federated 0.87.0 has requirement jaxlib==0.4.14, but you have jaxlib 0.4.13."]


def test_every_installed_package_is_the_locked_version():
    lock = lockfile.read_lock()
    installed = {lockfile.normalize(d.metadata["Name"]): d.version for d in distributions()}
    installed.pop("flcourse-utils", None)  # this repository, installed editable
    for tool in lockfile.VENV_TOOLS:  # come with the venv, not locked
        installed.pop(tool, None)
    assert {n: v for n, v in installed.items() if lock.get(n) != v} == {}
    assert sorted(set(lock) - set(installed)) == []


def test_lock_satisfies_every_top_level_requirement():
    lock = lockfile.read_lock()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            name = lockfile.normalize(req.name)
            assert name in lock, f"{req.name} (requirements.in) is missing from requirements.lock"
            assert req.specifier.contains(lock[name], prereleases=True), f"lock has {name}=={lock[name]}, wanted {req}"


def test_key_versions_are_the_ones_tff_0_87_works_with():
    lock = lockfile.read_lock()
    assert lock["tensorflow-federated"] == "0.87.0"
    assert lock["tensorflow"] == "2.14.1"
    assert lock["numpy"].startswith("1.25.")
    assert lock["scipy"] == "1.9.3"
    assert (lock["jax"], lock["jaxlib"]) == ("0.4.14", "0.4.13")
    assert lock["ipython"] == "8.22.2"  # >= 8.23 cannot start a kernel beside typing-extensions 4.5


def test_environment_yml_is_generated_from_the_lock():
    text = (ROOT / "environment.yml").read_text()
    assert text == lockfile.render_environment(lockfile.read_lock()), "run `make lock` (or python -m tools.lockfile env)"
    pins = lockfile.environment_pins(text)
    lock = lockfile.read_lock()
    assert "tensorflow-federated" not in pins  # installed by postBuild with --no-deps
    assert pins == {n: v for n, v in lock.items() if n != "tensorflow-federated"}
    assert "  - python=3.11\n" in text and "conda-forge" in text


def test_postbuild_installs_tff_from_the_lock_without_deps():
    post = (ROOT / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and "set -e" in post
    assert "pip install --no-deps \"$(grep -E '^tensorflow-federated==' requirements.lock)\"" in post
    assert "pip install --no-deps -e ." in post


@pytest.mark.parametrize("line", ["numpy", "numpy>=1.25", "numpy==1.25.2==3", "-e ."])
def test_a_lock_line_that_is_not_an_exact_pin_is_named(line):
    with pytest.raises(ValueError, match="is not an exact"):
        lockfile.parse_pins(line)


def test_a_package_pinned_twice_is_named():
    with pytest.raises(ValueError, match="'numpy' is pinned twice"):
        lockfile.parse_pins("numpy==1.25.2\nNumPy==1.25.1")
