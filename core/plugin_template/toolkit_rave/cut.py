"""Cut: a row selection. It returns a mask (True = keep); the runner writes the cut-flow."""

import numpy as np

from toolkit.core import Config, Cut, Field, RunContext, Table, column_in


class RaveQualityCut(Cut):
    name = "rave.quality"
    summary = "Keep spectra above a signal-to-noise ratio with a small radial-velocity error."

    class Config(Config):
        min_snr: float = Field(20.0, gt=0, description="smallest spectral signal-to-noise ratio kept")
        max_hrv_error: float = Field(5.0, gt=0, description="largest radial-velocity error kept (km/s)")

    def describe(self) -> str:
        return f"snr >= {self.config.min_snr:g} and hrv_error <= {self.config.max_hrv_error:g} km/s"

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        table.require(["snr", "hrv_error"], self.name)      # a missing column is a clear error
        hrv_error = column_in(table, "hrv_error", "km / s", stage=self.name)
        return (table.array("snr") >= self.config.min_snr) & (hrv_error <= self.config.max_hrv_error)
