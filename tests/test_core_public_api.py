"""Issue 13 parts 1 and 7: the helpers plugin authors get from ``toolkit.core`` (a column in a unit,
the score/flag pairing, recorded inputs, the shared frame, row-wise output checks), recipe paths
relative to the recipe file, and what a plugin crash prints (with and without --traceback)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from core_helpers import SIMPLE, make_registry, plugin_module, registry_with, write_recipe
from toolkit.core import (ColumnInfo, Columns, Feature, RunContext, StageError, Table, column_in,
                          flag_column, flag_for, get_registry, quantity_in, score_column, score_for, step_of)
from toolkit.core.recipe import load_recipe
from toolkit.core.run import execute
from toolkit.core.testing import assert_chunk_pure, run_rowwise


def _table(unit):
    t = Table(pd.DataFrame({"d": [100.0, 2000.0]}))
    t.info["d"] = ColumnInfo(unit)
    return t


# -- a column in a unit ---------------------------------------------------------------------------

def test_column_in_converts_and_takes_unitless_columns_in_the_default():
    assert column_in(_table("kpc"), "d", "pc").tolist() == [1e5, 2e6]
    assert column_in(_table(None), "d", "pc").tolist() == [100.0, 2000.0]                     # taken as asked
    assert column_in(_table(None), "d", "kpc", default_unit="pc").tolist() == [0.1, 2.0]      # a stated default
    assert str(quantity_in(_table("pc"), "d", "kpc").unit) == "kpc"
    with pytest.raises(StageError, match=r"stage 'orbits': column 'd' carries no unit.*length_unit"):
        column_in(_table(None), "d", "kpc", default_unit=None, stage="orbits", hint="set `length_unit`")
    with pytest.raises(StageError, match=r"column 'd' has unit 'km / s', which cannot be converted to 'pc'"):
        column_in(_table("km / s"), "d", "pc", stage="x")
    with pytest.raises(StageError, match="missing column"):
        column_in(_table("pc"), "distance", "pc", stage="x")


# -- score/flag pairing ---------------------------------------------------------------------------

def test_score_and_flag_columns_pair_through_one_helper():
    assert (score_column("ae"), flag_column("ae")) == ("score_ae", "flag_ae")
    assert flag_for("score_ae") == "flag_ae" and score_for("flag_ae") == "score_ae"
    assert flag_for("ae") is None and score_for("score_ae") is None
    assert step_of("flag_iforest") == "iforest" and step_of("parallax") is None


# -- recorded inputs and the frame ------------------------------------------------------------------

def test_record_input_hashes_the_file_and_reaches_the_manifest(tmp_path):
    import hashlib

    f = tmp_path / "labels.csv"
    f.write_text("id,label\n1,interesting\n")
    ctx = RunContext(show_progress=False)
    assert ctx.record_input(f) == hashlib.sha256(f.read_bytes()).hexdigest() == ctx.inputs[str(f)]

    class Reads(Feature):
        name, summary, row_wise = "test.reads", "records an input", True

        def compute(self, table, ctx):
            ctx.record_input(f)
            return Columns().add("one", np.ones(len(table)))

    reg = registry_with(("t", plugin_module(Reads, hook="toolkit_register_features")))
    reg.entries.update(make_registry().entries)
    recipe = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("features:\n", "features:\n  - {use: test.reads}\n"))
    _, manifest = execute(recipe, tmp_path / "run", registry=reg, show_progress=False)
    assert manifest["inputs"][str(f)] == ctx.inputs[str(f)]


def test_galactocentric_sets_a_typed_frame_that_orbits_reads():
    from toolkit.core import Frame

    reg = get_registry()
    feat = reg.get("gaia.galactocentric").cls(galcen_distance=8.1, z_sun=0.0)
    t = Table(pd.DataFrame({"ra": [10.0], "dec": [-5.0], "distance": [50.0], "pmra": [10.0], "pmdec": [-3.0],
                            "radial_velocity": [20.0]}))
    t.info.update(ra=ColumnInfo("deg"), dec=ColumnInfo("deg"), distance=ColumnInfo("pc"),
                  pmra=ColumnInfo("mas / yr"), pmdec=ColumnInfo("mas / yr"), radial_velocity=ColumnInfo("km / s"))
    ctx = RunContext(show_progress=False)
    ctx.step = "features.galcen"
    feat.compute(t, ctx)
    assert isinstance(ctx.frame, Frame) and ctx.frame.recorded_by == "features.galcen"
    assert ctx.frame.parameters["galcen_distance_kpc"] == 8.1 == ctx.notes["features.galcen"]["frame"]["galcen_distance_kpc"]


# -- row-wise output of the wrong length ---------------------------------------------------------------

class ShortFeature(Feature):
    name, summary, row_wise = "test.short", "drops a row (a bug)", True

    def compute(self, table, ctx):
        return Columns().add("x", np.arange(len(table) - 1, dtype=float))


def test_a_wrong_length_feature_is_named_not_a_broadcast_error():
    t = Table(pd.DataFrame({"a": np.arange(9.0)}))
    with pytest.raises(AssertionError, match=r"feature 'test.short': column 'x' has 8 values for 9 rows"):
        assert_chunk_pure(ShortFeature(), t)
    assert list(run_rowwise(get_registry().get("expr.cut").cls(expr="a > 3"), t, RunContext()).columns) == ["mask"]


# -- recipe paths -------------------------------------------------------------------------------------

def _recipe_with_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "stars.csv").write_text("a,b\n1,2\n3,4\n")
    return write_recipe(folder / "recipe.yaml", """
        name: paths
        source: {use: table.file, with: {path: stars.csv}}
        validators:
          - use: catalogs.match
            with: {catalogs: [{use: catalogs.file, with: {path: known/list.csv}}]}
        """), folder


def test_recipe_paths_resolve_against_the_recipe_folder_not_the_working_directory(tmp_path, monkeypatch):
    recipe, folder = _recipe_with_file(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = load_recipe(recipe, get_registry())
    assert r.source.component.config.path == folder / "stars.csv"
    (short, catalog), = r.steps["validators"][0].component.catalogs
    assert catalog.config.path == folder / "known" / "list.csv"
    resolved = r.resolved()   # written into the run folder: it reruns from anywhere
    assert resolved["source"]["with"]["path"] == str(folder / "stars.csv")
    assert resolved["validators"][0]["with"]["catalogs"][0]["with"]["path"] == str(folder / "known" / "list.csv")
    # --set values are the user's typing in a shell: relative to the working directory
    r = load_recipe(recipe, get_registry(), ["source.with.path=mine.csv"])
    assert r.source.component.config.path == elsewhere / "mine.csv"
    r = load_recipe(recipe, get_registry(), ["source={use: table.file, with: {path: other.csv}}"])
    assert r.source.component.config.path == elsewhere / "other.csv"
    r = load_recipe(recipe, get_registry(), ["validators.0.with.catalogs.0.with.path=k.csv"])
    assert r.steps["validators"][0].component.catalogs[0][1].config.path == elsewhere / "k.csv"


def test_a_missing_file_says_where_it_looked(tmp_path, monkeypatch):
    from toolkit.core.cli import app

    recipe, folder = _recipe_with_file(tmp_path)
    (folder / "stars.csv").unlink()
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "run")])
    text = "".join(res.output.split())   # rich wraps long paths
    assert res.exit_code == 2 and f"'{folder / 'stars.csv'}'doesnotexist" in text   # the absolute path looked for
    res = CliRunner().invoke(app, ["check", "no_such_recipe.yaml"])
    assert res.exit_code == 2 and str(tmp_path / "no_such_recipe.yaml") in "".join(res.output.split())


# -- a plugin crash -----------------------------------------------------------------------------------------

def _crash(self, table, ctx):
    return {"x": 1} ["y"]   # a plugin bug: KeyError


def test_a_plugin_crash_names_plugin_step_and_line_and_traceback_shows_the_frames(tmp_path, monkeypatch):
    from toolkit.core.cli import app

    cls = get_registry().get("expr.feature").cls
    monkeypatch.setattr(cls, "compute", _crash)
    recipe = write_recipe(tmp_path / "r.yaml", """
        name: crash
        source: {use: gaia.mock, with: {n_stars: 200}}
        features:
          - {use: expr.feature, name: boom, with: {columns: {y: "parallax * 2"}}}
        """)
    monkeypatch.delenv("TOOLKIT_TRACEBACK", raising=False)
    res = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "a")])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "plugin 'toolkit.expr' failed in features" in text and "'boom'" in text and "expr.feature" in text
    assert "test_core_public_api.py:" in text and "in _crash" in text and "KeyError" in text
    assert "Traceback (most recent call last)" not in res.output and "--traceback" in text
    res = CliRunner().invoke(app, ["--traceback", "run", str(recipe), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "Traceback (most recent call last)" in res.output and "_crash" in res.output
    monkeypatch.setenv("TOOLKIT_TRACEBACK", "1")
    res = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "Traceback (most recent call last)" in res.output
