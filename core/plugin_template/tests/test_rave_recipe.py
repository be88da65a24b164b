"""The demo recipe end to end, through toolkit's Python API (needs the plugin installed: pip install -e .)."""

from pathlib import Path

import toolkit

RECIPE = Path(__file__).resolve().parents[1] / "toolkit_rave" / "rave_demo.yaml"


def test_demo_recipe_runs(tmp_path):
    run = toolkit.run(RECIPE, out=tmp_path / "run")
    assert run.is_mock                                     # simulated stars, and the run says so
    assert run.manifest["plugins"]["rave"].startswith("toolkit")   # found through the entry point
    assert 0 < len(run.candidates) < len(run.scored)
    assert run.scored["hrv_offset"].unit == "km / s"
    recovery = run.manifest["truth_recovery"]["robust_z"]["halo"]
    assert recovery["roc_auc"] > 0.8
    assert run.manifest["validation"]["metal_poor"]["metal_poor_share_flagged"] > 0.3
