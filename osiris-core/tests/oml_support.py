"""A registry with realistic component specs for the OML, compiler and CLI tests.

``mysql.extractor`` is shaped like the existing Osiris spec (connection fields required in
configSchema, ``x-connection-fields`` with ``name:``, no ``connection`` property) to prove such
specs and their OML files work unchanged; ``supabase.writer`` is shaped like this project's.
The tests import it as ``oml_support`` (the pytest ``pythonpath`` setting).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from osiris.components import Component
from osiris.families import ConnectionFamily
from osiris.registry import Provided, Registry

MYSQL_EXTRACTOR: dict[str, Any] = {
    "name": "mysql.extractor",
    "version": "1.0.0",
    "modes": ["extract", "discover"],
    "x-query-policy": "read-only",
    "configSchema": {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "port": {"type": "integer"},
            "database": {"type": "string"},
            "user": {"type": "string"},
            "password": {"type": "string"},
            "table": {"type": "string", "minLength": 1},
            "query": {"type": "string", "description": "SQL query to run."},
            "columns": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer", "minimum": 1},
            "batch_size": {"type": "integer", "minimum": 100},
        },
        "required": ["host", "database", "user", "password"],
        "additionalProperties": False,
    },
    "secrets": ["/password"],
    "x-connection-fields": [
        {"name": "host", "override": "allowed"},
        {"name": "port", "override": "allowed"},
        {"name": "database", "override": "forbidden"},
        {"name": "user", "override": "forbidden"},
        {"name": "password", "override": "forbidden"},
    ],
    "x-runtime": {"driver": "osiris_driver_mysql.extractor:MySQLExtractor"},
}

SUPABASE_WRITER: dict[str, Any] = {
    "name": "supabase.writer",
    "version": "0.1.0",
    "modes": ["write"],
    "configSchema": {
        "type": "object",
        "required": ["table"],
        "properties": {
            "connection": {"type": "string"},
            "table": {"type": "string"},
            "schema": {"type": "string"},
            "write_mode": {"enum": ["append", "replace", "upsert"]},
            "primary_key": {
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "create_if_missing": {"type": "boolean"},
            "batch_size": {"type": "integer", "minimum": 1},
            "options": {"type": "object", "properties": {"key": {"type": "string"}}},
        },
        "additionalProperties": False,
    },
    "secrets": ["/options/key"],
    "x-runtime": {"driver": "osiris_driver_supabase.writer:SupabaseWriter"},
}


class _Family(ConnectionFamily):
    schema = {"type": "object"}

    def __init__(self, name: str) -> None:
        self.name = name


def registry(*, mysql_spec: dict[str, Any] | None = None, mysql_version: str = "0.1.0") -> Registry:
    """duckdb.processor (the real one) plus the two specs above, with mysql and supabase families."""
    duckdb = Component.from_package("osiris.builtin", "duckdb.processor")
    mysql = mysql_spec or copy.deepcopy(MYSQL_EXTRACTOR)
    components = {
        "duckdb.processor": _provided(duckdb, "osiris-core", "0.1.0"),
        "mysql.extractor": _provided(
            Component("mysql.extractor", mysql, mysql["x-runtime"]["driver"]),
            "osiris-driver-mysql",
            mysql_version,
        ),
        "supabase.writer": _provided(
            Component(
                "supabase.writer",
                copy.deepcopy(SUPABASE_WRITER),
                SUPABASE_WRITER["x-runtime"]["driver"],
            ),
            "osiris-driver-supabase",
            "0.1.0",
        ),
    }
    families = {
        name: Provided(_Family(name), name, f"osiris-driver-{name}", "0.1.0")
        for name in ("mysql", "supabase")
    }
    return Registry(components=components, families=families)


def _provided(component: Component, distribution: str, version: str) -> Component:
    import dataclasses

    return dataclasses.replace(
        component, distribution=distribution, version=version, plugin=distribution
    )


def write(directory: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
