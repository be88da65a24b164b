"""gaia.bailer_jones: TAP upload of the rows' source ids in batches, joined to recorded distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table as ATable
from pydantic import ValidationError

from fake_tap import recorded
from toolkit.core import SourceUnavailable, StageError, Table
from toolkit.core.testing import assert_chunk_pure
from toolkit.plugins.gaia.bailer_jones import BailerJonesDistance, usable_ids

EDR3 = recorded("bailer_jones_edr3_sample.vot")
DR2 = recorded("bailer_jones_dr2_sample.vot")


def archive(catalogue_file):
    """Like the archive: the catalogue rows whose source_id was uploaded, columns renamed as the query asks."""
    def answer(query, uploads):
        cat = ATable.read(catalogue_file)
        keep = np.isin(cat["source_id"], np.asarray(uploads["ids"]["source_id"]))
        out = cat[keep]
        for part in query.split("SELECT ", 1)[1].split("\nFROM", 1)[0].split(", "):
            if " AS " in part:
                theirs, ours = part.replace("d.", "").split(" AS ")
                if theirs != ours:
                    out.rename_column(theirs, ours)
        return out
    return answer


def star_table(n_known=7):
    cat = ATable.read(EDR3)
    known = [int(x) for x in cat["source_id"][:n_known]]
    ids = known[:3] + [None] + known[3:5] + [known[0]] + [123456789] + known[5:] + [-1]
    frame = pd.DataFrame({"source_id": pd.array(ids, dtype=object), "g": np.arange(len(ids), dtype=float)})
    return Table(frame, id_column="row_id"), cat


def test_upload_batches_and_values(fake_tap, ctx):
    fake_tap.respond("external.gaiaedr3_distance", archive(EDR3))
    table, cat = star_table()
    cols = BailerJonesDistance(url=fake_tap.url, batch_size=3).compute(table, ctx)
    uploads = [r.uploads["ids"] for r in fake_tap.requests if r.uploads]
    # 8 distinct usable ids (7 known + 1 unknown) -> batches of 3, 3, 2; no None / -1 uploaded
    assert [len(u) for u in uploads] == [3, 3, 2]
    sent = sorted(np.concatenate([np.asarray(u["source_id"]) for u in uploads]).tolist())
    assert sent == sorted({i for i in table.data["source_id"] if i is not None and i > 0})
    assert "JOIN TAP_UPLOAD.ids AS u ON d.source_id = u.source_id" in fake_tap.queries[0]
    by_id = {int(s): float(r) for s, r in zip(cat["source_id"], cat["r_med_geo"])}
    expected = [by_id.get(i, np.nan) if i is not None and i > 0 else np.nan for i in table.data["source_id"]]
    np.testing.assert_allclose(cols.data["r_med_geo"], expected, rtol=1e-6, equal_nan=True)
    r = cols.data
    ok = np.isfinite(r["r_med_geo"])
    assert ok.sum() == 8 and (r["r_lo_geo"][ok] < r["r_med_geo"][ok]).all() and (r["r_hi_geo"][ok] > r["r_med_geo"][ok]).all()
    assert np.isnan(r["r_med_geo"][[3, 7, 10]]).all()    # no id, an id the catalogue lacks, a negative id
    assert cols.info["r_med_geo"].unit == "pc" and "external.gaiaedr3_distance" in cols.info["r_hi_geo"].description
    assert ctx.notes["run"]["bailer_jones"]["with_distance"] == 8 and ctx.notes["run"]["bailer_jones"]["batches"] == 3


def test_dr2_catalogue_maps_the_2018_column_names(fake_tap):
    fake_tap.respond("external.gaiadr2_geometric_distance", archive(DR2))
    cat = ATable.read(DR2)
    table = Table(pd.DataFrame({"gaia_dr2_id1": np.asarray(cat["source_id"][:5])}))
    cols = BailerJonesDistance(url=fake_tap.url, catalogue="dr2", source_id_column="gaia_dr2_id1").compute(table, None)
    assert "d.r_est AS r_med_geo" in fake_tap.queries[0]
    np.testing.assert_allclose(cols.data["r_med_geo"], np.asarray(cat["r_est"][:5], float), rtol=1e-6)
    np.testing.assert_allclose(cols.data["r_hi_geo"], np.asarray(cat["r_hi"][:5], float), rtol=1e-6)


def test_async_upload_and_cache(fake_tap):
    fake_tap.respond(None, archive(EDR3))
    table, _ = star_table()
    first = BailerJonesDistance(url=fake_tap.url, async_=True).compute(table, None)
    assert fake_tap.calls("/tap/async") and not fake_tap.calls("/tap/sync")
    assert len(fake_tap.calls("/tap/async")[0].uploads["ids"]) == 8
    n = len(fake_tap.requests)
    second = BailerJonesDistance(url=fake_tap.url, async_=True).compute(table, None)
    assert len(fake_tap.requests) == n      # cached
    np.testing.assert_array_equal(first.data["r_med_geo"], second.data["r_med_geo"])


def test_chunk_pure(fake_tap):
    fake_tap.respond(None, archive(EDR3))
    table, _ = star_table()
    assert_chunk_pure(BailerJonesDistance(url=fake_tap.url, batch_size=2), table, n_chunks=3)


def test_missing_column_and_bad_config():
    table = Table(pd.DataFrame({"gaia_id": [1, 2]}))
    with pytest.raises(StageError, match="source_id"):
        BailerJonesDistance(url="http://127.0.0.1:1/tap").compute(table, None)
    with pytest.raises(ValidationError, match="r_med_geo"):
        BailerJonesDistance(table="my.table", columns={"r_med_geo": "r"})


def test_offline_says_how_to_proceed(refused_url):
    table = Table(pd.DataFrame({"source_id": np.array([5, 6], dtype=np.int64)}))
    with pytest.raises(SourceUnavailable) as err:
        BailerJonesDistance(url=refused_url, retries=0).compute(table, None)
    msg = str(err.value)
    assert "could not be reached" in msg and "external.gaiaedr3_distance" in msg and "gaia.distance" in msg


def test_no_ids_means_no_query(fake_tap):
    table = Table(pd.DataFrame({"source_id": [None, None]}, dtype=object))
    cols = BailerJonesDistance(url=fake_tap.url).compute(table, None)
    assert np.isnan(cols.data["r_med_geo"]).all() and fake_tap.requests == []


def test_usable_ids_keeps_64_bit_ids_exact():
    big = 6917528997577384320   # above 2**53
    out = usable_ids(np.array([big, None, "12", -3, float("nan")], dtype=object))
    assert out.tolist() == [big, 0, 12, 0, 0]
