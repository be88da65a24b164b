"""``gaia.archive``: rows from the ESA Gaia archive over TAP (pyvo), cached on disk.

The query is the recipe's ``query`` (full ADQL, e.g. the MIT 8.S50 lesson's), or is
built from ``columns``/``table``/``where``/``top``/``order_by``. Large queries run as
async jobs (``async_: auto`` decides by the TOP size: the archive silently truncates
synchronous results at 2000 rows). Results are cached under
``$TOOLKIT_CACHE/tap/`` keyed by the URL and query, so a second run is offline.
When the archive cannot be reached the source raises ``SourceUnavailable``; the
runner then uses the recipe's declared ``fallback`` (e.g. ``gaia.mock``) and says so.
A streamed run asks for the rows in pages of ``page_rows`` (keyset paging on the ORDER BY or id
column, each page a cached query of its own; see ``paging.py``), so it never holds the whole answer.

astroquery.gaia is not used: importing it contacts the archive (and its requests
carry no timeout). pyvo, imported inside ``load``, is enough for TAP.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
from pydantic import model_validator

from toolkit.core import (GAIA_TAP_URL, ROW_ID, Field, RunContext, Source, SourceUnavailable, StageError, Table,
                          TapOptions, query_key, rechunk, tap_query, to_source_table)

from .paging import PagedQuery, split_query

RELEASES = ("dr2", "dr3")
DEFAULT_RELEASE = "dr3"
#: DR2's gaia_source has no RUWE: it is published beside it, in gaiadr2.ruwe (Lindegren 2018,
#: GAIA-C3-TN-LU-LL-124), joined on source_id when a DR2 query asks for ``ruwe``
DR2_RUWE_TABLE = "gaiadr2.ruwe"
#: the lesson's columns plus source_id (a stable id) and parallax_error
DEFAULT_COLUMNS = ["source_id", "ra", "dec", "parallax", "parallax_error", "pmra", "pmdec", "radial_velocity",
                   "phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag"]


def release_table(release: str) -> str:
    return f"gaia{release}.gaia_source"


def query_release(adql: str) -> str | None:
    """The release a full ADQL query reads (its ``gaiadrN.`` schema), or None when it names none or several."""
    found = set(re.findall(r"\bgaia(dr[23])\.", adql, flags=re.I))
    return found.pop().lower() if len(found) == 1 else None


def build_query(columns: list[str], table: str, where: list[str], top: int | None, order_by: str | None) -> str:
    """``SELECT [TOP n] cols FROM table [WHERE (a) AND (b)] [ORDER BY ...]``, one clause per line.

    ``ruwe`` from DR2's gaia_source comes from ``gaiadr2.ruwe`` by a left join on source_id."""
    head = f"SELECT TOP {int(top)} " if top is not None else "SELECT "
    source = table
    if table.lower() == release_table("dr2") and "ruwe" in columns:
        columns = [f"r.{c}" if c == "ruwe" else f"g.{c}" for c in columns]
        source = f"{table} AS g LEFT OUTER JOIN {DR2_RUWE_TABLE} AS r ON r.source_id = g.source_id"
    lines = [head + ", ".join(columns), f"FROM {source}"]
    if where:
        lines.append("WHERE " + " AND ".join(f"({w.strip()})" for w in where))
    if order_by:
        lines.append(f"ORDER BY {order_by}")
    return "\n".join(lines)


class GaiaArchive(Source):
    name = "gaia.archive"
    summary = "Gaia archive TAP query (ADQL from the recipe or built from columns/where/top), cached, bounded."

    class Config(TapOptions):
        query: str | None = Field(None, description="full ADQL query; when given, columns/table/where/top/order_by "
                                                    "must be left out")
        columns: list[str] | None = Field(None, description=f"columns to select (default {DEFAULT_COLUMNS})")
        table: str | None = Field(None, description="table to query (default gaia<release>.gaia_source)")
        release: Literal["dr2", "dr3"] | None = Field(
            None, description="Gaia data release (null: the full query's gaiadrN schema, else dr3): the default "
                              "table, and handed to a fallback that has a release (gaia.mock: the RV limit)")
        where: list[str] | str | None = Field(None, description="ADQL conditions, joined with AND")
        top: int | None = Field(None, ge=1, description="SELECT TOP n (null: every matching row)")
        order_by: str | None = Field(None, description="ORDER BY clause, e.g. random_index")
        url: str = Field(GAIA_TAP_URL, description="Gaia archive TAP base URL")
        maxrec: int | None = Field(None, ge=1, description="TAP MAXREC (service row limit for this query)")
        id_column: str | None = Field("source_id", description="stable id column of the result")
        rename: dict[str, str] = Field(default_factory=dict, description="returned column -> new name")
        page_rows: int | None = Field(500_000, ge=1, description="streamed runs: rows asked for per request "
                                      "(keyset pages, each cached); null: one request for the whole answer")
        page_by: str | None = Field(None, description="unique column the pages follow (default: the query's "
                                    "ORDER BY column, else id_column); the query must order by it, if at all")

        @model_validator(mode="after")
        def _one_way_to_say_the_query(self):
            builders = [k for k in ("columns", "table", "where", "top", "order_by") if getattr(self, k) is not None]
            if self.query is not None and builders:
                raise ValueError(f"give either `query` (full ADQL) or {', '.join(builders)} to build one, not both")
            if self.query is not None and not self.query.strip():
                raise ValueError("`query` is empty")
            if self.query is not None and self.release is not None:
                named = query_release(self.query)
                if named is not None and named != self.release:
                    raise ValueError(f"release {self.release} but the query reads gaia{named}: write the release's "
                                     "tables in the ADQL, or build the query from columns/where/top")
            return self

        def data_release(self) -> str:
            """The release this configuration reads."""
            named = query_release(self.query) if self.query is not None else None
            return self.release or named or DEFAULT_RELEASE

    def adql(self) -> str:
        cfg = self.config
        if cfg.query is not None:
            return cfg.query.strip()
        where = [cfg.where] if isinstance(cfg.where, str) else list(cfg.where or [])
        table = cfg.table or release_table(cfg.data_release())
        return build_query(cfg.columns or DEFAULT_COLUMNS, table, where, cfg.top, cfg.order_by)

    def shared_with_fallback(self) -> dict:
        return {"release": self.config.data_release()}

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        adql = self.adql()
        tab = tap_query(cfg.url, adql, label=self.name, maxrec=cfg.maxrec, ctx=ctx, **cfg.query_options(adql))
        if ctx is not None:
            ctx.record("query", {"url": cfg.url, "adql": adql, "rows": len(tab),
                                 "from_cache": bool(tab.meta.get("tap_from_cache")),
                                 "cache_file": tab.meta.get("tap_cache")})
        return to_source_table(tab, url=cfg.url, adql=adql, label=self.name, id_column=cfg.id_column, ctx=ctx,
                               rename=cfg.rename)

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """The answer in pages of ``page_rows`` rows (each cached), handed on in chunks of ``chunk_rows``.

        A query that cannot be paged (see ``paging.split_query``) is fetched once, cached, and chunked;
        the manifest says why. Naming ``page_by`` for such a query is an error."""
        cfg = self.config
        adql = self.adql()
        paged, why = split_query(adql, cfg.page_by, cfg.id_column) if cfg.page_rows else (None, "page_rows is null")
        if paged is None:
            if cfg.page_by is not None and cfg.page_rows:
                raise StageError(f"{self.name}: cannot page the query on '{cfg.page_by}': {why}")
            if ctx is not None:
                ctx.record("paging", {"paged": False, "why": why})
            yield from rechunk([self.load(ctx)], chunk_rows)
            return
        yield from rechunk(self._pages(paged, adql, ctx), chunk_rows)

    def _pages(self, paged: PagedQuery, adql: str, ctx: RunContext | None):
        cfg = self.config
        key = paged.key.split(".")[-1]
        remaining, after, rows, pages = paged.top, None, 0, []
        while remaining is None or remaining > 0:
            size = cfg.page_rows if remaining is None else min(cfg.page_rows, remaining)
            page_adql = paged.page(size, after)
            try:
                tab = tap_query(cfg.url, page_adql, label=self.name, maxrec=cfg.maxrec, ctx=ctx,
                                **cfg.query_options(page_adql))
            except SourceUnavailable as exc:
                if not pages:
                    raise    # nothing read yet: the recipe's fallback may take over
                what = " ".join(str(exc).splitlines()[:2])   # what failed, and the last error
                raise StageError(f"{self.name}: the archive stopped answering at page {len(pages) + 1}, after "
                                 f"{rows:,} rows: {what} The pages read so far are cached: run again to go on "
                                 "from there.") from exc
            n = len(tab)
            pages.append({"rows": n, "from_cache": bool(tab.meta.get("tap_from_cache")),
                          "cache_file": tab.meta.get("tap_cache")})
            if n == 0:
                break
            values = tab[key]
            if getattr(values, "mask", None) is not None and np.any(values.mask):
                raise StageError(f"{self.name}: the paging column '{key}' has NULL values; page on a column "
                                 "that every row has (page_by), or set page_rows: null")
            last = values[-1]
            if not paged.key_selected:
                tab.remove_column(key)
            table = to_source_table(tab, url=cfg.url, adql=adql, label=self.name, id_column=cfg.id_column,
                                    ctx=ctx if len(pages) == 1 else None, rename=cfg.rename)
            table.meta["inputs"] = {f"tap:{cfg.url}": query_key(cfg.url, adql)}
            if table.id_column == ROW_ID:
                table.data[ROW_ID] += rows   # row numbers continue across pages
            yield table
            rows += n
            if remaining is not None:
                remaining -= n
            if n < size and not tab.meta.get("tap_overflow"):
                break   # a short page that the service did not cut: the last one
            after = last
        if ctx is not None:
            ctx.record("query", {"url": cfg.url, "adql": adql, "rows": rows, "paged_on": paged.key,
                                 "page_rows": cfg.page_rows, "pages": pages,
                                 "from_cache": all(p["from_cache"] for p in pages)})
