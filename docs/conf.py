"""Sphinx configuration of the toolkit documentation (`make docs`; tests/test_docs_build.py builds it with -W)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "toolkit"
author = "toolkit developers"
copyright = "toolkit developers"   # noqa: A001 - Sphinx's name
try:
    from toolkit import __version__ as release
except ImportError:                # the docs are built with toolkit installed (make env)
    release = ""

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode", "toolkit_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples", "_ext", "_generated"]
myst_heading_anchors = 3                 # links such as page.md#a-section, as GitHub renders them
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header"]      # pages moved from the README keep their heading levels

html_theme = "furo"
html_title = "toolkit"
html_static_path = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False
