"""Published relations the Cepheid plugin uses, each with its source, in one place.

Every number here is either quoted from the paper named beside it or marked as
adopted for the mock; the mock and the features read them from here so that a
change is made once.
"""

from __future__ import annotations

import numpy as np

#: Gaia Wesenheit W = G - 1.90 (BP - RP): Ripepi et al. 2019, A&A 625, A14 (from the Cardelli et al. 1989
#: law with R_V = 3.1 over the Gaia passbands); the same lambda is used for Gaia DR3 Cepheids (Ripepi et al.
#: 2023, A&A 674, A17).
WESENHEIT_LAMBDA = 1.90

#: First-overtone -> fundamental period: P_F = P_1O / (0.716 - 0.027 log10 P_1O), Feast & Catchpole 1997,
#: MNRAS 286, L1 (as used by Ripepi et al. 2019 and 2022 to put 1O Cepheids on the F-mode relations).
FEAST_CATCHPOLE_A = 0.716
FEAST_CATCHPOLE_B = 0.027

#: Geometric LMC distance modulus from 20 eclipsing binaries: 18.477 +- 0.004 (stat) +- 0.026 (sys) mag,
#: Pietrzynski et al. 2019, Nature 567, 200.
LMC_DM_PIETRZYNSKI2019 = 18.477
LMC_DM_PIETRZYNSKI2019_ERR = 0.026
LMC_DM_REFERENCE = "Pietrzynski et al. 2019, Nature 567, 200 (eclipsing binaries): 18.477 +- 0.026 mag"

#: LMC optical centre (ICRS, deg), as SIMBAD gives it (05h23m34.5s -69d45m22s); members are selected within
#: a radius of it.
LMC_CENTRE_DEG = (80.894, -69.756)

#: Parallax zero-points (mas, the value to subtract from the catalogue parallax: parallax - zp):
#: Gaia DR2 -0.029 (Lindegren et al. 2018, A&A 616, A2, quasars); Gaia (E)DR3 -0.017 (Lindegren et al. 2021,
#: A&A 649, A4, quasar median).
ZERO_POINT_DR2 = -0.029
ZERO_POINT_DR3 = -0.017


def fundamentalise(period_1o):
    """Fundamental-mode period of a first-overtone Cepheid (Feast & Catchpole 1997), same units (days)."""
    p = np.asarray(period_1o, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / (FEAST_CATCHPOLE_A - FEAST_CATCHPOLE_B * np.log10(p))


def overtone_from_fundamental(period_f, iterations: int = 30):
    """The 1O period whose fundamentalised period is ``period_f`` (fixed-point inverse; the mock draws F periods)."""
    pf = np.asarray(period_f, float)
    p1 = pf * FEAST_CATCHPOLE_A
    for _ in range(iterations):
        p1 = pf * (FEAST_CATCHPOLE_A - FEAST_CATCHPOLE_B * np.log10(p1))
    return p1


def distance_modulus_to_kpc(mu):
    """d = 10^(mu/5 + 1) pc, in kpc."""
    return 10.0 ** (np.asarray(mu, float) / 5.0 + 1.0) / 1000.0


#: Period-Wesenheit relations M_W = a + b log10 P (P in days, fundamental mode) adopted for the MOCK, with the
#: intrinsic scatter. Classical Cepheids: slope and zero-point of the size Ripepi et al. 2019 find for LMC DCEP_F
#: stars in the Gaia Wesenheit (W = 15.880 - 3.317 log P), moved to absolute magnitudes with the Pietrzynski
#: et al. 2019 distance (15.880 - 18.477 = -2.597). Type II (BL Her + W Vir) and anomalous Cepheids: rounded
#: relations of the kind Ripepi et al. 2019 give for T2CEP and ACEP_F in the LMC, about 1-2.5 mag (type II)
#: and about 0.8 mag (anomalous) fainter than classical Cepheids of the same period. These are mock
#: inputs, not fitted values to quote: check the papers before using them as results.
MOCK_PW = {
    "classical": {"a": -2.597, "b": -3.317, "scatter": 0.08},
    "type2": {"a": -1.20, "b": -2.40, "scatter": 0.12},
    "anomalous_cepheid": {"a": -1.90, "b": -2.95, "scatter": 0.10},
}
