"""``orbits.gala``: are the flagged stars on unusual Galactic orbits?

Integrates the flagged rows and a reference sample in a named, version-pinned gala potential,
summarises each orbit (zmax, pericentre, apocentre, eccentricity, radial period) without keeping
it, adds E, L_z and a halo-likeness flag, and compares flagged against reference stars
(medians, fractions over thresholds, two-sample KS tests) with figures.
"""

from __future__ import annotations

import os
import time
from typing import Literal

import numpy as np

from toolkit.core import (Columns, Config, Field, RecipeError, Table, Validation, Validator,
                          column_in, unit_interval)
from toolkit.core import RunContext

from . import figures as figs
from .comparison import compare_samples
from .halo import energy_and_lz, halo_like, lsr_velocity_from_phase_space
from .integration import OrbitIntegrator, summarise_orbits
from .potentials import build_potential, describe_potential
from .selection import find_flag_columns, flagged_mask, reference_mask
from toolkit.core import is_flag, score_for

STATUS_HELP = {
    "ok": "at least two radial turning points: pericentre, apocentre and radial period measured",
    "too_short": "fewer than two radial turning points even at max_duration_myr: rperi/rapo are the extremes "
                 "reached (ecc a lower bound), no radial period; raise max_duration_myr",
    "circular": "radius constant to round-off: ecc ~ 0, no radial period",
    "failed": "the integration raised or diverged for this star; its summaries are NaN",
    "nan_input": "non-finite phase-space coordinates: skipped",
    "not_selected": "neither flagged nor in the reference sample: not integrated",
}
SUMMARY_COLUMNS = {  # output column -> (summary key, unit, description)
    "orbit_zmax": ("zmax", "kpc", "maximum height above the plane over the orbit"),
    "orbit_rperi": ("rperi", "kpc", "pericentre (spherical Galactocentric radius)"),
    "orbit_rapo": ("rapo", "kpc", "apocentre (spherical Galactocentric radius)"),
    "orbit_ecc": ("ecc", None, "eccentricity (r_apo - r_peri) / (r_apo + r_peri)"),
    "orbit_period_r": ("period_r", "Myr", "radial period from the radial turning points"),
}
#: every quantity compared between flagged and reference stars -> its unit ("" for none)
UNITS = {**{col: unit or "" for col, (_, unit, _) in SUMMARY_COLUMNS.items()},
         "E": "km2 / s2", "L_z": "kpc km / s", "v_toomre": "km / s"}
COMPARED = list(UNITS)
INTEGRATED_STATUSES = ("ok", "too_short", "circular")


def _columns_in_unit(table: Table, names: list[str], default_unit: str | None, target: str, what: str,
                     stage: str) -> np.ndarray:
    """The columns as a (len(names), N) array in ``target`` units (``toolkit.core.column_in``)."""
    setting = "length_unit" if target == "kpc" else "velocity_unit"
    return np.stack([column_in(table, name, target, default_unit=default_unit, stage=stage,
                               hint=f"the validator's `{setting}` gives unit-less columns a {what} unit")
                     for name in names]) if names else np.empty((0, len(table)))


class GalaOrbits(Validator):
    name = "orbits.gala"
    summary = "Integrate flagged and reference stars in a named gala potential; compare their orbits."
    row_wise = True

    class Config(Config):
        potential: str = Field("MilkyWayPotential2022", description=(
            "gala.potential class by name. 'MilkyWayPotential' needs `version` (v1 = the lesson's "
            "MilkyWayPotential(), v2 = MilkyWayPotential2022)."))
        version: str | None = Field(None, description="MilkyWayPotential version: v1 or v2 (only for that name).")
        potential_parameters: dict = Field(default_factory=dict, description=(
            "keyword arguments for the potential's constructor (numbers in kpc, Myr, Msun, rad)."))
        duration_myr: float = Field(100.0, gt=0, description=(
            "integration time (Myr) of the first segment, and of every continuation; the lesson uses 100 and 500."))
        max_duration_myr: float | None = Field(2000.0, gt=0, description=(
            "continue a star's orbit, duration_myr at a time, until it shows min_radial_turns radial turning "
            "points and a vertical one, or this total is reached (rounded up to whole segments); null = exactly "
            "duration_myr for every star (summaries of short orbits are then bounds, orbit_status too_short)."))
        min_radial_turns: int = Field(2, ge=1, description=(
            "radial turning points (pericentres + apocentres) a star's orbit must show before it stops: "
            "2 = one of each, so r_peri, r_apo and the eccentricity are measured, not bounded."))
        step_myr: float = Field(1.0, gt=0, description="time step (Myr); the lesson uses 1.")
        integrator: Literal["leapfrog", "dopri853", "rk5", "ruth4"] = Field(
            "leapfrog", description="gala integrator: leapfrog (gala's default), dopri853, rk5 or ruth4.")
        position_columns: list[str] = Field(["x", "y", "z"], min_length=3, max_length=3, description=(
            "Galactocentric Cartesian position columns; units read from the table (pc or kpc)."))
        velocity_columns: list[str] = Field(["v_x", "v_y", "v_z"], min_length=3, max_length=3,
                                            description="Galactocentric Cartesian velocity columns.")
        length_unit: str | None = Field(None, description="unit assumed for position columns that carry none.")
        velocity_unit: str | None = Field(None, description="unit assumed for velocity columns that carry none.")
        flag_columns: list[str] | None = Field(None, description=(
            "boolean columns marking flagged rows (any true = flagged); null = every flag_* column."))
        reference_fraction: float = Field(1.0, ge=0.0, le=1.0, description=(
            "fraction of all rows integrated as the reference sample, chosen per row from a hash of "
            "its id and the seed (1.0 = all rows)."))
        reference_seed: int | None = Field(None, description="seed of the reference hash (null = recipe seed).")
        extrema: Literal["mean", "max"] = Field("mean", description=(
            "mean: zmax/rperi/rapo are means of the turning points (as gala's methods); max: the extremes."))
        chunk_size: int = Field(5000, ge=1, description=(
            "stars integrated at once per worker (bounds memory; results do not depend on it: 5,000 was "
            "measured faster than 20,000 with half the memory)."))
        workers: int | None = Field(None, ge=1, description="threads integrating chunks (null = min(2, CPUs)).")
        lsr_velocity_columns: list[str] = Field(["U_lsr", "V_lsr", "W_lsr"], min_length=3, max_length=3,
                                                description=("U, V, W relative to the LSR for the Toomre velocity; "
                                                             "computed from the phase space when absent."))
        lsr_speed: float | None = Field(None, description=(
            "LSR rotation speed (km/s) when U, V, W are computed; null = potential's circular speed at R."))
        halo_toomre_limit: float | None = Field(180.0, description=(
            "halo-like when |v - v_LSR| exceeds this (km/s; Nissen & Schuster 2010); null = off."))
        halo_zmax_limit: float | None = Field(3.0, description=(
            "halo-like when orbit zmax exceeds this (kpc); null = off."))
        halo_ecc_limit: float | None = Field(0.7, description=(
            "halo-like when orbit eccentricity exceeds this; null = off."))
        thresholds: dict[str, float] = Field({"orbit_zmax": 1.0, "orbit_ecc": 0.5}, description=(
            "fractions of flagged and reference stars above these values are reported."))
        rank_by: str | None = Field(None, description=(
            "column ranking flagged stars for the orbit plots (null = score_<first flag step>, else orbit_zmax)."))
        n_orbit_plots: int = Field(5, ge=0, description="flagged orbits drawn in full (re-integrated).")
        n_reference_orbits: int = Field(200, ge=0, description="reference orbits drawn in full as the background.")
        circular_tolerance: float = Field(1e-6, gt=0, description="eccentricity below which an orbit is circular.")

    def __init__(self, config=None, **params) -> None:
        super().__init__(config, **params)
        c = self.config
        bad = [k for k in c.thresholds if k not in COMPARED]
        if bad:
            raise RecipeError(f"thresholds: unknown quantity {bad}; use any of {', '.join(COMPARED)}")
        n_steps = c.duration_myr / c.step_myr
        if abs(n_steps - round(n_steps)) > 1e-6 or round(n_steps) < 2:
            raise RecipeError(f"duration_myr ({c.duration_myr}) must be a whole number (>= 2) of step_myr "
                              f"({c.step_myr}) steps")
        self.n_steps = int(round(n_steps))
        self.max_segments = 1
        if c.max_duration_myr is not None:
            # whole segments of duration_myr, rounded up; never shorter than one segment
            self.max_segments = max(1, int(np.ceil(c.max_duration_myr / c.duration_myr - 1e-9)))
        self.potential = build_potential(c.potential, c.version, c.potential_parameters)

    # ------------------------------------------------------------------
    def select(self, table: Table, ctx: RunContext) -> np.ndarray:
        """Flagged rows and the reference sample: the rows a streamed run must hand to ``validate``."""
        c = self.config
        seed = ctx.seed if c.reference_seed is None else c.reference_seed
        ids = table.data[table.id_column].to_numpy()
        return flagged_mask(table, find_flag_columns(table, c.flag_columns, self.name)) | \
            reference_mask(ids, c.reference_fraction, seed)

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        c = self.config
        stage = self.name
        table.require(list(c.position_columns) + list(c.velocity_columns), stage)
        pos = _columns_in_unit(table, c.position_columns, c.length_unit, "kpc", "length", stage)
        vel = _columns_in_unit(table, c.velocity_columns, c.velocity_unit, "km/s", "velocity", stage)
        n = len(table)
        finite = np.isfinite(pos).all(0) & np.isfinite(vel).all(0)

        flag_cols = find_flag_columns(table, c.flag_columns, stage)
        flagged = flagged_mask(table, flag_cols)
        seed = ctx.seed if c.reference_seed is None else c.reference_seed
        ids = table.data[table.id_column].to_numpy()
        reference = reference_mask(ids, c.reference_fraction, seed)
        selected = (flagged | reference)
        run_rows = np.flatnonzero(selected & finite)

        energy, lz = energy_and_lz(self.potential, pos, vel)
        U, V, W, toomre_from = self._lsr_velocity(table, pos, vel, stage)
        toomre = np.sqrt(U**2 + V**2 + W**2)

        integrator = OrbitIntegrator(self.potential, c.step_myr, self.n_steps, c.integrator)
        workers = c.workers or min(2, os.cpu_count() or 1)
        t0 = time.perf_counter()
        n_chunks = -(-len(run_rows) // c.chunk_size)
        with ctx.progress("integrating orbits", total=n_chunks) as advance:
            res = summarise_orbits(integrator, pos[:, run_rows], vel[:, run_rows], chunk_size=c.chunk_size,
                                   workers=workers, extrema=c.extrema, circular_tolerance=c.circular_tolerance,
                                   advance=advance, min_radial_turns=c.min_radial_turns,
                                   max_segments=self.max_segments)
        seconds = time.perf_counter() - t0

        values = {col: np.full(n, np.nan) for col in SUMMARY_COLUMNS}
        for col, (key, _, _) in SUMMARY_COLUMNS.items():
            values[col][run_rows] = res.values[key]
        status = np.full(n, "not_selected", dtype=object)
        status[~finite] = "nan_input"
        sub = np.where(res.failed, "failed", np.where(res.circular, "circular",
                                                       np.where(res.radial_turns >= 2, "ok", "too_short")))
        status[run_rows] = sub
        integrated = np.isin(status, INTEGRATED_STATUSES)
        duration = np.full(n, np.nan)
        duration[run_rows] = np.where(res.failed, np.nan, res.duration)
        zmax_bound = np.zeros(n, bool)
        zmax_bound[run_rows] = ~res.failed & ~res.circular & (res.z_turns < 1)
        halo = halo_like(toomre, values["orbit_zmax"], values["orbit_ecc"], c.halo_toomre_limit,
                         c.halo_zmax_limit, c.halo_ecc_limit)

        cols = Columns()
        for col, (_, unit, desc) in SUMMARY_COLUMNS.items():
            cols.add(col, values[col], unit=unit,
                     description=f"{desc}; {c.potential}{'/' + c.version if c.version else ''}, "
                                 f"{self._duration_text()} at {c.step_myr:g} Myr (NaN: not integrated)")
        cols.add("orbit_duration", duration, unit="Myr",
                 description="time each orbit was integrated (continued until its summaries were measured, or "
                             "the maximum was reached)")
        cols.add("orbit_status", status.astype(str),
                 description="orbit result: " + "; ".join(f"{k} = {v}" for k, v in STATUS_HELP.items()))
        cols.add("E", energy, unit=UNITS["E"], description=f"specific orbital energy v^2/2 + Phi ({c.potential})")
        cols.add("L_z", lz, unit=UNITS["L_z"],
                 description="z angular momentum x v_y - y v_x (astropy Galactocentric: disc rotation < 0)")
        cols.add("v_toomre", toomre, unit=UNITS["v_toomre"], description=f"speed relative to the LSR ({toomre_from})")
        cols.add("halo_like", halo, description=self._halo_description())

        if len(flag_cols) == 0:
            ctx.warn("no flag columns (flag_*) in the table: every integrated star is a reference star; "
                     "run a detector first or name `flag_columns`")
        n_nan_sel = int((selected & ~finite).sum())
        if n_nan_sel:
            ctx.warn(f"{n_nan_sel} selected row(s) have non-finite phase-space coordinates and were skipped "
                     "(orbit_status = nan_input)")
        if res.failed.any():
            ctx.warn(f"{int(res.failed.sum())} orbit integration(s) failed (orbit_status = failed): "
                     + "; ".join(res.errors))

        summary = self._summary(table, ctx, flag_cols, flagged, reference, selected, finite, status, integrated, halo,
                                {**values, "E": energy, "L_z": lz, "v_toomre": toomre}, toomre_from,
                                seconds, workers, res.errors, duration, zmax_bound)
        if getattr(ctx, "figures_enabled", False):
            self._figures(table, ids, ctx, integrator, pos, vel, flag_cols, flagged, reference, integrated, halo,
                          values, energy, lz, (U, V, W), seed)
        return Validation(cols, summary)

    # ------------------------------------------------------------------
    def _lsr_velocity(self, table, pos, vel, stage):
        c = self.config
        if all(name in table.data.columns for name in c.lsr_velocity_columns):
            uvw = _columns_in_unit(table, c.lsr_velocity_columns, c.velocity_unit or "km/s", "km/s",
                                   "velocity", stage)
            return uvw[0], uvw[1], uvw[2], f"columns {', '.join(c.lsr_velocity_columns)}"
        U, V, W = lsr_velocity_from_phase_space(self.potential, pos, vel, c.lsr_speed)
        how = (f"LSR speed {c.lsr_speed:g} km/s" if c.lsr_speed is not None
               else "LSR = the potential's circular speed at each star's R")
        return U, V, W, f"computed from the Galactocentric phase space, {how}"

    def _halo_description(self) -> str:
        c = self.config
        parts = []
        if c.halo_toomre_limit is not None:
            parts.append(f"|v - v_LSR| > {c.halo_toomre_limit:g} km/s")
        if c.halo_zmax_limit is not None:
            parts.append(f"orbit_zmax > {c.halo_zmax_limit:g} kpc")
        if c.halo_ecc_limit is not None:
            parts.append(f"orbit_ecc > {c.halo_ecc_limit:g}")
        return "halo-like orbit: " + (" or ".join(parts) if parts else "no criterion enabled")

    def _summary(self, table, ctx: RunContext, flag_cols, flagged, reference, selected, finite, status, integrated, halo,
                 quantities, toomre_from, seconds, workers, errors, duration, zmax_bound) -> dict:
        c = self.config
        frame = getattr(ctx, "frame", None)   # set by the step that computed the phase-space columns
        ref_only = reference & ~flagged & integrated
        flag_int = flagged & integrated
        comparison = {}
        for name in COMPARED:
            q = quantities[name]
            comparison[name] = {"unit": UNITS[name],
                                **compare_samples(q[flag_int], q[ref_only], c.thresholds.get(name))}
        statuses, counts = np.unique(status.astype(str), return_counts=True)
        n_flag = int(flagged.sum())
        return {
            "potential": describe_potential(self.potential, c.potential, c.version, c.potential_parameters),
            "integration": {"integrator": c.integrator, "step_myr": c.step_myr, "duration_myr": c.duration_myr,
                            "max_duration_myr": c.max_duration_myr, "min_radial_turns": c.min_radial_turns,
                            "n_steps": self.n_steps, "extrema": c.extrema, "chunk_size": c.chunk_size,
                            "workers": workers, "seconds": round(seconds, 3),
                            "duration_per_star_myr": self._duration_stats(duration[integrated])},
            "bounds": self._bounds(status, integrated, zmax_bound),
            "frame": ({"recorded_by": frame.recorded_by, "parameters": frame.parameters} if frame else
                      "no step recorded a frame: the phase-space columns are used as given"),
            "columns": {"position": {n: table.info[n].unit or c.length_unit for n in c.position_columns},
                        "velocity": {n: table.info[n].unit or c.velocity_unit for n in c.velocity_columns},
                        "toomre_velocity": toomre_from},
            "rows": {"total": int(len(table)), "flag_columns": flag_cols, "flagged": n_flag,
                     "reference": int(reference.sum()), "reference_fraction": c.reference_fraction,
                     "selected": int(selected.sum()), "integrated": int(integrated.sum()),
                     "nan_phase_space": int((~finite).sum()),
                     "nan_phase_space_selected_skipped": int((selected & ~finite).sum()),
                     "failed": int((status == "failed").sum())},
            "orbit_status": {str(s): int(k) for s, k in zip(statuses, counts)},
            "status_meaning": STATUS_HELP,
            "halo_like": {"definition": self._halo_description(), "n": int(halo.sum()),
                          "fraction_flagged": round(float(halo[flagged].mean()), 5) if n_flag else None,
                          "fraction_reference": (round(float(halo[reference & ~flagged].mean()), 5)
                                                 if (reference & ~flagged).any() else None)},
            "comparison": comparison,
            "comparison_note": ("flagged (integrated) against reference-sample stars that are not flagged; "
                                "two-sided two-sample KS test (scipy.stats.ks_2samp)"),
            **({"integration_errors": errors} if errors else {}),
        }

    def _duration_text(self) -> str:
        c = self.config
        if c.max_duration_myr is None or self.max_segments == 1:
            return f"{c.duration_myr:g} Myr"
        return (f"{c.duration_myr:g}-{c.max_duration_myr:g} Myr (continued until {c.min_radial_turns} radial "
                "turning points)")

    @staticmethod
    def _duration_stats(d: np.ndarray) -> dict:
        d = d[np.isfinite(d)]
        if not len(d):
            return {}
        values, counts = np.unique(np.round(d, 6), return_counts=True)
        return {"median": float(np.median(d)), "max": float(d.max()),
                "stars_by_duration": {f"{v:g}": int(k) for v, k in zip(values, counts)}}

    @staticmethod
    def _bounds(status, integrated, zmax_bound) -> dict:
        """How many integrated stars have summaries that are bounds rather than measurements."""
        n_int = int(integrated.sum())
        short = int((status == "too_short").sum())
        zb = int((zmax_bound & integrated).sum())
        return {"integrated": n_int,
                "radial_bounds": short,
                "radial_measured": n_int - short - int((status == "circular").sum()),
                "zmax_bounds": zb,
                "fraction_with_bounds": round((short + int((zmax_bound & integrated & (status != "too_short")).sum()))
                                              / n_int, 6) if n_int else None,
                "meaning": ("radial_bounds: orbits with fewer than the required radial turning points even at "
                            "max_duration_myr, whose orbit_rperi/orbit_rapo are the extremes reached (orbit_ecc a "
                            "lower bound, no period); zmax_bounds: no vertical turning point, orbit_zmax is the "
                            "largest |z| reached (a lower bound)")}

    def _rank_column(self, table, flag_cols) -> str:
        c = self.config
        if c.rank_by is not None:
            table.require([c.rank_by], self.name)
            return c.rank_by
        for f in flag_cols:
            score = score_for(f)
            if is_flag(f) and score in table.data.columns:
                return score
        return "orbit_zmax"

    def _figures(self, table, ids, ctx: RunContext, integrator, pos, vel, flag_cols, flagged, reference, integrated, halo,
                 values, energy, lz, uvw, seed) -> None:
        c = self.config
        zall, zflag = values["orbit_zmax"][integrated], values["orbit_zmax"][integrated & flagged]
        ctx.save_figure(figs.histogram_figure(zall, zflag, "orbit zmax [kpc]", figs.zmax_bins(zall)), "zmax_hist",
                        caption=f"zmax of flagged against all integrated stars ({c.duration_myr:g} Myr in "
                                f"{c.potential}); density on a log scale; x axis to the 99.9th percentile.")
        eall, eflag = values["orbit_ecc"][integrated], values["orbit_ecc"][integrated & flagged]
        ctx.save_figure(figs.histogram_figure(eall, eflag, "orbit eccentricity", np.linspace(0, 1, 51)),
                        "ecc_hist", caption="Eccentricity of flagged against all integrated stars; density, log "
                                            "scale. Over a short integration it is a lower bound (status too_short).")
        U, V, W = uvw
        ctx.save_figure(figs.toomre_figure(U, V, W, flagged, halo, c.halo_toomre_limit), "toomre",
                        caption="Toomre diagram: flagged stars in red, halo-like stars circled; dashed: the "
                                "Toomre-velocity limit of the halo-like flag.")
        ctx.save_figure(figs.energy_figure(lz, energy, flagged, halo), "energy_lz",
                        caption="Energy against L_z for every star with finite phase space.")

        rank = self._rank_column(table, flag_cols)
        rank_values = values[rank] if rank in values else table.array(rank)
        cand = np.flatnonzero(flagged & integrated)
        order = np.argsort(-np.nan_to_num(rank_values[cand], nan=-np.inf), kind="stable")
        top = cand[order[: c.n_orbit_plots]]
        ref_rows = np.flatnonzero(reference & ~flagged & integrated)
        if len(ref_rows) > c.n_reference_orbits:
            order = np.argsort(unit_interval(ids[ref_rows], seed, "orbits.figure"), kind="stable")
            ref_rows = ref_rows[order[: c.n_reference_orbits]]
        if len(top) == 0 and len(ref_rows) == 0:
            return
        flagged_orbits = []
        if len(top):
            xyz, _ = integrator.orbits(pos[:, top], vel[:, top])
            flagged_orbits = [(f"{table.id_column} {ids[i]}", xyz[:, :, k]) for k, i in enumerate(top)]
        ref_xyz = integrator.orbits(pos[:, ref_rows], vel[:, ref_rows])[0] if len(ref_rows) else None
        ctx.save_figure(figs.orbit_figure(flagged_orbits, ref_xyz), "orbits",
                        caption=f"Orbits of the top {len(top)} flagged stars by {rank} over {len(ref_rows)} "
                                f"reference orbits ({c.duration_myr:g} Myr); dots mark today's positions.")
