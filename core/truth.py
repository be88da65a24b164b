"""How well each detector recovers labelled populations (mocks carry truth labels)."""

from __future__ import annotations

import numpy as np

from .table import TRUTH_COLUMN, Table


def truth_recovery(table: Table, detector_names: list[str]) -> dict:
    """Per detector and population: ROC AUC of the score, recall and precision of the flags.

    ``table.meta['truth_normal']`` (if the source sets it) names the ordinary
    populations; all others are also pooled as ``anomalous``.
    """
    if TRUTH_COLUMN not in table.data.columns:
        return {}
    from sklearn.metrics import roc_auc_score

    labels = table.data[TRUTH_COLUMN].astype(str).to_numpy()
    groups = {p: labels == p for p in sorted(set(labels))}
    normal = set(table.meta.get("truth_normal", []))
    if normal and any(p not in normal for p in groups):
        groups["anomalous"] = ~np.isin(labels, list(normal))
    out = {}
    for det in detector_names:
        score = table.array(f"score_{det}")
        flag_col = f"flag_{det}"
        flag = table.data[flag_col].to_numpy(bool) if flag_col in table.data else np.zeros(len(table), bool)
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
