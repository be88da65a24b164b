"""Fetch a VizieR catalogue with astroquery, keep the raw answer on disk, read it back.

The cache holds VizieR's own VOTable bytes under
``toolkit.core.cache_dir()/vizier/<catalogue id with / as _>.vot.xml``, so a
cache hit goes through exactly the same parsing as a fresh answer, and a
cache file copied from another machine works as is. astroquery's own HTTP
cache is switched off for the call (one cache, in one known place).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from toolkit.core import SourceUnavailable, StageError, cache_dir
from toolkit.core import RunContext
from toolkit.core import atomic_write
from toolkit.core import cache_problem, call_with_deadline, file_record

from .definitions import VizierCatalogDefinition

#: VizieR computes these (decimal degrees, J2000) for every table with positions
COMPUTED_POSITION_COLUMNS = ["_RAJ2000", "_DEJ2000"]


def cache_path(vizier_id: str) -> Path:
    """Where the raw VizieR answer for a catalogue id is kept."""
    return cache_dir() / "vizier" / (vizier_id.replace("/", "_") + ".vot.xml")


def network_errors() -> tuple[type[BaseException], ...]:
    """What a failed request raises: requests' errors (HTTP status included), sockets, astroquery's."""
    import requests
    from astroquery.exceptions import RemoteServiceError, TimeoutError as AstroqueryTimeout

    return (requests.exceptions.RequestException, OSError, RemoteServiceError, AstroqueryTimeout)


#: a machine without a route: retrying cannot help (unlike a timeout or a 5xx answer)
OFFLINE_SIGNS = ("NameResolutionError", "Name or service not known", "Temporary failure in name resolution",
                 "nodename nor servname", "Network is unreachable", "No route to host")


def is_offline(exc: BaseException) -> bool:
    return any(sign in str(exc) or sign in type(exc).__name__ for sign in OFFLINE_SIGNS)


def fetch_votable(vizier_id: str, *, timeout_s: float, server: str | None = None) -> bytes:
    """One request for the whole catalogue (every row, every column, plus computed J2000 degrees)."""
    from astroquery import cache_conf
    from astroquery.vizier import Vizier

    kwargs = {"columns": ["*", *COMPUTED_POSITION_COLUMNS], "row_limit": -1, "timeout": timeout_s}
    if server:
        kwargs["vizier_server"] = server
    viz = Vizier(**kwargs)
    with cache_conf.set_temp("cache_active", False):
        response = viz.get_catalogs_async(vizier_id)
    response.raise_for_status()
    return response.content


def parse_votable(content: bytes, vizier_id: str) -> list[tuple[str, object]]:
    """VizieR's VOTable -> [(table name, astropy Table)], empty tables left out."""
    from astropy.io import votable

    head = content.lstrip()[:400]
    if not (head.startswith(b"<?xml") or b"<VOTABLE" in head):
        raise StageError(f"VizieR's answer for {vizier_id} is not a VOTable (it starts with {head[:80]!r}); "
                         f"the service may be down or behind a captive portal. Delete {cache_path(vizier_id)} "
                         f"if it is a cached file.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            vo = votable.parse(BytesIO(content), verify="ignore")
        except Exception as exc:  # a truncated download or a hand-edited cache file
            raise StageError(f"VizieR's answer for {vizier_id} is not a readable VOTable ({exc}). If it came "
                             f"from the cache, delete {cache_path(vizier_id)} and fetch again.") from exc
        tables = []
        for t in vo.iter_tables():
            if t.array is not None and len(t.array) > 0:
                tables.append((t.name or t.ID or f"table{len(tables) + 1}", t.to_table(use_names_over_ids=True)))
    if not tables:
        errors = [f"{i.name}: {i.value or i.content}" for i in vo.iter_info()
                  if (i.name or "").lower() in ("error", "warning") or (i.value or "").upper() == "ERROR"]
        raise StageError(f"VizieR returned no table for catalogue '{vizier_id}'"
                         + (f" ({'; '.join(errors)})" if errors else "")
                         + ". Check the catalogue id at https://vizier.cds.unistra.fr/viz-bin/VizieR?-source="
                         + vizier_id)
    return tables


def offline_message(definition: VizierCatalogDefinition, reason: str) -> str:
    path = cache_path(definition.vizier_id)
    return (f"VizieR could not be reached for {definition.vizier_id} ({definition.citation}): {reason}. "
            f"There is no cached copy at {path}. To run offline, either copy that file from a machine that "
            f"has fetched the catalogue once (the cache folder is $TOOLKIT_CACHE or ~/.cache/toolkit), or "
            f"export the table from {definition.url} as CSV/VOTable and use "
            f"`{{use: catalogs.file, with: {{path: <export>, short_name: {definition.short_name}}}}}` instead "
            f"(`toolkit match TABLE --catalog <export>` on the command line). "
            f"In catalogs.match, `on_unavailable: skip` goes on without this catalogue.")


def load_vizier_tables(definition: VizierCatalogDefinition, *, cache: bool = True, refresh: bool = False,
                       timeout_s: float = 60.0, deadline_s: float = 900.0, retries: int = 2, backoff_s: float = 2.0,
                       server: str | None = None, ctx: RunContext | None = None) -> tuple[list[tuple[str, object]], dict]:
    """The catalogue's tables and provenance ({'cache': path, 'cache_hit': bool, ...}).

    Raises ``SourceUnavailable`` (saying what to do) when VizieR cannot be
    reached and there is no cached answer.
    """
    path = cache_path(definition.vizier_id)
    info = {"vizier_id": definition.vizier_id, "cache": str(path)}
    damaged = cache_problem(path) if cache and not refresh and path.is_file() else None
    if damaged:
        message = f"VizieR cache file {path} is not used: {damaged}; fetching the catalogue again"
        ctx.warn(message) if ctx is not None else warnings.warn(message, stacklevel=2)
    if cache and not refresh and path.is_file() and not damaged:
        content = path.read_bytes()
        meta_path = path.with_suffix(".json")
        fetched = json.loads(meta_path.read_text()).get("fetched_utc") if meta_path.is_file() else None
        return parse_votable(content, definition.vizier_id), {**info, "cache_hit": True, "fetched_utc": fetched}

    content, last = None, None
    for attempt in range(retries + 1):
        try:
            content = call_with_deadline(lambda: fetch_votable(definition.vizier_id, timeout_s=timeout_s,
                                                               server=server), deadline_s, "VizieR request")
            break
        except network_errors() as exc:  # retry, then say what failed; other errors are bugs and propagate
            last = exc
            if attempt == retries or is_offline(exc):
                break
            if ctx is not None:
                ctx.info(f"VizieR attempt {attempt + 1} failed ({type(exc).__name__}); retrying")
            time.sleep(backoff_s * 2 ** attempt)
    if content is None:
        reason = f"{type(last).__name__}: {last}" + (f"; the cached copy was not used: {damaged}" if damaged else "")
        raise SourceUnavailable(offline_message(definition, reason)) from last

    tables = parse_votable(content, definition.vizier_id)  # parse before caching: never cache junk
    status = query_status(content)
    fetched = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if status != "OK":   # VizieR truncated the answer (OVERFLOW): use it this once, never serve it again
        message = (f"VizieR marked its answer for {definition.vizier_id} {status} (truncated); it is used for "
                   "this run but not cached")
        ctx.warn(message) if ctx is not None else warnings.warn(message, stacklevel=2)
    elif cache:
        atomic_write(path, lambda tmp: tmp.write_bytes(content))
        meta = {"vizier_id": definition.vizier_id, "fetched_utc": fetched, "server": server or "default",
                "citation": definition.citation, **file_record(path)}
        atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta, indent=1)))
    return tables, {**info, "cache_hit": False, "fetched_utc": fetched, "query_status": status}


_QUERY_STATUS = re.compile(rb"<INFO\b[^>]*\bname\s*=\s*[\"']QUERY_STATUS[\"'][^>]*>", re.IGNORECASE)
_VALUE = re.compile(rb"\bvalue\s*=\s*[\"']([A-Za-z]+)[\"']", re.IGNORECASE)


def query_status(content: bytes) -> str:
    """The VOTable's worst INFO QUERY_STATUS (ERROR > OVERFLOW > OK); OK when it has none."""
    values = {m.group(1).decode().upper() for tag in _QUERY_STATUS.finditer(content)
              for m in [_VALUE.search(tag.group(0))] if m}
    return next((v for v in ("ERROR", "OVERFLOW") if v in values), "OK")
