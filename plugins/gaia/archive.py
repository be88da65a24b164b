"""``gaia.archive``: rows from the ESA Gaia archive over TAP (pyvo), cached on disk.

The query is the recipe's ``query`` (full ADQL, e.g. the MIT 8.S50 lesson's), or is
built from ``columns``/``table``/``where``/``top``/``order_by``. Large queries run as
async jobs (``async_: auto`` decides by the TOP size: the archive silently truncates
synchronous results at 2000 rows). Results are cached under
``$TOOLKIT_CACHE/tap/`` keyed by the URL and query, so a second run is offline.
When the archive cannot be reached the source raises ``SourceUnavailable``; the
runner then uses the recipe's declared ``fallback`` (e.g. ``gaia.mock``) and says so.

astroquery.gaia is not used: importing it contacts the archive (and its requests
carry no timeout). pyvo, imported inside ``load``, is enough for TAP.
"""

from __future__ import annotations

from pydantic import model_validator

from toolkit.core import Field, Source, Table, rechunk
from toolkit.core import RunContext
from toolkit.core import GAIA_TAP_URL, TapOptions, tap_query, to_source_table

DEFAULT_TABLE = "gaiadr3.gaia_source"
#: the lesson's columns plus source_id (a stable id) and parallax_error
DEFAULT_COLUMNS = ["source_id", "ra", "dec", "parallax", "parallax_error", "pmra", "pmdec", "radial_velocity",
                   "phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag"]


def build_query(columns: list[str], table: str, where: list[str], top: int | None, order_by: str | None) -> str:
    """``SELECT [TOP n] cols FROM table [WHERE (a) AND (b)] [ORDER BY ...]``, one clause per line."""
    head = f"SELECT TOP {int(top)} " if top is not None else "SELECT "
    lines = [head + ", ".join(columns), f"FROM {table}"]
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
        table: str | None = Field(None, description=f"table to query (default {DEFAULT_TABLE})")
        where: list[str] | str | None = Field(None, description="ADQL conditions, joined with AND")
        top: int | None = Field(None, ge=1, description="SELECT TOP n (null: every matching row)")
        order_by: str | None = Field(None, description="ORDER BY clause, e.g. random_index")
        url: str = Field(GAIA_TAP_URL, description="Gaia archive TAP base URL")
        maxrec: int | None = Field(None, ge=1, description="TAP MAXREC (service row limit for this query)")
        id_column: str | None = Field("source_id", description="stable id column of the result")
        rename: dict[str, str] = Field(default_factory=dict, description="returned column -> new name")

        @model_validator(mode="after")
        def _one_way_to_say_the_query(self):
            builders = [k for k in ("columns", "table", "where", "top", "order_by") if getattr(self, k) is not None]
            if self.query is not None and builders:
                raise ValueError(f"give either `query` (full ADQL) or {', '.join(builders)} to build one, not both")
            if self.query is not None and not self.query.strip():
                raise ValueError("`query` is empty")
            return self

    def adql(self) -> str:
        cfg = self.config
        if cfg.query is not None:
            return cfg.query.strip()
        where = [cfg.where] if isinstance(cfg.where, str) else list(cfg.where or [])
        return build_query(cfg.columns or DEFAULT_COLUMNS, cfg.table or DEFAULT_TABLE, where, cfg.top, cfg.order_by)

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
        """The archive's answer (bounded by the query's TOP and the service's MAXREC) fetched once, cached on
        disk, then handed on in chunks; a query larger than memory belongs in a HATS catalogue or a file export."""
        yield from rechunk([self.load(ctx)], chunk_rows)
