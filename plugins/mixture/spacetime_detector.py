"""``mixture.spacetime``: groups with ages (Chronostar's SphereSpaceTimeComponent) plus a background.

A separate detector rather than an option of mixture.gaussian, because it
needs its own inputs (exactly the six XYZUVW features, an orbit model, an age
grid) and reports different parameters (ages, birth dispersions). Initial
memberships come from an internal mixture.gaussian fit (``init: gaussian``,
the number of groups chosen by BIC there) or from probability columns a
previous step wrote (``init: memberships``, background column first).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.core import Detection, Detector, Field, RecipeError

from .blas_threads import single_blas_thread
from .gaussian_detector import GaussianMixtureConfig, GaussianMixtureDetector
from .membership_columns import membership_columns, save_json
from .mixture_figures import DEFAULT_PAIRS, age_figure, pair_figure
from .mixture_inputs import CARTESIAN, MixtureInputConfig, read_inputs
from .spacetime_mixture import SpaceTimeMixture
from .synth_association import EpicyclicSpec


class SpaceTimeConfig(MixtureInputConfig):
    init: Literal["gaussian", "memberships"] = Field("gaussian", description=(
        "gaussian: run the XD Gaussian mixture (BIC growth) first; memberships: use init_memberships columns"))
    init_memberships: list[str] = Field(default_factory=list, description=(
        "probability columns, background first (e.g. [p_background, p_comp1]) for init: memberships; "
        "probability in components not listed is added to the background"))
    max_components: int = Field(4, ge=2, description="BIC growth limit for init: gaussian")
    n_components: int | None = Field(None, ge=2, description="fixed number of components (incl. background) for init: gaussian")
    age_min: float = Field(0.0, ge=0, description="youngest age on the grid (Myr)")
    age_max: float = Field(100.0, gt=0, description="oldest age on the grid (Myr)")
    age_step: float = Field(1.0, gt=0, description="grid step (Myr); the best grid age is then refined")
    epicyclic: EpicyclicSpec = Field(default_factory=EpicyclicSpec, description="orbit model (Oort A, B, nu, solar motion)")
    max_iter: int = Field(15, ge=1, description="EM iterations")
    tol: float = Field(1e-3, gt=0, description="stop when no membership probability moves more than this")
    min_membership: float = Field(0.5, ge=0, le=1, description="flag a star when its most probable group has at least this probability")
    column_prefix: str = Field("st_", description="prefix of the output columns (st_p_comp1, st_p_background, st_member_of)")


class SpaceTimeDetector(Detector):
    name = "mixture.spacetime"
    summary = ("Chronostar space-time mixture: groups as spherical birth Gaussians traced forward "
               "(epicyclic) with fitted ages, plus a background; memberships, ages, score = -ln L.")
    Config = SpaceTimeConfig

    @single_blas_thread
    def detect(self, table, ctx) -> Detection:
        cfg = self.config
        if list(cfg.features) != CARTESIAN:
            raise RecipeError(f"{self.name}: features must be the heliocentric Galactic {CARTESIAN} "
                              f"(from gaia.cartesian), got {cfg.features}")
        if cfg.age_max <= cfg.age_min:
            raise RecipeError(f"{self.name}: age_max ({cfg.age_max}) must exceed age_min ({cfg.age_min})")
        inputs = read_inputs(table, cfg, self.name)
        gauss_summary = None
        if cfg.init == "memberships":
            if len(cfg.init_memberships) < 2:
                raise RecipeError(f"{self.name}: init: memberships needs at least two columns "
                                  "(background first, then each group)")
            table.require(cfg.init_memberships, self.name)
            R = np.clip(np.nan_to_num(np.column_stack([table.array(c) for c in cfg.init_memberships])[inputs.valid]), 0, 1)
            # probability in components not listed (other groups) is folded into the background
            R[:, 0] += np.clip(1.0 - R.sum(axis=1), 0, None)
            R += 1e-6
        else:
            gcfg = GaussianMixtureConfig(features=cfg.features, covariance=cfg.covariance,
                                         covariance_prefix=cfg.covariance_prefix, max_components=cfg.max_components,
                                         n_components=cfg.n_components)
            gdet = GaussianMixtureDetector(gcfg)
            model = gdet.build(ctx.step_seed("xd"))
            model.fit(inputs.X, inputs.S)
            st = model.state_
            bg = model.background_index(st)
            R = model.predict_proba(inputs.X, inputs.S)[:, [bg] + [k for k in range(st.k) if k != bg]]
            gauss_summary = {"n_components": int(st.k), "bic_path": model.bic_path}
            if st.k < 2:
                ctx.warn("the Gaussian mixture found no group beyond the background (BIC chose 1 component); "
                         "fitting one space-time group anyway from the densest clump")
                seed = model._seed_clump(inputs.X, st, model.predict_proba(inputs.X, inputs.S))
                if seed is None:
                    raise RecipeError(f"{self.name}: too few stars to seed a group")
                st2 = model._em(inputs.X, inputs.S, seed)
                bg = model.background_index(st2)
                model.state_ = st2
                R = model.predict_proba(inputs.X, inputs.S)[:, [bg] + [k for k in range(st2.k) if k != bg]]
        R = R / R.sum(axis=1, keepdims=True)
        tracer = cfg.epicyclic.tracer()
        ages = np.arange(cfg.age_min, cfg.age_max + 0.5 * cfg.age_step, cfg.age_step)
        mix = SpaceTimeMixture(tracer, ages, max_iter=cfg.max_iter, tol=cfg.tol).fit(inputs.X, inputs.S, R)
        resp = mix.predict_proba(inputs.X, inputs.S)
        # groups by decreasing weight after the background
        order = [0] + [int(k) + 1 for k in np.argsort(-mix.weights_[1:], kind="stable")]
        cols, member_of, flag = membership_columns(resp, inputs.valid, order, cfg.min_membership,
                                                   cfg.column_prefix, "space-time mixture")
        score = np.full(len(table), np.nan)
        score[inputs.valid] = -mix.score_samples(inputs.X, inputs.S)

        groups, profiles = [], {}
        for rank, k in enumerate(order[1:], start=1):
            comp, prof = mix.groups_[k - 1], mix.profiles_[k - 1]
            d = comp.to_dict(tracer)
            d.update(name=f"group {rank}", weight=float(mix.weights_[k]), n_members=int((member_of == rank).sum()),
                     age_interval_1sigma=prof.get("age_interval"))
            groups.append(d)
            profiles[f"group {rank}"] = prof
        bg_mean, bg_cov = mix.background_
        summary = {"groups": [{k: (np.round(v, 4).tolist() if isinstance(v, list) and k != "current_covariance" else v)
                               for k, v in g.items() if k != "current_covariance"} for g in groups],
                   "ages_myr": {g["name"]: round(g["age"], 2) for g in groups},
                   "background": {"weight": float(mix.weights_[0]), "mean": bg_mean.round(3).tolist(),
                                  "std": np.sqrt(np.diag(bg_cov)).round(3).tolist()},
                   "log_likelihood": mix.log_likelihood_, "bic": mix.bic(len(inputs.X)), "iterations": mix.n_iter_,
                   "n_members": int(flag.sum()), "min_membership": cfg.min_membership,
                   "epicyclic": cfg.epicyclic.model_dump(), "regularised_covariances": inputs.regularised,
                   "unscored_rows": int((~inputs.valid).sum()), "initial_gaussian_mixture": gauss_summary}
        summary["model_file"] = save_json(ctx, "mixture_spacetime.json",
                                          {"groups": groups, "profiles": profiles,
                                           "background": {"mean": bg_mean.tolist(), "covariance": bg_cov.tolist(),
                                                          "weight": float(mix.weights_[0])},
                                           "epicyclic": cfg.epicyclic.model_dump()})
        ctx.record("ages_myr", summary["ages_myr"])
        truth = {a["name"]: a["age"] for a in table.meta.get("truth_associations", [])}
        ctx.save_figure(age_figure(profiles, truth), "age_fit",
                        caption="Profile ln-likelihood of each group's age (birth mean and dispersions refitted "
                                "at every age); dotted: fitted age, dashed: true age of a mock.")
        current = [mix.groups_[k - 1].current(tracer) for k in order[1:]]
        means = [bg_mean] + [mean for mean, _ in current]
        covs = [bg_cov] + [cov for _, cov in current]
        ctx.save_figure(pair_figure(inputs.X, member_of[inputs.valid], cfg.features, DEFAULT_PAIRS, means, covs,
                                    ["background"] + [f"group {r} ({g['age']:.1f} Myr)" for r, g in enumerate(groups, 1)],
                                    "Space-time mixture: present-day group ellipses (2 sigma)"),
                        "pairs", caption="XYZUVW pairs coloured by most probable component, with each group's "
                                         "birth Gaussian traced to today (2-sigma ellipses).")
        return Detection(score=score, flag=flag, columns=cols, summary=summary,
                         score_description="-ln likelihood under the fitted space-time mixture")
