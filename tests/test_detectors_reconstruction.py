"""Reconstructions of the torch detectors: units, consistency with the score, determinism, the report figure."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, Table
from toolkit.plugins.detectors import base
from toolkit.plugins.detectors.autoencoder import AutoencoderDetector, AutoencoderEstimator
from toolkit.plugins.detectors.baselines import IsolationForestDetector, PCADetector
from toolkit.plugins.detectors.model import FittedModel
from toolkit.plugins.detectors.preprocess import Preprocessor
from toolkit.plugins.detectors.vae import VAEDetector, VAEEstimator

FEATURES = ["v", "mag", "plx"]
FAST_AE = dict(layers=[6, 2], epochs=8, batch_size=64, learning_rate=0.01, patience=None)
FAST_VAE = dict(layers=[6], latent=2, epochs=8, batch_size=64, learning_rate=0.01, patience=None)


def line_data(n=400, seed=0) -> np.ndarray:
    """Three features on one line, far from zero mean and unit scale (so a missing inverse scaling shows)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, n)
    return np.column_stack([1000 + 50 * t, 12 - 2 * t, 0.5 + 0.01 * t]) + 0.002 * rng.normal(size=(n, 3)) * \
        np.array([50, 2, 0.01])


def table_from(X: np.ndarray) -> Table:
    t = Table(pd.DataFrame(X, columns=FEATURES))
    for f, u in zip(FEATURES, ["km / s", "mag", "mas"]):
        t.info[f].unit = u
    return t


def test_inverse_transform_undoes_the_standardisation():
    X = line_data()
    pre = Preprocessor().fit(X)
    np.testing.assert_allclose(pre.inverse_transform(pre.transform(X)), X, rtol=1e-12)


def test_autoencoder_with_capacity_reconstructs_easy_data_in_feature_units():
    X = line_data()
    est = AutoencoderEstimator([16, 3], epochs=100, batch_size=64, learning_rate=0.01, validation_fraction=0,
                               patience=None)
    model = FittedModel.fit(X, FEATURES, est, nan_policy="drop", seed=3)
    recon = model.reconstruct(X)
    assert recon.shape == X.shape
    # every row within 10% of each feature's spread, in the features' own units (means 1000, 12, 0.5)
    np.testing.assert_array_less(np.abs(recon - X).max(axis=0), 0.1 * X.std(axis=0))


@pytest.mark.parametrize("est", [
    AutoencoderEstimator([6, 2], epochs=5, learning_rate=0.01, patience=None),
    VAEEstimator([6], 2, epochs=5, learning_rate=0.01, patience=None),
], ids=["autoencoder", "vae"])
def test_reconstruction_matches_the_score_and_is_deterministic_and_chunk_pure(est):
    """The reconstruction score is the summed squared error of reconstruct() in standardised units."""
    X = line_data(n=200)
    X[5, 1] = np.nan
    model = FittedModel.fit(X[np.isfinite(X).all(axis=1)], FEATURES, est, nan_policy="drop", seed=1)
    recon = model.reconstruct(X)
    assert recon.shape == X.shape
    assert np.isnan(recon[5]).all() and np.isfinite(np.delete(recon, 5, axis=0)).all()
    sse = (((recon - X) / model.preprocessor.scale_) ** 2).sum(axis=1)
    np.testing.assert_allclose(sse, model.score(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(model.reconstruct(X), recon)             # VAE decodes the mean: no sampling
    np.testing.assert_allclose(model.reconstruct(X, chunk_rows=7), recon, rtol=1e-6)  # float32 batch sums


def test_fitted_model_without_reconstruction_says_so():
    from toolkit.plugins.detectors.baselines import IsolationForestEstimator

    model = FittedModel.fit(line_data(), FEATURES, IsolationForestEstimator(n_estimators=10), nan_policy="drop",
                            seed=0)
    with pytest.raises(TypeError, match="no reconstruction"):
        model.reconstruct(line_data())


@pytest.mark.parametrize("cls,params", [(AutoencoderDetector, FAST_AE), (VAEDetector, FAST_VAE)],
                         ids=["autoencoder", "vae"])
@pytest.mark.slow
def test_run_writes_the_reconstruction_figure_with_an_honest_caption(cls, params, ctx):
    ctx.step = "detectors.det"
    cls(features=FEATURES, folds=3, **params).detect(table_from(line_data()), ctx)
    assert (ctx.workdir / "figures" / "det_reconstruction.png").is_file()
    caption = next(f["caption"] for f in ctx.figures if f["file"] == "figures/det_reconstruction.png")
    assert "saved final model" in caption and "in-sample" in caption and "out-of-fold" in caption


def test_figure_rows_are_a_capped_deterministic_sample(monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    seen = []

    def spy(inputs, recon, flagged, features, units, title):
        seen.append((inputs, units))
        return plt.figure()

    monkeypatch.setattr(base, "RECONSTRUCTION_ROWS", 50)
    monkeypatch.setattr(base, "reconstruction_figure", spy)
    X = line_data()
    for _ in range(2):
        ctx = RunContext(seed=4, workdir=tmp_path / f"run{len(seen)}", show_progress=False)
        ctx.step = "detectors.det"
        AutoencoderDetector(features=FEATURES, policy="fit_all", **FAST_AE).detect(table_from(X), ctx)
    assert len(seen) == 2 and seen[0][0].shape == (50, 3)
    np.testing.assert_array_equal(seen[0][0], seen[1][0])
    assert seen[0][1] == ["km / s", "mag", "mas"]
    assert "single model" in ctx.figures[-1]["caption"]


@pytest.mark.parametrize("cls,params", [(IsolationForestDetector, dict(n_estimators=20)),
                                        (PCADetector, dict(n_components=2))], ids=["iforest", "pca"])
def test_baselines_without_reconstruct_draw_no_reconstruction_figure(cls, params, ctx):
    ctx.step = "detectors.det"
    out = cls(features=FEATURES, folds=3, **params).detect(table_from(line_data()), ctx)
    assert np.isfinite(out.score).all()
    assert (ctx.workdir / "figures" / "det_score_histogram.png").is_file()
    assert not (ctx.workdir / "figures" / "det_reconstruction.png").exists()


def test_no_figure_and_no_reconstruction_when_figures_are_off(monkeypatch, tmp_path):
    monkeypatch.setattr(FittedModel, "reconstruct", lambda *a, **k: pytest.fail("reconstructed with figures off"))
    ctx = RunContext(seed=1, workdir=tmp_path / "run", figures=False, show_progress=False)
    ctx.step = "detectors.det"
    AutoencoderDetector(features=FEATURES, folds=3, **FAST_AE).detect(table_from(line_data()), ctx)
    assert not (tmp_path / "run" / "figures").exists()
