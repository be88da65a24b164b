"""``mixture.gaussian``: Chronostar-style XD Gaussian mixture as a detector.

Fits the extreme-deconvolution mixture (xd_mixture.py) to every scorable row,
the number of components chosen by BIC growth unless given. Outputs membership
probabilities per component, the most probable component, and the anomaly
score = -ln p(x_i) under the fitted mixture convolved with the star's own
errors (higher = less like any component). Flag: the star's most probable
component is a group (not the background) with probability >= min_membership,
i.e. the flag marks candidate *members*, the interesting stars of a moving-group
search (members score *low*: they sit in a dense component).

Detector contract: ``fit`` runs EM on the run's training sample (every row in
memory, a seeded hash sample when streaming; ``max_train_rows`` caps it) and
returns a ``FittedGaussianMixture`` whose weights, means and covariances (in
``mixture.npz``) score and assign any chunk row by row, so a streamed run and
``toolkit score`` reproduce the in-memory numbers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pydantic import model_validator
from scipy.special import logsumexp

from toolkit.core import Columns, Detector, Field, FittedDetector, RecipeError, Table
from toolkit.core import RunContext

from .blas_threads import single_blas_thread
from .membership_columns import group_order, membership_columns
from .mixture_figures import DEFAULT_PAIRS, bic_figure, pair_figure
from .mixture_inputs import MixtureInputConfig, read_inputs
from .xd_mixture import MixtureState, XDGaussianMixture, component_log_densities

STATE_VERSION = 1
MODEL_ARRAYS = "mixture.npz"


class GaussianMixtureConfig(MixtureInputConfig):
    n_components: int | None = Field(None, ge=1, description=(
        "number of fitted components (a fitted background counts, a fixed one does not); null = grow by BIC"))
    max_components: int = Field(6, ge=1, description="stop BIC growth here")
    background: Literal["fitted", "fixed"] = Field("fitted", description=(
        "fitted: the broadest fitted component is the background; fixed: an extra wide Gaussian "
        "(background_mean/background_covariance, default the sample mean and covariance) with only its weight fitted"))
    background_mean: list[float] | None = Field(None, description="fixed background mean (feature units)")
    background_covariance: list[list[float]] | None = Field(None, description="fixed background covariance")
    init: Literal["growth", "kmeans", "memberships"] = Field("growth", description=(
        "growth (1 component, then split/seed/k-means while BIC improves), kmeans (needs n_components), "
        "memberships (init_memberships columns)"))
    init_memberships: list[str] = Field(default_factory=list, description=(
        "probability columns (one per component, e.g. a previous step's p_comp1, p_background) for init: memberships"))
    covariance_floor: float = Field(1e-6, ge=0, description="added to component variances, x the data variance per feature")
    tol: float = Field(1e-6, gt=0, description="EM stops when the mean ln-likelihood per star improves less than this")
    max_iter: int = Field(500, ge=1, description="EM iterations per fit")
    min_membership: float = Field(0.5, ge=0, le=1, description="flag a star when its most probable group has at least this probability")
    max_train_rows: int | None = Field(None, ge=10, description=(
        "fit on at most N rows, chosen by a seeded hash of the row id (null: every row in memory, the executor's "
        "cap when streaming); every row is scored"))
    max_fit_rows: int | None = Field(None, ge=10, description="old name of max_train_rows (still accepted)")
    save_model: bool = Field(True, description="save the mixture under models/<step>/ (model.json + mixture.npz)")
    column_prefix: str = Field("", description="prefix for the output columns (p_comp1, p_background, member_of)")
    pairs: list[list[str]] = Field(default_factory=lambda: [list(p) for p in DEFAULT_PAIRS],
                                   description="feature pairs to plot")

    @model_validator(mode="after")
    def _old_cap_name(self):
        if self.max_fit_rows is not None:
            if self.max_train_rows is not None and self.max_train_rows != self.max_fit_rows:
                raise ValueError("give max_train_rows only (max_fit_rows is its old name), not both")
            self.max_train_rows = self.max_fit_rows
        return self


class GaussianMixtureDetector(Detector):
    name = "mixture.gaussian"
    summary = ("Extreme-deconvolution Gaussian mixture with a broad background and BIC growth; membership "
               "probabilities per component, score = -ln likelihood, flag = group member.")
    Config = GaussianMixtureConfig

    def build(self, seed: int) -> XDGaussianMixture:
        cfg = self.config
        if cfg.init == "kmeans" and cfg.n_components is None:
            raise RecipeError(f"{self.name}: init: kmeans needs n_components")
        if cfg.init == "memberships" and not cfg.init_memberships:
            raise RecipeError(f"{self.name}: init: memberships needs init_memberships (probability columns)")
        return XDGaussianMixture(
            n_components=cfg.n_components, max_components=cfg.max_components, background=cfg.background,
            background_mean=None if cfg.background_mean is None else np.asarray(cfg.background_mean, float),
            background_cov=None if cfg.background_covariance is None else np.asarray(cfg.background_covariance, float),
            covariance_floor=cfg.covariance_floor, tol=cfg.tol, max_iter=cfg.max_iter, random_state=seed)

    @single_blas_thread
    def fit(self, sample: Table, ctx: RunContext) -> "FittedGaussianMixture":
        """XD fit (BIC growth unless n_components) on the sample's scorable rows."""
        cfg = self.config
        inputs = read_inputs(sample, cfg, self.name)
        model = self.build(ctx.step_seed("xd"))
        resp_init = None
        if cfg.init == "memberships":
            sample.require(cfg.init_memberships, self.name)
            R = np.column_stack([sample.array(c) for c in cfg.init_memberships])[inputs.valid]
            R = np.nan_to_num(R, nan=0.0) + 1e-6
            resp_init = R / R.sum(axis=1, keepdims=True)
        model.fit(inputs.X, inputs.S, resp_init=resp_init)
        state = model.state_
        order = group_order(state.weights, model.background_index(state))
        kept = [p for p in model.bic_path if p["accepted"]]
        fit_info = {"bic": float(model.bic(state, len(inputs.X))), "bic_path": model.bic_path,
                    "bic_by_components": {str(p["n_components"]): round(p["bic"], 2) for p in kept},
                    "fit_rows": int(len(inputs.X)), "converged": bool(state.converged),
                    "log_likelihood": float(state.log_likelihood), "iterations": int(state.n_iter)}
        fitted = FittedGaussianMixture(
            # scoring reads the covariances the fit used (never another kind found by `auto` in a new table)
            features=list(cfg.features), covariance=inputs.covariance_source, covariance_prefix=cfg.covariance_prefix,
            weights=state.weights[order], means=state.means[order], covs=state.covs[order],
            fixed=state.fixed[order], min_membership=cfg.min_membership, prefix=cfg.column_prefix,
            step=ctx.step_name("gaussian"), pairs=[list(p) for p in cfg.pairs], background=cfg.background,
            fit_info=fit_info)
        fitted.summarise(sample, inputs)
        ctx.record("regularised_covariances", inputs.regularised)
        ctx.record("unscored_rows", int((~inputs.valid).sum()))
        if inputs.regularised:
            ctx.warn(f"{inputs.regularised} star covariance(s) were not positive semi-definite or not finite; "
                     "repaired (negative eigenvalues clipped to 0)")
        return fitted

    @classmethod
    def load(cls, files, state: dict) -> "FittedGaussianMixture":
        """The mixture that ``FittedGaussianMixture.save`` wrote (mixture.npz, sha256-checked by core)."""
        return FittedGaussianMixture.from_saved(files, state)


class FittedGaussianMixture(FittedDetector):
    """The XD mixture, background first then groups by weight: scores and memberships of any chunk."""

    ARRAYS = ("weights", "means", "covs", "fixed")
    WHAT = "XD Gaussian mixture"

    def __init__(self, *, features, covariance, covariance_prefix, weights, means, covs, fixed, min_membership,
                 prefix, step, pairs, background, fit_info, summary=None) -> None:
        self.features, self.covariance, self.covariance_prefix = list(features), covariance, covariance_prefix
        self.weights, self.means = np.asarray(weights, float), np.asarray(means, float)
        self.covs, self.fixed = np.asarray(covs, float), np.asarray(fixed, bool)
        self.min_membership, self.prefix, self.step = float(min_membership), prefix, step
        self.pairs, self.background, self.fit_info = [list(p) for p in pairs], background, dict(fit_info)
        self.summary = dict(summary or {})
        self.score_description = ("-ln likelihood under the fitted XD Gaussian mixture (each star's covariance "
                                  "added to every component)")
        self._cache = None

    @property
    def state(self) -> MixtureState:
        return MixtureState(self.weights, self.means, self.covs, self.fixed)

    @property
    def names(self) -> list[str]:
        return ["background"] + [f"group {k}" for k in range(1, len(self.weights))]

    def _evaluate(self, table: Table):
        """(inputs, ln p, responsibilities) of the table's scorable rows; the last table's result is reused."""
        if self._cache is not None and self._cache[0] is table:
            return self._cache[1]
        cfg = MixtureInputConfig(features=self.features, covariance=self.covariance,
                                 covariance_prefix=self.covariance_prefix)
        inputs = read_inputs(table, cfg, "mixture.gaussian", require_rows=False)
        logd = component_log_densities(inputs.X, inputs.S, self.state)
        logp = logsumexp(logd, axis=1) if len(inputs.X) else np.empty(0)
        resp = np.exp(logd - logp[:, None])
        self._cache = (table, (inputs, logp, resp))
        return inputs, logp, resp

    def _members(self, table: Table):
        inputs, _, resp = self._evaluate(table)
        return membership_columns(resp, inputs.valid, list(range(len(self.weights))), self.min_membership,
                                  self.prefix, self.WHAT)

    def assign(self, table: Table) -> Columns:
        """p_comp<k>, p_background and member_of (0 = background, -1 = not scored)."""
        return self._members(table)[0]

    def score(self, table: Table) -> np.ndarray:
        inputs, logp, _ = self._evaluate(table)
        score = np.full(len(table), np.nan)
        score[inputs.valid] = -logp
        return score

    def flag(self, table: Table) -> np.ndarray:
        """Most probable component is a group with probability >= min_membership."""
        return self._members(table)[2]

    def summarise(self, sample: Table, inputs) -> None:
        """The manifest summary; member counts are over the training sample (every row in memory)."""
        _, member_of, flag = self._members(sample)
        components = [{"name": name, "weight": float(self.weights[k]),
                       "mean": dict(zip(self.features, self.means[k].round(4).tolist())),
                       "std": dict(zip(self.features, np.sqrt(np.diag(self.covs[k])).round(4).tolist())),
                       "n_members": int((member_of == k).sum()), "fixed": bool(self.fixed[k])}
                      for k, name in enumerate(self.names)]
        info = self.fit_info
        self.summary = {"n_components": len(self.weights), "n_groups": len(self.weights) - 1,
                        "components": components, "bic": info["bic"], "bic_path": info["bic_path"],
                        "bic_by_components": info["bic_by_components"], "n_members": int(flag.sum()),
                        "min_membership": self.min_membership, "covariance_source": inputs.covariance_source,
                        "regularised_covariances": inputs.regularised, "unscored_rows": int((~inputs.valid).sum()),
                        "fit_rows": info["fit_rows"], "converged": info["converged"],
                        "counted_on": f"training sample ({len(sample)} of "
                                      f"{sample.meta.get('sample_of', len(sample))} rows)"}

    def save(self, files) -> dict:
        files.write_arrays(MODEL_ARRAYS, {a: getattr(self, a) for a in self.ARRAYS})
        return {"version": STATE_VERSION, "features": self.features, "covariance": self.covariance,
                "covariance_prefix": self.covariance_prefix, "min_membership": self.min_membership,
                "prefix": self.prefix, "step": self.step, "pairs": self.pairs, "background": self.background,
                "fit_info": self.fit_info, "summary": self.summary}

    @classmethod
    def from_saved(cls, files, state: dict) -> "FittedGaussianMixture":
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"mixture.gaussian state version {state.get('version')!r}; this plugin reads "
                             f"{STATE_VERSION}")
        arrays = files.read_arrays(MODEL_ARRAYS)
        return cls(**{a: arrays[a] for a in cls.ARRAYS},
                   **{k: state[k] for k in ("features", "covariance", "covariance_prefix", "min_membership",
                                            "prefix", "step", "pairs", "background", "fit_info", "summary")})

    def figures(self, table: Table, ctx: RunContext) -> None:
        """Feature pairs coloured by most probable component with the 2-sigma ellipses; the BIC path."""
        inputs, _, _ = self._evaluate(table)
        member_of = self._members(table)[1]
        ctx.save_figure(pair_figure(inputs.X, member_of[inputs.valid], self.features, [tuple(p) for p in self.pairs],
                                    self.means, self.covs, self.names,
                                    "XD mixture: colour = most probable component, 2-sigma intrinsic ellipses"),
                        "pairs", caption="Feature pairs coloured by most probable component, with each "
                                         "component's 2-sigma (intrinsic, deconvolved) ellipse.")
        if len(self.fit_info["bic_path"]) > 1:
            ctx.save_figure(bic_figure(self.fit_info["bic_path"]), "bic",
                            caption="BIC of every mixture tried against its number of components (lower is better).")
