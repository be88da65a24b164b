"""Errors a user can act on.

Every error the toolkit raises on purpose is a ``ToolkitError``: the CLI prints
its message (no traceback) and exits with status 2. Messages name the file,
line, stage, plugin or column at fault and, where one exists, the way out.
"""


import os

#: environment variable that, like ``toolkit --traceback``, prints the full traceback of a failure
TRACEBACK_ENV = "TOOLKIT_TRACEBACK"


def raised_at(exc: BaseException) -> str:
    """Where an exception was raised, for a one-line report: ``file:line in function`` of the raising
    frame, and of the last frame in toolkit or plugin code when the raise was in a library."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown location"
    last = frames[-1]
    where = f"{_short(last.filename)}:{last.lineno} in {last.name}"
    library = ("site-packages" in last.filename or "dist-packages" in last.filename
               or last.filename.startswith(os.path.dirname(os.__file__)))
    own = [f for f in frames if "site-packages" not in f.filename and "dist-packages" not in f.filename
           and not f.filename.startswith(os.path.dirname(os.__file__))]
    if library and own:
        where += f" (called from {_short(own[-1].filename)}:{own[-1].lineno} in {own[-1].name})"
    return where


def _short(filename: str) -> str:
    """A path shown relative to the working directory when it lies under it."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return rel if not rel.startswith("..") else filename


class ToolkitError(Exception):
    """An error caused by the user's input or environment, with a clear message."""


class RecipeError(ToolkitError):
    """The recipe is missing, malformed or names something that does not exist."""


class PluginError(ToolkitError):
    """A plugin failed to load, registered a clash, or raised while working."""


class StageError(ToolkitError):
    """A pipeline stage failed on the data (missing column, empty table, ...)."""


class SourceUnavailable(ToolkitError):
    """A remote service cannot be reached; a recipe may declare a fallback source."""


class OutputError(ToolkitError, OSError):
    """A file or folder could not be written (a path through a file, no permission, disk full).

    Also an ``OSError``, so code that goes on without an optional file (a cache) still can."""


class DeprecatedName(FutureWarning):
    """A recipe or command used a component's former name (it still works for one release).

    A ``FutureWarning``, so Python shows it to users by default; the CLI prints it as one line."""
