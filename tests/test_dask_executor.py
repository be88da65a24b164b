"""The dask executor: the stream executor's answers row for row, a scheduler that cannot be reached, dead workers."""

import time

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from core_helpers import plugin_module, registry_with, write_recipe
from dask_helpers import KillWorkerOnce, cluster  # noqa: F401  (a fixture)
from toolkit.core import RecipeError, StageError, ToolkitError
from toolkit.core.cli import app
from toolkit.core.run import execute

QUIET = Console(stderr=True, quiet=True)

#: a small recipe with no torch: the quick test of the default run
SMALL = """
name: small
seed: 7
source: {use: gaia.mock, with: {n_stars: 6000}}
cuts:
  - {use: gaia.parallax_quality, with: {min_parallax: 11, min_parallax_over_error: 10}}
  - {use: expr.cut, name: fast, with: {expr: "v_x > -400"}, after_features: true}
features:
  - {use: gaia.distance, with: {zero_point: null}}
  - {use: gaia.galactocentric}
detectors:
  - use: detectors.isolation_forest
    name: forest
    with: {features: [x, y, z, v_x, v_y, v_z], policy: kfold, folds: 2, max_train_rows: 2500,
           threshold: {method: top_fraction, value: 0.01}}
executor: {chunk_rows: 1700}
"""


def scored(path):
    return pd.read_parquet(path / "scored")


def run(tmp_path, name, executor, recipe=None, sets=(), registry=None):
    recipe = recipe or write_recipe(tmp_path / "small.yaml", SMALL)
    return execute(recipe, tmp_path / name, list(sets), console=QUIET, show_progress=False, executor=executor,
                   registry=registry)


def test_dask_equals_stream_row_for_row(tmp_path, cluster):  # noqa: F811
    stream, m1 = run(tmp_path, "stream", "stream", sets=["output.write_rejected=true"])
    dask, m2 = run(tmp_path, "dask", "dask", sets=[f"executor.scheduler={cluster}", "output.write_rejected=true"])
    a, b = scored(stream), scored(dask)
    assert len(a) > 3000 and a["flag_forest"].sum() > 10
    pd.testing.assert_frame_equal(a, b)      # every column: ids, features, scores, folds, flags
    pd.testing.assert_frame_equal(pd.read_parquet(stream / "candidates.parquet"),
                                  pd.read_parquet(dask / "candidates.parquet"))
    assert sorted(p.name for p in (dask / "scored").iterdir()) == sorted(p.name for p in (stream / "scored").iterdir())
    for key in ("cutflow", "truth_recovery", "rows"):
        assert m1[key] == m2[key], key
    assert m1["detectors"]["forest"]["threshold"] == m2["detectors"]["forest"]["threshold"]
    assert m2["executor"]["use"] == "dask" and m2["executor"]["workers"] == 2
    assert m2["executor"]["dashboard"].startswith("http") and len(m2["executor"]["worker_peak_rss_mb"]) == 2
    assert m2["executor"]["chunks"] == m1["executor"]["chunks"] == 4
    assert m2["notes"] == m1["notes"]        # training sample, frame notes recorded on the workers
    rejected = pd.read_parquet(dask / "rejected.parquet")
    assert len(rejected) == m2["rows"]["source"] - m2["rows"]["after_cuts"] > 0
    pd.testing.assert_frame_equal(pd.read_parquet(stream / "rejected.parquet"), rejected)
    assert not (dask / ".work").exists()


def test_a_source_fallback_is_announced_and_gives_the_stream_answers(tmp_path, cluster):  # noqa: F811
    fallback = ["source={use: gaia.archive, with: {query: 'SELECT TOP 10 * FROM gaiadr3.gaia_source', "
                "url: 'http://127.0.0.1:9/tap'}, fallback: {use: gaia.mock, with: {n_stars: 6000}}}"]
    stream, m1 = run(tmp_path, "stream", "stream", sets=fallback)
    dask, m2 = run(tmp_path, "dask", "dask", sets=[*fallback, f"executor.scheduler={cluster}"])
    assert m2["source"]["fallback_used"] and m2["source"]["fallback"] == "gaia.mock"
    assert m2["source"]["use"] == m1["source"]["use"] == "gaia.archive" and m2["mock"]
    pd.testing.assert_frame_equal(scored(stream), scored(dask))


def test_an_error_on_a_worker_names_the_step_and_publishes_nothing(tmp_path, cluster):  # noqa: F811
    with pytest.raises(StageError, match=r"\[cuts.1 'fast', expr.cut\].*'v_xx'"):
        run(tmp_path, "out", "dask", sets=[f"executor.scheduler={cluster}", "cuts.1.with.expr=v_xx > 0"])
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_unreachable_scheduler_is_a_clear_error_within_the_timeout(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(ToolkitError, match=r"cannot reach the dask scheduler at 'tcp://127.0.0.1:9' within 2 s"):
        run(tmp_path, "out", "dask", sets=["executor.scheduler=tcp://127.0.0.1:9", "executor.connect_timeout_s=2"])
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_cli_dask_options_and_exit_status_2(tmp_path):
    recipe = write_recipe(tmp_path / "small.yaml", SMALL)
    res = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "x"), "--executor", "dask",
                                   "--workers", "3", "--scheduler", "tcp://127.0.0.1:9",
                                   "--set", "executor.connect_timeout_s=1"])
    assert res.exit_code == 2 and "cannot reach the dask scheduler" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "x").exists()
    res = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "y"), "--executor", "dask",
                                   "--memory-per-worker", "lots"])
    assert res.exit_code == 2 and "--memory-per-worker 'lots' is not a size" in res.output


@pytest.mark.parametrize("address", ["not-an-address:xx", "tcp://127.0.0.1:9"])
def test_a_bad_scheduler_address_ends_without_a_traceback_at_exit(tmp_path, address):
    """A Client whose constructor failed used to be closed again at interpreter exit: 20 s more and
    'Exception ignored in Client.__del__' with a traceback after the clear message."""
    import subprocess
    import sys

    recipe = write_recipe(tmp_path / "small.yaml", SMALL)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "toolkit.core.cli", "run", str(recipe), "--out", str(tmp_path / "x"),
                          "--executor", "dask", "--scheduler", address, "--set", "executor.connect_timeout_s=2"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "cannot reach the dask scheduler" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr + res.stdout
    assert time.perf_counter() - t0 < 18


def test_recipe_refuses_bad_dask_settings(tmp_path):
    recipe = write_recipe(tmp_path / "small.yaml", SMALL)
    with pytest.raises(RecipeError, match="workers"):
        run(tmp_path, "out", "dask", recipe=recipe, sets=["executor.workers=0"])
    with pytest.raises(RecipeError, match="use"):
        run(tmp_path, "out", None, recipe=recipe, sets=["executor.use=spark"])




def kill_recipe(tmp_path, always: bool):
    body = SMALL.replace("features:\n", "features:\n  - {use: test.kill_worker_once, with: {marker: '%s', "
                         "always: %s}}\n" % (tmp_path / "killed", str(always).lower()))
    return write_recipe(tmp_path / "kill.yaml", body)


def kill_registry():
    return registry_with(("test.kill", plugin_module(KillWorkerOnce, hook="toolkit_register_features")))


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_replaced_and_the_run_completes(tmp_path):
    stream, _ = run(tmp_path, "stream", "stream")
    path, manifest = run(tmp_path, "dask", "dask", recipe=kill_recipe(tmp_path, always=False),
                         registry=kill_registry(), sets=["executor.workers=2"])
    assert (tmp_path / "killed").exists()          # a worker did die
    a, b = scored(stream), scored(path).drop(columns=["survived"])
    pd.testing.assert_frame_equal(a, b)            # its partitions were recomputed from their lineage


@pytest.mark.slow
def test_a_partition_that_always_kills_its_worker_fails_cleanly(tmp_path):
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with pytest.raises(StageError, match="dask workers died.*published nothing"):
            run(tmp_path, "dask", "dask", recipe=kill_recipe(tmp_path, always=True), registry=kill_registry(),
                sets=["executor.workers=2"])
    assert not (tmp_path / "dask").exists() and not list(tmp_path.glob(".dask*"))


def test_ids_repeated_in_different_partitions_are_refused(tmp_path, cluster):  # noqa: F811
    """Each partition is fine alone; the workers count hash ranges over every partition's sorted file."""
    pq = tmp_path / "stars.parquet"
    ids = list(range(1, 1001))
    ids[900] = 17          # row 900 repeats row 16, in another partition of 300 rows
    pd.DataFrame({"source_id": ids, "a": range(1000), "b": [1.0] * 1000}).to_parquet(pq)
    recipe = write_recipe(tmp_path / "r.yaml", f"name: ids\nsource: {{use: table.file, with: {{path: '{pq}', "
                                               "id_column: source_id}}\nexecutor: {chunk_rows: 300}\n")
    with pytest.raises(StageError, match=r"repeats 1 value\(s\) across partitions"):
        run(tmp_path, "run", "dask", recipe=recipe, sets=[f"executor.scheduler={cluster}"])
    assert not (tmp_path / "run").exists()
