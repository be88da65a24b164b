"""kinematics.* features: hand-computed values, astropy agreement, units, errors, chunk purity."""

from __future__ import annotations

import astropy.coordinates as coord
import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from toolkit.core import ColumnInfo, RunContext, StageError, Table
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.gaia.features import AbsoluteMagnitude, Distance, Galactocentric, Tangential
from toolkit.plugins.gaia.kinematics import SCHOENRICH2010_SOLAR_MOTION
from toolkit.plugins.gaia.mock import GaiaMock

GAIA_UNITS = {"ra": "deg", "dec": "deg", "parallax": "mas", "pmra": "mas / yr", "pmdec": "mas / yr",
              "radial_velocity": "km / s", "distance": "pc", "phot_g_mean_mag": "mag"}


def make_table(**cols) -> Table:
    info = {k: ColumnInfo(GAIA_UNITS.get(k)) for k in cols}
    return Table(pd.DataFrame({k: np.atleast_1d(np.asarray(v, float)) for k, v in cols.items()}), info)


def icrs_columns(sky: coord.SkyCoord) -> dict:
    s = sky.icrs
    return dict(ra=s.ra.deg, dec=s.dec.deg, distance=s.distance.to_value(u.pc),
                pmra=s.pm_ra_cosdec.to_value(u.mas / u.yr), pmdec=s.pm_dec.to_value(u.mas / u.yr),
                radial_velocity=s.radial_velocity.to_value(u.km / u.s))


@pytest.fixture(scope="module")
def mock():
    t = GaiaMock(n_stars=3000).load(RunContext(seed=2, show_progress=False))
    return t.with_columns(Distance().compute(t, None))


# -- distance -------------------------------------------------------------------------

def test_distance_is_inverse_parallax_with_constant_zero_point(ctx):
    t = make_table(parallax=[10.0, 50.0, -1.0, 0.0])
    d = Distance().compute(t, ctx).data["distance"]
    np.testing.assert_allclose(d[:2], [100.0, 20.0])
    assert np.isnan(d[2:]).all()
    d_zp = Distance(zero_point=-0.02).compute(t, ctx)
    np.testing.assert_allclose(d_zp.data["distance"][0], 1000 / 10.02)
    assert d_zp.info["distance"].unit == "pc"


def test_parallax_in_other_units_is_converted(ctx):
    t = make_table(parallax=[0.01])
    t.info["parallax"] = ColumnInfo("arcsec")
    assert Distance().compute(t, ctx).data["distance"][0] == pytest.approx(100.0)
    t.info["parallax"] = ColumnInfo("km / s")
    with pytest.raises(StageError, match="cannot be converted"):
        Distance().compute(t, ctx)


def test_lindegren_zero_point_matches_the_reference_package(ctx):
    from zero_point import zpt

    zpt.load_tables()
    cols = dict(parallax=[10.0, 20.0], phot_g_mean_mag=[12.0, 15.0], nu_eff_used_in_astrometry=[1.5, np.nan],
                pseudocolour=[np.nan, 1.45], ecl_lat=[10.0, -40.0], astrometric_params_solved=[31, 95])
    t = make_table(**cols)
    out = Distance(zero_point="lindegren2021").compute(t, ctx).data
    arr = lambda *v: np.array(v, dtype=float)  # noqa: E731  (the package's scalar path fails on numpy 2)
    expected = [zpt.get_zpt(arr(12.0), arr(1.5), arr(np.nan), arr(10.0), arr(31))[0],
                zpt.get_zpt(arr(15.0), arr(np.nan), arr(1.45), arr(-40.0), arr(95))[0]]
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(out["parallax_zero_point"], expected)
    np.testing.assert_allclose(out["distance"], 1000 / (np.array([10.0, 20.0]) - expected))


def test_lindegren_zero_point_without_its_columns_says_which(ctx):
    with pytest.raises(StageError, match="nu_eff_used_in_astrometry.*pseudocolour"):
        Distance(zero_point="lindegren2021").compute(make_table(parallax=[10.0]), ctx)


def test_missing_parallax_column_is_named(ctx):
    with pytest.raises(StageError, match="'parallax'"):
        Distance().compute(make_table(plx=[10.0]), ctx)


# -- absolute magnitude --------------------------------------------------------------

def test_absolute_magnitude_and_colour(ctx):
    t = make_table(phot_g_mean_mag=[10.0], phot_bp_mean_mag=[10.5], phot_rp_mean_mag=[9.4], distance=[100.0])
    out = AbsoluteMagnitude().compute(t, ctx)
    assert out.data["M_G"][0] == pytest.approx(5.0)
    assert out.data["M_BP"][0] == pytest.approx(5.5)
    assert out.data["M_RP"][0] == pytest.approx(4.4)
    assert out.data["bp_rp"][0] == pytest.approx(1.1)
    assert out.info["M_G"].unit == "mag"


def test_absolute_magnitude_custom_bands_and_bad_colour(ctx):
    t = make_table(Hpmag=[8.0], dist=[10.0])
    out = AbsoluteMagnitude(magnitudes={"Hp": "Hpmag"}, distance_column="dist", colour=None).compute(t, ctx)
    assert out.names() == ["M_Hp"] and out.data["M_Hp"][0] == pytest.approx(8.0)
    with pytest.raises(ValueError, match="two bands"):
        AbsoluteMagnitude(magnitudes={"Hp": "Hpmag"}, colour=["Hp", "V"])
    with pytest.raises(StageError, match="phot_bp_mean_mag"):
        AbsoluteMagnitude().compute(make_table(phot_g_mean_mag=[1.0], distance=[10.0]), ctx)


# -- galactocentric --------------------------------------------------------------------

LESSON = dict(z_sun=0.0, galcen_distance=8.1)


def test_star_towards_the_centre_in_the_lesson_frame(ctx):
    """100 pc towards l = b = 0 with z_sun = 0: x = -8100 + 100 pc, y = z = 0."""
    sky = coord.SkyCoord(l=0 * u.deg, b=0 * u.deg, distance=100 * u.pc, pm_l_cosb=0 * u.mas / u.yr,
                         pm_b=0 * u.mas / u.yr, radial_velocity=0 * u.km / u.s, frame="galactic")
    out = Galactocentric(**LESSON).compute(make_table(**icrs_columns(sky)), ctx).data
    assert out["x"][0] == pytest.approx(-8000.0, abs=0.5)
    assert abs(out["y"][0]) < 0.5 and abs(out["z"][0]) < 0.5
    assert out["R"][0] == pytest.approx(8000.0, abs=0.5)
    assert out["phi"][0] == pytest.approx(180.0, abs=0.01)
    # a star at rest relative to the Sun moves with the Sun's Galactocentric velocity
    np.testing.assert_allclose([out["v_x"][0], out["v_y"][0], out["v_z"][0]], [12.9, 245.6, 7.78], atol=1e-6)
    assert out["v_phi"][0] == pytest.approx(245.6, abs=0.05)
    # and relative to the LSR it moves with the Sun's peculiar motion
    np.testing.assert_allclose([out["U_lsr"][0], out["V_lsr"][0], out["W_lsr"][0]], SCHOENRICH2010_SOLAR_MOTION,
                               atol=1e-6)


def test_star_at_rest_in_the_galaxy_and_star_moving_with_the_lsr(ctx):
    frame = coord.Galactocentric(z_sun=0 * u.pc, galcen_distance=8.1 * u.kpc)
    rest = coord.SkyCoord(x=-8.05 * u.kpc, y=0.03 * u.kpc, z=0.02 * u.kpc, v_x=0 * u.km / u.s, v_y=0 * u.km / u.s,
                          v_z=0 * u.km / u.s, frame=frame)
    out = Galactocentric(**LESSON).compute(make_table(**icrs_columns(rest)), ctx).data
    np.testing.assert_allclose([out["v_x"][0], out["v_y"][0], out["v_z"][0]], 0.0, atol=1e-6)
    np.testing.assert_allclose([out["x"][0], out["y"][0], out["z"][0]], [-8050, 30, 20], atol=1e-6)
    U, V, W = SCHOENRICH2010_SOLAR_MOTION
    lsr = coord.SkyCoord(l=123 * u.deg, b=-30 * u.deg, distance=40 * u.pc, frame="galactic",
                         representation_type="spherical").cartesian
    helio = coord.SkyCoord(lsr.with_differentials(coord.CartesianDifferential([-U, -V, -W] * u.km / u.s)),
                           frame="galactic")
    out = Galactocentric(**LESSON).compute(make_table(**icrs_columns(helio)), ctx).data
    np.testing.assert_allclose([out["U_lsr"][0], out["V_lsr"][0], out["W_lsr"][0], out["v_lsr"][0]], 0.0, atol=1e-6)


def test_matches_astropy_for_many_stars_and_records_the_frame(mock, ctx):
    cfg = dict(galcen_distance=8.3, z_sun=25.0, galcen_v_sun=(11.0, 250.0, 7.0), roll=0.1)
    out = Galactocentric(**cfg).compute(mock, ctx).data
    d = mock.data
    ref = coord.SkyCoord(ra=d["ra"].values * u.deg, dec=d["dec"].values * u.deg,
                         distance=d["distance"].values * u.pc, pm_ra_cosdec=d["pmra"].values * u.mas / u.yr,
                         pm_dec=d["pmdec"].values * u.mas / u.yr,
                         radial_velocity=d["radial_velocity"].values * u.km / u.s).transform_to(
        coord.Galactocentric(galcen_distance=8.3 * u.kpc, z_sun=25 * u.pc, roll=0.1 * u.deg,
                             galcen_v_sun=[11.0, 250.0, 7.0] * u.km / u.s))
    np.testing.assert_allclose(out["x"], ref.x.to_value(u.pc), rtol=1e-12)
    np.testing.assert_allclose(out["v_z"], ref.v_z.to_value(u.km / u.s), rtol=1e-9, atol=1e-9)
    assert ctx.notes["run"]["frame"]["galcen_distance_kpc"] == 8.3
    assert ctx.notes["run"]["frame"]["z_sun_pc"] == 25.0


def test_configurable_input_columns_and_missing_rv(mock, ctx):
    renamed = Table(mock.data.rename(columns={"radial_velocity": "RV", "ra": "RAdeg"}),
                    {({"radial_velocity": "RV", "ra": "RAdeg"}).get(k, k): v for k, v in mock.info.items()},
                    mock.id_column)
    a = Galactocentric(columns={"radial_velocity": "RV", "ra": "RAdeg"}).compute(renamed, ctx).data
    b = Galactocentric().compute(mock, ctx).data
    np.testing.assert_allclose(a["v_x"], b["v_x"])
    with pytest.raises(StageError, match="'radial_velocity'"):
        Galactocentric().compute(renamed, ctx)


# -- tangential -------------------------------------------------------------------------

def test_tangential_hand_values(ctx):
    """1 arcsec/yr at 10 pc is 47.4 km/s; H = m + 5 log10(1) + 5."""
    t = make_table(ra=[30.0], dec=[20.0], distance=[10.0], pmra=[600.0], pmdec=[800.0], phot_g_mean_mag=[10.0])
    out = Tangential().compute(t, ctx).data
    assert out["v_tan"][0] == pytest.approx(47.4047, abs=1e-3)
    assert out["reduced_pm"][0] == pytest.approx(15.0)
    assert np.hypot(out["v_l"][0], out["v_b"][0]) == pytest.approx(out["v_tan"][0])


def test_tangential_matches_astropy_galactic(mock, ctx):
    out = Tangential(magnitude_column=None).compute(mock, ctx)
    assert "reduced_pm" not in out
    d = mock.data
    ref = coord.SkyCoord(ra=d["ra"].values * u.deg, dec=d["dec"].values * u.deg,
                         pm_ra_cosdec=d["pmra"].values * u.mas / u.yr, pm_dec=d["pmdec"].values * u.mas / u.yr).galactic
    np.testing.assert_allclose(out.data["l"], ref.l.deg, atol=1e-9)
    np.testing.assert_allclose(out.data["v_b"], 4.740470463533348 * d["distance"] / 1000 * ref.pm_b.value,
                               rtol=1e-7, atol=1e-7)


def test_tangential_with_hipparcos_like_names_and_no_units(ctx):
    t = Table(pd.DataFrame({"RArad": [30.0], "DErad": [20.0], "dist": [10.0], "pmRA": [600.0], "pmDE": [800.0],
                            "Hpmag": [10.0]}))
    hip = Tangential(columns={"ra": "RArad", "dec": "DErad", "distance": "dist", "pmra": "pmRA", "pmdec": "pmDE"},
                     magnitude_column="Hpmag")
    out = hip.compute(t, ctx).data
    assert out["v_tan"][0] == pytest.approx(47.4047, abs=1e-3)
    with pytest.raises(StageError, match="'Hpmag'"):
        hip.compute(Table(t.data.drop(columns="Hpmag")), ctx)


# -- chunk purity --------------------------------------------------------------------

@pytest.mark.parametrize("feature", [Distance(), Distance(zero_point=-0.017), AbsoluteMagnitude(),
                                     Galactocentric(**LESSON), Tangential()], ids=lambda f: f.name)
def test_features_are_chunk_pure(feature, mock, ctx):
    assert_chunk_pure(feature, mock, n_chunks=3, ctx=ctx, rtol=1e-12, atol=1e-12)
