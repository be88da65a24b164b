"""Trace birth states to today with gala in a named potential: an integrator independent of the fit.

The age fit (spacetime_component.py) traces with the linear epicyclic map; a mock
generated with that same map can only test the fit's self-consistency. Here the
stars are placed in the Galaxy and integrated with gala instead:

1. the LSR is the circular orbit at R0 in the plane (astropy Galactocentric axes:
   Sun at x = -R0, rotation towards +y, so the disc turns clockwise seen from +z);
   it is integrated back by the age to find where it was at birth;
2. a star's birth state is given in the LSR frame at birth (non-rotating, velocities
   relative to the LSR, axes X to the Galactic centre, Y to rotation, Z = X x Y: the
   frame Chronostar's birth Gaussians live in) and placed in the Galaxy;
3. every star is integrated forward by the age (DOP853) and expressed in the LSR frame
   today; the Sun sits at the LSR with velocity ``solar_motion`` relative to it, so
   heliocentric velocities are the LSR ones minus the solar motion.
"""

from __future__ import annotations

import numpy as np

from .frames import KMS_TO_PC_PER_MYR

KMS_TO_KPC_MYR = KMS_TO_PC_PER_MYR * 1e-3


def _integrate(potential, pos_kpc, vel_kms, t1, t2, n_steps):
    """Final (pos kpc (n, 3), vel km/s (n, 3)) after integrating from t1 to t2 (Myr)."""
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp

    w0 = gd.PhaseSpacePosition(pos=pos_kpc.T * u.kpc, vel=vel_kms.T * KMS_TO_KPC_MYR * (u.kpc / u.Myr))
    orbit = gp.Hamiltonian(potential).integrate_orbit(w0, t1=t1 * u.Myr, t2=t2 * u.Myr, n_steps=int(n_steps),
                                                      Integrator=gi.DOPRI853Integrator)
    end = orbit[-1]
    n = len(pos_kpc)
    return end.xyz.to_value(u.kpc).reshape(3, n).T, end.v_xyz.to_value(u.km / u.s).reshape(3, n).T


def _local_axes(pos_kpc, vel_kms):
    """Rows X (to the centre), Y (along the circular velocity), Z = X x Y of an LSR state."""
    x = -pos_kpc / np.linalg.norm(pos_kpc)
    y = vel_kms - (vel_kms @ x) * x
    y = y / np.linalg.norm(y)
    return np.vstack([x, y, np.cross(x, y)])


def trace_with_gala(birth_lsr: np.ndarray, age_myr: float, potential, r0_kpc: float, v_circ_kms: float,
                    solar_motion=(11.1, 12.24, 7.25), step_myr: float = 0.1) -> np.ndarray:
    """Heliocentric XYZUVW (pc, km/s) today of LSR-frame birth states (n, 6) ``age_myr`` ago."""
    birth_lsr = np.atleast_2d(np.asarray(birth_lsr, float))
    lsr_now_pos = np.array([-r0_kpc, 0.0, 0.0])
    lsr_now_vel = np.array([0.0, v_circ_kms, 0.0])
    axes_now = _local_axes(lsr_now_pos, lsr_now_vel)
    if age_myr <= 0:
        states = birth_lsr.copy()
    else:
        n_steps = max(2, int(np.ceil(age_myr / step_myr)))
        pos_b, vel_b = _integrate(potential, lsr_now_pos[None], lsr_now_vel[None], 0.0, -age_myr, n_steps)
        axes_b = _local_axes(pos_b[0], vel_b[0])
        pos = pos_b[0] + (birth_lsr[:, :3] * 1e-3) @ axes_b
        vel = vel_b[0] + birth_lsr[:, 3:] @ axes_b
        pos_t, vel_t = _integrate(potential, pos, vel, -age_myr, 0.0, n_steps)
        states = np.hstack([((pos_t - lsr_now_pos) @ axes_now.T) * 1e3, (vel_t - lsr_now_vel) @ axes_now.T])
    states[:, 3:] -= np.asarray(solar_motion, float)
    return states
