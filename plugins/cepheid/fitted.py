"""``FittedLeavitt``: what ``cepheid.leavitt_mcmc`` learnt, in the detector contract of ``toolkit.core``.

It wraps a ``LeavittFit`` (the posterior, fit.py) with what scoring a chunk
needs besides the relation: the ``rows`` expression choosing the stars a step
scores (others get NaN), the step name of its per-row columns, the score's
meaning and the manifest summary. Every per-row value depends on that row
alone, so a streamed run, an in-memory run and ``toolkit score`` give the same
numbers. ``save`` writes ``posterior.npz`` through ``ModelFiles`` and returns the
rest as JSON; core writes model.json with the sha256 of every file and checks
them before ``LeavittMCMC.load`` reads anything.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Expression, FittedDetector, StageError, Table
from toolkit.core import RunContext

from .figures import corner_figure, relation_figure, residual_figure
from .fit import LeavittFit
from toolkit.core import flag_column

STATE_VERSION = 1
POSTERIOR_FILE = "posterior.npz"
#: parameters drawn in the corner plot: the relation's three and the outlier fraction (the rest are nuisance)
CORNER_PARAMS = 4
CORNER_LABELS = {"zero_point": "a", "slope": "b", "ln_scatter": "ln σ_int", "outlier_fraction": "P_b",
                 "outlier_mean": "Y_b", "ln_outlier_width": "ln √V_b"}


def selected_rows(table: Table, rows: str | None, stage: str) -> np.ndarray:
    """The rows the ``rows`` expression chooses (all rows without one), as booleans."""
    if rows is None:
        return np.ones(len(table), bool)
    expr = Expression(rows)
    table.require(expr.columns, stage)
    sel = np.broadcast_to(np.asarray(expr.evaluate(table.data)), (len(table),))
    if sel.dtype.kind not in "biu":
        raise StageError(f"{stage}: rows '{rows}' gives {sel.dtype} values, not true/false")
    return sel.astype(bool)


def relation_text(fit: LeavittFit) -> str:
    """The fitted relation as a person reads it."""
    if fit.parallax:
        return (f"M = a + b ({fit.x_column} - {fit.pivot:g}), M the absolute {fit.y_column}, fitted to the "
                f"parallaxes ({fit.parallax['column']} - {fit.parallax['zero_point']:g} mas)")
    return f"{fit.y_column} = a + b ({fit.x_column} - {fit.pivot:g})"


def describe_score(fit: LeavittFit, rows: str | None) -> str:
    relation = relation_text(fit)
    err = fit.y_error_column
    if fit.score_kind == "sigma" and fit.parallax:
        text = (f"|parallax - parallax predicted by {relation}| (posterior median) / total sigma (parallax error, "
                f"{err or 'no'} magnitude error and sigma_int in parallax units)")
    elif fit.score_kind == "sigma":
        text = f"|residual| from {relation} (posterior median) / sqrt({err or '0'}^2 + sigma_int^2)"
    else:
        text = f"posterior probability of the outlier component (Hogg, Bovy & Lang 2010) for {relation}"
    return text + (f"; only rows where {rows}, others NaN" if rows else "")


class FittedLeavitt(FittedDetector):
    """A Leavitt-law posterior that scores any chunk: |z| or the outlier probability on the chosen rows."""

    def __init__(self, fit: LeavittFit, *, step: str, rows: str | None, label: str = "",
                 component: str = "cepheid.leavitt_mcmc", summary: dict | None = None,
                 problem: str | None = None) -> None:
        self.fit, self.step, self.rows, self.label, self.component = fit, step, rows, label, component
        self.problem = problem                      # the NOT CONVERGED message, when kept with on_unconverged: warn
        self.score_description = describe_score(fit, rows)
        self.summary = dict(summary or {})
        reads = [fit.x_column, fit.y_column, fit.y_error_column]
        if fit.parallax:
            reads += [fit.parallax["column"], fit.parallax["error_column"]]
        if rows:
            reads += Expression(rows).columns
        self.features = list(dict.fromkeys(c for c in reads if c))

    @property
    def stage(self) -> str:
        return f"detector '{self.step}' ({self.component})"

    def selected(self, table: Table) -> np.ndarray:
        return selected_rows(table, self.rows, self.stage)

    # -- per-row columns and scores ------------------------------------------
    def assign(self, table: Table) -> Columns:
        """resid_, z_ (and p_outlier_ for the mixture, M_plx_ in parallax space) of this step; NaN off ``rows``."""
        fit, step = self.fit, self.step
        sel = self.selected(table)
        res = fit.residuals(table, self.stage, outlier=fit.likelihood == "mixture")
        for v in res.values():
            v[~sel] = np.nan
        unit = fit.info.get("units", {}).get(fit.y_column)
        err = fit.y_error_column or "0"
        cols = Columns()
        if fit.parallax:
            plx = f"{fit.parallax['column']} - {fit.parallax['zero_point']:g} mas"
            cols.add(f"M_plx_{step}", res["magnitude"], unit, f"absolute {fit.y_column} from the parallax ({plx}; "
                     "NaN where not positive), shown in the figures")
            cols.add(f"resid_{step}", res["resid"], unit, f"M_plx_{step} minus the fitted relation (posterior "
                     "median); positive = fainter than the relation")
            cols.add(f"z_{step}", res["z"], description="(parallax - predicted parallax) / total sigma; positive = "
                     "nearer, i.e. fainter, than the relation says")
        else:
            cols.add(f"resid_{step}", res["resid"], unit, f"{fit.y_column} minus the fitted {relation_text(fit)} "
                     "(posterior median); positive = fainter than the relation")
            cols.add(f"z_{step}", res["z"], description=f"resid_{step} / sqrt({err}^2 + sigma_int^2)")
        if fit.likelihood == "mixture":
            cols.add(f"p_outlier_{step}", res["p_outlier"],
                     description="posterior probability of belonging to the outlier component")
        return cols

    def score(self, table: Table) -> np.ndarray:
        """|z| or the outlier probability from the table's own columns (not from ``assign``'s): a new table scores."""
        score = self.fit.score(table, self.stage)
        score[~self.selected(table)] = np.nan
        return score

    # -- saving ---------------------------------------------------------------
    def save(self, files) -> dict:
        files.write_arrays(POSTERIOR_FILE, self.fit.arrays())
        return {"version": STATE_VERSION, "step": self.step, "rows": self.rows, "label": self.label,
                "component": self.component, "problem": self.problem, "summary": self.summary,
                "fit": self.fit.state()}

    @classmethod
    def from_saved(cls, files, state: dict) -> "FittedLeavitt":
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"Leavitt-fit state version {state.get('version')!r}; this plugin reads "
                             f"{STATE_VERSION}")
        fit = LeavittFit.from_state(state["fit"], files.read_arrays(POSTERIOR_FILE))
        return cls(fit, step=state["step"], rows=state.get("rows"), label=state.get("label", ""),
                   component=state.get("component", "cepheid.leavitt_mcmc"), summary=state.get("summary"),
                   problem=state.get("problem"))

    # -- figures --------------------------------------------------------------
    def figures(self, table: Table, ctx: RunContext) -> None:
        """The relation with its band, residuals against log P and the corner plot (flags from ``flag_<step>``)."""
        if not ctx.figures_enabled:
            return
        fit, step = self.fit, self.step
        res = fit.residuals(table, self.stage, outlier=False)
        shown = self.selected(table) & np.isfinite(res["resid"])
        flag_col = flag_column(step)
        flag = table.data[flag_col].to_numpy(bool) if flag_col in table.data.columns else np.zeros(len(table), bool)
        x, y = table.array(fit.x_column)[shown], res["magnitude"][shown]
        truth = table.data["truth_population"].to_numpy().astype(str)[shown] \
            if "truth_population" in table.columns else None
        label = self.label or f"{fit.y_column} vs {fit.x_column}"
        warn = " — NOT CONVERGED" if self.problem else ""
        title = f"{step}: {label}{' (MOCK DATA)' if table.is_mock else ''}{warn}"
        xlabel = f"{fit.x_column} (days)"
        ylabel = f"absolute {fit.y_column} from the parallax" if fit.parallax else fit.y_column
        ctx.save_figure(relation_figure(fit, x, y, flag[shown], truth, title, xlabel, ylabel, ctx.rng("figure")),
                        "relation", caption=f"{label}: {ylabel} against {fit.x_column} for the {shown.sum()} scored "
                        "stars" + (" with a positive parallax (all scored stars enter the fit)" if fit.parallax
                                   else "") + ", with the posterior-median relation, its 68 % band (dark), ± the "
                        "intrinsic scatter (light) and the flagged stars circled in red"
                        + ("; colours are the mock's true populations." if truth is not None else "."))
        ctx.save_figure(residual_figure(fit, x, res["resid"][shown], flag[shown], truth, title, xlabel),
                        "residuals", caption=f"Residuals of {label} against {fit.x_column}; lines at ± 1 and ± 3 "
                        "intrinsic scatters. Type II and anomalous Cepheids sit below (fainter), blends above.")
        names = fit.param_names[:CORNER_PARAMS]
        ctx.save_figure(corner_figure(fit.samples[:, :len(names)], [CORNER_LABELS[n] for n in names],
                                      f"{step}: posterior ({len(fit.samples)} draws){warn}"),
                        "corner", caption=f"Posterior of {label}: a (zero-point at {fit.x_column} = {fit.pivot:g}), "
                        "b (slope), ln sigma_int" + (" and the outlier fraction P_b (the outlier component's mean "
                                                     "and width are in the manifest)" if fit.likelihood == "mixture"
                                                     else "") + "; dashed lines 16th/84th percentiles.")
