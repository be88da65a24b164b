"""The demo recipe end to end, through toolkit's Python API (needs the plugin installed: pip install -e .)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

import toolkit

RECIPE = Path(__file__).resolve().parents[1] / "toolkit_rave" / "rave_demo.yaml"


def test_demo_recipe_runs_and_its_model_scores_again(tmp_path):
    run = toolkit.run(RECIPE, out=tmp_path / "run")
    assert run.is_mock                                     # simulated stars, and the run says so
    assert run.manifest["plugins"]["rave"].startswith("toolkit")   # found through the entry point
    assert 0 < len(run.candidates) < len(run.scored)
    assert run.scored["hrv_offset"].unit == "km / s"
    recovery = run.manifest["truth_recovery"]["robust_z"]["halo"]
    assert recovery["roc_auc"] > 0.8
    assert run.manifest["validation"]["metal_poor"]["metal_poor_share_flagged"] > 0.3

    # the saved model loads through this plugin: `toolkit score` gives the run's scores back
    cli = [sys.executable, "-m", "toolkit.core.cli", "score", str(run.model_dirs["robust_z"]),
           str(run.folder / "scored.parquet"), "--out", str(tmp_path / "rescored")]
    res = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rescored = Table.read(tmp_path / "rescored" / "scored.parquet")
    column = max(c for c in rescored.colnames if c.startswith("score_robust_z"))   # ..._rescored when both exist
    np.testing.assert_allclose(rescored[column], run.scored["score_robust_z"], equal_nan=True)
