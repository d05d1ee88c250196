"""Input checks for every public function of ``utils`` (course plumbing, used from chapter 00 on).

Each check returns the cleaned value or raises an error that names the parameter and the bad value,
so a learner's typo fails at the call with a sentence, not three frames deep in NumPy:

* ``TypeError`` when the kind of value is wrong (text where a number belongs, a non-callable);
* ``ValueError`` when the kind is right but the value is not (out of range, NaN, wrong shape).

Sizes that would run for hours or exhaust memory are refused against the limits below.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path

import numpy as np

# Far beyond anything the course does, far below what would hang a laptop.
MAX_ROWS = 10_000_000
MAX_STEPS = 50_000_000      # rounds × local steps × clients in one NumPy run
MAX_CLIENTS = 100_000
MAX_FLOATS_KEPT = 100_000_000  # 800 MB of float64 kept in a history


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def number(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number, optionally within [low, high] (or open at either end)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)) or isinstance(value, complex):
        raise TypeError(f"{name} must be a number, got {_shown(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


def positive(name: str, value) -> float:
    """A finite number > 0 (learning rates, temperatures, ...)."""
    return number(name, value, low=0, low_open=True)


def nonneg(name: str, value) -> float:
    return number(name, value, low=0)


def fraction(name: str, value, *, open_ends: bool = True) -> float:
    """A share strictly between 0 and 1 (or within [0, 1] with ``open_ends=False``)."""
    return number(name, value, low=0, high=1, low_open=open_ends, high_open=open_ends)


def integer(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number (bools refused), optionally within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        if isinstance(value, (Real, np.floating)) and not isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        raise TypeError(f"{name} must be an integer, got {_shown(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def seed(name: str, value) -> int:
    """A seed for NumPy's generators: an integer in [0, 2**32)."""
    return integer(name, value, 0, 2**32 - 1)


def choice(name: str, value, options) -> object:
    """One of ``options`` (compared with ==); the error lists them."""
    options = tuple(options)
    try:
        ok = value in options
    except TypeError:  # unhashable or incomparable
        ok = False
    if not ok:
        raise ValueError(f"unknown {name} {_shown(value)}; choose one of {list(options)}")
    return value


def flag(name: str, value) -> bool:
    """True or False (not 1, not "yes")."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def text(name: str, value, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_shown(value)}")
    if not empty and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def path(name: str, value) -> Path:
    """A file or folder path (str or os.PathLike)."""
    if not isinstance(value, (str, os.PathLike)) or (isinstance(value, str) and not value):
        raise TypeError(f"{name} must be a file or folder path, got {_shown(value)}")
    return Path(value).expanduser()


def url(name: str, value) -> str:
    """An http(s):// or file: URL (where a loader downloads from)."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://", "file:")):
        raise ValueError(f"{name} must be an http(s):// or file: URL, got {_shown(value)}")
    return value


def generator(name: str, value):
    """None or a NumPy random Generator (``np.random.default_rng(seed)``)."""
    if value is not None and not isinstance(value, np.random.Generator):
        raise TypeError(f"{name} must be None or np.random.default_rng(...), got {_shown(value)}")
    return value


def function(name: str, value):
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {_shown(value)}")
    return value


def array(name: str, value) -> np.ndarray:
    """Any array of real numbers as float64 (shape and finiteness unchecked)."""
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {_shown(value)}") from None
    return out


def finite(name: str, a: np.ndarray) -> np.ndarray:
    """Refuse NaN/inf, naming the first place it occurs (column for 2-D arrays)."""
    bad = ~np.isfinite(a)
    if bad.any():
        where = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(a[tuple(where)]) else "an infinite value"
        place = f"row {where[0]}, column {where[1]}" if a.ndim == 2 else f"position {tuple(where.tolist())}"
        raise ValueError(f"{name} contains {what} at {place}")
    return a


def vector(name: str, value, length: int | None = None, *, allow_empty: bool = False) -> np.ndarray:
    """A finite 1-D float array (of ``length`` entries when given)."""
    a = array(name, value)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {a.shape}")
    if length is not None and len(a) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(a)}")
    if not allow_empty and len(a) == 0:
        raise ValueError(f"{name} is empty")
    return finite(name, a)


def matrix(name: str, value, *, columns: int | None = None) -> np.ndarray:
    """A finite 2-D float array with at least one row (and ``columns`` columns when given)."""
    a = array(name, value)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (rows × features), got shape {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} has no rows")
    if len(a) > MAX_ROWS:
        raise ValueError(f"{name} has {len(a):,} rows; the course's limit is {MAX_ROWS:,}")
    if columns is not None and a.shape[1] != columns:
        raise ValueError(f"{name} must have {columns} columns, got {a.shape[1]}")
    return finite(name, a)


def binary(name: str, y: np.ndarray) -> np.ndarray:
    """Labels that are all 0 or 1."""
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must hold labels 0 or 1, got {y[bad][0]!r} at position {int(np.argmax(bad))}")
    return y


def xy(X, y, who: str = "", *, labels01: bool = False, columns: int | None = None):
    """Features and labels of one data set: 2-D finite X, 1-D finite y, as many rows."""
    prefix = f" of {who}" if who else ""
    X = matrix(f"X{prefix}", X, columns=columns)
    y = vector(f"y{prefix}", y)
    if len(X) != len(y):
        raise ValueError(f"X{prefix} has {len(X)} rows but y{prefix} has {len(y)}")
    return X, (binary(f"y{prefix}", y) if labels01 else y)


def clients(value, name: str = "clients", *, labels01: bool = False) -> tuple[list, list]:
    """A federation: a dict ``{name: (X, y)}`` or a list of ``(X, y)`` pairs.

    Returns ``(names, [(X, y), ...])`` with every pair checked and all clients sharing one width.
    """
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(enumerate(value))
    else:
        raise TypeError(f"{name} must be a dict {{client: (X, y)}} or a list of (X, y) pairs, "
                        f"got {type(value).__name__}")
    if not items:
        raise ValueError(f"{name} is empty: a federation needs at least one client")
    if len(items) > MAX_CLIENTS:
        raise ValueError(f"{name} has {len(items):,} clients; the course's limit is {MAX_CLIENTS:,}")
    pairs = []
    for key, pair in items:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"client {key!r} of {name} must be an (X, y) pair, got {type(pair).__name__}")
        pairs.append(xy(*pair, who=f"client {key!r}", labels01=labels01))
    widths = {X.shape[1] for X, _ in pairs}
    if len(widths) != 1:
        raise ValueError(f"the clients of {name} disagree on the number of features: {sorted(widths)}")
    return [key for key, _ in items], pairs


def weight_list(name: str, value) -> list:
    """A model as a non-empty list of finite numeric arrays (Keras' ``get_weights()`` order)."""
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of arrays (e.g. [kernel, bias]), got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} is an empty list")
    out = []
    for i, w in enumerate(value):
        a = array(f"{name}[{i}]", w)
        out.append(finite(f"{name}[{i}]", a))
    return out


def names(name: str, value, valid) -> tuple:
    """One name or a list of names, each in ``valid``; returned as a tuple in ``valid``'s order."""
    valid = tuple(valid)
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"{name} must be a name or a list of names from {list(valid)}, got {_shown(value)}")
    unknown = [v for v in value if v not in valid]
    if unknown:
        raise ValueError(f"unknown {name} {unknown!r}; valid ones are {list(valid)}")
    if not value:
        raise ValueError(f"{name} is empty; choose from {list(valid)}")
    return tuple(v for v in valid if v in value)


def budget(name: str, amount: int, limit: int, unit: str) -> int:
    """Refuse a run whose size would take hours or exhaust memory."""
    if amount > limit:
        raise ValueError(f"{name} would need {amount:,} {unit}, more than the course's limit of {limit:,}; "
                         f"use fewer rounds, steps or clients")
    return amount
