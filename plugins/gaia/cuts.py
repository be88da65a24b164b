"""Gaia quality cuts: parallax precision, radial velocity present, RUWE.

Each cut is row-wise (chunk-pure) and describes itself for the cut-flow table.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.core import Config, Cut, Field, StageError, Table
from toolkit.core import RunContext


class ParallaxQuality(Cut):
    name = "gaia.parallax_quality"
    summary = "Keep stars with parallax > min_parallax and parallax_over_error > min_parallax_over_error."

    class Config(Config):
        min_parallax: float | None = Field(None, description="keep parallax > this (mas); lesson: 10 (d < 100 pc)")
        min_parallax_over_error: float | None = Field(10.0, description="keep parallax/parallax_error > this; lesson: 10")
        parallax_column: str = Field("parallax", description="parallax column (mas)")
        parallax_over_error_column: str = Field(
            "parallax_over_error", description="used when present; otherwise parallax / parallax_error_column")
        parallax_error_column: str = Field("parallax_error", description="parallax uncertainty column (mas)")

    def describe(self) -> str:
        c = self.config
        parts = []
        if c.min_parallax is not None:
            parts.append(f"{c.parallax_column} > {c.min_parallax}")
        if c.min_parallax_over_error is not None:
            parts.append(f"{c.parallax_column}/error > {c.min_parallax_over_error}")
        return " and ".join(parts) or "no parallax cut"

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        c = self.config
        keep = np.ones(len(table), bool)
        if c.min_parallax is not None:
            table.require([c.parallax_column], self.name)
            keep &= table.array(c.parallax_column) > c.min_parallax
        if c.min_parallax_over_error is not None:
            if c.parallax_over_error_column in table.columns:
                poe = table.array(c.parallax_over_error_column)
            elif c.parallax_error_column in table.columns:
                table.require([c.parallax_column], self.name)
                with np.errstate(divide="ignore", invalid="ignore"):
                    poe = table.array(c.parallax_column) / table.array(c.parallax_error_column)
            else:
                raise StageError(
                    f"stage '{self.name}': min_parallax_over_error needs column '{c.parallax_over_error_column}' "
                    f"or '{c.parallax_error_column}', and the table has neither. Set min_parallax_over_error: null "
                    "to skip the precision cut, or name the columns in the cut's config.")
            keep &= poe > c.min_parallax_over_error
        return keep


class HasRadialVelocity(Cut):
    name = "gaia.has_rv"
    summary = "Keep stars with a measured (finite) radial velocity, optionally with a maximum uncertainty."

    class Config(Config):
        column: str = Field("radial_velocity", description="radial velocity column (km/s)")
        max_error: float | None = Field(None, description="also keep only radial_velocity_error < this (km/s)")
        error_column: str = Field("radial_velocity_error", description="radial velocity uncertainty column")

    def describe(self) -> str:
        c = self.config
        text = f"{c.column} is not null"
        return text + (f" and {c.error_column} < {c.max_error}" if c.max_error is not None else "")

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        c = self.config
        table.require([c.column], self.name)
        keep = np.isfinite(table.array(c.column))
        if c.max_error is not None:
            table.require([c.error_column], self.name)
            keep &= table.array(c.error_column) < c.max_error
        return keep


class Ruwe(Cut):
    name = "gaia.ruwe"
    summary = "Keep stars with a well-behaved single-star astrometric fit: ruwe < max_ruwe (Lindegren et al. 2021)."

    class Config(Config):
        max_ruwe: float = Field(1.4, description="keep ruwe < this; 1.4 is the usual single-star limit")
        column: str = Field("ruwe", description="RUWE column")
        if_missing: Literal["error", "skip"] = Field(
            "error", description="when the column is absent: 'error' stops the run, 'skip' keeps every row and "
                                 "records a note")

    def describe(self) -> str:
        return f"{self.config.column} < {self.config.max_ruwe}"

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        c = self.config
        if c.column not in table.columns:
            if c.if_missing == "skip":
                note = f"column '{c.column}' absent: RUWE cut skipped, every row kept"
                if ctx is not None:
                    ctx.record("skipped", note)
                    ctx.warn(note)
                return np.ones(len(table), bool)
            raise StageError(f"stage '{self.name}': the table has no '{c.column}' column (RUWE is in "
                             "gaiadr3.gaia_source; add it to the query). Set `if_missing: skip` to run without the "
                             "RUWE cut, or remove the cut.")
        return table.array(c.column) < c.max_ruwe
