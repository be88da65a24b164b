"""The seed's cuts with every coefficient explicit.

- ``symbiotic.cut3``: extinction-corrected colour, (J - K) - k E(B-V) > threshold
  (seed: k = 0.413 = R_J - R_K of Schlafly & Finkbeiner 2011, threshold 0.85).
- ``symbiotic.cut4``: distance-corrected (absolute) magnitude,
  M = m - 5 log10(d / 10 pc) - R E(B-V) < max_absolute_magnitude: keeps luminous
  giants and removes foreground dwarfs whose apparent colours mimic them. The seed
  leaves the value unstated; the recipe sets it (M_K < -1: the red clump at M_K ~ -1.6
  and every brighter giant pass, M dwarfs at M_K > +4 fail).

Rows with a NaN input fail the cut (the runner counts them in the cut-flow).
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Config, Cut, Field, Table, column_in
from toolkit.core import RunContext

from .bands import E_JK_PER_EBV, R_BAND


class ExtinctionCorrectedColourCut(Cut):
    name = "symbiotic.cut3"
    summary = "Keep (J - K) - k E(B-V) > threshold (seed: k = 0.413, threshold 0.85)."

    class Config(Config):
        blue: str = Field("j_m", description="blue magnitude column (2MASS J)")
        red: str = Field("k_m", description="red magnitude column (2MASS Ks)")
        ebv_column: str = Field("ebmv_sfd", description="E(B-V) column (mag)")
        coefficient: float = Field(E_JK_PER_EBV, description="E(blue - red) / E(B-V); 0.413 for 2MASS J - Ks")
        threshold: float = Field(0.85, description="keep rows whose dereddened colour exceeds this (mag)")

    def describe(self) -> str:
        c = self.config
        return f"({c.blue} - {c.red}) - {c.coefficient} * {c.ebv_column} > {c.threshold}"

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        c = self.config
        table.require([c.blue, c.red, c.ebv_column], self.name)
        colour = table.array(c.blue) - table.array(c.red) - c.coefficient * table.array(c.ebv_column)
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(colour, nan=-np.inf) > c.threshold


class AbsoluteMagnitudeCut(Cut):
    name = "symbiotic.cut4"
    summary = "Keep m - 5 log10(d/10 pc) - R E(B-V) < max_absolute_magnitude (luminous giants)."

    class Config(Config):
        magnitude: str = Field("k_m", description="apparent magnitude column")
        distance_column: str = Field("r_med_geo", description="distance column (pc unless the column carries a unit)")
        ebv_column: str | None = Field("ebmv_sfd", description="E(B-V) column; null = no extinction correction")
        coefficient: float = Field(R_BAND["K"], description="A_band / E(B-V) of the magnitude (0.310 for Ks)")
        max_absolute_magnitude: float = Field(description="keep rows brighter (smaller) than this absolute magnitude")
        parallax_column: str | None = Field(
            "parallax", description="when the distance column is absent, use d = 1000 / parallax[mas] (positive "
                                    "parallaxes only) and say so; null = require the distance column")

    def describe(self) -> str:
        c = self.config
        ext = f" - {c.coefficient} * {c.ebv_column}" if c.ebv_column else ""
        return f"{c.magnitude} - 5 log10({c.distance_column} / 10 pc){ext} < {c.max_absolute_magnitude}"

    def distance_pc(self, table: Table, ctx: RunContext | None = None) -> np.ndarray:
        c = self.config
        if c.distance_column not in table.data and c.parallax_column and c.parallax_column in table.data:
            p_mas = column_in(table, c.parallax_column, "mas", stage=self.name)
            if ctx is not None:
                ctx.warn(f"no '{c.distance_column}' column: distances are 1000 / {c.parallax_column} (positive parallaxes)")
                ctx.record("distance_from", f"1000 / {c.parallax_column}")
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(p_mas > 0, 1000.0 / p_mas, np.nan)
        return column_in(table, c.distance_column, "pc", stage=self.name)

    def absolute_magnitude(self, table: Table, ctx: RunContext | None = None) -> np.ndarray:
        c = self.config
        table.require([c.magnitude] + ([c.ebv_column] if c.ebv_column else []), self.name)
        d_pc = self.distance_pc(table, ctx)
        with np.errstate(divide="ignore", invalid="ignore"):
            M = table.array(c.magnitude) - 5 * np.log10(np.where(d_pc > 0, d_pc, np.nan) / 10.0)
        if c.ebv_column:
            M = M - c.coefficient * table.array(c.ebv_column)
        return M

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        M = self.absolute_magnitude(table, ctx)
        return np.nan_to_num(M, nan=np.inf) < self.config.max_absolute_magnitude
