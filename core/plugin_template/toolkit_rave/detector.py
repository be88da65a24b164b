"""Detector: learns from a seeded sample (fit), then scores any chunk of rows; saves as plain files.

Higher scores mean more anomalous. ``save`` writes arrays and JSON through
``ModelFiles`` (no pickle), ``load`` rebuilds the model, so a saved run's model
scores new tables with ``toolkit score`` and gives the same scores.
"""

import numpy as np

from toolkit.core import Config, Detector, Field, FittedDetector, ModelFiles, RunContext, Table, ThresholdConfig


class RobustZModel(FittedDetector):
    score_description = "root mean square of robust z-scores (median, 1.4826 MAD) over the features; higher = rarer"

    def __init__(self, features: list[str], centre: np.ndarray, scale: np.ndarray) -> None:
        self.features, self.centre, self.scale = list(features), np.asarray(centre), np.asarray(scale)
        self.summary = {"features": self.features, "centre": self.centre.tolist(), "scale": self.scale.tolist()}

    def score(self, table: Table) -> np.ndarray:
        table.require(self.features, "rave.robust_z")
        x = np.column_stack([table.array(f) for f in self.features])
        return np.sqrt(np.mean(((x - self.centre) / self.scale) ** 2, axis=1))   # NaN in, NaN out

    def save(self, files: ModelFiles) -> dict:
        files.write_arrays("robust_z.npz", {"centre": self.centre, "scale": self.scale})
        return {"features": self.features}


class RaveRobustZ(Detector):
    name = "rave.robust_z"
    summary = "Robust z-score anomaly detector: distance from the sample's median in MAD units."

    class Config(Config):
        features: list[str] = Field(min_length=1, description="columns to score on")
        threshold: ThresholdConfig = Field(default_factory=lambda: ThresholdConfig(method="top_fraction", value=0.02),
                                           description="how flags are chosen from the scores")
        max_train_rows: int | None = Field(100_000, gt=0, description="rows of the seeded sample used to fit")

    def fit(self, sample: Table, ctx: RunContext) -> RobustZModel:
        sample.require(self.config.features, self.name)
        x = np.column_stack([sample.array(f) for f in self.config.features])
        centre = np.nanmedian(x, axis=0)
        scale = 1.4826 * np.nanmedian(np.abs(x - centre), axis=0)
        return RobustZModel(self.config.features, centre, np.where(scale > 0, scale, 1.0))

    @classmethod
    def load(cls, files: ModelFiles, state: dict) -> RobustZModel:
        arrays = files.read_arrays("robust_z.npz")
        return RobustZModel(state["features"], arrays["centre"], arrays["scale"])
