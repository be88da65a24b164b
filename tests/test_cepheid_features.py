"""Cepheid features: fundamental-mode log P (with the bad-period cases), Wesenheit, absolute magnitudes, LMC region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.core import Columns, StageError, Table
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.cepheid.features import AbsoluteMagnitudes, FundamentalPeriod, LmcRegion, Wesenheit
from toolkit.plugins.cepheid.relations import LMC_CENTRE_DEG, fundamentalise, overtone_from_fundamental


def table(**columns) -> Table:
    cols = Columns()
    for name, values in columns.items():
        unit = "mag" if name.startswith(("int_average", "W")) else ("mas" if "parallax" in name else None)
        cols.add(name, np.asarray(values), unit)
    return Table.from_columns(cols, id_column="source_id" if "source_id" in columns else None)


def test_first_overtones_are_fundamentalised_with_feast_catchpole(ctx):
    t = table(source_id=[1, 2, 3], pf=[5.0, np.nan, np.nan], p1_o=[np.nan, 3.0, np.nan])
    out = FundamentalPeriod().compute(t, ctx)
    logp = out.data["logP"]
    assert logp[0] == pytest.approx(np.log10(5.0))
    assert logp[1] == pytest.approx(np.log10(3.0 / (0.716 - 0.027 * np.log10(3.0))))   # 4.2666 d
    assert np.isnan(logp[2])
    assert list(out.data["logP_mode"]) == ["F", "1O", ""]
    assert ctx.notes["run"]["periods"] == {"fundamental": 1, "first_overtone_fundamentalised": 1, "no_period": 1,
                                           "dropped_nonpositive": 0}


def test_overtone_inverse_round_trips():
    pf = np.array([1.0, 2.5, 6.0])
    assert fundamentalise(overtone_from_fundamental(pf)) == pytest.approx(pf, rel=1e-10)


def test_no_periods_is_an_error_naming_the_columns():
    t = table(source_id=[1, 2], pf=[np.nan, np.nan], p1_o=[np.nan, np.nan])
    with pytest.raises(StageError, match="no row has a period: 'pf' and 'p1_o'"):
        FundamentalPeriod().compute(t, None)


def test_missing_period_column_is_an_error_listing_the_columns():
    t = table(source_id=[1], period=[3.0])
    with pytest.raises(StageError, match="missing column.*'pf'"):
        FundamentalPeriod(overtone_column=None).compute(t, None)


@pytest.mark.parametrize("bad", [0.0, -2.0])
def test_zero_or_negative_period_is_an_error_naming_the_star(bad):
    t = table(source_id=[11, 22, 33], pf=[3.0, bad, 5.0], p1_o=[np.nan, np.nan, np.nan])
    with pytest.raises(StageError, match=r"1 row\(s\) have a zero or negative period.*source_id 22"):
        FundamentalPeriod().compute(t, None)


def test_bad_periods_can_be_dropped_and_are_counted(ctx):
    t = table(source_id=[11, 22, 33], pf=[3.0, -1.0, np.nan], p1_o=[np.nan, np.nan, 0.0])
    out = FundamentalPeriod(invalid="drop").compute(t, ctx)
    assert np.isfinite(out.data["logP"]).tolist() == [True, False, False]
    assert ctx.notes["run"]["periods"]["dropped_nonpositive"] == 2


def test_wesenheit_uses_lambda_1_90_and_propagates_errors():
    t = table(int_average_g=[12.0], int_average_bp=[12.5], int_average_rp=[11.5], int_average_g_error=[0.01],
              int_average_bp_error=[0.02], int_average_rp_error=[0.02])
    out = Wesenheit().compute(t, None)
    assert out.data["W"][0] == pytest.approx(12.0 - 1.90 * 1.0)
    assert out.data["W_err"][0] == pytest.approx(np.sqrt(0.01**2 + 1.9**2 * (0.02**2 + 0.02**2)))
    assert out.info["W"].unit == "mag"


def test_wesenheit_refuses_a_flux_column():
    t = table(int_average_g=[12.0], int_average_bp=[12.5], int_average_rp=[11.5])
    t.info["int_average_bp"].unit = "electron/s"
    with pytest.raises(StageError, match="'int_average_bp' has unit 'electron/s', expected mag"):
        Wesenheit(errors=None).compute(t, None)


def test_absolute_magnitude_from_parallax_with_zero_point():
    t = table(W=[10.0, 10.0, 10.0], W_err=[0.0, 0.0, 0.0], parallax=[0.97, -0.5, 0.0],
              parallax_error=[0.05, 0.05, 0.05])
    out = AbsoluteMagnitudes(zero_point=-0.03).compute(t, None)
    # parallax - zp = 1.0 mas -> 1 kpc -> mu = 10
    assert out.data["mu"][0] == pytest.approx(10.0)
    assert out.data["M_W"][0] == pytest.approx(0.0)
    assert out.data["M_W_err"][0] == pytest.approx(5 / np.log(10) * 0.05)
    assert np.isnan(out.data["M_W"][1])            # non-positive corrected parallax: no magnitude
    assert out.data["mu"][2] == pytest.approx(10 - 5 * np.log10(0.03))


def test_absolute_magnitude_from_distances_with_extinction():
    t = table(int_average_g=[12.0], g_absorption=[0.5], r_est=[1000.0], r_lo=[900.0], r_hi=[1100.0])
    out = AbsoluteMagnitudes(magnitudes={"G": "int_average_g"}, errors={}, extinction={"G": "g_absorption"},
                             distance_from="distance", suffix="_bj").compute(t, None)
    assert out.data["M_G_bj"][0] == pytest.approx(12.0 - 0.5 - 10.0)
    assert out.data["mu_bj_err"][0] == pytest.approx(5 / np.log(10) * 0.1)


def test_absolute_magnitude_converts_distance_units_and_refuses_wrong_ones():
    t = table(W=[0.0], r_est=[1.0], r_lo=[0.9], r_hi=[1.1])
    for c in ("r_est", "r_lo", "r_hi"):
        t.info[c].unit = "kpc"
    out = AbsoluteMagnitudes(errors={}, distance_from="distance").compute(t, None)
    assert out.data["mu"][0] == pytest.approx(10.0)
    t.info["r_est"].unit = "km/s"
    with pytest.raises(StageError, match="'r_est' has unit 'km/s', which cannot be converted to 'pc'"):
        AbsoluteMagnitudes(errors={}, distance_from="distance").compute(t, None)


def test_lmc_region_selects_by_separation():
    ra0, dec0 = LMC_CENTRE_DEG
    t = table(ra=[ra0, ra0, 10.0], dec=[dec0, dec0 + 9.0, 20.0])
    out = LmcRegion(radius_deg=8).compute(t, None)
    assert out.data["lmc_sep"][:2] == pytest.approx([0.0, 9.0])
    assert out.data["in_lmc"].tolist() == [True, False, False]


def test_features_are_chunk_pure():
    rng = np.random.default_rng(3)
    n = 30
    pf = rng.uniform(1, 30, n)
    t = table(source_id=np.arange(n), pf=np.where(rng.random(n) < 0.3, np.nan, pf), p1_o=pf * 0.7,
              int_average_g=rng.uniform(10, 16, n), int_average_bp=rng.uniform(10, 16, n),
              int_average_rp=rng.uniform(10, 16, n), int_average_g_error=np.full(n, 0.01),
              int_average_bp_error=np.full(n, 0.01), int_average_rp_error=np.full(n, 0.01),
              parallax=rng.uniform(-0.1, 2, n), parallax_error=np.full(n, 0.03),
              ra=rng.uniform(0, 360, n), dec=rng.uniform(-90, 90, n))
    assert_chunk_pure(FundamentalPeriod(), t)
    assert_chunk_pure(Wesenheit(), t)
    t = t.with_columns(Wesenheit().compute(t, None))
    assert_chunk_pure(AbsoluteMagnitudes(zero_point=-0.017), t)
    assert_chunk_pure(LmcRegion(), t)
