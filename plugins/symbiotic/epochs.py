"""Where per-epoch photometry comes from: a local table, the mock, or SkyMapper.

Every provider returns a DataFrame with the columns ``object_id, mjd, filter, mag, err``
(one row per detection). ``EpochSpec`` is the recipe-facing choice:

- ``kind: file``: any table ``table.file`` can read; ``columns`` maps the file's names to
  the five above (e.g. SkyMapper dr2.photometry: ``{mag: mag_psf, err: e_mag_psf}``).
- ``kind: mock``: simulated epochs around each row's catalogue magnitudes, deterministic
  from ``seed`` and the object id (so any split of the rows gives the same epochs).
- ``kind: auto`` (default): ``mock`` when the table says it is mock data, else ``skymapper``
  (so one recipe serves the SkyMapper source and its offline mock fallback).
- ``kind: skymapper``: the SkyMapper DR2 per-epoch photometry through the remote client in
  ``skymapper.py`` (cached; offline it raises SourceUnavailable with what to do).

Mock epochs follow SkyMapper's visit sequence u v g r u v i z u v (u and v three times a
night), nights at Siding Spring (local midnight is MJD fraction ~0.586) spread over
MJD 56800-58300. Per-exposure error = sqrt(0.01^2 + e_cat^2 n) for a catalogue error e_cat
averaged over n exposures. Variability by truth label: giants 0.03 mag night-to-night
(semi-regular), symbiotics 0.15 mag in u (0.12 v, 0.06 g, 0.03 r) plus 0.05 mag flickering
within a night, Miras a sinusoid of 1.5-3 mag in g (period 200-450 d), YSOs 0.2 mag.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.core import TRUTH_COLUMN, Config, Field, StageError, missing_path
from toolkit.core import RunContext

from .bands import MAG_COLUMNS, SKYMAPPER

EPOCH_COLUMNS = ("object_id", "mjd", "filter", "mag", "err")
VISIT_SEQUENCE = "uvgruvizuv"
#: night-to-night amplitude (mag) per population, scaled per filter by BLUE_WEIGHT
NIGHT_SCATTER = {"giant": 0.03, "dwarf": 0.02, "symbiotic": 0.15, "yso": 0.2}
BLUE_WEIGHT = {"u": 1.0, "v": 0.8, "g": 0.4, "r": 0.2, "i": 0.08, "z": 0.05}
MIRA_WEIGHT = {"u": 1.2, "v": 1.1, "g": 1.0, "r": 0.8, "i": 0.5, "z": 0.35}


class EpochSpec(Config):
    kind: Literal["auto", "file", "mock", "skymapper"] = Field(
        "auto", description="file: a local table; mock: simulated from the rows; skymapper: SkyMapper DR2 "
                            "photometry; auto: mock when the table is mock data, else skymapper")
    path: Path | None = Field(None, description="kind=file: the per-epoch table (FITS, VOTable, CSV, ECSV, Parquet)")
    format: str | None = Field(None, description="kind=file: astropy format name, guessed from the suffix when omitted")
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="our name (object_id, mjd, filter, mag, err) -> the file's column name")
    seed: int | None = Field(None, description="kind=mock: random seed; null = the recipe's seed")
    options: dict = Field(default_factory=dict, description="kind=skymapper: keyword arguments for the remote client")


def _per_epoch_error(e_cat: float, n: int) -> float:
    return float(np.hypot(0.01, e_cat * np.sqrt(max(n, 1))))


def mock_epochs(frame: pd.DataFrame, seed: int, object_column: str = "object_id") -> pd.DataFrame:
    """Simulated SkyMapper epochs for each row of ``frame`` (its ``*_psf`` magnitudes are the means)."""
    rows = []
    for rec in frame.to_dict("records"):
        oid = rec[object_column]
        rng = np.random.default_rng([int(seed), int(oid) & 0x7FFFFFFFFFFFFFFF, 7])
        pop = str(rec.get(TRUTH_COLUMN, "giant"))
        n_nights = 1 + int(rng.poisson(3))
        nights = np.sort(rng.choice(np.arange(56800, 58300), size=n_nights, replace=False))
        period, phase, amp = rng.uniform(200, 450), rng.uniform(0, 1), rng.uniform(1.5, 3.0)
        n_per_filter = {f: VISIT_SEQUENCE.count(f) * n_nights for f in SKYMAPPER}
        for night in nights:
            start = night + 0.586 + rng.uniform(-0.2, 0.2)
            night_offset = rng.normal(0, 1)
            for k, f in enumerate(VISIT_SEQUENCE):
                mean = rec.get(MAG_COLUMNS[f][0])
                e_cat = rec.get(MAG_COLUMNS[f][1])
                mjd = start + k * 0.0015
                draw = rng.normal(0, 1, 3)          # drawn for every exposure: same stream for every row layout
                if mean is None or not np.isfinite(mean) or rng.uniform() < 0.1:
                    continue
                if pop == "mira":
                    delta = amp * MIRA_WEIGHT[f] * np.sin(2 * np.pi * (mjd / period + phase))
                else:
                    delta = NIGHT_SCATTER.get(pop, 0.03) * BLUE_WEIGHT[f] / BLUE_WEIGHT["u"] * night_offset * (
                        1.0 if pop in ("symbiotic", "yso") else 2.0)
                    if pop == "symbiotic" and f in "uv":
                        delta += 0.05 * draw[1]
                err = _per_epoch_error(e_cat if e_cat is not None and np.isfinite(e_cat) else 0.02, n_per_filter[f])
                rows.append((oid, round(mjd, 6), f, round(mean + delta + err * draw[0], 4), round(err, 4)))
    return pd.DataFrame(rows, columns=list(EPOCH_COLUMNS))


@lru_cache(maxsize=4)
def _read_file(path: str, mtime: float, fmt: str | None) -> pd.DataFrame:
    from toolkit.core import read_table

    return read_table(Path(path), fmt).to_pandas()


def file_epochs(spec: EpochSpec) -> pd.DataFrame:
    if spec.path is None:
        raise StageError("epochs kind 'file' needs `path` (a table with object_id, mjd, filter, mag, err columns)")
    path = Path(spec.path)
    if not path.is_file():
        raise StageError(missing_path(path, "per-epoch photometry file"))
    frame = _read_file(str(path.resolve()), path.stat().st_mtime, spec.format)
    return standardise(frame, spec.columns, str(path))


def standardise(frame: pd.DataFrame, columns: dict[str, str], label: str) -> pd.DataFrame:
    """Rename to object_id, mjd, filter, mag, err; a clear error naming what is missing."""
    unknown = [k for k in columns if k not in EPOCH_COLUMNS]
    if unknown:
        raise StageError(f"epochs `columns` has unknown key(s) {unknown}; use {', '.join(EPOCH_COLUMNS)}")
    names = {ours: columns.get(ours, ours) for ours in EPOCH_COLUMNS}
    missing = [f"'{theirs}' (for {ours})" for ours, theirs in names.items() if theirs not in frame.columns]
    if missing:
        raise StageError(f"per-epoch photometry {label}: missing column(s) {', '.join(missing)}; it has "
                         f"{', '.join(map(str, frame.columns))}. Map them with epochs.columns: {{mag: mag_psf, ...}}")
    out = pd.DataFrame({ours: frame[theirs].to_numpy() for ours, theirs in names.items()})
    out["filter"] = out["filter"].astype(str).str.strip()
    return out


def load_epochs(spec: EpochSpec, frame: pd.DataFrame, object_column: str, ctx: RunContext, is_mock: bool = False) -> pd.DataFrame:
    """Per-epoch rows for the objects in ``frame`` (standard column names)."""
    kind = spec.kind if spec.kind != "auto" else ("mock" if is_mock else "skymapper")
    if ctx is not None:
        ctx.record("epochs_kind", kind)
    if kind == "file":
        return file_epochs(spec)
    if kind == "mock":
        seed = spec.seed if spec.seed is not None else (ctx.seed if ctx is not None else 0)
        return mock_epochs(frame, seed, object_column)
    from . import skymapper  # the remote client

    result = skymapper.fetch_epochs(frame[object_column].to_numpy(), ctx=ctx, **spec.options)
    return standardise(result, spec.columns, "from SkyMapper")
