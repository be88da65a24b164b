"""``toolkit score``: score a table with a saved model, chunk by chunk, exactly as the run did.

The model folder is loaded through ``toolkit.core.models`` (sha256-checked
plain files, the component that saved it found in the registry, pickles only
with ``trust_pickle``), so models of third-party detectors score like the
built-in ones. A run's own table (``scored.parquet`` or ``scored/``) carries
the bookkeeping columns (``fold_<step>``) that say which fitted model scores
each row, so its scores come back identical; a new table is scored by the
final model. Feature units saved with the model are honoured: a column in
other units is converted with astropy, one in incompatible units is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from toolkit.core import StageError, Table, ThresholdConfig, ToolkitError, apply_cut, threshold_cut
from toolkit.core import TableChunks, atomic_write, json_default
from toolkit.core import load_model

from .model import DEFAULT_CHUNK_ROWS
from toolkit.core import flag_column, score_column

def parse_threshold_option(text: str | None) -> dict | None:
    """``"top_fraction:0.02"`` / ``"fixed:40"`` / ``"mad:5"`` / ``"top_k:100"`` / ``"none"`` -> threshold dict.

    For the ``--threshold`` option of ``toolkit score`` (None: use the cut saved with the model).
    """
    if text is None or text == "":
        return None
    method, _, value = text.partition(":")
    try:
        cfg = ThresholdConfig(method=method.strip(), value=float(value) if value else None)
    except Exception as exc:
        raise ToolkitError(f"--threshold '{text}': {exc}. Use METHOD:VALUE, e.g. top_fraction:0.02, fixed:40, "
                           "mad:5, top_k:100, or none") from None
    return cfg.model_dump()


def unit_factors(model_units: dict, table_units: dict, table_path: Path) -> tuple[dict[str, float], list[str]]:
    """Per feature, the factor taking the table's unit to the model's; unit-less columns are assumed in the model's."""
    import astropy.units as u

    factors, assumed = {}, []
    for name, want in model_units.items():
        have = table_units.get(name)
        if not want or not have:
            if want and not have:
                assumed.append(name)
            factors[name] = 1.0
            continue
        try:
            factors[name] = float(u.Unit(have).to(u.Unit(want)))
        except (ValueError, u.UnitConversionError):
            raise StageError(f"table '{table_path}': column '{name}' is in {have}, but the model was trained on "
                             f"{want}, and {have} cannot be converted to {want}; compute '{name}' in {want} first"
                             ) from None
    return factors, assumed


def score_saved_model(model_dir: Path | str, table_path: Path | str, out_dir: Path | str, *,
                      threshold: ThresholdConfig | dict | None = None, name: str | None = None,
                      id_column: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                      force: bool = False, trust_pickle: bool = False, registry=None) -> dict:
    """Score a table with a saved model; write ``scored.parquet``, ``flagged.parquet``, ``score_summary.json``.

    The table must hold every feature the model was trained on (a StageError
    names the missing ones). Flags use the numeric cut saved with the model
    unless ``threshold`` asks for another rule, applied to the new scores.
    Columns are ``score_<step>``/``flag_<step>`` (``..._rescored`` when the table
    already has them, e.g. a run's own scored table). Outputs are written
    atomically; an ``out_dir`` that already holds results is refused unless ``force``.
    """
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ToolkitError(f"--chunk-rows must be a whole number >= 1 (got {chunk_rows!r})")
    model_dir, table_path, out_dir = Path(model_dir), Path(table_path), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ToolkitError(f"--out '{out_dir}' exists and is not a folder")
    if (out_dir / "scored.parquet").exists() and not force:
        raise ToolkitError(f"'{out_dir}' already holds scored.parquet; pick another --out or pass --force")
    fitted, doc = load_model(model_dir, registry, trust_pickle)
    features = list(doc["features"])
    source = TableChunks(table_path, chunk_rows)
    missing = [f for f in features if f not in source.columns]
    if missing:
        raise StageError(f"table '{table_path}' lacks the feature column(s) the model in '{model_dir}' was trained "
                         f"on: {', '.join(repr(m) for m in missing)}. The model needs: {', '.join(features)}. "
                         "Compute them with the same features as the training recipe first.")
    factors, assumed = unit_factors(doc.get("feature_units") or {}, source.units, table_path)
    id_col = id_column or doc.get("id_column")
    if id_column and id_column not in source.columns:
        raise StageError(f"table '{table_path}' has no id column '{id_column}'")

    def chunks() -> Iterator[Table]:
        for table in source.tables(id_col):
            for f, k in factors.items():
                if k != 1.0:
                    table.data[f] = table.data[f].to_numpy(float) * k
            yield table

    scores = np.concatenate([np.asarray(fitted.score(t), float) for t in chunks()] or [np.empty(0)])
    saved = doc.get("threshold") or {}
    if threshold is None:
        cut, upper, rule = saved.get("cut"), saved.get("upper"), f"saved cut from the run ({saved.get('rule')})"
    else:
        cfg = threshold if isinstance(threshold, ThresholdConfig) else ThresholdConfig(**threshold)
        cut, upper, rule = threshold_cut(scores, cfg), cfg.upper, cfg.describe() + " (on these scores)"
    flags = apply_cut(scores, cut, upper)
    if threshold is None and hasattr(fitted, "flag"):   # the detector's own per-row rule, as the run used
        flags = np.concatenate([np.asarray(fitted.flag(t), bool) for t in chunks()] or [np.zeros(0, bool)])
        rule = "the model's own flag rule, as in the run"
    step = name or doc.get("step") or doc["component"]
    score_col, flag_col = score_column(step), flag_column(step)
    suffix = ""
    if score_col in source.columns or flag_col in source.columns:   # a run's own table: keep its scores
        score_col, flag_col, suffix = f"{score_col}_rescored", f"{flag_col}_rescored", "_rescored"

    out_dir.mkdir(parents=True, exist_ok=True)
    flagged_parts, start = [], 0
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write_scored(tmp: Path) -> None:
        nonlocal start
        writer = None
        try:
            for t in chunks():
                df = t.data
                df[score_col] = scores[start:start + len(df)]
                df[flag_col] = flags[start:start + len(df)]
                if hasattr(fitted, "columns_at_cut"):     # a seed ensemble: share of members flagging each row
                    votes = fitted.columns_at_cut(t, cut)
                    for col in votes.names():
                        df[col + suffix] = votes.data[col]
                start += len(df)
                flagged_parts.append(df[df[flag_col]])
                batch = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, batch.schema)
                writer.write_table(batch.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()

    atomic_write(out_dir / "scored.parquet", write_scored)
    flagged = pd.concat(flagged_parts, ignore_index=True) if flagged_parts else pd.DataFrame()
    if len(flagged):
        flagged = flagged.iloc[np.argsort(-flagged[score_col].to_numpy(), kind="stable")]
    atomic_write(out_dir / "flagged.parquet", lambda p: flagged.to_parquet(p, index=False))
    summary = {"model_dir": str(model_dir), "component": doc["component"], "table": str(table_path),
               "rows": int(len(scores)), "scored": int(np.isfinite(scores).sum()), "flagged": int(flags.sum()),
               "score_column": score_col, "flag_column": flag_col,
               "score_description": doc.get("score_description", ""),
               "threshold": {"rule": rule, "cut": cut, "upper": upper},
               "unit_conversions": {f: k for f, k in factors.items() if k != 1.0},
               "assumed_units": {f: doc["feature_units"][f] for f in assumed},
               "note": ("rows carrying the run's fold column were scored by the fitted model that scored them in "
                        "the run; other rows by the final model")}
    atomic_write(out_dir / "score_summary.json",
                 lambda p: p.write_text(json.dumps(summary, indent=2, default=json_default)))
    return summary

