"""skymapper.tap query building and recorded response; per-epoch photometry by TAP upload in batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table as ATable
from pydantic import ValidationError

from fake_tap import recorded
from toolkit.core import SourceUnavailable, StageError
from toolkit.plugins.symbiotic.skymapper import SkyMapperTap, default_columns, fetch_epochs

SEED_SELECTION = """\
FROM dr2.master AS m
JOIN ext.twomass_psc AS t ON m.twomass_key = t.pts_key
JOIN ext.gaia_dr2 AS g ON m.gaia_dr2_id1 = g.source_id
JOIN ext.allwise AS w ON m.allwise_cntr = w.cntr
WHERE m.twomass_dist < 2.0
  AND m.gaia_dr2_dist1 < 2.0
  AND m.allwise_dist < 3.0
  AND m.prox > 6.0
  AND t.ph_qual = 'AAA'
  AND t.gal_contam = 0
  AND t.ext_key IS NULL
  AND t.cc_flg = '000'
  AND m.class_star > 0.9
  AND m.flags_psf = 0
  AND m.u_ngood > 0
  AND m.v_ngood > 0
  AND m.g_ngood > 0
  AND m.nch_max = 1
  AND (t.j_m - t.k_m) > 0.85
  AND t.j_m < 14.0
  AND g.parallax > 0.0
  AND g.parallax < 100.0"""


def test_default_query_is_the_seed_selection():
    adql = SkyMapperTap().adql()
    head, rest = adql.split("\n", 1)
    assert head == "SELECT " + ", ".join(default_columns("dr2"))
    assert rest == SEED_SELECTION
    for col in ("m.u_psf", "m.e_z_psf", "t.j_m", "t.ph_qual", "g.parallax", "w.w2mpro", "m.ebmv_sfd"):
        assert col in head


def test_query_follows_recipe_values():
    adql = SkyMapperTap(release="dr4", top=500, twomass_radius_arcsec=1.5, gaia_radius_arcsec=1.0,
                        allwise_radius_arcsec=2.5, min_neighbour_arcsec=None, ph_qual="AAB", twomass_clean=False,
                        min_class_star=0.8, clean_psf_flags=False, max_flags=3, require_bands=["u"],
                        single_child=False, min_j_minus_k=1.0, max_j=13.0, parallax_range_mas=(0.5, 50),
                        extra_where=["m.ebmv_sfd < 1.5"], columns=["m.object_id", "t.j_m"]).adql()
    assert adql == """\
SELECT TOP 500 m.object_id, t.j_m
FROM dr4.master AS m
JOIN ext.twomass_psc AS t ON m.twomass_key = t.pts_key
JOIN ext.gaia_dr3 AS g ON m.gaia_dr3_id1 = g.source_id
JOIN ext.allwise AS w ON m.allwise_cntr = w.cntr
WHERE m.twomass_dist < 1.5
  AND m.gaia_dr3_dist1 < 1.0
  AND m.allwise_dist < 2.5
  AND t.ph_qual = 'AAB'
  AND m.class_star > 0.8
  AND m.flags <= 3
  AND m.u_ngood > 0
  AND (t.j_m - t.k_m) > 1.0
  AND t.j_m < 13.0
  AND g.parallax > 0.5
  AND g.parallax < 50.0
  AND (m.ebmv_sfd < 1.5)"""


def test_bad_parameters_are_refused():
    with pytest.raises(ValidationError, match="ph_qual"):
        SkyMapperTap(ph_qual="AA' OR 1=1 --")
    with pytest.raises(ValidationError, match="low must be below high"):
        SkyMapperTap(parallax_range_mas=(100, 0))
    with pytest.raises(ValidationError):
        SkyMapperTap(require_bands=["q"])


def test_loads_recorded_response(fake_tap, ctx):
    fake_tap.respond("dr2.master", recorded("skymapper_dr2_sample.vot"))
    table = SkyMapperTap(url=fake_tap.url).load(ctx)
    assert fake_tap.queries == [SkyMapperTap().adql()]
    assert len(table) == 8 and table.id_column == "object_id" and not table.is_mock
    assert table.info["u_psf"].unit == "mag" and table.info["parallax"].unit == "mas"
    assert table.info["twomass_dist"].unit == "arcsec"
    assert set(table.data["ph_qual"]) == {"AAA"}
    jk = table.array("j_m") - table.array("k_m")
    assert (jk > 0.85).all() and (table.array("j_m") < 14).all()
    # no TOP: an async job
    assert fake_tap.calls("/tap/async") and not fake_tap.calls("/tap/sync")


def test_rename_maps_columns(fake_tap):
    fake_tap.respond(None, recorded("skymapper_dr2_sample.vot"))
    table = SkyMapperTap(url=fake_tap.url, rename={"raj2000": "ra", "dej2000": "dec"}).load(None)
    assert {"ra", "dec"} <= set(table.columns) and table.info["ra"].unit == "deg"
    with pytest.raises(StageError, match="not_there"):
        SkyMapperTap(url=fake_tap.url, rename={"not_there": "x"}).load(None)


def test_offline_source_unavailable(refused_url):
    with pytest.raises(SourceUnavailable, match="skymapper.tap: the TAP service .* could not be reached"):
        SkyMapperTap(url=refused_url, retries=0).load(None)


def _epochs_service(query, uploads):
    """Like the service: rows of the uploaded ids (or the IN list), flags filtered as the query says."""
    rows = ATable.read(recorded("skymapper_dr2_epochs_sample.vot"))
    if "ids" in uploads:
        wanted = set(np.asarray(uploads["ids"]["object_id"]).tolist())
    else:
        inside = query.split("p.object_id IN (", 1)[1].split(")", 1)[0]
        wanted = {int(x) for x in inside.split(",")}
    keep = np.isin(rows["object_id"], list(wanted))
    if "p.flags <= 3" in query:
        keep &= rows["flags"] <= 3
    return rows[keep]


def test_fetch_epochs_uploads_ids_in_batches(fake_tap):
    fake_tap.respond("dr2.photometry", _epochs_service)
    sample = ATable.read(recorded("skymapper_dr2_sample.vot"))
    ids = list(sample["object_id"]) + [int(sample["object_id"][0])]   # a duplicate is fetched once
    epochs = fetch_epochs(ids, url=fake_tap.url, batch_size=3)
    uploads = [r.uploads["ids"] for r in fake_tap.requests if r.uploads]
    assert [len(u) for u in uploads] == [3, 3, 2]
    assert sorted(np.concatenate([np.asarray(u["object_id"]) for u in uploads]).tolist()) == sorted(set(map(int, ids)))
    assert "JOIN TAP_UPLOAD.ids AS u ON p.object_id = u.object_id" in fake_tap.queries[0]
    assert list(epochs.columns[:5]) == ["object_id", "mjd", "filter", "mag", "err"]
    recorded_rows = ATable.read(recorded("skymapper_dr2_epochs_sample.vot"))
    assert len(epochs) == int((recorded_rows["flags"] <= 3).sum())
    assert set(epochs["filter"]) == set("uvgriz") and epochs["object_id"].nunique() == 8
    assert (epochs["flags"] <= 3).all()
    assert epochs.groupby("object_id")["mjd"].apply(lambda s: s.is_monotonic_increasing).all()
    # the same ids again: every batch from the cache
    n = len(fake_tap.requests)
    again = fetch_epochs(ids, url=fake_tap.url, batch_size=3)
    assert len(fake_tap.requests) == n
    pd.testing.assert_frame_equal(epochs, again)


def test_fetch_epochs_in_list_method(fake_tap):
    fake_tap.respond("dr2.photometry", _epochs_service)
    sample = ATable.read(recorded("skymapper_dr2_sample.vot"))
    ids = np.asarray(sample["object_id"][:2])
    epochs = fetch_epochs(ids, url=fake_tap.url, method="in_list", filters="uv", max_flags=None)
    assert all(not r.uploads for r in fake_tap.requests)
    assert f"p.object_id IN ({min(ids)}, {max(ids)})" in fake_tap.queries[0]
    assert "p.filter IN ('u', 'v')" in fake_tap.queries[0] and "p.flags" not in fake_tap.queries[0].split("WHERE")[1]
    assert set(epochs["object_id"]) == set(ids.tolist())


def test_fetch_epochs_bad_input():
    with pytest.raises(StageError, match="integers"):
        fetch_epochs(["SMSS J1", "x"], url="http://127.0.0.1:1/tap")
    with pytest.raises(StageError, match="unknown filter"):
        fetch_epochs([1], filters="uq", url="http://127.0.0.1:1/tap")
    with pytest.raises(StageError, match="release"):
        fetch_epochs([1], release="dr9", url="http://127.0.0.1:1/tap")


def test_nightly_colours_reads_epochs_through_fetch_epochs(fake_tap):
    """The call symbiotic.nightly_colours makes (epochs kind: skymapper)."""
    from toolkit.plugins.symbiotic.epochs import EpochSpec, load_epochs

    fake_tap.respond("dr2.photometry", _epochs_service)
    frame = ATable.read(recorded("skymapper_dr2_sample.vot")).to_pandas()
    spec = EpochSpec(kind="skymapper", options={"url": fake_tap.url, "batch_size": 4})
    epochs = load_epochs(spec, frame, "object_id", None)
    assert list(epochs.columns) == ["object_id", "mjd", "filter", "mag", "err"]
    assert epochs["object_id"].nunique() == 8
