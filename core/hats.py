"""HATS catalogues the toolkit writes (``output: {format: hats}``, test fixtures), readable by LSDB.

HATS has no place for column units, so the toolkit keeps them in the catalogue's properties
(``toolkit_units``, JSON); ``lsdb.catalog`` reads them back. lsdb is imported only when called.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .errors import OutputError, StageError
from .table import Table

#: HATS properties key under which the toolkit stores column units
UNITS_PROPERTY = "toolkit_units"


def hats_units(properties: dict | None) -> dict[str, str]:
    """Column units stored by ``write_hats`` in a catalogue's extra properties ({} when there are none)."""
    raw = (properties or {}).get(UNITS_PROPERTY)
    try:
        units = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in units.items()} if isinstance(units, dict) else {}


def write_hats(table: Table, path: Path | str, name: str, ra_column: str = "ra", dec_column: str = "dec",
               partition_rows: int = 250_000) -> Path:
    """Write ``table`` as a HATS catalogue collection (with a 5-arcsec margin) at ``path``; units kept.

    Written into a temporary folder beside ``path`` and moved into place, so a failure leaves nothing."""
    try:
        import lsdb
    except ImportError as exc:
        raise StageError(f"HATS output needs lsdb, which cannot be imported ({exc}): pip install "
                         "'toolkit[dask]'") from None
    path = Path(path)
    missing = [c for c in (ra_column, dec_column) if c not in table.data.columns]
    if missing:
        raise StageError(f"HATS output: the scored rows have no {' or '.join(missing)} column (a HATS catalogue "
                         "is partitioned by sky position); keep them in output.columns")
    units = {k: v.unit for k, v in table.info.items() if v.unit}
    tmp = path.parent / f".{path.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        cat = lsdb.from_dataframe(table.data, ra_column=ra_column, dec_column=dec_column, catalog_name=name,
                                  partition_rows=partition_rows)
        cat.write_catalog(tmp, addl_hats_properties={UNITS_PROPERTY: json.dumps(units, separators=(",", ":"))},
                          progress_bar=False)
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except OSError as exc:
        raise OutputError(f"cannot write the HATS catalogue '{path}': {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
