"""One run folder as the review app sees it: the scored table, its rankings, verdicts and units.

Read once when the server starts (the 170,000-row scored table in well under a second); every
request afterwards works on NumPy arrays in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from toolkit.core import ToolkitError
from toolkit.core import flag_column, is_score, score_column

#: columns a validator adds that describe an orbit (shown on the candidate page)
ORBIT_PREFIXES = ("orbit_",)
ORBIT_COLUMNS = ("E", "L_z", "v_toomre", "halo_like")


def _units_from_parquet(path: Path) -> dict[str, tuple[str | None, str]]:
    """Column -> (unit, description) from the astropy metadata that the run wrote into the Parquet file."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"table_meta_yaml")
    out: dict[str, tuple[str | None, str]] = {}
    if not raw:
        return out
    try:
        lines = raw.decode().splitlines()
        doc = yaml.load("\n".join(x for x in lines if not x.startswith("# %ECSV")), Loader=_MetaLoader)
    except Exception:
        return out
    for col in (doc or {}).get("datatype", []):
        out[col.get("name")] = (col.get("unit"), col.get("description", ""))
    return out


class _MetaLoader(yaml.SafeLoader):
    """SafeLoader that reads astropy's tagged metadata values as plain data (never constructs objects)."""


_MetaLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def _id_column(columns: list[str]) -> str:
    for name in ("source_id", "row_id"):
        if name in columns:
            return name
    return columns[0]


class RunView:
    """The run folder's tables and what the page can rank, filter and draw with them."""

    def __init__(self, run_dir: Path | str) -> None:
        self.dir = Path(run_dir).resolve()
        d = self.dir
        if not d.is_dir():
            raise ToolkitError(f"'{run_dir}' is not a folder. Give a run folder written by `toolkit run` "
                               "(it holds manifest.json and scored.parquet).")
        missing = [n for n in ("manifest.json", "scored.parquet") if not (d / n).is_file()]
        if missing:
            raise ToolkitError(f"'{run_dir}' is not a run folder: {' and '.join(missing)} missing. "
                               "A run folder is what `toolkit run RECIPE --out DIR` writes.")
        try:
            self.manifest = json.loads((d / "manifest.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ToolkitError(f"'{d / 'manifest.json'}' is not valid JSON: {exc}") from None
        try:
            self.data = pd.read_parquet(d / "scored.parquet")
        except Exception as exc:
            raise ToolkitError(f"cannot read '{d / 'scored.parquet'}': {type(exc).__name__}: {exc}") from None
        self.units = _units_from_parquet(d / "scored.parquet")
        self.detectors = [name for name in (self.manifest.get("detectors") or {})
                          if score_column(name) in self.data.columns]
        if not self.detectors:
            raise ToolkitError(f"run '{run_dir}' has no detector scores (no score_<step> column in scored.parquet): "
                               "nothing to rank. Add a detector to the recipe and run it again.")
        n_cand = (self.manifest.get("rows") or {}).get("candidates")
        self.flag_arrays = {n: self.data[flag_column(n)].fillna(False).to_numpy(bool) for n in self.detectors
                            if flag_column(n) in self.data}
        self.flagged_any = np.zeros(len(self.data), bool)
        for arr in self.flag_arrays.values():
            self.flagged_any |= arr
        if not n_cand and not self.flagged_any.any():
            raise ToolkitError(f"run '{run_dir}' has no candidates: no detector flagged a star "
                               f"({len(self.data)} stars scored). Nothing to review; run again with a looser "
                               "threshold, e.g. --set detectors.0.with.threshold.value=0.01")
        self.id_column = _id_column(list(self.data.columns))
        self.ids = self.data[self.id_column].to_numpy()
        self.id_text = np.array([str(x) for x in self.ids], dtype=object)
        self.row_of = {s: i for i, s in enumerate(self.id_text)}
        self.rankings: dict[str, np.ndarray] = {n: self.data[score_column(n)].to_numpy(float) for n in self.detectors}
        self.ranking_info: dict[str, dict] = {n: {"kind": "detector", "use": self.manifest["detectors"][n].get("use")}
                                              for n in self.detectors}
        self.verdicts = self._verdicts()
        self.mock = bool(self.manifest.get("mock"))

    # -- what the page can filter on ---------------------------------------
    def _verdicts(self) -> dict[str, np.ndarray]:
        """Validator verdicts as boolean arrays: boolean columns (halo_like) and catalogue matches."""
        out = {}
        for col in self.data.columns:
            if col.startswith(("flag_", "truth_", "insample_")) or col == self.id_column:
                continue
            s = self.data[col]
            if s.dtype == bool:
                out[col] = s.to_numpy(bool)
            elif col.startswith("match_") and not col.endswith("_sep") and s.dtype == object:
                out[col] = s.fillna("").astype(str).str.len().to_numpy() > 0
        return out

    def detector_features(self, name: str) -> list[str]:
        """The features a detector step used (from the resolved recipe), present in the table."""
        for step in (self.manifest.get("recipe") or {}).get("detectors", []):
            if step.get("name") == name:
                feats = (step.get("with") or {}).get("features") or []
                return [f for f in feats if f in self.data.columns]
        return []

    def learning_features(self) -> list[str]:
        """Features for the learners: those of the run's detectors (union, in order)."""
        feats: list[str] = []
        for n in self.detectors:
            feats += [f for f in self.detector_features(n) if f not in feats]
        if not feats:
            feats = [c for c in self.data.columns if self.data[c].dtype.kind == "f" and not is_score(c)]
        return feats

    def unit(self, col: str) -> str | None:
        return (self.units.get(col) or (None, ""))[0]

    def description(self, col: str) -> str:
        return (self.units.get(col) or (None, ""))[1] or ""

    def row(self, star_id: str) -> int:
        i = self.row_of.get(str(star_id))
        if i is None:
            raise KeyError(star_id)
        return i

    def value_table(self, i: int) -> list[dict]:
        """Every column of one star (truth columns hidden) with unit and description."""
        out = []
        for col in self.data.columns:
            if col.startswith("truth_"):
                continue
            v = self.data[col].iat[i]
            out.append({"name": col, "value": _jsonable(v), "unit": self.unit(col) or "",
                        "description": self.description(col)})
        return out

    def orbit(self, i: int) -> list[dict]:
        cols = [c for c in self.data.columns if c.startswith(ORBIT_PREFIXES) or c in ORBIT_COLUMNS]
        if not cols or ("orbit_status" in self.data and not str(self.data["orbit_status"].iat[i] or "")):
            return []
        vals = [{"name": c, "value": _jsonable(self.data[c].iat[i]), "unit": self.unit(c) or ""} for c in cols]
        return vals if any(v["value"] not in (None, "", False) for v in vals) else []

    def matches(self, i: int) -> list[dict]:
        out = []
        for col in self.data.columns:
            if col.startswith("match_") and not col.endswith("_sep") and self.data[col].dtype == object:
                name = self.data[col].iat[i]
                sep = self.data[f"{col}_sep"].iat[i] if f"{col}_sep" in self.data else None
                out.append({"catalog": col[len("match_"):], "name": name or "", "sep_arcsec": _jsonable(sep)})
        return out

    def links(self, i: int) -> list[dict]:
        """Gaia archive (VizieR I/355), ESASky and SIMBAD cone links from the star's coordinates."""
        if "ra" not in self.data or "dec" not in self.data:
            return []
        ra, dec = float(self.data["ra"].iat[i]), float(self.data["dec"].iat[i])
        if not (np.isfinite(ra) and np.isfinite(dec)):
            return []
        c = f"{ra:.6f}%20{dec:+.6f}"
        return [
            {"name": "SIMBAD (5\")", "url": f"https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={c}"
                                             "&CooFrame=ICRS&Radius=5&Radius.unit=arcsec"},
            {"name": "Gaia DR3 at VizieR (5\")", "url": f"https://vizier.cds.unistra.fr/viz-bin/VizieR-4?"
                                                        f"-source=I/355/gaiadr3&-c={c}&-c.rs=5"},
            {"name": "Gaia archive / ESASky", "url": f"https://sky.esa.int/esasky/?target={c}&fov=0.05"},
        ]


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return str(v) if abs(int(v)) > 2**53 else int(v)
    if isinstance(v, (np.floating, float)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, (bytes,)):
        return v.decode(errors="replace")
    return str(v) if not isinstance(v, (int, str)) else (str(v) if isinstance(v, int) and abs(v) > 2**53 else v)
