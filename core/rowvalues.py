"""One value per row of a run (a score, a flag, a truth label), kept chunk by chunk.

In memory the chunks' arrays are a list; streamed they are appended to one
binary file and read back a chunk at a time, so a survey-size run holds none of
them whole (33.8 million scores are 270 MB; a run needs them three or four
times over: thresholds, figures, truth recovery). Whole-run statistics are
computed over the blocks (``core/thresholds.py``, ``core/truth.py``), never
on one joined array.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import StageError


class RowValues:
    """Append a chunk's values, read chunk ``i`` back, or iterate over the chunks in order.

    ``path``: the file that holds them (streamed runs); ``None`` keeps them in memory.
    ``width``: values per row (a chunk is then an array of shape (rows, width)); None: one.
    """

    def __init__(self, dtype, path: Path | None = None, width: int | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.width = width
        self.path = None if path is None else Path(path)
        self.arrays: list[np.ndarray] = []
        self.starts = [0]            # row offset of each chunk (and the total at the end)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")

    def append(self, values) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if values.shape[1:] != self._row_shape():
            raise ValueError(f"{self.width or 1} value(s) per row expected, got an array of shape {values.shape}")
        if self.path is None:
            self.arrays.append(values)
        else:
            try:
                with open(self.path, "ab") as f:
                    values.tofile(f)
            except OSError as exc:
                raise StageError(f"cannot write '{self.path}': {exc} (is the disk full?)") from exc
        self.starts.append(self.starts[-1] + len(values))

    def __len__(self) -> int:
        """Number of chunks."""
        return len(self.starts) - 1

    @property
    def rows(self) -> int:
        return self.starts[-1]

    def __getitem__(self, i: int) -> np.ndarray:
        if self.path is None:
            return self.arrays[i]
        per_row = self.width or 1
        count = (self.starts[i + 1] - self.starts[i]) * per_row
        values = np.fromfile(self.path, self.dtype, count=count, offset=self.starts[i] * per_row * self.dtype.itemsize)
        return values if self.width is None else values.reshape(-1, self.width)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def whole(self) -> np.ndarray:
        """Every row's value as one array (for small runs and tests; survey-size code uses the chunks)."""
        if self.path is None:
            return np.concatenate(self.arrays) if self.arrays else np.empty((0, *self._row_shape()), self.dtype)
        return np.fromfile(self.path, self.dtype).reshape(-1, *self._row_shape())

    def _row_shape(self) -> tuple:
        return () if self.width is None else (self.width,)


def blocks_of(values) -> Iterable[np.ndarray]:
    """An array as one block; a ``RowValues`` or a list of arrays as its chunks (re-iterable)."""
    if isinstance(values, RowValues):
        return values
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, np.ndarray) for v in values):
        return values
    return [np.asarray(values)]
