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


STRATEGIES = ("shortlist", "top")


def active_learning(reranker, expert: SimulatedExpert, method: str, budgets=(25, 50, 100), batch: int = 10,
                    top: int = 340, strategy: str = "shortlist", seed: int = 0) -> list[dict]:
    """Ask the expert about ``batch`` stars chosen by the learner, refit, repeat until each budget.

    ``strategy``: ``top`` asks about the first unlabelled stars of the current ranking
    (Astronomaly's loop); ``shortlist`` asks about unlabelled stars drawn at random from the
    current first ``top``, so the learner also hears about the ordinary stars it still ranks
    high, not only about its surest finds. At each budget: how many of the first ``top`` stars
    of the re-ranked list are interesting.
    """
    from .labels import RELEVANCE

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose {', '.join(STRATEGIES)}")
    rng = np.random.default_rng(seed)
    current = np.where(np.isfinite(reranker.base), reranker.base, -np.inf)
    labelled: list[int] = []
    answers: list[str] = []
    out = []
    for budget in sorted(budgets):
        while len(labelled) < budget:
            taken = set(labelled)
            order = np.argsort(-current, kind="stable")[: top + len(labelled)]
            unlabelled = [int(i) for i in order if int(i) not in taken]
            n = min(batch, budget - len(labelled))
            if strategy == "top":
                pick = unlabelled[:n]
            else:
                pool = unlabelled[:top]
                pick = [int(i) for i in rng.choice(pool, size=min(n, len(pool)), replace=False)]
            labelled += pick
            answers += expert.label(pick)
            rel = np.array([RELEVANCE[a] for a in answers])
            current = reranker.rerank(method, np.array(labelled), rel)
        out.append({"labels": budget, "interesting_in_top": expert.count_interesting(current, top),
                    "labelled_interesting": int(sum(a == "interesting" for a in answers))})
    return out
