"""Angular separation from the LMC centre, shared by the region feature and the distance validator."""

from __future__ import annotations

import numpy as np


def separation_deg(ra_deg, dec_deg, centre_deg: tuple[float, float]) -> np.ndarray:
    """Great-circle separation (deg) of each (ra, dec) from ``centre_deg`` (haversine; stable at small angles)."""
    ra, dec = np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float))
    ra0, dec0 = np.radians(centre_deg[0]), np.radians(centre_deg[1])
    h = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * np.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))
