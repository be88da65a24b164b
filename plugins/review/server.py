"""``toolkit review``: a small local web app (standard library http.server) over one run folder.

The page (``static/``) talks to a JSON API:

=====================================  =============================================
``GET  /api/run``                      run summary: rankings, filters, diagrams, labels notice
``GET  /api/candidates?ranking=...``   ranked list with filters (flag, label, verdict, q), paged
``GET  /api/candidate?id=...``         one star: values with units, why it scored, orbit, matches, links
``GET  /api/explain?id=...``         per-feature share of the reconstruction error (saved models)
``GET  /api/plot?kind=hr&id=...``      PNG: the star over the whole sample's density (hr, toomre, pair)
``GET  /api/labels``                   every label; ``/api/labels.csv`` and ``.ecsv`` export them
``POST /api/label``                    ``{id, label, note, detector}``: saved at once to labels.parquet
``POST /api/rerank``                   ``{method}``: refit on the labels so far, a new ranking
``GET  /files/<path>``                 a file of the run folder (figures, report); never outside it
=====================================  =============================================
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import mimetypes
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pandas as pd

from toolkit.core import ToolkitError
from toolkit.core import atomic_write

from .diagrams import DiagramCache
from .explain import Explainer
from .labels import LABELS, LabelStore
from .rerank import METHODS, Reranker, match_labels
from .runview import RunView, _jsonable
from toolkit.core import flag_column

DEFAULT_PORT = 8765
PAGE_SIZE = 50
MAX_BODY = 64 * 1024
RERANKED_FILE = "reranked.parquet"


class ReviewApp:
    """Everything the request handlers share: the run, its labels, diagrams, explanations, re-ranks."""

    def __init__(self, run_dir: Path | str) -> None:
        self.view = RunView(run_dir)
        v = self.view
        self.labels = LabelStore(v.dir, v.data[v.id_column].dtype)
        self.diagrams = DiagramCache(v)
        self.explainer = Explainer(v.dir)
        self.features = v.learning_features()
        self._reranker: Reranker | None = None
        self._rerank_lock = threading.Lock()
        self.rerank_log: list[dict] = []
        self._load_reranked()

    # -- helpers ------------------------------------------------------------
    def default_ranking(self) -> str:
        return self.view.detectors[0]

    def reranker(self) -> Reranker:
        if self._reranker is None:
            v = self.view
            X = np.column_stack([v.data[f].to_numpy(float) for f in self.features])
            budget = int(v.flagged_any.sum()) or 100
            self._reranker = Reranker(X, v.rankings[self.default_ranking()],
                                      seed=int(v.manifest.get("seed") or 0), budget=budget)
        return self._reranker

    def label_column(self) -> np.ndarray:
        """Per row, its label ('' when none)."""
        lab = self.labels.snapshot()
        out = np.full(len(self.view.ids), "", dtype=object)
        if len(lab):
            pos = pd.Index(self.view.id_text).get_indexer(lab["id"].astype(str))
            ok = pos >= 0
            out[pos[ok]] = lab["label"].to_numpy()[ok]
        return out

    def _load_reranked(self) -> None:
        """Re-ranks saved by an earlier session come back as rankings."""
        path = self.view.dir / RERANKED_FILE
        if not path.is_file():
            return
        try:
            self.rerank_log = list(json.loads((self.view.dir / "reranked.json").read_text()).get("reranks", []))
        except (OSError, ValueError, AttributeError):
            self.rerank_log = []
        try:
            df = pd.read_parquet(path)
            pos = pd.Index(self.view.id_text).get_indexer(df["id"].astype(str))
        except Exception:
            return  # a stale or foreign file: the rankings are recomputed on the next re-rank
        for col in df.columns:
            if col.startswith("review."):
                arr = np.full(len(self.view.ids), np.nan)
                arr[pos[pos >= 0]] = df[col].to_numpy(float)[pos >= 0]
                self.view.rankings[col] = arr
                self.view.ranking_info[col] = {"kind": "re-rank", "use": col, "saved": True}

    # -- API ------------------------------------------------------------------
    def run_info(self) -> dict:
        v = self.view
        return {
            "run": v.dir.name, "dir": str(v.dir), "mock": v.mock, "data_warning": v.manifest.get("data_warning"),
            "n_rows": int(len(v.ids)), "n_flagged": int(v.flagged_any.sum()), "id_column": v.id_column,
            "detectors": v.detectors, "rankings": [{"name": n, **i} for n, i in list(v.ranking_info.items())],
            "verdicts": [{"name": k, "n": int(a.sum())} for k, a in v.verdicts.items()],
            "labels": LABELS, "methods": [f"review.{m}" for m in METHODS], "features": self.features,
            "diagrams": self._diagram_kinds(), "labels_notice": self.labels.notice,
            "labels_file": str(self.labels.path), "n_labels": int(len(self.labels.snapshot())),
            "default_ranking": self.default_ranking(),
        }

    def _diagram_kinds(self) -> list[str]:
        """The diagrams this run's columns allow (HR needs a colour and an absolute magnitude, ...)."""
        from .diagrams import axes_for

        kinds = []
        for kind in ("hr", "toomre"):
            try:
                axes_for(self.view, kind)
                kinds.append(kind)
            except KeyError:
                pass
        if len(self.features) >= 2:
            kinds.append("pair")
        return kinds

    def candidates(self, q: dict) -> dict:
        v = self.view
        ranking = q.get("ranking") or self.default_ranking()
        if ranking not in v.rankings:
            raise ApiError(400, f"unknown ranking '{ranking}'; this run has {', '.join(v.rankings)}")
        score = v.rankings[ranking]
        mask = np.isfinite(score)
        flag = q.get("flag", "all")
        if flag == "any":
            mask &= v.flagged_any
        elif flag not in ("all", ""):
            if flag not in v.detectors or flag_column(flag) not in v.data:
                raise ApiError(400, f"unknown detector '{flag}' for the flag filter; choose any, all or "
                                    f"{', '.join(v.detectors)}")
            mask &= v.data[flag_column(flag)].fillna(False).to_numpy(bool)
        labels = self.label_column()
        lab = q.get("label", "")
        if lab == "unlabelled":
            mask &= labels == ""
        elif lab == "labelled":
            mask &= labels != ""
        elif lab:
            if lab not in LABELS:
                raise ApiError(400, f"unknown label filter '{lab}'; choose labelled, unlabelled or {', '.join(LABELS)}")
            mask &= labels == lab
        verdict = q.get("verdict", "")
        if verdict:
            neg = verdict.startswith("!")
            name = verdict.lstrip("!")
            if name not in v.verdicts:
                raise ApiError(400, f"unknown verdict '{name}'; this run has {', '.join(v.verdicts) or 'none'}")
            mask &= ~v.verdicts[name] if neg else v.verdicts[name]
        text = (q.get("q") or "").strip()
        if text:
            mask &= np.char.find(v.id_text.astype(str), text) >= 0
        rows = np.nonzero(mask)[0]
        order = rows[np.argsort(-score[rows], kind="stable")]
        # rank = position in the full ranking (all scored rows), whatever the filter
        full_rank = _ranks(score)
        offset = max(int(q.get("offset") or 0), 0)
        limit = min(max(int(q.get("limit") or PAGE_SIZE), 1), 500)
        page = order[offset:offset + limit]
        out = []
        for i in page:
            out.append({"id": v.id_text[i], "rank": int(full_rank[i]), "score": _jsonable(score[i]),
                        "label": labels[i], "flags": [d for d in v.detectors if _flag(v, d, i)],
                        "verdicts": [k for k, a in v.verdicts.items() if a[i]]})
        return {"ranking": ranking, "total": int(len(order)), "offset": offset, "rows": out}

    def candidate(self, q: dict) -> dict:
        v = self.view
        sid = q.get("id", "")
        try:
            i = v.row(sid)
        except KeyError:
            raise ApiError(404, f"no star with {v.id_column} {sid!r} in this run") from None
        lab = self.labels.snapshot()
        mine = lab[lab["id"].astype(str) == v.id_text[i]]
        scores = []
        for name, arr in list(v.rankings.items()):
            r = _ranks(arr)
            scores.append({"ranking": name, "score": _jsonable(arr[i]), "rank": int(r[i]) if np.isfinite(arr[i]) else None,
                           "flagged": _flag(v, name, i) if name in v.detectors else None})
        return {"id": v.id_text[i], "row": int(i), "values": v.value_table(i), "scores": scores,
                "orbit": v.orbit(i), "matches": v.matches(i), "links": v.links(i),
                "verdicts": [k for k, a in v.verdicts.items() if a[i]],
                "label": LabelStore.row_json(mine.iloc[-1]) if len(mine) else None, "mock": v.mock}

    def explain(self, q: dict) -> dict:
        """Per detector, each feature's share of the star's reconstruction error (a separate request:
        the first one loads the saved models, which can take seconds)."""
        v = self.view
        try:
            i = v.row(q.get("id", ""))
        except KeyError:
            raise ApiError(404, f"no star with {v.id_column} {q.get('id')!r} in this run") from None
        out = {}
        for d in v.detectors:
            feats = v.detector_features(d)
            out[d] = self.explainer.explain(d, {f: float(v.data[f].iat[i]) for f in feats}) if feats else \
                {"unavailable": "the recipe names no features for this detector"}
        return {"id": v.id_text[i], "explain": out}

    def warm_up(self) -> threading.Thread:
        """Render the page's diagram backgrounds and import the learners, in a background thread.

        Saved models (torch) load on the first explanation, which the page asks for separately,
        so the rest of the page never waits for them."""
        def work():
            pair = self.features[:2] if len(self.features) >= 2 else [None, None]
            for kind in self._diagram_kinds():
                x, y = pair if kind == "pair" else (None, None)
                try:
                    self.diagrams.prerender(kind, x, y)
                except KeyError:
                    pass
            import coniferest.aadforest  # noqa: F401  (imported now, the first re-rank need not wait)
            import sklearn.ensemble  # noqa: F401
            self.reranker()
        thread = threading.Thread(target=work, daemon=True, name="review-warm-up")
        thread.start()
        return thread

    def plot(self, q: dict) -> bytes:
        try:
            i = self.view.row(q.get("id", ""))
        except KeyError:
            raise ApiError(404, f"no star with id {q.get('id')!r} in this run") from None
        labels = self.label_column()
        others = np.nonzero(labels == "interesting")[0]
        try:
            return self.diagrams.png(q.get("kind", "hr"), i, q.get("x"), q.get("y"), others=others)
        except KeyError as exc:
            raise ApiError(400, str(exc.args[0])) from None

    def set_label(self, body: dict) -> dict:
        sid = str(body.get("id", ""))
        if sid not in self.view.row_of:
            raise ApiError(404, f"no star with {self.view.id_column} {sid!r} in this run")
        try:
            return self.labels.set(sid, str(body.get("label", "")), str(body.get("note", "") or ""),
                                   str(body.get("detector", "") or ""))
        except ToolkitError as exc:
            raise ApiError(400, str(exc)) from None

    def rerank(self, body: dict) -> dict:
        method = str(body.get("method", "review.relevance")).removeprefix("review.")
        if method not in METHODS:
            raise ApiError(400, f"unknown re-rank method '{method}'; choose {', '.join('review.' + m for m in METHODS)}")
        with self._rerank_lock:
            t0 = time.perf_counter()
            rows, rel, used, missing = match_labels(self.view.ids, self.labels.snapshot())
            if len(rows) == 0:
                raise ApiError(400, "no labels to learn from yet: label a few candidates (interesting, boring, "
                                    "artefact or known) first")
            score = self.reranker().rerank(method, rows, rel)
            name = f"review.{method}"
            self.view.rankings[name] = score
            self.view.ranking_info[name] = {"kind": "re-rank", "use": name, "n_labels": int(len(rows))}
            seconds = time.perf_counter() - t0
            entry = {"ranking": name, "n_labels": int(len(rows)), "labels_not_in_run": missing,
                     "by_label": used["label"].value_counts().to_dict(), "seconds": round(seconds, 3),
                     "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "labelled_ids": used["id"].astype(str).tolist(), "base": self.default_ranking(),
                     "features": self.features}
            self.rerank_log.append(entry)
            self._save_reranked()
        return entry

    def _save_reranked(self) -> None:
        """Keep the re-ranks (and which labels made them) in the run folder: RUN_DIR/reranked.parquet + .json."""
        v = self.view
        cols = {"id": v.ids}
        cols.update({n: a for n, a in v.rankings.items() if n.startswith("review.")})
        df = pd.DataFrame(cols)
        atomic_write(v.dir / RERANKED_FILE, lambda tmp: df.to_parquet(tmp, index=False))
        text = json.dumps({"reranks": self.rerank_log}, indent=2)
        atomic_write(v.dir / "reranked.json", lambda tmp: tmp.write_text(text))

    def run_file(self, rel: str) -> Path:
        """A file inside the run folder; anything resolving outside it is refused."""
        root = self.view.dir
        target = (root / unquote(rel)).resolve()
        if not target.is_relative_to(root):
            raise ApiError(403, f"refused: '{rel}' lies outside the run folder")
        if not target.is_file():
            raise ApiError(404, f"no file '{rel}' in the run folder")
        return target


def _flag(view, det: str, i: int) -> bool:
    arr = view.flag_arrays.get(det)
    return bool(arr[i]) if arr is not None else False


def _ranks(score: np.ndarray) -> np.ndarray:
    """1 = highest score; NaN scores rank last."""
    s = np.where(np.isfinite(score), score, -np.inf)
    order = np.argsort(-s, kind="stable")
    r = np.empty(len(s), int)
    r[order] = np.arange(1, len(s) + 1)
    return r


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


STATIC = resources.files("toolkit.plugins.review") / "static"
STATIC_NAMES = {"index.html", "app.js", "style.css"}


def make_handler(app: ReviewApp, quiet: bool = True):
    class Handler(BaseHTTPRequestHandler):
        server_version = "toolkit-review"

        def log_message(self, fmt, *args):  # noqa: D401 - quiet unless asked
            if not quiet:
                super().log_message(fmt, *args)

        # -- responses --------------------------------------------------------
        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, val in (extra or {}).items():
                self.send_header(k, val)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data, status: int = 200) -> None:
            self._send(status, json.dumps(data, allow_nan=False, default=str).encode(), "application/json")

        def _error(self, status: int, message: str) -> None:
            self._json({"error": message, "status": status}, status)

        def _body(self) -> dict:
            # a JSON content type makes a browser ask (CORS preflight) before another site's page may POST here
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                raise ApiError(415, "POST bodies must be JSON (Content-Type: application/json)")
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                raise ApiError(413, f"request body of {n} bytes is too large")
            raw = self.rfile.read(n) if n else b"{}"
            try:
                data = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise ApiError(400, f"request body is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "request body must be a JSON object")
            return data

        # -- routing ----------------------------------------------------------
        def do_GET(self):  # noqa: N802
            self._dispatch("GET")

        def do_HEAD(self):  # noqa: N802
            self._dispatch("GET")

        def do_POST(self):  # noqa: N802
            self._dispatch("POST")

        def _host_allowed(self) -> bool:
            """Refuse requests addressed to another host name (DNS rebinding) when bound to loopback."""
            if not is_loopback(self.server.server_address[0]):
                return True
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
            return host in ("", "localhost", "127.0.0.1", "::1") or is_loopback(host)

        def _dispatch(self, method: str) -> None:
            if not self._host_allowed():
                return self._error(403, f"refused: Host {self.headers.get('Host')!r} is not this machine")
            url = urlparse(self.path)
            path = url.path
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if method == "GET":
                    self._get(path, q)
                elif path == "/api/label":
                    self._json(app.set_label(self._body()))
                elif path == "/api/rerank":
                    self._json(app.rerank(self._body()))
                else:
                    raise ApiError(404, f"no such endpoint: POST {path}")
            except ApiError as exc:
                self._error(exc.status, str(exc))
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as exc:  # a bug must not kill the server; say what failed
                self._error(500, f"{type(exc).__name__}: {exc}")

        def _get(self, path: str, q: dict) -> None:
            if path == "/favicon.ico":
                return self._send(204, b"", "image/x-icon")
            if path in ("/", "/index.html"):
                return self._static("index.html")
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if path.startswith("/files/"):
                target = app.run_file(path[len("/files/"):])
                ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                return self._send(200, target.read_bytes(), ctype)
            if path == "/api/run":
                return self._json(app.run_info())
            if path == "/api/candidates":
                return self._json(app.candidates(q))
            if path == "/api/candidate":
                return self._json(app.candidate(q))
            if path == "/api/explain":
                return self._json(app.explain(q))
            if path == "/api/plot":
                return self._send(200, app.plot(q), "image/png")
            if path == "/api/labels":
                return self._json([LabelStore.row_json(r) for _, r in app.labels.snapshot().iterrows()])
            if path in ("/api/labels.csv", "/api/labels.ecsv"):
                fmt = path.rsplit(".", 1)[1]
                return self._send(200, app.labels.export(fmt), "text/csv" if fmt == "csv" else "text/plain",
                                  {"Content-Disposition": f'attachment; filename="labels.{fmt}"'})
            raise ApiError(404, f"no such page: {path}")

        def _static(self, name: str) -> None:
            if name not in STATIC_NAMES:   # a fixed list: nothing else of the package is served
                raise ApiError(404, f"no static file '{name}'")
            ctype = mimetypes.guess_type(name)[0] or "text/plain"
            self._send(200, (STATIC / name).read_bytes(), ctype + "; charset=utf-8")

    return Handler


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(app: ReviewApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT, quiet: bool = True
                ) -> ThreadingHTTPServer:
    """Bind the app; a port in use (or a host that cannot be bound) is a ToolkitError saying what to do."""
    class Server(ThreadingHTTPServer):
        daemon_threads = True

    try:
        return Server((host, port), make_handler(app, quiet))
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ToolkitError(f"port {port} on {host} is already in use (another `toolkit review`?). "
                               f"Choose another with --port, e.g. --port {port + 1}, or --port 0 for any free port."
                               ) from None
        raise ToolkitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
