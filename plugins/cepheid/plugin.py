"""Hook implementations of the Cepheid (Leavitt law) plugin."""

from toolkit.core import hookimpl

from .detector import LeavittMCMC
from .features import AbsoluteMagnitudes, FundamentalPeriod, LmcRegion, Wesenheit
from .lmc_distance import LmcDistance
from .mock import CepheidMock


@hookimpl
def toolkit_register_sources(register):
    register(CepheidMock)


@hookimpl
def toolkit_register_features(register):
    register(FundamentalPeriod)
    register(Wesenheit)
    register(AbsoluteMagnitudes)
    register(LmcRegion)


@hookimpl
def toolkit_register_detectors(register):
    register(LeavittMCMC)


@hookimpl
def toolkit_register_validators(register):
    register(LmcDistance)
