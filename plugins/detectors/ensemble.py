"""``detect.ensemble``: rank-average of other detectors' scores already in the table.

Each input ``score_<name>`` is turned into its fractional rank among finite
scores (rank / n, in (0, 1], ties averaged); the ensemble score is the mean of
those ranks, so detectors with different score scales weigh equally. A row
with a NaN score in any input gets NaN. It must come after its inputs in the
recipe. It has no fitted state of its own, so nothing is saved.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Config, Detection, Detector, Field, StageError, Table

from .base import step_name
from .figures import score_histogram_figure
from .thresholds import ThresholdConfig, apply_cut, threshold_cut


def fractional_rank(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    ok = np.isfinite(values)
    if ok.any():
        out[ok] = rankdata(values[ok], method="average") / ok.sum()
    return out


class EnsembleDetector(Detector):
    name = "detect.ensemble"
    summary = "Rank-average of other detector steps' scores (score_<name> columns already in the table)."

    class Config(Config):
        inputs: list[str] = Field(min_length=2, description="detector step names whose score_<name> columns to "
                                  "combine; they must run earlier in the recipe")
        weights: list[float] | None = Field(None, description="optional weight per input (default equal)")
        threshold: ThresholdConfig = Field(default_factory=ThresholdConfig, description="how flags are chosen")

    def detect(self, table: Table, ctx) -> Detection:
        cfg = self.config
        step = step_name(ctx, "ensemble")
        cols = [f"score_{n}" for n in cfg.inputs]
        missing = [c for c in cols if c not in table.data.columns]
        if missing:
            raise StageError(f"detect.ensemble '{step}': score column(s) {', '.join(repr(m) for m in missing)} are "
                             f"not in the table. List detector steps that run before this one; present: "
                             f"{', '.join(c for c in table.columns if c.startswith('score_')) or 'none'}")
        weights = np.ones(len(cols)) if cfg.weights is None else np.asarray(cfg.weights, float)
        if len(weights) != len(cols) or np.any(weights < 0) or weights.sum() <= 0:
            raise StageError(f"detect.ensemble '{step}': `weights` needs one non-negative weight per input "
                             f"({len(cols)}), not all zero; got {cfg.weights}")
        ranks = np.column_stack([fractional_rank(table.array(c)) for c in cols])
        score = ranks @ (weights / weights.sum())   # NaN in any input -> NaN
        cut = threshold_cut(score, cfg.threshold)
        flag = apply_cut(score, cut, cfg.threshold.upper)
        description = (f"weighted mean of the fractional ranks (rank/N among scored rows, in (0, 1]) of "
                       f"{', '.join(cols)}; NaN where any input is NaN")
        ctx.save_figure(score_histogram_figure(score, cut, f"{step} (detect.ensemble) scores", "mean rank"),
                        "score_histogram", caption=f"Ensemble scores of {step}; red line: {cfg.threshold.describe()}.")
        return Detection(score=score, flag=flag, score_description=description,
                         summary={"inputs": list(cfg.inputs), "weights": weights.tolist(),
                                  "threshold": {"rule": cfg.threshold.describe(), "cut": cut}})
