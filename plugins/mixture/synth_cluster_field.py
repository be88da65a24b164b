"""``mixture.synth_cluster_field``: an open-cluster field for the cluster-membership lab (mock).

A 2-degree cone (by default around ra 116.35, dec -37.95, the lab's NGC 2451
field) with field stars spread in distance and proper motion, plus one or more
clusters compact on the sky, in proper motion and in distance, each on a main
sequence in the colour-magnitude diagram. Columns follow the lab's Gaia query:
ra, dec, parallax, pmra, pmdec (+ errors), r_est (a distance estimate, pc, as
the lab's Bailer-Jones column), phot_g/bp/rp_mean_mag and bp_rp.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.core import rechunk, TRUTH_COLUMN, ColumnInfo, Config, Field, Source, Table
from toolkit.core import RunContext

from .frames import K_PM

FIELD = "field"
#: a schematic Gaia main sequence: (BP-RP, M_G)
MAIN_SEQUENCE = np.array([(-0.1, 0.0), (0.4, 3.0), (0.8, 4.8), (1.5, 7.7), (2.5, 11.0), (3.5, 13.5)])


class ClusterSpec(Config):
    name: str = Field("NGC 2451A", description="label in truth_population")
    n_stars: int = Field(200, ge=1, description="number of members")
    ra: float = Field(115.7, description="centre ra (deg)")
    dec: float = Field(-37.97, description="centre dec (deg)")
    radius_deg: float = Field(0.4, gt=0, description="angular dispersion on the sky (deg)")
    distance: float = Field(190.0, gt=0, description="distance (pc)")
    distance_dispersion: float = Field(5.0, ge=0, description="true depth dispersion (pc)")
    pmra: float = Field(-21.1, description="mean pmra (mas/yr)")
    pmdec: float = Field(15.3, description="mean pmdec (mas/yr)")
    velocity_dispersion: float = Field(0.6, gt=0, description="internal velocity dispersion (km/s)")


def _default_clusters():
    return [ClusterSpec(),
            ClusterSpec(name="NGC 2451B", n_stars=150, ra=116.13, dec=-37.67, radius_deg=0.3, distance=360.0,
                        distance_dispersion=8.0, pmra=-9.6, pmdec=4.8, velocity_dispersion=0.6)]


class SyntheticClusterField(Source):
    name = "mixture.synth_cluster_field"
    aliases = ("synth.cluster_field",)   # the former name, until the next release
    summary = "Mock open-cluster field (clusters + field) with astrometry, distance estimates and Gaia photometry."

    class Config(Config):
        ra: float = Field(116.35, description="field centre ra (deg)")
        dec: float = Field(-37.95, description="field centre dec (deg)")
        radius_deg: float = Field(2.0, gt=0, description="cone radius (deg)")
        n_field: int = Field(3000, ge=0, description="number of field stars")
        max_distance: float = Field(3000.0, gt=0, description="field stars are uniform in volume out to this (pc)")
        field_velocity_dispersion: float = Field(30.0, gt=0, description="field tangential velocity dispersion (km/s)")
        field_pm: list[float] = Field(default_factory=lambda: [-3.0, 3.5], min_length=2, max_length=2,
                                      description="field mean proper motion at 1 kpc (mas/yr; solar reflex, scales as 1/distance)")
        clusters: list[ClusterSpec] = Field(default_factory=_default_clusters, description="clusters to plant")
        g_limit: float = Field(18.0, description="faintest G kept (mag)")

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """A cluster field whose populations are drawn jointly: generated once, handed on in chunks (for --executor stream)."""
        yield from rechunk([self.load(ctx)], chunk_rows)

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        rng = ctx.rng("synth.cluster_field")
        parts = []
        # field: uniform in the cone and in volume
        n = cfg.n_field
        if n:
            r = cfg.radius_deg * np.sqrt(rng.random(n))
            phi = rng.random(n) * 2 * np.pi
            d = np.maximum(cfg.max_distance * rng.random(n) ** (1 / 3), 30.0)
            vt = cfg.field_velocity_dispersion * rng.standard_normal((n, 2))
            pm = np.asarray(cfg.field_pm) * (1000.0 / d)[:, None] + vt / (K_PM * d[:, None] / 1000.0)
            colour, absmag = self._field_cmd(n, rng)
            parts.append(self._frame(cfg.ra + r * np.cos(phi) / np.cos(np.radians(cfg.dec)), cfg.dec + r * np.sin(phi),
                                     d, pm, colour, absmag, FIELD))
        for c in cfg.clusters:
            m = c.n_stars
            ra = c.ra + c.radius_deg * rng.standard_normal(m) / np.cos(np.radians(c.dec))
            dec = c.dec + c.radius_deg * rng.standard_normal(m)
            d = np.maximum(c.distance + c.distance_dispersion * rng.standard_normal(m), 1.0)
            pm = np.array([c.pmra, c.pmdec]) + c.velocity_dispersion * rng.standard_normal((m, 2)) / (K_PM * d[:, None] / 1000.0)
            colour = 2.8 * rng.random(m) ** 1.5
            absmag = np.interp(colour, *MAIN_SEQUENCE.T) + 0.08 * rng.standard_normal(m)
            parts.append(self._frame(ra, dec, d, pm, colour, absmag, c.name))
        df = pd.concat(parts, ignore_index=True)
        df = self._measure(df, rng)
        df = df[df["phot_g_mean_mag"] < cfg.g_limit].reset_index(drop=True)
        df.insert(0, "source_id", np.arange(1, len(df) + 1, dtype=np.int64))
        info = {
            "ra": ColumnInfo("deg", "right ascension"), "dec": ColumnInfo("deg", "declination"),
            "parallax": ColumnInfo("mas", "measured parallax"), "parallax_error": ColumnInfo("mas", "parallax error"),
            "pmra": ColumnInfo("mas / yr", "proper motion in ra*"), "pmra_error": ColumnInfo("mas / yr", "error"),
            "pmdec": ColumnInfo("mas / yr", "proper motion in dec"), "pmdec_error": ColumnInfo("mas / yr", "error"),
            "r_est": ColumnInfo("pc", "distance estimate (as the lab's Bailer-Jones r_est)"),
            "phot_g_mean_mag": ColumnInfo("mag", "G"), "phot_bp_mean_mag": ColumnInfo("mag", "BP"),
            "phot_rp_mean_mag": ColumnInfo("mag", "RP"), "bp_rp": ColumnInfo("mag", "BP - RP colour"),
            TRUTH_COLUMN: ColumnInfo(None, "true population: cluster name or 'field'"),
            "true_distance": ColumnInfo("pc", "true distance"),
        }
        meta = {"mock": True, "truth_normal": [FIELD], "generator": self.name,
                "truth_clusters": [c.model_dump() for c in cfg.clusters]}
        return Table(df, info, "source_id", meta)

    @staticmethod
    def _field_cmd(n, rng):
        giant = rng.random(n) < 0.15
        colour = np.where(giant, 1.0 + 0.5 * rng.random(n), 0.3 + 2.5 * rng.random(n) ** 1.3)
        absmag = np.where(giant, 1.5 * rng.random(n) - 0.3, np.interp(colour, *MAIN_SEQUENCE.T))
        return colour, absmag + 0.3 * rng.standard_normal(n)

    @staticmethod
    def _frame(ra, dec, d, pm, colour, absmag, label):
        a_g = 0.3 * d / 1000.0
        g = absmag + 5 * np.log10(d) - 5 + a_g
        bp_rp = colour + a_g / 2
        rp = g - 0.5 * bp_rp
        return pd.DataFrame({"ra": ra % 360, "dec": dec, "true_distance": d, "true_pmra": pm[:, 0],
                             "true_pmdec": pm[:, 1], "phot_g_mean_mag": g, "phot_rp_mean_mag": rp,
                             "phot_bp_mean_mag": rp + bp_rp, "bp_rp": bp_rp, TRUTH_COLUMN: label})

    @staticmethod
    def _measure(df, rng):
        g = df["phot_g_mean_mag"].to_numpy()
        plx_err = np.clip(0.02 * 10 ** (0.2 * (g - 13)), 0.01, 1.0)
        n = len(df)
        plx_true = 1000.0 / df["true_distance"].to_numpy()
        df["parallax"] = plx_true + plx_err * rng.standard_normal(n)
        df["parallax_error"] = plx_err
        for k in ("pmra", "pmdec"):
            err = 1.3 * plx_err
            df[k] = df[f"true_{k}"].to_numpy() + err * rng.standard_normal(n)
            df[f"{k}_error"] = err
        df["r_est"] = df["true_distance"].to_numpy() * np.exp(plx_err / plx_true * rng.standard_normal(n))
        return df.drop(columns=["true_pmra", "true_pmdec"])
