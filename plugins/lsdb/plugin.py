"""Hook implementations of the LSDB/HATS plugin (lsdb is imported only when a component runs)."""

from toolkit.core import hookimpl

from .catalog_source import LsdbCatalog
from .crossmatch import LsdbCrossmatch


@hookimpl
def toolkit_register_sources(register):
    register(LsdbCatalog)


@hookimpl
def toolkit_register_features(register):
    register(LsdbCrossmatch)
