"""hipparcos.hip2: the real bundled I/311 file, known stars, and files that are not I/311."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import RunContext, StageError, get_registry
from toolkit.plugins.hipparcos.layout import FIELDS, LINE_LENGTH, N_STARS_I311, column_name
from toolkit.plugins.hipparcos.source import Hip2Source, bundled_catalogue


@pytest.fixture(scope="module")
def hip2():
    ctx = RunContext(seed=1, show_progress=False)
    return Hip2Source().load(ctx), ctx


def star(table, hip):
    rows = table.data[table.data["source_id"] == hip]
    assert len(rows) == 1, f"HIP {hip} should be in the catalogue once"
    return rows.iloc[0]


def test_registered():
    assert get_registry().get("hipparcos.hip2").kind == "source"


def test_reads_every_record_of_the_bundled_catalogue(hip2):
    table, _ = hip2
    assert len(table) == N_STARS_I311 == 117_955
    assert table.id_column == "source_id"
    assert table.data["source_id"].is_unique
    assert (table.data["source_id"] == table.data["hip"]).all()
    for field in FIELDS:
        assert field.column in table.columns


def test_column_names_are_expression_friendly():
    assert column_name("B-V") == "b_v" and column_name("e_B-V") == "e_b_v" and column_name("V-I") == "v_i"
    assert all(f.column.isidentifier() for f in FIELDS)


def test_units_attached_and_degrees_derived(hip2):
    table, _ = hip2
    assert table.quantity("plx").unit == "mas"
    assert table.quantity("pmra").unit == "mas / yr"
    assert table.quantity("rarad").unit == "rad"
    assert table.quantity("hpmag").unit == "mag"
    assert table.info["ra"].unit == "deg" and table.info["dec"].unit == "deg"
    np.testing.assert_allclose(table.array("ra"), np.degrees(table.array("rarad")))
    assert table.array("ra").min() >= 0 and table.array("ra").max() < 360
    assert np.abs(table.array("dec")).max() <= 90


def test_barnards_star_matches_van_leeuwen_2007(hip2):
    """Barnard's star, HIP 87937: plx 548.31 +- 1.51 mas, pmdec 10328.12 mas/yr (I/311)."""
    table, _ = hip2
    b = star(table, 87937)
    assert b["plx"] == pytest.approx(548.31) and b["e_plx"] == pytest.approx(1.51)
    assert b["pmra"] == pytest.approx(-798.58) and b["pmde"] == pytest.approx(10328.12)
    assert b["ra"] == pytest.approx(269.452, abs=0.01) and b["dec"] == pytest.approx(4.668, abs=0.01)
    assert b["hpmag"] == pytest.approx(9.4901) and b["b_v"] == pytest.approx(1.570)


def test_other_known_stars(hip2):
    table, _ = hip2
    assert star(table, 24186)["plx"] == pytest.approx(255.66)       # Kapteyn's star
    assert star(table, 57939)["pmde"] == pytest.approx(-5813.62)    # Groombridge 1830
    assert star(table, 1)["uw15"] == pytest.approx(1.00)


def test_real_data_meta_and_nonpositive_parallaxes_counted(hip2):
    table, ctx = hip2
    assert table.is_mock is False
    (path, digest), = table.meta["inputs"].items()
    assert path == str(bundled_catalogue()) and len(digest) == 64
    n_bad = int((table.array("plx") <= 0).sum())
    assert n_bad == 4013  # I/311 has 4,013 non-positive parallaxes (the README's figure)
    assert table.meta["nonpositive_parallax"] == n_bad
    assert ctx.notes["run"]["nonpositive_parallax"] == n_bad


# -- files that are not I/311 -------------------------------------------------

def real_lines(n=5):
    with open(bundled_catalogue(), "rb") as f:
        return [f.readline().rstrip(b"\n") for _ in range(n)]


def write(tmp_path, lines, name="hip2.dat"):
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def load(path):
    return Hip2Source(path=path).load(RunContext(seed=1, show_progress=False))


def test_a_path_to_a_subset_reads(tmp_path):
    table = load(write(tmp_path, real_lines(5)))
    assert list(table.data["source_id"]) == [1, 2, 3, 4, 5]
    assert str(tmp_path / "hip2.dat") in table.meta["inputs"]


def test_crlf_line_ends_are_accepted(tmp_path):
    path = tmp_path / "crlf.dat"
    path.write_bytes(b"\r\n".join(real_lines(3)) + b"\r\n")
    assert len(load(path)) == 3


def test_short_line_is_named(tmp_path):
    lines = real_lines()
    lines[2] = lines[2][:200]
    with pytest.raises(StageError, match=r"line 3 .*200 characters, not 276"):
        load(write(tmp_path, lines))


def test_non_number_in_a_field_is_named(tmp_path):
    lines = real_lines()
    lines[3] = lines[3][:43] + b"  abc.d" + lines[3][50:]
    assert len(lines[3]) == LINE_LENGTH
    with pytest.raises(StageError, match=r"line 4 .*field Plx \(bytes 44-50\) holds '  abc.d'"):
        load(write(tmp_path, lines))


def test_shifted_columns_are_named(tmp_path):
    lines = real_lines()
    lines[1] = b"x" + lines[1][:-1]
    with pytest.raises(StageError, match=r"line 2 "):
        load(write(tmp_path, lines))


def test_missing_separator_is_named(tmp_path):
    lines = real_lines()
    lines[4] = lines[4][:6] + b"7" + lines[4][7:]
    with pytest.raises(StageError, match=r"line 5 .*byte 7 should be a blank"):
        load(write(tmp_path, lines))


def test_impossible_coordinate_is_named(tmp_path):
    lines = real_lines()
    lines[0] = lines[0][:15] + b" 9.0000000000" + lines[0][28:]
    with pytest.raises(StageError, match=r"line 1 .*RArad = 9.0 is outside"):
        load(write(tmp_path, lines))


def test_duplicate_hip_is_named(tmp_path):
    lines = real_lines(3)
    with pytest.raises(StageError, match=r"line 4 .*HIP 2 appears more than once"):
        load(write(tmp_path, lines + [lines[1]]))


def test_csv_and_empty_and_missing_files(tmp_path):
    with pytest.raises(StageError, match=r"line 1 .*not 276"):
        load(write(tmp_path, [b"HIP,Plx", b"1,4.55"], "hip.csv"))
    (tmp_path / "empty.dat").write_bytes(b"")
    with pytest.raises(StageError, match="empty"):
        load(tmp_path / "empty.dat")
    with pytest.raises(StageError, match="does not exist"):
        load(tmp_path / "nope.dat")


def test_nonpositive_parallaxes_are_kept_and_cut_without_a_crash(tmp_path):
    from toolkit.plugins.expr.expression import ExpressionCut

    lines = real_lines(6)
    lines[1] = lines[1][:43] + b"  -3.20" + lines[1][50:]
    lines[2] = lines[2][:43] + b"   0.00" + lines[2][50:]
    table = load(write(tmp_path, lines))
    assert len(table) == 6 and table.meta["nonpositive_parallax"] == 2
    keep = ExpressionCut(expr="plx > 0 and plx / e_plx > 1").mask(table, RunContext(show_progress=False))
    assert not keep[1] and not keep[2]


def test_unknown_colours_read_as_nan(hip2, tmp_path):
    table, _ = hip2
    assert table.meta["missing_colour"] == int(table.data["b_v"].isna().sum()) == 1143   # README: 1,143
    assert table.data.loc[table.data["b_v"].isna(), "v_i"].isna().all()
    lines = real_lines(3)
    lines[0] = lines[0][:152] + b" 0.000 0.000  0.000" + lines[0][171:]
    raw = Hip2Source(path=write(tmp_path, lines), missing_colour_as_nan=False).load(RunContext(show_progress=False))
    assert raw.data["b_v"].iloc[0] == 0 and raw.meta["missing_colour"] == 1
    assert np.isnan(load(tmp_path / "hip2.dat").data["b_v"].iloc[0])


def test_derived_solution_columns(hip2):
    table, _ = hip2
    d = table.data
    np.testing.assert_array_equal(d["solution_type"] * 1 + d["solution_flags"] * 10, d["sn"])
    assert set(d["solution_type"].unique()) <= {0, 1, 3, 5, 7, 9}
    assert (d["solution_type"] == 5).mean() > 0.95
    u = d["unit_weight_error"]
    assert 1.0 < u.median() < 1.1                     # a good fit has u near 1
    assert star(table, 74234)["unit_weight_error"] < 1 and star(table, 3829)["unit_weight_error"] > 1.6
