"""Builds the plugin manager: core's default plugins plus every ``osiris`` entry point.

There is no import-time global: each call builds a fresh manager, so tests and embedding tools
control exactly what is loaded. A plugin that fails to import is recorded, not raised.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from osiris import __version__, hookspecs

ENTRY_POINT_GROUP = "osiris"
DEFAULT_PLUGINS = ("osiris.builtin.plugin",)
"""Core's own plugins: the ``local`` adapter and ``duckdb.processor``."""


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin came from (provenance), or why it could not be loaded."""

    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None
    hooks: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None


class OsirisPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's provenance and load failures."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}

    def register_plugin(self, plugin: object, name: str, distribution: str, version: str) -> None:
        self.register(plugin, name=name)
        hooks = tuple(sorted(impl.name for impl in self.get_hookcallers(plugin) or ()))
        self.infos[name] = PluginInfo(
            name, _module_name(plugin), distribution, version, None, hooks
        )

    def record_failure(self, name: str, module: str, distribution: str, version: str, error: str):
        self.infos[name] = PluginInfo(name, module, distribution, version, error)

    def provenance(self, plugin_name: str) -> PluginInfo:
        return self.infos[plugin_name]

    @property
    def failures(self) -> list[PluginInfo]:
        return [info for info in self.infos.values() if not info.ok]


def get_plugin_manager(*, load_entry_points: bool = True) -> OsirisPluginManager:
    """Return a manager with core's plugins and the installed ``osiris`` entry points.

    ``OSIRIS_LOAD_PLUGINS`` (comma-separated entry-point names) loads only those;
    ``OSIRIS_DISABLE_PLUGINS`` skips the ones it names. Neither affects core's own plugins.
    """
    pm = OsirisPluginManager()
    for module_name in DEFAULT_PLUGINS:
        module = __import__(module_name, fromlist=["_"])
        pm.register_plugin(module, module_name, "osiris-core", __version__)
    if load_entry_points:
        _load_entry_points(pm)
    pm.check_pending()
    return pm


def _load_entry_points(pm: OsirisPluginManager) -> None:
    allow = _name_set(os.environ.get("OSIRIS_LOAD_PLUGINS"))
    block = _name_set(os.environ.get("OSIRIS_DISABLE_PLUGINS")) or set()
    seen: set[str] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or (allow is not None and ep.name not in allow) or ep.name in block:
            continue
        seen.add(ep.name)
        dist = ep.dist.name if ep.dist else "unknown"
        version = ep.dist.version if ep.dist else "unknown"
        try:
            plugin = ep.load()
            pm.register_plugin(plugin, ep.name, dist, version)
            pm.check_pending()  # an unknown hook name is this plugin's fault, not the run's
        except Exception as exc:  # a broken plugin must not break unrelated commands
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            pm.record_failure(ep.name, ep.value, dist, version, detail)


def _name_set(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _module_name(plugin: object) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__qualname__
