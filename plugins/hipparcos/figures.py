"""``hipparcos.figures``: where the flagged stars sit in the HR and reduced-proper-motion diagrams.

A star the detectors flag should be explicable: a halo star sits on the
subdwarf side of the main sequence and far below it in the reduced-proper-motion
diagram (large H for its colour: high tangential velocity); a white dwarf sits
below the main sequence in both. The figures show every star in grey and the
flagged ones on top, labelled with their HIP numbers (and common names where
``named_stars`` knows them); the summary lists the top candidates by score.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Config, Field, StageError, Table, Validation, Validator
from toolkit.core import RunContext

from .named_stars import star_names
from toolkit.core import is_score, step_of

TITLES = {"hr_diagram": "HR diagram", "reduced_pm_diagram": "Reduced-proper-motion diagram"}
MARKERS = ("o", "s", "^", "D", "v", "P")
COLOURS = ("tab:red", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")


class HipparcosFigures(Validator):
    name = "hipparcos.figures"
    summary = "HR (B-V vs absolute Hp) and reduced-proper-motion diagrams with the flagged stars, by HIP number."

    class Config(Config):
        colour: str = Field("b_v", description="colour column on the x axis (mag)")
        absolute_magnitude: str = Field("M_Hp", description="absolute magnitude column for the HR diagram (mag)")
        reduced_pm: str = Field("reduced_pm", description="reduced proper motion column (mag)")
        flag_columns: list[str] | None = Field(None, description="flag columns to show; every flag_* column when "
                                                                 "omitted")
        score_column: str | None = Field(None, description="score that orders the candidates; the first "
                                                           "score_* column when omitted")
        annotate: int = Field(12, ge=0, description="label this many top-scoring flagged stars in the figures")
        top: int = Field(25, ge=0, description="list this many top-scoring flagged stars in the summary")
        quote: list[str] = Field(["v_tan", "M_Hp", "b_v", "plx"],
                                 description="columns quoted for each listed candidate (those present)")

    def _flags(self, table: Table) -> list[str]:
        names = self.config.flag_columns
        if names is None:
            names = table.flag_columns()
        table.require(names, self.name)
        if not names:
            raise StageError(f"stage '{self.name}': no flag_* columns to show; run at least one detector "
                             "before this validator, or name flag_columns")
        return names

    def _score(self, table: Table) -> str | None:
        name = self.config.score_column
        if name is None:
            name = next((c for c in table.columns if is_score(c)), None)
        elif name not in table.columns:
            table.require([name], self.name)
        return name

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        cfg = self.config
        table.require([cfg.colour, cfg.absolute_magnitude, cfg.reduced_pm], self.name)
        flags = self._flags(table)
        score_name = self._score(table)
        flag_matrix = table.data[flags].fillna(False).to_numpy(bool)
        any_flag = flag_matrix.any(axis=1)
        score = table.array(score_name) if score_name else np.zeros(len(table))
        order = np.flatnonzero(any_flag)[np.argsort(-np.nan_to_num(score[any_flag], nan=-np.inf), kind="stable")]
        ids = table.data[table.id_column].to_numpy()
        names = star_names(ids)

        labels = [self._label(ids[i], names[i]) for i in order]
        top = [self._describe(table, i, labels[k], flags, flag_matrix, score_name)
               for k, i in enumerate(order[:cfg.top])]
        self._figure(table, ctx, cfg.absolute_magnitude, "hr_diagram", flags, flag_matrix, order, labels,
                     f"HR diagram: {cfg.colour} against {cfg.absolute_magnitude} (1000/parallax, no extinction); "
                     f"grey: all {len(table)} stars after the cuts; coloured: flagged stars")
        self._figure(table, ctx, cfg.reduced_pm, "reduced_pm_diagram", flags, flag_matrix, order, labels,
                     f"Reduced-proper-motion diagram: {cfg.colour} against {cfg.reduced_pm} "
                     "(H = m + 5 log10 mu[arcsec/yr] + 5); high-velocity stars lie below the disc main sequence")
        summary = {"n_flagged": int(any_flag.sum()),
                   "flagged_by": {f: int(flag_matrix[:, k].sum()) for k, f in enumerate(flags)},
                   "ordered_by": score_name,
                   "named": int(sum(bool(names[i]) for i in order)),
                   "top_candidates": top}
        ctx.record("top_candidates", top)
        cols = Columns().add("star_name", np.array(names, dtype=object),
                             description="common name of well-known stars (hipparcos.named_stars); empty otherwise")
        return Validation(cols, summary)

    @staticmethod
    def _label(hip, name: str) -> str:
        return f"HIP {hip}" + (f" ({name})" if name else "")

    def _describe(self, table: Table, i: int, label: str, flags, flag_matrix, score_name) -> str:
        parts = [label]
        for col in self.config.quote:
            if col in table.columns:
                unit = table.info[col].unit
                parts.append(f"{col} {table.data[col].iloc[i]:.2f}{' ' + unit if unit else ''}")
        if score_name:
            parts.append(f"{score_name} {table.data[score_name].iloc[i]:.3g}")
        parts.append("flagged by " + ", ".join(step_of(f) for k, f in enumerate(flags)
                                               if flag_matrix[i, k]))
        return "; ".join(parts)

    def _figure(self, table, ctx: RunContext, y_name, stem, flags, flag_matrix, order, labels, caption) -> None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        x, y = table.array(self.config.colour), table.array(y_name)
        fig, ax = plt.subplots(figsize=(7, 7))
        ax.scatter(x, y, s=1, c="0.7", alpha=0.5, lw=0, rasterized=True, label=f"all ({len(table)})")
        for k, flag in enumerate(flags):
            rows = flag_matrix[:, k]
            ax.scatter(x[rows], y[rows], s=22, marker=MARKERS[k % len(MARKERS)], facecolors="none",
                       edgecolors=COLOURS[k % len(COLOURS)], lw=0.9,
                       label=f"{step_of(flag)} ({int(rows.sum())})")
        for k, i in enumerate(order[:self.config.annotate]):
            if np.isfinite(x[i]) and np.isfinite(y[i]):   # alternate sides so that neighbours stay legible
                ax.annotate(labels[k], (x[i], y[i]), xytext=(6, 2) if k % 2 == 0 else (-6, -2),
                            ha="left" if k % 2 == 0 else "right", textcoords="offset points", fontsize=7,
                            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.3"})
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.any():
            lo, hi = np.percentile(x[finite], [0.05, 99.95])
            ax.set_xlim(lo - 0.1, hi + 0.1)
        ax.invert_yaxis()
        ax.set_xlabel(f"{self.config.colour} [{table.info[self.config.colour].unit or 'mag'}]")
        ax.set_ylabel(f"{y_name} [{table.info[y_name].unit or 'mag'}]")
        ax.legend(loc="upper right", fontsize=8, markerscale=1.5)
        ax.set_title(TITLES.get(stem, stem))
        ctx.save_figure(fig, stem, caption=caption)
