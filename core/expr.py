"""A small, safe expression language for cuts and derived columns.

Recipes are data, never code. An expression is parsed with Python's ``ast``
module and only a whitelist of node types is accepted: column names, numbers,
strings, ``+ - * / **``, comparisons (chains allowed), ``and``/``or``/``not``
(also ``& | ~``) and a few functions. Anything else (attribute access,
subscripts, lambdas, unknown functions, dunder names) is rejected with a clear
error before any data is touched. Evaluation walks the tree with NumPy; nothing
is passed to ``eval`` or ``exec``.

Column names that are not Python identifiers are written in backticks:
```B-V` > 0.5``.
"""

from __future__ import annotations

import ast
import operator
import re

import numpy as np

from .errors import RecipeError

FUNCTIONS = {
    "abs": np.abs, "log10": np.log10, "sqrt": np.sqrt, "isnan": np.isnan,
    "isfinite": np.isfinite, "log": np.log, "exp": np.exp, "hypot": np.hypot,
    "min": np.minimum, "max": np.maximum,
}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow,
           ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
           ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BACKTICK = re.compile(r"`([^`]+)`")


class Expression:
    """A parsed, checked expression. ``columns`` lists the names it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._aliases: dict[str, str] = {}

        def alias(m: re.Match) -> str:
            key = f"__col{len(self._aliases)}"
            self._aliases[key] = m.group(1)
            return key

        source = _BACKTICK.sub(alias, str(text))
        try:
            self.tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise RecipeError(f"cannot parse expression {text!r}: {exc.msg}") from None
        self.columns: list[str] = []
        self._check(self.tree)

    def _reject(self, node: ast.AST, why: str):
        raise RecipeError(f"expression {self.text!r} is not allowed: {why}. Allowed: column names, "
                          f"numbers, + - * / **, comparisons, and/or/not, and the functions "
                          f"{', '.join(sorted(FUNCTIONS))}.")

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            name = self._aliases.get(node.id, node.id)
            if node.id.startswith("__") and node.id not in self._aliases:
                self._reject(node, f"the name '{node.id}' is not a column")
            if name not in self.columns:
                self.columns.append(name)
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)):
                self._reject(node, f"constant {node.value!r}")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self._reject(node, f"the operator {type(node.op).__name__}")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd, ast.Invert)):
                self._reject(node, f"the operator {type(node.op).__name__}")
            self._check(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v)
        elif isinstance(node, ast.Compare):
            if any(type(op) not in _CMPOPS for op in node.ops):
                self._reject(node, "only < <= > >= == != comparisons")
            self._check(node.left)
            for c in node.comparators:
                self._check(c)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self._reject(node, "calling anything but a listed function (no attribute access)")
            if node.func.id not in FUNCTIONS:
                self._reject(node, f"the function '{node.func.id}'")
            if node.keywords:
                self._reject(node, "keyword arguments")
            for a in node.args:
                self._check(a)
        elif isinstance(node, ast.Attribute):
            self._reject(node, "attribute access")
        else:
            self._reject(node, f"{type(node).__name__} syntax")

    def evaluate(self, columns) -> np.ndarray:
        """Evaluate on a mapping of column name -> array (e.g. a DataFrame)."""
        return self._eval(self.tree, columns)

    def _eval(self, node, cols):
        if isinstance(node, ast.Name):
            name = self._aliases.get(node.id, node.id)
            values = cols[name]
            return values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, cols), self._eval(node.right, cols))
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, cols)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(v)
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = self._eval(node.values[0], cols)
            for v in node.values[1:]:
                out = combine(out, self._eval(v, cols))
            return out
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, cols)
            out = True
            for op, comp in zip(node.ops, node.comparators):
                right = self._eval(comp, cols)
                out = np.logical_and(out, _CMPOPS[type(op)](left, right))
                left = right
            return out
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*[self._eval(a, cols) for a in node.args])
        raise AssertionError(node)  # unreachable: _check accepted the tree

    def __str__(self) -> str:
        return self.text
