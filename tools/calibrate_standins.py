"""Fit the offline stand-ins of chapter 08 to the real files and write their JSON parameters.

    python -m tools.calibrate_standins [DATA_DIR]

DATA_DIR holds credit-default/ and tetouan-power/ (default: $FLCOURSE_DATA_DIR, else data/cache/).
The files are verified by md5 first; a test recomputes both JSON files and compares.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from utils.credit import load_credit
from utils.credit_standin import PARAMS_PATH as CREDIT_PATH, calibrate_credit
from utils.power import load_power
from utils.power_standin import PARAMS_PATH as POWER_PATH, calibrate_power


def to_json(params: dict) -> str:
    return json.dumps(params, indent=1, sort_keys=True) + "\n"


def main(argv) -> int:
    root = Path(argv[0]) if argv else None
    credit = load_credit("real", data_dir=None if root is None else root / "credit-default")
    power = load_power("real", data_dir=None if root is None else root / "tetouan-power")
    CREDIT_PATH.write_text(to_json(calibrate_credit(credit.frame)))
    POWER_PATH.write_text(to_json(calibrate_power(power.frame)))
    print(f"wrote {CREDIT_PATH} and {POWER_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
