"""The runner: source -> cuts -> features -> detectors -> validators, chunk by chunk.

One flow serves every executor (``core/executors.py``); they differ only in
where chunks live. The passes:

1. source chunks -> cuts -> features -> after-feature cuts; each chunk is kept
   (in memory or spilled) and offered to the training sample: the rows with
   the smallest hashes of (row id, seed), so the sample does not depend on the
   chunking;
2. each detector ``fit``s on the sample (earlier detectors' scores are added
   to it first), then scores every chunk; thresholds come from all scores;
3. every chunk gets its scores and flags and is written; validators see the
   rows they need (all rows in memory; flagged rows, their own selection and
   a seeded sample when streaming).
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rich.markup import escape

from .component import Component
from .context import RunContext, one_line
from .errors import TRACEBACK_ENV, PluginError, SourceUnavailable, StageError, ToolkitError, raised_at
from .executors import ChunkStore, IdHashes, SpillStore, check_chunk_rows, source_chunks
from .models import save_for_run
from .recipe import Recipe, Step
from .registry import Registry
from .sampling import BottomK, sample_hash, unit_interval
from .table import TRUTH_COLUMN, Columns, Table
from .rowvalues import RowValues
from .thresholds import apply_cut, finite_range, threshold_cut, threshold_record
from .truth import TruthLabels, truth_recovery
from .scores import FLAG_PREFIX, SCORE_PREFIX, VOTES_PREFIX, flag_column, is_score, score_column

REJECTED_BY = "rejected_by"
VALIDATION_PURPOSE = "validation"  # streamed runs: the seeded sample validators and figures see
DETECTOR_PREFIXES = (SCORE_PREFIX, FLAG_PREFIX, "fold_", "insample_", VOTES_PREFIX)


@dataclass
class RunResult:
    parts: list[Table] | None         # in memory: rows that passed the cuts, with every new column, by chunk
    cutflow: pd.DataFrame
    rejected: Table | None
    timings: dict[str, float] = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    detectors: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)
    executor: dict = field(default_factory=dict)
    validated: Table | None = None    # the rows validators saw, with their columns (every flagged row)
    scored_parts: list[Path] = field(default_factory=list)   # streamed: parts of scored/
    _whole: Table | None = field(default=None, repr=False)

    @property
    def table(self) -> Table | None:
        """In memory: the whole scored table (its chunks joined once, on first use); streamed: None."""
        if self.parts is None:
            return None
        if self._whole is None:
            self._whole = Table.concat(self.parts)
        return self._whole

    def candidates(self) -> Table:
        """Rows flagged by any detector or validator, most anomalous first."""
        table = self.validated
        cands = table.take(table.flagged())
        scores = [c for c in cands.columns if is_score(c)]
        if scores and len(cands):
            order = np.argsort(-np.nan_to_num(cands.array(scores[0]), nan=-np.inf), kind="stable")
            cands = cands.take(order)
        return cands


def _plugin_of(component: Component, registry: Registry) -> str:
    entry = registry.entries.get(component.name)
    return entry.plugin if entry else "?"


class Stages:
    """Per-step timing summed over chunks; a ✓ line per step once its pass is done."""

    def __init__(self, ctx: RunContext, registry: Registry) -> None:
        self.ctx, self.registry = ctx, registry
        self.timings: dict[str, float] = {}

    @contextmanager
    def run(self, step: Step):
        """Time one call of a step; a plugin's unexpected exception becomes an error naming it."""
        ctx = self.ctx
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
            plugin = _plugin_of(step.component, self.registry)
            raise PluginError(f"plugin '{plugin}' failed in {step.where} ('{step.name}', component "
                              f"{step.component.name}) at {raised_at(exc)}: {type(exc).__name__}: {exc}. "
                              f"Run with --traceback (or {TRACEBACK_ENV}=1) for the full traceback") from exc
        finally:
            key = f"{step.stage}.{step.name}"
            self.timings[key] = round(self.timings.get(key, 0.0) + time.perf_counter() - t0, 4)

    def done(self, steps: list[Step]) -> None:
        for step in steps:
            key = f"{step.stage}.{step.name}"
            self.ctx.console.print(f"  [green]✓[/green] {key} [dim]({step.component.name}, "
                                   f"{self.timings.get(key, 0.0):.2f} s)[/dim]")


CUTFLOW_COLUMNS = ["step", "use", "cut", "after_features", "rows_in", "rows_out", "removed"]


def cut_and_compute(chunk: Table, pre: list[Step], features: list[Step], post: list[Step], stages: Stages,
                    flow: dict, keep_rejected: bool) -> tuple[Table, np.ndarray, Table | None]:
    """Pass 1 on one chunk, for every executor: the cuts before the features, the features, the cuts
    after them. Returns the kept rows, their positions in ``chunk``, and (``keep_rejected``) the removed
    rows with the name of the cut that removed each; ``flow`` accumulates the cut-flow."""
    reason = np.full(len(chunk), "", dtype=object)
    kept, origin = apply_cuts(chunk, pre, stages, np.arange(len(chunk)), reason, flow)
    for step in features:
        with stages.run(step):
            kept = kept.with_columns(step.component.compute(kept, stages.ctx))
    kept, origin = apply_cuts(kept, post, stages, origin, reason, flow)
    rejected = None
    if keep_rejected:
        removed = reason != ""
        rejected = chunk.take(removed).with_columns(Columns().add(
            REJECTED_BY, reason[removed].astype(str), description="name of the cut that removed the row"))
    return kept, origin, rejected


def apply_cuts(table: Table, steps: list[Step], stages: Stages, origin: np.ndarray,
               reason: np.ndarray, flow: dict) -> tuple[Table, np.ndarray]:
    """Apply cuts in order; returns survivors and their positions in the chunk.

    ``reason`` (one entry per chunk row) receives the name of the cut that removed
    each row; ``flow`` sums rows in and out per step over chunks.
    """
    for step in steps:
        with stages.run(step):
            mask = np.asarray(step.component.mask(table, stages.ctx))
            if mask.shape != (len(table),):
                raise StageError(f"cut returned a mask of shape {mask.shape} for {len(table)} rows")
            mask = np.where(pd.isna(mask), False, mask).astype(bool)
        row = flow.setdefault(step.name, {"step": step.name, "use": step.component.name,
                                          "cut": step.component.describe(), "after_features": step.after_features,
                                          "rows_in": 0, "rows_out": 0, "removed": 0})
        row["rows_in"] += int(len(table))
        row["rows_out"] += int(mask.sum())
        row["removed"] += int(len(table) - mask.sum())
        if not mask.all():   # most cuts keep most rows: copy the table only when one goes
            reason[origin[~mask]] = step.name
            origin = origin[mask]
            table = table.take(mask)
    return table, origin


def _require_rows(n_rows: int, n_source: int, flow: list[dict]) -> None:
    if n_rows == 0:
        lines = "\n".join(f"  {r['step']}: {r['rows_in']} -> {r['rows_out']}" for r in flow)
        raise StageError(f"no rows left after the cuts ({n_source} rows from the source). Cut-flow:\n{lines}\n"
                         "Loosen a cut (e.g. with --set cuts.N.with....) or check the input table.")


class SourceReader:
    """The source's chunks, with the declared fallback when the source is unavailable."""

    def __init__(self, recipe: Recipe, stages: Stages, executor: str, chunk_rows: int, whole: bool = False) -> None:
        self.recipe, self.stages, self.executor, self.chunk_rows = recipe, stages, executor, chunk_rows
        self.whole = whole
        self.info = {"use": recipe.source.component.name, "fallback_used": False}

    def _chunks(self, step: Step):
        it = source_chunks(step.component, self.stages.ctx, self.executor, self.chunk_rows, self.whole)
        while True:
            with self.stages.run(step):
                chunk = next(it, None)
            if chunk is None:
                return
            if not isinstance(chunk, Table):
                raise PluginError(f"source {step.component.name} returned {type(chunk).__name__}, not a Table")
            yield chunk

    def __iter__(self):
        step, ctx = self.recipe.source, self.stages.ctx
        chunks = self._chunks(step)
        try:
            first = next(chunks, None)
        except SourceUnavailable as exc:
            if step.fallback is None:
                raise
            reason = str(exc)
            ctx.console.print(f"[bold yellow]Source {step.component.name} is unavailable[/bold yellow] "
                              f"({escape(one_line(reason))}). [bold yellow]Falling back to "
                              f"{step.fallback.component.name}, as the recipe declares.[/]")
            self.info.update(fallback_used=True, fallback=step.fallback.component.name, reason=reason)
            step = step.fallback
            chunks = self._chunks(step)
            first = next(chunks, None)
        self.step = step
        if first is None:
            return
        yield first
        yield from chunks


def _frame_hasher(columns) -> "hashlib._Hash":
    h = hashlib.sha256()
    h.update(",".join(map(str, columns)).encode())
    return h


def _detector_columns(step: Step, fitted, chunk: Table, score: np.ndarray, flag: np.ndarray | None,
                      extra: Columns) -> Columns:
    cols = Columns()
    for name in extra.names():
        cols.data[name], cols.info[name] = extra.data[name], extra.info[name]
    description = getattr(fitted, "score_description", "") or f"anomaly score from {step.component.name}"
    cols.add(score_column(step.name), score, description=description + " (higher = more anomalous)")
    cols.add(flag_column(step.name), np.zeros(len(chunk), bool) if flag is None else flag,
             description=f"flagged as anomalous by {step.name}")
    return cols


class Detectors:
    """Fitting on the sample, scoring chunks, thresholds over all scores, saving the models."""

    def __init__(self, steps: list[Step], stages: Stages, executor: str, folder: Path | None = None) -> None:
        """``folder``: where the per-row values (scores, flags, labels) are kept (streamed runs); None: memory."""
        self.steps, self.stages, self.executor = steps, stages, executor
        self.fitted: dict[str, object] = {}
        self.legacy: dict[str, object] = {}     # whole-table detect() results (memory only)
        self.folder = folder
        self.scores = {s.name: RowValues(float, folder and folder / f"scores-{i}.f8") for i, s in enumerate(steps)}
        self.flags = {s.name: RowValues(bool, folder and folder / f"flags-{i}.b1") for i, s in enumerate(steps)}
        self.parts: dict[str, RowValues] = {}   # what a score was combined from (score_with_parts), per step
        self.cuts: dict[str, float | None] = {}
        self.rules: dict[str, object] = {}       # each step's threshold rule, resolved once scores exist
        self.wanted: dict[str, list[Table]] = {}  # rows a detector's fit must see besides the sample
        for step in steps:
            if not step.component.can_fit() and executor != "memory":
                raise StageError(f"[{step.where} '{step.name}'] detector {step.component.name} has no fit/score "
                                 "(it needs the whole table at once); run this recipe with --executor memory")

    def sample_size(self, default_cap: int | None) -> int | None:
        caps = [s.component.max_train_rows for s in self.steps if s.component.can_fit()]
        if not caps:
            return 0
        if any(c is None for c in caps):
            return default_cap
        return max(caps)

    def offer(self, chunk: Table) -> None:
        """Keep the rows of ``chunk`` that a detector's ``fit_rows`` asks for (a reviewer's labelled stars)."""
        for step in self.steps:
            if not step.component.can_fit():
                continue
            with self.stages.run(step):
                mask = step.component.fit_rows(chunk, self.stages.ctx)
                if mask is None:
                    continue
                mask = np.asarray(mask, bool)
                if mask.shape != (len(chunk),):
                    raise StageError(f"fit_rows returned a mask of shape {mask.shape} for {len(chunk)} rows")
            if mask.any():
                self.wanted.setdefault(step.name, []).append(chunk.take(mask))

    def _with_wanted(self, step: Step, sample: Table, done: list[Step]) -> Table:
        """The sample plus the rows ``step`` asked for (not already in it), scored by the earlier steps."""
        parts = self.wanted.get(step.name)
        if not parts:
            return sample
        extra = Table.concat(parts)
        extra = extra.take(~np.isin(extra.data[extra.id_column].to_numpy(), sample.data[sample.id_column].to_numpy()))
        for earlier in done:
            fitted = self.fitted[earlier.name]
            extra = extra.with_columns(fitted.assign(extra))
            score = np.asarray(fitted.score(extra), float)
            extra = extra.with_columns(_detector_columns(earlier, fitted, extra, score, None, Columns()))
        both = Table.concat([sample, extra]) if len(extra) else sample.take(np.arange(len(sample)))
        both.meta = {**sample.meta, "fit_rows_added": len(extra)}
        return both

    def fit(self, sample: Table) -> None:
        ctx = self.stages.ctx
        done: list[Step] = []
        for step in self.steps:
            if not step.component.can_fit():
                continue
            with self.stages.run(step):
                fitted = step.component.fit(self._with_wanted(step, sample, done), ctx)
                extra = fitted.assign(sample)
                sample = sample.with_columns(extra)
                score = np.asarray(fitted.score(sample), float)
                if score.shape != (len(sample),):
                    raise StageError(f"fitted detector returned {score.shape} scores for {len(sample)} rows")
                sample = sample.with_columns(_detector_columns(step, fitted, sample, score, None, Columns()))
            self.fitted[step.name] = fitted
            done.append(step)

    def score_chunk(self, chunk: Table, index: int, flags: bool) -> Table:
        """Add every detector's columns to chunk ``index``; the second time (with flags) the scores are reused."""
        ctx = self.stages.ctx
        for step in self.steps:
            with self.stages.run(step):
                if step.name in self.fitted:
                    fitted = self.fitted[step.name]
                    extra = fitted.assign(chunk)
                    chunk = chunk.with_columns(extra)
                    if flags:
                        score = self.scores[step.name][index]
                    elif hasattr(fitted, "score_with_parts"):   # kept for columns_at_cut: not computed twice
                        score, parts = fitted.score_with_parts(chunk)
                        score = np.asarray(score, float)
                        self._keep_parts(step, np.asarray(parts, float), len(chunk))
                    else:
                        score = np.asarray(fitted.score(chunk), float)
                    if score.shape != (len(chunk),):
                        raise StageError(f"fitted detector returned {score.shape} scores for {len(chunk)} rows")
                    flag = None
                    if flags and hasattr(fitted, "flag"):          # the detector's own per-row rule
                        flag = np.asarray(fitted.flag(chunk), bool)
                    elif flags and self.cuts.get(step.name) is not None:
                        flag = apply_cut(score, self.cuts[step.name], self.rules[step.name].upper)
                else:   # a whole-table detector (memory only): run once, when earlier steps' flags exist
                    if not flags:
                        continue
                    det = step.component.detect(chunk, ctx)
                    self.legacy[step.name] = det
                    fitted, extra = det, det.columns
                    score = np.asarray(det.score, dtype=float)
                    if score.shape != (len(chunk),):
                        raise StageError(f"detector returned {score.shape} scores for {len(chunk)} rows")
                    flag = None if det.flag is None else np.asarray(det.flag, bool)
                    self.scores[step.name].append(score)
                if not flags:
                    self.scores[step.name].append(score)
                else:
                    self.flags[step.name].append(np.zeros(len(chunk), bool) if flag is None else flag)
                chunk = chunk.with_columns(_detector_columns(step, fitted, chunk, score, flag, extra))
                if flags and hasattr(fitted, "columns_at_cut"):   # columns that need the cut (ensemble votes)
                    parts = self.parts[step.name][index] if step.name in self.parts else None
                    chunk = chunk.with_columns(fitted.columns_at_cut(chunk, self.cuts.get(step.name), parts))
        return chunk

    def _keep_parts(self, step: Step, parts: np.ndarray, rows: int) -> None:
        if parts.ndim != 2 or len(parts) != rows:
            raise StageError(f"score_with_parts returned parts of shape {parts.shape} for {rows} rows (want (rows, k))")
        if step.name not in self.parts:
            i = self.steps.index(step)
            self.parts[step.name] = RowValues(float, self.folder and self.folder / f"parts-{i}.f8", parts.shape[1])
        self.parts[step.name].append(parts)

    def thresholds(self, n_rows: int) -> None:
        flagged: dict[str, int] = {}
        for step in self.steps:
            if step.name not in self.fitted:
                continue
            cfg = self.rules[step.name] = step.component.threshold_for(dict(flagged), n_rows)
            scores = self.scores[step.name]
            cut = self.cuts[step.name] = threshold_cut(scores, cfg) if cfg is not None else None
            upper = cfg.upper if cfg is not None else None
            flagged[step.name] = sum(int(apply_cut(block, cut, upper).sum()) for block in scores)

    def finish(self, sample_table: Table, table: Table) -> dict:
        """Save models, draw figures (``table``: the rows validators see); returns per-detector summaries."""
        ctx = self.stages.ctx
        out = {}
        for step in self.steps:
            scores = self.scores[step.name]
            n_scored = finite_range(scores)[0]
            n_flag = sum(int(f.sum()) for f in self.flags[step.name])
            ctx.step = f"{step.stage}.{step.name}"
            if step.name in self.fitted:
                fitted, cfg = self.fitted[step.name], self.rules.get(step.name)
                cut = self.cuts.get(step.name)
                threshold = threshold_record(cfg, cut)
                summary = {"use": step.component.name, "score_description": fitted.score_description,
                           "n_scored": n_scored, "n_flagged": n_flag, **fitted.summary,
                           "threshold": threshold}
                rel = save_for_run(step.component, fitted, sample_table, threshold, ctx)
                if rel is not None:
                    summary["model_dir"] = rel
                from .figures import score_histogram_figure

                ctx.save_figure(score_histogram_figure(scores, cut, f"{step.name} ({step.component.name}) scores",
                                                       "score"), "score_histogram",
                                caption=f"Scores of {step.name}: {fitted.score_description}. Red line: flag "
                                        f"threshold ({threshold['rule']}).")
                if hasattr(fitted, "figures"):
                    fitted.figures(table, ctx)
            else:
                det = self.legacy[step.name]
                summary = {"use": step.component.name, "score_description": det.score_description,
                           "n_scored": n_scored, "n_flagged": n_flag, **det.summary}
            out[step.name] = summary
        ctx.step = ""
        return out


def _keep_columns(table: Table, wanted: list[str] | None) -> Table:
    """The scored table's columns: ids, the recipe's ``output.columns``, truth labels, detector/validator columns."""
    if wanted is None:
        return table
    missing = [c for c in wanted if c not in table.data.columns]
    if missing:
        table.require(missing, "output.columns")
    keep = [c for c in table.columns if c == table.id_column or c in wanted or c == TRUTH_COLUMN
            or c.startswith(DETECTOR_PREFIXES)]
    return Table(table.data[keep], {k: table.info[k] for k in keep}, table.id_column, dict(table.meta))


def run_recipe(recipe: Recipe, registry: Registry, ctx: RunContext, keep_rejected: bool = False,
               executor: str | None = None, chunk_rows: int | None = None) -> RunResult:
    """Run every stage of a validated recipe. Raises ToolkitError subclasses on bad data."""
    spec = recipe.spec.executor
    executor = executor or spec.use
    chunk_rows = check_chunk_rows(chunk_rows if chunk_rows is not None else spec.chunk_rows)
    stream = executor == "stream"
    ctx.executor = executor
    stages = Stages(ctx, registry)
    work = None if executor == "memory" else ctx.workdir / ".work"   # spilled chunks and per-row values
    detectors = Detectors(recipe.steps["detectors"], stages, executor, work and work / "rows")
    if executor == "dask":
        from .dask_executor import run_dask

        try:
            return run_dask(recipe, ctx, stages, detectors, keep_rejected, chunk_rows)
        finally:
            SpillStore(work).close()
    store = SpillStore(work) if stream else ChunkStore()
    try:
        return _run(recipe, ctx, stages, detectors, store, keep_rejected, executor, chunk_rows)
    finally:
        store.close()


def _run(recipe, ctx, stages, detectors, store, keep_rejected, executor, chunk_rows) -> RunResult:
    stream = executor == "stream"
    pre = [s for s in recipe.steps["cuts"] if not s.after_features]
    post = [s for s in recipe.steps["cuts"] if s.after_features]
    features = recipe.steps["features"]
    cap = detectors.sample_size(recipe.spec.executor.max_train_rows if stream else None)
    sample = BottomK(cap) if cap != 0 else None
    flow: dict[str, dict] = {}
    # a whole-table detector (detect() only, memory only) needs the table as one chunk
    whole = any(not s.component.can_fit() for s in detectors.steps)
    reader = SourceReader(recipe, stages, executor, chunk_rows, whole)
    rejected_parts, n_source, n_rows = [], 0, 0
    hasher, template, processed = None, None, None
    truth_labels = TruthLabels(detectors.folder and detectors.folder / "truth.i2")   # beside the scores
    all_hashes, n_chunks = IdHashes(store.folder / "ids" if stream else None), 0
    first_chunk = True

    # pass 1: source -> cuts -> features -> cuts; keep the chunk and offer it to the training sample
    with ctx.progress("reading, cutting, computing features", total=None) as advance:
        for chunk in reader:
            if first_chunk:
                first_chunk = False
                if chunk.is_mock:
                    ctx.console.print("[bold red]MOCK DATA[/bold red]: this run uses simulated stars from "
                                      f"{reader.info.get('fallback', reader.info['use'])}; it says nothing about "
                                      "real stars.")
                hasher = _frame_hasher(chunk.columns)
                template = chunk.take(np.zeros(0, int))   # columns, units, meta; no rows held
            hasher.update(pd.util.hash_pandas_object(chunk.data, index=False).to_numpy().tobytes())
            _check_ids(chunk, n_source, reader.info.get("fallback", reader.info["use"]))
            source_chunk, n_chunk = chunk, len(chunk)
            chunk, origin, rejected = cut_and_compute(chunk, pre, features, post, stages, flow, keep_rejected)
            if rejected is not None:
                rejected_parts.append(rejected)
            n_source += n_chunk
            n_rows += len(chunk)
            ids_hash = sample_hash(source_chunk.data[source_chunk.id_column].to_numpy(), ctx.seed)
            all_hashes.add(n_chunks, ids_hash)
            n_chunks += 1
            if len(chunk):
                if processed is None:   # columns and units after the features
                    processed = chunk.take(np.zeros(0, int))
                store.add(chunk)
                detectors.offer(chunk)
                if sample is not None:
                    sample.add(chunk.data, ids_hash[origin])
                if TRUTH_COLUMN in chunk.data:
                    truth_labels.add(chunk.data[TRUTH_COLUMN])
            advance(1)
    if template is None:
        raise StageError(f"source {reader.info['use']} gave no rows")
    _check_ids_across_chunks(all_hashes.repeats(range(n_chunks)), template.id_column,
                             reader.info.get("fallback", reader.info["use"]))
    del all_hashes
    stages.done([reader.step, *pre, *features, *post])
    cutflow_rows = [flow[s.name] for s in pre + post if s.name in flow]
    _require_rows(n_rows, n_source, cutflow_rows)
    cutflow = pd.DataFrame(cutflow_rows, columns=CUTFLOW_COLUMNS)
    source_info = dict(reader.info, mock=template.is_mock, truth_normal=list(template.meta.get("truth_normal", [])),
                       rows=n_source, inputs=template.meta.get("inputs", {}), table_sha256=hasher.hexdigest())

    # pass 2: fit every detector on the sample, score every chunk, thresholds over all scores
    sample_table = None
    if sample is not None:
        frame = sample.result(template.id_column)
        sample_table = Table(frame, dict(processed.info), processed.id_column,
                             {**processed.meta, "sample_of": n_rows})
        ctx.record("training_sample", {"rows": len(sample_table), "of": n_rows,
                                       "rule": "rows with the smallest sha-salted hash of (row id, seed)"})
        detectors.fit(sample_table)
    if detectors.steps:
        with ctx.progress("scoring", total=len(store)) as advance:
            for i, chunk in enumerate(store):
                detectors.score_chunk(chunk, i, flags=False)
                advance(1)
        detectors.thresholds(n_rows)

    # pass 3: scores and flags on every chunk; written out (streamed) or kept (in memory); validators get
    # the flagged rows, the rows they select and a seeded sample (every row of a table up to validation_rows)
    validators = recipe.steps["validators"]
    keep = recipe.spec.output.columns
    parts, in_memory = [], []
    # streamed, the validators' rows wait on disk: thousands of small frames held through the pass would
    # pin the heap between the chunks' large temporaries (measured: +0.3 GB at 33.8 million rows)
    kept = SpillStore(store.folder / "validated") if stream else ChunkStore()
    n_validation = recipe.spec.executor.validation_rows
    fraction = 1.0 if n_rows <= n_validation else n_validation / n_rows
    with ctx.progress("writing scored rows", total=len(store)) as advance:
        for i, chunk in enumerate(store.drain()):
            chunk = detectors.score_chunk(chunk, i, flags=True) if detectors.steps else chunk
            if stream:
                parts.append(_write_part(ctx, _keep_columns(chunk, keep), i))
            else:
                in_memory.append(chunk)
            rows = chunk.flagged() | (unit_interval(chunk.data[chunk.id_column].to_numpy(), ctx.seed,
                                                    VALIDATION_PURPOSE) < fraction)
            for step in validators:
                with stages.run(step):
                    chosen = step.component.select(chunk, ctx)
                if chosen is not None:
                    rows |= np.asarray(chosen, bool)
            kept.add(chunk if rows.all() else chunk.take(rows))   # no copy when every row is kept
            advance(1)
    stages.done(detectors.steps)
    table = Table.concat(list(kept)) if len(kept) else template.take(np.zeros(0, int))
    kept.close()
    return finish_run(recipe, ctx, stages, detectors, sample_table, table, truth_labels, template, cutflow,
                      rejected_parts if keep_rejected else [], source_info, n_source, n_rows,
                      {"use": executor, "chunk_rows": chunk_rows, "chunks": len(store)},
                      parts=parts if stream else None, in_memory=None if stream else in_memory)


def finish_run(recipe, ctx, stages, detectors, sample_table, table, truth_labels, template, cutflow, rejected_parts,
               source_info, n_source, n_rows, executor_info, parts=None, in_memory=None) -> RunResult:
    """Every executor's last steps: detector summaries, validators on ``table``, truth recovery, the result.

    ``parts``: the files of ``scored/`` when chunks were written as they went; ``in_memory``: the scored
    chunks otherwise (the validators' columns are spread onto them)."""
    keep = recipe.spec.output.columns
    validators = recipe.steps["validators"]
    detector_summary = detectors.finish(sample_table, table) if detectors.steps else {}

    validation, added = {}, []
    for step in validators:
        with stages.run(step):
            val = step.component.validate(table, ctx)
            table = table.with_columns(val.columns)
        added += [c for c in val.columns.names() if c not in added]
        validation[step.name] = {"use": step.component.name, **val.summary}
    stages.done(validators)
    ctx.step = ""
    if in_memory is not None and added:   # in memory the scored table carries the validators' columns too
        in_memory = _spread_columns(table, added, in_memory)

    truth = {}
    if len(truth_labels):
        truth = truth_recovery(truth_labels, detectors.scores, detectors.flags, template.meta.get("truth_normal", []))
    rejected = Table.concat(rejected_parts) if rejected_parts else None
    result = RunResult(None if in_memory is None else [_keep_columns(p, keep) for p in in_memory], cutflow, rejected,
                       stages.timings, source_info, {"source": n_source, "after_cuts": n_rows}, detector_summary,
                       validation, truth, executor_info, validated=table)
    if parts is not None:
        result.scored_parts = parts
        result.rows["validated"] = len(table)
    return result


def _spread_columns(validated: Table, names: list[str], parts: list[Table]) -> list[Table]:
    """The validators' columns (computed on ``validated``) added to every chunk, matched by row id.

    Rows validators did not see get what a validator gives a row it does not check: NaN, False,
    an empty value (integer columns become floats with NaN)."""
    ids = pd.Index(validated.data[validated.id_column].to_numpy())
    out = []
    for part in parts:
        pos = ids.get_indexer(part.data[part.id_column].to_numpy())
        seen = pos >= 0
        cols = Columns()
        for name in names:
            values = validated.data[name].to_numpy()
            if seen.all():
                col = values[pos]
            elif values.dtype.kind == "b":
                col = np.zeros(len(part), bool)
                col[seen] = values[pos[seen]]
            elif values.dtype.kind in "iuf":
                col = np.full(len(part), np.nan)
                col[seen] = values[pos[seen]]
            else:
                col = np.full(len(part), None, dtype=object)
                col[seen] = values[pos[seen]]
            info = validated.info[name]
            cols.add(name, col, unit=info.unit, description=info.description)
        out.append(part.with_columns(cols))
    return out


def _check_ids(chunk: Table, offset: int, source: str) -> None:
    """Ids join scores, flags, matches and saved candidates back to stars: every row needs a unique one."""
    problem = chunk.id_problems()
    if problem:
        where = f" (in the rows from {offset} on)" if offset else ""
        raise StageError(f"source {source}: the id column '{chunk.id_column}' has {problem}{where}. Choose a unique "
                         "id column (the source's id_column), or remove the duplicate rows first.")


def _check_ids_across_chunks(repeats: int, id_column: str, source: str, where: str = "chunks") -> None:
    """Repeated ids in different chunks (or partitions) of a source, counted by ``IdHashes``."""
    if repeats:
        raise StageError(f"source {source}: the id column '{id_column}' repeats {repeats} value(s) across {where}. "
                         "Choose a unique id column (the source's id_column), or remove the duplicate rows first.")


def _write_part(ctx: RunContext, chunk: Table, index: int) -> Path:
    from .runfolder import write_table

    path = ctx.workdir / "scored" / f"part-{index:06d}.parquet"
    path.parent.mkdir(exist_ok=True)
    try:
        write_table(chunk, path, "parquet")
    except OSError as exc:
        raise StageError(f"cannot write '{path.name}' of the scored dataset: {exc} (is the disk full?)") from exc
    return path
