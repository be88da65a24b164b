"""Threshold configs at their boundaries, the upper bound's edge, empty scores and the text shown in reports.

Written from mutation testing (`make mutants`, target thresholds): each case here changes its
answer when one comparison or constant of core/thresholds.py is changed.
"""

import numpy as np
import pytest
from pydantic import ValidationError

from toolkit.core.thresholds import ThresholdConfig, apply_cut, threshold_cut


@pytest.mark.parametrize("cfg", [dict(method="top_fraction", value=0.0), dict(method="top_fraction", value=1.0),
                                 dict(method="top_fraction", value=-0.5), dict(method="top_k", value=0),
                                 dict(method="top_k", value=0.5), dict(method="top_k", value=1.5),
                                 dict(method="mad", value=0.0), dict(method="mad", value=-2),
                                 dict(method="fixed", value=float("nan"))])
def test_values_outside_the_range_are_refused(cfg):
    with pytest.raises(ValidationError):
        ThresholdConfig(**cfg)


@pytest.mark.parametrize("cfg", [dict(method="top_fraction", value=1e-6), dict(method="top_fraction", value=0.999),
                                 dict(method="top_k", value=1), dict(method="top_k", value=2),
                                 dict(method="mad", value=0.5), dict(method="mad", value=1),
                                 dict(method="fixed", value=0.0), dict(method="fixed", value=-3.0),
                                 dict(method="none", value=None)])
def test_values_at_the_edge_of_the_range_are_accepted(cfg):
    assert ThresholdConfig(**cfg).method == cfg["method"]


def test_upper_bound_is_inclusive():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    assert apply_cut(scores, 2.0, upper=3.0).tolist() == [False, True, True, False]


def test_no_finite_score_means_no_cut():
    assert threshold_cut(np.array([np.nan, np.inf, -np.inf]), ThresholdConfig(method="top_k", value=1)) is None
    assert threshold_cut(np.array([]), ThresholdConfig(method="fixed", value=1)) is None
    one = np.array([np.nan, 5.0])
    assert threshold_cut(one, ThresholdConfig(method="top_k", value=3)) == 5.0
    assert apply_cut(one, threshold_cut(one, ThresholdConfig(method="mad", value=1))).tolist() == [False, True]


@pytest.mark.parametrize("cfg,text", [
    (dict(method="fixed", value=10, upper=45), "score >= 10, score <= 45"),
    (dict(method="top_fraction", value=0.02), "top 2% of scores"),
    (dict(method="top_fraction", value=0.02, upper=3), "top 2% of scores, score <= 3"),
    (dict(method="top_k", value=5, upper=0.5), "top 5 scores, score <= 0.5"),
    (dict(method="top_k", value=5), "top 5 scores"),
    (dict(method="mad", value=3), "score >= median + 3 x 1.4826 x MAD"),
    (dict(method="none", upper=3), "no flags"),
])
def test_describe(cfg, text):
    assert ThresholdConfig(**cfg).describe() == text


def test_default_is_the_top_one_percent():
    cfg = ThresholdConfig()
    assert (cfg.method, cfg.value, cfg.upper) == ("top_fraction", 0.01, None)
