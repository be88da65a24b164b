"""``symbiotic.mock``: synthetic SkyMapper + 2MASS + AllWISE + Gaia rows with injected symbiotics.

What a cross-matched SkyMapper DR2 query (the seed's query.py) would return, before the
recipe's cuts: K/M giants (ordinary), foreground M dwarfs (ordinary, removed by the
luminosity cut), and labelled unusual objects: symbiotic systems, Miras and YSOs.

How the rows are made (intrinsic colours: ``mock_populations``):
- Sky: Galactic disc. Distance in the plane from a uniform-area disc, height from a
  Laplace law (scale height 0.3 kpc giants, 0.35 symbiotics, 0.4 Miras, 0.08 YSOs);
  dwarfs isotropic within 300 pc. Only dec < ``dec_max`` (SkyMapper is southern).
- Dust: a smooth exponential disc, E(B-V) = 0.25 mag/kpc in the plane with a 125 pc scale
  height, times a lognormal patchiness factor. The star is reddened by the column up to its
  distance; ``ebmv_sfd`` is the column to 15 kpc (like SFD, which sees the whole line of
  sight, so it overestimates the reddening of nearby stars). A_band = R_band E(B-V) with
  the coefficients of ``bands.R_BAND``.
- Errors: sigma(m) = sqrt(floor^2 + (0.2 10^(0.4 (m - m5)))^2), sigma = 0.2 at the 5-sigma
  depth m5 (u 20.5, v 20.5, g 21.8, r 21.5, i 20.8, z 20.0; J 16.5, H 15.8, K 15.1;
  W1 17.1, W2 15.7). Fainter than m5 + 0.3: not detected (NaN), as the red giants' u often is.
- 2MASS ph_qual from the errors (A: sigma < 0.109, B < 0.155, C < 0.217, D otherwise,
  U undetected), 2.5 % degraded to E (confusion). class_star near 0.97, 4 % blends lower.
  SkyMapper ``flags``: 1 close neighbour / 2 blend (3 %), 4 saturated (any band < 9 mag).
- Gaia: parallax = 1/d with sigma = 0.02 + 0.03 10^(0.3 (G - 15)) mas, G ~ i + 0.3;
  ``r_med_geo``/``r_lo_geo``/``r_hi_geo`` mimic merged Bailer-Jones geometric distances
  (the names ``gaia.bailer_jones`` writes).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from toolkit.core import Config, Field, Source, TRUTH_COLUMN, Table, rechunk
from toolkit.core import RunContext
from toolkit.core import ColumnInfo

from . import mock_populations as pops
from .bands import MAG_COLUMNS, R_BAND

DEPTH_5SIGMA = {"u": 20.5, "v": 20.5, "g": 21.8, "r": 21.5, "i": 20.8, "z": 20.0,
                "J": 16.5, "H": 15.8, "K": 15.1, "W1": 17.1, "W2": 15.7}
ERROR_FLOOR = {**{b: 0.015 for b in "uvgriz"}, "J": 0.02, "H": 0.02, "K": 0.02, "W1": 0.022, "W2": 0.022}
#: (max distance in the plane kpc, scale height kpc) per population; dwarfs are isotropic
DISC = {"giant": (6.0, 0.30), "symbiotic": (8.0, 0.35), "mira": (10.0, 0.40), "yso": (2.0, 0.08)}
NORMAL = ["giant", "dwarf"]
OBJECT_ID_OFFSET = 100_000_001


class MockParams(Config):
    """Parameters shared by the mock source and its known catalogue (same values, same stars)."""

    seed: int | None = Field(None, description="random seed; null = the recipe's seed")
    n_giants: int = Field(4000, ge=10, description="ordinary K/M giants")
    n_dwarfs: int = Field(300, ge=0, description="foreground M dwarfs (ordinary; the luminosity cut removes them)")
    n_symbiotic: int = Field(40, ge=0, description="injected symbiotic systems (giant + hot component + nebula)")
    n_mira: int = Field(15, ge=0, description="Mira variables (labelled contaminants)")
    n_yso: int = Field(20, ge=0, description="young stellar objects (labelled contaminants)")
    j_limit: float = Field(15.0, description="soft J limit of the simulated query (the recipe's J < 14 cut is tighter)")
    dec_max: float = Field(10.0, description="northern limit of the simulated survey (deg)")

    def resolved_seed(self, ctx: RunContext) -> int:
        return int(self.seed if self.seed is not None else (ctx.seed if ctx is not None else 0))


def _sky(pop: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Galactic l, b (deg) and distance (kpc)."""
    l = rng.uniform(0, 360, n)
    if pop == "dwarf":
        d = 0.3 * rng.uniform(0.02, 1, n) ** (1 / 3)
        b = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        return l, b, d
    d_max, h = DISC[pop]
    rho = d_max * np.sqrt(rng.uniform(0.0004, 1, n))
    z = rng.laplace(0, h, n)
    return l, np.degrees(np.arctan2(z, rho)), np.hypot(rho, z)


def _reddening(b_deg: np.ndarray, d_kpc: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """E(B-V) of an exponential dust disc (0.25 mag/kpc, h = 0.125 kpc) up to distance d."""
    rho0, h = 0.25, 0.125
    s = np.abs(np.sin(np.radians(b_deg)))
    with np.errstate(divide="ignore", invalid="ignore"):
        col = np.where(s * d_kpc / h > 1e-6, rho0 * h / s * (1 - np.exp(-d_kpc * s / h)), rho0 * d_kpc)
    return col * patch


def _errors(band: str, m: np.ndarray) -> np.ndarray:
    return np.hypot(ERROR_FLOOR[band], 0.2 * 10 ** (0.4 * (m - DEPTH_5SIGMA[band])))


def _ph_qual(errs: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    letters = []
    for e in errs:
        q = np.select([~np.isfinite(e), e < 0.1086, e < 0.1551, e < 0.2171], ["U", "A", "B", "C"], "D")
        confused = rng.uniform(0, 1, len(e)) < 0.0085
        letters.append(np.where(confused, "E", q))
    return np.char.add(np.char.add(letters[0], letters[1]), letters[2])


def _population(pop: str, n: int, params: MockParams, rng: np.random.Generator) -> pd.DataFrame:
    """n rows of one population inside the survey footprint and the soft J limit."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    parts, have = [], 0
    while have < n:
        m = max(3 * (n - have), 50)
        if pop == "giant":
            absm, _ = pops.giants(m, rng)
        elif pop == "symbiotic":
            absm, _ = pops.symbiotics(m, rng)
        else:
            absm = {"dwarf": pops.dwarfs, "mira": pops.miras, "yso": pops.ysos}[pop](m, rng)
        l, b, d = _sky(pop, m, rng)
        patch = rng.lognormal(0, 0.3, m)
        ebv_true = _reddening(b, d, patch)
        ebv_sfd = _reddening(b, np.full(m, 15.0), patch)
        dm = 5 * np.log10(d * 100.0)                          # d in kpc -> 5 log10(d_pc / 10)
        true = {band: absm[band] + dm + R_BAND[band] * ebv_true for band in pops.BANDS}
        icrs = SkyCoord(l=l * u.deg, b=b * u.deg, frame="galactic").icrs
        keep = (icrs.dec.deg < params.dec_max) & (true["J"] < params.j_limit)
        frame = pd.DataFrame({"ra": icrs.ra.deg, "dec": icrs.dec.deg, "l": l, "b": b, "d_kpc": d,
                              "ebv_true": ebv_true, "ebv_sfd": ebv_sfd,
                              **{f"true_{band}": true[band] for band in pops.BANDS}})[keep]
        parts.append(frame)
        have += len(frame)
    out = pd.concat(parts, ignore_index=True).iloc[:n].copy()
    out[TRUTH_COLUMN] = pop
    return out


@lru_cache(maxsize=8)
def _generate_cached(key: tuple) -> pd.DataFrame:
    params = MockParams(**dict(key))
    return _generate(params)


def generate_mock(params: MockParams, seed: int) -> pd.DataFrame:
    """The mock rows (cached per parameter set); the frame returned is a copy."""
    key = tuple(sorted({**params.model_dump(), "seed": int(seed)}.items()))
    return _generate_cached(key).copy()


def _generate(params: MockParams) -> pd.DataFrame:
    rng = np.random.default_rng([int(params.seed), 0x5B1])
    counts = {"giant": params.n_giants, "dwarf": params.n_dwarfs, "symbiotic": params.n_symbiotic,
              "mira": params.n_mira, "yso": params.n_yso}
    frame = pd.concat([_population(p, n, params, rng) for p, n in counts.items() if n > 0], ignore_index=True)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    n = len(frame)
    out = pd.DataFrame({"object_id": np.arange(n, dtype=np.int64) + OBJECT_ID_OFFSET,
                        "ra": frame["ra"].to_numpy(), "dec": frame["dec"].to_numpy()})
    saturated = np.zeros(n, bool)
    for band in pops.BANDS:
        true = frame[f"true_{band}"].to_numpy()
        err = _errors(band, true)
        obs = true + rng.normal(0, 1, n) * err
        missing = true > DEPTH_5SIGMA[band] + 0.3
        mag_col, err_col = MAG_COLUMNS[band]
        out[mag_col] = np.where(missing, np.nan, np.round(obs, 4))
        out[err_col] = np.where(missing, np.nan, np.round(err, 4))
        if band in "uvgriz":
            saturated |= true < 9.0
    out["ph_qual"] = _ph_qual([out[MAG_COLUMNS[b][1]].to_numpy() for b in "JHK"], rng)
    blend = rng.uniform(0, 1, n) < 0.04
    out["class_star"] = np.round(np.where(blend, rng.uniform(0.3, 0.9, n), 0.93 + 0.06 * rng.beta(5, 2, n)), 3)
    neighbour = rng.choice([0, 1, 2], size=n, p=[0.97, 0.015, 0.015])
    out["flags"] = (neighbour | np.where(saturated, 4, 0)).astype(np.int64)
    d_pc = frame["d_kpc"].to_numpy() * 1000.0
    G = np.nan_to_num(frame["true_i"].to_numpy() + 0.3, nan=20.0)
    plx_err = 0.02 + 0.03 * 10 ** (0.3 * (np.minimum(G, 21) - 15))
    out["source_id"] = (rng.integers(10**15, 6 * 10**18, n)).astype(np.int64)
    out["parallax"] = np.round(1000.0 / d_pc + rng.normal(0, 1, n) * plx_err, 5)
    out["parallax_error"] = np.round(plx_err, 5)
    frac = np.minimum(plx_err * d_pc / 1000.0, 0.5)       # fractional distance error, capped like a prior would
    r_est = d_pc * np.exp(rng.normal(0, 1, n) * frac)
    out["r_med_geo"] = np.round(r_est, 2)
    out["r_lo_geo"] = np.round(r_est * np.exp(-frac), 2)
    out["r_hi_geo"] = np.round(r_est * np.exp(frac), 2)
    out["ebmv_sfd"] = np.round(frame["ebv_sfd"].to_numpy(), 4)
    out[TRUTH_COLUMN] = frame[TRUTH_COLUMN].to_numpy()
    out["truth_ebv"] = np.round(frame["ebv_true"].to_numpy(), 4)
    out["truth_distance"] = np.round(d_pc, 2)
    return out


UNITS = {"ra": ("deg", "right ascension (ICRS)"), "dec": ("deg", "declination (ICRS)"),
         "parallax": ("mas", "Gaia parallax (simulated)"), "parallax_error": ("mas", "parallax uncertainty"),
         "r_med_geo": ("pc", "geometric distance, as merged from Bailer-Jones (simulated)"),
         "r_lo_geo": ("pc", "16th percentile of the distance (simulated)"),
         "r_hi_geo": ("pc", "84th percentile of the distance (simulated)"),
         "ebmv_sfd": ("mag", "E(B-V) of the whole line of sight (SFD-like, simulated)"),
         "truth_ebv": ("mag", "true E(B-V) up to the star (mock truth)"),
         "truth_distance": ("pc", "true distance (mock truth)"),
         "ph_qual": (None, "2MASS photometric quality flags J H K"),
         "class_star": (None, "SkyMapper stellarity (1 = point source)"),
         "flags": (None, "SkyMapper flags: 1 close neighbour, 2 blended, 4 saturated"),
         "object_id": (None, "SkyMapper-like object identifier"),
         "source_id": (None, "Gaia DR2 source_id (simulated)"),
         TRUTH_COLUMN: (None, "mock truth: giant, dwarf, symbiotic, mira or yso")}


def mock_table(params: MockParams, seed: int) -> Table:
    frame = generate_mock(params, seed)
    info = {name: ColumnInfo(*UNITS[name][::1]) for name in UNITS}
    for band, (mag, err) in MAG_COLUMNS.items():
        info[mag] = ColumnInfo("mag", f"{band} magnitude (Vega-like, simulated)")
        info[err] = ColumnInfo("mag", f"{band} magnitude uncertainty")
    meta = {"mock": True, "truth_normal": list(NORMAL),
            "mock_params": {**params.model_dump(), "seed": int(seed)}}
    return Table(frame, info, "object_id", meta)


class SymbioticMock(Source):
    name = "symbiotic.mock"
    summary = "Simulated SkyMapper+2MASS+AllWISE+Gaia giants with injected symbiotic stars, Miras and YSOs (truth-labelled)."

    Config = MockParams

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """A few thousand simulated stars whose populations are drawn jointly: generated once, handed on in chunks."""
        yield from rechunk([self.load(ctx)], chunk_rows)

    def load(self, ctx: RunContext) -> Table:
        seed = self.config.resolved_seed(ctx)
        table = mock_table(self.config, seed)
        if ctx is not None:
            counts = table.data[TRUTH_COLUMN].value_counts().to_dict()
            ctx.record("populations", {k: int(v) for k, v in counts.items()})
        return table
