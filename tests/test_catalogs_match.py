"""catalogs.match and match_table_file: positions placed at known offsets inside and outside the radius."""

import numpy as np
import pandas as pd
import pytest
import requests
from astropy.table import Table as ATable

from toolkit.catalogs.crossmatch import propagate_positions
from toolkit.catalogs.match import CatalogMatch, match_table_file
from toolkit.catalogs.vizier import cache_path
from toolkit.core import RecipeError, SourceUnavailable, StageError, Table

ARCSEC = 1 / 3600.0
KNOWN = [("Alpha", 110.0, 5.0), ("Beta", 112.0, 6.0), ("Gamma", 115.0, 60.0),
         ("Delta", 20.0, -70.0), ("Epsilon", 25.0, -72.0), ("Zeta", 30.0, -75.0)]


@pytest.fixture
def catalogue_file(tmp_path):
    path = tmp_path / "known.csv"
    pd.DataFrame(KNOWN, columns=["Name", "RA", "DEC"]).to_csv(path, index=False)
    return path


def scored_table(n_background=200, seed=3) -> Table:
    """Row 0: Alpha +1.0" in Dec; row 1: Beta +3.0"; row 2: Gamma +1.5" in RA at Dec 60; row 3: no position."""
    rng = np.random.default_rng(seed)
    ra = [110.0, 112.0, 115.0 + 1.5 * ARCSEC / np.cos(np.deg2rad(60.0)), np.nan]
    dec = [5.0 + 1.0 * ARCSEC, 6.0 + 3.0 * ARCSEC, 60.0, np.nan]
    ra += list(rng.uniform(100, 120, n_background))
    dec += list(rng.uniform(7, 50, n_background))  # far from every known object
    n = len(ra)
    score = rng.normal(0, 1, n)
    score[0] = 10.0                       # Alpha's row: rank 1
    score[2] = np.sort(score[4:])[-50]    # Gamma's row: rank ~51
    score[3] = np.nan
    flag = score >= np.sort(score[np.isfinite(score)])[-10]
    df = pd.DataFrame({"source_id": np.arange(1000, 1000 + n), "ra": ra, "dec": dec,
                       "score_ae": score, "flag_ae": flag})
    t = Table(df, id_column="source_id")
    t.info["ra"].unit = t.info["dec"].unit = "deg"
    return t


def matcher(catalogue_file, **kw) -> CatalogMatch:
    kw.setdefault("figure", False)
    return CatalogMatch(catalogs=[{"use": "catalogs.file", "with": {"path": str(catalogue_file)},
                                   "short_name": "known"}], **kw)


def test_match_columns_inside_and_outside_the_radius(catalogue_file, ctx):
    table = scored_table()
    result = matcher(catalogue_file, radius_arcsec=2.0).validate(table, ctx)
    names, sep = result.columns.data["match_known"], result.columns.data["match_known_sep"]
    assert list(names[:4]) == ["Alpha", "", "Gamma", ""]
    assert sep[0] == pytest.approx(1.0, abs=1e-3) and sep[2] == pytest.approx(1.5, abs=1e-3)
    assert np.isnan(sep[1]) and np.isnan(sep[3]) and (names[4:] == "").all()
    assert result.columns.info["match_known_sep"].unit == "arcsec"
    # a wider radius takes Beta in
    wide = matcher(catalogue_file, radius_arcsec=3.5).validate(table, ctx)
    assert wide.columns.data["match_known"][1] == "Beta"
    assert wide.columns.data["match_known_sep"][1] == pytest.approx(3.0, abs=1e-3)


def test_recall_statistics(catalogue_file, ctx):
    table = scored_table()
    summary = matcher(catalogue_file, radius_arcsec=2.0, k=[1, 10, 100, "n_flagged"]).validate(table, ctx).summary
    s = summary["catalogs"]["known"]
    assert s["n_catalog"] == 6 and s["n_in_footprint"] == 3 and s["n_in_table"] == 2
    assert s["n_rows_matched"] == 2 and s["skipped"] is False
    assert s["flags"]["flag_ae"] == {"n_flagged": 10, "known_flagged": 1, "recall": 0.5, "precision": 0.1}
    sc = s["scores"]["score_ae"]
    assert sc["best_rank"] == 1 and sc["known_scored"] == 2
    gamma_rank = int((table.array("score_ae") > table.array("score_ae")[2]).sum()) + 1
    assert sc["median_rank"] == pytest.approx((1 + gamma_rank) / 2)
    assert sc["at_k"]["1"] == {"k": 1, "precision": 1.0, "recall": 0.5}
    assert sc["at_k"]["10"] == {"k": 10, "precision": 0.1, "recall": 0.5}
    assert sc["at_k"]["100"]["recall"] == 1.0
    assert sc["at_k"]["n_flagged=10"]["k"] == 10
    listed = s["known_objects"]
    assert [o["name"] for o in listed] == ["Alpha", "Gamma"] and listed[0]["row_id"] == 1000
    assert listed[0]["rank_score_ae"] == 1 and listed[0]["flag_ae"] is True and listed[1]["flag_ae"] is False
    assert "epoch" in summary and "2016" in summary["epoch"]["note"]


def test_match_columns_are_chunk_pure(catalogue_file, ctx):
    table = scored_table()
    v = matcher(catalogue_file)
    whole = v.validate(table, ctx).columns
    parts = [v.validate(chunk, ctx).columns for chunk in table.split(3)]
    for name in ("match_known", "match_known_sep"):
        np.testing.assert_array_equal(np.concatenate([p.data[name] for p in parts]), whole.data[name])


def test_proper_motion_propagation_to_the_catalogue_epoch(catalogue_file, ctx):
    # a star at Alpha in 2000 moving 500 mas/yr north is 8" away at the Gaia DR3 epoch
    df = pd.DataFrame({"ra": [110.0], "dec": [5.0 + 8.0 * ARCSEC], "pmra": [0.0], "pmdec": [500.0]})
    table = Table(df)
    assert matcher(catalogue_file).validate(table, ctx).columns.data["match_known"][0] == ""
    moved = matcher(catalogue_file, table_epoch=2016.0).validate(table, ctx)
    assert moved.columns.data["match_known"][0] == "Alpha"
    assert moved.columns.data["match_known_sep"][0] == pytest.approx(0.0, abs=1e-3)
    assert moved.summary["epoch"]["propagated"] is True
    ra, dec = propagate_positions([10.0], [60.0], [100.0], [np.nan], 2016.0, 2000.0)
    assert ra[0] == pytest.approx(10.0 - 1.6 * ARCSEC / 0.5) and dec[0] == 60.0
    with pytest.raises(StageError, match="pmra"):
        matcher(catalogue_file, table_epoch=2016.0).validate(Table(df.drop(columns=["pmra"])), ctx)


def test_figure_marks_known_objects(catalogue_file, ctx):
    matcher(catalogue_file, figure=True).validate(scored_table(), ctx)
    assert len(ctx.figures) == 1
    assert (ctx.workdir / ctx.figures[0]["file"]).is_file()


def test_unavailable_catalogue_error_or_skip(catalogue_file, ctx, monkeypatch):
    def offline(session, method, url, **kw):
        raise requests.exceptions.ConnectionError("no route to host")
    monkeypatch.setattr(requests.Session, "request", offline)
    monkeypatch.setattr("time.sleep", lambda s: None)
    steps = [{"use": "catalogs.belczynski2000", "with": {"retries": 0}},
             {"use": "catalogs.file", "with": {"path": str(catalogue_file)}, "short_name": "known"}]
    with pytest.raises(SourceUnavailable, match="catalogs.file"):
        CatalogMatch(catalogs=steps, figure=False).validate(scored_table(), ctx)
    result = CatalogMatch(catalogs=steps, on_unavailable="skip", figure=False).validate(scored_table(), ctx)
    s = result.summary["catalogs"]
    assert s["belczynski2000"]["skipped"] is True and "no route to host" in s["belczynski2000"]["reason"]
    assert "match_belczynski2000" not in result.columns and result.columns.data["match_known"][0] == "Alpha"
    assert any("skipped" in w for w in ctx.warnings)


def test_config_errors_are_caught_before_any_work(catalogue_file):
    with pytest.raises(RecipeError, match="catalogs.belczynski2000"):
        CatalogMatch(catalogs=[{"use": "catalog.belczinski2000"}])
    with pytest.raises(RecipeError, match="timeout_s"):
        CatalogMatch(catalogs=[{"use": "catalogs.belczynski2000", "with": {"timeout_s": -1}}])
    with pytest.raises(RecipeError, match="short name"):
        CatalogMatch(catalogs=[{"use": "catalogs.file", "with": {"path": str(catalogue_file)}},
                               {"use": "catalogs.file", "with": {"path": str(catalogue_file)}}])


def test_table_without_positions(catalogue_file, ctx):
    with pytest.raises(StageError, match="no sky coordinate columns.*score"):
        matcher(catalogue_file).validate(Table(pd.DataFrame({"score": [1.0]})), ctx)


@pytest.mark.parametrize("suffix", [".csv", ".fits", ".vot", ".parquet"])
def test_match_table_file_end_to_end(tmp_path, catalogue_file, suffix):
    src = tmp_path / "candidates.parquet"
    scored_table().to_astropy().write(src, format="parquet")
    out = tmp_path / f"matched{suffix}"
    table, stats = match_table_file(src, str(catalogue_file), 2.0, out, short_name="known")
    assert list(table.data["match_known"][:3]) == ["Alpha", "", "Gamma"]
    assert stats["catalogs"]["known"]["n_in_table"] == 2 and stats["out"] == str(out)
    back = ATable.read(out)
    names = back["match_known"].filled("") if hasattr(back["match_known"], "filled") else back["match_known"]
    assert [str(x) for x in names[:3]] == ["Alpha", "", "Gamma"]  # CSV and FITS read '' back as masked
    assert back["match_known_sep"][0] == pytest.approx(1.0, abs=1e-3)
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]  # atomic write left nothing behind


@pytest.mark.filterwarnings("ignore::astropy.io.votable.exceptions.VOWarning")
def test_match_table_file_with_a_registered_catalogue_from_cache(tmp_path, ctx):
    # a cached VizieR answer (any VOTable) stands in for the network
    path = cache_path("J/A+AS/146/407")
    path.parent.mkdir(parents=True)
    vot = ATable({"Name": ["EG And", "Z And"], "_RAJ2000": [11.154958, 353.416458],
                  "_DEJ2000": [40.679361, 48.818306]})
    vot.meta["name"] = "J/A+AS/146/407/catalog"
    vot.write(path, format="votable")
    src = tmp_path / "t.csv"
    src.write_text(f"id,RA,DEC\n1,{11.154958 + 0.3 * ARCSEC / np.cos(np.deg2rad(40.68))},40.679361\n2,200,-10\n")
    table, stats = match_table_file(src, ["catalogs.belczynski2000"], 1.0)
    assert list(table.data["match_belczynski2000"]) == ["EG And", ""]
    assert stats["catalogs"]["belczynski2000"]["cache_hit"] is True
    assert table.data["match_belczynski2000_sep"][0] == pytest.approx(0.3, abs=1e-3)


def test_match_table_file_errors(tmp_path, catalogue_file):
    src = tmp_path / "t.csv"
    src.write_text("id,ra,dec\n1,10,10\n")
    with pytest.raises(RecipeError, match="neither a registered catalogue nor an existing file"):
        match_table_file(src, "catalog.belczinski", 2.0)
    with pytest.raises(RecipeError, match="--format"):
        match_table_file(src, str(catalogue_file), 2.0, tmp_path / "out.unknown")
    with pytest.raises(StageError, match="does not exist"):
        match_table_file(tmp_path / "missing.csv", str(catalogue_file), 2.0)


def test_match_against_the_fink_catalogue(tmp_path, shared_data):
    """A table whose positions we choose: 10 known stars 0.5" off (matched), 10 moved 20" away (not)."""
    from toolkit.catalogs.local_file import FileCatalog
    from toolkit.core import RunContext

    fink = shared_data / "symbiotic_stars_catalog_fink.csv"
    known = FileCatalog(path=fink).load(RunContext(show_progress=False)).data
    near, far = known.iloc[0:700:70], known.iloc[5:705:70]
    rows = pd.DataFrame({
        "ra": np.concatenate([near["ra"], far["ra"]]),
        "dec": np.concatenate([near["dec"] + 0.5 * ARCSEC, far["dec"] + 20 * ARCSEC]),
        "truth": list(near["name"]) + [""] * len(far)})
    src = tmp_path / "chosen.csv"
    rows.to_csv(src, index=False)
    table, stats = match_table_file(src, str(fink), 2.0, tmp_path / "out.fits")
    short = "symbiotic_stars_catalog_fink"
    assert list(table.data[f"match_{short}"]) == list(rows["truth"])
    np.testing.assert_allclose(table.data[f"match_{short}_sep"][:10], 0.5, atol=1e-3)
    s = stats["catalogs"][short]
    assert s["n_catalog"] == 738 and s["n_in_table"] == 10 and s["n_rows_matched"] == 10


def test_print_summary(tmp_path, catalogue_file):
    from io import StringIO

    from rich.console import Console

    src = tmp_path / "t.parquet"
    scored_table().to_astropy().write(src, format="parquet")
    buf = StringIO()
    match_table_file(src, str(catalogue_file), 2.0, console=Console(file=buf, width=140), short_name="known")
    text = buf.getvalue()
    assert "source_id" in text and "1000" in text  # the table's own id column names the rows
    assert "Alpha" in text and "Gamma" in text and "in table" in text and "median rank" in text


def test_in_a_recipe(tmp_path, catalogue_file):
    from toolkit.core import RunContext, get_registry
    from toolkit.core.recipe import load_recipe
    from toolkit.core.runner import run_recipe

    src = tmp_path / "stars.parquet"
    scored_table().to_astropy().write(src, format="parquet")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""name: match_only
source: {{use: table.file, with: {{path: {src}, id_column: source_id}}}}
validators:
  - use: catalogs.match
    name: known
    with:
      radius_arcsec: 2
      catalogs: [{{use: catalogs.file, with: {{path: {catalogue_file}}}, short_name: known}}]
""")
    registry = get_registry()
    result = run_recipe(load_recipe(recipe, registry), registry, RunContext(seed=1, show_progress=False))
    assert list(result.table.data["match_known"][:3]) == ["Alpha", "", "Gamma"]
    assert result.validation["known"]["catalogs"]["known"]["n_in_table"] == 2

    recipe.write_text(recipe.read_text().replace("use: catalogs.file", "use: catalog.fil"))
    with pytest.raises(RecipeError, match=r"r.yaml:\d+.*catalog.fil.*Did you mean 'catalogs.file'"):
        load_recipe(recipe, registry)
