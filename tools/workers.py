"""``make test`` ends with this: no TFF worker_binary of this run may survive.

    python -m tools.workers [TAG]   # TAG defaults to $FLCOURSE_RUN_TAG; exit 1 (and kill them) if any survived
"""
import sys

from utils.runtime import check_workers

if __name__ == "__main__":
    if len(sys.argv) > 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(check_workers(*sys.argv[1:]))
