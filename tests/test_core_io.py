"""core.io.read_table: the format comes from the suffix, and a failure names file and format."""

import pytest

from toolkit.core import StageError
from toolkit.core.io import READ_FORMATS, read_table


@pytest.mark.parametrize("suffix,fmt", [(".fits", "fits"), (".fits.gz", "fits"), (".vot", "votable"),
                                        (".xml", "votable"), (".parquet", "parquet")])
def test_unreadable_file_is_named_with_the_format_its_suffix_implies(tmp_path, suffix, fmt):
    assert READ_FORMATS[suffix] == fmt
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"\x00not a table\x00")
    with pytest.raises(StageError, match=f"cannot read '.*broken{suffix}' as {fmt}:"):
        read_table(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(StageError, match="does not exist"):
        read_table(tmp_path / "nope.fits")
