"""Benchmark: the moving_group recipe's detector on real Beta Pic and TW Hya members in a realistic field.

The table (tests/moving_group_data.py): the 21 classic BPMG members and the 15 TWA core members
Chronostar ships (../shared/data), mixed into the project's own 100 pc field model (gaia.mock,
170,000 stars of the DR3 RV sample), converted by mixture.cartesian. The recipe's mixture.spacetime
step is run as the recipe gives it (Chronostar's BPMG box, BIC growth, KDE field background,
MilkyWayPotential2022 epicyclic frame); --named runs it once more with beta Pic named
(select: containing), --background gaussian with one broad field Gaussian instead of the KDE.

Prints, per run, the adjusted Rand index of the flagged groups against the known members (all
groups, BPMG alone, TWA alone; over the stars in the fitted box), each group's members and age
with its interval, the BIC path, and the time.

Run: .venv/bin/python benchmarks/moving_group_real.py [--background kde gaussian] [--named]   (needs ../shared/data)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main():
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--background", nargs="+", default=["kde"], choices=["kde", "gaussian", "fitted"],
                    help="field models to run (the recipe uses kde)")
    ap.add_argument("--named", action="store_true", help="also run with beta Pic named (select: containing)")
    args = ap.parse_args()
    from sklearn.metrics import adjusted_rand_score

    from moving_group_data import real_groups_in_mock_field
    from toolkit.core import RunContext
    from toolkit.plugins.mixture.spacetime_detector import SpaceTimeDetector

    data = REPO.parent / "shared" / "data"
    if not data.is_dir():
        sys.exit(f"{data} is absent: this benchmark needs the real member lists")
    print(f"cores={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    tab = real_groups_in_mock_field(data)
    truth_all = tab.data["truth_population"].to_numpy()
    print(f"table: {len(tab):,} stars (BPMG {int((truth_all == 'BPMG').sum())}, TWA {int((truth_all == 'TWA').sum())}, "
          f"gaia.mock field) in {time.perf_counter() - t0:.1f} s")
    recipe = yaml.safe_load((REPO / "recipes" / "moving_group.yaml").read_text())
    (step,) = [d for d in recipe["detectors"] if d["use"] == "mixture.spacetime"]
    beta_pic = int(tab.data["source_id"].to_numpy()[tab.data["name"].to_numpy() == "beta Pic"][0])
    runs = []
    for bg in args.background:
        runs.append((f"recipe (BIC growth), background {bg}", {"background": bg}))
        if args.named:
            runs.append((f"beta Pic named (select: containing), background {bg}",
                         {"background": bg, "select": "containing", "containing": [beta_pic]}))
    for label, extra in runs:
        cfg = {**step["with"], **extra}
        ctx = RunContext(seed=recipe.get("seed", 7), show_progress=False)
        t0 = time.perf_counter()
        out = SpaceTimeDetector(**cfg).detect(tab, ctx)
        seconds = time.perf_counter() - t0
        member_of = out.columns.data["st_member_of"]
        fitted = member_of >= 0
        t = truth_all[fitted]
        labels = np.where(out.flag, member_of, 0)[fitted]
        print(f"\n{label}: {int(fitted.sum())} stars in the box (BPMG {int((t == 'BPMG').sum())}, "
              f"TWA {int((t == 'TWA').sum())}, field {int((t == 'field').sum())}), {seconds:.1f} s")
        for p in out.summary["growth_path"] or []:
            print(f"  BIC path: {p['n_groups']} group(s) from {p['init']}: {p['bic']:.1f}"
                  f"{'  accepted' if p['accepted'] else ''}  ages {[round(a, 1) for a in p['ages']]}")
        for r in out.summary["report"]:
            k = int(r["group"].split()[-1])
            sel = labels == k
            comp = {c: int((t[sel] == c).sum()) for c in ("BPMG", "TWA", "field")}
            print(f"  {r['group']}{' (flagged)' if r['flagged'] else ''}: {r['n_members']} members {comp}; "
                  f"age {r['age_myr']} Myr, 1-sigma {r['age_interval_myr']}; mean XYZ "
                  f"({r['mean_X']}, {r['mean_Y']}, {r['mean_Z']}) pc UVW ({r['mean_U']}, {r['mean_V']}, "
                  f"{r['mean_W']}) km/s; std ({r['std_X']}, {r['std_Y']}, {r['std_Z']}, {r['std_U']}, "
                  f"{r['std_V']}, {r['std_W']})")
        X = np.column_stack([tab.data[c].to_numpy()[fitted] for c in "XYZUVW"])
        for name in ("BPMG", "TWA"):
            held = labels[(t == name) & (labels > 0)]
            groups = [int(np.bincount(held).argmax())] if len(held) else []
            ari = adjusted_rand_score(t == name, np.isin(labels, groups))
            hit = (t == name) & np.isin(labels, groups)
            miss = (t == name) & ~hit
            line = f"  {name}: ARI {ari:.3f} (found {int(hit.sum())} of {int((t == name).sum())} in the box)"
            if hit.any() and miss.any():
                c = X[hit].mean(axis=0)
                dpos = lambda m: np.median(np.linalg.norm(X[m, :3] - c[:3], axis=1))   # noqa: E731
                dvel = lambda m: np.median(np.linalg.norm(X[m, 3:] - c[3:], axis=1))   # noqa: E731
                line += (f"; median distance from the found members' centre: found {dpos(hit):.0f} pc, "
                         f"{dvel(hit):.1f} km/s, missed {dpos(miss):.0f} pc, {dvel(miss):.1f} km/s; missed: "
                         + ", ".join(tab.data["name"].to_numpy()[fitted][miss]))
            print(line)
        print(f"  all groups against BPMG/TWA/field: ARI {adjusted_rand_score(t, labels):.3f}")


if __name__ == "__main__":
    main()
