"""The Python API (toolkit.run, toolkit.load_run) and the notebook-style page that documents it."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import toolkit
from toolkit.core import RecipeError, ToolkitError
from toolkit.core.python_api import MockDataWarning, _overrides

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "docs" / "examples" / "python_api.py"


def test_overrides_from_python_values_and_from_text():
    assert _overrides({"detectors.0.with.epochs": 5, "source.with.path": "a b.fits"}) == [
        "detectors.0.with.epochs=5", 'source.with.path="a b.fits"']
    assert _overrides({"x": {"use": "gaia.mock", "with": {"n_stars": 10}}}) == [
        'x={"use": "gaia.mock", "with": {"n_stars": 10}}']
    assert _overrides(["a=1", "b=2"]) == ["a=1", "b=2"] and _overrides("a=1") == ["a=1"] and _overrides(None) == []
    with pytest.raises(ToolkitError, match="dotted recipe paths"):
        _overrides({"": 1})
    with pytest.raises(ValueError):
        _overrides({"a": float("nan")})           # NaN is never a parameter value


def test_errors_are_toolkit_errors_not_system_exit(tmp_path):
    with pytest.raises(RecipeError, match="nope.yaml' does not exist"):
        toolkit.run(tmp_path / "nope.yaml")
    with pytest.raises(ToolkitError, match="not a toolkit run folder"):
        toolkit.load_run(tmp_path)
    with pytest.raises(ToolkitError, match="is not a folder"):
        toolkit.load_run(tmp_path / "missing")
    with pytest.raises(ToolkitError, match="--executor 'gpu'"):
        toolkit.run("cluster_membership", out=tmp_path / "x", executor="gpu")
    assert not (tmp_path / "x").exists()


def test_run_returns_tables_with_units_manifest_and_figures(tmp_path):
    with pytest.warns(MockDataWarning, match="MOCK DATA: This run used simulated stars"):
        run = toolkit.run("cluster_membership", out=tmp_path / "cm", set={"detectors.0.with.n_components": 5},
                          seed=5)
    assert run.folder == tmp_path / "cm" and run.seed == 5 and run.is_mock
    assert run.recipe["detectors"][0]["with"]["n_components"] == 5
    assert run.manifest["rows"]["candidates"] == len(run.candidates) > 0
    assert len(run.scored) == run.manifest["rows"]["after_cuts"]
    assert str(run.scored["pmra"].unit) == "mas / yr" and str(run.candidates["ra"].unit) == "deg"
    assert run.figures and all(p.is_file() and p.suffix == ".png" for p in run.figures)
    assert set(run.model_dirs) == {"gmm"} and (run.model_dirs["gmm"] / "model.json").is_file()
    assert list(run.cutflow["step"]) == [c["step"] for c in run.manifest["cutflow"]]
    assert "MOCK DATA" in repr(run)
    again = toolkit.load_run(run.folder)
    assert again.manifest == run.manifest
    assert list(again.candidates["source_id"]) == list(run.candidates["source_id"])
    with pytest.raises(ToolkitError, match="already exists|--force"):
        toolkit.run("cluster_membership", out=tmp_path / "cm")


def test_a_run_without_candidates_gives_an_empty_table_with_units(tmp_path):
    run = toolkit.run("cluster_membership", out=tmp_path / "none", set={"detectors.0.with.n_components": 1})
    assert len(run.candidates) == 0 == run.manifest["rows"]["candidates"]
    assert str(run.candidates["pmra"].unit) == "mas / yr" and "source_id" in run.candidates.colnames


def test_a_streamed_run_reads_its_scored_dataset(tmp_path):
    run = toolkit.run("cluster_membership", out=tmp_path / "s", executor="stream", chunk_rows=500)
    assert not (run.folder / "scored.parquet").exists() and (run.folder / "scored").is_dir()
    memory = toolkit.run("cluster_membership", out=tmp_path / "m")
    assert sorted(run.scored["source_id"]) == sorted(memory.scored["source_id"])


def test_the_notebook_page_runs(tmp_path, monkeypatch, capsys):
    """docs/examples/python_api.py, the code of docs/python-api.md, cell by cell as a script."""
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(NOTEBOOK), run_name="__main__")
    out = capsys.readouterr().out
    assert "<toolkit Run 'cluster_membership' in runs/ngc2451" in out
    assert "error: " in out and "n_components" in out
    assert (tmp_path / "runs" / "ngc2451" / "manifest.json").is_file()
