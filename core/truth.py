"""How well each detector recovers labelled populations (mocks carry truth labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def truth_recovery(labels, scores: dict[str, np.ndarray], flags: dict[str, np.ndarray],
                   normal: list[str] | None = None, consume: bool = False) -> dict:
    """Per detector and population: ROC AUC of the score, recall and precision of the flags.

    ``labels``: the truth label of every row (array or Categorical); ``scores``
    and ``flags``: per detector step, one value per row. ``normal`` names the
    ordinary populations; all others are also pooled as ``anomalous``.
    ``consume``: the score arrays may be sorted in place (the caller is done with
    them), which spares a sorted copy of every score (270 MB at 33.8 million rows).
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
        n_flag = int(flag.sum())
        # first, in row order: counts and the smaller class's scores of every population
        res, smaller = {}, {}
        for pop, mask in groups.items():
            is_pop = mask()
            n = int(is_pop.sum())
            tp = int((flag & is_pop).sum())
            res[pop] = {"n": n, "roc_auc": None, "recall": round(tp / n, 4) if n else None,
                        "precision": round(tp / n_flag, 4) if n_flag else None, "flagged": tp}
            smaller[pop] = _smaller_class(finite, is_pop if every else is_pop[ok])
        del ok
        # then one sort per detector, shared by every population (in place when allowed)
        if consume or not every:
            finite.sort()
            ordered = finite
        else:
            ordered = np.sort(finite)
        for pop, part in smaller.items():
            auc = None if part is None else _auc(ordered, *part)
            res[pop]["roc_auc"] = None if auc is None else round(auc, 4)
        out[det] = res
    return out


def _smaller_class(values: np.ndarray, positive: np.ndarray):
    """(scores of the smaller class, its size is the positive class?, n_pos) or None when a class is empty."""
    n_pos = int(positive.sum())
    if n_pos == 0 or n_pos == len(values):
        return None
    pos_smaller = n_pos <= len(values) - n_pos
    return values[positive if pos_smaller else ~positive], pos_smaller, n_pos


def _auc(ordered: np.ndarray, x: np.ndarray, pos_smaller: bool, n_pos: int) -> float:
    """ROC AUC as the Mann-Whitney U from average ranks (ties count one half, as in scikit-learn).

    Ranks are read off the sorted values for the smaller of the two classes only (``x``), so 33.8
    million rows need the scores and a fraction of them, not a full rank table.
    """
    n = len(ordered)
    n_neg = n - n_pos
    ranks = (np.searchsorted(ordered, x, "left") + np.searchsorted(ordered, x, "right") + 1) / 2
    rank_sum = ranks.sum() if pos_smaller else n * (n + 1) / 2 - ranks.sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
