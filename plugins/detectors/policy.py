"""Which rows train a model and which rows it scores.

``kfold`` (default): rows are shuffled into k folds; each fold is scored by a
model trained on the other k-1, so every row gets an out-of-fold score.
``train_fraction``: one model trained on a random fraction (the lesson's 50/50);
it scores the other rows, training rows get NaN.
``fit_all``: one model trained on every row scores every row (in-sample).
``max_train_rows`` caps each training set with a random sample; under
``train_fraction`` and ``fit_all`` the rows left out of training are scored by
that model too, so a huge table is learnt from a sample and scored in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Fold:
    """Positions (into the usable rows) that train one model, and those it scores."""

    train: np.ndarray
    score: np.ndarray


def _cap(rows: np.ndarray, max_rows: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_rows is None or len(rows) <= max_rows:
        return rows
    return np.sort(rng.choice(rows, size=max_rows, replace=False))


def plan_folds(n: int, policy: str, *, folds: int = 5, train_fraction: float = 0.5,
               max_train_rows: int | None = None, rng: np.random.Generator) -> list[Fold]:
    """The train/score split of ``n`` usable rows under a policy (see module doc)."""
    everything = np.arange(n)
    if policy == "kfold":
        parts = np.array_split(rng.permutation(n), folds)
        out = []
        for part in parts:
            score = np.sort(part)
            train = np.setdiff1d(everything, score, assume_unique=True)
            out.append(Fold(_cap(train, max_train_rows, rng), score))
        return out
    if policy == "train_fraction":
        n_train = int(round(n * train_fraction))
        train = _cap(np.sort(rng.permutation(n)[:n_train]), max_train_rows, rng)
        return [Fold(train, np.setdiff1d(everything, train, assume_unique=True))]
    if policy == "fit_all":
        return [Fold(_cap(everything, max_train_rows, rng), everything)]
    raise ValueError(f"unknown policy '{policy}'")


def final_training_rows(n: int, policy: str, max_train_rows: int | None,
                        rng: np.random.Generator) -> np.ndarray | None:
    """Rows for the model saved for reuse: under kfold a fresh model on all rows
    (capped); otherwise None, meaning the single model of the plan is the one saved."""
    if policy != "kfold":
        return None
    return _cap(np.arange(n), max_train_rows, rng)


def describe_policy(policy: str, *, folds: int, train_fraction: float, max_train_rows: int | None) -> str:
    cap = f", each model trained on at most {max_train_rows} random rows" if max_train_rows else ""
    if policy == "kfold":
        return f"out-of-fold: {folds}-fold, every row scored by a model that never saw it{cap}"
    if policy == "train_fraction":
        return (f"held-out: one model trained on a random {train_fraction:.0%} of rows{cap}; "
                "rows it trained on have NaN score")
    if cap:
        return f"one model trained on a random sample of at most {max_train_rows} rows scores every row " \
               "(rows in the sample in-sample)"
    return "in-sample: one model trained on every row scores every row"
