"""The run folder: everything a person needs to open and trust a run.

A run is written into a hidden staging folder beside the target and moved into
place only when it has succeeded, so an interrupted or failed run never leaves
half files and never touches an earlier run's outputs. An existing folder is
replaced only with ``force``, and even then only after the new run succeeded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from .errors import ToolkitError
from .io import atomic_write, json_default

KEY_DEPENDENCIES = ["numpy", "scipy", "pandas", "pyarrow", "astropy", "astroquery", "pyvo", "gala",
                    "mwdust", "scikit-learn", "torch", "matplotlib", "pluggy", "pydantic"]
CANDIDATE_FORMATS = {"fits": ("candidates.fits", "fits"), "votable": ("candidates.vot", "votable"),
                     "csv": ("candidates.csv", "ascii.ecsv")}


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
        self.target = Path(target)
        if self.target.exists() and not force:
            raise ToolkitError(f"output folder '{self.target}' already exists; choose another --out or "
                               f"pass --force to replace it (it is kept until the new run succeeds)")
        if self.target.exists() and not self.target.is_dir():
            raise ToolkitError(f"output path '{self.target}' exists and is not a folder")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()

    def path(self, name: str) -> Path:
        return self.staging / name

    def publish(self) -> Path:
        """Move the finished run into place (replacing an old one only now)."""
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
            os.replace(self.target, old)
        os.replace(self.staging, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


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
    """Write a Table with units (Parquet, FITS, VOTable, ECSV); astropy and TOPCAT read them back with units.

    Parquet is written by pyarrow in row groups (no second copy of the whole
    table in memory), with the column metadata astropy itself writes.
    """
    if fmt == "parquet":
        atomic_write(path, lambda tmp: _write_parquet(table, tmp, columns))
        return
    atab = table.to_astropy(columns)  # object and string columns arrive as fixed-width text
    atomic_write(path, lambda tmp: atab.write(tmp, format=fmt, overwrite=True))


def _write_parquet(table, path: Path, columns=None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from astropy.table import meta

    names = list(columns) if columns is not None else table.columns
    header = table.take(np.arange(min(len(table), 1))).to_astropy(names)[:0]
    meta_yaml = "\n".join(meta.get_yaml_from_table(header))
    metadata = {"table_meta_yaml": meta_yaml}
    text = [n for n in names if header[n].dtype.kind in "US"]
    for n in text:   # astropy reads text columns back at their longest length
        lengths = table.data[n].fillna("").astype(str).str.len()
        metadata[f"table::len::{n}"] = str(max(int(lengths.max()) if len(lengths) else 0, 1))
    writer = None
    try:
        for start in range(0, max(len(table), 1), PARQUET_ROW_GROUP):
            frame = table.data[names].iloc[start:start + PARQUET_ROW_GROUP]
            if text:   # text columns as astropy writes them: missing values as empty strings
                frame = frame.assign(**{n: frame[n].fillna("").astype(str) for n in text})
            batch = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema.with_metadata(metadata))
            writer.write_table(batch.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


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
