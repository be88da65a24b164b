"""The runner and the run folder: outputs, errors, atomicity, determinism."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table as ATable

from core_helpers import SIMPLE, frame, make_registry, write_recipe
from toolkit.core import (Feature, PluginError, RunContext, StageError, ToolkitError, hookimpl)
from toolkit.core.run import execute
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.expr.expression import ExpressionCut, ExpressionFeature


@pytest.fixture(scope="module")
def registry():
    return make_registry()


def run(tmp_path, registry, body=SIMPLE, out="run", **kw):
    recipe = write_recipe(tmp_path / "recipe.yaml", body)
    return execute(recipe, tmp_path / out, registry=registry, show_progress=False, **kw)


def test_run_folder_has_everything(tmp_path, registry):
    path, manifest = run(tmp_path, registry, formats=["fits", "votable", "csv"])
    names = {p.name for p in path.iterdir()}
    assert {"scored.parquet", "candidates.parquet", "cutflow.csv", "manifest.json", "report.html",
            "recipe.resolved.yaml", "candidates.fits", "candidates.vot", "candidates.csv"} <= names
    scored = ATable.read(path / "scored.parquet")
    assert {"score_dist", "flag_dist", "ab", "row_id"} <= set(scored.colnames)
    assert str(scored["ab"].unit) == "km pc / s" and str(scored["a"].unit) == "km / s"
    assert "higher = more anomalous" in scored["score_dist"].description
    cands = ATable.read(path / "candidates.fits")
    assert len(cands) == manifest["rows"]["candidates"] == int(scored["flag_dist"].sum()) > 0
    assert str(cands["a"].unit) == "km / s"
    assert np.all(np.diff(cands["score_dist"]) <= 0), "candidates are sorted, most anomalous first"
    assert len(ATable.read(path / "candidates.vot")) == len(cands)
    m = json.loads((path / "manifest.json").read_text())
    assert m["mock"] is True and "simulated" in m["data_warning"]
    assert m["seed"] == 5 and m["recipe"]["detectors"][0]["with"]["cut"] == 5.0
    assert m["rows"] == {"source": 400, "after_cuts": 400, "candidates": len(cands)}
    assert m["versions"]["numpy"] and m["versions"]["astropy"] and m["plugins"]["toolkit.expr"]
    assert set(m["timings_s"]) >= {"source.labelled", "cuts.finite", "features.feature", "detectors.dist", "total"}
    assert m["inputs"][str(tmp_path / "recipe.yaml")]
    truth = m["truth_recovery"]["dist"]
    assert truth["outlier"]["roc_auc"] > 0.95 and truth["outlier"]["recall"] == 1.0
    assert truth["anomalous"]["n"] == 10
    html = (path / "report.html").read_text()
    assert "MOCK DATA" in html and "Cut-flow" in html and "outlier" in html
    assert pd.read_csv(path / "cutflow.csv").to_dict("records")[0]["rows_in"] == 400


def test_same_seed_gives_identical_scores(tmp_path, registry):
    a, _ = run(tmp_path, registry, out="a")
    b, _ = run(tmp_path, registry, out="b")
    c, _ = run(tmp_path, registry, out="c", seed=6)
    sa, sb, sc = (ATable.read(p / "scored.parquet")["score_dist"] for p in (a, b, c))
    assert np.array_equal(sa, sb)
    assert not np.array_equal(sa, sc)


def test_existing_output_folder_needs_force(tmp_path, registry):
    run(tmp_path, registry)
    with pytest.raises(ToolkitError, match="already exists.*--force"):
        run(tmp_path, registry)
    path, _ = run(tmp_path, registry, force=True, overrides=["detectors.0.with.cut=1"])
    assert json.loads((path / "manifest.json").read_text())["overrides"] == ["detectors.0.with.cut=1"]


class Exploding(Feature):
    name = "test.explode"
    summary = "Raises, like a buggy plugin."

    def compute(self, table, ctx):
        raise ZeroDivisionError("plugin bug")


class explode_plugin:
    @hookimpl
    def toolkit_register_features(register):
        register(Exploding)


def test_a_plugin_that_raises_is_named_and_earlier_runs_are_untouched(tmp_path, registry):
    path, _ = run(tmp_path, registry)
    before = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    registry.pm.register(explode_plugin, name="exploding.plugin")
    try:
        reg2 = type(registry)(registry.pm)
    finally:
        registry.pm.unregister(name="exploding.plugin")
    body = SIMPLE.replace("features:\n", "features:\n  - {use: test.explode}\n")
    with pytest.raises(PluginError) as exc:
        run(tmp_path, reg2, body=body, force=True)
    msg = str(exc.value)
    assert "plugin 'exploding.plugin'" in msg and "test.explode" in msg and "ZeroDivisionError: plugin bug" in msg
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["recipe.yaml", "run"], "no staging folder is left behind"


def test_missing_column_names_stage_column_and_available(tmp_path, registry):
    body = SIMPLE.replace('"isfinite(a) and isfinite(b)"', '"parallax > 10"')
    with pytest.raises(StageError) as exc:
        run(tmp_path, registry, body=body)
    msg = str(exc.value)
    assert "cuts.0 'finite'" in msg and "missing column(s) 'parallax'" in msg and "Available columns: row_id, a, b" in msg
    assert not (tmp_path / "run").exists()


def test_empty_table_after_cuts_is_a_clear_error(tmp_path, registry):
    body = SIMPLE.replace('"isfinite(a) and isfinite(b)"', '"a > 1000"')
    with pytest.raises(StageError) as exc:
        run(tmp_path, registry, body=body)
    assert "no rows left after the cuts (400 rows from the source)" in str(exc.value)
    assert "finite: 400 -> 0" in str(exc.value)


def test_rejected_rows_carry_the_cut_that_removed_them(tmp_path, registry):
    body = SIMPLE.replace('"isfinite(a) and isfinite(b)"', '"a < 3"') + "output: {write_rejected: true}\n"
    path, m = run(tmp_path, registry, body=body)
    rejected = ATable.read(path / "rejected.parquet")
    assert len(rejected) == m["cutflow"][0]["removed"] >= 10
    assert set(rejected["rejected_by"]) == {"finite"}


def test_rowwise_builtins_are_chunk_pure():
    t = frame(a=np.linspace(-3, 3, 31), b=np.arange(31.0), q=np.array(["x", "y", "z"] * 10 + ["x"], dtype=object))
    assert_chunk_pure(ExpressionCut(expr="a > 0 and q == 'x'"), t, n_chunks=4)
    assert_chunk_pure(ExpressionFeature(columns={"c": "a * b", "d": "c + 1"}), t, n_chunks=5)


def test_expression_feature_can_use_earlier_new_columns():
    out = ExpressionFeature(columns={"c": "a * 2", "d": "c + b"}, units={"c": "km"}).compute(
        frame(a=np.array([1.0, 2.0]), b=np.array([0.5, 0.5])), RunContext())
    assert list(out.data["d"]) == [2.5, 4.5] and out.info["c"].unit == "km"


def test_cuts_marked_after_features_see_derived_columns(tmp_path, registry):
    body = SIMPLE.replace("cuts:\n", "cuts:\n  - {use: expr.cut, name: small_ab, after_features: true, with: {expr: 'ab < 10'}}\n")
    body += "output: {write_rejected: true}\n"
    path, m = run(tmp_path, registry, body=body)
    flow = m["cutflow"]
    assert [r["step"] for r in flow] == ["finite", "small_ab"] and flow[1]["after_features"] is True
    scored = ATable.read(path / "scored.parquet")
    assert len(scored) == flow[1]["rows_out"] < 400 and np.all(scored["ab"] < 10)
    rejected = ATable.read(path / "rejected.parquet")
    assert set(rejected["rejected_by"]) == {"small_ab"} and len(rejected) == flow[1]["removed"]
    assert "ab" not in rejected.colnames, "rejected rows are the source's rows, as read"


def test_only_cuts_may_run_after_features(tmp_path, registry):
    from toolkit.core import RecipeError
    from toolkit.core.recipe import load_recipe

    body = SIMPLE.replace("  - {use: expr.feature,", "  - {after_features: true, use: expr.feature,")
    with pytest.raises(RecipeError, match="only a cut may run after the features"):
        load_recipe(write_recipe(tmp_path / "r.yaml", body), registry)


def test_derived_tables_own_their_column_infos():
    from toolkit.core import ColumnInfo, Table

    t = Table(pd.DataFrame({"a": [1.0, 2.0]}), {"a": ColumnInfo("pc")})
    part = t.take(np.array([True, False]))
    part.info["a"].unit = "kpc"
    assert t.info["a"].unit == "pc"
