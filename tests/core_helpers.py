"""Test-only components and recipe writers for the core tests."""

from __future__ import annotations

import textwrap
import types

import numpy as np
import pandas as pd

from toolkit.core import (Columns, Config, Detection, Detector, Field, Source, Table, hookimpl)
from toolkit.core.registry import Registry, build_plugin_manager


class LabelledSource(Source):
    """Gaussian stars with a few labelled outliers (like a mock's truth labels)."""

    name = "test.labelled"
    summary = "Gaussian stars plus labelled outliers, for core tests."

    class Config(Config):
        n: int = Field(400, description="rows")

    def load(self, ctx) -> Table:
        rng = ctx.rng("labelled")
        n = self.config.n
        a, b = rng.normal(0, 1, n), rng.normal(5, 2, n)
        pop = np.array(["field"] * n, dtype=object)
        pop[:10] = "outlier"
        a[:10] += 8
        cols = Columns().add("a", a, "km/s").add("b", b, "pc").add("truth_population", pop)
        return Table.from_columns(cols, meta={"mock": True, "truth_normal": ["field"]})


class DistanceDetector(Detector):
    """Distance from the median in MAD units: a real, tiny detector for tests."""

    name = "test.distance"
    summary = "Robust distance from the median of the named features."

    class Config(Config):
        features: list[str]
        cut: float = Field(5.0, description="flag above this many MADs")

    def detect(self, table, ctx) -> Detection:
        table.require(self.config.features, self.name)
        X = table.data[self.config.features].to_numpy(float)
        med = np.median(X, axis=0)
        mad = np.median(np.abs(X - med), axis=0) * 1.4826
        score = np.sqrt((((X - med) / mad) ** 2).sum(axis=1)) + ctx.rng().normal(0, 1e-6, len(X))
        return Detection(score, score > self.config.cut, "robust distance from the median (MAD units)")


def plugin_module(*classes, hook="toolkit_register_sources") -> types.ModuleType:
    """A plugin object with one hook implementation registering ``classes``."""
    mod = types.ModuleType("test_plugin")

    def impl(register):
        for c in classes:
            register(c)

    impl.__name__ = hook
    setattr(mod, hook, hookimpl(impl))
    return mod


def registry_with(*plugins: tuple[str, types.ModuleType]) -> Registry:
    pm = build_plugin_manager()
    for name, mod in plugins:
        pm.register(mod, name=name)
    return Registry(pm)


def make_registry() -> Registry:
    return registry_with(("test.sources", plugin_module(LabelledSource)),
                         ("test.detectors", plugin_module(DistanceDetector, hook="toolkit_register_detectors")))


def write_recipe(path, body: str):
    path.write_text(textwrap.dedent(body).lstrip())
    return path


SIMPLE = """
name: simple
seed: 5
source: {use: test.labelled, with: {n: 400}}
cuts:
  - {use: expr.cut, name: finite, with: {expr: "isfinite(a) and isfinite(b)"}}
features:
  - {use: expr.feature, with: {columns: {ab: "a * b"}, units: {ab: "km pc / s"}}}
detectors:
  - {use: test.distance, name: dist, with: {features: [a, b]}}
"""


def frame(**cols) -> Table:
    return Table(pd.DataFrame(cols))


class FittedMedianDistance:
    """Fitted state of ``MedianDistanceDetector``: medians and MADs, saved as arrays."""

    def __init__(self, features, med, mad):
        self.features, self.med, self.mad = list(features), np.asarray(med), np.asarray(mad)
        self.score_description = "robust distance from the training medians (MAD units)"
        self.summary = {"medians": self.med.tolist()}

    def assign(self, table):
        return Columns()

    def score(self, table):
        X = table.data[self.features].to_numpy(float)
        return np.sqrt((((X - self.med) / self.mad) ** 2).sum(axis=1))

    def save(self, files):
        files.write_arrays("median.npz", {"med": self.med, "mad": self.mad})
        return {"features": self.features}


class MedianDistanceDetector(Detector):
    """A third-party detector written against the fit/score contract (no base class from the toolkit's plugins)."""

    name = "test.median_distance"
    summary = "Robust distance from the training medians, fitted and saved."

    class Config(Config):
        features: list[str]
        max_train_rows: int | None = None
        threshold: dict | None = None

    @property
    def threshold(self):
        from toolkit.core import ThresholdConfig

        return ThresholdConfig(**(self.config.threshold or {"method": "top_k", "value": 5}))

    def fit(self, sample, ctx):
        X = sample.data[self.config.features].to_numpy(float)
        med = np.median(X, axis=0)
        return FittedMedianDistance(self.config.features, med, np.median(np.abs(X - med), axis=0) * 1.4826)

    @classmethod
    def load(cls, files, state):
        arrays = files.read_arrays("median.npz")
        return FittedMedianDistance(state["features"], arrays["med"], arrays["mad"])
