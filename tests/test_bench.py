"""tools.bench: the kernel-tree memory sampler and the status / exit code (throw-away notebooks)."""
from __future__ import annotations

import json

import nbformat
import psutil
import pytest

from tools import bench
from utils.runtime import tagged_processes

ALLOC_MB = 100  # in the kernel (numpy)
CHILD_MB = 250  # in a child process of the kernel

CHILD_CODE = (
    "import subprocess, sys\n"
    "subprocess.run([sys.executable, '-c', "
    f"\"import time; b = b'x' * ({CHILD_MB} * 2**20); time.sleep(1.5)\"], check=True)\n"
)


def write_nb(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_peak_includes_kernel_children(tmp_path):
    nb = write_nb(
        tmp_path / "alloc.ipynb",
        f"import numpy as np\na = np.ones({ALLOC_MB} * 2**20 // 8)",  # touched pages: real RSS
        CHILD_CODE,
    )
    before = nb.read_bytes()
    res = bench.bench_notebook(nb, cell_timeout=60)
    assert res.status == "ok", res.status
    assert res.samples > 10
    # Kernel alone: ~70 MB interpreter + 100 MB array. Only counting the child gets past this bound.
    assert res.peak_mb > ALLOC_MB + CHILD_MB, f"peak {res.peak_mb:.0f} MB misses the child process"
    assert res.peak_mb < 3 * (ALLOC_MB + CHILD_MB) + 500, res.peak_mb
    assert nb.read_bytes() == before, "the notebook file must not be modified"
    assert res.killed == [], f"processes left behind: {res.killed}"
    assert res.run_tag and tagged_processes(res.run_tag) == [], "a process from the benchmark survived"


def test_failing_notebook_reports_failed_and_nonzero_exit(tmp_path, capsys):
    nb = write_nb(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('boom from the test')", "y = 2")
    out_json = tmp_path / "bench.json"
    code = bench.main([str(nb), "--json", str(out_json), "--cell-timeout", "60"])
    assert code != 0
    data = json.loads(out_json.read_text())
    (r,) = data["notebooks"]
    assert r["status"].startswith("FAILED"), r["status"]
    assert "ValueError" in r["status"] and "boom from the test" in r["status"]
    assert "cell 1" in r["status"]
    printed = capsys.readouterr().out
    assert "FAILED: cell 1: ValueError" in printed and "total" in printed


def test_tree_rss_counts_descendants():
    me = psutil.Process()
    assert bench.tree_rss(me) >= me.memory_info().rss > 0


@pytest.mark.parametrize("peak, over", [(100.0, False), (bench.TARGET_PEAK_MB + 1, True)])
def test_table_marks_over_target(capsys, peak, over):
    bench.print_table([bench.Result(notebook="chapters/00_x.ipynb", wall_s=1.0, peak_mb=peak)])
    out = capsys.readouterr().out
    assert ("OVER" in out) is over
