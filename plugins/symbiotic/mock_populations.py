"""Intrinsic magnitudes of the mock's populations (absolute, extinction-free, Vega-like).

Each population returns absolute magnitudes in the 11 bands (u v g r i z J H K W1 W2)
for n stars. The numbers are approximate and documented here so a reader can judge them:

- Giants K0III..M6III: a type index t in [0, 1] interpolates between knots at
  K0, K3, K5, M0, M2, M4, M6. M_K, J-H, H-K and V-K after Bessell & Brett (1988, PASP 100,
  1134; giant sequence) with M_K from the red clump (-1.6) to tip-like M giants (-6.3).
  Optical colours g-V = 0.6 (B-V) - 0.12, g-r, r-i, i-z follow the SDSS-like giant locus;
  SkyMapper v-g and u-v (violet/ultraviolet) are roughly 1.5-2.4 and 0.5-0.65 for cool
  giants, with a metallicity-like scatter on v-g (SkyMapper v is metallicity sensitive).
  K-W1 rises from 0.05 to 0.22 and W1-W2 is slightly negative (CO absorption in W2).
- Dwarfs (M0V..M5V foreground): M_K 4.5..8, J-K about 0.85..0.95, very red r-i.
- Symbiotic systems: an M giant (t in 0.55..1) plus a hot component and nebula that add
  flux relative to the giant's flux in each band (median ratios u 4, v 2, g 0.4 (Hbeta,
  [OIII]), r 0.25 (Halpha), i 0.05, z 0.03, near-IR 0.015-0.02), scaled per system by a
  lognormal factor; 20 % are dusty D-types (Mira-like giant, K-W1 and W1-W2 excess).
- Miras: M_K -7..-8 (period-luminosity relation), J-K 1.2..2, dusty W1-W2 > 0.
- YSOs (Herbig Ae/Be-like, luminous enough to pass a giant-luminosity cut): M_K -2.5..0,
  near-IR and mid-IR disc excess, accretion UV excess.
"""

from __future__ import annotations

import numpy as np

BANDS = ("u", "v", "g", "r", "i", "z", "J", "H", "K", "W1", "W2")

# giant knots:        K0     K3     K5     M0     M2     M4     M6
_T = np.array([0.00, 0.20, 0.40, 0.55, 0.70, 0.85, 1.00])
_GIANT = {
    "M_K": [-1.60, -2.60, -3.90, -4.40, -5.00, -5.60, -6.30],
    "J_H": [0.50, 0.68, 0.81, 0.87, 0.92, 0.93, 0.96],
    "H_K": [0.10, 0.14, 0.17, 0.20, 0.22, 0.27, 0.32],
    "V_K": [2.31, 3.00, 3.60, 3.85, 4.30, 5.10, 6.40],
    "B_V": [1.00, 1.30, 1.50, 1.56, 1.60, 1.62, 1.52],
    "g_r": [0.75, 0.98, 1.15, 1.25, 1.35, 1.45, 1.50],
    "r_i": [0.25, 0.35, 0.45, 0.60, 0.90, 1.40, 2.00],
    "i_z": [0.10, 0.15, 0.20, 0.30, 0.45, 0.70, 1.00],
    "v_g": [1.50, 1.80, 2.00, 2.20, 2.30, 2.40, 2.40],
    "u_v": [0.50, 0.55, 0.60, 0.65, 0.65, 0.65, 0.65],
    "K_W1": [0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.22],
    "W1_W2": [-0.02, -0.05, -0.08, -0.10, -0.12, -0.14, -0.15],
}

#: flux of hot component + nebula relative to the giant, median per band (symbiotics)
SYMBIOTIC_EXCESS = {"u": 4.0, "v": 2.0, "g": 0.4, "r": 0.25, "i": 0.05, "z": 0.03,
                    "J": 0.02, "H": 0.015, "K": 0.015, "W1": 0.02, "W2": 0.02}


def _assemble(c: dict) -> dict:
    """Absolute magnitudes per band from M_K and the colour chain."""
    K = c["M_K"]
    H = K + c["H_K"]
    J = H + c["J_H"]
    V = K + c["V_K"]
    g = V + 0.6 * c["B_V"] - 0.12
    r = g - c["g_r"]
    i = r - c["r_i"]
    z = i - c["i_z"]
    v = g + c["v_g"]
    u = v + c["u_v"]
    W1 = K - c["K_W1"]
    W2 = W1 - c["W1_W2"]
    return {"u": u, "v": v, "g": g, "r": r, "i": i, "z": z, "J": J, "H": H, "K": K, "W1": W1, "W2": W2}


def giant_colours(t: np.ndarray, rng: np.random.Generator) -> dict:
    """Colour chain of K/M giants at type index t, with intrinsic scatter."""
    n = len(t)
    c = {k: np.interp(t, _T, np.asarray(v, float)) for k, v in _GIANT.items()}
    c["M_K"] = c["M_K"] + rng.normal(0, 0.35, n)
    feh = rng.normal(0, 1, n)                     # metallicity-like: moves v-g and u-v together
    c["v_g"] = c["v_g"] + 0.12 * feh
    c["u_v"] = c["u_v"] + 0.05 * feh
    for k, s in (("J_H", 0.03), ("H_K", 0.02), ("V_K", 0.08), ("g_r", 0.04), ("r_i", 0.04),
                 ("i_z", 0.03), ("K_W1", 0.02), ("W1_W2", 0.02)):
        c[k] = c[k] + rng.normal(0, s, n)
    return c


def giants(n: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """K/M giants; more K than late M (type index from a Beta(1.4, 2) law)."""
    t = rng.beta(1.4, 2.0, n)
    return _assemble(giant_colours(t, rng)), t


def miras(n: int, rng: np.random.Generator) -> dict:
    c = giant_colours(np.ones(n), rng)
    c["M_K"] = rng.uniform(-8.0, -7.0, n)
    c["J_H"] = c["J_H"] + rng.uniform(0.1, 0.4, n)
    c["H_K"] = c["H_K"] + rng.uniform(0.1, 0.4, n)
    c["V_K"] = rng.uniform(7.0, 10.0, n)
    c["r_i"] = rng.uniform(2.0, 3.0, n)
    c["i_z"] = rng.uniform(1.0, 1.5, n)
    c["K_W1"] = rng.uniform(0.2, 0.6, n)
    c["W1_W2"] = rng.uniform(0.1, 0.5, n)
    return _assemble(c)


def dwarfs(n: int, rng: np.random.Generator) -> dict:
    t = rng.uniform(0, 1, n)
    c = {"M_K": 4.5 + 3.5 * t + rng.normal(0, 0.3, n),
         "J_H": 0.60 - 0.05 * t + rng.normal(0, 0.03, n),
         "H_K": 0.25 + 0.10 * t + rng.normal(0, 0.03, n),
         "V_K": 4.0 + 3.0 * t + rng.normal(0, 0.1, n),
         "B_V": 1.45 + 0.3 * t, "g_r": 1.40 + 0.2 * t + rng.normal(0, 0.04, n),
         "r_i": 1.0 + 1.5 * t + rng.normal(0, 0.05, n), "i_z": 0.5 + 0.7 * t + rng.normal(0, 0.04, n),
         "v_g": 2.2 + rng.normal(0, 0.1, n), "u_v": 0.6 + rng.normal(0, 0.05, n),
         "K_W1": 0.12 + 0.1 * t, "W1_W2": 0.1 + 0.1 * t}
    return _assemble(c)


def ysos(n: int, rng: np.random.Generator) -> dict:
    c = giant_colours(rng.uniform(0.0, 0.4, n), rng)
    c["M_K"] = rng.uniform(-2.5, 0.0, n)
    c["H_K"] = c["H_K"] + rng.uniform(0.3, 0.7, n)      # hot inner disc
    c["J_H"] = c["J_H"] + rng.uniform(0.1, 0.3, n)
    c["K_W1"] = rng.uniform(0.5, 1.0, n)
    c["W1_W2"] = rng.uniform(0.3, 0.8, n)
    mags = _assemble(c)
    veil = rng.lognormal(np.log(0.8), 0.4, n)            # accretion shock: UV excess
    for band, ratio in (("u", 1.0), ("v", 0.6), ("g", 0.2), ("r", 0.1)):
        mags[band] = mags[band] - 2.5 * np.log10(1 + veil * ratio)
    return mags


def symbiotics(n: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """M giant + hot component + nebula; returns (absolute mags, is_dusty_D_type)."""
    dusty = rng.uniform(0, 1, n) < 0.2
    base = _assemble(giant_colours(rng.uniform(0.55, 1.0, n), rng))
    mira = miras(n, rng)
    mags = {band: np.where(dusty, mira[band], base[band]) for band in BANDS}
    scale = rng.lognormal(0.0, 0.6, n)
    for band, ratio in SYMBIOTIC_EXCESS.items():
        extra = ratio * scale
        if band in ("W1", "W2", "K"):
            extra = extra + np.where(dusty, rng.uniform(0.5, 2.0, n) * (2.0 if band != "K" else 0.6), 0.0)
        mags[band] = mags[band] - 2.5 * np.log10(1 + extra)
    return mags, dusty
