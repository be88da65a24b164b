"""Figures for the mixtures: feature pairs with component ellipses, BIC path, age fit."""

from __future__ import annotations

import numpy as np

DEFAULT_PAIRS = [("X", "Y"), ("U", "V"), ("X", "U"), ("Y", "V"), ("Z", "W"), ("U", "W")]


def _ellipse(ax, mean, cov, color, nsig=2.0, **kw):
    from matplotlib.patches import Ellipse

    evals, evecs = np.linalg.eigh(cov)
    evals = np.clip(evals, 0, None)
    angle = np.degrees(np.arctan2(evecs[1, -1], evecs[0, -1]))
    ax.add_patch(Ellipse(mean, 2 * nsig * np.sqrt(evals[-1]), 2 * nsig * np.sqrt(evals[0]), angle=angle,
                         fill=False, edgecolor=color, lw=1.8, **kw))


def pair_figure(X, labels, names, pairs, means, covs, comp_names, title=""):
    """Scatter of feature pairs coloured by most probable component, 2-sigma ellipses of each component.

    ``labels``: index into comp_names per row (-1 = unscored, not drawn).
    """
    import matplotlib.pyplot as plt

    pairs = [p for p in pairs if p[0] in names and p[1] in names] or [(names[0], names[min(1, len(names) - 1)])]
    ncol = min(3, len(pairs))
    nrow = int(np.ceil(len(pairs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.8 * nrow), squeeze=False)
    colors = ["0.6"] + [plt.cm.tab10(i % 10) for i in range(len(comp_names) - 1)]
    for ax, (a, b) in zip(axes.flat, pairs):
        i, j = names.index(a), names.index(b)
        for k, cname in enumerate(comp_names):
            sel = labels == k
            if sel.any():
                ax.scatter(X[sel, i], X[sel, j], s=4 if k == 0 else 7, color=colors[k], alpha=0.5 if k == 0 else 0.8,
                           label=f"{cname} ({sel.sum()})", rasterized=True)
        for k in range(len(comp_names)):
            _ellipse(ax, means[k][[i, j]], np.asarray(covs[k])[np.ix_([i, j], [i, j])], colors[k] if k else "k")
        ax.set_xlabel(a)
        ax.set_ylabel(b)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, markerscale=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def bic_figure(bic_path):
    """BIC of every model tried against its number of components; accepted models joined."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    k = np.array([p["n_components"] for p in bic_path])
    bic = np.array([p["bic"] for p in bic_path])
    acc = np.array([bool(p["accepted"]) for p in bic_path])
    ax.scatter(k[~acc], bic[~acc], marker="x", color="0.5", label="tried")
    ax.plot(k[acc], bic[acc], "o-", color="C0", label="kept")
    ax.set_xlabel("number of components")
    ax.set_ylabel("BIC (lower is better)")
    ax.set_xticks(sorted(set(k.tolist())))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def age_figure(profiles: dict, truth: dict | None = None):
    """Profile ln-likelihood against age for each space-time component."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, prof in profiles.items():
        ages, ll = np.asarray(prof["ages"]), np.asarray(prof["log_likelihood"])
        ax.plot(ages, ll - np.nanmax(ll), "-", label=f"{name}: {prof['age']:.1f} Myr")
        ax.axvline(prof["age"], ls=":", color=ax.lines[-1].get_color())
    for name, age in (truth or {}).items():
        ax.axvline(age, color="k", lw=0.8, ls="--")
    ax.set_xlabel("age (Myr)")
    ax.set_ylabel("profile ln L - max")
    ax.set_ylim(max(ax.get_ylim()[0], -200), 5)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
