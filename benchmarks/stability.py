"""Seed stability of the kinematic recipes' rankings (issue 18, part 1).

Runs each recipe whole (``toolkit run``, in-process) once per seed and prints, per
seed, where the autoencoder step ranks the stars that must come out on top:

- hipparcos_kinematic (real stars): the halo stars of the named-star list
  (``plugins/hipparcos/named_stars.py``: Kapteyn's star, Groombridge 1830, HD 134439/
  134440, HD 140283, HD 84937, HD 19445, HD 25329). Goal: each that passes the
  cuts in the top 2% for every seed.
- gaia_kinematic (the mock, its stars fixed with ``source.with.seed``; only the
  run's seed varies): the mock's halo stars (truth labels): share in the top 2%
  per seed, how many are there for every seed, and each star's rank spread.

Also the time per run (wall and this process's CPU seconds), the machine's load,
and the manifest's stability record (Spearman between members, votes).

    python benchmarks/stability.py                                 # both recipes, seeds 1-10
    python benchmarks/stability.py --recipes hipparcos_kinematic --seeds 1 2 3
    python benchmarks/stability.py --set detectors.0.with.members=1   # the single-model baseline
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

GAIA_SOURCE = "source={use: gaia.mock, with: {n_stars: 170000, seed: 42}}"
TOP = 0.02


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def run(recipe: str, seed: int, sets: list[str], workdir: Path) -> tuple[pd.DataFrame, dict, float, float, float]:
    """One whole run: (scored table, manifest, wall seconds, CPU seconds, 1-minute load at the start)."""
    from rich.console import Console

    from toolkit.core.run import execute

    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), cpu_seconds()
    path, manifest = execute(recipe, out=workdir / f"{recipe}_{seed}", overrides=sets, seed=seed,
                             show_progress=False, console=Console(stderr=True, quiet=True))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    table = pd.read_parquet(path / "scored.parquet")
    return table, manifest, wall, cpu, load


def ranks(table: pd.DataFrame, column: str) -> np.ndarray:
    """1-based rank of each row by descending score (NaN last)."""
    score = np.nan_to_num(table[column].to_numpy(float), nan=-np.inf)
    out = np.empty(len(score), int)
    out[np.argsort(-score, kind="stable")] = np.arange(1, len(score) + 1)
    return out


def stability_record(manifest: dict, step: str) -> str:
    det = manifest["detectors"][step]
    if "member_spearman" not in det:
        return "single model"
    rho, votes = det["member_spearman"], det.get("flag_agreement", {})
    return (f"{det['members']} members ({det['combine']}): Spearman min {rho['min']:.2f} median {rho['median']:.2f}; "
            f"flagged by all members {votes.get('all_members')} of {det['n_flagged']}")


def hipparcos(seeds, sets, workdir, step="ae") -> bool:
    from toolkit.plugins.hipparcos.named_stars import NAMED_STARS

    halo = {hip: name for hip, name in NAMED_STARS.items() if "(halo)" in name}
    rows, notes = {}, []
    for seed in seeds:
        table, manifest, wall, cpu, load = run("hipparcos_kinematic", seed, sets, workdir)
        r = ranks(table, f"score_{step}")
        where = dict(zip(table["source_id"].to_numpy(int), r))
        rows[seed] = {hip: where.get(hip) for hip in halo}
        n = len(table)
        notes.append(f"seed {seed:>2}: {wall:5.1f} s wall, {cpu:5.1f} s CPU, load {load:.1f}; "
                     f"{stability_record(manifest, step)}")
        print(notes[-1], file=sys.stderr, flush=True)
    cut = int(np.ceil(TOP * n))
    print(f"\nhipparcos_kinematic: rank of each named halo star by score_{step} among {n} stars "
          f"(top {TOP:.0%} = rank <= {cut})")
    print(f"{'star':<28}" + "".join(f"{s:>7}" for s in seeds) + f"{'worst':>8}  top {TOP:.0%} every seed")
    ok_all = True
    for hip, name in halo.items():
        got = [rows[s][hip] for s in seeds]
        if any(g is None for g in got):
            print(f"{name + ' HIP ' + str(hip):<28}  not in the table (removed by the cuts)")
            continue
        ok = max(got) <= cut
        ok_all &= ok
        print(f"{name.replace(' (halo)', '') + ' HIP ' + str(hip):<28}" + "".join(f"{g:>7}" for g in got)
              + f"{max(got):>8}  {'yes' if ok else 'NO'}")
    print("\n".join(notes))
    return ok_all


def gaia(seeds, sets, workdir, step="ae") -> None:
    per_seed, notes, ids = {}, [], None
    for seed in seeds:
        table, manifest, wall, cpu, load = run("gaia_kinematic", seed, [GAIA_SOURCE, *sets], workdir)
        halo = table["truth_population"].to_numpy(str) == "halo"
        if ids is None:
            ids = table["source_id"].to_numpy()[halo]
        r = pd.Series(ranks(table, f"score_{step}"), index=table["source_id"].to_numpy())
        per_seed[seed] = r.loc[ids].to_numpy()
        n = len(table)
        notes.append(f"seed {seed:>2}: {wall:5.1f} s wall, {cpu:5.1f} s CPU, load {load:.1f}; "
                     f"{stability_record(manifest, step)}")
        print(notes[-1], file=sys.stderr, flush=True)
    cut = int(np.ceil(TOP * n))
    R = np.column_stack([per_seed[s] for s in seeds])
    print(f"\ngaia_kinematic (gaia.mock, 170,000 stars, mock seed 42): the {len(ids)} halo stars by score_{step} "
          f"among {n} (top {TOP:.0%} = rank <= {cut})")
    print("seed                      " + "".join(f"{s:>7}" for s in seeds))
    print("halo stars in the top 2%  " + "".join(f"{int((R[:, j] <= cut).sum()):>7}" for j in range(len(seeds))))
    print("median halo rank          " + "".join(f"{int(np.median(R[:, j])):>7}" for j in range(len(seeds))))
    always, ever = (R <= cut).all(axis=1), (R <= cut).any(axis=1)
    spread = R.max(axis=1) - R.min(axis=1)
    print(f"in the top 2% for every seed: {int(always.sum())} of {len(ids)}; for some seed but not all: "
          f"{int((ever & ~always).sum())}")
    print(f"rank spread over seeds (max - min) per halo star: median {int(np.median(spread))}, "
          f"90th percentile {int(np.percentile(spread, 90))}; among those ever in the top 2%: median "
          f"{int(np.median(spread[ever])) if ever.any() else 0}, worst rank {int(R[ever].max()) if ever.any() else 0}")
    print("\n".join(notes))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipes", nargs="+", default=["hipparcos_kinematic", "gaia_kinematic"])
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(1, 11)))
    p.add_argument("--set", dest="sets", action="append", default=[], help="recipe override, e.g. "
                   "detectors.0.with.members=1")
    p.add_argument("--keep", type=Path, help="keep the run folders here (default: a temporary folder)")
    args = p.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; overrides: {args.sets or 'none'}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        ok = True
        if "hipparcos_kinematic" in args.recipes:
            ok = hipparcos(args.seeds, args.sets, workdir)
        if "gaia_kinematic" in args.recipes:
            gaia(args.seeds, args.sets, workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
