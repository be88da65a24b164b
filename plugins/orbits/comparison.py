"""Flagged stars against the reference sample: medians, fractions over thresholds, KS tests.

The reference set excludes flagged stars so the two samples are disjoint and the two-sample
Kolmogorov-Smirnov test (scipy.stats.ks_2samp, two-sided) compares independent draws.
"""

from __future__ import annotations

import numpy as np


def _r(value, digits: int = 5):
    """JSON-friendly rounding (None for NaN)."""
    if value is None or not np.isfinite(value):
        return None
    return float(f"{float(value):.{digits}g}")


def compare_samples(flagged: np.ndarray, reference: np.ndarray, threshold: float | None = None) -> dict:
    """Summary statistics of one orbit quantity in two samples (NaNs dropped)."""
    from scipy.stats import ks_2samp

    a = np.asarray(flagged, float)
    b = np.asarray(reference, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {"n_flagged": int(len(a)), "n_reference": int(len(b)),
           "median_flagged": _r(np.median(a)) if len(a) else None,
           "median_reference": _r(np.median(b)) if len(b) else None,
           "ks_statistic": None, "ks_pvalue": None}
    if len(a) >= 2 and len(b) >= 2:
        res = ks_2samp(a, b)
        out["ks_statistic"] = _r(res.statistic)
        out["ks_pvalue"] = _r(res.pvalue, 4)
    if threshold is not None:
        out["threshold"] = float(threshold)
        out["fraction_above_flagged"] = _r(np.mean(a > threshold)) if len(a) else None
        out["fraction_above_reference"] = _r(np.mean(b > threshold)) if len(b) else None
    return out
