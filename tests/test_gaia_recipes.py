"""The three gaia_kinematic recipes: they validate, run end to end on the mock, fall back when the
archive is unreachable, and run on real Gaia tables through table.file."""

from __future__ import annotations

import pytest
from rich.console import Console

from toolkit.core import get_registry
from toolkit.core.recipe import find_recipe, load_recipe
from toolkit.core.run import execute

RECIPES = ["gaia_kinematic", "gaia_kinematic_vae", "gaia_kinematic_nophot"]
#: small and quick: a few epochs, a small reference sample of orbits
QUICK = ["detectors.0.with.epochs=3", "detectors.0.with.max_train_rows=2000",
         "validators.0.with.reference_fraction=0.05", "validators.0.with.n_reference_orbits=20"]


def quiet():
    return Console(stderr=True, quiet=True)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_validates_and_names_its_components(name):
    recipe = load_recipe(name, get_registry())
    assert recipe.source.component.name == "gaia.archive"
    assert recipe.source.fallback.component.name == "gaia.mock"
    query = " ".join(recipe.source.component.adql().split())
    for clause in ("FROM gaiadr3.gaia_source", "parallax_over_error > 10", "parallax > 10",
                   "(radial_velocity IS NOT null)", "ORDER BY random_index", "TOP 1000000"):
        assert clause in query
    uses = {stage: [s.component.name for s in steps] for stage, steps in recipe.steps.items()}
    assert uses["validators"] == ["orbits.gala", "gaia.figures"]
    assert uses["detectors"] == (["detectors.vae"] if name.endswith("vae") else ["detectors.autoencoder"])
    gc = next(s.component for s in recipe.steps["features"] if s.component.name == "gaia.galactocentric")
    assert (gc.config.z_sun, gc.config.galcen_distance) == (0.0, 8.1)
    det = recipe.steps["detectors"][0].component.config
    assert det.features[-6:] == ["x", "y", "z", "v_x", "v_y", "v_z"]
    assert len(det.features) == (6 if name.endswith("nophot") else 9)
    if name.endswith("vae"):
        assert det.latent == 4
    else:
        assert det.layers == [20, 6, 2]
    orbits = recipe.steps["validators"][0].component.config
    assert orbits.potential == "MilkyWayPotential2022" and (orbits.duration_myr, orbits.step_myr) == (100, 1)
    assert recipe.spec.output.formats == ["fits"]


@pytest.mark.slow
def test_lesson_recipe_on_the_mock_end_to_end(tmp_path):
    path, manifest = execute("gaia_kinematic", out=tmp_path / "run", console=quiet(), show_progress=False,
                             overrides=["source={use: gaia.mock, with: {n_stars: 4000, n_hypervelocity: 5}}", *QUICK])
    assert manifest["mock"] is True
    truth = manifest["truth_recovery"]["ae"]
    assert truth["hypervelocity"]["roc_auc"] > 0.9            # 100s of km/s off the disc: trivially odd
    assert truth["anomalous"]["roc_auc"] > 0.75
    frame = next(n["frame"] for n in manifest["notes"].values() if "frame" in n)
    assert frame["z_sun_pc"] == 0.0 and frame["galcen_distance_kpc"] == 8.1
    figures = {p.name for p in (path / "figures").iterdir()}
    assert {"figures_hr_diagram.png", "figures_positions.png", "figures_velocities.png"} <= figures
    assert (path / "candidates.fits").is_file()


@pytest.mark.slow
def test_unreachable_archive_falls_back_to_the_mock_and_says_so(tmp_path):
    path, manifest = execute("gaia_kinematic_nophot", out=tmp_path / "run", console=quiet(), show_progress=False,
                             overrides=["source.with.retries=1", "source.with.timeout_s=5",
                                        "source.fallback.with.n_stars=3000", *QUICK])
    assert manifest["source"]["fallback_used"] is True
    assert manifest["source"]["fallback"] == "gaia.mock"
    assert manifest["mock"] is True


@pytest.mark.slow
def test_nophot_recipe_on_real_dr3_stars_without_photometry(shared_data, tmp_path):
    """298 real DR3 stars (no photometry, no parallax errors): the lesson's 100 pc cut is lifted."""
    src = f"source={{use: table.file, with: {{path: {shared_data / 'gaia_dr3_rv_298_selected_trujillo.fits'}, " \
          "id_column: source_id}}"
    path, manifest = execute("gaia_kinematic_nophot", out=tmp_path / "run", console=quiet(), show_progress=False,
                             overrides=[src, "cuts.0.with.min_parallax=0", "cuts.0.with.min_parallax_over_error=null",
                                        *QUICK])
    assert manifest["mock"] is False
    assert manifest["rows"]["source"] == 298 and manifest["rows"]["after_cuts"] == 297
    assert manifest["detectors"]["ae"]["n_scored"] == 297
    fig = manifest["validation"]["figures"]
    assert "hr_diagram" not in fig["figures"] and "velocities" in fig["figures"]


def test_lesson_cut_on_real_dr3_stars_without_errors_is_a_clear_error(shared_data, tmp_path):
    from toolkit.core import StageError

    src = f"source={{use: table.file, with: {{path: {shared_data / 'gaia_dr3_rv_298_selected_trujillo.fits'}}}}}"
    with pytest.raises(StageError, match="min_parallax_over_error: null"):
        execute("gaia_kinematic_nophot", out=tmp_path / "run", console=quiet(), show_progress=False,
                overrides=[src, *QUICK])


@pytest.mark.slow
def test_lesson_recipe_on_real_dr2_stars_without_units(shared_data, tmp_path):
    """100 DR2 stars with photometry but unit-less columns: Gaia units are assumed; 1/parallax distances."""
    src = f"source={{use: table.file, with: {{path: {shared_data / 'gaia_dr2_rv_100_pyia.fits'}, id_column: source_id}}}}"
    path, manifest = execute("gaia_kinematic", out=tmp_path / "run", console=quiet(), show_progress=False,
                             overrides=[src, "cuts.0.with.min_parallax=0", *QUICK])
    assert manifest["rows"]["source"] == 100
    kept = manifest["rows"]["after_cuts"]
    assert kept == 86                   # parallax_over_error > 10 removes 14 of the 100 (counted from the file)
    assert manifest["detectors"]["ae"]["n_scored"] == kept
    assert "hr_diagram" in manifest["validation"]["figures"]["figures"]


def test_recipes_are_shipped_as_package_data():
    for name in RECIPES:
        assert find_recipe(name).name == f"{name}.yaml"
