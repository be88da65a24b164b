"""``mixture.overlap``: the top N stars by log overlap with a fitted component.

How Chronostar picks RV-less candidates: fit one Gaussian to a trusted set of
stars (here the rows matching ``members``, e.g. a previous step's group
members, fitted by XD so their errors are deconvolved; or a component given
explicitly), compute every star's ln N(x_i; m, C + S_i) and keep the N highest,
optionally only among rows matching ``candidates`` (e.g. ``rv_imputed``).
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Expression, Field, RecipeError, StageError, Validation, Validator
from toolkit.core import RunContext

from .blas_threads import single_blas_thread
from .mixture_inputs import MixtureInputConfig, read_inputs
from .gaussian_overlap import log_overlap
from .xd_mixture import XDGaussianMixture


class OverlapSelection(Validator):
    name = "mixture.overlap"
    summary = "ln overlap of every star with a fitted component (Chronostar overlap integral) and the top-N selection."

    class Config(MixtureInputConfig):
        members: str | None = Field(None, description=(
            "expression selecting the stars the component is fitted to (XD fit), e.g. 'member_of == 1'"))
        component_mean: list[float] | None = Field(None, description="explicit component mean instead of members")
        component_covariance: list[list[float]] | None = Field(None, description="explicit component covariance (with component_mean)")
        top_n: int = Field(500, ge=1, description="how many stars to select")
        candidates: str | None = Field(None, description="expression restricting who can be selected, e.g. 'rv_imputed'")
        column: str = Field("ln_overlap", description="ln-overlap column name; the selection goes to <column>_selected")

    @single_blas_thread
    def validate(self, table, ctx: RunContext) -> Validation:
        cfg = self.config
        explicit = cfg.component_mean is not None
        if explicit == (cfg.members is not None):
            raise RecipeError(f"{self.name}: give either `members` (an expression) or `component_mean` + "
                              "`component_covariance`, not both or neither")
        inputs = read_inputs(table, cfg, self.name)
        d = len(cfg.features)
        if explicit:
            mean = np.asarray(cfg.component_mean, float)
            cov = np.asarray(cfg.component_covariance, float) if cfg.component_covariance is not None else None
            if mean.shape != (d,) or cov is None or cov.shape != (d, d):
                raise RecipeError(f"{self.name}: component_mean needs {d} values and component_covariance {d}x{d}")
            n_fit = 0
        else:
            expr = Expression(cfg.members)
            table.require(expr.columns, self.name)
            sel = np.asarray(np.broadcast_to(expr.evaluate(table.data), (len(table),)), bool)[inputs.valid]
            if sel.sum() < d + 2:
                raise StageError(f"{self.name}: only {int(sel.sum())} rows match members '{cfg.members}'; "
                                 f"need at least {d + 2} to fit a {d}-D Gaussian")
            xd = XDGaussianMixture(n_components=1, max_components=1).fit(inputs.X[sel], inputs.S[sel])
            mean, cov = xd.state_.means[0], xd.state_.covs[0]
            n_fit = int(sel.sum())
        ln_ol = np.full(len(table), np.nan)
        ln_ol[inputs.valid] = log_overlap(inputs.X, inputs.S, mean, cov)
        pool = np.isfinite(ln_ol)
        if cfg.candidates:
            cexpr = Expression(cfg.candidates)
            table.require(cexpr.columns, self.name)
            pool &= np.asarray(np.broadcast_to(cexpr.evaluate(table.data), (len(table),)), bool)
        idx = np.flatnonzero(pool)
        top = idx[np.argsort(-ln_ol[idx], kind="stable")[:cfg.top_n]]
        selected = np.zeros(len(table), bool)
        selected[top] = True
        rank = np.full(len(table), -1, dtype=np.int64)
        rank[top] = np.arange(1, len(top) + 1)
        cols = Columns()
        cols.add(cfg.column, ln_ol, description="ln N(x_i; m, C + S_i): log overlap of the star with the component")
        cols.add(f"{cfg.column}_selected", selected, description=f"among the top {cfg.top_n} by {cfg.column}")
        cols.add(f"{cfg.column}_rank", rank, description=f"rank by {cfg.column} among candidates (1 = best, -1 = not selected)")
        summary = {"component_mean": dict(zip(cfg.features, np.round(mean, 4).tolist())),
                   "component_std": dict(zip(cfg.features, np.sqrt(np.diag(cov)).round(4).tolist())),
                   "fitted_to": n_fit, "candidates": int(pool.sum()), "selected": int(selected.sum()),
                   "threshold_ln_overlap": float(ln_ol[top[-1]]) if len(top) else None,
                   "regularised_covariances": inputs.regularised}
        return Validation(columns=cols, summary=summary)
