"""The velocity model of ``gaia.mock``: local thin/thick-disc and halo ellipsoids from published kinematics.

Why a calibration: the first mock took Bensby et al.'s asymmetric drifts as velocities
relative to the Schönrich et al. (2010) LSR and then subtracted that paper's solar motion
(V_sun = 12.24 km/s). Bensby's drifts are measured against the older, Strömberg-relation
LSR (V_sun = 5.23 km/s, Dehnen & Binney 1998), so the 7 km/s by which Schönrich et al.
revised V_sun was counted twice and the mock's mean heliocentric V came out about 7 km/s
too negative. Here every mean is first fixed where it is observed, in the heliocentric
frame, and only then expressed relative to the Schönrich LSR that the features use.

Numbers and where they come from (km/s)
---------------------------------------
- Sun relative to the LSR (U, V, W) = (11.1, 12.24, 7.25): Schönrich, Binney & Dehnen
  (2010, MNRAS 403, 1829), abstract; systematic uncertainties (1, 2, 0.5).
- Zero-dispersion heliocentric V of the Strömberg fit, V0 = 5.23 +- 0.62: Dehnen & Binney
  (1998, MNRAS 298, 387), abstract (Hipparcos main-sequence stars, mostly within 100 pc).
  The mean heliocentric V of a disc group with radial dispersion sigma_U is
  ``-V0 - sigma_U**2 / k`` with k = 80 km/s (Strömberg's relation as fitted by Dehnen &
  Binney 1998, as I recall it, usually quoted as v_a = sigma_R^2 / (80 +- 5 km/s); not
  re-checked against the paper here). I am not certain whether their fit used sigma_U^2 or the
  total S^2; sigma_U^2 is used because with sigma_U = 35 it gives Bensby's thin-disc drift
  of -15 below, whereas S^2 would give -24. Tolerance of this mean: +-3 km/s.
- Population ellipsoids (sigma_U, sigma_V, sigma_W) and drifts V_asym: Bensby, Feltzing &
  Lundström (2003, A&A 410, 527), Table 1, repeated in Bensby, Feltzing & Oey (2014, A&A 562,
  A71), Table A.1: thin disc (35, 20, 16), -15; thick disc (67, 38, 35), -46; halo
  (160, 90, 90), -220. Bensby et al. (2003) give velocities relative to the LSR of Dehnen &
  Binney (1998) (as I recall the paper; not re-checked here. The thin-disc value is
  consistent with it: 35^2/80 = 15.3. If they used another solar motion the thick-disc and
  halo means shift by up to 7 km/s, small against their dispersions).
  Heliocentric mean V = V_asym - V0.
- Colour dependence of the thin disc (the age-velocity relation seen through colour):
  Dehnen & Binney (1998), abstract: the largest principal dispersion rises from 20 km/s at
  B-V = 0.2 to 38 km/s at Parenago's discontinuity, B-V = 0.62, and is constant redward;
  the principal dispersions keep the ratios 2.2 : 1.4 : 1 (except for B-V < 0.1). The mock
  scales the thin-disc ellipsoid by 20/38 at B-V = 0.2 rising linearly to 1 at B-V = 0.62
  (held at 20/38 bluer). B-V is mapped to Gaia BP-RP by the dwarf table of Pecaut & Mamajek
  (2013, ApJS 208, 9): B-V 0.2 ~ BP-RP 0.30, 0.62 ~ 0.78 (approximate, +-0.03 mag).
  Subgiants, giants and white dwarfs are old: unscaled.
- Check values the tests use (not inputs): Dehnen & Binney (1998) red main sequence
  sigma_1 = 38 with ratios 2.2 : 1.4 : 1, i.e. (38, 24.2, 17.3); Fuchs et al. (2009, AJ 137,
  4149), abstract: SDSS M dwarfs in the mid-plane have heliocentric <U> = -9 +- 1,
  <V> = -20 +- 2, <W> = -7 +- 1.
"""

from __future__ import annotations

import numpy as np

from .kinematics import SCHOENRICH2010_SOLAR_MOTION

#: Dehnen & Binney (1998): heliocentric V of a zero-dispersion population, and Strömberg's k
DB98_V0, STROMBERG_K = 5.23, 80.0
#: Bensby et al. (2003) Table 1 / (2014) Table A.1: (sigma_U, sigma_V, sigma_W, V_asym), km/s
BENSBY_ELLIPSOIDS = {"thin_disc": (35.0, 20.0, 16.0, -15.0), "thick_disc": (67.0, 38.0, 35.0, -46.0),
                     "halo": (160.0, 90.0, 90.0, -220.0)}
#: Dehnen & Binney (1998): sigma_1 = 20 km/s at B-V = 0.2, 38 km/s from B-V = 0.62; as BP-RP (Pecaut & Mamajek)
DB98_SIGMA1_BLUE, DB98_SIGMA1_RED = 20.0, 38.0
PARENAGO_BP_RP, BLUE_BP_RP = 0.78, 0.30
#: Dehnen & Binney (1998) red-star principal dispersions, 38 km/s in the ratios 2.2 : 1.4 : 1 (a check value)
DB98_RED_DISPERSIONS = (38.0, 38.0 / 2.2 * 1.4, 38.0 / 2.2)
#: Fuchs et al. (2009): heliocentric mean (U, V, W) of mid-plane M dwarfs, with their 1-sigma errors
FUCHS2009_MEAN_UVW = ((-9.0, 1.0), (-20.0, 2.0), (-7.0, 1.0))


def heliocentric_mean_v(sigma_u, v_asym=None):
    """Mean heliocentric V (km/s): Bensby's drift when given, else Strömberg's relation; both minus V0."""
    drift = -np.asarray(sigma_u, float) ** 2 / STROMBERG_K if v_asym is None else v_asym
    return drift - DB98_V0


def thin_disc_scale(bp_rp):
    """Thin-disc dispersion scale by colour (Dehnen & Binney 1998): 20/38 blue of B-V 0.2, 1 redward of 0.62."""
    lo = DB98_SIGMA1_BLUE / DB98_SIGMA1_RED
    t = np.clip((np.asarray(bp_rp, float) - BLUE_BP_RP) / (PARENAGO_BP_RP - BLUE_BP_RP), 0.0, 1.0)
    return lo + (1.0 - lo) * t


def ellipsoid(pop: str, n: int, young_scale=None):
    """(sigma_U, sigma_V, sigma_W, mean heliocentric V) arrays for ``n`` stars of ``pop``.

    ``young_scale`` (thin disc only) scales the dispersions per star; the mean V then follows
    Strömberg's relation for the scaled sigma_U, which for scale 1 equals Bensby's drift within
    0.3 km/s (35^2/80 = 15.3).
    """
    su, sv, sw, va = BENSBY_ELLIPSOIDS[pop]
    scale = np.ones(n) if young_scale is None else np.asarray(young_scale, float)
    if pop == "thin_disc":
        mean_v = heliocentric_mean_v(su * scale)
    else:
        mean_v = np.full(n, heliocentric_mean_v(su, va))
    return su * scale, sv * scale, sw * scale, mean_v


def sample_disc_halo(kin_pop: np.ndarray, young_scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heliocentric (U, V, W) in km/s for thin_disc / thick_disc / halo stars (others left at zero).

    U and W means are the reflex of the Sun's motion (Schönrich et al. 2010): a population has
    no net radial or vertical motion relative to the LSR. V's mean is the heliocentric value above.
    """
    n = len(kin_pop)
    vel = np.zeros((n, 3))
    sun_u, _, sun_w = SCHOENRICH2010_SOLAR_MOTION
    for pop in BENSBY_ELLIPSOIDS:
        sel = kin_pop == pop
        k = int(sel.sum())
        su, sv, sw, mean_v = ellipsoid(pop, k, young_scale[sel] if pop == "thin_disc" else None)
        vel[sel] = np.column_stack([-sun_u + rng.normal(0, 1, k) * su, mean_v + rng.normal(0, 1, k) * sv,
                                    -sun_w + rng.normal(0, 1, k) * sw])
    return vel
