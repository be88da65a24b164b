"""Plugin discovery: built-ins, entry points, clashes, misspelled hooks, disabling."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core_helpers import DistanceDetector, LabelledSource, plugin_module, registry_with
from toolkit.core import PluginError, get_registry
from toolkit.core.registry import build_plugin_manager

REPO = Path(__file__).resolve().parents[1]
ZETA = REPO / "examples" / "toolkit-zeta"


def install_entry_point(site: Path, dist: str, name: str, module: str) -> None:
    """Make a distribution with a `toolkit` entry point visible on sys.path, as pip would."""
    info = site / f"{dist}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[toolkit]\n{name} = {module}\n")


def zeta_package(site: Path) -> Path:
    """The example plugin's package copied into ``site``: never the example folder itself, which holds a
    ``toolkit_zeta.egg-info`` (a second distribution) once someone followed the tutorial's pip install -e."""
    import shutil

    install_entry_point(site, "toolkit_zeta", "zeta", "toolkit_zeta.plugin")
    shutil.copytree(ZETA / "toolkit_zeta", site / "toolkit_zeta", ignore=shutil.ignore_patterns("__pycache__"))
    return site


@pytest.fixture
def zeta_site(tmp_path, monkeypatch):
    site = zeta_package(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    get_registry(fresh=True)


def test_every_kind_is_registered_by_builtins():
    kinds = {e.kind for e in get_registry(fresh=True).all()}
    assert kinds == {"source", "cut", "feature", "detector", "validator", "catalog"}


def test_builtins_are_plugins_like_any_other():
    pm = build_plugin_manager()
    names = [name for name, _ in pm.list_name_plugin()]
    assert "toolkit.expr" in names and "toolkit.table" in names


def test_third_party_plugin_is_found_through_its_entry_point(zeta_site):
    reg = get_registry(fresh=True)
    assert reg.get("zeta.survey").plugin == "zeta"
    assert reg.get("zeta.snr").kind == "cut"


def test_disabled_plugins_are_not_loaded(zeta_site, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DISABLE_PLUGINS", "zeta, toolkit.expr")
    reg = get_registry(fresh=True)
    assert "zeta.survey" not in reg.entries and "expr.cut" not in reg.entries
    monkeypatch.delenv("TOOLKIT_DISABLE_PLUGINS")
    assert "zeta.survey" in get_registry().entries


def test_misspelled_hook_fails_loudly(tmp_path, monkeypatch):
    (tmp_path / "typo_plugin.py").write_text(
        "from toolkit.core import hookimpl\n\n@hookimpl\ndef toolkit_register_sourcez(register):\n    pass\n")
    install_entry_point(tmp_path, "typo", "typo", "typo_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as exc:
        build_plugin_manager()
    assert "typo" in str(exc.value) and "toolkit_register_sourcez" in str(exc.value)
    assert "toolkit_register_sources" in str(exc.value)


def test_broken_plugin_import_names_the_entry_point_group(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    install_entry_point(tmp_path, "broken", "broken", "broken_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="boom at import.*TOOLKIT_DISABLE_PLUGINS"):
        build_plugin_manager()


def test_two_plugins_registering_one_name_is_an_error_naming_both():
    class Impostor(LabelledSource):
        pass

    with pytest.raises(PluginError) as exc:
        registry_with(("first.plugin", plugin_module(LabelledSource)), ("second.plugin", plugin_module(Impostor)))
    msg = str(exc.value)
    assert "'test.labelled' is registered twice" in msg and "first.plugin" in msg and "second.plugin" in msg


def test_registering_the_wrong_kind_is_an_error():
    with pytest.raises(PluginError, match="not a subclass of toolkit.core.Source"):
        registry_with(("bad", plugin_module(DistanceDetector)))


def toolkit(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "toolkit.core.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=300)


@pytest.mark.slow
def test_cli_lists_and_uses_a_third_party_plugin(tmp_path):
    site = zeta_package(tmp_path / "site")
    env = {"PYTHONPATH": str(site)}
    listing = toolkit("plugins", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    entries = json.loads(listing.stdout)
    assert {"name": "zeta.survey", "kind": "source", "plugin": "zeta",
            "summary": "Simulated catalogue of the made-up ZETA survey (ra, dec, zmag, zmag_error, quality)."} in entries
    assert {e["kind"] for e in entries} >= {"source", "cut", "feature", "detector", "validator"}
    run = toolkit("run", str(ZETA / "zeta.yaml"), "--out", str(tmp_path / "zeta_run"), env=env)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "zeta_run" / "manifest.json").read_text())
    assert manifest["mock"] is True and manifest["plugins"]["zeta"] == "toolkit_zeta 0.1.0"
    assert manifest["cutflow"][0]["use"] == "zeta.snr"
    assert 0 < manifest["cutflow"][0]["rows_out"] < 3000


@pytest.mark.slow
def test_plugins_show_prints_parameters():
    res = toolkit("plugins", "show", "expr.cut")
    assert res.returncode == 0 and "expr" in res.stdout and "(required)" in res.stdout
    res = toolkit("plugins", "show", "cut.exp")
    assert res.returncode == 2 and "Did you mean 'expr.cut'" in res.stderr
