"""The one set-up call at the top of every notebook: ``from utils.setup import setup; setup()``."""
from __future__ import annotations

import logging
import os
import random
import sys
import warnings
from dataclasses import dataclass

DEFAULT_SEED = 42


@dataclass(frozen=True)
class Environment:
    """What ``setup()`` did, for the learner to read."""

    seed: int
    python: str
    tensorflow: str
    tff: str | None
    plotly_renderer: str

    def __str__(self) -> str:
        tff = f"TFF {self.tff}" if self.tff else "TFF not loaded"
        return (f"Seed {self.seed} | Python {self.python} | TensorFlow {self.tensorflow} | {tff} | "
                f"plotly renderer '{self.plotly_renderer}'")


def _in_kernel() -> bool:
    return "ipykernel" in sys.modules and hasattr(sys.modules["ipykernel"], "kernelapp")


def setup(seed: int = DEFAULT_SEED, tff: bool = True, quiet: bool = False) -> Environment:
    """Make a notebook reproducible and quiet, and keep TFF's worker process on a leash.

    * seeds Python's ``random``, NumPy and TensorFlow with ``seed``;
    * silences TensorFlow's start-up noise (log level set before TF is imported);
    * selects the plotly renderer that draws in JupyterLab and passes nbval offline;
    * with ``tff=True`` imports TensorFlow Federated and makes sure the C++ worker it
      starts is stopped when the kernel or script ends (see ``utils.runtime``).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    # Must happen before TensorFlow's first import, or its C++ logging already started.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np
    import plotly.io as pio
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TF in one go
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)

    if _in_kernel():
        # Rendered by JupyterLab's built-in plotly extension: no CDN, works offline and in nbval.
        pio.renderers.default = "plotly_mimetype"

    tff_version = None
    if tff:
        import tensorflow_federated as tff_module

        from utils.runtime import manage_tff_workers

        manage_tff_workers()
        tff_version = tff_module.__version__

    env = Environment(seed=seed, python=sys.version.split()[0], tensorflow=tf.__version__,
                      tff=tff_version, plotly_renderer=pio.renderers.default)
    if not quiet:
        print(env)
    return env
