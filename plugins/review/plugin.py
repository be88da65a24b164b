"""Hook implementations of the review plugin: two label-aware detectors and the ``review`` command."""

import typer

from toolkit.core import Register, hookimpl

from .detectors import ActiveForestRerank, RelevanceRerank


@hookimpl
def toolkit_register_detectors(register: Register) -> None:
    register(RelevanceRerank)
    register(ActiveForestRerank)


@hookimpl
def toolkit_register_commands(cli: typer.Typer) -> None:
    from .command import add_review_command

    add_review_command(cli)
