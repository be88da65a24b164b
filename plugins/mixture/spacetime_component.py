"""Chronostar's SphereSpaceTimeComponent: a spherical birth Gaussian traced to today, and its age fit.

Parameters: birth mean (6, LSR co-rotating frame, see epicyclic.py), birth
position dispersion sigma_x (pc, same on each axis), birth velocity dispersion
sigma_v (km/s) and age t (Myr). Today the component is
N(M(t) m_b + offset, M(t) diag(sx^2, sx^2, sx^2, sv^2, sv^2, sv^2) M(t)^T),
and a star's likelihood is its overlap N(x_i; mu(t), C(t) + S_i).

Fit (weighted by membership w_i): a grid in age with an analytic inner fit.
For a fixed age t, map every star back to the birth frame, y_i = M(t)^-1 (x_i -
offset), S'_i = M^-1 S_i M^-T (with an anharmonic vertical profile the Z, W part
of M is each star's own traced Jacobian: vertical_motion.py). The flow preserves
volume (det M = 1),
so the likelihood is unchanged, and the model becomes an XD Gaussian
N(y; m_b, D + S'_i) with D = diag(sx^2 I3, sv^2 I3): its EM updates are closed
form (the XD M-step, with D's two blocks averaged to spheres). This gives
the profile likelihood L(t) on the grid (the age figure); the best grid age
is then refined by a bounded scalar search over t with the same inner fit.
The grid matters: the likelihood has local maxima spaced by the vertical
oscillation half-period (Chronostar notes minima every ~20 Myr).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from .epicyclic import EpicyclicTracer
from .gaussian_overlap import LOG_2PI


@dataclass
class SphereSpaceTimeComponent:
    birth_mean: np.ndarray
    sigma_position: float
    sigma_velocity: float
    age: float

    def birth_cov(self) -> np.ndarray:
        return np.diag([self.sigma_position ** 2] * 3 + [self.sigma_velocity ** 2] * 3)

    def current(self, tracer: EpicyclicTracer):
        return tracer.forward_gaussian(np.asarray(self.birth_mean, float), self.birth_cov(), self.age)

    def to_dict(self, tracer: EpicyclicTracer) -> dict:
        mean, cov = self.current(tracer)
        return {"age": float(self.age), "birth_mean": np.asarray(self.birth_mean).tolist(),
                "sigma_position": float(self.sigma_position), "sigma_velocity": float(self.sigma_velocity),
                "current_mean": mean.tolist(), "current_covariance": cov.tolist()}


def _moments(X, w):
    m = w @ X / w.sum()
    d = X - m
    return m, (d * w[:, None]).T @ d / w.sum()


def inner_fit(X, S, w, tracer: EpicyclicTracer, age: float, start: tuple | None = None,
              tol: float = 1e-7, max_iter: int = 300):
    """Best birth mean and dispersions at a fixed age: (birth_mean, sx, sv, weighted ln L)."""
    Y, Sb = tracer.to_birth(X, S, age)
    return inner_fit_birth(Y, Sb, w, start, tol, max_iter)


def inner_fit_birth(Y, Sb, w, start: tuple | None = None, tol: float = 1e-7, max_iter: int = 300):
    """The same for stars already mapped to the birth frame (Y, Sb)."""
    W = w.sum()
    if start is None:
        m, C = _moments(Y, w)
        sx2 = max(np.trace(C[:3, :3]) / 3, 1.0)
        sv2 = max(np.trace(C[3:, 3:]) / 3, 1e-2)
    else:
        m, sx2, sv2 = np.asarray(start[0], float), start[1] ** 2, start[2] ** 2
    prev = -np.inf
    d = Y.shape[1]
    for _ in range(max_iter):
        D = np.diag([sx2] * 3 + [sv2] * 3)
        T = Sb + D
        L = np.linalg.cholesky(T)
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        Tinv = np.linalg.inv(T)
        diff = Y - m
        maha = np.einsum("ni,nij,nj->n", diff, Tinv, diff)
        ll = float(w @ (-0.5 * (d * LOG_2PI + logdet + maha)))
        if ll - prev < tol * W:
            break
        prev = ll
        DT = np.matmul(D, Tinv)
        b = m + np.matmul(DT, diff[..., None])[..., 0]
        m = w @ b / W
        dd = b - m
        sum_wB = W * D - np.tensordot(w, DT, axes=1) @ D
        V = ((dd * w[:, None]).T @ dd + sum_wB) / W
        sx2 = max(np.trace(V[:3, :3]) / 3, 0.01)
        sv2 = max(np.trace(V[3:, 3:]) / 3, 1e-4)
    return m, float(np.sqrt(sx2)), float(np.sqrt(sv2)), ll


def fit_sphere_spacetime(X, S, w, tracer: EpicyclicTracer, ages: np.ndarray, min_weight: float = 1e-3,
                         start: SphereSpaceTimeComponent | None = None, grid: bool = True,
                         window: float = 3.0):
    """Weighted fit. Returns (component, profile dict: grid ages and ln L per grid age).

    grid=False: start from ``start`` and search only within +-``window`` Myr of its age.
    """
    keep = w > min_weight
    X, S, w = X[keep], S[keep], w[keep]
    ages = np.asarray(ages, float)
    age_lo, age_hi = float(ages.min()), float(ages.max())
    profile_ll = []
    if grid:
        prev = None
        fits = []
        for age, Y, Sb in tracer.to_birth_grid(X, S, ages):
            fit = inner_fit_birth(Y, Sb, w, prev)
            fits.append(fit)
            profile_ll.append(fit[3])
            prev = fit
        i = int(np.argmax(profile_ll))
        step = float(np.diff(ages).max()) if len(ages) > 1 else window
        centre, lo, hi = ages[i], max(age_lo, ages[i] - step), min(age_hi, ages[i] + step)
        seed = fits[i]
    else:
        if start is None:
            raise ValueError("grid=False needs a start component")
        centre = start.age
        lo, hi = max(age_lo, centre - window), min(age_hi, centre + window)
        seed = (start.birth_mean, start.sigma_position, start.sigma_velocity)

    cache = {}

    def neg_profile(age):
        fit = inner_fit(X, S, w, tracer, float(age), seed)
        cache[float(age)] = fit
        return -fit[3]

    if hi > lo:
        res = minimize_scalar(neg_profile, bounds=(lo, hi), method="bounded", options={"xatol": 0.02})
        best_age = float(res.x)
        if best_age not in cache:
            neg_profile(best_age)
    else:
        best_age = float(centre)
        neg_profile(best_age)
    mb, sx, sv, ll = cache[best_age]
    comp = SphereSpaceTimeComponent(np.asarray(mb), sx, sv, best_age)
    profile = {"ages": ages.tolist() if grid else [], "log_likelihood": profile_ll,
               "age": comp.age, "log_likelihood_at_age": ll, "n_stars_used": int(keep.sum()),
               "effective_members": float(w.sum())}
    if grid:
        profile["age_interval"] = _interval(ages, np.asarray(profile_ll))
    return comp, profile


def _interval(ages, ll, drop: float = 0.5):
    """Ages where the profile ln L is within ``drop`` of its maximum (1-sigma for one parameter)."""
    i = int(np.argmax(ll))
    target = ll[i] - drop

    def walk(step):
        j = i
        while 0 <= j + step < len(ll) and ll[j + step] >= target:
            j += step
        if not 0 <= j + step < len(ll):
            return float(ages[j])
        a0, a1, l0, l1 = ages[j], ages[j + step], ll[j], ll[j + step]
        return float(a0 + (target - l0) * (a1 - a0) / (l1 - l0))
    return [walk(-1), walk(1)]
