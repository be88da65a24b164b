"""`toolkit new-plugin NAME`: write a plugin package to start from.

The package is a copy of ``core/plugin_template`` (a working plugin for a
RAVE-like survey, with one component of each kind, a recipe and tests that use
``toolkit.core.testing.check_component``) with its name replaced. The template
is real code: the project's tests run it, and the plugin author's guide in
docs/ includes its files, so what ``new-plugin`` writes is what the docs show.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from pathlib import Path

from .errors import ToolkitError

TEMPLATE_NAME = "rave"
#: the template's name in its three spellings, each replaced where it is not part of a longer word
_SPELLINGS = [(re.compile(r"(?<![A-Za-z])rave(?![a-z])"), "module"),
              (re.compile(r"(?<![A-Za-z])Rave(?![a-z])"), "camel"),
              (re.compile(r"(?<![A-Za-z])RAVE(?![A-Za-z])"), "upper")]
_VALID = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")
_TEXT_SUFFIXES = {".py", ".toml", ".md", ".yaml", ".txt", ".cfg"}


def template_root() -> Path:
    """The template package shipped inside toolkit.core."""
    return Path(str(resources.files("toolkit.core") / "plugin_template"))


def plugin_names(name: str) -> dict[str, str]:
    """``my-survey`` -> module ``my_survey``, dist ``toolkit-my-survey``, class prefix ``MySurvey``."""
    if not isinstance(name, str) or not _VALID.match(name) or len(name) > 40:
        raise ToolkitError(f"plugin name {name!r}: use lower-case letters, digits and single '-' or '_' "
                           "(starting with a letter, at most 40 characters), e.g. 'rave' or 'my-survey'")
    module = name.replace("-", "_")
    if keyword.iskeyword(module) or module in {"toolkit", "core", "test", "tests"}:
        raise ToolkitError(f"plugin name {name!r} is reserved; choose another")
    camel = "".join(part.capitalize() for part in module.split("_"))
    return {"module": module, "camel": camel, "upper": module.upper(), "dist": f"toolkit-{module.replace('_', '-')}"}


def render(text: str, names: dict[str, str]) -> str:
    """The template text with its name replaced (``toolkit-rave`` becomes the distribution name)."""
    text = text.replace(f"toolkit-{TEMPLATE_NAME}", names["dist"])
    for pattern, key in _SPELLINGS:
        text = pattern.sub(lambda m, k=key: names[k], text)
    return text


def write_plugin(name: str, directory: Path | str = ".") -> Path:
    """Write the package ``<directory>/toolkit-<name>/`` and return its folder; never overwrites."""
    names = plugin_names(name)
    root = template_root()
    if not root.is_dir():
        raise ToolkitError(f"the plugin template is missing from this installation ({root}); reinstall toolkit")
    target = Path(directory) / names["dist"]
    if target.exists():
        raise ToolkitError(f"'{target}' already exists; choose another --dir or name (nothing was written)")
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and not p.name.endswith((".pyc", ".egg-info")) and ".egg-info" not in str(p))
    staging = target.with_name(f".{target.name}.partial")
    try:
        if staging.exists():
            import shutil

            shutil.rmtree(staging)
        for src in files:
            rel = render(str(src.relative_to(root)), names)
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix in _TEXT_SUFFIXES:
                dest.write_text(render(src.read_text(encoding="utf-8"), names), encoding="utf-8")
            else:
                dest.write_bytes(src.read_bytes())
        staging.rename(target)              # all files or none: an interrupted write leaves no half package
    except OSError as exc:
        raise ToolkitError(f"cannot write the plugin into '{target}': {exc.strerror or exc}") from None
    return target
