"""Contract suites every plugin's tests subclass, so third-party drivers get the same checks.

    from osiris.testing import ComponentContractTests

    class TestMySQLExtractorContract(ComponentContractTests):
        component_name = "mysql.extractor"

The suites check what core relies on: the spec ships as package data and passes the
meta-schema, examples validate, secret pointers exist, the driver imports and has ``run``, the
plugin module stays import-cheap (``osiris --help`` must stay fast), and exactly one installed
plugin registers the name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from typing import Any, ClassVar

import pytest

HEAVY_MODULES = (
    "pandas", "sqlalchemy", "pymysql", "MySQLdb", "psycopg", "psycopg2", "supabase", "postgrest",
    "e2b", "openai", "anthropic", "pyarrow", "duckdb", "connectorx", "adbc_driver_postgresql",
)  # fmt: skip
"""Modules a plugin's entry-point module must not import (SDKs load when a step runs)."""

_IMPORT_PROBE = """
import json, sys
import pluggy
from osiris import hookspecs
module = __import__(sys.argv[1], fromlist=["_"])
pm = pluggy.PluginManager("osiris")
pm.add_hookspecs(hookspecs)
pm.register(module)
pm.hook.register_components()
pm.hook.register_connection_families()
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


def heavy_imports(module: str) -> list[str]:
    """The heavy modules that importing ``module`` (and calling its registration hooks) loads.

    Runs in a fresh interpreter so what the test process already imported does not count.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, module, json.dumps(HEAVY_MODULES)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"importing {module} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


class ComponentContractTests:
    """Subclass and set ``component_name`` (and ``package`` if the spec lives elsewhere)."""

    component_name: ClassVar[str]
    package: ClassVar[str | None] = None
    """Import package holding ``components/<name>/spec.yaml``; default: the plugin's package."""

    @pytest.fixture(scope="class")
    @classmethod
    def contract_registry(cls) -> Any:
        from osiris.registry import build_registry

        return build_registry()

    @pytest.fixture(scope="class")
    @classmethod
    def contract_component(cls, contract_registry: Any) -> Any:
        return contract_registry.component(cls.component_name)

    def _package(self, registry: Any, component: Any) -> str:
        if self.package:
            return self.package
        module = _plugin_module(registry, component.plugin)
        return module.rpartition(".")[0] or module

    def test_spec_is_shipped_and_valid(
        self, contract_registry: Any, contract_component: Any
    ) -> None:
        import jsonschema
        import yaml

        from osiris.registry import meta_validator

        package = self._package(contract_registry, contract_component)
        resource = resources.files(package) / "components" / self.component_name / "spec.yaml"
        assert resource.is_file(), (
            f"{package}/components/{self.component_name}/spec.yaml is not shipped"
        )
        spec = yaml.safe_load(resource.read_text(encoding="utf-8"))
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in meta_validator().iter_errors(spec)
        ]
        assert not errors, f"spec fails the meta-schema: {errors}"
        assert spec["name"] == self.component_name
        jsonschema.Draft202012Validator.check_schema(spec["configSchema"])
        assert spec == dict(contract_component.spec), (
            "the registered spec differs from the shipped file"
        )

    def test_examples_are_valid_configs(self, contract_component: Any) -> None:
        import jsonschema

        from osiris.oml.secrets import literal_secrets

        validator = jsonschema.Draft202012Validator(contract_component.config_schema)
        for i, example in enumerate(contract_component.spec.get("examples") or []):
            config = example.get("config", {})
            errors = [
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(config)
            ]
            assert not errors, (
                f"examples[{i}] ({example.get('title', '')}) is not a valid config: {errors}"
            )
            secrets = sorted("/".join(map(str, p)) for p in literal_secrets(config))
            assert not secrets, (
                f"examples[{i}] holds literal secrets at {secrets}; use a connection"
            )

    def test_secret_pointers_name_config_fields(self, contract_component: Any) -> None:
        for pointer in contract_component.secret_pointers:
            schema: Any = contract_component.config_schema
            for part in pointer.lstrip("/").split("/"):
                properties = schema.get("properties") or {} if isinstance(schema, dict) else {}
                assert part in properties, (
                    f"secret pointer {pointer} names no field of configSchema"
                )
                schema = properties[part]

    def test_driver_imports_and_has_run(self, contract_component: Any) -> None:
        driver_class = contract_component.load_driver_class()
        driver = driver_class()
        assert callable(getattr(driver, "run", None)), f"{contract_component.driver} has no run()"

    def test_plugin_module_is_import_cheap(
        self, contract_registry: Any, contract_component: Any
    ) -> None:
        module = _plugin_module(contract_registry, contract_component.plugin)
        heavy = heavy_imports(module)
        assert not heavy, f"importing {module} loads {heavy}; import SDKs inside the driver's run()"

    def test_registered_by_exactly_one_plugin(self) -> None:
        from osiris.plugins import get_plugin_manager

        pm = get_plugin_manager()
        providers = [
            impl.plugin_name
            for impl in pm.hook.register_components.get_hookimpls()
            if self.component_name in [c.name for c in impl.function() or []]
        ]
        assert len(providers) == 1, (
            f"{self.component_name} is registered by {providers or 'no plugin'}"
        )


class ConnectionFamilyContractTests:
    """Subclass and set ``family_name``."""

    family_name: ClassVar[str]

    @pytest.fixture(scope="class")
    @classmethod
    def contract_registry(cls) -> Any:
        from osiris.registry import build_registry

        return build_registry()

    @pytest.fixture(scope="class")
    @classmethod
    def contract_family(cls, contract_registry: Any) -> Any:
        return contract_registry.family(cls.family_name)

    def test_family_is_registered(self, contract_family: Any) -> None:
        from osiris.families import ConnectionFamily

        assert isinstance(contract_family, ConnectionFamily)
        assert contract_family.name == self.family_name
        assert callable(contract_family.doctor) and callable(contract_family.discover)

    def test_schema_is_valid_json_schema(self, contract_family: Any) -> None:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(contract_family.schema)
        assert contract_family.schema.get("type") == "object"

    def test_secret_fields_are_schema_properties(self, contract_family: Any) -> None:
        properties = contract_family.schema.get("properties") or {}
        missing = [f for f in contract_family.secret_fields if f not in properties]
        assert not missing, f"secret_fields {missing} are not properties of the schema"

    def test_plugin_module_is_import_cheap(self, contract_registry: Any) -> None:
        module = _plugin_module(
            contract_registry, contract_registry.families[self.family_name].plugin
        )
        heavy = heavy_imports(module)
        assert not heavy, (
            f"importing {module} loads {heavy}; import SDKs inside doctor()/discover()"
        )


def _plugin_module(registry: Any, plugin_name: str) -> str:
    for info in registry.plugins:
        if info.name == plugin_name:
            return info.module
    raise AssertionError(f"plugin {plugin_name!r} is not among the loaded plugins")
