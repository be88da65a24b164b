"""Vertical motion in a real disc potential: anharmonic, traced per star with its Jacobian.

The epicyclic map treats the vertical motion as harmonic, Z'' = -nu^2 Z, with nu
from the curvature of the potential at the plane. A real disc's restoring force
grows more slowly than linearly away from the plane (it flattens beyond a scale
height), so a star 50 pc out oscillates more slowly than one at 5 pc. For a
Chronostar-like association (birth dispersion 50 pc, 30 Myr) that difference is
what biased the age by ~4 Myr against orbits integrated with gala in
MilkyWayPotential2022 (benchmarks/mixture.py).

Here the vertical motion is Z'' = -dPhi/dz (R0, z), with the force tabulated once
from the named potential, integrated with a vectorised leapfrog for every star at
once, with the 2x2 Jacobian d(Z, W)_t / d(Z, W)_0 integrated alongside (the
variational equations, same leapfrog): it carries each star's measurement
covariance. Leapfrog is symplectic, so det J = 1 exactly, as for the true flow.
The force is tabulated on a grid of X (the in-plane offset towards the Galactic
centre) as well as z, and each star feels it at its own X(t) from the linear
in-plane map: a group born 600 pc outside the solar circle (the worked example's
30 Myr association) oscillates in a thinner disc than the one at R0. The Jacobian
keeps only d(Z, W)/d(Z, W) (the in-plane coupling of the measurement errors is
negligible at these distances).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import KMS_TO_PC_PER_MYR


@dataclass(frozen=True, eq=False)
class VerticalProfile:
    """Tabulated vertical acceleration a(z) (km/s per Myr) and da/dz on a z grid (pc)."""

    z_pc: np.ndarray            # (nz,) uniform grid
    x_pc: np.ndarray            # (nx,) uniform grid of X (towards the centre): R = R0 - X
    accel: np.ndarray           # (nx, nz)
    daccel: np.ndarray          # (nx, nz) d accel / dz
    step_myr: float = 0.25
    source: str = ""

    @classmethod
    def from_potential(cls, potential, r0_kpc: float, z_max_pc: float = 2000.0, dz_pc: float = 1.0,
                       x_max_pc: float = 2000.0, dx_pc: float = 50.0, step_myr: float = 0.25,
                       source: str = "") -> "VerticalProfile":
        import astropy.units as u

        z = np.arange(-z_max_pc, z_max_pc + 0.5 * dz_pc, dz_pc)
        x = np.arange(-x_max_pc, x_max_pc + 0.5 * dx_pc, dx_pc)
        R, Z = np.meshgrid(r0_kpc - x * 1e-3, z * 1e-3, indexing="ij")
        xyz = np.vstack([R.ravel(), np.zeros(R.size), Z.ravel()]) * u.kpc
        accel = -potential.gradient(xyz).to_value(u.km / u.s / u.Myr)[2].reshape(R.shape)
        return cls(z, x, accel, np.gradient(accel, z, axis=1), step_myr, source)

    def nu(self) -> float:
        """Harmonic vertical frequency at the plane at R0 (km/s/kpc)."""
        da = self._interp(self.daccel, np.zeros(1), np.zeros(1))[0]
        return float(np.sqrt(-da / KMS_TO_PC_PER_MYR) / (KMS_TO_PC_PER_MYR * 1e-3))

    def _interp(self, table: np.ndarray, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of ``table`` at (x, z), clamped to the grid."""
        fx = np.clip((x - self.x_pc[0]) / (self.x_pc[1] - self.x_pc[0]), 0, len(self.x_pc) - 1.000001)
        fz = np.clip((z - self.z_pc[0]) / (self.z_pc[1] - self.z_pc[0]), 0, len(self.z_pc) - 1.000001)
        i, k = fx.astype(int), fz.astype(int)
        tx, tz = fx - i, fz - k
        return ((1 - tx) * ((1 - tz) * table[i, k] + tz * table[i, k + 1])
                + tx * ((1 - tz) * table[i + 1, k] + tz * table[i + 1, k + 1]))

    def trace(self, z: np.ndarray, w: np.ndarray, times: np.ndarray, x_of_t=None):
        """States and Jacobians at ``times`` (Myr, all >= 0 or all <= 0, any order) from (z, w) at t = 0.

        ``x_of_t(t)``: each star's in-plane X (pc) at time t (None: X = 0, the solar circle).
        Returns z_t, w_t of shape (len(times), n) and J of shape (len(times), n, 2, 2).
        """
        times = np.asarray(times, float)
        z = np.asarray(z, float).copy()
        w = np.asarray(w, float).copy()
        n = z.shape[0]
        out_z = np.empty((len(times), n))
        out_w = np.empty((len(times), n))
        out_j = np.empty((len(times), n, 2, 2))
        sign = -1.0 if (times < 0).any() else 1.0
        order = np.argsort(np.abs(times), kind="stable")
        jz = np.tile([1.0, 0.0], (n, 1))      # d z / d (z0, w0)
        jw = np.tile([0.0, 1.0], (n, 1))      # d w / d (z0, w0)
        c = KMS_TO_PC_PER_MYR
        zeros = np.zeros(n)
        t_now = 0.0
        for k in order:
            target = abs(times[k])
            span = target - t_now
            if span > 0:
                steps = max(1, int(np.ceil(span / self.step_myr - 1e-9)))
                h = sign * span / steps
                t0 = sign * t_now
                x = zeros if x_of_t is None else x_of_t(t0)
                for step in range(steps):
                    w += 0.5 * h * self._interp(self.accel, x, z)
                    jw += 0.5 * h * self._interp(self.daccel, x, z)[:, None] * jz
                    z += h * c * w
                    jz += h * c * jw
                    if x_of_t is not None:
                        x = x_of_t(t0 + (step + 1) * h)
                    w += 0.5 * h * self._interp(self.accel, x, z)
                    jw += 0.5 * h * self._interp(self.daccel, x, z)[:, None] * jz
                t_now = target
            out_z[k], out_w[k] = z, w
            out_j[k, :, 0], out_j[k, :, 1] = jz, jw
        return out_z, out_w, out_j
