"""Named gala potentials with the version pinned: the recipe says exactly which Milky Way it means.

``MilkyWayPotential`` exists in two versions in gala (v1: Bovy 2015 disc, used by the lesson's
``MilkyWayPotential()``; v2 = ``MilkyWayPotential2022``). gala warns and silently picks v1 when no
version is given, so here the version is required for that name.
"""

from __future__ import annotations

import difflib
import inspect

from toolkit.core import RecipeError

MILKY_WAY = "MilkyWayPotential"
MILKY_WAY_VERSIONS = ("v1", "v2")
#: names gala is retiring, built through their replacement (same parameters, no deprecation warning)
ALIASES = {"MilkyWayPotential2022": (MILKY_WAY, "v2")}


def available_potentials() -> list[str]:
    """Concrete potential classes in ``gala.potential`` that can be built by name."""
    import gala.potential as gp

    names = []
    for name, obj in vars(gp).items():
        if not (inspect.isclass(obj) and issubclass(obj, gp.PotentialBase)):
            continue
        if name in ("PotentialBase", "CPotentialBase", "CompositePotential", "CCompositePotential"):
            continue
        if inspect.isabstract(obj):
            continue
        names.append(name)
    return sorted(names)


def build_potential(name: str, version: str | None = None, parameters: dict | None = None):
    """The gala potential called ``name`` in galactic units (kpc, Myr, Msun, rad).

    ``parameters`` are passed to the constructor (plain numbers are in galactic units).
    Raises RecipeError for an unknown name (listing the available ones), a missing or
    unexpected version, or parameters the class rejects.
    """
    import gala.potential as gp
    from gala.units import galactic

    known = available_potentials()
    if name not in known:
        near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        raise RecipeError(f"unknown gala potential '{name}'.{hint} Available potentials in gala.potential: "
                          f"{', '.join(known)}.")
    params = dict(parameters or {})
    if name in ALIASES:
        if version is not None:
            raise RecipeError(f"`version: {version}` applies only to potential '{MILKY_WAY}'; '{name}' is "
                              f"{ALIASES[name][0]} version {ALIASES[name][1]} already (remove `version`).")
        name, version = ALIASES[name]
    if name == MILKY_WAY:
        if version is None:
            raise RecipeError(f"potential '{MILKY_WAY}' needs `version:` pinned: 'v1' (gala's original model, "
                              "what the lesson's MilkyWayPotential() gives) or 'v2' (= MilkyWayPotential2022).")
        if str(version).lower() not in MILKY_WAY_VERSIONS:
            raise RecipeError(f"potential '{MILKY_WAY}': unknown version '{version}'; "
                              f"use one of {', '.join(MILKY_WAY_VERSIONS)}.")
        params["version"] = str(version).lower()
    elif version is not None:
        raise RecipeError(f"`version: {version}` applies only to potential '{MILKY_WAY}'; "
                          f"'{name}' has no versions (remove `version`).")
    try:
        return getattr(gp, name)(units=galactic, **params)
    except Exception as exc:  # missing or misspelt parameters of a generic potential
        raise RecipeError(f"could not build gala potential '{name}' with parameters {params}: "
                          f"{type(exc).__name__}: {exc}. Give its parameters under `potential_parameters:` "
                          "(numbers in kpc, Myr, Msun, rad).") from None


def describe_potential(potential, name: str, version: str | None, parameters: dict | None) -> dict:
    """A JSON-able record of the potential for the manifest."""
    import gala

    return {"name": name, "version": version, "class": type(potential).__name__,
            "model_version": getattr(potential, "version", None),
            "parameters": dict(parameters or {}), "units": "kpc, Myr, solMass, rad", "gala": gala.__version__}
