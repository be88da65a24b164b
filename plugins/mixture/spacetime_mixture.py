"""EM for a mixture of space-time components (groups with ages) and one XD Gaussian background.

Chronostar's full model: every group is a SphereSpaceTimeComponent; the field
is a free Gaussian. Starting from memberships (typically the mixture.gaussian
result, whose number of components BIC already chose), alternate

* M-step: fit each group's birth mean, dispersions and age to its weighted
  stars (spacetime_component.py; the age grid on the first and the last pass,
  a local polish in between), the background by one XD update (or, with a
  fixed ``background_logd``, Chronostar's choice: the field's density at each
  star, fitted once to the whole field (field_density.py), of which only the
  amplitude is fitted here), the weights;
* E-step: responsibilities from ln w_k + ln N(x_i; mu_k(t_k), C_k(t_k) + S_i),

until no membership moves by more than ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from .epicyclic import EpicyclicTracer
from .gaussian_overlap import log_overlap, overlap_terms
from .spacetime_component import fit_sphere_spacetime
from .xd_mixture import xd_update


@dataclass
class SpaceTimeMixture:
    tracer: EpicyclicTracer
    ages: np.ndarray
    max_iter: int = 15
    tol: float = 1e-3
    covariance_floor: float = 1e-6
    min_weight: float = 1e-3
    background_logd: np.ndarray | None = None   # fixed ln density of the field at each star (field_density.py)
    groups_: list = field(default_factory=list)
    profiles_: list = field(default_factory=list)
    background_: tuple | None = None
    weights_: np.ndarray | None = None
    n_iter_: int = 0
    log_likelihood_: float = -np.inf

    def _log_densities(self, X, S) -> np.ndarray:
        out = np.empty((len(X), len(self.groups_) + 1))
        if self.background_logd is not None:
            if len(self.background_logd) != len(X):
                raise ValueError("a fixed background density is known only for the stars it was computed for")
            bg = self.background_logd
        else:
            bg = log_overlap(X, S, *self.background_)
        out[:, 0] = np.log(max(self.weights_[0], 1e-300)) + bg
        for k, comp in enumerate(self.groups_, start=1):
            # evaluated in the birth frame, where the component is exactly Gaussian (volume-preserving map)
            Y, Sb = self.tracer.to_birth(X, S, comp.age)
            out[:, k] = np.log(max(self.weights_[k], 1e-300)) + log_overlap(Y, Sb, np.asarray(comp.birth_mean),
                                                                             comp.birth_cov())
        return out

    def fit(self, X, S, resp: np.ndarray) -> "SpaceTimeMixture":
        """``resp``: (n, K) initial memberships, column 0 the background, 1.. the groups."""
        floor = np.diag(self.covariance_floor * np.maximum(X.var(axis=0), 1e-12))
        q0 = resp[:, 0]
        if self.background_logd is not None:
            self.background_ = None
        else:
            m = q0 @ X / q0.sum()
            d = X - m
            self.background_ = (m, (d * q0[:, None]).T @ d / q0.sum() + floor)
        self.groups_ = [None] * (resp.shape[1] - 1)
        self.profiles_ = [None] * (resp.shape[1] - 1)
        last_pass = False
        for it in range(1, self.max_iter + 2):
            self.weights_ = resp.mean(axis=0)
            use_grid = it == 1 or last_pass
            for k in range(1, resp.shape[1]):
                comp, prof = fit_sphere_spacetime(X, S, resp[:, k], self.tracer, self.ages, self.min_weight,
                                                  start=self.groups_[k - 1], grid=use_grid)
                self.groups_[k - 1] = comp
                if use_grid:
                    self.profiles_[k - 1] = prof
                else:
                    self.profiles_[k - 1] = {**self.profiles_[k - 1], "age": comp.age}
            if self.background_logd is None:
                _, Tinv = overlap_terms(X, S, *self.background_)
                self.background_ = xd_update(X, resp[:, 0], *self.background_, Tinv, floor)
            logd = self._log_densities(X, S)
            norm = logsumexp(logd, axis=1)
            new = np.exp(logd - norm[:, None])
            self.log_likelihood_ = float(norm.sum())
            moved = float(np.abs(new - resp).max())
            resp = new
            self.n_iter_ = it
            if last_pass:
                break
            if moved < self.tol or it >= self.max_iter:
                last_pass = True
        self.weights_ = resp.mean(axis=0)
        return self

    def predict_proba(self, X, S) -> np.ndarray:
        logd = self._log_densities(X, S)
        return np.exp(logd - logsumexp(logd, axis=1)[:, None])

    def score_samples(self, X, S) -> np.ndarray:
        return logsumexp(self._log_densities(X, S), axis=1)

    def n_parameters(self) -> int:
        d = 6
        background = 0 if self.background_logd is not None else d + d * (d + 1) // 2
        return 9 * len(self.groups_) + background + len(self.groups_)

    def bic(self, n: int) -> float:
        return -2 * self.log_likelihood_ + self.n_parameters() * np.log(n)
