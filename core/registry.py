"""The plugin manager and the registry of components it fills.

Built-in plugins are loaded through the same manager and hooks as third-party
ones (the core is written as plugins of itself); third-party packages are
found through the ``toolkit`` entry-point group. ``TOOLKIT_DISABLE_PLUGINS``
(comma-separated plugin names, as ``toolkit plugins`` shows them) turns
plugins off.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
import warnings
from functools import lru_cache

import pluggy

from . import hookspecs
from .component import BASES, KINDS, Component
from .errors import DeprecatedName, PluginError, RecipeError

hookimpl = pluggy.HookimplMarker("toolkit")

ENTRY_POINT_GROUP = "toolkit"
DISABLE_ENV = "TOOLKIT_DISABLE_PLUGINS"

#: Built-in plugins: (plugin name, module). Loaded like any other plugin.
DEFAULT_PLUGINS = [
    ("toolkit.table", "toolkit.plugins.table.plugin"),
    ("toolkit.expr", "toolkit.plugins.expr.plugin"),
    ("toolkit.gaia", "toolkit.plugins.gaia.plugin"),
    ("toolkit.detectors", "toolkit.plugins.detectors.plugin"),
    ("toolkit.orbits", "toolkit.plugins.orbits.plugin"),
    ("toolkit.symbiotic", "toolkit.plugins.symbiotic.plugin"),
    ("toolkit.mixture", "toolkit.plugins.mixture.plugin"),
    ("toolkit.hipparcos", "toolkit.plugins.hipparcos.plugin"),
    ("toolkit.catalogs", "toolkit.catalogs.plugin"),
    ("toolkit.cepheid", "toolkit.plugins.cepheid.plugin"),
    ("toolkit.review", "toolkit.plugins.review.plugin"),
    ("toolkit.lsdb", "toolkit.plugins.lsdb.plugin"),
]

_HOOKS = {kind: f"toolkit_register_{kind}s" for kind in KINDS}


@dataclass(frozen=True)
class Entry:
    cls: type[Component]
    kind: str
    plugin: str

    @property
    def name(self) -> str:
        return self.cls.name


class Registry:
    """Every registered component, by name, with the plugin that registered it."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.entries: dict[str, Entry] = {}
        #: a component's former name -> its name (``Component.aliases``), resolved with a deprecation message
        self.aliases: dict[str, str] = {}
        for kind, hook_name in _HOOKS.items():
            hook = getattr(pm.hook, hook_name)
            for impl in hook.get_hookimpls():
                impl.function(register=self._registrar(kind, impl.plugin_name))

    def _registrar(self, kind: str, plugin: str):
        def register(cls: type[Component]) -> None:
            base = BASES[kind]
            if not (isinstance(cls, type) and issubclass(cls, base)):
                raise PluginError(f"plugin '{plugin}' registered {cls!r} as a {kind}, "
                                  f"but it is not a subclass of toolkit.core.{base.__name__}")
            if not cls.name or not cls.summary:
                raise PluginError(f"plugin '{plugin}': {cls.__name__} needs a `name` and a `summary`")
            if cls.name in self.aliases and self.aliases[cls.name] != cls.name:
                raise PluginError(f"plugin '{plugin}': component name '{cls.name}' is the former name of "
                                  f"'{self.aliases[cls.name]}'; choose another name")
            other = self.entries.get(cls.name)
            if other is not None and other.cls is not cls:
                raise PluginError(f"component name '{cls.name}' is registered twice: by plugin "
                                  f"'{other.plugin}' ({other.cls.__module__}.{other.cls.__name__}) and by "
                                  f"plugin '{plugin}' ({cls.__module__}.{cls.__name__})")
            self.entries[cls.name] = Entry(cls, kind, plugin)
            for old in cls.aliases:
                taken = self.entries.get(old)
                if (taken is not None and taken.cls is not cls) or self.aliases.get(old, cls.name) != cls.name:
                    raise PluginError(f"plugin '{plugin}': {cls.__name__} lists the former name '{old}', which "
                                      f"already names '{taken.name if taken else self.aliases[old]}'")
                self.aliases[old] = cls.name
        return register

    def resolve(self, name: str) -> str:
        """The current name for ``name``: itself, or the new name of a former one (with a
        ``DeprecatedName`` warning that says which name to write instead)."""
        if name in self.entries or name not in self.aliases:
            return name
        new = self.aliases[name]
        warnings.warn(DeprecatedName(f"component '{name}' is now '{new}' (plugin "
                                     f"'{self.entries[new].plugin}'); the old name works for this release only: "
                                     f"write '{new}'"), stacklevel=3)
        return new

    def get(self, name: str, kind: str | None = None) -> Entry:
        """The entry named ``name`` (a former name resolves, with a deprecation warning)."""
        entry = self.entries.get(self.resolve(name))
        if entry is None or (kind and entry.kind != kind):
            pool = [e.name for e in self.entries.values() if kind is None or e.kind == kind]
            former = [old for old, new in self.aliases.items() if new in pool]
            near = [self.aliases.get(n, n) for n in difflib.get_close_matches(name, pool + former, n=3, cutoff=0.5)]
            near = list(dict.fromkeys(near))   # a former name suggests the current one, once
            hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            what = f"{kind} component" if kind else "component"
            if entry is not None:
                raise RecipeError(f"'{name}' is a {entry.kind}, not a {kind}.{hint}")
            raise RecipeError(f"unknown {what} '{name}'.{hint} "
                              f"Run `toolkit plugins` to list what is installed.")
        return entry

    def of_kind(self, kind: str) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.kind == kind), key=lambda e: e.name)

    def all(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (KINDS.index(e.kind), e.name))


#: former built-in plugin names that TOOLKIT_DISABLE_PLUGINS still understands (one release)
FORMER_PLUGINS = {"toolkit.common": ("toolkit.table", "toolkit.expr")}


def disabled_plugins() -> set[str]:
    names = {p.strip() for p in os.environ.get(DISABLE_ENV, "").split(",") if p.strip()}
    return names | {new for old in names & FORMER_PLUGINS.keys() for new in FORMER_PLUGINS[old]}


def build_plugin_manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("toolkit")
    pm.add_hookspecs(hookspecs)
    disabled = disabled_plugins()
    for name in disabled:
        pm.set_blocked(name)
    for name, module in DEFAULT_PLUGINS:
        if name in disabled:
            continue
        try:
            pm.register(importlib.import_module(module), name=name)
        except ImportError as exc:
            raise PluginError(f"built-in plugin '{name}' failed to import: {exc}. "
                              f"Disable it with {DISABLE_ENV}={name}.") from exc
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken third-party package: say which
        raise PluginError(f"a plugin in entry-point group '{ENTRY_POINT_GROUP}' failed to load: "
                          f"{type(exc).__name__}: {exc}. Disable it with {DISABLE_ENV}=<name>.") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin '{exc.plugin}' "
                          f"has a hook implementation that matches no hook spec: {exc}. "
                          f"Known hooks: {', '.join(sorted(_HOOKS.values()))}") from exc
    return pm


@lru_cache(maxsize=None)
def _cached_registry(disabled: frozenset) -> Registry:
    return Registry(build_plugin_manager())


def get_registry(fresh: bool = False) -> Registry:
    """The registry for this process (rebuilt when TOOLKIT_DISABLE_PLUGINS changes)."""
    if fresh:
        _cached_registry.cache_clear()
    return _cached_registry(frozenset(disabled_plugins()))


def plugin_versions(registry: Registry) -> dict[str, str]:
    """Plugin name -> version of the distribution that ships it (for the manifest)."""
    from importlib import metadata

    import toolkit

    out = {}
    dist_of = {}
    for dist in metadata.distributions():   # the first one on sys.path wins, as it does in pluggy
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP:
                dist_of.setdefault(ep.name, f"{dist.metadata['Name']} {dist.version}")
    for plugin, dist in registry.pm.list_plugin_distinfo():   # exactly the distribution pluggy loaded
        name = registry.pm.get_name(plugin)
        if name:
            dist_of[name] = f"{dist.metadata['Name']} {dist.version}"
    for name, _ in registry.pm.list_name_plugin():
        out[name] = dist_of.get(name, f"toolkit {toolkit.__version__}" if name.startswith("toolkit.") else "unknown")
    return out
