"""gaia.archive in pages for streamed runs: the same rows as the one query, each page cached, clear failures."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import StageError
from toolkit.plugins.gaia.archive import GaiaArchive
from toolkit.plugins.gaia.paging import literal, split_query

QUERY = """SELECT TOP 2000 source_id, ra, dec, parallax, pmra
FROM gaiadr3.gaia_source
WHERE parallax > 10 AND
  parallax_over_error > 10
ORDER BY random_index"""


def archive_rows(n=3000, seed=0):
    """What the fake archive holds: unique source_id and random_index, in source_id order, with units."""
    import astropy.units as u
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    t = Table()
    t["source_id"] = np.sort(rng.choice(2**50, n, replace=False)).astype(np.int64)
    t["random_index"] = rng.permutation(n).astype(np.int64)
    t["ra"] = rng.uniform(0, 360, n) * u.deg
    t["dec"] = rng.uniform(-90, 90, n) * u.deg
    t["parallax"] = rng.uniform(5, 60, n) * u.mas
    t["parallax_over_error"] = rng.uniform(5, 100, n)
    t["pmra"] = rng.normal(0, 50, n) * u.mas / u.yr
    return t


def chunks(src, ctx, rows):
    return list(src.iter_chunks(ctx, rows))


def test_pages_give_the_rows_of_the_one_query(fake_tap, ctx):
    fake_tap.serve("gaia_source", archive_rows())
    whole = GaiaArchive(query=QUERY, url=fake_tap.url).load(None)
    assert len(whole) == 2000 and len(fake_tap.queries) == 1
    fake_tap.requests.clear()
    parts = chunks(GaiaArchive(query=QUERY, url=fake_tap.url, page_rows=600), ctx, 900)
    pages = fake_tap.queries
    assert len(pages) == 4                              # 600 + 600 + 600 + 200: the query's TOP ends it
    assert all(q.startswith("SELECT TOP") and "ORDER BY random_index" in q for q in pages)
    assert "random_index >" not in pages[0] and "random_index > " in pages[1]
    assert [len(p) for p in parts] == [900, 900, 200]
    joined = np.concatenate([p.data["source_id"].to_numpy() for p in parts])
    np.testing.assert_array_equal(joined, whole.data["source_id"].to_numpy())
    assert list(parts[0].columns) == list(whole.columns)          # the paging key is not added to the rows
    assert parts[0].info["parallax"].unit == "mas" and parts[0].id_column == "source_id"
    note = ctx.notes["run"]["query"]
    assert note["paged_on"] == "random_index" and [p["rows"] for p in note["pages"]] == [600, 600, 600, 200]
    assert note["rows"] == 2000 and not note["from_cache"]
    # every page is a cached query of its own: a second streamed read asks the service nothing
    fake_tap.requests.clear()
    again = chunks(GaiaArchive(query=QUERY, url=fake_tap.url, page_rows=600), ctx, 900)
    assert not fake_tap.requests and ctx.notes["run"]["query"]["from_cache"]
    np.testing.assert_array_equal(np.concatenate([p.data["source_id"] for p in again]), joined)


def test_without_top_paging_stops_at_a_short_page(fake_tap, ctx):
    rows = archive_rows(1500)
    fake_tap.serve("gaia_source", rows)
    src = GaiaArchive(columns=["source_id", "ra", "parallax"], where=["parallax > 30"], url=fake_tap.url,
                      page_rows=250)                    # no ORDER BY: pages follow the id column
    parts = chunks(src, ctx, 10_000)
    expected = np.sort(np.asarray(rows["source_id"][np.asarray(rows["parallax"]) > 30]))
    np.testing.assert_array_equal(parts[0].data["source_id"].to_numpy(), expected)
    assert len(fake_tap.queries) == -(-len(expected) // 250) + (len(expected) % 250 == 0)
    assert all("ORDER BY source_id" in q for q in fake_tap.queries)


def test_a_page_the_service_cut_is_followed_by_the_next(fake_tap, ctx, monkeypatch):
    """MAXREC overflow: a short page marked as cut is not the end (the next page starts after its last key)."""
    import toolkit.plugins.gaia.archive as archive

    real = archive.tap_query

    def cut_at_250(url, adql, **kw):
        tab = real(url, adql, **kw)
        if len(tab) > 250:
            tab = tab[:250]
            tab.meta["tap_overflow"] = True
        return tab

    monkeypatch.setattr(archive, "tap_query", cut_at_250)
    fake_tap.serve("gaia_source", archive_rows())
    parts = chunks(GaiaArchive(query=QUERY, url=fake_tap.url, page_rows=600, cache=False), ctx, 5000)
    assert len(parts[0]) == 2000 and len(fake_tap.queries) == 8
    monkeypatch.setattr(archive, "tap_query", real)
    whole = GaiaArchive(query=QUERY, url=fake_tap.url, cache=False).load(None)
    np.testing.assert_array_equal(parts[0].data["source_id"], whole.data["source_id"])


def test_the_archive_failing_mid_way_is_a_clear_error(fake_tap, ctx):
    fake_tap.serve("gaia_source", archive_rows())
    it = GaiaArchive(query=QUERY, url=fake_tap.url, page_rows=600, retries=0, backoff_s=0.01).iter_chunks(ctx, 600)
    assert len(next(it)) == 600
    fake_tap.fail_next(5, status=503)
    with pytest.raises(StageError, match=r"stopped answering at page 2, after 600 rows.*cached: run again"):
        next(it)


def test_queries_that_cannot_be_paged_are_fetched_once(fake_tap, ctx):
    fake_tap.serve("gaia_source", archive_rows())
    q = "SELECT TOP 100 source_id, ra FROM gaiadr3.gaia_source ORDER BY parallax"
    with pytest.raises(StageError, match="cannot page the query on 'source_id'.*orders by parallax"):
        chunks(GaiaArchive(query=q, url=fake_tap.url, page_rows=30, page_by="source_id"), ctx, 40)
    # ordered by a column that may hold ties: fetched once (cached), then chunked; the manifest says why
    parts = chunks(GaiaArchive(query=q, url=fake_tap.url, page_rows=30), ctx, 40)
    assert [len(p) for p in parts] == [40, 40, 20] and len(fake_tap.queries) == 1
    assert "not known to be unique" in ctx.notes["run"]["paging"]["why"]
    # naming it as page_by says it is unique: then it pages
    fake_tap.requests.clear()
    parts = chunks(GaiaArchive(query=q, url=fake_tap.url, page_rows=30, page_by="parallax"), ctx, 40)
    assert [len(p) for p in parts] == [40, 40, 20] and len(fake_tap.queries) == 4
    q2 = "SELECT TOP 100 g.source_id, g.ra FROM gaiadr3.gaia_source AS g JOIN x AS y ON g.a = y.a"
    assert split_query(q2, None, "source_id")[0] is None
    parts = chunks(GaiaArchive(query=QUERY, url=fake_tap.url, page_rows=None), ctx, 1500)
    assert [len(p) for p in parts] == [1500, 500] and ctx.notes["run"]["paging"]["why"] == "page_rows is null"


def test_split_query_reads_the_shapes_the_recipes_write():
    p, why = split_query("SELECT TOP 5 g.source_id, g.ra FROM gaiadr3.gaia_source AS g WHERE g.ra > 1 "
                         "ORDER BY g.random_index DESC", None, "source_id")
    assert p is not None and p.key == "g.random_index" and p.descending and p.top == 5 and not p.key_selected
    page = p.page(2, after=17)
    assert page.splitlines() == ["SELECT TOP 2 g.source_id, g.ra, g.random_index",
                                 "FROM gaiadr3.gaia_source AS g", "WHERE (g.ra > 1) AND g.random_index < 17",
                                 "ORDER BY g.random_index DESC"]
    for bad in ("SELECT source_id, ra*2 FROM t", "SELECT * FROM t", "SELECT a FROM t GROUP BY a",
                "SELECT DISTINCT a FROM t", "SELECT a FROM t WHERE a IN (SELECT b FROM u)"):
        assert split_query(bad, None, "a")[0] is None, bad
    assert literal(np.int64(2**60)) == str(2**60) and literal("O'Brien") == "'O''Brien'"
    assert float(literal(0.1 + 0.2)) == 0.1 + 0.2
