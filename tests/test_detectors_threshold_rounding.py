"""top_fraction rounds the number of flags up: N x fraction flags at least, never fewer.

The policy test uses 0.2 x 10 = 2 exactly, where rounding up and down agree; here N x fraction
is not a whole number, so flooring (or rounding to nearest) would flag fewer rows.
"""

import numpy as np
import pytest

from toolkit.core.thresholds import ThresholdConfig, apply_cut, threshold_cut

SCORES = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0, np.nan, np.nan])   # 10 finite


@pytest.mark.parametrize("fraction,n_flags", [(0.25, 3), (0.15, 2), (0.11, 2), (0.01, 1), (0.99, 10)])
def test_top_fraction_flags_ceil_of_n_times_fraction(fraction, n_flags):
    cfg = ThresholdConfig(method="top_fraction", value=fraction)
    flag = apply_cut(SCORES, threshold_cut(SCORES, cfg))
    assert flag.sum() == n_flags
    assert sorted(SCORES[flag].tolist()) == list(np.arange(11 - n_flags, 11.0))   # the highest ones


def test_hipparcos_recipe_fraction_flags_84_of_16699():
    """The README's "top 0.5% flagged (84 each)": 0.005 x 16,699 = 83.5 rounds up to 84."""
    scores = np.random.default_rng(0).normal(size=16_699)
    cfg = ThresholdConfig(method="top_fraction", value=0.005)
    assert apply_cut(scores, threshold_cut(scores, cfg)).sum() == 84
