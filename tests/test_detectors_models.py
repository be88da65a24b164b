"""Model-backed detectors: every detector finds planted outliers; bad input; determinism; saved models."""

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, StageError, Table, ToolkitError, unit_interval
from toolkit.core.models import load_model as core_load_model
from toolkit.plugins.detectors.autoencoder import AutoencoderDetector
from toolkit.plugins.detectors.baselines import (IsolationForestDetector, LOFDetector, PCADetector, PyODDetector,
                                                 pyod_class)
from toolkit.plugins.detectors.saved import score_saved_model
from toolkit.plugins.detectors.vae import VAEDetector

FEATURES = ["a", "b", "c", "d"]
N, N_OUT = 300, 6
FAST_AE = dict(layers=[6, 2], epochs=8, batch_size=64, learning_rate=0.01, patience=None)
FAST_VAE = dict(layers=[6], latent=2, epochs=8, batch_size=64, learning_rate=0.01, patience=None)

DETECTORS = [
    (AutoencoderDetector, FAST_AE),
    (VAEDetector, FAST_VAE),
    (IsolationForestDetector, dict(n_estimators=50)),
    (LOFDetector, dict(n_neighbors=15)),
    (PCADetector, dict(n_components=2)),
    (PyODDetector, dict(model="ECOD")),
]
IDS = [c.name for c, _ in DETECTORS]


def make_table(n=N, seed=0) -> Table:
    """Correlated Gaussian rows (a 2-d manifold plus noise) and N_OUT planted outliers at the start."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    X = latent @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(n, 4))
    X[:N_OUT] = rng.normal(size=(N_OUT, 4)) * 4
    t = Table(pd.DataFrame(X, columns=FEATURES))
    for f in FEATURES:
        t.info[f].unit = "km / s"
    return t


def load_model(folder):
    """Load a saved model folder (PyOD models are pickles: these tests made them, so they trust them)."""
    return core_load_model(folder, trust_pickle=True)


def run_ctx(tmp_path, step="det", seed=1) -> RunContext:
    ctx = RunContext(seed=seed, workdir=tmp_path / "run", show_progress=False)
    ctx.step = f"detectors.{step}"
    return ctx


@pytest.mark.parametrize("cls,params", DETECTORS, ids=IDS)
def test_each_detector_ranks_planted_outliers_highest_out_of_fold(cls, params, tmp_path):
    from sklearn.metrics import roc_auc_score

    table = make_table()
    det = cls(features=FEATURES, folds=3, threshold={"method": "top_k", "value": N_OUT}, **params)
    out = det.detect(table, run_ctx(tmp_path))
    truth = np.arange(N) < N_OUT
    assert out.score.shape == (N,) and np.isfinite(out.score).all()
    assert roc_auc_score(truth, out.score) > 0.9
    assert out.flag.sum() == N_OUT
    assert "out-of-fold" in out.score_description
    assert not out.columns.data["insample_det"].any()
    assert (tmp_path / "run" / "models" / "det" / "model.json").is_file()
    assert (tmp_path / "run" / "figures" / "det_score_histogram.png").is_file()


@pytest.mark.parametrize("cls,params", DETECTORS, ids=IDS)
def test_saved_model_round_trip_gives_identical_scores(cls, params, tmp_path):
    """fit_all: the saved model is the one that scored the run, so reloading must reproduce every score."""
    table = make_table()
    out = cls(features=FEATURES, policy="fit_all", **params).detect(table, run_ctx(tmp_path))
    model, doc = load_model(tmp_path / "run" / "models" / "det")
    assert doc["features"] == FEATURES and doc["component"] == cls.name
    assert doc["feature_units"] == {f: "km / s" for f in FEATURES}
    assert "numpy" in doc["versions"]
    again = model.score(table)                       # a new table (no fold column): the single model
    np.testing.assert_array_equal(again, out.score)
    assert out.columns.data["insample_det"].all()


@pytest.mark.parametrize("cls,params", DETECTORS, ids=IDS)
def test_saved_kfold_model_reproduces_the_runs_out_of_fold_scores(cls, params, tmp_path):
    """kfold: the run's table carries fold_<step>; the saved fold models give back every score exactly."""
    table = make_table()
    out = cls(features=FEATURES, folds=3, **params).detect(table, run_ctx(tmp_path))
    model, _ = load_model(tmp_path / "run" / "models" / "det")
    with_folds = table.with_columns(out.columns)
    np.testing.assert_array_equal(model.score(with_folds), out.score)
    assert set(np.unique(out.columns.data["fold_det"])) == {0, 1, 2}
    new_rows = model.score(table)                    # no fold column: the final model, fitted on every row
    assert np.isfinite(new_rows).all() and not np.array_equal(new_rows, out.score)


@pytest.mark.slow
@pytest.mark.parametrize("cls,params", DETECTORS[:2], ids=IDS[:2])
def test_same_seed_same_scores_other_seed_other_scores(cls, params, tmp_path):
    table = make_table()
    a = cls(features=FEATURES, folds=2, **params).detect(table, run_ctx(tmp_path / "a", seed=3))
    b = cls(features=FEATURES, folds=2, **params).detect(table, run_ctx(tmp_path / "b", seed=3))
    c = cls(features=FEATURES, folds=2, **params).detect(table, run_ctx(tmp_path / "c", seed=4))
    np.testing.assert_array_equal(a.score, b.score)
    assert not np.array_equal(a.score, c.score)


def test_kfold_saves_a_final_model_and_says_so(tmp_path):
    out = AutoencoderDetector(features=FEATURES, folds=3, **FAST_AE).detect(make_table(), run_ctx(tmp_path))
    doc = json.loads((tmp_path / "run" / "models" / "det" / "model.json").read_text())
    state = doc["state"]
    assert state["n_fold_models"] == 3 and state["models"][state["final"]]["n_train"] == N
    assert "final model on the whole sample" in out.summary["saved_model"]
    assert sum(m["n_train"] for m in state["models"][:3]) == 2 * N      # each row trains two of three folds
    assert doc["threshold"]["cut"] == out.summary["threshold"]["cut"]
    assert sorted(doc["files"]) == ["arrays.npz"] and len(doc["files"]["arrays.npz"]["sha256"]) == 64
    assert out.summary["model_dir"] == "models/det"            # relative: the run folder moves into place
    assert len(state["models"][state["final"]]["history"]["train"]) == 8
    assert out.summary["epochs_run"] == {"fold 1": 8, "fold 2": 8, "fold 3": 8, "final": 8}
    assert (tmp_path / "run" / "figures" / "det_loss_curves.png").is_file()


def test_train_fraction_scores_only_held_out_rows(tmp_path):
    table = make_table()
    out = PCADetector(features=FEATURES, policy="train_fraction", train_fraction=0.5).detect(table, run_ctx(tmp_path))
    trained = unit_interval(table.data["row_id"].to_numpy(), 1, "split:det") < 0.5   # seed 1, step det
    assert 0.4 * N < trained.sum() < 0.6 * N
    np.testing.assert_array_equal(np.isnan(out.score), trained)
    np.testing.assert_array_equal(out.columns.data["fold_det"], np.where(trained, -1, 0))
    assert not out.flag[np.isnan(out.score)].any()


@pytest.mark.slow
def test_lesson_architectures_and_full_batch(tmp_path):
    table = make_table()
    for layers in ([20, 6, 2], [100, 20, 4]):
        det = AutoencoderDetector(features=FEATURES, layers=layers, policy="train_fraction", full_batch=True,
                                  epochs=5, learning_rate=0.01, validation_fraction=0, patience=None)
        out = det.detect(table, run_ctx(tmp_path / str(layers[0])))
        arch = "-".join(map(str, [4, *layers, *layers[-2::-1], 4]))
        assert arch in out.score_description
        model, _ = load_model(tmp_path / str(layers[0]) / "run" / "models" / "det")
        estimator = model.final.estimator
        weights = [p.shape for p in estimator.net.parameters() if p.ndim == 2]
        assert [w[0] for w in weights] == [*layers, *layers[-2::-1], 4]
        assert estimator.history["epochs_run"] == 5 and estimator.history["validation"] == []


@pytest.mark.slow
def test_early_stopping_stops_and_keeps_best_weights(tmp_path):
    det = AutoencoderDetector(features=FEATURES, layers=[6, 2], epochs=200, batch_size=32, learning_rate=0.05,
                              patience=2, policy="fit_all")
    out = det.detect(make_table(), run_ctx(tmp_path))
    model, _ = load_model(tmp_path / "run" / "models" / "det")
    h = model.final.estimator.history
    assert h["stopped_early"] and h["epochs_run"] < 200
    assert h["epochs_run"] - h["best_epoch"] == 2
    assert out.summary["epochs_run"]["model"] == h["epochs_run"]


def test_torch_settings_are_restored_after_fit(tmp_path):
    import torch

    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    AutoencoderDetector(features=FEATURES, policy="fit_all", threads=1, **FAST_AE).detect(make_table(),
                                                                                          run_ctx(tmp_path))
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


# -- bad input ------------------------------------------------------------

def test_missing_feature_columns_are_named(tmp_path):
    with pytest.raises(StageError, match=r"'v_z'.*\n.*Available columns"):
        PCADetector(features=["a", "b", "v_z"]).detect(make_table(), run_ctx(tmp_path))


def test_non_numeric_feature_is_refused(tmp_path):
    t = make_table()
    t.data["name"] = "star"
    with pytest.raises(StageError, match="'name' are not numeric"):
        PCADetector(features=["a", "name"]).detect(t, run_ctx(tmp_path))


def test_constant_feature_is_an_error_naming_it(tmp_path):
    t = make_table()
    t.data["c"] = 3.0
    with pytest.raises(StageError, match="'c' have a single value"):
        PCADetector(features=FEATURES).detect(t, run_ctx(tmp_path))


def test_too_few_rows(tmp_path):
    with pytest.raises(StageError, match="too few rows: 8 usable"):
        AutoencoderDetector(features=FEATURES, **FAST_AE).detect(make_table(8), run_ctx(tmp_path))
    with pytest.raises(StageError, match="at least 16"):
        LOFDetector(features=FEATURES, n_neighbors=15, folds=5).detect(make_table(18), run_ctx(tmp_path))


def test_nan_and_inf_dropped_get_nan_score_and_are_recorded(tmp_path):
    t = make_table()
    t.data.loc[10, "a"] = np.nan
    t.data.loc[11, "b"] = np.inf
    ctx = run_ctx(tmp_path)
    out = PCADetector(features=FEATURES, nan_policy="drop").detect(t, ctx)
    assert np.isnan(out.score[[10, 11]]).all() and np.isfinite(np.delete(out.score, [10, 11])).all()
    note = ctx.notes["detectors.det"]["nonfinite_training_rows"]
    assert note["rows"] == 2 and note["per_feature"] == {"a": 1, "b": 1} and note["nan_policy"] == "drop"
    assert "NaN/inf features: NaN" in out.score_description


def test_nan_median_imputation_scores_every_row_and_is_saved(tmp_path):
    t = make_table()
    t.data.loc[10, "a"] = np.nan
    ctx = run_ctx(tmp_path)
    out = PCADetector(features=FEATURES, nan_policy="median", policy="fit_all").detect(t, ctx)
    assert np.isfinite(out.score).all()
    assert ctx.notes["detectors.det"]["nonfinite_training_rows"]["action"] == "imputed with training medians"
    model, _ = load_model(tmp_path / "run" / "models" / "det")
    finite_a = t.data["a"].dropna()
    assert model.final.preprocessor.median_[0] == pytest.approx(np.median(finite_a))


def test_pyod_missing_gives_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyod.models", None)
    with pytest.raises(ToolkitError, match="optional package PyOD"):
        pyod_class("ECOD")


def test_pyod_unknown_model_is_named():
    with pytest.raises(ToolkitError, match="no PyOD model class 'NoSuchModel'"):
        pyod_class("NoSuchModel")


# -- toolkit score ----------------------------------------------------------

@pytest.mark.slow
def test_score_saved_model_writes_scored_table_with_identical_scores(tmp_path):
    table = make_table()
    out = AutoencoderDetector(features=FEATURES, policy="fit_all", threshold={"method": "top_k", "value": 4},
                              **FAST_AE).detect(table, run_ctx(tmp_path))
    new = tmp_path / "new.parquet"
    table.data.to_parquet(new)
    summary = score_saved_model(tmp_path / "run" / "models" / "det", new, tmp_path / "scored")
    scored = pd.read_parquet(tmp_path / "scored" / "scored.parquet")
    np.testing.assert_array_equal(scored["score_det"].to_numpy(), out.score)
    np.testing.assert_array_equal(scored["flag_det"].to_numpy(), out.flag)
    assert summary["flagged"] == 4 and summary["threshold"]["cut"] == out.summary["threshold"]["cut"]
    flagged = pd.read_parquet(tmp_path / "scored" / "flagged.parquet")
    assert len(flagged) == 4 and flagged["score_det"].is_monotonic_decreasing
    assert json.loads((tmp_path / "scored" / "score_summary.json").read_text())["rows"] == N
    assert not list((tmp_path / "scored").glob(".*partial*"))
    # a CSV works too, a new threshold can be asked for, and an existing output is refused without force
    table.data.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(ToolkitError, match="--force"):
        score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "new.csv", tmp_path / "scored")
    s2 = score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "new.csv", tmp_path / "scored",
                           threshold={"method": "top_k", "value": 10}, force=True)
    assert s2["flagged"] == 10


def test_score_saved_model_refuses_table_without_the_features(tmp_path):
    PCADetector(features=FEATURES, policy="fit_all").detect(make_table(), run_ctx(tmp_path))
    make_table().data.drop(columns=["c", "d"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(StageError, match=r"lacks the feature column\(s\).*'c', 'd'"):
        score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "bad.parquet", tmp_path / "out")
    assert not (tmp_path / "out" / "scored.parquet").exists()


def test_load_model_on_a_folder_without_model_json(tmp_path):
    with pytest.raises(ToolkitError, match="model.json is missing"):
        load_model(tmp_path)


@pytest.mark.slow
def test_scoring_is_chunk_pure(tmp_path):
    table = make_table()
    out = AutoencoderDetector(features=FEATURES, folds=2, **FAST_AE).detect(table, run_ctx(tmp_path))
    model, _ = load_model(tmp_path / "run" / "models" / "det")
    with_folds = table.with_columns(out.columns)
    whole = model.score(with_folds)
    np.testing.assert_array_equal(whole, np.concatenate([model.score(p) for p in with_folds.split(3)]))
    np.testing.assert_array_equal(whole, out.score)


def test_vae_elbo_score_adds_the_kl_term():
    from toolkit.plugins.detectors.vae import VAEEstimator

    X = make_table().data[FEATURES].to_numpy()
    est = VAEEstimator([6], 2, beta=1.0, epochs=3, batch_size=64).fit((X - X.mean(0)) / X.std(0), seed=0)
    recon = est.score_samples(X)
    est.score = "elbo"
    elbo = est.score_samples(X)
    assert np.all(elbo >= recon) and np.any(elbo > recon)


def test_threshold_option_for_the_cli():
    from toolkit.plugins.detectors.saved import parse_threshold_option

    assert parse_threshold_option("top_fraction:0.02")["value"] == 0.02
    assert parse_threshold_option("none")["method"] == "none"
    assert parse_threshold_option(None) is None
    with pytest.raises(ToolkitError, match="METHOD:VALUE"):
        parse_threshold_option("top_fraction:7")


def test_score_saved_model_keeps_the_id_column_only_when_present(tmp_path):
    t = make_table()
    t.data.insert(0, "source_id", np.arange(N) + 10**15)
    t = Table(t.data, t.info, "source_id")
    PCADetector(features=FEATURES, policy="fit_all").detect(t, run_ctx(tmp_path))
    t.data.to_parquet(tmp_path / "with_id.parquet")
    t.data.drop(columns=["source_id"]).to_parquet(tmp_path / "no_id.parquet")
    score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "with_id.parquet", tmp_path / "o1")
    score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "no_id.parquet", tmp_path / "o2")
    assert pd.read_parquet(tmp_path / "o1" / "scored.parquet")["source_id"].iloc[0] == 10**15
    out2 = pd.read_parquet(tmp_path / "o2" / "scored.parquet")
    assert "source_id" not in out2 and "row_id" in out2


def test_rescoring_a_scored_table_keeps_its_scores(tmp_path):
    table = make_table()
    PCADetector(features=FEATURES, policy="fit_all").detect(table, run_ctx(tmp_path))
    df = table.data.assign(score_det=-1.0, flag_det=False)
    df.to_parquet(tmp_path / "scored_run.parquet")
    summary = score_saved_model(tmp_path / "run" / "models" / "det", tmp_path / "scored_run.parquet", tmp_path / "o")
    out = pd.read_parquet(tmp_path / "o" / "scored.parquet")
    assert summary["score_column"] == "score_det_rescored" and (out["score_det"] == -1).all()
    assert np.isfinite(out["score_det_rescored"]).all()


@pytest.mark.parametrize("model", ["ECOD", "COPOD"])
def test_tail_models_score_each_row_as_pyod_scores_it_alone(model):
    """PyOD's ECOD/COPOD rank a batch among the training rows and the rest of the batch; the toolkit's
    closed form gives every row the score PyOD gives it on its own, so any chunking gives the same scores."""
    pytest.importorskip("pyod")
    from toolkit.plugins.detectors.baselines import PyODEstimator

    rng = np.random.default_rng(3)
    X_train = rng.exponential(size=(300, 3)) * [1.0, 2.0, 0.5]     # skewed: the skewness signs are clear
    X_new = np.vstack([rng.exponential(size=(40, 3)), [[9.0, 0.0, 4.0]]])
    est = PyODEstimator(model).fit(X_train, seed=0)
    ours = est.score_samples(X_new)
    reference = pyod_class(model)().fit(X_train)
    alone = np.array([reference.decision_function(x[None, :])[0] for x in X_new])
    np.testing.assert_allclose(ours, alone, rtol=1e-12)
    assert not np.allclose(reference.decision_function(X_new), alone)     # PyOD's batch scores differ
    np.testing.assert_array_equal(np.concatenate([est.score_samples(X_new[:7]), est.score_samples(X_new[7:])]),
                                  ours)
    assert np.argmax(ours) == len(X_new) - 1
    state = est.get_state()
    assert "objects" not in state                                    # arrays only: nothing to unpickle
    again = PyODEstimator.from_state(state)
    np.testing.assert_array_equal(again.score_samples(X_new), ours)
