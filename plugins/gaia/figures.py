"""``gaia.figures``: the lesson's diagnostic plots, drawn after the detectors have scored the stars.

HR diagram (BP-RP vs M_G, brighter up) coloured by anomaly score with flagged
stars marked, x-y and x-z positions, v_x-v_y and v_x-v_z velocities, the
score histogram with the flag threshold, and (on a labelled mock) the HR
diagram by true population. Panels whose columns are absent (no photometry)
are skipped and listed in the summary.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from toolkit.core import TRUTH_COLUMN, Config, Field, StageError, Table, Validation, Validator
from toolkit.core import RunContext
from toolkit.core import flag_for, is_score


class FigureColumns(BaseModel):
    model_config = ConfigDict(extra="forbid")
    absolute_magnitude: str = Field("M_G", description="y axis of the HR diagram")
    colour: str = Field("bp_rp", description="x axis of the HR diagram")
    x: str = "x"
    y: str = "y"
    z: str = "z"
    v_x: str = "v_x"
    v_y: str = "v_y"
    v_z: str = "v_z"


def pick_score_and_flag(table: Table, score_column: str | None, flag_column: str | None) -> tuple[str, np.ndarray, str]:
    """The score column to colour by, the flags to mark, and a label saying where the flags came from."""
    scores = [c for c in table.columns if is_score(c)]
    if score_column is None:
        if not scores:
            raise StageError("gaia.figures: no score_* column in the table. Put the validator after a detector, "
                             "or name the column with `score_column`.")
        score_column = scores[0]
    table.require([score_column], "gaia.figures")
    if flag_column is None:
        paired = flag_for(score_column)
        if paired and paired in table.columns:
            flag_column = paired
    if flag_column is not None:
        table.require([flag_column], "gaia.figures")
        flags = table.data[flag_column].fillna(False).to_numpy(bool)
        return score_column, flags, flag_column
    flag_cols = table.flag_columns()
    return score_column, table.flagged(flag_cols), " | ".join(flag_cols) or "none"


class GaiaFigures(Validator):
    name = "gaia.figures"
    summary = "HR diagram, positions and velocities coloured by anomaly score with flagged stars marked."

    class Config(Config):
        score_column: str | None = Field(None, description="score to colour by; null: the first score_* column")
        flag_column: str | None = Field(None, description="flags to mark; null: the flag_ column of the same step, "
                                                          "else any flag_* column")
        columns: FigureColumns = Field(default_factory=FigureColumns, description="column names of the axes")
        max_background: int = Field(20_000, ge=100, description="at most this many unflagged stars are drawn "
                                                                "(a random subset); flagged stars are always drawn")
        score_clip_quantile: float = Field(0.99, gt=0, le=1, description="colour scale tops out at this quantile")

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        cfg = self.config
        score_col, flags, flag_label = pick_score_and_flag(table, cfg.score_column, cfg.flag_column)
        score = table.array(score_col)
        rng = ctx.rng("background") if ctx is not None else np.random.default_rng(0)
        background = np.flatnonzero(~flags)
        if background.size > cfg.max_background:
            background = np.sort(rng.choice(background, cfg.max_background, replace=False))
        flagged = np.flatnonzero(flags)
        finite = score[np.isfinite(score)]
        vmax = float(np.quantile(finite, cfg.score_clip_quantile)) if finite.size else 1.0
        vmin = float(np.min(finite)) if finite.size else 0.0
        c = cfg.columns
        made, skipped = [], []

        def have(*names):
            return all(n in table.columns for n in names)

        def panel(ax, xcol, ycol, invert_y=False):
            x, y = table.array(xcol), table.array(ycol)
            sc = ax.scatter(x[background], y[background], c=score[background], s=1.5, cmap="viridis",
                            vmin=vmin, vmax=vmax, rasterized=True, linewidths=0)
            if flagged.size:
                ax.scatter(x[flagged], y[flagged], s=14, facecolors="none", edgecolors="tab:red", linewidths=0.8,
                           label=f"flagged ({flagged.size})")
                ax.legend(loc="best", fontsize=8)
            ax.set_xlabel(_label(table, xcol))
            ax.set_ylabel(_label(table, ycol))
            if invert_y:
                ax.invert_yaxis()
            return sc

        caption_tail = f"Colour: {score_col} (clipped at the {cfg.score_clip_quantile:.0%} quantile); red " \
                       f"circles: flagged by {flag_label}."
        if have(c.colour, c.absolute_magnitude):
            fig, ax = plt.subplots(figsize=(6.5, 7))
            sc = panel(ax, c.colour, c.absolute_magnitude, invert_y=True)
            fig.colorbar(sc, ax=ax, label=score_col)
            ax.set_title("HR diagram")
            ctx.save_figure(fig, "hr_diagram", caption=f"HR diagram ({c.colour} vs {c.absolute_magnitude}, "
                                                       f"brighter up). {caption_tail}")
            made.append("hr_diagram")
        else:
            skipped.append(f"hr_diagram (no {c.colour}/{c.absolute_magnitude} columns)")

        for name, pairs, title in (("positions", [(c.x, c.y), (c.x, c.z)], "Galactocentric positions"),
                                   ("velocities", [(c.v_x, c.v_y), (c.v_x, c.v_z)], "Galactocentric velocities")):
            if not have(*{n for p in pairs for n in p}):
                skipped.append(f"{name} (missing columns)")
                continue
            fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
            for ax, (xc, yc) in zip(axes, pairs):
                sc = panel(ax, xc, yc)
            fig.colorbar(sc, ax=axes, label=score_col)
            fig.suptitle(title)
            ctx.save_figure(fig, name, caption=f"{title}: {pairs[0][0]}-{pairs[0][1]} and {pairs[1][0]}-"
                                                f"{pairs[1][1]}. {caption_tail}")
            made.append(name)

        threshold = float(np.nanmin(score[flags])) if flagged.size and np.isfinite(score[flags]).any() else None
        if finite.size:
            fig, ax = plt.subplots(figsize=(7, 4.5))
            positive = finite[finite > 0]
            bins = (np.logspace(np.log10(positive.min()), np.log10(positive.max()), 80)
                    if positive.size == finite.size and positive.size > 1 and positive.max() > positive.min()
                    else 80)
            ax.hist(finite, bins=bins, color="tab:blue", alpha=0.8)
            if isinstance(bins, np.ndarray):
                ax.set_xscale("log")
            ax.set_yscale("log")
            if threshold is not None:
                ax.axvline(threshold, color="tab:red", ls="--", label=f"lowest flagged score {threshold:.3g}")
                ax.legend()
            ax.set_xlabel(score_col)
            ax.set_ylabel("stars")
            ctx.save_figure(fig, "score_histogram", caption=f"Distribution of {score_col}; the dashed line is the "
                                                            f"lowest score among stars flagged by {flag_label}.")
            made.append("score_histogram")

        if TRUTH_COLUMN in table.columns and have(c.colour, c.absolute_magnitude):
            fig, ax = plt.subplots(figsize=(6.5, 7))
            labels = table.data[TRUTH_COLUMN].astype(str).to_numpy()
            x, y = table.array(c.colour), table.array(c.absolute_magnitude)
            normal = set(table.meta.get("truth_normal", []))
            for pop in sorted(set(labels), key=lambda p: (p not in normal, p)):
                idx = np.flatnonzero(labels == pop)
                if pop in normal and idx.size > cfg.max_background:
                    idx = rng.choice(idx, cfg.max_background, replace=False)
                ax.scatter(x[idx], y[idx], s=1.5 if pop in normal else 12, label=f"{pop} ({(labels == pop).sum()})",
                           rasterized=True, alpha=0.5 if pop in normal else 0.9)
            ax.invert_yaxis()
            ax.set_xlabel(_label(table, c.colour))
            ax.set_ylabel(_label(table, c.absolute_magnitude))
            ax.legend(markerscale=3, fontsize=8)
            ax.set_title("HR diagram by true population (mock)")
            ctx.save_figure(fig, "hr_truth", caption="HR diagram coloured by the simulated population (mock truth).")
            made.append("hr_truth")

        if not made:
            raise StageError("gaia.figures: none of the figures could be drawn: " + "; ".join(skipped))
        for s in skipped:
            ctx.info(f"gaia.figures skipped {s}")
        summary = {"figures": made, "skipped": skipped, "score_column": score_col, "flags": flag_label,
                   "n_flagged": int(flags.sum()), "lowest_flagged_score": threshold}
        return Validation(summary=summary)


def _label(table: Table, col: str) -> str:
    unit = table.info.get(col).unit if col in table.info else None
    return f"{col} [{unit}]" if unit else col
