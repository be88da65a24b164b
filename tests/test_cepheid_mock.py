"""cepheid.mock: the lab's columns, truth labels, seeded, and the physics it promises (reddening-free W)."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import RunContext, Table
from toolkit.plugins.cepheid.features import FundamentalPeriod, Wesenheit
from toolkit.plugins.cepheid.mock import CepheidMock
from toolkit.plugins.cepheid.relations import MOCK_PW

LAB_COLUMNS = ["source_id", "r_est", "r_lo", "r_hi", "ra", "dec", "l", "b", "parallax", "parallax_error",
               "type_best_classification", "mode_best_classification", "pf", "pf_error", "int_average_bp",
               "int_average_bp_error", "int_average_g", "int_average_g_error", "int_average_rp",
               "int_average_rp_error", "g_absorption", "g_absorption_error", "num_clean_epochs_g"]


@pytest.fixture(scope="module")
def mock():
    return CepheidMock(n_stars=4000, seed=7).load(RunContext(show_progress=False))


def test_has_the_lab_query_columns_with_units_and_truth(mock):
    for col in LAB_COLUMNS + ["p1_o", "truth_population"]:
        assert col in mock.columns, col
    assert mock.info["parallax"].unit == "mas" and mock.info["pf"].unit == "d"
    assert mock.is_mock and mock.meta["truth_normal"] == ["classical"]
    counts = mock.meta["mock_truth"]["population_counts"]
    assert counts == {"type2": 120, "anomalous_cepheid": 120, "blend": 80, "bad_parallax": 32, "classical": 3648}
    pops = mock.data["truth_population"].value_counts().to_dict()
    assert pops == counts
    assert (mock.data["type_best_classification"] == "DCEP").all()      # impostors are mis-classified
    assert mock.data["source_id"].is_unique


def test_seeded(mock):
    again = CepheidMock(n_stars=4000, seed=7).load(RunContext(show_progress=False))
    assert mock.data.equals(again.data)


def test_wesenheit_is_reddening_free_and_on_the_relation(mock):
    t = mock.with_columns(FundamentalPeriod().compute(mock, None))
    t = t.with_columns(Wesenheit().compute(t, None))
    d = t.data
    classical = (d["truth_population"] == "classical").to_numpy()
    m_w = (d["W"] - d["truth_distance_modulus"]).to_numpy()[classical]
    rel = MOCK_PW["classical"]
    resid = m_w - (rel["a"] + rel["b"] * d["logP"].to_numpy()[classical])
    assert abs(np.mean(resid)) < 0.01 and np.std(resid) == pytest.approx(rel["scatter"], rel=0.1)
    # reddening is real (G is dimmed) yet cancels in W
    assert d["g_absorption"].to_numpy()[classical].mean() > 0.3
    assert np.corrcoef(resid, d["g_absorption"].to_numpy()[classical])[0, 1] == pytest.approx(0, abs=0.06)
    t2 = (d["truth_population"] == "type2").to_numpy()
    faint = (d["W"] - d["truth_distance_modulus"]).to_numpy()[t2] - (rel["a"] + rel["b"] * d["logP"].to_numpy()[t2])
    assert faint.min() > 0.5                                             # type II: fainter at the same period


def test_lmc_stars_are_at_the_chosen_distance_and_the_parallax_has_the_zero_point():
    t = CepheidMock(n_stars=3000, seed=2, lmc_fraction=1.0, lmc_distance_modulus=18.3, parallax_zero_point=-0.05,
                    bad_parallax_fraction=0).load(RunContext(show_progress=False))
    assert np.median(t.array("truth_distance_modulus")) == pytest.approx(18.3, abs=0.01)
    true_plx = 1000 / 10 ** (18.3 / 5 + 1)
    assert np.average(t.array("parallax"), weights=t.array("parallax_error") ** -2) == pytest.approx(
        true_plx - 0.05, abs=0.005)


def test_streams_the_same_rows_in_any_chunk_size():
    whole = CepheidMock(n_stars=700, seed=3).load(RunContext(show_progress=False))
    for rows in (1, 256, 700, 5000):
        chunks = list(CepheidMock(n_stars=700, seed=3).iter_chunks(RunContext(show_progress=False), rows))
        assert max(len(c) for c in chunks) <= rows and len(chunks) == -(-700 // rows)
        joined = Table.concat(chunks)
        assert joined.data.reset_index(drop=True).equals(whole.data.reset_index(drop=True))
    assert CepheidMock.can_stream()
