"""Figures the runner draws for every detector."""

from __future__ import annotations

import numpy as np


def score_histogram_figure(scores: np.ndarray, cut: float | None, title: str, xlabel: str):
    """Histogram of finite scores (log counts) with the flag threshold as a vertical line."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    s = np.asarray(scores, float)
    s = s[np.isfinite(s)]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if s.size:
        positive = s.min() > 0 and s.max() / max(s.min(), 1e-300) > 1e3
        bins = np.geomspace(s.min(), s.max(), 80) if positive else 80
        ax.hist(s, bins=bins, color="0.4")
        if positive:
            ax.set_xscale("log")
    if cut is not None:
        n_flag = int((s >= cut).sum())
        ax.axvline(cut, color="tab:red", lw=1.5, label=f"threshold {cut:.4g} ({n_flag} flagged)")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(title)
    return fig
