"""detectors.ensemble (rank average) and the detectors run from a recipe through the runner."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, StageError, Table, sample_hash
from toolkit.plugins.detectors.ensemble import EnsembleDetector, fractional_rank

OTHER_PLUGINS = "toolkit.gaia,toolkit.orbits,toolkit.symbiotic,toolkit.mixture,toolkit.hipparcos,toolkit.catalogs"


def test_fractional_rank_ignores_nan_and_averages_ties():
    values = np.array([10.0, np.nan, 30.0, 20.0, 20.0])
    r = fractional_rank(values, np.sort(values[np.isfinite(values)]))
    np.testing.assert_allclose(r, [0.25, np.nan, 1.0, 0.625, 0.625])


def test_ensemble_rank_averages_inputs_and_propagates_nan(tmp_path):
    t = Table(pd.DataFrame({"score_ae": [1.0, 2.0, 3.0, 4.0], "score_if": [400.0, 300.0, 200.0, np.nan]}))
    ctx = RunContext(seed=0, workdir=tmp_path, show_progress=False)
    ctx.step = "detectors.ens"
    out = EnsembleDetector(inputs=["ae", "if"], threshold={"method": "top_k", "value": 1}).detect(t, ctx)
    np.testing.assert_allclose(out.score, [(0.25 + 1) / 2, (0.5 + 2 / 3) / 2, (0.75 + 1 / 3) / 2, np.nan])
    assert out.flag.tolist() == [True, False, False, False]      # 0.625 > 0.583 > 0.542
    weighted = EnsembleDetector(inputs=["ae", "if"], weights=[3, 1]).detect(t, ctx)
    assert weighted.score[0] == pytest.approx(0.75 * 0.25 + 0.25 * 1.0)


def test_ensemble_names_missing_inputs(tmp_path):
    t = Table(pd.DataFrame({"score_ae": [1.0, 2.0]}))
    with pytest.raises(StageError, match="'score_vae'.*present: score_ae"):
        EnsembleDetector(inputs=["ae", "vae"]).detect(t, RunContext(seed=0, show_progress=False))


RECIPE = """
name: detectors_test
seed: 5
source: {use: table.file, with: {path: PATH, mock: true}}
detectors:
  - use: detectors.autoencoder
    name: ae
    with: {features: [a, b, c, d], layers: [6, 2], epochs: 5, batch_size: 64, folds: 3,
           threshold: {method: top_k, value: 5}}
  - use: detectors.vae
    name: vae
    with: {features: [a, b, c, d], layers: [6], latent: 2, epochs: 5, policy: train_fraction,
           threshold: {method: mad, value: 4}}
  - use: detectors.isolation_forest
    name: iforest
    with: {features: [a, b, c, d], n_estimators: 30, policy: fit_all, max_train_rows: 150}
  - use: detectors.lof
    with: {features: [a, b, c, d], n_neighbors: 10}
  - use: detectors.pca
    with: {features: [a, b, c, d], n_components: 0.9, nan_policy: median}
  - use: detectors.pyod
    with: {features: [a, b, c, d], model: COPOD, threshold: {method: fixed, value: 5.0}}
  - use: detectors.ensemble
    name: combined
    with: {inputs: [ae, iforest, lof, pca], threshold: {method: top_fraction, value: 0.02}}
"""


@pytest.mark.slow
def test_every_detector_runs_from_a_recipe(tmp_path, monkeypatch):
    from toolkit.core import get_registry
    from toolkit.core.recipe import load_recipe
    from toolkit.core.runner import run_recipe

    monkeypatch.setenv("TOOLKIT_DISABLE_PLUGINS", OTHER_PLUGINS)  # only what this test needs
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(300, 4))
    X[:5] = 6 * rng.normal(size=(5, 4))
    df = pd.DataFrame(X, columns=list("abcd"))
    df.loc[7, "d"] = np.nan
    df.to_csv(tmp_path / "stars.csv", index=False)
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(RECIPE.replace("PATH", str(tmp_path / "stars.csv")))
    registry = get_registry(fresh=True)
    recipe = load_recipe(recipe_path, registry)
    ctx = RunContext(seed=recipe.seed, workdir=tmp_path / "run", show_progress=False)
    result = run_recipe(recipe, registry, ctx)
    data = result.table.data
    for step in ("ae", "vae", "iforest", "lof", "pca", "pyod", "combined"):
        assert f"score_{step}" in data and f"flag_{step}" in data
        assert result.detectors[step]["score_description"]
    assert result.detectors["ae"]["n_flagged"] == 5 and data["flag_ae"][:5].sum() >= 4
    assert np.isnan(data["score_ae"][7]) and np.isfinite(data["score_pca"][7])   # drop vs median
    trained = data["fold_vae"].to_numpy() == -1                                  # train_fraction: NaN for training rows
    assert 100 < trained.sum() < 200
    np.testing.assert_array_equal(np.isnan(data["score_vae"]), trained | (np.arange(300) == 7))
    h = sample_hash(data["row_id"].to_numpy(), 5)                                # its 150-row sample, in-sample
    in_sample = h <= np.sort(h)[149]
    np.testing.assert_array_equal(data["insample_iforest"], in_sample & (np.arange(300) != 7))   # row 7: NaN
    assert result.detectors["combined"]["n_flagged"] == 6
    assert ctx.notes["detectors.pca"]["nonfinite_training_rows"]["nan_policy"] == "median"
    for step in ("ae", "vae", "iforest", "lof", "pca", "pyod", "combined"):
        assert (tmp_path / "run" / "models" / step / "model.json").is_file()
    get_registry(fresh=True)
