"""mixture.cartesian: Jacobian propagation against Monte Carlo, chunk purity, bad input."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import ColumnInfo, StageError, Table
from toolkit.plugins.mixture.cartesian_feature import CORRELATIONS, GaiaCartesian
from toolkit.plugins.mixture.cartesian_transform import (astrometry_to_cartesian, cartesian_to_astrometry, jacobian,
                                                         propagate_covariance)
from toolkit.plugins.mixture.covariance_columns import unpack

NAMES = ["X", "Y", "Z", "U", "V", "W"]


def _astrometry_table(n=40, seed=0, with_corr=True):
    rng = np.random.default_rng(seed)
    xyz = np.hstack([rng.normal(0, 80, (n, 3)), rng.normal(-10, 20, (n, 3))])
    a = cartesian_to_astrometry(xyz)
    df = pd.DataFrame(a)
    for k, e in [("ra", 0.05), ("dec", 0.04), ("parallax", 0.08), ("pmra", 0.1), ("pmdec", 0.09),
                 ("radial_velocity", 1.0)]:
        df[f"{k}_error"] = e * (1 + rng.random(n))
    if with_corr:
        for _, _, col in CORRELATIONS:
            df[col] = rng.uniform(-0.3, 0.3, n)
    return Table(df)


def test_round_trip_cartesian_astrometry():
    rng = np.random.default_rng(1)
    xyz = np.hstack([rng.normal(0, 300, (50, 3)), rng.normal(0, 30, (50, 3))])
    a = cartesian_to_astrometry(xyz)
    back = astrometry_to_cartesian(a["ra"], a["dec"], a["parallax"], a["pmra"], a["pmdec"], a["radial_velocity"])
    assert np.allclose(back, xyz, atol=1e-8)


def test_frame_axes_follow_galactic_convention():
    # a star towards the Galactic centre (l=0, b=0) at 100 pc is at X=+100; towards the NGP at Z=+100
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    gc = SkyCoord(l=0 * u.deg, b=0 * u.deg, frame="galactic").icrs
    ngp = SkyCoord(l=0 * u.deg, b=90 * u.deg, frame="galactic").icrs
    out = astrometry_to_cartesian(np.array([gc.ra.deg, ngp.ra.deg]), np.array([gc.dec.deg, ngp.dec.deg]),
                                  np.array([10.0, 10.0]), np.zeros(2), np.zeros(2), np.array([5.0, 0.0]))
    assert np.allclose(out[0, :3], [100, 0, 0], atol=1e-6) and np.isclose(out[0, 3], 5.0)
    assert np.allclose(out[1, :3], [0, 0, 100], atol=1e-6)


def test_jacobian_propagation_matches_monte_carlo():
    """Sample the 6D astrometric Gaussian (with correlations), transform, compare with J C J^T."""
    rng = np.random.default_rng(3)
    ra, dec, plx, pmra, pmdec, rv = 120.0, -35.0, 12.0, 30.0, -45.0, 14.0
    err = np.array([0.3, 0.25, 0.2, 0.3, 0.25, 0.8])   # mas, mas, mas, mas/yr, mas/yr, km/s
    corr = np.eye(6)
    corr[0, 1] = corr[1, 0] = 0.3
    corr[2, 3] = corr[3, 2] = -0.4
    corr[0, 4] = corr[4, 0] = 0.2
    cov_a = corr * np.outer(err, err)
    J = jacobian(*[np.array([v]) for v in (ra, dec, plx, pmra, pmdec, rv)])
    analytic = propagate_covariance(J, cov_a[None])[0]
    draws = rng.multivariate_normal(np.zeros(6), cov_a, size=200_000)
    mas = 1 / 3.6e6
    samples = astrometry_to_cartesian(ra + draws[:, 0] * mas / np.cos(np.radians(dec)), dec + draws[:, 1] * mas,
                                      plx + draws[:, 2], pmra + draws[:, 3], pmdec + draws[:, 4], rv + draws[:, 5])
    mc = np.cov(samples, rowvar=False)
    sd = np.sqrt(np.diag(analytic))
    assert np.allclose(np.sqrt(np.diag(mc)), sd, rtol=0.02)
    assert np.allclose(mc / np.outer(sd, sd), analytic / np.outer(sd, sd), atol=0.02)


def test_feature_outputs_and_chunk_purity(ctx):
    tab = _astrometry_table()
    feat = GaiaCartesian()
    whole = feat.compute(tab, ctx)
    assert len(whole.names()) == 6 + 21 + 1
    assert whole.info["X"].unit == "pc" and whole.info["U"].unit == "km / s"
    assert whole.info["cov_XU"].unit in ("km pc / s", "pc km / s")
    parts = [feat.compute(p, ctx) for p in tab.split(3)]
    for name in whole.names():
        joined = np.concatenate([p.data[name] for p in parts])
        assert np.array_equal(joined, whole.data[name], equal_nan=True), name
    covs = unpack(tab.with_columns(whole), NAMES)
    assert np.all(np.linalg.eigvalsh(covs) > -1e-9)


def test_missing_rv_imputed_and_flagged(ctx):
    tab = _astrometry_table(n=10)
    tab.data.loc[[2, 5], "radial_velocity"] = np.nan
    out = GaiaCartesian(rv_fill=0.0, rv_fill_error=1e4).compute(tab, ctx)
    assert out.data["rv_imputed"].tolist() == [i in (2, 5) for i in range(10)]
    assert out.data["cov_UU"][2] > 1e6 or out.data["cov_VV"][2] > 1e6 or out.data["cov_WW"][2] > 1e6
    assert np.isfinite(out.data["U"]).all()
    assert ctx.notes["run"]["rv_imputed"] == 2


def test_missing_correlations_are_zero_and_recorded(ctx):
    with_corr = _astrometry_table(n=8, with_corr=False)
    out = GaiaCartesian().compute(with_corr, ctx)
    assert sorted(ctx.notes["run"]["missing_correlations"]) == sorted(c for _, _, c in CORRELATIONS)
    # the same table with explicit zero correlations gives identical covariances
    zeros = _astrometry_table(n=8, with_corr=False)
    for _, _, c in CORRELATIONS:
        zeros.data[c] = 0.0
    out0 = GaiaCartesian().compute(zeros, ctx)
    assert np.allclose(out.data["cov_XY"], out0.data["cov_XY"])


def test_bad_rows_give_nan_not_crash(ctx):
    tab = _astrometry_table(n=6)
    tab.data.loc[1, ["ra", "dec", "parallax", "pmra", "pmdec"]] = np.nan
    tab.data.loc[3, "parallax"] = -2.0
    out = GaiaCartesian().compute(tab, ctx)
    assert np.isnan(out.data["X"][[1, 3]]).all() and np.isfinite(out.data["X"][[0, 2, 4, 5]]).all()
    assert ctx.notes["run"]["non_positive_parallax_rows"] == 1


def test_renamed_columns_and_units(ctx):
    tab = _astrometry_table(n=5)
    ref = GaiaCartesian().compute(tab, ctx)
    df = tab.data.rename(columns={"parallax": "plx", "parallax_error": "e_plx"})
    df["plx"] = df["plx"] / 1000.0      # arcsec
    t2 = Table(df, {"plx": ColumnInfo("arcsec")})
    out = GaiaCartesian(columns={"parallax": "plx"}, errors={"parallax": "e_plx"}).compute(t2, ctx)
    assert np.allclose(out.data["X"], ref.data["X"])


def test_missing_parallax_error_is_a_clear_error(ctx):
    tab = _astrometry_table(n=5)
    tab.data = tab.data.drop(columns=["parallax_error"])
    with pytest.raises(StageError, match="parallax_error"):
        GaiaCartesian().compute(tab, ctx)
