"""The re-rankers as fitted detectors: learnt once from the training sample and the labelled stars,
then scoring any chunk of rows on its own (so review recipes stream, and `toolkit score` repeats them).

What the whole-table re-rank (``rerank.Reranker``, used by the review page) reads from all rows is
read here from the run's seeded training sample instead, as ``detect.ensemble`` does:

- ``S``, the base score's percentile rank, is the rank among the sample's base scores;
- the pool (the stars re-scored; the others keep their unsupervised order below them) is the rows
  whose ``S`` puts them among the top ``pool`` of the whole table (``pool / rows`` of the sample);
- the feature medians and scales, the relevance regression's distance scale ``d0`` and the active
  forest's training rows come from the sample's pool rows.

Both learners are refitted from the saved arrays when a model folder is loaded (a seeded random
forest and AAD forest give the same trees on the same arrays), so nothing is ever unpickled.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import FittedDetector, Table, score_column

from .active_forest import QUANTILE_SAMPLE

#: the whole-table re-rank's pool: the 20,000 stars with the highest base scores
POOL = 20_000


def rank_among(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fraction of the sorted ``reference`` at or below each value, in [0, 1]; NaN stays NaN."""
    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    if ok.any() and len(reference):
        out[ok] = np.searchsorted(reference, values[ok], side="right") / len(reference)
    return out


def robust_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The medians and scales ``relevance.standardise`` uses (median, 1.4826 MAD, std where the MAD is 0)."""
    X = np.asarray(X, float)
    if len(X) == 0:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    with np.errstate(all="ignore"):
        med = np.nanmedian(X, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    filled = np.where(np.isfinite(X), X, med)
    mad = 1.4826 * np.median(np.abs(filled - med), axis=0)
    std = filled.std(axis=0)
    return med, np.where(mad > 0, mad, np.where(std > 0, std, 1.0))


def scaled(X: np.ndarray, med: np.ndarray, scale: np.ndarray) -> np.ndarray:
    X = np.asarray(X, float)
    return (np.where(np.isfinite(X), X, med) - med) / scale


class FittedRerank(FittedDetector):
    """State shared by both re-rankers: base-score reference, pool edge, feature scaling, labelled stars."""

    method = ""

    def __init__(self, base: str, features: list[str], reference: np.ndarray, pool_rank: float, med: np.ndarray,
                 scale: np.ndarray, label_ids: np.ndarray, label_Z: np.ndarray, label_S: np.ndarray,
                 relevance: np.ndarray, seed: int, summary: dict | None = None) -> None:
        self.base, self.inputs = base, list(features)
        self.features = [*self.inputs, score_column(base)]
        self.reference, self.pool_rank = np.asarray(reference, float), float(pool_rank)
        self.med, self.scale = np.asarray(med, float), np.asarray(scale, float)
        self.label_ids, self.label_Z = np.asarray(label_ids), np.asarray(label_Z, float)
        self.label_S, self.relevance = np.asarray(label_S, float), np.asarray(relevance, float)
        self.seed = int(seed)
        self.summary = dict(summary or {})

    # -- per chunk -------------------------------------------------------------------------
    def _inputs(self, table: Table):
        table.require(self.features, f"review.{self.method}")
        S = rank_among(table.array(score_column(self.base)), self.reference)
        ids = table.data[table.id_column].to_numpy()
        labelled = np.isin(ids, self.label_ids) if len(self.label_ids) else np.zeros(len(ids), bool)
        with np.errstate(invalid="ignore"):
            pool = (S >= self.pool_rank) | labelled
        return S, ids, labelled, pool

    def _Z(self, table: Table, rows: np.ndarray) -> np.ndarray:
        X = np.column_stack([table.array(f)[rows] for f in self.inputs]) if len(self.inputs) else \
            np.zeros((int(rows.sum()), 0))
        return scaled(X, self.med, self.scale)

    def score(self, table: Table) -> np.ndarray:
        S, ids, labelled, pool = self._inputs(table)
        out = S - 2.0       # outside the pool: the unsupervised order, below every re-scored star
        if pool.any():
            out[pool] = self._pool_scores(self._Z(table, pool), S[pool], ids[pool], labelled[pool])
        return out

    def _pool_scores(self, Z, S, ids, labelled) -> np.ndarray:
        raise NotImplementedError

    # -- files -----------------------------------------------------------------------------
    def _arrays(self) -> dict:
        return {"reference": self.reference, "med": self.med, "scale": self.scale, "label_ids": self.label_ids,
                "label_Z": self.label_Z, "label_S": self.label_S, "relevance": self.relevance}

    def _state(self) -> dict:
        return {"base": self.base, "features": self.inputs, "pool_rank": self.pool_rank, "seed": self.seed,
                "summary": self.summary}

    @staticmethod
    def _common(arrays: dict, state: dict) -> dict:
        return dict(base=state["base"], features=list(state["features"]), reference=arrays["reference"],
                    pool_rank=float(state["pool_rank"]), med=arrays["med"], scale=arrays["scale"],
                    label_ids=arrays["label_ids"], label_Z=arrays["label_Z"], label_S=arrays["label_S"],
                    relevance=arrays["relevance"], seed=int(state["seed"]), summary=state.get("summary", {}))


class FittedRelevance(FittedRerank):
    """Astronomaly's relevance regression (see ``relevance.relevance_rerank``) on any chunk."""

    method = "relevance"

    def __init__(self, *args, d0: float, alpha: float = 3.0, n_estimators: int = 100, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.d0, self.alpha, self.n_estimators = float(d0), float(alpha), int(n_estimators)
        self.learns = len(self.relevance) > 0 and self.relevance.min() < self.relevance.max()
        self.forest = self.tree = None
        if self.learns:
            from scipy.spatial import cKDTree
            from sklearn.ensemble import RandomForestRegressor

            self.forest = RandomForestRegressor(n_estimators=self.n_estimators, min_samples_leaf=2,
                                                random_state=self.seed, n_jobs=1)
            self.forest.fit(self.label_Z, self.relevance)
            self.tree = cKDTree(self.label_Z)
        self.score_description = (f"relevance re-rank of score_{self.base} with {len(self.relevance)} labels "
                                  "(Lochner & Bassett 2021): S tanh(exp(d/d0) - 1 + arctanh(0.1 + 0.89 U)) in the "
                                  "pool, S - 2 outside it; S = percentile of the base score in the training sample")

    def distances(self, Z: np.ndarray) -> np.ndarray:
        return self.tree.query(Z, k=1)[0]

    def _pool_scores(self, Z, S, ids, labelled) -> np.ndarray:
        new = S.copy()
        if self.learns and len(Z):
            U = self.forest.predict(Z)
            f_u = 0.1 + 0.89 * U
            new = S * np.tanh(np.exp(self.distances(Z) / self.d0) - 1.0 + np.arctanh(f_u))
        if labelled.any():   # a labelled star's answer is known, not predicted
            rel = self.relevance[np.searchsorted(self.label_ids, ids[labelled])]   # label_ids are sorted
            new[labelled] = np.where(rel > 0.5, 2.0 + S[labelled], rel * S[labelled])
        return new

    def save(self, files) -> dict:
        files.write_arrays("rerank.npz", self._arrays())
        return {**self._state(), "d0": self.d0, "alpha": self.alpha, "n_estimators": self.n_estimators}


class FittedActiveForest(FittedRerank):
    """coniferest's AAD forest fitted on the sample's pool rows and the labels, scoring any chunk.

    The forest's score (higher = more worth a look) is squashed into (1, 2) by an arctangent, which
    keeps its order, so every pool row ranks above the rows outside the pool (S - 2, below -1)."""

    method = "active_forest"

    def __init__(self, *args, fit_Z: np.ndarray, budget: float, n_trees: int = 100, n_subsamples: int = 256,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fit_Z = np.asarray(fit_Z, float)
        self.budget, self.n_trees, self.n_subsamples = float(budget), int(n_trees), int(n_subsamples)
        try:
            from coniferest.aadforest import AADForest
            from coniferest.label import Label
        except ImportError as exc:  # pragma: no cover - coniferest is a dependency
            raise RuntimeError(f"review.active_forest needs coniferest (pip install coniferest): {exc}") from None
        n = len(self.fit_Z)
        self.forest = AADForest(n_trees=self.n_trees, n_subsamples=max(1, min(self.n_subsamples, n)),
                                budget=self.budget, random_seed=self.seed, n_jobs=1)
        use = self.relevance != 0.5           # "known" is neither anomaly nor regular
        known = np.column_stack([self.label_Z, self.label_S])[use]
        labels = np.where(self.relevance[use] > 0.5, Label.ANOMALY, Label.REGULAR)
        if len(known):
            self.forest.fit_known(self.fit_Z, known, labels)
        else:
            self.forest.fit(self.fit_Z)
        self.score_description = (f"active anomaly forest re-rank of score_{self.base} with {len(self.relevance)} "
                                  "labels (Das et al. 2017, coniferest AADForest): 1.5 + arctan(-forest score)/pi "
                                  "in the pool, S - 2 outside it; S = percentile of the base score in the sample")

    def _pool_scores(self, Z, S, ids, labelled) -> np.ndarray:
        F = np.ascontiguousarray(np.column_stack([Z, np.nan_to_num(S, nan=0.0)]))
        return 1.5 + np.arctan(-self.forest.score_samples(F)) / np.pi

    def save(self, files) -> dict:
        files.write_arrays("rerank.npz", {**self._arrays(), "fit_Z": self.fit_Z})
        return {**self._state(), "budget": self.budget, "n_trees": self.n_trees, "n_subsamples": self.n_subsamples}


def fit_rerank(kind: str, sample: Table, n_sample: int, base: str, features: list[str], rows: np.ndarray,
               relevance: np.ndarray, *, rows_in_table: int, seed: int, budget: int, summary: dict) -> FittedRerank:
    """Learn a re-ranker: ``sample``'s first ``n_sample`` rows are the seeded training sample, ``rows`` the
    positions (anywhere in ``sample``) of the labelled stars with their ``relevance``."""
    base_all = sample.array(score_column(base))
    base_s = base_all[:n_sample]
    reference = np.sort(base_s[np.isfinite(base_s)])
    summary = {**summary, "pool": min(POOL, rows_in_table)}
    pool_frac = min(1.0, POOL / max(rows_in_table, 1))
    # rows ranked among the top ``pool_frac`` of the sample form the pool (every row when the table is small)
    pool_rank = 0.0 if pool_frac >= 1.0 else 1.0 - pool_frac
    S_s = rank_among(base_s, reference)
    with np.errstate(invalid="ignore"):
        in_pool = np.nonzero(S_s >= pool_rank)[0]
    X = np.column_stack([sample.array(f) for f in features])
    med, scale = robust_scaling(X[in_pool])
    ids = sample.data[sample.id_column].to_numpy()
    order = np.argsort(ids[rows], kind="stable")   # labelled stars sorted by id (looked up by binary search)
    rows, relevance = np.asarray(rows, int)[order], np.asarray(relevance, float)[order]
    common = dict(base=base, features=features, reference=reference, pool_rank=pool_rank, med=med, scale=scale,
                  label_ids=ids[rows], label_Z=scaled(X[rows], med, scale),
                  label_S=np.nan_to_num(rank_among(base_all[rows], reference), nan=0.0), relevance=relevance,
                  seed=seed, summary=summary)
    Z_pool = scaled(X[in_pool], med, scale)
    if kind == "relevance":
        d0 = 1e-12
        if len(rows) and relevance.min() < relevance.max() and len(Z_pool):
            from scipy.spatial import cKDTree

            d0 = 3.0 * max(float(np.median(cKDTree(common["label_Z"]).query(Z_pool, k=1)[0])), 1e-12)
        return FittedRelevance(**common, d0=d0)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(in_pool), size=QUANTILE_SAMPLE, replace=False)) if len(in_pool) > QUANTILE_SAMPLE \
        else np.arange(len(in_pool))
    fit_Z = np.column_stack([Z_pool[pick], np.nan_to_num(S_s[in_pool][pick], nan=0.0)])
    n_pool = min(POOL, rows_in_table)
    frac = min(max(budget / max(n_pool, 1), 1.0 / max(len(fit_Z), 1)), 0.5)
    return FittedActiveForest(**common, fit_Z=fit_Z, budget=frac)
