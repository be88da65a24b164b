"""Labels: saved at once and atomically, last write wins per id, damaged files kept aside, exports."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.core import ToolkitError
from toolkit.plugins.review.labels import LABELS_FILE, LabelStore, read_labels


def test_labels_are_saved_at_once_and_reread_by_a_new_store(tmp_path):
    store = LabelStore(tmp_path)
    store.set(11, "interesting", "odd velocity", "ae")
    store.set("12", "boring")
    again = LabelStore(tmp_path)                       # a restarted server
    df = again.snapshot().set_index("id")
    assert df.loc[11, "label"] == "interesting" and df.loc[11, "note"] == "odd velocity"
    assert df.loc[11, "detector"] == "ae" and df.loc[12, "label"] == "boring"
    assert not list(tmp_path.glob(".labels.parquet*"))  # no temporary file left behind


def test_last_write_wins_per_id_and_other_rows_are_kept(tmp_path):
    tab1, tab2 = LabelStore(tmp_path), LabelStore(tmp_path)   # two tabs / two writers on one folder
    tab1.set(1, "interesting")
    tab1.set(2, "boring")
    tab2.set(3, "artefact")
    tab2.set(1, "known", "seen in SIMBAD")                     # same star, later
    tab1.set(4, "skip")
    df = LabelStore(tmp_path).snapshot().set_index("id")
    assert sorted(df.index) == [1, 2, 3, 4]
    assert df.loc[1, "label"] == "known" and df.loc[1, "note"] == "seen in SIMBAD"
    assert df.loc[2, "label"] == "boring" and df.loc[3, "label"] == "artefact"


def test_a_damaged_labels_file_is_moved_aside_and_named(tmp_path):
    bad = tmp_path / LABELS_FILE
    bad.write_bytes(b"this is not parquet")
    store = LabelStore(tmp_path)
    aside = list(tmp_path.glob("labels.damaged-*.parquet"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"this is not parquet"
    assert str(bad) in store.notice and str(aside[0]) in store.notice
    store.set(5, "interesting")                                # new labels never touch the damaged copy
    assert aside[0].read_bytes() == b"this is not parquet"
    assert LabelStore(tmp_path).snapshot()["id"].tolist() == [5]


def test_a_labels_file_with_wrong_columns_is_also_kept_aside(tmp_path):
    pd.DataFrame({"star": [1], "verdict": ["nice"]}).to_parquet(tmp_path / LABELS_FILE)
    store = LabelStore(tmp_path)
    assert "missing column(s) id, label" in store.notice
    assert len(list(tmp_path.glob("labels.damaged-*.parquet"))) == 1


def test_unknown_label_and_bad_id_are_refused(tmp_path):
    store = LabelStore(tmp_path)
    with pytest.raises(ToolkitError, match="unknown label 'great'"):
        store.set(1, "great")
    with pytest.raises(ToolkitError, match="not an integer id"):
        store.set("abc", "boring")
    assert not (tmp_path / LABELS_FILE).exists()


@pytest.mark.parametrize("fmt", ["csv", "ecsv"])
def test_export_round_trips(tmp_path, fmt):
    store = LabelStore(tmp_path)
    store.set(7, "interesting", "a note, with a comma")
    store.set(8, "artefact")
    path = tmp_path / f"labels.{fmt}"
    path.write_bytes(store.export(fmt))
    df = read_labels(path).set_index("id")
    assert df.loc[7, "label"] == "interesting" and df.loc[7, "note"] == "a note, with a comma"
    assert df.loc[8, "label"] == "artefact"
    if fmt == "ecsv":
        assert "description" in path.read_text()


def test_read_labels_names_the_file_and_the_fault(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("id,label\n1,wow\n")
    with pytest.raises(ToolkitError, match=r"mine\.csv: unknown label\(s\) 'wow'"):
        read_labels(path)
    with pytest.raises(ToolkitError, match="holds no labels.parquet"):
        read_labels(tmp_path)


def test_the_page_files_ship_as_package_data():
    """pyproject lists the review package and its static files (else a wheel has no page)."""
    import tomllib
    from pathlib import Path

    from toolkit.plugins.review.server import STATIC, STATIC_NAMES

    conf = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "toolkit.plugins.review" in conf["tool"]["setuptools"]["packages"]
    assert conf["tool"]["setuptools"]["package-data"]["toolkit.plugins.review"] == ["static/*"]
    assert all((STATIC / name).is_file() for name in STATIC_NAMES)
