"""Benchmark of the orbits.gala validator: 170,000 stars, 1 Myr steps, summaries included.

Orbits are integrated 100 Myr at a time and continued until each shows a pericentre, an
apocentre and a vertical turning point (up to --max-duration, 2000 Myr as in the
gaia_kinematic recipe; --max-duration 0 = a fixed 100 Myr, the recipe before issue 18), and the
number of summaries that are still bounds is printed.

Prints the wall time and peak memory of the validator (targets: < 15 s on 2 cores, < 2 GB),
then times gala's own Orbit.zmax() / pericenter() / apocenter() / eccentricity() on a
2,000-star subset and reports how well the two agree.

    python benchmarks/orbits.py [--stars 170000] [--subset 2000] [--workers 2]

Phase space comes from gaia.mock + gaia.distance + gaia.galactocentric (the
gaia_kinematic recipe's frame) when the gaia plugin is installed, otherwise from the synthetic
solar neighbourhood in toolkit.plugins.orbits.synthetic.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np


def phase_space_table(n: int, ctx):
    """Stars with Galactocentric x..v_z and a flag column marking the non-disc populations."""
    from toolkit.core import Columns

    try:
        from toolkit.plugins.gaia.features import Distance, Galactocentric
        from toolkit.plugins.gaia.mock import GaiaMock
    except ImportError:
        from toolkit.plugins.orbits.synthetic import solar_neighbourhood

        table, origin = solar_neighbourhood(n, halo_fraction=0.002, seed=1), "synthetic solar neighbourhood"
    else:
        ctx.step = "source.mock"
        table = GaiaMock(n_stars=n, seed=1).load(ctx)
        for step, feature in (("distance", Distance(zero_point=None)),
                              ("galcen", Galactocentric(z_sun=0.0, galcen_distance=8.1))):
            ctx.step = f"features.{step}"
            table = table.with_columns(feature.compute(table, ctx))
        origin = "gaia.mock + gaia.galactocentric (R0 = 8.1 kpc, z_sun = 0)"
    normal = set(table.meta.get("truth_normal", ["disc"]))
    flag = ~np.isin(table.data["truth_population"].astype(str).to_numpy(), list(normal))
    return table.with_columns(Columns().add("flag_truth", flag)), origin


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=170_000)
    parser.add_argument("--subset", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=5_000, help="stars per integration chunk (the validator's chunk_size)")
    parser.add_argument("--max-duration", type=float, default=2000.0,
                        help="max_duration_myr of the validator (0: fixed 100 Myr)")
    args = parser.parse_args()

    import astropy.units as u
    import gala.dynamics as gd

    from toolkit.core import RunContext
    from toolkit.plugins.orbits.integration import OrbitIntegrator
    from toolkit.plugins.orbits.summaries import orbit_summaries
    from toolkit.plugins.orbits.validator import GalaOrbits

    ctx = RunContext(seed=1, show_progress=False, figures=False)
    t0 = time.perf_counter()
    table, origin = phase_space_table(args.stars, ctx)
    print(f"phase space: {len(table):,} stars from {origin} ({time.perf_counter() - t0:.1f} s); "
          f"{int(table.data['flag_truth'].sum())} flagged (non-disc truth)")
    rss_before = rss_gb()

    validator = GalaOrbits(potential="MilkyWayPotential", version="v2", duration_myr=100, step_myr=1,
                           max_duration_myr=args.max_duration or None, min_radial_turns=2,
                           reference_fraction=1.0, workers=args.workers, chunk_size=args.chunk)
    ctx.step = "validators.orbits"
    validator.validate(table.take(np.arange(min(2000, len(table)))), ctx)      # warm-up: gala's first call
    t0, c0 = time.perf_counter(), time.process_time()
    val = validator.validate(table, ctx)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_after = rss_gb()
    tracemalloc.start()
    validator.validate(table, ctx)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    s = val.summary
    print(f"\norbits.gala on {len(table):,} stars, segments of {s['integration']['n_steps']} steps of 1 Myr "
          f"(continued up to {s['integration']['max_duration_myr']} Myr), "
          f"{args.workers} worker(s), chunks of {args.chunk:,}:")
    print(f"  wall time (validate, summaries, E/L_z, comparison): {wall:.2f} s   [target < 15 s]")
    print(f"  CPU time of the process meanwhile (both threads):    {cpu:.2f} s "
          f"(wall > CPU / {args.workers} means other processes shared the cores)")
    print(f"  of which integration + summaries:                   {s['integration']['seconds']:.2f} s")
    print(f"  peak allocations inside validate (tracemalloc):      {traced_peak / 1024**3:.2f} GB")
    print(f"  process peak RSS: {rss_after:.2f} GB (was {rss_before:.2f} GB before validate)   [target < 2 GB]")
    print(f"  orbit_status: {s['orbit_status']}")
    b, dur = s["bounds"], s["integration"]["duration_per_star_myr"]
    print(f"  summaries that are bounds: radial {b['radial_bounds']:,}, zmax {b['zmax_bounds']:,} of "
          f"{b['integrated']:,} integrated (fraction with any bound {b['fraction_with_bounds']})")
    print(f"  integration per star: median {dur['median']:g} Myr, max {dur['max']:g} Myr; "
          f"stars by duration {dur['stars_by_duration']}")
    cz = s["comparison"]["orbit_zmax"]
    print(f"  zmax median flagged {cz['median_flagged']} kpc vs reference {cz['median_reference']} kpc, "
          f"KS D = {cz['ks_statistic']}, p = {cz['ks_pvalue']}")

    # --- gala's own methods on a subset -------------------------------------------------
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(table), size=min(args.subset, len(table)), replace=False))
    pos = np.stack([table.quantity(c).to_value(u.kpc)[rows] for c in ("x", "y", "z")])
    vel = np.stack([table.quantity(c).to_value(u.km / u.s)[rows] for c in ("v_x", "v_y", "v_z")])
    xyz, t = OrbitIntegrator(validator.potential, 1.0, 100).orbits(pos, vel)
    orbit = gd.Orbit(pos=xyz * u.kpc, vel=np.zeros_like(xyz) * u.kpc / u.Myr, t=t * u.Myr)
    t0 = time.perf_counter()
    mine = orbit_summaries(xyz, t)
    t_mine = time.perf_counter() - t0
    theirs, times = {}, {}
    for key, method in (("zmax", orbit.zmax), ("rperi", orbit.pericenter), ("rapo", orbit.apocenter),
                        ("ecc", orbit.eccentricity)):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # gala: mean of no turning points
            value = method()
        times[key] = time.perf_counter() - t0
        theirs[key] = np.asarray(value.to_value(u.kpc) if key != "ecc" else value, float)
    n = len(rows)
    print(f"\ngala's own methods on {n:,} stars (same 100 Myr orbits):")
    print(f"  vectorised summaries (all four + period): {t_mine * 1e3:.1f} ms "
          f"({t_mine / n * 1e6:.1f} us/star)")
    for key in theirs:
        print(f"  gala {key:5s}: {times[key]:6.2f} s ({times[key] / n * 1e3:.2f} ms/star; "
              f"{times[key] / n * args.stars:.0f} s for {args.stars:,})")
    print("\nagreement where gala gives a value (gala: NaN where no turning point lies inside the orbit):")
    print(f"  {'':5s} {'gala finite':>11s} {'median |rel diff|':>18s} {'95th pct':>10s} {'max':>10s}")
    for key in theirs:
        ok = np.isfinite(theirs[key]) & np.isfinite(mine[key])
        if not ok.any():
            print(f"  {key:5s} {0:>11d}")
            continue
        rel = np.abs(mine[key][ok] - theirs[key][ok]) / np.maximum(np.abs(theirs[key][ok]), 1e-12)
        print(f"  {key:5s} {ok.sum():>6d}/{n:<4d} {np.median(rel):>18.2e} {np.percentile(rel, 95):>10.2e} "
              f"{rel.max():>10.2e}")
    nan_ecc = ~np.isfinite(theirs["ecc"])
    print(f"  gala eccentricity is NaN for {nan_ecc.sum()}/{n} stars; the validator gives every one a value "
          f"(a lower bound, orbit_status too_short, where no pericentre or apocentre was reached).")


if __name__ == "__main__":
    main()
