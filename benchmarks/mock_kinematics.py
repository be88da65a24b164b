"""Benchmark: gaia.mock's 100 pc RV sample (DR2 and DR3 selections) against published local kinematics.

Prints, for each release, the statistics tests/test_gaia_mock_kinematics.py checks (red-dwarf
velocity dispersions, mean heliocentric U, V, W, Toomre halo-like and thick-disc-like fractions,
median M_G and BP-RP) beside the published values, and optionally the same numbers for a real
Gaia table (any file core.io.read_table reads, with the Gaia column names).

    python benchmarks/mock_kinematics.py                    # 170k stars per release, recipe seed 42
    python benchmarks/mock_kinematics.py --n 50000 --real stars.fits
    python benchmarks/mock_kinematics.py --n 50000 --real ../shared/data/gaia_dr2_rv_100_pyia.fits \
        --real-max-distance 1e9      # 100 real DR2 RV stars at ~1 kpc: not a 100 pc sample
"""

from __future__ import annotations

import argparse
import time

from toolkit.core import RunContext
from toolkit.core.io import read_table
from toolkit.plugins.gaia.local_sample import local_rv_selection, summarise
from toolkit.plugins.gaia.mock import GaiaMock
from toolkit.plugins.gaia.mock_kinematics import DB98_RED_DISPERSIONS, DB98_V0, FUCHS2009_MEAN_UVW, STROMBERG_K

ROWS = [("red_sigma_U", "sigma_U red dwarfs", f"{DB98_RED_DISPERSIONS[0]:.1f} (Dehnen & Binney 1998)"),
        ("red_sigma_V", "sigma_V red dwarfs", f"{DB98_RED_DISPERSIONS[1]:.1f} (DB98)"),
        ("red_sigma_W", "sigma_W red dwarfs", f"{DB98_RED_DISPERSIONS[2]:.1f} (DB98)"),
        ("red_mean_V", "mean V red dwarfs", f"{FUCHS2009_MEAN_UVW[1][0]:.0f} +- {FUCHS2009_MEAN_UVW[1][1]:.0f} "
                                            "(Fuchs et al. 2009); Strömberg/DB98 below"),
        ("mean_U", "mean U", "-11.1 (Schönrich et al. 2010); -9 +- 1 (Fuchs 2009)"),
        ("mean_V", "mean V", "see red dwarfs"),
        ("mean_W", "mean W", "-7.25 (SBD10); -7 +- 1 (Fuchs 2009)"),
        ("sigma_U", "sigma_U all", ""), ("sigma_V", "sigma_V all", ""), ("sigma_W", "sigma_W all", ""),
        ("thick_like", "70-180 km/s fraction", "~0.121 (Bensby et al. mixture)"),
        ("halo_like", "> 220 km/s fraction", "~0.0013 (Bensby et al. mixture)"),
        ("median_M_G", "median M_G", "none published known"), ("median_bp_rp", "median BP-RP", "none published known"),
        ("n", "stars", "")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=170_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--real", help="a real Gaia table to summarise the same way")
    ap.add_argument("--real-max-distance", type=float, default=100.0,
                    help="pc; the real table's distance cut (the DR2 file in ../shared/data lies at ~1 kpc: 1e9 keeps it)")
    args = ap.parse_args()
    columns = {}
    for release in ("dr2", "dr3"):
        t0 = time.perf_counter()
        tab = GaiaMock(n_stars=args.n, release=release).load(RunContext(seed=args.seed, show_progress=False))
        columns[f"mock {release}"] = summarise(local_rv_selection(tab.data))
        print(f"mock {release}: {args.n} stars in {time.perf_counter() - t0:.1f} s")
    if args.real:
        real = read_table(args.real).to_pandas()
        columns["real"] = summarise(local_rv_selection(real, args.real_max_distance))
    names = list(columns)
    print(f"\n{'quantity (km/s)':24s}" + "".join(f"{n:>12s}" for n in names) + "   published")
    for key, label, ref in ROWS:
        cells = "".join(f"{columns[n][key]:12.4g}" for n in names)
        print(f"{label:24s}{cells}   {ref}")
    for n in names:
        s = columns[n]
        print(f"Strömberg (DB98) mean V for {n}'s red sigma_U: {-DB98_V0 - s['red_sigma_U'] ** 2 / STROMBERG_K:.1f}")


if __name__ == "__main__":
    main()
