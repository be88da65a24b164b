"""Hook specifications for toolkit plugins.

A plugin is a module (or object) with functions decorated by
``toolkit.core.hookimpl``. Built-in plugins and third-party packages (found
through the ``toolkit`` entry-point group) register components the same way::

    from toolkit.core import Register, hookimpl

    @hookimpl
    def toolkit_register_sources(register: Register) -> None:
        register(MySurveySource)

Each hook is called once per plugin, when the plugin manager is built, with a
``register`` callback. ``register(cls)`` takes a component class (a subclass of
the matching base in ``toolkit.core.component``) and returns nothing. Two
plugins registering the same component name is an error naming both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from .component import Register

if TYPE_CHECKING:
    import typer

hookspec = pluggy.HookspecMarker("toolkit")


@hookspec
def toolkit_register_sources(register: Register) -> None:
    """Register source components: where rows come from.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Source``
    subclass whose ``load(ctx)`` returns a ``Table``. A remote source raises
    ``SourceUnavailable`` when the service cannot be reached, so a recipe's
    declared ``fallback`` can take over. A source that can stream also
    implements ``iter_chunks(ctx, chunk_rows)`` (same rows, any chunk size).
    """


@hookspec
def toolkit_register_cuts(register: Register) -> None:
    """Register cut components: row selections that never drop data silently.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Cut``
    subclass whose ``mask(table, ctx)`` returns a boolean array (True = keep).
    The runner turns each mask into a cut-flow row.
    """


@hookspec
def toolkit_register_features(register: Register) -> None:
    """Register feature components: new columns computed from existing ones.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Feature``
    subclass whose ``compute(table, ctx)`` returns ``Columns`` (with units).
    Features must be chunk-pure.
    """


@hookspec
def toolkit_register_detectors(register: Register) -> None:
    """Register detector components: anomaly scores for every row.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Detector``
    subclass whose ``fit(sample, ctx)`` returns a ``FittedDetector``: it scores
    any chunk of rows (higher = more anomalous), saves itself through
    ``toolkit.core.ModelFiles``, and ``cls.load(files, state)`` rebuilds it, so
    ``toolkit score`` can use it. The runner stores ``score_<step>`` and
    ``flag_<step>`` (from the config's ``threshold`` over all scores). A
    detector that needs the whole table at once overrides ``detect(table,
    ctx)`` returning a ``Detection`` instead; it runs only in memory.
    """


@hookspec
def toolkit_register_validators(register: Register) -> None:
    """Register validator components: physics checks of the flagged rows.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Validator``
    subclass whose ``validate(table, ctx)`` returns a ``Validation`` (columns,
    a summary for manifest.json and the report; figures through ``ctx``). In a
    streamed run it sees the flagged rows, a seeded sample and the rows its
    ``select(table, ctx)`` asks for.
    """


@hookspec
def toolkit_register_catalogs(register: Register) -> None:
    """Register catalogue components: known objects to match against.

    Called once at start-up. ``register(cls)`` with a ``toolkit.core.Catalog``
    subclass whose ``load(ctx)`` returns a ``Table`` with ``name``, ``ra``,
    ``dec`` (degrees).
    """


@hookspec
def toolkit_register_commands(cli: typer.Typer) -> None:
    """Add commands to the ``toolkit`` command line (as datasette's ``register_commands``).

    Called once, when the CLI is built (before arguments are parsed), so the
    core never imports a plugin to offer its command. ``cli`` is the root
    ``typer.Typer`` application: add commands with ``@cli.command()`` or
    sub-applications with ``cli.add_typer(...)``. A command reports bad input by
    raising ``toolkit.core.ToolkitError`` (or ``typer.Exit(2)`` after printing a
    message). Returns nothing.
    """
