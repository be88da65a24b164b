"""``gaia.mock``: a simulated Gaia DR3 (or DR2) 100 pc radial-velocity sample, with truth labels.

It mimics the MIT 8.S50 lesson's selection (``parallax > 10 AND
parallax_over_error > 10 AND radial_velocity IS NOT NULL``; about 170,000 real
stars) so the gaia_kinematic recipe runs offline and can be scored against
truth. Everything is vectorised NumPy; 10^6 stars take a few seconds.

How a star is made
------------------
1. Population (column ``truth_population``), fractions of the *selected* sample:

   ============  =========  ======================================================
   thin_disc     0.9086     Bensby, Feltzing & Oey (2014, A&A 562, A71), Table A.1:
   thick_disc    0.0899     local fractions X = 0.85 / 0.09 / 0.0015 and 0.06 for the
   halo          0.0015     Hercules stream, folded into the thin disc; renormalised
   white_dwarf   3e-4       a choice (see below)
   hypervelocity 6e-5       injected test objects (10 per 170k), not a measured rate
   ============  =========  ======================================================

   White dwarfs: about 2,500 lie within 100 pc (Jiménez-Esteban et al. 2018),
   but DR3 publishes radial velocities only for G_RVS <= 14 and for spectra the
   RVS pipeline can template-match (Katz et al. 2023, A&A 674, A5); the
   featureless Ca-triplet region of a white dwarf rarely gives one. The lesson's
   170k-star HR diagram shows a few dozen points on the white-dwarf sequence, so
   3e-4 (about 50 stars) is used; white dwarfs take disc kinematics
   (thin:thick as above).

2. Kinematics (U towards the Galactic centre, V along rotation, W to the north
   pole), Gaussian per population; the numbers, their sources and tolerances are
   in ``mock_kinematics.py``. Dispersions (sigma_U, sigma_V, sigma_W) from Bensby
   et al. (2003, 2014): thin disc (35, 20, 16) km/s, thick disc (67, 38, 35), halo
   (160, 90, 90). Mean heliocentric V = Bensby's drift (-15, -46, -220) minus the
   Strömberg-fit V0 = 5.23 km/s of Dehnen & Binney (1998, MNRAS 298, 387), the LSR
   the drifts are measured against (so about -20, -51, -225 km/s). Thin-disc
   main-sequence stars bluer than Parenago's discontinuity (BP-RP 0.78) are
   younger and colder: their dispersions scale with colour as Dehnen & Binney
   measured (20/38 at B-V = 0.2) and their mean V follows Strömberg's relation
   -V0 - sigma_U^2/80. Mean U and W are the reflex of the Sun's motion.
   Hypervelocity stars: Galactic rest-frame speeds uniform in 600-1000 km/s
   (the range of the unbound B-star HVSs, Brown 2015, ARA&A 53, 15), directed
   away from the Galactic centre within 20 degrees; converted to the LSR with a
   circular speed of 233.4 km/s (astropy's default Sun velocity 245.6 km/s minus
   the Sun's V = 12.24 km/s).
   The Sun's motion relative to the LSR is (U, V, W) = (11.1, 12.24, 7.25) km/s
   (Schönrich, Binney & Dehnen 2010), the LSR the ``kinematics.*`` features use.

3. Colour-magnitude diagram (absolute G, BP-RP; no extinction inside the Local
   Bubble). Stage (column ``truth_stage``), fractions of non-white-dwarf stars:
   subgiant 0.04, red giant branch 0.004, red clump 0.004 (choices that
   reproduce the sparse giant branch of the 100 pc HR diagram of Gaia
   Collaboration, Babusiaux et al. 2018, A&A 616, A10), the rest main sequence.
   - Main sequence: the dwarf locus (BP-RP, M_G) = (0.00, 1.3), (0.19, 2.0),
     (0.38, 2.6), (0.55, 3.3), (0.72, 4.2), (0.82, 4.67), (0.98, 5.7),
     (1.40, 7.0), (1.84, 8.4), (2.20, 9.6), (2.80, 11.6), (3.30, 13.1),
     rounded from the Pecaut & Mamajek (2013, ApJS 208, 9) dwarf table (its
     2022 version lists Gaia colours). It stops at BP-RP = 3.3 (Teff ~ 3100 K,
     the coolest RVS template; Katz et al. 2023). Intrinsic colour scatter 0.04
     mag; 30% unresolved binaries brightened by U(0, 0.75) mag (equal-mass
     twins give 0.75; Raghavan et al. 2010 find a ~0.3 companion fraction).
     The volume luminosity function (relative density per magnitude) at
     M_G = 1..13: 0.02, 0.05, 0.12, 0.25, 0.35, 0.45, 0.55, 0.7, 0.9, 1.0,
     1.0, 0.9, 0.7 (shape after the 100 pc sample of Gaia Collaboration, Smart
     et al. 2021, A&A 649, A6, rounded; only the shape matters because n_stars
     fixes the total). It is multiplied by each magnitude's V_max (below), so
     the magnitude limit shapes the sample as it does in DR3.
   - Metal-poor stars sit below the solar-metallicity locus at fixed colour:
     +0.3 mag for the thick disc, +0.9 mag for halo subdwarfs ([Fe/H] ~ -0.5
     and -1.5; cf. Gaia Collaboration, Babusiaux et al. 2018, Fig. 21).
   - Subgiants: BP-RP uniform 0.6-1.0, M_G = 3.6 - 1.0 (BP-RP - 0.6) +- 0.3.
   - Red giant branch: BP-RP 1.0-1.7, M_G = 3.0 - 6.4 (BP-RP - 1.0) +- 0.25,
     weighted towards the base (more time spent there).
   - Red clump: M_G = 0.44 +- 0.2, BP-RP = 1.23 +- 0.05 (Ruiz-Dern et al.
     2018, A&A 609, A116).
   - White dwarfs: BP-RP uniform -0.3 to 1.0 before V_max weighting,
     M_G = 11.6 + 3.4 BP-RP +- 0.25 (the DA cooling sequence of Gaia
     Collaboration, Babusiaux et al. 2018, Fig. 6, straightened).
   - G - G_RP = 0.60 x - 0.055 x^2 with x = BP-RP (a quadratic through the dwarf
     colours of Pecaut & Mamajek 2013: 0.47 at the Sun's 0.82, 1.30 at 3.0).

4. Selection and space distribution. ``release`` picks the radial-velocity
   selection (``RELEASES``): DR3 publishes radial velocities for G_RVS <= 14 and
   templates of 3100-14500 K (Katz et al. 2023; the mock's bluest star is
   BP-RP 0.0); DR2 for G_RVS <= 12 and 3550-6900 K (Katz et al. 2019, A&A 622,
   A205), BP-RP 0.50-2.25 by the Pecaut & Mamajek (2013) dwarf table
   (approximate, +-0.05 mag); DR2 has no white dwarfs (a DA or DC spectrum has
   no lines a 3550-6900 K template can match), so with ``release: dr2`` the
   white-dwarf fraction of the selected sample is 0 and the others share its
   3e-4. G_RVS - G_RP = -0.0397 - 0.2852 x -
   0.0330 x^2 - 0.0867 x^3 for x <= 1.2 (Sartoretti et al. 2023, A&A 674, A6,
   Eq. 2), held at its x = 1.2 value (-0.58) for redder stars (an
   approximation). Each star's V_max distance is where G_RVS reaches the limit, capped
   at 100.5 pc; the star is placed uniformly in volume inside it, weighted by
   the vertical density exp(-|z|/h) with the Sun 20.8 pc above the plane
   (Bennett & Bovy 2019) and scale heights 300 pc (thin), 900 pc (thick)
   (Juric et al. 2008, ApJ 673, 864); the halo is uniform. Stars are kept
   fainter than G = 3, Gaia's bright limit (Gaia Collaboration, Brown et al.
   2021, A&A 649, A1), by a minimum distance.

5. Errors. Parallax uncertainty sigma = sqrt(40 + 800 z + 30 z^2) micro-arcsec,
   z = 10^(0.4 (max(G, 13) - 15)) (the Gaia science-performance formula of
   Gaia Collaboration, Prusti et al. 2016, A&A 595, A1), which gives the DR3
   values of Lindegren et al. 2021 (A&A 649, A2, Table 4: ~0.02-0.03 mas at
   G = 15, 0.07 at 17) within about 20%; proper-motion uncertainties equal it
   numerically in mas/yr (same table); each star's uncertainties scatter by
   0.1 dex. Radial-velocity uncertainty, DR3: 0.12 + 6.0 x 10^(0.4 (G_RVS - 14))
   km/s (Katz et al. 2023: 0.12 km/s at the bright end, ~6 km/s at G_RVS = 14);
   DR2: 0.15 + 1.4 x 10^(0.2 (G_RVS - 11.75)) km/s (Katz et al. 2019: ~1.4 km/s
   at G_RVS = 11.75 for a 5000 K star; the photon-limited slope 0.2 fitted by eye
   to the real DR2 stars in ../shared/data: median 0.48 km/s at G_RVS 8-10, 0.75
   at 10-11, 1.4 at 11-12); x3 for stars bluer than BP-RP = 0.3 (few lines) and
   x5 for white dwarfs.
   Photometric uncertainties 0.3 mmag (G) and 2 mmag (BP, RP) (Riello et al.
   2021, A&A 649, A3, for G < 16). RUWE: lognormal around 1.0 (0.08 in ln);
   10% of stars (unresolved binaries, a choice) get log-uniform 1.4-4
   (RUWE > 1.4 marks a poor single-star fit; Belokurov et al. 2020, MNRAS
   496, 1922).

6. The lesson's cuts are applied to the noisy values (parallax > 10 mas,
   parallax_over_error > 10; every star has a radial velocity), and rows are
   shuffled (``ORDER BY random_index``). ``source_id`` is unique but does not
   encode a HEALPix pixel as real Gaia ids do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from toolkit.core import ColumnInfo, Config, Field, Source, Table, rechunk
from toolkit.core import RunContext

from .kinematics import K_KMS, SCHOENRICH2010_SOLAR_MOTION
from .mock_kinematics import BENSBY_ELLIPSOIDS, sample_disc_halo, thin_disc_scale

POPULATIONS = ("thin_disc", "thick_disc", "halo", "white_dwarf", "hypervelocity")
NORMAL_POPULATIONS = ["thin_disc", "thick_disc"]
# Bensby et al. (2014) local fractions, the Hercules stream (0.06) folded into the thin disc
_BENSBY = {"thin_disc": 0.85 + 0.06, "thick_disc": 0.09, "halo": 0.0015}
DEFAULT_FRACTIONS = {**{k: round(v / sum(_BENSBY.values()), 4) for k, v in _BENSBY.items()}, "white_dwarf": 3e-4}
HYPERVELOCITY_FRACTION = 6e-5
BLOCK_ROWS = 100_000   # stars generated per seed; a sample is the same whatever the chunking

# (sigma_U, sigma_V, sigma_W, V_asym) of Bensby et al. (2003, 2014), km/s; see mock_kinematics.py
ELLIPSOIDS = BENSBY_ELLIPSOIDS
HVS_SPEED, HVS_SCATTER_DEG, V_CIRC = (600.0, 1000.0), 20.0, 245.6 - 12.24
SCALE_HEIGHT_PC = {"thin_disc": 300.0, "thick_disc": 900.0, "halo": np.inf}
Z_SUN_PC, D_LIMIT_PC, G_BRIGHT_LIMIT = 20.8, 100.5, 3.0


@dataclass(frozen=True)
class Release:
    """What a Gaia release's radial-velocity selection keeps, and how precise its velocities are."""
    name: str
    grvs_limit: float                  # G_RVS of the faintest published RV
    bp_rp_range: tuple[float, float]   # intrinsic colours the RV templates cover
    rv_floor: float                    # km/s, bright-end precision
    rv_faint: float                    # km/s added at G_RVS = rv_pivot
    rv_pivot: float
    rv_slope: float                    # 0.4: background-limited; 0.2: photon-limited
    white_dwarfs: bool = True          # whether any white dwarf gets a published RV

    def rv_sigma(self, grvs):
        return self.rv_floor + self.rv_faint * 10 ** (self.rv_slope * (np.asarray(grvs, float) - self.rv_pivot))


#: Katz et al. (2023, A&A 674, A5) for DR3; Katz et al. (2019, A&A 622, A205) for DR2 (module docstring, 4-5)
RELEASES = {"dr3": Release("dr3", 14.0, (-np.inf, np.inf), 0.12, 6.0, 14.0, 0.4),
            "dr2": Release("dr2", 12.0, (0.50, 2.25), 0.15, 1.25, 11.75, 0.2, white_dwarfs=False)}
DEFAULT_RELEASE = "dr3"      # the gaia recipes query gaiadr3.gaia_source
GRVS_LIMIT = RELEASES[DEFAULT_RELEASE].grvs_limit


def _release(release) -> Release:
    if isinstance(release, Release):
        return release
    try:
        return RELEASES[release]
    except KeyError:
        raise ValueError(f"release must be one of {sorted(RELEASES)}, not {release!r}") from None

MS_LOCUS = np.array([(0.00, 1.3), (0.19, 2.0), (0.38, 2.6), (0.55, 3.3), (0.72, 4.2), (0.82, 4.67),
                     (0.98, 5.7), (1.40, 7.0), (1.84, 8.4), (2.20, 9.6), (2.80, 11.6), (3.30, 13.1)])
LF_NODES = np.array([(1, 0.02), (2, 0.05), (3, 0.12), (4, 0.25), (5, 0.35), (6, 0.45), (7, 0.55), (8, 0.7),
                     (9, 0.9), (10, 1.0), (11, 1.0), (12, 0.9), (13, 0.7)])
METAL_POOR_SHIFT = {"thin_disc": 0.0, "thick_disc": 0.3, "halo": 0.9}
STAGE_FRACTIONS = {"subgiant": 0.04, "red_giant": 0.004, "red_clump": 0.004}
BINARY_FRACTION, BINARY_MAX_BOOST, MS_COLOUR_SCATTER = 0.3, 0.75, 0.04
RUWE_BINARY_FRACTION = 0.10


# -- photometry -----------------------------------------------------------------

def g_minus_rp(bp_rp):
    x = np.asarray(bp_rp, float)
    return 0.60 * x - 0.055 * x**2


def grvs_minus_rp(bp_rp):
    x = np.minimum(np.asarray(bp_rp, float), 1.2)
    return -0.0397 - 0.2852 * x - 0.0330 * x**2 - 0.0867 * x**3


def vmax_distance(abs_g, bp_rp, release=DEFAULT_RELEASE):
    """Distance (pc) at which G_RVS reaches the release's limit, capped at the 100 pc sphere;
    zero for colours the release's RV templates do not cover."""
    rel = _release(release)
    abs_rvs = abs_g - g_minus_rp(bp_rp) + grvs_minus_rp(bp_rp)
    d = np.minimum(10 ** ((rel.grvs_limit - abs_rvs + 5.0) / 5.0), D_LIMIT_PC)
    lo, hi = rel.bp_rp_range
    return np.where((np.asarray(bp_rp) >= lo) & (np.asarray(bp_rp) <= hi), d, 0.0)


def ms_colour(abs_g):
    return np.interp(abs_g, MS_LOCUS[:, 1], MS_LOCUS[:, 0])


def _inverse_cdf_grid(grid: np.ndarray, weights: np.ndarray):
    """``(grid, cdf)`` for inverse-CDF sampling of a density tabulated on ``grid`` (trapezoid rule)."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (weights[1:] + weights[:-1]) * np.diff(grid))])
    return grid, cdf / cdf[-1]


@lru_cache(maxsize=None)
def _ms_magnitude_grid(release: str = DEFAULT_RELEASE):
    """Inverse-CDF grid of M_G for main-sequence stars: volume LF x V_max."""
    grid = np.linspace(MS_LOCUS[0, 1], MS_LOCUS[-1, 1], 2001)
    phi = np.interp(grid, LF_NODES[:, 0], LF_NODES[:, 1])
    return _inverse_cdf_grid(grid, phi * vmax_distance(grid, ms_colour(grid), release) ** 3)


@lru_cache(maxsize=None)
def _wd_colour_grid(release: str = DEFAULT_RELEASE):
    grid = np.linspace(-0.3, 1.0, 1001)
    weight = vmax_distance(11.6 + 3.4 * grid, grid, release) ** 3
    if not weight.any():                 # no white dwarf gets a DR2 radial velocity: any grid (all are cut)
        weight = np.ones_like(grid)
    return _inverse_cdf_grid(grid, weight)


def sample_cmd(population: np.ndarray, rng: np.random.Generator, release: str = DEFAULT_RELEASE):
    """Absolute G, BP-RP and evolutionary stage for each star."""
    n = len(population)
    abs_g, colour = np.empty(n), np.empty(n)
    stage = np.full(n, "main_sequence", dtype=object)
    is_wd = population == "white_dwarf"
    u = rng.random(n)
    edges = np.cumsum(list(STAGE_FRACTIONS.values()))
    giant_stage = np.where(u < edges[0], "subgiant", np.where(u < edges[1], "red_giant",
                                                               np.where(u < edges[2], "red_clump", "main_sequence")))
    stage[~is_wd] = giant_stage[~is_wd]
    stage[population == "hypervelocity"] = "main_sequence"
    stage[is_wd] = "white_dwarf"

    ms = stage == "main_sequence"
    grid, cdf = _ms_magnitude_grid(release)
    m = np.interp(rng.random(ms.sum()), cdf, grid)
    c = ms_colour(m) + rng.normal(0, MS_COLOUR_SCATTER, ms.sum())
    binary = rng.random(ms.sum()) < BINARY_FRACTION
    m = m - binary * rng.uniform(0, BINARY_MAX_BOOST, ms.sum())
    abs_g[ms], colour[ms] = m, c

    sg = stage == "subgiant"
    c = rng.uniform(0.6, 1.0, sg.sum())
    abs_g[sg], colour[sg] = 3.6 - 1.0 * (c - 0.6) + rng.normal(0, 0.3, sg.sum()), c

    rgb = stage == "red_giant"
    c = 1.0 + 0.7 * rng.power(0.5, rgb.sum())            # density falls towards the tip
    abs_g[rgb], colour[rgb] = 3.0 - 6.4 * (c - 1.0) + rng.normal(0, 0.25, rgb.sum()), c

    rc = stage == "red_clump"
    abs_g[rc], colour[rc] = rng.normal(0.44, 0.2, rc.sum()), rng.normal(1.23, 0.05, rc.sum())

    wgrid, wcdf = _wd_colour_grid(release)
    c = np.interp(rng.random(is_wd.sum()), wcdf, wgrid)
    abs_g[is_wd], colour[is_wd] = 11.6 + 3.4 * c + rng.normal(0, 0.25, is_wd.sum()), c

    for pop, shift in METAL_POOR_SHIFT.items():
        abs_g[(population == pop) & ~is_wd & (stage != "red_clump")] += shift
    return abs_g, colour, stage.astype(str)


# -- space and velocity ------------------------------------------------------------

def sample_positions(d_max: np.ndarray, population: np.ndarray, rng: np.random.Generator,
                     d_min: np.ndarray | None = None) -> np.ndarray:
    """Heliocentric Galactic Cartesian positions (pc), uniform in volume in [d_min, d_max], z-stratified."""
    d_min = np.zeros_like(d_max) if d_min is None else np.minimum(d_min, d_max)
    n = len(d_max)
    pos = np.empty((n, 3))
    todo = np.arange(n)
    h = np.array([SCALE_HEIGHT_PC.get(p, SCALE_HEIGHT_PC["thin_disc"]) for p in POPULATIONS])
    pop_index = {p: i for i, p in enumerate(POPULATIONS)}
    height = h[np.vectorize(pop_index.get, otypes=[int])(population)] if n else h[:0]
    while todo.size:
        k = todo.size
        lo, hi = d_min[todo] ** 3, d_max[todo] ** 3
        r = (lo + (hi - lo) * rng.random(k)) ** (1 / 3)
        v = rng.normal(size=(k, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        p = v * r[:, None]
        z_gal = p[:, 2] + Z_SUN_PC
        with np.errstate(divide="ignore", invalid="ignore"):
            accept_p = np.exp(-(np.abs(z_gal) - np.maximum(Z_SUN_PC - d_max[todo], 0.0)) / height[todo])
        ok = rng.random(k) < np.where(np.isfinite(accept_p), accept_p, 1.0)
        pos[todo[ok]] = p[ok]
        todo = todo[~ok]
    return pos


def sample_velocities(population, stage, colour, pos, rng) -> np.ndarray:
    """Heliocentric (U, V, W) in km/s."""
    n = len(population)
    vel = np.zeros((n, 3))
    kin_pop = population.copy()
    wd = population == "white_dwarf"
    disc_draw = rng.random(n) < DEFAULT_FRACTIONS["thin_disc"] / (DEFAULT_FRACTIONS["thin_disc"]
                                                                 + DEFAULT_FRACTIONS["thick_disc"])
    kin_pop[wd] = np.where(disc_draw[wd], "thin_disc", "thick_disc")
    # main-sequence stars blue of Parenago's discontinuity are younger: colder (Dehnen & Binney 1998)
    scale = np.where(stage == "main_sequence", thin_disc_scale(colour), 1.0)
    vel[:] = sample_disc_halo(kin_pop, scale, rng)
    hv = population == "hypervelocity"
    if hv.any():
        k = hv.sum()
        # away from the Galactic centre: the centre is at +X (U direction) from the Sun
        r0 = 8122.0
        radial = np.column_stack([pos[hv, 0] - r0, pos[hv, 1], pos[hv, 2] + Z_SUN_PC])
        radial /= np.linalg.norm(radial, axis=1, keepdims=True)
        jitter = rng.normal(0, np.radians(HVS_SCATTER_DEG), (k, 3))
        direction = radial + jitter
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        rest = direction * rng.uniform(*HVS_SPEED, k)[:, None]
        vel[hv] = rest - np.array([0.0, V_CIRC, 0.0]) - np.asarray(SCHOENRICH2010_SOLAR_MOTION)
    return vel


@lru_cache(maxsize=1)
def _galactic_to_icrs() -> np.ndarray:
    """3x3 rotation taking Galactic Cartesian vectors to ICRS (astropy's own transform, once)."""
    import astropy.coordinates as coord
    import astropy.units as u

    unit_vectors = coord.CartesianRepresentation(np.eye(3) * u.pc)   # point j = Galactic axis j
    axes = coord.Galactic(unit_vectors).transform_to(coord.ICRS()).cartesian.xyz.to_value(u.pc)
    return np.asarray(axes)          # column j = ICRS image of Galactic axis j


def observe(pos_gal, vel_gal):
    """True ICRS ra, dec (deg), parallax (mas), pmra, pmdec (mas/yr), radial velocity (km/s)."""
    m = _galactic_to_icrs()
    r = pos_gal @ m.T
    v = vel_gal @ m.T
    d = np.linalg.norm(r, axis=1)
    ra = np.arctan2(r[:, 1], r[:, 0]) % (2 * np.pi)
    dec = np.arcsin(r[:, 2] / d)
    e_ra = np.column_stack([-np.sin(ra), np.cos(ra), np.zeros_like(ra)])
    e_dec = np.column_stack([-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)])
    rv = np.einsum("ij,ij->i", v, r) / d
    d_kpc = d / 1000.0
    pmra = np.einsum("ij,ij->i", v, e_ra) / (K_KMS * d_kpc)
    pmdec = np.einsum("ij,ij->i", v, e_dec) / (K_KMS * d_kpc)
    return np.degrees(ra), np.degrees(dec), 1000.0 / d, pmra, pmdec, rv


def parallax_uncertainty(g):
    z = 10 ** (0.4 * (np.maximum(g, 13.0) - 15.0))
    return np.sqrt(40 + 800 * z + 30 * z**2) / 1000.0


def rv_uncertainty(grvs, bp_rp, population, release=DEFAULT_RELEASE):
    sigma = _release(release).rv_sigma(grvs)
    sigma = np.where(bp_rp < 0.3, 3 * sigma, sigma)
    return np.where(population == "white_dwarf", 5 * sigma, sigma)


# -- the whole sample ---------------------------------------------------------------

def _draw(n: int, n_hvs: int, fractions: dict, rng: np.random.Generator, release: str) -> pd.DataFrame:
    pops = list(fractions)
    p = np.array([fractions[k] for k in pops])
    counts = rng.multinomial(n, p / p.sum())
    population = np.concatenate([np.repeat(pops, counts), np.repeat(["hypervelocity"], n_hvs)]).astype(object)
    abs_g, bp_rp, stage = sample_cmd(population, rng, release)
    d_max = vmax_distance(abs_g, bp_rp, release)
    if not _release(release).white_dwarfs:
        d_max = np.where(population == "white_dwarf", 0.0, d_max)
    d_min = 10 ** ((G_BRIGHT_LIMIT - abs_g + 5.0) / 5.0)
    pos = sample_positions(np.where(d_max > 0, d_max, D_LIMIT_PC), population, rng, d_min)
    vel = sample_velocities(population, stage, bp_rp, pos, rng)
    ra, dec, plx, pmra, pmdec, rv = observe(pos, vel)
    dist = 1000.0 / plx
    g_true = abs_g + 5 * np.log10(dist / 10.0)
    rp_true = g_true - g_minus_rp(bp_rp)
    bp_true = rp_true + bp_rp
    grvs = rp_true + grvs_minus_rp(bp_rp)

    k = len(population)
    spread = lambda: 10 ** rng.normal(0, 0.1, k)  # noqa: E731  per-star scatter of the uncertainties
    e_plx = parallax_uncertainty(g_true) * spread()
    e_pm = parallax_uncertainty(g_true) * spread()
    e_rv = rv_uncertainty(grvs, bp_rp, population, release) * spread()
    ruwe = np.exp(rng.normal(0, 0.08, k))
    binary = rng.random(k) < RUWE_BINARY_FRACTION
    ruwe[binary] = 10 ** rng.uniform(np.log10(1.4), np.log10(4.0), binary.sum())
    parallax = plx + rng.normal(0, 1, k) * e_plx
    return pd.DataFrame({
        "ra": ra, "dec": dec,
        "parallax": parallax, "parallax_error": e_plx, "parallax_over_error": parallax / e_plx,
        "pmra": pmra + rng.normal(0, 1, k) * e_pm, "pmra_error": e_pm,
        "pmdec": pmdec + rng.normal(0, 1, k) * e_pm, "pmdec_error": e_pm,
        # no RV where the release publishes none (colours outside its templates)
        "radial_velocity": np.where(d_max > 0, rv + rng.normal(0, 1, k) * e_rv, np.nan),
        "radial_velocity_error": e_rv,
        "phot_g_mean_mag": g_true + rng.normal(0, 0.0003, k),
        "phot_bp_mean_mag": bp_true + rng.normal(0, 0.002, k),
        "phot_rp_mean_mag": rp_true + rng.normal(0, 0.002, k),
        "grvs_mag": grvs, "ruwe": ruwe,
        "truth_population": population.astype(str), "truth_stage": stage,
    })


def lesson_cuts(df: pd.DataFrame) -> np.ndarray:
    return ((df["parallax"] > 10) & (df["parallax_over_error"] > 10) & np.isfinite(df["radial_velocity"])).to_numpy()


def simulate_gaia_rv_sample(n_stars: int, rng: np.random.Generator, n_hypervelocity: int | None = None,
                            fractions: dict | None = None, first_index: int = 0,
                            release: str = DEFAULT_RELEASE) -> pd.DataFrame:
    """The mock sample as a DataFrame: exactly ``n_stars`` rows after the lesson's cuts, shuffled.

    Ids encode the row's position (``first_index`` onwards) in their upper bits, so blocks
    generated separately never share an id.
    """
    if n_stars < 1:
        raise ValueError("n_stars must be at least 1")
    fractions = dict(fractions or DEFAULT_FRACTIONS)
    release = _release(release).name
    n_hvs = int(round(HYPERVELOCITY_FRACTION * n_stars)) if n_hypervelocity is None else int(n_hypervelocity)
    n_hvs = min(n_hvs, n_stars)
    n_rest = n_stars - n_hvs
    parts, have = [], 0
    while have < n_rest:
        need = n_rest - have
        df = _draw(int(need * 1.01) + 16, 0, fractions, rng, release)
        df = df[lesson_cuts(df)]
        parts.append(df.iloc[:need])
        have += len(parts[-1])
    hvs_parts, have = [], 0
    while have < n_hvs:
        df = _draw(0, n_hvs - have, fractions, rng, release)
        df = df[lesson_cuts(df)]
        hvs_parts.append(df)
        have += len(df)
    out = pd.concat(parts + hvs_parts, ignore_index=True)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    ids = (np.arange(first_index + 1, first_index + len(out) + 1, dtype=np.int64) << 20) + \
        rng.integers(0, 1 << 20, len(out))
    out.insert(0, "source_id", ids)
    return out


UNITS = {"ra": ("deg", "right ascension (ICRS, epoch 2016.0)"), "dec": ("deg", "declination (ICRS, epoch 2016.0)"),
         "parallax": ("mas", "parallax"), "parallax_error": ("mas", "parallax uncertainty"),
         "parallax_over_error": (None, "parallax divided by its uncertainty"),
         "pmra": ("mas / yr", "proper motion in RA * cos(dec)"), "pmra_error": ("mas / yr", "uncertainty of pmra"),
         "pmdec": ("mas / yr", "proper motion in Dec"), "pmdec_error": ("mas / yr", "uncertainty of pmdec"),
         "radial_velocity": ("km / s", "radial velocity"),
         "radial_velocity_error": ("km / s", "radial velocity uncertainty"),
         "phot_g_mean_mag": ("mag", "G magnitude"), "phot_bp_mean_mag": ("mag", "BP magnitude"),
         "phot_rp_mean_mag": ("mag", "RP magnitude"), "grvs_mag": ("mag", "RVS magnitude"),
         "ruwe": (None, "renormalised unit weight error"), "source_id": (None, "unique mock identifier"),
         "truth_population": (None, "simulated population (thin_disc, thick_disc, halo, white_dwarf, hypervelocity)"),
         "truth_stage": (None, "simulated evolutionary stage (main_sequence, subgiant, red_giant, red_clump, "
                               "white_dwarf)")}


class GaiaMock(Source):
    name = "gaia.mock"
    summary = ("Simulated Gaia DR3 (or DR2) 100 pc RV sample (thin/thick disc, halo, white dwarfs, hypervelocity "
               "stars), labelled.")

    class Config(Config):
        n_stars: int = Field(170_000, ge=1, description="rows after the lesson's cuts (the real query gives ~170k)")
        n_hypervelocity: int | None = Field(None, ge=0, description="injected hypervelocity stars; null: 6 per 100k")
        fractions: dict[str, float] | None = Field(
            None, description="population -> fraction of the sample for thin_disc, thick_disc, halo, white_dwarf "
                              "(null: Bensby et al. 2014 disc/halo fractions and 3e-4 white dwarfs)")
        seed: int | None = Field(None, description="random seed; null: derived from the recipe seed")
        release: Literal["dr2", "dr3"] = Field(
            DEFAULT_RELEASE, description="radial-velocity selection: dr3 (G_RVS <= 14, the lesson's gaiadr3 query) "
                                         "or dr2 (G_RVS <= 12, 3550-6900 K templates, DR2 RV precision)")

    def __init__(self, config=None, **params):
        super().__init__(config, **params)
        fr = self.config.fractions
        if fr is not None:
            bad = sorted(set(fr) - set(DEFAULT_FRACTIONS))
            if bad:
                raise ValueError(f"fractions: unknown population(s) {bad}; use {sorted(DEFAULT_FRACTIONS)}")
            if any(v < 0 for v in fr.values()) or sum(fr.values()) <= 0:
                raise ValueError("fractions must be non-negative and not all zero")

    def _blocks(self, ctx: RunContext):
        """The sample as fixed blocks of BLOCK_ROWS stars, each from its own seed: the same stars whatever the
        chunk size a streamed run asks for. Hypervelocity stars are spread over the blocks in proportion."""
        cfg = self.config
        seed = cfg.seed if cfg.seed is not None else ctx.step_seed("gaia.mock")
        fractions = {**{k: 0.0 for k in DEFAULT_FRACTIONS}, **cfg.fractions} if cfg.fractions else None
        n = cfg.n_stars
        n_hvs = int(round(HYPERVELOCITY_FRACTION * n)) if cfg.n_hypervelocity is None else cfg.n_hypervelocity
        n_hvs = min(n_hvs, n)
        counts: dict[str, int] = {}
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            hvs = n_hvs * stop // n - n_hvs * start // n
            df = simulate_gaia_rv_sample(stop - start, np.random.default_rng([seed, start // BLOCK_ROWS]), hvs,
                                         fractions, first_index=start, release=cfg.release)
            for k, v in df["truth_population"].value_counts().items():
                counts[k] = counts.get(k, 0) + int(v)
            yield self._table(df, seed, cfg.release)
        ctx.record("populations", counts)

    @staticmethod
    def _table(df: pd.DataFrame, seed: int, release: str = DEFAULT_RELEASE) -> Table:
        info = {name: ColumnInfo(*UNITS[name]) for name in df.columns}
        return Table(df, info, "source_id", {"mock": True, "truth_normal": list(NORMAL_POPULATIONS),
                                             "mock_seed": int(seed), "mock_release": release,
                                             "generator": "toolkit.plugins.gaia.mock"})

    def load(self, ctx: RunContext) -> Table:
        return Table.concat(list(self._blocks(ctx)))

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        yield from rechunk(self._blocks(ctx), chunk_rows)
