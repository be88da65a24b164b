"""Figures of a Leavitt-law fit: the relation with its band and flagged stars, residuals vs period, corner plot.

The corner plot is drawn with matplotlib alone (the ``corner`` package is not a
dependency): 1D histograms on the diagonal, 2D histograms below it (drawn as images, fast).
"""

from __future__ import annotations

import numpy as np

#: colours for true populations on mock data (anything else is grey)
POPULATION_COLOURS = {"classical": "0.55", "type2": "tab:blue", "anomalous_cepheid": "tab:green",
                      "blend": "tab:orange", "bad_parallax": "tab:purple"}
BAND_DRAWS = 300


def _scatter_populations(ax, x, y, truth):
    if truth is None:
        ax.scatter(x, y, s=4, c="0.45", lw=0, label="stars")
        return
    for pop in sorted(set(truth), key=lambda p: (p != "classical", p)):
        sel = truth == pop
        ax.scatter(x[sel], y[sel], s=4 if pop == "classical" else 7, lw=0,
                   c=POPULATION_COLOURS.get(pop, "0.3"), label=f"{pop} ({sel.sum()}, truth)", zorder=2)


def relation_figure(fit, x, y, flag, truth, title: str, xlabel: str, ylabel: str, rng):
    """y against x with the posterior-median line, its 68 % band, +-sigma_int, flagged stars circled in red."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.2))
    _scatter_populations(ax, x, y, truth)
    grid = np.linspace(np.nanmin(x), np.nanmax(x), 100)
    draws = fit.samples[rng.choice(len(fit.samples), min(BAND_DRAWS, len(fit.samples)), replace=False)]
    lines = draws[:, 0:1] + draws[:, 1:2] * (grid[None, :] - fit.pivot)
    lo, hi = np.percentile(lines, [16, 84], axis=0)
    med = fit.median()
    line = fit.predict(grid)
    scatter = np.exp(med["ln_scatter"])
    ax.fill_between(grid, line - scatter, line + scatter, color="tab:red", alpha=0.15, lw=0,
                    label=f"± intrinsic scatter ({scatter:.3f} mag)")
    ax.fill_between(grid, lo, hi, color="tab:red", alpha=0.5, lw=0, label="68 % band of the relation")
    ax.plot(grid, line, color="darkred", lw=1.2,
            label=f"{med['zero_point']:.3f} {med['slope']:+.3f} (x - {fit.pivot:g})")
    if flag is not None and flag.any():
        ax.scatter(x[flag], y[flag], s=28, facecolors="none", edgecolors="red", lw=0.8,
                   label=f"flagged ({flag.sum()})", zorder=3)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right", markerscale=2)
    return fig


def residual_figure(fit, x, resid, flag, truth, title: str, xlabel: str):
    """Residuals from the relation against log P, with +-1 and +-3 sigma_int."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    _scatter_populations(ax, x, resid, truth)
    scatter = np.exp(fit.median()["ln_scatter"])
    for k, style in ((1, "-"), (3, ":")):
        for sgn in (-1, 1):
            ax.axhline(sgn * k * scatter, color="darkred", lw=0.8, ls=style)
    ax.axhline(0, color="k", lw=0.6)
    if flag is not None and flag.any():
        ax.scatter(x[flag], resid[flag], s=28, facecolors="none", edgecolors="red", lw=0.8,
                   label=f"flagged ({flag.sum()})", zorder=3)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel("residual (mag; down = fainter than the relation)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, markerscale=2)
    return fig


def corner_figure(samples: np.ndarray, labels: list[str], title: str, bins: int = 30):
    """A corner plot: marginal histograms on the diagonal, 2D histograms of each pair below it."""
    import matplotlib.pyplot as plt

    n = samples.shape[1]
    fig, axes = plt.subplots(n, n, figsize=(1.7 * n + 1, 1.7 * n + 1), squeeze=False)
    lims = [np.percentile(samples[:, i], [0.5, 99.5]) for i in range(n)]
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(samples[:, i], bins=bins, range=tuple(lims[i]), color="0.35", histtype="step")
                for q in np.percentile(samples[:, i], [16, 50, 84]):
                    ax.axvline(q, color="tab:red", lw=0.7, ls="-" if abs(q - np.median(samples[:, i])) < 1e-12 else "--")
                ax.set_yticks([])
            else:
                # histogram2d + imshow: the same picture as hist2d at a fraction of the drawing time
                h, xe, ye = np.histogram2d(samples[:, j], samples[:, i], bins=bins, range=[lims[j], lims[i]])
                ax.imshow(h.T, origin="lower", extent=(xe[0], xe[-1], ye[0], ye[-1]), aspect="auto", cmap="Greys",
                          interpolation="nearest")
            if i == n - 1:
                ax.set_xlabel(labels[j], fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i], fontsize=8)
            elif j > 0 or i == 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def distance_figure(mu_draws: np.ndarray, reference: tuple[float, float], truth: float | None, title: str):
    """Posterior of the LMC distance modulus against the geometric value (and the mock's truth)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(mu_draws, bins=40, color="0.4", histtype="stepfilled", alpha=0.6, density=True, label="this fit")
    ref, err = reference
    ax.axvspan(ref - err, ref + err, color="tab:blue", alpha=0.2, label=f"Pietrzyński+2019 {ref} ± {err}")
    ax.axvline(ref, color="tab:blue", lw=1)
    if truth is not None:
        ax.axvline(truth, color="k", ls="--", lw=1, label=f"mock truth {truth:.3f}")
    ax.set_xlabel("LMC distance modulus (mag)")
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    return fig
