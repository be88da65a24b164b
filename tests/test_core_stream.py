"""Streamed execution: same answers as in memory, chunk-size independence, failures that leave nothing behind."""

import errno

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from core_helpers import LabelledSource, MedianDistanceDetector, plugin_module, registry_with, write_recipe
from toolkit.core import StageError, ToolkitError
from toolkit.core.cli import app
from toolkit.core.run import execute
from toolkit.plugins.detectors.saved import score_saved_model

QUIET = Console(stderr=True, quiet=True)
FAST = ["detectors.0.with.epochs=3", "output.formats=[]"]


def run_gaia(tmp_path, name, n_stars, executor=None, chunk_rows=None, extra=()):
    sets = [f"source.fallback.with.n_stars={n_stars}", *FAST, *extra]
    return execute("gaia_kinematic", tmp_path / name, sets, console=QUIET, show_progress=False,
                   executor=executor, chunk_rows=chunk_rows)


def scored(path):
    return pd.read_parquet(path / "scored.parquet") if (path / "scored.parquet").exists() \
        else pd.read_parquet(path / "scored")


def assert_same_run(a, b):
    sa, sb = scored(a), scored(b)
    np.testing.assert_array_equal(sa["source_id"], sb["source_id"])
    np.testing.assert_array_equal(sa["score_ae"], sb["score_ae"])
    np.testing.assert_array_equal(sa["flag_ae"], sb["flag_ae"])
    ca, cb = pd.read_parquet(a / "candidates.parquet"), pd.read_parquet(b / "candidates.parquet")
    assert list(ca.columns) == list(cb.columns)
    pd.testing.assert_frame_equal(ca, cb)


def test_streamed_run_equals_in_memory_run(tmp_path):
    mem, m1 = run_gaia(tmp_path, "mem", 30_000)
    stream, m2 = run_gaia(tmp_path, "stream", 30_000, executor="stream", chunk_rows=7_000)
    assert_same_run(mem, stream)
    assert m2["executor"] == {"use": "stream", "chunk_rows": 7000, "chunks": 5}
    assert sorted(p.name for p in (stream / "scored").iterdir()) == [f"part-{i:06d}.parquet" for i in range(5)]
    assert m1["truth_recovery"] == m2["truth_recovery"]
    o1, o2 = m1["validation"]["orbits"], m2["validation"]["orbits"]
    assert o1["rows"]["integrated"] == o2["rows"]["integrated"] > 0 and o1["comparison"] == o2["comparison"]
    assert not (stream / ".work").exists() and (stream / "validated.parquet").is_file()


@pytest.mark.slow
def test_200k_stars_three_chunk_sizes_same_answers(tmp_path):
    mem, _ = run_gaia(tmp_path, "mem", 200_000)
    for rows in (23_456, 65_536, 200_000):
        stream, _ = run_gaia(tmp_path, f"s{rows}", 200_000, executor="stream", chunk_rows=rows)
        assert_same_run(mem, stream)


def test_output_columns_keep_ids_features_scores_and_flags(tmp_path):
    path, _ = run_gaia(tmp_path, "few", 20_000, executor="stream", chunk_rows=8_000,
                       extra=["output.columns=[M_G, v_x]", "validators=[]"])
    cols = list(scored(path).columns)
    assert cols[0] == "source_id" and {"M_G", "v_x", "truth_population", "score_ae", "flag_ae", "fold_ae"} <= set(cols)
    assert "ra" not in cols and "parallax" not in cols


@pytest.mark.parametrize("kind", ["memory", "stream"])
def test_toolkit_score_reproduces_the_run(tmp_path, kind):
    path, _ = run_gaia(tmp_path, kind, 20_000, executor=kind, chunk_rows=6_000, extra=["validators=[]"])
    table = path / ("scored.parquet" if kind == "memory" else "scored")
    summary = score_saved_model(path / "models" / "ae", table, tmp_path / "rescored")
    out = pd.read_parquet(tmp_path / "rescored" / "scored.parquet")
    np.testing.assert_array_equal(out["score_ae_rescored"], out["score_ae"])
    np.testing.assert_array_equal(out["flag_ae_rescored"], out["flag_ae"])
    np.testing.assert_array_equal(out["votes_ae_rescored"], out["votes_ae"])   # the recipe's seed ensemble
    assert summary["rows"] == 20_000


# -- bad input --------------------------------------------------------------

@pytest.mark.parametrize("rows", ["0", "-5"])
def test_chunk_size_must_be_positive(tmp_path, rows):
    res = CliRunner().invoke(app, ["run", "gaia_kinematic", "--out", str(tmp_path / "x"), "--executor", "stream",
                                   "--chunk-rows", rows])
    assert res.exit_code == 2 and "chunk size must be a whole number of rows >= 1" in res.output
    assert not (tmp_path / "x").exists()


def test_unknown_executor_is_refused(tmp_path):
    res = CliRunner().invoke(app, ["run", "gaia_kinematic", "--out", str(tmp_path / "x"), "--executor", "spark"])
    assert res.exit_code == 2 and "choose one of memory, stream" in res.output


def test_a_source_that_cannot_stream_says_so(tmp_path):
    registry = registry_with(("test.sources", plugin_module(LabelledSource)))
    recipe = write_recipe(tmp_path / "r.yaml", "name: s\nsource: {use: test.labelled}\n")
    with pytest.raises(StageError, match="cannot stream.*--executor memory"):
        execute(recipe, tmp_path / "out", registry=registry, console=QUIET, show_progress=False, executor="stream")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_disk_full_while_writing_a_chunk_fails_cleanly(tmp_path, monkeypatch):
    from toolkit.core import executors

    calls = []

    def full(self, chunk):
        calls.append(1)
        if len(calls) == 2:
            raise StageError("cannot write the spilled chunk: [Errno 28] No space left on device (is the disk full?)")
        return original(self, chunk)

    original = executors.SpillStore.add
    monkeypatch.setattr(executors.SpillStore, "add", full)
    with pytest.raises(StageError, match="No space left"):
        run_gaia(tmp_path, "full", 20_000, executor="stream", chunk_rows=5_000)
    assert not (tmp_path / "full").exists()
    assert not list(tmp_path.glob(".full*")), "the staging folder and its spilled chunks are removed"


def test_disk_full_in_the_scored_dataset_fails_cleanly(tmp_path, monkeypatch):
    from toolkit.core import runfolder

    def full(table, path, fmt, columns=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runfolder, "write_table", full)
    with pytest.raises(StageError, match="scored dataset.*No space left"):
        run_gaia(tmp_path, "full", 10_000, executor="stream", chunk_rows=5_000, extra=["validators=[]"])
    assert not (tmp_path / "full").exists() and not list(tmp_path.glob(".full*"))


# -- saved models are safe ----------------------------------------------------

@pytest.fixture(scope="module")
def gaia_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("saved")
    path, _ = run_gaia(tmp, "run", 8_000, extra=["validators=[]"])
    return path


def copy_model(gaia_run, tmp_path):
    import shutil

    shutil.copytree(gaia_run / "models" / "ae", tmp_path / "ae")
    return tmp_path / "ae"


def test_a_changed_model_file_is_refused(gaia_run, tmp_path):
    model = copy_model(gaia_run, tmp_path)
    arrays = sorted(model.glob("*arrays.npz"))[0]      # arrays.npz, or member0_arrays.npz for a seed ensemble
    data = bytearray(arrays.read_bytes())
    data[-100] ^= 1
    arrays.write_bytes(bytes(data))
    res = CliRunner().invoke(app, ["score", str(model), str(gaia_run / "scored.parquet"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "sha256 differs" in res.output and arrays.name in res.output


class Boom:
    def __reduce__(self):
        import os

        return (os.mkdir, (str(Boom.target),))


def test_a_planted_pickle_is_never_loaded(gaia_run, tmp_path):
    import pickle

    model = copy_model(gaia_run, tmp_path)
    Boom.target = tmp_path / "pwned"
    (model / "objects.pkl").write_bytes(pickle.dumps(Boom()))
    (model / "m0_model.pkl").write_bytes(pickle.dumps(Boom()))
    res = CliRunner().invoke(app, ["score", str(model), str(gaia_run / "scored.parquet"), "--out", str(tmp_path / "o"),
                                   "--trust-pickle"])
    assert res.exit_code == 0, res.output
    assert not Boom.target.exists()


def test_a_pickled_model_needs_trust(tmp_path):
    pytest.importorskip("pyod")
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc")).to_csv(tmp_path / "t.csv", index=False)
    recipe = write_recipe(tmp_path / "r.yaml", f"""
        name: p
        source: {{use: table.file, with: {{path: {tmp_path / 't.csv'}}}}}
        detectors:
          - {{use: detectors.pyod, name: ecod, with: {{features: [a, b, c], model: HBOS, policy: fit_all}}}}
        output: {{figures: false}}
        """)
    path, _ = execute(recipe, tmp_path / "run", console=QUIET, show_progress=False)
    args = ["score", str(path / "models" / "ecod"), str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "is a pickle" in res.output and "--trust-pickle" in res.output
    assert CliRunner().invoke(app, [*args, "--trust-pickle"]).exit_code == 0


def test_units_are_converted_or_refused(gaia_run, tmp_path):
    from astropy.table import Table as ATable

    tab = ATable.read(gaia_run / "scored.parquet")
    base = score_saved_model(gaia_run / "models" / "ae", gaia_run / "scored.parquet", tmp_path / "base")
    for c in ("x", "y", "z"):
        tab[c] = tab[c].to("kpc")                   # the model learnt x, y, z in pc
    tab.write(tmp_path / "kpc.parquet")
    converted = score_saved_model(gaia_run / "models" / "ae", tmp_path / "kpc.parquet", tmp_path / "pc")
    assert converted["unit_conversions"] == pytest.approx({"x": 1000.0, "y": 1000.0, "z": 1000.0})
    a = pd.read_parquet(tmp_path / "base" / "scored.parquet")["score_ae_rescored"]
    b = pd.read_parquet(tmp_path / "pc" / "scored.parquet")["score_ae_rescored"]
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert base["flagged"] == converted["flagged"]
    tab["v_x"].unit = "mag"
    tab.write(tmp_path / "bad.parquet")
    with pytest.raises(StageError, match="column 'v_x' is in mag.*km / s"):
        score_saved_model(gaia_run / "models" / "ae", tmp_path / "bad.parquet", tmp_path / "bad")


def test_a_damaged_model_json_is_a_clear_error(gaia_run, tmp_path):
    model = copy_model(gaia_run, tmp_path)
    for text, message in [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object"),
                          ('{"format_version": 2}', "key 'component' is missing")]:
        (model / "model.json").write_text(text)
        res = CliRunner().invoke(app, ["score", str(model), str(gaia_run / "scored.parquet"), "--out",
                                       str(tmp_path / "o")])
        assert res.exit_code == 2 and message in res.output, res.output


def test_third_party_detector_model_scores_through_the_registry(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(500, 2)), columns=["a", "b"])
    df.loc[:4, "a"] += 10
    df.to_csv(tmp_path / "t.csv", index=False)
    registry = registry_with(("thirdparty", plugin_module(MedianDistanceDetector, hook="toolkit_register_detectors")))
    recipe = write_recipe(tmp_path / "r.yaml", f"""
        name: third
        source: {{use: table.file, with: {{path: {tmp_path / 't.csv'}}}}}
        detectors:
          - {{use: test.median_distance, name: md, with: {{features: [a, b]}}}}
        output: {{figures: false}}
        """)
    for executor in ("memory", "stream"):
        path, m = execute(recipe, tmp_path / executor, registry=registry, console=QUIET, show_progress=False,
                          executor=executor, chunk_rows=128)
        assert m["detectors"]["md"]["n_flagged"] == 5
    summary = score_saved_model(tmp_path / "stream" / "models" / "md", tmp_path / "t.csv", tmp_path / "o",
                                registry=registry)
    assert summary["flagged"] == 5 and summary["component"] == "test.median_distance"
    with pytest.raises(ToolkitError, match="no installed plugin provides"):
        score_saved_model(tmp_path / "stream" / "models" / "md", tmp_path / "t.csv", tmp_path / "o2")


# -- every built-in recipe's saved models give back the run's scores ------------------------

RECIPES = {
    "gaia_kinematic": ["source.fallback.with.n_stars=12000", "detectors.0.with.epochs=3", "validators=[]"],
    "gaia_kinematic_vae": ["source.fallback.with.n_stars=12000", "detectors.0.with.epochs=3", "validators=[]"],
    "gaia_kinematic_nophot": ["source.fallback.with.n_stars=12000", "detectors.0.with.epochs=3", "validators=[]"],
    "hipparcos_kinematic": ["detectors.0.with.epochs=3"],
    "symbiotic": [],
    "leavitt_law": ["source.with.retries=0", "source.fallback.with.n_stars=1500"] + [
        f"detectors.{i}.with.{k}={v}" for i in range(3) for k, v in (("n_steps", 1000), ("burn", 200),
                                                                   ("autocorr_multiple", 25))],
    "cluster_membership": ["source.with.retries=0", "source.with.cache=false", "source.fallback.with.n_field=1500",
                           "detectors.0.with.max_components=4"],
    "moving_group": ["source.with.retries=0", "source.with.cache=false",
                     "source.fallback.with.background.n_stars=1500", "detectors.0.with.max_groups=2",
                     "detectors.0.with.age_step=2", "validators=[]"],
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_toolkit_score_reproduces_every_builtin_recipe(tmp_path, recipe):
    path, manifest = execute(recipe, tmp_path / "run", [*RECIPES[recipe], "output.formats=[]",
                                                          "output.figures=false"], console=QUIET,
                             show_progress=False)
    models = sorted(p.name for p in (path / "models").iterdir())
    assert models, "the recipe saved no model"
    for step in models:
        res = CliRunner().invoke(app, ["score", str(path / "models" / step), str(path / "scored.parquet"),
                                       "--out", str(tmp_path / step), "--trust-pickle"])
        assert res.exit_code == 0, res.output
        out = pd.read_parquet(tmp_path / step / "scored.parquet")
        np.testing.assert_array_equal(out[f"score_{step}_rescored"], out[f"score_{step}"])
        np.testing.assert_array_equal(out[f"flag_{step}_rescored"], out[f"flag_{step}"])
        if f"votes_{step}" in out:      # a seed ensemble: the share of members flagging each star
            np.testing.assert_array_equal(out[f"votes_{step}_rescored"], out[f"votes_{step}"])


def test_a_pickle_listed_as_plain_is_still_refused(gaia_run, tmp_path):
    """A crafted model.json that lists a pickle without its pickle mark must not get it unpickled."""
    import hashlib
    import json
    import pickle

    model = copy_model(gaia_run, tmp_path)
    Boom.target = tmp_path / "pwned2"
    payload = pickle.dumps(Boom())
    (model / "m0_model.pkl").write_bytes(payload)
    doc = json.loads((model / "model.json").read_text())
    doc["component"] = "detectors.isolation_forest"
    state = doc["state"]["members"][0] if "members" in doc["state"] else doc["state"]   # a seed ensemble's first
    state["models"][0]["estimator"]["kind"] = "isolation_forest"
    state["models"][0]["objects"] = {"model": "m0_model.pkl"}
    doc["files"]["m0_model.pkl"] = {"sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload),
                                    "pickle": False}
    (model / "model.json").write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["score", str(model), str(gaia_run / "scored.parquet"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is a pickle" in res.output, res.output
    assert not Boom.target.exists()


def test_in_memory_run_holds_chunks_and_joins_validator_columns_back(tmp_path):
    """In memory a streaming source is read in chunks (same answers as one chunk and as streamed);
    validators see the flagged, selected and sampled rows, and their columns reach scored.parquet."""
    sets = ["executor.validation_rows=4000"]
    one, m1 = run_gaia(tmp_path, "one", 20_000, chunk_rows=20_000, extra=sets)
    many, m2 = run_gaia(tmp_path, "many", 20_000, chunk_rows=6_000, extra=sets)
    stream, _ = run_gaia(tmp_path, "stream", 20_000, executor="stream", chunk_rows=6_000, extra=sets)
    assert m1["executor"]["chunks"] == 1 and m2["executor"]["chunks"] == 4
    assert_same_run(one, many)
    assert_same_run(many, stream)
    a, b = scored(one), scored(many)
    pd.testing.assert_frame_equal(a, b)
    assert {"orbit_zmax", "orbit_status", "E"} <= set(b.columns)
    seen = pd.read_parquet(stream / "validated.parquet")
    assert 4_000 < len(seen) < 6_000                # flagged + orbit reference + a 4,000-row sample of 20,000
    inside = b["source_id"].isin(seen["source_id"])
    assert b.loc[~inside, "E"].isna().all() and b.loc[inside, "E"].notna().all()
    assert (b.loc[b["flag_ae"], "orbit_status"] == "ok").mean() > 0.9
    merged = b.loc[inside].set_index("source_id")["orbit_zmax"]
    np.testing.assert_array_equal(merged.loc[seen["source_id"]].to_numpy(), seen["orbit_zmax"].to_numpy())
