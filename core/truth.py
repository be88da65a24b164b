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
    from sklearn.metrics import roc_auc_score

    labels = pd.Categorical(labels)
    names = [str(c) for c in labels.categories]
    codes = labels.codes
    groups = {p: codes == i for i, p in sorted(enumerate(names), key=lambda t: t[1])}
    normal = set(normal or [])
    if normal and any(p not in normal for p in groups):
        groups["anomalous"] = ~np.isin(np.asarray(names, dtype=object)[codes], list(normal))
    out = {}
    for det, score in scores.items():
        score = np.asarray(score, float)
        flag = np.asarray(flags.get(det, np.zeros(len(score), bool)), bool)
        ok = np.isfinite(score)
        res = {}
        for pop, is_pop in groups.items():
            n = int(is_pop.sum())
            y = is_pop[ok]
            auc = float(roc_auc_score(y, score[ok])) if 0 < y.sum() < len(y) else None
            tp = int((flag & is_pop).sum())
            res[pop] = {"n": n, "roc_auc": None if auc is None else round(auc, 4),
                        "recall": round(tp / n, 4) if n else None,
                        "precision": round(tp / int(flag.sum()), 4) if flag.any() else None,
                        "flagged": tp}
        out[det] = res
    return out
