"""`toolkit new-plugin NAME`: the package it writes installs, registers and passes its own tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.core.cli import app
from toolkit.core.scaffold import plugin_names, render, template_root, write_plugin

runner = CliRunner()


def test_names_in_every_spelling():
    assert plugin_names("my-survey") == {"module": "my_survey", "camel": "MySurvey", "upper": "MY_SURVEY",
                                         "dist": "toolkit-my-survey"}
    names = plugin_names("zed")
    text = "toolkit-rave toolkit_rave rave.mock RaveMock RAVE-like rave_id; travel, brave, graveyard, Ravel"
    assert render(text, names) == ("toolkit-zed toolkit_zed zed.mock ZedMock ZED-like zed_id; travel, brave, "
                                   "graveyard, Ravel")


@pytest.mark.parametrize("bad", ["", "My Survey", "9lives", "a--b", "x" * 41, "class", "toolkit", "zed/../x",
                                 "../../../etc/passwd", "\udcff", "x" * 5000, "-" * 40])
def test_bad_names_are_refused(tmp_path, bad):
    res = runner.invoke(app, ["new-plugin", bad, "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_is_an_error(tmp_path):
    (tmp_path / "afile").write_text("a file, not a folder")
    res = runner.invoke(app, ["new-plugin", "zed", "--dir", str(tmp_path / "afile")])
    assert res.exit_code == 2 and "cannot write the plugin" in res.output and "Traceback" not in res.output


def test_cli_writes_the_package_once(tmp_path):
    res = runner.invoke(app, ["new-plugin", "my-survey", "--dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    root = tmp_path / "toolkit-my-survey"
    assert res.stdout.strip().endswith(str(root))
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "tests/test_my_survey_components.py",
                     "tests/test_my_survey_recipe.py", "toolkit_my_survey/__init__.py", "toolkit_my_survey/catalog.py",
                     "toolkit_my_survey/cut.py", "toolkit_my_survey/detector.py", "toolkit_my_survey/feature.py",
                     "toolkit_my_survey/my_survey_demo.yaml", "toolkit_my_survey/plugin.py",
                     "toolkit_my_survey/source.py", "toolkit_my_survey/validator.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "toolkit-my-survey"' in pyproject and 'my_survey = "toolkit_my_survey.plugin"' in pyproject
    every = "".join(p.read_text() for p in root.rglob("*") if p.is_file())
    assert not re.search(r"(?<![A-Za-z])(rave|Rave|RAVE)(?![a-z])", every)
    assert 'name = "my_survey.robust_z"' in every and "class MySurveyRobustZ(Detector)" in every
    again = runner.invoke(app, ["new-plugin", "my-survey", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_the_template_imports_only_the_public_core():
    """What a plugin author copies reaches into nothing but toolkit.core (and its testing helpers)."""
    for path in template_root().rglob("*.py"):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:from|import) (toolkit(?:\.[\w.]*)?)\b", line)
            if m:
                assert m.group(1) in ("toolkit", "toolkit.core", "toolkit.core.testing"), f"{path.name}: {line}"


def _entry_point(site: Path, dist: str, name: str, module: str) -> None:
    """A distribution with a `toolkit` entry point on sys.path, as pip would leave it."""
    info = site / f"{dist}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[toolkit]\n{name} = {module}\n")


def _pytest(package: Path, *, pythonpath: list[Path] = (), sitedir: Path | None = None):
    code = "import sys, site\n"
    if sitedir is not None:
        code += f"site.addsitedir({str(sitedir)!r})\n"     # where pip put the editable install's .pth
    code += "import pytest\nsys.exit(pytest.main(['-q', '-p', 'no:cacheprovider']))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run([sys.executable, "-c", code], cwd=package, env=env, capture_output=True, text=True,
                          timeout=600)


def test_generated_plugin_passes_its_tests_with_its_entry_point(tmp_path):
    """Its tests (contract checks of every component, a run of its recipe) on sys.path, without pip."""
    package = write_plugin("zed", tmp_path)
    _entry_point(tmp_path / "site", "toolkit_zed", "zed", "toolkit_zed.plugin")
    res = _pytest(package, pythonpath=[package, tmp_path / "site"])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "9 passed" in res.stdout, res.stdout[-2000:]


@pytest.mark.slow
def test_generated_plugin_passes_its_tests_after_pip_install_e(tmp_path):
    """The real thing: pip install -e (into a prefix, so this environment is left as it was), then pytest."""
    package = write_plugin("zed", tmp_path)
    prefix = tmp_path / "prefix"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--prefix", str(prefix), "-e", str(package)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-3000:]
    sitedir = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert any(sitedir.glob("*toolkit_zed*.pth")), sorted(p.name for p in sitedir.iterdir())
    # pytest's process reads the .pth as site-packages would; the `toolkit score` process its tests start
    # finds the distribution (entry point) and the package through PYTHONPATH, as a prefix is no site dir
    res = _pytest(package, sitedir=sitedir, pythonpath=[sitedir, package])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "9 passed" in res.stdout, res.stdout[-2000:]
