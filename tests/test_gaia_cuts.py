"""gaia.parallax_quality, gaia.has_rv, gaia.ruwe: masks, errors for missing columns, chunk purity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, StageError, Table
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.gaia.cuts import HasRadialVelocity, ParallaxQuality, Ruwe
from toolkit.plugins.gaia.mock import GaiaMock


def table(**cols) -> Table:
    return Table(pd.DataFrame(cols))


def test_parallax_quality_uses_the_ratio_column_or_computes_it(ctx):
    t = table(parallax=[12.0, 9.0, 15.0, 20.0], parallax_over_error=[50.0, 50.0, 5.0, np.nan])
    cut = ParallaxQuality(min_parallax=10, min_parallax_over_error=10)
    assert cut.mask(t, ctx).tolist() == [True, False, False, False]
    t2 = table(parallax=[12.0, 15.0], parallax_error=[0.1, 3.0])
    assert cut.mask(t2, ctx).tolist() == [True, False]
    assert "parallax > 10" in cut.describe()


def test_parallax_quality_without_error_columns_is_a_clear_error(ctx):
    with pytest.raises(StageError, match="parallax_over_error.*parallax_error"):
        ParallaxQuality().mask(table(parallax=[12.0]), ctx)
    assert ParallaxQuality(min_parallax=10, min_parallax_over_error=None).mask(table(parallax=[12.0]), ctx).all()


def test_has_rv_and_error_limit(ctx):
    t = table(radial_velocity=[1.0, np.nan, 3.0], radial_velocity_error=[0.5, 0.1, 9.0])
    assert HasRadialVelocity().mask(t, ctx).tolist() == [True, False, True]
    assert HasRadialVelocity(max_error=5).mask(t, ctx).tolist() == [True, False, False]
    with pytest.raises(StageError, match="'radial_velocity'"):
        HasRadialVelocity().mask(table(rv=[1.0]), ctx)


def test_ruwe_cut_and_missing_column(ctx):
    assert Ruwe().mask(table(ruwe=[1.0, 1.5, np.nan]), ctx).tolist() == [True, False, False]
    with pytest.raises(StageError, match="'ruwe'.*if_missing: skip"):
        Ruwe().mask(table(parallax=[1.0]), ctx)
    ctx.step = "cuts.ruwe"
    assert Ruwe(if_missing="skip").mask(table(parallax=[1.0, 2.0]), ctx).all()
    assert "absent" in ctx.notes["cuts.ruwe"]["skipped"]


@pytest.mark.parametrize("cut", [ParallaxQuality(min_parallax=12), HasRadialVelocity(max_error=1.0),
                                 Ruwe(max_ruwe=1.2)], ids=lambda c: c.name)
def test_cuts_are_chunk_pure(cut):
    t = GaiaMock(n_stars=2000).load(RunContext(seed=1, show_progress=False))
    mask = cut.mask(t, None)
    assert 0 < mask.sum() < len(t)          # the cut does something on the mock
    assert_chunk_pure(cut, t, n_chunks=3)
