"""Small file helpers: atomic writes and content hashes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from .paths import missing_path


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    An interrupted or failed write never leaves a half file at ``path``.
    """
    from .errors import OutputError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial" + "".join(path.suffixes),
                                   dir=path.parent)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(f"cannot write '{path}': a part of '{path.parent}' is a file, not a folder") from exc
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp)
    try:
        tmp.unlink()
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def is_file(path) -> bool:
    """``Path.is_file`` that says False, instead of raising, for a name the system refuses
    (too long, a NUL byte, no permission to look): user input is checked, never trusted."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def file_sha256(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def frame_sha256(df) -> str:
    """A content hash of a DataFrame (values and column names), stable across runs."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def json_default(obj):
    """``json.dumps(default=...)`` for NumPy scalars and arrays, paths and anything else (as text)."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


#: file suffix -> astropy format
READ_FORMATS = {".fits": "fits", ".fit": "fits", ".fits.gz": "fits", ".vot": "votable", ".xml": "votable",
                ".votable": "votable", ".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".parquet": "parquet",
                ".pq": "parquet", ".dat": "ascii"}


def read_table(path: Path | str, format: str | None = None):
    """Read any table file with astropy, the format guessed from the suffix; a StageError names the file."""
    from astropy.table import Table as ATable

    from .errors import StageError

    path = Path(path)
    if not is_file(path):
        raise StageError(f"{missing_path(_shown(path), 'table file')} (or it cannot be opened)")
    fmt = format
    if fmt is None:
        name = path.name.lower()
        fmt = next((f for suf, f in READ_FORMATS.items() if name.endswith(suf)), None)
    try:
        return ATable.read(path, format=fmt) if fmt else ATable.read(path)
    except Exception as exc:
        raise StageError(f"cannot read '{path}' as {fmt or 'a table'}: {type(exc).__name__}: {exc}") from exc


PARQUET_SUFFIXES = (".parquet", ".pq")


class TableChunks:
    """A table read in chunks of ``chunk_rows`` rows, with its column units, without loading it whole.

    ``path`` is a Parquet file, a folder of Parquet files (a dataset such as a
    streamed run's ``scored/``), a FITS file (read through a memory map, row
    range by row range), a glob pattern matching any of these, or any other
    table file astropy reads (read whole, then sliced).
    """

    def __init__(self, path: Path | str, chunk_rows: int, format: str | None = None) -> None:
        import glob

        from .errors import StageError

        self.chunk_rows, self.format = chunk_rows, format
        text = str(path)
        if any(ch in text for ch in "*?["):
            self.paths = [Path(p) for p in sorted(glob.glob(text))]
            if not self.paths:
                raise StageError(f"no file matches '{text}' (looked in '{Path(text).parent.resolve()}')")
        else:
            if not Path(path).exists():
                raise StageError(missing_path(path, "table"))
            self.paths = [Path(path)]
        first = self.paths[0]
        self.columns, self.units = self._schema(first)

    @staticmethod
    def _is_parquet(path: Path) -> bool:
        return path.is_dir() or path.name.lower().endswith(PARQUET_SUFFIXES)

    @staticmethod
    def _is_fits(path: Path) -> bool:
        return path.name.lower().endswith((".fits", ".fit", ".fits.gz"))

    def _schema(self, path: Path) -> tuple[list[str], dict[str, str | None]]:
        from .errors import StageError

        try:
            if self._is_parquet(path) and self.format in (None, "parquet"):
                import pyarrow.dataset as ds

                dataset = ds.dataset(str(path), format="parquet")
                return list(dataset.schema.names), parquet_units(dataset)
            tab = read_table(path, self.format) if not self._is_fits(path) else _fits_table(path)
        except StageError:
            raise
        except Exception as exc:
            raise StageError(f"cannot read '{path}': {type(exc).__name__}: {exc}") from None
        return list(tab.colnames), {c: (tab[c].unit.to_string() if tab[c].unit is not None else None)
                                    for c in tab.colnames}

    def tables(self, id_column: str | None = None):
        """Toolkit Tables of at most ``chunk_rows`` rows, units kept; without ``id_column`` a global ``row_id``."""
        from .table import ROW_ID, ColumnInfo, Table

        offset = 0
        for frame, info in self._frames():
            use = id_column if id_column in frame.columns else ROW_ID
            if use not in frame.columns:   # a file written by the toolkit keeps its own row_id
                frame.insert(0, ROW_ID, np.arange(offset, offset + len(frame), dtype=np.int64))
                info[ROW_ID] = ColumnInfo(None, "row number in the source table")
            offset += len(frame)
            yield Table(frame, info, use)

    def _frames(self):
        from .table import ColumnInfo, Table

        for path in self.paths:
            if self._is_parquet(path) and self.format in (None, "parquet"):
                import pyarrow.dataset as ds

                dataset = ds.dataset(str(path), format="parquet")
                units = parquet_units(dataset)
                for batch in dataset.to_batches(batch_size=self.chunk_rows):
                    if batch.num_rows:
                        yield batch.to_pandas(), {c: ColumnInfo(units.get(c)) for c in batch.schema.names}
                continue
            tab = _fits_table(path) if self._is_fits(path) else read_table(path, self.format)
            for start in range(0, len(tab), self.chunk_rows):
                part = Table.from_astropy(tab[start:start + self.chunk_rows], id_column=tab.colnames[0])
                yield part.data, part.info


def _fits_table(path: Path):
    """The first table HDU through a memory map: slicing reads only those rows."""
    from astropy.table import Table as ATable

    return ATable.read(path, memmap=True)


def parquet_units(dataset) -> dict[str, str | None]:
    """Units astropy wrote into a Parquet file's metadata (none for files other tools wrote)."""
    import yaml

    names = list(dataset.schema.names)
    raw = (dataset.schema.metadata or {}).get(b"table_meta_yaml")
    if raw is None and getattr(dataset, "files", None):
        import pyarrow.parquet as pq

        raw = (pq.read_schema(dataset.files[0]).metadata or {}).get(b"table_meta_yaml")
    units = {c: None for c in names}
    if raw:
        try:
            for entry in yaml.safe_load(raw.decode()).get("datatype", []):
                units[entry["name"]] = entry.get("unit")
        except (yaml.YAMLError, AttributeError, KeyError, TypeError):
            pass  # unreadable unit metadata: the columns count as unit-less
    return units


def _shown(path, n: int = 200) -> str:
    """A path for a message, cut when absurdly long."""
    text = str(path)
    return text if len(text) <= n else text[:n] + f"... ({len(text):,} characters)"
