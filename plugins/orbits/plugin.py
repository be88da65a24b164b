"""Hook implementations of the orbits plugin (gala is imported only when a validator runs)."""

from toolkit.core import Register, hookimpl

from .validator import GalaOrbits


@hookimpl
def toolkit_register_validators(register: Register) -> None:
    register(GalaOrbits)
