"""Classroom pre-flight (``make doctor``): is this machine ready for the course? One line per check.

    python -m tools.doctor [--port PORT] [--venv .venv] [--offline]

Checks Python, free memory and disk, that the locked environment is installed, that TFF runs a
federated computation, that each data set is cached or can be downloaded, and that JupyterLab's port
is free. Each line says OK, WARN or FAIL; every FAIL and WARN says how to fix it. Exit status 1 if any
check fails. Offline with no cached data is a warning, not a failure: the chapters then use their
synthetic stand-ins and say so.

Runs with the standard library only, so it can tell a learner what is missing before anything is
installed (``make doctor`` uses the venv's Python when there is one).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"
GB = 1024 ** 3
NOTEBOOK_PEAK_GB = 1.5  # the course's limit for one notebook (kernel + TFF worker)
VENV_GB = 3.0  # what `make install` needs on disk

# Data sets the chapters download: (module, what the chapters use without the real files). Each module
# names its folder (DATASET), files and md5s, and BASE_URL; the doctor reads them from there.
DATA_MODULES = [
    ("utils.heart", "the synthetic twin of the four hospitals (utils.twin)"),
    ("utils.credit", "a stand-in calibrated on the real file (utils.credit_standin)"),
    ("utils.power", "a stand-in calibrated on the real file (utils.power_standin)"),
]
TFF_PROBE = """
from utils.setup import setup
setup(quiet=True)
import numpy as np
import tensorflow_federated as tff

@tff.federated_computation(tff.FederatedType(np.float32, tff.CLIENTS))
def mean(values):
    return tff.federated_mean(values)

print(float(mean([36.5, 37.0, 38.5])))
"""


@dataclass
class Check:
    name: str
    status: str  # "OK", "WARN" or "FAIL"
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f"\n       fix: {self.fix}" if self.fix and self.status != "OK" else ""
        return f"{self.status:<4} {self.name:<13} {self.detail}{fix}"


def check_python(version=None) -> Check:
    version = tuple(version or sys.version_info[:3])
    text = ".".join(map(str, version))
    if version[:2] == (3, 11):
        return Check("python", "OK", f"Python {text}")
    return Check("python", "FAIL", f"Python {text}; TensorFlow Federated 0.87 needs 3.11",
                 "install Python 3.11 (Debian/Ubuntu: apt-get install python3.11 python3.11-venv) and run "
                 "`make PYTHON=python3.11 install`")


def available_memory_gb(meminfo: Path = Path("/proc/meminfo")) -> float:
    match = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.M)
    if not match:
        raise ValueError(f"no MemAvailable line in {meminfo}")
    return int(match.group(1)) * 1024 / GB


def check_memory(available_gb=None) -> Check:
    gb = available_memory_gb() if available_gb is None else available_gb
    detail = f"{gb:.1f} GB available; one notebook needs up to {NOTEBOOK_PEAK_GB} GB"
    if gb < NOTEBOOK_PEAK_GB:
        return Check("memory", "FAIL", detail, "close other programs (or notebooks: Kernel ▸ Shut Down) and run again")
    if gb < 2 * NOTEBOOK_PEAK_GB:
        return Check("memory", "WARN", detail, "keep only one notebook's kernel running at a time")
    return Check("memory", "OK", detail)


def check_disk(free_gb=None, installed: bool = True) -> Check:
    gb = shutil.disk_usage(REPO).free / GB if free_gb is None else free_gb
    need = 1.0 if installed else VENV_GB + 1.0
    detail = f"{gb:.1f} GB free in {REPO}" + ("" if installed else f"; the install needs about {VENV_GB:.0f} GB")
    if gb < need:
        return Check("disk", "FAIL", detail, f"free at least {need:.0f} GB (e.g. `make clean` removes build/ and .venv)")
    return Check("disk", "OK", detail)


def parse_lock(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def check_lock(python: Path) -> Check:
    if not python.exists():
        return Check("environment", "FAIL", f"{python} does not exist: the course is not installed",
                     "run `make install` (about 3 minutes; needs the package registry once)")
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode:
        return Check("environment", "FAIL", f"pip list failed: {out.stderr.strip()[-200:]}", "run `make clean install`")
    installed = {re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"] for p in json.loads(out.stdout)}
    wrong = sorted(f"{n} {installed.get(n, 'missing')} (lock {v})" for n, v in parse_lock(LOCK.read_text()).items()
                   if installed.get(n) != v)
    if wrong:
        return Check("environment", "FAIL", f"{len(wrong)} packages differ from requirements.lock: {', '.join(wrong[:4])}"
                     + (" …" if len(wrong) > 4 else ""), "run `make install` (or `make clean install`)")
    return Check("environment", "OK", f"all {len(installed)} packages as in requirements.lock")


def check_tff(python: Path, timeout: float = 240) -> Check:
    if not python.exists():
        return Check("tff", "FAIL", f"{python} does not exist", "run `make install`")
    start = time.monotonic()
    try:
        out = subprocess.run([str(python), "-c", TFF_PROBE], capture_output=True, text=True, timeout=timeout,
                             cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    except subprocess.TimeoutExpired:
        return Check("tff", "FAIL", f"a federated mean did not finish in {timeout:.0f} s",
                     "check that nothing else is using all the CPU and memory, then run `make doctor` again")
    seconds = time.monotonic() - start
    lines = out.stdout.strip().splitlines()
    if out.returncode == 0 and lines and abs(float(lines[-1]) - 37.333333) < 1e-4:
        return Check("tff", "OK", f"TFF computed a federated mean of three clients ({lines[-1][:7]}) in {seconds:.0f} s")
    error = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
    return Check("tff", "FAIL", f"TFF could not run a federated computation: {error}",
                 "run `make clean install`; TFF 0.87 runs on Linux x86-64 only (elsewhere use the Binder link in README.md)")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def data_folder(name: str) -> Path:
    root = os.environ.get("FLCOURSE_DATA_DIR")
    return (Path(root).expanduser() if root else REPO / "data" / "cache") / name


def check_data(name: str, files: dict, base_url: str, stand_in: str, folder=None, timeout: float = 5,
               offline: bool = False) -> Check:
    folder = Path(folder) if folder else data_folder(name)
    if all((folder / f).is_file() and md5(folder / f) == h for f, h in files.items()):
        return Check(f"data: {name}", "OK", f"cached and verified in {folder}")
    if not offline:
        first = base_url + next(iter(files))
        try:
            with urllib.request.urlopen(urllib.request.Request(first, method="HEAD"), timeout=timeout) as r:
                if r.status == 200:
                    return Check(f"data: {name}", "OK", f"not cached; {base_url} answers, so the first chapter "
                                 "that needs it downloads and verifies it")
        except (urllib.error.URLError, OSError) as error:  # no network, DNS, refused, time-out, HTTP error
            reason = getattr(error, "reason", error)
        else:
            reason = f"HTTP {r.status}"
    else:
        reason = "--offline"
    return Check(f"data: {name}", "WARN", f"not cached in {folder} and not downloadable ({reason}): the chapters "
                 f"will use {stand_in} and say so",
                 f"fine for learning; for the real data, copy the verified files into {folder} or set FLCOURSE_DATA_DIR")


def datasets() -> list[tuple]:
    """(folder, {file: md5}, base URL, stand-in) for each data module of the course that exists."""
    import importlib
    import importlib.util

    specs = []
    for name, stand_in in DATA_MODULES:
        if importlib.util.find_spec(name) is None:
            continue  # a chapter not written yet
        module = importlib.import_module(name)
        if name == "utils.heart":
            files = {module.file_name(h): module.MD5[h] for h in module.HOSPITALS}
        else:
            files = {module.FILE: module.MD5}
        specs.append((module.DATASET, files, module.BASE_URL, stand_in))
    return specs


def check_port(port: int) -> Check:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as error:
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                other = free.getsockname()[1]
            return Check("lab port", "FAIL", f"127.0.0.1:{port} is taken ({error.strerror})",
                         f"stop what uses it, or start the course on another port: `make lab LAB_PORT={other}`")
    return Check("lab port", "OK", f"127.0.0.1:{port} is free for JupyterLab (`make lab`)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.doctor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=int(os.environ.get("LAB_PORT", 8888)))
    ap.add_argument("--venv", type=Path, default=REPO / ".venv")
    ap.add_argument("--offline", action="store_true", help="do not try to reach the data sets' servers")
    args = ap.parse_args(argv)
    python = args.venv / "bin" / "python"
    checks = [check_python(), check_memory(), check_disk(installed=python.exists()), check_lock(python)]
    print("\n".join(c.line() for c in checks), flush=True)
    try:
        data = [check_data(*spec, offline=args.offline) for spec in datasets()]
    except ImportError as error:  # run by a Python without the course installed
        data = [Check("data", "WARN", f"cannot read the data modules ({error})", "run `make install`, then `make doctor`")]
    more = [check_tff(python)] + data + [check_port(args.port)]
    print("\n".join(c.line() for c in more))
    checks += more
    failed = [c.name for c in checks if c.status == "FAIL"]
    warned = [c.name for c in checks if c.status == "WARN"]
    print(f"\n{'NOT READY' if failed else 'READY'}: {len(checks) - len(failed) - len(warned)} OK, "
          f"{len(warned)} warnings, {len(failed)} failures" + (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
