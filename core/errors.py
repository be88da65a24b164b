"""Errors a user can act on.

Every error the toolkit raises on purpose is a ``ToolkitError``: the CLI prints
its message (no traceback) and exits with status 2. Messages name the file,
line, stage, plugin or column at fault and, where one exists, the way out.
"""


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
