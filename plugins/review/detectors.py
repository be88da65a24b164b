"""``review.relevance`` and ``review.active_forest``: re-rank an earlier detector's score with labels.

In a recipe they follow the detector whose score they re-rank (``base``); ``labels`` is a labels
file (labels.parquet, or CSV/ECSV with id and label) or a previous run folder holding one. The
labelled stars found in the table, with their labels, are written into this run's manifest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core import Config, Detection, Detector, Field, StageError, ToolkitError
from toolkit.core import RunContext

from . import active_forest, relevance
from .labels import LABELS_FILE, read_labels
from .rerank import Reranker, match_labels
from toolkit.core import flag_column, score_column


class _LabelledRerank(Detector):
    method = ""
    citation = ""

    class Config(Config):
        base: str = Field(..., description="step name of an earlier detector whose score_<base> is re-ranked")
        labels: Path = Field(..., description="labels file (labels.parquet, CSV, ECSV: id, label) or a run folder "
                                             "holding labels.parquet")
        features: list[str] = Field(..., min_length=1, description="feature columns the learner uses")
        top_k: int | None = Field(None, ge=1, description="flag this many top stars; null: as many as flag_<base>")
        seed: int | None = Field(None, description="random seed; null: derived from the recipe seed")

    def detect(self, table, ctx: RunContext) -> Detection:
        c = self.config
        base_col = score_column(c.base)
        table.require([base_col, *c.features], self.name)
        path = Path(c.labels)
        try:
            labels = read_labels(path)
        except ToolkitError as exc:
            raise StageError(f"{self.name}: {exc}") from None
        ids = table.data[table.id_column].to_numpy()
        rows, rel, used, missing = match_labels(ids, labels)
        if len(rows) == 0:
            raise StageError(f"{self.name}: none of the {len(labels)} labels in '{path}' names a star of this table "
                             f"(column {table.id_column}); label stars of this sample with `toolkit review`")
        if missing:
            ctx.warn(f"{missing} labelled star(s) in '{path}' are not in this table and were ignored")
        X = np.column_stack([table.data[f].to_numpy(float) for f in c.features])
        base = table.data[base_col].to_numpy(float)
        flag_col = flag_column(c.base)
        k = c.top_k or (int(table.data[flag_col].fillna(False).astype(bool).sum()) if flag_col in table.data else 0) \
            or max(1, len(table) // 500)
        seed = c.seed if c.seed is not None else ctx.step_seed("rerank")
        score = Reranker(X, base, seed=seed, budget=k).rerank(self.method, rows, rel)
        s = np.where(np.isfinite(score), score, -np.inf)
        flag = np.zeros(len(table), bool)
        flag[np.argsort(-s, kind="stable")[:k]] = True
        label_file = path / LABELS_FILE if path.is_dir() else path
        summary = {
            "base": c.base, "method": self.method, "citation": self.citation, "features": list(c.features),
            "labels": {"file": str(label_file), "sha256": ctx.record_input(label_file), "n_in_file": int(len(labels)),
                       "n_used": int(len(rows)), "n_not_in_table": missing,
                       "by_label": {k_: int(v) for k_, v in used["label"].value_counts().items()},
                       "rows": [{"id": str(i), "label": lab, "note": note}
                                for i, lab, note in zip(used["id"], used["label"], used["note"])]},
            "top_k": k,
        }
        return Detection(score=score, flag=flag, summary=summary,
                         score_description=f"{self.method} re-rank of score_{c.base} with {len(rows)} labels")


class RelevanceRerank(_LabelledRerank):
    name = "review.relevance"
    summary = ("Astronomaly-style relevance regression: a random forest learns the labels and modulates an "
               "earlier detector's score (Lochner & Bassett 2021).")
    method = "relevance"
    citation = relevance.CITATION


class ActiveForestRerank(_LabelledRerank):
    name = "review.active_forest"
    summary = ("Active anomaly forest (AAD, Das et al. 2017, via coniferest): leaf weights refitted so labelled "
               "interesting stars score high; an earlier detector's score is one of its features.")
    method = "active_forest"
    citation = active_forest.CITATION
