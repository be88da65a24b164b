"""``cepheid.mock``: a labelled Gaia-like Cepheid catalogue, Milky Way plus LMC, with injected impostors.

Columns are those of the ASTR3110 lab 1 query (gaiadr2.vari_cepheid x gaia_source x
Bailer-Jones distances), so the same recipe runs on the archive and on the mock.

- Classical Cepheids (``classical``) follow the period-Wesenheit relation in
  ``relations.MOCK_PW`` with its intrinsic scatter; about a third pulsate in the
  first overtone (their observed period is the 1O period, ``pf`` is empty).
- Milky Way: distances 0.3-6 kpc with surface density ~ d (a disc seen from
  inside), thin-disc heights (sigma_z = 70 pc), reddening growing with distance;
  parallaxes = 1/d + the Gaia zero-point + Gaia DR3-like errors (sigma about
  0.02 mas at G < 15, 0.07 mas at G = 17, 0.5 mas at G = 20, after Lindegren et
  al. 2021).
- LMC: a disc of 1.5 deg scale length around the LMC centre at the chosen
  distance modulus with a 0.03 mag depth scatter, E(BP-RP) about 0.1.
- Impostors, all catalogued as DCEP (the mis-classifications a fit should
  catch): type II Cepheids (``type2``) and anomalous Cepheids
  (``anomalous_cepheid``) on their own fainter relations, blends (``blend``:
  a companion adds 20-100 % of the Cepheid's flux) and, in the Milky Way, bad
  parallaxes (``bad_parallax``: off by 5-15 sigma, RUWE 1-3 where other stars
  have about 1).

Extinction obeys A_G = lambda E(BP-RP) with the Wesenheit lambda, so W is
reddening-free by construction; ``g_absorption`` is A_G with an error, as in DR2.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import TRUTH_COLUMN, Columns, Config, Field, Source, Table, rechunk
from toolkit.core import RunContext

from .relations import (LMC_CENTRE_DEG, LMC_DM_PIETRZYNSKI2019, MOCK_PW, WESENHEIT_LAMBDA, ZERO_POINT_DR3,
                        overtone_from_fundamental)


class CepheidMockConfig(Config):
    n_stars: int = Field(5000, ge=1, description="number of Cepheids (all populations)")
    lmc_fraction: float = Field(0.6, ge=0, le=1, description="fraction of stars in the LMC")
    lmc_distance_modulus: float = Field(LMC_DM_PIETRZYNSKI2019, description="true LMC distance modulus (mag)")
    type2_fraction: float = Field(0.03, ge=0, le=1, description="type II Cepheids catalogued as DCEP")
    anomalous_fraction: float = Field(0.03, ge=0, le=1, description="anomalous Cepheids catalogued as DCEP")
    blend_fraction: float = Field(0.02, ge=0, le=1, description="classical Cepheids blended with a companion")
    bad_parallax_fraction: float = Field(0.02, ge=0, le=1, description="Milky Way stars with a parallax off by "
                                         "5-15 sigma")
    overtone_fraction: float = Field(0.35, ge=0, le=1, description="classical Cepheids pulsating in the 1O mode")
    parallax_zero_point: float = Field(ZERO_POINT_DR3, description="added to every true parallax (mas); "
                                       "Gaia DR3 -0.017, DR2 -0.029")
    seed: int | None = Field(None, description="random seed (default: the run's)")


def _population_counts(n: int, cfg: CepheidMockConfig) -> dict[str, int]:
    counts = {"type2": round(n * cfg.type2_fraction), "anomalous_cepheid": round(n * cfg.anomalous_fraction),
              "blend": round(n * cfg.blend_fraction)}
    n_mw = n - round(n * cfg.lmc_fraction)
    counts["bad_parallax"] = round(n_mw * cfg.bad_parallax_fraction)
    counts["classical"] = n - sum(counts.values())
    if counts["classical"] < 0:
        raise ValueError("the impostor fractions add up to more than all the stars")
    return counts


def _truncated_normal(rng, mean, sd, lo, hi, n):
    """Normal draws inside [lo, hi] (redrawn, not clipped: clipping would pile stars on the edges)."""
    out = rng.normal(mean, sd, n)
    bad = (out < lo) | (out > hi)
    while bad.any():
        out[bad] = rng.normal(mean, sd, bad.sum())
        bad = (out < lo) | (out > hi)
    return out


def parallax_error_mas(g):
    """Gaia DR3-like parallax uncertainty against G (after Lindegren et al. 2021, their Fig. 7 medians)."""
    return np.hypot(0.02, 0.5 * 10.0 ** (0.28 * (np.asarray(g) - 20.0)))


def _photometric_error(mag, floor):
    return floor + 0.01 * 10.0 ** (0.4 * (np.asarray(mag) - 18.0))


def simulate(cfg: CepheidMockConfig, rng: np.random.Generator) -> tuple[Columns, dict]:
    """Draw the catalogue; returns its columns and the truth for the table's meta."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    n = cfg.n_stars
    counts = _population_counts(n, cfg)
    pop = np.repeat(np.array(list(counts)), list(counts.values()))
    pop = pop[rng.permutation(n)]
    # where each star lives: bad parallaxes only matter (and are put) in the Milky Way
    in_lmc = rng.random(n) < cfg.lmc_fraction
    in_lmc[pop == "bad_parallax"] = False

    # periods (fundamental-mode) and pulsation mode
    log_pf = np.empty(n)
    base = np.isin(pop, ["classical", "blend", "bad_parallax"])
    log_pf[base] = _truncated_normal(rng, 0.55, 0.25, 0.0, 1.8, base.sum())
    t2 = pop == "type2"
    log_pf[t2] = rng.uniform(0.0, 1.4, t2.sum())           # BL Her (1-4 d) and W Vir (4-25 d)
    ac = pop == "anomalous_cepheid"
    log_pf[ac] = rng.uniform(-0.2, 0.4, ac.sum())          # 0.6-2.5 d
    overtone = base & (rng.random(n) < cfg.overtone_fraction) & (log_pf < 0.8)

    # absolute Wesenheit magnitudes on each population's relation
    rel = np.where(base, "classical", pop)
    m_w = np.empty(n)
    for name, r in MOCK_PW.items():
        sel = rel == name
        m_w[sel] = r["a"] + r["b"] * log_pf[sel] + rng.normal(0, r["scatter"], sel.sum())
    bp_rp0 = 0.60 + 0.30 * log_pf + rng.normal(0, 0.05, n)

    # positions, distances, reddening
    mu = np.empty(n)
    ebprp = np.empty(n)
    ra, dec = np.empty(n), np.empty(n)
    mw = ~in_lmc
    d_kpc = np.sqrt(rng.uniform(0.3**2, 6.0**2, mw.sum()))
    z_kpc = rng.normal(0, 0.07, mw.sum())
    gl = rng.uniform(0, 360, mw.sum())
    gb = np.degrees(np.arcsin(np.clip(z_kpc / d_kpc, -1, 1)))
    mu[mw] = 5 * np.log10(d_kpc * 1000) - 5
    ebprp[mw] = 0.35 * d_kpc * rng.uniform(0.5, 1.5, mw.sum()) * np.exp(-np.abs(z_kpc) / 0.15)
    icrs = SkyCoord(l=gl * u.deg, b=gb * u.deg, frame="galactic").icrs
    ra[mw], dec[mw] = icrs.ra.deg, icrs.dec.deg
    k = in_lmc.sum()
    r_deg = rng.exponential(1.5, k)
    theta = rng.uniform(0, 2 * np.pi, k)
    ra0, dec0 = LMC_CENTRE_DEG
    dec[in_lmc] = dec0 + r_deg * np.sin(theta)
    ra[in_lmc] = (ra0 + r_deg * np.cos(theta) / np.cos(np.radians(dec[in_lmc]))) % 360
    mu[in_lmc] = cfg.lmc_distance_modulus + rng.normal(0, 0.03, k)
    ebprp[in_lmc] = np.clip(rng.normal(0.10, 0.04, k), 0, None)
    gal = SkyCoord(ra=ra * u.deg, dec=dec * u.deg).galactic

    # apparent magnitudes: W = G - lambda (BP-RP) stays reddening-free since A_G = lambda E(BP-RP)
    a_g = WESENHEIT_LAMBDA * ebprp
    g = m_w + WESENHEIT_LAMBDA * bp_rp0 + mu + a_g
    bp_rp = bp_rp0 + ebprp
    blend = pop == "blend"
    g = g - np.where(blend, 2.5 * np.log10(1 + rng.uniform(0.2, 1.0, n)), 0.0)  # grey companion light
    rp = g - 0.55 * bp_rp
    bp = rp + bp_rp
    eg, ebp, erp = _photometric_error(g, 0.002), _photometric_error(bp, 0.004), _photometric_error(rp, 0.004)
    g_obs, bp_obs, rp_obs = g + rng.normal(0, eg), bp + rng.normal(0, ebp), rp + rng.normal(0, erp)

    # astrometry
    plx_true = 1000.0 / 10.0 ** (mu / 5 + 1)
    e_plx = parallax_error_mas(g_obs)
    plx = plx_true + cfg.parallax_zero_point + rng.normal(0, e_plx)
    bad = pop == "bad_parallax"
    plx[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(5, 15, bad.sum()) * e_plx[bad]
    # Bailer-Jones-like geometric distances: the inverse parallax where it is precise, else prior-dominated
    snr = plx / e_plx
    with np.errstate(divide="ignore", invalid="ignore"):
        r_est = np.where(snr > 5, 1000.0 / plx, 2700.0 * rng.uniform(0.7, 1.3, n))
        frac = np.where(snr > 5, 1.0 / snr, 0.5)
    r_lo, r_hi = r_est * (1 - frac), r_est * (1 + frac)

    period_obs = np.where(overtone, overtone_from_fundamental(10**log_pf), 10**log_pf)
    a_g_err = 0.1 * a_g + 0.05

    cols = Columns()
    cols.add("source_id", 4_000_000_000_000_000 + rng.permutation(n).astype(np.int64) * 997 + 13,
             description="mock Gaia source_id")
    cols.add("r_est", r_est, "pc", "Bailer-Jones-like geometric distance (mock: 1000/parallax where "
             "parallax/error > 5, else prior-dominated 1.9-3.5 kpc)")
    cols.add("r_lo", r_lo, "pc", "lower bound of the distance interval")
    cols.add("r_hi", r_hi, "pc", "upper bound of the distance interval")
    cols.add("ra", ra, "deg", "right ascension (ICRS)")
    cols.add("dec", dec, "deg", "declination (ICRS)")
    cols.add("l", gal.l.deg, "deg", "Galactic longitude")
    cols.add("b", gal.b.deg, "deg", "Galactic latitude")
    cols.add("parallax", plx, "mas", f"parallax (includes a {cfg.parallax_zero_point} mas zero-point)")
    cols.add("parallax_error", e_plx, "mas", "parallax uncertainty")
    # RUWE: about 1 for single stars; the bad-parallax stars (unresolved binaries, say) mostly above Gaia's 1.4
    ruwe = np.exp(rng.normal(0.0, 0.08, n))
    ruwe[bad] = rng.uniform(1.0, 3.0, bad.sum())
    cols.add("ruwe", ruwe, description="renormalised unit weight error (mock; DR3 column, not in the DR2 query)")
    cols.add("type_best_classification", np.full(n, "DCEP"),
             description="catalogue type (mock: every injected impostor is mis-classified as DCEP)")
    cols.add("mode_best_classification", np.where(overtone, "FIRST_OVERTONE", "FUNDAMENTAL"),
             description="catalogue pulsation mode")
    cols.add("pf", np.where(overtone, np.nan, period_obs), "d", "fundamental-mode period (empty for 1O)")
    cols.add("pf_error", np.where(overtone, np.nan, 1e-5 * period_obs), "d", "error of pf")
    cols.add("p1_o", np.where(overtone, period_obs, np.nan), "d", "first-overtone period (empty for F)")
    cols.add("p1_o_error", np.where(overtone, 1e-5 * period_obs, np.nan), "d", "error of p1_o")
    for name, val, err in (("bp", bp_obs, ebp), ("g", g_obs, eg), ("rp", rp_obs, erp)):
        cols.add(f"int_average_{name}", val, "mag", f"intensity-averaged {name.upper()} magnitude")
        cols.add(f"int_average_{name}_error", err, "mag", f"error of int_average_{name}")
    cols.add("g_absorption", a_g + rng.normal(0, a_g_err), "mag", "G-band absorption A_G (with error)")
    cols.add("g_absorption_error", a_g_err, "mag", "error of g_absorption")
    cols.add("num_clean_epochs_g", rng.poisson(40, n), description="number of G epochs used")
    cols.add(TRUTH_COLUMN, pop, description="true population (mock)")
    cols.add("truth_in_lmc", in_lmc, description="true LMC membership (mock)")
    cols.add("truth_distance_modulus", mu, "mag", "true distance modulus (mock)")
    cols.add("truth_log_pf", log_pf, description="true log10 fundamental period (mock)")
    truth = {"lmc_distance_modulus": cfg.lmc_distance_modulus, "parallax_zero_point": cfg.parallax_zero_point,
             "population_counts": counts, "relations": MOCK_PW, "n_lmc": int(in_lmc.sum()),
             "n_milky_way": int(mw.sum()), "n_first_overtone": int(overtone.sum())}
    return cols, truth


class CepheidMock(Source):
    name = "cepheid.mock"
    summary = ("Labelled mock Gaia Cepheid catalogue (lab 1 columns): Milky Way and LMC classical Cepheids on a "
               "period-Wesenheit relation, plus type II, anomalous, blended and bad-parallax impostors.")
    Config = CepheidMockConfig

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """A few thousand stars whose populations are drawn jointly: generated once, handed on in chunks."""
        yield from rechunk([self.load(ctx)], chunk_rows)

    def load(self, ctx: RunContext) -> Table:
        seed = self.config.seed
        if seed is None and ctx is None:
            seed = 0
        rng = np.random.default_rng(seed) if seed is not None else ctx.rng("cepheid.mock")
        cols, truth = simulate(self.config, rng)
        if ctx is not None:
            ctx.record("mock_truth", truth)
        return Table.from_columns(cols, id_column="source_id", meta={
            "mock": True, "truth_normal": ["classical"], "lmc_distance_modulus": self.config.lmc_distance_modulus,
            "mock_truth": truth})
