"""LSDB partitions as the toolkit's tables: NumPy columns, units from the catalogue, the spatial index kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the HATS spatial index (a HEALPix order-29 pixel per row), kept as a column
HEALPIX_INDEX = "_healpix_29"


def numpy_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed columns (LSDB reads with pyarrow dtypes) as NumPy ones: nulls become NaN, text object."""
    frame = frame.reset_index() if frame.index.name == HEALPIX_INDEX else frame.reset_index(drop=True)
    out = {}
    for name in frame.columns:
        col = frame[name]
        kind = getattr(col.dtype, "kind", "O")
        if isinstance(col.dtype, pd.ArrowDtype) or str(col.dtype) in ("string", "str"):
            if kind in "iu" and not col.isna().any():
                out[name] = col.to_numpy(dtype=np.int64 if kind == "i" else np.uint64)
            elif kind in "fiu":
                out[name] = col.to_numpy(dtype=float, na_value=np.nan)
            elif kind == "b":
                out[name] = col.to_numpy(dtype=bool, na_value=False)
            else:
                out[name] = col.astype(object).where(col.notna(), None).to_numpy()
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out)

