"""The orbits.gala validator: selection, bad input, chunk purity, summary and figures."""

from __future__ import annotations

import numpy as np
import pytest

import gala  # noqa: E402,F401  (a hard dependency: a broken install must fail, not skip)

from toolkit.core import ColumnInfo, Columns, RecipeError, StageError  # noqa: E402
from toolkit.core.testing import assert_chunk_pure  # noqa: E402
from toolkit.core import unit_interval  # noqa: E402
from toolkit.plugins.orbits.selection import reference_mask  # noqa: E402
from toolkit.plugins.orbits.synthetic import solar_neighbourhood  # noqa: E402
from toolkit.plugins.orbits.validator import GalaOrbits  # noqa: E402

FAST = dict(potential="MilkyWayPotential", version="v2", duration_myr=60.0, step_myr=1.0)


@pytest.fixture(scope="module")
def stars():
    """400 solar-neighbourhood stars, halo stars flagged plus a few disc stars."""
    t = solar_neighbourhood(400, halo_fraction=0.06, seed=11)
    halo = (t.data["truth_population"] == "halo").to_numpy()
    extra = np.zeros(len(t), bool)
    extra[::97] = True
    score = np.where(halo, 2.0, 0.0) + np.linspace(0, 1, len(t))
    return t.with_columns(Columns().add("flag_ae", halo | extra).add("score_ae", score))


def test_columns_units_and_halo_stars_climb_higher(stars, ctx):
    val = GalaOrbits(**FAST).validate(stars, ctx)
    cols = val.columns
    for name, unit in [("orbit_zmax", "kpc"), ("orbit_rperi", "kpc"), ("orbit_rapo", "kpc"),
                       ("orbit_period_r", "Myr"), ("E", "km2 / s2"), ("L_z", "kpc km / s")]:
        assert cols.info[name].unit == unit, name
    assert {"orbit_ecc", "orbit_status", "halo_like", "v_toomre"} <= set(cols.names())
    halo = (stars.data["truth_population"] == "halo").to_numpy()
    zmax = cols.data["orbit_zmax"]
    assert np.median(zmax[halo]) > 3 * np.median(zmax[~halo])
    assert np.all(cols.data["L_z"][~halo] < 0)             # disc rotation in astropy's frame
    assert cols.data["halo_like"][halo].mean() > 0.5 > cols.data["halo_like"][~halo].mean()
    comp = val.summary["comparison"]["orbit_zmax"]
    assert comp["median_flagged"] > comp["median_reference"]
    assert comp["ks_pvalue"] < 1e-3 and 0 < comp["ks_statistic"] <= 1
    assert comp["fraction_above_flagged"] > comp["fraction_above_reference"]
    assert val.summary["rows"]["flagged"] == int(stars.data["flag_ae"].sum())


def test_chunk_pure(stars, ctx):
    ctx.figures_enabled = False
    assert_chunk_pure(GalaOrbits(**FAST, reference_fraction=0.5), stars, n_chunks=3, ctx=ctx, rtol=1e-9)


def test_reference_sample_is_a_per_row_hash():
    ids = np.arange(20000) * 13
    chosen = reference_mask(ids, 0.25, seed=3)
    assert 0.23 < chosen.mean() < 0.27
    assert (reference_mask(ids[5000:], 0.25, seed=3) == chosen[5000:]).all()     # any split, same rows
    assert (reference_mask(ids, 0.25, seed=4) != chosen).any()                   # the seed matters
    assert reference_mask(ids, 1.0, seed=3).all()
    strings = np.array([f"star-{i}" for i in range(100)], dtype=object)
    assert np.array_equal(unit_interval(strings, 1, "x"), unit_interval(strings.copy(), 1, "x"))


def test_only_flagged_and_reference_rows_are_integrated(stars, ctx):
    ctx.figures_enabled = False
    val = GalaOrbits(**FAST, reference_fraction=0.0).validate(stars, ctx)
    status = val.columns.data["orbit_status"]
    flagged = stars.data["flag_ae"].to_numpy()
    assert (status[~flagged] == "not_selected").all()
    assert np.isnan(val.columns.data["orbit_zmax"][~flagged]).all()
    assert np.isin(status[flagged], ["ok", "too_short"]).all()
    assert np.isfinite(val.columns.data["E"]).all()          # E, L_z need no orbit: every finite row


def test_named_flag_columns_and_missing_flag_column(stars, ctx):
    ctx.figures_enabled = False
    with pytest.raises(StageError, match="flag_nope"):
        GalaOrbits(**FAST, flag_columns=["flag_nope"]).validate(stars, ctx)


def test_missing_phase_space_columns_are_named(stars, ctx):
    table = stars.take(np.arange(10))
    table.data = table.data.drop(columns=["v_z"])
    with pytest.raises(StageError, match="'v_z'"):
        GalaOrbits(**FAST).validate(table, ctx)
    with pytest.raises(StageError, match="'vz'"):
        GalaOrbits(**FAST, velocity_columns=["v_x", "v_y", "vz"]).validate(stars, ctx)


def test_position_units_are_read_from_the_table(stars, ctx):
    ctx.figures_enabled = False
    sub = stars.take(np.arange(60))
    in_kpc = sub.with_columns(Columns().add("x", sub.array("x") / 1000, unit="kpc")
                              .add("y", sub.array("y") / 1000, unit="kpc").add("z", sub.array("z") / 1000, unit="kpc"))
    a = GalaOrbits(**FAST).validate(sub, ctx).columns.data["orbit_zmax"]
    b = GalaOrbits(**FAST).validate(in_kpc, ctx).columns.data["orbit_zmax"]
    np.testing.assert_allclose(a, b, rtol=1e-9)
    no_unit = sub.take(np.arange(len(sub)))
    no_unit.info["x"] = ColumnInfo(None, "x without a unit")
    with pytest.raises(StageError, match="no unit"):
        GalaOrbits(**FAST).validate(no_unit, ctx)
    assert np.allclose(GalaOrbits(**FAST, length_unit="pc").validate(no_unit, ctx).columns.data["orbit_zmax"], a)
    no_unit.info["x"] = ColumnInfo("km / s", "x with a wrong unit")
    with pytest.raises(StageError, match="cannot be converted to .kpc. .*length"):
        GalaOrbits(**FAST).validate(no_unit, ctx)


def test_nan_rows_are_skipped_and_counted(stars, ctx):
    ctx.figures_enabled = False
    sub = stars.take(np.arange(50))
    vz = sub.array("v_z").copy()
    vz[[3, 7, 8]] = np.nan
    sub = sub.with_columns(Columns().add("v_z", vz, unit="km / s"))
    val = GalaOrbits(**FAST).validate(sub, ctx)
    status = val.columns.data["orbit_status"]
    assert (status[[3, 7, 8]] == "nan_input").all()
    assert np.isnan(val.columns.data["orbit_zmax"][[3, 7, 8]]).all()
    assert val.summary["rows"]["nan_phase_space"] == 3
    assert val.summary["rows"]["nan_phase_space_selected_skipped"] == 3
    assert val.summary["orbit_status"]["nan_input"] == 3
    assert any("non-finite phase-space" in w for w in ctx.warnings)


def test_a_failing_star_is_flagged_and_the_run_goes_on(stars, ctx):
    ctx.figures_enabled = False
    sub = stars.take(np.arange(30))
    cols = Columns()
    for c, unit in [("x", "pc"), ("y", "pc"), ("z", "pc"), ("v_x", "km / s"), ("v_y", "km / s"), ("v_z", "km / s")]:
        values = sub.array(c).copy()
        values[5] = 0.0                               # exactly at the Galactic centre, at rest
        cols.add(c, values, unit=unit)
    sub = sub.with_columns(cols)
    for integrator in ("leapfrog", "dopri853"):
        val = GalaOrbits(**FAST, integrator=integrator).validate(sub, ctx)
        status = val.columns.data["orbit_status"]
        assert status[5] == "failed", integrator
        assert np.isnan(val.columns.data["orbit_zmax"][5])
        assert np.isin(np.delete(status, 5), ["ok", "too_short"]).all()
        assert val.summary["rows"]["failed"] == 1
    assert any("failed" in w for w in ctx.warnings)


def test_unknown_potential_lists_available_names():
    with pytest.raises(RecipeError, match="MilkyWayPotential2022") as exc:
        GalaOrbits(potential="MilkyWayPotental")
    assert "NFWPotential" in str(exc.value) and "Did you mean" in str(exc.value)


def test_potential_version_must_be_pinned_and_valid():
    with pytest.raises(RecipeError, match="version"):
        GalaOrbits(potential="MilkyWayPotential")
    with pytest.raises(RecipeError, match="unknown version"):
        GalaOrbits(potential="MilkyWayPotential", version="v3")
    with pytest.raises(RecipeError, match="only to potential"):
        GalaOrbits(potential="MilkyWayPotential2022", version="v1")
    with pytest.raises(RecipeError, match="potential_parameters"):
        GalaOrbits(potential="NFWPotential")
    assert GalaOrbits(potential="NFWPotential", potential_parameters={"m": 1e12, "r_s": 20.0})


def test_bad_time_grid_and_thresholds():
    with pytest.raises(RecipeError, match="whole number"):
        GalaOrbits(duration_myr=10.5, step_myr=1.0)
    with pytest.raises(RecipeError, match="thresholds"):
        GalaOrbits(thresholds={"zmax": 1.0})


def test_frame_is_taken_from_the_context_and_figures_saved(stars, ctx):
    ctx.step = "features.galcen"
    ctx.set_frame("Galactocentric", {"frame": "Galactocentric", "galcen_distance_kpc": 8.1, "z_sun_pc": 0.0})
    ctx.step = "validators.orbits"
    val = GalaOrbits(**FAST, n_orbit_plots=3, n_reference_orbits=20).validate(stars, ctx)
    assert val.summary["frame"]["recorded_by"] == "features.galcen"
    assert val.summary["frame"]["parameters"]["galcen_distance_kpc"] == 8.1
    assert val.summary["columns"]["position"] == {"x": "pc", "y": "pc", "z": "pc"}
    names = {f["file"] for f in ctx.figures}
    for stem in ("zmax_hist", "ecc_hist", "toomre", "energy_lz", "orbits"):
        assert f"figures/orbits_{stem}.png" in names
        assert (ctx.workdir / "figures" / f"orbits_{stem}.png").stat().st_size > 1000
    assert any("score_ae" in f["caption"] for f in ctx.figures)


def test_toomre_velocity_prefers_lsr_columns(stars, ctx):
    ctx.figures_enabled = False
    sub = stars.take(np.arange(20))
    uvw = Columns().add("U_lsr", np.full(20, 100.0), unit="km / s").add("V_lsr", np.full(20, -150.0), unit="km / s") \
        .add("W_lsr", np.zeros(20), unit="km / s")
    val = GalaOrbits(**FAST, halo_zmax_limit=None, halo_ecc_limit=None).validate(sub.with_columns(uvw), ctx)
    np.testing.assert_allclose(val.columns.data["v_toomre"], np.hypot(100, 150))
    assert val.columns.data["halo_like"].all()                    # 180 km/s < 180.3 km/s
    assert val.summary["columns"]["toomre_velocity"].startswith("columns U_lsr")


def test_no_flags_warns_and_compares_nothing(stars, ctx):
    ctx.figures_enabled = False
    sub = stars.take(np.arange(20))
    sub.data = sub.data.drop(columns=["flag_ae"])
    val = GalaOrbits(**FAST).validate(sub, ctx)
    assert val.summary["rows"]["flagged"] == 0
    assert val.summary["comparison"]["orbit_zmax"]["ks_statistic"] is None
    assert any("no flag columns" in w for w in ctx.warnings)


def test_orbits_are_continued_until_their_summaries_are_measured(stars, ctx):
    ctx.figures_enabled = False
    fixed = GalaOrbits(**FAST, max_duration_myr=None).validate(stars, ctx).summary
    assert fixed["bounds"]["radial_bounds"] > 0.3 * fixed["bounds"]["integrated"]
    cont = GalaOrbits(**FAST, max_duration_myr=1200.0).validate(stars, ctx)
    b = cont.summary["bounds"]
    assert b["radial_bounds"] == 0 and b["zmax_bounds"] == 0 and b["fraction_with_bounds"] == 0
    assert b["radial_measured"] + cont.summary["orbit_status"].get("circular", 0) == b["integrated"]
    d = cont.columns.data["orbit_duration"]
    assert np.nanmin(d) == 60.0 and np.nanmax(d) <= 1200.0 and np.nanmedian(d) > 60.0
    assert cont.summary["integration"]["duration_per_star_myr"]["max"] == np.nanmax(d)
    assert "orbit_duration" in cont.columns.info and cont.columns.info["orbit_duration"].unit == "Myr"
