"""Truth recovery: the rank-based AUC equals scikit-learn's, ties and NaN scores included."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from toolkit.core.truth import truth_recovery


def test_auc_recall_precision_match_a_direct_computation():
    rng = np.random.default_rng(3)
    n = 4000
    labels = rng.choice(["thin", "thick", "halo"], size=n, p=[0.8, 0.15, 0.05])
    score = np.round(rng.normal(size=n) + 2.0 * (labels == "halo"), 1)     # rounded: many ties
    score[:25] = np.nan
    flag = score > 2.5
    out = truth_recovery(labels, {"d": score}, {"d": flag}, normal=["thin", "thick"])["d"]
    ok = np.isfinite(score)
    for pop, truth in [("halo", labels == "halo"), ("thin", labels == "thin"), ("anomalous", labels == "halo")]:
        assert out[pop]["roc_auc"] == pytest.approx(roc_auc_score(truth[ok], score[ok]), abs=1e-4)
        assert out[pop]["recall"] == pytest.approx((flag & truth).sum() / truth.sum(), abs=1e-4)
        assert out[pop]["precision"] == pytest.approx((flag & truth).sum() / flag.sum(), abs=1e-4)
    assert out["halo"]["roc_auc"] > 0.8 and set(out) == {"halo", "thick", "thin", "anomalous"}


def test_consuming_the_scores_gives_the_same_answer():
    """The runner lets truth_recovery sort the scores in place (no second copy); the result is the same."""
    rng = np.random.default_rng(5)
    labels = rng.choice(["thin", "halo", "wd"], size=3000, p=[0.9, 0.07, 0.03])
    score = np.round(rng.normal(size=3000) + (labels == "halo"), 2)
    flag = score > 1.5
    kept = truth_recovery(labels, {"d": score.copy()}, {"d": flag}, normal=["thin"])
    mine = score.copy()
    eaten = truth_recovery(labels, {"d": mine}, {"d": flag}, normal=["thin"], consume=True)
    assert kept == eaten and np.all(np.diff(mine) >= 0)     # sorted in place, as promised
