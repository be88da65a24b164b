"""Seeded, order-free row selection: hashes of row ids.

A streamed run sees its rows chunk by chunk and an in-memory run sees them all
at once; both must pick the same training sample, the same folds and the same
reference stars. So every such choice is a function of the row's id and the
run seed only: a 64-bit hash of the id, salted with the seed and a purpose
string. The training sample is the K rows with the smallest hashes (a
"bottom-K" sample, the same whatever the chunking); a row's fold is its hash
modulo k; a fraction f of rows is those whose hash, read as a number in [0, 1),
is below f.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

_SCALE = float(2 ** 64)


def _key(seed: int, purpose: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()[:8], "little"))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit function of each element (wrapping uint64 arithmetic; Steele et al. 2014)."""
    x = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hash(ids, seed: int, purpose: str) -> np.ndarray:
    """uint64 hash per id (ints or strings), salted by ``seed`` and ``purpose``.

    pandas hashes the id (its hash key applies to text only), then the salt is
    mixed in with splitmix64, so every (seed, purpose) gives an independent hash.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind in "iub":
        ids = ids.astype(np.int64)
    elif ids.dtype.kind == "f":
        if not np.isfinite(ids).all():
            raise ValueError("row ids contain NaN or inf")
        ids = ids.astype(np.int64)
    else:
        ids = ids.astype(object).astype(str).astype(object)
    return _splitmix64(pd.util.hash_array(ids, categorize=False) ^ _key(seed, purpose))


SAMPLE_PURPOSE = "sample"


def sample_hash(ids, seed: int) -> np.ndarray:
    """The hash that orders rows for a run's training sample: the sample is the rows with the smallest values."""
    return row_hash(ids, seed, SAMPLE_PURPOSE)


def unit_interval(ids, seed: int, purpose: str) -> np.ndarray:
    """A uniform number in [0, 1) per id (for 'a fraction f of the rows')."""
    return row_hash(ids, seed, purpose) / _SCALE


def fold_of(ids, seed: int, purpose: str, k: int) -> np.ndarray:
    """Fold 0..k-1 per id."""
    return (row_hash(ids, seed, purpose) % np.uint64(k)).astype(np.int16)


class BottomK:
    """The ``k`` rows with the smallest hashes seen so far, fed chunk by chunk.

    Rows are kept as DataFrame slices; ``result()`` returns them sorted by hash
    (then id), so the sample and its order do not depend on the chunking.
    ``k=None`` keeps every row.
    """

    HASH = "_sample_hash"

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.parts: list[pd.DataFrame] = []
        self.n_kept = 0
        self.limit = np.uint64(np.iinfo(np.uint64).max)

    def add(self, frame: pd.DataFrame, hashes: np.ndarray) -> None:
        keep = hashes <= self.limit if self.k is not None else np.ones(len(hashes), bool)
        if not keep.any():
            return
        part = frame.loc[keep].copy()
        part[self.HASH] = hashes[keep]
        self.parts.append(part)
        self.n_kept += len(part)
        if self.k is not None and self.n_kept > 2 * self.k:
            self._trim()

    def _trim(self) -> None:
        frame = pd.concat(self.parts, ignore_index=True)
        if len(frame) > self.k:
            h = frame[self.HASH].to_numpy()
            cut = np.partition(h, self.k - 1)[self.k - 1]
            frame = frame[h <= cut]
            self.limit = np.uint64(cut)
        self.parts, self.n_kept = [frame], len(frame)

    def result(self, id_column: str) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame()
        if self.k is not None:
            self._trim()
        frame = pd.concat(self.parts, ignore_index=True)
        frame = frame.sort_values([self.HASH, id_column], kind="stable")
        if self.k is not None:
            frame = frame.iloc[:self.k]
        return frame.drop(columns=[self.HASH]).reset_index(drop=True)
