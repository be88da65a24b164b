"""gaia_kinematic over a HATS catalogue: the stream executor vs dask with 1 and 2 workers; cross-match at scale.

Writes a gaia.mock sample of N stars as a HATS catalogue (once, kept in --workdir), then runs
``toolkit run gaia_kinematic`` with ``source: lsdb.catalog`` on it in a fresh process per run and
prints wall time, rows/s, the client's peak RSS and each dask worker's peak RSS (from the run's
manifest), plus per-partition costs (the numbers docs/distributed.md's Gaia DR3 plan is built from).
Then cross-matches the N mock stars with an N-row HATS catalogue (the stars moved by 0.5 arcsec)
through ``lsdb.crossmatch`` and through the in-memory nearest-neighbour match that ``catalogs.match``
uses (``toolkit.catalogs.crossmatch.match_rows``).

    python benchmarks/dask_scale.py --stars 1e6          # while developing
    python benchmarks/dask_scale.py --stars 5e6          # the issue's size

The machine is shared: the script prints the load average before and after; compare runs made
at the same load only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# this file's name is the dask.distributed package's: its folder must not shadow the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

KEEP = "[M_G, M_BP, M_RP, x, y, z, v_x, v_y, v_z, ra, dec]"


def build_hats(n: int, workdir: Path, partition_rows: int) -> tuple[Path, Path, float]:
    """The mock as HATS, and the same stars moved by 0.5 arcsec with a magnitude (the cross-match target)."""
    import numpy as np

    from toolkit.core import Columns, RunContext, Table, write_hats
    from toolkit.plugins.gaia.mock import GaiaMock

    stars, moved = workdir / f"gaia_mock_{n}", workdir / f"moved_{n}"
    if stars.exists() and moved.exists():
        return stars, moved, float("nan")
    t0 = time.perf_counter()
    table = GaiaMock(n_stars=n).load(RunContext(seed=3))
    write_hats(table, stars, "gaia_mock", partition_rows=partition_rows)
    d = table.data
    rng = np.random.default_rng(4)
    pa = rng.uniform(0, 2 * np.pi, len(d))
    cols = (Columns().add("other_id", np.arange(len(d), dtype=np.int64))
            .add("ra", d["ra"] + 0.5 / 3600 * np.sin(pa) / np.cos(np.radians(d["dec"])), "deg")
            .add("dec", d["dec"] + 0.5 / 3600 * np.cos(pa), "deg").add("k_m", rng.normal(10, 1, len(d)), "mag"))
    write_hats(Table.from_columns(cols, id_column="other_id"), moved, "moved", partition_rows=partition_rows)
    return stars, moved, time.perf_counter() - t0


def run_once(path: Path, out: Path, executor: str, workers: int | None, chunk_rows: int) -> dict:
    args = ["run", "gaia_kinematic", "--out", str(out), "--executor", executor, "--chunk-rows", str(chunk_rows),
            "--set", f"source={{use: lsdb.catalog, with: {{path: '{path}', id_column: source_id, mock: true}}}}",
            "--set", "validators.0.with.reference_fraction=0.001", "--set", "output.formats=[]",
            "--set", f"output.columns={KEEP}", "--set", "output.figures=false"]
    if workers:
        args += ["--workers", str(workers)]
    code = ("import resource, runpy, sys; sys.argv = ['toolkit'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('toolkit.core.cli', run_name='__main__')\nfinally:\n"
            "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    env = dict(os.environ, TOOLKIT_CACHE=str(out.parent / "cache"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({executor}, {workers} workers):\n{proc.stderr[-3000:]}")
    peak_kb = max(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return {"wall_s": wall, "client_peak_gb": peak_kb / 1024 ** 2,
            "manifest": json.loads((out / "manifest.json").read_text())}


def report(label: str, res: dict) -> None:
    m = res["manifest"]
    rows, ex = m["rows"], m["executor"]
    workers = ex.get("worker_peak_rss_mb")
    per_worker = f", worker peak RSS {', '.join(f'{w / 1024:.2f}' for w in workers)} GB" if workers else ""
    print(f"{label:16s} wall {res['wall_s']:7.1f} s, {rows['source'] / res['wall_s']:9,.0f} rows/s, client peak RSS "
          f"{res['client_peak_gb']:.2f} GB{per_worker}; {ex.get('partitions') or ex.get('chunks')} partitions, "
          f"{rows['candidates']:,} candidates")
    if executor_is_dask(m):
        t, parts = ex["task_seconds"], ex["partitions"]
        print(f"{'':16s} per partition ({rows['source'] / parts:,.0f} rows, task seconds on a worker): "
              f"read+cut+features {t['read_cut_features'] / parts:.2f} s, score {t['score'] / parts:.2f} s, "
              f"flag+write {t['flag_write'] / parts:.2f} s; fit on the client {t['fit_on_client']:.1f} s; "
              f"validators {sum(v for k, v in m['timings_s'].items() if k.startswith('validators.')):.1f} s")


def executor_is_dask(manifest: dict) -> bool:
    return manifest["executor"]["use"] == "dask"


def crossmatch(stars: Path, moved: Path, n: int) -> None:
    import numpy as np

    from toolkit.catalogs.crossmatch import match_rows
    from toolkit.core import RunContext
    from toolkit.plugins.lsdb.catalog_source import LsdbCatalog
    from toolkit.plugins.lsdb.crossmatch import LsdbCrossmatch

    ctx = RunContext(seed=1)
    left = LsdbCatalog(path=str(stars), columns=["source_id"], id_column="source_id").load(ctx)
    right = LsdbCatalog(path=str(moved), columns=["other_id", "k_m"], id_column="other_id").load(ctx)
    t0 = time.perf_counter()
    cols = LsdbCrossmatch(path=str(moved), columns=["other_id", "k_m"], radius_arcsec=2.0).compute(left, ctx)
    t_lsdb = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx, sep = match_rows(left.array("ra"), left.array("dec"), right.array("ra"), right.array("dec"), 2.0)
    t_mem = time.perf_counter() - t0
    a = cols.data["other_id"]
    b = np.where(idx >= 0, right.data["other_id"].to_numpy()[np.maximum(idx, 0)], np.nan)
    same = np.array_equal(np.nan_to_num(a, nan=-1), np.nan_to_num(b, nan=-1))
    print(f"cross-match {n:,} x {n:,}: lsdb.crossmatch {t_lsdb:.1f} s ({n / t_lsdb:,.0f} rows/s), in-memory "
          f"match_rows {t_mem:.1f} s ({n / t_mem:,.0f} rows/s); {np.isfinite(a).sum():,} matched; "
          f"same matches: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stars", type=float, default=1e6)
    ap.add_argument("--workdir", type=Path, default=Path("runs/bench_distributed"))
    ap.add_argument("--partition-rows", type=int, default=250_000)
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    ap.add_argument("--skip-runs", action="store_true", help="only the cross-match")
    ap.add_argument("--skip-crossmatch", action="store_true")
    args = ap.parse_args()
    n = int(args.stars)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    stars, moved, t_build = build_hats(n, args.workdir, args.partition_rows)
    print(f"HATS catalogues of {n:,} rows: {stars} ({'reused' if t_build != t_build else f'built in {t_build:.0f} s'})")
    if not args.skip_runs:
        for label, executor, workers in (("stream", "stream", None), ("dask, 1 worker", "dask", 1),
                                         ("dask, 2 workers", "dask", 2)):
            out = args.workdir / f"run_{executor}_{workers or 0}_{n}"
            if out.exists():
                import shutil

                shutil.rmtree(out)
            report(label, run_once(stars, out, executor, workers, args.chunk_rows))
    if not args.skip_crossmatch:
        crossmatch(stars, moved, n)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
