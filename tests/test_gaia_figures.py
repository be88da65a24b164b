"""gaia.figures: picks score/flag columns, draws the panels it can, and says what it skipped."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core import Columns, RunContext, StageError
from toolkit.plugins.gaia.features import AbsoluteMagnitude, Distance, Galactocentric
from toolkit.plugins.gaia.figures import GaiaFigures, pick_score_and_flag
from toolkit.plugins.gaia.mock import GaiaMock


@pytest.fixture(scope="module")
def scored():
    ctx = RunContext(seed=1, show_progress=False)
    t = GaiaMock(n_stars=3000).load(ctx)
    for f in (Distance(), AbsoluteMagnitude(), Galactocentric(z_sun=0, galcen_distance=8.1)):
        t = t.with_columns(f.compute(t, ctx))
    score = np.hypot(t.array("v_x"), t.array("v_y") - 230.0)
    cols = Columns().add("score_ae", score).add("flag_ae", score > np.quantile(score, 0.99))
    cols.add("score_other", -score).add("flag_other", np.zeros(len(t), bool))
    return t.with_columns(cols)


def test_draws_every_panel_and_reports_them(scored, tmp_path):
    ctx = RunContext(seed=1, workdir=tmp_path, show_progress=False)
    ctx.step = "validators.figures"
    v = GaiaFigures().validate(scored, ctx)
    assert v.summary["figures"] == ["hr_diagram", "positions", "velocities", "score_histogram", "hr_truth"]
    assert v.summary["score_column"] == "score_ae" and v.summary["flags"] == "flag_ae"
    assert v.summary["n_flagged"] == int(scored.data["flag_ae"].sum())
    assert v.summary["lowest_flagged_score"] == pytest.approx(scored.array("score_ae")[scored.data["flag_ae"]].min())
    for name in v.summary["figures"]:
        assert (tmp_path / "figures" / f"figures_{name}.png").stat().st_size > 5000
    assert len(ctx.figures) == 5 and all(f["caption"] for f in ctx.figures)


def test_named_columns_and_photometry_free_tables(scored, tmp_path):
    ctx = RunContext(seed=1, workdir=tmp_path, show_progress=False)
    nophot = scored.take(np.arange(len(scored)))
    nophot.data = nophot.data.drop(columns=["M_G", "bp_rp"])
    v = GaiaFigures(score_column="score_other", flag_column="flag_ae").validate(nophot, ctx)
    assert "hr_diagram" not in v.summary["figures"] and "hr_truth" not in v.summary["figures"]
    assert any("hr_diagram" in s for s in v.summary["skipped"])
    assert v.summary["score_column"] == "score_other" and v.summary["flags"] == "flag_ae"


def test_needs_a_score_column_and_existing_named_columns(scored, ctx):
    bare = scored.take(np.arange(10))
    bare.data = bare.data.drop(columns=[c for c in bare.columns if c.startswith(("score_", "flag_"))])
    with pytest.raises(StageError, match="no score_\\* column"):
        GaiaFigures().validate(bare, ctx)
    with pytest.raises(StageError, match="score_nope"):
        GaiaFigures(score_column="score_nope").validate(scored, ctx)


def test_flags_fall_back_to_any_flag_column(scored):
    t = scored.take(np.arange(len(scored)))
    t.data = t.data.rename(columns={"score_ae": "score_x"})
    col, flags, label = pick_score_and_flag(t, "score_other", None)
    assert col == "score_other" and label == "flag_other"          # the paired flag column
    col, flags, label = pick_score_and_flag(t, None, None)          # first score column, no flag_x
    assert col == "score_x" and label == "flag_ae | flag_other"
    assert flags.sum() == scored.data["flag_ae"].sum()
