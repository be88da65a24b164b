"""The ``kinematics.*`` features: thin wrappers that read columns, call ``kinematics.py``, add units.

Survey-neutral: every input column name is configurable, and a column without
a unit in the table is read in the Gaia unit named in its config description
(deg, mas, mas/yr, km/s, pc, mag), so unit-less CSV or FITS files work.
"""

from __future__ import annotations

from typing import Literal

import astropy.units as u
from pydantic import BaseModel, ConfigDict

from toolkit.core import Columns, Config, Feature, Field, StageError, Table, quantity_in
from toolkit.core import RunContext

from . import kinematics as kin

#: how to fix a column whose unit does not convert
UNIT_HINT = "fix the unit in the source (e.g. table.file `units:`)"

ZERO_POINT_COLUMNS = ("phot_g_mean_mag", "nu_eff_used_in_astrometry", "pseudocolour", "ecl_lat",
                      "astrometric_params_solved")


class AstrometryColumns(BaseModel):
    """Input column names (defaults are Gaia's); rename for other surveys."""

    model_config = ConfigDict(extra="forbid")
    ra: str = Field("ra", description="right ascension, ICRS (deg)")
    dec: str = Field("dec", description="declination, ICRS (deg)")
    distance: str = Field("distance", description="distance (pc), e.g. from gaia.distance")
    pmra: str = Field("pmra", description="proper motion in RA times cos(dec) (mas/yr)")
    pmdec: str = Field("pmdec", description="proper motion in Dec (mas/yr)")
    radial_velocity: str = Field("radial_velocity", description="line-of-sight velocity (km/s)")


def _astrometry(table: Table, cols: AstrometryColumns, stage: str, with_rv: bool) -> dict:
    names = ["ra", "dec", "distance", "pmra", "pmdec"] + (["radial_velocity"] if with_rv else [])
    units = {"ra": "deg", "dec": "deg", "distance": "pc", "pmra": "mas/yr", "pmdec": "mas/yr",
             "radial_velocity": "km/s"}
    table.require([getattr(cols, n) for n in names], stage)
    return {n: quantity_in(table, getattr(cols, n), units[n], stage=stage, hint=UNIT_HINT) for n in names}


class Distance(Feature):
    name = "gaia.distance"
    aliases = ("kinematics.distance",)   # the former name, until the next release
    summary = "Distance = 1/parallax after an optional zero-point (a constant or Lindegren et al. 2021)."

    class Config(Config):
        parallax_column: str = Field("parallax", description="parallax column (mas)")
        zero_point: float | Literal["lindegren2021"] | None = Field(
            None, description="null: none; a number (mas, subtracted: parallax - zp); 'lindegren2021': per-star "
                              "Gaia (E)DR3 zero-point, needs columns " + ", ".join(ZERO_POINT_COLUMNS))
        output: str = Field("distance", description="name of the output column")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        plx = quantity_in(table, cfg.parallax_column, "mas", stage=self.name, hint=UNIT_HINT)
        cols = Columns()
        if cfg.zero_point == "lindegren2021":
            missing = [c for c in ZERO_POINT_COLUMNS if c not in table.columns]
            if missing:
                raise StageError(
                    f"stage '{self.name}': zero_point: lindegren2021 needs the Gaia columns "
                    f"{', '.join(ZERO_POINT_COLUMNS)}; missing: {', '.join(missing)}. Add them to the archive "
                    "query (gaiadr3.gaia_source has them), or use a constant zero_point such as -0.017, or null.")
            zp = kin.lindegren2021_zero_point(*(table.array(c) if c != "astrometric_params_solved"
                                                else table.data[c].to_numpy() for c in ZERO_POINT_COLUMNS))
            cols.add("parallax_zero_point", zp, description="Lindegren et al. (2021) parallax zero-point, "
                                                            "subtracted from the parallax")
            how = "1000/(parallax - Lindegren+2021 zero-point)"
        else:
            zp = (cfg.zero_point or 0.0) * u.mas
            how = f"1000/(parallax - {cfg.zero_point} mas)" if cfg.zero_point else "1000/parallax"
        dist = kin.parallax_to_distance(plx, zp)
        cols.add(cfg.output, dist, description=f"distance = {how}; NaN for non-positive parallax")
        return cols


class AbsoluteMagnitude(Feature):
    name = "gaia.absolute_magnitude"
    aliases = ("kinematics.absolute_magnitude",)   # the former name, until the next release
    summary = "Absolute magnitudes M = m - 5 log10(d/10 pc) for each band, and a colour."

    class Config(Config):
        magnitudes: dict[str, str] = Field(
            default_factory=lambda: {"G": "phot_g_mean_mag", "BP": "phot_bp_mean_mag", "RP": "phot_rp_mean_mag"},
            description="band name -> apparent magnitude column; output columns are M_<band>")
        distance_column: str = Field("distance", description="distance column (pc)")
        colour: list[str] | None = Field(["BP", "RP"], description="two band names for a colour (first - second); "
                                                                   "null for none")
        colour_name: str = Field("bp_rp", description="name of the colour column")

    def __init__(self, config=None, **params):
        super().__init__(config, **params)
        c = self.config.colour
        if c is not None and (len(c) != 2 or any(b not in self.config.magnitudes for b in c)):
            raise ValueError(f"colour must name two bands from magnitudes ({', '.join(self.config.magnitudes)}); "
                             f"got {c}")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        table.require(list(cfg.magnitudes.values()) + [cfg.distance_column], self.name)
        dist = quantity_in(table, cfg.distance_column, "pc", stage=self.name, hint=UNIT_HINT)
        cols = Columns()
        apparent = {}
        for band, col in cfg.magnitudes.items():
            apparent[band] = quantity_in(table, col, "mag", stage=self.name, hint=UNIT_HINT)
            cols.add(f"M_{band}", kin.absolute_magnitude(apparent[band], dist),
                     description=f"absolute {band} magnitude = {col} - 5 log10({cfg.distance_column}/10 pc), "
                                 "no extinction correction")
        if cfg.colour:
            a, b = cfg.colour
            cols.add(cfg.colour_name, apparent[a] - apparent[b],
                     description=f"colour {cfg.magnitudes[a]} - {cfg.magnitudes[b]}")
        return cols


class Galactocentric(Feature):
    name = "gaia.galactocentric"
    aliases = ("kinematics.galactocentric",)   # the former name, until the next release
    summary = "Galactocentric x, y, z, velocities, cylindrical R, phi, v_R, v_phi and velocity relative to the LSR."

    class Config(Config):
        columns: AstrometryColumns = Field(default_factory=AstrometryColumns, description="input column names")
        galcen_distance: float = Field(8.122, description="Sun-Galactic centre distance (kpc); lesson: 8.1")
        z_sun: float = Field(20.8, description="Sun's height above the Galactic midplane (pc); lesson: 0")
        galcen_v_sun: tuple[float, float, float] = Field(
            (12.9, 245.6, 7.78), description="Sun's velocity in the Galactocentric frame (km/s)")
        galcen_ra: float = Field(266.4051, description="ICRS RA of the Galactic centre (deg), Sgr A*")
        galcen_dec: float = Field(-28.936175, description="ICRS Dec of the Galactic centre (deg), Sgr A*")
        roll: float = Field(0.0, description="frame roll angle about the Sun-centre axis (deg)")
        solar_motion_lsr: tuple[float, float, float] = Field(
            kin.SCHOENRICH2010_SOLAR_MOTION,
            description="Sun's (U, V, W) relative to the LSR (km/s); default Schönrich et al. 2010")
        lsr: bool = Field(True, description="also output U_lsr, V_lsr, W_lsr, v_lsr")

    def frame_parameters(self) -> kin.FrameParameters:
        c = self.config
        return kin.FrameParameters(galcen_distance_kpc=c.galcen_distance, z_sun_pc=c.z_sun,
                                   galcen_v_sun_kms=tuple(c.galcen_v_sun), galcen_ra_deg=c.galcen_ra,
                                   galcen_dec_deg=c.galcen_dec, roll_deg=c.roll)

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        q = _astrometry(table, self.config.columns, self.name, with_rv=True)
        frame = self.frame_parameters()
        if ctx is not None:
            ctx.set_frame("astropy.coordinates.Galactocentric",
                          {**frame.as_record(), "solar_motion_lsr_kms": list(self.config.solar_motion_lsr)})
        gc = kin.galactocentric(q["ra"], q["dec"], q["distance"], q["pmra"], q["pmdec"], q["radial_velocity"], frame)
        desc = {"x": "Galactocentric x (towards the Galactic centre from the Sun's side; Sun at x < 0)",
                "y": "Galactocentric y (direction of Galactic rotation at the Sun)",
                "z": "Galactocentric z (towards the north Galactic pole)",
                "v_x": "Galactocentric velocity along x", "v_y": "Galactocentric velocity along y",
                "v_z": "Galactocentric velocity along z",
                "R": "cylindrical Galactocentric radius", "phi": "Galactocentric azimuth atan2(y, x) in [0, 360) deg (Sun near 180)",
                "v_R": "cylindrical radial velocity (positive outwards)",
                "v_phi": "azimuthal velocity (positive in the direction of Galactic rotation)"}
        cols = Columns()
        for name, values in gc.items():
            cols.add(name, values, description=desc[name] + f" (astropy Galactocentric, R0 = "
                     f"{frame.galcen_distance_kpc} kpc, z_sun = {frame.z_sun_pc} pc)")
        if self.config.lsr:
            lsr = kin.lsr_velocity(q["ra"], q["dec"], q["distance"], q["pmra"], q["pmdec"], q["radial_velocity"],
                                   self.config.solar_motion_lsr)
            ldesc = {"U_lsr": "velocity relative to the LSR towards the Galactic centre",
                     "V_lsr": "velocity relative to the LSR in the direction of rotation",
                     "W_lsr": "velocity relative to the LSR towards the north Galactic pole",
                     "v_lsr": "speed relative to the LSR"}
            for name, values in lsr.items():
                cols.add(name, values, description=ldesc[name])
        return cols


class Tangential(Feature):
    name = "gaia.tangential"
    aliases = ("kinematics.tangential",)   # the former name, until the next release
    summary = "5D kinematics without radial velocity: l, b, v_l, v_b, v_tan and the reduced proper motion."

    class Config(Config):
        columns: AstrometryColumns = Field(default_factory=AstrometryColumns,
                                           description="input column names (radial_velocity is not used)")
        magnitude_column: str | None = Field("phot_g_mean_mag", description="apparent magnitude for the reduced "
                                             "proper motion; null to skip reduced_pm")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        cfg = self.config
        q = _astrometry(table, cfg.columns, self.name, with_rv=False)
        mag = quantity_in(table, cfg.magnitude_column, "mag", stage=self.name, hint=UNIT_HINT) if cfg.magnitude_column else None
        tan = kin.tangential(q["ra"], q["dec"], q["distance"], q["pmra"], q["pmdec"], mag)
        desc = {"l": "Galactic longitude", "b": "Galactic latitude",
                "v_l": "tangential velocity along Galactic longitude (heliocentric)",
                "v_b": "tangential velocity along Galactic latitude (heliocentric)",
                "v_tan": "heliocentric tangential speed = 4.74047 d[kpc] mu[mas/yr]",
                "reduced_pm": f"reduced proper motion H = {cfg.magnitude_column} + 5 log10(mu[arcsec/yr]) + 5"}
        cols = Columns()
        for name, values in tan.items():
            cols.add(name, values, description=desc[name])
        return cols
