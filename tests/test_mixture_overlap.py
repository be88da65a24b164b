"""Overlap integrals and the mixture.overlap top-N selection."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from toolkit.core import RecipeError, Table
from toolkit.plugins.mixture.covariance_columns import pack
from toolkit.plugins.mixture.gaussian_overlap import log_overlap
from toolkit.plugins.mixture.overlap_validator import OverlapSelection


def test_log_overlap_matches_scipy():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 3, (20, 4))
    A = rng.normal(0, 1, (20, 4, 4))
    S = np.einsum("nij,nkj->nik", A, A) * 0.1
    m, C = np.ones(4), np.diag([2.0, 1.0, 3.0, 0.5])
    ref = [multivariate_normal(m, C + S[i]).logpdf(X[i]) for i in range(20)]
    assert np.allclose(log_overlap(X, S, m, C), ref)
    assert np.allclose(log_overlap(X, S, m, C, chunk=7), ref)


def _table(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(0, 10, (200, 2))])
    S = np.tile(np.eye(2) * 0.04, (230, 1, 1))
    df = pd.DataFrame(X, columns=["a", "b"])
    for k, v in pack(S, ["a", "b"]).items():
        df[k] = v
    df["core"] = np.r_[np.ones(30, bool), np.zeros(200, bool)]
    df["rvless"] = np.arange(230) % 2 == 0
    return Table(df)


def test_selection_from_members_restricted_to_candidates(ctx):
    tab = _table()
    out = OverlapSelection(features=["a", "b"], members="core", candidates="rvless", top_n=20).validate(tab, ctx)
    sel = out.columns.data["ln_overlap_selected"]
    assert sel.sum() == 20 and np.all(tab.data["rvless"].to_numpy()[sel])
    ln = out.columns.data["ln_overlap"]
    assert ln[sel].min() >= ln[~sel & tab.data["rvless"].to_numpy()].max()
    assert out.summary["fitted_to"] == 30
    rank = out.columns.data["ln_overlap_rank"]
    assert sorted(rank[sel]) == list(range(1, 21))


def test_explicit_component_and_errors(ctx):
    tab = _table()
    out = OverlapSelection(features=["a", "b"], component_mean=[0, 0], component_covariance=[[1, 0], [0, 1]],
                           top_n=5).validate(tab, ctx)
    assert out.columns.data["ln_overlap_selected"].sum() == 5
    with pytest.raises(RecipeError, match="either"):
        OverlapSelection(features=["a", "b"], top_n=5).validate(tab, ctx)
    with pytest.raises(RecipeError, match="component_mean needs"):
        OverlapSelection(features=["a", "b"], component_mean=[0], component_covariance=[[1]]).validate(tab, ctx)
