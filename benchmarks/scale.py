"""gaia_kinematic at survey scale on one machine: wall time, peak memory and rows/s per stage.

Runs ``toolkit run gaia_kinematic`` on gaia.mock samples of the given sizes with
the stream executor (and, for the smaller sizes, the in-memory executor), each
in a fresh process, and prints wall time, peak RSS (the process's maximum
resident set) and rows per second of every stage from the run's manifest.

    python benchmarks/scale.py                      # 1, 5 and 33.8 million stars streamed; 1 million in memory
    python benchmarks/scale.py --sizes 1e6 --memory-sizes 1e6 2e6

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


def run_once(n: int, executor: str, chunk_rows: int, out: Path, reference_fraction: float) -> dict:
    """One run in a child process; returns wall time, peak RSS (GB) and the manifest."""
    args = ["run", "gaia_kinematic", "--out", str(out),
           "--executor", executor, "--chunk-rows", str(chunk_rows),
           "--set", f"source.fallback.with.n_stars={n}",
           "--set", f"validators.0.with.reference_fraction={reference_fraction}",
           "--set", "output.formats=[]"]
    if executor == "stream":
        args += ["--set", f"output.columns={KEEP}"]
    code = ("import resource, runpy, sys; sys.argv = ['toolkit'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('toolkit.core.cli', run_name='__main__')\nfinally:\n"
            "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    env = dict(os.environ, TOOLKIT_CACHE=str(out.parent / "cache"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({n} rows, {executor}):\n{proc.stderr[-3000:]}")
    peak_kb = max(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    manifest = json.loads((out / "manifest.json").read_text())
    return {"wall_s": wall, "peak_rss_gb": peak_kb / 1024 ** 2, "manifest": manifest}


def report(n: int, executor: str, res: dict) -> None:
    m = res["manifest"]
    rows = m["rows"]
    print(f"\n{executor:6s} {n:>11,d} stars: wall {res['wall_s']:7.1f} s, peak RSS {res['peak_rss_gb']:.2f} GB "
          f"({res['peak_rss_gb'] / (n / 1e6):.2f} GB per million rows), {rows['after_cuts']:,} after cuts, "
          f"{rows['candidates']:,} candidates, {m['executor'].get('chunks')} chunk(s)")
    for stage, seconds in m["timings_s"].items():
        if stage == "total" or seconds <= 0:
            continue
        print(f"    {stage:32s} {seconds:8.2f} s  {n / seconds:14,.0f} rows/s")
    orbits = m["validation"].get("orbits", {}).get("rows", {})
    if orbits:
        print(f"    orbits integrated: {orbits.get('integrated'):,} (flagged {orbits.get('flagged'):,}, "
              f"reference {orbits.get('reference'):,})")
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
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="toolkit-scale-"))
    try:
        for executor, sizes in (("memory", args.memory_sizes), ("stream", args.sizes)):
            for n in map(int, sizes):
                out = work / f"{executor}-{n}"
                res = run_once(n, executor, args.chunk_rows, out, args.reference_fraction)
                report(n, executor, res)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
