"""recipes/leavitt_law*.yaml: they validate, run offline on the declared mock fallback, run on archive rows
served by the fake TAP service (no fallback), and fail clearly when no classical Cepheid is left."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from toolkit.core import RunContext, StageError, get_registry
from toolkit.core.cli import app
from toolkit.core.models import load_model
from toolkit.core.recipe import load_recipe
from toolkit.core.run import execute
from toolkit.plugins.cepheid.mock import CepheidMock

#: a small mock and chains long enough for 25 tau: a few seconds per run
QUICK = ["source.fallback.with.n_stars=1500"] + [
    f"detectors.{i}.with.{k}={v}" for i in range(3) for k, v in (("n_steps", 1000), ("burn", 200),
                                                               ("autocorr_multiple", 25))]


def quiet():
    return Console(stderr=True, quiet=True)


@pytest.mark.parametrize("name,tables", [
    ("leavitt_law", ["external.gaiadr2_geometric_distance", "gaiadr2.vari_cepheid", "gaiadr2.gaia_source"]),
    ("leavitt_law_dr3", ["gaiadr3.vari_cepheid", "gaiadr3.gaia_source", "external.gaiaedr3_distance"])])
def test_recipes_validate_with_the_lab_query_and_a_mock_fallback(name, tables):
    recipe = load_recipe(name, get_registry())
    assert recipe.source.component.name == "gaia.archive"
    assert recipe.source.fallback.component.name == "cepheid.mock"
    query = recipe.source.component.config.query
    for t in tables:
        assert t in query
    for col in ("type_best_classification", "pf", "p1_o", "int_average_g", "parallax_error"):
        assert col in query
    uses = {stage: [s.component.name for s in steps] for stage, steps in recipe.steps.items()}
    assert uses["features"] == ["cepheid.period", "cepheid.wesenheit", "cepheid.absolute_magnitude",
                                "cepheid.lmc_region"]
    assert set(uses["detectors"]) == {"cepheid.leavitt_mcmc"} and uses["validators"] == ["cepheid.lmc_distance"]


@pytest.mark.slow
def test_recipe_offline_falls_back_to_the_mock_and_recovers_the_truth(tmp_path, refused_url):
    folder, manifest = execute("leavitt_law", out=tmp_path / "run", console=quiet(), show_progress=False,
                               overrides=[f"source.with.url={refused_url}", "source.with.retries=0", *QUICK])
    assert manifest["source"]["fallback_used"] is True and manifest["mock"] is True
    for step in ("pw_mw", "pl_mw", "pw_lmc"):
        det = manifest["detectors"][step]
        assert det["converged"] is True and det["n_fit"] > 100
        slope = det["posterior"]["slope"]
        assert slope["ci95"][0] < slope["ci68"][0] < slope["median"] < slope["ci68"][1] < slope["ci95"][1]
        assert set(det["least_squares"]) >= {"weighted", "unweighted"}
        assert set(det["mcmc"]["autocorr_time"]) >= {"zero_point", "slope", "ln_scatter"}
    lmc = manifest["validation"]["lmc_distance"]
    assert abs(lmc["truth_difference"]) < 0.05 and lmc["distance_modulus_err"] > 0
    assert 40 < lmc["distance_kpc"] < 60 and lmc["calibration"]["from"] == "models/pw_mw"
    assert "Pietrzynski" in lmc["reference"]
    truth = manifest["truth_recovery"]
    assert truth["pw_lmc"]["type2"]["roc_auc"] > 0.95 and truth["pw_mw"]["type2"]["roc_auc"] > 0.9
    figures = {p.name for p in (folder / "figures").iterdir()}
    for step in ("pw_mw", "pl_mw", "pw_lmc"):
        assert {f"{step}_relation.png", f"{step}_residuals.png", f"{step}_corner.png"} <= figures
    assert "lmc_distance_lmc_distance.png" in figures
    # the saved fit reproduces the run's scores on the scored table, and NaN off its rows
    scored = pd.read_parquet(folder / "scored.parquet")
    fitted, _ = load_model(folder / "models" / "pw_lmc")
    from toolkit.core import Table

    lmc_rows = scored["in_lmc"].to_numpy()
    table = Table(scored[lmc_rows].reset_index(drop=True))
    assert fitted.score(table) == pytest.approx(scored.loc[lmc_rows, "score_pw_lmc"].to_numpy(), rel=1e-9)
    assert np.isnan(fitted.score(Table(scored[~lmc_rows].reset_index(drop=True)))).all()


def _scored(path):
    return pd.read_parquet(path / "scored.parquet") if (path / "scored.parquet").exists() \
        else pd.read_parquet(path / "scored")


STEPS = ("pw_mw", "pl_mw", "pw_lmc")


@pytest.mark.slow
def test_streamed_run_gives_the_in_memory_scores_flags_and_candidates(tmp_path, refused_url):
    """The fit is on the seeded sample (every row here), so streaming in 400-row chunks changes nothing."""
    sets = [f"source.with.url={refused_url}", "source.with.retries=0", *QUICK, "output.figures=false"]
    mem, m1 = execute("leavitt_law", out=tmp_path / "mem", console=quiet(), show_progress=False, overrides=sets)
    stream, m2 = execute("leavitt_law", out=tmp_path / "stream", console=quiet(), show_progress=False,
                         overrides=sets, executor="stream", chunk_rows=400)
    assert m2["executor"]["use"] == "stream" and m2["executor"]["chunks"] > 2
    a, b = _scored(mem), _scored(stream)
    np.testing.assert_array_equal(a["source_id"], b["source_id"])
    for step in STEPS:
        for col in (f"score_{step}", f"flag_{step}", f"z_{step}", f"resid_{step}"):
            np.testing.assert_array_equal(a[col], b[col])
        assert m1["detectors"][step]["posterior"] == m2["detectors"][step]["posterior"]
        assert m1["detectors"][step]["n_flagged"] == m2["detectors"][step]["n_flagged"] > 0
    ca, cb = pd.read_parquet(mem / "candidates.parquet"), pd.read_parquet(stream / "candidates.parquet")
    assert len(ca) > 0
    pd.testing.assert_frame_equal(ca[cb.columns], cb)
    assert m1["validation"]["lmc_distance"] == m2["validation"]["lmc_distance"]
    assert m1["truth_recovery"] == m2["truth_recovery"]


@pytest.mark.slow
def test_toolkit_score_gives_back_the_runs_scores_and_flags(tmp_path, refused_url):
    folder, _ = execute("leavitt_law", out=tmp_path / "run", console=quiet(), show_progress=False,
                        overrides=[f"source.with.url={refused_url}", "source.with.retries=0", *QUICK,
                                   "output.figures=false"])
    for step in STEPS:
        res = CliRunner().invoke(app, ["score", str(folder / "models" / step), str(folder / "scored.parquet"),
                                       "--out", str(tmp_path / step), "--chunk-rows", "300"])
        assert res.exit_code == 0, res.output
        out = pd.read_parquet(tmp_path / step / "scored.parquet")
        np.testing.assert_array_equal(out[f"score_{step}_rescored"], out[f"score_{step}"])
        np.testing.assert_array_equal(out[f"flag_{step}_rescored"], out[f"flag_{step}"])
        assert out[f"flag_{step}"].any()


def _archive_rows(n=1500, seed=5):
    """Rows with the lab query's columns (the mock's, truth removed), as the archive would return them."""
    table = CepheidMock(n_stars=n, seed=seed, parallax_zero_point=-0.029).load(RunContext(show_progress=False))
    keep = [c for c in table.columns if not c.startswith("truth") and c != "ruwe"]
    return table.to_astropy(keep)


@pytest.mark.slow
def test_recipe_on_archive_rows_through_the_lab_query(tmp_path, fake_tap):
    fake_tap.respond("gaiadr2.vari_cepheid", _archive_rows())
    folder, manifest = execute("leavitt_law", out=tmp_path / "run", console=quiet(), show_progress=False,
                               overrides=[f"source.with.url={fake_tap.url}", *QUICK])
    assert manifest["source"]["fallback_used"] is False and manifest["mock"] is False
    assert "gaiadr2.vari_cepheid" in fake_tap.queries[0]
    lmc = manifest["validation"]["lmc_distance"]
    assert "truth_difference" not in lmc
    assert abs(lmc["distance_modulus"] - 18.477) < 0.1
    assert manifest["truth_recovery"] == {}


def test_all_stars_of_another_type_is_a_clear_error(tmp_path):
    rows = _archive_rows(n=200).to_pandas()
    rows["type_best_classification"] = "T2CEP"
    path = tmp_path / "t2cep.csv"
    rows.to_csv(path, index=False)
    source = f"source={{use: table.file, with: {{path: '{path}', id_column: source_id}}}}"
    with pytest.raises(StageError, match=r"(?s)no rows left after the cuts.*classical: 200 -> 0"):
        execute("leavitt_law", out=tmp_path / "run", console=quiet(), show_progress=False, overrides=[source])
    res = CliRunner().invoke(app, ["run", "leavitt_law", "--out", str(tmp_path / "cli"), "--set", source])
    assert res.exit_code == 2 and "classical: 200 -> 0" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "cli").exists()


def test_validator_needs_a_calibration(tmp_path):
    from toolkit.plugins.cepheid.lmc_distance import LmcDistance

    ctx = RunContext(seed=0, workdir=tmp_path, show_progress=False)
    table = CepheidMock(n_stars=100, seed=1).load(ctx)
    with pytest.raises(StageError, match="no calibrated relation at .*pw_mw.*must name a cepheid.leavitt_mcmc"):
        LmcDistance().validate(table, ctx)
