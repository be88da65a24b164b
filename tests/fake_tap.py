"""A small TAP service on 127.0.0.1 for offline tests of the real pyvo client code.

It speaks what pyvo 1.9 uses: ``POST /tap/sync`` (form or multipart with inline
uploads) answers a VOTable; ``POST /tap/async`` creates a UWS job (303 to the job
URL), ``POST <job>/phase`` with PHASE=RUN runs it, ``GET <job>`` returns the UWS
job document, ``GET <job>/results/result`` the VOTable, ``DELETE <job>`` removes it.
pyvo does not ask for /capabilities or /tables for these calls, so they are absent.

Responses are registered with ``tap.respond(match, answer)``: ``match`` is a
substring of the ADQL (case-insensitive; None matches anything), ``answer`` a
VOTable file, an astropy Table, or ``callable(query, uploads) -> Table`` (uploads:
name -> astropy Table, as the client sent them). ``tap.serve(match, table)`` instead
answers like a database holding ``table``: the query's WHERE, TOP and select list are
applied (tests/fake_adql.py), so a client test sees its own selection's rows. Failures are simulated with
``fail_next(n, status)`` (HTTP errors), ``delay_s`` (a slow service: the reply
comes after the client's timeout) and the ``refused_url`` fixture (nothing listens).
Every request is recorded in ``tap.requests``.
"""

from __future__ import annotations

import io
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from fake_adql import AdqlError

DATA = Path(__file__).parent / "data"

UWS_JOB = """<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1">
  <uws:jobId>{job_id}</uws:jobId>
  <uws:phase>{phase}</uws:phase>
  <uws:executionDuration>3600</uws:executionDuration>
  <uws:parameters>
    <uws:parameter id="lang">ADQL</uws:parameter>
    <uws:parameter id="query">{query}</uws:parameter>
  </uws:parameters>
  <uws:results>{results}</uws:results>{error}
</uws:job>
"""


@dataclass
class Request:
    method: str
    path: str
    params: dict = field(default_factory=dict)
    uploads: dict = field(default_factory=dict)

    @property
    def query(self) -> str | None:
        return self.params.get("QUERY")


@dataclass
class Job:
    job_id: str
    params: dict
    uploads: dict
    phase: str = "PENDING"
    polls_left: int = 0
    result: bytes | None = None
    error: str | None = None


def _votable_bytes(table) -> bytes:
    buf = io.BytesIO()
    table.write(buf, format="votable")
    return buf.getvalue()


def _error_votable(message: str) -> bytes:
    from xml.sax.saxutils import escape

    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.3" '
            f'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
            f'<INFO name="QUERY_STATUS" value="ERROR">{escape(message)}</INFO></RESOURCE></VOTABLE>').encode()


class _QuietServer(ThreadingHTTPServer):
    """Threads die with the test; a client that hung up (its timeout) is not an error here."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeTap:
    """State and behaviour of the fake service; ``url`` is its TAP base URL."""

    def __init__(self) -> None:
        self.responses: list[tuple[str | None, object]] = []
        self.requests: list[Request] = []
        self.jobs: dict[str, Job] = {}
        self.failures: list[int] = []
        self.delay_s = 0.0
        self.async_polls_before_done = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tap"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- configuration ------------------------------------------------------------------
    def respond(self, match: str | None, answer) -> "FakeTap":
        """Answer queries containing ``match`` with ``answer`` (first registered match wins)."""
        self.responses.append((match, answer))
        return self

    def serve(self, match: str | None, table) -> "FakeTap":
        """Answer queries containing ``match`` from ``table`` (an astropy Table or a VOTable file)
        as a database would: WHERE, TOP and the select list applied; a condition the fake
        cannot evaluate, or a column the table lacks, is answered as the service's error."""
        from astropy.table import Table as ATable

        from fake_adql import answer_query

        rows = ATable.read(table, format="votable") if isinstance(table, (str, Path)) else table
        return self.respond(match, lambda query, uploads: answer_query(query, rows))

    def fail_next(self, n: int, status: int = 503) -> "FakeTap":
        """The next ``n`` requests get HTTP ``status`` (a plain-text body, like a proxy's)."""
        self.failures.extend([status] * n)
        return self

    # -- what happened ------------------------------------------------------------------
    @property
    def queries(self) -> list[str]:
        """ADQL of every query submitted (sync and async), in order."""
        return [r.query for r in self.requests if r.query is not None]

    def calls(self, path_part: str) -> list[Request]:
        return [r for r in self.requests if path_part in r.path]

    # -- answering ------------------------------------------------------------------------
    def answer(self, query: str, uploads: dict) -> bytes:
        from astropy.table import Table as ATable

        for match, answer in self.responses:
            if match is None or match.lower() in query.lower():
                if callable(answer) and not isinstance(answer, ATable):
                    try:
                        answer = answer(query, uploads)
                    except AdqlError as exc:              # a query the fake cannot evaluate exactly
                        raise LookupError(f"fake TAP cannot answer {query!r}: {exc}") from None
                if isinstance(answer, (str, Path)):
                    return Path(answer).read_bytes()
                return _votable_bytes(answer)
        raise LookupError(f"fake TAP has no response registered for query: {query}")

    def start(self) -> "FakeTap":
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()


def _parse_body(headers, body: bytes) -> tuple[dict, dict]:
    """Form fields and uploaded files of a POST (urlencoded or multipart)."""
    ctype = headers.get("Content-Type", "")
    if ctype.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        params, files = {}, {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = payload
            else:
                params[name] = payload.decode()
        return params, files
    fields = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}, {}


def _uploads(params: dict, files: dict) -> dict:
    """``UPLOAD=name,param:part`` -> {name: astropy Table} from the multipart files."""
    from astropy.table import Table as ATable

    out = {}
    spec = params.get("UPLOAD", "")
    for item in filter(None, spec.split(";")):
        name, ref = item.split(",", 1)
        part = ref.split(":", 1)[1] if ref.startswith("param:") else ref
        out[name] = ATable.read(io.BytesIO(files[part]), format="votable")
    return out


def _handler_for(tap: FakeTap):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        # -- plumbing --------------------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain",
                  location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(body)

        def _begin(self, method: str) -> tuple[Request, bool]:
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            params, files = _parse_body(self.headers, body) if method == "POST" else ({}, {})
            params = {k.upper(): v for k, v in params.items()}
            req = Request(method, path, params, _uploads(params, files) if files else {})
            with tap.lock:
                tap.requests.append(req)
                status = tap.failures.pop(0) if tap.failures else None
            if tap.delay_s:
                tap.stop.wait(tap.delay_s)
            if status is not None:
                self._send(status, f"{status} Service Unavailable (simulated)".encode())
                return req, False
            return req, True

        def _job(self, path: str) -> tuple[Job | None, str]:
            rest = path.split("/async/", 1)[1].strip("/")
            job_id, _, tail = rest.partition("/")
            return tap.jobs.get(job_id), tail

        def _job_url(self, job: Job) -> str:
            return f"{tap.url}/async/{job.job_id}"

        # -- verbs ---------------------------------------------------------------------------
        def do_POST(self):
            req, ok = self._begin("POST")
            if not ok:
                return
            path = req.path.rstrip("/")
            if path.endswith("/tap/sync"):
                try:
                    body = tap.answer(req.query or "", req.uploads)
                except LookupError as exc:
                    return self._send(400, _error_votable(str(exc)), "application/x-votable+xml")
                return self._send(200, body, "application/x-votable+xml")
            if path.endswith("/tap/async"):
                with tap.lock:
                    job = Job(str(len(tap.jobs) + 1), req.params, req.uploads)
                    tap.jobs[job.job_id] = job
                return self._send(303, b"", location=self._job_url(job))
            if "/async/" in path:
                job, tail = self._job(path)
                if job is None:
                    return self._send(404, b"no such job")
                if tail == "phase" and req.params.get("PHASE", "").upper() == "RUN":
                    try:
                        job.result = tap.answer(job.params.get("QUERY", ""), job.uploads)
                        job.phase = "EXECUTING" if tap.async_polls_before_done else "COMPLETED"
                        job.polls_left = tap.async_polls_before_done
                    except LookupError as exc:
                        job.phase, job.error = "ERROR", str(exc)
                    return self._send(303, b"", location=self._job_url(job))
                if tail == "phase" and req.params.get("PHASE", "").upper() == "ABORT":
                    job.phase = "ABORTED"
                    return self._send(303, b"", location=self._job_url(job))
            return self._send(404, b"not found")

        def do_GET(self):
            req, ok = self._begin("GET")
            if not ok:
                return
            if "/async/" not in req.path:
                return self._send(404, b"not found")
            job, tail = self._job(req.path)
            if job is None:
                return self._send(404, b"no such job")
            if tail == "results/result" and job.result is not None and job.phase == "COMPLETED":
                return self._send(200, job.result, "application/x-votable+xml")
            if tail == "":
                if job.phase == "EXECUTING":
                    if job.polls_left <= 0:
                        job.phase = "COMPLETED"
                    job.polls_left -= 1
                results = (f'<uws:result id="result" xlink:href="{self._job_url(job)}/results/result"/>'
                           if job.phase == "COMPLETED" else "")
                from xml.sax.saxutils import escape

                error = (f"\n  <uws:errorSummary type=\"fatal\"><uws:message>{escape(job.error)}</uws:message>"
                         "</uws:errorSummary>" if job.error else "")

                doc = UWS_JOB.format(job_id=job.job_id, phase=job.phase, results=results, error=error,
                                     query=escape(job.params.get("QUERY", "")))
                return self._send(200, doc.encode(), "text/xml")
            return self._send(404, b"not found")

        def do_DELETE(self):
            req, ok = self._begin("DELETE")
            if not ok:
                return
            job, _ = self._job(req.path) if "/async/" in req.path else (None, "")
            if job is None:
                return self._send(404, b"no such job")
            del tap.jobs[job.job_id]
            return self._send(303, b"", location=f"{tap.url}/async")

    return Handler


@pytest.fixture
def fake_tap():
    """A running fake TAP service; ``fake_tap.url`` is its base URL."""
    tap = FakeTap().start()
    try:
        yield tap
    finally:
        tap.close()


@pytest.fixture
def refused_url() -> str:
    """A TAP URL on a local port where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tap"


def recorded(name: str) -> Path:
    """Path of a recorded VOTable under tests/data/."""
    path = DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; regenerate with `python tests/data/make_tap_recordings.py`")
    return path


Responder = Callable[[str, dict], object]
