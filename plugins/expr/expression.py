"""``expr.cut`` and ``expr.feature``: recipe-written selections and derived columns.

Expressions use the safe grammar of ``toolkit.core.expr`` (never eval).
"""

from __future__ import annotations

import numpy as np
from pydantic import field_validator

from toolkit.core import Columns, Config, Cut, Expression, Feature, Field, RecipeError, StageError, Table
from toolkit.core import RunContext


def _checked(text: str) -> str:
    """Parse now, so a bad expression fails recipe validation (pydantic adds the location)."""
    try:
        Expression(text)
    except RecipeError as exc:
        raise ValueError(str(exc)) from None
    return text


class ExpressionCut(Cut):
    """Keep the rows where ``expr`` is true, e.g. ``parallax > 10 and ruwe < 1.4``.

    The expression is parsed by ``toolkit.core.Expression`` (never ``eval``): column names,
    numbers, comparisons, arithmetic, and/or/not and a few functions. A comparison with NaN is false,
    so rows with a missing value are cut (the cut-flow counts them).
    """
    name = "expr.cut"
    aliases = ("cut.expr",)   # the former name, until the next release
    summary = "Keep rows where a safe expression is true (columns, numbers, arithmetic, and/or/not)."

    class Config(Config):
        expr: str = Field(description="e.g. 'parallax_over_error > 10 and isfinite(radial_velocity)'")
        _check = field_validator("expr")(classmethod(lambda cls, v: _checked(v)))

    def __init__(self, config=None, **params):
        super().__init__(config, **params)
        self.expression = Expression(self.config.expr)

    def describe(self) -> str:
        return self.config.expr

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        table.require(self.expression.columns, self.name)
        result = np.broadcast_to(np.asarray(self.expression.evaluate(table.data)), (len(table),))
        if result.dtype.kind not in "biu":
            raise StageError(f"cut '{self.config.expr}' gives {result.dtype} values, not true/false")
        return result.astype(bool)


class ExpressionFeature(Feature):
    name = "expr.feature"
    aliases = ("feature.expr",)   # the former name, until the next release
    summary = "A new column from a safe expression of existing ones, with a unit."

    class Config(Config):
        columns: dict[str, str] = Field(description="new column name -> expression, e.g. {g_rp: 'phot_g_mean_mag - phot_rp_mean_mag'}")
        units: dict[str, str] = Field(default_factory=dict, description="new column name -> unit")
        _check = field_validator("columns")(classmethod(lambda cls, v: {k: _checked(e) for k, e in v.items()}))

    def __init__(self, config=None, **params):
        super().__init__(config, **params)
        self.expressions = {name: Expression(text) for name, text in self.config.columns.items()}

    def compute(self, table: Table, ctx: RunContext) -> Columns:
        out = Columns()
        work = table.data
        for name, expr in self.expressions.items():
            table.require([c for c in expr.columns if c not in out], self.name)
            view = {**{c: work[c] for c in expr.columns if c in work}, **out.data}
            values = np.broadcast_to(np.asarray(expr.evaluate(view), dtype=float), (len(table),))
            out.add(name, values, unit=self.config.units.get(name), description=f"= {expr}")
        return out
