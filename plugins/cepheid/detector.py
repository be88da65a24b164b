"""``cepheid.leavitt_mcmc``: a Leavitt law fitted by MCMC; stars far off it are the anomalies.

The detector contract of ``toolkit.core``: ``fit(sample, ctx)`` samples the
posterior on the run's seeded training sample (every row in memory unless
``max_train_rows``) and returns a ``FittedLeavitt`` (fitted.py) that scores
any chunk, adds the per-row residual columns, draws the figures and saves
itself as ``posterior.npz`` plus JSON state; ``load`` rebuilds it from a
model folder. The runner (either executor) or ``Detector.detect`` flags with
``threshold`` over all scores. The summary holds the posterior (with 68 and
95 % intervals), the lab's least-squares line and the autocorrelation times.

A chain shorter than ``autocorr_multiple`` autocorrelation times is an error
in ``fit`` (``on_unconverged: error``, the default) or a loud warning marked in
the manifest and figures (``warn``); never a silent result.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from toolkit.core import Config, Detector, Expression, Field, RecipeError, StageError, Table, ThresholdConfig
from toolkit.core import RunContext

from .fit import LeavittFit, Sampling
from .fitted import FittedLeavitt, relation_text, selected_rows

DEFAULT_THRESHOLDS = {"sigma": {"method": "fixed", "value": 3.0}, "outlier_probability": {"method": "fixed",
                                                                                          "value": 0.5}}


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
    max_train_rows: int | None = Field(None, ge=10, description="fit on at most N rows of the run's sample, chosen "
                                       "by a seeded hash of the row id (null: every row in memory, the executor's "
                                       "cap when streaming); every row is scored")

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


class LeavittMCMC(Detector):
    name = "cepheid.leavitt_mcmc"
    summary = ("Leavitt law y = a + b (log P - pivot) with intrinsic scatter and an outlier mixture (Hogg, Bovy & "
               "Lang 2010), sampled with emcee; score = |residual| in total sigmas, or the outlier probability.")
    Config = LeavittConfig

    def selected(self, table: Table) -> np.ndarray:
        """The rows the ``rows`` expression chooses (all rows without one)."""
        return selected_rows(table, self.config.rows, f"detector {self.name}")

    def fit(self, sample: Table, ctx: RunContext) -> FittedLeavitt:
        """Fit the relation on the sample's selected rows with finite inputs; bad input or (by default) an
        unconverged chain is a StageError."""
        cfg = self.config
        step = ctx.step_name("leavitt")
        plx_cols = [cfg.parallax.column, cfg.parallax.error] if cfg.parallax else []
        sample.require([cfg.x, cfg.y] + ([cfg.y_error] if cfg.y_error else []) + plx_cols, self.name)
        sel = self.selected(sample)
        x, y = sample.array(cfg.x), sample.array(cfg.y)
        err = sample.array(cfg.y_error) if cfg.y_error else None
        ok = sel & np.isfinite(x) & np.isfinite(y)
        if err is not None:
            ok &= np.isfinite(err) & (err >= 0)
        plx = plx_err = None
        if cfg.parallax:
            plx = sample.array(cfg.parallax.column) - cfg.parallax.zero_point
            plx_err = sample.array(cfg.parallax.error)
            ok &= np.isfinite(plx) & np.isfinite(plx_err) & (plx_err > 0)
        n = int(ok.sum())
        where = f" chosen by rows '{cfg.rows}'" if cfg.rows else ""
        of = sample.meta.get("sample_of", len(sample))
        in_table = f"{len(sample)} in the table" if of == len(sample) else \
            f"{len(sample)} in the training sample of {of} rows (max_train_rows)"
        if n < cfg.min_rows:
            raise StageError(
                f"detector '{step}' ({self.name}): too few stars for the fit: {n} usable of {int(sel.sum())} "
                f"rows{where} ({in_table}; usable = finite {cfg.x}, {cfg.y}"
                f"{', ' + cfg.y_error if cfg.y_error else ''}{''.join(', ' + c for c in plx_cols)}); at least "
                f"{cfg.min_rows} are needed.")
        if np.ptp(x[ok]) == 0:
            raise StageError(f"detector '{step}' ({self.name}): all {n} usable stars have the same {cfg.x} "
                             f"({x[ok][0]:g}); a period-luminosity slope cannot be fitted.")
        if np.ptp(y[ok]) == 0:
            raise StageError(f"detector '{step}' ({self.name}): all {n} usable stars have the same {cfg.y}; "
                             "nothing to fit (a fill value?).")
        sampling = Sampling(cfg.n_walkers, cfg.n_steps, cfg.burn, cfg.autocorr_multiple)
        units = {c: sample.info[c].unit if c in sample.info else None
                 for c in (cfg.x, cfg.y, cfg.y_error, *plx_cols) if c}
        parallax = {"column": cfg.parallax.column, "error_column": cfg.parallax.error,
                    "zero_point": cfg.parallax.zero_point} if cfg.parallax else None
        t0 = time.perf_counter()
        fit = LeavittFit.fit(x[ok], y[ok], None if err is None else err[ok], x_column=cfg.x, y_column=cfg.y,
                             y_error_column=cfg.y_error, pivot=cfg.pivot, likelihood=cfg.likelihood,
                             sampling=sampling, seed=ctx.step_seed("emcee"), score_kind=cfg.score, units=units,
                             plx=None if plx is None else plx[ok], plx_err=None if plx is None else plx_err[ok],
                             parallax=parallax)
        fit_seconds = time.perf_counter() - t0
        problem = self.convergence(fit, step)
        if problem and cfg.on_unconverged == "error":
            raise StageError(problem)
        if problem:
            ctx.warn(problem)
        ctx.record("converged", fit.converged)
        return FittedLeavitt(fit, step=step, rows=cfg.rows, label=cfg.label, component=self.name,
                             summary=self._summary(fit, fit_seconds, len(sample), problem), problem=problem)

    def _summary(self, fit: LeavittFit, fit_seconds: float, n_sample: int, problem: str | None) -> dict:
        cfg = self.config
        summary = {
            "relation": relation_text(fit), "label": cfg.label, "likelihood": cfg.likelihood, "rows": cfg.rows,
            "space": fit.info["space"], "n_sample": n_sample, "n_fit": fit.info["n_fit"],
            "posterior": fit.posterior_summary(),
            "least_squares": {"note": "the lab's fit: no intrinsic scatter, no outlier model",
                              **fit.info["least_squares"]},
            "mcmc": {k: fit.info[k] for k in ("n_walkers", "n_steps", "burn", "thin", "acceptance_fraction",
                                              "chain_over_tau", "autocorr_multiple")}
            | {"autocorr_time": dict(zip(fit.param_names, np.round(fit.autocorr_time, 2).tolist())),
               "n_draws": int(len(fit.samples)), "sampler": f"emcee {fit.info['emcee_version']}, DE + snooker moves"},
            "converged": fit.converged, "fit_seconds": round(fit_seconds, 3),
        }
        if problem:
            summary["WARNING"] = problem
        return summary

    @classmethod
    def load(cls, files, state: dict) -> FittedLeavitt:
        """The fit saved by ``FittedLeavitt.save`` (posterior.npz read through ``files``, sha256-checked by core)."""
        return FittedLeavitt.from_saved(files, state)

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
