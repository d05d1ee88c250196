"""The credit-card clients of a Taiwanese bank (UCI "Default of Credit Card Clients"): facts,
verified loading, the model's features. Introduced in chapter 08.

30,000 clients (April-September 2005), 23 columns and the label ``default.payment.next.month``
(CC BY 4.0; Yeh & Lien 2009; see data/README.md). The file is the CSV copy that WeBank's FATE
framework ships as example data, pinned to one commit and verified by md5 like the heart data
(``utils.download``). Offline, ``load_credit`` returns a synthetic stand-in calibrated from the real
file (``utils.credit_standin``) and says so in its ``note``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils import validate as v
from utils.download import SOURCES, fetch_dataset_file, real_or_stand_in

__all__ = ["DATASET", "FILE", "MD5", "BASE_URL", "COLUMNS", "LABEL", "SOURCES", "PAY_COLUMNS", "BILL_COLUMNS",
           "PAID_COLUMNS", "FEATURE_NAMES", "EDUCATION_GROUPS", "education_group", "fetch_credit", "parse_credit_csv", "CreditData", "load_credit",
           "model_features"]

DATASET = "credit-default"
FILE = "UCI_Credit_Card.csv"
MD5 = "940b416bb13a9b24bb5c9e1589284005"
# FATE's copy at a pinned commit: the md5 above is of exactly these bytes.
BASE_URL = ("https://raw.githubusercontent.com/FederatedAI/FATE/"
            "5a06d9e4c4cd7ab97a5c8357828adbffaca87785/examples/data/")
LABEL = "default.payment.next.month"
PAY_COLUMNS = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")  # repayment status, Sept back to April
BILL_COLUMNS = tuple(f"BILL_AMT{i}" for i in range(1, 7))            # bill statements (NT dollars)
PAID_COLUMNS = tuple(f"PAY_AMT{i}" for i in range(1, 7))             # amounts paid
COLUMNS = ("ID", "LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE") + PAY_COLUMNS + BILL_COLUMNS \
    + PAID_COLUMNS + (LABEL,)

# The model's inputs (``model_features``). SEX is left out on purpose (chapter 08 says why);
# EDUCATION is left out because it names the bank a client belongs to in the chapter's split.
FEATURE_NAMES = (("log_limit", "age", "married", "single")
                 + tuple(f"{c}_status" for c in PAY_COLUMNS) + tuple(f"{c}_late" for c in PAY_COLUMNS)
                 + tuple(f"slog_{c}" for c in BILL_COLUMNS) + tuple(f"slog_{c}" for c in PAID_COLUMNS))

# EDUCATION codes: 1 graduate school, 2 university, 3 high school, 4 others; 0, 5 and 6 are not
# documented. Chapter 08 makes one "bank" of each group.
EDUCATION_GROUPS = {"graduate": (1,), "university": (2,), "high_school": (3,), "other": (0, 4, 5, 6)}


def education_group(codes) -> np.ndarray:
    """The group name (a key of ``EDUCATION_GROUPS``) of each EDUCATION code; unknown codes are refused."""
    codes = v.vector("codes", codes, allow_empty=True)
    out = np.empty(len(codes), dtype=object)
    for name, members in EDUCATION_GROUPS.items():
        out[np.isin(codes, members)] = name
    unknown = [c for c, g in zip(codes, out) if g is None]
    if unknown:
        raise ValueError(f"codes holds {unknown[0]!r}, not an EDUCATION code (0-6)")
    return out


def fetch_credit(data_dir=None, base_url: str = BASE_URL, timeout: float = 10.0):
    """The Path of the md5-verified CSV in ``data_dir`` (default: ``utils.download.dataset_dir``),
    downloaded from ``base_url`` if missing or corrupted. Raises ``DataUnavailable``."""
    return fetch_dataset_file(DATASET, FILE, MD5, data_dir, base_url, timeout)


def parse_credit_csv(path) -> pd.DataFrame:
    """Read the CSV into integer columns ``COLUMNS``. Some numbers are written like ``5e+05``, so
    pandas reads them as floats; every value must be a whole, finite number. Raises ValueError
    naming the file and the problem."""
    path = v.path("path", path)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable CSV file ({err})") from None
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"{path}: columns {list(frame.columns)[:6]}... are not the credit data's "
                         f"{len(COLUMNS)} columns ({', '.join(COLUMNS[:4])}, ...)")
    if frame.empty:
        raise ValueError(f"{path}: the file has a header but no rows")
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"{path}: row {row + 1}, column {COLUMNS[col]!r} holds {frame.iat[row, col]!r}, "
                         "expected a whole number")
    out = pd.DataFrame(values.astype(np.int64), columns=list(COLUMNS))
    if not out[LABEL].isin((0, 1)).all():
        raise ValueError(f"{path}: column {LABEL!r} must be 0 or 1")
    return out


@dataclass
class CreditData:
    """The clients' table (``COLUMNS``, integers), ``source`` "real" or "synthetic", and a ``note``
    for learners saying where the rows came from."""

    frame: pd.DataFrame
    source: str
    note: str = ""


def _standin(seed: int, note: str) -> CreditData:
    from utils.credit_standin import CreditStandIn

    return CreditData(frame=CreditStandIn().sample(seed), source="synthetic", note=note)


def load_credit(source: str = "auto", data_dir=None, seed: int = 0, base_url: str = BASE_URL,
                timeout: float = 10.0) -> CreditData:
    """The 30,000 clients. ``source="real"``: the verified file (cached, in ``$FLCOURSE_DATA_DIR``,
    or downloaded), else ``DataUnavailable``; ``"synthetic"``: the stand-in (seeded); ``"auto"``:
    real if possible, else the stand-in, with the reason in ``note``."""
    v.choice("source", source, SOURCES)
    data_dir = None if data_dir is None else v.path("data_dir", data_dir)
    seed = v.seed("seed", seed)
    v.positive("timeout", timeout)
    v.url("base_url", base_url)
    return real_or_stand_in(
        source, lambda: fetch_credit(data_dir, base_url=base_url, timeout=timeout),
        lambda path: CreditData(frame=parse_credit_csv(path), source="real",
                            note=f"Real UCI credit-card data (md5-verified) from {path.parent}."),
        lambda note: _standin(seed, note),
        requested="Synthetic stand-in for the credit data (requested with source='synthetic'): "
                  "calibrated from the real file, but not real clients.",
        fallback="Using a SYNTHETIC STAND-IN for the credit data because {reason}. It copies "
                 "each education group's size, default rate and column distributions from the "
                 "real file, so every cell runs, but the numbers are not those of real clients.")


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def model_features(frame: pd.DataFrame) -> np.ndarray:
    """The model's 28 inputs (``FEATURE_NAMES``), unscaled, one row per client: log credit limit, age,
    marital status (married, single), each month's repayment status (−2…8) and whether it was late
    (status > 0), and bills and payments on a signed log scale (their tails span five decades)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    need = ("LIMIT_BAL", "AGE", "MARRIAGE") + PAY_COLUMNS + BILL_COLUMNS + PAID_COLUMNS
    absent = [c for c in need if c not in frame.columns]
    if absent:
        raise ValueError(f"frame lacks column(s) {absent}")
    values = {c: frame[c].to_numpy(dtype=float) for c in need}
    if not np.isfinite(np.column_stack(list(values.values()))).all():
        raise ValueError("frame holds NaN or infinite values in the model's columns")
    if (values["LIMIT_BAL"] <= 0).any():
        raise ValueError("LIMIT_BAL must be > 0 (its log is a feature)")
    cols = [np.log(values["LIMIT_BAL"]), values["AGE"], (values["MARRIAGE"] == 1) * 1.0,
            (values["MARRIAGE"] == 2) * 1.0]
    cols += [np.clip(values[c], -2, 8) for c in PAY_COLUMNS] + [(values[c] > 0) * 1.0 for c in PAY_COLUMNS]
    cols += [_signed_log(values[c]) for c in BILL_COLUMNS + PAID_COLUMNS]
    return np.column_stack(cols)
