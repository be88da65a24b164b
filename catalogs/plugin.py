"""Hook implementations of the known-object catalogues and the catalogue match."""

from toolkit.core import hookimpl

from .local_file import FileCatalog
from .match import CatalogMatch
from .vizier_catalogs import Akras2019, Belczynski2000


@hookimpl
def toolkit_register_catalogs(register):
    register(Belczynski2000)
    register(Akras2019)
    register(FileCatalog)


@hookimpl
def toolkit_register_validators(register):
    register(CatalogMatch)


@hookimpl
def toolkit_register_commands(cli):
    from .command import add_match_command

    add_match_command(cli)
