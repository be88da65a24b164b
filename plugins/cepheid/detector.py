"""``cepheid.leavitt_mcmc``: a Leavitt law fitted by MCMC; stars far off it are the anomalies.

Internally the scikit-learn shape: ``fit(table, ctx)`` returns a ``LeavittFit``
(fit.py) that scores any chunk and saves to / loads from a folder. ``detect``
is today's contract: fit, score every row, threshold with the shared threshold
helpers of the detectors plugin, save the fit under ``models/<step>/``, draw the
figures, and put the posterior (with 68 and 95 % intervals), the least-squares
line of the lab, and the autocorrelation times in the summary.

A chain shorter than ``autocorr_multiple`` autocorrelation times is an error
(``on_unconverged: error``, the default) or a loud warning marked in the
manifest and figures (``warn``); never a silent result.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from toolkit.core import Columns, Config, Detection, Detector, Expression, Field, RecipeError, StageError, Table
from toolkit.plugins.detectors.thresholds import ThresholdConfig, apply_cut, threshold_cut

from .figures import corner_figure, relation_figure, residual_figure
from .fit import LeavittFit, Sampling

DEFAULT_THRESHOLDS = {"sigma": {"method": "fixed", "value": 3.0}, "outlier_probability": {"method": "fixed",
                                                                                          "value": 0.5}}
#: parameters drawn in the corner plot: the relation's three and the outlier fraction (the rest are nuisance)
CORNER_PARAMS = 4
CORNER_LABELS = {"zero_point": "a", "slope": "b", "ln_scatter": "ln σ_int", "outlier_fraction": "P_b",
                 "outlier_mean": "Y_b", "ln_outlier_width": "ln √V_b"}


class ParallaxInput(BaseModel):
    """Fit in parallax space: y is then an apparent magnitude and each parallax is compared with the relation's."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field("parallax", description="parallax column (mas)")
    error: str = Field("parallax_error", description="parallax error column (mas)")
    zero_point: float = Field(0.0, description="parallax zero-point (mas), subtracted: parallax - zero_point; "
                              "Gaia DR2 -0.029 (Lindegren+2018), DR3 -0.017 (Lindegren+2021)")


class LeavittConfig(Config):
    x: str = Field("logP", description="period column: log10 fundamental(-ised) period in days")
    y: str = Field("M_W", description="magnitude column (absolute, e.g. M_W; or apparent W for one galaxy)")
    y_error: str | None = Field("M_W_err", description="magnitude error column (null: no per-star errors)")
    rows: str | None = Field(None, description="safe expression choosing the rows fitted and scored (e.g. "
                             "'not in_lmc and parallax / parallax_error > 5'); other rows get NaN")
    parallax: ParallaxInput | None = Field(None, description="fit the absolute relation through parallaxes "
                                           "(y = apparent magnitude, e.g. W): unbiased by parallax noise, negative "
                                           "parallaxes usable; null: y is fitted as it is")
    pivot: float = Field(1.0, description="the relation is y = a + b (x - pivot); 1.0 makes a the magnitude at "
                         "P = 10 d")
    likelihood: Literal["mixture", "gaussian"] = Field(
        "mixture", description="mixture: line with intrinsic scatter + outlier Gaussian (Hogg, Bovy & Lang 2010); "
        "gaussian: line with intrinsic scatter only")
    score: Literal["sigma", "outlier_probability"] = Field(
        "sigma", description="sigma: |residual| / sqrt(sigma_y^2 + sigma_int^2); outlier_probability: posterior "
        "probability of the outlier component")
    n_walkers: int = Field(16, ge=12, description="emcee walkers (>= 2 x the 6 parameters)")
    n_steps: int = Field(2000, ge=10, description="steps per walker")
    burn: int = Field(400, ge=0, description="steps discarded as burn-in")
    autocorr_multiple: float = Field(50.0, gt=0, description="converged when (n_steps - burn) >= this x the "
                                     "longest integrated autocorrelation time (emcee's advice: 50)")
    on_unconverged: Literal["error", "warn"] = Field("error", description="what a chain that has not converged "
                                                     "does: stop the run, or warn loudly and mark the manifest")
    min_rows: int = Field(10, ge=5, description="fewest usable stars to fit")
    threshold: ThresholdConfig | None = Field(None, description="flags; default: score >= 3 (sigma) or >= 0.5 "
                                              "(outlier_probability)")
    label: str = Field("", description="what the relation is, for titles (e.g. 'PW, Milky Way, parallaxes')")
    save_model: bool = Field(True, description="save the fit under models/<step>/ (model.json + posterior.npz)")

    @field_validator("rows")
    @classmethod
    def _check_rows(cls, v):
        if v is not None:
            try:
                Expression(v)
            except RecipeError as exc:
                raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _check(self):
        if self.burn >= self.n_steps:
            raise ValueError(f"burn ({self.burn}) must be smaller than n_steps ({self.n_steps})")
        if self.threshold is None:
            self.threshold = ThresholdConfig(**DEFAULT_THRESHOLDS[self.score])
        return self


def _step(ctx, fallback: str) -> str:
    return ctx.step.split(".", 1)[-1] if getattr(ctx, "step", "") else fallback


class LeavittMCMC(Detector):
    name = "cepheid.leavitt_mcmc"
    summary = ("Leavitt law y = a + b (log P - pivot) with intrinsic scatter and an outlier mixture (Hogg, Bovy & "
               "Lang 2010), sampled with emcee; score = |residual| in total sigmas, or the outlier probability.")
    Config = LeavittConfig

    def selected(self, table: Table) -> np.ndarray:
        """The rows the ``rows`` expression chooses (all rows without one)."""
        cfg = self.config
        if cfg.rows is None:
            return np.ones(len(table), bool)
        expr = Expression(cfg.rows)
        table.require(expr.columns, self.name)
        sel = np.broadcast_to(np.asarray(expr.evaluate(table.data)), (len(table),))
        if sel.dtype.kind not in "biu":
            raise StageError(f"detector {self.name}: rows '{cfg.rows}' gives {sel.dtype} values, not true/false")
        return sel.astype(bool)

    def fit(self, table: Table, ctx) -> LeavittFit:
        """Fit the relation on the selected rows with finite x, y, y_error; bad input is a StageError."""
        cfg = self.config
        step = _step(ctx, "leavitt")
        plx_cols = [cfg.parallax.column, cfg.parallax.error] if cfg.parallax else []
        table.require([cfg.x, cfg.y] + ([cfg.y_error] if cfg.y_error else []) + plx_cols, self.name)
        sel = self.selected(table)
        x, y = table.array(cfg.x), table.array(cfg.y)
        err = table.array(cfg.y_error) if cfg.y_error else None
        ok = sel & np.isfinite(x) & np.isfinite(y)
        if err is not None:
            ok &= np.isfinite(err) & (err >= 0)
        plx = plx_err = None
        if cfg.parallax:
            plx = table.array(cfg.parallax.column) - cfg.parallax.zero_point
            plx_err = table.array(cfg.parallax.error)
            ok &= np.isfinite(plx) & np.isfinite(plx_err) & (plx_err > 0)
        n = int(ok.sum())
        where = f" chosen by rows '{cfg.rows}'" if cfg.rows else ""
        if n < cfg.min_rows:
            raise StageError(
                f"detector '{step}' ({self.name}): too few stars for the fit: {n} usable of {int(sel.sum())} "
                f"rows{where} ({len(table)} in the table; usable = finite {cfg.x}, {cfg.y}"
                f"{', ' + cfg.y_error if cfg.y_error else ''}{''.join(', ' + c for c in plx_cols)}); at least "
                f"{cfg.min_rows} are needed.")
        if np.ptp(x[ok]) == 0:
            raise StageError(f"detector '{step}' ({self.name}): all {n} usable stars have the same {cfg.x} "
                             f"({x[ok][0]:g}); a period-luminosity slope cannot be fitted.")
        if np.ptp(y[ok]) == 0:
            raise StageError(f"detector '{step}' ({self.name}): all {n} usable stars have the same {cfg.y}; "
                             "nothing to fit (a fill value?).")
        sampling = Sampling(cfg.n_walkers, cfg.n_steps, cfg.burn, cfg.autocorr_multiple)
        units = {c: table.info[c].unit for c in (cfg.x, cfg.y, cfg.y_error, *plx_cols) if c}
        parallax = {"column": cfg.parallax.column, "error_column": cfg.parallax.error,
                    "zero_point": cfg.parallax.zero_point} if cfg.parallax else None
        return LeavittFit.fit(x[ok], y[ok], None if err is None else err[ok], x_column=cfg.x, y_column=cfg.y,
                              y_error_column=cfg.y_error, pivot=cfg.pivot, likelihood=cfg.likelihood,
                              sampling=sampling, seed=ctx.step_seed("emcee"), score_kind=cfg.score, units=units,
                              plx=None if plx is None else plx[ok], plx_err=None if plx is None else plx_err[ok],
                              parallax=parallax)

    def convergence(self, fit: LeavittFit, step: str) -> str | None:
        """None when converged, else the message that says so (tau values, how long the chain is, the way out)."""
        if fit.converged:
            return None
        info = fit.info
        taus = ", ".join(f"{n} {t:.1f}" for n, t in zip(fit.param_names, fit.autocorr_time))
        kept = info["n_steps"] - info["burn"]
        return (f"MCMC NOT CONVERGED in '{step}' ({self.name}): the chain after burn-in has {kept} steps, "
                f"{info['chain_over_tau']} x the longest autocorrelation time of a, b, sigma_int and P_b, fewer than the "
                f"{info['autocorr_multiple']:g} x required (tau in steps: {taus}). Raise n_steps (e.g. --set "
                "detectors.N.with.n_steps=...), or set on_unconverged: warn to keep an unconverged result.")

    def detect(self, table: Table, ctx) -> Detection:
        cfg = self.config
        step = _step(ctx, "leavitt")
        t0 = time.perf_counter()
        fit = self.fit(table, ctx)
        fit_seconds = time.perf_counter() - t0
        problem = self.convergence(fit, step)
        if problem and cfg.on_unconverged == "error":
            raise StageError(problem)
        if problem:
            ctx.warn(problem)

        sel = self.selected(table)
        res = fit.residuals(table, self.name)
        for k in res:
            res[k][~sel] = np.nan
        score = np.abs(res["z"]) if cfg.score == "sigma" else res["p_outlier"]
        cut = threshold_cut(score, cfg.threshold)
        flag = apply_cut(score, cut, cfg.threshold.upper)

        relation = (f"M = a + b ({cfg.x} - {cfg.pivot:g}), M the absolute {cfg.y}, fitted to the parallaxes "
                    f"({cfg.parallax.column} - {cfg.parallax.zero_point:g} mas)" if cfg.parallax else
                    f"{cfg.y} = a + b ({cfg.x} - {cfg.pivot:g})")
        ls = fit.info["least_squares"]
        summary = {
            "relation": relation, "label": cfg.label, "likelihood": cfg.likelihood, "rows": cfg.rows,
            "space": fit.info["space"],
            "n_fit": fit.info["n_fit"], "n_scored": int(np.isfinite(score).sum()),
            "posterior": fit.posterior_summary(),
            "least_squares": {"note": "the lab's fit: no intrinsic scatter, no outlier model", **ls},
            "mcmc": {k: fit.info[k] for k in ("n_walkers", "n_steps", "burn", "thin", "acceptance_fraction",
                                              "chain_over_tau", "autocorr_multiple")}
            | {"autocorr_time": dict(zip(fit.param_names, np.round(fit.autocorr_time, 2).tolist())),
               "n_draws": int(len(fit.samples)), "sampler": f"emcee {fit.info['emcee_version']}, DE + snooker moves"},
            "converged": fit.converged, "fit_seconds": round(fit_seconds, 3),
            "threshold": {"rule": cfg.threshold.describe(), "cut": cut, "upper": cfg.threshold.upper},
        }
        if problem:
            summary["WARNING"] = problem
        ctx.record("converged", fit.converged)

        description = (f"|parallax - parallax predicted by {relation}| (posterior median) / total sigma (parallax "
                       f"error, {cfg.y_error or 'no'} magnitude error and sigma_int in parallax units)"
                       if cfg.score == "sigma" and cfg.parallax else
                       f"|residual| from {relation} (posterior median) / sqrt({cfg.y_error or '0'}^2 + sigma_int^2)"
                       if cfg.score == "sigma" else
                       f"posterior probability of the outlier component (Hogg, Bovy & Lang 2010) for {relation}")
        if cfg.rows:
            description += f"; only rows where {cfg.rows}, others NaN"
        folder = ctx.artifact_dir("models") if cfg.save_model else None
        if folder is not None:
            fit.save(folder, extra={"component": self.name, "step": step, "config": cfg.model_dump(mode="json"),
                                    "score_description": description, "seed": ctx.seed,
                                    "threshold": {"rule": cfg.threshold.describe(), "cut": cut,
                                                  "upper": cfg.threshold.upper}})
            rel = str(folder.relative_to(ctx.workdir)) if folder.is_relative_to(ctx.workdir) else str(folder)
            summary["model_dir"] = rel
        if ctx.figures_enabled:
            self._figures(table, ctx, fit, res, sel, flag, step, problem)

        cols = Columns()
        unit = table.info[cfg.y].unit
        if cfg.parallax:
            cols.add(f"M_plx_{step}", res["magnitude"], unit, f"absolute {cfg.y} from the parallax ({cfg.parallax.column}"
                     f" - {cfg.parallax.zero_point:g} mas; NaN where not positive), shown in the figures")
            cols.add(f"resid_{step}", res["resid"], unit, f"M_plx_{step} minus the fitted relation (posterior "
                     "median); positive = fainter than the relation")
            cols.add(f"z_{step}", res["z"], description="(parallax - predicted parallax) / total sigma; positive = "
                     "nearer, i.e. fainter, than the relation says")
        else:
            cols.add(f"resid_{step}", res["resid"], unit, f"{cfg.y} minus the fitted {relation} (posterior median); "
                     "positive = fainter than the relation")
            cols.add(f"z_{step}", res["z"], description=f"resid_{step} / sqrt({cfg.y_error or '0'}^2 + sigma_int^2)")
        if cfg.likelihood == "mixture":
            cols.add(f"p_outlier_{step}", res["p_outlier"],
                     description="posterior probability of belonging to the outlier component")
        return Detection(score=score, flag=flag, score_description=description, columns=cols, summary=summary)

    def _figures(self, table: Table, ctx, fit: LeavittFit, res: dict, sel: np.ndarray, flag: np.ndarray,
                 step: str, problem: str | None) -> None:
        cfg = self.config
        shown = sel & np.isfinite(res["resid"])
        x, y = table.array(cfg.x)[shown], res["magnitude"][shown]
        truth = table.data["truth_population"].to_numpy().astype(str)[shown] \
            if "truth_population" in table.columns else None
        label = cfg.label or f"{cfg.y} vs {cfg.x}"
        warn = " — NOT CONVERGED" if problem else ""
        mock = " (MOCK DATA)" if table.is_mock else ""
        title = f"{step}: {label}{mock}{warn}"
        rng = ctx.rng("figure")
        ylabel = f"absolute {cfg.y} from the parallax" if cfg.parallax else cfg.y
        ctx.save_figure(relation_figure(fit, x, y, flag[shown], truth, title, f"{cfg.x} (days)", ylabel, rng),
                        "relation", caption=f"{label}: {ylabel} against {cfg.x} for the {shown.sum()} scored stars"
                        + (" with a positive parallax (all scored stars enter the fit)" if cfg.parallax else "") + ", "
                        "with the posterior-median relation, its 68 % band (dark), ± the intrinsic scatter (light) "
                        "and the flagged stars circled in red" + ("; colours are the mock's true populations."
                                                                 if truth is not None else "."))
        ctx.save_figure(residual_figure(fit, x, res["resid"][shown], flag[shown], truth, title, f"{cfg.x} (days)"),
                        "residuals", caption=f"Residuals of {label} against {cfg.x}; lines at ± 1 and ± 3 intrinsic "
                        "scatters. Type II and anomalous Cepheids sit below (fainter), blends above.")
        shown_params = fit.param_names[:CORNER_PARAMS]
        labels = [CORNER_LABELS[n] for n in shown_params]
        ctx.save_figure(corner_figure(fit.samples[:, :len(shown_params)], labels,
                                      f"{step}: posterior ({len(fit.samples)} draws){warn}"),
                        "corner", caption=f"Posterior of {label}: a (zero-point at {cfg.x} = {cfg.pivot:g}), b "
                        "(slope), ln sigma_int" + (" and the outlier fraction P_b (the outlier component's mean and "
                                                   "width are in the manifest)" if cfg.likelihood == "mixture" else "")
                        + "; dashed lines 16th/84th percentiles.")
