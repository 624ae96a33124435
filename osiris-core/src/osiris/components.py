"""Components: a spec (``components/<name>/spec.yaml`` package data) plus a lazy driver reference."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from osiris.errors import RegistryError


@dataclass(frozen=True)
class Component:
    """What a plugin registers. The driver is imported only when a step runs."""

    name: str
    spec: Mapping[str, Any]
    driver: str
    """``"package.module:Class"``; the class is instantiated with no arguments."""
    distribution: str = field(default="", compare=False)
    version: str = field(default="", compare=False)
    plugin: str = field(default="", compare=False)

    @classmethod
    def from_package(cls, package: str, name: str) -> Component:
        """Load ``<package>/components/<name>/spec.yaml``; the driver is its ``x-runtime.driver``."""
        import yaml

        resource = resources.files(package) / "components" / name / "spec.yaml"
        try:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster startup
            spec = yaml.load(resource.read_text(encoding="utf-8"), Loader=loader)
        except FileNotFoundError as exc:
            raise RegistryError(
                f"Component '{name}' has no spec at {package}/components/{name}/spec.yaml."
            ) from exc
        driver = (spec.get("x-runtime") or {}).get("driver", "") if isinstance(spec, dict) else ""
        return cls(name=name, spec=spec, driver=driver)

    @property
    def modes(self) -> list[str]:
        return list(self.spec.get("modes", []))

    @property
    def config_schema(self) -> Mapping[str, Any]:
        return self.spec.get("configSchema", {})

    @property
    def secret_pointers(self) -> list[str]:
        return list(self.spec.get("secrets", []))

    def load_driver_class(self) -> type:
        """Import the driver class named by ``driver``."""
        module_name, _, attr = self.driver.partition(":")
        if not attr:  # dotted form "pkg.module.Class", as the existing Osiris writes it
            module_name, _, attr = self.driver.rpartition(".")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(
                f"Component '{self.name}': cannot import driver '{self.driver}' ({exc}).",
                hint=f"Reinstall {self.distribution or 'the plugin that provides it'}.",
            ) from exc
