"""recipes/symbiotic.yaml end to end, offline: SkyMapper unavailable -> symbiotic.mock, recall reported."""

import numpy as np
import pytest

from toolkit.core import RunContext, get_registry
from toolkit.core.recipe import load_recipe
from toolkit.core.runner import run_recipe

FAST = ["source.with.retries=0", "source.with.timeout_s=5",
        "source.fallback.with.n_giants=500", "source.fallback.with.n_dwarfs=40",
        "source.fallback.with.n_symbiotic=20", "source.fallback.with.n_mira=5", "source.fallback.with.n_yso=5",
        "detectors.0.with.epochs=3"]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    registry = get_registry()
    recipe = load_recipe("recipes/symbiotic.yaml", registry, overrides=FAST)
    ctx = RunContext(seed=recipe.seed, workdir=tmp_path_factory.mktemp("symbiotic_run"), show_progress=False)
    return recipe, ctx, run_recipe(recipe, registry, ctx)


def test_recipe_matches_the_seed_parameters():
    recipe = load_recipe("recipes/symbiotic.yaml", get_registry())
    vae = recipe.steps["detectors"][0].component.config
    assert vae.features == ["u_psf", "v_psf", "g_psf", "r_psf", "i_psf", "z_psf", "j_m", "h_m", "k_m"]
    assert (vae.layers, vae.latent, vae.epochs, vae.batch_size, vae.learning_rate) == ([16], 3, 100, 64, 1e-3)
    assert vae.nan_policy == "median" and vae.threshold.method == "top_fraction" and vae.threshold.value == 0.02
    cut3 = recipe.steps["cuts"][6].component
    assert cut3.describe() == "(j_m - k_m) - 0.413 * ebmv_sfd > 0.85"


@pytest.mark.slow
def test_offline_run_falls_back_to_the_mock(result):
    _, _, res = result
    assert res.source["fallback_used"] and res.source["fallback"] == "symbiotic.mock" and res.source["mock"]
    assert list(res.cutflow["step"])[-2:] == ["cut3", "cut4"]
    assert res.cutflow["removed"].sum() > 0
    assert {"score_vae", "flag_vae", "score_pca", "u_minus_g", "jk_0", "match_mock_known"} <= set(res.table.columns)
    assert abs(res.detectors["vae"]["n_flagged"] - 0.02 * len(res.table)) <= 1


@pytest.mark.slow
def test_recall_of_known_symbiotics_is_reported(result):
    _, _, res = result
    known = res.validation["known"]["catalogs"]["mock_known"]
    table = res.table.data
    injected_kept = int((table["truth_population"] == "symbiotic").sum())
    assert 0 < known["n_in_table"] <= injected_kept
    matched = table["match_mock_known"].astype(str).str.len() > 0
    assert (table.loc[matched, "truth_population"] == "symbiotic").all()   # no false matches
    assert "flag_vae" in known["flags"] and "recall" in known["flags"]["flag_vae"]
    assert res.validation["known"]["catalogs"]["belczynski2000"]["skipped"] is True
    assert "symbiotic" in res.truth["vae"] and res.truth["vae"]["symbiotic"]["n"] == injected_kept


@pytest.mark.slow
def test_imputation_of_missing_magnitudes_is_recorded(result):
    _, ctx, res = result
    assert res.table.data["u_psf"].isna().any()
    assert np.isfinite(res.table.array("score_vae")).all()
    assert any("imputed" in w and "u_psf" in w for w in ctx.warnings)


@pytest.mark.slow
def test_seed_figures_are_written(result):
    _, ctx, res = result
    names = {f["file"].split("/")[-1] for f in ctx.figures}
    for stem in ("loss_histogram", "loss_boxplot", "loss_per_object", "pca", "colour_colour_0"):
        assert f"figures_{stem}.png" in names
    summary = res.validation["figures"]
    assert summary["n_known"] == res.validation["known"]["catalogs"]["mock_known"]["n_rows_matched"]
    assert summary["threshold"] is not None
