"""Feature: new columns computed row by row, with units (chunk-pure: any split of rows, same values)."""

import astropy.units as u
import numpy as np

from toolkit.core import Columns, Config, Feature, Field, RunContext, Table, quantity_in


class RaveVelocity(Feature):
    name = "rave.velocity"
    summary = "Radial velocity relative to a reference velocity, in units of its expected spread (hrv_z)."

    class Config(Config):
        reference_kms: float = Field(-5.0, description="reference radial velocity (km/s), e.g. the disc mean")
        dispersion_kms: float = Field(30.0, gt=0, description="expected velocity spread (km/s)")

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        table.require(["hrv", "hrv_error"], self.name)
        # units checked at the boundary (a unit-less column is taken to be in km/s)
        hrv = quantity_in(table, "hrv", "km / s", stage=self.name)
        err = quantity_in(table, "hrv_error", "km / s", stage=self.name)
        offset = hrv - self.config.reference_kms * u.km / u.s
        spread = np.hypot(err, self.config.dispersion_kms * u.km / u.s)
        return (Columns()
                .add("hrv_offset", offset.to_value(u.km / u.s), "km / s", "radial velocity minus the reference")
                .add("hrv_z", (offset / spread).to_value(u.one), None, "hrv_offset in units of the expected spread"))
