"""Every figure the README and the docs pages state, computed afresh, compared with their text.

    python benchmarks/readme_figures.py                       # compute all, print a diff, write the JSON
    python benchmarks/readme_figures.py --groups hipparcos    # only some groups (see GROUPS)
    python benchmarks/readme_figures.py --write-readme        # also put the fresh values into the pages
    python benchmarks/readme_figures.py --check               # compare only; exit 1 on any difference

A figure is written in README.md or a page of docs/ (``pages()``) between markers,
``<!--fig:NAME-->84<!--/fig-->``, so that a script can find it and rewrite it (GitHub and the
docs site do not render the comments). The fresh values go to ``benchmarks/readme_figures.json``
(NAME -> value, format, how it was measured); the quick test tests/test_readme_figures.py checks
the pages against that file, and its slow tests compute the figures afresh. A change that moves
a figure therefore fails the tests until the pages (and the JSON) are updated with
``--write-readme``.

Groups and what they run (2 CPU cores):
- ``hipparcos_catalogue``: the bundled I/311 file read once (seconds);
- ``hipparcos``: recipes/hipparcos_kinematic.yaml, seed 42, in full (about a minute);
- ``symbiotic``: benchmarks/symbiotic.py's comparison (recipe + four detector choices; minutes);
- ``orbit_costs``: gala's Orbit.zmax()/eccentricity() against the vectorised summaries per star
  (timings: compared within a factor of 2, not exactly).

Exit status: 0 when every page agrees with every figure computed, 1 otherwise (after printing
each difference), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
#: docs pages that state no figure of their own (developer.md shows the marker syntax in an example)
NOT_PAGES = {"developer.md"}
FIGURES_JSON = ROOT / "benchmarks" / "readme_figures.json"
SUMMARIES = ROOT / "plugins" / "orbits" / "summaries.py"
MARKER = re.compile(r"<!--fig:(?P<name>[a-z0-9_]+)-->(?P<text>.*?)<!--/fig-->", re.S)
#: the cost sentence of plugins/orbits/summaries.py (its docstring), checked like a README figure
SUMMARIES_COSTS = re.compile(r"about (?P<gala_zmax_ms_per_star>[0-9.]+) ms \(zmax\) and "
                             r"(?P<gala_ecc_ms_per_star>[0-9.]+) ms \(eccentricity\) per star")

# -- formats -----------------------------------------------------------------------------------

_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third"}


def fmt(value, kind: str) -> str:
    """README text of a value: ``int`` 16,699; ``ordinal`` first / 10th; ``pair`` 1 and 2;
    ``f2`` 0.85; ``f3`` 0.958; ``sig2`` two significant digits (timings)."""
    if kind == "int":
        return f"{int(value):,}"
    if kind == "ordinal":
        v = int(value)
        if v in _ORDINAL_WORDS:
            return _ORDINAL_WORDS[v]
        suffix = "th" if 10 <= v % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(v % 10, "th")
        return f"{v}{suffix}"
    if kind == "pair":
        return " and ".join(str(int(v)) for v in sorted(value))
    if kind == "f2":
        return f"{value:.2f}"
    if kind == "f3":
        return f"{value:.3f}"
    if kind == "sig2":
        return f"{float(f'{value:.2g}'):g}"
    raise ValueError(f"unknown figure format {kind!r}")


def agrees(text: str, figure: dict) -> bool:
    """Does the README's text state this figure? Exact text, or within ``factor`` for timings."""
    if figure.get("factor"):
        try:
            stated = float(text)
        except ValueError:
            return False
        return stated > 0 and 1 / figure["factor"] <= figure["value"] / stated <= figure["factor"]
    return text == fmt(figure["value"], figure["format"])


def figure(value, format: str, how: str, factor: float | None = None) -> dict:
    out = {"value": value, "format": format, "how": how}
    if factor:
        out["factor"] = factor
    return out


# -- the groups ----------------------------------------------------------------------------------

def hipparcos_catalogue() -> dict:
    """The bundled I/311 file: records, non-positive parallaxes, stars without colours."""
    from toolkit.core import RunContext
    from toolkit.plugins.hipparcos.source import Hip2Source

    table = Hip2Source().load(RunContext(seed=0, show_progress=False, figures=False))
    how = "hipparcos.hip2 on the bundled I/311 file"
    return {
        "hip_records": figure(len(table), "int", how),
        "hip_nonpositive_parallax": figure(int((table.array("plx") <= 0).sum()), "int", how),
        "hip_missing_colour": figure(int(table.meta["missing_colour"]), "int", how),
    }


#: HIP numbers of the stars the README names
HIP = {"hd134440": 74235, "hd134439": 74234, "groombridge1830": 57939, "hd84937": 48152, "hd140283": 76976,
       "kapteyn": 24186, "barnard": 87937, "proxima": 70890}


def ranks(table, score_column: str) -> dict[int, int]:
    """HIP -> 1-based rank by descending score among all scored stars."""
    score = table.array(score_column)
    order = np.argsort(-score, kind="stable")
    ids = table.data["source_id"].to_numpy()[order]
    return {int(h): k + 1 for k, h in enumerate(ids)}


def hipparcos() -> dict:
    """recipes/hipparcos_kinematic.yaml in full (seed 42): cut counts, ranks and flag counts."""
    from toolkit.core import RunContext, get_registry
    from toolkit.core.recipe import load_recipe
    from toolkit.core.runner import run_recipe

    registry = get_registry()
    recipe = load_recipe("hipparcos_kinematic", registry)
    ctx = RunContext(seed=recipe.seed, show_progress=False, figures=False)
    t0 = time.perf_counter()
    res = run_recipe(recipe, registry, ctx)
    print(f"  hipparcos_kinematic: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    t = res.table
    how = f"recipes/hipparcos_kinematic.yaml, seed {recipe.seed}, whole recipe"
    flow = res.cutflow.set_index("step")["rows_out"]
    ae, forest = ranks(t, "score_ae"), ranks(t, "score_iforest")
    flag_ae = t.data["flag_ae"].to_numpy(bool)
    flag_if = t.data["flag_iforest"].to_numpy(bool)
    v_tan, m_hp, b_v = t.array("v_tan"), t.array("M_Hp"), t.array("b_v")
    order_ae = np.argsort(-t.array("score_ae"), kind="stable")
    fast = v_tan[order_ae] > 180
    leading_fast = int(np.argmin(fast)) if not fast.all() else len(fast)
    return {
        "hip_after_parallax_cut": figure(int(flow["within_100pc_precise"]), "int", how),
        "hip_after_cuts": figure(len(t), "int", how),
        "hip_flags_each": figure(int(flag_ae.sum()), "int", how + " (ae and iforest flag the same number)")
        if flag_ae.sum() == flag_if.sum() else figure([int(flag_ae.sum()), int(flag_if.sum())], "pair", how),
        "hip_ae_rank_hd134440_pair": figure([ae[HIP["hd134440"]], ae[HIP["hd134439"]]], "pair", how),
        "hip_ae_rank_groombridge1830": figure(ae[HIP["groombridge1830"]], "int", how),
        "hip_ae_rank_hd84937": figure(ae[HIP["hd84937"]], "int", how),
        "hip_ae_rank_hd140283": figure(ae[HIP["hd140283"]], "int", how),
        "hip_ae_leading_vtan_over_180": figure(leading_fast, "int", how + ": the top-ranked run with v_tan > 180 km/s"),
        "hip_ae_flags_vtan_over_180": figure(int((flag_ae & (v_tan > 180)).sum()), "int", how),
        "hip_ae_flags_luminous_giants": figure(int((flag_ae & (m_hp < 1)).sum()), "int",
                                               how + ": ae flags with M_Hp < 1"),
        "hip_ae_flags_white_dwarfs": figure(int((flag_ae & (m_hp > 10) & (b_v < 0.6)).sum()), "int",
                                            how + ": ae flags with M_Hp > 10 and B-V < 0.6"),
        "hip_iforest_flags_late_k_m_dwarfs": figure(int((flag_if & (b_v > 1.1) & (m_hp > 6)).sum()), "int",
                                                    how + ": iforest flags with B-V > 1.1 and M_Hp > 6"),
        "hip_iforest_rank_kapteyn": figure(forest[HIP["kapteyn"]], "ordinal", how),
        "hip_iforest_rank_barnard": figure(forest[HIP["barnard"]], "ordinal", how),
        "hip_iforest_rank_proxima": figure(forest[HIP["proxima"]], "ordinal", how),
    }


SYMBIOTIC_ROWS = {"vae_mags": "VAE on the 9 magnitudes (the seed)", "pca_mags": "PCA on the 9 magnitudes (the seed)",
                  "iforest_mags": "isolation forest on the 9 magnitudes",
                  "vae_colours": "VAE on dereddened + nightly colours",
                  "iforest_colours": "isolation forest on dereddened + nightly colours"}


def symbiotic() -> dict:
    """The README's symbiotic table: benchmarks/symbiotic.py's measurements (100 epochs, seed 42)."""
    # loaded by path: the benchmarks folder on sys.path would shadow packages (dask's workers inherit it)
    spec = importlib.util.spec_from_file_location("symbiotic_benchmark", ROOT / "benchmarks" / "symbiotic.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    import tempfile

    with tempfile.TemporaryDirectory() as cache:           # the mock, never a cached real answer
        previous = os.environ.get("TOOLKIT_CACHE")
        os.environ["TOOLKIT_CACHE"] = cache
        try:
            rows = bench.measure(epochs=100, seed=42, log=lambda line: print("  " + line, file=sys.stderr))
        finally:
            if previous is None:
                os.environ.pop("TOOLKIT_CACHE", None)
            else:
                os.environ["TOOLKIT_CACHE"] = previous
    how = "benchmarks/symbiotic.py (recipes/symbiotic.yaml offline, seed 42, 100 epochs, top 2 %)"
    out = {"sym_injected_after_cuts": figure(rows["n_symbiotic"], "int", how)}
    for key in SYMBIOTIC_ROWS:
        r = rows["results"][key]
        out[f"sym_{key}_auc"] = figure(r["auc"], "f2", how)
        out[f"sym_{key}_recall"] = figure(r["recall"], "f2", how)
        out[f"sym_{key}_precision"] = figure(r["precision"], "f2", how)
    return out


def orbit_costs(n_gala: int = 200, n_vector: int = 20_000) -> dict:
    """Per-star cost of gala's Orbit.zmax() and eccentricity() against the vectorised summaries
    (100 Myr at 1 Myr in MilkyWayPotential v2, solar-neighbourhood stars). Best of 3."""
    import astropy.units as u
    import gala.dynamics as gd

    from toolkit.plugins.orbits.integration import OrbitIntegrator
    from toolkit.plugins.orbits.potentials import build_potential
    from toolkit.plugins.orbits.summaries import orbit_summaries
    from toolkit.plugins.orbits.synthetic import solar_neighbourhood

    table = solar_neighbourhood(n_vector, halo_fraction=0.01, seed=3)
    pos = np.stack([table.quantity(c).to_value(u.kpc) for c in ("x", "y", "z")])
    vel = np.stack([table.quantity(c).to_value(u.km / u.s) for c in ("v_x", "v_y", "v_z")])
    xyz, t = OrbitIntegrator(build_potential("MilkyWayPotential", "v2"), 1.0, 100).orbits(pos, vel)

    def best(fn, repeats=3):
        """CPU seconds of the fastest of ``repeats`` calls: CPU time, not wall time, so that other
        processes sharing the cores slow the figure down less (both loops are single-threaded)."""
        times = []
        for _ in range(repeats):
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        return min(times)

    sub = xyz[:, :, :n_gala]
    orbit = gd.Orbit(pos=sub * u.kpc, vel=np.zeros_like(sub) * u.kpc / u.Myr, t=t * u.Myr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # gala: mean of no turning points
        zmax_s = best(orbit.zmax)
        ecc_s = best(orbit.eccentricity)
    vec_s = best(lambda: orbit_summaries(xyz, t))
    how = (f"benchmarks/readme_figures.py orbit_costs: 100 Myr at 1 Myr, MilkyWayPotential v2; gala on {n_gala} "
           f"stars, vectorised on {n_vector:,}; CPU time, best of 3; load average {os.getloadavg()[0]:.1f} on "
           f"{os.cpu_count()} cores; timings compared within a factor of 2")
    return {
        "gala_zmax_ms_per_star": figure(zmax_s / n_gala * 1e3, "sig2", how, factor=2.0),
        "gala_ecc_ms_per_star": figure(ecc_s / n_gala * 1e3, "sig2", how, factor=2.0),
        "vectorised_us_per_star": figure(vec_s / n_vector * 1e6, "sig2", how, factor=2.0),
    }


GROUPS = {"hipparcos_catalogue": hipparcos_catalogue, "hipparcos": hipparcos, "symbiotic": symbiotic,
          "orbit_costs": orbit_costs}


# -- README and docs pages ---------------------------------------------------------------------------

def pages() -> list[Path]:
    """The files that may state figures: README.md and the Markdown pages of docs/ (not the built or generated
    ones, which exist only after a docs build, so the test's parameters would depend on what ran before)."""
    docs = sorted(p for p in DOCS.rglob("*.md") if p.name not in NOT_PAGES
                  and not {"_build", "_generated"} & set(p.parts))
    return [README, *docs]


def read_pages() -> dict[str, str]:
    """Page (path relative to the repository) -> its text."""
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in pages()}


def _as_pages(texts) -> dict[str, str]:
    return {"README.md": texts} if isinstance(texts, str) else dict(texts)


def stated(readme_text: str) -> list[tuple[str, str]]:
    """(name, text) of every marked figure in one page's text, in order."""
    return [(m.group("name"), m.group("text")) for m in MARKER.finditer(readme_text)]


def stated_pages(texts) -> list[tuple[str, str, str]]:
    """(page, name, text) of every marked figure in the pages, in order."""
    return [(page, name, text) for page, body in _as_pages(texts).items() for name, text in stated(body)]


def stated_in_summaries(text: str) -> dict[str, str]:
    m = SUMMARIES_COSTS.search(text)
    return m.groupdict() if m else {}


def differences(figures: dict, texts, summaries_text: str | None = None) -> list[str]:
    """One line per figure whose stated text disagrees with ``figures`` (only the figures given).

    ``texts``: page -> text (``read_pages()``), or one text, taken as README.md's."""
    out = []
    located = stated_pages(texts)
    for page, name, text in located:
        if name in figures and not agrees(text, figures[name]):
            want = fmt(figures[name]["value"], figures[name]["format"])
            out.append(f"{page} fig:{name}: says {text!r}, fresh value {want!r} ({figures[name]['how']})")
    marks = [(name, text) for _, name, text in located]
    names = {n for n, _ in marks}
    for name in figures:
        if name not in names:
            out.append(f"README.md and docs/: figure {name} is computed but not stated "
                       f"(no <!--fig:{name}--> marker)")
    if summaries_text is not None:
        found = stated_in_summaries(summaries_text)
        for name, text in found.items():
            if name in figures and not agrees(text, figures[name]):
                out.append(f"plugins/orbits/summaries.py: says {text} ms for {name}, fresh value "
                           f"{fmt(figures[name]['value'], figures[name]['format'])} ms")
        readme = dict(marks)
        for name, text in found.items():
            if name in readme and readme[name] != text:
                out.append(f"plugins/orbits/summaries.py says {text} ms for {name}, the docs {readme[name]} ms: "
                           "make them the same")
        if not found and any(n in figures for n in SUMMARIES_COSTS.groupindex):
            out.append("plugins/orbits/summaries.py: the sentence 'about X ms (zmax) and Y ms (eccentricity) "
                       "per star' is missing")
    return out


def write_readme(figures: dict, readme_text: str) -> str:
    def sub(m: re.Match) -> str:
        name = m.group("name")
        if name not in figures or agrees(m.group("text"), figures[name]):
            return m.group(0)
        return f"<!--fig:{name}-->{fmt(figures[name]['value'], figures[name]['format'])}<!--/fig-->"
    return MARKER.sub(sub, readme_text)


def write_pages(figures: dict, texts: dict[str, str]) -> dict[str, str]:
    """Page -> new text, for the pages whose figures changed."""
    out = {}
    for page, text in texts.items():
        new = write_readme(figures, text)
        if new != text:
            out[page] = new
    return out


def write_summaries(figures: dict, text: str) -> str:
    """The summaries.py cost sentence with the values that disagree replaced (as in the README)."""
    def sub(m: re.Match) -> str:
        z, e = (fmt(figures[n]["value"], "sig2") if n in figures and not agrees(m.group(n), figures[n])
                else m.group(n) for n in ("gala_zmax_ms_per_star", "gala_ecc_ms_per_star"))
        return f"about {z} ms (zmax) and {e} ms (eccentricity) per star"
    return SUMMARIES_COSTS.sub(sub, text)


def compute(groups) -> dict:
    figures = {}
    for group in groups:
        t0 = time.perf_counter()
        print(f"computing {group} ...", file=sys.stderr)
        figures.update(GROUPS[group]())
        print(f"  {group}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return figures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default=",".join(GROUPS), help=f"comma-separated, of {', '.join(GROUPS)}")
    ap.add_argument("--json", type=Path, default=FIGURES_JSON, help="where to write the figures")
    ap.add_argument("--check", action="store_true", help="compare only: write neither the JSON nor the README")
    ap.add_argument("--write-readme", action="store_true",
                    help="put the fresh values into README.md and docs/ (and the summaries.py cost sentence)")
    args = ap.parse_args(argv)
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    figures = compute(groups)
    texts, summaries_text = read_pages(), SUMMARIES.read_text()
    diffs = differences(figures, texts, summaries_text)
    for name, fig in figures.items():
        print(f"{name:40s} {fmt(fig['value'], fig['format']):>12s}")
    if not args.check:
        old = json.loads(args.json.read_text()) if args.json.exists() else {}
        old.update(figures)                     # groups not computed this time keep their values
        args.json.write_text(json.dumps(dict(sorted(old.items())), indent=1) + "\n")
        print(f"wrote {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")
    if diffs:
        print(f"\n{len(diffs)} difference(s) between the pages and fresh figures:")
        for line in diffs:
            print("  " + line)
    else:
        print("\nREADME.md and docs/ agree with every figure computed.")
    if args.write_readme and diffs:
        for page, text in write_pages(figures, texts).items():
            (ROOT / page).write_text(text, encoding="utf-8")
            print(f"updated {page}")
        SUMMARIES.write_text(write_summaries(figures, summaries_text))
        print("Pages (and the summaries.py cost sentence) updated; check `git diff`: the prose around a "
              "figure may need a look too.")
        return 0
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
