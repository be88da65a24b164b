"""Synthetic solar-neighbourhood phase space (disc plus a few halo stars) for tests and benchmarks.

Not a survey mock (``gaia.mock`` is that): just Galactocentric x, y, z (pc) and v_x, v_y, v_z
(km/s) in astropy's Galactocentric convention (Sun at x = -8.122 kpc moving towards +y), with a
``truth_population`` column, so orbit code can be exercised without the Gaia features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.core import TRUTH_COLUMN, ColumnInfo, Table

SUN_X_PC = -8122.0
DISC = {"mean": (12.9, 225.0, 7.8), "sigma": (35.0, 25.0, 18.0)}    # km/s, thin-disc-like
HALO = {"mean": (0.0, 20.0, 0.0), "sigma": (160.0, 100.0, 100.0)}   # km/s, slowly rotating halo


def solar_neighbourhood(n: int, halo_fraction: float = 0.01, radius_pc: float = 100.0, seed: int = 0) -> Table:
    """``n`` stars within ``radius_pc`` of the Sun; a ``halo_fraction`` of them on halo orbits."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=(3, n))
    direction /= np.linalg.norm(direction, axis=0)
    pos = direction * radius_pc * rng.uniform(0, 1, n) ** (1 / 3)
    pos[0] += SUN_X_PC
    is_halo = rng.uniform(size=n) < halo_fraction
    vel = np.empty((3, n))
    for i in range(3):
        vel[i] = np.where(is_halo, rng.normal(HALO["mean"][i], HALO["sigma"][i], n),
                          rng.normal(DISC["mean"][i], DISC["sigma"][i], n))
    df = pd.DataFrame({"source_id": np.arange(1, n + 1, dtype=np.int64) * 7919,
                       "x": pos[0], "y": pos[1], "z": pos[2], "v_x": vel[0], "v_y": vel[1], "v_z": vel[2],
                       TRUTH_COLUMN: np.where(is_halo, "halo", "disc")})
    info = {c: ColumnInfo("pc", f"Galactocentric {c}") for c in ("x", "y", "z")}
    info.update({c: ColumnInfo("km / s", f"Galactocentric {c}") for c in ("v_x", "v_y", "v_z")})
    return Table(df, info, "source_id", {"mock": True, "truth_normal": ["disc"]})
