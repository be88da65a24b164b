"""symbiotic.nightly_colours against a hand-computed case; epoch sources; chunk purity."""

import math

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, StageError, Table
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.symbiotic import epochs as epochs_module
from toolkit.plugins.symbiotic.mock import SymbioticMock
from toolkit.plugins.symbiotic.nightly_colours import NightlyColours, night_index

# object 1: night 57000 has u twice (15.0 +- 0.1, 15.3 +- 0.2) and g once (13.0 +- 0.05);
#           night 57010 has u 15.2 +- 0.1 and g 13.1 +- 0.1; one row with err 0 is ignored.
# object 2: only g (no colour). Object 3: no epochs at all.
EPOCHS = pd.DataFrame({
    "object_id": [1, 1, 1, 1, 1, 1, 2],
    "mjd": [57000.60, 57000.61, 57000.62, 57010.60, 57010.61, 57010.62, 57000.6],
    "filter": ["u", "u", "g", "u", "g", "r", "g"],
    "mag": [15.0, 15.3, 13.0, 15.2, 13.1, 99.0, 12.0],
    "err": [0.1, 0.2, 0.05, 0.1, 0.1, 0.0, 0.05],
})


def _hand_u_minus_g():
    w_u = 1 / 0.1**2 + 1 / 0.2**2
    u_a, su_a = (15.0 / 0.1**2 + 15.3 / 0.2**2) / w_u, 1 / math.sqrt(w_u)     # 15.06, 0.08944
    c_a, v_a = u_a - 13.0, su_a**2 + 0.05**2
    c_b, v_b = 15.2 - 13.1, 0.1**2 + 0.1**2
    mean = (c_a / v_a + c_b / v_b) / (1 / v_a + 1 / v_b)
    return mean, 1 / math.sqrt(1 / v_a + 1 / v_b)


@pytest.fixture
def epoch_file(tmp_path):
    path = tmp_path / "epochs.csv"
    EPOCHS.rename(columns={"mag": "mag_psf", "err": "e_mag_psf"}).to_csv(path, index=False)
    return path


def _colours(epoch_file, **kw):
    table = Table(pd.DataFrame({"object_id": [1, 2, 3]}))
    feature = NightlyColours(epochs={"kind": "file", "path": str(epoch_file),
                                     "columns": {"mag": "mag_psf", "err": "e_mag_psf"}}, **kw)
    return feature.compute(table, RunContext(seed=0, show_progress=False))


def test_hand_computed_case(epoch_file):
    cols = _colours(epoch_file)
    mean, err = _hand_u_minus_g()
    assert mean == pytest.approx(2.073770, abs=1e-6)
    np.testing.assert_allclose(cols.data["u_minus_g"][0], mean, rtol=1e-12)
    np.testing.assert_allclose(cols.data["u_minus_g_err"][0], err, rtol=1e-12)
    np.testing.assert_allclose(cols.data["g_minus_u"][0], -mean, rtol=1e-12)
    assert cols.data["u_minus_g_nights"].tolist() == [2, 0, 0]
    assert cols.data["n_nights"].tolist() == [2, 1, 0]
    assert np.isnan(cols.data["u_minus_g"][1]) and np.isnan(cols.data["u_minus_g"][2])
    # r was measured once with err 0: dropped, so no r colour anywhere
    assert np.isnan(cols.data["u_minus_r"]).all()
    assert cols.info["u_minus_g"].unit == "mag"


def test_all_thirty_ordered_pairs(epoch_file):
    cols = _colours(epoch_file)
    pairs = [n for n in cols.names() if n.count("_minus_") == 1 and not n.endswith(("_err", "_nights"))]
    assert len(pairs) == 30 and len(set(pairs)) == 30


def test_nights_change_at_local_noon():
    # Siding Spring (149.07 E): local noon is at UT fraction ~0.086
    assert night_index([57000.60, 57001.05, 57001.10], 149.0661).tolist() == [57000, 57000, 57001]
    assert night_index([57000.60, 57001.05], 0.0).tolist() == [57000, 57000]


def test_file_with_missing_columns_is_a_clear_error(epoch_file):
    table = Table(pd.DataFrame({"object_id": [1]}))
    feature = NightlyColours(epochs={"kind": "file", "path": str(epoch_file)})
    with pytest.raises(StageError, match="'mag' \\(for mag\\).*mag_psf"):
        feature.compute(table, None)
    with pytest.raises(StageError, match="does not exist"):
        NightlyColours(epochs={"kind": "file", "path": "/nonexistent/epochs.csv"}).compute(table, None)
    with pytest.raises(StageError, match="needs `path`"):
        NightlyColours(epochs={"kind": "file"}).compute(table, None)


def test_skymapper_epochs_come_from_the_remote_client(monkeypatch):
    calls = {}

    def fake_fetch(object_ids, ctx=None, **options):
        calls["ids"], calls["options"] = list(object_ids), options
        return EPOCHS.copy()

    from toolkit.plugins.symbiotic import skymapper
    monkeypatch.setattr(skymapper, "fetch_epochs", fake_fetch)
    table = Table(pd.DataFrame({"object_id": [1, 2, 3]}))
    cols = NightlyColours(epochs={"kind": "skymapper", "options": {"release": "dr2"}}).compute(table, None)
    assert calls == {"ids": [1, 2, 3], "options": {"release": "dr2"}}
    np.testing.assert_allclose(cols.data["u_minus_g"][0], _hand_u_minus_g()[0])


def test_mock_epochs_are_deterministic_and_chunk_pure():
    table = SymbioticMock(seed=1, n_giants=60, n_dwarfs=5, n_symbiotic=5, n_mira=2, n_yso=2).load(None)
    a = epochs_module.mock_epochs(table.data, seed=1)
    b = epochs_module.mock_epochs(table.data.iloc[::-1], seed=1)
    key = ["object_id", "mjd", "filter"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True))
    assert set(a["filter"]) == set("uvgriz")
    assert_chunk_pure(NightlyColours(), table, ctx=RunContext(seed=1, show_progress=False))


def test_mock_epochs_average_back_to_the_catalogue_colour():
    table = SymbioticMock(seed=2, n_giants=80, n_dwarfs=0, n_symbiotic=0, n_mira=0, n_yso=0).load(None)
    cols = NightlyColours().compute(table, RunContext(seed=2, show_progress=False))
    diff = cols.data["g_minus_r"] - (table.array("g_psf") - table.array("r_psf"))
    assert np.nanmedian(np.abs(diff)) < 0.1


def test_auto_epochs_use_skymapper_for_real_rows_and_the_mock_for_mock_rows(monkeypatch):
    from toolkit.plugins.symbiotic import skymapper

    monkeypatch.setattr(skymapper, "fetch_epochs", lambda ids, ctx=None, **kw: EPOCHS.copy())
    real = Table(pd.DataFrame({"object_id": [1, 2, 3]}))
    cols = NightlyColours().compute(real, None)
    np.testing.assert_allclose(cols.data["u_minus_g"][0], _hand_u_minus_g()[0])
    mock = Table(pd.DataFrame({"object_id": [1, 2, 3]}), meta={"mock": True})
    cols = NightlyColours().compute(mock, None)          # no magnitudes: simulated epochs are empty
    assert cols.data["n_nights"].tolist() == [0, 0, 0]
