"""Hook implementations of the local-table source (``table.*``)."""

from toolkit.core import Register, hookimpl

from .table_file import TableFile


@hookimpl
def toolkit_register_sources(register: Register) -> None:
    register(TableFile)
