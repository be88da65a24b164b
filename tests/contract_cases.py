"""Inputs for the contract checks of every registered component, taken from the built-in recipes.

A component used by a built-in recipe is checked with that step's parameters
on the rows that step sees (the recipe's source, offline fallback when the
service cannot be reached, then its cuts and features), thinned to a few
hundred rows. A component no recipe uses is checked with its defaults on the
first recipe table it can work on. Nothing here names a component, so renames
do not break it; ``EXTRA_CONFIG`` only adds parameters for a few components
that need some and appear in no recipe (a renamed one falls back to a skip).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from rich.console import Console

from toolkit.core import (Columns, RunContext, SourceUnavailable, StageError, Table, get_registry, sample_hash,
                          unit_interval)

N_ROWS = 400            # rows each row-wise check works on
DETECTOR_ROWS = 1500    # rows a detector is checked on (a mixture needs enough members in its region)
SOURCE_ROWS = 2000      # a mock source's size in its own check (``n_stars`` when its config has one)



@lru_cache(maxsize=None)
def sample_files() -> Path:
    """A small table (Parquet) and a known-object list (CSV) on disk: no built-in recipe names files."""
    import pandas as pd

    folder = Path(tempfile.mkdtemp(prefix="toolkit-contract-files-"))
    rng = np.random.default_rng(11)
    n = 300
    stars = pd.DataFrame({"source_id": np.arange(1, n + 1), "ra": rng.uniform(0, 360, n),
                          "dec": rng.uniform(-60, 60, n), "mag": rng.normal(15, 1, n)})
    stars.to_parquet(folder / "stars.parquet")
    known = stars.head(25).assign(Name=[f"known {i}" for i in range(25)])[["Name", "ra", "dec"]]
    known.to_csv(folder / "known.csv", index=False)
    return folder


#: parameters for components that need some and appear in no built-in recipe
EXTRA_CONFIG = {
    "expr.feature": {"columns": {"double_ra": "2 * ra"}},
    "symbiotic.extinction_mwdust": {"map": "Zero"},          # the other maps are downloads (offline here)
    "gaia.ruwe": {"if_missing": "skip"},
    "detectors.lof": {"features": ["ra", "dec"]},
    "detectors.pyod": {"features": ["ra", "dec"]},
    "table.file": lambda: {"path": str(sample_files() / "stars.parquet"), "id_column": "source_id"},
    "catalogs.file": lambda: {"path": str(sample_files() / "known.csv")},
}


@dataclass
class Case:
    name: str
    config: dict
    table: Table | None = None
    origin: str = ""
    inputs: list[Table] = field(default_factory=list)   # candidate tables, for components no recipe uses
    recipe: object = None                                # the recipe a validator's case came from
    detector_input: Table | None = None                  # the rows its detectors see


@lru_cache(maxsize=None)
def _real_detections(recipe_name: str) -> tuple[Table, Path]:
    """The recipe's detectors run for real on the case's rows, into a run folder (saved models included)."""
    case = next(c for c in recipe_cases().values() if c.recipe is not None and c.recipe.name == recipe_name)
    recipe, table = case.recipe, case.detector_input
    workdir = Path(tempfile.mkdtemp(prefix="toolkit-contract-"))
    for step in recipe.steps.get("detectors", []):
        ctx = RunContext(recipe.seed, workdir, Console(stderr=True, quiet=True), figures=False, show_progress=False)
        ctx.step = f"detectors.{step.name}"
        det = step.component.detect(table, ctx)
        cols = Columns()
        for name, values in det.columns.data.items():
            cols.add(name, values, det.columns.info[name].unit, det.columns.info[name].description)
        cols.add(f"score_{step.name}", det.score)
        cols.add(f"flag_{step.name}", det.flag if det.flag is not None else np.zeros(len(table), bool))
        table = table.with_columns(cols)
    return table, workdir


def validator_with_real_detectors(case: Case) -> tuple[Table, Path]:
    """A validator that reads what an earlier detector made (members, a saved fit): the real thing."""
    return _real_detections(case.recipe.name)


def quiet_ctx(seed: int, step: str = "") -> RunContext:
    ctx = RunContext(seed, None, Console(stderr=True, quiet=True), figures=False, show_progress=False)
    ctx.step = step
    return ctx


def thin(table: Table, n: int = N_ROWS, seed: int = 0) -> Table:
    """``n`` rows chosen by the hash of their id (the same rows whatever the order), in table order."""
    if len(table) <= n:
        return table
    ids = table.data[table.id_column].to_numpy()
    return table.take(np.sort(np.argsort(sample_hash(ids, seed), kind="stable")[:n]))


def with_detector_columns(table: Table, steps) -> Table:
    """``score_<step>``/``flag_<step>`` for each detector step (a seeded stand-in: the top 10 % flagged)."""
    cols = Columns()
    ids = table.data[table.id_column].to_numpy()
    for step in steps:
        score = unit_interval(ids, 0, f"contract:{step.name}")
        cols.add(f"score_{step.name}", score, description="stand-in score for the contract checks")
        cols.add(f"flag_{step.name}", score > 0.9)
    return table.with_columns(cols) if len(cols) else table


def _load_source(recipe) -> tuple[object, Table] | tuple[None, None]:
    for step in (recipe.source, recipe.source.fallback):
        if step is None:
            continue
        try:
            return step, step.component.load(quiet_ctx(recipe.seed, f"source.{step.name}"))
        except SourceUnavailable:
            continue
        except StageError:
            if "path" in step.component.Config.model_fields:   # its files are not on this machine (symbiotic_hats'
                return None, None                                # HATS catalogues): the recipe gives no cases
            raise
    return None, None


@lru_cache(maxsize=1)
def recipe_cases() -> dict[str, Case]:
    """Component name -> its first case in the built-in recipes (in name order)."""
    from toolkit.core.recipe import builtin_recipes, load_recipe

    registry = get_registry()
    cases: dict[str, Case] = {}
    feature_tables: list[Table] = []

    def add(step, table, origin, **extra):
        name = step.component.name
        if name not in cases:
            config = step.component.config.model_dump(mode="json")
            cases[name] = Case(name, config, table, origin, **extra)

    for recipe_name in sorted(builtin_recipes()):
        recipe = load_recipe(recipe_name, registry)
        source_step, table = _load_source(recipe)
        if source_step is None:
            continue
        if source_step.component.name not in cases:
            config = source_step.component.config.model_dump(mode="json")
            if isinstance(config.get("n_stars"), int):
                config["n_stars"] = min(config["n_stars"], SOURCE_ROWS)
            cases[source_step.component.name] = Case(source_step.component.name, config, None,
                                                     f"recipe {recipe_name}, source")
        steps = recipe.steps
        after = [s for s in steps.get("cuts", []) if s.after_features]
        for step in [s for s in steps.get("cuts", []) if not s.after_features]:
            add(step, thin(table), f"recipe {recipe_name}, {step.where}")
            table = table.take(np.asarray(step.component.mask(table, quiet_ctx(recipe.seed)), bool))
        table = thin(table, DETECTOR_ROWS)
        for step in steps.get("features", []):
            add(step, thin(table), f"recipe {recipe_name}, {step.where}")
            table = table.with_columns(step.component.compute(table, quiet_ctx(recipe.seed, f"features.{step.name}")))
        for step in after:
            add(step, thin(table), f"recipe {recipe_name}, {step.where}")
        for step in steps.get("detectors", []):
            add(step, table, f"recipe {recipe_name}, {step.where}")
        flagged = with_detector_columns(thin(table), steps.get("detectors", []))
        for step in steps.get("validators", []):
            add(step, flagged, f"recipe {recipe_name}, {step.where}", recipe=recipe, detector_input=table)
        feature_tables.append(flagged)
    for case in cases.values():
        case.inputs = feature_tables
    return cases


def case_for(name: str) -> Case:
    """The case of a registered component; one no recipe uses gets its defaults (or EXTRA_CONFIG).

    A component with a ``retries`` parameter (a remote service) tries once: offline, it is skipped."""
    cases = recipe_cases()
    if name in cases:
        case = cases[name]
    else:
        any_case = next(iter(cases.values()))
        extra = EXTRA_CONFIG.get(name, {})
        case = Case(name, dict(extra() if callable(extra) else extra), None, "no built-in recipe: defaults",
                    inputs=any_case.inputs)
    if "retries" in get_registry().entries[name].cls.Config.model_fields:
        case.config = {**case.config, "retries": 0}
    return case
