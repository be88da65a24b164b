"""symbiotic.figures: known rows from match columns, the seed's plots, a clear error without scores."""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import StageError, Table
from toolkit.plugins.symbiotic.figures import SymbioticFigures, known_mask


def _scored(n=200, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(12, 1, n) for c in ["u_psf", "v_psf", "g_psf", "r_psf", "i_psf", "z_psf",
                                                              "j_m", "h_m", "k_m", "w1mpro", "w2mpro"]})
    frame["score_vae"] = rng.exponential(1, n)
    frame["flag_vae"] = frame["score_vae"] >= np.quantile(frame["score_vae"], 0.98)
    frame["match_known"] = ["Sy %d" % i if i % 50 == 0 else "" for i in range(n)]
    frame["match_known_sep"] = np.where(frame["match_known"] != "", 0.3, np.nan)
    return Table(frame)


def test_known_rows_come_from_non_empty_match_columns():
    known, cols = known_mask(_scored(), None)
    assert cols == ["match_known"]
    assert np.flatnonzero(known).tolist() == [0, 50, 100, 150]


def test_figures_and_summary(ctx):
    table = _scored()
    result = SymbioticFigures().validate(table, ctx)
    s = result.summary
    assert s["n_flagged"] == 4 and s["n_known"] == 4
    assert s["threshold"] == pytest.approx(table.data.loc[table.data["flag_vae"], "score_vae"].min())
    assert {"loss_histogram.png", "loss_boxplot.png", "loss_per_object.png", "pca.png",
            "colour_colour_0.png", "colour_colour_3.png"} <= set(s["figures"])
    assert len(s["pca"]["explained_variance_ratio"]) == 2


def test_missing_columns_for_a_diagram_skip_it_with_a_warning(ctx):
    table = _scored()
    SymbioticFigures(diagrams=[{"x": "j_m - k_m", "y": "u_psf - nope"}]).validate(table, ctx)
    assert any("nope" in w for w in ctx.warnings)


def test_without_scores_the_error_names_the_detector(ctx):
    table = Table(pd.DataFrame({"score_ae": [1.0, 2.0]}))
    with pytest.raises(StageError, match="score_vae.*score_ae"):
        SymbioticFigures().validate(table, ctx)
