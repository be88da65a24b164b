"""The documentation site builds with warnings as errors, and README.md stays a short door into it."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
MISSING = [m for m in ("sphinx", "myst_parser", "furo") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed ({', '.join(MISSING)}): "
                                           "pip install -e '.[docs]' (make env does)")
def test_docs_build_with_warnings_as_errors(tmp_path):
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                          str(tmp_path / "html")], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    html = tmp_path / "html"
    components = (html / "reference" / "components.html").read_text()
    from toolkit.core import get_registry

    built_in = [e for e in get_registry().all() if e.cls.__module__.startswith("toolkit.")]
    assert len(built_in) > 40
    for entry in built_in:             # the reference is generated from the registry
        assert entry.name in components, entry.name
    guide = (html / "plugins" / "guide.html").read_text()
    assert "RaveRobustZ" in guide and "check_component" in guide     # the template's code, included
    api = (html / "reference" / "api.html").read_text()
    assert "check_component" in api and "ThresholdConfig" in api     # autodoc from the docstrings
    assert "toolkit.run" in (html / "python-api.html").read_text()


def test_readme_is_short_and_its_links_resolve():
    text = (REPO / "README.md").read_text()
    assert len(text.encode()) < 10 * 1024
    assert text.index("make run") < text.index("## ")                 # the two commands first
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert {"docs/getting-started.md", "docs/plugins/guide.md", "docs/python-api.md"} <= set(links)
    for link in links:
        if not link.startswith("http"):
            assert (REPO / link).exists(), link


def test_every_page_is_in_the_table_of_contents():
    index = (DOCS / "index.md").read_text()
    for page in DOCS.rglob("*.md"):
        rel = page.relative_to(DOCS).with_suffix("").as_posix()
        if rel != "index" and not rel.startswith(("examples/", "_")):
            assert f"\n{rel}\n" in index, f"{rel} is not in a toctree of docs/index.md"


def test_no_line_starts_with_a_figure_marker():
    """A line that starts with ``<!--`` starts an HTML block in Markdown (GitHub and MyST alike): the rest of
    the paragraph would be shown raw, its `code` and links unrendered. Markers stay inside a line."""
    for page in [REPO / "README.md", *DOCS.rglob("*.md")]:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            assert not line.lstrip().startswith("<!--fig:"), f"{page.relative_to(REPO)}:{number}"
