"""hipparcos.astrometric_covariance: the I/311 weight matrix rebuilt into errors and correlations."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import RunContext, StageError, Table
from toolkit.plugins.hipparcos.source import Hip2Source
from toolkit.plugins.hipparcos.weight_matrix import (ERROR_COLUMNS, WEIGHT_COLUMNS, AstrometricCovariance,
                                                     covariance_from_weights, unit_weight_error)


@pytest.fixture(scope="module")
def sample():
    table = Hip2Source().load(RunContext(seed=1, show_progress=False))
    return table.take(np.arange(0, len(table), 23))   # ~5,100 stars of every solution type


def test_rebuilt_diagonal_reproduces_the_formal_errors(sample):
    five = (sample.data["sn"] % 10 == 5).to_numpy()
    sigma = np.column_stack([sample.array(c) for c in ERROR_COLUMNS])[five]
    uw = np.column_stack([sample.array(c) for c in WEIGHT_COLUMNS])[five]
    cov = covariance_from_weights(uw, sigma, sample.array("ntr")[five], sample.array("f2")[five])
    ratio = np.sqrt(np.einsum("nii->ni", cov)) / sigma
    # the weights are printed with two decimals, so agreement is at the per-cent level
    assert np.all(np.abs(np.percentile(ratio, [1, 99], axis=0) - 1) < 0.01)
    # without the unit-weight error u the agreement breaks: u matters
    ones = covariance_from_weights(uw, sigma, None, None, u=1.0)
    assert np.percentile(np.abs(np.sqrt(np.einsum("nii->ni", ones)) / sigma - 1), 99) > 0.05


def test_unit_weight_error_inverts_f2():
    nu = 95.0
    for u in (0.8, 1.0, 1.7):
        f2 = np.sqrt(9 * nu / 2) * (u ** (2 / 3) + 2 / (9 * nu) - 1)
        assert unit_weight_error(nu + 5, f2) == pytest.approx(u)


def test_correlations_are_correlations(sample, ctx):
    cols = AstrometricCovariance().compute(sample, ctx)
    assert len([n for n in cols.names() if n.endswith("_corr")]) == 10
    for name in cols.names():
        if name.endswith("_corr"):
            values = cols.data[name][np.isfinite(cols.data[name])]
            # exactly the rows with solution type 5 or 1 (sn mod 10): 5,060 of the 5,129 sampled
            assert values.size == int(np.isin(sample.data["sn"] % 10, [5, 1]).sum()) == 5060
            assert np.all(np.abs(values) <= 1)
    other = ~np.isin(sample.data["sn"] % 10, [5, 1])
    assert other.any() and np.isnan(cols.data["parallax_pmra_corr"][other]).all()


def test_chunk_pure(sample, ctx):
    feature = AstrometricCovariance()
    whole = feature.compute(sample, ctx)
    parts = [feature.compute(chunk, ctx) for chunk in sample.split(3)]
    for name in whole.names():
        np.testing.assert_array_equal(whole.data[name], np.concatenate([p.data[name] for p in parts]))


def test_missing_weight_columns_are_named(ctx):
    with pytest.raises(StageError, match="uw1"):
        AstrometricCovariance().compute(Table(__import__("pandas").DataFrame({"sn": [5]})), ctx)
