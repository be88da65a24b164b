"""Pure kinematic functions: Quantities in, Quantities out, no tables, no run context.

These are the physics behind the ``kinematics.*`` features (``features.py`` wraps
them). They are survey-neutral: any catalogue with ICRS positions, a distance,
proper motions (and a line-of-sight velocity for the 6D functions) can use them.
Every function is vectorised: astropy transforms are called once per array,
never per star. ``astropy.coordinates`` is imported inside the functions so that
listing plugins stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np

#: Sun's peculiar motion relative to the local standard of rest, (U, V, W) in km/s:
#: Schönrich, Binney & Dehnen (2010), MNRAS 403, 1829.
SCHOENRICH2010_SOLAR_MOTION = (11.1, 12.24, 7.25)

#: The lesson's Galactocentric frame (MIT 8.S50 lesson 25): astropy defaults except these.
LESSON_FRAME = {"z_sun_pc": 0.0, "galcen_distance_kpc": 8.1}


def parallax_to_distance(parallax: u.Quantity, zero_point: u.Quantity | float = 0.0) -> u.Quantity:
    """Distance = 1 / (parallax - zero_point); NaN where the corrected parallax is not positive.

    ``zero_point`` is the Gaia convention: the catalogue parallax minus the true
    one (Lindegren et al. 2021 give about -0.02 mas), so it is subtracted.
    """
    plx = u.Quantity(parallax, u.mas)
    zp = u.Quantity(zero_point, u.mas)
    corrected = (plx - zp).to_value(u.mas)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.where(corrected > 0, 1000.0 / corrected, np.nan)
    return dist * u.pc


def lindegren2021_zero_point(phot_g_mean_mag, nu_eff_used_in_astrometry, pseudocolour, ecl_lat,
                             astrometric_params_solved) -> u.Quantity:
    """Gaia EDR3/DR3 parallax zero-point of Lindegren et al. (2021, A&A 649, A4), in mas.

    Uses the reference implementation in the ``gaiadr3-zeropoint`` package
    (module ``zero_point``). Sources outside the calibrated range (6 < G < 21,
    1.1 < nu_eff < 1.9, 1.24 < pseudocolour < 1.72) get the package's
    extrapolated value, as the package does with warnings on.
    """
    try:
        from zero_point import zpt
    except ImportError as exc:  # pragma: no cover - the package is a declared extra
        raise ImportError("zero_point 'lindegren2021' needs the gaiadr3-zeropoint package: "
                          "pip install 'toolkit[zeropoint]'") from exc
    import warnings

    zpt.load_tables()
    solved = np.asarray(astrometric_params_solved)
    g = np.asarray(phot_g_mean_mag, float)
    nu = np.asarray(nu_eff_used_in_astrometry, float)
    pc = np.asarray(pseudocolour, float)
    lat = np.asarray(ecl_lat, float)
    out = np.full(g.shape, np.nan)
    # the package rejects whole arrays containing 2-parameter solutions; they have no zero-point
    ok = np.isin(solved, (31, 95)) & np.isfinite(g) & np.isfinite(lat)
    ok &= np.where(solved == 31, np.isfinite(nu), np.isfinite(pc))
    if ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[ok] = zpt.get_zpt(g[ok], np.where(solved[ok] == 31, nu[ok], np.nan),
                                  np.where(solved[ok] == 95, pc[ok], np.nan), lat[ok], solved[ok].astype(int),
                                  _warnings=True)
    return out * u.mas


def absolute_magnitude(apparent: u.Quantity, distance: u.Quantity) -> u.Quantity:
    """M = m - 5 log10(d / 10 pc) (no extinction: within 100 pc it is a few mmag)."""
    m = u.Quantity(apparent, u.mag).value
    d = u.Quantity(distance, u.pc).to_value(u.pc)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(d > 0, 5.0 * np.log10(d) - 5.0, np.nan)
    return (m - mu) * u.mag


@dataclass
class FrameParameters:
    """Every parameter of astropy's Galactocentric frame, in plain units (for recipes and manifests).

    The defaults are astropy's ``v4.0`` frame: GRAVITY Collaboration (2018)
    distance 8.122 kpc, Bennett & Bovy (2019) height 20.8 pc, solar velocity
    (12.9, 245.6, 7.78) km/s from Drimmel & Poggio (2018), Sgr A* position from
    Reid & Brunthaler (2004). The lesson uses z_sun = 0 pc and 8.1 kpc.
    """

    galcen_distance_kpc: float = 8.122
    z_sun_pc: float = 20.8
    galcen_v_sun_kms: tuple[float, float, float] = (12.9, 245.6, 7.78)
    galcen_ra_deg: float = 266.4051
    galcen_dec_deg: float = -28.936175
    roll_deg: float = 0.0

    def frame(self):
        """The astropy ``Galactocentric`` frame with these parameters."""
        import astropy.coordinates as coord

        return coord.Galactocentric(
            galcen_coord=coord.ICRS(ra=self.galcen_ra_deg * u.deg, dec=self.galcen_dec_deg * u.deg),
            galcen_distance=self.galcen_distance_kpc * u.kpc,
            galcen_v_sun=coord.CartesianDifferential(list(self.galcen_v_sun_kms) * (u.km / u.s)),
            z_sun=self.z_sun_pc * u.pc,
            roll=self.roll_deg * u.deg,
        )

    def as_record(self) -> dict:
        return {"frame": "astropy.coordinates.Galactocentric", "galcen_distance_kpc": self.galcen_distance_kpc,
                "z_sun_pc": self.z_sun_pc, "galcen_v_sun_kms": list(self.galcen_v_sun_kms),
                "galcen_ra_deg": self.galcen_ra_deg, "galcen_dec_deg": self.galcen_dec_deg,
                "roll_deg": self.roll_deg}


def _sky(ra, dec, distance, pmra, pmdec, radial_velocity=None):
    import astropy.coordinates as coord

    kw = dict(ra=u.Quantity(ra, u.deg), dec=u.Quantity(dec, u.deg),
              distance=u.Quantity(distance, u.pc), pm_ra_cosdec=u.Quantity(pmra, u.mas / u.yr),
              pm_dec=u.Quantity(pmdec, u.mas / u.yr))
    if radial_velocity is not None:
        kw["radial_velocity"] = u.Quantity(radial_velocity, u.km / u.s)
    # astropy refuses NaN/negative distances inside Distance; keep NaN rows NaN instead
    d = kw["distance"]
    kw["distance"] = coord.Distance(np.where(np.isfinite(d.value) & (d.value > 0), d.value, np.nan) * d.unit,
                                    allow_negative=True)
    return coord.SkyCoord(frame="icrs", **kw)


def galactocentric(ra, dec, distance, pmra, pmdec, radial_velocity, frame: FrameParameters | None = None) -> dict:
    """Galactocentric Cartesian and cylindrical phase space of every star (one astropy transform).

    Returns Quantities ``x, y, z`` (pc), ``v_x, v_y, v_z`` (km/s), ``R`` (pc),
    ``phi`` (deg, atan2(y, x) in [0, 360); the Sun is near 180 deg), ``v_R`` (km/s,
    positive outwards) and ``v_phi`` (km/s, positive in the direction of
    Galactic rotation, so disc stars near the Sun have about +230 km/s).
    """
    frame = frame or FrameParameters()
    gc = _sky(ra, dec, distance, pmra, pmdec, radial_velocity).transform_to(frame.frame())
    x, y, z = (getattr(gc, k).to(u.pc) for k in ("x", "y", "z"))
    vx, vy, vz = (getattr(gc, k).to(u.km / u.s) for k in ("v_x", "v_y", "v_z"))
    R = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_R = (x * vx + y * vy) / R
        # astropy's frame is right-handed with the Sun moving towards +y at x < 0,
        # so rotation is clockwise seen from the north pole: flip the sign.
        v_phi = -(x * vy - y * vx) / R
    phi = (np.arctan2(y, x).to(u.deg)) % (360 * u.deg)   # [0, 360): continuous around the Sun at 180
    return {"x": x, "y": y, "z": z, "v_x": vx, "v_y": vy, "v_z": vz, "R": R, "phi": phi,
            "v_R": v_R.to(u.km / u.s), "v_phi": v_phi.to(u.km / u.s)}


def lsr_velocity(ra, dec, distance, pmra, pmdec, radial_velocity,
                 solar_motion=SCHOENRICH2010_SOLAR_MOTION) -> dict:
    """Velocity relative to the local standard of rest in Galactic Cartesian axes.

    U points to the Galactic centre, V in the direction of rotation, W to the
    north Galactic pole: heliocentric (U, V, W) plus the Sun's own motion
    relative to the LSR (default Schönrich et al. 2010). Returns ``U_lsr,
    V_lsr, W_lsr, v_lsr`` in km/s.
    """
    gal = _sky(ra, dec, distance, pmra, pmdec, radial_velocity).galactic
    vel = gal.velocity
    sun = u.Quantity(solar_motion, u.km / u.s)
    U = vel.d_x.to(u.km / u.s) + sun[0]
    V = vel.d_y.to(u.km / u.s) + sun[1]
    W = vel.d_z.to(u.km / u.s) + sun[2]
    return {"U_lsr": U, "V_lsr": V, "W_lsr": W, "v_lsr": np.sqrt(U**2 + V**2 + W**2)}


#: km/s per (mas/yr * kpc) = AU/yr in km/s divided by 1000
K_KMS = 4.740470463533348


def tangential(ra, dec, distance, pmra, pmdec, magnitude=None) -> dict:
    """5D kinematics (no line-of-sight velocity): Galactic l, b and tangential velocities.

    ``v_l``, ``v_b`` = 4.74047 km/s * d[kpc] * mu[mas/yr] along Galactic
    longitude/latitude, ``v_tan`` their quadrature sum. With ``magnitude``, the
    reduced proper motion H = m + 5 log10(mu[arcsec/yr]) + 5 (Luyten's, a
    distance-free proxy for absolute magnitude plus tangential velocity).
    """
    import astropy.coordinates as coord

    # A unit distance and zero radial velocity make astropy rotate the proper motions as
    # a full 6D vector (a matrix product) instead of differencing the unit-sphere motion.
    ra_q = u.Quantity(ra, u.deg)
    sky = coord.SkyCoord(ra=ra_q, dec=u.Quantity(dec, u.deg), distance=np.ones(ra_q.shape) * u.kpc,
                         pm_ra_cosdec=u.Quantity(pmra, u.mas / u.yr), pm_dec=u.Quantity(pmdec, u.mas / u.yr),
                         radial_velocity=np.zeros(ra_q.shape) * (u.km / u.s), frame="icrs")
    gal = sky.galactic
    d_kpc = u.Quantity(distance, u.pc).to_value(u.kpc)
    d_kpc = np.where(np.isfinite(d_kpc) & (d_kpc > 0), d_kpc, np.nan)
    mu_l = gal.pm_l_cosb.to_value(u.mas / u.yr)
    mu_b = gal.pm_b.to_value(u.mas / u.yr)
    kms = u.km / u.s
    out = {"l": gal.l.to(u.deg), "b": gal.b.to(u.deg), "v_l": K_KMS * d_kpc * mu_l * kms,
           "v_b": K_KMS * d_kpc * mu_b * kms}
    out["v_tan"] = np.hypot(out["v_l"], out["v_b"])
    if magnitude is not None:
        mu_total = np.hypot(u.Quantity(pmra, u.mas / u.yr), u.Quantity(pmdec, u.mas / u.yr)).to_value(u.arcsec / u.yr)
        with np.errstate(divide="ignore", invalid="ignore"):
            H = np.where(mu_total > 0, u.Quantity(magnitude, u.mag).value + 5 * np.log10(mu_total) + 5, np.nan)
        out["reduced_pm"] = H * u.mag
    return out
