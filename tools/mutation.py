"""Mutation testing of the modules the course's arithmetic rests on (``make mutation``; slow, not CI).

mutmut (pinned in tools/mutation-requirements.txt, installed into build/mutation-venv, which reads
every other package from the course's .venv) puts small bugs into each module listed under
``[tool.mutmut] only_mutate`` in pyproject.toml and runs the tests listed there against each. A
mutant no test fails on "survives". This script runs mutmut on a copy of the committed tree in
build/mutation (so the editable install of ``utils`` and the working tree are never touched), then
prints the kill rate per module and checks every survivor against tools/mutation-survivors.toml,
which explains, per mutant, why it cannot be caught (an equivalent mutant). The explanation stores
the mutant's diff: when the code changes and the diff no longer matches, the survivor counts as
unexplained again.

Exit status 1 if a module kills fewer than 90 % of its mutants or a survivor is unexplained.

    python -m tools.mutation [--reuse]      # --reuse: report on the last run without re-running
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "mutation"
SURVIVORS = REPO / "tools" / "mutation-survivors.toml"
TARGET = 0.90
# mutmut's outcomes that mean "a test noticed the bug" (a mutant that hangs is caught by the time-out).
CAUGHT = {"killed", "timeout", "segfault"}
LINE = re.compile(r"^\s+(?P<name>[\w.ǁ]+): (?P<status>.+)$")


def mutmut(venv: Path) -> Path:
    return venv / "bin" / "mutmut"


def copy_tree(dest: Path) -> None:
    """The committed files (plus uncommitted edits to them) copied to ``dest``, nothing else."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def mutant_module(name: str) -> str:
    """``utils.fedcore.x_fedavg_round__mutmut_3`` -> ``fedcore``."""
    return name.split(".")[1]


def results(work: Path, venv: Path) -> dict[str, str]:
    out = subprocess.run([str(mutmut(venv)), "results", "--all", "true"], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    found = {m["name"]: m["status"].strip() for m in map(LINE.match, out.splitlines()) if m}
    if not found:
        raise SystemExit(f"mutmut reported no mutants in {work}; see {work / 'mutmut.log'}")
    return found


def diff_of(work: Path, venv: Path, name: str) -> str:
    """The changed lines of one mutant, the key its explanation is stored under."""
    out = subprocess.run([str(mutmut(venv)), "show", name], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    return "\n".join(line for line in out.splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++", "---")))


def load_explanations(path: Path = SURVIVORS) -> dict[str, dict]:
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    return {name: entry for name, entry in data.get("mutant", {}).items()}


def report(statuses: dict[str, str], explained: set[str], out=sys.stdout) -> bool:
    """Print the kill rate per module; True when every module reaches the target."""
    per_module: dict[str, Counter] = defaultdict(Counter)
    for name, status in statuses.items():
        module = mutant_module(name)
        per_module[module]["total"] += 1
        if status in CAUGHT:
            per_module[module]["caught"] += 1
        elif name in explained:
            per_module[module]["equivalent"] += 1
    ok = True
    print(f"{'module':<16}{'mutants':>8}{'caught':>8}{'equiv.':>8}{'rate':>8}", file=out)
    for module, c in sorted(per_module.items()):
        # An explained (equivalent) mutant behaves exactly like the original: it leaves the denominator.
        rate = c["caught"] / max(c["total"] - c["equivalent"], 1)
        flag = "" if rate >= TARGET else f"  < {TARGET:.0%}"
        ok &= rate >= TARGET
        print(f"{module:<16}{c['total']:>8}{c['caught']:>8}{c['equivalent']:>8}{rate:>8.1%}{flag}", file=out)
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", type=Path, default=REPO / "build" / "mutation-venv")
    ap.add_argument("--work", type=Path, default=WORK, help="where mutmut runs (a copy of the tree)")
    ap.add_argument("--reuse", action="store_true", help="report on the last run in --work without re-running")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    args.venv = args.venv.resolve()  # mutmut runs with cwd=work: a relative --venv (as the Makefile passes) must not break
    if not mutmut(args.venv).exists():
        raise SystemExit(f"{mutmut(args.venv)} is missing: run `make mutation`, which builds it")
    if not args.reuse:
        copy_tree(work)
        log = work / "mutmut.log"
        print(f"mutmut is running in {work} (log: {log}); this takes tens of minutes on 2 cores", flush=True)
        with open(log, "w") as fh:
            status = subprocess.run([str(mutmut(args.venv)), "run"], cwd=work, stdout=fh, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).returncode
        if status:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise SystemExit(f"mutmut run failed (exit {status}); the end of {log} is above")
    statuses = results(work, args.venv)
    print(" ".join(f"{k}: {v}" for k, v in sorted(Counter(statuses.values()).items())))
    explanations = load_explanations()
    survivors = sorted(n for n, s in statuses.items() if s not in CAUGHT)
    explained, unexplained = set(), []
    for name in survivors:
        entry = explanations.get(name)
        diff = diff_of(work, args.venv, name)
        if entry and entry.get("diff", "").strip() == diff.strip():
            explained.add(name)
        else:
            unexplained.append((name, statuses[name], diff, entry is not None))
    ok = report(statuses, explained)
    stale = sorted(set(explanations) - set(survivors))
    if stale:
        print(f"\n{len(stale)} explanations in {SURVIVORS.name} name mutants that no longer survive "
              f"(remove them): {', '.join(stale)}")
    if unexplained:
        print(f"\n{len(unexplained)} survivors need a test that kills them or an explanation in "
              f"{SURVIVORS.relative_to(REPO)}:")
        for name, status, diff, had_entry in unexplained:
            note = " (its explanation's diff is stale)" if had_entry else ""
            print(f"\n[{status}] {name}{note}\n{diff}")
    return 0 if ok and not unexplained and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
