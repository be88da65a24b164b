"""The runner: source -> cuts -> features -> detectors -> validators, timed and recorded."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .component import Component
from rich.markup import escape

from .context import RunContext, one_line
from .errors import PluginError, SourceUnavailable, StageError, ToolkitError
from .io import frame_sha256
from .recipe import Recipe, Step
from .registry import Registry
from .table import Columns, Table
from .truth import truth_recovery

REJECTED_BY = "rejected_by"


@dataclass
class RunResult:
    table: Table                      # rows that passed the cuts, with every new column
    cutflow: pd.DataFrame
    rejected: Table | None
    timings: dict[str, float] = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    detectors: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)

    def candidates(self) -> Table:
        """Rows flagged by any detector or validator, most anomalous first."""
        cands = self.table.take(self.table.flagged())
        scores = [c for c in cands.columns if c.startswith("score_")]
        if scores and len(cands):
            order = np.argsort(-np.nan_to_num(cands.array(scores[0]), nan=-np.inf), kind="stable")
            cands = cands.take(order)
        return cands


def _plugin_of(component: Component, registry: Registry) -> str:
    entry = registry.entries.get(component.name)
    return entry.plugin if entry else "?"


@contextmanager
def _stage(step: Step, ctx: RunContext, registry: Registry, timings: dict):
    """Time a step and turn a plugin's unexpected exception into an error naming it."""
    ctx.step = f"{step.stage}.{step.name}"
    t0 = time.perf_counter()
    try:
        yield
    except ToolkitError as exc:
        if isinstance(exc, SourceUnavailable):
            raise
        raise type(exc)(f"[{step.where} '{step.name}', {step.component.name}] {exc}") from exc
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        plugin = _plugin_of(step.component, registry)
        raise PluginError(f"plugin '{plugin}' failed in {step.where} ('{step.name}', component "
                          f"{step.component.name}): {type(exc).__name__}: {exc}") from exc
    else:
        ctx.console.print(f"  [green]✓[/green] {ctx.step} [dim]({step.component.name}, "
                          f"{time.perf_counter() - t0:.2f} s)[/dim]")
    finally:
        timings[ctx.step] = round(time.perf_counter() - t0, 4)


def load_source(recipe: Recipe, ctx: RunContext, registry: Registry, timings: dict) -> tuple[Table, dict]:
    step = recipe.source
    info = {"use": step.component.name, "fallback_used": False}
    try:
        with _stage(step, ctx, registry, timings):
            table = step.component.load(ctx)
    except SourceUnavailable as exc:
        if step.fallback is None:
            raise
        reason = str(exc)
        ctx.console.print(f"[bold yellow]Source {step.component.name} is unavailable[/bold yellow] "
                          f"({escape(one_line(reason))}). [bold yellow]Falling back to "
                          f"{step.fallback.component.name}, as the recipe declares.[/]")
        info.update(fallback_used=True, fallback=step.fallback.component.name, reason=reason)
        with _stage(step.fallback, ctx, registry, timings):
            table = step.fallback.component.load(ctx)
    if not isinstance(table, Table):
        raise PluginError(f"source {info.get('fallback', info['use'])} returned {type(table).__name__}, not a Table")
    problem = table.id_problems()
    if problem:   # ids join scores, flags, matches and saved candidates back to stars: they must be unique
        raise StageError(f"source {info.get('fallback', info['use'])}: the id column '{table.id_column}' has "
                         f"{problem}. Choose a unique id column (the source's id_column), or remove the "
                         "duplicate rows first.")
    info["mock"] = table.is_mock
    info["truth_normal"] = list(table.meta.get("truth_normal", []))
    info["rows"] = len(table)
    info["inputs"] = table.meta.get("inputs", {})
    info["table_sha256"] = frame_sha256(table.data)
    return table, info


CUTFLOW_COLUMNS = ["step", "use", "cut", "after_features", "rows_in", "rows_out", "removed"]


def apply_cuts(table: Table, steps: list[Step], ctx: RunContext, registry: Registry, timings: dict,
               origin: np.ndarray, reason: np.ndarray) -> tuple[Table, np.ndarray, list[dict]]:
    """Apply cuts in order; returns survivors, their source-row positions and cut-flow rows.

    ``reason`` (one entry per source row) receives the name of the cut that removed each row.
    """
    rows = []
    for step in steps:
        with _stage(step, ctx, registry, timings):
            mask = np.asarray(step.component.mask(table, ctx))
            if mask.shape != (len(table),):
                raise StageError(f"cut returned a mask of shape {mask.shape} for {len(table)} rows")
            mask = np.where(pd.isna(mask), False, mask).astype(bool)
        rows.append({"step": step.name, "use": step.component.name, "cut": step.component.describe(),
                     "after_features": step.after_features, "rows_in": int(len(table)),
                     "rows_out": int(mask.sum()), "removed": int(len(table) - mask.sum())})
        reason[origin[~mask]] = step.name
        origin = origin[mask]
        table = table.take(mask)
    return table, origin, rows


def _require_rows(table: Table, n_source: int, flow: list[dict]) -> None:
    if len(table) == 0:
        lines = "\n".join(f"  {r['step']}: {r['rows_in']} -> {r['rows_out']}" for r in flow)
        raise StageError(f"no rows left after the cuts ({n_source} rows from the source). Cut-flow:\n{lines}\n"
                         "Loosen a cut (e.g. with --set cuts.N.with....) or check the input table.")


def run_recipe(recipe: Recipe, registry: Registry, ctx: RunContext, keep_rejected: bool = False) -> RunResult:
    """Run every stage of a validated recipe. Raises ToolkitError subclasses on bad data."""
    timings: dict[str, float] = {}
    table, source_info = load_source(recipe, ctx, registry, timings)
    if table.is_mock:
        ctx.console.print("[bold red]MOCK DATA[/bold red]: this run uses simulated stars from "
                          f"{source_info.get('fallback', source_info['use'])}; it says nothing about real stars.")
    n_source = len(table)

    # Cuts run before the features, except those marked `after_features` (for cuts on derived
    # columns, such as a distance-corrected magnitude); the cut-flow lists them all in order.
    pre = [s for s in recipe.steps["cuts"] if not s.after_features]
    post = [s for s in recipe.steps["cuts"] if s.after_features]
    reason = np.full(n_source, "", dtype=object)
    source_table = table
    table, origin, flow = apply_cuts(table, pre, ctx, registry, timings, np.arange(n_source), reason)
    _require_rows(table, n_source, flow)

    for step in recipe.steps["features"]:
        with _stage(step, ctx, registry, timings):
            cols = step.component.compute(table, ctx)
            table = table.with_columns(cols)

    if post:
        table, origin, post_flow = apply_cuts(table, post, ctx, registry, timings, origin, reason)
        flow += post_flow
        _require_rows(table, n_source, flow)
    cutflow = pd.DataFrame(flow, columns=CUTFLOW_COLUMNS)
    rejected = None
    if keep_rejected:
        removed = reason != ""
        rejected = source_table.take(removed).with_columns(Columns().add(
            REJECTED_BY, reason[removed].astype(str), description="name of the cut that removed the row"))

    detectors = {}
    for step in recipe.steps["detectors"]:
        with _stage(step, ctx, registry, timings):
            det = step.component.detect(table, ctx)
            score = np.asarray(det.score, dtype=float)
            if score.shape != (len(table),):
                raise StageError(f"detector returned {score.shape} scores for {len(table)} rows")
            flag = np.zeros(len(table), bool) if det.flag is None else np.asarray(det.flag, bool)
            cols = Columns()
            for name in det.columns.names():
                cols.data[name], cols.info[name] = det.columns.data[name], det.columns.info[name]
            cols.add(f"score_{step.name}", score,
                     description=(det.score_description or f"anomaly score from {step.component.name}")
                     + " (higher = more anomalous)")
            cols.add(f"flag_{step.name}", flag, description=f"flagged as anomalous by {step.name}")
            table = table.with_columns(cols)
        detectors[step.name] = {"use": step.component.name, "score_description": det.score_description,
                                "n_scored": int(np.isfinite(score).sum()), "n_flagged": int(flag.sum()),
                                **det.summary}

    validation = {}
    for step in recipe.steps["validators"]:
        with _stage(step, ctx, registry, timings):
            val = step.component.validate(table, ctx)
            table = table.with_columns(val.columns)
        validation[step.name] = {"use": step.component.name, **val.summary}
    ctx.step = ""

    truth = truth_recovery(table, list(detectors))
    rows = {"source": n_source, "after_cuts": len(table)}
    return RunResult(table, cutflow, rejected, timings, source_info, rows, detectors, validation, truth)
