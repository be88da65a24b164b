"""Hook implementations: how toolkit finds this plugin's components (entry point group "toolkit")."""

from toolkit.core import hookimpl

from .catalog import RaveKnownStars
from .cut import RaveQualityCut
from .detector import RaveRobustZ
from .feature import RaveVelocity
from .source import RaveMock
from .validator import RaveMetalPoor


@hookimpl
def toolkit_register_sources(register):
    register(RaveMock)


@hookimpl
def toolkit_register_cuts(register):
    register(RaveQualityCut)


@hookimpl
def toolkit_register_features(register):
    register(RaveVelocity)


@hookimpl
def toolkit_register_detectors(register):
    register(RaveRobustZ)


@hookimpl
def toolkit_register_validators(register):
    register(RaveMetalPoor)


@hookimpl
def toolkit_register_catalogs(register):
    register(RaveKnownStars)
