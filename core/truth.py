"""How well each detector recovers labelled populations (mocks carry truth labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def truth_recovery(labels, scores: dict[str, np.ndarray], flags: dict[str, np.ndarray],
                   normal: list[str] | None = None) -> dict:
    """Per detector and population: ROC AUC of the score, recall and precision of the flags.

    ``labels``: the truth label of every row (array or Categorical); ``scores``
    and ``flags``: per detector step, one value per row. ``normal`` names the
    ordinary populations; all others are also pooled as ``anomalous``.
    """
    labels = pd.Categorical(labels)
    names = [str(c) for c in labels.categories]
    codes = labels.codes
    # each population's rows as a mask made when needed (one byte per row at a time, not one per population)
    groups = {p: (lambda i=i: codes == i) for i, p in sorted(enumerate(names), key=lambda t: t[1])}
    normal = set(normal or [])
    if normal and any(p not in normal for p in groups):
        groups["anomalous"] = lambda: ~np.isin(codes, [i for i, p in enumerate(names) if p in normal])
    out = {}
    for det, score in scores.items():
        score = np.asarray(score, float)
        flag = np.asarray(flags.get(det, np.zeros(len(score), bool)), bool)
        ok = np.isfinite(score)
        every = bool(ok.all())
        finite = score if every else score[ok]
        ordered = np.sort(finite)              # one sort per detector, shared by every population
        res = {}
        for pop, mask in groups.items():
            is_pop = mask()
            n = int(is_pop.sum())
            tp = int((flag & is_pop).sum())
            auc = _auc(finite, ordered, is_pop if every else is_pop[ok])
            res[pop] = {"n": n, "roc_auc": None if auc is None else round(auc, 4),
                        "recall": round(tp / n, 4) if n else None,
                        "precision": round(tp / int(flag.sum()), 4) if flag.any() else None,
                        "flagged": tp}
        out[det] = res
    return out


def _auc(values: np.ndarray, ordered: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney U from average ranks (ties count one half, as in scikit-learn).

    Ranks are read off the sorted values for the smaller of the two classes only, so 33.8
    million rows need two float arrays, not a full rank table.
    """
    n = len(values)
    n_pos = int(positive.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    small = positive if n_pos <= n_neg else ~positive
    x = values[small]
    ranks = (np.searchsorted(ordered, x, "left") + np.searchsorted(ordered, x, "right") + 1) / 2
    rank_sum = ranks.sum() if n_pos <= n_neg else n * (n + 1) / 2 - ranks.sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
