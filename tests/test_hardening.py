"""Hardening (issue 12): hostile recipes and expressions, hung servers, data loss, silent errors.

Each test is one attack or fault that once ran code, hung, lost data or ended in a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table as ATable
from typer.testing import CliRunner

from core_helpers import SIMPLE, make_registry, write_recipe
from toolkit.core import Expression, RecipeError, StageError, ToolkitError
from toolkit.core.cli import app, expand_multi_values
from toolkit.core.recipe import load_recipe
from toolkit.core.run import execute
from toolkit.core.runfolder import RunFolder, clean_stale_partials

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry():
    return make_registry()


def run(tmp_path, registry, body=SIMPLE, out="run", **kw):
    recipe = write_recipe(tmp_path / "recipe.yaml", body)
    return execute(recipe, tmp_path / out, registry=registry, show_progress=False, **kw)


# -- 2. YAML alias bomb, recursive aliases, binary files, duplicate keys ------------------------

def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nname: bomb\nsource: {use: test.labelled}\n"


def test_alias_bomb_is_refused_quickly(tmp_path, registry):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    t0 = time.perf_counter()
    with pytest.raises(RecipeError, match="expands to more than 100,000 values"):
        load_recipe(path, registry)
    assert time.perf_counter() - t0 < 2


def test_aliases_of_a_normal_size_still_work(tmp_path, registry):
    body = SIMPLE.replace("source: {use: test.labelled, with: {n: 400}}",
                          "source: {use: test.labelled, with: &src {n: 400}}\ndescription: ok")
    r = load_recipe(write_recipe(tmp_path / "r.yaml", body), registry)
    assert r.source.component.config.n == 400


def test_recursive_alias_is_refused(tmp_path, registry):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\nsource: {use: test.labelled}\nloop: &a [1, *a]\n")
    with pytest.raises(RecipeError, match=r"r.yaml:3:\d+: a YAML alias refers to the node that contains it"):
        load_recipe(path, registry)


@pytest.mark.parametrize("data,match", [
    (b"name: x\x00\nsource: {use: test.labelled}\n", r"x.yaml:1:8: NUL byte"),
    (b"name: x\nsource: {use: test.labelled}\ndescription: caf\xe9\n", r"x.yaml:3:17: the recipe is not valid UTF-8"),
    (b"name: x\n" + b"#" * (2 << 20), "too large for a recipe"),
])
def test_binary_recipes_are_refused_with_line_and_column(tmp_path, registry, data, match):
    path = tmp_path / "x.yaml"
    path.write_bytes(data)
    with pytest.raises(RecipeError, match=match):
        load_recipe(path, registry)


def test_duplicate_keys_are_an_error_naming_both_lines(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE + "seed: 6\n")
    with pytest.raises(RecipeError, match=r"r.yaml:10:1: duplicate key 'seed' \(first at line 2\)"):
        load_recipe(path, registry)
    nested = SIMPLE.replace("with: {n: 400}", "with: {n: 400, n: 500}")
    with pytest.raises(RecipeError, match="duplicate key 'n'"):
        load_recipe(write_recipe(tmp_path / "r2.yaml", nested), registry)


# -- 5. recipe names are folder names ----------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", ".hidden", "..", "x" * 101, "a\\b"])
def test_recipe_name_must_be_a_plain_folder_name(tmp_path, registry, name):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("name: simple", f"name: {json.dumps(name)}"))
    with pytest.raises(RecipeError, match="plain folder name"):
        load_recipe(path, registry)


# -- 3. expressions: bounded, arity and types checked at `check` -------------------------------

@pytest.mark.parametrize("text,match", [
    ("parallax > 9**9**9", "cannot be computed"),
    ("parallax > 2**64", r"'2 \*\* 64' cannot be computed"),
    ("parallax > 2**62 * 4", "does not fit 64 bits"),
    ("parallax > 123456789012345678901234567890", "does not fit 64 bits"),
    ("parallax > 1/0", "cannot be computed"),
    ("+".join(["a"] * 1500) + " > 1", "levels deep"),
    ("not " * 3000 + "a", "at most 10,000"),
    ("-" * 100_000 + "a", "at most 10,000"),
    ("(" * 90 + "a" + ")" * 90, None),
    ("log10(a, b) > 1", r"log10\(\) takes 1 argument, got 2"),
    ("min() > 1", r"min\(\) takes at least 2 arguments, got 0"),
    ("hypot(a) > 1", r"hypot\(\) takes 2 arguments, got 1"),
    ("parallax + 'a' > 1", "Add of a string"),
    ("-'a' > 1", "of a string"),
    ("sqrt('x') > 1", r"sqrt\(\) of a string"),
    ("'a' < 3", "compared with a number"),
    ("a > 1 and 'x'", "string used as a condition"),
])
def test_hostile_or_wrong_expressions_fail_at_check(text, match):
    t0 = time.perf_counter()
    if match is None:
        Expression(text)   # deep but within bounds
    else:
        with pytest.raises(RecipeError, match=match):
            Expression(text)
    assert time.perf_counter() - t0 < 2


def test_bounded_expressions_still_compute():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0], "c": [2.0, 2.0, 0.0], "n": [1, 2, 4]})
    assert list(Expression("min(a, b, c)").evaluate(df)) == [1.0, 1.0, 0.0]
    assert list(Expression("max(a, b, c)").evaluate(df)) == [3.0, 2.0, 3.0]
    assert list(Expression("n ** -1").evaluate(df)) == [1.0, 0.5, 0.25]       # integer column, negative power
    assert list(Expression("a * 2**10 > 2047").evaluate(df)) == [False, True, True]
    assert Expression("q == 'AAA'").columns == ["q"]


def test_check_reports_expression_errors_with_exit_2(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {use: gaia.mock, with: {n_stars: 1000}}\n"
                      "cuts:\n  - {use: expr.cut, with: {expr: 'parallax > 9**9**9'}}\n")
    res = runner.invoke(app, ["check", str(recipe)])
    assert res.exit_code == 2 and "cannot be computed" in res.output and "Traceback" not in res.output


# -- 4. a total deadline per request --------------------------------------------------------------

class _Trickle(BaseHTTPRequestHandler):
    """Answers 200 and then one byte every 0.1 s for a long time (each read is quick, the whole is not)."""

    def log_message(self, *args):
        pass

    def _trickle(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-votable+xml")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    do_GET = do_POST = _trickle


@pytest.fixture
def trickle_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tap"
    server.shutdown()
    server.server_close()


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(trickle_url):
    import requests

    from toolkit.core.remote import _session

    t0 = time.perf_counter()
    with pytest.raises(requests.Timeout, match="deadline"):
        _session(timeout_s=1.0, deadline_s=1.0).get(trickle_url + "/sync")
    assert time.perf_counter() - t0 < 3
    time.sleep(0.5)   # the abandoned worker notices its closed connection at its next read and ends
    assert not [t for t in threading.enumerate() if t.name.startswith("toolkit-request") and t.is_alive()]


def test_tap_query_against_a_trickling_server_times_out(trickle_url):
    from toolkit.core import SourceUnavailable
    from toolkit.core.remote import tap_query

    t0 = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="timed out"):
        tap_query(trickle_url, "SELECT TOP 1 * FROM t", label="test", timeout_s=1.0, deadline_s=1.0, retries=1,
                  backoff_s=0.01, cache=False)
    assert time.perf_counter() - t0 < 5


def test_gaia_archive_takes_a_deadline():
    from toolkit.plugins.gaia.archive import GaiaArchive

    cfg = GaiaArchive.Config(deadline_s=5)
    assert cfg.query_options("SELECT TOP 10 * FROM x")["deadline_s"] == 5


# -- 6., 7., 8. run folders: --force, races, stale partial folders, SIGTERM -----------------------

def test_force_never_deletes_a_folder_that_is_not_a_run(tmp_path, registry):
    mine = tmp_path / "run"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(ToolkitError, match="not a toolkit run folder"):
        run(tmp_path, registry, force=True)
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert not list(tmp_path.glob(".run.partial-*"))


def test_force_replaces_an_earlier_run(tmp_path, registry):
    first, _ = run(tmp_path, registry)
    (first / "note.txt").write_text("old")
    again, manifest = run(tmp_path, registry, force=True)
    assert again == first and not (again / "note.txt").exists() and manifest["seed"] == 5
    assert not (again / ".toolkit-staging").exists() and ".toolkit-staging" not in manifest["files"]
    assert not list(tmp_path.glob(".run.*"))   # no staging, old copy or lock left beside it


def test_second_of_two_simultaneous_runs_fails_at_publication(tmp_path):
    target = tmp_path / "out"
    b = RunFolder(target)
    # both in this process here, so give b a staging folder of its own before a is made
    os.rename(b.staging, tmp_path / ".out.partial-b")
    b.staging = tmp_path / ".out.partial-b"
    a = RunFolder(target)
    (a.staging / "manifest.json").write_text('{"toolkit_version": "x", "recipe": {}}')
    (b.staging / "manifest.json").write_text('{"toolkit_version": "y", "recipe": {}}')
    a.publish()
    with pytest.raises(ToolkitError, match="was created by someone else"):
        b.publish()
    assert json.loads((target / "manifest.json").read_text())["toolkit_version"] == "x"


@pytest.mark.parametrize("out", [".", "..", "./"])
def test_out_may_not_be_the_working_directory(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ToolkitError, match="working directory"):
        RunFolder(Path(out), force=True)
    assert not list(tmp_path.parent.glob("*.partial-*"))


def test_stale_partial_folders_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run.partial-{dead.pid}"
    stale.mkdir()
    (stale / ".toolkit-staging").write_text(str(dead.pid))
    (stale / "scored.parquet").write_text("half")
    old = tmp_path / f".run.old-{dead.pid}"
    old.mkdir()
    (old / "manifest.json").write_text('{"toolkit_version": "0.1.0", "recipe": {}}')
    live = tmp_path / f".other.partial-{os.getppid()}"
    live.mkdir()
    (live / ".toolkit-staging").write_text("")
    not_ours = tmp_path / f".notes.partial-{dead.pid}"   # a user's folder that happens to look alike
    not_ours.mkdir()
    (not_ours / "notes.txt").write_text("mine")
    RunFolder(tmp_path / "run").discard()
    assert not stale.exists() and not old.exists() and live.exists() and (not_ours / "notes.txt").exists()
    assert clean_stale_partials(tmp_path) == []


@pytest.mark.slow
def test_sigterm_ends_a_run_like_ctrl_c(tmp_path):
    recipe = tmp_path / "slow.yaml"
    recipe.write_text("name: slow\nsource: {use: gaia.mock, with: {n_stars: 300000}}\n"
                      "detectors:\n  - {use: detectors.isolation_forest, with: {features: [parallax, pmra, pmdec]}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "toolkit.core.cli", "run", str(recipe), "--out",
                             str(tmp_path / "run")], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".run.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "SIGTERM" in stderr and "Traceback" not in stderr
    assert not list(tmp_path.glob(".run.partial-*")) and not (tmp_path / "run").exists()


def test_unwritable_places_are_clear_errors(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ToolkitError, match="is a file, not a folder"):
        RunFolder(afile / "sub" / "run")
    with pytest.raises(ToolkitError, match="exists and is not a folder"):
        RunFolder(afile)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)   # as a non-root user in a read-only folder
    with pytest.raises(ToolkitError, match="permission denied"):
        RunFolder(tmp_path / "run")

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(ToolkitError, match="cannot create the folder"):
        RunFolder(tmp_path / "deep" / "run")


# -- 9. a format that cannot hold the table is reported, the run kept ----------------------------

def test_fits_with_non_ascii_column_names_keeps_the_run(tmp_path, registry):
    body = SIMPLE.replace('columns: {ab: "a * b"}, units: {ab: "km pc / s"}',
                          'columns: {vélocité: "a * b"}, units: {vélocité: "km pc / s"}')
    path, manifest = run(tmp_path, registry, body=body, formats=["fits", "csv"])
    assert (path / "candidates.parquet").is_file() and (path / "candidates.csv").is_file()
    assert not (path / "candidates.fits").exists()
    assert any("not written as fits" in w for w in manifest["warnings"])


# -- 12. ids must identify rows -----------------------------------------------------------------

@pytest.mark.parametrize("ids,match", [([1, 2, 2, 3], "repeated on 2 rows"), ([1.0, np.nan, 3.0, 4.0], "without an id")])
def test_duplicate_or_missing_ids_are_refused(tmp_path, ids, match):
    csv = tmp_path / "stars.csv"
    pd.DataFrame({"source_id": ids, "a": [1.0, 2, 3, 4], "b": [1.0, 2, 3, 4]}).to_csv(csv, index=False)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: ids\nsource: {{use: table.file, with: {{path: '{csv}', id_column: source_id}}}}\n")
    with pytest.raises(StageError, match=match):
        execute(recipe, tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_match_never_overwrites_an_input_or_without_force(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"ra": [10.0], "dec": [-5.0]}).to_csv(table, index=False)
    before = table.read_text()
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known", "--out", str(table), "--force"])
    assert res.exit_code == 2 and "is one of the inputs" in res.output and table.read_text() == before
    out = tmp_path / "m.csv"
    out.write_text("mine")
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known", "--out", str(out)])
    assert res.exit_code == 2 and "--force" in res.output and out.read_text() == "mine"
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known", "--out", str(out), "--force"])
    assert res.exit_code == 0 and "match_mock_known" in out.read_text()


def test_match_warns_about_repeated_ids(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"source_id": [1, 1], "ra": [10.0, 20.0], "dec": [-5.0, 5.0]}).to_csv(table, index=False)
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known"])
    assert res.exit_code == 0 and "repeated on 2 rows" in " ".join(res.output.split())


# -- 13. caches are verified and never hold truncated answers ------------------------------------

LESSON = "SELECT TOP 16 source_id, ra, dec FROM gaiadr3.gaia_source"


def test_truncated_tap_cache_file_is_not_used(fake_tap, ctx):
    from fake_tap import recorded
    from toolkit.core.remote import cached_query_path, tap_query

    fake_tap.respond(None, recorded("gaia_lesson_sample.vot"))
    tap_query(fake_tap.url, LESSON, label="test")
    path = cached_query_path(fake_tap.url, LESSON)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["size"] == path.stat().st_size and len(sidecar["sha256"]) == 64
    path.write_bytes(path.read_bytes()[:2880])   # whole FITS blocks: astropy would read it without a word
    tab = tap_query(fake_tap.url, LESSON, label="test", ctx=ctx)
    assert len(tab) == 16 and len(fake_tap.requests) == 2
    assert any("records" in w and "bytes" in w for w in ctx.warnings)


@pytest.mark.filterwarnings("ignore::pyvo.dal.exceptions.DALOverflowWarning")
def test_overflowing_tap_answer_is_not_cached(fake_tap, tmp_path, ctx):
    from fake_tap import recorded
    from toolkit.core.remote import cached_query_path, tap_query

    text = recorded("gaia_lesson_sample.vot").read_text()
    marked = tmp_path / "overflow.vot"
    marked.write_text(text.replace('<RESOURCE type="results">',
                                   '<RESOURCE type="results">\n<INFO name="QUERY_STATUS" value="OVERFLOW"/>', 1))
    fake_tap.respond(None, marked)
    with pytest.warns(UserWarning, match="the service truncated the result"):
        tab = tap_query(fake_tap.url, LESSON, label="test")
    assert tab.meta["tap_overflow"] and tab.meta["tap_cache"] is None
    assert not cached_query_path(fake_tap.url, LESSON).exists()
    tap_query(fake_tap.url, LESSON, label="test", ctx=ctx)
    assert len(fake_tap.requests) == 2                  # asked again: nothing was served from a cache


def test_vizier_cache_is_verified_and_overflow_is_not_cached(monkeypatch, ctx):
    from test_catalogs_vizier import FakeVizieR, _install, belczynski_response
    from toolkit.catalogs.vizier import cache_path, query_status
    from toolkit.catalogs.vizier_catalogs import Belczynski2000

    good = belczynski_response()
    fake = FakeVizieR({"J/A+AS/146/407": good})
    _install(monkeypatch, fake)
    Belczynski2000().load(ctx)
    path = cache_path("J/A+AS/146/407")
    path.write_bytes(good[: len(good) // 2])            # a cut-off copy
    table = Belczynski2000().load(ctx)
    assert len(fake.calls) == 2 and len(table) == 4 and table.meta["cache_hit"] is False
    assert any("not used" in w for w in ctx.warnings)
    # an answer VizieR marks OVERFLOW is used once and never cached
    path.unlink()
    overflow = good.replace(b'<INFO name="-out.max"', b'<INFO name="QUERY_STATUS" value="OVERFLOW"/><INFO name="-out.max"')
    assert query_status(overflow) == "OVERFLOW" and query_status(good) == "OK"
    fake.answers["J/A+AS/146/407"] = overflow
    Belczynski2000().load(ctx)
    assert not path.exists()


# -- 14. a simulated catalogue outside a run says what it depends on -----------------------------

def test_match_against_a_mock_catalogue_names_its_seed(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"ra": [10.0, 20.0], "dec": [-5.0, 5.0]}).to_csv(table, index=False)
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known", "--seed", "11"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "is simulated" in text and "seed 11" in text and "--seed" in text


def test_match_names_proper_motion_columns(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"ra": [10.0], "dec": [-5.0], "pmde": [3.0], "pmra": [1.0]}).to_csv(table, index=False)
    cat = tmp_path / "cat.csv"
    pd.DataFrame({"name": ["x"], "ra": [10.0], "dec": [-5.0]}).to_csv(cat, index=False)
    res = runner.invoke(app, ["match", str(table), "--catalog", str(cat), "--epoch", "1991.25",
                              "--pmdec-column", "pmde"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["match", str(table), "--catalog", str(cat), "--epoch", "1991.25"])
    assert res.exit_code == 2 and "pmdec" in res.output and "Traceback" not in res.output


def test_match_negative_radius_is_exit_2(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"ra": [10.0], "dec": [-5.0]}).to_csv(table, index=False)
    res = runner.invoke(app, ["match", str(table), "--catalog", "symbiotic.mock_known", "--radius", "-2"])
    assert res.exit_code == 2 and "--radius" in res.output and "greater than 0" in res.output


# -- 15. candidates.csv is CSV that the usual readers read as it is --------------------------------

def test_candidates_csv_is_comma_separated_and_units_are_kept_elsewhere(tmp_path, registry):
    path, manifest = run(tmp_path, registry, formats=["csv", "ecsv"])
    text = (path / "candidates.csv").read_text()
    assert text.startswith("row_id,a,b,")
    via_astropy = ATable.read(path / "candidates.csv")          # no options: the defaults must work
    via_pandas = pd.read_csv(path / "candidates.csv")
    assert len(via_astropy) == len(via_pandas) == manifest["rows"]["candidates"] > 0
    assert {"a", "score_dist", "flag_dist"} <= set(via_pandas.columns)
    assert str(ATable.read(path / "candidates.ecsv")["a"].unit) == "km / s"
    assert manifest["columns"]["a"]["unit"] == "km/s" and manifest["columns"]["ab"]["unit"] == "km pc / s"


# -- tracebacks that became clear errors --------------------------------------------------------

def test_set_into_a_scalar_is_exit_2():
    res = runner.invoke(app, ["check", "gaia_kinematic", "--set", "seed.x=1"])
    assert res.exit_code == 2 and "'seed' is a value" in res.output


def test_huge_n_stars_is_exit_2(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {use: gaia.mock, with: {n_stars: 1.0e+23}}\n")
    res = runner.invoke(app, ["run", str(recipe), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "n_stars" in res.output and "Traceback" not in res.output


def test_nul_and_bad_utf8_recipes_are_exit_2(tmp_path):
    for data in (b"name: x\x00\n", b"name: \xff\n"):
        recipe = tmp_path / "r.yaml"
        recipe.write_bytes(data)
        res = runner.invoke(app, ["check", str(recipe)])
        assert res.exit_code == 2 and "r.yaml:1:" in res.output


# -- the newcomer's walk ------------------------------------------------------------------------

def test_several_values_after_one_option():
    assert expand_multi_values(["run", "r", "--format", "fits", "votable", "csv"]) == \
        ["run", "r", "--format", "fits", "--format", "votable", "--format", "csv"]
    assert expand_multi_values(["--set", "a=1", "b=2", "recipe.yaml"]) == ["--set", "a=1", "--set", "b=2", "recipe.yaml"]
    assert expand_multi_values(["--set", "a=1", "--", "b=2"]) == ["--set", "a=1", "--", "b=2"]
    res = runner.invoke(app, ["check", "gaia_kinematic", "--set", "seed=3", "detectors.0.with.epochz=5"])
    assert res.exit_code == 2 and "epochz" in res.output


@pytest.mark.slow
def test_run_accepts_several_formats_and_sets(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {use: gaia.mock, with: {n_stars: 3000}}\ndetectors:\n"
                      "  - {use: detectors.isolation_forest, name: iso, with: {features: [parallax, pmra]}}\n")
    out = tmp_path / ("run[bold]" + "x" * 120)   # markup-like and longer than a terminal line
    res = runner.invoke(app, ["run", str(recipe), "--out", str(out), "--format", "fits", "votable",
                              "csv", "--set", "seed=3", "source.with.n_stars=2000"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)              # the path on stdout, exactly, for scripts
    names = {p.name for p in out.iterdir()}
    assert {"candidates.fits", "candidates.vot", "candidates.csv"} <= names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["rows"]["source"] == 2000


@pytest.mark.slow
def test_truth_recovery_lines_keep_the_detector_name(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {use: gaia.mock, with: {n_stars: 3000}}\ndetectors:\n"
                      "  - {use: detectors.isolation_forest, name: ae, with: {features: [parallax, pmra]}}\n")
    res = runner.invoke(app, ["run", str(recipe), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "truth recovery [ae]" in res.output and "0.5 = no better than chance" in " ".join(res.output.split())


def test_auc_below_one_half_is_explained():
    from toolkit.core.cli import _auc_text

    assert "scores lower than the rest" in _auc_text(0.0383) and "0.9617" in _auc_text(0.0383)
    assert _auc_text(0.9) == "AUC 0.9"


def _column_text(table: str, index: int) -> str:
    """The text of one column of a Rich table, every line's cell joined (wrapped cells join up)."""
    cells = [line.split("│")[index + 1] for line in table.splitlines() if line.startswith("│")]
    return "".join("".join(cells).split())


def test_listings_wrap_instead_of_cutting(monkeypatch):
    import io

    from toolkit.core import cli, get_registry
    from toolkit.core.recipe import builtin_recipes

    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", cli.Console(file=buffer, width=60))
    assert runner.invoke(app, ["plugins"]).exit_code == 0
    names = _column_text(buffer.getvalue(), 0)
    summaries = _column_text(buffer.getvalue(), 3)
    assert "…" not in buffer.getvalue()
    for entry in get_registry().all():
        assert entry.name in names
        assert "".join(entry.cls.summary.split()) in summaries
    buffer.seek(0)
    buffer.truncate(0)
    assert runner.invoke(app, ["recipes"]).exit_code == 0
    descriptions = _column_text(buffer.getvalue(), 1)
    import yaml

    for path in builtin_recipes().values():
        assert "".join(str(yaml.safe_load(path.read_text())["description"]).split()) in descriptions


def test_warnings_are_one_line_on_the_terminal_and_whole_in_the_manifest(tmp_path):
    import io

    from rich.console import Console

    from toolkit.core import RunContext

    buffer = io.StringIO()
    ctx = RunContext(seed=1, console=Console(file=buffer, width=300), show_progress=False)
    ctx.step = "validators.match"
    ctx.warn("catalogue [x] skipped: offline\nTo run offline:\n  - copy the cache\n  - or a local file")
    printed = buffer.getvalue().strip().splitlines()
    assert printed == ["warning validators.match: catalogue [x] skipped: offline (details in manifest.json)"]
    assert "copy the cache" in ctx.warnings[0]


def test_report_tables_are_readable_with_units(tmp_path, registry):
    path, _ = run(tmp_path, registry)
    html = (path / "report.html").read_text()
    assert "<div class='scroll'>" in html and "<span class='unit'>[km/s]</span>" in html
    from toolkit.core.report import _dict_table

    nested = _dict_table({"catalogs": {"known": {"n": 3, "sep": {"median": 0.5}}}, "ranks": [1, 2, 3],
                          "listed": [{"name": "EG And", "rank": 4}]})
    assert "<pre>" not in nested and "EG And" in nested and "1, 2, 3" in nested and "median" in nested


def test_pyproject_declares_direct_imports_and_has_no_deprecated_license(monkeypatch):
    import tomllib
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"]}
    assert {"requests", "threadpoolctl"} <= names
    assert any(d.startswith("hypothesis") for d in project["optional-dependencies"]["test"])
    monkeypatch.chdir(REPO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert not [w for w in caught if "license" in str(w.message).lower()]


@pytest.mark.parametrize("executor", ["memory", "stream"])
def test_ids_repeated_in_different_chunks_are_refused(tmp_path, executor):
    """Each chunk is fine on its own; the repeat is only seen across chunks (partitioned hash files when
    streaming, arrays in memory), and the staging folder with those files is removed."""
    pq = tmp_path / "stars.parquet"
    ids = np.arange(1, 1001)
    ids[900] = 17          # row 900 repeats row 16, in another chunk of 300 rows
    pd.DataFrame({"source_id": ids, "a": np.arange(1000.0), "b": np.ones(1000)}).to_parquet(pq)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: ids\nsource: {{use: table.file, with: {{path: '{pq}', id_column: source_id}}}}\n")
    with pytest.raises(StageError, match=r"repeats 1 value\(s\) across chunks"):
        execute(recipe, tmp_path / "run", show_progress=False, executor=executor, chunk_rows=300)
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run*"))
