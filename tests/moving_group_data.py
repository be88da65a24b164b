"""Real moving-group members from ../shared/data, and a realistic field to mix them into.

Shared by tests/test_mixture_real_groups.py and benchmarks/moving_group_real.py:

* ``read_bpmg``: the classic Beta Pictoris moving group list Chronostar ships (21 rows; a stray
  trailing fragment "20" and commented rows are skipped; U/V/W cells are "value + error" strings);
* ``read_twa``: the TW Hya association core (15 members);
* ``real_groups_in_mock_field``: both mixed into the project's own 100 pc field model
  (gaia.mock, the DR3 RV sample), as Chronostar's BPMG recipe would see them: every star
  within 100 pc, with the region Chronostar fits (its box around BPMG in LSR XYZUVW)
  written as a recipe expression (``CHRONOSTAR_BPMG_REGION``).
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

ASTRO = ["ra", "dec", "parallax", "parallax_error", "pmra", "pmra_error", "pmdec", "pmdec_error",
         "radial_velocity", "radial_velocity_error"]
#: Chronostar's BPMG data cut (docs, "Beta Pictoris Moving Group"), LSR-centred XYZUVW:
#: lower (-60, -60, -30, -5, -8, -7), upper (110, 50, 60, 10, 1, 3); here in the heliocentric
#: U, V, W of mixture.cartesian (LSR minus the solar motion 11.1, 12.24, 7.25 km/s).
CHRONOSTAR_BPMG_REGION = ("X > -60 and X < 110 and Y > -60 and Y < 50 and Z > -30 and Z < 60 and "
                          "U > -16.1 and U < -1.1 and V > -20.24 and V < -11.24 and W > -14.25 and W < -4.25 "
                          "and not rv_imputed")


def _value(cell: str) -> float:
    """'-11.0 + 0.7' -> -11.0; plain numbers as they are."""
    return float(cell.split("+")[0].strip()) if "+" in cell[1:] else float(cell)


def read_bpmg(path) -> pd.DataFrame:
    """The classic BPMG list: skips commented rows ('#...') and stray fragments (rows of the wrong length)."""
    rows = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for row in reader:
            if len(row) != len(header) or row[0].lstrip().startswith("#"):
                continue
            rec = dict(zip(header, row))
            try:
                rows.append({"name": rec["Name"], "ra": float(rec["RAdeg"]), "dec": float(rec["DEdeg"]),
                             "parallax": float(rec["Plx"]), "parallax_error": float(rec["e_Plx"]),
                             "pmra": float(rec["pmRA"]), "pmra_error": float(rec["e_pmRA"]),
                             "pmdec": float(rec["pmDE"]), "pmdec_error": float(rec["e_pmDE"]),
                             "radial_velocity": float(rec["RV"]), "radial_velocity_error": float(rec["e_RV"]),
                             "X_lit": float(rec["X"]), "U_lit": _value(rec["U"]), "V_lit": _value(rec["V"]),
                             "W_lit": _value(rec["W"])})
            except ValueError:
                continue
    return pd.DataFrame(rows)


def read_twa(path) -> pd.DataFrame:
    df = pd.read_csv(path, sep=r"\s+", quotechar='"')
    return df.rename(columns={"radeg": "ra", "dedeg": "dec", "plx": "parallax", "e_plx": "parallax_error",
                              "e_pmra": "pmra_error", "pmde": "pmdec", "e_pmde": "pmdec_error",
                              "rv": "radial_velocity", "e_rv": "radial_velocity_error"})


def real_groups_in_mock_field(data_dir, seed: int = 3, n_field: int = 170_000):
    """A Table: BPMG + TWA members and a gaia.mock 100 pc field, truth in ``truth_population``.

    Returns (table, n_members) with mixture.cartesian columns (XYZUVW, covariances, rv_imputed).
    """
    from toolkit.core import RunContext, Table
    from toolkit.plugins.gaia.mock import GaiaMock
    from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian

    ctx = RunContext(seed=seed, show_progress=False)
    bp = read_bpmg(data_dir / "bpmg_classic_members_chronostar.csv")
    twa = read_twa(data_dir / "twa_core_astro_chronostar.dat")
    field = GaiaMock(n_stars=n_field, seed=seed).load(ctx).data
    parts = [bp[ASTRO].assign(truth_population="BPMG", name=bp["name"]),
             twa[ASTRO].assign(truth_population="TWA", name=twa["name"]),
             field[ASTRO].assign(truth_population="field", name="")]
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "source_id", np.arange(1, len(df) + 1, dtype=np.int64))
    tab = Table(df, {}, "source_id", {"mock_field": True})
    ctx.step = "features.cartesian"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = tab.with_columns(GaiaCartesian().compute(tab, ctx))
    return tab
