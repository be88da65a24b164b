"""Per-row values kept chunk by chunk (scores, flags, labels) and the exact order statistics over them.

A streamed run keeps its scores on disk and computes thresholds chunk by chunk in bounded memory;
the cut must be exactly the one the whole array gives, whatever the chunks and the memory budget.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from toolkit.core.errors import StageError
from toolkit.core.rowvalues import RowValues, blocks_of
from toolkit.core.thresholds import ThresholdConfig, finite_range, kth_smallest, threshold_cut


@pytest.mark.parametrize("on_disk", [False, True])
def test_chunks_come_back_as_appended(tmp_path, on_disk):
    values = RowValues(float, tmp_path / "s.f8" if on_disk else None)
    parts = [np.arange(3.0), np.empty(0), np.array([np.nan, -np.inf, 7.5])]
    for part in parts:
        values.append(part)
    assert len(values) == 3 and values.rows == 6
    for got, want in zip(values, parts):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(values[2], parts[2])
    np.testing.assert_array_equal(values.whole(), np.concatenate(parts))
    assert blocks_of(values) is values and len(blocks_of(np.arange(4.0))) == 1


def test_a_full_disk_is_a_clear_error():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    values = RowValues(float, Path("/dev/full"))
    with pytest.raises(StageError, match="is the disk full"):
        values.append(np.ones(100_000))


scores = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                            st.sampled_from([0.0, 1.0, np.nextafter(1.0, 2.0), -1e300, 1e300])),
                  min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(values=scores, cuts=st.lists(st.integers(0, 300), max_size=4), budget=st.integers(1, 40),
       k_frac=st.floats(0, 1, exclude_max=True))
def test_kth_smallest_is_exact_in_any_budget(values, cuts, budget, k_frac):
    x = np.array(values, float)
    finite = x[np.isfinite(x)]
    if not finite.size:
        assert finite_range([x])[0] == 0
        return
    k = int(k_frac * finite.size)
    blocks = np.split(x, sorted(c % (len(x) + 1) for c in cuts))
    assert kth_smallest(blocks, k, budget=budget) == np.partition(finite, k)[k]


@pytest.mark.parametrize("method,value", [("top_fraction", 0.002), ("top_fraction", 0.3), ("top_k", 17),
                                          ("mad", 3.0), ("fixed", 1.0)])
def test_a_cut_from_chunks_on_disk_is_the_whole_arrays_cut(tmp_path, monkeypatch, method, value):
    rng = np.random.default_rng(11)
    x = np.round(rng.lognormal(0, 2, 200_001), 3)          # rounded: ties at the cut
    x[rng.random(len(x)) < 0.01] = np.nan
    cfg = ThresholdConfig(method=method, value=value)
    whole = threshold_cut(x, cfg)
    values = RowValues(float, tmp_path / "s.f8")
    for part in np.array_split(x, 7):
        values.append(part)
    monkeypatch.setattr("toolkit.core.thresholds.SELECT_BUDGET", 1000)   # force the narrowing passes
    assert threshold_cut(values, cfg) == whole
    if method == "mad":
        f = x[np.isfinite(x)]
        med = np.median(f)
        assert whole == med + value * 1.4826 * np.median(np.abs(f - med))


@pytest.mark.parametrize("on_disk", [False, True])
def test_several_values_per_row(tmp_path, on_disk):
    """A seed ensemble's member values (rows, members) are kept per chunk for the votes column."""
    values = RowValues(float, tmp_path / "p.f8" if on_disk else None, width=3)
    a, b = np.arange(12.0).reshape(4, 3), np.arange(6.0).reshape(2, 3) + 100
    for part in (a, b, np.empty((0, 3))):
        values.append(part)
    np.testing.assert_array_equal(values[1], b)
    assert values[2].shape == (0, 3) and values.whole().shape == (6, 3) and values.rows == 6
    with pytest.raises(ValueError, match="3 value"):
        values.append(np.ones(3))
