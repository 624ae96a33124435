"""Core's default plugin: registers what ships inside osiris-core itself."""

from __future__ import annotations

from osiris import hookimpl


@hookimpl
def register_components():
    from osiris.components import Component

    return [Component.from_package("osiris.builtin", "duckdb.processor")]


@hookimpl
def register_execution_adapters():
    from osiris.runner.local import LocalAdapter

    return [LocalAdapter]


@hookimpl
def register_settings():
    from osiris.settings import CORE_SECTIONS

    return list(CORE_SECTIONS)
