"""symbiotic.skymapper query building and recorded response; per-epoch photometry by TAP upload in batches."""

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


#: one service row per condition of the seed's selection, each failing only that condition (at the
#: boundary where the condition is strict): column -> value
REJECTS = [("twomass_dist", 2.0), ("gaia_dr2_dist1", 2.0), ("allwise_dist", 3.0), ("prox", 6.0),
           ("ph_qual", "AAB"), ("gal_contam", 1), ("ext_key", 17), ("cc_flg", "00c"), ("class_star", 0.9),
           ("flags_psf", 1), ("u_ngood", 0), ("v_ngood", 0), ("g_ngood", 0), ("nch_max", 2),
           ("j_minus_k", 0.85), ("j_m", 14.0), ("parallax", 0.0), ("parallax", 100.0)]


def service_rows() -> ATable:
    """What the service holds: the recorded rows that pass the seed's selection, the 2MASS columns
    the selection reads, and one row per condition that fails only it."""
    from astropy.table import MaskedColumn, vstack

    good = ATable.read(recorded("skymapper_dr2_sample.vot"))
    good["gal_contam"] = np.zeros(len(good), np.int16)
    good["ext_key"] = MaskedColumn(np.zeros(len(good), np.int32), mask=np.ones(len(good), bool))   # NULL
    good["cc_flg"] = np.array(["000"] * len(good))
    rows = [good]
    for k, (name, value) in enumerate(REJECTS):
        bad = good[:1].copy()
        bad["object_id"] = 900_000_000 + k
        if name == "j_minus_k":
            bad["k_m"][0] = bad["j_m"][0] - np.float32(value)
        elif name == "j_m":
            bad["k_m"][0] = np.float32(value) - (bad["j_m"][0] - bad["k_m"][0])
            bad["j_m"][0] = value
        elif name == "ext_key":
            bad["ext_key"][0] = value
            bad["ext_key"].mask[0] = False
        else:
            bad[name][0] = value
        rows.append(bad)
    return vstack(rows)


def test_loads_the_rows_its_selection_picks(fake_tap, ctx):
    held = service_rows()
    fake_tap.serve("dr2.master", held)
    table = SkyMapperTap(url=fake_tap.url).load(ctx)
    assert fake_tap.queries == [SkyMapperTap().adql()]
    recorded_ids = ATable.read(recorded("skymapper_dr2_sample.vot"))["object_id"]
    assert sorted(table.data["object_id"]) == sorted(recorded_ids)          # every reject row left out
    assert len(held) == len(table) + len(REJECTS)
    assert len(table) == 8 and table.id_column == "object_id" and not table.is_mock
    assert table.info["u_psf"].unit == "mag" and table.info["parallax"].unit == "mas"
    assert table.info["twomass_dist"].unit == "arcsec"
    assert set(table.data["ph_qual"]) == {"AAA"}
    jk = table.array("j_m") - table.array("k_m")
    assert (jk > 0.85).all() and (table.array("j_m") < 14).all()
    # no TOP: an async job
    assert fake_tap.calls("/tap/async") and not fake_tap.calls("/tap/sync")


@pytest.mark.parametrize("change", [dict(min_class_star=0.95), dict(max_j=11.0), dict(min_j_minus_k=1.2),
                                    dict(parallax_range_mas=(1.0, 2.5)), dict(allwise_radius_arcsec=1.0),
                                    dict(ph_qual="AAB", twomass_clean=False)])
def test_recipe_values_select_the_rows_the_data_say(fake_tap, change):
    """Each changed threshold selects, through the client's ADQL, exactly the rows numpy picks."""
    held = service_rows()
    fake_tap.serve("dr2.master", held)
    got = set(SkyMapperTap(url=fake_tap.url, **change).load(None).data["object_id"])
    good = held[:8]
    key, value = next(iter(change.items()))
    expect = {"min_class_star": lambda t: t["class_star"] > value,
              "max_j": lambda t: t["j_m"] < value,
              "min_j_minus_k": lambda t: (t["j_m"] - t["k_m"]) > value,
              "parallax_range_mas": lambda t: (t["parallax"] > value[0]) & (t["parallax"] < value[1]),
              "allwise_radius_arcsec": lambda t: t["allwise_dist"] < value,
              "ph_qual": lambda t: t["ph_qual"] == "AAB"}[key]
    if key == "ph_qual":     # only the reject row has AAB; with the 2MASS flags off nothing else fails
        assert got == {900_000_000 + [n for n, _ in REJECTS].index("ph_qual")}
    else:
        assert got == set(np.asarray(good["object_id"])[np.asarray(expect(good))].tolist())
        assert 0 < len(got) < 8 or key in ("min_class_star",)


def test_fake_service_refuses_a_condition_it_cannot_evaluate(fake_tap):
    """The fake never ignores a condition: an unknown column is the service's error, not all rows."""
    fake_tap.serve("dr2.master", service_rows())
    with pytest.raises(StageError, match="not_a_column"):
        SkyMapperTap(url=fake_tap.url, extra_where=["m.not_a_column > 1"], retries=0).load(None)


def test_rename_maps_columns(fake_tap):
    fake_tap.respond(None, recorded("skymapper_dr2_sample.vot"))
    table = SkyMapperTap(url=fake_tap.url, rename={"raj2000": "ra", "dej2000": "dec"}).load(None)
    assert {"ra", "dec"} <= set(table.columns) and table.info["ra"].unit == "deg"
    with pytest.raises(StageError, match="not_there"):
        SkyMapperTap(url=fake_tap.url, rename={"not_there": "x"}).load(None)


def test_offline_source_unavailable(refused_url):
    with pytest.raises(SourceUnavailable, match="symbiotic.skymapper: the TAP service .* could not be reached"):
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
