"""The run folder: everything a person needs to open and trust a run.

A run is written into a hidden staging folder beside the target and moved into
place only when it has succeeded, so an interrupted or failed run never leaves
half files and never touches an earlier run's outputs. An existing folder is
replaced only with ``force``, and even then only after the new run succeeded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from .errors import ToolkitError
from .io import atomic_write, json_default

KEY_DEPENDENCIES = ["numpy", "scipy", "pandas", "pyarrow", "astropy", "astroquery", "pyvo", "gala",
                    "mwdust", "scikit-learn", "torch", "matplotlib", "pluggy", "pydantic"]
CANDIDATE_FORMATS = {"fits": ("candidates.fits", "fits"), "votable": ("candidates.vot", "votable"),
                     "csv": ("candidates.csv", "csv"), "ecsv": ("candidates.ecsv", "ascii.ecsv")}


def default_run_dir(recipe_name: str, root: Path = Path("runs")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / f"{recipe_name}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{recipe_name}-{stamp}-{n}"
    return path


class RunFolder:
    """Staging and atomic publication of one run's outputs."""

    def __init__(self, target: Path, force: bool = False) -> None:
        self.target = _plain_target(Path(target))
        self.force = force
        if self.target.exists() and not self.target.is_dir():
            raise ToolkitError(f"output path '{self.target}' exists and is not a folder")
        if self.target.exists() and not force:
            raise ToolkitError(f"output folder '{self.target}' already exists; choose another --out or "
                               f"pass --force to replace it (it is kept until the new run succeeds)")
        if self.target.exists():
            _require_replaceable(self.target)
        _make_parent(self.target.parent)
        clean_stale_partials(self.target.parent)
        self.staging = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        try:
            self.staging.mkdir()
            (self.staging / STAGING_MARKER).write_text(f"{os.getpid()}\n")
        except OSError as exc:
            raise ToolkitError(f"cannot create the staging folder '{self.staging}': {exc.strerror or exc}") from None

    def path(self, name: str) -> Path:
        return self.staging / name

    def publish(self) -> Path:
        """Move the finished run into place (replacing an old one only now).

        Checked again here, under a lock: a run that finished first owns the folder, and a
        second run started on the same --out fails instead of silently replacing it.
        """
        with _publish_lock(self.target):
            old = None
            if self.target.exists() or self.target.is_symlink():
                if not self.force:
                    raise ToolkitError(f"output folder '{self.target}' was created by someone else (another run?) "
                                       "while this run was working; this run's results were not published. "
                                       "Choose another --out, or pass --force to replace it")
                _require_replaceable(self.target)
                old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
                os.replace(self.target, old)
            (self.staging / STAGING_MARKER).unlink(missing_ok=True)
            try:
                os.rename(self.staging, self.target)   # fails on a non-empty folder: never merges two runs
            except OSError as exc:
                if old is not None:
                    os.replace(old, self.target)
                raise ToolkitError(f"cannot publish the run to '{self.target}': {exc.strerror or exc}") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


#: the file that marks a folder as a toolkit run folder (only those may be replaced with --force)
RUN_MARKER = "manifest.json"
#: the file that marks a staging folder as one a run made (only those are cleaned when left behind)
STAGING_MARKER = ".toolkit-staging"


def is_run_folder(path: Path) -> bool:
    """A folder a toolkit run wrote: it holds a manifest.json with a toolkit version and a recipe."""
    try:
        data = json.loads((Path(path) / RUN_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "toolkit_version" in data and "recipe" in data


def _require_replaceable(target: Path) -> None:
    """--force replaces only a toolkit run folder (or an empty folder), never a user's other files."""
    if target.is_symlink() or not target.is_dir():
        raise ToolkitError(f"--force: '{target}' is not a folder; refusing to replace it")
    try:
        empty = not any(target.iterdir())
    except OSError as exc:
        raise ToolkitError(f"--force: cannot read '{target}': {exc.strerror or exc}") from None
    if not empty and not is_run_folder(target):
        raise ToolkitError(f"--force: '{target}' is not a toolkit run folder (it has no toolkit {RUN_MARKER}); "
                           "refusing to delete its files. Choose another --out")


def _plain_target(target: Path) -> Path:
    """The run folder, checked to be neither the working directory nor above it."""
    absolute = Path(os.path.abspath(target))
    cwd = Path(os.path.abspath(os.getcwd())) if _cwd_exists() else None
    if absolute.name in ("", ".", "..") or (cwd is not None and (absolute == cwd or absolute in cwd.parents)):
        raise ToolkitError(f"--out '{target}' is the working directory or one above it; a run folder is a new "
                           "folder of its own, e.g. --out runs/my_run")
    return target


def _cwd_exists() -> bool:
    try:
        os.getcwd()
        return True
    except OSError:
        return False


def _make_parent(parent: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ToolkitError(f"cannot create the run folder in '{parent}': a part of that path is a file, "
                           "not a folder") from None
    except OSError as exc:
        raise ToolkitError(f"cannot create the folder '{parent}': {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ToolkitError(f"cannot write into '{parent}' (permission denied); choose another --out")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # EPERM: alive, someone else's
        return True
    return True


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)$")


def clean_stale_partials(parent: Path) -> list[Path]:
    """Remove staging (``.NAME.partial-PID``) and replaced (``.NAME.old-PID``) folders whose process
    is gone (killed with -9, a power cut); a live run's folder is left alone."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if not (m and entry.is_dir() and not entry.is_symlink()) or _pid_alive(int(m.group("pid"))):
            continue
        if (entry / STAGING_MARKER).is_file() or is_run_folder(entry):   # ours: never someone else's folder
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def _publish_lock(target: Path, wait_s: float = 30.0):
    """An exclusive lock file beside the target for the few milliseconds of publication."""
    lock = target.parent / f".{target.name}.lock"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                holder = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and not _pid_alive(holder):
                lock.unlink(missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise ToolkitError(f"another run holds {lock}; remove it if no run is publishing there") from None
            time.sleep(0.05)
        except OSError as exc:
            raise ToolkitError(f"cannot lock '{lock}': {exc.strerror or exc}") from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ["toolkit", *KEY_DEPENDENCIES]:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


PARQUET_ROW_GROUP = 250_000


def write_table(table, path: Path, fmt: str, columns=None) -> None:
    """Write a Table with units (Parquet, FITS, VOTable, ECSV; ``csv`` is plain CSV).

    Parquet is written by pyarrow in row groups (no second copy of the whole
    table in memory), with the column metadata astropy itself writes, so
    astropy and TOPCAT read the units back. ``table`` may also be a list of
    Tables with the same columns (an in-memory run's chunks), written as one file.
    """
    if isinstance(table, list):
        if fmt != "parquet":
            table = table[0].concat(table)
        else:
            atomic_write(path, lambda tmp: _write_parquet(table, tmp, columns))
            return
    if fmt == "csv":
        write_csv(table, path, columns)
        return
    if fmt == "parquet":
        atomic_write(path, lambda tmp: _write_parquet([table], tmp, columns))
        return
    atab = table.to_astropy(columns)  # object and string columns arrive as fixed-width text
    atomic_write(path, lambda tmp: atab.write(tmp, format=fmt, overwrite=True))


def _write_parquet(parts, path: Path, columns=None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.table import meta

    first = parts[0]
    names = list(columns) if columns is not None else first.columns
    header = first.take(np.arange(min(len(first), 1))).to_astropy(names)[:0]
    meta_yaml = "\n".join(meta.get_yaml_from_table(header))
    metadata = {"table_meta_yaml": meta_yaml}
    text = [n for n in names if header[n].dtype.kind in "US"]
    for n in text:   # astropy reads text columns back at their longest length
        longest = max(int(p.data[n].fillna("").astype(str).str.len().max()) if len(p) else 0 for p in parts)
        metadata[f"table::len::{n}"] = str(max(longest, 1))
    writer = None
    try:
        for table in parts:
            for start in range(0, max(len(table), 1), PARQUET_ROW_GROUP):
                frame = table.data[names].iloc[start:start + PARQUET_ROW_GROUP]
                if writer is not None and not len(frame):
                    continue
                if text:   # text columns as astropy writes them: missing values as empty strings
                    frame = frame.assign(**{n: frame[n].fillna("").astype(str) for n in text})
                batch = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, batch.schema.with_metadata(metadata))
                writer.write_table(batch.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


def write_csv(table, path: Path, columns=None) -> None:
    """Plain comma-separated values: one header line of column names, then the rows, so that
    ``astropy.table.Table.read(path)`` and ``pandas.read_csv(path)`` read it as it is (a ``#``
    comment line breaks both). Units and descriptions are in manifest.json (``columns``) and in
    the self-describing formats (ECSV, FITS, VOTable, Parquet)."""
    names = list(columns) if columns is not None else table.columns

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            table.data[names].to_csv(f, index=False, lineterminator="\n")

    atomic_write(path, write)


def column_units(table) -> dict:
    """Column -> {unit, description}, for manifest.json (what a plain CSV cannot carry)."""
    return {name: {"unit": info.unit, "description": info.description} for name, info in table.info.items()
            if name in table.data.columns}


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, default=json_default, allow_nan=False)
    atomic_write(path, lambda tmp: tmp.write_text(text + "\n"))


def clean_json(value):
    """Replace NaN/inf by None recursively so manifest.json is strict JSON."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_yaml(path: Path, data: dict) -> None:
    text = yaml.safe_dump(clean_json(data), sort_keys=False)
    atomic_write(path, lambda tmp: tmp.write_text(text))
