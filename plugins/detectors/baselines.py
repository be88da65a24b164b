"""Baseline detectors through scikit-learn and PyOD, with the same interface and columns.

- ``detectors.isolation_forest``: score = the isolation-forest anomaly score
  (2^(-mean path length / c(n)), in (0, 1]; sklearn's ``-score_samples``).
- ``detectors.lof``: local outlier factor with ``novelty=True`` (fit on training
  rows, score new rows); score = LOF (about 1 for inliers, larger = outlier).
  Under ``policy: fit_all`` the training rows are scored as new points and
  count themselves among their neighbours, which biases their LOF low; prefer
  kfold.
- ``detectors.pca``: score = squared reconstruction error from the leading
  principal components, standardised units.
- ``detectors.pyod``: any PyOD detector by class name (``model: ECOD``); score =
  its ``decision_function`` (higher = more anomalous). ECOD and COPOD score each row against the
  training rows alone, in closed form and saved as arrays (TailProbabilityModel); the others are
  saved by pickle (``--trust-pickle``). PyOD is an optional extra.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable

import numpy as np

from toolkit.core import Field, RecipeError, ToolkitError

from .base import DetectorConfig, EstimatorDetector
from .estimator import Estimator


class IsolationForestEstimator(Estimator):
    kind = "isolation_forest"

    def __init__(self, n_estimators: int = 200, max_samples: int | str = "auto", n_jobs: int = 1) -> None:
        self.n_estimators, self.max_samples, self.n_jobs = n_estimators, max_samples, n_jobs
        self.model = None

    def fit(self, X, *, seed, advance: Callable = lambda n=1: None):
        from sklearn.ensemble import IsolationForest

        self.model = IsolationForest(n_estimators=self.n_estimators, max_samples=self.max_samples,
                                     random_state=seed, n_jobs=self.n_jobs).fit(X)
        return self

    def score_samples(self, X):
        return -self.model.score_samples(X)

    def get_state(self):
        return {"params": {"n_estimators": self.n_estimators, "max_samples": self.max_samples, "n_jobs": self.n_jobs},
                "arrays": {}, "objects": {"model": self.model}}

    @classmethod
    def from_state(cls, state):
        est = cls(**state["params"])
        est.model = state["objects"]["model"]
        return est


class LOFEstimator(Estimator):
    kind = "lof"

    def __init__(self, n_neighbors: int = 20, n_jobs: int = 1) -> None:
        self.n_neighbors, self.n_jobs = n_neighbors, n_jobs
        self.model = None

    @property
    def min_rows(self) -> int:
        return self.n_neighbors + 1

    def fit(self, X, *, seed, advance: Callable = lambda n=1: None):
        from sklearn.neighbors import LocalOutlierFactor

        self.model = LocalOutlierFactor(n_neighbors=self.n_neighbors, novelty=True, n_jobs=self.n_jobs).fit(X)
        return self

    def score_samples(self, X):
        return -self.model.score_samples(X)

    def get_state(self):
        return {"params": {"n_neighbors": self.n_neighbors, "n_jobs": self.n_jobs}, "arrays": {},
                "objects": {"model": self.model}}

    @classmethod
    def from_state(cls, state):
        est = cls(**state["params"])
        est.model = state["objects"]["model"]
        return est


class PCAEstimator(Estimator):
    """Reconstruction error from the leading principal components (pure NumPy state)."""

    kind = "pca"

    def __init__(self, n_components: int | float = 2) -> None:
        self.n_components = n_components
        self.mean_ = self.components_ = None

    def fit(self, X, *, seed, advance: Callable = lambda n=1: None):
        from sklearn.decomposition import PCA

        if isinstance(self.n_components, int) and self.n_components >= X.shape[1]:
            raise ToolkitError(f"detectors.pca: n_components={self.n_components} must be smaller than the number of "
                               f"features ({X.shape[1]}), or the reconstruction error is zero")
        pca = PCA(n_components=self.n_components, svd_solver="full", random_state=seed).fit(X)
        self.mean_, self.components_ = pca.mean_, pca.components_
        return self

    def score_samples(self, X):
        centred = X - self.mean_
        recon = centred @ self.components_.T @ self.components_
        return ((centred - recon) ** 2).sum(axis=1)

    def get_state(self):
        return {"params": {"n_components": self.n_components},
                "arrays": {"mean": self.mean_, "components": self.components_}}

    @classmethod
    def from_state(cls, state):
        est = cls(state["params"]["n_components"])
        est.mean_, est.components_ = state["arrays"]["mean"], state["arrays"]["components"]
        return est


def pyod_class(model: str):
    """The PyOD detector class called ``model`` (e.g. ECOD, IForest, KNN, COPOD)."""
    try:
        models = importlib.import_module("pyod.models")
    except ImportError as exc:
        raise ToolkitError("detectors.pyod needs the optional package PyOD, which is not installed. Install it with "
                           "`pip install 'toolkit[pyod]'` (or `pip install pyod`), or use detectors.isolation_forest, "
                           "detectors.lof or detectors.pca, which need only scikit-learn.") from exc
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(models.__path__)]
    guesses = [model.lower()] + [n for n in names if n.replace("_", "") == model.lower()]
    for mod_name in guesses:
        try:
            mod = importlib.import_module(f"pyod.models.{mod_name}")
        except ImportError:
            continue
        if hasattr(mod, model):
            return getattr(mod, model)
    raise RecipeError(f"detectors.pyod: no PyOD model class '{model}' (looked in pyod.models.{model.lower()}). "
                      "Use the class name as PyOD spells it, e.g. ECOD, COPOD, IForest, KNN, HBOS, OCSVM.")


class TailProbabilityModel:
    """ECOD and COPOD scored one row at a time, in closed form, against the training rows alone.

    PyOD's ``decision_function`` for these two ranks a batch among the training rows *and the rest of
    the batch* (empirical CDFs of train + batch, skewness of both), so a star's score would depend on
    which other stars share its chunk. Here every row gets the score PyOD gives it when scored on its
    own: CDFs over the n training values plus the row itself, ``(#train <= x + 1) / (n + 1)`` and
    ``(#train >= x + 1) / (n + 1)``, with the skewness signs of the training rows. The state is the
    sorted training columns (arrays, no pickle).
    """

    def __init__(self, model: str, sorted_train: np.ndarray, skew_sign: np.ndarray) -> None:
        self.model, self.sorted_train, self.skew_sign = model, sorted_train, skew_sign

    @classmethod
    def fit(cls, model: str, X) -> "TailProbabilityModel":
        from scipy.stats import skew

        X = np.asarray(X, float)
        return cls(model, np.sort(X, axis=0), np.sign(skew(X, axis=0)))

    def decision_function(self, X) -> np.ndarray:
        X = np.asarray(X, float)
        S, n = self.sorted_train, len(self.sorted_train)
        at_most = np.column_stack([np.searchsorted(S[:, j], X[:, j], side="right") for j in range(S.shape[1])])
        at_least = n - np.column_stack([np.searchsorted(S[:, j], X[:, j], side="left") for j in range(S.shape[1])])
        u_left = -np.log((at_most + 1) / (n + 1))
        u_right = -np.log((at_least + 1) / (n + 1))
        s = self.skew_sign
        u_skew = u_left * -np.sign(s - 1) + u_right * np.sign(s + 1)
        if self.model == "ECOD":
            outlying = np.maximum(np.maximum(u_left, u_right), u_skew)
        else:   # COPOD
            outlying = np.maximum(u_skew, (u_left + u_right) / 2)
        return outlying.sum(axis=1)


#: PyOD models whose own scores of a batch depend on the batch (see TailProbabilityModel)
TAIL_MODELS = ("ECOD", "COPOD")


class PyODEstimator(Estimator):
    kind = "pyod"

    def __init__(self, model: str = "ECOD", params: dict | None = None) -> None:
        self.model_name, self.params = model, dict(params or {})
        self.model = None

    def fit(self, X, *, seed, advance: Callable = lambda n=1: None):
        cls = pyod_class(self.model_name)
        kwargs = dict(self.params)
        if "random_state" in inspect.signature(cls.__init__).parameters:
            kwargs.setdefault("random_state", seed)
        try:
            self.model = cls(**kwargs)
        except TypeError as exc:
            raise RecipeError(f"detectors.pyod: bad params for {self.model_name}: {exc}") from exc
        if self.model_name in TAIL_MODELS:
            self.model = TailProbabilityModel.fit(self.model_name, X)
        else:
            self.model.fit(X)
        return self

    def score_samples(self, X):
        return np.asarray(self.model.decision_function(X), float)

    def get_state(self):
        params = {"model": self.model_name, "params": self.params}
        if isinstance(self.model, TailProbabilityModel):
            return {"params": params, "arrays": {"sorted_train": self.model.sorted_train,
                                                 "skew_sign": self.model.skew_sign}}
        return {"params": params, "arrays": {}, "objects": {"model": self.model}}

    @classmethod
    def from_state(cls, state):
        est = cls(state["params"]["model"], state["params"]["params"])
        if "sorted_train" in state["arrays"]:
            est.model = TailProbabilityModel(est.model_name, state["arrays"]["sorted_train"],
                                             state["arrays"]["skew_sign"])
        else:
            est.model = state["objects"]["model"]
        return est

    def versions(self):
        import pyod

        return {"pyod": pyod.__version__}


class IsolationForestDetector(EstimatorDetector):
    name = "detectors.isolation_forest"
    aliases = ("detect.isolation_forest",)   # the former name, until the next release
    estimator_class = IsolationForestEstimator
    summary = "Isolation forest (scikit-learn); score = isolation anomaly score in (0, 1]."

    class Config(DetectorConfig):
        n_estimators: int = Field(200, ge=1, description="number of trees")
        max_samples: int | str = Field("auto", description="rows per tree ('auto' = min(256, n))")

    def make_estimator(self):
        return IsolationForestEstimator(self.config.n_estimators, self.config.max_samples)

    def score_meaning(self, n_features):
        return (f"isolation-forest anomaly score 2^(-E[path length]/c(n)) in (0, 1] over {n_features} "
                f"standardised features ({self.config.n_estimators} trees)")


class LOFDetector(EstimatorDetector):
    name = "detectors.lof"
    aliases = ("detect.lof",)   # the former name, until the next release
    estimator_class = LOFEstimator
    summary = "Local outlier factor (scikit-learn, novelty=True); score = LOF (about 1 inliers, larger outliers)."

    class Config(DetectorConfig):
        n_neighbors: int = Field(20, ge=1, description="neighbours that define the local density")

    def make_estimator(self):
        return LOFEstimator(self.config.n_neighbors)

    def score_meaning(self, n_features):
        return (f"local outlier factor against the training rows ({self.config.n_neighbors} neighbours, "
                f"{n_features} standardised features; about 1 for inliers)")


class PCADetector(EstimatorDetector):
    name = "detectors.pca"
    aliases = ("detect.pca",)   # the former name, until the next release
    estimator_class = PCAEstimator
    summary = "PCA reconstruction error: squared distance from the leading principal-component subspace."

    class Config(DetectorConfig):
        n_components: int | float = Field(2, gt=0, description="components kept (an integer), or the fraction of "
                                          "variance to keep (a number between 0 and 1)")

    def make_estimator(self):
        return PCAEstimator(self.config.n_components)

    def score_meaning(self, n_features):
        k = self.config.n_components
        kept = f"{k} principal components" if isinstance(k, int) else f"the components holding {k:.0%} of the variance"
        return (f"sum over the {n_features} standardised features of the squared residual after projecting onto "
                f"{kept}")


class PyODDetector(EstimatorDetector):
    name = "detectors.pyod"
    aliases = ("detect.pyod",)   # the former name, until the next release
    estimator_class = PyODEstimator
    objects_format = "pickle"   # PyOD models have no other saved form: loading needs --trust-pickle
    summary = "Any PyOD detector by class name (optional extra); score = its decision_function."

    class Config(DetectorConfig):
        model: str = Field("ECOD", description="PyOD class name, e.g. ECOD, COPOD, IForest, KNN, HBOS")
        params: dict = Field(default_factory=dict, description="keyword arguments for the PyOD class")

    def make_estimator(self):
        pyod_class(self.config.model)  # fail early, before any fitting
        return PyODEstimator(self.config.model, self.config.params)

    def score_meaning(self, n_features):
        return f"PyOD {self.config.model} decision_function over {n_features} standardised features"
