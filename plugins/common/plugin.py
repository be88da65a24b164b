"""Hook implementations of the survey-agnostic built-ins."""

from toolkit.core import hookimpl

from .expression import ExpressionCut, ExpressionFeature
from .table_file import TableFile


@hookimpl
def toolkit_register_sources(register):
    register(TableFile)


@hookimpl
def toolkit_register_cuts(register):
    register(ExpressionCut)


@hookimpl
def toolkit_register_features(register):
    register(ExpressionFeature)
