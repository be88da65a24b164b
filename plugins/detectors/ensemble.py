"""``detectors.ensemble``: rank-average of other detectors' scores.

Each input ``score_<name>`` is turned into its fractional rank (rank / n, in
(0, 1], ties averaged) among that detector's scores on the run's training
sample; the ensemble score is the weighted mean of those ranks, so detectors
with different score scales weigh equally. When the sample is every row (an
in-memory run without ``max_train_rows``) these are exactly the ranks over the
whole table; otherwise a row's rank is read off the sample's distribution,
which keeps the score chunk-pure. A row with a NaN score in any input gets
NaN. It must come after its inputs in the recipe.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Config, Detector, Field, FittedDetector, StageError, Table, ThresholdConfig
from toolkit.core import RunContext
from toolkit.core import is_score, score_column



def fractional_rank(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Average rank / n of each value among the sorted finite ``reference`` values (ties averaged)."""
    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    n = len(reference)
    if ok.any() and n:
        below = np.searchsorted(reference, values[ok], side="left")
        upto = np.searchsorted(reference, values[ok], side="right")
        out[ok] = (below + upto + 1) / 2 / n
    return out


class FittedEnsemble(FittedDetector):
    def __init__(self, inputs: list[str], weights: np.ndarray, references: list[np.ndarray]) -> None:
        self.inputs, self.weights, self.references = list(inputs), np.asarray(weights, float), references
        self.features = [score_column(n) for n in self.inputs]
        self.score_description = (f"weighted mean of the fractional ranks (rank/N among the training sample's "
                                  f"scores, in (0, 1]) of {', '.join(self.features)}; NaN where any input is NaN")
        self.summary = {"inputs": self.inputs, "weights": self.weights.tolist(),
                        "reference_rows": [int(len(r)) for r in references]}

    def score(self, table: Table) -> np.ndarray:
        table.require(self.features, "detectors.ensemble")
        ranks = np.column_stack([fractional_rank(table.array(c), ref)
                                 for c, ref in zip(self.features, self.references)])
        return ranks @ (self.weights / self.weights.sum())   # NaN in any input -> NaN

    def save(self, files) -> dict:
        files.write_arrays("references.npz", {f"r{i}": r for i, r in enumerate(self.references)})
        return {"inputs": self.inputs, "weights": self.weights.tolist()}


class EnsembleDetector(Detector):
    name = "detectors.ensemble"
    aliases = ("detect.ensemble",)   # the former name, until the next release
    summary = "Rank-average of other detector steps' scores (score_<name> columns of earlier steps)."

    class Config(Config):
        inputs: list[str] = Field(min_length=2, description="detector step names whose score_<name> columns to "
                                  "combine; they must run earlier in the recipe")
        weights: list[float] | None = Field(None, description="optional weight per input (default equal)")
        threshold: ThresholdConfig = Field(default_factory=ThresholdConfig, description="how flags are chosen")

    def fit(self, sample: Table, ctx: RunContext) -> FittedEnsemble:
        cfg = self.config
        step = ctx.step_name("ensemble")
        cols = [score_column(n) for n in cfg.inputs]
        missing = [c for c in cols if c not in sample.data.columns]
        if missing:
            raise StageError(f"detectors.ensemble '{step}': score column(s) {', '.join(repr(m) for m in missing)} are "
                             f"not in the table. List detector steps that run before this one; present: "
                             f"{', '.join(c for c in sample.columns if is_score(c)) or 'none'}")
        weights = np.ones(len(cols)) if cfg.weights is None else np.asarray(cfg.weights, float)
        if len(weights) != len(cols) or np.any(weights < 0) or weights.sum() <= 0:
            raise StageError(f"detectors.ensemble '{step}': `weights` needs one non-negative weight per input "
                             f"({len(cols)}), not all zero; got {cfg.weights}")
        references = []
        for c in cols:
            values = sample.array(c)
            references.append(np.sort(values[np.isfinite(values)]))
        return FittedEnsemble(cfg.inputs, weights, references)

    @classmethod
    def load(cls, files, state: dict) -> FittedEnsemble:
        arrays = files.read_arrays("references.npz")
        return FittedEnsemble(state["inputs"], np.asarray(state["weights"], float),
                              [arrays[f"r{i}"] for i in range(len(state["inputs"]))])
