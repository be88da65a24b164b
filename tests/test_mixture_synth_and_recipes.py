"""Synthetic sources, the scikit-learn lab mixture, and the two recipes."""

import numpy as np
import pytest

from toolkit.core import RunContext, get_registry
from toolkit.plugins.mixture.sklearn_mixture import SklearnMixtureDetector
from toolkit.plugins.mixture.synth_association import SyntheticAssociation
from toolkit.plugins.mixture.synth_cluster_field import SyntheticClusterField
from toolkit.core.recipe import load_recipe
from toolkit.core.runner import run_recipe

REPO_RECIPES = ["recipes/moving_group.yaml", "recipes/cluster_membership.yaml"]
OFFLINE = ["source.with.retries=0", "source.with.timeout_s=2", "source.with.cache=false"]


def test_synth_association_is_a_labelled_deterministic_mock(ctx):
    src = SyntheticAssociation(missing_rv_fraction=0.1)
    a, b = src.load(ctx), src.load(ctx)
    assert a.meta["mock"] is True and a.meta["truth_normal"] == ["background"]
    assert (a.data["truth_population"] == "association").sum() == 200 and len(a) == 1200
    assert a.data.equals(b.data)
    assert a.info["parallax"].unit == "mas" and a.info["ra_error"].unit == "mas"
    assert a.data["radial_velocity"].isna().mean() == pytest.approx(0.1, abs=0.04)
    corr = a.data[["ra_dec_corr", "pmra_pmdec_corr"]].to_numpy()
    assert np.all(np.abs(corr) < 1)


def test_synth_association_min_parallax(ctx):
    t = SyntheticAssociation(min_parallax=1.0).load(ctx)
    assert (t.data["parallax"] > 1.0).all() and len(t) < 1200


def test_cluster_field_and_sklearn_mixture_find_clusters(ctx):
    tab = SyntheticClusterField(n_field=800).load(ctx)
    assert tab.meta["mock"] and set(tab.data["truth_population"]) == {"field", "NGC 2451A", "NGC 2451B"}
    out = SklearnMixtureDetector(max_components=6).detect(tab, ctx)
    truth = tab.data["truth_population"].to_numpy() != "field"
    assert (out.flag == truth).mean() > 0.97
    assert out.summary["n_cluster_components"] >= 2
    assert any(f["file"].endswith("members.png") for f in ctx.figures)


@pytest.mark.parametrize("path", REPO_RECIPES)
def test_recipes_load(path):
    recipe = load_recipe(path, get_registry())
    assert recipe.source.fallback is not None


@pytest.mark.slow
@pytest.mark.parametrize("path", REPO_RECIPES)
def test_recipes_run_offline_on_their_fallback(path, tmp_path):
    reg = get_registry()
    recipe = load_recipe(path, reg, overrides=OFFLINE)
    ctx = RunContext(seed=recipe.seed, workdir=tmp_path / "run", show_progress=False)
    res = run_recipe(recipe, reg, ctx)
    assert res.source["fallback_used"] and res.source["mock"]
    if "moving_group" not in path:
        for det, pops in res.truth.items():
            assert pops["anomalous"]["recall"] >= 0.9 and pops["anomalous"]["precision"] >= 0.9, (det, pops)
    else:
        # the space-time fit sees the stars with a measured RV in Chronostar's box (st_member_of >= 0);
        # RV-less members are the overlap validator's candidates
        t = res.table.data
        member = (t["truth_population"] != "background").to_numpy()
        with_rv = ~t["rv_imputed"].to_numpy().astype(bool)
        in_box = t["st_member_of"].to_numpy() >= 0
        flag = t["flag_chronostar"].to_numpy().astype(bool)
        assert flag[member & in_box].mean() >= 0.9 and flag[member & with_rv].mean() >= 0.75
        assert member[flag].mean() >= 0.95 and not flag[~with_rv].any()
        age = res.detectors["chronostar"]["ages_myr"]["group 1"]
        assert abs(age - 24.0) < 4.0
        assert res.validation["rvless_candidates"]["selected"] == 100
