"""HATS catalogues through LSDB: the lsdb.catalog source (pushdown, errors), lsdb.crossmatch, HATS output,
a recipe over HATS with the stream and dask executors."""

from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from core_helpers import write_recipe
from dask_helpers import cluster, gaia_mock_hats  # noqa: F401  (a fixture)
from toolkit.core import Columns, RunContext, StageError, Table, write_hats
from toolkit.core.run import execute
from toolkit.plugins.lsdb.catalog_source import LsdbCatalog
from toolkit.plugins.lsdb.crossmatch import LsdbCrossmatch

QUIET = Console(stderr=True, quiet=True)
N_STARS = 6000


@pytest.fixture(scope="module")
def gaia_hats(tmp_path_factory):
    return gaia_mock_hats(tmp_path_factory.mktemp("hats") / "gaia_mock", N_STARS, partition_rows=1500)


@pytest.fixture(scope="module")
def gaia_rows():
    from toolkit.plugins.gaia.mock import GaiaMock

    return GaiaMock(n_stars=N_STARS).load(RunContext(seed=3))


def load(**cfg) -> Table:
    return LsdbCatalog(**cfg).load(RunContext(seed=1))


def separation_deg(ra1, dec1, ra2, dec2):
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg


def test_the_catalogue_reads_back_with_units_and_ids(gaia_hats, gaia_rows):
    table = load(path=str(gaia_hats), id_column="source_id")
    assert len(table) == N_STARS and table.id_column == "source_id"
    assert set(table.data["source_id"]) == set(gaia_rows.data["source_id"])
    assert table.info["parallax"].unit == "mas" and table.info["pmra"].unit == "mas / yr"
    assert table.data["parallax"].dtype == np.float64            # NumPy columns, not Arrow ones
    merged = table.data.merge(gaia_rows.data, on="source_id", suffixes=("", "_mem"))
    np.testing.assert_array_equal(merged["radial_velocity"], merged["radial_velocity_mem"])


def test_columns_region_and_filters_are_pushed_down(gaia_hats, gaia_rows):
    whole = LsdbCatalog(path=str(gaia_hats))._open()[0]
    cone = LsdbCatalog(path=str(gaia_hats), columns=["source_id", "parallax"],
                       region={"shape": "cone", "ra": 40.0, "dec": 30.0, "radius_arcsec": 25 * 3600.0},
                       filters=[["parallax", ">", 20]], id_column="source_id")
    cat, _ = cone._open()
    assert cat.npartitions < whole.npartitions                   # only pixels under the cone are read
    table = cone.load(RunContext(seed=1))
    assert set(table.columns) == {"_healpix_29", "source_id", "parallax", "ra", "dec"}
    assert (separation_deg(table.data["ra"], table.data["dec"], 40.0, 30.0) <= 25).all()
    assert (table.data["parallax"] > 20).all()
    d = gaia_rows.data
    expected = (separation_deg(d["ra"], d["dec"], 40.0, 30.0) <= 25) & (d["parallax"] > 20)
    assert len(table) == int(expected.sum()) > 0

    box = load(path=str(gaia_hats), region={"shape": "box", "ra": [10, 60], "dec": [-20, 20]})
    assert len(box) and box.data["ra"].between(10, 60).all() and box.data["dec"].between(-20, 20).all()
    poly = load(path=str(gaia_hats), region={"shape": "polygon", "vertices": [[0, 0], [40, 0], [20, 30]]})
    assert len(poly) and poly.data["ra"].between(0, 40).all() and poly.data["dec"].between(0, 30).all()


def test_streamed_chunks_and_dask_partitions_are_the_same_rows(gaia_hats):
    src = LsdbCatalog(path=str(gaia_hats), id_column="source_id")
    ctx = RunContext(seed=1)
    chunks = list(src.iter_chunks(ctx, 1000))
    assert max(len(c) for c in chunks) == 1000
    parts = [load() for load in src.partitions(ctx)]
    assert len(parts) > 1
    np.testing.assert_array_equal(np.concatenate([c.data["source_id"] for c in chunks]),
                                  np.concatenate([p.data["source_id"] for p in parts]))


def test_a_folder_that_is_not_a_hats_catalogue(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    with pytest.raises(StageError, match=r"'.*' is not a HATS catalogue .*hats.properties"):
        load(path=str(tmp_path))
    with pytest.raises(StageError, match="is not a HATS catalogue"):
        load(path=str(tmp_path / "missing"))


def test_an_unreachable_url_is_unavailable_so_a_fallback_can_run():
    from toolkit.core import SourceUnavailable

    with pytest.raises(SourceUnavailable, match=r"cannot read a HATS catalogue at 'http://127.0.0.1:9/hats/gaia'"):
        load(path="http://127.0.0.1:9/hats/gaia")


def test_missing_columns_in_columns_and_filters_are_named(gaia_hats):
    with pytest.raises(StageError, match=r"`columns` names column 'paralax'.*did you mean 'parallax'"):
        load(path=str(gaia_hats), columns=["source_id", "paralax"])
    with pytest.raises(StageError, match=r"`filters` names column 'rv'"):
        load(path=str(gaia_hats), filters=[["rv", ">", 0]])
    with pytest.raises(StageError, match=r"operator '=~'"):
        load(path=str(gaia_hats), filters=[["parallax", "=~", 0]])


def test_an_empty_selection_is_a_clear_error(tmp_path, gaia_rows, cluster):  # noqa: F811
    patch = gaia_rows.take((gaia_rows.data["ra"].between(10, 30) & gaia_rows.data["dec"].between(10, 30)).to_numpy())
    path = write_hats(patch, tmp_path / "patch", "patch")
    with pytest.raises(StageError, match="region .*selects nothing"):
        load(path=str(path), region={"shape": "cone", "ra": 200.0, "dec": -60.0, "radius_arcsec": 3600.0})
    recipe = write_recipe(tmp_path / "r.yaml", f"""
        name: empty
        source: {{use: lsdb.catalog, with: {{path: '{path}', filters: [[parallax, '>', 1.0e9]]}}}}
        """)
    for executor in ("stream", "memory", "dask"):
        with pytest.raises(StageError, match="no rows"):
            execute(recipe, tmp_path / executor, [f"executor.scheduler={cluster}"], console=QUIET,
                    show_progress=False, executor=executor)
        assert not (tmp_path / executor).exists()


# -- cross-match ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def near_catalogue(tmp_path_factory, gaia_rows):
    """Every second mock star, moved by 0.5 arcsec, with its own id and a magnitude: the catalogue to match."""
    rng = np.random.default_rng(4)
    keep = np.arange(len(gaia_rows)) % 2 == 0
    d = gaia_rows.data[keep]
    pa = rng.uniform(0, 2 * np.pi, len(d))
    ra = d["ra"] + 0.5 / 3600 * np.sin(pa) / np.cos(np.radians(d["dec"]))
    dec = d["dec"] + 0.5 / 3600 * np.cos(pa)
    cols = Columns().add("other_id", d["source_id"].to_numpy() * 10).add("ra", ra, "deg").add("dec", dec, "deg") \
        .add("k_m", rng.normal(10, 1, len(d)), "mag")
    path = tmp_path_factory.mktemp("near") / "near"
    return write_hats(Table.from_columns(cols, id_column="other_id"), path, "near", partition_rows=1000)


def test_crossmatch_finds_the_nearest_within_the_radius_and_is_chunk_pure(near_catalogue, gaia_rows):
    table = gaia_rows.take(np.arange(2000))
    feature = LsdbCrossmatch(path=str(near_catalogue), columns=["other_id", "k_m"], radius_arcsec=1.0,
                             prefix="near_", separation_column="near_sep_arcsec")
    ctx = RunContext(seed=1)
    whole = feature.compute(table, ctx)
    even = np.arange(len(table)) % 2 == 0
    np.testing.assert_array_equal(whole.data["near_other_id"][even], table.data["source_id"][even] * 10)
    assert np.isnan(whole.data["near_other_id"][~even]).all() and np.isnan(whole.data["near_sep_arcsec"][~even]).all()
    np.testing.assert_allclose(whole.data["near_sep_arcsec"][even], 0.5, atol=0.01)
    assert whole.info["near_sep_arcsec"].unit == "arcsec" and whole.info["near_k_m"].unit == "mag"
    parts = [feature.compute(p, ctx) for p in table.split(3)]
    for name in whole.names():
        np.testing.assert_array_equal(whole.data[name], np.concatenate([p.data[name] for p in parts]))
    tight = LsdbCrossmatch(path=str(near_catalogue), columns=["k_m"], radius_arcsec=0.3).compute(table, ctx)
    assert np.isnan(tight.data["k_m"]).all()                     # 0.5 arcsec away: outside 0.3


def test_crossmatch_names_a_missing_column(near_catalogue, gaia_rows):
    feature = LsdbCrossmatch(path=str(near_catalogue), columns=["k_mag"], radius_arcsec=1.0)
    with pytest.raises(StageError, match=r"names 'k_mag'.*did you mean 'k_m'"):
        feature.compute(gaia_rows.take(np.arange(10)), RunContext(seed=1))


# -- recipes over HATS ---------------------------------------------------------------------------

def hats_recipe(tmp_path, path, extra=""):
    from test_dask_executor import SMALL

    body = SMALL.replace("source: {use: gaia.mock, with: {n_stars: 6000}}",
                         f"source: {{use: lsdb.catalog, with: {{path: '{path}', id_column: source_id, mock: true}}}}")
    return write_recipe(tmp_path / "hats.yaml", body + extra)


@pytest.mark.slow
def test_a_recipe_over_hats_gives_the_same_rows_with_stream_and_dask(tmp_path, gaia_hats, cluster):  # noqa: F811
    recipe = hats_recipe(tmp_path, gaia_hats)
    stream, m1 = execute(recipe, tmp_path / "stream", console=QUIET, show_progress=False, executor="stream")
    dask, m2 = execute(recipe, tmp_path / "dask", [f"executor.scheduler={cluster}"], console=QUIET,
                       show_progress=False, executor="dask")
    a, b = pd.read_parquet(stream / "scored"), pd.read_parquet(dask / "scored")
    assert m1["rows"]["source"] == N_STARS and len(a) > 3000
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pd.read_parquet(stream / "candidates.parquet"),
                                  pd.read_parquet(dask / "candidates.parquet"))
    assert m2["executor"]["partitions"] > 1 and m1["cutflow"] == m2["cutflow"]


@pytest.mark.parametrize("executor", ["memory", "stream"])
def test_hats_output_opens_in_lsdb_with_units(tmp_path, gaia_hats, executor):
    import lsdb

    recipe = hats_recipe(tmp_path, gaia_hats, "output: {format: hats}\n")
    path, manifest = execute(recipe, tmp_path / "run", console=QUIET, show_progress=False, executor=executor)
    assert "scored.hats" in manifest["files"]
    cat = lsdb.open_catalog(path / "scored.hats")
    assert {"score_forest", "flag_forest", "v_x"} <= set(cat.columns)
    back = LsdbCatalog(path=str(path / "scored.hats"), id_column="source_id").load(RunContext(seed=1))
    assert len(back) == manifest["rows"]["after_cuts"]
    assert back.info["v_x"].unit == "km / s" and back.info["parallax"].unit == "mas"
    scored = pd.read_parquet(path / ("scored.parquet" if executor == "memory" else "scored"))
    merged = scored.merge(back.data, on="source_id", suffixes=("", "_hats"))
    assert len(merged) == len(scored)
    np.testing.assert_array_equal(merged["score_forest"], merged["score_forest_hats"])


# -- the symbiotic search over HATS ----------------------------------------------------------------

MOCK = {"n_giants": 1500, "n_dwarfs": 150, "n_symbiotic": 30, "n_mira": 10, "n_yso": 10}


@pytest.mark.slow
def test_symbiotic_recipe_over_hats_finds_what_the_tap_recipe_finds(tmp_path, cluster):  # noqa: F811
    from dask_helpers import symbiotic_mock_hats

    paths = symbiotic_mock_hats(tmp_path / "hats", MOCK)
    mock = "{" + ", ".join(f"{k}: {v}" for k, v in MOCK.items()) + "}"
    known = f"validators.0.with.catalogs=[{{use: symbiotic.mock_known, with: {mock}}}]"
    fast = ["detectors.0.with.epochs=3", "output.formats=[]", "output.figures=false"]
    hats = [f"source.with.path={paths['skymapper']}", f"features.0.with.path={paths['twomass']}",
            f"features.1.with.path={paths['allwise']}", f"features.2.with.path={paths['gaia']}",
            "source.with.mock=true", known, *fast]
    tap = [f"source.fallback.with={mock}", known, *fast]
    runs = {}
    for name, recipe, sets, executor in (("tap", "symbiotic", tap, "memory"),
                                         ("stream", "symbiotic_hats", hats, "stream"),
                                         ("dask", "symbiotic_hats", [*hats, f"executor.scheduler={cluster}"], "dask")):
        runs[name] = execute(recipe, tmp_path / name, sets, console=QUIET, show_progress=False, executor=executor)
    tap_scored = pd.read_parquet(runs["tap"][0] / "scored.parquet").set_index("object_id")
    s, d = (pd.read_parquet(runs[k][0] / "scored") for k in ("stream", "dask"))
    pd.testing.assert_frame_equal(s, d)                          # stream = dask, row for row
    s = s.set_index("object_id")
    assert sorted(s.index) == sorted(tap_scored.index)           # the same stars pass the same selection
    for col in ("score_vae", "score_pca", "score_iforest_colours", "flag_pca", "j_m", "parallax"):
        np.testing.assert_array_equal(s.loc[tap_scored.index, col], tap_scored[col], err_msg=col)
    cands = {k: set(pd.read_parquet(runs[k][0] / "candidates.parquet")["object_id"]) for k in runs}
    assert cands["tap"] == cands["stream"] == cands["dask"] and cands["tap"]
    assert runs["dask"][1]["validation"]["known"] == runs["tap"][1]["validation"]["known"]


def test_hats_paths_in_a_recipe_resolve_against_its_folder_and_urls_stay_urls():
    """lsdb paths follow the recipe-path rule (toolkit.core.paths); a URL is kept as written."""
    from toolkit.core import get_registry
    from toolkit.core.recipe import load_recipe

    recipe = load_recipe("symbiotic_hats", get_registry())
    folder = Path(recipe.path).parent if getattr(recipe, "path", None) else None
    source_path = Path(recipe.source.component.config.path)
    assert source_path.is_absolute() and source_path.parts[-2:] == ("hats", "skymapper_dr2")
    if folder is not None:
        assert source_path == folder / "hats" / "skymapper_dr2"
    url = "https://data.lsdb.io/hats/gaia_dr3"
    recipe = load_recipe("symbiotic_hats", get_registry(), [f"source.with.path={url}"])
    assert recipe.source.component.config.path == url
