"""``mixture.gaussian``: Chronostar-style XD Gaussian mixture as a detector.

Fits the extreme-deconvolution mixture (xd_mixture.py) to every scorable row,
the number of components chosen by BIC growth unless given. Outputs membership
probabilities per component, the most probable component, and the anomaly
score = -ln p(x_i) under the fitted mixture convolved with the star's own
errors (higher = less like any component). Flag: the star's most probable
component is a group (not the background) with probability >= min_membership,
i.e. the flag marks candidate *members*, the interesting stars of a moving-group
search (members score *low*: they sit in a dense component).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.core import Detection, Detector, Field, RecipeError

from .blas_threads import single_blas_thread
from .membership_columns import group_order, membership_columns, save_json
from .mixture_figures import DEFAULT_PAIRS, bic_figure, pair_figure
from .mixture_inputs import MixtureInputConfig, read_inputs
from .xd_mixture import XDGaussianMixture


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
    max_fit_rows: int | None = Field(None, ge=10, description="fit on a random subset of at most this many rows, score all")
    column_prefix: str = Field("", description="prefix for the output columns (p_comp1, p_background, member_of)")
    pairs: list[list[str]] = Field(default_factory=lambda: [list(p) for p in DEFAULT_PAIRS],
                                   description="feature pairs to plot")


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
    def detect(self, table, ctx) -> Detection:
        cfg = self.config
        inputs = read_inputs(table, cfg, self.name)
        model = self.build(ctx.step_seed("xd"))
        fit_rows = np.arange(len(inputs.X))
        if cfg.max_fit_rows and len(fit_rows) > cfg.max_fit_rows:
            fit_rows = np.sort(ctx.rng("subset").choice(fit_rows, cfg.max_fit_rows, replace=False))
        resp_init = None
        if cfg.init == "memberships":
            table.require(cfg.init_memberships, self.name)
            R = np.column_stack([table.array(c) for c in cfg.init_memberships])[inputs.valid]
            R = np.nan_to_num(R, nan=0.0)[fit_rows] + 1e-6
            resp_init = R / R.sum(axis=1, keepdims=True)
        model.fit(inputs.X[fit_rows], inputs.S[fit_rows], resp_init=resp_init)
        state = model.state_
        resp = model.predict_proba(inputs.X, inputs.S)
        loglike = model.score_samples(inputs.X, inputs.S)
        order = group_order(state.weights, model.background_index(state))
        cols, member_of, flag = membership_columns(resp, inputs.valid, order, cfg.min_membership,
                                                   cfg.column_prefix, "XD Gaussian mixture")
        score = np.full(len(table), np.nan)
        score[inputs.valid] = -loglike

        names = ["background"] + [f"group {k}" for k in range(1, len(order))]
        components = []
        for rank, k in enumerate(order):
            components.append({"name": names[rank], "weight": float(state.weights[k]),
                               "mean": dict(zip(cfg.features, state.means[k].round(4).tolist())),
                               "std": dict(zip(cfg.features, np.sqrt(np.diag(state.covs[k])).round(4).tolist())),
                               "n_members": int((member_of == rank).sum()), "fixed": bool(state.fixed[k])})
        payload = model.to_dict(cfg.features)
        payload["order"] = order
        artifact = save_json(ctx, "mixture_gaussian.json", payload)
        kept = [p for p in model.bic_path if p["accepted"]]
        summary = {"n_components": int(state.k), "n_groups": int(state.k - 1), "components": components,
                   "bic": float(model.bic(state, len(fit_rows))), "bic_path": model.bic_path,
                   "bic_by_components": {str(p["n_components"]): round(p["bic"], 2) for p in kept},
                   "n_members": int(flag.sum()), "min_membership": cfg.min_membership,
                   "covariance_source": inputs.covariance_source, "regularised_covariances": inputs.regularised,
                   "unscored_rows": int((~inputs.valid).sum()), "fit_rows": int(len(fit_rows)),
                   "converged": bool(state.converged), "model_file": artifact}
        ctx.record("regularised_covariances", inputs.regularised)
        ctx.record("unscored_rows", int((~inputs.valid).sum()))
        if inputs.regularised:
            ctx.warn(f"{inputs.regularised} star covariance(s) were not positive semi-definite or not finite; "
                     "repaired (negative eigenvalues clipped to 0)")
        labels = member_of[inputs.valid]
        ctx.save_figure(pair_figure(inputs.X, labels, cfg.features, [tuple(p) for p in cfg.pairs],
                                    state.means[order], state.covs[order], names,
                                    "XD mixture: colour = most probable component, 2-sigma intrinsic ellipses"),
                        "pairs", caption="Feature pairs coloured by most probable component, with each "
                                         "component's 2-sigma (intrinsic, deconvolved) ellipse.")
        if len(model.bic_path) > 1:
            ctx.save_figure(bic_figure(model.bic_path), "bic",
                            caption="BIC of every mixture tried against its number of components (lower is better).")
        return Detection(score=score, flag=flag, columns=cols, summary=summary,
                         score_description="-ln likelihood under the fitted XD Gaussian mixture "
                                           "(each star's covariance added to every component)")
