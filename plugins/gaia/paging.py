"""Paging an archive query: the same rows as one ``SELECT TOP n ... ORDER BY key``, asked for in pages.

A streamed run should not hold a million-row answer in memory (nor wait for one job that the
service may cut at its row limit). Keyset paging on a unique column asks for

    SELECT TOP page <columns, key> FROM <table> WHERE (<conditions>) AND key > <last key seen>
    ORDER BY key

until the query's own TOP is reached or a page comes back short (a page the service cut at
its MAXREC is followed by the next one, not taken as the end). Ordered by the query's ORDER BY
column (``random_index``, ``source_id``: unique in gaia_source), the pages together are exactly
the rows and order of the one query (``page_by`` must name such a unique column); each page is its own cached query, so a rerun reads the
pages from disk. Queries of another shape (joins, GROUP BY, sub-queries, an ORDER BY over an
expression or several columns) are not rewritten: ``split_query`` says why and the source then
fetches the one answer (cached) and chunks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_QUERY = re.compile(
    r"^\s*SELECT\s+(?:TOP\s+(?P<top>\d+)\s+)?(?P<cols>.+?)\s+FROM\s+(?P<table>[\w.]+(?:\s+AS\s+\w+|\s+(?!WHERE\b|ORDER\b)\w+)?)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?)?\s*;?\s*$",
    re.I | re.S)
#: gaia_source columns with a different value in every row (what pages may follow without naming page_by)
UNIQUE = {"source_id", "random_index"}
_NOT_PAGEABLE = re.compile(r"\b(JOIN|GROUP\s+BY|HAVING|UNION|INTERSECT|EXCEPT|DISTINCT|OFFSET)\b|\(\s*SELECT\b",
                           re.I)


@dataclass
class PagedQuery:
    """A query taken apart for keyset paging (see the module doc)."""

    columns: list[str]
    table: str
    where: str | None
    key: str
    descending: bool
    top: int | None
    key_selected: bool   # the key is in the select list (else it is added to each page and dropped)

    def page(self, size: int, after=None) -> str:
        """The ADQL of the next page: at most ``size`` rows with keys after ``after`` (None: the first)."""
        cols = self.columns if self.key_selected else [*self.columns, self.key]
        conditions = [f"({self.where})"] if self.where else []
        if after is not None:
            conditions.append(f"{self.key} {'<' if self.descending else '>'} {literal(after)}")
        lines = [f"SELECT TOP {int(size)} " + ", ".join(cols), f"FROM {self.table}"]
        if conditions:
            lines.append("WHERE " + " AND ".join(conditions))
        lines.append(f"ORDER BY {self.key}" + (" DESC" if self.descending else ""))
        return "\n".join(lines)


def literal(value) -> str:
    """An ADQL literal for a key value: integers exactly, floats with every digit, strings quoted."""
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError("a boolean column cannot order pages")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"key value {value} cannot continue a page")
    return repr(value)


def split_columns(text: str) -> list[str] | None:
    """The select list as plain column names, or None when it holds expressions (commas in calls)."""
    items = [c.strip() for c in text.split(",")]
    if not all(re.fullmatch(r"[\w.]+", c) for c in items):
        return None
    return items


def split_query(adql: str, key: str | None, id_column: str | None) -> tuple[PagedQuery | None, str]:
    """The query taken apart for paging on ``key`` (default: its ORDER BY column, else the id column),
    or None and the reason it cannot be paged."""
    if _NOT_PAGEABLE.search(adql):
        return None, "the query has a join, sub-query, grouping, DISTINCT or OFFSET"
    m = _QUERY.match(adql)
    if not m:
        return None, "the query is not of the form SELECT [TOP n] columns FROM table [WHERE ...] [ORDER BY column]"
    cols = split_columns(m.group("cols"))
    if cols is None or cols == ["*"]:
        return None, "the select list holds expressions or *; name the columns to page"
    order = m.group("order")
    if key is None:
        key = order or id_column
        if key is None:
            return None, "there is no ORDER BY column or id column to page on"
        if key.split(".")[-1] not in {*UNIQUE, id_column}:
            return None, (f"the query orders by {key}, which is not known to be unique (pages on a column with "
                          "ties could skip rows); name a unique column the query orders by as page_by")
    if order is not None and order.split(".")[-1] != key.split(".")[-1]:
        return None, (f"the query orders by {order}, not by the paging key {key}: pages would change which rows "
                      "a TOP keeps")
    names = [c.split(".")[-1] for c in cols]
    return PagedQuery(columns=cols, table=m.group("table"), where=m.group("where"), key=key,
                      descending=(m.group("dir") or "").upper() == "DESC",
                      top=int(m.group("top")) if m.group("top") else None,
                      key_selected=key.split(".")[-1] in names), ""
