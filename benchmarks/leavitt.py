"""The leavitt_law recipe on a 5,000-Cepheid mock: wall time, LMC distance, recovery of impostors.

Run: python benchmarks/leavitt.py [n_seeds]
For each seed, runs recipes/leavitt_law.yaml end to end (source replaced by cepheid.mock with 5,000
stars, as the offline fallback would be; MCMC, figures and the run folder included) and prints:

- wall time of the whole run (goal < 30 s) and the CPU time of this process, with the load average
  (the machine is shared: wall time grows with load, CPU time does not);
- the LMC distance modulus from the Milky Way PW calibration against the mock's truth (goal within
  0.05 mag) and against Pietrzynski et al. 2019;
- ROC AUC of the injected type II and anomalous Cepheids against classical Cepheids (goal >= 0.95),
  scoring every star by the fit of its own galaxy (|residual| in total sigmas: pw_mw for Milky Way
  calibrators, pw_lmc for LMC members), per detector, and with the lab's least-squares line instead
  of the MCMC fit (same sigma units), to show what the outlier mixture buys.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.metrics import roc_auc_score

from toolkit.core.run import execute

IMPOSTORS = ["type2", "anomalous_cepheid"]


def auc(scores: np.ndarray, pop: np.ndarray) -> float:
    ok = np.isfinite(scores) & np.isin(pop, ["classical", *IMPOSTORS])
    return float(roc_auc_score(np.isin(pop[ok], IMPOSTORS), scores[ok]))


def least_squares_scores(scored: pd.DataFrame, det: dict, y: str, y_err: str) -> np.ndarray:
    """|residual| from the lab's weighted least-squares line, in sqrt(err^2 + rms^2) units (NaN off the step's rows)."""
    ls = det["least_squares"]["weighted"]
    resid = scored[y] - (ls["zero_point"] + ls["slope"] * (scored["logP"] - 1.0))
    return np.abs(resid / np.sqrt(scored[y_err] ** 2 + ls["rms"] ** 2)).to_numpy()


def run_once(seed: int, workdir: Path) -> dict:
    source = "source={use: cepheid.mock, with: {n_stars: 5000, parallax_zero_point: -0.029}}"
    cpu0, t0 = time.process_time(), time.perf_counter()
    folder, manifest = execute("leavitt_law", out=workdir / f"run{seed}", console=Console(stderr=True, quiet=True),
                               show_progress=False, overrides=[source], seed=seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    scored = pd.read_parquet(folder / "scored.parquet")
    pop = scored["truth_population"].to_numpy().astype(str)
    combined = np.where(scored["in_lmc"], scored["score_pw_lmc"], scored["score_pw_mw"])
    dets = manifest["detectors"]
    ls = np.where(scored["in_lmc"], least_squares_scores(scored, dets["pw_lmc"], "W", "W_err"),
                  least_squares_scores(scored, dets["pw_mw"], "M_W", "M_W_err"))
    ls[~np.isfinite(combined)] = np.nan
    lmc = manifest["validation"]["lmc_distance"]
    return {"seed": seed, "wall_s": wall, "cpu_s": cpu, "mcmc_s": {k: v["fit_seconds"] for k, v in dets.items()},
            "converged": all(v["converged"] for v in dets.values()),
            "mu": lmc["distance_modulus"], "mu_err": lmc["distance_modulus_err"], "truth": lmc["truth_distance_modulus"],
            "kpc": lmc["distance_kpc"], "n_members": lmc["n_members"],
            "auc_combined": auc(combined, pop), "auc_least_squares": auc(ls, pop),
            "auc_pw_mw": auc(scored["score_pw_mw"].to_numpy(), pop), "auc_pw_lmc": auc(scored["score_pw_lmc"].to_numpy(), pop),
            "auc_pl_mw": auc(scored["score_pl_mw"].to_numpy(), pop),
            "n_scored": int(np.isfinite(combined).sum()),
            "n_impostors_scored": int((np.isfinite(combined) & np.isin(pop, IMPOSTORS)).sum()),
            "slope_mw": dets["pw_mw"]["posterior"]["slope"]["median"]}


def main(n_seeds: int = 1) -> None:
    print(f"machine: {os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(42, 42 + n_seeds):
            r = run_once(seed, Path(tmp))
            rows.append(r)
            print(f"seed {seed}: recipe wall {r['wall_s']:.1f} s (CPU {r['cpu_s']:.1f} s; MCMC fits "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in r["mcmc_s"].items()) + f"), converged {r['converged']}, "
                  f"load {os.getloadavg()[0]:.2f}")
            print(f"  LMC distance modulus {r['mu']:.4f} ± {r['mu_err']:.4f} mag ({r['kpc']:.2f} kpc, "
                  f"{r['n_members']} members); truth {r['truth']:.3f} -> difference {r['mu'] - r['truth']:+.4f} mag; "
                  f"Pietrzynski+2019 18.477 ± 0.026 -> {r['mu'] - 18.477:+.4f}")
            print(f"  ROC AUC type II + anomalous vs classical ({r['n_impostors_scored']} impostors among "
                  f"{r['n_scored']} scored): MCMC fit of each galaxy {r['auc_combined']:.4f}; least-squares line "
                  f"{r['auc_least_squares']:.4f}; pw_mw {r['auc_pw_mw']:.4f}, pl_mw {r['auc_pl_mw']:.4f}, "
                  f"pw_lmc {r['auc_pw_lmc']:.4f}")
    if n_seeds > 1:
        d = np.array([r["mu"] - r["truth"] for r in rows])
        print(f"over {n_seeds} seeds: wall median {np.median([r['wall_s'] for r in rows]):.1f} s, "
              f"mu - truth mean {d.mean():+.4f} sd {d.std():.4f}, max |d| {np.abs(d).max():.4f}; "
              f"AUC min {min(r['auc_combined'] for r in rows):.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
