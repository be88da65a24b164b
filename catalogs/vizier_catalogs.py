"""Catalogue components backed by VizieR (one small class per entry in ``definitions``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.core import Catalog, Config, Field, StageError, Table
from toolkit.core import RunContext

from .definitions import AKRAS2019, BELCZYNSKI2000, VizierCatalogDefinition
from .known_table import known_object_table
from .vizier import load_vizier_tables


class VizierCatalog(Catalog):
    """A published catalogue fetched whole from VizieR, cached on disk, read as name/ra/dec."""

    definition: ClassVar[VizierCatalogDefinition]

    class Config(Config):
        cache: bool = Field(True, description="keep VizieR's answer under <cache>/vizier/ and reuse it")
        refresh: bool = Field(False, description="ask VizieR again even when a cached answer exists")
        timeout_s: float = Field(60.0, gt=0, description="seconds to wait for data from VizieR (each read)")
        deadline_s: float = Field(900.0, gt=0, description="bound on one request from start to last byte, seconds")
        retries: int = Field(2, ge=0, description="further attempts after a failed request")
        backoff_s: float = Field(2.0, ge=0, description="wait before the first retry; doubles each time")
        server: str | None = Field(None, description="VizieR mirror (e.g. vizier.cfa.harvard.edu); "
                                                     "astroquery's default when omitted")
        tables: list[str] | None = Field(None, description="sub-tables to use (last part of the VizieR table "
                                                           "name); the definition's choice when omitted")

    @property
    def short_name(self) -> str:
        return self.definition.short_name

    def _selected(self, tables):
        wanted = list(self.config.tables or self.definition.tables)
        by_suffix = {name.rsplit("/", 1)[-1]: (name, tab) for name, tab in tables}
        chosen = [by_suffix[w] for w in wanted if w in by_suffix]
        if self.config.tables and len(chosen) < len(wanted):
            missing = [w for w in wanted if w not in by_suffix]
            raise StageError(f"{self.name}: VizieR's answer for {self.definition.vizier_id} has no sub-table "
                             f"{missing}; it has {sorted(by_suffix)}")
        return chosen or list(tables)

    def load(self, ctx: RunContext) -> Table:
        d, cfg = self.definition, self.config
        tables, provenance = load_vizier_tables(d, cache=cfg.cache, refresh=cfg.refresh, timeout_s=cfg.timeout_s,
                                                deadline_s=cfg.deadline_s, retries=cfg.retries, backoff_s=cfg.backoff_s, server=cfg.server,
                                                ctx=ctx)
        selected = self._selected(tables)
        parts, skipped = [], []
        for name, tab in selected:
            hints = {k: (v if v in tab.colnames else None) for k, v in d.columns.items()}
            try:
                part = known_object_table(tab, short_name=d.short_name, where=f"VizieR {name}",
                                          ra_column=hints.get("ra") if hints.get("dec") else None,
                                          dec_column=hints.get("dec") if hints.get("ra") else None,
                                          name_column=hints.get("name"), ctx=ctx)
            except StageError as exc:
                if "no sky coordinate columns" in str(exc):
                    skipped.append(name)  # reference or notes tables: nothing to match against
                    continue
                raise
            part.data.insert(4, "vizier_table", name)
            parts.append(part)
        if not parts:
            raise StageError(f"{self.name}: none of the VizieR tables of {d.vizier_id} "
                             f"({', '.join(n for n, _ in tables)}) has sky positions")
        frame = pd.concat([p.data.drop(columns=[p.id_column]) for p in parts], ignore_index=True)
        duplicated = frame["name"].duplicated(keep="first") & (frame["name"] != "")
        frame = frame[~duplicated.to_numpy()].reset_index(drop=True)
        info = {}
        for p in parts:
            for col, ci in p.info.items():
                info.setdefault(col, ci)
        result = Table(frame, {c: info[c] for c in frame.columns if c in info})
        result.meta = {"catalog": self.name, "short_name": d.short_name, "source": f"VizieR {d.vizier_id}",
                       "tables": [n for n, _ in selected if n not in skipped],
                       "citation": d.citation, "bibcode": d.bibcode, "epoch": d.epoch,
                       "duplicates_dropped": int(np.sum(duplicated)),
                       "dropped_no_position": sum(p.meta["dropped_no_position"] for p in parts), **provenance}
        return result


class Belczynski2000(VizierCatalog):
    definition = BELCZYNSKI2000
    name = "catalogs.belczynski2000"
    aliases = ("catalog.belczynski2000",)   # the former name, until the next release
    summary = "Belczyński et al. 2000 catalogue of symbiotic stars (VizieR J/A+AS/146/407), cached."
    citation = BELCZYNSKI2000.citation


class Akras2019(VizierCatalog):
    definition = AKRAS2019
    name = "catalogs.akras2019"
    aliases = ("catalog.akras2019",)   # the former name, until the next release
    summary = "Akras et al. 2019 census of symbiotic stars (VizieR J/ApJS/240/21), cached."
    citation = AKRAS2019.citation
