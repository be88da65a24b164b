"""Small file helpers: atomic writes and content hashes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable


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
        raise StageError(f"table file '{_shown(path)}' does not exist (or cannot be opened)")
    fmt = format
    if fmt is None:
        name = path.name.lower()
        fmt = next((f for suf, f in READ_FORMATS.items() if name.endswith(suf)), None)
    try:
        return ATable.read(path, format=fmt) if fmt else ATable.read(path)
    except Exception as exc:
        raise StageError(f"cannot read '{path}' as {fmt or 'a table'}: {type(exc).__name__}: {exc}") from exc


def _shown(path, n: int = 200) -> str:
    """A path for a message, cut when absurdly long."""
    text = str(path)
    return text if len(text) <= n else text[:n] + f"... ({len(text):,} characters)"
