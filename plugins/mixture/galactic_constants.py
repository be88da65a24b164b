"""Local Galactic constants (Oort A, B, vertical frequency nu) of a named gala potential.

The epicyclic tracer needs A, B and nu; to compare it with orbits integrated in a
potential (or to trace in the Galaxy that potential describes), take them from
the potential itself at the Sun's radius:

    A = (v_c/R - dv_c/dR) / 2,   B = -(v_c/R + dv_c/dR) / 2,   nu^2 = d^2 Phi / dz^2 (R0, z=0)

(Binney & Tremaine 2008, eqs. 3.83 and 3.84). For gala's MilkyWayPotential2022 at
R0 = 8.122 kpc: v_c = 229.4 km/s, A = 14.73, B = -13.52, nu = 84.5 km/s/kpc.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import RecipeError

from .frames import KMS_TO_PC_PER_MYR

#: astropy's Galactocentric (v4.0) Sun-centre distance, kpc (GRAVITY Collaboration 2018)
R0_KPC = 8.122
#: gala names that are a versioned MilkyWayPotential (gala warns and picks v1 when none is given)
VERSIONED = {"MilkyWayPotential2022": ("MilkyWayPotential", "v2"), "MilkyWayPotential2015": ("MilkyWayPotential", "v1")}


def named_potential(name: str):
    """The gala potential class ``name`` (galactic units); MilkyWayPotential2022/2015 pin the version."""
    import gala.potential as gp
    from gala.units import galactic

    cls, kwargs = name, {}
    if name in VERSIONED:
        cls, version = VERSIONED[name]
        kwargs["version"] = version
    elif name == "MilkyWayPotential":
        raise RecipeError("potential 'MilkyWayPotential' has two versions: name MilkyWayPotential2022 (v2) "
                          "or MilkyWayPotential2015 (v1) instead")
    if not hasattr(gp, cls):
        raise RecipeError(f"unknown gala potential {name!r} (e.g. MilkyWayPotential2022, BovyMWPotential2014)")
    return getattr(gp, cls)(units=galactic, **kwargs)


def local_constants(potential, r0_kpc: float = R0_KPC, step_kpc: float = 1e-3) -> dict:
    """Oort A, B, nu (km/s/kpc) and v_c (km/s) of ``potential`` at (R0, 0, 0), by central differences."""
    import astropy.units as u

    def vc(r):
        return float(potential.circular_velocity([r, 0.0, 0.0] * u.kpc).to_value(u.km / u.s)[0])

    v = vc(r0_kpc)
    dv = (vc(r0_kpc + step_kpc) - vc(r0_kpc - step_kpc)) / (2 * step_kpc)
    hess = potential.hessian([r0_kpc, 0.0, 0.0] * u.kpc).to_value(1 / u.Myr ** 2)
    nu = float(np.sqrt(hess[2, 2, 0])) / (KMS_TO_PC_PER_MYR * 1e-3)
    return {"oort_a": 0.5 * (v / r0_kpc - dv), "oort_b": -0.5 * (v / r0_kpc + dv), "nu": nu, "v_circ": v}
