"""Mutation testing on demand (`make mutants`): cosmic-ray over core/ and the numeric modules.

    python tests/mutants.py                      # the numeric targets (expr, thresholds, summaries, mixture)
    python tests/mutants.py expr thresholds      # some targets
    python tests/mutants.py core                 # all of core/ against tests/test_core_*.py (hours)
    python tests/mutants.py --list               # the targets

cosmic-ray makes one small change at a time in the source file (``!=`` -> ``==``, ``ceil`` ->
``floor``, ``<`` -> ``<=``, a constant +1, ``and`` -> ``or``, ...), runs that module's tests
and restores the file; a mutant the tests still pass on "survived" and points at a behaviour no
test pins down. It edits the working tree in place: run it on a clean checkout, and let it
finish (``git diff`` afterwards must be empty; ``git checkout -- FILE`` restores an interrupted
run). Not part of ``make test``. Needs the ``mutants`` extra: ``pip install -e ".[mutants]"``.

Per target it writes ``build/mutants/<target>.sqlite`` (cosmic-ray's session: ``cr-report``,
``cr-html`` read it) and prints every survivor as file:line, operator and the diff.
Exit status 0 whatever survives (the list is for people); 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "mutants"
PYTEST = f"{sys.executable} -m pytest -x -q -p no:cacheprovider"

#: target -> (source files mutated, the tests that guard them)
TARGETS = {
    "expr": (["core/expr.py"], ["tests/test_core_expr.py", "tests/test_core_expr_operators.py"]),
    "thresholds": (["core/thresholds.py"],
                   ["tests/test_detectors_thresholds_policy.py", "tests/test_detectors_threshold_rounding.py",
                    "tests/test_detectors_threshold_bounds.py"]),
    "summaries": (["plugins/orbits/summaries.py"],
                  ["tests/test_orbits_summaries.py", "tests/test_orbits_summaries_fallbacks.py",
                   "tests/test_orbits_summaries_turning_points.py"]),
    "mixture": (["plugins/mixture/gaussian_overlap.py", "plugins/mixture/epicyclic.py"],
                ["tests/test_mixture_overlap.py", "tests/test_mixture_spacetime.py"]),
    "core": (sorted(str(p.relative_to(ROOT)) for p in (ROOT / "core").glob("*.py") if p.name != "__init__.py"),
             sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_core_*.py"))),
}
DEFAULT = ["expr", "thresholds", "summaries", "mixture"]


def config(modules: list[str], tests: list[str], timeout_s: float) -> str:
    paths = ", ".join(json.dumps(m) for m in modules)
    return (f"[cosmic-ray]\nmodule-path = [{paths}]\ntimeout = {timeout_s}\nexcluded-modules = []\n"
            f"test-command = {json.dumps(PYTEST + ' ' + ' '.join(tests))}\n\n"
            "[cosmic-ray.distributor]\nname = \"local\"\n")


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every type annotation in a module. With ``from __future__ import
    annotations`` they are never evaluated, so a mutant inside one is equivalent, not a survivor."""
    tree = ast.parse(path.read_text())
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in tree.body):
        return []
    nodes = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            nodes.append(node.returns)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            nodes.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            nodes.append(node.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in nodes]


def survivors(session: Path) -> tuple[dict, list[str]]:
    """Outcome counts and one description per survivor, from ``cosmic-ray dump``; survivors inside
    type annotations are counted as ``equivalent (annotation)`` and not listed."""
    dump = subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "dump", str(session)], capture_output=True,
                          text=True, check=True, cwd=ROOT).stdout
    counts, lines, spans = {}, [], {}
    for raw in dump.splitlines():
        item, result = json.loads(raw)
        outcome = (result or {}).get("test_outcome") or "pending"
        if (result or {}).get("worker_outcome") not in (None, "normal"):
            outcome = result["worker_outcome"]                 # exception / abnormal / skipped
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "survived":
            m0 = item["mutations"][0]
            start = tuple(m0["start_pos"])
            if any(a <= start < b for a, b in spans.setdefault(m0["module_path"],
                                                               annotation_spans(ROOT / m0["module_path"]))):
                counts["survived"] -= 1
                counts["equivalent (annotation)"] = counts.get("equivalent (annotation)", 0) + 1
                continue
            for m in item["mutations"]:
                diff = "\n".join(line for line in (result.get("diff") or "").splitlines()
                                 if line[:1] in "+-" and line[:3] not in ("+++", "---"))
                lines.append(f"{m['module_path']}:{m['start_pos'][0]} {m['operator_name']} "
                             f"#{m['occurrence']}\n{diff}")
    return counts, lines


def run(target: str, timeout_s: float) -> list[str]:
    modules, tests = TARGETS[target]
    OUT.mkdir(parents=True, exist_ok=True)
    cfg, session = OUT / f"{target}.toml", OUT / f"{target}.sqlite"
    cfg.write_text(config(modules, tests, timeout_s))
    session.unlink(missing_ok=True)
    cr = [sys.executable, "-m", "cosmic_ray.cli"]
    t0 = time.perf_counter()
    subprocess.run([*cr, "init", str(cfg), str(session)], check=True, cwd=ROOT)
    base = subprocess.run([*cr, "baseline", str(cfg)], cwd=ROOT, capture_output=True, text=True)
    if base.returncode != 0:
        raise SystemExit(f"{target}: the tests fail without any mutation; fix them first:\n{base.stdout}{base.stderr}")
    subprocess.run([*cr, "exec", str(cfg), str(session)], check=True, cwd=ROOT)
    counts, lines = survivors(session)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *modules], capture_output=True, text=True,
                           cwd=ROOT).stdout
    print(f"\n== {target}: {', '.join(modules)} against {len(tests)} test file(s): "
          f"{sum(counts.values())} mutants, {counts} ({time.perf_counter() - t0:.0f} s)")
    for line in lines:
        print("  survived: " + line.replace("\n", "\n      "))
    if dirty.strip():
        print(f"  WARNING: source files differ from git after the run:\n{dirty}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*", help=f"of {', '.join(TARGETS)} (default: {' '.join(DEFAULT)})")
    ap.add_argument("--list", action="store_true", help="list the targets and exit")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant's test run")
    args = ap.parse_args(argv)
    if args.list:
        for name, (modules, tests) in TARGETS.items():
            print(f"{name:11s} {' '.join(modules)}\n{'':11s} tests: {' '.join(tests)}")
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    total = []
    for target in args.targets or DEFAULT:
        total += run(target, args.timeout)
    print(f"\n{len(total)} survivor(s) in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
