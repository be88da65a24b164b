"""Benchmark: the Chronostar worked example, done in seconds, on independently generated stars.

1,000 background stars (position dispersion 500 pc, velocity 30 km/s) and 200
association stars (birth dispersion 50 pc, 1.5 km/s, age 30 Myr), Gaia-like
errors scaled by 0.3 -> mixture.cartesian -> mixture.gaussian (BIC growth) ->
mixture.spacetime (ages).

The association is *not* traced with the fit's epicyclic map: its stars are
placed in the Galaxy at birth and integrated with gala (DOP853) in
MilkyWayPotential2022 (gala_association.py). The fit uses the epicyclic map with
that potential's local Oort constants and vertical frequency
(galactic_constants.py), so the benchmark tests the physics (the frame of the
measured velocities, the linearisation), not the fit's self-consistency. Each
seed is fitted twice: with the measured velocities converted to the co-rotating
frame (measured_frame=lsr, the default, as Chronostar) and without
(measured_frame=corotating, the toolkit before issue 18).

Targets (issue 18): age within 1 Myr of 30, adjusted Rand index >= 0.99,
2 components by BIC, under 10 s on 2 cores. Then the time of the overlap
computation (ln N(x; m, C + S_i)) for 100,000 stars.

Run: .venv/bin/python benchmarks/mixture.py [--seeds 0 1 2] [--figures DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np


POTENTIAL = "MilkyWayPotential2022"
TRUE_AGE = 30.0


def worked_example(seed: int, figures: Path | None, measured_frame: str = "lsr"):
    from sklearn.metrics import adjusted_rand_score

    from toolkit.core import RunContext
    from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian
    from toolkit.plugins.mixture.gaussian_detector import GaussianMixtureDetector
    from toolkit.plugins.mixture.spacetime_detector import SpaceTimeDetector
    from toolkit.plugins.mixture.synth_association import SyntheticAssociation

    ctx = RunContext(seed=seed, workdir=figures / f"seed{seed}" if figures else None, show_progress=False)
    t0 = time.perf_counter()
    ctx.step = "source.synth"
    # defaults = the worked example; members integrated with gala, not with the fit's map
    tab = SyntheticAssociation(error_scale=0.3, integrator="gala", epicyclic={"potential": POTENTIAL}).load(ctx)
    ctx.step = "features.cartesian"
    tab = tab.with_columns(GaiaCartesian().compute(tab, ctx))
    t_prep = time.perf_counter() - t0
    ctx.step = "detectors.gm"
    gm = GaussianMixtureDetector(max_components=4).detect(tab, ctx)
    tab = tab.with_columns(gm.columns)
    t_gm = time.perf_counter() - t0 - t_prep
    ctx.step = "detectors.st"
    st = SpaceTimeDetector(init="memberships", init_memberships=["p_background", "p_comp1"],
                           age_max=100, age_step=1,
                           epicyclic={"potential": POTENTIAL, "measured_frame": measured_frame}).detect(tab, ctx)
    t_total = time.perf_counter() - t0
    truth = (tab.data["truth_population"] != "background").to_numpy().astype(int)
    ari_gm = adjusted_rand_score(truth, (gm.columns.data["member_of"] > 0).astype(int))
    ari_st = adjusted_rand_score(truth, (st.columns.data["st_member_of"] > 0).astype(int))
    grp = st.summary["groups"][0]
    return {"seed": seed, "measured_frame": measured_frame, "n_components_bic": gm.summary["n_components"],
            "bic_by_components": gm.summary["bic_by_components"], "ari_gaussian": ari_gm, "ari_spacetime": ari_st,
            "age": grp["age"], "age_interval": grp["age_interval_1sigma"], "sigma_position": grp["sigma_position"],
            "sigma_velocity": grp["sigma_velocity"], "t_prepare": t_prep, "t_gaussian": t_gm,
            "t_spacetime": t_total - t_prep - t_gm, "t_total": t_total}


def overlap_timing(n: int = 100_000, repeats: int = 3):
    from threadpoolctl import threadpool_limits

    from toolkit.plugins.mixture.gaussian_overlap import log_overlap

    rng = np.random.default_rng(0)
    X = rng.normal(0, 50, (n, 6))
    A = rng.normal(0, 1, (n, 6, 6))
    S = np.einsum("nij,nkj->nik", A, A)
    m, C = np.zeros(6), np.diag([50.0 ** 2] * 3 + [1.5 ** 2] * 3)
    best = np.inf
    with threadpool_limits(1):
        for _ in range(repeats):
            t = time.perf_counter()
            log_overlap(X, S, m, C)
            best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--figures", type=Path, default=None, help="write the figures of each run here")
    ap.add_argument("--frames", nargs="+", default=["lsr", "corotating"], choices=["lsr", "corotating"],
                    help="measured_frame values to fit with (lsr: the fix; corotating: before issue 18)")
    args = ap.parse_args()
    print(f"Chronostar worked example (1000 field + 200 association stars, errors x0.3, association integrated "
          f"with gala in {POTENTIAL}, true age {TRUE_AGE:g} Myr), cores={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = []
    for seed in args.seeds:
        for frame in args.frames:
            r = worked_example(seed, args.figures, frame)
            rows.append(r)
            ok = (r["n_components_bic"] == 2 and r["ari_spacetime"] >= 0.99 and abs(r["age"] - TRUE_AGE) <= 1
                  and r["t_total"] < 10)
            print(f"seed {seed} measured_frame={frame}: K(BIC)={r['n_components_bic']} BIC={r['bic_by_components']} "
                  f"ARI gaussian={r['ari_gaussian']:.3f} spacetime={r['ari_spacetime']:.3f} "
                  f"age={r['age']:.2f} Myr [{r['age_interval'][0]:.2f}, {r['age_interval'][1]:.2f}] "
                  f"sigma_x={r['sigma_position']:.1f} pc sigma_v={r['sigma_velocity']:.2f} km/s | "
                  f"time prep {r['t_prepare']:.2f}s + XD/BIC {r['t_gaussian']:.2f}s + space-time {r['t_spacetime']:.2f}s "
                  f"= {r['t_total']:.2f}s  {'PASS' if ok else 'FAIL'}")
    t = overlap_timing()
    print(f"overlap ln N(x; m, C + S_i) for 100,000 stars (6D, one BLAS thread): {t:.3f} s "
          f"({t / 1e5 * 1e6:.2f} us per star)")


if __name__ == "__main__":
    main()
