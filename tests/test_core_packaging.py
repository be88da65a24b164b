"""The one namespace `toolkit` works from an editable install and from a normal (wheel) install."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["toolkit", "toolkit.core", "toolkit.plugins", "toolkit.catalogs", "toolkit.recipes",
            "toolkit.plugins.expr", "toolkit.plugins.table", "toolkit.plugins.gaia", "toolkit.plugins.detectors", "toolkit.plugins.orbits",
            "toolkit.plugins.symbiotic", "toolkit.plugins.mixture", "toolkit.plugins.hipparcos"]
PROBE = """
import importlib, json
from toolkit.core.recipe import builtin_recipes
from toolkit.core import get_registry
mods = {m: importlib.import_module(m).__file__ for m in %r}
print(json.dumps({"files": mods, "recipes": sorted(builtin_recipes()),
                  "kinds": sorted({e.kind for e in get_registry().all()})}))
""" % PACKAGES


def probe(env=None, cwd="/"):
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_editable_install_maps_the_top_level_folders():
    info = probe()
    assert Path(info["files"]["toolkit.core"]).parent == REPO / "core"
    assert Path(info["files"]["toolkit.recipes"]).parent == REPO / "recipes"
    assert "gaia_kinematic" in info["recipes"]


@pytest.mark.slow
def test_normal_install_ships_every_subpackage_and_the_recipes(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("toolkit-*.whl"))
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr
    info = probe(env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    for mod, file in info["files"].items():
        assert file.startswith(str(target)), f"{mod} imported from {file}, not the installed wheel"
    assert {"gaia_kinematic", "hipparcos_kinematic", "symbiotic", "moving_group"} <= set(info["recipes"])
    assert info["kinds"] == ["catalog", "cut", "detector", "feature", "source", "validator"]
    # `toolkit new-plugin` copies the template from the installed package (code, recipe, tests)
    template = target / "toolkit" / "core" / "plugin_template"
    assert {p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file()} >= {
        "pyproject.toml", "toolkit_rave/plugin.py", "toolkit_rave/detector.py", "toolkit_rave/rave_demo.yaml",
        "tests/test_rave_components.py", "tests/test_rave_recipe.py"}
