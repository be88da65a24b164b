"""``symbiotic.figures``: the seed's plots of a scored symbiotic run.

Loss histogram with the flag threshold, loss box plot, loss per object with the flagged
rows highlighted, a PCA projection of the detector's features, and colour-colour diagrams
with known symbiotic stars marked (rows with a non-empty ``match_*`` column from
``catalogs.match``) and, on mock data, the injected symbiotics.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import TRUTH_COLUMN, Config, Expression, Field, StageError, Table, Validation, Validator
from toolkit.core import RunContext

from .bands import VAE_COLUMNS
from toolkit.core import flag_column, is_score, score_column

DEFAULT_DIAGRAMS = [
    {"x": "j_m - k_m", "y": "u_psf - g_psf"},
    {"x": "g_psf - i_psf", "y": "u_psf - v_psf"},
    {"x": "j_m - h_m", "y": "h_m - k_m"},
    {"x": "k_m - w1mpro", "y": "w1mpro - w2mpro"},
]


def known_mask(table: Table, columns: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Rows matched to any known catalogue (non-empty match_<name> values)."""
    if columns is None:
        columns = [c for c in table.columns if c.startswith("match_") and not c.endswith("_sep")
                   and table.data[c].dtype.kind not in "fiuc"]
    else:
        table.require(columns, "symbiotic.figures")
    known = np.zeros(len(table), bool)
    for c in columns:
        v = table.data[c]
        if v.dtype.kind == "b":
            known |= v.to_numpy(bool)
        else:
            known |= v.notna().to_numpy() & (v.astype(str).str.strip() != "").to_numpy() \
                & ~v.astype(str).isin(["None", "nan", "False"]).to_numpy()
    return known, columns


def _scatter_marked(ax, x, y, flag, truth_sym, known) -> None:
    """All rows in grey, flagged rows in red, injected (mock) and known symbiotics marked on top."""
    ax.scatter(x[~flag], y[~flag], s=3, c="0.7", label="all")
    ax.scatter(x[flag], y[flag], s=12, c="C3", label="flagged")
    if truth_sym.any():
        ax.scatter(x[truth_sym], y[truth_sym], s=25, marker="x", c="C2", label="injected symbiotic (mock)")
    if known.any():
        ax.scatter(x[known], y[known], s=70, marker="*", facecolors="none", edgecolors="C0", label="known symbiotic")


class SymbioticFigures(Validator):
    name = "symbiotic.figures"
    summary = "Loss histogram/box/per-object plots, PCA projection and colour-colour diagrams with known symbiotics marked."

    class Config(Config):
        detector: str = Field("vae", description="detector step whose score_<step>/flag_<step> are plotted")
        pca_features: list[str] = Field(list(VAE_COLUMNS), description="columns of the PCA projection (median-imputed, standardised)")
        diagrams: list[dict[str, str]] = Field(default_factory=lambda: [dict(d) for d in DEFAULT_DIAGRAMS],
                                               description="colour-colour diagrams: [{x: expr, y: expr}] (safe expressions)")
        match_columns: list[str] | None = Field(None, description="columns naming a known-catalogue match; null = every match_* column")

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        cfg = self.config
        score_col, flag_col = score_column(cfg.detector), flag_column(cfg.detector)
        if score_col not in table.data:
            raise StageError(f"symbiotic.figures: no column {score_col}; set `detector` to a detector step name "
                             f"(score columns here: {[c for c in table.columns if is_score(c)]})")
        score = table.array(score_col)
        flag = table.data[flag_col].fillna(False).to_numpy(bool) if flag_col in table.data else np.zeros(len(table), bool)
        known, match_cols = known_mask(table, cfg.match_columns)
        truth_sym = (table.data[TRUTH_COLUMN].astype(str) == "symbiotic").to_numpy() if TRUTH_COLUMN in table.data \
            else np.zeros(len(table), bool)
        finite = np.isfinite(score)
        threshold = float(np.nanmin(score[flag])) if flag.any() else None
        saved = []

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(score[finite], bins=60, color="0.5")
        if threshold is not None:
            ax.axvline(threshold, color="C3", ls="--", label=f"threshold {threshold:.3g} ({int(flag.sum())} flagged)")
            ax.legend()
        ax.set(xlabel=f"{score_col}", ylabel="objects", yscale="log", title="Reconstruction loss")
        saved.append(ctx.save_figure(fig, "loss_histogram", caption="Distribution of the anomaly score with the flag threshold"))

        fig, ax = plt.subplots(figsize=(3.5, 4))
        ax.boxplot(score[finite], whis=1.5)
        ax.set(ylabel=score_col, xticks=[], title="Loss box plot")
        saved.append(ctx.save_figure(fig, "loss_boxplot", caption="Box plot of the anomaly score (whiskers 1.5 IQR)"))

        fig, ax = plt.subplots(figsize=(7, 4))
        idx = np.arange(len(table))
        ax.scatter(idx[~flag], score[~flag], s=3, c="0.6", label="ordinary")
        ax.scatter(idx[flag], score[flag], s=10, c="C3", label="flagged")
        if known.any():
            ax.scatter(idx[known], score[known], s=60, facecolors="none", edgecolors="C0", label="known symbiotic")
        if threshold is not None:
            ax.axhline(threshold, color="C3", ls="--", lw=1)
        ax.set(xlabel="object (row)", ylabel=score_col, title="Loss per object")
        ax.legend(markerscale=1.5, fontsize=8)
        saved.append(ctx.save_figure(fig, "loss_per_object", caption="Anomaly score per object; flagged rows in red"))

        pca_summary = self._pca(table, flag, known, truth_sym, ctx, plt, saved)

        for k, diagram in enumerate(cfg.diagrams):
            try:
                x_expr, y_expr = Expression(diagram["x"]), Expression(diagram["y"])
            except KeyError as exc:
                raise StageError(f"symbiotic.figures: diagram {k} needs keys x and y, got {diagram}") from exc
            needed = [c for c in x_expr.columns + y_expr.columns if c not in table.data]
            if needed:
                ctx.warn(f"colour-colour diagram {diagram} skipped: missing column(s) {needed}")
                continue
            x = np.asarray(x_expr.evaluate(table.data), float)
            y = np.asarray(y_expr.evaluate(table.data), float)
            fig, ax = plt.subplots(figsize=(5, 4.5))
            _scatter_marked(ax, x, y, flag, truth_sym, known)
            ax.set(xlabel=diagram["x"], ylabel=diagram["y"])
            ax.legend(fontsize=7)
            saved.append(ctx.save_figure(fig, f"colour_colour_{k}",
                                         caption=f"{diagram['y']} against {diagram['x']}; known symbiotics starred"))

        summary = {"score_column": score_col, "threshold": threshold, "n_flagged": int(flag.sum()),
                   "n_known": int(known.sum()), "known_flagged": int((known & flag).sum()),
                   "match_columns": match_cols, "pca": pca_summary,
                   "figures": [str(p.name) for p in saved if p is not None]}
        return Validation(summary=summary)

    def _pca(self, table, flag, known, truth_sym, ctx: RunContext, plt, saved) -> dict:
        from sklearn.decomposition import PCA

        cols = [c for c in self.config.pca_features if c in table.data]
        if len(cols) < 2:
            ctx.warn(f"PCA figure skipped: fewer than two of {self.config.pca_features} are in the table")
            return {}
        X = table.data[cols].to_numpy(float)
        med = np.nanmedian(X, axis=0)
        X = np.where(np.isfinite(X), X, med)
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        pca = PCA(n_components=2, random_state=0).fit(X)
        P = pca.transform(X)
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        _scatter_marked(ax, P[:, 0], P[:, 1], flag, truth_sym, known)
        ev = pca.explained_variance_ratio_
        ax.set(xlabel=f"PC1 ({ev[0]:.0%})", ylabel=f"PC2 ({ev[1]:.0%})", title="PCA of " + ", ".join(cols))
        ax.legend(fontsize=7)
        saved.append(ctx.save_figure(fig, "pca", caption="First two principal components of the standardised magnitudes"))
        return {"features": cols, "explained_variance_ratio": [round(float(v), 4) for v in ev]}
