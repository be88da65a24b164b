"""``mixture.sklearn``: the student-lab Gaussian mixture (scikit-learn) with BIC model selection.

The ASTR3110 cluster-membership lab: fit scikit-learn's GaussianMixture to
(ra, dec, pmra, pmdec, distance) of an open-cluster field for K = 1..max,
keep the K with the lowest BIC, and call a component a *cluster* when its
proper-motion dispersion is small (geometric mean of the pm standard
deviations below ``max_cluster_pm_dispersion``); the other components model
the field. No measurement errors are used (that is mixture.gaussian's job).
Flag: the most probable component is a cluster component with probability
>= min_membership. Figures: BIC against K, proper motions and the
colour-magnitude diagram of members.

Detector contract: ``fit`` runs the BIC scan on the run's training sample
and returns a ``FittedSklearnMixture`` holding the chosen mixture as arrays
(standardisation, weights, means, precision Cholesky factors); it scores,
assigns memberships and flags any chunk row by row (rowwise_gaussians), so a
streamed run and ``toolkit score`` give the in-memory run's numbers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.core import Columns, Config, Detector, Field, FittedDetector, RecipeError, Table
from toolkit.core import RunContext

from .blas_threads import single_blas_thread
from .mixture_figures import bic_figure
from .rowwise_gaussians import full_precision_cholesky, mixture_log_probabilities
from toolkit.core import flag_column

STATE_VERSION = 1
MODEL_ARRAYS = "mixture.npz"


class SklearnMixtureDetector(Detector):
    name = "mixture.sklearn"
    summary = ("scikit-learn GaussianMixture with BIC choice of K (cluster-membership lab); cluster components "
               "= small proper-motion dispersion; flag = cluster member.")

    class Config(Config):
        features: list[str] = Field(default_factory=lambda: ["ra", "dec", "pmra", "pmdec", "r_est"], min_length=1,
                                    description="feature columns")
        max_components: int = Field(8, ge=1, description="largest K tried")
        n_components: int | None = Field(None, ge=1, description="fixed K (skip the BIC scan)")
        n_init: int = Field(2, ge=1, description="restarts per K")
        standardise: bool = Field(True, description="scale features to zero mean, unit variance before fitting")
        pm_features: list[str] = Field(default_factory=lambda: ["pmra", "pmdec"], min_length=1,
                                       description="features whose dispersion decides cluster vs field")
        max_cluster_pm_dispersion: float = Field(1.0, gt=0, description=(
            "a component is a cluster if the geometric mean std of pm_features is below this (their units)"))
        min_membership: float = Field(0.5, ge=0, le=1, description="flag threshold on the cluster membership")
        cmd_colour: str = Field("bp_rp", description="colour column for the CMD figure")
        cmd_magnitude: str = Field("phot_g_mean_mag", description="magnitude column for the CMD figure")
        column_prefix: str = Field("", description="prefix for p_comp<k>, p_cluster, member_of")
        covariance_type: Literal["full", "tied", "diag", "spherical"] = Field(
            "full", description="scikit-learn covariance_type")
        save_model: bool = Field(True, description="save the mixture under models/<step>/ (model.json + mixture.npz)")
        max_train_rows: int | None = Field(None, ge=10, description=(
            "fit on at most N rows, chosen by a seeded hash of the row id (null: every row in memory, the "
            "executor's cap when streaming); every row is scored"))

    @single_blas_thread
    def fit(self, sample: Table, ctx: RunContext) -> "FittedSklearnMixture":
        """BIC scan over K on the sample's rows with finite features; cluster components by pm dispersion."""
        from sklearn.mixture import GaussianMixture

        cfg = self.config
        sample.require(cfg.features, self.name)
        missing_pm = [f for f in cfg.pm_features if f not in cfg.features]
        if missing_pm:
            raise RecipeError(f"{self.name}: pm_features {missing_pm} must be among features {cfg.features}")
        X = np.column_stack([sample.array(f) for f in cfg.features])
        valid = np.all(np.isfinite(X), axis=1)
        if valid.sum() < 10:
            raise RecipeError(f"{self.name}: only {int(valid.sum())} rows have finite {cfg.features}")
        Xv = X[valid]
        mu, sd = (Xv.mean(0), Xv.std(0)) if cfg.standardise else (np.zeros(X.shape[1]), np.ones(X.shape[1]))
        sd = np.where(sd > 0, sd, 1.0)
        Z = (Xv - mu) / sd
        seed = ctx.step_seed("gmm")
        ks = [cfg.n_components] if cfg.n_components else list(range(1, cfg.max_components + 1))
        path, best = [], None
        for k in ks:
            gm = GaussianMixture(k, covariance_type=cfg.covariance_type, n_init=cfg.n_init, random_state=seed).fit(Z)
            bic = float(gm.bic(Z))
            path.append({"n_components": k, "bic": bic, "accepted": False})
            if best is None or bic < best[1]:
                best = (gm, bic, len(path) - 1)
        gm = best[0]
        path[best[2]]["accepted"] = True
        d, K = X.shape[1], gm.n_components
        # component covariances back in feature units
        c = np.asarray(gm.covariances_, float)
        full = {"full": lambda: c, "tied": lambda: np.broadcast_to(c, (K, d, d)),
                "diag": lambda: np.stack([np.diag(v) for v in c]),
                "spherical": lambda: np.stack([v * np.eye(d) for v in c])}[cfg.covariance_type]()
        covs = full * np.outer(sd, sd)
        pm_idx = [cfg.features.index(f) for f in cfg.pm_features]
        pm_disp = np.array([np.exp(0.5 * np.linalg.slogdet(c[np.ix_(pm_idx, pm_idx)])[1] / len(pm_idx)) for c in covs])
        order = np.argsort(pm_disp, kind="stable")  # clusters (most compact) first
        prec = full_precision_cholesky(gm.precisions_cholesky_, cfg.covariance_type, K, d)
        fitted = FittedSklearnMixture(
            features=list(cfg.features), pm_features=list(cfg.pm_features), mu=mu, sd=sd,
            weights=gm.weights_[order], means=gm.means_[order], prec_chol=prec[order], covariances=covs[order],
            pm_dispersion=pm_disp[order], is_cluster=pm_disp[order] < cfg.max_cluster_pm_dispersion,
            min_membership=cfg.min_membership, prefix=cfg.column_prefix, step=ctx.step_name("gmm"),
            bic_path=path, cmd=(cfg.cmd_colour, cfg.cmd_magnitude))
        fitted.summarise(sample)
        return fitted

    @classmethod
    def load(cls, files, state: dict) -> "FittedSklearnMixture":
        """The mixture that ``FittedSklearnMixture.save`` wrote (arrays from mixture.npz, sha256-checked by core)."""
        return FittedSklearnMixture.from_saved(files, state)


class FittedSklearnMixture(FittedDetector):
    """The chosen mixture in standardised units: scores, memberships and the cluster flag of any chunk."""

    ARRAYS = ("mu", "sd", "weights", "means", "prec_chol", "covariances", "pm_dispersion", "is_cluster")

    def __init__(self, *, features, pm_features, mu, sd, weights, means, prec_chol, covariances, pm_dispersion,
                 is_cluster, min_membership, prefix, step, bic_path, cmd, summary=None) -> None:
        self.features, self.pm_features = list(features), list(pm_features)
        self.mu, self.sd = np.asarray(mu, float), np.asarray(sd, float)
        self.weights, self.means = np.asarray(weights, float), np.asarray(means, float)
        self.prec_chol, self.covariances = np.asarray(prec_chol, float), np.asarray(covariances, float)
        self.pm_dispersion, self.is_cluster = np.asarray(pm_dispersion, float), np.asarray(is_cluster, bool)
        self.min_membership, self.prefix, self.step = float(min_membership), prefix, step
        self.bic_path, self.cmd = list(bic_path), tuple(cmd)
        self.summary = dict(summary or {})
        self.score_description = "-ln density under the fitted GaussianMixture (feature units)"

    # -- per row --------------------------------------------------------------
    def _evaluate(self, table: Table):
        table.require(self.features, "mixture.sklearn")
        X = np.column_stack([table.array(f) for f in self.features])
        valid = np.all(np.isfinite(X), axis=1)
        logp, resp = mixture_log_probabilities((X[valid] - self.mu) / self.sd, self.weights, self.means,
                                               self.prec_chol)
        return X, valid, logp, resp

    def assign(self, table: Table) -> Columns:
        """p_comp<k> (clusters first, by pm dispersion), p_cluster and member_of; NaN / -1 where not scored."""
        _, valid, _, resp = self._evaluate(table)
        n, K, p = len(table), len(self.weights), self.prefix
        probs = np.full((n, K), np.nan)
        probs[valid] = resp
        cols = Columns()
        for k in range(K):
            kind = "cluster" if self.is_cluster[k] else "field"
            cols.add(f"{p}p_comp{k + 1}", probs[:, k],
                     description=f"GMM membership probability of component {k + 1} ({kind})")
        p_cluster = np.full(n, np.nan)
        p_cluster[valid] = np.where(self.is_cluster, resp, 0.0).sum(axis=1)
        cols.add(f"{p}p_cluster", p_cluster, description="summed membership probability of the cluster components")
        member_of = np.full(n, -1, dtype=np.int64)
        member_of[valid] = resp.argmax(1) + 1
        cols.add(f"{p}member_of", member_of, description="most probable GMM component (1-based; -1 = not scored)")
        return cols

    def score(self, table: Table) -> np.ndarray:
        _, valid, logp, _ = self._evaluate(table)
        score = np.full(len(table), np.nan)
        score[valid] = -(logp - np.log(self.sd).sum())
        return score

    def flag(self, table: Table) -> np.ndarray:
        """Most probable component is a cluster component, with probability >= min_membership."""
        _, valid, _, resp = self._evaluate(table)
        flag = np.zeros(len(table), bool)
        best = resp.argmax(1)
        flag[valid] = self.is_cluster[best] & (resp.max(1) >= self.min_membership)
        return flag

    def summarise(self, sample: Table) -> None:
        """The manifest summary; member counts are over the training sample (every row in memory)."""
        cols = self.assign(sample)
        member_of = cols.data[f"{self.prefix}member_of"]
        flag = self.flag(sample)
        means = self.means * self.sd + self.mu
        comps = [{"component": k + 1, "cluster": bool(self.is_cluster[k]), "weight": float(self.weights[k]),
                  "mean": dict(zip(self.features, means[k].round(4).tolist())),
                  "std": dict(zip(self.features, np.sqrt(np.diag(self.covariances[k])).round(4).tolist())),
                  "pm_dispersion": float(self.pm_dispersion[k]), "n_members": int((member_of == k + 1).sum())}
                 for k in range(len(self.weights))]
        self.summary = {"n_components": int(len(self.weights)),
                        "bic_by_components": {str(q["n_components"]): round(q["bic"], 2) for q in self.bic_path},
                        "components": comps, "n_cluster_components": int(self.is_cluster.sum()),
                        "n_members": int(flag.sum()), "unscored_rows": int((member_of < 0).sum()),
                        "counted_on": f"training sample ({len(sample)} of "
                                      f"{sample.meta.get('sample_of', len(sample))} rows)"}

    # -- saving ---------------------------------------------------------------
    def save(self, files) -> dict:
        files.write_arrays(MODEL_ARRAYS, {a: getattr(self, a) for a in self.ARRAYS})
        return {"version": STATE_VERSION, "features": self.features, "pm_features": self.pm_features,
                "min_membership": self.min_membership, "prefix": self.prefix, "step": self.step,
                "bic_path": self.bic_path, "cmd": list(self.cmd), "summary": self.summary}

    @classmethod
    def from_saved(cls, files, state: dict) -> "FittedSklearnMixture":
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"mixture.sklearn state version {state.get('version')!r}; this plugin reads "
                             f"{STATE_VERSION}")
        arrays = files.read_arrays(MODEL_ARRAYS)
        return cls(**{a: arrays[a] for a in cls.ARRAYS}, features=state["features"],
                   pm_features=state["pm_features"], min_membership=state["min_membership"], prefix=state["prefix"],
                   step=state["step"], bic_path=state["bic_path"], cmd=state["cmd"], summary=state["summary"])

    # -- figures --------------------------------------------------------------
    def figures(self, table: Table, ctx: RunContext) -> None:
        """BIC against K, and proper motions + CMD of the flagged rows (``flag_<step>``, else this model's flag)."""
        if len(self.bic_path) > 1:
            ctx.save_figure(bic_figure(self.bic_path), "bic",
                            caption="BIC of the scikit-learn GaussianMixture against K.")
        col = flag_column(self.step)
        flag = table.data[col].to_numpy(bool) if col in table.data.columns else self.flag(table)
        X = np.column_stack([table.array(f) for f in self.features])
        valid = np.all(np.isfinite(X), axis=1)
        ctx.save_figure(self._figure(table, X, flag, valid), "members",
                        caption="Proper motions and colour-magnitude diagram: cluster members (colour) over the "
                                "field (grey).")

    def _figure(self, table, X, flag, valid):
        import matplotlib.pyplot as plt

        colour, magnitude = self.cmd
        has_cmd = colour in table.data and magnitude in table.data
        fig, axes = plt.subplots(1, 2 if has_cmd else 1, figsize=(10 if has_cmd else 5, 4.2), squeeze=False)
        i, j = self.features.index(self.pm_features[0]), self.features.index(self.pm_features[-1])
        ax = axes[0, 0]
        ax.scatter(X[valid & ~flag, i], X[valid & ~flag, j], s=2, color="0.7", label="field")
        ax.scatter(X[flag, i], X[flag, j], s=5, color="C3", label=f"members ({flag.sum()})")
        ax.set_xlabel(self.pm_features[0])
        ax.set_ylabel(self.pm_features[-1])
        ax.legend(fontsize=8)
        if has_cmd:
            ax = axes[0, 1]
            c, m = table.array(colour), table.array(magnitude)
            ax.scatter(c[~flag], m[~flag], s=2, color="0.7", label="field")
            ax.scatter(c[flag], m[flag], s=5, color="C3", label="members")
            ax.invert_yaxis()
            ax.set_xlabel(colour)
            ax.set_ylabel(magnitude)
            ax.set_title("colour-magnitude diagram")
        fig.tight_layout()
        return fig
