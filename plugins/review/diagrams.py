"""The candidate's place in the run's diagrams: the whole sample as a density, the star on top.

A diagram's background (a 2-D histogram of every star) is computed once per axis pair and kept;
each request then draws only that image plus one marker, so a page needs no pass over the table.
PNGs are drawn with matplotlib's Agg canvas (no global pyplot state: safe from server threads).
"""

from __future__ import annotations

import io
import threading

import numpy as np

BINS = 160


def axes_for(view, kind: str, x: str | None = None, y: str | None = None):
    """(x values, y values, x label, y label, invert y) of a diagram, or raise KeyError naming the problem."""
    d = view.data

    def col(name):
        if name not in d.columns or d[name].dtype.kind not in "biuf":
            raise KeyError(f"no numeric column '{name}' in this run")
        return d[name].to_numpy(float)

    def label(name):
        u = view.unit(name)
        return f"{name} [{u}]" if u else name

    if kind == "hr":
        mag = next((c for c in ("M_G", "M_Hp", "M_K") if c in d.columns), None)
        if mag is None:
            raise KeyError("no absolute magnitude column (M_G) for an HR diagram")
        if "bp_rp" in d.columns:
            colour, clab = col("bp_rp"), label("bp_rp")
        elif {"phot_bp_mean_mag", "phot_rp_mean_mag"} <= set(d.columns):
            colour, clab = col("phot_bp_mean_mag") - col("phot_rp_mean_mag"), "BP - RP [mag]"
        elif "b_v" in d.columns:
            colour, clab = col("b_v"), label("b_v")
        else:
            raise KeyError("no colour column (bp_rp or BP/RP magnitudes) for an HR diagram")
        return colour, col(mag), clab, label(mag), True
    if kind == "toomre":
        vx, vy, vz = col("v_x"), col("v_y"), col("v_z")
        return vy, np.hypot(vx, vz), "v_y [km/s] (Galactocentric)", "sqrt(v_x² + v_z²) [km/s]", False
    if kind == "pair":
        if not x or not y:
            raise KeyError("a feature-pair diagram needs x and y")
        return col(x), col(y), label(x), label(y), False
    raise KeyError(f"unknown diagram '{kind}' (hr, toomre, pair)")


class DiagramCache:
    """Density backgrounds per (kind, x, y), computed once."""

    def __init__(self, view) -> None:
        self.view = view
        self._cache: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    def background(self, kind: str, x: str | None, y: str | None) -> dict:
        key = (kind, x, y)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        xs, ys, xl, yl, invert = axes_for(self.view, kind, x, y)
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any():
            raise KeyError("no star has finite values on both axes")
        # 0.1-99.9 % limits keep a few extreme stars from squashing the sample into one bin
        lo = np.percentile(np.c_[xs[ok], ys[ok]], 0.1, axis=0)
        hi = np.percentile(np.c_[xs[ok], ys[ok]], 99.9, axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
        h, xe, ye = np.histogram2d(xs[ok], ys[ok], bins=BINS, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
        entry = {"hist": h.T, "extent": [xe[0], xe[-1], ye[0], ye[-1]], "x": xs, "y": ys,
                 "xlabel": xl, "ylabel": yl, "invert": invert, "n": int(ok.sum())}
        with self._lock:
            self._cache[key] = entry
        return entry

    def png(self, kind: str, row: int, x: str | None = None, y: str | None = None, others=()) -> bytes:
        """The diagram with star ``row`` marked (and ``others``, e.g. labelled interesting stars, dotted)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure

        bg = self.background(kind, x, y)
        fig = Figure(figsize=(4.2, 3.6), dpi=90)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(111)
        h = np.where(bg["hist"] > 0, bg["hist"], np.nan)
        ax.imshow(h, origin="lower", extent=bg["extent"], aspect="auto", cmap="Greys",
                  norm=LogNorm(vmin=1, vmax=max(2.0, np.nanmax(h))), interpolation="nearest")
        others = np.asarray(list(others), int)
        if len(others):
            ax.scatter(bg["x"][others], bg["y"][others], s=10, facecolors="none", edgecolors="tab:blue",
                       linewidths=0.7, label="labelled interesting")
        xv, yv = bg["x"][row], bg["y"][row]
        if np.isfinite(xv) and np.isfinite(yv):
            ax.scatter([xv], [yv], s=120, marker="*", color="tab:red", edgecolors="k", linewidths=0.6,
                       zorder=5, label="this star")
            x0, x1, y0, y1 = bg["extent"]
            if not (x0 <= xv <= x1 and y0 <= yv <= y1):   # keep an extreme star in view
                ax.set_xlim(min(x0, xv), max(x1, xv))
                ax.set_ylim(min(y0, yv), max(y1, yv))
        else:
            ax.set_title("this star has no value on an axis", fontsize=8)
        if bg["invert"]:
            ax.invert_yaxis()
        ax.set_xlabel(bg["xlabel"], fontsize=8)
        ax.set_ylabel(bg["ylabel"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="best", framealpha=0.7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
