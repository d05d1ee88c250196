"""The one set-up call at the top of every notebook (``from utils.setup import setup; setup()``),
and the environment check of chapter 00 (installed packages against ``requirements.lock``).
Introduced in chapter 00.
"""
from __future__ import annotations

import logging
import os
import random
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from utils import validate as v

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!_-]*)$")

DEFAULT_SEED = 42
# Okabe & Ito's colour-blind-safe palette: blue, vermillion, green, orange, pink, sky blue, yellow, black.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class Environment:
    """What ``setup()`` did, for the learner to read."""

    seed: int
    python: str
    tensorflow: str | None
    tff: str | None
    plotly_renderer: str

    def __str__(self) -> str:
        tff = f"TFF {self.tff}" if self.tff else "TFF not loaded"
        tf = f"TensorFlow {self.tensorflow}" if self.tensorflow else "TensorFlow not loaded"
        return (f"Seed {self.seed} | Python {self.python} | {tf} | {tff} | "
                f"plotly renderer '{self.plotly_renderer}'")


def _in_kernel() -> bool:
    return "ipykernel" in sys.modules and hasattr(sys.modules["ipykernel"], "kernelapp")


def setup(seed: int = DEFAULT_SEED, tff: bool = True, quiet: bool = False, tensorflow: bool = True) -> Environment:
    """Make a notebook reproducible and quiet, and keep TFF's worker process on a leash.

    * seeds Python's ``random``, NumPy and TensorFlow with ``seed``;
    * silences TensorFlow's start-up noise (log level set before TF is imported);
    * selects the plotly renderer that draws in JupyterLab and passes nbval offline, and colours
      traces with the colour-blind-safe ``OKABE_ITO`` palette unless a figure sets its own colours;
    * with ``tff=True`` imports TensorFlow Federated and makes sure the C++ worker it
      starts is stopped when the kernel or script ends (see ``utils.runtime``);
    * with ``tensorflow=False`` (only with ``tff=False``) does not import TensorFlow at all, for
      chapters that never use it (importing it takes 5-15 s on 2 cores).
    """
    seed = v.seed("seed", seed)
    for name, flag in (("tff", tff), ("quiet", quiet), ("tensorflow", tensorflow)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if tff and not tensorflow:
        raise ValueError("tensorflow=False needs tff=False: TFF runs on TensorFlow")
    # Must happen before TensorFlow's first import, or its C++ logging already started.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # gRPC (TFF talks to its worker through it) logs an INFO line to stderr whenever a process forks
    # while its threads run, e.g. when TFF's test context starts a second worker (chapter 06).
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # Every process we fork (TFF's worker, chapter 09's workers) execs a new program at once and never
    # uses gRPC in the child, so gRPC's fork handlers are not needed; run while gRPC threads were busy,
    # they sometimes aborted the child before its exec ("Check failed: next_worker->state == KICKED").
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

    import numpy as np
    import plotly.io as pio

    random.seed(seed)
    np.random.seed(seed)
    tf = None
    if tensorflow:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TF in one go
        tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)

    import plotly.graph_objects as go

    pio.templates["course"] = go.layout.Template(layout={"colorway": list(OKABE_ITO)})
    pio.templates.default = "plotly+course"
    if _in_kernel():
        # Rendered by JupyterLab's built-in plotly extension: no CDN, works offline and in nbval.
        pio.renderers.default = "plotly_mimetype"

    tff_version = None
    if tff:
        import tensorflow_federated as tff_module

        from utils.runtime import manage_tff_workers

        manage_tff_workers()
        tff_version = tff_module.__version__

    env = Environment(seed=seed, python=sys.version.split()[0], tensorflow=tf.__version__ if tf else None,
                      tff=tff_version, plotly_renderer=pio.renderers.default)
    if not quiet:
        print(env)
    return env


def normalize(name: str) -> str:
    """A package's PEP 503 name: lower case, runs of '-', '_', '.' become '-'."""
    return re.sub(r"[-_.]+", "-", v.text("name", name)).lower()


def parse_pins(text: str, source: str = "lock") -> dict:
    """``name==version`` lines → {normalized name: version}; comments and blank lines skipped."""
    text, source = v.text("text", text, empty=True), v.text("source", source)
    pins = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"{source}, line {number}: {raw!r} is not an exact 'name==version' pin")
        name = normalize(match.group(1))
        if name in pins:
            raise ValueError(f"{source}, line {number}: {name!r} is pinned twice")
        pins[name] = match.group(2)
    return pins


def read_lock(path=LOCK) -> dict:
    """{package: version} of every pin in requirements.lock."""
    path = v.path("path", path)
    return parse_pins(path.read_text(), source=str(path))


def environment_table(packages):
    """Installed vs locked version of each package (a DataFrame with a ``matches`` column)."""
    from importlib.metadata import PackageNotFoundError, version

    import pandas as pd

    if isinstance(packages, str) or not isinstance(packages, (list, tuple)) or not packages:
        raise TypeError(f"packages must be a non-empty list of package names, got {packages!r}")
    lock = read_lock()
    unknown = [p for p in packages if normalize(p) not in lock]
    if unknown:
        raise ValueError(f"package(s) {unknown} are not in requirements.lock")

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    table = pd.DataFrame({"installed": [installed(p) for p in packages],
                          "locked": [lock[normalize(p)] for p in packages]}, index=list(packages))
    table["matches"] = table["installed"] == table["locked"]
    return table
