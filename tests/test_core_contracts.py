"""toolkit.core.testing.check_component over every registered component, and the checks themselves.

Each built-in component is checked with the parameters and on the rows a
built-in recipe gives it (tests/contract_cases.py); the second half shows that
each check fails, naming the check and the component, on a component that
breaks it.
"""

from __future__ import annotations

import numpy as np
import pytest

from contract_cases import case_for, validator_with_real_detectors
from toolkit.core import (Catalog, Columns, Config, Cut, Detector, Feature, Field, FittedDetector, RunContext,
                          SourceUnavailable, Table, Validation, Validator, get_registry)
from toolkit.core.testing import CHECKS, ComponentCheckError, assert_chunk_pure, check_component

NAMES = sorted(get_registry().entries)
#: kinds whose checks take more than a few seconds (training, MCMC; validators may need real detector output)
SLOW_KINDS = {"detector", "validator"}
#: contract violations found by these checks and not fixed yet (the component belongs to another issue), by the
#: last part of the component's name (so a move to another domain keeps the entry); strict: the test fails once
#: the component is fixed, so the entry gets removed
KNOWN_VIOLATIONS: dict[str, str] = {}


def _params():
    registry = get_registry()
    out = []
    for name in NAMES:
        kind = registry.entries[name].kind
        marks = [pytest.mark.slow] if kind in SLOW_KINDS else []
        known = KNOWN_VIOLATIONS.get(name.rsplit(".", 1)[-1])
        if known:
            marks.append(pytest.mark.xfail(reason=known, raises=ComponentCheckError, strict=True))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def _missing_input(exc: ComponentCheckError) -> bool:
    """The component could not start on these inputs (a parameter or a column it needs), as opposed to
    having started and broken its contract."""
    return exc.check in ("config", "work") and ("StageError" in exc.detail or "Field required" in exc.detail
                                               or "is not accepted" in exc.detail)


@pytest.mark.parametrize("name", _params())
def test_builtin_component_keeps_the_contract(name):
    entry = get_registry().entries[name]
    case = case_for(name)
    try:
        _check(entry, case)
    except SourceUnavailable as exc:
        pytest.skip(f"{name} reads a remote service (offline here; its client is tested against recorded "
                    f"responses): {str(exc).splitlines()[0][:120]}")


def _check(entry, case):
    name = entry.name
    if entry.kind in ("source", "catalog"):
        try:
            results = check_component(entry.cls, config=case.config)
        except ComponentCheckError as exc:
            if case.origin.startswith("no built-in recipe") and _missing_input(exc):
                detail = " ".join(exc.detail.split())[:160]
                pytest.skip(f"{name}: needs parameters no built-in recipe gives ({detail})")
            raise
        assert results["work"] == "ok"
        return
    if case.table is not None:
        try:
            results = check_component(entry.cls, case.table, case.config)
        except ComponentCheckError as exc:
            if not (entry.kind == "validator" and _missing_input(exc)):
                raise
            # it reads what the recipe's detectors made (member columns, a saved fit): run them for real
            table, workdir = validator_with_real_detectors(case)
            results = check_component(entry.cls, table, case.config, workdir=workdir)
        assert set(results) == set(CHECKS)
        return
    # used by no built-in recipe: the first recipe table it can work on
    reasons = []
    for table in case.inputs:
        try:
            results = check_component(entry.cls, table, case.config)
        except ComponentCheckError as exc:
            if not _missing_input(exc):
                raise
            reasons.append(" ".join(exc.detail.split())[:160])
            continue
        assert set(results) == set(CHECKS)
        return
    pytest.skip(f"{name}: used by no built-in recipe and no recipe table fits its defaults "
                f"({reasons[0] if reasons else 'no tables'})")


#: recorded answers of the real services (tests/data) by the domain of the component's name; others: Gaia's
RECORDED = {"skymapper": "skymapper_dr2_sample.vot"}


def _tap_sources():
    registry = get_registry()
    return [pytest.param(e.name, id=e.name) for e in registry.of_kind("source")
            if {"url", "cache"} <= set(e.cls.Config.model_fields)]


@pytest.mark.parametrize("name", _tap_sources())
def test_tap_source_keeps_the_contract_against_recorded_answers(name, fake_tap, tmp_path, monkeypatch):
    """The remote sources skipped above, checked against the fake TAP service with a recorded answer."""
    from fake_tap import recorded

    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    entry = get_registry().entries[name]
    fake_tap.respond(None, recorded(RECORDED.get(name.split(".")[0], "gaia_lesson_sample.vot")))
    try:
        results = check_component(entry.cls, config={"url": fake_tap.url, "cache": False})
    except ComponentCheckError as exc:
        if _missing_input(exc):
            pytest.skip(f"{name}: the recorded answers lack what it needs ({' '.join(exc.detail.split())[:160]})")
        raise
    assert results["work"] == "ok" and results["determinism"] == "ok"


# -- each check can fail -----------------------------------------------------------------------------------

def _table(n=60) -> Table:
    rng = np.random.default_rng(3)
    cols = Columns().add("a", rng.normal(size=n), "mag").add("b", rng.normal(size=n), "km / s")
    return Table.from_columns(cols)


class GoodCut(Cut):
    name = "t.good_cut"
    summary = "Keep positive a."

    def mask(self, table, ctx):
        return table.array("a") > 0


class WholeTableCut(GoodCut):
    """Not chunk-pure: compares each row with the mean of the rows it was handed."""
    name = "t.whole_cut"

    def mask(self, table, ctx):
        return table.array("a") > table.array("a").mean()


class WrongLengthFeature(Feature):
    name = "t.wrong_length"
    summary = "One value too few."

    def compute(self, table, ctx):
        return Columns().add("c", table.array("a")[1:])


class RandomFeature(Feature):
    name = "t.random"
    summary = "Unseeded noise."

    def compute(self, table, ctx):
        return Columns().add("noise", np.random.default_rng().normal(size=len(table)))


class LooseConfigCut(GoodCut):
    name = "t.loose"

    class Config(Config.__base__):      # pydantic's BaseModel: unknown keys allowed
        pass


class BadSummaryCut(GoodCut):
    name = "t.bad_summary"
    summary = "two\nlines"


class Mean(FittedDetector):
    score_description = "distance from the mean"

    def __init__(self, mean, offset=0.0):
        self.mean, self.offset = mean, offset

    def score(self, table):
        return np.abs(table.array("a") - self.mean) + self.offset

    def save(self, files):
        files.write_json("mean.json", {"mean": self.mean})
        return {}


class MeanDetector(Detector):
    name = "t.mean"
    summary = "Distance from the sample mean."

    class Config(Config):
        scale: float = Field(1.0, description="unused")

    def fit(self, sample, ctx):
        return Mean(float(sample.array("a").mean()))

    @classmethod
    def load(cls, files, state):
        return Mean(files.read_json("mean.json")["mean"])


class ForgetfulDetector(MeanDetector):
    """load() loses the offset learnt in fit: the reloaded model scores differently."""
    name = "t.forgetful"

    def fit(self, sample, ctx):
        return Mean(float(sample.array("a").mean()), offset=1.0)


class ChunkNormalisedModel(Mean):
    def score(self, table):
        a = table.array("a")
        return np.abs(a - a.mean())


class ChunkDetector(MeanDetector):
    name = "t.chunky"

    def fit(self, sample, ctx):
        return ChunkNormalisedModel(0.0)


class ListCatalog(Catalog):
    name = "t.list"
    summary = "Two objects."

    def load(self, ctx):
        return Table.from_columns(Columns().add("name", ["x", "y"]).add("ra", [10.0, 400.0]).add("dec", [0.0, 1.0]))


class CountingValidator(Validator):
    name = "t.count"
    summary = "Counts rows."
    row_wise = True

    def validate(self, table, ctx):
        return Validation(Columns().add("n", np.full(len(table), len(table))), {"n": len(table)})


def test_a_good_component_passes_every_check():
    assert check_component(GoodCut, _table()) == {c: "ok" for c in CHECKS} | {"save_load": "skipped: not a detector"}
    results = check_component(MeanDetector, _table())
    assert results["save_load"] == "ok" and results["chunk_purity"] == "ok"


@pytest.mark.parametrize("cls,check,words", [
    (WholeTableCut, "chunk_purity", "differ"),
    (WrongLengthFeature, "work", "59 values for 60 rows"),
    (RandomFeature, "determinism", "same seed"),
    (LooseConfigCut, "attributes", "toolkit.core.Config"),
    (BadSummaryCut, "attributes", "one non-empty line"),
    (ForgetfulDetector, "save_load", "loaded model"),
    (ChunkDetector, "chunk_purity", "chunks differ"),
    (ListCatalog, "work", "out of range"),
    (CountingValidator, "chunk_purity", "differ"),
])
def test_each_check_fails_naming_check_and_component(cls, check, words):
    with pytest.raises(ComponentCheckError) as info:
        check_component(cls, None if cls is ListCatalog else _table())
    assert info.value.check == check, str(info.value)
    assert f"check_component({cls.name})" in str(info.value) and words in str(info.value)


def test_config_that_the_component_refuses_names_the_check():
    with pytest.raises(ComponentCheckError, match=r"check 'config' failed: config \{'scale': 'x'\}"):
        check_component(MeanDetector, _table(), config={"scale": "x"})


def test_a_table_is_required_for_row_kinds():
    with pytest.raises(ComponentCheckError, match="needs an input table"):
        check_component(GoodCut)


def test_assert_chunk_pure_reports_a_wrong_length_feature_clearly():
    """Not a NumPy broadcast error: the component and column are named."""
    with pytest.raises(AssertionError, match="t.wrong_length': column 'c' has 59 values for 60 rows"):
        assert_chunk_pure(WrongLengthFeature(), _table(), ctx=RunContext(seed=0, show_progress=False))
