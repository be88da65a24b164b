"""Linear epicyclic orbits: the 6x6 map that carries a birth Gaussian to today.

Chronostar traces components with the epicyclic approximation (Makarov,
Olling & Teuben 2004). Here it is written as the linearised equations of
motion about the local standard of rest in a frame co-rotating with it
(Hill's equations), with X to the Galactic centre, Y to rotation, Z to the
north Galactic pole:

    dU/dt = 4 Omega A X - 2 Omega V      Omega = A - B
    dV/dt = 2 Omega U
    dW/dt = -nu^2 Z

(a circular orbit at X has V = 2 A X in this frame; the epicyclic frequency is
kappa^2 = -4 B Omega). The system is linear, so the state after a time t is
M(t) s with M(t) = expm(t L): exact for this model, one 6x6 matrix per age.
A Gaussian N(m, C) at birth becomes N(M m, M C M^T) today: the covariance
needs no Jacobian approximation.

Stars are observed relative to the Sun; the Sun sits at the LSR origin today
and moves relative to the LSR with ``solar_motion`` (U, V, W). So
heliocentric today = M(age) s_birth - (0, 0, 0, U_sun, V_sun, W_sun), with
s_birth in the LSR co-rotating frame.

Defaults: Oort A = 15.3, B = -11.9 km/s/kpc (Bovy 2017), nu = 74 km/s/kpc
(vertical frequency for a local density of 0.1 Msun/pc^3), solar motion
(11.1, 12.24, 7.25) km/s (Schoenrich, Binney & Dehnen 2010).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frames import KMS_TO_PC_PER_MYR


def expm_small(A: np.ndarray, terms: int = 18) -> np.ndarray:
    """exp(A) for a small matrix: Taylor series after scaling by 2^-s, then s squarings.

    scipy.linalg.expm is correct but costs ~30 ms a call here (its Pade path for
    a 6x6 matrix); the age grid calls this hundreds of times. Accurate to ~1e-15
    relative for ||A|| / 2^s <= 0.5 (checked against scipy in the tests).
    """
    norm = np.abs(A).sum(axis=0).max()
    s = max(0, int(np.ceil(np.log2(norm / 0.5))) if norm > 0.5 else 0)
    B = A / (2 ** s)
    out = np.eye(len(A))
    term = np.eye(len(A))
    for k in range(1, terms + 1):
        term = term @ B / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


@dataclass(frozen=True)
class EpicyclicTracer:
    oort_a: float = 15.3              # km/s/kpc
    oort_b: float = -11.9             # km/s/kpc
    nu: float = 74.0                  # km/s/kpc
    solar_motion: tuple = (11.1, 12.24, 7.25)   # km/s, relative to the LSR
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def generator(self) -> np.ndarray:
        """L with d s/dt = L s for s = (X, Y, Z [pc], U, V, W [km/s]), t in Myr."""
        c = KMS_TO_PC_PER_MYR
        per_myr = c * 1e-3                     # 1 km/s/kpc in 1/Myr
        omega = (self.oort_a - self.oort_b) * per_myr
        a = self.oort_a * per_myr
        nu = self.nu * per_myr
        L = np.zeros((6, 6))
        L[0, 3] = L[1, 4] = L[2, 5] = c       # km/s -> pc/Myr
        L[3, 0] = 4 * omega * a / c           # (pc/Myr^2) -> km/s per Myr
        L[3, 4] = -2 * omega
        L[4, 3] = 2 * omega
        L[5, 2] = -nu ** 2 / c
        return L

    def matrix(self, age_myr: float) -> np.ndarray:
        key = round(float(age_myr), 10)
        M = self._cache.get(key)
        if M is None:
            M = expm_small(self.generator() * float(age_myr))
            if len(self._cache) < 4096:
                self._cache[key] = M
        return M

    @property
    def offset(self) -> np.ndarray:
        return np.concatenate([np.zeros(3), -np.asarray(self.solar_motion, float)])

    def forward(self, birth_states: np.ndarray, age_myr: float) -> np.ndarray:
        """Heliocentric XYZUVW today for LSR-frame birth states (n, 6) or (6,)."""
        return birth_states @ self.matrix(age_myr).T + self.offset

    def backward(self, today_helio: np.ndarray, age_myr: float) -> np.ndarray:
        """Birth states (LSR frame) of heliocentric states today."""
        return (today_helio - self.offset) @ np.linalg.inv(self.matrix(age_myr)).T

    def forward_gaussian(self, birth_mean: np.ndarray, birth_cov: np.ndarray, age_myr: float):
        M = self.matrix(age_myr)
        return M @ birth_mean + self.offset, M @ birth_cov @ M.T
