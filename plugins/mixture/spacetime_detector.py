"""``mixture.spacetime``: groups with ages (Chronostar's SphereSpaceTimeComponent) plus a background.

A separate detector rather than an option of mixture.gaussian, because it
needs its own inputs (exactly the six XYZUVW features, an orbit model, an age
grid) and reports different parameters (ages, birth dispersions). Initial
memberships come from

* ``init: growth`` - Chronostar's driver: groups added one at a time while the
  BIC of the space-time mixture improves, up to ``max_groups`` (spacetime_growth.py);
* ``init: gaussian`` - an internal mixture.gaussian fit (BIC chooses K there);
* ``init: memberships`` - probability columns a previous step wrote (background
  first; glob patterns such as ``p_comp*`` expand to every group column).

``region`` (an expression) names the rows the groups are fitted to - Chronostar fits a
box around the group, not the whole 100 pc sample; ``background: gaussian | kde``
models the field from every row with a measured RV (field_density.py), with only its
amplitude fitted in the region. Every group is refined (ages fitted); ``select``
names the groups whose members are flagged: all, the youngest, or those containing
given stars.

Detector contract: ``fit`` does all of the above on the run's training sample
(every row in memory, a seeded hash sample when streamed; ``max_train_rows``)
and returns a ``FittedSpaceTime`` (spacetime_fitted.py) that scores, assigns and
flags any chunk row by row and saves itself as ``mixture.npz`` + JSON.
"""

from __future__ import annotations

import fnmatch
from typing import Literal

import numpy as np

from toolkit.core import Detector, Expression, Field, RecipeError, StageError, Table
from toolkit.core import RunContext

from .blas_threads import single_blas_thread
from .gaussian_detector import GaussianMixtureConfig, GaussianMixtureDetector
from .mixture_inputs import CARTESIAN, MixtureInputConfig, read_inputs
from .field_density import field_log_density
from .frames import CARTESIAN_NAMES
from .spacetime_growth import grow_spacetime
from .spacetime_fitted import FittedSpaceTime
from .spacetime_mixture import SpaceTimeMixture
from .synth_association import EpicyclicSpec


class SpaceTimeConfig(MixtureInputConfig):
    init: Literal["gaussian", "memberships", "growth"] = Field("gaussian", description=(
        "gaussian: run the XD Gaussian mixture (BIC growth) first; memberships: use init_memberships columns; "
        "growth: add space-time groups while the BIC improves (Chronostar's driver), up to max_groups"))
    init_memberships: list[str] = Field(default_factory=list, description=(
        "probability columns, background first (e.g. [p_background, 'p_comp*']; glob patterns expand to the "
        "matching columns in natural order) for init: memberships (or to start init: growth from); "
        "probability in components not listed is added to the background"))
    max_components: int = Field(4, ge=2, description="BIC growth limit for init: gaussian")
    max_groups: int = Field(6, ge=1, description="cap on the number of groups for init: growth")
    region: str | None = Field(None, description=(
        "expression selecting the rows the mixture is fitted to (e.g. Chronostar's box around a group); "
        "other rows get no membership and a NaN score; null = every scorable row"))
    background: Literal["fitted", "gaussian", "kde"] = Field("fitted", description=(
        "fitted: a free Gaussian in the fitted rows, updated with the groups; gaussian: one broad Gaussian fitted "
        "to the whole field (Chronostar), only its amplitude fitted with the groups; kde: the field's kernel "
        "density at each star (Crundall et al. 2019), amplitude fitted"))
    field: str | None = Field(None, description=(
        "expression selecting the field rows for background: gaussian|kde; null = every scorable row without an "
        "imputed RV (rv_imputed false, when that column exists)"))
    field_max_rows: int = Field(20000, ge=100, description="rows (a seeded sample) the field Gaussian is fitted to")
    select: Literal["all", "youngest", "containing"] = Field("all", description=(
        "groups whose members are flagged: all, the youngest, or those holding most of the `containing` stars"))
    containing: list[int] = Field(default_factory=list, description="ids (id column) of stars for select: containing")
    n_components: int | None = Field(None, ge=2, description="fixed number of components (incl. background) for init: gaussian")
    age_min: float = Field(0.0, ge=0, description="youngest age on the grid (Myr)")
    age_max: float = Field(100.0, gt=0, description="oldest age on the grid (Myr)")
    age_step: float = Field(1.0, gt=0, description="grid step (Myr); the best grid age is then refined")
    epicyclic: EpicyclicSpec = Field(default_factory=EpicyclicSpec, description="orbit model (Oort A, B, nu, solar motion)")
    max_iter: int = Field(50, ge=1, description=(
        "EM iterations per mixture (it stops earlier once no membership moves by tol; 15 left the real BPMG "
        "two-group fit short of its optimum, 2.8 in BIC)"))
    tol: float = Field(1e-3, gt=0, description="stop when no membership probability moves more than this")
    min_membership: float = Field(0.5, ge=0, le=1, description="flag a star when its most probable group has at least this probability")
    column_prefix: str = Field("st_", description="prefix of the output columns (st_p_comp1, st_p_background, st_member_of)")
    save_model: bool = Field(True, description="save the mixture under models/<step>/ (model.json + mixture.npz)")
    max_train_rows: int | None = Field(None, ge=10, description=(
        "fit on at most N rows, chosen by a seeded hash of the row id (null: every row in memory, the executor's "
        "cap when streaming); every row is scored"))


class SpaceTimeDetector(Detector):
    name = "mixture.spacetime"
    summary = ("Chronostar space-time mixture: groups as spherical birth Gaussians traced forward "
               "(epicyclic) with fitted ages, plus a background; memberships, ages, score = -ln L.")
    Config = SpaceTimeConfig

    @single_blas_thread
    def fit(self, sample: Table, ctx: RunContext) -> FittedSpaceTime:
        """Initial memberships, then EM (or growth) on the sample's region rows; groups selected for flags."""
        table = sample
        cfg = self.config
        if list(cfg.features) != CARTESIAN:
            raise RecipeError(f"{self.name}: features must be the heliocentric Galactic {CARTESIAN} "
                              f"(from mixture.cartesian), got {cfg.features}")
        if cfg.age_max <= cfg.age_min:
            raise RecipeError(f"{self.name}: age_max ({cfg.age_max}) must exceed age_min ({cfg.age_min})")
        if cfg.select == "containing" and not cfg.containing:
            raise RecipeError(f"{self.name}: select: containing needs `containing:` (ids of stars in the group)")
        full = read_inputs(table, cfg, self.name)
        inputs, region_rows = self._region(table, full, cfg)
        background_logd, background_model, field_rows, field_ids = None, {"kind": "fitted"}, None, None
        if cfg.background != "fitted":
            field_rows = self._field_rows(table, full)
            background_logd, background_model = self._field_background(field_rows, full, region_rows, inputs, ctx)
            ids = table.data[table.id_column].to_numpy()[full.valid][field_rows]
            field_ids = ids.astype(str) if ids.dtype.kind == "O" else ids
        gauss_summary = None
        init_cols = self._expand_columns(table, cfg.init_memberships)
        R = None
        if cfg.init == "memberships" or (cfg.init == "growth" and init_cols):
            if len(init_cols) < 2:
                raise RecipeError(f"{self.name}: init_memberships needs at least two columns "
                                  "(background first, then each group)")
            R = np.clip(np.nan_to_num(np.column_stack([table.array(c) for c in init_cols])[inputs.valid]), 0, 1)
            # probability in components not listed (other groups) is folded into the background
            R[:, 0] += np.clip(1.0 - R.sum(axis=1), 0, None)
            R += 1e-6
        elif cfg.init == "gaussian":
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
        tracer = cfg.epicyclic.tracer()
        ages = np.arange(cfg.age_min, cfg.age_max + 0.5 * cfg.age_step, cfg.age_step)
        growth_path = None
        if cfg.init == "growth":
            named = None
            if cfg.select == "containing":
                ids = table.data[table.id_column].to_numpy()[inputs.valid]
                named = np.flatnonzero(np.isin(ids, np.asarray(cfg.containing)))
                if not len(named):
                    raise StageError(f"{self.name}: none of the `containing` stars {cfg.containing[:10]} is among "
                                     "the fitted rows (check `region`)")
            if background_logd is None:
                background_logd, background_model = self._region_background(inputs)
            mix, growth_path = grow_spacetime(inputs.X, inputs.S, tracer, ages, background_logd, cfg.max_groups,
                                              init_resp=R, max_iter=cfg.max_iter, tol=cfg.tol,
                                              log=getattr(ctx, "info", None), named_rows=named)
            if mix is None:
                raise StageError(f"{self.name}: no space-time group improves the BIC over the background alone "
                                 f"({len(inputs.X)} stars fitted): nothing moves together here")
        else:
            R = R / R.sum(axis=1, keepdims=True)
            mix = SpaceTimeMixture(tracer, ages, max_iter=cfg.max_iter, tol=cfg.tol,
                                   background_logd=background_logd).fit(inputs.X, inputs.S, R)
        # groups by decreasing weight after the background
        order = [0] + [int(k) + 1 for k in np.argsort(-mix.weights_[1:], kind="stable")]
        background, arrays = self._background_state(mix, background_model, full, field_rows, field_ids)
        comps = [mix.groups_[k - 1] for k in order[1:]]
        fitted = FittedSpaceTime(
            features=list(cfg.features), covariance=full.covariance_source, covariance_prefix=cfg.covariance_prefix,
            region=cfg.region, epicyclic=cfg.epicyclic.model_dump(), weights=mix.weights_[order],
            groups=[{"age": float(c.age), "birth_mean": np.asarray(c.birth_mean, float).tolist(),
                     "sigma_position": float(c.sigma_position), "sigma_velocity": float(c.sigma_velocity)}
                    for c in comps],
            background=background, background_arrays=arrays, selected=[], min_membership=cfg.min_membership,
            prefix=cfg.column_prefix, step=ctx.step_name("spacetime"),
            profiles={f"group {rank}": mix.profiles_[k - 1] for rank, k in enumerate(order[1:], start=1)})
        valid, X, _, resp = fitted.evaluate(sample)
        _, member_of, _ = fitted.members(sample)
        selected = self._selected_groups(sample, comps, member_of, valid)
        fitted.selected = selected
        flag = fitted.flag(sample)

        groups = []
        for rank, comp in enumerate(comps, start=1):
            prof = fitted.profiles[f"group {rank}"]
            d = comp.to_dict(tracer)
            d.update(name=f"group {rank}", weight=float(fitted.weights[rank]), n_members=int((member_of == rank).sum()),
                     age_interval_1sigma=prof.get("age_interval"), flagged=rank in selected,
                     **self._member_moments(X, resp[:, rank]),
                     model_std_today=np.sqrt(np.diag(np.asarray(d["current_covariance"]))).tolist())
            groups.append(d)
        bg_mean, bg_cov = fitted.current()[0][0], fitted.current()[1][0]
        summary = {"groups": [{k: (np.round(v, 4).tolist() if isinstance(v, list) and k != "current_covariance" else v)
                               for k, v in g.items() if k != "current_covariance"} for g in groups],
                   "ages_myr": {g["name"]: round(g["age"], 2) for g in groups},
                   "background": {"kind": background_model["kind"], "weight": float(fitted.weights[0]),
                                  "mean": np.round(bg_mean, 3).tolist(), "std": np.sqrt(np.diag(bg_cov)).round(3).tolist(),
                                  **({"bandwidth": background_model["bandwidth"],
                                      "n_field": background_model["n_field"]} if "bandwidth" in background_model else {})},
                   "region": cfg.region, "fitted_rows": int(len(inputs.X)), "select": cfg.select,
                   "flagged_groups": [f"group {r}" for r in selected], "growth_path": growth_path,
                   "report": self._report_table(groups),
                   "log_likelihood": mix.log_likelihood_, "bic": mix.bic(len(inputs.X)), "iterations": mix.n_iter_,
                   "n_members": int(flag.sum()), "min_membership": cfg.min_membership,
                   "epicyclic": cfg.epicyclic.model_dump(), "regularised_covariances": inputs.regularised,
                   "unscored_rows": int((~valid).sum()), "initial_gaussian_mixture": gauss_summary,
                   "counted_on": f"training sample ({len(sample)} of {sample.meta.get('sample_of', len(sample))} rows)"}
        summary["epicyclic"]["constants"] = cfg.epicyclic.constants() if cfg.epicyclic.potential else None
        fitted.summary = summary
        ctx.record("ages_myr", summary["ages_myr"])
        return fitted

    @classmethod
    def load(cls, files, state: dict) -> FittedSpaceTime:
        """The mixture that ``FittedSpaceTime.save`` wrote (mixture.npz, sha256-checked by core)."""
        return FittedSpaceTime.from_saved(files, state)

    @staticmethod
    def _background_state(mix, background_model: dict, full, field_rows, field_ids) -> tuple[dict, dict]:
        """The background as JSON + arrays: a Gaussian (mean, covariance) or the KDE's field points and their ids."""
        fraction = background_model.get("fraction_of_field_in_region")
        offset = -float(np.log(fraction)) if fraction else 0.0
        state = {"kind": background_model["kind"], "log_offset": offset}
        if mix.background_ is not None:
            mean, cov = mix.background_
        else:
            mean, cov = np.asarray(background_model["mean"]), np.asarray(background_model["covariance"])
        arrays = {"mean": np.asarray(mean, float), "covariance": np.asarray(cov, float)}
        if background_model["kind"] == "kde":
            state["bandwidth"] = float(background_model["bandwidth"])
            arrays["field"] = full.X[field_rows]
            arrays["field_ids"] = field_ids
        return state, arrays

    # ------------------------------------------------------------------
    @staticmethod
    def _expand_columns(table, names: list[str]) -> list[str]:
        """Column names, glob patterns expanded to matching columns in natural order (p_comp2 before p_comp10)."""
        import re

        def natural(name):
            return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]

        out = []
        for name in names:
            if any(ch in name for ch in "*?["):
                hits = sorted((c for c in table.data.columns if fnmatch.fnmatchcase(c, name)), key=natural)
                if not hits:
                    raise RecipeError(f"mixture.spacetime: init_memberships pattern {name!r} matches no column")
                out += [h for h in hits if h not in out]
            else:
                table.require([name], "mixture.spacetime")
                out.append(name)
        return out

    def _mask(self, table, text: str, key: str) -> np.ndarray:
        """Rows matching a recipe expression; unknown columns are named (RecipeError/StageError, not a KeyError)."""
        try:
            expr = Expression(text)
        except RecipeError as exc:
            raise RecipeError(f"{self.name}: `{key}`: {exc}") from None
        table.require(expr.columns, f"{self.name} ({key})")
        return np.asarray(np.broadcast_to(expr.evaluate(table.data), (len(table),)), bool)

    def _region(self, table, full, cfg):
        """Inputs restricted to the region rows (valid is then region & scorable), and the region mask of full rows."""
        if cfg.region is None:
            return full, np.ones(len(full.X), bool)
        keep = self._mask(table, cfg.region, "region")
        in_region = keep[full.valid]
        if in_region.sum() < 10:
            raise StageError(f"{self.name}: region {cfg.region!r} keeps {int(in_region.sum())} scorable row(s); "
                             "at least 10 are needed")
        valid = full.valid & keep
        from .mixture_inputs import MixtureInputs

        return MixtureInputs(full.X[in_region], full.S[in_region], valid, full.covariance_source,
                             full.regularised), in_region

    def _field_rows(self, table, full) -> np.ndarray:
        cfg = self.config
        if cfg.field is not None:
            sel = self._mask(table, cfg.field, "field")
        elif "rv_imputed" in table.data.columns:
            sel = ~table.data["rv_imputed"].to_numpy().astype(bool)
        else:
            sel = np.ones(len(table), bool)
        rows = sel[full.valid]
        if rows.sum() < 50:
            raise StageError(f"{self.name}: the field for background: {cfg.background} has {int(rows.sum())} "
                             "row(s); at least 50 are needed (check `field:`)")
        return rows

    def _field_background(self, field_rows, full, region_rows, inputs, ctx: RunContext):
        cfg = self.config
        logd, model = field_log_density(cfg.background, inputs.X, inputs.S, full.X[field_rows], full.S[field_rows],
                                        field_rows[region_rows], region_rows[field_rows], ctx.rng("field"),
                                        cfg.field_max_rows)
        model["n_field"] = int(field_rows.sum())
        return logd, model

    @staticmethod
    def _region_background(inputs):
        """Growth needs a fixed background: with background: fitted, the fitted rows' own Gaussian (moments)."""
        from .gaussian_overlap import log_overlap

        m = inputs.X.mean(axis=0)
        C = np.cov(inputs.X, rowvar=False)
        return log_overlap(inputs.X, inputs.S, m, C), {"kind": "fitted rows' moments (fixed for growth)",
                                                      "mean": m.tolist(), "covariance": C.tolist()}

    def _selected_groups(self, table, comps, member_of, valid) -> list[int]:
        """Ranks (1 = heaviest group) whose members are flagged."""
        cfg = self.config
        ranks = list(range(1, len(comps) + 1))
        if cfg.select == "all" or not ranks:
            return ranks
        if cfg.select == "youngest":
            return [min(ranks, key=lambda r: comps[r - 1].age)]
        ids = table.data[table.id_column].to_numpy()
        rows = np.isin(ids, np.asarray(cfg.containing))
        missing = set(cfg.containing) - set(ids[rows].tolist())
        if missing:
            of = table.meta.get("sample_of", len(table))
            where = "the table's" if of == len(table) else \
                f"the training sample's ({len(table)} of {of} rows; raise max_train_rows or the executor's cap)"
            raise RecipeError(f"{self.name}: containing: id(s) {sorted(missing)[:10]} not in {where} "
                              f"'{table.id_column}' column")
        held = member_of[rows & valid]
        held = held[held > 0]
        if not len(held):
            raise StageError(f"{self.name}: none of the `containing` stars {cfg.containing[:10]} ended in a group")
        counts = np.bincount(held, minlength=len(comps) + 1)
        return [int(np.argmax(counts))]

    @staticmethod
    def _member_moments(X, p) -> dict:
        """Membership-weighted mean and dispersion of the measured XYZUVW of a group."""
        w = p / max(p.sum(), 1e-300)
        mean = w @ X
        std = np.sqrt(np.maximum(w @ (X - mean) ** 2, 0.0))
        return {"members_mean": mean.tolist(), "members_std": std.tolist(),
                "effective_members": float(p.sum())}

    @staticmethod
    def _report_table(groups) -> list[dict]:
        """One row per group: members, mean and dispersion in XYZUVW, age with its interval."""
        rows = []
        for g in groups:
            row = {"group": g["name"], "flagged": g["flagged"], "n_members": g["n_members"],
                   "age_myr": round(g["age"], 2),
                   "age_interval_myr": [round(a, 2) for a in g["age_interval_1sigma"]] if g.get("age_interval_1sigma") else None}
            for name, m, sd in zip(CARTESIAN_NAMES, g["members_mean"], g["members_std"]):
                row[f"mean_{name}"] = round(m, 2)
                row[f"std_{name}"] = round(sd, 2)
            rows.append(row)
        return rows
