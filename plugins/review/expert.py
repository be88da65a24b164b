"""A simulated expert: answers from a mock's truth, for benchmarks and tests (never for real data).

By default halo and hypervelocity stars are interesting (what a halo hunter looks for) and
every other population (thin and thick disc, white dwarfs) is boring.
"""

from __future__ import annotations

import numpy as np

from toolkit.core import TRUTH_COLUMN, ToolkitError

INTERESTING = ("halo", "hypervelocity")


class SimulatedExpert:
    """``label(rows)`` -> 'interesting' or 'boring' for each row, from ``truth`` (one population per row)."""

    def __init__(self, truth, interesting=INTERESTING) -> None:
        self.truth = np.asarray(truth).astype(str)
        self.interesting = tuple(interesting)
        self.is_interesting = np.isin(self.truth, self.interesting)

    @classmethod
    def from_frame(cls, df, interesting=INTERESTING) -> "SimulatedExpert":
        if TRUTH_COLUMN not in df.columns:
            raise ToolkitError(f"the simulated expert needs the mock's '{TRUTH_COLUMN}' column; this table has "
                               "none (real data has no truth to answer from)")
        return cls(df[TRUTH_COLUMN].to_numpy(), interesting)

    def label(self, rows) -> list[str]:
        rows = np.asarray(rows, int)
        return ["interesting" if x else "boring" for x in self.is_interesting[rows]]

    def count_interesting(self, score: np.ndarray, top: int) -> int:
        """How many of the ``top`` highest-scored rows are interesting."""
        s = np.where(np.isfinite(score), score, -np.inf)
        return int(self.is_interesting[np.argsort(-s, kind="stable")[:top]].sum())


def active_learning(reranker, expert: SimulatedExpert, method: str, budgets=(25, 50, 100), batch: int = 5,
                    top: int = 340) -> list[dict]:
    """Label ``batch`` stars at a time from the top of the current ranking, refit, repeat.

    At each budget, how many of the ``top`` first stars of the re-ranked list are interesting.
    The learner chooses the stars (the top unlabelled ones, as a person would see them).
    """
    from .labels import RELEVANCE

    current = np.where(np.isfinite(reranker.base), reranker.base, -np.inf)
    labelled: list[int] = []
    answers: list[str] = []
    out = []
    for budget in sorted(budgets):
        while len(labelled) < budget:
            taken = set(labelled)
            order = np.argsort(-current, kind="stable")
            pick = [int(i) for i in order[: len(labelled) + batch + top] if int(i) not in taken]
            pick = pick[: min(batch, budget - len(labelled))]
            labelled += pick
            answers += expert.label(pick)
            rel = np.array([RELEVANCE[a] for a in answers])
            current = reranker.rerank(method, np.array(labelled), rel)
        out.append({"labels": budget, "interesting_in_top": expert.count_interesting(current, top),
                    "labelled_interesting": int(sum(a == "interesting" for a in answers))})
    return out
