"""Hook implementations of the Gaia plugin (owner A; the archive source's lines are engineer G's)."""

from toolkit.core import Register, hookimpl

from .archive import GaiaArchive
from .bailer_jones import BailerJonesDistance
from .cuts import HasRadialVelocity, ParallaxQuality, Ruwe
from .features import AbsoluteMagnitude, Distance, Galactocentric, Tangential
from .figures import GaiaFigures
from .mock import GaiaMock


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(GaiaMock)
    register(GaiaArchive)


@hookimpl
def toolkit_register_cuts(register: Register) -> None:
    register(ParallaxQuality)
    register(HasRadialVelocity)
    register(Ruwe)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(Distance)
    register(AbsoluteMagnitude)
    register(Galactocentric)
    register(Tangential)
    register(BailerJonesDistance)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(GaiaFigures)
