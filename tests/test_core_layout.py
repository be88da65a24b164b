"""The layout rules of issue 13: a component's name says where its code lives; the core imports no
plugin; built-in plugins and catalogues import only the public ``toolkit.core``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from toolkit.core import DeprecatedName, get_registry

ROOT = Path(__file__).resolve().parents[1]


def _folder_of(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "toolkit", module
    return parts[2] if parts[1] == "plugins" else parts[1]


def test_every_builtin_component_lives_in_the_folder_its_name_starts_with():
    wrong = []
    entries = [e for e in get_registry(fresh=True).all() if e.cls.__module__.startswith("toolkit.")]
    assert len(entries) > 40
    for e in entries:
        prefix, folder = e.name.split(".")[0], _folder_of(e.cls.__module__)
        if prefix != folder:
            wrong.append(f"{e.name} ({e.kind}) is in {e.cls.__module__}: name it {folder}.* or move it")
    assert not wrong, "\n".join(wrong)


def test_former_names_resolve_with_a_deprecation_naming_the_new_one():
    reg = get_registry()
    assert reg.aliases["detect.autoencoder"] == "detectors.autoencoder"
    for old, new in reg.aliases.items():
        with pytest.warns(DeprecatedName, match=re.escape(f"'{old}' is now '{new}'")):
            assert reg.get(old).name == new
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reg.get("detectors.autoencoder").name == "detectors.autoencoder"   # no warning for a current name


def test_disabling_the_former_common_plugin_disables_its_successors(monkeypatch):
    monkeypatch.setenv("TOOLKIT_DISABLE_PLUGINS", "toolkit.common")
    reg = get_registry(fresh=True)
    assert "table.file" not in reg.entries and "expr.cut" not in reg.entries and "gaia.mock" in reg.entries
    monkeypatch.delenv("TOOLKIT_DISABLE_PLUGINS")
    assert "expr.cut" in get_registry(fresh=True).entries


def _imports(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"\s*(from|import)\s+toolkit\.", line):
                yield path.relative_to(ROOT), i, line.strip()


def test_core_imports_no_plugin_or_catalogue():
    bad = [f"{p}:{i}: {line}" for p, i, line in _imports(ROOT / "core")
           if re.search(r"toolkit\.(plugins|catalogs)\b", line)]
    assert not bad, "core/ must not import plugins (use a hook):\n" + "\n".join(bad)


def test_check_prints_a_deprecation_for_a_former_name_and_still_passes(tmp_path):
    from typer.testing import CliRunner

    from toolkit.core.cli import app

    recipe = tmp_path / "old.yaml"
    recipe.write_text("name: old\nsource: {use: gaia.mock, with: {n_stars: 50}}\n"
                      "cuts:\n  - {use: cut.expr, with: {expr: 'parallax > 0'}}\n"
                      "detectors:\n  - {use: detect.isolation_forest, with: {features: [parallax, pmra]}}\n")
    res = CliRunner().invoke(app, ["check", str(recipe)])
    text = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "deprecated: component 'cut.expr' is now 'expr.cut'" in text
    assert "'detect.isolation_forest' is now 'detectors.isolation_forest'" in text and "ok recipe 'old'" in text


def test_score_and_match_commands_come_from_their_plugins():
    from toolkit.core import cli

    cli.register_plugin_commands()
    by_name = {c.name or c.callback.__name__: c.callback.__module__ for c in cli.app.registered_commands}
    assert by_name["score"] == "toolkit.plugins.detectors.command"
    assert by_name["match"] == "toolkit.catalogs.command"


def test_plugins_show_prints_the_class_docstring_and_former_names():
    from typer.testing import CliRunner

    from toolkit.core.cli import app

    res = CliRunner().invoke(app, ["plugins", "show", "expr.cut"])
    text = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "Keep the rows where ``expr`` is true" in text and "(never ``eval``)" in text   # ExpressionCut's docstring
    assert "recipe-written selections" not in text                               # not its module's
    assert "Former names (deprecated): cut.expr" in text
@pytest.mark.parametrize("folder", ["plugins", "catalogs"])
def test_builtin_plugins_import_only_the_public_core(folder):
    bad = [f"{p}:{i}: {line}" for p, i, line in _imports(ROOT / folder)
           if re.search(r"toolkit\.core\.", line)]
    assert not bad, (f"{folder}/ reaches into core submodules; export what it needs from toolkit.core:\n"
                     + "\n".join(bad))


def test_no_benchmark_script_shadows_an_installed_module():
    """``python benchmarks/X.py`` puts benchmarks/ first on sys.path, and dask's spawned workers inherit it:
    a benchmarks/distributed.py made every worker import it instead of dask's ``distributed``."""
    import importlib.util
    import sys

    shadows = []
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        name = script.stem
        if name in sys.stdlib_module_names:
            shadows.append(f"{script.name} (standard library)")
            continue
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and Path(spec.origin).resolve() != script.resolve():
            shadows.append(f"{script.name} ({spec.origin})")
    assert not shadows, f"rename these benchmark scripts: {shadows}"
