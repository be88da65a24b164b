"""hipparcos.figures: HR and reduced-proper-motion diagrams, candidates named by HIP number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.core import ColumnInfo, StageError, Table
from toolkit.plugins.hipparcos.figures import HipparcosFigures
from toolkit.plugins.hipparcos.named_stars import NAMED_STARS, star_names
from toolkit.plugins.hipparcos.source import bundled_catalogue


def scored_table(n=200):
    rng = np.random.default_rng(3)
    hip = np.arange(1000, 1000 + n)
    hip[0], hip[1] = 87937, 57939
    score_ae = rng.random(n)
    score_ae[[0, 1, 7]] = [5.0, 4.0, 3.0]
    df = pd.DataFrame({"source_id": hip, "b_v": rng.normal(0.8, 0.3, n), "M_Hp": rng.normal(5, 2, n),
                       "reduced_pm": rng.normal(10, 2, n), "v_tan": rng.gamma(2, 20, n), "plx": rng.uniform(10, 50, n),
                       "score_ae": score_ae, "flag_ae": score_ae > 2.5, "flag_iforest": np.arange(n) % 50 == 7})
    df.loc[5, "b_v"] = np.nan   # a star without a colour is drawn without complaint
    return Table(df, {"M_Hp": ColumnInfo("mag"), "v_tan": ColumnInfo("km / s")}, "source_id")


def test_figures_and_candidates_named_by_hip(ctx):
    val = HipparcosFigures().validate(scored_table(), ctx)
    files = sorted(f["file"] for f in ctx.figures)
    assert files == ["figures/hr_diagram.png", "figures/reduced_pm_diagram.png"]
    for f in files:
        assert (ctx.workdir / f).stat().st_size > 10_000
    s = val.summary
    assert s["n_flagged"] == 6 and s["flagged_by"] == {"flag_ae": 3, "flag_iforest": 4}
    assert s["ordered_by"] == "score_ae"
    assert s["top_candidates"][0].startswith("HIP 87937 (Barnard's star); v_tan")
    assert s["top_candidates"][1].startswith("HIP 57939 (Groombridge 1830 (halo))")
    assert "flagged by ae, iforest" in s["top_candidates"][2]
    assert s["named"] == 2
    names = val.columns.data["star_name"]
    assert names[0] == "Barnard's star" and names[2] == ""
    assert ctx.notes["run"]["top_candidates"] == s["top_candidates"]


def test_configurable_columns_and_errors(ctx):
    table = scored_table()
    val = HipparcosFigures(flag_columns=["flag_iforest"], score_column=None, top=2, annotate=0).validate(table, ctx)
    assert val.summary["flagged_by"] == {"flag_iforest": 4} and len(val.summary["top_candidates"]) == 2
    with pytest.raises(StageError, match="M_G"):
        HipparcosFigures(absolute_magnitude="M_G").validate(table, ctx)
    with pytest.raises(StageError, match="no flag_"):
        HipparcosFigures().validate(Table(table.data.drop(columns=["flag_ae", "flag_iforest"]),
                                          dict(table.info), "source_id"), ctx)
    with pytest.raises(StageError, match="score_vae"):
        HipparcosFigures(score_column="score_vae").validate(table, ctx)


@pytest.mark.slow
def test_named_stars_are_real_nearby_hipparcos_records():
    """Every name points at a star present in I/311 with a precise parallax above 10 mas."""
    from toolkit.plugins.hipparcos.reader import read_hip2

    cols = read_hip2(bundled_catalogue())
    index = {int(h): i for i, h in enumerate(cols["HIP"])}
    for hip in NAMED_STARS:
        i = index[hip]
        assert cols["Plx"][i] > 10, hip
    assert star_names([87937, 1, np.nan]) == ["Barnard's star", "", ""]
