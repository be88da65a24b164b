"""The mixture detectors in the detector contract: streamed runs and saved models give the in-memory numbers."""

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from toolkit.core.cli import app
from toolkit.core.models import load_model
from toolkit.core.run import execute

QUIET = Console(stderr=True, quiet=True)
OFFLINE = ["source.with.retries=0", "source.with.timeout_s=2", "source.with.cache=false", "output.formats=[]"]
CLUSTER = [*OFFLINE, "source.fallback.with.n_field=1500", "detectors.0.with.max_components=4"]


def scored(path):
    return pd.read_parquet(path / "scored.parquet") if (path / "scored.parquet").exists() \
        else pd.read_parquet(path / "scored")


def detector_columns(frame, step, names):
    return [c for c in frame.columns if c in (f"score_{step}", f"flag_{step}") or c in names]


def assert_same_columns(a, b, id_column, columns):
    a, b = a.sort_values(id_column).reset_index(drop=True), b.sort_values(id_column).reset_index(drop=True)
    np.testing.assert_array_equal(a[id_column], b[id_column])
    for c in columns:
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)


def run_both(tmp_path, recipe, sets, chunk_rows):
    mem, m1 = execute(recipe, tmp_path / "mem", sets, console=QUIET, show_progress=False)
    stream, m2 = execute(recipe, tmp_path / "stream", sets, console=QUIET, show_progress=False, executor="stream",
                         chunk_rows=chunk_rows)
    assert m2["executor"]["chunks"] > 1
    return mem, m1, stream, m2


def rescore(tmp_path, run, step):
    res = CliRunner().invoke(app, ["score", str(run / "models" / step), str(run / "scored.parquet"),
                                   "--out", str(tmp_path / f"rescored_{step}")])
    assert res.exit_code == 0, res.output
    out = pd.read_parquet(tmp_path / f"rescored_{step}" / "scored.parquet")
    np.testing.assert_array_equal(out[f"score_{step}_rescored"], out[f"score_{step}"])
    np.testing.assert_array_equal(out[f"flag_{step}_rescored"], out[f"flag_{step}"])


def test_sklearn_mixture_streamed_equals_in_memory_and_its_model_rescores(tmp_path):
    mem, m1, stream, m2 = run_both(tmp_path, "cluster_membership", CLUSTER, chunk_rows=700)
    a, b = scored(mem), scored(stream)
    cols = [c for c in a.columns if c.startswith(("p_comp", "score_gmm", "flag_gmm")) or c in ("p_cluster", "member_of")]
    assert {"p_comp1", "p_cluster", "member_of", "score_gmm", "flag_gmm"} <= set(cols)
    assert_same_columns(a, b, "source_id", cols)
    assert b["flag_gmm"].sum() > 50
    s1, s2 = m1["detectors"]["gmm"], m2["detectors"]["gmm"]
    assert s1["bic_by_components"] == s2["bic_by_components"] and s1["n_members"] == s2["n_members"]
    assert m1["truth_recovery"] == m2["truth_recovery"]
    fitted, doc = load_model(mem / "models" / "gmm")
    assert set(doc["files"]) == {"mixture.npz"} and not any(f["pickle"] for f in doc["files"].values())
    assert fitted.summary["n_cluster_components"] == s1["n_cluster_components"]
    rescore(tmp_path, mem, "gmm")
