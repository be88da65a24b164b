"""report.html: one self-contained page (figures embedded) a person can open offline."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd
from .scores import VOTES_PREFIX, is_flag, is_score

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f2f2f2} td:first-child,th:first-child{text-align:left}
.mock{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;border-radius:4px}
.fallback{background:#fff3cd;padding:.6em 1em;border-radius:4px}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #ddd} figcaption{font-size:.9em;color:#555}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
.scroll{overflow-x:auto;max-width:100%} td.nested{padding:0;text-align:left} td.nested table{margin:0;border:0}
th .unit{font-weight:normal;color:#555}
"""


def _table(df: pd.DataFrame, max_rows: int = 50) -> str:
    if df is None or len(df) == 0:
        return "<p><em>none</em></p>"
    body = df.head(max_rows).to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
    return f"<div class='scroll'>{body}</div>"


def _scalar(value) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape("" if value is None else str(value))


def _dict_table(d: dict, depth: int = 0) -> str:
    """A nested summary as readable tables: dicts nest, lists of records become tables, lists of
    values a comma-separated line; only what nests deeper than three levels is shown as JSON."""
    rows = []
    for key, value in d.items():
        rows.append(f"<tr><th style='text-align:left'>{html.escape(str(key))}</th>{_cell(value, depth)}</tr>")
    return "<div class='scroll'><table>" + "".join(rows) + "</table></div>"


def _records_table(value: dict) -> str | None:
    """{row: {column: value}} (e.g. per-flag or per-score statistics) as one table, or None."""
    if not all(isinstance(v, dict) and v for v in value.values()):
        return None
    rows = []
    for key, inner in value.items():
        row = {"": key}
        for k, v in inner.items():
            if isinstance(v, dict):   # one more level, e.g. precision/recall at k: "k=10: P 0.1, R 0.2"
                v = "; ".join(f"{ik}: " + (", ".join(f"{a} {_plain(b)}" for a, b in iv.items())
                                          if isinstance(iv, dict) else _plain(iv)) for ik, iv in v.items())
            elif isinstance(v, list):
                v = ", ".join(map(_plain, v))
            row[k] = v
        rows.append(row)
    return _table(pd.DataFrame(rows), max_rows=50)


def _plain(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _cell(value, depth: int) -> str:
    if isinstance(value, dict) and value:
        records = _records_table(value) if depth >= 1 else None
        if records is not None:
            return f"<td class='nested'>{records}</td>"
        if depth >= 4:
            return (f"<td style='text-align:left'><pre>{html.escape(json.dumps(value, indent=1, default=str))}"
                    "</pre></td>")
        return f"<td class='nested'>{_dict_table(value, depth + 1)}</td>"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        frame = pd.DataFrame([{k: (json.dumps(v, default=str) if isinstance(v, (dict, list)) else v)
                               for k, v in row.items()} for row in value])
        return f"<td class='nested'>{_table(frame, max_rows=20)}</td>"
    if isinstance(value, (list, tuple)):
        items = [_scalar(v) if not isinstance(v, (dict, list)) else html.escape(json.dumps(v, default=str))
                 for v in value]
        return f"<td style='text-align:left'>{', '.join(items) or '<em>none</em>'}</td>"
    if isinstance(value, dict):
        return "<td style='text-align:left'><em>none</em></td>"
    return f"<td style='text-align:left'>{_scalar(value)}</td>"


def _with_units(frame: pd.DataFrame, info: dict) -> str:
    """A table whose header cells carry each column's unit, in a container that scrolls sideways."""
    if frame is None or len(frame) == 0:
        return "<p><em>none</em></p>"
    body = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="", escape=True)
    for name in frame.columns:
        unit = getattr(info.get(name), "unit", None)
        if unit:
            body = body.replace(f"<th>{html.escape(str(name))}</th>",
                                f"<th>{html.escape(str(name))}<br><span class='unit'>[{html.escape(unit)}]</span></th>", 1)
    return f"<div class='scroll'>{body}</div>"


def _truth_table(truth: dict) -> str:
    rows = []
    for det, pops in truth.items():
        for pop, r in pops.items():
            rows.append({"detector": det, "population": pop, "n": r["n"], "ROC AUC": r["roc_auc"],
                         "recall": r["recall"], "precision": r["precision"], "flagged": r["flagged"]})
    return _table(pd.DataFrame(rows), max_rows=200)


def render_report(folder: Path, manifest: dict, cutflow: pd.DataFrame, candidates, figures: list[dict]) -> str:
    m = manifest
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(m['recipe']['name'])}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(m['recipe']['name'])}</h1>",
             f"<p>{html.escape(m['recipe'].get('description', ''))}</p>"]
    if m.get("mock"):
        parts.append(f"<p class='mock'>MOCK DATA. {html.escape(m['data_warning'])}</p>")
    src = m["source"]
    if src.get("fallback_used"):
        parts.append(f"<p class='fallback'>The source <code>{html.escape(src['use'])}</code> was unavailable "
                     f"({html.escape(src.get('reason', ''))}); the recipe's declared fallback "
                     f"<code>{html.escape(src['fallback'])}</code> was used instead.</p>")
    parts.append(f"<p>Run {html.escape(m['started'])} &middot; seed {m['seed']} &middot; toolkit "
                 f"{html.escape(str(m['versions'].get('toolkit')))} &middot; {m['rows']['source']} rows from the "
                 f"source, {m['rows']['after_cuts']} after cuts, {m['rows']['candidates']} candidates.</p>")
    parts += ["<h2>Cut-flow</h2>", _table(cutflow)]
    if m.get("detectors"):
        det = pd.DataFrame([{"step": k, "component": v["use"], "scored": v["n_scored"], "flagged": v["n_flagged"],
                             "score": v["score_description"]} for k, v in m["detectors"].items()])
        parts += ["<h2>Detectors</h2>", _table(det)]
    if m.get("truth_recovery"):
        parts += ["<h2>Recovery of labelled (injected) populations</h2>",
                  "<p>ROC AUC of each score for each population against all other rows (the chance that a "
                  "star of the population scores higher, i.e. more anomalous, than another row; 0.5 is chance; "
                  "far below 0.5 means the population scores <em>lower</em> than the rest, as a moving group "
                  "does under a mixture that fits it as its own component); recall and precision of the "
                  "flags.</p>", _truth_table(m["truth_recovery"])]
    if m.get("validation"):
        parts.append("<h2>Validation</h2>")
        for name, summary in m["validation"].items():
            parts += [f"<h3>{html.escape(name)}</h3>", _dict_table(summary)]
    if figures:
        parts.append("<h2>Figures</h2>")
        for fig in figures:
            data = base64.b64encode((folder / fig["file"]).read_bytes()).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(fig['file'])}'>"
                         f"<figcaption>{html.escape(fig.get('caption') or fig['file'])}</figcaption></figure>")
    if candidates is not None and len(candidates):
        lead = [candidates.id_column, *[c for c in candidates.columns if c in ("name", "star_name")],
                *[c for c in candidates.columns if (is_score(c) or is_flag(c) or c.startswith(VOTES_PREFIX))]]
        rest = [c for c in candidates.columns if c not in lead and not c.startswith("cov_")]
        cols = (lead + rest)[:16]
        parts += [f"<h2>Top candidates</h2><p>The first 50 of {len(candidates)}, {len(cols)} of their "
                  f"{len(candidates.columns)} columns (units under the names); all are in candidates.parquet.</p>",
                  _with_units(candidates.data[cols].head(50), candidates.info)]
    if m.get("warnings"):
        parts += ["<h2>Warnings</h2><ul>"] + [f"<li>{html.escape(w)}</li>" for w in m["warnings"]] + ["</ul>"]
    timing = pd.DataFrame([{"stage": k, "seconds": v} for k, v in m["timings_s"].items()])
    parts += ["<h2>Timings</h2>", _table(timing, max_rows=500),
              "<h2>Versions</h2>", _dict_table(m["versions"]), _dict_table(m["plugins"]),
              "</body></html>"]
    return "\n".join(parts)
