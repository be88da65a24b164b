"""recipes/hipparcos_kinematic.yaml end to end on real I/311 records (a subset, tiny training)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.core import get_registry
from toolkit.core.recipe import load_recipe
from toolkit.core.run import execute
from toolkit.plugins.hipparcos.reader import read_hip2
from toolkit.plugins.hipparcos.source import bundled_catalogue

HALO = [74234, 74235, 57939, 76976, 48152]            # HD 134439/40, Groombridge 1830, HD 140283, HD 84937


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """~900 real records: every 20th nearby star, the named halo stars, and far and negative-parallax stars."""
    path = bundled_catalogue()
    cols = read_hip2(path)
    near = np.flatnonzero(cols["Plx"] > 10)
    rows = np.unique(np.concatenate([near[::20], np.flatnonzero(np.isin(cols["HIP"], HALO)),
                                     np.flatnonzero(cols["Plx"] <= 0)[:40], np.arange(0, 2000, 10)]))
    lines = path.read_bytes().split(b"\n")
    out = tmp_path_factory.mktemp("hip") / "hip2_subset.dat"
    out.write_bytes(b"\n".join(lines[i] for i in rows) + b"\n")
    return out, int((cols["Plx"][rows] <= 0).sum())


TINY = ["detectors.0.with.epochs=3", "detectors.0.with.folds=2", "detectors.0.with.batch_size=128",
        "detectors.1.with.n_estimators=25", "detectors.1.with.folds=2", "detectors.0.with.threshold.value=0.02",
        "detectors.1.with.threshold.value=0.02"]


def test_recipe_validates_against_the_registry():
    recipe = load_recipe("hipparcos_kinematic", get_registry())
    assert recipe.source.component.name == "hipparcos.hip2" and recipe.source.fallback is None
    assert [s.component.name for s in recipe.steps["features"]][:3] == [
        "gaia.distance", "gaia.absolute_magnitude", "gaia.tangential"]
    assert {s.component.name for s in recipe.steps["detectors"]} == {"detectors.autoencoder", "detectors.isolation_forest"}


@pytest.mark.slow
def test_recipe_end_to_end_on_real_stars(subset, tmp_path):
    path, n_nonpositive = subset
    folder, manifest = execute("hipparcos_kinematic", out=tmp_path / "run", overrides=[f"source.with.path={path}", *TINY],
                               show_progress=False)
    assert manifest["mock"] is False and manifest["source"]["mock"] is False
    assert list(manifest["source"]["inputs"]) == [str(path)]
    assert len(manifest["source"]["inputs"][str(path)]) == 64       # sha256 of the input file
    notes = json.dumps(manifest)
    assert f'"nonpositive_parallax": {n_nonpositive}' in notes and n_nonpositive >= 40

    flow = pd.read_csv(folder / "cutflow.csv")
    assert list(flow["step"]) == ["within_100pc_precise", "five_parameter_solution", "good_astrometric_fit",
                                  "has_colours"]
    scored = pd.read_parquet(folder / "scored.parquet")
    assert (scored["plx"] > 10).all() and (scored["plx"] / scored["e_plx"] > 10).all()
    assert set(HALO) <= set(scored["source_id"])
    for col in ["distance", "M_Hp", "l", "b", "v_tan", "v_l", "v_b", "reduced_pm", "parallax_pmra_corr",
                "score_ae", "flag_ae", "score_iforest", "flag_iforest", "star_name"]:
        assert col in scored.columns, col
    groombridge = scored.set_index("source_id").loc[57939]          # Groombridge 1830
    assert groombridge["distance"] == pytest.approx(1000 / 109.99)
    assert groombridge["v_tan"] == pytest.approx(4.74047 * np.hypot(4003.98, 5813.62) / 109.99, rel=1e-4)
    assert np.isfinite(scored["score_ae"]).all()

    figures = {p.name for p in (folder / "figures").iterdir()}
    assert {"figures_hr_diagram.png", "figures_reduced_pm_diagram.png"} <= figures
    cands = pd.read_parquet(folder / "candidates.parquet")
    assert len(cands) > 0 and cands["source_id"].isin(scored["source_id"]).all()
    top = manifest["validation"]["figures"]["top_candidates"]
    assert top and all(line.startswith("HIP ") for line in top)
    assert (folder / "candidates.csv").exists()
