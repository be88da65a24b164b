"""Thresholds (fixed, top fraction, top k, MAD, upper bound) and the train/score policies."""

import numpy as np
import pytest
from pydantic import ValidationError

from toolkit.plugins.detectors.policy import final_training_rows, plan_folds
from toolkit.core.thresholds import ThresholdConfig, apply_cut, threshold_cut

SCORES = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0, np.nan])


def flags(**cfg):
    c = ThresholdConfig(**cfg)
    return apply_cut(SCORES, threshold_cut(SCORES, c), c.upper)


def test_fixed_cut_flags_scores_at_or_above_value():
    assert np.flatnonzero(flags(method="fixed", value=8)).tolist() == [7, 8, 9]


def test_top_fraction_and_top_k_count_only_finite_scores():
    assert np.flatnonzero(flags(method="top_fraction", value=0.2)).tolist() == [8, 9]   # 20% of 10 finite
    assert np.flatnonzero(flags(method="top_k", value=3)).tolist() == [7, 8, 9]
    assert flags(method="top_k", value=50).sum() == 10                                # capped, NaN never flagged


def test_mad_is_robust_to_the_outlier():
    cut = threshold_cut(SCORES, ThresholdConfig(method="mad", value=3))
    finite = SCORES[np.isfinite(SCORES)]
    med = np.median(finite)
    assert cut == pytest.approx(med + 3 * 1.4826 * np.median(np.abs(finite - med)))
    assert np.flatnonzero(flags(method="mad", value=3)).tolist() == [9]


def test_upper_bound_and_none():
    assert np.flatnonzero(flags(method="fixed", value=8, upper=50)).tolist() == [7, 8]
    assert not flags(method="none").any()


@pytest.mark.parametrize("cfg", [dict(method="top_fraction", value=1.5), dict(method="top_k", value=2.5),
                                 dict(method="mad", value=-1), dict(method="fixed", value=None),
                                 dict(method="quantile", value=0.1)])
def test_bad_threshold_configs_are_refused(cfg):
    with pytest.raises(ValidationError):
        ThresholdConfig(**cfg)


def test_kfold_scores_every_row_once_out_of_fold():
    plan = plan_folds(103, "kfold", folds=5, rng=np.random.default_rng(0))
    scored = np.concatenate([f.score for f in plan])
    assert sorted(scored.tolist()) == list(range(103))
    for f in plan:
        assert not np.intersect1d(f.train, f.score).size
        assert len(f.train) + len(f.score) == 103


def test_train_fraction_and_fit_all():
    (f,) = plan_folds(100, "train_fraction", train_fraction=0.5, rng=np.random.default_rng(0))
    assert len(f.train) == 50 and len(f.score) == 50 and not np.intersect1d(f.train, f.score).size
    (g,) = plan_folds(100, "fit_all", rng=np.random.default_rng(0))
    assert len(g.train) == 100 and len(g.score) == 100


def test_max_train_rows_caps_training_and_scores_the_rest():
    (f,) = plan_folds(1000, "train_fraction", train_fraction=0.5, max_train_rows=100, rng=np.random.default_rng(0))
    assert len(f.train) == 100 and len(f.score) == 900     # rows left out of training are scored
    plan = plan_folds(1000, "kfold", folds=4, max_train_rows=100, rng=np.random.default_rng(0))
    assert all(len(p.train) == 100 for p in plan) and sum(len(p.score) for p in plan) == 1000
    (g,) = plan_folds(1000, "fit_all", max_train_rows=100, rng=np.random.default_rng(0))
    assert len(g.train) == 100 and len(g.score) == 1000
    final = final_training_rows(1000, "kfold", 100, np.random.default_rng(1))
    assert len(final) == 100
    assert final_training_rows(1000, "fit_all", None, np.random.default_rng(1)) is None


def test_plans_are_deterministic_given_the_generator():
    a = plan_folds(50, "kfold", folds=3, rng=np.random.default_rng(7))
    b = plan_folds(50, "kfold", folds=3, rng=np.random.default_rng(7))
    assert all(np.array_equal(x.score, y.score) for x, y in zip(a, b))


def test_top_fraction_is_not_fooled_by_floating_point():
    scores = np.arange(100.0)
    cut = threshold_cut(scores, ThresholdConfig(method="top_fraction", value=0.07))   # 0.07 * 100 = 7.000000000000001
    assert apply_cut(scores, cut).sum() == 7
