"""Hook implementations: how toolkit finds the ZETA components."""

from toolkit.core import hookimpl

from .components import ZetaSnrCut, ZetaSurvey


@hookimpl
def toolkit_register_sources(register):
    register(ZetaSurvey)


@hookimpl
def toolkit_register_cuts(register):
    register(ZetaSnrCut)
