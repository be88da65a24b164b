"""The ZETA survey: a made-up photometric survey, simulated, with a signal-to-noise cut.

ZETA observes in one band (``zmag``); its catalogue has positions, a magnitude,
its error and a quality flag. The source simulates it, so runs say MOCK DATA.
"""

import numpy as np

from toolkit.core import Columns, Config, Cut, Field, Source, Table


class ZetaSurvey(Source):
    name = "zeta.survey"
    summary = "Simulated catalogue of the made-up ZETA survey (ra, dec, zmag, zmag_error, quality)."

    class Config(Config):
        n_stars: int = Field(5000, gt=0, description="number of stars to simulate")
        mag_limit: float = Field(21.0, description="faint limit (mag)")

    def load(self, ctx) -> Table:
        rng = ctx.rng("zeta")
        n = self.config.n_stars
        zmag = self.config.mag_limit - rng.exponential(2.0, n)
        err = 0.01 * 10 ** (0.4 * (zmag - 17.0)) + 0.005          # photon-noise-like error
        cols = Columns()
        cols.add("zeta_id", np.arange(1, n + 1, dtype=np.int64), description="ZETA catalogue number")
        cols.add("ra", rng.uniform(0, 360, n), "deg")
        cols.add("dec", np.degrees(np.arcsin(rng.uniform(-1, 1, n))), "deg")
        cols.add("zmag", zmag + rng.normal(0, err), "mag", "ZETA-band magnitude")
        cols.add("zmag_error", err, "mag")
        cols.add("quality", rng.integers(0, 4, n), description="0 = clean ... 3 = blended")
        return Table.from_columns(cols, id_column="zeta_id", meta={"mock": True})


class ZetaSnrCut(Cut):
    name = "zeta.snr"
    summary = "Keep ZETA stars detected above a signal-to-noise ratio and with a clean quality flag."

    class Config(Config):
        min_snr: float = Field(20.0, gt=0, description="minimum S/N, from S/N = 1.0857 / zmag_error")
        max_quality: int = Field(1, description="largest acceptable quality flag (0 = best)")

    def describe(self) -> str:
        return f"1.0857/zmag_error > {self.config.min_snr} and quality <= {self.config.max_quality}"

    def mask(self, table, ctx):
        table.require(["zmag_error", "quality"], self.name)
        snr = 1.0857 / table.array("zmag_error")
        return (snr > self.config.min_snr) & (table.data["quality"].to_numpy() <= self.config.max_quality)
