"""Execute a recipe end to end and write its run folder."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from rich.console import Console

from . import report as report_mod
from .context import RunContext
from .io import atomic_write, file_sha256
from .recipe import load_recipe
from .registry import get_registry, plugin_versions
from .runfolder import (CANDIDATE_FORMATS, RunFolder, clean_json, column_units, default_run_dir, versions, write_json,
                        write_table, write_yaml)
from .errors import ToolkitError
from .executors import EXECUTORS, check_chunk_rows
from .runner import RunResult, run_recipe

MOCK_WARNING = ("This run used simulated stars from the mock source {source}; its scores and candidates "
                "demonstrate the pipeline and measure recovery of injected objects, and say nothing about real stars.")


def execute(recipe_ref, out: Path | None = None, overrides=(), seed: int | None = None, force: bool = False,
            formats=(), console: Console | None = None, show_progress: bool | None = None,
            registry=None, executor: str | None = None, chunk_rows: int | None = None) -> tuple[Path, dict]:
    """Validate, run and publish a recipe. Returns (run folder, manifest)."""
    console = console or Console(stderr=True)
    registry = registry or get_registry()
    recipe = load_recipe(recipe_ref, registry, list(overrides), seed)   # all validation before any work
    if executor is not None and executor not in EXECUTORS:
        raise ToolkitError(f"--executor '{executor}': choose one of {', '.join(EXECUTORS)}")
    if chunk_rows is not None:
        check_chunk_rows(chunk_rows)
    target = Path(out) if out else default_run_dir(recipe.name)
    folder = RunFolder(target, force=force)
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    try:
        ctx = RunContext(recipe.seed, folder.staging, console, figures=recipe.spec.output.figures,
                         show_progress=show_progress)
        console.print(f"[bold]toolkit[/bold] running recipe [cyan]{recipe.name}[/cyan] (seed {recipe.seed})")
        result = run_recipe(recipe, registry, ctx, keep_rejected=recipe.spec.output.write_rejected,
                            executor=executor, chunk_rows=chunk_rows)
        formats = list(dict.fromkeys([*recipe.spec.output.formats, *formats]))
        manifest = write_outputs(folder, recipe, result, ctx, started, time.perf_counter() - t0, formats, registry)
    except BaseException:
        folder.discard()
        raise
    path = folder.publish()
    return path, manifest


def write_candidate_formats(candidates, folder: RunFolder, formats, ctx: RunContext) -> None:
    """The extra candidate formats; one a table cannot be written in (FITS refuses non-ASCII column
    names) is reported in the manifest and on the terminal, and the run keeps everything else."""
    for fmt in formats:
        fname, astropy_fmt = CANDIDATE_FORMATS[fmt]
        try:
            write_table(candidates, folder.path(fname), astropy_fmt)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal: candidates.parquet is written
            ctx.warn(f"candidates were not written as {fmt} ({fname}): {type(exc).__name__}: {exc}; "
                     "they are in candidates.parquet")


def write_scored_hats(result: RunResult, path: Path, name: str) -> None:
    """The scored rows as a HATS catalogue (the in-memory table, or the parts of ``scored/`` read back)."""
    import pandas as pd

    from .hats import write_hats
    from .table import Table

    table = result.table
    if table is None:
        info = result.validated.info
        frame = pd.concat([pd.read_parquet(p) for p in result.scored_parts], ignore_index=True)
        table = Table(frame, {k: v for k, v in info.items() if k in frame.columns}, result.validated.id_column)
    write_hats(table, path, name)


def write_outputs(folder: RunFolder, recipe, result: RunResult, ctx: RunContext, started, elapsed: float,
                  formats, registry) -> dict:
    candidates = result.candidates()
    if result.parts is not None:   # in memory: the scored rows, written chunk by chunk into one file
        write_table(result.parts, folder.path("scored.parquet"), "parquet")
    else:   # streamed: scored/ was written chunk by chunk; the rows validators saw are kept beside it
        write_table(result.validated, folder.path("validated.parquet"), "parquet")
    write_table(candidates, folder.path("candidates.parquet"), "parquet")
    if recipe.spec.output.format == "hats":
        write_scored_hats(result, folder.path("scored.hats"), recipe.name)
    write_candidate_formats(candidates, folder, formats, ctx)
    if result.rejected is not None:
        write_table(result.rejected, folder.path("rejected.parquet"), "parquet")
    atomic_write(folder.path("cutflow.csv"), lambda tmp: result.cutflow.to_csv(tmp, index=False))
    resolved = recipe.resolved()
    write_yaml(folder.path("recipe.resolved.yaml"), resolved)

    source_name = result.source.get("fallback", result.source["use"])
    mock = bool(result.source.get("mock"))
    package_versions = versions()
    inputs = dict(result.source.get("inputs", {}))
    inputs.update(ctx.inputs)   # what steps recorded with ctx.record_input
    if recipe.path is not None:
        inputs[str(recipe.path)] = file_sha256(recipe.path)
    manifest = {
        "toolkit_version": package_versions["toolkit"],
        "recipe": resolved,
        "recipe_file": str(recipe.path) if recipe.path else None,
        "overrides": list(recipe.overrides),
        "seed": recipe.seed,
        "mock": mock,
        "data_warning": MOCK_WARNING.format(source=source_name) if mock else None,
        "source": result.source,
        "inputs": inputs,
        "rows": {**result.rows, "candidates": len(candidates)},
        "executor": result.executor,
        "columns": column_units(result.parts[0] if result.parts is not None else result.validated),
        "cutflow": result.cutflow.to_dict(orient="records"),
        "detectors": result.detectors,
        "truth_recovery": result.truth,
        "validation": result.validation,
        "notes": ctx.notes,
        "warnings": ctx.warnings,
        "figures": ctx.figures,
        "timings_s": {**result.timings, "total": round(elapsed, 3)},
        "versions": package_versions,
        "plugins": plugin_versions(registry),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "files": sorted(p.name for p in folder.staging.iterdir() if not p.name.startswith(".")) + ["manifest.json", "report.html"],
    }
    manifest = clean_json(manifest)
    write_json(folder.path("manifest.json"), manifest)
    page = report_mod.render_report(folder.staging, manifest, result.cutflow, candidates, ctx.figures)
    atomic_write(folder.path("report.html"), lambda tmp: tmp.write_text(page))
    return manifest
