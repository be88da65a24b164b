"""Just enough ADQL for the fake TAP service to answer a query from a table, as a database would.

A test gives the fake the rows a service holds (``FakeTap.serve``); the query's ``WHERE`` is
applied, then ``TOP``, then the select list. So a client test sees the rows its own selection
picks, not whatever a recording holds, and a dropped or wrong condition changes the answer.

Supported, as the clients here write them: conditions joined by ``AND``/``OR`` with
parentheses and ``NOT``; comparisons ``= != <> < <= > >=`` between arithmetic (``+ - * /``)
of columns, numbers and quoted strings; ``IS [NOT] NULL``; ``[NOT] IN (literals)``. Columns
are looked up by name without their table alias (``t.j_m`` -> ``j_m``): the table stands for
the joined rows. ``ORDER BY column [ASC|DESC]`` sorts the rows before ``TOP``. ``FROM``/``JOIN``
are not interpreted. Anything else, and any column the
table lacks, raises ``AdqlError`` (the fake answers it as the service's error), so a condition
can never be ignored silently.
"""

from __future__ import annotations

import operator
import re

import numpy as np

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^']|'')*')"
                    r"|(?P<op><>|!=|<=|>=|[=<>()+\-*/,])|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?))")
_CMP = {"=": operator.eq, "!=": operator.ne, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_SELECT = re.compile(r"^\s*SELECT\s+(?:TOP\s+(?P<top>\d+)\s+)?(?P<cols>.*?)\s+FROM\s", re.I | re.S)
_WHERE = re.compile(r"\sWHERE\s(?P<where>.*?)(?:\sORDER\s+BY\s.*)?$", re.I | re.S)
_ORDER = re.compile(r"\sORDER\s+BY\s+(?P<col>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.I | re.S)


class AdqlError(ValueError):
    """A query the fake cannot answer exactly."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise AdqlError(f"cannot read ADQL at {text[pos:pos + 30]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "name" and value.upper() in ("AND", "OR", "NOT", "IS", "NULL", "IN"):
            kind, value = "kw", value.upper()
        out.append((kind, value))
        pos = m.end()
    return out


class _Where:
    """Recursive descent over the tokens; every method returns a value array or a boolean mask."""

    def __init__(self, text: str, table) -> None:
        self.toks, self.i, self.table = _tokens(text), 0, table

    def peek(self, value: str | None = None, kind: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return (value is None or v == value) and (kind is None or k == kind)

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks) or (value is not None and self.toks[self.i][1] != value):
            found = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise AdqlError(f"expected {value or 'more'} in WHERE, found {found}")
        self.i += 1
        return self.toks[self.i - 1]

    def parse(self) -> np.ndarray:
        mask = self.disjunction()
        if self.i != len(self.toks):
            raise AdqlError(f"unexpected {self.toks[self.i][1]!r} in WHERE")
        return mask

    def disjunction(self):
        out = self.conjunction()
        while self.peek("OR"):
            self.take()
            out = out | self.conjunction()
        return out

    def conjunction(self):
        out = self.negation()
        while self.peek("AND"):
            self.take()
            out = out & self.negation()
        return out

    def negation(self):
        if self.peek("NOT"):
            self.take()
            return ~self.negation()
        if self.peek("("):                       # a parenthesised condition, or arithmetic?
            start = self.i
            self.take()
            try:
                inner = self.disjunction()
                self.take(")")
                if isinstance(inner, np.ndarray) and inner.dtype == bool and not self._comparison_follows():
                    return inner
            except AdqlError:
                pass
            self.i = start
        return self.predicate()

    def _comparison_follows(self) -> bool:
        return self.peek(kind="op") and self.toks[self.i][1] in _CMP

    def predicate(self):
        left, null = self.arith()
        if self.peek("IS"):
            self.take()
            negate = self.peek("NOT") and bool(self.take())
            self.take("NULL")
            return ~null if negate else null
        negate = self.peek("NOT") and bool(self.take())
        if self.peek("IN"):
            self.take()
            self.take("(")
            values = [self.literal()]
            while self.peek(","):
                self.take()
                values.append(self.literal())
            self.take(")")
            inside = np.isin(np.asarray(left), values) & ~null
            return ~inside & ~null if negate else inside
        if negate:
            raise AdqlError("NOT must be followed by IN here")
        kind, op = self.take()
        if op not in _CMP:
            raise AdqlError(f"expected a comparison, found {op!r}")
        right, rnull = self.arith()
        with np.errstate(invalid="ignore"):
            return np.asarray(_CMP[op](left, right), bool) & ~null & ~rnull   # NULL compares false

    def literal(self):
        kind, value = self.take()
        if kind == "num":
            return float(value)
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if value == "-" and self.peek(kind="num"):
            return -float(self.take()[1])
        raise AdqlError(f"expected a literal in IN (...), found {value!r}")

    def arith(self):
        value, null = self.term()
        while self.peek("+") or self.peek("-"):
            op = self.take()[1]
            right, rnull = self.term()
            value, null = _ARITH[op](value, right), null | rnull
        return value, null

    def term(self):
        value, null = self.factor()
        while self.peek("*") or self.peek("/"):
            op = self.take()[1]
            right, rnull = self.factor()
            value, null = _ARITH[op](value, right), null | rnull
        return value, null

    def factor(self):
        kind, value = self.take()
        n = len(self.table)
        if kind == "num":
            return float(value), np.zeros(n, bool)
        if kind == "str":
            return value[1:-1].replace("''", "'"), np.zeros(n, bool)
        if value == "-":
            inner, null = self.factor()
            return -inner, null
        if value == "(":
            inner = self.arith()
            self.take(")")
            return inner
        if kind == "name":
            return column(self.table, value)
        raise AdqlError(f"unexpected {value!r} in WHERE")


def column(table, ref: str):
    """Values and NULL mask of ``alias.name`` (or ``name``) in an astropy Table."""
    name = ref.split(".", 1)[-1]
    if name not in table.colnames:
        raise AdqlError(f"column {ref!r} is not in the fake service's table (it has {', '.join(table.colnames)})")
    col = table[name]
    null = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), bool)
    if null.shape != (len(col),):
        null = np.zeros(len(col), bool)
    values = np.asarray(col.filled(0) if hasattr(col, "filled") else col)
    if values.dtype.kind == "f":
        null = null | np.isnan(values)
    return values, null


def answer_query(query: str, table):
    """The rows and columns of ``table`` that ``query`` selects (WHERE, then TOP, then the select list)."""
    head = _SELECT.match(query)
    if not head:
        raise AdqlError(f"not a SELECT ... FROM query: {query[:60]!r}")
    where = _WHERE.search(query)
    rows = table[_Where(where.group("where"), table).parse()] if where else table
    order = _ORDER.search(query)
    if order:   # one column, as a database sorts it (stable, so ties keep the table's order)
        values, _ = column(rows, order.group("col"))
        idx = np.argsort(values, kind="stable")
        rows = rows[idx[::-1] if (order.group("dir") or "").upper() == "DESC" else idx]
    if head.group("top"):
        rows = rows[: int(head.group("top"))]
    items = [c.strip() for c in head.group("cols").split(",")]
    if items == ["*"]:
        return rows
    names, renames = [], {}
    for item in items:
        m = re.fullmatch(r"(?P<ref>[\w.]+)(?:\s+AS\s+(?P<alias>\w+))?", item, re.I)
        if not m:
            raise AdqlError(f"the fake reads only column references in the select list, not {item!r}")
        name = m.group("ref").split(".", 1)[-1]
        column(rows, name)                    # raises when absent
        names.append(name)
        if m.group("alias"):
            renames[name] = m.group("alias")
    out = rows[names]
    for old, new in renames.items():
        out.rename_column(old, new)
    return out
