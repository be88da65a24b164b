"""SkyMapper over TAP: the symbiotic selection (``symbiotic.skymapper``) and per-epoch photometry.

``symbiotic.skymapper`` builds the seed pipeline's query from recipe values: SkyMapper
DR2 (or DR4) ``master`` joined to its nearest 2MASS PSC, Gaia and AllWISE
counterparts (within 2", 2" and 3"), 2MASS ``ph_qual = 'AAA'`` and clean 2MASS
flags, ``class_star > 0.9``, clean PSF flags, detections in u, v and g, a single
child source and no neighbour within 6", J-K > 0.85, J < 14 and
0 < parallax < 100 mas. Every threshold is a config value; ``query`` replaces the
whole text. Column names are SkyMapper's (``u_psf``, ``e_u_psf``), 2MASS's
(``j_m``, ``j_msigcom``, ``ph_qual``), Gaia's (``source_id``, ``parallax``) and
AllWISE's (``w1mpro``); units come from the service.

``fetch_epochs(object_ids)`` returns the per-image PSF photometry of those objects
(``photometry`` joined to ``images`` for the MJD), uploading the ids in batches
(TAP_UPLOAD) or listing them in ``IN (...)``. The ``symbiotic.nightly_colours``
feature calls it (``epochs: {kind: skymapper, options: {...}}``).

Both use ``toolkit.core.remote.tap_query``: cached, bounded, retried; offline they
raise ``SourceUnavailable`` saying how to run without the service.
"""

from __future__ import annotations

import re
from typing import Iterable, Literal

import numpy as np
from pydantic import field_validator, model_validator

from toolkit.core import Field, Source, StageError, Table
from toolkit.core import RunContext
from toolkit.core import TapOptions, auto_async, batches, tap_query, to_source_table

from .epochs import EPOCH_COLUMNS

SKYMAPPER_TAP_URL = "https://api.skymapper.nci.org.au/public/tap/"
BANDS = ("u", "v", "g", "r", "i", "z")

#: table and column names that differ between releases
RELEASES = {
    "dr2": {"schema": "dr2", "gaia_table": "ext.gaia_dr2", "gaia_id": "gaia_dr2_id1", "gaia_dist": "gaia_dr2_dist1",
            "neighbour": "prox"},
    "dr4": {"schema": "dr4", "gaia_table": "ext.gaia_dr3", "gaia_id": "gaia_dr3_id1", "gaia_dist": "gaia_dr3_dist1",
            "neighbour": "self_dist1"},
}


def default_columns(release: str) -> list[str]:
    """The select list (with table aliases m, t, g, w) the symbiotic pipeline uses."""
    r = RELEASES[release]
    master = ["object_id", "raj2000", "dej2000", "glon", "glat", "flags", "flags_psf", "class_star", "nch_max",
              r["neighbour"], *[f"{b}_ngood" for b in BANDS]]
    for b in BANDS:
        master += [f"{b}_psf", f"e_{b}_psf"]
    master += ["ebmv_sfd", "twomass_dist", r["gaia_dist"], "allwise_dist"]
    return ([f"m.{c}" for c in master]
            + [f"t.{c}" for c in ("j_m", "j_msigcom", "h_m", "h_msigcom", "k_m", "k_msigcom", "ph_qual")]
            + [f"g.{c}" for c in ("source_id", "parallax", "parallax_error", "pmra", "pmdec")]
            + [f"w.{c}" for c in ("w1mpro", "w1sigmpro", "w2mpro", "w2sigmpro")])


def _num(x: float) -> str:
    return repr(float(x))


class SkyMapperTap(Source):
    name = "symbiotic.skymapper"
    aliases = ("skymapper.tap",)   # the former name, until the next release
    summary = "SkyMapper DR2/DR4 x 2MASS x Gaia x AllWISE selection over TAP (the symbiotic seed's query)."

    class Config(TapOptions):
        url: str = Field(SKYMAPPER_TAP_URL, description="SkyMapper TAP base URL")
        release: Literal["dr2", "dr4"] = Field("dr2", description="SkyMapper data release (dr4 pairs with Gaia DR3)")
        query: str | None = Field(None, description="full ADQL replacing the built query")
        columns: list[str] | None = Field(None, description="select list (aliases m=master, t=2MASS, g=Gaia, "
                                                            "w=AllWISE); default: the pipeline's columns")
        twomass_radius_arcsec: float = Field(2.0, gt=0, description="largest 2MASS counterpart distance")
        gaia_radius_arcsec: float = Field(2.0, gt=0, description="largest Gaia counterpart distance")
        allwise_radius_arcsec: float = Field(3.0, gt=0, description="largest AllWISE counterpart distance")
        min_neighbour_arcsec: float | None = Field(6.0, description="no other SkyMapper source closer than this "
                                                                    "(prox/self_dist1); null: no condition")
        ph_qual: str | None = Field("AAA", description="2MASS J H K photometric quality; null: no condition")
        twomass_clean: bool = Field(True, description="2MASS gal_contam = 0, ext_key IS NULL, cc_flg = '000'")
        min_class_star: float | None = Field(0.9, description="class_star above this (point sources)")
        clean_psf_flags: bool = Field(True, description="flags_psf = 0 (photometry not biased by neighbours)")
        max_flags: int | None = Field(None, ge=0, description="Source Extractor flags at most this; null: no condition")
        require_bands: list[Literal["u", "v", "g", "r", "i", "z"]] = Field(
            ["u", "v", "g"], description="bands with at least one good observation (<band>_ngood > 0)")
        single_child: bool = Field(True, description="nch_max = 1 (no blended child sources)")
        min_j_minus_k: float | None = Field(0.85, description="2MASS J-K above this (red giants)")
        max_j: float | None = Field(14.0, description="2MASS J below this (mag)")
        parallax_range_mas: tuple[float, float] | None = Field(
            (0.0, 100.0), description="Gaia parallax strictly inside (low, high) mas; null: no condition")
        extra_where: list[str] = Field(default_factory=list, description="further ADQL conditions (AND)")
        top: int | None = Field(None, ge=1, description="SELECT TOP n")
        id_column: str | None = Field("object_id", description="stable id column")
        rename: dict[str, str] = Field(default_factory=dict, description="returned column -> new name")

        @field_validator("ph_qual")
        @classmethod
        def _ph_qual(cls, v):
            if v is not None and not re.fullmatch(r"[A-FUX]{3}", v):
                raise ValueError("ph_qual is three 2MASS quality letters (A-F, U, X), e.g. 'AAA'")
            return v

        @model_validator(mode="after")
        def _ranges(self):
            if self.parallax_range_mas is not None and not self.parallax_range_mas[0] < self.parallax_range_mas[1]:
                raise ValueError(f"parallax_range_mas {self.parallax_range_mas}: low must be below high")
            return self

    def adql(self) -> str:
        cfg = self.config
        if cfg.query is not None:
            return cfg.query.strip()
        r = RELEASES[cfg.release]
        s = r["schema"]
        where = [f"m.twomass_dist < {_num(cfg.twomass_radius_arcsec)}",
                 f"m.{r['gaia_dist']} < {_num(cfg.gaia_radius_arcsec)}",
                 f"m.allwise_dist < {_num(cfg.allwise_radius_arcsec)}"]
        if cfg.min_neighbour_arcsec is not None:
            where.append(f"m.{r['neighbour']} > {_num(cfg.min_neighbour_arcsec)}")
        if cfg.ph_qual is not None:
            where.append(f"t.ph_qual = '{cfg.ph_qual}'")
        if cfg.twomass_clean:
            where += ["t.gal_contam = 0", "t.ext_key IS NULL", "t.cc_flg = '000'"]
        if cfg.min_class_star is not None:
            where.append(f"m.class_star > {_num(cfg.min_class_star)}")
        if cfg.clean_psf_flags:
            where.append("m.flags_psf = 0")
        if cfg.max_flags is not None:
            where.append(f"m.flags <= {int(cfg.max_flags)}")
        where += [f"m.{b}_ngood > 0" for b in cfg.require_bands]
        if cfg.single_child:
            where.append("m.nch_max = 1")
        if cfg.min_j_minus_k is not None:
            where.append(f"(t.j_m - t.k_m) > {_num(cfg.min_j_minus_k)}")
        if cfg.max_j is not None:
            where.append(f"t.j_m < {_num(cfg.max_j)}")
        if cfg.parallax_range_mas is not None:
            lo, hi = cfg.parallax_range_mas
            where += [f"g.parallax > {_num(lo)}", f"g.parallax < {_num(hi)}"]
        where += [f"({w.strip()})" for w in cfg.extra_where]
        head = f"SELECT TOP {cfg.top}" if cfg.top else "SELECT"
        return "\n".join([
            f"{head} {', '.join(cfg.columns or default_columns(cfg.release))}",
            f"FROM {s}.master AS m",
            "JOIN ext.twomass_psc AS t ON m.twomass_key = t.pts_key",
            f"JOIN {r['gaia_table']} AS g ON m.{r['gaia_id']} = g.source_id",
            "JOIN ext.allwise AS w ON m.allwise_cntr = w.cntr",
            "WHERE " + "\n  AND ".join(where),
        ])

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        adql = self.adql()
        tab = tap_query(cfg.url, adql, label=self.name, ctx=ctx, **cfg.query_options(adql))
        if ctx is not None:
            ctx.record("query", {"url": cfg.url, "adql": adql, "rows": len(tab),
                                 "from_cache": bool(tab.meta.get("tap_from_cache"))})
        return to_source_table(tab, url=cfg.url, adql=adql, label=self.name, id_column=cfg.id_column, ctx=ctx,
                               rename=cfg.rename)


# -- per-epoch photometry ------------------------------------------------------------------------

def epochs_query(release: str, filters: Iterable[str], max_flags: int | None, ids_in: str | None = None) -> str:
    """Per-image photometry of the uploaded ids (``TAP_UPLOAD.ids``), or of ``ids_in`` (a literal list)."""
    s = RELEASES[release]["schema"]
    filters = list(filters)
    lines = ["SELECT p.object_id, i.date AS mjd, p.filter, p.mag_psf AS mag, p.e_mag_psf AS err, p.flags",
             f"FROM {s}.photometry AS p",
             f"JOIN {s}.images AS i ON p.image_id = i.image_id"]
    if ids_in is None:
        lines.append("JOIN TAP_UPLOAD.ids AS u ON p.object_id = u.object_id")
    where = ["p.mag_psf IS NOT NULL", "p.e_mag_psf > 0"]
    if ids_in is not None:
        where.insert(0, f"p.object_id IN ({ids_in})")
    if max_flags is not None:
        where.append(f"p.flags <= {int(max_flags)}")
    if sorted(filters) != sorted(BANDS):
        where.append("p.filter IN (" + ", ".join(f"'{f}'" for f in filters) + ")")
    lines.append("WHERE " + "\n  AND ".join(where))
    return "\n".join(lines)


def fetch_epochs(object_ids, *, url: str = SKYMAPPER_TAP_URL, release: str = "dr2",
                 filters: Iterable[str] = BANDS, max_flags: int | None = 3, batch_size: int = 5000,
                 method: Literal["upload", "in_list"] = "upload", timeout_s: float = 60, retries: int = 3,
                 backoff_s: float = 2.0, cache: bool = True, async_: bool | str = "auto",
                 sync_max_rows: int = 100_000, ctx: RunContext | None = None):
    """Per-epoch SkyMapper photometry of ``object_ids``: a DataFrame, one row per detection.

    Columns: ``object_id`` (int64), ``mjd`` (float, days: start of the exposure,
    ``images.date``), ``filter`` (u v g r i z), ``mag`` and ``err`` (PSF magnitude and
    its error, mag), ``flags`` (Source Extractor flags). Rows with flags above
    ``max_flags`` (null: keep all) or without a magnitude are left out by the service.
    The ids go to the service in batches of ``batch_size``, as an uploaded table
    (``method="upload"``) or as an ``IN (...)`` list (``method="in_list"``, for services
    that refuse uploads); each batch is cached on its own.

    Called by ``symbiotic.nightly_colours`` with ``epochs: {kind: skymapper, options:
    {...}}`` as ``fetch_epochs(table[object_column], ctx=ctx, **options)``.
    Raises ``SourceUnavailable`` offline (with the cache file to bring) and
    ``StageError`` for ids that are not integers or unknown filters/releases.
    """
    import pandas as pd
    from astropy.table import Table as ATable

    if release not in RELEASES:
        raise StageError(f"fetch_epochs: release '{release}' is not one of {', '.join(RELEASES)}")
    filters = list(filters)
    bad = [f for f in filters if f not in BANDS]
    if bad or not filters:
        raise StageError(f"fetch_epochs: unknown filter(s) {bad or filters}; SkyMapper has {', '.join(BANDS)}")
    if method not in ("upload", "in_list"):
        raise StageError(f"fetch_epochs: method '{method}' is not 'upload' or 'in_list'")
    raw = pd.Series(np.asarray(object_ids).ravel())
    ids = pd.to_numeric(raw, errors="coerce")
    if ids.isna().any() or (ids != np.round(ids)).any():
        first = raw[ids.isna() | (ids != np.round(ids))].iloc[0]
        raise StageError(f"fetch_epochs: object ids must be integers (SkyMapper object_id); got {first!r}")
    ids = np.unique(ids.to_numpy(np.int64))
    parts = []
    for start, stop in batches(len(ids), batch_size):
        chunk = ids[start:stop]
        if method == "upload":
            adql = epochs_query(release, filters, max_flags)
            upload = {"ids": ATable({"object_id": chunk})}
        else:
            adql = epochs_query(release, filters, max_flags, ids_in=", ".join(map(str, chunk)))
            upload = None
        tab = tap_query(url, adql, label="skymapper epochs", timeout_s=timeout_s, retries=retries,
                        backoff_s=backoff_s, cache=cache, async_=auto_async(async_, adql, sync_max_rows),
                        upload=upload, ctx=ctx)
        parts.append(tab.to_pandas() if len(tab) else pd.DataFrame(columns=[*EPOCH_COLUMNS, "flags"]))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*EPOCH_COLUMNS, "flags"])
    missing = [c for c in EPOCH_COLUMNS if c not in frame.columns]
    if missing:
        raise StageError(f"fetch_epochs: the service returned no column(s) {missing}; it returned "
                         f"{', '.join(map(str, frame.columns))}")
    out = pd.DataFrame({
        "object_id": frame["object_id"].to_numpy(np.int64),
        "mjd": frame["mjd"].to_numpy(float),
        "filter": frame["filter"].astype(str).str.strip().to_numpy(),
        "mag": frame["mag"].to_numpy(float),
        "err": frame["err"].to_numpy(float),
    })
    if "flags" in frame.columns:
        out["flags"] = pd.to_numeric(frame["flags"], errors="coerce").to_numpy()
    out = out.sort_values(["object_id", "mjd", "filter"], kind="stable").reset_index(drop=True)
    if ctx is not None:
        ctx.info(f"skymapper epochs: {len(out)} detections of {out['object_id'].nunique()} of {len(ids)} objects "
                 f"in {max(len(parts), 1)} batch(es)")
    return out
