"""The astronomer's labels: one row per star in ``RUN_DIR/labels.parquet``, written at once, atomically.

Every change rewrites the whole (small) file through ``atomic_write``, so a killed server or a
closed browser loses nothing. The last write for an id wins; other ids are never touched. A
file that cannot be read is moved aside under a new name and reported, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.core import StageError, ToolkitError, missing_path
from toolkit.core import atomic_write

LABELS_FILE = "labels.parquet"
#: label -> keyboard shortcut shown in the page
LABELS = {"interesting": "i", "artefact": "a", "known": "k", "boring": "b", "skip": "s"}
COLUMNS = ["id", "label", "note", "detector", "time"]
#: label -> relevance for the learners (Astronomaly's 0-5 user score scaled to 0-1); skip is no answer
RELEVANCE = {"interesting": 1.0, "known": 0.5, "boring": 0.0, "artefact": 0.0}


def empty_labels(id_dtype="int64") -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series([], dtype=id_dtype), "label": pd.Series([], dtype=str),
                         "note": pd.Series([], dtype=str), "detector": pd.Series([], dtype=str),
                         "time": pd.Series([], dtype="datetime64[ns, UTC]")})


def check_labels_frame(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Columns and label values of a labels table; a ToolkitError names the file and the fault."""
    missing = [c for c in ("id", "label") if c not in df.columns]
    if missing:
        raise ToolkitError(f"{where}: not a labels table: missing column(s) {', '.join(missing)} "
                           f"(has {', '.join(map(str, df.columns))}); expected {', '.join(COLUMNS)}")
    bad = sorted(set(df["label"].astype(str)) - set(LABELS))
    if bad:
        raise ToolkitError(f"{where}: unknown label(s) {', '.join(repr(b) for b in bad)}; "
                           f"labels are {', '.join(LABELS)}")
    out = df.copy()
    for col in ("note", "detector"):
        if col in out.columns:
            vals = out[col].astype(object)
            out[col] = vals.where(vals.notna(), "").astype(str)
        else:
            out[col] = ""
    if "time" not in out.columns:
        out["time"] = pd.Timestamp.now(tz="UTC")
    return out[COLUMNS]


def read_labels(path: Path | str) -> pd.DataFrame:
    """A labels table from a labels file (Parquet, CSV, ECSV, ...) or a run folder holding labels.parquet."""
    path = Path(path)
    if path.is_dir():
        if not (path / LABELS_FILE).is_file():
            raise ToolkitError(f"'{path}' holds no {LABELS_FILE}: label some candidates with "
                               f"`toolkit review {path}` first, or give a labels file")
        path = path / LABELS_FILE
    if not path.is_file():
        raise ToolkitError(missing_path(path, "labels file"))
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise ToolkitError(f"cannot read labels file '{path}': {type(exc).__name__}: {exc}") from None
    else:
        from toolkit.core import read_table

        try:
            df = read_table(path).to_pandas()
        except StageError as exc:
            raise ToolkitError(str(exc)) from None
    return check_labels_frame(df, str(path))


class LabelStore:
    """Labels of one run folder, shared by the server's threads (one lock, one atomic file)."""

    def __init__(self, run_dir: Path | str, id_dtype="int64") -> None:
        self.path = Path(run_dir) / LABELS_FILE
        self.id_dtype = np.dtype(id_dtype) if str(id_dtype) != "object" else np.dtype(object)
        self.lock = threading.Lock()
        self.notice = ""          # set when a damaged file was moved aside
        self._mtime = None
        self.df = empty_labels(self._pandas_id_dtype())
        self._load()

    def _pandas_id_dtype(self):
        return "int64" if self.id_dtype.kind in "iu" else object

    def _load(self) -> None:
        if not self.path.exists():
            self.df, self._mtime = empty_labels(self._pandas_id_dtype()), None
            return
        try:
            df = read_labels(self.path)
            df["id"] = df["id"].astype(self._pandas_id_dtype())
        except (ToolkitError, ValueError, TypeError) as exc:
            self._move_aside(str(exc))
            return
        self.df = df.drop_duplicates("id", keep="last").reset_index(drop=True)
        self._mtime = self.path.stat().st_mtime_ns

    def _move_aside(self, why: str) -> None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"labels.damaged-{stamp}.parquet")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"labels.damaged-{stamp}-{n}.parquet")
        self.path.rename(aside)
        self.notice = (f"the labels file '{self.path}' could not be read ({why}); it was moved aside to "
                       f"'{aside}' and is kept there untouched. New labels start an empty {LABELS_FILE}.")
        self.df, self._mtime = empty_labels(self._pandas_id_dtype()), None

    def _refresh(self) -> None:
        """Re-read the file if another process wrote it since (the last write still wins per id)."""
        mtime = self.path.stat().st_mtime_ns if self.path.exists() else None
        if mtime != self._mtime:
            self._load()

    def parse_id(self, text):
        if self.id_dtype.kind in "iu":
            try:
                return int(text)
            except (TypeError, ValueError):
                raise ToolkitError(f"id {text!r} is not an integer id") from None
        return str(text)

    def set(self, star_id, label: str, note: str = "", detector: str = "") -> dict:
        """Record ``label`` for ``star_id`` now and write the file; returns the stored row."""
        if label not in LABELS:
            raise ToolkitError(f"unknown label {label!r}; labels are {', '.join(LABELS)}")
        star_id = self.parse_id(star_id)
        row = {"id": star_id, "label": label, "note": str(note or "")[:2000], "detector": str(detector or ""),
               "time": pd.Timestamp.now(tz="UTC")}
        with self.lock:
            self._refresh()
            df = self.df[self.df["id"] != star_id]
            new = pd.DataFrame([row])
            new["id"] = new["id"].astype(self._pandas_id_dtype())
            df = pd.concat([df, new], ignore_index=True) if len(df) else new
            atomic_write(self.path, lambda tmp: df.to_parquet(tmp, index=False))
            self.df, self._mtime = df, self.path.stat().st_mtime_ns
        return self.row_json(row)

    def remove(self, star_id) -> None:
        star_id = self.parse_id(star_id)
        with self.lock:
            self._refresh()
            df = self.df[self.df["id"] != star_id].reset_index(drop=True)
            atomic_write(self.path, lambda tmp: df.to_parquet(tmp, index=False))
            self.df, self._mtime = df, self.path.stat().st_mtime_ns

    def snapshot(self) -> pd.DataFrame:
        with self.lock:
            self._refresh()
            return self.df.copy()

    @staticmethod
    def row_json(row) -> dict:
        t = row["time"]
        return {"id": str(row["id"]), "label": row["label"], "note": row["note"], "detector": row["detector"],
                "time": t.isoformat(timespec="seconds") if hasattr(t, "isoformat") else str(t)}

    def export(self, fmt: str) -> bytes:
        """The labels as CSV or ECSV (with column descriptions) bytes."""
        df = self.snapshot()
        if fmt == "csv":
            return df.assign(time=df["time"].astype(str)).to_csv(index=False).encode()
        if fmt == "ecsv":
            import io

            from astropy.table import Table as ATable

            t = ATable.from_pandas(df.assign(time=df["time"].astype(str)))
            desc = {"id": "star id (the run's id column)", "label": f"one of {', '.join(LABELS)}",
                    "note": "free-text note", "detector": "ranking shown when the label was given",
                    "time": "UTC time of the label"}
            for name, text in desc.items():
                t[name].description = text
            buf = io.StringIO()
            t.write(buf, format="ascii.ecsv")
            return buf.getvalue().encode()
        raise ToolkitError(f"labels export format {fmt!r}: choose csv or ecsv")


def labelled_relevance(labels: pd.DataFrame) -> pd.DataFrame:
    """Labels that carry an answer (not skip), with their relevance in [0, 1]."""
    out = labels[labels["label"].isin(list(RELEVANCE))].copy()
    out["relevance"] = out["label"].map(RELEVANCE).astype(float)
    return out
