"""The heliocentric Galactic cartesian frame used throughout plugins/mixture.

X points from the Sun to the Galactic centre, Y in the direction of Galactic
rotation, Z to the north Galactic pole (a right-handed system with origin at
the Sun). U, V, W are the velocity components along X, Y, Z relative to the
Sun (km/s). Positions are in pc.

The rotation between ICRS and Galactic cartesian axes is a constant matrix;
it is taken from astropy once (so it follows astropy's Galactic definition)
and then applied with NumPy, which is what lets 100,000 stars be converted
and their covariances propagated in milliseconds.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: km/s per (mas/yr x kpc): v_tan = K * mu / parallax with mu in mas/yr, parallax in mas
K_PM = 4.740470463533348
#: 1 km/s in pc/Myr
KMS_TO_PC_PER_MYR = 1.0227121650537077
CARTESIAN_NAMES = ("X", "Y", "Z", "U", "V", "W")
CARTESIAN_UNITS = ("pc", "pc", "pc", "km / s", "km / s", "km / s")


@lru_cache(maxsize=1)
def icrs_to_galactic_matrix() -> np.ndarray:
    """3x3 rotation R with r_gal = R @ r_icrs (astropy's Galactic frame)."""
    import astropy.units as u
    from astropy.coordinates import ICRS, Galactic

    eye = np.eye(3)
    icrs = ICRS(x=eye[0] * u.one, y=eye[1] * u.one, z=eye[2] * u.one, representation_type="cartesian")
    gal = icrs.transform_to(Galactic()).cartesian
    # column j of R is the image of the j-th ICRS unit vector
    return np.vstack([gal.x.value, gal.y.value, gal.z.value])


def sky_basis(ra_rad: np.ndarray, dec_rad: np.ndarray):
    """Unit vectors (n, 3) in ICRS: line of sight r, east e_alpha, north e_delta."""
    ca, sa, cd, sd = np.cos(ra_rad), np.sin(ra_rad), np.cos(dec_rad), np.sin(dec_rad)
    r = np.stack([cd * ca, cd * sa, sd], axis=-1)
    e_a = np.stack([-sa, ca, np.zeros_like(ra_rad)], axis=-1)
    e_d = np.stack([-sd * ca, -sd * sa, cd], axis=-1)
    return r, e_a, e_d

#: Frames of a velocity in plugins/mixture (positions are heliocentric in all of them, today's axes):
#: "heliocentric" relative to the Sun (what mixture.cartesian computes), "lsr" relative to the local
#: standard of rest (heliocentric + the solar motion), both non-rotating; "corotating" relative to
#: the LSR in the frame turning with it about the Galactic centre (U' = U - Omega0 Y,
#: V' = V + Omega0 X; see epicyclic.py). ``measured_frame`` names the frame the tracer assumes the
#: measured velocities, once the solar motion is added, are in: "lsr" is the physics (as Chronostar);
#: "corotating" reproduces the toolkit before issue 18 for comparison.
MEASURED_FRAMES = ("lsr", "corotating")
