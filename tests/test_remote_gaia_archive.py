"""gaia.archive against the fake TAP service, and its announced fallback when the archive is unreachable."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydantic import ValidationError

from fake_tap import recorded
from toolkit.core import SourceUnavailable
from toolkit.core.remote import cached_query_path
from toolkit.plugins.gaia.archive import GaiaArchive

LESSON_ADQL = """SELECT TOP 4096 ra, dec, parallax, pmra, pmdec, radial_velocity,
phot_g_mean_mag, phot_bp_mean_mag, phot_rp_mean_mag
FROM gaiadr3.gaia_source
WHERE parallax_over_error > 10 AND
    parallax > 10 AND
    radial_velocity IS NOT null
ORDER BY random_index"""


def test_query_built_from_parameters():
    src = GaiaArchive(columns=["source_id", "ra", "parallax"], where=["parallax_over_error > 10", "parallax > 10"],
                      top=1000, order_by="random_index")
    assert src.adql() == ("SELECT TOP 1000 source_id, ra, parallax\nFROM gaiadr3.gaia_source\n"
                          "WHERE (parallax_over_error > 10) AND (parallax > 10)\nORDER BY random_index")
    default = GaiaArchive().adql()
    assert default.startswith("SELECT source_id, ra, dec, parallax, parallax_error, pmra, pmdec, radial_velocity")
    assert "FROM gaiadr3.gaia_source" in default and "WHERE" not in default


def test_query_and_builder_fields_are_exclusive():
    with pytest.raises(ValidationError, match="either `query`"):
        GaiaArchive(query="SELECT 1", top=5)
    with pytest.raises(ValidationError):
        GaiaArchive(timeout=5)   # unknown key (the field is timeout_s)


def test_loads_recorded_lesson_rows_with_units_and_ids(fake_tap, ctx):
    fake_tap.respond("gaiadr3.gaia_source", recorded("gaia_lesson_sample.vot"))
    table = GaiaArchive(query=LESSON_ADQL, url=fake_tap.url).load(ctx)
    assert len(table) == 16 and table.id_column == "source_id"
    assert table.data["source_id"].dtype == np.int64
    assert table.info["parallax"].unit == "mas" and table.info["pmra"].unit == "mas / yr"
    assert table.info["radial_velocity"].unit == "km / s"
    assert table.quantity("parallax").unit == "mas"
    assert table.meta["mock"] is False and not table.is_mock
    key = cached_query_path(fake_tap.url, LESSON_ADQL).stem
    assert table.meta["inputs"] == {f"tap:{fake_tap.url}": key}
    assert table.meta["query"] == LESSON_ADQL
    assert ctx.notes["run"]["query"]["adql"] == LESSON_ADQL and ctx.notes["run"]["query"]["rows"] == 16


def test_async_auto_follows_the_top_size(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    GaiaArchive(query=LESSON_ADQL, url=fake_tap.url, cache=False).load(None)   # TOP 4096 > 2000: async
    assert fake_tap.calls("/tap/async") and not fake_tap.calls("/tap/sync")
    fake_tap.requests.clear()
    GaiaArchive(columns=["source_id"], top=16, url=fake_tap.url, cache=False).load(None)   # small: sync
    assert fake_tap.calls("/tap/sync") and not fake_tap.calls("/tap/async")
    fake_tap.requests.clear()
    GaiaArchive(columns=["source_id"], top=16, url=fake_tap.url, cache=False, async_=True).load(None)
    assert fake_tap.calls("/tap/async")


def test_second_load_comes_from_the_cache(fake_tap):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    first = GaiaArchive(query=LESSON_ADQL, url=fake_tap.url, async_=False).load(None)
    n = len(fake_tap.requests)
    second = GaiaArchive(query=LESSON_ADQL, url=fake_tap.url, async_=False).load(None)
    assert len(fake_tap.requests) == n and second.meta["from_cache"] and not first.meta["from_cache"]
    assert first.data.equals(second.data)
    assert second.info["pmdec"].unit == "mas / yr"


def test_missing_id_column_falls_back_to_row_numbers_with_a_warning(fake_tap, ctx):
    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    table = GaiaArchive(columns=["ra"], top=5, url=fake_tap.url, id_column="designation").load(ctx)
    assert table.id_column == "row_id"
    assert any("designation" in w for w in ctx.warnings)


def test_unreachable_archive_says_what_failed_and_how_to_go_offline(refused_url):
    with pytest.raises(SourceUnavailable) as err:
        GaiaArchive(query=LESSON_ADQL, url=refused_url, retries=1, backoff_s=0.01).load(None)
    msg = str(err.value)
    assert msg.startswith(f"gaia.archive: the TAP service at {refused_url} could not be reached (async query")
    assert "Connection refused" in msg and "table.file" in msg and "fallback" in msg
    assert cached_query_path(refused_url, LESSON_ADQL).name in msg


def test_recipe_falls_back_to_its_declared_source_and_says_so(refused_url, tmp_path):
    from rich.console import Console

    from toolkit.core.run import execute

    csv = tmp_path / "local_export.csv"
    csv.write_text("source_id,ra,dec,parallax\n11,10.0,-5.0,12.5\n12,11.0,-6.0,20.0\n13,12.0,-7.0,30.0\n")
    recipe = tmp_path / "archive_fallback.yaml"
    recipe.write_text(f"""
name: archive_fallback
seed: 3
source:
  use: gaia.archive
  with: {{url: "{refused_url}", top: 10, columns: [source_id, ra, dec, parallax], retries: 0, timeout_s: 5}}
  fallback:
    use: table.file
    with: {{path: "{csv}", id_column: source_id, units: {{parallax: mas, ra: deg, dec: deg}}}}
cuts:
  - {{use: expr.cut, name: near, with: {{expr: "parallax > 15"}}}}
output: {{figures: false}}
""")
    out = io.StringIO()
    folder, manifest = execute(recipe, out=tmp_path / "run", console=Console(file=out, width=200),
                               show_progress=False)
    said = out.getvalue()
    assert "Source gaia.archive is unavailable" in said and "Falling back to table.file" in said
    assert "could not be reached" in said
    text = (folder / "manifest.json").read_text()
    assert '"fallback_used": true' in text and '"fallback": "table.file"' in text
    assert manifest["rows"]["after_cuts"] == 2
