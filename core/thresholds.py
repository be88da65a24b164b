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
from .rowvalues import blocks_of

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


def threshold_cut(scores, config: ThresholdConfig) -> float | None:
    """The score cut the config implies for these scores (None: flag nothing).

    ``scores``: an array, or a run's ``RowValues`` (read chunk by chunk: exact order statistics
    in bounded memory, so a streamed run of any size never holds its scores whole).
    """
    blocks = blocks_of(scores)
    m, v = config.method, config.value
    n, low, high = finite_range(blocks)
    if m == "none" or n == 0:
        return None
    if m == "fixed":
        return float(v)
    if m == "mad":
        med = _median(blocks, n, low, high)
        deviations = _Mapped(blocks, lambda b: np.abs(b - med))
        return med + float(v) * MAD_TO_SIGMA * _median(deviations, n)
    # round first: 0.07 * 100 is 7.000000000000001 in floating point, and must flag 7, not 8
    n_flag = math.ceil(round(v * n, 9)) if m == "top_fraction" else int(v)
    n_flag = min(max(n_flag, 1), n)
    return kth_smallest(blocks, n - n_flag, (n, low, high))


#: values held at once while an order statistic is narrowed down (32 MB of float64)
SELECT_BUDGET = 4_000_000
_BINS = 4096


def finite_range(blocks) -> tuple[int, float, float]:
    """Number, minimum and maximum of the finite values in ``blocks`` (0, nan, nan when there are none)."""
    n, low, high = 0, np.inf, -np.inf
    for block in blocks:
        f = _finite(block)
        if f.size:
            n, low, high = n + f.size, min(low, float(f.min())), max(high, float(f.max()))
    return (n, low, high) if n else (0, math.nan, math.nan)


def kth_smallest(blocks, k: int, known: tuple[int, float, float] | None = None,
                 budget: int | None = None) -> float:
    """The ``k``-th smallest (from 0) finite value in ``blocks``: exact, holding at most ``budget`` values.

    Small inputs are partitioned at once. Larger ones are narrowed down by histograms of the values
    in an interval that holds the answer (each pass over the blocks shrinks it ~4096-fold) until the
    interval holds ``budget`` values or fewer, which are then partitioned. ``known``: ``finite_range``.
    """
    n, low, high = known if known is not None else finite_range(blocks)
    budget = SELECT_BUDGET if budget is None else budget
    if not 0 <= k < n:
        raise ValueError(f"order statistic {k} of {n} finite values")
    below, inside = 0, n               # values under ``low``; values in [low, high]
    while inside > budget and low < high:
        edges = linear_edges(low, high, _BINS)
        counts = np.zeros(_BINS, np.int64)
        for block in blocks:
            f = _within(block, low, high)
            counts += np.bincount(np.clip(np.searchsorted(edges, f, "right") - 1, 0, _BINS - 1), minlength=_BINS)
        j = int(np.searchsorted(np.cumsum(counts), k - below, "right"))
        new_low = float(edges[j])
        new_high = high if j == _BINS - 1 else float(np.nextafter(edges[j + 1], -np.inf))
        if (new_low, new_high) == (low, high):   # adjacent floats: no bin is narrower; peel off ``low``
            equal = sum(int(np.count_nonzero(np.asarray(b) == low)) for b in blocks)
            if k - below < equal:
                return low
            below, inside, low = below + equal, inside - equal, float(np.nextafter(low, np.inf))
            continue
        below += int(counts[:j].sum())
        inside, low, high = int(counts[j]), new_low, new_high
    if low == high:
        return low
    pool = np.concatenate([_within(block, low, high) for block in blocks])
    pool.partition(k - below)
    return float(pool[k - below])


def linear_edges(low: float, high: float, bins: int) -> np.ndarray:
    """``bins + 1`` non-decreasing edges from ``low`` to ``high`` (exactly), without overflow at +-1e308."""
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = np.clip(low * (1 - t) + high * t, low, high)
    edges[0], edges[-1] = low, high
    return np.maximum.accumulate(edges)


def _median(blocks, n: int, low: float | None = None, high: float | None = None) -> float:
    """The median as ``np.median`` gives it (the mean of the two middle values when ``n`` is even)."""
    known = None if low is None else (n, low, high)
    if n % 2:
        return kth_smallest(blocks, n // 2, known)
    a, b = kth_smallest(blocks, n // 2 - 1, known), kth_smallest(blocks, n // 2, known)
    return float(np.mean([a, b]))


def _finite(block) -> np.ndarray:
    block = np.asarray(block, float)
    return block[np.isfinite(block)]


def _within(block, low: float, high: float) -> np.ndarray:
    block = np.asarray(block, float)
    return block[(block >= low) & (block <= high)]


class _Mapped:
    """``blocks`` with ``fn`` applied to each (re-iterable, computed as read)."""

    def __init__(self, blocks, fn) -> None:
        self.blocks, self.fn = blocks, fn

    def __iter__(self):
        return (self.fn(_finite(b)) for b in self.blocks)


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
