"""``LeavittFit``: a period-luminosity relation fitted by emcee, that scores any table.

The scikit-learn shape: ``LeavittFit.fit(x, y, y_err, ...)`` learns the
posterior; the fitted object's ``score(table)`` scores any chunk of rows (it
reads only that chunk's columns, so scores are chunk-pure). ``state()`` and
``arrays()`` are what the detector saves (through ``toolkit.core.models``,
which lists the files with their sha256 and checks them on load);
``from_state`` rebuilds the fit.

Convergence is judged by the integrated autocorrelation time tau (Goodman &
Weare 2010; emcee's estimator, Foreman-Mackey et al. 2013): the chain after
burn-in must be at least ``autocorr_multiple`` x tau long for the relation's
parameters and the outlier fraction (emcee's documentation suggests 50); the
tau of every parameter is reported. The result carries ``converged`` and the
tau values; the detector refuses or warns, never passes a short chain silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolkit.core import Table

from .likelihood import (GAUSSIAN_PARAMS, KAPPA, MIXTURE_PARAMS, LineData, Priors, least_squares, log_posterior,
                         predicted_parallax)
from .likelihood import outlier_probability as _outlier_probability

SCORE_KINDS = ("sigma", "outlier_probability")
#: the posterior draws kept (thinned by tau/2, then at most this many, seeded)
MAX_SAMPLES = 4000
#: convergence is judged on the first parameters: zero_point, slope, ln_scatter, outlier_fraction
JUDGED_PARAMS = 4
#: draws used to average the outlier probability when scoring (bounded cost per chunk)
SCORE_SAMPLES = 400


@dataclass
class Sampling:
    n_walkers: int = 16
    n_steps: int = 2000
    burn: int = 400
    autocorr_multiple: float = 50.0


@dataclass
class LeavittFit:
    """A fitted line y = a + b (x - pivot) with intrinsic scatter (and outlier mixture), as posterior draws."""

    x_column: str
    y_column: str
    y_error_column: str | None
    pivot: float
    likelihood: str
    samples: np.ndarray                      # (n_draws, n_params)
    autocorr_time: np.ndarray                # (n_params,)
    score_kind: str = "sigma"
    info: dict = field(default_factory=dict)  # sampling settings, least squares, acceptance, units, ...
    #: parallax space: {"column", "error_column", "zero_point"}; y is then an apparent magnitude
    parallax: dict | None = None

    @property
    def param_names(self) -> list[str]:
        return MIXTURE_PARAMS if self.likelihood == "mixture" else GAUSSIAN_PARAMS

    @property
    def converged(self) -> bool:
        return bool(self.info.get("converged"))

    def median(self) -> dict[str, float]:
        return dict(zip(self.param_names, np.median(self.samples, axis=0).tolist()))

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(cls, x, y, y_err, *, x_column: str, y_column: str, y_error_column: str | None, pivot: float,
            likelihood: str = "mixture", sampling: Sampling | None = None, seed: int = 0,
            score_kind: str = "sigma", units: dict | None = None, plx=None, plx_err=None,
            parallax: dict | None = None) -> "LeavittFit":
        """Sample the posterior with emcee (vectorised log-posterior), starting from the MAP.

        With ``plx``/``plx_err`` (mas, zero-point already subtracted) the fit is in parallax space and ``y``
        is an apparent magnitude; ``parallax`` records the columns and zero-point for scoring other tables.
        """
        import emcee
        from scipy.optimize import minimize

        s = sampling or Sampling()
        x, y = np.asarray(x, float), np.asarray(y, float)
        var = np.zeros_like(y) if y_err is None else np.asarray(y_err, float) ** 2
        if plx is not None:
            plx, plx_var = np.asarray(plx, float), np.asarray(plx_err, float) ** 2
            data = LineData(x - pivot, y, var, plx, plx_var)
            # the lab's least squares (and the sampler's start) use magnitudes from the positive parallaxes
            pos = plx > 0
            absolute = y[pos] - (10.0 - 5.0 * np.log10(plx[pos]))
            ls_data = LineData(x[pos] - pivot, absolute, var[pos] + (5 / np.log(10) * np.sqrt(plx_var[pos]) / plx[pos]) ** 2)
        else:
            data = ls_data = LineData(x - pivot, y, var)
        names = MIXTURE_PARAMS if likelihood == "mixture" else GAUSSIAN_PARAMS
        priors = Priors.for_data(data)
        bounds = priors.bounds(names)

        ls_w = least_squares(ls_data, weighted=y_err is not None or plx is not None)
        ls_u = least_squares(ls_data, weighted=False)
        resid = ls_data.y - (ls_w["zero_point"] + ls_w["slope"] * ls_data.x)
        robust = 1.4826 * np.median(np.abs(resid - np.median(resid)))
        scatter0 = np.sqrt(max(robust**2 - np.median(ls_data.var), 1e-4))
        start = [ls_w["zero_point"], ls_w["slope"], np.log(scatter0)]
        if likelihood == "mixture" and plx is not None:
            start += [0.05, 0.0, np.log(1.0)]
        elif likelihood == "mixture":
            start += [0.05, float(np.median(y)), np.log(max(float(np.std(y)), 0.1) * 2)]
        start = np.clip(start, bounds[:, 0] + 1e-6, bounds[:, 1] - 1e-6)
        neg = lambda t: -log_posterior(t[None, :], data, bounds)[0]  # noqa: E731
        opt = minimize(neg, start, method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-5, "fatol": 1e-4, "adaptive": True})
        centre = opt.x if np.isfinite(opt.fun) else start

        rng = np.random.default_rng(seed)
        spread = np.array([0.01, 0.01, 0.05, 0.005, 0.1, 0.05])[:len(names)]
        p0 = centre + spread * rng.standard_normal((s.n_walkers, len(names)))
        p0 = np.clip(p0, bounds[:, 0] + 1e-9, bounds[:, 1] - 1e-9)
        if likelihood == "mixture":
            p0[:, 3] = np.abs(p0[:, 3])
        # differential-evolution moves (ter Braak 2006; snooker: ter Braak & Vrugt 2008) mix about 2.5x faster
        # than the default stretch move on this posterior (tau ~ 20 vs ~ 50 steps, measured on the mock)
        moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
        sampler = emcee.EnsembleSampler(s.n_walkers, len(names), log_posterior, args=(data, bounds),
                                        vectorize=True, moves=moves)
        # emcee draws its stretch moves from a numpy RandomState: seed it, so a run is reproducible
        sampler.random_state = np.random.RandomState(int(rng.integers(2**31 - 1))).get_state()
        sampler.run_mcmc(p0, s.n_steps, progress=False)
        tau = sampler.get_autocorr_time(discard=s.burn, tol=0)
        kept = s.n_steps - s.burn
        # judged on the relation (a, b, sigma_int) and the outlier fraction; the outlier component's mean and
        # width are nuisance parameters that wander slowly when there are almost no outliers (all tau reported)
        judged = tau[:JUDGED_PARAMS]
        tau_max = float(np.max(judged)) if np.isfinite(judged).all() else float("inf")
        converged = bool(np.isfinite(tau_max) and kept >= s.autocorr_multiple * tau_max)
        tau_all = float(np.max(tau)) if np.isfinite(tau).all() else tau_max
        thin = max(1, int(tau_all / 2)) if np.isfinite(tau_all) else 1
        chain = sampler.get_chain(discard=s.burn, thin=thin, flat=True)
        if len(chain) > MAX_SAMPLES:
            chain = chain[np.sort(rng.choice(len(chain), MAX_SAMPLES, replace=False))]
        info = {"n_walkers": s.n_walkers, "n_steps": s.n_steps, "burn": s.burn, "thin": thin,
                "autocorr_multiple": s.autocorr_multiple, "converged": converged,
                "chain_over_tau": round(kept / tau_max, 2) if np.isfinite(tau_max) and tau_max > 0 else None,
                "acceptance_fraction": round(float(np.mean(sampler.acceptance_fraction)), 4),
                "n_fit": int(len(y)), "x_range": [float(x.min()), float(x.max())],
                "map": dict(zip(names, np.asarray(centre, float).tolist())),
                "least_squares": {"weighted": ls_w if y_err is not None or plx is not None else None,
                                  "unweighted": ls_u, "on": "magnitudes from positive parallaxes"
                                  if plx is not None else y_column},
                "space": "parallax" if plx is not None else "magnitude",
                "priors": {n: [float(lo), float(hi)] for n, (lo, hi) in zip(names, bounds)},
                "units": dict(units or {}), "emcee_version": emcee.__version__}
        return cls(x_column, y_column, y_error_column, float(pivot), likelihood, np.asarray(chain, float),
                   np.asarray(tau, float), score_kind, info, dict(parallax) if plx is not None else None)

    # ---------------------------------------------------------------- score
    def _inputs(self, table: Table, stage: str) -> dict[str, np.ndarray]:
        """x, y, var (and plx, plx_var in parallax space) of every row, with ``ok`` = all finite."""
        need = [self.x_column, self.y_column] + ([self.y_error_column] if self.y_error_column else [])
        if self.parallax:
            need += [self.parallax["column"], self.parallax["error_column"]]
        table.require(need, stage)
        d = {"x": table.array(self.x_column), "y": table.array(self.y_column)}
        d["var"] = table.array(self.y_error_column) ** 2 if self.y_error_column else np.zeros(len(table))
        if self.parallax:
            d["plx"] = table.array(self.parallax["column"]) - self.parallax["zero_point"]
            d["plx_var"] = table.array(self.parallax["error_column"]) ** 2
        d["ok"] = np.all([np.isfinite(v) for v in d.values()], axis=0)
        if self.parallax:
            d["ok"] &= d["plx_var"] > 0
        return d

    def residuals(self, table: Table, stage: str = "cepheid fit", outlier: bool = True) -> dict[str, np.ndarray]:
        """Per row: magnitude residual from the line (posterior median), z = residual / total sigma (in parallax
        units in parallax space), the outlier probability (NaN unless ``outlier``: it is the costly part), and
        ``magnitude``: what is plotted against x (y, or the absolute magnitude from a positive parallax)."""
        d = self._inputs(table, stage)
        ok = d["ok"]
        med = self.median()
        scatter = np.exp(med["ln_scatter"])
        out = {k: np.full(len(table), np.nan) for k in ("resid", "z", "p_outlier", "magnitude")}
        line = self.predict(d["x"][ok])
        if self.parallax:
            plx, plx_var = d["plx"][ok], d["plx_var"][ok]
            plx_pred = predicted_parallax(line, d["y"][ok])
            sigma = np.sqrt(plx_var + (KAPPA * plx_pred) ** 2 * (d["var"][ok] + scatter**2))
            out["z"][ok] = (plx - plx_pred) / sigma      # > 0: nearer than the relation says, i.e. fainter
            with np.errstate(divide="ignore", invalid="ignore"):
                out["magnitude"][ok] = np.where(plx > 0, d["y"][ok] - (10.0 - 5.0 * np.log10(plx)), np.nan)
            out["resid"][ok] = out["magnitude"][ok] - line
            data = LineData(d["x"][ok] - self.pivot, d["y"][ok], d["var"][ok], plx, plx_var)
        else:
            out["magnitude"][ok] = d["y"][ok]
            out["resid"][ok] = d["y"][ok] - line
            out["z"][ok] = out["resid"][ok] / np.sqrt(d["var"][ok] + scatter**2)
            data = LineData(d["x"][ok] - self.pivot, d["y"][ok], d["var"][ok])
        if outlier:
            draws = self.samples[np.linspace(0, len(self.samples) - 1,
                                             min(SCORE_SAMPLES, len(self.samples))).astype(int)]
            out["p_outlier"][ok] = _outlier_probability(draws, data)
        return out

    def score(self, table: Table, stage: str = "cepheid fit") -> np.ndarray:
        """|residual| / total sigma, or the outlier probability (``score_kind``); NaN where inputs are missing."""
        r = self.residuals(table, stage, outlier=self.score_kind == "outlier_probability")
        return np.abs(r["z"]) if self.score_kind == "sigma" else r["p_outlier"]

    def predict(self, x) -> np.ndarray:
        med = self.median()
        return med["zero_point"] + med["slope"] * (np.asarray(x, float) - self.pivot)

    # --------------------------------------------------------------- report
    def posterior_summary(self) -> dict:
        """Median, 68 % and 95 % intervals of each parameter (and of sigma_int, the outlier width)."""
        cols = dict(zip(self.param_names, self.samples.T))
        cols["scatter"] = np.exp(cols.pop("ln_scatter"))
        if "ln_outlier_width" in cols:
            cols["outlier_width"] = np.exp(cols.pop("ln_outlier_width"))
        cols[f"zero_point_at_{self.x_column}_0"] = cols["zero_point"] - cols["slope"] * self.pivot
        out = {}
        for name, v in cols.items():
            q = np.percentile(v, [2.5, 16, 50, 84, 97.5])
            out[name] = {"median": round(float(q[2]), 5), "ci68": [round(float(q[1]), 5), round(float(q[3]), 5)],
                         "ci95": [round(float(q[0]), 5), round(float(q[4]), 5)],
                         "std": round(float(np.std(v)), 5)}
        return out

    # ----------------------------------------------------------- state
    def state(self) -> dict:
        """Everything but the arrays, JSON-able (the detector saves it in model.json through core)."""
        return {"x_column": self.x_column, "y_column": self.y_column, "y_error_column": self.y_error_column,
                "pivot": self.pivot, "likelihood": self.likelihood, "param_names": self.param_names,
                "score_kind": self.score_kind, "parallax": self.parallax, "info": self.info}

    def arrays(self) -> dict[str, np.ndarray]:
        """The posterior draws and autocorrelation times (saved as posterior.npz)."""
        return {"samples": self.samples, "autocorr_time": self.autocorr_time}

    @classmethod
    def from_state(cls, state: dict, arrays: dict[str, np.ndarray]) -> "LeavittFit":
        """Rebuild a fit from ``state()`` and ``arrays()``; a draw array of the wrong shape is an error."""
        fit = cls(state["x_column"], state["y_column"], state["y_error_column"], float(state["pivot"]),
                  state["likelihood"], np.asarray(arrays["samples"], float),
                  np.asarray(arrays["autocorr_time"], float), state["score_kind"], dict(state["info"]),
                  state.get("parallax"))
        n = len(fit.param_names)
        if fit.samples.ndim != 2 or fit.samples.shape[1] != n or len(fit.samples) == 0 \
                or fit.autocorr_time.shape != (n,):
            raise ValueError(f"posterior draws of shape {fit.samples.shape} and autocorrelation times of shape "
                             f"{fit.autocorr_time.shape} do not fit the {n} parameters of the {fit.likelihood} "
                             "likelihood")
        if fit.likelihood not in ("mixture", "gaussian") or fit.score_kind not in SCORE_KINDS:
            raise ValueError(f"unknown likelihood {fit.likelihood!r} or score {fit.score_kind!r}")
        return fit
