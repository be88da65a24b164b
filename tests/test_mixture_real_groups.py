"""Real moving-group members (Beta Pic classic members, TW Hya core) mixed into a synthetic field."""

import csv

import numpy as np
import pandas as pd

from toolkit.core import RunContext, Table
from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian
from toolkit.plugins.mixture.gaussian_detector import GaussianMixtureDetector
from toolkit.plugins.mixture.synth_association import SyntheticAssociation

ASTRO = ["ra", "dec", "parallax", "parallax_error", "pmra", "pmra_error", "pmdec", "pmdec_error",
         "radial_velocity", "radial_velocity_error"]


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


def test_parsers_are_robust(shared_data, tmp_path):
    bp = read_bpmg(shared_data / "bpmg_classic_members_chronostar.csv")
    assert 19 <= len(bp) <= 21 and "beta Pic" in set(bp["name"])
    assert np.isclose(bp.loc[bp.name == "HR 9", "U_lit"].iloc[0], -11.0)
    # a stray trailing fragment and a commented row are skipped
    text = (shared_data / "bpmg_classic_members_chronostar.csv").read_text().rstrip("\n") + "\n20\n"
    (tmp_path / "b.csv").write_text(text)
    assert len(read_bpmg(tmp_path / "b.csv")) == len(bp)
    twa = read_twa(shared_data / "twa_core_astro_chronostar.dat")
    assert len(twa) == 15 and np.isfinite(twa[ASTRO].to_numpy(float)).all()


def test_cartesian_of_real_members_matches_literature(shared_data):
    ctx = RunContext(seed=0, show_progress=False)
    bp = read_bpmg(shared_data / "bpmg_classic_members_chronostar.csv")
    out = GaiaCartesian().compute(Table(bp[ASTRO].copy()), ctx)
    # literature UVW used older astrometry: agreement within a few km/s for most members
    dv = np.abs(out.data["U"] - bp["U_lit"])
    assert np.median(dv) < 1.5
    assert np.median(np.abs(out.data["X"] - bp["X_lit"])) < 2.0


def test_mixture_separates_real_groups_from_a_field(shared_data):
    ctx = RunContext(seed=3, show_progress=False)
    bp = read_bpmg(shared_data / "bpmg_classic_members_chronostar.csv")
    twa = read_twa(shared_data / "twa_core_astro_chronostar.dat")
    field = SyntheticAssociation(associations=[], error_scale=1.0,
                                 background={"n_stars": 500, "mean": [0, 0, 0, -10, -20, -7],
                                             "position_dispersion": 60.0, "velocity_dispersion": 25.0,
                                             "max_distance": 100.0}).load(ctx).data
    parts = [bp[ASTRO].assign(truth_population="BPMG"), twa[ASTRO].assign(truth_population="TWA"),
             field[ASTRO].assign(truth_population="field")]
    tab = Table(pd.concat(parts, ignore_index=True))
    tab = tab.with_columns(GaiaCartesian().compute(tab, ctx))
    out = GaussianMixtureDetector(max_components=4).detect(tab, ctx)
    labels = tab.data["truth_population"].to_numpy()
    member_of = out.columns.data["member_of"]
    real = labels != "field"
    # most real members are found (the misses are outskirts: HR 6070, TWA 14/15, the Y > 0 BPMG stars) ...
    assert out.flag[real].mean() >= 0.7, out.summary["components"]
    assert out.flag[~real].mean() <= 0.03
    # ... and the two associations land in different groups (similar UVW, distinct XYZ)
    bp_group = np.bincount(member_of[(labels == "BPMG") & out.flag]).argmax()
    twa_group = np.bincount(member_of[(labels == "TWA") & out.flag]).argmax()
    assert bp_group != twa_group
    assert (member_of[(labels == "BPMG") & out.flag] == bp_group).mean() > 0.9
    assert (member_of[(labels == "TWA") & out.flag] == twa_group).mean() > 0.9
    # the groups move like the young local associations (U, V ~ -11, -17 km/s)
    for comp in out.summary["components"][1:]:
        if comp["n_members"] >= 10:
            assert abs(comp["mean"]["U"] + 11) < 3 and abs(comp["mean"]["V"] + 17) < 3
