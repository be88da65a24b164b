"""Vectorised orbit summaries against gala's own methods and against analytic orbits."""

from __future__ import annotations

import numpy as np
import pytest

import gala  # noqa: E402,F401  (a hard dependency: a broken install must fail, not skip)

import astropy.units as u  # noqa: E402

from toolkit.plugins.orbits.integration import OrbitIntegrator, summarise_orbits  # noqa: E402
from toolkit.plugins.orbits.potentials import build_potential  # noqa: E402
from toolkit.plugins.orbits.summaries import orbit_summaries  # noqa: E402


@pytest.fixture(scope="module")
def mw():
    return build_potential("MilkyWayPotential", "v2")


def _solar_neighbourhood_stars(n, seed=2):
    rng = np.random.default_rng(seed)
    pos = np.stack([-8.1 + rng.normal(0, 0.05, n), rng.normal(0, 0.05, n), rng.normal(0, 0.05, n)])
    vel = np.stack([rng.normal(0, 60, n), 210 + rng.normal(0, 50, n), rng.normal(0, 50, n)])
    return pos, vel


def test_summaries_agree_with_gala_methods(mw):
    import gala.dynamics as gd

    pos, vel = _solar_neighbourhood_stars(40)
    integ = OrbitIntegrator(mw, 1.0, 500)
    xyz, t = integ.orbits(pos, vel)
    mine = orbit_summaries(xyz, t)
    orbit = gd.Orbit(pos=xyz * u.kpc, vel=np.zeros_like(xyz) * u.kpc / u.Myr, t=t * u.Myr)
    theirs = {"zmax": orbit.zmax().to_value(u.kpc), "rperi": orbit.pericenter().to_value(u.kpc),
              "rapo": orbit.apocenter().to_value(u.kpc), "ecc": np.asarray(orbit.eccentricity())}
    for key, ref in theirs.items():
        ok = np.isfinite(ref)
        assert ok.sum() >= 30, key            # 500 Myr: most orbits show turning points
        np.testing.assert_allclose(mine[key][ok], ref[ok], rtol=1e-9, err_msg=key)


def test_circular_orbit_has_zero_eccentricity_and_zmax(mw):
    vc = mw.circular_velocity([8.1, 0, 0] * u.kpc).to_value(u.km / u.s)[0]
    integ = OrbitIntegrator(mw, 1.0, 300, integrator="dopri853")
    res = summarise_orbits(integ, np.array([[-8.1], [0.0], [0.0]]), np.array([[0.0], [vc], [0.0]]))
    assert res.values["ecc"][0] < 1e-6
    assert res.values["zmax"][0] < 1e-9
    assert res.values["rperi"][0] == pytest.approx(8.1, rel=1e-6)
    assert res.circular[0] and np.isnan(res.values["period_r"][0])


def test_kepler_orbit_eccentricity_and_radial_period():
    """Kepler ellipse: e and the radial period 2 pi sqrt(a^3 / GM) are known exactly."""
    from astropy.constants import G

    m = 1e11
    kepler = build_potential("KeplerPotential", parameters={"m": m})
    gm = (G * m * u.Msun).to_value(u.kpc**3 / u.Myr**2)
    r0 = 10.0
    v_circ = np.sqrt(gm / r0)
    v0 = 0.8 * v_circ                                 # start at apocentre, tangential speed below circular
    e_true = 1 - 0.8**2
    a = r0 / (1 + e_true)
    period_true = 2 * np.pi * np.sqrt(a**3 / gm)
    vel_kms = v0 / 1.0227121650537077e-3
    integ = OrbitIntegrator(kepler, 0.5, int(4 * period_true / 0.5), integrator="dopri853")
    res = summarise_orbits(integ, np.array([[r0], [0.0], [0.0]]), np.array([[0.0], [vel_kms], [0.0]]))
    assert res.values["ecc"][0] == pytest.approx(e_true, rel=2e-3)
    assert res.values["period_r"][0] == pytest.approx(period_true, rel=2e-3)
    assert res.radial_turns[0] >= 6


def test_short_integration_reports_bounds_not_nan(mw):
    """Over 20 Myr no radial turning point: extremes reached are given and the period is NaN."""
    pos, vel = _solar_neighbourhood_stars(5, seed=4)
    res = summarise_orbits(OrbitIntegrator(mw, 1.0, 20), pos, vel)
    assert np.all(res.radial_turns < 2)
    assert np.all(np.isnan(res.values["period_r"]))
    assert np.all(np.isfinite(res.values["ecc"])) and np.all(res.values["ecc"] >= 0)


def test_max_mode_is_at_least_the_mean_mode(mw):
    pos, vel = _solar_neighbourhood_stars(30, seed=5)
    xyz, t = OrbitIntegrator(mw, 1.0, 400).orbits(pos, vel)
    mean, top = orbit_summaries(xyz, t, "mean"), orbit_summaries(xyz, t, "max")
    assert np.all(top["zmax"] >= mean["zmax"] - 1e-12)
    assert np.all(top["rapo"] >= mean["rapo"] - 1e-12)
    assert np.all(top["rperi"] <= mean["rperi"] + 1e-12)
    np.testing.assert_allclose(top["zmax"], np.abs(xyz[2]).max(0), rtol=1e-3)


def test_bad_extrema_mode_and_shape():
    with pytest.raises(ValueError, match="extrema"):
        orbit_summaries(np.zeros((3, 5, 2)), np.arange(5.0), "median")
    with pytest.raises(ValueError, match="shape"):
        orbit_summaries(np.zeros((2, 5, 2)), np.arange(5.0))


def test_failing_stars_are_isolated_in_a_batch(mw):
    """DOPRI853 gives up on the whole batch when one star starts at the centre; the rest survive."""
    pos, vel = _solar_neighbourhood_stars(7, seed=6)
    pos[:, 3] = 0.0
    vel[:, 3] = 0.0
    res = summarise_orbits(OrbitIntegrator(mw, 1.0, 50, integrator="dopri853"), pos, vel, chunk_size=4)
    assert res.failed.tolist() == [False, False, False, True, False, False, False]
    assert np.isnan(res.values["zmax"][3])
    assert np.all(np.isfinite(res.values["zmax"][~res.failed]))
    assert res.errors and "1 star(s)" in res.errors[0]


def test_chunking_and_threads_do_not_change_results(mw):
    pos, vel = _solar_neighbourhood_stars(50, seed=7)
    integ = OrbitIntegrator(mw, 1.0, 100)
    one = summarise_orbits(integ, pos, vel, chunk_size=50, workers=1)
    many = summarise_orbits(integ, pos, vel, chunk_size=7, workers=2)
    for key in one.values:
        np.testing.assert_allclose(one.values[key], many.values[key], rtol=1e-10, equal_nan=True)
    assert (one.radial_turns == many.radial_turns).all()


def test_continued_orbits_equal_one_long_integration(mw):
    """A star continued segment by segment gets the summaries of one integration as long as its own."""
    pos, vel = _solar_neighbourhood_stars(60, seed=5)
    short = summarise_orbits(OrbitIntegrator(mw, 1.0, 50), pos, vel)
    assert (short.radial_turns < 2).mean() > 0.5            # 50 Myr: most orbits show no peri + apo
    cont = summarise_orbits(OrbitIntegrator(mw, 1.0, 50), pos, vel, min_radial_turns=2, max_segments=40)
    assert ((cont.radial_turns >= 2) | cont.circular).all() and (cont.z_turns >= 1).all()
    assert set(np.unique(cont.duration)) <= {50.0 * k for k in range(1, 41)}
    for d in np.unique(cont.duration):
        rows = np.flatnonzero(cont.duration == d)
        ref = summarise_orbits(OrbitIntegrator(mw, 1.0, int(d)), pos[:, rows], vel[:, rows])
        for key in ("rperi", "rapo", "zmax", "ecc", "period_r"):
            assert np.allclose(cont.values[key][rows], ref.values[key], rtol=1e-6, equal_nan=True), (key, d)
        assert (cont.radial_turns[rows] == ref.radial_turns).all()
