"""Chronostar's driver: add space-time groups one at a time while the BIC of the whole mixture improves.

The number of groups is decided by the space-time model itself (9 parameters a group:
birth mean, two birth dispersions, age, plus its weight), not by a free-covariance
Gaussian mixture first: a full 6D covariance costs 27 parameters, so a real group of
twenty stars (the classic Beta Pic members in a 100 pc field) never pays for itself
there, while a Chronostar component does (Crundall et al. 2019, sect. 3).

Each step tries (a) a new group seeded at each of the ``n_seeds`` densest distinct clumps
of stars no group claims (k nearest neighbours in standardised XYZUVW) and (b) splitting every group in two
along its widest present-day axis (Chronostar's ICPool); each candidate mixture is
fitted in full (ages included) and the one with the lowest BIC is kept if it beats
the current mixture. Growth stops at ``max_groups``.
"""

from __future__ import annotations

import numpy as np

from .spacetime_mixture import SpaceTimeMixture


def _clump_seeds(X: np.ndarray, claimed: np.ndarray, n_neighbours: int, n_seeds: int) -> list[np.ndarray]:
    """The ``n_seeds`` densest distinct clumps of unclaimed stars (a star whose n-th neighbour is
    nearest, with its neighbours), densest first; a clump sharing a star with a denser one is skipped."""
    from sklearn.neighbors import NearestNeighbors

    pool = np.flatnonzero(~claimed)
    if len(pool) <= n_neighbours + 1:
        return []
    Z = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
    dist, idx = NearestNeighbors(n_neighbors=n_neighbours + 1).fit(Z[pool]).kneighbors(Z[pool])
    seeds, used = [], np.zeros(len(pool), bool)
    for peak in np.argsort(dist[:, -1], kind="stable"):
        if used[idx[peak]].any():
            continue
        seeds.append(pool[idx[peak]])
        used[idx[peak]] = True
        if len(seeds) == n_seeds:
            break
    return seeds


def _split_resp(X: np.ndarray, resp: np.ndarray, k: int, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Responsibilities with group column ``k`` shared out between two halves along its widest axis."""
    Z = (X - mean) / np.sqrt(np.diag(cov))
    evals, evecs = np.linalg.eigh(np.corrcoef(Z[resp[:, k] > 0.5].T) if (resp[:, k] > 0.5).sum() > 7 else np.eye(6))
    side = (Z @ evecs[:, -1]) > 0
    out = np.column_stack([resp, resp[:, k] * side])
    out[:, k] = resp[:, k] * ~side
    return out


def _clump_around(X: np.ndarray, rows: np.ndarray, n_neighbours: int) -> np.ndarray:
    """The named stars and their nearest neighbours (standardised XYZUVW) around the named stars' centre."""
    from sklearn.neighbors import NearestNeighbors

    Z = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
    centre = Z[rows].mean(axis=0, keepdims=True)
    k = min(len(X), max(n_neighbours, len(rows)))
    _, idx = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors(centre)
    return np.union1d(rows, idx[0])


def grow_spacetime(X, S, tracer, ages, background_logd, max_groups: int, init_resp: np.ndarray | None = None,
                   n_neighbours: int | None = None, seed_membership: float = 0.9, max_iter: int = 15,
                   tol: float = 1e-3, log=None, named_rows: np.ndarray | None = None, n_seeds: int = 3):
    """Best mixture by BIC with up to ``max_groups`` groups. Returns (mixture or None, path).

    ``background_logd``: the field's ln density at each star (fixed; its amplitude is fitted).
    ``named_rows``: stars known to belong to one group (e.g. beta Pic itself): the first group is
    seeded around them and kept whatever its BIC (the user asserts it exists); BIC decides the rest. ``init_resp``: starting groups (n, 1 + K),
    background column first. A mixture of no groups is the background alone (None is returned
    when no group improves the BIC).
    """
    n = len(X)
    n_neighbours = n_neighbours or int(min(max(10, n // 50), 50))
    bg_ll = np.asarray(background_logd, float)
    best_bic = -2.0 * float(bg_ll.sum())
    path = [{"n_groups": 0, "bic": best_bic, "log_likelihood": float(bg_ll.sum()), "init": "background only",
             "accepted": True, "ages": []}]
    best = None

    def fit(resp):
        resp = np.clip(resp, 1e-6, None)
        resp = resp / resp.sum(axis=1, keepdims=True)
        return SpaceTimeMixture(tracer, ages, max_iter=max_iter, tol=tol, background_logd=bg_ll).fit(X, S, resp)

    if named_rows is not None and len(named_rows) and (init_resp is None or init_resp.shape[1] < 2):
        new = np.zeros(n)
        new[_clump_around(X, np.asarray(named_rows), n_neighbours)] = seed_membership
        init_resp = np.column_stack([1 - new, new])
        init_label = "seeded around the named stars"
    else:
        init_label = "given memberships"
    if init_resp is not None and init_resp.shape[1] > 1:
        best = fit(init_resp)
        best_bic = best.bic(n)
        path.append({"n_groups": len(best.groups_), "bic": best_bic, "log_likelihood": best.log_likelihood_,
                     "init": init_label, "accepted": True, "ages": [g.age for g in best.groups_]})
    while (0 if best is None else len(best.groups_)) < max_groups:
        if best is None:
            resp = np.ones((n, 1))
        else:
            resp = best.predict_proba(X, S)
        claimed = resp[:, 1:].max(axis=1) > 0.5 if resp.shape[1] > 1 else np.zeros(n, bool)
        candidates = []
        for rank, members in enumerate(_clump_seeds(X, claimed, n_neighbours, n_seeds), start=1):
            new = np.zeros(n)
            new[members] = seed_membership
            cand = np.column_stack([resp * (1 - new)[:, None], new])
            candidates.append((f"clump seed {rank}", cand))
        if best is not None:
            for k, comp in enumerate(best.groups_, start=1):
                mean, cov = comp.current(tracer)
                candidates.append((f"split group {k}", _split_resp(X, resp, k, mean, cov)))
        trials = []
        for label, cand in candidates:
            mix = fit(cand)
            bic = mix.bic(n)
            trials.append((bic, label, mix))
            if log:
                log(f"{len(mix.groups_)} group(s) from {label}: BIC {bic:.1f}, ages "
                    f"{[round(g.age, 1) for g in mix.groups_]}")
        if not trials:
            break
        bic, label, mix = min(trials, key=lambda t: t[0])
        for b, lab, m in trials:
            path.append({"n_groups": len(m.groups_), "bic": b, "log_likelihood": m.log_likelihood_, "init": lab,
                         "accepted": bool(m is mix and b < best_bic), "ages": [g.age for g in m.groups_]})
        if bic >= best_bic:
            break
        best, best_bic = mix, bic
    return best, path
