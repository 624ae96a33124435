"""The registry: components, connection families, adapters and LLM providers of installed plugins.

Built from hook results, one plugin at a time, so every entry knows its distribution. Specs are
validated against core's meta-schema here, once, when the registry is built.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from osiris.components import Component
from osiris.errors import RegistryError
from osiris.plugins import OsirisPluginManager, PluginInfo, get_plugin_manager

KNOWN_PACKAGES = {
    "mysql": "osiris-driver-mysql",
    "supabase": "osiris-driver-supabase",
    "filesystem": "osiris-driver-filesystem",
    "e2b": "osiris-remote-e2b",
    "anthropic": "osiris-llm",
    "openai": "osiris-llm",
}
"""Which first-party package to install for a missing family, component prefix or adapter."""


@dataclass(frozen=True)
class Provided:
    """A registered item with the distribution that provided it."""

    item: Any
    plugin: str
    distribution: str
    version: str


@dataclass
class Registry:
    components: dict[str, Component] = field(default_factory=dict)
    families: dict[str, Provided] = field(default_factory=dict)
    adapters: dict[str, Provided] = field(default_factory=dict)
    llm_providers: dict[str, Provided] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            raise RegistryError(
                f"Unknown component '{name}'. Installed: {_listing(self.components)}.",
                hint=_suggestion(name, self.components) or _install_hint(name),
            ) from None

    def family(self, name: str) -> Any:
        if name not in self.families:
            raise RegistryError(
                f"Unknown connection family '{name}'. Installed: {_listing(self.families)}.",
                hint=_install_hint(name),
            )
        return self.families[name].item

    def adapter(self, name: str) -> Any:
        if name not in self.adapters:
            raise RegistryError(
                f"Unknown execution adapter '{name}'. Installed: {_listing(self.adapters)}.",
                hint=_install_hint(name),
            )
        return self.adapters[name].item

    def llm_provider(self, name: str) -> Any:
        if name not in self.llm_providers:
            raise RegistryError(
                f"Unknown LLM provider '{name}'. Installed: {_listing(self.llm_providers)}.",
                hint=_install_hint(name),
            )
        return self.llm_providers[name].item


def build_registry(pm: OsirisPluginManager | None = None) -> Registry:
    """Collect every plugin's registrations; duplicates and invalid specs are errors."""
    pm = pm or get_plugin_manager()
    registry = Registry(plugins=list(pm.infos.values()))
    for info, items in _results(pm, "register_components"):
        for component in items:
            _check_spec(component, info)
            _add(
                registry.components,
                component.name,
                "component",
                info,
                dataclasses.replace(
                    component,
                    distribution=info.distribution,
                    version=info.version,
                    plugin=info.name,
                ),
                lambda existing: existing.distribution,
            )
    for kind, hook, target in (
        ("connection family", "register_connection_families", registry.families),
        ("execution adapter", "register_execution_adapters", registry.adapters),
        ("LLM provider", "register_llm_providers", registry.llm_providers),
    ):
        for info, items in _results(pm, hook):
            for item in items:
                provided = Provided(item, info.name, info.distribution, info.version)
                _add(target, item.name, kind, info, provided, lambda p: p.distribution)
    return registry


def _results(pm: OsirisPluginManager, hook_name: str):
    """Call one hook plugin by plugin, so each result is attributed to its distribution."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        info = pm.provenance(impl.plugin_name)
        yield info, list(impl.function() or [])


def _add(
    target: dict,
    name: str,
    kind: str,
    info: PluginInfo,
    value: Any,
    distribution_of: Callable[[Any], str],
) -> None:
    if name in target:
        raise RegistryError(
            f"Duplicate {kind} '{name}': provided by both {distribution_of(target[name])} and"
            f" {info.distribution}.",
            hint="Uninstall one of them, or disable one with OSIRIS_DISABLE_PLUGINS.",
        )
    target[name] = value


def _check_spec(component: Component, info: PluginInfo) -> None:
    import jsonschema

    errors = sorted(meta_validator().iter_errors(component.spec), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise RegistryError(
            f"Component spec of '{component.name}' from {info.distribution} is invalid at"
            f" {where}: {errors[0].message}.",
            hint=f"Fix the spec or report it to the maintainers of {info.distribution}.",
        )
    if component.spec.get("name") != component.name:
        raise RegistryError(
            f"Component '{component.name}' from {info.distribution} has a spec named"
            f" '{component.spec.get('name')}'; the two must match."
        )
    try:
        jsonschema.Draft202012Validator.check_schema(component.spec["configSchema"])
    except jsonschema.SchemaError as exc:
        raise RegistryError(
            f"Component '{component.name}' from {info.distribution} has an invalid configSchema:"
            f" {exc.message}."
        ) from None


@cache
def meta_schema() -> dict[str, Any]:
    """Core's JSON Schema for component specs."""
    text = (resources.files("osiris") / "schemas" / "component_spec.schema.json").read_text()
    return json.loads(text)


@cache
def meta_validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(meta_schema())


def _listing(items: dict) -> str:
    return ", ".join(sorted(items)) or "none"


def _suggestion(name: str, known: dict) -> str | None:
    """A typo of an installed name is answered with that name, not with a package to install."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
    return f"Did you mean '{close[0]}'?" if close else None


def _install_hint(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    package = KNOWN_PACKAGES.get(name.split(".", 1)[0])
    if not package:
        return "Install the plugin that provides it; `osiris plugins` lists what is installed."
    try:
        installed = version(package)
    except PackageNotFoundError:
        return f"Install it with: pip install {package}"
    return (  # installing it again would not help: say why it may be missing
        f"{package} {installed} is installed but provides no '{name}': its plugin may be turned"
        " off (OSIRIS_LOAD_PLUGINS / OSIRIS_DISABLE_PLUGINS) or not provide it yet;"
        " `osiris plugins` shows what each plugin registers."
    )
