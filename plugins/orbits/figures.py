"""Figures of the orbit validation: what a person looks at to believe (or not) a flag."""

from __future__ import annotations

import numpy as np

FLAG_COLOUR = "tab:red"
ALL_COLOUR = "tab:blue"


def _finite(a):
    a = np.asarray(a, float)
    return a[np.isfinite(a)]


def histogram_figure(all_values, flagged_values, label: str, bins):
    """Flagged against all integrated stars, density, log y axis (as the lesson shows them)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    a, f = _finite(all_values), _finite(flagged_values)
    ax.hist(a, bins=bins, density=True, alpha=0.45, color=ALL_COLOUR, label=f"all integrated ({len(a)})")
    if len(f):
        ax.hist(f, bins=bins, density=True, alpha=0.55, color=FLAG_COLOUR, label=f"flagged ({len(f)})")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("density")
    ax.legend()
    return fig


def zmax_bins(values):
    v = _finite(values)
    top = float(np.quantile(v, 0.999)) if len(v) else 1.0
    return np.linspace(0.0, max(top, 1e-3) * 1.05, 50)


def orbit_figure(flagged_orbits: list[tuple[str, np.ndarray]], reference_xyz: np.ndarray | None):
    """x-y, x-z and R-z of the top flagged orbits over a cloud of reference orbit points (kpc)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    panels = [("x", "y"), ("x", "z"), ("R", "z")]

    def coords(xyz):
        return {"x": xyz[0], "y": xyz[1], "z": xyz[2], "R": np.hypot(xyz[0], xyz[1])}

    if reference_xyz is not None and reference_xyz.size:
        ref = coords(reference_xyz.reshape(3, -1))
        for ax, (a, b) in zip(axes, panels):
            ax.plot(ref[a], ref[b], ",", color="0.6", alpha=0.3, rasterized=True)
        axes[0].plot([], [], ".", color="0.6", label=f"reference orbits ({reference_xyz.shape[-1]})")
    colours = plt.cm.plasma(np.linspace(0.0, 0.85, max(1, len(flagged_orbits))))
    for (label, xyz), colour in zip(flagged_orbits, colours):
        c = coords(xyz)
        for ax, (a, b) in zip(axes, panels):
            ax.plot(c[a], c[b], "-", lw=1.0, color=colour)
            ax.plot(c[a][0], c[b][0], "o", ms=4, color=colour)
        axes[0].plot([], [], "-", color=colour, label=label)
    for ax, (a, b) in zip(axes, panels):
        ax.set_xlabel(f"{a} [kpc]")
        ax.set_ylabel(f"{b} [kpc]")
    axes[0].set_aspect("equal", adjustable="datalim")
    axes[0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def toomre_figure(U, V, W, flagged, halo, limit: float | None):
    """Toomre diagram: V against sqrt(U^2 + W^2), flagged and halo-like stars marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    perp = np.hypot(U, W)
    ok = np.isfinite(perp) & np.isfinite(V)
    ax.plot(V[ok], perp[ok], ".", ms=1.5, alpha=0.25, color=ALL_COLOUR, label=f"all ({ok.sum()})", rasterized=True)
    h = ok & halo
    if h.any():
        ax.plot(V[h], perp[h], "o", ms=5, mfc="none", mec="k", mew=0.6, label=f"halo-like ({h.sum()})")
    f = ok & flagged
    if f.any():
        ax.plot(V[f], perp[f], ".", ms=4, color=FLAG_COLOUR, label=f"flagged ({f.sum()})")
    if limit is not None:
        theta = np.linspace(0, np.pi, 200)
        ax.plot(limit * np.cos(theta), limit * np.sin(theta), "--", color="k", lw=0.8,
                label=f"|v - v_LSR| = {limit:g} km/s")
    ax.set_xlabel("V relative to the LSR [km/s]")
    ax.set_ylabel(r"$\sqrt{U^2 + W^2}$ [km/s]")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def energy_figure(lz, energy, flagged, halo):
    """E against L_z: the integrals of motion, where accreted debris clumps."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.0))
    ok = np.isfinite(lz) & np.isfinite(energy)
    ax.plot(lz[ok], energy[ok], ".", ms=1.5, alpha=0.25, color=ALL_COLOUR, label="all", rasterized=True)
    h = ok & halo
    if h.any():
        ax.plot(lz[h], energy[h], "o", ms=5, mfc="none", mec="k", mew=0.6, label="halo-like")
    f = ok & flagged
    if f.any():
        ax.plot(lz[f], energy[f], ".", ms=4, color=FLAG_COLOUR, label="flagged")
    ax.set_xlabel(r"$L_z$ [kpc km/s] (disc rotation < 0)")
    ax.set_ylabel(r"E [km$^2$/s$^2$]")
    ax.legend(fontsize=8)
    return fig
