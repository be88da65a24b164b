"""Linear epicyclic orbits: the 6x6 map that carries a birth Gaussian to today.

Chronostar traces components with the epicyclic approximation (Makarov,
Olling & Teuben 2004). Here it is written as the linearised equations of
motion about the local standard of rest in a frame co-rotating with it
(Hill's equations), with X to the Galactic centre, Y to rotation, Z to the
north Galactic pole:

    dU'/dt = 4 Omega A X - 2 Omega V'      Omega = A - B
    dV'/dt = 2 Omega U'
    dW/dt  = -nu^2 Z

(a circular orbit at X has V' = 2 A X in this frame; the epicyclic frequency is
kappa^2 = -4 B Omega).

Three frames, named in frames.py, all with today's axes (X to the Galactic
centre, Y to rotation, Z to the north Galactic pole):

* ``heliocentric``: what mixture.cartesian computes from astrometry; velocities
  relative to the Sun, measured in a non-rotating frame;
* ``lsr``: the same, with velocities relative to the LSR
  (U + U_sun, V + V_sun, W + W_sun); positions unchanged (Sun at the origin);
* ``corotating``: the frame turning with the LSR about the Galactic centre,
  where Hill's equations hold. A star's velocity there is its non-rotating
  velocity minus Omega x r with Omega = -Omega0 z (the Galaxy turns clockwise
  seen from the north pole): U' = U - Omega0 Y, V' = V + Omega0 X.

Chronostar converts the measured (non-rotating) LSR velocities into the
co-rotating frame before tracing and back afterwards
(chronostar/traceorbit.py, convert_cart2curvilin / convert_curvilin2cart:
"Place the velocities in a rotating frame: U = U - Y*Omega0, V = V + X*Omega0"),
and so its birth Gaussians are spherical in the non-rotating LSR frame. The
map used here is the same: today_lsr = F^-1 expm(t L) F birth_lsr, with F the
shear lsr -> corotating (det F = 1). Leaving F out (``measured_frame=
"corotating"``, the toolkit's behaviour before issue 18) treats the measured
U, V as co-rotating ones: at 50 pc that is a ~1.4 km/s error, as large as a
young group's internal spread, and it biases ages low (25.8 instead of 30 Myr
on Chronostar's synthetic example).

The system is linear, so the map is one 6x6 matrix per age, exact for this
model; a Gaussian N(m, C) at birth becomes N(M m, M C M^T) today: the
covariance needs no Jacobian approximation.

Heliocentric today = M(age) s_birth - (0, 0, 0, U_sun, V_sun, W_sun), with
s_birth in the LSR frame at birth (its axes those of the co-rotating frame
then).

Defaults: Oort A = 15.3, B = -11.9 km/s/kpc (Bovy 2017), nu = 74 km/s/kpc
(vertical frequency for a local density of 0.1 Msun/pc^3), solar motion
(11.1, 12.24, 7.25) km/s (Schoenrich, Binney & Dehnen 2010). ``local_constants``
(galactic_constants.py) derives A, B and nu from a named gala potential.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frames import KMS_TO_PC_PER_MYR, MEASURED_FRAMES
from .vertical_motion import VerticalProfile

VERTICAL = [2, 5]      # Z, W: decoupled from the in-plane X, Y, U, V in this model


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
    measured_frame: str = "lsr"       # frame of the measured (and birth) velocities: "lsr" or "corotating"
    vertical: VerticalProfile | None = field(default=None, compare=False)   # anharmonic Z motion (else nu)
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

    def __post_init__(self):
        if self.measured_frame not in MEASURED_FRAMES:
            raise ValueError(f"measured_frame must be one of {MEASURED_FRAMES}, got {self.measured_frame!r}")

    @property
    def omega0(self) -> float:
        """Angular speed of the LSR, Omega0 = A - B, in km/s per pc."""
        return (self.oort_a - self.oort_b) * 1e-3

    def to_corotating(self) -> np.ndarray:
        """F: LSR-frame state -> co-rotating state (U' = U - Omega0 Y, V' = V + Omega0 X).

        The identity when ``measured_frame`` is "corotating" (velocities taken as co-rotating already).
        """
        F = np.eye(6)
        if self.measured_frame == "lsr":
            F[3, 1] = -self.omega0
            F[4, 0] = self.omega0
        return F

    def matrix(self, age_myr: float) -> np.ndarray:
        """M(t) = F^-1 expm(t L) F: LSR-frame state at birth -> LSR-frame state t Myr later."""
        key = round(float(age_myr), 10)
        M = self._cache.get(key)
        if M is None:
            F = self.to_corotating()
            M = np.linalg.solve(F, expm_small(self.generator() * float(age_myr)) @ F)
            if len(self._cache) < 4096:
                self._cache[key] = M
        return M

    @property
    def offset(self) -> np.ndarray:
        return np.concatenate([np.zeros(3), -np.asarray(self.solar_motion, float)])

    def _with_vertical(self, M: np.ndarray, J: np.ndarray) -> np.ndarray:
        """Per-star maps (n, 6, 6): M with its Z, W block replaced by each star's vertical Jacobian."""
        out = np.broadcast_to(M, (len(J), 6, 6)).copy()
        out[:, VERTICAL[0], VERTICAL] = J[:, 0]
        out[:, VERTICAL[1], VERTICAL] = J[:, 1]
        return out

    def _trace(self, states_lsr: np.ndarray, ages, backward: bool):
        """Yield (age, states, per-star maps or None) carrying LSR-frame states by each age."""
        ages = np.atleast_1d(np.asarray(ages, float))
        if self.vertical is not None:
            def x_of_t(t):            # in-plane X of every star t Myr from the start (linear map)
                return states_lsr @ self.matrix(t)[0]
            zt, wt, J = self.vertical.trace(states_lsr[:, 2], states_lsr[:, 5], -ages if backward else ages, x_of_t)
        for k, age in enumerate(ages):
            M = self.matrix(age)
            if backward:
                M = np.linalg.inv(M)
            out = states_lsr @ M.T
            if self.vertical is None:
                yield age, out, M
            else:
                out[:, 2], out[:, 5] = zt[k], wt[k]
                yield age, out, self._with_vertical(M, J[k])

    def to_birth_grid(self, X: np.ndarray, S: np.ndarray, ages):
        """Yield (age, Y, S_birth): heliocentric stars X (n, 6) with covariances S mapped to birth (LSR frame).

        One vertical integration serves every age. S_birth = J S J^T with J the (per-star) inverse map.
        """
        for age, Y, J in self._trace(np.asarray(X, float) - self.offset, ages, backward=True):
            yield age, Y, (np.matmul(np.matmul(J, S), np.swapaxes(J, -1, -2)) if J.ndim == 3
                           else np.matmul(np.matmul(J, S), J.T))

    def to_birth(self, X: np.ndarray, S: np.ndarray, age: float):
        _, Y, Sb = next(self.to_birth_grid(X, S, [age]))
        return Y, Sb

    def forward(self, birth_states: np.ndarray, age_myr: float) -> np.ndarray:
        """Heliocentric XYZUVW today for LSR-frame birth states (n, 6) or (6,)."""
        s = np.atleast_2d(np.asarray(birth_states, float))
        _, out, _ = next(self._trace(s, [age_myr], backward=False))
        out = out + self.offset
        return out if np.ndim(birth_states) == 2 else out[0]

    def backward(self, today_helio: np.ndarray, age_myr: float) -> np.ndarray:
        """Birth states (LSR frame) of heliocentric states today."""
        s = np.atleast_2d(np.asarray(today_helio, float)) - self.offset
        _, out, _ = next(self._trace(s, [age_myr], backward=True))
        return out if np.ndim(today_helio) == 2 else out[0]

    def forward_gaussian(self, birth_mean: np.ndarray, birth_cov: np.ndarray, age_myr: float):
        """Today's heliocentric mean and covariance of a birth Gaussian (linearised about its mean)."""
        _, out, M = next(self._trace(np.atleast_2d(np.asarray(birth_mean, float)), [age_myr], backward=False))
        M = M[0] if M.ndim == 3 else M
        return out[0] + self.offset, M @ birth_cov @ M.T
