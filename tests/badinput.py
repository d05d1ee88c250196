"""The table behind tests/test_validation.py: ``case()`` registers bad inputs in ``BAD``.

Chapters add their own cases in ``tests/bad_inputs_<area>.py`` (imported by test_validation.py), so
the table grows without every change touching one file.
"""
from __future__ import annotations

import numpy as np

from utils import data, fedcore, methods

NAN = float("nan")
X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]])
Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
TH = np.zeros(3)
XN = X.copy()
XN[2, 1] = NAN
CL = {"a": (X, Y), "b": (X[:3], Y[:3])}
W = [np.zeros((2, 1)), np.zeros(1)]
CFG = methods.flamby_config("fedavg")

# Containers that functions return (built by the course, not by learners), the validators themselves
# (tested below) and the Jupyter client classes that Jupyter constructs (kernel_client) are not entry points.
EXEMPT = {"case_study.Results", "course.Chapter", "download.DataUnavailable", "fedcore.FedHistory",
          "flamby.FederatedSplit", "heart.RawHeartData", "kernel_client", "linear.TwoSources", "models.Loss",
          "rl.BanditResult", "setup.Environment", "validate"}


def _split():
    return data.load_heart_disease("synthetic")


def _history():
    return fedcore.run_fedavg(CL, 1, lr=0.1, test=CL, keep_clients=True)


BAD: dict[tuple[str, str], list] = {}


def case(fn_name: str, call, **bad):
    """Register ``call(**{param: value})`` for every ``param=[(value, Error, needle), ...]``.

    The message must name ``needle`` as a whole word (the parameter's name when omitted); a tuple of
    needles must all be named (e.g. the parameter and the bad value)."""
    for param, entries in bad.items():
        for entry in entries:
            value, error, needle = (entry + (param,))[:3] if len(entry) == 2 else entry
            BAD.setdefault((fn_name, param), []).append((call, param, value, error, needle))


