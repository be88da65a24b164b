"""Real moving-group members (Beta Pic classic members, TW Hya core) mixed into a synthetic field."""

from pathlib import Path

import numpy as np
import pytest
import yaml
import pandas as pd

from toolkit.core import RunContext, Table
from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian
from toolkit.plugins.mixture.gaussian_detector import GaussianMixtureDetector
from toolkit.plugins.mixture.spacetime_detector import SpaceTimeDetector
from toolkit.plugins.mixture.synth_association import SyntheticAssociation

from moving_group_data import ASTRO, CHRONOSTAR_BPMG_REGION, read_bpmg, read_twa, real_groups_in_mock_field

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]

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


def _recipe_detector_config() -> dict:
    """The mixture.spacetime step of the shipped moving_group recipe, as the recipe gives it."""
    recipe = yaml.safe_load((REPO / "recipes" / "moving_group.yaml").read_text())
    (step,) = [d for d in recipe["detectors"] if d["use"] == "mixture.spacetime"]
    return dict(step["with"])


@pytest.fixture(scope="module")
def real_table():
    shared_data = Path(__file__).resolve().parents[2] / "shared" / "data"

    if not shared_data.is_dir():
        pytest.skip(f"real test data folder {shared_data} is absent (it exists only beside the dev checkout)")
    return real_groups_in_mock_field(shared_data)


def _scores(tab, out):
    """ARI of the flagged groups against the known members, over the stars in the fitted box."""
    from sklearn.metrics import adjusted_rand_score

    truth = tab.data["truth_population"].to_numpy()
    member_of = out.columns.data["st_member_of"]
    fitted = member_of >= 0
    labels = np.where(out.flag, member_of, 0)[fitted]
    t = truth[fitted]
    out = {"ari_all_groups": adjusted_rand_score(t, labels)}
    for name in ("BPMG", "TWA"):
        groups = _groups_holding(t, labels, name)
        out[f"ari_{name.lower()}"] = adjusted_rand_score(t == name, np.isin(labels, groups))
        out[f"group_{name.lower()}"] = f"group {groups[0]}" if groups else None
    return out


def _groups_holding(truth, labels, name):
    held = labels[(truth == name) & (labels > 0)]
    return [int(np.bincount(held).argmax())] if len(held) else []


@pytest.mark.slow
def test_recipe_finds_twa_in_a_realistic_field_by_bic_alone(real_table):
    """The shipped recipe's detector, out of the box, on real BPMG + TWA members in the mock 100 pc field.

    Measured (benchmarks/moving_group_real.py, this field realisation): BIC keeps one group, TW Hya
    (10 of 11, no field star, 11.6 Myr); the two-group mixture that adds BPMG (23.1 Myr) scores
    21095.0 against 21092.7, so BIC alone does not find BPMG here (it did, by 2.3 BIC, in an earlier
    realisation of the field). With beta Pic named the recipe finds 9 of 18 BPMG members.
    """
    cfg = _recipe_detector_config()
    assert cfg["region"].split() == CHRONOSTAR_BPMG_REGION.split()
    ctx = RunContext(seed=7, show_progress=False)
    out = SpaceTimeDetector(**cfg).detect(real_table, ctx)
    s = _scores(real_table, out)
    rows = {r["group"]: r for r in out.summary["report"]}
    # every group reported with members, mean and dispersion in XYZUVW, age and interval
    for r in rows.values():
        assert {"n_members", "age_myr", "age_interval_myr", "mean_X", "std_W"} <= set(r)
    # TW Hya (11 of its 15 core members fall in Chronostar's BPMG box): found, young
    assert s["ari_twa"] >= 0.85, (s, out.summary["report"])
    twa = rows[s["group_twa"]]
    lo, hi = twa["age_interval_myr"]
    assert 2.0 < twa["age_myr"] < 15.0 and lo < twa["age_myr"] < hi
    # the field stays field
    field = real_table.data["truth_population"].to_numpy() == "field"
    assert out.flag[field].sum() <= 6
