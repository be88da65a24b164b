"""Turning scores into flags: fixed cut, top fraction, top k, or median + k * MAD.

The threshold is reduced to one number (the score cut) so that a saved model
can flag new data with exactly the cut used in the run. A row is flagged when
``cut <= score`` (and ``score <= upper`` when an upper bound is given); rows with
a NaN score are never flagged.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import model_validator

from .component import Config, Field

#: MAD of a normal distribution is 0.6745 sigma; scaling by 1.4826 makes k read as "sigmas".
MAD_TO_SIGMA = 1.4826


class ThresholdConfig(Config):
    """How flags are chosen from scores (every detector in this plugin takes one)."""

    method: Literal["fixed", "top_fraction", "top_k", "mad", "none"] = Field(
        "top_fraction", description="fixed: score >= value (the lesson's 10/40/45); top_fraction: the highest "
        "value*N scores (the symbiotic pipeline's 0.02); top_k: the `value` highest scores; mad: score >= "
        "median + value * 1.4826 * MAD (value reads as robust sigmas); none: flag nothing")
    value: float | None = Field(0.01, description="the cut, fraction, count or k, depending on `method`")
    upper: float | None = Field(None, description="optional ceiling: only scores <= upper are flagged "
                                "(to leave out a known tail of bad data)")

    @model_validator(mode="after")
    def _check(self) -> "ThresholdConfig":
        m, v = self.method, self.value
        if m == "none":
            return self
        if v is None or not math.isfinite(v):
            raise ValueError(f"threshold method '{m}' needs a finite `value`")
        if m == "top_fraction" and not 0 < v < 1:
            raise ValueError(f"top_fraction value must be between 0 and 1 (got {v}); e.g. 0.02 for the top 2%")
        if m == "top_k" and (v < 1 or v != int(v)):
            raise ValueError(f"top_k value must be a whole number >= 1 (got {v})")
        if m == "mad" and v <= 0:
            raise ValueError(f"mad value (k) must be positive (got {v})")
        return self

    def describe(self) -> str:
        m, v = self.method, self.value
        text = {"fixed": f"score >= {v:g}", "top_fraction": f"top {100 * v:g}% of scores",
                "top_k": f"top {int(v)} scores", "mad": f"score >= median + {v:g} x 1.4826 x MAD",
                "none": "no flags"}[m]
        return text + (f", score <= {self.upper:g}" if self.upper is not None and m != "none" else "")


def threshold_cut(scores: np.ndarray, config: ThresholdConfig) -> float | None:
    """The score cut the config implies for these scores (None: flag nothing)."""
    finite = np.asarray(scores, float)
    finite = finite[np.isfinite(finite)]
    m, v = config.method, config.value
    if m == "none" or finite.size == 0:
        return None
    if m == "fixed":
        return float(v)
    if m == "mad":
        med = float(np.median(finite))
        return med + float(v) * MAD_TO_SIGMA * float(np.median(np.abs(finite - med)))
    # round first: 0.07 * 100 is 7.000000000000001 in floating point, and must flag 7, not 8
    n_flag = math.ceil(round(v * finite.size, 9)) if m == "top_fraction" else int(v)
    n_flag = min(max(n_flag, 1), finite.size)
    finite.partition(finite.size - n_flag)   # in place: ``finite`` is already a copy
    return float(finite[finite.size - n_flag])


def apply_cut(scores: np.ndarray, cut: float | None, upper: float | None = None) -> np.ndarray:
    """Boolean flags: cut <= score (<= upper); NaN scores are never flagged."""
    scores = np.asarray(scores, float)
    if cut is None:
        return np.zeros(scores.shape, bool)
    with np.errstate(invalid="ignore"):
        flag = scores >= cut
        if upper is not None:
            flag &= scores <= upper
    return flag & np.isfinite(scores)


def threshold_record(config: "ThresholdConfig | None", cut: float | None) -> dict:
    """The threshold as the manifest and model.json record it: rule, numeric cut, ceiling."""
    if config is None:
        return {"rule": "no threshold", "cut": cut, "upper": None, "method": None, "value": None}
    return {"rule": config.describe(), "cut": cut, "upper": config.upper, "method": config.method,
            "value": config.value}
