"""Seeded, order-free row selection (core.sampling): seeds and purposes matter, chunking does not."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import fold_of, row_hash, unit_interval
from toolkit.core.sampling import BottomK


@pytest.mark.parametrize("ids", [np.arange(5000) * 7, np.array([f"star {i}" for i in range(5000)], dtype=object)])
def test_seed_and_purpose_give_independent_hashes(ids):
    a, b, c = row_hash(ids, 1, "x"), row_hash(ids, 2, "x"), row_hash(ids, 1, "y")
    assert (a != b).mean() > 0.999 and (a != c).mean() > 0.999
    np.testing.assert_array_equal(a, row_hash(ids.copy(), 1, "x"))
    u, v = unit_interval(ids, 1, "x"), unit_interval(ids, 2, "x")
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.05 and 0.47 < u.mean() < 0.53
    assert sorted(np.unique(fold_of(ids, 1, "f", 4))) == [0, 1, 2, 3]


def test_bottom_k_sample_is_the_same_whatever_the_chunking():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"row_id": np.arange(10_000), "x": rng.normal(size=10_000)})
    h = row_hash(frame["row_id"].to_numpy(), 5, "sample")
    samples = []
    for n_chunks in (1, 3, 17):
        pool = BottomK(500)
        for part, hp in zip(np.array_split(np.arange(10_000), n_chunks), np.array_split(h, n_chunks)):
            pool.add(frame.iloc[part], hp)
        samples.append(pool.result("row_id"))
    for s in samples[1:]:
        pd.testing.assert_frame_equal(s, samples[0])
    assert set(samples[0]["row_id"]) == set(np.argsort(h)[:500])
    everything = BottomK(None)
    everything.add(frame, h)
    assert len(everything.result("row_id")) == 10_000
