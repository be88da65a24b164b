"""Hook implementations of the expression steps (``expr.*``)."""

from toolkit.core import Register, hookimpl

from .expression import ExpressionCut, ExpressionFeature


@hookimpl
def toolkit_register_cuts(register: Register) -> None:
    register(ExpressionCut)


@hookimpl
def toolkit_register_features(register: Register) -> None:
    register(ExpressionFeature)
