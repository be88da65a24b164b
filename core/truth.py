"""How well each detector recovers labelled populations (mocks carry truth labels).

Computed over a run's chunks (``RowValues``): counts in one pass, each
population's ROC AUC from the ranks of the smaller of its two classes in two
more, so a survey-size run holds neither its scores nor its labels whole
(only the smaller classes' scores: about 19 % of the rows of the Gaia mock).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .rowvalues import RowValues, blocks_of


class TruthLabels:
    """Every row's truth label as a small integer code, chunk by chunk (33.8 million strings would not fit)."""

    def __init__(self, path: Path | None = None) -> None:
        self.names: dict[str, int] = {}
        self.codes = RowValues(np.int16, path)

    @classmethod
    def of(cls, labels) -> "TruthLabels":
        """The labels of an array (one chunk)."""
        out = cls()
        out.add(pd.Series(np.asarray(labels)))
        return out

    def add(self, column: pd.Series) -> None:
        """One chunk's labels."""
        codes, uniques = pd.factorize(column.astype(str))
        lookup = np.array([self.names.setdefault(u, len(self.names)) for u in uniques], dtype=np.int16)
        self.codes.append(lookup[codes] if len(codes) else np.zeros(0, np.int16))

    def __len__(self) -> int:
        return len(self.codes)


def truth_recovery(labels, scores: dict, flags: dict, normal: list[str] | None = None) -> dict:
    """Per detector and population: ROC AUC of the score, recall and precision of the flags.

    ``labels``: a ``TruthLabels`` or an array of labels; ``scores`` and ``flags``: per
    detector step, one value per row (arrays, or ``RowValues`` chunked as the labels).
    ``normal`` names the ordinary populations; all others are also pooled as ``anomalous``.
    """
    labels = labels if isinstance(labels, TruthLabels) else TruthLabels.of(labels)
    groups = {name: [i] for name, i in sorted(labels.names.items())}
    normal = set(normal or [])
    if normal and any(p not in normal for p in groups):
        groups["anomalous"] = [i for p, i in labels.names.items() if p not in normal]
    out = {}
    for det, score in scores.items():
        chunks = _Chunks(labels.codes, blocks_of(score), blocks_of(flags[det]) if det in flags else None)
        counts, n_flag, n_finite = _counts(chunks, groups)
        aucs = _aucs(chunks, groups, {pop: c[2] for pop, c in counts.items()}, n_finite)
        out[det] = {pop: {"n": n, "roc_auc": None if aucs[pop] is None else round(aucs[pop], 4),
                          "recall": round(tp / n, 4) if n else None,
                          "precision": round(tp / n_flag, 4) if n_flag else None, "flagged": tp}
                    for pop, (n, tp, _) in counts.items()}
    return out


class _Chunks:
    """Labels, finite-ness and scores (and flags) of the same chunks, read together."""

    def __init__(self, codes: RowValues, scores, flags) -> None:
        self.codes, self.scores, self.flags = codes, scores, flags

    def __iter__(self):
        flags = self.flags if self.flags is not None else [None] * len(self.codes)
        for code, s, f in zip(self.codes, self.scores, flags, strict=True):   # chunked alike, or an error
            s = np.asarray(s, float)
            yield code, s, np.isfinite(s), (np.zeros(len(code), bool) if f is None else np.asarray(f, bool))


def _counts(chunks: _Chunks, groups: dict[str, list[int]]):
    """Per population: rows, flagged rows, rows with a finite score; and the totals of the last two."""
    counts = {pop: [0, 0, 0] for pop in groups}
    n_flag = n_finite = 0
    for code, _, ok, flag in chunks:
        n_flag, n_finite = n_flag + int(flag.sum()), n_finite + int(ok.sum())
        for pop, members in groups.items():
            is_pop = np.isin(code, members)
            c = counts[pop]
            c[0], c[1], c[2] = c[0] + int(is_pop.sum()), c[1] + int((flag & is_pop).sum()), c[2] + int((ok & is_pop).sum())
    return counts, n_flag, n_finite


def _aucs(chunks: _Chunks, groups: dict[str, list[int]], n_pos: dict[str, int], n: int) -> dict:
    """ROC AUC of every population, as the Mann-Whitney U from average ranks (ties count one half, as in
    scikit-learn; None when a class is empty).

    Only the smaller of a population's two classes is held (its finite scores, sorted: ``x``). One pass
    over every finite score ``v`` (each chunk sorted, so numpy's search walks forward) then sums the ranks
    of ``x``: each ``v`` lies below the ``m - r(v)`` values of ``x`` greater than it and ties the
    ``r(v) - l(v)`` equal to it (``l``, ``r``: its left and right positions in ``x``).
    """
    pops = [p for p in groups if 0 < n_pos[p] < n]
    smaller = {p: n_pos[p] <= n - n_pos[p] for p in pops}      # True: the population is the smaller class
    parts: dict[str, list[np.ndarray]] = {p: [] for p in pops}
    for code, s, ok, _ in chunks:
        for p in pops:
            parts[p].append(s[ok & (np.isin(code, groups[p]) == smaller[p])])
    x = {p: np.sort(np.concatenate(parts.pop(p))) for p in pops}
    above = dict.fromkeys(pops, 0)
    ties = dict.fromkeys(pops, 0)
    for _, s, ok, _ in chunks:
        v = np.sort(s[ok])
        for p in pops:
            right, left = np.searchsorted(x[p], v, "right"), np.searchsorted(x[p], v, "left")
            above[p] += int(len(x[p]) * len(v) - right.sum())
            ties[p] += int((right - left).sum())
    out = dict.fromkeys(groups)
    for p in pops:
        m = len(x[p])
        rank_sum = above[p] + (ties[p] + m) / 2                     # ranks of the smaller class
        if not smaller[p]:
            rank_sum = n * (n + 1) / 2 - rank_sum
        out[p] = float((rank_sum - n_pos[p] * (n_pos[p] + 1) / 2) / (n_pos[p] * (n - n_pos[p])))
    return out
