"""symbiotic.mock and symbiotic.mock_known: determinism, labels, the known subset."""

import numpy as np
import pytest

from toolkit.core import RunContext
from toolkit.plugins.symbiotic.mock import SymbioticMock
from toolkit.plugins.symbiotic.mock_known import MockKnownSymbiotics

SMALL = dict(n_giants=300, n_dwarfs=30, n_symbiotic=20, n_mira=5, n_yso=5)


def test_mock_is_deterministic_and_seed_dependent():
    a = SymbioticMock(seed=3, **SMALL).load(None).data
    b = SymbioticMock(seed=3, **SMALL).load(None).data
    c = SymbioticMock(seed=4, **SMALL).load(None).data
    assert a.equals(b)
    assert not np.allclose(a["ra"], c["ra"])


def test_mock_default_seed_is_the_recipe_seed():
    a = SymbioticMock(**SMALL).load(RunContext(seed=9, show_progress=False)).data
    b = SymbioticMock(seed=9, **SMALL).load(None).data
    assert a.equals(b)


def test_mock_labels_meta_and_units():
    table = SymbioticMock(seed=1, **SMALL).load(None)
    counts = table.data["truth_population"].value_counts().to_dict()
    assert counts == {"giant": 300, "dwarf": 30, "symbiotic": 20, "mira": 5, "yso": 5}
    assert table.meta["mock"] is True and table.meta["truth_normal"] == ["giant", "dwarf"]
    assert table.info["ra"].unit == "deg" and table.info["u_psf"].unit == "mag" and table.info["r_med_geo"].unit == "pc"
    assert table.data["object_id"].is_unique
    assert (table.data["dec"] < 10).all()
    assert set("".join(table.data["ph_qual"])) <= set("ABCDEU")


def test_injected_symbiotics_have_ultraviolet_excess():
    d = SymbioticMock(seed=2, n_giants=2000, n_symbiotic=60, n_dwarfs=0, n_mira=0, n_yso=0).load(None).data
    # colour against the red (J - K) sequence: at fixed J-K the symbiotics are bluer in u - g and v - g
    ug = (d["u_psf"] - d["g_psf"]) - 0.5 * (d["j_m"] - d["k_m"])
    sym = d["truth_population"] == "symbiotic"
    assert np.nanmedian(ug[sym]) < np.nanmedian(ug[~sym]) - 0.5
    vg = d["v_psf"] - d["g_psf"]
    assert np.nanmedian(vg[sym]) < np.nanmedian(vg[~sym])


def test_red_giants_have_missing_u_magnitudes_with_missing_errors():
    d = SymbioticMock(seed=1, **SMALL).load(None).data
    assert d["u_psf"].isna().any()
    assert (d["u_psf"].isna() == d["e_u_psf"].isna()).all()


def test_known_catalogue_is_a_deterministic_subset_of_injected_symbiotics():
    ctx = RunContext(seed=5, show_progress=False)
    mock = SymbioticMock(**SMALL).load(ctx).data
    known = MockKnownSymbiotics(**SMALL, known_fraction=0.5).load(ctx)
    again = MockKnownSymbiotics(**SMALL, known_fraction=0.5).load(ctx)
    assert known.data.equals(again.data)
    assert len(known) == 10 and list(known.data.columns[:3]) == ["name", "ra", "dec"]
    rows = mock.set_index("object_id").loc[known.data["object_id"]]
    assert (rows["truth_population"] == "symbiotic").all()
    sep = np.hypot((rows["ra"].to_numpy() - known.data["ra"].to_numpy()) * np.cos(np.radians(rows["dec"].to_numpy())),
                   rows["dec"].to_numpy() - known.data["dec"].to_numpy()) * 3600
    assert sep.max() < 2.0 and sep.max() > 0


def test_known_catalogue_without_symbiotics_is_an_error():
    from toolkit.core import StageError

    with pytest.raises(StageError, match="no injected symbiotics"):
        MockKnownSymbiotics(seed=1, n_giants=50, n_dwarfs=0, n_symbiotic=0, n_mira=0, n_yso=0).load(None)


def test_unknown_config_key_is_rejected():
    with pytest.raises(Exception, match="n_giant"):
        SymbioticMock(n_giant=5)
