"""The one TAP client every remote source uses: bounded, retried, cached, honest when offline.

``tap_query(url, adql, label=...)`` runs an ADQL query through pyvo and returns an
astropy Table (units, UCDs and descriptions as the service sent them). Around
pyvo it adds what a pipeline needs and pyvo leaves to the caller:

- every HTTP request is bounded by ``timeout_s`` (pyvo's own requests carry no
  timeout, except job polls, which it sets to 10-600 s; a session clamps them all);
- connection errors, timeouts, HTTP 5xx/429/408 are retried ``retries`` times with
  exponential backoff (``backoff_s``, ``2 * backoff_s``, ...); a host name that does
  not resolve (a machine without network) is not retried, so an offline run falls
  back at once; a query the service rejects (bad ADQL) is not retried and raises
  ``StageError`` with the service's text;
- async jobs (``async_=True``): submit, run, poll with a bounded total wait
  (``async_wait_s``), fetch, delete;
- an on-disk cache keyed by sha256 of (url, query, upload content[, maxrec]) under
  ``cache_dir()/tap/<key>.fits`` with a ``<key>.json`` sidecar (query, url, time),
  written atomically, so a second run never contacts the service and a cache
  file can be copied to a machine without network. FITS, not VOTable: astropy
  writes a 170k-row VOTable in ~45 s and reads it in ~15 s on two cores, FITS in
  ~1 s and ~0.1 s, keeping units, descriptions, UCDs and masks (a result FITS cannot
  hold, e.g. variable-length arrays, is cached as ``<key>.vot``);
- when the service cannot be reached, ``SourceUnavailable`` says what failed
  (label, URL, last error) and how to run offline.

pyvo is imported lazily (inside the functions) so that importing toolkit stays fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

import numpy as np

from .component import Config, Field
from .context import cache_dir
from .errors import SourceUnavailable, StageError
from .io import atomic_write

#: The ESA Gaia archive's TAP service.
GAIA_TAP_URL = "https://gea.esac.esa.int/tap-server/tap"
#: Above this many rows the Gaia archive truncates synchronous results (silently).
GAIA_SYNC_ROW_LIMIT = 2000
#: HTTP status codes worth retrying.
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
#: Async job polling: first wait, growth factor, longest single wait (seconds).
POLL_FIRST_S, POLL_GROWTH, POLL_MAX_S = 0.5, 1.5, 30.0

Upload = Mapping[str, Any]   # upload table name -> astropy Table | pandas DataFrame | path of a VOTable


# -- cache keys -----------------------------------------------------------------------------

def _normal_url(url: str) -> str:
    return url.strip().rstrip("/")


def _table_digest(tab) -> str:
    """Content hash of an upload table: column names, dtypes and values (mask included)."""
    h = hashlib.sha256()
    for name in tab.colnames:
        col = tab[name]
        data = np.asarray(col)
        h.update(name.encode() + b"\0" + data.dtype.str.encode() + b"\0")
        if data.dtype.kind == "O":
            h.update("\x1f".join(map(str, data.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(data).tobytes())
        mask = getattr(col, "mask", None)
        if mask is not None and np.any(mask):
            h.update(np.ascontiguousarray(np.asarray(mask)).tobytes())
    return h.hexdigest()


def _as_astropy(value, name: str):
    """An upload value as an astropy Table (pyvo serialises it to VOTable)."""
    from astropy.table import Table as ATable

    if isinstance(value, ATable):
        return value
    if hasattr(value, "to_numpy") and hasattr(value, "columns"):  # pandas DataFrame
        return ATable.from_pandas(value)
    if isinstance(value, (str, Path)) and Path(value).is_file():
        return ATable.read(value, format="votable")
    raise StageError(f"TAP upload '{name}': expected an astropy Table, a pandas DataFrame or a VOTable "
                     f"file, got {type(value).__name__}")


def query_key(url: str, adql: str, upload: Upload | None = None, maxrec: int | None = None) -> str:
    """sha256 of the service URL, the ADQL text and the uploaded tables' content."""
    h = hashlib.sha256()
    h.update(_normal_url(url).encode() + b"\n" + adql.strip().encode())
    for name in sorted(upload or {}):
        h.update(b"\nupload:" + name.encode() + b"=" + _table_digest(_as_astropy(upload[name], name)).encode())
    if maxrec is not None:
        h.update(f"\nmaxrec={int(maxrec)}".encode())
    return h.hexdigest()


def cached_query_path(url: str, adql: str, upload: Upload | None = None, maxrec: int | None = None) -> Path:
    """Where the cached result of this exact query lives (whether or not it exists yet).

    Copy this file (and its ``.json`` sidecar) to the same place under another
    machine's cache folder (``$TOOLKIT_CACHE`` or ``~/.cache/toolkit``) to run there
    offline.
    """
    return _cache_file(query_key(url, adql, upload, maxrec))


CACHE_SUFFIXES = {".fits": "fits", ".vot": "votable"}


def _cache_file(key: str) -> Path:
    """The existing cache file of ``key``, or the FITS path it will be written to."""
    stem = cache_dir() / "tap" / key
    for suffix in CACHE_SUFFIXES:
        if stem.with_suffix(suffix).is_file():
            return stem.with_suffix(suffix)
    return stem.with_suffix(".fits")


def cache_problem(path: Path) -> str | None:
    """Why the cached file at ``path`` must not be used (it differs from what its ``.json`` sidecar
    recorded: shorter, longer, other bytes), or None when it matches or the sidecar does not say."""
    from .io import file_sha256

    sidecar = Path(path).with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"its sidecar {sidecar.name} is unreadable ({exc})"
    if not isinstance(meta, dict):
        return f"its sidecar {sidecar.name} is not a JSON object"
    size = Path(path).stat().st_size
    if "size" in meta and meta["size"] != size:
        return f"it has {size:,} bytes where its sidecar records {meta['size']:,} (truncated or replaced?)"
    if "sha256" in meta and meta["sha256"] != file_sha256(path):
        return "its content differs from the sha256 its sidecar records"
    return None


def read_cached(path: Path):
    from astropy.table import Table as ATable

    tab = ATable.read(path, format=CACHE_SUFFIXES.get(Path(path).suffix, "fits"))
    tab.convert_bytestring_to_unicode()   # FITS stores text as bytes; the service gave str
    return tab


def _write_cache(path: Path, tab, sidecar: dict) -> Path:
    out = tab.copy(copy_data=False)
    out.meta.clear()
    try:
        atomic_write(path.with_suffix(".fits"), lambda tmp: out.write(tmp, format="fits"))
        path = path.with_suffix(".fits")
    except (ValueError, TypeError, KeyError):   # columns FITS cannot hold
        atomic_write(path.with_suffix(".vot"), lambda tmp: out.write(tmp, format="votable"))
        path = path.with_suffix(".vot")
    sidecar = {**sidecar, **file_record(path)}
    atomic_write(path.with_suffix(".json"),
                 lambda tmp: tmp.write_text(json.dumps(sidecar, indent=2, default=str)))
    return path


def file_record(path: Path) -> dict:
    """Size and sha256 of a cache file, for its sidecar (checked by ``cache_problem`` on every read)."""
    from .io import file_sha256

    return {"file": Path(path).name, "size": Path(path).stat().st_size, "sha256": file_sha256(path)}


# -- requests bounded in time ---------------------------------------------------------------

#: the longest one HTTP request may take from start to the last byte, unless the caller says otherwise
DEFAULT_DEADLINE_S = 900.0


class _Body(io.BytesIO):
    """An already-read response body standing in for urllib3's raw stream (pyvo reads ``raw``)."""

    def read(self, amt=None, decode_content=None, **kwargs):  # noqa: ARG002 - urllib3's signature
        return super().read(-1 if amt is None else amt)

    def stream(self, amt=65536, decode_content=None):  # noqa: ARG002
        while True:
            chunk = self.read(amt)
            if not chunk:
                return
            yield chunk


def _session(timeout_s: float, deadline_s: float | None = None):
    """A requests session bounded twice: ``timeout_s`` for each socket read and ``deadline_s`` for a
    whole request, body included (a server trickling one byte a second cannot hold it for hours)."""
    import requests
    from pyvo.utils.http import create_session

    deadline_s = DEFAULT_DEADLINE_S if deadline_s is None else float(deadline_s)

    class BoundedSession(requests.Session):
        def request(self, method, url, **kwargs):
            given = kwargs.get("timeout")
            kwargs["timeout"] = timeout_s if given is None else min(float(given), timeout_s)
            kwargs["stream"] = True
            base = super().request
            opened = []

            def work():
                response = base(method, url, **kwargs)
                opened.append(response)
                return _read_fully(response, url, deadline_s)

            try:
                return call_with_deadline(work, deadline_s, f"{method} {url}")
            except requests.Timeout:
                for response in opened:   # wake the abandoned worker: its read fails and it ends
                    _shut_down(response)
                raise

    session = BoundedSession()
    session.headers.update(create_session().headers)  # pyvo's User-Agent
    return session


def _shut_down(response) -> None:
    """Shut a response's socket down from another thread (close() would wait for the reader's lock)."""
    import socket

    raw = getattr(response, "raw", None)
    conn = getattr(raw, "_connection", None) or getattr(raw, "connection", None)
    # the connection's socket, or (a connection that closes after this answer) the one the body is read from
    candidates = [getattr(conn, "sock", None),
                  getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None)]
    for sock in candidates:
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _read_fully(response, url: str, deadline_s: float):
    """Read the body now (inside the deadline) and hand it back as if it were streamed."""
    import requests

    deadline = time.monotonic() + deadline_s
    chunks = []
    try:
        for chunk in response.iter_content(1 << 16):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise requests.Timeout(f"the answer from {url} took longer than {deadline_s:g} s")
    finally:
        response.close()
    response._content = b"".join(chunks)
    response._content_consumed = True
    response.raw = _Body(response._content)
    return response


def call_with_deadline(fn: Callable[[], Any], deadline_s: float, what: str):
    """``fn()`` in a worker thread; a ``requests.Timeout`` when it has not returned after ``deadline_s``.

    A socket timeout bounds each read, not a request: this bounds the request. The worker of a
    request that overran is abandoned (it is a daemon and ends with its connection)."""
    import requests

    box: dict[str, Any] = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"toolkit-request {what[:60]}", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise requests.Timeout(f"{what}: no complete answer within the {deadline_s:g} s deadline of a request")
    if "error" in box:
        raise box["error"]
    return box["value"]


# -- error classes ----------------------------------------------------------------------------

class _JobTimeout(Exception):
    """An async job did not finish within the caller's bound."""


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None) or exc.__cause__
        if inner is None or not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _is_network(exc: BaseException) -> bool:
    import requests

    try:
        from urllib3.exceptions import HTTPError as Urllib3Error
    except ImportError:  # pragma: no cover
        Urllib3Error = ()
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, Urllib3Error, ConnectionError,
                            TimeoutError))


def _is_timeout(exc: BaseException) -> bool:
    import requests

    root = _root_cause(exc)
    text = f"{type(root).__name__} {root}".lower()
    return isinstance(root, (requests.Timeout, TimeoutError, _JobTimeout)) or "timed out" in text \
        or "timeout" in type(root).__name__.lower()


_DNS_FAILURE = ("NameResolutionError", "Failed to resolve", "Name or service not known", "getaddrinfo failed",
                "nodename nor servname", "Temporary failure in name resolution")


def _is_dns_failure(exc: BaseException) -> bool:
    """The host name does not resolve: almost always a machine without network, not a blip."""
    text = f"{exc!r} {exc} {_root_cause(exc)!r}"
    return any(marker in text for marker in _DNS_FAILURE)


def _classify(exc: BaseException) -> str:
    """'query' (the service rejected the ADQL), 'transient' (retry) or 'permanent' (give up)."""
    from pyvo.dal import DALFormatError, DALQueryError, DALServiceError

    if isinstance(exc, DALQueryError):
        return "query"
    if _is_dns_failure(exc):
        return "permanent"
    if isinstance(exc, _JobTimeout):
        return "permanent"
    if isinstance(exc, DALServiceError):
        code = exc.code or 0
        if code in TRANSIENT_STATUS:
            return "transient"
        if code:
            return "permanent"
        return "transient" if _is_network(_root_cause(exc)) else "permanent"
    if isinstance(exc, DALFormatError):
        return "transient" if _is_network(_root_cause(exc)) else "permanent"
    if _is_network(exc) or _is_network(_root_cause(exc)):
        return "transient"
    return "permanent"


def _describe(exc: BaseException) -> str:
    root = _root_cause(exc)
    if root is not exc and _is_network(root):  # pyvo wraps network errors; the root says it best
        exc = root
    code = getattr(exc, "code", None)
    text = str(exc).strip() or type(exc).__name__
    if root is not exc and str(root) not in text:
        text += f" (caused by {type(root).__name__}: {root})"
    prefix = f"HTTP {code}: " if code else ""
    return f"{prefix}{type(exc).__name__}: {text}"[:600]


def _offline_help(url: str, path: Path, label: str) -> str:
    return (f"To run without {url}:\n"
            f"  - use a cached result: on a machine that can reach the service, run the same recipe once "
            f"(or call toolkit.core.remote.tap_query) and copy {path.stem}.fits (or .vot) and its .json sidecar into "
            f"{path.parent} here (the cache folder is $TOOLKIT_CACHE or ~/.cache/toolkit);\n"
            f"  - or export the table yourself (archive web interface, any TAP client) and read it with the "
            f"`table.file` source (FITS, VOTable, CSV, ECSV or Parquet) in place of {label};\n"
            f"  - or declare a fallback source in the recipe (`fallback: {{use: ..., with: {{...}}}}`, e.g. the "
            f"domain's mock); the run then announces that it used it.")


# -- the query --------------------------------------------------------------------------------

def _run_once(url: str, adql: str, *, timeout_s: float, async_: bool, uploads: dict | None,
              maxrec: int | None, async_wait_s: float, log: Callable[[str], None], deadline_s: float | None = None):
    import pyvo

    service = pyvo.dal.TAPService(url, session=_session(timeout_s, deadline_s))
    if not async_:
        return service.run_sync(adql, maxrec=maxrec, uploads=uploads)
    job = service.submit_job(adql, maxrec=maxrec, uploads=uploads)
    try:
        job.run()
        deadline = time.monotonic() + async_wait_s
        pause = POLL_FIRST_S
        while True:
            phase = job.phase
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                try:
                    job.abort()
                except Exception:  # noqa: BLE001 - best effort; the timeout is what matters
                    pass
                raise _JobTimeout(f"async job {job.url} still {phase} after {async_wait_s:g} s "
                                  "(raise async_wait_s, or narrow the query)")
            log(f"job {job.job_id}: {phase}; next check in {min(pause, left):.1f} s")
            time.sleep(min(pause, left))
            pause = min(pause * POLL_GROWTH, POLL_MAX_S)
        job.raise_if_error()
        result = job.fetch_result()
    finally:
        if job.url is not None:
            try:
                job.delete()
            except Exception:  # noqa: BLE001 - a job left on the server expires by itself
                pass
    return result


def tap_query(url: str, adql: str, *, label: str, timeout_s: float = 60, retries: int = 3,
              backoff_s: float = 2.0, cache: bool = True, async_: bool = False, upload: Upload | None = None,
              maxrec: int | None = None, async_wait_s: float = 3600.0, deadline_s: float | None = None, ctx=None):
    """Run ``adql`` on the TAP service at ``url``; return an astropy Table.

    ``timeout_s`` bounds each socket read, ``deadline_s`` (default 900 s) each HTTP request
    from start to last byte.

    ``label`` names the caller in messages (e.g. ``gaia.archive``). ``upload`` maps
    upload table names to tables (refer to them as ``TAP_UPLOAD.<name>``).
    ``retries`` is the number of further attempts after the first one.
    ``ctx`` (a RunContext, optional) receives progress notes and warnings.

    Raises ``SourceUnavailable`` when the service cannot be reached (after the
    retries) and ``StageError`` when it rejects the query. The result's ``meta``
    holds ``tap_cache`` (the cache file), ``tap_from_cache``, ``tap_key`` and
    ``tap_overflow`` (True when the service truncated the result at MAXREC).
    """
    log = (lambda m: ctx.info(f"{label}: {m}")) if ctx is not None else (lambda m: None)
    warn = (lambda m: ctx.warn(f"{label}: {m}")) if ctx is not None else _warn
    url = _normal_url(url)
    uploads = {name: _as_astropy(tab, name) for name, tab in (upload or {}).items()} or None
    key = query_key(url, adql, uploads, maxrec)
    path = _cache_file(key)

    problem = cache_problem(path) if cache and path.is_file() else None
    if problem:
        warn(f"cache file {path} is not used: {problem}; querying the service again")
    if cache and path.is_file() and not problem:
        try:
            tab = read_cached(path)
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is refetched, not fatal
            warn(f"cache file {path} is unreadable ({type(exc).__name__}: {exc}); querying the service again")
        else:
            log(f"{len(tab)} rows from the cache ({path})")
            tab.meta.update(tap_cache=str(path), tap_from_cache=True, tap_key=key, tap_overflow=False)
            return tab

    mode = "async" if async_ else "sync"
    attempts = int(retries) + 1
    last: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            pause = backoff_s * 2 ** (attempt - 1)
            retry_after = getattr(last, "retry_after_seconds", None)
            if retry_after:
                pause = max(pause, min(float(retry_after), 60.0))
            log(f"attempt {attempt} of {attempts} failed ({_describe(last)[:200]}); retrying in {pause:g} s")
            time.sleep(pause)
        t0 = time.perf_counter()
        try:
            result = _run_once(url, adql, timeout_s=timeout_s, async_=async_, uploads=uploads, maxrec=maxrec,
                               async_wait_s=async_wait_s, log=log, deadline_s=deadline_s)
        except Exception as exc:  # noqa: BLE001 - classified below, nothing swallowed
            kind = _classify(exc)
            if kind == "query":
                raise StageError(f"{label}: the TAP service at {url} rejected the query: {exc}\n"
                                 f"Query:\n{adql.strip()}\nCheck table and column names (and the ADQL "
                                 "syntax) against the service's documentation.") from exc
            last = exc
            if kind == "permanent":
                break
            continue
        tab = result.to_table()
        overflow = result.query_status == "OVERFLOW"
        if overflow:
            warn(f"the service truncated the result at {len(tab)} rows (MAXREC/row limit); use an async query "
                 "(async_: true) or a narrower selection to get every row")
        log(f"{len(tab)} rows from {url} ({mode}, {time.perf_counter() - t0:.1f} s)")
        status = str(getattr(result, "query_status", "OK") or "OK").upper()
        cached = None
        if cache and (overflow or status != "OK"):   # a truncated or failed answer is never served again
            log(f"not cached: the service marked the answer {status} (asked again next time)")
        elif cache:
            sidecar = {"label": label, "url": url, "query": adql.strip(), "mode": mode, "maxrec": maxrec,
                       "uploads": {n: {"rows": len(t), "columns": t.colnames, "sha256": _table_digest(t)}
                                   for n, t in (uploads or {}).items()},
                       "rows": len(tab), "overflow": overflow,
                       "fetched_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            try:
                cached = path = _write_cache(path, tab, sidecar)
            except OSError as exc:
                warn(f"could not write the cache file {path}: {exc}")
        tab.meta.update(tap_cache=str(cached) if cached else None, tap_from_cache=False, tap_key=key,
                        tap_overflow=overflow)
        return tab

    what = "timed out" if last is not None and _is_timeout(last) else "could not be reached"
    if last is not None and _is_dns_failure(last):
        what = "could not be reached: its host name does not resolve (is this machine offline?)"
    tried = f"{attempt + 1} attempt{'s' if attempt else ''}"
    raise SourceUnavailable(
        f"{label}: the TAP service at {url} {what} ({mode} query, {tried}, timeout {timeout_s:g} s per "
        f"request).\nLast error: {_describe(last) if last else 'unknown'}\n"
        + _offline_help(url, path, label)) from last


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, stacklevel=3)


# -- small ADQL helpers shared by the sources ----------------------------------------------

_TOP = re.compile(r"^\s*SELECT\s+(?:ALL\s+|DISTINCT\s+)?TOP\s+(\d+)", re.IGNORECASE)


def adql_top(adql: str) -> int | None:
    """The N of ``SELECT TOP N`` (None when the query has no TOP)."""
    m = _TOP.match(adql)
    return int(m.group(1)) if m else None


def batches(n: int, size: int):
    """Index ranges ``[start, stop)`` of at most ``size`` rows covering ``range(n)``."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [(i, min(i + size, n)) for i in range(0, n, size)]


# -- what every TAP-backed source shares ------------------------------------------------------


class TapOptions(Config):
    """Connection settings of a TAP-backed component (the URL default is set by each source)."""

    url: str = Field("", description="TAP service base URL")
    timeout_s: float = Field(60.0, gt=0, description="bound on each wait for data from the service, seconds")
    deadline_s: float = Field(DEFAULT_DEADLINE_S, gt=0,
                              description="bound on one HTTP request from start to its last byte, seconds")
    retries: int = Field(3, ge=0, description="further attempts after a connection error, timeout or HTTP 5xx")
    backoff_s: float = Field(2.0, ge=0, description="wait before the first retry; doubles at each retry")
    cache: bool = Field(True, description="read/write the on-disk query cache ($TOOLKIT_CACHE/tap)")
    async_: bool | Literal["auto"] = Field(
        "auto", description="async TAP job (true), sync query (false), or auto: async unless the query has a "
                            "TOP no larger than sync_max_rows")
    sync_max_rows: int = Field(GAIA_SYNC_ROW_LIMIT, ge=1,
                               description="largest TOP sent synchronously when async_ is auto (services "
                                           "truncate sync results; the Gaia archive at 2000 rows)")
    async_wait_s: float = Field(3600.0, gt=0, description="longest total wait for an async job, seconds")

    def query_options(self, adql: str) -> dict:
        """Keyword arguments of ``tap_query`` for this configuration and query."""
        return dict(timeout_s=self.timeout_s, deadline_s=self.deadline_s, retries=self.retries,
                    backoff_s=self.backoff_s, cache=self.cache,
                    async_=auto_async(self.async_, adql, self.sync_max_rows), async_wait_s=self.async_wait_s)


def auto_async(choice: bool | str, adql: str, sync_max_rows: int = GAIA_SYNC_ROW_LIMIT) -> bool:
    """Resolve ``async_: auto``: async unless the query asks for at most ``sync_max_rows`` rows."""
    if isinstance(choice, bool):
        return choice
    top = adql_top(adql)
    return top is None or top > sync_max_rows


def to_source_table(tab, *, url: str, adql: str, label: str, id_column: str | None, ctx=None,
                    rename: Mapping[str, str] | None = None):
    """A query result as a toolkit ``Table``: units kept, ``mock: False``, the query in ``meta``."""
    from .table import Table

    if rename:
        missing = [c for c in rename if c not in tab.colnames]
        if missing:
            raise StageError(f"{label}: `rename` names column(s) {missing} that the query did not return; "
                             f"it returned {', '.join(tab.colnames)}")
        tab.rename_columns(list(rename), list(rename.values()))
    if id_column and id_column not in tab.colnames:
        if ctx is not None:
            ctx.warn(f"{label}: id column '{id_column}' is not among the returned columns; using row numbers. "
                     f"Add {id_column} to the SELECT list for a stable id.")
        id_column = None
    meta = {"mock": False, "inputs": {f"tap:{url}": tab.meta.get("tap_key", query_key(url, adql))},
            "query": adql.strip(), "tap_url": url, "tap_cache": tab.meta.get("tap_cache"),
            "from_cache": bool(tab.meta.get("tap_from_cache"))}
    return Table.from_astropy(tab, id_column=id_column, meta=meta)
