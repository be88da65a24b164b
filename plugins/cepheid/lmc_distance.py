"""``cepheid.lmc_distance``: the LMC distance from a calibrated period-Wesenheit relation.

The lab's last step. The relation M_W = a + b (log P - pivot) calibrated on Milky
Way Cepheids (a ``cepheid.leavitt_mcmc`` step fitted on absolute magnitudes)
is applied to LMC members chosen by position: each member gives
mu_i = W_i - M_W(P_i). For every posterior draw (a, b, sigma_int) the
inverse-variance weighted mean of mu_i is taken, so the spread of those means
is the calibration's uncertainty; the statistical error of the mean is added in
quadrature. Members flagged by a detector (type II, anomalous, blended) are left
out. The result is compared with the geometric distance of Pietrzynski et al.
2019 (18.477 +- 0.026 mag) and, on a mock, with the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core import Config, Field, StageError, Table, Validation, Validator
from toolkit.core import RunContext
from toolkit.core import load_model

from .figures import distance_figure
from .fit import LeavittFit
from .fitted import FittedLeavitt
from .relations import (LMC_CENTRE_DEG, LMC_DM_PIETRZYNSKI2019, LMC_DM_PIETRZYNSKI2019_ERR, LMC_DM_REFERENCE,
                        distance_modulus_to_kpc)
from .sky import separation_deg


class LmcDistanceConfig(Config):
    calibration: str = Field("pw_mw", description="name of the cepheid.leavitt_mcmc step (in this run) whose "
                             "fit is the calibrated relation")
    model_dir: Path | None = Field(None, description="or a saved fit folder (models/<step>/ of another run: "
                                  "model.json + posterior.npz); overrides calibration")
    magnitude: str = Field("W", description="apparent magnitude column of the members (the relation's band)")
    magnitude_error: str | None = Field("W_err", description="its error column")
    period: str | None = Field(None, description="log-period column (default: the calibration's x column)")
    centre: tuple[float, float] = Field(LMC_CENTRE_DEG, description="LMC centre (ra, dec), deg ICRS")
    radius_deg: float = Field(8.0, gt=0, description="members lie within this separation of the centre (deg)")
    exclude_flags: list[str] | None = Field(None, description="flag columns whose flagged rows are left out "
                                            "(default: every flag_* column)")
    min_members: int = Field(5, ge=1, description="fewest members to quote a distance")
    max_draws: int = Field(2000, ge=10, description="posterior draws used")


class LmcDistance(Validator):
    name = "cepheid.lmc_distance"
    summary = ("LMC distance modulus and kpc from a calibrated period-Wesenheit relation applied to LMC members "
               "selected by position, uncertainty from the posterior; compared with Pietrzynski et al. 2019.")
    Config = LmcDistanceConfig

    def _load_fit(self, ctx: RunContext) -> tuple[LeavittFit, str]:
        """The calibration's fit, read through ``toolkit.core.models`` (model.json, sha256-checked files)."""
        cfg = self.config
        if cfg.model_dir:
            folder = Path(cfg.model_dir)
            shown = str(folder)
        elif ctx is not None and ctx.workdir is not None:
            folder = ctx.workdir / "models" / cfg.calibration
            shown = f"models/{cfg.calibration}"      # relative: the staging folder is renamed when the run succeeds
        else:
            raise StageError(f"{self.name}: no run folder to find the '{cfg.calibration}' fit in; give model_dir")
        if not (folder / "model.json").is_file():
            raise StageError(f"{self.name}: no calibrated relation at {folder}: calibration '{cfg.calibration}' must "
                             "name a cepheid.leavitt_mcmc detector step of this recipe (with save_model on), or "
                             "model_dir a saved fit folder")
        fitted, doc = load_model(folder)
        if not isinstance(fitted, FittedLeavitt):
            raise StageError(f"{self.name}: the model at {folder} was saved by {doc['component']}, not by "
                             "cepheid.leavitt_mcmc; calibration/model_dir must name a Leavitt-law fit")
        return fitted.fit, shown

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        cfg = self.config
        fit, folder = self._load_fit(ctx)
        period = cfg.period or fit.x_column
        need = ["ra", "dec", cfg.magnitude, period] + ([cfg.magnitude_error] if cfg.magnitude_error else [])
        table.require(need, self.name)
        sep = separation_deg(table.array("ra"), table.array("dec"), cfg.centre)
        x, w = table.array(period), table.array(cfg.magnitude)
        ew = table.array(cfg.magnitude_error) if cfg.magnitude_error else np.zeros(len(table))
        in_field = sep <= cfg.radius_deg
        flags = table.flag_columns() if cfg.exclude_flags is None else list(cfg.exclude_flags)
        table.require(flags, self.name)
        flagged = table.flagged(flags) if flags else np.zeros(len(table), bool)
        members = in_field & np.isfinite(x) & np.isfinite(w) & np.isfinite(ew) & ~flagged
        n = int(members.sum())
        if n < cfg.min_members:
            raise StageError(f"{self.name}: {n} LMC members usable (within {cfg.radius_deg} deg of {cfg.centre}: "
                             f"{int(in_field.sum())}, flagged by {flags}: {int((in_field & flagged).sum())}); "
                             f"at least {cfg.min_members} are needed")
        lo, hi = fit.info["x_range"]
        outside = int(((x[members] < lo) | (x[members] > hi)).sum())

        draws = fit.samples
        if len(draws) > cfg.max_draws:
            draws = draws[np.linspace(0, len(draws) - 1, cfg.max_draws).astype(int)]
        a, b, scatter = draws[:, 0:1], draws[:, 1:2], np.exp(draws[:, 2:3])
        mu_i = w[members][None, :] - (a + b * (x[members][None, :] - fit.pivot))
        weight = 1.0 / (ew[members][None, :] ** 2 + scatter**2)
        mu_draws = (weight * mu_i).sum(axis=1) / weight.sum(axis=1)
        stat = float(np.median(1.0 / np.sqrt(weight.sum(axis=1))))
        rng = ctx.rng("lmc") if ctx is not None else np.random.default_rng(0)
        mu_total = mu_draws + rng.normal(0, stat, len(mu_draws))
        q = np.percentile(mu_total, [2.5, 16, 50, 84, 97.5])
        mu, err = float(q[2]), float((q[3] - q[1]) / 2)
        kpc = distance_modulus_to_kpc(mu_total)
        ref, ref_err = LMC_DM_PIETRZYNSKI2019, LMC_DM_PIETRZYNSKI2019_ERR
        summary = {
            "distance_modulus": round(mu, 4), "distance_modulus_err": round(err, 4),
            "distance_modulus_ci68": [round(float(q[1]), 4), round(float(q[3]), 4)],
            "distance_modulus_ci95": [round(float(q[0]), 4), round(float(q[4]), 4)],
            "calibration_err": round(float(np.std(mu_draws)), 4), "statistical_err": round(stat, 4),
            "distance_kpc": round(float(np.median(kpc)), 3),
            "distance_kpc_ci68": [round(float(np.percentile(kpc, 16)), 3), round(float(np.percentile(kpc, 84)), 3)],
            "median_member_modulus": round(float(np.median(mu_i.mean(axis=0))), 4),
            "n_members": n, "n_in_field": int(in_field.sum()), "n_flagged_left_out": int((in_field & flagged).sum()),
            "n_outside_calibration_periods": outside, "exclude_flags": flags,
            "calibration": {"from": folder, "relation": f"M_{fit.y_column} = a + b ({fit.x_column} - {fit.pivot:g})"
                            + (" (fitted to parallaxes)" if fit.parallax else ""),
                            "converged": fit.converged},
            "reference": LMC_DM_REFERENCE,
            "difference_from_reference": round(mu - ref, 4),
            "difference_in_sigma": round((mu - ref) / float(np.hypot(err, ref_err)), 2),
        }
        truth = table.meta.get("lmc_distance_modulus") if table.is_mock else None
        if truth is not None:
            summary["truth_distance_modulus"] = float(truth)
            summary["truth_difference"] = round(mu - float(truth), 4)
        if not fit.converged:
            summary["WARNING"] = "the calibration's MCMC had not converged; this distance inherits that"
            ctx.warn(summary["WARNING"])
        if outside:
            ctx.warn(f"{outside} LMC members have periods outside the calibrators' range {lo:.2f}-{hi:.2f} "
                     "(an extrapolation)")
        ctx.info(f"LMC distance modulus {mu:.3f} ± {err:.3f} mag ({summary['distance_kpc']} kpc) from {n} members; "
                 f"Pietrzyński et al. 2019: {ref} ± {ref_err}" + (f"; truth {truth:.3f}" if truth is not None else ""))
        if ctx.figures_enabled:
            ctx.save_figure(distance_figure(mu_total, (ref, ref_err), truth,
                                            f"LMC: μ = {mu:.3f} ± {err:.3f} mag from {n} Cepheids"
                                            + (" (MOCK DATA)" if table.is_mock else "")),
                            "lmc_distance", caption="Posterior of the LMC distance modulus (calibration draws plus the "
                            "statistical error of the mean) against the eclipsing-binary distance of Pietrzyński et "
                            "al. 2019" + (" and the mock's true value." if truth is not None else "."))
        return Validation(summary=summary)
