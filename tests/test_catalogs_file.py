"""catalogs.file: local tables of known objects in any format, degrees or sexagesimal."""

import numpy as np
import pytest
from astropy.table import Table as ATable

from toolkit.catalogs.local_file import FileCatalog
from toolkit.core import StageError


def test_fink_symbiotic_catalogue_all_rows_parsed(shared_data, ctx):
    cat = FileCatalog(path=shared_data / "symbiotic_stars_catalog_fink.csv")
    table = cat.load(ctx)
    assert len(table) == 738 and table.meta["dropped_no_position"] == 0
    assert np.isfinite(table.array("ra")).all() and np.isfinite(table.array("dec")).all()
    assert cat.short_name == "symbiotic_stars_catalog_fink"
    rows = table.data.set_index("name")
    # hand conversions: IC10 SySt-1 00 20 33.590 +59 18 45.900; omi Cet (Mira) 02 19 20.792 -02 58 39.496
    assert rows.loc["IC10 SySt-1", "ra"] == pytest.approx(15 * (20 / 60 + 33.590 / 3600), abs=1e-7)
    assert rows.loc["IC10 SySt-1", "dec"] == pytest.approx(59 + 18 / 60 + 45.900 / 3600, abs=1e-7)
    assert rows.loc["omi Cet", "ra"] == pytest.approx(34.8366333, abs=1e-6)
    assert rows.loc["omi Cet", "dec"] == pytest.approx(-(2 + 58 / 60 + 39.496 / 3600), abs=1e-7)
    assert rows.loc["Z And", "dec"] == pytest.approx(48 + 49 / 60 + 5.926 / 3600, abs=1e-7)
    # the other columns come along; "-" magnitudes are kept as they are
    assert {"Radius", "magnitude"} <= set(table.columns)
    assert table.meta["inputs"] and table.meta["epoch"] == 2000.0


def test_bad_sexagesimal_row_is_named_by_its_line(tmp_path, ctx):
    f = tmp_path / "known.csv"
    f.write_text("Name,RA(J2000),DEC(J2000)\n"
                 "A,00 20 33.590,+59 18 45.900\n"
                 "B,01 09 34.844,-08 00 33.098\n"
                 "C,12 3O 00.0,+10 00 00\n")
    with pytest.raises(StageError) as err:
        FileCatalog(path=f).load(ctx)
    msg = str(err.value)
    assert "line 4 of" in msg and "'12 3O 00.0'" in msg and "RA(J2000)" in msg


def test_bad_declination_row_named_in_a_fits_file(tmp_path, ctx):
    f = tmp_path / "known.fits"
    ATable({"ID": ["a", "b"], "RAJ2000": ["10 00 00", "11 00 00"], "DEJ2000": ["+10 00 00", "-95 00 00"]}
           ).write(f)
    with pytest.raises(StageError, match=r"row 2 of .*known.fits.*'-95 00 00'"):
        FileCatalog(path=f).load(ctx)


def test_catalogue_without_coordinates_lists_its_columns(tmp_path, ctx):
    f = tmp_path / "names_only.csv"
    f.write_text("Name,Vmag,SpType\nZ And,10.0,M4.5\n")
    with pytest.raises(StageError) as err:
        FileCatalog(path=f).load(ctx)
    assert "no sky coordinate columns" in str(err.value) and "Name, Vmag, SpType" in str(err.value)


def test_missing_file(tmp_path, ctx):
    with pytest.raises(StageError, match="does not exist"):
        FileCatalog(path=tmp_path / "nope.csv").load(ctx)


@pytest.mark.parametrize("suffix, fmt", [(".fits", "fits"), (".vot", "votable"), (".ecsv", "ascii.ecsv"),
                                         (".parquet", "parquet")])
def test_formats_and_degree_columns(tmp_path, ctx, suffix, fmt):
    f = tmp_path / f"cat{suffix}"
    ATable({"Star": ["a", "b", "c"], "ra": [10.5, 200.25, 359.9], "dec": [-30.0, 45.0, 89.5]}).write(f, format=fmt)
    table = FileCatalog(path=f, short_name="Mine 2024").load(ctx)
    np.testing.assert_allclose(table.array("ra"), [10.5, 200.25, 359.9])
    assert list(table.data["name"]) == ["a", "b", "c"]
    assert table.meta["short_name"] == "mine_2024"


def test_mapped_columns_and_missing_positions(tmp_path, ctx):
    f = tmp_path / "odd.csv"
    f.write_text("label,alpha_deg,delta_deg,ra\nx,10.0,20.0,junk\ny,,,junk\nz,30.0,-40.0,junk\n")
    table = FileCatalog(path=f, name_column="label", ra_column="alpha_deg", dec_column="delta_deg").load(ctx)
    assert list(table.data["name"]) == ["x", "z"]  # y has no position: left out and counted
    assert table.meta["dropped_no_position"] == 1
    with pytest.raises(StageError, match="dec_column 'decl' is not a column"):
        FileCatalog(path=f, ra_column="alpha_deg", dec_column="decl").load(ctx)


def test_no_name_column_numbers_the_rows(tmp_path, ctx):
    f = tmp_path / "anon.csv"
    f.write_text("ra,dec\n1.0,2.0\n3.0,4.0\n")
    table = FileCatalog(path=f).load(ctx)
    assert list(table.data["name"]) == ["anon#1", "anon#2"]
    assert any("no name column" in w for w in ctx.warnings)
