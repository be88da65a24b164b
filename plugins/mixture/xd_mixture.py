"""Extreme-deconvolution Gaussian mixture (Bovy, Hogg & Roweis 2011) with BIC-driven growth.

Each star i has a measured mean x_i and covariance S_i; component k has weight
a_k, mean m_k and intrinsic covariance V_k, and the star's likelihood is
sum_k a_k N(x_i; m_k, V_k + S_i). EM:

* E-step: responsibilities q_ik from log-sum-exp of ln a_k + ln N(...).
* M-step: b_ik = m_k + V_k T_ik^-1 (x_i - m_k), B_ik = V_k - V_k T_ik^-1 V_k
  (T_ik = V_k + S_i); m_k = sum q b / sum q; V_k = sum q [(b - m)(b - m)^T + B] / sum q,
  plus a diagonal floor (``covariance_floor`` x the data variance per feature).

A broad background is either *fitted* (an ordinary component; the broadest one,
by log det V, is called the background) or *fixed* (a Gaussian given or taken
from the data once, only its weight is fitted; it is not counted in K).

Growth (Chronostar's driver): start from one component; at each step try
(a) splitting every free component in two along its principal axis, (b) seeding
a compact component at the densest clump of stars not yet claimed by a group,
(c) k-means with K+1 clusters; run EM from each and keep the candidate with the
lowest BIC while it improves on the current model. (b) and (c) are additions:
a pure principal-axis split of a broad field rarely walks EM onto a compact group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from .gaussian_overlap import log_overlap, overlap_terms


@dataclass
class MixtureState:
    weights: np.ndarray          # (K,) including a fixed background if any
    means: np.ndarray            # (K, d)
    covs: np.ndarray             # (K, d, d)
    fixed: np.ndarray            # (K,) True = mean and covariance held fixed
    log_likelihood: float = -np.inf
    n_iter: int = 0
    converged: bool = False
    label: str = ""

    @property
    def k(self) -> int:
        return len(self.weights)

    def copy(self) -> "MixtureState":
        return MixtureState(self.weights.copy(), self.means.copy(), self.covs.copy(), self.fixed.copy(),
                            self.log_likelihood, self.n_iter, self.converged, self.label)


def component_log_densities(X, S, state: MixtureState) -> np.ndarray:
    """(n, K) ln a_k + ln N(x_i; m_k, V_k + S_i)."""
    out = np.empty((len(X), state.k))
    for k in range(state.k):
        out[:, k] = np.log(max(state.weights[k], 1e-300)) + log_overlap(X, S, state.means[k], state.covs[k])
    return out


def xd_update(X, q, mean, cov, Tinv, floor):
    """One XD M-step for one component with responsibilities q and T_i^-1 = (cov + S_i)^-1."""
    qk = q.sum() + 1e-300
    VT = np.matmul(cov, Tinv)
    b = mean + np.matmul(VT, (X - mean)[..., None])[..., 0]
    m_new = q @ b / qk
    dd = b - m_new
    # sum_n q_n B_n with B_n = V - V T_n^-1 V, without forming every B_n
    sum_qB = qk * cov - np.tensordot(q, VT, axes=1) @ cov
    V_new = ((dd * q[:, None]).T @ dd + sum_qB) / qk
    return m_new, 0.5 * (V_new + V_new.T) + floor


@dataclass
class XDGaussianMixture:
    """scikit-learn-shaped XD mixture. ``fit(X, S)``; ``predict_proba``; ``score_samples``."""

    n_components: int | None = None          # None = choose by BIC growth
    max_components: int = 6
    background: str = "fitted"               # fitted | fixed
    background_mean: np.ndarray | None = None
    background_cov: np.ndarray | None = None
    covariance_floor: float = 1e-6           # x data variance per feature, added to every V_k
    tol: float = 1e-6                        # change in mean ln-likelihood per star
    max_iter: int = 500
    screen_iter: int = 25                    # EM steps given to every growth candidate before the best is kept
    min_bic_improvement: float = 0.0
    random_state: int = 0
    bic_path: list = field(default_factory=list)
    state_: MixtureState | None = None

    # -- EM ---------------------------------------------------------------
    def _floor(self, X) -> np.ndarray:
        return np.diag(self.covariance_floor * np.maximum(X.var(axis=0), 1e-12))

    def _em(self, X, S, state: MixtureState, max_iter: int | None = None) -> MixtureState:
        state = state.copy()
        floor = self._floor(X)
        n = len(X)
        prev = -np.inf
        max_iter = max_iter or self.max_iter
        done = state.n_iter
        for it in range(done + 1, done + max_iter + 1):
            logd = np.empty((n, state.k))
            tinvs = []
            for k in range(state.k):
                ll, Tinv = overlap_terms(X, S, state.means[k], state.covs[k])
                logd[:, k] = np.log(max(state.weights[k], 1e-300)) + ll
                tinvs.append(Tinv)
            norm = logsumexp(logd, axis=1)
            mean_ll = float(norm.mean())
            resp = np.exp(logd - norm[:, None])
            state.log_likelihood = float(norm.sum())
            if mean_ll - prev < self.tol and it > 2:
                state.converged = True
                state.n_iter = it
                break
            prev = mean_ll
            qk = resp.sum(axis=0) + 1e-300
            state.weights = qk / n
            for k in range(state.k):
                if state.fixed[k] or qk[k] < 1e-8:
                    continue
                state.means[k], state.covs[k] = xd_update(X, resp[:, k], state.means[k], state.covs[k],
                                                          tinvs[k], floor)
        else:
            state.n_iter = done + max_iter
        return state

    # -- initial conditions ---------------------------------------------
    def _from_responsibilities(self, X, resp, base: MixtureState | None = None) -> MixtureState:
        floor = self._floor(X)
        means, covs = [], []
        for k in range(resp.shape[1]):
            q = resp[:, k] + 1e-12
            m = (q[:, None] * X).sum(0) / q.sum()
            d = X - m
            means.append(m)
            covs.append(np.einsum("n,ni,nj->ij", q, d, d) / q.sum() + floor)
        weights = resp.sum(0) / len(X)
        state = MixtureState(np.asarray(weights), np.asarray(means), np.asarray(covs), np.zeros(len(weights), bool))
        return self._with_fixed_background(X, state)

    def _fixed_background(self, X):
        mean = self.background_mean if self.background_mean is not None else X.mean(axis=0)
        cov = self.background_cov if self.background_cov is not None else np.cov(X, rowvar=False)
        return np.asarray(mean, float), np.asarray(cov, float)

    def _with_fixed_background(self, X, state: MixtureState) -> MixtureState:
        if self.background != "fixed" or state.fixed.any():
            return state
        m, C = self._fixed_background(X)
        w = np.append(state.weights * 0.5, 0.5)
        return MixtureState(w / w.sum(), np.vstack([state.means, m]), np.concatenate([state.covs, C[None]]),
                            np.append(state.fixed, True), label=state.label)

    def _split(self, state: MixtureState, j: int) -> MixtureState:
        """Component j -> two, offset +-1 sigma along its principal axis, variance there shrunk."""
        evals, evecs = np.linalg.eigh(state.covs[j])
        axis, lam = evecs[:, -1], evals[-1]
        offset = np.sqrt(lam) * axis
        cov = state.covs[j] - 0.75 * lam * np.outer(axis, axis)
        means = np.vstack([state.means, state.means[j] + offset])
        means[j] = state.means[j] - offset
        covs = np.concatenate([state.covs, cov[None]])
        covs[j] = cov
        w = np.append(state.weights, state.weights[j] / 2)
        w[j] /= 2
        return MixtureState(w, means, covs, np.append(state.fixed, False), label=f"split {j}")

    def _seed_clump(self, X, state: MixtureState, resp: np.ndarray) -> MixtureState | None:
        """A new compact component at the densest clump of stars not claimed by a group."""
        from sklearn.neighbors import NearestNeighbors

        bg = self.background_index(state)
        claimed = np.zeros(len(X), bool)
        for k in range(state.k):
            if k != bg:
                claimed |= resp[:, k] > 0.5
        pool = np.flatnonzero(~claimed)
        n_nb = int(min(max(10, len(X) // 50), 50))
        if len(pool) <= n_nb + 1:
            return None
        Z = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
        nn = NearestNeighbors(n_neighbors=n_nb + 1).fit(Z[pool])
        dist, idx = nn.kneighbors(Z[pool])
        peak = int(np.argmin(dist[:, -1]))
        members = pool[idx[peak]]
        m = X[members].mean(0)
        C = np.cov(X[members], rowvar=False) + self._floor(X)
        frac = len(members) / len(X)
        w = np.append(state.weights * (1 - frac), frac)
        return MixtureState(w, np.vstack([state.means, m]), np.concatenate([state.covs, C[None]]),
                            np.append(state.fixed, False), label="clump seed")

    def _kmeans(self, X, k_free: int) -> MixtureState:
        from sklearn.cluster import KMeans

        Z = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
        labels = KMeans(n_clusters=k_free, n_init=3, random_state=self.random_state).fit_predict(Z)
        resp = np.eye(k_free)[labels]
        st = self._from_responsibilities(X, resp)
        st.label = "k-means"
        return st

    # -- model selection ------------------------------------------------
    def n_parameters(self, state: MixtureState) -> int:
        d = state.means.shape[1]
        free = int((~state.fixed).sum())
        return free * (d + d * (d + 1) // 2) + state.k - 1

    def bic(self, state: MixtureState, n: int) -> float:
        return -2.0 * state.log_likelihood + self.n_parameters(state) * np.log(n)

    def background_index(self, state: MixtureState) -> int:
        if state.fixed.any():
            return int(np.flatnonzero(state.fixed)[0])
        return int(np.argmax([np.linalg.slogdet(c)[1] for c in state.covs]))

    def fit(self, X: np.ndarray, S: np.ndarray, resp_init: np.ndarray | None = None) -> "XDGaussianMixture":
        X, S = np.asarray(X, float), np.asarray(S, float)
        n = len(X)
        self.bic_path = []

        def record(state, accepted):
            self.bic_path.append({"n_components": int((~state.fixed).sum()), "bic": float(self.bic(state, n)),
                                  "log_likelihood": state.log_likelihood, "init": state.label,
                                  "iterations": state.n_iter, "accepted": accepted})

        if resp_init is not None:
            state = self._em(X, S, self._from_responsibilities(X, resp_init))
            state.label = "given memberships"
            record(state, True)
            self.state_ = state
            return self
        if self.n_components is not None and self.n_components > 1 and self.background == "fitted":
            # fixed K with k-means initial conditions, best of k-means and growth candidates not needed
            state = self._em(X, S, self._kmeans(X, self.n_components))
            record(state, True)
            self.state_ = state
            return self
        if self.background == "fixed":
            # the fixed background alone models the field; groups are added while BIC improves
            m, C = self._fixed_background(X)
            start = MixtureState(np.ones(1), m[None], C[None], np.ones(1, bool), label="fixed background")
        else:
            start = self._from_responsibilities(X, np.ones((n, 1)))
            start.label = "one component"
        state = self._em(X, S, start)
        record(state, True)
        target = self.n_components or self.max_components
        while int((~state.fixed).sum()) < target:
            resp = self._responsibilities(X, S, state)
            inits = [self._split(state, j) for j in range(state.k) if not state.fixed[j]]
            seed = self._seed_clump(X, state, resp)
            if seed is not None:
                inits.append(seed)
            inits.append(self._kmeans(X, int((~state.fixed).sum()) + 1))
            trials = []
            for init in inits:
                fitted = self._em(X, S, init, max_iter=self.screen_iter)
                fitted.label = init.label
                trials.append(fitted)
            # screen the candidates briefly, then converge only the most promising one
            lead = min(range(len(trials)), key=lambda i: self.bic(trials[i], n))
            if not trials[lead].converged:
                trials[lead] = self._em(X, S, trials[lead])
                trials[lead].label = inits[lead].label
            best = min(trials, key=lambda s: self.bic(s, n))
            improves = self.bic(best, n) < self.bic(state, n) - self.min_bic_improvement
            forced = self.n_components is not None
            for t in trials:
                record(t, (t is best) and (improves or forced))
            if not (improves or forced):
                break
            state = best
        self.state_ = state
        return self

    # -- scoring ----------------------------------------------------------
    def _responsibilities(self, X, S, state) -> np.ndarray:
        logd = component_log_densities(X, S, state)
        return np.exp(logd - logsumexp(logd, axis=1)[:, None])

    def predict_proba(self, X, S) -> np.ndarray:
        return self._responsibilities(np.asarray(X, float), np.asarray(S, float), self.state_)

    def score_samples(self, X, S) -> np.ndarray:
        """ln p(x_i) under the fitted mixture (deconvolved model convolved with each star's errors)."""
        return logsumexp(component_log_densities(np.asarray(X, float), np.asarray(S, float), self.state_), axis=1)

    def to_dict(self, feature_names) -> dict:
        st = self.state_
        bg = self.background_index(st)
        return {"features": list(feature_names), "background": self.background, "background_index": bg,
                "weights": st.weights.tolist(), "means": st.means.tolist(), "covariances": st.covs.tolist(),
                "fixed": st.fixed.tolist(), "log_likelihood": st.log_likelihood, "iterations": st.n_iter,
                "converged": st.converged, "bic_path": self.bic_path}
