"""Hook implementations: how toolkit finds this plugin's components (entry point group "toolkit")."""

from toolkit.core import Register, hookimpl

from .catalog import RaveKnownStars
from .cut import RaveQualityCut
from .detector import RaveRobustZ
from .feature import RaveVelocity
from .source import RaveMock
from .validator import RaveMetalPoor


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(RaveMock)


@hookimpl
def toolkit_register_cuts(register: Register) -> None:
    register(RaveQualityCut)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(RaveVelocity)


@hookimpl
def toolkit_register_detectors(register: Register) -> None:
    register(RaveRobustZ)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(RaveMetalPoor)


@hookimpl
def toolkit_register_catalogs(register: Register) -> None:
    register(RaveKnownStars)
