"""The candidate's place in the run's diagrams: the whole sample as a density, the star on top.

A diagram's background (a 2-D histogram of every star) is computed once per axis pair and kept;
so a page needs no pass over the table.
The density is rendered once with matplotlib's Agg canvas (no global pyplot state: safe from
server threads); each request stamps its markers onto a copy of that image with Pillow.
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
        # 0.1-99.9 % limits (widened to the flagged stars) keep a few extreme stars from squashing the sample
        lo = np.percentile(np.c_[xs[ok], ys[ok]], 0.1, axis=0)
        hi = np.percentile(np.c_[xs[ok], ys[ok]], 99.9, axis=0)
        flagged = ok & self.view.flagged_any      # candidates are extreme by nature: keep them all in range
        if flagged.any():
            lo = np.minimum(lo, [xs[flagged].min(), ys[flagged].min()])
            hi = np.maximum(hi, [xs[flagged].max(), ys[flagged].max()])
        span = np.where(hi > lo, hi - lo, 1.0)
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
        h, xe, ye = np.histogram2d(xs[ok], ys[ok], bins=BINS, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
        entry = {"hist": h.T, "extent": [xe[0], xe[-1], ye[0], ye[-1]], "x": xs, "y": ys,
                 "xlabel": xl, "ylabel": yl, "invert": invert, "n": int(ok.sum())}
        with self._lock:
            self._cache[key] = entry
        return entry

    def prerender(self, kind: str, x: str | None = None, y: str | None = None) -> None:
        """Compute and render a diagram's background now (the server's warm-up)."""
        bg = self.background(kind, x, y)
        with self._lock:
            done = "image" in bg
        if not done:
            self._render_background(bg)

    def png(self, kind: str, row: int, x: str | None = None, y: str | None = None, others=()) -> bytes:
        """The diagram with star ``row`` marked (and ``others``, e.g. labelled interesting stars, circled).

        The density image is rendered once per diagram; a request only stamps the markers onto a
        copy of it (a few milliseconds). A star outside the rendered range gets a full render
        with the axes widened to include it.
        """
        bg = self.background(kind, x, y)
        xv, yv = bg["x"][row], bg["y"][row]
        x0, x1, y0, y1 = bg["extent"]
        if np.isfinite(xv) and np.isfinite(yv) and not (x0 <= xv <= x1 and y0 <= yv <= y1):
            return self._render(bg, xv, yv, others)
        with self._lock:
            base = bg.get("image")
        if base is None:
            base = self._render_background(bg)
        from PIL import ImageDraw

        img, to_pixel = base
        img = img.copy()
        draw = ImageDraw.Draw(img)
        others = np.asarray(list(others), int)
        for k in others[:2000]:
            if np.isfinite(bg["x"][k]) and np.isfinite(bg["y"][k]):
                px, py = to_pixel(bg["x"][k], bg["y"][k])
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], outline=(31, 119, 180))
        if np.isfinite(xv) and np.isfinite(yv):
            px, py = to_pixel(xv, yv)
            draw.polygon(_star(px, py, 9), fill=(214, 39, 40), outline=(0, 0, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()

    def _figure(self, bg):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4.2, 3.6), dpi=90)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(111)
        h = np.where(bg["hist"] > 0, bg["hist"], np.nan)
        ax.imshow(h, origin="lower", extent=bg["extent"], aspect="auto", cmap="Greys",
                  norm=LogNorm(vmin=1, vmax=max(2.0, np.nanmax(h))), interpolation="nearest")
        ax.set_xlabel(bg["xlabel"], fontsize=8)
        ax.set_ylabel(bg["ylabel"], fontsize=8)
        ax.tick_params(labelsize=7)
        return fig, ax

    def _render_background(self, bg):
        """The density image without markers, and data -> pixel for stamping them."""
        from PIL import Image

        fig, ax = self._figure(bg)
        ax.scatter([], [], s=120, marker="*", color="tab:red", edgecolors="k", linewidths=0.6, label="this star")
        ax.scatter([], [], s=10, facecolors="none", edgecolors="tab:blue", linewidths=0.7,
                   label="labelled interesting")
        if bg["invert"]:
            ax.invert_yaxis()
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
        fig.tight_layout()
        fig.canvas.draw()
        trans = ax.transData.frozen()
        height = fig.canvas.get_width_height()[1]

        def to_pixel(xv, yv):
            px, py = trans.transform((xv, yv))
            return float(px), float(height - py)

        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGBA")
        img.load()
        with self._lock:
            bg["image"] = (img, to_pixel)
        return img, to_pixel

    def _render(self, bg, xv, yv, others) -> bytes:
        """A full render with the axes widened to show an extreme star."""
        fig, ax = self._figure(bg)
        others = np.asarray(list(others), int)
        if len(others):
            ax.scatter(bg["x"][others], bg["y"][others], s=10, facecolors="none", edgecolors="tab:blue",
                       linewidths=0.7, label="labelled interesting")
        ax.scatter([xv], [yv], s=120, marker="*", color="tab:red", edgecolors="k", linewidths=0.6, zorder=5,
                   label="this star")
        x0, x1, y0, y1 = bg["extent"]
        ax.set_xlim(min(x0, xv), max(x1, xv))
        ax.set_ylim(min(y0, yv), max(y1, yv))
        if bg["invert"]:
            ax.invert_yaxis()
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Corners of a five-pointed star centred on (cx, cy), pixel coordinates (y down)."""
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else r * 0.45
        a = np.pi / 2 + k * np.pi / 5
        pts.append((cx + rad * np.cos(a), cy - rad * np.sin(a)))
    return pts
