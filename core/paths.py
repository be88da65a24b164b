"""Paths written in a recipe resolve against the recipe file's folder, not the working directory.

One rule for every path parameter of every component (built-in or third-party): a config field
typed ``Path`` (or ``Path | None``, ``list[Path]``) that holds a relative path is made absolute
against the folder of the recipe that wrote it, when the recipe loader validates the config. Values
given on the command line (``--set``) and the CLI's own arguments are relative to the working
directory, as a shell user expects. Components built in Python (tests, notebooks) get their paths
as given. ``missing_path`` words the error when a path is not there: the absolute path looked for.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

#: keys of the pydantic validation context the recipe loader passes to ``Config.model_validate``
BASE_DIR = "toolkit_base_dir"          # the recipe file's folder
CLI_FIELDS = "toolkit_cli_fields"      # names of fields whose values came from --set (resolved against the cwd)


def resolve_path(value: str | Path, base: str | Path | None = None) -> Path:
    """``value`` with ``~`` expanded and, when relative, joined to ``base`` (default: the working
    directory); absolute paths are kept as written. Not required to exist."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    return Path(base if base is not None else Path.cwd()).absolute() / path


def missing_path(value: str | Path, what: str = "file") -> str:
    """The message for a path that is not there: what was given and the absolute path looked for."""
    given = str(value)
    looked = str(Path(value).expanduser().absolute())
    where = f" (looked for {looked})" if looked != given else ""
    return f"{what} '{given}' does not exist{where}"


def takes_path(annotation: Any) -> bool:
    """True for ``Path``, ``Path | None``, ``Optional[Path]`` and ``list[Path]`` annotations."""
    if annotation is Path or (isinstance(annotation, type) and issubclass(annotation, Path)):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        return any(takes_path(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return takes_path(typing.get_args(annotation)[0])
    return False


def resolve_field(value: Any, field_name: str | None, annotation: Any, context: dict | None) -> Any:
    """The recipe loader's resolution of one config value (called by ``Config`` before validation)."""
    if not context or BASE_DIR not in context or not takes_path(annotation):
        return value
    base = None if field_name in context.get(CLI_FIELDS, ()) else context[BASE_DIR]
    if isinstance(value, (str, Path)) and str(value) and not _is_pattern_of_url(str(value)):
        return resolve_path(value, base)
    if isinstance(value, (list, tuple)):
        return type(value)(resolve_path(v, base) if isinstance(v, (str, Path)) and str(v) else v for v in value)
    return value


def _is_pattern_of_url(text: str) -> bool:
    return "://" in text
