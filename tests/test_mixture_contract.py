"""The mixture detectors in the detector contract: streamed runs and saved models give the in-memory numbers."""

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from toolkit.core.cli import app
from toolkit.core.models import load_model
from toolkit.core.run import execute

QUIET = Console(stderr=True, quiet=True)
OFFLINE = ["source.with.retries=0", "source.with.timeout_s=2", "source.with.cache=false", "output.formats=[]"]
CLUSTER = [*OFFLINE, "source.fallback.with.n_field=1500", "detectors.0.with.max_components=4"]


def scored(path):
    return pd.read_parquet(path / "scored.parquet") if (path / "scored.parquet").exists() \
        else pd.read_parquet(path / "scored")


def detector_columns(frame, step, names):
    return [c for c in frame.columns if c in (f"score_{step}", f"flag_{step}") or c in names]


def assert_same_columns(a, b, id_column, columns):
    a, b = a.sort_values(id_column).reset_index(drop=True), b.sort_values(id_column).reset_index(drop=True)
    np.testing.assert_array_equal(a[id_column], b[id_column])
    for c in columns:
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)


def run_both(tmp_path, recipe, sets, chunk_rows):
    mem, m1 = execute(recipe, tmp_path / "mem", sets, console=QUIET, show_progress=False)
    stream, m2 = execute(recipe, tmp_path / "stream", sets, console=QUIET, show_progress=False, executor="stream",
                         chunk_rows=chunk_rows)
    assert m2["executor"]["chunks"] > 1
    return mem, m1, stream, m2


def rescore(tmp_path, run, step):
    res = CliRunner().invoke(app, ["score", str(run / "models" / step), str(run / "scored.parquet"),
                                   "--out", str(tmp_path / f"rescored_{step}")])
    assert res.exit_code == 0, res.output
    out = pd.read_parquet(tmp_path / f"rescored_{step}" / "scored.parquet")
    np.testing.assert_array_equal(out[f"score_{step}_rescored"], out[f"score_{step}"])
    np.testing.assert_array_equal(out[f"flag_{step}_rescored"], out[f"flag_{step}"])


def test_sklearn_mixture_streamed_equals_in_memory_and_its_model_rescores(tmp_path):
    mem, m1, stream, m2 = run_both(tmp_path, "cluster_membership", CLUSTER, chunk_rows=700)
    a, b = scored(mem), scored(stream)
    cols = [c for c in a.columns if c.startswith(("p_comp", "score_gmm", "flag_gmm")) or c in ("p_cluster", "member_of")]
    assert {"p_comp1", "p_cluster", "member_of", "score_gmm", "flag_gmm"} <= set(cols)
    assert_same_columns(a, b, "source_id", cols)
    assert b["flag_gmm"].sum() > 50
    s1, s2 = m1["detectors"]["gmm"], m2["detectors"]["gmm"]
    assert s1["bic_by_components"] == s2["bic_by_components"] and s1["n_members"] == s2["n_members"]
    assert m1["truth_recovery"] == m2["truth_recovery"]
    fitted, doc = load_model(mem / "models" / "gmm")
    assert set(doc["files"]) == {"mixture.npz"} and not any(f["pickle"] for f in doc["files"].values())
    assert fitted.summary["n_cluster_components"] == s1["n_cluster_components"]
    rescore(tmp_path, mem, "gmm")


GAUSSIAN_RECIPE = """\
name: gaussian_groups
seed: 11
source:
  use: mixture.synth_association
  with:
    associations:
      - {name: young, n_stars: 80, mean_now: [17.0, -6.0, -14.0, -10.5, -16.0, -9.2],
         position_dispersion: 8.0, velocity_dispersion: 1.0, age: 20.0}
    background: {n_stars: 600, mean: [0.0, 0.0, 0.0, -10.0, -20.0, -7.0],
                 position_dispersion: 50.0, velocity_dispersion: 20.0, max_distance: 100.0}
    missing_rv_fraction: 0.0
features:
  - use: mixture.cartesian
detectors:
  - use: mixture.gaussian
    name: xd
    with: {max_components: 3, column_prefix: "g_"}
output:
  formats: []
  figures: false
"""


def test_gaussian_mixture_streamed_equals_in_memory_and_its_model_rescores(tmp_path):
    recipe = tmp_path / "gaussian_groups.yaml"
    recipe.write_text(GAUSSIAN_RECIPE)
    mem, m1, stream, m2 = run_both(tmp_path, str(recipe), [], chunk_rows=170)
    a, b = scored(mem), scored(stream)
    cols = [c for c in a.columns if c.startswith(("g_p_", "score_xd", "flag_xd")) or c == "g_member_of"]
    assert {"g_p_comp1", "g_p_background", "g_member_of", "score_xd", "flag_xd"} <= set(cols)
    assert_same_columns(a, b, "source_id", cols)
    s1, s2 = m1["detectors"]["xd"], m2["detectors"]["xd"]
    assert s1["n_groups"] >= 1 and s1["bic_path"] == s2["bic_path"] and s1["covariance_source"] == "columns"
    truth = a["truth_population"].to_numpy() != "background"
    assert a["flag_xd"].to_numpy()[truth].mean() > 0.8
    fitted, doc = load_model(mem / "models" / "xd")
    assert set(doc["files"]) == {"mixture.npz"} and fitted.covariance == "columns"
    rescore(tmp_path, mem, "xd")
    # a table without the covariance columns the fit used is refused, not scored with other errors
    bare = tmp_path / "bare.parquet"
    a.drop(columns=[c for c in a.columns if c.startswith("cov_")]).to_parquet(bare)
    res = CliRunner().invoke(app, ["score", str(mem / "models" / "xd"), str(bare), "--out", str(tmp_path / "bare")])
    assert res.exit_code == 2 and "cov_" in res.output, res.output


MOVING = [*OFFLINE, "source.fallback.with.background.n_stars=1500", "detectors.0.with.max_groups=2",
          "detectors.0.with.age_step=2", "validators=[]"]


@pytest.mark.slow
def test_spacetime_streamed_equals_in_memory_and_its_model_rescores(tmp_path):
    mem, m1, stream, m2 = run_both(tmp_path, "moving_group", MOVING, chunk_rows=400)
    a, b = scored(mem), scored(stream)
    cols = [c for c in a.columns if c.startswith(("st_p_", "score_chronostar", "flag_chronostar"))
            or c == "st_member_of"]
    assert {"st_p_comp1", "st_p_background", "st_member_of", "score_chronostar", "flag_chronostar"} <= set(cols)
    assert_same_columns(a, b, "source_id", cols)
    s1, s2 = m1["detectors"]["chronostar"], m2["detectors"]["chronostar"]
    assert s1["ages_myr"] == s2["ages_myr"] and s1["report"] == s2["report"]
    assert abs(s1["ages_myr"]["group 1"] - 24.0) < 5.0
    member = a["truth_population"].to_numpy() != "background"
    assert a["flag_chronostar"].to_numpy()[member].mean() > 0.6 and member[a["flag_chronostar"]].mean() > 0.9
    fitted, doc = load_model(mem / "models" / "chronostar")
    assert doc["state"]["background"]["kind"] == "kde" and set(doc["files"]) == {"mixture.npz"}
    assert len(fitted.background_arrays["field"]) == s1["background"]["n_field"]
    rescore(tmp_path, mem, "chronostar")


def _chunked(fitted, table, method, size):
    return np.concatenate([getattr(fitted, method)(table.take(np.arange(i, min(i + size, len(table)))))
                           for i in range(0, len(table), size)])


@pytest.mark.parametrize("background", ["gaussian", "kde", "fitted"])
def test_spacetime_backgrounds_save_load_and_score_any_chunk(background, tmp_path):
    """init: gaussian with each background: the saved model scores whole tables and chunks alike."""
    from toolkit.core import RunContext
    from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian
    from toolkit.plugins.mixture.spacetime_detector import SpaceTimeDetector
    from toolkit.plugins.mixture.synth_association import SyntheticAssociation

    ctx = RunContext(seed=11, workdir=tmp_path / "run", show_progress=False)
    src = SyntheticAssociation(associations=[{"name": "grp", "n_stars": 100, "mean_now": [20, -10, 5, -10, -15, -8],
                                              "position_dispersion": 15.0, "velocity_dispersion": 1.0, "age": 20.0}],
                               background={"n_stars": 300, "position_dispersion": 80.0, "velocity_dispersion": 20.0},
                               error_scale=0.3, missing_rv_fraction=0.1)
    tab = src.load(ctx)
    tab = tab.with_columns(GaiaCartesian().compute(tab, ctx))
    ctx.step = "detectors.st"
    region = "U > -40 and U < 20 and not rv_imputed" if background != "fitted" else None
    out = SpaceTimeDetector(init="gaussian", background=background, region=region, age_max=40,
                            age_step=2).detect(tab, ctx)
    truth = (tab.data["truth_population"] == "grp").to_numpy()
    assert out.flag[truth].mean() > 0.8 and truth[out.flag].mean() > 0.8
    fitted, doc = load_model(ctx.workdir / "models" / "st")
    assert doc["state"]["background"]["kind"] == background
    np.testing.assert_array_equal(fitted.score(tab), out.score)
    np.testing.assert_array_equal(fitted.flag(tab), out.flag)
    np.testing.assert_array_equal(_chunked(fitted, tab, "score", 37), out.score)
    np.testing.assert_array_equal(_chunked(fitted, tab, "flag", 37), out.flag)
    member_of = np.concatenate([fitted.assign(tab.take(np.arange(i, min(i + 37, len(tab))))).data["st_member_of"]
                                for i in range(0, len(tab), 37)])
    np.testing.assert_array_equal(member_of, out.columns.data["st_member_of"])
    if region:
        assert np.isnan(out.score[tab.data["rv_imputed"].to_numpy(bool)]).all()


def test_gaussian_mixture_old_cap_name_still_works():
    from toolkit.plugins.mixture.gaussian_detector import GaussianMixtureDetector

    assert GaussianMixtureDetector(max_fit_rows=500).max_train_rows == 500
    assert GaussianMixtureDetector(max_train_rows=400).max_train_rows == 400
    with pytest.raises(ValueError, match="max_train_rows only"):
        GaussianMixtureDetector(max_fit_rows=500, max_train_rows=400)
