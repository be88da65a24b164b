"""Finding and reading sky positions in tables that were not written for us.

Catalogues come as VizieR answers, CSV exports of web databases, FITS files
from colleagues: RA may be ``RAJ2000`` in ``hh mm ss.s``, ``RA(J2000)``,
``_RA`` in degrees or three columns ``RAh RAm RAs``. This module detects the
name and coordinate columns and turns any of those into degrees (ICRS/J2000),
failing with the row and the value when a string does not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from toolkit.core import StageError

# Normalised spellings (see ``normalise``), most preferred first.
RA_NAMES = ["ra", "raj2000", "raicrs", "radeg", "ra2000", "rajdeg", "alpha", "alphaj2000",
            "rightascension", "raj2000deg", "ra_j2000", "targetra"]
DEC_NAMES = ["dec", "de", "decj2000", "dej2000", "deicrs", "decicrs", "decdeg", "dedeg", "dec2000",
             "dejdeg", "delta", "deltaj2000", "declination", "dej2000deg", "targetdec"]
NAME_NAMES = ["name", "star", "object", "objname", "objectname", "mainid", "simbadname", "designation",
              "starname", "id", "identifier", "obj", "source", "sourcename", "sourceid"]
MISSING = {"", "-", "--", "---", "nan", "null", "none", "n/a", "na", "?"}

_SEXAGESIMAL = re.compile(
    r"""^\s*(?P<sign>[+-])?\s*
        (?P<a>\d{1,3})\s*(?:[:\s]|[hHdD°])\s*
        (?P<b>\d{1,2}(?:\.\d*)?)
        (?:\s*(?:[:\s]|[mM'′])\s*(?P<c>\d{1,2}(?:\.\d*)?)\s*(?:[sS"″])?)?
        \s*[mM'′]?\s*$""",
    re.VERBOSE,
)


def normalise(column: str) -> str:
    """``'RA(J2000)'`` -> ``'raj2000'``, ``'_DEJ2000'`` -> ``'dej2000'`` (a sign column ``DE-`` stays apart)."""
    return re.sub(r"[\s_()\[\]{}]", "", column).lower()


def _is_numeric(values) -> bool:
    return np.asarray(values).dtype.kind in "fiu"


def _pick(columns: Sequence[str], names: list[str], numeric: Callable[[str], bool]) -> str | None:
    found = [c for c in columns if normalise(c) in names]
    if not found:
        return None
    # decimal degrees (VizieR's computed _RAJ2000) beat sexagesimal strings; then the preferred spelling
    return sorted(found, key=lambda c: (not numeric(c), names.index(normalise(c)), list(columns).index(c)))[0]


@dataclass
class PositionColumns:
    """Where the position (and name) of each row lives in a table."""

    ra: str | None = None
    dec: str | None = None
    name: str | None = None
    #: VizieR-style split columns (RAh, RAm, RAs, DE-, DEd, DEm, DEs) when ``ra``/``dec`` are None
    split: dict[str, str | None] | None = None

    def describe(self) -> str:
        if self.split:
            return "split sexagesimal columns " + ", ".join(v for v in self.split.values() if v)
        return f"ra={self.ra!r}, dec={self.dec!r}"


def detect_position_columns(columns: Sequence[str], numeric: Callable[[str], bool], *,
                            ra: str | None = None, dec: str | None = None, name: str | None = None,
                            where: str = "table") -> PositionColumns:
    """Find (or check the mapped) RA, Dec and name columns; a clear StageError when there are none."""
    columns = list(columns)
    for given, what in ((ra, "ra_column"), (dec, "dec_column"), (name, "name_column")):
        if given is not None and given not in columns:
            raise StageError(f"{where}: {what} '{given}' is not a column. Columns: {', '.join(columns)}")
    name = name or _pick(columns, NAME_NAMES, lambda c: False)
    if ra is not None and dec is not None:
        return PositionColumns(ra, dec, name)
    ra = ra or _pick(columns, RA_NAMES, numeric)
    dec = dec or _pick(columns, DEC_NAMES, numeric)
    if ra is not None and dec is not None:
        return PositionColumns(ra, dec, name)
    split = _split_columns(columns)
    if split is not None:
        return PositionColumns(None, None, name, split)
    raise StageError(
        f"{where}: no sky coordinate columns found (looked for RA as one of ra, RA, RAJ2000, _RAJ2000, "
        f"RA(J2000), RA_ICRS, _RA, alpha ... and Dec as dec, DEC, DEJ2000, _DEJ2000, DEC(J2000), _DE ...; "
        f"or VizieR's RAh/RAm/RAs + DE-/DEd/DEm/DEs). Columns it has: {', '.join(columns) or '(none)'}. "
        f"Name them with ra_column / dec_column.")


def _split_columns(columns: list[str]) -> dict[str, str | None] | None:
    lower = {c.lower(): c for c in columns}
    if not all(k in lower for k in ("rah", "ram", "ded", "dem")):
        return None
    return {"RAh": lower["rah"], "RAm": lower["ram"], "RAs": lower.get("ras"),
            "DE-": lower.get("de-"), "DEd": lower["ded"], "DEm": lower["dem"], "DEs": lower.get("des")}


# -- values -> degrees ---------------------------------------------------------

def _row_label_default(i: int) -> str:
    return f"row {i + 1}"


def _is_missing(value) -> bool:
    if value is None or value is np.ma.masked:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING


def parse_angle_string(text: str, axis: str, unit_hint: str | None = None) -> float:
    """One RA or Dec string -> degrees. Decimal strings are degrees; sexagesimal RA is hours.

    ``unit_hint`` ('hours' or 'degrees', from the column's unit) overrides
    those defaults. Raises ValueError with the reason when the string is not an angle.
    """
    s = text.strip()
    try:
        value = float(s)
    except ValueError:
        value = None
    if value is not None:
        return value * 15.0 if (axis == "ra" and unit_hint == "hours") else value
    m = _SEXAGESIMAL.match(s)
    if not m:
        raise ValueError("not a decimal angle nor sexagesimal 'hh:mm:ss.s' / 'hh mm ss.s' / '±dd:mm:ss'")
    a = int(m["a"])
    b = float(m["b"])
    c = float(m["c"]) if m["c"] is not None else 0.0
    if m["c"] is not None and not m["b"].isdigit():
        raise ValueError("fractional minutes followed by seconds")
    if b >= 60 or c >= 60:
        raise ValueError("minutes and seconds must be below 60")
    magnitude = a + b / 60.0 + c / 3600.0
    if axis == "ra":
        if m["sign"] == "-":
            raise ValueError("right ascension cannot be negative")
        if unit_hint == "degrees":
            if magnitude >= 360:
                raise ValueError("degrees must be below 360")
            return magnitude
        if magnitude >= 24:
            raise ValueError("hours must be below 24 (is this RA in degrees? then give it as a decimal number)")
        return magnitude * 15.0
    if magnitude > 90:
        raise ValueError("declination beyond ±90 degrees")
    return -magnitude if m["sign"] == "-" else magnitude


def _unit_of(unit) -> str:
    return "" if unit is None else str(unit).strip().lower()


def angles_to_degrees(values, axis: str, *, unit=None, column: str = "?", where: str = "table",
                      row_label: Callable[[int], str] = _row_label_default) -> np.ndarray:
    """A column of RA or Dec values (numbers with a unit, or strings) -> float degrees.

    Missing values (blank, '-', NaN, masked) become NaN. A value that is not an
    angle, or lies outside 0..360 / -90..90 degrees, is a StageError naming the
    row (via ``row_label``), the column and the value.
    """
    if np.ma.isMaskedArray(values):  # plain arrays from here on (astropy columns carry units along)
        arr = np.ma.MaskedArray(np.asarray(np.ma.getdata(values)), mask=np.ma.getmaskarray(values))
    else:
        arr = np.asarray(values)
    u = _unit_of(unit)
    hint = "hours" if u in ("h", "hour", "hourangle", "h:m:s", "hms") else (
        "degrees" if u in ("deg", "d:m:s", "dms", "degree", "degrees") else None)
    if _is_numeric(arr):
        data = np.ma.filled(np.ma.asarray(arr).astype(float), np.nan)
        if u and u not in ("deg", "degree", "degrees", "h", "hour", "hourangle", "h:m:s", "d:m:s"):
            import astropy.units as au

            try:
                data = (data * au.Unit(unit)).to_value(au.deg)
            except (ValueError, au.UnitConversionError) as exc:
                raise StageError(f"{where}: column '{column}' has unit '{unit}', which is not an angle") from exc
        elif axis == "ra" and hint == "hours":
            data = data * 15.0
        out = data
    else:
        out = np.full(len(arr), np.nan)
        mask = np.ma.getmaskarray(arr) if np.ma.isMaskedArray(arr) else np.zeros(len(arr), bool)
        for i, value in enumerate(arr.tolist() if not np.ma.isMaskedArray(arr) else arr.data.tolist()):
            if mask[i] or _is_missing(value):
                continue
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            try:
                out[i] = parse_angle_string(str(value), axis, hint)
            except ValueError as exc:
                raise StageError(f"{where}: {row_label(i)}: cannot read {'RA' if axis == 'ra' else 'Dec'} "
                                 f"{str(value)!r} in column '{column}': {exc}. Fix or blank that cell, "
                                 f"or name another column with {axis}_column.") from None
    out = np.asarray(out, dtype=float)
    lo, hi = (0.0, 360.0) if axis == "ra" else (-90.0, 90.0)
    bad = np.flatnonzero(np.isfinite(out) & ((out < lo) | (out > hi)))
    if len(bad):
        i = int(bad[0])
        raise StageError(f"{where}: {row_label(i)}: {'RA' if axis == 'ra' else 'Dec'} {arr[i]!r} in column "
                         f"'{column}' is {out[i]:.6g} deg, outside {lo:g}..{hi:g} deg "
                         f"({len(bad)} such row(s)). Check the column's unit.")
    return out


def split_to_degrees(get: Callable[[str], np.ndarray], split: dict[str, str | None]) -> tuple[np.ndarray, np.ndarray]:
    """VizieR's RAh/RAm/RAs and DE-/DEd/DEm/DEs columns -> (ra, dec) in degrees."""
    def num(key):
        col = split.get(key)
        if col is None:
            return 0.0
        return np.ma.filled(np.ma.asarray(get(col)).astype(float), np.nan)

    ra = 15.0 * (num("RAh") + num("RAm") / 60.0 + num("RAs") / 3600.0)
    dec = num("DEd") + num("DEm") / 60.0 + num("DEs") / 3600.0
    if split.get("DE-") is not None:
        sign = np.asarray(np.ma.filled(np.ma.asarray(get(split["DE-"])).astype(str), "+"))
        dec = np.where(np.char.strip(sign) == "-", -dec, dec)
    return ra, dec


def ascii_line_numbers(path, n_rows: int) -> list[int] | None:
    """Physical line number of each data row of a CSV/ECSV-like file (comments and blanks skipped)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [i + 1 for i, line in enumerate(f) if line.strip() and not line.lstrip().startswith("#")]
    except OSError:
        return None
    data_lines = lines[1:]  # the first non-comment line is the header
    return data_lines if len(data_lines) == n_rows else None
