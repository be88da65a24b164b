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
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, Config, Detection, Detector, Field, RecipeError

from .blas_threads import single_blas_thread
from .membership_columns import save_json
from .mixture_figures import bic_figure


class SklearnMixtureDetector(Detector):
    name = "mixture.sklearn"
    summary = ("scikit-learn GaussianMixture with BIC choice of K (cluster-membership lab); cluster components "
               "= small proper-motion dispersion; flag = cluster member.")

    class Config(Config):
        features: list[str] = Field(default_factory=lambda: ["ra", "dec", "pmra", "pmdec", "r_est"], min_length=1,
                                    description="feature columns")
        max_components: int = Field(8, ge=1, description="largest K tried")
        n_components: int | None = Field(None, ge=1, description="fixed K (skip the BIC scan)")
        covariance_type: str = Field("full", description="scikit-learn covariance_type")
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

    @single_blas_thread
    def detect(self, table, ctx) -> Detection:
        from sklearn.mixture import GaussianMixture

        cfg = self.config
        table.require(cfg.features, self.name)
        missing_pm = [f for f in cfg.pm_features if f not in cfg.features]
        if missing_pm:
            raise RecipeError(f"{self.name}: pm_features {missing_pm} must be among features {cfg.features}")
        X = np.column_stack([table.array(f) for f in cfg.features])
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
        # component covariances back in feature units
        full = gm.covariances_ if cfg.covariance_type == "full" else np.array([np.diag(np.broadcast_to(c, (X.shape[1],)))
                                                                              for c in np.atleast_2d(gm.covariances_)])
        means = gm.means_ * sd + mu
        covs = full * np.outer(sd, sd)
        pm_idx = [cfg.features.index(f) for f in cfg.pm_features]
        pm_disp = np.array([np.exp(0.5 * np.linalg.slogdet(c[np.ix_(pm_idx, pm_idx)])[1] / len(pm_idx)) for c in covs])
        is_cluster = pm_disp < cfg.max_cluster_pm_dispersion
        order = list(np.argsort(pm_disp, kind="stable"))  # clusters (most compact) first
        resp = gm.predict_proba(Z)[:, order]
        is_cluster = is_cluster[order]
        n = len(table)
        cols = Columns()
        probs = np.full((n, len(order)), np.nan)
        probs[valid] = resp
        p = cfg.column_prefix
        for k in range(len(order)):
            kind = "cluster" if is_cluster[k] else "field"
            cols.add(f"{p}p_comp{k + 1}", probs[:, k], description=f"GMM membership probability of component {k + 1} ({kind})")
        p_cluster = np.where(valid, np.nansum(np.where(is_cluster, probs, 0.0), axis=1), np.nan)
        cols.add(f"{p}p_cluster", p_cluster, description="summed membership probability of the cluster components")
        member_of = np.full(n, -1, dtype=np.int64)
        member_of[valid] = resp.argmax(1) + 1
        cols.add(f"{p}member_of", member_of, description="most probable GMM component (1-based; -1 = not scored)")
        best_p = np.where(valid, np.nanmax(np.nan_to_num(probs, nan=-1.0), axis=1), 0.0)
        flag = valid & (member_of > 0) & is_cluster[np.clip(member_of - 1, 0, None)] & (best_p >= cfg.min_membership)
        score = np.full(n, np.nan)
        score[valid] = -(gm.score_samples(Z) - np.log(sd).sum())
        comps = [{"component": k + 1, "cluster": bool(is_cluster[k]), "weight": float(gm.weights_[o]),
                  "mean": dict(zip(cfg.features, means[o].round(4).tolist())),
                  "std": dict(zip(cfg.features, np.sqrt(np.diag(covs[o])).round(4).tolist())),
                  "pm_dispersion": float(pm_disp[o]), "n_members": int((member_of == k + 1).sum())}
                 for k, o in enumerate(order)]
        summary = {"n_components": int(gm.n_components), "bic_by_components": {str(q["n_components"]): round(q["bic"], 2) for q in path},
                   "components": comps, "n_cluster_components": int(is_cluster.sum()), "n_members": int(flag.sum()),
                   "unscored_rows": int((~valid).sum())}
        summary["model_file"] = save_json(ctx, "mixture_sklearn.json", {"features": cfg.features, "order": order,
                                                                        "means": means.tolist(), "covariances": covs.tolist(),
                                                                        "weights": gm.weights_.tolist(), "bic_path": path,
                                                                        "is_cluster": is_cluster.tolist()})
        if len(path) > 1:
            ctx.save_figure(bic_figure(path), "bic", caption="BIC of the scikit-learn GaussianMixture against K.")
        ctx.save_figure(self._figure(table, X, flag, valid), "members",
                        caption="Proper motions and colour-magnitude diagram: cluster members (colour) over the field (grey).")
        return Detection(score=score, flag=flag, columns=cols, summary=summary,
                         score_description="-ln density under the fitted GaussianMixture (feature units)")

    def _figure(self, table, X, flag, valid):
        import matplotlib.pyplot as plt

        cfg = self.config
        has_cmd = cfg.cmd_colour in table.data and cfg.cmd_magnitude in table.data
        fig, axes = plt.subplots(1, 2 if has_cmd else 1, figsize=(10 if has_cmd else 5, 4.2), squeeze=False)
        i, j = cfg.features.index(cfg.pm_features[0]), cfg.features.index(cfg.pm_features[-1])
        ax = axes[0, 0]
        ax.scatter(X[valid & ~flag, i], X[valid & ~flag, j], s=2, color="0.7", label="field")
        ax.scatter(X[flag, i], X[flag, j], s=5, color="C3", label=f"members ({flag.sum()})")
        ax.set_xlabel(cfg.pm_features[0])
        ax.set_ylabel(cfg.pm_features[-1])
        ax.legend(fontsize=8)
        if has_cmd:
            ax = axes[0, 1]
            c, m = table.array(cfg.cmd_colour), table.array(cfg.cmd_magnitude)
            ax.scatter(c[~flag], m[~flag], s=2, color="0.7", label="field")
            ax.scatter(c[flag], m[flag], s=5, color="C3", label="members")
            ax.invert_yaxis()
            ax.set_xlabel(cfg.cmd_colour)
            ax.set_ylabel(cfg.cmd_magnitude)
            ax.set_title("colour-magnitude diagram")
        fig.tight_layout()
        return fig
