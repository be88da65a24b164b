"""symbiotic.extinction_column and symbiotic.extinction_mwdust: hand values, Zero map, missing map files, no downloads."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from toolkit.core import StageError, Table
from toolkit.core.table import ColumnInfo
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.symbiotic.dust_maps import MAP_FILES, missing_files
from toolkit.plugins.symbiotic.extinction import ExtinctionColumn, ExtinctionMwdust
from toolkit.plugins.symbiotic.mock import SymbioticMock


def _table():
    return Table(pd.DataFrame({"ra": [10.0, 200.0], "dec": [-30.0, -60.0], "r_med_geo": [1000.0, 2000.0],
                               "j_m": [10.0, 11.0], "k_m": [9.0, 9.5], "g_psf": [14.0, 15.0],
                               "ebmv_sfd": [0.5, 1.0]}), {"r_med_geo": ColumnInfo("pc")})


def test_column_hand_values():
    cols = ExtinctionColumn(colours={"jk_0": ["j_m", "k_m"]}).compute(_table(), None)
    np.testing.assert_allclose(cols.data["ebv"], [0.5, 1.0])
    np.testing.assert_allclose(cols.data["A_j_m"], [0.3615, 0.723])
    np.testing.assert_allclose(cols.data["j_m_0"], [10 - 0.3615, 11 - 0.723])
    np.testing.assert_allclose(cols.data["jk_0"], [1.0 - 0.413 * 0.5, 1.5 - 0.413])   # the seed's cut3 colour
    np.testing.assert_allclose(cols.data["A_g_psf"], [2.986 * 0.5, 2.986])
    assert "A_u_psf" not in cols            # columns absent from the table are skipped
    assert cols.info["jk_0"].unit == "mag"


def test_column_scale_and_custom_coefficients():
    cols = ExtinctionColumn(ebv_scale=0.86, coefficients={"k_m": 0.3}, colours={}, output_column="E").compute(_table(), None)
    np.testing.assert_allclose(cols.data["E"], [0.43, 0.86])
    np.testing.assert_allclose(cols.data["A_k_m"], [0.129, 0.258])


def test_column_errors_name_the_problem():
    with pytest.raises(StageError, match="ebv_x"):
        ExtinctionColumn(ebv_column="ebv_x").compute(_table(), None)
    with pytest.raises(StageError, match="no extinction coefficient"):
        ExtinctionColumn(coefficients={"j_m": 0.7}, colours={"jk_0": ["j_m", "k_m"]}).compute(_table(), None)
    with pytest.raises(StageError, match="h_m"):
        ExtinctionColumn(colours={"jh_0": ["j_m", "h_m"]}).compute(_table(), None)


def test_zero_map_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("DUST_DIR", str(tmp_path))
    cols = ExtinctionMwdust(map="Zero", colours={"jk_0": ["j_m", "k_m"]}).compute(_table(), None)
    np.testing.assert_array_equal(cols.data["ebv"], [0.0, 0.0])
    np.testing.assert_allclose(cols.data["jk_0"], [1.0, 1.5])


def test_extinction_features_are_chunk_pure(tmp_path, monkeypatch):
    monkeypatch.setenv("DUST_DIR", str(tmp_path))
    table = SymbioticMock(seed=1, n_giants=100, n_dwarfs=5, n_symbiotic=5, n_mira=2, n_yso=2).load(None)
    assert_chunk_pure(ExtinctionColumn(), table)
    assert_chunk_pure(ExtinctionMwdust(map="Zero"), table)


def test_missing_map_files_are_listed(tmp_path):
    assert missing_files("Zero", tmp_path) == []
    assert [p.name for p in missing_files("SFD", tmp_path)] == ["SFD_dust_4096_ngp.fits", "SFD_dust_4096_sgp.fits"]
    (tmp_path / "combined19").mkdir()
    (tmp_path / "combined19" / "combine19.h5").write_bytes(b"")
    assert missing_files("Combined19", tmp_path) == []
    assert set(MAP_FILES) >= {"SFD", "Combined19", "Green19", "Marshall06", "Zero"}


def test_unknown_map_name_is_a_recipe_error(tmp_path):
    from toolkit.core import RecipeError

    with pytest.raises(RecipeError, match="Combined19"):
        ExtinctionMwdust(map="Combined91", dust_dir=tmp_path).compute(_table(), None)


def _run(code: str, dust_dir) -> subprocess.CompletedProcess:
    env = {"DUST_DIR": str(dust_dir), "PATH": "/usr/bin:/bin", "HOME": str(dust_dir)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=60)


def test_missing_map_is_a_clear_error_before_mwdust_is_imported(tmp_path):
    """mwdust reads DUST_DIR once at import: a fresh process with an empty DUST_DIR."""
    result = _run("""
        import sys
        import pandas as pd
        from toolkit.core import StageError, Table
        from toolkit.plugins.symbiotic.extinction import ExtinctionMwdust
        t = Table(pd.DataFrame({"ra": [1.0], "dec": [-20.0], "r_med_geo": [1000.0], "j_m": [10.0], "k_m": [9.0]}))
        try:
            ExtinctionMwdust(map="Combined19").compute(t, None)
        except StageError as exc:
            print("ERROR:", exc)
        print("imported:", "mwdust" in sys.modules)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path}/combined19/combine19.h5" in result.stdout
    assert "mwdust.Combined19()" in result.stdout and "Zero" in result.stdout
    assert "imported: False" in result.stdout
    assert not (tmp_path / "combined19").exists()       # nothing created, nothing downloaded


@pytest.mark.slow
def test_mwdust_folder_is_fixed_at_import_and_downloads_are_refused(tmp_path):
    """One fresh process (importing mwdust is slow): a second folder is refused, downloads are refused."""
    other = tmp_path / "other"
    (other / "maps").mkdir(parents=True)
    for name in MAP_FILES["SFD"]:
        (other / name).write_bytes(b"")
    result = _run(f"""
        import sys
        import mwdust
        from toolkit.core import StageError
        from toolkit.plugins.symbiotic.dust_maps import _no_downloads, load_map
        try:
            load_map("SFD", "{other}")
        except StageError as exc:
            print("ERROR:", exc)
        with _no_downloads(["mwdust.SFD"]):
            try:
                mwdust.SFD.download()
            except StageError as exc:
                print("REFUSED:", exc)
        print("restored:", sys.modules["mwdust.SFD"].downloader.__module__)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "already imported with DUST_DIR" in result.stdout and "reads the folder only once" in result.stdout
    assert "REFUSED: mwdust tried to download SFD (NGP)" in result.stdout
    assert "restored: mwdust.util.download" in result.stdout
