"""Hook implementations of the Cepheid (Leavitt law) plugin."""

from toolkit.core import Register, hookimpl

from .detector import LeavittMCMC
from .features import AbsoluteMagnitudes, FundamentalPeriod, LmcRegion, Wesenheit
from .lmc_distance import LmcDistance
from .mock import CepheidMock


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(CepheidMock)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(FundamentalPeriod)
    register(Wesenheit)
    register(AbsoluteMagnitudes)
    register(LmcRegion)


@hookimpl
def toolkit_register_detectors(register: Register) -> None:
    register(LeavittMCMC)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(LmcDistance)
