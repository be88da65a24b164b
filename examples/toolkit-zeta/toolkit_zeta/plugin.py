"""Hook implementations: how toolkit finds the ZETA components."""

from toolkit.core import Register, hookimpl

from .components import ZetaSnrCut, ZetaSurvey


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(ZetaSurvey)


@hookimpl
def toolkit_register_cuts(register: Register) -> None:
    register(ZetaSnrCut)
