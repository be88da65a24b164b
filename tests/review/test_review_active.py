"""Learning from labels: the two re-rankers, the simulated expert, and labels in a run's manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.core import ToolkitError
from toolkit.plugins.review.expert import SimulatedExpert, active_learning
from toolkit.plugins.review.rerank import Reranker


def two_kinds_of_outlier(seed=0, n=4000):
    """A bulk, 60 'interesting' outliers (far in features 0-1) and 120 'boring' ones (far in feature 2);
    the unsupervised score finds both, the boring ones slightly higher."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    truth = np.array(["thin_disc"] * n, dtype=object)
    good, dull = np.arange(60), np.arange(60, 180)
    X[good, :2] += rng.normal(5, 1, size=(60, 2))
    X[dull, 2] += rng.normal(6, 1, size=120)
    truth[good] = "halo"
    score = np.linalg.norm(X, axis=1) + np.where(np.isin(np.arange(n), dull), 1.0, 0.0)
    return X, score, truth


@pytest.mark.parametrize("strategy", ["shortlist", "top"])
@pytest.mark.parametrize("method", ["relevance", "active_forest"])
def test_labels_lift_the_interesting_stars(method, strategy):
    X, score, truth = two_kinds_of_outlier()
    expert = SimulatedExpert(truth)
    reranker = Reranker(X, score, seed=1, budget=60)
    before = expert.count_interesting(score, 60)
    curve = active_learning(reranker, expert, method, budgets=(20, 40), batch=10, top=60, strategy=strategy)
    assert before < 30
    assert curve[-1]["interesting_in_top"] >= before + 15, curve
    with pytest.raises(ValueError, match="unknown strategy"):
        active_learning(reranker, expert, method, strategy="psychic")


def test_reranks_are_deterministic_and_keep_labelled_answers():
    X, score, truth = two_kinds_of_outlier()
    rows = np.arange(50, 80)   # 10 interesting, 20 boring
    rel = np.where(truth[rows] == "halo", 1.0, 0.0)
    for method in ("relevance", "active_forest"):
        a = Reranker(X, score, seed=3).rerank(method, rows, rel)
        b = Reranker(X, score, seed=3).rerank(method, rows, rel)
        assert np.array_equal(a, b)
    a = Reranker(X, score, seed=3).rerank("relevance", rows, rel)
    top = np.argsort(-a)[:10]
    assert set(top) == set(rows[rel == 1])            # labelled interesting stars lead the list
    with pytest.raises(ValueError, match="unknown re-rank method"):
        Reranker(X, score).rerank("magic", rows, rel)


def test_pool_keeps_unscored_rows_below_in_unsupervised_order():
    X, score, truth = two_kinds_of_outlier(n=3000)
    r = Reranker(X, score, seed=0, pool=500)
    rows = np.array([int(np.argmin(score)), 0, 70])   # one labelled star far outside the pool
    out = r.rerank("relevance", rows, np.array([1.0, 1.0, 0.0]))
    inside = np.zeros(len(X), bool)
    inside[r.pool] = True
    inside[rows] = True
    assert out[~inside].max() < out[inside].min()
    rest = np.nonzero(~inside)[0]
    assert np.array_equal(np.argsort(out[rest]), np.argsort(score[rest]))
    assert out[rows[0]] > np.median(out[r.pool])      # a labelled interesting star rises from anywhere


def test_simulated_expert_answers_from_truth():
    ex = SimulatedExpert(["halo", "thin_disc", "hypervelocity", "thick_disc", "white_dwarf"])
    assert ex.label([0, 1, 2, 3, 4]) == ["interesting", "boring", "interesting", "boring", "boring"]
    with pytest.raises(ToolkitError, match="needs the mock's 'truth_population'"):
        SimulatedExpert.from_frame(pd.DataFrame({"x": [1]}))


@pytest.mark.slow
def test_a_recipe_reranks_with_a_previous_runs_labels(review_run, tmp_path):
    """review.relevance and review.active_forest in a recipe; the labelled rows go into the manifest."""
    from rich.console import Console

    from toolkit.core.recipe import builtin_recipes
    from toolkit.core.run import execute
    from toolkit.plugins.review.labels import LabelStore

    from review_mock import SMALL_RUN

    scored = pd.read_parquet(review_run / "scored.parquet")
    top = scored.sort_values("score_ae", ascending=False).head(20)
    store = LabelStore(review_run)
    for sid, pop in zip(top["source_id"], top["truth_population"]):
        store.set(int(sid), "interesting" if pop in ("halo", "hypervelocity") else "boring")
    store.set(123, "boring")    # a star that is not in the sample: counted, not used
    recipe = yaml.safe_load(builtin_recipes()["gaia_kinematic"].read_text())
    feats = recipe["detectors"][0]["with"]["features"]
    recipe["detectors"] += [
        {"use": "review.relevance", "name": "relevance", "with": {"base": "ae", "labels": str(review_run),
                                                                  "features": feats}},
        {"use": "review.active_forest", "name": "forest", "with": {"base": "ae", "labels": str(review_run),
                                                                   "features": feats, "top_k": 50}},
    ]
    path = tmp_path / "rerank.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out, manifest = execute(path, tmp_path / "run2", SMALL_RUN, console=Console(stderr=True, quiet=True),
                            show_progress=False)
    for step in ("relevance", "forest"):
        labels = manifest["detectors"][step]["labels"]
        assert labels["n_used"] == 20 and labels["n_not_in_table"] == 1 and labels["n_in_file"] == 21
        assert {r["id"] for r in labels["rows"]} == {str(s) for s in top["source_id"]}
        assert "Lochner" in manifest["detectors"]["relevance"]["citation"]
    assert manifest["detectors"]["forest"]["n_flagged"] == 50
    assert manifest["detectors"]["relevance"]["n_flagged"] == manifest["detectors"]["ae"]["n_flagged"]
    again = pd.read_parquet(out / "scored.parquet")
    interesting = set(top.loc[top["truth_population"].isin(["halo", "hypervelocity"]), "source_id"])
    lead = set(again.sort_values("score_relevance", ascending=False).head(len(interesting))["source_id"])
    assert lead == interesting
    json.dumps(manifest)


def test_bad_labels_in_a_recipe_name_the_file(review_run, tmp_path):
    from toolkit.core import RunContext, StageError, Table
    from toolkit.plugins.review.detectors import RelevanceRerank

    table = Table(pd.read_parquet(review_run / "scored.parquet"), id_column="source_id")
    bad = tmp_path / "labels.csv"
    bad.write_text("id,label\n1,superb\n")
    det = RelevanceRerank(base="ae", labels=str(bad), features=["v_x", "v_y"])
    with pytest.raises(StageError, match=r"labels\.csv: unknown label"):
        det.detect(table, RunContext(show_progress=False))
    bad.write_text("id,label\n1,boring\n")
    with pytest.raises(StageError, match="none of the 1 labels"):
        det.detect(table, RunContext(show_progress=False))
