"""Executors: where a run's chunks live. They never change what a component computes.

``memory``: the chunks stay in memory and are written as one ``scored.parquet``.
A source that streams is read in chunks of ``chunk_rows`` here too (so no step
holds temporaries of the whole table, and the source never exists twice, as
blocks and joined); one that cannot, or a recipe with a whole-table detector,
is loaded whole as one chunk. Validators get the same rows as when streaming.
``stream``: the source yields chunks of ``chunk_rows`` rows; each chunk, after
cuts and features, is spilled to an Arrow file in the staging folder, read
back to be scored, and written as one part of the ``scored/`` Parquet dataset.
Memory then holds a chunk, the training sample and the rows validators need;
the scores, flags and truth labels of every row go to files beside the chunks
(``core/rowvalues.py``) and thresholds are exact order statistics computed
over them chunk by chunk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from .errors import StageError, ToolkitError
from .table import ColumnInfo, Table

EXECUTORS = ("memory", "stream", "dask")


def check_chunk_rows(chunk_rows: int) -> int:
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ToolkitError(f"chunk size must be a whole number of rows >= 1 (got {chunk_rows!r})")
    return chunk_rows


class ChunkStore:
    """Chunks after cuts and features, kept for the scoring passes (a list in memory)."""

    def __init__(self) -> None:
        self.chunks: list[Table] = []

    def add(self, chunk: Table) -> None:
        self.chunks.append(chunk)

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self) -> Iterator[Table]:
        return iter(self.chunks)

    def drain(self) -> Iterator[Table]:
        """The chunks one last time, each let go once handed on (the caller keeps what it needs)."""
        for i in range(len(self.chunks)):
            chunk, self.chunks[i] = self.chunks[i], None
            yield chunk

    def close(self) -> None:
        self.chunks = []


class SpillStore(ChunkStore):
    """Chunks spilled to Parquet files in a work folder (removed by ``close``); units kept beside."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.template: Table | None = None

    def add(self, chunk: Table) -> None:
        path = self.folder / f"chunk-{len(self.files):06d}.arrow"
        try:   # Arrow IPC, uncompressed: written and read back at disk speed
            chunk.data.to_feather(path, compression="uncompressed")
        except OSError as exc:
            raise StageError(f"cannot write the spilled chunk '{path}': {exc} (is the disk full?)") from exc
        self.files.append(path)
        if self.template is None:
            self.template = Table(chunk.data.iloc[:0], dict(chunk.info), chunk.id_column, dict(chunk.meta))

    def __len__(self) -> int:
        return len(self.files)

    def drain(self) -> Iterator[Table]:
        return iter(self)

    def __iter__(self) -> Iterator[Table]:
        t = self.template
        for path in self.files:
            yield Table(pd.read_feather(path), {k: ColumnInfo(v.unit, v.description) for k, v in t.info.items()},
                        t.id_column, dict(t.meta))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.files = []


class IdHashes:
    """Hashes of every row id, for the duplicate check across chunks (equal ids have equal hashes).

    In memory they are kept as arrays; streamed, each chunk's hashes are appended to one of
    ``PARTITIONS`` files by their top bits, so the check at the end sorts one partition at a
    time (33.8 million rows: 4 MB at a time instead of two 270 MB arrays).
    """

    PARTITIONS = 64

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.arrays: list[np.ndarray] = []
        self.chunks = 0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _file(self, p: int) -> Path:
        return self.folder / f"ids-{p:02d}.u64"

    def add(self, hashes: np.ndarray) -> None:
        hashes = np.asarray(hashes, np.uint64)
        self.chunks += 1
        if self.folder is None:
            self.arrays.append(hashes)
            return
        part = (hashes >> np.uint64(64 - 6)).astype(np.int64)   # 6 bits: 64 partitions
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.PARTITIONS + 1))
        try:
            for p in range(self.PARTITIONS):
                if bounds[p + 1] > bounds[p]:
                    with open(self._file(p), "ab") as f:
                        hashes[order[bounds[p]:bounds[p + 1]]].tofile(f)
        except OSError as exc:
            raise StageError(f"cannot write the row-id hashes to '{self.folder}': {exc} (is the disk full?)") from exc

    def repeats(self) -> int:
        """How many rows repeat an earlier row's id hash (one chunk was checked on its own: 0)."""
        if self.chunks < 2:
            return 0
        if self.folder is None:
            groups = [np.concatenate(self.arrays)] if self.arrays else []
            self.arrays = []
        else:
            groups = (np.fromfile(self._file(p), np.uint64) for p in range(self.PARTITIONS) if self._file(p).exists())
        n = 0
        for h in groups:
            h.sort()
            n += int(np.count_nonzero(h[1:] == h[:-1]))
        return n


def source_chunks(source, ctx, executor: str, chunk_rows: int, whole: bool = False) -> Iterator[Table]:
    """The source's rows as chunks: ``iter_chunks`` when the source streams, else (in memory) one whole table.

    ``whole``: in memory, load the table as one chunk even when the source streams (whole-table detectors).
    """
    if executor == "memory":
        if whole or not source.can_stream():
            yield source.load(ctx)
        else:
            yield from source.iter_chunks(ctx, chunk_rows)
        return
    if not source.can_stream():
        raise StageError(f"source {source.name} cannot stream (it has no iter_chunks); run it with the in-memory "
                         "executor (--executor memory), or export it to Parquet and read that with table.file")
    yield from source.iter_chunks(ctx, chunk_rows)


def rechunk(tables, chunk_rows: int) -> Iterator[Table]:
    """Re-slice a stream of Tables (blocks a source makes or reads) into chunks of ``chunk_rows`` rows."""
    check_chunk_rows(chunk_rows)
    pending: list[Table] = []
    held = 0
    for table in tables:
        start = 0
        while start < len(table):
            take = min(chunk_rows - held, len(table) - start)
            pending.append(table.take(np.arange(start, start + take)) if (start, take) != (0, len(table)) else table)
            held += take
            start += take
            if held == chunk_rows:
                yield pending[0] if len(pending) == 1 else Table.concat(pending)
                pending, held = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else Table.concat(pending)
