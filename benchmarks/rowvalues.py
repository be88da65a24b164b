"""Whole-run statistics over per-row values on disk: exact thresholds and truth recovery at survey size.

A streamed run keeps every row's score, flag and truth label in files (``core/rowvalues.py``)
and never joins them. This writes ``--rows`` lognormal scores (and Gaia-mock-like labels) in
chunks of ``--chunk-rows`` to a temporary folder, then times the ``top_fraction`` and ``mad``
cuts (exact order statistics in bounded memory) and truth recovery over them, and checks the
``top_fraction`` cut against ``np.partition`` of the whole array.

    python benchmarks/rowvalues.py                   # 33.8 million rows, 68 chunks
    python benchmarks/rowvalues.py --rows 5e6
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.core.rowvalues import RowValues
from toolkit.core.thresholds import ThresholdConfig, threshold_cut
from toolkit.core.truth import TruthLabels, truth_recovery

POPULATIONS = {"thin_disc": 0.905, "thick_disc": 0.09, "halo": 0.0015, "white_dwarf": 0.0034,
               "hypervelocity": 0.0001}


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=float, default=33.8e6)
    ap.add_argument("--chunk-rows", type=int, default=500_000)
    args = ap.parse_args()
    n = int(args.rows)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    folder = Path(tempfile.mkdtemp(prefix="toolkit-rowvalues-"))
    try:
        rng = np.random.default_rng(0)
        scores, flags = RowValues(float, folder / "scores.f8"), RowValues(bool, folder / "flags.b1")
        labels = TruthLabels(folder / "labels.i2")
        names, p = np.array(list(POPULATIONS)), np.array(list(POPULATIONS.values()))
        t0 = time.perf_counter()
        for start in range(0, n, args.chunk_rows):
            rows = min(args.chunk_rows, n - start)
            pop = rng.choice(len(names), rows, p=p / p.sum())
            s = rng.lognormal(0, 1, rows) + 3.0 * (pop >= 2)      # the rare populations score higher
            scores.append(s)
            labels.add(pd.Series(names[pop]))
            flags.append(s > 12)
        print(f"{n:,} rows in {len(scores)} chunks written in {time.perf_counter() - t0:.1f} s "
              f"({scores.rows * 11 / 1e9:.2f} GB on disk); peak RSS so far {peak_gb():.2f} GB")
        for method, value in (("top_fraction", 0.002), ("mad", 5.0)):
            t0 = time.perf_counter()
            cut = threshold_cut(scores, ThresholdConfig(method=method, value=value))
            print(f"  {method} {value:g}: cut {cut:.6f} in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        truth = truth_recovery(labels, {"d": scores}, {"d": flags}, ["thin_disc", "thick_disc"])["d"]
        print(f"  truth recovery: {time.perf_counter() - t0:.1f} s (halo AUC {truth['halo']['roc_auc']}, "
              f"anomalous AUC {truth['anomalous']['roc_auc']})")
        print(f"peak RSS {peak_gb():.2f} GB (the scores alone would be {n * 8 / 1e9:.2f} GB)")
        whole = scores.whole()
        k = len(whole) - int(np.ceil(round(0.002 * len(whole), 9)))
        same = np.partition(whole, k)[k] == threshold_cut(scores, ThresholdConfig(method="top_fraction", value=0.002))
        print(f"check: the top_fraction cut equals np.partition of the whole array: {bool(same)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
