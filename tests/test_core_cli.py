"""The command line in-process: check, recipes, run errors."""

import pytest
from typer.testing import CliRunner

from toolkit.core.cli import app
from toolkit.core.recipe import builtin_recipes

runner = CliRunner()


@pytest.mark.parametrize("name", sorted(builtin_recipes()))
def test_every_builtin_recipe_validates(name):
    res = runner.invoke(app, ["check", name])
    assert res.exit_code == 0, res.output
    assert f"recipe '{name}'" in res.output


def test_recipes_lists_the_builtins():
    res = runner.invoke(app, ["recipes"])
    assert res.exit_code == 0
    assert "gaia_kinematic" in res.output and "hipparcos_kinematic" in res.output


def test_check_reports_a_bad_override_with_exit_status_2():
    res = runner.invoke(app, ["check", "gaia_kinematic", "--set", "detectors.0.with.epochz=5"])
    assert res.exit_code == 2
    assert "unknown parameter 'epochz'" in res.output and "did you mean 'epochs'" in res.output


def test_run_rejects_an_unknown_format(tmp_path):
    res = runner.invoke(app, ["run", "gaia_kinematic", "--out", str(tmp_path / "x"), "--format", "xls"])
    assert res.exit_code == 2 and "choose fits, votable, csv or ecsv" in res.output
    assert not (tmp_path / "x").exists()
