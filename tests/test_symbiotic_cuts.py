"""symbiotic.cut3 and symbiotic.cut4: hand values, NaN handling, chunk purity, clear errors."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import RunContext, StageError, Table
from toolkit.core.table import ColumnInfo
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.symbiotic.cuts import AbsoluteMagnitudeCut, ExtinctionCorrectedColourCut
from toolkit.plugins.symbiotic.mock import SymbioticMock


def _table(**cols):
    return Table(pd.DataFrame(cols))


def test_cut3_hand_values():
    # (J-K) - 0.413 E(B-V): 1.0 - 0.413 = 0.587 fails; 1.3 - 0.413 = 0.887 passes; 0.9 - 0 passes; NaN fails
    t = _table(j_m=[10.0, 10.3, 9.9, np.nan], k_m=[9.0, 9.0, 9.0, 9.0], ebmv_sfd=[1.0, 1.0, 0.0, 0.0])
    cut = ExtinctionCorrectedColourCut()
    assert cut.mask(t, None).tolist() == [False, True, True, False]
    assert cut.describe() == "(j_m - k_m) - 0.413 * ebmv_sfd > 0.85"


def test_cut3_threshold_and_coefficient_are_configurable():
    t = _table(j_m=[10.0], k_m=[9.0], ebmv_sfd=[1.0])
    assert ExtinctionCorrectedColourCut(coefficient=0.1, threshold=0.85).mask(t, None).tolist() == [True]
    assert ExtinctionCorrectedColourCut(coefficient=0.1, threshold=0.95).mask(t, None).tolist() == [False]


def test_cut4_hand_values():
    # K=10 at 1000 pc: M = 10 - 10 - 0.31 E = -0.31 (E=1); K=5 at 1000 pc: M = -5.31
    t = Table(pd.DataFrame({"k_m": [10.0, 5.0, 5.0], "r_med_geo": [1000.0, 1000.0, np.nan], "ebmv_sfd": [1.0, 1.0, 0.0]}),
              {"r_med_geo": ColumnInfo("pc")})
    cut = AbsoluteMagnitudeCut(max_absolute_magnitude=-1.0)
    np.testing.assert_allclose(cut.absolute_magnitude(t)[:2], [-0.31, -5.31])
    assert cut.mask(t, None).tolist() == [False, True, False]


def test_cut4_uses_the_distance_unit():
    t = Table(pd.DataFrame({"k_m": [5.0], "d": [1.0], "ebmv_sfd": [0.0]}), {"d": ColumnInfo("kpc")})
    cut = AbsoluteMagnitudeCut(max_absolute_magnitude=0, distance_column="d")
    np.testing.assert_allclose(cut.absolute_magnitude(t), [-5.0])


def test_cut4_falls_back_to_parallax_and_says_so(tmp_path):
    t = Table(pd.DataFrame({"k_m": [5.0, 5.0], "parallax": [1.0, -0.5], "ebmv_sfd": [0.0, 0.0]}),
              {"parallax": ColumnInfo("mas")})
    ctx = RunContext(seed=0, show_progress=False)
    cut = AbsoluteMagnitudeCut(max_absolute_magnitude=-1.0)
    assert cut.mask(t, ctx).tolist() == [True, False]
    assert any("parallax" in w for w in ctx.warnings)
    with pytest.raises(StageError, match="r_med_geo"):
        AbsoluteMagnitudeCut(max_absolute_magnitude=-1.0, parallax_column=None).mask(t, ctx)


def test_cuts_name_missing_columns():
    t = _table(j_m=[10.0], k_m=[9.0])
    with pytest.raises(StageError, match="ebmv_sfd"):
        ExtinctionCorrectedColourCut().mask(t, None)


def test_cut4_needs_an_explicit_threshold():
    with pytest.raises(Exception, match="max_absolute_magnitude"):
        AbsoluteMagnitudeCut()


def test_cuts_are_chunk_pure():
    table = SymbioticMock(seed=1, n_giants=200, n_dwarfs=20, n_symbiotic=5, n_mira=2, n_yso=2).load(None)
    assert_chunk_pure(ExtinctionCorrectedColourCut(), table)
    assert_chunk_pure(AbsoluteMagnitudeCut(max_absolute_magnitude=-1.0), table)
