"""Truth recovery: the rank-based AUC equals scikit-learn's, ties and NaN scores included, whatever the chunks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from toolkit.core.rowvalues import RowValues
from toolkit.core.truth import TruthLabels, truth_recovery


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


@pytest.mark.parametrize("on_disk", [False, True])
def test_chunked_labels_scores_and_flags_give_the_whole_table_answer(tmp_path, on_disk):
    """A streamed run keeps labels, scores and flags chunk by chunk (on disk); the answer is the whole table's."""
    rng = np.random.default_rng(5)
    n = 5000
    labels = rng.choice(["thin", "halo", "wd"], size=n, p=[0.9, 0.07, 0.03])
    score = np.round(rng.normal(size=n) + (labels == "halo"), 2)
    score[rng.random(n) < 0.01] = np.nan
    flag = score > 1.5
    whole = truth_recovery(labels, {"d": score}, {"d": flag}, normal=["thin"])
    folder = tmp_path if on_disk else None
    chunked = TruthLabels(folder and folder / "labels.i2")
    s_rows = RowValues(float, folder and folder / "s.f8")
    f_rows = RowValues(bool, folder and folder / "f.b1")
    for part in np.array_split(np.arange(n), [700, 701, 2500, 4999]):   # one chunk of a single row
        chunked.add(pd.Series(labels[part]))
        s_rows.append(score[part])
        f_rows.append(flag[part])
    assert truth_recovery(chunked, {"d": s_rows}, {"d": f_rows}, normal=["thin"]) == whole
    assert whole["d"]["halo"]["roc_auc"] == pytest.approx(
        roc_auc_score((labels == "halo")[np.isfinite(score)], score[np.isfinite(score)]), abs=1e-4)
