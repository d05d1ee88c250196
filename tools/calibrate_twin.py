"""Fit the synthetic twin's parameters to the real files and write data/heart_disease_twin.json.

    python -m tools.calibrate_twin [DATA_DIR] [--output PATH]   # DATA_DIR: folder with processed.*.data

Only rows outside FLamby's test sets are read (see utils.twin_calibration); it takes about a second.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.data import load_raw
from utils.download import DataUnavailable
from utils.twin import TWIN_PARAMS_PATH
from utils.twin_calibration import calibrate, params_to_json


def calibrate_from_files(data_dir=None) -> dict:
    """Calibrate on the real, md5-verified files in ``data_dir`` (default: the data cache), test rows unread."""
    return calibrate(load_raw("real", data_dir=data_dir).frames)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.calibrate_twin", description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", default=None, help="folder with the processed.*.data files")
    parser.add_argument("--output", default=str(TWIN_PARAMS_PATH), help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        params = calibrate_from_files(args.data_dir)
    except DataUnavailable as err:
        print(f"error: the real files are needed to calibrate the twin: {err}", file=sys.stderr)
        return 1
    Path(args.output).write_text(params_to_json(params))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
