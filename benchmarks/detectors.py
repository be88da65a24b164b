"""Detector benchmark: autoencoder training + out-of-fold scoring vs the lesson's full-batch scheme,
and the scoring throughput of a saved model.

    python benchmarks/detectors.py                       # 170k-star gaia.mock, lesson run of 10,001 epochs
    python benchmarks/detectors.py --lesson-epochs 500   # shorter lesson run, time extrapolated (labelled)

Data: the ``gaia.mock`` source (170k stars) with the lesson's nine features
(gaia.distance, .absolute_magnitude, .galactocentric in the lesson frame);
if the gaia plugin is not importable, a labelled Gaussian stand-in. ROC AUC is
for the halo population against everything else (the lesson's target: halo
stars on disc-crossing orbits); for the lesson scheme it is measured on the
held-out half it scores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES = ["M_G", "M_BP", "M_RP", "x", "y", "z", "v_x", "v_y", "v_z"]


def build_table(n_stars: int, seed: int):
    """(Table, label of the data, boolean halo truth)."""
    from toolkit.core import RunContext, Table

    ctx = RunContext(seed=seed, show_progress=False)
    try:
        from toolkit.plugins.gaia.features import AbsoluteMagnitude, Distance, Galactocentric
        from toolkit.plugins.gaia.mock import GaiaMock
    except ImportError as exc:
        print(f"gaia plugin not importable ({exc}); using a Gaussian stand-in")
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n_stars, 9))
        halo = np.zeros(n_stars, bool)
        halo[: max(1, n_stars // 700)] = True
        X[halo, 6:] *= 5
        import pandas as pd

        return Table(pd.DataFrame(X, columns=FEATURES)), "Gaussian stand-in (not gaia.mock)", halo
    table = GaiaMock(n_stars=n_stars, seed=seed).load(ctx)
    for feat in (Distance(zero_point=None), AbsoluteMagnitude(), Galactocentric(z_sun=0.0, galcen_distance=8.1)):
        table = table.with_columns(feat.compute(table, ctx))
    halo = table.data["truth_population"].to_numpy() == "halo"
    return table, f"gaia.mock, {n_stars} stars, lesson features and frame", halo


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(score)
    return float(roc_auc_score(truth[ok], score[ok]))


def run_detector(table, params: dict, workdir: Path, step: str, seed: int):
    from toolkit.core import RunContext
    from toolkit.plugins.detectors.autoencoder import AutoencoderDetector

    ctx = RunContext(seed=seed, workdir=workdir, show_progress=False)
    ctx.step = f"detectors.{step}"
    det = AutoencoderDetector(features=FEATURES, **params)
    t0 = time.perf_counter()
    out = det.detect(table, ctx)
    return out, time.perf_counter() - t0, workdir / "models" / step


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux (ru_maxrss can carry the parent's peak over a fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(model_dir: str, rows: int, chunk_rows: int) -> dict:
    """Run in a fresh process: load the saved model, score `rows` rows; time and peak memory."""
    import tracemalloc

    from toolkit.plugins.detectors.saved import load_model

    rss0 = peak_rss_mb()
    model, _ = load_model(model_dir)
    X = np.load(Path(model_dir).parent.parent / "throughput_rows.npy", mmap_mode="r")[:rows]
    model.score(np.asarray(X[:1000]), chunk_rows)          # warm-up (torch kernels)
    tracemalloc.start()
    t0 = time.perf_counter()
    score = model.score(X, chunk_rows)
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = peak_rss_mb()
    return {"rows": int(len(score)), "seconds": dt, "rows_per_s": len(score) / dt,
            "tracemalloc_peak_mb": peak / 2**20, "max_rss_mb": rss1, "max_rss_before_mb": rss0,
            "finite": int(np.isfinite(score).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-stars", type=int, default=170_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--folds", type=int, default=2, help="k-fold folds for the toolkit scheme (recipe: 2)")
    ap.add_argument("--epochs", type=int, default=40, help="max minibatch epochs (early stopping, patience 5)")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--lesson-epochs", type=int, default=10_001,
                    help="full-batch epochs actually run for the lesson scheme; fewer than 10,001 -> the time is "
                         "extrapolated to 10,001 (clearly labelled)")
    ap.add_argument("--throughput-rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, default=65_536)
    ap.add_argument("--skip-lesson", action="store_true")
    ap.add_argument("--_throughput", nargs=3, metavar=("MODEL_DIR", "ROWS", "CHUNK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._throughput:
        print(json.dumps(throughput(args._throughput[0], int(args._throughput[1]), int(args._throughput[2]))))
        return

    import torch

    print(f"machine: {os.cpu_count()} CPUs visible, torch {torch.__version__}, load average "
          f"{os.getloadavg()[0]:.1f} (timings on a shared machine vary)")
    t0 = time.perf_counter()
    table, label, halo = build_table(args.n_stars, args.seed)
    print(f"data: {label}; {len(table)} rows, {halo.sum()} halo stars; built in {time.perf_counter() - t0:.1f} s")
    work = Path(tempfile.mkdtemp(prefix="bench_detectors_"))

    ours = dict(layers=[20, 6, 2], policy="kfold", folds=args.folds, learning_rate=0.01, batch_size=args.batch_size,
                epochs=args.epochs, patience=5, threads=1, threshold={"method": "top_fraction", "value": 0.002})
    out, t_ours, model_dir = run_detector(table, ours, work, "ae", args.seed)
    auc_ours = auc(halo, out.score)
    print("\n== toolkit scheme: 9-20-6-2-6-20-9, minibatch Adam, early stopping, "
          f"{args.folds}-fold out-of-fold + final model, 1 torch thread")
    print(f"   epochs run per model: {out.summary['epochs_run']}")
    print(f"   training + out-of-fold scoring of {len(table)} rows: {t_ours:.1f} s  (target < 30 s); of which "
          f"fitting {len(out.summary['epochs_run'])} models and scoring: {out.summary['fit_and_score_seconds']:.1f} s, "
          "the rest figures and saving")
    print(f"   ROC AUC halo vs rest (all rows, out-of-fold): {auc_ours:.4f}")

    if not args.skip_lesson:
        lesson = dict(layers=[20, 6, 2], policy="train_fraction", train_fraction=0.5, full_batch=True,
                      learning_rate=0.01, epochs=args.lesson_epochs, validation_fraction=0.0, patience=None,
                      threads=1, threshold={"method": "fixed", "value": 40.0})
        out_l, t_lesson, _ = run_detector(table, lesson, work / "lesson", "lesson", args.seed)
        auc_lesson = auc(halo, out_l.score)
        full = args.lesson_epochs >= 10_001
        t_10001 = t_lesson * 10_001 / args.lesson_epochs
        print("\n== lesson scheme: 9-20-6-2-6-20-9, full batch on a random 50%, Adam lr 0.01, scores the other 50%")
        print(f"   {args.lesson_epochs} epochs: {t_lesson:.1f} s ({1e3 * t_lesson / args.lesson_epochs:.1f} ms/epoch)")
        if full:
            print(f"   10,001 epochs: {t_10001:.1f} s (measured)")
        else:
            print(f"   10,001 epochs: {t_10001:.0f} s  (EXTRAPOLATED linearly from {args.lesson_epochs} epochs)")
        print(f"   ROC AUC halo vs rest (held-out half, after {args.lesson_epochs} epochs): {auc_lesson:.4f}")
        print(f"\n== ratio: lesson 10,001-epoch time / toolkit time = {t_10001 / t_ours:.1f}x"
              + ("" if full else " (lesson time extrapolated)"))

    rng = np.random.default_rng(args.seed)
    base = table.data[FEATURES].to_numpy(float)
    base = base[np.isfinite(base).all(axis=1)]
    rows = base[rng.integers(0, len(base), args.throughput_rows)]
    np.save(work / "throughput_rows.npy", rows)
    del rows
    res = subprocess.run([sys.executable, __file__, "--_throughput", str(model_dir), str(args.throughput_rows),
                          str(args.chunk_rows)], capture_output=True, text=True, check=True)
    tp = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"\n== saved-model scoring (fresh process, load + score {tp['rows']:,} rows in chunks of "
          f"{args.chunk_rows:,}, 1 torch thread)")
    print(f"   {tp['seconds']:.2f} s -> {tp['rows_per_s']:,.0f} rows/s")
    print(f"   peak memory: tracemalloc (NumPy/Python allocations while scoring) {tp['tracemalloc_peak_mb']:.0f} MB; "
          f"process max RSS {tp['max_rss_mb']:.0f} MB (of which {tp['max_rss_before_mb']:.0f} MB before "
          "loading the model: interpreter + NumPy; torch is imported by the load; the input rows are a "
          "memory-mapped .npy)")
    print(f"\nfiles: {work}")


if __name__ == "__main__":
    main()
