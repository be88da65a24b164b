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


def rates(score: np.ndarray, flag: np.ndarray, is_sym: np.ndarray) -> dict:
    """ROC AUC of the score for the injected symbiotics, recall and precision of the flags."""
    ok = np.isfinite(score)
    tp = int((flag & is_sym).sum())
    return {"auc": float(roc_auc_score(is_sym[ok], score[ok])), "recall": tp / int(is_sym.sum()),
            "precision": tp / max(int(flag.sum()), 1), "tp": tp, "n_flags": int(flag.sum())}


#: key -> (label, detector, extra config, features); None detector: the recipe's own step
CHOICES = {
    "vae_mags": ("recipe vae on 9 magnitudes (seed)", None, "vae", None),
    "pca_mags": ("recipe pca on 9 magnitudes (seed)", None, "pca", None),
    "vae_colours": ("vae on dereddened + nightly colours", "detectors.vae",
                    {"layers": [16], "latent": 3, "batch_size": 64, "patience": None}, DEREDDENED_COLOURS + NIGHTLY),
    "iforest_mags": ("isolation_forest on magnitudes", "detectors.isolation_forest", {}, MAGS),
    "iforest_colours": ("isolation_forest on dereddened + nightly colours", "detectors.isolation_forest", {},
                        DEREDDENED_COLOURS + NIGHTLY),
    "pca_colours": ("pca on dereddened + nightly colours", "detectors.pca", {}, DEREDDENED_COLOURS + NIGHTLY),
}


def measure(epochs: int = 100, seed: int = 42, log=print) -> dict:
    """Run the recipe offline and every choice in CHOICES on its rows; the README's table comes from here
    (benchmarks/readme_figures.py)."""
    registry = get_registry()
    recipe = load_recipe("recipes/symbiotic.yaml", registry, seed=seed,
                         overrides=["source.with.retries=0", "source.with.timeout_s=5",
                                    f"detectors.0.with.epochs={epochs}"])
    ctx = RunContext(seed=recipe.seed, show_progress=False)
    t0 = time.perf_counter()
    res = run_recipe(recipe, registry, ctx)
    log(f"recipe: {time.perf_counter() - t0:.1f} s wall; {res.rows['source']} mock rows -> {res.rows['after_cuts']} "
        f"after cuts; stage timings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in res.timings.items()))
    table = res.table
    is_sym = (table.data["truth_population"] == "symbiotic").to_numpy()
    known = res.validation["known"]["catalogs"]["mock_known"]
    log(f"known-catalogue match (mock_known): {known['n_in_table']} known in table; "
        + ", ".join(f"{k}: recall {v['recall']}" for k, v in known["flags"].items()))
    threshold = {"method": "top_fraction", "value": 0.02}
    results = {}
    for key, (label, use, extra, feats) in CHOICES.items():
        t1 = time.perf_counter()
        if use is None:
            score, flag = table.array(f"score_{extra}"), table.data[f"flag_{extra}"].to_numpy(bool)
        else:
            entry = registry.get(use, "detector")
            if use == "detectors.vae":
                extra = {**extra, "epochs": epochs}
            comp = entry.cls(features=feats, nan_policy="median", policy="fit_all", threshold=threshold, **extra)
            # the step name seeds the detector: "detect.<x>" (its name before issue 13) keeps the README's figures
            ctx.step = f"detectors.bench_detect.{use.split('.', 1)[1]}"
            det = comp.detect(table, ctx)
            score, flag = np.asarray(det.score, float), np.asarray(det.flag, bool)
        r = results[key] = rates(score, flag, is_sym)
        log(f"{label:<48s} AUC {r['auc']:5.3f}  recall {r['recall']:5.3f}  precision {r['precision']:5.3f}"
            f"  ({r['tp']}/{int(is_sym.sum())} symbiotics in {r['n_flags']} flags; {time.perf_counter() - t1:.1f} s)")
    return {"n_symbiotic": int(is_sym.sum()), "results": results}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    measure(args.epochs, args.seed)


if __name__ == "__main__":
    main()
