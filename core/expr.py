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
import functools
import operator
import re

import numpy as np

from .errors import RecipeError

def _reduce(ufunc):
    """min/max of two or more arguments, elementwise (np.minimum's third argument would be `out`)."""
    return lambda *args: functools.reduce(ufunc, args)


FUNCTIONS = {
    "abs": np.abs, "log10": np.log10, "sqrt": np.sqrt, "isnan": np.isnan,
    "isfinite": np.isfinite, "log": np.log, "exp": np.exp, "hypot": np.hypot,
    "min": _reduce(np.minimum), "max": _reduce(np.maximum),
}
#: how many arguments each function takes: (fewest, most); None = no upper bound
ARITY = {"abs": (1, 1), "log10": (1, 1), "sqrt": (1, 1), "isnan": (1, 1), "isfinite": (1, 1), "log": (1, 1),
         "exp": (1, 1), "hypot": (2, 2), "min": (2, None), "max": (2, None)}
#: bounds on what an expression may be, checked before it touches data (a recipe is not a program)
MAX_LENGTH = 10_000        # characters
MAX_NODES = 2_000          # syntax-tree nodes
MAX_DEPTH = 100            # nesting
INT_BITS = 63              # integer constants (and constant arithmetic) must fit an int64
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

        if not isinstance(text, str):
            raise RecipeError(f"an expression is text, got {type(text).__name__} {text!r}")
        if len(text) > MAX_LENGTH:
            raise RecipeError(f"expression {_short(text)} is {len(text):,} characters long; at most "
                              f"{MAX_LENGTH:,} are allowed")
        if "\0" in text:
            raise RecipeError(f"expression {_short(text)} contains a NUL character")
        source = _BACKTICK.sub(alias, text)
        try:
            self.tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise RecipeError(f"cannot parse expression {_short(text)}: {exc.msg}") from None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise RecipeError(f"cannot parse expression {_short(text)}: it nests too deeply "
                              f"({type(exc).__name__})") from None
        self._bound_size()
        self.columns: list[str] = []
        self._folded: dict[int, object] = {}
        self._check(self.tree)
        self._kind(self.tree)

    def _bound_size(self) -> None:
        """Count nodes and depth without recursion, so a hostile expression cannot crash the checker."""
        stack, nodes = [(self.tree, 1)], 0
        while stack:
            node, depth = stack.pop()
            nodes += 1
            if nodes > MAX_NODES:
                raise RecipeError(f"expression {_short(self.text)} has more than {MAX_NODES:,} terms; "
                                  "split it into several features or cuts")
            if depth > MAX_DEPTH:
                raise RecipeError(f"expression {_short(self.text)} nests more than {MAX_DEPTH} levels deep "
                                  "(each further term of a long sum or product is one level)")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    def _reject(self, node: ast.AST, why: str):
        raise RecipeError(f"expression {_short(self.text)} is not allowed: {why}. Allowed: column names, "
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
            if any(isinstance(a, ast.Starred) for a in node.args):
                self._reject(node, "*arguments")
            low, high = ARITY[node.func.id]
            n = len(node.args)
            if n < low or (high is not None and n > high):
                want = f"{low}" if low == high else (f"at least {low}" if high is None else f"{low} to {high}")
                raise RecipeError(f"expression {_short(self.text)}: {node.func.id}() takes {want} "
                                  f"argument{'s' if want != '1' else ''}, got {n}")
            for a in node.args:
                self._check(a)
        elif isinstance(node, ast.Attribute):
            self._reject(node, "attribute access")
        else:
            self._reject(node, f"{type(node).__name__} syntax")

    def _type_error(self, node: ast.AST, why: str):
        raise RecipeError(f"expression {_short(self.text)}: {why} (at column {getattr(node, 'col_offset', 0) + 1})")

    def _kind(self, node: ast.AST) -> str:
        """Static kind of a subexpression ('num', 'bool', 'str', or 'col' for a column, type unknown);
        folds constant arithmetic (bounded) so a run never computes 9**9**9."""
        if isinstance(node, ast.Name):
            return "col"
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return "bool"
            if isinstance(v, int) and abs(v) >= 2 ** INT_BITS:
                self._type_error(node, f"the integer {_short(str(v))} does not fit 64 bits; write it as a "
                                       "float (e.g. 1e30)")
            return "str" if isinstance(v, str) else "num"
        if isinstance(node, ast.BinOp):
            left, right = self._kind(node.left), self._kind(node.right)
            op = type(node.op).__name__
            if "str" in (left, right):
                self._type_error(node, f"{op} of a string")
            if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
                return "bool"
            self._fold(node)
            return "num"
        if isinstance(node, ast.UnaryOp):
            kind = self._kind(node.operand)
            if kind == "str":
                self._type_error(node, f"{type(node.op).__name__} of a string")
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return "bool"
            self._fold(node)
            return kind
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                if self._kind(v) == "str":
                    self._type_error(v, "a string used as a condition")
            return "bool"
        if isinstance(node, ast.Compare):
            kinds = [self._kind(node.left)] + [self._kind(c) for c in node.comparators]
            for (a, b), op in zip(zip(kinds, kinds[1:]), node.ops):
                if "col" not in (a, b) and (a == "str") != (b == "str"):
                    self._type_error(node, "a string compared with a number")
                if "str" in (a, b) and not isinstance(op, (ast.Eq, ast.NotEq)) and "col" not in (a, b):
                    self._type_error(node, "strings are compared only with == and !=")
            return "bool"
        if isinstance(node, ast.Call):
            for a in node.args:
                if self._kind(a) == "str":
                    self._type_error(a, f"{node.func.id}() of a string")
            return "bool" if node.func.id in ("isnan", "isfinite") else "num"
        return "col"

    def _constant(self, node: ast.AST):
        if id(node) in self._folded:
            return self._folded[id(node)]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return node.value
        return None

    def _fold(self, node: ast.AST) -> None:
        """Compute a constant subexpression once, here, within bounds; the run reuses the value."""
        if isinstance(node, ast.UnaryOp):
            v = self._constant(node.operand)
            if v is not None:
                self._folded[id(node)] = -v if isinstance(node.op, ast.USub) else +v
            return
        a, b = self._constant(node.left), self._constant(node.right)
        if a is None or b is None:
            return
        try:
            if isinstance(node.op, ast.Pow):
                if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 \
                        and (abs(a).bit_length() - 1) * b > INT_BITS:
                    raise OverflowError("integer power too large")
                if abs(b) > 1e6 and isinstance(a, int) and abs(a) > 1:
                    raise OverflowError("exponent too large")
            value = _BINOPS[type(node.op)](a, b)
            if isinstance(value, complex):
                raise ValueError("a complex result")
        except (OverflowError, ZeroDivisionError, ValueError) as exc:
            self._type_error(node, f"the constant part {_short(ast.unparse(node))} cannot be computed "
                                   f"({exc})")
        if isinstance(value, int) and abs(value) >= 2 ** INT_BITS:
            self._type_error(node, f"the constant part {_short(ast.unparse(node))} does not fit 64 bits")
        self._folded[id(node)] = value

    def evaluate(self, columns) -> np.ndarray:
        """Evaluate on a mapping of column name -> array (e.g. a DataFrame)."""
        return self._eval(self.tree, columns)

    def _eval(self, node, cols):
        if id(node) in self._folded:
            return self._folded[id(node)]
        if isinstance(node, ast.Name):
            name = self._aliases.get(node.id, node.id)
            values = cols[name]
            return values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, cols), self._eval(node.right, cols)
            if isinstance(node.op, ast.Pow):   # integer columns: no overflow wrap, no negative-power error
                left = left.astype(float) if getattr(left, "dtype", None) is not None and left.dtype.kind in "iub" \
                    else (float(left) if isinstance(left, int) else left)
            return _BINOPS[type(node.op)](left, right)
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


def _short(text: str, n: int = 80) -> str:
    """An expression quoted for a message, cut to ``n`` characters."""
    return repr(text) if len(text) <= n else repr(text[:n]) + f"... ({len(text):,} characters)"
