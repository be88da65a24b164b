"""Hook implementations of the mixture domain (Chronostar-style moving groups, cluster membership)."""

from toolkit.core import Register, hookimpl

from .cartesian_feature import GaiaCartesian
from .gaussian_detector import GaussianMixtureDetector
from .overlap_validator import OverlapSelection
from .sklearn_mixture import SklearnMixtureDetector
from .spacetime_detector import SpaceTimeDetector
from .synth_association import SyntheticAssociation
from .synth_cluster_field import SyntheticClusterField


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(SyntheticAssociation)
    register(SyntheticClusterField)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(GaiaCartesian)


@hookimpl
def toolkit_register_detectors(register: Register) -> None:
    register(GaussianMixtureDetector)
    register(SpaceTimeDetector)
    register(SklearnMixtureDetector)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(OverlapSelection)
