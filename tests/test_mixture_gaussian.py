"""mixture.gaussian / XD EM: planted group, BIC, bad covariances, NaN rows, configuration errors."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RecipeError, Table
from toolkit.plugins.mixture.covariance_columns import pack, regularise
from toolkit.plugins.mixture.gaussian_detector import GaussianMixtureDetector
from toolkit.plugins.mixture.xd_mixture import XDGaussianMixture


def _planted(n_field=400, n_group=80, d=3, seed=0, err=0.5):
    rng = np.random.default_rng(seed)
    field = rng.normal(0, 20, (n_field, d))
    group = rng.normal(15, 1.0, (n_group, d))
    truth = np.r_[np.zeros(n_field, bool), np.ones(n_group, bool)]
    X = np.vstack([field, group])
    S = np.tile(np.eye(d) * err ** 2, (len(X), 1, 1))
    X = X + err * rng.standard_normal(X.shape)
    return X, S, truth


def _table(X, S, names):
    df = pd.DataFrame(X, columns=names)
    for k, v in pack(S, names).items():
        df[k] = v
    return Table(df)


def test_xd_recovers_planted_group_and_deconvolves():
    X, S, truth = _planted(n_group=300, err=0.8)
    m = XDGaussianMixture(max_components=3).fit(X, S)
    st = m.state_
    assert st.k == 2
    bg = m.background_index(st)
    grp = 1 - bg
    member = m.predict_proba(X, S)[:, grp] > 0.5
    assert (member == truth).mean() > 0.99
    assert np.allclose(st.means[grp], 15, atol=0.5)
    # intrinsic dispersion 1.0 recovered although the errors (0.8) inflate the observed spread to 1.28
    assert abs(np.sqrt(np.diag(st.covs[grp])).mean() - 1.0) < 0.12
    assert np.std(X[truth], axis=0).mean() > 1.15


@pytest.mark.slow
def test_bic_picks_one_for_a_single_gaussian_and_two_for_two():
    rng = np.random.default_rng(5)
    X1 = rng.normal(0, 1, (500, 2))
    S1 = np.tile(np.eye(2) * 0.01, (500, 1, 1))
    assert XDGaussianMixture(max_components=3).fit(X1, S1).state_.k == 1
    X2 = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(6, 1, (300, 2))])
    S2 = np.tile(np.eye(2) * 0.01, (600, 1, 1))
    m = XDGaussianMixture(max_components=4).fit(X2, S2)
    assert m.state_.k == 2
    kept = [p["n_components"] for p in m.bic_path if p["accepted"]]
    assert kept == [1, 2]


def test_regularise_counts_and_fixes_non_pd():
    S = np.tile(np.eye(3), (4, 1, 1))
    S[1] = np.diag([1.0, -2.0, 1.0])          # negative variance
    S[2, 0, 1] = 5.0                          # asymmetric and indefinite
    S[3, 2, 2] = np.nan                       # non-finite entry
    fixed, n = regularise(S)
    assert n == 3
    assert np.all(np.linalg.eigvalsh(fixed) >= -1e-12)
    assert np.allclose(fixed, np.swapaxes(fixed, 1, 2))


def test_detector_columns_flags_nan_rows_and_bad_covariances(ctx):
    X, S, truth = _planted(n_field=300, n_group=60)
    names = ["a", "b", "c"]
    S[5] = np.diag([1.0, -3.0, 1.0])                      # not positive definite
    tab = _table(X, S, names)
    tab.data.loc[[0, 7], names] = np.nan                  # all-NaN feature rows
    det = GaussianMixtureDetector(features=names, max_components=3)
    out = det.detect(tab, ctx)
    assert np.isnan(out.score[[0, 7]]).all() and np.isfinite(np.delete(out.score, [0, 7])).all()
    assert out.summary["regularised_covariances"] == 1
    assert out.summary["unscored_rows"] == 2
    assert out.summary["covariance_source"] == "columns"
    assert {"p_comp1", "p_background", "member_of"} <= set(out.columns.names())
    assert out.columns.data["member_of"][0] == -1
    p = out.columns.data["p_comp1"] + out.columns.data["p_background"]
    assert np.allclose(p[np.isfinite(p)], 1.0)
    ok = np.isfinite(out.score)
    assert (out.flag[ok] == truth[ok]).mean() > 0.98
    assert out.summary["n_components"] == 2
    assert (ctx.workdir / "models").exists()
    assert any(f["file"].endswith("pairs.png") for f in ctx.figures)
    assert any(f["file"].endswith("bic.png") for f in ctx.figures)


def test_fixed_background_and_given_memberships(ctx):
    X, S, truth = _planted(n_field=300, n_group=60)
    tab = _table(X, S, ["a", "b", "c"])
    out = GaussianMixtureDetector(features=["a", "b", "c"], background="fixed", max_components=2).detect(tab, ctx)
    assert (out.flag == truth).mean() > 0.97
    tab.data["p_grp"] = truth.astype(float)
    tab.data["p_bg"] = 1 - truth.astype(float)
    out2 = GaussianMixtureDetector(features=["a", "b", "c"], init="memberships",
                                   init_memberships=["p_bg", "p_grp"]).detect(tab, ctx)
    assert (out2.flag == truth).mean() > 0.98


def test_errors_only_and_no_covariances(ctx):
    X, S, truth = _planted(n_field=200, n_group=50)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["a_error"] = 0.5
    out = GaussianMixtureDetector(features=["a", "b", "c"], max_components=2).detect(Table(df), ctx)
    assert out.summary["covariance_source"] == "errors"
    out = GaussianMixtureDetector(features=["a", "b", "c"], covariance="none", max_components=2).detect(Table(df), ctx)
    assert out.summary["covariance_source"] == "none"


def test_configuration_errors(ctx):
    X, S, _ = _planted(n_field=50, n_group=10)
    tab = _table(X, S, ["a", "b", "c"])
    with pytest.raises(RecipeError, match="n_components"):
        GaussianMixtureDetector(features=["a", "b", "c"], init="kmeans").detect(tab, ctx)
    with pytest.raises(RecipeError, match="init_memberships"):
        GaussianMixtureDetector(features=["a", "b", "c"], init="memberships").detect(tab, ctx)
    from toolkit.core import StageError
    with pytest.raises(StageError, match="missing column"):
        GaussianMixtureDetector(features=["a", "nope"]).detect(tab, ctx)
    tab.data[["a", "b", "c"]] = np.nan
    with pytest.raises(StageError, match="no row has finite"):
        GaussianMixtureDetector(features=["a", "b", "c"]).detect(tab, ctx)
