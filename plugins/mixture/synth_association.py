"""``mixture.synth_association``: Chronostar-style synthetic moving groups in a field, as Gaia would measure them.

For each association: draw birth states from a spherical 6D Gaussian (position
dispersion in pc, velocity dispersion in km/s) centred on the birth mean that
traces forward to the configured *present-day* mean (as Chronostar's
``generate_association`` does), carry every star forward by the age with the
epicyclic map (epicyclic.py, the same code the age fit uses) or, with
``integrator: gala``, integrate it in a named gala potential (gala_association.py,
independent of the fit: what benchmarks/mixture.py uses), add a field
background (age 0: drawn as it is today), convert to ra/dec/parallax/pm/RV and
"measure" with Gaia-like errors and correlations (gaia_errors.py).
Defaults are the Chronostar worked example.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from toolkit.core import rechunk, TRUTH_COLUMN, ColumnInfo, Config, Field, RecipeError, Source, StageError, Table
from toolkit.core import RunContext

from .cartesian_feature import CORRELATIONS, ERROR_UNITS, VALUE_UNITS
from .cartesian_transform import cartesian_to_astrometry
from .epicyclic import EpicyclicTracer
from .galactic_constants import R0_KPC
from .gaia_errors import measure

BACKGROUND = "background"


class AssociationSpec(Config):
    name: str = Field("association", description="label in truth_population")
    n_stars: int = Field(200, ge=1, description="number of member stars")
    mean_now: list[float] = Field(default_factory=lambda: [1.0] * 6, min_length=6, max_length=6,
                                  description="present-day heliocentric mean X Y Z (pc) U V W (km/s)")
    position_dispersion: float = Field(50.0, gt=0, description="birth position dispersion per axis (pc)")
    velocity_dispersion: float = Field(1.5, gt=0, description="birth velocity dispersion per axis (km/s)")
    age: float = Field(30.0, ge=0, description="age (Myr)")


class BackgroundSpec(Config):
    n_stars: int = Field(1000, ge=0, description="number of field stars")
    mean: list[float] = Field(default_factory=lambda: [0.0] * 6, min_length=6, max_length=6,
                              description="field mean X Y Z (pc) U V W (km/s)")
    position_dispersion: float = Field(500.0, gt=0, description="field position dispersion per axis (pc)")
    velocity_dispersion: float = Field(30.0, gt=0, description="field velocity dispersion per axis (km/s)")
    max_distance: float | None = Field(None, gt=0, description="redraw field stars until within this distance (pc)")


class EpicyclicSpec(Config):
    oort_a: float = Field(15.3, description="Oort A (km/s/kpc; Bovy 2017); ignored when `potential` is set")
    oort_b: float = Field(-11.9, description="Oort B (km/s/kpc; Bovy 2017); ignored when `potential` is set")
    nu: float = Field(74.0, gt=0, description="vertical frequency (km/s/kpc); ignored when `potential` is set")
    potential: str | None = Field(None, description=(
        "named gala potential (e.g. MilkyWayPotential2022) whose local A, B, nu at r0_kpc replace the numbers above"))
    r0_kpc: float = Field(R0_KPC, gt=0, description="Sun's Galactocentric radius (kpc) for `potential`")
    solar_motion: list[float] = Field(default_factory=lambda: [11.1, 12.24, 7.25], min_length=3, max_length=3,
                                      description="Sun's motion relative to the LSR, U V W (km/s; Schoenrich+ 2010)")
    measured_frame: Literal["lsr", "corotating"] = Field("lsr", description=(
        "frame of measured velocities once the solar motion is added: lsr (non-rotating, as measured; "
        "converted to the co-rotating frame for tracing, as Chronostar does) or corotating (no conversion: "
        "the toolkit before issue 18, for comparison only)"))
    vertical: Literal["harmonic", "potential"] | None = Field(None, description=(
        "vertical motion: harmonic (Z'' = -nu^2 Z, Chronostar's) or potential (the named potential's own "
        "anharmonic vertical force, traced per star); null = potential when `potential` is set, else harmonic"))

    def constants(self) -> dict:
        """The A, B, nu (km/s/kpc) used: from ``potential`` when named, else as given."""
        if self.potential is None:
            return {"oort_a": self.oort_a, "oort_b": self.oort_b, "nu": self.nu, "source": "given"}
        from .galactic_constants import local_constants, named_potential

        c = local_constants(named_potential(self.potential), self.r0_kpc)
        return {**c, "source": f"{self.potential} at R0 = {self.r0_kpc:g} kpc"}

    def tracer(self) -> EpicyclicTracer:
        c = self.constants()
        vertical = self.vertical or ("potential" if self.potential else "harmonic")
        profile = None
        if vertical == "potential":
            if self.potential is None:
                raise RecipeError("epicyclic: `vertical: potential` needs `potential:` named (e.g. MilkyWayPotential2022)")
            from .galactic_constants import named_potential
            from .vertical_motion import VerticalProfile

            profile = VerticalProfile.from_potential(named_potential(self.potential), self.r0_kpc,
                                                     source=f"{self.potential} at R0 = {self.r0_kpc:g} kpc")
        return EpicyclicTracer(c["oort_a"], c["oort_b"], c["nu"], tuple(self.solar_motion), self.measured_frame,
                               profile)


class SyntheticAssociation(Source):
    name = "mixture.synth_association"
    aliases = ("synth.association",)   # the former name, until the next release
    summary = ("Synthetic moving groups (6D Gaussian at birth, traced forward epicyclically) in a field, "
               "measured with Gaia-like errors; truth in truth_population (mock).")

    class Config(Config):
        associations: list[AssociationSpec] = Field(default_factory=lambda: [AssociationSpec()],
                                                    description="the groups to plant")
        background: BackgroundSpec = Field(default_factory=BackgroundSpec, description="the field population")
        error_scale: float = Field(0.3, gt=0, description="multiplies the typical Gaia errors (0.3 in the worked example)")
        missing_rv_fraction: float = Field(0.0, ge=0, le=1, description="fraction of stars whose RV is removed (NaN)")
        min_parallax: float | None = Field(None, description="drop stars with measured parallax below this (mas)")
        epicyclic: EpicyclicSpec = Field(default_factory=EpicyclicSpec, description="orbit model (same as mixture.spacetime)")
        integrator: Literal["epicyclic", "gala"] = Field("epicyclic", description=(
            "epicyclic: trace members with the fit's own linear map; gala: integrate them in the named "
            "potential (epicyclic.potential, default MilkyWayPotential2022), independent of the fit"))

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """An association and its field, drawn jointly: generated once, handed on in chunks (for --executor stream)."""
        yield from rechunk([self.load(ctx)], chunk_rows)

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        rng = ctx.rng("synth.association")
        tracer = cfg.epicyclic.tracer()
        trace = tracer.forward
        if cfg.integrator == "gala":
            from functools import partial

            from .galactic_constants import local_constants, named_potential
            from .gala_association import trace_with_gala

            pot = named_potential(cfg.epicyclic.potential or "MilkyWayPotential2022")
            vc = local_constants(pot, cfg.epicyclic.r0_kpc)["v_circ"]
            trace = partial(trace_with_gala, potential=pot, r0_kpc=cfg.epicyclic.r0_kpc, v_circ_kms=vc,
                            solar_motion=cfg.epicyclic.solar_motion)
        states, labels = [], []
        for a in cfg.associations:
            # the birth mean only places the group: the epicyclic inverse is close enough for that
            birth_mean = tracer.backward(np.asarray(a.mean_now, float), a.age)
            sig = np.array([a.position_dispersion] * 3 + [a.velocity_dispersion] * 3)
            birth = birth_mean + sig * rng.standard_normal((a.n_stars, 6))
            states.append(trace(birth, a.age))
            labels += [a.name] * a.n_stars
        bg = cfg.background
        if bg.n_stars:
            sig = np.array([bg.position_dispersion] * 3 + [bg.velocity_dispersion] * 3)
            field = np.asarray(bg.mean, float) + sig * rng.standard_normal((bg.n_stars, 6))
            if bg.max_distance is not None:
                for _ in range(1000):
                    far = np.linalg.norm(field[:, :3], axis=1) > bg.max_distance
                    if not far.any():
                        break
                    field[far] = np.asarray(bg.mean, float) + sig * rng.standard_normal((far.sum(), 6))
            states.append(field)
            labels += [BACKGROUND] * bg.n_stars
        if not states:
            raise StageError("mixture.synth_association: no stars requested (no associations and background.n_stars = 0)")
        truth = np.vstack(states)
        labels = np.asarray(labels)
        true_astro = cartesian_to_astrometry(truth)
        obs = measure(true_astro, rng, cfg.error_scale)
        if cfg.missing_rv_fraction > 0:
            gone = rng.random(len(truth)) < cfg.missing_rv_fraction
            obs["radial_velocity"][gone] = np.nan
            obs["radial_velocity_error"][gone] = np.nan
        df = pd.DataFrame({"source_id": np.arange(1, len(truth) + 1, dtype=np.int64), **obs})
        df[TRUTH_COLUMN] = labels
        for k, name in enumerate(("X", "Y", "Z", "U", "V", "W")):
            df[f"true_{name}"] = truth[:, k]
        info = {"source_id": ColumnInfo(None, "synthetic star id")}
        for k, unit in VALUE_UNITS.items():
            info[k] = ColumnInfo(unit, f"measured {k} (synthetic)")
            info[f"{k}_error"] = ColumnInfo(ERROR_UNITS[k], f"standard error of {k}"
                                            + (" (of alpha* = alpha cos delta)" if k == "ra" else ""))
        for _, _, col in CORRELATIONS:
            info[col] = ColumnInfo(None, "correlation coefficient")
        info[TRUTH_COLUMN] = ColumnInfo(None, "true population: association name or 'background'")
        for name, unit in zip(("X", "Y", "Z", "U", "V", "W"), ("pc",) * 3 + ("km / s",) * 3):
            info[f"true_{name}"] = ColumnInfo(unit, f"true heliocentric Galactic {name} (before measurement)")
        if cfg.min_parallax is not None:
            keep = df["parallax"].to_numpy() > cfg.min_parallax
            df = df[keep]
        meta = {"mock": True, "truth_normal": [BACKGROUND], "integrator": cfg.integrator,
                "truth_associations": [a.model_dump() for a in cfg.associations],
                "generator": self.name}
        return Table(df.reset_index(drop=True), info, "source_id", meta)
