"""Hook implementations of the symbiotic-star domain."""

from toolkit.core import Register, hookimpl

from .cuts import AbsoluteMagnitudeCut, ExtinctionCorrectedColourCut
from .extinction import ExtinctionColumn, ExtinctionMwdust
from .figures import SymbioticFigures
from .mock import SymbioticMock
from .mock_known import MockKnownSymbiotics
from .nightly_colours import NightlyColours
from .skymapper import SkyMapperTap


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(SymbioticMock)
    # remote SkyMapper source: registered below by its owner
    register(SkyMapperTap)


@hookimpl
def toolkit_register_cuts(register: Register) -> None:
    register(ExtinctionCorrectedColourCut)
    register(AbsoluteMagnitudeCut)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(ExtinctionColumn)
    register(ExtinctionMwdust)
    register(NightlyColours)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(SymbioticFigures)


@hookimpl
def toolkit_register_catalogs(register: Register) -> None:
    register(MockKnownSymbiotics)
