"""core.remote.tap_query against the fake TAP service: sync, async, cache, retries, offline errors."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from astropy.table import Table as ATable

from fake_tap import recorded
from toolkit.core import SourceUnavailable, StageError
from toolkit.core import remote
from toolkit.core.remote import adql_top, batches, cached_query_path, query_key, tap_query

LESSON = ("SELECT TOP 16 source_id, ra, dec, parallax, pmra, pmdec, radial_velocity, phot_g_mean_mag "
          "FROM gaiadr3.gaia_source WHERE parallax_over_error > 10 ORDER BY random_index")


@pytest.fixture
def quick_polls(monkeypatch):
    monkeypatch.setattr(remote, "POLL_FIRST_S", 0.01)


def test_sync_query_keeps_units_and_writes_cache(fake_tap):
    fake_tap.respond("gaia_source", recorded("gaia_lesson_sample.vot"))
    tab = tap_query(fake_tap.url, LESSON, label="test")
    assert len(tab) == 16
    assert tab["pmra"].unit == "mas / yr" and tab["parallax"].unit == "mas"
    assert tab["source_id"].dtype == np.int64
    assert [r.path for r in fake_tap.requests] == ["/tap/sync"]
    assert fake_tap.queries == [LESSON]
    path = cached_query_path(fake_tap.url, LESSON)
    assert tab.meta["tap_cache"] == str(path) and path.is_file()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["query"] == LESSON and sidecar["url"] == fake_tap.url and sidecar["rows"] == 16
    assert sidecar["mode"] == "sync" and "fetched_utc" in sidecar


def test_async_query_runs_the_uws_flow(fake_tap, quick_polls):
    fake_tap.respond("gaia_source", recorded("gaia_lesson_sample.vot"))
    fake_tap.async_polls_before_done = 2
    tab = tap_query(fake_tap.url, LESSON, label="test", async_=True, cache=False)
    assert len(tab) == 16 and tab["ra"].unit == "deg"
    paths = [(r.method, r.path) for r in fake_tap.requests]
    assert ("POST", "/tap/async") in paths and ("POST", "/tap/async/1/phase") in paths
    assert ("GET", "/tap/async/1/results/result") in paths
    assert paths[-1] == ("DELETE", "/tap/async/1") and fake_tap.jobs == {}
    assert fake_tap.calls("/tap/sync") == []
    assert fake_tap.queries == [LESSON]


def test_cache_hit_does_not_call_the_service_again(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    first = tap_query(fake_tap.url, LESSON, label="test")
    n = len(fake_tap.requests)
    second = tap_query(fake_tap.url + "/", LESSON + "\n", label="test")  # same query, cosmetic differences
    assert len(fake_tap.requests) == n
    assert second.meta["tap_from_cache"] and not first.meta["tap_from_cache"]
    assert np.array_equal(first["source_id"], second["source_id"])
    assert second["pmra"].unit == "mas / yr"
    tap_query(fake_tap.url, LESSON, label="test", cache=False)
    assert len(fake_tap.requests) == n + 1


def test_cache_key_depends_on_url_query_and_upload_content():
    up = {"ids": ATable({"source_id": np.array([1, 2, 3], dtype=np.int64)})}
    base = query_key("http://a/tap", "SELECT 1", up)
    assert base == query_key("http://a/tap/", "SELECT 1", {"ids": up["ids"].copy()})
    assert base != query_key("http://b/tap", "SELECT 1", up)
    assert base != query_key("http://a/tap", "SELECT 2", up)
    assert base != query_key("http://a/tap", "SELECT 1", {"ids": ATable({"source_id": np.array([1, 2, 4])})})
    assert base != query_key("http://a/tap", "SELECT 1")


def test_unreadable_cache_file_is_refetched(fake_tap, ctx):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    path = cached_query_path(fake_tap.url, LESSON)
    path.parent.mkdir(parents=True)
    path.write_text("not a votable")
    tab = tap_query(fake_tap.url, LESSON, label="test", ctx=ctx)
    assert len(tab) == 16 and len(fake_tap.requests) == 1
    assert any("unreadable" in w for w in ctx.warnings)


def test_retries_after_503_then_succeeds(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot")).fail_next(2, 503)
    tab = tap_query(fake_tap.url, LESSON, label="test", retries=3, backoff_s=0.01, cache=False)
    assert len(tab) == 16
    assert len(fake_tap.calls("/tap/sync")) == 3


def test_503_every_time_gives_up_after_the_retries(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot")).fail_next(10, 503)
    with pytest.raises(SourceUnavailable, match="HTTP 503") as err:
        tap_query(fake_tap.url, LESSON, label="gaia.archive", retries=2, backoff_s=0.01)
    assert len(fake_tap.calls("/tap/sync")) == 3
    assert "3 attempts" in str(err.value)


def test_404_is_not_retried(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot")).fail_next(1, 404)
    with pytest.raises(SourceUnavailable, match="HTTP 404"):
        tap_query(fake_tap.url, LESSON, label="test", retries=3, backoff_s=0.01)
    assert len(fake_tap.requests) == 1


def test_timeout_gives_source_unavailable_with_a_way_out(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    fake_tap.delay_s = 5.0
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable) as err:
        tap_query(fake_tap.url, LESSON, label="gaia.archive", timeout_s=0.3, retries=1, backoff_s=0.01)
    assert time.perf_counter() - t0 < 3.0          # bounded by the timeout, not the slow server
    msg = str(err.value)
    assert msg.startswith(f"gaia.archive: the TAP service at {fake_tap.url} timed out")
    assert "timeout 0.3 s" in msg and "2 attempts" in msg and "Read timed out" in msg
    assert cached_query_path(fake_tap.url, LESSON).name in msg      # the cache file to bring
    assert "table.file" in msg and "fallback" in msg


def test_connection_refused_gives_source_unavailable(refused_url):
    with pytest.raises(SourceUnavailable) as err:
        tap_query(refused_url, LESSON, label="symbiotic.skymapper", retries=1, backoff_s=0.01)
    msg = str(err.value)
    assert f"symbiotic.skymapper: the TAP service at {refused_url} could not be reached" in msg
    assert "Connection refused" in msg


def test_rejected_query_is_a_stage_error_and_not_retried(fake_tap):
    fake_tap.respond("gaia_source", recorded("gaia_lesson_sample.vot"))
    with pytest.raises(StageError, match="rejected the query") as err:
        tap_query(fake_tap.url, "SELECT * FROM no_such_table", label="test", retries=3, backoff_s=0.01)
    assert "no_such_table" in str(err.value)
    assert len(fake_tap.requests) == 1


def test_async_job_that_never_finishes_is_bounded(fake_tap, quick_polls):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    fake_tap.async_polls_before_done = 10_000
    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="async_wait_s"):
        tap_query(fake_tap.url, LESSON, label="test", async_=True, async_wait_s=0.3, retries=3, backoff_s=0.01)
    assert time.perf_counter() - t0 < 3.0
    assert any(r.params.get("PHASE") == "ABORT" for r in fake_tap.requests)


def test_upload_reaches_the_service(fake_tap):
    seen = {}

    def echo(query, uploads):
        seen.update(uploads)
        return ATable({"source_id": uploads["ids"]["source_id"], "twice": 2 * uploads["ids"]["source_id"]})

    fake_tap.respond("TAP_UPLOAD.ids", echo)
    ids = ATable({"source_id": np.array([5, 7, 11], dtype=np.int64)})
    tab = tap_query(fake_tap.url, "SELECT * FROM TAP_UPLOAD.ids", label="test", upload={"ids": ids})
    assert list(seen["ids"]["source_id"]) == [5, 7, 11]
    assert list(tab["twice"]) == [10, 14, 22]
    sidecar = json.loads(cached_query_path(fake_tap.url, "SELECT * FROM TAP_UPLOAD.ids",
                                           {"ids": ids}).with_suffix(".json").read_text())
    assert sidecar["uploads"]["ids"]["rows"] == 3


def test_bad_upload_value_is_explained():
    with pytest.raises(StageError, match="TAP upload 'ids'"):
        tap_query("http://127.0.0.1:1/tap", "SELECT 1", label="test", upload={"ids": [1, 2]})


def test_helpers():
    assert adql_top("select top 4096 ra from t") == 4096
    assert adql_top("SELECT DISTINCT TOP 5 ra FROM t") == 5
    assert adql_top("SELECT ra FROM t") is None
    assert batches(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert batches(0, 3) == []
    with pytest.raises(ValueError):
        batches(3, 0)


def test_cached_text_columns_come_back_as_text(fake_tap):
    fake_tap.respond(None, recorded("skymapper_dr2_sample.vot"))
    query = "SELECT TOP 8 * FROM dr2.master"
    fresh = tap_query(fake_tap.url, query, label="test")
    cached = tap_query(fake_tap.url, query, label="test")
    assert cached.meta["tap_from_cache"] and cached.meta["tap_cache"].endswith(".fits")
    assert cached["ph_qual"].dtype.kind == fresh["ph_qual"].dtype.kind == "U"
    assert list(cached["ph_qual"]) == ["AAA"] * 8
    assert cached["e_u_psf"].unit == "mag" and cached["e_u_psf"].description == fresh["e_u_psf"].description
    assert cached["object_id"].meta.get("ucd") == "meta.id;meta.main"


def test_unresolvable_host_is_not_retried():
    url = "http://archive.example.invalid/tap"      # .invalid never resolves (RFC 2606)
    with pytest.raises(SourceUnavailable) as err:
        tap_query(url, LESSON, label="gaia.archive", retries=3, backoff_s=5.0)
    msg = str(err.value)
    assert "host name does not resolve" in msg and "1 attempt," in msg
