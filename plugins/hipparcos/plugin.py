"""Hook implementations of the Hipparcos plugin."""

from toolkit.core import Register, hookimpl

from .figures import HipparcosFigures
from .source import Hip2Source
from .weight_matrix import AstrometricCovariance


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(Hip2Source)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(AstrometricCovariance)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(HipparcosFigures)
