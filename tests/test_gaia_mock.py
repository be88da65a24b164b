"""gaia.mock: determinism, population fractions, the lesson's cuts, and physics recovered by the features."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import RunContext
from toolkit.plugins.gaia.features import AbsoluteMagnitude, Distance, Galactocentric
from toolkit.plugins.gaia.kinematics import SCHOENRICH2010_SOLAR_MOTION
from toolkit.plugins.gaia.mock import (DEFAULT_FRACTIONS, ELLIPSOIDS, GaiaMock, MS_LOCUS,
                                       simulate_gaia_rv_sample)
from toolkit.plugins.gaia.mock_kinematics import heliocentric_mean_v


@pytest.fixture(scope="module")
def mock_table():
    ctx = RunContext(seed=7, show_progress=False)
    return GaiaMock(n_stars=60_000).load(ctx)


def test_same_seed_same_stars_and_different_seed_differs():
    a = simulate_gaia_rv_sample(3000, np.random.default_rng(5))
    b = simulate_gaia_rv_sample(3000, np.random.default_rng(5))
    c = simulate_gaia_rv_sample(3000, np.random.default_rng(6))
    assert a.equals(b)
    assert not np.allclose(a["ra"], c["ra"])


def test_source_is_deterministic_from_the_recipe_seed():
    t1 = GaiaMock(n_stars=2000).load(RunContext(seed=3, show_progress=False))
    t2 = GaiaMock(n_stars=2000).load(RunContext(seed=3, show_progress=False))
    t3 = GaiaMock(n_stars=2000).load(RunContext(seed=4, show_progress=False))
    assert t1.data.equals(t2.data)
    assert not t1.data["source_id"].equals(t3.data["source_id"])


def test_meta_ids_units_and_exact_size(mock_table):
    t = mock_table
    assert len(t) == 60_000
    assert t.meta["mock"] is True
    assert t.meta["truth_normal"] == ["thin_disc", "thick_disc"]
    assert t.id_column == "source_id" and t.data["source_id"].is_unique
    assert t.info["parallax"].unit == "mas" and t.info["pmra"].unit == "mas / yr"
    assert t.info["radial_velocity"].unit == "km / s"
    for col in ("ra", "dec", "parallax", "parallax_error", "parallax_over_error", "pmra", "pmra_error", "pmdec",
                "pmdec_error", "radial_velocity", "radial_velocity_error", "phot_g_mean_mag", "phot_bp_mean_mag",
                "phot_rp_mean_mag", "ruwe", "truth_population"):
        assert col in t.columns


def test_lesson_cuts_hold_and_magnitudes_respect_the_rv_limit(mock_table):
    d = mock_table.data
    assert (d["parallax"] > 10).all() and (d["parallax_over_error"] > 10).all()
    assert np.isfinite(d["radial_velocity"]).all()
    assert d["grvs_mag"].max() <= 14.0 + 1e-9
    assert d["phot_g_mean_mag"].min() > 2.9          # Gaia's bright limit


def test_population_fractions_match_the_documented_values(mock_table):
    counts = mock_table.data["truth_population"].value_counts()
    n = len(mock_table)
    total = sum(DEFAULT_FRACTIONS.values())
    for pop, frac in DEFAULT_FRACTIONS.items():
        expected = n * frac / total
        assert abs(counts.get(pop, 0) - expected) < 5 * np.sqrt(expected) + 2, pop
    assert counts["hypervelocity"] == round(6e-5 * n)


def test_velocity_ellipsoids_are_recovered_through_the_features(mock_table):
    """Mock -> distance -> Galactocentric/LSR features gives back Bensby et al. (2014) dispersions, and mean V
    relative to the Schönrich et al. (2010) LSR = Bensby's drift re-expressed from the Dehnen & Binney
    (1998) LSR it was measured against (mock_kinematics.py): V_asym - 5.23 + 12.24 km/s."""
    t = mock_table
    ctx = RunContext(seed=0, show_progress=False)
    for f in (Distance(), Galactocentric()):
        t = t.with_columns(f.compute(t, ctx))
    d = t.data
    for pop in ("thin_disc", "thick_disc"):
        s = d[(d["truth_population"] == pop) & (d["truth_stage"] != "main_sequence")
              if pop == "thin_disc" else d["truth_population"] == pop]
        su, sv, sw, va = ELLIPSOIDS[pop]
        mean_v_lsr = heliocentric_mean_v(su, None if pop == "thin_disc" else va) + SCHOENRICH2010_SOLAR_MOTION[1]
        assert abs(s["U_lsr"].std() - su) < 0.1 * su
        assert abs(s["W_lsr"].std() - sw) < 0.1 * sw
        assert abs(s["V_lsr"].mean() - mean_v_lsr) < 0.15 * abs(mean_v_lsr) + 1.5
    halo = d[d["truth_population"] == "halo"]
    assert halo["V_lsr"].mean() < -150                # non-rotating halo lags the LSR by ~220 km/s
    hvs = d[d["truth_population"] == "hypervelocity"]
    assert (np.sqrt(hvs["v_x"] ** 2 + hvs["v_y"] ** 2 + hvs["v_z"] ** 2) > 550).all()


def test_cmd_white_dwarfs_below_and_giants_above_the_main_sequence(mock_table):
    t = mock_table
    ctx = RunContext(seed=0, show_progress=False)
    for f in (Distance(), AbsoluteMagnitude()):
        t = t.with_columns(f.compute(t, ctx))
    d = t.data
    ms_at_colour = np.interp(d["bp_rp"], MS_LOCUS[:, 0], MS_LOCUS[:, 1])
    wd = d["truth_population"] == "white_dwarf"
    assert (d.loc[wd, "M_G"] - ms_at_colour[wd] > 4).all()
    giants = d["truth_stage"].isin(["red_giant", "red_clump"])
    assert (d.loc[giants, "M_G"] < ms_at_colour[giants] - 1.5).mean() > 0.95
    ms = d["truth_stage"] == "main_sequence"
    assert abs(np.median(d.loc[ms, "M_G"] - ms_at_colour[ms])) < 0.5


def test_bad_fractions_are_rejected():
    with pytest.raises(ValueError, match="unknown population"):
        GaiaMock(fractions={"bulge": 0.1})
    with pytest.raises(ValueError, match="non-negative"):
        GaiaMock(fractions={"halo": -1})


def test_custom_fractions_and_hypervelocity_count():
    t = GaiaMock(n_stars=4000, fractions={"thin_disc": 0.5, "halo": 0.5}, n_hypervelocity=3).load(
        RunContext(seed=1, show_progress=False))
    counts = t.data["truth_population"].value_counts()
    assert counts["hypervelocity"] == 3 and "thick_disc" not in counts and "white_dwarf" not in counts
    assert abs(counts["halo"] - 1998) < 200
