"""``FittedSpaceTime``: what ``mixture.spacetime`` learnt, in the detector contract of ``toolkit.core``.

The groups (birth mean, dispersions, age), the weights (background first, then
groups by decreasing weight), the background model and the orbit model are
plain arrays and JSON, so any chunk of rows is scored row by row: a star's
memberships and -ln L depend on that star alone. The background is one of

* ``gaussian`` (a field Gaussian, or the fitted background, or the fitted rows'
  moments used by growth): ln N(x; m, C + S_i);
* ``kde``: the field sample points themselves (saved in mixture.npz) with the
  ids of the field rows, so a field star is left out of its own estimate
  whichever chunk it arrives in;

both divided by the fraction of the field that lay in the region at fit time.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Expression, FittedDetector, Table
from toolkit.core import RunContext

from .field_density import FieldKDE
from .gaussian_overlap import log_overlap
from .membership_columns import membership_columns
from .mixture_figures import DEFAULT_PAIRS, age_figure, pair_figure
from .mixture_inputs import MixtureInputConfig, read_inputs
from .spacetime_component import SphereSpaceTimeComponent
from .spacetime_mixture import SpaceTimeMixture
from .synth_association import EpicyclicSpec

STATE_VERSION = 1
MODEL_ARRAYS = "mixture.npz"
WHAT = "space-time mixture"


class FittedSpaceTime(FittedDetector):
    def __init__(self, *, features, covariance, covariance_prefix, region, epicyclic: dict, weights, groups: list[dict],
                 background: dict, background_arrays: dict, selected: list[int], min_membership, prefix, step,
                 profiles: dict, summary=None) -> None:
        self.features, self.covariance, self.covariance_prefix = list(features), covariance, covariance_prefix
        self.region, self.epicyclic = region, dict(epicyclic)
        self.tracer = EpicyclicSpec(**self.epicyclic).tracer()
        self.weights = np.asarray(weights, float)
        self.groups = [dict(g) for g in groups]      # age, birth_mean, sigma_position, sigma_velocity
        self.components = [SphereSpaceTimeComponent(np.asarray(g["birth_mean"], float), float(g["sigma_position"]),
                                                    float(g["sigma_velocity"]), float(g["age"])) for g in self.groups]
        self.background = dict(background)            # kind, log_offset (and JSON description)
        self.background_arrays = {k: np.asarray(v) for k, v in background_arrays.items()}
        self.selected = [int(r) for r in selected]
        self.min_membership, self.prefix, self.step = float(min_membership), prefix, step
        self.profiles = profiles
        self.summary = dict(summary or {})
        self.score_description = "-ln likelihood under the fitted space-time mixture"
        self._kde = FieldKDE(self.background_arrays["field"], self.background.get("bandwidth")) \
            if self.background["kind"] == "kde" else None
        self._cache = None

    # -- per row --------------------------------------------------------------
    def background_log_density(self, table: Table, X, S, rows: np.ndarray) -> np.ndarray:
        """ln background density of the scored rows (``rows``: their positions in ``table``)."""
        if self._kde is not None:
            ids = table.data[table.id_column].to_numpy()[rows]
            if self.background_arrays["field_ids"].dtype.kind == "U":
                ids = ids.astype(str)
            leave_out = np.isin(ids, self.background_arrays["field_ids"])
            logd = self._kde.log_density(X, leave_out)
        else:
            logd = log_overlap(X, S, self.background_arrays["mean"], self.background_arrays["covariance"])
        return logd + float(self.background["log_offset"])

    def in_region(self, table: Table) -> np.ndarray:
        if self.region is None:
            return np.ones(len(table), bool)
        expr = Expression(self.region)
        table.require(expr.columns, "mixture.spacetime (region)")
        return np.asarray(np.broadcast_to(expr.evaluate(table.data), (len(table),)), bool)

    def evaluate(self, table: Table):
        """(valid rows (n,), X, ln p, responsibilities) of the rows in the region with finite XYZUVW."""
        if self._cache is not None and self._cache[0] is table:
            return self._cache[1]
        cfg = MixtureInputConfig(features=self.features, covariance=self.covariance,
                                 covariance_prefix=self.covariance_prefix)
        full = read_inputs(table, cfg, "mixture.spacetime", require_rows=False)
        keep = self.in_region(table)[full.valid]
        valid = full.valid & self.in_region(table)
        X, S = full.X[keep], full.S[keep]
        if len(X):
            mix = SpaceTimeMixture(self.tracer, np.empty(0),
                                   background_logd=self.background_log_density(table, X, S, np.flatnonzero(valid)))
            mix.groups_, mix.weights_ = self.components, self.weights
            logd = mix._log_densities(X, S)
            from scipy.special import logsumexp

            logp = logsumexp(logd, axis=1)
            resp = np.exp(logd - logp[:, None])
        else:
            logp, resp = np.empty(0), np.empty((0, len(self.weights)))
        result = (valid, X, logp, resp)
        self._cache = (table, result)
        return result

    def members(self, table: Table):
        valid, _, _, resp = self.evaluate(table)
        cols, member_of, flag = membership_columns(resp, valid, list(range(len(self.weights))), self.min_membership,
                                                   self.prefix, WHAT)
        return cols, member_of, flag & np.isin(member_of, self.selected)

    def assign(self, table: Table) -> Columns:
        """<prefix>p_comp<k>, <prefix>p_background, <prefix>member_of (-1 outside the region or not scorable)."""
        return self.members(table)[0]

    def score(self, table: Table) -> np.ndarray:
        valid, _, logp, _ = self.evaluate(table)
        score = np.full(len(table), np.nan)
        score[valid] = -logp
        return score

    def flag(self, table: Table) -> np.ndarray:
        """Most probable component is a selected group, with probability >= min_membership."""
        return self.members(table)[2]

    def current(self):
        """(means, covariances) today: the background's, then each group's birth Gaussian traced forward."""
        today = [c.current(self.tracer) for c in self.components]
        bg = self.background_arrays
        mean = bg["mean"] if "mean" in bg else np.asarray(self.background["mean"])
        cov = bg["covariance"] if "covariance" in bg else np.asarray(self.background["covariance"])
        return [mean] + [m for m, _ in today], [cov] + [c for _, c in today]

    # -- saving ---------------------------------------------------------------
    def save(self, files) -> dict:
        files.write_arrays(MODEL_ARRAYS, {"weights": self.weights, **{f"background_{k}": v for k, v in
                                                                        self.background_arrays.items()}})
        return {"version": STATE_VERSION, "features": self.features, "covariance": self.covariance,
                "covariance_prefix": self.covariance_prefix, "region": self.region, "epicyclic": self.epicyclic,
                "groups": self.groups, "background": self.background, "selected": self.selected,
                "min_membership": self.min_membership, "prefix": self.prefix, "step": self.step,
                "profiles": self.profiles, "summary": self.summary}

    @classmethod
    def from_saved(cls, files, state: dict) -> "FittedSpaceTime":
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"mixture.spacetime state version {state.get('version')!r}; this plugin reads "
                             f"{STATE_VERSION}")
        arrays = files.read_arrays(MODEL_ARRAYS)
        background_arrays = {k[len("background_"):]: v for k, v in arrays.items() if k.startswith("background_")}
        return cls(weights=arrays["weights"], background_arrays=background_arrays,
                   **{k: state[k] for k in ("features", "covariance", "covariance_prefix", "region", "epicyclic",
                                            "groups", "background", "selected", "min_membership", "prefix", "step",
                                            "profiles", "summary")})

    # -- figures --------------------------------------------------------------
    def figures(self, table: Table, ctx: RunContext) -> None:
        """Each group's age profile, and XYZUVW pairs with the groups traced to today."""
        truth = {a["name"]: a["age"] for a in table.meta.get("truth_associations", [])}
        ctx.save_figure(age_figure(self.profiles, truth), "age_fit",
                        caption="Profile ln-likelihood of each group's age (birth mean and dispersions refitted "
                                "at every age); dotted: fitted age, dashed: true age of a mock.")
        valid, X, _, _ = self.evaluate(table)
        member_of = self.members(table)[1]
        means, covs = self.current()
        names = ["background"] + [f"group {r} ({g['age']:.1f} Myr)" for r, g in enumerate(self.groups, 1)]
        ctx.save_figure(pair_figure(X, member_of[valid], self.features, DEFAULT_PAIRS, means, covs, names,
                                    "Space-time mixture: present-day group ellipses (2 sigma)"),
                        "pairs", caption="XYZUVW pairs coloured by most probable component, with each group's "
                                         "birth Gaussian traced to today (2-sigma ellipses).")
