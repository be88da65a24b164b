"""gaia_kinematic at survey scale on one machine: wall time, peak memory and rows/s per stage.

Runs ``toolkit run gaia_kinematic`` on gaia.mock samples of the given sizes with
the stream executor (and, for the smaller sizes, the in-memory executor), each
in a fresh process, and prints wall time, peak RSS (the process's maximum
resident set) and rows per second of every stage from the run's manifest.

    python benchmarks/scale.py                      # 1, 5 and 33.8 million stars streamed; 1 million in memory
    python benchmarks/scale.py --sizes 1e6 --memory-sizes 1e6 2e6
    python benchmarks/scale.py --sizes --memory-sizes 1e6 --stages   # RSS reached in each step

In-memory sizes are printed per million rows twice: the whole peak, and the peak above that of a
small run (``--fixed-rows``, the imported libraries and fixed buffers).

The survey-size runs keep few columns in scored/ (``output.columns``) and
integrate orbits for the flagged stars plus a small reference sample
(``reference_fraction``), as a survey-size recipe would; both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEEP = "[M_G, M_BP, M_RP, x, y, z, v_x, v_y, v_z, ra, dec]"


#: child-process code for --stages: a thread samples the resident set every 20 ms and keeps the highest
#: value seen while each step (RunContext.step: "features.galactocentric", "validators.orbits", ...) runs;
#: "" is the runner's own work between steps (spilling, thresholds, writing, figures of the run).
SAMPLER = """
import threading, time, os
from toolkit.core import context as _context
_page = os.sysconf('SC_PAGE_SIZE')
_seen, _ctx, _t0 = {}, [], time.perf_counter()
def _rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * _page
from toolkit.core import run as _run, runner as _runner
_phase = []
def _labelled(label, fn):
    def wrapper(*a, **k):
        _phase.append(label)
        try:
            return fn(*a, **k)
        finally:
            _phase.pop()
    return wrapper
_run.write_outputs = _labelled('runner: writing outputs', _run.write_outputs)
_runner.truth_recovery = _labelled('runner: truth recovery', _runner.truth_recovery)
_runner._spread_columns = _labelled('runner: validator columns to chunks', _runner._spread_columns)
_runner._check_ids_across_chunks = _labelled('runner: id check', _runner._check_ids_across_chunks)
_runner.Detectors.finish = _labelled('runner: detector figures, models', _runner.Detectors.finish)
_runner.Detectors.thresholds = _labelled('runner: thresholds', _runner.Detectors.thresholds)
_init = _context.RunContext.__init__
def _capture(self, *a, **k):
    _init(self, *a, **k)
    _ctx.append(self)
_context.RunContext.__init__ = _capture
def _sample():
    while True:
        step = _phase[-1] if _phase else ((_ctx[-1].step if _ctx else 'start') or 'runner')
        r = _rss()
        if r > _seen.get(step, (0, 0))[0]:
            _seen[step] = (r, time.perf_counter() - _t0)
        time.sleep(0.02)
threading.Thread(target=_sample, daemon=True).start()
def report_stages():
    for step, (r, t) in _seen.items():
        print(f'STAGE_RSS_KB|{step}|{r // 1024}|{t:.1f}', file=sys.stderr)
"""


def run_once(n: int, executor: str, chunk_rows: int, out: Path, reference_fraction: float,
             stages: bool = False) -> dict:
    """One run in a child process; returns wall time, peak RSS (GB) and the manifest."""
    args = ["run", "gaia_kinematic", "--out", str(out),
           "--executor", executor, "--chunk-rows", str(chunk_rows),
           "--set", f"source.fallback.with.n_stars={n}",
           "--set", f"validators.0.with.reference_fraction={reference_fraction}",
           "--set", "output.formats=[]"]
    if executor == "stream":
        args += ["--set", f"output.columns={KEEP}"]
    code = ("import resource, runpy, sys; sys.argv = ['toolkit'] + sys.argv[1:]\n"
            + (SAMPLER if stages else "") +
            "try:\n    runpy.run_module('toolkit.core.cli', run_name='__main__')\nfinally:\n"
            "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            + ("    report_stages()\n" if stages else ""))
    env = dict(os.environ, TOOLKIT_CACHE=str(out.parent / "cache"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({n} rows, {executor}):\n{proc.stderr[-3000:]}")
    peak_kb = max(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    manifest = json.loads((out / "manifest.json").read_text())
    stage_rss = [(f[1], int(f[2]) / 1024 ** 2, float(f[3])) for f in
                 (line.split("|") for line in proc.stderr.splitlines() if line.startswith("STAGE_RSS_KB|"))]
    return {"wall_s": wall, "peak_rss_gb": peak_kb / 1024 ** 2, "manifest": manifest, "stage_rss": stage_rss}


def report(n: int, executor: str, res: dict, fixed_gb: float | None = None) -> None:
    m = res["manifest"]
    rows = m["rows"]
    above = "" if fixed_gb is None else \
        f"; {(res['peak_rss_gb'] - fixed_gb) / (n / 1e6):.2f} GB per million above the libraries' {fixed_gb:.2f} GB"
    print(f"\n{executor:6s} {n:>11,d} stars: wall {res['wall_s']:7.1f} s, peak RSS {res['peak_rss_gb']:.2f} GB "
          f"({res['peak_rss_gb'] / (n / 1e6):.2f} GB per million rows{above}), {rows['after_cuts']:,} after cuts, "
          f"{rows['candidates']:,} candidates, {m['executor'].get('chunks')} chunk(s)")
    for stage, seconds in m["timings_s"].items():
        if stage == "total" or seconds <= 0:
            continue
        print(f"    {stage:32s} {seconds:8.2f} s  {n / seconds:14,.0f} rows/s")
    orbits = m["validation"].get("orbits", {}).get("rows", {})
    if orbits:
        print(f"    orbits integrated: {orbits.get('integrated'):,} (flagged {orbits.get('flagged'):,}, "
              f"reference {orbits.get('reference'):,})")
    if res.get("stage_rss"):
        print("    peak RSS while each step ran (GB, seconds from the start when it was reached):")
        for step, gb, t in res["stage_rss"]:
            print(f"      {step:34s} {gb:6.2f} GB  at {t:6.1f} s")
    ae = m["truth_recovery"].get("ae", {})
    if "halo" in ae:
        print(f"    truth: halo AUC {ae['halo']['roc_auc']}, hypervelocity recall {ae['hypervelocity']['recall']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="*", default=[1e6, 5e6, 33.8e6], help="streamed run sizes")
    ap.add_argument("--memory-sizes", type=float, nargs="*", default=[1e6], help="in-memory run sizes")
    ap.add_argument("--chunk-rows", type=int, default=500_000)
    ap.add_argument("--reference-fraction", type=float, default=0.003,
                    help="orbit reference sample (the recipe's 0.1 is for 170k stars)")
    ap.add_argument("--stages", action="store_true", help="also print the peak RSS reached during each step")
    ap.add_argument("--fixed-rows", type=int, default=10_000,
                    help="size of the in-memory run whose peak RSS counts as the fixed cost (libraries); 0: none")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="toolkit-scale-"))
    try:
        fixed = None
        if args.memory_sizes and args.fixed_rows:
            res = run_once(args.fixed_rows, "memory", args.chunk_rows, work / "fixed", args.reference_fraction)
            fixed = res["peak_rss_gb"]
            print(f"\nfixed cost (libraries, one small run of {args.fixed_rows:,} stars in memory): peak RSS "
                  f"{fixed:.2f} GB")
            shutil.rmtree(work / "fixed", ignore_errors=True)
        for executor, sizes in (("memory", args.memory_sizes), ("stream", args.sizes)):
            for n in map(int, sizes):
                out = work / f"{executor}-{n}"
                res = run_once(n, executor, args.chunk_rows, out, args.reference_fraction, args.stages)
                report(n, executor, res, fixed if executor == "memory" else None)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
