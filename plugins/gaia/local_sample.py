"""Summary statistics of a local (100 pc) radial-velocity sample, real or mock, in one place.

The numbers an astronomer quotes to say whether a solar-neighbourhood sample looks right:
velocity dispersions and mean heliocentric V, halo-like and thick-disc-like fractions by the
Toomre-diagram speed cuts, median absolute magnitude and colour. The mock's tests and
``benchmarks/mock_kinematics.py`` compare these with published values; the same function
reads a real Gaia table, so a comparison with real stars is one call.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd

from .kinematics import lsr_velocity

#: Toomre-diagram speed cuts relative to the LSR (km/s), as issue 18 states them: thick-disc-like
#: 70-180, halo-like above 220 (conventions of the kinematic-selection literature, not measurements)
THICK_LIKE_KMS, HALO_LIKE_KMS = (70.0, 180.0), 220.0
#: red main sequence (Parenago's discontinuity, B-V 0.62 ~ BP-RP 0.78) and dwarfs only (giants have M_G < 4)
RED_DWARF_BP_RP, DWARF_MIN_M_G = 0.78, 4.0


def heliocentric_uvw(df: pd.DataFrame) -> pd.DataFrame:
    """Heliocentric U, V, W and the speed relative to the Schönrich et al. (2010) LSR, km/s (1/parallax distance)."""
    args = (df["ra"].to_numpy() * u.deg, df["dec"].to_numpy() * u.deg,
            (1000.0 / df["parallax"].to_numpy()) * u.pc, df["pmra"].to_numpy() * u.mas / u.yr,
            df["pmdec"].to_numpy() * u.mas / u.yr, df["radial_velocity"].to_numpy() * u.km / u.s)
    helio = lsr_velocity(*args, solar_motion=(0.0, 0.0, 0.0))
    lsr = lsr_velocity(*args)
    return pd.DataFrame({"U": helio["U_lsr"].to_value(u.km / u.s), "V": helio["V_lsr"].to_value(u.km / u.s),
                         "W": helio["W_lsr"].to_value(u.km / u.s), "v_lsr": lsr["v_lsr"].to_value(u.km / u.s)},
                        index=df.index)


def local_rv_selection(df: pd.DataFrame, max_distance_pc: float = 100.0) -> pd.DataFrame:
    """The lesson's 100 pc cut: parallax > 1000/d mas, parallax_over_error > 10, a finite radial velocity."""
    keep = ((df["parallax"] > 1000.0 / max_distance_pc) & (df["parallax"] / df["parallax_error"] > 10)
            & np.isfinite(df["radial_velocity"]))
    return df[keep]


def summarise(df: pd.DataFrame) -> dict:
    """Kinematic and photometric summary of a (selected) sample; velocities heliocentric, km/s."""
    v = heliocentric_uvw(df)
    m_g = df["phot_g_mean_mag"].to_numpy() + 5 * np.log10(df["parallax"].to_numpy() / 100.0)
    bp_rp = (df["phot_bp_mean_mag"] - df["phot_rp_mean_mag"]).to_numpy()
    red = (bp_rp >= RED_DWARF_BP_RP) & (m_g > DWARF_MIN_M_G)
    lo, hi = THICK_LIKE_KMS
    speed = v["v_lsr"].to_numpy()
    out = {"n": int(len(df)),
           "sigma_U": float(v["U"].std()), "sigma_V": float(v["V"].std()), "sigma_W": float(v["W"].std()),
           "mean_U": float(v["U"].mean()), "mean_V": float(v["V"].mean()), "mean_W": float(v["W"].mean()),
           "halo_like": float(np.mean(speed > HALO_LIKE_KMS)),
           "thick_like": float(np.mean((speed > lo) & (speed <= hi))),
           "median_M_G": float(np.median(m_g)), "median_bp_rp": float(np.median(bp_rp)),
           "n_red_dwarfs": int(red.sum())}
    rv = v[red]
    out.update({"red_sigma_U": float(rv["U"].std()), "red_sigma_V": float(rv["V"].std()),
                "red_sigma_W": float(rv["W"].std()), "red_mean_V": float(rv["V"].mean())})
    return out
