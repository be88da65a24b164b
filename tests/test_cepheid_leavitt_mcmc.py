"""cepheid.leavitt_mcmc: the outlier mixture recovers a known line, the fit saves/loads/scores any chunk,
bad input (too few stars, one period, an unconverged chain) is a clear error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from toolkit.core import Columns, ModelError, ModelFiles, StageError, Table
from toolkit.core.models import load_model, save_model
from toolkit.plugins.cepheid.detector import LeavittMCMC
from toolkit.plugins.cepheid.fitted import FittedLeavitt
from toolkit.plugins.cepheid.mock import CepheidMock

TRUE_A, TRUE_B, SCATTER = -5.9, -3.3, 0.08
#: short chains for tests: tau is about 20 steps, so 600 kept steps are 30 tau
QUICK = dict(n_steps=800, burn=200, autocorr_multiple=20)


def line_table(n=300, outliers=0.1, seed=0, x=None) -> Table:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.5, n) if x is None else np.asarray(x, float)
    err = rng.uniform(0.02, 0.1, n)
    y = TRUE_A + TRUE_B * (x - 1) + rng.normal(0, SCATTER, n) + rng.normal(0, err)
    bad = rng.random(n) < outliers
    y[bad] += rng.uniform(1.0, 2.5, bad.sum())            # all fainter: they would drag a least-squares line
    cols = (Columns().add("logP", x).add("M_W", y, "mag").add("M_W_err", err, "mag")
            .add("group", np.where(np.arange(n) % 2 == 0, 1.0, 0.0))
            .add("truth_population", np.where(bad, "type2", "classical")))
    return Table.from_columns(cols, meta={"truth_normal": ["classical"]})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from toolkit.core import RunContext

    ctx = RunContext(seed=3, workdir=tmp_path_factory.mktemp("run"), show_progress=False)
    ctx.step = "detectors.pw"
    t = line_table()
    det = LeavittMCMC(**QUICK)
    return t, det, det.detect(t, ctx), ctx


def test_mixture_recovers_the_line_that_least_squares_misses(fitted):
    t, _, det, _ = fitted
    post, ls = det.summary["posterior"], det.summary["least_squares"]["weighted"]
    for name, truth in (("zero_point", TRUE_A), ("slope", TRUE_B), ("scatter", SCATTER)):
        p = post[name]
        assert abs(p["median"] - truth) < 3 * p["std"], (name, p)
        assert p["ci95"][0] < p["ci68"][0] < p["median"] < p["ci68"][1] < p["ci95"][1]
    assert abs(ls["zero_point"] - TRUE_A) > 5 * post["zero_point"]["std"]      # dragged by the outliers
    assert 0.05 < post["outlier_fraction"]["median"] < 0.2
    assert det.summary["converged"] is True
    assert set(det.summary["mcmc"]["autocorr_time"]) == {"zero_point", "slope", "ln_scatter", "outlier_fraction",
                                                         "outlier_mean", "ln_outlier_width"}


def test_scores_are_residuals_in_total_sigmas_and_flag_the_outliers(fitted):
    t, _, det, _ = fitted
    truth = t.data["truth_population"].to_numpy() == "type2"
    assert np.isfinite(det.score).all()
    assert det.flag[truth].mean() > 0.9 and det.flag[~truth].mean() < 0.03
    z = det.columns.data["z_pw"]
    assert det.score == pytest.approx(np.abs(z))
    assert det.columns.data["p_outlier_pw"][truth].mean() > 0.9


def test_fit_saves_through_core_and_loads_back_scoring_any_chunk(fitted, tmp_path):
    t, det_component, det, ctx = fitted
    folder = ctx.workdir / "models" / "pw"
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "posterior.npz"]
    doc = json.loads((folder / "model.json").read_text())
    assert doc["component"] == "cepheid.leavitt_mcmc" and doc["threshold"]["cut"] == 3.0
    assert set(doc["files"]) == {"posterior.npz"} and doc["files"]["posterior.npz"]["pickle"] is False
    assert doc["features"] == ["logP", "M_W", "M_W_err"] and doc["feature_units"]["M_W"] == "mag"
    assert doc["state"]["step"] == "pw" and doc["state"]["summary"]["converged"] is True
    fitted_back, _ = load_model(folder)
    assert isinstance(fitted_back, FittedLeavitt) and fitted_back.summary == json.loads(
        json.dumps(det.fitted.summary))
    assert fitted_back.score(t) == pytest.approx(det.score, rel=1e-12)
    parts = np.concatenate([fitted_back.score(p) for p in t.split(4)])
    assert parts == pytest.approx(det.score, rel=1e-12)            # chunk-pure
    cols = fitted_back.assign(t)
    for name in ("resid_pw", "z_pw", "p_outlier_pw"):
        np.testing.assert_allclose(cols.data[name], det.columns.data[name], rtol=1e-12)
    save_model(fitted_back, tmp_path / "copy", {"component": "cepheid.leavitt_mcmc", "features": fitted_back.features})
    assert load_model(tmp_path / "copy")[0].score(t) == pytest.approx(det.score)


def test_a_changed_posterior_file_is_refused(fitted, tmp_path):
    _, _, _, ctx = fitted
    folder = tmp_path / "m"
    shutil.copytree(ctx.workdir / "models" / "pw", folder)
    fit = LeavittMCMC.load(ModelFiles(folder, json.loads((folder / "model.json").read_text())["files"]),
                           json.loads((folder / "model.json").read_text())["state"]).fit
    with open(folder / "posterior.npz", "wb") as f:
        np.savez(f, samples=fit.samples * 2, autocorr_time=fit.autocorr_time)
    with pytest.raises(ModelError, match="sha256 differs"):
        load_model(folder)


def test_a_posterior_of_the_wrong_shape_is_a_clear_error(fitted, tmp_path):
    """A model folder whose files match model.json but not each other (hand-made) is refused, not mis-scored."""
    _, _, det, _ = fitted
    files = ModelFiles(tmp_path / "m")
    state = det.fitted.save(files)
    files.write_arrays("posterior.npz", {"samples": np.zeros((10, 3)), "autocorr_time": np.zeros(3)})
    with pytest.raises(ValueError, match=r"shape \(10, 3\).*6 parameters of the mixture"):
        LeavittMCMC.load(files, state)


def test_outlier_probability_score_and_rows_expression(ctx):
    ctx.step = "detectors.half"
    t = line_table(n=200, seed=1)
    det = LeavittMCMC(score="outlier_probability", rows="group == 1", save_model=False, **QUICK).detect(t, ctx)
    chosen = t.data["group"].to_numpy() == 1
    assert np.isnan(det.score[~chosen]).all() and np.isfinite(det.score[chosen]).all()
    assert ((det.score[chosen] >= 0) & (det.score[chosen] <= 1)).all()
    assert det.summary["threshold"]["cut"] == 0.5 and det.summary["n_fit"] == chosen.sum()
    assert not det.flag[~chosen].any()


def test_too_few_stars_is_an_error(ctx):
    t = line_table(n=30, seed=2)
    t = t.with_columns(Columns().add("keep", np.arange(30) < 7))
    with pytest.raises(StageError, match=r"too few stars for the fit: 7 usable of 7 rows chosen by rows 'keep' "
                                         r"\(30 in the table.*at least 10 are needed"):
        LeavittMCMC(rows="keep", **QUICK).detect(t, ctx)


def test_too_few_finite_stars_is_an_error_naming_the_columns(ctx):
    t = line_table(n=30, seed=2)
    t.data.loc[5:, "M_W"] = np.nan
    with pytest.raises(StageError, match=r"too few stars for the fit: 5 usable of 30 rows .*finite logP, M_W, M_W_err"):
        LeavittMCMC(**QUICK).detect(t, ctx)


def test_all_stars_with_one_period_is_an_error(ctx):
    t = line_table(n=50, x=np.full(50, 0.7))
    with pytest.raises(StageError, match="all 50 usable stars have the same logP"):
        LeavittMCMC(**QUICK).detect(t, ctx)


def test_unconverged_chain_is_an_error_with_the_autocorrelation_times(ctx):
    t = line_table(n=100, seed=4)
    with pytest.raises(StageError, match=r"MCMC NOT CONVERGED.*tau in steps: zero_point \d+\.\d.*Raise n_steps"):
        LeavittMCMC(n_steps=60, burn=10).detect(t, ctx)


def test_unconverged_chain_can_be_kept_but_says_so_loudly(ctx):
    ctx.step = "detectors.short"
    t = line_table(n=100, seed=4)
    det = LeavittMCMC(n_steps=60, burn=10, on_unconverged="warn").detect(t, ctx)
    assert det.summary["converged"] is False and "NOT CONVERGED" in det.summary["WARNING"]
    assert any("NOT CONVERGED" in w for w in ctx.warnings)
    assert ctx.notes["detectors.short"]["converged"] is False
    doc = json.loads((ctx.workdir / "models" / "short" / "model.json").read_text())
    assert doc["state"]["fit"]["info"]["converged"] is False and "NOT CONVERGED" in doc["state"]["problem"]
    assert load_model(ctx.workdir / "models" / "short")[0].problem == det.summary["WARNING"]


def test_same_seed_gives_the_same_posterior(ctx):
    t = line_table(n=80, seed=5)
    a = LeavittMCMC(save_model=False, **QUICK).fit(t, ctx)
    b = LeavittMCMC(save_model=False, **QUICK).fit(t, ctx)
    assert np.array_equal(a.fit.samples, b.fit.samples)


def test_a_mock_of_classical_cepheids_only_fits_and_flags_few(ctx):
    """All stars of one type (no impostors at all): the fit works and flags about the 3-sigma tail."""
    ctx.step = "source.mock"
    t = CepheidMock(n_stars=400, lmc_fraction=1.0, type2_fraction=0, anomalous_fraction=0, blend_fraction=0,
                    bad_parallax_fraction=0, seed=1).load(ctx)
    assert set(t.data["truth_population"]) == {"classical"}
    from toolkit.plugins.cepheid.features import FundamentalPeriod, Wesenheit

    t = t.with_columns(FundamentalPeriod().compute(t, ctx))
    t = t.with_columns(Wesenheit().compute(t, ctx))
    ctx.step = "detectors.lmc"
    # with no outliers P_b sits at 0 and mixes more slowly (tau ~ 30 steps): a longer chain
    det = LeavittMCMC(y="W", y_error="W_err", **{**QUICK, "n_steps": 1400}).detect(t, ctx)
    assert det.flag.mean() < 0.03
    assert det.summary["posterior"]["slope"]["ci95"][0] < -3.317 < det.summary["posterior"]["slope"]["ci95"][1]


def test_burn_must_be_shorter_than_the_chain():
    with pytest.raises(ValueError, match="burn .* must be smaller than n_steps"):
        LeavittMCMC(n_steps=100, burn=100)


def parallax_table(n=400, seed=6, zero_point=-0.03) -> Table:
    """Stars on M_W = TRUE_A + TRUE_B (logP - 1) at 0.5-4 kpc with 20-40 % parallax errors and a zero-point."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.5, n)
    d_pc = rng.uniform(500, 4000, n)
    m_w = TRUE_A + TRUE_B * (x - 1) + rng.normal(0, SCATTER, n)
    w = m_w + 5 * np.log10(d_pc) - 5
    e_plx = 0.3 * 1000 / d_pc * rng.uniform(0.2, 0.4, n) / 0.3
    plx = 1000 / d_pc + zero_point + rng.normal(0, e_plx)
    cols = (Columns().add("logP", x).add("W", w, "mag").add("W_err", np.full(n, 0.02), "mag")
            .add("parallax", plx, "mas").add("parallax_error", e_plx, "mas"))
    return Table.from_columns(cols)


def test_parallax_space_fit_is_unbiased_where_inverted_parallaxes_are_not(ctx, tmp_path):
    """20-40 % parallax errors: magnitudes from inverted parallaxes come out biased; the parallax-space fit does not."""
    from toolkit.plugins.cepheid.features import AbsoluteMagnitudes

    t = parallax_table()
    ctx.step = "detectors.plx"
    det = LeavittMCMC(y="W", y_error="W_err", parallax={"zero_point": -0.03}, likelihood="gaussian",
                      **QUICK).detect(t, ctx)
    post = det.summary["posterior"]
    assert det.summary["space"] == "parallax"
    for name, truth in (("zero_point", TRUE_A), ("slope", TRUE_B)):
        assert abs(post[name]["median"] - truth) < 3 * post[name]["std"], (name, post[name])
    assert post["zero_point"]["std"] < 0.05
    # the same stars through M = W - mu(parallax), fitted in magnitudes: pulled away by many sigma
    t_mag = t.with_columns(AbsoluteMagnitudes(zero_point=-0.03).compute(t, None))
    ctx.step = "detectors.mag"
    mag = LeavittMCMC(rows="parallax > 0", likelihood="gaussian", **QUICK).detect(t_mag, ctx).summary["posterior"]
    mag = mag["zero_point"]
    assert abs(mag["median"] - TRUE_A) > 3 * mag["std"]
    # negative parallaxes are scored too, and the saved fit scores any chunk the same
    assert (t.array("parallax") < 0).any() and np.isfinite(det.score).all()
    fitted, doc = load_model(ctx.workdir / "models" / "plx")
    assert fitted.fit.parallax == {"column": "parallax", "error_column": "parallax_error", "zero_point": -0.03}
    assert doc["features"] == ["logP", "W", "W_err", "parallax", "parallax_error"]
    assert np.concatenate([fitted.score(p) for p in t.split(3)]) == pytest.approx(det.score, rel=1e-12)
    assert np.isnan(det.columns.data["M_plx_plx"][t.array("parallax") + 0.03 <= 0]).all()
    assert "p_outlier_plx" not in det.columns


def test_lmc_distance_reads_another_runs_fit_through_core(fitted, tmp_path):
    """model_dir: the calibration is loaded through the registry, its posterior sha256-checked."""
    from toolkit.core import RunContext
    from toolkit.plugins.cepheid.features import FundamentalPeriod, Wesenheit
    from toolkit.plugins.cepheid.lmc_distance import LmcDistance

    _, _, det, run_ctx = fitted
    ctx = RunContext(seed=0, workdir=tmp_path / "run2", show_progress=False)
    table = CepheidMock(n_stars=300, seed=1).load(ctx)
    table = table.with_columns(FundamentalPeriod().compute(table, ctx))
    table = table.with_columns(Wesenheit().compute(table, ctx))
    folder = tmp_path / "calibration"
    shutil.copytree(run_ctx.workdir / "models" / "pw", folder)
    val = LmcDistance(model_dir=str(folder), exclude_flags=[]).validate(table, ctx)
    assert val.summary["calibration"]["from"] == str(folder) and val.summary["calibration"]["converged"] is True
    assert np.isfinite(val.summary["distance_modulus"]) and val.summary["n_members"] > 5
    (folder / "posterior.npz").write_bytes((folder / "posterior.npz").read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ModelError, match="sha256 differs"):
        LmcDistance(model_dir=str(folder), exclude_flags=[]).validate(table, ctx)
