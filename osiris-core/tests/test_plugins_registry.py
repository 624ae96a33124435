"""Plugin manager and registry: provenance, allow/block lists, broken plugins, spec checks."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pytest
from osiris.components import Component
from osiris.errors import RegistryError
from osiris.plugins import get_plugin_manager
from osiris.registry import build_registry

SPEC = """
name: {name}
version: 1.0.0
modes: [transform]
configSchema: {{type: object, properties: {{q: {{type: string}}}}}}
x-runtime: {{driver: "{module}_driver:Driver"}}
"""


@dataclass
class _Dist:
    name: str
    version: str


@dataclass
class _EntryPoint:
    """What importlib.metadata hands out for an installed package's entry point."""

    name: str
    value: str
    dist: _Dist | None

    def load(self) -> Any:
        module = __import__(self.value.split(":")[0], fromlist=["_"])
        return getattr(module, self.value.split(":")[1]) if ":" in self.value else module


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """Write plugin modules into tmp_path and expose them as `osiris` entry points."""
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_points: list[_EntryPoint] = []
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda **kw: list(entry_points) if kw.get("group") == "osiris" else [],
    )
    monkeypatch.delenv("OSIRIS_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("OSIRIS_DISABLE_PLUGINS", raising=False)

    def add(
        ep_name: str, module: str, source: str, dist: str = "acme-osiris", version: str = "1.2.3"
    ) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        entry_points.append(_EntryPoint(ep_name, module, _Dist(dist, version)))

    def component_plugin(
        ep_name: str, module: str, component: str, dist: str, spec: str = SPEC
    ) -> None:
        pkg = tmp_path / f"{module}_pkg" / "components" / component
        pkg.mkdir(parents=True)
        (tmp_path / f"{module}_pkg" / "__init__.py").write_text("")
        (pkg / "spec.yaml").write_text(spec.format(name=component, module=module))
        (tmp_path / f"{module}_driver.py").write_text(
            "class Driver:\n    def run(self, **kw):\n        return {}\n"
        )
        add(
            ep_name,
            module,
            f"""
            from osiris import hookimpl
            from osiris.components import Component

            @hookimpl
            def register_components():
                return [Component.from_package("{module}_pkg", "{component}")]
            """,
            dist,
        )

    add.component_plugin = component_plugin  # type: ignore[attr-defined]
    yield add
    for name in [m for m in sys.modules if m.startswith("acme_")]:  # each test writes its own
        del sys.modules[name]


def test_core_plugin_is_always_registered_with_provenance(plugin_env):
    pm = get_plugin_manager()
    info = pm.provenance("osiris.builtin.plugin")
    assert (info.distribution, info.version, info.ok) == ("osiris-core", "0.1.0", True)
    assert info.hooks == ("register_components", "register_execution_adapters", "register_settings")
    registry = build_registry(pm)
    assert registry.components["duckdb.processor"].distribution == "osiris-core"
    assert "local" in registry.adapters


def test_third_party_component_appears_with_its_distribution(plugin_env):
    plugin_env.component_plugin("acme", "acme_plugin_mod", "acme.echo", "acme-osiris")
    registry = build_registry()
    component = registry.component("acme.echo")
    assert (component.distribution, component.version, component.plugin) == (
        "acme-osiris",
        "1.2.3",
        "acme",
    )
    assert component.load_driver_class()().run() == {}


def test_broken_plugin_is_recorded_not_raised(plugin_env):
    plugin_env("broken", "acme_broken", "raise RuntimeError('boom at import')\n")
    plugin_env.component_plugin("fine", "acme_fine", "acme.fine", "acme-fine")
    pm = get_plugin_manager()
    (failure,) = pm.failures
    assert (failure.name, failure.distribution, failure.error) == (
        "broken",
        "acme-osiris",
        "RuntimeError: boom at import",
    )
    assert "acme.fine" in build_registry(pm).components


def test_unknown_hook_name_is_the_plugins_failure(plugin_env):
    plugin_env(
        "typo",
        "acme_typo",
        """
        from osiris import hookimpl

        @hookimpl
        def register_component():
            return []
        """,
    )
    pm = get_plugin_manager()
    (failure,) = pm.failures
    assert failure.name == "typo" and "register_component" in failure.error
    assert pm.get_plugin("typo") is None


def test_load_and_disable_lists(plugin_env, monkeypatch):
    plugin_env.component_plugin("one", "acme_one", "acme.one", "acme-one")
    plugin_env.component_plugin("two", "acme_two", "acme.two", "acme-two")
    monkeypatch.setenv("OSIRIS_LOAD_PLUGINS", "two, nonexistent")
    assert sorted(build_registry().components) == ["acme.two", "duckdb.processor"]
    monkeypatch.delenv("OSIRIS_LOAD_PLUGINS")
    monkeypatch.setenv("OSIRIS_DISABLE_PLUGINS", "two")
    assert sorted(build_registry().components) == ["acme.one", "duckdb.processor"]
    monkeypatch.setenv("OSIRIS_LOAD_PLUGINS", "")
    assert sorted(build_registry().components) == ["duckdb.processor"]  # core's own stay


def test_duplicate_component_names_both_distributions(plugin_env):
    plugin_env.component_plugin("a", "acme_a", "acme.same", "acme-a")
    plugin_env.component_plugin("b", "acme_b", "acme.same", "acme-b")
    with pytest.raises(RegistryError) as info:
        build_registry()
    assert (
        info.value.message == "Duplicate component 'acme.same': provided by both acme-a and acme-b."
    )
    assert "OSIRIS_DISABLE_PLUGINS" in info.value.hint
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SPEC.replace("modes: [transform]", "modes: [extrakt]"), "is invalid at modes/0"),
        (SPEC.replace("version: 1.0.0", "version: one"), "is invalid at version"),
        (SPEC.replace("name: {name}", "name: other.name"), "has a spec named 'other.name'"),
        (SPEC.replace("{{type: object,", "{{type: objekt,"), "has an invalid configSchema"),
    ],
)
def test_invalid_specs_are_rejected_naming_the_distribution(plugin_env, spec, message):
    plugin_env.component_plugin("bad", "acme_bad", "acme.bad", "acme-bad", spec=spec)
    with pytest.raises(RegistryError, match="acme-bad") as info:
        build_registry()
    assert message in info.value.message


def test_unknown_component_lists_installed_and_the_package(plugin_env):
    registry = build_registry()
    with pytest.raises(RegistryError) as info:
        registry.component("mysql.extractor")
    assert info.value.message == "Unknown component 'mysql.extractor'. Installed: duckdb.processor."
    # The hint names the package: "pip install" where it is missing, else why it is not loaded
    assert "osiris-driver-mysql" in info.value.hint
    with pytest.raises(RegistryError, match="Unknown connection family 'supabase'"):
        registry.family("supabase")
    with pytest.raises(RegistryError) as adapter:
        registry.adapter("e2b")
    assert "osiris-remote-e2b" in adapter.value.hint


def test_the_hint_for_an_installed_package_does_not_say_install_it(plugin_env):
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("osiris-driver-mysql")
    except PackageNotFoundError:
        pytest.skip("osiris-driver-mysql is not installed in this environment")
    with pytest.raises(RegistryError) as info:
        build_registry().component("mysql.extractor")
    assert "pip install" not in info.value.hint
    assert "is installed but provides no 'mysql.extractor'" in info.value.hint
    assert "OSIRIS_LOAD_PLUGINS" in info.value.hint


def test_component_from_package_without_spec():
    with pytest.raises(
        RegistryError, match=r"has no spec at osiris.builtin/components/nope.thing/spec.yaml"
    ):
        Component.from_package("osiris.builtin", "nope.thing")


def test_driver_references_colon_and_dotted_forms():
    spec = {"name": "x.y"}
    assert (
        Component("x.y", spec, "osiris.errors:OsirisError").load_driver_class().__name__
        == "OsirisError"
    )
    assert (
        Component("x.y", spec, "osiris.errors.StepError").load_driver_class().__name__
        == "StepError"
    )
    with pytest.raises(RegistryError, match=r"cannot import driver 'osiris\.nope:X'"):
        Component("x.y", spec, "osiris.nope:X").load_driver_class()


def test_unknown_component_close_to_an_installed_one_suggests_it(plugin_env):
    registry = build_registry()
    with pytest.raises(RegistryError) as info:
        registry.component("duckdb.procesor")
    assert info.value.hint == "Did you mean 'duckdb.processor'?"
