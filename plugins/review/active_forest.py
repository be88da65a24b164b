"""Active anomaly forest: coniferest's AADForest (Das et al. 2017, arXiv:1708.09441; Ishida et al. 2021).

An isolation forest whose leaf weights are re-fitted so that stars labelled interesting score
above the ``budget``-quantile of the scores and stars labelled boring or artefact below it. The
unsupervised score of the run enters as one more feature (its percentile rank), so the forest
starts from what the detector found and the labels move it. coniferest scores lower = more
anomalous; here the sign is flipped (higher = more worth a look), as every toolkit score.
"""

from __future__ import annotations

import numpy as np

from .relevance import percentile_rank, standardise

CITATION = ("Das, S., Wong, W.-K., Dietterich, T., Fern, A. & Emmott, A. 2017, arXiv:1708.09441 "
            "(Incorporating expert feedback into active anomaly discovery); implementation: coniferest "
            "(Korolev, Malanchev, Ishida et al., SNAD; Ishida et al. 2021, A&A 650, A195)")

#: rows used to place the budget quantile while fitting the weights (scoring still covers every row)
QUANTILE_SAMPLE = 20_000


def forest_features(X: np.ndarray, score: np.ndarray | None) -> np.ndarray:
    Z = standardise(X)
    if score is not None:
        Z = np.column_stack([Z, np.nan_to_num(percentile_rank(score), nan=0.0)])
    return np.ascontiguousarray(Z)


def active_forest_rerank(X: np.ndarray, score: np.ndarray | None, labelled: np.ndarray, relevance: np.ndarray,
                         *, budget: int = 340, n_trees: int = 100, n_subsamples: int = 256, seed: int = 0,
                         threads: int = 1, Z: np.ndarray | None = None) -> np.ndarray:
    """Scores (higher = more worth a look) from an AAD forest fitted on the rows and the labels.

    ``relevance`` > 0.5 counts as an anomaly, < 0.5 as regular ("known", 0.5, is left out).
    ``Z``: ``forest_features(X, score)`` computed once by the caller.
    """
    try:
        from coniferest.aadforest import AADForest
        from coniferest.label import Label
    except ImportError as exc:  # pragma: no cover - coniferest is a dependency
        raise RuntimeError(f"review.active_forest needs coniferest (pip install coniferest): {exc}") from None
    Z = forest_features(X, score) if Z is None else Z
    n = len(Z)
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(n, QUANTILE_SAMPLE), replace=False) if n > QUANTILE_SAMPLE else np.arange(n)
    frac = min(max(budget / max(n, 1), 1.0 / len(sample)), 0.5)
    forest = AADForest(n_trees=n_trees, n_subsamples=min(n_subsamples, n), budget=float(frac),
                       random_seed=int(seed), n_jobs=threads)
    labelled = np.asarray(labelled, int)
    relevance = np.asarray(relevance, float)
    use = relevance != 0.5
    known = labelled[use]
    labels = np.where(relevance[use] > 0.5, Label.ANOMALY, Label.REGULAR)
    if len(known):
        forest.fit_known(Z[sample], Z[known], labels)
    else:
        forest.fit(Z[sample])
    return -forest.score_samples(Z)
