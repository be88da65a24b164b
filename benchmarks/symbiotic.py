"""Symbiotic pipeline on the mock: timings and recall of injected symbiotics per detector and feature set.

    python benchmarks/symbiotic.py [--epochs 100] [--seed 42]

Runs recipes/symbiotic.yaml offline (SkyMapper -> symbiotic.mock fallback), then scores the
same rows with other detector/feature choices, and prints, per choice, the ROC AUC of the
score for the injected symbiotics and the recall/precision of the top-2 % flags.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from toolkit.core import RunContext, get_registry
from toolkit.core.recipe import load_recipe
from toolkit.core.runner import run_recipe

MAGS = ["u_psf", "v_psf", "g_psf", "r_psf", "i_psf", "z_psf", "j_m", "h_m", "k_m"]
DEREDDENED_COLOURS = ["ug_0", "vg_0", "gi_0", "jk_0"]
NIGHTLY = ["u_minus_g", "v_minus_g", "u_minus_v", "g_minus_i", "r_minus_i"]


def report(label: str, score: np.ndarray, flag: np.ndarray, is_sym: np.ndarray) -> None:
    ok = np.isfinite(score)
    auc = roc_auc_score(is_sym[ok], score[ok])
    tp = int((flag & is_sym).sum())
    print(f"{label:<48s} AUC {auc:5.3f}  recall {tp / is_sym.sum():5.3f}  precision {tp / max(flag.sum(), 1):5.3f}"
          f"  ({tp}/{int(is_sym.sum())} symbiotics in {int(flag.sum())} flags)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    registry = get_registry()
    recipe = load_recipe("recipes/symbiotic.yaml", registry, seed=args.seed,
                         overrides=["source.with.retries=0", "source.with.timeout_s=5",
                                    f"detectors.0.with.epochs={args.epochs}"])
    ctx = RunContext(seed=recipe.seed, show_progress=False)
    t0 = time.perf_counter()
    res = run_recipe(recipe, registry, ctx)
    print(f"recipe: {time.perf_counter() - t0:.1f} s wall; {res.rows['source']} mock rows -> {res.rows['after_cuts']} "
          f"after cuts; stage timings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in res.timings.items()))
    table = res.table
    is_sym = (table.data["truth_population"] == "symbiotic").to_numpy()
    for det in ("vae", "pca"):
        report(f"recipe {det} on 9 magnitudes (seed)", table.array(f"score_{det}"),
               table.data[f"flag_{det}"].to_numpy(bool), is_sym)
    known = res.validation["known"]["catalogs"]["mock_known"]
    print(f"known-catalogue match (mock_known): {known['n_in_table']} known in table; "
          + ", ".join(f"{k}: recall {v['recall']}" for k, v in known["flags"].items()))
    threshold = {"method": "top_fraction", "value": 0.02}
    choices = [("detect.vae", {"layers": [16], "latent": 3, "epochs": args.epochs, "batch_size": 64, "patience": None},
                DEREDDENED_COLOURS + NIGHTLY),
               ("detect.isolation_forest", {}, MAGS),
               ("detect.isolation_forest", {}, DEREDDENED_COLOURS + NIGHTLY),
               ("detect.pca", {}, DEREDDENED_COLOURS + NIGHTLY)]
    for use, extra, feats in choices:
        entry = registry.get(use, "detector")
        comp = entry.cls(features=feats, nan_policy="median", policy="fit_all", threshold=threshold, **extra)
        ctx.step = f"detectors.bench_{use}"
        t1 = time.perf_counter()
        det = comp.detect(table, ctx)
        label = f"{use.split('.')[-1]} on {'magnitudes' if feats is MAGS else 'dereddened + nightly colours'}"
        report(label, np.asarray(det.score, float), np.asarray(det.flag, bool), is_sym)
        print(f"{'':<48s} ({time.perf_counter() - t1:.1f} s)")


if __name__ == "__main__":
    main()
