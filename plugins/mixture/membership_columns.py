"""Membership outputs shared by the mixture detectors.

Components are reported background first (index 0), then groups by decreasing
weight (1, 2, ...). Columns: ``<prefix>p_comp<k>`` (k = 1..), ``<prefix>p_background``,
``<prefix>member_of`` (0 = background, k = group k, -1 = row not scored) and
the flag: most probable component is a group with probability >= min_membership.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns


def group_order(weights: np.ndarray, background: int) -> list[int]:
    """Component indices: background first, then the rest by decreasing weight."""
    rest = [k for k in np.argsort(-np.asarray(weights), kind="stable") if k != background]
    return [background] + [int(k) for k in rest]


def membership_columns(resp: np.ndarray, valid: np.ndarray, order: list[int], min_membership: float,
                       prefix: str = "", what: str = "mixture") -> tuple[Columns, np.ndarray, np.ndarray]:
    """Columns, member_of (n,) and flag (n,) from responsibilities (m, K) of the valid rows."""
    n = len(valid)
    probs = np.full((n, len(order)), np.nan)
    probs[valid] = resp[:, order]
    cols = Columns()
    for k in range(1, len(order)):
        cols.add(f"{prefix}p_comp{k}", probs[:, k], description=f"{what}: membership probability of group {k}")
    cols.add(f"{prefix}p_background", probs[:, 0], description=f"{what}: membership probability of the background")
    member_of = np.full(n, -1, dtype=np.int64)
    member_of[valid] = np.argmax(probs[valid], axis=1)
    cols.add(f"{prefix}member_of", member_of,
             description=f"{what}: most probable component (0 = background, k = group k, -1 = not scored)")
    best_p = np.where(valid, np.nanmax(np.where(np.isnan(probs), -1, probs), axis=1), np.nan)
    flag = valid & (member_of > 0) & (best_p >= min_membership)
    return cols, member_of, flag
