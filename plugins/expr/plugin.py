"""Hook implementations of the expression steps (``expr.*``)."""

from toolkit.core import hookimpl

from .expression import ExpressionCut, ExpressionFeature


@hookimpl
def toolkit_register_cuts(register):
    register(ExpressionCut)


@hookimpl
def toolkit_register_features(register):
    register(ExpressionFeature)
