"""Hook implementations of the known-object catalogues and the catalogue match."""

import typer

from toolkit.core import Register, hookimpl

from .local_file import FileCatalog
from .match import CatalogMatch
from .vizier_catalogs import Akras2019, Belczynski2000


@hookimpl
def toolkit_register_catalogs(register: Register) -> None:
    register(Belczynski2000)
    register(Akras2019)
    register(FileCatalog)


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(CatalogMatch)


@hookimpl
def toolkit_register_commands(cli: typer.Typer) -> None:
    from .command import add_match_command

    add_match_command(cli)
