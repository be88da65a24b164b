"""Seed ensembles (``members: N``): rankings that do not hang on one training seed.

A neural detector's ranking of its rarest stars moves with the seed: on real
Hipparcos stars one autoencoder put HD 84937 (a classic halo star) 10th and
another, identical but for its seed, 10,846th. Each member here is the whole
detector fitted again: member 0 exactly as a single detector (the run's
folds and training seeds), member m its own training seeds and, under
``kfold``, its own folds (a hash of the row id, the run's seed and m), so
members differ in everything a seed decides and nothing else.

Members' scores are not on one scale (each network has its own error
level), so each score becomes its fractional rank r among that member's
scores on the run's training sample (rank / n in (0, 1]; exact ranks when
the sample is every row), as ``detectors.ensemble`` does for different
detectors; that keeps scoring chunk-pure. The default combination is
Fisher's method for combining tests: the score is the mean over members of
-ln q, with q = 1 + 1/n - r the member's tail fraction (1/n for its most
anomalous training star, 1/(2n) beyond it), so exp(-score) is the geometric
mean of the members' tail fractions. A member that misses a star (ranks it
5,000th) then costs it little when the others put it in their top 50:
on the Hipparcos recipe's autoencoder (seeds 1-10, 7 three-fold members)
Kapteyn's star fell as low as 237th with it, 599th with the median of ranks
(``combine: median``) and 1,402nd with rank averaging (``combine: mean``).

Under ``kfold`` no final model is fitted: a row of any table is scored by each
member's model of the fold its id hashes to, which never trained on it when
it was in the sample, so new tables are scored as the run's rows were.

Stability is recorded: the Spearman correlation of member scores on the
training sample (matrix, minimum, median) in the manifest, and per row
``votes_<step>``, the share of members whose own score reaches the run's
cut, i.e. that would have flagged the star alone.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import Columns, FittedDetector, Table, flag_column, votes_column

from .base import FittedEstimatorDetector
from .ensemble import fractional_rank


def member_values(ranks: np.ndarray, n: np.ndarray, how: str) -> np.ndarray:
    """Each member's fractional ranks on the scale the ensemble score is on (fisher: -ln tail fraction)."""
    if how == "fisher":
        with np.errstate(invalid="ignore", divide="ignore"):
            return -np.log(1 + 1 / n - ranks)
    return ranks


def combine(values: np.ndarray, how: str) -> np.ndarray:
    """One score per row from (rows, members) member values; NaN in any member gives NaN."""
    return (np.median if how == "median" else np.mean)(values, axis=1)


def spearman_matrix(scores: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between the columns of ``scores`` (rows with a NaN in any column left out)."""
    from scipy.stats import rankdata

    ok = np.isfinite(scores).all(axis=1)
    if ok.sum() < 3:
        return np.full((scores.shape[1], scores.shape[1]), np.nan)
    return np.corrcoef(rankdata(scores[ok], axis=0), rowvar=False)


class FittedMembers(FittedDetector):
    """N fitted members of one detector; the score combines their fractional ranks (see ``combine``)."""

    def __init__(self, members: list[FittedEstimatorDetector], references: list[np.ndarray], combine: str,
                 summary: dict | None = None) -> None:
        self.members, self.references, self.combine = members, references, combine
        first = members[0]
        self.component, self.step, self.features = first.component, first.step, first.features
        what = {"fisher": "mean of -ln(1 + 1/N - r)", "median": "median of r", "mean": "mean of r"}[combine]
        self.score_description = (
            f"{what} over {len(members)} seed-ensemble members, r being a member's fractional rank (rank/N among "
            f"that member's N scores on the training sample); a member's score: {first.score_description}")
        self.summary = dict(summary or {})

    @property
    def fold_column(self) -> str:
        return self.members[0].fold_column

    # -- fitting ----------------------------------------------------------
    @classmethod
    def fit(cls, members: list[FittedEstimatorDetector], sample: Table, combine: str,
            summary: dict) -> "FittedMembers":
        """Score the training sample with every member (as the run will) to get each member's reference."""
        scores = np.column_stack([m.score(sample.with_columns(m.assign(sample))) for m in members])
        references = [np.sort(s[np.isfinite(s)]) for s in scores.T]
        rho = spearman_matrix(scores)
        off = rho[~np.eye(len(members), dtype=bool)]
        summary = {**summary, "members": len(members), "combine": combine,
                   "member_seeds": "member 0: the run's folds and training seeds; member m: its own, from the "
                                   "run's seed, the step and m",
                   "member_spearman": {"rows": int(np.isfinite(scores).all(axis=1).sum()),
                                       "min": round(float(np.nanmin(off)), 4) if np.isfinite(off).any() else None,
                                       "median": round(float(np.nanmedian(off)), 4) if np.isfinite(off).any()
                                       else None,
                                       "matrix": np.round(rho, 4).tolist()}}
        return cls(members, references, combine, summary)

    # -- scoring ------------------------------------------------------------
    def assign(self, table: Table) -> Columns:
        return self.members[0].assign(table)

    def member_ranks(self, table: Table) -> np.ndarray:
        """(rows, members) fractional ranks; each member scores a row with the model of the row's fold.

        Under kfold a row's fold is a hash of its id whatever table it is in, so a new table is scored like
        the run's rows (no final model is fitted); otherwise a new table goes to each member's single model.
        """
        run_table = self.fold_column in table.data.columns
        kfold = self.members[0].policy == "kfold"
        out = np.empty((len(table), len(self.members)))
        for j, (member, ref) in enumerate(zip(self.members, self.references)):
            own = (kfold or run_table) and not (run_table and j == 0)   # member 0's folds are the run's column
            t = table.with_columns(member.assign(table)) if own else table
            out[:, j] = fractional_rank(member.score(t), ref)
        return out

    def score(self, table: Table) -> np.ndarray:
        return combine(self.member_values(table), self.combine)

    def score_with_parts(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        """The score and the member values it combines (the run keeps them for ``columns_at_cut``)."""
        values = self.member_values(table)
        return combine(values, self.combine), values

    def member_values(self, table: Table) -> np.ndarray:
        """(rows, members): what each member alone would score, on the ensemble score's scale."""
        n = np.array([max(len(r), 1) for r in self.references], float)
        return member_values(self.member_ranks(table), n, self.combine)

    def columns_at_cut(self, table: Table, cut: float | None, parts: np.ndarray | None = None) -> Columns:
        """``votes_<step>``: share of members whose own score reaches the run's cut (needs the cut).

        ``parts``: the member values ``score_with_parts`` gave for these rows (else computed again).
        Also counts, over the flagged rows seen, how many members flag each (``flag_agreement`` in the summary).
        """
        values = self.member_values(table) if parts is None else parts
        n = len(self.members)
        with np.errstate(invalid="ignore"):
            votes = (values >= cut).sum(axis=1) if cut is not None else np.zeros(len(table), int)
        fraction = np.where(np.isfinite(values).all(axis=1), votes / n, np.nan)
        flag = table.data.get(flag_column(self.step))
        if flag is not None:
            counts = self.summary.setdefault("flag_agreement", {
                "rule": f"for each flagged star, how many of the {n} members alone would score it at or above "
                        "the run's cut", "flagged_by_k_members": {str(k): 0 for k in range(n + 1)}})
            for k in votes[np.asarray(flag, bool)]:
                counts["flagged_by_k_members"][str(int(k))] += 1
            total = sum(counts["flagged_by_k_members"].values())
            counts["all_members"] = counts["flagged_by_k_members"][str(n)]
            counts["share_flagged_by_all_members"] = round(counts["all_members"] / total, 4) if total else None
        return Columns().add(votes_column(self.step), fraction, description=(
            f"{self.step}: fraction of the {n} seed-ensemble members whose own score (on the ensemble's scale) "
            "reaches the run's cut (1: every member would flag the star alone)"))

    # -- saving -------------------------------------------------------------
    def save(self, files) -> dict:
        states = [m.save(files, prefix=f"member{j}_") for j, m in enumerate(self.members)]
        files.write_arrays("references.npz", {f"r{j}": r for j, r in enumerate(self.references)})
        return {"members": states, "combine": self.combine, "step": self.step,
                "score_description": self.score_description}

    @classmethod
    def load(cls, component, files, state: dict) -> "FittedMembers":
        members = [component.load_single(files, s) for s in state["members"]]
        arrays = files.read_arrays("references.npz")
        fitted = cls(members, [arrays[f"r{j}"] for j in range(len(members))], state["combine"])
        fitted.score_description = state.get("score_description", fitted.score_description)
        return fitted

    def figures(self, table: Table, ctx) -> None:
        self.members[0].figures(table, ctx)

