"""The figures of README.md and docs/ against benchmarks/readme_figures.json (quick) and a fresh run (slow).

A figure in README.md or a docs page sits between markers, ``<!--fig:NAME-->84<!--/fig-->``. The
quick tests check the pages against the committed JSON, the JSON against the pages, and the
machinery; the slow ones recompute the figures (the Hipparcos recipe in full, the symbiotic
comparison, the gala timings) and fail when a change moved one: update with
``python benchmarks/readme_figures.py --write-readme``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("readme_figures", REPO / "benchmarks" / "readme_figures.py")
rf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rf)

PAGES = rf.read_pages()
FIGURES = json.loads(rf.FIGURES_JSON.read_text())


def fresh_differences(*groups) -> list[str]:
    figures = rf.compute(groups)
    return rf.differences(figures, PAGES, rf.SUMMARIES.read_text())


# -- quick: pages <-> committed JSON ---------------------------------------------------------------

def test_every_marked_figure_agrees_with_the_committed_figures():
    marks = rf.stated_pages(PAGES)
    assert len(marks) >= 40
    unknown = sorted({n for _, n, _ in marks} - set(FIGURES))
    assert not unknown, f"pages mark figures no script computes: {unknown}"
    assert rf.differences(FIGURES, PAGES, rf.SUMMARIES.read_text()) == []


def test_the_pages_are_the_readme_and_the_docs():
    assert "README.md" in PAGES and "docs/domains/hipparcos.md" in PAGES and "docs/developer.md" not in PAGES
    assert {p for p, _, _ in rf.stated_pages(PAGES)} >= {"README.md", "docs/domains/hipparcos.md",
                                                          "docs/domains/symbiotic.md", "docs/domains/orbits.md"}


def test_a_figure_is_found_and_rewritten_on_any_page():
    pages = {"README.md": "a <!--fig:a-->1<!--/fig-->", "docs/x.md": "b <!--fig:b-->2<!--/fig-->"}
    figures = {"a": rf.figure(1, "int", "run"), "b": rf.figure(3, "int", "run")}
    assert rf.differences(figures, pages) == ["docs/x.md fig:b: says '2', fresh value '3' (run)"]
    assert rf.write_pages(figures, pages) == {"docs/x.md": "b <!--fig:b-->3<!--/fig-->"}
    assert "not stated" in rf.differences(figures, {"README.md": pages["README.md"]})[0]


def test_every_group_has_its_figures_in_the_json():
    names = set(FIGURES)
    assert {"hip_ae_rank_hd134440_pair", "hip_iforest_rank_kapteyn", "hip_ae_flags_vtan_over_180",
            "hip_ae_flags_luminous_giants", "sym_vae_mags_auc", "sym_iforest_colours_recall",
            "gala_zmax_ms_per_star", "gala_ecc_ms_per_star", "vectorised_us_per_star"} <= names
    for fig in FIGURES.values():
        assert set(fig) >= {"value", "format", "how"}
        rf.fmt(fig["value"], fig["format"])          # every format is known


def test_summaries_docstring_states_the_gala_costs():
    found = rf.stated_in_summaries(rf.SUMMARIES.read_text())
    assert set(found) == {"gala_zmax_ms_per_star", "gala_ecc_ms_per_star"}
    for name, text in found.items():
        assert rf.agrees(text, FIGURES[name])


@pytest.mark.parametrize("page", sorted(PAGES))
def test_markers_are_well_formed(page):
    """An opening marker without its closing one would hide a figure from the check."""
    text = PAGES[page]
    assert text.count("<!--fig:") == text.count("<!--/fig-->") == len(rf.stated(text))


# -- quick: the machinery can fail --------------------------------------------------------------------

@pytest.mark.parametrize("value,kind,text", [(1, "ordinal", "first"), (10, "ordinal", "10th"),
                                             (11, "ordinal", "11th"), (22, "ordinal", "22nd"),
                                             ([2, 1], "pair", "1 and 2"), (16699, "int", "16,699"),
                                             (0.8449, "f2", "0.84"), (3.249, "sig2", "3.2"), (8.04, "sig2", "8")])
def test_formats(value, kind, text):
    assert rf.fmt(value, kind) == text


def test_a_moved_figure_is_reported_and_rewritten():
    text = "ranks <!--fig:a-->15<!--/fig--> and <!--fig:b-->first<!--/fig-->; cost <!--fig:c-->1.4<!--/fig--> ms"
    figures = {"a": rf.figure(13, "int", "run"), "b": rf.figure(1, "ordinal", "run"),
               "c": rf.figure(2.5, "sig2", "timing", factor=2.0)}
    diffs = rf.differences(figures, text)
    assert len(diffs) == 1 and "fig:a: says '15', fresh value '13'" in diffs[0]   # 2.5 / 1.4 < 2: agrees
    figures["c"]["value"] = 3.2
    assert len(rf.differences(figures, text)) == 2
    rewritten = rf.write_readme(figures, text)
    assert rewritten == "ranks <!--fig:a-->13<!--/fig--> and <!--fig:b-->first<!--/fig-->; cost <!--fig:c-->3.2<!--/fig--> ms"
    assert rf.differences(figures, rewritten) == []
    assert "not stated" in rf.differences({**figures, "d": rf.figure(1, "int", "x")}, rewritten)[0]


def test_summaries_sentence_is_rewritten():
    text = "loop (about 1.4 ms (zmax) and 4.4 ms (eccentricity) per star over 100 Myr)"
    figures = {"gala_zmax_ms_per_star": rf.figure(3.21, "sig2", "t", 2.0),
               "gala_ecc_ms_per_star": rf.figure(9.9, "sig2", "t", 2.0)}
    assert len(rf.differences(figures, "", text)) == 4          # two costs off by more than 2x, two not in README
    assert rf.write_summaries(figures, text) == "loop (about 3.2 ms (zmax) and 9.9 ms (eccentricity) per star over 100 Myr)"


def test_script_check_mode_exits_nonzero_on_a_difference(monkeypatch, capsys):
    monkeypatch.setattr(rf, "GROUPS", {"stub": lambda: {"hip_records": rf.figure(1, "int", "stub")}})
    assert rf.main(["--groups", "stub", "--check"]) == 1
    assert "fig:hip_records: says '117,955', fresh value '1'" in capsys.readouterr().out


# -- fresh runs --------------------------------------------------------------------------------------------

def test_hipparcos_catalogue_figures_fresh():
    assert fresh_differences("hipparcos_catalogue") == []


@pytest.mark.slow
def test_hipparcos_recipe_figures_fresh():
    """The whole hipparcos_kinematic recipe (about a minute): ranks, cut counts and flag counts."""
    assert fresh_differences("hipparcos") == []


@pytest.mark.slow
def test_symbiotic_table_fresh():
    assert fresh_differences("symbiotic") == []


@pytest.mark.slow
def test_orbit_costs_fresh():
    """gala's per-star cost and the vectorised one, within a factor of 2 of what README states."""
    assert fresh_differences("orbit_costs") == []
