"""Figures the runner draws for every detector."""

from __future__ import annotations

import numpy as np

from .rowvalues import blocks_of
from .thresholds import finite_range, linear_edges


def score_histogram_figure(scores, cut: float | None, title: str, xlabel: str):
    """Histogram of finite scores (log counts) with the flag threshold as a vertical line.

    ``scores``: an array or a run's ``RowValues``; counted chunk by chunk, never joined.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    blocks = blocks_of(scores)
    n, low, high = finite_range(blocks)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    n_flag = 0
    if n:
        positive = low > 0 and high / max(low, 1e-300) > 1e3
        edges = np.geomspace(low, high, 81) if positive else linear_edges(low, high if high > low else low + 1, 80)
        counts = np.zeros(80, np.int64)
        for block in blocks:
            s = np.asarray(block, float)
            s = s[np.isfinite(s)]
            counts += np.histogram(s, bins=edges)[0]
            if cut is not None:
                n_flag += int((s >= cut).sum())
        ax.stairs(counts, edges, fill=True, color="0.4")
        if positive:
            ax.set_xscale("log")
    if cut is not None:
        ax.axvline(cut, color="tab:red", lw=1.5, label=f"threshold {cut:.4g} ({n_flag} flagged)")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(title)
    return fig
