"""VizieR catalogues through the real astroquery code, answered by recorded VOTables at the HTTP layer."""

import json

import numpy as np
import pytest
import requests
from astropy.coordinates import Angle

from toolkit.catalogs.vizier import cache_path
from toolkit.catalogs.vizier_catalogs import Akras2019, Belczynski2000
from toolkit.core import SourceUnavailable, StageError

# A few rows of J/A+AS/146/407/catalog as VizieR serves them (positions from the paper's table 1).
BELCZYNSKI_ROWS = [("003", "EG And", "00 44 37.19", "+40 40 45.7", "7.1"),
                   ("020", "Z And", "23 33 39.95", "+48 49 05.9", "10.0"),
                   ("119", "CH Cyg", "19 24 33.07", "+50 14 29.1", "5.6"),
                   ("173", "AG Peg", "21 51 01.97", "+12 37 32.1", "8.7"),
                   ("s08", "XX Xxx", "", "", "")]  # a row VizieR serves without position


def _field(name, datatype, unit=None, arraysize=None, ucd=""):
    attrs = f'name="{name}" ucd="{ucd}" datatype="{datatype}"'
    if arraysize:
        attrs += f' arraysize="{arraysize}"'
    if unit:
        attrs += f' unit="{unit}"'
    return f"<FIELD {attrs}/>"


def _vizier_table(table_name, fields, rows):
    cells = "\n".join("<TR>" + "".join(f"<TD>{v}</TD>" for v in row) + "</TR>" for row in rows)
    return (f'<TABLE ID="{table_name.replace("/", "_")}" name="{table_name}">\n' + "\n".join(fields)
            + f"\n<DATA><TABLEDATA>\n{cells}\n</TABLEDATA></DATA>\n</TABLE>")


def _vizier_votable(resource, tables):
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<DESCRIPTION>VizieR Astronomical Server vizier.cds.unistra.fr</DESCRIPTION>
<INFO name="-out.max" value="unlimited"/>
<COOSYS ID="H_2000.000" system="ICRS" epoch="2000.000"/>
""" + f'<RESOURCE ID="yCat" name="{resource}">\n' + "\n".join(tables) + "\n</RESOURCE>\n</VOTABLE>\n").encode()


def _deg(ra, dec):
    if not ra:
        return "", ""
    return f"{Angle(ra, unit='hourangle').deg:.6f}", f"{Angle(dec, unit='deg').deg:+.6f}"


def belczynski_response() -> bytes:
    fields = [_field("_RAJ2000", "double", "deg", ucd="pos.eq.ra"), _field("_DEJ2000", "double", "deg",
                                                                           ucd="pos.eq.dec"),
              _field("[BMM2000]", "char", arraysize="3", ucd="meta.id"), _field("Name", "char", arraysize="*"),
              _field("RAJ2000", "char", '&quot;h:m:s&quot;', arraysize="11", ucd="pos.eq.ra;meta.main"),
              _field("DEJ2000", "char", '&quot;d:m:s&quot;', arraysize="11", ucd="pos.eq.dec;meta.main"),
              _field("Vmag", "float", "mag")]
    rows = [(*_deg(ra, dec), n, name, ra, dec, v) for n, name, ra, dec, v in BELCZYNSKI_ROWS]
    refs = _vizier_table("J/A+AS/146/407/refs", [_field("Ref", "int"), _field("Text", "char", arraysize="*")],
                         [("1", "Allen 1984"), ("2", "Kenyon 1986")])
    return _vizier_votable("J/A+AS/146/407", [_vizier_table("J/A+AS/146/407/catalog", fields, rows), refs])


def akras_response() -> bytes:
    """Sub-table names outside the definition's list: every table with positions is used."""
    fields = [_field("Name", "char", arraysize="*"), _field("RAJ2000", "char", '&quot;h:m:s&quot;', arraysize="11"),
              _field("DEJ2000", "char", '&quot;d:m:s&quot;', arraysize="11")]
    rows = [("EG And", "00 44 37.19", "+40 40 45.7"), ("V407 Cyg", "21 02 09.81", "+45 46 32.7")]
    cands = [("Cand 1", "10 00 00.00", "-30 00 00.0"), ("EG And", "00 44 37.19", "+40 40 45.7")]
    notes = _vizier_table("J/ApJS/240/21/notes", [_field("Note", "char", arraysize="*")], [("see text",)])
    return _vizier_votable("J/ApJS/240/21", [_vizier_table("J/ApJS/240/21/galsyst", fields, rows),
                                             _vizier_table("J/ApJS/240/21/cand", fields, cands), notes])


class FakeVizieR:
    """Stands in for the network under requests.Session.request; records what astroquery sent."""

    def __init__(self, answers, fail=False):
        self.answers, self.fail, self.calls = answers, fail, []

    def __call__(self, session, method, url, data=None, **kwargs):
        from astroquery.utils.mocks import MockResponse

        self.calls.append({"method": method, "url": url, "data": data, "timeout": kwargs.get("timeout")})
        if self.fail:
            raise requests.exceptions.ConnectionError(f"Failed to establish a new connection: {url}")
        source = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)["-source"]
        return MockResponse(self.answers[source])


@pytest.fixture
def vizier(monkeypatch):
    fake = FakeVizieR({"J/A+AS/146/407": belczynski_response(), "J/ApJS/240/21": akras_response()})
    _install(monkeypatch, fake)
    return fake


def _install(monkeypatch, fake):
    """Replace the HTTP layer (a plain function, so that it binds as a Session method)."""
    def request(session, method, url, **kwargs):
        return fake(session, method, url, **kwargs)
    monkeypatch.setattr(requests.Session, "request", request)
    monkeypatch.setattr("time.sleep", lambda s: None)


@pytest.fixture
def offline(monkeypatch):
    fake = FakeVizieR({}, fail=True)
    _install(monkeypatch, fake)
    return fake


def test_belczynski_from_recorded_answer(vizier, ctx):
    table = Belczynski2000(timeout_s=12).load(ctx)
    assert list(table.data["name"]) == ["EG And", "Z And", "CH Cyg", "AG Peg"]  # position-less row dropped
    eg = table.data.iloc[0]
    assert eg["ra"] == pytest.approx(15 * (44 / 60 + 37.19 / 3600), abs=1e-6)
    assert eg["dec"] == pytest.approx(40 + 40 / 60 + 45.7 / 3600, abs=1e-6)
    assert table.info["ra"].unit == "deg"
    assert table.meta["cache_hit"] is False and table.meta["dropped_no_position"] == 1
    assert table.meta["tables"] == ["J/A+AS/146/407/catalog"] and "Belczyński" in table.meta["citation"]
    # what astroquery sent: the whole catalogue, no row limit, computed J2000 degrees, our timeout
    sent = vizier.calls[0]
    assert sent["method"] == "POST" and sent["timeout"] == 12
    assert "-source=J/A+AS/146/407" in sent["data"] and "-out.max=unlimited" in sent["data"]
    assert "-out.add=_RAJ2000,_DEJ2000" in sent["data"]


def test_cache_hit_needs_no_network(vizier, ctx, monkeypatch):
    first = Belczynski2000().load(ctx)
    path = cache_path("J/A+AS/146/407")
    assert path.is_file() and path.read_bytes() == belczynski_response()
    assert json.loads(path.with_suffix(".json").read_text())["vizier_id"] == "J/A+AS/146/407"
    _install(monkeypatch, FakeVizieR({}, fail=True))
    second = Belczynski2000().load(ctx)
    assert second.meta["cache_hit"] is True
    np.testing.assert_array_equal(first.data["ra"], second.data["ra"])
    assert len(vizier.calls) == 1


def test_refresh_asks_again(vizier, ctx):
    Belczynski2000().load(ctx)
    Belczynski2000(refresh=True).load(ctx)
    assert len(vizier.calls) == 2


def test_offline_without_cache_says_what_to_do(offline, ctx):
    with pytest.raises(SourceUnavailable) as err:
        Belczynski2000(retries=1, backoff_s=0).load(ctx)
    msg = str(err.value)
    assert "J/A+AS/146/407" in msg and "ConnectionError" in msg
    assert str(cache_path("J/A+AS/146/407")) in msg and "catalogs.file" in msg
    assert len(offline.calls) == 2  # one retry
    assert not cache_path("J/A+AS/146/407").exists()


def test_no_retry_when_the_name_does_not_resolve(monkeypatch, ctx):
    calls = []

    def no_dns(session, method, url, **kw):
        calls.append(url)
        raise requests.exceptions.ConnectionError("NameResolutionError: Failed to resolve 'vizier.cds.unistra.fr'")
    monkeypatch.setattr(requests.Session, "request", no_dns)
    with pytest.raises(SourceUnavailable, match="Failed to resolve"):
        Belczynski2000(retries=3).load(ctx)
    assert len(calls) == 1


def test_copied_cache_file_works_offline(offline, ctx):
    path = cache_path("J/A+AS/146/407")
    path.parent.mkdir(parents=True)
    path.write_bytes(belczynski_response())  # what a user copies from another machine
    assert len(Belczynski2000().load(ctx)) == 4
    assert offline.calls == []


def test_akras_uses_every_positional_table_and_drops_repeats(vizier, ctx):
    table = Akras2019().load(ctx)
    assert list(table.data["name"]) == ["EG And", "V407 Cyg", "Cand 1"]
    assert set(table.data["vizier_table"]) == {"J/ApJS/240/21/galsyst", "J/ApJS/240/21/cand"}
    assert table.meta["duplicates_dropped"] == 1
    # sexagesimal RAJ2000 read as hours
    assert table.data["ra"].iloc[1] == pytest.approx(15 * (21 + 2 / 60 + 9.81 / 3600), abs=1e-6)


def test_named_subtable_missing_is_an_error(vizier, ctx):
    with pytest.raises(StageError, match="no sub-table"):
        Akras2019(tables=["table5"]).load(ctx)


def test_answer_that_is_not_a_votable(monkeypatch, ctx):
    _install(monkeypatch, FakeVizieR({"J/A+AS/146/407": b"<html>Service unavailable</html>"}))
    with pytest.raises(StageError, match="not a VOTable"):
        Belczynski2000().load(ctx)
    assert not cache_path("J/A+AS/146/407").exists()  # junk is never cached


def test_unknown_catalogue_answer(monkeypatch, ctx):
    empty = _vizier_votable("J/A+AS/146/407", []).replace(
        b"<RESOURCE", b'<INFO name="Error" value="ERROR">unknown catalogue</INFO>\n<RESOURCE')
    _install(monkeypatch, FakeVizieR({"J/A+AS/146/407": empty}))
    with pytest.raises(StageError, match="no table"):
        Belczynski2000().load(ctx)
