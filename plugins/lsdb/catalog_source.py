"""``lsdb.catalog``: a HATS catalogue (local path or URL) read through LSDB, partition by partition.

The recipe's columns, sky region (cone, box, polygon) and row filters are handed to
``lsdb.open_catalog``, so only the HATS pixels that touch the region, and only the named
columns, are read (Parquet filters push the row conditions into the reader). The stream
executor iterates the partitions (re-sliced into chunks); the dask executor gets one loader per
partition (``partitions``), so each worker reads its own pixel.
"""

from __future__ import annotations

from pathlib import Path

import difflib
from typing import Any, Literal

from toolkit.core import (ColumnInfo, Config, Field, Source, SourceUnavailable, StageError, Table, hats_units,
                          rechunk)

from .frames import HEALPIX_INDEX, numpy_frame

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


class Cone(Config):
    shape: Literal["cone"]
    ra: float = Field(ge=0, le=360, description="centre right ascension, deg")
    dec: float = Field(ge=-90, le=90, description="centre declination, deg")
    radius_arcsec: float = Field(gt=0, description="radius, arcsec")

    def search(self, lsdb):
        return lsdb.ConeSearch(ra=self.ra, dec=self.dec, radius_arcsec=self.radius_arcsec)


class Box(Config):
    shape: Literal["box"]
    ra: tuple[float, float] = Field(description="right ascension range (from, to), deg (may wrap through 0)")
    dec: tuple[float, float] = Field(description="declination range (low, high), deg")

    def search(self, lsdb):
        return lsdb.BoxSearch(ra=self.ra, dec=self.dec)


class Polygon(Config):
    shape: Literal["polygon"]
    vertices: list[tuple[float, float]] = Field(min_length=3, description="list of (ra, dec), deg")

    def search(self, lsdb):
        try:
            return lsdb.PolygonSearch(vertices=[tuple(v) for v in self.vertices])
        except ImportError as exc:
            raise StageError(f"lsdb.catalog: a polygon region needs lsst-sphgeom ({exc}); pip install "
                             "'toolkit[dask]', or use a cone or a box") from None


def import_lsdb():
    try:
        import lsdb
    except ImportError as exc:
        raise StageError(f"HATS catalogues need lsdb, which cannot be imported ({exc}): pip install "
                         "'toolkit[dask]'") from None
    return lsdb


class PartitionLoader:
    """One HATS pixel of the selection, read where it is called (a dask worker, or the client when streaming)."""

    def __init__(self, delayed, pixel: str, info: dict, id_column: str, meta: dict) -> None:
        self.delayed, self.pixel, self.info, self.id_column, self.meta = delayed, pixel, info, id_column, meta

    def __call__(self) -> Table:
        frame = numpy_frame(self.delayed.compute(scheduler="synchronous"))   # never nested cluster tasks
        info = {k: ColumnInfo(v.unit, v.description) for k, v in self.info.items() if k in frame.columns}
        return Table(frame, info, self.id_column, dict(self.meta, partition=self.pixel))


class LsdbCatalog(Source):
    name = "lsdb.catalog"
    summary = "A HATS catalogue through LSDB (path or URL): columns, a sky region and row filters read only what is needed."

    class Config(Config):
        path: str | Path = Field(description="HATS catalogue (or collection) folder, or a URL such as "
                          "https://data.lsdb.io/hats/gaia_dr3")
        columns: list[str] | None = Field(None, description="columns to read (null: the catalogue's defaults)")
        region: Cone | Box | Polygon | None = Field(
            None, discriminator="shape", description="sky region, degrees: {shape: cone, ra, dec, radius_arcsec}, "
            "{shape: box, ra: (from, to), dec: (low, high)} or {shape: polygon, vertices: list of (ra, dec)}")
        filters: list[tuple[str, str, Any]] = Field(default_factory=list, description="row filters read by the "
                                                     "Parquet reader: a list of (column, operator, value), e.g. "
                                                     "(parallax, '>', 10); operators " + ", ".join(OPERATORS))
        id_column: str | None = Field(None, description=f"stable id column (e.g. source_id); {HEALPIX_INDEX} "
                                      "(the HATS spatial index) when omitted")
        units: dict[str, str] = Field(default_factory=dict, description="units for columns the catalogue leaves "
                                      "without one (a catalogue the toolkit wrote carries its units)")
        mock: bool = Field(False, description="set when the catalogue holds simulated stars")

    # -- opening the catalogue -------------------------------------------------------------------
    def _open(self):
        """The selection as an lsdb Catalog, with every name in the recipe checked against the catalogue."""
        lsdb = import_lsdb()
        cfg = self.config
        try:
            whole = lsdb.open_catalog(cfg.path, columns="all")
        except Exception as exc:  # noqa: BLE001 - FileNotFoundError, ValueError, a network error...
            if _is_network(exc) or "://" in str(cfg.path):   # hats reports an unreachable URL as FileNotFoundError
                raise SourceUnavailable(f"lsdb.catalog: cannot read a HATS catalogue at '{cfg.path}' (unreachable, or no "
                                        f"catalogue there): {type(exc).__name__}: {exc}. Offline, point `path` at a "
                                        "local copy of the catalogue, or declare a fallback source") from None
            raise StageError(f"lsdb.catalog: '{cfg.path}' is not a HATS catalogue ({type(exc).__name__}: {exc}); "
                             "a HATS catalogue is a folder with hats.properties, partition_info.csv and "
                             "dataset/Norder=*/...") from None
        names = list(whole.all_columns)
        self._check(names)
        filters = [_typed_filter(f, whole.dtypes.get(f[0])) for f in cfg.filters]
        columns = None if cfg.columns is None else _with_coordinates(cfg.columns, whole)
        try:
            cat = lsdb.open_catalog(cfg.path, columns=columns,
                                    search_filter=cfg.region.search(lsdb) if cfg.region else None,
                                    filters=filters or None)
        except ValueError as exc:
            if cfg.region is not None and ("coverage" in str(exc).lower() or "empty" in str(exc).lower()):
                raise StageError(f"lsdb.catalog: the region {cfg.region.model_dump()} selects nothing of "
                                 f"'{cfg.path}' ({exc}); check the coordinates (degrees, ICRS) and the "
                                 "catalogue's sky coverage") from None
            raise StageError(f"lsdb.catalog: cannot open '{cfg.path}': {exc}") from None
        if cat.npartitions == 0:
            raise StageError(f"lsdb.catalog: the selection of '{cfg.path}' has no partitions (region "
                             f"{cfg.region.model_dump() if cfg.region else None}, filters {cfg.filters})")
        units = hats_units(getattr(cat.hc_structure.catalog_info, "model_extra", None))
        units.update(cfg.units)
        return cat, units

    def _check(self, names: list[str]) -> None:
        cfg = self.config
        known = [*names, HEALPIX_INDEX]
        wanted = [("columns", c) for c in cfg.columns or []] + [("filters", f[0]) for f in cfg.filters] \
            + [("units", c) for c in cfg.units] + ([("id_column", cfg.id_column)] if cfg.id_column else [])
        for key, name in wanted:
            if name not in known:
                near = difflib.get_close_matches(name, known, n=3)
                hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
                raise StageError(f"lsdb.catalog: `{key}` names column '{name}', which '{cfg.path}' does not have"
                                 f"{hint}. Its columns: {', '.join(names)}")
        for f in cfg.filters:
            if f[1] not in OPERATORS:
                raise StageError(f"lsdb.catalog: filter {list(f)} uses the operator '{f[1]}'; choose one of "
                                 + ", ".join(OPERATORS))

    def _loaders(self, ctx) -> list[PartitionLoader]:
        cfg = self.config
        cat, units = self._open()
        id_column = cfg.id_column or HEALPIX_INDEX
        info = {name: ColumnInfo(units.get(name)) for name in [HEALPIX_INDEX, *cat.columns]}
        info[HEALPIX_INDEX] = ColumnInfo(None, "HATS spatial index: HEALPix order-29 pixel of the row")
        pixels = cat.get_healpix_pixels()
        meta = {"mock": cfg.mock, "inputs": {str(cfg.path): f"HATS, {len(pixels)} partition(s) selected"}}
        ctx.record("catalogue", {"path": cfg.path, "partitions": len(pixels), "columns": list(cat.columns),
                                 "region": cfg.region.model_dump() if cfg.region else None,
                                 "filters": [list(f) for f in cfg.filters]})
        return [PartitionLoader(d, str(p), info, id_column, meta) for d, p in zip(cat.to_delayed(), pixels)]

    def partitions(self, ctx) -> list[PartitionLoader]:
        """One loader per HATS pixel of the selection (the dask executor runs each on a worker)."""
        return self._loaders(ctx)

    def iter_chunks(self, ctx, chunk_rows: int):
        """The selected pixels in order, each read whole, then re-sliced into chunks of ``chunk_rows`` rows."""
        return rechunk((load() for load in self._loaders(ctx)), chunk_rows)

    def load(self, ctx) -> Table:
        tables = [load() for load in self._loaders(ctx)]
        tables = [t for t in tables if len(t)] or tables[:1]
        return Table.concat(tables)


def _typed_filter(f: tuple, dtype) -> tuple:
    """A filter whose value fits its column: YAML reads 1.0e9 (no sign in the exponent) as text, for one."""
    name, op, value = f
    kind = getattr(dtype, "kind", "O")
    if kind in "fiu":
        values = value if op in ("in", "not in") else [value]
        try:
            values = [float(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else v for v in values]
        except (TypeError, ValueError):
            raise StageError(f"lsdb.catalog: filter {list(f)} compares the numeric column '{name}' with "
                             f"{value!r}, which is not a number") from None
        value = values if op in ("in", "not in") else values[0]
    return (name, op, value)


def _with_coordinates(columns: list[str], cat) -> list[str]:
    """LSDB needs the catalogue's ra/dec columns to place rows; they are read even when not asked for."""
    info = cat.hc_structure.catalog_info
    extra = [c for c in (info.ra_column, info.dec_column) if c and c not in columns]
    return [c for c in columns if c != HEALPIX_INDEX] + extra


def _is_network(exc: Exception) -> bool:
    text = f"{type(exc).__module__}.{type(exc).__name__} {exc}".lower()
    return any(word in text for word in ("connection", "timeout", "timed out", "name resolution", "aiohttp",
                                         "clientconnector", "unreachable"))
