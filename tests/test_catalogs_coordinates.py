"""Coordinate column detection and sexagesimal parsing for catalogues and tables."""

import numpy as np
import pytest

from toolkit.catalogs.coordinates import (angles_to_degrees, ascii_line_numbers, detect_position_columns,
                                          parse_angle_string, split_to_degrees)
from toolkit.core import StageError


@pytest.mark.parametrize("text, axis, expected", [
    ("00 20 33.590", "ra", 15 * (20 / 60 + 33.590 / 3600)),
    ("02:19:20.792", "ra", 15 * (2 + 19 / 60 + 20.792 / 3600)),
    ("12h30m15s", "ra", 15 * (12 + 30 / 60 + 15 / 3600)),
    ("21 51 01.97", "ra", 15 * (21 + 51 / 60 + 1.97 / 3600)),
    ("05 30.5", "ra", 15 * (5 + 30.5 / 60)),
    ("+59 18 45.900", "dec", 59 + 18 / 60 + 45.9 / 3600),
    ("-02 58 39.496", "dec", -(2 + 58 / 60 + 39.496 / 3600)),
    ("-00:30:00", "dec", -0.5),
    ("-12d30m", "dec", -12.5),
    ("123.456", "ra", 123.456),     # decimal strings are degrees
    ("-45.5", "dec", -45.5),
])
def test_parse_angle_string(text, axis, expected):
    assert parse_angle_string(text, axis) == pytest.approx(expected, abs=1e-9)


def test_sexagesimal_ra_in_degrees_when_the_unit_says_so():
    assert parse_angle_string("120 30 00", "ra", unit_hint="degrees") == pytest.approx(120.5)
    assert parse_angle_string("10.0", "ra", unit_hint="hours") == pytest.approx(150.0)


@pytest.mark.parametrize("text, why", [
    ("25 00 00", "below 24"),
    ("12 61 00", "below 60"),
    ("12:30:6O", "not a decimal angle"),
    ("-01 00 00", "cannot be negative"),
])
def test_bad_ra_strings(text, why):
    with pytest.raises(ValueError, match=why):
        parse_angle_string(text, "ra")


def test_bad_dec_beyond_pole():
    with pytest.raises(ValueError, match="beyond"):
        parse_angle_string("+91 00 00", "dec")


def test_column_parsing_names_the_row_and_value():
    values = np.array(["00 20 33.59", "01 00 00", "1O:00:00", "02 00 00"], dtype=object)
    with pytest.raises(StageError) as err:
        angles_to_degrees(values, "ra", column="RA(J2000)", where="cat.csv", row_label=lambda i: f"line {i + 2}")
    msg = str(err.value)
    assert "line 4" in msg and "'1O:00:00'" in msg and "RA(J2000)" in msg


def test_missing_values_become_nan():
    values = np.array(["00 20 33.59", "-", "", None], dtype=object)
    out = angles_to_degrees(values, "ra")
    assert np.isfinite(out[0]) and np.isnan(out[1:]).all()


def test_numeric_columns_with_units():
    assert angles_to_degrees(np.array([1.0]), "ra", unit="h")[0] == pytest.approx(15.0)
    assert angles_to_degrees(np.array([np.pi]), "ra", unit="rad")[0] == pytest.approx(180.0)
    with pytest.raises(StageError, match="outside"):
        angles_to_degrees(np.array([10.0, 95.0]), "dec", column="dec")
    with pytest.raises(StageError, match="not an angle"):
        angles_to_degrees(np.array([1.0]), "ra", unit="km", column="ra")


@pytest.mark.parametrize("columns, ra, dec", [
    (["Name", "RA(J2000)", "DEC(J2000)", "Radius"], "RA(J2000)", "DEC(J2000)"),
    (["source_id", "ra", "dec", "parallax"], "ra", "dec"),
    (["Star", "RAJ2000", "DEJ2000", "_RAJ2000", "_DEJ2000"], "_RAJ2000", "_DEJ2000"),  # degrees preferred
    (["ID", "_RA", "_DE"], "_RA", "_DE"),
    (["obj", "RA_ICRS", "DE_ICRS"], "RA_ICRS", "DE_ICRS"),
])
def test_detect_position_columns(columns, ra, dec):
    numeric = {"_RAJ2000", "_DEJ2000", "ra", "dec", "_RA", "_DE", "RA_ICRS", "DE_ICRS"}
    cols = detect_position_columns(columns, lambda c: c in numeric)
    assert (cols.ra, cols.dec) == (ra, dec)
    assert cols.name is not None


def test_no_coordinates_lists_the_columns():
    with pytest.raises(StageError) as err:
        detect_position_columns(["Name", "Vmag", "Kmag"], lambda c: False, where="refs.csv")
    msg = str(err.value)
    assert "no sky coordinate columns" in msg and "Name, Vmag, Kmag" in msg and "ra_column" in msg


def test_mapped_column_must_exist():
    with pytest.raises(StageError, match="ra_column 'alpha_deg' is not a column"):
        detect_position_columns(["a", "b"], lambda c: True, ra="alpha_deg", dec="b")


def test_vizier_split_columns():
    cols = detect_position_columns(["Name", "RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs"], lambda c: True)
    assert cols.split is not None and cols.ra is None
    data = {"RAh": np.array([2, 23]), "RAm": np.array([19, 33]), "RAs": np.array([20.792, 39.953]),
            "DE-": np.array(["-", "+"]), "DEd": np.array([2, 48]), "DEm": np.array([58, 49]),
            "DEs": np.array([39.496, 5.926])}
    ra, dec = split_to_degrees(data.__getitem__, cols.split)
    assert ra[0] == pytest.approx(34.8366333, abs=1e-6) and dec[0] == pytest.approx(-2.9776378, abs=1e-6)
    assert dec[1] > 0


def test_ascii_line_numbers_skip_comments_and_blanks(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("# comment\nName,ra,dec\nA,1,2\n\nB,3,4\n")
    assert ascii_line_numbers(f, 2) == [3, 5]
