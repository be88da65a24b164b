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

    Each chunk's hashes are kept sorted (in memory, or one ``.npy`` file per chunk in ``folder``);
    repeats are counted one hash range at a time over every chunk, so no step holds all of them
    (33.8 million rows: 17 MB at a time). The dask executor's workers write the files of their
    partitions and count the ranges in parallel (``count_repeats``).
    """

    RANGES = 16

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.arrays: dict[int, np.ndarray] = {}

    def add(self, index: int, hashes: np.ndarray) -> None:
        """Chunk ``index``'s hashes."""
        hashes = np.sort(np.asarray(hashes, np.uint64))
        if self.folder is None:
            self.arrays[index] = hashes
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.save(self._file(index), hashes)
        except OSError as exc:
            raise StageError(f"cannot write the row-id hashes to '{self.folder}': {exc} (is the disk full?)") from exc

    def _file(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.npy"

    def _sorted(self, index: int) -> np.ndarray:
        return self.arrays[index] if self.folder is None else np.load(self._file(index), mmap_mode="r")

    @classmethod
    def ranges(cls) -> list[tuple[int, int]]:
        bounds = [int(round(i * 2 ** 64 / cls.RANGES)) for i in range(cls.RANGES + 1)]
        return list(zip(bounds[:-1], bounds[1:]))

    def count_in_range(self, indices, lo: int, hi: int) -> int:
        """Rows of chunks ``indices`` whose hash in [lo, hi) repeats an earlier row's."""
        parts = []
        for index in indices:
            h = self._sorted(index)
            a = np.searchsorted(h, np.uint64(lo))
            b = np.searchsorted(h, np.uint64(hi)) if hi < 2 ** 64 else len(h)
            parts.append(np.asarray(h[a:b]))
        h = np.sort(np.concatenate(parts)) if parts else np.empty(0, np.uint64)
        return int(np.count_nonzero(h[1:] == h[:-1]))

    def repeats(self, indices) -> int:
        """How many rows of chunks ``indices`` repeat an earlier row's id hash (a single chunk was checked alone)."""
        indices = list(indices)
        if len(indices) < 2:
            return 0
        return sum(self.count_in_range(indices, lo, hi) for lo, hi in self.ranges())


def count_repeats(folder: str, indices: list[int], lo: int, hi: int) -> int:
    """``IdHashes(folder).count_in_range``, as one task of the dask executor."""
    return IdHashes(Path(folder)).count_in_range(indices, lo, hi)


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
