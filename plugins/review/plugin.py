"""Hook implementations of the review plugin: two label-aware detectors and the ``review`` command."""

from toolkit.core import hookimpl

from .detectors import ActiveForestRerank, RelevanceRerank


@hookimpl
def toolkit_register_detectors(register):
    register(RelevanceRerank)
    register(ActiveForestRerank)


@hookimpl
def toolkit_register_commands(cli):
    from .command import add_review_command

    add_review_command(cli)
