"""Photometric bands of the symbiotic pipeline: column names and extinction coefficients.

Column names follow the SkyMapper DR2 TAP schema (``u_psf``, ``e_u_psf``; dr2.master),
2MASS PSC (``j_m``, ``j_msigcom``) and AllWISE (``w1mpro``, ``w1sigmpro``).

Extinction coefficients R_band = A_band / E(B-V) for R_V = 3.1:
- SkyMapper u v g r i z: Wolf et al. 2018, PASA 35, e010 (Fitzpatrick 1999 law, K-giant-like SED):
  4.294, 4.026, 2.986, 2.288, 1.588, 1.206.
- 2MASS J H Ks and WISE W1 W2: Schlafly & Finkbeiner 2011, ApJ 737, 103, Table 6
  (as tabulated in mwdust's extinction.tbl): 0.723, 0.460, 0.310, 0.189, 0.146.
  R_J - R_K = 0.413 is the seed's E(J-K)/E(B-V) of cut3.
"""

from __future__ import annotations

SKYMAPPER = ("u", "v", "g", "r", "i", "z")

#: band -> (magnitude column, error column)
MAG_COLUMNS: dict[str, tuple[str, str]] = {
    **{b: (f"{b}_psf", f"e_{b}_psf") for b in SKYMAPPER},
    "J": ("j_m", "j_msigcom"), "H": ("h_m", "h_msigcom"), "K": ("k_m", "k_msigcom"),
    "W1": ("w1mpro", "w1sigmpro"), "W2": ("w2mpro", "w2sigmpro"),
}

#: A_band / E(B-V) (see module docstring for sources)
R_BAND: dict[str, float] = {
    "u": 4.294, "v": 4.026, "g": 2.986, "r": 2.288, "i": 1.588, "z": 1.206,
    "J": 0.723, "H": 0.460, "K": 0.310, "W1": 0.189, "W2": 0.146,
}

#: R for each magnitude column name (the default of the extinction features)
R_BY_COLUMN: dict[str, float] = {MAG_COLUMNS[b][0]: r for b, r in R_BAND.items()}

#: the seed's E(J-K)/E(B-V)
E_JK_PER_EBV = round(R_BAND["J"] - R_BAND["K"], 3)  # 0.413

#: the nine magnitudes the seed's VAE uses
VAE_COLUMNS = [MAG_COLUMNS[b][0] for b in ("u", "v", "g", "r", "i", "z", "J", "H", "K")]
