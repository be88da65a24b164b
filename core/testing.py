"""Helpers for testing components, for built-in and third-party plugins alike.

``check_component(cls, table)`` is the one call a plugin author puts in their
tests (as scikit-learn's ``check_estimator``): it checks what the runner relies
on, so that a component that passes it runs in memory, streamed and on Dask
with the same answers. ``assert_chunk_pure`` checks only chunk purity.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from .component import BASES, KINDS, Component, Config, Cut, Detection, Detector, Feature, FittedDetector, \
    Validation, Validator
from .context import RunContext
from .errors import SourceUnavailable
from .models import ModelFiles
from .sampling import sample_hash
from .table import Columns, Table

#: every check, in the order check_component runs them
CHECKS = ("attributes", "config", "work", "determinism", "chunk_purity", "save_load")

_NAME = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")
_WORK_METHOD = {"source": "load", "cut": "mask", "feature": "compute", "detector": "fit",
                "validator": "validate", "catalog": "load"}


class ComponentCheckError(AssertionError):
    """A component broke its contract: the message names the component and the check."""

    def __init__(self, component: str, check: str, detail: str) -> None:
        self.component, self.check, self.detail = component, check, detail
        super().__init__(f"check_component({component}): check '{check}' failed: {detail}")


# -- row-wise helpers -------------------------------------------------------------------------------

def run_rowwise(component, table: Table, ctx: RunContext) -> pd.DataFrame:
    """A row-wise component's output for ``table`` as a DataFrame with one row per input row.

    A cut gives one boolean column ``mask``; a feature its new columns; a
    validator the columns of its ``Validation``. Wrong output (not one value
    per row) is an ``AssertionError`` naming the component, never a NumPy error.
    """
    name = getattr(component, "name", type(component).__name__)
    if isinstance(component, Cut):
        mask = np.asarray(component.mask(table, ctx))
        if mask.shape != (len(table),):
            raise AssertionError(f"cut '{name}' returned a mask of shape {mask.shape} for {len(table)} rows")
        return pd.DataFrame({"mask": mask.astype(bool)})
    if isinstance(component, Feature):
        cols = component.compute(table, ctx)
    elif isinstance(component, Validator):
        cols = component.validate(table, ctx).columns
    else:
        raise TypeError(f"{component!r} is not row-wise")
    if not isinstance(cols, Columns):
        raise AssertionError(f"{component.kind} '{name}' returned {type(cols).__name__}, not toolkit.core.Columns")
    for col, values in cols.data.items():
        got = np.shape(values)[0] if np.ndim(values) else "a scalar, not"
        if got != len(table):
            raise AssertionError(f"{component.kind} '{name}': column '{col}' has {got} values for "
                                 f"{len(table)} rows; a row-wise component must return one value per row")
    return pd.DataFrame({k: np.asarray(v) for k, v in cols.data.items()}, index=range(len(table)))


def assert_chunk_pure(component, table: Table, n_chunks: int = 3, ctx: RunContext | None = None,
                      rtol: float = 1e-10, atol: float = 0.0) -> None:
    """Check that running on any split of the rows gives the same rows as on the whole table."""
    ctx = ctx or RunContext(seed=0, show_progress=False)
    whole = run_rowwise(component, table, ctx)
    parts = pd.concat([run_rowwise(component, part, ctx) for part in table.split(n_chunks)], ignore_index=True)
    assert list(whole.columns) == list(parts.columns), "chunks produced different columns"
    for name in whole.columns:
        _assert_same(whole[name].to_numpy(), parts[name].to_numpy(), rtol, atol,
                     f"column '{name}' differs between whole table and chunks")


def _assert_same(a, b, rtol: float, atol: float, message: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise AssertionError(f"{message}: shapes {a.shape} and {b.shape}")
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=message)
    else:
        same = pd.Series(a).equals(pd.Series(b)) or bool((pd.isna(a) & pd.isna(b) | (a == b)).all())
        assert same, message


def _same_frames(a: pd.DataFrame, b: pd.DataFrame, rtol: float, atol: float, what: str) -> None:
    if list(a.columns) != list(b.columns):
        raise AssertionError(f"{what}: columns {list(a.columns)} and {list(b.columns)}")
    for name in a.columns:
        _assert_same(a[name].to_numpy(), b[name].to_numpy(), rtol, atol, f"{what}: column '{name}' differs")


# -- check_component ------------------------------------------------------------------------------------

class _Checker:
    def __init__(self, cls, table, config, seed, n_chunks, rtol, atol, fit_table, workdir):
        self.cls, self.table, self.config = cls, table, dict(config or {})
        self.seed, self.n_chunks, self.rtol, self.atol = seed, n_chunks, rtol, atol
        self.fit_table, self.workdir = fit_table, workdir
        self.label = f"{getattr(cls, 'name', '') or getattr(cls, '__name__', repr(cls))}"
        self.results: dict[str, str] = {}
        self._fitted: FittedDetector | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="toolkit-check-")

    def fail(self, check: str, detail: str):
        raise ComponentCheckError(self.label, check, detail)

    def ctx(self) -> RunContext:
        """A fresh context as the runner makes one: the seed, a staging folder, no figures, quiet."""
        ctx = RunContext(self.seed, self.workdir or Path(self._tmp.name) / "run", Console(stderr=True, quiet=True),
                         figures=False, show_progress=False)
        ctx.step = f"{self.cls.kind}s.{self.cls.name.split('.')[-1]}"
        return ctx

    def instance(self):
        return self.cls(dict(self.config))

    def call(self, check: str, fn, *args):
        """Run the component; its own exceptions become a failure of ``check`` naming it."""
        try:
            return fn(*args)
        except (ComponentCheckError, SourceUnavailable):
            raise
        except Exception as exc:   # noqa: BLE001 - reported with the check and component named
            self.fail(check, f"{type(exc).__name__}: {exc}")

    # -- attributes and config -----------------------------------------------------------------------
    def attributes(self) -> str:
        cls = self.cls
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            self.fail("attributes", f"{cls!r} is not a subclass of toolkit.core.Component")
        if cls.kind not in KINDS or not issubclass(cls, BASES[cls.kind]):
            self.fail("attributes", f"kind {cls.kind!r}: subclass one of toolkit.core "
                                    f"{', '.join(b.__name__ for b in BASES.values())}")
        if not isinstance(cls.name, str) or not _NAME.match(cls.name):
            self.fail("attributes", f"name {cls.name!r} must be dotted, '<domain>.<what>' (letters, digits, _)")
        if not isinstance(cls.summary, str) or not cls.summary.strip() or "\n" in cls.summary.strip():
            self.fail("attributes", "summary must be one non-empty line")
        if not (isinstance(cls.Config, type) and issubclass(cls.Config, Config)):
            self.fail("attributes", "Config must subclass toolkit.core.Config (typed, unknown keys refused)")
        method = _WORK_METHOD[cls.kind]
        base = BASES[cls.kind]
        if cls.kind == "detector":
            if not cls.can_fit() and cls.detect is Detector.detect:
                self.fail("attributes", "a detector implements fit (and load) or detect")
            if cls.can_fit() and cls.load.__func__ is Detector.load.__func__:
                self.fail("attributes", "a detector with fit must implement the classmethod load(files, state)")
        elif getattr(cls, method) is getattr(base, method):
            self.fail("attributes", f"the {cls.kind} does not implement {method}()")
        return "ok"

    def config_roundtrip(self) -> str:
        cls = self.cls
        try:
            first = cls(dict(self.config)).config
        except Exception as exc:   # noqa: BLE001
            self.fail("config", f"config {self.config!r} is not accepted: {type(exc).__name__}: {exc}")
        dumped = first.model_dump(mode="json")
        try:
            json.dumps(dumped, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self.fail("config", f"the config does not dump to plain JSON (the run's recipe.resolved.yaml needs it): "
                                f"{exc}")
        again = cls(dumped).config.model_dump(mode="json")
        if again != dumped:
            self.fail("config", f"dump -> load -> dump changed the config: {dumped!r} became {again!r}")
        try:
            cls({**dumped, "no_such_parameter_": 1})
        except Exception:   # noqa: BLE001 - a pydantic ValidationError, as recipes need
            pass
        else:
            self.fail("config", "an unknown parameter was accepted; subclass toolkit.core.Config (extra='forbid')")
        return "ok"

    # -- the work, per kind ------------------------------------------------------------------------------
    def need_table(self) -> Table:
        if self.table is None:
            self.fail("work", f"a {self.cls.kind} needs an input table: check_component(cls, table)")
        if not isinstance(self.table, Table):
            self.fail("work", f"table must be a toolkit.core.Table, not {type(self.table).__name__}")
        return self.table

    def work(self, ctx: RunContext | None = None):
        """One run of the work method; returns what determinism compares."""
        kind, ctx = self.cls.kind, ctx or self.ctx()
        comp = self.instance()
        if kind in ("source", "catalog"):
            out = self.call("work", comp.load, ctx)
            if not isinstance(out, Table):
                self.fail("work", f"load() returned {type(out).__name__}, not toolkit.core.Table")
            if len(out) == 0:
                self.fail("work", "load() returned no rows")
            if kind == "source" and out.id_problems():
                self.fail("work", f"id column '{out.id_column}': {out.id_problems()}")
            if kind == "catalog":
                missing = [c for c in ("name", "ra", "dec") if c not in out.columns]
                if missing:
                    self.fail("work", f"a catalogue table needs name, ra, dec; missing {missing}")
                ra, dec = out.array("ra"), out.array("dec")
                if np.nanmin(ra) < 0 or np.nanmax(ra) > 360 or np.nanmin(dec) < -90 or np.nanmax(dec) > 90:
                    self.fail("work", "ra/dec out of range: they must be degrees (ICRS)")
            return out.data
        table = self.need_table()
        if kind in ("cut", "feature") or (kind == "validator" and self.cls.row_wise):
            try:
                frame = self.call("work", run_rowwise, comp, table, ctx)
            except AssertionError as exc:
                if isinstance(exc, ComponentCheckError):
                    raise
                self.fail("work", str(exc))
            if kind == "feature" and frame.shape[1] == 0:
                self.fail("work", "compute() returned no columns")
            return frame
        if kind == "validator":
            out = self.call("work", comp.validate, table, ctx)
            if not isinstance(out, Validation):
                self.fail("work", f"validate() returned {type(out).__name__}, not toolkit.core.Validation")
            for col, values in out.columns.data.items():
                if len(values) != len(table):
                    self.fail("work", f"column '{col}' has {len(values)} values for {len(table)} rows")
            try:
                json.dumps(out.summary, default=str)
            except (TypeError, ValueError) as exc:
                self.fail("work", f"the summary is not JSON-able (manifest.json needs it): {exc}")
            return pd.DataFrame({k: np.asarray(v) for k, v in out.columns.data.items()}, index=range(len(table)))
        # detectors
        if self.cls.can_fit():
            fitted = self.fit(comp, ctx)
            if self._fitted is None:                 # the first fit: chunk purity and save/load use it
                self._fitted = fitted
            return pd.DataFrame({"score": self.score(fitted, table)})
        out = self.call("work", comp.detect, table, ctx)
        if not isinstance(out, Detection):
            self.fail("work", f"detect() returned {type(out).__name__}, not toolkit.core.Detection")
        score = np.asarray(out.score)
        if score.shape != (len(table),):
            self.fail("work", f"detect() gave scores of shape {score.shape} for {len(table)} rows")
        frame = {"score": score.astype(float)}
        if out.flag is not None:
            flag = np.asarray(out.flag)
            if flag.shape != (len(table),):
                self.fail("work", f"detect() gave flags of shape {flag.shape} for {len(table)} rows")
            frame["flag"] = flag.astype(bool)
        return pd.DataFrame(frame)

    def sample(self) -> Table:
        """The seeded training sample the runner hands ``fit``: smallest id hashes first, capped."""
        table = self.fit_table if self.fit_table is not None else self.need_table()
        ids = table.data[table.id_column].to_numpy()
        order = np.lexsort((np.arange(len(table)), sample_hash(ids, self.seed)))
        cap = getattr(self.instance().config, "max_train_rows", None)
        sample = table.take(order if cap is None else order[:cap])
        sample.meta["sample_of"] = len(table)
        return sample

    def fit(self, comp, ctx) -> FittedDetector:
        fitted = self.call("work", comp.fit, self.sample(), ctx)
        if not isinstance(fitted, FittedDetector):
            self.fail("work", f"fit() returned {type(fitted).__name__}, not a toolkit.core.FittedDetector")
        return fitted

    def score(self, fitted, table: Table, check: str = "work") -> np.ndarray:
        extra = self.call(check, fitted.assign, table)
        if not isinstance(extra, Columns):
            self.fail(check, f"assign() returned {type(extra).__name__}, not toolkit.core.Columns")
        score = np.asarray(self.call(check, fitted.score, table.with_columns(extra)))
        if score.shape != (len(table),):
            self.fail(check, f"score() returned shape {score.shape} for {len(table)} rows")
        if score.dtype.kind not in "fiub":
            self.fail(check, f"score() returned {score.dtype} values, not numbers")
        if hasattr(fitted, "score_with_parts"):    # the run scores through it: it must give score()'s scores
            both, parts = self.call(check, fitted.score_with_parts, table.with_columns(extra))
            parts = np.asarray(parts)
            if parts.ndim != 2 or len(parts) != len(table):
                self.fail(check, f"score_with_parts() returned parts of shape {parts.shape} for {len(table)} rows")
            if not np.array_equal(np.asarray(both, float), score.astype(float), equal_nan=True):
                self.fail(check, "score_with_parts() scores differ from score()")
        return score.astype(float)

    # -- the other checks -----------------------------------------------------------------------------
    def determinism(self, first) -> str:
        second = self.work(self.ctx())
        try:
            _same_frames(first, second, self.rtol, self.atol, "two runs with the same seed differ")
        except AssertionError as exc:
            self.fail("determinism", str(exc))
        return "ok"

    def chunk_purity(self, whole) -> str:
        kind = self.cls.kind
        if kind == "catalog" or (kind == "validator" and not self.cls.row_wise):
            return "skipped: not row-wise"
        if kind == "source":
            if not self.cls.can_stream():
                return "skipped: the source does not stream"
            n = len(whole)
            size = max(1, math.ceil(n / self.n_chunks))
            parts = self.call("chunk_purity", lambda: list(self.instance().iter_chunks(self.ctx(), size)))
            if any(not isinstance(p, Table) for p in parts):
                self.fail("chunk_purity", "iter_chunks() yielded something other than toolkit.core.Table")
            got = pd.concat([p.data for p in parts], ignore_index=True) if parts else pd.DataFrame()
            try:
                _same_frames(whole.reset_index(drop=True), got, self.rtol, self.atol,
                             f"iter_chunks({size}) concatenated differs from load()")
            except AssertionError as exc:
                self.fail("chunk_purity", str(exc))
            return "ok"
        table = self.need_table()
        if kind == "detector":
            if not self.cls.can_fit():
                return "skipped: a detect()-only detector scores the whole table (in memory only)"
            fitted = self._fitted if self._fitted is not None else self.fit(self.instance(), self.ctx())
            parts = np.concatenate([self.score(fitted, p, "chunk_purity") for p in table.split(self.n_chunks)])
            try:
                _assert_same(whole["score"].to_numpy(), parts, self.rtol, self.atol,
                             "scores of the whole table and of its chunks differ")
            except AssertionError as exc:
                self.fail("chunk_purity", str(exc))
            return "ok"
        comp = self.instance()
        ctx = self.ctx()
        try:
            parts = pd.concat([self.call("chunk_purity", run_rowwise, comp, p, ctx)
                               for p in table.split(self.n_chunks)], ignore_index=True)
            _same_frames(whole, parts, self.rtol, self.atol, f"whole table and {self.n_chunks} chunks differ")
        except ComponentCheckError:
            raise
        except AssertionError as exc:
            self.fail("chunk_purity", str(exc))
        return "ok"

    def save_load(self, whole) -> str:
        if self.cls.kind != "detector":
            return "skipped: not a detector"
        if not self.cls.can_fit():
            return "skipped: a detect()-only detector saves no model"
        table = self.need_table()
        fitted = self._fitted if self._fitted is not None else self.fit(self.instance(), self.ctx())
        folder = Path(self._tmp.name) / "model"
        files = ModelFiles(folder)
        state = self.call("save_load", fitted.save, files)
        if not isinstance(state, dict):
            self.fail("save_load", f"save() returned {type(state).__name__}, not a JSON-able dict")
        try:
            state = json.loads(json.dumps(state))          # what model.json holds
        except (TypeError, ValueError) as exc:
            self.fail("save_load", f"save() returned a state that is not JSON-able: {exc}")
        pickles = [n for n, e in files.listed.items() if e.get("pickle")]
        listed = json.loads(json.dumps(files.listed))
        loaded = self.call("save_load", self.cls.load, ModelFiles(folder, listed, trust_pickle=bool(pickles)), state)
        if not isinstance(loaded, FittedDetector):
            self.fail("save_load", f"load() returned {type(loaded).__name__}, not a toolkit.core.FittedDetector")
        again = self.score(loaded, table, "save_load")
        try:
            _assert_same(whole["score"].to_numpy(), again, self.rtol, self.atol,
                         "scores of the loaded model differ from the fitted one's")
        except AssertionError as exc:
            self.fail("save_load", str(exc))
        return "ok" + (f" (pickled files: {', '.join(pickles)}; they load only with trust)" if pickles else "")

    def run(self, checks) -> dict[str, str]:
        try:
            self.results["attributes"] = self.attributes()
            self.results["config"] = self.config_roundtrip()
            if {"work", "determinism", "chunk_purity", "save_load"} & set(checks):
                whole = self.work()
                self.results["work"] = "ok"
                if "determinism" in checks:
                    self.results["determinism"] = self.determinism(whole)
                if "chunk_purity" in checks:
                    self.results["chunk_purity"] = self.chunk_purity(whole)
                if "save_load" in checks:
                    self.results["save_load"] = self.save_load(whole)
        finally:
            self._tmp.cleanup()
        return self.results


def check_component(cls, table: Table | None = None, config: dict[str, Any] | None = None, *, seed: int = 0,
                    n_chunks: int = 3, rtol: float = 1e-9, atol: float = 1e-12,
                    fit_table: Table | None = None, workdir: Path | None = None, checks=CHECKS) -> dict[str, str]:
    """Check that a component class keeps the contract the runner relies on.

    ``cls``: the component class; ``table``: rows it works on (every kind but
    sources and catalogues needs one, with the columns the component reads);
    ``config``: its parameters, as a recipe's ``with:`` gives them;
    ``fit_table``: the rows a detector is fitted on (default ``table``);
    ``workdir``: the run folder the component sees (default: a new temporary
    one; a validator that reads an earlier detector's saved model needs the
    folder that detector wrote into).
    The checks, in order (``checks`` picks some; attributes and config always run):

    - ``attributes``: a dotted ``name``, a one-line ``summary``, a typed
      ``Config`` (``toolkit.core.Config``), the kind's work method implemented
      (detectors: ``fit`` and ``load``, or ``detect``);
    - ``config``: the config dumps to JSON, loads back to the same config, and
      refuses an unknown parameter;
    - ``work``: the work method returns the right type with one value per row
      (sources: unique ids; catalogues: name, ra, dec in degrees);
    - ``determinism``: a second run with the same seed gives the same result;
    - ``chunk_purity``: for row-wise kinds (cuts, features, row-wise
      validators, a fitted detector's scores, a streaming source's chunks) any
      split of the rows gives the same rows as the whole;
    - ``save_load``: for detectors, ``FittedDetector.save`` then ``Detector.load``
      gives a model with identical scores.

    Returns ``{check: "ok" | "skipped: why"}``; a broken contract raises
    ``ComponentCheckError`` (an ``AssertionError``) naming the component and
    the check. ``SourceUnavailable`` (a service that cannot be reached) passes
    through unchanged, so a test can skip.
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown check(s) {sorted(unknown)}; choose from {', '.join(CHECKS)}")
    return _Checker(cls, table, config, seed, n_chunks, rtol, atol, fit_table, workdir).run(set(checks))
