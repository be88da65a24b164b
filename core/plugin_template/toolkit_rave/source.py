"""Source: where rows come from. Here a simulation of a RAVE-like spectroscopic survey.

A real source reads a file or queries a service (raise ``SourceUnavailable``
when it cannot be reached, so a recipe's ``fallback`` takes over). This one
simulates disc stars and a few halo stars, labelled in ``truth_population`` so
that a run reports how many of them its detectors recover.
"""

import numpy as np

from toolkit.core import TRUTH_COLUMN, Columns, Config, Field, RunContext, Source, Table


class RaveMock(Source):
    name = "rave.mock"
    summary = "Simulated RAVE-like catalogue: positions, radial velocities, stellar parameters, truth labels."

    class Config(Config):
        n_stars: int = Field(5000, gt=0, le=10_000_000, description="number of stars to simulate")
        halo_fraction: float = Field(0.02, ge=0, le=1, description="share of halo stars (fast, metal-poor)")

    def load(self, ctx: RunContext) -> Table:
        rng = ctx.rng("rave")                    # seeded from the recipe's seed: same seed, same stars
        n = self.config.n_stars
        halo = rng.random(n) < self.config.halo_fraction
        snr = rng.lognormal(np.log(40), 0.5, n)
        hrv_error = 1.5 * 40 / snr               # km/s, worse at low signal-to-noise
        hrv = np.where(halo, rng.normal(0, 150, n), rng.normal(-5, 30, n)) + rng.normal(0, hrv_error)
        cols = Columns()
        cols.add("rave_id", np.arange(1, n + 1, dtype=np.int64), description="catalogue number")
        cols.add("ra", rng.uniform(0, 360, n), "deg")
        cols.add("dec", np.degrees(np.arcsin(rng.uniform(-1, 0.2, n))), "deg")    # a southern survey
        cols.add("hrv", hrv, "km / s", "heliocentric radial velocity")
        cols.add("hrv_error", hrv_error, "km / s")
        cols.add("snr", snr, description="spectral signal-to-noise ratio per pixel")
        cols.add("teff", rng.normal(5500, 600, n), "K", "effective temperature")
        cols.add("feh", np.where(halo, rng.normal(-1.5, 0.4, n), rng.normal(-0.1, 0.25, n)), "dex", "[Fe/H]")
        cols.add(TRUTH_COLUMN, np.where(halo, "halo", "disc"), description="simulated population (truth)")
        return Table.from_columns(cols, id_column="rave_id", meta={"mock": True})
