"""Sky cross-match and the recall statistics of a scored table against known objects.

Positions: the catalogues here give J2000 positions at (roughly) epoch 2000,
while Gaia DR3 positions are at epoch 2016.0. A star moving 100 mas/yr is
1.6 arcsec away after 16 years, comparable to the usual 2 arcsec radius.
``propagate_positions`` moves the table's positions to the catalogue epoch
with the rows' proper motions (linear, on the sphere's tangent plane: good to
far below an arcsec for decades and |Dec| < 89 deg); rows without proper
motions keep their positions. Without it, fast movers may be missed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from toolkit.core import flag_for

MAS_PER_DEG = 3.6e6


def propagate_positions(ra, dec, pmra, pmdec, from_epoch: float, to_epoch: float):
    """Positions (deg) moved from ``from_epoch`` to ``to_epoch`` (Julian years).

    ``pmra`` is mu_alpha* = mu_alpha cos(dec) in mas/yr (the Gaia convention),
    ``pmdec`` in mas/yr. NaN proper motions leave the position unchanged.
    """
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    dt = float(to_epoch) - float(from_epoch)
    pmra = np.nan_to_num(np.asarray(pmra, float), nan=0.0)
    pmdec = np.nan_to_num(np.asarray(pmdec, float), nan=0.0)
    new_dec = dec + pmdec * dt / MAS_PER_DEG
    cos_dec = np.cos(np.deg2rad(dec))
    new_ra = ra + np.where(cos_dec > 1e-9, pmra * dt / MAS_PER_DEG / np.where(cos_dec > 1e-9, cos_dec, 1), 0.0)
    return np.mod(new_ra, 360.0), np.clip(new_dec, -90.0, 90.0)


def nearest(ra, dec, cat_ra, cat_dec):
    """For each (ra, dec): index of the nearest catalogue position and its separation (arcsec).

    Rows with a NaN position, or an empty catalogue, give index -1 and NaN.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    idx = np.full(len(ra), -1, dtype=np.int64)
    sep = np.full(len(ra), np.nan)
    ok = np.isfinite(ra) & np.isfinite(dec)
    cat_ra, cat_dec = np.asarray(cat_ra, float), np.asarray(cat_dec, float)
    usable = np.flatnonzero(np.isfinite(cat_ra) & np.isfinite(cat_dec))  # positions without NaN only
    if not ok.any() or len(usable) == 0:
        return idx, sep
    cat = SkyCoord(cat_ra[usable] * u.deg, cat_dec[usable] * u.deg, frame="icrs")
    rows = SkyCoord(ra[ok] * u.deg, dec[ok] * u.deg, frame="icrs")
    i, d2d, _ = rows.match_to_catalog_sky(cat)
    idx[ok] = usable[i]
    sep[ok] = d2d.to_value(u.arcsec)
    return idx, sep


def match_rows(ra, dec, cat_ra, cat_dec, radius_arcsec: float):
    """Row-wise match: catalogue index (-1 when none within the radius) and separation (NaN when none)."""
    idx, sep = nearest(ra, dec, cat_ra, cat_dec)
    hit = np.isfinite(sep) & (sep <= radius_arcsec)
    return np.where(hit, idx, -1), np.where(hit, sep, np.nan)


def _rank_desc(score: np.ndarray) -> np.ndarray:
    """1 = highest score; NaN scores get NaN rank (they were not scored)."""
    return pd.Series(score).rank(ascending=False, method="min").to_numpy()


def _round(x, nd=4):
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def recall_statistics(*, ra, dec, cat_names, cat_ra, cat_dec, row_cat_index, radius_arcsec: float,
                      footprint_radius_arcmin: float, scores: dict[str, np.ndarray],
                      flags: dict[str, np.ndarray], ks: list, row_ids, max_listed: int = 100) -> dict:
    """How the known objects sit in the table: coverage, flags, score ranks, precision/recall at k.

    Known objects "in the table" are catalogue objects with a row within the
    radius; each is represented by its nearest row. Recall is relative to
    them (objects outside the table cannot be found by any detector).
    ``ks`` holds integers and/or ``"n_flagged"`` (the flag count of the
    ``flag_<step>`` paired with ``score_<step>``).
    """
    n_rows = len(ra)
    cat_idx, cat_sep = nearest(cat_ra, cat_dec, ra, dec)  # catalogue -> nearest row
    in_footprint = np.isfinite(cat_sep) & (cat_sep <= footprint_radius_arcmin * 60.0)
    in_table = np.isfinite(cat_sep) & (cat_sep <= radius_arcsec)
    best_row = np.where(in_table, cat_idx, -1)
    known_rows = best_row[in_table]
    matched_rows = row_cat_index >= 0
    n_known = int(in_table.sum())
    out = {
        "n_catalog": int(len(cat_ra)),
        "n_in_footprint": int(in_footprint.sum()),
        "footprint_radius_arcmin": footprint_radius_arcmin,
        "n_in_table": n_known,
        "n_rows_matched": int(matched_rows.sum()),
        "n_rows": int(n_rows),
        "separation_arcsec": {
            "median": _round(np.median(cat_sep[in_table])) if n_known else None,
            "max": _round(np.max(cat_sep[in_table])) if n_known else None,
        },
    }
    flag_stats = {}
    for col, flag in flags.items():
        flag = np.asarray(flag, bool)
        n_flagged = int(flag.sum())
        known_flagged = int(flag[known_rows].sum()) if n_known else 0
        flag_stats[col] = {
            "n_flagged": n_flagged, "known_flagged": known_flagged,
            "recall": _round(known_flagged / n_known) if n_known else None,
            "precision": _round(int((flag & matched_rows).sum()) / n_flagged) if n_flagged else None,
        }
    out["flags"] = flag_stats

    score_stats, ranks_by_col = {}, {}
    for col, score in scores.items():
        score = np.asarray(score, float)
        rank = _rank_desc(score)
        ranks_by_col[col] = rank
        n_scored = int(np.isfinite(score).sum())
        known_rank = rank[known_rows] if n_known else np.array([])
        flag_col = flag_for(col)
        at_k = {}
        for k in ks:
            label = str(k)
            if k == "n_flagged":
                if flag_col not in flags:
                    continue
                k = int(np.asarray(flags[flag_col], bool).sum())
                label = f"n_flagged={k}"
            k = int(min(k, n_scored))
            if k <= 0:
                continue
            top = np.isfinite(rank) & (rank <= k)
            at_k[label] = {
                "k": k,
                "precision": _round(int((top & matched_rows).sum()) / k),
                "recall": _round(int(np.sum(known_rank <= k)) / n_known) if n_known else None,
            }
        finite = known_rank[np.isfinite(known_rank)]
        score_stats[col] = {
            "n_scored": n_scored,
            "known_scored": int(len(finite)),
            "median_rank": _round(np.median(finite), 1) if len(finite) else None,
            "best_rank": int(finite.min()) if len(finite) else None,
            # 0 = top of the list, 1 = bottom; 0.5 is what random scores give
            "median_rank_fraction": _round(np.median(finite) / n_scored) if len(finite) and n_scored else None,
            "at_k": at_k,
        }
    out["scores"] = score_stats

    listed = []
    order = np.flatnonzero(in_table)
    if scores:
        first = ranks_by_col[next(iter(scores))]
        order = order[np.argsort(np.nan_to_num(first[best_row[order]], nan=np.inf), kind="stable")]
    for j in order[:max_listed]:
        r = int(best_row[j])
        entry = {"name": str(cat_names[j]), "row_id": _json_scalar(row_ids[r]), "sep_arcsec": _round(cat_sep[j])}
        for col, rank in ranks_by_col.items():
            entry[f"rank_{col}"] = None if not np.isfinite(rank[r]) else int(rank[r])
        for col, flag in flags.items():
            entry[col] = bool(np.asarray(flag, bool)[r])
        listed.append(entry)
    out["known_objects"] = listed
    out["known_objects_listed"] = f"{len(listed)} of {n_known}"
    return out


def _json_scalar(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
