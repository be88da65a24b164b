"""The dask executor: a run's partitions on a dask.distributed cluster, with the stream executor's answers.

Chunks live in the workers' memory. A source with ``partitions`` (a HATS catalogue through LSDB:
one task per pixel) is read by the workers; any other streaming source is read by the client and
each chunk spilled to the staging folder for a worker to read (the same chunks as ``stream``).
Every partition is a task, never scattered data, so a dead worker's partitions are recomputed.

1. workers: cuts and features per partition; the prepared partition stays on its worker. The client
   gets small things back: cut-flow counts, the partition's candidates for the training sample (its
   rows with the k smallest sample hashes: the bottom-k of the union is the bottom-k of the whole),
   truth labels, notes, warnings, timings. Repeated ids across partitions are counted by hash range
   from files in the staging folder, so the client never holds a hash per row.
2. client: the training sample (``BottomK``), detectors fit; fitted models sent to the cluster once.
3. workers: scores per partition; the client gathers the score columns only (thresholds need every
   score, as when streaming).
4. workers: flags, the partition written as one part of ``scored/`` in the staging folder (the run
   folder publishes it atomically as before), the rows validators need returned to the client.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from .context import RunContext, one_line
from .errors import PluginError, SourceUnavailable, StageError, ToolkitError
from .executors import IdHashes, count_repeats
from .sampling import BottomK, sample_hash, unit_interval
from .table import TRUTH_COLUMN, ColumnInfo, Table

#: task retries on top of dask's own rescheduling of the tasks of a worker that died
RETRIES = 2
#: partitions whose results (scores, flags) the client fetches at a time, so it never holds every partition's
GATHER_BATCH = 8


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise ToolkitError("the dask executor needs dask.distributed, which is not installed: "
                           "pip install 'toolkit[dask]' (dask[distributed], lsdb, hats)") from None
    return distributed


@contextmanager
def dask_client(spec, console: Console):
    """A client on an existing scheduler (``spec.scheduler``) or on a local cluster of worker processes."""
    distributed = import_distributed()
    cluster = None
    if spec.scheduler:
        try:
            _probe_scheduler(spec.scheduler, spec.connect_timeout_s)
            client = distributed.Client.__new__(distributed.Client)
            try:
                client.__init__(spec.scheduler, timeout=spec.connect_timeout_s, set_as_default=False)
            except BaseException:
                _abandon(client)
                raise
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a malformed address
            raise ToolkitError(f"cannot reach the dask scheduler at '{spec.scheduler}' within "
                               f"{spec.connect_timeout_s:g} s ({type(exc).__name__}: {one_line(str(exc), 160)}). "
                               "Check the address (tcp://host:8786) and that the scheduler is running, or leave "
                               "out --scheduler to start a local cluster") from None
    else:
        from dask.utils import parse_bytes

        memory = spec.memory_per_worker or "auto"
        if memory != "auto":
            try:
                parse_bytes(memory)
            except (ValueError, TypeError):
                raise ToolkitError(f"--memory-per-worker '{memory}' is not a size such as 2GB or 500MiB") from None
        cluster = distributed.LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                                           memory_limit=memory, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster, set_as_default=False)
    try:
        console.print(f"  dask: {_describe(client, spec)}; dashboard {dashboard_link(client)}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _abandon(client) -> None:
    """Forget a Client whose constructor failed: its own ``__del__`` would close it again at exit,
    wait 20 s for a scheduler that is not there and print a traceback."""
    runner = getattr(client, "_loop_runner", None)
    if runner is not None:
        try:
            runner.stop()
        except Exception:  # noqa: BLE001 - best effort: the run is failing with a clear message anyway
            pass
    client._Client__loop = None     # what Client.__del__ reads as "failed early in the constructor"


def _probe_scheduler(address: str, timeout_s: float) -> None:
    """Raise unless a TCP connection to the scheduler's host and port opens within ``timeout_s``
    (ValueError for a malformed address; other transports are left to the Client)."""
    import socket

    from distributed.comm import get_address_host_port

    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme not in ("tcp", "tls"):
        return
    host, port = get_address_host_port(address)
    with socket.create_connection((host, port), timeout=timeout_s):
        pass


def _describe(client, spec) -> str:
    workers = client.scheduler_info().get("workers", {})
    where = f"scheduler {spec.scheduler}" if spec.scheduler else "local cluster"
    return f"{where}, {len(workers)} worker(s)"


def dashboard_link(client) -> str:
    try:
        return client.dashboard_link
    except Exception:  # noqa: BLE001 - no dashboard (bokeh missing): the run goes on without one
        return "unavailable (pip install bokeh for the dask dashboard)"


# -- partitions ------------------------------------------------------------------------------------

@dataclass
class SpilledChunk:
    """A source chunk the client wrote to the staging folder; a worker reads it (again after a crash)."""

    path: str
    info: dict
    id_column: str
    meta: dict

    def __call__(self) -> Table:
        return Table(pd.read_feather(self.path), {k: ColumnInfo(v.unit, v.description) for k, v in self.info.items()},
                     self.id_column, dict(self.meta))


def partition_loaders(recipe, stages, chunk_rows: int, folder: Path, info: dict):
    """(source step, loaders): a source's own partitions, or its chunks spilled by the client."""
    from .runner import SourceReader

    ctx = stages.ctx
    step = recipe.source

    def own(step):
        if not hasattr(step.component, "partitions"):
            return None
        with stages.run(step):
            return step.component.partitions(ctx)

    try:
        parts = own(step)
    except SourceUnavailable as exc:
        if step.fallback is None:
            raise
        ctx.console.print(f"[bold yellow]Source {step.component.name} is unavailable[/bold yellow] "
                          f"({escape(one_line(str(exc)))}). [bold yellow]Falling back to "
                          f"{step.fallback.component.name}, as the recipe declares.[/]")
        info.update(fallback_used=True, fallback=step.fallback.component.name, reason=str(exc))
        step = step.fallback
        parts = own(step)
    if parts is not None:
        return step, iter(parts)
    reader = SourceReader(recipe, stages, "stream", chunk_rows)
    chunks = reader._chunks(step) if step is not recipe.source else iter(reader)
    folder.mkdir(parents=True, exist_ok=True)
    first = next(chunks, None)     # reading it settles a fallback: the step that made the rows is known
    if step is recipe.source:
        info.update(reader.info)
        step = getattr(reader, "step", step)

    def spilled():
        for i, chunk in enumerate(chunks if first is None else itertools.chain([first], chunks)):
            path = folder / f"source-{i:06d}.arrow"
            try:
                chunk.data.to_feather(path, compression="uncompressed")
            except OSError as exc:
                raise StageError(f"cannot write the source chunk '{path}': {exc} (is the disk full?)") from exc
            yield SpilledChunk(str(path), dict(chunk.info), chunk.id_column, dict(chunk.meta))

    return step, spilled()


# -- what runs on the workers ----------------------------------------------------------------------

@dataclass
class Plan:
    """Everything a task needs besides its partition; sent to the cluster once (as a task result)."""

    seed: int
    workdir: str
    source: object
    pre: list
    features: list
    post: list
    detectors: list
    validators: list
    keep: list | None
    keep_rejected: bool
    sample_cap: int | None      # 0: no sample is needed
    entries: dict               # component name -> its plugin's name, for error messages


@dataclass
class Prepared:
    """A partition after cuts and features (stays on its worker) and what the client needs of it."""

    table: Table
    summary: dict = field(default_factory=dict)


def _stages(plan: Plan):
    from .runner import Stages

    ctx = RunContext(plan.seed, Path(plan.workdir), Console(quiet=True), figures=False, show_progress=False)
    ctx.executor = "dask"
    return Stages(ctx, SimpleNamespace(entries=plan.entries))


def prepare(plan: Plan, load, index: int) -> Prepared:
    """Pass 1 on a worker: load the partition, cut, compute features, pick the sample candidates."""
    from .runner import _check_ids, _frame_hasher, cut_and_compute

    t0 = time.perf_counter()
    stages = _stages(plan)
    ctx = stages.ctx
    with stages.run(plan.source):
        chunk = load()
    if not isinstance(chunk, Table):
        raise PluginError(f"source {plan.source.component.name} returned {type(chunk).__name__}, not a Table")
    _check_ids(chunk, 0, f"{plan.source.component.name} (partition {index})")
    hasher = _frame_hasher(chunk.columns)
    hasher.update(pd.util.hash_pandas_object(chunk.data, index=False).to_numpy().tobytes())
    source_chunk, n_chunk = chunk, len(chunk)
    flow: dict[str, dict] = {}
    chunk, origin, rejected = cut_and_compute(chunk, plan.pre, plan.features, plan.post, stages, flow,
                                              plan.keep_rejected)

    ids_hash = sample_hash(source_chunk.data[source_chunk.id_column].to_numpy(), plan.seed)
    IdHashes(_ids_folder(plan)).add(index, ids_hash)
    candidates = None
    if plan.sample_cap != 0 and len(chunk):
        h = ids_hash[origin]
        keep = np.ones(len(h), bool)
        if plan.sample_cap is not None and len(h) > plan.sample_cap:
            keep = h <= np.partition(h, plan.sample_cap - 1)[plan.sample_cap - 1]
        candidates = chunk.data.loc[keep].copy()
        candidates[BottomK.HASH] = h[keep]
    summary = {
        "n_source": n_chunk, "n_rows": len(chunk), "flow": flow, "digest": hasher.hexdigest(),
        "source_template": source_chunk.take(np.zeros(0, int)), "template": chunk.take(np.zeros(0, int)),
        "candidates": candidates, "rejected": rejected,
        "truth": pd.Categorical(chunk.data[TRUTH_COLUMN].astype(str)) if TRUTH_COLUMN in chunk.data else None,
        "timings": stages.timings, "notes": ctx.notes, "warnings": ctx.warnings,
        "task_s": time.perf_counter() - t0,
    }
    return Prepared(chunk, summary)


def kept(value):
    """A value held by the cluster as a task result (recomputed from the task itself if its worker dies)."""
    return value


def peak_rss_mb() -> float:
    """This process's peak resident memory (on Linux, ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary_of(prepared: Prepared) -> dict:
    return prepared.summary


def _ids_folder(plan: Plan) -> Path:
    return Path(plan.workdir) / ".work" / "ids"


def _worker_detectors(plan: Plan, stages, models: dict):
    from .runner import Detectors

    detectors = Detectors(plan.detectors, stages, "dask")
    detectors.fitted = dict(models)
    return detectors


def score(plan: Plan, prepared: Prepared, models: dict) -> tuple[dict, dict]:
    """Pass 2 on a worker: every fitted detector's scores for the partition (and the timings, the task's seconds)."""
    t0 = time.perf_counter()
    stages = _stages(plan)
    detectors = _worker_detectors(plan, stages, models)
    detectors.score_chunk(prepared.table, 0, flags=False)
    return {name: detectors.scores[name][0] for name in models}, stages.timings, time.perf_counter() - t0


def finish(plan: Plan, prepared: Prepared, models: dict, scored: tuple, thresholds: tuple, part: int,
           fraction: float) -> dict:
    """Pass 3 on a worker: flags, the partition's part of ``scored/``, the rows validators need.

    ``thresholds``: the client's (cuts, rules) of every detector, from all scores."""
    from .runner import VALIDATION_PURPOSE, _keep_columns, _write_part

    t0 = time.perf_counter()
    stages = _stages(plan)
    ctx = stages.ctx
    chunk = prepared.table
    flags = {}
    if plan.detectors:
        detectors = _worker_detectors(plan, stages, models)
        detectors.cuts, detectors.rules = dict(thresholds[0]), dict(thresholds[1])
        detectors.scores = {name: [values] for name, values in scored[0].items()}
        chunk = detectors.score_chunk(chunk, 0, flags=True)
        flags = {name: detectors.flags[name][0] for name in models}
    path = _write_part(ctx, _keep_columns(chunk, plan.keep), part)
    rows = chunk.flagged() | (unit_interval(chunk.data[chunk.id_column].to_numpy(), plan.seed,
                                            VALIDATION_PURPOSE) < fraction)
    for step in plan.validators:
        with stages.run(step):
            chosen = step.component.select(chunk, ctx)
        if chosen is not None:
            rows |= np.asarray(chosen, bool)
    return {"kept": chunk.take(rows), "flags": flags, "part": str(path), "timings": stages.timings,
            "notes": ctx.notes, "warnings": ctx.warnings, "task_s": time.perf_counter() - t0}


# -- the client's side -----------------------------------------------------------------------------

def gather(client, futures, ctx, label: str, batch: int | None = None):
    """Results of ``futures`` in order, with a progress bar; dask's failures become errors a user can act on.

    ``batch``: an iterator that fetches that many results at a time, so the client never holds them all
    (every partition's scores of a survey would not fit)."""
    distributed = import_distributed()
    with _dask_errors(label):
        with ctx.progress(label, total=len(futures)) as advance:
            for future in distributed.as_completed(futures, loop=client.loop):
                if future.status == "error":
                    future.result()    # raises the task's own exception
                advance(1)
        if batch is None:
            return client.gather(futures)
    return _in_batches(client, futures, label, batch)


def _in_batches(client, futures, label: str, batch: int):
    for start in range(0, len(futures), batch):
        with _dask_errors(label):
            results = client.gather(futures[start:start + batch])
        yield from results


@contextmanager
def _dask_errors(label: str):
    from distributed.scheduler import KilledWorker

    try:
        yield
    except ToolkitError:
        raise
    except KilledWorker as exc:
        raise StageError(f"dask workers died while running a task of '{label}' ({exc}); dask gave up after "
                         "retrying it on other workers, so the run stopped and published nothing. A worker past "
                         "its memory limit is killed: give each more (--memory-per-worker) or use smaller "
                         "partitions (--chunk-rows)") from None
    except Exception as exc:  # noqa: BLE001 - a lost scheduler, a component that cannot be pickled, ...
        raise StageError(f"the dask cluster failed during '{label}': {type(exc).__name__}: "
                         f"{one_line(str(exc), 300)}; nothing was published") from exc


def merge_worker_notes(ctx: RunContext, results: list[dict]) -> None:
    """Notes and warnings the components recorded on the workers, in partition order (as a stream run does)."""
    for res in results:
        for step, notes in res["notes"].items():
            ctx.notes.setdefault(step, {}).update(notes)
        for message in res["warnings"]:
            if message not in ctx.warnings:
                ctx.console.print(f"[yellow]warning[/yellow] {escape(one_line(message))}")
            ctx.warnings.append(message)


def add_timings(stages, timings: dict) -> None:
    for key, seconds in timings.items():
        stages.timings[key] = round(stages.timings.get(key, 0.0) + seconds, 4)


def repeated_ids(client, plan: Plan, indices: list[int], ctx) -> int:
    futures = [client.submit(count_repeats, str(_ids_folder(plan)), indices, lo, hi, pure=False, retries=RETRIES)
               for lo, hi in IdHashes.ranges()]
    return sum(gather(client, futures, ctx, "checking ids"))


def table_digest(digests: list[str]) -> str:
    """The source table's hash under the dask executor: sha256 of its partitions' sha256s, in order."""
    h = hashlib.sha256()
    for d in digests:
        h.update(d.encode())
    return h.hexdigest()



def run_dask(recipe, ctx: RunContext, stages, detectors, keep_rejected: bool, chunk_rows: int):
    """The runner's passes with partitions on a cluster (see the module doc); returns a RunResult."""
    futures: list = []
    with dask_client(recipe.spec.executor, ctx.console) as client:
        try:
            return _passes(client, futures, recipe, ctx, stages, detectors, keep_rejected, chunk_rows)
        finally:
            client.cancel(futures)


def _passes(client, futures, recipe, ctx, stages, detectors, keep_rejected, chunk_rows):
    from .runner import CUTFLOW_COLUMNS, _check_ids_across_chunks, _require_rows, finish_run
    from .truth import TruthLabels

    spec = recipe.spec.executor
    cap = detectors.sample_size(spec.max_train_rows)
    info = {"use": recipe.source.component.name, "fallback_used": False}
    step, loaders = partition_loaders(recipe, stages, chunk_rows, ctx.workdir / ".work" / "source", info)
    plan = Plan(ctx.seed, str(ctx.workdir), step, [s for s in recipe.steps["cuts"] if not s.after_features],
                recipe.steps["features"], [s for s in recipe.steps["cuts"] if s.after_features], detectors.steps,
                recipe.steps["validators"], recipe.spec.output.columns, keep_rejected, cap, {})
    used = [plan.source, *plan.pre, *plan.features, *plan.post, *plan.detectors, *plan.validators]
    plan.entries = {s.component.name: SimpleNamespace(plugin=stages.registry.entries[s.component.name].plugin)
                    for s in used if s.component.name in stages.registry.entries}
    plan_f = client.submit(kept, plan, pure=False)   # a task, not scattered data: a dead worker loses nothing
    futures.append(plan_f)

    # pass 1: every partition loaded, cut and featured where it lives; small summaries come back
    prepared = []
    for index, load in enumerate(loaders):   # submitted while the client still reads a spilled source
        prepared.append(client.submit(prepare, plan_f, load, index, pure=False, retries=RETRIES))
    futures.extend(prepared)
    if not prepared:
        raise StageError(f"source {info.get('fallback', info['use'])} gave no partitions")
    summaries = gather(client, [client.submit(summary_of, p, pure=False) for p in prepared], ctx,
                       "reading, cutting, computing features")
    n_partitions = len(summaries)
    task_s = {"read_cut_features": sum(s["task_s"] for s in summaries), "fit_on_client": 0.0, "score": 0.0,
              "flag_write": 0.0}
    n_source = sum(s["n_source"] for s in summaries)
    n_rows = sum(s["n_rows"] for s in summaries)
    flow: dict[str, dict] = {}
    for s in summaries:
        add_timings(stages, s["timings"])
        for name, row in s["flow"].items():
            into = flow.setdefault(name, dict(row, rows_in=0, rows_out=0, removed=0))
            for key in ("rows_in", "rows_out", "removed"):
                into[key] += row[key]
    merge_worker_notes(ctx, summaries)
    template = summaries[0]["source_template"]
    source_name = info.get("fallback", info["use"])
    if n_source == 0:
        raise StageError(f"source {source_name} gave no rows in its {n_partitions} partition(s): its selection "
                         "(sky region, row filters) is empty")
    if template.is_mock:
        ctx.console.print("[bold red]MOCK DATA[/bold red]: this run uses simulated stars from "
                          f"{source_name}; it says nothing about real stars.")
    _check_ids_across_chunks(repeated_ids(client, plan, list(range(len(prepared))), ctx), template.id_column,
                             source_name, "partitions")
    stages.done([step, *plan.pre, *plan.features, *plan.post])
    cutflow_rows = [flow[s.name] for s in plan.pre + plan.post if s.name in flow]
    _require_rows(n_rows, n_source, cutflow_rows)
    cutflow = pd.DataFrame(cutflow_rows, columns=CUTFLOW_COLUMNS)
    source_info = dict(info, mock=template.is_mock, truth_normal=list(template.meta.get("truth_normal", [])),
                       rows=n_source, inputs=template.meta.get("inputs", {}),
                       table_sha256=table_digest([s["digest"] for s in summaries]),
                       table_sha256_rule="sha256 of the partitions' sha256s (dask executor)")
    # partitions with rows, numbered as the stream executor numbers its chunks
    live = [i for i, s in enumerate(summaries) if s["n_rows"]]
    processed = summaries[live[0]]["template"]
    truth_labels = TruthLabels(detectors.folder / "truth.i2")
    for i in live:
        if summaries[i]["truth"] is not None:
            truth_labels.add(pd.Series(summaries[i]["truth"]))
    rejected_parts = [s["rejected"] for s in summaries if s["rejected"] is not None]
    client.cancel([p for i, p in enumerate(prepared) if i not in set(live)])
    prepared = [prepared[i] for i in live]

    # pass 2: fit on the client, models to the workers once, scores back (score columns only)
    sample_table, models_f, scored = None, None, []
    if cap != 0:
        sample = BottomK(cap)
        for i in live:
            frame = summaries[i]["candidates"]
            sample.add(frame.drop(columns=[BottomK.HASH]), frame[BottomK.HASH].to_numpy())
        sample_table = Table(sample.result(template.id_column), dict(processed.info), processed.id_column,
                             {**processed.meta, "sample_of": n_rows})
        ctx.record("training_sample", {"rows": len(sample_table), "of": n_rows,
                                       "rule": "rows with the smallest sha-salted hash of (row id, seed)"})
        del summaries
        t0 = time.perf_counter()
        detectors.fit(sample_table)
        task_s["fit_on_client"] = time.perf_counter() - t0
    else:
        del summaries
    if detectors.steps:
        models_f = client.submit(kept, detectors.fitted, pure=False)   # sent once, kept by the cluster
        futures.append(models_f)
        scored = [client.submit(score, plan_f, p, models_f, pure=False, retries=RETRIES) for p in prepared]
        futures.extend(scored)
        for r in gather(client, scored, ctx, "scoring", batch=GATHER_BATCH):
            for name in detectors.fitted:
                detectors.scores[name].append(r[0][name])
            add_timings(stages, r[1])
            task_s["score"] += r[2]
        detectors.thresholds(n_rows)

    # pass 3: flags and scored/ parts written by the workers; the rows validators need come back
    fraction = 1.0 if n_rows <= spec.validation_rows else spec.validation_rows / n_rows
    finished = [client.submit(finish, plan_f, p, models_f, scored[k] if scored else None,
                              (dict(detectors.cuts), dict(detectors.rules)), k,
                              fraction, pure=False, retries=RETRIES) for k, p in enumerate(prepared)]
    futures.extend(finished)
    kept_rows, parts = [], []
    for r in gather(client, finished, ctx, "writing scored rows", batch=GATHER_BATCH):
        add_timings(stages, r["timings"])
        task_s["flag_write"] += r["task_s"]
        for name, flags in r["flags"].items():
            detectors.flags[name].append(flags)
        merge_worker_notes(ctx, [r])
        kept_rows.append(r["kept"])
        parts.append(Path(r["part"]))
    stages.done(detectors.steps)
    table = Table.concat(kept_rows)
    del kept_rows
    executor_info = {"use": "dask", "chunk_rows": chunk_rows, "chunks": len(prepared),
                     "partitions": n_partitions, "workers": len(client.scheduler_info().get("workers", {})),
                     "scheduler": spec.scheduler or "local", "dashboard": dashboard_link(client),
                     "worker_peak_rss_mb": sorted(round(v) for v in client.run(peak_rss_mb).values()),
                     "task_seconds": {k: round(v, 3) for k, v in task_s.items()}}
    return finish_run(recipe, ctx, stages, detectors, sample_table, table, truth_labels, template, cutflow,
                      rejected_parts, source_info, n_source, n_rows, executor_info, parts)
