"""Orbit summaries computed at once for many sampled orbits (NumPy over a (time, star) grid).

gala's ``Orbit.zmax()``, ``pericenter()``, ``apocenter()`` and ``eccentricity()`` loop over
orbits in Python (about 1.4 ms (zmax) and 4.4 ms (eccentricity) per star over 100 Myr); the same
definitions on the whole grid cost microseconds per star (README "Orbits"; both measured by
benchmarks/readme_figures.py). The definitions follow gala so the numbers agree:

- a turning point is a strict interior local extremum of the sampled series (as
  ``scipy.signal.argrelmax`` finds, edges excluded), refined by the parabola through it and its
  two neighbours (gala fits the same three points);
- ``extrema="mean"`` (gala's default ``func=np.mean``): pericentre, apocentre and zmax are the
  means of the refined turning points; where the integration shows none, the extreme value
  reached over the integration is used instead (a bound: the true zmax and apocentre are at
  least that, the true pericentre at most that) and ``radial_turns`` < 2 says so;
- ``extrema="max"``: the largest |z| and r and the smallest r reached, turning points included;
- eccentricity = (r_apo - r_peri) / (r_apo + r_peri);
- radial period = 2 (t_last - t_first) / (n - 1) over the n >= 2 radial turning points
  (pericentres and apocentres alternate, half a period apart); NaN when n < 2.
"""

from __future__ import annotations

import numpy as np

EXTREMA_MODES = ("mean", "max")


def _turning_points(series: np.ndarray, times: np.ndarray):
    """Strict interior local maxima of ``series`` (time, star), refined by a parabola.

    Returns (star index, refined value, refined time) for every maximum found; only these few
    points are refined, so the cost is a comparison pass over the grid.
    """
    left, mid, right = series[:-2], series[1:-1], series[2:]
    it, star = np.nonzero((mid > left) & (mid > right))
    lo, mi, hi = left[it, star], mid[it, star], right[it, star]
    curvature = lo - 2.0 * mi + hi          # < 0 at a strict maximum
    slope = lo - hi
    offset = 0.5 * slope / curvature        # in steps, within (-0.5, 0.5)
    value = mi - 0.25 * slope * offset
    time = times[it + 1] + offset * (times[1] - times[0])
    return star, value, time


def _per_star_mean(star: np.ndarray, values: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(star, weights=values, minlength=len(count)) / count


def _per_star_reduce(ufunc, star: np.ndarray, values: np.ndarray, n: int, start: float) -> np.ndarray:
    out = np.full(n, start)
    ufunc.at(out, star, values)
    return out


def orbit_summaries(xyz: np.ndarray, times: np.ndarray, extrema: str = "mean",
                    circular_tolerance: float = 1e-6) -> dict[str, np.ndarray]:
    """Summaries of sampled orbits.

    ``xyz``: positions (3, time, star) in kpc, Galactocentric Cartesian, on a uniform time grid
    ``times`` (Myr). Returns per-star arrays: ``zmax``, ``rperi``, ``rapo`` (kpc), ``ecc``,
    ``period_r`` (Myr), ``radial_turns`` (number of radial turning points seen), ``z_turns``
    (number of |z| maxima seen: 0 means zmax is a bound) and
    ``circular`` (True where the radius varies by less than ``circular_tolerance`` in
    eccentricity: turning points there are round-off, so no period is given).
    """
    if extrema not in EXTREMA_MODES:
        raise ValueError(f"extrema must be one of {EXTREMA_MODES}, got {extrema!r}")
    if xyz.ndim != 3 or xyz.shape[0] != 3:
        raise ValueError(f"xyz must have shape (3, time, star), got {xyz.shape}")
    if xyz.shape[1] < 3:
        raise ValueError("an orbit needs at least 3 samples to find turning points")
    times = np.asarray(times, dtype=float)
    r = np.sqrt(xyz[0] ** 2 + xyz[1] ** 2 + xyz[2] ** 2)
    absz = np.abs(xyz[2])
    n = r.shape[1]

    apo_star, apo_val, apo_t = _turning_points(r, times)
    peri_star, peri_neg, peri_t = _turning_points(-r, times)
    z_star, z_val, _ = _turning_points(absz, times)
    n_apo = np.bincount(apo_star, minlength=n)
    n_peri = np.bincount(peri_star, minlength=n)
    n_z = np.bincount(z_star, minlength=n)

    r_min, r_max, z_reach = r.min(0), r.max(0), absz.max(0)
    if extrema == "mean":
        rapo = np.where(n_apo > 0, _per_star_mean(apo_star, apo_val, n_apo), r_max)
        rperi = np.where(n_peri > 0, -_per_star_mean(peri_star, peri_neg, n_peri), r_min)
        zmax = np.where(n_z > 0, _per_star_mean(z_star, z_val, n_z), z_reach)
    else:
        rapo = _per_star_reduce(np.maximum, apo_star, apo_val, n, -np.inf)
        rapo = np.maximum(r_max, rapo)
        rperi = np.minimum(r_min, -_per_star_reduce(np.maximum, peri_star, peri_neg, n, -np.inf))
        zmax = np.maximum(z_reach, _per_star_reduce(np.maximum, z_star, z_val, n, -np.inf))
    with np.errstate(invalid="ignore", divide="ignore"):
        ecc = (rapo - rperi) / (rapo + rperi)
        circular = ((r_max - r_min) / (r_max + r_min)) < circular_tolerance

    turns = n_apo + n_peri
    turn_star = np.concatenate([apo_star, peri_star])
    turn_t = np.concatenate([apo_t, peri_t])
    first = _per_star_reduce(np.minimum, turn_star, turn_t, n, np.inf)
    last = _per_star_reduce(np.maximum, turn_star, turn_t, n, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        period = np.where((turns >= 2) & ~circular, 2.0 * (last - first) / (turns - 1), np.nan)
    turns = np.where(circular, 0, turns)
    return {"zmax": zmax, "rperi": rperi, "rapo": rapo, "ecc": ecc, "period_r": period,
            "radial_turns": turns.astype(np.int64), "circular": circular, "z_turns": n_z.astype(np.int64)}
