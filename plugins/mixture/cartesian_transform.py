"""Astrometry -> heliocentric Galactic XYZUVW with analytic Jacobians, and back.

Astrometric vector per star (Gaia conventions):
    a = (alpha*, delta, parallax, pmra, pmdec, radial_velocity)
with the *offsets* in alpha* = alpha cos(delta) and delta in mas (as Gaia's
``ra_error`` is sigma of alpha*), parallax in mas, proper motions in mas/yr
(pmra already includes cos delta) and RV in km/s.

    position  p = d r,              d = 1000 / parallax   [pc]
    velocity  v = rv r + (K/parallax) (pmra e_a + pmdec e_d)   [km/s]

rotated into Galactic axes. The Jacobian d(XYZUVW)/d(a) is written out
(see ``jacobian``), so covariances propagate as J C J^T with one einsum for
all stars: first order, exact for small relative errors, checked against a
Monte Carlo propagation in tests/test_mixture_cartesian.py.
"""

from __future__ import annotations

import numpy as np

from .frames import K_PM, icrs_to_galactic_matrix, sky_basis

MAS_TO_RAD = np.pi / (180.0 * 3600.0 * 1000.0)


def astrometry_to_cartesian(ra_deg, dec_deg, parallax, pmra, pmdec, rv) -> np.ndarray:
    """(n, 6) XYZUVW (pc, km/s) from astrometry (deg, deg, mas, mas/yr, mas/yr, km/s)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    r, e_a, e_d = sky_basis(ra, dec)
    d = 1000.0 / parallax
    pos = d[:, None] * r
    vel = rv[:, None] * r + (K_PM / parallax)[:, None] * (pmra[:, None] * e_a + pmdec[:, None] * e_d)
    R = icrs_to_galactic_matrix()
    return np.hstack([pos @ R.T, vel @ R.T])


def jacobian(ra_deg, dec_deg, parallax, pmra, pmdec, rv) -> np.ndarray:
    """(n, 6, 6) d(XYZUVW)/d(alpha*[mas], delta[mas], parallax, pmra, pmdec, rv)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    r, e_a, e_d = sky_basis(ra, dec)
    n = len(ra)
    d = 1000.0 / parallax
    f = K_PM / parallax                       # km/s per mas/yr
    tan_d = np.tan(dec)
    pm_vec = pmra[:, None] * e_a + pmdec[:, None] * e_d
    # derivatives of the basis with respect to alpha* (radians) and delta (radians)
    de_a_dastar = -(r - tan_d[:, None] * e_d)   # d e_a / d alpha* = -(cos a, sin a, 0)/cos d
    de_d_dastar = -tan_d[:, None] * e_a         # d e_d / d alpha* = -sin d e_a / cos d
    J_icrs = np.zeros((n, 6, 6))
    # positions
    J_icrs[:, 0:3, 0] = d[:, None] * e_a * MAS_TO_RAD
    J_icrs[:, 0:3, 1] = d[:, None] * e_d * MAS_TO_RAD
    J_icrs[:, 0:3, 2] = -(d / parallax)[:, None] * r
    # velocities
    J_icrs[:, 3:6, 0] = (rv[:, None] * e_a + f[:, None] * (pmra[:, None] * de_a_dastar
                                                          + pmdec[:, None] * de_d_dastar)) * MAS_TO_RAD
    J_icrs[:, 3:6, 1] = (rv[:, None] * e_d - (f * pmdec)[:, None] * r) * MAS_TO_RAD
    J_icrs[:, 3:6, 2] = -(f / parallax)[:, None] * pm_vec
    J_icrs[:, 3:6, 3] = f[:, None] * e_a
    J_icrs[:, 3:6, 4] = f[:, None] * e_d
    J_icrs[:, 3:6, 5] = r
    R = icrs_to_galactic_matrix()
    rot = np.zeros((6, 6))
    rot[:3, :3] = R
    rot[3:, 3:] = R
    return np.einsum("ij,njk->nik", rot, J_icrs)


def propagate_covariance(jac: np.ndarray, cov_astrometry: np.ndarray) -> np.ndarray:
    """J C J^T for every star at once."""
    return np.einsum("nij,njk,nlk->nil", jac, cov_astrometry, jac)


def cartesian_to_astrometry(xyzuvw: np.ndarray) -> dict[str, np.ndarray]:
    """Inverse of ``astrometry_to_cartesian``: ra, dec (deg), parallax (mas), pmra, pmdec (mas/yr), rv (km/s)."""
    R = icrs_to_galactic_matrix()
    pos = xyzuvw[:, :3] @ R            # R^T applied to row vectors
    vel = xyzuvw[:, 3:] @ R
    d = np.linalg.norm(pos, axis=1)
    ra = np.arctan2(pos[:, 1], pos[:, 0]) % (2 * np.pi)
    dec = np.arcsin(np.clip(pos[:, 2] / d, -1, 1))
    r, e_a, e_d = sky_basis(ra, dec)
    parallax = 1000.0 / d
    rv = np.einsum("ni,ni->n", vel, r)
    pmra = np.einsum("ni,ni->n", vel, e_a) * parallax / K_PM
    pmdec = np.einsum("ni,ni->n", vel, e_d) * parallax / K_PM
    return {"ra": np.degrees(ra), "dec": np.degrees(dec), "parallax": parallax,
            "pmra": pmra, "pmdec": pmdec, "radial_velocity": rv}
