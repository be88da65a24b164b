"""``review.relevance`` and ``review.active_forest``: re-rank an earlier detector's score with labels.

In a recipe they follow the detector whose score they re-rank (``base``); ``labels`` is a labels
file (labels.parquet, or CSV/ECSV with id and label) or a previous run folder holding one. The
labelled stars found in the table, with their labels, are written into this run's manifest.
They follow the fit/score contract (``fitted.py``), so a review recipe streams and ``toolkit score``
repeats their scores from the saved model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core import (Config, Detector, Field, RunContext, StageError, Table, ThresholdConfig, ToolkitError,
                          score_column)

from . import active_forest, relevance
from .fitted import FittedActiveForest, FittedRelevance, FittedRerank, fit_rerank
from .labels import LABELS_FILE, read_labels
from .rerank import match_labels


class _LabelledRerank(Detector):
    """Fit on the run's seeded sample plus the labelled stars (``fit_rows``), score any chunk (``fitted.py``)."""

    method = ""
    citation = ""

    class Config(Config):
        base: str = Field(..., description="step name of an earlier detector whose score_<base> is re-ranked")
        labels: Path = Field(..., description="labels file (labels.parquet, CSV, ECSV: id, label) or a run folder "
                                             "holding labels.parquet")
        features: list[str] = Field(..., min_length=1, description="feature columns the learner uses")
        top_k: int | None = Field(None, ge=1, description="flag this many top stars; null: as many as flag_<base>")
        seed: int | None = Field(None, description="random seed; null: derived from the recipe seed")
        max_train_rows: int | None = Field(60_000, ge=1, description="rows of the seeded training sample that "
                                           "set the base-score percentiles, the pool and the feature scaling")

    def __init__(self, config=None, **params) -> None:
        super().__init__(config, **params)
        self._labels = None

    def _read_labels(self):
        if self._labels is None:
            path = Path(self.config.labels)
            try:
                self._labels = read_labels(path)
            except ToolkitError as exc:
                raise StageError(f"{self.name}: {exc}") from None
        return self._labels

    def fit_rows(self, chunk: Table, ctx: RunContext) -> np.ndarray:
        """The labelled stars of this chunk: the learner needs them whatever the sample holds."""
        rows, _, _, _ = match_labels(chunk.data[chunk.id_column].to_numpy(), self._read_labels())
        mask = np.zeros(len(chunk), bool)
        mask[rows] = True
        return mask

    def threshold_for(self, flagged: dict[str, int], n_rows: int) -> ThresholdConfig:
        """``top_k`` stars, or as many as the base detector flagged (one in 500 when it flagged none)."""
        k = self.config.top_k or flagged.get(self.config.base) or max(1, n_rows // 500)
        return ThresholdConfig(method="top_k", value=k)

    def fit(self, sample: Table, ctx: RunContext) -> FittedRerank:
        c = self.config
        base_col = score_column(c.base)
        sample.require([base_col, *c.features], self.name)
        labels = self._read_labels()
        path = Path(c.labels)
        rows, rel, used, missing = match_labels(sample.data[sample.id_column].to_numpy(), labels)
        if len(rows) == 0:
            raise StageError(f"{self.name}: none of the {len(labels)} labels in '{path}' names a star of this table "
                             f"(column {sample.id_column}); label stars of this sample with `toolkit review`")
        if missing:
            ctx.warn(f"{missing} labelled star(s) in '{path}' are not in this table and were ignored")
        n_rows = int(sample.meta.get("sample_of", len(sample)))
        n_sample = len(sample) - int(sample.meta.get("fit_rows_added", 0))
        seed = c.seed if c.seed is not None else ctx.step_seed("rerank")
        label_file = path / LABELS_FILE if path.is_dir() else path
        summary = {
            "base": c.base, "method": self.method, "citation": self.citation, "features": list(c.features),
            "labels": {"file": str(label_file), "sha256": ctx.record_input(label_file), "n_in_file": int(len(labels)),
                       "n_used": int(len(rows)), "n_not_in_table": missing,
                       "by_label": {k_: int(v) for k_, v in used["label"].value_counts().items()},
                       "rows": [{"id": str(i), "label": lab, "note": note}
                                for i, lab, note in zip(used["id"], used["label"], used["note"])]},
            "top_k": c.top_k, "sample_rows": n_sample,
        }
        budget = c.top_k or max(1, n_rows // 500)
        return fit_rerank(self.method, sample, n_sample, c.base, list(c.features), rows, rel, rows_in_table=n_rows,
                          seed=seed, budget=budget, summary=summary)

    @classmethod
    def load(cls, files, state: dict) -> FittedRerank:
        arrays = files.read_arrays("rerank.npz")
        common = FittedRerank._common(arrays, state)
        if cls.method == "relevance":
            return FittedRelevance(**common, d0=float(state["d0"]), alpha=float(state["alpha"]),
                                   n_estimators=int(state["n_estimators"]))
        return FittedActiveForest(**common, fit_Z=arrays["fit_Z"], budget=float(state["budget"]),
                                  n_trees=int(state["n_trees"]), n_subsamples=int(state["n_subsamples"]))


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
