"""Energy, angular momentum, Toomre velocity and the halo-likeness flag.

Conventions (astropy's Galactocentric frame, which the Gaia features use): the Sun sits at
negative x and the disc rotates towards +y there, so disc stars have L_z = x v_y - y v_x < 0.

Toomre velocity: the speed relative to the local standard of rest, sqrt(U^2 + V^2 + W^2).
Taken from the ``U_lsr, V_lsr, W_lsr`` columns of ``gaia.galactocentric`` when they are
present; otherwise from the Galactocentric phase space with U = -v_R (towards the centre),
V = v_rot - v_LSR (v_rot = -L_z / R, positive for disc rotation), W = v_z, where v_LSR is the
configured speed or, by default, the potential's circular speed at the star's R in the plane.

halo_like (any criterion that is switched on):
- Toomre velocity > 180 km/s, the thick-disc/halo boundary in the Toomre diagram of Nissen &
  Schuster (2010, A&A 511, L10); Helmi et al. (2018, Nature 563, 85) select halo stars with
  |V - V_LSR| > 210 km/s (set ``halo_toomre_limit: 210`` for that, stricter, choice);
- orbit zmax > 3 kpc (beyond the reach of thick-disc orbits, our choice);
- orbit eccentricity > 0.7 (our choice; disc orbits are well below, Gaia-Enceladus debris above).
Over a short integration zmax and eccentricity are lower bounds, so a star over a limit is
truly over it. Rows without an integrated orbit are judged by the Toomre velocity alone.
"""

from __future__ import annotations

import numpy as np

from .integration import KMS_TO_KPC_MYR

KPC2_MYR2_TO_KM2_S2 = (1.0 / KMS_TO_KPC_MYR) ** 2


def energy_and_lz(potential, pos_kpc: np.ndarray, vel_kms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Specific energy E = v^2/2 + Phi (km^2/s^2) and L_z (kpc km/s) for each column; NaN in -> NaN out."""
    import astropy.units as u

    n = pos_kpc.shape[1]
    energy = np.full(n, np.nan)
    ok = np.isfinite(pos_kpc).all(0) & np.isfinite(vel_kms).all(0)
    if ok.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = potential.energy(pos_kpc[:, ok] * u.kpc).to_value(u.kpc**2 / u.Myr**2) * KPC2_MYR2_TO_KM2_S2
        energy[ok] = 0.5 * (vel_kms[:, ok] ** 2).sum(0) + phi
    lz = pos_kpc[0] * vel_kms[1] - pos_kpc[1] * vel_kms[0]
    return energy, lz


def lsr_velocity_from_phase_space(potential, pos_kpc: np.ndarray, vel_kms: np.ndarray,
                                  lsr_speed: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, V, W) in km/s relative to a local standard of rest at each star's cylindrical radius."""
    import astropy.units as u

    x, y = pos_kpc[0], pos_kpc[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.hypot(x, y)
        v_R = (x * vel_kms[0] + y * vel_kms[1]) / R
        v_rot = -(x * vel_kms[1] - y * vel_kms[0]) / R
    if lsr_speed is None:
        v_lsr = np.full(len(R), np.nan)
        ok = np.isfinite(R) & (R > 0)
        if ok.any():
            q = np.zeros((3, int(ok.sum())))
            q[0] = R[ok]
            v_lsr[ok] = potential.circular_velocity(q * u.kpc).to_value(u.km / u.s)
    else:
        v_lsr = np.full(len(R), float(lsr_speed))
    return -v_R, v_rot - v_lsr, vel_kms[2].copy()


def halo_like(toomre: np.ndarray, zmax: np.ndarray, ecc: np.ndarray, toomre_limit: float | None,
              zmax_limit: float | None, ecc_limit: float | None) -> np.ndarray:
    """True where any enabled criterion is exceeded (NaN never exceeds a limit)."""
    out = np.zeros(len(toomre), bool)
    with np.errstate(invalid="ignore"):
        if toomre_limit is not None:
            out |= np.nan_to_num(toomre, nan=-np.inf) > toomre_limit
        if zmax_limit is not None:
            out |= np.nan_to_num(zmax, nan=-np.inf) > zmax_limit
        if ecc_limit is not None:
            out |= np.nan_to_num(ecc, nan=-np.inf) > ecc_limit
    return out
