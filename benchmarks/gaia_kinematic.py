"""Benchmark: the gaia_kinematic recipe on a mock 100 pc sample against the lesson's own training scheme.

Runs the whole recipe (mock source, cuts, features, autoencoder scoring every star,
orbit validation, figures, run folder) and times it; then trains the lesson's
network the lesson's way on the same stars (full batch, Adam lr 0.01, summed MSE,
first half trains, the held-out half is scored) and prints both side by side:
wall time, ROC AUC for halo stars, recall of white dwarfs and hypervelocity stars.

    python benchmarks/gaia_kinematic.py                      # 170k stars, 10,001 lesson epochs
    python benchmarks/gaia_kinematic.py --n 50000 --lesson-epochs 500   # a quick look

Recall is measured at the same flag rate for both (the recipe's top 0.2%; for the
lesson, of its scored half), and also at the lesson's own cut (loss > 45).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["M_G", "M_BP", "M_RP", "x", "y", "z", "v_x", "v_y", "v_z"]
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "gaia_kinematic.yaml"


def run_recipe(n: int, workdir: Path, threads: int) -> tuple[float, dict, pd.DataFrame]:
    from rich.console import Console

    from toolkit.core.run import execute

    overrides = [f"source={{use: gaia.mock, with: {{n_stars: {n}}}}}"]
    if threads:
        overrides.append(f"detectors.0.with.threads={threads}")
    t0 = time.perf_counter()
    path, manifest = execute(RECIPE, out=workdir / "run", overrides=overrides, show_progress=False,
                             console=Console(stderr=True, quiet=True))
    elapsed = time.perf_counter() - t0
    table = pd.read_parquet(path / "scored.parquet")
    return elapsed, manifest, table


def lesson_scheme(table: pd.DataFrame, epochs: int, threads: int, seed: int = 0) -> tuple[float, pd.DataFrame]:
    """The lesson's training, verbatim in spirit: 9-20-6-2-6-20-9 ReLU MLP, full batch, Adam 0.01, sum MSE."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    data = table[FEATURES].to_numpy(float)
    keep = np.isfinite(data).all(axis=1)
    data, labels = data[keep], table.loc[keep, "truth_population"].to_numpy(str)
    std = (data / data.std(axis=0)).copy()            # the lesson divides by std, then subtracts the mean
    std -= std.mean(axis=0)
    half = len(std) // 2                               # rows arrive in random order (ORDER BY random_index)
    train = torch.tensor(std[:half], dtype=torch.float32)
    test = torch.tensor(std[half:], dtype=torch.float32)
    widths = [9, 20, 6, 2, 6, 20, 9]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss(reduction="sum")
    t0 = time.perf_counter()
    model.train(True)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(train), train)
        loss.backward()
        opt.step()
    model.train(False)
    with torch.no_grad():
        score = torch.sum((test - model(test)) ** 2, dim=1).numpy()
    elapsed = time.perf_counter() - t0
    return elapsed, pd.DataFrame({"score": score, "truth_population": labels[half:]})


def metrics(score: np.ndarray, labels: np.ndarray, flag: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(score)
    out = {}
    halo = labels == "halo"
    out["halo_auc"] = float(roc_auc_score(halo[ok], score[ok])) if 0 < halo[ok].sum() < ok.sum() else float("nan")
    anomalous = np.isin(labels, ["halo", "white_dwarf", "hypervelocity"])
    out["anomalous_auc"] = float(roc_auc_score(anomalous[ok], score[ok])) if anomalous[ok].any() else float("nan")
    wd = labels == "white_dwarf"
    out["wd_auc"] = float(roc_auc_score(wd[ok], score[ok])) if 0 < wd[ok].sum() < ok.sum() else float("nan")
    for pop, key in (("white_dwarf", "wd_recall"), ("hypervelocity", "hvs_recall"), ("halo", "halo_recall")):
        is_pop = labels == pop
        out[key] = float((flag & is_pop).sum() / is_pop.sum()) if is_pop.any() else float("nan")
        out[key.replace("recall", "n")] = int(is_pop.sum())
    out["n_flagged"] = int(flag.sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=170_000, help="mock stars (default 170,000, as the lesson's query)")
    ap.add_argument("--lesson-epochs", type=int, default=10_001, help="full-batch epochs of the lesson scheme "
                                                                      "(0 skips it)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the lesson scheme (default 2)")
    ap.add_argument("--recipe-threads", type=int, default=None, help="override the recipe's torch threads "
                                                                    "(default: the recipe's own, 1)")
    ap.add_argument("--flag-fraction", type=float, default=0.002, help="flag rate for the recall comparison")
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folder here")
    ap.add_argument("--mock-timing", type=int, default=1_000_000, help="also time generating this many mock "
                                                                     "stars (0 skips)")
    args = ap.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")

    if args.mock_timing:
        from toolkit.plugins.gaia.mock import simulate_gaia_rv_sample

        t0 = time.perf_counter()
        simulate_gaia_rv_sample(args.mock_timing, np.random.default_rng(0))
        print(f"gaia.mock: {args.mock_timing:,} stars in {time.perf_counter() - t0:.1f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        t_recipe, manifest, table = run_recipe(args.n, workdir, args.recipe_threads)
        labels = table["truth_population"].to_numpy(str)
        rec = metrics(table["score_ae"].to_numpy(float), labels, table["flag_ae"].to_numpy(bool))
        timings = manifest.get("timings_s", {})
        print(f"recipe gaia_kinematic on {len(table):,} mock stars: {t_recipe:.1f} s wall", flush=True)
        for k, v in timings.items():
            print(f"  {k:32s} {v:8.2f} s" if isinstance(v, (int, float)) else f"  {k:32s} {v}")
        print("  manifest truth_recovery (ae):", json.dumps({p: {k: v for k, v in r.items() if k in
                                                                 ("n", "roc_auc", "recall")}
                                                             for p, r in manifest["truth_recovery"]["ae"].items()}),
              flush=True)

        rows = {"recipe (kfold, every star)": dict(time_s=t_recipe, **rec)}
        if args.lesson_epochs > 0:
            t_lesson, held = lesson_scheme(table, args.lesson_epochs, args.threads)
            s = held["score"].to_numpy()
            lab = held["truth_population"].to_numpy(str)
            top = s >= np.quantile(s, 1 - args.flag_fraction)
            rows[f"lesson ({args.lesson_epochs} full-batch epochs, half)"] = dict(time_s=t_lesson,
                                                                                   **metrics(s, lab, top))
            rows["lesson, its own cut loss > 45"] = dict(time_s=t_lesson, **metrics(s, lab, s > 45))
        df = pd.DataFrame(rows).T[["time_s", "halo_auc", "wd_auc", "anomalous_auc", "halo_recall", "wd_recall", "hvs_recall",
                                   "n_flagged", "halo_n", "wd_n", "hvs_n"]]
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            print()
            print(df.to_string())
        print("\n(time_s: the recipe's includes mock, features, training, scoring, orbits, figures and writing the "
              "run folder; the lesson's is training + scoring only. Recall at the recipe's flag rate "
              f"{args.flag_fraction:.1%}.)")


if __name__ == "__main__":
    main()
