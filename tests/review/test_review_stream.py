"""The re-rankers on the fit/score contract: streamed = in memory, `toolkit score` repeats them, labelled
stars reach the learner whatever the sample holds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from review_mock import SMALL_RUN

QUIET = Console(stderr=True, quiet=True)


def label_top(run, n=20):
    """Label the base run's top ``n`` stars from the mock's truth (interesting = halo or hypervelocity)."""
    from toolkit.plugins.review.labels import LabelStore

    scored = pd.read_parquet(run / "scored.parquet")
    top = scored.sort_values("score_ae", ascending=False).head(n)
    store = LabelStore(run)
    for sid, pop in zip(top["source_id"], top["truth_population"]):
        store.set(int(sid), "interesting" if pop in ("halo", "hypervelocity") else "boring")
    # one star from the bottom of the ranking: never in the re-rank pool by its score, still learnt from
    low = scored.sort_values("score_ae").iloc[0]
    store.set(int(low["source_id"]), "boring")
    return top


def rerank_recipe(run, tmp_path):
    from toolkit.core.recipe import builtin_recipes

    recipe = yaml.safe_load(builtin_recipes()["gaia_kinematic"].read_text())
    feats = recipe["detectors"][0]["with"]["features"]
    recipe["detectors"] += [
        {"use": "review.relevance", "name": "relevance", "with": {"base": "ae", "labels": str(run),
                                                                  "features": feats}},
        {"use": "review.active_forest", "name": "forest", "with": {"base": "ae", "labels": str(run),
                                                                   "features": feats, "top_k": 40}},
    ]
    path = tmp_path / "rerank.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def scored(path):
    return pd.read_parquet(path / "scored.parquet") if (path / "scored.parquet").exists() \
        else pd.read_parquet(path / "scored")


@pytest.mark.slow
def test_review_recipe_streams_with_the_in_memory_answers(review_run, tmp_path):
    from toolkit.core.run import execute
    from toolkit.plugins.detectors.saved import score_saved_model

    label_top(review_run)
    recipe = rerank_recipe(review_run, tmp_path)
    sets = [*SMALL_RUN, "validators=[]"]
    mem, m1 = execute(recipe, tmp_path / "mem", sets, console=QUIET, show_progress=False)
    stream, m2 = execute(recipe, tmp_path / "stream", sets, console=QUIET, show_progress=False,
                         executor="stream", chunk_rows=1_700)
    a, b = scored(mem), scored(stream)
    for step in ("ae", "relevance", "forest"):
        np.testing.assert_array_equal(a[f"score_{step}"], b[f"score_{step}"])
        np.testing.assert_array_equal(a[f"flag_{step}"], b[f"flag_{step}"])
    assert m2["executor"]["chunks"] == 4
    assert m1["detectors"]["relevance"]["n_flagged"] == m1["detectors"]["ae"]["n_flagged"]
    assert m2["detectors"]["forest"]["n_flagged"] == 40
    # all 21 labels used, the low-scoring one included (it came in through fit_rows, not the sample)
    assert m2["detectors"]["relevance"]["labels"]["n_used"] == 21
    # the learnt answers lead: the labelled interesting stars are the relevance ranking's top
    labels = pd.read_parquet(review_run / "labels.parquet")
    good = set(labels.loc[labels["label"] == "interesting", "id"])
    assert set(b.sort_values("score_relevance", ascending=False).head(len(good))["source_id"]) == good
    # a saved re-ranker gives back the run's scores and flags (refitted from its arrays, nothing unpickled)
    for step in ("relevance", "forest"):
        score_saved_model(stream / "models" / step, stream / "scored", tmp_path / f"re_{step}")
        out = pd.read_parquet(tmp_path / f"re_{step}" / "scored.parquet")
        np.testing.assert_array_equal(out[f"score_{step}_rescored"], out[f"score_{step}"])
        np.testing.assert_array_equal(out[f"flag_{step}_rescored"], out[f"flag_{step}"])


def test_fitted_rerank_is_chunk_pure_and_saves(review_run, tmp_path, monkeypatch):
    """Scores of any split of the rows equal the whole's; a saved model scores the same after loading."""
    from toolkit.core import RunContext, Table
    from toolkit.core.models import ModelFiles, save_model
    from toolkit.plugins.review.detectors import ActiveForestRerank, RelevanceRerank

    top = label_top(review_run)
    table = Table(pd.read_parquet(review_run / "scored.parquet"), id_column="source_id")
    feats = ["M_G", "v_x", "v_y", "v_z"]
    for cls in (RelevanceRerank, ActiveForestRerank):
        det = cls(base="ae", labels=str(review_run), features=feats, max_train_rows=2_000)
        ctx = RunContext(seed=5, show_progress=False)
        d = det.detect(table, ctx)
        fitted = d.fitted
        assert d.summary["labels"]["n_used"] == 21 and d.summary["sample_rows"] == 2_000
        parts = np.concatenate([fitted.score(p) for p in table.split(7)])
        np.testing.assert_array_equal(parts, d.score)
        assert int(d.flag.sum()) == int(table.data["flag_ae"].sum())   # as many as the base flagged
        folder = save_model(fitted, tmp_path / cls.method, {"component": cls.name, "features": fitted.features})
        assert not list(folder.glob("*.pkl"))
        doc = json.loads((folder / "model.json").read_text())
        again = cls.load(ModelFiles(folder, doc["files"]), doc["state"])
        np.testing.assert_array_equal(again.score(table), d.score)
    # a pool smaller than the table (the whole-table re-rank's 20,000 of a larger table): rows outside
    # it keep the base order below every pool row
    monkeypatch.setattr("toolkit.plugins.review.fitted.POOL", 600)
    for cls in (RelevanceRerank, ActiveForestRerank):
        d = cls(base="ae", labels=str(review_run), features=feats).detect(table, RunContext(seed=5, show_progress=False))
        assert d.summary["pool"] == 600
        score = d.score
        base = table.data["score_ae"].to_numpy()
        outside = score < -0.5
        assert 4_500 < outside.sum() < 5_700      # about 600 of 6,000 rows (plus the labelled ones) in the pool
        assert score[outside].max() < score[~outside].min()
        order = np.argsort(base[outside], kind="stable")
        assert np.all(np.diff(score[outside][order]) >= 0)
    assert len(top) == 20


def test_labels_that_name_no_star_fail_in_fit(review_run, tmp_path):
    from toolkit.core import RunContext, StageError, Table
    from toolkit.plugins.review.detectors import RelevanceRerank

    table = Table(pd.read_parquet(review_run / "scored.parquet"), id_column="source_id")
    bad = tmp_path / "labels.csv"
    bad.write_text("id,label\n1,boring\n")
    with pytest.raises(StageError, match="none of the 1 labels"):
        RelevanceRerank(base="ae", labels=str(bad), features=["v_x"]).fit(table, RunContext(show_progress=False))
