"""Report figures for detectors: loss curves, inputs against reconstructions (the score histogram is the runner's)."""

from __future__ import annotations

import numpy as np


def loss_curves_figure(histories: list[tuple[str, dict]], title: str):
    """Train (solid) and validation (dashed) loss per epoch for each fitted model."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, hist) in enumerate(histories):
        c = colours[i % len(colours)]
        epochs = np.arange(1, len(hist["train"]) + 1)
        ax.plot(epochs, hist["train"], color=c, lw=1.2, label=f"{label} train")
        if hist.get("validation"):
            ax.plot(epochs[:len(hist["validation"])], hist["validation"], color=c, lw=1.2, ls="--",
                    label=f"{label} validation")
        if hist.get("best_epoch"):
            ax.axvline(hist["best_epoch"], color=c, lw=0.6, alpha=0.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per row (standardised units)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    return fig


def reconstruction_figure(inputs: np.ndarray, reconstructed: np.ndarray, flagged: np.ndarray,
                          features: list[str], units: list[str], title: str):
    """One panel per feature: 2D histogram (log colour) of input (x) vs reconstruction (y), y=x, flagged in red.

    A good reconstruction sits on the diagonal; a feature the model flattens
    shows up as a horizontal band, and flagged rows far from the diagonal say
    which feature made them anomalous.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    n = inputs.shape[1]
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), squeeze=False)
    flagged = np.asarray(flagged, bool)
    for j, ax in enumerate(axes.flat):
        if j >= n:
            ax.set_visible(False)
            continue
        x, y = inputs[:, j], reconstructed[:, j]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.any():
            lo, hi = min(x[ok].min(), y[ok].min()), max(x[ok].max(), y[ok].max())
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
            *_, image = ax.hist2d(x[ok], y[ok], bins=60, range=[[lo, hi], [lo, hi]], norm=LogNorm(), cmin=1,
                                  cmap="viridis")
            fig.colorbar(image, ax=ax, label="rows", pad=0.02)
            ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8, ls="--", label="y = x")
            red = ok & flagged
            if red.any():
                ax.scatter(x[red], y[red], s=6, color="tab:red", lw=0, label=f"flagged ({int(red.sum())})")
            ax.legend(fontsize=7, loc="upper left")
        suffix = f" [{units[j]}]" if units[j] else ""
        ax.set_xlabel(f"{features[j]} input{suffix}")
        ax.set_ylabel(f"{features[j]} reconstructed{suffix}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
